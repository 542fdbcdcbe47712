//! Peak memory while decoding a long file stays at about a block, not the file: its own test
//! binary so no other test's allocations blur the figure.

mod audio_common;

use verbatim::audio;

/// The process's peak resident memory so far, in bytes (Linux).
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

#[test]
fn decoding_an_hour_of_stereo_44k_stays_small() {
    // An hour of 44.1 kHz stereo 16-bit (635 MB of PCM, 1.1 GB as 16 kHz f32 if held whole)
    // is too big to write in a test; 20 minutes shows the same thing: 212 MB on disk.
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("long.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    let frame_count = 20 * 60 * 44_100_u64;
    for n in 0..frame_count {
        let value = ((n as f32 * 0.05).sin() * 10_000.0) as i16;
        writer.write_sample(value).unwrap();
        writer.write_sample(-value).unwrap();
    }
    writer.finalize().unwrap();

    let Some(before) = peak_resident_bytes() else {
        audio_common::missing("peak memory (VmHWM in /proc/self/status)");
        return;
    };
    let started = std::time::Instant::now();
    let mut frames = 0;
    for block in audio::open(&path).unwrap() {
        let block = block.unwrap();
        assert!(block.frame_count() <= audio::BLOCK_FRAMES);
        frames += block.frame_count();
    }
    let grown = peak_resident_bytes().unwrap().saturating_sub(before);
    println!(
        "20 min of 44.1 kHz stereo decoded in {:?}; peak memory grew {} MB",
        started.elapsed(),
        grown / 1_000_000
    );
    assert_eq!(frames, 20 * 60 * 16_000);
    assert!(grown < 40_000_000, "peak memory grew by {grown} bytes");
}
