//! Notifications: non-modal messages stacked in the bottom-right corner. Errors stay until
//! dismissed and usually carry a Retry; information and warnings fade on their own (unless
//! sticky, as a recovered recording's Open / Transcribe notice is).

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use super::super::state::{NoticeLevel, Notification};
use eframe::egui::{self, Color32, RichText};

pub fn notifications(app: &mut VerbatimApp, ctx: &egui::Context) {
    if app.state.notifications.is_empty() {
        return;
    }
    let dark = ctx.global_style().visuals.dark_mode;
    let mut commands = Vec::new();
    egui::Area::new(egui::Id::unique("notifications"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-16.0, -40.0))
        .order(egui::Order::Foreground)
        .interactable(true)
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            for notice in &app.state.notifications {
                notice_ui(ui, notice, dark, &mut commands);
                ui.add_space(6.0);
            }
        });
    for command in commands {
        app.send(command);
    }
}

/// The colour and icon of a level, readable on a dark or a light background.
fn accent_and_icon(level: NoticeLevel, dark: bool) -> (Color32, &'static str) {
    let (on_dark, on_light, icon) = match level {
        NoticeLevel::Info => ([0x7e, 0xb6, 0xff], [0x1f, 0x5f, 0xbf], "ℹ"),
        NoticeLevel::Warning => ([0xe9, 0xc1, 0x5b], [0x8a, 0x60, 0x00], "⚠"),
        NoticeLevel::Error => ([0xff, 0x7a, 0x70], [0xb0, 0x25, 0x25], "⛔"),
    };
    let [red, green, blue] = if dark { on_dark } else { on_light };
    (Color32::from_rgb(red, green, blue), icon)
}

/// One notification: icon and message, then Dismiss and the notice's own action, if any.
fn notice_ui(ui: &mut egui::Ui, notice: &Notification, dark: bool, commands: &mut Vec<AppCommand>) {
    let (accent, icon) = accent_and_icon(notice.level, dark);
    let fill = ui.visuals().window_fill;
    egui::Frame::NONE
        .fill(fill)
        .stroke(egui::Stroke::new(1.0, accent.gamma_multiply(0.8)))
        .corner_radius(8)
        .shadow(ui.visuals().popup_shadow)
        .inner_margin(egui::Margin::symmetric(12, 9))
        .show(ui, |ui| {
            ui.set_width(380.0);
            ui.horizontal(|ui| {
                ui.label(RichText::new(icon).color(accent).size(16.0));
                ui.add(egui::Label::new(RichText::new(sentence_case(&notice.message))).wrap());
            });
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.small_button("Dismiss").clicked() {
                        commands.push(AppCommand::DismissNotification(notice.id));
                    }
                    // Right to left: the last action sits next to Dismiss, the first leftmost.
                    for action in notice.actions.iter().rev() {
                        let button = egui::Button::new(
                            RichText::new(&action.label).strong().color(accent),
                        )
                        .small();
                        if ui.add(button).clicked() {
                            commands.push(action.command.clone());
                            commands.push(AppCommand::DismissNotification(notice.id));
                        }
                    }
                });
            });
        });
}

/// Messages are written as one lower-case line (as errors are everywhere in the crate); in a
/// notification they start with a capital, unless they start with a name that is spelled as
/// it is ("jfk.wav: …" stays as it is: only a first word of letters alone is capitalised).
fn sentence_case(message: &str) -> String {
    let first_word = message.split_whitespace().next().unwrap_or_default();
    if !first_word.chars().all(char::is_alphabetic) {
        return message.to_string();
    }
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::sentence_case;

    #[test]
    fn a_message_starts_with_a_capital_but_a_file_name_is_left_as_it_is() {
        assert_eq!(sentence_case("could not save the key"), "Could not save the key");
        assert_eq!(sentence_case("jfk.wav: sending your key"), "jfk.wav: sending your key");
        assert_eq!(sentence_case("interview_2.m4a failed"), "interview_2.m4a failed");
        assert_eq!(sentence_case(""), "");
    }
}
