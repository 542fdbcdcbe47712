//! Gradium live transcription against the fake Gradium WebSocket: framing and rate as the fake
//! measured them, rollover with a shortened session cap, flush on a pause, and the failures
//! (key refused, 1011, a dropped connection, no setup).

mod live_support;

use futures_util::{SinkExt, StreamExt};
use live_support::*;
use std::time::Duration;
use verbatim::dev::fakes::{LiveSessionRecord, Scenario};
use verbatim::engine::cloud::CloudService;
use verbatim::engine::{EngineError, LiveOptions};
use verbatim::events::{EngineEvent, Segment};

const GRADIUM: CloudService = CloudService::Gradium;
const KEY: &str = "fake-gradium-key";

/// Relative RMS difference between what the fake received at 24 kHz and the 16 kHz source,
/// compared where their sample instants meet (every 3rd sample at 24 kHz is every 2nd at
/// 16 kHz); `shift` moves the received audio by that many samples.
fn mismatch(received: &[i16], source: &[f32], shift: usize) -> f64 {
    let source = as_pcm16(source);
    let (mut error, mut power) = (0.0_f64, 0.0_f64);
    for m in 0..source.len() / 2 {
        let Some(&got) = received.get(3 * m + shift) else { break };
        let want = f64::from(source[2 * m]);
        error += (f64::from(got) - want).powi(2);
        power += want * want;
    }
    (error / power.max(1.0)).sqrt()
}

/// Every session: setup first with pcm, 1920-sample frames only, nothing the fake objected to.
fn assert_documented(session: &LiveSessionRecord) {
    assert!(session.key_accepted);
    assert_eq!(session.control_types().first().map(String::as_str), Some("setup"), "{:?}", session.control);
    assert_eq!(session.control[0]["input_format"], "pcm");
    assert_eq!(session.declared_rate_hz, Some(24_000));
    assert!(session.frame_samples.iter().all(|&n| n == 1920), "frames: {:?}", session.frame_samples);
    assert!(session.violations.is_empty(), "{:?}", session.violations);
}

fn segments(events: &[EngineEvent]) -> Vec<&Segment> {
    events.iter().filter_map(|event| match event { EngineEvent::Segment(segment) => Some(segment), _ => None }).collect()
}

/// Each segment's text is the loudness the fake heard at the segment's session time; the same
/// loudness at the segment's recording time in the source shows the times were moved right.
fn assert_times_match_the_audio(events: &[EngineEvent], source: &[f32]) {
    let segments = segments(events);
    assert!(segments.len() >= 20, "only {} segments", segments.len());
    let mut last_start_s = f64::NEG_INFINITY;
    for segment in &segments {
        let heard: f64 = segment.text.trim_start_matches("level ").trim_end_matches(" dB").parse().expect("a level");
        let measured = level_db_between(source, segment.start_s, segment.end_s);
        assert!((heard - measured).abs() <= 1.5, "{:?} at {:.3}–{:.3} s measures {measured:.1} dB", segment.text, segment.start_s, segment.end_s);
        assert!(segment.start_s >= last_start_s, "segments out of order at {:.3} s", segment.start_s);
        assert!(segment.end_s > segment.start_s && segment.end_s - segment.start_s <= 1.0 + 1e-6);
        last_start_s = segment.start_s;
    }
}

#[tokio::test]
async fn audio_goes_as_documented_frames_at_24_khz_and_comes_back_as_timed_segments() {
    let Some(source) = speech() else { return };
    let server = start_fake(GRADIUM, Scenario::Normal, None).await;
    let engine = engine(GRADIUM, &cloud_options(GRADIUM, &server), &live_options(), KEY);
    let run = LiveRun::start(engine, english());
    run.feed(blocks(&source, 0.0));
    let (events, result) = run.stop().await;
    let outcome = result.expect("the live run succeeds");
    assert!((outcome.duration_s.unwrap() - source.len() as f64 / 16_000.0).abs() < 1e-6);
    assert!(matches!(events.last(), Some(EngineEvent::Done { .. })));

    let sessions = server.live_sessions();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_documented(session);
    assert_eq!(session.control[0]["json_config"], "{\"language\":\"en\"}");
    // flush at the stop, then end_of_stream, and the fake's documented end.
    let types = session.control_types();
    assert_eq!(&types[types.len() - 2..], ["flush", "end_of_stream"], "{types:?}");
    assert_eq!(session.ended_by.as_deref(), Some("client"));
    // Every sample once: the resampled length, padded to a whole last frame.
    let expected = (source.len() as f64 * 1.5).round() as usize;
    assert_eq!(session.samples.len(), expected.div_ceil(1920) * 1920);
    let aligned = mismatch(&session.samples, &source, 0);
    assert!(aligned < 0.05, "the audio received differs from the recording by {aligned:.3}");
    assert!(mismatch(&session.samples, &source, 1920) > 0.5, "the comparison can tell a shifted frame");
    assert_times_match_the_audio(&events, &source);
    assert!(events.iter().any(|event| matches!(event, EngineEvent::Hypothesis(h) if h.text.starts_with("level"))));
}

#[tokio::test]
async fn sessions_roll_over_before_the_cap_with_every_sample_sent_once_and_times_continuous() {
    let Some(source) = speech() else { return };
    let server = start_fake(GRADIUM, Scenario::Normal, Some(Duration::from_secs(5))).await;
    let live = LiveOptions { gradium_session_s: 4.0, ..live_options() };
    let engine = engine(GRADIUM, &cloud_options(GRADIUM, &server), &live, KEY);
    let run = LiveRun::start(engine, english());
    run.feed(blocks(&source, 0.0));
    let (events, result) = run.stop().await;
    result.expect("the live run succeeds across sessions");

    let sessions = server.live_sessions();
    let duration_s = source.len() as f64 / 16_000.0;
    assert_eq!(sessions.len(), (duration_s / 4.0).ceil() as usize, "one session per 4 s");
    let mut received = Vec::new();
    for session in &sessions {
        assert_documented(session);
        assert!(session.audio_s() <= 4.0 + 1e-9, "a session of {} s", session.audio_s());
        assert_eq!(session.control_types().last().map(String::as_str), Some("end_of_stream"));
        assert_eq!(session.ended_by.as_deref(), Some("client"));
        received.extend_from_slice(&session.samples);
    }
    let expected = (source.len() as f64 * 1.5).round() as usize;
    assert_eq!(received.len(), expected.div_ceil(1920) * 1920, "every sample once, in one session only");
    let aligned = mismatch(&received, &source, 0);
    assert!(aligned < 0.05, "the sessions' audio put together differs from the recording by {aligned:.3}");
    assert_times_match_the_audio(&events, &source);
    // Text from the later sessions lies beyond the first session's 4 s.
    assert!(segments(&events).iter().any(|segment| segment.start_s > 40.0));
}

#[tokio::test]
async fn a_pause_flushes_what_was_said_before_it() {
    let Some(source) = speech() else { return };
    let server = start_fake(GRADIUM, Scenario::Normal, None).await;
    let engine = engine(GRADIUM, &cloud_options(GRADIUM, &server), &live_options(), KEY);
    let mut run = LiveRun::start(engine, english());
    let all = blocks(&source[..16_000 * 8], 0.0);
    // 2.5 s, then nothing for a while: the recording is paused.
    run.feed(all[..25].to_vec());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sessions = server.live_sessions();
    assert!(sessions[0].control_types().contains(&"flush".to_string()), "{:?}", sessions[0].control);
    // The fake got the last frame, padded, and the partial second's text came back at once.
    assert_eq!(sessions[0].samples.len(), 60_000_usize.div_ceil(1920) * 1920);
    // It ends where the recording paused, not where the padding of the last frame ends.
    let ends: Vec<f64> = segments(run.drain()).iter().map(|segment| segment.end_s).collect();
    assert!(ends.iter().any(|&end_s| (end_s - 2.5).abs() < 1e-6), "segment ends before the resume: {ends:?}");
    // Resumed where it stopped.
    run.feed(all[25..].to_vec());
    let (events, result) = run.stop().await;
    result.unwrap();
    assert!(segments(&events).iter().any(|segment| segment.start_s >= 2.5), "text after the pause");
    assert!(segments(&events).iter().all(|segment| segment.end_s <= 8.0 + 0.08 + 1e-6));
}

#[tokio::test]
async fn a_refused_key_is_a_rejected_key_with_what_to_do() {
    let Some(source) = speech() else { return };
    let server = start_fake(GRADIUM, Scenario::Normal, None).await;
    let engine = engine(GRADIUM, &cloud_options(GRADIUM, &server), &live_options(), "wrong-key");
    let run = LiveRun::start(engine, english());
    run.feed(blocks(&source[..16_000], 0.0));
    let (events, result) = run.stop().await;
    let error = result.unwrap_err();
    assert!(matches!(&error, EngineError::KeyRejected { detail, .. } if detail.contains("1008")), "{error}");
    let message = last_error(&events).expect("an error event");
    assert!(message.contains("verbatim auth set gradium") && !message.contains("wrong-key"), "{message}");
    assert!(!server.live_sessions()[0].key_accepted);
}

#[tokio::test]
async fn a_failure_on_the_service_side_keeps_the_text_so_far() {
    let Some(source) = speech() else { return };
    for (scenario, expected) in [(Scenario::ErrorMidStream, "failed on its side (1011"), (Scenario::DropMidStream, "connection to Gradium was lost")] {
        let server = start_fake(GRADIUM, scenario, None).await;
        let engine = engine(GRADIUM, &cloud_options(GRADIUM, &server), &live_options(), KEY);
        let run = LiveRun::start(engine, english());
        // Ten times real time, so the client reads as it goes, as it would while recording.
        for block in blocks(&source[..16_000 * 10], 0.0) {
            run.feed(vec![block]);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (events, result) = run.stop().await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains(expected), "{scenario:?}: {error}");
        assert_eq!(last_error(&events), Some(error.as_str()));
        // The text heard before the failure at 3 s is kept, the piece still open included.
        let kept: Vec<_> = segments(&events).iter().map(|segment| (segment.start_s, segment.end_s)).collect();
        assert!(!kept.is_empty() && kept.iter().all(|&(_, end_s)| end_s <= 3.1), "{scenario:?}: {kept:?}");
        assert!(kept.iter().any(|&(start_s, end_s)| end_s - start_s > 0.5), "{scenario:?}: {kept:?}");
    }
}

#[tokio::test]
async fn the_fake_closes_with_1008_when_setup_is_not_first() {
    let server = start_fake(GRADIUM, Scenario::Normal, None).await;
    let url = format!("{}/api/speech/asr", server.base_url().replacen("http", "ws", 1));
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    request.headers_mut().insert("x-api-key", KEY.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let audio = serde_json::json!({"type": "audio", "audio": "AAAA"}).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::text(audio)).await.unwrap();
    let mut error = None;
    let mut close_code = None;
    while let Some(Ok(message)) = socket.next().await {
        match message {
            tokio_tungstenite::tungstenite::Message::Text(text) => error = Some(serde_json::from_str::<serde_json::Value>(&text).unwrap()),
            tokio_tungstenite::tungstenite::Message::Close(frame) => close_code = frame.map(|frame| u16::from(frame.code)),
            _ => {}
        }
    }
    let error = error.expect("an error message");
    assert_eq!((error["type"].as_str(), error["code"].as_u64()), (Some("error"), Some(1008)));
    assert_eq!(close_code, Some(1008));
    assert!(server.live_sessions()[0].violations[0].contains("must be setup"));
}
