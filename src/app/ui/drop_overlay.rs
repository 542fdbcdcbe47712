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
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop_overlay"),
    ));
    let dark = ctx.global_style().visuals.dark_mode;
    let accent = ctx.global_style().visuals.selection.bg_fill;
    painter.rect_filled(
        screen,
        0.0,
        if dark {
            egui::Color32::from_black_alpha(200)
        } else {
            egui::Color32::from_white_alpha(215)
        },
    );
    let zone = screen.shrink(28.0);
    painter.rect_stroke(
        zone,
        16.0,
        egui::Stroke::new(3.0, accent),
        egui::StrokeKind::Inside,
    );
    let text_color = if dark {
        egui::Color32::WHITE
    } else {
        egui::Color32::from_gray(20)
    };
    painter.text(
        zone.center() - egui::vec2(0.0, 18.0),
        egui::Align2::CENTER_CENTER,
        "Drop to transcribe",
        egui::FontId::proportional(28.0),
        text_color,
    );
    let detail = match hovered.as_slice() {
        [one] if !one.is_empty() => one.clone(),
        files => format!("{} files", files.len()),
    };
    painter.text(
        zone.center() + egui::vec2(0.0, 20.0),
        egui::Align2::CENTER_CENTER,
        detail,
        egui::FontId::proportional(16.0),
        text_color.gamma_multiply(0.7),
    );
}
