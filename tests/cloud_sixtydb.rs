//! The 60db engine against the fake 60db server: form fields, diarized segments and speaker
//! names, the non-error warnings, the concurrency and rate limits, refusals, and files split
//! into parts.

mod cloud_support;

use cloud_support::*;
use std::sync::Arc;
use std::time::Duration;
use verbatim::dev::fakes::{FakeServer, JFK_PHRASES, Scenario, UploadFormat};
use verbatim::engine::cloud::sixtydb::LOW_SNR_MESSAGE;
use verbatim::engine::cloud::upload::{PassThroughOnly, Transcoder};
use verbatim::engine::cloud::{CloudOptions, CloudService, NetworkOptions, SixtyDbOptions};
use verbatim::engine::{Engine, EngineError, TranscribeOptions};
use verbatim::events::EngineEvent;

async fn fake(scenario: Scenario) -> FakeServer {
    start_fake(CloudService::SixtyDb, scenario).await
}

fn engine_with(
    server: &FakeServer,
    sixtydb: SixtyDbOptions,
    network: NetworkOptions,
    transcoder: Arc<dyn Transcoder>,
) -> Box<dyn Engine> {
    let options = CloudOptions {
        network,
        sixtydb,
        ..CloudOptions::default()
    };
    engine_on(CloudService::SixtyDb, server, options, transcoder)
}

fn engine_for(server: &FakeServer, sixtydb: SixtyDbOptions) -> Box<dyn Engine> {
    engine_with(server, sixtydb, fast_network(), Arc::new(PassThroughOnly))
}

fn diarized() -> SixtyDbOptions {
    SixtyDbOptions {
        diarize: true,
        ..SixtyDbOptions::default()
    }
}

#[tokio::test]
async fn a_plain_request_sends_the_file_and_word_timestamps_and_gets_timed_words() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_jfk_phrases(&run);
    for (segment, phrase) in run.transcript.segments.iter().zip(&JFK_PHRASES) {
        assert_eq!(segment.speaker, None);
        assert_eq!(segment.words.len(), phrase.text.split_whitespace().count());
        assert!(
            segment
                .words
                .iter()
                .all(|word| word.start_s >= phrase.start_s && word.end_s <= phrase.end_s)
        );
    }
    assert!(run.transcript.speakers.is_empty());
    assert!(
        matches!(run.last_event(), EngineEvent::Done { language: Some(language), duration_s: Some(duration) } if language == "en" && (duration - 11.0).abs() < 0.1)
    );
    assert!(run.warnings().is_empty(), "{:?}", run.warnings());
    assert_eq!(
        run.key_notices(),
        [format!(
            "sending your 60db key to {} (set by --endpoint or the Endpoint setting), not the service's own address",
            server.base_url().trim_end_matches('/')
        )]
    );

    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/stt")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", server.key()).as_str())
    );
    let file = request.part("file").unwrap();
    assert_eq!(file.file_name.as_deref(), Some("jfk.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(file.sniffed_format, Some(UploadFormat::PcmWav));
    assert_eq!(
        file.size_bytes as u64,
        std::fs::metadata(&jfk).unwrap().len()
    );
    assert_eq!(request.field("language"), Some("en"));
    assert_eq!(request.field("return_timestamps"), Some("word"));
    for absent in [
        "diarize",
        "min_speakers",
        "max_speakers",
        "include_confidence",
        "context",
        "keywords",
        "script_correction",
        "languages",
    ] {
        assert_eq!(
            request.field(absent),
            None,
            "{absent} is sent only when set"
        );
    }
}

#[tokio::test]
async fn diarization_labels_speakers_in_order_of_first_appearance_and_every_option_is_sent() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let sixtydb = SixtyDbOptions {
        diarize: true,
        min_speakers: Some(1),
        max_speakers: Some(3),
        languages: vec!["en".into(), "hi".into()],
        include_confidence: true,
        context: Some("Inaugural address, John F. Kennedy".into()),
        keywords: Some("Americans:5,country".into()),
        script_correction: true,
        ..SixtyDbOptions::default()
    };
    let engine = engine_for(&server, sixtydb);
    let options = TranscribeOptions {
        language: Some("auto".into()),
        ..TranscribeOptions::default()
    };
    let run = run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(
        run.texts(),
        [
            "And so, my fellow Americans,",
            "ask not what your country can do for you,",
            "ask what you can do",
            "for your country."
        ]
    );
    let names: Vec<&str> = run
        .transcript
        .segments
        .iter()
        .map(|s| run.transcript.segment_speaker_name(s).unwrap())
        .collect();
    assert_eq!(names, ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]);
    assert_eq!(run.transcript.speakers[0].id, "SPEAKER_01");
    assert!(
        run.transcript
            .segments
            .iter()
            .flat_map(|s| &s.words)
            .all(|word| word.probability == Some(0.93))
    );
    assert_eq!(
        run.warnings(),
        ["60db ignored the context: your plan does not include the refinement pass"]
    );

    let request = &server.requests()[0];
    assert_eq!(
        request.field("language"),
        None,
        "auto means the field is left out"
    );
    assert_eq!(request.field("languages"), Some("en,hi"));
    assert_eq!(request.field("diarize"), Some("true"));
    assert_eq!(request.field("min_speakers"), Some("1"));
    assert_eq!(request.field("max_speakers"), Some("3"));
    assert_eq!(request.field("include_confidence"), Some("true"));
    assert_eq!(
        request.field("context"),
        Some("Inaugural address, John F. Kennedy")
    );
    assert_eq!(request.field("keywords"), Some("Americans:5,country"));
    assert_eq!(request.field("script_correction"), Some("true"));
}

#[tokio::test]
async fn a_body_wrapped_in_success_and_data_is_read_like_a_flat_one() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Wrapped).await;
    let engine = engine_for(&server, diarized());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(
        run.transcript.segments.len(),
        4,
        "three phrases, the last split by speaker"
    );
    assert!(
        run.transcript
            .segments
            .iter()
            .all(|segment| segment.speaker.is_some())
    );
    let data = std::fs::read(&jfk).unwrap();
    let (status, body) = post_file_by_hand(&server, "/stt", "file", "jfk.wav", data).await;
    assert_eq!((status, &body["success"]), (200, &serde_json::json!(true)));
    assert_eq!(body["data"]["text"], verbatim::dev::fakes::jfk_text());
}

#[tokio::test]
async fn an_endpoint_that_wants_the_file_in_audio_gets_it_there_after_one_refusal() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::AudioField).await;
    for run_index in 0..2 {
        let engine = engine_for(&server, SixtyDbOptions::default());
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert!(run.result.is_ok(), "run {run_index}: {:?}", run.result);
        assert_jfk_phrases(&run);
    }
    let fields: Vec<Vec<String>> = server
        .requests()
        .iter()
        .map(|request| {
            request
                .multipart
                .iter()
                .filter(|part| part.file_name.is_some())
                .map(|part| part.name.clone())
                .collect()
        })
        .collect();
    // The first run: `file`, refused, then `audio`; the second remembers the endpoint.
    assert_eq!(fields, [["file"], ["audio"], ["audio"]]);
    let audio = server.requests()[1].part("audio").cloned().unwrap();
    assert_eq!(audio.file_name.as_deref(), Some("jfk.wav"));
    assert_eq!(audio.sniffed_format, Some(UploadFormat::PcmWav));

    // What is remembered is this endpoint's wish: another one gets `file` first.
    let other = fake(Scenario::Normal).await;
    let engine = engine_for(&other, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(other.requests()[0].part("file").is_some());
}

#[tokio::test]
async fn a_file_name_with_a_local_path_is_refused_by_the_fake() {
    let server = fake(Scenario::Normal).await;
    assert_local_paths_refused(&server, "/stt", "audio", "/message").await;
}

#[tokio::test]
async fn no_speech_is_an_empty_transcript_with_a_warning_not_a_failure() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::NoSpeech).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.transcript.segments.is_empty());
    assert_eq!(
        run.warnings(),
        ["60db found no speech in the audio (only silence, noise or music)"]
    );
    assert!(
        matches!(run.last_event(), EngineEvent::Done { duration_s: Some(duration), .. } if (duration - 11.0).abs() < 0.1)
    );
    assert_eq!(server.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn low_snr_tells_the_user_to_find_a_quieter_place() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::LowSnr).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.transcript.segments.is_empty());
    assert_eq!(run.warnings(), [LOW_SNR_MESSAGE]);
    assert_eq!(
        LOW_SNR_MESSAGE,
        "Audio too noisy — try recording in a quieter environment"
    );
}

#[tokio::test]
async fn the_concurrency_limit_waits_for_capacity_then_succeeds() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::ConcurrencyLimit).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.transcript.segments.len(), 3);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("60db says too many of your transcriptions are running at once (429 STT_CONCURRENCY_LIMIT, limit 8); waiting"), "{warnings:?}");
    assert!(warnings[0].ends_with("for one to finish"));
    assert_eq!(server.requests().len(), 3);
    // The waits grow (0.05 s, then at least 0.1 s with fast settings), unlike a tight loop.
    assert!(
        run.elapsed >= Duration::from_millis(150),
        "{:?}",
        run.elapsed
    );
}

#[tokio::test]
async fn a_capacity_wait_longer_than_allowed_ends_the_job_at_once() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    // 600 s, while the longest wait honoured is 5 s with fast settings: no waiting it out.
    let server = fake(Scenario::RetryMuchLater).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = tokio::time::timeout(
        Duration::from_secs(10),
        run(engine.as_ref(), &jfk, &english()),
    )
    .await
    .expect("the job ends instead of waiting ten minutes");
    assert_eq!(
        run.error(),
        "60db says too many of your transcriptions are running at once (429 STT_CONCURRENCY_LIMIT, limit 8) and asked to retry after 600 s; try again later"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_upstream_rate_limit_honours_the_header_not_the_body() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::RateLimited).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(
        run.elapsed >= Duration::from_millis(950) && run.elapsed < Duration::from_secs(10),
        "{:?}",
        run.elapsed
    );
    assert_eq!(
        run.warnings(),
        [
            "60db is limiting the request rate (429 STT_UPSTREAM_RATE_LIMIT: Upstream rate limit); retrying in 1 s (attempt 2 of 4)"
        ]
    );
}

#[tokio::test]
async fn an_unavailable_upstream_is_retried_with_backoff() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::UnavailableTwice).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(server.requests().len(), 3);
    assert!(run.warnings()[0].starts_with("60db is unavailable (503 STT_UPSTREAM_UNAVAILABLE: Upstream STT service unavailable); retrying in"));
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let cases = [
        (
            Scenario::Unauthorized,
            "the 60db key was rejected (401: Invalid or missing API key (UNAUTHENTICATED)); set a new one with `verbatim auth set 60db`",
        ),
        (
            Scenario::PaymentRequired,
            "60db refused the request: the workspace wallet is empty (402 INSUFFICIENT_CREDITS: Insufficient credits); top up your 60db workspace",
        ),
        (
            Scenario::TooLarge,
            "the upload is too large for 60db (413: Max file size is 10 MB (FILE_TOO_LARGE)); use a shorter or more compressed file",
        ),
    ];
    assert_refusals_not_retried(
        CloudService::SixtyDb,
        &cases,
        &|server| engine_for(server, SixtyDbOptions::default()),
        &jfk,
    )
    .await;
    let server = fake(Scenario::Oversized).await;
    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error().starts_with("the 60db response is larger than"),
        "{}",
        run.error()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_or_is_cancelled() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let network = NetworkOptions {
        response_timeout_s: 1.0,
        ..fast_network()
    };
    let engine = engine_with(
        &server,
        SixtyDbOptions::default(),
        network,
        Arc::new(PassThroughOnly),
    );
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "60db did not answer within 1 s; try again later, or allow a longer response timeout (--response-timeout)"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "a timed-out request is not sent again"
    );

    let engine = engine_for(&server, SixtyDbOptions::default());
    let run = run_cancelled_after(
        engine.as_ref(),
        &jfk,
        &english(),
        Duration::from_millis(200),
    )
    .await;
    assert!(matches!(run.result, Err(EngineError::Cancelled)));
    assert!(run.elapsed < Duration::from_secs(2));
}

#[tokio::test]
async fn a_file_over_an_hour_is_split_and_the_parts_stitched_at_their_offsets() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    // The converter claims the file lasts 4000 s: over 60db's hour, so it goes in two parts.
    let transcoder = FakeOpusTranscoder::new(4000.0);
    let engine = engine_with(&server, diarized(), fast_network(), transcoder.clone());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let calls = transcoder.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            "opus 32000",
            "wav 8000",
            "range 0-3528 32000",
            "range 3528-4000 32000"
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for (index, request) in requests.iter().enumerate() {
        let file = request.part("file").unwrap();
        assert_eq!(
            file.file_name.as_deref(),
            Some(format!("jfk.part{}.ogg", index + 1).as_str())
        );
        assert_eq!(file.content_type.as_deref(), Some("audio/ogg"));
        assert_eq!(file.sniffed_format, Some(UploadFormat::OggOpus));
    }
    let segments = &run.transcript.segments;
    assert_eq!(segments.len(), 8);
    assert_eq!(segments[4].start_s, 3528.0 + JFK_PHRASES[0].start_s);
    assert!(segments[4].words.iter().all(|word| word.start_s >= 3528.0));
    assert_eq!(segments[4].speaker.as_deref(), Some("P2_SPEAKER_01"));
    assert_eq!(
        run.transcript.speakers.len(),
        4,
        "labels from different parts are kept apart"
    );
    let warnings = run.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("over the 60db limit")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("in 2 parts split at pauses")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("speaker labels are assigned per part")),
        "{warnings:?}"
    );
    assert!(
        matches!(run.last_event(), EngineEvent::Done { duration_s: Some(duration), .. } if *duration == 4000.0)
    );
}

#[tokio::test]
async fn invalid_options_are_refused_before_upload() {
    let server = fake(Scenario::Normal).await;
    let bad = [
        SixtyDbOptions {
            keywords: Some("Acme:50".into()),
            ..SixtyDbOptions::default()
        },
        SixtyDbOptions {
            min_speakers: Some(2),
            ..SixtyDbOptions::default()
        },
        SixtyDbOptions {
            languages: vec!["english".into()],
            ..SixtyDbOptions::default()
        },
    ];
    for sixtydb in bad {
        let options = CloudOptions {
            sixtydb,
            ..CloudOptions::default()
        };
        let options = with_endpoint(CloudService::SixtyDb, options, server.base_url());
        build_error(CloudService::SixtyDb, &options);
    }
    assert!(server.requests().is_empty());
}
