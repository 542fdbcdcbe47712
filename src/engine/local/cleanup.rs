//! Keeps invented text out of the transcript.
//!
//! Fed silence or music, Whisper models produce text that was never said: stock phrases
//! over silence, and the same sentence over and over once decoding falls into a loop. These
//! rules drop segments that lie over silence and the third and later copies of a repeated
//! segment, and cut a phrase that a segment repeats many times in a row down to one copy.
//! A segment over sound that the model itself doubts is speech is kept, marked
//! low-confidence: it may be real speech said unclearly, and dropping it would lose it
//! without trace. (A dropped repeat leaves its speech uncovered, which the pipeline
//! notices, decodes again and, failing that, reports.)

use crate::events::Segment;
use crate::vad;

/// Probability above which whisper.cpp's "no speech" estimate, together with low token
/// confidence, marks a segment as doubtful.
const NO_SPEECH_PROBABILITY: f32 = 0.5;
const LOW_MEAN_WORD_PROBABILITY: f32 = 0.45;

/// Fraction of a segment's span that must carry sound for it to be kept.
const MIN_ACTIVE_FRACTION: f64 = 0.1;

/// How many times in a row one phrase may repeat inside a segment before the rest is cut.
const MAX_PHRASE_REPEATS: usize = 3;

/// Decides, segment by segment, what reaches the transcript.
#[derive(Debug, Clone, Default)]
pub struct SegmentFilter {
    previous_texts: Vec<String>,
}

impl SegmentFilter {
    /// Returns the segment to keep (possibly with a repeated phrase cut, possibly marked
    /// [`Segment::low_confidence`]), or `None`.
    /// `active` is the chunk's voice activity (frames of [`vad::FRAME_S`]); `chunk_start_s`
    /// is where the chunk starts in the file; `no_speech_probability` is whisper.cpp's.
    pub fn accept(
        &mut self,
        segment: Segment,
        no_speech_probability: f32,
        active: &[bool],
        chunk_start_s: f64,
    ) -> Option<Segment> {
        if lies_over_silence(segment.start_s, segment.end_s, active, chunk_start_s) {
            return None;
        }
        self.accept_over_sound(segment, no_speech_probability)
    }

    /// The segments cut from one piece whisper.cpp decoded ([`super::segments`]): the piece
    /// is judged as a whole for silence, then each segment by the other rules. A word the
    /// alignment put past the end of the speech, split off into a segment of its own, is
    /// part of text decoded over speech and is not dropped as if it lay over silence.
    pub fn accept_piece(
        &mut self,
        segments: Vec<Segment>,
        no_speech_probability: f32,
        active: &[bool],
        chunk_start_s: f64,
    ) -> Vec<Segment> {
        let (Some(first), Some(last)) = (segments.first(), segments.last()) else { return Vec::new() };
        if lies_over_silence(first.start_s, last.end_s, active, chunk_start_s) {
            return Vec::new();
        }
        segments.into_iter().filter_map(|segment| self.accept_over_sound(segment, no_speech_probability)).collect()
    }

    /// The rules for text over sound: no text without a letter or digit, doubtful text
    /// marked, the third copy in a row dropped, a phrase looping inside a segment cut.
    fn accept_over_sound(&mut self, mut segment: Segment, no_speech_probability: f32) -> Option<Segment> {
        let text = segment.text.trim().to_string();
        if !text.chars().any(char::is_alphanumeric) {
            return None;
        }
        if no_speech_probability > NO_SPEECH_PROBABILITY {
            let probabilities: Vec<f32> = segment.words.iter().filter_map(|w| w.probability).collect();
            let mean = if probabilities.is_empty() {
                0.0
            } else {
                probabilities.iter().sum::<f32>() / probabilities.len() as f32
            };
            if mean < LOW_MEAN_WORD_PROBABILITY {
                segment.low_confidence = true;
            }
        }
        let normalized = crate::wer::normalize(&text);
        let repeats = self.previous_texts.iter().rev().take_while(|previous| **previous == normalized).count();
        if repeats >= 2 {
            return None;
        }
        self.previous_texts.push(normalized);
        if self.previous_texts.len() > 8 {
            self.previous_texts.remove(0);
        }
        segment.text = text;
        if let Some(cut) = cut_repeated_phrase(&segment.text) {
            let kept_words = cut.split_whitespace().count();
            segment.words.truncate(kept_words);
            if let Some(last) = segment.words.last() {
                segment.end_s = last.end_s;
            }
            segment.text = cut;
        }
        Some(segment)
    }
}

/// Whether `start_s..end_s` (file seconds; `active` starts at `chunk_start_s`) carries
/// too little sound for text on it to have been said there.
fn lies_over_silence(start_s: f64, end_s: f64, active: &[bool], chunk_start_s: f64) -> bool {
    let local_start_s = start_s - chunk_start_s - 0.2;
    let local_end_s = end_s - chunk_start_s + 0.2;
    vad::active_fraction(active, local_start_s, local_end_s) < MIN_ACTIVE_FRACTION
}

/// If `text` repeats one phrase (1–8 words) more than [`MAX_PHRASE_REPEATS`] times in a row,
/// returns the text with that run cut to a single copy.
pub fn cut_repeated_phrase(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| crate::wer::normalize(w)).collect();
    for phrase_len in 1..=8.min(words.len() / 2) {
        let mut start = 0;
        while start + phrase_len <= words.len() {
            let phrase = &keys[start..start + phrase_len];
            let mut copies = 1;
            while start + (copies + 1) * phrase_len <= words.len()
                && &keys[start + copies * phrase_len..start + (copies + 1) * phrase_len] == phrase
            {
                copies += 1;
            }
            if copies > MAX_PHRASE_REPEATS {
                let mut kept: Vec<&str> = words[..start + phrase_len].to_vec();
                kept.extend_from_slice(&words[start + copies * phrase_len..]);
                return Some(kept.join(" "));
            }
            start += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, start_s: f64, end_s: f64) -> Segment {
        Segment { start_s, end_s, text: text.into(), speaker: None, words: vec![], revision_key: None, ..Default::default() }
    }

    #[test]
    fn segment_over_silence_is_dropped() {
        let mut filter = SegmentFilter::default();
        let mut active = vec![false; 100];
        assert!(filter.accept(segment("Thank you.", 0.0, 1.0), 0.1, &active, 0.0).is_none());
        active[10..40].iter_mut().for_each(|a| *a = true);
        assert!(filter.accept(segment("Hello there.", 0.0, 1.0), 0.1, &active, 0.0).is_some());
    }

    #[test]
    fn text_the_model_doubts_is_kept_and_marked() {
        let mut filter = SegmentFilter::default();
        let active = vec![true; 100];
        let doubtful = Segment {
            words: vec![crate::events::Word { text: "Eindruck".into(), start_s: 0.0, end_s: 1.0, probability: Some(0.2) }],
            ..segment("Eindruck", 0.0, 1.0)
        };
        let kept = filter.accept(doubtful, 0.9, &active, 0.0).expect("doubtful text over sound is kept");
        assert!(kept.low_confidence);
        let sure = filter.accept(segment("Hello there.", 1.0, 2.0), 0.1, &active, 0.0).unwrap();
        assert!(!sure.low_confidence);
    }

    #[test]
    fn every_word_of_a_piece_over_speech_is_kept_even_one_aligned_past_the_speech() {
        // test_en.wav with base: speech until 3.38 s of 4.46 s; the alignment puts "used." at
        // the end of the audio, a pause after "are", so it is cut into a segment of its own.
        let active: Vec<bool> = (0..224).map(|frame| (36..169).contains(&frame)).collect();
        let word = |text: &str, start_s: f64, end_s: f64| crate::events::Word { text: text.into(), start_s, end_s, probability: Some(0.9) };
        let words = vec![word("Today", 0.73, 0.96), word("only", 0.96, 1.38), word("are", 3.22, 3.38), word("used.", 4.44, 4.46)];
        let pieces = super::super::segments::split_into_segments(words.clone(), &Segment::default());
        assert_eq!(pieces.last().map(|segment| segment.text.as_str()), Some("used."), "a segment of its own: {pieces:?}");
        let kept = SegmentFilter::default().accept_piece(pieces, 0.1, &active, 0.0);
        let kept_words: Vec<_> = kept.iter().flat_map(|segment| segment.words.clone()).collect();
        assert_eq!(kept_words, words, "no decoded word is lost");
        // A piece that lies over silence as a whole is still dropped.
        let silent = vec![segment("Thank you.", 5.0, 6.0)];
        assert!(SegmentFilter::default().accept_piece(silent, 0.1, &vec![false; 400], 0.0).is_empty());
    }

    #[test]
    fn third_copy_of_a_segment_is_dropped() {
        let mut filter = SegmentFilter::default();
        let active = vec![true; 500];
        assert!(filter.accept(segment("We will go.", 0.0, 1.0), 0.0, &active, 0.0).is_some());
        assert!(filter.accept(segment("We will go.", 1.0, 2.0), 0.0, &active, 0.0).is_some());
        assert!(filter.accept(segment("we will go", 2.0, 3.0), 0.0, &active, 0.0).is_none());
        assert!(filter.accept(segment("Something else.", 3.0, 4.0), 0.0, &active, 0.0).is_some());
    }

    #[test]
    fn phrase_loop_inside_a_segment_is_cut() {
        assert_eq!(
            cut_repeated_phrase("I said the end the end the end the end the end now").as_deref(),
            Some("I said the end now")
        );
        assert_eq!(cut_repeated_phrase("no no no"), None);
        assert_eq!(cut_repeated_phrase("a perfectly normal sentence"), None);
    }
}
