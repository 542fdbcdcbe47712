//! The transcription pipeline of the local engine, run inside the worker process:
//! decode → chunks → voice activity → windows (and their languages) → whisper.cpp → words
//! → segments → filters → events.
//!
//! Each window of at most 30 seconds ([`windows`]) is one whisper.cpp call, decoded as a
//! single piece of text whose words are then cut into segments ([`segments`]). Before its
//! segments are sent, a window's text is checked against the speech in it: where speech is
//! left without words, or the text is doubtful, the window is decoded once more without the
//! text before it as context (what makes a decoder repeat itself, or carry one language into
//! another); what stays empty is reported as a warning with its time range. So nothing said
//! over real sound disappears without trace.

use super::chunks::ChunkReader;
use super::cleanup::SegmentFilter;
use super::english_only::EnglishOnlyCheck;
use super::language;
use super::lanes;
use super::segments;
use super::whisper_call::{self, CallError, DecodedSegment};
use super::windows;
use super::words::{self, Speech};
use super::LocalEngineConfig;
use crate::engine::{EngineError, EngineOutcome, SpeakerMode, TranscribeOptions};
use crate::events::{EventSink, Segment};
use crate::units::clock;
use crate::vad;
use std::collections::BTreeMap;
use std::ops::Range;
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
    let fixed_language = resolve_language(options, multilingual, sink)?;
    let mut english_only = EnglishOnlyCheck::start(&config.model_path, config.language_detector.as_deref(), options, multilingual, sink);
    let stream_count = if per_channel { channel_count } else { 1 };
    let mut decoders = (0..stream_count)
        .map(|index| {
            let speaker = per_channel.then(|| crate::speakers::channel_speaker_id(index));
            StreamDecoder::new(context, config, options, fixed_language.clone(), speaker, cancelled)
        })
        .collect::<Vec<_>>();
    // With speakers told apart by voice, segments wait until the whole recording is heard.
    let mut held = HeldSegments::start(options, per_channel)?;
    let mut duration_s = 0.0;
    let decoded = (|| -> Result<(), EngineError> {
        while let Some(chunk) = reader.next_chunk(cancelled)? {
            if cancelled.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let (chunk_start_s, chunk_duration_s) = (chunk.start_s, chunk.duration_s());
            duration_s = chunk_start_s + chunk_duration_s;
            // The chunk's samples become the streams (no second copy of minutes of audio).
            let streams: Vec<Vec<f32>> = if per_channel { chunk.into_speaker_channels() } else { vec![chunk.into_mono()] };
            let activities: Vec<StreamActivity> = streams.iter().map(|samples| StreamActivity::of(samples)).collect();
            if let Some(check) = english_only.as_mut() {
                check.listen(&streams[0], &activities[0].levels, &activities[0].active, chunk_start_s, sink);
            }
            let stream_share = 1.0 / streams.len() as f64;
            for (stream_index, (samples, activity)) in streams.iter().zip(&activities).enumerate() {
                let holding = held.holds();
                let mut emit = |segment: Segment| {
                    if holding {
                        held.segments.push(segment);
                    } else {
                        sink.segment(segment);
                    }
                };
                let mut on_progress = |fraction: f64| {
                    let done_s = chunk_start_s + chunk_duration_s * (stream_index as f64 + fraction) * stream_share;
                    sink.progress(done_s, total_s);
                };
                let diarizer = held.diarizer.as_mut();
                decoders[stream_index].decode_chunk(samples, activity, chunk_start_s, diarizer, sink, &mut emit, &mut on_progress)?;
                decoders[stream_index].end_chunk();
            }
            held.end_chunk(sink);
            sink.progress(duration_s, total_s);
        }
        Ok(())
    })();
    // Stopped or not, every segment decoded reaches the sink (labelled by what was heard).
    held.release(options, sink);
    decoded?;
    let language = main_language(&decoders).or(fixed_language);
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

/// Segments that wait before they are sent: with speakers told apart by voice
/// ([`SpeakerMode::Auto`]) every segment until the end, when the voices of the whole
/// recording label them; with one speaker per channel, a chunk's segments until its end,
/// sent in time order. Without either nothing waits. Whatever ends the decoding — the end,
/// a cancel, an error — [`release`](Self::release) sends what waits, so no text is lost.
struct HeldSegments {
    /// The voices of every chunk, with labels by voice.
    diarizer: Option<crate::diarize::Diarizer>,
    per_channel: bool,
    segments: Vec<Segment>,
}

impl HeldSegments {
    fn start(options: &TranscribeOptions, per_channel: bool) -> Result<HeldSegments, EngineError> {
        let diarizer = if options.speakers == SpeakerMode::Auto {
            let model_error = |error: crate::diarize::SpeakerModelError| EngineError::Model(error.to_string());
            let model_path = crate::diarize::locate_speaker_model().map_err(model_error)?;
            Some(crate::diarize::Diarizer::load(&model_path, options.threads.max(1)).map_err(model_error)?)
        } else {
            None
        };
        Ok(HeldSegments { diarizer, per_channel, segments: Vec::new() })
    }

    fn holds(&self) -> bool {
        self.per_channel || self.diarizer.is_some()
    }

    /// A chunk is done: with one speaker per channel its segments go, in time order.
    fn end_chunk(&mut self, sink: &EventSink) {
        if self.diarizer.is_none() && self.per_channel {
            self.send_in_time_order(sink);
        }
    }

    /// Sends every waiting segment: labelled by the voices heard so far (split where the
    /// speaker changes), or in time order.
    fn release(mut self, options: &TranscribeOptions, sink: &EventSink) {
        match self.diarizer.take() {
            Some(diarizer) => {
                let turns = diarizer.turns(options.speaker_bounds);
                for segment in crate::diarize::label_segments(std::mem::take(&mut self.segments), &turns) {
                    sink.segment(segment);
                }
            }
            None => self.send_in_time_order(sink),
        }
    }

    fn send_in_time_order(&mut self, sink: &EventSink) {
        self.segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        for segment in self.segments.drain(..) {
            sink.segment(segment);
        }
    }
}

/// The language most of the speech was transcribed in, if any was.
fn main_language(decoders: &[StreamDecoder]) -> Option<String> {
    let mut seconds: BTreeMap<&str, f64> = BTreeMap::new();
    for (language, s) in decoders.iter().flat_map(|d| d.seconds_by_language.iter()) {
        *seconds.entry(language.as_str()).or_default() += s;
    }
    seconds.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(language, _)| language.to_string())
}

/// The voice activity of one stream's chunk, worked out once for everything that listens to it.
struct StreamActivity {
    /// Loudness per VAD frame (dBFS).
    levels: Vec<f32>,
    active: Vec<bool>,
}

impl StreamActivity {
    fn of(samples: &[f32]) -> StreamActivity {
        let levels = vad::frame_levels_dbfs(samples, vad::frame_len(crate::audio::ENGINE_SAMPLE_RATE_HZ));
        let active = vad::active_frames(&levels);
        StreamActivity { levels, active }
    }
}

/// What decoding a window gives, in the order it is to be sent.
enum LaneEvent {
    Segment(Segment),
    /// Speech (file seconds) left without words.
    Uncovered(f64, f64),
    /// The share of the chunk decoded so far.
    Progress(f64),
}

/// What one attempt at a window gave, and how much of it is in doubt.
struct Attempt {
    segments: Vec<Segment>,
    /// Speech (in file seconds) that no word covers.
    uncovered: Vec<(f64, f64)>,
    filter_after: SegmentFilter,
}

impl Attempt {
    /// Seconds of speech without words, plus seconds of doubtful text.
    fn doubt_s(&self) -> f64 {
        let uncovered: f64 = self.uncovered.iter().map(|(a, b)| b - a).sum();
        let doubtful: f64 = self.segments.iter().filter(|s| s.low_confidence).map(|s| s.end_s - s.start_s).sum();
        uncovered + doubtful
    }
}

/// One audio stream (the mix, or one speaker's channel) through whisper.cpp, window by window,
/// with the text so far as context.
///
/// A whisper.cpp state lives for one chunk: its buffers (about 200 MB with tiny.en) are given
/// back between chunks, so that nothing else the job loads for a moment (the English-only
/// check's detector, the next channel's state) adds to them. The text it was conditioned on
/// is carried to the next chunk's state as tokens, so the context is the same as one state's.
/// With [`TranscribeOptions::parallel_decoders`] the chunk's second half goes to a partner
/// decoder on a thread of its own ([`lanes`]); the next chunk goes on from the partner's context.
struct StreamDecoder<'a> {
    context: &'a WhisperContext,
    config: &'a LocalEngineConfig,
    options: &'a TranscribeOptions,
    cancelled: &'a AtomicBool,
    /// whisper.cpp's threads for each call (fewer than the options' while a chunk is split
    /// between two decoders: [`lanes`]).
    threads: usize,
    /// The state of the chunk being decoded; `None` between chunks.
    state: Option<WhisperState>,
    /// The text tokens decoded so far (at most [`HISTORY_MAX_TOKENS`]), what whisper.cpp
    /// conditions the next window on.
    history: Vec<i32>,
    /// Whether `state` was given `history` yet (a new state starts without it).
    history_given: bool,
    /// `None`: detect per window.
    fixed_language: Option<String>,
    speaker: Option<String>,
    filter: SegmentFilter,
    /// The language of the last window decoded; a change starts without context.
    last_language: Option<String>,
    prompt_pending: bool,
    seconds_by_language: BTreeMap<String, f64>,
}

/// The most text tokens of what came before that a window is conditioned on (about 45
/// words). whisper.cpp would take up to half its text context (224), but it computes the
/// vocabulary's logits for every token of that prompt, each window: on a 10.4-minute
/// recording (tiny.en q8_0, 2 threads, alternating runs) 224 tokens took a median 34.6 s and
/// 336 MB, 64 tokens 30.1 s and 288 MB, with the same words (punctuation differs at 6
/// sentence ends). The user's prompt, when a window is given it, may use the whole half.
const HISTORY_MAX_TOKENS: usize = 64;
/// The most tokens of a window's prompt when it starts with the user's prompt.
const PROMPTED_MAX_TOKENS: usize = 224;

/// A new whisper.cpp state on `context`.
pub(super) fn create_state(context: &WhisperContext) -> Result<WhisperState, EngineError> {
    context.create_state().map_err(|error| EngineError::Inference(format!("whisper.cpp could not create a state: {error}")))
}

/// The chunk's state in `slot`, made when the chunk's first call needs it (then it has not
/// been given the history yet).
fn chunk_state<'s>(slot: &'s mut Option<WhisperState>, context: &WhisperContext, history_given: &mut bool) -> Result<&'s mut WhisperState, EngineError> {
    let state = match slot.take() {
        Some(state) => state,
        None => {
            *history_given = false;
            create_state(context)?
        }
    };
    Ok(slot.insert(state))
}

impl<'a> StreamDecoder<'a> {
    fn new(
        context: &'a WhisperContext,
        config: &'a LocalEngineConfig,
        options: &'a TranscribeOptions,
        fixed_language: Option<String>,
        speaker: Option<String>,
        cancelled: &'a AtomicBool,
    ) -> StreamDecoder<'a> {
        StreamDecoder {
            context,
            config,
            options,
            cancelled,
            threads: options.threads.max(1),
            state: None,
            history: Vec::new(),
            history_given: false,
            fixed_language,
            speaker,
            filter: SegmentFilter::default(),
            last_language: None,
            prompt_pending: true,
            seconds_by_language: BTreeMap::new(),
        }
    }

    /// Gives the chunk's state back (its buffers), once the chunk is decoded.
    fn end_chunk(&mut self) {
        self.state = None;
    }

    /// Decodes one chunk (`samples` starting at `chunk_start_s` in the file).
    fn decode_chunk(
        &mut self,
        samples: &[f32],
        activity: &StreamActivity,
        chunk_start_s: f64,
        diarizer: Option<&mut crate::diarize::Diarizer>,
        sink: &EventSink,
        emit: &mut dyn FnMut(Segment),
        on_progress: &mut dyn FnMut(f64),
    ) -> Result<(), EngineError> {
        let StreamActivity { levels, active } = activity;
        if !active.iter().any(|&a| a) {
            return Ok(()); // nothing but silence: nothing to transcribe, nothing to invent
        }
        if let Some(diarizer) = diarizer {
            diarizer.add_chunk_with_sound(samples, chunk_start_s, active);
        }
        let windows = windows::plan_windows(active, levels);
        let spans = match self.fixed_language.clone() {
            Some(code) => windows.into_iter().map(|window| (window, code.clone())).collect(),
            None => {
                let threads = self.threads;
                let state = chunk_state(&mut self.state, self.context, &mut self.history_given)?;
                language::plan(&active, &windows, |range| language::detect(state, &samples[sample_range(&range, samples.len())], threads))?
            }
        };
        let speech = Speech { active, start_s: chunk_start_s };
        let mut deliver = |event: LaneEvent| match event {
            LaneEvent::Segment(segment) => emit(segment),
            LaneEvent::Uncovered(start_s, end_s) => {
                sink.warning(format!(
                    "no text for the sound at {}–{}: if someone speaks there, try a larger model or name the language",
                    clock(start_s),
                    clock(end_s)
                ));
            }
            LaneEvent::Progress(fraction) => on_progress(fraction),
        };
        let split = if self.options.parallel_decoders { lanes::split_index(&spans, active, self.threads) } else { spans.len() };
        let (first, second) = spans.split_at(split);
        if second.is_empty() {
            return self.decode_spans(samples, speech, first, &mut deliver);
        }
        // The second half on a state and thread of its own; what it decodes is sent once the
        // first half's is (and sent even if the first half stops short: nothing decoded is lost).
        let (first_threads, second_threads) = lanes::lane_threads(self.threads);
        let mut partner = self.partner(second_threads);
        let own_threads = std::mem::replace(&mut self.threads, first_threads);
        let mut later = Vec::new();
        let (first_result, second_result) = std::thread::scope(|scope| {
            let second_lane = scope.spawn(|| partner.decode_spans(samples, speech, second, &mut |event| later.push(event)));
            let first_result = self.decode_spans(samples, speech, first, &mut deliver);
            (first_result, second_lane.join())
        });
        self.threads = own_threads;
        later.into_iter().for_each(&mut deliver);
        let second_result = second_result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        first_result.and(second_result)?;
        self.continue_from(partner);
        Ok(())
    }

    /// Decodes `spans` one after the other, reporting what each gives.
    fn decode_spans(&mut self, samples: &[f32], speech: Speech, spans: &[(Range<usize>, String)], report: &mut dyn FnMut(LaneEvent)) -> Result<(), EngineError> {
        for (span, code) in spans {
            if self.cancelled.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            if !windows::has_speech(speech.active, span) {
                continue;
            }
            let attempt = self.decode_span(samples, speech, span.clone(), code)?;
            for &(start_s, end_s) in &attempt.uncovered {
                report(LaneEvent::Uncovered(start_s, end_s));
            }
            for segment in attempt.segments {
                *self.seconds_by_language.entry(code.clone()).or_default() += segment.end_s - segment.start_s;
                report(LaneEvent::Segment(segment));
            }
            report(LaneEvent::Progress(span.end as f64 / speech.active.len() as f64));
        }
        Ok(())
    }

    /// A decoder for the second half of a chunk, with `threads` of its own: a state of its
    /// own, and no context before it but the user's prompt.
    fn partner(&self, threads: usize) -> StreamDecoder<'a> {
        let mut partner = StreamDecoder::new(self.context, self.config, self.options, self.fixed_language.clone(), self.speaker.clone(), self.cancelled);
        partner.threads = threads;
        partner
    }

    /// The next chunk goes on from where `partner` (the second half) ended: its context, its
    /// repeat rule, its language; the seconds of each language count both halves.
    fn continue_from(&mut self, partner: StreamDecoder<'a>) {
        self.history = partner.history;
        self.history_given = false;
        self.filter = partner.filter;
        self.last_language = partner.last_language;
        for (language, seconds) in partner.seconds_by_language {
            *self.seconds_by_language.entry(language).or_default() += seconds;
        }
    }

    /// Decodes one span; when its text is doubtful, decodes it again without context and
    /// keeps the better attempt; then, while speech is left without words, decodes again from
    /// there (as whisper.cpp would have sought to, had the window not been one piece).
    fn decode_span(&mut self, samples: &[f32], speech: Speech, span: Range<usize>, code: &str) -> Result<Attempt, EngineError> {
        let language_changed = self.last_language.as_deref().is_some_and(|last| last != code);
        self.last_language = Some(code.to_string());
        let start_filter = self.filter.clone();
        let mut best = self.attempt(samples, speech, span.clone(), code, language_changed, start_filter.clone())?;
        if best.doubt_s() > 0.0 && !language_changed {
            let retry = self.attempt(samples, speech, span.clone(), code, true, start_filter)?;
            if retry.doubt_s() < best.doubt_s() {
                best = retry;
            }
        }
        for _ in 0..MAX_REPAIRS {
            let Some(&(gap_start_s, _)) = best.uncovered.first() else { break };
            let from = frame_at(speech, gap_start_s - REPAIR_LEAD_S).max(span.start);
            if from <= span.start {
                break; // the whole span was tried already
            }
            let kept: Vec<Segment> = best.segments.iter().filter(|s| s.end_s <= gap_start_s + vad::FRAME_S).cloned().collect();
            // The repeat rule sees the text kept so far, as it would have in one pass.
            let mut filter = self.filter.clone();
            for segment in &kept {
                let _ = filter.accept(segment.clone(), 0.0, speech.active, speech.start_s);
            }
            let rest = self.attempt(samples, speech, from..span.end, code, true, filter)?;
            let mut segments = kept;
            segments.extend(rest.segments);
            let uncovered = segments::uncovered_speech(speech.active, speech.start_s, span.clone(), &segments);
            let total = |stretches: &[(f64, f64)]| stretches.iter().map(|(a, b)| b - a).sum::<f64>();
            if total(&uncovered) >= total(&best.uncovered) {
                break;
            }
            best = Attempt { segments, uncovered, filter_after: rest.filter_after };
        }
        self.filter = best.filter_after.clone();
        Ok(best)
    }

    fn attempt(
        &mut self,
        samples: &[f32],
        speech: Speech,
        span: Range<usize>,
        code: &str,
        fresh: bool,
        mut filter: SegmentFilter,
    ) -> Result<Attempt, EngineError> {
        let mut params = new_params(self.config);
        // The user's prompt starts the text, and starts it again wherever context is dropped.
        let prompted = configure(&mut params, self.options, Some(code), self.prompt_pending || fresh);
        params.set_n_threads(self.threads as i32);
        params.set_n_max_text_ctx(if prompted { PROMPTED_MAX_TOKENS } else { HISTORY_MAX_TOKENS } as i32);
        // One pass of the encoder per window: without this whisper.cpp seeks to its last
        // timestamp and runs the encoder again over the pause the window ends in.
        params.set_single_segment(true);
        params.set_no_context(fresh);
        let span_start_s = speech.start_s + span.start as f64 * vad::FRAME_S;
        let mut decoded: Vec<DecodedSegment> = Vec::new();
        let window = &samples[sample_range(&span, samples.len())];
        let state = chunk_state(&mut self.state, self.context, &mut self.history_given)?;
        // A new state is given the text the last one was conditioned on.
        if !self.history_given && !fresh && !self.history.is_empty() {
            params.set_tokens(&self.history);
        }
        match whisper_call::run_full(state, params, window, self.cancelled, &mut |segment| decoded.push(segment), &mut |_| {}) {
            Ok(()) => {}
            Err(CallError::Cancelled) => return Err(EngineError::Cancelled),
            Err(CallError::Failed(message)) => return Err(EngineError::Inference(message)),
        }
        self.prompt_pending = false;
        self.remember_history(&decoded, fresh);
        let template = Segment { language: Some(code.to_string()), speaker: self.speaker.clone(), ..Segment::default() };
        let mut kept = Vec::new();
        for piece in decoded {
            let words = words::words_from_tokens(&piece.tokens, span_start_s, None, speech);
            let pieces = segments::split_into_segments(words, &template);
            kept.extend(filter.accept_piece(pieces, piece.no_speech_probability, speech.active, speech.start_s));
        }
        let uncovered = segments::uncovered_speech(speech.active, speech.start_s, span, &kept);
        Ok(Attempt { segments: kept, uncovered, filter_after: filter })
    }

    /// Keeps what whisper.cpp now conditions on: the tokens just decoded, after the history
    /// before them unless the call started without context.
    fn remember_history(&mut self, decoded: &[DecodedSegment], fresh: bool) {
        if fresh {
            self.history.clear();
        }
        self.history.extend(decoded.iter().flat_map(|segment| segment.tokens.iter().map(|token| token.id)));
        let excess = self.history.len().saturating_sub(HISTORY_MAX_TOKENS);
        self.history.drain(..excess);
        self.history_given = true;
    }
}

/// How many times a span is decoded again from where its speech was left without words.
const MAX_REPAIRS: usize = 2;
/// How far before speech left empty a repair starts, so its first word is whole.
const REPAIR_LEAD_S: f64 = 0.3;

/// The frame of `speech` at `time_s` (in the file).
fn frame_at(speech: Speech, time_s: f64) -> usize {
    (((time_s - speech.start_s) / vad::FRAME_S).max(0.0) as usize).min(speech.active.len())
}

/// The samples of a frame range.
pub(super) fn sample_range(frames: &Range<usize>, sample_count: usize) -> Range<usize> {
    let frame_len = vad::frame_len(crate::audio::ENGINE_SAMPLE_RATE_HZ);
    (frames.start * frame_len).min(sample_count)..(frames.end * frame_len).min(sample_count)
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

/// Sets what every call shares; with `first_chunk`, starts the text with the user's prompt.
/// Returns whether it did.
pub(super) fn configure<'a>(params: &mut FullParams<'a, '_>, options: &TranscribeOptions, language: Option<&'a str>, first_chunk: bool) -> bool {
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
    let prompt = options.prompt.as_deref().filter(|p| first_chunk && !p.trim().is_empty());
    if let Some(prompt) = prompt {
        params.set_initial_prompt(prompt);
    }
    prompt.is_some()
}

/// A phrase's segment (live decoding): words aligned and fitted to `speech`, the segment
/// spanning them.
pub(super) fn to_segment(decoded: &DecodedSegment, chunk_start_s: f64, speaker: Option<String>, speech: Speech) -> Segment {
    let words = words::words_from_tokens(&decoded.tokens, chunk_start_s, None, speech);
    let (start_s, end_s) = match (words.first(), words.last()) {
        (Some(first), Some(last)) => (first.start_s, last.end_s),
        _ => (chunk_start_s + decoded.start_s, chunk_start_s + decoded.end_s.max(decoded.start_s)),
    };
    Segment { start_s, end_s, text: decoded.text.trim().to_string(), speaker, words, ..Segment::default() }
}

impl super::chunks::AudioChunk {
    /// Each channel with the other channels' bleed muted, for per-speaker transcription.
    fn into_speaker_channels(self) -> Vec<Vec<f32>> {
        let mut channels = self.channels;
        crate::speakers::mute_bleed(&mut channels, vad::frame_len(crate::audio::ENGINE_SAMPLE_RATE_HZ));
        channels
    }
}
