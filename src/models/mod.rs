//! Whisper models on disk: where they live ([`store`]), which ones can be downloaded
//! ([`catalog`]), fetching them safely ([`download`]), and converting faster-whisper
//! (CTranslate2) models to whisper.cpp's ggml format ([`ct2`]).
//!
//! A model is a whisper.cpp ggml file named `ggml-NAME.bin` in one directory; the engine only
//! ever sees a path from [`ModelStore::resolve`], so a half-downloaded or corrupt file can never
//! reach it.

pub mod catalog;
pub mod ct2;
pub mod ct2_binary;
pub mod download;
pub mod ggml;
pub mod gpt2_vocab;
pub mod mel;
pub mod quantize;
pub mod store;

pub use catalog::{CATALOG, CatalogEntry};
pub use download::{
    DownloadError, DownloadOptions, DownloadOutcome, DownloadProgress, Expected, download_file,
    download_model,
};
pub use store::{DEFAULT_MODEL, InstalledModel, ModelError, ModelStore, QUANTIZED_DEFAULT_MODEL, default_model};
