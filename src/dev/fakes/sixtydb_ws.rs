//! The fake 60db WebSocket, `GET /ws/stt?apiKey=…` (`shared/PROTOCOLS.md` §4): no key is HTTP
//! 401, a wrong one an `error` (`UNAUTHENTICATED`) and a 1008 close. The handshake comes in
//! the lifecycle order (`{"connecting":true}`, `{"connection_established":{…}}`,
//! `{"type":"connected"}`) or, with [`Scenario::HandshakeConnectedFirst`], the Quick Start's
//! (`connected` first, then a typed `connection_established`). `start` is checked (encoding,
//! rate, ≤ 5 languages, `utterance_end_ms` ≥ 300) and answered by `session_started`; audio
//! before it is refused with a 1008 close. Audio is checked (base64 s16le, the declared
//! `encoding` and `sample_rate`); `stop` → the last sentence, `session_stopped` with a billing
//! summary, a normal close.
//!
//! Its text comes from the audio: a sentence is a stretch louder than [`SPEECH_LEVEL_DB`]
//! ended by `utterance_end_ms` of silence, announced by `speech_started`, shown by interim
//! partials every half second, then final (`sentence 3 with 2.4 s of speech at -23 dB`). With a
//! `context` in `start`, the final first comes with `speech_final: false` and, after the next
//! sentence's final (or at the stop), again refined with `speech_final: true`
//! (`Sentence 3 … -23 dB.`).

use super::live::{SPEECH_LEVEL_DB, SharedRecord, close, decode_pcm16, level_db, next_json, send_json, update};
use super::{FakeState, Scenario};
use crate::engine::live::{SIXTYDB_MAX_LANGUAGES, SIXTYDB_MIN_UTTERANCE_END_MS, SIXTYDB_SAMPLE_RATES_HZ};
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const PATH: &str = "/ws/stt";
/// Seconds of audio after which `drop-mid-stream` cuts the connection (after a sentence or
/// two of the test recordings).
const DROP_AFTER_S: f64 = 6.0;

pub(super) async fn upgrade(State(state): State<Arc<FakeState>>, RawQuery(query): RawQuery, upgrade: WebSocketUpgrade) -> Response {
    let key = query.as_deref().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "apiKey").map(|(_, value)| value.into_owned())
    });
    let Some(key) = key else {
        let body = json!({"success": false, "error": "UNAUTHENTICATED", "message": "apiKey is required"});
        return (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    };
    let accepted = key == state.config.key && state.config.scenario != Scenario::Unauthorized;
    let record = state.new_live_session(PATH, query.as_deref(), accepted);
    upgrade.on_upgrade(move |socket| async move {
        let mut session = FakeSession { state, record, socket };
        session.run(accepted).await;
    })
}

struct FakeSession {
    state: Arc<FakeState>,
    record: SharedRecord,
    socket: WebSocket,
}

/// What `start` set.
#[derive(Debug)]
struct Started {
    rate_hz: u32,
    listener: Listener,
}

impl FakeSession {
    async fn run(&mut self, accepted: bool) {
        if !accepted {
            update(&self.record, |record| record.ended_by = Some("key".into()));
            let refusal = json!({"type": "error", "error": "Invalid API key", "error_code": "UNAUTHENTICATED"});
            send_json(&mut self.socket, refusal).await;
            return close(&mut self.socket, 1008, "UNAUTHENTICATED").await;
        }
        if !self.handshake().await {
            return;
        }
        let mut started: Option<Started> = None;
        while let Some(message) = next_json(&mut self.socket).await {
            let message = match message {
                Ok(message) => message,
                // Raw binary frames (μ-law) are documented; this fake only takes JSON.
                Err(what) => return self.refuse("UNSUPPORTED_AUDIO", &format!("this fake takes only JSON audio, not {what}")).await,
            };
            let kind = message.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            if kind != "audio" {
                update(&self.record, |record| record.control.push(message.clone()));
            }
            let replies = match (kind.as_str(), started.as_mut()) {
                ("start", None) => match start_config(&message) {
                    Ok(config) => {
                        update(&self.record, |record| record.declared_rate_hz = Some(config.rate_hz));
                        let reply = json!({"type": "session_started", "session_id": "sess_fake", "config": message["config"]});
                        started = Some(config);
                        vec![reply]
                    }
                    Err(problem) => return self.refuse("INVALID_CONFIG", &problem).await,
                },
                ("start", Some(_)) => return self.refuse("ALREADY_STARTED", "the session has already started").await,
                ("audio", None) => return self.refuse("AUDIO_BEFORE_START", "audio arrived before session_started").await,
                ("audio", Some(started)) => match self.on_audio(&message, started) {
                    Ok(replies) => replies,
                    Err(problem) => return self.refuse("INVALID_AUDIO", &problem).await,
                },
                ("stop", started) => {
                    let (mut replies, heard_s) = match started {
                        Some(started) => (started.listener.finish(), started.listener.heard_s()),
                        None => (Vec::new(), 0.0),
                    };
                    replies.push(json!({"type": "session_stopped", "billing": {"duration_sec": heard_s, "credits_used": heard_s / 60.0}}));
                    update(&self.record, |record| record.ended_by = Some("client".into()));
                    for reply in replies {
                        send_json(&mut self.socket, reply).await;
                    }
                    return close(&mut self.socket, 1000, "").await;
                }
                ("config" | "test", _) => Vec::new(),
                (other, _) => return self.refuse("UNKNOWN_MESSAGE", &format!("unknown message type '{other}'")).await,
            };
            for reply in replies {
                if !send_json(&mut self.socket, reply).await {
                    return;
                }
            }
            if self.strike_mid_session(started.as_ref().map_or(0.0, |started| started.listener.heard_s())).await {
                return;
            }
        }
        update(&self.record, |record| {
            record.ended_by.get_or_insert_with(|| "client went away".into());
        });
    }

    /// The documented handshake in the scenario's order; `false` if the client left.
    async fn handshake(&mut self) -> bool {
        let messages = if self.state.config.scenario == Scenario::HandshakeConnectedFirst {
            vec![json!({"type": "connected", "service": "stt"}), json!({"type": "connection_established", "service": "stt", "version": "1"})]
        } else {
            vec![
                json!({"connecting": true, "service": "stt"}),
                json!({"connection_established": {"service": "stt", "version": "1"}}),
                json!({"type": "connected", "service": "stt"}),
            ]
        };
        for message in messages {
            if !send_json(&mut self.socket, message).await {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    fn on_audio(&mut self, message: &Value, started: &mut Started) -> Result<Vec<Value>, String> {
        let encoding = message.get("encoding").and_then(Value::as_str);
        if encoding != Some("linear") {
            return Err(format!("audio encoding {encoding:?} where start said linear"));
        }
        let rate = message.get("sample_rate").and_then(Value::as_u64);
        if rate != Some(u64::from(started.rate_hz)) {
            return Err(format!("audio at sample_rate {rate:?} where start said {}", started.rate_hz));
        }
        let audio = message.get("audio").and_then(Value::as_str).ok_or("an audio message without an `audio` string")?;
        let samples = decode_pcm16(audio)?;
        update(&self.record, |record| {
            record.frame_samples.push(samples.len());
            record.samples.extend_from_slice(&samples);
        });
        Ok(started.listener.hear(&samples))
    }

    /// The mid-session scenarios, after some audio: `true` when the session ended.
    async fn strike_mid_session(&mut self, heard_s: f64) -> bool {
        match self.state.config.scenario {
            Scenario::DropMidStream if heard_s >= DROP_AFTER_S => {
                update(&self.record, |record| record.ended_by = Some("scenario".into()));
                true // dropping the socket cuts the connection without a close
            }
            Scenario::PaymentRequired if heard_s >= 2.0 => {
                update(&self.record, |record| record.ended_by = Some("scenario".into()));
                close(&mut self.socket, 1008, "INSUFFICIENT_CREDITS").await;
                true
            }
            _ => false,
        }
    }

    /// `error` with 60db's code, then a 1008 close.
    async fn refuse(&mut self, error_code: &str, problem: &str) {
        update(&self.record, |record| {
            record.violations.push(format!("{error_code}: {problem}"));
            record.ended_by = Some("violation".into());
        });
        send_json(&mut self.socket, json!({"type": "error", "error": problem, "error_code": error_code})).await;
        close(&mut self.socket, 1008, error_code).await;
    }
}

/// Checks `start` as 60db documents it.
fn start_config(start: &Value) -> Result<Started, String> {
    let config = start.get("config").ok_or("start needs a config")?;
    if config.get("encoding").and_then(Value::as_str) != Some("linear") {
        return Err("config.encoding must be linear for base64 PCM".into());
    }
    let rate_hz = config.get("sample_rate").and_then(Value::as_u64).and_then(|rate| u32::try_from(rate).ok()).unwrap_or(0);
    if !SIXTYDB_SAMPLE_RATES_HZ.contains(&rate_hz) {
        return Err(format!("config.sample_rate must be one of 8000, 16000, 24000, 44100, 48000, not {}", config["sample_rate"]));
    }
    let utterance_end_ms = config.get("utterance_end_ms").and_then(Value::as_u64).unwrap_or(1000);
    if utterance_end_ms < u64::from(SIXTYDB_MIN_UTTERANCE_END_MS) {
        return Err(format!("config.utterance_end_ms must be at least 300, not {utterance_end_ms}"));
    }
    let languages = start.get("languages").and_then(Value::as_array).map_or(0, Vec::len);
    if languages > SIXTYDB_MAX_LANGUAGES {
        return Err(format!("at most 5 languages, not {languages}"));
    }
    let language = start.pointer("/languages/0").and_then(Value::as_str).unwrap_or("en").to_string();
    let refine = start.get("context").is_some();
    Ok(Started { rate_hz, listener: Listener::new(rate_hz, utterance_end_ms, refine, language) })
}

/// Interim partials come every half second of a sentence.
const PARTIAL_EVERY_CHUNKS: u32 = 5;

/// Turns a session's audio into 60db's sentence messages.
#[derive(Debug)]
struct Listener {
    rate_hz: u32,
    /// `utterance_end_ms` in 100 ms chunks.
    utterance_end_chunks: u32,
    refine: bool,
    language: String,
    /// Samples not yet a whole 100 ms chunk.
    chunk: Vec<i16>,
    heard: usize,
    sentence_id: i64,
    /// The sentence being heard: its loud samples, its length so far and its trailing
    /// silence in 100 ms chunks, when its next partial is due.
    speech: Vec<i16>,
    sentence_chunks: u32,
    silence_chunks: u32,
    next_partial_chunks: u32,
    /// A refined final due after the next sentence's final (or at the stop).
    refinement: Option<Value>,
}

impl Listener {
    fn new(rate_hz: u32, utterance_end_ms: u64, refine: bool, language: String) -> Listener {
        Listener {
            rate_hz,
            utterance_end_chunks: u32::try_from(utterance_end_ms.div_ceil(100)).unwrap_or(u32::MAX),
            refine,
            language,
            chunk: Vec::new(),
            heard: 0,
            sentence_id: 1,
            speech: Vec::new(),
            sentence_chunks: 0,
            silence_chunks: 0,
            next_partial_chunks: PARTIAL_EVERY_CHUNKS,
            refinement: None,
        }
    }

    fn heard_s(&self) -> f64 {
        self.heard as f64 / f64::from(self.rate_hz)
    }

    fn hear(&mut self, samples: &[i16]) -> Vec<Value> {
        let mut replies = Vec::new();
        self.heard += samples.len();
        self.chunk.extend_from_slice(samples);
        let chunk_samples = (self.rate_hz / 10) as usize;
        while self.chunk.len() >= chunk_samples {
            let rest = self.chunk.split_off(chunk_samples);
            let chunk = std::mem::replace(&mut self.chunk, rest);
            replies.extend(self.hear_chunk(&chunk));
        }
        replies
    }

    fn hear_chunk(&mut self, chunk: &[i16]) -> Vec<Value> {
        let loud = level_db(chunk) >= SPEECH_LEVEL_DB;
        let mut replies = Vec::new();
        if loud && self.sentence_chunks == 0 {
            replies.push(json!({"type": "speech_started", "sentence_id": self.sentence_id}));
        }
        if loud {
            self.speech.extend_from_slice(chunk);
            self.silence_chunks = 0;
        } else if self.sentence_chunks > 0 {
            self.silence_chunks += 1;
        }
        if loud || self.sentence_chunks > 0 {
            self.sentence_chunks += 1;
        }
        if self.sentence_chunks >= self.next_partial_chunks && self.silence_chunks == 0 {
            self.next_partial_chunks += PARTIAL_EVERY_CHUNKS;
            let text = format!("sentence {} so far {:.1} s", self.sentence_id, f64::from(self.sentence_chunks) / 10.0);
            replies.push(self.transcription(text, false, false));
        }
        if self.sentence_chunks > 0 && self.silence_chunks >= self.utterance_end_chunks {
            replies.extend(self.end_sentence());
        }
        replies
    }

    /// The sentence's final; with a context, the refinement of the previous sentence follows
    /// it (so a sentence is refined after the next one has been appended), and this one's is
    /// kept for later.
    fn end_sentence(&mut self) -> Vec<Value> {
        let speech_s = self.speech.len() as f64 / f64::from(self.rate_hz);
        let level = level_db(&self.speech);
        let draft = format!("sentence {} with {speech_s:.1} s of speech at {level:.0} dB", self.sentence_id);
        let mut replies = vec![self.transcription(draft.clone(), true, !self.refine)];
        if self.refine {
            let refined = format!("S{}.", draft.trim_start_matches('s'));
            let refined = self.transcription(refined, true, true);
            replies.extend(self.refinement.replace(refined));
        }
        self.sentence_id += 1;
        self.speech.clear();
        self.sentence_chunks = 0;
        self.silence_chunks = 0;
        self.next_partial_chunks = PARTIAL_EVERY_CHUNKS;
        replies
    }

    /// At `stop`: the sentence being heard ends, and a refinement still due goes out.
    fn finish(&mut self) -> Vec<Value> {
        let mut replies = if self.sentence_chunks > 0 { self.end_sentence() } else { Vec::new() };
        replies.extend(self.refinement.take());
        replies
    }

    fn transcription(&self, text: String, is_final: bool, speech_final: bool) -> Value {
        let mut message = json!({"type": "transcription", "text": text, "confidence": 0.87, "language": self.language,
            "is_final": is_final, "speech_final": speech_final, "sentence_id": self.sentence_id});
        if !is_final {
            message["is_partial"] = json!(true);
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(config: Value) -> Result<Started, String> {
        start_config(&json!({"type": "start", "config": config}))
    }

    #[test]
    fn start_is_checked_like_the_service() {
        assert!(start(json!({"encoding": "linear", "sample_rate": 16000, "utterance_end_ms": 500})).is_ok());
        assert!(start(json!({"encoding": "linear", "sample_rate": 22050})).unwrap_err().contains("sample_rate"));
        assert!(start(json!({"encoding": "linear", "sample_rate": 16000, "utterance_end_ms": 200})).unwrap_err().contains("300"));
        assert!(start(json!({"encoding": "mulaw", "sample_rate": 16000})).is_err());
        let six = json!({"type": "start", "languages": ["a", "b", "c", "d", "e", "f"], "config": {"encoding": "linear", "sample_rate": 16000}});
        assert!(start_config(&six).is_err());
    }

    #[test]
    fn a_sentence_has_partials_a_final_and_with_context_a_later_refinement() {
        let mut listener = Listener::new(16_000, 500, true, "en".into());
        let mut replies = listener.hear(&vec![8000_i16; 16_000]);
        replies.extend(listener.hear(&vec![0_i16; 16_000]));
        let kinds: Vec<String> = replies
            .iter()
            .map(|m| format!("{}{}", m["type"].as_str().unwrap(), if m["is_partial"] == true { "-partial" } else if m["speech_final"] == false { "-draft" } else { "" }))
            .collect();
        assert_eq!(kinds, ["speech_started", "transcription-partial", "transcription-partial", "transcription-draft"]);
        // The next sentence's final comes first, then the refinement of the first.
        let mut later = listener.hear(&vec![8000_i16; 3200]);
        later.extend(listener.hear(&vec![0_i16; 8000]));
        let finals: Vec<_> = later.iter().filter(|m| m["is_final"] == true).collect();
        assert_eq!(finals.len(), 2);
        assert_eq!((finals[0]["sentence_id"].as_i64(), finals[0]["speech_final"].as_bool()), (Some(2), Some(false)));
        assert_eq!(finals[1]["text"], "Sentence 1 with 1.0 s of speech at -12 dB.");
        assert_eq!((finals[1]["sentence_id"].as_i64(), finals[1]["speech_final"].as_bool()), (Some(1), Some(true)));
        let last = listener.finish();
        assert_eq!(last[0]["text"], "Sentence 2 with 0.2 s of speech at -12 dB.");
    }
}
