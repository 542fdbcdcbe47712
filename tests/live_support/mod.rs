//! Shared by the live engine tests: the test speech cut into the recorder's 100 ms blocks,
//! fake servers with live settings, running a live engine while a test feeds it, and the
//! checks on what the fakes measured.
#![allow(dead_code)]

use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use verbatim::audio::AudioBlock;
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario};
use verbatim::engine::cloud::{ApiKey, CloudOptions, CloudService, NetworkOptions};
use verbatim::engine::{EngineError, EngineOutcome, LiveEngine, LiveOptions, TranscribeOptions, cloud_live_engine, run_live_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;

pub const RATE_HZ: usize = 16_000;
/// The recorder's block: 100 ms.
pub const BLOCK_FRAMES: usize = RATE_HZ / 10;

/// `two_cities.wav` as 16 kHz mono (`None`, and the test skips, only outside CI).
pub fn speech() -> Option<Vec<f32>> {
    let path = verbatim::dev::testdata::testdata("speech/two_cities.wav")?;
    Some(verbatim::audio::read_mono_16k(&path).expect("two_cities.wav decodes"))
}

/// Samples cut into 100 ms blocks as the recorder sends them (stereo, both channels the same,
/// so the engine's downmix gives the samples back), starting at `start_s`.
pub fn blocks(samples: &[f32], start_s: f64) -> Vec<AudioBlock> {
    samples
        .chunks(BLOCK_FRAMES)
        .enumerate()
        .map(|(index, chunk)| AudioBlock {
            start_s: start_s + (index * BLOCK_FRAMES) as f64 / RATE_HZ as f64,
            channels: vec![chunk.to_vec(), chunk.to_vec()],
        })
        .collect()
}

pub fn network() -> NetworkOptions {
    NetworkOptions { connect_timeout_s: 3.0, ..NetworkOptions::default() }
}

/// Live settings for tests: pauses noticed after 0.3 s, 5 s to finish.
pub fn live_options() -> LiveOptions {
    LiveOptions { pause_after_s: 0.3, finish_timeout_s: 5.0, ..LiveOptions::default() }
}

pub async fn start_fake(service: CloudService, scenario: Scenario, cap: Option<Duration>) -> FakeServer {
    let mut config = FakeConfig::new(service, scenario);
    if let Some(cap) = cap {
        config.live_session_cap = cap;
    }
    FakeServer::start(config, 0).await.expect("fake server starts")
}

/// Cloud options pointing `service` at `server`.
pub fn cloud_options(service: CloudService, server: &FakeServer) -> CloudOptions {
    let mut options = CloudOptions { network: network(), ..CloudOptions::default() };
    *options.endpoint_mut(service) = Some(server.base_url());
    options
}

pub fn english() -> TranscribeOptions {
    TranscribeOptions { language: Some("en".into()), ..TranscribeOptions::default() }
}

/// The live engine for `service`, built as the front ends build it once they have the key.
pub fn engine(service: CloudService, cloud: &CloudOptions, live: &LiveOptions, key: &str) -> Box<dyn LiveEngine> {
    cloud_live_engine(service, cloud, live, ApiKey::new(key).unwrap()).expect("live engine builds")
}

/// A live engine running on its own task, fed by the test.
pub struct LiveRun {
    pub audio: Option<mpsc::UnboundedSender<AudioBlock>>,
    pub events: mpsc::UnboundedReceiver<EngineEvent>,
    pub seen: Vec<EngineEvent>,
    task: tokio::task::JoinHandle<Result<EngineOutcome, EngineError>>,
}

impl LiveRun {
    pub fn start(engine: Box<dyn LiveEngine>, options: TranscribeOptions) -> LiveRun {
        let (sender, receiver) = mpsc::unbounded_channel();
        let (sink, events) = EventSink::channel();
        let task = tokio::spawn(async move {
            let cancel = CancellationToken::new();
            run_live_engine(engine.as_ref(), receiver, &options, &sink, &cancel).await
        });
        LiveRun { audio: Some(sender), events, seen: Vec::new(), task }
    }

    /// Sends blocks as fast as the channel takes them (faster than real time).
    pub fn feed(&self, blocks: Vec<AudioBlock>) {
        for block in blocks {
            // A failed engine has dropped its receiver; the recorder would go on.
            let _ = self.audio.as_ref().expect("still recording").send(block);
        }
    }

    /// The events that arrived so far.
    pub fn drain(&mut self) -> &[EngineEvent] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }

    /// Stops the recording and waits for the engine's end (at most 20 s).
    pub async fn stop(mut self) -> (Vec<EngineEvent>, Result<EngineOutcome, EngineError>) {
        drop(self.audio.take());
        let result = tokio::time::timeout(Duration::from_secs(20), self.task).await.expect("the engine ends").expect("no panic");
        while let Some(event) = self.events.recv().await {
            self.seen.push(event);
        }
        (self.seen, result)
    }
}

/// The transcript the events build.
pub fn transcript_of(events: &[EngineEvent]) -> Transcript {
    let mut transcript = Transcript::new();
    for event in events {
        transcript.apply(event);
    }
    transcript
}

/// The samples as the 16-bit values a client sends.
pub fn as_pcm16(samples: &[f32]) -> Vec<i16> {
    samples.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16).collect()
}

/// Loudness in dBFS of `samples[start_s..end_s)` at 16 kHz (as the fakes measure it).
pub fn level_db_between(samples: &[f32], start_s: f64, end_s: f64) -> f64 {
    let from = ((start_s * RATE_HZ as f64).round() as usize).min(samples.len());
    let to = ((end_s * RATE_HZ as f64).round() as usize).clamp(from, samples.len());
    verbatim::dev::fakes::live::level_db(&as_pcm16(&samples[from..to]))
}

/// The last event is the ending `run_live_engine` adds.
pub fn last_error(events: &[EngineEvent]) -> Option<&str> {
    match events.last() {
        Some(EngineEvent::Error { message }) => Some(message),
        _ => None,
    }
}
