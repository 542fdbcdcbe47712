//! The transcription pipeline of the local engine, run inside the worker process:
//! decode → chunks → voice activity → whisper.cpp → filters → events.

use super::chunks::{AudioChunk, ChunkReader};
use super::cleanup::SegmentFilter;
use super::whisper_call::{self, CallError, DecodedSegment};
use super::{LocalEngineConfig, words};
use crate::engine::{EngineError, EngineOutcome, SpeakerMode, TranscribeOptions};
use crate::events::{EventSink, Segment};
use crate::vad;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperState};

/// Everything that happens on the blocking thread.
pub fn transcribe_blocking(
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
    let multilingual = context.is_multilingual();
    warn_about_options(path, options, channel_count, multilingual, sink);
    let mut language = resolve_language(options, multilingual, sink)?;
    let stream_count = if per_channel { channel_count } else { 1 };
    let mut states = create_states(context, stream_count)?;
    let mut filters: Vec<SegmentFilter> = (0..stream_count).map(|_| SegmentFilter::default()).collect();
    let mut first_chunk = true;
    let mut duration_s = 0.0;
    // With speakers told apart by voice, segments wait until the whole recording is heard.
    let mut labelling = SpeakerLabelling::start(options)?;
    let hold_segments = per_channel || labelling.is_some();

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
            if let Some(labelling) = labelling.as_mut() {
                labelling.diarizer.add_chunk_with_activity(samples, chunk.start_s, &active);
            }
            let speaker = per_channel.then(|| crate::speakers::channel_speaker_id(stream_index));
            let mut params = new_params(config);
            configure(&mut params, options, language.as_deref(), first_chunk);
            let filter = &mut filters[stream_index];
            let chunk_start_s = chunk.start_s;
            let chunk_duration_s = chunk.duration_s();
            let mut on_segment = |decoded: DecodedSegment| {
                let segment = to_segment(&decoded, chunk_start_s, speaker.clone());
                if let Some(segment) = filter.accept(segment, decoded.no_speech_probability, &active, chunk_start_s) {
                    if hold_segments {
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
        release_held_segments(labelling.as_mut(), per_channel, chunk_segments, sink);
        sink.progress(duration_s, total_s);
        first_chunk = false;
    }
    if let Some(labelling) = labelling {
        labelling.finish(options, sink);
    }
    Ok(EngineOutcome { language: language.or_else(|| (!multilingual).then(|| "en".to_string())), duration_s: Some(duration_s) })
}

/// Warns about options this file or model cannot honour (the transcription goes on).
fn warn_about_options(path: &Path, options: &TranscribeOptions, channel_count: usize, multilingual: bool, sink: &EventSink) {
    if options.speakers == SpeakerMode::Stereo && channel_count < 2 {
        sink.warning(format!("{} has one channel; speaker labels need one speaker per channel", path.display()));
    }
    if options.translate && !multilingual {
        sink.warning("this model is English-only and cannot translate; choose a multilingual model (e.g. base) to translate");
    }
}

/// One whisper.cpp state per stream decoded (a channel each with stereo speakers).
fn create_states(context: &WhisperContext, stream_count: usize) -> Result<Vec<WhisperState>, EngineError> {
    (0..stream_count)
        .map(|_| context.create_state())
        .collect::<Result<_, _>>()
        .map_err(|error| EngineError::Inference(format!("whisper.cpp could not create a state: {error}")))
}

/// The segments of one chunk that waited: kept for the speaker labels (by voice), or sent in
/// time order (one speaker per channel). Without either, segments were sent as decoded.
fn release_held_segments(
    labelling: Option<&mut SpeakerLabelling>,
    per_channel: bool,
    mut chunk_segments: Vec<Segment>,
    sink: &EventSink,
) {
    if let Some(labelling) = labelling {
        labelling.held.append(&mut chunk_segments);
    } else if per_channel {
        chunk_segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        for segment in chunk_segments {
            sink.segment(segment);
        }
    }
}

/// Speakers told apart by voice ([`SpeakerMode::Auto`]): the voices of every chunk, and the
/// segments that wait for their labels.
struct SpeakerLabelling {
    diarizer: crate::diarize::Diarizer,
    held: Vec<Segment>,
}

impl SpeakerLabelling {
    fn start(options: &TranscribeOptions) -> Result<Option<SpeakerLabelling>, EngineError> {
        if options.speakers != SpeakerMode::Auto {
            return Ok(None);
        }
        let model_error = |error: crate::diarize::SpeakerModelError| EngineError::Model(error.to_string());
        let model_path = crate::diarize::locate_speaker_model().map_err(model_error)?;
        let diarizer = crate::diarize::Diarizer::load(&model_path, options.threads.max(1)).map_err(model_error)?;
        Ok(Some(SpeakerLabelling { diarizer, held: Vec::new() }))
    }

    /// Labels the held segments (split where the speaker changes) and sends them.
    fn finish(self, options: &TranscribeOptions, sink: &EventSink) {
        let turns = self.diarizer.turns(options.speaker_bounds);
        for segment in crate::diarize::label_segments(self.held, &turns) {
            sink.segment(segment);
        }
    }
}

/// Greedy or beam-search parameters, as the configuration asks.
pub(super) fn new_params<'a, 'b>(config: &LocalEngineConfig) -> FullParams<'a, 'b> {
    FullParams::new(if config.beam_size > 1 {
        SamplingStrategy::BeamSearch { beam_size: config.beam_size as i32, patience: -1.0 }
    } else {
        SamplingStrategy::Greedy { best_of: 1 }
    })
}

/// The language to ask whisper.cpp for: `None` means detect it.
pub(super) fn resolve_language(options: &TranscribeOptions, multilingual: bool, sink: &EventSink) -> Result<Option<String>, EngineError> {
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

pub(super) fn configure<'a>(params: &mut FullParams<'a, '_>, options: &TranscribeOptions, language: Option<&'a str>, first_chunk: bool) {
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

pub(super) fn to_segment(decoded: &DecodedSegment, chunk_start_s: f64, speaker: Option<String>) -> Segment {
    let words = words::words_from_tokens(&decoded.tokens, chunk_start_s);
    Segment {
        revision_key: None,
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
