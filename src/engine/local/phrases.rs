//! Cuts live audio into phrases at pauses, for the local live engine.
//!
//! A phrase starts when [`LiveVad`] hears sound for a moment (with a little audio from
//! before, so the first syllable is whole) and ends at the first pause once it is a few
//! seconds long (whisper mishears a few words alone far more often than in a sentence:
//! tiny.en hears "And so my fellow Americans" as "And so am I fellow Americans" unless the
//! next words follow), at a long pause whatever its length, or, when nobody pauses, at the
//! quietest moment shortly before a maximum length: whisper.cpp decodes at most 30 seconds at
//! a time, and a long phrase would take long to decode. Silence between phrases is not kept:
//! there is nothing in it to transcribe.

use crate::audio::ENGINE_SAMPLE_RATE_HZ;
use crate::vad::{self, LiveVad};

/// Where phrases are cut.
#[derive(Debug, Clone, PartialEq)]
pub struct CutSettings {
    /// Silence that ends a phrase at least `min_phrase_s` long.
    pub pause_s: f64,
    /// Shorter phrases go on through pauses shorter than `long_pause_s`.
    pub min_phrase_s: f64,
    /// Silence that ends any phrase.
    pub long_pause_s: f64,
    /// Longest phrase; a longer one is cut at its quietest moment before this.
    pub max_phrase_s: f64,
    /// How far back from the maximum the cut may move to find a quiet moment.
    pub cut_search_s: f64,
    /// Audio kept from before the sound that starts a phrase.
    pub preroll_s: f64,
    /// Sound that starts a phrase (shorter clicks do not).
    pub min_sound_s: f64,
}

impl Default for CutSettings {
    fn default() -> Self {
        CutSettings {
            pause_s: 0.6,
            min_phrase_s: 4.0,
            long_pause_s: 1.5,
            max_phrase_s: 15.0,
            cut_search_s: 5.0,
            preroll_s: 0.3,
            min_sound_s: 0.1,
        }
    }
}

/// A phrase that ended, to decode.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// Counts phrases from 0 in the order they start.
    pub id: u64,
    /// Where the phrase starts in the recording.
    pub start_s: f64,
    /// 16 kHz mono.
    pub samples: Vec<f32>,
    /// One flag per [`vad::FRAME_S`] of `samples`.
    pub active: Vec<bool>,
}

impl Phrase {
    pub fn end_s(&self) -> f64 {
        self.start_s + self.samples.len() as f64 / ENGINE_SAMPLE_RATE_HZ as f64
    }
}

/// The phrase being spoken, as far as it has been heard.
pub struct OpenPhrase<'a> {
    pub id: u64,
    pub start_s: f64,
    pub samples: &'a [f32],
    pub active: &'a [bool],
}

/// Turns a stream of samples into phrases.
pub struct PhraseCutter {
    settings: CutSettings,
    vad: LiveVad,
    /// Audio from `buffer_start_s` on: the open phrase, or only the pre-roll between phrases.
    /// Always starts on a VAD frame boundary, so `active[i]` is the frame at `i * frame_len`.
    buffer: Vec<f32>,
    buffer_start_s: f64,
    active: Vec<bool>,
    /// Whether `buffer_start_s` has been set from the first samples.
    started: bool,
    /// `Some(id)` while a phrase is open.
    open_id: Option<u64>,
    next_id: u64,
    /// Active frames in a row (between phrases) and inactive frames in a row (in a phrase).
    sound_run: usize,
    silence_run: usize,
}

impl PhraseCutter {
    pub fn new(settings: CutSettings) -> PhraseCutter {
        PhraseCutter {
            settings,
            vad: LiveVad::new(ENGINE_SAMPLE_RATE_HZ),
            buffer: Vec::new(),
            buffer_start_s: 0.0,
            active: Vec::new(),
            started: false,
            open_id: None,
            next_id: 0,
            sound_run: 0,
            silence_run: 0,
        }
    }

    fn frames(&self, seconds: f64) -> usize {
        ((seconds / vad::FRAME_S).round() as usize).max(1)
    }

    /// Feeds the next samples (contiguous with the previous ones; `start_s` of the first call
    /// sets the origin). Returns the phrases that ended in them.
    pub fn push(&mut self, start_s: f64, samples: &[f32]) -> Vec<Phrase> {
        if !self.started {
            self.started = true;
            self.buffer_start_s = start_s;
        }
        self.buffer.extend_from_slice(samples);
        let mut ended = Vec::new();
        for flag in self.vad.push(samples) {
            self.active.push(flag);
            match self.open_id {
                Some(_) => ended.extend(self.continue_phrase(flag)),
                None => self.wait_for_sound(flag),
            }
        }
        ended
    }

    /// The stream ended: the open phrase, if any, is complete.
    pub fn finish(&mut self) -> Option<Phrase> {
        self.open_id?;
        let whole = self.buffer.len().div_ceil(self.vad.frame_len()).max(self.active.len());
        self.active.resize(whole, false);
        let phrase = self.cut(whole);
        self.open_id = None;
        Some(phrase)
    }

    pub fn open_phrase(&self) -> Option<OpenPhrase<'_>> {
        let id = self.open_id?;
        Some(OpenPhrase { id, start_s: self.buffer_start_s, samples: &self.buffer, active: &self.active })
    }

    fn wait_for_sound(&mut self, flag: bool) {
        self.sound_run = if flag { self.sound_run + 1 } else { 0 };
        if self.sound_run >= self.frames(self.settings.min_sound_s) {
            self.open_id = Some(self.next_id);
            self.next_id += 1;
            self.silence_run = 0;
            self.sound_run = 0;
            return;
        }
        // Between phrases keep only the pre-roll and the sound heard so far.
        let keep = self.frames(self.settings.preroll_s) + self.sound_run;
        if self.active.len() > keep {
            self.drop_frames(self.active.len() - keep);
        }
    }

    fn continue_phrase(&mut self, flag: bool) -> Option<Phrase> {
        self.silence_run = if flag { 0 } else { self.silence_run + 1 };
        let long_enough = self.active.len() >= self.frames(self.settings.min_phrase_s);
        let pause = if long_enough { self.settings.pause_s } else { self.settings.long_pause_s };
        if self.silence_run >= self.frames(pause) {
            let phrase = self.cut(self.active.len());
            self.open_id = None;
            return Some(phrase);
        }
        if self.active.len() < self.frames(self.settings.max_phrase_s) {
            return None;
        }
        // Nobody pauses: cut at the quietest moment shortly before the maximum, and go on
        // with the rest as a new phrase.
        let frame_len = self.vad.frame_len();
        let search_end = self.active.len() * frame_len;
        let search_start = search_end.saturating_sub(self.frames(self.settings.cut_search_s) * frame_len);
        let cut_frame = (vad::quietest_cut(&self.buffer, search_start, search_end, frame_len) / frame_len).clamp(1, self.active.len());
        let phrase = self.cut(cut_frame);
        self.open_id = Some(self.next_id);
        self.next_id += 1;
        self.silence_run = self.active.iter().rev().take_while(|&&a| !a).count();
        Some(phrase)
    }

    /// Takes the first `frames` frames of the buffer as a phrase of the open id.
    fn cut(&mut self, frames: usize) -> Phrase {
        let sample_count = (frames * self.vad.frame_len()).min(self.buffer.len());
        let rest_samples = self.buffer.split_off(sample_count);
        let rest_active = self.active.split_off(frames.min(self.active.len()));
        let phrase = Phrase {
            id: self.open_id.unwrap_or(self.next_id),
            start_s: self.buffer_start_s,
            samples: std::mem::replace(&mut self.buffer, rest_samples),
            active: std::mem::replace(&mut self.active, rest_active),
        };
        self.buffer_start_s += sample_count as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
        phrase
    }

    fn drop_frames(&mut self, frames: usize) {
        let sample_count = (frames * self.vad.frame_len()).min(self.buffer.len());
        self.buffer.drain(..sample_count);
        self.active.drain(..frames.min(self.active.len()));
        self.buffer_start_s += sample_count as f64 / ENGINE_SAMPLE_RATE_HZ as f64;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const RATE: f64 = ENGINE_SAMPLE_RATE_HZ as f64;

    /// A "voice": a tone with a syllable-like envelope.
    pub(in crate::engine::local) fn voice(seconds: f64) -> Vec<f32> {
        (0..(seconds * RATE) as usize)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                0.3 * (0.6 + 0.4 * (t * 4.0 * std::f32::consts::TAU).sin()) * (t * 220.0 * std::f32::consts::TAU).sin()
            })
            .collect()
    }

    pub(in crate::engine::local) fn silence(seconds: f64) -> Vec<f32> {
        vec![0.0; (seconds * RATE) as usize]
    }

    fn feed(cutter: &mut PhraseCutter, samples: &[f32]) -> Vec<Phrase> {
        let mut phrases = Vec::new();
        for (index, block) in samples.chunks(1_600).enumerate() {
            phrases.extend(cutter.push(index as f64 * 0.1, block));
        }
        phrases.extend(cutter.finish());
        phrases
    }

    #[test]
    fn pauses_end_phrases_and_silence_between_them_is_left_out() {
        let settings = CutSettings { pause_s: 0.5, min_phrase_s: 0.0, ..CutSettings::default() };
        let audio = [silence(1.0), voice(2.0), silence(1.0), voice(1.5), silence(0.2)].concat();
        let phrases = feed(&mut PhraseCutter::new(settings), &audio);
        assert_eq!(phrases.len(), 2, "{:?}", phrases.iter().map(|p| (p.start_s, p.end_s())).collect::<Vec<_>>());
        assert_eq!(phrases.iter().map(|p| p.id).collect::<Vec<_>>(), [0, 1]);
        let (first, second) = (&phrases[0], &phrases[1]);
        assert!((0.6..=1.0).contains(&first.start_s), "pre-roll: starts at {}", first.start_s);
        assert!((3.4..=3.7).contains(&first.end_s()), "ends after the pause: {}", first.end_s());
        assert!(second.start_s >= first.end_s() && second.start_s <= 4.0, "second starts at {}", second.start_s);
        assert!((second.end_s() - 5.7).abs() < 0.05, "the end of the stream closes the last phrase: {}", second.end_s());
        for phrase in &phrases {
            assert_eq!(phrase.active.len(), phrase.samples.len().div_ceil(320));
            // The phrase's samples are the audio at its place in the stream.
            let offset = (phrase.start_s * RATE).round() as usize;
            assert_eq!(phrase.samples[..], audio[offset..offset + phrase.samples.len()]);
        }
    }

    #[test]
    fn a_phrase_without_pauses_is_cut_at_its_quietest_moment_and_nothing_is_lost() {
        // 40 s of voice with a short dip (too short to be a pause) every 7 s.
        let mut audio = silence(0.5);
        for _ in 0..6 {
            audio.extend(voice(6.8));
            audio.extend(silence(0.2));
        }
        let settings = CutSettings::default();
        let phrases = feed(&mut PhraseCutter::new(settings.clone()), &audio);
        assert!(phrases.len() >= 3, "{} phrases", phrases.len());
        for pair in phrases.windows(2) {
            assert!((pair[0].end_s() - pair[1].start_s).abs() < 1e-9, "gap or overlap between phrases");
        }
        for phrase in &phrases {
            assert!(phrase.end_s() - phrase.start_s <= settings.max_phrase_s + 1e-9);
        }
        for phrase in &phrases[..phrases.len() - 1] {
            // Cut in a dip: the last frames of the phrase are quiet.
            let tail = &phrase.samples[phrase.samples.len() - 160..];
            assert!(vad::rms_dbfs(tail) < -60.0, "cut at {} is not in a dip", phrase.end_s());
        }
        let total: usize = phrases.iter().map(|p| p.samples.len()).sum();
        let first = (phrases[0].start_s * RATE).round() as usize;
        assert_eq!(total, audio.len() - first, "samples lost or doubled");
    }

    #[test]
    fn a_short_phrase_goes_on_through_a_short_pause_but_not_a_long_one() {
        let settings = CutSettings { pause_s: 0.5, min_phrase_s: 4.0, long_pause_s: 1.5, ..CutSettings::default() };
        // 2 s, a 1 s pause, 2 s, a 0.7 s pause, 1 s, a 2 s pause, 1 s.
        let audio =
            [voice(2.0), silence(1.0), voice(2.0), silence(0.7), voice(1.0), silence(2.0), voice(1.0), silence(0.2)].concat();
        let phrases = feed(&mut PhraseCutter::new(settings), &audio);
        let spans: Vec<(f64, f64)> = phrases.iter().map(|p| (p.start_s, p.end_s())).collect();
        assert_eq!(phrases.len(), 3, "{spans:?}");
        assert!((phrases[0].end_s() - 5.5).abs() < 0.05, "the first pause is kept, the second ends it: {spans:?}");
        assert!((phrases[1].end_s() - 8.2).abs() < 0.05, "a long pause ends a short phrase: {spans:?}");
    }

    #[test]
    fn open_phrase_grows_until_it_ends() {
        let mut cutter = PhraseCutter::new(CutSettings { min_phrase_s: 0.0, ..CutSettings::default() });
        assert!(cutter.push(0.0, &silence(0.5)).is_empty());
        assert!(cutter.open_phrase().is_none());
        assert!(cutter.push(0.5, &voice(1.0)).is_empty());
        let open = cutter.open_phrase().expect("a phrase is open");
        assert_eq!(open.id, 0);
        let heard_s = open.samples.len() as f64 / RATE;
        assert!((1.0..=1.4).contains(&heard_s), "{heard_s} s heard");
        let ended = cutter.push(1.5, &silence(1.0));
        assert_eq!(ended.len(), 1);
        assert!(cutter.open_phrase().is_none());
        assert!(cutter.finish().is_none());
    }
}
