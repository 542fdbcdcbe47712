//! The runtime's side of projects and imported subtitles: the dialogs (save as, where is the
//! audio, which audio goes with these subtitles), reading and writing project files and
//! fingerprinting audio — all off the UI thread, each answered by one [`BackgroundEvent`].

use super::{BackgroundEvent, DIALOG_MISSING_WITHIN, Outbox};
use crate::app::messages::JobId;
use crate::app::project::{self, AudioCheck, LoadedProject, ProjectFile};
use crate::transcript::Transcript;
use std::path::PathBuf;

/// A project to write.
#[derive(Debug, Clone)]
pub struct ProjectSaveRequest {
    pub job: JobId,
    /// The project, its audio fingerprint filled in here when `None` and the audio is there.
    pub project: ProjectFile,
    /// Its transcript, rendered into `project` here rather than on the UI thread.
    pub transcript: crate::transcript::Transcript,
    /// Where to write; `None` asks with a save dialog.
    pub destination: Option<PathBuf>,
    pub suggested_dir: Option<PathBuf>,
    pub suggested_name: String,
}

/// Which audio a project is opened with.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectAudioChoice {
    /// The file the project names.
    AsSaved,
    /// A file the user chose instead (checked by fingerprint).
    Chosen(PathBuf),
    /// None: the text only.
    Without,
}

/// A project read and its audio found (or left out at the user's word).
#[derive(Debug, Clone)]
pub struct OpenedProject {
    pub project_path: PathBuf,
    pub loaded: LoadedProject,
    /// The audio to attach: the saved path, or where the user found it.
    pub audio: PathBuf,
    pub audio_missing: bool,
}

/// Subtitles read, with the audio they go with.
#[derive(Debug, Clone)]
pub struct OpenedSubtitles {
    pub subtitles: PathBuf,
    /// `None`: no audio was found or chosen; the cues are opened without it.
    pub audio: Option<PathBuf>,
    pub transcript: Transcript,
}

/// What went wrong with a project's audio.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectAudioProblem {
    pub project: PathBuf,
    /// The file that was looked at (the saved path, or the one chosen).
    pub audio: PathBuf,
    /// [`AudioCheck::Missing`] or [`AudioCheck::Different`].
    pub check: AudioCheck,
}

/// Writes a project (asking where first, when no destination is given).
pub(super) async fn save_project(request: ProjectSaveRequest, outbox: Outbox) {
    let ProjectSaveRequest { job, project, transcript, destination, suggested_dir, suggested_name } = request;
    let path = match destination {
        Some(path) => path,
        None => {
            let mut dialog = rfd::AsyncFileDialog::new()
                .set_title("Save project")
                .set_file_name(suggested_name)
                .add_filter("Verbatim project", &["json"]);
            if let Some(dir) = &suggested_dir {
                dialog = dialog.set_directory(dir);
            }
            let asked = std::time::Instant::now();
            match dialog.save_file().await {
                Some(file) => file.path().to_path_buf(),
                None => {
                    if asked.elapsed() < DIALOG_MISSING_WITHIN {
                        let message = "no file dialog is available on this system to choose where the project goes".to_string();
                        outbox.send(BackgroundEvent::ProjectSaveFailed { job, message });
                    }
                    return;
                }
            }
        }
    };
    let target = path.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let mut project = project.with_transcript(&transcript)?;
        if project.audio.fingerprint.is_none() {
            project.audio.fingerprint = project::Fingerprint::of_file(&project.audio.path).ok();
        }
        project::save_project(&target, &project).map(|()| project.audio.fingerprint)
    })
    .await
    .unwrap_or_else(|_| Err("saving the project crashed; the transcript is still in the window".into()));
    outbox.send(match saved {
        Ok(fingerprint) => BackgroundEvent::ProjectSaved { job, path, fingerprint },
        Err(message) => BackgroundEvent::ProjectSaveFailed { job, message },
    });
}

/// Reads a project and checks its audio; a missing or different audio is reported, so the
/// window can ask for the right one.
pub(super) async fn open_project(project_path: PathBuf, choice: ProjectAudioChoice, outbox: Outbox) {
    let read = tokio::task::spawn_blocking(move || read_project(project_path, choice))
        .await
        .unwrap_or_else(|_| Err("reading the project crashed".into()));
    outbox.send(match read {
        Ok(Ok(opened)) => BackgroundEvent::ProjectOpened(Box::new(opened)),
        Ok(Err(problem)) => BackgroundEvent::ProjectAudioProblem(problem),
        Err(message) => BackgroundEvent::ProjectOpenFailed(message),
    });
}

/// The blocking part of [`open_project`].
fn read_project(project_path: PathBuf, choice: ProjectAudioChoice) -> Result<Result<OpenedProject, ProjectAudioProblem>, String> {
    let loaded = project::load_project(&project_path)?;
    let saved_audio = loaded.file.audio.path.clone();
    let (audio, audio_missing) = match choice {
        ProjectAudioChoice::Without => (saved_audio, true),
        ProjectAudioChoice::AsSaved | ProjectAudioChoice::Chosen(_) => {
            let audio = match choice {
                ProjectAudioChoice::Chosen(chosen) => chosen,
                _ => saved_audio,
            };
            match project::check_audio(&audio, loaded.file.audio.fingerprint.as_ref()) {
                AudioCheck::Matches => (audio, false),
                check => return Ok(Err(ProjectAudioProblem { project: project_path, audio, check })),
            }
        }
    };
    Ok(Ok(OpenedProject { project_path, loaded, audio, audio_missing }))
}

/// Asks where a project's audio is now, then opens the project with the file chosen; a
/// cancelled dialog reports the audio missing again (the notice offers the text only).
pub(super) async fn choose_project_audio(project_path: PathBuf, expected: PathBuf, outbox: Outbox) {
    let name = crate::app::state::display_name(&expected);
    let mut dialog = rfd::AsyncFileDialog::new()
        .set_title(format!("Where is {name}?"))
        .add_filter("Audio and video", crate::audio::discover::AUDIO_EXTENSIONS)
        .add_filter("All files", &["*"]);
    if let Some(dir) = expected.parent().filter(|dir| dir.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    if let Some(file) = dialog.pick_file().await {
        let choice = ProjectAudioChoice::Chosen(file.path().to_path_buf());
        open_project(project_path, choice, outbox).await;
    }
}

/// Finds which of the recent projects `paths` are no longer files, off the UI thread.
pub(super) async fn check_recent(paths: Vec<PathBuf>, outbox: Outbox) {
    let missing = tokio::task::spawn_blocking(move || paths.into_iter().filter(|path| !path.is_file()).collect())
        .await
        .unwrap_or_default();
    outbox.send(BackgroundEvent::RecentProjectsChecked(missing));
}

/// Imports an SRT or WebVTT file; without an audio given, takes the one beside it with the
/// same name, else asks for it (a cancelled dialog opens the cues without audio).
pub(super) async fn open_subtitles(subtitles: PathBuf, audio: Option<PathBuf>, outbox: Outbox) {
    let path = subtitles.clone();
    let read = tokio::task::spawn_blocking(move || {
        let transcript = crate::export::import_subtitle_file(&path)
            .map_err(|error| format!("cannot open {} as subtitles: {error}", path.display()))?;
        Ok::<_, String>((transcript, audio.or_else(|| project::audio_beside(&path))))
    })
    .await
    .unwrap_or_else(|_| Err("reading the subtitles crashed".into()));
    let (transcript, audio) = match read {
        Ok(read) => read,
        Err(message) => {
            outbox.send(BackgroundEvent::SubtitlesOpenFailed(message));
            return;
        }
    };
    let audio = match audio {
        Some(audio) => Some(audio),
        None => {
            let name = crate::app::state::display_name(&subtitles);
            let mut dialog = rfd::AsyncFileDialog::new()
                .set_title(format!("Which audio goes with {name}?"))
                .add_filter("Audio and video", crate::audio::discover::AUDIO_EXTENSIONS);
            if let Some(dir) = subtitles.parent() {
                dialog = dialog.set_directory(dir);
            }
            dialog.pick_file().await.map(|file| file.path().to_path_buf())
        }
    };
    outbox.send(BackgroundEvent::SubtitlesOpened(Box::new(OpenedSubtitles { subtitles, audio, transcript })));
}
