//! 60db's live transcription over its WebSocket (`/ws/stt?apiKey=…`, `shared/PROTOCOLS.md`
//! §4). The handshake comes in either documented order and shape (`connecting` →
//! `connection_established` → `connected`, or a `connected` first; a top-level key or a
//! `type`): `start` goes once, on the first of `connection_established` / `connected`, and
//! audio waits in a buffer until `session_started`. Audio is base64 s16le at the configured
//! rate. Each `transcription` belongs to a sentence (`sentence_id`): partials are the
//! hypothesis; a final one is a segment with the sentence's revision key, so the refined
//! version (`speech_final: true`, with a context) replaces it in place. The stop is `stop`,
//! answered by `session_stopped`, then the close.
//!
//! 60db gives sentences no times: a sentence starts where speech was last said to start (or
//! where the previous one ended) and ends where the audio sent stood when it became final,
//! less the `utterance_end_ms` of silence that ended it.

use super::http::one_line_excerpt;
use super::live_socket::{Incoming, LiveServiceEngine, LiveSocket};
use super::options::validate_language_code;
use super::{ApiKey, CloudOptions, CloudService, SixtyDbOptions, language_to_request};
use crate::engine::live::{
    AudioPiece, FeedItem, LiveAudio, LiveEngine, LiveFeed, LiveOptions, LiveResampler, SIXTYDB_MAX_LANGUAGES, Timeline,
    pcm16_base64,
};
use crate::engine::{EngineError, EngineOutcome, TranscribeOptions};
use crate::events::{EventSink, Segment};
use async_trait::async_trait;
use reqwest::Url;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const WS_PATH: &str = "/ws/stt";

/// 60db, live. Its `url` is the socket address without the key, added only when connecting.
pub type SixtyDbLiveEngine = LiveServiceEngine<SixtyDbOptions>;

impl SixtyDbLiveEngine {
    /// The engine with the file engine's settings (languages, context, keywords, diarize,
    /// endpoint) and the live ones. Fails with a one-line message when one is not valid.
    pub fn new(cloud: &CloudOptions, live: &LiveOptions, key: ApiKey) -> Result<SixtyDbLiveEngine, EngineError> {
        let own = (&cloud.sixtydb, cloud.sixtydb.validate());
        LiveServiceEngine::build(CloudService::SixtyDb, cloud, own, cloud.sixtydb.endpoint.as_deref(), WS_PATH, live, key)
    }

    /// The `start` message, after the checks 60db would make (at most five languages, each
    /// a code; the rate and `utterance_end_ms` are checked with the live options).
    fn start_message(&self, options: &TranscribeOptions) -> Result<Value, EngineError> {
        let language = language_to_request(CloudService::SixtyDb, options)?;
        let languages: Vec<String> = if self.options.languages.is_empty() {
            language.into_iter().collect()
        } else {
            self.options.languages.clone()
        };
        if languages.len() > SIXTYDB_MAX_LANGUAGES {
            return Err(EngineError::Service(format!(
                "60db takes at most 5 candidate languages live, not {}; drop some of --languages",
                languages.len()
            )));
        }
        for code in &languages {
            validate_language_code(code).map_err(EngineError::Service)?;
        }
        let mut start = json!({
            "type": "start",
            "config": {
                "encoding": "linear",
                "sample_rate": self.live.sixtydb_sample_rate_hz,
                "utterance_end_ms": self.live.sixtydb_utterance_end_ms,
                "continuous_mode": true,
                "diarize": self.options.diarize,
            }
        });
        if !languages.is_empty() {
            start["languages"] = json!(languages);
        }
        if let Some(context) = self.context(options) {
            start["context"] = context;
        }
        Ok(start)
    }

    /// `context`: the session's description (or the shared prompt) as `text`, the boosted
    /// keywords (without their weights) as `terms`; `None` when there is neither.
    fn context(&self, options: &TranscribeOptions) -> Option<Value> {
        let text = self.options.context.clone().or_else(|| options.prompt.clone()).filter(|text| !text.trim().is_empty());
        let terms: Vec<String> = self
            .options
            .keywords
            .iter()
            .flat_map(|keywords| keywords.split(','))
            .map(|entry| entry.rsplit_once(':').map_or(entry, |(term, _)| term).trim().to_string())
            .filter(|term| !term.is_empty())
            .collect();
        let mut context = serde_json::Map::new();
        if let Some(text) = text {
            context.insert("text".into(), text.into());
        }
        if !terms.is_empty() {
            context.insert("terms".into(), json!(terms));
        }
        (!context.is_empty()).then_some(Value::Object(context))
    }

    fn url_with_key(&self) -> Url {
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("apiKey", self.key.expose());
        url
    }
}

#[async_trait]
impl LiveEngine for SixtyDbLiveEngine {
    fn name(&self) -> &str {
        "60db"
    }

    async fn transcribe_live(
        &self,
        audio: LiveAudio,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        let start = self.start_message(options)?;
        let mut feed = LiveFeed::new(audio, &self.live);
        let socket = LiveSocket::connect(CloudService::SixtyDb, &self.url_with_key(), &[], &self.network, &self.key, cancel)
            .await?;
        let mut run = Run {
            engine: self,
            sink,
            cancel,
            socket,
            start,
            start_sent: false,
            started: false,
            connected_at: Instant::now(),
            buffered: Vec::new(),
            resampler: LiveResampler::new(self.live.sixtydb_sample_rate_hz),
            timeline: Timeline::default(),
            sentences: HashMap::new(),
            speech_started_s: None,
            last_end_s: 0.0,
            stop_sent: false,
            stopped: false,
            language: None,
            open_partial: None,
        };
        let mut result = run.stream(&mut feed).await;
        if result.is_ok() {
            result = run.finish().await;
        }
        if result.is_err()
            && let Some(partial) = run.open_partial.take()
        {
            // The sentence being spoken when it broke: its last partial is what was heard.
            sink.segment(partial);
        }
        result?;
        Ok(EngineOutcome { language: run.language, duration_s: Some(feed.heard_s) })
    }
}

/// A sentence's place in the recording, fixed when it first became final.
#[derive(Debug, Clone, Copy)]
struct SentenceTimes {
    start_s: f64,
    end_s: Option<f64>,
}

struct Run<'a> {
    engine: &'a SixtyDbLiveEngine,
    sink: &'a EventSink,
    cancel: &'a CancellationToken,
    socket: LiveSocket,
    start: Value,
    start_sent: bool,
    /// `session_started` arrived: audio may go.
    started: bool,
    connected_at: Instant,
    /// Audio waiting for `session_started`.
    buffered: Vec<AudioPiece>,
    resampler: LiveResampler,
    timeline: Timeline,
    sentences: HashMap<i64, SentenceTimes>,
    /// Where the service last said speech started, in recording time.
    speech_started_s: Option<f64>,
    last_end_s: f64,
    stop_sent: bool,
    stopped: bool,
    language: Option<String>,
    /// The latest partial of a sentence not yet final, as the segment it would make.
    open_partial: Option<Segment>,
}

impl Run<'_> {
    async fn stream(&mut self, feed: &mut LiveFeed) -> Result<(), EngineError> {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                incoming = self.socket.next() => self.on_incoming(incoming).await?,
                item = feed.next() => match item {
                    FeedItem::Audio(piece) => {
                        let resampled = self.resampler.push(piece)?;
                        self.send_audio(resampled).await?;
                    }
                    FeedItem::Pause => self.pause().await?,
                    FeedItem::End => return Ok(()),
                },
                _ = tick.tick() => self.check_handshake()?,
            }
        }
    }

    /// After the stop: the last audio (once the session has started), `stop`, and the last
    /// sentences until `session_stopped` or the close.
    async fn finish(&mut self) -> Result<(), EngineError> {
        let rest = self.resampler.drain()?;
        self.send_audio(rest).await?;
        let timeout_s = self.engine.live.finish_timeout_s;
        let mut deadline = Instant::now() + Duration::from_secs_f64(timeout_s);
        while !self.stopped {
            if self.started && !self.stop_sent {
                self.socket.send_json(&json!({"type": "stop"})).await?;
                self.stop_sent = true;
                deadline = Instant::now() + Duration::from_secs_f64(timeout_s);
            }
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(EngineError::Cancelled),
                incoming = self.socket.next() => self.on_incoming(incoming).await?,
                _ = tokio::time::sleep_until(deadline) => {
                    self.check_handshake()?;
                    self.sink.warning(format!("60db did not confirm the end of the session within {timeout_s} s; what it sent is kept"));
                    break;
                }
            }
        }
        self.socket.close().await;
        Ok(())
    }

    /// Audio goes out once the session has started; before, it waits.
    async fn send_audio(&mut self, piece: AudioPiece) -> Result<(), EngineError> {
        if piece.samples.is_empty() {
            return Ok(());
        }
        if !self.started {
            self.buffered.push(piece);
            return Ok(());
        }
        let rate_hz = self.engine.live.sixtydb_sample_rate_hz;
        let message = json!({
            "type": "audio",
            "audio": pcm16_base64(&piece.samples),
            "encoding": "linear",
            "sample_rate": rate_hz,
        });
        self.socket.send_json(&message).await?;
        self.timeline.sent(Some(piece.start_s), piece.samples.len(), rate_hz);
        Ok(())
    }

    /// At a pause no audio comes, so 60db would not hear the silence that ends a sentence:
    /// send that much silence (not part of the recording) after what the filter held.
    async fn pause(&mut self) -> Result<(), EngineError> {
        let rest = self.resampler.drain()?;
        self.send_audio(rest).await?;
        if !self.started {
            return Ok(());
        }
        let rate_hz = self.engine.live.sixtydb_sample_rate_hz;
        let silence = vec![0.0; (u64::from(rate_hz) * u64::from(self.engine.live.sixtydb_utterance_end_ms) / 1000) as usize];
        let message = json!({"type": "audio", "audio": pcm16_base64(&silence), "encoding": "linear", "sample_rate": rate_hz});
        self.socket.send_json(&message).await?;
        self.timeline.sent(None, silence.len(), rate_hz);
        Ok(())
    }

    /// `session_started` must come within the connect timeout.
    fn check_handshake(&self) -> Result<(), EngineError> {
        let wait_s = self.engine.network.connect_timeout_s;
        if !self.started && self.connected_at.elapsed().as_secs_f64() > wait_s {
            return Err(EngineError::Service(format!(
                "60db did not start the session within {wait_s} s of connecting; try again"
            )));
        }
        Ok(())
    }

    async fn on_incoming(&mut self, incoming: Incoming) -> Result<(), EngineError> {
        match incoming {
            Incoming::Text(text) => {
                let message: Value = serde_json::from_str(&text).map_err(|_| {
                    EngineError::Service(format!(
                        "60db sent a message that is not valid ({}); the text so far is kept",
                        one_line_excerpt(&text.chars().take(80).collect::<String>())
                    ))
                })?;
                self.on_message(&message).await
            }
            Incoming::Closed { code, reason } => {
                if self.stop_sent && matches!(code, None | Some(1000)) {
                    self.stopped = true;
                    return Ok(());
                }
                Err(failure(code.map(|code| code.to_string()).as_deref(), &reason))
            }
            Incoming::Lost(detail) => Err(EngineError::Service(format!(
                "the connection to 60db was lost ({detail}); the text so far is kept"
            ))),
        }
    }

    async fn on_message(&mut self, message: &Value) -> Result<(), EngineError> {
        match message_kind(message) {
            Some("connection_established" | "connected") if !self.start_sent => {
                self.socket.send_json(&self.start).await?;
                self.start_sent = true;
            }
            Some("session_started") => {
                self.started = true;
                for piece in std::mem::take(&mut self.buffered) {
                    self.send_audio(piece).await?;
                }
            }
            Some("speech_started") => self.speech_started_s = Some(self.timeline.recording_end_s()),
            Some("transcription") => self.on_transcription(message),
            Some("language_changed") | Some("language_detected") => {
                if let Some(language) = message.get("language").and_then(Value::as_str) {
                    self.language = Some(language.to_string());
                }
            }
            Some("session_stopped") => self.stopped = true,
            Some("error") => {
                let text = |field: &str| message.get(field).and_then(Value::as_str).map(str::to_string);
                let reason = text("error").or_else(|| text("message")).unwrap_or_default();
                return Err(failure(text("error_code").as_deref(), &reason));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_transcription(&mut self, message: &Value) {
        let flag = |field: &str| message.get(field).and_then(Value::as_bool);
        let text = message.get("text").and_then(Value::as_str).unwrap_or_default().trim().to_string();
        let sentence_id = message.get("sentence_id").and_then(Value::as_i64);
        if let Some(language) = message.get("language").and_then(Value::as_str) {
            self.language = Some(language.to_string());
        }
        let is_final = (flag("is_final") == Some(true) || flag("speech_final") == Some(true)) && flag("is_partial") != Some(true);
        let now_s = self.timeline.recording_end_s();
        let fallback_start_s = self.speech_started_s.unwrap_or(self.last_end_s).max(self.last_end_s).min(now_s);
        let times = match sentence_id {
            Some(id) => *self.sentences.entry(id).or_insert(SentenceTimes { start_s: fallback_start_s, end_s: None }),
            None => SentenceTimes { start_s: fallback_start_s, end_s: None },
        };
        let revision_key = sentence_id.map(|id| format!("60db:{id}"));
        if !is_final {
            self.sink.hypothesis(text.clone(), Some(times.start_s));
            self.open_partial = (!text.is_empty()).then(|| Segment {
                start_s: times.start_s,
                end_s: now_s.max(times.start_s),
                text,
                speaker: None,
                words: Vec::new(),
                revision_key,
                ..Default::default()
            });
            return;
        }
        if self.open_partial.as_ref().is_some_and(|partial| partial.revision_key == revision_key) {
            self.open_partial = None;
        }
        let utterance_end_s = f64::from(self.engine.live.sixtydb_utterance_end_ms) / 1000.0;
        let end_s = times.end_s.unwrap_or_else(|| (now_s - utterance_end_s).max(times.start_s));
        if let Some(id) = sentence_id {
            self.sentences.insert(id, SentenceTimes { end_s: Some(end_s), ..times });
        }
        self.last_end_s = self.last_end_s.max(end_s);
        self.speech_started_s = None;
        if text.is_empty() {
            return;
        }
        self.sink.segment(Segment {
            start_s: times.start_s,
            end_s,
            text,
            speaker: None,
            words: Vec::new(),
            revision_key,
            ..Default::default()
        });
    }
}

/// What a message is: its `type`, or (the Quick Start's shape) its one known top-level key.
fn message_kind(message: &Value) -> Option<&str> {
    if let Some(kind) = message.get("type").and_then(Value::as_str) {
        return Some(kind);
    }
    const KEYED: [&str; 5] = ["connection_established", "session_started", "session_stopped", "connecting", "error"];
    KEYED.into_iter().find(|key| message.get(key).is_some())
}

/// An `error` message or a close: out of credit, a refused key, or anything else, in 60db's
/// words.
fn failure(code: Option<&str>, reason: &str) -> EngineError {
    let reason = reason.trim();
    let code = code.unwrap_or_default();
    let detail = match (code.is_empty(), reason.is_empty()) {
        (false, false) => format!("{code}: {reason}"),
        (false, true) => code.to_string(),
        (true, false) => reason.to_string(),
        (true, true) => "no reason given".to_string(),
    };
    let said = format!("{code} {reason}").to_ascii_uppercase();
    if ["INSUFFICIENT_CREDITS", "ZERO_BALANCE"].iter().any(|word| said.contains(word)) {
        return EngineError::Service(format!(
            "60db is out of credit ({detail}); top up the 60db account, then transcribe the recording from its file"
        ));
    }
    let about_key = ["UNAUTHENTICATED", "UNAUTHORIZED", "API KEY", "APIKEY", "INVALID_API_KEY", "INVALID KEY"]
        .iter()
        .any(|word| said.contains(word));
    if about_key {
        return EngineError::KeyRejected { service: CloudService::SixtyDb, detail };
    }
    EngineError::Service(format!("60db stopped the live session ({detail}); the text so far is kept"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(sixtydb: SixtyDbOptions, live: LiveOptions) -> Result<SixtyDbLiveEngine, EngineError> {
        let cloud = CloudOptions { sixtydb, ..CloudOptions::default() };
        SixtyDbLiveEngine::new(&cloud, &live, ApiKey::new("secret-key-123").unwrap())
    }

    #[test]
    fn both_handshake_shapes_are_recognised() {
        assert_eq!(message_kind(&json!({"connection_established": {"service": "stt"}})), Some("connection_established"));
        assert_eq!(message_kind(&json!({"type": "connected", "service": "stt"})), Some("connected"));
        assert_eq!(message_kind(&json!({"connecting": true})), Some("connecting"));
        assert_eq!(message_kind(&json!({"session_started": {"session_id": "s"}})), Some("session_started"));
        assert_eq!(message_kind(&json!({"hello": 1})), None);
    }

    #[test]
    fn start_holds_the_config_languages_and_context_and_limits_are_checked() {
        let sixtydb = SixtyDbOptions {
            languages: vec!["en".into(), "hi".into()],
            context: Some("cardiology rounds".into()),
            keywords: Some("Acme:5,XYZ Pharma".into()),
            ..SixtyDbOptions::default()
        };
        let start = engine(sixtydb, LiveOptions::default()).unwrap().start_message(&TranscribeOptions::default()).unwrap();
        assert_eq!(
            start,
            json!({"type": "start", "languages": ["en", "hi"],
                   "context": {"text": "cardiology rounds", "terms": ["Acme", "XYZ Pharma"]},
                   "config": {"encoding": "linear", "sample_rate": 16000, "utterance_end_ms": 500, "continuous_mode": true, "diarize": false}})
        );
        let six = SixtyDbOptions { languages: ["en", "hi", "fr", "de", "es", "pt"].map(String::from).to_vec(), ..SixtyDbOptions::default() };
        let error = engine(six, LiveOptions::default()).unwrap().start_message(&TranscribeOptions::default()).unwrap_err();
        assert!(error.to_string().contains("at most 5"), "{error}");
        let short = LiveOptions { sixtydb_utterance_end_ms: 100, ..LiveOptions::default() };
        assert!(engine(SixtyDbOptions::default(), short).is_err());
        let rate = LiveOptions { sixtydb_sample_rate_hz: 11_025, ..LiveOptions::default() };
        assert!(engine(SixtyDbOptions::default(), rate).is_err());
    }

    #[test]
    fn the_key_goes_in_the_query_only_when_connecting() {
        let engine = engine(SixtyDbOptions::default(), LiveOptions::default()).unwrap();
        assert_eq!(engine.url.as_str(), "wss://api.60db.ai/ws/stt");
        assert_eq!(engine.url_with_key().as_str(), "wss://api.60db.ai/ws/stt?apiKey=secret-key-123");
    }

    #[test]
    fn failures_tell_credit_keys_and_the_rest_apart() {
        assert!(failure(Some("1008"), "INSUFFICIENT_CREDITS").to_string().contains("out of credit"));
        assert!(matches!(failure(Some("UNAUTHENTICATED"), "Invalid API key"), EngineError::KeyRejected { .. }));
        let other = failure(Some("1011"), "boom").to_string();
        assert!(other.contains("1011: boom") && other.contains("kept"), "{other}");
    }
}
