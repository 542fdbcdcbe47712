//! The user's edits: a segment's text (word times kept for the words that did not change),
//! split and merge, a segment's speaker, a speaker's name — each one undo step — and undo /
//! redo themselves.
//!
//! Every edit goes through [`Transcript::splice_segments`], which swaps a run of segments
//! for new ones and returns the [`Splice`] the history keeps, so undo is the same operation
//! run backwards and nothing can change the transcript without a way back.

use super::history::{Splice, Step};
use super::retime::retime_words;
use super::{SegmentId, SegmentMeta, Transcript};
use crate::events::{Segment, Word};
use std::collections::BTreeSet;

impl Transcript {
    /// Replaces segment `id`'s text as one undo step. Returns `false` when nothing changed.
    pub fn edit_text(&mut self, id: SegmentId, text: &str) -> bool {
        match self.text_edit_splice(id, text) {
            Some(splice) => self.record(vec![splice], None),
            None => false,
        }
    }

    /// The splice that gives segment `id` the text `text`, applied; `None` when there is no
    /// such segment or the text is the same.
    pub(crate) fn text_edit_splice(&mut self, id: SegmentId, text: &str) -> Option<Splice> {
        self.sync_meta();
        let index = self.index_of(id)?;
        let (segment, meta) = (&self.segments[index], &self.meta[index]);
        if segment.text == text {
            return None;
        }
        let (words, origin) = retime_words(&segment.words, text, segment.start_s, segment.end_s);
        let reviewed: BTreeSet<usize> = origin
            .iter()
            .enumerate()
            .filter_map(|(new, old)| old.filter(|old| meta.reviewed_words.contains(old)).map(|_| new))
            .collect();
        // Text set by hand is what the user vouches for: no longer low-confidence.
        let edited = Segment { text: text.to_string(), words, low_confidence: false, ..segment.clone() };
        let meta = SegmentMeta { text_edited: true, reviewed_words: reviewed, ..meta.clone() };
        Some(self.splice_segments(index, 1, vec![(edited, meta)]))
    }

    /// Splits segment `id` at character `at_char` of its text: the words before go with the
    /// first half (which keeps the id), the rest with a new segment after it. Returns the new
    /// segment's id, or `None` when either half would be empty.
    pub fn split(&mut self, id: SegmentId, at_char: usize) -> Option<SegmentId> {
        self.sync_meta();
        let index = self.index_of(id)?;
        let segment = self.segments[index].clone();
        let byte = segment.text.char_indices().nth(at_char).map_or(segment.text.len(), |(byte, _)| byte);
        let (left_text, right_text) = (segment.text[..byte].trim_end(), segment.text[byte..].trim_start());
        if left_text.is_empty() || right_text.is_empty() {
            return None;
        }
        let split_s = split_time(&segment, left_text.split_whitespace().count(), byte);
        let (mut left_words, mut right_words): (Vec<_>, Vec<_>) =
            segment.words.iter().cloned().partition(|word| (word.start_s + word.end_s) / 2.0 < split_s);
        // A half left without words (a split inside one) gets its own, spread over its span.
        for (half, start_s, end_s) in [(&mut left_words, segment.start_s, split_s), (&mut right_words, split_s, segment.end_s)] {
            if half.is_empty() && !segment.words.is_empty() {
                half.push(Word { text: String::new(), start_s, end_s, probability: None });
            }
        }
        let (left_words, _) = retime_words(&left_words, left_text, segment.start_s, split_s);
        let (right_words, _) = retime_words(&right_words, right_text, split_s, segment.end_s);
        let left = Segment { text: left_text.into(), words: left_words, end_s: split_s, ..segment.clone() };
        let right = Segment {
            text: right_text.into(),
            words: right_words,
            start_s: split_s,
            revision_key: None,
            ..segment
        };
        let edited = SegmentMeta {
            text_edited: true,
            times_edited: true,
            reviewed_words: BTreeSet::new(),
            ..self.meta[index].clone()
        };
        let new_id = self.fresh_id();
        let right_meta = SegmentMeta { id: new_id, absorbed_keys: Vec::new(), ..edited.clone() };
        let splice = self.splice_segments(index, 1, vec![(left, edited), (right, right_meta)]);
        self.record(vec![splice], None);
        Some(new_id)
    }

    /// Joins segment `id` with the one after it (text, words, time span; the first one's
    /// speaker and id). Returns `false` when it is the last one.
    pub fn merge_with_next(&mut self, id: SegmentId) -> bool {
        self.sync_meta();
        let Some(index) = self.index_of(id).filter(|index| index + 1 < self.segments.len()) else {
            return false;
        };
        let (first, second) = (&self.segments[index], &self.segments[index + 1]);
        let (first_meta, second_meta) = (&self.meta[index], &self.meta[index + 1]);
        let mut words = first.words.clone();
        words.extend(second.words.iter().cloned());
        let merged = Segment {
            text: format!("{} {}", first.text.trim_end(), second.text.trim_start()).trim().to_string(),
            words,
            start_s: first.start_s.min(second.start_s),
            end_s: first.end_s.max(second.end_s),
            ..first.clone()
        };
        let offset = first.words.len();
        let mut absorbed = first_meta.absorbed_keys.clone();
        absorbed.extend(second_meta.absorbed_keys.iter().cloned());
        absorbed.extend(second.revision_key.clone());
        let meta = SegmentMeta {
            text_edited: true,
            times_edited: true,
            speaker_edited: first_meta.speaker_edited,
            reviewed_words: first_meta
                .reviewed_words
                .iter()
                .copied()
                .chain(second_meta.reviewed_words.iter().map(|word| word + offset))
                .collect(),
            absorbed_keys: absorbed,
            id: first_meta.id,
        };
        let splice = self.splice_segments(index, 2, vec![(merged, meta)]);
        self.record(vec![splice], None)
    }

    /// Gives segment `id` to speaker `speaker_id` (registered if new), as one undo step.
    /// Returns `false` when nothing changed.
    pub fn set_speaker(&mut self, id: SegmentId, speaker_id: &str) -> bool {
        self.sync_meta();
        let Some(index) = self.index_of(id) else {
            return false;
        };
        let speakers_before = self.speakers.clone();
        self.ensure_speaker(speaker_id);
        let speakers = (speakers_before != self.speakers).then(|| (speakers_before, self.speakers.clone()));
        let segment = Segment { speaker: Some(speaker_id.to_string()), ..self.segments[index].clone() };
        let meta = SegmentMeta { speaker_edited: true, ..self.meta[index].clone() };
        if segment == self.segments[index] && speakers.is_none() {
            self.meta[index].speaker_edited = true;
            return false;
        }
        let splice = self.splice_segments(index, 1, vec![(segment, meta)]);
        self.record(vec![splice], speakers)
    }

    /// Renames a speaker everywhere, as one undo step. Returns `false` if no speaker has that
    /// id or the name is blank.
    pub fn rename_speaker(&mut self, id: &str, display_name: &str) -> bool {
        let display_name = display_name.trim();
        let before = self.speakers.clone();
        match self.speakers.iter_mut().find(|speaker| speaker.id == id) {
            Some(speaker) if !display_name.is_empty() => {
                speaker.display_name = display_name.to_string();
                let after = self.speakers.clone();
                self.record(Vec::new(), Some((before, after)));
                true
            }
            _ => false,
        }
    }

    /// Takes back the last edit. Returns `false` when there is none.
    pub fn undo(&mut self) -> bool {
        let Some(step) = self.history.take_undo() else {
            return false;
        };
        for splice in step.splices.iter().rev() {
            self.apply_splice(&splice.after, &splice.before);
        }
        if let Some((before, _)) = &step.speakers {
            self.speakers = before.clone();
        }
        self.history.push_undone(step);
        true
    }

    /// Makes the last undone edit again. Returns `false` when there is none.
    pub fn redo(&mut self) -> bool {
        let Some(step) = self.history.take_redo() else {
            return false;
        };
        for splice in &step.splices {
            self.apply_splice(&splice.before, &splice.after);
        }
        if let Some((_, after)) = &step.speakers {
            self.speakers = after.clone();
        }
        self.history.push_redone(step);
        true
    }

    /// Finds the run `from` (by its first segment's id) and puts `to` in its place.
    fn apply_splice(&mut self, from: &[(Segment, SegmentMeta)], to: &[(Segment, SegmentMeta)]) {
        self.sync_meta();
        let Some(index) = from.first().and_then(|(_, meta)| self.index_of(meta.id)) else {
            return;
        };
        let count = from.len().min(self.segments.len() - index);
        self.splice_segments(index, count, to.to_vec());
    }

    /// Replaces `count` segments from `index` with `replacement`; returns the splice.
    pub(crate) fn splice_segments(
        &mut self,
        index: usize,
        count: usize,
        replacement: Vec<(Segment, SegmentMeta)>,
    ) -> Splice {
        let range = index..index + count;
        let (segments, metas): (Vec<Segment>, Vec<SegmentMeta>) = replacement.iter().cloned().unzip();
        let old_segments: Vec<Segment> = self.segments.splice(range.clone(), segments).collect();
        let old_metas: Vec<SegmentMeta> = self.meta.splice(range, metas).collect();
        Splice { before: old_segments.into_iter().zip(old_metas).collect(), after: replacement }
    }

    /// Keeps `splices` (already applied) and a speaker change as one undo step. Returns
    /// whether there was anything to keep.
    pub(crate) fn record(&mut self, splices: Vec<Splice>, speakers: Option<(Vec<crate::transcript::Speaker>, Vec<crate::transcript::Speaker>)>) -> bool {
        let step = Step { splices, speakers };
        let changed = !step.is_empty();
        self.history.record(step);
        changed
    }
}

/// Where a split at byte `byte` of the text (after `left_words` words) falls in time: the
/// start of the first word of the second half when the words match the text one to one,
/// else a share of the segment's span by characters.
fn split_time(segment: &Segment, left_words: usize, byte: usize) -> f64 {
    let tokens = segment.text.split_whitespace().count();
    if segment.words.len() == tokens && left_words < tokens && left_words > 0 {
        let previous_end = segment.words[left_words - 1].end_s;
        let next_start = segment.words[left_words].start_s;
        if segment.text[..byte].ends_with(char::is_whitespace) || segment.text[byte..].starts_with(char::is_whitespace) {
            return next_start.max(previous_end);
        }
    }
    let share = byte as f64 / segment.text.len().max(1) as f64;
    segment.start_s + share * (segment.end_s - segment.start_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EngineEvent;

    fn word(text: &str, start_s: f64, end_s: f64, probability: f32) -> Word {
        Word { text: text.into(), start_s, end_s, probability: Some(probability) }
    }

    /// "one two three four" with a word per second, key `k`.
    fn timed(text: &str, start_s: f64, key: Option<&str>) -> Segment {
        let words: Vec<Word> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| word(w, start_s + i as f64, start_s + i as f64 + 0.8, 0.9))
            .collect();
        Segment {
            start_s,
            end_s: start_s + words.len() as f64,
            text: text.into(),
            speaker: Some("A".into()),
            words,
            revision_key: key.map(str::to_string),
            ..Default::default()
        }
    }

    fn texts(transcript: &Transcript) -> Vec<&str> {
        transcript.segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn an_edit_keeps_the_times_of_unchanged_words_and_undo_restores_it() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed("one two three four", 0.0, None));
        let original = transcript.segments[0].clone();
        let id = transcript.id_at(0).unwrap();
        assert!(transcript.edit_text(id, "one too three four"));
        let words = &transcript.segments[0].words;
        assert_eq!(words[0], original.words[0]);
        assert_eq!(words[2], original.words[2]);
        assert_eq!((words[1].text.as_str(), words[1].start_s, words[1].end_s, words[1].probability), ("too", 0.8, 2.0, None));
        assert!(!transcript.edit_text(id, "one too three four"), "the same text is no step");
        assert!(transcript.undo());
        assert_eq!(transcript.segments[0], original);
        assert!(transcript.redo());
        assert_eq!(transcript.segments[0].text, "one too three four");
        assert!(!transcript.redo());
    }

    #[test]
    fn split_divides_words_and_times_and_merge_joins_them_back() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed("one two three four", 0.0, None));
        transcript.push_segment(timed("five", 4.0, None));
        let original = transcript.segments.clone();
        let id = transcript.id_at(0).unwrap();
        let second = transcript.split(id, "one two ".len()).unwrap();
        assert_eq!(texts(&transcript), ["one two", "three four", "five"]);
        assert_eq!((transcript.segments[0].end_s, transcript.segments[1].start_s), (2.0, 2.0));
        assert_eq!(transcript.segments[1].words, original[0].words[2..]);
        assert_eq!(transcript.index_of(second), Some(1));
        assert_eq!(transcript.id_at(0), Some(id));
        assert!(transcript.split(id, 0).is_none(), "an empty half is no split");
        assert!(transcript.merge_with_next(id));
        assert_eq!(texts(&transcript), ["one two three four", "five"]);
        assert_eq!(transcript.segments[0].words, original[0].words);
        assert_eq!((transcript.segments[0].start_s, transcript.segments[0].end_s), (0.0, 4.0));
        let last = transcript.id_at(1).unwrap();
        assert!(!transcript.merge_with_next(last));
        // Undo the merge, then the split: the transcript is as it came.
        assert!(transcript.undo());
        assert_eq!(texts(&transcript), ["one two", "three four", "five"]);
        assert_eq!(transcript.index_of(second), Some(1));
        assert!(transcript.undo());
        assert_eq!(transcript.segments, original);
        assert_eq!(transcript.index_of(second), None);
    }

    #[test]
    fn a_split_inside_a_word_retimes_its_halves() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed("alpha beta", 0.0, None));
        let id = transcript.id_at(0).unwrap();
        transcript.split(id, 2).unwrap();
        assert_eq!(texts(&transcript), ["al", "pha beta"]);
        let words: Vec<_> = transcript.segments.iter().flat_map(|s| s.words.iter().map(|w| w.text.as_str())).collect();
        assert_eq!(words, ["al", "pha", "beta"]);
        assert!(transcript.segments[0].end_s <= transcript.segments[1].start_s);
    }

    #[test]
    fn speakers_and_renames_are_undo_steps() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed("hello", 0.0, None));
        let id = transcript.id_at(0).unwrap();
        assert!(transcript.set_speaker(id, "B"));
        assert!(transcript.rename_speaker("B", "Bea"));
        assert_eq!(transcript.segment_speaker_name(&transcript.segments[0]), Some("Bea"));
        assert!(transcript.undo());
        assert_eq!(transcript.segment_speaker_name(&transcript.segments[0]), Some("Speaker 2"));
        assert!(transcript.undo());
        assert_eq!(transcript.segment_speaker_name(&transcript.segments[0]), Some("Speaker 1"));
        assert_eq!(transcript.speakers.len(), 1);
        assert!(!transcript.undo());
    }

    /// While recording: the user splits and edits segments that a live engine still revises,
    /// and more text arrives. Each edit stays on the segment it was made on, and each revision
    /// reaches its own segment (or is dropped once merged away), never a neighbour.
    #[test]
    fn edits_by_id_survive_splits_revisions_and_new_text_while_recording() {
        let mut transcript = Transcript::new();
        for (text, key, start_s) in [("one two", "k0", 0.0), ("three four", "k1", 2.0), ("five six", "k2", 4.0)] {
            transcript.apply(&EngineEvent::Segment(timed(text, start_s, Some(key))));
        }
        let (first, second, third) = (transcript.id_at(0).unwrap(), transcript.id_at(1).unwrap(), transcript.id_at(2).unwrap());
        // The user opens segment 2 ("five six") for editing, then splits segment 0 above it.
        transcript.split(first, 4).unwrap();
        assert_eq!(texts(&transcript), ["one", "two", "three four", "five six"]);
        // A revision of k2 and new text arrive while the edit is open; then the edit commits.
        transcript.apply(&EngineEvent::Segment(timed("Five, six.", 4.0, Some("k2"))));
        transcript.apply(&EngineEvent::Segment(timed("seven", 6.0, Some("k3"))));
        assert!(transcript.edit_text(third, "Five and six"));
        // A revision of k1 after that keeps nothing of the edit on k2, and k0's revision keeps
        // the split (the user's text and times win).
        transcript.apply(&EngineEvent::Segment(timed("Three four.", 2.0, Some("k1"))));
        transcript.apply(&EngineEvent::Segment(timed("One two.", 0.0, Some("k0"))));
        assert_eq!(texts(&transcript), ["one", "two", "Three four.", "Five and six", "seven"]);
        assert_eq!(transcript.index_of(second), Some(2));
        assert_eq!(transcript.segments[0].end_s, 1.0);
        // Merging k1 into "two" drops k1's later revisions instead of appending them again.
        let two = transcript.id_at(1).unwrap();
        assert!(transcript.merge_with_next(two));
        transcript.apply(&EngineEvent::Segment(timed("THREE FOUR", 2.0, Some("k1"))));
        assert_eq!(texts(&transcript), ["one", "two Three four.", "Five and six", "seven"]);
        // Another revision of k2 keeps the user's text.
        transcript.apply(&EngineEvent::Segment(timed("5 6", 4.0, Some("k2"))));
        assert_eq!(transcript.segments[2].text, "Five and six");
        assert_eq!(transcript.index_of(third), Some(2));
    }
}
