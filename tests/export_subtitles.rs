//! Property tests for the SRT and WebVTT exports: many generated transcripts (long words,
//! long segments, no words, overlapping and zero-length segments, speakers, unicode, markup
//! characters, broken word times, 10 000 segments), every file checked by the strict parser
//! and against every cue rule.

use std::collections::BTreeMap;
use std::time::Instant;
use verbatim::events::{Segment, Word};
use verbatim::export::parse::{parse_srt_with_limit, parse_vtt_with_limit};
use verbatim::export::{
    Cue, ExportFormat, ExportOptions, SubtitleRules, parse_srt, parse_vtt, render,
};
use verbatim::transcript::Transcript;

/// xorshift64*: small, seedable, good enough to shake out layout bugs.
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
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// What kind of transcript to generate.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    segments: usize,
    max_words: usize,
    /// Segments may start before the previous one ends.
    overlapping: bool,
    /// Some segments have no duration at all.
    zero_length: bool,
    speakers: bool,
    /// Percent of segments with word timestamps.
    words_percent: usize,
    /// Percent of words that are longer than a line.
    long_word_percent: usize,
    /// Word times with NaN, backwards or out-of-segment values.
    broken_times: bool,
}

const VOCABULARY: &[&str] = &[
    "the",
    "a",
    "I",
    "you",
    "said",
    "transcription",
    "is",
    "working",
    "very",
    "well",
    "today",
    "and",
    "then",
    "we",
    "went",
    "home",
    "Déjà",
    "vu",
    "naïve",
    "café",
    "Straße",
    "日本語",
    "テキスト",
    "🎉",
    "Ωmega",
    "ünïcödé",
    "fish",
    "&",
    "chips",
    "<b>",
    "a<b",
    "x>y",
    "AT&T",
    "--",
    "'quoted'",
    "\"double\"",
    "don't",
    "it's",
    "co-operate",
    "e.g.",
    "3.14",
    "100%",
    "#1",
    "ok",
    "—",
    "–",
    "...",
    "1",
    "22",
    "333",
];
const ENDINGS: &[&str] = &["", "", "", "", ",", ".", "?", "!", ";", "…"];
const NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Dr. Jane Q. Smith",
    "Ærøskøbing Ünïcode",
    "Speaker With A Name Longer Than Any Line Allows",
];

fn generate(rng: &mut Rng, shape: Shape) -> (Transcript, Vec<Vec<String>>) {
    let mut transcript = Transcript::new();
    let mut tokens_per_segment = Vec::new();
    let mut clock_s = rng.range(0.0, 3.0);
    let mut previous_start_s = clock_s;
    for index in 0..shape.segments {
        let count = if rng.chance(5) {
            shape.max_words
        } else {
            1 + rng.below(shape.max_words.min(25))
        };
        let mut tokens = Vec::with_capacity(count);
        for _ in 0..count {
            let token = if rng.chance(shape.long_word_percent) {
                let base = rng.pick(&[
                    "Donaudampfschifffahrtsgesellschaftskapitänsmütze",
                    "x",
                    "日本",
                ]);
                base.repeat(1 + rng.below(3)) + &"y".repeat(rng.below(30))
            } else {
                format!("{}{}", rng.pick(VOCABULARY), rng.pick(ENDINGS))
            };
            tokens.push(token);
        }
        if shape.overlapping && index > 0 && rng.chance(40) {
            clock_s = (previous_start_s + rng.range(-1.0, 3.0)).max(0.0);
        }
        let start_s = clock_s;
        previous_start_s = start_s;
        let zero = shape.zero_length && rng.chance(20);
        let mut words = Vec::with_capacity(count);
        let mut cursor_s = start_s;
        for token in &tokens {
            let length_s = if zero { 0.0 } else { rng.range(0.12, 0.6) };
            let mut word = Word {
                text: token.clone(),
                start_s: cursor_s,
                end_s: cursor_s + length_s,
                probability: Some(0.9),
            };
            if rng.chance(10) {
                // Engines that drop punctuation from words.
                word.text = token
                    .trim_end_matches([',', '.', '?', '!', ';', '…'])
                    .to_lowercase();
            }
            if shape.broken_times && rng.chance(10) {
                match rng.below(3) {
                    0 => word.start_s = f64::NAN,
                    1 => word.end_s = word.start_s - 5.0,
                    _ => word.start_s += 100.0,
                }
            }
            words.push(word);
            if !zero {
                cursor_s += length_s
                    + if rng.chance(5) {
                        rng.range(1.1, 2.5)
                    } else {
                        rng.range(0.0, 0.3)
                    };
            }
        }
        let end_s = if zero { start_s } else { cursor_s };
        let separator = if rng.chance(10) { "  \n\t" } else { " " };
        let text = format!(
            "{}{}",
            if rng.chance(10) { " " } else { "" },
            tokens.join(separator)
        );
        let speaker = if shape.speakers && !rng.chance(10) {
            Some(format!("S{}", rng.below(NAMES.len())))
        } else {
            None
        };
        let with_words = rng.chance(shape.words_percent);
        transcript.push_segment(Segment {
            revision_key: None,
            start_s,
            end_s,
            text,
            speaker,
            words: if with_words { words } else { vec![] },
            ..Default::default()
        });
        tokens_per_segment.push(tokens);
        clock_s = end_s
            + if rng.chance(20) {
                rng.range(0.0, 0.05)
            } else {
                rng.range(0.0, 2.0)
            };
    }
    for (index, name) in NAMES.iter().enumerate() {
        transcript.rename_speaker(&format!("S{index}"), name);
    }
    (transcript, tokens_per_segment)
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Splits a parsed SRT cue's first line into the speaker prefix (if the transcript has one
/// there) and the words.
fn srt_cue_words(cue: &Cue, names: &[String]) -> (Option<String>, Vec<String>) {
    let text = cue.text();
    for name in names {
        if let Some(rest) = text.strip_prefix(&format!("{name}: ")) {
            return (
                Some(name.clone()),
                rest.split(' ').map(str::to_string).collect(),
            );
        }
        if text == format!("{name}:") {
            return (Some(name.clone()), vec![]);
        }
    }
    (None, text.split(' ').map(str::to_string).collect())
}

/// Checks one rendered file against every rule. `tokens` are the words of each segment.
fn check_file(
    transcript: &Transcript,
    tokens: &[Vec<String>],
    rules: &SubtitleRules,
    format: ExportFormat,
    overlapping: bool,
) {
    let options = ExportOptions {
        subtitles: rules.clone(),
        ..ExportOptions::default()
    };
    // The writer sanitises nonsense rules; check against what it actually applied.
    let rules = &rules.sanitized();
    let file = render(transcript, format, &options);
    assert!(!file.starts_with('\u{feff}') && !file.contains('\r'));
    assert!(file.is_empty() || file.ends_with('\n'));
    let cues = match format {
        ExportFormat::Srt => parse_srt_with_limit(&file, rules.max_lines_per_cue),
        _ => parse_vtt_with_limit(&file, rules.max_lines_per_cue),
    }
    .unwrap_or_else(|error| {
        panic!(
            "{format} rejected: {error}\n{}",
            excerpt(&file, &error.to_string())
        )
    });
    let names: Vec<String> = {
        let mut names: Vec<String> = transcript
            .speakers
            .iter()
            .map(|s| s.display_name.clone())
            .collect();
        names.sort_by_key(|name| std::cmp::Reverse(name.len()));
        names
    };
    let has_speakers = transcript.segments.iter().any(|s| s.speaker.is_some());
    let max_ms = ms(rules.max_cue_duration_s);
    let min_ms = ms(rules.min_cue_duration_s);
    let audio_end_ms = transcript.duration_s.map(ms);
    let mut produced: Vec<(String, Option<String>)> = Vec::new();
    for (index, cue) in cues.iter().enumerate() {
        let (start, end) = (ms(cue.start_s), ms(cue.end_s));
        let next_start = cues.get(index + 1).map(|next| ms(next.start_s));
        let duration = end - start;
        assert!(
            duration > 0 && duration <= max_ms,
            "cue {index} lasts {duration} ms: {cue:?}"
        );
        let filled_gap =
            next_start == Some(end) || (next_start.is_none() && audio_end_ms == Some(end));
        assert!(
            duration >= min_ms || filled_gap,
            "cue {index} is short ({duration} ms) with room after it: {cue:?}, next {:?}, {rules:?}",
            cues.get(index + 1)
        );
        if let Some(cps) = rules.max_chars_per_second {
            let chars: usize = cue.lines.iter().map(|line| line.chars().count()).sum();
            let fast = chars as f64 * 1000.0 > cps * duration as f64 + cps;
            assert!(
                !fast || filled_gap || duration == max_ms,
                "cue {index} too fast ({chars} chars in {duration} ms): {cue:?}"
            );
        }
        let (speaker, words) = match format {
            ExportFormat::Srt if has_speakers && rules.show_speakers => srt_cue_words(cue, &names),
            _ => (
                cue.speaker.clone(),
                cue.text()
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        };
        let prefixed = format == ExportFormat::Srt && speaker.is_some();
        for (line_index, line) in cue.lines.iter().enumerate() {
            let width = line.chars().count();
            if width > rules.max_chars_per_line {
                let mut rest = line.as_str();
                if let (Some(name), true, 0) = (&speaker, prefixed, line_index) {
                    rest = rest
                        .strip_prefix(&format!("{name}:"))
                        .map(str::trim_start)
                        .unwrap_or(rest);
                }
                assert!(
                    rest.is_empty() || !rest.contains(' '),
                    "line of {width} chars is more than one word: {line:?}"
                );
            }
        }
        produced.extend(words.into_iter().map(|word| (word, speaker.clone())));
    }
    // Every word, in order, with the right speaker.
    let mut order: Vec<usize> = (0..transcript.segments.len()).collect();
    order.sort_by(|a, b| {
        transcript.segments[*a]
            .start_s
            .total_cmp(&transcript.segments[*b].start_s)
    });
    let mut expected: Vec<(String, Option<String>)> = Vec::new();
    for index in order {
        let segment = &transcript.segments[index];
        let speaker = if rules.show_speakers {
            transcript.segment_speaker_name(segment).map(str::to_string)
        } else {
            None
        };
        for token in &tokens[index] {
            let token = if format == ExportFormat::Srt {
                token.replace("-->", "->")
            } else {
                token.clone()
            };
            expected.push((token, speaker.clone()));
        }
    }
    if overlapping {
        let count = |items: &[(String, Option<String>)]| {
            let mut counts: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
            for item in items {
                *counts.entry(item.clone()).or_default() += 1;
            }
            counts
        };
        assert_eq!(
            count(&produced),
            count(&expected),
            "{format}: words lost or invented"
        );
    } else {
        if let Some(position) = produced.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!(
                "{format}: word {position} is {:?}, expected {:?}\nsegments: {:#?}\ncues: {:#?}",
                produced[position],
                expected[position],
                transcript.segments.iter().take(3).collect::<Vec<_>>(),
                cues.iter().take(3).collect::<Vec<_>>()
            );
        }
        assert_eq!(produced.len(), expected.len(), "{format}: word count");
    }
}

fn excerpt(file: &str, error: &str) -> String {
    let line: usize = error
        .strip_prefix("subtitle line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or(1);
    file.lines()
        .enumerate()
        .skip(line.saturating_sub(6))
        .take(10)
        .map(|(i, l)| format!("{:>6} {l}\n", i + 1))
        .collect()
}

fn rule_sets() -> Vec<SubtitleRules> {
    vec![
        SubtitleRules::default(),
        SubtitleRules {
            max_chars_per_line: 20,
            max_lines_per_cue: 1,
            max_cue_duration_s: 3.0,
            min_cue_duration_s: 1.5,
            max_chars_per_second: Some(12.0),
            split_at_pause_s: 0.5,
            show_speakers: true,
        },
        SubtitleRules {
            max_chars_per_line: 60,
            max_lines_per_cue: 3,
            max_cue_duration_s: 10.0,
            min_cue_duration_s: 0.0,
            max_chars_per_second: None,
            split_at_pause_s: 5.0,
            show_speakers: false,
        },
    ]
}

fn run_shape(seed: u64, runs: usize, shape: Shape) {
    let mut rng = Rng(seed);
    for run in 0..runs {
        let (mut transcript, tokens) = generate(&mut rng, shape);
        if run % 3 == 0 {
            transcript.duration_s = Some(transcript.end_s() + rng.range(0.0, 0.5));
        }
        for rules in rule_sets() {
            for format in [ExportFormat::Srt, ExportFormat::Vtt] {
                check_file(&transcript, &tokens, &rules, format, shape.overlapping);
            }
        }
    }
}

#[test]
fn plain_segments_with_word_times() {
    run_shape(
        1,
        200,
        Shape {
            segments: 12,
            max_words: 40,
            words_percent: 100,
            ..Shape::default()
        },
    );
}

#[test]
fn segments_without_words() {
    run_shape(
        2,
        200,
        Shape {
            segments: 12,
            max_words: 40,
            words_percent: 0,
            ..Shape::default()
        },
    );
}

#[test]
fn speakers_unicode_and_mixed_word_times() {
    run_shape(
        3,
        200,
        Shape {
            segments: 15,
            max_words: 30,
            speakers: true,
            words_percent: 50,
            ..Shape::default()
        },
    );
}

#[test]
fn long_words_and_long_segments() {
    run_shape(
        4,
        60,
        Shape {
            segments: 6,
            max_words: 400,
            speakers: true,
            words_percent: 60,
            long_word_percent: 15,
            ..Shape::default()
        },
    );
}

#[test]
fn overlapping_and_zero_length_segments() {
    run_shape(
        5,
        200,
        Shape {
            segments: 15,
            max_words: 20,
            overlapping: true,
            zero_length: true,
            speakers: true,
            words_percent: 70,
            long_word_percent: 3,
            ..Shape::default()
        },
    );
}

#[test]
fn broken_word_times() {
    run_shape(
        6,
        150,
        Shape {
            segments: 10,
            max_words: 30,
            speakers: true,
            words_percent: 100,
            broken_times: true,
            ..Shape::default()
        },
    );
}

#[test]
fn extreme_and_nonsense_rules() {
    let extreme = [
        SubtitleRules {
            max_chars_per_line: 1,
            max_lines_per_cue: 1,
            max_cue_duration_s: 0.05,
            min_cue_duration_s: 10.0,
            max_chars_per_second: Some(1000.0),
            split_at_pause_s: 0.0,
            show_speakers: true,
        },
        SubtitleRules {
            max_chars_per_line: 0,
            max_lines_per_cue: 0,
            max_cue_duration_s: f64::NAN,
            min_cue_duration_s: -1.0,
            max_chars_per_second: Some(f64::INFINITY),
            split_at_pause_s: f64::NAN,
            show_speakers: true,
        },
        SubtitleRules {
            max_chars_per_line: 10_000,
            max_lines_per_cue: 50,
            max_cue_duration_s: 1e9,
            ..SubtitleRules::default()
        },
    ];
    let mut rng = Rng(8);
    for _ in 0..40 {
        let shape = Shape {
            segments: 8,
            max_words: 60,
            overlapping: true,
            zero_length: true,
            speakers: true,
            words_percent: 50,
            long_word_percent: 5,
            broken_times: true,
        };
        let (transcript, tokens) = generate(&mut rng, shape);
        for rules in &extreme {
            for format in [ExportFormat::Srt, ExportFormat::Vtt] {
                check_file(&transcript, &tokens, rules, format, true);
            }
        }
    }
}

#[test]
fn ten_thousand_segments() {
    let mut rng = Rng(7);
    let (transcript, tokens) = generate(
        &mut rng,
        Shape {
            segments: 10_000,
            max_words: 30,
            speakers: true,
            words_percent: 70,
            ..Shape::default()
        },
    );
    let started = Instant::now();
    for format in [ExportFormat::Srt, ExportFormat::Vtt] {
        check_file(
            &transcript,
            &tokens,
            &SubtitleRules::default(),
            format,
            false,
        );
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed.as_secs_f64() < 20.0,
        "10 000 segments took {elapsed:?}"
    );
}

#[test]
fn cue_times_follow_word_times() {
    // One segment with evenly spaced words: every cue starts at its first word and ends at
    // its last word's end (or later, extended into the silence).
    let mut transcript = Transcript::new();
    let words: Vec<Word> = (0..120)
        .map(|i| Word {
            text: format!("w{i}"),
            start_s: 2.0 + i as f64 * 0.5,
            end_s: 2.0 + i as f64 * 0.5 + 0.3,
            probability: None,
        })
        .collect();
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: 2.0,
        end_s: 62.0,
        text,
        speaker: None,
        words: words.clone(),
        ..Default::default()
    });
    let srt = render(&transcript, ExportFormat::Srt, &ExportOptions::default());
    let cues = parse_srt(&srt).unwrap();
    assert!(cues.len() >= 9, "{} cues", cues.len());
    for cue in &cues {
        let first: usize = cue.lines[0]
            .split(' ')
            .next()
            .unwrap()
            .trim_start_matches('w')
            .parse()
            .unwrap();
        let last: usize = cue
            .lines
            .last()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .trim_start_matches('w')
            .parse()
            .unwrap();
        assert_eq!(ms(cue.start_s), ms(words[first].start_s));
        assert!(ms(cue.end_s) >= ms(words[last].end_s));
    }
}

#[test]
fn edits_and_renamed_speakers_reach_every_export() {
    let mut transcript = Transcript::new();
    for (index, speaker) in ["spk0", "spk1"].iter().enumerate() {
        transcript.push_segment(Segment {
            revision_key: None,
            start_s: index as f64 * 3.0,
            end_s: index as f64 * 3.0 + 2.0,
            text: format!("original text {index}"),
            speaker: Some(speaker.to_string()),
            words: vec![Word {
                text: "original".into(),
                start_s: index as f64 * 3.0,
                end_s: 1.0,
                probability: None,
            }],
            ..Default::default()
        });
    }
    assert!(transcript.rename_speaker("spk0", "Alice"));
    assert!(transcript.edit_segment_text(1, "edited & <new> words"));
    let options = ExportOptions::default();
    let srt = render(&transcript, ExportFormat::Srt, &options);
    let vtt = render(&transcript, ExportFormat::Vtt, &options);
    let txt = render(&transcript, ExportFormat::Txt, &options);
    let json = render(&transcript, ExportFormat::Json, &options);
    assert_eq!(
        srt,
        "1\n00:00:00,000 --> 00:00:02,000\nAlice: original text 0\n\n2\n00:00:03,000 --> 00:00:05,000\nSpeaker 2: edited & <new> words\n"
    );
    assert_eq!(
        vtt,
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Alice>original text 0\n\n00:00:03.000 --> 00:00:05.000\n<v Speaker 2>edited &amp; &lt;new&gt; words\n"
    );
    assert_eq!(
        txt,
        "Alice: original text 0\n\nSpeaker 2: edited & <new> words\n"
    );
    assert!(json.contains("\"display_name\": \"Alice\"") && json.contains("edited & <new> words"));
    let vtt_cues = parse_vtt(&vtt).unwrap();
    assert_eq!(vtt_cues[1].speaker.as_deref(), Some("Speaker 2"));
    assert_eq!(vtt_cues[1].lines, ["edited & <new> words"]);
}

#[test]
fn empty_transcripts_give_valid_empty_files() {
    let mut transcript = Transcript::new();
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: 1.0,
        end_s: 2.0,
        text: "  \n ".into(),
        speaker: None,
        words: vec![],
        ..Default::default()
    });
    let options = ExportOptions::default();
    assert_eq!(render(&transcript, ExportFormat::Srt, &options), "");
    assert_eq!(render(&transcript, ExportFormat::Vtt, &options), "WEBVTT\n");
    assert_eq!(render(&transcript, ExportFormat::Txt, &options), "");
    assert_eq!(parse_srt("").unwrap(), vec![]);
    assert_eq!(parse_vtt("WEBVTT\n").unwrap(), vec![]);
}

#[test]
fn srt_never_contains_an_arrow_in_text() {
    let mut transcript = Transcript::new();
    transcript.push_segment(Segment {
        revision_key: None,
        start_s: 0.0,
        end_s: 2.0,
        text: "a --> b".into(),
        speaker: None,
        words: vec![],
        ..Default::default()
    });
    let srt = render(&transcript, ExportFormat::Srt, &ExportOptions::default());
    assert_eq!(parse_srt(&srt).unwrap()[0].lines, ["a -> b"]);
    let vtt = render(&transcript, ExportFormat::Vtt, &ExportOptions::default());
    assert_eq!(parse_vtt(&vtt).unwrap()[0].lines, ["a --> b"]);
}
