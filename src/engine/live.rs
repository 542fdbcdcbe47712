//! Live transcription: engines that hear a recording while it is made.
//!
//! The recorder hands a live engine the same audio it writes to the file, as
//! [`AudioBlock`]s on a channel ([`LiveAudio`]): 16 kHz, about 100 ms each, every channel of
//! the recording, `start_s` the block's position in the file, blocks contiguous. The channel
//! closing means the recording stopped: the engine sends what it still holds, waits for the
//! service's last words and returns. A live engine speaks the same [`EngineEvent`]s as a
//! file engine (hypotheses for the open phrase, segments — with a revision key where the
//! service refines them later) and ends the same way ([`run_live_engine`]).
//!
//! The file is the source of truth: when a live engine fails it returns an error and drops
//! its receiver; the recorder must ignore the failed `send`s and go on recording.
//!
//! [`EngineEvent`]: crate::events::EngineEvent

use super::cloud::{ApiKey, CloudOptions, CloudService};
use super::{EngineError, EngineKind, EngineOutcome, TranscribeOptions};
use crate::audio::{AudioBlock, ENGINE_SAMPLE_RATE_HZ};
use crate::audio::resample::StreamResampler;
use crate::events::EventSink;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The recording's audio as it is captured; closed when the recording stops.
pub type LiveAudio = mpsc::UnboundedReceiver<AudioBlock>;

/// A speech-to-text engine that transcribes audio as it arrives.
#[async_trait]
pub trait LiveEngine: Send + Sync {
    /// Short name shown to people ("gradium", "60db"…).
    fn name(&self) -> &str;

    /// Transcribes `audio` until its channel closes (the recording stopped), sending events
    /// to `sink` as they come. Returns when done, failed or cancelled; segments already sent
    /// stay valid whatever the outcome. Does not send `Done`/`Error` itself:
    /// [`run_live_engine`] does. `duration_s` of the outcome is the audio heard.
    async fn transcribe_live(
        &self,
        audio: LiveAudio,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError>;
}

/// Runs a live engine and ends the event stream with `Done` or `Error`, as
/// [`super::run_engine`] does for files.
pub async fn run_live_engine(
    engine: &dyn LiveEngine,
    audio: LiveAudio,
    options: &TranscribeOptions,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<EngineOutcome, EngineError> {
    let result = engine.transcribe_live(audio, options, sink, cancel).await;
    super::emit_outcome(sink, &result);
    result
}

/// Settings of live transcription that file transcription does not have. The services' own
/// settings (endpoint, model, 60db's languages and context…) come from [`CloudOptions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveOptions {
    /// No audio for this long (the recording is paused) makes the engine send out the text
    /// it holds, as a phrase end would.
    pub pause_after_s: f64,
    /// Longest wait for the service's last words once the recording stops.
    pub finish_timeout_s: f64,
    /// Length of one Gradium session before the next one takes over (the service ends a
    /// session at 300 s; tests shorten this).
    pub gradium_session_s: f64,
    /// The rate audio is sent to 60db at: 8000, 16000, 24000, 44100 or 48000 Hz.
    pub sixtydb_sample_rate_hz: u32,
    /// The silence that ends a sentence for 60db, in milliseconds (300 or more).
    pub sixtydb_utterance_end_ms: u32,
}

/// Gradium's cap on one WebSocket session.
pub const GRADIUM_SESSION_CAP_S: f64 = 300.0;
/// The rates 60db takes audio at.
pub const SIXTYDB_SAMPLE_RATES_HZ: [u32; 5] = [8_000, 16_000, 24_000, 44_100, 48_000];
/// 60db's shortest `utterance_end_ms`.
pub const SIXTYDB_MIN_UTTERANCE_END_MS: u32 = 300;
/// 60db's most candidate languages.
pub const SIXTYDB_MAX_LANGUAGES: usize = 5;

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            pause_after_s: 0.6,
            finish_timeout_s: 15.0,
            gradium_session_s: GRADIUM_SESSION_CAP_S - 10.0,
            sixtydb_sample_rate_hz: ENGINE_SAMPLE_RATE_HZ,
            sixtydb_utterance_end_ms: 500,
        }
    }
}

impl LiveOptions {
    /// Checks every setting; each message is one line that says what to change.
    pub fn validate(&self) -> Result<(), String> {
        for (what, value) in [("pause", self.pause_after_s), ("finish timeout", self.finish_timeout_s)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("the live {what} must be a positive number of seconds, not {value}"));
            }
        }
        if !(self.gradium_session_s.is_finite() && (1.0..=GRADIUM_SESSION_CAP_S).contains(&self.gradium_session_s)) {
            return Err(format!(
                "a Gradium session lasts between 1 and 300 s (the service's cap), not {} s",
                self.gradium_session_s
            ));
        }
        if !SIXTYDB_SAMPLE_RATES_HZ.contains(&self.sixtydb_sample_rate_hz) {
            return Err(format!(
                "60db takes live audio at 8000, 16000, 24000, 44100 or 48000 Hz, not {} Hz",
                self.sixtydb_sample_rate_hz
            ));
        }
        if self.sixtydb_utterance_end_ms < SIXTYDB_MIN_UTTERANCE_END_MS {
            return Err(format!(
                "60db needs utterance_end_ms of at least 300, not {}; use 300 or more",
                self.sixtydb_utterance_end_ms
            ));
        }
        Ok(())
    }
}

/// Refuses, with a one-line message, a service that documents no live transport.
pub(crate) fn refuse_without_live_transport(service: CloudService) -> Result<(), EngineError> {
    if EngineKind::Cloud(service).streams_live() {
        return Ok(());
    }
    Err(EngineError::Service(format!(
        "{} has no live transport; the recording is transcribed from the file when it stops",
        service.display_name()
    )))
}

/// The live engine of a cloud service with its options and a key already found (tests pass a
/// fake's key; front ends go through [`super::build::build_live_engine`], which looks the key
/// up). Fails with a one-line message when the service cannot stream or an option is not valid.
pub fn cloud_live_engine(
    service: CloudService,
    cloud: &CloudOptions,
    live: &LiveOptions,
    key: ApiKey,
) -> Result<Box<dyn LiveEngine>, EngineError> {
    live.validate().map_err(EngineError::Service)?;
    refuse_without_live_transport(service)?;
    Ok(match service {
        CloudService::Gradium => Box::new(super::cloud::gradium_ws::GradiumLiveEngine::new(cloud, live, key)?),
        CloudService::SixtyDb => Box::new(super::cloud::sixtydb_ws::SixtyDbLiveEngine::new(cloud, live, key)?),
        CloudService::PolarGrid | CloudService::LlmStats => unreachable!("refused above"),
    })
}

/// Mono audio at a known place in the recording.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AudioPiece {
    /// Recording time of the first sample.
    pub start_s: f64,
    pub samples: Vec<f32>,
}

/// What the recorder's channel gives, as a live engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FeedItem {
    /// The next block, downmixed.
    Audio(AudioPiece),
    /// No audio for a while, or a jump in the recording's times: the phrase being spoken has
    /// ended. Said once per pause.
    Pause,
    /// The recording stopped.
    End,
}

/// The recorder's channel, with pauses told apart: a pause is [`LiveOptions::pause_after_s`]
/// without a block, or a block that does not start where the last one ended. Cancel-safe:
/// `next` may be dropped in a `select!` without losing a block.
pub(crate) struct LiveFeed {
    audio: LiveAudio,
    pause_after: Duration,
    last_block_at: Instant,
    paused: bool,
    expected_start_s: Option<f64>,
    /// A block that arrived after a jump, handed out after the `Pause`.
    held: Option<AudioPiece>,
    /// Seconds of audio received.
    pub heard_s: f64,
}

impl LiveFeed {
    pub(crate) fn new(audio: LiveAudio, options: &LiveOptions) -> LiveFeed {
        LiveFeed {
            audio,
            pause_after: Duration::from_secs_f64(options.pause_after_s),
            last_block_at: Instant::now(),
            paused: false,
            expected_start_s: None,
            held: None,
            heard_s: 0.0,
        }
    }

    pub(crate) async fn next(&mut self) -> FeedItem {
        if let Some(piece) = self.held.take() {
            return FeedItem::Audio(piece);
        }
        loop {
            let block = if self.paused {
                self.audio.recv().await
            } else {
                tokio::select! {
                    block = self.audio.recv() => block,
                    _ = tokio::time::sleep_until(self.last_block_at + self.pause_after) => {
                        self.paused = true;
                        return FeedItem::Pause;
                    }
                }
            };
            let Some(block) = block else { return FeedItem::End };
            self.last_block_at = Instant::now();
            if block.frame_count() == 0 {
                continue;
            }
            let piece = AudioPiece { start_s: block.start_s, samples: block.mono() };
            let jumped = self.expected_start_s.is_some_and(|expected| (expected - piece.start_s).abs() > 0.01);
            self.expected_start_s = Some(piece.start_s + block.duration_s());
            self.heard_s += block.duration_s();
            if jumped && !self.paused {
                self.paused = true;
                self.held = Some(piece);
                return FeedItem::Pause;
            }
            self.paused = false;
            return FeedItem::Audio(piece);
        }
    }
}

/// 16 kHz mono to a service's rate, keeping track of where each output sample is in the
/// recording. `drain` pushes out what the filter holds (at a pause) and starts afresh, so the
/// audio before a pause is sent at once and a jump in times is followed exactly.
pub(crate) struct LiveResampler {
    output_rate_hz: u32,
    resampler: Option<StreamResampler>,
    /// Recording time of the next output sample.
    next_output_s: f64,
}

impl LiveResampler {
    pub(crate) fn new(output_rate_hz: u32) -> LiveResampler {
        LiveResampler { output_rate_hz, resampler: None, next_output_s: 0.0 }
    }

    /// Takes a piece; returns the output ready so far with the recording time of its first
    /// sample.
    pub(crate) fn push(&mut self, piece: AudioPiece) -> Result<AudioPiece, EngineError> {
        if self.resampler.is_none() {
            self.resampler = Some(
                StreamResampler::new(ENGINE_SAMPLE_RATE_HZ, self.output_rate_hz, 1).map_err(EngineError::Inference)?,
            );
            self.next_output_s = piece.start_s;
        }
        let output = match self.resampler.as_mut() {
            Some(resampler) => resampler.push(vec![piece.samples]).map_err(EngineError::Inference)?,
            None => Vec::new(),
        };
        Ok(self.timed(output))
    }

    /// Everything still inside the filter; the next `push` starts a new stream.
    pub(crate) fn drain(&mut self) -> Result<AudioPiece, EngineError> {
        let output = match self.resampler.take() {
            Some(mut resampler) => resampler.finish().map_err(EngineError::Inference)?,
            None => Vec::new(),
        };
        Ok(self.timed(output))
    }

    fn timed(&mut self, output: Vec<Vec<f32>>) -> AudioPiece {
        let samples = output.into_iter().next().unwrap_or_default();
        let start_s = self.next_output_s;
        self.next_output_s += samples.len() as f64 / f64::from(self.output_rate_hz);
        AudioPiece { start_s, samples }
    }
}

/// Where a service's clock is in the recording: a service counts time from the first sample
/// of its session, the transcript from the start of the file. Anchors are added where the
/// audio sent stops following the recording (silence sent as padding, a jump); a time inside
/// padding is the recording time where the padding began.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline {
    /// In the order sent: from this service time on, audio (or padding, when `true`) that
    /// starts at this recording time.
    anchors: Vec<Anchor>,
    /// Service time of the next sample sent.
    pub service_s: f64,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    service_s: f64,
    recording_s: f64,
    padding: bool,
}

impl Timeline {
    /// Records that `samples` samples at `rate_hz`, the first at `recording_s` (`None` for
    /// padding that is not in the recording), were sent.
    pub(crate) fn sent(&mut self, recording_s: Option<f64>, samples: usize, rate_hz: u32) {
        if samples == 0 {
            return;
        }
        let here_s = self.recording_end_s();
        let anchor = match (recording_s, self.anchors.last()) {
            (Some(recording_s), Some(last)) if !last.padding && (here_s - recording_s).abs() <= 0.5 / f64::from(rate_hz) => None,
            (Some(recording_s), _) => Some(Anchor { service_s: self.service_s, recording_s, padding: false }),
            (None, Some(last)) if last.padding => None,
            (None, _) => Some(Anchor { service_s: self.service_s, recording_s: here_s, padding: true }),
        };
        self.anchors.extend(anchor);
        self.service_s += samples as f64 / f64::from(rate_hz);
    }

    /// The recording time of a service time.
    pub(crate) fn to_recording_s(&self, service_s: f64) -> f64 {
        let anchor = self.anchors.iter().rev().find(|anchor| anchor.service_s <= service_s).or(self.anchors.first());
        match anchor {
            Some(anchor) if anchor.padding => anchor.recording_s,
            Some(anchor) => anchor.recording_s + (service_s - anchor.service_s),
            None => service_s,
        }
    }

    /// The recording time of the latest audio sent.
    pub(crate) fn recording_end_s(&self) -> f64 {
        self.to_recording_s(self.service_s)
    }
}

/// Samples as little-endian signed 16-bit PCM, base64-encoded (what both services take in
/// their `audio` messages).
pub(crate) fn pcm16_base64(samples: &[f32]) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(samples.len() * 2);
    for sample in samples {
        let value = (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start_s: f64, frames: usize) -> AudioBlock {
        AudioBlock { start_s, channels: vec![vec![0.25; frames], vec![0.75; frames]] }
    }

    #[tokio::test]
    async fn the_feed_downmixes_and_tells_pauses_and_jumps() {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut feed = LiveFeed::new(receiver, &LiveOptions { pause_after_s: 0.05, ..LiveOptions::default() });
        sender.send(block(0.0, 1600)).unwrap();
        let FeedItem::Audio(piece) = feed.next().await else { panic!("audio first") };
        assert_eq!((piece.start_s, piece.samples.len(), piece.samples[0]), (0.0, 1600, 0.5));
        // Nothing for 50 ms: one pause, not two.
        assert_eq!(feed.next().await, FeedItem::Pause);
        sender.send(block(0.1, 1600)).unwrap();
        assert!(matches!(feed.next().await, FeedItem::Audio(_)));
        // A block that does not follow on: a pause, then the block.
        sender.send(block(5.0, 1600)).unwrap();
        assert_eq!(feed.next().await, FeedItem::Pause);
        assert!(matches!(feed.next().await, FeedItem::Audio(AudioPiece { start_s: 5.0, .. })));
        drop(sender);
        assert_eq!(feed.next().await, FeedItem::End);
        assert!((feed.heard_s - 0.3).abs() < 1e-9);
    }

    #[test]
    fn the_timeline_follows_padding_and_jumps() {
        let mut timeline = Timeline::default();
        timeline.sent(Some(10.0), 24_000, 24_000);
        assert_eq!(timeline.to_recording_s(0.5), 10.5);
        timeline.sent(None, 1_200, 24_000); // 50 ms of padding
        assert_eq!(timeline.to_recording_s(1.04), 11.0);
        timeline.sent(Some(11.0), 24_000, 24_000);
        assert!((timeline.to_recording_s(1.05) - 11.0).abs() < 1e-9);
        assert!((timeline.recording_end_s() - 12.0).abs() < 1e-9);
        timeline.sent(Some(30.0), 2_400, 24_000);
        assert!((timeline.to_recording_s(2.1) - 30.05).abs() < 1e-9);
        timeline.sent(Some(30.1), 2_400, 24_000);
        assert_eq!(timeline.anchors.len(), 4, "audio that follows on needs no anchor");
    }

    #[test]
    fn the_resampler_keeps_recording_times_across_a_drain() {
        let mut resampler = LiveResampler::new(24_000);
        let mut total = 0;
        let first = resampler.push(AudioPiece { start_s: 2.0, samples: vec![0.1; 16_000] }).unwrap();
        assert_eq!(first.start_s, 2.0);
        total += first.samples.len();
        let rest = resampler.drain().unwrap();
        total += rest.samples.len();
        assert_eq!(total, 24_000);
        assert!((rest.start_s - (2.0 + first.samples.len() as f64 / 24_000.0)).abs() < 1e-9);
        let after = resampler.push(AudioPiece { start_s: 7.0, samples: vec![0.1; 8_000] }).unwrap();
        assert_eq!(after.start_s, 7.0);
    }

    #[test]
    fn pcm_is_little_endian_and_clamped() {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(pcm16_base64(&[0.0, 1.0, -2.0, 0.5])).unwrap();
        assert_eq!(bytes, [0, 0, 0xff, 0x7f, 0x01, 0x80, 0x00, 0x40]);
    }

    #[test]
    fn bad_live_options_are_refused_with_a_reason() {
        assert!(LiveOptions::default().validate().is_ok());
        let rate = LiveOptions { sixtydb_sample_rate_hz: 22_050, ..LiveOptions::default() };
        assert!(rate.validate().unwrap_err().contains("44100"));
        let short = LiveOptions { sixtydb_utterance_end_ms: 200, ..LiveOptions::default() };
        assert!(short.validate().unwrap_err().contains("at least 300"));
        let long = LiveOptions { gradium_session_s: 400.0, ..LiveOptions::default() };
        assert!(long.validate().unwrap_err().contains("300"));
    }
}
