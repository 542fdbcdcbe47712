//! The window's only door to the rest of the crate's work: the model store, the exporters and
//! the local engine. Everything here runs on the background runtime, never on the UI thread,
//! and every failure comes back as one line of text the window can show as it is (with
//! window wording: "open Models › Manage models", not a command line to type).

use super::settings::{ExportKind, ExportSettings};
use crate::engine::Engine;
use crate::engine::local::{LocalEngine, LocalEngineConfig};
use crate::export::{ExportFormat, ExportOptions};
use crate::models::{ModelError, ModelStore};
use crate::transcript::Transcript;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The model new installations use.
pub const DEFAULT_MODEL: &str = crate::models::DEFAULT_MODEL;

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

fn model_message(error: ModelError) -> String {
    match error {
        ModelError::NotInstalled { name } => {
            format!("model '{name}' is not installed; open Models › Manage models to download it")
        }
        other => other.to_string(),
    }
}

/// The local engine for an installed model name (or a ggml file path). Inference runs in a
/// `verbatim worker` child process: this program, or `worker_exe` when given (tests run from a
/// test harness, which cannot be the worker).
pub fn local_engine(
    model: &str,
    beam_size: u32,
    worker_exe: Option<&Path>,
) -> Result<Arc<dyn Engine>, String> {
    let model_path = store()?.resolve(model).map_err(model_message)?;
    // Everything the window does not set (flash attention…) keeps the engine's defaults.
    let config = LocalEngineConfig {
        model_path,
        beam_size: beam_size.max(1),
        ..LocalEngineConfig::default()
    };
    Ok(match worker_exe {
        Some(exe) => Arc::new(LocalEngine::with_worker(config, exe.to_path_buf())),
        None => Arc::new(LocalEngine::new(config)),
    })
}

/// The model directory and what is installed in it.
pub fn list_models() -> Result<(PathBuf, Vec<InstalledModelInfo>), String> {
    let store = store()?;
    let installed = store.list().map_err(model_message)?;
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

/// Downloads a catalog model, reporting `(downloaded_bytes, total_bytes)`.
pub async fn download_model(
    name: &str,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    cancel: &CancellationToken,
) -> Result<(), String> {
    let store = store()?;
    let mut report = |update: crate::models::DownloadProgress| {
        progress(update.downloaded_bytes, update.total_bytes)
    };
    crate::models::download_model(&store, name, &mut report, cancel)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Imports a faster-whisper (CTranslate2) model folder as f16 ggml, named after the folder;
/// returns the installed name.
pub async fn import_model(dir: &Path) -> Result<String, String> {
    let store = store()?;
    let name = crate::cli::models::import_model_name(dir, None, None)
        .map_err(|error| format!("{error:#}"))?;
    store.ensure_dir().map_err(model_message)?;
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
    store()?.remove(name).map_err(model_message)
}

/// The export module's format for a menu entry.
pub fn export_format(kind: ExportKind) -> ExportFormat {
    match kind {
        ExportKind::Srt => ExportFormat::Srt,
        ExportKind::WebVtt => ExportFormat::Vtt,
        ExportKind::Text => ExportFormat::Txt,
        ExportKind::Json => ExportFormat::Json,
    }
}

/// The transcript rendered in one export format, with the user's preferences.
pub fn render_export(
    transcript: &Transcript,
    kind: ExportKind,
    settings: &ExportSettings,
) -> String {
    let options: &ExportOptions = &settings.options;
    crate::export::render(transcript, export_format(kind), options)
}
