//! The real window driven by a scripted engine: live hypotheses are replaced in place,
//! segments are appended, errors become notifications with a working Retry, cancel stops a
//! file, the queue runs files one at a time in order, a flood of events never blocks a frame,
//! and renames, edits and the follow-live scrolling work through the UI.

mod app_support;

use app_support::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verbatim::app::commands::AppCommand;
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;

const TIMEOUT: Duration = Duration::from_secs(20);

fn status_of(
    harness: &egui_kittest::Harness<'static, verbatim::app::VerbatimApp>,
    index: usize,
) -> Option<JobStatus> {
    harness
        .state()
        .state()
        .jobs
        .get(index)
        .map(|job| job.status.clone())
}

#[test]
fn hypothesis_is_replaced_in_place_and_segments_are_appended() {
    let engine = ScriptedEngine::new(vec![vec![
        hypothesis("ask not", 0.0),
        Step::Gate,
        hypothesis("ask not what your", 0.0),
        Step::Gate,
        segment("Ask not what your country can do for you.", 0.0, None),
        Step::Gate,
        hypothesis("ask what you", 2.0),
        Step::Gate,
        segment("Ask what you can do for your country.", 2.0, None),
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    harness.step();
    assert!(
        shows(&harness, "Drop audio or video files here"),
        "the empty window invites a drop"
    );

    let Some(recording) = testdata("speech/jfk.wav") else { return };

    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the first hypothesis", TIMEOUT, |h| {
        shows(h, "Live: ask not")
    });
    assert_eq!(count_shown(&harness, "Live:"), 1);

    engine.open_gate();
    run_until(&mut harness, "the longer hypothesis", TIMEOUT, |h| {
        shows(h, "Live: ask not what your")
    });
    assert_eq!(
        count_shown(&harness, "Live:"),
        1,
        "the hypothesis is replaced, not added"
    );

    engine.open_gate();
    run_until(&mut harness, "the first segment", TIMEOUT, |h| {
        shows(h, "Ask not what your country can do for you.")
    });
    assert_eq!(
        count_shown(&harness, "Live:"),
        0,
        "a segment retires the hypothesis"
    );

    engine.open_gate();
    run_until(&mut harness, "the second hypothesis", TIMEOUT, |h| {
        shows(h, "Live: ask what you")
    });
    assert!(
        shows(&harness, "Ask not what your country can do for you."),
        "finished segments stay"
    );

    engine.open_gate();
    run_until(&mut harness, "the job to finish", TIMEOUT, |h| {
        status_of(h, 0) == Some(JobStatus::Done)
    });
    let texts: Vec<String> = harness.state().state().jobs[0]
        .transcript
        .segments
        .iter()
        .map(|s| s.text.clone())
        .collect();
    assert_eq!(
        texts,
        [
            "Ask not what your country can do for you.",
            "Ask what you can do for your country."
        ]
    );
    assert_eq!(count_shown(&harness, "Live:"), 0);
    assert!(shows(&harness, "Ask what you can do for your country."));
}

#[test]
fn an_engine_error_is_shown_with_a_retry_that_works() {
    let engine = ScriptedEngine::new(vec![
        vec![
            segment("Kept before the failure.", 0.0, None),
            Step::Fail("the service answered 401: check the API key in Settings".into()),
        ],
        vec![segment("Second attempt worked.", 0.0, None)],
    ]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the error notification", TIMEOUT, |h| {
        shows(h, "check the API key")
    });
    assert!(
        matches!(status_of(&harness, 0), Some(JobStatus::Failed { reason }) if reason.contains("401"))
    );
    assert!(
        shows(&harness, "Kept before the failure."),
        "segments heard before the error are kept"
    );

    // The notification's Retry runs the file again.
    harness.get_by_label("Retry").click();
    run_until(&mut harness, "the retried job to finish", TIMEOUT, |h| {
        status_of(h, 0) == Some(JobStatus::Done)
    });
    assert_eq!(engine.runs(), 2);
    assert!(shows(&harness, "Second attempt worked."));
    assert!(
        !shows(&harness, "Kept before the failure."),
        "a retry starts from an empty transcript"
    );
    assert!(
        !shows(&harness, "check the API key"),
        "the failure notice goes away with the retry"
    );
}

#[test]
fn a_factory_error_fails_the_job_visibly() {
    struct Broken;
    impl verbatim::app::runtime::EngineFactory for Broken {
        fn engine_for(
            &self,
            _spec: &verbatim::app::runtime::EngineSpec,
        ) -> Result<Arc<dyn verbatim::engine::Engine>, verbatim::engine::EngineError> {
            Err(verbatim::models::ModelError::NotInstalled { name: "huge".into() }.into())
        }
    }
    let mut harness = window(Arc::new(Broken), Settings::default());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the failure notice", TIMEOUT, |h| {
        shows(h, "model 'huge' is not installed; open Models › Manage models to download it")
    });
    assert!(matches!(
        status_of(&harness, 0),
        Some(JobStatus::Failed { .. })
    ));
    assert!(harness.query_by_label("Retry").is_some());
}

#[test]
fn escape_cancels_the_running_file_and_the_window_stays_responsive() {
    let engine = ScriptedEngine::new(vec![vec![
        segment("Heard before the cancel.", 0.0, None),
        Step::WaitForCancel,
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the first segment", TIMEOUT, |h| {
        shows(h, "Heard before the cancel.")
    });
    assert_eq!(status_of(&harness, 0), Some(JobStatus::Running));

    harness.key_press(egui::Key::Escape);
    harness.step();
    let waited = run_until(&mut harness, "the cancel to land", TIMEOUT, |h| {
        status_of(h, 0) == Some(JobStatus::Cancelled)
    });
    assert!(
        waited < Duration::from_secs(2),
        "cancelling took {waited:?}"
    );
    assert!(
        shows(&harness, "Heard before the cancel."),
        "segments so far are kept"
    );

    // Frames stay fast after the cancel.
    for _ in 0..10 {
        let started = Instant::now();
        harness.step();
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "a frame took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn files_run_one_at_a_time_in_order_and_a_queued_file_can_be_cancelled() {
    let engine = ScriptedEngine::new(vec![vec![segment("one file", 0.0, None), Step::Gate]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let (Some(wav), Some(flac), Some(mp3)) =
        (testdata("speech/jfk.wav"), testdata("speech/jfk.flac"), testdata("speech/jfk.mp3"))
    else {
        return;
    };
    let files = [wav, flac, mp3];
    drop_files(&mut harness, &files);
    run_until(&mut harness, "the first file to start", TIMEOUT, |h| {
        status_of(h, 0) == Some(JobStatus::Running)
    });
    assert_eq!(status_of(&harness, 1), Some(JobStatus::Queued));
    assert_eq!(status_of(&harness, 2), Some(JobStatus::Queued));

    // Cancel the third while it waits: it never runs.
    let third = harness.state().state().jobs[2].id;
    harness.state_mut().send(AppCommand::CancelJob(third));
    run_until(
        &mut harness,
        "the queued file to be cancelled",
        TIMEOUT,
        |h| status_of(h, 2) == Some(JobStatus::Cancelled),
    );

    engine.open_gate();
    run_until(&mut harness, "the second file to start", TIMEOUT, |h| {
        status_of(h, 1) == Some(JobStatus::Running)
    });
    assert_eq!(status_of(&harness, 0), Some(JobStatus::Done));
    engine.open_gate();
    run_until(&mut harness, "the second file to finish", TIMEOUT, |h| {
        status_of(h, 1) == Some(JobStatus::Done)
    });
    std::thread::sleep(Duration::from_millis(100));
    harness.step();
    assert_eq!(engine.runs(), 2);
    let paths = engine
        .paths
        .lock()
        .map(|paths| paths.clone())
        .unwrap_or_default();
    assert_eq!(
        paths,
        files[..2].to_vec(),
        "files run in the order they were dropped"
    );
}

#[test]
fn a_flood_of_segments_is_drained_within_the_frame_budget_and_only_visible_rows_are_drawn() {
    let engine = ScriptedEngine::new(vec![vec![
        Step::Flood {
            count: 30_000,
            speaker: Some("SPEAKER_00".into()),
        },
        Step::Gate,
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    let mut slowest_while_streaming = Duration::ZERO;
    let mut frames = 0;
    run_until(
        &mut harness,
        "30 000 segments",
        Duration::from_secs(60),
        |h| {
            let started = Instant::now();
            h.step();
            slowest_while_streaming = slowest_while_streaming.max(started.elapsed());
            frames += 1;
            h.state()
                .state()
                .jobs
                .first()
                .is_some_and(|job| job.transcript.segments.len() == 30_000)
        },
    );
    // Once everything has arrived, frames are cheap again.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        harness.step();
        slowest = slowest.max(started.elapsed());
    }
    println!(
        "30 000 segments arrived over {frames} frames; slowest frame while streaming {slowest_while_streaming:?}, after {slowest:?}"
    );
    assert!(
        slowest_while_streaming < Duration::from_millis(150),
        "a frame took {slowest_while_streaming:?} while segments streamed in"
    );
    let drawn = harness.state().transcript_pane().rows_drawn;
    assert!(drawn > 5 && drawn < 100, "drew {drawn} rows of 30 000");
    assert!(
        slowest < Duration::from_millis(150),
        "a frame took {slowest:?} with 30 000 segments"
    );
    assert!(harness.state().transcript_pane().follow_live);
    assert!(
        shows(&harness, "Segment number 29999 of the flood"),
        "the newest segment is in view"
    );
    engine.open_gate();
}

#[test]
fn scrolling_up_stops_following_and_jump_to_live_resumes() {
    let engine = ScriptedEngine::new(vec![vec![
        Step::Flood {
            count: 400,
            speaker: None,
        },
        Step::Gate,
        Step::Flood {
            count: 10,
            speaker: None,
        },
        Step::Gate,
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "400 segments", TIMEOUT, |h| {
        h.state()
            .state()
            .jobs
            .first()
            .is_some_and(|job| job.transcript.segments.len() == 400)
    });
    harness.run_steps(3);
    assert!(harness.state().transcript_pane().follow_live);

    let pane_point = egui::pos2(700.0, 400.0);
    harness.hover_at(pane_point);
    for _ in 0..5 {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 400.0),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        harness.step();
    }
    harness.run_steps(10);
    assert!(
        !harness.state().transcript_pane().follow_live,
        "scrolling up stops following"
    );

    // New text arrives while the user reads above: the view stays put.
    engine.open_gate();
    run_until(&mut harness, "more segments", TIMEOUT, |h| {
        h.state().state().jobs[0].transcript.segments.len() == 410
    });
    harness.run_steps(3);
    assert!(!harness.state().transcript_pane().follow_live);
    assert!(
        !shows(
            &harness,
            "Segment number 9 of the flood, with enough words to wrap now and then on a narrow window."
        ) || shows(&harness, "Segment number 300")
    );

    harness.get_by_label("⬇ Jump to live").click();
    harness.run_steps(5);
    assert!(harness.state().transcript_pane().follow_live);
    let newest = &harness.state().state().jobs[0].transcript.segments[409]
        .text
        .clone();
    assert!(
        shows(&harness, newest),
        "the newest segment is in view after jumping"
    );
    engine.open_gate();
}

#[test]
fn a_speaker_is_renamed_from_its_label_and_a_segment_edited_in_place() {
    let engine = ScriptedEngine::new(vec![vec![
        segment(
            "He began a confused complaint against the wizard.",
            0.3,
            Some("left"),
        ),
        segment("The horizon seems extremely distant.", 0.4, Some("right")),
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    let Some(recording) = testdata("stereo/stereo_diarization.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the job to finish", TIMEOUT, |h| {
        status_of(h, 0) == Some(JobStatus::Done)
    });
    harness.run_steps(2);

    // Click the first "Speaker 1" label (the strip above the transcript, or a row).
    harness
        .get_all_by_label("Speaker 1")
        .next()
        .map(|node| node.click());
    harness.run_steps(2);
    harness.get_by_label("Speaker name").focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("Speaker name").type_text("Alice");
    harness.run_steps(1);
    harness.get_by_label("Rename").click();
    harness.run_steps(3);
    let transcript = harness.state().state().jobs[0].transcript.clone();
    assert_eq!(transcript.speaker_name("left"), "Alice");
    assert_eq!(transcript.speaker_name("right"), "Speaker 2");
    assert!(
        count_shown(&harness, "Alice") >= 2,
        "the strip and the row both show the new name"
    );
    assert_eq!(harness.query_all_by_label("Speaker 1").count(), 0);

    // Double-click a segment's text to edit it (a single click seeks the player); Enter
    // keeps the edit.
    double_click(&mut harness, "The horizon seems extremely distant.");
    let editor = harness.get_by_label("Segment text");
    editor.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Segment text")
        .type_text("The horizon seemed distant.");
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(
        harness.state().state().jobs[0].transcript.segments[1].text,
        "The horizon seemed distant."
    );
    assert!(shows(&harness, "The horizon seemed distant."));
}

#[test]
fn a_dropped_file_that_is_not_audio_is_reported_not_queued() {
    let engine = ScriptedEngine::new(vec![vec![]]);
    let mut harness = window(Arc::new(FixedFactory(engine)), Settings::default());
    let Some(readme) = testdata("README.md") else { return };
    drop_files(&mut harness, &[readme]);
    run_until(&mut harness, "the refusal", TIMEOUT, |h| {
        shows(h, "is not an audio or video file")
    });
    harness.run_steps(2);
    assert!(harness.state().state().jobs.is_empty());
    assert!(shows(&harness, "is not an audio or video file"));
}

#[test]
fn settings_survive_a_restart() {
    struct Memory(std::collections::HashMap<String, String>);
    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_string(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }
    let engine = ScriptedEngine::new(vec![vec![]]);
    let mut harness = egui_kittest::Harness::builder().build_eframe(move |cc| {
        verbatim::app::VerbatimApp::with_options(
            cc,
            verbatim::app::AppOptions {
                engine_factory: Arc::new(FixedFactory(engine)),
                session: None,
                recordings_dir: None,
                ..Default::default()
            },
        )
    });
    harness.state_mut().settings_mut().local.model = "base".into();
    // The engine is saved by its id: eframe's RON storage cannot name an enum variant "60db".
    harness.state_mut().settings_mut().engine =
        verbatim::engine::EngineKind::Cloud(verbatim::engine::cloud::CloudService::SixtyDb);
    harness.state_mut().settings_mut().cloud.sixtydb.keywords = Some("Acme:5".into());
    harness
        .state_mut()
        .settings_mut()
        .export
        .options
        .subtitles
        .max_chars_per_line = 32;
    let mut storage = Memory(Default::default());
    eframe::App::save(harness.state_mut(), &mut storage);
    let restored: Option<Settings> =
        eframe::get_value(&storage, verbatim::app::settings::SETTINGS_KEY);
    let restored = restored.unwrap_or_else(|| panic!("settings were not saved"));
    assert_eq!(restored.local.model, "base");
    assert_eq!(
        restored.engine,
        verbatim::engine::EngineKind::Cloud(verbatim::engine::cloud::CloudService::SixtyDb)
    );
    assert_eq!(restored.cloud.sixtydb.keywords.as_deref(), Some("Acme:5"));
    assert_eq!(restored.export.options.subtitles.max_chars_per_line, 32);
}

#[test]
fn two_decoders_at_once_is_a_setting_the_next_files_get() {
    let engine = ScriptedEngine::new(vec![vec![]]);
    let mut harness = window(Arc::new(FixedFactory(engine)), Settings::default());
    assert!(!harness.state().transcribe_options().parallel_decoders, "off by default: it costs memory");
    harness.state_mut().send(AppCommand::ShowSettings);
    harness.run_steps(3);
    harness.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Two decoders at once").click();
    harness.run_steps(2);
    assert!(harness.state().settings().options.parallel_decoders);
    assert!(harness.state().transcribe_options().parallel_decoders, "new files are decoded with two decoders");
}

#[test]
fn files_dragged_over_the_window_show_the_drop_overlay() {
    let engine = ScriptedEngine::new(vec![vec![]]);
    let mut harness = window(Arc::new(FixedFactory(engine)), Settings::default());
    harness.step();
    assert!(!shows(&harness, "Drop to transcribe"));
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    harness.input_mut().hovered_files.push(egui::HoveredFile {
        path: Some(recording),
        mime: String::new(),
    });
    // A new area is laid out invisibly in its first frame.
    harness.run_steps(2);
    assert!(shows(&harness, "Drop to transcribe"));
    assert!(shows(&harness, "jfk.wav"));
    harness.input_mut().hovered_files.clear();
    harness.step();
    assert!(!shows(&harness, "Drop to transcribe"));
}

#[test]
fn every_widget_has_an_accessible_name() {
    let engine = ScriptedEngine::new(vec![vec![
        segment("First words.", 0.0, Some("left")),
        segment("An answer.", 1.0, Some("right")),
        hypothesis("still talking", 2.0),
        Step::Gate,
    ]]);
    let mut harness = window(Arc::new(FixedFactory(engine.clone())), Settings::default());
    harness.step();
    harness.check_accessibility();
    let (Some(stereo), Some(jfk)) = (testdata("stereo/stereo_diarization.wav"), testdata("speech/jfk.wav")) else {
        return;
    };
    drop_files(&mut harness, &[stereo, jfk]);
    run_until(&mut harness, "the live hypothesis", TIMEOUT, |h| {
        shows(h, "Live: still talking")
    });
    harness.check_accessibility();
    // The rename dialog and the windows too.
    harness
        .get_all_by_label("Speaker 1")
        .next()
        .map(|node| node.click());
    harness.run_steps(2);
    assert!(harness.query_by_label("Speaker name").is_some());
    harness.check_accessibility();
    harness.state_mut().send(AppCommand::ShowSettings);
    harness.state_mut().send(AppCommand::ShowModelManager);
    harness.run_steps(3);
    assert!(shows(&harness, "Characters per line"));
    assert!(shows(&harness, "Import faster-whisper folder…"));
    harness.check_accessibility();
    // Every cloud service's options, and the key entry in Settings.
    for service in verbatim::engine::cloud::CloudService::ALL {
        harness.state_mut().settings_mut().engine = verbatim::engine::EngineKind::Cloud(service);
        let cloud = &mut harness.state_mut().settings_mut().cloud;
        cloud.sixtydb.diarize = true;
        cloud.sixtydb.min_speakers = Some(2);
        cloud.gradium.temp = Some(0.3);
        cloud.polargrid.temperature = Some(0.2);
        harness.run_steps(2);
        assert!(shows(&harness, &format!("{} key", service.display_name())));
        harness.check_accessibility();
        // The side panel keeps its width: its options fit it (no growth frame after frame).
        let open_button_edge =
            |h: &egui_kittest::Harness<'static, verbatim::app::VerbatimApp>| {
                h.get_by_label_contains("Open…").rect().max.x
            };
        let before = open_button_edge(&harness);
        harness.run_steps(20);
        assert_eq!(
            open_button_edge(&harness),
            before,
            "the side panel grew with {} selected",
            service.display_name()
        );
    }
    engine.open_gate();
}

#[test]
fn the_session_is_saved_as_it_changes_and_comes_back_after_a_restart() {
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let session_dir = scratch.path().join("session");
    let engine = ScriptedEngine::new(vec![
        vec![
            segment("He began a confused complaint.", 0.3, Some("left")),
            segment("The horizon seems distant.", 2.0, Some("right")),
        ],
        vec![segment("Heard before the window closed.", 0.0, None), Step::WaitForCancel],
    ]);
    let mut harness = window_with_session(
        Arc::new(FixedFactory(engine.clone())),
        Settings::default(),
        &session_dir,
    );
    let (Some(stereo), Some(jfk)) = (testdata("stereo/stereo_diarization.wav"), testdata("speech/jfk.wav")) else {
        return;
    };
    drop_files(&mut harness, &[stereo, jfk]);
    run_until(&mut harness, "the second file to run", TIMEOUT, |h| {
        status_of(h, 1) == Some(JobStatus::Running)
            && h.state().state().jobs[1].transcript.segments.len() == 1
    });
    let first = harness.state().state().jobs[0].id;
    harness.state_mut().send(AppCommand::RenameSpeaker {
        job: first,
        speaker_id: "left".into(),
        name: "Alice".into(),
    });
    // Written while the window runs (no clean exit needed): wait for the rename to land.
    let index = session_dir.join("session.json");
    run_until(&mut harness, "the session on disk", TIMEOUT, |_| {
        std::fs::read_dir(&session_dir).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                std::fs::read_to_string(entry.path()).is_ok_and(|text| text.contains("Alice"))
            })
        }) && std::fs::read_to_string(&index).is_ok_and(|text| text.contains("\"done\""))
    });
    drop(harness);

    // A new window: both files are back, the finished one with its edit, the running one as
    // interrupted with what was heard.
    let mut harness = window_with_session(
        Arc::new(FixedFactory(engine)),
        Settings::default(),
        &session_dir,
    );
    run_until(&mut harness, "the restored session", TIMEOUT, |h| {
        h.state().state().jobs.len() == 2
    });
    harness.run_steps(2);
    let jobs = harness.state().state().jobs.clone();
    assert_eq!(jobs[0].status, JobStatus::Done);
    assert_eq!(jobs[0].transcript.speaker_name("left"), "Alice");
    assert_eq!(jobs[0].transcript.segments.len(), 2);
    assert_eq!(jobs[1].status, JobStatus::Interrupted);
    assert_eq!(jobs[1].transcript.segments[0].text, "Heard before the window closed.");
    assert!(shows(&harness, "Alice"), "the restored transcript is shown");
    // Removing a file removes it from the session too.
    let removed = jobs[1].id;
    harness.state_mut().send(AppCommand::RemoveJob(removed));
    harness.step();
    eframe::App::on_exit(harness.state_mut(), None);
    drop(harness);
    let listed = std::fs::read_to_string(&index).unwrap_or_default();
    assert!(!listed.contains("jfk.wav"), "{listed}");
    let transcripts = std::fs::read_dir(&session_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.path() != index)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(transcripts, 1, "only the remaining file's transcript is kept");
}
