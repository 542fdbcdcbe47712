//! Downloading model files so that a dropped connection, a Ctrl-C or a bad mirror never leaves
//! a truncated or corrupt model where the engine would load it.
//!
//! How a download goes:
//! - Bytes go to `DEST.partial`, locked so two downloads of one file cannot interleave.
//! - An existing `.partial` is resumed with `Range: bytes=N-`. Its bytes are hashed first, so the
//!   SHA-256 always covers the whole file. `206` continues; `200` (the server ignored the range)
//!   restarts from 0; `416` means the partial is already complete (checked below) or bad
//!   (restarted).
//! - A dropped connection, a stalled one (no byte for [`DownloadOptions::idle_timeout`]; there is
//!   no total timeout, models are GBs), a `408`, `429` or `5xx` is retried from where it stopped,
//!   with exponential backoff and jitter. Tries are counted only while no byte arrives: an
//!   attempt that made progress resets the count.
//! - At the end the size is checked against `Content-Length` / the `Content-Range` total,
//!   `X-Linked-Size` and the caller's expectation, and the hashes against the expected ones.
//!   A mismatch deletes the partial. Only then is the file fsynced and renamed into place
//!   (same directory, so the rename is atomic), and the directory fsynced.
//! - More bytes than [`Expected::max_size_bytes`] (else [`DEFAULT_MAX_DOWNLOAD_BYTES`]) are
//!   never fetched, whether the server announces them or streams them without a length.
//! - Redirects go to `https` only; plain `http` is followed only from this machine to this
//!   machine (a local mirror or test server), never from `https`.
//! - Cancelling stops at the next await point (well under 100 ms), keeps the partial for a
//!   later resume and returns [`DownloadError::Cancelled`].
//!
//! Catalog models are checked against the SHA-1 the catalog pins ([`super::catalog`]), whatever
//! the server says. The expected SHA-256 comes from the caller's [`Expected::sha256_hex`] if
//! given, else the server. Hugging Face serves files stored in Git LFS (all ggml models) from
//! `/resolve/…` with a redirect to a CDN; that first response carries `X-Linked-Etag: "<sha256
//! of the file>"` and `X-Linked-Size: <bytes>`. Redirects are therefore followed here by hand,
//! keeping those headers from every hop. A plain `ETag` that is 64 hex digits is taken as the
//! SHA-256 too (Hugging Face's own for LFS files, and what a mirror can imitate). When no hash is
//! known the size is still checked and [`DownloadOutcome::warning`] says the hash was not.

use super::catalog;
use super::store::{ModelError, ModelStore};
use crate::net::is_loopback;
use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::sync::CancellationToken;

/// How far a download has got. `downloaded_bytes` includes bytes resumed from an earlier
/// partial; it only goes down when the server makes the download restart from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    pub downloaded_bytes: u64,
    /// The size of the whole file, once the server has said it.
    pub total_bytes: Option<u64>,
}

/// What the caller already knows about the file; each known value must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub size_bytes: Option<u64>,
    /// 64 hex digits, either case. Takes precedence over the server's hash.
    pub sha256_hex: Option<String>,
    /// 40 hex digits, either case: what whisper.cpp publishes for its models.
    pub sha1_hex: Option<String>,
    /// No more bytes than this are fetched ([`DEFAULT_MAX_DOWNLOAD_BYTES`] if `None`).
    pub max_size_bytes: Option<u64>,
}

/// The most a download fetches when the caller sets no limit: above the largest model.
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 4 << 30;

/// Retry and timeout settings. The defaults suit multi-GB files on a flaky network.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Consecutive tries that bring no new byte before giving up (at least 1).
    pub max_tries: u32,
    /// Wait before the second try; doubles on each further try, with jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// Give up on a connection (and retry) when no byte arrives for this long.
    pub idle_timeout: Duration,
    pub max_redirects: u32,
    /// At most one progress report per interval (plus one at each start and at the end).
    pub progress_interval: Duration,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            max_tries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(16),
            connect_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(30),
            max_redirects: 10,
            progress_interval: Duration::from_millis(100),
        }
    }
}

/// A finished download (or a model that was already there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOutcome {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// SHA-256 of the file as downloaded (`None` when it was already installed).
    pub sha256_hex: Option<String>,
    /// The SHA-256 was compared with an expected one (the caller's or the server's) and matched.
    pub sha256_verified: bool,
    /// The SHA-1 was compared with the caller's (the catalog's pin) and matched.
    pub sha1_verified: bool,
    /// The model was installed before; nothing was downloaded.
    pub already_installed: bool,
    /// Something the user should know, e.g. that no hash was available to check against.
    pub warning: Option<String>,
}

/// Why a download failed. One line each, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("download cancelled; run the same command to resume")]
    Cancelled,
    #[error("no model named '{name}' at {url}")]
    ModelNotFound { name: String, url: String },
    #[error("nothing to download at {url} (HTTP 404); check the address")]
    NotFound { url: String },
    #[error("download from {url} failed: the server answered HTTP {status}; try again later")]
    HttpStatus { url: String, status: u16 },
    #[error(
        "download from {url} failed after {tries} tries: {reason}; run the same command to resume"
    )]
    Network {
        url: String,
        tries: u32,
        reason: String,
    },
    #[error(
        "downloaded file is not the expected one ({algorithm} mismatch); run the command again, and if it fails again the server is not sending the right file"
    )]
    ChecksumMismatch {
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error(
        "download from {url} stopped: the server sends more than {limit_bytes} bytes, more than the file can be; check the address"
    )]
    TooLarge { url: String, limit_bytes: u64 },
    #[error(
        "downloaded file has the wrong size ({actual_bytes} bytes, expected {expected_bytes}); run the command again"
    )]
    SizeMismatch {
        expected_bytes: u64,
        actual_bytes: u64,
    },
    #[error("download from {url} failed: {reason}")]
    Protocol { url: String, reason: String },
    #[error(
        "{} is being downloaded by another process; wait for it to finish",
        path.display()
    )]
    Busy { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Downloads catalog model `name` into `store` from `VERBATIM_MODEL_BASE_URL` (default: the
/// whisper.cpp repository on Hugging Face). Returns at once if it is already installed.
pub async fn download_model(
    store: &ModelStore,
    name: &str,
    progress: &mut (dyn FnMut(DownloadProgress) + Send),
    cancel: &CancellationToken,
) -> Result<DownloadOutcome, DownloadError> {
    let base_url = catalog::base_url();
    download_model_from(
        store,
        &base_url,
        name,
        progress,
        cancel,
        &DownloadOptions::default(),
    )
    .await
}

/// [`download_model`] from an explicit base URL, with explicit options. The file must match
/// the catalog's pinned SHA-1 and stay under its size cap, whatever the server says.
pub async fn download_model_from(
    store: &ModelStore,
    base_url: &str,
    name: &str,
    progress: &mut (dyn FnMut(DownloadProgress) + Send),
    cancel: &CancellationToken,
    options: &DownloadOptions,
) -> Result<DownloadOutcome, DownloadError> {
    let expected = catalog::lookup(name)?.expected();
    download_model_expecting(store, base_url, name, expected, progress, cancel, options).await
}

/// [`download_model_from`] checking `expected` instead of the catalog's pins: for a mirror
/// that serves catalog names with other contents (a test server, a model built elsewhere).
pub async fn download_model_expecting(
    store: &ModelStore,
    base_url: &str,
    name: &str,
    expected: Expected,
    progress: &mut (dyn FnMut(DownloadProgress) + Send),
    cancel: &CancellationToken,
    options: &DownloadOptions,
) -> Result<DownloadOutcome, DownloadError> {
    let entry = catalog::lookup(name)?;
    let dest = store.path_for(entry.name);
    if let Ok(metadata) = std::fs::metadata(&dest)
        && metadata.is_file()
    {
        return Ok(DownloadOutcome {
            path: dest,
            size_bytes: metadata.len(),
            sha256_hex: None,
            sha256_verified: false,
            sha1_verified: false,
            already_installed: true,
            warning: None,
        });
    }
    store.ensure_dir()?;
    let url = catalog::model_url_at(base_url, entry.name);
    match download_file(&url, &dest, expected, progress, cancel, options).await {
        Err(DownloadError::NotFound { url }) => Err(DownloadError::ModelNotFound {
            name: entry.name.to_string(),
            url,
        }),
        other => other,
    }
}

/// Downloads `url` to `dest` through `dest.partial` (see the module doc). `dest`'s directory
/// must exist. An existing `dest` is replaced.
pub async fn download_file(
    url: &str,
    dest: &Path,
    expected: Expected,
    progress: &mut (dyn FnMut(DownloadProgress) + Send),
    cancel: &CancellationToken,
    options: &DownloadOptions,
) -> Result<DownloadOutcome, DownloadError> {
    let parsed_url = Url::parse(url).map_err(|e| DownloadError::Protocol {
        url: url.to_string(),
        reason: format!("invalid address ({e})"),
    })?;
    let parse_expected = |hex: &Option<String>, digits: usize, name: &str| match hex {
        Some(hex) => {
            parse_hex_digest(hex, digits)
                .map(Some)
                .ok_or_else(|| DownloadError::Protocol {
                    url: url.to_string(),
                    reason: format!("the expected {name} is not {digits} hex digits"),
                })
        }
        None => Ok(None),
    };
    let expected_sha256 = parse_expected(&expected.sha256_hex, 64, "SHA-256")?;
    let expected_sha1 = parse_expected(&expected.sha1_hex, 40, "SHA-1")?;
    let max_size_bytes = expected
        .max_size_bytes
        .unwrap_or(DEFAULT_MAX_DOWNLOAD_BYTES);
    let client = build_client(&parsed_url, options).map_err(|e| DownloadError::Protocol {
        url: url.to_string(),
        reason: format!("cannot set up HTTP ({e})"),
    })?;
    let partial_path = partial_path(dest);

    let longest_bytes = expected.size_bytes.unwrap_or(u64::MAX).min(max_size_bytes);
    let mut partial = PartialFile::open(&partial_path, longest_bytes, cancel).await?;
    let mut job = Job {
        client,
        url: parsed_url,
        expected_size_bytes: expected.size_bytes,
        max_size_bytes,
        caller_sha256: expected_sha256,
        caller_sha1: expected_sha1,
        server_sha256: None,
        linked_size_bytes: None,
        total_bytes: None,
        options,
        last_report: None,
    };

    match job.run(&mut partial, progress, cancel).await {
        Ok(()) => job.finish(partial, dest, progress).await,
        Err(error) => {
            let corrupt = matches!(
                error,
                DownloadError::ChecksumMismatch { .. }
                    | DownloadError::SizeMismatch { .. }
                    | DownloadError::TooLarge { .. }
            );
            if corrupt || partial.len_bytes == 0 {
                // Nothing worth resuming: leave no file behind.
                partial.discard().await;
            } else {
                // Kept for the next run to resume (cancel, network gave up, disk error…).
                partial.flush_quietly().await;
            }
            Err(error)
        }
    }
}

/// `DEST` → `DEST.partial`.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

fn build_client(url: &Url, options: &DownloadOptions) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("verbatim/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(options.connect_timeout)
        // Followed by hand, to keep Hugging Face's X-Linked-* headers from the first hop.
        .redirect(reqwest::redirect::Policy::none());
    if is_loopback(url) {
        // A proxy from the environment can never reach this machine's own server.
        builder = builder.no_proxy();
    }
    builder.build()
}

/// The `.partial` file: locked, its bytes hashed, written through a buffer.
struct PartialFile {
    path: PathBuf,
    writer: BufWriter<tokio::fs::File>,
    hashes: Hashes,
    /// Bytes in the file, all of them fed to `hashes`.
    len_bytes: u64,
}

/// The digests computed over a download as it arrives.
#[derive(Clone, Default)]
struct Hashes {
    sha256: Sha256,
    sha1: Sha1,
}

impl Hashes {
    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha1.update(bytes);
    }
}

const WRITE_BUFFER_BYTES: usize = 1 << 20;

impl PartialFile {
    /// Opens (or creates) and locks the partial, and hashes what is already in it (all of it,
    /// unless it is longer than `max_len_bytes`: then it starts over).
    async fn open(
        path: &Path,
        max_len_bytes: u64,
        cancel: &CancellationToken,
    ) -> Result<PartialFile, DownloadError> {
        let io_error = |action, e| DownloadError::Io {
            action,
            path: path.to_path_buf(),
            source: e,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error("open", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DownloadError::Busy {
                    path: path.to_path_buf(),
                });
            }
            // A file system without locks: go on unprotected rather than refuse.
            Err(std::fs::TryLockError::Error(e)) => {
                log::warn!("cannot lock {}: {e}", path.display());
            }
        }
        let mut len_bytes = file.metadata().map_err(|e| io_error("read", e))?.len();
        if len_bytes > max_len_bytes {
            len_bytes = 0;
        }
        let cancel_for_hash = cancel.clone();
        let (file, hashed) =
            tokio::task::spawn_blocking(move || hash_prefix(file, len_bytes, &cancel_for_hash))
                .await
                .map_err(|e| io_error("hash", std::io::Error::other(e)))?;
        let (hashes, hashed_len_bytes) = hashed.map_err(|e| io_error("hash", e))?;
        if cancel.is_cancelled() {
            return Err(DownloadError::Cancelled);
        }
        // Drops anything past what was hashed (a partial longer than the file, or one that
        // shrank while being read).
        file.set_len(hashed_len_bytes)
            .map_err(|e| io_error("truncate", e))?;
        let mut file = tokio::fs::File::from_std(file);
        file.seek(SeekFrom::Start(hashed_len_bytes))
            .await
            .map_err(|e| io_error("seek in", e))?;
        Ok(PartialFile {
            path: path.to_path_buf(),
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            hashes,
            len_bytes: hashed_len_bytes,
        })
    }

    async fn append(&mut self, bytes: &[u8]) -> Result<(), DownloadError> {
        self.writer
            .write_all(bytes)
            .await
            .map_err(|e| self.io_error("write", e))?;
        self.hashes.update(bytes);
        self.len_bytes += bytes.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), DownloadError> {
        self.writer
            .flush()
            .await
            .map_err(|e| self.io_error("write", e))
    }

    /// Flushes what was received, for a later resume; a failure only shortens the partial,
    /// which the next run re-hashes anyway.
    async fn flush_quietly(&mut self) {
        if let Err(e) = self.writer.flush().await {
            log::warn!("cannot write {}: {e}", self.path.display());
        }
    }

    /// Empties the file to start over.
    async fn restart(&mut self) -> Result<(), DownloadError> {
        self.flush().await?;
        let file = self.writer.get_mut();
        file.set_len(0).await.map_err(|e| DownloadError::Io {
            action: "truncate",
            path: self.path.clone(),
            source: e,
        })?;
        file.seek(SeekFrom::Start(0))
            .await
            .map_err(|e| DownloadError::Io {
                action: "seek in",
                path: self.path.clone(),
                source: e,
            })?;
        self.hashes = Hashes::default();
        self.len_bytes = 0;
        Ok(())
    }

    /// Deletes the file (corrupt download).
    async fn discard(self) {
        let PartialFile { path, writer, .. } = self;
        let mut file = writer.into_inner();
        // Waits for a write still in flight, so the handle is really closed before removal.
        let _ = file.flush().await;
        drop(file);
        if let Err(e) = tokio::fs::remove_file(&path).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("cannot remove {}: {e}", path.display());
        }
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> DownloadError {
        DownloadError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// Hashes the first `len_bytes` of `file` (fewer if it is shorter). Stops early, with what it
/// has, when cancelled.
fn hash_prefix(
    mut file: std::fs::File,
    len_bytes: u64,
    cancel: &CancellationToken,
) -> (std::fs::File, std::io::Result<(Hashes, u64)>) {
    let mut hasher = Hashes::default();
    let mut hashed_bytes = 0u64;
    let mut buffer = vec![0u8; WRITE_BUFFER_BYTES];
    let result = (|| {
        std::io::Seek::seek(&mut file, SeekFrom::Start(0))?;
        while hashed_bytes < len_bytes && !cancel.is_cancelled() {
            let want = usize::try_from(len_bytes - hashed_bytes)
                .unwrap_or(usize::MAX)
                .min(buffer.len());
            let read = match file.read(&mut buffer[..want]) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buffer[..read]);
            hashed_bytes += read as u64;
        }
        Ok(())
    })();
    (file, result.map(|()| (hasher, hashed_bytes)))
}

/// One download's state across tries.
struct Job<'a> {
    client: reqwest::Client,
    url: Url,
    expected_size_bytes: Option<u64>,
    max_size_bytes: u64,
    caller_sha256: Option<String>,
    caller_sha1: Option<String>,
    server_sha256: Option<String>,
    linked_size_bytes: Option<u64>,
    total_bytes: Option<u64>,
    options: &'a DownloadOptions,
    last_report: Option<Instant>,
}

/// What a try's answer holds, by its status.
enum Answer {
    /// A body to append (from the offset asked for); the file's size when known.
    Body { total_bytes: Option<u64> },
    /// The partial already holds all `total_bytes` of the file.
    AlreadyComplete { total_bytes: u64 },
}

/// How one try ended, when it did not finish the file.
enum TryFailure {
    /// Give up now.
    Fatal(DownloadError),
    /// Try again after a pause (the server's `Retry-After`, or the backoff).
    Retry {
        error: DownloadError,
        retry_after: Option<Duration>,
    },
}

impl From<DownloadError> for TryFailure {
    fn from(error: DownloadError) -> Self {
        TryFailure::Fatal(error)
    }
}

impl Job<'_> {
    async fn run(
        &mut self,
        partial: &mut PartialFile,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
        cancel: &CancellationToken,
    ) -> Result<(), DownloadError> {
        let max_tries = self.options.max_tries.max(1);
        let mut failed_tries = 0u32;
        loop {
            if cancel.is_cancelled() {
                return Err(DownloadError::Cancelled);
            }
            let len_before = partial.len_bytes;
            let failure = match self.try_once(partial, progress, cancel).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            let (error, retry_after) = match failure {
                TryFailure::Fatal(error) => return Err(error),
                TryFailure::Retry { error, retry_after } => (error, retry_after),
            };
            partial.flush().await?;
            if partial.len_bytes > len_before {
                failed_tries = 0;
            }
            failed_tries += 1;
            log::warn!("download try {failed_tries} of {max_tries} failed: {error}");
            if failed_tries >= max_tries {
                return Err(match error {
                    DownloadError::Network { url, reason, .. } => DownloadError::Network {
                        url,
                        tries: failed_tries,
                        reason,
                    },
                    other => other,
                });
            }
            let pause = retry_after
                .unwrap_or_else(|| backoff(self.options, failed_tries))
                .min(self.options.max_backoff.max(Duration::from_secs(60)));
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(DownloadError::Cancelled),
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn network_error(&self, reason: impl Into<String>) -> DownloadError {
        DownloadError::Network {
            url: self.url.to_string(),
            tries: 1,
            reason: reason.into(),
        }
    }

    fn retry(&self, reason: impl Into<String>) -> TryFailure {
        TryFailure::Retry {
            error: self.network_error(reason),
            retry_after: None,
        }
    }

    fn report(
        &mut self,
        partial: &PartialFile,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
        force: bool,
    ) {
        let now = Instant::now();
        let due = self
            .last_report
            .is_none_or(|last| now.duration_since(last) >= self.options.progress_interval);
        if force || due {
            self.last_report = Some(now);
            progress(DownloadProgress {
                downloaded_bytes: partial.len_bytes,
                total_bytes: self.total_bytes,
            });
        }
    }

    /// One request: resume from the partial's end, append the body.
    async fn try_once(
        &mut self,
        partial: &mut PartialFile,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
        cancel: &CancellationToken,
    ) -> Result<(), TryFailure> {
        let offset = partial.len_bytes;
        let (response, server_sha256) = self.send(offset, cancel).await?;
        if let Some(new_sha256) = server_sha256 {
            self.note_server_sha256(partial, new_sha256).await?;
        }
        let total_bytes = match self.read_status(partial, &response, offset).await? {
            Answer::Body { total_bytes } => total_bytes,
            Answer::AlreadyComplete { total_bytes } => {
                // The partial already holds the whole file; the checks in `finish` decide.
                self.total_bytes = Some(total_bytes);
                self.report(partial, progress, true);
                return Ok(());
            }
        };
        self.check_total(total_bytes)?;
        self.total_bytes = total_bytes;
        self.report(partial, progress, true);
        self.read_body(partial, response, progress, cancel).await?;
        if let Some(total) = self.total_bytes
            && partial.len_bytes < total
        {
            return Err(self.retry(format!(
                "the connection closed after {} of {total} bytes",
                partial.len_bytes
            )));
        }
        self.report(partial, progress, true);
        Ok(())
    }

    /// Remembers the server's SHA-256 of the file; when it changed between two tries, what
    /// we have is useless: the partial restarts and the try is retried at once.
    async fn note_server_sha256(
        &mut self,
        partial: &mut PartialFile,
        new_sha256: String,
    ) -> Result<(), TryFailure> {
        let changed = self
            .server_sha256
            .as_ref()
            .is_some_and(|known| *known != new_sha256);
        self.server_sha256 = Some(new_sha256);
        if changed {
            partial.restart().await?;
            return Err(TryFailure::Retry {
                error: self.network_error("the file changed on the server; restarting"),
                retry_after: Some(Duration::ZERO),
            });
        }
        Ok(())
    }

    /// What the status says: a body to read (and the file's total size, if known), the
    /// partial is already whole, or a failure. A resume the server got wrong restarts the
    /// partial.
    async fn read_status(
        &self,
        partial: &mut PartialFile,
        response: &reqwest::Response,
        offset: u64,
    ) -> Result<Answer, TryFailure> {
        let headers = response.headers();
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let range = content_range(headers).ok_or_else(|| {
                    self.retry("the server sent a partial answer without a valid Content-Range")
                })?;
                if range.start != Some(offset) {
                    partial.restart().await?;
                    return Err(self.retry(format!(
                        "the server resumed at the wrong place ({:?} instead of {offset}); restarting",
                        range.start
                    )));
                }
                Ok(Answer::Body { total_bytes: range.total.or(self.linked_size_bytes) })
            }
            StatusCode::OK => {
                if offset > 0 {
                    log::info!("the server ignored the resume request; restarting from 0");
                    partial.restart().await?;
                }
                Ok(Answer::Body {
                    total_bytes: response.content_length().or(self.linked_size_bytes),
                })
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let total = content_range(headers)
                    .and_then(|range| range.total)
                    .or(self.linked_size_bytes)
                    .or(self.expected_size_bytes);
                if total == Some(offset) && offset > 0 {
                    return Ok(Answer::AlreadyComplete { total_bytes: offset });
                }
                partial.restart().await?;
                Err(TryFailure::Retry {
                    error: self.network_error(
                        "the unfinished download did not match the file on the server; restarting",
                    ),
                    retry_after: Some(Duration::ZERO),
                })
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(TryFailure::Fatal(DownloadError::NotFound {
                    url: self.url.to_string(),
                }))
            }
            status @ (StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) => {
                Err(self.status_retry(status, headers))
            }
            status if status.is_server_error() => Err(self.status_retry(status, headers)),
            status => Err(TryFailure::Fatal(DownloadError::HttpStatus {
                url: self.url.to_string(),
                status: status.as_u16(),
            })),
        }
    }

    /// Every size we are told must agree, and fit under the cap, before GBs are fetched.
    fn check_total(&self, total_bytes: Option<u64>) -> Result<(), TryFailure> {
        if let Some(total) = total_bytes {
            for expected in [self.linked_size_bytes, self.expected_size_bytes]
                .into_iter()
                .flatten()
            {
                if expected != total {
                    return Err(TryFailure::Fatal(DownloadError::SizeMismatch {
                        expected_bytes: expected,
                        actual_bytes: total,
                    }));
                }
            }
        }
        if total_bytes.is_some_and(|total| total > self.max_size_bytes) {
            return Err(TryFailure::Fatal(self.too_large()));
        }
        Ok(())
    }

    /// Appends the body to the partial as it arrives, until it ends, stalls, is cancelled or
    /// grows past the size it should have.
    async fn read_body(
        &mut self,
        partial: &mut PartialFile,
        response: reqwest::Response,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
        cancel: &CancellationToken,
    ) -> Result<(), TryFailure> {
        let mut body = response.bytes_stream();
        loop {
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(TryFailure::Fatal(DownloadError::Cancelled)),
                next = tokio::time::timeout(self.options.idle_timeout, body.next()) => next,
            };
            let chunk = match next {
                Err(_elapsed) => {
                    return Err(self.retry(format!(
                        "no data for {} s",
                        self.options.idle_timeout.as_secs_f64()
                    )));
                }
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) => return Err(self.retry(describe_reqwest_error(&e))),
                Ok(Some(Ok(chunk))) => chunk,
            };
            let new_len = partial.len_bytes + chunk.len() as u64;
            if new_len > self.max_size_bytes {
                // A server that gave no length (or a wrong one) and keeps sending.
                return Err(TryFailure::Fatal(self.too_large()));
            }
            if let Some(total) = self.total_bytes
                && new_len > total
            {
                return Err(TryFailure::Fatal(DownloadError::SizeMismatch {
                    expected_bytes: total,
                    actual_bytes: new_len,
                }));
            }
            partial.append(&chunk).await?;
            self.report(partial, progress, false);
        }
    }

    fn too_large(&self) -> DownloadError {
        DownloadError::TooLarge {
            url: self.url.to_string(),
            limit_bytes: self.max_size_bytes,
        }
    }

    fn status_retry(&self, status: StatusCode, headers: &HeaderMap) -> TryFailure {
        TryFailure::Retry {
            error: DownloadError::HttpStatus {
                url: self.url.to_string(),
                status: status.as_u16(),
            },
            retry_after: headers
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    }

    /// Sends a GET from `offset`, following redirects. Remembers Hugging Face's
    /// `X-Linked-Size` from any hop and returns the SHA-256 the server announced, if any
    /// (`X-Linked-Etag` from any hop, else the final `ETag`).
    async fn send(
        &mut self,
        offset: u64,
        cancel: &CancellationToken,
    ) -> Result<(reqwest::Response, Option<String>), TryFailure> {
        let mut url = self.url.clone();
        self.linked_size_bytes = None;
        let mut linked_sha256 = None;
        for _hop in 0..=self.options.max_redirects {
            let mut request = self
                .client
                .get(url.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            if offset > 0 {
                request = request.header(header::RANGE, format!("bytes={offset}-"));
            }
            let sent = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(TryFailure::Fatal(DownloadError::Cancelled)),
                sent = tokio::time::timeout(self.options.idle_timeout, request.send()) => sent,
            };
            let response = match sent {
                Err(_elapsed) => {
                    return Err(self.retry(format!(
                        "no answer for {} s",
                        self.options.idle_timeout.as_secs_f64()
                    )));
                }
                Ok(Err(e)) if e.is_builder() => {
                    return Err(TryFailure::Fatal(DownloadError::Protocol {
                        url: self.url.to_string(),
                        reason: describe_reqwest_error(&e),
                    }));
                }
                Ok(Err(e)) => return Err(self.retry(describe_reqwest_error(&e))),
                Ok(Ok(response)) => response,
            };
            let headers = response.headers();
            if let Some(sha) = header_str(headers, "x-linked-etag").and_then(parse_etag_sha256) {
                linked_sha256 = Some(sha);
            }
            if let Some(size) =
                header_str(headers, "x-linked-size").and_then(|v| v.trim().parse::<u64>().ok())
            {
                self.linked_size_bytes = Some(size);
            }
            if response.status().is_redirection()
                && let Some(location) = header_str(headers, header::LOCATION.as_str())
            {
                let next = url.join(location).map_err(|e| {
                    TryFailure::Fatal(DownloadError::Protocol {
                        url: self.url.to_string(),
                        reason: format!("the server redirected to an invalid address ({e})"),
                    })
                })?;
                if !redirect_allowed(&url, &next) {
                    return Err(TryFailure::Fatal(DownloadError::Protocol {
                        url: self.url.to_string(),
                        reason: format!(
                            "the server redirected to {}://{}, which is not https; refusing",
                            next.scheme(),
                            next.host_str().unwrap_or_default()
                        ),
                    }));
                }
                url = next;
                continue;
            }
            let etag_sha256 =
                header_str(response.headers(), header::ETAG.as_str()).and_then(parse_etag_sha256);
            return Ok((response, linked_sha256.or(etag_sha256)));
        }
        Err(TryFailure::Fatal(DownloadError::Protocol {
            url: self.url.to_string(),
            reason: format!("more than {} redirects", self.options.max_redirects),
        }))
    }
}

impl Job<'_> {
    /// The SHA-256 to check against: the caller's, else the server's.
    fn expected_sha256(&self) -> Option<&String> {
        self.caller_sha256.as_ref().or(self.server_sha256.as_ref())
    }

    /// Compares the file's hashes with the expected ones. Returns its SHA-256 and, when no
    /// hash was there to compare with, a warning that says what was checked instead.
    fn check_hashes(&self, hashes: &Hashes) -> Result<(String, Option<String>), DownloadError> {
        let actual_sha256 = hex::encode(hashes.sha256.clone().finalize());
        let actual_sha1 = hex::encode(hashes.sha1.clone().finalize());
        let checks = [
            ("SHA-1", self.caller_sha1.as_ref(), &actual_sha1),
            ("SHA-256", self.expected_sha256(), &actual_sha256),
        ];
        for (algorithm, expected, actual) in checks {
            if let Some(expected) = expected
                && expected != actual
            {
                return Err(DownloadError::ChecksumMismatch {
                    algorithm,
                    expected: expected.clone(),
                    actual: actual.clone(),
                });
            }
        }
        let warning = if self.expected_sha256().is_some() || self.caller_sha1.is_some() {
            None
        } else if self.total_bytes.or(self.expected_size_bytes).is_some() {
            Some(format!(
                "the server published no SHA-256 for {}; only the size was checked",
                self.url
            ))
        } else {
            Some(format!(
                "the server published neither a SHA-256 nor a size for {}; the file could not be checked",
                self.url
            ))
        };
        Ok((actual_sha256, warning))
    }

    /// Checks size and hash, then moves the partial into place.
    async fn finish(
        self,
        mut partial: PartialFile,
        dest: &Path,
        progress: &mut (dyn FnMut(DownloadProgress) + Send),
    ) -> Result<DownloadOutcome, DownloadError> {
        partial.flush().await?;
        let size_bytes = partial.len_bytes;
        let expected_sizes = [
            self.total_bytes,
            self.linked_size_bytes,
            self.expected_size_bytes,
        ];
        if let Some(expected_bytes) = expected_sizes
            .into_iter()
            .flatten()
            .find(|&expected| expected != size_bytes)
        {
            partial.discard().await;
            return Err(DownloadError::SizeMismatch {
                expected_bytes,
                actual_bytes: size_bytes,
            });
        }
        let (actual_sha256, warning) = match self.check_hashes(&partial.hashes) {
            Ok(checked) => checked,
            Err(error) => {
                partial.discard().await;
                return Err(error);
            }
        };
        if let Some(warning) = &warning {
            log::warn!("{warning}");
        }

        let PartialFile { path, writer, .. } = partial;
        let file = writer.into_inner();
        file.sync_all().await.map_err(|e| DownloadError::Io {
            action: "save",
            path: path.clone(),
            source: e,
        })?;
        drop(file);
        tokio::fs::rename(&path, dest)
            .await
            .map_err(|e| DownloadError::Io {
                action: "move the finished download to",
                path: dest.to_path_buf(),
                source: e,
            })?;
        if let Err(e) = crate::files::sync_parent_dir(dest) {
            log::warn!("cannot sync the folder of {}: {e}", dest.display());
        }
        progress(DownloadProgress {
            downloaded_bytes: size_bytes,
            total_bytes: Some(size_bytes),
        });
        Ok(DownloadOutcome {
            path: dest.to_path_buf(),
            size_bytes,
            sha256_hex: Some(actual_sha256),
            sha256_verified: self.expected_sha256().is_some(),
            sha1_verified: self.caller_sha1.is_some(),
            already_installed: false,
            warning,
        })
    }
}

/// The pause before try `failed_tries + 1`: `initial · 2^(failed_tries-1)`, capped, then
/// scaled by a random factor in [0.5, 1) so that many clients do not retry in step.
fn backoff(options: &DownloadOptions, failed_tries: u32) -> Duration {
    crate::backoff::Backoff {
        base: options.initial_backoff,
        max: options.max_backoff,
    }
    .equal_jitter_delay(failed_tries)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `digits` hex digits (any case) → lower-case hex.
fn parse_hex_digest(text: &str, digits: usize) -> Option<String> {
    let text = text.trim();
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

/// Whether a download may follow a redirect from `from` to `to`: to `https` always; to plain
/// `http` only from plain `http` on this machine to this machine (a local mirror or test
/// server). Never from `https` to `http`, never another scheme.
fn redirect_allowed(from: &Url, to: &Url) -> bool {
    match to.scheme() {
        "https" => true,
        "http" => from.scheme() == "http" && is_loopback(from) && is_loopback(to),
        _ => false,
    }
}

/// An entity tag that is a SHA-256: `"<64 hex>"` (quotes optional). Weak tags (`W/"…"`) say
/// nothing about the bytes and are ignored.
fn parse_etag_sha256(etag: &str) -> Option<String> {
    let etag = etag.trim();
    if etag.starts_with("W/") {
        return None;
    }
    parse_hex_digest(etag.trim_matches('"'), 64)
}

/// `Content-Range: bytes START-END/TOTAL` or `bytes */TOTAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    start: Option<u64>,
    total: Option<u64>,
}

fn content_range(headers: &HeaderMap) -> Option<ContentRange> {
    parse_content_range(header_str(headers, header::CONTENT_RANGE.as_str())?)
}

fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        total => Some(total.parse::<u64>().ok()?),
    };
    let start = match range.trim() {
        "*" => None,
        range => {
            let (start, end) = range.split_once('-')?;
            let start = start.trim().parse::<u64>().ok()?;
            let end = end.trim().parse::<u64>().ok()?;
            if end < start || total.is_some_and(|total| end >= total) {
                return None;
            }
            Some(start)
        }
    };
    Some(ContentRange { start, total })
}

/// A reqwest error in one line, with its cause (reqwest's own text is often just "error
/// sending request").
fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect".to_string()
    } else if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_body() || error.is_decode() {
        "the connection broke while receiving".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    let mut depth = 0;
    while let Some(cause) = source {
        if depth == 3 {
            break;
        }
        text.push_str(&format!(" ({cause})"));
        source = cause.source();
        depth += 1;
    }
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_that_are_sha256_are_recognised() {
        let sha = "A".repeat(64);
        assert_eq!(
            parse_etag_sha256(&format!("\"{sha}\"")),
            Some("a".repeat(64))
        );
        assert_eq!(parse_etag_sha256(&sha), Some("a".repeat(64)));
        assert_eq!(parse_etag_sha256(&format!("W/\"{sha}\"")), None);
        assert_eq!(
            parse_etag_sha256("\"d41d8cd98f00b204e9800998ecf8427e\""),
            None
        );
        assert_eq!(parse_etag_sha256(&format!("\"{}g\"", "a".repeat(63))), None);
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some(ContentRange {
                start: Some(100),
                total: Some(200)
            })
        );
        assert_eq!(
            parse_content_range("bytes 0-9/*"),
            Some(ContentRange {
                start: Some(0),
                total: None
            })
        );
        assert_eq!(
            parse_content_range("bytes */5000"),
            Some(ContentRange {
                start: None,
                total: Some(5000)
            })
        );
        for bad in [
            "bytes 10-5/100",
            "bytes 0-100/100",
            "items 0-1/2",
            "bytes x-1/2",
            "",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let options = DownloadOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..DownloadOptions::default()
        };
        for _ in 0..50 {
            let first = backoff(&options, 1);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(100));
            let third = backoff(&options, 3);
            assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(400));
            let late = backoff(&options, 40);
            assert!(late >= Duration::from_millis(500) && late < Duration::from_millis(1000));
        }
        let samples: Vec<Duration> = (0..20).map(|_| backoff(&options, 2)).collect();
        assert!(
            samples.iter().any(|s| *s != samples[0]),
            "no jitter: {samples:?}"
        );
    }

    #[test]
    fn redirects_never_drop_https_and_plain_http_stays_on_this_machine() {
        let url = |text: &str| Url::parse(text).unwrap();
        let https = url("https://huggingface.co/m/resolve/main/ggml-tiny.bin");
        assert!(redirect_allowed(&https, &url("https://cdn.example/x")));
        assert!(!redirect_allowed(&https, &url("http://cdn.example/x")));
        assert!(!redirect_allowed(&https, &url("http://127.0.0.1:8080/x")));
        let local = url("http://127.0.0.1:8080/resolve/main/x");
        assert!(redirect_allowed(
            &local,
            &url("http://127.0.0.1:8080/cdn/x")
        ));
        assert!(redirect_allowed(&local, &url("http://localhost:9/x")));
        assert!(redirect_allowed(&local, &url("https://cdn.example/x")));
        assert!(!redirect_allowed(&local, &url("http://cdn.example/x")));
        assert!(!redirect_allowed(
            &url("http://mirror.example/x"),
            &url("http://mirror.example/y")
        ));
        assert!(!redirect_allowed(&https, &url("file:///etc/passwd")));
        assert!(!redirect_allowed(&https, &url("ftp://cdn.example/x")));
    }

    #[test]
    fn partial_path_appends_suffix() {
        assert_eq!(
            partial_path(Path::new("/m/ggml-tiny.en.bin")),
            PathBuf::from("/m/ggml-tiny.en.bin.partial")
        );
    }
}
