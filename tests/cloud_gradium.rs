//! The Gradium engine against the fake Gradium server, one test per scenario: what the fake
//! received and what the engine produced (events applied to a transcript).

mod cloud_support;

use cloud_support::*;
use std::time::Duration;
use verbatim::dev::fakes::{FakeServer, JFK_PHRASES, Scenario, UploadFormat};
use verbatim::engine::cloud::upload::PassThroughOnly;
use verbatim::engine::cloud::{
    CloudOptions, CloudService, GradiumOptions, build_engine_with_transcoder,
};
use verbatim::engine::{Engine, EngineError, TranscribeOptions};
use verbatim::events::EngineEvent;

async fn fake(scenario: Scenario) -> FakeServer {
    start_fake(CloudService::Gradium, scenario).await
}

fn engine_for(server: &FakeServer, gradium: GradiumOptions) -> Box<dyn Engine> {
    engine_with_key(server, gradium, server.key())
}

fn engine_with_key(
    server: &FakeServer,
    gradium: GradiumOptions,
    key_text: &str,
) -> Box<dyn Engine> {
    let options = CloudOptions {
        gradium,
        ..fast_options()
    };
    engine_on_with_key(
        CloudService::Gradium,
        server,
        options,
        key_text,
        std::sync::Arc::new(PassThroughOnly),
    )
}

fn assert_full_transcript(run: &Run) {
    assert_jfk_phrases(run);
    for segment in &run.transcript.segments {
        assert_eq!(segment.speaker, None);
    }
}

#[tokio::test]
async fn normal_upload_sends_raw_wav_with_the_key_header_and_builds_timed_segments() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_full_transcript(&run);
    assert!(
        matches!(run.last_event(), EngineEvent::Done { language: Some(language), duration_s: Some(duration) } if language == "en" && (duration - 11.0).abs() < 0.1)
    );
    // Each text shows as a live hypothesis before its end_text closes it.
    assert_eq!(
        run.hypotheses(),
        JFK_PHRASES
            .iter()
            .map(|p| p.text.to_string())
            .collect::<Vec<_>>()
    );
    assert!(run.transcript.hypothesis.is_none());
    let progress: Vec<f64> = run
        .events
        .iter()
        .filter_map(|event| event.progress_fraction())
        .collect();
    assert_eq!(progress.len(), 3);
    assert!(progress.windows(2).all(|pair| pair[0] < pair[1]));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/post/speech/asr");
    assert_eq!(request.header("x-api-key"), Some(server.key()));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("content-type"), Some("audio/wav"));
    assert_eq!(request.body_format, Some(UploadFormat::PcmWav));
    assert_eq!(
        request.body_size_bytes as u64,
        std::fs::metadata(&jfk).unwrap().len()
    );
    assert_eq!(request.query_value("model"), Some("default"));
    let config: serde_json::Value =
        serde_json::from_str(request.query_value("json_config").unwrap()).unwrap();
    assert_eq!(config, serde_json::json!({"language": "en"}));
}

#[tokio::test]
async fn json_config_carries_every_setting_and_auto_language_is_left_out() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let gradium = GradiumOptions {
        model: "default".into(),
        temp: Some(0.25),
        padding_bonus: Some(-1.5),
        delay_in_frames: Some(24),
        ..GradiumOptions::default()
    };
    let engine = engine_for(&server, gradium);
    let options = TranscribeOptions {
        language: Some("auto".into()),
        ..TranscribeOptions::default()
    };
    let run = run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let request = &server.requests()[0];
    let config: serde_json::Value =
        serde_json::from_str(request.query_value("json_config").unwrap()).unwrap();
    assert_eq!(
        config,
        serde_json::json!({"temp": 0.25, "padding_bonus": -1.5, "delay_in_frames": 24})
    );
    assert!(matches!(
        run.last_event(),
        EngineEvent::Done { language: None, .. }
    ));
}

#[tokio::test]
async fn unsupported_settings_are_refused_before_anything_is_sent() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let italian = TranscribeOptions {
        language: Some("it".into()),
        ..TranscribeOptions::default()
    };
    let run = run(engine.as_ref(), &jfk, &italian).await;
    assert!(
        run.error().contains("only en, fr, de, es and pt"),
        "{}",
        run.error()
    );
    let translate = TranscribeOptions {
        translate: true,
        ..english()
    };
    let run = run_on(engine.as_ref(), &jfk, &translate).await;
    assert!(run.error().contains("cannot translate"));
    assert!(server.requests().is_empty());
    let options = CloudOptions {
        gradium: GradiumOptions {
            delay_in_frames: Some(9),
            endpoint: Some(server.base_url()),
            ..GradiumOptions::default()
        },
        ..CloudOptions::default()
    };
    let error = build_error(CloudService::Gradium, &options);
    assert!(error.contains("--gradium-delay-frames"), "{error}");
}

async fn run_on(engine: &dyn Engine, path: &std::path::Path, options: &TranscribeOptions) -> Run {
    run(engine, path, options).await
}

#[tokio::test]
async fn byte_by_byte_delivery_gives_the_same_transcript() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Slow).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_full_transcript(&run);
}

#[tokio::test]
async fn the_normal_stream_has_only_text_and_end_text_and_step_lines_are_ignored() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let data = std::fs::read(&jfk).unwrap();
    for (scenario, expected_types) in [
        (Scenario::Normal, vec!["end_text", "text"]),
        (Scenario::StepLines, vec!["end_text", "step", "text"]),
    ] {
        let server = fake(scenario).await;
        let body = reqwest::Client::new()
            .post(format!("{}/api/post/speech/asr", server.base_url()))
            .header("x-api-key", server.key())
            .header("content-type", "audio/wav")
            .body(data.clone())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut types: Vec<String> = body
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        types.sort();
        types.dedup();
        assert_eq!(types, expected_types, "{scenario:?}");
        let engine = engine_for(&server, GradiumOptions::default());
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert!(run.result.is_ok(), "{scenario:?}: {:?}", run.result);
        assert_full_transcript(&run);
    }
}

#[tokio::test]
async fn an_error_line_mid_stream_ends_with_an_error_and_keeps_what_came_before() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::ErrorMidStream).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "Gradium stopped with an error (worker crashed); try again (the 1 segment received before this is kept)"
    );
    assert_eq!(run.texts(), [JFK_PHRASES[0].text]);
    assert!(matches!(run.last_event(), EngineEvent::Error { .. }));
    assert_eq!(server.requests().len(), 1, "a stream error is not retried");
}

#[tokio::test]
async fn a_dropped_connection_ends_with_an_error_and_keeps_what_came_before() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::DropMidStream).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    let error = run.error();
    assert!(
        error.starts_with("the connection to Gradium dropped before the response was complete"),
        "{error}"
    );
    assert!(
        error.ends_with("(the 1 segment received before this is kept)"),
        "{error}"
    );
    assert!(
        !error.contains("127.0.0.1"),
        "no URL in the message: {error}"
    );
    assert_eq!(run.texts(), [JFK_PHRASES[0].text]);
}

#[tokio::test]
async fn a_malformed_line_ends_with_an_error_and_keeps_what_came_before() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::MalformedLine).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error()
            .starts_with("Gradium sent a line that is not a valid message"),
        "{}",
        run.error()
    );
    assert_eq!(run.texts(), [JFK_PHRASES[0].text]);
}

#[tokio::test]
async fn rate_limiting_waits_for_retry_after_and_tells_the_user() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::RateLimited).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_full_transcript(&run);
    assert_eq!(server.requests().len(), 2);
    assert!(
        run.elapsed >= Duration::from_millis(950),
        "Retry-After: 1 honoured, took {:?}",
        run.elapsed
    );
    assert_eq!(
        run.warnings(),
        [
            "Gradium is limiting the request rate (429: too many requests); retrying in 1 s (attempt 2 of 4)"
        ]
    );
    // Both attempts carried the whole file.
    for request in server.requests() {
        assert_eq!(
            request.body_size_bytes as u64,
            std::fs::metadata(&jfk).unwrap().len()
        );
    }
}

#[tokio::test]
async fn unavailable_twice_backs_off_then_succeeds() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::UnavailableTwice).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_full_transcript(&run);
    assert_eq!(server.requests().len(), 3);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("Gradium is unavailable (503: service unavailable); retrying in")
    );
    assert!(warnings[1].ends_with("(attempt 3 of 4)"));
}

#[tokio::test]
async fn a_revoked_key_is_reported_with_what_to_do_and_not_retried() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_with_key(&server, GradiumOptions::default(), "wrong-key-123456");
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "the Gradium key was rejected (1008: API key is revoked or expired); set a new one with `verbatim auth set gradium`"
    );
    assert_eq!(server.requests().len(), 1);
    assert_key_never_shown(&run, "wrong-key-123456");
    let unauthorized = fake(Scenario::Unauthorized).await;
    let engine = engine_for(&unauthorized, GradiumOptions::default());
    let run = run_on(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error()
            .starts_with("the Gradium key was rejected (1008")
    );
}

#[tokio::test]
async fn too_large_and_payment_required_are_not_retried() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::TooLarge).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "the upload is too large for Gradium (413: payload too large); use a shorter or more compressed file"
    );
    assert_eq!(server.requests().len(), 1);
    let server = fake(Scenario::PaymentRequired).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run_on(engine.as_ref(), &jfk, &english()).await;
    assert!(run.error().contains("billing"), "{}", run.error());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_plain_text_500_is_read_as_a_clear_message() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::PlainTextError).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "Gradium refused the request (upstream connect error or disconnect/reset before headers); check the options and the file"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Oversized).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error()
            .starts_with("the Gradium response is larger than the 262 KB limit"),
        "{}",
        run.error()
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_keeps_what_came_before() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error().starts_with("Gradium sent nothing for 3 s"),
        "{}",
        run.error()
    );
    assert_eq!(run.texts(), [JFK_PHRASES[0].text]);
    assert!(run.elapsed < Duration::from_secs(10));
}

#[tokio::test]
async fn cancel_aborts_at_once() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run_cancelled_after(
        engine.as_ref(),
        &jfk,
        &english(),
        Duration::from_millis(300),
    )
    .await;
    assert!(
        matches!(run.result, Err(EngineError::Cancelled)),
        "{:?}",
        run.result.as_ref().err()
    );
    assert!(
        run.elapsed < Duration::from_secs(2),
        "took {:?}",
        run.elapsed
    );
    assert_eq!(run.texts(), [JFK_PHRASES[0].text]);
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_given_up_with_a_message() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let options = CloudOptions {
        network: fast_network(),
        gradium: GradiumOptions {
            endpoint: Some(format!("http://{address}")),
            ..GradiumOptions::default()
        },
        ..CloudOptions::default()
    };
    let engine = build_engine_with_transcoder(
        CloudService::Gradium,
        &options,
        key("k-123456"),
        std::sync::Arc::new(PassThroughOnly),
    )
    .unwrap();
    let run = run(engine.as_ref(), &jfk, &english()).await;
    let error = run.error();
    assert!(
        error.starts_with("Gradium could not be reached (connection failed"),
        "{error}"
    );
    assert!(
        error.ends_with("gave up after 4 attempts — try again later"),
        "{error}"
    );
    assert_eq!(run.warnings().len(), 3);
}

#[tokio::test]
async fn files_gradium_does_not_take_are_converted_to_ogg_opus() {
    let Some(mp3) = testdata("speech/jfk.mp3") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let transcoder = FakeOpusTranscoder::new(11.0);
    let engine = engine_on(
        CloudService::Gradium,
        &server,
        fast_options(),
        transcoder.clone(),
    );
    let run = run(engine.as_ref(), &mp3, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_full_transcript(&run);
    assert_eq!(transcoder.calls.lock().unwrap().as_slice(), ["opus 48000"]);
    let request = &server.requests()[0];
    assert_eq!(request.header("content-type"), Some("audio/ogg"));
    assert_eq!(request.body_format, Some(UploadFormat::OggOpus));
    // Without a converter, the MP3 is refused before any upload.
    let engine = engine_for(&server, GradiumOptions::default());
    let run = run_on(engine.as_ref(), &mp3, &english()).await;
    assert!(
        run.error().contains("convert it to 16-bit WAV or Ogg Opus"),
        "{}",
        run.error()
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused() {
    let options = CloudOptions {
        gradium: GradiumOptions {
            endpoint: Some("http://10.1.2.3:8080".into()),
            ..GradiumOptions::default()
        },
        ..CloudOptions::default()
    };
    let error = build_error(CloudService::Gradium, &options);
    assert!(error.contains("plain http to another machine"), "{error}");
}

#[test]
fn engine_debug_never_shows_the_key() {
    let api_key = key("gradium-secret-value");
    assert!(!format!("{api_key:?}").contains("secret"));
}
