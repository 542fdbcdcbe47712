//! Decoding real recordings to 16 kHz: lengths, channels, and that the audio itself is right
//! (decoded MP3/FLAC match the WAV sample by sample after alignment; the resampler keeps speech
//! band tones and removes what would alias).

mod audio_common;

use audio_common::*;
use verbatim::audio::{self, AudioError, BLOCK_FRAMES, ENGINE_SAMPLE_RATE_HZ};

#[test]
fn jfk_wav_decodes_to_11_seconds_of_mono() {
    let Some(path) = testdata("speech/jfk.wav") else {
        return;
    };
    let (info, channels) = decode_all(&path);
    assert_eq!(
        (info.source_sample_rate_hz, info.channel_count),
        (16_000, 1)
    );
    assert_eq!(info.codec, "PCM 16-bit");
    assert_eq!(channels[0].len(), 176_000, "11.0 s at 16 kHz, untouched");
    assert!((info.duration_s.unwrap() - 11.0).abs() < 1e-6);
    // 16 kHz input passes through unresampled: identical to reading the WAV directly.
    let direct: Vec<f32> = hound::WavReader::open(&path)
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32_768.0)
        .collect();
    assert_eq!(channels[0], direct);
}

#[test]
fn jfk_flac_keeps_both_channels_and_matches_the_wav() {
    let (Some(wav), Some(flac)) = (testdata("speech/jfk.wav"), testdata("speech/jfk.flac")) else {
        return;
    };
    let reference = audio::read_mono_16k(&wav).unwrap();
    let (info, channels) = decode_all(&flac);
    assert_eq!(
        (
            info.source_sample_rate_hz,
            info.channel_count,
            info.codec.as_str()
        ),
        (44_100, 2, "flac")
    );
    assert_eq!(channels.len(), 2);
    let frames = channels[0].len() as f64 / f64::from(ENGINE_SAMPLE_RATE_HZ);
    assert!((frames - 11.0).abs() < 0.01, "{frames} s");
    let mono = mono_of(&channels);
    let (lag, similarity) = best_alignment(&reference, &mono, 160);
    println!("jfk.flac vs jfk.wav: lag {lag} samples, correlation {similarity:.4}");
    assert!(
        similarity > 0.95,
        "44.1 kHz FLAC resampled to 16 kHz should match the 16 kHz WAV: {similarity}"
    );
    assert!(
        lag.abs() <= 2,
        "no time shift from decoding or resampling: {lag} samples"
    );
}

#[test]
fn jfk_mp3_matches_the_wav() {
    let (Some(wav), Some(mp3)) = (testdata("speech/jfk.wav"), testdata("speech/jfk.mp3")) else {
        return;
    };
    let reference = audio::read_mono_16k(&wav).unwrap();
    let (info, channels) = decode_all(&mp3);
    assert_eq!(info.codec, "mp3");
    let mono = mono_of(&channels);
    let seconds = mono.len() as f64 / 16_000.0;
    assert!((seconds - 11.0).abs() < 0.05, "{seconds} s");
    let (lag, similarity) = best_alignment(&reference, &mono, 1_600);
    println!("jfk.mp3 vs jfk.wav: lag {lag} samples, correlation {similarity:.4}");
    assert!(similarity > 0.9, "{similarity}");
    assert!(
        lag.abs() <= 16,
        "gapless trimming keeps MP3 aligned to within 1 ms: {lag}"
    );
    assert!(envelope_similarity(&reference, &mono) > 0.98);
}

#[test]
fn two_cities_48k_decodes_fast_to_44_seconds() {
    let Some(path) = testdata("speech/two_cities.wav") else {
        return;
    };
    let started = std::time::Instant::now();
    let (info, channels) = decode_all(&path);
    let elapsed = started.elapsed();
    println!("two_cities.wav: decoded and resampled 44 s in {elapsed:?}");
    assert_eq!(
        (info.source_sample_rate_hz, info.channel_count),
        (48_000, 1)
    );
    let expected = (info.duration_s.unwrap() * 16_000.0).round() as usize;
    assert_eq!(channels[0].len(), expected);
    assert!((channels[0].len() as f64 / 16_000.0 - 44.374).abs() < 0.01);
    assert!(
        elapsed.as_secs_f64() < 1.0,
        "decoding + resampling 44 s took {elapsed:?}"
    );
    // Compare with a naive decimation of the source: same speech, same timing.
    let source: Vec<f32> = hound::WavReader::open(&path)
        .unwrap()
        .samples::<i16>()
        .step_by(3)
        .map(|s| f32::from(s.unwrap()) / 32_768.0)
        .collect();
    let (lag, similarity) = best_alignment(&source, &channels[0], 8);
    assert!(
        similarity > 0.9 && lag == 0,
        "lag {lag}, correlation {similarity}"
    );
}

/// Decodes a generated 48 kHz tone and returns (input RMS, output RMS in the steady middle).
fn tone_through_resampler(frequency_hz: f64, source_rate_hz: u32) -> (f64, f64) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tone.wav");
    let input = tone(
        frequency_hz,
        source_rate_hz,
        source_rate_hz as usize * 2,
        0.5,
    );
    write_wav_16bit(&path, source_rate_hz, &[input.clone()]);
    let output = audio::read_mono_16k(&path).unwrap();
    assert_eq!(output.len(), 32_000);
    (rms(&input), rms(&output[4_000..28_000]))
}

#[test]
fn resampler_keeps_a_1_khz_tone_and_rejects_what_would_alias() {
    for source_rate_hz in [48_000, 44_100, 22_050] {
        let (input, output) = tone_through_resampler(1_000.0, source_rate_hz);
        let gain = output / input;
        println!("1 kHz at {source_rate_hz} Hz -> 16 kHz: gain {gain:.4}");
        assert!(
            (gain - 1.0).abs() < 0.01,
            "1 kHz should pass at unity gain, got {gain}"
        );
    }
    let (input, output) = tone_through_resampler(10_000.0, 48_000);
    let attenuation_db = 20.0 * (output / input).log10();
    println!("10 kHz at 48 kHz -> 16 kHz: {attenuation_db:.1} dB");
    assert!(
        attenuation_db < -60.0,
        "10 kHz must not alias into the 16 kHz output: {attenuation_db} dB"
    );
    // Just under the new Nyquist frequency still passes.
    let (input, output) = tone_through_resampler(7_000.0, 48_000);
    assert!(output / input > 0.9, "7 kHz gain {}", output / input);
}

#[test]
fn stereo_diarization_keeps_two_distinct_channels() {
    let Some(path) = testdata("stereo/stereo_diarization.wav") else {
        return;
    };
    let (info, channels) = decode_all(&path);
    assert_eq!(info.channel_count, 2);
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[0].len(), 80_000);
    let (left, right) = (&channels[0], &channels[1]);
    assert!(
        rms(left) > 0.01 && rms(right) > 0.01,
        "both channels carry speech"
    );
    let sameness = correlation_at_lag(left, right, 0);
    assert!(
        sameness.abs() < 0.5,
        "the channels are different speakers: correlation {sameness}"
    );
    // The right speaker stops at about 2.6 s; the left goes on to about 4.9 s.
    let late = 51_200..72_000; // 3.2 s to 4.5 s
    assert!(rms(&left[late.clone()]) > 5.0 * rms(&right[late]));
}

#[test]
fn a_range_is_the_same_audio_as_the_whole_file_at_that_time() {
    let (Some(wav), Some(flac)) = (testdata("speech/jfk.wav"), testdata("speech/jfk.flac")) else {
        return;
    };
    let whole = audio::read_mono_16k(&wav).unwrap();
    let blocks: Vec<_> = audio::open_range(&wav, 2.0, Some(5.0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(blocks[0].start_s, 2.0);
    let part: Vec<f32> = blocks.iter().flat_map(|block| block.mono()).collect();
    assert_eq!(part, whole[32_000..80_000], "WAV ranges are exact");

    // FLAC seeks through symphonia; the part must line up with the same stretch of the WAV.
    let blocks: Vec<_> = audio::open_range(&flac, 4.0, Some(9.0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!((blocks[0].start_s - 4.0).abs() < 1e-4);
    let part: Vec<f32> = blocks.iter().flat_map(|block| block.mono()).collect();
    assert_eq!(part.len(), 80_000);
    let (lag, similarity) = best_alignment(&whole[64_000..144_000], &part, 160);
    assert!(
        similarity > 0.95 && lag.abs() <= 2,
        "lag {lag}, correlation {similarity}"
    );
}

#[test]
fn a_wav_whose_header_lost_its_lengths_reads_to_the_end() {
    // What a recorder that crashed leaves: RIFF and data lengths still 0.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("crashed.wav");
    write_wav_16bit(&path, 16_000, &[tone(440.0, 16_000, 16_000, 0.5)]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4..8].copy_from_slice(&0_u32.to_le_bytes());
    bytes[40..44].copy_from_slice(&0_u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let samples = audio::read_mono_16k(&path).unwrap();
    assert_eq!(samples.len(), 16_000);
    // And a streaming writer's 0xFFFFFFFF lengths.
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(audio::read_mono_16k(&path).unwrap().len(), 16_000);
}

#[test]
fn a_long_file_comes_in_bounded_blocks() {
    // 30 minutes at 8 kHz: every block at most BLOCK_FRAMES, contiguous, nothing lost.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("long.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    let total_frames = 30 * 60 * 8_000_u64;
    for n in 0..total_frames {
        let value = if (n / 8_000) % 2 == 0 {
            ((n as f32 * 0.3).sin() * 8_000.0) as i16
        } else {
            0
        };
        writer.write_sample(value).unwrap();
    }
    writer.finalize().unwrap();

    let stream = audio::open(&path).unwrap();
    let mut frames = 0_usize;
    let mut blocks = 0;
    for block in stream {
        let block = block.unwrap();
        assert!(
            block.frame_count() <= BLOCK_FRAMES,
            "block of {} frames",
            block.frame_count()
        );
        assert!((block.start_s - frames as f64 / 16_000.0).abs() < 1e-6);
        frames += block.frame_count();
        blocks += 1;
    }
    assert_eq!(frames, 30 * 60 * 16_000);
    assert_eq!(blocks, (30 * 60) / 30);
}

#[test]
fn missing_and_unreadable_paths_fail_with_one_line() {
    let error = audio::open(std::path::Path::new("/nonexistent/talk.mp3"))
        .err()
        .unwrap();
    assert!(matches!(error, AudioError::Open { .. }), "{error}");
    let directory = tempfile::tempdir().unwrap();
    let error = audio::probe(directory.path()).err().unwrap();
    assert!(error.to_string().contains("folder"), "{error}");
    let text = directory.path().join("notes.txt");
    std::fs::write(&text, "these are not audio\nat all\n").unwrap();
    let error = audio::open(&text).err().unwrap();
    assert!(
        matches!(error, AudioError::Unsupported { .. }) && !error.to_string().contains('\n'),
        "{error}"
    );
}
