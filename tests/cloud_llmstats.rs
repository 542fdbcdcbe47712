//! The LLM Stats engine against the fake gateway: multipart fields, segments built from
//! words, untimed results, retries, refusals, and files over the 25 MB limit.

mod cloud_support;

use cloud_support::*;
use std::sync::Arc;
use std::time::Duration;
use verbatim::dev::fakes::{FakeServer, Scenario, UploadFormat, jfk_text};
use verbatim::engine::cloud::upload::{PassThroughOnly, Transcoder};
use verbatim::engine::cloud::{CloudOptions, CloudService, LlmStatsOptions};
use verbatim::engine::{Engine, EngineError, TranscribeOptions};
use verbatim::events::EngineEvent;

async fn fake(scenario: Scenario) -> FakeServer {
    start_fake(CloudService::LlmStats, scenario).await
}

fn engine_with(
    server: &FakeServer,
    llmstats: LlmStatsOptions,
    transcoder: Arc<dyn Transcoder>,
) -> Box<dyn Engine> {
    let options = CloudOptions {
        llmstats,
        ..fast_options()
    };
    engine_on(CloudService::LlmStats, server, options, transcoder)
}

fn engine_for(server: &FakeServer, llmstats: LlmStatsOptions) -> Box<dyn Engine> {
    engine_with(server, llmstats, Arc::new(PassThroughOnly))
}

#[tokio::test]
async fn words_are_grouped_into_punctuated_timed_segments() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(
        &server,
        LlmStatsOptions {
            provider_id: Some("openai".into()),
            ..LlmStatsOptions::default()
        },
    );
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    // A pause of almost a second after "Americans," ends the first segment; the rest is one
    // sentence of 81 characters.
    assert_eq!(
        run.texts(),
        [
            "And so, my fellow Americans,",
            "ask not what your country can do for you, ask what you can do for your country."
        ]
    );
    let segments = &run.transcript.segments;
    assert_eq!(segments[0].start_s, 0.32);
    assert!(
        (segments[1].end_s - 10.5).abs() < 0.1,
        "{}",
        segments[1].end_s
    );
    assert_eq!(segments.iter().map(|s| s.words.len()).sum::<usize>(), 22);
    assert_eq!(
        segments[0].words[4].text, "Americans,",
        "punctuation and case come back from the text"
    );
    assert!(
        matches!(run.last_event(), EngineEvent::Done { language: Some(language), .. } if language == "en")
    );

    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/stt/transcribe")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", server.key()).as_str())
    );
    let audio = request.part("audio").unwrap();
    assert_eq!(audio.file_name.as_deref(), Some("jfk.wav"));
    assert_eq!(audio.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(audio.sniffed_format, Some(UploadFormat::PcmWav));
    assert_eq!(
        audio.size_bytes as u64,
        std::fs::metadata(&jfk).unwrap().len()
    );
    assert_eq!(request.field("model_id"), Some("whisper-1"));
    assert_eq!(request.field("language"), Some("en"));
    assert_eq!(request.field("provider_id"), Some("openai"));
}

#[tokio::test]
async fn a_file_name_with_a_local_path_is_refused_by_the_fake() {
    let server = fake(Scenario::Normal).await;
    assert_local_paths_refused(&server, "/v1/stt/transcribe", "audio", "/error/message").await;
}

#[tokio::test]
async fn a_model_without_words_gives_one_segment_for_the_file() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(
        &server,
        LlmStatsOptions {
            model_id: "gpt-4o-transcribe".into(),
            ..LlmStatsOptions::default()
        },
    );
    let run = run(
        engine.as_ref(),
        &jfk,
        &TranscribeOptions {
            language: Some("auto".into()),
            ..TranscribeOptions::default()
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.texts(), [jfk_text()]);
    assert_eq!(
        (
            run.transcript.segments[0].start_s,
            run.transcript.segments[0].end_s
        ),
        (0.0, 11.0)
    );
    let request = &server.requests()[0];
    assert_eq!(request.field("model_id"), Some("gpt-4o-transcribe"));
    assert_eq!(request.field("language"), None);
    assert_eq!(request.field("provider_id"), None);
}

#[tokio::test]
async fn rate_limits_and_provider_outages_are_retried() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::RateLimited).await;
    let engine = engine_for(&server, LlmStatsOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.elapsed >= Duration::from_millis(950));
    assert_eq!(
        run.warnings(),
        [
            "LLM Stats is limiting the request rate (429: Quota exceeded. (rate_limited)); retrying in 1 s (attempt 2 of 4)"
        ]
    );
    let server = fake(Scenario::UnavailableTwice).await;
    let engine = engine_for(&server, LlmStatsOptions::default());
    let run = cloud_support::run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(server.requests().len(), 3);
    assert!(run.warnings()[0].starts_with(
        "LLM Stats has no working provider for this model right now (502: Every STT provider for this model errored. (provider_unavailable)); retrying in"
    ));
}

#[tokio::test]
async fn refusals_say_what_to_do_and_are_not_retried() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let cases = [
        (
            Scenario::Unauthorized,
            "the LLM Stats key was rejected (401: Missing or invalid API key. (unauthenticated)); set a new one with `verbatim auth set llmstats`",
        ),
        (
            Scenario::PaymentRequired,
            "LLM Stats refused the request for billing reasons (402: Out of credit. (insufficient_quota)); top up or check the plan of your LLM Stats account",
        ),
        (
            Scenario::TooLarge,
            "the upload is too large for LLM Stats (413: File larger than 25 MB. (invalid_input, field audio)); use a shorter or more compressed file",
        ),
    ];
    assert_refusals_not_retried(
        CloudService::LlmStats,
        &cases,
        &|server| engine_for(server, LlmStatsOptions::default()),
        &jfk,
    )
    .await;
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(
        &server,
        LlmStatsOptions {
            model_id: "no-such-model".into(),
            ..LlmStatsOptions::default()
        },
    );
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "LLM Stats rejected the request (400: Unknown model. (invalid_input, field model_id)); check the options and the file"
    );
    let server = fake(Scenario::Oversized).await;
    let engine = engine_for(&server, LlmStatsOptions::default());
    let run = cloud_support::run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error()
            .starts_with("the LLM Stats response is larger than"),
        "{}",
        run.error()
    );
}

#[tokio::test]
async fn cancel_aborts_a_request_waiting_for_its_answer() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let engine = engine_for(&server, LlmStatsOptions::default());
    let run = run_cancelled_after(
        engine.as_ref(),
        &jfk,
        &english(),
        Duration::from_millis(200),
    )
    .await;
    assert!(matches!(run.result, Err(EngineError::Cancelled)));
    assert!(run.elapsed < Duration::from_secs(2));
    assert!(matches!(run.last_event(), EngineEvent::Error { message } if message == "cancelled"));
}

#[tokio::test]
async fn a_file_over_25_mb_is_reencoded_before_upload() {
    // A 30 MB WAV made here (silence is enough: the fake does not transcribe).
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("long talk.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&big, spec).unwrap();
    for _ in 0..(15 * 1000 * 1000) {
        writer.write_sample(0i16).unwrap();
    }
    writer.finalize().unwrap();
    let server = fake(Scenario::Normal).await;
    let transcoder = FakeOpusTranscoder::new(312.5);
    let engine = engine_with(&server, LlmStatsOptions::default(), transcoder.clone());
    let run = run(engine.as_ref(), &big, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(transcoder.calls.lock().unwrap().as_slice(), ["opus 32000"]);
    assert_eq!(
        run.warnings(),
        [
            "long talk.wav is 30 MB and 5:13, over the LLM Stats limit of 25 MB; re-encoding it as Opus at 32 kbit/s"
        ]
    );
    let audio = server.requests()[0].part("audio").cloned().unwrap();
    assert_eq!(audio.file_name.as_deref(), Some("long talk.ogg"));
    assert_eq!(audio.content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(audio.sniffed_format, Some(UploadFormat::OggOpus));
}
