//! Whisper models on disk: where they live ([`store`]), which ones can be downloaded
//! ([`catalog`]), and fetching them safely ([`download`]).
//!
//! A model is a whisper.cpp ggml file named `ggml-NAME.bin` in one directory; the engine only
//! ever sees a path from [`ModelStore::resolve`], so a half-downloaded or corrupt file can never
//! reach it.

pub mod catalog;
pub mod download;
pub mod store;

pub use catalog::{CATALOG, CatalogEntry};
pub use download::{
    DownloadError, DownloadOptions, DownloadOutcome, DownloadProgress, Expected, download_file,
    download_model,
};
pub use store::{DEFAULT_MODEL, InstalledModel, ModelError, ModelStore};
