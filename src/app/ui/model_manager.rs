//! The model manager: installed models (use, remove), models to download from the catalog
//! (with progress and cancel), and importing a faster-whisper model folder. Every operation
//! runs on the background runtime; this window only shows where each one is.

use super::super::VerbatimApp;
use super::super::backend;
use super::super::commands::AppCommand;
use super::super::state::{DownloadState, ModelsState};
use eframe::egui::{self, RichText};

pub fn model_manager_window(app: &mut VerbatimApp, ctx: &egui::Context) {
    if !app.windows.model_manager {
        return;
    }
    let mut open = true;
    let mut commands = Vec::new();
    egui::Window::new("Models")
        .id(egui::Id::unique("model_manager_window"))
        .pivot(egui::Align2::CENTER_TOP)
        .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 60.0))
        .open(&mut open)
        .collapsible(false)
        .default_width(520.0)
        .default_height(460.0)
        .show(ctx, |ui| {
            let models = &app.state.models;
            store_line_ui(ui, models, &mut commands);
            ui.add_space(6.0);
            ui.label(RichText::new("Installed").strong());
            let in_use = app.settings.local.model.as_str();
            let confirm_remove = &mut app.windows.confirm_remove;
            installed_models_ui(ui, models, in_use, confirm_remove, &mut commands);
            ui.add_space(10.0);
            ui.label(RichText::new("Download").strong());
            catalog_ui(ui, models, &mut commands);
            ui.add_space(10.0);
            ui.separator();
            import_ui(ui, models, &mut commands);
        });
    if !open {
        app.windows.model_manager = false;
        app.windows.confirm_remove = None;
    }
    for command in commands {
        app.send(command);
    }
}

/// Where the models are kept (or why that is not known yet), and Refresh.
fn store_line_ui(ui: &mut egui::Ui, models: &ModelsState, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        match &models.snapshot {
            Some(snapshot) => ui.label(
                RichText::new(format!("Stored in {}", snapshot.dir.display()))
                    .small()
                    .weak(),
            ),
            None if models.error.is_none() => {
                ui.label(RichText::new("Looking for models…").small().weak())
            }
            None => ui.label(""),
        };
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.small_button("Refresh").clicked() {
                commands.push(AppCommand::RefreshModels);
            }
        });
    });
    if let Some(error) = &models.error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }
}

/// A striped grid of three columns: name, size, buttons.
fn models_grid(id: &str) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(3)
        .striped(true)
        .spacing([14.0, 6.0])
}

/// Installed models, each with Use (or "in use") and Remove (pressed twice).
fn installed_models_ui(
    ui: &mut egui::Ui,
    models: &ModelsState,
    in_use: &str,
    confirm_remove: &mut Option<String>,
    commands: &mut Vec<AppCommand>,
) {
    let installed = models
        .snapshot
        .as_ref()
        .map(|snapshot| snapshot.installed.clone())
        .unwrap_or_default();
    if installed.is_empty() {
        ui.label(
            RichText::new(
                "No model installed yet: download one below, or import a faster-whisper folder.",
            )
            .weak(),
        );
    }
    models_grid("installed_models").show(ui, |ui| {
        for model in &installed {
            ui.label(RichText::new(&model.name).strong());
            ui.label(RichText::new(super::format_bytes(model.size_bytes)).weak());
            ui.horizontal(|ui| {
                if in_use == model.name {
                    ui.label(RichText::new("✔ in use").color(ui.visuals().selection.bg_fill));
                } else if ui.small_button("Use").clicked() {
                    commands.push(AppCommand::SelectModel(model.name.clone()));
                }
                let confirming = confirm_remove.as_deref() == Some(model.name.as_str());
                if confirming {
                    if ui
                        .small_button(
                            RichText::new("Really remove?").color(ui.visuals().error_fg_color),
                        )
                        .clicked()
                    {
                        commands.push(AppCommand::RemoveModel(model.name.clone()));
                        *confirm_remove = None;
                    }
                } else if ui.small_button("Remove").clicked() {
                    *confirm_remove = Some(model.name.clone());
                }
            });
            ui.end_row();
        }
    });
}

/// Catalog models not installed yet, each with Download or its download's progress.
fn catalog_ui(ui: &mut egui::Ui, models: &ModelsState, commands: &mut Vec<AppCommand>) {
    let catalog: Vec<_> = backend::catalog()
        .into_iter()
        .filter(|entry| !models.is_installed(&entry.name))
        .collect();
    if catalog.is_empty() {
        ui.label(RichText::new("Every catalog model is installed.").weak());
    }
    egui::ScrollArea::vertical()
        .id_salt("catalog_scroll")
        .max_height(220.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            models_grid("catalog_models").show(ui, |ui| {
                for entry in &catalog {
                    ui.horizontal(|ui| {
                        ui.label(&entry.name);
                        if entry.english_only {
                            ui.label(RichText::new("English").small().weak());
                        }
                    });
                    ui.label(
                        RichText::new(format!(
                            "≈ {}",
                            super::format_bytes(entry.approx_size_bytes)
                        ))
                        .weak(),
                    );
                    match models.downloads.get(&entry.name) {
                        Some(download) => download_progress_ui(ui, &entry.name, download, commands),
                        None => {
                            if ui.small_button("Download").clicked() {
                                commands.push(AppCommand::DownloadModel(entry.name.clone()));
                            }
                        }
                    }
                    ui.end_row();
                }
            });
        });
}

/// A running download: bytes so far (of how many, when known) and Cancel.
fn download_progress_ui(
    ui: &mut egui::Ui,
    name: &str,
    download: &DownloadState,
    commands: &mut Vec<AppCommand>,
) {
    ui.horizontal(|ui| {
        let text = match download.total_bytes {
            Some(total) => format!(
                "{} / {}",
                super::format_bytes(download.downloaded_bytes),
                super::format_bytes(total)
            ),
            None => super::format_bytes(download.downloaded_bytes),
        };
        let bar = egui::ProgressBar::new(download.fraction().unwrap_or(0.0))
            .desired_width(150.0)
            .text(text);
        ui.add(if download.fraction().is_none() {
            bar.animate(true)
        } else {
            bar
        });
        if ui.small_button("Cancel").clicked() {
            commands.push(AppCommand::CancelDownload(name.to_string()));
        }
    });
}

/// Importing a faster-whisper (CTranslate2) folder, with a spinner while it runs.
fn import_ui(ui: &mut egui::Ui, models: &ModelsState, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                !models.importing,
                egui::Button::new("Import faster-whisper folder…"),
            )
            .on_hover_text(
                "Convert a CTranslate2 (faster-whisper) model folder to whisper.cpp format",
            )
            .clicked()
        {
            commands.push(AppCommand::ImportModel);
        }
        if models.importing {
            ui.spinner();
            ui.label(RichText::new("Importing…").weak());
        }
    });
}
