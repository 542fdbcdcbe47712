//! Whisper's text vocabulary as raw bytes, read from a model directory's `tokenizer.json`
//! (or CTranslate2's `vocabulary.json` / `vocabulary.txt`).
//!
//! Whisper uses GPT-2's byte-level BPE: every token is a byte string, written in the JSON
//! files as printable characters through GPT-2's `bytes_to_unicode` table (a space becomes
//! `Ġ`, a newline `Ċ`). whisper.cpp wants the raw bytes, so this module maps them back.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The token whisper.cpp's special-token numbering starts from.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Largest vocabulary file read into memory; real ones are a few megabytes.
const MAX_VOCABULARY_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    #[error(
        "no vocabulary in {0}: tokenizer.json (or vocabulary.json / vocabulary.txt) is missing; point to the complete model folder"
    )]
    Missing(PathBuf),
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is {size_bytes} bytes, too large for a vocabulary file; check the model folder"
    )]
    TooLarge { path: PathBuf, size_bytes: u64 },
    #[error("{path} is not a valid tokenizer file: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

/// The text tokens of a Whisper vocabulary: ids `0..end_of_text_id`, each as raw bytes.
/// Special tokens (end of text onwards) are not included: whisper.cpp numbers those itself.
#[derive(Debug, Clone, PartialEq)]
pub struct TextVocabulary {
    pub end_of_text_id: u32,
    pub tokens: Vec<Vec<u8>>,
    /// The file the tokens were read from.
    pub source: PathBuf,
}

/// GPT-2's `bytes_to_unicode` table: the character each byte is written as.
pub fn gpt2_byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next_unprintable = 256u32;
    for byte in 0..=255u8 {
        let printable = matches!(byte, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
        let code_point = if printable {
            u32::from(byte)
        } else {
            let code_point = next_unprintable;
            next_unprintable += 1;
            code_point
        };
        table[usize::from(byte)] = char::from_u32(code_point).unwrap_or('\0');
    }
    table
}

/// Inverse of [`gpt2_byte_to_char`], indexed by code point (all of them are below 324).
fn gpt2_char_to_byte() -> [Option<u8>; 324] {
    let mut table = [None; 324];
    for (byte, character) in gpt2_byte_to_char().iter().enumerate() {
        if let Some(slot) = table.get_mut(*character as usize) {
            *slot = u8::try_from(byte).ok();
        }
    }
    table
}

/// Decodes one byte-level token string to its bytes; `None` if it holds a character
/// outside GPT-2's byte table (then it is not a byte-level token).
pub fn decode_gpt2_token(token: &str) -> Option<Vec<u8>> {
    decode_with(&gpt2_char_to_byte(), token)
}

fn decode_with(table: &[Option<u8>; 324], token: &str) -> Option<Vec<u8>> {
    token
        .chars()
        .map(|character| table.get(character as usize).copied().flatten())
        .collect()
}

#[derive(Deserialize)]
struct TokenizerJson {
    model: TokenizerModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct TokenizerModel {
    vocab: HashMap<String, u32>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// Reads the text vocabulary from `dir`: `tokenizer.json` first, else CTranslate2's
/// `vocabulary.json` or `vocabulary.txt`. `n_vocab` is the model's vocabulary size (rows of
/// the token embedding); the end-of-text id must lie below it.
pub fn read_text_vocabulary(dir: &Path, n_vocab: u32) -> Result<TextVocabulary, VocabularyError> {
    let tokenizer_path = dir.join("tokenizer.json");
    if tokenizer_path.is_file() {
        let text = read_bounded(&tokenizer_path)?;
        let parsed: TokenizerJson =
            serde_json::from_str(&text).map_err(|error| VocabularyError::Invalid {
                path: tokenizer_path.clone(),
                detail: error.to_string(),
            })?;
        let end_of_text_id = parsed
            .added_tokens
            .iter()
            .find(|token| token.content == END_OF_TEXT)
            .map(|token| token.id)
            .or_else(|| parsed.model.vocab.get(END_OF_TEXT).copied());
        let ids = parsed
            .model
            .vocab
            .into_iter()
            .map(|(token, id)| (id, token));
        return build(tokenizer_path, end_of_text_id, ids, n_vocab);
    }

    let json_path = dir.join("vocabulary.json");
    if json_path.is_file() {
        let text = read_bounded(&json_path)?;
        let tokens: Vec<String> =
            serde_json::from_str(&text).map_err(|error| VocabularyError::Invalid {
                path: json_path.clone(),
                detail: error.to_string(),
            })?;
        return from_token_list(json_path, tokens, n_vocab);
    }

    let text_path = dir.join("vocabulary.txt");
    if text_path.is_file() {
        let text = read_bounded(&text_path)?;
        let tokens: Vec<String> = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
            .collect();
        return from_token_list(text_path, tokens, n_vocab);
    }

    Err(VocabularyError::Missing(dir.to_path_buf()))
}

fn from_token_list(
    path: PathBuf,
    tokens: Vec<String>,
    n_vocab: u32,
) -> Result<TextVocabulary, VocabularyError> {
    let end_of_text_id = tokens
        .iter()
        .position(|token| token == END_OF_TEXT)
        .and_then(|index| u32::try_from(index).ok());
    let ids = tokens
        .into_iter()
        .enumerate()
        .filter_map(|(index, token)| Some((u32::try_from(index).ok()?, token)));
    build(path, end_of_text_id, ids, n_vocab)
}

fn build(
    path: PathBuf,
    end_of_text_id: Option<u32>,
    ids: impl Iterator<Item = (u32, String)>,
    n_vocab: u32,
) -> Result<TextVocabulary, VocabularyError> {
    let invalid = |detail: String| VocabularyError::Invalid {
        path: path.clone(),
        detail,
    };
    let end_of_text_id =
        end_of_text_id.ok_or_else(|| invalid(format!("it has no {END_OF_TEXT} token")))?;
    if end_of_text_id >= n_vocab {
        return Err(invalid(format!(
            "{END_OF_TEXT} has id {end_of_text_id} but the model has only {n_vocab} tokens"
        )));
    }

    // Bounded by n_vocab, which comes from a checked tensor shape.
    let mut tokens: Vec<Option<Vec<u8>>> = vec![None; end_of_text_id as usize];
    let table = gpt2_char_to_byte();
    for (id, token) in ids {
        let Some(slot) = tokens.get_mut(id as usize) else {
            continue; // special tokens and timestamps: whisper.cpp names those itself
        };
        let bytes = decode_with(&table, &token).ok_or_else(|| {
            invalid(format!(
                "token {id} ({token:?}) is not a GPT-2 byte-level token"
            ))
        })?;
        if slot.replace(bytes).is_some() {
            return Err(invalid(format!("token id {id} appears twice")));
        }
    }

    Ok(TextVocabulary {
        end_of_text_id,
        // A gap (none in real vocabularies) becomes an empty token, as whisper.cpp tolerates.
        tokens: tokens.into_iter().map(Option::unwrap_or_default).collect(),
        source: path,
    })
}

fn read_bounded(path: &Path) -> Result<String, VocabularyError> {
    let read_error = |source| VocabularyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size_bytes = fs::metadata(path).map_err(read_error)?.len();
    if size_bytes > MAX_VOCABULARY_FILE_BYTES {
        return Err(VocabularyError::TooLarge {
            path: path.to_path_buf(),
            size_bytes,
        });
    }
    fs::read_to_string(path).map_err(read_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let table = gpt2_byte_to_char();
        assert_eq!(table[usize::from(b'a')], 'a');
        assert_eq!(table[usize::from(b'!')], '!');
        assert_eq!(table[usize::from(b' ')], 'Ġ'); // U+0120
        assert_eq!(table[usize::from(b'\n')], 'Ċ'); // U+010A
        assert_eq!(table[0], 'Ā'); // U+0100, the first unprintable byte
        assert_eq!(table[0x7f], 'ġ'); // U+0121: bytes 0..=32 take 256..=288, DEL is next
        assert_eq!(table[0xad], 'Ń'); // U+0143, the soft hyphen is the last remapped byte
        assert_eq!(table[0xe9], 'é');
        // A bijection onto 256 distinct characters.
        let mut seen: Vec<char> = table.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn decodes_byte_level_tokens() {
        assert_eq!(
            decode_gpt2_token("ĠAmericans"),
            Some(b" Americans".to_vec())
        );
        assert_eq!(decode_gpt2_token("ĊĊ"), Some(b"\n\n".to_vec()));
        // "é" in UTF-8 is C3 A9, written as the characters for bytes 0xC3 and 0xA9.
        assert_eq!(decode_gpt2_token("Ã©"), Some("é".as_bytes().to_vec()));
        // A multi-byte character cut in the middle stays raw bytes (not valid UTF-8).
        assert_eq!(decode_gpt2_token("âĢ"), Some(vec![0xe2, 0x80]));
        assert_eq!(decode_gpt2_token(""), Some(Vec::new()));
        // Characters outside the table (e.g. a real space or CJK) are not byte-level.
        assert_eq!(decode_gpt2_token("a b"), None);
        assert_eq!(decode_gpt2_token("日"), None);
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"))
    }

    #[test]
    fn reads_tokenizer_json_up_to_end_of_text() {
        let dir = temp_dir();
        write(
            dir.path(),
            "tokenizer.json",
            r#"{"model":{"type":"BPE","vocab":{"!":0,"Ġthe":1,"Ċ":2,"<|endoftext|>":3}},
               "added_tokens":[{"id":3,"content":"<|endoftext|>"},{"id":4,"content":"<|startoftranscript|>"}]}"#,
        );
        let vocabulary = read_text_vocabulary(dir.path(), 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(vocabulary.end_of_text_id, 3);
        assert_eq!(
            vocabulary.tokens,
            vec![b"!".to_vec(), b" the".to_vec(), b"\n".to_vec()]
        );
    }

    #[test]
    fn falls_back_to_vocabulary_txt() {
        let dir = temp_dir();
        write(
            dir.path(),
            "vocabulary.txt",
            "a\nĠb\n<|endoftext|>\n<|startoftranscript|>\n",
        );
        let vocabulary = read_text_vocabulary(dir.path(), 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(vocabulary.end_of_text_id, 2);
        assert_eq!(vocabulary.tokens, vec![b"a".to_vec(), b" b".to_vec()]);
    }

    #[test]
    fn rejects_missing_and_inconsistent_vocabularies() {
        let dir = temp_dir();
        let missing = read_text_vocabulary(dir.path(), 10)
            .err()
            .map(|e| e.to_string());
        assert!(missing.is_some_and(|m| m.contains("tokenizer.json")));

        write(dir.path(), "vocabulary.txt", "a\nb\n<|endoftext|>\n");
        let too_big = read_text_vocabulary(dir.path(), 2)
            .err()
            .map(|e| e.to_string());
        assert!(
            too_big.is_some_and(|m| m.contains("only 2 tokens")),
            "end of text beyond n_vocab"
        );

        write(
            dir.path(),
            "tokenizer.json",
            r#"{"model":{"vocab":{"a b":0,"<|endoftext|>":1}}}"#,
        );
        let not_byte_level = read_text_vocabulary(dir.path(), 10)
            .err()
            .map(|e| e.to_string());
        assert!(not_byte_level.is_some_and(|m| m.contains("byte-level")));

        write(dir.path(), "tokenizer.json", "{not json");
        let broken = read_text_vocabulary(dir.path(), 10)
            .err()
            .map(|e| e.to_string());
        assert!(broken.is_some_and(|m| m.contains("not a valid tokenizer file")));
    }
}
