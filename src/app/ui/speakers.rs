//! Speakers on screen: a stable colour per speaker, the clickable name chip, the rename window
//! and the "assign to speaker" menu.

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use super::super::state::JobId;
use crate::transcript::Transcript;
use eframe::egui::{self, Color32};

/// Colours readable on a dark background (light tints).
const DARK_PALETTE: [Color32; 8] = [
    Color32::from_rgb(0x7e, 0xb6, 0xff),
    Color32::from_rgb(0xff, 0xb8, 0x6b),
    Color32::from_rgb(0x7e, 0xe0, 0xa1),
    Color32::from_rgb(0xf0, 0x8c, 0xb4),
    Color32::from_rgb(0xc9, 0xa7, 0xff),
    Color32::from_rgb(0x6f, 0xd6, 0xd6),
    Color32::from_rgb(0xe9, 0xd1, 0x6b),
    Color32::from_rgb(0xff, 0x8a, 0x80),
];

/// The same hues, dark enough for a light background.
const LIGHT_PALETTE: [Color32; 8] = [
    Color32::from_rgb(0x1f, 0x5f, 0xbf),
    Color32::from_rgb(0xa8, 0x55, 0x00),
    Color32::from_rgb(0x1e, 0x7f, 0x45),
    Color32::from_rgb(0xb0, 0x30, 0x6a),
    Color32::from_rgb(0x6b, 0x3f, 0xc0),
    Color32::from_rgb(0x0f, 0x74, 0x74),
    Color32::from_rgb(0x80, 0x66, 0x00),
    Color32::from_rgb(0xc0, 0x39, 0x2b),
];

/// FNV-1a: stable across runs and platforms (unlike std's hasher), so a speaker keeps its
/// colour from one session to the next.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The colour of speaker `id` (by engine id, so a rename keeps the colour).
pub fn speaker_color(id: &str, dark_mode: bool) -> Color32 {
    let index = (stable_hash(id) % DARK_PALETTE.len() as u64) as usize;
    if dark_mode {
        DARK_PALETTE[index]
    } else {
        LIGHT_PALETTE[index]
    }
}

/// A rename in progress.
#[derive(Debug, Clone)]
pub struct RenameDialog {
    pub job: JobId,
    pub speaker_id: String,
    pub name: String,
    pub position: egui::Pos2,
    focus_requested: bool,
}

impl RenameDialog {
    pub fn new(
        job: JobId,
        speaker_id: &str,
        current_name: &str,
        position: egui::Pos2,
    ) -> RenameDialog {
        RenameDialog {
            job,
            speaker_id: speaker_id.to_string(),
            name: current_name.to_string(),
            position,
            focus_requested: false,
        }
    }
}

/// Paints a speaker chip at `rect` and returns its response (a button named after the speaker).
pub fn speaker_chip(
    ui: &mut egui::Ui,
    rect: egui::Rect,
    id: egui::Id,
    speaker_id: &str,
    name: &str,
) -> egui::Response {
    let response = ui.interact(rect, id, egui::Sense::click());
    let name_for_info = name.to_string();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name_for_info));
    if ui.is_rect_visible(rect) {
        let dark = ui.visuals().dark_mode;
        let color = speaker_color(speaker_id, dark);
        let painter = ui.painter();
        let fill_alpha = if response.hovered() { 0.28 } else { 0.14 };
        let galley = painter.layout(
            name.to_string(),
            egui::FontId::proportional(13.0),
            color,
            f32::INFINITY,
        );
        let chip_width = (galley.size().x + 22.0).min(rect.width());
        let chip = egui::Rect::from_min_size(rect.min, egui::vec2(chip_width, rect.height()));
        painter.rect_filled(chip, 5.0, color.gamma_multiply(fill_alpha));
        painter.circle_filled(egui::pos2(chip.min.x + 8.0, chip.center().y), 3.5, color);
        let text_rect = egui::Rect::from_min_max(
            egui::pos2(chip.min.x + 15.0, chip.min.y),
            egui::pos2(chip.max.x - 4.0, chip.max.y),
        );
        let text_pos = egui::pos2(text_rect.min.x, chip.center().y - galley.size().y / 2.0);
        painter
            .with_clip_rect(text_rect)
            .galley(text_pos, galley, color);
    }
    response.on_hover_text(format!("{name} — click to rename"))
}

/// The items of a segment's "Assign to speaker" menu.
pub fn assign_menu(
    ui: &mut egui::Ui,
    job: JobId,
    segment: crate::transcript::SegmentId,
    current: Option<&str>,
    transcript: &Transcript,
    commands: &mut Vec<AppCommand>,
) {
    ui.menu_button("Assign to speaker", |ui| {
        for speaker in &transcript.speakers {
            let is_current = current == Some(speaker.id.as_str());
            if ui
                .add(egui::Button::new(speaker.display_name.as_str()).selected(is_current))
                .clicked()
            {
                commands.push(AppCommand::SetSegmentSpeaker {
                    job,
                    segment,
                    speaker_id: speaker.id.clone(),
                });
                ui.close();
            }
        }
        if !transcript.speakers.is_empty() {
            ui.separator();
        }
        if ui.button("New speaker").clicked() {
            let id = new_speaker_id(transcript);
            commands.push(AppCommand::SetSegmentSpeaker {
                job,
                segment,
                speaker_id: id,
            });
            ui.close();
        }
    });
}

/// An id no speaker of `transcript` uses yet.
fn new_speaker_id(transcript: &Transcript) -> String {
    (1..)
        .map(|n| format!("user_{n}"))
        .find(|id| !transcript.speakers.iter().any(|speaker| &speaker.id == id))
        .unwrap_or_else(|| "user".into())
}

/// The rename window, when a rename is in progress.
pub fn rename_window(app: &mut VerbatimApp, ctx: &egui::Context) {
    let Some(dialog) = app.rename.as_mut() else {
        return;
    };
    let mut open = true;
    let mut submit = false;
    let mut cancel = false;
    egui::Window::new("Rename speaker")
        .id(egui::Id::unique("rename_speaker_window"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_pos(dialog.position)
        .show(ctx, |ui| {
            let label = ui.label("Speaker name");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut dialog.name)
                        .desired_width(220.0)
                        .hint_text("e.g. Alice"),
                )
                .labelled_by(label.id);
            if !dialog.focus_requested {
                edit.request_focus();
                dialog.focus_requested = true;
            }
            if edit.lost_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter)) {
                submit = true;
            }
            if ui.input(|input| input.key_pressed(egui::Key::Escape)) {
                cancel = true;
            }
            ui.label(
                egui::RichText::new("Every segment and every export uses the new name.")
                    .small()
                    .weak(),
            );
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(!dialog.name.trim().is_empty(), egui::Button::new("Rename"))
                    .clicked()
                {
                    submit = true;
                }
                if ui.button("Cancel").clicked() {
                    cancel = true;
                }
            });
        });
    if submit && let Some(dialog) = app.rename.take() {
        app.send(AppCommand::RenameSpeaker {
            job: dialog.job,
            speaker_id: dialog.speaker_id,
            name: dialog.name,
        });
    } else if cancel || !open {
        app.rename = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speaker_keeps_its_colour_and_both_palettes_agree_on_the_hue_index() {
        assert_eq!(speaker_color("left", true), speaker_color("left", true));
        let index = |id: &str| {
            DARK_PALETTE
                .iter()
                .position(|&c| c == speaker_color(id, true))
        };
        let light_index = |id: &str| {
            LIGHT_PALETTE
                .iter()
                .position(|&c| c == speaker_color(id, false))
        };
        for id in ["left", "right", "SPEAKER_00", "SPEAKER_01"] {
            assert_eq!(index(id), light_index(id));
        }
        assert_ne!(speaker_color("left", true), speaker_color("right", true));
    }
}
