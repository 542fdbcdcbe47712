//! PolarGrid's edge transcription in its three modes.
//!
//! One endpoint, `POST /v1/audio/transcriptions`, multipart with only the `file` part and
//! everything else in the query. Default (async): a job is submitted (202) and polled until it
//! completes; `sync`: one blocking request; `stream`: server-sent events whose deltas update a
//! live hypothesis until `transcript.text.done` gives the final text. Async and sync ask for
//! `verbose_json` by default, the only format whose segments carry times.

use super::endpoint::{
    join_path, key_destination_notice, parse_base_url, same_origin, service_base_url,
};
use super::framing::SseParser;
use super::http::{
    BodyReader, FailedResponse, MultipartUpload, ServiceHttp, Verdict, one_line_excerpt,
    sleep_or_cancel, with_kept_note,
};
use super::options::{CloudOptions, PolarGridMode, PolarGridOptions, PolarGridRegion};
use super::output::{PartOutput, PartsSummary};
use super::polargrid_formats::{LiveText, ParsedResult, parse_result};
use super::polargrid_router::{
    DEFAULT_ROUTER_URL, ROUTER_URL_ENV_VAR, choose_edge, region_base_url, route_cache_file,
};
use super::upload::{Transcoder, UploadPart, UploadRules, prepare_parts};
use super::words::text_as_one_segment;
use super::{ApiKey, CloudService, language_to_request};
use crate::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions};
use crate::events::EventSink;
use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TRANSCRIPTIONS_PATH: &str = "/v1/audio/transcriptions";
const MAX_SSE_LINE_BYTES: usize = 1024 * 1024;

/// Where requests go: a fixed base, or whatever the autorouter says at run time.
enum EdgeTarget {
    Fixed(Url),
    Routed {
        router: Url,
        /// What set a router other than PolarGrid's own, for the notice about the key.
        router_set_by: Option<String>,
        cache_file: Option<PathBuf>,
    },
}

/// The PolarGrid engine (async, sync and stream modes).
pub struct PolarGridEngine {
    http: ServiceHttp,
    target: EdgeTarget,
    options: PolarGridOptions,
    transcoder: Arc<dyn Transcoder>,
}

impl PolarGridEngine {
    pub fn new(
        options: &CloudOptions,
        key: ApiKey,
        transcoder: Arc<dyn Transcoder>,
    ) -> Result<PolarGridEngine, EngineError> {
        let service = CloudService::PolarGrid;
        let polargrid = &options.polargrid;
        polargrid.validate().map_err(EngineError::Service)?;
        let (endpoint, set_by) = service_base_url(service, polargrid.endpoint.as_deref())?;
        let notice = set_by
            .as_deref()
            .and_then(|set_by| key_destination_notice(service, &endpoint, set_by));
        let target = if set_by.is_some() {
            EdgeTarget::Fixed(endpoint)
        } else if let PolarGridRegion::Fixed(region) = &polargrid.region {
            EdgeTarget::Fixed(region_base_url(region)?)
        } else {
            let environment = std::env::var(ROUTER_URL_ENV_VAR)
                .ok()
                .filter(|value| !value.trim().is_empty());
            let (text, what, router_set_by) = match (&polargrid.router_url, environment) {
                (Some(url), _) => (
                    url.clone(),
                    "the PolarGrid autorouter URL".to_string(),
                    Some("the autorouter option".to_string()),
                ),
                (None, Some(url)) => (
                    url,
                    ROUTER_URL_ENV_VAR.to_string(),
                    Some(ROUTER_URL_ENV_VAR.to_string()),
                ),
                (None, None) => (
                    DEFAULT_ROUTER_URL.to_string(),
                    "the PolarGrid autorouter URL".to_string(),
                    None,
                ),
            };
            let router = parse_base_url(&text, &what)?;
            EdgeTarget::Routed {
                router,
                router_set_by,
                cache_file: route_cache_file(options.cache_dir.as_deref()),
            }
        };
        let proxy_base = match &target {
            EdgeTarget::Fixed(base) => base.clone(),
            EdgeTarget::Routed { router, .. } => router.clone(),
        };
        let http = ServiceHttp::new(service, options.network.clone(), key, &proxy_base)?
            .with_endpoint_notice(notice);
        Ok(PolarGridEngine {
            http,
            target,
            options: polargrid.clone(),
            transcoder,
        })
    }

    async fn edge(&self, sink: &EventSink, cancel: &CancellationToken) -> Result<Url, EngineError> {
        match &self.target {
            EdgeTarget::Fixed(base) => Ok(base.clone()),
            EdgeTarget::Routed {
                router,
                router_set_by,
                cache_file,
            } => {
                let timeout =
                    Duration::from_secs_f64(self.http.network.connect_timeout_s.max(1.0) * 2.0);
                let choice = choose_edge(
                    self.http.client(),
                    router,
                    &self.options.model,
                    cache_file.as_deref(),
                    timeout,
                    sink,
                    cancel,
                )
                .await?;
                if let Some(set_by) = router_set_by {
                    let router = router.as_str().trim_end_matches('/');
                    let set_by = format!("chosen by the autorouter {router} set by {set_by}");
                    let notice =
                        key_destination_notice(CloudService::PolarGrid, &choice.base, &set_by);
                    self.http.announce_key_destination(notice.as_deref(), sink);
                }
                Ok(choice.base)
            }
        }
    }

    fn query(&self, language: Option<&str>, prompt: Option<&str>) -> Vec<(String, String)> {
        let options = &self.options;
        let mut query = vec![("model".to_string(), options.model.clone())];
        let mut add = |name: &str, value: String| query.push((name.to_string(), value));
        if let Some(language) = language {
            add("language", language.to_string());
        }
        if let Some(prompt) = prompt.filter(|prompt| !prompt.trim().is_empty()) {
            add("prompt", prompt.to_string());
        }
        if options.mode != PolarGridMode::Stream {
            add(
                "response_format",
                options.response_format.as_query_value().to_string(),
            );
        }
        if let Some(temperature) = options.temperature {
            add("temperature", temperature.to_string());
        }
        if let Some(punctuation) = options.punctuation {
            add("punctuation", punctuation.to_string());
        }
        match options.mode {
            PolarGridMode::Async => {}
            PolarGridMode::Sync => add("sync", "true".into()),
            PolarGridMode::Stream => add("stream", "true".into()),
        }
        query
    }

    /// Uploads a part and returns the first success response.
    async fn submit(
        &self,
        base: &Url,
        part: &UploadPart,
        query: Vec<(String, String)>,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<reqwest::Response, EngineError> {
        let upload = MultipartUpload {
            url: join_path(base, TRANSCRIPTIONS_PATH),
            query,
            part,
            file_field: "file",
            fields: Vec::new(),
        };
        let model = self.options.model.clone();
        let judge = |failure: &FailedResponse| polargrid_verdict(&self.http, failure, &model);
        self.http.send_multipart(upload, &judge, sink, cancel).await
    }

    async fn run_async(
        &self,
        base: &Url,
        part: &UploadPart,
        query: Vec<(String, String)>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<ParsedResult, EngineError> {
        let response = self
            .submit(base, part, query, output.sink(), cancel)
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            // A server that finishes at once answers with the result itself.
            return self.read_result(response, part, cancel).await;
        }
        let body = self.http.read_body(response, cancel).await?;
        let no_job = || {
            EngineError::Service(
                "PolarGrid accepted the job but its answer names neither a job id nor a poll URL; try again".into(),
            )
        };
        let job: JobStatus = serde_json::from_slice(&body).map_err(|_| no_job())?;
        let poll_url = job_poll_url(base, &job)?.ok_or_else(no_job)?;
        let job_name = job
            .job_id
            .as_deref()
            .map(|id| format!(" {id}"))
            .unwrap_or_default();
        let started = Instant::now();
        let max_wait = Duration::from_secs_f64(self.http.network.max_job_wait_s);
        let mut interval = self.poll_interval(job.poll_interval_ms)?;
        loop {
            sleep_or_cancel(interval, cancel).await?;
            let client = self.http.client().clone();
            let key = self.http.key().expose().to_string();
            let url = poll_url.clone();
            let mut make_request = move || Ok(client.get(url.clone()).bearer_auth(&key));
            let judge = |failure: &FailedResponse| poll_verdict(&self.http, failure);
            let response = self
                .http
                .send(&mut make_request, &judge, output.sink(), cancel)
                .await?;
            if response.status() == StatusCode::ACCEPTED {
                let body = self.http.read_body(response, cancel).await?;
                let status: Option<JobStatus> = serde_json::from_slice(&body).ok();
                interval = self.poll_interval(status.and_then(|status| status.poll_interval_ms))?;
                if started.elapsed() + interval > max_wait {
                    return Err(EngineError::Service(format!(
                        "the PolarGrid job{job_name} was not finished after {}; try again later or allow a longer job wait (--max-job-wait)",
                        super::retry::describe_duration(max_wait)
                    )));
                }
                continue;
            }
            return self.read_result(response, part, cancel).await;
        }
    }

    /// The pause before the next poll: the server's `poll_interval_ms` (never below our
    /// floor); one longer than the longest wait honoured ends the job.
    fn poll_interval(&self, poll_interval_ms: Option<f64>) -> Result<Duration, EngineError> {
        let floor = Duration::from_secs_f64(self.http.network.poll_min_interval_s);
        match poll_interval_ms {
            None => Ok(floor),
            Some(ms) => Ok(self.http.server_wait(ms / 1000.0, "", "poll again")?.max(floor)),
        }
    }

    async fn read_result(
        &self,
        response: reqwest::Response,
        part: &UploadPart,
        cancel: &CancellationToken,
    ) -> Result<ParsedResult, EngineError> {
        let body = self.http.read_body(response, cancel).await?;
        parse_result(&body, self.options.response_format, part.duration_s).map_err(|reason| {
            EngineError::Service(format!(
                "PolarGrid sent a result that cannot be read ({reason}); try again"
            ))
        })
    }

    async fn run_stream(
        &self,
        base: &Url,
        part: &UploadPart,
        query: Vec<(String, String)>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<ParsedResult, EngineError> {
        let response = self
            .submit(base, part, query, output.sink(), cancel)
            .await?;
        let mut reader = BodyReader::new(response, &self.http.network, CloudService::PolarGrid)?;
        let mut parser = SseParser::new(MAX_SSE_LINE_BYTES);
        let mut live = LiveText::default();
        let outcome = self
            .read_events(&mut reader, &mut parser, &mut live, output, cancel)
            .await;
        match outcome {
            Ok(Some(result)) => Ok(result),
            Ok(None) => Err(self.keep_live_text(
                &live,
                part,
                output,
                EngineError::Service(
                    "PolarGrid's stream ended before the final transcript; try again".into(),
                ),
            )),
            Err(EngineError::Cancelled) => Err(EngineError::Cancelled),
            Err(error) => Err(self.keep_live_text(&live, part, output, error)),
        }
    }

    /// After a broken stream, the text shown so far becomes a segment (so it is not lost
    /// with the live view) and the user is told it was never confirmed.
    fn keep_live_text(
        &self,
        live: &LiveText,
        part: &UploadPart,
        output: &mut PartOutput<'_>,
        error: EngineError,
    ) -> EngineError {
        let kept = text_as_one_segment(live.text(), part.duration_s);
        if !kept.is_empty() {
            output.warning(
                "PolarGrid's stream broke off; keeping the unconfirmed text received so far",
            );
        }
        for segment in kept {
            output.segment(segment);
        }
        with_kept_note(error, output.segments_sent)
    }

    /// Reads events until `[DONE]` or the end; returns the final result if `done` came.
    async fn read_events(
        &self,
        reader: &mut BodyReader,
        parser: &mut SseParser,
        live: &mut LiveText,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<Option<ParsedResult>, EngineError> {
        let mut done: Option<ParsedResult> = None;
        loop {
            let (events, finished) = match reader.next_chunk(cancel).await? {
                Some(chunk) => (
                    parser.push(&chunk).map_err(|error| {
                        EngineError::Service(format!(
                            "PolarGrid sent {error} in its stream; try again"
                        ))
                    })?,
                    false,
                ),
                None => (parser.finish().into_iter().collect(), true),
            };
            for event in events {
                let data = event.data.trim();
                if data == "[DONE]" {
                    return Ok(done);
                }
                let value: Value = serde_json::from_str(data).map_err(|_| {
                    EngineError::Service(format!(
                        "PolarGrid sent an event that is not valid JSON ({}); try again",
                        one_line_excerpt(&data.chars().take(80).collect::<String>())
                    ))
                })?;
                let kind = value
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or(event.event.clone())
                    .unwrap_or_default();
                if let Some(result) = self.apply_event(&kind, &value, live, output)? {
                    done = Some(result);
                }
            }
            if finished {
                return Ok(done);
            }
        }
    }

    /// Applies one event of the stream: a delta replaces the live text, `done` is the result
    /// (returned), an error event ends the job.
    fn apply_event(
        &self,
        kind: &str,
        value: &Value,
        live: &mut LiveText,
        output: &mut PartOutput<'_>,
    ) -> Result<Option<ParsedResult>, EngineError> {
        match kind {
            "transcript.text.delta" => {
                let delta = value.get("delta").and_then(Value::as_str).unwrap_or("");
                let text = live.apply_delta(delta).to_string();
                output.hypothesis(text.trim(), Some(0.0));
                Ok(None)
            }
            "transcript.text.done" => {
                let text = value.get("text").and_then(Value::as_str).unwrap_or(live.text()).trim().to_string();
                let duration_s = value.get("duration").and_then(Value::as_f64);
                let language = value.get("language").and_then(Value::as_str).map(str::to_string);
                let segments = text_as_one_segment(&text, duration_s);
                Ok(Some(ParsedResult { segments, language, duration_s }))
            }
            "error" => {
                let message = match value.get("error") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Object(object)) => {
                        object.get("message").and_then(Value::as_str).unwrap_or("no reason given").to_string()
                    }
                    _ => "no reason given".into(),
                };
                Err(EngineError::Service(format!(
                    "PolarGrid stopped with an error ({}); try again",
                    one_line_excerpt(&self.http.scrub(&message))
                )))
            }
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl Engine for PolarGridEngine {
    fn name(&self) -> &str {
        "polargrid"
    }

    async fn transcribe_file(
        &self,
        path: &Path,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        let language = language_to_request(CloudService::PolarGrid, options)?;
        let prompt = self
            .options
            .prompt
            .clone()
            .or_else(|| options.prompt.clone());
        let (prepared, mut output) = prepare_parts(
            path,
            UploadRules::polargrid(),
            self.transcoder.clone(),
            sink,
            cancel,
        )
        .await?;
        let base = self.edge(sink, cancel).await?;
        let mut summary = PartsSummary::default();
        for (index, part) in prepared.parts.iter().enumerate() {
            output.start_part(index, part.start_s);
            let query = self.query(language.as_deref(), prompt.as_deref());
            let result = match self.options.mode {
                PolarGridMode::Stream => {
                    self.run_stream(&base, part, query, &mut output, cancel)
                        .await?
                }
                PolarGridMode::Async => {
                    self.run_async(&base, part, query, &mut output, cancel)
                        .await?
                }
                PolarGridMode::Sync => {
                    let response = self.submit(&base, part, query, sink, cancel).await?;
                    self.read_result(response, part, cancel).await?
                }
            };
            for segment in result.segments {
                output.segment(segment);
            }
            summary.note_part(result.language, result.duration_s);
        }
        Ok(summary.outcome(language, &prepared))
    }
}

/// The fields of a job answer the client uses; everything else the service sends (`message`,
/// `metadata`, `result_url`, `created_at`…) is ignored.
#[derive(Debug, Deserialize)]
struct JobStatus {
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    poll_url: Option<String>,
    /// Read as any JSON number: a server's absurd value is refused with a message, not as
    /// an unreadable answer.
    #[serde(default)]
    poll_interval_ms: Option<f64>,
}

/// Where to poll: the server's `poll_url` (on the same origin only: the key goes there),
/// else the documented `?job_id=` form; `None` when the answer has neither.
fn job_poll_url(base: &Url, job: &JobStatus) -> Result<Option<Url>, EngineError> {
    if let Some(poll_url) = job.poll_url.as_deref().filter(|url| !url.trim().is_empty()) {
        let url = base.join(poll_url.trim()).map_err(|_| {
            EngineError::Service(
                "PolarGrid answered with a poll URL that cannot be read; try again".into(),
            )
        })?;
        if !same_origin(base, &url) {
            return Err(EngineError::Service(
                "PolarGrid pointed the job at another host; refusing to send the key there".into(),
            ));
        }
        return Ok(Some(url));
    }
    let Some(job_id) = job.job_id.as_deref().filter(|id| !id.trim().is_empty()) else {
        return Ok(None);
    };
    let mut url = join_path(base, TRANSCRIPTIONS_PATH);
    url.query_pairs_mut().append_pair("job_id", job_id);
    Ok(Some(url))
}

/// The message a PolarGrid error body carries: JSON `message` / `detail` / `error` (with
/// `code`), else its text.
fn error_message(body: &str) -> Option<String> {
    let body = body.trim();
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let message =
            ["message", "detail", "error", "Message"]
                .iter()
                .find_map(|field| match value.get(field)? {
                    Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
                    Value::Object(object) => object
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    _ => None,
                })?;
        return Some(match value.get("code").and_then(Value::as_str) {
            Some(code) => format!("{code}: {message}"),
            None => message,
        });
    }
    (!body.is_empty() && !body.starts_with('<')).then(|| body.to_string())
}

fn polargrid_verdict(http: &ServiceHttp, failure: &FailedResponse, model: &str) -> Verdict {
    let message = error_message(&failure.body);
    let detail = message
        .as_deref()
        .map(|text| format!(": {}", one_line_excerpt(text)))
        .unwrap_or_default();
    match failure.status.as_u16() {
        403 => Verdict::Fail(format!(
            "PolarGrid refused access (403{detail}); check that the key is valid for this region, or set a new PolarGrid key"
        )),
        404 => Verdict::Fail(format!(
            "PolarGrid has no model '{model}' loaded at this edge (404{detail}); try another model or region (--model, --region)"
        )),
        405 => Verdict::Fail(format!(
            "PolarGrid does not accept this request here (405{detail}); check the endpoint (--endpoint)"
        )),
        _ => http.default_verdict(failure, message.as_deref()),
    }
}

fn poll_verdict(http: &ServiceHttp, failure: &FailedResponse) -> Verdict {
    let message = error_message(&failure.body);
    let detail = message
        .as_deref()
        .map(|text| format!(": {}", one_line_excerpt(text)))
        .unwrap_or_default();
    match failure.status.as_u16() {
        400 => Verdict::Fail(format!(
            "the PolarGrid job failed (400{detail}); try again, or try another model"
        )),
        404 => Verdict::Fail(format!(
            "PolarGrid no longer knows the job (404{detail}); submit the file again"
        )),
        _ => http.default_verdict(failure, message.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_polled_at_its_poll_url_or_by_its_id() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let job = |text: &str| serde_json::from_str::<JobStatus>(text).unwrap();
        let url = |text: &str| job_poll_url(&base, &job(text)).unwrap().map(String::from);
        assert_eq!(
            url(r#"{"poll_url": "/v1/audio/transcriptions?job_id=a"}"#).as_deref(),
            Some("http://127.0.0.1:9/v1/audio/transcriptions?job_id=a")
        );
        assert_eq!(
            url(r#"{"job_id": "b", "status": "accepted"}"#).as_deref(),
            Some("http://127.0.0.1:9/v1/audio/transcriptions?job_id=b")
        );
        assert_eq!(url(r#"{"status": "accepted"}"#), None);
        assert!(job_poll_url(&base, &job(r#"{"poll_url": "http://elsewhere/x"}"#)).is_err());
    }

    #[test]
    fn error_bodies_are_read_in_every_documented_shape() {
        assert_eq!(
            error_message(r#"{"detail":"Invalid token"}"#).as_deref(),
            Some("Invalid token")
        );
        assert_eq!(
            error_message(r#"{"message":"slow down","code":"rate_limited"}"#).as_deref(),
            Some("rate_limited: slow down")
        );
        assert_eq!(error_message(r#"{"Message": null}"#), None);
        assert_eq!(error_message("Bad gateway").as_deref(), Some("Bad gateway"));
        assert_eq!(error_message("<html>oops</html>"), None);
    }
}
