//! The official Python SDKs of the cloud services against `verbatim dev fake-server`
//! (`scripts/check-sdks`), so the fakes cannot drift from what a real client reads. Where the
//! checks cannot run (no python3 or venv module, no network to install the pinned SDKs) the
//! test skips, except under `CI=true`, where `scripts/setup` has installed them.

mod common;

use std::process::Command;

#[test]
fn the_official_sdks_read_every_answer_of_the_fakes() {
    if common::testdata("speech/jfk.wav").is_none() {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-sdks");
    let output = Command::new(script)
        .env("VERBATIM_EXE", common::verbatim_exe())
        .output()
        .unwrap_or_else(|error| panic!("{script} does not start: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    if output.status.code() == Some(77) {
        let reason = stderr.lines().last().unwrap_or("no reason given");
        common::missing(&format!("the official SDK checks: {reason}"));
        return;
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        output.status.success() && last.ends_with(" passed, 0 failed"),
        "the official SDKs disagree with the fakes:\n{stdout}\n{stderr}"
    );
    // Every mode the SDKs have: PolarGrid's async, sync and stream; 60db's REST call;
    // Gradium's WebSocket STT, buffered, streamed and as a realtime session.
    for check in [
        "ok polargrid: async job",
        "ok polargrid: sync",
        "ok polargrid: stream",
        "ok 60db: speech_to_text",
        "ok gradium: stt of 24 kHz samples",
        "ok gradium: stt_stream",
        "ok gradium: stt_realtime",
    ] {
        assert!(stdout.contains(check), "no `{check}` line:\n{stdout}");
    }
}
