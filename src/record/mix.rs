//! Two sources, one file: the microphone as channel 1 and the monitor of the output (what the
//! other side of a call says) as channel 2, so the per-channel speakers label them "Me" and
//! "Them". Each side is mixed down to mono; the monitor is resampled to the microphone's rate.
//!
//! The two devices run on separate clocks, so the microphone is the master: each microphone
//! frame takes the next monitor frame, or silence when the monitor has none yet (it starts late
//! or stalls), and a monitor backlog beyond `MAX_MONITOR_BACKLOG_S` is dropped so the channels
//! never drift further apart than that. If the monitor fails the recording goes on with a
//! silent second channel and a warning; if the microphone fails or ends, so does the mix.

use super::RecordError;
use super::source::{CaptureSource, RingReader, RingWriter, RunningSource, SourceEvent, SourceEvents, SourceFormat, ring};
use crate::audio::StreamResampler;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Most monitor audio held waiting for microphone frames, in seconds.
pub const MAX_MONITOR_BACKLOG_S: f64 = 0.2;
const MIX_PERIOD: Duration = Duration::from_millis(10);

pub struct MixSource {
    microphone: Box<dyn CaptureSource>,
    monitor: Box<dyn CaptureSource>,
    name: String,
}

impl MixSource {
    pub fn new(microphone: Box<dyn CaptureSource>, monitor: Box<dyn CaptureSource>) -> Result<MixSource, RecordError> {
        let name = format!("{} + {}", microphone.name(), monitor.name());
        Ok(MixSource { microphone, monitor, name })
    }
}

impl CaptureSource for MixSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> SourceFormat {
        SourceFormat { sample_rate_hz: self.microphone.format().sample_rate_hz, channel_count: 2 }
    }

    /// The monitor is silent whenever nothing plays: only the microphone is watched.
    fn silence_watched_channels(&self) -> Range<usize> {
        0..1
    }

    fn start(self: Box<Self>, output: RingWriter, events: SourceEvents) -> Result<Box<dyn RunningSource>, RecordError> {
        let format = self.format();
        let monitor_format = self.monitor.format();
        let resampler = StreamResampler::new(monitor_format.sample_rate_hz, format.sample_rate_hz, 1)
            .map_err(|reason| RecordError::NoMonitor(reason))?;
        let (microphone_writer, microphone_ring) = ring(self.microphone.format());
        let (monitor_writer, monitor_ring) = ring(monitor_format);
        let (microphone_events_sender, microphone_events) = mpsc::channel();
        let (monitor_events_sender, monitor_events) = mpsc::channel();
        let microphone = self.microphone.start(microphone_writer, microphone_events_sender)?;
        let monitor = match self.monitor.start(monitor_writer, monitor_events_sender) {
            Ok(monitor) => monitor,
            Err(error) => {
                microphone.stop();
                return Err(error);
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mixer = Mixer {
            output,
            events,
            microphone_ring,
            monitor_ring,
            microphone_events,
            monitor_events,
            resampler: Some(resampler),
            backlog: VecDeque::new(),
            max_backlog: (MAX_MONITOR_BACKLOG_S * f64::from(format.sample_rate_hz)) as usize,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("verbatim-mix".into())
            .spawn(move || mixer.run(microphone, monitor))
            .map_err(|error| RecordError::NoMonitor(error.to_string()))?;
        Ok(Box::new(RunningMix { stop, thread: Some(thread) }))
    }
}

struct Mixer {
    output: RingWriter,
    events: SourceEvents,
    microphone_ring: RingReader,
    monitor_ring: RingReader,
    microphone_events: mpsc::Receiver<SourceEvent>,
    monitor_events: mpsc::Receiver<SourceEvent>,
    /// `None` once the monitor failed: the second channel is silence from then on.
    resampler: Option<StreamResampler>,
    backlog: VecDeque<f32>,
    max_backlog: usize,
    stop: Arc<AtomicBool>,
}

impl Mixer {
    fn run(mut self, microphone: Box<dyn RunningSource>, monitor: Box<dyn RunningSource>) {
        let mut monitor = Some(monitor);
        let mut scratch = Vec::new();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let microphone_end = self.microphone_events.try_recv().ok().filter(|event| !matches!(event, SourceEvent::Warning(_)));
            if let Ok(event) = self.monitor_events.try_recv() {
                self.on_monitor_event(event, &mut monitor);
            }
            self.mix_available(&mut scratch);
            if let Some(event) = microphone_end {
                let _ = self.events.send(event);
                break;
            }
            std::thread::sleep(MIX_PERIOD);
        }
        microphone.stop();
        if let Some(monitor) = monitor {
            monitor.stop();
        }
        self.mix_available(&mut scratch);
    }

    fn on_monitor_event(&mut self, event: SourceEvent, monitor: &mut Option<Box<dyn RunningSource>>) {
        match event {
            SourceEvent::Warning(message) => {
                let _ = self.events.send(SourceEvent::Warning(message));
            }
            SourceEvent::Failed(_) | SourceEvent::Ended if self.resampler.is_none() => {}
            other => {
                let reason = match other {
                    SourceEvent::Failed(message) => message,
                    _ => "it ended".to_string(),
                };
                let _ = self.events.send(SourceEvent::Warning(format!(
                    "the monitor of the output stopped ({reason}); the second channel is silent from here"
                )));
                self.resampler = None;
                self.backlog.clear();
                if let Some(monitor) = monitor.take() {
                    monitor.stop();
                }
            }
        }
    }

    /// Mixes every microphone frame waiting with the monitor frames that go with it.
    fn mix_available(&mut self, scratch: &mut Vec<f32>) {
        scratch.clear();
        self.monitor_ring.drain_into(scratch);
        if let Some(resampler) = self.resampler.as_mut() {
            let mono = downmix_interleaved(scratch, self.monitor_ring.channel_count);
            if let Ok(resampled) = resampler.push(vec![mono]) {
                self.backlog.extend(resampled.into_iter().flatten());
            }
        }
        scratch.clear();
        self.microphone_ring.drain_into(scratch);
        let microphone = downmix_interleaved(scratch, self.microphone_ring.channel_count);
        let mut mixed = Vec::with_capacity(microphone.len() * 2);
        for sample in microphone {
            mixed.push(sample);
            mixed.push(self.backlog.pop_front().unwrap_or(0.0));
        }
        let excess = self.backlog.len().saturating_sub(self.max_backlog);
        self.backlog.drain(..excess);
        self.output.push(&mixed);
    }
}

fn downmix_interleaved(samples: &[f32], channel_count: usize) -> Vec<f32> {
    let channel_count = channel_count.max(1);
    let scale = 1.0 / channel_count as f32;
    samples.chunks_exact(channel_count).map(|frame| frame.iter().sum::<f32>() * scale).collect()
}

struct RunningMix {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningSource for RunningMix {
    fn stop(mut self: Box<Self>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
