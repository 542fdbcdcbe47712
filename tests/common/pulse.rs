//! A PulseAudio server started for a test in a temporary folder: a null sink `speaker` (its
//! monitor is the output) and a pipe source `mic` fed through `mic.fifo`. Shared by the
//! recording and playback tests; killed when dropped, also when a test fails.
#![allow(dead_code)]

use super::common;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PulseAudio server in a temporary folder, killed when dropped.
pub struct PulseServer {
    pub dir: tempfile::TempDir,
    pub server: Child,
}

impl PulseServer {
    /// A server whose microphone takes 16 kHz mono.
    pub fn start() -> Option<PulseServer> {
        PulseServer::start_with_microphone(16_000, 1)
    }

    pub fn start_with_microphone(rate_hz: u32, channels: u16) -> Option<PulseServer> {
        if Command::new("pulseaudio").arg("--version").output().is_err() {
            common::missing("pulseaudio is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("mic.fifo");
        let server = Command::new("pulseaudio")
            .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no", "--log-target=stderr"])
            .args(["-L", "module-native-protocol-unix", "-L", "module-null-sink sink_name=speaker"])
            .arg("-L")
            .arg(format!("module-pipe-source source_name=mic file={} format=s16le rate={rate_hz} channels={channels}", fifo.display()))
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pulse = PulseServer { dir, server };
        let deadline = Instant::now() + Duration::from_secs(10);
        // Its socket appears before its modules are loaded: wait until it lists the sink too
        // (a client that connects earlier can fail with an I/O error).
        while !(pulse.dir.path().join("pulse/native").exists() && fifo.exists() && pulse.lists_the_speaker()) {
            assert!(Instant::now() < deadline, "the PulseAudio server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(pulse)
    }

    fn lists_the_speaker(&self) -> bool {
        let listed = self.command("pactl").args(["list", "short", "sinks"]).stderr(Stdio::null()).output();
        listed.is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("speaker"))
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("HOME", self.dir.path()).env("XDG_RUNTIME_DIR", self.dir.path()).env("VERBATIM_RECORDINGS_DIR", self.dir.path());
        command
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
