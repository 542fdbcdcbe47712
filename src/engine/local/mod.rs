//! The local engine: whisper.cpp through whisper-rs, fully offline.
//!
//! Audio is decoded on its own thread into bounded 16 kHz blocks and cut into chunks of a
//! few minutes at quiet moments, so a multi-hour file never sits in memory whole (neither
//! its samples nor whisper.cpp's spectrogram of it). Each chunk goes through one whisper.cpp
//! call on a state that persists across chunks, so the text stays conditioned on what came
//! before. Segments are sent as whisper.cpp decodes them. Chunks without any sound are not
//! decoded at all, which keeps invented text out of silences.

mod chunks;
mod cleanup;
mod whisper_call;
mod words;

use crate::engine::{Engine, EngineError, EngineOutcome, SpeakerMode, TranscribeOptions};
use crate::events::{EventSink, Segment};
use crate::vad;
use async_trait::async_trait;
use chunks::{AudioChunk, ChunkReader};
use cleanup::SegmentFilter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use whisper_call::{CallError, DecodedSegment};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

/// Settings of the local engine beyond the options every engine shares.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LocalEngineConfig {
    /// A ggml model file.
    pub model_path: PathBuf,
    /// 1 = greedy decoding (fastest); more = beam search.
    pub beam_size: u32,
}

impl Default for LocalEngineConfig {
    fn default() -> Self {
        LocalEngineConfig { model_path: PathBuf::new(), beam_size: 1 }
    }
}

/// whisper.cpp with a model loaded once and reused for every file.
pub struct LocalEngine {
    config: LocalEngineConfig,
    context: Mutex<Option<Arc<WhisperContext>>>,
}

impl LocalEngine {
    pub fn new(config: LocalEngineConfig) -> LocalEngine {
        LocalEngine { config, context: Mutex::new(None) }
    }

    /// Loads the model on first use (blocking: call from a blocking thread).
    fn context(&self) -> Result<Arc<WhisperContext>, EngineError> {
        let mut slot = self.context.lock().map_err(|_| EngineError::Model("model cache poisoned; restart".into()))?;
        if let Some(context) = slot.as_ref() {
            return Ok(context.clone());
        }
        let context = Arc::new(load_model(&self.config.model_path)?);
        *slot = Some(context.clone());
        Ok(context)
    }
}

/// Loads a ggml model after checking that the file is one, so a wrong file gets a clear
/// error instead of reaching whisper.cpp's loader.
pub fn load_model(path: &Path) -> Result<WhisperContext, EngineError> {
    check_ggml_header(path)?;
    silence_whisper_logs();
    let path_text = path
        .to_str()
        .ok_or_else(|| EngineError::Model(format!("model path {} is not valid UTF-8; move the model to a plain path", path.display())))?;
    WhisperContext::new_with_params(path_text, WhisperContextParameters::default()).map_err(|error| {
        EngineError::Model(format!(
            "whisper.cpp could not load {} ({error}); download it again with `verbatim models download NAME`",
            path.display()
        ))
    })
}

fn check_ggml_header(path: &Path) -> Result<(), EngineError> {
    use std::io::Read;
    let mut header = [0u8; 48];
    let mut file = std::fs::File::open(path).map_err(|error| {
        EngineError::Model(format!("cannot open model {}: {error}; see `verbatim models list`", path.display()))
    })?;
    let read = file.read(&mut header).unwrap_or(0);
    let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if read < header.len() || magic != 0x6767_6d6c {
        return Err(EngineError::Model(format!(
            "{} is not a whisper.cpp ggml model; use `verbatim models download NAME` or `verbatim models import DIR`",
            path.display()
        )));
    }
    Ok(())
}

fn silence_whisper_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

#[async_trait]
impl Engine for LocalEngine {
    fn name(&self) -> &str {
        "local"
    }

    async fn transcribe_file(
        &self,
        path: &Path,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let watcher = {
            let cancelled = cancelled.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                cancel.cancelled().await;
                cancelled.store(true, Ordering::Relaxed);
            })
        };
        // The model load and the inference block: they run where they cannot stall the runtime.
        let job = {
            let context = self.context.lock().ok().and_then(|slot| slot.clone());
            let config = self.config.clone();
            let path = path.to_path_buf();
            let options = options.clone();
            let sink = sink.clone();
            let cancelled = cancelled.clone();
            tokio::task::spawn_blocking(move || {
                let context = match context {
                    Some(context) => context,
                    None => Arc::new(load_model(&config.model_path)?),
                };
                let outcome = transcribe_blocking(&context, &config, &path, &options, &sink, &cancelled);
                outcome.map(|outcome| (outcome, context))
            })
        };
        let result = job.await;
        watcher.abort();
        match result {
            Ok(Ok((outcome, context))) => {
                if let Ok(mut slot) = self.context.lock() {
                    slot.get_or_insert(context);
                }
                Ok(outcome)
            }
            Ok(Err(error)) => Err(error),
            Err(join_error) => Err(EngineError::Inference(format!("the local engine crashed: {join_error}"))),
        }
    }
}

/// Everything that happens on the blocking thread.
fn transcribe_blocking(
    context: &WhisperContext,
    config: &LocalEngineConfig,
    path: &Path,
    options: &TranscribeOptions,
    sink: &EventSink,
    cancelled: &AtomicBool,
) -> Result<EngineOutcome, EngineError> {
    let mut reader = ChunkReader::open(path)?;
    let total_s = reader.info().duration_s;
    let channel_count = reader.info().channel_count;
    let per_channel = options.speakers == SpeakerMode::Stereo && channel_count >= 2;
    if options.speakers == SpeakerMode::Stereo && channel_count < 2 {
        sink.warning(format!("{} has one channel; speaker labels need one speaker per channel", path.display()));
    }
    let multilingual = context.is_multilingual();
    let mut language = resolve_language(options, multilingual, sink)?;
    if options.translate && !multilingual {
        sink.warning("this model is English-only and cannot translate; choose a multilingual model (e.g. base) to translate");
    }
    let stream_count = if per_channel { channel_count } else { 1 };
    let mut states: Vec<WhisperState> = (0..stream_count)
        .map(|_| context.create_state())
        .collect::<Result<_, _>>()
        .map_err(|error| EngineError::Inference(format!("whisper.cpp could not create a state: {error}")))?;
    let mut filters: Vec<SegmentFilter> = (0..stream_count).map(|_| SegmentFilter::default()).collect();
    let mut first_chunk = true;
    let mut duration_s = 0.0;

    while let Some(chunk) = reader.next_chunk(cancelled)? {
        if cancelled.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        duration_s = chunk.start_s + chunk.duration_s();
        let streams: Vec<Vec<f32>> = if per_channel { chunk.speaker_channels() } else { vec![chunk.mono()] };
        let mut chunk_segments: Vec<Segment> = Vec::new();
        for (stream_index, samples) in streams.iter().enumerate() {
            let active = vad::active_frames(&vad::frame_levels_dbfs(samples, vad::frame_len(crate::audio::ENGINE_SAMPLE_RATE_HZ)));
            if !active.iter().any(|&a| a) {
                continue; // nothing but silence: nothing to transcribe, nothing to invent
            }
            let speaker = per_channel.then(|| crate::speakers::channel_speaker_id(stream_index));
            let mut params = FullParams::new(if config.beam_size > 1 {
                SamplingStrategy::BeamSearch { beam_size: config.beam_size as i32, patience: -1.0 }
            } else {
                SamplingStrategy::Greedy { best_of: 1 }
            });
            configure(&mut params, options, language.as_deref(), first_chunk);
            let filter = &mut filters[stream_index];
            let chunk_start_s = chunk.start_s;
            let chunk_duration_s = chunk.duration_s();
            let mut on_segment = |decoded: DecodedSegment| {
                let segment = to_segment(&decoded, chunk_start_s, speaker.clone());
                if let Some(segment) = filter.accept(segment, decoded.no_speech_probability, &active, chunk_start_s) {
                    if per_channel {
                        chunk_segments.push(segment);
                    } else {
                        sink.segment(segment);
                    }
                }
            };
            let stream_share = 1.0 / streams.len() as f64;
            let mut on_progress = |fraction: f64| {
                let done_s = chunk_start_s + chunk_duration_s * (stream_index as f64 + fraction) * stream_share;
                sink.progress(done_s, total_s);
            };
            let state = &mut states[stream_index];
            match whisper_call::run_full(state, params, samples, cancelled, &mut on_segment, &mut on_progress) {
                Ok(()) => {}
                Err(CallError::Cancelled) => return Err(EngineError::Cancelled),
                Err(CallError::Failed(message)) => return Err(EngineError::Inference(message)),
            }
            if language.is_none() && multilingual {
                let id = state.full_lang_id_from_state();
                language = whisper_rs::get_lang_str(id).map(str::to_string);
            }
        }
        if per_channel {
            chunk_segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
            for segment in chunk_segments {
                sink.segment(segment);
            }
        }
        sink.progress(duration_s, total_s);
        first_chunk = false;
    }
    Ok(EngineOutcome { language: language.or_else(|| (!multilingual).then(|| "en".to_string())), duration_s: Some(duration_s) })
}

/// The language to ask whisper.cpp for: `None` means detect it.
fn resolve_language(options: &TranscribeOptions, multilingual: bool, sink: &EventSink) -> Result<Option<String>, EngineError> {
    let requested = options.language.as_deref().map(str::trim).filter(|l| !l.is_empty() && *l != "auto");
    match requested {
        None if multilingual => Ok(None),
        None => Ok(Some("en".to_string())),
        Some(code) => {
            let code = code.to_ascii_lowercase();
            if whisper_rs::get_lang_id(&code).is_none() {
                return Err(EngineError::Inference(format!(
                    "unknown language '{code}'; use a two-letter code such as en, de, fr, or auto"
                )));
            }
            if !multilingual && code != "en" {
                sink.warning(format!("this model is English-only; '{code}' audio needs a multilingual model (e.g. base)"));
                return Ok(Some("en".to_string()));
            }
            Ok(Some(code))
        }
    }
}

fn configure(params: &mut FullParams, options: &TranscribeOptions, language: Option<&str>, first_chunk: bool) {
    params.set_n_threads(options.threads.max(1) as i32);
    params.set_translate(options.translate);
    params.set_language(Some(language.unwrap_or("auto")));
    params.set_no_context(false);
    params.set_token_timestamps(true);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    params.set_suppress_blank(true);
    params.set_suppress_nst(true);
    params.set_no_speech_thold(0.6);
    params.set_logprob_thold(-1.0);
    params.set_entropy_thold(2.4);
    params.set_temperature(0.0);
    params.set_temperature_inc(0.2);
    if first_chunk {
        if let Some(prompt) = options.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
            params.set_initial_prompt(prompt);
        }
    }
}

fn to_segment(decoded: &DecodedSegment, chunk_start_s: f64, speaker: Option<String>) -> Segment {
    let words = words::words_from_tokens(&decoded.tokens, chunk_start_s);
    Segment {
        start_s: chunk_start_s + decoded.start_s,
        end_s: chunk_start_s + decoded.end_s.max(decoded.start_s),
        text: decoded.text.trim().to_string(),
        speaker,
        words,
    }
}

impl AudioChunk {
    /// Each channel with the other channels' bleed muted, for per-speaker transcription.
    fn speaker_channels(&self) -> Vec<Vec<f32>> {
        let mut channels = self.channels.clone();
        crate::speakers::mute_bleed(&mut channels, vad::frame_len(crate::audio::ENGINE_SAMPLE_RATE_HZ));
        channels
    }
}
