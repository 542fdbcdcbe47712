//! The fake Gradium WebSocket, `GET /api/speech/asr` (`shared/PROTOCOLS.md` §1): the key in
//! `x-api-key` (none: HTTP 401; a wrong one: `error` 1008 and a 1008 close), `setup` first or
//! a 1008 close, `ready`, then base64 s16le `audio` checked frame by frame (1920 samples at
//! 24 kHz for `pcm`), a `step` per frame, `flush` → `flushed`, `end_of_stream` → the last
//! text, `end_of_stream` and a normal close. A session longer than the cap (300 s, shortened
//! by [`super::FakeConfig::live_session_cap`]) is closed with 1008.
//!
//! Its text is derived from the audio it received: one `text` per second of session time
//! that is louder than [`SPEECH_LEVEL_DB`], reading `level -23 dB` (that second's loudness),
//! closed by its `end_text` at the next frame; a flush closes the second so far. A test can
//! measure the same loudness at the segment's place in its own audio and so check the times.

use super::live::{SPEECH_LEVEL_DB, SharedRecord, close, decode_pcm16, level_db, next_json, send_json, update};
use super::{FakeState, Scenario};
use crate::engine::cloud::options::GRADIUM_LANGUAGES;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::time::Instant;

pub(crate) const PATH: &str = "/api/speech/asr";
/// Seconds of audio after which the mid-session scenarios strike.
const SCENARIO_AFTER_S: f64 = 3.0;

pub(super) async fn upgrade(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(key) = headers.get("x-api-key").and_then(|value| value.to_str().ok()).map(str::to_string) else {
        return (StatusCode::UNAUTHORIZED, "missing x-api-key header").into_response();
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

impl FakeSession {
    async fn run(&mut self, accepted: bool) {
        if !accepted {
            return self.refuse(1008, "API key is revoked or expired", "key").await;
        }
        let setup = match next_json(&mut self.socket).await {
            None => return,
            Some(Err(what)) => return self.violation(format!("the first message was {what}, not setup"), 1008, "expected a setup message first").await,
            Some(Ok(setup)) => setup,
        };
        let (rate_hz, problem) = check_setup(&setup);
        update(&self.record, |record| {
            record.control.push(setup.clone());
            record.declared_rate_hz = rate_hz;
        });
        if let Some((code, problem)) = problem {
            return self.violation(problem.clone(), code, &problem).await;
        }
        let rate_hz = rate_hz.unwrap_or(24_000);
        let frame_samples = (rate_hz as usize) * 80 / 1000;
        let ready = json!({"type": "ready", "request_id": "req_fake", "model_name": setup["model_name"],
            "sample_rate": rate_hz, "frame_size": frame_samples, "delay_in_frames": 0, "text_stream_names": []});
        if !send_json(&mut self.socket, ready).await {
            return;
        }
        let mut listener = Listener::new(rate_hz, frame_samples);
        self.listen(&mut listener).await;
    }

    async fn listen(&mut self, listener: &mut Listener) {
        let cap = self.state.config.live_session_cap;
        let deadline = Instant::now() + cap;
        loop {
            let message = tokio::select! {
                message = next_json(&mut self.socket) => message,
                _ = tokio::time::sleep_until(deadline) => return self.over_cap().await,
            };
            let message = match message {
                None => {
                    return update(&self.record, |record| {
                        record.ended_by.get_or_insert_with(|| "client went away".into());
                    });
                }
                Some(Err(what)) => return self.violation(format!("received {what}"), 1008, "audio must be JSON text messages").await,
                Some(Ok(message)) => message,
            };
            let kind = message.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            let replies = match kind.as_str() {
                "audio" => match self.on_audio(&message, listener) {
                    Ok(replies) => replies,
                    Err(problem) => return self.violation(problem.clone(), 1008, &problem).await,
                },
                "flush" | "end_of_stream" => {
                    update(&self.record, |record| {
                        record.control.push(message.clone());
                        if kind == "end_of_stream" {
                            record.ended_by = Some("client".into());
                        }
                    });
                    let mut replies = listener.flush();
                    replies.push(match kind.as_str() {
                        "flush" => json!({"type": "flushed", "flush_id": message.get("flush_id").cloned().unwrap_or(json!(0))}),
                        _ => json!({"type": "end_of_stream"}),
                    });
                    replies
                }
                other => return self.violation(format!("unknown message type '{other}'"), 1008, "unknown message type").await,
            };
            for reply in replies {
                if !send_json(&mut self.socket, reply).await {
                    return;
                }
            }
            if kind == "end_of_stream" {
                return close(&mut self.socket, 1000, "").await;
            }
            if listener.heard_s() > cap.as_secs_f64() {
                return self.over_cap().await;
            }
            if listener.heard_s() >= SCENARIO_AFTER_S {
                match self.state.config.scenario {
                    Scenario::ErrorMidStream => return self.refuse(1011, "internal server error", "scenario").await,
                    Scenario::DropMidStream => {
                        update(&self.record, |record| record.ended_by = Some("scenario".into()));
                        return; // dropping the socket cuts the connection without a close
                    }
                    _ => {}
                }
            }
        }
    }

    /// One `audio` message: checked, recorded, listened to.
    fn on_audio(&mut self, message: &Value, listener: &mut Listener) -> Result<Vec<Value>, String> {
        let audio = message.get("audio").and_then(Value::as_str).ok_or("an audio message without an `audio` string")?;
        let samples = decode_pcm16(audio)?;
        let frame_samples = listener.frame_samples;
        update(&self.record, |record| {
            if samples.len() != frame_samples {
                record.violations.push(format!("an audio frame of {} samples, not {frame_samples}", samples.len()));
            }
            record.frame_samples.push(samples.len());
            record.samples.extend_from_slice(&samples);
        });
        Ok(listener.hear(&samples))
    }

    async fn over_cap(&mut self) {
        let cap_s = self.state.config.live_session_cap.as_secs_f64();
        update(&self.record, |record| record.violations.push(format!("the session went past the {cap_s} s cap")));
        self.refuse(1008, &format!("session exceeded the maximum duration of {cap_s} s"), "cap").await
    }

    async fn violation(&mut self, problem: String, code: u16, message: &str) {
        update(&self.record, |record| record.violations.push(problem));
        self.refuse(code, message, "violation").await
    }

    /// `error` with the code, then a close with it.
    async fn refuse(&mut self, code: u16, message: &str, ended_by: &str) {
        update(&self.record, |record| record.ended_by = Some(ended_by.into()));
        send_json(&mut self.socket, json!({"type": "error", "message": message, "code": code})).await;
        close(&mut self.socket, code, message).await;
    }
}

/// The rate `setup` declares, and what is wrong with it (with the close code) if anything.
fn check_setup(setup: &Value) -> (Option<u32>, Option<(u16, String)>) {
    if setup.get("type").and_then(Value::as_str) != Some("setup") {
        return (None, Some((1008, "the first message must be setup".into())));
    }
    if !setup.get("model_name").is_some_and(Value::is_string) {
        return (None, Some((1008, "setup needs a model_name string".into())));
    }
    let rate_hz = match setup.get("input_format").and_then(Value::as_str) {
        Some("pcm") | Some("pcm_24000") => 24_000,
        Some("pcm_16000") => 16_000,
        Some("pcm_8000") => 8_000,
        other => return (None, Some((1008, format!("this fake takes only pcm input, not {other:?}")))),
    };
    let language = match setup.get("json_config") {
        None => None,
        Some(Value::String(config)) => match serde_json::from_str::<Value>(config) {
            Ok(Value::Object(config)) => config.get("language").and_then(Value::as_str).map(str::to_string),
            _ => return (Some(rate_hz), Some((1008, "json_config must be a JSON object encoded as a string".into()))),
        },
        Some(_) => return (Some(rate_hz), Some((1008, "json_config must be sent as a JSON-encoded string".into()))),
    };
    if let Some(language) = language
        && !GRADIUM_LANGUAGES.contains(&language.as_str())
    {
        return (Some(rate_hz), Some((1011, format!("unsupported language '{language}'"))));
    }
    (Some(rate_hz), None)
}

/// Turns the audio of one session into Gradium's messages.
struct Listener {
    rate_hz: u32,
    frame_samples: usize,
    /// Samples of the piece being heard, and where it starts (samples into the session).
    piece: Vec<i16>,
    piece_start: usize,
    heard: usize,
    /// The stop time of a `text` sent whose `end_text` is due.
    open_stop_s: Option<f64>,
    trailing_silence_s: f64,
    step_idx: u64,
}

impl Listener {
    fn new(rate_hz: u32, frame_samples: usize) -> Listener {
        Listener { rate_hz, frame_samples, piece: Vec::new(), piece_start: 0, heard: 0, open_stop_s: None, trailing_silence_s: 0.0, step_idx: 0 }
    }

    fn heard_s(&self) -> f64 {
        self.heard as f64 / f64::from(self.rate_hz)
    }

    /// A frame: the open piece's end, a `step`, and a `text` for each second completed.
    fn hear(&mut self, samples: &[i16]) -> Vec<Value> {
        let mut replies: Vec<Value> = self.open_stop_s.take().map(end_text).into_iter().collect();
        for chunk in samples.chunks(self.frame_samples.max(1)) {
            self.heard += chunk.len();
            let chunk_s = chunk.len() as f64 / f64::from(self.rate_hz);
            if level_db(chunk) < SPEECH_LEVEL_DB {
                self.trailing_silence_s += chunk_s;
            } else {
                self.trailing_silence_s = 0.0;
            }
            self.step_idx += 1;
            let vad: Vec<Value> = [0.5, 1.0, 2.0]
                .iter()
                .map(|horizon_s| json!({"horizon_s": horizon_s, "inactivity_prob": (self.trailing_silence_s / horizon_s).min(1.0)}))
                .collect();
            replies.push(json!({"type": "step", "vad": vad, "step_idx": self.step_idx, "step_duration_s": chunk_s, "total_duration_s": self.heard_s()}));
        }
        self.piece.extend_from_slice(samples);
        let second = self.rate_hz as usize;
        while self.piece.len() >= second {
            let rest = self.piece.split_off(second);
            let whole = std::mem::replace(&mut self.piece, rest);
            if let Some(text) = self.close_piece(&whole) {
                replies.push(text);
            }
        }
        replies
    }

    /// A flush or the end: the piece so far comes out at once, closed.
    fn flush(&mut self) -> Vec<Value> {
        let mut replies: Vec<Value> = self.open_stop_s.take().map(end_text).into_iter().collect();
        let piece = std::mem::take(&mut self.piece);
        if let Some(text) = self.close_piece(&piece) {
            replies.push(text);
            replies.extend(self.open_stop_s.take().map(end_text));
        }
        replies
    }

    /// A `text` for a piece loud enough to be speech; its `end_text` is left due.
    fn close_piece(&mut self, samples: &[i16]) -> Option<Value> {
        let rate = f64::from(self.rate_hz);
        let start_s = self.piece_start as f64 / rate;
        self.piece_start += samples.len();
        let level = level_db(samples);
        if samples.is_empty() || level < SPEECH_LEVEL_DB {
            return None;
        }
        self.open_stop_s = Some(self.piece_start as f64 / rate);
        Some(json!({"type": "text", "text": format!("level {level:.0} dB"), "start_s": start_s, "stream_id": null}))
    }
}

fn end_text(stop_s: f64) -> Value {
    json!({"type": "end_text", "stop_s": stop_s, "stream_id": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_is_checked_like_the_service() {
        let good = json!({"type": "setup", "model_name": "default", "input_format": "pcm", "json_config": "{\"language\":\"en\"}"});
        assert_eq!(check_setup(&good), (Some(24_000), None));
        let object_config = json!({"type": "setup", "model_name": "default", "input_format": "pcm", "json_config": {"language": "en"}});
        assert!(check_setup(&object_config).1.is_some());
        let italian = json!({"type": "setup", "model_name": "default", "input_format": "pcm", "json_config": "{\"language\":\"it\"}"});
        assert_eq!(check_setup(&italian).1.map(|(code, _)| code), Some(1011));
        assert!(check_setup(&json!({"type": "audio", "audio": ""})).1.is_some());
    }

    #[test]
    fn loud_seconds_become_pieces_closed_at_the_next_frame() {
        let mut listener = Listener::new(24_000, 1920);
        let loud = vec![8000_i16; 1920];
        let mut texts = Vec::new();
        for _ in 0..13 {
            texts.extend(listener.hear(&loud).into_iter().filter(|m| m["type"] != "step"));
        }
        // 13 frames = 1.04 s: one piece for the first second, open.
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0]["text"], "level -12 dB");
        let replies = listener.hear(&vec![0_i16; 1920]);
        assert!(replies.iter().any(|m| m["type"] == "end_text" && m["stop_s"] == 1.0));
        let flushed = listener.flush();
        assert_eq!(flushed.iter().filter(|m| m["type"] == "text").count(), 1);
        assert_eq!(flushed.last().unwrap()["type"], "end_text");
    }
}
