//! The real output path — cpal's ALSA host, the audio callback, the ring, the clock — on a
//! machine without a sound card. First ALSA's default PCM as a `null` device in a throwaway
//! ALSA configuration: it takes samples as fast as they come, so this checks that every frame
//! of the file goes through the callback and is counted, and that the player stops at the
//! end. Then ALSA's default as the pulse plugin, into a PulseAudio server with a null sink
//! started for the test: a device with a real pace, whose monitor shows the sound arrived.
//! (cpal's own PulseAudio host against that server gave one callback and then stalled, so
//! the player tries ALSA first; that host is not covered.)
//!
//! cpal reads the sound configuration of the process, so the case runs in a child process
//! (this test binary again, one test selected) with its own environment.

mod common;
#[path = "common/pulse.rs"]
mod pulse;

use pulse::PulseServer;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use verbatim::playback::{OutputChoice, Player};

/// Set in the child: which file to play.
const CHILD_AUDIO: &str = "VERBATIM_PLAYBACK_CHILD_AUDIO";

/// Runs `child_plays_to_the_end_through_the_default_output` in a child with `envs`.
fn run_child(audio: &Path, envs: &[(&str, &Path)]) -> String {
    let (succeeded, text) = try_child(audio, envs);
    assert!(succeeded, "the child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child test did not run:\n{text}");
    text
}

/// As [`run_child`]: whether the child passed, and what it printed.
fn try_child(audio: &Path, envs: &[(&str, &Path)]) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_plays_to_the_end_through_the_default_output", "--nocapture"])
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
    (output.status.success() && text.contains("1 passed"), text)
}

/// Not a test of its own: the body of the child process above (does nothing unless
/// `CHILD_AUDIO` is set). Plays JFK's 11 s clip from 1 s to the end through the default
/// output, and checks the clock counted every frame and the player stopped there.
#[test]
fn child_plays_to_the_end_through_the_default_output() {
    let Some(audio) = std::env::var_os(CHILD_AUDIO) else {
        return;
    };
    let mut player = Player::new(OutputChoice::Device);
    player.load(Path::new(&audio), 1.0, None);
    player.play();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) && player.is_playing() {
        player.tick();
        assert_eq!(player.problem(), None, "the output failed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let position = player.position_s();
    println!(
        "position after {:.2} s of wall time: {position:.3} s",
        started.elapsed().as_secs_f64()
    );
    assert!(!player.is_playing(), "the player stops at the end");
    assert!((position - 11.0).abs() < 0.01, "played to {position:.3} s of 11 s");
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

/// The same through a PulseAudio server started for the test (a null sink, which plays in
/// real time), reached by ALSA's pulse plugin: the file takes its own length to play, and the
/// sink's monitor, recorded meanwhile, heard it.
#[test]
fn the_output_plays_in_real_time_into_a_pulseaudio_null_sink() {
    let Some(audio) = common::testdata("speech/jfk.wav") else {
        return;
    };
    let Some(server) = PulseServer::start() else { return };
    let dir = &server.dir;
    let recorded = dir.path().join("monitor.raw");
    let mut monitor = server
        .command("parec")
        .args(["-d", "speaker.monitor", "--format=s16le", "--rate=16000", "--channels=1"])
        .stdout(std::fs::File::create(&recorded).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config = dir.path().join("asound.conf");
    std::fs::write(&config, "pcm.!default { type pulse }\nctl.!default { type pulse }\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let envs: [(&str, &Path); 3] = [("ALSA_CONFIG_PATH", &config), ("HOME", dir.path()), ("XDG_RUNTIME_DIR", dir.path())];
    // ALSA's pulse plugin now and then fails its first `snd_pcm_avail_delay` with an I/O
    // error against a sound server that has just started (about one run in five on this
    // machine); the player reports it as it should. Only that failure is tried again.
    let mut attempt = 0;
    let (text, took) = loop {
        attempt += 1;
        let started = Instant::now();
        let (succeeded, text) = try_child(&audio, &envs);
        let took = started.elapsed();
        if succeeded {
            break (text, took);
        }
        let transient = text.contains("snd_pcm_avail_delay") && text.contains("I/O error") && took < Duration::from_secs(3);
        assert!(transient && attempt < 3, "the child failed (attempt {attempt}):\n{text}");
        eprintln!("the pulse plugin failed at the start (attempt {attempt}); playing again");
    };
    let _ = monitor.kill();
    let _ = monitor.wait();
    println!("{text}");
    assert!(
        (9.0..14.0).contains(&took.as_secs_f64()),
        "10 s of audio took {took:?} to play"
    );
    let bytes = std::fs::read(&recorded).unwrap();
    let peak = bytes
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]).unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(peak > 1000, "the monitor heard nothing louder than {peak} ({} bytes)", bytes.len());
}
