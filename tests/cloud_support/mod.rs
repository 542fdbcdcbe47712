//! Shared helpers for the cloud engine tests: test data paths, fast network settings, and
//! running an engine to collect its events and the transcript they build.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use verbatim::audio::AudioError;
use verbatim::engine::cloud::upload::Transcoder;
use verbatim::engine::cloud::{ApiKey, NetworkOptions};
use verbatim::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions, run_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;

/// A file from `shared/testdata`; `None` (and the test skips) only outside CI.
pub fn testdata(relative: &str) -> Option<PathBuf> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata")).join(relative);
    if path.exists() {
        Some(path)
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "test data missing in CI: {}",
            path.display()
        );
        None
    }
}

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

/// What one run produced.
pub struct Run {
    pub events: Vec<EngineEvent>,
    pub transcript: Transcript,
    pub result: Result<EngineOutcome, EngineError>,
    pub elapsed: std::time::Duration,
}

impl Run {
    pub fn warnings(&self) -> Vec<String> {
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
    Run {
        events,
        transcript,
        result,
        elapsed,
    }
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

/// The first bytes of an Ogg Opus stream: an Ogg page whose packet is `OpusHead`.
pub fn fake_ogg_opus_bytes(size_bytes: usize) -> Vec<u8> {
    let mut bytes = b"OggS\0\x02".to_vec();
    bytes.extend_from_slice(&[0; 22]);
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
