//! Plain text (`.txt`) writer: paragraphs of running text, optionally with times and names.
//!
//! A paragraph groups consecutive segments of the same speaker, and also ends at a long pause
//! so a recording without speakers does not become one wall of text. With timestamps, each
//! paragraph opens with its time range in the WebVTT style, `[00:00:01.000 --> 00:00:07.500]`:
//! exact to the millisecond, sortable, and the same clock people see in the subtitles.
//!
//! ```text
//! [00:00:01.000 --> 00:00:07.500] Alice: Hello there. How are you?
//!
//! [00:00:08.000 --> 00:00:09.000] Bob: Fine, thanks.
//! ```

use super::timecode::{seconds_to_ms, vtt_timestamp};
use super::tokens::{segment_span, text_words};
use crate::transcript::Transcript;
use serde::{Deserialize, Serialize};

/// How the plain text export looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextOptions {
    /// Open each paragraph with `[start --> end]`.
    pub with_timestamps: bool,
    /// Open each paragraph that has a speaker with `Name: `.
    pub with_speakers: bool,
    /// A pause at least this long between segments starts a new paragraph even when the
    /// speaker stays the same; `None` groups by speaker only.
    pub paragraph_pause_s: Option<f64>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            with_timestamps: false,
            with_speakers: true,
            paragraph_pause_s: Some(3.0),
        }
    }
}

struct Paragraph<'a> {
    speaker: Option<&'a str>,
    start_s: f64,
    end_s: f64,
    words: Vec<String>,
}

/// The transcript as plain text: paragraphs separated by a blank line, each on one line,
/// ending with a newline (empty when there is no text).
pub fn render_text(transcript: &Transcript, options: &TextOptions) -> String {
    let mut paragraphs: Vec<Paragraph> = Vec::new();
    for segment in &transcript.segments {
        let words = text_words(&segment.text);
        if words.is_empty() {
            continue;
        }
        let (start_s, end_s) = segment_span(segment);
        let speaker = segment.speaker.as_deref();
        let continues = paragraphs.last().is_some_and(|paragraph| {
            let paused = options
                .paragraph_pause_s
                .is_some_and(|pause_s| start_s - paragraph.end_s >= pause_s);
            paragraph.speaker == speaker && !paused
        });
        match paragraphs.last_mut() {
            Some(paragraph) if continues => {
                paragraph.words.extend(words);
                paragraph.end_s = paragraph.end_s.max(end_s);
            }
            _ => paragraphs.push(Paragraph {
                speaker,
                start_s,
                end_s,
                words,
            }),
        }
    }
    let mut out = String::new();
    for (index, paragraph) in paragraphs.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if options.with_timestamps {
            out.push_str(&format!(
                "[{} --> {}] ",
                vtt_timestamp(seconds_to_ms(paragraph.start_s)),
                vtt_timestamp(seconds_to_ms(paragraph.end_s))
            ));
        }
        if options.with_speakers {
            if let Some(id) = paragraph.speaker {
                let name = transcript
                    .speaker_name(id)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !name.is_empty() {
                    out.push_str(&name);
                    out.push_str(": ");
                }
            }
        }
        out.push_str(&paragraph.words.join(" "));
        out.push('\n');
    }
    out
}
