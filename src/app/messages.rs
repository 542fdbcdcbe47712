//! The window's vocabulary: the ids and messages that its state, its commands and the
//! background runtime all speak. A leaf module (it uses none of them), so those three depend
//! on it and never on each other for a type.

use super::backend::InstalledModelInfo;
use crate::engine::cloud::keys::KeyStatus;
use crate::engine::cloud::{ApiKey, CloudService};
use crate::export::ExportFormat;
use crate::transcript::SegmentId;
use crate::transcript::review::WordAt;
use crate::transcript::search::{Match, SearchOptions};
use std::path::PathBuf;

/// Identifies one file in the queue for the life of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// How loud a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// A button on a notification ("Retry", "Open model manager"…).
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeAction {
    pub label: String,
    pub command: AppCommand,
}

/// Where an export goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportDestination {
    /// Ask with a save dialog.
    AskUser,
    /// Write this file (replacing it).
    Path(PathBuf),
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    /// Queue files for transcription — from a drop, the open dialog or `verbatim open`.
    /// Folders are expanded to the audio files directly inside them (by the runtime, off the
    /// UI thread); anything that is not an audio or video file is reported and skipped.
    AddFiles(Vec<PathBuf>),
    /// Show the open-files dialog (on the background runtime; the choice comes back as
    /// [`AppCommand::AddFiles`]).
    OpenFileDialog,
    /// Stop a queued or running file. Segments already heard are kept.
    CancelJob(JobId),
    /// Stop whatever is running (Esc).
    CancelRunning,
    /// Run a finished, failed or cancelled file again, from scratch, with the current settings.
    RetryJob(JobId),
    /// Take a file off the list (cancelling it if it is active).
    RemoveJob(JobId),
    /// Show a file's transcript.
    SelectJob(JobId),
    /// Give a speaker a new display name, everywhere and in every export.
    RenameSpeaker {
        job: JobId,
        speaker_id: String,
        name: String,
    },
    /// Give one segment to another speaker (a new id registers a new speaker).
    SetSegmentSpeaker {
        job: JobId,
        segment: SegmentId,
        speaker_id: String,
    },
    /// Replace a segment's text.
    EditSegmentText {
        job: JobId,
        segment: SegmentId,
        text: String,
    },
    /// The transcript edits of the Edit menu and the pane (split, merge, undo, replace,
    /// review, quotes): see [`TranscriptEdit`].
    Edit(JobId, TranscriptEdit),
    /// Write a file's transcript in a format.
    Export {
        job: JobId,
        kind: ExportFormat,
        destination: ExportDestination,
    },
    /// Repeat the last export (same format, same file) for the shown transcript (Ctrl+E).
    ExportAgain,
    /// Put a file's transcript (with speaker names) on the clipboard.
    CopyTranscript(JobId),
    /// Ask the model store what is installed.
    RefreshModels,
    DownloadModel(String),
    CancelDownload(String),
    /// Ask for a faster-whisper model folder and import it.
    ImportModel,
    RemoveModel(String),
    /// Use this installed model for the next files.
    SelectModel(String),
    /// Show the model manager window.
    ShowModelManager,
    /// Show the settings window.
    ShowSettings,
    /// Close a notification.
    DismissNotification(u64),
    /// Ask where each cloud service's key comes from.
    RefreshKeys,
    /// Open Settings at a cloud service's key field, ready to paste.
    ShowKeyEntry(CloudService),
    /// Keep a cloud service's key in the keyring (or the private key file). The window
    /// forgets the typed text as soon as this is sent.
    SaveKey {
        service: CloudService,
        key: ApiKey,
    },
    /// Forget a cloud service's stored key.
    RemoveKey(CloudService),
    /// Record, pause, stop, choose the input; open or transcribe a recovered recording.
    Recording(RecordingCommand),
    /// Projects, subtitles opened for review, and re-timing their cues.
    Project(ProjectCommand),
}

/// What the user asks of projects and of subtitles opened for review.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectCommand {
    /// Save a file's transcript as a project: to `Path`, or asking where (Save as…). Ctrl+S
    /// saves to the file's project, asking the first time.
    Save {
        job: JobId,
        destination: ExportDestination,
    },
    /// Open a project file (File ▸ Open, Open recent, `verbatim open NAME.verbatim.json`).
    Open(PathBuf),
    /// A project whose audio moved: open it with this file (`Some`, checked by fingerprint)
    /// or with the text only (`None`).
    Relocate {
        project: PathBuf,
        audio: Option<PathBuf>,
    },
    /// Ask with a dialog where a project's audio is now.
    ChooseAudio {
        project: PathBuf,
        expected: PathBuf,
    },
    /// Open an SRT or WebVTT file to review with its audio (`None`: the audio beside it with
    /// the same name, else ask).
    OpenSubtitles {
        subtitles: PathBuf,
        audio: Option<PathBuf>,
    },
    /// Take a project off the recent list.
    ForgetRecent(PathBuf),
    /// Move the start or end of one segment (a cue) by `delta_s` seconds.
    NudgeCue {
        job: JobId,
        segment_index: usize,
        edge: crate::transcript::nudge::SegmentEdge,
        delta_s: f64,
    },
    /// Move every segment of a file by `offset_s` seconds.
    ShiftCues {
        job: JobId,
        offset_s: f64,
    },
}

/// What the user asks of the recording panel.
/// An edit of one file's transcript beyond a text or speaker change. Segments are named by
/// their stable id, so an edit lands on the segment the user saw even when a live engine
/// appended or revised segments meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptEdit {
    /// Split a segment at a character of its text.
    Split { segment: SegmentId, at_char: usize },
    /// Join a segment with the next one.
    MergeWithNext(SegmentId),
    Undo,
    Redo,
    /// Replace one match of the search.
    ReplaceOne { found: Match, replacement: String },
    /// Replace every match of `query` (one undo step); the count is reported.
    ReplaceAll { query: String, replacement: String, options: SearchOptions },
    /// Accept an uncertain word as it is.
    AcceptWord(WordAt),
    /// Select the next uncertain word after the current one and ask the player to play it.
    NextUncertainWord,
    /// Copy the selected rows (or this segment when none is selected) as a quote.
    CopyQuote(Option<SegmentId>),
}

impl TranscriptEdit {
    /// Whether it may change the transcript (and so the saved session); moving to a word and
    /// copying do not.
    pub fn changes_transcript(&self) -> bool {
        !matches!(self, TranscriptEdit::NextUncertainWord | TranscriptEdit::CopyQuote(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordingCommand {
    /// Start recording with the panel's choices (Record, Ctrl+R).
    Start,
    Pause,
    Resume,
    /// Stop: the file is finished and becomes an ordinary file in the queue.
    Stop,
    /// Ask the system for its input devices (again).
    RefreshDevices,
    /// Record from this device from now on (`None`: the system's default); remembered.
    ChooseDevice(Option<String>),
    /// A recovered recording: show it in the list, without transcribing it.
    Open(PathBuf),
    /// A recovered recording: transcribe it with the current engine.
    Transcribe(PathBuf),
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Done,
    Cancelled,
    Failed { reason: String },
}

/// The model directory and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelsSnapshot {
    pub dir: PathBuf,
    pub installed: Vec<InstalledModelInfo>,
}

/// Where the cloud keys are, for the window.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysSnapshot {
    /// One per service, in [`CloudService::ALL`] order.
    pub statuses: Vec<KeyStatus>,
    /// Why no system keyring is used (keys then go to the private key file).
    pub keyring_unavailable_reason: Option<String>,
}
