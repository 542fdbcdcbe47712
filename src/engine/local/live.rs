//! Live transcription with the local engine: audio as it is recorded, text while people speak.
//!
//! Audio is cut into phrases at pauses ([`super::phrases`]). While a phrase is spoken, a
//! draft of it is decoded about every [`LiveTuning::refresh_s`] and shown as the hypothesis;
//! when it ends, it is decoded once more and its segments are appended — or, when nothing was
//! said since the phrase's speech paused, the decode made at that pause
//! ([`LiveTuning::speculate_after_silence_s`]) is the final text at once. One pooled worker
//! (model loaded once) decodes one request at a time, phrases that ended before drafts, so
//! when decoding falls behind, drafts are what is skipped; no phrase is ever dropped, and how
//! far behind the text is goes out as [`EngineEvent::Lag`](crate::events::EngineEvent::Lag).
//!
//! With speakers told apart by voice ([`SpeakerMode::Auto`]), each phrase is also heard by
//! [`LiveSpeakers`]; segments carry a revision key, and when the labels of what was heard
//! change, the segments whose speaker changed are sent again under their key.

use super::LocalEngine;
use super::phrase_decode::{self, PhraseJob};
pub use super::phrases::CutSettings;
use super::phrases::{Phrase, PhraseCutter};
use super::worker::{WorkerMessage, WorkerRequest};
use crate::audio::{AudioBlock, ENGINE_SAMPLE_RATE_HZ};
use crate::diarize::live::{LiveSpeakers, established_speaker};
use crate::diarize::{SpeakerTurn, speaker_id};
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
    /// Silence at the open phrase's end after which it is decoded as a final would be, so that
    /// if the phrase then ends with no more speech that decode is its final text at once
    /// (a pause shorter than [`CutSettings::pause_s`] is only a guess at the end). `None`
    /// turns this off: every phrase is decoded after it ends.
    pub speculate_after_silence_s: Option<f64>,
    /// Silence at the open phrase's end during which no draft is started: the speaker may be
    /// pausing, and the worker should be free for the speculative decode that follows
    /// (a draft takes about as long as the pause before the phrase is cut). `None`: drafts
    /// go on in pauses.
    pub hold_drafts_after_silence_s: Option<f64>,
}

impl Default for LiveTuning {
    fn default() -> Self {
        LiveTuning {
            cut: CutSettings::default(),
            refresh_s: 0.5,
            audio_ctx: AudioCtx::Scaled { margin_s: 1.0, min_ctx: 640 },
            condition_on_previous: true,
            max_lag_for_drafts_s: 3.0,
            speculate_after_silence_s: Some(0.2),
            hold_drafts_after_silence_s: Some(0.06),
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
        let config = live_config(&self.config);
        let mut worker = self.pool.checkout(&self.worker_exe, &config)?;
        // The model loads while the first phrase is spoken.
        worker.send(&WorkerRequest::Load { config }, &[])?;
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
                Some(turns) = next_turns(&mut session.speakers) => session.on_turns(turns),
            }
        }
        worker.release();
        session.finish_speakers(cancel).await?;
        session.retire_hypothesis();
        Ok(EngineOutcome { language: session.language, duration_s: Some(session.received_until_s) })
    }
}

/// The engine's configuration for live decoding: with flash attention, which, measured on
/// jfk.wav with tiny.en, keeps live text equal to the file mode's ("ask not"; without it a
/// phrase alone is heard "asked not"). It does not decode faster here: over ten minutes
/// (`scripts/bench-live --input two_cities_x14`) latency is alike either way (median 0.25 s
/// with, 0.16 s without; worst 1.19 s and 1.60 s; WER 0.36 % both). Live segments do not need
/// the alignment heads' word times that flash attention rules out.
fn live_config(config: &super::LocalEngineConfig) -> super::LocalEngineConfig {
    super::LocalEngineConfig { flash_attention: true, ..config.clone() }
}

/// The labelling thread's next turns; never, without one.
async fn next_turns(speakers: &mut Option<LiveSpeakers>) -> Option<Vec<SpeakerTurn>> {
    match speakers {
        Some(speakers) => speakers.next_turns().await,
        None => std::future::pending().await,
    }
}

/// The labelling thread, when speakers are told apart by voice; when it cannot start, the
/// session goes on without labels and says why.
fn start_speakers(options: &TranscribeOptions, sink: &EventSink) -> Option<LiveSpeakers> {
    if options.speakers != SpeakerMode::Auto {
        return None;
    }
    let started = crate::diarize::locate_speaker_model()
        .map_err(|error| error.to_string())
        .and_then(|model_path| LiveSpeakers::start(&model_path, options.speaker_bounds));
    match started {
        Ok(speakers) => Some(speakers),
        Err(error) => {
            sink.warning(format!("live text has no speaker labels: {error}"));
            None
        }
    }
}

/// What the worker is doing for the session.
enum InFlight {
    Load,
    Final { end_s: f64 },
    Draft { phrase_id: u64, until_s: f64 },
    /// A final-quality decode of the open phrase while its speech pauses.
    Speculative { phrase_id: u64, voiced_frames: usize, until_s: f64 },
}

/// A final-quality decode of an open phrase, made when its speech paused: the phrase's final
/// text if the phrase ends with no speech after `voiced_frames`.
struct Speculation {
    phrase_id: u64,
    /// VAD frames up to and including the last voiced one when it was asked for.
    voiced_frames: usize,
    /// `None` while the decode is in flight.
    segments: Option<Vec<Segment>>,
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
    speculation: Option<Speculation>,
    hypothesis_shown: bool,
    recent_text: String,
    language: Option<String>,
    warnings: HashSet<String>,
    lag_reported_at_s: f64,
    /// Speakers told apart by voice, when asked for and the voice encoder is installed.
    speakers: Option<LiveSpeakers>,
    /// The newest speaker turns of everything heard.
    turns: Vec<SpeakerTurn>,
    /// Every final segment sent while labelling, as last sent (its key is its index).
    labelled: Vec<Segment>,
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
            speculation: None,
            hypothesis_shown: false,
            recent_text: String::new(),
            language: None,
            warnings: HashSet::new(),
            lag_reported_at_s: 0.0,
            speakers: start_speakers(options, sink),
            turns: Vec::new(),
            labelled: Vec::new(),
        }
    }

    fn tuning(&self) -> &LiveTuning {
        &self.engine.live_tuning
    }

    fn on_audio(&mut self, block: &AudioBlock) {
        let ended = self.cutter.push(block.start_s, &block.mono());
        self.on_phrases_ended(ended);
        self.received_until_s = block.start_s + block.duration_s();
        if self.received_until_s - self.lag_reported_at_s >= LAG_REPORT_EVERY_S {
            self.lag_reported_at_s = self.received_until_s;
            self.sink.lag(self.behind_s());
        }
    }

    fn on_audio_end(&mut self) {
        let last = self.cutter.finish();
        self.on_phrases_ended(last);
        if let Some(speakers) = &mut self.speakers {
            speakers.finish();
        }
    }

    fn on_phrases_ended(&mut self, phrases: impl IntoIterator<Item = Phrase>) {
        for phrase in phrases {
            if let Some(speakers) = &self.speakers {
                speakers.hear(phrase.start_s, &phrase.samples);
            }
            self.finals.push_back(phrase);
        }
    }

    /// New turns from the labelling thread: the segments whose speaker changed are sent again.
    fn on_turns(&mut self, turns: Vec<SpeakerTurn>) {
        self.turns = turns;
        for segment in &mut self.labelled {
            let speaker = established_speaker(&self.turns, segment.start_s, segment.end_s).map(speaker_id);
            if speaker.is_some() && speaker != segment.speaker {
                segment.speaker = speaker;
                self.sink.segment(segment.clone());
            }
        }
    }

    /// After the last phrase: waits for the labels of everything heard (the labelling thread
    /// is far quicker than the decoder, so this is short).
    async fn finish_speakers(&mut self, cancel: &CancellationToken) -> Result<(), EngineError> {
        while self.speakers.is_some() {
            tokio::select! {
                _ = cancel.cancelled() => return Err(EngineError::Cancelled),
                turns = next_turns(&mut self.speakers) => match turns {
                    Some(turns) => self.on_turns(turns),
                    None => self.speakers = None,
                },
            }
        }
        Ok(())
    }

    /// The next request for the idle worker: the oldest phrase that ended, else a draft of
    /// the open phrase when enough new audio came and the text is not too far behind.
    fn next_request(&mut self) -> Option<(WorkerRequest, Vec<f32>, InFlight)> {
        while let Some(phrase) = self.finals.pop_front() {
            let end_s = phrase.end_s();
            if let Some(segments) = self.take_speculation_for(&phrase) {
                self.on_final(segments, end_s);
                continue;
            }
            let job = self.job(phrase.start_s, phrase.samples.len(), phrase.active.clone(), false);
            return Some((WorkerRequest::Decode { phrase: job }, phrase.samples, InFlight::Final { end_s }));
        }
        if let Some(request) = self.speculative_request() {
            return Some(request);
        }
        let open = self.cutter.open_phrase()?;
        let until_s = open.start_s + open.samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
        let drafted_until_s = if self.draft_phrase == Some(open.id) { self.draft_requested_until_s } else { open.start_s };
        // Nothing said since the last draft (a pause inside the phrase): the draft stands.
        let new_from_frame = ((drafted_until_s - open.start_s) / crate::vad::FRAME_S) as usize;
        let new_speech = open.active.get(new_from_frame..).is_some_and(|new| new.iter().any(|&a| a));
        let silent_tail_s = crate::vad::silent_tail_s(open.active);
        let pausing = self.tuning().hold_drafts_after_silence_s.is_some_and(|hold_s| silent_tail_s >= hold_s);
        if until_s - drafted_until_s < self.tuning().refresh_s || !new_speech || pausing || self.behind_s() > self.tuning().max_lag_for_drafts_s {
            return None;
        }
        let (id, start_s, samples, active) = (open.id, open.start_s, open.samples.to_vec(), open.active.to_vec());
        self.draft_phrase = Some(id);
        self.draft_requested_until_s = until_s;
        let job = self.job(start_s, samples.len(), active, true);
        Some((WorkerRequest::Decode { phrase: job }, samples, InFlight::Draft { phrase_id: id, until_s }))
    }

    /// A final-quality decode of the open phrase when its speech has paused for
    /// [`LiveTuning::speculate_after_silence_s`] and nothing said since was decoded so.
    fn speculative_request(&mut self) -> Option<(WorkerRequest, Vec<f32>, InFlight)> {
        let after_s = self.tuning().speculate_after_silence_s?;
        let open = self.cutter.open_phrase()?;
        let voiced_frames = open.active.iter().rposition(|&a| a).map_or(0, |last| last + 1);
        let silent_s = crate::vad::silent_tail_s(open.active);
        let already = self.speculation.as_ref().is_some_and(|s| s.phrase_id == open.id && s.voiced_frames == voiced_frames);
        if voiced_frames == 0 || silent_s < after_s || already {
            return None;
        }
        let until_s = open.start_s + open.samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
        let (id, start_s, samples, active) = (open.id, open.start_s, open.samples.to_vec(), open.active.to_vec());
        self.speculation = Some(Speculation { phrase_id: id, voiced_frames, segments: None });
        // It is shown as the hypothesis too: no draft is needed for the same audio.
        self.draft_phrase = Some(id);
        self.draft_requested_until_s = until_s;
        let job = self.job(start_s, samples.len(), active, false);
        Some((WorkerRequest::Decode { phrase: job }, samples, InFlight::Speculative { phrase_id: id, voiced_frames, until_s }))
    }

    /// The speculative decode's segments, when it covers all of `phrase`'s speech.
    fn take_speculation_for(&mut self, phrase: &Phrase) -> Option<Vec<Segment>> {
        let speculation = self.speculation.take_if(|s| s.phrase_id == phrase.id)?;
        let heard_since = phrase.active.get(speculation.voiced_frames..).is_none_or(|rest| rest.iter().any(|&a| a));
        if heard_since { None } else { speculation.segments }
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
            config: live_config(&self.engine.config),
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
                    Some(InFlight::Speculative { phrase_id, voiced_frames, until_s }) => {
                        self.on_draft(&segments, phrase_id, until_s);
                        if let Some(speculation) = self.speculation.as_mut().filter(|s| s.phrase_id == phrase_id && s.voiced_frames == voiced_frames) {
                            speculation.segments = Some(segments);
                        }
                    }
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
                // The phrase is decoded again when it ends.
                Some(InFlight::Speculative { .. }) => self.speculation = None,
                Some(InFlight::Load) | None => return Err(kind.into_error(error)),
            },
            WorkerMessage::Finished { .. } => self.in_flight = None,
        }
        Ok(())
    }

    fn on_final(&mut self, segments: Vec<Segment>, end_s: f64) {
        for mut segment in segments {
            self.remember(&segment.text);
            if self.speakers.is_some() {
                segment.revision_key = Some(format!("local-live:{}", self.labelled.len()));
                segment.speaker = established_speaker(&self.turns, segment.start_s, segment.end_s).map(speaker_id);
                self.labelled.push(segment.clone());
            }
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

#[cfg(test)]
mod tests {
    use super::super::phrases::tests::{silence, voice};
    use super::*;
    use crate::engine::local::LocalEngineConfig;

    const RATE: f64 = ENGINE_SAMPLE_RATE_HZ as f64;

    fn run(speculate_after_silence_s: Option<f64>, samples: &[f32]) -> (Vec<InFlightKind>, Vec<String>) {
        let (requests, texts) = run_tuned(LiveTuning { speculate_after_silence_s, ..LiveTuning::default() }, samples);
        (requests.into_iter().map(|(kind, _)| kind).collect(), texts)
    }

    /// Runs a session over `samples` fed in 100 ms blocks, the test playing the worker: after
    /// each block (and after the end of the audio) an idle worker takes the next request and
    /// answers at once with one segment saying how much audio it was given. Returns the kinds
    /// of request with the silence at the end of the audio each was given, and the final texts.
    fn run_tuned(tuning: LiveTuning, samples: &[f32]) -> (Vec<(InFlightKind, f64)>, Vec<String>) {
        let engine = LocalEngine::with_worker(LocalEngineConfig::default(), "unused".into()).with_live_tuning(tuning);
        let (sink, mut events) = EventSink::channel();
        let mut session = LiveSession::new(&engine, &TranscribeOptions::default(), &sink);
        let mut requests = Vec::new();
        let mut fed_s = 0.0;
        for block in samples.chunks(1_600).map(Some).chain([None]) {
            match block {
                Some(block) => {
                    session.on_audio(&AudioBlock { start_s: fed_s, channels: vec![block.to_vec()] });
                    fed_s += block.len() as f64 / RATE;
                }
                None => session.on_audio_end(),
            }
            while session.in_flight.is_none() {
                let Some((request, samples, in_flight)) = session.next_request() else { break };
                let WorkerRequest::Decode { phrase } = request else { panic!("not a decode") };
                let silent_tail_s = crate::vad::silent_tail_s(&phrase.active);
                requests.push((InFlightKind::of(&in_flight), silent_tail_s));
                session.in_flight = Some(in_flight);
                let heard_s = samples.len() as f64 / RATE;
                let segment = Segment { start_s: 0.0, end_s: heard_s, text: format!("{heard_s:.2}"), ..Default::default() };
                session.on_message(WorkerMessage::Decoded { segments: vec![segment], language: None }).unwrap();
            }
        }
        let mut texts = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let EngineEvent::Segment(segment) = event {
                texts.push(segment.text);
            }
        }
        (requests, texts)
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum InFlightKind {
        Final,
        Draft,
        Speculative,
    }

    impl InFlightKind {
        fn of(in_flight: &InFlight) -> InFlightKind {
            match in_flight {
                InFlight::Final { .. } | InFlight::Load => InFlightKind::Final,
                InFlight::Draft { .. } => InFlightKind::Draft,
                InFlight::Speculative { .. } => InFlightKind::Speculative,
            }
        }
    }

    #[test]
    fn a_phrase_that_ends_with_nothing_said_after_its_pause_takes_the_speculative_decode_as_its_final_text() {
        let (requests, texts) = run(Some(0.2), &[silence(0.5), voice(5.0), silence(1.5)].concat());
        assert!(requests.contains(&InFlightKind::Speculative), "{requests:?}");
        assert!(!requests.contains(&InFlightKind::Final), "the phrase was decoded again after it ended: {requests:?}");
        assert_eq!(texts.len(), 1, "{texts:?}");
        // The speculative decode had the speech and the start of the pause, not all of it.
        let heard_s: f64 = texts[0].parse().unwrap();
        assert!(heard_s < 0.3 + 5.0 + 0.45, "{texts:?}");
    }

    #[test]
    fn speech_after_the_speculative_decode_gets_the_phrase_decoded_again_when_it_ends() {
        // A 0.4 s pause: long enough to speculate, too short to end the phrase, which ends
        // with the recording while the voice goes on.
        let (requests, texts) = run(Some(0.2), &[silence(0.5), voice(5.0), silence(0.4), voice(1.0)].concat());
        assert!(requests.contains(&InFlightKind::Speculative), "{requests:?}");
        assert_eq!(requests.last(), Some(&InFlightKind::Final), "{requests:?}");
        assert_eq!(texts.len(), 1, "{texts:?}");
        let heard_s: f64 = texts[0].parse().unwrap();
        assert!(heard_s > 5.0 + 0.4 + 1.0, "the final text must cover the speech after the pause: {texts:?}");
    }

    #[test]
    fn no_draft_starts_while_the_speech_pauses() {
        // Pauses of 0.1–0.3 s inside a phrase: some fall where a draft is due.
        let speech: Vec<f32> = (0..8).flat_map(|i| [voice(0.7 + 0.1 * (i % 3) as f64), silence(0.1 + 0.1 * (i % 3) as f64)].concat()).collect();
        let samples = [silence(0.5), speech, silence(1.5)].concat();
        let drafts_in_pauses = |hold: Option<f64>| {
            let tuning = LiveTuning { hold_drafts_after_silence_s: hold, ..LiveTuning::default() };
            let (requests, _) = run_tuned(tuning, &samples);
            assert!(requests.iter().any(|(kind, _)| *kind == InFlightKind::Draft), "{requests:?}");
            requests.iter().filter(|(kind, tail_s)| *kind == InFlightKind::Draft && *tail_s >= 0.06).count()
        };
        assert!(drafts_in_pauses(None) > 0, "the audio must give drafts in pauses when nothing holds them");
        assert_eq!(drafts_in_pauses(Some(0.06)), 0);
    }

    #[test]
    fn without_speculation_every_phrase_is_decoded_after_it_ends() {
        let (requests, texts) = run(None, &[silence(0.5), voice(5.0), silence(1.5)].concat());
        assert!(!requests.contains(&InFlightKind::Speculative), "{requests:?}");
        assert_eq!(requests.last(), Some(&InFlightKind::Final), "{requests:?}");
        assert_eq!(texts.len(), 1, "{texts:?}");
    }
}
