//! The JSON export loads back without loss: random and edge-case transcripts (unicode,
//! control characters, empty words, extreme and awkward f64 times, f32 probabilities), the
//! exact schema, and the example in `docs/transcript-json.md`.

use verbatim::events::{Segment, Word};
use verbatim::export::{
    ExportError, ExportFormat, ExportOptions, render, render_json, transcript_from_json,
};
use verbatim::transcript::{Speaker, Transcript};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn time(&mut self) -> f64 {
        const AWKWARD: [f64; 12] = [
            0.0,
            -0.0,
            0.1,
            0.30000000000000004,
            1e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1.0 / 3.0,
            123456.789012345678,
            359999.999,
        ];
        match self.below(4) {
            0 => AWKWARD[self.below(AWKWARD.len())],
            1 => loop {
                let value = f64::from_bits(self.next());
                if value.is_finite() {
                    break value;
                }
            },
            _ => (self.next() % 10_000_000) as f64 / 1000.0 + (self.next() % 1000) as f64 * 1e-7,
        }
    }
    fn probability(&mut self) -> Option<f32> {
        match self.below(3) {
            0 => None,
            1 => Some((self.next() % 1_000_001) as f32 / 1_000_000.0),
            _ => loop {
                let value = f32::from_bits(self.next() as u32);
                if value.is_finite() {
                    break Some(value);
                }
            },
        }
    }
    fn text(&mut self) -> String {
        const PIECES: [&str; 16] = [
            "hello",
            " ",
            "Déjà vu",
            "日本語",
            "🎉👩‍👩‍👧",
            "\"quoted\"",
            "back\\slash",
            "\n",
            "\t",
            "\u{0}",
            "\u{1f}",
            "\u{2028}",
            "&<>",
            "{\"json\":1}",
            "",
            "\u{feff}",
        ];
        (0..self.below(8))
            .map(|_| PIECES[self.below(PIECES.len())])
            .collect()
    }
}

fn random_transcript(rng: &mut Rng) -> Transcript {
    let speakers: Vec<Speaker> = (0..rng.below(4))
        .map(|index| Speaker {
            id: format!("SPEAKER_{index:02}{}", rng.text()),
            display_name: rng.text(),
        })
        .collect();
    let segments = (0..rng.below(12))
        .map(|_| Segment {
            revision_key: (rng.below(3) == 0).then(|| rng.text()),
            language: (rng.below(2) == 0).then(|| rng.text()),
            low_confidence: rng.below(3) == 0,
            start_s: rng.time(),
            end_s: rng.time(),
            text: rng.text(),
            speaker: match rng.below(3) {
                0 => None,
                1 => speakers
                    .get(rng.below(speakers.len().max(1)))
                    .map(|s| s.id.clone()),
                _ => Some(rng.text()),
            },
            words: (0..rng.below(6))
                .map(|_| Word {
                    text: rng.text(),
                    start_s: rng.time(),
                    end_s: rng.time(),
                    probability: rng.probability(),
                })
                .collect(),
                ..Default::default()
        })
        .collect();
    let mut transcript = Transcript::from_parts(segments, speakers, []);
    transcript.language = if rng.below(2) == 0 {
        None
    } else {
        Some(rng.text())
    };
    transcript.duration_s = if rng.below(2) == 0 {
        None
    } else {
        Some(rng.time())
    };
    transcript
}

/// Equal down to the bits of every number (so -0.0 stays -0.0).
fn assert_identical(original: &Transcript, loaded: &Transcript) {
    assert_eq!(original, loaded);
    assert_eq!(
        original.duration_s.map(f64::to_bits),
        loaded.duration_s.map(f64::to_bits)
    );
    for (a, b) in original.segments.iter().zip(&loaded.segments) {
        assert_eq!(
            (a.start_s.to_bits(), a.end_s.to_bits()),
            (b.start_s.to_bits(), b.end_s.to_bits())
        );
        for (x, y) in a.words.iter().zip(&b.words) {
            assert_eq!(
                (x.start_s.to_bits(), x.end_s.to_bits()),
                (y.start_s.to_bits(), y.end_s.to_bits())
            );
            assert_eq!(
                x.probability.map(f32::to_bits),
                y.probability.map(f32::to_bits)
            );
        }
    }
}

#[test]
fn random_transcripts_round_trip_exactly() {
    let mut rng = Rng(0x5eed);
    for _ in 0..3000 {
        let transcript = random_transcript(&mut rng);
        let json = render_json(&transcript);
        assert!(json.ends_with('\n') && !json.contains('\r'));
        let loaded = transcript_from_json(&json).unwrap_or_else(|error| panic!("{error}\n{json}"));
        assert_identical(&transcript, &loaded);
        // And again: writing what was loaded gives the same bytes.
        assert_eq!(render_json(&loaded), json);
    }
}

#[test]
fn the_live_hypothesis_is_not_exported() {
    let mut transcript = Transcript::new();
    transcript.apply(&verbatim::events::EngineEvent::Hypothesis(
        verbatim::events::Hypothesis {
            text: "not final".into(),
            start_s: None,
        },
    ));
    let loaded = transcript_from_json(&render(
        &transcript,
        ExportFormat::Json,
        &ExportOptions::default(),
    ))
    .unwrap();
    assert!(loaded.hypothesis.is_none());
    assert!(loaded.segments.is_empty());
}

#[test]
fn the_schema_is_exactly_as_documented() {
    let mut transcript = Transcript::new();
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: 0.5,
        end_s: 1.25,
        text: "Hi".into(),
        speaker: Some("SPEAKER_00".into()),
        words: vec![Word {
            text: "Hi".into(),
            start_s: 0.5,
            end_s: 1.25,
            probability: Some(0.75),
        }],
        ..Default::default()
    });
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: 2.0,
        end_s: 3.0,
        text: "Bye".into(),
        speaker: None,
        words: vec![],
        ..Default::default()
    });
    transcript.rename_speaker("SPEAKER_00", "Alice");
    transcript.language = Some("en".into());
    let expected = r#"{
  "format": "verbatim-transcript",
  "version": 1,
  "language": "en",
  "duration_s": null,
  "speakers": [
    {
      "id": "SPEAKER_00",
      "display_name": "Alice"
    }
  ],
  "segments": [
    {
      "start_s": 0.5,
      "end_s": 1.25,
      "text": "Hi",
      "speaker": "SPEAKER_00",
      "words": [
        {
          "text": "Hi",
          "start_s": 0.5,
          "end_s": 1.25,
          "probability": 0.75
        }
      ]
    },
    {
      "start_s": 2.0,
      "end_s": 3.0,
      "text": "Bye",
      "speaker": null,
      "words": []
    }
  ]
}
"#;
    assert_eq!(render_json(&transcript), expected);
}

#[test]
fn non_finite_numbers_are_written_as_null() {
    let mut transcript = Transcript::new();
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: f64::NAN,
        end_s: f64::INFINITY,
        text: "x".into(),
        speaker: None,
        words: vec![],
        ..Default::default()
    });
    transcript.duration_s = Some(f64::NAN);
    let json = render_json(&transcript);
    assert!(
        json.contains("\"start_s\": null") && json.contains("\"duration_s\": null"),
        "{json}"
    );
    let loaded = transcript_from_json(&json).unwrap();
    assert!(loaded.segments[0].start_s.is_nan() && loaded.segments[0].end_s.is_nan());
    assert_eq!(loaded.duration_s, None);
}

#[test]
fn minimal_and_future_files() {
    // Only the required fields: language, duration, speaker and words may be left out.
    let minimal = r#"{"format":"verbatim-transcript","version":1,"speakers":[],"segments":[{"start_s":1,"end_s":2,"text":"a"}]}"#;
    let loaded = transcript_from_json(minimal).unwrap();
    assert_eq!(loaded.segments[0].text, "a");
    assert_eq!(loaded.segments[0].end_s, 2.0);
    // Unknown fields (added by a later minor change) are ignored.
    let extra =
        r#"{"format":"verbatim-transcript","version":1,"app":"x","speakers":[],"segments":[]}"#;
    assert!(transcript_from_json(extra).is_ok());
    assert_eq!(
        transcript_from_json(
            r#"{"format":"verbatim-transcript","version":2,"speakers":[],"segments":[]}"#
        ),
        Err(ExportError::NewerVersion(2))
    );
    let wrong_type = transcript_from_json(r#"{"format":"verbatim-transcript","version":1,"speakers":[],"segments":[{"start_s":"1","end_s":2,"text":"a"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        wrong_type.contains("damaged") && wrong_type.contains("line 1"),
        "{wrong_type}"
    );
    // A byte order mark some editors add is accepted.
    assert!(transcript_from_json(&format!("\u{feff}{minimal}")).is_ok());
}

#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../docs/transcript-json.md");
    let example = doc
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/transcript-json.md has a ```json example");
    let transcript =
        transcript_from_json(example).unwrap_or_else(|error| panic!("documented example: {error}"));
    assert_eq!(transcript.speakers.len(), 2);
    assert_eq!(transcript.segments.len(), 2);
    assert_eq!(transcript.speaker_name("SPEAKER_01"), "Bob");
    assert_eq!(render_json(&transcript), example.trim_start());
}
