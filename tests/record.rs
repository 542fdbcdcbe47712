//! Recording with the file source (the virtual microphone): a SIGKILL mid-recording, a full
//! disk and a device that disappears each leave a WAV a strict reader opens whose samples are
//! the source's; recovery repairs the killed file; RF64 past a lowered limit; the live tap's
//! 16 kHz blocks; the silence warning; pause and resume leave no gap and no duplicate.

mod common;

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use verbatim::record::file_input::FileSource;
use verbatim::record::mix::MixSource;
use verbatim::record::recovery::{find_unfinished, recover_unfinished};
use verbatim::record::source::{CaptureSource, RingWriter, RunningSource, SourceEvent, SourceEvents, SourceFormat};
use verbatim::record::wav_writer::RecordingFile;
use verbatim::record::{RecordError, Recorder, RecorderConfig, RecorderEvent, RecordingSummary, StopReason};

fn config(dir: &Path, name: &str) -> RecorderConfig {
    let mut config = RecorderConfig::new(dir.join(name));
    config.recordings_dir = Some(dir.to_path_buf());
    config
}

fn file_source(path: &Path, speed: f64) -> Box<dyn CaptureSource> {
    Box::new(FileSource::open(path, speed).unwrap())
}

/// Runs a recording to its end, returning its events and summary.
fn record_to_end(recorder: Recorder) -> (Vec<RecorderEvent>, RecordingSummary) {
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(event) = recorder.next_event(Duration::from_millis(100)) {
            let finished = matches!(event, RecorderEvent::Finished(_));
            events.push(event);
            if finished {
                break;
            }
        }
    }
    (events, recorder.wait())
}

#[test]
fn sigkill_mid_recording_keeps_all_but_the_last_second_and_recovery_repairs_it() {
    let Some(source) = common::testdata("speech/two_cities.wav") else { return };
    let expected = common::strict_samples(&source);
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("killed.wav");
    let mut child = Command::new(common::verbatim_exe())
        .args(["record", "--device", &format!("file:{}", source.display()), "--output", wav.to_str().unwrap()])
        .env("VERBATIM_RECORDINGS_DIR", dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("recording to {}", wav.display()));
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    child.kill().unwrap(); // SIGKILL
    let killed_after_s = started.elapsed().as_secs_f64();
    child.wait().unwrap();

    let samples = common::strict_samples(&wav);
    assert_eq!(samples, expected[..samples.len()], "the file holds the source's first samples exactly");
    let kept_s = samples.len() as f64 / 48_000.0;
    assert!(kept_s >= killed_after_s - 1.0, "kept {kept_s:.2} s of {killed_after_s:.2} s");

    let found = find_unfinished(dir.path());
    assert_eq!(found.len(), 1, "the killed recording is found");
    assert_eq!(found[0].path, wav);
    let repaired = recover_unfinished(dir.path()).remove(0).unwrap();
    let after = common::strict_samples(&wav);
    assert!(after.len() >= samples.len());
    assert_eq!(after, expected[..after.len()]);
    assert!((repaired.duration_s - after.len() as f64 / 48_000.0).abs() < 1e-6);
    assert!(find_unfinished(dir.path()).is_empty(), "nothing left to repair");
}

#[test]
fn the_cli_reports_a_recovered_recording_and_finishes_a_file_source() {
    let Some(source) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    // A recording a crash left behind: header says 0 bytes, 1 s of audio follows.
    let left = dir.path().join("left.wav");
    let file = std::fs::File::create(&left).unwrap();
    let format = SourceFormat { sample_rate_hz: 16_000, channel_count: 1 };
    let mut writer = verbatim::record::wav_writer::WavWriter::create(file, format, u32::MAX.into()).unwrap();
    writer.append(&[7; 16_000]).unwrap();
    drop(writer);
    let output = Command::new(common::verbatim_exe())
        .args(["record", "--device", &format!("file:{}", source.display()), "--speed", "50", "--output"])
        .arg(dir.path().join("new.wav"))
        .env("VERBATIM_RECORDINGS_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("recovered an unfinished recording: {} (0:01", left.display())), "{stderr}");
    assert!(stderr.contains("recording to "), "{stderr}");
    assert_eq!(common::strict_samples(&left), vec![7; 16_000]);
    assert_eq!(common::strict_samples(&dir.path().join("new.wav")), common::strict_samples(&source));
}

/// A file that takes `capacity` bytes, then fails with ENOSPC (the crossing write is partial).
struct FullDisk {
    file: std::fs::File,
    capacity: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.capacity.saturating_sub(self.file.stream_position()?) as usize;
        if room == 0 && !buf.is_empty() {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.file.write(&buf[..buf.len().min(room)])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for FullDisk {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(position)
    }
}

impl RecordingFile for FullDisk {
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }
}

#[test]
fn a_full_disk_stops_the_recording_and_keeps_every_whole_frame() {
    let Some(source) = common::testdata("speech/jfk.wav") else { return };
    let expected = common::strict_samples(&source);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "full.wav");
    let path = config.path.clone();
    let file = FullDisk { file: std::fs::File::create(&path).unwrap(), capacity: 100_001 };
    let recorder = Recorder::start_with_file(file_source(&source, f64::INFINITY), config, file).unwrap();
    let (events, summary) = record_to_end(recorder);
    assert_eq!(summary.reason, StopReason::DiskFull);
    assert!(summary.file_complete);
    let failure = events.iter().find_map(|event| match event {
        RecorderEvent::Failed(message) => Some(message.clone()),
        _ => None,
    });
    let failure = failure.expect("a failure event");
    assert!(failure.contains("the disk is full") && failure.contains(path.to_str().unwrap()), "{failure}");
    let samples = common::strict_samples(&path);
    assert_eq!(samples.len(), (100_001 - 80) / 2, "every whole frame that reached the disk");
    assert_eq!(samples, expected[..samples.len()]);
    assert!(find_unfinished(dir.path()).is_empty(), "a salvaged file needs no repair");
}

#[test]
fn a_full_tmpfs_stops_the_cli_recording_cleanly() {
    let Some(source) = common::testdata("speech/two_cities.wav") else { return };
    let mount_point = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(mount_point.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("skipping: mounting a tmpfs is not permitted here");
        return;
    }
    let wav = mount_point.path().join("full.wav");
    let output = Command::new(common::verbatim_exe())
        .args(["record", "--device", &format!("file:{}", source.display()), "--speed", "50", "--output"])
        .arg(&wav)
        .env("VERBATIM_RECORDINGS_DIR", mount_point.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let samples = common::strict_samples(&wav);
    let _ = Command::new("umount").arg(mount_point.path()).status();
    assert!(!output.status.success());
    assert!(stderr.contains("error: recording stopped: the disk is full"), "{stderr}");
    assert!(samples.len() > 50_000, "most of 256 KiB is kept: {} samples", samples.len());
    assert_eq!(samples, common::strict_samples(&source)[..samples.len()]);
}

/// A device that delivers `frames` of a file, then disappears.
struct VanishingDevice {
    samples: Vec<f32>,
}

struct Gone(std::thread::JoinHandle<()>);

impl RunningSource for Gone {
    fn stop(self: Box<Self>) {
        let _ = self.0.join();
    }
}

impl CaptureSource for VanishingDevice {
    fn name(&self) -> &str {
        "USB microphone"
    }
    fn format(&self) -> SourceFormat {
        SourceFormat { sample_rate_hz: 16_000, channel_count: 1 }
    }
    fn start(self: Box<Self>, mut ring: RingWriter, events: SourceEvents) -> Result<Box<dyn RunningSource>, RecordError> {
        Ok(Box::new(Gone(std::thread::spawn(move || {
            for piece in self.samples.chunks(160) {
                while ring.free_frames() < piece.len() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                ring.push(piece);
            }
            let _ = events.send(SourceEvent::Failed("USB microphone disappeared (unplugged or switched off)".into()));
        }))))
    }
}

#[test]
fn a_device_that_disappears_keeps_what_it_delivered() {
    let Some(source) = common::testdata("speech/jfk.wav") else { return };
    let expected = common::strict_samples(&source);
    let delivered: Vec<f32> = expected[..70_000].iter().map(|&s| f32::from(s) / 32_768.0).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "vanished.wav");
    let path = config.path.clone();
    let recorder = Recorder::start(Box::new(VanishingDevice { samples: delivered }), config).unwrap();
    let (events, summary) = record_to_end(recorder);
    assert!(matches!(summary.reason, StopReason::SourceFailed(_)), "{:?}", summary.reason);
    assert!(events.iter().any(|event| matches!(event, RecorderEvent::Failed(message) if message.contains("disappeared") && message.contains("kept in"))));
    assert_eq!(common::strict_samples(&path), expected[..70_000]);
    assert!(find_unfinished(dir.path()).is_empty());
}

#[test]
fn past_the_riff_limit_the_file_becomes_rf64_and_reads_whole() {
    let Some(source) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), "long.wav");
    config.riff_limit_bytes = 64 * 1024;
    let path = config.path.clone();
    let (_, summary) = record_to_end(Recorder::start(file_source(&source, f64::INFINITY), config).unwrap());
    assert_eq!(summary.reason, StopReason::SourceEnded);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"RF64");
    assert_eq!(&bytes[12..16], b"ds64");
    let data_bytes = u64::from_le_bytes(bytes[28..36].try_into().unwrap());
    assert_eq!(data_bytes, 176_000 * 2);
    // The project's reader (RF64-aware) gives back every sample: jfk is 16 kHz, so no resampling.
    let recorded = verbatim::audio::read_mono_16k(&path).unwrap();
    let original = verbatim::audio::read_mono_16k(&source).unwrap();
    assert_eq!(recorded, original);
}

#[test]
fn the_live_tap_is_the_file_at_16_khz_in_contiguous_100_ms_blocks() {
    let Some(source) = common::testdata("speech/two_cities.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), "tapped.wav");
    config.live_tap = true;
    let path = config.path.clone();
    let mut recorder = Recorder::start(file_source(&source, f64::INFINITY), config).unwrap();
    let mut tap = recorder.take_live_tap().unwrap();
    let reader = std::thread::spawn(move || {
        let mut blocks = Vec::new();
        while let Some(block) = tap.blocking_recv() {
            blocks.push(block);
        }
        blocks
    });
    let (_, summary) = record_to_end(recorder);
    let blocks = reader.join().unwrap();
    assert_eq!(summary.reason, StopReason::SourceEnded);
    let mut next_start_s = 0.0;
    let mut tapped = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        assert!((block.start_s - next_start_s).abs() < 1e-9, "block {index} starts at {}", block.start_s);
        if index + 1 < blocks.len() {
            assert_eq!(block.frame_count(), verbatim::record::TAP_BLOCK_FRAMES);
        }
        next_start_s += block.duration_s();
        tapped.extend_from_slice(&block.channels[0]);
    }
    let file_at_16k = verbatim::audio::read_mono_16k(&path).unwrap();
    assert_eq!(tapped.len(), file_at_16k.len());
    let worst = tapped.iter().zip(&file_at_16k).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
    assert!(worst < 1e-5, "the tap differs from the file resampled by {worst}");
}

fn write_silence(path: &Path, seconds: u32) -> PathBuf {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..seconds * 16_000 {
        writer.write_sample(0_i16).unwrap();
    }
    writer.finalize().unwrap();
    path.to_path_buf()
}

fn warnings(events: &[RecorderEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            RecorderEvent::Warning(message) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn five_seconds_of_digital_silence_warn_once_and_four_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let six = write_silence(&dir.path().join("six.wav"), 6);
    let (events, _) = record_to_end(Recorder::start(file_source(&six, f64::INFINITY), config(dir.path(), "a.wav")).unwrap());
    assert_eq!(warnings(&events), vec!["no sound from file six.wav — is it the right microphone?".to_string()]);
    let four = write_silence(&dir.path().join("four.wav"), 4);
    let (events, _) = record_to_end(Recorder::start(file_source(&four, f64::INFINITY), config(dir.path(), "b.wav")).unwrap());
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
}

#[test]
fn pause_and_resume_leave_no_gap_and_no_duplicate() {
    let Some(source) = common::testdata("speech/jfk.wav") else { return };
    let expected = common::strict_samples(&source);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "paused.wav");
    let path = config.path.clone();
    let recorder = Recorder::start(file_source(&source, 4.0), config).unwrap();
    assert!(matches!(recorder.next_event(Duration::from_secs(5)), Some(RecorderEvent::Started { .. })));
    std::thread::sleep(Duration::from_millis(600));
    recorder.pause();
    std::thread::sleep(Duration::from_millis(500));
    recorder.resume();
    let (_, summary) = record_to_end(recorder);
    assert_eq!(summary.reason, StopReason::SourceEnded);
    let recorded = common::strict_samples(&path);
    // The file is the source up to the pause, then the source from the resume to its end.
    let before = recorded.iter().zip(&expected).take_while(|(a, b)| a == b).count();
    let after = recorded.len() - before;
    assert_eq!(recorded[before..], expected[expected.len() - after..], "the part after the resume");
    let skipped_s = (expected.len() - recorded.len()) as f64 / 16_000.0;
    assert!(before > 16_000, "recorded {before} frames before the pause");
    assert!((1.0..3.0).contains(&skipped_s), "0.5 s paused at 4× is about 2 s of source: {skipped_s:.2}");
    assert!((summary.recorded_s - recorded.len() as f64 / 16_000.0).abs() < 1e-9);
}

#[test]
fn the_mix_puts_the_microphone_left_and_the_monitor_right() {
    let Some(left) = common::testdata("speech/jfk.wav") else { return };
    let Some(stereo) = common::testdata("stereo/stereo_diarization.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "call.wav");
    let path = config.path.clone();
    let mix = MixSource::new(file_source(&left, 1.0), file_source(&stereo, 1.0)).unwrap();
    assert_eq!(mix.format(), SourceFormat { sample_rate_hz: 16_000, channel_count: 2 });
    let recorder = Recorder::start(Box::new(mix), config).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    recorder.stop();
    let (_, summary) = record_to_end(recorder);
    assert_eq!(summary.reason, StopReason::Requested);
    let recorded = common::strict_samples(&path);
    let microphone: Vec<i16> = recorded.iter().step_by(2).copied().collect();
    let monitor: Vec<i16> = recorded.iter().skip(1).step_by(2).copied().collect();
    assert!(microphone.len() > 30_000, "{} frames", microphone.len());
    assert_eq!(microphone, common::strict_samples(&left)[..microphone.len()], "the microphone is channel 1, sample for sample");
    // The monitor's own mono mix, found in channel 2 within the allowed drift.
    let stereo_samples = common::strict_samples(&stereo);
    let monitor_mono: Vec<i16> = stereo_samples.chunks(2).map(|pair| ((i32::from(pair[0]) + i32::from(pair[1])) / 2) as i16).collect();
    let probe = &monitor_mono[8_000..8_400];
    let found = (0..monitor.len() - probe.len()).find(|&at| {
        monitor[at..at + probe.len()].iter().zip(probe).all(|(a, b)| (i32::from(*a) - i32::from(*b)).abs() <= 1)
    });
    let at = found.expect("the monitor's audio is in channel 2");
    let lag_s = (at as f64 - 8_000.0) / 16_000.0;
    assert!(lag_s.abs() <= 0.25, "channel 2 lags by {lag_s:.3} s");
}
