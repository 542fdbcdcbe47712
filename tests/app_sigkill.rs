//! The autosaved session keeps its promise when the real window is killed with SIGKILL (no
//! chance to save on the way out): during a transcription, every segment the window had
//! heard longer ago than the autosave interval is on disk; during editing, an edit made
//! longer ago than the interval is there after a restart.
//!
//! The window runs as its own process under Xvfb (as in `app_process.rs`); edits are made
//! with xdotool, as a person would. With `VERBATIM_DEBUG_SESSION` the window says on stderr
//! what it had in memory and when, which is what the session on disk is checked against.

mod common;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use verbatim::app::SESSION_SAVE_INTERVAL;
use verbatim::app::session::{RestoredJob, SavedStatus, SessionStore};

/// Slack on top of the autosave interval: the save itself, and the test noticing a line.
const SLACK: Duration = Duration::from_millis(1500);

/// A `verbatim` window under its own Xvfb, its stderr lines timed as they arrive.
struct Window {
    wrapper: Child,
    pid: String,
    display: String,
    xauthority: String,
    lines: mpsc::Receiver<(Instant, String)>,
    log: Vec<String>,
}

impl Window {
    fn start(scratch: &Path, args: &[OsString]) -> Window {
        let models = std::env::var_os("VERBATIM_MODELS_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::data_dir().map(|dir| dir.join("verbatim").join("models")))
            .unwrap_or_default();
        let pid_file = scratch.join("pid");
        let display_file = scratch.join("display");
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&display_file);
        let mut wrapper = Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24", "sh", "-c"])
            .arg(r#"echo "$DISPLAY $XAUTHORITY" > "$VERBATIM_TEST_DISPLAY_FILE"; "$0" "$@" & echo $! > "$VERBATIM_TEST_PID_FILE"; wait $!"#)
            .arg(env!("CARGO_BIN_EXE_verbatim"))
            .args(args)
            .env("VERBATIM_TEST_PID_FILE", &pid_file)
            .env("VERBATIM_TEST_DISPLAY_FILE", &display_file)
            .env("VERBATIM_DEBUG_SESSION", "1")
            .env("XDG_DATA_HOME", scratch.join("data"))
            .env("XDG_CONFIG_HOME", scratch.join("config"))
            .env("VERBATIM_MODELS_DIR", &models)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("xvfb-run did not start: {error}"));
        let stderr = wrapper.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let (pid, display) = loop {
            let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            let display = std::fs::read_to_string(&display_file).unwrap_or_default();
            if !pid.trim().is_empty() && !display.trim().is_empty() {
                break (pid.trim().to_string(), display.trim().to_string());
            }
            assert!(Instant::now() < deadline, "the window process did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        let (display, xauthority) = display.split_once(' ').map(|(d, a)| (d.to_string(), a.to_string())).unwrap_or((display, String::new()));
        Window { wrapper, pid, display, xauthority, lines, log: Vec::new() }
    }

    /// The next stderr line within `timeout`, with when it arrived.
    fn next_line(&mut self, timeout: Duration) -> Option<(Instant, String)> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.log.push(line.1.clone());
        Some(line)
    }

    fn xdotool(&self, args: &[&str]) -> bool {
        Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .env("XAUTHORITY", &self.xauthority)
            .stdout(Stdio::piped())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Waits until the window is mapped, then gives it the keyboard.
    fn focus(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.xdotool(&["search", "--sync", "--onlyvisible", "--name", "Verbatim", "windowfocus", "--sync"]) {
            assert!(Instant::now() < deadline, "no Verbatim window appeared");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.pid]).status();
        assert!(sent.is_ok_and(|status| status.success()), "kill {signal} failed");
    }

    /// Waits for the process (and its Xvfb) to be gone.
    fn wait_gone(mut self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = self.wrapper.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.wrapper.kill();
                panic!("the window did not end:\n{}", self.log.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        while let Ok((_, line)) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log
    }
}

fn session_store(scratch: &Path) -> SessionStore {
    SessionStore::at(scratch.join("data/verbatim/session"))
}

/// What a restarted window reads back.
fn restored(scratch: &Path) -> Vec<RestoredJob> {
    session_store(scratch).load().unwrap_or_else(|error| panic!("the session does not read after the kill: {error}"))
}

/// `verbatim-debug: N segments of PATH` → N.
fn segments_heard(line: &str) -> Option<usize> {
    line.strip_prefix("verbatim-debug: ")?.split_once(" segments of ")?.0.parse().ok()
}

#[test]
fn sigkill_during_a_transcription_loses_nothing_heard_longer_ago_than_the_autosave_interval() {
    if !common::have_tool("xvfb-run") {
        common::missing("xvfb-run is not installed");
        return;
    }
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let Some(recording) = common::long_recording(scratch.path()) else { return };
    let mut window = Window::start(scratch.path(), &["open".into(), recording.clone().into()]);
    // Every segment as the window heard it, with when.
    let mut heard: Vec<(Instant, usize)> = Vec::new();
    let started = Instant::now();
    let kill_at = loop {
        let Some((at, line)) = window.next_line(Duration::from_secs(300)) else {
            panic!("the window stopped talking:\n{}", window.log.join("\n"));
        };
        assert!(!line.contains("long.wav: "), "the file ended before the kill could test anything: {line}");
        if let Some(count) = segments_heard(&line) {
            heard.push((at, count));
        }
        // Kill once the first segment is older than the interval plus slack, and more
        // keep coming (or have had time to).
        if let Some(&(first_at, _)) = heard.first()
            && at.duration_since(first_at) > SESSION_SAVE_INTERVAL + SLACK
        {
            break at;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no segments in 10 minutes");
    };
    window.signal("-KILL");
    let killed = Instant::now();
    let log = window.wait_gone();
    assert!(!log.iter().any(|line| line.contains("long.wav: done")), "{}", log.join("\n"));
    let must_have = heard
        .iter()
        .filter(|(at, _)| *at + SESSION_SAVE_INTERVAL + SLACK <= kill_at.min(killed))
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0);
    assert!(must_have >= 1, "the test killed too early to check anything: {heard:?}");
    let jobs = restored(scratch.path());
    assert_eq!(jobs.len(), 1, "{:?}", jobs.iter().map(|job| &job.saved).collect::<Vec<_>>());
    assert_eq!(jobs[0].saved.status, SavedStatus::Interrupted, "comes back as interrupted, with a Retry");
    let on_disk = jobs[0].transcript.segments.len();
    // Everything the window said before it died, also what the test had not read yet at the kill.
    let last_heard = log.iter().filter_map(|line| segments_heard(line)).max().unwrap_or(0);
    println!("heard {last_heard} segments, {must_have} longer ago than the interval; {on_disk} on disk");
    assert!(
        on_disk >= must_have,
        "{on_disk} segments on disk, but {must_have} were heard longer ago than {SESSION_SAVE_INTERVAL:?}"
    );
    assert!(on_disk <= last_heard, "the disk is never ahead of the window");
}

#[test]
fn sigkill_during_editing_keeps_an_edit_older_than_the_autosave_interval() {
    if !common::have_tool("xvfb-run") || !common::have_tool("xdotool") {
        common::missing("xvfb-run and xdotool are needed");
        return;
    }
    let Some(recording) = common::testdata("speech/jfk.wav") else { return };
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    let mut transcript = verbatim::transcript::Transcript::new();
    for (start_s, text) in [(0.0, "And so my fellow Americans ask not what your country can do for you"), (8.0, "ask what you can do for your country.")] {
        transcript.push_segment(verbatim::events::Segment {
            revision_key: None,
            start_s,
            end_s: start_s + 3.0,
            text: text.into(),
            speaker: None,
            words: vec![],
            ..Default::default()
        });
    }
    common::save_finished_session(&session_store(scratch.path()), "jfk", recording, transcript);

    let mut window = Window::start(scratch.path(), &[]);
    window.focus();
    // Give the window time to read the session and draw it (1180×760 at the screen's corner;
    // the first row's text starts at x≈450, y≈122).
    std::thread::sleep(Duration::from_secs(3));
    let edited_text = "Edited before the kill";
    assert!(window.xdotool(&["mousemove", "600", "122", "click", "--repeat", "2", "--delay", "150", "1"]));
    std::thread::sleep(Duration::from_millis(500));
    assert!(window.xdotool(&["key", "ctrl+a"]));
    assert!(window.xdotool(&["type", "--delay", "20", edited_text]));
    assert!(window.xdotool(&["key", "Return"]));
    let edited_at = loop {
        let Some((at, line)) = window.next_line(Duration::from_secs(20)) else {
            panic!("the edit did not reach the window:\n{}", window.log.join("\n"));
        };
        if line.contains("segment 0 edited") {
            assert!(line.ends_with(edited_text), "{line}");
            break at;
        }
    };
    std::thread::sleep((edited_at + SESSION_SAVE_INTERVAL + SLACK).saturating_duration_since(Instant::now()));
    window.signal("-KILL");
    window.wait_gone();

    let jobs = restored(scratch.path());
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].transcript.segments[0].text, edited_text);
    assert_eq!(jobs[0].transcript.segments[1].text, "ask what you can do for your country.");

    // A real restart reads it back and keeps it (closed cleanly this time).
    let window = Window::start(scratch.path(), &[]);
    window.focus();
    std::thread::sleep(Duration::from_secs(2));
    window.signal("-TERM");
    window.wait_gone();
    assert_eq!(restored(scratch.path())[0].transcript.segments[0].text, edited_text);
}
