//! Confidence review: the words an engine was unsure of (local whisper's token probabilities,
//! LLM Stats' and 60db's word confidences all arrive as [`Word::probability`]) until the
//! user accepts them or types over them.
//!
//! A word the user typed has no probability, so fixing a word clears its mark by itself; an
//! accepted word is remembered in the segment's [`SegmentMeta::reviewed_words`] and saved in
//! the transcript JSON (`"reviewed": true`), so the review survives a restart.
//!
//! [`Word::probability`]: crate::events::Word::probability
//! [`SegmentMeta::reviewed_words`]: super::SegmentMeta::reviewed_words

use super::{SegmentMeta, Transcript};

/// Words below this probability are marked for review.
pub const UNCERTAIN_BELOW: f32 = 0.5;

/// A word of a segment: (segment index, word index).
pub type WordAt = (usize, usize);

impl Transcript {
    /// Whether word `word` of segment `segment` waits for review: the engine was unsure of it
    /// and the user has not accepted it.
    pub fn is_uncertain(&self, segment: usize, word: usize) -> bool {
        let unsure = self
            .segments
            .get(segment)
            .and_then(|entry| entry.words.get(word))
            .and_then(|entry| entry.probability)
            .is_some_and(|probability| probability < UNCERTAIN_BELOW);
        unsure && !self.is_reviewed(segment, word)
    }

    /// The first word waiting for review after `after` (or from the start), wrapping around
    /// to the beginning; `None` when none is left.
    pub fn next_uncertain(&self, after: Option<WordAt>) -> Option<WordAt> {
        let all = self
            .segments
            .iter()
            .enumerate()
            .flat_map(|(segment, entry)| (0..entry.words.len()).map(move |word| (segment, word)));
        let mut first = None;
        for at in all.filter(|&(segment, word)| self.is_uncertain(segment, word)) {
            if after.is_none_or(|after| at > after) {
                return Some(at);
            }
            first.get_or_insert(at);
        }
        first
    }

    /// How many words wait for review.
    pub fn uncertain_count(&self) -> usize {
        (0..self.segments.len())
            .map(|segment| (0..self.segments[segment].words.len()).filter(|&word| self.is_uncertain(segment, word)).count())
            .sum()
    }

    /// Accepts the word as it is (an undo step). Returns `false` if it waited for nothing.
    pub fn accept_word(&mut self, (segment, word): WordAt) -> bool {
        if !self.is_uncertain(segment, word) {
            return false;
        }
        self.sync_meta();
        let mut meta: SegmentMeta = self.meta[segment].clone();
        meta.reviewed_words.insert(word);
        let entry = self.segments[segment].clone();
        let splice = self.splice_segments(segment, 1, vec![(entry, meta)]);
        self.record(vec![splice], None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Segment, Word};

    fn segment(words: &[(&str, Option<f32>)]) -> Segment {
        Segment {
            start_s: 0.0,
            end_s: words.len() as f64,
            text: words.iter().map(|(text, _)| *text).collect::<Vec<_>>().join(" "),
            speaker: None,
            words: words
                .iter()
                .enumerate()
                .map(|(i, (text, probability))| Word { text: (*text).into(), start_s: i as f64, end_s: i as f64 + 0.9, probability: *probability })
                .collect(),
            revision_key: None,
            ..Default::default()
        }
    }

    #[test]
    fn next_uncertain_walks_the_low_words_and_accepting_or_fixing_clears_them() {
        let mut transcript = Transcript::new();
        transcript.push_segment(segment(&[("sure", Some(0.95)), ("maybe", Some(0.3))]));
        transcript.push_segment(segment(&[("unknown", None), ("doubt", Some(0.1)), ("fine", Some(0.8))]));
        assert_eq!(transcript.uncertain_count(), 2);
        assert_eq!(transcript.next_uncertain(None), Some((0, 1)));
        assert_eq!(transcript.next_uncertain(Some((0, 1))), Some((1, 1)));
        assert_eq!(transcript.next_uncertain(Some((1, 1))), Some((0, 1)), "wraps around");
        assert!(transcript.accept_word((0, 1)));
        assert!(!transcript.accept_word((0, 0)));
        assert_eq!(transcript.next_uncertain(None), Some((1, 1)));
        // Fixing the word: the typed word has no probability; the accepted one stays accepted.
        let id = transcript.id_at(1).unwrap();
        assert!(transcript.edit_text(id, "unknown doubled fine"));
        assert_eq!(transcript.next_uncertain(None), None);
        let first = transcript.id_at(0).unwrap();
        assert!(transcript.edit_text(first, "Sure maybe"));
        assert!(!transcript.is_uncertain(0, 1), "an accepted word stays accepted through an edit");
        // Undo brings the mark back.
        assert!(transcript.undo());
        assert!(transcript.undo());
        assert!(transcript.undo());
        assert_eq!(transcript.uncertain_count(), 2);
    }
}
