//! The encoder's input: the 40-band mel power spectrogram Resemblyzer computes with
//! `librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)` — a
//! periodic Hann window of 25 ms every 10 ms, frames centred on their hop (the signal
//! reflected at its edges), power spectrum, Slaney mel filters. Not a log spectrogram.

use crate::models::mel::{MelFilterbank, slaney_mel_filterbank};
use realfft::RealFftPlanner;

/// Samples per second the encoder expects.
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// Samples between two frames (10 ms).
pub const HOP_SAMPLES: usize = 160;
/// Samples in one analysis window (25 ms), also the FFT length.
pub const WINDOW_SAMPLES: usize = 400;
/// Mel bands per frame.
pub const MEL_BANDS: usize = 40;

/// Turns 16 kHz audio into mel frames; keeps its FFT plan and filters between calls.
pub struct MelSpectrogram {
    /// Each band's filter where it is not zero: its first FFT bin and its weights from there
    /// (a band covers a few bins of the 201).
    bands: Vec<(usize, Vec<f32>)>,
    window: Vec<f32>,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        let window = (0..WINDOW_SAMPLES)
            .map(|n| (0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / WINDOW_SAMPLES as f64).cos()) as f32)
            .collect();
        MelSpectrogram {
            bands: nonzero_bands(&slaney_mel_filterbank(SAMPLE_RATE_HZ, WINDOW_SAMPLES, MEL_BANDS)),
            window,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(WINDOW_SAMPLES),
        }
    }
}

impl MelSpectrogram {
    /// Frames `1 + len / HOP_SAMPLES` of [`MEL_BANDS`] values each, frame `i` centred on
    /// sample `i * HOP_SAMPLES` (row major).
    pub fn frames(&self, samples: &[f32]) -> Vec<f32> {
        let frame_count = 1 + samples.len() / HOP_SAMPLES;
        let mut mel = Vec::with_capacity(frame_count * MEL_BANDS);
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut power = vec![0f32; WINDOW_SAMPLES / 2 + 1];
        let half = (WINDOW_SAMPLES / 2) as isize;
        for frame in 0..frame_count {
            let first = (frame * HOP_SAMPLES) as isize - half;
            match usize::try_from(first).ok().and_then(|start| samples.get(start..start + WINDOW_SAMPLES)) {
                Some(inside) => input.iter_mut().zip(inside.iter().zip(&self.window)).for_each(|(value, (s, w))| *value = s * w),
                None => input.iter_mut().enumerate().for_each(|(n, value)| *value = reflected(samples, first + n as isize) * self.window[n]),
            }
            // The lengths are the plan's own, so the transform cannot fail.
            let _ = self.fft.process(&mut input, &mut spectrum);
            for (p, bin) in power.iter_mut().zip(&spectrum) {
                *p = bin.norm_sqr();
            }
            for (first_bin, weights) in &self.bands {
                mel.push(weights.iter().zip(&power[*first_bin..]).map(|(w, p)| w * p).sum());
            }
        }
        mel
    }
}

/// Each of the filterbank's rows cut to where it is not zero: `(first bin, weights)`.
fn nonzero_bands(filterbank: &MelFilterbank) -> Vec<(usize, Vec<f32>)> {
    (0..MEL_BANDS)
        .map(|band| {
            let row = filterbank.row(band).unwrap_or(&[]);
            let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
            let end = row.iter().rposition(|&w| w != 0.0).map_or(first, |last| last + 1);
            (first, row[first..end].to_vec())
        })
        .collect()
}

/// `samples[index]` with the signal reflected at both ends (numpy's `reflect` padding).
fn reflected(samples: &[f32], index: isize) -> f32 {
    let len = samples.len() as isize;
    if len == 0 {
        return 0.0;
    }
    if len == 1 {
        return samples[0];
    }
    let period = 2 * (len - 1);
    let mut i = index.rem_euclid(period);
    if i >= len {
        i = period - i;
    }
    samples[i as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_mirrors_without_repeating_the_edge() {
        let s = [1.0, 2.0, 3.0];
        let got: Vec<f32> = (-3..6).map(|i| reflected(&s, i)).collect();
        assert_eq!(got, [2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn a_tone_lands_in_the_band_of_its_frequency() {
        let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 1000.0 * std::f32::consts::TAU / 16_000.0).sin()).collect();
        let mel = MelSpectrogram::default().frames(&tone);
        assert_eq!(mel.len(), 101 * MEL_BANDS);
        let frame = &mel[50 * MEL_BANDS..51 * MEL_BANDS];
        let loudest = (0..MEL_BANDS).max_by(|&a, &b| frame[a].total_cmp(&frame[b])).unwrap_or(0);
        let centre_hz = crate::models::mel::mel_to_hz(crate::models::mel::hz_to_mel(8000.0) * (loudest + 1) as f64 / 41.0);
        assert!((800.0..1250.0).contains(&centre_hz), "band {loudest} at {centre_hz} Hz");
    }
}
