//! What the window shows, as plain data: the queue of jobs (one per file) with their status
//! and transcript, the model list, and the notifications. No egui and no I/O here: the
//! background runtime's events change it, commands change it, and the `ui` modules only read
//! it, so every rule (what a cancel does, what a retry resets) is testable without a window.

pub use super::messages::{JobId, NoticeAction, NoticeLevel};
use super::messages::{AppCommand, JobOutcome, KeysSnapshot, ModelsSnapshot};
use super::session::{RestoredJob, SavedJob, SavedStatus, SessionSnapshot};
use crate::engine::cloud::CloudService;
use crate::engine::cloud::keys::KeyStatus;
use crate::events::EngineEvent;
use crate::transcript::Transcript;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStatus {
    /// Waiting for the jobs before it.
    Queued,
    /// The engine is working on it.
    Running,
    /// Cancel was asked for; the engine has not stopped yet.
    Cancelling,
    Done,
    Failed {
        reason: String,
    },
    Cancelled,
    /// Verbatim was closed before the file was finished (restored from the last session).
    Interrupted,
    /// The microphone is being recorded into this file; live text, if any, arrives as it is
    /// spoken. The recording panel stops it; the file queue does not run it.
    Recording,
    /// Recorded and complete, but without a full transcript: live transcription was not
    /// asked for or stopped early, or the file was recovered after a crash. Transcribe
    /// (Retry) runs it.
    Recorded,
}

impl JobStatus {
    /// Queued, running, cancelling or recording: the runtime still owns it.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            JobStatus::Queued | JobStatus::Running | JobStatus::Cancelling | JobStatus::Recording
        )
    }

    pub fn is_running(&self) -> bool {
        matches!(self, JobStatus::Running | JobStatus::Cancelling)
    }

    /// Short word for the queue panel.
    pub fn label(&self) -> &'static str {
        match self {
            JobStatus::Queued => "Queued",
            JobStatus::Running => "Running",
            JobStatus::Cancelling => "Cancelling…",
            JobStatus::Done => "Done",
            JobStatus::Failed { .. } => "Failed",
            JobStatus::Cancelled => "Cancelled",
            JobStatus::Interrupted => "Interrupted",
            JobStatus::Recording => "Recording…",
            JobStatus::Recorded => "Recorded",
        }
    }
}

/// One file and what became of it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub path: PathBuf,
    /// The file name, for display.
    pub name: String,
    pub status: JobStatus,
    pub transcript: Transcript,
    /// Bumped whenever the transcript is replaced wholesale (retry), so views can drop caches.
    pub generation: u64,
    /// Bumped on every change to the transcript (new segment, edit, rename…), so a view can
    /// tell cheaply whether anything changed.
    pub revision: u64,
    /// 0–1, when the engine reports a total.
    pub progress: Option<f64>,
    /// Seconds of audio done.
    pub done_s: f64,
    pub started_at: Option<Instant>,
    /// How long the run took, once it ended.
    pub run_time: Option<Duration>,
    /// Warnings the engine sent (each also shown once as a notification).
    pub warnings: Vec<String>,
    /// The engine that ran it ("local"…).
    pub engine_name: Option<String>,
    /// Words in the transcript, kept up to date as segments arrive (the status bar shows it
    /// every frame, and counting 10 000 segments each frame would cost milliseconds).
    pub word_count: usize,
    /// Names the job in the saved session; kept across restarts.
    pub session_key: String,
    /// The player's position in this file (seconds), remembered per job and saved in its project.
    pub playback_position_s: f64,
    /// Its project file, subtitle source and saved settings (see `project.rs`).
    pub project: super::project::JobProject,
}

impl Job {
    fn new(id: JobId, path: PathBuf, session_key: String) -> Job {
        let name = display_name(&path);
        Job {
            id,
            path,
            name,
            status: JobStatus::Queued,
            transcript: Transcript::new(),
            generation: 0,
            revision: 0,
            progress: None,
            done_s: 0.0,
            started_at: None,
            run_time: None,
            warnings: Vec::new(),
            engine_name: None,
            word_count: 0,
            session_key,
            playback_position_s: 0.0,
            project: super::project::JobProject::default(),
        }
    }

    /// Time spent so far (running) or in total (ended).
    pub fn elapsed(&self, now: Instant) -> Option<Duration> {
        self.run_time.or_else(|| {
            self.started_at
                .map(|started| now.saturating_duration_since(started))
        })
    }

    fn reset_for_retry(&mut self) {
        self.status = JobStatus::Queued;
        self.transcript = Transcript::new();
        self.generation += 1;
        self.revision += 1;
        self.progress = None;
        self.done_s = 0.0;
        self.started_at = None;
        self.run_time = None;
        self.warnings.clear();
        self.word_count = 0;
        // Transcribed afresh: its text no longer comes from the subtitle file, nor from the
        // settings a project was saved with (the next save takes the ones used now).
        self.project.subtitles = None;
        self.project.settings = None;
    }
}

/// Words in a piece of text.
pub fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Words in a whole transcript.
fn transcript_word_count(transcript: &Transcript) -> usize {
    transcript
        .segments
        .iter()
        .map(|segment| count_words(&segment.text))
        .sum()
}

/// The file name of a path, or the whole path if it has none.
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A non-modal message in the corner of the window.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: u64,
    pub level: NoticeLevel,
    pub message: String,
    /// Its buttons besides Dismiss, first drawn nearest to it.
    pub actions: Vec<NoticeAction>,
    /// Stays until dismissed or acted on, whatever its level (a recovered recording).
    pub sticky: bool,
    pub created_at: Instant,
}

impl Notification {
    /// How long it stays: errors (and sticky notices) stay until dismissed, so none is missed.
    pub fn lifetime(&self) -> Option<Duration> {
        match self.level {
            _ if self.sticky => None,
            NoticeLevel::Info => Some(Duration::from_secs(5)),
            NoticeLevel::Warning => Some(Duration::from_secs(10)),
            NoticeLevel::Error => None,
        }
    }

    /// Whether one of its buttons sends `command`.
    pub fn offers(&self, command: &AppCommand) -> bool {
        self.actions.iter().any(|action| action.command == *command)
    }
}

/// A model download in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownloadState {
    pub downloaded_bytes: u64,
    pub total_bytes: Option<u64>,
}

impl DownloadState {
    pub fn fraction(&self) -> Option<f32> {
        self.total_bytes
            .filter(|&total| total > 0)
            .map(|total| (self.downloaded_bytes as f64 / total as f64).clamp(0.0, 1.0) as f32)
    }
}

/// What the window knows about models.
#[derive(Debug, Clone, Default)]
pub struct ModelsState {
    /// The last listing from the model store (`None` until the first arrives).
    pub snapshot: Option<ModelsSnapshot>,
    /// Why the last listing failed.
    pub error: Option<String>,
    pub downloads: BTreeMap<String, DownloadState>,
    /// An import is running.
    pub importing: bool,
}

impl ModelsState {
    /// Installed model names, sorted.
    pub fn installed_names(&self) -> Vec<String> {
        self.snapshot
            .as_ref()
            .map(|snapshot| {
                snapshot
                    .installed
                    .iter()
                    .map(|model| model.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_installed(&self, name: &str) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|snapshot| snapshot.installed.iter().any(|model| model.name == name))
    }
}

/// What the window knows about the cloud services' keys: where each comes from, never the
/// key itself.
#[derive(Debug, Clone, Default)]
pub struct KeysState {
    /// The last listing (`None` until the first arrives).
    pub snapshot: Option<KeysSnapshot>,
    /// Why the last listing failed.
    pub error: Option<String>,
    /// A listing was asked for, so the window asks once and not every frame.
    pub requested: bool,
    /// Services whose key is being saved or removed.
    pub busy: Vec<CloudService>,
}

impl KeysState {
    pub fn status(&self, service: CloudService) -> Option<&KeyStatus> {
        self.snapshot
            .as_ref()
            .and_then(|snapshot| snapshot.statuses.iter().find(|status| status.service == service))
    }

    /// Whether `service` has a key to use, once that is known.
    pub fn has_key(&self, service: CloudService) -> Option<bool> {
        self.status(service).map(|status| status.active.is_some())
    }
}

/// Everything the window shows.
#[derive(Debug, Default)]
pub struct AppState {
    /// Every file, in the order added (which is the order they run in).
    pub jobs: Vec<Job>,
    /// The job whose transcript is shown.
    pub selected: Option<JobId>,
    /// The user picked the selected job themselves; don't move the selection to the next job
    /// that starts.
    pub selection_pinned: bool,
    pub models: ModelsState,
    pub keys: KeysState,
    /// The recording panel: devices, choices, and the recording the runtime is making.
    pub recording: super::recording::RecordingView,
    pub notifications: Vec<Notification>,
    /// A time (seconds) the player should seek to and play from, set by "next uncertain
    /// word"; the player takes it (`take()`) when it handles it.
    pub seek_request: Option<f64>,
    next_job_id: u64,
    next_notification_id: u64,
    /// Starts every new job's session key, unique to this run of the window.
    session_prefix: String,
}

impl AppState {
    pub fn new() -> AppState {
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_millis())
            .unwrap_or_default();
        AppState {
            session_prefix: format!("{started_ms:x}-{:x}", std::process::id()),
            ..AppState::default()
        }
    }

    /// Adds a queued job for `path` and returns its id.
    pub fn add_job(&mut self, path: PathBuf) -> JobId {
        let id = self.reserve_job_id();
        self.insert_job(id, path, JobStatus::Queued);
        id
    }

    /// An id for a job added later with [`AppState::insert_job`] (a recording: its file is
    /// named by the runtime, and its events carry the id from the start).
    pub fn reserve_job_id(&mut self) -> JobId {
        self.next_job_id += 1;
        JobId(self.next_job_id)
    }

    /// Adds the job `id` (from [`AppState::reserve_job_id`]) for `path` with `status`.
    pub fn insert_job(&mut self, id: JobId, path: PathBuf, status: JobStatus) {
        let key = format!("{}-{}", self.session_prefix, id.0);
        let mut job = Job::new(id, path, key);
        job.status = status;
        self.jobs.push(job);
        if self.selected.is_none() {
            self.selected = Some(id);
            self.selection_pinned = false;
        }
    }

    /// The job of `path`, if the list has one.
    pub fn job_for_path(&self, path: &Path) -> Option<&Job> {
        self.jobs.iter().find(|job| job.path == path)
    }

    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.iter().find(|job| job.id == id)
    }

    pub fn job_mut(&mut self, id: JobId) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|job| job.id == id)
    }

    pub fn selected_job(&self) -> Option<&Job> {
        self.selected.and_then(|id| self.job(id))
    }

    /// The job the engine is working on, if any.
    pub fn running_job(&self) -> Option<&Job> {
        self.jobs.iter().find(|job| job.status.is_running())
    }

    /// Shows `id`'s transcript; a user's choice sticks until they pick the running job again.
    pub fn select(&mut self, id: JobId, by_user: bool) {
        if self.job(id).is_some() {
            self.selected = Some(id);
            if by_user {
                self.selection_pinned = !self.job(id).is_some_and(|job| job.status.is_active());
            }
        }
    }

    /// The runtime started `id`.
    pub fn on_job_started(&mut self, id: JobId, engine_name: String, now: Instant) {
        let Some(job) = self.job_mut(id) else { return };
        if job.status != JobStatus::Queued {
            return;
        }
        job.status = JobStatus::Running;
        job.started_at = Some(now);
        job.engine_name = Some(engine_name);
        let follow = match self.selected_job() {
            None => true,
            Some(selected) => {
                !self.selection_pinned
                    && !selected.status.is_running()
                    && selected.status != JobStatus::Recording
            }
        };
        if follow {
            self.selected = Some(id);
        }
    }

    /// One engine event for `id`. Events for removed jobs are dropped.
    pub fn on_engine_event(&mut self, id: JobId, event: &EngineEvent) {
        let mut warning = None;
        {
            let Some(job) = self.job_mut(id) else { return };
            job.transcript.apply(event);
            match event {
                EngineEvent::Segment(segment) => {
                    job.revision += 1;
                    job.word_count = match segment.revision_key {
                        // It may have replaced an earlier version: count again.
                        Some(_) => transcript_word_count(&job.transcript),
                        None => job.word_count + count_words(&segment.text),
                    };
                }
                EngineEvent::Hypothesis(_) => job.revision += 1,
                EngineEvent::Progress { done_s, .. } => {
                    job.done_s = *done_s;
                    if let Some(fraction) = event.progress_fraction() {
                        job.progress = Some(fraction);
                    }
                }
                EngineEvent::Done { .. } => {
                    job.progress = Some(1.0);
                    job.revision += 1;
                }
                EngineEvent::Warning { message } => {
                    if !job.warnings.contains(message) {
                        job.warnings.push(message.clone());
                        warning = Some(format!("{}: {message}", job.name));
                    }
                }
                // The reason arrives again with the job's outcome, which is where it is shown.
                EngineEvent::Error { .. } => {}
                // Live status only: nothing in the job changes.
                EngineEvent::Lag { .. } => {}
            }
        }
        if let Some(message) = warning {
            self.notify(NoticeLevel::Warning, message, None);
        }
    }

    /// The runtime finished `id` (after its last engine event).
    pub fn on_job_finished(&mut self, id: JobId, outcome: JobOutcome, now: Instant) {
        let Some(job) = self.job_mut(id) else { return };
        job.run_time = job
            .started_at
            .map(|started| now.saturating_duration_since(started));
        job.transcript.hypothesis = None;
        job.revision += 1;
        let failure = match outcome {
            JobOutcome::Done => {
                job.status = JobStatus::Done;
                None
            }
            JobOutcome::Cancelled => {
                job.status = JobStatus::Cancelled;
                None
            }
            JobOutcome::Failed { reason } => {
                job.status = JobStatus::Failed {
                    reason: reason.clone(),
                };
                Some(format!("{} failed: {reason}", job.name))
            }
        };
        if let Some(message) = failure {
            self.notify(
                NoticeLevel::Error,
                message,
                Some(NoticeAction {
                    label: "Retry".into(),
                    command: AppCommand::RetryJob(id),
                }),
            );
        }
    }

    /// Puts the files of the last session back, before any added since, with their
    /// transcripts; what was still running comes back as interrupted. Returns the jobs it
    /// added.
    pub fn restore(&mut self, restored: Vec<RestoredJob>) -> Vec<JobId> {
        let mut problems = Vec::new();
        let mut jobs = Vec::with_capacity(restored.len());
        for RestoredJob {
            saved,
            transcript,
            problem,
        } in restored
        {
            if self.jobs.iter().any(|job| job.session_key == saved.key) {
                continue;
            }
            self.next_job_id += 1;
            let mut job = Job::new(JobId(self.next_job_id), saved.path, saved.key);
            job.status = match saved.status {
                SavedStatus::Done => JobStatus::Done,
                SavedStatus::Failed { reason } => JobStatus::Failed { reason },
                SavedStatus::Cancelled => JobStatus::Cancelled,
                SavedStatus::Interrupted => JobStatus::Interrupted,
                SavedStatus::Recorded => JobStatus::Recorded,
            };
            job.word_count = transcript_word_count(&transcript);
            job.progress = (job.status == JobStatus::Done).then_some(1.0);
            job.transcript = transcript;
            job.engine_name = saved.engine;
            job.warnings = saved.warnings;
            job.project = saved.project;
            job.playback_position_s = saved.playback_position_s;
            if let Some(problem) = problem {
                problems.push(format!("{}: {problem}", job.name));
            }
            jobs.push(job);
        }
        let ids: Vec<JobId> = jobs.iter().map(|job| job.id).collect();
        self.jobs.splice(0..0, jobs);
        if self.selected.is_none() {
            self.selected = ids.first().copied();
            self.selection_pinned = false;
        }
        for problem in problems {
            self.notify(NoticeLevel::Warning, problem, None);
        }
        ids
    }

    /// The session as it should be on disk: every job in order, and the transcripts whose
    /// revision differs from the one in `saved_revisions` (which is updated). `None` when
    /// nothing changed since the last snapshot.
    pub fn session_snapshot(
        &self,
        saved_revisions: &mut std::collections::HashMap<String, u64>,
        saved_jobs: &mut Vec<SavedJob>,
    ) -> Option<SessionSnapshot> {
        let jobs: Vec<SavedJob> = self
            .jobs
            .iter()
            .map(|job| SavedJob {
                key: job.session_key.clone(),
                path: job.path.clone(),
                status: match &job.status {
                    JobStatus::Done => SavedStatus::Done,
                    JobStatus::Failed { reason } => SavedStatus::Failed {
                        reason: reason.clone(),
                    },
                    JobStatus::Cancelled => SavedStatus::Cancelled,
                    JobStatus::Recorded => SavedStatus::Recorded,
                    JobStatus::Queued
                    | JobStatus::Running
                    | JobStatus::Cancelling
                    | JobStatus::Recording
                    | JobStatus::Interrupted => SavedStatus::Interrupted,
                },
                engine: job.engine_name.clone(),
                warnings: job.warnings.clone(),
                project: job.project.clone(),
                playback_position_s: job.playback_position_s,
            })
            .collect();
        let changed: Vec<(String, Transcript)> = self
            .jobs
            .iter()
            .filter(|job| saved_revisions.get(&job.session_key) != Some(&job.revision))
            .map(|job| (job.session_key.clone(), job.transcript.clone()))
            .collect();
        if changed.is_empty() && jobs == *saved_jobs {
            return None;
        }
        *saved_revisions = self
            .jobs
            .iter()
            .map(|job| (job.session_key.clone(), job.revision))
            .collect();
        saved_jobs.clone_from(&jobs);
        Some(SessionSnapshot {
            jobs,
            changed,
            keep_earlier: false,
        })
    }

    /// Marks `id` as being cancelled. Returns `true` if the runtime has to be told.
    pub fn begin_cancel(&mut self, id: JobId) -> bool {
        match self.job_mut(id) {
            Some(job) if job.status == JobStatus::Running => {
                job.status = JobStatus::Cancelling;
                true
            }
            // A queued job is dropped from the runtime's queue; it reports it as cancelled.
            Some(job) if job.status == JobStatus::Queued => true,
            _ => false,
        }
    }

    /// Puts a finished job back in the queue with an empty transcript. Returns `false` if the
    /// job is still active (nothing to retry).
    pub fn retry(&mut self, id: JobId) -> bool {
        match self.job_mut(id) {
            Some(job) if !job.status.is_active() => {
                job.reset_for_retry();
                // Its failure notice has done its job.
                self.notifications
                    .retain(|notice| !notice.offers(&AppCommand::RetryJob(id)));
                true
            }
            _ => false,
        }
    }

    /// Removes a job from the list. Returns whether it was active (the runtime must cancel it).
    pub fn remove(&mut self, id: JobId) -> Option<bool> {
        let index = self.jobs.iter().position(|job| job.id == id)?;
        let removed = self.jobs.remove(index);
        if self.selected == Some(id) {
            self.selected = self
                .jobs
                .get(index)
                .or_else(|| self.jobs.last())
                .map(|job| job.id);
            self.selection_pinned = false;
        }
        self.notifications
            .retain(|notice| !notice.offers(&AppCommand::RetryJob(id)));
        Some(removed.status.is_active())
    }

    /// Applies a transcript edit (rename, reassign, text) to `id` and bumps its revision.
    pub fn edit_transcript(
        &mut self,
        id: JobId,
        edit: impl FnOnce(&mut Transcript) -> bool,
    ) -> bool {
        match self.job_mut(id) {
            Some(job) => {
                let changed = edit(&mut job.transcript);
                if changed {
                    job.revision += 1;
                    job.word_count = transcript_word_count(&job.transcript);
                }
                changed
            }
            None => false,
        }
    }

    /// Shows a notification; an identical one already showing is refreshed instead.
    pub fn notify(
        &mut self,
        level: NoticeLevel,
        message: impl Into<String>,
        action: Option<NoticeAction>,
    ) {
        self.notify_with(level, message, action.into_iter().collect(), false);
    }

    /// Shows a notification with several buttons; a `sticky` one stays until dismissed.
    pub fn notify_with(
        &mut self,
        level: NoticeLevel,
        message: impl Into<String>,
        actions: Vec<NoticeAction>,
        sticky: bool,
    ) {
        let message = message.into();
        let now = Instant::now();
        if let Some(existing) = self
            .notifications
            .iter_mut()
            .find(|notice| notice.message == message && notice.level == level)
        {
            existing.created_at = now;
            existing.actions = actions;
            existing.sticky |= sticky;
            return;
        }
        self.next_notification_id += 1;
        self.notifications.push(Notification {
            id: self.next_notification_id,
            level,
            message,
            actions,
            sticky,
            created_at: now,
        });
        // Keep the stack short: the oldest that would fade anyway go first.
        while self.notifications.len() > 6 {
            let oldest = self
                .notifications
                .iter()
                .position(|notice| notice.lifetime().is_some())
                .unwrap_or(0);
            self.notifications.remove(oldest);
        }
    }

    pub fn dismiss(&mut self, notification_id: u64) {
        self.notifications
            .retain(|notice| notice.id != notification_id);
    }

    /// Drops expired notifications; returns how long until the next one expires.
    pub fn expire_notifications(&mut self, now: Instant) -> Option<Duration> {
        self.notifications.retain(|notice| {
            notice
                .lifetime()
                .is_none_or(|lifetime| now.saturating_duration_since(notice.created_at) < lifetime)
        });
        self.notifications
            .iter()
            .filter_map(|notice| {
                notice
                    .lifetime()
                    .map(|lifetime| (notice.created_at + lifetime).saturating_duration_since(now))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Segment;

    fn segment(text: &str) -> EngineEvent {
        EngineEvent::Segment(Segment {
            revision_key: None,
            start_s: 0.0,
            end_s: 1.0,
            text: text.into(),
            speaker: None,
            words: vec![],
            ..Default::default()
        })
    }

    #[test]
    fn a_revised_segment_is_counted_once() {
        let mut state = AppState::new();
        let id = state.add_job(PathBuf::from("/tmp/a.wav"));
        state.on_job_started(id, "60db".into(), Instant::now());
        let revised = |text: &str| match segment(text) {
            EngineEvent::Segment(segment) => EngineEvent::Segment(Segment { revision_key: Some("60db:1".into()), ..segment }),
            other => other,
        };
        state.on_engine_event(id, &revised("one two"));
        state.on_engine_event(id, &segment("three"));
        state.on_engine_event(id, &revised("One, two, too."));
        assert_eq!(state.job(id).map(|job| job.word_count), Some(4));
    }

    #[test]
    fn a_failed_job_notifies_with_retry_and_retry_starts_afresh() {
        let mut state = AppState::new();
        let id = state.add_job(PathBuf::from("/tmp/a.wav"));
        let now = Instant::now();
        state.on_job_started(id, "local".into(), now);
        state.on_engine_event(id, &segment("hello"));
        state.on_job_finished(
            id,
            JobOutcome::Failed {
                reason: "model missing".into(),
            },
            now,
        );
        assert_eq!(
            state.job(id).map(|job| job.status.clone()),
            Some(JobStatus::Failed {
                reason: "model missing".into()
            })
        );
        let notice = state.notifications.last().cloned();
        assert!(
            notice.as_ref().is_some_and(
                |n| n.level == NoticeLevel::Error && n.message.contains("model missing")
            )
        );
        assert_eq!(
            notice.and_then(|n| n.actions.first().cloned()).map(|a| a.command),
            Some(AppCommand::RetryJob(id))
        );
        assert!(state.retry(id));
        let job = state.job(id).cloned();
        assert!(
            job.as_ref()
                .is_some_and(|job| job.status == JobStatus::Queued
                    && job.transcript.segments.is_empty()
                    && job.generation == 1)
        );
        assert!(state.notifications.is_empty());
    }

    #[test]
    fn selection_follows_the_running_job_until_the_user_picks_a_finished_one() {
        let mut state = AppState::new();
        let first = state.add_job(PathBuf::from("a.wav"));
        let second = state.add_job(PathBuf::from("b.wav"));
        let now = Instant::now();
        state.on_job_started(first, "local".into(), now);
        state.on_job_finished(first, JobOutcome::Done, now);
        state.on_job_started(second, "local".into(), now);
        assert_eq!(state.selected, Some(second));
        state.select(first, true);
        let third = state.add_job(PathBuf::from("c.wav"));
        state.on_job_finished(second, JobOutcome::Done, now);
        state.on_job_started(third, "local".into(), now);
        assert_eq!(state.selected, Some(first));
    }

    #[test]
    fn events_for_a_removed_job_are_ignored() {
        let mut state = AppState::new();
        let id = state.add_job(PathBuf::from("a.wav"));
        assert_eq!(state.remove(id), Some(true));
        state.on_engine_event(id, &segment("late"));
        state.on_job_finished(id, JobOutcome::Done, Instant::now());
        assert!(state.jobs.is_empty());
        assert_eq!(state.selected, None);
    }

    #[test]
    fn errors_stay_until_dismissed_and_infos_expire() {
        let mut state = AppState::new();
        state.notify(NoticeLevel::Info, "saved", None);
        state.notify(NoticeLevel::Error, "broken", None);
        let later = Instant::now() + Duration::from_secs(60);
        state.expire_notifications(later);
        assert_eq!(state.notifications.len(), 1);
        assert_eq!(state.notifications[0].message, "broken");
    }
}
