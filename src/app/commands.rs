//! Every action the user can take in the window ([`AppCommand`], defined with the rest of the
//! window's vocabulary in [`super::messages`]) and what each does.
//!
//! Menus, buttons, shortcuts, drag and drop, notifications' buttons and the command line all
//! produce [`AppCommand`]s; the window applies them at the end of the frame (as rerun does), so
//! drawing never changes state halfway through a frame. A command either edits the plain
//! state (a rename, a reassignment) or hands slow work to the background runtime.

use super::VerbatimApp;
pub use super::messages::{AppCommand, ExportDestination};
use super::messages::{JobId, NoticeAction, NoticeLevel, RecordingCommand};
use super::runtime::{ExportRequest, JobRequest, RuntimeRequest};
use super::settings::LastExport;
use crate::audio::discover::AUDIO_EXTENSIONS;
use crate::export::ExportFormat;
use std::path::{Path, PathBuf};

impl AppCommand {
    /// What the user changed in a transcript or the list is written to the session at once.
    fn changes_session(&self) -> bool {
        if let AppCommand::Edit(_, edit) = self {
            return edit.changes_transcript();
        }
        matches!(
            self,
            AppCommand::RenameSpeaker { .. }
                | AppCommand::SetSegmentSpeaker { .. }
                | AppCommand::EditSegmentText { .. }
                | AppCommand::RemoveJob(_)
                | AppCommand::RetryJob(_)
                | AppCommand::Recording(
                    RecordingCommand::Open(_) | RecordingCommand::Transcribe(_)
                )
                | AppCommand::Project(
                    super::messages::ProjectCommand::NudgeCue { .. }
                        | super::messages::ProjectCommand::ShiftCues { .. }
                )
        )
    }
}

impl VerbatimApp {
    /// Queues a command to apply at the end of this frame.
    pub fn send(&mut self, command: AppCommand) {
        self.pending_commands.push(command);
    }

    /// Applies every queued command, in order.
    pub(crate) fn handle_pending_commands(&mut self, ctx: &eframe::egui::Context) {
        // A command may queue others (a notification's action); take them in waves.
        for _ in 0..4 {
            let commands = std::mem::take(&mut self.pending_commands);
            if commands.is_empty() {
                break;
            }
            for command in commands {
                self.handle_command(ctx, command);
            }
        }
    }

    pub(crate) fn request(&mut self, request: RuntimeRequest) {
        let delivered = self
            .runtime
            .as_ref()
            .is_some_and(|runtime| runtime.send(request));
        if !delivered {
            self.state.notify(
                NoticeLevel::Error,
                "the background worker is not running; restart Verbatim",
                None,
            );
        }
    }

    /// Queues the files the runtime found among dropped or chosen paths, and says which
    /// paths were not audio.
    pub(crate) fn queue_files(&mut self, audio: Vec<PathBuf>, skipped: Vec<PathBuf>) {
        for path in &skipped {
            self.state.notify(
                NoticeLevel::Warning,
                format!(
                    "{} is not an audio or video file Verbatim can read (use {})",
                    path.display(),
                    AUDIO_EXTENSIONS.join(", ")
                ),
                None,
            );
        }
        if let Some(dir) = audio.first().and_then(|path| path.parent()) {
            self.settings.last_open_dir = Some(dir.to_path_buf());
        }
        for path in audio {
            let job = self.state.add_job(path);
            self.enqueue(job);
        }
    }

    pub(crate) fn enqueue(&mut self, job: JobId) {
        self.enqueue_with(job, self.engine_spec(), self.transcribe_options());
    }

    /// Queues `job`'s file with `engine` (a recording: the engine chosen when it started).
    pub(crate) fn enqueue_with(
        &mut self,
        job: JobId,
        engine: super::runtime::EngineSpec,
        options: crate::engine::TranscribeOptions,
    ) {
        let Some(path) = self.state.job(job).map(|job| job.path.clone()) else {
            return;
        };
        let request = JobRequest {
            job,
            path,
            engine,
            options,
        };
        self.request(RuntimeRequest::Enqueue(request));
    }

    fn handle_command(&mut self, ctx: &eframe::egui::Context, command: AppCommand) {
        if command.changes_session() {
            self.session.urgent = true;
        }
        match command {
            AppCommand::AddFiles(paths) => self.open_paths(paths),
            AppCommand::OpenFileDialog => {
                let start_dir = self.settings.last_open_dir.clone();
                self.request(RuntimeRequest::ChooseFiles { start_dir });
            }
            AppCommand::CancelJob(job) => self.cancel_job(job),
            AppCommand::CancelRunning => {
                if let Some(job) = self.state.running_job().map(|job| job.id) {
                    self.cancel_job(job);
                }
            }
            AppCommand::RetryJob(job) => {
                if self.state.retry(job) {
                    self.enqueue(job);
                }
            }
            AppCommand::RemoveJob(job) => self.remove_job(job),
            AppCommand::SelectJob(job) => self.state.select(job, true),
            AppCommand::RenameSpeaker {
                job,
                speaker_id,
                name,
            } => self.rename_speaker(job, &speaker_id, &name),
            AppCommand::SetSegmentSpeaker {
                job,
                segment,
                speaker_id,
            } => {
                self.state.edit_transcript(job, |transcript| transcript.set_speaker(segment, &speaker_id));
            }
            AppCommand::EditSegmentText { job, segment, text } => {
                let mut index = None;
                let edited = self.state.edit_transcript(job, |transcript| {
                    index = transcript.index_of(segment);
                    transcript.edit_text(segment, &text)
                });
                if let (true, Some(index)) = (edited, index) {
                    super::session::trace_change(format_args!("segment {index} edited: {text}"));
                }
            }
            AppCommand::Edit(job, edit) => self.handle_transcript_edit(ctx, job, edit),
            AppCommand::Export {
                job,
                kind,
                destination,
            } => self.export(job, kind, destination),
            AppCommand::ExportAgain => self.export_again(),
            AppCommand::CopyTranscript(job) => self.copy_transcript(ctx, job),
            AppCommand::RefreshModels => self.request(RuntimeRequest::ListModels),
            AppCommand::DownloadModel(name) => self.download_model(name),
            AppCommand::CancelDownload(name) => self.request(RuntimeRequest::CancelDownload(name)),
            AppCommand::ImportModel => self.import_model(),
            AppCommand::RemoveModel(name) => self.request(RuntimeRequest::RemoveModel(name)),
            AppCommand::SelectModel(name) => self.settings.local.model = name,
            AppCommand::ShowModelManager => self.show_model_manager(),
            AppCommand::ShowSettings => self.show_settings(),
            AppCommand::DismissNotification(id) => self.state.dismiss(id),
            AppCommand::ShowKeyEntry(service) => {
                self.windows.focus_key = Some(service);
                self.show_settings();
            }
            AppCommand::RefreshKeys => self.refresh_keys(),
            AppCommand::SaveKey { service, key } => {
                self.state.keys.busy.push(service);
                self.request(RuntimeRequest::SaveKey { service, key });
            }
            AppCommand::RemoveKey(service) => {
                self.state.keys.busy.push(service);
                self.request(RuntimeRequest::RemoveKey(service));
            }
            AppCommand::Recording(command) => self.handle_recording_command(command),
            AppCommand::Project(command) => self.handle_project_command(command),
        }
    }

    /// Takes a file off the list, cancelling it if it runs; a recording is stopped first.
    fn remove_job(&mut self, job: JobId) {
        if self.state.recording.is_recording_job(job) {
            self.state.notify(
                NoticeLevel::Info,
                "stop the recording first; its file stays in the list",
                None,
            );
        } else if self.state.remove(job) == Some(true) {
            self.request(RuntimeRequest::Cancel(job));
        }
    }

    fn cancel_job(&mut self, job: JobId) {
        if self.state.begin_cancel(job) {
            self.request(RuntimeRequest::Cancel(job));
        }
    }

    fn rename_speaker(&mut self, job: JobId, speaker_id: &str, name: &str) {
        if name.trim().is_empty() {
            self.state.notify(
                NoticeLevel::Warning,
                "a speaker needs a name; the old one is kept",
                None,
            );
        } else {
            self.state.edit_transcript(job, |transcript| {
                transcript.rename_speaker(speaker_id, name)
            });
        }
    }

    /// Ctrl+E: the shown transcript to the last export's format and file, or to an SRT file
    /// the user picks the first time.
    fn export_again(&mut self) {
        let Some(job) = self.state.selected else {
            self.state.notify(
                NoticeLevel::Info,
                "open a file first: there is no transcript to export",
                None,
            );
            return;
        };
        match self.settings.export.last.clone() {
            Some(LastExport { kind, path }) => {
                self.export(job, kind, ExportDestination::Path(path))
            }
            None => self.export(job, ExportFormat::Srt, ExportDestination::AskUser),
        }
    }

    fn copy_transcript(&mut self, ctx: &eframe::egui::Context, job: JobId) {
        if let Some(job) = self.state.job(job) {
            let text = super::backend::render_export(
                &job.transcript,
                ExportFormat::Txt,
                &self.settings.export,
            );
            ctx.copy_text(text);
            self.state.notify(
                NoticeLevel::Info,
                format!("Transcript of {} copied", job.name),
                None,
            );
        }
    }

    fn download_model(&mut self, name: String) {
        self.state.models.downloads.insert(
            name.clone(),
            super::state::DownloadState {
                downloaded_bytes: 0,
                total_bytes: None,
            },
        );
        self.request(RuntimeRequest::DownloadModel(name));
    }

    fn import_model(&mut self) {
        self.state.models.importing = true;
        self.request(RuntimeRequest::ImportModel);
    }

    fn show_model_manager(&mut self) {
        self.windows.model_manager = true;
        self.request(RuntimeRequest::ListModels);
    }

    fn show_settings(&mut self) {
        self.windows.settings = true;
        self.refresh_keys();
    }

    fn refresh_keys(&mut self) {
        self.state.keys.requested = true;
        self.request(RuntimeRequest::ListKeys);
    }

    fn export(&mut self, job: JobId, kind: ExportFormat, destination: ExportDestination) {
        let Some(found) = self.state.job(job) else {
            return;
        };
        if found.transcript.segments.is_empty() {
            self.state.notify(
                NoticeLevel::Info,
                format!("{} has no transcript yet; nothing to export", found.name),
                None,
            );
            return;
        }
        let stem = found
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "transcript".into());
        let suggested_dir = self
            .settings
            .export
            .last
            .as_ref()
            .and_then(|last| last.path.parent().map(Path::to_path_buf))
            .or_else(|| found.path.parent().map(Path::to_path_buf));
        let request = ExportRequest {
            job,
            kind,
            transcript: found.transcript.clone(),
            settings: self.settings.export.clone(),
            destination: match destination {
                ExportDestination::AskUser => None,
                ExportDestination::Path(path) => Some(path),
            },
            suggested_dir,
            suggested_name: format!("{stem}.{}", kind.extension()),
            keep_cues: found.project.subtitles.is_some(),
        };
        self.request(RuntimeRequest::Export(Box::new(request)));
    }

    /// An export was written: remember it for Ctrl+E and say where it went.
    pub(crate) fn on_exported(&mut self, kind: ExportFormat, path: PathBuf) {
        self.state.notify(
            NoticeLevel::Info,
            format!("Exported {} to {}", kind.label(), path.display()),
            None,
        );
        self.settings.export.last = Some(LastExport { kind, path });
    }

    /// An export failed: say why, and offer to try again.
    pub(crate) fn on_export_failed(
        &mut self,
        job: JobId,
        kind: ExportFormat,
        path: Option<PathBuf>,
        message: String,
    ) {
        let destination = path
            .map(ExportDestination::Path)
            .unwrap_or(ExportDestination::AskUser);
        let retry = NoticeAction {
            label: "Retry".into(),
            command: AppCommand::Export {
                job,
                kind,
                destination,
            },
        };
        self.state.notify(
            NoticeLevel::Error,
            format!("Export failed: {message}"),
            Some(retry),
        );
    }
}
