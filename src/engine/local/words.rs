//! Words from whisper.cpp tokens, with times good enough to cut subtitles on.
//!
//! Tokens are byte-level BPE pieces: a word starts at a token whose text begins with a space
//! (or at the first token), and a multi-byte character may be split across tokens, so the
//! bytes are joined before they are read as UTF-8.
//!
//! Times come from the alignment heads ([`super::alignment`]): whisper.cpp puts each token
//! where dynamic time warping moves on to the next one, which is where the token ends, so a
//! word ends at its last token's time and starts where the word before it ended. That leaves
//! two things DTW cannot know — where the first word of a stretch starts, and whether a word
//! runs on into a pause — and both are read off the voice activity: a word does not start
//! before the speech it is in, nor end inside the silence after it. Without alignment heads
//! whisper.cpp's per-token estimates are used as they are.

use super::whisper_call::DecodedToken;
use crate::events::Word;
use crate::vad;

/// The shortest a word may be: no word is zero-length, and two words never share an instant.
pub const MIN_WORD_S: f64 = 0.02;

/// Voice activity of the audio a call decoded, to fit words to: `active[i]` covers
/// `[start_s + i·FRAME_S, start_s + (i+1)·FRAME_S)`.
#[derive(Debug, Clone, Copy)]
pub struct Speech<'a> {
    pub active: &'a [bool],
    pub start_s: f64,
}

/// One word's tokens, joined.
struct Pending {
    bytes: Vec<u8>,
    first_token: usize,
    last_token: usize,
    probability: f32,
}

/// Groups tokens into words with times in the file: `offset_s` is where the call's audio
/// starts. A word's probability is the lowest of its tokens' (one doubtful piece makes the
/// word doubtful). Pure punctuation is attached to the preceding word. `previous_end_s` is
/// where the word before these tokens ended, if it was in the same call (its end is this
/// first word's start).
pub fn words_from_tokens(tokens: &[DecodedToken], offset_s: f64, previous_end_s: Option<f64>, speech: Speech) -> Vec<Word> {
    let pending = group_tokens(tokens);
    let aligned = tokens.iter().all(|token| token.aligned_s.is_some());
    let mut words: Vec<Word> = Vec::with_capacity(pending.len());
    let mut last_end_s = previous_end_s;
    for word in pending {
        let text = String::from_utf8_lossy(&word.bytes).trim().to_string();
        let first = &tokens[word.first_token];
        let last = &tokens[word.last_token];
        let (start_s, end_s) = match (aligned, first.aligned_s, last.aligned_s) {
            (true, _, Some(end_s)) => (last_end_s.unwrap_or(offset_s + first.start_s), offset_s + end_s),
            _ => (offset_s + first.start_s, offset_s + last.end_s.max(first.start_s)),
        };
        last_end_s = Some(end_s);
        if text.is_empty() {
            continue;
        }
        words.push(Word { text, start_s, end_s, probability: Some(word.probability.clamp(0.0, 1.0)) });
    }
    fit_to_speech(&mut words, speech);
    make_orderly(&mut words);
    words
}

fn group_tokens(tokens: &[DecodedToken]) -> Vec<Pending> {
    let mut pending: Vec<Pending> = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        let starts_word = token.bytes.first() == Some(&b' ');
        let is_punctuation = !token.bytes.is_empty()
            && token.bytes.iter().all(|b| b.is_ascii_punctuation() && *b != b'\'' || *b == b' ')
            && !token.bytes.iter().all(|b| *b == b' ');
        match pending.last_mut() {
            Some(current) if !starts_word || (is_punctuation && !token.bytes.starts_with(b" ")) => {
                current.bytes.extend_from_slice(&token.bytes);
                current.last_token = index;
                current.probability = current.probability.min(token.probability);
            }
            _ => pending.push(Pending { bytes: token.bytes.clone(), first_token: index, last_token: index, probability: token.probability }),
        }
    }
    pending
}

/// Moves each word's start past a pause it would otherwise begin in, and its end back to
/// where the speech stops when it would run on into silence. A word whose span holds
/// several stretches of speech is the longest of them: DTW gives a pause, and any blip of
/// sound in it, to the word after it, and the last word of a call runs on to the end of its
/// audio. A word that lies wholly in what the voice activity calls silence is left as it is
/// (the activity may have missed quiet speech; the alignment is then the better guess).
pub fn fit_to_speech(words: &mut [Word], speech: Speech) {
    let mut previous_end_s: Option<f64> = None;
    for word in words.iter_mut() {
        let Some((first, last)) = frame_range(speech, word.start_s, word.end_s) else { continue };
        let Some(run) = longest_run(&speech.active[first..last]) else {
            // Wholly in silence: the alignment ran late; the word follows the one before it.
            if let Some(end_s) = previous_end_s.filter(|&end_s| end_s < word.start_s) {
                word.end_s = end_s + (word.end_s - word.start_s).min(MAX_SILENT_WORD_S);
                word.start_s = end_s;
            }
            previous_end_s = Some(word.end_s);
            continue;
        };
        word.start_s = word.start_s.max(speech.start_s + (first + run.start) as f64 * vad::FRAME_S);
        word.end_s = word.end_s.min(speech.start_s + (first + run.end) as f64 * vad::FRAME_S).max(word.start_s);
        previous_end_s = Some(word.end_s);
    }
}

/// The longest a word moved out of silence is given.
const MAX_SILENT_WORD_S: f64 = 0.5;

/// The longest run of active frames (the later of equals).
fn longest_run(active: &[bool]) -> Option<std::ops::Range<usize>> {
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut index = 0;
    while index < active.len() {
        if !active[index] {
            index += 1;
            continue;
        }
        let start = index;
        while index < active.len() && active[index] {
            index += 1;
        }
        if best.as_ref().is_none_or(|b| index - start >= b.len()) {
            best = Some(start..index);
        }
    }
    best
}

/// The frames of `speech` a span covers, if any.
fn frame_range(speech: Speech, start_s: f64, end_s: f64) -> Option<(usize, usize)> {
    let to_frame = |t: f64| (((t - speech.start_s) / vad::FRAME_S).max(0.0) as usize).min(speech.active.len());
    // A zero-length word (tokens piled up at one instant) still covers the frame it is in.
    let first = to_frame(start_s);
    let last = to_frame(end_s + vad::FRAME_S / 2.0).max(first + 1).min(speech.active.len());
    (last > first).then_some((first, last))
}

/// Words in order, each at least [`MIN_WORD_S`] long, none overlapping the next.
pub fn make_orderly(words: &mut [Word]) {
    let mut floor_s = f64::NEG_INFINITY;
    for word in words.iter_mut() {
        word.start_s = word.start_s.max(floor_s);
        word.end_s = word.end_s.max(word.start_s + MIN_WORD_S);
        floor_s = word.end_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &[u8], start_s: f64, end_s: f64, probability: f32) -> DecodedToken {
        DecodedToken { id: 0, bytes: text.to_vec(), start_s, end_s, aligned_s: None, probability }
    }

    fn aligned(text: &[u8], aligned_s: f64) -> DecodedToken {
        DecodedToken { id: 0, bytes: text.to_vec(), start_s: 0.0, end_s: 0.0, aligned_s: Some(aligned_s), probability: 0.9 }
    }

    const NO_SPEECH_MAP: Speech = Speech { active: &[], start_s: 0.0 };

    fn spans(words: &[Word]) -> Vec<(String, f64, f64)> {
        words.iter().map(|w| (w.text.clone(), (w.start_s * 100.0).round() / 100.0, (w.end_s * 100.0).round() / 100.0)).collect()
    }

    #[test]
    fn joins_pieces_and_splits_at_spaces() {
        let tokens = [
            token(b" And", 0.0, 0.3, 0.9),
            token(b" so", 0.3, 0.5, 0.8),
            token(b" Amer", 0.5, 0.8, 0.95),
            token(b"icans", 0.8, 1.1, 0.7),
            token(b",", 1.1, 1.1, 0.99),
        ];
        let words = words_from_tokens(&tokens, 10.0, None, NO_SPEECH_MAP);
        let texts: Vec<_> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["And", "so", "Americans,"]);
        assert_eq!(words[2].start_s, 10.5);
        assert_eq!(words[2].end_s, 11.1);
        assert_eq!(words[2].probability, Some(0.7));
    }

    #[test]
    fn multibyte_character_split_across_tokens_is_rebuilt() {
        let e_acute = "é".as_bytes();
        let tokens = [token(&[b' ', b'c', b'a', b'f', e_acute[0]], 0.0, 0.2, 0.9), token(&e_acute[1..], 0.2, 0.4, 0.9)];
        let words = words_from_tokens(&tokens, 0.0, None, NO_SPEECH_MAP);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "café");
    }

    #[test]
    fn aligned_words_end_at_their_last_token_and_start_where_the_previous_ended() {
        let tokens = [aligned(b" ask", 1.2), aligned(b" not", 1.6), aligned(b" what", 2.0), aligned(b"ever", 2.3)];
        let words = words_from_tokens(&tokens, 10.0, Some(10.9), NO_SPEECH_MAP);
        assert_eq!(spans(&words), [("ask".into(), 10.9, 11.2), ("not".into(), 11.2, 11.6), ("whatever".into(), 11.6, 12.3)]);
    }

    #[test]
    fn words_start_after_a_pause_and_end_where_the_speech_stops() {
        // Speech 0.0–1.0 s, silence 1.0–2.0 s, speech 2.0–3.0 s.
        let active: Vec<bool> = (0..150).map(|i| !(50..100).contains(&i)).collect();
        let speech = Speech { active: &active, start_s: 0.0 };
        // "you" runs on through the pause to the next word's start; "ask" starts in it.
        let tokens = [aligned(b" for", 0.6), aligned(b" you", 2.0), aligned(b" ask", 2.5), aligned(b" not", 2.7)];
        let words = words_from_tokens(&tokens, 0.0, Some(0.3), speech);
        assert_eq!(
            spans(&words),
            [("for".into(), 0.3, 0.6), ("you".into(), 0.6, 1.0), ("ask".into(), 2.0, 2.5), ("not".into(), 2.5, 2.7)]
        );
        // The last word of a call runs on to the end of the audio (2 s here); a blip of sound
        // in the pause is no word.
        let active: Vec<bool> = (0..100).map(|i| i < 50 || (95..98).contains(&i)).collect();
        let speech = Speech { active: &active, start_s: 0.0 };
        let tokens = [aligned(b" for", 0.6), aligned(b" you", 2.0)];
        let words = words_from_tokens(&tokens, 0.0, Some(0.3), speech);
        assert_eq!(spans(&words), [("for".into(), 0.3, 0.6), ("you".into(), 0.6, 1.0)]);
    }

    #[test]
    fn a_zero_length_word_aligned_into_the_silence_at_the_end_follows_the_word_before_it() {
        // test_en.wav with base: speech until 3.38 s of 4.46 s; DTW puts "are used." at 4.44 s.
        let active: Vec<bool> = (0..224).map(|frame| (36..169).contains(&frame)).collect();
        let speech = Speech { active: &active, start_s: 0.0 };
        let tokens = [aligned(b" 3", 3.22), aligned(b" are", 4.44), aligned(b" used", 4.44), aligned(b".", 4.44)];
        let words = words_from_tokens(&tokens, 0.0, Some(2.96), speech);
        assert_eq!(spans(&words), [("3".into(), 2.96, 3.22), ("are".into(), 3.22, 3.38), ("used.".into(), 3.38, 3.4)]);
    }

    #[test]
    fn no_word_is_zero_length_or_overlaps_the_next() {
        let mut words = vec![
            Word { text: "a".into(), start_s: 1.0, end_s: 1.0, probability: None },
            Word { text: "b".into(), start_s: 0.9, end_s: 1.5, probability: None },
            Word { text: "c".into(), start_s: 1.5, end_s: 1.2, probability: None },
        ];
        make_orderly(&mut words);
        for word in &words {
            assert!(word.end_s - word.start_s >= MIN_WORD_S - 1e-9, "{word:?}");
        }
        for pair in words.windows(2) {
            assert!(pair[1].start_s >= pair[0].end_s, "{pair:?}");
        }
    }
}
