//! Live transcription with the local engine: audio as it is recorded, text while people speak.
//!
//! Audio is cut into phrases at pauses ([`super::phrases`]). While a phrase is spoken, a
//! draft of it is decoded about every [`LiveTuning::refresh_s`] and shown as the hypothesis;
//! when it ends, it is decoded once more and its segments are appended. One pooled worker
//! (model loaded once) decodes one request at a time, phrases that ended before drafts, so
//! when decoding falls behind, drafts are what is skipped; no phrase is ever dropped, and how
//! far behind the text is goes out as [`EngineEvent::Lag`](crate::events::EngineEvent::Lag).

use super::LocalEngine;
use super::phrase_decode::{self, PhraseJob};
pub use super::phrases::CutSettings;
use super::phrases::{Phrase, PhraseCutter};
use super::worker::{WorkerMessage, WorkerRequest};
use crate::audio::{AudioBlock, ENGINE_SAMPLE_RATE_HZ};
use crate::engine::{EngineError, EngineOutcome, LiveAudio, LiveEngine, SpeakerMode, TranscribeOptions};
use async_trait::async_trait;
use crate::events::{EngineEvent, EventSink, Segment};
use std::collections::{HashSet, VecDeque};
use tokio_util::sync::CancellationToken;

/// How live audio is cut and decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveTuning {
    pub cut: CutSettings,
    /// New audio in the open phrase before its draft is decoded again.
    pub refresh_s: f64,
    /// The encoder window of each decode. Measured with tiny.en (`scripts/bench-live`, WER
    /// on two_cities.wav / jfk.wav, file mode 0 % / 0 %): the full window 0 / 0; the phrase
    /// plus 1 s 29 / 0 (whisper copies the prompt into the rest of a short window), 10 / 9
    /// without the prompt; at least 384 positions 7.6 / 4.6; at least 640 (12.8 s) 0 / 0 in
    /// 60 % of the full window's time. So: the phrase plus 1 s, at least 640.
    pub audio_ctx: AudioCtx,
    /// Give whisper.cpp the text of the previous phrases as its prompt.
    pub condition_on_previous: bool,
    /// Drafts are skipped while the text is further behind than this.
    pub max_lag_for_drafts_s: f64,
}

impl Default for LiveTuning {
    fn default() -> Self {
        LiveTuning {
            cut: CutSettings::default(),
            refresh_s: 0.5,
            audio_ctx: AudioCtx::Scaled { margin_s: 1.0, min_ctx: 640 },
            condition_on_previous: true,
            max_lag_for_drafts_s: 3.0,
        }
    }
}

/// whisper.cpp's encoder window for a phrase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioCtx {
    /// Always the whole 30 s window (what file transcription uses).
    Full,
    /// The phrase's length plus `margin_s`, at least `min_ctx` positions of 20 ms.
    Scaled { margin_s: f64, min_ctx: u32 },
}

impl AudioCtx {
    fn for_duration(self, duration_s: f64) -> u32 {
        match self {
            AudioCtx::Full => phrase_decode::FULL_AUDIO_CTX,
            AudioCtx::Scaled { margin_s, min_ctx } => phrase_decode::audio_ctx_for(duration_s, margin_s, min_ctx),
        }
    }
}

/// Prompt carried from phrase to phrase, in characters (whisper.cpp keeps at most 224 tokens).
const MAX_PROMPT_CHARS: usize = 400;
/// How often, in seconds of audio, the lag is reported.
const LAG_REPORT_EVERY_S: f64 = 1.0;

#[async_trait]
impl LiveEngine for LocalEngine {
    fn name(&self) -> &str {
        "local"
    }

    /// Transcribes live audio until `audio` closes (the recording stopped; the open phrase
    /// is decoded before returning) or `cancel`. `audio` carries contiguous 16 kHz blocks,
    /// every channel (they are mixed); segment times are positions in the recording. Like
    /// `transcribe_file`, it sends neither `Done` nor `Error`; segments sent stay valid
    /// whatever the outcome. A worker crash ends the session with an error.
    async fn transcribe_live(
        &self,
        mut audio: LiveAudio,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        super::check_ggml_header(&self.config.model_path)?;
        if options.speakers == SpeakerMode::Stereo {
            sink.warning("live text mixes the channels; transcribe the recording afterwards for a speaker per channel");
        }
        let mut worker = self.pool.checkout(&self.worker_exe, &self.config)?;
        // The model loads while the first phrase is spoken.
        worker.send(&WorkerRequest::Load { config: self.config.clone() }, &[])?;
        let mut session = LiveSession::new(self, options, sink);
        session.in_flight = Some(InFlight::Load);
        let mut audio_open = true;
        loop {
            if session.in_flight.is_none() {
                if let Some((request, samples, in_flight)) = session.next_request() {
                    worker.send(&request, &samples)?;
                    session.in_flight = Some(in_flight);
                } else if !audio_open {
                    break;
                }
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(EngineError::Cancelled), // dropping `worker` kills it
                message = worker.next_message(), if session.in_flight.is_some() => match message {
                    Some(message) => session.on_message(message)?,
                    None => return Err(worker.crashed().await),
                },
                block = audio.recv(), if audio_open => match block {
                    Some(block) => session.on_audio(&block),
                    None => {
                        audio_open = false;
                        session.on_audio_end();
                    }
                },
            }
        }
        worker.release();
        session.retire_hypothesis();
        Ok(EngineOutcome { language: session.language, duration_s: Some(session.received_until_s) })
    }
}

/// What the worker is doing for the session.
enum InFlight {
    Load,
    Final { end_s: f64 },
    Draft { phrase_id: u64, until_s: f64 },
}

/// Everything a live session knows between events.
struct LiveSession<'a> {
    engine: &'a LocalEngine,
    options: TranscribeOptions,
    sink: &'a EventSink,
    cutter: PhraseCutter,
    /// Phrases that ended and wait for their final decode, oldest first.
    finals: VecDeque<Phrase>,
    in_flight: Option<InFlight>,
    received_until_s: f64,
    final_until_s: f64,
    /// The open phrase's draft: which phrase, how far it was asked for and shown.
    draft_phrase: Option<u64>,
    draft_requested_until_s: f64,
    draft_shown_until_s: f64,
    hypothesis_shown: bool,
    recent_text: String,
    language: Option<String>,
    warnings: HashSet<String>,
    lag_reported_at_s: f64,
}

impl<'a> LiveSession<'a> {
    fn new(engine: &'a LocalEngine, options: &TranscribeOptions, sink: &'a EventSink) -> LiveSession<'a> {
        LiveSession {
            engine,
            options: options.clone(),
            sink,
            cutter: PhraseCutter::new(engine.live_tuning.cut.clone()),
            finals: VecDeque::new(),
            in_flight: None,
            received_until_s: 0.0,
            final_until_s: 0.0,
            draft_phrase: None,
            draft_requested_until_s: 0.0,
            draft_shown_until_s: 0.0,
            hypothesis_shown: false,
            recent_text: String::new(),
            language: None,
            warnings: HashSet::new(),
            lag_reported_at_s: 0.0,
        }
    }

    fn tuning(&self) -> &LiveTuning {
        &self.engine.live_tuning
    }

    fn on_audio(&mut self, block: &AudioBlock) {
        self.finals.extend(self.cutter.push(block.start_s, &block.mono()));
        self.received_until_s = block.start_s + block.duration_s();
        if self.received_until_s - self.lag_reported_at_s >= LAG_REPORT_EVERY_S {
            self.lag_reported_at_s = self.received_until_s;
            self.sink.lag(self.behind_s());
        }
    }

    fn on_audio_end(&mut self) {
        self.finals.extend(self.cutter.finish());
    }

    /// The next request for the idle worker: the oldest phrase that ended, else a draft of
    /// the open phrase when enough new audio came and the text is not too far behind.
    fn next_request(&mut self) -> Option<(WorkerRequest, Vec<f32>, InFlight)> {
        if let Some(phrase) = self.finals.pop_front() {
            let end_s = phrase.end_s();
            let job = self.job(phrase.start_s, phrase.samples.len(), phrase.active.clone(), false);
            return Some((WorkerRequest::Decode { phrase: job }, phrase.samples, InFlight::Final { end_s }));
        }
        let open = self.cutter.open_phrase()?;
        let until_s = open.start_s + open.samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
        let drafted_until_s = if self.draft_phrase == Some(open.id) { self.draft_requested_until_s } else { open.start_s };
        // Nothing said since the last draft (a pause inside the phrase): the draft stands.
        let new_from_frame = ((drafted_until_s - open.start_s) / crate::vad::FRAME_S) as usize;
        let new_speech = open.active.get(new_from_frame..).is_some_and(|new| new.iter().any(|&a| a));
        if until_s - drafted_until_s < self.tuning().refresh_s || !new_speech || self.behind_s() > self.tuning().max_lag_for_drafts_s {
            return None;
        }
        let (id, start_s, samples, active) = (open.id, open.start_s, open.samples.to_vec(), open.active.to_vec());
        self.draft_phrase = Some(id);
        self.draft_requested_until_s = until_s;
        let job = self.job(start_s, samples.len(), active, true);
        Some((WorkerRequest::Decode { phrase: job }, samples, InFlight::Draft { phrase_id: id, until_s }))
    }

    fn job(&self, start_s: f64, sample_count: usize, active: Vec<bool>, draft: bool) -> PhraseJob {
        let duration_s = sample_count as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
        let prompt = if self.tuning().condition_on_previous && !self.recent_text.is_empty() {
            Some(self.recent_text.clone())
        } else {
            self.options.prompt.clone()
        };
        let mut options = self.options.clone();
        if options.language.is_none() {
            options.language = self.language.clone(); // detected once, then kept
        }
        PhraseJob {
            config: self.engine.config.clone(),
            options,
            start_s,
            sample_count,
            active,
            audio_ctx: self.tuning().audio_ctx.for_duration(duration_s),
            prompt,
            draft,
        }
    }

    fn on_message(&mut self, message: WorkerMessage) -> Result<(), EngineError> {
        match message {
            WorkerMessage::Event { event: EngineEvent::Warning { message } } => {
                if self.warnings.insert(message.clone()) {
                    self.sink.warning(message);
                }
            }
            WorkerMessage::Event { .. } => {}
            WorkerMessage::Loaded { .. } => self.in_flight = None,
            WorkerMessage::Decoded { segments, language } => {
                if self.language.is_none() {
                    self.language = language;
                }
                match self.in_flight.take() {
                    Some(InFlight::Final { end_s }) => self.on_final(segments, end_s),
                    Some(InFlight::Draft { phrase_id, until_s }) => self.on_draft(&segments, phrase_id, until_s),
                    Some(InFlight::Load) | None => {}
                }
            }
            WorkerMessage::Failed { kind, error } => match self.in_flight.take() {
                // One phrase whisper.cpp could not decode: say so, go on with the next.
                Some(InFlight::Final { end_s }) => {
                    self.sink.warning(format!("the phrase ending at {end_s:.1} s could not be transcribed: {error}"));
                    self.final_until_s = end_s;
                }
                Some(InFlight::Draft { .. }) => {}
                Some(InFlight::Load) | None => return Err(kind.into_error(error)),
            },
            WorkerMessage::Finished { .. } => self.in_flight = None,
        }
        Ok(())
    }

    fn on_final(&mut self, segments: Vec<Segment>, end_s: f64) {
        for segment in segments {
            self.remember(&segment.text);
            self.sink.segment(segment);
            self.hypothesis_shown = false; // a segment retires the hypothesis
        }
        self.retire_hypothesis();
        self.final_until_s = end_s;
        self.draft_shown_until_s = self.draft_shown_until_s.max(end_s);
        self.sink.progress(end_s, None);
    }

    fn on_draft(&mut self, segments: &[Segment], phrase_id: u64, until_s: f64) {
        // A draft of a phrase that has ended since is stale: its final text is coming.
        let still_open = self.cutter.open_phrase().is_some_and(|open| open.id == phrase_id);
        if !still_open || !self.finals.is_empty() {
            return;
        }
        let text = segments.iter().map(|s| s.text.trim()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return;
        }
        let start_s = self.cutter.open_phrase().map(|open| open.start_s);
        self.sink.hypothesis(text, start_s);
        self.hypothesis_shown = true;
        self.draft_shown_until_s = until_s;
    }

    fn retire_hypothesis(&mut self) {
        if self.hypothesis_shown {
            self.sink.hypothesis("", None);
            self.hypothesis_shown = false;
        }
    }

    fn remember(&mut self, text: &str) {
        if !self.recent_text.is_empty() {
            self.recent_text.push(' ');
        }
        self.recent_text.push_str(text.trim());
        if self.recent_text.len() > MAX_PROMPT_CHARS {
            let cut = self.recent_text.len() - MAX_PROMPT_CHARS;
            let cut = (cut..self.recent_text.len()).find(|&i| self.recent_text.is_char_boundary(i) && self.recent_text[i..].starts_with(' '));
            self.recent_text = cut.map(|i| self.recent_text[i + 1..].to_string()).unwrap_or_default();
        }
    }

    /// How old the newest text on screen is: audio received minus audio the text covers
    /// (silence counts as covered).
    fn behind_s(&self) -> f64 {
        let final_pending = !self.finals.is_empty() || matches!(self.in_flight, Some(InFlight::Final { .. }) | Some(InFlight::Load));
        let covered_s = match self.cutter.open_phrase() {
            _ if final_pending => self.final_until_s.max(self.draft_shown_until_s),
            None => self.received_until_s,
            Some(open) => open.start_s.max(self.draft_shown_until_s),
        };
        (self.received_until_s - covered_s).max(0.0)
    }
}
