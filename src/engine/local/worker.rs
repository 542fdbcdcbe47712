//! The worker process that runs whisper.cpp for [`super::LocalEngine`].
//!
//! Protocol, one JSON document per line. The parent writes [`WorkerRequest`]s to the worker's
//! stdin, one at a time (a `decode` line is followed by its samples as raw little-endian
//! `f32`s); the worker answers each on stdout — events as they happen, then exactly one
//! `finished`, `loaded`, `decoded` or `failed` — and waits for the next. The model stays
//! loaded between requests, so only the first one pays for loading it. The worker exits when
//! its stdin closes (the parent is gone or done with it); the parent cancels by killing it, or —
//! when the job holds segments back until its end — by closing stdin and reading the held
//! segments the job then sends before its `failed`.
//! The parent side is [`super::worker_pool`].

use super::LocalEngineConfig;
use super::phrase_decode::{self, PhraseJob};
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::{EngineEvent, EventSink, Segment};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;
use whisper_rs::{WhisperContext, WhisperState};

/// A file to transcribe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub config: LocalEngineConfig,
    pub path: PathBuf,
    pub options: TranscribeOptions,
}

/// What the worker is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum WorkerRequest {
    /// Load the model now (a live session asks before its first phrase ends).
    Load { config: LocalEngineConfig },
    /// Transcribe a file.
    Transcribe { job: WorkerJob },
    /// Decode the `phrase.sample_count` samples that follow this line.
    Decode { phrase: PhraseJob },
}

impl WorkerRequest {
    fn config(&self) -> &LocalEngineConfig {
        match self {
            WorkerRequest::Load { config } => config,
            WorkerRequest::Transcribe { job } => &job.config,
            WorkerRequest::Decode { phrase } => &phrase.config,
        }
    }
}

/// What the worker says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum WorkerMessage {
    Event { event: EngineEvent },
    /// A `transcribe` request is done.
    Finished { language: Option<String>, duration_s: Option<f64> },
    /// A `load` request is done; `load_s` is how long loading took (0 when it was loaded).
    Loaded { load_s: f64 },
    /// A `decode` request is done: the phrase's segments, times in the recording.
    Decoded { segments: Vec<Segment>, language: Option<String> },
    Failed { kind: FailureKind, error: String },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Model,
    Input,
    Inference,
}

impl FailureKind {
    fn of(error: &EngineError) -> FailureKind {
        match error {
            EngineError::Model(_) => FailureKind::Model,
            EngineError::Audio(_) | EngineError::Input(_) => FailureKind::Input,
            _ => FailureKind::Inference,
        }
    }

    pub fn into_error(self, message: String) -> EngineError {
        match self {
            FailureKind::Model => EngineError::Model(message),
            FailureKind::Input => EngineError::Input(message),
            FailureKind::Inference => EngineError::Inference(message),
        }
    }
}

/// Longest request line the worker reads (a job is a few hundred bytes; samples come apart).
const MAX_REQUEST_LINE_BYTES: u64 = 1 << 20;
/// Most samples one `decode` request may carry (a minute at 16 kHz; phrases are far shorter).
const MAX_DECODE_SAMPLES: usize = 60 * crate::audio::ENGINE_SAMPLE_RATE_HZ as usize;

/// A request as read from stdin, with the samples of a `decode`.
struct Incoming {
    request: WorkerRequest,
    samples: Vec<f32>,
}

/// The body of `verbatim worker`: answers requests from stdin until it closes.
pub fn worker_main() -> ExitCode {
    let parent_gone = Arc::new(AtomicBool::new(false));
    let requests = read_requests(parent_gone.clone());
    let mut model: Option<LoadedModel> = None;
    for incoming in requests {
        let incoming = match incoming {
            Ok(incoming) => incoming,
            Err(error) => {
                // The stream cannot be trusted after a bad request: say why and stop.
                let failed = WorkerMessage::Failed { kind: FailureKind::Inference, error };
                let _ = write_message(&mut std::io::stdout().lock(), &failed);
                return ExitCode::FAILURE;
            }
        };
        if answer(incoming, &mut model, &parent_gone).is_err() {
            return ExitCode::FAILURE; // nobody reads our answers any more
        }
    }
    ExitCode::SUCCESS
}

/// Reads requests on their own thread, so that the end of stdin (the parent is gone) is seen
/// even while a request runs: `parent_gone` is set then, and running whisper.cpp calls stop.
fn read_requests(parent_gone: Arc<AtomicBool>) -> mpsc::Receiver<Result<Incoming, String>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = BufReader::new(std::io::stdin().lock());
        loop {
            match read_request(&mut stdin) {
                Ok(Some(incoming)) => {
                    if sender.send(Ok(incoming)).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = sender.send(Err(error));
                    break;
                }
            }
        }
        // Keep reading to the end: only then is the parent really gone.
        let mut rest = Vec::new();
        let _ = stdin.read_to_end(&mut rest);
        parent_gone.store(true, Ordering::Relaxed);
    });
    receiver
}

/// One request, or `None` at the end of stdin.
fn read_request(stdin: &mut impl BufRead) -> Result<Option<Incoming>, String> {
    let mut line = String::new();
    let read = (&mut *stdin)
        .take(MAX_REQUEST_LINE_BYTES)
        .read_line(&mut line)
        .map_err(|error| format!("the local engine could not read its job: {error}"))?;
    if read == 0 {
        return Ok(None);
    }
    let request = serde_json::from_str::<WorkerRequest>(&line).map_err(|error| format!("the local engine got a bad job: {error}"))?;
    let samples = match &request {
        WorkerRequest::Decode { phrase } if phrase.sample_count > MAX_DECODE_SAMPLES => {
            return Err(format!("the local engine got {} samples to decode, more than {MAX_DECODE_SAMPLES}", phrase.sample_count));
        }
        WorkerRequest::Decode { phrase } => {
            let mut bytes = vec![0u8; phrase.sample_count * 4];
            stdin.read_exact(&mut bytes).map_err(|error| format!("the local engine got a truncated phrase: {error}"))?;
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        _ => Vec::new(),
    };
    Ok(Some(Incoming { request, samples }))
}

/// Runs one request and writes its events and its last word.
fn answer(incoming: Incoming, model: &mut Option<LoadedModel>, parent_gone: &AtomicBool) -> std::io::Result<()> {
    let (sink, mut events) = EventSink::channel();
    // Events are written by their own thread, in order, each line flushed at once.
    let writer = std::thread::spawn(move || {
        let mut stdout = std::io::stdout().lock();
        while let Some(event) = events.blocking_recv() {
            if write_message(&mut stdout, &WorkerMessage::Event { event }).is_err() {
                break;
            }
        }
    });
    let result = run_request(&incoming, model, &sink, parent_gone);
    drop(sink);
    let _ = writer.join();
    let last_word = result.unwrap_or_else(|error| WorkerMessage::Failed { kind: FailureKind::of(&error), error: error.to_string() });
    write_message(&mut std::io::stdout().lock(), &last_word)
}

fn run_request(
    incoming: &Incoming,
    slot: &mut Option<LoadedModel>,
    sink: &EventSink,
    parent_gone: &AtomicBool,
) -> Result<WorkerMessage, EngineError> {
    let load_s = LoadedModel::ensure(slot, incoming.request.config())?;
    let Some(model) = slot.as_mut() else {
        return Err(EngineError::Model("the model did not stay loaded".into()));
    };
    match &incoming.request {
        WorkerRequest::Load { .. } => Ok(WorkerMessage::Loaded { load_s }),
        WorkerRequest::Transcribe { job } => {
            let outcome =
                super::pipeline::transcribe_blocking(&model.context, &job.config, &job.path, &job.options, sink, parent_gone)?;
            Ok(WorkerMessage::Finished { language: outcome.language, duration_s: outcome.duration_s })
        }
        WorkerRequest::Decode { phrase } => {
            let (context, state) = model.phrase_state()?;
            let decoded = phrase_decode::decode_phrase(context, state, phrase, &incoming.samples, sink, parent_gone)?;
            Ok(WorkerMessage::Decoded { segments: decoded.segments, language: decoded.language })
        }
    }
}

/// The model this worker holds, and the whisper.cpp state live phrases are decoded on.
struct LoadedModel {
    model_path: PathBuf,
    flash_attention: bool,
    context: WhisperContext,
    phrase_state: Option<WhisperState>,
}

impl LoadedModel {
    /// Loads the model `config` names unless it is the one held; returns the seconds spent.
    fn ensure(slot: &mut Option<LoadedModel>, config: &LocalEngineConfig) -> Result<f64, EngineError> {
        let held = slot.as_ref().is_some_and(|m| m.model_path == config.model_path && m.flash_attention == config.flash_attention);
        if held {
            return Ok(0.0);
        }
        *slot = None; // free the old model before loading another
        let started = Instant::now();
        let context = super::load_model(&config.model_path, config.flash_attention)?;
        *slot = Some(LoadedModel {
            model_path: config.model_path.clone(),
            flash_attention: config.flash_attention,
            context,
            phrase_state: None,
        });
        Ok(started.elapsed().as_secs_f64())
    }

    /// The model and the state phrases are decoded on (made at the first phrase).
    fn phrase_state(&mut self) -> Result<(&WhisperContext, &mut WhisperState), EngineError> {
        if self.phrase_state.is_none() {
            let state = self
                .context
                .create_state()
                .map_err(|error| EngineError::Inference(format!("whisper.cpp could not create a state: {error}")))?;
            self.phrase_state = Some(state);
        }
        let state = self.phrase_state.as_mut().ok_or_else(|| EngineError::Inference("no whisper.cpp state".into()))?;
        Ok((&self.context, state))
    }
}

fn write_message(out: &mut impl Write, message: &WorkerMessage) -> std::io::Result<()> {
    let line = serde_json::to_string(message).map_err(std::io::Error::other)?;
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}
