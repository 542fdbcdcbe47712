//! The cloud services in the window: each service's options in the side panel (edited in the
//! same [`CloudOptions`] the CLI's flags fill, within the ranges and choices
//! `engine::cloud::options` defines), its key status, and the key entry and endpoints in the
//! settings window. A key typed here goes straight into a command and is forgotten by the
//! window; a stored key is never shown again, only where it is kept.

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use super::settings_window::row;
use crate::engine::cloud::keys::{ApiKey, KeySource, KeyStatus};
use crate::engine::cloud::options::{
    GRADIUM_DELAY_FRAMES, GRADIUM_PADDING_BONUS_RANGE, GRADIUM_TEMP_RANGE, GradiumOptions,
    LlmStatsOptions, NetworkOptions, POLARGRID_MODELS, POLARGRID_REGIONS,
    POLARGRID_TEMPERATURE_RANGE, PolarGridOptions, SixtyDbOptions,
};
use crate::engine::cloud::{
    CloudOptions, CloudService, PolarGridMode, PolarGridRegion, PolarGridResponseFormat,
};
use eframe::egui::{self, RichText};
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// Keys being typed, per service. Never saved anywhere; emptied when Save is pressed.
#[derive(Default)]
pub struct KeyDrafts {
    drafts: HashMap<CloudService, String>,
    /// Why the last typed key was refused before it was sent (per service).
    problems: HashMap<CloudService, String>,
}

/// A number the service may also choose itself: a box to tick, then the value.
fn optional_value<T: egui::emath::Numeric>(
    ui: &mut egui::Ui,
    value: &mut Option<T>,
    default: T,
    range: RangeInclusive<T>,
    speed: f64,
) -> egui::Response {
    // Unticked: the service chooses. Ticked: the value next to it (which the row's label
    // then names for screen readers).
    ui.horizontal(|ui| {
        let mut set = value.is_some();
        let caption = if set { "own value" } else { "service default" };
        let toggle = ui.checkbox(&mut set, caption);
        if set {
            let mut number = value.unwrap_or(default);
            let field = ui.add(egui::DragValue::new(&mut number).range(range).speed(speed));
            *value = Some(number);
            field
        } else {
            *value = None;
            toggle
        }
    })
    .inner
}

/// A text the service may do without: empty means unset.
fn optional_text(
    ui: &mut egui::Ui,
    value: &mut Option<String>,
    hint: &str,
    width: f32,
) -> egui::Response {
    let mut text = value.clone().unwrap_or_default();
    let response = ui.add(
        egui::TextEdit::singleline(&mut text)
            .desired_width(width)
            .hint_text(hint),
    );
    if response.changed() {
        *value = Some(text).filter(|text| !text.trim().is_empty());
    }
    response
}

/// A comma-separated list of codes ("en, hi"). The typed text is kept while it means the
/// same list, so a trailing comma does not vanish under the cursor.
fn code_list(
    ui: &mut egui::Ui,
    values: &mut Vec<String>,
    hint: &str,
    width: f32,
) -> egui::Response {
    fn parse(text: &str) -> Vec<String> {
        text.split(',')
            .map(|code| code.trim().to_ascii_lowercase())
            .filter(|code| !code.is_empty())
            .collect()
    }
    let id = egui::Id::unique(("code_list_draft", hint));
    let mut draft = ui
        .data(|data| data.get_temp::<String>(id))
        .filter(|draft| parse(draft) == *values)
        .unwrap_or_else(|| values.join(", "));
    let response = ui.add(
        egui::TextEdit::singleline(&mut draft)
            .desired_width(width)
            .hint_text(hint),
    );
    if response.changed() {
        *values = parse(&draft);
    }
    ui.data_mut(|data| data.insert_temp(id, draft));
    response
}

fn combo<T: PartialEq + Clone>(
    ui: &mut egui::Ui,
    id: &str,
    width: f32,
    value: &mut T,
    choices: &[(T, String)],
) -> egui::Response {
    let selected = choices
        .iter()
        .find(|(choice, _)| choice == value)
        .map(|(_, label)| label.clone())
        .unwrap_or_default();
    egui::ComboBox::from_id_salt(id)
        .width(width)
        .truncate()
        .selected_text(selected)
        .show_ui(ui, |ui| {
            for (choice, label) in choices {
                ui.selectable_value(value, choice.clone(), label.as_str());
            }
        })
        .response
}

/// An id typed freely, with a menu of the known ones beside it (`choices`, the default first).
/// The field is the returned response; the menu is named `menu_name` for screen readers.
fn text_with_choices(
    ui: &mut egui::Ui,
    menu_name: &str,
    width: f32,
    value: &mut String,
    choices: &[&str],
) -> egui::Response {
    ui.horizontal(|ui| {
        // The menu button is its text width plus the arrow icon and the button's padding; the
        // field gets what is left, so the row never asks for more than `width` (a row wider
        // than the grid's column would widen the side panel frame after frame).
        let spacing = ui.spacing();
        let menu_width = spacing.interact_size.y;
        let menu_outer_width = menu_width + spacing.icon_width + spacing.icon_spacing + 2.0 * spacing.button_padding.x;
        let text_margin = 16.0; // the theme's frame margin and stroke on both sides of the field
        let field_width = (width - menu_outer_width - text_margin - 2.0 * spacing.item_spacing.x).max(40.0);
        let field = ui.add(
            egui::TextEdit::singleline(value)
                .desired_width(field_width)
                .hint_text(choices.first().copied().unwrap_or_default()),
        );
        let menu = egui::ComboBox::from_id_salt(menu_name)
            .width(menu_width)
            .selected_text("")
            .show_ui(ui, |ui| {
                for choice in choices {
                    ui.selectable_value(value, choice.to_string(), *choice);
                }
            })
            .response;
        menu.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, menu_name));
        menu.on_hover_text(menu_name);
        field
    })
    .inner
}

/// The chosen service's options, as rows of the side panel's options grid.
pub fn service_options(
    ui: &mut egui::Ui,
    service: CloudService,
    options: &mut CloudOptions,
    width: f32,
) {
    match service {
        CloudService::Gradium => gradium_options(ui, &mut options.gradium, width),
        CloudService::PolarGrid => {
            polargrid_model_options(ui, &mut options.polargrid, width);
            polargrid_decoding_options(ui, &mut options.polargrid, width);
        }
        CloudService::LlmStats => llmstats_options(ui, &mut options.llmstats, width),
        CloudService::SixtyDb => {
            sixtydb_speaker_options(ui, &mut options.sixtydb);
            sixtydb_text_options(ui, &mut options.sixtydb, width);
        }
    }
}

fn gradium_options(ui: &mut egui::Ui, gradium: &mut GradiumOptions, width: f32) {
    row(
        ui,
        "Model",
        "Gradium's model name (\"default\" unless told otherwise)",
        |ui| ui.add(egui::TextEdit::singleline(&mut gradium.model).desired_width(width)),
    );
    row(ui, "Temperature", "Sampling temperature, 0 to 1", |ui| {
        optional_value(ui, &mut gradium.temp, 0.0, GRADIUM_TEMP_RANGE, 0.01)
    });
    row(
        ui,
        "Padding bonus",
        "Bias towards emitting text, -4 to 4",
        |ui| {
            optional_value(
                ui,
                &mut gradium.padding_bonus,
                0.0,
                GRADIUM_PADDING_BONUS_RANGE,
                0.05,
            )
        },
    );
    let mut delays = vec![(None, "Service default".to_string())];
    delays.extend(GRADIUM_DELAY_FRAMES.iter().map(|&frames| {
        (
            Some(frames),
            format!("{frames} frames ({} ms)", frames * 80),
        )
    }));
    row(
        ui,
        "Look-ahead",
        "How far ahead the model listens before it writes",
        |ui| {
            combo(
                ui,
                "gradium_delay",
                width,
                &mut gradium.delay_in_frames,
                &delays,
            )
        },
    );
}

/// PolarGrid's model, mode and region: what runs where.
fn polargrid_model_options(ui: &mut egui::Ui, polargrid: &mut PolarGridOptions, width: f32) {
    row(
        ui,
        "Model",
        "The model PolarGrid runs: a known one from the menu, or any id its edge serves",
        |ui| {
            text_with_choices(
                ui,
                "Known PolarGrid models",
                width,
                &mut polargrid.model,
                &POLARGRID_MODELS,
            )
        },
    );
    let modes = [
        (PolarGridMode::Async, "Job, with timestamps".to_string()),
        (PolarGridMode::Sync, "One request".to_string()),
        (
            PolarGridMode::Stream,
            "Live text (no timestamps)".to_string(),
        ),
    ];
    row(
        ui,
        "Mode",
        "Job: submit and poll (best for long files). Live text: the words appear as they are recognised, but without times",
        |ui| combo(ui, "polargrid_mode", width, &mut polargrid.mode, &modes),
    );
    let mut regions = vec![(PolarGridRegion::Auto, "Nearest (automatic)".to_string())];
    regions.extend(POLARGRID_REGIONS.iter().map(|region| {
        (
            PolarGridRegion::Fixed(region.to_string()),
            region.to_string(),
        )
    }));
    row(
        ui,
        "Region",
        "Which PolarGrid edge receives the audio",
        |ui| {
            combo(
                ui,
                "polargrid_region",
                width,
                &mut polargrid.region,
                &regions,
            )
        },
    );
}

/// PolarGrid's result format (not for live text), temperature and punctuation.
fn polargrid_decoding_options(ui: &mut egui::Ui, polargrid: &mut PolarGridOptions, width: f32) {
    if polargrid.mode != PolarGridMode::Stream {
        let formats = [
            (
                PolarGridResponseFormat::VerboseJson,
                "Segments with times".to_string(),
            ),
            (
                PolarGridResponseFormat::Json,
                "Text only (JSON)".to_string(),
            ),
            (PolarGridResponseFormat::Text, "Text only".to_string()),
            (PolarGridResponseFormat::Srt, "SRT".to_string()),
            (PolarGridResponseFormat::Vtt, "WebVTT".to_string()),
        ];
        row(
            ui,
            "Result",
            "What PolarGrid sends back; only segments have times",
            |ui| {
                combo(
                    ui,
                    "polargrid_format",
                    width,
                    &mut polargrid.response_format,
                    &formats,
                )
            },
        );
    }
    row(ui, "Temperature", "Sampling temperature, 0 to 1", |ui| {
        optional_value(
            ui,
            &mut polargrid.temperature,
            0.0,
            POLARGRID_TEMPERATURE_RANGE,
            0.01,
        )
    });
    let punctuation = [
        (None, "Model decides".to_string()),
        (Some(true), "On".to_string()),
        (Some(false), "Off".to_string()),
    ];
    row(ui, "Punctuation", "Force or forbid punctuation", |ui| {
        combo(
            ui,
            "polargrid_punctuation",
            width,
            &mut polargrid.punctuation,
            &punctuation,
        )
    });
}

fn llmstats_options(ui: &mut egui::Ui, llmstats: &mut LlmStatsOptions, width: f32) {
    row(
        ui,
        "Model",
        "The gateway's model id (whisper-1, deepgram-nova-3…)",
        |ui| {
            ui.add(
                egui::TextEdit::singleline(&mut llmstats.model_id)
                    .desired_width(width)
                    .hint_text("whisper-1"),
            )
        },
    );
    row(
        ui,
        "Provider",
        "Send to one provider, bypassing the gateway's router",
        |ui| optional_text(ui, &mut llmstats.provider_id, "Gateway chooses", width),
    );
}

/// 60db's speaker labels and the speaker counts they may be told (unset when labels are off).
fn sixtydb_speaker_options(ui: &mut egui::Ui, sixtydb: &mut SixtyDbOptions) {
    row(ui, "Speakers", "Label who speaks (costs 30 % more)", |ui| {
        ui.checkbox(&mut sixtydb.diarize, "Label speakers")
    });
    if sixtydb.diarize {
        row(ui, "Fewest", "Fewest speakers expected", |ui| {
            optional_value(ui, &mut sixtydb.min_speakers, 2, 1..=32, 0.1)
        });
        row(ui, "Most", "Most speakers expected", |ui| {
            optional_value(ui, &mut sixtydb.max_speakers, 2, 1..=32, 0.1)
        });
    } else {
        sixtydb.min_speakers = None;
        sixtydb.max_speakers = None;
    }
}

/// 60db's languages, context, keywords and the per-word and script options.
fn sixtydb_text_options(ui: &mut egui::Ui, sixtydb: &mut SixtyDbOptions, width: f32) {
    row(
        ui,
        "Candidates",
        "Languages to choose from when detecting, e.g. en, hi",
        |ui| code_list(ui, &mut sixtydb.languages, "any language", width),
    );
    row(
        ui,
        "Context",
        "Describe the session (domain, names) for a refinement pass; the prompt is used when empty",
        |ui| optional_text(ui, &mut sixtydb.context, "Uses the prompt", width),
    );
    row(
        ui,
        "Keywords",
        "Words to boost, e.g. Acme:5, XYZ Pharma:8, off-side (weights up to 10)",
        |ui| optional_text(ui, &mut sixtydb.keywords, "Acme:5, off-side", width),
    );
    row(ui, "Confidence", "A confidence for every word", |ui| {
        ui.checkbox(&mut sixtydb.include_confidence, "Per word")
    });
    row(
        ui,
        "Script",
        "Devanagari / Latin normalisation for code-mixed audio",
        |ui| ui.checkbox(&mut sixtydb.script_correction, "Correct mixed scripts"),
    );
}

/// Where a key comes from, in a few words ("Saved in the system keyring").
pub fn describe_status(status: &KeyStatus) -> String {
    match &status.active {
        Some(KeySource::Keyring) => "Saved in the system keyring".into(),
        Some(KeySource::File(_)) => "Saved in Verbatim's private key file".into(),
        Some(KeySource::Environment(var)) => format!("From {var}"),
        None => "No key yet".into(),
    }
}

/// The side panel's key line for the chosen service: where the key is, or a way to add one.
///
/// One line whatever the status says (cut short, in full on hover): the status arrives from
/// the runtime a moment after the window opens, and a row that grew by a line then would move
/// every option below it under a click already on its way.
pub fn key_status_row(app: &mut VerbatimApp, ui: &mut egui::Ui, service: CloudService, width: f32) {
    if !app.state.keys.requested {
        app.send(AppCommand::RefreshKeys);
    }
    ui.label("API key");
    let status = app.state.keys.status(service);
    let has_key = status.is_some_and(|status| status.active.is_some());
    let (text, full) = match status.map(describe_status) {
        Some(described) if has_key => (RichText::new(format!("✔ {described}")), described),
        Some(described) => (RichText::new(&described).color(ui.visuals().warn_fg_color), described),
        None => (RichText::new("Checking…").weak(), "Looking for a stored key".to_string()),
    };
    let link = if has_key { "Change…" } else { "Enter key…" };
    let small_font = egui::TextStyle::Small.resolve(ui.style());
    let link_width = ui.painter().layout_no_wrap(link.to_string(), small_font, egui::Color32::WHITE).size().x;
    ui.horizontal(|ui| {
        let status_width = (width - link_width - ui.spacing().item_spacing.x).max(40.0);
        ui.scope(|ui| {
            ui.set_max_width(status_width);
            ui.add(egui::Label::new(text.small()).truncate()).on_hover_text(full);
        });
        let button = ui.link(RichText::new(link).small());
        if button.clicked() {
            app.send(AppCommand::ShowKeyEntry(service));
        }
    });
    ui.end_row();
}

/// The settings window's section for the cloud services: a key entry and an endpoint for
/// each, and the network limits they share.
pub fn cloud_settings(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    key_store_notes(app, ui);
    let mut commands = Vec::new();
    for service in CloudService::ALL {
        ui.add_space(4.0);
        ui.label(RichText::new(service.display_name()).strong());
        egui::Grid::new(("cloud_settings", service.id()))
            .num_columns(2)
            .spacing([18.0, 6.0])
            .min_col_width(150.0)
            .show(ui, |ui| {
                key_entry(app, ui, service, &mut commands);
                let endpoint = app.settings.cloud.endpoint_mut(service);
                row(
                    ui,
                    "Endpoint",
                    &format!(
                        "Base URL instead of {} (https, or http to this computer)",
                        service.default_base_url()
                    ),
                    |ui| optional_text(ui, endpoint, service.default_base_url(), 250.0),
                );
            });
    }
    ui.add_space(6.0);
    ui.label(RichText::new("Network").strong());
    network_settings(ui, &mut app.settings.cloud.network);
    for command in commands {
        app.send(command);
    }
}

/// Where keys are kept when there is no keyring, and the last key error.
fn key_store_notes(app: &VerbatimApp, ui: &mut egui::Ui) {
    if let Some(reason) = app
        .state
        .keys
        .snapshot
        .as_ref()
        .and_then(|snapshot| snapshot.keyring_unavailable_reason.clone())
    {
        ui.label(
            RichText::new(
                "No system keyring is running here, so keys are kept in a file only you can read.",
            )
            .small()
            .weak(),
        )
        .on_hover_text(reason);
    }
    if let Some(error) = &app.state.keys.error {
        ui.label(
            RichText::new(error)
                .small()
                .color(ui.visuals().error_fg_color),
        );
    }
}

/// The timeouts and attempts every service's requests share.
fn network_settings(ui: &mut egui::Ui, network: &mut NetworkOptions) {
    egui::Grid::new("cloud_network")
        .num_columns(2)
        .spacing([18.0, 6.0])
        .min_col_width(150.0)
        .show(ui, |ui| {
            fn seconds(value: &mut f64, range: RangeInclusive<f64>) -> egui::DragValue<'_> {
                egui::DragValue::new(value)
                    .range(range)
                    .speed(0.5)
                    .suffix(" s")
            }
            row(
                ui,
                "Connect timeout",
                "Longest wait to reach a service",
                |ui| ui.add(seconds(&mut network.connect_timeout_s, 1.0..=120.0)),
            );
            row(
                ui,
                "Response timeout",
                "Longest wait for a service to answer after the upload",
                |ui| ui.add(seconds(&mut network.response_timeout_s, 10.0..=7200.0)),
            );
            row(
                ui,
                "Idle timeout",
                "Longest silence while a result streams in",
                |ui| ui.add(seconds(&mut network.idle_timeout_s, 5.0..=3600.0)),
            );
            row(
                ui,
                "Attempts",
                "Tries per request after rate limits, outages or dropped connections",
                |ui| ui.add(egui::DragValue::new(&mut network.max_attempts).range(1..=10)),
            );
        });
}

/// One service's key: where it is kept, a hidden field for a new one, Save and Remove.
fn key_entry(
    app: &mut VerbatimApp,
    ui: &mut egui::Ui,
    service: CloudService,
    commands: &mut Vec<AppCommand>,
) {
    let status = app.state.keys.status(service).cloned();
    let label = ui
        .label(format!("{} key", service.display_name()))
        .on_hover_text(format!(
            "Kept in the system keyring (or a file only you can read); {} overrides it",
            service.key_env_var()
        ));
    ui.vertical(|ui| {
        key_source_lines(ui, status.as_ref());
        ui.horizontal(|ui| {
            key_field_and_save(app, ui, service, status.as_ref(), label.id, commands);
            remove_key_button(app, ui, service, status.as_ref(), commands);
        });
        if let Some(problem) = app.key_drafts.problems.get(&service) {
            ui.label(
                RichText::new(problem)
                    .small()
                    .color(ui.visuals().error_fg_color),
            );
        }
    });
    ui.end_row();
}

/// Where the key in use comes from, and a stored key the environment hides.
fn key_source_lines(ui: &mut egui::Ui, status: Option<&KeyStatus>) {
    let described = status
        .map(describe_status)
        .unwrap_or_else(|| "Checking…".into());
    ui.label(RichText::new(described).small().weak());
    if let Some(shadowed) = status.and_then(|status| status.shadowed.as_ref()) {
        ui.label(
            RichText::new(format!(
                "(a key in {shadowed} is not used while the variable is set)"
            ))
            .small()
            .weak(),
        );
    }
}

/// The hidden field for a new key and its Save button (Enter saves too).
fn key_field_and_save(
    app: &mut VerbatimApp,
    ui: &mut egui::Ui,
    service: CloudService,
    status: Option<&KeyStatus>,
    label: egui::Id,
    commands: &mut Vec<AppCommand>,
) {
    let busy = app.state.keys.busy.contains(&service);
    let draft = app.key_drafts.drafts.entry(service).or_default();
    let field = ui.add_enabled(
        !busy,
        egui::TextEdit::singleline(draft)
            .password(true)
            .desired_width(170.0)
            .hint_text(if status.is_some_and(|s| s.active.is_some()) {
                "Paste a new key"
            } else {
                "Paste your key"
            }),
    );
    let field = field.labelled_by(label);
    if app.windows.focus_key == Some(service) {
        field.request_focus();
        field.scroll_to_me(Some(egui::Align::Center));
        app.windows.focus_key = None;
    }
    let submitted = field.lost_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter));
    let can_save = !busy && !draft.trim().is_empty();
    let save = ui
        .add_enabled(can_save, egui::Button::new("Save"))
        .on_hover_text(format!("Keep this {} key", service.display_name()));
    if (save.clicked() || (submitted && can_save))
        && let Some(typed) = app.key_drafts.drafts.remove(&service)
    {
        match ApiKey::new(typed) {
            Ok(key) => {
                app.key_drafts.problems.remove(&service);
                commands.push(AppCommand::SaveKey { service, key });
            }
            Err(error) => {
                app.key_drafts
                    .problems
                    .insert(service, format!("{error}; nothing was saved"));
            }
        }
    }
}

/// Remove, for a key kept in the keyring or the key file (not one from the environment).
fn remove_key_button(
    app: &VerbatimApp,
    ui: &mut egui::Ui,
    service: CloudService,
    status: Option<&KeyStatus>,
    commands: &mut Vec<AppCommand>,
) {
    let busy = app.state.keys.busy.contains(&service);
    let stored = status.is_some_and(|status| {
        matches!(
            status.active.as_ref().or(status.shadowed.as_ref()),
            Some(KeySource::Keyring | KeySource::File(_))
        )
    });
    if ui
        .add_enabled(stored && !busy, egui::Button::new("Remove"))
        .on_hover_text(format!("Forget the saved {} key", service.display_name()))
        .clicked()
    {
        commands.push(AppCommand::RemoveKey(service));
    }
}
