//! The side panel: Record and the recording panel, the queue of files (status, progress,
//! elapsed time, cancel / retry / remove) and the transcription options that apply to the
//! files added next.

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use super::super::settings::Settings;
use super::super::state::{Job, JobStatus};
use crate::engine::cloud::CloudService;
use crate::engine::{EngineKind, SpeakerMode};
use eframe::egui::{self, RichText};
use std::time::Instant;

/// Languages offered in the picker (ISO 639-1 code, English name). "auto" detects.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("auto", "Detect automatically"),
    ("en", "English"),
    ("de", "German"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("no", "Norwegian"),
    ("fi", "Finnish"),
    ("cs", "Czech"),
    ("el", "Greek"),
    ("tr", "Turkish"),
    ("ru", "Russian"),
    ("uk", "Ukrainian"),
    ("ar", "Arabic"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("id", "Indonesian"),
    ("vi", "Vietnamese"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("zh", "Chinese"),
];

pub fn side_panel(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.heading("Files");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("🗁 Open…")
                .on_hover_text(format!(
                    "Open audio or video files ({})",
                    ui.ctx().format_shortcut(&super::SHORTCUT_OPEN)
                ))
                .clicked()
            {
                app.send(AppCommand::OpenFileDialog);
            }
            super::record_panel::record_button(app, ui);
        });
    });
    super::record_panel::record_section(app, ui);
    ui.add_space(4.0);

    let options_height = 300.0_f32.min(ui.available_height() * 0.55);
    let queue_height = (ui.available_height() - options_height).max(120.0);
    egui::ScrollArea::vertical()
        .id_salt("queue_scroll")
        .max_height(queue_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if app.state.jobs.is_empty() {
                ui.add_space(8.0);
                ui.label(
                    RichText::new("No files yet.\nDrop audio or video here, or use Open.").weak(),
                );
            }
            let now = Instant::now();
            let mut commands = Vec::new();
            for job in &app.state.jobs {
                job_card(
                    ui,
                    job,
                    app.state.selected == Some(job.id),
                    now,
                    &mut commands,
                );
                ui.add_space(4.0);
            }
            for command in commands {
                app.send(command);
            }
        });

    ui.add_space(6.0);
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("options_scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            options_ui(app, ui);
        });
}

fn status_line(job: &Job, now: Instant) -> (String, Option<egui::Color32>) {
    let elapsed = job
        .elapsed(now)
        .map(|elapsed| super::format_clock(elapsed.as_secs_f64()))
        .unwrap_or_default();
    match &job.status {
        JobStatus::Queued => ("Queued".into(), None),
        JobStatus::Running => {
            let percent = job
                .progress
                .map(|fraction| format!("{:.0}% · ", fraction * 100.0))
                .unwrap_or_default();
            (format!("Transcribing · {percent}{elapsed}"), None)
        }
        JobStatus::Cancelling => ("Cancelling…".into(), None),
        JobStatus::Done => {
            let count = job.transcript.segments.len();
            (
                format!(
                    "Done in {elapsed} · {count} segment{}",
                    if count == 1 { "" } else { "s" }
                ),
                None,
            )
        }
        JobStatus::Failed { reason } => (
            format!("Failed: {reason}"),
            Some(egui::Color32::from_rgb(0xd6, 0x45, 0x45)),
        ),
        JobStatus::Cancelled => (
            format!(
                "Cancelled · {} segments kept",
                job.transcript.segments.len()
            ),
            None,
        ),
        JobStatus::Interrupted if job.engine_name.is_none() => {
            ("Not started when Verbatim closed".into(), None)
        }
        JobStatus::Interrupted => (
            format!(
                "Not finished when Verbatim closed · {} segments kept",
                job.transcript.segments.len()
            ),
            None,
        ),
        JobStatus::Recording => (
            format!("Recording… · {}", super::format_clock(job.done_s)),
            Some(super::record_panel::RECORDING_RED),
        ),
        JobStatus::Recorded if job.transcript.segments.is_empty() => (
            format!("Recorded {} · not transcribed yet", super::format_clock(job.done_s)),
            None,
        ),
        JobStatus::Recorded => (
            format!(
                "Recorded · live text stopped early · {} segments kept",
                job.transcript.segments.len()
            ),
            None,
        ),
    }
}

fn job_card(
    ui: &mut egui::Ui,
    job: &Job,
    selected: bool,
    now: Instant,
    commands: &mut Vec<AppCommand>,
) {
    let response = ui
        .scope_builder(
            egui::UiBuilder::new()
                .id_salt(("job_card", job.id.0))
                .sense(egui::Sense::click()),
            |ui| {
                let hovered = ui.response().hovered();
                card_frame(ui.visuals(), selected, hovered).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    card_contents_ui(ui, job, now, commands);
                });
            },
        )
        .response;
    let name = job.name.clone();
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &name));
    if response.clicked() {
        commands.push(AppCommand::SelectJob(job.id));
    }
}

/// The card's background: tinted when selected, lighter under the pointer.
fn card_frame(visuals: &egui::Visuals, selected: bool, hovered: bool) -> egui::Frame {
    let fill = if selected {
        visuals.selection.bg_fill.gamma_multiply(0.35)
    } else if hovered {
        visuals.widgets.hovered.weak_bg_fill
    } else {
        visuals.faint_bg_color
    };
    let stroke = if selected {
        visuals.selection.stroke
    } else {
        egui::Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color)
    };
    egui::Frame::NONE
        .fill(fill)
        .stroke(stroke)
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 7))
}

/// Inside a card: icon and name, status, warnings, progress and the card's buttons.
fn card_contents_ui(ui: &mut egui::Ui, job: &Job, now: Instant, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        status_icon(ui, &job.status);
        ui.add(egui::Label::new(RichText::new(&job.name).strong()).truncate())
            .on_hover_text(job.path.display().to_string());
    });
    let (status, color) = status_line(job, now);
    let mut text = RichText::new(status).small();
    text = match color {
        Some(color) => text.color(color),
        None => text.weak(),
    };
    ui.add(egui::Label::new(text).wrap());
    // Warnings stay with the file after their notification has faded.
    if let Some(first) = job.warnings.first() {
        let more = match job.warnings.len() {
            1 => String::new(),
            count => format!(" (+{} more)", count - 1),
        };
        ui.add(
            egui::Label::new(
                RichText::new(format!("⚠ {first}{more}"))
                    .small()
                    .color(ui.visuals().warn_fg_color),
            )
            .truncate(),
        )
        .on_hover_text(job.warnings.join("\n"));
    }
    if job.status.is_running() {
        let bar = egui::ProgressBar::new(job.progress.unwrap_or(0.0) as f32)
            .desired_height(6.0)
            .corner_radius(3);
        let bar = if job.progress.is_none() {
            bar.animate(true)
        } else {
            bar
        };
        ui.add(bar);
    }
    ui.horizontal(|ui| card_buttons_ui(ui, job, commands));
}

fn status_icon(ui: &mut egui::Ui, status: &JobStatus) {
    match status {
        JobStatus::Running | JobStatus::Cancelling => {
            ui.add(egui::Spinner::new().size(14.0));
        }
        JobStatus::Queued => {
            ui.label(RichText::new("⏳").weak());
        }
        JobStatus::Done => {
            ui.label(RichText::new("✔").color(egui::Color32::from_rgb(0x3c, 0xa0, 0x5a)));
        }
        JobStatus::Failed { .. } => {
            ui.label(RichText::new("⚠").color(egui::Color32::from_rgb(0xd6, 0x45, 0x45)));
        }
        JobStatus::Cancelled | JobStatus::Interrupted => {
            ui.label(RichText::new("⏹").weak());
        }
        JobStatus::Recording => {
            ui.label(RichText::new("⏺").color(super::record_panel::RECORDING_RED));
        }
        JobStatus::Recorded => {
            ui.label(RichText::new("⏺").weak());
        }
    }
}

/// Cancel (while active) or run again, and remove.
fn card_buttons_ui(ui: &mut egui::Ui, job: &Job, commands: &mut Vec<AppCommand>) {
    ui.spacing_mut().item_spacing.x = 4.0;
    let small = |text: &str| egui::Button::new(RichText::new(text).small());
    if job.status == JobStatus::Recording {
        if ui
            .add(small("Stop"))
            .on_hover_text("Stop recording; the file is kept")
            .clicked()
        {
            commands.push(AppCommand::Recording(super::super::record_commands::RecordingCommand::Stop));
        }
        return;
    }
    if job.status.is_active() {
        if ui
            .add_enabled(job.status != JobStatus::Cancelling, small("Cancel"))
            .on_hover_text("Stop this file; segments so far are kept")
            .clicked()
        {
            commands.push(AppCommand::CancelJob(job.id));
        }
    } else if ui
        .add(small(match job.status {
            JobStatus::Done => "Run again",
            JobStatus::Recorded => "Transcribe",
            _ => "Retry",
        }))
        .on_hover_text("Transcribe this file again with the current options")
        .clicked()
    {
        commands.push(AppCommand::RetryJob(job.id));
    }
    if ui
        .add(small("Remove"))
        .on_hover_text("Take this file off the list")
        .clicked()
    {
        commands.push(AppCommand::RemoveJob(job.id));
    }
}

/// A label on the left, its control on the right, tied together for screen readers.
fn labelled_row<R>(
    ui: &mut egui::Ui,
    label: &str,
    add: impl FnOnce(&mut egui::Ui) -> (egui::Response, R),
) -> R {
    let label_response = ui.label(label);
    let (response, inner) = add(ui);
    response.labelled_by(label_response.id);
    ui.end_row();
    inner
}

/// The local engine's model picker, with a way to get one when it is missing.
fn local_model_rows(
    app: &mut VerbatimApp,
    ui: &mut egui::Ui,
    width: f32,
    installed: &[String],
    commands: &mut Vec<AppCommand>,
) {
    labelled_row(ui, "Model", |ui| {
        let current = app.settings.local.model.clone();
        let response = egui::ComboBox::from_id_salt("model_choice")
            .width(width)
            .truncate()
            .selected_text(current.as_str())
            .show_ui(ui, |ui| {
                for name in installed {
                    if ui
                        .selectable_label(*name == current, name.as_str())
                        .clicked()
                    {
                        commands.push(AppCommand::SelectModel(name.clone()));
                    }
                }
                if !installed.is_empty() {
                    ui.separator();
                }
                if ui.button("Manage models…").clicked() {
                    commands.push(AppCommand::ShowModelManager);
                }
            })
            .response;
        (response, ())
    });
    if app.state.models.snapshot.is_some()
        && !app.state.models.is_installed(&app.settings.local.model)
        && !std::path::Path::new(&app.settings.local.model).is_file()
    {
        ui.label("");
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new("Not installed.")
                    .small()
                    .color(ui.visuals().warn_fg_color),
            );
            if ui.link(RichText::new("Get models…").small()).clicked() {
                commands.push(AppCommand::ShowModelManager);
            }
        });
        ui.end_row();
    }
}

fn options_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    ui.add_space(4.0);
    ui.label(RichText::new("Transcription").heading().size(16.0));
    ui.label(RichText::new("Applies to files added next").small().weak());
    ui.add_space(4.0);
    let mut commands = Vec::new();
    // Controls fill what the label column leaves; the labels must fit in it, or the panel
    // would grow a little every frame.
    const LABEL_COLUMN: f32 = 112.0;
    const COLUMN_GAP: f32 = 10.0;
    let width = (ui.available_width() - LABEL_COLUMN - COLUMN_GAP - 4.0).max(120.0);
    egui::Grid::new("options_grid")
        .num_columns(2)
        .min_col_width(LABEL_COLUMN)
        .spacing([COLUMN_GAP, 8.0])
        .show(ui, |ui| options_grid_ui(app, ui, width, &mut commands));
    if let EngineKind::Cloud(service) = app.settings.engine {
        cloud_notes_ui(ui, &app.settings, service);
    }
    ui.add_space(6.0);
    if ui
        .link(RichText::new("More options and subtitle rules…").small())
        .clicked()
    {
        commands.push(AppCommand::ShowSettings);
    }
    for command in commands {
        app.send(command);
    }
}

/// The options' rows: engine, its own rows, then what every engine shares (where it offers it).
fn options_grid_ui(
    app: &mut VerbatimApp,
    ui: &mut egui::Ui,
    width: f32,
    commands: &mut Vec<AppCommand>,
) {
    engine_row(ui, &mut app.settings, width);
    match app.settings.engine {
        EngineKind::Local => {
            let installed = app.state.models.installed_names();
            local_model_rows(app, ui, width, &installed, commands);
        }
        EngineKind::Cloud(service) => {
            super::cloud::key_status_row(app, ui, service, width);
            super::cloud::service_options(ui, service, &mut app.settings.cloud, width);
        }
    }
    let settings = &mut app.settings;
    language_row(ui, settings, width);
    english_only_note(ui, settings);
    if settings.engine.splits_stereo_channels() {
        speakers_row(ui, settings, width);
    }
    if settings.engine.translates() {
        ui.label("");
        ui.checkbox(&mut settings.options.translate, "Translate to English");
        ui.end_row();
    }
    prompt_row(ui, settings, width);
}

fn engine_row(ui: &mut egui::Ui, settings: &mut Settings, width: f32) {
    labelled_row(ui, "Engine", |ui| {
        let response = egui::ComboBox::from_id_salt("engine_choice")
            .width(width)
            .truncate()
            .selected_text(settings.engine.display_name())
            .show_ui(ui, |ui| {
                for kind in EngineKind::all() {
                    ui.selectable_value(&mut settings.engine, kind, kind.display_name());
                }
            })
            .response;
        (response, ())
    });
}

/// The language picker, offering only what the engine knows (Gradium: five).
fn language_row(ui: &mut egui::Ui, settings: &mut Settings, width: f32) {
    let engine = settings.engine;
    let offered =
        |code: &str| code == "auto" || engine.languages().is_none_or(|known| known.contains(&code));
    labelled_row(ui, "Language", |ui| {
        let current = settings
            .options
            .language
            .clone()
            .unwrap_or_else(|| "auto".into());
        let current_name = LANGUAGES
            .iter()
            .find(|(code, _)| *code == current)
            .map(|(_, name)| (*name).to_string())
            .unwrap_or_else(|| current.clone());
        let response = egui::ComboBox::from_id_salt("language_choice")
            .width(width)
            .truncate()
            .selected_text(current_name)
            .height(320.0)
            .show_ui(ui, |ui| {
                for (code, name) in LANGUAGES.iter().filter(|(code, _)| offered(code)) {
                    if ui.selectable_label(current == *code, *name).clicked() {
                        settings.options.language = if *code == "auto" {
                            None
                        } else {
                            Some((*code).to_string())
                        };
                    }
                }
            })
            .response;
        (response, ())
    });
}

/// Under the language picker: the chosen local model transcribes English only.
fn english_only_note(ui: &mut egui::Ui, settings: &Settings) {
    let model = &settings.local.model;
    let english_only = crate::models::catalog::lookup(model).is_ok_and(|entry| entry.english_only);
    if settings.engine != EngineKind::Local || !english_only {
        return;
    }
    ui.label("");
    ui.label(
        RichText::new(format!("⚠ {model} is English-only:\nother languages need a multilingual model (e.g. base)"))
            .small()
            .color(ui.visuals().warn_fg_color),
    );
    ui.end_row();
}

fn speakers_row(ui: &mut egui::Ui, settings: &mut Settings, width: f32) {
    labelled_row(ui, "Speakers", |ui| {
        let label = |mode: SpeakerMode| match mode {
            SpeakerMode::None => "No labels",
            SpeakerMode::Stereo => "One per stereo channel",
            SpeakerMode::Auto => "Label speakers (by voice)",
        };
        let response = egui::ComboBox::from_id_salt("speaker_mode")
            .width(width)
            .truncate()
            .selected_text(label(settings.options.speakers))
            .show_ui(ui, |ui| {
                for mode in SpeakerMode::ALL {
                    ui.selectable_value(&mut settings.options.speakers, mode, label(mode));
                }
            })
            .response;
        (response, ())
    });
}

fn prompt_row(ui: &mut egui::Ui, settings: &mut Settings, width: f32) {
    labelled_row(ui, "Prompt", |ui| {
        let mut prompt = settings.options.prompt.clone().unwrap_or_default();
        let response = ui.add(
            egui::TextEdit::singleline(&mut prompt)
                .desired_width(width)
                .hint_text("Names, jargon…"),
        );
        if response.changed() {
            settings.options.prompt = Some(prompt).filter(|prompt| !prompt.trim().is_empty());
        }
        (
            response.on_hover_text("Words the engine should expect: names, places, jargon"),
            (),
        )
    });
}

/// Under a cloud service's options: what keeps it from running, and where the audio goes.
fn cloud_notes_ui(ui: &mut egui::Ui, settings: &Settings, service: CloudService) {
    let problem = settings.cloud.validate_for(service).err().or_else(|| {
        settings
            .engine
            .check_language(settings.options.language.as_deref())
            .err()
    });
    if let Some(problem) = problem {
        ui.add_space(4.0);
        ui.label(
            RichText::new(format!("⚠ {problem}"))
                .small()
                .color(ui.visuals().warn_fg_color),
        );
    }
    ui.label(
        RichText::new(format!(
            "The audio is sent to {}. Translation and stereo speakers are local-only.",
            service.display_name()
        ))
        .small()
        .weak(),
    );
}
