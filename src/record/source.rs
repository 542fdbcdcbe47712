//! What a capture source is, to the recorder: something that, once started, pushes interleaved
//! `f32` frames at its own rate and channel count into a lock-free ring, and reports warnings,
//! failure or its end through a side channel. The microphone (cpal), the virtual microphone
//! that plays a file, and the two-source mix are all sources; the recorder knows none of them.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Seconds of audio the ring between a source and the writer holds: how long the writer may
/// stall (a slow disk, a sync) before frames are dropped and counted as overruns.
pub const RING_SECONDS: usize = 10;

/// The shape of the frames a source pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFormat {
    pub sample_rate_hz: u32,
    pub channel_count: usize,
}

/// What a source says besides samples. Sent from ordinary threads, never from the audio callback
/// (which only sets atomics; see `cpal_input`).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// Something worth showing that does not stop the recording (the monitor half of a mix failed).
    Warning(String),
    /// The source cannot go on (the device disappeared): what was captured is kept.
    Failed(String),
    /// The source has nothing more (the end of the virtual microphone's file).
    Ended,
}

/// The producing side of the ring, handed to a started source. Pushes never block and never
/// allocate; frames that do not fit are dropped whole and counted.
pub struct RingWriter {
    producer: rtrb::Producer<f32>,
    channel_count: usize,
    overrun_frames: Arc<AtomicU64>,
}

impl RingWriter {
    /// Pushes as many whole frames of `samples` (interleaved) as fit, each converted by `convert`;
    /// counts the rest as overruns. Safe to call from a real-time callback.
    pub fn push_converted<T: Copy>(&mut self, samples: &[T], convert: impl Fn(T) -> f32) -> usize {
        let channel_count = self.channel_count.max(1);
        let offered_frames = samples.len() / channel_count;
        let fitting_frames = offered_frames.min(self.producer.slots() / channel_count);
        let count = fitting_frames * channel_count;
        if let Ok(chunk) = self.producer.write_chunk_uninit(count) {
            chunk.fill_from_iter(samples.iter().take(count).map(|&sample| convert(sample)));
        }
        let dropped = offered_frames - fitting_frames;
        if dropped > 0 {
            self.overrun_frames.fetch_add(dropped as u64, Ordering::Relaxed);
        }
        fitting_frames
    }

    /// Pushes `f32` frames as they are (see `push_converted`).
    pub fn push(&mut self, samples: &[f32]) -> usize {
        self.push_converted(samples, |sample| sample)
    }

    /// Whole frames that fit now (sources that may wait, like the file player, use this).
    pub fn free_frames(&self) -> usize {
        self.producer.slots() / self.channel_count.max(1)
    }

    pub fn channel_count(&self) -> usize {
        self.channel_count
    }
}

/// The consuming side, read by the recorder's writer thread.
pub struct RingReader {
    pub(crate) consumer: rtrb::Consumer<f32>,
    pub(crate) channel_count: usize,
    pub(crate) overrun_frames: Arc<AtomicU64>,
}

impl RingReader {
    /// Moves every whole frame waiting in the ring to the end of `out`; returns the frame count.
    pub fn drain_into(&mut self, out: &mut Vec<f32>) -> usize {
        let channel_count = self.channel_count.max(1);
        let frames = self.consumer.slots() / channel_count;
        if let Ok(chunk) = self.consumer.read_chunk(frames * channel_count) {
            let (first, second) = chunk.as_slices();
            out.extend_from_slice(first);
            out.extend_from_slice(second);
            chunk.commit_all();
        }
        frames
    }

    /// Frames dropped so far because the ring was full.
    pub fn overrun_frames(&self) -> u64 {
        self.overrun_frames.load(Ordering::Relaxed)
    }

    /// True once the writer side is gone and the ring is empty: nothing more will come.
    pub fn is_finished(&self) -> bool {
        self.consumer.is_abandoned() && self.consumer.is_empty()
    }
}

/// A ring sized for `RING_SECONDS` of `format`.
pub fn ring(format: SourceFormat) -> (RingWriter, RingReader) {
    let channel_count = format.channel_count.max(1);
    let capacity = format.sample_rate_hz as usize * channel_count * RING_SECONDS;
    let (producer, consumer) = rtrb::RingBuffer::new(capacity.max(channel_count));
    let overrun_frames = Arc::new(AtomicU64::new(0));
    (
        RingWriter { producer, channel_count, overrun_frames: overrun_frames.clone() },
        RingReader { consumer, channel_count, overrun_frames },
    )
}

/// The side channel of a started source.
pub type SourceEvents = mpsc::Sender<SourceEvent>;

/// A capture source, opened (its format known) but not started.
pub trait CaptureSource: Send {
    /// What the user would call it: the device's name, or the file's.
    fn name(&self) -> &str;

    fn format(&self) -> SourceFormat;

    /// The channels whose digital silence means "wrong microphone?" (a mix's monitor half is
    /// silent whenever nothing plays, so it is not watched).
    fn silence_watched_channels(&self) -> Range<usize> {
        0..self.format().channel_count
    }

    /// Starts pushing frames into `ring` and events into `events`. Returns once capture runs.
    fn start(
        self: Box<Self>,
        ring: RingWriter,
        events: SourceEvents,
    ) -> Result<Box<dyn RunningSource>, super::RecordError>;
}

/// A started source.
pub trait RunningSource: Send {
    /// Stops capturing after the frames the device already holds are delivered (nothing is lost
    /// at the end), then drops the ring's writer. Returns when no more frames will come.
    fn stop(self: Box<Self>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_that_do_not_fit_are_dropped_whole_and_counted() {
        let (mut writer, mut reader) = ring(SourceFormat { sample_rate_hz: 1, channel_count: 2 });
        // Capacity: 1 Hz × 2 channels × RING_SECONDS samples = RING_SECONDS frames.
        let samples: Vec<i16> = (0..(RING_SECONDS as i16 + 3) * 2).collect();
        let pushed = writer.push_converted(&samples, |s| f32::from(s));
        assert_eq!(pushed, RING_SECONDS);
        assert_eq!(reader.overrun_frames(), 3);
        let mut out = Vec::new();
        assert_eq!(reader.drain_into(&mut out), RING_SECONDS);
        assert_eq!(out.len(), RING_SECONDS * 2);
        assert_eq!(out[3], 3.0);
        drop(writer);
        assert!(reader.is_finished());
    }

    #[test]
    fn a_partial_frame_is_never_pushed() {
        let (mut writer, mut reader) = ring(SourceFormat { sample_rate_hz: 100, channel_count: 2 });
        assert_eq!(writer.push(&[0.1, 0.2, 0.3]), 1);
        let mut out = Vec::new();
        reader.drain_into(&mut out);
        assert_eq!(out, vec![0.1, 0.2]);
    }
}
