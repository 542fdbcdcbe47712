//! Segments from the words of one decoded window, and the speech those words leave empty.
//!
//! A window is decoded as one piece of text ([`super::pipeline`]); it is cut into segments
//! here, after a sentence ends or where the speaker pauses, so segment times come from the
//! first and last word (not from Whisper's coarse timestamp tokens). What the voice activity
//! calls speech but no word covers is measured too: the pipeline decodes such a window again,
//! and reports what stays empty.

use super::windows;
use crate::events::{Segment, Word};
use crate::vad;
use std::ops::Range;

/// A pause at least this long between two words ends a segment.
pub const SEGMENT_PAUSE_S: f64 = 1.0;
/// Speech at least this long with no word on it counts as left empty.
pub const MIN_UNCOVERED_S: f64 = 0.5;

/// Cuts `words` into segments after sentence-final punctuation and at pauses of
/// [`SEGMENT_PAUSE_S`]. Each segment spans its words; `template` gives the other fields.
pub fn split_into_segments(words: Vec<Word>, template: &Segment) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    for word in words {
        let pause = current.last().is_some_and(|last: &Word| word.start_s - last.end_s >= SEGMENT_PAUSE_S);
        if pause {
            segments.push(segment_of(std::mem::take(&mut current), template));
        }
        let ends_sentence = ends_sentence(&word.text);
        current.push(word);
        if ends_sentence {
            segments.push(segment_of(std::mem::take(&mut current), template));
        }
    }
    if !current.is_empty() {
        segments.push(segment_of(current, template));
    }
    segments
}

fn ends_sentence(text: &str) -> bool {
    let trimmed = text.trim_end_matches(['"', '\'', ')', '»', '”', '’']);
    trimmed.ends_with(['.', '?', '!', '…', '。', '？', '！'])
}

fn segment_of(words: Vec<Word>, template: &Segment) -> Segment {
    let text = words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    Segment {
        start_s: words.first().map_or(template.start_s, |w| w.start_s),
        end_s: words.last().map_or(template.end_s, |w| w.end_s),
        text,
        words,
        ..template.clone()
    }
}

/// Runs of speech in `span` (frames of `active`, which starts at `active_start_s`) of at
/// least [`MIN_UNCOVERED_S`] that no word of `segments` touches, in seconds of the file.
pub fn uncovered_speech(active: &[bool], active_start_s: f64, span: Range<usize>, segments: &[Segment]) -> Vec<(f64, f64)> {
    let to_s = |frame: usize| active_start_s + frame as f64 * vad::FRAME_S;
    let words: Vec<(f64, f64)> = segments.iter().flat_map(|s| s.words.iter().map(|w| (w.start_s, w.end_s))).collect();
    let mut uncovered = Vec::new();
    for run in windows::speech_runs(active, span) {
        let (start_s, end_s) = (to_s(run.start), to_s(run.end));
        if end_s - start_s < MIN_UNCOVERED_S {
            continue;
        }
        // Split the run by the words on it; keep what is left between them.
        let mut cursor_s = start_s;
        for &(word_start_s, word_end_s) in words.iter().filter(|&&(a, b)| b > start_s && a < end_s) {
            if word_start_s - cursor_s >= MIN_UNCOVERED_S {
                uncovered.push((cursor_s, word_start_s));
            }
            cursor_s = cursor_s.max(word_end_s);
        }
        if end_s - cursor_s >= MIN_UNCOVERED_S {
            uncovered.push((cursor_s, end_s));
        }
    }
    merge_close(uncovered)
}

/// Joins stretches less than a second apart, so one lost passage is one warning.
fn merge_close(stretches: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(stretches.len());
    for (start_s, end_s) in stretches {
        match merged.last_mut() {
            Some(last) if start_s - last.1 < 1.0 => last.1 = end_s,
            _ => merged.push((start_s, end_s)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start_s: f64, end_s: f64) -> Word {
        Word { text: text.into(), start_s, end_s, probability: Some(0.9) }
    }

    #[test]
    fn segments_end_at_sentences_and_pauses_and_span_their_words() {
        let words = vec![
            word("Today", 0.5, 0.8),
            word("only.", 0.8, 1.2),
            word("The", 1.3, 1.5),
            word("expression", 1.5, 2.0),
            word("goes", 3.5, 3.9),
        ];
        let template = Segment { language: Some("en".into()), ..Segment::default() };
        let segments = split_into_segments(words, &template);
        let texts: Vec<_> = segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Today only.", "The expression", "goes"]);
        assert_eq!((segments[1].start_s, segments[1].end_s), (1.3, 2.0));
        assert!(segments.iter().all(|s| s.language.as_deref() == Some("en")));
    }

    #[test]
    fn speech_without_words_is_reported_in_file_seconds() {
        // Speech 1–3 s and 5–9 s of a chunk starting at 100 s; words cover 1–3 s and 5–6 s.
        let active: Vec<bool> = (0..500).map(|i| (50..150).contains(&i) || (250..450).contains(&i)).collect();
        let segments = vec![Segment {
            words: vec![word("a", 101.0, 103.0), word("b", 105.0, 106.0)],
            ..Segment::default()
        }];
        let uncovered = uncovered_speech(&active, 100.0, 0..500, &segments);
        assert_eq!(uncovered.len(), 1);
        assert!((uncovered[0].0 - 106.0).abs() < 1e-9 && (uncovered[0].1 - 109.0).abs() < 1e-9, "{uncovered:?}");
        assert!(uncovered_speech(&active, 100.0, 0..200, &segments).is_empty());
    }
}
