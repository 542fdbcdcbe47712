//! What the window does for projects and subtitles opened for review: sorting opened paths
//! into audio, projects and subtitles, saving (Ctrl+S, Save as…), opening with the audio
//! checked, the recent list, re-timing cues — and what it does with the runtime's answers.
//! The slow part of each (dialogs, files, fingerprints) is a request to the runtime.

use super::VerbatimApp;
use super::commands::AppCommand;
use super::messages::{ExportDestination, JobId, NoticeAction, NoticeLevel, ProjectCommand};
use super::project::{self, AudioCheck, JobProject, ProjectAudio, ProjectFile, ProjectSettings};
use super::runtime::project::{OpenedProject, OpenedSubtitles, ProjectAudioChoice, ProjectAudioProblem, ProjectSaveRequest};
use super::runtime::{BackgroundEvent, RuntimeRequest};
use super::state::{JobStatus, count_words, display_name};
use crate::transcript::Transcript;
use crate::transcript::nudge;
use std::path::{Path, PathBuf};

impl VerbatimApp {
    /// Opens dropped, chosen or given paths: projects and subtitle files by their names, the
    /// rest as audio to transcribe.
    pub(crate) fn open_paths(&mut self, paths: Vec<PathBuf>) {
        let mut audio = Vec::new();
        for path in paths {
            if project::is_project_path(&path) {
                self.request(RuntimeRequest::OpenProject { project: path, audio: ProjectAudioChoice::AsSaved });
            } else if project::is_subtitle_path(&path) {
                self.request(RuntimeRequest::OpenSubtitles { subtitles: path, audio: None });
            } else {
                audio.push(path);
            }
        }
        if !audio.is_empty() {
            self.request(RuntimeRequest::ListAudio(audio));
        }
    }

    pub(crate) fn handle_project_command(&mut self, command: ProjectCommand) {
        match command {
            ProjectCommand::Save { job, destination } => self.save_project(job, destination),
            ProjectCommand::Open(path) => {
                self.request(RuntimeRequest::OpenProject { project: path, audio: ProjectAudioChoice::AsSaved })
            }
            ProjectCommand::Relocate { project, audio } => {
                let audio = audio.map_or(ProjectAudioChoice::Without, ProjectAudioChoice::Chosen);
                self.request(RuntimeRequest::OpenProject { project, audio });
            }
            ProjectCommand::ChooseAudio { project, expected } => {
                self.request(RuntimeRequest::ChooseProjectAudio { project, expected })
            }
            ProjectCommand::OpenSubtitles { subtitles, audio } => {
                self.request(RuntimeRequest::OpenSubtitles { subtitles, audio })
            }
            ProjectCommand::ForgetRecent(path) => self.settings.recent_projects.retain(|known| *known != path),
            ProjectCommand::NudgeCue { job, segment_index, edge, delta_s } => {
                self.state.edit_transcript(job, |transcript| {
                    nudge::nudge_segment(transcript, segment_index, edge, delta_s)
                });
            }
            ProjectCommand::ShiftCues { job, offset_s } => {
                self.state.edit_transcript(job, |transcript| nudge::shift_all(transcript, offset_s));
            }
        }
    }

    /// The job as a project file (its transcript and audio fingerprint filled in by the runtime).
    fn project_of(&self, job: JobId) -> Option<ProjectFile> {
        let job = self.state.job(job)?;
        let audio = ProjectAudio { path: job.path.clone(), fingerprint: job.project.fingerprint.clone() };
        let mut file = ProjectFile::new(audio);
        file.engine = job.engine_name.clone();
        file.settings = job.project.settings.clone().unwrap_or_else(|| ProjectSettings {
            engine_id: self.settings.engine.id().to_string(),
            local: self.settings.local.clone(),
            options: self.transcribe_options(),
        });
        file.playback_position_s = job.playback_position_s;
        file.subtitles = job.project.subtitles.clone();
        Some(file)
    }

    /// Saves `job` as a project: Ctrl+S goes to its project file (asking the first time).
    fn save_project(&mut self, job: JobId, destination: ExportDestination) {
        let Some(found) = self.state.job(job) else { return };
        if found.status.is_active() {
            let message = format!("{} is still being transcribed; save the project once it is done", found.name);
            self.state.notify(NoticeLevel::Info, message, None);
            return;
        }
        let suggested_dir = found.project.path.as_ref().or(Some(&found.path)).and_then(|path| path.parent()).map(Path::to_path_buf);
        let suggested_name = project::suggested_project_name(&found.path);
        let destination = match destination {
            ExportDestination::Path(path) => Some(path),
            ExportDestination::AskUser => None,
        };
        if let Some(project) = self.project_of(job) {
            let transcript = found.transcript.clone();
            let request = ProjectSaveRequest { job, project, transcript, destination, suggested_dir, suggested_name };
            self.request(RuntimeRequest::SaveProject(Box::new(request)));
        }
    }

    /// The runtime's answers about projects and subtitles.
    pub(crate) fn on_project_event(&mut self, event: BackgroundEvent) {
        match event {
            BackgroundEvent::ProjectSaved { job, path, fingerprint } => {
                if let Some(found) = self.state.job_mut(job) {
                    found.project.path = Some(path.clone());
                    found.project.fingerprint = fingerprint;
                }
                project::remember_recent(&mut self.settings.recent_projects, &path);
                self.state.notify(NoticeLevel::Info, format!("Saved project {}", path.display()), None);
            }
            BackgroundEvent::ProjectSaveFailed { job, message } => {
                let retry = NoticeAction {
                    label: "Save as…".into(),
                    command: AppCommand::Project(ProjectCommand::Save { job, destination: ExportDestination::AskUser }),
                };
                self.state.notify(NoticeLevel::Error, format!("Project not saved: {message}"), Some(retry));
            }
            BackgroundEvent::ProjectOpened(opened) => self.on_project_opened(*opened),
            BackgroundEvent::ProjectAudioProblem(problem) => self.on_project_audio_problem(problem),
            BackgroundEvent::ProjectOpenFailed(message) | BackgroundEvent::SubtitlesOpenFailed(message) => {
                self.state.notify(NoticeLevel::Error, message, None)
            }
            BackgroundEvent::SubtitlesOpened(opened) => self.on_subtitles_opened(*opened),
            _ => {}
        }
    }

    /// Adds a finished job that is not transcribed (a project or subtitles) and shows it.
    fn add_reviewed_job(&mut self, path: PathBuf, transcript: Transcript, project: JobProject) -> JobId {
        let id = self.state.reserve_job_id();
        self.state.insert_job(id, path, JobStatus::Done);
        if let Some(job) = self.state.job_mut(id) {
            job.word_count = transcript.segments.iter().map(|segment| count_words(&segment.text)).sum();
            job.transcript = transcript;
            job.progress = Some(1.0);
            job.project = project;
        }
        self.state.select(id, true);
        self.session.urgent = true;
        id
    }

    fn on_project_opened(&mut self, opened: OpenedProject) {
        let OpenedProject { project_path, loaded, audio, audio_missing } = opened;
        if let Some(open) = self.state.jobs.iter().find(|job| job.project.path.as_deref() == Some(&project_path)) {
            let id = open.id;
            self.state.select(id, true);
            self.state.notify(NoticeLevel::Info, format!("{} is open already", display_name(&project_path)), None);
            return;
        }
        let file = loaded.file;
        let project = JobProject {
            path: Some(project_path.clone()),
            subtitles: file.subtitles,
            settings: Some(file.settings),
            fingerprint: file.audio.fingerprint,
            audio_missing,
        };
        let id = self.add_reviewed_job(audio, loaded.transcript, project);
        if let Some(job) = self.state.job_mut(id) {
            job.engine_name = file.engine;
            job.playback_position_s = file.playback_position_s.max(0.0);
        }
        // The notices about finding its audio have done their job.
        let offered = |command: &AppCommand| matches!(command, AppCommand::Project(ProjectCommand::Relocate { project, .. }) if *project == project_path);
        self.state.notifications.retain(|notice| !notice.actions.iter().any(|action| offered(&action.command)));
        project::remember_recent(&mut self.settings.recent_projects, &project_path);
    }

    /// The audio moved (ask where it is) or the file chosen is another recording (say so).
    fn on_project_audio_problem(&mut self, problem: ProjectAudioProblem) {
        let ProjectAudioProblem { project, audio, check } = problem;
        let name = display_name(&project);
        let expected = audio.clone();
        let message = match check {
            AudioCheck::Different => format!(
                "{} is not the recording {name} was made from (its size or content differs); choose the right file, or open the text without audio",
                audio.display()
            ),
            _ => format!("The audio of {name} is no longer at {}; choose where it is now, or open the text without audio", audio.display()),
        };
        let actions = vec![
            NoticeAction {
                label: "Choose audio…".into(),
                command: AppCommand::Project(ProjectCommand::ChooseAudio { project: project.clone(), expected: expected.clone() }),
            },
            NoticeAction {
                label: "Open text only".into(),
                command: AppCommand::Project(ProjectCommand::Relocate { project: project.clone(), audio: None }),
            },
        ];
        self.state.notify_with(NoticeLevel::Warning, message, actions, true);
        if check == AudioCheck::Missing {
            self.request(RuntimeRequest::ChooseProjectAudio { project, expected });
        }
    }

    fn on_subtitles_opened(&mut self, opened: OpenedSubtitles) {
        let OpenedSubtitles { subtitles, audio, transcript } = opened;
        if transcript.segments.is_empty() {
            let message = format!("{} has no cues with text; nothing to review", subtitles.display());
            self.state.notify(NoticeLevel::Warning, message, None);
            return;
        }
        let project = JobProject {
            subtitles: Some(subtitles.clone()),
            audio_missing: audio.is_none(),
            ..JobProject::default()
        };
        let path = audio.unwrap_or_else(|| subtitles.clone());
        let id = self.add_reviewed_job(path, transcript, project);
        if let Some(job) = self.state.job_mut(id) {
            job.engine_name = Some(format!("subtitles · {}", display_name(&subtitles)));
        }
    }
}
