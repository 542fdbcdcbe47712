//! What the two fake live services share: the record of each WebSocket session (what the
//! client sent, measured by the fake's own code: message types, frame sizes, declared rate,
//! every sample, anything that broke the protocol), reading base64 s16le audio, and the
//! loudness measure both fakes derive their text from.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use base64::Engine as _;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// One live session as the fake saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSessionRecord {
    /// The request path of the upgrade.
    pub path: String,
    /// Query parameter names (values are not kept: one is the key).
    pub query_names: Vec<String>,
    /// Whether the key was sent and accepted.
    pub key_accepted: bool,
    /// Every message that is not audio, as received, in order (`setup`, `flush`, `start`,
    /// `stop`, `end_of_stream`…).
    pub control: Vec<Value>,
    /// The sample count of each audio message, in order.
    pub frame_samples: Vec<usize>,
    /// The rate the client declared (`setup`'s `input_format`, `start`'s `sample_rate`).
    pub declared_rate_hz: Option<u32>,
    /// Every sample received, in order.
    pub samples: Vec<i16>,
    /// What broke the documented protocol, in the fake's words (empty when all was right).
    pub violations: Vec<String>,
    /// How the session ended: `client` (the documented end), `cap`, `scenario`, `violation`.
    pub ended_by: Option<String>,
}

impl LiveSessionRecord {
    /// Seconds of audio received at the declared rate.
    pub fn audio_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.declared_rate_hz.unwrap_or(16_000).max(1))
    }

    /// The types of the control messages, in order.
    pub fn control_types(&self) -> Vec<String> {
        self.control.iter().map(|message| message.get("type").and_then(Value::as_str).unwrap_or("?").to_string()).collect()
    }
}

/// A session's record, shared with the server so tests can read it as it fills.
pub type SharedRecord = Arc<Mutex<LiveSessionRecord>>;

pub(crate) fn update(record: &SharedRecord, change: impl FnOnce(&mut LiveSessionRecord)) {
    change(&mut record.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
}

/// Decodes an `audio` field: base64 of little-endian 16-bit samples.
pub(crate) fn decode_pcm16(audio: &str) -> Result<Vec<i16>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(audio)
        .map_err(|error| format!("audio is not valid base64 ({error})"))?;
    if bytes.len() % 2 != 0 {
        return Err(format!("audio of {} bytes is not whole 16-bit samples", bytes.len()));
    }
    Ok(bytes.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect())
}

/// Loudness of samples in dB relative to full scale (-120 for silence).
pub fn level_db(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let power: f64 = samples.iter().map(|&s| (f64::from(s) / 32768.0).powi(2)).sum::<f64>() / samples.len() as f64;
    (10.0 * power.max(1e-12).log10()).max(-120.0)
}

/// Below this a stretch of audio counts as silence.
pub const SPEECH_LEVEL_DB: f64 = -45.0;

pub(crate) async fn send_json(socket: &mut WebSocket, message: Value) -> bool {
    socket.send(Message::Text(message.to_string().into())).await.is_ok()
}

/// Sends a close and, as the closing handshake has it, reads on (discarding) until the
/// client's close or a second has passed, so audio still on its way does not reset the
/// connection before the client has read why it closed.
pub(crate) async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.to_string().into() };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The next text message parsed as JSON; `Err` with a description for anything else, `None`
/// when the client went away.
pub(crate) async fn next_json(socket: &mut WebSocket) -> Option<Result<Value, String>> {
    loop {
        return match socket.recv().await? {
            Ok(Message::Text(text)) => Some(serde_json::from_str(&text).map_err(|_| format!("a text frame that is not JSON: {}", text.chars().take(60).collect::<String>()))),
            Ok(Message::Binary(bytes)) => Some(Err(format!("a binary frame of {} bytes", bytes.len()))),
            Ok(Message::Close(_)) | Err(_) => None,
            Ok(_) => continue,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_decodes_and_broken_audio_is_described() {
        let encoded = base64::engine::general_purpose::STANDARD.encode([0x01, 0x80, 0xff, 0x7f]);
        assert_eq!(decode_pcm16(&encoded).unwrap(), [-32767, 32767]);
        assert!(decode_pcm16("###").unwrap_err().contains("base64"));
        let odd = base64::engine::general_purpose::STANDARD.encode([1, 2, 3]);
        assert!(decode_pcm16(&odd).unwrap_err().contains("whole"));
        assert_eq!(level_db(&[]), -120.0);
        assert!((level_db(&[16384, -16384]) - -6.02).abs() < 0.01);
    }
}
