//! The live transcript pane: segments appear as they stream in, the live hypothesis is drawn
//! in italics and replaced in place, each segment has its time and a coloured speaker chip,
//! text is edited in place, and the view follows new text until the user scrolls up.
//!
//! # Why a height cache, not fixed-height rows
//!
//! `ScrollArea::show_rows` wants every row the same height, which means either cutting long
//! segments off (elision) or wasting space on short ones. Transcripts are read, so segments
//! wrap to their full text here, and the pane keeps its own row index instead:
//!
//! * a height per segment for the current wrap width, and prefix sums of those heights, so the
//!   first visible row is a binary search and only the visible rows are laid out and drawn;
//! * a new row gets an estimated height (characters per line learned from rows already
//!   measured); rows are measured exactly when they are drawn, and a small per-frame budget
//!   measures the rest in the background, so after a resize the scroll bar settles within a
//!   few frames without any frame doing all 10 000 layouts at once;
//! * visible rows are placed one after the other with their exact heights, so an estimate
//!   above the viewport can shift the scroll position slightly but never makes rows overlap.
//!
//! Appending a segment costs one layout; a frame costs the visible rows plus at most the
//! background budget, independent of the transcript's length.

use super::super::VerbatimApp;
use super::super::commands::{AppCommand, ExportDestination};
use super::super::settings::ExportKind;
use super::super::state::{Job, JobId, JobStatus};
use super::speakers::{self, RenameDialog};
use crate::events::Segment;
use crate::transcript::Transcript;
use eframe::egui::{self, Rect, pos2, vec2};
use std::time::{Duration, Instant};

/// Width of the time column.
const TIME_WIDTH: f32 = 56.0;
/// Widest the speaker column gets (longer names are cut off in the chip).
const MAX_SPEAKER_WIDTH: f32 = 170.0;
const COLUMN_GAP: f32 = 10.0;
/// Space above and below a row's text.
const ROW_PADDING: f32 = 5.0;
/// Room kept free on the right for the (floating) scroll bar.
const RIGHT_MARGIN: f32 = 14.0;
const CHIP_HEIGHT: f32 = 22.0;
/// Time per frame spent measuring rows that are not visible.
const MEASURE_BUDGET: Duration = Duration::from_micros(1000);

/// Which layout the cached heights are valid for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LayoutKey {
    wrap_width_px: i32,
    font_size_centipoints: i32,
    with_speakers: bool,
}

/// Row heights and their prefix sums for one transcript at one width.
#[derive(Debug, Default)]
pub struct RowHeights {
    transcript_key: Option<(JobId, u64)>,
    layout_key: Option<LayoutKey>,
    /// Height of each segment row, padding included.
    heights: Vec<f32>,
    measured: Vec<bool>,
    /// `offsets[i]` is the top of row `i`; one more entry than rows (the total).
    offsets: Vec<f32>,
    /// Offsets from this row on need recomputing.
    dirty_from: usize,
    unmeasured: usize,
    fill_cursor: usize,
    /// Learned from measured rows; used to estimate the others.
    chars_per_line: f32,
    line_height: f32,
}

impl RowHeights {
    fn reset(&mut self) {
        self.heights.clear();
        self.measured.clear();
        self.offsets = vec![0.0];
        self.dirty_from = 0;
        self.unmeasured = 0;
        self.fill_cursor = 0;
    }

    fn estimate(&self, text: &str) -> f32 {
        let characters = text.len() as f32; // bytes: close enough, and O(1)
        let lines = (characters / self.chars_per_line.max(8.0)).ceil().max(1.0);
        (lines * self.line_height).max(CHIP_HEIGHT) + 2.0 * ROW_PADDING
    }

    /// Makes the cache describe `segments` at `layout`, estimating what is new or stale.
    fn sync(
        &mut self,
        key: (JobId, u64),
        layout: LayoutKey,
        line_height: f32,
        segments: &[Segment],
    ) {
        if self.transcript_key != Some(key) || segments.len() < self.heights.len() {
            self.transcript_key = Some(key);
            self.reset();
        }
        if self.chars_per_line <= 0.0 {
            self.chars_per_line = (layout.wrap_width_px as f32 / 7.0).max(8.0);
        }
        self.line_height = line_height;
        if self.layout_key != Some(layout) {
            if let Some(old) = self.layout_key
                && old.wrap_width_px > 0
            {
                self.chars_per_line *= layout.wrap_width_px as f32 / old.wrap_width_px as f32;
            }
            self.layout_key = Some(layout);
            for index in 0..self.heights.len() {
                self.heights[index] = self.estimate(&segments[index].text);
                self.measured[index] = false;
            }
            self.unmeasured = self.heights.len();
            self.fill_cursor = 0;
            self.dirty_from = 0;
        }
        while self.heights.len() < segments.len() {
            let estimate = self.estimate(&segments[self.heights.len()].text);
            self.heights.push(estimate);
            self.measured.push(false);
            self.unmeasured += 1;
        }
        self.rebuild_offsets();
    }

    fn rebuild_offsets(&mut self) {
        let count = self.heights.len();
        self.offsets.resize(count + 1, 0.0);
        let start = self.dirty_from.min(count);
        for index in start..count {
            self.offsets[index + 1] = self.offsets[index] + self.heights[index];
        }
        self.dirty_from = count;
    }

    /// Records the exact height of row `index`.
    fn set_measured(&mut self, index: usize, height: f32, characters: usize, lines: usize) {
        let Some(slot) = self.heights.get_mut(index) else {
            return;
        };
        if (*slot - height).abs() > 0.25 {
            *slot = height;
            self.dirty_from = self.dirty_from.min(index);
        }
        if let Some(measured) = self.measured.get_mut(index)
            && !*measured
        {
            *measured = true;
            self.unmeasured = self.unmeasured.saturating_sub(1);
        }
        if lines >= 2 {
            let observed = characters as f32 / (lines as f32 - 0.5);
            self.chars_per_line = 0.9 * self.chars_per_line + 0.1 * observed;
        }
    }

    /// Forgets the exact height of row `index` (its text changed).
    fn invalidate(&mut self, index: usize) {
        if let Some(measured) = self.measured.get_mut(index)
            && *measured
        {
            *measured = false;
            self.unmeasured += 1;
        }
    }

    /// The row at content height `y`.
    fn row_at(&self, y: f32) -> usize {
        let rows = self.heights.len();
        self.offsets[..rows.min(self.offsets.len())]
            .partition_point(|&top| top <= y)
            .saturating_sub(1)
    }

    fn total(&self) -> f32 {
        self.offsets.last().copied().unwrap_or(0.0)
    }

    /// Rows whose height is still an estimate.
    pub fn unmeasured(&self) -> usize {
        self.unmeasured
    }
}

/// A segment's text being edited.
#[derive(Debug, Clone)]
struct SegmentEdit {
    job: JobId,
    index: usize,
    text: String,
    focus_requested: bool,
}

/// The pane's own state (not persisted).
#[derive(Debug)]
pub struct TranscriptPane {
    rows: RowHeights,
    /// Keep the newest text in view. Turned off when the user scrolls up; back on when they
    /// scroll to the bottom or press "Jump to live".
    pub follow_live: bool,
    jump_requested: bool,
    editing: Option<SegmentEdit>,
    /// Rows drawn in the last frame (for tests and the benchmark).
    pub rows_drawn: usize,
}

impl Default for TranscriptPane {
    fn default() -> Self {
        TranscriptPane {
            rows: RowHeights::default(),
            follow_live: true,
            jump_requested: false,
            editing: None,
            rows_drawn: 0,
        }
    }
}

impl TranscriptPane {
    /// Scrolls to the newest text and follows it again.
    pub fn jump_to_live(&mut self) {
        self.jump_requested = true;
        self.follow_live = true;
    }

    pub fn rows(&self) -> &RowHeights {
        &self.rows
    }
}

/// What the user did in the pane this frame, beyond commands.
#[derive(Default)]
struct PaneActions {
    commands: Vec<AppCommand>,
    rename: Option<RenameDialog>,
    start_edit: Option<usize>,
}

/// The central panel: the selected file's header and transcript, or the welcome drop zone.
pub fn central_panel(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let Some(job_id) = app.state.selected else {
        empty_state(app, ui);
        return;
    };
    let VerbatimApp {
        state,
        pane,
        rename,
        settings,
        ..
    } = app;
    let Some(job) = state.job(job_id) else { return };
    let mut actions = PaneActions::default();
    header(
        ui,
        job,
        settings.export.last.as_ref().map(|last| last.kind),
        &mut actions,
    );
    if !job.transcript.speakers.is_empty() {
        speaker_strip(ui, job, &mut actions);
    }
    ui.add_space(4.0);
    ui.separator();
    transcript_view(ui, pane, job, &mut actions);
    let edited = actions.commands.iter().filter_map(|command| match command {
        AppCommand::EditSegmentText { segment_index, .. } => Some(*segment_index),
        _ => None,
    });
    for index in edited.collect::<Vec<_>>() {
        pane.rows.invalidate(index);
    }
    if let Some(dialog) = actions.rename {
        *rename = Some(dialog);
    }
    for command in actions.commands {
        app.send(command);
    }
}

fn empty_state(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let available = ui.available_rect_before_wrap();
    let zone = available.shrink(24.0);
    let visuals = ui.visuals().clone();
    ui.painter().rect(
        zone,
        14.0,
        visuals.faint_bg_color,
        egui::Stroke::new(1.5, visuals.widgets.noninteractive.bg_stroke.color),
        egui::StrokeKind::Inside,
    );
    ui.scope_builder(
        egui::UiBuilder::new()
            .max_rect(zone)
            .layout(egui::Layout::top_down(egui::Align::Center)),
        |ui| {
            ui.add_space((zone.height() * 0.5 - 110.0).max(12.0));
            ui.label(
                egui::RichText::new("🎧")
                    .size(44.0)
                    .color(visuals.weak_text_color()),
            );
            ui.add_space(6.0);
            ui.label(
                egui::RichText::new("Drop audio or video files here")
                    .size(22.0)
                    .strong(),
            );
            ui.add_space(2.0);
            ui.label(
                egui::RichText::new("They are transcribed one after another, on this computer.")
                    .weak(),
            );
            ui.add_space(14.0);
            let open = egui::Button::new(egui::RichText::new("🗁  Open files…").size(15.0))
                .min_size(vec2(160.0, 34.0));
            if ui
                .add(open)
                .on_hover_text(ui.ctx().format_shortcut(&super::SHORTCUT_OPEN))
                .clicked()
            {
                app.send(AppCommand::OpenFileDialog);
            }
            ui.add_space(14.0);
            ui.label(
                egui::RichText::new(
                    "WAV · MP3 · M4A · AAC · FLAC · OGG · OPUS · MP4 · MKV · MOV · WEBM",
                )
                .small()
                .weak(),
            );
        },
    );
}

fn header(ui: &mut egui::Ui, job: &Job, last_kind: Option<ExportKind>, actions: &mut PaneActions) {
    ui.horizontal(|ui| {
        ui.add(egui::Label::new(egui::RichText::new(&job.name).heading().strong()).truncate())
            .on_hover_text(job.path.display().to_string());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let has_text = !job.transcript.segments.is_empty();
            ui.add_enabled_ui(has_text, |ui| {
                ui.menu_button("Export ⏷", |ui| {
                    for &kind in ExportKind::ALL {
                        let mut button = egui::Button::new(format!("{}…", kind.label()));
                        if Some(kind) == last_kind {
                            button = button.shortcut_text("last used");
                        }
                        if ui.add(button).clicked() {
                            actions.commands.push(AppCommand::Export {
                                job: job.id,
                                kind,
                                destination: ExportDestination::AskUser,
                            });
                            ui.close();
                        }
                    }
                });
                if ui
                    .button("Copy")
                    .on_hover_text(format!(
                        "Copy the transcript ({})",
                        ui.ctx().format_shortcut(&super::SHORTCUT_COPY)
                    ))
                    .clicked()
                {
                    actions.commands.push(AppCommand::CopyTranscript(job.id));
                }
            });
            if job.status.is_running() {
                if ui
                    .add_enabled(
                        job.status == JobStatus::Running,
                        egui::Button::new("Cancel"),
                    )
                    .on_hover_text("Stop (Esc); segments so far are kept")
                    .clicked()
                {
                    actions.commands.push(AppCommand::CancelJob(job.id));
                }
            } else if !job.status.is_active() && ui.button("Transcribe again").clicked() {
                actions.commands.push(AppCommand::RetryJob(job.id));
            }
        });
    });
    let mut facts: Vec<String> = Vec::new();
    facts.push(match &job.status {
        JobStatus::Running => match job.progress {
            Some(fraction) => format!("Transcribing · {:.0}%", fraction * 100.0),
            None => "Transcribing".into(),
        },
        JobStatus::Failed { reason } => format!("Failed: {reason}"),
        other => other.label().to_string(),
    });
    if let Some(duration_s) = job.transcript.duration_s {
        facts.push(format!("{} of audio", super::format_clock(duration_s)));
    }
    if let Some(language) = &job.transcript.language {
        facts.push(format!("language {language}"));
    }
    if let Some(engine) = &job.engine_name {
        facts.push(engine.clone());
    }
    if job.transcript.speakers.is_empty() && !job.transcript.segments.is_empty() {
        facts.push("click a line to edit it".into());
    }
    ui.label(egui::RichText::new(facts.join("  ·  ")).small().weak());
}

fn speaker_strip(ui: &mut egui::Ui, job: &Job, actions: &mut PaneActions) {
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new("Speakers").small().weak());
        for speaker in &job.transcript.speakers {
            let width = ui
                .painter()
                .layout_no_wrap(
                    speaker.display_name.clone(),
                    egui::FontId::proportional(13.0),
                    egui::Color32::WHITE,
                )
                .size()
                .x
                + 24.0;
            let (rect, _) = ui.allocate_exact_size(vec2(width, CHIP_HEIGHT), egui::Sense::hover());
            let response = speakers::speaker_chip(
                ui,
                rect,
                egui::Id::unique(("speaker_strip", job.id.0, &speaker.id)),
                &speaker.id,
                &speaker.display_name,
            );
            if response.clicked() {
                actions.rename = Some(RenameDialog::new(
                    job.id,
                    &speaker.id,
                    &speaker.display_name,
                    rect.left_bottom() + vec2(0.0, 6.0),
                ));
            }
        }
        ui.add_space(8.0);
        ui.label(
            egui::RichText::new("click a name to rename it, a line to edit it")
                .small()
                .weak(),
        );
    });
}

/// Lays out segment text for the text column (galleys are cached by egui between frames).
fn text_galley(ui: &egui::Ui, text: &str, wrap_width: f32) -> std::sync::Arc<egui::Galley> {
    ui.painter().layout(
        text.to_owned(),
        egui::TextStyle::Body.resolve(ui.style()),
        ui.visuals().text_color(),
        wrap_width,
    )
}

fn hypothesis_galley(ui: &egui::Ui, text: &str, wrap_width: f32) -> std::sync::Arc<egui::Galley> {
    let format = egui::TextFormat {
        font_id: egui::TextStyle::Body.resolve(ui.style()),
        color: ui.visuals().weak_text_color(),
        italics: true,
        ..Default::default()
    };
    let mut job = egui::text::LayoutJob::single_section(format!("{text} …"), format);
    job.wrap.max_width = wrap_width;
    ui.painter().layout_job(job)
}

fn row_height_for(galley_height: f32) -> f32 {
    galley_height.max(CHIP_HEIGHT) + 2.0 * ROW_PADDING
}

fn transcript_view(
    ui: &mut egui::Ui,
    pane: &mut TranscriptPane,
    job: &Job,
    actions: &mut PaneActions,
) {
    let transcript = &job.transcript;
    let with_speakers = !transcript.speakers.is_empty();
    let full_width = ui.available_width();
    // The speaker column is as wide as the longest name's chip (a few layouts, cached by egui).
    let speaker_width = transcript
        .speakers
        .iter()
        .map(|speaker| {
            let font = egui::FontId::proportional(13.0);
            let galley = ui.painter().layout_no_wrap(
                speaker.display_name.clone(),
                font,
                egui::Color32::WHITE,
            );
            galley.size().x + 24.0
        })
        .fold(0.0_f32, f32::max)
        .min(MAX_SPEAKER_WIDTH);
    let text_x = TIME_WIDTH
        + COLUMN_GAP
        + if with_speakers {
            speaker_width + COLUMN_GAP
        } else {
            0.0
        };
    let wrap_width = (full_width - text_x - RIGHT_MARGIN).max(80.0);
    let font_size = egui::TextStyle::Body.resolve(ui.style()).size;
    let line_height =
        ui.fonts_mut(|fonts| fonts.row_height(&egui::TextStyle::Body.resolve(ui.style())));
    let layout = LayoutKey {
        wrap_width_px: wrap_width.round() as i32,
        font_size_centipoints: (font_size * 100.0) as i32,
        with_speakers,
    };
    pane.rows.sync(
        (job.id, job.generation),
        layout,
        line_height,
        &transcript.segments,
    );
    if pane
        .editing
        .as_ref()
        .is_some_and(|edit| edit.job != job.id || edit.index >= transcript.segments.len())
    {
        pane.editing = None;
    }

    // Measure some rows that are not on screen, within the budget.
    let started = Instant::now();
    while pane.rows.unmeasured > 0 && started.elapsed() < MEASURE_BUDGET {
        let count = pane.rows.heights.len();
        if count == 0 {
            break;
        }
        let index = pane.rows.fill_cursor % count;
        pane.rows.fill_cursor = (index + 1) % count;
        if !pane.rows.measured[index] {
            let segment = &transcript.segments[index];
            let galley = text_galley(ui, &segment.text, wrap_width);
            pane.rows.set_measured(
                index,
                row_height_for(galley.size().y),
                segment.text.len(),
                galley.rows.len(),
            );
        }
    }
    if pane.rows.unmeasured > 0 {
        ui.ctx().request_repaint();
    }
    pane.rows.rebuild_offsets();

    let hypothesis = transcript
        .hypothesis
        .as_ref()
        .filter(|hypothesis| !hypothesis.text.trim().is_empty());
    let hypothesis_galley =
        hypothesis.map(|hypothesis| hypothesis_galley(ui, &hypothesis.text, wrap_width));
    let hypothesis_height = hypothesis_galley
        .as_ref()
        .map(|galley| row_height_for(galley.size().y))
        .unwrap_or(0.0);
    let total_height = pane.rows.total() + hypothesis_height + 2.0 * ROW_PADDING;

    if transcript.segments.is_empty() && hypothesis.is_none() {
        let message = match &job.status {
            JobStatus::Queued => "Waiting for the files before this one…",
            JobStatus::Running => {
                "Listening… the first words appear here as soon as they are recognised."
            }
            JobStatus::Failed { .. } => "Nothing was transcribed.",
            JobStatus::Cancelled => "Cancelled before any words were recognised.",
            JobStatus::Interrupted => "Verbatim was closed before any words were recognised; Retry transcribes it.",
            _ => "No speech found in this file.",
        };
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            if job.status.is_running() {
                ui.spinner();
            }
            ui.label(egui::RichText::new(message).weak());
        });
        pane.rows_drawn = 0;
        return;
    }

    let viewport_height = ui.available_height();
    let follow_offset = (total_height - viewport_height).max(0.0);
    let forced = pane.follow_live || pane.jump_requested;
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt(("transcript", job.id.0))
        .auto_shrink([false, false])
        .content_margin(0.0);
    if forced {
        scroll = scroll.vertical_scroll_offset(follow_offset);
    }
    pane.jump_requested = false;

    let editing = &mut pane.editing;
    let rows = &mut pane.rows;
    // The offset is set past last frame's end whenever new rows arrive while following; a
    // rubber band would take that for an overscroll and spring back, so it is off here.
    ui.spacing_mut().scroll.kinetic.rubber_band = false;
    let output = scroll.show_viewport(ui, |ui, viewport| {
        ui.set_height(total_height);
        ui.set_width(ui.available_width());
        let origin = ui.max_rect().min;
        let count = transcript.segments.len();
        let mut drawn = 0;
        if count > 0 {
            let first = rows.row_at(viewport.min.y);
            let mut y = rows.offsets[first];
            for index in first..count {
                if y > viewport.max.y {
                    break;
                }
                let height = draw_segment_row(
                    ui, origin, y, full_width, text_x, wrap_width, job, index, rows, editing,
                    actions,
                );
                y += height;
                drawn += 1;
            }
        }
        if let (Some(hypothesis), Some(galley)) = (hypothesis, hypothesis_galley) {
            let y = rows.total();
            if y <= viewport.max.y {
                draw_hypothesis_row(ui, origin, y, text_x, hypothesis.start_s, galley);
                drawn += 1;
            }
        }
        drawn
    });
    pane.rows_drawn = output.inner;
    if std::env::var_os("VERBATIM_DEBUG_PANE").is_some() {
        eprintln!(
            "pane: total={total_height} viewport_h={viewport_height} follow_offset={follow_offset} offset={} content={:?} inner={:?} drawn={}",
            output.state.clamped_offset().y,
            output.content_size,
            output.inner_rect,
            output.inner
        );
    }

    // Follow the live text until the user scrolls away from the bottom; follow again once
    // they are back at the bottom.
    let max_offset = (output.content_size.y - output.inner_rect.height()).max(0.0);
    let at_bottom = output.state.clamped_offset().y >= max_offset - 4.0;
    if forced && output.state.clamped_offset().y < follow_offset - 4.0 {
        pane.follow_live = false;
    } else if at_bottom {
        pane.follow_live = true;
    }

    if !pane.follow_live && job.status.is_running() {
        let button_rect = Rect::from_min_size(
            output.inner_rect.right_bottom() - vec2(150.0, 46.0),
            vec2(132.0, 30.0),
        );
        let button = egui::Button::new(egui::RichText::new("⬇ Jump to live").strong())
            .corner_radius(15.0)
            .fill(ui.visuals().selection.bg_fill);
        if ui.put(button_rect, button).clicked() {
            pane.jump_to_live();
            ui.ctx().request_repaint();
        }
    }
    if let Some(index) = actions.start_edit.take()
        && let Some(segment) = transcript.segments.get(index)
    {
        pane.editing = Some(SegmentEdit {
            job: job.id,
            index,
            text: segment.text.clone(),
            focus_requested: false,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_segment_row(
    ui: &mut egui::Ui,
    origin: egui::Pos2,
    y: f32,
    full_width: f32,
    text_x: f32,
    wrap_width: f32,
    job: &Job,
    index: usize,
    rows: &mut RowHeights,
    editing: &mut Option<SegmentEdit>,
    actions: &mut PaneActions,
) -> f32 {
    let transcript = &job.transcript;
    let segment = &transcript.segments[index];
    let top = origin.y + y;
    let text_pos = pos2(origin.x + text_x, top + ROW_PADDING);
    let visuals = ui.visuals().clone();

    // The text column: an editor for the row being edited, else the wrapped text.
    let is_editing = editing
        .as_ref()
        .is_some_and(|edit| edit.job == job.id && edit.index == index);
    let height;
    if is_editing {
        let mut commit = None;
        let mut cancel = false;
        let mut child = ui.new_child(egui::UiBuilder::new().max_rect(Rect::from_min_size(
            text_pos - vec2(4.0, 3.0),
            vec2(wrap_width + 8.0, 4000.0),
        )));
        if let Some(edit) = editing.as_mut() {
            let response = child.add(
                egui::TextEdit::multiline(&mut edit.text)
                    .id(egui::Id::unique(("segment_editor", job.id.0, index)))
                    .desired_width(wrap_width)
                    .desired_rows(1)
                    .return_key(Some(egui::KeyboardShortcut::new(
                        egui::Modifiers::SHIFT,
                        egui::Key::Enter,
                    ))),
            );
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Segment text")
            });
            if !edit.focus_requested {
                response.request_focus();
                edit.focus_requested = true;
            }
            let (enter, escape) = child.input(|input| {
                (
                    input.key_pressed(egui::Key::Enter) && !input.modifiers.shift,
                    input.key_pressed(egui::Key::Escape),
                )
            });
            if escape {
                cancel = true;
            } else if (response.has_focus() && enter) || response.lost_focus() {
                commit = Some(edit.text.trim().to_string());
            }
            height = (response.rect.height() + 2.0 * ROW_PADDING).max(row_height_for(0.0));
        } else {
            height = rows.heights[index];
        }
        if let Some(text) = commit {
            if !text.is_empty() {
                actions.commands.push(AppCommand::EditSegmentText {
                    job: job.id,
                    segment_index: index,
                    text,
                });
            }
            *editing = None;
        } else if cancel {
            *editing = None;
        }
        rows.invalidate(index);
    } else {
        let galley = text_galley(ui, &segment.text, wrap_width);
        height = row_height_for(galley.size().y);
        rows.set_measured(index, height, segment.text.len(), galley.rows.len());
        let text_rect =
            Rect::from_min_size(text_pos, galley.size().max(vec2(wrap_width.min(40.0), 1.0)));
        let row_rect = Rect::from_min_size(
            pos2(origin.x, top),
            vec2(full_width - RIGHT_MARGIN + 6.0, height),
        );
        if ui.rect_contains_pointer(row_rect) {
            ui.painter()
                .rect_filled(row_rect, 6.0, visuals.faint_bg_color.gamma_multiply(1.6));
        }
        let response = ui.interact(
            text_rect,
            egui::Id::unique(("segment_text", job.id.0, index)),
            egui::Sense::click(),
        );
        let text_for_info = segment.text.clone();
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &text_for_info));
        ui.painter().galley(text_pos, galley, visuals.text_color());
        let response = response.on_hover_cursor(egui::CursorIcon::Text);
        if response.clicked() {
            actions.start_edit = Some(index);
        }
        response.context_menu(|ui| segment_menu(ui, job, index, actions));
    }

    // The time column.
    ui.painter().text(
        pos2(origin.x + 2.0, top + ROW_PADDING + 2.0),
        egui::Align2::LEFT_TOP,
        super::format_clock(segment.start_s),
        egui::FontId::monospace(12.0),
        visuals.weak_text_color(),
    );

    // The speaker column.
    if let Some(speaker_id) = &segment.speaker {
        let name = transcript.speaker_name(speaker_id);
        let chip_rect = Rect::from_min_size(
            pos2(origin.x + TIME_WIDTH + COLUMN_GAP, top + ROW_PADDING - 1.0),
            vec2(text_x - TIME_WIDTH - 2.0 * COLUMN_GAP, CHIP_HEIGHT),
        );
        let response = speakers::speaker_chip(
            ui,
            chip_rect,
            egui::Id::unique(("segment_speaker", job.id.0, index)),
            speaker_id,
            name,
        );
        if response.clicked() {
            actions.rename = Some(RenameDialog::new(
                job.id,
                speaker_id,
                name,
                chip_rect.left_bottom() + vec2(0.0, 6.0),
            ));
        }
        response.context_menu(|ui| segment_menu(ui, job, index, actions));
    }
    height
}

fn segment_menu(ui: &mut egui::Ui, job: &Job, index: usize, actions: &mut PaneActions) {
    let transcript: &Transcript = &job.transcript;
    let Some(segment) = transcript.segments.get(index) else {
        return;
    };
    if ui.button("Edit text").clicked() {
        actions.start_edit = Some(index);
        ui.close();
    }
    if ui.button("Copy text").clicked() {
        ui.ctx().copy_text(segment.text.clone());
        ui.close();
    }
    ui.separator();
    speakers::assign_menu(
        ui,
        job.id,
        index,
        segment.speaker.as_deref(),
        transcript,
        &mut actions.commands,
    );
    if let Some(speaker_id) = &segment.speaker
        && ui.button("Rename speaker…").clicked()
    {
        let name = transcript.speaker_name(speaker_id);
        let position = ui.ctx().pointer_latest_pos().unwrap_or_default();
        actions.rename = Some(RenameDialog::new(job.id, speaker_id, name, position));
        ui.close();
    }
}

fn draw_hypothesis_row(
    ui: &mut egui::Ui,
    origin: egui::Pos2,
    y: f32,
    text_x: f32,
    start_s: Option<f64>,
    galley: std::sync::Arc<egui::Galley>,
) {
    let top = origin.y + y;
    let text_pos = pos2(origin.x + text_x, top + ROW_PADDING);
    let visuals = ui.visuals().clone();
    let rect = Rect::from_min_size(text_pos, galley.size());
    let response = ui.interact(
        rect,
        egui::Id::unique("live_hypothesis"),
        egui::Sense::hover(),
    );
    let label = format!("Live: {}", galley.text());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    // A thin accent bar marks the text as not final yet.
    let bar = Rect::from_min_max(
        pos2(text_pos.x - 6.0, top + ROW_PADDING),
        pos2(text_pos.x - 4.0, top + ROW_PADDING + galley.size().y),
    );
    ui.painter()
        .rect_filled(bar, 1.0, visuals.selection.bg_fill);
    if let Some(start_s) = start_s {
        ui.painter().text(
            pos2(origin.x + 2.0, top + ROW_PADDING + 2.0),
            egui::Align2::LEFT_TOP,
            super::format_clock(start_s),
            egui::FontId::monospace(12.0),
            visuals.weak_text_color(),
        );
    }
    ui.painter()
        .galley(text_pos, galley, visuals.weak_text_color());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(texts: &[&str]) -> Vec<Segment> {
        texts
            .iter()
            .map(|text| Segment {
                revision_key: None,
                start_s: 0.0,
                end_s: 1.0,
                text: (*text).into(),
                speaker: None,
                words: vec![],
            })
            .collect()
    }

    #[test]
    fn offsets_follow_measured_heights_and_binary_search_finds_rows() {
        let mut rows = RowHeights::default();
        let layout = LayoutKey {
            wrap_width_px: 400,
            font_size_centipoints: 1450,
            with_speakers: false,
        };
        let texts = segments(&["a", "b", "c", "d"]);
        rows.sync((JobId(1), 0), layout, 18.0, &texts);
        assert_eq!(rows.unmeasured(), 4);
        for index in 0..4 {
            rows.set_measured(index, 30.0 + index as f32 * 10.0, 1, 1);
        }
        rows.rebuild_offsets();
        assert_eq!(rows.offsets, vec![0.0, 30.0, 70.0, 120.0, 180.0]);
        assert_eq!(rows.row_at(0.0), 0);
        assert_eq!(rows.row_at(69.0), 1);
        assert_eq!(rows.row_at(70.0), 2);
        assert_eq!(rows.row_at(1000.0), 3);
        assert_eq!(rows.unmeasured(), 0);
        // A new width makes every height an estimate again; a retry (new generation) resets.
        rows.sync(
            (JobId(1), 0),
            LayoutKey {
                wrap_width_px: 200,
                ..layout
            },
            18.0,
            &texts,
        );
        assert_eq!(rows.unmeasured(), 4);
        rows.sync((JobId(1), 1), layout, 18.0, &texts[..1]);
        assert_eq!(rows.heights.len(), 1);
    }

    #[test]
    fn estimates_grow_with_text_length() {
        let mut rows = RowHeights::default();
        let layout = LayoutKey {
            wrap_width_px: 350,
            font_size_centipoints: 1450,
            with_speakers: false,
        };
        let long = "word ".repeat(200);
        rows.sync((JobId(1), 0), layout, 18.0, &segments(&["short", &long]));
        assert!(
            rows.heights[1] > rows.heights[0] * 5.0,
            "{:?}",
            rows.heights
        );
    }
}
