//! Reviewing and editing a finished transcript in the real window: an edit, a split and a
//! merge reach the exported SRT; replace-all changes every occurrence, reports the count and
//! is undone in one step; a speaker is changed from the row menu; selected rows are copied as
//! a quote with timecode; F8 moves to the next uncertain word, asks the player to play it,
//! and accepting it is saved in the JSON.

mod app_support;

use app_support::*;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use std::time::Duration;
use verbatim::app::VerbatimApp;
use verbatim::app::commands::{AppCommand, ExportDestination};
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;
use verbatim::events::{EngineEvent, Segment, Word};
use verbatim::export::ExportFormat;

const TIMEOUT: Duration = Duration::from_secs(20);

/// A segment with a word every half second from `start_s`; the words at `unsure` have
/// probability 0.2, the others 0.95.
fn timed(text: &str, start_s: f64, speaker: &str, unsure: &[usize]) -> Step {
    let words: Vec<Word> = text
        .split_whitespace()
        .enumerate()
        .map(|(i, word)| Word {
            text: word.into(),
            start_s: start_s + i as f64 * 0.5,
            end_s: start_s + i as f64 * 0.5 + 0.4,
            probability: Some(if unsure.contains(&i) { 0.2 } else { 0.95 }),
        })
        .collect();
    Step::Emit(EngineEvent::Segment(Segment {
        revision_key: None,
        start_s,
        end_s: start_s + words.len() as f64 * 0.5,
        text: text.into(),
        speaker: Some(speaker.into()),
        words,
        ..Default::default()
    }))
}

/// The window with a finished file of three segments (two speakers; "jon" three times; two
/// uncertain words).
fn finished_window() -> Option<Harness<'static, VerbatimApp>> {
    let engine = ScriptedEngine::new(vec![vec![
        timed("Hello jon how are you", 1.0, "left", &[3]),
        timed("Jon is fine thanks", 751.4, "right", &[]),
        timed("Then jon left early today", 760.0, "left", &[4]),
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine)), Settings::default());
    let recording = testdata("stereo/stereo_diarization.wav")?;
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the job to finish", TIMEOUT, |h| {
        h.state().state().jobs.first().map(|job| job.status.clone()) == Some(JobStatus::Done)
    });
    harness.run_steps(3);
    Some(harness)
}

fn texts(harness: &Harness<'static, VerbatimApp>) -> Vec<String> {
    harness.state().state().jobs[0].transcript.segments.iter().map(|s| s.text.clone()).collect()
}

/// Exports the first file as `kind` into a temporary folder and returns the file's text.
fn export(harness: &mut Harness<'static, VerbatimApp>, kind: ExportFormat, dir: &std::path::Path) -> String {
    let path = dir.join(format!("out.{}", kind.extension()));
    let _ = std::fs::remove_file(&path);
    let job = harness.state().state().jobs[0].id;
    harness.state_mut().send(AppCommand::Export { job, kind, destination: ExportDestination::Path(path.clone()) });
    run_until(harness, "the export", TIMEOUT, |_| path.exists());
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Right-clicks the row showing `text` and clicks `entry` in its menu.
fn row_menu(harness: &mut Harness<'static, VerbatimApp>, text: &str, entry: &str) {
    harness.get_by_label(text).click_secondary();
    harness.run_steps(2);
    harness.get_by_label(entry).click();
    harness.run_steps(3);
}

/// Presses `key` with `modifiers` in one frame (kittest's own key presses take a frame per
/// event, and keep only the last frame's output) and returns what that frame copied.
fn press_and_read_clipboard(harness: &mut Harness<'static, VerbatimApp>, modifiers: egui::Modifiers, key: egui::Key) -> Vec<String> {
    harness.input_mut().events.push(egui::Event::Key { key, physical_key: None, pressed: true, repeat: false, modifiers });
    harness.step();
    let clipboard = copied(harness);
    harness.input_mut().events.push(egui::Event::Key { key, physical_key: None, pressed: false, repeat: false, modifiers });
    harness.run_steps(2);
    clipboard
}

/// Every text the window put on the clipboard in the last frame.
fn copied(harness: &Harness<'static, VerbatimApp>) -> Vec<String> {
    harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|command| match command {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_edit_a_split_and_a_merge_reach_the_exported_srt_and_undo_restores() {
    let Some(mut harness) = finished_window() else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let before = harness.state().state().jobs[0].transcript.segments[1].clone();

    row_menu(&mut harness, "Jon is fine thanks", "Edit text");
    harness.get_by_label("Segment text").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("Segment text").type_text("Jon is very fine thanks");
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    let edited = harness.state().state().jobs[0].transcript.segments[1].clone();
    assert_eq!(edited.text, "Jon is very fine thanks");
    // The words that did not change keep their times; the new one sits between "is" and "fine".
    assert_eq!(edited.words[0], before.words[0]);
    assert_eq!(edited.words[3], Word { text: "fine".into(), ..before.words[2].clone() });
    assert!(edited.words[2].start_s >= before.words[1].end_s && edited.words[2].end_s <= before.words[2].start_s);
    let srt = export(&mut harness, ExportFormat::Srt, dir.path());
    assert!(srt.contains("Jon is very fine thanks"), "{srt}");

    // Split the first row where it is right-clicked (the middle of its text), then merge back.
    row_menu(&mut harness, "Hello jon how are you", "Split here");
    assert_eq!(texts(&harness).len(), 4, "{:?}", texts(&harness));
    let halves = texts(&harness)[..2].join(" ");
    assert_eq!(halves, "Hello jon how are you");
    assert_eq!(texts(&harness)[..2], ["Hello jon", "how are you"], "split between words");
    let json = export(&mut harness, ExportFormat::Json, dir.path());
    assert!(json.contains("\"text\": \"Hello jon\"") && json.contains("\"text\": \"how are you\""), "{json}");
    // The subtitle cue builder joins the halves again (same speaker, no pause), with the times
    // of the words.
    let srt = export(&mut harness, ExportFormat::Srt, dir.path());
    assert!(srt.contains("00:00:01,000 --> 00:00:03,400"), "{srt}");
    let first_half = texts(&harness)[0].clone();
    row_menu(&mut harness, &first_half, "Merge with next");
    assert_eq!(texts(&harness)[0], "Hello jon how are you");
    assert_eq!(texts(&harness).len(), 3);

    // Undo the merge, the split and the edit; redo the edit.
    for _ in 0..3 {
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
        harness.run_steps(2);
    }
    assert_eq!(texts(&harness), ["Hello jon how are you", "Jon is fine thanks", "Then jon left early today"]);
    assert_eq!(harness.state().state().jobs[0].transcript.segments[1], before);
    harness.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(texts(&harness)[1], "Jon is very fine thanks");
    let vtt = export(&mut harness, ExportFormat::Vtt, dir.path());
    assert!(vtt.contains("Jon is very fine thanks"), "{vtt}");

    // Alt+Enter in the editor keeps the text and splits at the cursor.
    row_menu(&mut harness, "Then jon left early today", "Edit text");
    harness.get_by_label("Segment text").focus();
    harness.key_press(egui::Key::End);
    for _ in 0.."today".len() {
        harness.key_press(egui::Key::ArrowLeft);
    }
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(texts(&harness)[2..], ["Then jon left early", "today"]);
}

#[test]
fn replace_all_changes_every_occurrence_reports_the_count_and_undoes_in_one_step() {
    let Some(mut harness) = finished_window() else { return };
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::H);
    harness.run_steps(2);
    harness.get_by_label("Find").focus();
    harness.run_steps(1);
    harness.get_by_label("Find").type_text("jon");
    harness.run_steps(2);
    assert!(shows(&harness, "1 of 3"), "the bar counts the matches");
    harness.get_by_label("Whole word").click();
    harness.get_by_label("Aa").click();
    harness.run_steps(2);
    assert!(shows(&harness, "1 of 2"), "matching case leaves the lower-case two");
    harness.get_by_label("Aa").click();
    harness.run_steps(2);
    harness.get_by_label("Replace with").focus();
    harness.run_steps(1);
    harness.get_by_label("Replace with").type_text("John");
    harness.run_steps(1);
    harness.get_by_label("Replace all").click();
    harness.run_steps(3);
    assert_eq!(texts(&harness), ["Hello John how are you", "John is fine thanks", "Then John left early today"]);
    assert!(shows(&harness, "Replaced 3 matches"), "the count is reported");
    assert!(shows(&harness, "no matches"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let txt = export(&mut harness, ExportFormat::Txt, dir.path());
    assert_eq!(txt.matches("John").count(), 3, "{txt}");
    assert!(!txt.contains("jon") && !txt.contains("Jon "), "{txt}");

    // One undo (Edit ▸ Undo: the keyboard is in the replace field) takes back all three.
    harness.get_by_label("Edit").click();
    harness.run_steps(2);
    harness.get_by_label("Undo Ctrl+Z").click();
    harness.run_steps(3);
    assert_eq!(texts(&harness), ["Hello jon how are you", "Jon is fine thanks", "Then jon left early today"]);
}

#[test]
fn a_speaker_is_changed_from_the_row_menu_and_undone_with_ctrl_z() {
    let Some(mut harness) = finished_window() else { return };
    harness.get_by_label("Jon is fine thanks").click_secondary();
    harness.run_steps(2);
    harness.get_by_label("Assign to speaker").click();
    harness.run_steps(3);
    harness.get_by_label("New speaker").click();
    harness.run_steps(3);
    let transcript = harness.state().state().jobs[0].transcript.clone();
    assert_eq!(transcript.segment_speaker_name(&transcript.segments[1]), Some("Speaker 3"));
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    let transcript = harness.state().state().jobs[0].transcript.clone();
    assert_eq!(transcript.segment_speaker_name(&transcript.segments[1]), Some("Speaker 2"));
}

#[test]
fn selected_rows_are_copied_as_a_quote_with_timecode_and_speaker() {
    let Some(mut harness) = finished_window() else { return };
    harness.get_by_label("Jon is fine thanks").click_modifiers(egui::Modifiers::COMMAND);
    harness.run_steps(2);
    harness.get_by_label("Then jon left early today").click_modifiers(egui::Modifiers::SHIFT);
    harness.run_steps(2);
    let clipboard = press_and_read_clipboard(&mut harness, egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::C);
    assert_eq!(
        clipboard,
        ["[00:12:31] Speaker 2: Jon is fine thanks\n[00:12:40] Speaker 1: Then jon left early today"]
    );
    assert!(shows(&harness, "Quote of 2 segments copied"));

    // The format comes from Settings.
    harness.state_mut().settings_mut().export.quote_template = "{speaker} at {time}: “{text}”".into();
    let job = harness.state().state().jobs[0].id;
    harness.state_mut().send(AppCommand::Edit(job, verbatim::app::messages::TranscriptEdit::CopyQuote(None)));
    let mut clipboard = Vec::new();
    for _ in 0..3 {
        harness.step();
        clipboard.extend(copied(&harness));
    }
    assert_eq!(clipboard[0].lines().next(), Some("Speaker 2 at 00:12:31: “Jon is fine thanks”"));
}

#[test]
fn f8_moves_to_the_next_uncertain_word_asks_to_play_it_and_accepting_is_saved() {
    let Some(mut harness) = finished_window() else { return };
    harness.key_press(egui::Key::F8);
    harness.run_steps(3);
    // "are" (word 3 of the first segment) starts at 1.0 + 3 × 0.5: the player went there.
    let position_s = harness.state().player().position_s();
    assert!((2.5..2.8).contains(&position_s), "the player is at {position_s} s");
    assert_eq!(harness.state().state().seek_request, None, "the player took the request");
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.run_steps(3);
    // Accepting moves on to the next one: "today" of the third segment.
    let position_s = harness.state().player().position_s();
    assert!((762.0..762.3).contains(&position_s), "the player is at {position_s} s");
    let transcript = harness.state().state().jobs[0].transcript.clone();
    assert!(!transcript.is_uncertain(0, 3));
    assert!(transcript.is_uncertain(2, 4));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let json = export(&mut harness, ExportFormat::Json, dir.path());
    assert_eq!(json.matches("\"reviewed\": true").count(), 1, "{json}");
    let loaded = verbatim::export::json::transcript_from_json(&json).expect("the JSON loads back");
    assert!(!loaded.is_uncertain(0, 3) && loaded.is_uncertain(2, 4));
}

#[test]
fn edits_reach_the_autosaved_session_and_come_back_after_a_restart() {
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let session_dir = scratch.path().join("session");
    let script = vec![timed("Hello jon how are you", 1.0, "left", &[3]), timed("Jon is fine thanks", 751.4, "right", &[])];
    let engine = ScriptedEngine::new(vec![script]);
    let mut harness = window_with_session(Arc::new(FixedFactory(engine.clone())), Settings::default(), &session_dir);
    let Some(recording) = testdata("stereo/stereo_diarization.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the job to finish", TIMEOUT, |h| {
        h.state().state().jobs.first().map(|job| job.status.clone()) == Some(JobStatus::Done)
    });
    let job = harness.state().state().jobs[0].id;
    let first = harness.state().state().jobs[0].transcript.id_at(0).expect("an id");
    use verbatim::app::messages::TranscriptEdit;
    use verbatim::transcript::search::SearchOptions;
    let options = SearchOptions { case_sensitive: false, whole_word: true };
    for edit in [
        TranscriptEdit::Split { segment: first, at_char: "Hello jon ".len() },
        TranscriptEdit::ReplaceAll { query: "jon".into(), replacement: "John".into(), options },
        TranscriptEdit::AcceptWord((1, 1)),
    ] {
        harness.state_mut().send(AppCommand::Edit(job, edit));
        harness.run_steps(2);
    }
    assert_eq!(texts(&harness), ["Hello John", "how are you", "John is fine thanks"]);
    assert!(!harness.state().state().jobs[0].transcript.is_uncertain(1, 1), "\"are\" was accepted");
    // Written while the window runs (no clean exit): wait for the last edit to land on disk.
    run_until(&mut harness, "the session on disk", TIMEOUT, |_| {
        std::fs::read_dir(&session_dir).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                std::fs::read_to_string(entry.path()).is_ok_and(|text| text.contains("\"reviewed\": true"))
            })
        })
    });
    drop(harness);

    let mut harness = window_with_session(Arc::new(FixedFactory(engine)), Settings::default(), &session_dir);
    run_until(&mut harness, "the restored session", TIMEOUT, |h| !h.state().state().jobs.is_empty());
    harness.run_steps(2);
    assert_eq!(texts(&harness), ["Hello John", "how are you", "John is fine thanks"]);
    let transcript = &harness.state().state().jobs[0].transcript;
    assert!(!transcript.is_uncertain(1, 1));
}
