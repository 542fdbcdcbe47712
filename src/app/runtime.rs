//! The background: a tokio runtime on its own thread that does every slow thing the window
//! needs — file dialogs, model loading, transcription, model downloads, writing exports — so
//! the UI thread never waits on any of them.
//!
//! The window talks to it with [`RuntimeRequest`]s and hears back through
//! [`BackgroundEvent`]s; after each event the runtime calls the waker (which asks egui for a
//! repaint), and the window drains the events with a time budget per frame. Files run one at
//! a time, in the order they were queued. The runtime owns that queue, so the next file starts
//! even while the window is minimised and not drawing.
//!
//! Engines come from an [`EngineFactory`], so a test can swap whisper.cpp for a scripted engine
//! and the cloud services slot in as new [`EngineSpec`] variants. The one recording runs
//! beside the file queue ([`recording`]).

pub mod project;
pub mod recording;

use super::backend;
use super::settings::ExportSettings;
use crate::export::ExportFormat;
use super::session::{RestoredJob, SessionSnapshot, SessionStore};
pub use super::messages::{JobOutcome, KeysSnapshot, ModelsSnapshot};
use super::messages::JobId;
use crate::engine::cloud::keys::{ApiKey, KeyError, KeyStores};
use crate::engine::cloud::CloudService;
use crate::engine::{Engine, EngineError, LiveEngine, LiveOptions, TranscribeOptions, run_engine};
use crate::events::{EngineEvent, EventSink};
use crate::transcript::Transcript;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc as std_mpsc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Called after every event so the window wakes up and drains it.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Which engine, configured how (built by [`crate::engine::build`], shared with the CLI).
pub use crate::engine::EngineSpec;

/// Builds the engine for a job. Called on a blocking thread, so it may read files and the
/// keyring.
pub trait EngineFactory: Send + Sync {
    fn engine_for(&self, spec: &EngineSpec) -> Result<Arc<dyn Engine>, EngineError>;

    /// The engine that transcribes a recording while it is made. A factory that builds no
    /// live engines (a test's scripted one) says so.
    fn live_engine_for(&self, spec: &EngineSpec, _live: &LiveOptions) -> Result<Box<dyn LiveEngine>, EngineError> {
        Err(EngineError::Service(format!("live transcription with {} is not available here", spec.label())))
    }

    /// Where the cloud services' keys are kept: the keyring (or the private key file). The
    /// window's key entry reads and writes the same stores the engines take keys from.
    fn key_stores(&self) -> Result<KeyStores, KeyError> {
        KeyStores::platform()
    }
}

/// The real engines, built afresh for each file (cheap: the local engine only resolves the
/// model path here; its worker process loads the model when the file starts), so a model
/// installed or removed meanwhile is seen at once.
#[derive(Debug, Default)]
pub struct DefaultEngineFactory {
    /// The `verbatim` binary that runs local inference; `None` for this program.
    worker_exe: Option<PathBuf>,
    /// A key file to use instead of the platform's keyring and key file (tests).
    key_file: Option<PathBuf>,
}

impl DefaultEngineFactory {
    /// Engines whose local worker is the `verbatim` binary at `worker_exe` (for tests, which
    /// run inside a test harness rather than the `verbatim` binary).
    pub fn with_worker_exe(worker_exe: PathBuf) -> DefaultEngineFactory {
        DefaultEngineFactory {
            worker_exe: Some(worker_exe),
            key_file: None,
        }
    }

    /// Keys kept only in `key_file` (tests: never the user's keyring).
    pub fn with_key_file(mut self, key_file: PathBuf) -> DefaultEngineFactory {
        self.key_file = Some(key_file);
        self
    }
}

impl EngineFactory for DefaultEngineFactory {
    fn engine_for(&self, spec: &EngineSpec) -> Result<Arc<dyn Engine>, EngineError> {
        crate::engine::build_file_engine(spec, &|| self.key_stores(), self.worker_exe.as_deref())
    }

    fn live_engine_for(&self, spec: &EngineSpec, live: &LiveOptions) -> Result<Box<dyn LiveEngine>, EngineError> {
        crate::engine::build_live_engine(spec, live, &|| self.key_stores(), self.worker_exe.as_deref())
    }

    fn key_stores(&self) -> Result<KeyStores, KeyError> {
        match &self.key_file {
            Some(path) => Ok(KeyStores::file_only(path.clone())),
            None => KeyStores::platform(),
        }
    }
}

/// One file to transcribe.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub job: JobId,
    pub path: PathBuf,
    pub engine: EngineSpec,
    pub options: TranscribeOptions,
}

/// One export to write.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub job: JobId,
    pub kind: ExportFormat,
    /// A snapshot of the transcript with every edit made so far.
    pub transcript: Transcript,
    pub settings: ExportSettings,
    /// Where to write; `None` asks with a save dialog.
    pub destination: Option<PathBuf>,
    /// What the save dialog proposes.
    pub suggested_dir: Option<PathBuf>,
    pub suggested_name: String,
    /// The transcript came from a subtitle file: SRT and WebVTT keep one cue per segment.
    pub keep_cues: bool,
}

/// What the window asks of the runtime.
#[derive(Debug)]
pub enum RuntimeRequest {
    /// Queue a file; it starts when the files before it are done.
    Enqueue(JobRequest),
    /// Stop a queued or running job (answered by `JobFinished { Cancelled }`).
    Cancel(JobId),
    /// Show the open-files dialog (answered by `AudioListed` unless the user cancels).
    ChooseFiles {
        start_dir: Option<PathBuf>,
    },
    /// Render and write an export (answered by `Exported` or `ExportFailed`).
    Export(Box<ExportRequest>),
    /// List installed models (answered by `ModelsListed`).
    ListModels,
    DownloadModel(String),
    CancelDownload(String),
    /// Ask for a faster-whisper model directory and import it.
    ImportModel,
    RemoveModel(String),
    /// Find the audio files among dropped or given paths (folders are listed here, off the
    /// UI thread); answered by `AudioListed`.
    ListAudio(Vec<PathBuf>),
    /// Say where each cloud service's key comes from (answered by `KeysListed`).
    ListKeys,
    /// Keep a key in the keyring (or the private key file); answered by `KeyOperationEnded`.
    SaveKey {
        service: CloudService,
        key: ApiKey,
    },
    /// Forget a service's stored key; answered by `KeyOperationEnded`.
    RemoveKey(CloudService),
    /// Read the last session (answered by `SessionLoaded`).
    LoadSession,
    /// Write the session; saves happen one after the other, in order. Failures are answered
    /// by `SessionSaveFailed`.
    SaveSession(Box<SessionSnapshot>),
    /// List the input devices (answered by `Recording(Devices)`).
    ListInputDevices,
    /// Start recording (answered by `Recording(Started)` or `Recording(FailedToStart)`, then
    /// status and events until `Recording(Finished)`).
    StartRecording(Box<recording::RecordingRequest>),
    /// Pause, resume or stop the running recording.
    ControlRecording(recording::RecordingControl),
    /// Repair the recordings a crash left unfinished in this folder (answered by
    /// `Recording(Recovered)` when there were any).
    RecoverRecordings(PathBuf),
    /// Write a project file (answered by `ProjectSaved` or `ProjectSaveFailed`).
    SaveProject(Box<project::ProjectSaveRequest>),
    /// Read a project and check its audio (answered by `ProjectOpened`,
    /// `ProjectAudioProblem` or `ProjectOpenFailed`).
    OpenProject {
        project: PathBuf,
        audio: project::ProjectAudioChoice,
    },
    /// Ask where a project's audio is now, then open it with that file.
    ChooseProjectAudio {
        project: PathBuf,
        expected: PathBuf,
    },
    /// Import subtitles with their audio (answered by `SubtitlesOpened` or
    /// `SubtitlesOpenFailed`).
    OpenSubtitles {
        subtitles: PathBuf,
        audio: Option<PathBuf>,
    },
    /// Which of these recent projects are gone (answered by `RecentProjectsChecked`).
    CheckRecentProjects(Vec<PathBuf>),
}

/// How a model-store operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOperationResult {
    /// Done; the message says what happened ("Model base is installed").
    Succeeded(String),
    /// The user stopped it (or closed its dialog).
    Cancelled,
    Failed(String),
}

/// A model-store operation, for reporting its end.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelOperation {
    Download(String),
    Import,
    Remove(String),
}

/// What the runtime tells the window.
#[derive(Debug, Clone)]
pub enum BackgroundEvent {
    /// The runtime began `job` with the engine described by `engine`.
    JobStarted {
        job: JobId,
        engine: String,
    },
    /// An engine event of `job`, in the order the engine sent them.
    Engine {
        job: JobId,
        event: EngineEvent,
    },
    /// `job` ended; sent after its last `Engine` event.
    JobFinished {
        job: JobId,
        outcome: JobOutcome,
    },
    /// Audio files found among dropped, chosen or given paths, and the paths that are not
    /// audio (or are folders with none inside).
    AudioListed {
        audio: Vec<PathBuf>,
        skipped: Vec<PathBuf>,
    },
    Exported {
        job: JobId,
        kind: ExportFormat,
        path: PathBuf,
    },
    ExportFailed {
        job: JobId,
        kind: ExportFormat,
        path: Option<PathBuf>,
        message: String,
    },
    ModelsListed(Result<ModelsSnapshot, String>),
    DownloadProgress {
        name: String,
        downloaded_bytes: u64,
        total_bytes: Option<u64>,
    },
    /// A file dialog could not be shown at all (no portal or zenity on this system).
    DialogUnavailable(DialogKind),
    /// A model operation ended.
    ModelOperationEnded {
        operation: ModelOperation,
        result: ModelOperationResult,
    },
    /// Where each service's key comes from (never the key).
    KeysListed(Result<KeysSnapshot, String>),
    /// The files of the last session, with their transcripts; an error means this window
    /// keeps no session (another window has it, or it could not be read and is left alone).
    SessionLoaded(Result<Vec<RestoredJob>, String>),
    /// The session could not be written (the transcripts are still in the window).
    SessionSaveFailed(String),
    /// The process was asked to stop (SIGTERM…): close the window as its close button would.
    CloseRequested,
    /// Saving or removing a key ended; `Ok` carries what to tell the user.
    KeyOperationEnded {
        service: CloudService,
        result: Result<String, String>,
    },
    /// The recording: its devices, start, status, warnings and end (its live text comes as
    /// `Engine` events of its job).
    Recording(recording::RecordingUpdate),
    /// The open dialog's choice (audio, projects, subtitles): opened as `AddFiles` is.
    FilesChosen(Vec<PathBuf>),
    ProjectSaved {
        job: JobId,
        path: PathBuf,
        /// The audio's fingerprint as written.
        fingerprint: Option<crate::app::project::Fingerprint>,
    },
    ProjectSaveFailed {
        job: JobId,
        message: String,
    },
    ProjectOpened(Box<project::OpenedProject>),
    /// The project's audio is not where it was, or the file chosen is another recording.
    ProjectAudioProblem(project::ProjectAudioProblem),
    ProjectOpenFailed(String),
    SubtitlesOpened(Box<project::OpenedSubtitles>),
    SubtitlesOpenFailed(String),
    /// The recent projects that are no longer there.
    RecentProjectsChecked(Vec<PathBuf>),
}

/// Which dialog could not be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    OpenFiles,
    ImportFolder,
}

/// A dialog that answers "nothing chosen" faster than a person can is taken as one that could
/// not be shown (rfd reports both the same way).
const DIALOG_MISSING_WITHIN: std::time::Duration = std::time::Duration::from_millis(250);

/// Where the runtime's events go: a channel the UI drains, and the waker. The waker is called
/// once per batch, not per event: `wake_pending` stays set from the first event until the
/// window starts draining, so a flood of segments costs one repaint request, not thousands.
#[derive(Clone)]
struct Outbox {
    sender: std_mpsc::Sender<BackgroundEvent>,
    waker: Waker,
    wake_pending: Arc<AtomicBool>,
}

impl Outbox {
    fn send(&self, event: BackgroundEvent) {
        // A closed channel means the window is gone; there is nobody left to tell.
        let _ = self.sender.send(event);
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            (self.waker)();
        }
    }
}

/// The window's handle on the background runtime. Dropping it stops every job, then waits
/// (a few seconds at most) for the last session save to reach the disk.
pub struct AppRuntime {
    requests: mpsc::UnboundedSender<RuntimeRequest>,
    events: std_mpsc::Receiver<BackgroundEvent>,
    wake_pending: Arc<AtomicBool>,
    /// Signalled when the runtime's loop has ended and its saves are written.
    finished: std_mpsc::Receiver<()>,
}

/// Longest wait on exit for the session to be written.
const EXIT_SAVE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl AppRuntime {
    /// Starts the runtime thread. `session` is where the session is kept (`None`: nowhere).
    /// With `close_on_signals`, SIGTERM, SIGHUP and SIGINT ask the window to close (so the
    /// session is saved) instead of killing it.
    pub fn start(
        factory: Arc<dyn EngineFactory>,
        session: Option<SessionStore>,
        close_on_signals: bool,
        waker: Waker,
    ) -> std::io::Result<AppRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("verbatim-runtime")
            .enable_all()
            .build()?;
        let (request_sender, request_receiver) = mpsc::unbounded_channel();
        let (event_sender, event_receiver) = std_mpsc::channel();
        let (finished_sender, finished) = std_mpsc::channel();
        let wake_pending = Arc::new(AtomicBool::new(false));
        let outbox = Outbox {
            sender: event_sender,
            waker,
            wake_pending: wake_pending.clone(),
        };
        std::thread::Builder::new()
            .name("verbatim-background".into())
            .spawn(move || {
                if close_on_signals {
                    runtime.spawn(close_on_termination(outbox.clone()));
                }
                runtime.block_on(serve(request_receiver, outbox, factory, session));
                let _ = finished_sender.send(());
                // Blocking inference threads notice their cancellation on their own; don't wait.
                runtime.shutdown_background();
            })?;
        Ok(AppRuntime {
            requests: request_sender,
            events: event_receiver,
            wake_pending,
            finished,
        })
    }

    /// Sends a request. Returns `false` if the runtime is gone.
    pub fn send(&self, request: RuntimeRequest) -> bool {
        self.requests.send(request).is_ok()
    }

    /// Call before draining: events sent from now on wake the window again.
    pub fn begin_drain(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    /// The next event, if one is waiting (never blocks).
    pub fn try_recv(&self) -> Result<BackgroundEvent, std_mpsc::TryRecvError> {
        self.events.try_recv()
    }
}

impl Drop for AppRuntime {
    fn drop(&mut self) {
        // Closing the request channel ends the runtime's loop, which cancels the jobs and
        // finishes the session saves already asked for.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.requests, closed));
        let _ = self.finished.recv_timeout(EXIT_SAVE_WAIT);
    }
}

/// Waits for SIGTERM, SIGHUP or SIGINT and asks the window to close, as its close button
/// would, each time one arrives.
async fn close_on_termination(outbox: Outbox) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut hangup), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
                _ = interrupt.recv() => {}
            }
            outbox.send(BackgroundEvent::CloseRequested);
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            outbox.send(BackgroundEvent::CloseRequested);
        }
    }
}

/// Runs `work` once `previous` (if any) has finished, so tasks of one kind happen in order.
fn after(
    previous: Option<tokio::task::JoinHandle<()>>,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Some(previous) = previous {
            let _ = previous.await;
        }
        work.await;
    })
}

async fn save_session(store: SessionStore, snapshot: Box<SessionSnapshot>, outbox: Outbox) {
    let saved = tokio::task::spawn_blocking(move || store.save(&snapshot))
        .await
        .unwrap_or_else(|_| Err("saving the session crashed".into()));
    if let Err(message) = saved {
        outbox.send(BackgroundEvent::SessionSaveFailed(message));
    }
}

/// Messages from the runtime's own tasks back to its loop.
enum Internal {
    JobEnded(JobId),
    DownloadEnded(String),
    RecordingEnded(JobId),
}

struct Running {
    job: JobId,
    cancel: CancellationToken,
}

impl Running {
    /// Starts `request` in its own task; the loop hears of its end through `internal`.
    fn start(
        request: JobRequest,
        factory: &Arc<dyn EngineFactory>,
        outbox: &Outbox,
        internal: &mpsc::UnboundedSender<Internal>,
    ) -> Running {
        let cancel = CancellationToken::new();
        let running = Running {
            job: request.job,
            cancel: cancel.clone(),
        };
        let factory = factory.clone();
        let outbox = outbox.clone();
        let internal = internal.clone();
        tokio::spawn(async move {
            let job = request.job;
            let outcome = run_job(request, factory, &outbox, cancel).await;
            outbox.send(BackgroundEvent::JobFinished { job, outcome });
            let _ = internal.send(Internal::JobEnded(job));
        });
        running
    }
}

/// Stops `job`: the running one is told to stop; a queued one leaves the queue and is
/// reported cancelled at once.
fn cancel_job(
    job: JobId,
    running: Option<&Running>,
    queue: &mut VecDeque<JobRequest>,
    outbox: &Outbox,
) {
    if let Some(current) = running.filter(|current| current.job == job) {
        current.cancel.cancel();
    } else if let Some(index) = queue.iter().position(|queued| queued.job == job) {
        queue.remove(index);
        outbox.send(BackgroundEvent::JobFinished {
            job,
            outcome: JobOutcome::Cancelled,
        });
    }
}

/// Starts downloading model `name`, unless it is downloading already.
fn start_download(
    name: String,
    downloads: &mut HashMap<String, CancellationToken>,
    outbox: &Outbox,
    internal: &mpsc::UnboundedSender<Internal>,
) {
    if !downloads.contains_key(&name) {
        let cancel = CancellationToken::new();
        downloads.insert(name.clone(), cancel.clone());
        tokio::spawn(download_model(name, cancel, outbox.clone(), internal.clone()));
    }
}

/// The runtime's loop: one job at a time from the queue; everything else in its own task.
async fn serve(
    mut requests: mpsc::UnboundedReceiver<RuntimeRequest>,
    outbox: Outbox,
    factory: Arc<dyn EngineFactory>,
    session: Option<SessionStore>,
) {
    let (internal_sender, mut internal) = mpsc::unbounded_channel::<Internal>();
    // The session is this window's only while it holds the lock (kept until the loop ends).
    let (session, _session_lock) = match session.map(|store| store.lock().map(|lock| (store, lock))) {
        Some(Ok((store, lock))) => (Some(store), Some(lock)),
        Some(Err(message)) => {
            outbox.send(BackgroundEvent::SessionLoaded(Err(message)));
            (None, None)
        }
        None => (None, None),
    };
    let mut serving = Serving {
        outbox,
        factory,
        session,
        internal: internal_sender,
        queue: VecDeque::new(),
        running: None,
        downloads: HashMap::new(),
        recording: None,
        listing: None,
        saving: None,
    };
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                serving.handle(request);
            }
            Some(message) = internal.recv() => serving.forget_ended(message),
        }
        serving.start_next_job();
    }
    serving.shut_down().await;
}

/// What the runtime's loop keeps between requests.
struct Serving {
    outbox: Outbox,
    factory: Arc<dyn EngineFactory>,
    session: Option<SessionStore>,
    /// Where the runtime's own tasks report their end.
    internal: mpsc::UnboundedSender<Internal>,
    queue: VecDeque<JobRequest>,
    running: Option<Running>,
    downloads: HashMap<String, CancellationToken>,
    recording: Option<recording::RecordingHandle>,
    /// The last folder listing and the last session save: the next of each waits for it.
    listing: Option<tokio::task::JoinHandle<()>>,
    saving: Option<tokio::task::JoinHandle<()>>,
}

impl Serving {
    fn handle(&mut self, request: RuntimeRequest) {
        let outbox = self.outbox.clone();
        match request {
            RuntimeRequest::Enqueue(job) => self.queue.push_back(job),
            RuntimeRequest::Cancel(job) => cancel_job(job, self.running.as_ref(), &mut self.queue, &outbox),
            RuntimeRequest::ChooseFiles { start_dir } => detach(choose_files(start_dir, outbox)),
            RuntimeRequest::Export(export) => detach(write_export(*export, outbox)),
            RuntimeRequest::ListModels => detach(list_models(outbox)),
            RuntimeRequest::DownloadModel(name) => start_download(name, &mut self.downloads, &outbox, &self.internal),
            RuntimeRequest::CancelDownload(name) => {
                if let Some(cancel) = self.downloads.get(&name) {
                    cancel.cancel();
                }
            }
            RuntimeRequest::ImportModel => detach(import_model(outbox)),
            RuntimeRequest::RemoveModel(name) => detach(remove_model(name, outbox)),
            // Each listing waits for the one before, so files queue in the order they were
            // dropped even when a folder takes a while to list.
            RuntimeRequest::ListAudio(paths) => self.listing = Some(after(self.listing.take(), list_audio(paths, outbox))),
            RuntimeRequest::LoadSession => detach(load_session(self.session.clone(), outbox)),
            RuntimeRequest::SaveSession(snapshot) => {
                if let Some(store) = self.session.clone() {
                    self.saving = Some(after(self.saving.take(), save_session(store, snapshot, outbox)));
                }
            }
            RuntimeRequest::ListKeys => detach(list_keys(self.factory.clone(), outbox)),
            RuntimeRequest::SaveKey { service, key } => {
                detach(change_key(self.factory.clone(), service, Some(key), outbox));
            }
            RuntimeRequest::RemoveKey(service) => detach(change_key(self.factory.clone(), service, None, outbox)),
            RuntimeRequest::ListInputDevices => detach(recording::list_devices(outbox)),
            RuntimeRequest::RecoverRecordings(dir) => detach(recording::recover(dir, outbox)),
            RuntimeRequest::StartRecording(request) => self.start_recording(*request),
            RuntimeRequest::ControlRecording(control) => {
                if let Some(recording) = &self.recording {
                    recording.control(control);
                }
            }
            RuntimeRequest::SaveProject(request) => detach(project::save_project(*request, outbox)),
            RuntimeRequest::OpenProject { project, audio } => detach(project::open_project(project, audio, outbox)),
            RuntimeRequest::ChooseProjectAudio { project, expected } => {
                detach(project::choose_project_audio(project, expected, outbox))
            }
            RuntimeRequest::OpenSubtitles { subtitles, audio } => detach(project::open_subtitles(subtitles, audio, outbox)),
            RuntimeRequest::CheckRecentProjects(paths) => detach(project::check_recent(paths, outbox)),
        }
    }

    /// Starts a recording, unless one runs already (the window allows one at a time).
    fn start_recording(&mut self, request: recording::RecordingRequest) {
        if let Some(current) = &self.recording {
            let message = "a recording is running already; stop it first".to_string();
            let update = recording::RecordingUpdate::FailedToStart { job: request.job, message };
            self.outbox.send(BackgroundEvent::Recording(update));
            debug_assert_ne!(current.job, request.job);
            return;
        }
        let internal = self.internal.clone();
        let job = request.job;
        self.recording = Some(recording::start(request, self.factory.clone(), self.outbox.clone(), move || {
            let _ = internal.send(Internal::RecordingEnded(job));
        }));
    }

    /// The next queued file starts when none is running.
    fn start_next_job(&mut self) {
        if self.running.is_none()
            && let Some(next) = self.queue.pop_front()
        {
            self.running = Some(Running::start(next, &self.factory, &self.outbox, &self.internal));
        }
    }

    /// A task of the runtime's own ended: it is no longer running, downloading or recording.
    fn forget_ended(&mut self, message: Internal) {
        match message {
            Internal::JobEnded(job) => {
                if self.running.as_ref().is_some_and(|current| current.job == job) {
                    self.running = None;
                }
            }
            Internal::DownloadEnded(name) => {
                self.downloads.remove(&name);
            }
            Internal::RecordingEnded(job) => {
                if self.recording.as_ref().is_some_and(|current| current.job == job) {
                    self.recording = None;
                }
            }
        }
    }

    /// The window is gone: stop everything, but let the recording's file and the session
    /// saves reach the disk.
    async fn shut_down(self) {
        if let Some(current) = self.running {
            current.cancel.cancel();
        }
        for cancel in self.downloads.values() {
            cancel.cancel();
        }
        if let Some(recording) = self.recording {
            recording.stop_for_exit().await;
        }
        if let Some(saving) = self.saving {
            let _ = saving.await;
        }
    }
}

/// Runs `task` on its own; it reports through the outbox.
fn detach(task: impl std::future::Future<Output = ()> + Send + 'static) {
    tokio::spawn(task);
}

/// Reads the last session on a blocking thread and reports it.
async fn load_session(store: Option<SessionStore>, outbox: Outbox) {
    let loaded = match store {
        Some(store) => tokio::task::spawn_blocking(move || store.load())
            .await
            .unwrap_or_else(|_| Err("reading the last session crashed".into())),
        None => Ok(Vec::new()),
    };
    outbox.send(BackgroundEvent::SessionLoaded(loaded));
}

/// Runs one job and says how it ended. The engine runs in its own task, so even a panic in it
/// ends as a failed job, not a dead runtime.
async fn run_job(
    request: JobRequest,
    factory: Arc<dyn EngineFactory>,
    outbox: &Outbox,
    cancel: CancellationToken,
) -> JobOutcome {
    let JobRequest {
        job,
        path,
        engine: spec,
        options,
    } = request;
    outbox.send(BackgroundEvent::JobStarted {
        job,
        engine: spec.label(),
    });
    let engine = {
        let factory = factory.clone();
        let spec = spec.clone();
        match tokio::task::spawn_blocking(move || factory.engine_for(&spec)).await {
            Ok(Ok(engine)) => engine,
            Ok(Err(error)) => return JobOutcome::Failed { reason: backend::engine_error_message(&error) },
            Err(_) => {
                return JobOutcome::Failed {
                    reason: "the engine could not be set up (it crashed); try another model".into(),
                };
            }
        }
    };
    if cancel.is_cancelled() {
        return JobOutcome::Cancelled;
    }
    let (sink, forwarder) = engine_sink(job, outbox);
    let run = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let result = run_engine(engine.as_ref(), &path, &options, &sink, &cancel).await;
            drop(sink);
            result
        })
    };
    let result = run.await;
    // The sink is dropped (or its task died): the forwarder ends after the last event.
    let _ = forwarder.await;
    match result {
        Ok(Ok(_)) => JobOutcome::Done,
        Ok(Err(EngineError::Cancelled)) => JobOutcome::Cancelled,
        Ok(Err(error)) => JobOutcome::Failed { reason: backend::engine_error_message(&error) },
        Err(_) => JobOutcome::Failed {
            reason: "the engine crashed on this file; segments so far are kept — try another model or convert the file to WAV".into(),
        },
    }
}

/// A sink for `job`'s engine and the task that sends its events on as `Engine` events, in
/// order; the task ends after the last event once the sink is dropped.
fn engine_sink(job: JobId, outbox: &Outbox) -> (EventSink, tokio::task::JoinHandle<()>) {
    let (sink, mut events) = EventSink::channel();
    let outbox = outbox.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            outbox.send(BackgroundEvent::Engine { job, event });
        }
    });
    (sink, forwarder)
}

async fn choose_files(start_dir: Option<PathBuf>, outbox: Outbox) {
    let mut dialog = rfd::AsyncFileDialog::new()
        .set_title("Open audio or video files, projects or subtitles")
        .add_filter("Audio and video", crate::audio::discover::AUDIO_EXTENSIONS)
        .add_filter("Projects and subtitles", &["json", "srt", "vtt"])
        .add_filter("All files", &["*"]);
    if let Some(dir) = start_dir {
        dialog = dialog.set_directory(dir);
    }
    let asked = std::time::Instant::now();
    match dialog.pick_files().await {
        Some(files) => {
            let paths: Vec<PathBuf> = files.iter().map(|file| file.path().to_path_buf()).collect();
            if !paths.is_empty() {
                outbox.send(BackgroundEvent::FilesChosen(paths));
            }
        }
        None if asked.elapsed() < DIALOG_MISSING_WITHIN => {
            outbox.send(BackgroundEvent::DialogUnavailable(DialogKind::OpenFiles));
        }
        None => {}
    }
}

/// Lists folders and checks extensions on a blocking thread (a dropped folder on a slow or
/// network drive must not stall a frame).
async fn list_audio(paths: Vec<PathBuf>, outbox: Outbox) {
    let listed = tokio::task::spawn_blocking(move || crate::audio::discover::collect_audio_files(&paths)).await;
    let (audio, skipped) = listed.unwrap_or_default();
    outbox.send(BackgroundEvent::AudioListed { audio, skipped });
}

async fn write_export(request: ExportRequest, outbox: Outbox) {
    let ExportRequest {
        job,
        kind,
        transcript,
        settings,
        destination,
        suggested_dir,
        suggested_name,
        keep_cues,
    } = request;
    let path = match destination {
        Some(path) => path,
        None => {
            let mut dialog = rfd::AsyncFileDialog::new()
                .set_title(format!("Export {}", kind.label()))
                .set_file_name(suggested_name.clone())
                .add_filter(kind.label(), &[kind.extension()]);
            if let Some(dir) = &suggested_dir {
                dialog = dialog.set_directory(dir);
            }
            let asked = std::time::Instant::now();
            match dialog.save_file().await {
                Some(file) => file.path().to_path_buf(),
                // No dialog on this system: write next to the audio, never over a file.
                None if asked.elapsed() < DIALOG_MISSING_WITHIN => {
                    let dir = suggested_dir.unwrap_or_else(|| PathBuf::from("."));
                    free_path(&dir, &suggested_name)
                }
                None => return,
            }
        }
    };
    let target = path.clone();
    let written = tokio::task::spawn_blocking(move || {
        let contents = match keep_cues {
            true => crate::export::kept_cues::render_keeping_cues(&transcript, kind, &settings.options),
            false => backend::render_export(&transcript, kind, &settings),
        };
        write_export_file(&target, contents.as_bytes())
    })
    .await;
    let event = match written {
        Ok(Ok(())) => BackgroundEvent::Exported { job, kind, path },
        Ok(Err(message)) => BackgroundEvent::ExportFailed {
            job,
            kind,
            path: Some(path),
            message,
        },
        Err(_) => BackgroundEvent::ExportFailed {
            job,
            kind,
            path: Some(path),
            message: "the exporter crashed; please report this transcript".into(),
        },
    };
    outbox.send(event);
}

/// `dir/name`, or `dir/stem (2).ext`, `(3)`… if that exists.
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem.to_string(), format!(".{extension}")),
        None => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|path| !path.exists())
        .unwrap_or(candidate)
}

/// Writes an export through the one atomic writer (a unique temporary file beside it, 0600,
/// synced, renamed into place); the error says what to do.
fn write_export_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    crate::files::write_atomically(path, contents).map_err(|error| {
        format!(
            "cannot write {}: {error}; choose another folder",
            path.display()
        )
    })
}

async fn list_models(outbox: Outbox) {
    let listing = tokio::task::spawn_blocking(backend::list_models)
        .await
        .unwrap_or_else(|_| Err("listing models crashed; restart Verbatim".into()))
        .map(|(dir, installed)| ModelsSnapshot { dir, installed });
    outbox.send(BackgroundEvent::ModelsListed(listing));
}

async fn download_model(
    name: String,
    cancel: CancellationToken,
    outbox: Outbox,
    internal: mpsc::UnboundedSender<Internal>,
) {
    let progress_outbox = outbox.clone();
    let progress_name = name.clone();
    let mut progress = move |downloaded_bytes: u64, total_bytes: Option<u64>| {
        progress_outbox.send(BackgroundEvent::DownloadProgress {
            name: progress_name.clone(),
            downloaded_bytes,
            total_bytes,
        });
    };
    let result = backend::download_model(&name, &mut progress, &cancel).await;
    let result = match result {
        Ok(()) => ModelOperationResult::Succeeded(format!("Model {name} is installed")),
        Err(crate::models::DownloadError::Cancelled) => ModelOperationResult::Cancelled,
        Err(error) => ModelOperationResult::Failed(error.to_string()),
    };
    let _ = internal.send(Internal::DownloadEnded(name.clone()));
    outbox.send(BackgroundEvent::ModelOperationEnded {
        operation: ModelOperation::Download(name),
        result,
    });
    list_models(outbox).await;
}

async fn import_model(outbox: Outbox) {
    let asked = std::time::Instant::now();
    let Some(folder) = rfd::AsyncFileDialog::new()
        .set_title("Import a faster-whisper model folder")
        .pick_folder()
        .await
    else {
        if asked.elapsed() < DIALOG_MISSING_WITHIN {
            outbox.send(BackgroundEvent::DialogUnavailable(DialogKind::ImportFolder));
        }
        outbox.send(BackgroundEvent::ModelOperationEnded {
            operation: ModelOperation::Import,
            result: ModelOperationResult::Cancelled,
        });
        return;
    };
    let result = match backend::import_model(folder.path()).await {
        Ok(name) => ModelOperationResult::Succeeded(format!("Model {name} is installed")),
        Err(reason) => ModelOperationResult::Failed(reason),
    };
    outbox.send(BackgroundEvent::ModelOperationEnded {
        operation: ModelOperation::Import,
        result,
    });
    list_models(outbox).await;
}

async fn remove_model(name: String, outbox: Outbox) {
    let result = {
        let name = name.clone();
        tokio::task::spawn_blocking(move || backend::remove_model(&name))
            .await
            .unwrap_or_else(|_| Err("removing the model crashed".into()))
    };
    let result = match result {
        Ok(()) => ModelOperationResult::Succeeded(format!("Model {name} removed")),
        Err(reason) => ModelOperationResult::Failed(reason),
    };
    outbox.send(BackgroundEvent::ModelOperationEnded {
        operation: ModelOperation::Remove(name),
        result,
    });
    list_models(outbox).await;
}

async fn list_keys(factory: Arc<dyn EngineFactory>, outbox: Outbox) {
    let listing = tokio::task::spawn_blocking(move || {
        let stores = factory.key_stores().map_err(|error| error.to_string())?;
        let statuses = CloudService::ALL
            .iter()
            .map(|&service| crate::engine::cloud::keys::key_status(&stores, service))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())?;
        Ok(KeysSnapshot {
            statuses,
            keyring_unavailable_reason: stores.keyring_unavailable_reason.clone(),
        })
    })
    .await
    .unwrap_or_else(|_| Err("reading the keyring crashed; restart Verbatim".into()));
    outbox.send(BackgroundEvent::KeysListed(listing));
}

/// Saves (`Some`) or removes (`None`) a service's key, then lists the keys again.
async fn change_key(
    factory: Arc<dyn EngineFactory>,
    service: CloudService,
    key: Option<ApiKey>,
    outbox: Outbox,
) {
    let keys_factory = factory.clone();
    let result = tokio::task::spawn_blocking(move || {
        let stores = keys_factory.key_stores().map_err(|error| error.to_string())?;
        backend::change_key(&stores, service, key.as_ref())
    })
    .await
    .unwrap_or_else(|_| Err("the keyring crashed; the key may not be saved, try again".into()));
    outbox.send(BackgroundEvent::KeyOperationEnded { service, result });
    list_keys(factory, outbox).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for the cancel, then ends with `error`.
    struct EndsAfterCancel(fn() -> EngineError);

    #[async_trait::async_trait]
    impl Engine for EndsAfterCancel {
        fn name(&self) -> &str {
            "scripted"
        }

        async fn transcribe_file(
            &self,
            _path: &Path,
            _options: &TranscribeOptions,
            _sink: &EventSink,
            cancel: &CancellationToken,
        ) -> Result<crate::engine::EngineOutcome, EngineError> {
            cancel.cancelled().await;
            Err((self.0)())
        }
    }

    struct Fixed(Arc<dyn Engine>);

    impl EngineFactory for Fixed {
        fn engine_for(&self, _spec: &EngineSpec) -> Result<Arc<dyn Engine>, EngineError> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn a_job_is_cancelled_when_its_engine_says_so_not_when_a_cancel_was_asked() {
        let (sender, _events) = std_mpsc::channel();
        let outbox = Outbox { sender, waker: Arc::new(|| {}), wake_pending: Arc::new(AtomicBool::new(false)) };
        let run = |error: fn() -> EngineError| {
            let factory: Arc<dyn EngineFactory> = Arc::new(Fixed(Arc::new(EndsAfterCancel(error))));
            let request = JobRequest {
                job: JobId(1),
                path: PathBuf::from("talk.wav"),
                engine: EngineSpec::Local { model: "tiny.en".into(), beam_size: 1 },
                options: TranscribeOptions::default(),
            };
            let cancel = CancellationToken::new();
            let canceller = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                canceller.cancel();
            });
            let outbox = outbox.clone();
            async move { run_job(request, factory, &outbox, cancel).await }
        };
        assert!(matches!(run(|| EngineError::Cancelled).await, JobOutcome::Cancelled));
        // The connection broke while the cancel was on its way: that is a failure to show.
        let outcome = run(|| EngineError::Service("the connection to 60db was lost".into())).await;
        assert!(matches!(&outcome, JobOutcome::Failed { reason } if reason == "the connection to 60db was lost"), "{outcome:?}");
    }

    #[test]
    fn exports_never_overwrite_when_no_dialog_asked_and_writes_are_atomic() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let first = free_path(dir.path(), "talk.srt");
        assert_eq!(first, dir.path().join("talk.srt"));
        write_export_file(&first, b"one").unwrap_or_else(|error| panic!("{error}"));
        let second = free_path(dir.path(), "talk.srt");
        assert_eq!(second, dir.path().join("talk (2).srt"));
        write_export_file(&first, b"two").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(std::fs::read(&first).ok(), Some(b"two".to_vec()));
        let leftovers = std::fs::read_dir(dir.path())
            .map(|entries| entries.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 1, "no partial file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600), "a transcript is readable by its owner only");
        }
        let missing = dir.path().join("no/such/folder/talk.srt");
        let error = write_export_file(&missing, b"x").err().unwrap_or_default();
        assert!(error.contains("choose another folder"), "{error}");
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|entries| entries.count()).unwrap_or(0),
            1,
            "a failed write leaves nothing"
        );
    }
}
