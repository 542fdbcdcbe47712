//! Reading what PolarGrid sends back: the five result formats (`verbose_json`, `json`,
//! `text`, `srt`, `vtt`) and the live text of its SSE stream.
//!
//! Only `verbose_json`, SRT and WebVTT carry times; `json` and `text` become one segment for
//! the whole file. SRT and WebVTT are read by the export module's subtitle reader. SSE deltas disagree between sources (the docs: each delta is the whole
//! hypothesis so far and may revise it; the SDK: increments), so [`LiveText`] takes a delta
//! that extends or revises the shown text as a replacement and anything else as an increment.

use super::options::PolarGridResponseFormat;
use super::words::text_as_one_segment;
use crate::events::{Segment, Word};
use serde_json::Value;

/// A finished transcript from a sync request or a completed job.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedResult {
    pub segments: Vec<Segment>,
    pub language: Option<String>,
    pub duration_s: Option<f64>,
}

/// Parses a result body. `fallback_duration_s` closes an untimed transcript's one segment.
pub fn parse_result(
    body: &[u8],
    format: PolarGridResponseFormat,
    fallback_duration_s: Option<f64>,
) -> Result<ParsedResult, String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}');
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(parse_json_object(
            &Value::Object(object),
            format,
            fallback_duration_s,
        )),
        Ok(Value::String(inner)) => Ok(parse_plain(&inner, fallback_duration_s)),
        Ok(_) => Err("the result is JSON but neither an object nor a string".into()),
        Err(_)
            if matches!(
                format,
                PolarGridResponseFormat::VerboseJson | PolarGridResponseFormat::Json
            ) =>
        {
            if text.trim_start().starts_with('{') {
                Err("the result is not valid JSON".into())
            } else {
                Ok(parse_plain(text, fallback_duration_s))
            }
        }
        Err(_) => Ok(parse_plain(text, fallback_duration_s)),
    }
}

fn parse_json_object(
    value: &Value,
    _format: PolarGridResponseFormat,
    fallback_duration_s: Option<f64>,
) -> ParsedResult {
    let language = value
        .get("language")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    let duration_s = value
        .get("duration")
        .and_then(Value::as_f64)
        .or(fallback_duration_s);
    let mut segments: Vec<Segment> = value
        .get("segments")
        .and_then(Value::as_array)
        .map(|segments| {
            segments
                .iter()
                .filter_map(|segment| {
                    let text = segment.get("text")?.as_str()?.trim().to_string();
                    let start_s = segment.get("start")?.as_f64()?;
                    let end_s = segment
                        .get("end")
                        .and_then(Value::as_f64)
                        .unwrap_or(start_s);
                    (!text.is_empty()).then(|| Segment {
                        revision_key: None,
                        start_s,
                        end_s: end_s.max(start_s),
                        text,
                        speaker: None,
                        words: Vec::new(),
                        ..Default::default()
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if segments.is_empty() {
        let body_text = ["text", "result"]
            .iter()
            .find_map(|field| value.get(field).and_then(Value::as_str))
            .unwrap_or("");
        segments = parse_plain(body_text, duration_s).segments;
    } else if let Some(words) = value.get("words").and_then(Value::as_array) {
        attach_words(&mut segments, words);
    }
    ParsedResult {
        segments,
        language,
        duration_s,
    }
}

/// Text that may be SRT/WebVTT cues or plain text.
fn parse_plain(text: &str, duration_s: Option<f64>) -> ParsedResult {
    if text.contains("-->") {
        let segments = parse_subtitles(text);
        if !segments.is_empty() {
            let end_s = segments.last().map(|segment| segment.end_s);
            return ParsedResult {
                segments,
                language: None,
                duration_s: duration_s.or(end_s),
            };
        }
    }
    let segments = text_as_one_segment(text, duration_s);
    ParsedResult {
        segments,
        language: None,
        duration_s,
    }
}

/// Gives each segment the words whose middle falls inside it.
fn attach_words(segments: &mut [Segment], words: &[Value]) {
    for word in words {
        let (Some(text), Some(start_s), Some(end_s)) = (
            word.get("word").and_then(Value::as_str),
            word.get("start").and_then(Value::as_f64),
            word.get("end").and_then(Value::as_f64),
        ) else {
            continue;
        };
        let middle = (start_s + end_s) / 2.0;
        if let Some(segment) = segments
            .iter_mut()
            .find(|segment| middle >= segment.start_s && middle <= segment.end_s)
        {
            segment.words.push(Word {
                text: text.trim().to_string(),
                start_s,
                end_s,
                probability: None,
            });
        }
    }
}

/// Cues of an SRT or WebVTT document as segments, read by the export module's tolerant
/// subtitle reader (headers, notes and styles skipped, markup stripped, `<v Name>` voices as
/// speakers); none when the text cannot be read as subtitles.
pub fn parse_subtitles(text: &str) -> Vec<Segment> {
    crate::export::import_subtitles(text.as_bytes(), None)
        .map(|transcript| transcript.segments)
        .unwrap_or_default()
}

/// The text shown live while SSE deltas arrive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveText {
    shown: String,
}

impl LiveText {
    pub fn text(&self) -> &str {
        &self.shown
    }

    /// Applies one delta: a delta that extends the shown text, or revises it (shares most of
    /// its leading words), replaces it; any other delta is an increment appended to it.
    pub fn apply_delta(&mut self, delta: &str) -> &str {
        if delta.starts_with(self.shown.as_str()) || is_revision(&self.shown, delta) {
            self.shown = delta.to_string();
        } else {
            self.shown.push_str(delta);
        }
        &self.shown
    }
}

/// Whether `delta` is a rewrite of `shown`: at least two leading words in common, and at
/// least half of the shown words.
fn is_revision(shown: &str, delta: &str) -> bool {
    let shown_words = normalised_words(shown);
    let delta_words = normalised_words(delta);
    let common = shown_words
        .iter()
        .zip(&delta_words)
        .take_while(|(a, b)| a == b)
        .count();
    common >= 2 && common * 2 >= shown_words.len()
}

fn normalised_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|word| !word.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_json_gives_timed_segments() {
        let body = br#"{"task":"transcribe","language":"en","duration":5.2,"text":"Hello there. General.","segments":[
            {"id":0,"seek":0,"start":0.0,"end":2.5,"text":" Hello there.","tokens":[1],"temperature":0.0,"avg_logprob":-0.25,"compression_ratio":1.2,"no_speech_prob":0.01},
            {"id":1,"seek":0,"start":2.5,"end":5.2,"text":" General.","tokens":[2],"temperature":0.0,"avg_logprob":-0.25,"compression_ratio":1.2,"no_speech_prob":0.01}]}"#;
        let result = parse_result(body, PolarGridResponseFormat::VerboseJson, None).unwrap();
        assert_eq!(result.language.as_deref(), Some("en"));
        assert_eq!(result.duration_s, Some(5.2));
        assert_eq!(result.segments.len(), 2);
        assert_eq!(
            (
                result.segments[1].text.as_str(),
                result.segments[1].start_s,
                result.segments[1].end_s
            ),
            ("General.", 2.5, 5.2)
        );
    }

    #[test]
    fn json_and_text_become_one_untimed_segment() {
        let result = parse_result(
            br#"{"text":"Hello.","job_id":"j","status":"completed"}"#,
            PolarGridResponseFormat::Json,
            Some(3.0),
        )
        .unwrap();
        assert_eq!(result.segments.len(), 1);
        assert_eq!(
            (result.segments[0].start_s, result.segments[0].end_s),
            (0.0, 3.0)
        );
        let result = parse_result(b"Hello plain.\n", PolarGridResponseFormat::Text, None).unwrap();
        assert_eq!(result.segments[0].text, "Hello plain.");
        assert!(parse_result(b"{broken", PolarGridResponseFormat::VerboseJson, None).is_err());
        assert!(
            parse_result(b"  ", PolarGridResponseFormat::Text, None)
                .unwrap()
                .segments
                .is_empty()
        );
    }

    #[test]
    fn srt_and_vtt_cues_are_read() {
        let srt = "1\r\n00:00:00,320 --> 00:00:02,140\r\nAnd so,\r\nmy fellow Americans,\r\n\r\n2\r\n00:00:03,120 --> 00:00:06,480\r\nask not\r\n";
        let segments = parse_subtitles(srt);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].text, "And so, my fellow Americans,");
        assert_eq!((segments[0].start_s, segments[0].end_s), (0.32, 2.14));
        let vtt = "WEBVTT\n\nNOTE a note\n\n00:03.120 --> 00:06.480 align:start\nask not\n";
        let segments = parse_subtitles(vtt);
        assert_eq!(segments.len(), 1);
        assert_eq!((segments[0].start_s, segments[0].end_s), (3.12, 6.48));
        let wrapped = parse_result(
            br#"{"text":"1\n00:00:01,000 --> 00:00:02,000\nHi\n","status":"completed"}"#,
            PolarGridResponseFormat::Srt,
            None,
        )
        .unwrap();
        assert_eq!(
            (
                wrapped.segments[0].start_s,
                wrapped.segments[0].text.as_str()
            ),
            (1.0, "Hi")
        );
    }

    #[test]
    fn subtitle_results_are_read_as_the_importer_reads_files() {
        let srt = "1\n00:00:01,000 --> 00:00:02,500\n<i>ask</i>  not\n\n2\n00:00:02,500 --> 00:00:03,000\n\n";
        let segments = parse_subtitles(srt);
        assert_eq!(segments.len(), 1, "{segments:?}");
        assert_eq!(
            (segments[0].text.as_str(), segments[0].start_s, segments[0].end_s),
            ("ask not", 1.0, 2.5)
        );
        assert!(parse_subtitles("no cues here").is_empty());
    }

    #[test]
    fn whole_hypothesis_deltas_replace_and_increments_append() {
        let mut live = LiveText::default();
        for delta in [
            "And so",
            "And so, my fellow",
            "And so, my fellow Americans,",
        ] {
            live.apply_delta(delta);
        }
        assert_eq!(live.text(), "And so, my fellow Americans,");
        let mut live = LiveText::default();
        for delta in ["And so,", " my fellow", " Americans,"] {
            live.apply_delta(delta);
        }
        assert_eq!(live.text(), "And so, my fellow Americans,");
    }

    #[test]
    fn a_revising_delta_replaces_rather_than_appends() {
        let mut live = LiveText::default();
        live.apply_delta("And so my fellow American");
        live.apply_delta("And so, my fellow Americans, ask not");
        assert_eq!(live.text(), "And so, my fellow Americans, ask not");
        // An increment that happens to start like the text is still an increment.
        live.apply_delta(" what");
        assert_eq!(live.text(), "And so, my fellow Americans, ask not what");
    }
}
