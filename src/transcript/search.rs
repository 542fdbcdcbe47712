//! Find and replace across a transcript's segments: case-sensitive or not, whole words or
//! not; replace one match or all of them as a single undo step, with the word times of the
//! words a replacement does not touch kept (the same edit as typing it, see [`super::edit`]).

use super::Transcript;
use std::ops::Range;

/// How a search matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchOptions {
    pub case_sensitive: bool,
    /// Only matches with no letter or digit right before or after them.
    pub whole_word: bool,
}

/// One match: segment `segment`, bytes `range` of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub segment: usize,
    pub range: Range<usize>,
}

/// Every match of `query` in the transcript, in order. An empty query matches nothing.
pub fn find_all(transcript: &Transcript, query: &str, options: SearchOptions) -> Vec<Match> {
    let mut matches = Vec::new();
    for (segment, entry) in transcript.segments.iter().enumerate() {
        for range in find_in(&entry.text, query, options) {
            matches.push(Match { segment, range });
        }
    }
    matches
}

/// The byte ranges of `query` in `text`, not overlapping, left to right.
pub fn find_in(text: &str, query: &str, options: SearchOptions) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if query.is_empty() {
        return found;
    }
    let mut from = 0;
    while from < text.len() {
        let next = text[from..]
            .char_indices()
            .map(|(offset, _)| from + offset)
            .find_map(|start| match_at(text, start, query, options).map(|end| start..end));
        let Some(range) = next else { break };
        from = range.end.max(range.start + 1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        found.push(range);
    }
    found
}

/// Where a match of `query` starting at byte `start` of `text` ends, if there is one.
fn match_at(text: &str, start: usize, query: &str, options: SearchOptions) -> Option<usize> {
    let mut rest = text[start..].char_indices();
    let mut end = start;
    for wanted in query.chars() {
        let (offset, found) = rest.next()?;
        let same = if options.case_sensitive {
            found == wanted
        } else {
            found == wanted || found.to_lowercase().eq(wanted.to_lowercase())
        };
        if !same {
            return None;
        }
        end = start + offset + found.len_utf8();
    }
    if options.whole_word {
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric) {
            return None;
        }
    }
    Some(end)
}

impl Transcript {
    /// Replaces `found` (a match from [`find_all`]) with `replacement`, as one undo step.
    /// Returns `false` when the match no longer fits the text.
    pub fn replace_one(&mut self, found: &Match, replacement: &str) -> bool {
        let Some(text) = self.segments.get(found.segment).map(|segment| segment.text.as_str()) else {
            return false;
        };
        if text.get(found.range.clone()).is_none() {
            return false;
        }
        let new_text = format!("{}{}{}", &text[..found.range.start], replacement, &text[found.range.end..]);
        self.sync_meta();
        match self.id_at(found.segment) {
            Some(id) => self.edit_text(id, &new_text),
            None => false,
        }
    }

    /// Replaces every match of `query` with `replacement` as one undo step. Returns how many
    /// were replaced.
    pub fn replace_all(&mut self, query: &str, replacement: &str, options: SearchOptions) -> usize {
        self.sync_meta();
        let mut count = 0;
        let mut splices = Vec::new();
        for index in 0..self.segments.len() {
            let text = &self.segments[index].text;
            let ranges = find_in(text, query, options);
            if ranges.is_empty() {
                continue;
            }
            let mut new_text = String::with_capacity(text.len());
            let mut last = 0;
            for range in &ranges {
                new_text.push_str(&text[last..range.start]);
                new_text.push_str(replacement);
                last = range.end;
            }
            new_text.push_str(&text[last..]);
            count += ranges.len();
            if let Some(splice) = self.id_at(index).and_then(|id| self.text_edit_splice(id, &new_text)) {
                splices.push(splice);
            }
        }
        self.record(splices, None);
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Segment, Word};

    fn segment(text: &str) -> Segment {
        let words = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| Word { text: w.into(), start_s: i as f64, end_s: i as f64 + 0.5, probability: Some(0.9) })
            .collect();
        Segment { start_s: 0.0, end_s: 10.0, text: text.into(), speaker: None, words, revision_key: None, ..Default::default() }
    }

    #[test]
    fn case_and_whole_word_options_decide_what_matches() {
        let text = "Jon met jon, Jonathan and JON.";
        let any = SearchOptions::default();
        assert_eq!(find_in(text, "jon", any).len(), 4);
        let case = SearchOptions { case_sensitive: true, ..any };
        assert_eq!(find_in(text, "jon", case), [8..11]);
        let whole = SearchOptions { whole_word: true, ..any };
        assert_eq!(find_in(text, "jon", whole), [0..3, 8..11, 26..29]);
        assert_eq!(find_in("ÉCOLE école", "école", any), [0..6, 7..13]);
        assert!(find_in(text, "", any).is_empty());
        assert_eq!(find_in("aaaa", "aa", any), [0..2, 2..4]);
    }

    #[test]
    fn replace_all_is_one_step_and_keeps_other_words_times() {
        let mut transcript = Transcript::new();
        for text in ["Jon said hi", "then jon left", "nobody else"] {
            transcript.push_segment(segment(text));
        }
        let original = transcript.segments.clone();
        let options = SearchOptions::default();
        assert_eq!(find_all(&transcript, "jon", options).len(), 2);
        assert_eq!(transcript.replace_all("jon", "John", options), 2);
        assert_eq!(transcript.segments[0].text, "John said hi");
        assert_eq!(transcript.segments[1].text, "then John left");
        assert_eq!(transcript.segments[1].words[0], original[1].words[0]);
        assert_eq!(transcript.segments[1].words[2], original[1].words[2]);
        assert!(find_all(&transcript, "jon", options).is_empty());
        assert!(transcript.undo());
        assert_eq!(transcript.segments, original);
        assert_eq!(transcript.replace_all("nothing", "x", options), 0);
        assert!(transcript.history().can_redo(), "replacing nothing is no step");
    }

    #[test]
    fn replace_one_changes_only_that_match() {
        let mut transcript = Transcript::new();
        transcript.push_segment(segment("a cat and a cat"));
        let matches = find_all(&transcript, "cat", SearchOptions::default());
        assert!(transcript.replace_one(&matches[1], "dog"));
        assert_eq!(transcript.segments[0].text, "a cat and a dog");
        assert!(!transcript.replace_one(&Match { segment: 0, range: 40..43 }, "x"));
    }
}
