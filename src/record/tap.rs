//! The live tap: what live engines read while the recording goes on. The writer thread hands it
//! the exact 16-bit samples it writes to the file; the tap resamples them to 16 kHz with the
//! project's resampler and sends `AudioBlock`s of about 100 ms, every channel kept, whose
//! `start_s` is their place in the file (paused audio is not in the file, so not in the tap).
//!
//! The channel is unbounded and sends never wait: the recording never waits for a reader, and a
//! reader that is gone (a failed live engine) is simply no longer sent to.

use crate::audio::{AudioBlock, ENGINE_SAMPLE_RATE_HZ, StreamResampler};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Frames per tap block at 16 kHz: 100 ms.
pub const TAP_BLOCK_FRAMES: usize = ENGINE_SAMPLE_RATE_HZ as usize / 10;

/// The receiving end live engines take: 16 kHz blocks; closed when the recording has ended.
pub type LiveTapReceiver = UnboundedReceiver<AudioBlock>;

pub(crate) struct LiveTap {
    sender: Option<UnboundedSender<AudioBlock>>,
    resampler: StreamResampler,
    channel_count: usize,
    pending: Vec<Vec<f32>>,
    /// Frames at 16 kHz sent so far: the next block's start.
    sent_frames: u64,
}

impl LiveTap {
    pub(crate) fn new(sample_rate_hz: u32, channel_count: usize) -> Result<(LiveTap, LiveTapReceiver), String> {
        let (sender, receiver) = unbounded_channel();
        let tap = LiveTap {
            sender: Some(sender),
            resampler: StreamResampler::new(sample_rate_hz, ENGINE_SAMPLE_RATE_HZ, channel_count)?,
            channel_count,
            pending: vec![Vec::new(); channel_count],
            sent_frames: 0,
        };
        Ok((tap, receiver))
    }

    /// Takes interleaved 16-bit samples, as written to the file.
    pub(crate) fn push(&mut self, samples: &[i16]) {
        if self.sender.is_none() {
            return;
        }
        let channel_count = self.channel_count.max(1);
        let mut planar = vec![Vec::with_capacity(samples.len() / channel_count); channel_count];
        for frame in samples.chunks_exact(channel_count) {
            for (channel, &sample) in planar.iter_mut().zip(frame) {
                channel.push(f32::from(sample) / 32_768.0);
            }
        }
        match self.resampler.push(planar) {
            Ok(frames) => self.append(frames, false),
            Err(reason) => self.give_up(&reason),
        }
    }

    /// Flushes the resampler and sends the rest; the receiver then sees the channel close.
    pub(crate) fn finish(mut self) {
        if self.sender.is_none() {
            return;
        }
        match self.resampler.finish() {
            Ok(frames) => self.append(frames, true),
            Err(reason) => self.give_up(&reason),
        }
    }

    fn append(&mut self, frames: Vec<Vec<f32>>, last: bool) {
        for (pending, channel) in self.pending.iter_mut().zip(frames) {
            pending.extend_from_slice(&channel);
        }
        while self.pending_frames() >= TAP_BLOCK_FRAMES || (last && self.pending_frames() > 0) {
            let take = TAP_BLOCK_FRAMES.min(self.pending_frames());
            let channels = self
                .pending
                .iter_mut()
                .map(|channel| {
                    let rest = channel.split_off(take);
                    std::mem::replace(channel, rest)
                })
                .collect();
            let block = AudioBlock { start_s: self.sent_frames as f64 / f64::from(ENGINE_SAMPLE_RATE_HZ), channels };
            self.sent_frames += take as u64;
            let reader_gone = self.sender.as_ref().is_none_or(|sender| sender.send(block).is_err());
            if reader_gone {
                self.sender = None;
                return;
            }
        }
    }

    fn pending_frames(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    /// The tap stops (its channel closes) but the recording goes on.
    fn give_up(&mut self, reason: &str) {
        log::warn!("live audio stopped: {reason}");
        self.sender = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_contiguous_100_ms_and_closed_at_the_end() {
        let (mut tap, mut receiver) = LiveTap::new(48_000, 2).unwrap();
        let samples: Vec<i16> = (0..48_000 * 2).map(|n| ((n / 2) % 1000) as i16).collect();
        for piece in samples.chunks(2 * 441) {
            tap.push(piece);
        }
        tap.finish();
        let mut expected_start_s = 0.0;
        let mut frames = 0;
        while let Ok(block) = receiver.try_recv() {
            assert!((block.start_s - expected_start_s).abs() < 1e-9);
            assert_eq!(block.channels.len(), 2);
            expected_start_s += block.duration_s();
            frames += block.frame_count();
        }
        assert_eq!(frames, 16_000);
        assert!(receiver.is_closed());
    }

    #[test]
    fn a_reader_that_goes_away_does_not_stop_the_writer() {
        let (mut tap, receiver) = LiveTap::new(16_000, 1).unwrap();
        drop(receiver);
        tap.push(&[1; 32_000]);
        tap.finish();
    }
}
