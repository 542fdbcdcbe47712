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
            .map(|segment| SegmentEntry {
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
                    .map(|word| WordEntry {
                        text: word.text.clone(),
                        start_s: word.start_s,
                        end_s: word.end_s,
                        probability: word.probability,
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
    Ok(Transcript {
        segments: document
            .segments
            .into_iter()
            .map(|segment| Segment {
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
            })
            .collect(),
        speakers: document
            .speakers
            .into_iter()
            .map(|speaker| Speaker {
                id: speaker.id,
                display_name: speaker.display_name,
            })
            .collect(),
        hypothesis: None,
        user_edits: Default::default(),
        language: document.language,
        duration_s: document.duration_s,
    })
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
}
