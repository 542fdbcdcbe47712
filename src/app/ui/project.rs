//! The File menu's project entries — Save project (Ctrl+S), Save project as…, Open recent
//! (a missing project shown as such, each removable) — and the Ctrl+S shortcut.

use super::super::VerbatimApp;
use super::super::commands::{AppCommand, ExportDestination};
use super::super::messages::{JobId, ProjectCommand};
use super::super::runtime::RuntimeRequest;
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How old the recent list's check may get while the menu is open before it is checked again.
const RECHECK_RECENT_EVERY: Duration = Duration::from_secs(5);

/// Which recent projects are no longer there, as the runtime last found (the menu never
/// touches the disk: a slow or gone drive would freeze the window).
#[derive(Default)]
pub struct RecentCheck {
    missing: HashSet<PathBuf>,
    /// The list last sent to be checked, and when.
    asked: Option<(Vec<PathBuf>, Instant)>,
}

impl RecentCheck {
    fn is_missing(&self, path: &std::path::Path) -> bool {
        self.missing.contains(path)
    }

    /// Whether `list` should be checked now: it changed, or the last check is getting old.
    fn due(&mut self, list: &[PathBuf], now: Instant) -> bool {
        let fresh = self.asked.as_ref().is_some_and(|(asked, at)| asked == list && now.duration_since(*at) < RECHECK_RECENT_EVERY);
        if !fresh {
            self.asked = Some((list.to_vec(), now));
        }
        !fresh
    }

    /// The runtime's answer: these are gone.
    pub fn on_checked(&mut self, missing: Vec<PathBuf>) {
        self.missing = missing.into_iter().collect();
    }
}

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
            if app.recent.due(&recent, Instant::now()) {
                app.request(RuntimeRequest::CheckRecentProjects(recent.clone()));
            }
            for path in recent {
                recent_item(app, ui, &path);
            }
        });
    });
}

/// One recent project: opens on click; a missing one says so; × takes it off the list.
fn recent_item(app: &mut VerbatimApp, ui: &mut egui::Ui, path: &std::path::Path) {
    let name = super::super::state::display_name(path);
    let exists = !app.recent.is_missing(path);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_list_is_checked_when_it_changes_or_its_check_is_old_and_not_every_frame() {
        let mut check = RecentCheck::default();
        let now = Instant::now();
        let list = vec![PathBuf::from("/a.verbatim.json")];
        assert!(check.due(&list, now), "never checked");
        assert!(!check.due(&list, now + Duration::from_millis(16)), "the next frame does not check again");
        let longer = vec![PathBuf::from("/b.verbatim.json"), PathBuf::from("/a.verbatim.json")];
        assert!(check.due(&longer, now + Duration::from_millis(32)), "the list changed");
        assert!(check.due(&longer, now + RECHECK_RECENT_EVERY + Duration::from_secs(1)), "the check got old");
        check.on_checked(vec![PathBuf::from("/b.verbatim.json")]);
        assert!(check.is_missing(std::path::Path::new("/b.verbatim.json")));
        assert!(!check.is_missing(std::path::Path::new("/a.verbatim.json")));
    }
}
