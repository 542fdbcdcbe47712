//! WebVTT (`.vtt`) writer: `HH:MM:SS.mmm` times, text escaped, the speaker as `<v Name>`.

use super::cues::{Cue, SpeakerLabel, SubtitleRules, build_cues};
use super::timecode::{seconds_to_ms, vtt_timestamp};
use crate::transcript::Transcript;

/// The transcript as a WebVTT file (LF line endings, no BOM, ending with a newline).
pub fn render_vtt(transcript: &Transcript, rules: &SubtitleRules) -> String {
    write_vtt(&build_cues(transcript, rules, SpeakerLabel::Voice))
}

/// Writes the `WEBVTT` header and one block per cue; a cue with a speaker opens with a voice
/// span `<v Name>`.
pub fn write_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for cue in cues {
        out.push_str(&format!(
            "\n{} --> {}\n",
            vtt_timestamp(seconds_to_ms(cue.start_s)),
            vtt_timestamp(seconds_to_ms(cue.end_s))
        ));
        for (index, line) in cue.lines.iter().enumerate() {
            if index == 0 {
                if let Some(speaker) = &cue.speaker {
                    out.push_str(&format!("<v {}>", escape_vtt(speaker)));
                }
            }
            out.push_str(&escape_vtt(line));
            out.push('\n');
        }
    }
    out
}

/// Escapes the three characters WebVTT cue text reserves.
pub fn escape_vtt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_characters() {
        assert_eq!(
            escape_vtt("a < b && c --> d"),
            "a &lt; b &amp;&amp; c --&gt; d"
        );
    }
}
