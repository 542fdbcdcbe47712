//! The model downloader against a small HTTP server on 127.0.0.1 that misbehaves on purpose:
//! it drops connections, stalls, ignores ranges, lies about sizes and hashes, or is slow enough
//! to cancel. Each test checks the file that ends up on disk byte for byte.

use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use verbatim::models::download::{
    DownloadError, DownloadOptions, DownloadOutcome, DownloadProgress, Expected, download_file,
    download_model_expecting, download_model_from,
};
use verbatim::models::store::ModelStore;

const MODEL: &str = "tiny.en";
const BODY_BYTES: usize = 3 * 1024 * 1024 + 12_345;

/// Deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(sha1::Sha1::digest(bytes))
}

/// How the test server answers.
#[derive(Clone)]
struct Plan {
    body: Arc<Vec<u8>>,
    /// Hugging Face style: `/resolve/…` answers 302 to `/cdn/…`, with `X-Linked-*` on the 302.
    redirect: bool,
    /// Where that 302 points instead of `/cdn/…` on this server.
    redirect_to: Option<String>,
    /// The body goes out chunked, with no `Content-Length`.
    chunked: bool,
    x_linked_etag: Option<String>,
    x_linked_size: Option<u64>,
    /// `ETag` on the response that carries the body.
    etag: Option<String>,
    honour_range: bool,
    /// Statuses for the first body requests, before serving normally.
    statuses_first: Vec<u16>,
    /// The first `cut_requests` body requests send this many body bytes and close.
    cut_requests: usize,
    cut_after_bytes: usize,
    /// The first `stall_requests` body requests send this many bytes, then go silent.
    stall_requests: usize,
    stall_after_bytes: usize,
    chunk_bytes: usize,
    chunk_delay: Duration,
}

impl Plan {
    fn new(body: Arc<Vec<u8>>) -> Plan {
        Plan {
            body,
            redirect: false,
            redirect_to: None,
            chunked: false,
            x_linked_etag: None,
            x_linked_size: None,
            etag: None,
            honour_range: true,
            statuses_first: Vec::new(),
            cut_requests: 0,
            cut_after_bytes: 0,
            stall_requests: 0,
            stall_after_bytes: 0,
            chunk_bytes: 64 * 1024,
            chunk_delay: Duration::ZERO,
        }
    }

    /// Like huggingface.co: a redirect carrying the SHA-256 and size, then a CDN whose ETag
    /// is not a SHA-256.
    fn hugging_face_like(body: Arc<Vec<u8>>) -> Plan {
        let mut plan = Plan::new(body.clone());
        plan.redirect = true;
        plan.x_linked_etag = Some(format!("\"{}\"", sha256_hex(&body)));
        plan.x_linked_size = Some(body.len() as u64);
        plan.etag = Some("\"0123456789abcdef0123456789abcdef-3\"".to_string());
        plan
    }
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    status: u16,
    body_bytes_sent: usize,
}

struct ServerState {
    plan: Mutex<Plan>,
    seen: Mutex<Vec<Seen>>,
    body_requests: AtomicUsize,
}

struct TestServer {
    base_url: String,
    state: Arc<ServerState>,
}

impl TestServer {
    async fn start(plan: Plan) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(ServerState {
            plan: Mutex::new(plan),
            seen: Mutex::new(Vec::new()),
            body_requests: AtomicUsize::new(0),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            // Bounded: no test makes anywhere near this many requests.
            for _ in 0..200 {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(handle(socket, accept_state.clone()));
            }
        });
        TestServer {
            base_url: format!("http://{addr}"),
            state,
        }
    }

    fn set_plan(&self, change: impl FnOnce(&mut Plan)) {
        change(&mut self.state.plan.lock().expect("plan"));
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    /// Requests that got (or would have got) the file's bytes, not redirects.
    fn body_requests(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.status != 302)
            .collect()
    }

    fn url(&self) -> String {
        format!("{}/resolve/main/ggml-{MODEL}.bin", self.base_url)
    }
}

async fn read_request_head(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = socket.read(&mut buffer).await.ok()?;
        if read == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8(head).ok()
}

async fn handle(mut socket: TcpStream, state: Arc<ServerState>) {
    let Some(head) = read_request_head(&mut socket).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let range = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("range"))
        .map(|(_, value)| value.trim().to_string());
    let plan = state.plan.lock().expect("plan").clone();
    let mut seen = Seen {
        path: path.clone(),
        range: range.clone(),
        status: 0,
        body_bytes_sent: 0,
    };

    let linked_headers = format!(
        "{}{}",
        plan.x_linked_etag
            .as_ref()
            .map(|etag| format!("X-Linked-Etag: {etag}\r\n"))
            .unwrap_or_default(),
        plan.x_linked_size
            .map(|size| format!("X-Linked-Size: {size}\r\n"))
            .unwrap_or_default(),
    );
    if plan.redirect && path.starts_with("/resolve/") {
        let file = path.rsplit('/').next().unwrap_or_default();
        let location = plan
            .redirect_to
            .clone()
            .unwrap_or_else(|| format!("/cdn/{file}?signed=1"));
        let response = format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\n{linked_headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        seen.status = 302;
        state.seen.lock().expect("seen").push(seen);
        let _ = socket.write_all(response.as_bytes()).await;
        return;
    }
    let linked_headers = if plan.redirect {
        String::new()
    } else {
        linked_headers
    };
    let etag_header = plan
        .etag
        .as_ref()
        .map(|etag| format!("ETag: {etag}\r\n"))
        .unwrap_or_default();

    let request_number = state.body_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(&status) = plan.statuses_first.get(request_number) {
        let response = format!(
            "HTTP/1.1 {status} Test\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        seen.status = status;
        state.seen.lock().expect("seen").push(seen);
        let _ = socket.write_all(response.as_bytes()).await;
        return;
    }

    let total = plan.body.len();
    let start = match (&range, plan.honour_range) {
        (Some(range), true) => range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok()),
        _ => None,
    };
    if let Some(start) = start
        && start >= total
    {
        let response = format!(
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\n{linked_headers}{etag_header}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        seen.status = 416;
        state.seen.lock().expect("seen").push(seen);
        let _ = socket.write_all(response.as_bytes()).await;
        return;
    }
    let (status_line, range_header, from) = match start {
        Some(start) => (
            "206 Partial Content",
            format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1),
            start,
        ),
        None => ("200 OK", String::new(), 0),
    };
    seen.status = if start.is_some() { 206 } else { 200 };
    let body = plan.body.get(from..).unwrap_or_default();
    let length_header = if plan.chunked {
        "Transfer-Encoding: chunked\r\n".to_string()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let response_head = format!(
        "HTTP/1.1 {status_line}\r\n{length_header}{range_header}{linked_headers}{etag_header}Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    // Recorded before answering, so a client that has its answer sees the record.
    let index = {
        let mut all = state.seen.lock().expect("seen");
        all.push(seen);
        all.len() - 1
    };
    if socket.write_all(response_head.as_bytes()).await.is_err() {
        return;
    }
    let cut_at = (request_number < plan.cut_requests).then_some(plan.cut_after_bytes);
    let stall_at = (request_number < plan.stall_requests).then_some(plan.stall_after_bytes);
    let limit = cut_at.or(stall_at).unwrap_or(body.len()).min(body.len());
    let mut sent = 0;
    while sent < limit {
        let end = (sent + plan.chunk_bytes).min(limit);
        // Counted before sending, for the same reason as above.
        if let Some(entry) = state.seen.lock().expect("seen").get_mut(index) {
            entry.body_bytes_sent = end;
        }
        let written = if plan.chunked {
            let mut chunk = format!("{:x}\r\n", end - sent).into_bytes();
            chunk.extend_from_slice(&body[sent..end]);
            chunk.extend_from_slice(b"\r\n");
            socket.write_all(&chunk).await
        } else {
            socket.write_all(&body[sent..end]).await
        };
        if written.is_err() {
            break;
        }
        sent = end;
        if !plan.chunk_delay.is_zero() {
            tokio::time::sleep(plan.chunk_delay).await;
        }
    }
    if plan.chunked && sent == body.len() {
        let _ = socket.write_all(b"0\r\n\r\n").await;
    }
    if stall_at.is_some() && cut_at.is_none() {
        // Silent, but open: only the client's idle timeout gets it out.
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
    let _ = socket.shutdown().await;
}

fn fast_options() -> DownloadOptions {
    DownloadOptions {
        max_tries: 5,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        connect_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(10),
        max_redirects: 5,
        progress_interval: Duration::ZERO,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: ModelStore,
    body: Arc<Vec<u8>>,
}

fn fixture(seed: u64) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ModelStore::at(dir.path().join("models"));
    Fixture {
        _dir: dir,
        store,
        body: Arc::new(pseudo_random_bytes(BODY_BYTES, seed)),
    }
}

async fn download(
    store: &ModelStore,
    server: &TestServer,
    progress_log: &mut Vec<DownloadProgress>,
    cancel: &CancellationToken,
) -> Result<DownloadOutcome, DownloadError> {
    let mut record = |p: DownloadProgress| progress_log.push(p);
    // The test bodies are not the real model, so the catalog's pins are left out here (the
    // pins have their own test below); the server's hash is checked as ever.
    download_model_expecting(
        store,
        &server.base_url,
        MODEL,
        Expected::default(),
        &mut record,
        cancel,
        &fast_options(),
    )
    .await
}

/// [`download_file`] of the test server's file into the store's place for [`MODEL`].
async fn download_expecting(
    store: &ModelStore,
    server: &TestServer,
    expected: Expected,
) -> Result<DownloadOutcome, DownloadError> {
    store.ensure_dir().expect("dir");
    download_file(
        &server.url(),
        &store.path_for(MODEL),
        expected,
        &mut |_| {},
        &CancellationToken::new(),
        &fast_options(),
    )
    .await
}

fn assert_installed_exactly(store: &ModelStore, body: &[u8]) {
    let on_disk = std::fs::read(store.path_for(MODEL)).expect("final file exists");
    assert_eq!(on_disk.len(), body.len(), "final file size");
    assert!(
        on_disk == body,
        "final file differs from what the server holds"
    );
    assert!(
        !store.partial_path_for(MODEL).exists(),
        "the partial file must be gone after success"
    );
}

fn assert_nothing_left(store: &ModelStore) {
    assert!(!store.path_for(MODEL).exists(), "no final file may exist");
    assert!(
        !store.partial_path_for(MODEL).exists(),
        "no partial file may be left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hugging_face_style_download_is_verified_with_x_linked_etag() {
    let fx = fixture(1);
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let mut progress = Vec::new();
    let outcome = download(&fx.store, &server, &mut progress, &CancellationToken::new())
        .await
        .expect("download succeeds");

    assert_installed_exactly(&fx.store, &fx.body);
    assert!(
        outcome.sha256_verified,
        "SHA-256 from X-Linked-Etag must be checked"
    );
    assert_eq!(
        outcome.sha256_hex.as_deref(),
        Some(sha256_hex(&fx.body).as_str())
    );
    assert_eq!(outcome.warning, None);
    assert_eq!(outcome.size_bytes, BODY_BYTES as u64);
    assert!(!outcome.already_installed);
    let seen = server.seen();
    assert_eq!(seen.first().map(|s| s.status), Some(302), "{seen:?}");
    assert!(seen.iter().any(|s| s.path.starts_with("/cdn/")), "{seen:?}");
    let installed = fx.store.list().expect("list");
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0].name, MODEL);
    assert_eq!(
        fx.store.resolve(MODEL).expect("resolves"),
        fx.store.path_for(MODEL)
    );

    // Progress: many reports, never going back, ending at the full size with the total known.
    assert!(
        progress.len() >= 10,
        "only {} progress reports",
        progress.len()
    );
    for pair in progress.windows(2) {
        assert!(
            pair[1].downloaded_bytes >= pair[0].downloaded_bytes,
            "progress went back: {pair:?}"
        );
    }
    let last = progress.last().expect("progress reported");
    assert_eq!(last.downloaded_bytes, BODY_BYTES as u64);
    assert_eq!(last.total_bytes, Some(BODY_BYTES as u64));
    assert!(
        progress
            .iter()
            .all(|p| p.total_bytes == Some(BODY_BYTES as u64))
    );

    // A second call downloads nothing.
    let requests_before = server.seen().len();
    let again = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("already installed");
    assert!(again.already_installed);
    assert_eq!(server.seen().len(), requests_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_etag_that_is_a_sha256_is_checked_too() {
    let fx = fixture(2);
    let mut plan = Plan::new(fx.body.clone());
    plan.etag = Some(format!("\"{}\"", sha256_hex(&fx.body)));
    let server = TestServer::start(plan).await;
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("download succeeds");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_with_range() {
    let fx = fixture(3);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.cut_requests = 2;
    plan.cut_after_bytes = 1024 * 1024 + 7;
    let server = TestServer::start(plan).await;
    let mut progress = Vec::new();
    let outcome = download(&fx.store, &server, &mut progress, &CancellationToken::new())
        .await
        .expect("download succeeds after two drops");

    assert_installed_exactly(&fx.store, &fx.body);
    assert!(outcome.sha256_verified);
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 3, "{body_requests:?}");
    assert_eq!(body_requests[0].range, None);
    let first_resume = body_requests[1]
        .range
        .as_deref()
        .expect("second request resumes");
    let second_resume = body_requests[2]
        .range
        .as_deref()
        .expect("third request resumes");
    let start_of = |range: &str| -> usize {
        range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse().ok())
            .expect("bytes=N- form")
    };
    assert_eq!(start_of(first_resume), 1024 * 1024 + 7);
    assert_eq!(start_of(second_resume), 2 * (1024 * 1024 + 7));
    let served: usize = body_requests.iter().map(|s| s.body_bytes_sent).sum();
    assert_eq!(served, BODY_BYTES, "resumes must not fetch bytes twice");
    for pair in progress.windows(2) {
        assert!(
            pair[1].downloaded_bytes >= pair[0].downloaded_bytes,
            "{pair:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_hits_the_idle_timeout_and_resumes() {
    let fx = fixture(4);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.stall_requests = 1;
    plan.stall_after_bytes = 512 * 1024;
    let server = TestServer::start(plan).await;
    let options = DownloadOptions {
        idle_timeout: Duration::from_millis(300),
        ..fast_options()
    };
    let started = Instant::now();
    let outcome = download_model_expecting(
        &fx.store,
        &server.base_url,
        MODEL,
        Expected::default(),
        &mut |_| {},
        &CancellationToken::new(),
        &options,
    )
    .await
    .expect("download succeeds after the stall");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 2, "{body_requests:?}");
    assert_eq!(body_requests[1].range.as_deref(), Some("bytes=524288-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_partial_is_resumed_and_its_bytes_are_hashed() {
    let fx = fixture(5);
    fx.store.ensure_dir().expect("dir");
    let already = 1_500_000;
    std::fs::write(fx.store.partial_path_for(MODEL), &fx.body[..already]).expect("partial");
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let mut progress = Vec::new();
    let outcome = download(&fx.store, &server, &mut progress, &CancellationToken::new())
        .await
        .expect("resume succeeds");

    assert_installed_exactly(&fx.store, &fx.body);
    assert!(outcome.sha256_verified);
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 1, "{body_requests:?}");
    assert_eq!(body_requests[0].range.as_deref(), Some("bytes=1500000-"));
    assert_eq!(body_requests[0].body_bytes_sent, BODY_BYTES - already);
    assert_eq!(
        progress.first().map(|p| p.downloaded_bytes),
        Some(already as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_partial_fails_the_hash_and_is_deleted() {
    let fx = fixture(6);
    fx.store.ensure_dir().expect("dir");
    let mut bad_prefix = fx.body[..1_000_000].to_vec();
    bad_prefix[123_456] ^= 0xff;
    std::fs::write(fx.store.partial_path_for(MODEL), &bad_prefix).expect("partial");
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("the flipped byte on disk must be caught");
    assert!(
        matches!(err, DownloadError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_nothing_left(&fx.store);
    // Running again starts clean and succeeds.
    download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("second run succeeds");
    assert_installed_exactly(&fx.store, &fx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_range_makes_the_download_restart() {
    let fx = fixture(7);
    fx.store.ensure_dir().expect("dir");
    // Garbage that would corrupt the file if it were kept.
    std::fs::write(
        fx.store.partial_path_for(MODEL),
        pseudo_random_bytes(1_000_000, 99),
    )
    .expect("partial");
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.honour_range = false;
    let server = TestServer::start(plan).await;
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("restart succeeds");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 1, "{body_requests:?}");
    assert_eq!(body_requests[0].range.as_deref(), Some("bytes=1000000-"));
    assert_eq!(body_requests[0].status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_partial_gets_416_and_is_verified_without_downloading() {
    let fx = fixture(8);
    fx.store.ensure_dir().expect("dir");
    std::fs::write(fx.store.partial_path_for(MODEL), fx.body.as_slice()).expect("partial");
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("complete partial accepted");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 1, "{body_requests:?}");
    assert_eq!(body_requests[0].status, 416);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_checksum_fails_and_leaves_nothing() {
    let fx = fixture(9);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.x_linked_etag = Some(format!("\"{}\"", sha256_hex(b"something else")));
    let server = TestServer::start(plan).await;
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("checksum mismatch");
    assert_eq!(
        err.to_string(),
        "downloaded file is not the expected one (SHA-256 mismatch); run the command again, and if it fails again the server is not sending the right file"
    );
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_supplied_sha256_wins_over_the_server() {
    let fx = fixture(10);
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let expected = Expected {
        sha256_hex: Some(sha256_hex(b"not the body").to_uppercase()),
        ..Expected::default()
    };
    let err = download_expecting(&fx.store, &server, expected)
        .await
        .expect_err("caller's hash does not match");
    assert!(
        matches!(err, DownloadError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_nothing_left(&fx.store);

    let expected = Expected {
        size_bytes: Some(BODY_BYTES as u64),
        sha256_hex: Some(sha256_hex(&fx.body)),
        ..Expected::default()
    };
    let outcome = download_expecting(&fx.store, &server, expected)
        .await
        .expect("caller's hash matches");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hash_means_a_warning_but_the_size_is_still_checked() {
    let fx = fixture(11);
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("download without hash succeeds");
    assert!(!outcome.sha256_verified);
    let warning = outcome.warning.expect("a warning about the missing hash");
    assert!(warning.contains("no SHA-256"), "{warning}");
    assert!(warning.contains("only the size was checked"), "{warning}");
    assert_installed_exactly(&fx.store, &fx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_is_a_404_with_the_url() {
    let fx = fixture(12);
    let mut plan = Plan::new(fx.body.clone());
    plan.statuses_first = vec![404];
    let server = TestServer::start(plan).await;
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("404");
    assert_eq!(
        err.to_string(),
        format!("no model named '{MODEL}' at {}", server.url())
    );
    assert_nothing_left(&fx.store);
    assert_eq!(server.body_requests().len(), 1, "a 404 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_given_up() {
    let fx = fixture(13);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.statuses_first = vec![503, 429];
    let server = TestServer::start(plan).await;
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("succeeds on the third try");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
    let statuses: Vec<u16> = server.body_requests().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [503, 429, 200]);

    let fx = fixture(14);
    let mut plan = Plan::new(fx.body.clone());
    plan.statuses_first = vec![500; 10];
    let server = TestServer::start(plan).await;
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("gives up");
    assert!(
        matches!(err, DownloadError::HttpStatus { status: 500, .. }),
        "{err}"
    );
    assert_eq!(server.body_requests().len(), 5, "max_tries = 5");
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_keeps_dropping_gives_up_but_keeps_the_partial() {
    let fx = fixture(15);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    // 100 kB are on disk already; every request then drops before sending a byte.
    plan.cut_requests = 100;
    plan.cut_after_bytes = 0;
    let server = TestServer::start(plan).await;
    fx.store.ensure_dir().expect("dir");
    std::fs::write(fx.store.partial_path_for(MODEL), &fx.body[..100_000]).expect("partial");
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("gives up");
    assert!(
        matches!(err, DownloadError::Network { tries: 5, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("after 5 tries"), "{message}");
    assert!(
        message.ends_with("run the same command to resume"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    let partial = std::fs::read(fx.store.partial_path_for(MODEL)).expect("partial kept");
    assert!(partial == fx.body[..100_000], "partial unchanged");
    let body_requests = server.body_requests();
    assert_eq!(body_requests.len(), 5, "{body_requests:?}");
    assert!(
        body_requests
            .iter()
            .all(|s| s.range.as_deref() == Some("bytes=100000-")),
        "{body_requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_quickly_keeps_the_partial_and_a_second_run_resumes() {
    let fx = fixture(16);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.chunk_bytes = 32 * 1024;
    plan.chunk_delay = Duration::from_millis(40);
    let server = TestServer::start(plan).await;

    let cancel = CancellationToken::new();
    let received = Arc::new(AtomicU64::new(0));
    let cancelled_at = Arc::new(Mutex::new(None::<Instant>));
    let canceller = tokio::spawn({
        let cancel = cancel.clone();
        let received = received.clone();
        let cancelled_at = cancelled_at.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while received.load(Ordering::SeqCst) < 600_000 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Between two slow chunks: the downloader is waiting on the socket.
            tokio::time::sleep(Duration::from_millis(15)).await;
            *cancelled_at.lock().expect("time") = Some(Instant::now());
            cancel.cancel();
        }
    });
    let mut report = |p: DownloadProgress| received.store(p.downloaded_bytes, Ordering::SeqCst);
    let result = download_model_expecting(
        &fx.store,
        &server.base_url,
        MODEL,
        Expected::default(),
        &mut report,
        &cancel,
        &fast_options(),
    )
    .await;
    let returned_at = Instant::now();
    canceller.await.expect("canceller");
    let cancelled_at = cancelled_at.lock().expect("time").expect("cancel was sent");
    let stop_latency = returned_at.duration_since(cancelled_at);
    eprintln!("cancel → return: {stop_latency:?}");

    assert!(
        matches!(result, Err(DownloadError::Cancelled)),
        "{result:?}"
    );
    assert_eq!(
        result.expect_err("cancelled").to_string(),
        "download cancelled; run the same command to resume"
    );
    assert!(
        stop_latency < Duration::from_millis(250),
        "cancel took {stop_latency:?}"
    );
    assert!(
        !fx.store.path_for(MODEL).exists(),
        "no final file after cancel"
    );
    let partial = std::fs::read(fx.store.partial_path_for(MODEL)).expect("partial kept");
    assert!(
        partial.len() >= 600_000 && partial.len() < BODY_BYTES,
        "partial has {} bytes",
        partial.len()
    );
    assert!(
        partial == fx.body[..partial.len()],
        "partial is a prefix of the file"
    );

    // Second run, at full speed: resumes where the partial ends.
    server.set_plan(|plan| plan.chunk_delay = Duration::ZERO);
    let outcome = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect("resume completes");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
    let last_request = server.body_requests().pop().expect("a resume request");
    assert_eq!(
        last_request.range,
        Some(format!("bytes={}-", partial.len())),
        "second run resumes from the partial's end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_that_disagree_fail_and_leave_nothing() {
    // The redirect announces more bytes than the CDN serves.
    let fx = fixture(17);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.x_linked_size = Some(BODY_BYTES as u64 + 1000);
    let server = TestServer::start(plan).await;
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("size mismatch");
    assert!(
        matches!(
            err,
            DownloadError::SizeMismatch { expected_bytes, actual_bytes }
                if expected_bytes == BODY_BYTES as u64 + 1000 && actual_bytes == BODY_BYTES as u64
        ),
        "{err}"
    );
    assert!(err.to_string().contains("wrong size"), "{err}");
    assert_nothing_left(&fx.store);

    // The caller expects a different size than the server has.
    let fx = fixture(18);
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    fx.store.ensure_dir().expect("dir");
    let expected = Expected {
        size_bytes: Some(BODY_BYTES as u64 - 1),
        ..Expected::default()
    };
    let err = download_expecting(&fx.store, &server, expected)
        .await
        .expect_err("size mismatch");
    assert!(matches!(err, DownloadError::SizeMismatch { .. }), "{err}");
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_download_of_the_same_file_is_refused_while_one_runs() {
    let fx = fixture(19);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    plan.chunk_bytes = 64 * 1024;
    plan.chunk_delay = Duration::from_millis(20);
    let server = TestServer::start(plan).await;
    let started = Arc::new(AtomicU64::new(0));
    let cancel = CancellationToken::new();
    let first = {
        let store = fx.store.clone();
        let base = server.base_url.clone();
        let started = started.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut report =
                |p: DownloadProgress| started.store(p.downloaded_bytes, Ordering::SeqCst);
            let expected = Expected::default();
            download_model_expecting(
                &store,
                &base,
                MODEL,
                expected,
                &mut report,
                &cancel,
                &fast_options(),
            )
            .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while started.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("busy");
    assert!(matches!(err, DownloadError::Busy { .. }), "{err}");
    let outcome = first.await.expect("join").expect("first download unharmed");
    assert!(outcome.sha256_verified);
    assert_installed_exactly(&fx.store, &fx.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_names_are_refused_before_any_request() {
    let fx = fixture(20);
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    let err = download_model_from(
        &fx.store,
        &server.base_url,
        "huge-v9",
        &mut |_| {},
        &CancellationToken::new(),
        &fast_options(),
    )
    .await
    .expect_err("unknown");
    assert!(err.to_string().contains("verbatim models list"), "{err}");
    assert!(server.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_model_must_match_its_pinned_sha1_whatever_the_server_says() {
    // A mirror serving other bytes under the catalog's name, with a matching SHA-256 of its own.
    let fx = fixture(21);
    let server = TestServer::start(Plan::hugging_face_like(fx.body.clone())).await;
    let err = download_model_from(
        &fx.store,
        &server.base_url,
        MODEL,
        &mut |_| {},
        &CancellationToken::new(),
        &fast_options(),
    )
    .await
    .expect_err("not the published tiny.en");
    assert!(
        matches!(
            err,
            DownloadError::ChecksumMismatch {
                algorithm: "SHA-1",
                ..
            }
        ),
        "{err}"
    );
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_sha1_is_checked_across_a_resume() {
    let fx = fixture(22);
    fx.store.ensure_dir().expect("dir");
    std::fs::write(fx.store.partial_path_for(MODEL), &fx.body[..700_000]).expect("partial");
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    let pinned = |sha1: String| Expected {
        sha1_hex: Some(sha1),
        ..Expected::default()
    };
    let outcome = download_model_expecting(
        &fx.store,
        &server.base_url,
        MODEL,
        pinned(sha1_hex(&fx.body).to_uppercase()),
        &mut |_| {},
        &CancellationToken::new(),
        &fast_options(),
    )
    .await
    .expect("the pin matches");
    assert!(outcome.sha1_verified && !outcome.sha256_verified);
    assert_eq!(outcome.warning, None, "a pinned hash needs no warning");
    assert_installed_exactly(&fx.store, &fx.body);
    assert_eq!(
        server.body_requests()[0].range.as_deref(),
        Some("bytes=700000-")
    );

    let fx = fixture(23);
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    let err = download_model_expecting(
        &fx.store,
        &server.base_url,
        MODEL,
        pinned(sha1_hex(b"another file")),
        &mut |_| {},
        &CancellationToken::new(),
        &fast_options(),
    )
    .await
    .expect_err("the pin does not match");
    assert!(err.to_string().contains("SHA-1 mismatch"), "{err}");
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_sends_without_a_length_is_stopped_at_the_cap() {
    let fx = fixture(24);
    let mut plan = Plan::new(fx.body.clone());
    plan.chunked = true;
    let server = TestServer::start(plan).await;
    let capped = |max_size_bytes: u64| Expected {
        max_size_bytes: Some(max_size_bytes),
        ..Expected::default()
    };
    let err = download_expecting(&fx.store, &server, capped(1024 * 1024))
        .await
        .expect_err("more than the cap");
    assert!(
        matches!(err, DownloadError::TooLarge { limit_bytes, .. } if limit_bytes == 1024 * 1024),
        "{err}"
    );
    assert_nothing_left(&fx.store);
    assert_eq!(server.body_requests().len(), 1, "not retried");

    // The same server within the cap: chunked transfer itself is fine.
    let outcome = download_expecting(&fx.store, &server, capped(BODY_BYTES as u64))
        .await
        .expect("within the cap");
    assert!(
        outcome
            .warning
            .is_some_and(|w| w.contains("neither a SHA-256 nor a size"))
    );
    assert_installed_exactly(&fx.store, &fx.body);

    // A length announced above the cap is refused before any byte is fetched.
    let fx = fixture(25);
    let server = TestServer::start(Plan::new(fx.body.clone())).await;
    let err = download_expecting(&fx.store, &server, capped(1000))
        .await
        .expect_err("announced more than the cap");
    assert!(matches!(err, DownloadError::TooLarge { .. }), "{err}");
    assert_nothing_left(&fx.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_plain_http_on_another_machine_is_refused_without_connecting() {
    let fx = fixture(26);
    let mut plan = Plan::hugging_face_like(fx.body.clone());
    // TEST-NET-1: nothing answers there, so following it would end in a network error.
    plan.redirect_to = Some("http://192.0.2.1/cdn/ggml-tiny.en.bin".to_string());
    let server = TestServer::start(plan).await;
    let started = Instant::now();
    let err = download(
        &fx.store,
        &server,
        &mut Vec::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, DownloadError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("not https"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it tried to connect"
    );
    assert_nothing_left(&fx.store);
}
