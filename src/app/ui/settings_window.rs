//! The settings window: engine tuning (threads, beam size), subtitle rules used by the SRT and
//! WebVTT exports, export preferences and the theme. Changes apply at once and are saved with
//! the window's other settings.

use super::super::VerbatimApp;
use super::super::settings::{ExportSettings, SubtitleSettings, ThemeChoice};
use eframe::egui::{self, RichText};

fn row(
    ui: &mut egui::Ui,
    label: &str,
    hint: &str,
    add: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    let label_response = ui.label(label).on_hover_text(hint);
    let response = add(ui).labelled_by(label_response.id).on_hover_text(hint);
    ui.end_row();
    response
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(6.0);
    ui.label(RichText::new(title).strong().size(15.0));
    ui.add_space(2.0);
}

pub fn settings_window(app: &mut VerbatimApp, ctx: &egui::Context) {
    if !app.windows.settings {
        return;
    }
    let mut open = true;
    egui::Window::new("Settings")
        .id(egui::Id::unique("settings_window"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_width(420.0)
        .show(ctx, |ui| {
            let settings = &mut app.settings;
            section(ui, "Engine");
            egui::Grid::new("settings_engine")
                .num_columns(2)
                .spacing([16.0, 8.0])
                .show(ui, |ui| {
                    let max_threads = std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(8)
                        .max(1);
                    row(
                        ui,
                        "CPU threads",
                        "Threads whisper.cpp uses on this computer",
                        |ui| {
                            ui.add(
                                egui::DragValue::new(&mut settings.options.threads)
                                    .range(1..=max_threads),
                            )
                        },
                    );
                    row(
                        ui,
                        "Beam size",
                        "1 is greedy decoding (fastest); 2–8 search more alternatives (slower)",
                        |ui| {
                            ui.add(egui::DragValue::new(&mut settings.local.beam_size).range(1..=8))
                        },
                    );
                    row(
                        ui,
                        "Word timings",
                        "Ask the engine for word timestamps; subtitles are cut at word boundaries",
                        |ui| ui.checkbox(&mut settings.options.word_timestamps, ""),
                    );
                });

            section(ui, "Subtitles (SRT, WebVTT)");
            egui::Grid::new("settings_subtitles")
                .num_columns(2)
                .spacing([16.0, 8.0])
                .show(ui, |ui| {
                    let rules = &mut settings.export.subtitles;
                    row(
                        ui,
                        "Characters per line",
                        "Longest subtitle line; 42 is the usual broadcast limit",
                        |ui| {
                            ui.add(
                                egui::DragValue::new(&mut rules.max_chars_per_line).range(16..=80),
                            )
                        },
                    );
                    row(
                        ui,
                        "Lines per cue",
                        "How many lines one subtitle may show at once",
                        |ui| {
                            ui.add(egui::DragValue::new(&mut rules.max_lines_per_cue).range(1..=3))
                        },
                    );
                    row(ui, "Longest cue", "A cue longer than this is split", |ui| {
                        ui.add(
                            egui::DragValue::new(&mut rules.max_cue_duration_s)
                                .range(1.0..=20.0)
                                .speed(0.1)
                                .suffix(" s"),
                        )
                    });
                    row(
                        ui,
                        "Shortest cue",
                        "Cues are kept on screen at least this long",
                        |ui| {
                            ui.add(
                                egui::DragValue::new(&mut rules.min_cue_duration_s)
                                    .range(0.2..=5.0)
                                    .speed(0.05)
                                    .suffix(" s"),
                            )
                        },
                    );
                    if rules.min_cue_duration_s > rules.max_cue_duration_s {
                        rules.min_cue_duration_s = rules.max_cue_duration_s;
                    }
                });
            if ui.small_button("Default subtitle rules").clicked() {
                settings.export.subtitles = SubtitleSettings::default();
            }

            section(ui, "Export");
            ui.checkbox(
                &mut settings.export.include_speakers,
                "Speaker names in exports",
            );
            match settings.export.last.clone() {
                Some(last) => {
                    ui.horizontal_wrapped(|ui| {
                        ui.label(
                            RichText::new(format!(
                                "Export again writes {} to {}",
                                last.kind.extension().to_uppercase(),
                                last.path.display()
                            ))
                            .small()
                            .weak(),
                        );
                        if ui.small_button("Forget").clicked() {
                            settings.export.last = None;
                        }
                    });
                }
                None => {
                    ui.label(
                        RichText::new("Export again asks for a file the first time.")
                            .small()
                            .weak(),
                    );
                }
            }

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
            ui.add_space(8.0);
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("Restore all defaults").clicked() {
                    let keep_last = settings.export.last.clone();
                    *settings = Default::default();
                    settings.export = ExportSettings {
                        last: keep_last,
                        ..ExportSettings::default()
                    };
                }
            });
        });
    if !open {
        app.windows.settings = false;
    }
}
