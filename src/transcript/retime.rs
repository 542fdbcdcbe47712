//! Word times for edited text: the words the user did not change keep the engine's times
//! (and confidences); the words they typed get times shared out inside the span their
//! unchanged neighbours leave free.
//!
//! The old words and the new text are matched by a longest common subsequence on their
//! letters and digits, lower-cased — the same notion of "the same word" the subtitle
//! exporter uses (`export::tokens`), so "hello," → "Hello." counts as changed but keeps its
//! slot, and punctuation the engine left out of its words does not break the match.

use crate::events::Word;

/// Segments longer than this (in words, old times new) are matched on their common prefix and
/// suffix only, so a pasted essay cannot make one edit quadratic.
const MAX_DIFF_CELLS: usize = 250_000;

/// The words of `new_text` (split at whitespace) with times: unchanged words keep theirs,
/// changed ones are spread over the gap between their kept neighbours (or the segment's
/// `start_s` / `end_s` at either end). Also returns, for each new word, the index of the old
/// word it is (`None` for a word the user typed). No old words: no new ones either (there is
/// nothing to time them by).
pub fn retime_words(
    old_words: &[Word],
    new_text: &str,
    start_s: f64,
    end_s: f64,
) -> (Vec<Word>, Vec<Option<usize>>) {
    let tokens: Vec<&str> = new_text.split_whitespace().collect();
    if old_words.is_empty() || tokens.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let kept = matched_pairs(old_words, &tokens);
    let mut origin: Vec<Option<usize>> = vec![None; tokens.len()];
    for &(old, new) in &kept {
        origin[new] = Some(old);
    }
    let mut words = Vec::with_capacity(tokens.len());
    let mut new_index = 0;
    while new_index < tokens.len() {
        if let Some(old) = origin[new_index] {
            words.push(Word { text: tokens[new_index].to_string(), ..old_words[old].clone() });
            new_index += 1;
            continue;
        }
        // A run of typed words, timed between the kept words around it.
        let run_end = (new_index..tokens.len()).find(|&i| origin[i].is_some()).unwrap_or(tokens.len());
        let gap_start_s = match words.last() {
            Some(previous) => previous.end_s,
            None => start_s.min(old_words[0].start_s),
        };
        let gap_end_s = match origin.get(run_end).copied().flatten() {
            Some(next_old) => old_words[next_old].start_s,
            None => end_s.max(old_words[old_words.len() - 1].end_s),
        };
        words.extend(spread(&tokens[new_index..run_end], gap_start_s, gap_end_s.max(gap_start_s)));
        new_index = run_end;
    }
    (words, origin)
}

/// Words for `tokens` sharing `[start_s, end_s]` in proportion to their length.
fn spread(tokens: &[&str], start_s: f64, end_s: f64) -> Vec<Word> {
    let total: usize = tokens.iter().map(|token| token.chars().count().max(1)).sum();
    let span_s = end_s - start_s;
    let mut at_s = start_s;
    tokens
        .iter()
        .map(|token| {
            let share = token.chars().count().max(1) as f64 / total.max(1) as f64;
            let word_start_s = at_s;
            at_s += share * span_s;
            Word { text: token.to_string(), start_s: word_start_s, end_s: at_s.min(end_s), probability: None }
        })
        .collect()
}

/// Letters and digits only, lower-cased: what a word is matched on, here and where the
/// subtitle exporter lines text up with the engine's words.
pub(crate) fn word_key(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric())
}

fn key(text: &str) -> String {
    word_key(text).collect()
}

/// Pairs (old index, new index) of words that did not change, in order.
fn matched_pairs(old_words: &[Word], tokens: &[&str]) -> Vec<(usize, usize)> {
    let old: Vec<String> = old_words.iter().map(|word| key(&word.text)).collect();
    let new: Vec<String> = tokens.iter().map(|token| key(token)).collect();
    let same = |a: &String, b: &String| a == b && !a.is_empty();
    if old.len().saturating_mul(new.len()) > MAX_DIFF_CELLS {
        return prefix_and_suffix(&old, &new, same);
    }
    // lengths[i][j]: the longest common subsequence of old[i..] and new[j..].
    let width = new.len() + 1;
    let mut lengths = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lengths[i * width + j] = if same(&old[i], &new[j]) {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < old.len() && j < new.len() {
        if same(&old[i], &new[j]) {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn prefix_and_suffix(old: &[String], new: &[String], same: impl Fn(&String, &String) -> bool) -> Vec<(usize, usize)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old.iter().rev().zip(new.iter().rev()).take(room).take_while(|(a, b)| same(a, b)).count();
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    pairs.extend((0..suffix).rev().map(|k| (old.len() - 1 - k, new.len() - 1 - k)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start_s: f64, end_s: f64) -> Word {
        Word { text: text.into(), start_s, end_s, probability: Some(0.9) }
    }

    fn words() -> Vec<Word> {
        vec![word("Hello", 1.0, 1.4), word("wrld,", 1.5, 2.0), word("how", 2.2, 2.4), word("are", 2.5, 2.7), word("you?", 2.8, 3.0)]
    }

    #[test]
    fn unchanged_words_keep_their_times_and_a_fixed_word_takes_its_slot() {
        let (new, origin) = retime_words(&words(), "Hello world, how are you?", 1.0, 3.0);
        let texts: Vec<_> = new.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Hello", "world,", "how", "are", "you?"]);
        assert_eq!(origin, [Some(0), None, Some(2), Some(3), Some(4)]);
        assert_eq!(new[0], words()[0]);
        assert_eq!(new[2], words()[2]);
        // The typed word fills the gap between "Hello" (ends 1.4) and "how" (starts 2.2).
        assert_eq!((new[1].start_s, new[1].end_s, new[1].probability), (1.4, 2.2, None));
    }

    #[test]
    fn inserted_and_deleted_words_are_timed_between_neighbours() {
        let (new, origin) = retime_words(&words(), "Hello there dear world, how you?", 1.0, 3.0);
        assert_eq!(origin, [Some(0), None, None, None, Some(2), Some(4)]);
        assert!(new.windows(2).all(|pair| pair[0].end_s <= pair[1].start_s + 1e-9), "{new:?}");
        assert!(new[1].start_s >= 1.4 && new[3].end_s <= 2.2, "{new:?}");
        // A word typed at the very end runs to the segment's end.
        let (tail, _) = retime_words(&words(), "Hello wrld, how are you? Fine", 1.0, 3.5);
        assert_eq!((tail[5].start_s, tail[5].end_s), (3.0, 3.5));
    }

    #[test]
    fn no_words_stay_no_words_and_long_texts_use_prefix_and_suffix() {
        assert!(retime_words(&[], "anything", 0.0, 1.0).0.is_empty());
        let many: Vec<Word> = (0..600).map(|i| word(&format!("w{i}"), i as f64, i as f64 + 0.5)).collect();
        let mut text: Vec<String> = (0..600).map(|i| format!("w{i}")).collect();
        text[300] = "changed".into();
        let (new, origin) = retime_words(&many, &text.join(" "), 0.0, 600.0);
        assert_eq!(new.len(), 600);
        assert_eq!(origin.iter().filter(|o| o.is_none()).count(), 1);
        assert_eq!((new[300].start_s, new[300].end_s), (299.5, 301.0));
    }
}
