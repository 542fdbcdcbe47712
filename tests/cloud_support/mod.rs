//! Shared helpers for the cloud engine tests: test data paths, fast network settings, fake
//! servers and engines pointed at them, running an engine to collect its events and the
//! transcript they build, and the checks every service's tests make the same way.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use verbatim::audio::AudioError;
use verbatim::dev::fakes::{FakeConfig, FakeServer, JFK_PHRASES, Scenario};
use verbatim::engine::cloud::upload::{PassThroughOnly, Transcoder};
use verbatim::engine::cloud::{
    ApiKey, CloudOptions, CloudService, NetworkOptions, build_engine_with_transcoder,
};
use verbatim::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions, run_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;

#[path = "../common/mod.rs"]
mod common;

/// A file from `shared/testdata`; `None` (and the test says it skipped) only outside CI.
pub use common::testdata;

/// Short timeouts and retry delays so failure scenarios run in milliseconds.
pub fn fast_network() -> NetworkOptions {
    NetworkOptions {
        connect_timeout_s: 2.0,
        response_timeout_s: 10.0,
        idle_timeout_s: 3.0,
        max_response_bytes: 256 * 1024,
        max_attempts: 4,
        retry_base_delay_s: 0.01,
        retry_max_delay_s: 0.05,
        max_retry_after_s: 5.0,
        concurrency_wait_s: 0.05,
        poll_min_interval_s: 0.02,
        max_job_wait_s: 10.0,
    }
}

pub fn key(text: &str) -> ApiKey {
    ApiKey::new(text).expect("valid test key")
}

/// Cloud options with [`fast_network`] and everything else default.
pub fn fast_options() -> CloudOptions {
    CloudOptions {
        network: fast_network(),
        ..CloudOptions::default()
    }
}

/// Transcription options asking for English.
pub fn english() -> TranscribeOptions {
    TranscribeOptions {
        language: Some("en".into()),
        ..TranscribeOptions::default()
    }
}

/// A fake `service` server playing `scenario`, stalling for 20 s and sending 2 MiB where the
/// scenario asks for it.
pub async fn start_fake(service: CloudService, scenario: Scenario) -> FakeServer {
    let mut config = FakeConfig::new(service, scenario);
    config.stall = Duration::from_secs(20);
    config.oversized_bytes = 2 * 1024 * 1024;
    FakeServer::start(config, 0)
        .await
        .expect("fake server starts")
}

/// `options` with `service`'s endpoint set to `url`.
pub fn with_endpoint(
    service: CloudService,
    mut options: CloudOptions,
    url: String,
) -> CloudOptions {
    let endpoint = Some(url);
    match service {
        CloudService::Gradium => options.gradium.endpoint = endpoint,
        CloudService::PolarGrid => options.polargrid.endpoint = endpoint,
        CloudService::LlmStats => options.llmstats.endpoint = endpoint,
        CloudService::SixtyDb => options.sixtydb.endpoint = endpoint,
    }
    options
}

/// `service`'s engine with `options` aimed at `server`, holding `key_text`.
pub fn engine_on_with_key(
    service: CloudService,
    server: &FakeServer,
    options: CloudOptions,
    key_text: &str,
    transcoder: Arc<dyn Transcoder>,
) -> Box<dyn Engine> {
    let options = with_endpoint(service, options, server.base_url());
    build_engine_with_transcoder(service, &options, key(key_text), transcoder)
        .expect("engine builds")
}

/// `service`'s engine with `options` aimed at `server`, holding the server's key.
pub fn engine_on(
    service: CloudService,
    server: &FakeServer,
    options: CloudOptions,
    transcoder: Arc<dyn Transcoder>,
) -> Box<dyn Engine> {
    engine_on_with_key(service, server, options, server.key(), transcoder)
}

/// The message with which `service`'s engine refuses to be built from `options`.
pub fn build_error(service: CloudService, options: &CloudOptions) -> String {
    build_engine_with_transcoder(service, options, key("k"), Arc::new(PassThroughOnly))
        .err()
        .expect("the engine is refused")
        .to_string()
}

/// Asserts the run's segments are the JFK phrases with the fake's times.
pub fn assert_jfk_phrases(run: &Run) {
    let expected: Vec<&str> = JFK_PHRASES.iter().map(|phrase| phrase.text).collect();
    assert_eq!(run.texts(), expected);
    for (segment, phrase) in run.transcript.segments.iter().zip(&JFK_PHRASES) {
        assert_eq!(
            (segment.start_s, segment.end_s),
            (phrase.start_s, phrase.end_s)
        );
    }
}

/// For each (scenario, message): a fresh fake `service` playing it refuses the file with
/// exactly that message, after one request, and the key is never shown.
pub async fn assert_refusals_not_retried(
    service: CloudService,
    cases: &[(Scenario, &str)],
    engine_for: &dyn Fn(&FakeServer) -> Box<dyn Engine>,
    path: &Path,
) {
    for (scenario, expected) in cases {
        let server = start_fake(service, *scenario).await;
        let engine = engine_for(&server);
        let run = run(engine.as_ref(), path, &english()).await;
        assert_eq!(run.error(), *expected);
        assert_eq!(server.requests().len(), 1);
        assert_key_never_shown(&run, server.key());
    }
}

/// Runs an engine and cancels it after `delay`.
pub async fn run_cancelled_after(
    engine: &dyn Engine,
    path: &Path,
    options: &TranscribeOptions,
    delay: Duration,
) -> Run {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        trigger.cancel();
    });
    run_with_cancel(engine, path, options, cancel).await
}

/// What one run produced.
pub struct Run {
    pub events: Vec<EngineEvent>,
    pub transcript: Transcript,
    pub result: Result<EngineOutcome, EngineError>,
    pub elapsed: std::time::Duration,
}

/// How the warning that a key goes to an address other than its service's own begins; every
/// run against a fake server on 127.0.0.1 starts with one.
pub const KEY_NOTICE_START: &str = "sending your ";

impl Run {
    /// The warnings, without the one about where the key goes ([`Run::key_notices`]).
    pub fn warnings(&self) -> Vec<String> {
        self.all_warnings()
            .into_iter()
            .filter(|message| !message.starts_with(KEY_NOTICE_START))
            .collect()
    }

    /// The warnings that say the key goes to an address other than the service's own.
    pub fn key_notices(&self) -> Vec<String> {
        self.all_warnings()
            .into_iter()
            .filter(|message| message.starts_with(KEY_NOTICE_START))
            .collect()
    }

    fn all_warnings(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                EngineEvent::Warning { message } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn error(&self) -> String {
        match &self.result {
            Err(error) => error.to_string(),
            Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        }
    }

    pub fn texts(&self) -> Vec<String> {
        self.transcript
            .segments
            .iter()
            .map(|segment| segment.text.clone())
            .collect()
    }

    pub fn hypotheses(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                EngineEvent::Hypothesis(hypothesis) => Some(hypothesis.text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The last event is `Done` or `Error`, as `run_engine` promises.
    pub fn last_event(&self) -> &EngineEvent {
        self.events.last().expect("at least one event")
    }
}

/// Runs an engine on a file and applies every event to a transcript.
pub async fn run(engine: &dyn Engine, path: &Path, options: &TranscribeOptions) -> Run {
    run_with_cancel(engine, path, options, CancellationToken::new()).await
}

pub async fn run_with_cancel(
    engine: &dyn Engine,
    path: &Path,
    options: &TranscribeOptions,
    cancel: CancellationToken,
) -> Run {
    let (sink, mut receiver) = EventSink::channel();
    let started = std::time::Instant::now();
    let result = run_engine(engine, path, options, &sink, &cancel).await;
    let elapsed = started.elapsed();
    drop(sink);
    let mut events = Vec::new();
    let mut transcript = Transcript::new();
    while let Some(event) = receiver.recv().await {
        transcript.apply(&event);
        events.push(event);
    }
    let run = Run {
        events,
        transcript,
        result,
        elapsed,
    };
    assert!(run.key_notices().len() <= 1, "said more than once: {:?}", run.key_notices());
    run
}

/// A converter that writes a minimal Ogg Opus file (headers only) and records its calls.
#[derive(Default)]
pub struct FakeOpusTranscoder {
    pub calls: Mutex<Vec<String>>,
    pub duration_s: f64,
}

impl FakeOpusTranscoder {
    pub fn new(duration_s: f64) -> Arc<FakeOpusTranscoder> {
        Arc::new(FakeOpusTranscoder {
            calls: Mutex::new(Vec::new()),
            duration_s,
        })
    }
}

/// The first bytes of an Ogg Opus stream: an Ogg page (version 0, first page, granule,
/// serial, sequence and CRC zero) with one segment, the 19-byte `OpusHead` packet.
pub fn fake_ogg_opus_bytes(size_bytes: usize) -> Vec<u8> {
    let mut bytes = b"OggS\0\x02".to_vec();
    bytes.extend_from_slice(&[0; 20]);
    bytes.extend_from_slice(&[1, 19]);
    bytes.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
    bytes.resize(size_bytes.max(bytes.len()), 0);
    bytes
}

impl Transcoder for FakeOpusTranscoder {
    fn probe_duration_s(&self, _input: &Path) -> Result<Option<f64>, AudioError> {
        Ok(Some(self.duration_s))
    }
    /// Copies a WAV input as it is (enough for pause analysis); anything else fails.
    fn to_wav(&self, input: &Path, output: &Path, sample_rate_hz: u32) -> Result<f64, AudioError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("wav {sample_rate_hz}"));
        if input
            .extension()
            .is_some_and(|extension| extension == "wav")
        {
            std::fs::copy(input, output).unwrap();
            return Ok(self.duration_s);
        }
        Err(AudioError::Unsupported {
            path: "fake".into(),
            reason: "no WAV from the fake".into(),
        })
    }
    fn to_ogg_opus(
        &self,
        _input: &Path,
        output: &Path,
        bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("opus {bitrate_bps}"));
        std::fs::write(output, fake_ogg_opus_bytes(2048)).unwrap();
        Ok(self.duration_s)
    }
    fn ogg_opus_range(
        &self,
        _input: &Path,
        output: &Path,
        start_s: f64,
        end_s: f64,
        bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("range {start_s}-{end_s} {bitrate_bps}"));
        std::fs::write(output, fake_ogg_opus_bytes(2048)).unwrap();
        Ok(end_s - start_s)
    }
}

/// Asserts no message in the run mentions the key.
pub fn assert_key_never_shown(run: &Run, key: &str) {
    for event in &run.events {
        let text = format!("{event:?}");
        assert!(!text.contains(key), "the key leaked into an event: {text}");
    }
    if let Err(error) = &run.result {
        assert!(!error.to_string().contains(key));
        assert!(!format!("{error:?}").contains(key));
    }
}

/// Posts `data` to `server` (`path_and_query` on its base URL) as the multipart file part
/// `field` named `file_name`, with the server's key as a bearer token — a request made by
/// hand, to see what the fake answers any client. Returns the status and the body.
pub async fn post_file_by_hand(
    server: &FakeServer,
    path_and_query: &str,
    field: &str,
    file_name: &str,
    data: Vec<u8>,
) -> (u16, serde_json::Value) {
    let part = reqwest::multipart::Part::bytes(data).file_name(file_name.to_string());
    let request = reqwest::Client::new()
        .post(format!("{}{path_and_query}", server.base_url()))
        .multipart(reqwest::multipart::Form::new().part(field.to_string(), part));
    answer_by_hand(server, request).await
}

/// A GET by hand with the server's key: the status and the body.
pub async fn get_by_hand(server: &FakeServer, path_and_query: &str) -> (u16, serde_json::Value) {
    let request = reqwest::Client::new().get(format!("{}{path_and_query}", server.base_url()));
    answer_by_hand(server, request).await
}

/// Sends `request` with the server's key: the status and the body (JSON, else a string).
async fn answer_by_hand(
    server: &FakeServer,
    request: reqwest::RequestBuilder,
) -> (u16, serde_json::Value) {
    let response = request
        .bearer_auth(server.key())
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    let body = response.text().await.expect("the body arrives");
    let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, value)
}

/// The fake refuses, with a 400 whose message (at the JSON `message_pointer`) names the local
/// path, a file part whose name carries a Unix or a Windows path — as the 60db SDK sends it.
pub async fn assert_local_paths_refused(
    server: &FakeServer,
    path_and_query: &str,
    field: &str,
    message_pointer: &str,
) {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let data = std::fs::read(&jfk).expect("the clip reads");
    for name in ["/home/someone/jfk.wav", "C:\\Users\\someone\\jfk.wav"] {
        let (status, body) =
            post_file_by_hand(server, path_and_query, field, name, data.clone()).await;
        assert_eq!(status, 400, "{name}: {body}");
        let message = body.pointer(message_pointer).and_then(|m| m.as_str());
        assert!(
            message.is_some_and(|m| m.contains("local path")),
            "{name}: {body}"
        );
    }
}
