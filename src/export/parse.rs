//! A strict SRT and WebVTT parser: the yardstick every subtitle file this crate writes is
//! measured against in the tests.
//!
//! It accepts exactly the well-formed subset a careful writer produces and rejects anything
//! else with the line number: a byte order mark or carriage return, numbering that does not
//! count up from 1, malformed timestamps (`HH:MM:SS,mmm` for SRT; `[HH:]MM:SS.mmm` for
//! WebVTT), cues that end at or before they start, cues out of order or overlapping, missing
//! or doubled blank lines, empty cues, lines with leading or trailing spaces, more lines per
//! cue than allowed, stray `-->`, and in WebVTT unescaped `<` or `&`. For the forgiving
//! reader of files people bring, see [`super::import`].

use super::cue_timing::{TimeRules, parse_timestamp, split_timing_line};
use super::cues::{Cue, SubtitleRules};
use super::markup::{collapse_whitespace, strip_markup};
use super::timecode::ms_to_seconds;

/// Why a subtitle file was not read. Every message is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the subtitle file is empty; choose a file that contains cues")]
    Empty,
    #[error("subtitle line {line}: {problem}")]
    Malformed { line: usize, problem: String },
    #[error("{0} subtitles are not supported; convert the file to SRT or WebVTT first")]
    Unsupported(String),
    #[error("could not read {path}: {reason}; check that the file exists and is readable")]
    Read { path: String, reason: String },
    #[error(
        "no subtitle cues found (no timing line like 00:00:01,000 --> 00:00:02,000); choose an .srt or .vtt file"
    )]
    NotSubtitles,
}

impl ParseError {
    pub(crate) fn at(line: usize, problem: impl Into<String>) -> ParseError {
        ParseError::Malformed {
            line,
            problem: problem.into(),
        }
    }
}

/// A line shown in an error message: quoted, control characters escaped, cut after 40
/// characters.
pub(crate) fn quoted(line: &str) -> String {
    let mut short: String = line.chars().take(40).collect();
    if line.chars().count() > 40 {
        short.push('…');
    }
    format!("{short:?}")
}

/// Parses an SRT file with the default limit of lines per cue ([`SubtitleRules`]).
pub fn parse_srt(text: &str) -> Result<Vec<Cue>, ParseError> {
    parse_srt_with_limit(text, SubtitleRules::default().max_lines_per_cue)
}

/// Parses a WebVTT file with the default limit of lines per cue ([`SubtitleRules`]).
pub fn parse_vtt(text: &str) -> Result<Vec<Cue>, ParseError> {
    parse_vtt_with_limit(text, SubtitleRules::default().max_lines_per_cue)
}

/// The file's lines without the final newline, after the checks every format shares.
fn checked_lines(text: &str) -> Result<Vec<&str>, ParseError> {
    if text.starts_with('\u{feff}') {
        return Err(ParseError::at(
            1,
            "the file starts with a byte order mark; write UTF-8 without a BOM",
        ));
    }
    if let Some(position) = text.find('\r') {
        let line = text
            .get(..position)
            .map(|before| before.matches('\n').count() + 1)
            .unwrap_or(1);
        return Err(ParseError::at(
            line,
            "carriage return found; lines must end with LF only",
        ));
    }
    let Some(body) = text.strip_suffix('\n') else {
        let line = text.matches('\n').count() + 1;
        return Err(ParseError::at(line, "the file does not end with a newline"));
    };
    Ok(body.split('\n').collect())
}

/// `start --> end`, then (WebVTT only) cue settings. Returns the times in milliseconds.
fn strict_timing(line: &str, line_number: usize, vtt: bool) -> Result<(i64, i64), ParseError> {
    let example = if vtt {
        "00:00:01.000 --> 00:00:02.500"
    } else {
        "00:00:01,000 --> 00:00:02,500"
    };
    let bad = || {
        ParseError::at(
            line_number,
            format!("malformed timing line {}; expected {example}", quoted(line)),
        )
    };
    let rules = if vtt {
        TimeRules::StrictVtt
    } else {
        TimeRules::StrictSrt
    };
    let (start, end, settings) = split_timing_line(line, rules).ok_or_else(bad)?;
    let (start_ms, _) = parse_timestamp(start, rules).ok_or_else(bad)?;
    let (end_ms, _) = parse_timestamp(end, rules).ok_or_else(bad)?;
    if let Some(settings) = settings {
        let valid = settings.split(' ').all(|setting| {
            setting.split_once(':').is_some_and(|(name, value)| {
                !name.is_empty() && !value.is_empty() && !setting.contains("-->")
            })
        });
        if !valid {
            return Err(ParseError::at(
                line_number,
                format!("malformed cue settings in {}", quoted(line)),
            ));
        }
    }
    if end_ms <= start_ms {
        return Err(ParseError::at(
            line_number,
            "the cue ends at or before it starts; give it a positive duration",
        ));
    }
    Ok((start_ms, end_ms))
}

/// Order and overlap against the previous cue.
fn check_order(
    previous_end_ms: Option<i64>,
    start_ms: i64,
    line_number: usize,
) -> Result<(), ParseError> {
    match previous_end_ms {
        Some(previous_end) if start_ms < previous_end => Err(ParseError::at(
            line_number,
            "the cue starts before the previous cue ends (cues overlap or are out of order)",
        )),
        _ => Ok(()),
    }
}

/// Checks one line of cue text for what both formats forbid.
fn check_text_line(line: &str, line_number: usize) -> Result<(), ParseError> {
    if line.trim().is_empty() {
        return Err(ParseError::at(line_number, "blank cue text line"));
    }
    if line.trim() != line {
        return Err(ParseError::at(
            line_number,
            format!("cue text {} has leading or trailing spaces", quoted(line)),
        ));
    }
    if line.contains("-->") {
        return Err(ParseError::at(
            line_number,
            format!("cue text {} contains \"-->\"", quoted(line)),
        ));
    }
    if line.chars().any(|c| c.is_control()) {
        return Err(ParseError::at(
            line_number,
            format!("cue text {} contains a control character", quoted(line)),
        ));
    }
    Ok(())
}

/// Collects the text lines of a cue starting at `first` (0-based), up to the blank line that
/// ends it. Returns the lines and the index after them.
fn cue_text_lines<'a>(
    lines: &[&'a str],
    first: usize,
    max_lines: usize,
    cue_line_number: usize,
) -> Result<(Vec<&'a str>, usize), ParseError> {
    let mut index = first;
    let mut text = Vec::new();
    while let Some(line) = lines.get(index) {
        if line.is_empty() {
            break;
        }
        check_text_line(line, index + 1)?;
        text.push(*line);
        index += 1;
    }
    if text.is_empty() {
        return Err(ParseError::at(cue_line_number, "the cue has no text"));
    }
    if text.len() > max_lines {
        return Err(ParseError::at(
            first + max_lines + 1,
            format!(
                "the cue has {} lines, more than the {max_lines} allowed",
                text.len()
            ),
        ));
    }
    Ok((text, index))
}

/// After a block: exactly one blank line, then another block, or the end of the file.
/// Returns the index of the next block, or `None` at the end.
fn next_block(lines: &[&str], index: usize) -> Result<Option<usize>, ParseError> {
    match lines.get(index) {
        None => Ok(None),
        Some(_) => match lines.get(index + 1) {
            None => Err(ParseError::at(
                index + 1,
                "blank line at the end of the file",
            )),
            Some(line) if line.is_empty() => {
                Err(ParseError::at(index + 2, "two blank lines in a row"))
            }
            Some(_) => Ok(Some(index + 1)),
        },
    }
}

/// Parses an SRT file, allowing at most `max_lines` text lines per cue.
pub fn parse_srt_with_limit(text: &str, max_lines: usize) -> Result<Vec<Cue>, ParseError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let lines = checked_lines(text)?;
    let mut cues = Vec::new();
    let mut previous_end_ms = None;
    let mut index = 0;
    loop {
        let expected = cues.len() + 1;
        let number_line = lines.get(index).copied().unwrap_or("");
        if number_line != expected.to_string() {
            return Err(ParseError::at(
                index + 1,
                format!(
                    "expected cue number {expected}, found {}",
                    quoted(number_line)
                ),
            ));
        }
        let timing_line = lines.get(index + 1).ok_or_else(|| {
            ParseError::at(index + 2, format!("cue {expected} has no timing line"))
        })?;
        let (start_ms, end_ms) = strict_timing(timing_line, index + 2, false)?;
        check_order(previous_end_ms, start_ms, index + 2)?;
        let (text_lines, after) = cue_text_lines(&lines, index + 2, max_lines, index + 2)?;
        cues.push(Cue {
            start_s: ms_to_seconds(start_ms),
            end_s: ms_to_seconds(end_ms),
            lines: text_lines.iter().map(|line| line.to_string()).collect(),
            speaker: None,
        });
        previous_end_ms = Some(end_ms);
        match next_block(&lines, after)? {
            Some(next) => index = next,
            None => return Ok(cues),
        }
    }
}

/// Strict WebVTT cue text: `<` only as a known tag closed on the line, `&` only as a
/// character reference. Returns the plain text and the voice, if any.
fn strict_vtt_text(
    line: &str,
    line_number: usize,
    voice: &mut Option<String>,
) -> Result<String, ParseError> {
    const TAGS: [&str; 8] = ["c", "i", "b", "u", "ruby", "rt", "v", "lang"];
    let mut rest = line;
    while let Some(position) = rest.find(['<', '&']) {
        let tail = rest.get(position..).unwrap_or("");
        if tail.starts_with('&') {
            let name = tail
                .get(1..)
                .and_then(|after| after.split_once(';'))
                .map(|(name, _)| name)
                .unwrap_or("");
            let known = matches!(name, "amp" | "lt" | "gt" | "nbsp" | "lrm" | "rlm")
                || name.strip_prefix("#x").is_some_and(|hex| {
                    !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
                })
                || name
                    .strip_prefix('#')
                    .is_some_and(|dec| !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit()));
            if !known {
                return Err(ParseError::at(
                    line_number,
                    format!("unescaped '&' in {}; write &amp;", quoted(line)),
                ));
            }
            rest = tail.get(name.len() + 2..).unwrap_or("");
        } else {
            let inside = tail
                .get(1..)
                .and_then(|after| after.split_once('>'))
                .map(|(inside, _)| inside);
            let Some(inside) = inside.filter(|inside| !inside.contains('<')) else {
                return Err(ParseError::at(
                    line_number,
                    format!("unescaped '<' in {}; write &lt;", quoted(line)),
                ));
            };
            let name = inside
                .trim_start_matches('/')
                .split(['.', ' ', '\t'])
                .next()
                .unwrap_or("");
            let timestamp = parse_timestamp(inside, TimeRules::StrictVtt).is_some();
            if !(TAGS.contains(&name) || timestamp) {
                return Err(ParseError::at(
                    line_number,
                    format!("unknown tag <{inside}> in {}", quoted(line)),
                ));
            }
            rest = tail.get(inside.len() + 2..).unwrap_or("");
        }
    }
    Ok(collapse_whitespace(&strip_markup(line, voice)))
}

/// Parses a WebVTT file, allowing at most `max_lines` text lines per cue. Cue identifiers,
/// cue settings, and NOTE blocks are accepted, as are STYLE and REGION blocks before the
/// first cue.
pub fn parse_vtt_with_limit(text: &str, max_lines: usize) -> Result<Vec<Cue>, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let lines = checked_lines(text)?;
    let mut cues: Vec<Cue> = Vec::new();
    let mut previous_end_ms = None;
    let Some(mut index) = strict_vtt_header(&lines)? else {
        return Ok(cues);
    };
    loop {
        let first = lines.get(index).copied().unwrap_or("");
        let keyword = first.split([' ', '\t']).next().unwrap_or("");
        let after = if keyword == "NOTE"
            || ((keyword == "STYLE" || keyword == "REGION") && cues.is_empty())
        {
            strict_vtt_block_end(&lines, index, keyword)?
        } else {
            let (cue, end_ms, after) = strict_vtt_cue(&lines, index, max_lines, previous_end_ms)?;
            cues.push(cue);
            previous_end_ms = Some(end_ms);
            after
        };
        match next_block(&lines, after)? {
            Some(next) => index = next,
            None => return Ok(cues),
        }
    }
}

/// Checks the `WEBVTT` line and the blank line after it; the line of the first block, or
/// `None` for a file that is only the header.
fn strict_vtt_header(lines: &[&str]) -> Result<Option<usize>, ParseError> {
    let header = lines.first().copied().unwrap_or("");
    let header_ok = header == "WEBVTT"
        || header
            .strip_prefix("WEBVTT")
            .is_some_and(|rest| rest.starts_with([' ', '\t']) && !rest.contains("-->"));
    if !header_ok {
        return Err(ParseError::at(
            1,
            format!(
                "a WebVTT file must start with \"WEBVTT\", found {}",
                quoted(header)
            ),
        ));
    }
    match lines.get(1) {
        None => Ok(None),
        Some(line) if line.is_empty() => match lines.get(2) {
            None => Err(ParseError::at(2, "blank line at the end of the file")),
            Some(line) if line.is_empty() => Err(ParseError::at(3, "two blank lines in a row")),
            Some(_) => Ok(Some(2)),
        },
        Some(_) => Err(ParseError::at(
            2,
            "a blank line must follow the WEBVTT header",
        )),
    }
}

/// The end of a NOTE, STYLE or REGION block starting on line `index`.
fn strict_vtt_block_end(lines: &[&str], index: usize, keyword: &str) -> Result<usize, ParseError> {
    let first = lines.get(index).copied().unwrap_or("");
    if (keyword == "STYLE" || keyword == "REGION") && first != keyword {
        return Err(ParseError::at(
            index + 1,
            format!("{keyword} must be alone on its line"),
        ));
    }
    let mut end = index;
    while let Some(line) = lines.get(end) {
        if line.is_empty() {
            break;
        }
        if line.contains("-->") {
            return Err(ParseError::at(
                end + 1,
                format!("{keyword} block contains \"-->\""),
            ));
        }
        end += 1;
    }
    Ok(end)
}

/// The cue starting on line `index` (its id, or its timing line), which must not start before
/// the previous cue ended; its end in ms, and the line after it.
fn strict_vtt_cue(
    lines: &[&str],
    index: usize,
    max_lines: usize,
    previous_end_ms: Option<i64>,
) -> Result<(Cue, i64, usize), ParseError> {
    let first = lines.get(index).copied().unwrap_or("");
    let timing_index = if first.contains("-->") {
        index
    } else {
        index + 1
    };
    let timing_line = lines.get(timing_index).copied().unwrap_or("");
    if !timing_line.contains("-->") {
        return Err(ParseError::at(
            timing_index + 1,
            format!(
                "expected a timing line like 00:00:01.000 --> 00:00:02.500, found {}",
                quoted(timing_line)
            ),
        ));
    }
    let (start_ms, end_ms) = strict_timing(timing_line, timing_index + 1, true)?;
    check_order(previous_end_ms, start_ms, timing_index + 1)?;
    let (text_lines, after) = cue_text_lines(lines, timing_index + 1, max_lines, timing_index + 1)?;
    let mut speaker = None;
    let mut plain_lines = Vec::with_capacity(text_lines.len());
    for (offset, line) in text_lines.iter().enumerate() {
        plain_lines.push(strict_vtt_text(
            line,
            timing_index + 2 + offset,
            &mut speaker,
        )?);
    }
    let cue = Cue {
        start_s: ms_to_seconds(start_ms),
        end_s: ms_to_seconds(end_ms),
        lines: plain_lines,
        speaker,
    };
    Ok((cue, end_ms, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_SRT: &str = "1\n00:00:01,000 --> 00:00:02,500\nHello there\nsecond line\n\n2\n00:00:02,500 --> 01:00:00,000\nBye\n";

    #[test]
    fn accepts_a_well_formed_srt() {
        let cues = parse_srt(GOOD_SRT).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_s, cues[0].end_s), (1.0, 2.5));
        assert_eq!(cues[0].lines, ["Hello there", "second line"]);
        assert_eq!(cues[1].end_s, 3600.0);
        assert_eq!(parse_srt(""), Ok(vec![]));
    }

    fn srt_error_line(text: &str) -> usize {
        match parse_srt(text) {
            Err(ParseError::Malformed { line, .. }) => line,
            other => panic!("expected an error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_srt_with_the_line() {
        assert_eq!(srt_error_line(&GOOD_SRT.replace("\n2\n", "\n3\n")), 6);
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("00:00:01,000", "00:00:01.000")),
            2
        );
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("00:00:01,000", "0:00:01,000")),
            2
        );
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("00:00:01,000", "00:00:61,000")),
            2
        );
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("00:00:02,500 --> 01", "00:00:02,400 --> 01")),
            7
        );
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("--> 00:00:02,500", "--> 00:00:01,000")),
            2
        );
        assert_eq!(srt_error_line(&GOOD_SRT.replace("line\n\n2", "line\n2")), 6);
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("line\n\n2", "line\n\n\n2")),
            6
        );
        assert_eq!(
            srt_error_line(&GOOD_SRT.replace("line\n\n2", "line\nthird\n\n2")),
            5
        );
        assert_eq!(srt_error_line(&GOOD_SRT.replace("Bye", "Bye ")), 8);
        assert_eq!(srt_error_line(&format!("{GOOD_SRT}\n")), 9);
        assert_eq!(srt_error_line(GOOD_SRT.trim_end()), 8);
        assert_eq!(srt_error_line(&GOOD_SRT.replace('\n', "\r\n")), 1);
        assert_eq!(srt_error_line(&format!("\u{feff}{GOOD_SRT}")), 1);
        assert_eq!(srt_error_line("1\n00:00:01,000 --> 00:00:02,000\n"), 2);
    }

    #[test]
    fn accepts_a_well_formed_vtt_and_reads_voices() {
        let text = "WEBVTT\n\nNOTE made by hand\n\nintro\n00:01.000 --> 00:00:02.000 align:start\n<v Mary &amp; Jo>Fish &amp; chips &lt;3\n\n00:00:02.000 --> 00:00:03.000\n<i>plain</i> &gt; text\n";
        let cues = parse_vtt(text).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].lines, ["Fish & chips <3"]);
        assert_eq!(cues[0].speaker.as_deref(), Some("Mary & Jo"));
        assert_eq!(cues[1].lines, ["plain > text"]);
        assert_eq!(parse_vtt("WEBVTT\n"), Ok(vec![]));
    }

    #[test]
    fn rejects_malformed_vtt() {
        let good = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n";
        assert!(parse_vtt(good).is_ok());
        for bad in [
            "WEBVTX\n\n00:00:01.000 --> 00:00:02.000\nHello\n",
            "WEBVTT\n00:00:01.000 --> 00:00:02.000\nHello\n",
            "WEBVTT\n\n00:00:01,000 --> 00:00:02.000\nHello\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nFish & chips\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na <b c\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<blink>x</blink>\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n\nloose text\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n\n00:00:01.500 --> 00:00:02.000\nOverlap\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n",
            "",
        ] {
            assert!(parse_vtt(bad).is_err(), "accepted {bad:?}");
        }
    }
}
