//! JSON (`.json`) export and import: the whole transcript in a versioned, documented schema
//! (`docs/transcript-json.md`) that loads back without loss.
//!
//! The schema is spelled out here rather than derived from [`Transcript`], so a change to the
//! model cannot silently change the file format.

use super::ExportError;
use crate::events::{Segment, Word};
use crate::transcript::{Speaker, Transcript};
use serde::{Deserialize, Deserializer, Serialize};

/// The value of the `format` field.
pub const JSON_FORMAT: &str = "verbatim-transcript";
/// The schema version this build writes and the newest it reads.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    version: u32,
    language: Option<String>,
    duration_s: Option<f64>,
    speakers: Vec<SpeakerEntry>,
    segments: Vec<SegmentEntry>,
}

#[derive(Serialize, Deserialize)]
struct SpeakerEntry {
    id: String,
    display_name: String,
}

#[derive(Serialize, Deserialize)]
struct SegmentEntry {
    #[serde(deserialize_with = "number_or_null")]
    start_s: f64,
    #[serde(deserialize_with = "number_or_null")]
    end_s: f64,
    text: String,
    speaker: Option<String>,
    #[serde(default)]
    words: Vec<WordEntry>,
    /// Only on segments a live engine may still revise (written while recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revision_key: Option<String>,
    /// The segment's own language, when the engine told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// Only on text the engine doubts (written as `true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    low_confidence: bool,
}

#[derive(Serialize, Deserialize)]
struct WordEntry {
    text: String,
    #[serde(deserialize_with = "number_or_null")]
    start_s: f64,
    #[serde(deserialize_with = "number_or_null")]
    end_s: f64,
    probability: Option<f32>,
    /// The user accepted the word though its probability was low (confidence review).
    /// Added within version 1: older files lack it, older readers ignore it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reviewed: bool,
}

/// JSON has no NaN or infinity; serde_json writes them as `null`, which reads back as NaN.
fn number_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Only the fields that say what the file is, read before the rest so a wrong file gets a
/// clear message.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

/// The transcript as pretty-printed JSON, ending with a newline.
pub fn render_json(transcript: &Transcript) -> String {
    let document = Document {
        format: JSON_FORMAT.to_string(),
        version: JSON_VERSION,
        language: transcript.language.clone(),
        duration_s: transcript.duration_s,
        speakers: transcript
            .speakers
            .iter()
            .map(|speaker| SpeakerEntry {
                id: speaker.id.clone(),
                display_name: speaker.display_name.clone(),
            })
            .collect(),
        segments: transcript
            .segments
            .iter()
            .enumerate()
            .map(|(index, segment)| SegmentEntry {
                start_s: segment.start_s,
                end_s: segment.end_s,
                text: segment.text.clone(),
                speaker: segment.speaker.clone(),
                revision_key: segment.revision_key.clone(),
                language: segment.language.clone(),
                low_confidence: segment.low_confidence,
                words: segment
                    .words
                    .iter()
                    .enumerate()
                    .map(|(word_index, word)| WordEntry {
                        text: word.text.clone(),
                        start_s: word.start_s,
                        end_s: word.end_s,
                        probability: word.probability,
                        reviewed: transcript.is_reviewed(index, word_index),
                    })
                    .collect(),
            })
            .collect(),
    };
    // Serialising plain strings and numbers into a String cannot fail.
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

/// Loads a transcript written by [`render_json`] (schema version 1 or older).
pub fn transcript_from_json(json: &str) -> Result<Transcript, ExportError> {
    let json = json.strip_prefix('\u{feff}').unwrap_or(json);
    let header: Header =
        serde_json::from_str(json).map_err(|error| ExportError::InvalidJson(one_line(&error)))?;
    match header.format {
        Some(serde_json::Value::String(format)) if format == JSON_FORMAT => {}
        Some(other) => {
            return Err(ExportError::NotATranscript(format!(
                "its format is {other}"
            )));
        }
        None => {
            return Err(ExportError::NotATranscript(
                "it has no \"format\" field".into(),
            ));
        }
    }
    let version = header.version.as_ref().and_then(serde_json::Value::as_u64);
    match version {
        Some(version) if version >= 1 && version <= u64::from(JSON_VERSION) => {}
        Some(version) if version > u64::from(JSON_VERSION) => {
            return Err(ExportError::NewerVersion(version));
        }
        _ => {
            return Err(ExportError::MalformedJson(
                "\"version\" must be a positive whole number".into(),
            ));
        }
    }
    let document: Document =
        serde_json::from_str(json).map_err(|error| ExportError::MalformedJson(one_line(&error)))?;
    let mut reviewed = Vec::new();
    let segments = document
        .segments
        .into_iter()
        .enumerate()
        .map(|(index, segment)| {
            for (word_index, word) in segment.words.iter().enumerate() {
                if word.reviewed {
                    reviewed.push((index, word_index));
                }
            }
            Segment {
                revision_key: segment.revision_key,
                language: segment.language,
                low_confidence: segment.low_confidence,
                start_s: segment.start_s,
                end_s: segment.end_s,
                text: segment.text,
                speaker: segment.speaker,
                words: segment
                    .words
                    .into_iter()
                    .map(|word| Word {
                        text: word.text,
                        start_s: word.start_s,
                        end_s: word.end_s,
                        probability: word.probability,
                    })
                    .collect(),
            }
        })
        .collect();
    let speakers = document
        .speakers
        .into_iter()
        .map(|speaker| Speaker {
            id: speaker.id,
            display_name: speaker.display_name,
        })
        .collect();
    let mut transcript = Transcript::from_parts(segments, speakers, reviewed);
    transcript.language = document.language;
    transcript.duration_s = document.duration_s;
    Ok(transcript)
}

fn one_line(error: &serde_json::Error) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_files_get_clear_errors() {
        let not_json = transcript_from_json("{ nope").unwrap_err().to_string();
        assert!(not_json.contains("not valid JSON"), "{not_json}");
        let other = transcript_from_json(r#"{"format":"something-else","version":1}"#)
            .unwrap_err()
            .to_string();
        assert!(other.contains("not a Verbatim transcript"), "{other}");
        let newer = transcript_from_json(r#"{"format":"verbatim-transcript","version":7}"#)
            .unwrap_err()
            .to_string();
        assert!(newer.contains("version 7"), "{newer}");
        let broken =
            transcript_from_json(r#"{"format":"verbatim-transcript","version":1,"speakers":[]}"#)
                .unwrap_err()
                .to_string();
        assert!(broken.contains("segments"), "{broken}");
        for message in [not_json, other, newer, broken] {
            assert!(!message.contains('\n'));
        }
    }

    #[test]
    fn accepted_words_survive_a_round_trip_and_older_files_still_load() {
        let mut transcript = Transcript::new();
        transcript.push_segment(Segment {
            start_s: 0.0,
            end_s: 1.0,
            text: "maybe so".into(),
            speaker: None,
            words: vec![
                Word { text: "maybe".into(), start_s: 0.0, end_s: 0.4, probability: Some(0.2) },
                Word { text: "so".into(), start_s: 0.5, end_s: 1.0, probability: Some(0.3) },
            ],
            revision_key: None,
            ..Default::default()
        });
        assert!(transcript.accept_word((0, 1)));
        let json = render_json(&transcript);
        assert_eq!(json.matches("\"reviewed\": true").count(), 1, "{json}");
        let loaded = transcript_from_json(&json).expect("it loads back");
        assert_eq!(loaded, transcript);
        assert!(loaded.is_uncertain(0, 0) && !loaded.is_uncertain(0, 1));
        // A file written before the field existed reads as "nothing reviewed yet".
        let mut value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        for word in value["segments"][0]["words"].as_array_mut().expect("words") {
            word.as_object_mut().expect("a word object").remove("reviewed");
        }
        let older = value.to_string();
        assert!(!older.contains("reviewed"), "{older}");
        let loaded = transcript_from_json(&older).expect("an older file loads");
        assert!(loaded.is_uncertain(0, 0) && loaded.is_uncertain(0, 1));
    }
}
