//! Fake cloud services on 127.0.0.1 that follow `shared/PROTOCOLS.md` to the letter and play
//! scripted scenarios (errors, retries, slow or broken streams…).
//!
//! They check what a real service checks — paths, the auth header, content types, query and
//! multipart fields — answer with the documented bodies, and record every request (method,
//! path, headers, query, multipart fields with file name, content type and size, the sniffed
//! audio format) so tests can assert on what a client sent. They do not transcribe: the text
//! is scripted (the JFK clip in `shared/testdata/speech/jfk.wav`).
//!
//! Gradium's and 60db's fakes also serve their live WebSockets (`gradium_ws`, `sixtydb_ws`),
//! which record each session ([`LiveSessionRecord`]) and derive their text from the audio.

pub mod gradium;
pub mod gradium_ws;
pub mod live;
pub mod llmstats;
pub mod polargrid;
pub mod sixtydb;
pub mod sixtydb_ws;

pub use live::LiveSessionRecord;
pub mod sniff;

use crate::engine::cloud::CloudService;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use sniff::{UploadFormat, sniff_upload};

/// A scripted behaviour. Not every scenario applies to every service
/// ([`Scenario::applies_to`]); one that does not behaves like `normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scenario {
    /// The documented success.
    Normal,
    /// PolarGrid SSE: each delta carries the whole hypothesis so far (the seed's reading).
    DeltaReplace,
    /// PolarGrid SSE: each delta is an increment (the SDK's reading), in data-only frames.
    DeltaIncrement,
    /// PolarGrid SSE: increments in named events (`event:` lines) and no `[DONE]`, as other
    /// OpenAI-style servers send them (the SDK skips such frames and keeps only the final
    /// text).
    NamedEvents,
    /// PolarGrid SSE: whole-hypothesis deltas where a later one revises earlier words.
    DeltaRevise,
    /// The response body arrives one byte at a time.
    Slow,
    /// An error message in the stream after some results (Gradium live: `error` 1011 and a
    /// 1011 close after 3 s of audio).
    ErrorMidStream,
    /// The connection is cut after some results (live: after 3 s of audio for Gradium, 6 s
    /// for 60db, without a close).
    DropMidStream,
    /// 429 with `Retry-After: 1`, then success.
    RateLimited,
    /// 503 twice, then success.
    UnavailableTwice,
    /// The key is refused (Gradium: its plain-text 500 with code 1008; others: 401).
    Unauthorized,
    /// 413: the upload is too large.
    TooLarge,
    /// Gradium: a plain-text 500 without the `error from server` prefix.
    PlainTextError,
    /// A line or event that is not valid JSON, after some results.
    MalformedLine,
    /// A response body far larger than any client should read.
    Oversized,
    /// PolarGrid async: the job stays `processing` for several polls.
    SlowJob,
    /// PolarGrid async: the job fails (400 on the poll).
    JobFailed,
    /// PolarGrid async: only the documented job fields (`job_id`, `status`, `poll_url`,
    /// `poll_interval_ms`), none of the extra ones the SDK requires.
    BareJob,
    /// Gradium REST: `step` lines with an empty `vad` between the results (as the WebSocket
    /// sends them; the REST docs have none).
    StepLines,
    /// 60db: the body wrapped as the SDK's README reads it, `{"success": true, "data": {…}}`.
    Wrapped,
    /// 60db: the file must come in `audio` (as the SDK names it); `file` is refused with a
    /// 422 that names the missing field.
    AudioField,
    /// 60db: success with empty text and `no_speech_detected`.
    NoSpeech,
    /// 60db: success with empty text and `low_snr_dropped`.
    LowSnr,
    /// 60db: 429 `STT_CONCURRENCY_LIMIT` twice, then success.
    ConcurrencyLimit,
    /// Some results, then silence on an open connection (for idle timeouts and cancel).
    Stall,
    /// 402: out of credit (60db live: a 1008 close with `INSUFFICIENT_CREDITS` after 2 s).
    PaymentRequired,
    /// 429 asking to retry far too late: PolarGrid `Retry-After: 1e20`, 60db its concurrency
    /// limit with `Retry-After: 600` (clients must refuse to wait, not panic or hang).
    RetryMuchLater,
    /// PolarGrid async: the job asks to be polled again after a 20-digit number of
    /// milliseconds.
    PollMuchLater,
    /// 60db live: the Quick Start's handshake, `connected` before a typed
    /// `connection_established` (instead of the lifecycle order).
    HandshakeConnectedFirst,
}

impl Scenario {
    /// The kebab-case name used on the command line.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    /// Whether the scenario means something for `service`.
    pub fn applies_to(self, service: CloudService) -> bool {
        use CloudService::*;
        use Scenario::*;
        match self {
            Normal | RateLimited | UnavailableTwice | Unauthorized | TooLarge | Oversized
            | Stall | PaymentRequired => true,
            DeltaReplace | DeltaIncrement | NamedEvents | DeltaRevise | SlowJob | JobFailed
            | BareJob | PollMuchLater => service == PolarGrid,
            RetryMuchLater => matches!(service, PolarGrid | SixtyDb),
            Slow | ErrorMidStream | MalformedLine => matches!(service, Gradium | PolarGrid),
            DropMidStream => matches!(service, Gradium | PolarGrid | SixtyDb),
            PlainTextError | StepLines => service == Gradium,
            NoSpeech | LowSnr | ConcurrencyLimit | HandshakeConnectedFirst | Wrapped | AudioField => {
                service == SixtyDb
            }
        }
    }
}

/// How a fake server is set up.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub service: CloudService,
    pub scenario: Scenario,
    /// The only key accepted.
    pub key: String,
    /// Size of the `oversized` body.
    pub oversized_bytes: usize,
    /// How long `stall` keeps the connection silent.
    pub stall: Duration,
    /// Pause between bytes in `slow`.
    pub byte_delay: Duration,
    /// How long a live Gradium session may last (the service's cap is 300 s).
    pub live_session_cap: Duration,
}

impl FakeConfig {
    pub fn new(service: CloudService, scenario: Scenario) -> FakeConfig {
        FakeConfig {
            service,
            scenario,
            key: default_key(service).to_string(),
            oversized_bytes: 8 * 1024 * 1024,
            stall: Duration::from_secs(30),
            byte_delay: Duration::from_millis(1),
            live_session_cap: Duration::from_secs(300),
        }
    }
}

/// The path of a service's live WebSocket on its fake (Gradium's and 60db's), `None` for the
/// services without one.
pub fn live_path(service: CloudService) -> Option<&'static str> {
    match service {
        CloudService::Gradium => Some(gradium_ws::PATH),
        CloudService::SixtyDb => Some(sixtydb_ws::PATH),
        CloudService::PolarGrid | CloudService::LlmStats => None,
    }
}

/// The key each fake accepts unless told otherwise.
pub fn default_key(service: CloudService) -> &'static str {
    match service {
        CloudService::Gradium => "fake-gradium-key",
        CloudService::PolarGrid => "pg_fake_polargrid_key",
        CloudService::LlmStats => "fake-llmstats-key",
        CloudService::SixtyDb => "fake-60db-key",
    }
}

/// One multipart field as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: usize,
    /// The text of a field without a file name (first 4 KiB).
    pub value: Option<String>,
    /// The audio format of a file field, told from its content by the fakes' own sniffer.
    pub sniffed_format: Option<UploadFormat>,
}

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body_size_bytes: usize,
    /// The audio format of a raw body, told from its content by the fakes' own sniffer.
    pub body_format: Option<UploadFormat>,
    pub multipart: Vec<RecordedPart>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn part(&self, name: &str) -> Option<&RecordedPart> {
        self.multipart.iter().find(|part| part.name == name)
    }

    /// A multipart text field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.part(name).and_then(|part| part.value.as_deref())
    }

    /// One line for logs, with credentials hidden.
    pub fn summary(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let fields: Vec<String> = self
            .multipart
            .iter()
            .map(|part| match (&part.file_name, &part.value) {
                (Some(file), _) => format!(
                    "{}=<file {file}, {} bytes, {:?}>",
                    part.name, part.size_bytes, part.sniffed_format
                ),
                (None, Some(value)) => format!("{}={value}", part.name),
                (None, None) => part.name.clone(),
            })
            .collect();
        let auth = if self.header("authorization").is_some() || self.header("x-api-key").is_some() {
            "key sent"
        } else {
            "no key"
        };
        format!(
            "{} {}{}{} ({auth}; body {} bytes{}){}",
            self.method,
            self.path,
            if query.is_empty() { "" } else { "?" },
            query.join("&"),
            self.body_size_bytes,
            self.body_format
                .map(|f| format!(", {f:?}"))
                .unwrap_or_default(),
            if fields.is_empty() {
                String::new()
            } else {
                format!(" fields: {}", fields.join(", "))
            }
        )
    }
}

/// A request handed to a service's handler: the record and the raw material.
pub struct Captured {
    pub record: RecordedRequest,
    pub body: Bytes,
    /// Multipart fields with their data, when the body was multipart and parsed.
    pub fields: Vec<(RecordedPart, Bytes)>,
    /// Why the multipart body could not be parsed, when it was meant to be multipart.
    pub multipart_error: Option<String>,
}

impl Captured {
    pub fn field_data(&self, name: &str) -> Option<&(RecordedPart, Bytes)> {
        self.fields.iter().find(|(part, _)| part.name == name)
    }
}

/// A PolarGrid job the fake knows.
#[derive(Debug, Clone)]
pub(crate) struct JobRecord {
    pub polls: usize,
    pub response_format: String,
    /// When it was submitted, in seconds since the Unix epoch.
    pub created_unix_s: u64,
}

/// What every handler shares: the setup, the log of requests, counters and PolarGrid jobs.
pub struct FakeState {
    pub config: FakeConfig,
    pub base_url: String,
    records: Mutex<Vec<RecordedRequest>>,
    counters: Mutex<HashMap<String, usize>>,
    pub(crate) jobs: Mutex<HashMap<String, JobRecord>>,
    live_sessions: Mutex<Vec<live::SharedRecord>>,
    log_requests: bool,
}

impl FakeState {
    /// Adds one to a named counter and returns its new value (1 on the first call).
    pub fn bump(&self, counter: &str) -> usize {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = counters.entry(counter.to_string()).or_insert(0);
        *value += 1;
        *value
    }

    /// Starts the record of a live session (the query's values are not kept: one is the key).
    pub(crate) fn new_live_session(&self, path: &str, query: Option<&str>, key_accepted: bool) -> live::SharedRecord {
        let query_names = query
            .map(|query| url::form_urlencoded::parse(query.as_bytes()).map(|(name, _)| name.into_owned()).collect())
            .unwrap_or_default();
        if self.log_requests {
            eprintln!("fake {}: live session on {path} (key {})", self.config.service.id(), if key_accepted { "accepted" } else { "refused" });
        }
        let record = Arc::new(Mutex::new(LiveSessionRecord { path: path.to_string(), query_names, key_accepted, ..LiveSessionRecord::default() }));
        self.live_sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(record.clone());
        record
    }
}

/// A running fake server. Stops when dropped.
pub struct FakeServer {
    address: SocketAddr,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts a fake on 127.0.0.1 (`port` 0 picks a free one). Must be called inside a Tokio
    /// runtime.
    pub async fn start(config: FakeConfig, port: u16) -> std::io::Result<FakeServer> {
        Self::start_with_logging(config, port, false).await
    }

    /// [`FakeServer::start`], printing a line per request to stderr (for `verbatim dev`).
    pub async fn start_with_logging(
        config: FakeConfig,
        port: u16,
        log_requests: bool,
    ) -> std::io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(FakeState {
            config,
            base_url: format!("http://{address}"),
            records: Mutex::new(Vec::new()),
            counters: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            live_sessions: Mutex::new(Vec::new()),
            log_requests,
        });
        let router = match state.config.service {
            CloudService::Gradium => axum::Router::new().route(gradium_ws::PATH, axum::routing::get(gradium_ws::upgrade)),
            CloudService::SixtyDb => axum::Router::new().route(sixtydb_ws::PATH, axum::routing::get(sixtydb_ws::upgrade)),
            CloudService::PolarGrid | CloudService::LlmStats => axum::Router::new(),
        };
        let router = router.fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeServer {
            address,
            state,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn key(&self) -> &str {
        &self.state.config.key
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every live session so far, in the order they opened, as far as each has got.
    pub fn live_sessions(&self) -> Vec<LiveSessionRecord> {
        let sessions = self.state.live_sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.iter().map(|record| record.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()).collect()
    }

    /// Waits until the server stops (for `verbatim dev fake-server`).
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const MAX_REQUEST_BYTES: usize = 512 * 1024 * 1024;

async fn handle(State(state): State<Arc<FakeState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("could not read the body: {error}"),
            )
                .into_response();
        }
    };
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type =
        header_text(&parts.headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let is_multipart = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data");
    let (fields, multipart_error) = if is_multipart {
        match parse_multipart(&content_type, body.clone()).await {
            Ok(fields) => (fields, None),
            Err(error) => (Vec::new(), Some(error)),
        }
    } else {
        (Vec::new(), None)
    };
    let body_format = (!is_multipart && !body.is_empty()).then(|| sniff_upload(&body));
    let record = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers,
        body_size_bytes: body.len(),
        body_format,
        multipart: fields.iter().map(|(part, _)| part.clone()).collect(),
    };
    if state.log_requests {
        eprintln!("fake {}: {}", state.config.service.id(), record.summary());
    }
    state
        .records
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(record.clone());
    let captured = Captured {
        record,
        body,
        fields,
        multipart_error,
    };
    match state.config.service {
        CloudService::Gradium => gradium::handle(&state, captured).await,
        CloudService::PolarGrid => polargrid::handle(&state, captured).await,
        CloudService::LlmStats => llmstats::handle(&state, captured).await,
        CloudService::SixtyDb => sixtydb::handle(&state, captured).await,
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

async fn parse_multipart(
    content_type: &str,
    body: Bytes,
) -> Result<Vec<(RecordedPart, Bytes)>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|error| error.to_string())?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| error.to_string())?
    {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|mime| mime.to_string());
        let data = field.bytes().await.map_err(|error| error.to_string())?;
        let value = file_name
            .is_none()
            .then(|| String::from_utf8_lossy(&data[..data.len().min(4096)]).into_owned());
        let sniffed_format = file_name.is_some().then(|| sniff_upload(&data));
        fields.push((
            RecordedPart {
                name,
                file_name,
                content_type,
                size_bytes: data.len(),
                value,
                sniffed_format,
            },
            data,
        ));
    }
    Ok(fields)
}

/// How a streamed body ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ending {
    /// Normally.
    Close,
    /// The connection is cut (the body ends with an error).
    Drop,
    /// Nothing more is sent for this long, then the body ends.
    Stall(Duration),
}

/// A body sent piece by piece: `pieces` in order (each split into single bytes when
/// `byte_delay` is set), then `ending`.
pub fn streamed_body(pieces: Vec<Vec<u8>>, byte_delay: Option<Duration>, ending: Ending) -> Body {
    let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
    for piece in pieces {
        match byte_delay {
            Some(_) => queue.extend(piece.into_iter().map(|byte| vec![byte])),
            None => queue.push_back(piece),
        }
    }
    let stream = futures_util::stream::unfold(
        (queue, Some(ending)),
        move |(mut queue, ending)| async move {
            if let Some(piece) = queue.pop_front() {
                if let Some(delay) = byte_delay {
                    tokio::time::sleep(delay).await;
                }
                return Some((Ok(Bytes::from(piece)), (queue, ending)));
            }
            match ending? {
                Ending::Close => None,
                Ending::Drop => {
                    // Let what was sent reach the client first, as on a real broken connection.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((
                        Err(std::io::Error::other("connection dropped by the fake")),
                        (queue, None),
                    ))
                }
                Ending::Stall(duration) => {
                    tokio::time::sleep(duration).await;
                    None
                }
            }
        },
    );
    Body::from_stream(stream)
}

/// A body of `size_bytes` of filler sent in 64 KiB chunks without a declared length.
pub fn endless_filler(line: &[u8], size_bytes: usize) -> Body {
    // Whole lines per chunk, so every line stays valid however the chunks fall.
    let chunk: Vec<u8> = line.repeat((64 * 1024 / line.len().max(1)).max(1));
    let count = size_bytes.div_ceil(chunk.len().max(1));
    streamed_body(vec![chunk; count], None, Ending::Close)
}

/// The `oversized` scenario's answer: a JSON transcript of `size_bytes` (a client must stop
/// reading at its own cap).
pub fn oversized_json(size_bytes: usize) -> Response {
    respond(StatusCode::OK, "application/json", format!("{{\"text\":\"{}\"}}", "a".repeat(size_bytes)))
}

/// A response with a status, a content type and a body.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A JSON response.
pub fn json(status: StatusCode, value: serde_json::Value) -> Response {
    respond(status, "application/json", value.to_string())
}

/// Adds `Retry-After: <seconds>`.
pub fn with_retry_after(response: Response, seconds: u64) -> Response {
    with_retry_after_text(response, &seconds.to_string())
}

/// Adds `Retry-After: <value>` as written (`1e20`, a date…).
pub fn with_retry_after_text(mut response: Response, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// What LLM Stats and 60db take: every common audio format (MP4 video included).
pub(crate) const COMMON_FORMATS: [UploadFormat; 9] = [
    UploadFormat::PcmWav,
    UploadFormat::OtherWav,
    UploadFormat::Mp3,
    UploadFormat::M4a,
    UploadFormat::Mp4,
    UploadFormat::OggOpus,
    UploadFormat::OggVorbis,
    UploadFormat::Flac,
    UploadFormat::WebM,
];

/// Why a multipart file part's name would be refused: a client must send a name, and the
/// file's name only — a local path (`/home/…/jfk.wav`, as the 60db SDK sends) tells the
/// service about the sender's folders.
pub fn file_name_problem(part: &RecordedPart) -> Option<String> {
    match part.file_name.as_deref() {
        None | Some("") => Some("the file part has no file name".into()),
        Some(name) if name.contains('/') || name.contains('\\') => Some(format!(
            "the file name '{name}' carries a local path; send the file's name only"
        )),
        Some(_) => None,
    }
}

/// Why a language field would be refused: the services take ISO 639 codes, two or three
/// lower-case letters.
pub fn language_code_problem(code: &str) -> Option<String> {
    let is_code = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
    (!is_code).then(|| format!("'{code}' is not an ISO 639 language code"))
}

/// The bearer token of a request, if it sent one.
pub fn bearer(record: &RecordedRequest) -> Option<&str> {
    record
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
}

/// The scripted transcript every fake returns: the JFK clip, in three timed phrases, with
/// words.
pub struct ScriptedPhrase {
    pub text: &'static str,
    pub start_s: f64,
    pub end_s: f64,
}

pub const JFK_DURATION_S: f64 = 11.0;

pub const JFK_PHRASES: [ScriptedPhrase; 3] = [
    ScriptedPhrase {
        text: "And so, my fellow Americans,",
        start_s: 0.32,
        end_s: 2.14,
    },
    ScriptedPhrase {
        text: "ask not what your country can do for you,",
        start_s: 3.12,
        end_s: 6.48,
    },
    ScriptedPhrase {
        text: "ask what you can do for your country.",
        start_s: 7.02,
        end_s: 10.58,
    },
];

/// The whole scripted text.
pub fn jfk_text() -> String {
    JFK_PHRASES
        .iter()
        .map(|phrase| phrase.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a phrase with evenly spread times; `punctuated` keeps the punctuation.
pub fn phrase_words(phrase: &ScriptedPhrase, punctuated: bool) -> Vec<(String, f64, f64)> {
    let tokens: Vec<&str> = phrase.text.split_whitespace().collect();
    let step = (phrase.end_s - phrase.start_s) / tokens.len() as f64;
    tokens
        .iter()
        .enumerate()
        .map(|(index, token)| {
            let text = if punctuated {
                token.to_string()
            } else {
                token
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .to_string()
            };
            let start = phrase.start_s + step * index as f64;
            (text, round3(start), round3(start + step * 0.9))
        })
        .collect()
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_kebab_case() {
        assert_eq!(Scenario::UnavailableTwice.name(), "unavailable-twice");
        assert!(Scenario::NoSpeech.applies_to(CloudService::SixtyDb));
        assert!(!Scenario::NoSpeech.applies_to(CloudService::Gradium));
    }

    #[test]
    fn scripted_words_cover_their_phrase() {
        let words = phrase_words(&JFK_PHRASES[0], false);
        assert_eq!(words.len(), 5);
        assert_eq!(words[1].0, "so");
        assert!(words[4].2 <= JFK_PHRASES[0].end_s);
        assert_eq!(jfk_text().split_whitespace().count(), 22);
    }
}
