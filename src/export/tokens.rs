//! A segment's words with a time span each: the units subtitle cues are cut from.
//!
//! The text always comes from `segment.text` (what people see and edit); word timestamps only
//! supply the times. Engines disagree about words (OpenAI drops punctuation, whisper.cpp
//! splits "don't" into tokens), so text and words are matched on their letters and digits
//! alone. When they do not match — or there are no words — times are shared out across the
//! segment by character count. Word times are kept inside their segment's span and made
//! non-decreasing.

use crate::transcript::retime::word_key as normalized;
use crate::events::{Segment, Word};

/// How strongly a break after this token ends a thought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Punctuation {
    None,
    /// `,` `;` `:` and dashes.
    Clause,
    /// `.` `!` `?` and the ellipsis.
    Sentence,
}

/// One whitespace-separated piece of segment text, with the time it is spoken.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedToken {
    pub text: String,
    /// Width in characters (Unicode scalar values).
    pub width: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub punctuation: Punctuation,
}

/// The words of a segment's text, as they are exported: split at whitespace, control
/// characters removed, empty pieces dropped.
pub fn text_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|piece| {
            piece
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
        })
        .filter(|piece| !piece.is_empty())
        .collect()
}

/// The segment's tokens with times that never go backwards.
pub fn segment_tokens(segment: &Segment) -> Vec<TimedToken> {
    let words = text_words(&segment.text);
    if words.is_empty() {
        return Vec::new();
    }
    let (start_s, end_s) = segment_span(segment);
    let mut times = match word_aligned_times(&words, &segment.words) {
        Some(mut times) => {
            // A word never sits outside its segment: one wild timestamp would otherwise drag
            // the rest of the segment along. (A zero-length segment says nothing, so its
            // words keep their own times.)
            if end_s > start_s {
                for (word_start_s, word_end_s) in times.iter_mut() {
                    *word_start_s = word_start_s.clamp(start_s, end_s);
                    *word_end_s = word_end_s.clamp(start_s, end_s);
                }
            }
            times
        }
        None => interpolated_times(&words, start_s, end_s),
    };
    make_monotonic(&mut times, start_s);
    words
        .into_iter()
        .zip(times)
        .map(|(text, (start_s, end_s))| TimedToken {
            width: text.chars().count(),
            punctuation: punctuation_of(&text),
            text,
            start_s,
            end_s,
        })
        .collect()
}

/// The segment's start and end, made finite, non-negative and ordered.
pub fn segment_span(segment: &Segment) -> (f64, f64) {
    let start_s = if segment.start_s.is_finite() {
        segment.start_s.max(0.0)
    } else {
        0.0
    };
    let end_s = if segment.end_s.is_finite() {
        segment.end_s.max(start_s)
    } else {
        start_s
    };
    (start_s, end_s)
}

/// What a break after `token` is worth, judged by its last character (closing quotes and
/// brackets skipped).
pub fn punctuation_of(token: &str) -> Punctuation {
    let last = token.chars().rev().find(|c| {
        !matches!(
            c,
            '"' | '\'' | '”' | '’' | '»' | ')' | ']' | '}' | '」' | '』'
        )
    });
    match last {
        Some('.' | '!' | '?' | '…' | '。' | '！' | '？') => Punctuation::Sentence,
        Some(',' | ';' | ':' | '，' | '、' | '；' | '：' | '—' | '–') => {
            Punctuation::Clause
        }
        _ => Punctuation::None,
    }
}


/// Times for each text token taken from the engine's words, or `None` when the words do not
/// spell the same letters as the text.
fn word_aligned_times(tokens: &[String], words: &[Word]) -> Option<Vec<(f64, f64)>> {
    if words.is_empty() {
        return None;
    }
    let mut word_chars: Vec<(char, usize)> = Vec::new();
    for (index, word) in words.iter().enumerate() {
        word_chars.extend(normalized(&word.text).map(|c| (c, index)));
    }
    let mut position = 0;
    let mut ranges = Vec::with_capacity(tokens.len());
    for token in tokens {
        let first = position;
        for c in normalized(token) {
            match word_chars.get(position) {
                Some((word_char, _)) if *word_char == c => position += 1,
                _ => return None,
            }
        }
        ranges.push(first..position);
    }
    if position == 0 || position != word_chars.len() {
        return None;
    }
    let word_at = |char_index: usize| {
        word_chars
            .get(char_index)
            .and_then(|(_, index)| words.get(*index))
    };
    let mut times: Vec<Option<(f64, f64)>> = ranges
        .iter()
        .map(|range| {
            if range.is_empty() {
                return None;
            }
            let first = word_at(range.start)?;
            let last = word_at(range.end - 1)?;
            Some((first.start_s, last.end_s))
        })
        .collect();
    // Tokens without letters ("–", "...") sit where the previous token ends, or where the
    // next one starts when they open the segment.
    let mut previous_end: Option<f64> = None;
    for time in times.iter_mut() {
        match time {
            Some((_, end_s)) => previous_end = Some(*end_s),
            None => *time = previous_end.map(|end_s| (end_s, end_s)),
        }
    }
    let mut next_start: Option<f64> = None;
    for time in times.iter_mut().rev() {
        match time {
            Some((start_s, _)) => next_start = Some(*start_s),
            None => *time = next_start.map(|start_s| (start_s, start_s)),
        }
    }
    times.into_iter().collect()
}

/// Shares the segment's span out across the tokens by character count; the spaces between
/// them are the short gaps between words, so the first token starts with the segment and
/// the last ends with it.
fn interpolated_times(tokens: &[String], start_s: f64, end_s: f64) -> Vec<(f64, f64)> {
    let total: usize = tokens
        .iter()
        .map(|token| token.chars().count() + 1)
        .sum::<usize>()
        .saturating_sub(1);
    let total = total.max(1) as f64;
    let duration_s = end_s - start_s;
    let mut done = 0usize;
    tokens
        .iter()
        .map(|token| {
            let width = token.chars().count();
            let token_start_s = start_s + duration_s * done as f64 / total;
            let token_end_s = start_s + duration_s * (done + width) as f64 / total;
            done += width + 1;
            (token_start_s, token_end_s)
        })
        .collect()
}

/// Makes starts and ends finite, no earlier than `floor_s` and non-decreasing, with every
/// end at or after its start.
fn make_monotonic(times: &mut [(f64, f64)], floor_s: f64) {
    let mut last_start = floor_s;
    let mut last_end = floor_s;
    for (start_s, end_s) in times.iter_mut() {
        let start = if start_s.is_finite() {
            start_s.max(last_start)
        } else {
            last_end.max(last_start)
        };
        let end = if end_s.is_finite() {
            end_s.max(start)
        } else {
            start
        };
        let end = end.max(last_end);
        *start_s = start;
        *end_s = end;
        last_start = start;
        last_end = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start_s: f64, end_s: f64) -> Word {
        Word {
            text: text.into(),
            start_s,
            end_s,
            probability: None,
        }
    }

    fn segment(text: &str, start_s: f64, end_s: f64, words: Vec<Word>) -> Segment {
        Segment {
            revision_key: None,
            start_s,
            end_s,
            text: text.into(),
            speaker: None,
            words,
            ..Default::default()
        }
    }

    #[test]
    fn word_times_survive_punctuation_that_the_words_lack() {
        let tokens = segment_tokens(&segment(
            "Hello, world. Don't – go!",
            0.0,
            4.0,
            vec![
                word("hello", 0.5, 0.9),
                word("world", 1.0, 1.5),
                word("don", 2.0, 2.2),
                word("'t", 2.2, 2.4),
                word("go", 3.0, 3.5),
            ],
        ));
        let texts: Vec<_> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hello,", "world.", "Don't", "–", "go!"]);
        let times: Vec<_> = tokens.iter().map(|t| (t.start_s, t.end_s)).collect();
        assert_eq!(
            times,
            [(0.5, 0.9), (1.0, 1.5), (2.0, 2.4), (2.4, 2.4), (3.0, 3.5)]
        );
        assert_eq!(tokens[0].punctuation, Punctuation::Clause);
        assert_eq!(tokens[1].punctuation, Punctuation::Sentence);
        assert_eq!(tokens[2].punctuation, Punctuation::None);
    }

    #[test]
    fn mismatched_words_fall_back_to_character_share() {
        let tokens = segment_tokens(&segment("ab cd", 10.0, 16.0, vec![word("xyz", 0.0, 1.0)]));
        assert_eq!(tokens.len(), 2);
        assert_eq!((tokens[0].start_s, tokens[0].end_s), (10.0, 12.4));
        assert_eq!((tokens[1].start_s, tokens[1].end_s), (13.6, 16.0));
    }

    #[test]
    fn broken_times_are_repaired() {
        let tokens = segment_tokens(&segment(
            "a b c",
            0.0,
            1.0,
            vec![
                word("a", f64::NAN, 2.0),
                word("b", 1.0, 0.5),
                word("c", 3.0, f64::INFINITY),
            ],
        ));
        for pair in tokens.windows(2) {
            assert!(pair[1].start_s >= pair[0].start_s);
            assert!(pair[1].end_s >= pair[0].end_s);
        }
        assert!(
            tokens
                .iter()
                .all(|t| t.start_s.is_finite() && t.end_s.is_finite() && t.end_s >= t.start_s)
        );
    }

    #[test]
    fn control_characters_and_blank_text_give_no_empty_tokens() {
        assert!(segment_tokens(&segment(" \t\n", 0.0, 1.0, vec![])).is_empty());
        assert_eq!(text_words("a\u{0}b \u{7} c"), ["ab", "c"]);
    }
}
