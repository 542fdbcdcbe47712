//! The upload encoders: WAV and Ogg Opus written by us, read back by us and, where installed,
//! checked by independent tools (opus-tools' `opusinfo` and `opusdec`).

mod audio_common;

use audio_common::*;
use std::process::Command;
use verbatim::audio::{
    self, AudioError, transcode_to_ogg_opus, transcode_to_wav, write_ogg_opus_range,
};

#[test]
fn flac_to_16k_wav_is_mono_16_bit_and_the_same_speech() {
    let (Some(flac), Some(wav)) = (testdata("speech/jfk.flac"), testdata("speech/jfk.wav")) else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("upload.wav");
    let duration_s = transcode_to_wav(&flac, &output, 16_000).unwrap();
    assert!((duration_s - 11.0).abs() < 0.001, "{duration_s}");
    let reader = hound::WavReader::open(&output).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    let written: Vec<f32> = reader
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32_768.0)
        .collect();
    assert_eq!(written.len(), 176_000);
    let reference = audio::read_mono_16k(&wav).unwrap();
    let (lag, similarity) = best_alignment(&reference, &written, 16);
    assert!(
        similarity > 0.95 && lag.abs() <= 2,
        "lag {lag}, correlation {similarity}"
    );
    let names: Vec<_> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["upload.wav"], "only the output, no temporary file");
    #[cfg(unix)]
    {
        // The audio is someone's recording: readable by its owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn wav_at_other_rates_has_the_right_length() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    for rate_hz in [8_000, 24_000, 44_100] {
        let output = directory.path().join(format!("jfk_{rate_hz}.wav"));
        let duration_s = transcode_to_wav(&wav, &output, rate_hz).unwrap();
        let reader = hound::WavReader::open(&output).unwrap();
        assert_eq!(reader.spec().sample_rate, rate_hz);
        assert_eq!(reader.len(), 11 * rate_hz, "{rate_hz} Hz");
        assert!((duration_s - 11.0).abs() < 1e-9);
    }
}

/// Encodes jfk.wav to Ogg Opus and returns (path, reference 16 kHz samples).
fn jfk_as_opus(directory: &std::path::Path) -> Option<(std::path::PathBuf, Vec<f32>)> {
    let wav = testdata("speech/jfk.wav")?;
    let output = directory.join("jfk.opus");
    let duration_s = transcode_to_ogg_opus(&wav, &output, 24_000).unwrap();
    assert!((duration_s - 11.0).abs() < 1e-9, "{duration_s}");
    Some((output, audio::read_mono_16k(&wav).unwrap()))
}

#[test]
fn ogg_opus_round_trips_with_exact_length_and_no_shift() {
    let directory = tempfile::tempdir().unwrap();
    let Some((opus, reference)) = jfk_as_opus(directory.path()) else {
        return;
    };
    let size_bytes = std::fs::metadata(&opus).unwrap().len();
    println!("jfk.wav as Ogg Opus at 24 kb/s: {size_bytes} bytes");
    assert!(
        size_bytes < 11 * 24_000 / 8 * 13 / 10,
        "about 24 kb/s: {size_bytes} bytes"
    );
    let (info, channels) = decode_all(&opus);
    assert_eq!(
        (
            info.codec.as_str(),
            info.channel_count,
            info.source_sample_rate_hz
        ),
        ("opus", 1, 48_000)
    );
    assert!(
        (info.duration_s.unwrap() - 11.0).abs() < 1e-6,
        "granule position gives the exact length"
    );
    assert_eq!(
        channels[0].len(),
        176_000,
        "pre-skip and end trimming restore the exact length"
    );
    let (lag, similarity) = best_alignment(&reference, &channels[0], 160);
    println!("Opus round trip: lag {lag} samples, correlation {similarity:.4}");
    assert!(lag.abs() <= 1, "pre-skip is right: lag {lag}");
    assert!(similarity > 0.9, "{similarity}");
    assert!(envelope_similarity(&reference, &channels[0]) > 0.98);
}

/// The pre-skip field of the file's `OpusHead` (little-endian, 10 bytes in).
fn opus_head_pre_skip(path: &std::path::Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    let head = bytes
        .windows(8)
        .position(|window| window == b"OpusHead")
        .expect("an OpusHead packet");
    u16::from_le_bytes([bytes[head + 10], bytes[head + 11]])
}

#[test]
fn ogg_opus_is_valid_for_opus_tools() {
    let directory = tempfile::tempdir().unwrap();
    let Some((opus, reference)) = jfk_as_opus(directory.path()) else {
        return;
    };
    if tool_available("opusinfo") {
        let report = run(Command::new("opusinfo").arg(&opus));
        println!("{report}");
        assert!(
            !report.contains("WARNING") && !report.contains("ERROR"),
            "{report}"
        );
        assert!(report.contains("Playback length: 0m:11.000s"), "{report}");
        // opusinfo reads the pre-skip our OpusHead declares: the encoder's lookahead, 6.5 ms
        // at 48 kHz.
        let reported: Option<u16> = report
            .lines()
            .find_map(|line| line.trim().strip_prefix("Pre-skip: "))
            .and_then(|value| value.trim().parse().ok());
        assert_eq!(reported, Some(opus_head_pre_skip(&opus)), "{report}");
        assert_eq!(reported, Some(312), "{report}");
    }
    if tool_available("opusdec") {
        let decoded = directory.path().join("opusdec.wav");
        run(Command::new("opusdec")
            .args(["--quiet", "--rate", "16000"])
            .arg(&opus)
            .arg(&decoded));
        let samples: Vec<f32> = hound::WavReader::open(&decoded)
            .unwrap()
            .into_samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32_768.0)
            .collect();
        assert_eq!(samples.len(), 176_000, "opusdec sees the exact length");
        let (lag, similarity) = best_alignment(&reference, &samples, 160);
        assert!(
            lag.abs() <= 1 && similarity > 0.9,
            "lag {lag}, correlation {similarity}"
        );
    }
}

#[test]
fn a_long_file_splits_into_opus_parts_that_add_up() {
    let Some(two_cities) = testdata("speech/two_cities.wav") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let whole = audio::read_mono_16k(&two_cities).unwrap();
    let total_s = whole.len() as f64 / 16_000.0;
    let bounds = [0.0, 15.0, 30.0, total_s];
    let mut sum_s = 0.0;
    for (index, window) in bounds.windows(2).enumerate() {
        let part = directory.path().join(format!("part{index}.opus"));
        let duration_s =
            write_ogg_opus_range(&two_cities, &part, window[0], window[1], 24_000).unwrap();
        assert!(
            (duration_s - (window[1] - window[0])).abs() < 1e-3,
            "part {index}: {duration_s}"
        );
        sum_s += duration_s;
        let decoded = audio::read_mono_16k(&part).unwrap();
        let start = (window[0] * 16_000.0) as usize;
        let original = &whole[start..start + decoded.len()];
        let (lag, similarity) = best_alignment(original, &decoded, 32);
        assert!(
            lag.abs() <= 1 && similarity > 0.85,
            "part {index}: lag {lag}, correlation {similarity}"
        );
    }
    assert!((sum_s - total_s).abs() < 1e-3, "{sum_s} vs {total_s}");
}

#[test]
fn encoders_refuse_bad_requests_and_leave_nothing_behind() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("out.opus");
    assert!(matches!(
        transcode_to_ogg_opus(&wav, &output, 10),
        Err(AudioError::InvalidRequest { .. })
    ));
    assert!(matches!(
        write_ogg_opus_range(&wav, &output, 5.0, 2.0, 24_000),
        Err(AudioError::InvalidRequest { .. })
    ));
    assert!(matches!(
        write_ogg_opus_range(&wav, &output, 60.0, 90.0, 24_000),
        Err(AudioError::InvalidRequest { .. })
    ));
    assert!(matches!(
        transcode_to_wav(&wav, &directory.path().join("x.wav"), 0),
        Err(AudioError::InvalidRequest { .. })
    ));
    let unwritable = directory.path().join("missing-folder").join("out.opus");
    let error = transcode_to_ogg_opus(&wav, &unwritable, 24_000)
        .err()
        .unwrap();
    assert!(matches!(error, AudioError::Write { .. }), "{error}");
    let leftovers: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "no partial files left: {leftovers:?}");
}
