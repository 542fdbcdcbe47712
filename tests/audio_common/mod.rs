//! Helpers shared by the audio tests: finding test data, generating signals, and comparing
//! decoded audio (alignment, correlation, loudness).
#![allow(dead_code, unused_imports)]

#[path = "../common/mod.rs"]
mod common;

use std::path::Path;

/// A file under the shared test data. Missing data fails under CI (`CI=true`) and skips
/// (returns `None`) elsewhere.
pub use common::{missing, testdata};

/// Whether an external tool is installed. Under CI a missing tool fails the test.
pub fn tool_available(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        common::missing(&format!("the `{name}` check: `{name}` is not installed"));
    }
    found
}

/// Runs a command and fails the test with its stderr if it does not succeed.
pub fn run(command: &mut std::process::Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A sine tone.
pub fn tone(frequency_hz: f64, rate_hz: u32, frame_count: usize, amplitude: f32) -> Vec<f32> {
    (0..frame_count)
        .map(|n| {
            (2.0 * std::f64::consts::PI * frequency_hz * n as f64 / f64::from(rate_hz)).sin() as f32
                * amplitude
        })
        .collect()
}

/// Writes planar float samples as a 16-bit WAV.
pub fn write_wav_16bit(path: &Path, rate_hz: u32, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for index in 0..channels[0].len() {
        for channel in channels {
            writer
                .write_sample((channel[index].clamp(-1.0, 1.0) * 32_767.0) as i16)
                .unwrap();
        }
    }
    writer.finalize().unwrap();
}

pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64)
        .sqrt()
}

/// Pearson correlation of two equally long series.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean_a = a.iter().sum::<f64>() / n as f64;
    let mean_b = b.iter().sum::<f64>() / n as f64;
    let mut cov = 0.0;
    let mut var_a = 0.0;
    let mut var_b = 0.0;
    for (x, y) in a.iter().zip(b) {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a) * (x - mean_a);
        var_b += (y - mean_b) * (y - mean_b);
    }
    cov / (var_a.sqrt() * var_b.sqrt()).max(1e-12)
}

/// Correlation of `b` shifted by `lag` samples against `a` (positive lag: `b` is late).
pub fn correlation_at_lag(a: &[f32], b: &[f32], lag: isize) -> f64 {
    let (a, b) = if lag >= 0 {
        (a, b.get(lag as usize..).unwrap_or_default())
    } else {
        (a.get((-lag) as usize..).unwrap_or_default(), b)
    };
    let n = a.len().min(b.len());
    let a: Vec<f64> = a[..n].iter().map(|&s| f64::from(s)).collect();
    let b: Vec<f64> = b[..n].iter().map(|&s| f64::from(s)).collect();
    correlation(&a, &b)
}

/// The lag in `-max_lag..=max_lag` where `b` best matches `a`, and the correlation there.
/// Long searches first align loudness envelopes, then refine sample by sample.
pub fn best_alignment(a: &[f32], b: &[f32], max_lag: isize) -> (isize, f64) {
    let (low, high) = if max_lag > 400 {
        let coarse = envelope_lag(a, b, max_lag / 320 + 1) * 320;
        ((coarse - 480).max(-max_lag), (coarse + 480).min(max_lag))
    } else {
        (-max_lag, max_lag)
    };
    (low..=high)
        .map(|lag| (lag, correlation_at_lag(a, b, lag)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap()
}

/// The shift, in 20 ms windows, that best lines up the loudness envelopes of `a` and `b`.
fn envelope_lag(a: &[f32], b: &[f32], max_windows: isize) -> isize {
    let (ea, eb) = (envelope(a), envelope(b));
    (-max_windows..=max_windows)
        .map(|lag| (lag, shifted_correlation(&ea, &eb, lag)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap()
        .0
}

fn shifted_correlation(a: &[f64], b: &[f64], lag: isize) -> f64 {
    let (x, y) = if lag >= 0 {
        (a, b.get(lag as usize..).unwrap_or_default())
    } else {
        (a.get((-lag) as usize..).unwrap_or_default(), b)
    };
    correlation(x, y)
}

/// RMS per 20 ms window at 16 kHz: a loudness envelope, robust to codec phase changes.
pub fn envelope(samples: &[f32]) -> Vec<f64> {
    samples.chunks(320).map(rms).collect()
}

/// Correlation of two recordings' loudness envelopes after the best shift of up to ±0.5 s.
pub fn envelope_similarity(a: &[f32], b: &[f32]) -> f64 {
    let (ea, eb) = (envelope(a), envelope(b));
    (-25..=25_isize)
        .map(|lag| shifted_correlation(&ea, &eb, lag))
        .fold(f64::MIN, f64::max)
}

/// Decodes a whole file to 16 kHz with the library and checks the blocks are consistent.
pub fn decode_all(path: &Path) -> (verbatim::audio::AudioInfo, Vec<Vec<f32>>) {
    let stream =
        verbatim::audio::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let info = stream.info().clone();
    let mut channels = vec![Vec::new(); info.channel_count];
    let mut expected_start_s = 0.0;
    for block in stream {
        let block = block.unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            (block.start_s - expected_start_s).abs() < 1e-6,
            "blocks are contiguous"
        );
        assert_eq!(block.channels.len(), info.channel_count);
        assert!(
            block
                .channels
                .iter()
                .all(|channel| channel.len() == block.frame_count())
        );
        expected_start_s += block.duration_s();
        for (all, part) in channels.iter_mut().zip(block.channels) {
            all.extend(part);
        }
    }
    (info, channels)
}

pub fn mono_of(channels: &[Vec<f32>]) -> Vec<f32> {
    verbatim::audio::AudioBlock {
        start_s: 0.0,
        channels: channels.to_vec(),
    }
    .mono()
}
