//! Decoding one stretch of live audio inside the worker: a phrase that ended, or the part of
//! the open phrase spoken so far (a draft, shown as the hypothesis).
//!
//! whisper.cpp's encoder always runs over a 30-second window; a phrase of three seconds
//! would pay for ten times the audio it has. `audio_ctx` cuts the window down to the phrase
//! (plus a margin the parent chooses), which is what makes live decoding fast enough.

use super::cleanup::SegmentFilter;
use super::pipeline;
use super::whisper_call::{self, CallError, DecodedSegment};
use super::LocalEngineConfig;
use crate::audio::ENGINE_SAMPLE_RATE_HZ;
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::{EventSink, Segment};
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;
use whisper_rs::{WhisperContext, WhisperState};

/// Encoder positions per second of audio (1500 for whisper's 30-second window).
pub const AUDIO_CTX_PER_S: f64 = 50.0;
/// The full window.
pub const FULL_AUDIO_CTX: u32 = 1500;
/// whisper.cpp decodes nothing from less than a second of audio; shorter phrases are padded
/// with silence to this length.
const MIN_DECODE_S: f64 = 1.2;

/// A phrase to decode. Its samples (16 kHz mono, little-endian `f32`) follow the request
/// line on the worker's stdin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhraseJob {
    pub config: LocalEngineConfig,
    pub options: TranscribeOptions,
    /// Where the phrase starts in the recording.
    pub start_s: f64,
    pub sample_count: usize,
    /// Voice activity of the phrase, one flag per [`crate::vad::FRAME_S`] (the live cutter's
    /// own decisions), used to drop text whisper.cpp invents over its silent parts.
    pub active: Vec<bool>,
    /// The encoder window in positions of 20 ms; [`FULL_AUDIO_CTX`] is whisper's 30 s.
    pub audio_ctx: u32,
    /// Text said just before, to carry style and names across phrases.
    pub prompt: Option<String>,
    /// A draft of an open phrase: text only, one segment, no timestamps, no fallback.
    pub draft: bool,
}

/// What a phrase gave.
pub struct PhraseDecoded {
    pub segments: Vec<Segment>,
    /// The language whisper.cpp heard, when it detected one.
    pub language: Option<String>,
}

/// The encoder window for `duration_s` of audio with `margin_s` more, at least `min_ctx`.
pub fn audio_ctx_for(duration_s: f64, margin_s: f64, min_ctx: u32) -> u32 {
    let wanted = ((duration_s.max(MIN_DECODE_S) + margin_s.max(0.0)) * AUDIO_CTX_PER_S).ceil() as u32;
    wanted.max(min_ctx).min(FULL_AUDIO_CTX)
}

/// Decodes one phrase on `state`. Segment times are positions in the recording, inside the
/// phrase.
pub fn decode_phrase(
    context: &WhisperContext,
    state: &mut WhisperState,
    job: &PhraseJob,
    samples: &[f32],
    sink: &EventSink,
    cancelled: &AtomicBool,
) -> Result<PhraseDecoded, EngineError> {
    let multilingual = context.is_multilingual();
    let mut language = pipeline::resolve_language(&job.options, multilingual, sink)?;
    let mut padded = samples.to_vec();
    let min_len = (MIN_DECODE_S * ENGINE_SAMPLE_RATE_HZ as f64) as usize;
    if padded.len() < min_len {
        padded.resize(min_len, 0.0);
    }
    let mut params = pipeline::new_params(&job.config);
    pipeline::configure(&mut params, &job.options, language.as_deref(), false);
    // Conditioning is explicit (the parent's prompt), never the state's memory of drafts.
    params.set_no_context(true);
    let prompt = job.prompt.as_deref().map(|p| p.replace('\0', "")).filter(|p| !p.trim().is_empty());
    if let Some(prompt) = prompt.as_deref() {
        params.set_initial_prompt(prompt);
    }
    params.set_audio_ctx(job.audio_ctx.clamp(1, FULL_AUDIO_CTX) as i32);
    // One pass over the window: otherwise whisper.cpp seeks to its last timestamp and runs the
    // encoder again over the silent end of the phrase, where it invents text (measured:
    // "And so my fellow Americans." twice). One segment, then, bounded in tokens so a
    // decoder that loops stops.
    params.set_single_segment(true);
    params.set_max_tokens(max_tokens_for(samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64));
    if job.draft {
        params.set_no_timestamps(true);
        params.set_token_timestamps(false);
        params.set_temperature_inc(0.0);
    }
    let phrase_end_s = job.start_s + samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
    let mut filter = SegmentFilter::default();
    let mut segments = Vec::new();
    let mut on_segment = |decoded: DecodedSegment| {
        let speech = super::words::Speech { active: &job.active, start_s: job.start_s };
        let segment = pipeline::to_segment(&decoded, job.start_s, None, speech);
        let kept = if job.draft {
            Some(segment).filter(|s| s.text.chars().any(char::is_alphanumeric))
        } else {
            filter.accept(segment, decoded.no_speech_probability, &job.active, job.start_s)
        };
        segments.extend(kept.map(|segment| fit_to_phrase(segment, job.start_s, phrase_end_s)));
    };
    match whisper_call::run_full(state, params, &padded, cancelled, &mut on_segment, &mut |_| {}) {
        Ok(()) => {}
        Err(CallError::Cancelled) => return Err(EngineError::Cancelled),
        Err(CallError::Failed(message)) => return Err(EngineError::Inference(message)),
    }
    if language.is_none() && multilingual {
        language = whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_string);
    }
    Ok(PhraseDecoded { segments, language: language.or_else(|| (!multilingual).then(|| "en".to_string())) })
}

/// Most tokens a phrase may give: far more than anyone says in that time (about 3 words,
/// 4 tokens a second), far fewer than a decoder stuck in a loop produces.
fn max_tokens_for(duration_s: f64) -> i32 {
    (10.0 * duration_s.max(MIN_DECODE_S)).ceil() as i32 + 16
}

/// Keeps a segment and its words inside the phrase, the segment spanning its words (one
/// segment spans the whole window, padding included).
fn fit_to_phrase(mut segment: Segment, start_s: f64, end_s: f64) -> Segment {
    let clamp = |t: f64| t.clamp(start_s, end_s);
    for word in &mut segment.words {
        word.start_s = clamp(word.start_s);
        word.end_s = clamp(word.end_s).max(word.start_s);
    }
    if let (Some(first), Some(last)) = (segment.words.first(), segment.words.last()) {
        segment.start_s = first.start_s;
        segment.end_s = last.end_s;
    }
    segment.start_s = clamp(segment.start_s);
    segment.end_s = clamp(segment.end_s).max(segment.start_s);
    segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_follows_the_phrase_length_within_the_window() {
        assert_eq!(audio_ctx_for(4.0, 1.0, 0), 250);
        assert_eq!(audio_ctx_for(0.3, 0.0, 0), 60, "short phrases are padded to the minimum");
        assert_eq!(audio_ctx_for(4.0, 0.0, 384), 384);
        assert_eq!(audio_ctx_for(40.0, 1.0, 0), FULL_AUDIO_CTX);
    }
}
