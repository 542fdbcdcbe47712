//! Every odd or broken file in the shared edge-case sets either decodes or fails with one
//! clear line: never a panic, never a multi-line message. A handful have exact expectations.

mod audio_common;

use audio_common::*;
use std::path::{Path, PathBuf};
use verbatim::audio::{self, AudioError, AudioInfo};

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Opens and fully decodes a file; panics inside the library fail the test.
fn outcome(path: &Path) -> Result<(AudioInfo, usize), AudioError> {
    let result = std::panic::catch_unwind(|| {
        let stream = audio::open(path)?;
        let info = stream.info().clone();
        let mut frames = 0;
        for block in stream {
            frames += block?.frame_count();
        }
        Ok((info, frames))
    });
    result.unwrap_or_else(|_| panic!("{}: the decoder panicked", path.display()))
}

#[test]
fn every_edge_file_decodes_or_fails_with_one_line() {
    let (Some(wav_edge), Some(tags_edge)) = (testdata("wav-edge"), testdata("tags-edge")) else {
        return;
    };
    let files: Vec<PathBuf> = files_under(&wav_edge)
        .into_iter()
        .chain(files_under(&tags_edge))
        .collect();
    assert!(files.len() >= 50, "found {} files", files.len());
    let (mut decoded, mut refused) = (0, 0);
    for path in &files {
        match outcome(path) {
            Ok((info, frames)) => {
                decoded += 1;
                println!("ok   {}: {info:?}, {frames} frames", path.display());
                assert!(info.channel_count >= 1 && info.source_sample_rate_hz > 0);
            }
            Err(error) => {
                refused += 1;
                let message = error.to_string();
                println!("err  {}: {message}", path.display());
                assert!(
                    !message.contains('\n') && !message.contains('\r'),
                    "multi-line: {message:?}"
                );
                assert!(message.len() < 400, "too long: {message}");
                assert!(
                    message.contains(path.file_name().unwrap().to_str().unwrap()),
                    "names the file: {message}"
                );
            }
        }
    }
    println!("{decoded} decoded, {refused} refused cleanly");
    assert!(decoded >= 30 && refused >= 10);
}

#[test]
fn the_fuzzer_crash_cases_all_fail_cleanly() {
    let Some(fuzz) = testdata("wav-edge/fuzz") else {
        return;
    };
    for path in files_under(&fuzz) {
        let error = outcome(&path)
            .err()
            .unwrap_or_else(|| panic!("{} should not decode", path.display()));
        assert!(
            matches!(
                error,
                AudioError::Unsupported { .. } | AudioError::NoAudio { .. }
            ),
            "{error}"
        );
    }
}

fn expect_ok(relative: &str) -> Option<(AudioInfo, usize)> {
    let path = testdata(relative)?;
    Some(outcome(&path).unwrap_or_else(|error| panic!("{relative} should decode: {error}")))
}

fn expect_err(relative: &str) -> Option<AudioError> {
    let path = testdata(relative)?;
    Some(
        outcome(&path)
            .err()
            .unwrap_or_else(|| panic!("{relative} should fail")),
    )
}

#[test]
fn unusual_pcm_layouts_decode() {
    if let Some((info, _)) = expect_ok("wav-edge/waveformatextensible-24bit-192kHz-mono.wav") {
        assert_eq!(
            (
                info.source_sample_rate_hz,
                info.channel_count,
                info.codec.as_str()
            ),
            (192_000, 1, "PCM 24-bit")
        );
    }
    if let Some((info, _)) = expect_ok("wav-edge/waveformatextensible-24bit-4byte-48kHz-stereo.wav")
    {
        assert_eq!(
            (info.channel_count, info.codec.as_str()),
            (2, "PCM 24-bit in 32-bit words")
        );
    }
    if let Some((info, _)) = expect_ok("wav-edge/pcmwaveformat-24bit-4byte-48kHz-stereo.wav") {
        assert_eq!(info.codec, "PCM 24-bit in 32-bit words");
    }
    if let Some((info, _)) = expect_ok("wav-edge/waveformatextensible-ieeefloat-44100Hz-mono.wav") {
        assert_eq!(info.codec, "IEEE float 32-bit");
    }
    if let Some((info, _)) = expect_ok("wav-edge/waveformatex-8bit-11025Hz-mono.wav") {
        assert_eq!(
            (info.source_sample_rate_hz, info.codec.as_str()),
            (11_025, "PCM 8-bit")
        );
    }
    for (file, codec) in [
        ("tags-edge/24bit_pcm.wav", "PCM 24-bit"),
        ("tags-edge/24bit_pcm_extended.wav", "PCM 24-bit"),
        ("tags-edge/32bit_float.wav", "IEEE float 32-bit"),
        ("tags-edge/32bit_pcm.wav", "PCM 32-bit"),
        ("tags-edge/8bit_pcm.wav", "PCM 8-bit"),
    ] {
        if let Some((info, frames)) = expect_ok(file) {
            assert_eq!(
                (info.channel_count, info.codec.as_str()),
                (2, codec),
                "{file}"
            );
            assert!(frames >= 1_600, "{file}: {frames} frames");
        }
    }
    // Extra chunks (ID3, pictures, LIST) before or after the samples are skipped.
    for file in [
        "tags-edge/id3_header_with_a_zero_byte.wav",
        "tags-edge/wav_with_image.wav",
        "tags-edge/test-tagged.wav",
    ] {
        if let Some((info, frames)) = expect_ok(file) {
            let seconds = frames as f64 / 16_000.0;
            assert!(
                (seconds - info.duration_s.unwrap()).abs() < 0.001,
                "{file}: {seconds} s"
            );
        }
    }
}

#[test]
fn compressed_wavs_and_odd_mp3s() {
    if let Some((info, frames)) = expect_ok("tags-edge/mp3_audio.wav") {
        assert_eq!(info.codec, "mp3", "MP3 inside a WAV wrapper");
        assert!((frames as f64 / 16_000.0 - 1.045).abs() < 0.05);
    }
    if let Some((info, _)) = expect_ok("tags-edge/adpcm_no_byterate.wav") {
        assert_eq!(info.codec, "adpcm_ms");
    }
    if let Some((info, _)) = expect_ok("tags-edge/mpeg25_id3v2.mp3") {
        assert_eq!(info.source_sample_rate_hz, 12_000, "MPEG-2.5");
    }
    if let Some((_, frames)) = expect_ok("tags-edge/id3_broken_frame_size.mp3") {
        assert!(frames > 0, "the audio after a broken ID3 tag is still read");
    }
    if let Some((_, frames)) = expect_ok("tags-edge/silence-44-s-v1.mp3") {
        assert!((frames as f64 / 16_000.0 - 3.74).abs() < 0.05);
    }
    if let Some(error) = expect_err("tags-edge/gsm_6_10.wav") {
        assert!(error.to_string().contains("GSM 6.10"), "{error}");
    }
}

#[test]
fn empty_and_broken_files_fail_with_the_right_error() {
    for file in [
        "tags-edge/empty_file.wav",
        "tags-edge/empty_file.mp3",
        "tags-edge/no_audio_data_uncompressed.wav",
        "tags-edge/no_audio_data_compressed.wav",
    ] {
        if let Some(error) = expect_err(file) {
            assert!(
                matches!(error, AudioError::NoAudio { .. }),
                "{file}: {error}"
            );
        }
    }
    for file in [
        "tags-edge/invalid_file.wav",
        "tags-edge/incomplete.mp3",
        "tags-edge/magic_bytes_only_wav.x",
        "tags-edge/zero_value_properties.wav",
        "tags-edge/id3v24-long-title.mp3",
    ] {
        if let Some(error) = expect_err(file) {
            assert!(
                matches!(error, AudioError::Unsupported { .. }),
                "{file}: {error}"
            );
        }
    }
}

#[test]
fn a_zero_sample_rate_or_absurd_header_is_refused_without_allocating() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("bad.wav");
    let mut header = Vec::new();
    header.extend_from_slice(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00");
    // PCM, 2 channels, 0 Hz, byte rate 0, block align 4, 16 bits.
    header.extend_from_slice(&[1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 16, 0]);
    header.extend_from_slice(b"data\x04\x00\x00\x00\x00\x00\x00\x00");
    std::fs::write(&path, &header).unwrap();
    let error = audio::open(&path).err().unwrap();
    assert!(error.to_string().contains("0 Hz"), "{error}");
    // 65535 channels at 4 GHz: refused from the header alone.
    header[22..24].copy_from_slice(&u16::MAX.to_le_bytes());
    header[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &header).unwrap();
    assert!(matches!(
        audio::open(&path),
        Err(AudioError::Unsupported { .. })
    ));
    // A fmt chunk claiming 4 GB.
    header[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &header).unwrap();
    assert!(matches!(
        audio::open(&path),
        Err(AudioError::Unsupported { .. })
    ));
}

/// Bytes in which symphonia's probe finds no format, as put in front of a file by a broken
/// download or a careless tool.
fn junk(len: usize) -> Vec<u8> {
    (0..len).map(|n| b"verbatim junk "[n % 14]).collect()
}

/// A box: 32-bit size, type, payload.
fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut bytes = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(kind);
    bytes.extend_from_slice(payload);
    bytes
}

/// An M4A whose chunk offset table claims four billion entries.
fn mp4_with_inflated_table() -> Vec<u8> {
    let stco = mp4_box(b"stco", &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 44]);
    let nested = [b"stbl", b"minf", b"mdia", b"trak", b"moov"]
        .iter()
        .fold(stco, |inner, kind| mp4_box(kind, &inner));
    let mut file = mp4_box(b"ftyp", b"M4A \0\0\0\0");
    file.extend(nested);
    file
}

/// An EBML element with an 8-byte size.
fn ebml_element(id: &[u8], size: u64, payload: &[u8]) -> Vec<u8> {
    let mut bytes = id.to_vec();
    bytes.push(0x01);
    bytes.extend_from_slice(&size.to_be_bytes()[1..]);
    bytes.extend_from_slice(payload);
    bytes
}

/// A WebM file whose audio track's CodecPrivate claims a terabyte, inside a track entry and a
/// track list that claim even more (so symphonia finds nothing wrong with it), in a Segment of
/// unknown size (as live recordings have).
fn webm_with_oversized_element() -> Vec<u8> {
    let doc_type = ebml_element(&[0x42, 0x82], 4, b"webm");
    let mut file = ebml_element(&[0x1A, 0x45, 0xDF, 0xA3], doc_type.len() as u64, &doc_type);
    let mut entry = ebml_element(&[0x86], 6, b"A_OPUS");
    entry.extend(ebml_element(&[0x63, 0xA2], 1 << 40, &[0; 64]));
    let track = ebml_element(&[0xAE], 1 << 41, &entry);
    let tracks = ebml_element(&[0x16, 0x54, 0xAE, 0x6B], 1 << 42, &track);
    file.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF]);
    file.extend(tracks);
    file
}

#[test]
fn junk_in_front_or_oversized_elements_are_refused_before_anything_is_allocated() {
    let directory = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("inflated.m4a", mp4_with_inflated_table()),
        ("oversized.webm", webm_with_oversized_element()),
    ] {
        // At the start, after a little junk, and just short of the 1 MiB symphonia searches.
        for prefix in [0, 3_000, (1 << 20) - 40] {
            let path = directory.path().join(format!("{prefix}-{name}"));
            let mut file = junk(prefix);
            file.extend_from_slice(&bytes);
            std::fs::write(&path, &file).unwrap();
            let error = outcome(&path)
                .err()
                .unwrap_or_else(|| panic!("{name} after {prefix} bytes was opened"));
            let message = error.to_string();
            assert!(matches!(error, AudioError::Unsupported { .. }), "{message}");
            assert!(
                !message.contains('\n') && message.contains(&format!("{prefix}-{name}")),
                "{message}"
            );
        }
    }
}

#[test]
fn an_mp3_wav_whose_data_hides_another_container_is_checked_too() {
    // WAVE with format 0x0055 (MP3): symphonia probes the data chunk as a file of its own.
    let mut data = junk(100);
    data.extend(mp4_with_inflated_table());
    let mut fmt = vec![0x55, 0, 1, 0];
    fmt.extend_from_slice(&16_000_u32.to_le_bytes());
    fmt.extend_from_slice(&4_000_u32.to_le_bytes());
    fmt.extend_from_slice(&[1, 0, 0, 0]);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    file.extend_from_slice(&fmt);
    file.extend_from_slice(b"data");
    file.extend_from_slice(&(data.len() as u32).to_le_bytes());
    file.extend_from_slice(&data);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("wrapped.wav");
    std::fs::write(&path, &file).unwrap();
    let error = outcome(&path).err().expect("refused");
    assert!(matches!(error, AudioError::Unsupported { .. }), "{error}");
    assert!(error.to_string().contains("stco"), "{error}");
}

#[test]
fn a_real_webm_after_junk_still_decodes() {
    let Some(wav) = testdata("speech/jfk.wav") else {
        return;
    };
    if !tool_available("ffmpeg") {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let webm = directory.path().join("jfk.webm");
    run(std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-c:a", "libopus", "-b:a", "24k"])
        .arg(&webm));
    let mut file = junk(2_000);
    file.extend(std::fs::read(&webm).unwrap());
    let prefixed = directory.path().join("prefixed.webm");
    std::fs::write(&prefixed, &file).unwrap();
    let (info, frames) = outcome(&prefixed).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(info.channel_count, 1);
    assert!(frames > 10 * 16_000, "{frames} frames");
}
