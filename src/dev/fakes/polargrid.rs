//! The fake PolarGrid edge and autorouter: `GET /v1/route`, `POST /v1/audio/transcriptions`
//! (async job, `sync=true`, `stream=true`) and `GET /v1/audio/transcriptions?job_id=…`, with
//! bearer auth, parameters read from the query or (as the SDK sends them) form fields, and the
//! documented result formats and SSE framing.

use super::{
    Captured, Ending, FakeState, JFK_DURATION_S, JFK_PHRASES, Scenario, UploadFormat, bearer,
    endless_filler, file_name_problem, jfk_text, json, respond, streamed_body, with_retry_after,
    with_retry_after_text,
};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

const FORMATS: [&str; 5] = ["json", "text", "srt", "vtt", "verbose_json"];
/// The models the service serves: the documented two and the SDK's other ids (its default
/// is `stt-1b-en_fr`).
const MODELS: [&str; 7] = [
    "whisper-large-v3-turbo",
    "openai/whisper-large-v3-turbo",
    "stt-1b-en_fr",
    "kyutai/stt-1b-en_fr",
    "whisper-1",
    "cohere-transcribe-03-2026",
    "cohere-transcribe",
];
/// The region the autorouter names.
const REGION: (&str, &str) = ("yto-01", "Toronto");
/// MP3, WAV, M4A, OGG, FLAC and WebM, as documented.
const ACCEPTED: [UploadFormat; 8] = [
    UploadFormat::PcmWav,
    UploadFormat::OtherWav,
    UploadFormat::Mp3,
    UploadFormat::M4a,
    UploadFormat::OggOpus,
    UploadFormat::OggVorbis,
    UploadFormat::Flac,
    UploadFormat::WebM,
];

pub(super) async fn handle(state: &FakeState, request: Captured) -> Response {
    let record = &request.record;
    match (record.method.as_str(), record.path.as_str()) {
        ("GET", "/v1/route") => route(state, &request),
        (_, "/v1/route") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"}),
        ),
        ("POST", "/v1/audio/transcriptions") => transcribe(state, &request),
        ("GET", "/v1/audio/transcriptions") => poll(state, &request),
        (_, "/v1/audio/transcriptions") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"}),
        ),
        _ => json(StatusCode::NOT_FOUND, json!({"detail": "Not Found"})),
    }
}

/// The autorouter: names this very server as the edge.
fn route(state: &FakeState, request: &Captured) -> Response {
    if let Some(model) = request.record.query_value("model")
        && !MODELS.contains(&model)
    {
        return json(
            StatusCode::NOT_FOUND,
            json!({"detail": format!("no edge serves model {model}")}),
        );
    }
    json(
        StatusCode::OK,
        json!({"region": REGION.0, "name": REGION.1, "endpoint": state.base_url, "ttl": 86400}),
    )
}

fn unauthorized() -> Response {
    json(
        StatusCode::UNAUTHORIZED,
        json!({"detail": "Invalid or expired token"}),
    )
}

fn bad_request(detail: impl Into<String>) -> Response {
    json(StatusCode::BAD_REQUEST, json!({"detail": detail.into()}))
}

/// A parameter from the query or, failing that, a form field.
fn parameter<'a>(request: &'a Captured, name: &str) -> Option<&'a str> {
    request
        .record
        .query_value(name)
        .or_else(|| request.record.field(name))
}

fn flag(request: &Captured, name: &str) -> Result<bool, Response> {
    match parameter(request, name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(bad_request(format!(
            "{name} must be true or false, not '{other}'"
        ))),
    }
}

fn transcribe(state: &FakeState, request: &Captured) -> Response {
    let checked = match check_submission(state, request) {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if let Some(response) = scenario_reply(state) {
        return response;
    }
    if checked.stream {
        return sse(state);
    }
    if checked.sync {
        return result(state, checked.format, None);
    }
    accept_job(state, request, &checked)
}

/// A submission that passed every check.
struct Submission<'a> {
    model: &'a str,
    format: &'a str,
    stream: bool,
    sync: bool,
}

/// The key, the uploaded file and the parameters, as the service checks them.
fn check_submission<'a>(state: &FakeState, request: &'a Captured) -> Result<Submission<'a>, Response> {
    let record = &request.record;
    if state.config.scenario == Scenario::Unauthorized || bearer(record) != Some(state.config.key.as_str()) {
        return Err(unauthorized());
    }
    if let Some(error) = &request.multipart_error {
        return Err(bad_request(format!("invalid multipart body: {error}")));
    }
    let Some((file, _)) = request.field_data("file") else {
        return Err(bad_request("file is required (multipart field 'file')"));
    };
    if let Some(problem) = file_name_problem(file) {
        return Err(bad_request(problem));
    }
    if !file.sniffed_format.is_some_and(|format| ACCEPTED.contains(&format)) {
        return Err(bad_request("Unsupported audio format; use MP3, WAV, M4A, OGG, FLAC or WebM"));
    }
    let Some(model) = parameter(request, "model") else {
        return Err(json(StatusCode::UNPROCESSABLE_ENTITY, json!({"detail": "model is required"})));
    };
    if !MODELS.contains(&model) {
        return Err(json(StatusCode::NOT_FOUND, json!({"detail": format!("Model '{model}' is not loaded")})));
    }
    let format = parameter(request, "response_format").unwrap_or("json");
    if !FORMATS.contains(&format) {
        return Err(bad_request(format!("response_format must be one of {}", FORMATS.join(", "))));
    }
    if let Some(temperature) = parameter(request, "temperature")
        && !temperature.parse::<f64>().is_ok_and(|t| (0.0..=1.0).contains(&t))
    {
        return Err(bad_request("temperature must be between 0.0 and 1.0"));
    }
    let stream = flag(request, "stream")?;
    let sync = flag(request, "sync")?;
    flag(request, "punctuation")?;
    if stream && sync {
        return Err(bad_request("stream and sync are mutually exclusive"));
    }
    Ok(Submission { model, format, stream, sync })
}

/// What the scenario answers instead of taking the job, if anything.
fn scenario_reply(state: &FakeState) -> Option<Response> {
    let rate_limited = || json(StatusCode::TOO_MANY_REQUESTS, json!({"message": "Rate limit exceeded"}));
    Some(match state.config.scenario {
        Scenario::RateLimited if state.bump("submit") == 1 => with_retry_after(rate_limited(), 1),
        Scenario::RetryMuchLater => with_retry_after_text(rate_limited(), "1e20"),
        Scenario::UnavailableTwice => match state.bump("submit") {
            1 => respond(StatusCode::BAD_GATEWAY, "text/plain", "Bad Gateway"),
            2 => json(StatusCode::SERVICE_UNAVAILABLE, json!({"message": "Service temporarily unavailable"})),
            _ => return None,
        },
        Scenario::TooLarge => json(StatusCode::PAYLOAD_TOO_LARGE, json!({"detail": "File too large"})),
        Scenario::PaymentRequired => {
            json(StatusCode::PAYMENT_REQUIRED, json!({"detail": "Billing is not set up for this account"}))
        }
        _ => return None,
    })
}

/// Takes an async job: its record for the polls, and the 202 that points to them.
fn accept_job(state: &FakeState, request: &Captured, checked: &Submission) -> Response {
    let scenario = state.config.scenario;
    let job_id = format!("job_transcription_{:012x}", state.bump("job"));
    let created_unix_s = unix_now_s();
    state
        .jobs
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(
            job_id.clone(),
            super::JobRecord { polls: 0, response_format: checked.format.to_string(), created_unix_s },
        );
    let poll_url = format!("/v1/audio/transcriptions?job_id={job_id}");
    let mut accepted = json!({"job_id": job_id, "status": "accepted", "poll_url": poll_url});
    if scenario != Scenario::BareJob
        && let Some((file, _)) = request.field_data("file")
    {
        // What the SDK's model of the answer requires besides the documented fields.
        let format_name = file.sniffed_format.map_or("unknown", UploadFormat::name);
        let extra = json!({
            "message": "Transcription job accepted",
            "metadata": {
                "filename": file.file_name, "file_size_mb": file.size_bytes as f64 / 1e6,
                "audio_format": format_name, "estimated_duration_seconds": JFK_DURATION_S, "model": checked.model
            },
            "result_url": poll_url,
        });
        merge(&mut accepted, extra);
    }
    if scenario == Scenario::PollMuchLater {
        accepted["poll_interval_ms"] = json!(POLL_MUCH_LATER_MS);
    }
    json(StatusCode::ACCEPTED, accepted)
}

/// What `poll-much-later` asks for: 10¹⁹ ms, some 317 million years.
const POLL_MUCH_LATER_MS: u64 = 10_000_000_000_000_000_000;

fn poll(state: &FakeState, request: &Captured) -> Response {
    if bearer(&request.record) != Some(state.config.key.as_str()) {
        return unauthorized();
    }
    let Some(job_id) = request.record.query_value("job_id") else {
        return bad_request("job_id is required");
    };
    let (polls, job) = {
        let mut jobs = state
            .jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(job) = jobs.get_mut(job_id) else {
            return json(StatusCode::NOT_FOUND, json!({"detail": "Job not found"}));
        };
        job.polls += 1;
        (job.polls, job.clone())
    };
    let scenario = state.config.scenario;
    let needed = if scenario == Scenario::SlowJob { 4 } else { 1 };
    let status = match polls {
        _ if polls >= needed && scenario == Scenario::JobFailed => "failed",
        _ if polls >= needed => "completed",
        1 => "accepted",
        _ => "processing",
    };
    let mut answer = json!({"job_id": job_id, "status": status});
    if scenario != Scenario::BareJob {
        // Every poll answer, the completed one too, carries the job's times (the SDK requires
        // `created_at` and `updated_at`).
        let created = iso8601(job.created_unix_s);
        let mut times = json!({"type": "transcription", "created_at": created, "updated_at": iso8601(unix_now_s())});
        if polls > 1 || status != "accepted" {
            times["started_at"] = json!(created);
        }
        if status == "completed" || status == "failed" {
            times["completed_at"] = json!(iso8601(unix_now_s()));
        }
        merge(&mut answer, times);
    }
    if scenario == Scenario::PollMuchLater {
        // Never done: every answer asks to be polled again after some 317 million years.
        merge(&mut answer, json!({"status": if polls == 1 { "accepted" } else { "processing" }, "poll_interval_ms": POLL_MUCH_LATER_MS}));
        return json(StatusCode::ACCEPTED, answer);
    }
    match status {
        "accepted" | "processing" => {
            merge(&mut answer, json!({"poll_interval_ms": 10}));
            json(StatusCode::ACCEPTED, answer)
        }
        "failed" => {
            let error =
                json!({"error": "audio could not be decoded", "error_code": "decode_failed"});
            merge(&mut answer, error);
            json(StatusCode::BAD_REQUEST, answer)
        }
        _ => result(state, &job.response_format, Some(answer)),
    }
}

/// Adds the fields of `extra` (an object) to `value` (an object).
fn merge(value: &mut Value, extra: Value) {
    if let (Some(object), Value::Object(extra)) = (value.as_object_mut(), extra) {
        object.extend(extra);
    }
}

fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `2026-01-31T12:00:00Z` for a time in seconds since the Unix epoch.
fn iso8601(unix_s: u64) -> String {
    // Days to a civil date (Howard Hinnant's algorithm), for the proleptic Gregorian calendar.
    let days = (unix_s / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let seconds = unix_s % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The finished transcript in `format`; JSON bodies of a job also carry `job` (its id, status
/// and times).
fn result(state: &FakeState, format: &str, job: Option<Value>) -> Response {
    if state.config.scenario == Scenario::Oversized {
        return super::oversized_json(state.config.oversized_bytes);
    }
    let text = jfk_text();
    let mut body = match format {
        "verbose_json" => json!({
            "task": "transcribe",
            "language": "en",
            "duration": JFK_DURATION_S,
            "text": text,
            "segments": JFK_PHRASES.iter().enumerate().map(|(id, phrase)| json!({
                "id": id, "seek": 0, "start": phrase.start_s, "end": phrase.end_s, "text": format!(" {}", phrase.text),
                "tokens": [50364, 400, 370], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.2, "no_speech_prob": 0.01
            })).collect::<Vec<_>>()
        }),
        "json" => json!({"text": text}),
        "text" => return respond(StatusCode::OK, "text/plain; charset=utf-8", text),
        "srt" => {
            return respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                subtitles(false),
            );
        }
        _ => return respond(StatusCode::OK, "text/vtt; charset=utf-8", subtitles(true)),
    };
    if let Some(job) = job {
        merge(&mut body, job);
    }
    json(StatusCode::OK, body)
}

fn subtitles(vtt: bool) -> String {
    let stamp = |seconds: f64| {
        let millis = (seconds * 1000.0).round() as u64;
        let separator = if vtt { '.' } else { ',' };
        format!(
            "{:02}:{:02}:{:02}{separator}{:03}",
            millis / 3_600_000,
            millis / 60_000 % 60,
            millis / 1000 % 60,
            millis % 1000
        )
    };
    let mut text = if vtt {
        "WEBVTT\n\n".to_string()
    } else {
        String::new()
    };
    for (index, phrase) in JFK_PHRASES.iter().enumerate() {
        if !vtt {
            text.push_str(&format!("{}\n", index + 1));
        }
        text.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(phrase.start_s),
            stamp(phrase.end_s),
            phrase.text
        ));
    }
    text
}

/// The SSE body for the scenario.
fn sse(state: &FakeState) -> Response {
    let scenario = state.config.scenario;
    if scenario == Scenario::Oversized {
        let frame = format!(
            "data: {}\n\n",
            json!({"type": "transcript.text.delta", "delta": "la "})
        );
        return respond(
            StatusCode::OK,
            "text/event-stream",
            endless_filler(frame.as_bytes(), state.config.oversized_bytes),
        );
    }
    let phrases: Vec<&str> = JFK_PHRASES.iter().map(|phrase| phrase.text).collect();
    let deltas: Vec<String> = match scenario {
        Scenario::DeltaIncrement | Scenario::NamedEvents => phrases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    p.to_string()
                } else {
                    format!(" {p}")
                }
            })
            .collect(),
        Scenario::DeltaRevise => vec![
            "And so my fellow American".into(),
            format!("{} ask not", phrases[0]),
            phrases[..2].join(" "),
            phrases.join(" "),
        ],
        _ => (1..=phrases.len())
            .map(|count| phrases[..count].join(" "))
            .collect(),
    };
    let delta_frame = |delta: &str| {
        let data = json!({"type": "transcript.text.delta", "delta": delta});
        if scenario == Scenario::NamedEvents {
            // Named events and no [DONE]: what other OpenAI-style servers send.
            format!("event: transcript.text.delta\ndata: {data}\n\n").into_bytes()
        } else {
            format!("data: {data}\n\n").into_bytes()
        }
    };
    let mut frames: Vec<Vec<u8>> = vec![b": connected\n\n".to_vec()];
    let cut = match scenario {
        Scenario::ErrorMidStream
        | Scenario::DropMidStream
        | Scenario::MalformedLine
        | Scenario::Stall => 2,
        _ => deltas.len(),
    };
    frames.extend(deltas[..cut].iter().map(|delta| delta_frame(delta)));
    let mut ending = Ending::Close;
    match scenario {
        Scenario::ErrorMidStream => frames.push(
            format!(
                "data: {}\n\n",
                json!({"type": "error", "error": "inference worker crashed"})
            )
            .into_bytes(),
        ),
        Scenario::DropMidStream => ending = Ending::Drop,
        Scenario::MalformedLine => {
            frames.push(b"data: {\"type\":\"transcript.text.delta\",\"delta\":\n\n".to_vec())
        }
        Scenario::Stall => ending = Ending::Stall(state.config.stall),
        _ => {
            let done = json!({"type": "transcript.text.done", "text": jfk_text(), "duration": JFK_DURATION_S, "language": "en"});
            frames.push(format!("data: {done}\n\n").into_bytes());
            if scenario != Scenario::NamedEvents {
                frames.push(b"data: [DONE]\n\n".to_vec());
            }
        }
    }
    let byte_delay = (scenario == Scenario::Slow).then_some(state.config.byte_delay);
    respond(
        StatusCode::OK,
        "text/event-stream",
        streamed_body(frames, byte_delay, ending),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_times_are_iso_8601_in_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(iso8601(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
