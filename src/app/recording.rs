//! The recording panel's plain data and its rules: which input devices there are, where the
//! window's one recording is in its life, what the recorder (on the background runtime) last
//! reported — levels, time, size, warnings — and how live transcription goes. No egui and no
//! I/O: background events change it, `ui::record_panel` draws it, and what a recording
//! becomes when it stops (a finished file, a file to transcribe, a recording without text)
//! is decided here, where a unit test can check it.

use super::runtime::EngineSpec;
use super::state::{AppState, JobId, JobStatus, NoticeLevel};
use crate::engine::TranscribeOptions;
use crate::record::cpal_input::InputDevice;
use crate::record::{RecorderStatus, RecordingSummary};
use std::path::PathBuf;
use std::time::Instant;

/// Where the window's one recording is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordingPhase {
    /// Nothing is being recorded.
    #[default]
    Idle,
    /// Record was pressed: the runtime is opening the device and creating the file.
    Starting { job: JobId },
    /// Recording (or paused) into `job`'s file.
    Active { job: JobId },
    /// Stop was asked for (or the source ended): the last audio is being written and the
    /// live engine sends its last words.
    Stopping { job: JobId },
}

impl RecordingPhase {
    /// The recording's job, once Record was pressed.
    pub fn job(self) -> Option<JobId> {
        match self {
            RecordingPhase::Idle => None,
            RecordingPhase::Starting { job }
            | RecordingPhase::Active { job }
            | RecordingPhase::Stopping { job } => Some(job),
        }
    }
}

/// How live transcription of the current recording goes.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveState {
    /// Transcribing as people speak; `behind_s` is how old the newest text is, once known.
    Running { engine: String, behind_s: Option<f64> },
    /// The engine has sent its last words.
    Finished { engine: String },
    /// The engine stopped; the recording did not.
    Failed { engine: String, reason: String },
}

/// The file transcription to run when the recording stops (live off, or an engine without
/// a live transport).
#[derive(Debug, Clone, PartialEq)]
pub struct AfterStop {
    pub engine: EngineSpec,
    pub options: TranscribeOptions,
}

/// The input devices, as far as the runtime has listed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum DeviceList {
    #[default]
    NotListed,
    Listing,
    Listed(Vec<InputDevice>),
    Failed(String),
}

/// What the recording panel shows.
#[derive(Debug, Clone, Default)]
pub struct RecordingView {
    pub phase: RecordingPhase,
    pub devices: DeviceList,
    /// A device given on the command line (`verbatim open --input-device file:PATH`): offered
    /// in the picker for this run, never saved.
    pub command_line_device: Option<String>,
    /// The command line's device is the chosen one (until the user picks another).
    pub use_command_line_device: bool,
    /// The latest status of the recording (kept after it ends, for its last numbers).
    pub status: Option<RecorderStatus>,
    /// What the recorder warned about during this recording, once each, in order.
    pub warnings: Vec<String>,
    /// Why the recording had to stop, when it did (a device lost, a full disk).
    pub stopped_because: Option<String>,
    /// `None`: no live engine for this recording.
    pub live: Option<LiveState>,
    pub after_stop: Option<AfterStop>,
    /// The recording's second channel is the output's monitor ("Me" / "Them").
    pub with_monitor: bool,
}

/// Where the monitor option stands without a monitor source to record.
pub const NO_MONITOR_REASON: &str = "Needs a PulseAudio or PipeWire sound server with a monitor of the output; none was found on this system";

impl RecordingView {
    pub fn is_idle(&self) -> bool {
        self.phase == RecordingPhase::Idle
    }

    /// Whether `job` is the recording being made (or being finished).
    pub fn is_recording_job(&self, job: JobId) -> bool {
        self.phase.job() == Some(job)
    }

    /// Why the "also record the system's output" option cannot be used, or `None` when a
    /// monitor source exists.
    pub fn monitor_unavailable_reason(&self) -> Option<String> {
        match &self.devices {
            DeviceList::Listed(devices) if devices.iter().any(|device| device.is_monitor) => None,
            DeviceList::Listed(_) => Some(NO_MONITOR_REASON.to_string()),
            DeviceList::Failed(reason) => Some(format!("The sound system could not be asked: {reason}")),
            DeviceList::NotListed | DeviceList::Listing => Some("Looking for a monitor source…".to_string()),
        }
    }

    /// Record was pressed for `job`.
    pub fn begin(&mut self, job: JobId, live_engine: Option<String>, after_stop: Option<AfterStop>, with_monitor: bool) {
        self.phase = RecordingPhase::Starting { job };
        self.with_monitor = with_monitor;
        self.status = None;
        self.warnings.clear();
        self.stopped_because = None;
        self.live = live_engine.map(|engine| LiveState::Running { engine, behind_s: None });
        self.after_stop = after_stop;
    }

    /// Stop was asked for; returns whether the runtime has to be told.
    pub fn request_stop(&mut self) -> bool {
        match self.phase {
            RecordingPhase::Active { job } => {
                self.phase = RecordingPhase::Stopping { job };
                true
            }
            _ => false,
        }
    }

    /// Live transcription says it is `behind_s` behind the audio.
    pub fn on_lag(&mut self, lag_s: f64) {
        if let Some(LiveState::Running { behind_s, .. }) = &mut self.live {
            *behind_s = Some(lag_s);
        }
    }
}

/// The one line the window shows when live transcription stopped during a recording.
pub fn live_failure_message(engine: &str, reason: &str) -> String {
    format!("live transcription ({engine}) stopped: {reason}; the recording goes on, and its file can be transcribed when it stops")
}

impl AppState {
    /// The runtime created the recording's file and started capture: the recording is a job
    /// in the queue from now on, and its transcript is shown.
    pub fn on_recording_started(&mut self, job: JobId, path: PathBuf, engine_label: String, now: Instant) {
        if self.recording.phase != (RecordingPhase::Starting { job }) {
            return;
        }
        self.insert_job(job, path, JobStatus::Recording);
        if let Some(found) = self.job_mut(job) {
            found.started_at = Some(now);
            found.engine_name = Some(engine_label);
        }
        // The user pressed Record: show what is being heard.
        self.selected = Some(job);
        self.selection_pinned = false;
        self.recording.phase = RecordingPhase::Active { job };
    }

    /// The recording could not start: nothing was created, and the panel is ready again.
    pub fn on_recording_failed_to_start(&mut self, job: JobId, message: String) {
        if self.recording.phase.job() == Some(job) {
            self.recording.phase = RecordingPhase::Idle;
            self.recording.live = None;
            self.recording.after_stop = None;
        }
        self.notify(NoticeLevel::Error, format!("cannot record: {message}"), None);
    }

    /// The latest levels, time and size of the recording.
    pub fn on_recording_status(&mut self, job: JobId, status: RecorderStatus) {
        if let Some(found) = self.job_mut(job) {
            found.done_s = status.recorded_s;
        }
        if self.recording.is_recording_job(job) {
            self.recording.status = Some(status);
        }
    }

    /// Something the recorder wants seen: kept in the panel and on the file's card, shown
    /// once as a notification. `stopped` says the recording had to end because of it.
    pub fn on_recording_warning(&mut self, job: JobId, message: String, stopped: bool) {
        if self.recording.is_recording_job(job) {
            if stopped {
                self.recording.stopped_because = Some(message.clone());
            } else if !self.recording.warnings.contains(&message) {
                self.recording.warnings.push(message.clone());
            }
        }
        let level = if stopped { NoticeLevel::Error } else { NoticeLevel::Warning };
        self.add_job_warning(job, message, level);
    }

    /// Live transcription ended (`error`: why it stopped early). The recording goes on.
    pub fn on_live_ended(&mut self, job: JobId, error: Option<String>) {
        if !self.recording.is_recording_job(job) {
            return;
        }
        let Some(LiveState::Running { engine, .. }) = self.recording.live.clone() else { return };
        match error {
            None => self.recording.live = Some(LiveState::Finished { engine }),
            Some(reason) => {
                let message = live_failure_message(&engine, &reason);
                self.recording.live = Some(LiveState::Failed { engine, reason });
                self.add_job_warning(job, message, NoticeLevel::Error);
            }
        }
    }

    /// The recording's file is finished. Its job becomes an ordinary file: done when live
    /// text covered it, queued when it is to be transcribed from the file now (the returned
    /// request), recorded-without-text when live transcription stopped early.
    pub fn on_recording_finished(&mut self, job: JobId, summary: &RecordingSummary, now: Instant) -> Option<AfterStop> {
        if !self.recording.is_recording_job(job) {
            return None;
        }
        self.recording.phase = RecordingPhase::Idle;
        let after_stop = self.recording.after_stop.take();
        let live = self.recording.live.clone();
        let stopped_because = self.recording.stopped_because.clone();
        let found = self.job_mut(job)?;
        found.run_time = found.started_at.map(|started| now.saturating_duration_since(started));
        found.transcript.hypothesis = None;
        found.done_s = summary.recorded_s;
        found.revision += 1;
        if summary.recorded_s <= 0.0 {
            let reason = stopped_because.unwrap_or_else(|| "the device delivered no audio".into());
            found.status = JobStatus::Failed { reason: format!("nothing was recorded: {reason}") };
            return None;
        }
        match (live, after_stop) {
            (Some(LiveState::Finished { .. }), _) => {
                found.status = JobStatus::Done;
                found.progress = Some(1.0);
                None
            }
            (None, Some(after_stop)) => {
                found.status = JobStatus::Queued;
                Some(after_stop)
            }
            _ => {
                found.status = JobStatus::Recorded;
                None
            }
        }
    }

    /// Adds `message` to `job`'s warnings (once) and shows it as a notification at `level`.
    fn add_job_warning(&mut self, job: JobId, message: String, level: NoticeLevel) {
        let mut name = None;
        if let Some(found) = self.job_mut(job)
            && !found.warnings.contains(&message)
        {
            found.warnings.push(message.clone());
            name = Some(found.name.clone());
        }
        match name {
            Some(name) => self.notify(level, format!("{name}: {message}"), None),
            None if self.job(job).is_none() => self.notify(level, message, None),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::StopReason;

    fn summary(recorded_s: f64) -> RecordingSummary {
        RecordingSummary {
            path: PathBuf::from("/tmp/recording.wav"),
            recorded_s,
            file_bytes: 44 + (recorded_s * 32_000.0) as u64,
            overrun_frames: 0,
            reason: StopReason::Requested,
            file_complete: true,
        }
    }

    fn started(state: &mut AppState, live: Option<&str>, after_stop: Option<AfterStop>) -> JobId {
        let job = state.reserve_job_id();
        state.recording.begin(job, live.map(str::to_string), after_stop, false);
        state.on_recording_started(job, PathBuf::from("/tmp/recording.wav"), "live · Gradium".into(), Instant::now());
        job
    }

    #[test]
    fn a_recording_is_a_job_while_it_runs_and_done_when_live_text_covered_it() {
        let mut state = AppState::new();
        let job = started(&mut state, Some("Gradium"), None);
        assert_eq!(state.job(job).map(|job| job.status.clone()), Some(JobStatus::Recording));
        assert_eq!(state.selected, Some(job));
        assert!(state.running_job().is_none(), "Esc and the file queue leave a recording alone");
        state.on_live_ended(job, None);
        assert_eq!(state.on_recording_finished(job, &summary(11.0), Instant::now()), None);
        assert_eq!(state.job(job).map(|job| job.status.clone()), Some(JobStatus::Done));
        assert!(state.recording.is_idle());
    }

    #[test]
    fn a_failed_live_engine_leaves_a_recorded_file_with_the_reason_and_no_file_job() {
        let mut state = AppState::new();
        let job = started(&mut state, Some("Gradium"), None);
        state.on_live_ended(job, Some("the connection was lost".into()));
        assert!(matches!(state.recording.live, Some(LiveState::Failed { .. })));
        assert!(state.notifications.iter().any(|n| n.level == NoticeLevel::Error && n.message.contains("recording goes on")));
        assert_eq!(state.on_recording_finished(job, &summary(11.0), Instant::now()), None);
        let found = state.job(job).cloned();
        assert_eq!(found.as_ref().map(|job| job.status.clone()), Some(JobStatus::Recorded));
        assert!(found.is_some_and(|job| job.warnings.iter().any(|w| w.contains("connection was lost"))));
    }

    #[test]
    fn without_live_text_the_file_is_queued_with_the_engine_chosen_at_start() {
        let mut state = AppState::new();
        let after = AfterStop {
            engine: EngineSpec::Local { model: "tiny.en".into(), beam_size: 1 },
            options: TranscribeOptions::default(),
        };
        let job = started(&mut state, None, Some(after.clone()));
        assert_eq!(state.on_recording_finished(job, &summary(3.0), Instant::now()), Some(after));
        assert_eq!(state.job(job).map(|job| job.status.clone()), Some(JobStatus::Queued));
    }

    #[test]
    fn a_recording_that_got_no_audio_fails_with_the_reason() {
        let mut state = AppState::new();
        let job = started(&mut state, None, None);
        state.on_recording_warning(job, "the device disappeared".into(), true);
        state.on_recording_finished(job, &summary(0.0), Instant::now());
        assert!(matches!(
            state.job(job).map(|job| job.status.clone()),
            Some(JobStatus::Failed { reason }) if reason.contains("disappeared")
        ));
    }
}
