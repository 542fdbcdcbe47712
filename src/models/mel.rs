//! The mel filterbank whisper.cpp expects inside a ggml model file.
//!
//! Whisper was trained on log-mel spectrograms built with librosa's Slaney-style filters
//! (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=80 or 128)`, `htk=False`,
//! `norm="slaney"`). A CTranslate2 model directory does not carry them, so the converter
//! computes them here, in `f64` like librosa, and stores them as `f32`.

/// A mel filterbank: `n_mels` rows of `n_freqs` weights (row major).
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    pub n_mels: usize,
    pub n_freqs: usize,
    pub weights: Vec<f32>,
}

impl MelFilterbank {
    /// The weights of one mel band, or `None` past the last band.
    pub fn row(&self, mel_index: usize) -> Option<&[f32]> {
        let start = mel_index.checked_mul(self.n_freqs)?;
        self.weights.get(start..start.checked_add(self.n_freqs)?)
    }
}

// Slaney's auditory-toolbox mel scale: linear below 1 kHz, logarithmic above.
const LINEAR_HZ_PER_MEL: f64 = 200.0 / 3.0;
const LOG_REGION_START_HZ: f64 = 1000.0;
const LOG_REGION_START_MEL: f64 = LOG_REGION_START_HZ / LINEAR_HZ_PER_MEL;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hertz to Slaney mels (librosa `hz_to_mel`, `htk=False`).
pub fn hz_to_mel(frequency_hz: f64) -> f64 {
    if frequency_hz >= LOG_REGION_START_HZ {
        LOG_REGION_START_MEL + (frequency_hz / LOG_REGION_START_HZ).ln() / log_step()
    } else {
        frequency_hz / LINEAR_HZ_PER_MEL
    }
}

/// Slaney mels to hertz (librosa `mel_to_hz`, `htk=False`).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= LOG_REGION_START_MEL {
        LOG_REGION_START_HZ * (log_step() * (mel - LOG_REGION_START_MEL)).exp()
    } else {
        LINEAR_HZ_PER_MEL * mel
    }
}

/// Slaney-normalised triangular mel filters from 0 Hz to Nyquist, as
/// `librosa.filters.mel(sr=sample_rate_hz, n_fft=n_fft, n_mels=n_mels)` computes them.
pub fn slaney_mel_filterbank(sample_rate_hz: u32, n_fft: usize, n_mels: usize) -> MelFilterbank {
    let n_freqs = n_fft / 2 + 1;
    let nyquist_hz = f64::from(sample_rate_hz) / 2.0;

    // FFT bin centre frequencies, as numpy's rfftfreq(n_fft, 1 / sr).
    let hz_per_bin = f64::from(sample_rate_hz) / n_fft.max(1) as f64;
    let fft_freqs_hz: Vec<f64> = (0..n_freqs).map(|i| i as f64 * hz_per_bin).collect();

    // n_mels + 2 band edges evenly spaced in mels between 0 Hz and Nyquist.
    let max_mel = hz_to_mel(nyquist_hz);
    let n_edges = n_mels + 2;
    // As numpy's linspace: i * step, with the last edge pinned to the stop value.
    let mel_step = max_mel / (n_edges - 1) as f64;
    let edges_hz: Vec<f64> = (0..n_edges)
        .map(|i| {
            let mel = if i + 1 == n_edges {
                max_mel
            } else {
                i as f64 * mel_step
            };
            mel_to_hz(mel)
        })
        .collect();

    let mut weights = Vec::with_capacity(n_mels * n_freqs);
    for band in 0..n_mels {
        let (lower_hz, centre_hz, upper_hz) =
            (edges_hz[band], edges_hz[band + 1], edges_hz[band + 2]);
        let rising_width_hz = centre_hz - lower_hz;
        let falling_width_hz = upper_hz - centre_hz;
        // Slaney normalisation: every band has (approximately) constant energy.
        let area_norm = 2.0 / (upper_hz - lower_hz);
        for &freq_hz in &fft_freqs_hz {
            let rising = (freq_hz - lower_hz) / rising_width_hz;
            let falling = (upper_hz - freq_hz) / falling_width_hz;
            let weight = rising.min(falling).max(0.0) * area_norm;
            weights.push(weight as f32);
        }
    }

    MelFilterbank {
        n_mels,
        n_freqs,
        weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference entries from openai/whisper's whisper/assets/mel_filters.npz (generated with
    // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80/128)), read out once and hardcoded.
    // (mel band, fft bin, value)
    const MEL_80_REFERENCE: &[(usize, usize, f32)] = &[
        (0, 1, 0.024_862_594_902_515_41),
        (1, 1, 0.001_990_821_911_022_067),
        (1, 2, 0.022_871_771_827_340_126),
        (2, 3, 0.020_880_950_614_809_99),
        (10, 10, 0.019_908_217_713_236_81),
        (10, 11, 0.004_954_374_860_972_166),
        (40, 42, 0.005_411_104_764_789_343),
        (40, 43, 0.014_735_566_452_145_576),
        (40, 44, 0.006_518_189_795_315_266),
        (79, 186, 0.000_366_741_674_952_209),
        (79, 189, 0.001_765_726_832_672_953_6),
    ];
    const MEL_128_REFERENCE: &[(usize, usize, f32)] = &[
        (0, 1, 0.012_373_986_653_983_593),
        (1, 1, 0.030_392_564_833_164_215),
        (2, 2, 0.024_747_973_307_967_186),
        (10, 6, 0.011_289_183_981_716_633),
        (10, 7, 0.001_084_801_973_775_029_2),
        (40, 24, 0.040_376_365_184_783_936),
        (79, 61, 0.012_756_715_528_666_973),
        (127, 194, 0.003_900_125_157_088_041_3),
    ];

    fn assert_matches(bank: &MelFilterbank, reference: &[(usize, usize, f32)]) {
        for &(band, bin, expected) in reference {
            let actual = bank.row(band).map(|row| row[bin]).unwrap_or(f32::NAN);
            let tolerance = expected.abs() * 1e-5 + 1e-9;
            assert!(
                (actual - expected).abs() <= tolerance,
                "mel[{band}][{bin}] = {actual}, librosa says {expected}"
            );
        }
    }

    #[test]
    fn matches_librosa_80_band_filters() {
        let bank = slaney_mel_filterbank(16_000, 400, 80);
        assert_eq!(
            (bank.n_mels, bank.n_freqs, bank.weights.len()),
            (80, 201, 80 * 201)
        );
        assert_matches(&bank, MEL_80_REFERENCE);
    }

    #[test]
    fn matches_librosa_128_band_filters() {
        let bank = slaney_mel_filterbank(16_000, 400, 128);
        assert_eq!((bank.n_mels, bank.n_freqs), (128, 201));
        assert_matches(&bank, MEL_128_REFERENCE);
    }

    #[test]
    fn bands_are_triangles_with_rising_peaks() {
        let bank = slaney_mel_filterbank(16_000, 400, 80);
        let mut previous_peak_bin = 0;
        for band in 0..bank.n_mels {
            let row = bank.row(band).unwrap_or_default();
            assert!(row.iter().all(|&w| w >= 0.0));
            // The DC bin is never inside a band (the first edge is exactly 0 Hz).
            assert_eq!(row[0], 0.0);
            let peak_bin = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            assert!(
                peak_bin >= previous_peak_bin,
                "band {band} peak moved backwards"
            );
            previous_peak_bin = peak_bin;
            // Non-zero weights are one contiguous run (a triangle sampled on the bins).
            let nonzero: Vec<usize> = (0..row.len()).filter(|&i| row[i] > 0.0).collect();
            assert!(!nonzero.is_empty(), "band {band} is empty");
            assert_eq!(nonzero.len(), nonzero[nonzero.len() - 1] - nonzero[0] + 1);
        }
        // Linear region: bands 0..15 are 66.7 Hz wide at the base, so the Slaney area
        // normalisation makes each row sum to 2 / (2 * 66.67 Hz) * 50 Hz per bin = 0.02486.
        for band in 0..12 {
            let sum: f32 = bank.row(band).unwrap_or_default().iter().sum();
            assert!(
                (sum - 0.024_862_59).abs() < 1e-6,
                "band {band} sums to {sum}"
            );
        }
    }

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }
}
