//! Where the exported subtitles will break, drawn in the transcript pane: a light tick at the
//! right edge of a row for each cue that begins in that segment (placed by the cue's start
//! within the segment's time), and a ⚠ on rows whose cues break the subtitle rules, with the
//! rules named on hover. Also the re-timing entries of a reviewed subtitle file's row menu.
//!
//! The cues are those the export would write ([`crate::export::cues`] for transcripts,
//! one per segment for files opened from subtitles), computed once per change of the
//! transcript — never per frame, and off the UI thread — and not at all while a file is
//! still being transcribed.

use super::super::commands::AppCommand;
use super::super::messages::{JobId, ProjectCommand};
use super::super::state::Job;
use crate::export::kept_cues::{cue_problems, segment_cue};
use crate::export::{Cue, SpeakerLabel, SubtitleRules, build_cues};
use crate::transcript::Transcript;
use crate::transcript::nudge::SegmentEdge;
use eframe::egui::{self, Rect, pos2, vec2};
use std::sync::mpsc;

/// Where the cues of one segment begin, and what is wrong with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentMarks {
    /// Each cue start as a fraction (0–1) of the segment's time span.
    pub cue_starts: Vec<f32>,
    /// The rules its cues break, one line each.
    pub problems: Vec<String>,
}

/// What the marks were computed from.
#[derive(Debug, Clone, PartialEq)]
struct MarksKey {
    job: JobId,
    generation: u64,
    revision: u64,
    rules: SubtitleRules,
}

/// The marks of the shown job's transcript. Cutting 10 000 segments into cues takes a
/// quarter of a second, so it runs on a thread of its own after each change, and the pane
/// shows the last marks until the new ones arrive (one edit behind at most).
#[derive(Debug, Default)]
pub struct CuePreview {
    key: Option<MarksKey>,
    marks: Vec<SegmentMarks>,
    pending: Option<(MarksKey, mpsc::Receiver<Vec<SegmentMarks>>)>,
}

impl CuePreview {
    /// The marks for `job` under `rules`; `None` while the job is still active (text still
    /// arriving) and until the first marks for it are ready.
    pub fn marks_for(&mut self, ctx: &egui::Context, job: &Job, rules: &SubtitleRules) -> Option<&[SegmentMarks]> {
        if job.status.is_active() {
            return None;
        }
        if let Some((key, receiver)) = &self.pending {
            match receiver.try_recv() {
                Ok(marks) => {
                    self.key = Some(key.clone());
                    self.marks = marks;
                    self.pending = None;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => self.pending = None,
            }
        }
        let wanted = MarksKey { job: job.id, generation: job.generation, revision: job.revision, rules: rules.clone() };
        if self.key.as_ref() != Some(&wanted) && self.pending.is_none() {
            let (sender, receiver) = mpsc::channel();
            let transcript = job.transcript.clone();
            let kept = job.project.subtitles.is_some();
            let rules = rules.clone();
            let ctx = ctx.clone();
            let spawned = std::thread::Builder::new().name("verbatim-cue-preview".into()).spawn(move || {
                let _ = sender.send(segment_marks(&transcript, kept, &rules));
                ctx.request_repaint();
            });
            if spawned.is_ok() {
                self.pending = Some((wanted, receiver));
            }
        }
        let current = self.key.as_ref().is_some_and(|key| key.job == job.id && key.generation == job.generation)
            && self.marks.len() == job.transcript.segments.len();
        current.then_some(self.marks.as_slice())
    }
}

/// The cues the export would write for `transcript` (one per segment when `kept`: it came
/// from subtitles), laid onto its segments.
pub fn segment_marks(transcript: &Transcript, kept: bool, rules: &SubtitleRules) -> Vec<SegmentMarks> {
    let mut marks = vec![SegmentMarks::default(); transcript.segments.len()];
    let note = |index: usize, fraction: f32, cue: &Cue, marks: &mut Vec<SegmentMarks>| {
        if let Some(mark) = marks.get_mut(index) {
            mark.cue_starts.push(fraction.clamp(0.0, 1.0));
            mark.problems.extend(cue_problems(cue, rules).iter().map(ToString::to_string));
        }
    };
    if kept {
        for (index, segment) in transcript.segments.iter().enumerate() {
            if let Some(cue) = segment_cue(transcript, segment, rules, SpeakerLabel::Prefix) {
                note(index, 0.0, &cue, &mut marks);
            }
        }
        return marks;
    }
    // Segments by start time, to find the one each cue begins in.
    let mut order: Vec<usize> = (0..transcript.segments.len()).collect();
    let start = |index: &usize| transcript.segments.get(*index).map(|segment| segment.start_s).unwrap_or(0.0);
    order.sort_by(|a, b| start(a).total_cmp(&start(b)));
    for cue in build_cues(transcript, rules, SpeakerLabel::Prefix) {
        let position = order.partition_point(|index| start(index) <= cue.start_s + 0.0005);
        let Some(&index) = order.get(position.saturating_sub(1)) else { continue };
        let Some(segment) = transcript.segments.get(index) else { continue };
        let span_s = (segment.end_s - segment.start_s).max(0.001);
        note(index, ((cue.start_s - segment.start_s) / span_s) as f32, &cue, &mut marks);
    }
    marks
}

/// Paints segment `index`'s cue ticks and warning at the right edge of `row_rect`.
pub fn paint_row_marks(ui: &egui::Ui, marks: &[SegmentMarks], job: JobId, index: usize, row_rect: Rect) {
    let Some(mark) = marks.get(index) else { return };
    let visuals = ui.visuals();
    let x = row_rect.right() - 2.0;
    let stroke = egui::Stroke::new(2.0, visuals.selection.bg_fill.gamma_multiply(0.7));
    for fraction in &mark.cue_starts {
        let y = row_rect.top() + 4.0 + fraction * (row_rect.height() - 8.0).max(0.0);
        ui.painter().line_segment([pos2(x - 8.0, y), pos2(x, y)], stroke);
    }
    if mark.problems.is_empty() {
        return;
    }
    let warning_rect = Rect::from_min_size(pos2(x - 26.0, row_rect.top() + 4.0), vec2(16.0, 16.0));
    ui.painter().text(
        warning_rect.center(),
        egui::Align2::CENTER_CENTER,
        "⚠",
        egui::FontId::proportional(13.0),
        visuals.warn_fg_color,
    );
    let response = ui.interact(warning_rect, egui::Id::unique(("cue_warning", job.0, index)), egui::Sense::click());
    let text = format!("Subtitle rules broken here: {}", mark.problems.join("; "));
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &text));
    response.on_hover_text(format!("Subtitle rules broken here:\n{}", mark.problems.join("\n")));
}

/// The row menu's re-timing entries for a file opened from subtitles: nudge this cue's start
/// or end by a tenth of a second, or shift every cue.
pub fn retime_menu(ui: &mut egui::Ui, job: &Job, index: usize, commands: &mut Vec<AppCommand>) {
    if job.project.subtitles.is_none() {
        return;
    }
    ui.separator();
    let nudge = |edge, delta_s| AppCommand::Project(ProjectCommand::NudgeCue { job: job.id, segment_index: index, edge, delta_s });
    for (label, edge) in [("Start", SegmentEdge::Start), ("End", SegmentEdge::End)] {
        ui.horizontal(|ui| {
            ui.label(label);
            for (text, delta_s) in [("-0.1 s", -0.1), ("+0.1 s", 0.1)] {
                if ui.button(text).on_hover_text(format!("{label} of this cue {text}")).clicked() {
                    commands.push(nudge(edge, delta_s));
                }
            }
        });
    }
    ui.horizontal(|ui| {
        ui.label("All cues");
        for (text, offset_s) in [("-1 s", -1.0), ("-0.1 s ", -0.1), ("+0.1 s ", 0.1), ("+1 s", 1.0)] {
            if ui.button(text).on_hover_text(format!("Shift every cue {}", text.trim())).clicked() {
                commands.push(AppCommand::Project(ProjectCommand::ShiftCues { job: job.id, offset_s }));
            }
        }
    });
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Segment, Word};

    #[test]
    fn a_long_segment_shows_where_each_of_its_cues_begins() {
        let mut transcript = Transcript::new();
        let words: Vec<Word> = (0..40)
            .map(|i| Word { text: format!("word{i}"), start_s: i as f64 * 0.4, end_s: i as f64 * 0.4 + 0.3, probability: None })
            .collect();
        let text = words.iter().map(|word| word.text.clone()).collect::<Vec<_>>().join(" ");
        transcript.push_segment(Segment { revision_key: None, start_s: 0.0, end_s: 16.0, text, speaker: None, words, ..Default::default() });
        let marks = segment_marks(&transcript, false, &SubtitleRules::default());
        let starts = &marks[0].cue_starts;
        assert!(starts.len() >= 3, "{starts:?}");
        assert_eq!(starts[0], 0.0);
        assert!(starts.windows(2).all(|pair| pair[0] < pair[1]), "{starts:?}");
        assert!(marks[0].problems.is_empty(), "the cutter keeps to the rules: {:?}", marks[0].problems);
        // Kept cues: one per segment, and a too-long one is named.
        let kept = segment_marks(&transcript, true, &SubtitleRules::default());
        assert_eq!(kept[0].cue_starts, [0.0]);
        assert!(kept[0].problems.iter().any(|problem| problem.contains("on screen")), "{:?}", kept[0].problems);
    }
}
