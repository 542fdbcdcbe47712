//! The window's only door to the rest of the crate's work: the model store, the exporters and
//! the engines' failures in window wording (engines themselves come from `crate::engine::build`). Everything here runs on the background runtime, never on the UI thread,
//! and every failure comes back as one line of text the window can show as it is (with
//! window wording: "open Models › Manage models", not a command line to type).

use super::settings::ExportSettings;
use crate::engine::EngineError;
use crate::engine::cloud::CloudService;
use crate::engine::cloud::keys::{ApiKey, KeyError, KeyStores, describe_saved};
use crate::export::{ExportFormat, ExportOptions};
use crate::models::{DownloadError, ModelError, ModelStore};
use crate::transcript::Transcript;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// An installed model.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledModelInfo {
    pub name: String,
    pub size_bytes: u64,
}

/// A model that can be downloaded.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogModelInfo {
    pub name: String,
    pub approx_size_bytes: u64,
    pub english_only: bool,
}

fn store() -> Result<ModelStore, String> {
    ModelStore::from_env().map_err(|error| error.to_string())
}

fn model_message(error: &ModelError) -> String {
    match error {
        ModelError::NotInstalled { name } => {
            format!("model '{name}' is not installed; open Models › Manage models to download it")
        }
        other => other.to_string(),
    }
}

/// Where the window lets people enter a key, for messages.
pub const KEY_ENTRY_PLACE: &str = "Settings › Cloud services";

/// A recording problem in window wording (the recorder's own messages name command-line
/// flags where the window has pickers).
pub fn record_error_message(error: &crate::record::RecordError) -> String {
    use crate::record::RecordError;
    match error {
        RecordError::NoDevice(detail) => format!(
            "no microphone found{detail}; connect one, or start Verbatim with `verbatim open --input-device file:PATH` to record from a file"
        ),
        RecordError::UnknownDevice(name) => {
            format!("the input device \"{name}\" is not connected; pick another one in the recording options")
        }
        other => other.to_string(),
    }
}

/// A key problem in window wording.
pub fn key_error_message(error: &KeyError) -> String {
    match error {
        KeyError::Missing(service) => format!(
            "no {} API key yet; enter one in {KEY_ENTRY_PLACE} (or set {})",
            service.display_name(),
            service.key_env_var()
        ),
        other => other.to_string(),
    }
}

/// An engine's failure in window wording: the same reason the CLI prints, with the window's
/// way to fix it where the two differ.
pub fn engine_error_message(error: &EngineError) -> String {
    match error {
        EngineError::KeyRejected { service, detail } => format!(
            "the {} key was rejected ({detail}); enter a new one in {KEY_ENTRY_PLACE}",
            service.display_name()
        ),
        EngineError::Key(error) => key_error_message(error),
        EngineError::ModelStore(error) => model_message(error),
        other => other.to_string(),
    }
}

/// Saves `key` for `service` (or removes the stored key when `None`) and says what happened,
/// never with the key in it.
pub fn change_key(
    stores: &KeyStores,
    service: CloudService,
    key: Option<&ApiKey>,
) -> Result<String, String> {
    let name = service.display_name();
    match key {
        Some(key) => {
            let (source, keyring_problem) = stores
                .set(service, key)
                .map_err(|error| format!("the {name} key was not saved: {error}"))?;
            Ok(describe_saved(service, &source, keyring_problem.as_deref()))
        }
        None => {
            let removed = stores
                .remove(service)
                .map_err(|error| format!("the {name} key was not removed: {error}"))?;
            Ok(match removed.as_slice() {
                [] => format!("No saved {name} key to remove."),
                places => format!(
                    "Removed the {name} key from {}.",
                    places.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and ")
                ),
            })
        }
    }
}

/// The model directory and what is installed in it.
pub fn list_models() -> Result<(PathBuf, Vec<InstalledModelInfo>), String> {
    let store = store()?;
    let installed = store.list().map_err(|error| model_message(&error))?;
    let installed = installed
        .into_iter()
        .map(|model| InstalledModelInfo {
            name: model.name,
            size_bytes: model.size_bytes,
        })
        .collect();
    Ok((store.dir().to_path_buf(), installed))
}

/// Models the catalog offers.
pub fn catalog() -> Vec<CatalogModelInfo> {
    crate::models::CATALOG
        .iter()
        .map(|entry| CatalogModelInfo {
            name: entry.name.to_string(),
            approx_size_bytes: entry.approx_size_bytes,
            english_only: entry.english_only,
        })
        .collect()
}

/// Downloads a catalog model, reporting `(downloaded_bytes, total_bytes)`; a cancel ends it
/// with [`DownloadError::Cancelled`].
pub async fn download_model(
    name: &str,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    cancel: &CancellationToken,
) -> Result<(), DownloadError> {
    let store = ModelStore::from_env()?;
    let mut report = |update: crate::models::DownloadProgress| {
        progress(update.downloaded_bytes, update.total_bytes)
    };
    crate::models::download_model(&store, name, &mut report, cancel)
        .await
        .map(|_| ())
}

/// Imports a faster-whisper (CTranslate2) model folder as f16 ggml, named after the folder;
/// returns the installed name.
pub async fn import_model(dir: &Path) -> Result<String, String> {
    let store = store()?;
    let name = crate::models::store::import_name(dir, None, crate::models::ct2::Quantization::F16)
        .map_err(|error| model_message(&error))?;
    store.ensure_dir().map_err(|error| model_message(&error))?;
    let output = store.path_for(&name);
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        crate::models::ct2::import_ct2_model(
            &dir,
            &output,
            crate::models::ct2::Quantization::F16,
            &mut |_fraction| {},
        )
    })
    .await
    .map_err(|_| "the model converter crashed; the folder may be damaged".to_string())?
    .map_err(|error| error.to_string())?;
    Ok(name)
}

/// Removes an installed model.
pub fn remove_model(name: &str) -> Result<(), String> {
    store()?.remove(name).map_err(|error| model_message(&error))
}

/// The transcript rendered in one export format, with the user's preferences.
pub fn render_export(
    transcript: &Transcript,
    kind: ExportFormat,
    settings: &ExportSettings,
) -> String {
    let options: &ExportOptions = &settings.options;
    crate::export::render(transcript, kind, options)
}
