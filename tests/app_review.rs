//! The real window reviewing what was made before: an SRT dropped on it with its audio
//! beside it opens for review, a word fixed and a cue re-timed reach the exported SRT with
//! every other time as it was; a project saved comes back in a new window with its engine,
//! settings, position and edits; a project whose audio moved asks for it and refuses another
//! recording by its fingerprint; a damaged project is refused without losing what is open.

mod app_support;

use app_support::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use std::time::Duration;
use verbatim::app::commands::{AppCommand, ExportDestination};
use verbatim::app::messages::ProjectCommand;
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;
use verbatim::export::ExportFormat;

const WAIT: Duration = Duration::from_secs(30);

fn no_engine() -> std::sync::Arc<FixedFactory> {
    std::sync::Arc::new(FixedFactory(ScriptedEngine::new(vec![vec![
        segment("Ask not what your country can do for you.", 0.0, None),
        segment("Ask what you can do for your country.", 2.0, None),
    ]])))
}

/// Copies a shared test file into `dir` under `name`.
fn copy_to(dir: &Path, shared: &str, name: &str) -> Option<PathBuf> {
    let source = testdata(shared)?;
    let target = dir.join(name);
    std::fs::copy(&source, &target).unwrap_or_else(|error| panic!("cannot copy {shared}: {error}"));
    Some(target)
}

fn export_srt(harness: &mut egui_kittest::Harness<'static, verbatim::app::VerbatimApp>, path: &Path) -> String {
    let job = harness.state().state().selected.unwrap_or_else(|| panic!("nothing selected"));
    harness.state_mut().send(AppCommand::Export {
        job,
        kind: ExportFormat::Srt,
        destination: ExportDestination::Path(path.to_path_buf()),
    });
    run_until(harness, "the export", WAIT, |_| path.is_file());
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read the export: {error}"))
}

#[test]
fn an_srt_dropped_with_its_audio_is_fixed_retimed_and_exported_with_its_own_timings() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let Some(subtitles) = copy_to(dir.path(), "subtitles/webvtt-py/sample.srt", "sample.srt") else { return };
    let Some(audio) = copy_to(dir.path(), "speech/jfk.wav", "sample.wav") else { return };
    // The sample is not strict SRT (no newline at its end): read it as the window does.
    let original: Vec<verbatim::export::Cue> = verbatim::export::import::read_subtitles(&std::fs::read(&subtitles).unwrap_or_default(), None)
        .unwrap_or_else(|error| panic!("the sample does not read: {error}"))
        .0;
    let mut harness = window(no_engine(), Settings::default());
    drop_files(&mut harness, std::slice::from_ref(&subtitles));
    run_until(&mut harness, "the subtitles to open", WAIT, |h| {
        h.state().state().jobs.first().is_some_and(|job| job.transcript.segments.len() == original.len())
    });
    let job = harness.state().state().jobs[0].clone();
    assert_eq!(job.path, audio, "the audio beside the subtitles is attached");
    assert_eq!(job.status, JobStatus::Done, "nothing is transcribed");
    assert!(shows(&harness, "Caption text #2"));

    // Fix a word through the row menu's "Edit text".
    harness.get_by_label("Caption text #2").click_secondary();
    harness.run_steps(2);
    harness.get_by_label("Edit text").click();
    harness.run_steps(2);
    harness.get_by_label("Segment text").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("Segment text").type_text("Caption fixed #2");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(harness.state().state().jobs[0].transcript.segments[1].text, "Caption fixed #2");

    // Re-time the third cue: its start a tenth of a second later, from its row menu.
    harness.get_by_label("Caption text #3").click_secondary();
    harness.run_steps(2);
    let later = harness.get_all_by_label("+0.1 s").next().unwrap_or_else(|| panic!("no +0.1 s button"));
    later.click();
    harness.run_steps(2);

    let srt = export_srt(&mut harness, &dir.path().join("fixed.srt"));
    let exported = verbatim::export::parse_srt(&srt).unwrap_or_else(|error| panic!("{error}\n{srt}"));
    assert_eq!(exported.len(), original.len(), "one cue per cue read:\n{srt}");
    assert_eq!(exported[1].text(), "Caption fixed #2");
    for (index, (out, read)) in exported.iter().zip(&original).enumerate() {
        let expected_start_s = if index == 2 { read.start_s + 0.1 } else { read.start_s };
        assert!((out.start_s - expected_start_s).abs() < 0.0005, "cue {index} starts at {}:\n{srt}", out.start_s);
        assert!((out.end_s - read.end_s).abs() < 0.0005, "cue {index} ends at {}:\n{srt}", out.end_s);
        if index != 1 {
            assert_eq!(out.text(), read.text());
        }
    }
}

#[test]
fn cue_rules_broken_by_an_imported_cue_are_flagged_in_the_pane() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let subtitles = dir.path().join("fast.srt");
    let long = "This cue says far too much for the short time it is given on the screen, really";
    std::fs::write(&subtitles, format!("1\n00:00:01,000 --> 00:00:02,000\n{long}\n\n2\n00:00:03,000 --> 00:00:05,000\nCalm.\n"))
        .unwrap_or_default();
    let mut harness = window(no_engine(), Settings::default());
    harness.state_mut().send(AppCommand::Project(ProjectCommand::OpenSubtitles { subtitles, audio: None }));
    run_until(&mut harness, "the subtitles to open", WAIT, |h| !h.state().state().jobs.is_empty());
    run_until(&mut harness, "the cues and their warnings to be drawn", WAIT, |h| {
        shows(h, "Calm.") && shows(h, "Subtitle rules broken here")
    });
    assert_eq!(count_shown(&harness, "Subtitle rules broken here"), 1, "only the fast cue is flagged");
    assert!(shows(&harness, "Subtitle rules broken here: 78 characters a second (at most 20)"));
    assert!(harness.state().state().jobs[0].project.audio_missing, "no audio was found or chosen");
}

/// A window that transcribed `audio` (scripted) with `settings`, its first segment edited.
fn transcribed_and_edited(audio: &Path, settings: Settings) -> egui_kittest::Harness<'static, verbatim::app::VerbatimApp> {
    let mut harness = window(no_engine(), settings);
    drop_files(&mut harness, &[audio.to_path_buf()]);
    run_until(&mut harness, "the transcript", WAIT, |h| first_status(h) == Some(JobStatus::Done));
    let job = harness.state().state().jobs[0].id;
    let segment = harness.state().state().jobs[0].transcript.id_at(0).expect("a first segment");
    harness.state_mut().send(AppCommand::EditSegmentText {
        job,
        segment,
        text: "Ask not what Verbatim can do for you.".into(),
    });
    harness.run_steps(2);
    harness
}

fn save_project_to(harness: &mut egui_kittest::Harness<'static, verbatim::app::VerbatimApp>, path: &Path) {
    let job = harness.state().state().jobs[0].id;
    let destination = ExportDestination::Path(path.to_path_buf());
    harness.state_mut().send(AppCommand::Project(ProjectCommand::Save { job, destination }));
    run_until(harness, "the project to be saved", WAIT, |h| {
        h.state().state().jobs[0].project.path.as_deref() == Some(path)
    });
}

#[test]
fn a_saved_project_comes_back_with_its_engine_settings_position_and_edits() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let Some(audio) = copy_to(dir.path(), "speech/jfk.wav", "jfk.wav") else { return };
    let mut settings = Settings::default();
    settings.local.model = "base".into();
    settings.options.language = Some("en".into());
    let mut first = transcribed_and_edited(&audio, settings);
    let project = dir.path().join("jfk.verbatim.json");
    save_project_to(&mut first, &project);
    assert_eq!(first.state().settings().recent_projects.first(), Some(&project));
    let engine = first.state().state().jobs[0].engine_name.clone();
    assert!(engine.is_some());
    drop(first);

    // The player stopped at 3.25 s (the player writes this field; here the file says so).
    let text = std::fs::read_to_string(&project).unwrap_or_default();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}"));
    value["playback_position_s"] = serde_json::json!(3.25);
    std::fs::write(&project, value.to_string()).unwrap_or_default();

    // A new window, opened as `verbatim open jfk.verbatim.json` opens it.
    let options = test_options(no_engine(), Settings::default(), None);
    let mut second = window_with_options(verbatim::app::AppOptions { files: vec![project.clone()], ..options });
    run_until(&mut second, "the project to open", WAIT, |h| !h.state().state().jobs.is_empty());
    let job = second.state().state().jobs[0].clone();
    assert_eq!(job.status, JobStatus::Done, "a project is not transcribed again");
    assert_eq!(job.path, audio);
    assert_eq!(job.transcript.segments[0].text, "Ask not what Verbatim can do for you.");
    assert_eq!(job.engine_name, engine);
    assert_eq!(job.playback_position_s, 3.25);
    let saved = job.project.settings.clone().unwrap_or_default();
    assert_eq!((saved.engine_id.as_str(), saved.local.model.as_str()), ("local", "base"));
    assert_eq!(saved.options.language.as_deref(), Some("en"));
    assert!(shows(&second, "Ask not what Verbatim can do for you."));

    // Another edit, and Ctrl+S writes it to the same project without asking.
    let segment = job.transcript.id_at(1).expect("a second segment");
    second.state_mut().send(AppCommand::EditSegmentText { job: job.id, segment, text: "Ask again.".into() });
    second.run_steps(2);
    second.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    run_until(&mut second, "Ctrl+S to save", WAIT, |_| {
        std::fs::read_to_string(&project).is_ok_and(|text| text.contains("Ask again."))
    });
    let reloaded = verbatim::app::project::load_project(&project).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reloaded.file.playback_position_s, 3.25);
    assert_eq!(reloaded.transcript.segments[0].text, "Ask not what Verbatim can do for you.");
}

#[test]
fn a_moved_audio_is_asked_for_and_another_recording_is_refused_by_its_fingerprint() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let Some(audio) = copy_to(dir.path(), "speech/jfk.wav", "jfk.wav") else { return };
    let Some(other) = copy_to(dir.path(), "speech/two_cities.wav", "other.wav") else { return };
    let mut first = transcribed_and_edited(&audio, Settings::default());
    let project = dir.path().join("jfk.verbatim.json");
    save_project_to(&mut first, &project);
    drop(first);
    let moved_dir = dir.path().join("moved");
    std::fs::create_dir_all(&moved_dir).unwrap_or_default();
    let moved = moved_dir.join("jfk.wav");
    std::fs::rename(&audio, &moved).unwrap_or_else(|error| panic!("{error}"));

    let mut harness = window(no_engine(), Settings::default());
    let open = |project: &Path| AppCommand::Project(ProjectCommand::Open(project.to_path_buf()));
    harness.state_mut().send(open(&project));
    run_until(&mut harness, "the missing audio to be asked for", WAIT, |h| shows(h, "is no longer at"));
    assert!(harness.state().state().jobs.is_empty());

    // Another recording is refused; the project is not opened against it.
    let relocate = |audio: &Path| AppCommand::Project(ProjectCommand::Relocate { project: project.clone(), audio: Some(audio.to_path_buf()) });
    harness.state_mut().send(relocate(&other));
    run_until(&mut harness, "the wrong audio to be refused", WAIT, |h| shows(h, "is not the recording"));
    assert!(harness.state().state().jobs.is_empty());

    // The right one, where it went, opens it; the notices go.
    harness.state_mut().send(relocate(&moved));
    run_until(&mut harness, "the project to open", WAIT, |h| !h.state().state().jobs.is_empty());
    harness.run_steps(2);
    assert_eq!(harness.state().state().jobs[0].path, moved);
    assert!(!shows(&harness, "is not the recording") && !shows(&harness, "is no longer at"));

    // A damaged project: one line saying so, and what is open stays open.
    let damaged = dir.path().join("damaged.verbatim.json");
    std::fs::write(&damaged, "{\"format\": \"verbatim-project\", \"version\": 1, \"audio\"").unwrap_or_default();
    harness.state_mut().send(open(&damaged));
    run_until(&mut harness, "the damaged project to be refused", WAIT, |h| shows(h, "is damaged"));
    assert_eq!(harness.state().state().jobs.len(), 1);

    // Without the audio at all: the text only, when the user says so.
    std::fs::remove_file(&moved).unwrap_or_default();
    let opened = harness.state().state().jobs[0].id;
    harness.state_mut().send(AppCommand::RemoveJob(opened));
    harness.run_steps(2);
    harness.state_mut().send(open(&project));
    run_until(&mut harness, "the missing audio to be asked for again", WAIT, |h| shows(h, "Open text only"));
    harness.get_by_label("Open text only").click_accesskit();
    run_until(&mut harness, "the text to open", WAIT, |h| {
        !h.state().state().jobs.is_empty()
    });
    assert!(harness.state().state().jobs[0].project.audio_missing);
}
