//! Live transcription with the local engine, measured (prints figures, asserts nothing).
//! Run through `scripts/bench-live`, which documents the options.
//!
//! Each input is fed at real-time pace (or `--speed` times faster) in 100 ms blocks, as the
//! recorder feeds it. Per run: phrase end → final text latency (median, p95, worst: from the
//! moment the audio that ended the phrase was captured to its segments), hypothesis refresh
//! interval within a phrase (median, worst), lag reported at the start against the end, and
//! the word error rate of the final text against the file mode's on the same input.

#[path = "../tests/common/live_feed.rs"]
mod live_feed;

use live_feed::Stamped;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use verbatim::engine::local::live::{AudioCtx, LiveTuning};
use verbatim::engine::local::{LocalEngine, LocalEngineConfig, WorkerPool};
use verbatim::engine::{LiveEngine, TranscribeOptions, run_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;
use verbatim::wer::word_error_rate;

const TWO_CITIES_REFERENCE: &str = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the other way – in short, the period was so far like the present period, that some of its noisiest authorities insisted on its being received, for good or for evil, in the superlative degree of comparison only.";
const JFK_REFERENCE: &str =
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

struct Args {
    model: String,
    speed: f64,
    inputs: Vec<String>,
    tuning: LiveTuning,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { model: "tiny.en".into(), speed: 1.0, inputs: Vec::new(), tuning: LiveTuning::default(), verbose: false };
    let mut given = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => args.model = value()?,
            "--speed" => args.speed = value()?.parse().map_err(|e| format!("--speed: {e}"))?,
            "--input" => args.inputs.push(value()?),
            "--audio-ctx" => args.tuning.audio_ctx = parse_audio_ctx(&value()?)?,
            "--pause" => args.tuning.cut.pause_s = value()?.parse().map_err(|e| format!("--pause: {e}"))?,
            "--min-phrase" => args.tuning.cut.min_phrase_s = value()?.parse().map_err(|e| format!("--min-phrase: {e}"))?,
            "--long-pause" => args.tuning.cut.long_pause_s = value()?.parse().map_err(|e| format!("--long-pause: {e}"))?,
            "--max-phrase" => args.tuning.cut.max_phrase_s = value()?.parse().map_err(|e| format!("--max-phrase: {e}"))?,
            "--refresh" => args.tuning.refresh_s = value()?.parse().map_err(|e| format!("--refresh: {e}"))?,
            "--speculate" => args.tuning.speculate_after_silence_s = seconds_or_off(&flag, &value()?)?,
            "--hold-drafts" => args.tuning.hold_drafts_after_silence_s = seconds_or_off(&flag, &value()?)?,
            "--no-prompt" => args.tuning.condition_on_previous = false,
            "--verbose" => args.verbose = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.inputs.is_empty() {
        args.inputs = vec!["jfk".into(), "two_cities".into()];
    }
    Ok(args)
}

/// `off`, or a silence in seconds (`--speculate`: after which the open phrase is decoded as a
/// final; `--hold-drafts`: during which no draft starts).
fn seconds_or_off(flag: &str, text: &str) -> Result<Option<f64>, String> {
    if text == "off" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|e| format!("{flag}: {e}"))
}

/// `full`, or `MARGIN_S[:MIN_CTX]`.
fn parse_audio_ctx(text: &str) -> Result<AudioCtx, String> {
    if text == "full" {
        return Ok(AudioCtx::Full);
    }
    let (margin, min) = text.split_once(':').unwrap_or((text, "0"));
    Ok(AudioCtx::Scaled {
        margin_s: margin.parse().map_err(|e| format!("--audio-ctx margin: {e}"))?,
        min_ctx: min.parse().map_err(|e| format!("--audio-ctx minimum: {e}"))?,
    })
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/speech")).join(name)
}

/// An input: its path (a temporary concatenation for `two_cities_x14`) and reference.
fn input(name: &str, work: &Path) -> Result<(PathBuf, String), String> {
    let copies = match name {
        "jfk" => return Ok((testdata("jfk.wav"), JFK_REFERENCE.into())),
        "two_cities" => return Ok((testdata("two_cities.wav"), TWO_CITIES_REFERENCE.into())),
        other => other.strip_prefix("two_cities_x").and_then(|n| n.parse::<usize>().ok()).ok_or(format!("unknown input {other}"))?,
    };
    let path = work.join(format!("two_cities_x{copies}.wav"));
    let mut reader = hound::WavReader::open(testdata("two_cities.wav")).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let mut writer = hound::WavWriter::create(&path, spec).map_err(|e| e.to_string())?;
    for _ in 0..copies {
        for &sample in &samples {
            writer.write_sample(sample).map_err(|e| e.to_string())?;
        }
    }
    writer.finalize().map_err(|e| e.to_string())?;
    Ok((path, vec![TWO_CITIES_REFERENCE; copies].join(" ")))
}

fn english() -> TranscribeOptions {
    TranscribeOptions { language: Some("en".into()), ..TranscribeOptions::default() }
}

fn text_of<'a>(events: impl IntoIterator<Item = &'a EngineEvent>) -> String {
    let mut transcript = Transcript::new();
    events.into_iter().for_each(|event| transcript.apply(event));
    transcript.plain_text()
}

async fn file_mode(engine: &LocalEngine, path: &Path) -> (String, f64) {
    let (sink, receiver) = EventSink::channel();
    let collector = tokio::spawn(live_feed::collect(receiver));
    let started = Instant::now();
    if let Err(error) = run_engine(engine, path, &english(), &sink, &CancellationToken::new()).await {
        eprintln!("file mode failed: {error}");
    }
    let wall_s = started.elapsed().as_secs_f64();
    drop(sink);
    (text_of(collector.await.unwrap_or_default().iter().map(|s| &s.event)), wall_s)
}

async fn live(engine: &LocalEngine, path: &Path, speed: f64) -> (Vec<Stamped>, Instant) {
    let (audio_sender, audio) = tokio::sync::mpsc::unbounded_channel();
    let (sink, receiver) = EventSink::channel();
    let collector = tokio::spawn(live_feed::collect(receiver));
    let started = Instant::now();
    let feeder = tokio::spawn(live_feed::feed(live_feed::blocks_of(path, 1), audio_sender, speed, started));
    if let Err(error) = engine.transcribe_live(audio, &english(), &sink, &CancellationToken::new()).await {
        eprintln!("live failed: {error}");
    }
    drop(sink);
    let _ = feeder.await;
    (collector.await.unwrap_or_default(), started)
}

fn percentile(values: &[f64], fraction: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Prints the figures of one live run.
fn report(events: &[Stamped], started: Instant, speed: f64, verbose: bool) {
    let audio_s_at = |stamped: &Stamped| stamped.at.duration_since(started).as_secs_f64() * speed;
    let mut latencies = Vec::new();
    let mut refresh = Vec::new();
    let mut lags = Vec::new();
    let mut phrase_has_segments = false;
    let mut last_hypothesis: Option<(Option<f64>, Instant)> = None;
    for stamped in events {
        match &stamped.event {
            EngineEvent::Segment(segment) => {
                phrase_has_segments = true;
                if verbose {
                    println!("  [{:7.2} → {:7.2}] at {:7.2}: {}", segment.start_s, segment.end_s, audio_s_at(stamped), segment.text);
                }
            }
            // A phrase's final decode ends with progress up to the phrase's end.
            EngineEvent::Progress { done_s, .. } => {
                if phrase_has_segments {
                    latencies.push((audio_s_at(stamped) - done_s) / speed);
                }
                phrase_has_segments = false;
            }
            EngineEvent::Hypothesis(hypothesis) if !hypothesis.text.is_empty() => {
                if verbose {
                    println!("  hypothesis at {:7.2}: {}", audio_s_at(stamped), hypothesis.text);
                }
                if let Some((start_s, at)) = last_hypothesis {
                    if start_s == hypothesis.start_s {
                        refresh.push((stamped.at - at).as_secs_f64());
                    }
                }
                last_hypothesis = Some((hypothesis.start_s, stamped.at));
            }
            EngineEvent::Lag { behind_s } => lags.push(*behind_s),
            _ => {}
        }
    }
    println!(
        "  latency phrase end → final text: median {:.2} s, p95 {:.2} s, worst {:.2} s ({} phrases)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 1.0),
        latencies.len()
    );
    println!(
        "  hypothesis refresh interval: median {:.2} s, worst {:.2} s ({} refreshes)",
        percentile(&refresh, 0.5),
        percentile(&refresh, 1.0),
        refresh.len()
    );
    let tenth = (lags.len() / 10).max(1).min(lags.len());
    println!(
        "  lag: first tenth mean {:.2} s, last tenth mean {:.2} s, worst {:.2} s ({} reports)",
        mean(&lags[..tenth]),
        mean(&lags[lags.len() - tenth..]),
        percentile(&lags, 1.0),
        lags.len()
    );
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let store = verbatim::models::ModelStore::from_env().expect("model store");
    let model_path = store.resolve(&args.model).unwrap_or_else(|error| panic!("model {}: {error}", args.model));
    let worker_exe = std::env::var_os("VERBATIM_EXE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_verbatim")));
    // What the persistent worker saves each file and each live session after the first.
    let load_s: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            drop(verbatim::engine::local::load_model(&model_path, true).expect("load the model"));
            started.elapsed().as_secs_f64()
        })
        .collect();
    println!("model load (saved per job by the persistent worker): median {:.3} s of 3", percentile(&load_s, 0.5));
    let config = LocalEngineConfig { model_path, ..LocalEngineConfig::default() };
    let engine = LocalEngine::with_worker(config, worker_exe).with_pool(WorkerPool::new()).with_live_tuning(args.tuning.clone());
    let work = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("model {}, speed {}x, threads {}, {:?}", args.model, args.speed, english().threads, args.tuning);
    for name in &args.inputs {
        let (path, reference) = match input(name, work.path()) {
            Ok(found) => found,
            Err(error) => {
                eprintln!("error: {error}");
                continue;
            }
        };
        runtime.block_on(async {
            let (file_text, file_s) = file_mode(&engine, &path).await;
            let (events, started) = live(&engine, &path, args.speed).await;
            let live_text = text_of(events.iter().map(|s| &s.event));
            let live_s = events.last().map_or(0.0, |e| e.at.duration_since(started).as_secs_f64());
            println!("== {name}: live run {live_s:.1} s, file mode {file_s:.1} s");
            report(&events, started, args.speed, args.verbose);
            println!(
                "  WER: live {:.2} %, file mode {:.2} %",
                100.0 * word_error_rate(&reference, &live_text),
                100.0 * word_error_rate(&reference, &file_text)
            );
            if args.verbose {
                println!("  live text: {live_text}");
            }
        });
    }
}
