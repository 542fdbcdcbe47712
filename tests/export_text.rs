//! The plain text export: paragraphs by speaker and pause, optional times and names.

use verbatim::events::Segment;
use verbatim::export::{ExportFormat, ExportOptions, TextOptions, render};
use verbatim::transcript::Transcript;

fn segment(start_s: f64, end_s: f64, text: &str, speaker: Option<&str>) -> Segment {
    Segment {
        revision_key: None,
        start_s,
        end_s,
        text: text.into(),
        speaker: speaker.map(str::to_string),
        words: vec![],
        ..Default::default()
    }
}

fn conversation() -> Transcript {
    let mut transcript = Transcript::new();
    transcript.push_segment(segment(0.0, 1.5, " Hello there. ", Some("a")));
    transcript.push_segment(segment(1.6, 3.25, "How are\nyou?", Some("a")));
    transcript.push_segment(segment(3.5, 4.0, "Fine.", Some("b")));
    transcript.push_segment(segment(4.0, 4.0, "   ", Some("a")));
    transcript.push_segment(segment(4.2, 5.0, "Good.", Some("a")));
    transcript.push_segment(segment(
        9.0,
        3725.5,
        "Much later, after a pause.",
        Some("a"),
    ));
    transcript.rename_speaker("a", "Alice");
    transcript
}

fn text(transcript: &Transcript, text_options: TextOptions) -> String {
    render(
        transcript,
        ExportFormat::Txt,
        &ExportOptions {
            text: text_options,
            ..ExportOptions::default()
        },
    )
}

#[test]
fn default_groups_paragraphs_by_speaker_and_pause() {
    assert_eq!(
        text(&conversation(), TextOptions::default()),
        "Alice: Hello there. How are you?\n\nSpeaker 2: Fine.\n\nAlice: Good.\n\nAlice: Much later, after a pause.\n"
    );
}

#[test]
fn timestamps_open_each_paragraph() {
    let options = TextOptions {
        with_timestamps: true,
        with_speakers: false,
        paragraph_pause_s: None,
    };
    assert_eq!(
        text(&conversation(), options),
        "[00:00:00.000 --> 00:00:03.250] Hello there. How are you?\n\n\
         [00:00:03.500 --> 00:00:04.000] Fine.\n\n\
         [00:00:04.200 --> 01:02:05.500] Good. Much later, after a pause.\n"
    );
}

#[test]
fn without_speakers_the_text_runs_on_until_a_pause() {
    let mut transcript = Transcript::new();
    transcript.push_segment(segment(0.0, 1.0, "One.", None));
    transcript.push_segment(segment(1.2, 2.0, "Two.", None));
    transcript.push_segment(segment(6.0, 7.0, "Three.", None));
    assert_eq!(
        text(&transcript, TextOptions::default()),
        "One. Two.\n\nThree.\n"
    );
    let no_pause = TextOptions {
        paragraph_pause_s: None,
        ..TextOptions::default()
    };
    assert_eq!(text(&transcript, no_pause), "One. Two. Three.\n");
    assert_eq!(text(&Transcript::new(), TextOptions::default()), "");
}
