//! The recording panel, at the top of the side panel: the Record button, the input and
//! live-engine pickers (chosen before a recording starts), and while recording the level
//! meter with clipping, elapsed time, file size, overruns, the recorder's warnings, how live
//! transcription goes, and pause / resume / stop. It only reads the state and sends
//! [`RecordingCommand`]s; the recording itself runs on the background runtime.

use super::super::VerbatimApp;
use super::super::commands::AppCommand;
use super::super::record_commands::RecordingCommand;
use super::super::recording::{DeviceList, LiveState, RecordingPhase};
use crate::engine::EngineKind;
use crate::record::{ChannelLevel, RecorderState, RecorderStatus};
use eframe::egui::{self, Color32, RichText};

/// Red of the recording dot and of clipping.
pub const RECORDING_RED: Color32 = Color32::from_rgb(0xd6, 0x45, 0x45);
/// The meter's scale: this many dB below full scale is its left end.
const METER_FLOOR_DB: f32 = -60.0;
const METER_HEIGHT: f32 = 9.0;

/// Record (idle), or Stop (recording), for the side panel's header row and the status bar.
pub fn record_button(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let shortcut = ui.ctx().format_shortcut(&super::SHORTCUT_RECORD);
    let phase = app.state.recording.phase;
    let (text, name, enabled, hover) = match phase {
        RecordingPhase::Idle => ("⏺ Record", "Record", true, format!("Record from the chosen input ({shortcut})")),
        RecordingPhase::Starting { .. } => ("Starting…", "Record", false, String::new()),
        RecordingPhase::Active { .. } => ("■ Stop", "Stop recording", true, format!("Stop; the file is kept ({shortcut})")),
        RecordingPhase::Stopping { .. } => ("Stopping…", "Stop recording", false, String::new()),
    };
    let button = egui::Button::new(RichText::new(text).color(RECORDING_RED).strong());
    let response = ui.add_enabled(enabled, button).on_hover_text(hover);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, name));
    if response.clicked() {
        let command = match phase {
            RecordingPhase::Idle => RecordingCommand::Start,
            _ => RecordingCommand::Stop,
        };
        app.send(AppCommand::Recording(command));
    }
}

/// The panel under the header row: the options while idle, the recording's card while it runs.
pub fn record_section(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    match app.state.recording.phase {
        RecordingPhase::Idle => options_ui(app, ui),
        RecordingPhase::Starting { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(RichText::new("Opening the input…").weak());
            });
        }
        RecordingPhase::Active { .. } | RecordingPhase::Stopping { .. } => recording_card(app, ui),
    }
}

/// "Default input", a device's name, or a file played as a microphone.
fn device_label(app: &VerbatimApp, device: Option<&str>) -> String {
    let Some(device) = device else { return "Default input".to_string() };
    if let Some(path) = device.strip_prefix(crate::record::FILE_DEVICE_PREFIX) {
        return format!("{} (a file played as the microphone)", super::super::state::display_name(std::path::Path::new(path)));
    }
    match &app.state.recording.devices {
        DeviceList::Listed(devices) => devices
            .iter()
            .find(|listed| listed.id == device)
            .map(|listed| listed.name.clone())
            .unwrap_or_else(|| format!("{device} (not connected: the default input is used)")),
        _ => device.to_string(),
    }
}

/// The live engine's entry in the picker.
fn live_label(kind: Option<EngineKind>) -> String {
    match kind {
        None => "Off".to_string(),
        Some(EngineKind::Local) => "Local (whisper.cpp, offline)".to_string(),
        Some(kind) if kind.streams_live() => kind.display_name().to_string(),
        Some(kind) => format!("{} — transcribed from the file when it stops", kind.display_name()),
    }
}

/// The choices made before recording: input, the output's monitor, the live engine.
fn options_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let mut commands = Vec::new();
    let summary = format!(
        "Recording · {} · live text: {}",
        device_label(app, app.chosen_input_device().as_deref()),
        live_label(app.settings.recording.live).split(" — ").next().unwrap_or_default()
    );
    egui::CollapsingHeader::new(RichText::new(summary).small())
        .id_salt("recording_options")
        .default_open(false)
        .show(ui, |ui| {
            if app.state.recording.devices == DeviceList::NotListed {
                commands.push(AppCommand::Recording(RecordingCommand::RefreshDevices));
            }
            ui.set_max_width(ui.available_width());
            device_picker(app, ui, &mut commands);
            monitor_option(app, ui);
            live_picker(app, ui);
            live_note(app, ui, &mut commands);
        });
    for command in commands {
        app.send(command);
    }
}

fn device_picker(app: &VerbatimApp, ui: &mut egui::Ui, commands: &mut Vec<AppCommand>) {
    let chosen = app.chosen_input_device();
    let mut entries: Vec<(Option<String>, String)> = vec![(None, device_label(app, None))];
    if let Some(device) = &app.state.recording.command_line_device {
        entries.push((Some(device.clone()), device_label(app, Some(device))));
    }
    if let DeviceList::Listed(devices) = &app.state.recording.devices {
        for device in devices {
            let suffix = match (device.is_default, device.is_monitor) {
                (true, _) => " (default)",
                (_, true) => " (what the output plays)",
                _ => "",
            };
            entries.push((Some(device.id.clone()), format!("{}{suffix}", device.name)));
        }
    }
    ui.horizontal(|ui| {
        let label = ui.label("Input");
        egui::ComboBox::from_id_salt("input_device")
            .width((ui.available_width() - 30.0).max(120.0))
            .truncate()
            .selected_text(device_label(app, chosen.as_deref()))
            .show_ui(ui, |ui| {
                for (device, name) in &entries {
                    if ui.selectable_label(*device == chosen, name.as_str()).clicked() {
                        commands.push(AppCommand::Recording(RecordingCommand::ChooseDevice(device.clone())));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        if ui.small_button("⟳").on_hover_text("Look for input devices again").clicked() {
            commands.push(AppCommand::Recording(RecordingCommand::RefreshDevices));
        }
    });
    match &app.state.recording.devices {
        DeviceList::Listing => {
            ui.label(RichText::new("Looking for input devices…").small().weak());
        }
        DeviceList::Failed(reason) => {
            ui.label(RichText::new(format!("⚠ {reason}")).small().color(ui.visuals().warn_fg_color));
        }
        _ => {}
    }
}

fn monitor_option(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let unavailable = app.state.recording.monitor_unavailable_reason();
    let mut checked = app.records_monitor() && unavailable.is_none();
    let checkbox = egui::Checkbox::new(&mut checked, "Also record the system's output (Me / Them)");
    let response = ui.add_enabled(unavailable.is_none(), checkbox);
    let response = match &unavailable {
        Some(reason) => response.on_disabled_hover_text(reason.as_str()),
        None => response.on_hover_text("Your microphone as channel 1 (Me) and what the computer plays as channel 2 (Them), for calls"),
    };
    if response.changed() {
        app.settings.recording.with_monitor = checked;
    }
    if let Some(reason) = unavailable.filter(|_| matches!(app.state.recording.devices, DeviceList::Listed(_))) {
        ui.label(RichText::new(reason).small().weak());
    }
}

fn live_picker(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = ui.label("Live text");
        let current = app.settings.recording.live;
        let choices = std::iter::once(None).chain(EngineKind::all().into_iter().map(Some));
        egui::ComboBox::from_id_salt("live_engine")
            .width(ui.available_width().max(120.0))
            .truncate()
            .selected_text(live_label(current))
            .show_ui(ui, |ui| {
                for choice in choices {
                    ui.selectable_value(&mut app.settings.recording.live, choice, live_label(choice));
                }
            })
            .response
            .labelled_by(label.id);
    });
}

/// Under the live picker: what the choice means, and what keeps it from working.
fn live_note(app: &mut VerbatimApp, ui: &mut egui::Ui, commands: &mut Vec<AppCommand>) {
    let note = match app.settings.recording.live {
        None => format!("No live text: the file is transcribed with {} when the recording stops.", app.engine_spec().label()),
        Some(EngineKind::Local) => format!("Text appears as people speak, on this computer ({}).", app.settings.local.model),
        Some(EngineKind::Cloud(service)) if EngineKind::Cloud(service).streams_live() => {
            format!("The audio goes to {} as it is recorded.", service.display_name())
        }
        Some(EngineKind::Cloud(service)) => format!(
            "{} has no live transport: the recording is transcribed from the file when it stops.",
            service.display_name()
        ),
    };
    ui.label(RichText::new(note).small().weak());
    if let Some(EngineKind::Cloud(service)) = app.settings.recording.live {
        if !app.state.keys.requested {
            commands.push(AppCommand::RefreshKeys);
        }
        if app.state.keys.has_key(service) == Some(false) {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("⚠ No {} key yet.", service.display_name())).small().color(ui.visuals().warn_fg_color));
                if ui.link(RichText::new("Enter one…").small()).clicked() {
                    commands.push(AppCommand::ShowKeyEntry(service));
                }
            });
        }
    }
}

/// The running recording: state, time, size, meter, live text, warnings, buttons.
fn recording_card(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let view = &app.state.recording;
    let stopping = matches!(view.phase, RecordingPhase::Stopping { .. });
    let mut commands = Vec::new();
    egui::Frame::NONE
        .fill(RECORDING_RED.gamma_multiply(0.08))
        .stroke(egui::Stroke::new(1.0, RECORDING_RED.gamma_multiply(0.6)))
        .corner_radius(6)
        .inner_margin(egui::Margin::symmetric(10, 7))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            if let Some(status) = &view.status {
                status_header_ui(ui, status, stopping);
                levels_ui(ui, status, view.with_monitor);
            } else {
                ui.label(RichText::new("Waiting for the input…").weak());
            }
            if let Some(live) = &view.live {
                live_state_ui(ui, live, stopping);
            }
            for warning in &view.warnings {
                ui.label(RichText::new(format!("⚠ {warning}")).small().color(ui.visuals().warn_fg_color));
            }
            if let Some(reason) = &view.stopped_because {
                ui.label(RichText::new(format!("⛔ {reason}")).small().color(RECORDING_RED));
            }
            ui.horizontal(|ui| control_buttons_ui(ui, view.status.as_ref(), stopping, &mut commands));
        });
    for command in commands {
        app.send(command);
    }
}

/// `⏺ Recording  1:23  2.1 MB`, the device and its format, and lost frames if any.
fn status_header_ui(ui: &mut egui::Ui, status: &RecorderStatus, stopping: bool) {
    let (marker, what) = match status.state {
        _ if stopping => ("■", "Finishing".to_string()),
        RecorderState::WaitingForAudio => ("…", format!("Waiting for sound from {}", status.device_name)),
        RecorderState::Recording => ("⏺", "Recording".to_string()),
        RecorderState::Paused => ("⏸", "Paused".to_string()),
        RecorderState::Finished => ("■", "Finishing".to_string()),
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(marker).color(RECORDING_RED).strong());
        ui.label(RichText::new(what).strong());
        ui.label(RichText::new(super::format_clock(status.recorded_s)).monospace());
        ui.label(RichText::new(super::format_bytes(status.file_bytes)).weak());
    });
    let channels = match status.format.channel_count {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        count => format!("{count} channels"),
    };
    let format = format!("{} · {:.1} kHz {channels}", status.device_name, f64::from(status.format.sample_rate_hz) / 1000.0);
    ui.add(egui::Label::new(RichText::new(format).small().weak()).truncate());
    if status.overrun_frames > 0 {
        let lost_s = status.overrun_frames as f64 / f64::from(status.format.sample_rate_hz.max(1));
        ui.label(
            RichText::new(format!("⚠ {lost_s:.1} s of audio lost: the computer could not keep up ({} frames)", status.overrun_frames))
                .small()
                .color(ui.visuals().warn_fg_color),
        );
    }
}

/// One meter per channel ("Me" / "Them" when the output's monitor is the second channel).
fn levels_ui(ui: &mut egui::Ui, status: &RecorderStatus, with_monitor: bool) {
    let names: Vec<&str> = match status.levels.len() {
        1 => vec![""],
        2 if with_monitor => vec!["Me", "Them"],
        2 => vec!["L", "R"],
        count => (0..count).map(|_| "").collect(),
    };
    for (level, name) in status.levels.iter().zip(names) {
        ui.horizontal(|ui| meter_ui(ui, name, level));
    }
    if status.clipped_samples > 0 {
        ui.label(
            RichText::new(format!("{} samples clipped: move away from the microphone or turn its gain down", status.clipped_samples))
                .small()
                .color(RECORDING_RED),
        );
    }
}

/// Linear full scale to dBFS, floored at the meter's left end.
fn to_db(linear: f32) -> f32 {
    (20.0 * linear.max(1e-6).log10()).max(METER_FLOOR_DB)
}

/// A bar: RMS filled, the peak as a tick, red once clipping; its accessible label says the level.
fn meter_ui(ui: &mut egui::Ui, name: &str, level: &ChannelLevel) {
    if !name.is_empty() {
        ui.add_sized([36.0, METER_HEIGHT + 6.0], egui::Label::new(RichText::new(name).small()));
    }
    let clip_width = 34.0;
    let width = (ui.available_width() - clip_width).max(60.0);
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, METER_HEIGHT), egui::Sense::hover());
    let fraction = |db: f32| (db - METER_FLOOR_DB) / -METER_FLOOR_DB;
    let (rms_db, peak_db) = (to_db(level.rms), to_db(level.peak));
    let visuals = ui.visuals();
    let fill = if level.clipping {
        RECORDING_RED
    } else if peak_db > -6.0 {
        Color32::from_rgb(0xe0, 0xb0, 0x30)
    } else {
        Color32::from_rgb(0x3c, 0xa0, 0x5a)
    };
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, visuals.extreme_bg_color);
    let rms_rect = egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * fraction(rms_db), rect.height()));
    painter.rect_filled(rms_rect, 2.0, fill);
    let peak_x = rect.left() + rect.width() * fraction(peak_db);
    painter.line_segment([egui::pos2(peak_x, rect.top()), egui::pos2(peak_x, rect.bottom())], egui::Stroke::new(2.0, fill));
    let clipping = if level.clipping { ", clipping" } else { "" };
    let label = format!("Input level {name} {peak_db:.0} dB{clipping}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, &label));
    let clip = RichText::new("CLIP").small().strong();
    ui.label(if level.clipping { clip.color(RECORDING_RED) } else { clip.color(visuals.weak_text_color().gamma_multiply(0.4)) });
}

/// How live transcription goes, in one line.
fn live_state_ui(ui: &mut egui::Ui, live: &LiveState, stopping: bool) {
    let (text, color) = match live {
        LiveState::Running { engine, .. } if stopping => (format!("Live text ({engine}): waiting for the last words…"), None),
        LiveState::Running { engine, behind_s: Some(behind_s) } if *behind_s >= 1.0 => {
            (format!("Live text ({engine}) · {behind_s:.1} s behind"), None)
        }
        LiveState::Running { engine, .. } => (format!("Live text ({engine})"), None),
        LiveState::Finished { engine } => (format!("Live text ({engine}) finished"), None),
        LiveState::Failed { engine, reason } => (
            format!("⛔ Live text ({engine}) stopped: {reason}. The recording goes on; transcribe the file when it stops."),
            Some(RECORDING_RED),
        ),
    };
    let text = RichText::new(text).small();
    ui.add(egui::Label::new(match color {
        Some(color) => text.color(color),
        None => text.weak(),
    }).wrap());
}

fn control_buttons_ui(ui: &mut egui::Ui, status: Option<&RecorderStatus>, stopping: bool, commands: &mut Vec<AppCommand>) {
    let paused = status.is_some_and(|status| status.state == RecorderState::Paused);
    let can_pause = !stopping && status.is_some_and(|status| matches!(status.state, RecorderState::Recording | RecorderState::Paused));
    let (label, command) = if paused { ("▶ Resume", RecordingCommand::Resume) } else { ("⏸ Pause", RecordingCommand::Pause) };
    let pause = ui.add_enabled(can_pause, egui::Button::new(label));
    let name = if paused { "Resume recording" } else { "Pause recording" };
    pause.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, can_pause, name));
    if pause.on_hover_text("Paused audio is not recorded; the file has no gap").clicked() {
        commands.push(AppCommand::Recording(command));
    }
    let stop = ui.add_enabled(!stopping, egui::Button::new(RichText::new("■ Stop").color(RECORDING_RED)));
    stop.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, !stopping, "Stop"));
    if stop.on_hover_text("Finish the file; it joins the list as an ordinary file").clicked() {
        commands.push(AppCommand::Recording(RecordingCommand::Stop));
    }
}
