//! Line breaking for subtitle cues: how many lines some words need, and where to break them
//! so the lines come out balanced.
//!
//! Lines break only between words. A word longer than a line gets a line of its own rather
//! than being cut.

use super::tokens::Punctuation;
use std::ops::Range;

/// What line breaking needs to know about a word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub width: usize,
    pub punctuation: Punctuation,
}

/// Counts the lines a run of words needs as words are added at the front, one at a time.
///
/// Filling lines greedily from either end gives the fewest lines, so adding at the front
/// keeps the count exact in constant time per word.
#[derive(Debug, Clone, Copy)]
pub struct FrontPacker {
    max_chars: usize,
    lines: usize,
    first_line_width: usize,
    /// The first line holds a word longer than a line: nothing may join it.
    first_line_full: bool,
}

impl FrontPacker {
    pub fn new(max_chars: usize) -> FrontPacker {
        FrontPacker {
            max_chars: max_chars.max(1),
            lines: 0,
            first_line_width: 0,
            first_line_full: false,
        }
    }

    /// Puts a word of `width` characters in front of the others.
    pub fn prepend(&mut self, width: usize) {
        let overlong = width > self.max_chars;
        if self.lines > 0
            && !overlong
            && !self.first_line_full
            && self.first_line_width + 1 + width <= self.max_chars
        {
            self.first_line_width += 1 + width;
        } else {
            self.lines += 1;
            self.first_line_width = width;
            self.first_line_full = overlong;
        }
    }

    /// Lines needed now.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Lines that would be needed with one more word of `width` in front.
    pub fn lines_with(&self, width: usize) -> usize {
        let mut copy = *self;
        copy.prepend(width);
        copy.lines
    }
}

/// Width of words `range` set on one line with single spaces.
fn joined_width(pieces: &[Piece], range: Range<usize>) -> usize {
    let count = range.len();
    pieces
        .get(range)
        .map(|slice| slice.iter().map(|piece| piece.width).sum::<usize>())
        .unwrap_or(0)
        + count.saturating_sub(1)
}

/// Fewest lines of at most `max_chars` that hold `pieces` in order.
pub fn minimal_line_count(pieces: &[Piece], max_chars: usize) -> usize {
    let mut packer = FrontPacker::new(max_chars);
    for piece in pieces.iter().rev() {
        packer.prepend(piece.width);
    }
    packer.lines()
}

/// Cost of breaking a line after a word with this punctuation: breaking after a full stop is
/// free, after a comma cheap, in the middle of a phrase dear. Measured against twice the
/// characters by which the lines miss an even split, so a break moves to a comma up to about
/// six characters away from the middle.
fn break_cost(punctuation: Punctuation) -> f64 {
    match punctuation {
        Punctuation::Sentence => 0.0,
        Punctuation::Clause => 15.0,
        Punctuation::None => 40.0,
    }
}

/// Splits `pieces` into the fewest lines of at most `max_chars` (but never more than
/// `max_lines`; what does not fit shares the last line), choosing the breaks that make the
/// lines most even, preferring breaks after punctuation. Returns the word range of each line.
pub fn balanced_lines(pieces: &[Piece], max_chars: usize, max_lines: usize) -> Vec<Range<usize>> {
    let count = pieces.len();
    if count == 0 {
        return Vec::new();
    }
    let max_chars = max_chars.max(1);
    let max_lines = max_lines.max(1);
    let needed = minimal_line_count(pieces, max_chars);
    if needed > max_lines {
        // Only reached for a cue that cannot be laid out within the rules (one over-long
        // word behind a speaker prefix): fill greedily and let the last line take the rest.
        return greedy_lines(pieces, max_chars, max_lines);
    }
    if needed <= 1 {
        return vec![0..count];
    }
    let total = joined_width(pieces, 0..count) as f64;
    let target = total / needed as f64;
    let fits = |range: Range<usize>| range.len() == 1 || joined_width(pieces, range) <= max_chars;
    // best[lines][end]: cheapest way to set words 0..end on `lines` lines, and where the last
    // of those lines starts.
    let mut best: Vec<Vec<Option<(f64, usize)>>> = vec![vec![None; count + 1]; needed + 1];
    if let Some(row) = best.get_mut(0) {
        if let Some(cell) = row.get_mut(0) {
            *cell = Some((0.0, 0));
        }
    }
    for lines in 1..=needed {
        for end in 1..=count {
            let mut cell: Option<(f64, usize)> = None;
            for start in (0..end).rev() {
                if !fits(start..end) {
                    break;
                }
                let Some(Some((before, _))) = best.get(lines - 1).and_then(|row| row.get(start))
                else {
                    continue;
                };
                let width = joined_width(pieces, start..end) as f64;
                let mut cost = before + 2.0 * (width - target).abs();
                if end < count {
                    cost += pieces
                        .get(end - 1)
                        .map(|piece| break_cost(piece.punctuation))
                        .unwrap_or(0.0);
                }
                if cell.is_none_or(|(best_cost, _)| cost < best_cost) {
                    cell = Some((cost, start));
                }
            }
            if let Some(slot) = best.get_mut(lines).and_then(|row| row.get_mut(end)) {
                *slot = cell;
            }
        }
    }
    let mut ranges = Vec::with_capacity(needed);
    let mut end = count;
    for lines in (1..=needed).rev() {
        match best
            .get(lines)
            .and_then(|row| row.get(end))
            .copied()
            .flatten()
        {
            Some((_, start)) => {
                ranges.push(start..end);
                end = start;
            }
            None => return greedy_lines(pieces, max_chars, max_lines),
        }
    }
    ranges.reverse();
    ranges
}

/// Fills lines from the front; the last allowed line takes whatever is left.
fn greedy_lines(pieces: &[Piece], max_chars: usize, max_lines: usize) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut width = 0;
    for (index, piece) in pieces.iter().enumerate() {
        if index > start {
            let overflows =
                width + 1 + piece.width > max_chars || width > max_chars || piece.width > max_chars;
            if overflows && ranges.len() + 1 < max_lines {
                ranges.push(start..index);
                start = index;
                width = piece.width;
                continue;
            }
            width += 1 + piece.width;
        } else {
            width = piece.width;
        }
    }
    ranges.push(start..pieces.len());
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<Piece> {
        text.split_whitespace()
            .map(|word| Piece {
                width: word.chars().count(),
                punctuation: super::super::tokens::punctuation_of(word),
            })
            .collect()
    }

    fn lines(text: &str, max_chars: usize, max_lines: usize) -> Vec<String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        balanced_lines(&pieces(text), max_chars, max_lines)
            .into_iter()
            .map(|range| words[range].join(" "))
            .collect()
    }

    #[test]
    fn short_text_stays_on_one_line() {
        assert_eq!(lines("Hello there.", 42, 2), ["Hello there."]);
    }

    #[test]
    fn two_lines_are_balanced() {
        let result = lines(
            "the quick brown fox jumps over the lazy dog and runs far away",
            42,
            2,
        );
        assert_eq!(
            result,
            [
                "the quick brown fox jumps over",
                "the lazy dog and runs far away"
            ]
        );
        assert!(result.iter().all(|line| line.chars().count() <= 42));
    }

    #[test]
    fn breaks_after_punctuation_when_nearly_balanced() {
        let result = lines(
            "I went to the market, and bought some very fresh bread",
            42,
            2,
        );
        assert_eq!(
            result,
            ["I went to the market,", "and bought some very fresh bread"]
        );
    }

    #[test]
    fn an_overlong_word_gets_its_own_line() {
        let long = "x".repeat(50);
        let result = lines(&format!("a {long} b"), 42, 3);
        assert_eq!(result, ["a".to_string(), long, "b".to_string()]);
    }

    #[test]
    fn front_packer_agrees_with_the_greedy_count() {
        let text = "aaaa bbbbbbbbbbbb cc dddddddddddddddddddddddddddddddddddddddddddddd e ffffff";
        let all = pieces(text);
        for max_chars in 1..30 {
            let mut packer = FrontPacker::new(max_chars);
            for piece in all.iter().rev() {
                packer.prepend(piece.width);
            }
            assert_eq!(
                packer.lines(),
                greedy_lines(&all, max_chars, usize::MAX).len(),
                "width {max_chars}"
            );
        }
    }
}
