//! What the recording panel's buttons, the Record menu entry, Ctrl+R and a recovered
//! recording's notice ask for, and how each is handled: the plain state changes here, and
//! the work (opening the device, writing the file, live transcription) is a request to the
//! background runtime.

use super::VerbatimApp;
use super::recording::{AfterStop, DeviceList};
use super::runtime::RuntimeRequest;
use super::runtime::recording::{LiveRequest, RecordingControl, RecordingRequest};
use super::state::JobStatus;
use super::messages::NoticeLevel;
pub use super::messages::RecordingCommand;
use std::path::PathBuf;

impl VerbatimApp {
    pub(crate) fn handle_recording_command(&mut self, command: RecordingCommand) {
        match command {
            RecordingCommand::Start => self.start_recording(),
            RecordingCommand::Pause => self.control_recording(RecordingControl::Pause),
            RecordingCommand::Resume => self.control_recording(RecordingControl::Resume),
            RecordingCommand::Stop => {
                if self.state.recording.request_stop() {
                    self.control_recording(RecordingControl::Stop);
                }
            }
            RecordingCommand::RefreshDevices => {
                self.state.recording.devices = DeviceList::Listing;
                self.request(RuntimeRequest::ListInputDevices);
            }
            RecordingCommand::ChooseDevice(device) => {
                let view = &mut self.state.recording;
                view.use_command_line_device = device.is_some() && device == view.command_line_device;
                if !view.use_command_line_device {
                    self.settings.recording.device = device;
                }
            }
            RecordingCommand::Open(path) => self.open_recording(path),
            RecordingCommand::Transcribe(path) => self.transcribe_recording(path),
        }
    }

    fn control_recording(&mut self, control: RecordingControl) {
        if !self.state.recording.is_idle() {
            self.request(RuntimeRequest::ControlRecording(control));
        }
    }

    /// The device the next recording uses: the command line's, else the remembered one.
    pub(crate) fn chosen_input_device(&self) -> Option<String> {
        let view = &self.state.recording;
        match &view.command_line_device {
            Some(device) if view.use_command_line_device => Some(device.clone()),
            _ => self.settings.recording.device.clone(),
        }
    }

    /// Whether the next recording also records the output's monitor: asked for, and not
    /// known to be impossible.
    pub(crate) fn records_monitor(&self) -> bool {
        let known_missing = matches!(self.state.recording.devices, DeviceList::Listed(_))
            && self.state.recording.monitor_unavailable_reason().is_some();
        self.settings.recording.with_monitor && !known_missing
    }

    /// Record: the live engine chosen in the panel transcribes while recording; without
    /// one, the file is transcribed when the recording stops (with the engine that cannot
    /// stream, or with the file engine when live text is off).
    fn start_recording(&mut self) {
        if !self.state.recording.is_idle() {
            return;
        }
        let Some(recordings_dir) = self.recordings_dir.clone() else {
            self.state.notify(
                NoticeLevel::Error,
                "no folder for recordings is known on this system; start Verbatim with VERBATIM_RECORDINGS_DIR set to one",
                None,
            );
            return;
        };
        let (live, after_stop) = match self.settings.recording.live {
            Some(kind) if kind.streams_live() => {
                let live = LiveRequest {
                    engine: self.engine_spec_for(kind),
                    live: self.settings.recording.live_options.clone(),
                    options: self.transcribe_options_for(kind),
                };
                (Some(live), None)
            }
            Some(kind) => {
                let after = AfterStop { engine: self.engine_spec_for(kind), options: self.transcribe_options_for(kind) };
                (None, Some(after))
            }
            None => (None, Some(AfterStop { engine: self.engine_spec(), options: self.transcribe_options() })),
        };
        let job = self.state.reserve_job_id();
        let with_monitor = self.records_monitor();
        self.state.recording.begin(job, live.as_ref().map(|live| live.engine.label()), after_stop, with_monitor);
        let request = RecordingRequest {
            job,
            recordings_dir: Some(recordings_dir),
            device: self.chosen_input_device(),
            with_monitor,
            file_speed: self.input_speed,
            live,
        };
        self.request(RuntimeRequest::StartRecording(Box::new(request)));
    }

    /// Shows a recovered recording: its job if the list has one (the session kept the
    /// recording with its live text), else a new one, not transcribed.
    fn open_recording(&mut self, path: PathBuf) {
        let job = match self.state.job_for_path(&path) {
            Some(job) => job.id,
            None => {
                let job = self.state.reserve_job_id();
                self.state.insert_job(job, path, JobStatus::Recorded);
                job
            }
        };
        self.state.select(job, true);
    }

    /// Transcribes a recovered recording from its file, from scratch.
    fn transcribe_recording(&mut self, path: PathBuf) {
        let job = match self.state.job_for_path(&path).map(|job| (job.id, job.status.is_active())) {
            Some((_, true)) => return,
            Some((job, false)) => {
                self.state.retry(job);
                job
            }
            None => self.state.add_job(path),
        };
        self.enqueue(job);
        self.state.select(job, true);
    }
}
