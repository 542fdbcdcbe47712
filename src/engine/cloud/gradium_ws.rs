//! Gradium's live transcription over its WebSocket (`/api/speech/asr`, `shared/PROTOCOLS.md`
//! §1): `x-api-key` on the upgrade, `setup` first and `ready` awaited, then the recording as
//! 24 kHz s16le mono in 80 ms frames (1920 samples), base64 in `audio` messages. Each `text`
//! is a new piece, shown as the hypothesis until its `end_text` closes it into a segment. The
//! `step` VAD's 2-second horizon marks the end of a turn, answered with a `flush`, as are a
//! pause and the stop; the stop ends with `end_of_stream`.
//!
//! A session is capped at 300 s: before the cap a new session takes over (setup again) while
//! the old one sends its last words. Every sample goes to exactly one session, each session's
//! times are moved onto the recording's by its own [`Timeline`], and the new session's text is
//! held back until the old one has finished, so segments stay in time order.

use super::gradium::{Assembler, Message, json_config, mentions_key};
use super::http::one_line_excerpt;
use super::live_socket::{Incoming, LiveServiceEngine, LiveSocket};
use super::{ApiKey, CloudOptions, CloudService, GradiumOptions, language_to_request};
use crate::engine::live::{FeedItem, LiveAudio, LiveEngine, LiveFeed, LiveOptions, LiveResampler, Timeline, pcm16_base64};
use crate::engine::{EngineError, EngineOutcome, TranscribeOptions};
use crate::events::{EventSink, Segment};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const WS_PATH: &str = "/api/speech/asr";
/// The rate of `input_format: "pcm"`.
pub const GRADIUM_LIVE_RATE_HZ: u32 = 24_000;
/// 80 ms at 24 kHz: the frame the service asks for.
pub const GRADIUM_FRAME_SAMPLES: usize = 1920;

/// Gradium, live.
pub type GradiumLiveEngine = LiveServiceEngine<GradiumOptions>;

impl GradiumLiveEngine {
    /// The engine with the file engine's settings (model, `json_config`, endpoint) and the
    /// live ones. Fails with a one-line message when one is not valid.
    pub fn new(cloud: &CloudOptions, live: &LiveOptions, key: ApiKey) -> Result<GradiumLiveEngine, EngineError> {
        let own = (&cloud.gradium, cloud.gradium.validate());
        LiveServiceEngine::build(CloudService::Gradium, cloud, own, cloud.gradium.endpoint.as_deref(), WS_PATH, live, key)
    }

    /// Opens session `number`: connects, sends `setup` and waits for `ready`.
    async fn open_session(&self, setup: &Value, number: usize, cancel: &CancellationToken) -> Result<Session, EngineError> {
        let headers = [("x-api-key", self.key.expose().to_string())];
        let mut socket =
            LiveSocket::connect(CloudService::Gradium, &self.url, &headers, &self.network, &self.key, cancel).await?;
        socket.send_json(setup).await?;
        let wait = Duration::from_secs_f64(self.network.connect_timeout_s);
        let incoming = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(EngineError::Cancelled),
            incoming = tokio::time::timeout(wait, socket.next()) => incoming,
        };
        let frame_samples = match incoming {
            Err(_) => {
                return Err(EngineError::Service(format!(
                    "Gradium did not say it was ready within {} s; try again",
                    self.network.connect_timeout_s
                )));
            }
            Ok(Incoming::Text(text)) => match parse(&text)? {
                Message::Ready { sample_rate, frame_size } => ready_frame(sample_rate, frame_size)?,
                Message::Error { message, code } => return Err(session_failure(code, message.as_deref())),
                _ => {
                    return Err(EngineError::Service(format!(
                        "Gradium answered the setup with something else than `ready` ({}); try again",
                        one_line_excerpt(&text.chars().take(80).collect::<String>())
                    )));
                }
            },
            Ok(Incoming::Closed { code, reason }) => return Err(session_failure(code.map(i64::from), Some(&reason))),
            Ok(Incoming::Lost(detail)) => return Err(lost(&detail)),
        };
        Ok(Session {
            number,
            socket,
            timeline: Timeline::default(),
            assembler: Assembler::default(),
            opened_at: Instant::now(),
            frame_samples,
            in_turn: false,
            ending_since: None,
            ended: false,
        })
    }
}

#[async_trait]
impl LiveEngine for GradiumLiveEngine {
    fn name(&self) -> &str {
        "gradium"
    }

    async fn transcribe_live(
        &self,
        audio: LiveAudio,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        let language = language_to_request(CloudService::Gradium, options)?;
        GradiumOptions::validate_language(language.as_deref()).map_err(EngineError::Service)?;
        let setup = setup_message(&self.options, language.as_deref());
        let mut feed = LiveFeed::new(audio, &self.live);
        let current = self.open_session(&setup, 1, cancel).await?;
        let mut run = Run {
            engine: self,
            setup,
            sink,
            cancel,
            current,
            draining: None,
            held: Vec::new(),
            resampler: LiveResampler::new(GRADIUM_LIVE_RATE_HZ),
            pending: Vec::new(),
            pending_start_s: 0.0,
            next_flush_id: 1,
            sent_since_flush: false,
        };
        let mut result = run.stream(&mut feed).await;
        if result.is_ok() {
            result = run.finish().await;
        }
        if result.is_err() {
            // Whatever broke, text already heard is kept.
            run.salvage();
        }
        result?;
        Ok(EngineOutcome { language, duration_s: Some(feed.heard_s) })
    }
}

/// The first message of every session.
fn setup_message(options: &GradiumOptions, language: Option<&str>) -> Value {
    let mut setup = json!({"type": "setup", "model_name": options.model, "input_format": "pcm"});
    if let Some(config) = json_config(options, language) {
        setup["json_config"] = Value::String(config);
    }
    setup
}

/// The frame size `ready` asks for, after checking it speaks of the rate we send.
fn ready_frame(sample_rate: Option<f64>, frame_size: Option<f64>) -> Result<usize, EngineError> {
    if let Some(rate) = sample_rate
        && rate != f64::from(GRADIUM_LIVE_RATE_HZ)
    {
        return Err(EngineError::Service(format!(
            "Gradium asked for {rate} Hz audio where `pcm` is 24000 Hz; the live protocol may have changed"
        )));
    }
    Ok(match frame_size {
        Some(size) if size >= 1.0 && size <= f64::from(GRADIUM_LIVE_RATE_HZ) => size as usize,
        _ => GRADIUM_FRAME_SAMPLES,
    })
}

/// One WebSocket session.
struct Session {
    number: usize,
    socket: LiveSocket,
    timeline: Timeline,
    assembler: Assembler,
    opened_at: Instant,
    frame_samples: usize,
    /// Text arrived since the last flush, so an end of turn is worth a flush.
    in_turn: bool,
    /// When `end_of_stream` was sent (`None` while audio goes on).
    ending_since: Option<Instant>,
    /// The service sent `end_of_stream` (or closed after ours).
    ended: bool,
}

impl Session {
    /// A piece in the session's times, moved onto the recording's.
    fn on_recording(&self, mut segment: Segment) -> Segment {
        segment.start_s = self.timeline.to_recording_s(segment.start_s);
        segment.end_s = self.timeline.to_recording_s(segment.end_s).max(segment.start_s);
        segment
    }

    /// The pieces never closed, on the recording's times.
    fn leftovers(&mut self) -> Vec<Segment> {
        let pieces = self.assembler.finish();
        pieces.into_iter().map(|piece| self.on_recording(piece)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Which {
    Current,
    Draining,
}

/// One live transcription in progress.
struct Run<'a> {
    engine: &'a GradiumLiveEngine,
    setup: Value,
    sink: &'a EventSink,
    cancel: &'a CancellationToken,
    /// The session audio goes to.
    current: Session,
    /// The previous session, sending its last words after a rollover.
    draining: Option<Session>,
    /// Segments of `current` held back until `draining` has finished.
    held: Vec<Segment>,
    resampler: LiveResampler,
    /// Resampled audio not yet a whole frame, and the recording time of its first sample.
    pending: Vec<f32>,
    pending_start_s: f64,
    next_flush_id: u64,
    sent_since_flush: bool,
}

async fn next_of(session: &mut Option<Session>) -> Incoming {
    match session {
        Some(session) => session.socket.next().await,
        None => std::future::pending().await,
    }
}

impl Run<'_> {
    /// Sends the recording as it comes and handles what the service says, until the
    /// recording stops.
    async fn stream(&mut self, feed: &mut LiveFeed) -> Result<(), EngineError> {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                incoming = self.current.socket.next() => self.on_incoming(Which::Current, incoming).await?,
                incoming = next_of(&mut self.draining) => self.on_incoming(Which::Draining, incoming).await?,
                item = feed.next() => match item {
                    FeedItem::Audio(piece) => {
                        let resampled = self.resampler.push(piece)?;
                        self.send_audio(resampled.start_s, resampled.samples).await?;
                    }
                    FeedItem::Pause => self.flush_out().await?,
                    FeedItem::End => return Ok(()),
                },
                _ = tick.tick() => self.on_tick().await?,
            }
        }
    }

    /// After the stop: the last audio, a flush, `end_of_stream`, and the last words.
    async fn finish(&mut self) -> Result<(), EngineError> {
        self.flush_out().await?;
        self.current.socket.send_json(&json!({"type": "end_of_stream"})).await?;
        self.current.ending_since = Some(Instant::now());
        let timeout_s = self.engine.live.finish_timeout_s;
        let deadline = Instant::now() + Duration::from_secs_f64(timeout_s);
        while !self.current.ended || self.draining.is_some() {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                incoming = self.current.socket.next(), if !self.current.ended => {
                    self.on_incoming(Which::Current, incoming).await?
                }
                incoming = next_of(&mut self.draining) => self.on_incoming(Which::Draining, incoming).await?,
                _ = tokio::time::sleep_until(deadline) => {
                    self.sink.warning(format!("Gradium did not send its last words within {timeout_s} s; what it sent is kept"));
                    self.salvage();
                    break;
                }
            }
        }
        self.current.socket.close().await;
        Ok(())
    }

    /// Resampled audio: whole frames go out, the rest waits for more.
    async fn send_audio(&mut self, start_s: f64, samples: Vec<f32>) -> Result<(), EngineError> {
        if samples.is_empty() {
            return Ok(());
        }
        if self.pending.is_empty() {
            self.pending_start_s = start_s;
        }
        self.pending.extend(samples);
        while self.pending.len() >= self.current.frame_samples {
            let frame: Vec<f32> = self.pending.drain(..self.current.frame_samples).collect();
            let frame_start_s = self.pending_start_s;
            self.pending_start_s += frame.len() as f64 / f64::from(GRADIUM_LIVE_RATE_HZ);
            self.send_frame(frame, frame_start_s).await?;
            if self.current.timeline.service_s >= self.engine.live.gradium_session_s {
                self.roll_over().await?;
            }
        }
        Ok(())
    }

    /// One `audio` message of exactly a frame, padded with silence when `samples` is short.
    async fn send_frame(&mut self, mut samples: Vec<f32>, start_s: f64) -> Result<(), EngineError> {
        let real = samples.len();
        let frame_samples = self.current.frame_samples;
        samples.resize(frame_samples.max(real), 0.0);
        let message = json!({"type": "audio", "audio": pcm16_base64(&samples)});
        self.current.socket.send_json(&message).await?;
        self.current.timeline.sent(Some(start_s), real, GRADIUM_LIVE_RATE_HZ);
        self.current.timeline.sent(None, samples.len() - real, GRADIUM_LIVE_RATE_HZ);
        self.sent_since_flush = true;
        Ok(())
    }

    /// At a pause or the stop: everything held here goes out (the last frame padded), then
    /// a `flush` so the service sends its text at once.
    async fn flush_out(&mut self) -> Result<(), EngineError> {
        let rest = self.resampler.drain()?;
        self.send_audio(rest.start_s, rest.samples).await?;
        if !self.pending.is_empty() {
            let frame = std::mem::take(&mut self.pending);
            self.send_frame(frame, self.pending_start_s).await?;
        }
        if self.sent_since_flush {
            self.send_flush().await?;
        }
        Ok(())
    }

    async fn send_flush(&mut self) -> Result<(), EngineError> {
        let message = json!({"type": "flush", "flush_id": self.next_flush_id});
        self.next_flush_id += 1;
        self.sent_since_flush = false;
        self.current.socket.send_json(&message).await
    }

    /// Rolls over when the session has lasted long enough by the clock (a paused recording
    /// sends no audio, but the session goes on), and gives up on a previous session that does
    /// not finish.
    async fn on_tick(&mut self) -> Result<(), EngineError> {
        if self.current.opened_at.elapsed().as_secs_f64() >= self.engine.live.gradium_session_s {
            self.roll_over().await?;
        }
        let finish_timeout_s = self.engine.live.finish_timeout_s;
        if let Some(since) = self.draining.as_ref().and_then(|session| session.ending_since)
            && since.elapsed().as_secs_f64() > finish_timeout_s
        {
            self.sink.warning(format!(
                "Gradium did not finish a session within {finish_timeout_s} s of the next one starting; its last words may be missing"
            ));
            self.end_draining();
        }
        Ok(())
    }

    /// A new session takes over; the current one is told the stream ends and left to send its
    /// last words.
    async fn roll_over(&mut self) -> Result<(), EngineError> {
        self.wait_for_draining().await?;
        let next = self.engine.open_session(&self.setup, self.current.number + 1, self.cancel).await?;
        let mut previous = std::mem::replace(&mut self.current, next);
        self.current.in_turn = false;
        match previous.socket.send_json(&json!({"type": "end_of_stream"})).await {
            Ok(()) => {
                previous.ending_since = Some(Instant::now());
                self.draining = Some(previous);
            }
            Err(_) => {
                for segment in previous.leftovers() {
                    self.sink.segment(segment);
                }
            }
        }
        Ok(())
    }

    /// Lets the previous session finish before another rollover (only audio fed faster than
    /// real time gets here: sessions last minutes, their ends take a second).
    async fn wait_for_draining(&mut self) -> Result<(), EngineError> {
        let timeout_s = self.engine.live.finish_timeout_s;
        let deadline = Instant::now() + Duration::from_secs_f64(timeout_s);
        while self.draining.is_some() {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                incoming = next_of(&mut self.draining) => self.on_incoming(Which::Draining, incoming).await?,
                _ = tokio::time::sleep_until(deadline) => {
                    self.sink.warning(format!(
                        "Gradium did not finish a session within {timeout_s} s; its last words may be missing"
                    ));
                    self.end_draining();
                }
            }
        }
        Ok(())
    }

    async fn on_incoming(&mut self, which: Which, incoming: Incoming) -> Result<(), EngineError> {
        match incoming {
            Incoming::Text(text) => self.on_message(which, parse(&text)?).await,
            Incoming::Closed { code, reason } => {
                let ending = self.session(which).is_some_and(|session| session.ending_since.is_some());
                if ending && matches!(code, None | Some(1000)) {
                    self.end_session(which);
                    Ok(())
                } else {
                    Err(session_failure(code.map(i64::from), Some(&reason)))
                }
            }
            Incoming::Lost(detail) if which == Which::Draining => {
                // The recording goes on in the current session; only these last words are lost.
                self.sink.warning(format!(
                    "the connection to a finishing Gradium session was lost ({detail}); its last words may be missing"
                ));
                self.end_draining();
                Ok(())
            }
            Incoming::Lost(detail) => Err(lost(&detail)),
        }
    }

    async fn on_message(&mut self, which: Which, message: Message) -> Result<(), EngineError> {
        let holding = which == Which::Current && self.draining.is_some();
        let Some(session) = self.session_mut(which) else { return Ok(()) };
        match message {
            Message::Text { text, start_s, stream_id } => {
                let start_s = start_s.unwrap_or(session.assembler.last_time_s);
                let closed = session.assembler.on_text(stream_id.unwrap_or(0), &text, start_s);
                session.in_turn = true;
                let closed: Vec<Segment> = closed.into_iter().map(|piece| session.on_recording(piece)).collect();
                let shown_s = session.timeline.to_recording_s(start_s);
                self.deliver(closed, holding);
                if !holding {
                    self.sink.hypothesis(text.trim(), Some(shown_s));
                }
            }
            Message::EndText { stop_s, stream_id } => {
                let closed = session.assembler.on_end(stream_id.unwrap_or(0), stop_s);
                let closed: Vec<Segment> = closed.into_iter().map(|piece| session.on_recording(piece)).collect();
                self.deliver(closed, holding);
            }
            Message::Step { vad, total_duration_s } => {
                // How far the service has heard: where a piece it never closes ends.
                if let Some(heard_s) = total_duration_s {
                    session.assembler.last_time_s = session.assembler.last_time_s.max(heard_s);
                }
                let end_of_turn = vad.get(2).is_some_and(|horizon| horizon.inactivity_prob > 0.5);
                if which == Which::Current && session.in_turn && end_of_turn && session.ending_since.is_none() {
                    session.in_turn = false;
                    self.send_flush().await?;
                }
            }
            Message::EndOfStream => self.end_session(which),
            Message::Error { message, code } => return Err(session_failure(code, message.as_deref())),
            Message::Ready { .. } | Message::Flushed | Message::Other => {}
        }
        Ok(())
    }

    fn session(&self, which: Which) -> Option<&Session> {
        match which {
            Which::Current => Some(&self.current),
            Which::Draining => self.draining.as_ref(),
        }
    }

    fn session_mut(&mut self, which: Which) -> Option<&mut Session> {
        match which {
            Which::Current => Some(&mut self.current),
            Which::Draining => self.draining.as_mut(),
        }
    }

    fn deliver(&mut self, segments: Vec<Segment>, holding: bool) {
        for segment in segments {
            if holding {
                self.held.push(segment);
            } else {
                self.sink.segment(segment);
            }
        }
    }

    /// A session said its last word: what it still held goes out; after the previous
    /// session, the current one's held-back text follows.
    fn end_session(&mut self, which: Which) {
        match which {
            Which::Draining => self.end_draining(),
            Which::Current => {
                self.current.ended = true;
                for segment in self.current.leftovers() {
                    self.sink.segment(segment);
                }
            }
        }
    }

    fn end_draining(&mut self) {
        if let Some(mut previous) = self.draining.take() {
            for segment in previous.leftovers() {
                self.sink.segment(segment);
            }
        }
        for segment in std::mem::take(&mut self.held) {
            self.sink.segment(segment);
        }
    }

    /// Everything heard and not yet sent as a segment, in order (after a failure).
    fn salvage(&mut self) {
        self.end_draining();
        if !self.current.ended {
            self.end_session(Which::Current);
        }
    }
}

fn parse(text: &str) -> Result<Message, EngineError> {
    serde_json::from_str(text).map_err(|_| {
        EngineError::Service(format!(
            "Gradium sent a message that is not valid ({}); the text so far is kept",
            one_line_excerpt(&text.chars().take(80).collect::<String>())
        ))
    })
}

/// An `error` message or a close with a code: 1008 about the key is a rejected key.
fn session_failure(code: Option<i64>, message: Option<&str>) -> EngineError {
    let message = message.map(str::trim).filter(|text| !text.is_empty()).unwrap_or("no reason given");
    let detail = match code {
        Some(code) => format!("{code}: {message}"),
        None => message.to_string(),
    };
    match code {
        Some(1008) if mentions_key(message) => EngineError::KeyRejected { service: CloudService::Gradium, detail },
        Some(1008) => EngineError::Service(format!(
            "Gradium refused the session ({detail}); check the Gradium options and the language"
        )),
        Some(1011) => EngineError::Service(format!(
            "Gradium failed on its side ({detail}); the text so far is kept; try again later"
        )),
        _ => EngineError::Service(format!("Gradium closed the session ({detail}); the text so far is kept")),
    }
}

fn lost(detail: &str) -> EngineError {
    EngineError::Service(format!("the connection to Gradium was lost ({detail}); the text so far is kept"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_variant_of_the_messages_parses() {
        let text = parse(r#"{"type":"text","text":"Hi","start_s":0.5,"stream_id":null}"#).unwrap();
        assert!(matches!(text, Message::Text { stream_id: None, .. }));
        let text = parse(r#"{"type":"text","text":"Hi","start_s":0.5,"stream_id":0}"#).unwrap();
        assert!(matches!(text, Message::Text { stream_id: Some(0), .. }));
        assert!(matches!(parse(r#"{"type":"flushed","flush_id":1}"#).unwrap(), Message::Flushed));
        assert!(matches!(parse(r#"{"type":"flushed","flush_id":"1"}"#).unwrap(), Message::Flushed));
        let ready = parse(r#"{"type":"ready","request_id":"r","model_name":"default","sample_rate":24000,"frame_size":1920,"delay_in_frames":7.0,"text_stream_names":[]}"#).unwrap();
        let Message::Ready { sample_rate, frame_size } = ready else { panic!("ready") };
        assert_eq!(ready_frame(sample_rate, frame_size).unwrap(), 1920);
        assert!(ready_frame(Some(16000.0), None).is_err());
        let step = parse(r#"{"type":"step","vad":[{"horizon_s":0.5,"inactivity_prob":0.9}],"step_idx":1}"#).unwrap();
        // Fewer horizons than documented: no end of turn, no panic.
        let Message::Step { vad, .. } = step else { panic!("step") };
        assert!(vad.get(2).is_none());
        assert!(matches!(parse(r#"{"type":"something_new"}"#).unwrap(), Message::Other));
        assert!(parse("not json").is_err());
    }

    #[test]
    fn failures_say_whose_fault_it_is() {
        assert!(matches!(
            session_failure(Some(1008), Some("API key is revoked or expired")),
            EngineError::KeyRejected { .. }
        ));
        let setup = session_failure(Some(1008), Some("expected setup message")).to_string();
        assert!(setup.contains("refused the session (1008: expected setup message)"), "{setup}");
        let internal = session_failure(Some(1011), Some("internal error")).to_string();
        assert!(internal.contains("failed on its side (1011: internal error)"), "{internal}");
    }

    #[test]
    fn setup_carries_the_model_format_and_config_as_a_string() {
        let setup = setup_message(&GradiumOptions::default(), Some("fr"));
        assert_eq!(
            setup,
            json!({"type": "setup", "model_name": "default", "input_format": "pcm", "json_config": "{\"language\":\"fr\"}"})
        );
        assert!(setup_message(&GradiumOptions::default(), None).get("json_config").is_none());
    }
}
