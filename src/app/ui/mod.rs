//! Drawing the window: the screen is built from small `*_ui` functions, one per part (menu
//! bar, queue panel, transcript pane, status bar, windows, notifications, drop overlay). They
//! read the state and turn clicks into [`AppCommand`](super::commands::AppCommand)s; none of
//! them does any work or I/O itself.

pub mod cloud;
pub mod cue_preview;
pub mod drop_overlay;
pub mod marks;
pub mod menu;
pub mod model_manager;
pub mod notifications;
pub mod project;
pub mod player;
pub mod queue;
pub mod record_panel;
pub mod search;
pub mod settings_window;
pub mod speakers;
pub mod transcript;

pub use crate::units::{clock as format_clock, short_size as format_bytes};

use super::VerbatimApp;
use super::commands::AppCommand;
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

/// Ctrl+O (⌘O on macOS): open files.
pub const SHORTCUT_OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
/// Ctrl+E: repeat the last export.
pub const SHORTCUT_EXPORT_AGAIN: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::E);
/// Ctrl+Shift+C: copy the transcript.
pub const SHORTCUT_COPY: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::C);
/// Esc: cancel the running file (when no text field has the keyboard).
pub const SHORTCUT_CANCEL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Escape);
/// Ctrl+,: settings.
pub const SHORTCUT_SETTINGS: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND, Key::Comma);
/// Ctrl+M: model manager.
pub const SHORTCUT_MODELS: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::M);
/// Ctrl+B: show or hide the side panel.
pub const SHORTCUT_SIDE_PANEL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::B);
/// Ctrl+R: start recording, or stop the recording.
pub const SHORTCUT_RECORD: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::R);
/// Ctrl+Q: quit.
pub const SHORTCUT_QUIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);

/// Fonts and spacing a notch roomier than egui's defaults: this is a reading app.
pub fn apply_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        use egui::{FontId, TextStyle};
        style
            .text_styles
            .insert(TextStyle::Body, FontId::proportional(14.5));
        style
            .text_styles
            .insert(TextStyle::Button, FontId::proportional(14.0));
        style
            .text_styles
            .insert(TextStyle::Small, FontId::proportional(11.5));
        style
            .text_styles
            .insert(TextStyle::Monospace, FontId::monospace(13.0));
        style
            .text_styles
            .insert(TextStyle::Heading, FontId::proportional(19.0));
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 4.0);
        style.spacing.interact_size.y = 24.0;
        style.spacing.menu_margin = egui::Margin::same(6);
        style.visuals.window_corner_radius = egui::CornerRadius::same(8);
        style.visuals.menu_corner_radius = egui::CornerRadius::same(6);
        style.interaction.tooltip_delay = 0.4;
    });
}

/// Reacts to the keyboard shortcuts (each is also shown in its menu).
pub fn handle_shortcuts(app: &mut VerbatimApp, ctx: &egui::Context) {
    let typing = ctx.egui_wants_keyboard_input();
    let mut commands = Vec::new();
    ctx.input_mut(|input| {
        if input.consume_shortcut(&SHORTCUT_OPEN) {
            commands.push(AppCommand::OpenFileDialog);
        }
        if input.consume_shortcut(&SHORTCUT_EXPORT_AGAIN) {
            commands.push(AppCommand::ExportAgain);
        }
        // With rows selected it copies them as a quote, else the whole transcript.
        if !typing && input.consume_shortcut(&SHORTCUT_COPY) {
            if let Some(job) = app.state.selected_job() {
                if app.pane.selected_rows(&job.transcript).is_empty() {
                    commands.push(AppCommand::CopyTranscript(job.id));
                } else {
                    commands.push(AppCommand::Edit(job.id, super::messages::TranscriptEdit::CopyQuote(None)));
                }
            }
        }
        if input.consume_shortcut(&SHORTCUT_SETTINGS) {
            commands.push(AppCommand::ShowSettings);
        }
        if input.consume_shortcut(&SHORTCUT_MODELS) {
            commands.push(AppCommand::ShowModelManager);
        }
        if input.consume_shortcut(&SHORTCUT_RECORD) {
            let command = match app.state.recording.phase {
                super::recording::RecordingPhase::Idle => Some(super::record_commands::RecordingCommand::Start),
                super::recording::RecordingPhase::Active { .. } => Some(super::record_commands::RecordingCommand::Stop),
                _ => None,
            };
            commands.extend(command.map(AppCommand::Recording));
        }
        if input.consume_shortcut(&SHORTCUT_SIDE_PANEL) {
            app.settings.show_side_panel = !app.settings.show_side_panel;
        }
        if input.consume_shortcut(&SHORTCUT_QUIT) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    });
    search::handle_edit_shortcuts(app, ctx, typing);
    // Esc belongs to an open popup or a text field first.
    if !typing
        && !egui::Popup::is_any_open(ctx)
        && ctx.input_mut(|input| input.consume_shortcut(&SHORTCUT_CANCEL))
    {
        commands.push(AppCommand::CancelRunning);
    }
    for command in commands {
        app.send(command);
    }
}

/// The whole window.
pub fn show(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let ctx = ui.ctx().clone();
    player::sync(app);
    handle_shortcuts(app, &ctx);
    project::handle_shortcuts(app, &ctx);
    player::handle_keys(app, &ctx);
    drop_overlay::accept_dropped_files(app, &ctx);

    egui::Panel::top("menu_bar")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(8, 4)))
        .show(ui, |ui| {
            menu::menu_bar(app, ui);
        });
    egui::Panel::bottom("status_bar")
        .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(10, 3)))
        .show(ui, |ui| {
            status_bar(app, ui);
        });
    if app.settings.show_side_panel {
        egui::Panel::left("queue_panel")
            .resizable(true)
            .default_size(300.0)
            .size_range(240.0..=520.0)
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::same(10)))
            .show(ui, |ui| {
                queue::side_panel(app, ui);
            });
    }
    // No bar for a file still being recorded: there is nothing to play yet.
    if app.state.selected_job().is_some_and(player::playable) {
        egui::Panel::bottom("player_bar")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(16, 6)))
            .show(ui, |ui| {
                player::player_bar(app, ui);
            });
    }
    egui::CentralPanel::default()
        .frame(egui::Frame::central_panel(ui.style()).inner_margin(egui::Margin::symmetric(16, 10)))
        .show(ui, |ui| {
            search::search_bar_ui(app, ui);
            transcript::central_panel(app, ui);
        });

    settings_window::settings_window(app, &ctx);
    model_manager::model_manager_window(app, &ctx);
    speakers::rename_window(app, &ctx);
    notifications::notifications(app, &ctx);
    drop_overlay::drop_overlay(&ctx);
}

fn status_bar(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 14.0;
        let engine = app.engine_spec().label();
        ui.label(
            egui::RichText::new(format!("Engine: {engine}"))
                .small()
                .weak(),
        );
        let queued = app
            .state
            .jobs
            .iter()
            .filter(|job| job.status == super::state::JobStatus::Queued)
            .count();
        recording_status_ui(app, ui);
        if let Some(job) = app.state.running_job() {
            let progress = job
                .progress
                .map(|fraction| format!(" {:.0}%", fraction * 100.0))
                .unwrap_or_default();
            ui.label(egui::RichText::new(format!("Transcribing {}{progress}", job.name)).small());
        } else if app.state.recording.is_idle() {
            ui.label(egui::RichText::new("Idle").small().weak());
        }
        if queued > 0 {
            ui.label(
                egui::RichText::new(format!("{queued} queued"))
                    .small()
                    .weak(),
            );
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if let Some(job) = app.state.selected_job() {
                let transcript = &job.transcript;
                let words = job.word_count;
                let text = format!(
                    "{} segments · {} words · {}",
                    transcript.segments.len(),
                    words,
                    format_clock(transcript.duration_s.unwrap_or_else(|| transcript.end_s()))
                );
                ui.label(egui::RichText::new(text).small().weak());
            }
        });
    });
}

/// `⏺ Recording 1:23 · 2.1 MB` with a Stop button, while a recording runs (seen even with
/// the side panel hidden).
fn recording_status_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let Some(status) = &app.state.recording.status else { return };
    if app.state.recording.is_idle() {
        return;
    }
    let paused = status.state == crate::record::RecorderState::Paused;
    let text = format!(
        "{} {} {} · {}",
        if paused { "⏸" } else { "⏺" },
        if paused { "Paused" } else { "Recording" },
        format_clock(status.recorded_s),
        format_bytes(status.file_bytes)
    );
    ui.label(egui::RichText::new(text).small().color(record_panel::RECORDING_RED));
    if !app.settings.show_side_panel {
        record_panel::record_button(app, ui);
    }
}

#[cfg(test)]
mod glyph_tests {
    use eframe::egui;

    /// Every character outside ASCII that the window's code can show must be in the bundled
    /// fonts, or it would draw as a box (and kittest would panic).
    #[test]
    fn every_symbol_the_window_shows_has_a_glyph() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("cloud.rs"),
            include_str!("cue_preview.rs"),
            include_str!("project.rs"),
            include_str!("../project_commands.rs"),
            include_str!("drop_overlay.rs"),
            include_str!("menu.rs"),
            include_str!("model_manager.rs"),
            include_str!("notifications.rs"),
            include_str!("player.rs"),
            include_str!("queue.rs"),
            include_str!("record_panel.rs"),
            include_str!("settings_window.rs"),
            include_str!("speakers.rs"),
            include_str!("transcript.rs"),
            include_str!("../backend.rs"),
            include_str!("../commands.rs"),
            include_str!("../state.rs"),
            include_str!("../recording.rs"),
            include_str!("../record_commands.rs"),
            include_str!("../logic.rs"),
            include_str!("../runtime/recording.rs"),
        ];
        let ctx = egui::Context::default();
        let _ = ctx.run_ui(Default::default(), |_| {});
        let font = egui::FontId::proportional(14.0);
        let mut missing: Vec<char> = sources
            .iter()
            .flat_map(|source| source.chars())
            .filter(|ch| !ch.is_ascii())
            .filter(|&ch| !ctx.fonts_mut(|fonts| fonts.has_glyph(&font, ch)))
            .collect();
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "no glyph for {missing:?}");
    }
}
