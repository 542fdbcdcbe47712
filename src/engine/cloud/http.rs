//! HTTP for the cloud services: one client per engine, requests retried the way the
//! services ask, and response bodies read with limits.
//!
//! Every request is rebuilt from a factory on each attempt (a multipart body streamed from a
//! file cannot be cloned). 429 honours `Retry-After`; 502/503/504 and connection failures back
//! off with jitter; 401/402/403/404/413 are never retried and become a message that says what
//! is wrong and what to do. Each retry is announced to the user as a warning. Cancellation
//! drops the request at once, which closes the connection. Keys never reach a message: the
//! server's text is scrubbed and URLs are left out of transport errors.

use super::CloudService;
use super::keys::ApiKey;
use super::options::NetworkOptions;
use super::retry::{Backoff, bounded_duration, describe_duration, parse_retry_after};
use super::upload::UploadPart;
use crate::engine::EngineError;
use crate::events::EventSink;
use crate::units::describe_size;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{RequestBuilder, Response, StatusCode, Url};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What went wrong on a non-success response, read before deciding what to do.
#[derive(Debug, Clone)]
pub struct FailedResponse {
    pub status: StatusCode,
    /// The `Retry-After` header in seconds, as the server sent it (it may be absurd: check
    /// it with [`ServiceHttp::server_wait`] before waiting).
    pub retry_after_s: Option<f64>,
    pub content_type: Option<String>,
    /// The start of the body (at most 16 KiB), with the key scrubbed out.
    pub body: String,
}

/// What to do about a failed response.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Try again: after `Retry-After` when the server sent one, else after the backoff delay.
    /// `reason` completes "<Service> …" ("is unavailable (503)").
    Retry { reason: String },
    /// The account has too many requests in flight (60db): wait longer than a backoff.
    WaitForCapacity { reason: String },
    /// Stop with this one-line message.
    Fail(String),
    /// Stop: the service refused the key (`detail` is the status and the server's words).
    KeyRejected { detail: String },
}

/// The HTTP side of one engine: its client, its settings and its key (for scrubbing).
pub struct ServiceHttp {
    pub service: CloudService,
    client: reqwest::Client,
    pub network: NetworkOptions,
    key: ApiKey,
    /// Said once, before the first request, when the key goes somewhere other than the
    /// service's own address (see [`super::endpoint::key_destination_notice`]).
    endpoint_notice: Option<String>,
    notice_given: AtomicBool,
}

impl ServiceHttp {
    /// A client for `service` reaching `base`. Redirects are followed only within the same
    /// origin, so a key header never follows one elsewhere; system proxies are bypassed for
    /// loopback addresses.
    pub fn new(
        service: CloudService,
        network: NetworkOptions,
        key: ApiKey,
        base: &Url,
    ) -> Result<ServiceHttp, EngineError> {
        network.validate().map_err(EngineError::Service)?;
        let client = Self::client_builder(&network, base)
            .build()
            .map_err(|error| {
                EngineError::Service(format!(
                    "cannot set up HTTP for {}: {error}",
                    service.display_name()
                ))
            })?;
        Ok(ServiceHttp {
            service,
            client,
            network,
            key,
            endpoint_notice: None,
            notice_given: AtomicBool::new(false),
        })
    }

    /// Says `notice` (once per engine, before the first request) that the key is going to an
    /// address that is not the service's own.
    pub fn with_endpoint_notice(mut self, notice: Option<String>) -> ServiceHttp {
        self.endpoint_notice = notice;
        self
    }

    /// Warns, the first time only, where the key is going if that is not the service's own
    /// address: `notice` if given (an address known only at run time), else the one set at
    /// construction. Every request through [`ServiceHttp::send`] calls it; a connection made
    /// another way (a WebSocket) calls it before connecting.
    pub fn announce_key_destination(&self, notice: Option<&str>, sink: &EventSink) {
        if let Some(notice) = notice.or(self.endpoint_notice.as_deref())
            && !self.notice_given.swap(true, Ordering::Relaxed)
        {
            sink.warning(notice);
        }
    }

    /// [`ServiceHttp::new`] for the service's base URL (`endpoint`, else its
    /// `VERBATIM_<SERVICE>_URL`, else its default); returns the client and that base.
    pub fn for_endpoint(
        service: CloudService,
        network: NetworkOptions,
        key: ApiKey,
        endpoint: Option<&str>,
    ) -> Result<(ServiceHttp, Url), EngineError> {
        let (base, set_by) = super::endpoint::service_base_url(service, endpoint)?;
        let notice = set_by
            .and_then(|set_by| super::endpoint::key_destination_notice(service, &base, &set_by));
        let http = ServiceHttp::new(service, network, key, &base)?.with_endpoint_notice(notice);
        Ok((http, base))
    }

    /// A builder with the connect timeout, redirect rule and proxy rule used everywhere.
    pub fn client_builder(network: &NetworkOptions, base: &Url) -> reqwest::ClientBuilder {
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| super::endpoint::same_origin(first, attempt.url()));
            if attempt.previous().len() > 5 || !same_origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs_f64(network.connect_timeout_s))
            .redirect(redirect)
            .user_agent(concat!("verbatim/", env!("CARGO_PKG_VERSION")));
        if super::endpoint::is_loopback(base) {
            builder = builder.no_proxy();
        }
        builder
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    pub fn name(&self) -> &'static str {
        self.service.display_name()
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base: Duration::from_secs_f64(self.network.retry_base_delay_s),
            max: Duration::from_secs_f64(
                self.network
                    .retry_max_delay_s
                    .max(self.network.retry_base_delay_s),
            ),
        }
    }

    /// Sends the request `make_request` builds, retrying as `judge` decides for failed
    /// responses and with backoff for connection failures. Returns the first success (any
    /// 2xx status).
    pub async fn send(
        &self,
        make_request: &mut (dyn FnMut() -> Result<RequestBuilder, EngineError> + Send),
        judge: &(dyn Fn(&FailedResponse) -> Verdict + Sync),
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<Response, EngineError> {
        let name = self.name();
        self.announce_key_destination(None, sink);
        let max_attempts = self.network.max_attempts;
        let mut attempt: u32 = 1;
        let mut capacity_waits: u32 = 0;
        loop {
            let request = make_request()?;
            let (reason, delay) = match self.execute(request, cancel).await? {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let failure = self.read_failure(response, cancel).await?;
                    match judge(&failure) {
                        Verdict::Fail(message) => return Err(EngineError::Service(message)),
                        Verdict::KeyRejected { detail } => {
                            return Err(EngineError::KeyRejected {
                                service: self.service,
                                detail,
                            });
                        }
                        Verdict::Retry { reason } => {
                            let delay = match failure.retry_after_s {
                                Some(seconds) => self.server_wait(seconds, &reason, "retry")?,
                                None => self.backoff().delay(attempt),
                            };
                            (reason, delay)
                        }
                        Verdict::WaitForCapacity { reason } => {
                            capacity_waits += 1;
                            self.wait_for_capacity(&failure, &reason, capacity_waits, sink, cancel).await?;
                            continue;
                        }
                    }
                }
                Err(TransportFailure::ResponseTimeout) => {
                    return Err(EngineError::Service(format!(
                        "{name} did not answer within {}; try again later, or allow a longer response timeout (--response-timeout)",
                        describe_duration(Duration::from_secs_f64(self.network.response_timeout_s))
                    )));
                }
                Err(TransportFailure::Unreachable(cause)) => (
                    format!("could not be reached ({cause})"),
                    self.backoff().delay(attempt),
                ),
            };
            if attempt >= max_attempts {
                return Err(EngineError::Service(format!(
                    "{name} {reason}; gave up after {attempt} attempts — try again later"
                )));
            }
            attempt += 1;
            self.announce_and_wait(
                &format!(
                    "{name} {reason}; retrying in {} (attempt {attempt} of {max_attempts})",
                    describe_duration(delay)
                ),
                delay,
                sink,
                cancel,
            )
            .await?;
        }
    }

    /// Waits for a slot when the service is at its concurrency limit (the `capacity_waits`th
    /// time), longer each time, at least what the service asked for; gives up after
    /// `max_attempts` waits.
    async fn wait_for_capacity(
        &self,
        failure: &FailedResponse,
        reason: &str,
        capacity_waits: u32,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let name = self.name();
        if capacity_waits > self.network.max_attempts {
            return Err(EngineError::Service(format!(
                "{name} {reason}; still busy after {capacity_waits} waits — let your other transcriptions finish and try again"
            )));
        }
        let base = Duration::from_secs_f64(self.network.concurrency_wait_s);
        let wait = Backoff { base, max: base.saturating_mul(8) }.delay(capacity_waits);
        let delay = match failure.retry_after_s {
            Some(seconds) => self.server_wait(seconds, reason, "retry")?.max(wait),
            None => wait,
        };
        let message = format!("{name} {reason}; waiting {} for one to finish", describe_duration(delay));
        self.announce_and_wait(&message, delay, sink, cancel).await
    }

    /// A wait the server asked for (`seconds`, from a header or a body), if it is no longer
    /// than the longest one honoured (`max_retry_after_s`); otherwise the error that ends the
    /// job at once, saying what it asked for ("… asked to retry after 3169 years").
    /// `reason` completes "<Service> …" (empty for none); `what` is "retry" or "poll again".
    pub fn server_wait(&self, seconds: f64, reason: &str, what: &str) -> Result<Duration, EngineError> {
        // Validated settings are within a week, so the bound itself always converts.
        let longest = Duration::try_from_secs_f64(self.network.max_retry_after_s).unwrap_or_default();
        bounded_duration(seconds, longest).map_err(|too_long| {
            let said = if reason.is_empty() { String::new() } else { format!(" {reason} and") };
            EngineError::Service(format!(
                "{}{said} asked to {what} after {too_long}; try again later",
                self.name()
            ))
        })
    }

    async fn announce_and_wait(
        &self,
        message: &str,
        delay: Duration,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        sink.warning(self.key.scrub(message));
        sleep_or_cancel(delay, cancel).await
    }

    /// One attempt: the response, a transport failure, or cancellation (the outer error).
    async fn execute(
        &self,
        request: RequestBuilder,
        cancel: &CancellationToken,
    ) -> Result<Result<Response, TransportFailure>, EngineError> {
        let timeout = Duration::from_secs_f64(self.network.response_timeout_s);
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(EngineError::Cancelled),
            result = tokio::time::timeout(timeout, request.send()) => Ok(match result {
                Err(_) => Err(TransportFailure::ResponseTimeout),
                Ok(Err(error)) => Err(TransportFailure::Unreachable(self.key.scrub(&describe_transport_error(&error)))),
                Ok(Ok(response)) => Ok(response),
            }),
        }
    }

    async fn read_failure(
        &self,
        response: Response,
        cancel: &CancellationToken,
    ) -> Result<FailedResponse, EngineError> {
        let status = response.status();
        let retry_after_s = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        // The body only explains the failure: read a bounded prefix and give up quietly if
        // the connection misbehaves.
        let mut network = self.network.clone();
        network.max_response_bytes = u64::MAX;
        let mut body = Vec::new();
        if let Ok(mut reader) = BodyReader::new(response, &network, self.service) {
            while body.len() < 16 * 1024 {
                match reader.next_chunk(cancel).await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(EngineError::Cancelled) => return Err(EngineError::Cancelled),
                    Err(_) => break,
                }
            }
        }
        body.truncate(16 * 1024);
        let body = self.key.scrub(&String::from_utf8_lossy(&body));
        Ok(FailedResponse {
            status,
            retry_after_s,
            content_type,
            body,
        })
    }

    /// The standard reading of a failed response, given the message the service's error
    /// body carried (if any). Services handle their special cases, then call this.
    pub fn default_verdict(
        &self,
        failure: &FailedResponse,
        server_message: Option<&str>,
    ) -> Verdict {
        let name = self.name();
        let code = failure.status.as_u16();
        let detail = match server_message
            .map(one_line_excerpt)
            .filter(|text| !text.is_empty())
        {
            Some(text) => format!("{code}: {text}"),
            None => code.to_string(),
        };
        match code {
            401 => Verdict::KeyRejected { detail },
            402 => Verdict::Fail(format!(
                "{name} refused the request for billing reasons ({detail}); top up or check the plan of your {name} account"
            )),
            403 => Verdict::Fail(format!(
                "{name} refused access ({detail}); check that your key may use this endpoint and model, or set a new {name} key"
            )),
            404 => Verdict::Fail(format!(
                "{name} has no such endpoint or model ({detail}); check the model and the endpoint (--model, --endpoint)"
            )),
            413 => Verdict::Fail(format!(
                "the upload is too large for {name} ({detail}); use a shorter or more compressed file"
            )),
            429 => Verdict::Retry {
                reason: format!("is limiting the request rate ({detail})"),
            },
            502..=504 => Verdict::Retry {
                reason: format!("is unavailable ({detail})"),
            },
            400..=499 => Verdict::Fail(format!(
                "{name} rejected the request ({detail}); check the options and the file"
            )),
            _ => Verdict::Fail(format!("{name} failed ({detail}); try again later")),
        }
    }

    /// Sends one upload part as a multipart form with the bearer key, retrying as `judge`
    /// decides (see [`ServiceHttp::send`]); the file is re-opened on each attempt.
    pub async fn send_multipart(
        &self,
        upload: MultipartUpload<'_>,
        judge: &(dyn Fn(&FailedResponse) -> Verdict + Sync),
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<Response, EngineError> {
        let MultipartUpload {
            url,
            query,
            part,
            file_field,
            fields,
        } = upload;
        let client = self.client.clone();
        let key = self.key.expose().to_string();
        let (path, file_name, content_type) = (
            part.path.clone(),
            part.file_name.clone(),
            part.format.content_type(),
        );
        let mut make_request = move || {
            let mut form = reqwest::multipart::Form::new()
                .part(file_field, file_part(&path, &file_name, content_type)?);
            for (name, value) in &fields {
                form = form.text(*name, value.clone());
            }
            let mut request = client.post(url.clone());
            if !query.is_empty() {
                request = request.query(&query);
            }
            Ok(request.bearer_auth(&key).multipart(form))
        };
        self.send(&mut make_request, judge, sink, cancel).await
    }

    /// [`ServiceHttp::send_multipart`], then the answer read as the service's JSON result.
    pub async fn send_multipart_for_json<T: serde::de::DeserializeOwned>(
        &self,
        upload: MultipartUpload<'_>,
        judge: &(dyn Fn(&FailedResponse) -> Verdict + Sync),
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<T, EngineError> {
        let response = self.send_multipart(upload, judge, sink, cancel).await?;
        self.read_json(response, cancel).await
    }

    /// The whole body of a response (within the size limit).
    pub async fn read_body(
        &self,
        response: Response,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, EngineError> {
        BodyReader::new(response, &self.network, self.service)?
            .read_to_end(cancel)
            .await
    }

    /// A response's body read as the service's JSON result.
    pub async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        response: Response,
        cancel: &CancellationToken,
    ) -> Result<T, EngineError> {
        let body = self.read_body(response, cancel).await?;
        serde_json::from_slice(&body).map_err(|error| {
            EngineError::Service(format!(
                "{} sent a result that cannot be read ({}); try again",
                self.name(),
                one_line_excerpt(&error.to_string())
            ))
        })
    }

    /// Scrubs the key out of a message built from server text.
    pub fn scrub(&self, text: &str) -> String {
        self.key.scrub(text)
    }
}

enum TransportFailure {
    ResponseTimeout,
    Unreachable(String),
}

/// A transport error as one line, without the URL (the causes, joined).
pub fn describe_transport_error(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    if error.is_timeout() {
        parts.push("timed out".into());
    } else if error.is_connect() {
        parts.push("connection failed".into());
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(
            if error.is_body() {
                "the body failed"
            } else {
                "the request failed"
            }
            .into(),
        );
    }
    one_line_excerpt(&parts.join(": "))
}

/// Text as one line of at most 300 characters.
pub fn one_line_excerpt(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line
    }
}

/// Sleeps, unless cancelled first.
pub async fn sleep_or_cancel(
    delay: Duration,
    cancel: &CancellationToken,
) -> Result<(), EngineError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(EngineError::Cancelled),
        _ = tokio::time::sleep(delay) => Ok(()),
    }
}

/// One upload part as a multipart form: the audio under `file_field`, then the text
/// `fields`, with `query` on the URL.
pub struct MultipartUpload<'a> {
    pub url: Url,
    pub query: Vec<(String, String)>,
    pub part: &'a UploadPart,
    pub file_field: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// A response body read chunk by chunk, with an idle timeout, a size limit and cancellation.
pub struct BodyReader {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    received_bytes: u64,
    max_bytes: u64,
    idle: Duration,
    service: CloudService,
}

impl BodyReader {
    /// Refuses at once a body whose declared length is over the limit.
    pub fn new(
        response: Response,
        network: &NetworkOptions,
        service: CloudService,
    ) -> Result<BodyReader, EngineError> {
        if let Some(length) = response.content_length()
            && length > network.max_response_bytes
        {
            return Err(oversized(service, network.max_response_bytes));
        }
        Ok(BodyReader {
            stream: Box::pin(response.bytes_stream()),
            received_bytes: 0,
            max_bytes: network.max_response_bytes,
            idle: Duration::from_secs_f64(network.idle_timeout_s),
            service,
        })
    }

    /// The next piece of the body, `None` at its end.
    pub async fn next_chunk(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<Bytes>, EngineError> {
        let name = self.service.display_name();
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(EngineError::Cancelled),
            next = tokio::time::timeout(self.idle, self.stream.next()) => next,
        };
        match next {
            Err(_) => Err(EngineError::Service(format!(
                "{name} sent nothing for {}; the connection looks stalled — try again",
                describe_duration(self.idle)
            ))),
            Ok(None) => Ok(None),
            Ok(Some(Err(error))) => Err(EngineError::Service(format!(
                "the connection to {name} dropped before the response was complete ({}); try again",
                describe_transport_error(&error)
            ))),
            Ok(Some(Ok(chunk))) => {
                self.received_bytes += chunk.len() as u64;
                if self.received_bytes > self.max_bytes {
                    return Err(oversized(self.service, self.max_bytes));
                }
                Ok(Some(chunk))
            }
        }
    }

    /// The whole body (within the limit).
    pub async fn read_to_end(mut self, cancel: &CancellationToken) -> Result<Vec<u8>, EngineError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk(cancel).await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn oversized(service: CloudService, max_bytes: u64) -> EngineError {
    EngineError::Service(format!(
        "the {} response is larger than the {} limit, so it was not read; check that the endpoint is the real service",
        service.display_name(),
        describe_size(max_bytes)
    ))
}

/// A streamed request body from a file (re-opened on each attempt), and its length.
pub fn file_body(path: &Path) -> Result<(reqwest::Body, u64), EngineError> {
    let file = std::fs::File::open(path).map_err(|error| {
        EngineError::Service(format!(
            "cannot read {} for upload: {error}",
            path.display()
        ))
    })?;
    let size_bytes = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let stream =
        futures_util::stream::unfold(Some(tokio::fs::File::from_std(file)), |file| async move {
            use tokio::io::AsyncReadExt;
            let mut file = file?;
            let mut buffer = vec![0u8; 64 * 1024];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(buffer)), Some(file)))
                }
                // Report the error once, then end the stream.
                Err(error) => Some((Err(error), None)),
            }
        });
    Ok((reqwest::Body::wrap_stream(stream), size_bytes))
}

/// A multipart file part streamed from `path`.
pub fn file_part(
    path: &Path,
    file_name: &str,
    content_type: &str,
) -> Result<reqwest::multipart::Part, EngineError> {
    let (body, size_bytes) = file_body(path)?;
    reqwest::multipart::Part::stream_with_length(body, size_bytes)
        .file_name(file_name.to_string())
        .mime_str(content_type)
        .map_err(|error| EngineError::Service(format!("bad content type {content_type}: {error}")))
}

/// A message for an error that ended a transcript part-way: the cause, and that what came
/// before is kept.
pub fn with_kept_note(error: EngineError, segments_kept: usize) -> EngineError {
    match error {
        EngineError::Service(message) if segments_kept > 0 => EngineError::Service(format!(
            "{message} (the {segments_kept} segment{} received before this {} kept)",
            if segments_kept == 1 { "" } else { "s" },
            if segments_kept == 1 { "is" } else { "are" }
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_read_naturally() {
        assert_eq!(one_line_excerpt("a\n  b\tc"), "a b c");
        assert!(one_line_excerpt(&"x".repeat(500)).ends_with('…'));
    }

    #[test]
    fn kept_note_counts_segments() {
        let error = with_kept_note(EngineError::Service("dropped".into()), 3);
        assert_eq!(
            error.to_string(),
            "dropped (the 3 segments received before this are kept)"
        );
        let error = with_kept_note(EngineError::Service("dropped".into()), 0);
        assert_eq!(error.to_string(), "dropped");
        assert!(matches!(
            with_kept_note(EngineError::Cancelled, 2),
            EngineError::Cancelled
        ));
    }
}
