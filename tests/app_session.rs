//! The window never writes over the last session before it has read it: a save that ran
//! before the (slow) load came back listed only the new files, and so deleted every earlier
//! transcript.

mod app_support;
mod common;

use app_support::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use verbatim::app::session::SessionStore;
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;
use verbatim::events::{EngineEvent, Segment};
use verbatim::transcript::Transcript;

const TIMEOUT: Duration = Duration::from_secs(20);
const EARLIER_TEXT: &str = "Kept from the last run.";

/// A session on disk with one finished file (`recording`), as an earlier window left it.
fn earlier_session(dir: &Path, recording: PathBuf) {
    let mut transcript = Transcript::new();
    transcript.apply(&EngineEvent::Segment(Segment {
        revision_key: None,
        start_s: 0.0,
        end_s: 2.0,
        text: EARLIER_TEXT.into(),
        speaker: None,
        words: vec![],
        ..Default::default()
    }));
    common::save_finished_session(&SessionStore::at(dir), "earlier", recording, transcript);
}

/// A window whose session load takes `delay`, with `recording` dropped on it; it fails at once.
fn window_with_a_failed_file(
    session_dir: &Path,
    delay: Duration,
    recording: PathBuf,
) -> egui_kittest::Harness<'static, verbatim::app::VerbatimApp> {
    let engine = ScriptedEngine::new(vec![vec![Step::Fail("the service is down".into())]]);
    let mut harness = window_with_session_store(
        Arc::new(FixedFactory(engine)),
        Settings::default(),
        SessionStore::at(session_dir).delaying_load(delay),
    );
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the new file to fail", TIMEOUT, |h| {
        h.state()
            .state()
            .jobs
            .iter()
            .any(|job| matches!(job.status, JobStatus::Failed { .. }))
    });
    harness
}

fn saved_keys_and_texts(session_dir: &Path) -> Vec<(String, Vec<String>)> {
    SessionStore::at(session_dir)
        .load()
        .unwrap_or_else(|error| panic!("cannot read the session back: {error}"))
        .into_iter()
        .map(|job| {
            let texts = job
                .transcript
                .segments
                .iter()
                .map(|s| s.text.clone())
                .collect();
            (job.saved.key, texts)
        })
        .collect()
}

#[test]
fn a_file_ending_before_the_session_is_read_deletes_nothing() {
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let session_dir = scratch.path().join("session");
    let (Some(earlier), Some(recording)) = (testdata("speech/two_cities.wav"), testdata("speech/jfk.wav")) else {
        return;
    };
    earlier_session(&session_dir, earlier);
    let mut harness = window_with_a_failed_file(&session_dir, Duration::from_secs(3), recording);
    // The load is still held back; the window goes on drawing (and would save) meanwhile.
    let held = Instant::now();
    while held.elapsed() < Duration::from_millis(1500) {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        session_dir.join("earlier.json").exists(),
        "the earlier transcript was deleted before the session was read"
    );
    run_until(
        &mut harness,
        "the earlier file to come back",
        TIMEOUT,
        |h| h.state().state().jobs.len() == 2,
    );
    assert_eq!(
        harness.state().state().jobs[0].transcript.segments[0].text,
        EARLIER_TEXT
    );
    // Once read, what happened meanwhile is written beside it.
    let index = session_dir.join("session.json");
    run_until(&mut harness, "both files in the session", TIMEOUT, |_| {
        std::fs::read_to_string(&index).is_ok_and(|text| text.contains("\"failed\""))
    });
    drop(harness);
    let saved = saved_keys_and_texts(&session_dir);
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert_eq!(
        saved[0],
        ("earlier".to_string(), vec![EARLIER_TEXT.to_string()])
    );
}

#[test]
fn a_window_closed_before_the_session_is_read_keeps_both_the_earlier_and_the_new_files() {
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let session_dir = scratch.path().join("session");
    let (Some(earlier), Some(recording)) = (testdata("speech/two_cities.wav"), testdata("speech/jfk.wav")) else {
        return;
    };
    earlier_session(&session_dir, earlier);
    let mut harness = window_with_a_failed_file(&session_dir, Duration::from_secs(30), recording);
    let new_key = harness.state().state().jobs[0].session_key.clone();
    eframe::App::on_exit(harness.state_mut(), None);
    drop(harness);
    let saved = saved_keys_and_texts(&session_dir);
    let keys: Vec<&str> = saved.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["earlier", new_key.as_str()]);
    assert_eq!(saved[0].1, [EARLIER_TEXT]);
}
