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
use crate::export::ExportFormat;
use super::super::state::{Job, JobId, JobStatus};
use super::speakers::{self, RenameDialog};
use super::marks::{self, RowMarks};
use super::search::SearchBar;
use crate::events::Segment;
use crate::transcript::review::WordAt;
use crate::transcript::{SegmentId, Transcript};
use std::collections::BTreeSet;
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

    /// Top and bottom of row `index` in the content.
    pub fn row_span(&self, index: usize) -> Option<(f32, f32)> {
        Some((*self.offsets.get(index)?, *self.offsets.get(index + 1)?))
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
    segment: SegmentId,
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
    /// Rows chosen with Ctrl+click / Shift+click (for quotes), and where Shift+click extends from.
    selection: BTreeSet<SegmentId>,
    selection_anchor: Option<SegmentId>,
    /// The uncertain word "next uncertain word" chose: (segment, word index).
    review: Option<(SegmentId, usize)>,
    /// A row to bring into view on the next frame (search, review).
    scroll_to_row: Option<usize>,
    /// Where the last right click on a row's text was: (segment, character), for "Split here".
    menu_split: Option<(SegmentId, usize)>,
    /// The player's position and whether the view follows it (set by the player bar).
    pub playback: super::player::PaneMark,
    /// A segment to open the editor on (F2), taken at the next frame.
    edit_requested: Option<usize>,
}

impl Default for TranscriptPane {
    fn default() -> Self {
        TranscriptPane {
            rows: RowHeights::default(),
            follow_live: true,
            jump_requested: false,
            editing: None,
            rows_drawn: 0,
            selection: BTreeSet::new(),
            selection_anchor: None,
            review: None,
            scroll_to_row: None,
            menu_split: None,
            playback: Default::default(),
            edit_requested: None,
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

    /// Measures every row again (rows were split, merged or changed by an undo).
    pub fn forget_rows(&mut self) {
        self.rows.transcript_key = None;
    }

    /// Brings row `index` into view on the next frame and stops following the live text.
    pub fn scroll_to(&mut self, index: usize) {
        self.scroll_to_row = Some(index);
        self.follow_live = false;
    }

    /// The indices of the selected rows, in order.
    pub fn selected_rows(&self, transcript: &Transcript) -> Vec<usize> {
        let mut rows: Vec<usize> = self.selection.iter().filter_map(|id| transcript.index_of(*id)).collect();
        rows.sort_unstable();
        rows
    }

    /// Ctrl+click toggles row `index`; Shift+click selects from the last clicked row to it.
    fn click_select(&mut self, transcript: &Transcript, index: usize, extend: bool) {
        let Some(id) = transcript.id_at(index) else { return };
        let anchor = self.selection_anchor.and_then(|anchor| transcript.index_of(anchor));
        match (extend, anchor) {
            (true, Some(anchor)) => {
                let (from, to) = (anchor.min(index), anchor.max(index));
                self.selection.extend((from..=to).filter_map(|row| transcript.id_at(row)));
            }
            _ => {
                if !self.selection.remove(&id) {
                    self.selection.insert(id);
                }
                self.selection_anchor = Some(id);
            }
        }
    }

    /// The word under review, if it is still there.
    pub fn review_word(&self, transcript: &Transcript) -> Option<WordAt> {
        let (id, word) = self.review?;
        Some((transcript.index_of(id)?, word))
    }

    /// Puts word `word` of row `segment` under review and brings it into view.
    pub fn review_at(&mut self, transcript: &Transcript, segment: usize, word: usize) {
        self.review = transcript.id_at(segment).map(|id| (id, word));
        self.scroll_to(segment);
    }

    pub fn clear_review(&mut self) {
        self.review = None;
    }

    /// Opens the editor on segment `index` of the shown file at the next frame.
    pub fn edit_segment(&mut self, index: usize) {
        self.edit_requested = Some(index);
    }
}

/// What the user did in the pane this frame, beyond commands.
#[derive(Default)]
struct PaneActions {
    commands: Vec<AppCommand>,
    rename: Option<RenameDialog>,
    start_edit: Option<usize>,
    /// A Ctrl+click (`false`) or Shift+click (`true`) on a row.
    select: Option<(usize, bool)>,
    /// Seek the player here (a click on a word or a time).
    seek_s: Option<f64>,
    /// The segment and word highlighted as spoken.
    highlighted: Option<(usize, Option<usize>)>,
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
        search,
        cue_preview,
        ..
    } = app;
    let Some(job) = state.job(job_id) else { return };
    let mut actions = PaneActions {
        start_edit: pane.edit_requested.take(),
        ..PaneActions::default()
    };
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
    let rules = &settings.export.options.subtitles;
    let cue_marks = if settings.show_cue_breaks { cue_preview.marks_for(ui.ctx(), job, rules) } else { None };
    transcript_view(ui, pane, job, search, &mut actions, cue_marks);
    let edited = actions.commands.iter().filter_map(|command| match command {
        AppCommand::EditSegmentText { segment, .. } => job.transcript.index_of(*segment),
        _ => None,
    });
    for index in edited.collect::<Vec<_>>() {
        pane.rows.invalidate(index);
    }
    if let Some((index, extend)) = actions.select {
        pane.click_select(&job.transcript, index, extend);
    }
    if let Some(dialog) = actions.rename {
        *rename = Some(dialog);
    }
    pane.playback.highlighted = actions.highlighted;
    if let Some(seek_s) = actions.seek_s {
        super::player::seek_and_follow(app, seek_s);
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

fn header(ui: &mut egui::Ui, job: &Job, last_kind: Option<ExportFormat>, actions: &mut PaneActions) {
    ui.horizontal(|ui| {
        ui.add(egui::Label::new(egui::RichText::new(&job.name).heading().strong()).truncate())
            .on_hover_text(job.path.display().to_string());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let has_text = !job.transcript.segments.is_empty();
            ui.add_enabled_ui(has_text, |ui| {
                ui.menu_button("Export ⏷", |ui| {
                    for kind in ExportFormat::ALL {
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
            if job.status == JobStatus::Recording {
                if ui
                    .button(egui::RichText::new("■ Stop recording").color(super::record_panel::RECORDING_RED))
                    .on_hover_text("Finish the file; it stays in the list")
                    .clicked()
                {
                    actions.commands.push(AppCommand::Recording(
                        super::super::record_commands::RecordingCommand::Stop,
                    ));
                }
            } else if job.status.is_running() {
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
            } else if !job.status.is_active()
                && ui
                    .button(match job.status {
                        JobStatus::Recorded => "Transcribe",
                        _ => "Transcribe again",
                    })
                    .clicked()
            {
                actions.commands.push(AppCommand::RetryJob(job.id));
            }
        });
    });
    ui.label(egui::RichText::new(header_facts(job)).small().weak());
}

/// The line under the file's name: status, length, language, engine, and a hint.
fn header_facts(job: &Job) -> String {
    let mut facts: Vec<String> = Vec::new();
    facts.push(match &job.status {
        JobStatus::Running => match job.progress {
            Some(fraction) => format!("Transcribing · {:.0}%", fraction * 100.0),
            None => "Transcribing".into(),
        },
        JobStatus::Failed { reason } => format!("Failed: {reason}"),
        JobStatus::Recording => format!("Recording · {}", super::format_clock(job.done_s)),
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
        facts.push("click a word to play from it, double-click a line to edit it".into());
    }
    facts.join("  ·  ")
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
            egui::RichText::new("click a name to rename it, double-click a line to edit it")
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

/// Where the pane's columns sit at this frame's width.
#[derive(Debug, Clone, Copy)]
struct Columns {
    full_width: f32,
    /// Left edge of the text column, from the row's left edge.
    text_x: f32,
    wrap_width: f32,
}

impl Columns {
    fn for_transcript(ui: &egui::Ui, transcript: &Transcript) -> Columns {
        let full_width = ui.available_width();
        let speaker_column = if transcript.speakers.is_empty() {
            0.0
        } else {
            speaker_column_width(ui, transcript) + COLUMN_GAP
        };
        let text_x = TIME_WIDTH + COLUMN_GAP + speaker_column;
        Columns {
            full_width,
            text_x,
            wrap_width: (full_width - text_x - RIGHT_MARGIN).max(80.0),
        }
    }
}

/// As wide as the longest name's chip (a few layouts, cached by egui), within a limit.
fn speaker_column_width(ui: &egui::Ui, transcript: &Transcript) -> f32 {
    transcript
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
        .min(MAX_SPEAKER_WIDTH)
}

/// The live hypothesis laid out for the row after the last segment.
struct LiveRow {
    start_s: Option<f64>,
    galley: std::sync::Arc<egui::Galley>,
}

impl LiveRow {
    fn for_transcript(ui: &egui::Ui, transcript: &Transcript, wrap_width: f32) -> Option<LiveRow> {
        let hypothesis = transcript
            .hypothesis
            .as_ref()
            .filter(|hypothesis| !hypothesis.text.trim().is_empty())?;
        Some(LiveRow {
            start_s: hypothesis.start_s,
            galley: hypothesis_galley(ui, &hypothesis.text, wrap_width),
        })
    }

    fn height(&self) -> f32 {
        row_height_for(self.galley.size().y)
    }
}

/// What drawing a segment row needs besides the `Ui`.
struct RowContext<'a> {
    job: &'a Job,
    columns: Columns,
    rows: &'a mut RowHeights,
    editing: &'a mut Option<SegmentEdit>,
    actions: &'a mut PaneActions,
    marks: RowMarks<'a>,
    menu_split: &'a mut Option<(SegmentId, usize)>,
    /// Where exported cues begin, per segment (`None`: not shown).
    cue_marks: Option<&'a [super::cue_preview::SegmentMarks]>,
    /// The segment being played and the player's position.
    playing: Option<(usize, f64)>,
}

fn transcript_view(
    ui: &mut egui::Ui,
    pane: &mut TranscriptPane,
    job: &Job,
    search: &mut SearchBar,
    actions: &mut PaneActions,
    cue_marks: Option<&[super::cue_preview::SegmentMarks]>,
) {
    let transcript = &job.transcript;
    let columns = Columns::for_transcript(ui, transcript);
    sync_rows(ui, pane, job, columns.wrap_width);
    measure_offscreen_rows(ui, &mut pane.rows, &transcript.segments, columns.wrap_width);
    pane.rows.rebuild_offsets();

    let live = LiveRow::for_transcript(ui, transcript, columns.wrap_width);
    let live_height = live.as_ref().map(LiveRow::height).unwrap_or(0.0);
    let total_height = pane.rows.total() + live_height + 2.0 * ROW_PADDING;
    if transcript.segments.is_empty() && live.is_none() {
        empty_transcript_ui(ui, &job.status);
        pane.rows_drawn = 0;
        return;
    }

    let viewport_height = ui.available_height();
    let follow_offset = (total_height - viewport_height).max(0.0);
    let (scroll, forced) = pane_scroll(pane, job, viewport_height, follow_offset);
    let playing = pane.playback.position_s.and_then(|position_s| {
        crate::playback::follow::segment_at(&transcript.segments, position_s)
            .map(|index| (index, position_s))
    });
    pane.jump_requested = false;
    let review = pane.review_word(transcript);
    let context = RowContext {
        job,
        columns,
        rows: &mut pane.rows,
        editing: &mut pane.editing,
        actions,
        marks: RowMarks { search: search.highlights(job), review, selection: &pane.selection },
        menu_split: &mut pane.menu_split,
        cue_marks,
        playing,
    };
    let output = visible_rows_ui(ui, scroll, total_height, context, live);
    pane.rows_drawn = output.inner;
    super::player::note_scroll(&mut pane.playback, output.state.clamped_offset().y);
    if std::env::var_os("VERBATIM_DEBUG_PANE").is_some() {
        eprintln!(
            "pane: total={total_height} viewport_h={viewport_height} follow_offset={follow_offset} offset={} content={:?} inner={:?} drawn={}",
            output.state.clamped_offset().y,
            output.content_size,
            output.inner_rect,
            output.inner
        );
    }

    update_follow_live(pane, &output, forced, follow_offset);
    if !pane.follow_live && (job.status.is_running() || job.status == JobStatus::Recording) {
        jump_to_live_button(ui, pane, output.inner_rect);
    }
    start_requested_edit(pane, job, actions);
}

/// The pane's scroll area this frame, and whether it is held at the live end: a row asked for
/// (search, review) first, then the live text when followed, then the spoken line.
fn pane_scroll(pane: &mut TranscriptPane, job: &Job, viewport_height: f32, follow_offset: f32) -> (egui::ScrollArea, bool) {
    let segments = &job.transcript.segments;
    let playback_offset = super::player::follow_offset(&mut pane.playback, &pane.rows, segments, viewport_height);
    if playback_offset.is_some() {
        pane.follow_live = false;
    }
    let forced = (pane.follow_live || pane.jump_requested) && playback_offset.is_none();
    let mut scroll = egui::ScrollArea::vertical()
        .id_salt(("transcript", job.id.0))
        .auto_shrink([false, false])
        .content_margin(0.0);
    if let Some(row) = pane.scroll_to_row.take().filter(|row| *row < segments.len()) {
        scroll = scroll.vertical_scroll_offset((pane.rows.offsets[row] - viewport_height / 3.0).max(0.0));
    } else if forced {
        scroll = scroll.vertical_scroll_offset(follow_offset);
    } else if let Some(offset) = playback_offset {
        scroll = scroll.vertical_scroll_offset(offset);
    }
    (scroll, forced)
}

/// Brings the height cache up to date with the transcript and this frame's layout, and drops
/// an edit whose segment is gone.
fn sync_rows(ui: &egui::Ui, pane: &mut TranscriptPane, job: &Job, wrap_width: f32) {
    let transcript = &job.transcript;
    let font_size = egui::TextStyle::Body.resolve(ui.style()).size;
    let line_height =
        ui.fonts_mut(|fonts| fonts.row_height(&egui::TextStyle::Body.resolve(ui.style())));
    let layout = LayoutKey {
        wrap_width_px: wrap_width.round() as i32,
        font_size_centipoints: (font_size * 100.0) as i32,
        with_speakers: !transcript.speakers.is_empty(),
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
        .is_some_and(|edit| edit.job != job.id || transcript.index_of(edit.segment).is_none())
    {
        pane.editing = None;
    }
}

/// Measures some rows that are not on screen, within the budget; asks for another frame while
/// any height is still an estimate.
fn measure_offscreen_rows(
    ui: &egui::Ui,
    rows: &mut RowHeights,
    segments: &[Segment],
    wrap_width: f32,
) {
    let started = Instant::now();
    while rows.unmeasured > 0 && started.elapsed() < MEASURE_BUDGET {
        let count = rows.heights.len();
        if count == 0 {
            break;
        }
        let index = rows.fill_cursor % count;
        rows.fill_cursor = (index + 1) % count;
        if !rows.measured[index] {
            let segment = &segments[index];
            let galley = text_galley(ui, &segment.text, wrap_width);
            rows.set_measured(
                index,
                row_height_for(galley.size().y),
                segment.text.len(),
                galley.rows.len(),
            );
        }
    }
    if rows.unmeasured > 0 {
        ui.ctx().request_repaint();
    }
}

/// What the pane says while a file has no words yet.
fn empty_transcript_ui(ui: &mut egui::Ui, status: &JobStatus) {
    let message = match status {
        JobStatus::Queued => "Waiting for the files before this one…",
        JobStatus::Running => {
            "Listening… the first words appear here as soon as they are recognised."
        }
        JobStatus::Failed { .. } => "Nothing was transcribed.",
        JobStatus::Cancelled => "Cancelled before any words were recognised.",
        JobStatus::Interrupted => {
            "Verbatim was closed before any words were recognised; Retry transcribes it."
        }
        JobStatus::Recording => {
            "Recording… with live text on, the words appear here as they are spoken; without it, the file is transcribed when the recording stops."
        }
        JobStatus::Recorded => "Recorded, not transcribed yet: Transcribe turns it into text.",
        _ => "No speech found in this file.",
    };
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        if status.is_running() || *status == JobStatus::Recording {
            ui.spinner();
        }
        ui.label(egui::RichText::new(message).weak());
    });
}

/// The scroll area with only its visible rows laid out and drawn; its `inner` is how many.
fn visible_rows_ui(
    ui: &mut egui::Ui,
    scroll: egui::ScrollArea,
    total_height: f32,
    mut context: RowContext,
    live: Option<LiveRow>,
) -> egui::scroll_area::ScrollAreaOutput<usize> {
    // The offset is set past last frame's end whenever new rows arrive while following; a
    // rubber band would take that for an overscroll and spring back, so it is off here.
    ui.spacing_mut().scroll.kinetic.rubber_band = false;
    scroll.show_viewport(ui, |ui, viewport| {
        ui.set_height(total_height);
        ui.set_width(ui.available_width());
        let origin = ui.max_rect().min;
        let count = context.job.transcript.segments.len();
        let mut drawn = 0;
        if count > 0 {
            let first = context.rows.row_at(viewport.min.y);
            let mut y = context.rows.offsets[first];
            for index in first..count {
                if y > viewport.max.y {
                    break;
                }
                y += draw_segment_row(ui, &mut context, origin, y, index);
                drawn += 1;
            }
        }
        if let Some(live) = live {
            let y = context.rows.total();
            if y <= viewport.max.y {
                draw_hypothesis_row(ui, origin, y, context.columns.text_x, live);
                drawn += 1;
            }
        }
        drawn
    })
}

/// Follows the live text until the user scrolls away from the bottom; follows again once
/// they are back at the bottom.
fn update_follow_live(
    pane: &mut TranscriptPane,
    output: &egui::scroll_area::ScrollAreaOutput<usize>,
    forced: bool,
    follow_offset: f32,
) {
    let max_offset = (output.content_size.y - output.inner_rect.height()).max(0.0);
    let at_bottom = output.state.clamped_offset().y >= max_offset - 4.0;
    if forced && output.state.clamped_offset().y < follow_offset - 4.0 {
        pane.follow_live = false;
    } else if at_bottom {
        pane.follow_live = true;
    }
}

/// The floating "Jump to live" button in the bottom right corner of the scroll area.
fn jump_to_live_button(ui: &mut egui::Ui, pane: &mut TranscriptPane, scroll_rect: Rect) {
    let button_rect = Rect::from_min_size(
        scroll_rect.right_bottom() - vec2(150.0, 46.0),
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

/// Opens the editor on the segment the user clicked (or chose "Edit text" for) this frame.
fn start_requested_edit(pane: &mut TranscriptPane, job: &Job, actions: &mut PaneActions) {
    if let Some(index) = actions.start_edit.take()
        && let Some(segment) = job.transcript.segments.get(index)
        && let Some(id) = job.transcript.id_at(index)
    {
        pane.editing = Some(SegmentEdit {
            job: job.id,
            segment: id,
            text: segment.text.clone(),
            focus_requested: false,
        });
    }
}

/// Draws segment `index` with its top `y` below `origin`; returns the row's height.
fn draw_segment_row(
    ui: &mut egui::Ui,
    context: &mut RowContext,
    origin: egui::Pos2,
    y: f32,
    index: usize,
) -> f32 {
    let job = context.job;
    let segment = &job.transcript.segments[index];
    let top = origin.y + y;
    let row_min = pos2(origin.x, top);
    let text_pos = pos2(origin.x + context.columns.text_x, top + ROW_PADDING);

    // The text column: an editor for the row being edited, else the wrapped text.
    let is_editing = context
        .editing
        .as_ref()
        .is_some_and(|edit| edit.job == job.id && job.transcript.id_at(index) == Some(edit.segment));
    let height = if is_editing {
        segment_editor_ui(ui, context, index, text_pos)
    } else {
        segment_text_ui(ui, context, index, row_min, text_pos)
    };
    paint_start_time(ui, row_min, segment.start_s);
    if let Some(marks) = context.cue_marks {
        let row_rect = Rect::from_min_size(row_min, vec2(context.columns.full_width - RIGHT_MARGIN + 6.0, height));
        super::cue_preview::paint_row_marks(ui, marks, job.id, index, row_rect);
    }
    let time_rect = Rect::from_min_size(row_min, vec2(TIME_WIDTH, CHIP_HEIGHT + ROW_PADDING));
    let time_response = ui
        .interact(
            time_rect,
            egui::Id::unique(("segment_time", job.id.0, index)),
            egui::Sense::click(),
        )
        .on_hover_cursor(egui::CursorIcon::PointingHand)
        .on_hover_text("Play from here");
    time_response.widget_info(|| {
        let label = format!("Play from {}", super::format_clock(segment.start_s));
        egui::WidgetInfo::labeled(egui::Role::Button, true, label)
    });
    if time_response.clicked() {
        context.actions.seek_s = Some(segment.start_s);
    }
    if let Some(speaker_id) = &segment.speaker {
        segment_speaker_ui(ui, context, index, speaker_id, row_min);
    }
    height
}

/// How an edit ended this frame, if it did.
enum EditOutcome {
    StillEditing,
    Commit(String),
    /// Keep the text and split it at this character (Alt+Enter).
    CommitAndSplit(String, usize),
    Cancel,
}

/// The text column of the row being edited; returns the row's height.
fn segment_editor_ui(
    ui: &mut egui::Ui,
    context: &mut RowContext,
    index: usize,
    text_pos: egui::Pos2,
) -> f32 {
    let job_id = context.job.id;
    let wrap_width = context.columns.wrap_width;
    let mut child = ui.new_child(egui::UiBuilder::new().max_rect(Rect::from_min_size(
        text_pos - vec2(4.0, 3.0),
        vec2(wrap_width + 8.0, 4000.0),
    )));
    let (height, outcome) = match context.editing.as_mut() {
        Some(edit) => {
            let (response, outcome) = segment_editor(&mut child, edit, job_id, wrap_width);
            let height = (response.rect.height() + 2.0 * ROW_PADDING).max(row_height_for(0.0));
            (height, outcome)
        }
        None => (context.rows.heights[index], EditOutcome::StillEditing),
    };
    let segment = context.job.transcript.id_at(index);
    match (outcome, segment) {
        (EditOutcome::Commit(text), Some(segment)) => {
            if !text.is_empty() {
                context.actions.commands.push(AppCommand::EditSegmentText {
                    job: job_id,
                    segment,
                    text,
                });
            }
            *context.editing = None;
        }
        (EditOutcome::CommitAndSplit(text, at_char), Some(segment)) => {
            use super::super::messages::TranscriptEdit;
            if !text.is_empty() {
                let edit_text = AppCommand::EditSegmentText { job: job_id, segment, text };
                context.actions.commands.push(edit_text);
                context.actions.commands.push(AppCommand::Edit(job_id, TranscriptEdit::Split { segment, at_char }));
            }
            *context.editing = None;
        }
        (EditOutcome::Commit(_) | EditOutcome::CommitAndSplit(..), None) => *context.editing = None,
        (EditOutcome::Cancel, _) => *context.editing = None,
        (EditOutcome::StillEditing, _) => {}
    }
    context.rows.invalidate(index);
    height
}

/// The text box of an edit: Enter or leaving it keeps the text, Alt+Enter keeps it and splits
/// the segment at the cursor, Shift+Enter starts a new line, Escape throws the edit away.
fn segment_editor(
    ui: &mut egui::Ui,
    edit: &mut SegmentEdit,
    job_id: JobId,
    wrap_width: f32,
) -> (egui::Response, EditOutcome) {
    let response = ui.add(
        egui::TextEdit::multiline(&mut edit.text)
            .id(egui::Id::unique(("segment_editor", job_id.0, edit.segment.0)))
            .desired_width(wrap_width)
            .desired_rows(1)
            .return_key(Some(egui::KeyboardShortcut::new(
                egui::Modifiers::SHIFT,
                egui::Key::Enter,
            ))),
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Segment text"));
    if !edit.focus_requested {
        response.request_focus();
        edit.focus_requested = true;
    }
    let (enter, escape, alt) = ui.input(|input| {
        (
            input.key_pressed(egui::Key::Enter) && !input.modifiers.shift,
            input.key_pressed(egui::Key::Escape),
            input.modifiers.alt,
        )
    });
    let cursor = egui::TextEdit::load_state(ui.ctx(), response.id)
        .and_then(|state| state.cursor.char_range())
        .map(|range| usize::from(range.primary.index));
    let outcome = if escape {
        EditOutcome::Cancel
    } else if let (true, true, true, Some(at_char)) = (response.has_focus(), enter, alt, cursor) {
        // Alt+Enter: keep the text and split it at the cursor.
        let leading = edit.text.chars().take_while(|c| c.is_whitespace()).count();
        EditOutcome::CommitAndSplit(edit.text.trim().to_string(), at_char.saturating_sub(leading))
    } else if (response.has_focus() && enter) || response.lost_focus() {
        EditOutcome::Commit(edit.text.trim().to_string())
    } else {
        EditOutcome::StillEditing
    };
    (response, outcome)
}

/// The text column of a row not being edited: wrapped text, measured as it is drawn; a click
/// seeks the player to the word, a double click starts an edit, a right click opens the
/// segment's menu. Returns the row's height.
fn segment_text_ui(
    ui: &mut egui::Ui,
    context: &mut RowContext,
    index: usize,
    row_min: egui::Pos2,
    text_pos: egui::Pos2,
) -> f32 {
    let job = context.job;
    let segment = &job.transcript.segments[index];
    let wrap_width = context.columns.wrap_width;
    let visuals = ui.visuals().clone();
    let galley = marks::marked_galley(ui, &job.transcript, index, wrap_width, &context.marks)
        .unwrap_or_else(|| text_galley(ui, &segment.text, wrap_width));
    let height = row_height_for(galley.size().y);
    context
        .rows
        .set_measured(index, height, segment.text.len(), galley.rows.len());
    let text_rect =
        Rect::from_min_size(text_pos, galley.size().max(vec2(wrap_width.min(40.0), 1.0)));
    let row_rect = Rect::from_min_size(
        row_min,
        vec2(context.columns.full_width - RIGHT_MARGIN + 6.0, height),
    );
    if context.marks.is_selected(&job.transcript, index) {
        ui.painter().rect_filled(row_rect, 6.0, visuals.selection.bg_fill.gamma_multiply(0.35));
    } else if ui.rect_contains_pointer(row_rect) {
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
    if let Some((playing, position_s)) = context.playing
        && playing == index
    {
        let word = super::player::paint_highlight(ui, segment, &galley, text_pos, position_s);
        context.actions.highlighted = Some((index, word));
    }
    ui.painter().galley(text_pos, galley.clone(), visuals.text_color());
    let response = response.on_hover_cursor(egui::CursorIcon::PointingHand);
    let modifiers = ui.input(|input| input.modifiers);
    if response.clicked() && (modifiers.command || modifiers.shift) {
        context.actions.select = Some((index, modifiers.shift));
    } else if response.double_clicked() {
        context.actions.start_edit = Some(index);
    } else if response.clicked()
        && let Some(pointer) = response.interact_pointer_pos()
    {
        context.actions.seek_s = Some(super::player::seek_target(segment, &galley, pointer - text_pos));
    }
    // The row menu's "Split here" splits where the right click was.
    if response.secondary_clicked()
        && let Some(pointer) = response.hover_pos()
        && let Some(id) = job.transcript.id_at(index)
    {
        let at_char: usize = galley.cursor_from_pos(pointer - text_pos).index.into();
        *context.menu_split = Some((id, word_start(&job.transcript.segments[index].text, at_char)));
    }
    let split_at = context
        .menu_split
        .filter(|(id, _)| job.transcript.id_at(index) == Some(*id))
        .map(|(_, at_char)| at_char);
    response.context_menu(|ui| {
        segment_menu(ui, job, index, context.actions);
        edit_menu_items(ui, job, index, split_at, context.actions);
    });
    height
}

/// The start of the word character `at_char` is in (a right click splits between words).
fn word_start(text: &str, at_char: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut start = at_char.min(chars.len());
    while start > 0 && !chars[start - 1].is_whitespace() {
        start -= 1;
    }
    start
}

/// The row's start time in the time column.
fn paint_start_time(ui: &egui::Ui, row_min: egui::Pos2, start_s: f64) {
    ui.painter().text(
        pos2(row_min.x + 2.0, row_min.y + ROW_PADDING + 2.0),
        egui::Align2::LEFT_TOP,
        super::format_clock(start_s),
        egui::FontId::monospace(12.0),
        ui.visuals().weak_text_color(),
    );
}

/// The speaker column: the segment's speaker chip; a click renames the speaker.
fn segment_speaker_ui(
    ui: &mut egui::Ui,
    context: &mut RowContext,
    index: usize,
    speaker_id: &str,
    row_min: egui::Pos2,
) {
    let job = context.job;
    let name = job.transcript.speaker_name(speaker_id);
    let chip_rect = Rect::from_min_size(
        pos2(
            row_min.x + TIME_WIDTH + COLUMN_GAP,
            row_min.y + ROW_PADDING - 1.0,
        ),
        vec2(
            context.columns.text_x - TIME_WIDTH - 2.0 * COLUMN_GAP,
            CHIP_HEIGHT,
        ),
    );
    let response = speakers::speaker_chip(
        ui,
        chip_rect,
        egui::Id::unique(("segment_speaker", job.id.0, index)),
        speaker_id,
        name,
    );
    if response.clicked() {
        context.actions.rename = Some(RenameDialog::new(
            job.id,
            speaker_id,
            name,
            chip_rect.left_bottom() + vec2(0.0, 6.0),
        ));
    }
    response.context_menu(|ui| {
        segment_menu(ui, job, index, context.actions);
        edit_menu_items(ui, job, index, None, context.actions);
    });
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
    let Some(segment_id) = transcript.id_at(index) else {
        return;
    };
    speakers::assign_menu(
        ui,
        job.id,
        segment_id,
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
    super::cue_preview::retime_menu(ui, job, index, &mut actions.commands);
}

/// The row menu's structure and quote entries: split where it was right-clicked, merge with
/// the next row, copy as a quote.
fn edit_menu_items(ui: &mut egui::Ui, job: &Job, index: usize, split_at: Option<usize>, actions: &mut PaneActions) {
    use super::super::messages::TranscriptEdit;
    let transcript = &job.transcript;
    let Some(segment) = transcript.id_at(index) else { return };
    ui.separator();
    if let Some(at_char) = split_at.filter(|at| *at > 0 && *at < transcript.segments[index].text.chars().count())
        && ui.button("Split here").clicked()
    {
        actions.commands.push(AppCommand::Edit(job.id, TranscriptEdit::Split { segment, at_char }));
        ui.close();
    }
    if ui.add_enabled(index + 1 < transcript.segments.len(), egui::Button::new("Merge with next")).clicked() {
        actions.commands.push(AppCommand::Edit(job.id, TranscriptEdit::MergeWithNext(segment)));
        ui.close();
    }
    if ui.button("Copy as quote").clicked() {
        actions.commands.push(AppCommand::Edit(job.id, TranscriptEdit::CopyQuote(Some(segment))));
        ui.close();
    }
}

/// The live hypothesis after the last segment: weak italics with an accent bar, as it is not
/// final yet.
fn draw_hypothesis_row(ui: &mut egui::Ui, origin: egui::Pos2, y: f32, text_x: f32, live: LiveRow) {
    let LiveRow { start_s, galley } = live;
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
        paint_start_time(ui, pos2(origin.x, top), start_s);
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
                ..Default::default()
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
