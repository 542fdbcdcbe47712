//! `verbatim transcribe --engine SERVICE` end to end, as a user runs it: the real binary, keys
//! and endpoints from the environment, real audio converted by Verbatim's own encoders where a
//! service needs it, fake servers on 127.0.0.1 — and subtitles that a strict parser reads back.

mod common;

use std::process::{Output, Stdio};
use tokio::io::AsyncBufReadExt;
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario, UploadFormat};
use verbatim::engine::cloud::CloudService;
use verbatim::export::{parse_srt, parse_vtt};

async fn fake(service: CloudService, scenario: Scenario) -> FakeServer {
    FakeServer::start(FakeConfig::new(service, scenario), 0).await.expect("fake server starts")
}

/// Runs `verbatim transcribe` against `server` (a child process: the test keeps serving).
async fn transcribe(service: CloudService, server: &FakeServer, file: &str, extra: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = transcribe_command(service, server, file, home.path());
    command.arg("--quiet").args(extra);
    command.output().await.expect("run verbatim")
}

/// `verbatim transcribe FILE` against `server`, with its key and `home` for cache and config.
fn transcribe_command(service: CloudService, server: &FakeServer, file: &str, home: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(common::verbatim_exe());
    command
        .args(["transcribe", file, "--engine", service.id(), "--endpoint", &server.base_url()])
        .env(service.key_env_var(), server.key())
        .env("XDG_CACHE_HOME", home)
        .env("XDG_CONFIG_HOME", home);
    if service == CloudService::PolarGrid {
        command.env("VERBATIM_POLARGRID_ROUTER_URL", server.base_url());
    }
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn mp3_to_gradium_is_converted_to_a_format_it_takes() {
    let Some(mp3) = common::testdata("speech/jfk.mp3") else { return };
    let server = fake(CloudService::Gradium, Scenario::Normal).await;
    let output = transcribe(CloudService::Gradium, &server, mp3.to_str().unwrap(), &["--format", "srt"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let cues = parse_srt(&String::from_utf8(output.stdout.clone()).unwrap()).expect("strict SRT");
    assert!(!cues.is_empty());
    let requests = server.requests();
    let upload = requests.iter().find(|r| r.method == "POST").expect("an upload");
    // Gradium refuses MP3: what arrived is Ogg Opus or PCM WAV, decoded from the MP3 by Verbatim.
    assert!(matches!(upload.body_format, Some(UploadFormat::OggOpus | UploadFormat::PcmWav)), "{:?}", upload.body_format);
    let content_type = upload.header("content-type").unwrap_or_default();
    assert!(["audio/ogg", "audio/opus", "audio/wav"].contains(&content_type), "{content_type}");
    assert!(!stderr(&output).contains(server.key()), "the key leaked into the output");
}

#[tokio::test]
async fn sixtydb_speakers_reach_the_webvtt() {
    let Some(flac) = common::testdata("speech/jfk.flac") else { return };
    let server = fake(CloudService::SixtyDb, Scenario::Normal).await;
    let output = transcribe(CloudService::SixtyDb, &server, flac.to_str().unwrap(), &["--format", "vtt", "--diarize"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let cues = parse_vtt(&String::from_utf8(output.stdout.clone()).unwrap()).expect("strict WebVTT");
    let speakers: std::collections::BTreeSet<_> = cues.iter().filter_map(|c| c.speaker.clone()).collect();
    assert!(speakers.contains("Speaker 1"), "{speakers:?}");
    let upload = server.requests().into_iter().find(|r| r.method == "POST").expect("an upload");
    let file = upload.multipart.iter().find(|p| p.name == "file" || p.name == "audio").expect("a file part");
    assert!(file.sniffed_format.is_some(), "{file:?}");
    assert!(upload.multipart.iter().any(|p| p.name == "diarize" && p.value.as_deref() == Some("true")));
}

#[tokio::test]
async fn llmstats_and_polargrid_give_timed_subtitles() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    for service in [CloudService::LlmStats, CloudService::PolarGrid] {
        let server = fake(service, Scenario::Normal).await;
        let output = transcribe(service, &server, wav.to_str().unwrap(), &["--format", "srt"]).await;
        assert!(output.status.success(), "{service}: {}", stderr(&output));
        let cues = parse_srt(&String::from_utf8(output.stdout.clone()).unwrap()).expect("strict SRT");
        assert!(cues.len() >= 2, "{service}: {cues:?}");
        assert!(cues.windows(2).all(|pair| pair[0].end_s <= pair[1].start_s), "{service}: overlapping cues");
    }
}

#[tokio::test]
async fn a_rejected_key_is_one_line_that_says_what_to_do_and_is_not_retried() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    let server = fake(CloudService::LlmStats, Scenario::Unauthorized).await;
    let output = transcribe(CloudService::LlmStats, &server, wav.to_str().unwrap(), &[]).await;
    assert_eq!(output.status.code(), Some(1));
    let errors: Vec<String> = stderr(&output).lines().filter(|l| l.starts_with("error: ")).map(str::to_string).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("verbatim auth set llmstats"), "{}", errors[0]);
    assert_eq!(server.requests().iter().filter(|r| r.method == "POST").count(), 1, "a 401 must not be retried");
}

#[tokio::test]
async fn stereo_speakers_with_a_cloud_engine_is_refused_before_any_upload() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    let server = fake(CloudService::SixtyDb, Scenario::Normal).await;
    let output = transcribe(CloudService::SixtyDb, &server, wav.to_str().unwrap(), &["--speakers", "stereo"]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("error: --speakers stereo works with the local engine only"), "{text}");
    assert!(text.contains("--diarize"), "{text}");
    assert!(server.requests().is_empty(), "nothing was uploaded");
}

#[tokio::test]
async fn a_key_sent_to_another_address_is_announced_once_and_never_shown() {
    let (Some(wav), Some(flac)) = (common::testdata("speech/jfk.wav"), common::testdata("speech/jfk.flac")) else { return };
    let server = fake(CloudService::Gradium, Scenario::Normal).await;
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(common::verbatim_exe())
        .args(["transcribe", wav.to_str().unwrap(), flac.to_str().unwrap(), "--engine", "gradium", "--quiet"])
        .env("VERBATIM_GRADIUM_URL", server.base_url())
        .env(CloudService::Gradium.key_env_var(), server.key())
        .env("XDG_CACHE_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        // Two files: their subtitles are written beside the working directory's name.
        .current_dir(home.path())
        .output()
        .await
        .expect("run verbatim");
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    let notice = format!(
        "sending your Gradium key to {} (set by VERBATIM_GRADIUM_URL), not the service's own address",
        server.base_url().trim_end_matches('/')
    );
    assert_eq!(text.matches(&notice).count(), 1, "said once for two files: {text}");
    assert!(!text.contains(server.key()), "the key leaked: {text}");
}

#[tokio::test]
async fn network_flags_out_of_range_are_refused_before_anything_is_sent() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    let server = fake(CloudService::PolarGrid, Scenario::Normal).await;
    for flag in ["--response-timeout", "--connect-timeout", "--idle-timeout", "--max-job-wait"] {
        for value in ["1e300", "inf", "NaN", "0", "604801"] {
            let output = transcribe(CloudService::PolarGrid, &server, wav.to_str().unwrap(), &[flag, value]).await;
            let stderr = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
            assert!(stderr.contains(&format!("invalid value '{value}' for '{flag}")), "{flag} {value}: {stderr}");
            assert!(stderr.contains("at most 604800 (a week)"), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    assert!(server.requests().is_empty(), "nothing was sent");
    let output = transcribe(CloudService::PolarGrid, &server, wav.to_str().unwrap(), &["--response-timeout", "604800"]).await;
    assert!(output.status.success(), "a week is allowed: {}", stderr(&output));
}

#[tokio::test]
async fn a_server_asking_to_wait_for_ever_ends_the_run_with_one_error_line() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    for (scenario, mode, asked) in [
        (Scenario::RetryMuchLater, "sync", "asked to retry after 3168808781403 years; try again later"),
        (Scenario::PollMuchLater, "async", "asked to poll again after 316880878 years; try again later"),
    ] {
        let server = fake(CloudService::PolarGrid, scenario).await;
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            transcribe(CloudService::PolarGrid, &server, wav.to_str().unwrap(), &["--polargrid-mode", mode]),
        )
        .await
        .unwrap_or_else(|_| panic!("{scenario:?}: the run hangs"));
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{scenario:?}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{scenario:?}: {stderr}");
        assert!(errors[0].contains(asked), "{scenario:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `verbatim transcribe` run in its own process group, interrupted as a terminal's Ctrl-C
/// would (SIGINT to the whole group) once its first segment is shown; returns its stderr.
async fn transcribe_then_interrupt(service: CloudService, server: &FakeServer, file: &str, extra: &[&str]) -> (Output, String) {
    let home = tempfile::tempdir().unwrap();
    let mut command = transcribe_command(service, server, file, home.path());
    command.args(extra).process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("run verbatim");
    let pid = child.id().expect("a running child");
    let mut stderr_lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = String::new();
    let first_segment = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = stderr_lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.starts_with('[') {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(first_segment, Ok(true), "no segment shown before the interrupt: {seen}");
    let sent = std::process::Command::new("kill").args(["-INT", "--", &format!("-{pid}")]).status().expect("kill runs");
    assert!(sent.success());
    let rest = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = stderr_lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
        }
        child.wait_with_output().await.expect("verbatim ends")
    })
    .await
    .expect("verbatim ends soon after the interrupt");
    (rest, seen)
}

#[tokio::test]
async fn a_failed_or_cancelled_run_never_replaces_a_complete_output() {
    let Some(wav) = common::testdata("speech/jfk.wav") else { return };
    let wav = wav.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.srt");
    let partial = dir.path().join("out.partial.srt");
    let output_args = ["--output", out.to_str().unwrap()];
    let normal = fake(CloudService::Gradium, Scenario::Normal).await;
    let output = transcribe(CloudService::Gradium, &normal, wav, &output_args).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let complete = std::fs::read_to_string(&out).unwrap();
    let complete_cues = parse_srt(&complete).expect("strict SRT").len();

    // A run that fails after its first segments: they go beside the complete file.
    let failing = fake(CloudService::Gradium, Scenario::ErrorMidStream).await;
    let output = transcribe(CloudService::Gradium, &failing, wav, &output_args).await;
    let failed = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{failed}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), complete, "the complete output was replaced: {failed}");
    let partial_cues = parse_srt(&std::fs::read_to_string(&partial).unwrap()).expect("strict SRT");
    assert!(!partial_cues.is_empty() && partial_cues.len() < complete_cues, "{partial_cues:?}");
    assert!(failed.contains(&format!("kept in {}; {} is left as it was", partial.display(), out.display())), "{failed}");
    std::fs::remove_file(&partial).unwrap();

    // A run cancelled with Ctrl-C after its first segment: the same.
    let stalling = fake(CloudService::Gradium, Scenario::Stall).await;
    let (output, cancelled) = transcribe_then_interrupt(CloudService::Gradium, &stalling, wav, &output_args).await;
    assert_eq!(output.status.code(), Some(1), "{cancelled}");
    assert!(cancelled.contains("cancel"), "{cancelled}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), complete, "the complete output was replaced: {cancelled}");
    let partial_cues = parse_srt(&std::fs::read_to_string(&partial).unwrap()).expect("strict SRT");
    assert_eq!(partial_cues.len(), 1, "{partial_cues:?}");
    assert!(cancelled.contains(&format!("kept in {}", partial.display())), "{cancelled}");
    let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["out.partial.srt", "out.srt"], "no temporary files are left behind");
}
