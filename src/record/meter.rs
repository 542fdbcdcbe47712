//! The level meter and the silence watch, computed by the writer thread from the frames it
//! drains: per channel peak and RMS over the latest ~50 ms (what a meter draws each frame),
//! clipping, and how long the watched channels have been digital silence.

use std::ops::Range;

/// A sample at or beyond this magnitude counts as clipped (the top of 16-bit full scale).
pub const CLIP_LEVEL: f32 = 32_767.0 / 32_768.0;
/// How long clipping stays shown after the last clipped sample, in seconds.
const CLIP_HOLD_S: f64 = 1.0;
/// The meter's window, in seconds.
const WINDOW_S: f64 = 0.05;

/// One channel's level, linear full scale (1.0 = 0 dBFS).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelLevel {
    pub peak: f32,
    pub rms: f32,
    /// A sample reached full scale within the last second.
    pub clipping: bool,
}

/// Running levels of every channel.
pub(crate) struct Meter {
    channel_count: usize,
    sample_rate_hz: u32,
    window_frames: usize,
    /// Sums over the current window, per channel.
    peak: Vec<f32>,
    square_sum: Vec<f64>,
    frames_in_window: usize,
    /// Frames since each channel last clipped.
    frames_since_clip: Vec<u64>,
    pub(crate) levels: Vec<ChannelLevel>,
    pub(crate) clipped_samples: u64,
    watched: Range<usize>,
    /// Frames of digital silence in a row on every watched channel.
    silent_frames: u64,
}

impl Meter {
    pub(crate) fn new(sample_rate_hz: u32, channel_count: usize, watched: Range<usize>) -> Meter {
        Meter {
            channel_count,
            sample_rate_hz,
            window_frames: ((f64::from(sample_rate_hz) * WINDOW_S) as usize).max(1),
            peak: vec![0.0; channel_count],
            square_sum: vec![0.0; channel_count],
            frames_in_window: 0,
            frames_since_clip: vec![u64::MAX; channel_count],
            levels: vec![ChannelLevel::default(); channel_count],
            clipped_samples: 0,
            watched,
            silent_frames: 0,
        }
    }

    /// Takes interleaved frames.
    pub(crate) fn add(&mut self, samples: &[f32]) {
        let clip_hold_frames = (CLIP_HOLD_S * f64::from(self.sample_rate_hz)) as u64;
        for frame in samples.chunks_exact(self.channel_count.max(1)) {
            let mut silent = true;
            for (channel, &sample) in frame.iter().enumerate() {
                let magnitude = sample.abs();
                if let Some(peak) = self.peak.get_mut(channel) {
                    *peak = peak.max(magnitude);
                }
                if let Some(sum) = self.square_sum.get_mut(channel) {
                    *sum += f64::from(sample) * f64::from(sample);
                }
                if let Some(since) = self.frames_since_clip.get_mut(channel) {
                    if magnitude >= CLIP_LEVEL {
                        *since = 0;
                        self.clipped_samples += 1;
                    } else {
                        *since = since.saturating_add(1);
                    }
                }
                if self.watched.contains(&channel) && sample != 0.0 {
                    silent = false;
                }
            }
            self.silent_frames = if silent { self.silent_frames + 1 } else { 0 };
            self.frames_in_window += 1;
            if self.frames_in_window >= self.window_frames {
                self.close_window(clip_hold_frames);
            }
        }
    }

    fn close_window(&mut self, clip_hold_frames: u64) {
        let frames = self.frames_in_window.max(1) as f64;
        for channel in 0..self.channel_count {
            let level = ChannelLevel {
                peak: self.peak[channel],
                rms: (self.square_sum[channel] / frames).sqrt() as f32,
                clipping: self.frames_since_clip[channel] <= clip_hold_frames,
            };
            self.levels[channel] = level;
            self.peak[channel] = 0.0;
            self.square_sum[channel] = 0.0;
        }
        self.frames_in_window = 0;
    }

    /// Seconds the watched channels have been digital silence, without a break.
    pub(crate) fn silent_s(&self) -> f64 {
        self.silent_frames as f64 / f64::from(self.sample_rate_hz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_per_channel_and_clipping() {
        let mut meter = Meter::new(1000, 2, 0..2);
        let frames: Vec<f32> = (0..100).flat_map(|_| [0.5_f32, -1.0]).collect();
        meter.add(&frames);
        assert!((meter.levels[0].peak - 0.5).abs() < 1e-6);
        assert!((meter.levels[0].rms - 0.5).abs() < 1e-6);
        assert!(!meter.levels[0].clipping);
        assert!(meter.levels[1].clipping);
        assert_eq!(meter.clipped_samples, 100);
    }

    #[test]
    fn silence_counts_only_watched_channels_and_resets_on_sound() {
        let mut meter = Meter::new(1000, 2, 0..1);
        let quiet_mic_loud_monitor: Vec<f32> = (0..2000).flat_map(|_| [0.0_f32, 0.3]).collect();
        meter.add(&quiet_mic_loud_monitor);
        assert!((meter.silent_s() - 2.0).abs() < 1e-9);
        meter.add(&[0.001, 0.0]);
        assert_eq!(meter.silent_s(), 0.0);
    }
}
