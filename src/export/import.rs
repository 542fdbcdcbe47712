//! Subtitle import: a forgiving SRT and WebVTT reader that turns files people bring into a
//! [`Transcript`] (one segment per cue, `<v Name>` voices as speakers).
//!
//! Real files are messy, so this accepts: any byte order mark, UTF-16, Windows-1252 or
//! Latin-1 text; CRLF and CR-only line endings; missing SRT sequence numbers; timestamps
//! without hours or milliseconds, with one to three (or more) fraction digits, with `,` or
//! `.`; SRT coordinates and WebVTT cue settings; WebVTT header metadata, NOTE, STYLE and
//! REGION blocks and cue identifiers; cues not separated by a blank line; styling tags and
//! HTML character references. Cues whose text is empty are dropped.
//!
//! It still refuses, with the line number, what cannot be read without guessing: a
//! timestamp that is not a time, cue text with no timing line, a timing line whose two
//! times use different decimal separators, a cue that ends before it starts, two timing
//! lines in a row, a WebVTT file without its `WEBVTT` header. SubStation, SBV, TTML and
//! other formats get an "unsupported format" error.

use super::cue_timing::{TimeRules, parse_timestamp, split_timing_line};
use super::cues::Cue;
use super::decode::decode_text;
use super::markup::{collapse_whitespace, strip_markup};
use super::parse::{ParseError, quoted};
use super::timecode::ms_to_seconds;
use crate::events::Segment;
use crate::transcript::{Speaker, Transcript};
use std::path::Path;

/// The subtitle formats that can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubtitleFormat {
    Srt,
    Vtt,
}

impl SubtitleFormat {
    /// The format a file extension promises: `Ok(None)` when the extension says nothing
    /// (the content decides), an error for subtitle formats that are not supported.
    pub fn from_extension(extension: &str) -> Result<Option<SubtitleFormat>, ParseError> {
        let unsupported = |name: &str| Err(ParseError::Unsupported(name.to_string()));
        match extension
            .trim_start_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "srt" => Ok(Some(SubtitleFormat::Srt)),
            "vtt" | "webvtt" => Ok(Some(SubtitleFormat::Vtt)),
            "sbv" => unsupported("YouTube SBV"),
            "ssa" | "ass" => unsupported("SubStation Alpha"),
            "ttml" | "dfxp" => unsupported("TTML"),
            "sub" => unsupported("MicroDVD/VobSub"),
            "stl" => unsupported("EBU STL"),
            "scc" => unsupported("Scenarist (SCC)"),
            _ => Ok(None),
        }
    }

    /// [`SubtitleFormat::from_extension`] for a file's extension.
    pub fn from_path(path: &Path) -> Result<Option<SubtitleFormat>, ParseError> {
        match path.extension().and_then(|extension| extension.to_str()) {
            Some(extension) => SubtitleFormat::from_extension(extension),
            None => Ok(None),
        }
    }
}

/// Reads an SRT or WebVTT file into a transcript: one segment per cue with text, sorted by
/// start time, lines joined by spaces; `<v Name>` voices become speakers (id and display
/// name both the name); a WebVTT `Language:` header becomes the language. `format_hint` is
/// usually [`SubtitleFormat::from_path`]; a `WEBVTT` header always wins over it.
pub fn import_subtitles(
    bytes: &[u8],
    format_hint: Option<SubtitleFormat>,
) -> Result<Transcript, ParseError> {
    let (cues, language) = read_subtitles(bytes, format_hint)?;
    let mut transcript = Transcript::new();
    let mut segments = Vec::with_capacity(cues.len());
    for cue in cues {
        let text = collapse_whitespace(&cue.lines.join(" "));
        if text.is_empty() {
            continue;
        }
        if let Some(name) = &cue.speaker {
            if !transcript
                .speakers
                .iter()
                .any(|speaker| &speaker.id == name)
            {
                transcript.speakers.push(Speaker {
                    id: name.clone(),
                    display_name: name.clone(),
                });
            }
        }
        segments.push(Segment {
            revision_key: None,
            start_s: cue.start_s,
            end_s: cue.end_s,
            text,
            speaker: cue.speaker,
            words: Vec::new(),
            ..Default::default()
        });
    }
    segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let mut transcript = Transcript::from_parts(segments, transcript.speakers, []);
    transcript.language = language;
    Ok(transcript)
}

/// Reads a subtitle file from disk and imports it, taking the format hint from its
/// extension (an unsupported subtitle extension such as `.sbv` is an error).
pub fn import_subtitle_file(path: &Path) -> Result<Transcript, ParseError> {
    let hint = SubtitleFormat::from_path(path)?;
    let bytes = std::fs::read(path).map_err(|error| ParseError::Read {
        path: path.display().to_string(),
        reason: error.to_string(),
    })?;
    import_subtitles(&bytes, hint)
}

/// The cues of an SRT or WebVTT file, markup stripped (empty cues kept), and the language
/// a WebVTT header names.
pub fn read_subtitles(
    bytes: &[u8],
    format_hint: Option<SubtitleFormat>,
) -> Result<(Vec<Cue>, Option<String>), ParseError> {
    let text = decode_text(bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    let first_content = lines.iter().position(|line| !line.trim().is_empty());
    let Some(first_content) = first_content else {
        return Err(ParseError::Empty);
    };
    let first_line = lines
        .get(first_content)
        .map(|line| line.trim())
        .unwrap_or("");
    let format = if is_webvtt_header(first_line) {
        SubtitleFormat::Vtt
    } else if let Some(format) = format_hint {
        format
    } else {
        sniff(first_line, &lines)?
    };
    match format {
        SubtitleFormat::Srt => Ok((read_srt(&lines)?, None)),
        SubtitleFormat::Vtt => read_vtt(&lines, first_content),
    }
}

fn is_webvtt_header(line: &str) -> bool {
    line.strip_prefix("WEBVTT")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Guesses the format of a file without a hint.
fn sniff(first_line: &str, lines: &[&str]) -> Result<SubtitleFormat, ParseError> {
    if first_line.starts_with("[Script Info]") {
        return Err(ParseError::Unsupported("SubStation Alpha".into()));
    }
    if first_line.starts_with("<?xml") || first_line.starts_with("<tt") {
        return Err(ParseError::Unsupported("TTML".into()));
    }
    if lines.iter().any(|line| line.contains("-->")) {
        return Ok(SubtitleFormat::Srt);
    }
    if lines.iter().any(|line| is_sbv_timing(line.trim())) {
        return Err(ParseError::Unsupported("YouTube SBV".into()));
    }
    Err(ParseError::NotSubtitles)
}

/// `0:00:00.378,0:00:11.378`
fn is_sbv_timing(line: &str) -> bool {
    line.split_once(',').is_some_and(|(start, end)| {
        let time = |t: &str| {
            t.contains(':')
                && t.contains('.')
                && t.chars()
                    .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
        };
        time(start) && time(end)
    })
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_sequence_number(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && line.len() <= 9 && line.bytes().all(|b| b.is_ascii_digit())
}

/// `start --> end [settings or coordinates]` into milliseconds.
fn lenient_timing(line: &str, line_number: usize) -> Result<(i64, i64), ParseError> {
    let (start, end, _) = split_timing_line(line, TimeRules::Tolerant).unwrap_or((line, "", None));
    let bad_time = |time: &str| {
        ParseError::at(
            line_number,
            format!(
                "{} is not a valid time; write it like 00:01:02,500 (hours optional)",
                quoted(time)
            ),
        )
    };
    let (start_ms, start_separator) =
        parse_timestamp(start, TimeRules::Tolerant).ok_or_else(|| bad_time(start))?;
    let (end_ms, end_separator) =
        parse_timestamp(end, TimeRules::Tolerant).ok_or_else(|| bad_time(end))?;
    if let (Some(first), Some(second)) = (start_separator, end_separator) {
        if first != second {
            return Err(ParseError::at(
                line_number,
                format!(
                    "the timing line {} mixes '{first}' and '{second}' before the milliseconds; use one",
                    quoted(line)
                ),
            ));
        }
    }
    if end_ms < start_ms {
        return Err(ParseError::at(
            line_number,
            format!("the cue in {} ends before it starts", quoted(line)),
        ));
    }
    Ok((start_ms, end_ms))
}

/// A cue from its times and raw text lines: markup stripped, voice kept.
fn cue_from(start_ms: i64, end_ms: i64, raw_lines: &[&str]) -> Cue {
    let mut speaker = None;
    let lines = raw_lines
        .iter()
        .map(|line| collapse_whitespace(&strip_markup(line, &mut speaker)))
        .filter(|line| !line.is_empty())
        .collect();
    Cue {
        start_s: ms_to_seconds(start_ms),
        end_s: ms_to_seconds(end_ms),
        lines,
        speaker,
    }
}

fn read_srt(lines: &[&str]) -> Result<Vec<Cue>, ParseError> {
    let mut cues = Vec::new();
    let mut index = 0;
    loop {
        while lines.get(index).is_some_and(|line| is_blank(line)) {
            index += 1;
        }
        let Some(line) = lines.get(index) else { break };
        let timing_index = if line.contains("-->") {
            index
        } else if is_sequence_number(line) {
            match lines.get(index + 1) {
                Some(next) if next.contains("-->") => index + 1,
                Some(next) if !is_blank(next) => {
                    return Err(ParseError::at(
                        index + 2,
                        format!(
                            "expected a timing line after cue number {}, found {}; add the timing or remove the cue",
                            line.trim(),
                            quoted(next)
                        ),
                    ));
                }
                _ => {
                    return Err(ParseError::at(
                        index + 1,
                        format!(
                            "cue number {} has no timing line after it; add one or remove the cue",
                            line.trim()
                        ),
                    ));
                }
            }
        } else {
            return Err(ParseError::at(
                index + 1,
                format!(
                    "expected a cue number or a timing line like 00:00:01,000 --> 00:00:02,000, found {}",
                    quoted(line)
                ),
            ));
        };
        let timing_line = lines.get(timing_index).copied().unwrap_or("");
        let (start_ms, end_ms) = lenient_timing(timing_line, timing_index + 1)?;
        let mut end = timing_index + 1;
        while let Some(text) = lines.get(end) {
            let next_cue = text.contains("-->")
                || (is_sequence_number(text)
                    && lines
                        .get(end + 1)
                        .is_some_and(|after| after.contains("-->")));
            if is_blank(text) || next_cue {
                break;
            }
            end += 1;
        }
        cues.push(cue_from(
            start_ms,
            end_ms,
            lines.get(timing_index + 1..end).unwrap_or(&[]),
        ));
        index = end;
    }
    Ok(cues)
}

fn read_vtt(lines: &[&str], header_index: usize) -> Result<(Vec<Cue>, Option<String>), ParseError> {
    let header = lines
        .get(header_index)
        .map(|line| line.trim())
        .unwrap_or("");
    if !is_webvtt_header(header) {
        return Err(ParseError::at(
            header_index + 1,
            format!(
                "a WebVTT file must start with WEBVTT, found {}; if it is SubRip, name it .srt",
                quoted(header)
            ),
        ));
    }
    let (language, mut index) = vtt_header_language(lines, header_index + 1);
    let mut cues = Vec::new();
    loop {
        while lines.get(index).is_some_and(|line| is_blank(line)) {
            index += 1;
        }
        if index >= lines.len() {
            break;
        }
        let timing_index = match vtt_timing_index(lines, index, cues.is_empty())? {
            VttBlock::Cue { timing_index } => timing_index,
            VttBlock::Skip { end } => {
                index = end;
                continue;
            }
        };
        let timing_line = lines.get(timing_index).copied().unwrap_or("");
        let (start_ms, end_ms) = lenient_timing(timing_line, timing_index + 1)?;
        let end = vtt_cue_text_end(lines, timing_index)?;
        cues.push(cue_from(
            start_ms,
            end_ms,
            lines.get(timing_index + 1..end).unwrap_or(&[]),
        ));
        index = end;
    }
    Ok((cues, language))
}

/// The `Language:` of the header metadata (which runs to the first blank line or cue), and
/// the line after the metadata.
fn vtt_header_language(lines: &[&str], from: usize) -> (Option<String>, usize) {
    let mut language = None;
    let mut index = from;
    while let Some(line) = lines.get(index) {
        if is_blank(line) || line.contains("-->") {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            let plausible = !value.is_empty()
                && value.len() <= 16
                && value.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
            if key.trim().eq_ignore_ascii_case("language") && plausible {
                language = Some(value.to_string());
            }
        }
        index += 1;
    }
    (language, index)
}

/// What the block starting at a non-blank line is.
enum VttBlock {
    /// A cue whose timing line is `timing_index` (the first line, or the one after its id).
    Cue { timing_index: usize },
    /// A block without cues (NOTE, STYLE, REGION, legacy header lines) that ends at `end`.
    Skip { end: usize },
}

fn vtt_timing_index(lines: &[&str], index: usize, before_first_cue: bool) -> Result<VttBlock, ParseError> {
    let first = lines.get(index).copied().unwrap_or("");
    let keyword = first.trim().split([' ', '\t']).next().unwrap_or("");
    let block_end = || {
        let mut end = index;
        while lines.get(end).is_some_and(|line| !is_blank(line)) {
            end += 1;
        }
        end
    };
    if matches!(keyword, "NOTE" | "STYLE" | "REGION") && !first.contains("-->") {
        return Ok(VttBlock::Skip { end: block_end() });
    }
    if first.contains("-->") {
        Ok(VttBlock::Cue { timing_index: index })
    } else if lines
        .get(index + 1)
        .is_some_and(|next| next.contains("-->"))
    {
        Ok(VttBlock::Cue { timing_index: index + 1 })
    } else if before_first_cue {
        // Before the first cue: legacy header blocks such as `Region:` lines.
        Ok(VttBlock::Skip { end: block_end() })
    } else {
        Err(ParseError::at(
            index + 1,
            format!(
                "cue text {} has no timing line; add one like 00:00:01.000 --> 00:00:02.000",
                quoted(first)
            ),
        ))
    }
}

/// Where the text of the cue timed on `timing_index` ends: a blank line, the end, or (files
/// from youtube-dl) the next cue's timing line.
fn vtt_cue_text_end(lines: &[&str], timing_index: usize) -> Result<usize, ParseError> {
    let mut end = timing_index + 1;
    while let Some(text) = lines.get(end) {
        if is_blank(text) {
            break;
        }
        if text.contains("-->") {
            if end == timing_index + 1 {
                return Err(ParseError::at(
                    end + 1,
                    format!(
                        "a second timing line right after the one on line {}; put the cue text between them or remove one",
                        timing_index + 1
                    ),
                ));
            }
            // A cue that starts without a blank line before it (files from youtube-dl).
            break;
        }
        end += 1;
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_timestamps() {
        let tolerant = |text| parse_timestamp(text, TimeRules::Tolerant);
        assert_eq!(tolerant("00:01:39"), Some((99_000, None)));
        assert_eq!(tolerant("00:01:41,04"), Some((101_040, Some(','))));
        assert_eq!(tolerant("00:16.5"), Some((16_500, Some('.'))));
        assert_eq!(
            tolerant("1:02:03.0049"),
            Some((3_723_005, Some('.')))
        );
        assert_eq!(tolerant("00:00:1d.890"), None);
        assert_eq!(tolerant("00:61:00.000"), None);
        assert_eq!(tolerant("12.5"), None);
        assert_eq!(tolerant(""), None);
    }

    #[test]
    fn srt_without_numbers_or_blank_lines() {
        let bytes = b"00:00:01,000 --> 00:00:02,000\nOne\n2\n00:00:02,000 --> 00:00:03,000\nTwo\n00:00:03,000 --> 00:00:04,000\nThree";
        let transcript = import_subtitles(bytes, None).unwrap();
        let texts: Vec<&str> = transcript
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(texts, ["One", "Two", "Three"]);
    }

    #[test]
    fn extensions() {
        assert_eq!(
            SubtitleFormat::from_extension("SRT"),
            Ok(Some(SubtitleFormat::Srt))
        );
        assert_eq!(
            SubtitleFormat::from_path(Path::new("a/b.vtt")),
            Ok(Some(SubtitleFormat::Vtt))
        );
        assert_eq!(SubtitleFormat::from_path(Path::new("notes.txt")), Ok(None));
        let error = SubtitleFormat::from_path(Path::new("x.sbv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not supported"), "{error}");
    }
}
