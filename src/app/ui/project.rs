//! The File menu's project entries — Save project (Ctrl+S), Save project as…, Open recent
//! (a missing project shown as such, each removable) — and the Ctrl+S shortcut.

use super::super::VerbatimApp;
use super::super::commands::{AppCommand, ExportDestination};
use super::super::messages::{JobId, ProjectCommand};
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

/// Ctrl+S (⌘S on macOS): save the shown transcript as a project.
pub const SHORTCUT_SAVE_PROJECT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);

/// Ctrl+S: to the file's project, or asking where the first time.
pub fn save_command(app: &VerbatimApp, job: JobId) -> AppCommand {
    let destination = app
        .state
        .job(job)
        .and_then(|job| job.project.path.clone())
        .map_or(ExportDestination::AskUser, ExportDestination::Path);
    AppCommand::Project(ProjectCommand::Save { job, destination })
}

/// Reacts to Ctrl+S.
pub fn handle_shortcuts(app: &mut VerbatimApp, ctx: &egui::Context) {
    if ctx.input_mut(|input| input.consume_shortcut(&SHORTCUT_SAVE_PROJECT))
        && let Some(job) = app.state.selected
    {
        let command = save_command(app, job);
        app.send(command);
    }
}

/// Save project, Save project as… and Open recent, for the File menu.
pub fn file_menu_items(app: &mut VerbatimApp, ui: &mut egui::Ui, has_text: bool) {
    let selected = app.state.selected;
    let save = egui::Button::new("Save project").shortcut_text(ui.ctx().format_shortcut(&SHORTCUT_SAVE_PROJECT));
    if ui.add_enabled(has_text, save).clicked()
        && let Some(job) = selected
    {
        let command = save_command(app, job);
        app.send(command);
        ui.close();
    }
    if ui.add_enabled(has_text, egui::Button::new("Save project as…")).clicked()
        && let Some(job) = selected
    {
        app.send(AppCommand::Project(ProjectCommand::Save { job, destination: ExportDestination::AskUser }));
        ui.close();
    }
    let recent = app.settings.recent_projects.clone();
    ui.add_enabled_ui(!recent.is_empty(), |ui| {
        ui.menu_button("Open recent", |ui| {
            for path in recent {
                recent_item(app, ui, &path);
            }
        });
    });
}

/// One recent project: opens on click; a missing one says so; × takes it off the list.
fn recent_item(app: &mut VerbatimApp, ui: &mut egui::Ui, path: &std::path::Path) {
    let name = super::super::state::display_name(path);
    // A stat per entry, only while this menu is open.
    let exists = path.is_file();
    ui.horizontal(|ui| {
        let label = if exists { name } else { format!("{name} (missing)") };
        let open = ui
            .add_enabled(exists, egui::Button::new(label))
            .on_hover_text(path.display().to_string())
            .on_disabled_hover_text(format!("{} is no longer there", path.display()));
        if open.clicked() {
            app.send(AppCommand::Project(ProjectCommand::Open(path.to_path_buf())));
            ui.close();
        }
        if ui.small_button("×").on_hover_text("Remove from this list").clicked() {
            app.send(AppCommand::Project(ProjectCommand::ForgetRecent(path.to_path_buf())));
        }
    });
}
