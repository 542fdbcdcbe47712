//! The menu bar: File (open, record, export, copy, quit), Edit (in `search.rs`), Transcription,
//! Models, View, Help.
//! Every entry with a keyboard shortcut shows it.

use super::super::VerbatimApp;
use super::super::commands::{AppCommand, ExportDestination};
use super::super::settings::ThemeChoice;
use super::super::state::{JobId, JobStatus};
use crate::export::ExportFormat;
use eframe::egui::{self, KeyboardShortcut};

/// A menu entry with its shortcut shown; closes the menu when clicked.
pub(super) fn item(
    ui: &mut egui::Ui,
    label: &str,
    shortcut: Option<&KeyboardShortcut>,
    enabled: bool,
) -> bool {
    let mut button = egui::Button::new(label);
    if let Some(shortcut) = shortcut {
        button = button.shortcut_text(ui.ctx().format_shortcut(shortcut));
    }
    let clicked = ui.add_enabled(enabled, button).clicked();
    if clicked {
        ui.close();
    }
    clicked
}

/// What the menus need to know about the selected file.
struct SelectedFile {
    job: JobId,
    has_text: bool,
    status: JobStatus,
}

pub fn menu_bar(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let selected = app.state.selected_job().map(|job| SelectedFile {
        job: job.id,
        has_text: !job.transcript.segments.is_empty(),
        status: job.status.clone(),
    });
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu_ui(app, ui, selected.as_ref()));
        ui.menu_button("Edit", |ui| super::search::edit_menu_ui(app, ui));
        ui.menu_button("Transcription", |ui| {
            transcription_menu_ui(app, ui, selected.as_ref())
        });
        ui.menu_button("Models", |ui| models_menu_ui(app, ui));
        ui.menu_button("View", |ui| view_menu_ui(app, ui));
        ui.menu_button("Help", help_menu_ui);
    });
}

fn file_menu_ui(app: &mut VerbatimApp, ui: &mut egui::Ui, selected: Option<&SelectedFile>) {
    let has_text = selected.is_some_and(|selected| selected.has_text);
    if item(ui, "Open…", Some(&super::SHORTCUT_OPEN), true) {
        app.send(AppCommand::OpenFileDialog);
    }
    super::project::file_menu_items(app, ui, has_text);
    record_items(app, ui);
    ui.separator();
    ui.add_enabled_ui(has_text, |ui| {
        ui.menu_button("Export", |ui| {
            for kind in ExportFormat::ALL {
                if item(ui, &format!("{}…", kind.label()), None, true)
                    && let Some(selected) = selected
                {
                    app.send(AppCommand::Export {
                        job: selected.job,
                        kind,
                        destination: ExportDestination::AskUser,
                    });
                }
            }
        });
    });
    export_again_item(app, ui, has_text);
    if item(ui, "Copy transcript", Some(&super::SHORTCUT_COPY), has_text)
        && let Some(selected) = selected
    {
        app.send(AppCommand::CopyTranscript(selected.job));
    }
    ui.separator();
    if item(ui, "Quit", Some(&super::SHORTCUT_QUIT), true) {
        ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

/// Record, or pause / resume and stop the recording.
fn record_items(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    use super::super::record_commands::RecordingCommand;
    use super::super::recording::RecordingPhase;
    let phase = app.state.recording.phase;
    let mut command = None;
    if phase == RecordingPhase::Idle || matches!(phase, RecordingPhase::Starting { .. }) {
        if item(ui, "Record", Some(&super::SHORTCUT_RECORD), phase == RecordingPhase::Idle) {
            command = Some(RecordingCommand::Start);
        }
    } else {
        let paused = app
            .state
            .recording
            .status
            .as_ref()
            .is_some_and(|status| status.state == crate::record::RecorderState::Paused);
        let active = matches!(phase, RecordingPhase::Active { .. });
        let (label, pause) = if paused {
            ("Resume recording", RecordingCommand::Resume)
        } else {
            ("Pause recording", RecordingCommand::Pause)
        };
        if item(ui, label, None, active) {
            command = Some(pause);
        }
        if item(ui, "Stop recording", Some(&super::SHORTCUT_RECORD), active) {
            command = Some(RecordingCommand::Stop);
        }
    }
    if let Some(command) = command {
        app.send(AppCommand::Recording(command));
    }
}

/// "Export again", saying in which format and (on hover) to which file.
fn export_again_item(app: &mut VerbatimApp, ui: &mut egui::Ui, has_text: bool) {
    let again_label = match &app.settings.export.last {
        Some(last) => format!("Export again ({})", last.kind.extension().to_uppercase()),
        None => "Export again".to_string(),
    };
    let again = ui.add_enabled(
        has_text,
        egui::Button::new(again_label)
            .shortcut_text(ui.ctx().format_shortcut(&super::SHORTCUT_EXPORT_AGAIN)),
    );
    let again = match &app.settings.export.last {
        Some(last) => again.on_hover_text(format!("Writes {} again", last.path.display())),
        None => again.on_hover_text("Asks where to save an SRT file the first time"),
    };
    if again.clicked() {
        app.send(AppCommand::ExportAgain);
        ui.close();
    }
}

fn transcription_menu_ui(
    app: &mut VerbatimApp,
    ui: &mut egui::Ui,
    selected: Option<&SelectedFile>,
) {
    let running = app.state.running_job().is_some();
    if item(
        ui,
        "Cancel running file",
        Some(&super::SHORTCUT_CANCEL),
        running,
    ) {
        app.send(AppCommand::CancelRunning);
    }
    let finished = selected.is_some_and(|selected| !selected.status.is_active());
    if item(ui, "Transcribe selected file again", None, finished)
        && let Some(selected) = selected
    {
        app.send(AppCommand::RetryJob(selected.job));
    }
    if item(ui, "Remove selected file", None, selected.is_some())
        && let Some(selected) = selected
    {
        app.send(AppCommand::RemoveJob(selected.job));
    }
    ui.separator();
    if item(ui, "Settings…", Some(&super::SHORTCUT_SETTINGS), true) {
        app.send(AppCommand::ShowSettings);
    }
}

fn models_menu_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    if item(ui, "Manage models…", Some(&super::SHORTCUT_MODELS), true) {
        app.send(AppCommand::ShowModelManager);
    }
    let installed = app.state.models.installed_names();
    if !installed.is_empty() {
        ui.separator();
        ui.label(egui::RichText::new("Use model").small().weak());
        for name in installed {
            let current = app.settings.local.model == name;
            if ui
                .add(egui::Button::new(name.as_str()).selected(current))
                .clicked()
            {
                app.send(AppCommand::SelectModel(name));
                ui.close();
            }
        }
    }
}

fn view_menu_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    ui.checkbox(&mut app.settings.show_cue_breaks, "Subtitle cue breaks and warnings");
    let mut shown = app.settings.show_side_panel;
    if ui
        .add(egui::Checkbox::new(&mut shown, "Files and options panel"))
        .on_hover_text(ui.ctx().format_shortcut(&super::SHORTCUT_SIDE_PANEL))
        .changed()
    {
        app.settings.show_side_panel = shown;
    }
    ui.separator();
    ui.label(egui::RichText::new("Theme").small().weak());
    for (choice, label) in [
        (ThemeChoice::System, "Follow the system"),
        (ThemeChoice::Light, "Light"),
        (ThemeChoice::Dark, "Dark"),
    ] {
        if ui.radio(app.settings.theme == choice, label).clicked() {
            app.settings.theme = choice;
            ui.close();
        }
    }
}

/// The version, what the window is for, and every keyboard shortcut.
fn help_menu_ui(ui: &mut egui::Ui) {
    ui.label(egui::RichText::new("Verbatim").strong());
    ui.label(
        egui::RichText::new(format!("version {}", env!("CARGO_PKG_VERSION")))
            .small()
            .weak(),
    );
    ui.label("Drop audio or video files on the window to transcribe them, or record.");
    ui.separator();
    ui.label(egui::RichText::new("Keyboard").small().weak());
    egui::Grid::new("shortcut_help")
        .num_columns(2)
        .spacing([16.0, 2.0])
        .show(ui, |ui| {
            for (shortcut, what) in [
                (&super::SHORTCUT_OPEN, "Open files, projects or subtitles"),
                (&super::project::SHORTCUT_SAVE_PROJECT, "Save project"),
                (&super::SHORTCUT_RECORD, "Record / stop recording"),
                (&super::SHORTCUT_EXPORT_AGAIN, "Export again"),
                (&super::SHORTCUT_COPY, "Copy transcript (selected rows: as a quote)"),
                (&super::SHORTCUT_CANCEL, "Cancel running file"),
                (&super::search::SHORTCUT_UNDO, "Undo"),
                (&super::search::SHORTCUT_REDO, "Redo"),
                (&super::search::SHORTCUT_FIND, "Find"),
                (&super::search::SHORTCUT_REPLACE, "Replace"),
                (&super::search::SHORTCUT_NEXT_UNCERTAIN, "Next uncertain word"),
                (&super::search::SHORTCUT_ACCEPT_WORD, "Accept uncertain word"),
                (&super::SHORTCUT_MODELS, "Models"),
                (&super::SHORTCUT_SETTINGS, "Settings"),
                (&super::SHORTCUT_SIDE_PANEL, "Side panel"),
            ] {
                ui.label(egui::RichText::new(ui.ctx().format_shortcut(shortcut)).monospace());
                ui.label(what);
                ui.end_row();
            }
        });
}
