//! Drag and drop: files dropped anywhere on the window are queued (the same command the open
//! dialog and `verbatim open` use), and while files hover over the window a full-window
//! overlay says what will happen.

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use eframe::egui;

/// Queues whatever was dropped this frame.
pub fn accept_dropped_files(app: &mut VerbatimApp, ctx: &egui::Context) {
    let dropped: Vec<std::path::PathBuf> = ctx.input(|input| {
        input
            .raw
            .dropped_files
            .iter()
            .map(|file| file.path().to_path_buf())
            .collect()
    });
    if !dropped.is_empty() {
        app.send(AppCommand::AddFiles(dropped));
    }
}

/// The overlay shown while files are dragged over the window.
pub fn drop_overlay(ctx: &egui::Context) {
    let hovered: Vec<String> = ctx.input(|input| {
        input
            .raw
            .hovered_files
            .iter()
            .map(|file| {
                file.path
                    .as_ref()
                    .and_then(|path| path.file_name())
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect()
    });
    if hovered.is_empty() {
        return;
    }
    let screen = ctx.content_rect();
    let style = ctx.global_style();
    let dark = style.visuals.dark_mode;
    let accent = style.visuals.selection.bg_fill;
    let text_color = if dark {
        egui::Color32::WHITE
    } else {
        egui::Color32::from_gray(20)
    };
    let detail = match hovered.as_slice() {
        [one] if !one.is_empty() => one.clone(),
        files => format!("{} files", files.len()),
    };
    egui::Area::new(egui::Id::unique("drop_overlay"))
        .order(egui::Order::Foreground)
        .fixed_pos(screen.min)
        .interactable(false)
        .show(ctx, |ui| {
            let painter = ui.painter();
            let backdrop = if dark {
                egui::Color32::from_black_alpha(200)
            } else {
                egui::Color32::from_white_alpha(215)
            };
            painter.rect_filled(screen, 0.0, backdrop);
            let zone = screen.shrink(28.0);
            painter.rect_stroke(
                zone,
                16.0,
                egui::Stroke::new(3.0, accent),
                egui::StrokeKind::Inside,
            );
            ui.scope_builder(
                egui::UiBuilder::new()
                    .max_rect(zone)
                    .layout(egui::Layout::top_down(egui::Align::Center)),
                |ui| {
                    ui.add_space(zone.height() / 2.0 - 36.0);
                    ui.label(
                        egui::RichText::new("Drop to transcribe")
                            .size(28.0)
                            .color(text_color),
                    );
                    ui.label(
                        egui::RichText::new(detail)
                            .size(16.0)
                            .color(text_color.gamma_multiply(0.7)),
                    );
                },
            );
        });
}
