//! The real capture path — cpal's PulseAudio host, the audio callback, the ring, the writer —
//! against a PulseAudio server started for the test: a pipe source is the microphone (fed a
//! real recording, so the file can be compared sample for sample) and a null sink's monitor is
//! the output. Also the device list, `--monitor`, and a sound server that dies mid-recording.
//! cpal's ALSA host is tested the same way, through an ALSA device defined in the test's
//! `~/.asoundrc` that ALSA's pulse plugin serves from the pipe source: ALSA's own `null` and
//! `file` devices deliver as fast as they are read, not at a microphone's pace.
//! Skipped where `pulseaudio` is not installed, except in CI (`scripts/setup` installs it).

mod common;
#[path = "common/pulse.rs"]
mod pulse;

use pulse::PulseServer;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl PulseServer {
    /// Waits until `count` record streams are connected (the monitor only hears what plays
    /// after its stream exists).
    fn wait_for_record_streams(&self, count: usize, recording: &Recording) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listed = self.command("pactl").args(["list", "short", "source-outputs"]).output().unwrap();
            if String::from_utf8_lossy(&listed.stdout).lines().count() >= count {
                return;
            }
            assert!(Instant::now() < deadline, "the recorder did not connect {count} streams: {}", recording.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Writes 16 kHz mono samples into the microphone at real-time pace in 100 ms pieces, as
    /// a microphone delivers them. (Written all at once, the server pushes them faster than a
    /// loaded machine reads and drops some; and after the last piece the pipe source delivers
    /// nothing, a stall the recorder reports after 2 s.)
    fn speak_in_real_time(&self, samples: Vec<i16>) -> std::thread::JoinHandle<()> {
        self.speak_in_real_time_at(samples, 1_600)
    }

    /// The same for a microphone that takes `samples_per_100_ms` interleaved samples a tenth
    /// of a second.
    fn speak_in_real_time_at(&self, samples: Vec<i16>, samples_per_100_ms: usize) -> std::thread::JoinHandle<()> {
        let fifo_path = self.dir.path().join("mic.fifo");
        std::thread::spawn(move || {
            let mut fifo = std::fs::OpenOptions::new().write(true).open(fifo_path).unwrap();
            let started = Instant::now();
            for (index, piece) in samples.chunks(samples_per_100_ms).enumerate() {
                let due = started + Duration::from_millis(100 * index as u64);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let bytes: Vec<u8> = piece.iter().flat_map(|sample| sample.to_le_bytes()).collect();
                fifo.write_all(&bytes).unwrap();
            }
        })
    }
}


fn strict_samples(path: &Path) -> (u16, Vec<i16>) {
    let reader = hound::WavReader::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let channels = reader.spec().channels;
    (channels, reader.into_samples().collect::<Result<_, _>>().unwrap())
}

/// The loudest sample of the second channel of 16-bit stereo written so far to a recording
/// still in progress.
fn second_channel_peak_so_far(wav: &Path) -> u16 {
    let bytes = std::fs::read(wav).unwrap_or_default();
    let Some(data) = bytes.windows(4).position(|w| w == b"data") else { return 0 };
    let samples = bytes.get(data + 8..).unwrap_or(&[]);
    samples.chunks_exact(4).map(|frame| i16::from_le_bytes([frame[2], frame[3]]).unsigned_abs()).max().unwrap_or(0)
}

/// Where `needle` starts in `haystack`, sample for sample.
fn find_run(haystack: &[i16], needle: &[i16]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A `verbatim record` running against the server, its stderr collected.
struct Recording {
    child: Child,
    stderr: Arc<Mutex<String>>,
    wav: PathBuf,
}

impl Recording {
    fn start(pulse: &PulseServer, extra: &[&str]) -> Recording {
        Recording::start_on(pulse, "pulseaudio:mic", extra)
    }

    fn start_on(pulse: &PulseServer, device: &str, extra: &[&str]) -> Recording {
        let wav = pulse.dir.path().join("recording.wav");
        let mut child = pulse
            .command(common::verbatim_exe())
            .args(["record", "--device", device, "--output"])
            .arg(&wav)
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                collected.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Recording { child, stderr, wav }
    }

    fn wait_for_audio_s(&self, seconds: f64, channels: u64) {
        self.wait_for_audio_s_at(seconds, 16_000, channels)
    }

    fn wait_for_audio_s_at(&self, seconds: f64, rate_hz: u64, channels: u64) {
        let wanted = 80 + (seconds * rate_hz as f64) as u64 * 2 * channels;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&self.wav).map_or(0, |m| m.len()) < wanted {
            assert!(Instant::now() < deadline, "the recording did not grow: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl+C, then the exit status.
    fn interrupt(mut self) -> (bool, String, PathBuf) {
        Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (status.success(), self.stderr(), self.wav.clone())
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

fn jfk() -> Option<Vec<i16>> {
    let path = common::testdata("speech/jfk.wav")?;
    Some(strict_samples(&path).1)
}

#[test]
fn the_device_list_names_the_microphone_and_the_monitor() {
    let Some(pulse) = PulseServer::start() else { return };
    let output = pulse.command(common::verbatim_exe()).args(["record", "--list-devices"]).output().unwrap();
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(listing.lines().any(|line| line.contains("pulseaudio:mic ")), "{listing}");
    assert!(listing.lines().any(|line| line.contains("pulseaudio:speaker.monitor") && line.ends_with("(monitor of an output)")), "{listing}");
    assert!(listing.lines().next().is_some_and(|line| line.starts_with("* ")), "the default comes first: {listing}");
}

#[test]
fn a_pulseaudio_microphone_is_recorded_sample_for_sample() {
    let (Some(pulse), Some(speech)) = (PulseServer::start(), jfk()) else { return };
    let recording = Recording::start(&pulse, &[]);
    pulse.wait_for_record_streams(1, &recording);
    // 3 s of speech, then silence: the pipe source holds back a last partial block until more comes.
    pulse.speak_in_real_time([&speech[..48_000], &[0; 8_000][..]].concat()).join().unwrap();
    recording.wait_for_audio_s(3.0, 1);
    let (success, stderr, wav) = recording.interrupt();
    assert!(success, "{stderr}");
    assert!(stderr.contains(&format!("recording to {}", wav.display())), "{stderr}");
    let (channels, recorded) = strict_samples(&wav);
    assert_eq!(channels, 1);
    assert!(find_run(&recorded, &speech[..48_000]).is_some(), "all 3 s of speech, exactly, in {} samples", recorded.len());
}

fn alsa_pulse_plugin_installed() -> bool {
    let Ok(lib_dirs) = std::fs::read_dir("/usr/lib") else { return false };
    let mut candidates: Vec<PathBuf> = lib_dirs.filter_map(Result::ok).map(|entry| entry.path().join("alsa-lib")).collect();
    candidates.push(PathBuf::from("/usr/lib/alsa-lib"));
    candidates.iter().any(|dir| dir.join("libasound_module_pcm_pulse.so").exists())
}

#[test]
fn the_alsa_host_records_a_microphone_sample_for_sample() {
    // 48 kHz stereo, what cpal asks of an ALSA device by default, so nothing resamples.
    if !alsa_pulse_plugin_installed() {
        common::missing("ALSA's pulse plugin (libasound2-plugins) is not installed");
        return;
    }
    let (Some(pulse), Some(speech)) = (PulseServer::start_with_microphone(48_000, 2), jfk()) else { return };
    let asoundrc = "pcm.verbatim_mic {\n type pulse\n device \"mic\"\n hint { show on; description \"Verbatim test microphone\" }\n}\n";
    std::fs::write(pulse.dir.path().join(".asoundrc"), asoundrc).unwrap();
    let listed = pulse.command(common::verbatim_exe()).args(["record", "--list-devices"]).output().unwrap();
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert!(listing.lines().any(|line| line.contains("alsa:verbatim_mic ") && line.ends_with("Verbatim test microphone")), "{listing}");
    // Each 16 kHz sample three times, left as it is and right inverted: two channels that differ.
    let stereo: Vec<i16> = speech[..48_000].iter().flat_map(|&s| [s, s.saturating_neg()].repeat(3)).collect();
    let recording = Recording::start_on(&pulse, "alsa:verbatim_mic", &[]);
    pulse.wait_for_record_streams(1, &recording);
    pulse.speak_in_real_time_at([&stereo[..], &[0; 48_000][..]].concat(), 9_600).join().unwrap();
    recording.wait_for_audio_s_at(3.0, 48_000, 2);
    let (success, stderr, wav) = recording.interrupt();
    assert!(success, "{stderr}");
    let reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!((reader.spec().sample_rate, reader.spec().channels), (48_000, 2), "the device's own rate and channels are kept");
    let (_, recorded) = strict_samples(&wav);
    assert!(find_run(&recorded, &stereo).is_some(), "all 3 s of both channels, exactly, in {} samples", recorded.len());
}

#[test]
fn with_monitor_the_output_is_the_second_channel() {
    let (Some(pulse), Some(speech)) = (PulseServer::start(), jfk()) else { return };
    let recording = Recording::start(&pulse, &["--monitor"]);
    pulse.wait_for_record_streams(1, &recording);
    // The server connects the monitor's stream once the microphone's delivers (a pipe source
    // delivers only what it is fed; a real microphone delivers from the start).
    let speaking = pulse.speak_in_real_time([&speech[..48_000], &[0; 96_000][..]].concat());
    pulse.wait_for_record_streams(2, &recording);
    // A monitor stream just connected captures nothing for a moment (measured: under 1 s when
    // the machine is quiet, more when it is not): the tone is played half a second at a time
    // until the recording has it (at most 4 s), then half a second more.
    std::thread::sleep(Duration::from_millis(1000));
    let mut player = pulse
        .command("pacat")
        .args(["--playback", "--raw", "--format=s16le", "--rate=16000", "--channels=1", "--device=speaker"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let half_second: Vec<u8> = (0..8_000).flat_map(|n| ((((n as f64) * 0.1).sin() * 8000.0) as i16).to_le_bytes()).collect();
    let mut speaker = player.stdin.take().unwrap();
    for _ in 0..8 {
        speaker.write_all(&half_second).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        if second_channel_peak_so_far(&recording.wav) >= 6000 {
            break;
        }
    }
    speaker.write_all(&half_second).unwrap();
    drop(speaker);
    player.wait().unwrap();
    speaking.join().unwrap();
    let (success, stderr, wav) = recording.interrupt();
    assert!(success, "{stderr}");
    let (channels, recorded) = strict_samples(&wav);
    assert_eq!(channels, 2);
    let microphone: Vec<i16> = recorded.iter().step_by(2).copied().collect();
    let monitor: Vec<i16> = recorded.iter().skip(1).step_by(2).copied().collect();
    assert!(find_run(&microphone, &speech[..48_000]).is_some(), "the microphone is channel 1, exactly");
    let loudest = monitor.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!((6000..=9000).contains(&loudest), "the played tone (peak 8000) is in channel 2: peak {loudest}");
}

#[test]
fn a_sound_server_that_dies_stops_the_recording_and_keeps_the_file() {
    let (Some(mut pulse), Some(speech)) = (PulseServer::start(), jfk()) else { return };
    let recording = Recording::start(&pulse, &[]);
    pulse.wait_for_record_streams(1, &recording);
    pulse.speak_in_real_time([&speech[..32_000], &[0; 8_000][..]].concat()).join().unwrap();
    recording.wait_for_audio_s(2.0, 1);
    pulse.server.kill().unwrap();
    let mut recording = recording;
    let status = recording.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stderr = recording.stderr();
    assert!(!status.success());
    assert!(stderr.contains("error: recording stopped:") && stderr.contains("are kept in"), "{stderr}");
    let (_, recorded) = strict_samples(&recording.wav);
    assert!(find_run(&recorded, &speech[..32_000]).is_some(), "the 2 s spoken before are all kept");
}
