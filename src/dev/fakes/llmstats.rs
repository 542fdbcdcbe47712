//! The fake LLM Stats gateway: `POST /v1/stt/transcribe`, bearer auth, multipart with the
//! audio in `audio` and `model_id` required, JSON back with the text and timed words (no
//! words for models that have none), errors in the gateway's envelope.

use super::{
    COMMON_FORMATS, Captured, FakeState, JFK_DURATION_S, JFK_PHRASES, Scenario, bearer,
    file_name_problem, jfk_text, json, language_code_problem, phrase_words,
    with_retry_after,
};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

const MAX_FILE_BYTES: usize = 25 * 1000 * 1000;
/// Models the fake knows; `gpt-4o-transcribe` returns no words, as that provider does.
pub const MODELS: [&str; 3] = ["whisper-1", "deepgram-nova-3", "gpt-4o-transcribe"];

fn error(status: StatusCode, code: &str, message: &str, param: Option<&str>) -> Response {
    json(
        status,
        json!({"error": {"code": code, "message": message, "param": param}}),
    )
}

pub(super) async fn handle(state: &FakeState, request: Captured) -> Response {
    let model = match check_request(state, &request) {
        Ok(model) => model,
        Err(response) => return response,
    };
    if let Some(response) = scenario_reply(state).await {
        return response;
    }
    let words = (model != "gpt-4o-transcribe").then(|| {
        JFK_PHRASES
            .iter()
            .flat_map(|phrase| phrase_words(phrase, false))
            .map(|(word, start, end)| json!({"word": word.to_lowercase(), "start": start, "end": end, "confidence": 0.97}))
            .collect::<Vec<_>>()
    });
    let confidence = words.as_ref().map(|_| 0.97);
    json(
        StatusCode::OK,
        json!({
            "text": jfk_text(),
            "duration": JFK_DURATION_S,
            "language": request.record.field("language").unwrap_or("en"),
            "confidence": confidence,
            "words": words,
            "model": model
        }),
    )
}

/// A 400 `invalid_input` about `param`.
fn invalid_input(message: &str, param: Option<&str>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_input", message, param)
}

/// The route, the key, the uploaded audio and the fields, as the gateway checks them;
/// the model asked for.
fn check_request<'a>(state: &FakeState, request: &'a Captured) -> Result<&'a str, Response> {
    let record = &request.record;
    if record.path != "/v1/stt/transcribe" {
        return Err(error(StatusCode::NOT_FOUND, "not_found", "Unknown route", None));
    }
    if record.method != "POST" {
        return Err(error(StatusCode::METHOD_NOT_ALLOWED, "invalid_input", "Use POST", None));
    }
    let scenario = state.config.scenario;
    if scenario == Scenario::Unauthorized || bearer(record) != Some(state.config.key.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, "unauthenticated", "Missing or invalid API key.", None));
    }
    if let Some(problem) = &request.multipart_error {
        return Err(invalid_input(&format!("Invalid multipart body: {problem}"), None));
    }
    let Some((audio, _)) = request.field_data("audio") else {
        return Err(invalid_input("Missing audio file.", Some("audio")));
    };
    if let Some(problem) = file_name_problem(audio) {
        return Err(invalid_input(&problem, Some("audio")));
    }
    if !audio.sniffed_format.is_some_and(|format| COMMON_FORMATS.contains(&format)) {
        return Err(invalid_input("Unsupported audio format.", Some("audio")));
    }
    if audio.size_bytes > MAX_FILE_BYTES || scenario == Scenario::TooLarge {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_input", "File larger than 25 MB.", Some("audio")));
    }
    let Some(model) = record.field("model_id") else {
        return Err(invalid_input("Missing model_id.", Some("model_id")));
    };
    if !MODELS.contains(&model) {
        return Err(invalid_input("Unknown model.", Some("model_id")));
    }
    if let Some(language) = record.field("language")
        && language_code_problem(language).is_some()
    {
        return Err(invalid_input("Invalid language code.", Some("language")));
    }
    Ok(model)
}

/// What the scenario answers instead of a transcript, if anything (after its stall).
async fn scenario_reply(state: &FakeState) -> Option<Response> {
    Some(match state.config.scenario {
        Scenario::RateLimited if state.bump("transcribe") == 1 => with_retry_after(
            error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Quota exceeded.", None),
            1,
        ),
        Scenario::UnavailableTwice if state.bump("transcribe") <= 2 => error(
            StatusCode::BAD_GATEWAY,
            "provider_unavailable",
            "Every STT provider for this model errored.",
            None,
        ),
        Scenario::PaymentRequired => error(StatusCode::PAYMENT_REQUIRED, "insufficient_quota", "Out of credit.", None),
        Scenario::Oversized => super::oversized_json(state.config.oversized_bytes),
        Scenario::Stall => {
            tokio::time::sleep(state.config.stall).await;
            return None;
        }
        _ => return None,
    })
}
