//! The real `verbatim` window process under Xvfb: asked to stop with SIGTERM (a logout, a
//! `kill`, a system shutdown), it closes as its close button would and the session on disk
//! holds every file and every segment heard, for the next start.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_closes_the_window_and_the_session_keeps_the_transcript() {
    if !common::have_tool("xvfb-run") {
        common::missing("xvfb-run is not installed");
        return;
    }
    let Some(recording) = common::testdata("speech/jfk.wav") else { return };
    let scratch = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
    // The models stay where the machine has them; settings and the session go to scratch.
    let models = std::env::var_os("VERBATIM_MODELS_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|dir| dir.join("verbatim").join("models")))
        .unwrap_or_default();
    let pid_file = scratch.path().join("pid");
    let mut wrapper = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", "sh", "-c"])
        .arg(r#""$0" open "$1" & echo $! > "$2"; wait $!"#)
        .arg(env!("CARGO_BIN_EXE_verbatim"))
        .arg(&recording)
        .arg(&pid_file)
        .env("XDG_DATA_HOME", scratch.path().join("data"))
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .env("VERBATIM_MODELS_DIR", &models)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("xvfb-run did not start: {error}"));
    let stderr = wrapper.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let started = Instant::now();
    let mut lines = BufReader::new(stderr).lines();
    let mut log = Vec::new();
    let finished = loop {
        match lines.next() {
            Some(Ok(line)) => {
                let done = line.starts_with("verbatim: ") && line.contains("jfk.wav: ");
                log.push(line);
                if done {
                    break true;
                }
            }
            _ => break false,
        }
        if started.elapsed() > Duration::from_secs(120) {
            break false;
        }
    };
    assert!(finished, "the window did not finish jfk.wav:\n{}", log.join("\n"));
    assert!(log.iter().any(|line| line.contains("jfk.wav: done")), "{}", log.join("\n"));
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let pid = pid.trim();
    assert!(!pid.is_empty(), "no pid");
    let killed = Command::new("kill").args(["-TERM", pid]).status();
    assert!(killed.is_ok_and(|status| status.success()));
    let exit_deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(status)) = wrapper.try_wait() {
            break Some(status);
        }
        if Instant::now() > exit_deadline {
            let _ = wrapper.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.is_some(), "the window did not close after SIGTERM");
    assert!(
        status.is_some_and(|status| status.success()),
        "the window was killed by the signal instead of closing: {status:?}"
    );

    let session = scratch.path().join("data/verbatim/session");
    let index = std::fs::read_to_string(session.join("session.json")).unwrap_or_default();
    assert!(index.contains("jfk.wav") && index.contains("\"done\""), "{index}");
    let transcripts: Vec<String> = std::fs::read_dir(&session)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .filter(|path| path.file_name().is_some_and(|name| name != "session.json"))
                .filter_map(|path: PathBuf| std::fs::read_to_string(Path::new(&path)).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(transcripts.len(), 1);
    let saved = verbatim::export::json::transcript_from_json(&transcripts[0]).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        saved.plain_text().to_lowercase().contains("ask not what your country"),
        "{}",
        transcripts[0]
    );
}
