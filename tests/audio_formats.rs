//! Formats made on the spot by independent encoders (Debian's ffmpeg and opus-tools): AAC in
//! M4A, Ogg Vorbis, Ogg Opus from opusenc, Opus in WebM and MP4, and the audio track of video
//! files. Each must decode to the same speech as jfk.wav, at the right length.

mod audio_common;

use audio_common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use verbatim::audio;

/// Runs ffmpeg to make `name` from `input` with extra arguments; `None` if ffmpeg is absent.
fn ffmpeg(
    directory: &Path,
    name: &str,
    before_input: &[&str],
    input: &Path,
    arguments: &[&str],
) -> Option<PathBuf> {
    if !tool_available("ffmpeg") {
        return None;
    }
    let output = directory.join(name);
    run(Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(before_input)
        .arg("-i")
        .arg(input)
        .args(arguments)
        .arg(&output));
    Some(output)
}

/// Decodes `path` and checks it against jfk.wav: length, channels, codec and the speech itself.
/// `max_extra_s` allows for padding the container cannot trim (Matroska has no end trimming),
/// `max_shift_s` for a time shift (none expected: priming and pre-skip are removed).
fn check_against_jfk(
    path: &Path,
    codec: &str,
    channel_count: usize,
    max_extra_s: f64,
    max_shift_s: f64,
) {
    let reference = audio::read_mono_16k(&testdata("speech/jfk.wav").unwrap()).unwrap();
    let (info, channels) = decode_all(path);
    assert_eq!(info.codec, codec, "{}", path.display());
    assert_eq!(info.channel_count, channel_count, "{}", path.display());
    let mono = mono_of(&channels);
    let seconds = mono.len() as f64 / 16_000.0;
    assert!(
        seconds >= 10.99 && seconds <= 11.0 + max_extra_s,
        "{}: {seconds} s",
        path.display()
    );
    let max_lag = (max_shift_s * 16_000.0) as isize + 160;
    let (lag, similarity) = best_alignment(&reference, &mono, max_lag);
    let envelope = envelope_similarity(&reference, &mono);
    println!(
        "{}: {info:?}, {seconds:.3} s, lag {lag}, correlation {similarity:.3}, envelope {envelope:.3}",
        path.display()
    );
    assert!(
        similarity > 0.85,
        "{}: correlation {similarity}",
        path.display()
    );
    assert!(envelope > 0.95, "{}: envelope {envelope}", path.display());
}

#[test]
fn aac_in_m4a_with_its_priming_removed() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let Some(m4a) = ffmpeg(
        directory.path(),
        "jfk.m4a",
        &[],
        &wav,
        &["-c:a", "aac", "-b:a", "64k"],
    ) else {
        return;
    };
    // The encoder's 1024 samples of priming are dropped per the edit list: no shift, exact length.
    check_against_jfk(&m4a, "aac", 1, 0.001, 0.0002);
    // A range seeks inside the AAC stream and still lines up with the original.
    let reference = audio::read_mono_16k(&wav).unwrap();
    let part: Vec<f32> = audio::open_range(&m4a, 4.0, Some(9.0))
        .unwrap()
        .flat_map(|block| block.unwrap().mono())
        .collect();
    assert_eq!(part.len(), 80_000);
    let (lag, similarity) = best_alignment(&reference[64_000..144_000], &part, 160);
    assert!(
        lag.abs() <= 2 && similarity > 0.9,
        "lag {lag}, correlation {similarity}"
    );
}

#[test]
fn ogg_vorbis_from_stereo_flac() {
    let Some(flac) = testdata("speech/jfk.flac") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let Some(ogg) = ffmpeg(
        directory.path(),
        "jfk.ogg",
        &[],
        &flac,
        &["-c:a", "libvorbis"],
    ) else {
        return;
    };
    check_against_jfk(&ogg, "vorbis", 2, 0.01, 0.001);
}

#[test]
fn ogg_opus_from_opusenc() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    if !tool_available("opusenc") {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let opus = directory.path().join("jfk.opus");
    run(Command::new("opusenc")
        .args(["--quiet", "--bitrate", "24"])
        .arg(&wav)
        .arg(&opus));
    check_against_jfk(&opus, "opus", 1, 0.0, 0.0001);
}

#[test]
fn stereo_ogg_opus_keeps_its_channels() {
    let Some(flac) = testdata("speech/jfk.flac") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let Some(opus) = ffmpeg(
        directory.path(),
        "jfk.opus",
        &[],
        &flac,
        &["-c:a", "libopus", "-ac", "2"],
    ) else {
        return;
    };
    check_against_jfk(&opus, "opus", 2, 0.0, 0.0001);
}

#[test]
fn opus_in_webm_and_mp4() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    // Browsers record WebM/Opus; Matroska has no end trimming, so up to a frame is extra.
    let Some(webm) = ffmpeg(
        directory.path(),
        "jfk.webm",
        &[],
        &wav,
        &["-c:a", "libopus", "-b:a", "24k"],
    ) else {
        return;
    };
    check_against_jfk(&webm, "opus", 1, 0.03, 0.001);
    let Some(mp4) = ffmpeg(
        directory.path(),
        "jfk_opus.mp4",
        &[],
        &wav,
        &["-c:a", "libopus"],
    ) else {
        return;
    };
    check_against_jfk(&mp4, "opus", 1, 0.03, 0.001);
}

#[test]
fn the_audio_track_of_video_files() {
    let Some(flac) = testdata("speech/jfk.flac") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let video = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"];
    let Some(mp4) = ffmpeg(
        directory.path(),
        "jfk.mp4",
        &video,
        &flac,
        &["-shortest", "-c:v", "mpeg4", "-c:a", "aac"],
    ) else {
        return;
    };
    check_against_jfk(&mp4, "aac", 2, 0.001, 0.0002);
    let Some(mkv) = ffmpeg(
        directory.path(),
        "jfk.mkv",
        &video,
        &flac,
        &["-shortest", "-c:v", "mpeg4", "-c:a", "libopus", "-ac", "1"],
    ) else {
        return;
    };
    check_against_jfk(&mkv, "opus", 1, 0.03, 0.001);
}
