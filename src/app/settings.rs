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
    /// The recording panel's choices: device, monitor, live engine.
    pub recording: RecordingSettings,
    /// Projects opened or saved lately, newest first (File ▸ Open recent).
    pub recent_projects: Vec<PathBuf>,
    /// Mark in the transcript where exported subtitle cues begin, and warn on cues over the rules.
    pub show_cue_breaks: bool,
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
            recording: RecordingSettings::default(),
            recent_projects: Vec::new(),
            show_cue_breaks: true,
        }
    }
}

/// What the recording panel remembers: chosen before a recording starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordingSettings {
    /// The input device's id (`InputDevice::id`); `None` records from the system's default
    /// input. A device that is not connected any more falls back to the default.
    pub device: Option<String>,
    /// Also record the monitor of the sound output as channel 2: "Me" / "Them" for calls.
    pub with_monitor: bool,
    /// The engine that transcribes while recording, by id (`None`: off). One that cannot
    /// stream (PolarGrid, LLM Stats) transcribes the file when the recording stops.
    #[serde(with = "live_engine_id")]
    pub live: Option<EngineKind>,
    /// Live transcription's own settings (pauses, Gradium's session length, 60db's rate).
    pub live_options: crate::engine::LiveOptions,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings {
            device: None,
            with_monitor: false,
            live: Some(EngineKind::Local),
            live_options: crate::engine::LiveOptions::default(),
        }
    }
}

/// The live engine is stored as `off` or the engine's id, as [`engine_id`] stores engines.
mod live_engine_id {
    use crate::engine::EngineKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub const OFF: &str = "off";

    pub fn serialize<S: Serializer>(live: &Option<EngineKind>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(live.map_or(OFF, EngineKind::id))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<EngineKind>, D::Error> {
        let id = String::deserialize(deserializer)?;
        Ok(if id == OFF { None } else { id.parse().ok() })
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
            model: crate::models::default_model().to_string(),
            beam_size: 1,
        }
    }
}

/// A previous export, repeated by "Export again" (Ctrl+E).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastExport {
    pub kind: crate::export::ExportFormat,
    pub path: PathBuf,
}

/// Export preferences: the export module's own options (subtitle rules, text layout), plus the
/// last export for "Export again".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSettings {
    pub options: crate::export::ExportOptions,
    /// The last export, for Ctrl+E.
    pub last: Option<LastExport>,
    /// How a copied quote reads: `{time}`, `{speaker}` and `{text}` are filled in.
    pub quote_template: String,
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            options: crate::export::ExportOptions::default(),
            last: None,
            quote_template: crate::transcript::quote::DEFAULT_QUOTE_TEMPLATE.to_string(),
        }
    }
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

    /// eframe's storage, in memory: settings go through the same RON text as on disk.
    #[derive(Default)]
    struct MemoryStorage(std::collections::HashMap<String, String>);

    impl eframe::Storage for MemoryStorage {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_string(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    #[test]
    fn the_last_export_saved_by_earlier_versions_still_loads() {
        use crate::export::ExportFormat;
        use eframe::Storage;
        let mut storage = MemoryStorage::default();
        for (saved, format) in [
            ("srt", ExportFormat::Srt),
            ("web_vtt", ExportFormat::Vtt),
            ("text", ExportFormat::Txt),
            ("json", ExportFormat::Json),
        ] {
            let ron = format!(r#"(export: (last: Some((kind: {saved}, path: "/tmp/a"))))"#);
            storage.set_string(SETTINGS_KEY, ron);
            let settings: Settings = eframe::get_value(&storage, SETTINGS_KEY)
                .unwrap_or_else(|| panic!("saved settings with kind {saved} did not load"));
            assert_eq!(settings.export.last.map(|last| last.kind), Some(format));
            let json = format!(r#"{{"export":{{"last":{{"kind":"{saved}","path":"/tmp/a"}}}}}}"#);
            let settings: Settings = serde_json::from_str(&json)
                .unwrap_or_else(|error| panic!("settings did not parse: {error}"));
            assert_eq!(settings.export.last.map(|last| last.kind), Some(format));
        }
        let mut settings = Settings::default();
        settings.export.last = Some(LastExport {
            kind: ExportFormat::Vtt,
            path: PathBuf::from("/tmp/a.vtt"),
        });
        eframe::set_value(&mut storage, SETTINGS_KEY, &settings);
        let saved = storage.get_string(SETTINGS_KEY).unwrap_or_default();
        assert!(saved.contains("kind:web_vtt") || saved.contains("kind: web_vtt"), "{saved}");
        assert_eq!(eframe::get_value::<Settings>(&storage, SETTINGS_KEY), Some(settings));
    }
}
