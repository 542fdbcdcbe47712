//! Streaming sample-rate conversion with rubato's FFT resampler (a windowed-sinc filter applied
//! in the frequency domain: flat passband, steep anti-aliasing, and fast).
//!
//! The resampler works on fixed-size chunks and delays its output; this wrapper takes any
//! number of frames at a time, drops the filter's delay at the start and flushes it at the end,
//! so output frame `n` is at time `n / output_rate` exactly like input frame `n * ratio`, and the
//! output has `round(input_frames * ratio)` frames: no shift, no lost tail.

use super::source::Frames;
use rubato::{FftFixedInOut, Resampler};

/// Input frames per FFT chunk that we ask for (rubato rounds it to fit the rate ratio). Longer
/// chunks give a longer filter, hence a sharper cut-off, at the cost of a little delay.
const DESIRED_CHUNK_FRAMES: usize = 2048;

/// Converts a stream of planar frames from one sample rate to another.
pub(crate) struct StreamResampler {
    fft: Option<Box<FftFixedInOut<f32>>>,
    channel_count: usize,
    input_rate_hz: u32,
    output_rate_hz: u32,
    /// Input frames waiting for a full chunk.
    waiting: Frames,
    output: Frames,
    /// Output frames still to drop: the filter's delay.
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
}

impl StreamResampler {
    pub(crate) fn new(
        input_rate_hz: u32,
        output_rate_hz: u32,
        channel_count: usize,
    ) -> Result<StreamResampler, String> {
        let fft = if input_rate_hz == output_rate_hz {
            None
        } else {
            let fft = FftFixedInOut::<f32>::new(
                input_rate_hz as usize,
                output_rate_hz as usize,
                DESIRED_CHUNK_FRAMES,
                channel_count,
            )
            .map_err(|error| {
                format!("cannot resample {input_rate_hz} Hz to {output_rate_hz} Hz: {error}")
            })?;
            Some(Box::new(fft))
        };
        let delay_left = fft.as_ref().map_or(0, |fft| fft.output_delay());
        let output = fft
            .as_ref()
            .map_or_else(Vec::new, |fft| fft.output_buffer_allocate(true));
        Ok(StreamResampler {
            fft,
            channel_count,
            input_rate_hz,
            output_rate_hz,
            waiting: vec![Vec::new(); channel_count],
            output,
            delay_left,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Takes more input; returns the output that is ready (possibly none).
    pub(crate) fn push(&mut self, frames: Frames) -> Result<Frames, String> {
        let frame_count = frames.first().map_or(0, Vec::len);
        self.frames_in += frame_count as u64;
        if self.fft.is_none() {
            self.frames_out += frame_count as u64;
            return Ok(frames);
        }
        for (waiting, channel) in self.waiting.iter_mut().zip(frames) {
            waiting.extend_from_slice(&channel);
        }
        let mut ready = vec![Vec::new(); self.channel_count];
        self.process_full_chunks(&mut ready)?;
        Ok(ready)
    }

    /// Ends the input: flushes the filter so the output has its full length.
    pub(crate) fn finish(&mut self) -> Result<Frames, String> {
        let mut ready = vec![Vec::new(); self.channel_count];
        let Some(chunk_frames) = self.fft.as_ref().map(|fft| fft.input_frames_next()) else {
            return Ok(ready);
        };
        let expected = self.expected_output_frames();
        while self.frames_out < expected {
            for waiting in self.waiting.iter_mut() {
                let padded_len = waiting.len().div_ceil(chunk_frames).max(1) * chunk_frames;
                waiting.resize(padded_len, 0.0);
            }
            self.process_full_chunks(&mut ready)?;
        }
        let surplus = usize::try_from(self.frames_out - expected).unwrap_or(0);
        for channel in ready.iter_mut() {
            channel.truncate(channel.len().saturating_sub(surplus));
        }
        self.frames_out = expected;
        Ok(ready)
    }

    /// The output length that matches the input so far.
    fn expected_output_frames(&self) -> u64 {
        let scaled = u128::from(self.frames_in) * u128::from(self.output_rate_hz)
            + u128::from(self.input_rate_hz / 2);
        u64::try_from(scaled / u128::from(self.input_rate_hz)).unwrap_or(u64::MAX)
    }

    fn process_full_chunks(&mut self, ready: &mut Frames) -> Result<(), String> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(());
        };
        let chunk_frames = fft.input_frames_next();
        let mut consumed = 0;
        while self.waiting.first().map_or(0, Vec::len) - consumed >= chunk_frames {
            let inputs: Vec<&[f32]> = self
                .waiting
                .iter()
                .map(|channel| {
                    channel
                        .get(consumed..consumed + chunk_frames)
                        .unwrap_or_default()
                })
                .collect();
            let (_, produced) = fft
                .process_into_buffer(&inputs, &mut self.output, None)
                .map_err(|error| format!("resampling failed: {error}"))?;
            consumed += chunk_frames;
            let skip = self.delay_left.min(produced);
            self.delay_left -= skip;
            for (ready, output) in ready.iter_mut().zip(&self.output) {
                ready.extend_from_slice(output.get(skip..produced).unwrap_or_default());
            }
            self.frames_out += (produced - skip) as u64;
        }
        for waiting in self.waiting.iter_mut() {
            waiting.drain(..consumed.min(waiting.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(frequency_hz: f64, rate_hz: u32, frame_count: usize) -> Vec<f32> {
        (0..frame_count)
            .map(|n| {
                (2.0 * std::f64::consts::PI * frequency_hz * n as f64 / f64::from(rate_hz)).sin()
                    as f32
                    * 0.5
            })
            .collect()
    }

    fn resample_in_pieces(input: &[f32], from_hz: u32, to_hz: u32, piece: usize) -> Vec<f32> {
        let mut resampler = StreamResampler::new(from_hz, to_hz, 1).unwrap();
        let mut output = Vec::new();
        for part in input.chunks(piece) {
            output.extend(resampler.push(vec![part.to_vec()]).unwrap().remove(0));
        }
        output.extend(resampler.finish().unwrap().remove(0));
        output
    }

    #[test]
    fn output_length_matches_the_rate_ratio_for_any_piece_size() {
        for (from_hz, piece) in [
            (48_000, 1),
            (44_100, 997),
            (22_050, 5000),
            (8_000, 160),
            (11_025, 4096),
        ] {
            let input = tone(440.0, from_hz, from_hz as usize * 3 + 17);
            let output = resample_in_pieces(&input, from_hz, 16_000, piece);
            let expected = (input.len() as f64 * 16_000.0 / f64::from(from_hz)).round() as usize;
            assert_eq!(output.len(), expected, "{from_hz} Hz in pieces of {piece}");
        }
    }

    #[test]
    fn an_impulse_stays_in_place() {
        // A click at 1.0 s in 48 kHz audio must come out at 1.0 s in 16 kHz audio.
        let mut input = vec![0.0_f32; 96_000];
        input[48_000] = 1.0;
        let output = resample_in_pieces(&input, 48_000, 16_000, 1234);
        let peak = output
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(index, _)| index)
            .unwrap();
        assert_eq!(peak, 16_000);
    }

    #[test]
    fn same_rate_passes_through_unchanged() {
        let input = tone(440.0, 16_000, 1000);
        assert_eq!(resample_in_pieces(&input, 16_000, 16_000, 7), input);
    }
}
