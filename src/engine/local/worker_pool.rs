//! Worker processes kept alive between jobs, so a model is loaded once rather than once per
//! file or per live phrase.
//!
//! A job checks a worker out of the pool (an idle one holding the same model, or a new
//! process), sends it requests and hands it back when it answered cleanly. A worker that was
//! cancelled is killed, never handed back; one that crashed is noticed at the next checkout
//! and replaced. The pipes are served by plain threads rather than the async runtime's
//! reactor, because an idle worker outlives the runtime of the job that started it (each
//! test, and each CLI run, may have its own).

use super::LocalEngineConfig;
use super::worker::{WorkerJob, WorkerMessage, WorkerRequest};
use crate::engine::{EngineError, EngineOutcome};
use crate::events::EventSink;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Idle workers kept at most (each holds a model in memory).
const MAX_IDLE_WORKERS: usize = 2;

/// Idle workers, by the model they hold.
#[derive(Default)]
pub struct WorkerPool {
    idle: Mutex<Vec<(WorkerKey, WorkerProcess)>>,
    spawned: Mutex<Vec<u32>>,
}

impl WorkerPool {
    pub fn new() -> Arc<WorkerPool> {
        Arc::new(WorkerPool::default())
    }

    /// The pool every engine of this process shares unless given its own.
    pub fn shared() -> Arc<WorkerPool> {
        static SHARED: OnceLock<Arc<WorkerPool>> = OnceLock::new();
        SHARED.get_or_init(WorkerPool::new).clone()
    }

    /// Process ids of every worker this pool started, oldest first.
    pub fn spawned_worker_ids(&self) -> Vec<u32> {
        lock(&self.spawned).clone()
    }

    /// How many workers wait for a job.
    pub fn idle_count(&self) -> usize {
        lock(&self.idle).len()
    }

    /// A worker for `config`: an idle one that holds its model, else a new process.
    pub fn checkout(self: &Arc<Self>, worker_exe: &Path, config: &LocalEngineConfig) -> Result<Worker, EngineError> {
        let key = WorkerKey::of(worker_exe, config);
        let reused = {
            let mut idle = lock(&self.idle);
            let found = idle.iter().position(|(k, _)| *k == key);
            found.map(|index| idle.remove(index).1)
        };
        if let Some(mut process) = reused {
            if !process.has_exited() {
                return Ok(Worker { pool: self.clone(), key, process: Some(process), reused: true });
            }
        }
        let process = WorkerProcess::spawn(worker_exe)?;
        lock(&self.spawned).push(process.child.id());
        Ok(Worker { pool: self.clone(), key, process: Some(process), reused: false })
    }

    fn give_back(&self, key: WorkerKey, process: WorkerProcess) {
        let mut idle = lock(&self.idle);
        idle.push((key, process));
        while idle.len() > MAX_IDLE_WORKERS {
            idle.remove(0); // the longest idle goes (dropping it ends the process)
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What makes two jobs able to share a worker: the same program and the same model file (not
/// replaced since). The worker loads the model again when a job needs other context settings
/// (live sessions use flash attention; file jobs use the alignment heads, which need it off).
#[derive(Debug, Clone, PartialEq)]
struct WorkerKey {
    worker_exe: PathBuf,
    model_path: PathBuf,
    model_file: Option<(u64, SystemTime)>,
}

impl WorkerKey {
    fn of(worker_exe: &Path, config: &LocalEngineConfig) -> WorkerKey {
        let model_file = std::fs::metadata(&config.model_path).ok().and_then(|m| Some((m.len(), m.modified().ok()?)));
        WorkerKey {
            worker_exe: worker_exe.to_path_buf(),
            model_path: config.model_path.clone(),
            model_file,
        }
    }
}

/// A worker checked out for one job. Dropped without [`Worker::release`] it is killed: it
/// may be mid-request, so it cannot serve anyone else.
pub struct Worker {
    pool: Arc<WorkerPool>,
    key: WorkerKey,
    process: Option<WorkerProcess>,
    reused: bool,
}

impl Worker {
    /// Whether this worker ran an earlier job (and so may have its model loaded).
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Sends a request (and the samples of a `decode`). Never blocks; a worker that is gone
    /// shows as the end of its messages.
    pub fn send(&mut self, request: &WorkerRequest, samples: &[f32]) -> Result<(), EngineError> {
        let mut bytes = serde_json::to_vec(request).map_err(|error| EngineError::Inference(format!("cannot describe the job: {error}")))?;
        bytes.push(b'\n');
        bytes.reserve(samples.len() * 4);
        samples.iter().for_each(|sample| bytes.extend_from_slice(&sample.to_le_bytes()));
        if let Some(process) = &self.process {
            let _ = process.requests.send(bytes);
        }
        Ok(())
    }

    /// Closes the worker's stdin: it stops what it is doing, answers, and exits.
    fn close_input(&mut self) {
        if let Some(process) = self.process.as_mut() {
            // Dropping the only sender ends the stdin thread, which closes the pipe.
            drop(std::mem::replace(&mut process.requests, std::sync::mpsc::channel().0));
        }
    }

    /// The next message, or `None` once the worker has exited.
    pub async fn next_message(&mut self) -> Option<WorkerMessage> {
        self.process.as_mut()?.messages.recv().await
    }

    /// Hands the worker back to the pool for the next job. Only for a worker that answered
    /// its last request.
    pub fn release(mut self) {
        if let Some(process) = self.process.take() {
            self.pool.give_back(self.key.clone(), process);
        }
    }

    /// The error for a worker that stopped without answering, with how it ended.
    pub async fn crashed(mut self) -> EngineError {
        let mut status = None;
        if let Some(process) = self.process.as_mut() {
            if let Some(reason) = process.bad_output.lock().ok().and_then(|mut reason| reason.take()) {
                let _ = process.child.kill();
                return EngineError::Inference(format!("the local engine {reason} and was stopped; segments so far are kept — try again"));
            }
            for _ in 0..50 {
                if let Ok(Some(exit)) = process.child.try_wait() {
                    status = Some(exit.to_string());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        EngineError::Inference(format!(
            "the local engine stopped unexpectedly ({}); segments so far are kept — try again, or another model",
            status.unwrap_or_else(|| "no exit status".into())
        ))
    }
}

/// A running `verbatim worker` and the threads that serve its pipes.
struct WorkerProcess {
    child: Child,
    /// Bytes for the worker's stdin, written in order by the stdin thread.
    requests: std::sync::mpsc::Sender<Vec<u8>>,
    messages: mpsc::UnboundedReceiver<WorkerMessage>,
    /// Why the stdout thread stopped reading a worker that is still running (a line that is
    /// not a message, or one too long), for [`Worker::crashed`].
    bad_output: Arc<Mutex<Option<String>>>,
}

impl WorkerProcess {
    fn spawn(worker_exe: &Path) -> Result<WorkerProcess, EngineError> {
        let mut child = worker_command(worker_exe)
            .spawn()
            .map_err(|error| {
                EngineError::Inference(format!("cannot start the local engine ({}): {error}; reinstall Verbatim", worker_exe.display()))
            })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EngineError::Inference("the local engine has no pipes".into()));
        };
        let (requests, request_queue) = std::sync::mpsc::channel::<Vec<u8>>();
        // stdin stays open while the worker is ours: the worker takes its closing as "the
        // parent is gone" and stops.
        let stdin_thread = std::thread::Builder::new().name("verbatim-worker-in".into()).spawn(move || {
            for bytes in request_queue {
                if stdin.write_all(&bytes).and_then(|()| stdin.flush()).is_err() {
                    break;
                }
            }
        });
        let (message_sender, messages) = mpsc::unbounded_channel();
        let bad_output = Arc::new(Mutex::new(None));
        let reason_slot = Arc::clone(&bad_output);
        let stdout_thread = std::thread::Builder::new().name("verbatim-worker-out".into()).spawn(move || {
            let reason = forward_messages(BufReader::new(stdout), &message_sender);
            if let (Some(reason), Ok(mut slot)) = (reason, reason_slot.lock()) {
                *slot = Some(reason.to_string());
            }
        });
        if stdin_thread.is_err() || stdout_thread.is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EngineError::Inference("cannot start the threads that talk to the local engine".into()));
        }
        Ok(WorkerProcess { child, requests, messages, bad_output })
    }

    fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

/// Forwards the worker's messages until its output ends; a line that is not a message or is
/// longer than [`MAX_LINE_BYTES`] stops the reading (the worker is not trusted: it parses
/// untrusted audio with C code) and is returned as the reason.
fn forward_messages(mut reader: impl BufRead, sender: &mpsc::UnboundedSender<WorkerMessage>) -> Option<&'static str> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line);
        match read {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE_BYTES {
            return Some("sent a line longer than 16 MiB");
        }
        let Ok(message) = serde_json::from_slice::<WorkerMessage>(&line) else {
            return Some("sent a line that is not one of its messages");
        };
        if sender.send(message).is_err() {
            return None;
        }
    }
}

/// Whether the worker holds segments back until the end of the file (speakers told apart by
/// voice, or one per channel), so that killing it at a cancel would lose them.
fn holds_segments(options: &crate::engine::TranscribeOptions) -> bool {
    matches!(options.speakers, crate::engine::SpeakerMode::Auto | crate::engine::SpeakerMode::Stereo)
}

/// How long a cancelled worker that holds segments gets to send them before it is killed.
/// (It stops at whisper.cpp's next abort check, well under a second on this machine's
/// models when it is not starved; the second Ctrl-C of the CLI quits without waiting.)
const WRAP_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// Cancels a job softly: the worker's stdin is closed (it takes that as a cancel, stops
/// decoding and sends the segments it held), and its events are forwarded until its last
/// word, its end, or [`WRAP_UP_TIMEOUT`].
async fn wrap_up(worker: &mut Worker, sink: &EventSink) {
    worker.close_input();
    let forwarding = async {
        while let Some(message) = worker.next_message().await {
            match message {
                WorkerMessage::Event { event } => {
                    sink.emit(event);
                }
                WorkerMessage::Finished { .. } | WorkerMessage::Failed { .. } => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(WRAP_UP_TIMEOUT, forwarding).await;
}

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
const KEPT_ENV_PREFIXES: &[&str] = &["OMP_", "GOMP_", "KMP_", "GGML_", "MALLOC_"];

/// Whether the worker keeps the parent's variable `name`.
fn worker_keeps(name: &str) -> bool {
    KEPT_ENV.iter().any(|kept| kept.eq_ignore_ascii_case(name)) || KEPT_ENV_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// How long an OpenMP thread of whisper.cpp spins at a barrier before it sleeps
/// (`GOMP_SPINCOUNT`, in spins), unless the user set the wait policy. libgomp's default
/// (300 000) is for a machine nobody else uses: when another program keeps a core busy, the
/// threads spin away the time slices the thread they wait for needs. Measured on this 2-core
/// machine, two_cities.wav (44 s) with tiny.en, 2 threads, wall time of `verbatim
/// transcribe`, alternating runs: with a build running beside it, the default took 42–65 s,
/// 1000 spins 8.6–10.9 s, no spinning (`OMP_WAIT_POLICY=PASSIVE`) 6.6–8.1 s; with the machine
/// to itself 5.3 s, 5.4–5.7 s and 6.6–6.7 s. 1000 costs a few percent when quiet and keeps a
/// busy machine usable.
const GOMP_SPIN_COUNT: &str = "1000";

/// Allocations from this size up (bytes) get pages of their own, given back to the system
/// when freed (glibc's `MALLOC_MMAP_THRESHOLD_`, unless the user set it). glibc's default
/// starts at 128 KiB and rises to the size of each such block freed, after which blocks of
/// chunk size (tens of MB of samples) come from the heap and stay there: the worker's peak
/// grew by ~25 MB with every few chunks. Measured with tiny.en on two_cities.wav ×14 (10 min),
/// worker peak RSS: 396 MB with glibc's default, 370 MB with this.
const MMAP_THRESHOLD_BYTES: &str = "1048576";

/// Whether the user chose how OpenMP threads wait (then their choice stands).
fn wait_policy_chosen(environment: &[(std::ffi::OsString, std::ffi::OsString)]) -> bool {
    environment.iter().any(|(name, _)| name == "GOMP_SPINCOUNT" || name == "OMP_WAIT_POLICY")
}

/// The `verbatim worker` command: the parent's secrets left out of its environment, a
/// process group of its own (a terminal's Ctrl-C reaches only the parent, which cancels it
/// and keeps what it heard), OpenMP threads that do not spin long, big blocks given back to
/// the system when freed, piped stdio.
fn worker_command(worker_exe: &Path) -> std::process::Command {
    let mut environment: Vec<_> = std::env::vars_os().filter(|(name, _)| name.to_str().is_some_and(worker_keeps)).collect();
    if !wait_policy_chosen(&environment) {
        environment.push(("GOMP_SPINCOUNT".into(), GOMP_SPIN_COUNT.into()));
    }
    if !environment.iter().any(|(name, _)| name == "MALLOC_MMAP_THRESHOLD_") {
        environment.push(("MALLOC_MMAP_THRESHOLD_".into(), MMAP_THRESHOLD_BYTES.into()));
    }
    let mut command = std::process::Command::new(worker_exe);
    command
        .arg("worker")
        .env_clear()
        .envs(environment)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Transcribes one file on a pooled worker, forwarding its events to `sink`. On cancel the
/// worker is killed at once (the next job starts a new one) — after it has sent the segments
/// it held back, if it holds any ([`wrap_up`]). A worker that dies without a
/// last word (a crash in whisper.cpp) is an error; events already forwarded stay valid.
pub async fn run_file_job(
    pool: &Arc<WorkerPool>,
    worker_exe: &Path,
    job: &WorkerJob,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<EngineOutcome, EngineError> {
    loop {
        let mut worker = pool.checkout(worker_exe, &job.config)?;
        worker.send(&WorkerRequest::Transcribe { job: job.clone() }, &[])?;
        let mut heard_anything = false;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    if holds_segments(&job.options) {
                        wrap_up(&mut worker, sink).await;
                    }
                    return Err(EngineError::Cancelled); // dropping `worker` kills it
                }
                message = worker.next_message() => match message {
                    Some(WorkerMessage::Event { event }) => {
                        heard_anything = true;
                        sink.emit(event);
                    }
                    Some(WorkerMessage::Finished { language, duration_s }) => {
                        worker.release();
                        return Ok(EngineOutcome { language, duration_s });
                    }
                    Some(WorkerMessage::Failed { kind, error }) => {
                        worker.release(); // the job failed, not the worker
                        return Err(kind.into_error(error));
                    }
                    Some(_) => {} // answers to other requests: not expected here
                    // An idle worker that died before taking the job: start a fresh one.
                    None if worker.reused() && !heard_anything => break,
                    None => return Err(worker.crashed().await),
                },
            }
        }
    }
}
