//! The recorder: starts a source, and on a writer thread of its own drains the ring, writes the
//! WAV (header true and data synced every `CHECKPOINT_INTERVAL`), meters levels, watches for
//! silence and feeds the live tap. Front ends drive it with `pause` / `resume` / `stop`, read
//! `status()` (a snapshot, cheap enough for every frame) and drain `RecorderEvent`s.
//!
//! What it promises: the clock starts with the first samples the device delivers (nothing is
//! written before, nothing captured after is lost); paused audio is neither written nor tapped,
//! so the file has no gap and no duplicate; a failing source or a full disk stops the recording
//! cleanly with everything captured so far kept in a valid file; the live tap never holds the
//! recording back. Dropping a `Recorder` stops it and finishes the file.

use super::meter::{ChannelLevel, Meter};
use super::recovery::Marker;
use super::source::{CaptureSource, RingReader, RunningSource, SourceEvent, SourceFormat, ring};
use super::tap::{LiveTap, LiveTapReceiver};
use super::wav_writer::{RIFF_LIMIT_BYTES, RecordingFile, WavWriter, to_pcm16};
use super::RecordError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the header is made true and the data synced (the issue asks for at least every second).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// How long the writer sleeps when the ring is empty.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Digital silence this long on the watched channels warns "is it the right microphone?".
pub const SILENCE_WARNING_S: f64 = 5.0;
/// No samples at all this long after start warns that the device delivers nothing.
const NO_AUDIO_WARNING: Duration = Duration::from_secs(5);

/// How a recording is set up.
pub struct RecorderConfig {
    /// The WAV to create (it must not exist yet).
    pub path: PathBuf,
    /// Where the crash marker goes: the recordings folder (`super::recordings_dir()`).
    pub recordings_dir: Option<PathBuf>,
    /// Produce 16 kHz blocks for a live engine (`Recorder::take_live_tap`).
    pub live_tap: bool,
    /// The RIFF size at which the file becomes RF64 (lowered in tests only).
    pub riff_limit_bytes: u64,
    /// Called from the writer thread after each status update and event (the window's
    /// `request_repaint`).
    pub on_update: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl RecorderConfig {
    pub fn new(path: PathBuf) -> RecorderConfig {
        RecorderConfig {
            path,
            recordings_dir: super::recordings_dir().ok(),
            live_tap: false,
            riff_limit_bytes: RIFF_LIMIT_BYTES,
            on_update: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecorderState {
    /// Started, no samples from the device yet (Bluetooth devices start late).
    WaitingForAudio,
    Recording,
    Paused,
    /// Finished: stopped, the source ended, or it had to stop (see `RecordingSummary`).
    Finished,
}

/// What a meter, a clock and a size display read.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderStatus {
    pub state: RecorderState,
    pub path: PathBuf,
    pub device_name: String,
    pub format: SourceFormat,
    /// Audio in the file (paused time is not).
    pub recorded_s: f64,
    pub file_bytes: u64,
    /// Latest levels, one per channel (updated while paused too, so the meter shows the input).
    pub levels: Vec<ChannelLevel>,
    pub clipped_samples: u64,
    /// Frames lost because the writer fell 10 s behind the device.
    pub overrun_frames: u64,
    /// Seconds of unbroken digital silence on the watched channels.
    pub silent_s: f64,
}

/// Why a recording ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    Requested,
    /// The virtual microphone's file ended.
    SourceEnded,
    /// The device failed or disappeared.
    SourceFailed(String),
    /// The disk is full: everything before is kept.
    DiskFull,
    /// The file could not be written: everything before is kept.
    WriteFailed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingSummary {
    pub path: PathBuf,
    pub recorded_s: f64,
    pub file_bytes: u64,
    pub overrun_frames: u64,
    pub reason: StopReason,
    /// False if even the final header could not be written: recovery repairs it at next start.
    pub file_complete: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecorderEvent {
    /// The first samples arrived: the recording's clock starts now.
    Started { path: PathBuf },
    /// Worth showing; the recording goes on (silence, dropped audio, a failed monitor).
    Warning(String),
    /// The recording had to stop; the message says what is kept and where.
    Failed(String),
    /// Always the last event.
    Finished(RecordingSummary),
}

enum Command {
    Pause,
    Resume,
    Stop,
}

/// A running recording. See the module comment.
pub struct Recorder {
    commands: mpsc::Sender<Command>,
    status: Arc<Mutex<RecorderStatus>>,
    events: mpsc::Receiver<RecorderEvent>,
    tap: Option<LiveTapReceiver>,
    thread: Option<JoinHandle<RecordingSummary>>,
}

impl Recorder {
    /// Creates the WAV (0600, never over an existing file) and its crash marker, starts the
    /// source and the writer thread.
    pub fn start(source: Box<dyn CaptureSource>, config: RecorderConfig) -> Result<Recorder, RecordError> {
        let file = crate::files::create_private_file(&config.path).map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => RecordError::file(&config.path, "already exists; choose another name"),
            _ => RecordError::file(&config.path, error),
        })?;
        Recorder::start_with_file(source, config, file)
    }

    /// Like `start`, writing through `file` (already created at `config.path`): tests pass one
    /// that fails like a full disk.
    pub fn start_with_file<F: RecordingFile + 'static>(
        source: Box<dyn CaptureSource>,
        config: RecorderConfig,
        file: F,
    ) -> Result<Recorder, RecordError> {
        let format = source.format();
        let path = config.path.clone();
        let undo = |error: RecordError| {
            let _ = std::fs::remove_file(&path);
            error
        };
        let writer = WavWriter::create(file, format, config.riff_limit_bytes).map_err(|error| undo(RecordError::file(&path, error)))?;
        let marker = config.recordings_dir.as_deref().and_then(|dir| match Marker::create(dir, &path) {
            Ok(marker) => Some(marker),
            Err(error) => {
                log::warn!("no crash marker for {}: {error}", path.display());
                None
            }
        });
        let (tap, tap_receiver) = match config.live_tap {
            true => LiveTap::new(format.sample_rate_hz, format.channel_count)
                .map(|(tap, receiver)| (Some(tap), Some(receiver)))
                .map_err(|reason| undo(RecordError::file(&path, reason)))?,
            false => (None, None),
        };
        let device_name = source.name().to_string();
        let watched = source.silence_watched_channels();
        let (ring_writer, ring_reader) = ring(format);
        let (source_events_sender, source_events) = mpsc::channel();
        let running = match source.start(ring_writer, source_events_sender) {
            Ok(running) => running,
            Err(error) => {
                if let Some(marker) = marker {
                    marker.finish();
                }
                return Err(undo(error));
            }
        };
        let status = Arc::new(Mutex::new(RecorderStatus {
            state: RecorderState::WaitingForAudio,
            path: path.clone(),
            device_name: device_name.clone(),
            format,
            recorded_s: 0.0,
            file_bytes: writer.file_bytes(),
            levels: vec![ChannelLevel::default(); format.channel_count],
            clipped_samples: 0,
            overrun_frames: 0,
            silent_s: 0.0,
        }));
        let (commands_sender, commands) = mpsc::channel();
        let (events_sender, events) = mpsc::channel();
        let writer_loop = WriterLoop {
            writer,
            ring: ring_reader,
            running: Some(running),
            source_events,
            commands,
            events: events_sender,
            status: status.clone(),
            on_update: config.on_update,
            meter: Meter::new(format.sample_rate_hz, format.channel_count, watched),
            tap,
            marker,
            path,
            device_name,
            format,
            started: false,
            paused: false,
            silence_warned: false,
            started_at: Instant::now(),
            no_audio_warned: false,
        };
        let thread = std::thread::Builder::new()
            .name("verbatim-recorder".into())
            .spawn(move || writer_loop.run())
            .map_err(|error| RecordError::file(&config.path, error))?;
        Ok(Recorder { commands: commands_sender, status, events, tap: tap_receiver, thread: Some(thread) })
    }

    pub fn pause(&self) {
        let _ = self.commands.send(Command::Pause);
    }

    pub fn resume(&self) {
        let _ = self.commands.send(Command::Resume);
    }

    /// Asks the recording to stop; `wait` (or the `Finished` event) tells when it has.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    pub fn status(&self) -> RecorderStatus {
        self.status.lock().map_or_else(|poisoned| poisoned.into_inner().clone(), |status| status.clone())
    }

    /// The next event if there is one (for a UI frame).
    pub fn try_event(&self) -> Option<RecorderEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<RecorderEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The 16 kHz blocks for a live engine (once; `None` without `RecorderConfig::live_tap`).
    pub fn take_live_tap(&mut self) -> Option<LiveTapReceiver> {
        self.tap.take()
    }

    /// Waits for the recording to end (after `stop`, or when the source ends or fails).
    pub fn wait(mut self) -> RecordingSummary {
        self.join()
    }

    fn join(&mut self) -> RecordingSummary {
        let status = self.status();
        let fallback = RecordingSummary {
            path: status.path,
            recorded_s: status.recorded_s,
            file_bytes: status.file_bytes,
            overrun_frames: status.overrun_frames,
            reason: StopReason::WriteFailed("the recorder thread crashed".into()),
            file_complete: false,
        };
        self.thread.take().map_or(fallback.clone(), |thread| thread.join().unwrap_or(fallback))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
            self.join();
        }
    }
}

/// Everything the writer thread owns.
struct WriterLoop<F: RecordingFile> {
    writer: WavWriter<F>,
    ring: RingReader,
    running: Option<Box<dyn RunningSource>>,
    source_events: mpsc::Receiver<SourceEvent>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<RecorderEvent>,
    status: Arc<Mutex<RecorderStatus>>,
    on_update: Option<Arc<dyn Fn() + Send + Sync>>,
    meter: Meter,
    tap: Option<LiveTap>,
    marker: Option<Marker>,
    path: PathBuf,
    device_name: String,
    format: SourceFormat,
    started: bool,
    paused: bool,
    silence_warned: bool,
    started_at: Instant,
    no_audio_warned: bool,
}

impl<F: RecordingFile> WriterLoop<F> {
    fn run(mut self) -> RecordingSummary {
        let mut buffer = Vec::new();
        let mut last_checkpoint = Instant::now();
        let reason = loop {
            if let Some(reason) = self.handle_commands() {
                break reason;
            }
            if let Some(reason) = self.handle_source_events() {
                break reason;
            }
            if let Err(error) = self.process(&mut buffer) {
                break self.write_failed(&error);
            }
            if last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL && !self.writer.header_is_current() {
                if let Err(error) = self.writer.checkpoint() {
                    break self.write_failed(&error);
                }
                last_checkpoint = Instant::now();
            }
            self.publish_status();
            std::thread::sleep(POLL_INTERVAL);
        };
        self.finish(reason, &mut buffer)
    }

    /// `Some` when the recording should stop.
    fn handle_commands(&mut self) -> Option<StopReason> {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Pause) => self.paused = true,
                Ok(Command::Resume) => self.paused = false,
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => return Some(StopReason::Requested),
                Err(mpsc::TryRecvError::Empty) => return None,
            }
        }
    }

    fn handle_source_events(&mut self) -> Option<StopReason> {
        while let Ok(event) = self.source_events.try_recv() {
            match event {
                SourceEvent::Warning(message) => self.emit(RecorderEvent::Warning(message)),
                SourceEvent::Ended => return Some(StopReason::SourceEnded),
                SourceEvent::Failed(message) => return Some(StopReason::SourceFailed(message)),
            }
        }
        if !self.started && !self.no_audio_warned && self.started_at.elapsed() >= NO_AUDIO_WARNING {
            self.no_audio_warned = true;
            self.emit(RecorderEvent::Warning(format!("{} has delivered no audio yet; still waiting", self.device_name)));
        }
        None
    }

    /// Drains the ring: meter always, file and tap unless paused.
    fn process(&mut self, buffer: &mut Vec<f32>) -> std::io::Result<()> {
        buffer.clear();
        if self.ring.drain_into(buffer) == 0 {
            return Ok(());
        }
        if !self.started {
            self.started = true;
            self.emit(RecorderEvent::Started { path: self.path.clone() });
        }
        self.meter.add(buffer);
        if self.paused {
            return Ok(());
        }
        let pcm: Vec<i16> = buffer.iter().map(|&sample| to_pcm16(sample)).collect();
        let frames_before = self.writer.frames();
        let written = self.writer.append(&pcm);
        if let Some(tap) = self.tap.as_mut() {
            // Only what reached the file: on a failed write, the tap stops where the file does.
            let reached_frames = (self.writer.frames() - frames_before) as usize;
            tap.push(pcm.get(..reached_frames * self.format.channel_count).unwrap_or(&pcm));
        }
        self.watch_silence();
        written
    }

    fn watch_silence(&mut self) {
        let silent_s = self.meter.silent_s();
        if silent_s == 0.0 {
            self.silence_warned = false;
        } else if silent_s >= SILENCE_WARNING_S && !self.silence_warned {
            self.silence_warned = true;
            self.emit(RecorderEvent::Warning(format!("no sound from {} — is it the right microphone?", self.device_name)));
        }
    }

    fn write_failed(&mut self, error: &std::io::Error) -> StopReason {
        let _ = self.writer.salvage();
        if error.raw_os_error() == Some(28) || error.kind() == std::io::ErrorKind::StorageFull {
            StopReason::DiskFull
        } else {
            StopReason::WriteFailed(format!("cannot write the file ({error})"))
        }
    }

    /// Stops the source, writes what it still delivers, and closes the file.
    fn finish(mut self, reason: StopReason, buffer: &mut Vec<f32>) -> RecordingSummary {
        if let Some(running) = self.running.take() {
            running.stop();
        }
        let mut reason = reason;
        if !matches!(reason, StopReason::WriteFailed(_) | StopReason::DiskFull)
            && let Err(error) = self.process(buffer)
        {
            reason = self.write_failed(&error);
        }
        let recorded_s = self.recorded_s();
        let file_bytes = self.writer.file_bytes();
        let file_complete = match reason {
            StopReason::WriteFailed(_) | StopReason::DiskFull => self.writer.header_is_current(),
            _ => self.writer.checkpoint().is_ok(),
        };
        if let Some(tap) = self.tap.take() {
            tap.finish();
        }
        if file_complete && let Some(marker) = self.marker.take() {
            marker.finish();
        }
        if let Some(message) = failure_message(&reason, recorded_s, &self.path) {
            self.emit(RecorderEvent::Failed(message));
        }
        let summary = RecordingSummary {
            path: self.path.clone(),
            recorded_s,
            file_bytes,
            overrun_frames: self.ring.overrun_frames(),
            reason,
            file_complete,
        };
        self.publish_status();
        if let Ok(mut status) = self.status.lock() {
            status.state = RecorderState::Finished;
        }
        self.emit(RecorderEvent::Finished(summary.clone()));
        summary
    }

    fn recorded_s(&self) -> f64 {
        self.writer.frames() as f64 / f64::from(self.format.sample_rate_hz.max(1))
    }

    fn publish_status(&self) {
        if let Ok(mut status) = self.status.lock() {
            status.state = match (self.started, self.paused) {
                (false, _) => RecorderState::WaitingForAudio,
                (true, true) => RecorderState::Paused,
                (true, false) => RecorderState::Recording,
            };
            status.recorded_s = self.recorded_s();
            status.file_bytes = self.writer.file_bytes();
            status.levels.clone_from(&self.meter.levels);
            status.clipped_samples = self.meter.clipped_samples;
            status.overrun_frames = self.ring.overrun_frames();
            status.silent_s = self.meter.silent_s();
        }
        if let Some(on_update) = &self.on_update {
            on_update();
        }
    }

    fn emit(&self, event: RecorderEvent) {
        let _ = self.events.send(event);
        if let Some(on_update) = &self.on_update {
            on_update();
        }
    }
}

/// The one line a front end shows when a recording had to stop.
fn failure_message(reason: &StopReason, recorded_s: f64, path: &Path) -> Option<String> {
    let kept = format!("the {} recorded are kept in {}", crate::units::clock(recorded_s), path.display());
    match reason {
        StopReason::Requested | StopReason::SourceEnded => None,
        StopReason::SourceFailed(cause) => Some(format!("recording stopped: {cause}; {kept}")),
        StopReason::WriteFailed(cause) => Some(format!("recording stopped: {cause}; {kept}")),
        StopReason::DiskFull => Some(format!("recording stopped: the disk is full; {kept} — free some space before recording again")),
    }
}

