//! `verbatim record --live …` with the file source (the virtual microphone, played faster than
//! real time): live local text on stderr and the SRT next to the WAV; Gradium and 60db against
//! their fakes; a service that drops the socket mid-session leaves one error line, a complete WAV
//! and exit status 3; a plain-http endpoint to another machine is refused before anything
//! starts; PolarGrid (no live transport) transcribes the file at the stop.

mod common;

use common::strict_samples;

use std::path::Path;
use std::process::Output;
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario};
use verbatim::engine::cloud::CloudService;
use verbatim::export::parse_srt;

/// Runs `verbatim record` on `source` into `dir/rec.wav` with `extra` arguments; keys and config
/// stay in `dir`.
async fn record(dir: &Path, source: &Path, speed: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let wav = dir.join("rec.wav");
    let mut command = tokio::process::Command::new(common::verbatim_exe());
    command
        .args(["record", "--device", &format!("file:{}", source.display()), "--speed", speed, "--output"])
        .arg(&wav)
        .args(extra)
        .env("VERBATIM_RECORDINGS_DIR", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"));
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("verbatim runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `[mm:ss.ss → mm:ss.ss] text` lines, as `transcribe` prints them.
fn segment_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|line| line.starts_with('[') && line.contains(" → ")).collect()
}

fn srt_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    parse_srt(&text).expect("strict SRT").iter().map(|cue| cue.text().replace('\n', " ")).collect::<Vec<_>>().join(" ")
}

async fn fake(service: CloudService, scenario: Scenario) -> FakeServer {
    FakeServer::start(FakeConfig::new(service, scenario), 0).await.expect("fake server starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn live_local_prints_segments_as_they_come_and_writes_the_srt_next_to_the_wav() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = model.display().to_string();
    let output = record(dir.path(), &jfk, "4", &["--live", "local", "--model", &model, "--language", "en"], &[]).await;
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert_eq!(log.lines().next(), Some(format!("recording to {}", dir.path().join("rec.wav").display()).as_str()), "{log}");
    let printed = segment_lines(&log).join(" ").to_lowercase();
    for words in ["fellow americans", "ask not", "what you can do for your country"] {
        assert!(printed.contains(words), "{words:?} not in {log}");
    }
    let srt = srt_text(&dir.path().join("rec.srt")).to_lowercase();
    assert!(srt.contains("what your country can do for you"), "{srt}");
    assert!(log.contains(&format!("wrote {}", dir.path().join("rec.srt").display())), "{log}");
    assert_eq!(strict_samples(&dir.path().join("rec.wav")), strict_samples(&jfk), "the WAV is the source");
}

#[tokio::test(flavor = "multi_thread")]
async fn live_local_labels_speakers_with_speakers_auto_and_refuses_it_elsewhere() {
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    for extra in [&["--speakers", "auto"][..], &["--live", "60db", "--speakers", "auto"], &["--live", "local", "--speakers", "stereo"]] {
        let output = record(dir.path(), &jfk, "50", extra, &[("SIXTYDB_API_KEY", "sk_test")]).await;
        let log = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {log}");
        assert!(log.starts_with("error: --speakers auto labels speakers while recording with --live local") && log.lines().count() == 1, "{log}");
        assert!(!dir.path().join("rec.wav").exists(), "nothing was recorded");
    }
    let (Some(model), Ok(_)) = (common::model("tiny.en"), verbatim::diarize::locate_speaker_model()) else {
        common::missing("tiny.en or the speaker model");
        return;
    };
    let model = model.display().to_string();
    let args = ["--live", "local", "--speakers", "auto", "--model", &model, "--language", "en", "--format", "json"];
    let output = record(dir.path(), &jfk, "4", &args, &[]).await;
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("rec.json")).unwrap()).unwrap();
    let segments = document["segments"].as_array().unwrap();
    assert!(!segments.is_empty() && segments.iter().all(|s| s["speaker"] == "speaker_0"), "one voice, one label: {segments:?}");
    assert_eq!(document["speakers"].as_array().map(Vec::len), Some(1), "{}", document["speakers"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_gradium_and_60db_against_their_fakes() {
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    for service in [CloudService::Gradium, CloudService::SixtyDb] {
        let server = fake(service, Scenario::Normal).await;
        let dir = tempfile::tempdir().unwrap();
        let endpoint = server.base_url().replacen("http://", "ws://", 1);
        let output = record(
            dir.path(),
            &jfk,
            "4",
            &["--live", service.id(), "--endpoint", &endpoint, "--language", "en", "--format", "srt,txt"],
            &[(service.key_env_var(), server.key())],
        )
        .await;
        let log = stderr(&output);
        assert!(output.status.success(), "{service}: {log}");
        assert!(!segment_lines(&log).is_empty(), "{service}: no segments in {log}");
        assert!(!log.contains(server.key()), "the key leaked");
        let sessions = server.live_sessions();
        assert!(!sessions.is_empty(), "{service}: no live session");
        assert!(sessions.iter().all(|session| session.violations.is_empty()), "{service}: {:?}", sessions[0].violations);
        let srt = srt_text(&dir.path().join("rec.srt"));
        assert!(!srt.trim().is_empty(), "{service}: empty SRT");
        assert!(dir.path().join("rec.txt").is_file());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_socket_is_one_error_line_and_the_recording_completes() {
    let Some(source) = common::testdata("speech/two_cities.wav") else { return };
    let server = fake(CloudService::Gradium, Scenario::DropMidStream).await;
    let dir = tempfile::tempdir().unwrap();
    let output = record(
        dir.path(),
        &source,
        "4",
        &["--live", "gradium", "--endpoint", &server.base_url(), "--language", "en"],
        &[("GRADIUM_API_KEY", server.key())],
    )
    .await;
    let log = stderr(&output);
    let errors: Vec<&str> = log.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].starts_with("error: live transcription failed: "), "{log}");
    assert_eq!(output.status.code(), Some(3), "{log}");
    assert_eq!(strict_samples(&dir.path().join("rec.wav")), strict_samples(&source), "the WAV is complete");
    // What was heard before the drop is kept, beside where a complete transcript would go.
    assert!(!segment_lines(&log).is_empty(), "the fake answers before it drops: {log}");
    assert!(log.contains(&format!("kept in {}", dir.path().join("rec.partial.srt").display())), "{log}");
    assert!(!srt_text(&dir.path().join("rec.partial.srt")).trim().is_empty());
    assert!(!dir.path().join("rec.srt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_another_machine_is_refused_before_recording() {
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    for endpoint in ["http://example.org", "ws://example.org"] {
        let started = std::time::Instant::now();
        let output =
            record(dir.path(), &jfk, "50", &["--live", "60db", "--endpoint", endpoint], &[("SIXTYDB_API_KEY", "sk_test")]).await;
        let log = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{log}");
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.starts_with("error: the 60db endpoint 'http://example.org"), "{log}");
        assert!(log.contains("plain http to another machine"), "{log}");
        assert!(!dir.path().join("rec.wav").exists(), "nothing was recorded");
        assert!(started.elapsed().as_secs_f64() < 10.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn polargrid_says_it_has_no_live_transport_and_transcribes_the_file_at_the_stop() {
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let server = fake(CloudService::PolarGrid, Scenario::Normal).await;
    let dir = tempfile::tempdir().unwrap();
    let output = record(
        dir.path(),
        &jfk,
        "50",
        &["--live", "polargrid", "--endpoint", &server.base_url()],
        &[("POLARGRID_API_KEY", server.key()), ("VERBATIM_POLARGRID_ROUTER_URL", &server.base_url())],
    )
    .await;
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert!(log.lines().next().unwrap_or_default().contains("PolarGrid has no live transport"), "{log}");
    let posts = server.requests().into_iter().filter(|request| request.method == "POST").count();
    assert_eq!(posts, 1, "one upload of the finished file");
    assert!(!srt_text(&dir.path().join("rec.srt")).trim().is_empty());
    assert_eq!(strict_samples(&dir.path().join("rec.wav")), strict_samples(&jfk));
}
