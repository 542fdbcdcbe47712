//! What the window does with what the background runtime tells it (rerun's `logic.rs`): each
//! [`BackgroundEvent`] changes the plain state, queues the next step (a recording's file to
//! transcribe, a session save) or shows a notification. Nothing here draws, and nothing
//! here waits: the slow part of every step is a request to the runtime.

use super::VerbatimApp;
use super::commands::AppCommand;
use super::record_commands::RecordingCommand;
use super::recording::DeviceList;
use super::runtime::recording::RecordingUpdate;
use super::runtime::{
    BackgroundEvent, DialogKind, JobOutcome, ModelOperation, ModelOperationResult,
};
use super::session::RestoredJob;
use super::messages::{JobId, NoticeAction, NoticeLevel};
use crate::events::EngineEvent;
use crate::record::recovery::RepairedRecording;
use std::time::Instant;

impl VerbatimApp {
    pub(crate) fn on_background_event(&mut self, ctx: &eframe::egui::Context, event: BackgroundEvent) {
        let now = Instant::now();
        match event {
            BackgroundEvent::JobStarted { job, engine } => self.state.on_job_started(job, engine, now),
            BackgroundEvent::Engine { job, event } => self.on_engine_event(job, &event),
            BackgroundEvent::JobFinished { job, outcome } => self.on_job_finished(job, outcome, now),
            BackgroundEvent::CloseRequested => ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Close),
            BackgroundEvent::AudioListed { audio, skipped } => self.queue_files(audio, skipped),
            BackgroundEvent::Exported { kind, path, .. } => self.on_exported(kind, path),
            BackgroundEvent::ExportFailed { job, kind, path, message } => self.on_export_failed(job, kind, path, message),
            BackgroundEvent::DialogUnavailable(kind) => self.on_dialog_unavailable(kind),
            BackgroundEvent::SessionLoaded(Ok(restored)) => self.on_session_loaded(restored),
            BackgroundEvent::SessionLoaded(Err(message)) => {
                // Never write over a session that could not be read, or another window's.
                self.session.enabled = false;
                self.state.notify(NoticeLevel::Warning, message, None);
            }
            BackgroundEvent::SessionSaveFailed(message) => {
                // Write everything again next time, not only what changes from now on.
                self.session.saved_revisions.clear();
                self.session.saved_jobs.clear();
                self.state.notify(NoticeLevel::Warning, message, None)
            }
            BackgroundEvent::KeysListed(Ok(snapshot)) => {
                self.state.keys.snapshot = Some(snapshot);
                self.state.keys.error = None;
            }
            BackgroundEvent::KeysListed(Err(message)) => self.state.keys.error = Some(message),
            BackgroundEvent::KeyOperationEnded { service, result } => {
                self.state.keys.busy.retain(|busy| *busy != service);
                match result {
                    Ok(message) => self.state.notify(NoticeLevel::Info, message, None),
                    Err(reason) => self.state.notify(NoticeLevel::Error, reason, None),
                }
            }
            BackgroundEvent::ModelsListed(Ok(snapshot)) => {
                self.state.models.snapshot = Some(snapshot);
                self.state.models.error = None;
            }
            BackgroundEvent::ModelsListed(Err(message)) => self.state.models.error = Some(message),
            BackgroundEvent::DownloadProgress { name, downloaded_bytes, total_bytes } => {
                if let Some(download) = self.state.models.downloads.get_mut(&name) {
                    download.downloaded_bytes = downloaded_bytes;
                    download.total_bytes = total_bytes;
                }
            }
            BackgroundEvent::ModelOperationEnded { operation, result } => self.on_model_operation_ended(operation, result),
            BackgroundEvent::Recording(update) => self.on_recording_update(update, now),
            BackgroundEvent::FilesChosen(paths) => self.open_paths(paths),
            BackgroundEvent::RecentProjectsChecked(missing) => self.recent.on_checked(missing),
            BackgroundEvent::ProjectSaved { .. }
            | BackgroundEvent::ProjectSaveFailed { .. }
            | BackgroundEvent::ProjectOpened(_)
            | BackgroundEvent::ProjectAudioProblem(_)
            | BackgroundEvent::ProjectOpenFailed(_)
            | BackgroundEvent::SubtitlesOpened(_)
            | BackgroundEvent::SubtitlesOpenFailed(_) => self.on_project_event(event),
        }
    }

    fn on_engine_event(&mut self, job: JobId, event: &EngineEvent) {
        if let EngineEvent::Lag { behind_s } = event
            && self.state.recording.is_recording_job(job)
        {
            self.state.recording.on_lag(*behind_s);
        }
        self.state.on_engine_event(job, event);
        if let (EngineEvent::Segment(_), Some(found)) = (event, self.state.job(job)) {
            super::session::trace_change(format_args!("{} segments of {}", found.transcript.segments.len(), found.path.display()));
        }
    }

    fn on_job_finished(&mut self, job: JobId, outcome: JobOutcome, now: Instant) {
        // One line per finished file on stderr, for people and scripts watching a run.
        if let Some(found) = self.state.job(job) {
            let how = match &outcome {
                JobOutcome::Done => format!("done, {} segments", found.transcript.segments.len()),
                JobOutcome::Cancelled => "cancelled".to_string(),
                JobOutcome::Failed { reason } => format!("failed: {reason}"),
            };
            eprintln!("verbatim: {}: {how}", found.path.display());
        }
        self.session.urgent = true;
        self.state.on_job_finished(job, outcome, now)
    }

    fn on_dialog_unavailable(&mut self, kind: DialogKind) {
        let instead = match kind {
            DialogKind::OpenFiles => "drag files onto the window, or start it with `verbatim open FILE...`",
            DialogKind::ImportFolder => "import from a terminal with `verbatim models import DIR`",
        };
        self.state.models.importing = false;
        self.state.notify(
            NoticeLevel::Warning,
            format!("no file dialog is available on this system (it needs xdg-desktop-portal or zenity); {instead}"),
            None,
        );
    }

    fn on_session_loaded(&mut self, restored: Vec<RestoredJob>) {
        // What was read is on disk already: only later changes are written again, and
        // those made while it was being read are written now, beside it.
        self.session.loaded = true;
        self.session.urgent = true;
        for id in self.state.restore(restored) {
            if let Some(job) = self.state.job(id) {
                self.session.saved_revisions.insert(job.session_key.clone(), job.revision);
            }
        }
    }

    fn on_model_operation_ended(&mut self, operation: ModelOperation, result: ModelOperationResult) {
        let retry = match &operation {
            ModelOperation::Download(name) => {
                self.state.models.downloads.remove(name);
                Some(AppCommand::DownloadModel(name.clone()))
            }
            ModelOperation::Import => {
                self.state.models.importing = false;
                Some(AppCommand::ImportModel)
            }
            ModelOperation::Remove(name) => Some(AppCommand::RemoveModel(name.clone())),
        };
        match result {
            ModelOperationResult::Succeeded(message) => self.state.notify(NoticeLevel::Info, message, None),
            ModelOperationResult::Cancelled => {}
            ModelOperationResult::Failed(reason) => {
                let action = retry.map(|command| NoticeAction { label: "Retry".into(), command });
                self.state.notify(NoticeLevel::Error, reason, action);
            }
        }
    }

    fn on_recording_update(&mut self, update: RecordingUpdate, now: Instant) {
        match update {
            RecordingUpdate::Devices(Ok(devices)) => self.state.recording.devices = DeviceList::Listed(devices),
            RecordingUpdate::Devices(Err(message)) => self.state.recording.devices = DeviceList::Failed(message),
            RecordingUpdate::Started { job, path, engine_label } => {
                self.session.urgent = true;
                self.state.on_recording_started(job, path, engine_label, now);
            }
            RecordingUpdate::FailedToStart { job, message } => self.state.on_recording_failed_to_start(job, message),
            RecordingUpdate::Status { job, status } => self.state.on_recording_status(job, status),
            RecordingUpdate::Warning { job, message, stopped } => self.state.on_recording_warning(job, message, stopped),
            RecordingUpdate::LiveEnded { job, error } => self.state.on_live_ended(job, error),
            RecordingUpdate::Finished { job, summary } => {
                eprintln!(
                    "verbatim: {}: recorded {}",
                    summary.path.display(),
                    crate::units::clock(summary.recorded_s)
                );
                self.session.urgent = true;
                if let Some(after_stop) = self.state.on_recording_finished(job, &summary, now) {
                    self.enqueue_with(job, after_stop.engine, after_stop.options);
                }
            }
            RecordingUpdate::Recovered(results) => self.offer_recovered(results),
        }
    }

    /// One notice per recording a crash left behind, with Open and Transcribe; one warning
    /// per recording that could not be repaired.
    fn offer_recovered(&mut self, results: Vec<Result<RepairedRecording, String>>) {
        for result in results {
            match result {
                Ok(repaired) => {
                    let name = super::state::display_name(&repaired.path);
                    let message = format!(
                        "Recovered recording {name} ({}), left unfinished when Verbatim or the computer stopped",
                        crate::units::clock(repaired.duration_s)
                    );
                    let actions = vec![
                        NoticeAction { label: "Open".into(), command: AppCommand::Recording(RecordingCommand::Open(repaired.path.clone())) },
                        NoticeAction { label: "Transcribe".into(), command: AppCommand::Recording(RecordingCommand::Transcribe(repaired.path)) },
                    ];
                    self.state.notify_with(NoticeLevel::Info, message, actions, true);
                }
                Err(message) => self.state.notify(
                    NoticeLevel::Warning,
                    format!("an unfinished recording could not be repaired: {message}"),
                    None,
                ),
            }
        }
    }
}

