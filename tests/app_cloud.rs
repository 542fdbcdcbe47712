//! The real window with the real cloud engines, against the faithful fake services on
//! 127.0.0.1 (`verbatim::dev::fakes`): a key typed into Settings is saved and never shown
//! again, Gradium's NDJSON segments are appended as they stream in, PolarGrid's SSE
//! hypothesis is replaced in place until the final text lands, 60db's speakers get chips,
//! and a refused key (a 401, or Gradium's 1008) or a missing one is a visible error with the
//! service's reason that says where to fix it.

mod app_support;

use app_support::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use verbatim::app::VerbatimApp;
use verbatim::app::runtime::DefaultEngineFactory;
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;
use verbatim::dev::fakes::{FakeConfig, FakeServer, JFK_PHRASES, Scenario, default_key, jfk_text};
use verbatim::engine::EngineKind;
use verbatim::engine::cloud::keys::{ApiKey, KeyStores};
use verbatim::engine::cloud::{CloudOptions, CloudService, NetworkOptions, PolarGridMode};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A fake service on its own runtime (kept alive by the returned value).
struct Fake {
    server: FakeServer,
    _runtime: tokio::runtime::Runtime,
}

fn start_fake(service: CloudService, scenario: Scenario, byte_delay: Duration) -> Fake {
    let runtime =
        tokio::runtime::Runtime::new().unwrap_or_else(|error| panic!("no runtime: {error}"));
    let mut config = FakeConfig::new(service, scenario);
    config.byte_delay = byte_delay;
    let server = runtime
        .block_on(FakeServer::start(config, 0))
        .unwrap_or_else(|error| panic!("the fake {} does not start: {error}", service.id()));
    Fake {
        server,
        _runtime: runtime,
    }
}

/// Settings that send files to `service` at `fake`, in English, with quick retries.
fn cloud_settings(service: CloudService, fake: &Fake) -> Settings {
    let mut cloud = CloudOptions {
        network: NetworkOptions {
            connect_timeout_s: 2.0,
            response_timeout_s: 20.0,
            idle_timeout_s: 10.0,
            retry_base_delay_s: 0.01,
            retry_max_delay_s: 0.05,
            poll_min_interval_s: 0.02,
            ..NetworkOptions::default()
        },
        ..CloudOptions::default()
    };
    *cloud.endpoint_mut(service) = Some(fake.server.base_url());
    let mut settings = Settings {
        engine: EngineKind::Cloud(service),
        cloud,
        ..Settings::default()
    };
    settings.options.language = Some("en".into());
    settings
}

impl Setup {
    /// The window with the real engines, keeping keys only in the setup's key file (never
    /// the keyring of the machine running the tests).
    fn window(&self) -> Harness<'static, VerbatimApp> {
        let factory = DefaultEngineFactory::default().with_key_file(self.key_file.clone());
        window(Arc::new(factory), self.settings.clone())
    }
}

fn store_key(key_file: &Path, service: CloudService, key: &str) {
    let key = ApiKey::new(key).unwrap_or_else(|error| panic!("bad test key: {error}"));
    KeyStores::file_only(key_file)
        .set(service, &key)
        .unwrap_or_else(|error| panic!("the key was not stored: {error}"));
}

fn job_status(harness: &Harness<'static, VerbatimApp>) -> Option<JobStatus> {
    first_status(harness)
}

/// A fake `service` playing `scenario`, a key file (holding `stored_key`, if any) and the
/// settings that point the window at the fake.
struct Setup {
    fake: Fake,
    key_file: std::path::PathBuf,
    settings: Settings,
    _scratch: tempfile::TempDir,
}

fn setup(
    service: CloudService,
    scenario: Scenario,
    byte_delay: Duration,
    stored_key: Option<&str>,
) -> Setup {
    let fake = start_fake(service, scenario, byte_delay);
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let key_file = scratch.path().join("keys.json");
    if let Some(key) = stored_key {
        store_key(&key_file, service, key);
    }
    let settings = cloud_settings(service, &fake);
    Setup {
        fake,
        key_file,
        settings,
        _scratch: scratch,
    }
}

/// The window once the stored key's status has arrived from the runtime, as a user sees it
/// before reaching for the options below it.
fn settled_window(setup: &Setup) -> Harness<'static, VerbatimApp> {
    let mut harness = setup.window();
    run_until(&mut harness, "the key status", TIMEOUT, |h| shows(h, "Change…"));
    harness.run_steps(2);
    harness
}

fn segment_texts(harness: &Harness<'static, VerbatimApp>) -> Vec<String> {
    harness
        .state()
        .state()
        .jobs
        .first()
        .map(|job| {
            job.transcript
                .segments
                .iter()
                .map(|s| s.text.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_key_typed_in_settings_is_saved_unseen_and_gradium_segments_are_appended_as_they_stream() {
    let setup = setup(
        CloudService::Gradium,
        Scenario::Slow,
        Duration::from_millis(4),
        None,
    );
    let mut harness = setup.window();

    // The side panel says there is no key and offers to enter one.
    run_until(&mut harness, "the key status", TIMEOUT, |h| {
        shows(h, "No key yet")
    });
    harness.get_by_label("Enter key…").click();
    run_until(&mut harness, "the key field", TIMEOUT, |h| {
        h.query_by_label("Gradium key").is_some()
    });
    harness.run_steps(2);
    assert!(
        harness.get_by_label("Gradium key").is_focused(),
        "Settings opens with the Gradium key field ready to paste"
    );
    let typed = default_key(CloudService::Gradium);
    harness.get_by_label("Gradium key").type_text(typed);
    harness.run_steps(1);
    harness.key_press(egui::Key::Enter);
    run_until(&mut harness, "the key to be saved", TIMEOUT, |h| {
        h.state().state().keys.has_key(CloudService::Gradium) == Some(true)
    });
    harness.run_steps(2);
    assert!(shows(&harness, "Saved in Verbatim's private key file"));
    let stored = std::fs::read_to_string(&setup.key_file).unwrap_or_default();
    assert!(stored.contains(typed), "the key file holds the key");
    assert_eq!(
        harness.query_all_by_label_contains(typed).count()
            + harness.query_all_by_value(typed).count(),
        0,
        "the saved key is shown nowhere"
    );
    let saved_settings = serde_json::to_string(harness.state().settings()).unwrap_or_default();
    assert!(
        !saved_settings.contains(typed),
        "the key is not in the settings"
    );

    // Drop a file: Gradium's NDJSON streams in byte by byte and each phrase is appended.
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    let mut counts_seen = Vec::new();
    run_until(&mut harness, "the Gradium transcript", TIMEOUT, |h| {
        let count = segment_texts(h).len();
        if counts_seen.last() != Some(&count) {
            counts_seen.push(count);
        }
        job_status(h) == Some(JobStatus::Done)
    });
    harness.run_steps(2);
    println!("segment counts seen frame by frame: {counts_seen:?}");
    let expected: Vec<String> = JFK_PHRASES
        .iter()
        .map(|phrase| phrase.text.to_string())
        .collect();
    assert_eq!(segment_texts(&harness), expected);
    assert!(
        counts_seen.windows(2).all(|pair| pair[0] < pair[1]),
        "segments only ever grow: {counts_seen:?}"
    );
    assert!(
        counts_seen
            .iter()
            .filter(|&&count| count > 0 && count < expected.len())
            .count()
            >= 1,
        "some frame showed part of the transcript while it streamed: {counts_seen:?}"
    );
    for phrase in &expected {
        assert!(shows(&harness, phrase), "the pane shows {phrase:?}");
    }
    let requests = setup.fake.server.requests();
    assert_eq!(requests.len(), 1, "one upload");
    assert_eq!(requests[0].header("x-api-key"), Some(typed));
}

#[test]
fn polargrid_live_text_is_replaced_in_place_until_the_final_text_lands() {
    let service = CloudService::PolarGrid;
    let mut setup = setup(
        service,
        Scenario::Slow,
        Duration::from_millis(3),
        Some(default_key(service)),
    );
    setup.settings.cloud.polargrid.mode = PolarGridMode::Stream;
    let mut harness = setup.window();

    let Some(recording) = testdata("speech/jfk.wav") else { return };

    drop_files(&mut harness, &[recording]);
    let mut live_texts: Vec<String> = Vec::new();
    let mut most_live_rows = 0;
    run_until(&mut harness, "the PolarGrid stream", TIMEOUT, |h| {
        let live: Vec<String> = h
            .query_all_by_label_contains("Live:")
            .filter_map(|node| node.accesskit_node().label().or_else(|| node.value()))
            .collect();
        most_live_rows = most_live_rows.max(live.len());
        if let Some(text) = live.first()
            && live_texts.last() != Some(text)
        {
            live_texts.push(text.clone());
        }
        job_status(h) == Some(JobStatus::Done)
    });
    harness.run_steps(2);
    println!("live texts seen: {live_texts:?}");
    assert_eq!(most_live_rows, 1, "never more than one live row");
    assert!(
        live_texts.len() >= 2,
        "the live text changed in place as deltas arrived: {live_texts:?}"
    );
    assert!(
        live_texts
            .windows(2)
            .all(|pair| pair[1].len() > pair[0].len()),
        "each delta replaced the whole hypothesis: {live_texts:?}"
    );
    assert_eq!(
        segment_texts(&harness),
        vec![jfk_text()],
        "done.text is the transcript"
    );
    assert_eq!(
        count_shown(&harness, "Live:"),
        0,
        "the final text retires the live row"
    );
    assert!(shows(&harness, &jfk_text()));
    let requests = setup.fake.server.requests();
    assert_eq!(
        requests.last().and_then(|r| r.query_value("stream")),
        Some("true")
    );
}

#[test]
fn a_polargrid_model_is_picked_from_the_known_ids_or_typed_freely() {
    let service = CloudService::PolarGrid;
    let mut setup = setup(
        service,
        Scenario::Normal,
        Duration::from_millis(1),
        Some(default_key(service)),
    );
    setup.settings.cloud.polargrid.mode = PolarGridMode::Sync;
    let mut harness = settled_window(&setup);
    run_until(&mut harness, "the PolarGrid options", TIMEOUT, |h| {
        h.query_by_label("Known PolarGrid models").is_some()
    });
    harness.get_by_label("Known PolarGrid models").click();
    harness.run_steps(2);
    harness.get_by_label("stt-1b-en_fr").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().settings().cloud.polargrid.model,
        "stt-1b-en_fr"
    );

    let Some(recording) = testdata("speech/jfk.wav") else { return };

    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the PolarGrid transcript", TIMEOUT, |h| {
        job_status(h) == Some(JobStatus::Done)
    });
    let requests = setup.fake.server.requests();
    assert_eq!(
        requests.last().and_then(|r| r.query_value("model")),
        Some("stt-1b-en_fr"),
        "the SDK's default model is served"
    );

    // Any other id can be typed in the field.
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Model")
        .type_text("an-edge-only/model-9");
    harness.run_steps(2);
    assert_eq!(
        harness.state().settings().cloud.polargrid.model,
        "an-edge-only/model-9"
    );
}

#[test]
fn sixtydb_speakers_chosen_in_the_side_panel_get_their_own_labels() {
    let service = CloudService::SixtyDb;
    let setup = setup(
        service,
        Scenario::Normal,
        Duration::from_millis(1),
        Some(default_key(service)),
    );
    let mut harness = settled_window(&setup);
    run_until(&mut harness, "the 60db options", TIMEOUT, |h| {
        h.query_by_label("Speakers").is_some()
    });
    harness.get_by_label("Speakers").click();
    harness.run_steps(2);
    assert!(harness.state().settings().cloud.sixtydb.diarize);

    let Some(recording) = testdata("speech/jfk.wav") else { return };

    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the 60db transcript", TIMEOUT, |h| {
        job_status(h) == Some(JobStatus::Done)
    });
    harness.run_steps(2);
    let requests = setup.fake.server.requests();
    assert_eq!(
        requests.last().and_then(|r| r.field("diarize")),
        Some("true")
    );
    let transcript = harness.state().state().jobs[0].transcript.clone();
    assert!(!transcript.segments.is_empty());
    assert!(
        transcript
            .segments
            .iter()
            .all(|segment| segment.speaker.is_some()),
        "every 60db segment has a speaker"
    );
    assert!(shows(&harness, "Speaker 1"), "the speaker chips are drawn");
}

/// Runs `service` with a key it refuses; checks the failure, the words on screen and that the
/// upload was not retried.
fn refused_key_is_shown(service: CloudService, expected_reason: &str, service_words: &str) {
    let setup = setup(
        service,
        Scenario::Unauthorized,
        Duration::from_millis(1),
        Some("an-old-revoked-key"),
    );
    let mut harness = setup.window();

    let Some(recording) = testdata("speech/jfk.wav") else { return };

    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the failure", TIMEOUT, |h| {
        matches!(job_status(h), Some(JobStatus::Failed { .. }))
    });
    harness.run_steps(2);
    let reason = match job_status(&harness) {
        Some(JobStatus::Failed { reason }) => reason,
        other => panic!("not failed: {other:?}"),
    };
    assert_eq!(reason, expected_reason);
    assert!(
        shows(&harness, service_words),
        "the service's reason is on screen"
    );
    assert!(shows(&harness, "Retry"), "the notification offers a retry");
    assert!(!shows(&harness, "an-old-revoked-key"));
    assert_eq!(
        setup.fake.server.requests().len(),
        1,
        "a refused key is not retried"
    );
}

#[test]
fn a_401_is_shown_with_the_services_reason_and_a_retry() {
    refused_key_is_shown(
        CloudService::PolarGrid,
        "the PolarGrid key was rejected (401: Invalid or expired token); enter a new one in Settings › Cloud services",
        "Invalid or expired token",
    );
    refused_key_is_shown(
        CloudService::SixtyDb,
        "the 60db key was rejected (401: Invalid or missing API key (UNAUTHENTICATED)); enter a new one in Settings › Cloud services",
        "Invalid or missing API key",
    );
}

#[test]
fn gradiums_refused_key_is_shown_with_its_reason_and_a_retry() {
    // Gradium refuses a key with a plain-text 500 carrying its own code 1008.
    refused_key_is_shown(
        CloudService::Gradium,
        "the Gradium key was rejected (1008: API key is revoked or expired); enter a new one in Settings › Cloud services",
        "API key is revoked or expired",
    );
}

#[test]
fn a_missing_key_fails_before_any_upload_and_says_where_to_enter_one() {
    let setup = setup(
        CloudService::LlmStats,
        Scenario::Normal,
        Duration::from_millis(1),
        None,
    );
    let mut harness = setup.window();
    let Some(recording) = testdata("speech/jfk.wav") else { return };
    drop_files(&mut harness, &[recording]);
    run_until(&mut harness, "the failure", TIMEOUT, |h| {
        matches!(job_status(h), Some(JobStatus::Failed { .. }))
    });
    harness.run_steps(2);
    assert!(shows(
        &harness,
        "no LLM Stats API key yet; enter one in Settings › Cloud services"
    ));
    assert!(
        setup.fake.server.requests().is_empty(),
        "nothing was uploaded"
    );
}
