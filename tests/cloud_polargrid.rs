//! The PolarGrid engine against the fake edge and autorouter: async jobs, sync, SSE streams in
//! both delta styles, the route cache, and every failure scenario.

mod cloud_support;

use cloud_support::*;
use std::sync::Arc;
use std::time::Duration;
use verbatim::dev::fakes::{FakeServer, JFK_PHRASES, Scenario, UploadFormat, jfk_text};
use verbatim::engine::cloud::upload::PassThroughOnly;
use verbatim::engine::cloud::{
    CloudOptions, CloudService, PolarGridMode, PolarGridOptions, PolarGridResponseFormat,
    build_engine_with_transcoder,
};
use verbatim::engine::{Engine, EngineError, TranscribeOptions};
use verbatim::events::EngineEvent;

async fn fake(scenario: Scenario) -> FakeServer {
    start_fake(CloudService::PolarGrid, scenario).await
}

/// An engine pinned to the fake edge (no autorouter).
fn pinned(server: &FakeServer, polargrid: PolarGridOptions) -> Box<dyn Engine> {
    let options = CloudOptions {
        polargrid,
        ..fast_options()
    };
    engine_on(
        CloudService::PolarGrid,
        server,
        options,
        Arc::new(PassThroughOnly),
    )
}

fn mode(mode: PolarGridMode) -> PolarGridOptions {
    PolarGridOptions {
        mode,
        ..PolarGridOptions::default()
    }
}

fn assert_timed_transcript(run: &Run) {
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_jfk_phrases(run);
}

fn assert_single_final_segment(run: &Run) {
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.texts(), [jfk_text()]);
    let segment = &run.transcript.segments[0];
    assert_eq!((segment.start_s, segment.end_s), (0.0, 11.0));
    assert!(run.transcript.hypothesis.is_none());
    assert!(
        matches!(run.last_event(), EngineEvent::Done { language: Some(language), .. } if language == "en")
    );
}

#[tokio::test]
async fn default_async_mode_routes_uploads_and_polls_with_verbose_json_then_caches_the_route() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let cache = tempfile::tempdir().unwrap();
    let options = CloudOptions {
        network: fast_network(),
        cache_dir: Some(cache.path().to_path_buf()),
        polargrid: PolarGridOptions {
            router_url: Some(server.base_url()),
            ..PolarGridOptions::default()
        },
        ..CloudOptions::default()
    };
    let engine = build_engine_with_transcoder(
        CloudService::PolarGrid,
        &options,
        key(server.key()),
        Arc::new(PassThroughOnly),
    )
    .unwrap();
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    assert!(
        matches!(run.last_event(), EngineEvent::Done { language: Some(language), duration_s: Some(duration) } if language == "en" && (duration - 11.0).abs() < 0.1)
    );
    assert!(run.warnings().is_empty(), "{:?}", run.warnings());
    let router = server.base_url();
    let router = router.trim_end_matches('/');
    assert_eq!(
        run.key_notices(),
        [format!(
            "sending your PolarGrid key to {router} (chosen by the autorouter {router} set by the autorouter option), not the service's own address"
        )]
    );

    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "{:#?}",
        requests.iter().map(|r| r.summary()).collect::<Vec<_>>()
    );
    let route = &requests[0];
    assert_eq!(
        (route.method.as_str(), route.path.as_str()),
        ("GET", "/v1/route")
    );
    assert_eq!(route.query_value("model"), Some("whisper-large-v3-turbo"));
    assert_eq!(
        route.header("authorization"),
        None,
        "the key is not sent to the router"
    );
    let submit = &requests[1];
    assert_eq!(
        (submit.method.as_str(), submit.path.as_str()),
        ("POST", "/v1/audio/transcriptions")
    );
    assert_eq!(
        submit.header("authorization"),
        Some(format!("Bearer {}", server.key()).as_str())
    );
    assert_eq!(submit.query_value("model"), Some("whisper-large-v3-turbo"));
    assert_eq!(submit.query_value("response_format"), Some("verbose_json"));
    assert_eq!(submit.query_value("language"), Some("en"));
    assert_eq!(submit.query_value("stream"), None);
    assert_eq!(submit.query_value("sync"), None);
    assert_eq!(
        submit.multipart.len(),
        1,
        "the multipart body carries only the file"
    );
    let file = submit.part("file").unwrap();
    assert_eq!(file.file_name.as_deref(), Some("jfk.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(file.sniffed_format, Some(UploadFormat::PcmWav));
    assert_eq!(
        file.size_bytes as u64,
        std::fs::metadata(&jfk).unwrap().len()
    );
    let poll = &requests[2];
    assert_eq!(
        (poll.method.as_str(), poll.path.as_str()),
        ("GET", "/v1/audio/transcriptions")
    );
    assert!(
        poll.query_value("job_id")
            .unwrap()
            .starts_with("job_transcription_")
    );
    assert_eq!(poll.header("authorization"), submit.header("authorization"));

    // The route is cached: the next run goes straight to the edge.
    let run = cloud_support::run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    assert!(
        requests[3..]
            .iter()
            .all(|request| request.path == "/v1/audio/transcriptions")
    );
    assert!(cache.path().join("polargrid-route.json").exists());
}

#[tokio::test]
async fn a_slow_job_is_polled_until_it_completes() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::SlowJob).await;
    let engine = pinned(&server, PolarGridOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    let polls = server
        .requests()
        .iter()
        .filter(|request| request.method == "GET")
        .count();
    assert_eq!(polls, 4);
}

#[tokio::test]
async fn a_failed_job_is_reported() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::JobFailed).await;
    let engine = pinned(&server, PolarGridOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "the PolarGrid job failed (400: audio could not be decoded); try again, or try another model"
    );
    assert!(run.transcript.segments.is_empty());
}

#[tokio::test]
async fn the_job_answers_carry_every_field_the_sdk_requires() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::SlowJob).await;
    let data = std::fs::read(&jfk).unwrap();
    let path = "/v1/audio/transcriptions?model=stt-1b-en_fr&response_format=json";
    let (status, accepted) = post_file_by_hand(&server, path, "file", "jfk.wav", data).await;
    assert_eq!(status, 202, "{accepted}");
    for field in ["job_id", "status", "message", "poll_url", "result_url"] {
        assert!(accepted[field].is_string(), "{field} in {accepted}");
    }
    let metadata = &accepted["metadata"];
    assert_eq!(metadata["filename"], "jfk.wav");
    assert_eq!(
        metadata["audio_format"], "wav",
        "a format name, not a debug string"
    );
    assert_eq!(metadata["model"], "stt-1b-en_fr");
    assert!(metadata["file_size_mb"].as_f64().is_some_and(|mb| mb > 0.3));
    assert!(metadata["estimated_duration_seconds"].is_number());
    let poll_url = accepted["poll_url"].as_str().unwrap().to_string();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, answer) = get_by_hand(&server, &poll_url).await;
        for field in ["job_id", "status", "created_at", "updated_at"] {
            assert!(answer[field].is_string(), "{field} in poll answer {answer}");
        }
        statuses.push((status, answer["status"].as_str().unwrap().to_string()));
        if status == 200 {
            assert_eq!(answer["text"], jfk_text());
        }
    }
    let expected = [
        (202, "accepted"),
        (202, "processing"),
        (202, "processing"),
        (200, "completed"),
        (200, "completed"),
    ];
    let statuses: Vec<(u16, &str)> = statuses
        .iter()
        .map(|(code, s)| (*code, s.as_str()))
        .collect();
    assert_eq!(statuses, expected);
}

#[tokio::test]
async fn a_job_answered_with_only_the_documented_fields_is_enough() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::BareJob).await;
    let engine = pinned(&server, PolarGridOptions::default());
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    let data = std::fs::read(&jfk).unwrap();
    let path = "/v1/audio/transcriptions?model=whisper-large-v3-turbo";
    let (_, accepted) = post_file_by_hand(&server, path, "file", "jfk.wav", data).await;
    let mut fields: Vec<&str> = accepted
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(fields, ["job_id", "poll_url", "status"]);
}

#[tokio::test]
async fn every_known_model_id_is_served_and_any_other_is_sent_as_it_is() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    for model in ["stt-1b-en_fr", "kyutai/stt-1b-en_fr", "cohere-transcribe"] {
        let engine = pinned(
            &server,
            PolarGridOptions {
                model: model.into(),
                ..mode(PolarGridMode::Sync)
            },
        );
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert_timed_transcript(&run);
        let last = server.requests().pop().unwrap();
        assert_eq!(last.query_value("model"), Some(model));
    }
    let (status, route) = get_by_hand(&server, "/v1/route?model=stt-1b-en_fr").await;
    assert_eq!((status, route["region"].as_str()), (200, Some("yto-01")));
}

#[tokio::test]
async fn a_file_name_with_a_local_path_is_refused_by_the_fake() {
    let server = fake(Scenario::Normal).await;
    let path = "/v1/audio/transcriptions?model=whisper-1&sync=true";
    assert_local_paths_refused(&server, path, "file", "/detail").await;
}

#[tokio::test]
async fn sync_mode_reads_every_response_format() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    for format in [
        PolarGridResponseFormat::VerboseJson,
        PolarGridResponseFormat::Srt,
        PolarGridResponseFormat::Vtt,
        PolarGridResponseFormat::Json,
        PolarGridResponseFormat::Text,
    ] {
        let engine = pinned(
            &server,
            PolarGridOptions {
                response_format: format,
                ..mode(PolarGridMode::Sync)
            },
        );
        let run = run(engine.as_ref(), &jfk, &english()).await;
        match format {
            PolarGridResponseFormat::Json | PolarGridResponseFormat::Text => {
                assert!(run.result.is_ok(), "{format:?}: {:?}", run.result);
                assert_eq!(run.texts(), [jfk_text()], "{format:?}");
                let segment = &run.transcript.segments[0];
                assert_eq!(
                    (segment.start_s, segment.end_s),
                    (0.0, 11.0),
                    "untimed formats span the file"
                );
            }
            _ => assert_timed_transcript(&run),
        }
        let request = server.requests().pop().unwrap();
        assert_eq!(request.query_value("sync"), Some("true"));
        assert_eq!(
            request.query_value("response_format"),
            Some(format.as_query_value())
        );
    }
    assert_eq!(
        server.requests().len(),
        5,
        "sync mode makes one request per file"
    );
}

#[tokio::test]
async fn prompt_temperature_and_punctuation_go_in_the_query() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Normal).await;
    let polargrid = PolarGridOptions {
        model: "cohere-transcribe-03-2026".into(),
        temperature: Some(0.2),
        punctuation: Some(false),
        ..mode(PolarGridMode::Sync)
    };
    let engine = pinned(&server, polargrid.clone());
    let options = TranscribeOptions {
        prompt: Some("Inaugural address, JFK".into()),
        language: Some("auto".into()),
        ..TranscribeOptions::default()
    };
    let run = run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let request = server.requests().pop().unwrap();
    assert_eq!(
        request.query_value("model"),
        Some("cohere-transcribe-03-2026")
    );
    assert_eq!(
        request.query_value("prompt"),
        Some("Inaugural address, JFK")
    );
    assert_eq!(request.query_value("temperature"), Some("0.2"));
    assert_eq!(request.query_value("punctuation"), Some("false"));
    assert_eq!(request.query_value("language"), None, "auto means detect");
    // The service's own prompt wins over the shared one.
    let engine = pinned(
        &server,
        PolarGridOptions {
            prompt: Some("Kennedy".into()),
            ..polargrid
        },
    );
    let run = cloud_support::run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok());
    assert_eq!(
        server.requests().pop().unwrap().query_value("prompt"),
        Some("Kennedy")
    );
}

#[tokio::test]
async fn stream_deltas_whole_or_incremental_with_or_without_named_events_replace_the_live_text() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    for scenario in [
        Scenario::Normal,
        Scenario::DeltaReplace,
        Scenario::Slow,
        Scenario::DeltaIncrement,
        Scenario::NamedEvents,
    ] {
        let server = fake(scenario).await;
        let engine = pinned(&server, mode(PolarGridMode::Stream));
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert_single_final_segment(&run);
        let phrases: Vec<&str> = JFK_PHRASES.iter().map(|phrase| phrase.text).collect();
        assert_eq!(
            run.hypotheses(),
            [
                phrases[..1].join(" "),
                phrases[..2].join(" "),
                phrases.join(" ")
            ],
            "{scenario:?}"
        );
        let request = &server.requests()[0];
        assert_eq!(request.query_value("stream"), Some("true"));
        assert_eq!(request.query_value("response_format"), None);
    }
}

#[tokio::test]
async fn stream_with_revising_deltas_never_duplicates_text() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::DeltaRevise).await;
    let engine = pinned(&server, mode(PolarGridMode::Stream));
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_single_final_segment(&run);
    let hypotheses = run.hypotheses();
    assert_eq!(hypotheses[0], "And so my fellow American");
    assert_eq!(hypotheses[1], "And so, my fellow Americans, ask not");
    assert_eq!(hypotheses.last().unwrap(), &jfk_text());
}

#[tokio::test]
async fn a_broken_stream_keeps_the_text_received_and_ends_with_an_error() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let expected_start = "PolarGrid stopped with an error (inference worker crashed); try again";
    for (scenario, error_start) in [
        (Scenario::ErrorMidStream, expected_start),
        (
            Scenario::DropMidStream,
            "the connection to PolarGrid dropped before the response was complete",
        ),
        (
            Scenario::MalformedLine,
            "PolarGrid sent an event that is not valid JSON",
        ),
    ] {
        let server = fake(scenario).await;
        let engine = pinned(&server, mode(PolarGridMode::Stream));
        let run = run(engine.as_ref(), &jfk, &english()).await;
        let error = run.error();
        assert!(error.starts_with(error_start), "{scenario:?}: {error}");
        assert!(
            error.ends_with("(the 1 segment received before this is kept)"),
            "{error}"
        );
        assert_eq!(
            run.texts(),
            [format!("{} {}", JFK_PHRASES[0].text, JFK_PHRASES[1].text)],
            "{scenario:?}"
        );
        assert!(
            run.warnings()
                .iter()
                .any(|warning| warning.contains("unconfirmed"))
        );
        assert_eq!(server.requests().len(), 1, "{scenario:?}: not retried");
    }
}

#[tokio::test]
async fn rate_limits_and_outages_are_retried_with_warnings() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::RateLimited).await;
    let engine = pinned(&server, mode(PolarGridMode::Sync));
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    assert!(run.elapsed >= Duration::from_millis(950));
    assert_eq!(
        run.warnings(),
        [
            "PolarGrid is limiting the request rate (429: Rate limit exceeded); retrying in 1 s (attempt 2 of 4)"
        ]
    );
    let server = fake(Scenario::UnavailableTwice).await;
    let engine = pinned(&server, PolarGridOptions::default());
    let run = cloud_support::run(engine.as_ref(), &jfk, &english()).await;
    assert_timed_transcript(&run);
    let warnings = run.warnings();
    assert!(
        warnings[0].starts_with("PolarGrid is unavailable (502: Bad Gateway); retrying in"),
        "{warnings:?}"
    );
    assert!(warnings[1].starts_with(
        "PolarGrid is unavailable (503: Service temporarily unavailable); retrying in"
    ));
    // Both retries re-sent the whole file.
    let uploads: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.part("file").unwrap().size_bytes)
        .collect();
    assert_eq!(uploads.len(), 3);
    assert!(
        uploads
            .iter()
            .all(|&size| size as u64 == std::fs::metadata(&jfk).unwrap().len())
    );
}

#[tokio::test]
async fn absurd_waits_asked_by_the_server_end_the_job_at_once_with_what_it_asked() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let cases = [
        (
            Scenario::RetryMuchLater,
            mode(PolarGridMode::Sync),
            "PolarGrid is limiting the request rate (429: Rate limit exceeded) and asked to retry after 3168808781403 years; try again later",
        ),
        (
            Scenario::PollMuchLater,
            PolarGridOptions::default(),
            "PolarGrid asked to poll again after 316880878 years; try again later",
        ),
    ];
    for (scenario, options, expected) in cases {
        let server = fake(scenario).await;
        let engine = pinned(&server, options);
        let run = tokio::time::timeout(
            Duration::from_secs(10),
            cloud_support::run(engine.as_ref(), &jfk, &english()),
        )
        .await
        .unwrap_or_else(|_| panic!("{scenario:?}: the job hangs instead of ending"));
        assert_eq!(run.error(), expected, "{scenario:?}");
        assert_eq!(server.requests().len(), 1, "{scenario:?}: nothing sent again");
    }
}

#[tokio::test]
async fn refusals_say_what_to_do_and_are_not_retried() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let cases = [
        (
            Scenario::Unauthorized,
            "the PolarGrid key was rejected (401: Invalid or expired token); set a new one with `verbatim auth set polargrid`",
        ),
        (
            Scenario::TooLarge,
            "the upload is too large for PolarGrid (413: File too large); use a shorter or more compressed file",
        ),
        (
            Scenario::PaymentRequired,
            "PolarGrid refused the request for billing reasons (402: Billing is not set up for this account); top up or check the plan of your PolarGrid account",
        ),
    ];
    for (scenario, expected) in cases {
        let server = fake(scenario).await;
        let engine = pinned(&server, mode(PolarGridMode::Sync));
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert_eq!(run.error(), expected);
        assert_eq!(server.requests().len(), 1);
        assert_key_never_shown(&run, server.key());
    }
    let server = fake(Scenario::Normal).await;
    let engine = pinned(
        &server,
        PolarGridOptions {
            model: "whisper-tiny".into(),
            ..mode(PolarGridMode::Sync)
        },
    );
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert_eq!(
        run.error(),
        "PolarGrid has no model 'whisper-tiny' loaded at this edge (404: Model 'whisper-tiny' is not loaded); try another model or region (--model, --region)"
    );
}

#[tokio::test]
async fn oversized_results_are_refused_in_every_mode() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Oversized).await;
    for polargrid_mode in [
        PolarGridMode::Sync,
        PolarGridMode::Async,
        PolarGridMode::Stream,
    ] {
        let engine = pinned(&server, mode(polargrid_mode));
        let run = run(engine.as_ref(), &jfk, &english()).await;
        assert!(
            run.error()
                .starts_with("the PolarGrid response is larger than the 262 KB limit"),
            "{polargrid_mode:?}: {}",
            run.error()
        );
    }
}

#[tokio::test]
async fn cancel_stops_a_stalled_stream_at_once() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let engine = pinned(&server, mode(PolarGridMode::Stream));
    let run = run_cancelled_after(
        engine.as_ref(),
        &jfk,
        &english(),
        Duration::from_millis(300),
    )
    .await;
    assert!(matches!(run.result, Err(EngineError::Cancelled)));
    assert!(run.elapsed < Duration::from_secs(2));
    assert_eq!(run.hypotheses().len(), 2, "the live text had arrived");
}

#[tokio::test]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let server = fake(Scenario::Stall).await;
    let engine = pinned(&server, mode(PolarGridMode::Stream));
    let run = run(engine.as_ref(), &jfk, &english()).await;
    assert!(
        run.error().starts_with("PolarGrid sent nothing for 3 s"),
        "{}",
        run.error()
    );
}
