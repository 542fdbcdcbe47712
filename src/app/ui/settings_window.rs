//! The settings window: engine tuning (threads, beam size), the subtitle rules the SRT and
//! WebVTT exports follow, the plain-text layout, and the theme. Changes apply at once and are
//! saved with the window's other settings.

use super::super::VerbatimApp;
use super::super::settings::{ExportSettings, Settings, ThemeChoice};
use crate::export::{SubtitleRules, TextOptions};
use eframe::egui::{self, RichText};

/// One labelled setting: the label on the left (with the hint on hover), the control on the
/// right, tied together for screen readers.
pub(super) fn row(
    ui: &mut egui::Ui,
    label: &str,
    hint: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) {
    let label_response = ui.label(label).on_hover_text(hint);
    add(ui).labelled_by(label_response.id).on_hover_text(hint);
    ui.end_row();
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(8.0);
    ui.label(RichText::new(title).strong().size(15.0));
    ui.add_space(2.0);
}

fn grid(id: &str) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([18.0, 8.0])
        .min_col_width(150.0)
}

pub fn settings_window(app: &mut VerbatimApp, ctx: &egui::Context) {
    if !app.windows.settings {
        return;
    }
    let mut open = true;
    egui::Window::new("Settings")
        .id(egui::Id::unique("settings_window"))
        .pivot(egui::Align2::CENTER_TOP)
        .default_pos(ctx.content_rect().center_top() + egui::vec2(0.0, 60.0))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_width(440.0)
        .show(ctx, |ui| {
            let height = (ctx.content_rect().height() - 160.0).max(200.0);
            egui::ScrollArea::vertical()
                .max_height(height)
                .min_scrolled_height(height.min(560.0))
                .show(ui, |ui| {
                    settings_ui(app, ui);
                });
        });
    if !open {
        app.windows.settings = false;
    }
}

fn settings_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    section(ui, "Engine");
    engine_settings_ui(ui, &mut app.settings);

    section(ui, "Cloud services");
    super::cloud::cloud_settings(app, ui);
    let settings = &mut app.settings;

    section(ui, "Subtitles (SRT, WebVTT)");
    subtitle_rules_ui(ui, &mut settings.export.options.subtitles);

    section(ui, "Plain text and clipboard");
    text_layout_ui(ui, &mut settings.export.options.text);
    quote_template_ui(ui, &mut settings.export.quote_template);

    section(ui, "Export again (Ctrl+E)");
    last_export_ui(ui, &mut settings.export);

    section(ui, "Appearance");
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut settings.theme,
            ThemeChoice::System,
            "Follow the system",
        );
        ui.radio_value(&mut settings.theme, ThemeChoice::Light, "Light");
        ui.radio_value(&mut settings.theme, ThemeChoice::Dark, "Dark");
    });
    ui.add_space(10.0);
    ui.separator();
    if ui.button("Restore all defaults").clicked() {
        let keep_last = settings.export.last.clone();
        *settings = Default::default();
        settings.export = ExportSettings {
            last: keep_last,
            ..ExportSettings::default()
        };
    }
}

/// Threads, beam size, word timings and two decoders of the local engine.
fn engine_settings_ui(ui: &mut egui::Ui, settings: &mut Settings) {
    grid("settings_engine").show(ui, |ui| {
        let max_threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(8)
            .max(1);
        row(
            ui,
            "CPU threads",
            "Threads whisper.cpp uses on this computer",
            |ui| ui.add(egui::DragValue::new(&mut settings.options.threads).range(1..=max_threads)),
        );
        row(
            ui,
            "Beam size",
            "1 is greedy decoding (fastest); 2 to 8 search more alternatives (slower)",
            |ui| ui.add(egui::DragValue::new(&mut settings.local.beam_size).range(1..=8)),
        );
        row(
            ui,
            "Word timings",
            "Ask for word timestamps, so subtitles are cut between words",
            |ui| ui.checkbox(&mut settings.options.word_timestamps, ""),
        );
        row(
            ui,
            "Two decoders at once",
            "Decode the second half of each chunk at the same time: 13–21 % faster on two cores, about 170 MB more memory",
            |ui| ui.checkbox(&mut settings.options.parallel_decoders, ""),
        );
    });
}

/// The rules SRT and WebVTT cues follow, and a way back to the defaults.
fn subtitle_rules_ui(ui: &mut egui::Ui, rules: &mut SubtitleRules) {
    grid("settings_subtitles").show(ui, |ui| {
        row(ui, "Characters per line", "Longest subtitle line; 42 is the usual broadcast limit", |ui| {
            ui.add(egui::DragValue::new(&mut rules.max_chars_per_line).range(16..=80))
        });
        row(ui, "Lines per cue", "How many lines one subtitle may show at once", |ui| {
            ui.add(egui::DragValue::new(&mut rules.max_lines_per_cue).range(1..=3))
        });
        row(ui, "Longest cue", "A cue longer than this is split", |ui| {
            ui.add(egui::DragValue::new(&mut rules.max_cue_duration_s).range(1.0..=20.0).speed(0.1).suffix(" s"))
        });
        row(ui, "Shortest cue", "Cues stay on screen at least this long (extended into the silence after them)", |ui| {
            ui.add(egui::DragValue::new(&mut rules.min_cue_duration_s).range(0.2..=5.0).speed(0.05).suffix(" s"))
        });
        row(ui, "Reading speed", "Most characters per second a viewer is asked to read; faster cues are split or extended", |ui| {
            let mut limit = rules.max_chars_per_second.unwrap_or(0.0);
            let response = ui.add(
                egui::DragValue::new(&mut limit)
                    .range(0.0..=40.0)
                    .speed(0.2)
                    .custom_formatter(|value, _| if value <= 0.0 { "no limit".to_string() } else { format!("{value:.0} chars/s") }),
            );
            rules.max_chars_per_second = (limit > 0.0).then_some(limit);
            response
        });
        row(ui, "Split at pauses", "A cue never spans a pause between words longer than this", |ui| {
            ui.add(egui::DragValue::new(&mut rules.split_at_pause_s).range(0.2..=10.0).speed(0.05).suffix(" s"))
        });
        row(ui, "Speaker names", "\"Alice: \" in front of SRT cues, <v Alice> in WebVTT", |ui| {
            ui.checkbox(&mut rules.show_speakers, "")
        });
    });
    if rules.min_cue_duration_s > rules.max_cue_duration_s {
        rules.min_cue_duration_s = rules.max_cue_duration_s;
    }
    if ui.small_button("Default subtitle rules").clicked() {
        *rules = SubtitleRules::default();
    }
}

/// How plain text and the clipboard lay out paragraphs, and a way back to the defaults.
fn text_layout_ui(ui: &mut egui::Ui, text: &mut TextOptions) {
    grid("settings_text").show(ui, |ui| {
        row(
            ui,
            "Speaker names",
            "Open each paragraph with the speaker's name",
            |ui| ui.checkbox(&mut text.with_speakers, ""),
        );
        row(
            ui,
            "Timestamps",
            "Open each paragraph with its start and end time",
            |ui| ui.checkbox(&mut text.with_timestamps, ""),
        );
        row(
            ui,
            "New paragraph after",
            "A pause this long starts a new paragraph even for the same speaker",
            |ui| {
                let mut pause = text.paragraph_pause_s.unwrap_or(0.0);
                let response = ui.add(
                    egui::DragValue::new(&mut pause)
                        .range(0.0..=30.0)
                        .speed(0.1)
                        .custom_formatter(|value, _| {
                            if value <= 0.0 {
                                "speaker change only".to_string()
                            } else {
                                format!("{value:.1} s")
                            }
                        }),
                );
                text.paragraph_pause_s = (pause > 0.0).then_some(pause);
                response
            },
        );
    });
    if ui.small_button("Default text layout").clicked() {
        *text = TextOptions::default();
    }
}

/// How Copy quote (Ctrl+Shift+C on selected rows) writes each segment.
fn quote_template_ui(ui: &mut egui::Ui, template: &mut String) {
    grid("settings_quote").show(ui, |ui| {
        row(ui, "Quote format", "{time}, {speaker} and {text} are filled in for each selected segment", |ui| {
            let response = ui.add(egui::TextEdit::singleline(template).desired_width(240.0));
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Quote format"));
            response
        });
    });
    if ui.small_button("Default quote format").clicked() {
        *template = crate::transcript::quote::DEFAULT_QUOTE_TEMPLATE.to_string();
    }
}

/// Where "Export again" writes, with a way to forget it.
fn last_export_ui(ui: &mut egui::Ui, export: &mut ExportSettings) {
    match export.last.clone() {
        Some(last) => {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new(format!(
                        "Writes {} to {}",
                        last.kind.extension().to_uppercase(),
                        last.path.display()
                    ))
                    .small()
                    .weak(),
                );
                if ui.small_button("Forget").clicked() {
                    export.last = None;
                }
            });
        }
        None => {
            ui.label(
                RichText::new("Asks for a file the first time.")
                    .small()
                    .weak(),
            );
        }
    }
}
