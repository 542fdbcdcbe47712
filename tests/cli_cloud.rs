//! `verbatim transcribe --engine SERVICE` end to end, as a user runs it: the real binary, keys
//! and endpoints from the environment, real audio converted by Verbatim's own encoders where a
//! service needs it, fake servers on 127.0.0.1 — and subtitles that a strict parser reads back.

mod common;

use std::process::Output;
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario, UploadFormat};
use verbatim::engine::cloud::CloudService;
use verbatim::export::{parse_srt, parse_vtt};

async fn fake(service: CloudService, scenario: Scenario) -> FakeServer {
    FakeServer::start(FakeConfig::new(service, scenario), 0).await.expect("fake server starts")
}

/// Runs `verbatim transcribe` against `server` (a child process: the test keeps serving).
async fn transcribe(service: CloudService, server: &FakeServer, file: &str, extra: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(common::verbatim_exe());
    command
        .args(["transcribe", file, "--engine", service.id(), "--endpoint", &server.base_url(), "--quiet"])
        .args(extra)
        .env(service.key_env_var(), server.key())
        .env("XDG_CACHE_HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path());
    if service == CloudService::PolarGrid {
        command.env("VERBATIM_POLARGRID_ROUTER_URL", server.base_url());
    }
    command.output().await.expect("run verbatim")
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
