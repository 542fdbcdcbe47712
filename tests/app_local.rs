//! The real window with the real local engine (whisper.cpp, the installed tiny.en model):
//! a dropped file is transcribed into the pane, a running file is cancelled while the window
//! keeps drawing, a renamed speaker reaches the exported SRT, and a mono interview with "Label
//! speakers (by voice)" shows two speakers on the right lines.
//!
//! The model is installed by `scripts/setup`; these tests fail (not skip) without it.

mod app_support;
#[path = "common/conversation.rs"]
mod conversation;

use app_support::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verbatim::app::commands::{AppCommand, ExportDestination};
use verbatim::app::runtime::DefaultEngineFactory;
use verbatim::app::settings::Settings;
use verbatim::export::ExportFormat;
use verbatim::app::state::JobStatus;
use verbatim::engine::SpeakerMode;

/// Generous: two CPU cores may be shared with other work.
const TRANSCRIBE_TIMEOUT: Duration = Duration::from_secs(300);

/// Settings that use the installed tiny.en model, after checking it is there.
fn tiny_en_settings() -> Settings {
    let store = verbatim::models::ModelStore::from_env()
        .unwrap_or_else(|error| panic!("no model store: {error}"));
    let path = store
        .resolve("tiny.en")
        .unwrap_or_else(|error| panic!("{error} (scripts/setup installs it)"));
    assert!(path.is_file());
    let mut settings = Settings::default();
    settings.local.model = "tiny.en".into();
    settings.options.threads = verbatim::engine::default_thread_count();
    settings
}

fn real_window(settings: Settings) -> egui_kittest::Harness<'static, verbatim::app::VerbatimApp> {
    // Inference runs in `verbatim worker`; the test harness cannot be that process.
    let worker = std::path::PathBuf::from(env!("CARGO_BIN_EXE_verbatim"));
    window(
        Arc::new(DefaultEngineFactory::with_worker_exe(worker)),
        settings,
    )
}

fn status(
    harness: &egui_kittest::Harness<'static, verbatim::app::VerbatimApp>,
) -> Option<JobStatus> {
    first_status(harness)
}

#[test]
fn the_language_picker_says_when_the_model_is_english_only() {
    let note = "tiny.en is English-only";
    let mut harness = real_window(tiny_en_settings());
    harness.run_steps(3);
    assert!(shows(&harness, note), "the note is shown for tiny.en");
    let mut settings = tiny_en_settings();
    settings.local.model = "base".into();
    let mut harness = real_window(settings);
    harness.run_steps(3);
    assert!(!shows(&harness, "is English-only"), "no note for a multilingual model");
}

#[test]
fn a_dropped_recording_is_transcribed_into_the_pane() {
    let mut harness = real_window(tiny_en_settings());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    let took = run_until(
        &mut harness,
        "the JFK quote in the pane",
        TRANSCRIBE_TIMEOUT,
        // A segment ends at each pause: "ask not" is a line of its own.
        |h| shows(h, "what your country can do for you"),
    );
    run_until(&mut harness, "the job to finish", TRANSCRIBE_TIMEOUT, |h| {
        status(h) == Some(JobStatus::Done)
    });
    println!("first words after {took:?}");
    let job = &harness.state().state().jobs[0];
    assert!(
        job.transcript
            .plain_text()
            .to_lowercase()
            .contains("ask not what your country can do for you")
    );
    assert_eq!(job.transcript.language.as_deref(), Some("en"));
    assert!(
        shows(&harness, "Done in"),
        "the queue says the file is done"
    );
}

#[test]
fn cancelling_a_running_file_stops_it_and_the_window_keeps_drawing() {
    let mut harness = real_window(tiny_en_settings());
    // 44 s of speech: long enough to still be running when the cancel arrives.
    let Some(recording) = testdata("speech/two_cities.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the file to start", TRANSCRIBE_TIMEOUT, |h| {
        status(h) == Some(JobStatus::Running)
    });
    // Let the engine get going (model loaded, decoding), then cancel with the button.
    std::thread::sleep(Duration::from_millis(300));
    harness.step();
    assert_eq!(status(&harness), Some(JobStatus::Running));
    harness
        .get_all_by_label("Cancel")
        .next()
        .map(|node| node.click());
    harness.step();
    let mut slowest_frame = Duration::ZERO;
    let waited = run_until(
        &mut harness,
        "the cancel to land",
        Duration::from_secs(60),
        |h| {
            let started = Instant::now();
            h.step();
            slowest_frame = slowest_frame.max(started.elapsed());
            status(h) == Some(JobStatus::Cancelled)
        },
    );
    println!("cancelled after {waited:?}; slowest frame meanwhile {slowest_frame:?}");
    assert!(
        slowest_frame < Duration::from_millis(250),
        "the window froze for {slowest_frame:?}"
    );
    assert!(
        waited < Duration::from_secs(30),
        "cancelling took {waited:?}"
    );
    assert!(shows(&harness, "Cancelled"));
}

#[test]
fn a_renamed_speaker_is_in_the_exported_srt() {
    let mut settings = tiny_en_settings();
    settings.options.speakers = SpeakerMode::Stereo;
    let mut harness = real_window(settings);
    let Some(recording) = testdata("stereo/stereo_diarization.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(
        &mut harness,
        "the stereo file to finish",
        TRANSCRIBE_TIMEOUT,
        |h| status(h) == Some(JobStatus::Done),
    );
    harness.run_steps(2);
    let job = harness.state().state().jobs[0].clone();
    assert_eq!(
        job.transcript.speakers.len(),
        2,
        "one speaker per channel: {:?}",
        job.transcript.speakers
    );
    let left = job
        .transcript
        .speakers
        .iter()
        .find(|s| s.id == "left")
        .cloned();
    let left =
        left.unwrap_or_else(|| panic!("no left-channel speaker in {:?}", job.transcript.speakers));

    // Rename through the UI: click the speaker's label, type, confirm.
    harness
        .get_all_by_label(&left.display_name)
        .next()
        .map(|node| node.click());
    harness.run_steps(2);
    harness.get_by_label("Speaker name").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("Speaker name").type_text("Dorothy");
    harness.run_steps(1);
    harness.get_by_label("Rename").click();
    harness.run_steps(3);
    assert_eq!(
        harness.state().state().jobs[0]
            .transcript
            .speaker_name("left"),
        "Dorothy"
    );

    // Export through the same command the menu sends, to a temporary file.
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let path = dir.path().join("stereo.srt");
    let job_id = job.id;
    harness.state_mut().send(AppCommand::Export {
        job: job_id,
        kind: ExportFormat::Srt,
        destination: ExportDestination::Path(path.clone()),
    });
    run_until(
        &mut harness,
        "the export to be written",
        Duration::from_secs(30),
        |h| path.is_file() && h.state().settings().export.last.is_some(),
    );
    let srt = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read the export: {error}"));
    println!("{srt}");
    assert!(
        srt.contains("Dorothy:"),
        "the new name is in the SRT:\n{srt}"
    );
    assert!(
        !srt.contains(&format!("{}:", left.display_name)),
        "the old name is gone:\n{srt}"
    );
    assert!(
        srt.to_lowercase().contains("wizard"),
        "the left channel's words are there:\n{srt}"
    );
    verbatim::export::parse_srt(&srt)
        .unwrap_or_else(|error| panic!("the SRT does not parse: {error}"));

    // Ctrl+E writes the same file again, with later edits.
    std::fs::remove_file(&path).unwrap_or_else(|error| panic!("{error}"));
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    run_until(
        &mut harness,
        "export again",
        Duration::from_secs(30),
        |_| path.is_file(),
    );
}

#[test]
fn a_mono_interview_with_label_speakers_shows_two_speakers_on_the_right_lines() {
    if verbatim::diarize::locate_speaker_model().is_err() {
        verbatim::dev::testdata::missing("the speaker model (scripts/setup installs it)");
        return;
    }
    let Some(talk) = conversation::interview() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("interview.wav");
    talk.write_wav(&wav);
    let mut settings = tiny_en_settings();
    settings.options.speakers = SpeakerMode::Auto;
    let mut harness = real_window(settings);
    drop_files(&mut harness, &[wav]);
    run_until(&mut harness, "the interview to finish", TRANSCRIBE_TIMEOUT, |h| status(h) == Some(JobStatus::Done));
    harness.run_steps(2);
    let job = harness.state().state().jobs[0].clone();
    let names: Vec<&str> = job.transcript.speakers.iter().map(|s| s.display_name.as_str()).collect();
    assert_eq!(names, ["Speaker 1", "Speaker 2"], "{:?}", job.transcript.speakers);
    for name in names {
        assert!(count_shown(&harness, name) >= 2, "{name}: a chip in the strip and on its lines");
    }
    let speaker_of = |needle: &str| {
        job.transcript
            .segments
            .iter()
            .find(|s| s.text.to_lowercase().contains(needle))
            .and_then(|s| job.transcript.segment_speaker_name(s).map(str::to_string))
            .unwrap_or_else(|| panic!("no labelled line with '{needle}': {:?}", job.transcript.segments))
    };
    let kennedy = speaker_of("your country");
    assert_ne!(kennedy, speaker_of("worst of times"));
    assert_eq!(kennedy, speaker_of("fellow americans"));
    assert_eq!(speaker_of("incredulity"), speaker_of("worst of times"));
}
