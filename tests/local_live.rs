//! The local engine live: real recordings fed the way the recorder feeds them, checked
//! against the file mode's word error rate; hypotheses while a phrase is spoken; a worker
//! crash mid-session; the persistent worker reused across jobs, replaced after a cancel or
//! a crash.

mod common;
#[path = "common/live_feed.rs"]
mod live_feed;

use live_feed::Stamped;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use verbatim::engine::local::{LocalEngine, LocalEngineConfig, WorkerPool};
use verbatim::engine::{EngineError, EngineOutcome, EngineSpec, LiveEngine, LiveOptions, TranscribeOptions, build_live_engine, emit_outcome, run_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;
use verbatim::wer::word_error_rate;

fn engine(model: &Path, pool: &Arc<WorkerPool>) -> LocalEngine {
    let config = LocalEngineConfig { model_path: model.to_path_buf(), ..LocalEngineConfig::default() };
    LocalEngine::with_worker(config, common::verbatim_exe()).with_pool(pool.clone())
}

fn english() -> TranscribeOptions {
    TranscribeOptions { language: Some("en".into()), ..TranscribeOptions::default() }
}

fn transcript_of<'a>(events: impl IntoIterator<Item = &'a EngineEvent>) -> Transcript {
    let mut transcript = Transcript::new();
    events.into_iter().for_each(|event| transcript.apply(event));
    transcript
}

struct LiveRun {
    events: Vec<Stamped>,
    result: Result<EngineOutcome, EngineError>,
}

impl LiveRun {
    fn transcript(&self) -> Transcript {
        transcript_of(self.events.iter().map(|s| &s.event))
    }
}

/// Feeds `path` into a live session at `speed` times real time; the stream ends with
/// `Done`/`Error` as the live runner's does.
fn run_live(engine: &dyn LiveEngine, path: &Path, speed: f64) -> LiveRun {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (audio_sender, audio) = tokio::sync::mpsc::unbounded_channel();
        let (sink, receiver) = EventSink::channel();
        let collector = tokio::spawn(live_feed::collect(receiver));
        let feeder = tokio::spawn(live_feed::feed(live_feed::blocks_of(path, 1), audio_sender, speed, Instant::now()));
        let result = engine.transcribe_live(audio, &english(), &sink, &CancellationToken::new()).await;
        emit_outcome(&sink, &result);
        drop(sink);
        feeder.await.unwrap();
        LiveRun { events: collector.await.unwrap(), result }
    })
}

fn file_text(engine: &LocalEngine, path: &Path) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (sink, receiver) = EventSink::channel();
        let collector = tokio::spawn(live_feed::collect(receiver));
        run_engine(engine, path, &english(), &sink, &CancellationToken::new()).await.expect("file mode");
        drop(sink);
        transcript_of(collector.await.unwrap().iter().map(|s| &s.event)).plain_text()
    })
}

fn audio_duration_s(path: &Path) -> f64 {
    live_feed::blocks_of(path, 1).last().map(|b| b.start_s + b.duration_s()).unwrap()
}

/// Segments are in time order and inside the audio.
fn assert_segments_well_placed(transcript: &Transcript, duration_s: f64) {
    assert!(!transcript.segments.is_empty());
    for pair in transcript.segments.windows(2) {
        assert!(pair[0].start_s <= pair[1].start_s && pair[0].end_s <= pair[1].start_s + 0.01, "out of order: {pair:?}");
    }
    for segment in &transcript.segments {
        assert!(0.0 <= segment.start_s && segment.start_s <= segment.end_s && segment.end_s <= duration_s + 0.01, "{segment:?}");
        for word in &segment.words {
            assert!(word.start_s >= segment.start_s && word.end_s <= segment.end_s, "{word:?} outside {segment:?}");
        }
    }
}

#[test]
fn live_text_is_within_two_points_of_the_file_mode() {
    let Some(model) = common::model("tiny.en") else { return };
    let pool = WorkerPool::new();
    let engine = engine(&model, &pool);
    for (file, reference) in [("speech/jfk.wav", common::JFK_REFERENCE), ("speech/two_cities.wav", common::TWO_CITIES_REFERENCE)] {
        let Some(path) = common::testdata(file) else { return };
        let file_wer = word_error_rate(reference, &file_text(&engine, &path));
        // Faster than real time: pace is not the point here, the text is.
        let started = Instant::now();
        let run = run_live(&engine, &path, f64::INFINITY);
        run.result.as_ref().unwrap_or_else(|error| panic!("{file}: {error}"));
        let transcript = run.transcript();
        let live_wer = word_error_rate(reference, &transcript.plain_text());
        println!(
            "{file}: live WER {:.1} % ({} segments, {:.1} s), file WER {:.1} %: {}",
            live_wer * 100.0,
            transcript.segments.len(),
            started.elapsed().as_secs_f64(),
            file_wer * 100.0,
            transcript.plain_text()
        );
        assert!(live_wer <= file_wer + 0.02, "{file}: live WER {:.1} % vs file {:.1} %", live_wer * 100.0, file_wer * 100.0);
        assert_segments_well_placed(&transcript, audio_duration_s(&path));
        assert!(transcript.hypothesis.is_none(), "a hypothesis left at the end");
        assert!(matches!(run.events.last().map(|s| &s.event), Some(EngineEvent::Done { .. })));
    }
    assert_eq!(pool.spawned_worker_ids().len(), 1, "one worker for file and live jobs alike");
}

#[test]
fn the_front_ends_builder_gives_a_local_live_engine() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let spec = EngineSpec::Local { model: model.display().to_string(), beam_size: 1 };
    let no_keys = || -> Result<verbatim::engine::cloud::keys::KeyStores, verbatim::engine::cloud::keys::KeyError> {
        panic!("the local engine needs no key")
    };
    let engine = build_live_engine(&spec, &LiveOptions::default(), &no_keys, Some(&common::verbatim_exe())).expect("builds");
    assert_eq!(engine.name(), "local");
    let run = run_live(engine.as_ref(), &jfk, f64::INFINITY);
    run.result.as_ref().expect("the live run succeeds");
    let text = run.transcript().plain_text();
    assert!(word_error_rate(common::JFK_REFERENCE, &text) <= 0.10, "{text}");
}

#[test]
fn hypotheses_show_the_open_phrase_and_are_replaced_at_real_time_pace() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(path) = common::testdata("speech/jfk.wav") else { return };
    let run = run_live(&engine(&model, &WorkerPool::new()), &path, 1.0);
    run.result.as_ref().unwrap();
    let mut transcript = Transcript::new();
    let mut hypotheses = Vec::new();
    for stamped in &run.events {
        let segments_before = transcript.segments.len();
        transcript.apply(&stamped.event);
        if let EngineEvent::Hypothesis(hypothesis) = &stamped.event {
            if hypothesis.text.is_empty() {
                continue;
            }
            hypotheses.push(stamped.at);
            // The hypothesis is of a phrase after every final segment so far, and the one
            // shown is the newest.
            let start_s = hypothesis.start_s.expect("a hypothesis says where it starts");
            if let Some(last) = transcript.segments.last() {
                assert!(start_s >= last.end_s - 0.05, "hypothesis at {start_s} behind final text ending at {}", last.end_s);
            }
            assert_eq!(transcript.hypothesis.as_ref(), Some(hypothesis));
            assert_eq!(transcript.segments.len(), segments_before);
        }
    }
    let intervals: Vec<f64> = hypotheses.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    println!("{} hypotheses, intervals {intervals:.2?}; text: {}", hypotheses.len(), transcript.plain_text());
    // How often they come depends on the machine (scripts/bench-live measures it); that they
    // come, replace each other and are retired does not.
    assert!(hypotheses.len() >= 2, "only {} hypotheses over 11 s of speech", hypotheses.len());
    assert!(transcript.hypothesis.is_none(), "the last hypothesis was not retired");
    assert!(word_error_rate(common::JFK_REFERENCE, &transcript.plain_text()) <= 0.10, "{}", transcript.plain_text());
    assert_segments_well_placed(&transcript, audio_duration_s(&path));
    let lags: Vec<f64> = run.events.iter().filter_map(|s| match s.event {
        EngineEvent::Lag { behind_s } => Some(behind_s),
        _ => None,
    }).collect();
    assert!(lags.len() >= 8, "lag reported {} times over 11 s", lags.len());
    assert!(lags.iter().all(|lag| lag.is_finite() && *lag >= 0.0), "{lags:?}");
}

#[test]
fn a_worker_crash_mid_session_ends_with_an_error_and_keeps_the_segments() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(path) = common::testdata("speech/two_cities.wav") else { return };
    let pool = WorkerPool::new();
    let engine = engine(&model, &pool);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (events, result) = runtime.block_on(async {
        let (audio_sender, audio) = tokio::sync::mpsc::unbounded_channel();
        let (sink, mut receiver) = EventSink::channel();
        let feeder = tokio::spawn(live_feed::feed(live_feed::blocks_of(&path, 1), audio_sender, 4.0, Instant::now()));
        let cancel = CancellationToken::new();
        let options = english();
        let mut session = Box::pin(engine.transcribe_live(audio, &options, &sink, &cancel));
        let mut events = Vec::new();
        // Crash the worker once the first segment is out.
        let result = loop {
            tokio::select! {
                result = &mut session => break result,
                Some(event) = receiver.recv() => {
                    if matches!(event, EngineEvent::Segment(_)) && !events.iter().any(|e| matches!(e, EngineEvent::Segment(_))) {
                        let pid = *pool.spawned_worker_ids().last().unwrap();
                        std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
                    }
                    events.push(event);
                }
            }
        };
        emit_outcome(&sink, &result);
        drop(session);
        drop(sink);
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        feeder.abort();
        (events, result)
    });
    let message = result.expect_err("the session must fail when its worker dies").to_string();
    assert!(message.contains("stopped unexpectedly"), "{message}");
    let transcript = transcript_of(&events);
    assert!(!transcript.segments.is_empty(), "segments before the crash are kept");
    assert!(matches!(events.last(), Some(EngineEvent::Error { .. })), "the stream ends with an error: {:?}", events.last());
    // The next job gets a new worker.
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    assert!(word_error_rate(common::JFK_REFERENCE, &file_text(&engine, &jfk)) <= 0.10);
    assert_eq!(pool.spawned_worker_ids().len(), 2);
}

fn process_is_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn the_worker_is_kept_across_jobs_and_replaced_after_a_cancel_or_a_crash() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let pool = WorkerPool::new();
    let engine = engine(&model, &pool);
    for _ in 0..2 {
        assert!(word_error_rate(common::JFK_REFERENCE, &file_text(&engine, &jfk)) <= 0.10);
    }
    assert_eq!(pool.spawned_worker_ids().len(), 1, "two files, one worker");
    assert_eq!(pool.idle_count(), 1);

    // Cancel a live session: at once, and its worker is killed.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (audio_sender, audio) = tokio::sync::mpsc::unbounded_channel();
        let (sink, _receiver) = EventSink::channel();
        let feeder = tokio::spawn(live_feed::feed(live_feed::blocks_of(&jfk, 1), audio_sender, 1.0, Instant::now()));
        let cancel = CancellationToken::new();
        let options = english();
        let session = engine.transcribe_live(audio, &options, &sink, &cancel);
        let canceller = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            cancel.cancel();
            Instant::now()
        };
        let (result, cancelled_at) = tokio::join!(session, canceller);
        let stop_s = cancelled_at.elapsed().as_secs_f64();
        assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
        assert!(stop_s < 1.0, "took {stop_s:.2} s to stop");
        feeder.abort();
    });
    let first = pool.spawned_worker_ids()[0];
    assert!(process_is_gone(first), "the cancelled worker still runs");
    assert_eq!(pool.idle_count(), 0);

    // A new worker for the next job; then it crashes while idle, and the job after that
    // gets a fresh one.
    assert!(word_error_rate(common::JFK_REFERENCE, &file_text(&engine, &jfk)) <= 0.10);
    let second = *pool.spawned_worker_ids().last().unwrap();
    assert_ne!(second, first);
    std::process::Command::new("kill").args(["-9", &second.to_string()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(word_error_rate(common::JFK_REFERENCE, &file_text(&engine, &jfk)) <= 0.10);
    assert_eq!(pool.spawned_worker_ids().len(), 3);
}
