//! Exports: SRT, WebVTT, plain text and JSON, all written from the [`Transcript`] model, and
//! subtitle files read back in.
//!
//! Every export reads the model, so a renamed speaker or an edited segment is what gets
//! written. Subtitle cues follow [`SubtitleRules`] (line length, lines per cue, duration,
//! reading speed), cut at word boundaries using word timestamps where the engine gave them.
//! [`parse`] holds a strict SRT/WebVTT parser the tests use to check every file written here;
//! [`import`] holds the tolerant reader for subtitle files people bring.

mod cue_timing;
pub mod cues;
mod decode;
pub mod import;
pub mod json;
pub mod kept_cues;
mod layout;
mod markup;
pub mod parse;
pub mod srt;
pub mod text;
pub mod timecode;
pub mod tokens;
pub mod vtt;

pub use cues::{Cue, SpeakerLabel, SubtitleRules, build_cues};
pub use import::{SubtitleFormat, import_subtitle_file, import_subtitles};
pub use json::{JSON_FORMAT, JSON_VERSION, render_json, transcript_from_json};
pub use parse::{ParseError, parse_srt, parse_vtt};
pub use text::TextOptions;

use crate::transcript::Transcript;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The file formats a transcript can be exported to: the CLI's `--format` and the window's
/// File › Export menu. The window saves the last one in its settings under the names
/// `srt`, `web_vtt`, `text` and `json`; those stay the serialized names (the short names
/// `vtt` and `txt` are read too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Srt,
    #[serde(rename = "web_vtt", alias = "vtt")]
    Vtt,
    #[serde(rename = "text", alias = "txt")]
    Txt,
    Json,
}

impl ExportFormat {
    /// Every format, in the order menus list them.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Srt,
        ExportFormat::Vtt,
        ExportFormat::Txt,
        ExportFormat::Json,
    ];

    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Srt => "srt",
            ExportFormat::Vtt => "vtt",
            ExportFormat::Txt => "txt",
            ExportFormat::Json => "json",
        }
    }

    /// Name to show people (menu entries, file dialogs, "Exported … to …").
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Srt => "SRT subtitles",
            ExportFormat::Vtt => "WebVTT subtitles",
            ExportFormat::Txt => "Plain text",
            ExportFormat::Json => "JSON",
        }
    }

    /// Parses a comma-separated list such as `srt,vtt,txt,json` (as given on the command
    /// line). Names are case-insensitive, spaces around them are ignored, repeats are dropped.
    pub fn parse_list(list: &str) -> Result<Vec<ExportFormat>, ExportError> {
        let mut formats = Vec::new();
        for name in list.split(',') {
            if name.trim().is_empty() {
                continue;
            }
            let format: ExportFormat = name.parse()?;
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        if formats.is_empty() {
            return Err(ExportError::UnknownFormat(list.trim().to_string()));
        }
        Ok(formats)
    }
}

impl FromStr for ExportFormat {
    type Err = ExportError;

    /// `srt`, `vtt` or `webvtt`, `txt` or `text`, `json`; case-insensitive, a leading dot
    /// allowed.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let trimmed = name.trim();
        let lower = trimmed.trim_start_matches('.').to_ascii_lowercase();
        match lower.as_str() {
            "srt" => Ok(ExportFormat::Srt),
            "vtt" | "webvtt" => Ok(ExportFormat::Vtt),
            "txt" | "text" => Ok(ExportFormat::Txt),
            "json" => Ok(ExportFormat::Json),
            _ => Err(ExportError::UnknownFormat(trimmed.to_string())),
        }
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

/// How exports look. Saved with the other settings, so every field has a default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportOptions {
    /// Cue rules for SRT and WebVTT.
    pub subtitles: SubtitleRules,
    /// Plain text layout.
    pub text: TextOptions,
}

/// Why an export setting or a JSON transcript was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error(
        "unknown export format \"{0}\"; use srt, vtt, txt or json (comma-separated for several)"
    )]
    UnknownFormat(String),
    #[error(
        "the transcript file is not valid JSON ({0}); choose a .json file exported by Verbatim"
    )]
    InvalidJson(String),
    #[error(
        "the JSON file is not a Verbatim transcript ({0}); choose a .json file exported by Verbatim"
    )]
    NotATranscript(String),
    #[error(
        "the transcript file uses schema version {0}, newer than this Verbatim reads (1); update Verbatim"
    )]
    NewerVersion(u64),
    #[error("the transcript JSON is damaged: {0}; re-export it from Verbatim")]
    MalformedJson(String),
}

/// The transcript in `format`, as the text of the file to write (UTF-8, LF line endings, no
/// BOM, ending with a newline unless empty).
pub fn render(transcript: &Transcript, format: ExportFormat, options: &ExportOptions) -> String {
    match format {
        ExportFormat::Srt => srt::render_srt(transcript, &options.subtitles),
        ExportFormat::Vtt => vtt::render_vtt(transcript, &options.subtitles),
        ExportFormat::Txt => text::render_text(transcript, &options.text),
        ExportFormat::Json => json::render_json(transcript),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_and_lists() {
        assert_eq!("WebVTT".parse::<ExportFormat>(), Ok(ExportFormat::Vtt));
        assert_eq!(".SRT".parse::<ExportFormat>(), Ok(ExportFormat::Srt));
        assert_eq!("text".parse::<ExportFormat>(), Ok(ExportFormat::Txt));
        assert_eq!(
            ExportFormat::parse_list("srt, vtt,txt,json,srt"),
            Ok(vec![
                ExportFormat::Srt,
                ExportFormat::Vtt,
                ExportFormat::Txt,
                ExportFormat::Json
            ])
        );
        let error = ExportFormat::parse_list("srt,docx").unwrap_err();
        assert_eq!(error, ExportError::UnknownFormat("docx".into()));
        assert!(ExportFormat::parse_list(" , ").is_err());
        for format in ExportFormat::ALL {
            assert_eq!(format.extension().parse::<ExportFormat>(), Ok(format));
        }
    }

    #[test]
    fn serialized_names_are_the_ones_saved_settings_use() {
        let names: Vec<String> = ExportFormat::ALL
            .iter()
            .map(|format| serde_json::to_string(format).unwrap())
            .collect();
        assert_eq!(names, [r#""srt""#, r#""web_vtt""#, r#""text""#, r#""json""#]);
        for (name, format) in [("vtt", ExportFormat::Vtt), ("txt", ExportFormat::Txt)] {
            let read: ExportFormat = serde_json::from_str(&format!("{name:?}")).unwrap();
            assert_eq!(read, format);
        }
    }
}
