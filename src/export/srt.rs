//! SubRip (`.srt`) writer: numbered cues, `HH:MM:SS,mmm` times, the speaker as a text prefix.

use super::cues::{Cue, SpeakerLabel, SubtitleRules, build_cues};
use super::timecode::{seconds_to_ms, srt_timestamp};
use crate::transcript::Transcript;

/// The transcript as an SRT file (LF line endings, no BOM, ending with a newline; empty
/// when there is nothing to show).
pub fn render_srt(transcript: &Transcript, rules: &SubtitleRules) -> String {
    write_srt(&build_cues(transcript, rules, SpeakerLabel::Prefix))
}

/// Writes cues as SRT blocks numbered from 1. SRT has no escaping, so the one sequence that
/// would break a reader, `-->`, is written as `->`.
pub fn write_srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (index, cue) in cues.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}\n{} --> {}\n",
            index + 1,
            srt_timestamp(seconds_to_ms(cue.start_s)),
            srt_timestamp(seconds_to_ms(cue.end_s))
        ));
        for line in &cue.lines {
            out.push_str(&line.replace("-->", "->"));
            out.push('\n');
        }
    }
    out
}
