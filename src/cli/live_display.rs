//! Shows segments on stderr as they arrive, under a progress bar when stderr is a terminal.

use crate::events::{EngineEvent, Segment};
use crate::units::clock_centiseconds;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The terminal view of one running transcription.
pub struct LiveDisplay {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl LiveDisplay {
    /// `label` names the file; `quiet` hides segments (warnings still show).
    pub fn new(label: &str, quiet: bool) -> LiveDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr_with_hz(8));
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {elapsed_precise} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        LiveDisplay { bar, quiet }
    }

    pub fn show(&self, event: &EngineEvent) {
        match event {
            EngineEvent::Segment(segment) if !self.quiet => self.print(&format_segment(segment)),
            EngineEvent::Warning { message } => self.print(&format!("warning: {message}")),
            EngineEvent::Progress { .. } => {
                if let (Some(bar), Some(fraction)) = (&self.bar, event.progress_fraction()) {
                    bar.set_position((fraction * 1000.0) as u64);
                }
            }
            _ => {}
        }
    }

    fn print(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `[00:01.20 → 00:03.40] Speaker: text`
pub fn format_segment(segment: &Segment) -> String {
    let speaker = segment.speaker.as_deref().map(|s| format!("({s}) ")).unwrap_or_default();
    format!("[{} → {}] {speaker}{}", clock_centiseconds(segment.start_s), clock_centiseconds(segment.end_s), segment.text.trim())
}
