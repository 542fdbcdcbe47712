//! Export flags of `verbatim transcribe`: the subtitle rules and text layout, with the
//! library's defaults.

use crate::export::{ExportOptions, SubtitleRules, TextOptions};
use clap::Args;

#[derive(Debug, Args)]
#[command(next_help_heading = "Export")]
pub struct ExportArgs {
    /// Subtitles: characters per line.
    #[arg(long, default_value_t = SubtitleRules::default().max_chars_per_line)]
    pub max_line_chars: usize,
    /// Subtitles: lines per cue.
    #[arg(long, default_value_t = SubtitleRules::default().max_lines_per_cue)]
    pub max_lines: usize,
    /// Subtitles: longest time a cue stays on screen (seconds).
    #[arg(long, default_value_t = SubtitleRules::default().max_cue_duration_s)]
    pub max_cue_s: f64,
    /// Subtitles: shortest time a cue stays on screen (seconds).
    #[arg(long, default_value_t = SubtitleRules::default().min_cue_duration_s)]
    pub min_cue_s: f64,
    /// Subtitles: reading speed limit in characters per second (0 = none).
    #[arg(long, default_value_t = SubtitleRules::default().max_chars_per_second.unwrap_or(0.0))]
    pub max_cps: f64,
    /// Leave speaker names out of subtitles and text.
    #[arg(long)]
    pub no_speaker_names: bool,
    /// Text: open each paragraph with its start and end time.
    #[arg(long)]
    pub txt_timestamps: bool,
}

impl ExportArgs {
    /// The export options these flags describe, or a one-line error for nonsense values.
    pub fn to_options(&self) -> anyhow::Result<ExportOptions> {
        if self.max_line_chars == 0 || self.max_lines == 0 {
            anyhow::bail!("--max-line-chars and --max-lines must be at least 1");
        }
        if !(self.max_cue_s > 0.0) || !(self.min_cue_s >= 0.0) || self.min_cue_s > self.max_cue_s {
            anyhow::bail!("cue durations must satisfy 0 <= --min-cue-s <= --max-cue-s and --max-cue-s > 0");
        }
        if !(self.max_cps >= 0.0) {
            anyhow::bail!("--max-cps must be 0 (no limit) or more");
        }
        let subtitles = SubtitleRules {
            max_chars_per_line: self.max_line_chars,
            max_lines_per_cue: self.max_lines,
            max_cue_duration_s: self.max_cue_s,
            min_cue_duration_s: self.min_cue_s,
            max_chars_per_second: (self.max_cps > 0.0).then_some(self.max_cps),
            show_speakers: !self.no_speaker_names,
            ..SubtitleRules::default()
        };
        let text = TextOptions {
            with_timestamps: self.txt_timestamps,
            with_speakers: !self.no_speaker_names,
            ..TextOptions::default()
        };
        Ok(ExportOptions { subtitles, text })
    }
}
