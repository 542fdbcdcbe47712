//! The recording, on the background runtime: opens the input (cpal, or a file played as a
//! virtual microphone) and starts the [`Recorder`] on a blocking thread, passes the window's
//! pause / resume / stop on, sends its status about twenty times a second and its warnings
//! as [`RecordingUpdate`]s, and runs the live engine on the recorder's 16 kHz tap, its events
//! going out as the same `BackgroundEvent::Engine` a file job sends.
//!
//! The file is the source of truth (DESIGN.md, "live audio"): the live engine runs in a task
//! of its own, and when it fails — a dropped connection, a refused key, a crashed worker —
//! only its tap is dropped (the recorder ignores a tap nobody reads) and the recording goes
//! on. Nothing here runs on the UI thread, and nothing the window does waits for it.

use super::{BackgroundEvent, EngineFactory, EngineSpec, Outbox};
use crate::app::messages::JobId;
use crate::engine::{LiveOptions, TranscribeOptions, run_live_engine};
use crate::record::cpal_input::InputDevice;
use crate::record::recovery::RepairedRecording;
use crate::record::{LiveTapReceiver, Recorder, RecorderConfig, RecorderEvent, RecorderStatus, RecordingSummary};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the recorder's status (levels, time, size) goes to the window.
pub const STATUS_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait on exit for the recording's file to be finished.
pub const EXIT_WAIT: Duration = Duration::from_secs(5);

/// A recording to make.
#[derive(Debug, Clone)]
pub struct RecordingRequest {
    /// The job the window shows it as (reserved before the file exists).
    pub job: JobId,
    /// Where the file and its crash marker go; `None`: the recordings folder of the platform.
    pub recordings_dir: Option<PathBuf>,
    /// An input device id or name, `file:PATH`, or `None` for the default input.
    pub device: Option<String>,
    /// Also record the monitor of the output as channel 2.
    pub with_monitor: bool,
    /// Pace of a `file:PATH` device (1 = real time).
    pub file_speed: f64,
    /// Transcribe while recording; `None`: no live engine.
    pub live: Option<LiveRequest>,
}

/// The live engine of a recording.
#[derive(Debug, Clone)]
pub struct LiveRequest {
    pub engine: EngineSpec,
    pub live: LiveOptions,
    pub options: TranscribeOptions,
}

/// What the window asks of a running recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingControl {
    Pause,
    Resume,
    Stop,
}

/// What the runtime tells the window about recordings.
#[derive(Debug, Clone)]
pub enum RecordingUpdate {
    /// The input devices (answer to `RuntimeRequest::ListInputDevices`).
    Devices(Result<Vec<InputDevice>, String>),
    /// The file exists and capture runs (the clock starts with the first samples).
    Started { job: JobId, path: PathBuf, engine_label: String },
    /// Nothing was recorded; the message says why and what to do.
    FailedToStart { job: JobId, message: String },
    Status { job: JobId, status: RecorderStatus },
    /// Worth showing; `stopped`: the recording had to end (a device lost, a full disk).
    Warning { job: JobId, message: String, stopped: bool },
    /// Live transcription ended; `error` says why when it stopped early.
    LiveEnded { job: JobId, error: Option<String> },
    /// The file is finished (after `LiveEnded`, when there was a live engine).
    Finished { job: JobId, summary: RecordingSummary },
    /// Recordings a crash left unfinished, repaired (answer to `RecoverRecordings`).
    Recovered(Vec<Result<RepairedRecording, String>>),
}

/// The runtime's handle on the running recording.
pub(super) struct RecordingHandle {
    pub job: JobId,
    controls: mpsc::UnboundedSender<RecordingControl>,
    cancel_live: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingHandle {
    pub fn control(&self, control: RecordingControl) {
        let _ = self.controls.send(control);
    }

    /// The window is closing: stop at once (the live engine's last words are not waited
    /// for) and give the file up to [`EXIT_WAIT`] to be finished.
    pub async fn stop_for_exit(self) {
        self.cancel_live.cancel();
        let _ = self.controls.send(RecordingControl::Stop);
        let _ = tokio::time::timeout(EXIT_WAIT, self.task).await;
    }
}

/// Starts `request` in a task of its own; `ended` is called when it is over.
pub(super) fn start(
    request: RecordingRequest,
    factory: Arc<dyn EngineFactory>,
    outbox: Outbox,
    ended: impl FnOnce() + Send + 'static,
) -> RecordingHandle {
    let (controls, control_receiver) = mpsc::unbounded_channel();
    let cancel_live = CancellationToken::new();
    let job = request.job;
    let task = {
        let cancel_live = cancel_live.clone();
        tokio::spawn(async move {
            run(request, factory, outbox, control_receiver, cancel_live).await;
            ended();
        })
    };
    RecordingHandle { job, controls, cancel_live, task }
}

/// Lists the input devices on a blocking thread (cpal may take a while to ask the server).
pub(super) async fn list_devices(outbox: Outbox) {
    let listed = tokio::task::spawn_blocking(crate::record::cpal_input::list_input_devices)
        .await
        .unwrap_or_else(|_| Err(crate::record::RecordError::NoDevice(" (listing the devices crashed)".into())))
        .map_err(|error| crate::app::backend::record_error_message(&error));
    outbox.send(BackgroundEvent::Recording(RecordingUpdate::Devices(listed)));
}

/// Repairs what a crash left unfinished in `dir` and reports it.
pub(super) async fn recover(dir: PathBuf, outbox: Outbox) {
    let repaired = tokio::task::spawn_blocking(move || {
        crate::record::recovery::recover_unfinished(&dir)
            .into_iter()
            .map(|result| result.map_err(|error| error.to_string()))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if !repaired.is_empty() {
        outbox.send(BackgroundEvent::Recording(RecordingUpdate::Recovered(repaired)));
    }
}

async fn run(
    request: RecordingRequest,
    factory: Arc<dyn EngineFactory>,
    outbox: Outbox,
    controls: mpsc::UnboundedReceiver<RecordingControl>,
    cancel_live: CancellationToken,
) {
    let job = request.job;
    let live = request.live.clone();
    let opened = tokio::task::spawn_blocking(move || open_recorder(&request)).await;
    let (mut recorder, fallback) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(message)) => return outbox.send(BackgroundEvent::Recording(RecordingUpdate::FailedToStart { job, message })),
        Err(_) => {
            let message = "opening the input device crashed; try another device".to_string();
            return outbox.send(BackgroundEvent::Recording(RecordingUpdate::FailedToStart { job, message }));
        }
    };
    let engine_label = match &live {
        Some(live) => format!("live · {}", live.engine.label()),
        None => "recording".to_string(),
    };
    let path = recorder.status().path;
    outbox.send(BackgroundEvent::Recording(RecordingUpdate::Started { job, path, engine_label }));
    if let Some(message) = fallback {
        outbox.send(BackgroundEvent::Recording(RecordingUpdate::Warning { job, message, stopped: false }));
    }
    let live_task = live.map(|live| {
        let tap = recorder.take_live_tap();
        tokio::spawn(run_live(job, live, tap, factory, outbox.clone(), cancel_live))
    });
    let recorder = follow(recorder, job, controls, &outbox).await;
    let summary = tokio::task::spawn_blocking(move || recorder.wait()).await;
    if let Some(live_task) = live_task {
        let _ = live_task.await;
    }
    if let Ok(summary) = summary {
        outbox.send(BackgroundEvent::Recording(RecordingUpdate::Finished { job, summary }));
    }
}

/// Creates the file (a new timestamped one in the recordings folder), opens the source and
/// starts the recorder. A remembered device that is not connected any more gives way to the
/// default input, with a warning (returned). Blocking. The error is one line in window wording.
fn open_recorder(request: &RecordingRequest) -> Result<(Recorder, Option<String>), String> {
    let message = |error: crate::record::RecordError| crate::app::backend::record_error_message(&error);
    let dir = match &request.recordings_dir {
        Some(dir) => dir.clone(),
        None => crate::record::recordings_dir().map_err(message)?,
    };
    let path = crate::record::new_recording_path_in(&dir).map_err(message)?;
    let open = |device: Option<&str>| crate::record::open_source(device, request.with_monitor, request.file_speed);
    let (source, fallback) = match open(request.device.as_deref()) {
        Err(crate::record::RecordError::UnknownDevice(name)) => {
            let warning = format!("the input device \"{name}\" is not connected; recording from the default input");
            (open(None).map_err(message)?, Some(warning))
        }
        opened => (opened.map_err(message)?, None),
    };
    let config = RecorderConfig {
        recordings_dir: Some(dir),
        live_tap: request.live.is_some(),
        ..RecorderConfig::new(path)
    };
    Ok((Recorder::start(source, config).map_err(message)?, fallback))
}

/// Passes controls on and reports status and events until the recorder has finished.
async fn follow(
    recorder: Recorder,
    job: JobId,
    mut controls: mpsc::UnboundedReceiver<RecordingControl>,
    outbox: &Outbox,
) -> Recorder {
    let mut ticker = tokio::time::interval(STATUS_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut controls_open = true;
    let mut last_status: Option<RecorderStatus> = None;
    loop {
        tokio::select! {
            control = controls.recv(), if controls_open => match control {
                Some(RecordingControl::Pause) => recorder.pause(),
                Some(RecordingControl::Resume) => recorder.resume(),
                Some(RecordingControl::Stop) => recorder.stop(),
                // The runtime is gone: finish the file.
                None => {
                    controls_open = false;
                    recorder.stop();
                }
            },
            _ = ticker.tick() => {}
        }
        let finished = forward_events(&recorder, job, outbox);
        let status = recorder.status();
        if last_status.as_ref() != Some(&status) {
            outbox.send(BackgroundEvent::Recording(RecordingUpdate::Status { job, status: status.clone() }));
            last_status = Some(status);
        }
        if finished {
            return recorder;
        }
    }
}

/// Sends the recorder's waiting events on; `true` once it has finished.
fn forward_events(recorder: &Recorder, job: JobId, outbox: &Outbox) -> bool {
    while let Some(event) = recorder.try_event() {
        let update = match event {
            RecorderEvent::Started { .. } => continue,
            RecorderEvent::Warning(message) => RecordingUpdate::Warning { job, message, stopped: false },
            RecorderEvent::Failed(message) => RecordingUpdate::Warning { job, message, stopped: true },
            RecorderEvent::Finished(_) => return true,
        };
        outbox.send(BackgroundEvent::Recording(update));
    }
    false
}

/// Runs the live engine on the tap until the recording ends or the engine fails, and says
/// how it ended. Its events go out as the job's engine events.
async fn run_live(
    job: JobId,
    live: LiveRequest,
    tap: Option<LiveTapReceiver>,
    factory: Arc<dyn EngineFactory>,
    outbox: Outbox,
    cancel: CancellationToken,
) {
    let error = transcribe_live(job, live, tap, factory, &outbox, cancel).await.err();
    outbox.send(BackgroundEvent::Recording(RecordingUpdate::LiveEnded { job, error }));
}

async fn transcribe_live(
    job: JobId,
    live: LiveRequest,
    tap: Option<LiveTapReceiver>,
    factory: Arc<dyn EngineFactory>,
    outbox: &Outbox,
    cancel: CancellationToken,
) -> Result<(), String> {
    let tap = tap.ok_or("the recorder gave no live audio")?;
    let LiveRequest { engine: spec, live: live_options, options } = live;
    let engine = tokio::task::spawn_blocking(move || factory.live_engine_for(&spec, &live_options))
        .await
        .map_err(|_| "the live engine could not be set up (it crashed)".to_string())?
        .map_err(|error| crate::app::backend::engine_error_message(&error))?;
    let (sink, forwarder) = super::engine_sink(job, outbox);
    let run = tokio::spawn(async move {
        let result = run_live_engine(engine.as_ref(), tap, &options, &sink, &cancel).await;
        drop(sink);
        result
    });
    let result = run.await;
    let _ = forwarder.await;
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(crate::app::backend::engine_error_message(&error)),
        Err(_) => Err("the live engine crashed".to_string()),
    }
}
