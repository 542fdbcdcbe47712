//! What the window remembers between runs: the engine and its options, the model, export
//! preferences, the theme. One `#[serde(default)]` struct saved with `eframe::set_value`, so a
//! settings file from an older or newer version still loads (missing fields take defaults,
//! unknown ones are ignored). API keys never go here: they belong in the system keyring.

use crate::engine::cloud::CloudOptions;
use crate::engine::{EngineKind, TranscribeOptions};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The key the settings are stored under in eframe's storage.
pub const SETTINGS_KEY: &str = "verbatim.settings";

/// Everything the window persists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Which engine transcribes new files: the list the CLI's `--engine` takes. Each engine's
    /// own settings live in a field of their own (`local`, `cloud`), so switching engines
    /// never loses the others' choices.
    #[serde(with = "engine_id")]
    pub engine: EngineKind,
    /// Settings of the local whisper.cpp engine.
    pub local: LocalSettings,
    /// Settings of the cloud services (the CLI's cloud flags fill the same struct); endpoints
    /// and options only — API keys live in the keyring.
    pub cloud: CloudOptions,
    /// Options every engine understands (language, translate, prompt, threads, speakers).
    pub options: TranscribeOptions,
    pub export: ExportSettings,
    pub theme: ThemeChoice,
    /// Show the queue / options side panel.
    pub show_side_panel: bool,
    /// Where the open dialog starts.
    pub last_open_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: EngineKind::default(),
            local: LocalSettings::default(),
            cloud: CloudOptions::default(),
            options: TranscribeOptions::default(),
            export: ExportSettings::default(),
            theme: ThemeChoice::System,
            show_side_panel: true,
            last_open_dir: None,
        }
    }
}

/// The engine is stored as its command-line id (`local`, `gradium`, `60db`…): readable, and
/// valid in eframe's RON storage, where an enum variant named `60db` is not. An id this
/// version does not know falls back to the local engine instead of dropping every setting.
mod engine_id {
    use crate::engine::EngineKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(engine: &EngineKind, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(engine.id())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<EngineKind, D::Error> {
        let id = String::deserialize(deserializer)?;
        Ok(id.parse().unwrap_or_default())
    }
}

/// Settings of the local engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalSettings {
    /// An installed model name (see the model manager) or a path to a ggml file.
    pub model: String,
    /// 1 = greedy decoding (fastest); more = beam search (slower, sometimes more accurate).
    pub beam_size: u32,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            model: super::backend::DEFAULT_MODEL.to_string(),
            beam_size: 1,
        }
    }
}

/// The export formats the File › Export menu offers. Kept separate from the export module's
/// own enum so the settings file does not change when that module's serde form does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    Srt,
    WebVtt,
    Text,
    Json,
}

impl ExportKind {
    pub const ALL: &'static [ExportKind] = &[
        ExportKind::Srt,
        ExportKind::WebVtt,
        ExportKind::Text,
        ExportKind::Json,
    ];

    /// Menu label.
    pub fn label(self) -> &'static str {
        match self {
            ExportKind::Srt => "SRT subtitles",
            ExportKind::WebVtt => "WebVTT subtitles",
            ExportKind::Text => "Plain text",
            ExportKind::Json => "JSON",
        }
    }

    /// File extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportKind::Srt => "srt",
            ExportKind::WebVtt => "vtt",
            ExportKind::Text => "txt",
            ExportKind::Json => "json",
        }
    }
}

/// A previous export, repeated by "Export again" (Ctrl+E).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastExport {
    pub kind: ExportKind,
    pub path: PathBuf,
}

/// Export preferences: the export module's own options (subtitle rules, text layout), plus the
/// last export for "Export again".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSettings {
    pub options: crate::export::ExportOptions,
    /// The last export, for Ctrl+E.
    pub last: Option<LastExport>,
}

/// Light, dark, or whatever the system uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    pub fn preference(self) -> eframe::egui::ThemePreference {
        match self {
            ThemeChoice::System => eframe::egui::ThemePreference::System,
            ThemeChoice::Light => eframe::egui::ThemePreference::Light,
            ThemeChoice::Dark => eframe::egui::ThemePreference::Dark,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_an_older_version_keep_defaults_for_missing_fields() {
        let settings: Settings =
            serde_json::from_str(r#"{"local":{"model":"base"},"unknown_field":3}"#)
                .unwrap_or_else(|error| panic!("settings did not parse: {error}"));
        assert_eq!(settings.local.model, "base");
        assert_eq!(settings.local.beam_size, 1);
        assert_eq!(settings.export.options.subtitles.max_chars_per_line, 42);
        assert_eq!(settings.engine, EngineKind::Local);
    }

    #[test]
    fn a_cloud_engine_and_its_options_round_trip() {
        let mut settings = Settings {
            engine: EngineKind::Cloud(crate::engine::cloud::CloudService::SixtyDb),
            ..Settings::default()
        };
        settings.cloud.sixtydb.diarize = true;
        settings.cloud.polargrid.mode = crate::engine::cloud::PolarGridMode::Stream;
        let text = serde_json::to_string(&settings).unwrap_or_default();
        assert!(text.contains(r#""engine":"60db""#), "{text}");
        let back: Settings = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("settings did not parse: {error}"));
        assert_eq!(back, settings);
        let old: Settings = serde_json::from_str(r#"{"engine":"local"}"#)
            .unwrap_or_else(|error| panic!("settings did not parse: {error}"));
        assert_eq!(old.engine, EngineKind::Local);
        let unknown: Settings = serde_json::from_str(r#"{"engine":"whisperx","local":{"model":"base"}}"#)
            .unwrap_or_else(|error| panic!("settings did not parse: {error}"));
        assert_eq!((unknown.engine, unknown.local.model.as_str()), (EngineKind::Local, "base"));
    }
}
