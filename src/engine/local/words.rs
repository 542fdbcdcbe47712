//! Words from whisper.cpp tokens.
//!
//! Tokens are byte-level BPE pieces: a word starts at a token whose text begins with a space
//! (or at the first token), and a multi-byte character may be split across tokens, so the
//! bytes are joined before they are read as UTF-8.

use super::whisper_call::DecodedToken;
use crate::events::Word;

/// Groups tokens into words. Times are offset by `offset_s`; a word's probability is the
/// lowest of its tokens' (one doubtful piece makes the word doubtful). Pure punctuation is
/// attached to the preceding word.
pub fn words_from_tokens(tokens: &[DecodedToken], offset_s: f64) -> Vec<Word> {
    struct Pending {
        bytes: Vec<u8>,
        start_s: f64,
        end_s: f64,
        probability: f32,
    }
    let mut pending: Vec<Pending> = Vec::new();
    for token in tokens {
        let starts_word = token.bytes.first() == Some(&b' ');
        let is_punctuation = !token.bytes.is_empty()
            && token.bytes.iter().all(|b| b.is_ascii_punctuation() && *b != b'\'' || *b == b' ')
            && !token.bytes.iter().all(|b| *b == b' ');
        match pending.last_mut() {
            Some(current) if !starts_word || (is_punctuation && !token.bytes.starts_with(b" ")) => {
                current.bytes.extend_from_slice(&token.bytes);
                current.end_s = current.end_s.max(token.end_s);
                current.probability = current.probability.min(token.probability);
            }
            _ => pending.push(Pending {
                bytes: token.bytes.clone(),
                start_s: token.start_s,
                end_s: token.end_s,
                probability: token.probability,
            }),
        }
    }
    pending
        .into_iter()
        .filter_map(|word| {
            let text = String::from_utf8_lossy(&word.bytes).trim().to_string();
            if text.is_empty() {
                return None;
            }
            Some(Word {
                text,
                start_s: word.start_s + offset_s,
                end_s: word.end_s.max(word.start_s) + offset_s,
                probability: Some(word.probability.clamp(0.0, 1.0)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &[u8], start_s: f64, end_s: f64, probability: f32) -> DecodedToken {
        DecodedToken { bytes: text.to_vec(), start_s, end_s, probability }
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
        let words = words_from_tokens(&tokens, 10.0);
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
        let words = words_from_tokens(&tokens, 0.0);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "café");
    }
}
