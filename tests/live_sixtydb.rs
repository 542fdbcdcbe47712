//! 60db live transcription against the fake 60db WebSocket: both handshake orders, the start
//! config and rates as the fake measured them, sentences refined in place, a pause, the
//! checks made before connecting, and the failures (key refused, out of credit, a dropped
//! connection, audio before the session started).

mod live_support;

use futures_util::{SinkExt, StreamExt};
use live_support::*;
use std::collections::BTreeMap;
use std::time::Duration;
use verbatim::dev::fakes::{LiveSessionRecord, Scenario};
use verbatim::engine::cloud::{CloudService, SixtyDbOptions};
use verbatim::engine::{EngineError, LiveOptions, cloud_live_engine};
use verbatim::events::{EngineEvent, Segment};

const SIXTYDB: CloudService = CloudService::SixtyDb;
const KEY: &str = "fake-60db-key";

fn segments(events: &[EngineEvent]) -> Vec<&Segment> {
    events.iter().filter_map(|event| match event { EngineEvent::Segment(segment) => Some(segment), _ => None }).collect()
}

/// `start` only once the handshake allowed it, `stop` last, nothing the fake objected to.
fn assert_documented(session: &LiveSessionRecord, rate_hz: u32) {
    assert!(session.key_accepted);
    assert_eq!(session.query_names, ["apiKey"]);
    assert_eq!(session.control_types(), ["start", "stop"], "{:?}", session.control);
    let config = &session.control[0]["config"];
    assert_eq!(config["encoding"], "linear");
    assert_eq!(config["sample_rate"], rate_hz);
    assert_eq!(config["utterance_end_ms"], 500);
    assert_eq!(session.declared_rate_hz, Some(rate_hz));
    assert!(session.violations.is_empty(), "{:?}", session.violations);
    assert_eq!(session.ended_by.as_deref(), Some("client"));
}

/// Runs 60db on the first `seconds` of the speech, fed as fast as it goes, or at ten times
/// real time when `paced` (so the client reads as it goes, as it would while recording).
async fn run_all(scenario: Scenario, sixtydb: SixtyDbOptions, live: LiveOptions, seconds: usize, paced: bool) -> (Vec<f32>, Vec<EngineEvent>, Result<verbatim::engine::EngineOutcome, EngineError>, Vec<LiveSessionRecord>) {
    let source = speech().expect("two_cities.wav");
    let source = source[..(16_000 * seconds).min(source.len())].to_vec();
    let server = start_fake(SIXTYDB, scenario, None).await;
    let mut cloud = cloud_options(SIXTYDB, &server);
    cloud.sixtydb = SixtyDbOptions { endpoint: cloud.sixtydb.endpoint.clone(), ..sixtydb };
    let run = LiveRun::start(engine(SIXTYDB, &cloud, &live, KEY), english());
    for block in blocks(&source, 0.0) {
        run.feed(vec![block]);
        if paced {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let (events, result) = run.stop().await;
    (source, events, result, server.live_sessions())
}

/// Where the first sentence is by the rule 60db (and its fake) use: from the first 100 ms
/// louder than -45 dB to the start of the first 500 ms quieter than that.
fn first_sentence_s(source: &[f32]) -> (f64, f64) {
    let loud: Vec<bool> = (0..source.len() / 1600).map(|i| level_db_between(source, i as f64 / 10.0, (i + 1) as f64 / 10.0) >= -45.0).collect();
    let start = loud.iter().position(|&l| l).expect("speech");
    let end = (start..loud.len()).find(|&i| loud[i..].iter().take(5).all(|&l| !l)).unwrap_or(loud.len());
    (start as f64 / 10.0, end as f64 / 10.0)
}

#[tokio::test]
async fn the_lifecycle_handshake_then_audio_at_16_khz_and_sentences_back() {
    if speech().is_none() {
        return;
    }
    let (source, events, result, sessions) = run_all(Scenario::Normal, SixtyDbOptions::default(), live_options(), 60, false).await;
    result.expect("the live run succeeds");
    assert!(matches!(events.last(), Some(EngineEvent::Done { language: Some(language), .. }) if language == "en"));
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_documented(session, 16_000);
    assert_eq!(session.control[0]["languages"], serde_json::json!(["en"]));
    // The recording's samples, each once, in order, in the recorder's 100 ms pieces.
    assert_eq!(session.samples, as_pcm16(&source));
    assert!(session.frame_samples.iter().all(|&n| n <= 1600));
    // Interim partials were the hypothesis; each sentence is a segment with its key.
    assert!(events.iter().any(|event| matches!(event, EngineEvent::Hypothesis(h) if h.text.contains("so far"))));
    let keys: Vec<_> = segments(&events).iter().map(|segment| segment.revision_key.clone().expect("a key")).collect();
    assert!(keys.len() >= 8, "{keys:?}");
    assert_eq!(keys.first().map(String::as_str), Some("60db:1"));
    let transcript = transcript_of(&events);
    assert_eq!(transcript.segments.len(), keys.len(), "without a context no sentence is sent twice");
    for pair in transcript.segments.windows(2) {
        assert!(pair[0].start_s <= pair[1].start_s && pair[0].end_s <= pair[1].start_s + 1e-9, "{pair:?}");
    }
}

#[tokio::test]
async fn the_quick_start_handshake_order_works_too() {
    if speech().is_none() {
        return;
    }
    let (source, events, result, sessions) = run_all(Scenario::HandshakeConnectedFirst, SixtyDbOptions::default(), live_options(), 8, false).await;
    result.expect("the live run succeeds");
    assert_documented(&sessions[0], 16_000);
    assert_eq!(sessions[0].samples, as_pcm16(&source));
    assert!(!segments(&events).is_empty());
}

#[tokio::test]
async fn refined_sentences_replace_the_earlier_version_in_place() {
    if speech().is_none() {
        return;
    }
    let sixtydb = SixtyDbOptions { context: Some("a reading of Dickens".into()), keywords: Some("Dickens:5".into()), ..SixtyDbOptions::default() };
    let (_, events, result, sessions) = run_all(Scenario::Normal, sixtydb, live_options(), 30, false).await;
    result.expect("the live run succeeds");
    assert_eq!(sessions[0].control[0]["context"], serde_json::json!({"text": "a reading of Dickens", "terms": ["Dickens"]}));
    // Each sentence came twice: the draft, then the refined version with the same key.
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for segment in segments(&events) {
        versions.entry(segment.revision_key.clone().unwrap()).or_default().push(segment.text.clone());
    }
    assert!(versions.len() >= 4, "{versions:?}");
    for (key, texts) in &versions {
        assert_eq!(texts.len(), 2, "{key}: {texts:?}");
        assert!(texts[0].starts_with("sentence ") && texts[1].starts_with("Sentence ") && texts[1].ends_with('.'), "{key}: {texts:?}");
    }
    // Sentence 1 is refined after sentence 2 has been appended: the refinement must find it.
    let first_refined = events.iter().position(|e| matches!(e, EngineEvent::Segment(s) if s.text.starts_with("Sentence 1 "))).unwrap();
    assert!(events[..first_refined].iter().any(|e| matches!(e, EngineEvent::Segment(s) if s.text.starts_with("sentence 2 "))));
    let transcript = transcript_of(&events);
    assert_eq!(transcript.segments.len(), versions.len());
    for (index, segment) in transcript.segments.iter().enumerate() {
        assert_eq!(segment.revision_key.as_deref(), Some(format!("60db:{}", index + 1).as_str()));
        assert!(segment.text.starts_with("Sentence ") && segment.text.ends_with('.'), "{}", segment.text);
    }
}

#[tokio::test]
async fn audio_goes_at_the_configured_rate() {
    if speech().is_none() {
        return;
    }
    let live = LiveOptions { sixtydb_sample_rate_hz: 24_000, ..live_options() };
    let (source, _, result, sessions) = run_all(Scenario::Normal, SixtyDbOptions::default(), live, 10, false).await;
    result.expect("the live run succeeds");
    assert_documented(&sessions[0], 24_000);
    assert_eq!(sessions[0].samples.len(), (source.len() as f64 * 1.5).round() as usize);
}

#[tokio::test]
async fn a_pause_sends_the_silence_that_ends_the_sentence() {
    let Some(source) = speech() else { return };
    let server = start_fake(SIXTYDB, Scenario::Normal, None).await;
    let mut run = LiveRun::start(engine(SIXTYDB, &cloud_options(SIXTYDB, &server), &live_options(), KEY), english());
    let all = blocks(&source[..16_000 * 6], 0.0);
    // Speech from 0.6 s to 2.4 s (see the recording), paused in its middle at 2 s.
    run.feed(all[..20].to_vec());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_resume = segments(run.drain()).len();
    assert_eq!(before_resume, 1, "the sentence being spoken ended at the pause");
    assert_eq!(server.live_sessions()[0].samples.len(), 32_000 + 8_000, "2 s, then 500 ms of silence");
    run.feed(all[20..].to_vec());
    let (events, result) = run.stop().await;
    result.unwrap();
    assert!(segments(&events).len() > before_resume);
}

#[tokio::test]
async fn limits_are_checked_before_connecting() {
    let server = start_fake(SIXTYDB, Scenario::Normal, None).await;
    let cloud = cloud_options(SIXTYDB, &server);
    let key = || verbatim::engine::cloud::ApiKey::new(KEY).unwrap();
    for (live, expected) in [
        (LiveOptions { sixtydb_utterance_end_ms: 200, ..live_options() }, "at least 300"),
        (LiveOptions { sixtydb_sample_rate_hz: 22_050, ..live_options() }, "44100"),
    ] {
        let error = cloud_live_engine(SIXTYDB, &cloud, &live, key()).err().expect("refused");
        assert!(error.to_string().contains(expected), "{error}");
    }
    let mut six = cloud.clone();
    six.sixtydb.languages = ["en", "hi", "fr", "de", "es", "pt"].map(String::from).to_vec();
    let run = LiveRun::start(engine(SIXTYDB, &six, &live_options(), KEY), english());
    let (events, result) = run.stop().await;
    assert!(result.unwrap_err().to_string().contains("at most 5"));
    assert!(last_error(&events).is_some());
    assert!(server.live_sessions().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_refused_key_is_a_rejected_key() {
    if speech().is_none() {
        return;
    }
    for (scenario, key) in [(Scenario::Normal, "wrong-key"), (Scenario::Unauthorized, KEY)] {
        let server = start_fake(SIXTYDB, scenario, None).await;
        let run = LiveRun::start(engine(SIXTYDB, &cloud_options(SIXTYDB, &server), &live_options(), key), english());
        run.feed(blocks(&speech().unwrap()[..16_000], 0.0));
        let (events, result) = run.stop().await;
        let error = result.unwrap_err();
        assert!(matches!(error, EngineError::KeyRejected { .. }), "{error}");
        let message = last_error(&events).unwrap();
        assert!(message.contains("verbatim auth set 60db") && !message.contains(key), "{message}");
    }
}

#[tokio::test]
async fn running_out_of_credit_or_a_dropped_connection_keeps_the_text_so_far() {
    if speech().is_none() {
        return;
    }
    for (scenario, expected) in [(Scenario::PaymentRequired, "out of credit"), (Scenario::DropMidStream, "connection to 60db was lost")] {
        let (source, events, result, sessions) = run_all(scenario, SixtyDbOptions::default(), live_options(), 10, true).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains(expected), "{scenario:?}: {error}");
        assert_eq!(last_error(&events), Some(error.as_str()));
        assert_eq!(sessions[0].ended_by.as_deref(), Some("scenario"));
        if scenario == Scenario::DropMidStream {
            // A sentence ended before the drop at 6 s, and the one being spoken is kept too.
            let kept = segments(&events);
            assert!(kept.len() >= 2, "{kept:?}");
            assert!(kept.iter().any(|segment| segment.text.contains("so far")), "{kept:?}");
            // Fed about as it is spoken, the estimated times fall where the first sentence is.
            let (start_s, end_s) = first_sentence_s(&source);
            let first = kept[0];
            assert!((first.start_s - start_s).abs() <= 0.4 && (first.end_s - end_s).abs() <= 0.4, "{first:?} for {start_s}–{end_s} s");
        }
    }
}

#[tokio::test]
async fn the_fake_refuses_audio_before_the_session_started() {
    let server = start_fake(SIXTYDB, Scenario::Normal, None).await;
    let url = format!("{}/ws/stt?apiKey={KEY}", server.base_url().replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let audio = serde_json::json!({"type": "audio", "audio": "AAAA", "encoding": "linear", "sample_rate": 16000}).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::text(audio)).await.unwrap();
    let mut texts = Vec::new();
    let mut close_code = None;
    while let Some(Ok(message)) = socket.next().await {
        match message {
            tokio_tungstenite::tungstenite::Message::Text(text) => texts.push(serde_json::from_str::<serde_json::Value>(&text).unwrap()),
            tokio_tungstenite::tungstenite::Message::Close(frame) => close_code = frame.map(|frame| u16::from(frame.code)),
            _ => {}
        }
    }
    let error = texts.iter().find(|m| m["type"] == "error").expect("an error message");
    assert_eq!(error["error_code"], "AUDIO_BEFORE_START");
    assert!(!texts.iter().any(|m| m["type"] == "session_started"), "session_started comes only after start");
    assert_eq!(close_code, Some(1008));
}
