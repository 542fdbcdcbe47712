//! `--device file:PATH`: a virtual microphone that plays an audio file at real-time pace (or
//! `speed` times faster, for tests), at the file's own rate and channel count, decoded by the
//! project's audio pipeline. The recording ends when the file does. For demos, screenshots and
//! tests on machines without a sound card.
//!
//! Unlike a real device it never drops frames: when the ring is full it waits, so a test that
//! plays a file 50× faster than real time still records every sample.

use super::RecordError;
use super::source::{CaptureSource, RingWriter, RunningSource, SourceEvent, SourceEvents, SourceFormat};
use crate::audio::Pipeline;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames are released in pieces of this length (like a device's callback period).
const PIECE_S: f64 = 0.01;

pub struct FileSource {
    path: PathBuf,
    name: String,
    format: SourceFormat,
    speed: f64,
}

impl FileSource {
    /// Probes the file (rate, channels). `speed` is the pace: 1.0 real time, 10.0 ten times
    /// faster, `f64::INFINITY` as fast as the writer takes it.
    pub fn open(path: &Path, speed: f64) -> Result<FileSource, RecordError> {
        let fail = |reason: String| RecordError::VirtualMicrophone { path: path.to_path_buf(), reason };
        if !(speed > 0.0) {
            return Err(fail(format!("the speed must be more than 0 (got {speed})")));
        }
        let info = crate::audio::probe(path).map_err(|error| fail(error.to_string()))?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(FileSource {
            path: path.to_path_buf(),
            name: format!("file {name}"),
            format: SourceFormat { sample_rate_hz: info.source_sample_rate_hz, channel_count: info.channel_count },
            speed,
        })
    }
}

impl CaptureSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> SourceFormat {
        self.format
    }

    fn start(self: Box<Self>, ring: RingWriter, events: SourceEvents) -> Result<Box<dyn RunningSource>, RecordError> {
        let pipeline = Pipeline::open(&self.path, self.format.sample_rate_hz, 0.0, None)
            .map_err(|error| RecordError::VirtualMicrophone { path: self.path.clone(), reason: error.to_string() })?;
        let stop = Arc::new(AtomicBool::new(false));
        let player = Player { pipeline, ring, events, stop: stop.clone(), format: self.format, speed: self.speed };
        let thread = std::thread::Builder::new()
            .name("verbatim-file-mic".into())
            .spawn(move || player.run())
            .map_err(|error| RecordError::VirtualMicrophone { path: self.path.clone(), reason: error.to_string() })?;
        Ok(Box::new(RunningFile { stop, thread: Some(thread) }))
    }
}

struct Player {
    pipeline: Pipeline,
    ring: RingWriter,
    events: SourceEvents,
    stop: Arc<AtomicBool>,
    format: SourceFormat,
    speed: f64,
}

impl Player {
    fn run(mut self) {
        let started = Instant::now();
        let piece_frames = ((f64::from(self.format.sample_rate_hz) * PIECE_S) as usize).max(1);
        let mut played_frames: u64 = 0;
        let mut interleaved = Vec::new();
        loop {
            let frames = match self.pipeline.next_frames() {
                Ok(Some(frames)) => frames,
                Ok(None) => break,
                Err(error) => {
                    let _ = self.events.send(SourceEvent::Failed(error.to_string()));
                    return;
                }
            };
            interleave(&frames, &mut interleaved);
            for piece in interleaved.chunks(piece_frames * self.format.channel_count.max(1)) {
                if !self.release(piece, started, played_frames) {
                    return; // stopped
                }
                played_frames += (piece.len() / self.format.channel_count.max(1)) as u64;
            }
        }
        let _ = self.events.send(SourceEvent::Ended);
    }

    /// Waits until `piece` is due, then until it fits in the ring; false once stopped.
    fn release(&mut self, piece: &[f32], started: Instant, played_frames: u64) -> bool {
        let due_s = played_frames as f64 / f64::from(self.format.sample_rate_hz) / self.speed;
        if due_s.is_finite() {
            let due = started + Duration::from_secs_f64(due_s);
            while Instant::now() < due {
                if self.stop.load(Ordering::Relaxed) {
                    return false;
                }
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(5)));
            }
        }
        let frames = piece.len() / self.format.channel_count.max(1);
        while self.ring.free_frames() < frames {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.ring.push(piece);
        !self.stop.load(Ordering::Relaxed)
    }
}

fn interleave(frames: &[Vec<f32>], out: &mut Vec<f32>) {
    out.clear();
    let frame_count = frames.first().map_or(0, Vec::len);
    for index in 0..frame_count {
        out.extend(frames.iter().map(|channel| channel.get(index).copied().unwrap_or(0.0)));
    }
}

struct RunningFile {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningSource for RunningFile {
    fn stop(mut self: Box<Self>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
