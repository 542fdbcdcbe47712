//! The playback clock: where in the file the listener is, counted from the frames the output
//! actually consumed (not the frames decoded, which run ahead by the ring's length).
//!
//! The output side (`OutputFeed`, called from the audio callback or from a fake output in
//! tests) pops interleaved samples from the ring and counts them; the UI reads the count each
//! frame. A seek starts a new *epoch*: the player requests it (from then on the output is
//! silent and throws away whatever the ring holds), the decoder thread announces it once it
//! has stopped decoding the old position, the output then acknowledges it (ring emptied,
//! count reset), and only then does the decoder push the new position's samples. So the
//! count always belongs to one start position and one speed, and nothing stale is heard,
//! however far the decoder lags behind the seeks.
//!
//! Nothing here locks or allocates: atomics only.

use rtrb::Consumer;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What the decoder thread, the output and the UI share.
#[derive(Debug, Default)]
pub struct ClockShared {
    /// Plays when set; else the output gives silence and consumes nothing.
    pub playing: AtomicBool,
    /// The epoch the player wants heard (set at a seek).
    pub requested_epoch: AtomicU64,
    /// The epoch the decoder is about to fill the ring for.
    pub announced_epoch: AtomicU64,
    /// The last epoch the output has switched to (ring emptied, count reset).
    pub acknowledged_epoch: AtomicU64,
    /// Output frames consumed since the acknowledged epoch began.
    pub consumed_frames: AtomicU64,
    /// The decoder has pushed the last frame of this epoch (end of file); 0 for none (the
    /// decoder numbers its epochs from 1).
    pub decoded_to_end_epoch: AtomicU64,
    /// The output has played everything of this epoch (end of file reached); 0 for none.
    pub ended_epoch: AtomicU64,
    /// Callbacks that found the ring empty while playing (the decoder fell behind).
    pub underruns: AtomicU64,
}

impl ClockShared {
    /// Frames consumed in `epoch`, or `None` while the output has not switched to it yet.
    pub fn consumed_in(&self, epoch: u64) -> Option<u64> {
        // The epoch first: the feed resets the count before it acknowledges.
        (self.acknowledged_epoch.load(Ordering::Acquire) == epoch)
            .then(|| self.consumed_frames.load(Ordering::Acquire))
    }
}

/// The output's end of the ring: what the audio callback calls.
pub struct OutputFeed {
    consumer: Consumer<f32>,
    shared: std::sync::Arc<ClockShared>,
    channels: usize,
}

impl OutputFeed {
    pub fn new(
        consumer: Consumer<f32>,
        shared: std::sync::Arc<ClockShared>,
        channels: usize,
    ) -> OutputFeed {
        OutputFeed {
            consumer,
            shared,
            channels: channels.max(1),
        }
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn shared(&self) -> &ClockShared {
        &self.shared
    }

    /// Fills `output` (interleaved) with the next samples, silence where there are none or
    /// while paused; returns the frames that came from the stream. Real-time safe.
    pub fn fill(&mut self, output: &mut [f32]) -> usize {
        let switching = !self.switch_epoch_when_ready();
        let wanted_frames = output.len() / self.channels;
        if switching || !self.shared.playing.load(Ordering::Acquire) {
            output.fill(0.0);
            return 0;
        }
        let available_frames = self.consumer.slots() / self.channels;
        let frames = wanted_frames.min(available_frames);
        let samples = frames * self.channels;
        if let Ok(chunk) = self.consumer.read_chunk(samples) {
            let (first, second) = chunk.as_slices();
            output[..first.len()].copy_from_slice(first);
            output[first.len()..samples].copy_from_slice(second);
            chunk.commit_all();
        }
        output[samples..].fill(0.0);
        self.shared
            .consumed_frames
            .fetch_add(frames as u64, Ordering::AcqRel);
        if frames < wanted_frames {
            self.note_empty_ring();
        }
        frames
    }

    /// Moves to the requested epoch once the decoder has announced it; until then drops
    /// whatever the ring holds. Returns whether the requested epoch is the current one.
    fn switch_epoch_when_ready(&mut self) -> bool {
        let requested = self.shared.requested_epoch.load(Ordering::Acquire);
        if requested == self.shared.acknowledged_epoch.load(Ordering::Acquire) {
            return true;
        }
        let stale = self.consumer.slots();
        if let Ok(chunk) = self.consumer.read_chunk(stale) {
            chunk.commit_all();
        }
        if self.shared.announced_epoch.load(Ordering::Acquire) != requested {
            return false;
        }
        self.shared.consumed_frames.store(0, Ordering::Release);
        self.shared
            .acknowledged_epoch
            .store(requested, Ordering::Release);
        true
    }

    /// The ring ran dry: the end of the file if the decoder said so, else an underrun.
    fn note_empty_ring(&self) {
        let epoch = self.shared.acknowledged_epoch.load(Ordering::Acquire);
        if epoch != 0
            && self.shared.decoded_to_end_epoch.load(Ordering::Acquire) == epoch
            && self.consumer.slots() == 0
        {
            self.shared.ended_epoch.store(epoch, Ordering::Release);
        } else {
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_feed_counts_frames_played_and_gives_silence_when_paused_or_dry() {
        let shared = Arc::new(ClockShared::default());
        let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(64);
        let mut feed = OutputFeed::new(consumer, shared.clone(), 2);
        for sample in 1..=8 {
            producer.push(sample as f32).unwrap();
        }
        let mut output = [9.0_f32; 6];
        assert_eq!(feed.fill(&mut output), 0, "paused");
        assert_eq!(output, [0.0; 6]);
        shared.playing.store(true, Ordering::Release);
        assert_eq!(feed.fill(&mut output), 3);
        assert_eq!(output, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(feed.fill(&mut output), 1);
        assert_eq!(output, [7.0, 8.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(shared.consumed_in(0), Some(4));
        assert_eq!(shared.underruns.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_new_epoch_drops_what_the_ring_holds_and_restarts_the_count() {
        let shared = Arc::new(ClockShared::default());
        let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(64);
        let mut feed = OutputFeed::new(consumer, shared.clone(), 1);
        shared.playing.store(true, Ordering::Release);
        for _ in 0..10 {
            producer.push(0.5).unwrap();
        }
        let mut output = [0.0_f32; 4];
        feed.fill(&mut output);
        shared.requested_epoch.store(1, Ordering::Release);
        assert_eq!(
            feed.fill(&mut output),
            0,
            "silent until the decoder has moved"
        );
        producer.push(0.75).unwrap(); // the decoder, still on the old position
        assert_eq!(shared.consumed_in(1), None, "not switched yet");
        shared.announced_epoch.store(1, Ordering::Release);
        assert_eq!(
            feed.fill(&mut output),
            0,
            "the old epoch's samples are gone"
        );
        assert_eq!(shared.consumed_in(1), Some(0));
        producer.push(0.25).unwrap();
        shared.decoded_to_end_epoch.store(1, Ordering::Release);
        assert_eq!(feed.fill(&mut output), 1);
        assert_eq!(output, [0.25, 0.0, 0.0, 0.0]);
        assert_eq!(shared.ended_epoch.load(Ordering::Acquire), 1);
    }
}
