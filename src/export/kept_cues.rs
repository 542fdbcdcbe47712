//! Subtitles that came in as subtitles: one cue per segment, at the segment's own times.
//!
//! A transcript opened from an SRT or WebVTT file was cut into cues by whoever made that file,
//! and the user reviews and re-times those cues; cutting them again with [`super::cues`] would
//! move every time they checked. So its exports keep the cues — each segment's text, balanced
//! over lines by the same line breaker, from its start to its end — and [`cue_problems`] says
//! which cues break the subtitle rules, so the user can fix them by hand.

use super::cues::{Cue, SpeakerLabel, SubtitleRules};
use super::layout::{Piece, balanced_lines};
use super::timecode::{ms_to_seconds, seconds_to_ms};
use super::tokens::punctuation_of;
use super::{ExportFormat, ExportOptions};
use crate::events::Segment;
use crate::transcript::Transcript;

/// The transcript in `format`, SRT and WebVTT with one cue per segment (see the module
/// comment); text and JSON as [`super::render`] writes them.
pub fn render_keeping_cues(transcript: &Transcript, format: ExportFormat, options: &ExportOptions) -> String {
    match format {
        ExportFormat::Srt => super::srt::write_srt(&segment_cues(transcript, &options.subtitles, SpeakerLabel::Prefix)),
        ExportFormat::Vtt => super::vtt::write_vtt(&segment_cues(transcript, &options.subtitles, SpeakerLabel::Voice)),
        ExportFormat::Txt | ExportFormat::Json => super::render(transcript, format, options),
    }
}

/// One cue per segment with text, in time order, times in whole milliseconds (a cue that
/// would end at or before its start lasts one millisecond).
pub fn segment_cues(transcript: &Transcript, rules: &SubtitleRules, label: SpeakerLabel) -> Vec<Cue> {
    let mut cues: Vec<Cue> = transcript
        .segments
        .iter()
        .filter_map(|segment| segment_cue(transcript, segment, rules, label))
        .collect();
    cues.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    cues
}

/// The cue of one segment of `transcript` (`None` when it has no text).
pub fn segment_cue(transcript: &Transcript, segment: &Segment, rules: &SubtitleRules, label: SpeakerLabel) -> Option<Cue> {
    if segment.text.trim().is_empty() {
        return None;
    }
    let label = if rules.show_speakers { label } else { SpeakerLabel::Hidden };
    let speaker = segment.speaker.as_deref().map(|id| transcript.speaker_name(id).to_string());
    let mut words: Vec<String> = segment.text.split_whitespace().map(str::to_string).collect();
    if let (SpeakerLabel::Prefix, Some(name)) = (label, &speaker) {
        words.insert(0, format!("{name}:"));
    }
    let start_ms = seconds_to_ms(segment.start_s);
    let end_ms = seconds_to_ms(segment.end_s).max(start_ms + 1);
    Some(Cue {
        start_s: ms_to_seconds(start_ms),
        end_s: ms_to_seconds(end_ms),
        lines: balance(&words, rules.max_chars_per_line.max(1)),
        speaker: if label == SpeakerLabel::Voice { speaker } else { None },
    })
}

/// The words over as few balanced lines as fit `max_chars` (as many lines as that takes).
fn balance(words: &[String], max_chars: usize) -> Vec<String> {
    let pieces: Vec<Piece> = words
        .iter()
        .map(|word| Piece { width: word.chars().count(), punctuation: punctuation_of(word) })
        .collect();
    balanced_lines(&pieces, max_chars, words.len().max(1))
        .into_iter()
        .filter_map(|range| words.get(range).map(|line| line.join(" ")))
        .collect()
}

/// A subtitle rule a cue breaks.
#[derive(Debug, Clone, PartialEq)]
pub enum CueProblem {
    /// A line is longer than the rules allow.
    LineTooLong { chars: usize, max: usize },
    /// More lines than the rules allow.
    TooManyLines { lines: usize, max: usize },
    /// Faster to read than the rules allow.
    TooFast { chars_per_second: f64, max: f64 },
    /// On screen longer than the rules allow.
    TooLong { duration_s: f64, max_s: f64 },
    /// Gone before it can be read.
    TooShort { duration_s: f64, min_s: f64 },
}

impl std::fmt::Display for CueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CueProblem::LineTooLong { chars, max } => write!(f, "a line of {chars} characters (at most {max})"),
            CueProblem::TooManyLines { lines, max } => write!(f, "{lines} lines (at most {max})"),
            CueProblem::TooFast { chars_per_second, max } => {
                write!(f, "{chars_per_second:.0} characters a second (at most {max:.0})")
            }
            CueProblem::TooLong { duration_s, max_s } => write!(f, "{duration_s:.1} s on screen (at most {max_s:.1} s)"),
            CueProblem::TooShort { duration_s, min_s } => write!(f, "{duration_s:.1} s on screen (at least {min_s:.1} s)"),
        }
    }
}

/// The rules `cue` breaks, in the order of [`CueProblem`]'s variants.
pub fn cue_problems(cue: &Cue, rules: &SubtitleRules) -> Vec<CueProblem> {
    let rules = rules.sanitized();
    let mut problems = Vec::new();
    let longest = cue.lines.iter().map(|line| line.chars().count()).max().unwrap_or(0);
    if longest > rules.max_chars_per_line {
        problems.push(CueProblem::LineTooLong { chars: longest, max: rules.max_chars_per_line });
    }
    if cue.lines.len() > rules.max_lines_per_cue {
        problems.push(CueProblem::TooManyLines { lines: cue.lines.len(), max: rules.max_lines_per_cue });
    }
    let duration_s = cue.end_s - cue.start_s;
    let chars: usize = cue.lines.iter().map(|line| line.chars().count()).sum();
    if let Some(max) = rules.max_chars_per_second {
        let chars_per_second = chars as f64 / duration_s.max(0.001);
        if chars_per_second > max + 1e-9 {
            problems.push(CueProblem::TooFast { chars_per_second, max });
        }
    }
    if duration_s > rules.max_cue_duration_s + 1e-9 {
        problems.push(CueProblem::TooLong { duration_s, max_s: rules.max_cue_duration_s });
    }
    if duration_s + 1e-9 < rules.min_cue_duration_s {
        problems.push(CueProblem::TooShort { duration_s, min_s: rules.min_cue_duration_s });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue_transcript(cues: &[(f64, f64, &str)]) -> Transcript {
        let mut transcript = Transcript::new();
        for (start_s, end_s, text) in cues {
            transcript.push_segment(Segment {
                revision_key: None,
                start_s: *start_s,
                end_s: *end_s,
                text: (*text).into(),
                speaker: None,
                words: vec![],
                ..Default::default()
            });
        }
        transcript
    }

    #[test]
    fn each_segment_stays_one_cue_at_its_own_times() {
        // build_cues would join these two short cues of one speaker into one.
        let transcript = cue_transcript(&[(1.0, 1.8, "Yes."), (1.9, 2.5, "No."), (3.0, 9.0, "a b c")]);
        let srt = render_keeping_cues(&transcript, ExportFormat::Srt, &ExportOptions::default());
        let cues = crate::export::parse_srt(&srt).unwrap_or_else(|error| panic!("{error}\n{srt}"));
        let times: Vec<(f64, f64)> = cues.iter().map(|cue| (cue.start_s, cue.end_s)).collect();
        assert_eq!(times, [(1.0, 1.8), (1.9, 2.5), (3.0, 9.0)]);
        assert_eq!(cues[0].text(), "Yes.");
    }

    #[test]
    fn rules_broken_by_a_cue_are_named() {
        let rules = SubtitleRules::default();
        let long = "This line goes on and on well past forty-two characters, and then some more words";
        let transcript = cue_transcript(&[(0.0, 1.0, long), (2.0, 2.3, "Ok."), (3.0, 4.5, "Fine.")]);
        let cues = segment_cues(&transcript, &rules, SpeakerLabel::Hidden);
        let first = cue_problems(&cues[0], &rules);
        assert!(first.iter().any(|p| matches!(p, CueProblem::TooFast { .. })), "{first:?}");
        assert!(first.iter().any(|p| matches!(p, CueProblem::TooManyLines { .. })), "{first:?}");
        assert!(matches!(cue_problems(&cues[1], &rules).as_slice(), [CueProblem::TooShort { .. }]));
        assert!(cue_problems(&cues[2], &rules).is_empty());
        assert_eq!(
            CueProblem::TooFast { chars_per_second: 31.4, max: 20.0 }.to_string(),
            "31 characters a second (at most 20)"
        );
    }
}
