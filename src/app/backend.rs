//! The window's only door to the rest of the crate's work: the model store, the exporters and
//! the local engine. Everything here runs on the background runtime, never on the UI thread,
//! and every failure comes back as one line of text the window can show as it is.
//!
//! (Scaffold phase: the model store and exporters are still being written, so these are
//! placeholders that keep the window buildable; they are replaced when those modules land.)

use super::settings::{ExportKind, ExportSettings};
use crate::engine::Engine;
use crate::transcript::Transcript;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The model new installations use.
pub const DEFAULT_MODEL: &str = "tiny.en";

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

/// The local engine for an installed model name (or a ggml file path).
pub fn local_engine(model: &str, beam_size: u32) -> Result<Arc<dyn Engine>, String> {
    let _ = beam_size;
    Err(format!(
        "model '{model}' is not installed; open Models › Manage models to download it"
    ))
}

/// The model directory and what is installed in it.
pub fn list_models() -> Result<(PathBuf, Vec<InstalledModelInfo>), String> {
    Ok((PathBuf::new(), Vec::new()))
}

/// Models the catalog offers.
pub fn catalog() -> Vec<CatalogModelInfo> {
    Vec::new()
}

/// Downloads a catalog model, reporting `(downloaded_bytes, total_bytes)`.
pub async fn download_model(
    name: &str,
    progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    cancel: &CancellationToken,
) -> Result<(), String> {
    let _ = (progress, cancel);
    Err(format!(
        "cannot download {name}: model downloads are not part of this build yet"
    ))
}

/// Imports a faster-whisper (CTranslate2) model directory; returns the installed name.
pub async fn import_model(dir: &Path) -> Result<String, String> {
    Err(format!(
        "cannot import {}: model import is not part of this build yet",
        dir.display()
    ))
}

/// Removes an installed model.
pub fn remove_model(name: &str) -> Result<(), String> {
    Err(format!(
        "cannot remove {name}: the model store is not part of this build yet"
    ))
}

/// The transcript rendered in one export format, with the user's preferences.
pub fn render_export(
    transcript: &Transcript,
    kind: ExportKind,
    settings: &ExportSettings,
) -> String {
    let _ = (kind, settings);
    transcript.plain_text()
}
