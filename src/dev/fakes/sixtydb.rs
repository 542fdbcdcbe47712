//! The fake 60db REST endpoint: `POST /stt`, bearer auth, multipart with the audio in `file`
//! (or `audio`, as the Python SDK names it) and the documented form fields checked; JSON back
//! with segments, words, speakers and warnings; errors in 60db's envelope.

use super::{
    COMMON_FORMATS, Captured, FakeState, JFK_DURATION_S, JFK_PHRASES, Scenario, bearer,
    file_name_problem, jfk_text, json, language_code_problem, phrase_words,
    with_retry_after, with_retry_after_text,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

/// The documented upload limit.
const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The largest weight of a boosted keyword.
const MAX_KEYWORD_WEIGHT: f64 = 10.0;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        json!({"success": false, "error": code, "message": message, "error_code": code}),
    )
}

fn invalid(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &message.into())
}

fn boolean(request: &Captured, name: &str) -> Result<bool, Response> {
    match request.record.field(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(invalid(format!(
            "{name} must be true or false, not '{other}'"
        ))),
    }
}

pub(super) async fn handle(state: &FakeState, request: Captured) -> Response {
    let flags = match check_request(state, &request).and_then(|()| check_fields(&request)) {
        Ok(flags) => flags,
        Err(response) => return response,
    };
    if let Some(response) = scenario_reply(state).await {
        return response;
    }
    let mut response = json(StatusCode::OK, success_body(state.config.scenario, &request, flags));
    for (name, value) in [
        ("x-ratelimit-limit", "60"),
        ("x-ratelimit-remaining", "59"),
        ("x-ratelimit-reset", "60"),
    ] {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The transcript's options the request asked for.
#[derive(Clone, Copy)]
struct Flags {
    diarize: bool,
    word_times: bool,
    confidence: bool,
}

/// The route, the key and the uploaded file, as the service checks them.
fn check_request(state: &FakeState, request: &Captured) -> Result<(), Response> {
    let record = &request.record;
    if record.path != "/stt" {
        return Err(error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found"));
    }
    if record.method != "POST" {
        return Err(error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "Use POST"));
    }
    let scenario = state.config.scenario;
    if scenario == Scenario::Unauthorized || bearer(record) != Some(state.config.key.as_str()) {
        return Err(json(
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "error": "Unauthorized", "message": "Invalid or missing API key", "error_code": "UNAUTHENTICATED"}),
        ));
    }
    if let Some(problem) = &request.multipart_error {
        return Err(invalid(format!("invalid multipart body: {problem}")));
    }
    let file = if scenario == Scenario::AudioField {
        request.field_data("audio")
    } else {
        request.field_data("file").or_else(|| request.field_data("audio"))
    };
    let Some((file, _)) = file else {
        return Err(missing_file(scenario));
    };
    if let Some(problem) = file_name_problem(file) {
        return Err(invalid(problem));
    }
    if !file.sniffed_format.is_some_and(|format| COMMON_FORMATS.contains(&format)) {
        return Err(invalid("Unsupported audio format"));
    }
    if file.size_bytes > MAX_FILE_BYTES || scenario == Scenario::TooLarge {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE", "Max file size is 10 MB"));
    }
    Ok(())
}

/// The form fields, checked as the service documents them.
fn check_fields(request: &Captured) -> Result<Flags, Response> {
    let record = &request.record;
    if let Some(language) = record.field("language")
        && language != "auto"
    {
        language_code_problem(language).map_or(Ok(()), |problem| Err(invalid(problem)))?;
    }
    if let Some(languages) = record.field("languages") {
        for language in languages.split(',') {
            language_code_problem(language.trim()).map_or(Ok(()), |problem| Err(invalid(problem)))?;
        }
    }
    let diarize = boolean(request, "diarize")?;
    for name in ["min_speakers", "max_speakers"] {
        if let Some(value) = record.field(name)
            && value.parse::<i64>().is_err()
        {
            return Err(invalid(format!("{name} must be an integer")));
        }
    }
    let word_times = match record.field("return_timestamps") {
        None | Some("none") => false,
        Some("word") => true,
        Some(other) => {
            return Err(invalid(format!("return_timestamps must be none or word, not '{other}'")));
        }
    };
    let confidence = boolean(request, "include_confidence")?;
    boolean(request, "script_correction")?;
    if let Some(keywords) = record.field("keywords") {
        keywords_problem(keywords).map_or(Ok(()), |problem| Err(invalid(problem)))?;
    }
    Ok(Flags { diarize, word_times, confidence })
}

/// What the scenario answers instead of a transcript, if anything (after its stall).
async fn scenario_reply(state: &FakeState) -> Option<Response> {
    Some(match state.config.scenario {
        Scenario::RateLimited if state.bump("stt") == 1 => {
            // The body's retry_after is deliberately wrong: clients must read the header.
            let body = json!({"success": false, "error": "STT_UPSTREAM_RATE_LIMIT", "message": "Upstream rate limit", "error_code": "STT_UPSTREAM_RATE_LIMIT", "details": {"retry_after": 30}});
            with_retry_after(json(StatusCode::TOO_MANY_REQUESTS, body), 1)
        }
        Scenario::ConcurrencyLimit if state.bump("stt") <= 2 => json(StatusCode::TOO_MANY_REQUESTS, concurrency_limit_body()),
        Scenario::RetryMuchLater => {
            let busy = json(StatusCode::TOO_MANY_REQUESTS, concurrency_limit_body());
            with_retry_after_text(busy, "600")
        }
        Scenario::UnavailableTwice if state.bump("stt") <= 2 => {
            error(StatusCode::SERVICE_UNAVAILABLE, "STT_UPSTREAM_UNAVAILABLE", "Upstream STT service unavailable")
        }
        Scenario::PaymentRequired => error(StatusCode::PAYMENT_REQUIRED, "INSUFFICIENT_CREDITS", "Insufficient credits"),
        Scenario::Oversized => super::oversized_json(state.config.oversized_bytes),
        Scenario::Stall => {
            tokio::time::sleep(state.config.stall).await;
            return None;
        }
        _ => return None,
    })
}

/// The transcript's JSON body for a request that passed every check.
fn success_body(scenario: Scenario, request: &Captured, flags: Flags) -> Value {
    let record = &request.record;
    let language = record.field("language").filter(|language| *language != "auto");
    let mut body = match scenario {
        Scenario::NoSpeech => json!({
            "request_id": "req_fake_silence", "language": null, "language_name": null, "language_source": "lid_per_segment",
            "duration": JFK_DURATION_S, "processing_ms": 90, "rtf": 0.008, "snr_db": 18.0, "text": "", "segments": [], "words": [],
            "warnings": [{"code": "no_speech_detected", "message": "No speech detected", "affected_segments": []}],
            "warning_codes": ["no_speech_detected"]
        }),
        Scenario::LowSnr => json!({
            "request_id": "req_fake_noisy", "language": null, "duration_sec": JFK_DURATION_S, "processing_ms": 40, "snr_db": -3.5,
            "text": "", "segments": [], "words": [],
            "warnings": [{"code": "low_snr_dropped", "message": "Audio SNR below floor", "affected_segments": []}],
            "warning_codes": ["low_snr_dropped"]
        }),
        _ => transcript(language, flags.diarize, flags.word_times, flags.confidence),
    };
    if record.field("context").is_some()
        && let Some(object) = body.as_object_mut()
    {
        // The fake account is on the Free plan: context is stripped, with a warning.
        object.insert("warnings".into(), json!([{"code": "llm_refinement_not_in_plan", "message": "Context ignored", "affected_segments": []}]));
        object.insert("warning_codes".into(), json!(["llm_refinement_not_in_plan"]));
    }
    if scenario == Scenario::Wrapped {
        body = json!({"success": true, "data": body});
    }
    body
}

/// No file part: the envelope, or (when the file must be in `audio`) the 422 of a form
/// validator that names the field.
fn missing_file(scenario: Scenario) -> Response {
    if scenario == Scenario::AudioField {
        return json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"type": "missing", "loc": ["body", "audio"], "msg": "Field required"}]}),
        );
    }
    invalid("an audio file is required (field 'file')")
}

/// Why a `keywords` field would be refused: comma-separated terms, each optionally
/// `:weight` with a weight above 0 and at most 10.
fn keywords_problem(keywords: &str) -> Option<String> {
    keywords.split(',').map(str::trim).find_map(|entry| {
        let (term, weight) = match entry.rsplit_once(':') {
            Some((term, weight)) => (term.trim(), Some(weight.trim())),
            None => (entry, None),
        };
        let weight_ok = weight.is_none_or(|weight| {
            weight
                .parse::<f64>()
                .is_ok_and(|w| w > 0.0 && w <= MAX_KEYWORD_WEIGHT)
        });
        (term.is_empty() || !weight_ok).then(|| format!("invalid keyword entry '{entry}'"))
    })
}

/// The JFK transcript. With diarization the first phrase is SPEAKER_01's, the second
/// SPEAKER_00's, and the third is shared: SPEAKER_01 then SPEAKER_00 from "for your country."
fn transcript(language: Option<&str>, diarize: bool, word_times: bool, confidence: bool) -> Value {
    let word_json = |(text, start, end): &(String, f64, f64)| {
        let mut word = json!({"word": text});
        if word_times {
            word["start"] = json!(start);
            word["end"] = json!(end);
        }
        if confidence {
            word["confidence"] = json!(0.93);
        }
        word
    };
    let mut all_words = Vec::new();
    let segments: Vec<Value> = JFK_PHRASES
        .iter()
        .enumerate()
        .map(|(index, phrase)| {
            let words = phrase_words(phrase, true);
            all_words.extend(words.iter().map(word_json));
            let mut segment = json!({
                "start": phrase.start_s, "end": phrase.end_s, "language": "en", "language_name": "English",
                "text": phrase.text, "confidence": 0.92, "words": words.iter().map(word_json).collect::<Vec<_>>()
            });
            if diarize {
                segment["speakers"] = match index {
                    0 => json!([{"speaker": "SPEAKER_01", "start": phrase.start_s, "end": phrase.end_s}]),
                    1 => json!([{"speaker": "SPEAKER_00", "start": phrase.start_s, "end": phrase.end_s}]),
                    _ => {
                        let change = words[5].1;
                        json!([{"speaker": "SPEAKER_01", "start": phrase.start_s, "end": change}, {"speaker": "SPEAKER_00", "start": change, "end": phrase.end_s}])
                    }
                };
            }
            segment
        })
        .collect();
    json!({
        "request_id": "req_fake_0001",
        "language": "en",
        "language_name": "English",
        "language_source": if language.is_some() { "fast_path" } else { "lid_per_segment" },
        "duration_sec": JFK_DURATION_S,
        "processing_ms": 185,
        "rtf": 0.017,
        "snr_db": 21.5,
        "text": jfk_text(),
        "segments": segments,
        "words": all_words,
        "warnings": [],
        "warning_codes": [],
        "language_detection": {"mode": if language.is_some() { "fast_path" } else { "lid_per_segment" }, "candidates": ["en"], "segment_count": 3, "lid_calls": 0}
    })
}

/// 60db's answer when too many of the account's transcriptions run at once.
fn concurrency_limit_body() -> Value {
    json!({"success": false, "error": "STT_CONCURRENCY_LIMIT", "message": "Concurrency limit reached", "details": {"limit": 8}})
}
