//! The worker process that runs whisper.cpp for [`super::LocalEngine`].
//!
//! Protocol, one JSON document per line: the parent writes one [`WorkerJob`] to the worker's
//! stdin; the worker writes [`WorkerMessage`]s to stdout — events as they happen, then exactly
//! one `finished` or `failed` — and exits. The parent cancels by killing the process.
//!
//! The worker parses untrusted audio with C code, so it gets as little as it can work with:
//! an environment with none of the parent's secrets (API keys), only the variables the
//! dynamic loader and the OpenMP / ggml runtimes read (`KEPT_ENV`). It runs in a process
//! group of its own, so a terminal's Ctrl-C reaches only the parent, which cancels it (and
//! keeps what it heard). What it sends is not trusted either: a line that is not a message,
//! or longer than [`MAX_LINE_BYTES`], ends the job with an error and the worker is killed.

use super::LocalEngineConfig;
use crate::engine::{EngineError, EngineOutcome, TranscribeOptions};
use crate::events::{EngineEvent, EventSink};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// The longest line the worker may send. A segment with its words is a few KiB; anything
/// this long is a broken worker, and reading on would grow the parent's memory without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The parent's environment variables the worker keeps: where the dynamic loader finds
/// libraries, temporary folders, the OpenMP and ggml runtime settings, backtraces; on
/// Windows also what every process needs to start (and `PATH`, where DLLs are found).
/// Everything else — API keys first — stays with the parent.
const KEPT_ENV: &[&str] = &[
    "LD_LIBRARY_PATH",
    "DYLD_LIBRARY_PATH",
    "DYLD_FALLBACK_LIBRARY_PATH",
    "TMPDIR",
    "RUST_BACKTRACE",
    #[cfg(windows)]
    "PATH",
    #[cfg(windows)]
    "SystemRoot",
    #[cfg(windows)]
    "windir",
    #[cfg(windows)]
    "TEMP",
    #[cfg(windows)]
    "TMP",
];

/// Prefixes of the runtime settings the worker keeps (`OMP_NUM_THREADS`, `GGML_…`).
const KEPT_ENV_PREFIXES: &[&str] = &["OMP_", "GOMP_", "KMP_", "GGML_"];

/// Whether the worker keeps the parent's variable `name`.
fn worker_keeps(name: &str) -> bool {
    KEPT_ENV.iter().any(|kept| kept.eq_ignore_ascii_case(name))
        || KEPT_ENV_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// The `verbatim worker` command: a clean environment, its own process group, piped stdio.
fn worker_command(worker_exe: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(worker_exe);
    command
        .arg("worker")
        .env_clear()
        .envs(std::env::vars_os().filter(|(name, _)| name.to_str().is_some_and(worker_keeps)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    command
}

/// What went wrong reading the worker's next line.
enum BadLine {
    TooLong,
    Unreadable(std::io::Error),
}

/// Reads the next line (without its newline) into `line`, at most [`MAX_LINE_BYTES`] of it;
/// `Ok(false)` at the end of the output. Safe to abandon in `select!`: what was read stays
/// in `line`, which the caller clears once a line is complete.
async fn next_line(reader: &mut (impl AsyncBufRead + Unpin), line: &mut Vec<u8>) -> Result<bool, BadLine> {
    let room = (MAX_LINE_BYTES + 1).saturating_sub(line.len()) as u64;
    let read = (&mut *reader).take(room).read_until(b'\n', line).await.map_err(BadLine::Unreadable)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(true);
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(BadLine::TooLong);
    }
    // The end of the output; a last line without its newline still counts.
    Ok(read > 0 || !line.is_empty())
}

/// What the worker is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub config: LocalEngineConfig,
    pub path: PathBuf,
    pub options: TranscribeOptions,
}

/// What the worker says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum WorkerMessage {
    Event { event: EngineEvent },
    Finished { language: Option<String>, duration_s: Option<f64> },
    Failed { kind: FailureKind, error: String },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Model,
    Input,
    Inference,
}

impl FailureKind {
    fn of(error: &EngineError) -> FailureKind {
        match error {
            EngineError::Model(_) => FailureKind::Model,
            EngineError::Audio(_) | EngineError::Input(_) => FailureKind::Input,
            _ => FailureKind::Inference,
        }
    }

    fn into_error(self, message: String) -> EngineError {
        match self {
            FailureKind::Model => EngineError::Model(message),
            FailureKind::Input => EngineError::Input(message),
            FailureKind::Inference => EngineError::Inference(message),
        }
    }
}

/// Starts a worker for `job`, forwards its events to `sink`, and returns its outcome. On
/// cancel the worker is killed at once. A worker that dies without a last word (a crash in
/// whisper.cpp) is an error; events already forwarded stay valid.
pub async fn run_in_worker(
    worker_exe: &Path,
    job: &WorkerJob,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<EngineOutcome, EngineError> {
    let mut child = worker_command(worker_exe)
        .spawn()
        .map_err(|error| {
            EngineError::Inference(format!("cannot start the local engine ({}): {error}; reinstall Verbatim", worker_exe.display()))
        })?;
    let job_line = serde_json::to_string(job).map_err(|error| EngineError::Inference(format!("cannot describe the job: {error}")))?;
    // stdin stays open while the job runs: the worker takes its closing as "the parent is
    // gone" and stops.
    let mut stdin = child.stdin.take().ok_or_else(|| EngineError::Inference("the local engine has no input".into()))?;
    stdin
        .write_all(format!("{job_line}\n").as_bytes())
        .await
        .map_err(|error| EngineError::Inference(format!("the local engine did not take the job: {error}")))?;
    let stdout = child.stdout.take().ok_or_else(|| EngineError::Inference("the local engine has no output".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut last_word: Option<Result<EngineOutcome, EngineError>> = None;
    loop {
        let read = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(EngineError::Cancelled);
            }
            read = next_line(&mut reader, &mut line) => read,
        };
        let message = match read {
            Ok(false) => break,
            Ok(true) if line.iter().all(u8::is_ascii_whitespace) => None,
            Ok(true) => Some(
                serde_json::from_slice::<WorkerMessage>(&line)
                    .map_err(|_| "sent a line that is not one of its messages".to_string()),
            ),
            Err(BadLine::TooLong) => Some(Err(format!("sent a line longer than {} MiB", MAX_LINE_BYTES >> 20))),
            Err(BadLine::Unreadable(error)) => Some(Err(format!("could not be read ({error})"))),
        };
        line.clear();
        let Some(message) = message else { continue };
        match message {
            Ok(WorkerMessage::Event { event }) => {
                sink.emit(event);
            }
            Ok(WorkerMessage::Finished { language, duration_s }) => last_word = Some(Ok(EngineOutcome { language, duration_s })),
            Ok(WorkerMessage::Failed { kind, error }) => last_word = Some(Err(kind.into_error(error))),
            Err(what) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(EngineError::Inference(format!(
                    "the local engine {what} and was stopped; segments so far are kept — try again, or reinstall Verbatim"
                )));
            }
        }
    }
    drop(stdin);
    let status = child.wait().await;
    match last_word {
        Some(outcome) => outcome,
        None => Err(EngineError::Inference(format!(
            "the local engine stopped unexpectedly ({}); segments so far are kept — try again, or another model",
            status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
        ))),
    }
}

/// The body of `verbatim worker`: reads one job from stdin, runs it, reports on stdout.
pub fn worker_main() -> ExitCode {
    let mut job_line = String::new();
    if std::io::stdin().lock().read_line(&mut job_line).is_err() {
        return ExitCode::FAILURE;
    }
    let (sink, mut events) = EventSink::channel();
    // Events are written by their own thread, in order, each line flushed at once.
    let writer = std::thread::spawn(move || {
        let mut stdout = std::io::stdout().lock();
        while let Some(event) = events.blocking_recv() {
            if write_message(&mut stdout, &WorkerMessage::Event { event }).is_err() {
                break;
            }
        }
    });
    let result = match serde_json::from_str::<WorkerJob>(&job_line) {
        Ok(job) => run_job(&job, &sink),
        Err(error) => Err(EngineError::Inference(format!("the local engine got a bad job: {error}"))),
    };
    drop(sink);
    let _ = writer.join();
    let last_word = match &result {
        Ok(outcome) => WorkerMessage::Finished { language: outcome.language.clone(), duration_s: outcome.duration_s },
        Err(error) => WorkerMessage::Failed { kind: FailureKind::of(error), error: error.to_string() },
    };
    let mut stdout = std::io::stdout().lock();
    match write_message(&mut stdout, &last_word) {
        Ok(()) if result.is_ok() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn run_job(job: &WorkerJob, sink: &EventSink) -> Result<EngineOutcome, EngineError> {
    // If the parent dies (its end of stdin closes), stop rather than run on as an orphan.
    let parent_gone = Arc::new(AtomicBool::new(false));
    {
        let parent_gone = parent_gone.clone();
        std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = std::io::stdin().lock().read_to_end(&mut rest);
            parent_gone.store(true, Ordering::Relaxed);
        });
    }
    let context = super::load_model(&job.config.model_path, job.config.flash_attention)?;
    super::pipeline::transcribe_blocking(&context, &job.config, &job.path, &job.options, sink, &parent_gone)
}

fn write_message(out: &mut impl Write, message: &WorkerMessage) -> std::io::Result<()> {
    let line = serde_json::to_string(message).map_err(std::io::Error::other)?;
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}
