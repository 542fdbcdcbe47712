//! Timed segments built from a flat list of timed words (LLM Stats returns only the whole
//! text and its words).
//!
//! A segment ends at sentence punctuation, at a pause, or before it grows past a length that
//! still reads well as a subtitle. Providers often leave punctuation out of the word list but
//! keep it in the text, so the words are first matched against the text to get it back.
//! Without timed words, a text becomes one segment over the whole part.

use crate::events::{Segment, Word};

/// A text with no timed words as one segment from 0 to `end_s` (0 when unknown); none
/// when the text is empty.
pub fn text_as_one_segment(text: &str, end_s: Option<f64>) -> Vec<Segment> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    vec![Segment {
        revision_key: None,
        start_s: 0.0,
        end_s: end_s.unwrap_or(0.0),
        text: text.to_string(),
        speaker: None,
        words: Vec::new(),
        ..Default::default()
    }]
}

/// Where segments are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentRules {
    /// Longest segment text, in characters.
    pub max_chars: usize,
    /// A silence at least this long between two words ends a segment.
    pub pause_s: f64,
    /// Longest segment, in seconds.
    pub max_duration_s: f64,
}

impl Default for SegmentRules {
    fn default() -> Self {
        SegmentRules {
            max_chars: 100,
            pause_s: 0.8,
            max_duration_s: 12.0,
        }
    }
}

/// Groups `words` into segments. `text`, when given, supplies punctuation and casing the
/// word list lacks.
pub fn segments_from_words(
    words: &[Word],
    text: Option<&str>,
    rules: SegmentRules,
) -> Vec<Segment> {
    let mut words: Vec<Word> = words
        .iter()
        .filter(|word| {
            !word.text.trim().is_empty() && word.start_s.is_finite() && word.end_s.is_finite()
        })
        .map(|word| Word {
            text: word.text.trim().to_string(),
            end_s: word.end_s.max(word.start_s),
            ..word.clone()
        })
        .collect();
    if let Some(text) = text {
        let spelled_words = spell_from_text(&words_texts(&words), text);
        for (word, spelled) in words.iter_mut().zip(spelled_words) {
            word.text = spelled;
        }
    }
    let mut segments = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    let mut current_chars = 0usize;
    for (index, word) in words.iter().enumerate() {
        current_chars += word.text.chars().count() + usize::from(!current.is_empty());
        current.push(word.clone());
        let next = words.get(index + 1);
        let ends_sentence = ends_with_sentence_punctuation(&word.text);
        let pause = next.is_some_and(|next| next.start_s - word.end_s >= rules.pause_s);
        let too_long = next.is_some_and(|next| {
            let start_s = current.first().map_or(word.start_s, |first| first.start_s);
            current_chars + 1 + next.text.chars().count() > rules.max_chars
                || next.end_s - start_s > rules.max_duration_s
        });
        if next.is_none() || ends_sentence || pause || too_long {
            segments.push(segment_of(std::mem::take(&mut current)));
            current_chars = 0;
        }
    }
    segments
}

fn words_texts(words: &[Word]) -> Vec<&str> {
    words.iter().map(|word| word.text.as_str()).collect()
}

fn segment_of(words: Vec<Word>) -> Segment {
    let start_s = words.first().map_or(0.0, |word| word.start_s);
    let end_s = words.iter().map(|word| word.end_s).fold(start_s, f64::max);
    let text = words
        .iter()
        .map(|word| word.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Segment {
        revision_key: None,
        start_s,
        end_s,
        text,
        speaker: None,
        words,
        ..Default::default()
    }
}

fn ends_with_sentence_punctuation(text: &str) -> bool {
    let trimmed = text.trim_end_matches(['"', '\'', ')', ']', '»', '”', '’']);
    trimmed.ends_with(['.', '?', '!', '…', '。', '？', '！'])
}

/// The spelling of each word as the text has it (with punctuation), matched in order; a
/// word the text does not have nearby keeps its own spelling.
fn spell_from_text(words: &[&str], text: &str) -> Vec<String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut next_token = 0usize;
    words
        .iter()
        .map(|word| {
            let wanted = normalise(word);
            let found = (next_token..(next_token + 4).min(tokens.len()))
                .find(|&index| !wanted.is_empty() && normalise(tokens[index]) == wanted);
            match found {
                Some(index) => {
                    next_token = index + 1;
                    tokens[index].to_string()
                }
                None => word.to_string(),
            }
        })
        .collect()
}

fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start_s: f64, end_s: f64) -> Word {
        Word {
            text: text.into(),
            start_s,
            end_s,
            probability: Some(0.9),
        }
    }

    #[test]
    fn sentences_end_segments_and_punctuation_comes_back_from_the_text() {
        let words = [
            word("and", 0.0, 0.3),
            word("so", 0.3, 0.5),
            word("my", 0.5, 0.7),
            word("fellow", 0.7, 1.0),
            word("americans", 1.0, 1.6),
            word("ask", 2.0, 2.3),
            word("not", 2.3, 2.6),
        ];
        let segments = segments_from_words(
            &words,
            Some("And so, my fellow Americans. Ask not"),
            SegmentRules::default(),
        );
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].text, "And so, my fellow Americans.");
        assert_eq!((segments[0].start_s, segments[0].end_s), (0.0, 1.6));
        assert_eq!(segments[1].text, "Ask not");
        assert_eq!(segments[1].words.len(), 2);
    }

    #[test]
    fn pauses_and_length_also_end_segments() {
        let words = [
            word("one", 0.0, 0.5),
            word("two", 2.0, 2.5),
            word("three", 2.5, 3.0),
        ];
        let segments = segments_from_words(&words, None, SegmentRules::default());
        assert_eq!(
            segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
            ["one", "two three"]
        );
        let rules = SegmentRules {
            max_chars: 8,
            ..SegmentRules::default()
        };
        let segments = segments_from_words(&words[1..], None, rules);
        assert_eq!(segments.len(), 2);
        let many: Vec<Word> = (0..40)
            .map(|i| word("la", i as f64 * 0.5, i as f64 * 0.5 + 0.4))
            .collect();
        for segment in segments_from_words(&many, None, SegmentRules::default()) {
            assert!(segment.end_s - segment.start_s <= 12.0);
        }
    }

    #[test]
    fn words_missing_from_the_text_keep_their_spelling() {
        let spelled = spell_from_text(&["hello", "zzz", "world"], "Hello, world!");
        assert_eq!(spelled, ["Hello,", "zzz", "world!"]);
        assert!(segments_from_words(&[], Some("text"), SegmentRules::default()).is_empty());
    }
}
