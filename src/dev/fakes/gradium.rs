//! The fake Gradium REST endpoint: `POST /api/post/speech/asr`, `x-api-key`, raw audio whose
//! format comes from `Content-Type` (or `input_format`), `json_config` checked like the real
//! service, NDJSON back; failures before the stream as plain-text HTTP 500.

use super::{
    Captured, Ending, FakeState, JFK_PHRASES, Scenario, UploadFormat, endless_filler, respond,
    streamed_body, with_retry_after,
};
use axum::http::StatusCode;
use axum::response::Response;

const NDJSON: &str = "application/x-ndjson";
/// The languages `json_config` may name.
const LANGUAGES: [&str; 5] = ["en", "fr", "de", "es", "pt"];
/// The `delay_in_frames` values allowed.
const DELAY_FRAMES: [u64; 11] = [7, 8, 10, 12, 14, 16, 20, 24, 32, 36, 48];

fn server_error(text: impl Into<String>) -> Response {
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        text.into(),
    )
}

pub(super) async fn handle(state: &FakeState, request: Captured) -> Response {
    if let Err(response) = check_request(state, &request) {
        return response;
    }
    if let Some(response) = scenario_reply(state) {
        return response;
    }
    let scenario = state.config.scenario;
    let lines = script_lines(scenario == Scenario::StepLines);
    // The lines of the first phrase: the results sent before a scripted failure.
    let first = 2;
    let (pieces, ending, byte_delay) = match scenario {
        Scenario::Slow => (lines, Ending::Close, Some(state.config.byte_delay)),
        Scenario::ErrorMidStream => {
            let mut pieces = lines[..first].to_vec();
            pieces.push(b"{\"type\":\"error\",\"message\":\"worker crashed\"}\n".to_vec());
            (pieces, Ending::Close, None)
        }
        Scenario::DropMidStream => (lines[..first].to_vec(), Ending::Drop, None),
        Scenario::MalformedLine => {
            let mut pieces = lines[..first].to_vec();
            pieces.push(b"{\"type\":\"text\",\"text\":\"broken\n".to_vec());
            pieces.extend_from_slice(&lines[first..]);
            (pieces, Ending::Close, None)
        }
        Scenario::Stall => (lines[..first].to_vec(), Ending::Stall(state.config.stall), None),
        _ => (lines, Ending::Close, None),
    };
    respond(StatusCode::OK, NDJSON, streamed_body(pieces, byte_delay, ending))
}

/// The route, the key, the body against its declared format and the query, as the service
/// checks them.
fn check_request(state: &FakeState, request: &Captured) -> Result<(), Response> {
    let record = &request.record;
    if record.path != "/api/post/speech/asr" {
        return Err(respond(StatusCode::NOT_FOUND, "text/plain", "404 page not found"));
    }
    if record.method != "POST" {
        return Err(respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "method not allowed"));
    }
    if state.config.scenario == Scenario::Unauthorized || record.header("x-api-key") != Some(state.config.key.as_str()) {
        return Err(server_error("error from server 1008: API key is revoked or expired"));
    }
    let declared = declared_format(request)?;
    let sniffed = record.body_format;
    let body_matches = match declared {
        "wav" => sniffed == Some(UploadFormat::PcmWav),
        "opus" => sniffed == Some(UploadFormat::OggOpus),
        _ => request.body.len() % 2 == 0 && !request.body.is_empty(),
    };
    if !body_matches {
        return Err(server_error(format!("error from server 1011: could not decode the audio as {declared}")));
    }
    if let Some(config) = record.query_value("json_config")
        && let Err(reason) = check_json_config(config)
    {
        return Err(server_error(format!("error from server 1011: {reason}")));
    }
    if record.query_value("model").is_some_and(|model| model.trim().is_empty()) {
        return Err(server_error("error from server 1008: empty model name"));
    }
    Ok(())
}

/// The format: Content-Type (audio/wav when absent), overridden by `input_format`.
fn declared_format(request: &Captured) -> Result<&'static str, Response> {
    let record = &request.record;
    let content_type = record.header("content-type").unwrap_or("audio/wav").to_ascii_lowercase();
    let declared = match content_type.split(';').next().unwrap_or("").trim() {
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/pcm" => "pcm",
        "audio/ogg" | "audio/opus" => "opus",
        other => return Err(server_error(format!("unsupported content type for SST '{other}'"))),
    };
    match record.query_value("input_format") {
        None => Ok(declared),
        Some("wav") => Ok("wav"),
        Some("pcm") => Ok("pcm"),
        Some("opus") => Ok("opus"),
        Some(other) => Err(server_error(format!("error from server 1008: unknown input_format '{other}'"))),
    }
}

/// What the scenario answers instead of a transcript, if anything.
fn scenario_reply(state: &FakeState) -> Option<Response> {
    Some(match state.config.scenario {
        Scenario::RateLimited if state.bump("asr") == 1 => {
            with_retry_after(respond(StatusCode::TOO_MANY_REQUESTS, "text/plain", "too many requests"), 1)
        }
        Scenario::UnavailableTwice if state.bump("asr") <= 2 => {
            respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "service unavailable")
        }
        Scenario::TooLarge => respond(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "payload too large"),
        Scenario::PaymentRequired => respond(StatusCode::PAYMENT_REQUIRED, "text/plain", "payment required"),
        Scenario::PlainTextError => server_error("upstream connect error or disconnect/reset before headers"),
        Scenario::Oversized => {
            let line = br#"{"type":"step","vad":[],"step_idx":0,"step_duration_s":0.08,"total_duration_s":0.0}
"#;
            respond(StatusCode::OK, NDJSON, endless_filler(line, state.config.oversized_bytes))
        }
        _ => return None,
    })
}

/// The scripted NDJSON: a `text` and an `end_text` per phrase, as the REST docs have it; with
/// `steps`, a `step` message with an empty `vad` between them (which a client must ignore).
fn script_lines(steps: bool) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for (index, phrase) in JFK_PHRASES.iter().enumerate() {
        let text = serde_json::json!({"type": "text", "text": phrase.text, "start_s": phrase.start_s, "stream_id": 0});
        let end = serde_json::json!({"type": "end_text", "stop_s": phrase.end_s, "stream_id": 0});
        lines.push(format!("{text}\n").into_bytes());
        if steps {
            let step = serde_json::json!({"type": "step", "vad": [], "step_idx": index, "step_duration_s": 0.08, "total_duration_s": phrase.end_s});
            lines.push(format!("{step}\n").into_bytes());
        }
        lines.push(format!("{end}\n").into_bytes());
    }
    lines
}

/// The checks the real service makes on `json_config`.
fn check_json_config(config: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(config).map_err(|_| "json_config is not valid JSON".to_string())?;
    let object = value
        .as_object()
        .ok_or("json_config is not a JSON object")?;
    if let Some(language) = object.get("language") {
        let language = language.as_str().ok_or("language must be a string")?;
        if !LANGUAGES.contains(&language) {
            return Err(format!("unsupported language '{language}'"));
        }
    }
    if let Some(temp) = object.get("temp") {
        let temp = temp.as_f64().ok_or("temp must be a number")?;
        if !(0.0..=1.0).contains(&temp) {
            return Err(format!("temp {temp} out of range"));
        }
    }
    if let Some(bonus) = object.get("padding_bonus") {
        let bonus = bonus.as_f64().ok_or("padding_bonus must be a number")?;
        if !(-4.0..=4.0).contains(&bonus) {
            return Err(format!("padding_bonus {bonus} out of range"));
        }
    }
    if let Some(frames) = object.get("delay_in_frames") {
        let frames = frames
            .as_u64()
            .ok_or("delay_in_frames must be an integer")?;
        if !DELAY_FRAMES.contains(&frames) {
            return Err(format!("delay_in_frames {frames} is not allowed"));
        }
    }
    Ok(())
}
