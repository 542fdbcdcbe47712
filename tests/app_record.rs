//! Recording in the real window, with a file played as the microphone (`--input-device
//! file:PATH`, as this machine has no sound card): Record (found by its accessible name)
//! starts it, the meter moves, live text arrives in the transcript pane (a hypothesis replaced,
//! segments appended — from the fake Gradium WebSocket on 127.0.0.1), Stop turns it into an
//! ordinary file in the queue and in the session, and the WAV on disk holds exactly the
//! source's samples. A live engine that drops its connection is shown as failed while the
//! recording goes on to a complete file; without live text the file is transcribed by file
//! when the recording stops; a recording killed mid-way (SIGKILL) is offered at the next
//! start with Open and Transcribe.

mod app_support;
mod common;

use app_support::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use verbatim::app::VerbatimApp;
use verbatim::app::recording::LiveState;
use verbatim::app::runtime::{DefaultEngineFactory, EngineFactory};
use verbatim::app::session::SessionStore;
use verbatim::app::settings::Settings;
use verbatim::app::state::{Job, JobStatus};
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario, default_key};
use verbatim::engine::EngineKind;
use verbatim::engine::cloud::keys::{ApiKey, KeyStores};
use verbatim::engine::cloud::{CloudOptions, CloudService, NetworkOptions};

const TIMEOUT: Duration = Duration::from_secs(40);
const GRADIUM: CloudService = CloudService::Gradium;

/// The fake Gradium on a runtime of its own (kept alive with it).
struct Fake {
    server: FakeServer,
    _runtime: tokio::runtime::Runtime,
}

fn start_gradium(scenario: Scenario) -> Fake {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|error| panic!("no runtime: {error}"));
    let server = runtime
        .block_on(FakeServer::start(FakeConfig::new(GRADIUM, scenario), 0))
        .unwrap_or_else(|error| panic!("the fake Gradium does not start: {error}"));
    Fake { server, _runtime: runtime }
}

/// A scratch folder with a key file holding the fake's Gradium key.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let key = ApiKey::new(default_key(GRADIUM)).unwrap_or_else(|error| panic!("bad key: {error}"));
        KeyStores::file_only(dir.path().join("keys.json"))
            .set(GRADIUM, &key)
            .unwrap_or_else(|error| panic!("the key was not stored: {error}"));
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The real engines, with keys from the scratch key file only.
    fn factory(&self) -> Arc<dyn EngineFactory> {
        Arc::new(DefaultEngineFactory::default().with_key_file(self.path("keys.json")))
    }
}

/// Settings that transcribe recordings live with the fake Gradium, in English.
fn live_gradium_settings(fake: &Fake) -> Settings {
    let mut cloud = CloudOptions {
        network: NetworkOptions { connect_timeout_s: 3.0, ..NetworkOptions::default() },
        ..CloudOptions::default()
    };
    *cloud.endpoint_mut(GRADIUM) = Some(fake.server.base_url());
    let mut settings = Settings { cloud, ..Settings::default() };
    settings.options.language = Some("en".into());
    settings.recording.live = Some(EngineKind::Cloud(GRADIUM));
    settings.recording.live_options.pause_after_s = 0.3;
    settings.recording.live_options.finish_timeout_s = 5.0;
    settings
}

/// A window recording from `source` (played at `speed` × real time) into `scratch`'s
/// recordings folder, keeping its session there too.
fn recording_window(scratch: &Scratch, factory: Arc<dyn EngineFactory>, settings: Settings, source: &Path, speed: f64) -> Harness<'static, VerbatimApp> {
    let session = SessionStore::at(scratch.path("session"));
    window_with_options(verbatim::app::AppOptions {
        recordings_dir: Some(scratch.path("recordings")),
        input_device: Some(format!("file:{}", source.display())),
        input_speed: speed,
        ..test_options(factory, settings, Some(session))
    })
}

/// The job the recording made (the only one in these windows).
fn recording_job(harness: &Harness<'static, VerbatimApp>) -> Option<Job> {
    harness.state().state().jobs.first().cloned()
}

fn status_of(harness: &Harness<'static, VerbatimApp>) -> Option<JobStatus> {
    recording_job(harness).map(|job| job.status)
}

/// Presses Record (by its accessible name) and waits for the recording's job.
fn press_record(harness: &mut Harness<'static, VerbatimApp>) {
    harness.get_by_label("Record").click();
    run_until(harness, "the recording to start", TIMEOUT, |h| status_of(h) == Some(JobStatus::Recording));
}

#[test]
fn record_shows_the_meter_and_live_text_and_stop_makes_an_ordinary_file_kept_by_the_session() {
    let source = testdata("speech/jfk.wav");
    let fake = start_gradium(Scenario::Normal);
    let scratch = Scratch::new();
    let mut harness = recording_window(&scratch, scratch.factory(), live_gradium_settings(&fake), &source, 1.0);
    press_record(&mut harness);

    run_until(&mut harness, "the meter to move", TIMEOUT, |h| {
        let levels = h.state().state().recording.status.as_ref().map(|status| status.levels.clone()).unwrap_or_default();
        levels.iter().any(|level| level.peak > 0.01) && shows(h, "Input level")
    });

    // Live text: each piece is a hypothesis until it ends and is appended as a segment.
    let mut hypotheses: Vec<String> = Vec::new();
    let mut segment_counts: Vec<usize> = Vec::new();
    let mut drawn_live = false;
    run_until(&mut harness, "live hypotheses and segments", TIMEOUT, |h| {
        let Some(job) = recording_job(h) else { return false };
        if let Some(hypothesis) = job.transcript.hypothesis.as_ref().filter(|h| !h.text.is_empty())
            && hypotheses.last() != Some(&hypothesis.text)
        {
            hypotheses.push(hypothesis.text.clone());
        }
        if segment_counts.last() != Some(&job.transcript.segments.len()) {
            segment_counts.push(job.transcript.segments.len());
        }
        drawn_live |= shows(h, "Live: level");
        job.transcript.segments.len() >= 3 && hypotheses.len() >= 3
    });
    assert!(drawn_live, "the hypothesis is drawn in the pane");
    assert!(segment_counts.windows(2).all(|pair| pair[1] > pair[0]), "segments are only appended: {segment_counts:?}");
    assert!(segment_counts.len() >= 3, "segments arrived one after another: {segment_counts:?}");
    let recording = recording_job(&harness).unwrap_or_else(|| panic!("no recording job"));
    assert!(recording.transcript.segments.iter().all(|segment| segment.text.starts_with("level")));

    harness.get_by_label("Stop recording").click();
    run_until(&mut harness, "the recording to become a finished file", TIMEOUT, |h| status_of(h) == Some(JobStatus::Done));
    let finished = recording_job(&harness).unwrap_or_else(|| panic!("the recording left the queue"));
    assert!(finished.transcript.hypothesis.is_none());
    assert!(finished.transcript.segments.len() >= recording.transcript.segments.len());
    assert!(harness.state().state().recording.is_idle());
    let samples = common::strict_samples(&finished.path);
    let expected = common::strict_samples(&source);
    assert!(samples.len() >= 3 * 16_000 && samples.len() < expected.len(), "{} samples recorded", samples.len());
    assert_eq!(samples, expected[..samples.len()], "the file holds the source's first samples exactly");

    // The session keeps the recording with its transcript.
    let texts: Vec<String> = finished.transcript.segments.iter().map(|s| s.text.clone()).collect();
    eframe::App::on_exit(harness.state_mut(), None);
    drop(harness);
    let mut again = window_with_session(scratch.factory(), Settings::default(), &scratch.path("session"));
    run_until(&mut again, "the recording to come back", TIMEOUT, |h| !h.state().state().jobs.is_empty());
    let restored = &again.state().state().jobs[0];
    assert_eq!((&restored.path, &restored.status), (&finished.path, &JobStatus::Done));
    let restored_texts: Vec<String> = restored.transcript.segments.iter().map(|s| s.text.clone()).collect();
    assert_eq!(restored_texts, texts);
}

#[test]
fn a_live_engine_that_drops_its_connection_is_shown_failed_and_the_recording_goes_on_to_a_complete_file() {
    let source = testdata("speech/jfk.wav");
    let fake = start_gradium(Scenario::DropMidStream);
    let scratch = Scratch::new();
    let mut harness = recording_window(&scratch, scratch.factory(), live_gradium_settings(&fake), &source, 2.0);
    press_record(&mut harness);
    run_until(&mut harness, "live transcription to fail", TIMEOUT, |h| {
        matches!(h.state().state().recording.live, Some(LiveState::Failed { .. }))
    });
    let recorded_at_failure_s = harness.state().state().recording.status.as_ref().map_or(0.0, |status| status.recorded_s);
    run_until(&mut harness, "the failure to be shown", TIMEOUT, |h| shows(h, "Live text (Gradium") && shows(h, "The recording goes on"));
    assert_eq!(status_of(&harness), Some(JobStatus::Recording), "the recording did not stop with the live engine");

    // The file ends by itself (the source ran out): everything is on disk.
    run_until(&mut harness, "the recording to end", TIMEOUT, |h| status_of(h) == Some(JobStatus::Recorded));
    let job = recording_job(&harness).unwrap_or_else(|| panic!("no recording job"));
    assert!(job.done_s > recorded_at_failure_s + 1.0, "recorded {:.1} s, {recorded_at_failure_s:.1} s at the failure", job.done_s);
    let live_warning = |warning: &String| warning.starts_with("live transcription (Gradium") && warning.contains("stopped");
    assert!(job.warnings.iter().any(live_warning), "{:?}", job.warnings);
    assert_eq!(common::strict_samples(&job.path), common::strict_samples(&source), "the whole source is in the file");
    run_until(&mut harness, "the card to say what happened", TIMEOUT, |h| shows(h, "live text stopped early"));
}

#[test]
fn without_live_text_the_recording_is_transcribed_from_its_file_when_it_stops() {
    let source = testdata("speech/jfk.wav");
    let scratch = Scratch::new();
    let engine = ScriptedEngine::new(vec![vec![segment("Transcribed from the file.", 0.0, None)]]);
    let mut settings = Settings::default();
    settings.recording.live = None;
    let mut harness = recording_window(&scratch, Arc::new(FixedFactory(engine.clone())), settings, &source, 8.0);
    press_record(&mut harness);
    run_until(&mut harness, "the file to be transcribed", TIMEOUT, |h| status_of(h) == Some(JobStatus::Done));
    let job = recording_job(&harness).unwrap_or_else(|| panic!("no recording job"));
    assert_eq!(job.transcript.segments[0].text, "Transcribed from the file.");
    let paths = engine.paths.lock().map(|paths| paths.clone()).unwrap_or_default();
    assert_eq!(paths, vec![job.path.clone()], "the engine got the finished recording");
    assert_eq!(common::strict_samples(&job.path), common::strict_samples(&source));
}

#[test]
fn a_recording_killed_mid_way_is_offered_at_the_next_start_with_open_and_transcribe() {
    let source = testdata("speech/jfk.wav");
    let scratch = Scratch::new();
    let recordings = scratch.path("recordings");
    let mut child = std::process::Command::new(common::verbatim_exe())
        .args(["record", "--device", &format!("file:{}", source.display())])
        .env("VERBATIM_RECORDINGS_DIR", &recordings)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("verbatim record does not start: {error}"));
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap_or_else(|| panic!("no stderr")));
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap_or_else(|error| panic!("no line from verbatim record: {error}"));
    let wav = PathBuf::from(line.trim().strip_prefix("recording to ").unwrap_or_else(|| panic!("unexpected line {line:?}")));
    std::thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap_or_else(|error| panic!("cannot kill the recorder: {error}")); // SIGKILL
    let _ = child.wait();

    let engine = ScriptedEngine::new(vec![vec![segment("Recovered words.", 0.0, None)]]);
    let factory: Arc<dyn EngineFactory> = Arc::new(FixedFactory(engine.clone()));
    let window = |factory: Arc<dyn EngineFactory>| {
        window_with_options(verbatim::app::AppOptions {
            recordings_dir: Some(recordings.clone()),
            ..test_options(factory, Settings::default(), None)
        })
    };
    let mut harness = window(factory.clone());
    let name = wav.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    run_until(&mut harness, "the recovery notice", TIMEOUT, |h| shows(h, &format!("Recovered recording {name} (0:0")));
    assert!(shows(&harness, "Transcribe"), "the notice offers Transcribe");
    let repaired = common::strict_samples(&wav);
    assert!(repaired.len() >= 16_000, "the repaired file holds {} samples", repaired.len());
    assert_eq!(repaired, common::strict_samples(&source)[..repaired.len()]);

    harness.get_by_label("Open").click();
    run_until(&mut harness, "the recording in the queue", TIMEOUT, |h| {
        h.state().state().jobs.iter().any(|job| job.path == wav && job.status == JobStatus::Recorded)
            && shows(h, "not transcribed yet")
    });
    assert!(engine.runs() == 0, "Open does not transcribe");
    harness.query_all_by_label("Transcribe").next().unwrap_or_else(|| panic!("no Transcribe button")).click();
    run_until(&mut harness, "the recording transcribed", TIMEOUT, |h| {
        h.state().state().jobs.iter().any(|job| job.path == wav && job.status == JobStatus::Done)
    });
    assert_eq!(engine.paths.lock().map(|paths| paths.clone()).unwrap_or_default(), vec![wav.clone()]);
    drop(harness);

    // Repaired once, offered once.
    let mut later = window(factory);
    for _ in 0..50 {
        later.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!shows(&later, "Recovered recording"), "a repaired recording is not offered again");
}

#[test]
fn live_local_text_on_jfk_with_tiny_en_shows_drafts_and_ends_as_a_finished_file() {
    let source = testdata("speech/jfk.wav");
    if common::model("tiny.en").is_none() {
        return;
    }
    let scratch = Scratch::new();
    let mut settings = Settings::default();
    settings.local.model = "tiny.en".into();
    settings.options.language = Some("en".into());
    settings.recording.live = Some(EngineKind::Local);
    let factory: Arc<dyn EngineFactory> = Arc::new(DefaultEngineFactory::with_worker_exe(common::verbatim_exe()));
    let mut harness = recording_window(&scratch, factory, settings, &source, 1.0);
    press_record(&mut harness);
    let mut hypotheses: Vec<String> = Vec::new();
    run_until(&mut harness, "the recording to end with its live text", Duration::from_secs(120), |h| {
        if let Some(hypothesis) = recording_job(h).and_then(|job| job.transcript.hypothesis).filter(|h| !h.text.is_empty())
            && hypotheses.last() != Some(&hypothesis.text)
        {
            hypotheses.push(hypothesis.text);
        }
        status_of(h) == Some(JobStatus::Done)
    });
    let job = recording_job(&harness).unwrap_or_else(|| panic!("no recording job"));
    let text: Vec<&str> = job.transcript.segments.iter().map(|s| s.text.as_str()).collect();
    let text = text.join(" ").to_lowercase();
    assert!(!hypotheses.is_empty(), "a draft of the open phrase was shown");
    assert!(text.contains("ask not what your country can do for you"), "{text}");
    assert_eq!(common::strict_samples(&job.path), common::strict_samples(&source));
}

#[test]
fn pause_holds_the_clock_and_resume_goes_on_in_the_same_file() {
    use verbatim::record::RecorderState;
    let source = testdata("speech/jfk.wav");
    let scratch = Scratch::new();
    let mut settings = Settings::default();
    settings.recording.live = None;
    let engine = ScriptedEngine::new(vec![vec![]]);
    let mut harness = recording_window(&scratch, Arc::new(FixedFactory(engine)), settings, &source, 1.0);
    press_record(&mut harness);
    let state_of = |h: &Harness<'static, VerbatimApp>| h.state().state().recording.status.as_ref().map(|s| (s.state, s.recorded_s));
    run_until(&mut harness, "audio to arrive", TIMEOUT, |h| state_of(h).is_some_and(|(state, s)| state == RecorderState::Recording && s > 0.5));
    harness.get_by_label("Pause recording").click();
    run_until(&mut harness, "the pause", TIMEOUT, |h| state_of(h).is_some_and(|(state, _)| state == RecorderState::Paused));
    let paused_at_s = state_of(&harness).map_or(0.0, |(_, s)| s);
    for _ in 0..40 {
        harness.step();
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(state_of(&harness).map(|(_, s)| s), Some(paused_at_s), "no audio is recorded while paused");
    harness.get_by_label("Resume recording").click();
    run_until(&mut harness, "recording again", TIMEOUT, |h| state_of(h).is_some_and(|(state, s)| state == RecorderState::Recording && s > paused_at_s + 0.5));
    harness.get_by_label("Stop recording").click();
    run_until(&mut harness, "the file to be finished", TIMEOUT, |h| status_of(h) == Some(JobStatus::Done));
    let job = recording_job(&harness).unwrap_or_else(|| panic!("no recording job"));
    let samples = common::strict_samples(&job.path);
    let expected = common::strict_samples(&source);
    // The file is the source up to the pause, then the source from where it was on resume:
    // what played during the pause is not in it.
    let paused_frames = (paused_at_s * 16_000.0).round() as usize;
    assert!(samples.len() > paused_frames + 8_000);
    assert_eq!(samples[..paused_frames], expected[..paused_frames]);
    assert_ne!(samples[paused_frames..], expected[paused_frames..samples.len()], "the paused audio was left out");
}
