//! The real output path — cpal, the audio callback, the ring, the clock — on a machine without
//! a sound card: once through ALSA with the default PCM defined as a `null` device (in a
//! throwaway ALSA configuration), once through a PulseAudio server started for the test with a
//! null sink, whose monitor is recorded to check that the file's sound reached the device.
//!
//! cpal reads the sound configuration of the process, so each case runs in a child process
//! (this test binary again, one test selected) with its own environment.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use verbatim::playback::{OutputChoice, Player};

/// Set in the child: which file to play.
const CHILD_AUDIO: &str = "VERBATIM_PLAYBACK_CHILD_AUDIO";

/// Runs `child_plays_a_second_through_the_default_output` in a child with `envs`.
fn run_child(audio: &Path, envs: &[(&str, &Path)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child_plays_a_second_through_the_default_output",
            "--nocapture",
        ])
        .env(CHILD_AUDIO, audio)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the child failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the child test did not run:\n{text}"
    );
    text
}

/// Not a test of its own: the body of the child processes above (does nothing unless
/// `CHILD_AUDIO` is set). Plays for 1.5 s of wall time and checks the clock moved as a
/// device consumed the sound.
#[test]
fn child_plays_a_second_through_the_default_output() {
    let Some(audio) = std::env::var_os(CHILD_AUDIO) else {
        return;
    };
    let mut player = Player::new(OutputChoice::Device);
    player.load(Path::new(&audio), 1.0, Some(11.0));
    player.play();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        player.tick();
        assert_eq!(player.problem(), None, "the output failed");
        std::thread::sleep(Duration::from_millis(20));
    }
    player.tick();
    let position = player.position_s();
    println!("position after 1.5 s of wall time: {position:.3} s");
    assert!(player.is_playing(), "{:?}", player.problem());
    assert!(
        (1.8..=3.0).contains(&position),
        "from 1 s, 1.5 s of playing reached {position:.3} s"
    );
}

#[test]
fn the_output_plays_through_an_alsa_null_device() {
    let Some(audio) = common::testdata("speech/jfk.wav") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("asound.conf");
    std::fs::write(
        &config,
        "pcm.!default { type null }\nctl.!default { type hw card 0 }\n",
    )
    .unwrap();
    let text = run_child(
        &audio,
        &[
            ("ALSA_CONFIG_PATH", &config),
            ("HOME", dir.path()),
            ("XDG_RUNTIME_DIR", dir.path()),
            ("PULSE_SERVER", &dir.path().join("no-pulse-server")),
        ],
    );
    println!("{text}");
}

#[test]
fn the_output_plays_through_a_pulseaudio_null_sink() {
    let Some(audio) = common::testdata("speech/jfk.wav") else {
        return;
    };
    if Command::new("pulseaudio")
        .arg("--version")
        .output()
        .is_err()
    {
        common::missing("pulseaudio is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new("pulseaudio")
        .args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
        ])
        .args([
            "-L",
            "module-native-protocol-unix",
            "-L",
            "module-null-sink sink_name=speaker",
        ])
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("pulse/native").exists() {
        assert!(
            Instant::now() < deadline,
            "the PulseAudio server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Record what the sink plays, to check the sound got there.
    let recorded = dir.path().join("monitor.raw");
    let mut monitor = Command::new("parec")
        .args([
            "-d",
            "speaker.monitor",
            "--format=s16le",
            "--rate=16000",
            "--channels=1",
        ])
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .stdout(std::fs::File::create(&recorded).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let result = std::panic::catch_unwind(|| {
        run_child(
            &audio,
            &[("HOME", dir.path()), ("XDG_RUNTIME_DIR", dir.path())],
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let _ = monitor.kill();
    let _ = monitor.wait();
    let _ = server.kill();
    let _ = server.wait();
    let text = result.unwrap();
    println!("{text}");
    let bytes = std::fs::read(&recorded).unwrap();
    let peak = bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]).unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(
        peak > 1000,
        "the sink's monitor heard nothing louder than {peak} ({} bytes recorded)",
        bytes.len()
    );
}
