//! Subtitle import against every real-world file in `shared/testdata/subtitles`, each with
//! an explicit expected outcome, and round trips through our own exports.

mod common;

use std::path::{Path, PathBuf};
use verbatim::events::Segment;
use verbatim::export::import::read_subtitles;
use verbatim::export::{
    ExportFormat, ExportOptions, ParseError, SubtitleFormat, import_subtitle_file,
    import_subtitles, parse_srt, parse_vtt, render,
};
use verbatim::transcript::Transcript;

fn subtitles_dir() -> Option<PathBuf> {
    common::testdata("subtitles")
}

/// What importing a file must give.
enum Expect {
    /// Segment count, then (index, text, start_s, end_s) checks.
    Segments(usize, &'static [(usize, &'static str, f64, f64)]),
    /// An error about this line of the file.
    ErrorAtLine(usize),
    Empty,
    Unsupported,
}

use Expect::*;

const EXPECTATIONS: &[(&str, Expect)] = &[
    (
        "webvtt-py/captions_with_bom.vtt",
        Segments(
            4,
            &[
                (0, "Caption text #1", 0.5, 7.0),
                (3, "Caption text #4", 16.32, 21.58),
            ],
        ),
    ),
    (
        "webvtt-py/comments.vtt",
        Segments(
            3,
            &[
                (
                    0,
                    "- Ta en kopp varmt te. - Det är inte varmt.",
                    135.0,
                    140.0,
                ),
                (2, "- Ta en kopp", 145.0, 150.0),
            ],
        ),
    ),
    (
        "webvtt-py/cue_tags.vtt",
        Segments(
            3,
            &[
                (0, "When the moon hits your eye", 16.5, 18.5),
                (1, "Like a big-a pizza pie", 18.5, 20.5),
                (2, "That's amore", 20.5, 21.5),
            ],
        ),
    ),
    ("webvtt-py/empty.vtt", Empty),
    ("webvtt-py/invalid.vtt", ErrorAtLine(1)),
    ("webvtt-py/invalid_format.sbv", Unsupported),
    ("webvtt-py/invalid_format1.srt", ErrorAtLine(1)),
    ("webvtt-py/invalid_format2.srt", ErrorAtLine(1)),
    ("webvtt-py/invalid_format3.srt", ErrorAtLine(2)),
    ("webvtt-py/invalid_format4.srt", ErrorAtLine(1)),
    ("webvtt-py/invalid_timeframe.sbv", Unsupported),
    ("webvtt-py/invalid_timeframe.srt", ErrorAtLine(6)),
    ("webvtt-py/invalid_timeframe.vtt", ErrorAtLine(6)),
    (
        "webvtt-py/invalid_timeframe_in_cue_text.vtt",
        ErrorAtLine(7),
    ),
    (
        "webvtt-py/metadata_headers.vtt",
        Segments(2, &[(1, "Caption text #2", 7.0, 11.89)]),
    ),
    (
        "webvtt-py/metadata_headers_multiline.vtt",
        Segments(2, &[(0, "Caption text #1", 0.5, 7.0)]),
    ),
    ("webvtt-py/missing_caption_text.sbv", Unsupported),
    (
        "webvtt-py/missing_caption_text.srt",
        Segments(
            4,
            &[
                (0, "Caption text #1", 0.5, 7.0),
                (1, "Caption text #3", 11.89, 16.32),
            ],
        ),
    ),
    (
        "webvtt-py/missing_caption_text.vtt",
        Segments(
            4,
            &[
                (1, "Caption text #3", 11.89, 16.32),
                (3, "Caption text #5", 21.58, 23.88),
            ],
        ),
    ),
    ("webvtt-py/missing_timeframe.sbv", Unsupported),
    ("webvtt-py/missing_timeframe.srt", ErrorAtLine(6)),
    ("webvtt-py/missing_timeframe.vtt", ErrorAtLine(6)),
    ("webvtt-py/no_captions.vtt", Segments(0, &[])),
    (
        "webvtt-py/one_caption.srt",
        Segments(1, &[(0, "Caption text #1", 0.5, 7.0)]),
    ),
    (
        "webvtt-py/one_caption.vtt",
        Segments(1, &[(0, "Caption text #1", 0.5, 7.0)]),
    ),
    ("webvtt-py/sample.sbv", Unsupported),
    (
        "webvtt-py/sample.srt",
        Segments(5, &[(2, "Caption text #3", 11.89, 16.32)]),
    ),
    (
        "webvtt-py/sample.vtt",
        Segments(
            16,
            &[
                (2, "Caption text #3", 11.89, 16.32),
                (15, "Caption text #16", 61.35, 64.3),
            ],
        ),
    ),
    (
        "webvtt-py/styles.vtt",
        Segments(1, &[(0, "- Hello world.", 0.0, 10.0)]),
    ),
    ("webvtt-py/two_captions.sbv", Unsupported),
    (
        "webvtt-py/using_identifiers.vtt",
        Segments(
            6,
            &[
                (1, "Caption text #2", 7.0, 11.89),
                (3, "Caption text #4", 16.32, 21.58),
            ],
        ),
    ),
    (
        "webvtt-py/youtube_dl.vtt",
        Segments(
            4,
            &[
                (0, "yeah", 286.07, 286.47),
                (1, "yeah what", 286.47, 304.08),
                (2, "this will happen is I'm telling", 304.08, 305.069),
                (3, "this will happen is I'm telling", 305.069, 305.4),
            ],
        ),
    ),
    ("go-astisub/broken-1-in.vtt", ErrorAtLine(2)),
    (
        "go-astisub/example-in-carriage-return.srt",
        Segments(
            3,
            &[
                (
                    0,
                    "Did one of the last stories strike you as more interesting than the other?",
                    0.0,
                    3.766,
                ),
                (
                    1,
                    "That's true. You don’t often find 632 pieces of gum stuck on a sidewalk",
                    3.767,
                    10.732,
                ),
                (
                    2,
                    "at a busy bus stop or anywhere else for that matter.",
                    10.733,
                    14.066,
                ),
            ],
        ),
    ),
    (
        "go-astisub/example-in-carriage-return.vtt",
        Segments(
            3,
            &[(
                2,
                "at a busy bus stop or anywhere else for that matter.",
                10.733,
                14.066,
            )],
        ),
    ),
    (
        "go-astisub/example-in-html-entities.srt",
        Segments(
            3,
            &[
                (
                    0,
                    "The man in black fled across the desert, & the gunslinger followed.",
                    0.331,
                    3.75,
                ),
                (1, "Go, then,", 4.101, 5.43),
                (2, "there are other < worlds than these.", 6.331, 9.675),
            ],
        ),
    ),
    (
        "go-astisub/example-in-html-entities.vtt",
        Segments(
            3,
            &[(
                0,
                "The man in black fled across the desert, & the gunslinger followed.",
                0.331,
                3.75,
            )],
        ),
    ),
    (
        "go-astisub/example-in-non-utf8.srt",
        Segments(
            6,
            &[
                (0, "(deep rumbling)", 99.0, 101.04),
                (1, "MAN: How did we end up here?", 124.08, 127.12),
                (5, "(computer playing electronic melody)", 151.4, 153.44),
            ],
        ),
    ),
    (
        "go-astisub/example-in-non-utf8.vtt",
        Segments(6, &[(2, "This place is horrible.", 132.16, 135.2)]),
    ),
    (
        "go-astisub/example-in-styled.srt",
        Segments(
            10,
            &[
                (0, "[instrumental music]", 17.985, 20.521),
                (5, "[automated] 'The time is 7:35.'", 89.59, 91.992),
                (
                    6,
                    "Test with multi line italics Terminated on the next line",
                    480.0,
                    540.0,
                ),
                (7, "Unterminated styles", 540.0, 600.0),
                (9, "x^3 * x = 100", 720.0, 780.0),
            ],
        ),
    ),
    (
        "go-astisub/example-in.srt",
        Segments(
            6,
            &[(4, "We don't belong in this shithole.", 148.32, 151.36)],
        ),
    ),
    (
        "go-astisub/example-in.vtt",
        Segments(
            6,
            &[
                (0, "(deep rumbling)", 99.0, 101.04),
                (1, "MAN: How did we end up here?", 124.08, 127.12),
            ],
        ),
    ),
    (
        "go-astisub/example-out-html-entities.srt",
        Segments(3, &[(1, "Go, then,", 4.101, 5.43)]),
    ),
    (
        "go-astisub/example-out-html-entities.vtt",
        Segments(
            3,
            &[(2, "there are other < worlds than these.", 6.331, 9.675)],
        ),
    ),
    (
        "go-astisub/example-out-styled.srt",
        Segments(10, &[(3, "[dog barking]", 61.662, 63.063)]),
    ),
    (
        "go-astisub/example-out-styled.vtt",
        Segments(10, &[(0, "[instrumental music]", 17.985, 20.521)]),
    ),
    (
        "go-astisub/example-out.srt",
        Segments(
            6,
            &[(5, "(computer playing electronic melody)", 151.4, 153.44)],
        ),
    ),
    (
        "go-astisub/example-out.vtt",
        Segments(6, &[(1, "MAN: How did we end up here?", 124.08, 127.12)]),
    ),
    (
        "go-astisub/missing-sequence-in.srt",
        Segments(6, &[(2, "This place is horrible.", 132.16, 135.2)]),
    ),
];

fn check_file(dir: &Path, name: &str, expect: &Expect) -> Result<(), String> {
    let path = dir.join(name);
    let result = import_subtitle_file(&path);
    match (expect, &result) {
        (Segments(count, checks), Ok(transcript)) => {
            if transcript.segments.len() != *count {
                return Err(format!(
                    "{} segments, expected {count}",
                    transcript.segments.len()
                ));
            }
            for (index, text, start_s, end_s) in checks.iter() {
                let Some(segment) = transcript.segments.get(*index) else {
                    return Err(format!("no segment {index}"));
                };
                if segment.text != *text
                    || (segment.start_s - start_s).abs() > 1e-9
                    || (segment.end_s - end_s).abs() > 1e-9
                {
                    return Err(format!(
                        "segment {index} is {:?} {}–{}, expected {text:?} {start_s}–{end_s}",
                        segment.text, segment.start_s, segment.end_s
                    ));
                }
            }
            Ok(())
        }
        (ErrorAtLine(line), Err(ParseError::Malformed { line: got, .. })) if got == line => Ok(()),
        (Empty, Err(ParseError::Empty)) => Ok(()),
        (Unsupported, Err(ParseError::Unsupported(_))) => Ok(()),
        _ => Err(match &result {
            Ok(transcript) => format!(
                "imported {} segments, expected an error",
                transcript.segments.len()
            ),
            Err(error) => format!("got error: {error}"),
        }),
    }
}

#[test]
fn every_fixture_has_its_expected_outcome() {
    let Some(dir) = subtitles_dir() else { return };
    let mut failures = Vec::new();
    for (name, expect) in EXPECTATIONS {
        if let Err(problem) = check_file(&dir, name, expect) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_fixture_is_left_without_an_expectation() {
    let Some(dir) = subtitles_dir() else { return };
    let mut found = Vec::new();
    for sub in ["webvtt-py", "go-astisub"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            found.push(format!(
                "{sub}/{}",
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    let mut listed: Vec<String> = EXPECTATIONS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn every_error_is_one_line_with_a_line_number_and_nothing_panics() {
    let Some(dir) = subtitles_dir() else { return };
    for (name, _) in EXPECTATIONS {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        for hint in [None, Some(SubtitleFormat::Srt), Some(SubtitleFormat::Vtt)] {
            // Every prefix of the file too: truncated downloads must not panic either.
            for cut in [bytes.len(), bytes.len() / 2, bytes.len() / 3, 7, 1] {
                let slice = &bytes[..cut.min(bytes.len())];
                if let Err(error) = import_subtitles(slice, hint) {
                    let message = error.to_string();
                    assert!(
                        !message.contains('\n') && !message.contains('\r'),
                        "{name}: {message:?}"
                    );
                    if let ParseError::Malformed { line, .. } = error {
                        assert!(
                            line >= 1 && message.starts_with(&format!("subtitle line {line}: ")),
                            "{message}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn mangled_fixtures_never_panic() {
    let Some(dir) = subtitles_dir() else { return };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    const INSERTS: [&[u8]; 10] = [
        b"-->",
        b"\n",
        b"\r",
        b"\n\n",
        b"<",
        b"&",
        b"\xff\xfe",
        b"00:00:",
        b"WEBVTT\n",
        b"<v ",
    ];
    let mut outcomes = [0usize; 2];
    for (name, _) in EXPECTATIONS {
        let original = std::fs::read(dir.join(name)).unwrap();
        for _ in 0..200 {
            let mut bytes = original.clone();
            for _ in 0..1 + random(4) {
                let at = random(bytes.len() + 1);
                match random(3) {
                    0 if !bytes.is_empty() => {
                        let end = (at + random(8)).min(bytes.len());
                        bytes.drain(at.min(end)..end);
                    }
                    1 => {
                        let insert = INSERTS[random(INSERTS.len())];
                        bytes.splice(at..at, insert.iter().copied());
                    }
                    _ if at < bytes.len() => bytes[at] = random(256) as u8,
                    _ => {}
                }
            }
            let hint = [None, Some(SubtitleFormat::Srt), Some(SubtitleFormat::Vtt)][random(3)];
            let result = import_subtitles(&bytes, hint);
            outcomes[usize::from(result.is_ok())] += 1;
            if let Err(error) = result {
                assert!(!error.to_string().contains('\n'));
            }
            // The strict parsers must not panic on anything either.
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_srt(&text);
            let _ = parse_vtt(&text);
        }
    }
    // Both outcomes occur, so the mangling really exercises the error paths and the readers.
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}

#[test]
fn sbv_without_a_hint_is_reported_as_unsupported() {
    let Some(dir) = subtitles_dir() else { return };
    let bytes = std::fs::read(dir.join("webvtt-py/sample.sbv")).unwrap();
    let error = import_subtitles(&bytes, None).unwrap_err();
    assert_eq!(error, ParseError::Unsupported("YouTube SBV".into()));
    assert!(
        error
            .to_string()
            .contains("convert the file to SRT or WebVTT")
    );
    let text = std::fs::read(dir.join("webvtt-py/invalid_format.sbv")).unwrap();
    assert_eq!(
        import_subtitles(&text, None).unwrap_err(),
        ParseError::NotSubtitles
    );
}

#[test]
fn vtt_header_metadata_and_voices_are_kept() {
    let Some(dir) = subtitles_dir() else { return };
    let transcript = import_subtitle_file(&dir.join("webvtt-py/metadata_headers.vtt")).unwrap();
    assert_eq!(transcript.language.as_deref(), Some("en"));
    let bytes = b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v Alice>Hi &amp; bye\n\n00:02.000 --> 00:03.000\n<v.loud Bob>Hey</v>\n\n00:03.000 --> 00:04.000\n<v Alice>Again\n";
    let transcript = import_subtitles(bytes, None).unwrap();
    let speakers: Vec<(&str, &str)> = transcript
        .speakers
        .iter()
        .map(|s| (s.id.as_str(), s.display_name.as_str()))
        .collect();
    assert_eq!(speakers, [("Alice", "Alice"), ("Bob", "Bob")]);
    let labelled: Vec<(Option<&str>, &str)> = transcript
        .segments
        .iter()
        .map(|s| (s.speaker.as_deref(), s.text.as_str()))
        .collect();
    assert_eq!(
        labelled,
        [
            (Some("Alice"), "Hi & bye"),
            (Some("Bob"), "Hey"),
            (Some("Alice"), "Again")
        ]
    );
}

#[test]
fn latin1_and_windows_1252_files_are_read() {
    let bytes = b"1\r\n00:00:01,000 --> 00:00:02,000\r\nD\xe9j\xe0 vu \x96 \x93oui\x94\r\n";
    let transcript = import_subtitles(bytes, Some(SubtitleFormat::Srt)).unwrap();
    assert_eq!(transcript.segments[0].text, "Déjà vu – “oui”");
}

fn sample_transcript() -> Transcript {
    let mut transcript = Transcript::new();
    let lines = [
        ("a", "Fish & chips <b>not bold</b> -- fine."),
        (
            "b",
            "Déjà vu, naïve café: 日本語のテキスト and an emoji 🎉 here.",
        ),
        (
            "a",
            "A much longer sentence that certainly needs more than one line, and maybe a second cue as well, because it keeps going.",
        ),
    ];
    let mut start_s = 0.5;
    for (speaker, text) in lines {
        let end_s = start_s + 1.0 + text.len() as f64 / 15.0;
        transcript.push_segment(Segment {
            revision_key: None,
            start_s,
            end_s,
            text: text.into(),
            speaker: Some(speaker.into()),
            words: vec![],
            ..Default::default()
        });
        start_s = end_s + 0.75;
    }
    transcript.rename_speaker("a", "Alice");
    transcript.rename_speaker("b", "Bob & Co");
    transcript
}

#[test]
fn our_vtt_imports_back_with_speakers_and_text() {
    let transcript = sample_transcript();
    let vtt = render(&transcript, ExportFormat::Vtt, &ExportOptions::default());
    let cues = parse_vtt(&vtt).unwrap();
    let imported = import_subtitles(vtt.as_bytes(), Some(SubtitleFormat::Vtt)).unwrap();
    assert_eq!(imported.segments.len(), cues.len());
    for (segment, cue) in imported.segments.iter().zip(&cues) {
        assert_eq!(segment.text, cue.text());
        assert_eq!(segment.speaker, cue.speaker);
        assert_eq!((segment.start_s, segment.end_s), (cue.start_s, cue.end_s));
    }
    let names: Vec<&str> = imported
        .speakers
        .iter()
        .map(|s| s.display_name.as_str())
        .collect();
    assert_eq!(names, ["Alice", "Bob & Co"]);
    assert_eq!(imported.plain_text(), transcript.plain_text());
}

#[test]
fn our_srt_reads_the_same_strictly_and_tolerantly() {
    // SRT has no escaping: text that looks like a tag is written as it is (players would
    // style it), and the tolerant reader strips it like any other SRT styling.
    let transcript = sample_transcript();
    let srt = render(&transcript, ExportFormat::Srt, &ExportOptions::default());
    let strict = parse_srt(&srt).unwrap();
    assert_eq!(
        strict[0].text(),
        "Alice: Fish & chips <b>not bold</b> -- fine."
    );
    let (tolerant, _) = read_subtitles(srt.as_bytes(), None).unwrap();
    assert_eq!(tolerant[0].text(), "Alice: Fish & chips not bold -- fine.");
    assert_eq!(&strict[1..], &tolerant[1..]);
}
