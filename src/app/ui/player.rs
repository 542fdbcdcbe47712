//! The player bar under the transcript (play / pause, ±5 s, loop the segment, speed, a
//! position bar with the segments marked) and what the transcript pane asks of playback: the
//! word being spoken highlighted, a click on a word or a time to seek there, and the view
//! kept on the spoken line until the user scrolls away.
//!
//! Keys (when no text box has the keyboard): Space plays or pauses, Ctrl+Left / Ctrl+Right
//! jump 5 s, L loops the current segment, F2 edits it.

use super::super::VerbatimApp;
use super::super::state::{Job, JobStatus};
use super::transcript::RowHeights;
use crate::events::Segment;
use crate::playback::{JUMP_S, follow};
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers, Rect, pos2, vec2};

/// Space: play or pause.
pub const SHORTCUT_PLAY: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Space);
/// Ctrl+Left: 5 s back.
pub const SHORTCUT_BACK: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::ArrowLeft);
/// Ctrl+Right: 5 s on.
pub const SHORTCUT_FORWARD: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::ArrowRight);
/// L: loop the current segment (again: stop looping).
pub const SHORTCUT_LOOP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::L);
/// F2: edit the current segment's text.
pub const SHORTCUT_EDIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F2);

/// Speeds offered (the pitch stays).
pub const SPEEDS: [f64; 7] = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0];

const BAR_HEIGHT: f32 = 16.0;

/// What the transcript pane knows of playback (set each frame before it draws).
#[derive(Debug, Default)]
pub struct PaneMark {
    /// The player's position when it shows this pane's file.
    pub position_s: Option<f64>,
    /// Keep the spoken line in view; off once the user scrolls, on again at a seek or Play.
    pub following: bool,
    /// The segment and word highlighted in the last frame (`None` for the word when the
    /// segment has no word times), if the spoken row was drawn.
    pub highlighted: Option<(usize, Option<usize>)>,
    /// The segment the view last followed to.
    last_segment: Option<usize>,
    /// The scroll offset the pane had at the end of the last frame, and whether this frame
    /// set it.
    last_offset_y: Option<f32>,
    forced_this_frame: bool,
}

/// Whether the selected file can be played: it exists as a finished file (not a recording
/// still being written).
/// Whether the file can be played (a recording cannot until it stops).
pub(super) fn playable(job: &Job) -> bool {
    job.status != JobStatus::Recording
}

/// Once per frame, before drawing: the player shows the selected file at its remembered
/// position, takes in what its session reported, and the file remembers where it is.
pub fn sync(app: &mut VerbatimApp) {
    let VerbatimApp {
        state,
        player,
        pane,
        ..
    } = app;
    let job = state.selected.and_then(|id| state.job_mut(id));
    let Some(job) = job.filter(|job| playable(job)) else {
        player.pause();
        pane.playback.position_s = None;
        return;
    };
    let duration_s = job
        .transcript
        .duration_s
        .or_else(|| (job.transcript.end_s() > 0.0).then(|| job.transcript.end_s()));
    player.load(&job.path, job.playback_position_s, duration_s);
    // "Next uncertain word" asks for its word to be played.
    let word_to_play_s = state.seek_request.take();
    if let Some(start_s) = word_to_play_s {
        player.seek(start_s);
        player.play();
        pane.playback.following = true;
    }
    player.tick();
    let position_s = player.position_s();
    if let Some(job) = state.selected.and_then(|id| state.job_mut(id)) {
        job.playback_position_s = position_s;
    }
    pane.playback.position_s = Some(position_s);
}

/// The keys of the player (none while a text box has the keyboard).
pub fn handle_keys(app: &mut VerbatimApp, ctx: &egui::Context) {
    // `position_s` is set only while the selected file is loaded in the player.
    if ctx.egui_wants_keyboard_input() || app.pane.playback.position_s.is_none() {
        return;
    }
    let (play, back, forward, looping, edit) = ctx.input_mut(|input| {
        (
            input.consume_shortcut(&SHORTCUT_PLAY),
            input.consume_shortcut(&SHORTCUT_BACK),
            input.consume_shortcut(&SHORTCUT_FORWARD),
            input.consume_shortcut(&SHORTCUT_LOOP),
            input.consume_shortcut(&SHORTCUT_EDIT),
        )
    });
    if play {
        toggle_play(app);
    }
    if back {
        jump_and_follow(app, -JUMP_S);
    }
    if forward {
        jump_and_follow(app, JUMP_S);
    }
    if looping {
        toggle_loop(app);
    }
    if edit && let Some(index) = current_segment(app) {
        app.pane.edit_segment(index);
    }
}

/// Moves the player to `position_s`; the view follows the spoken line again.
pub(super) fn seek_and_follow(app: &mut VerbatimApp, position_s: f64) {
    app.player.seek(position_s);
    app.pane.playback.following = true;
}

/// Moves the player by `delta_s` (back when negative); the view follows again.
fn jump_and_follow(app: &mut VerbatimApp, delta_s: f64) {
    app.player.jump(delta_s);
    app.pane.playback.following = true;
}

fn toggle_play(app: &mut VerbatimApp) {
    app.player.toggle();
    if app.player.is_playing() {
        app.pane.playback.following = true;
    }
}

/// The segment at the player's position in the selected file.
fn current_segment(app: &VerbatimApp) -> Option<usize> {
    let job = app.state.selected_job()?;
    follow::segment_at(&job.transcript.segments, app.player.position_s())
}

/// Loops the segment at the position, or stops looping.
fn toggle_loop(app: &mut VerbatimApp) {
    if app.player.loop_range().is_some() {
        app.player.set_loop(None);
        return;
    }
    let Some(job) = app.state.selected_job() else {
        return;
    };
    let range = current_segment(app)
        .and_then(|index| job.transcript.segments.get(index))
        .map(|segment| (segment.start_s, segment.end_s));
    app.player.set_loop(range);
}

/// The bar under the transcript.
pub fn player_bar(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let Some(job) = app.state.selected_job().filter(|job| playable(job)) else {
        return;
    };
    let duration_s = app
        .player
        .duration()
        .unwrap_or_else(|| job.transcript.end_s())
        .max(app.player.position_s());
    let marks = segment_marks(&job.transcript.segments, duration_s, ui.available_width());
    ui.add_space(2.0);
    if let Some(target) = position_bar(ui, app.player.position_s(), duration_s, &marks) {
        seek_and_follow(app, target);
    }
    ui.horizontal(|ui| transport_ui(app, ui, duration_s));
    if app.player.is_playing() {
        ui.ctx().request_repaint();
    }
}

fn transport_ui(app: &mut VerbatimApp, ui: &mut egui::Ui, duration_s: f64) {
    let shortcut = |ui: &egui::Ui, shortcut: &KeyboardShortcut| ui.ctx().format_shortcut(shortcut);
    if ui
        .button("⏪ 5 s")
        .on_hover_text(format!("Back 5 seconds ({})", shortcut(ui, &SHORTCUT_BACK)))
        .clicked()
    {
        jump_and_follow(app, -JUMP_S);
    }
    let play_label = if app.player.is_playing() {
        "⏸ Pause"
    } else {
        "▶ Play"
    };
    if ui
        .add(egui::Button::new(egui::RichText::new(play_label).strong()).min_size(vec2(84.0, 0.0)))
        .on_hover_text("Play or pause (Space)")
        .clicked()
    {
        toggle_play(app);
    }
    if ui
        .button("5 s ⏩")
        .on_hover_text(format!(
            "On 5 seconds ({})",
            shortcut(ui, &SHORTCUT_FORWARD)
        ))
        .clicked()
    {
        jump_and_follow(app, JUMP_S);
    }
    ui.label(
        egui::RichText::new(format!(
            "{} / {}",
            super::format_clock(app.player.position_s()),
            super::format_clock(duration_s)
        ))
        .monospace(),
    );
    let mut looping = app.player.loop_range().is_some();
    if ui
        .toggle_value(&mut looping, "Loop segment")
        .on_hover_text("Replay the current segment (L)")
        .changed()
    {
        toggle_loop(app);
    }
    speed_menu(app, ui);
    if let Some(problem) = app.player.problem() {
        ui.add(
            egui::Label::new(
                egui::RichText::new(problem)
                    .small()
                    .color(ui.visuals().warn_fg_color),
            )
            .truncate(),
        );
    }
}

fn speed_menu(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let current = app.player.speed();
    egui::ComboBox::from_label("Speed")
        .selected_text(format_speed(current))
        .width(70.0)
        .show_ui(ui, |ui| {
            for speed in SPEEDS {
                if ui
                    .selectable_label((speed - current).abs() < 1e-6, format_speed(speed))
                    .clicked()
                {
                    app.player.set_speed(speed);
                }
            }
        })
        .response
        .on_hover_text("Playback speed (the pitch stays)");
}

/// `1×`, `0.75×`.
pub fn format_speed(speed: f64) -> String {
    let text = format!("{speed:.2}");
    format!("{}×", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Pixel runs of the bar covered by segments: one run per stretch of neighbouring segments,
/// so 10 000 segments cost a few hundred rectangles, not 10 000.
fn segment_marks(segments: &[Segment], duration_s: f64, width: f32) -> Vec<(f32, f32)> {
    let mut runs: Vec<(f32, f32)> = Vec::new();
    if duration_s <= 0.0 {
        return runs;
    }
    let scale = width / duration_s as f32;
    for segment in segments {
        let start = segment.start_s as f32 * scale;
        let end = (segment.end_s as f32 * scale).max(start + 1.0);
        match runs.last_mut() {
            Some(last) if start <= last.1 + 1.0 => last.1 = last.1.max(end),
            _ => runs.push((start, end)),
        }
    }
    runs
}

/// The position bar: segments marked, the played part filled, a click or a drag seeks (on
/// release, so a drag does not restart the stream every frame). Returns the seek target.
fn position_bar(
    ui: &mut egui::Ui,
    position_s: f64,
    duration_s: f64,
    marks: &[(f32, f32)],
) -> Option<f64> {
    let (rect, response) = ui.allocate_exact_size(
        vec2(ui.available_width(), BAR_HEIGHT),
        egui::Sense::click_and_drag(),
    );
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Playback position"));
    let fraction_at = |x: f32| ((x - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
    let dragging_to = response
        .interact_pointer_pos()
        .filter(|_| response.dragged() || response.is_pointer_button_down_on())
        .map(|pointer| fraction_at(pointer.x));
    let shown_fraction = dragging_to.unwrap_or(if duration_s > 0.0 {
        (position_s / duration_s) as f32
    } else {
        0.0
    });
    let visuals = ui.visuals();
    let painter = ui.painter();
    let track = Rect::from_min_max(
        pos2(rect.left(), rect.center().y - 4.0),
        pos2(rect.right(), rect.center().y + 4.0),
    );
    painter.rect_filled(track, 3.0, visuals.extreme_bg_color);
    for (start, end) in marks {
        let mark = Rect::from_min_max(
            pos2(rect.left() + start, track.top()),
            pos2(rect.left() + end.min(rect.width()), track.bottom()),
        );
        painter.rect_filled(mark, 0.0, visuals.widgets.inactive.bg_fill);
    }
    let played_x = rect.left() + rect.width() * shown_fraction.clamp(0.0, 1.0);
    let played = Rect::from_min_max(track.min, pos2(played_x, track.bottom()));
    painter.rect_filled(played, 3.0, visuals.selection.bg_fill.gamma_multiply(0.6));
    painter.circle_filled(
        pos2(played_x, rect.center().y),
        6.0,
        visuals.selection.bg_fill,
    );
    let released = response.drag_stopped() || response.clicked();
    let pointer = response
        .interact_pointer_pos()
        .or(ui.ctx().pointer_latest_pos());
    if released && let Some(pointer) = pointer {
        return Some(f64::from(fraction_at(pointer.x)) * duration_s);
    }
    None
}

/// Paints the highlight under the word being spoken (or the whole text when the segment has
/// no word times); returns the word. Call before the text is painted.
pub fn paint_highlight(
    ui: &egui::Ui,
    segment: &Segment,
    galley: &egui::Galley,
    text_pos: egui::Pos2,
    position_s: f64,
) -> Option<usize> {
    let fill = ui.visuals().selection.bg_fill.gamma_multiply(0.55);
    let word = follow::word_at(segment, position_s);
    let word_rect = word.and_then(|word| {
        let range = crate::transcript::word_ranges(segment).get(word)?.clone();
        if range.is_empty() {
            return None;
        }
        let start = segment.text.get(..range.start)?.chars().count();
        let end = start + segment.text.get(range)?.chars().count();
        let first = galley.pos_from_cursor(egui::text::CCursor::new(start));
        let last = galley.pos_from_cursor(egui::text::CCursor::new(end));
        let rect = if (first.top() - last.top()).abs() < 1.0 {
            Rect::from_min_max(first.min, pos2(last.max.x, first.max.y))
        } else {
            // Wrapped mid-word: mark from its start to the line's end.
            Rect::from_min_max(first.min, pos2(galley.size().x, first.max.y))
        };
        Some(rect.translate(text_pos.to_vec2()).expand2(vec2(2.0, 0.0)))
    });
    let rect =
        word_rect.unwrap_or_else(|| Rect::from_min_size(text_pos, galley.size()).expand(2.0));
    let fill = if word_rect.is_some() {
        fill
    } else {
        fill.gamma_multiply(0.4)
    };
    ui.painter().rect_filled(rect, 3.0, fill);
    word
}

/// Where a click at `pointer` on a segment's text seeks to: the start of the word under it,
/// or the segment's start when it has no word times.
pub fn seek_target(segment: &Segment, galley: &egui::Galley, pointer_in_text: egui::Vec2) -> f64 {
    let ranges = crate::transcript::word_ranges(segment);
    let char_index = galley.cursor_from_pos(pointer_in_text).index;
    let byte_offset = segment
        .text
        .char_indices()
        .nth(char_index.into())
        .map_or(segment.text.len(), |(offset, _)| offset);
    follow::word_for_offset(&ranges, byte_offset)
        .and_then(|word| segment.words.get(word))
        .map_or(segment.start_s, |word| word.start_s)
}

/// The scroll offset that brings the spoken segment into view, when it changed this frame,
/// the view follows, and the segment is not already fully visible.
pub fn follow_offset(
    mark: &mut PaneMark,
    rows: &RowHeights,
    segments: &[Segment],
    viewport_height: f32,
) -> Option<f32> {
    mark.forced_this_frame = false;
    let position_s = mark.position_s?;
    let current = follow::segment_at(segments, position_s);
    let changed = current.is_some() && current != mark.last_segment;
    mark.last_segment = current.or(mark.last_segment);
    let index = current.filter(|_| changed && mark.following)?;
    let (top, bottom) = rows.row_span(index)?;
    let shown_top = mark.last_offset_y.unwrap_or(0.0);
    if top >= shown_top && bottom <= shown_top + viewport_height {
        return None;
    }
    mark.forced_this_frame = true;
    Some((top - viewport_height * 0.3).max(0.0))
}

/// After the pane drew: a scroll the pane did not make means the user looks elsewhere, so
/// the view stops following until the next seek or Play.
pub fn note_scroll(mark: &mut PaneMark, offset_y: f32) {
    if let Some(last) = mark.last_offset_y
        && !mark.forced_this_frame
        && (offset_y - last).abs() > 1.0
    {
        mark.following = false;
    }
    mark.last_offset_y = Some(offset_y);
}
