//! Speed without a pitch change: a streaming WSOLA (waveform-similarity overlap-add).
//!
//! Why our own: the maintained crates we looked at either wrap a C++ library through bindgen
//! (signalsmith-stretch, ssstretch: a C++ build and libclang for one feature) or are tuned for
//! music with a large surface (timestretch). Speech at 0.5×–2× is what WSOLA does well, and it
//! is small enough to own and test.
//!
//! How: the output is built from Hann-windowed frames of `window_len` input frames, placed
//! every `hop` output frames (half a window, so the windows sum to one). Frame `k` is read
//! from near input position `k · hop · speed`: within ± `tolerance` of it, at the offset whose
//! waveform best matches the natural continuation of the previous frame (normalised cross
//! correlation on the channels' mix), so the overlap-add adds waves in phase and the pitch
//! stays. Channels share the offsets, so stereo keeps its image. At speed 1 it is a copy.

/// Window length in seconds: a few pitch periods of a voice.
const WINDOW_S: f64 = 0.030;
/// How far the search may move from the nominal position, as a fraction of the window.
const TOLERANCE_FRACTION: f64 = 0.25;
/// The correlation looks at every n-th sample (cheap, and enough for speech's low frequencies).
const SEARCH_STRIDE: usize = 2;

/// Slowest and fastest speed accepted.
pub const MIN_SPEED: f64 = 0.5;
pub const MAX_SPEED: f64 = 2.0;

/// A time-stretcher for interleaved frames of `channels` channels.
pub struct Stretcher {
    channels: usize,
    speed: f64,
    window_len: usize,
    hop: usize,
    tolerance: usize,
    window: Vec<f32>,
    /// Interleaved input not yet consumed; `input[0]` is input frame `input_origin`.
    input: Vec<f32>,
    input_origin: u64,
    /// Input frames received in all.
    input_end: u64,
    frame_index: u64,
    /// Where the previous frame was read from (input frame).
    previous_start: Option<u64>,
    /// The second half of the previous windowed frame, waiting for the next one.
    overlap: Vec<f32>,
    finished: bool,
}

impl Stretcher {
    /// `speed` is clamped to `MIN_SPEED..=MAX_SPEED`; 2 plays twice as fast.
    pub fn new(channels: usize, sample_rate_hz: u32, speed: f64) -> Stretcher {
        let channels = channels.max(1);
        let half = ((WINDOW_S * f64::from(sample_rate_hz)) / 2.0)
            .round()
            .max(16.0) as usize;
        let window_len = half * 2;
        let window = (0..window_len)
            .map(|n| {
                let phase = std::f64::consts::TAU * n as f64 / window_len as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        Stretcher {
            channels,
            speed: clamp_speed(speed),
            window_len,
            hop: half,
            tolerance: (window_len as f64 * TOLERANCE_FRACTION) as usize,
            window,
            input: Vec::new(),
            input_origin: 0,
            input_end: 0,
            frame_index: 0,
            previous_start: None,
            overlap: vec![0.0; half * channels],
            finished: false,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Adds interleaved input and appends what can be finished to `output`.
    pub fn push(&mut self, interleaved: &[f32], output: &mut Vec<f32>) {
        if self.is_copy() {
            output.extend_from_slice(interleaved);
            return;
        }
        self.input.extend_from_slice(interleaved);
        self.input_end += (interleaved.len() / self.channels) as u64;
        while self.frame_ready() {
            self.emit_frame(output);
        }
        self.discard_consumed();
    }

    /// The input has ended: appends the rest (the last frames read against silence).
    pub fn finish(&mut self, output: &mut Vec<f32>) {
        if self.is_copy() || self.finished {
            return;
        }
        self.finished = true;
        let padding = self.window_len + 2 * self.tolerance + self.hop;
        self.input
            .extend(std::iter::repeat_n(0.0, padding * self.channels));
        let real_end = self.input_end;
        self.input_end += padding as u64;
        while self.nominal_start(self.frame_index) < real_end && self.frame_ready() {
            self.emit_frame(output);
        }
        output.extend_from_slice(&self.overlap);
    }

    fn is_copy(&self) -> bool {
        (self.speed - 1.0).abs() < 1e-6
    }

    fn nominal_start(&self, frame_index: u64) -> u64 {
        (frame_index as f64 * self.hop as f64 * self.speed).round() as u64
    }

    /// Whether every candidate and the natural continuation of frame `frame_index` are in.
    fn frame_ready(&self) -> bool {
        let last_candidate = self.nominal_start(self.frame_index) + self.tolerance as u64;
        let natural_end = self.previous_start.map_or(0, |previous| {
            previous + self.hop as u64 + self.window_len as u64
        });
        let needed = (last_candidate + self.window_len as u64).max(natural_end);
        needed <= self.input_end
    }

    fn emit_frame(&mut self, output: &mut Vec<f32>) {
        let start = match self.previous_start {
            None => self.nominal_start(self.frame_index),
            Some(previous) => self.best_start(previous + self.hop as u64),
        };
        let base = (start - self.input_origin) as usize * self.channels;
        let channels = self.channels;
        for n in 0..self.window_len {
            let weight = self.window[n];
            for channel in 0..channels {
                let sample = self.input[base + n * channels + channel] * weight;
                if n < self.hop {
                    output.push(self.overlap[n * channels + channel] + sample);
                } else {
                    self.overlap[(n - self.hop) * channels + channel] = sample;
                }
            }
        }
        self.previous_start = Some(start);
        self.frame_index += 1;
    }

    /// The input frame near the nominal position whose next window looks most like the one
    /// at `natural` (the continuation of what was played last).
    fn best_start(&self, natural: u64) -> u64 {
        let nominal = self.nominal_start(self.frame_index);
        let low = nominal
            .saturating_sub(self.tolerance as u64)
            .max(self.input_origin);
        let high = nominal + self.tolerance as u64;
        let reference = self.mono_range(natural, self.hop);
        let mut best = (f32::MIN, nominal.max(low));
        for candidate in low..=high {
            let mut dot = 0.0_f32;
            let mut energy = 1e-9_f32;
            for (offset, reference_sample) in reference.iter().enumerate() {
                let sample = self.mono_at(candidate + (offset * SEARCH_STRIDE) as u64);
                dot += sample * reference_sample;
                energy += sample * sample;
            }
            let score = dot / energy.sqrt();
            if score > best.0 {
                best = (score, candidate);
            }
        }
        best.1
    }

    fn mono_range(&self, start: u64, length: usize) -> Vec<f32> {
        (0..length)
            .step_by(SEARCH_STRIDE)
            .map(|offset| self.mono_at(start + offset as u64))
            .collect()
    }

    fn mono_at(&self, frame: u64) -> f32 {
        let base = (frame - self.input_origin) as usize * self.channels;
        self.input[base..base + self.channels].iter().sum()
    }

    /// Drops input no later frame can read.
    fn discard_consumed(&mut self) {
        let next_low = self
            .nominal_start(self.frame_index)
            .saturating_sub(self.tolerance as u64);
        let natural = self
            .previous_start
            .map_or(next_low, |previous| previous + self.hop as u64);
        let keep_from = next_low.min(natural);
        if keep_from > self.input_origin {
            let drop_frames = (keep_from - self.input_origin) as usize;
            self.input.drain(..drop_frames * self.channels);
            self.input_origin = keep_from;
        }
    }
}

/// `speed` within what the player offers (NaN becomes 1).
pub fn clamp_speed(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(MIN_SPEED, MAX_SPEED)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    fn sine(frequency_hz: f64, seconds: f64, channels: usize) -> Vec<f32> {
        let frames = (seconds * f64::from(RATE)) as usize;
        (0..frames)
            .flat_map(|n| {
                let value = (std::f64::consts::TAU * frequency_hz * n as f64 / f64::from(RATE))
                    .sin() as f32
                    * 0.5;
                std::iter::repeat_n(value, channels)
            })
            .collect()
    }

    /// Frequency from the rising zero crossings of the middle half (away from the fades).
    fn frequency_of(mono: &[f32]) -> f64 {
        let middle = &mono[mono.len() / 4..mono.len() * 3 / 4];
        let crossings: Vec<usize> = middle
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| pair[0] <= 0.0 && pair[1] > 0.0)
            .map(|(index, _)| index)
            .collect();
        let (Some(first), Some(last)) = (crossings.first(), crossings.last()) else {
            return 0.0;
        };
        (crossings.len() - 1) as f64 * f64::from(RATE) / (last - first) as f64
    }

    fn stretch_in_chunks(input: &[f32], channels: usize, speed: f64) -> Vec<f32> {
        let mut stretcher = Stretcher::new(channels, RATE, speed);
        let mut output = Vec::new();
        for chunk in input.chunks(997 * channels) {
            stretcher.push(chunk, &mut output);
        }
        stretcher.finish(&mut output);
        output
    }

    #[test]
    fn the_pitch_stays_and_the_duration_scales() {
        let input = sine(220.0, 2.0, 1);
        for speed in [0.5, 0.75, 1.5, 2.0] {
            let output = stretch_in_chunks(&input, 1, speed);
            let expected = input.len() as f64 / speed;
            let ratio = output.len() as f64 / expected;
            assert!(
                (0.97..1.03).contains(&ratio),
                "speed {speed}: {} frames, expected about {expected}",
                output.len()
            );
            let frequency = frequency_of(&output);
            assert!(
                (frequency - 220.0).abs() < 2.0,
                "speed {speed}: the tone is {frequency} Hz, not 220 Hz"
            );
        }
    }

    #[test]
    fn the_level_of_a_tone_is_kept() {
        let output = stretch_in_chunks(&sine(300.0, 1.0, 1), 1, 1.5);
        let middle = &output[output.len() / 4..output.len() * 3 / 4];
        let peak = middle
            .iter()
            .fold(0.0_f32, |peak, sample| peak.max(sample.abs()));
        assert!(
            (0.4..0.6).contains(&peak),
            "peak {peak}, the input's is 0.5"
        );
    }

    #[test]
    fn stereo_channels_stay_together() {
        let output = stretch_in_chunks(&sine(180.0, 1.0, 2), 2, 0.5);
        assert_eq!(output.len() % 2, 0);
        assert!(
            output
                .chunks(2)
                .all(|frame| (frame[0] - frame[1]).abs() < 1e-6)
        );
    }

    #[test]
    fn speed_one_is_a_copy_and_speeds_are_clamped() {
        let input = sine(440.0, 0.1, 1);
        assert_eq!(stretch_in_chunks(&input, 1, 1.0), input);
        assert_eq!(Stretcher::new(1, RATE, 5.0).speed(), MAX_SPEED);
        assert_eq!(Stretcher::new(1, RATE, 0.1).speed(), MIN_SPEED);
        assert_eq!(clamp_speed(f64::NAN), 1.0);
    }
}
