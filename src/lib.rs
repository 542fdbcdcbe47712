//! Verbatim: transcription with a local whisper.cpp engine or a cloud service, exported as
//! SRT, WebVTT, text or JSON. The binary (`src/main.rs`) is the CLI and the window; everything
//! they share lives in this library.

pub mod app;
pub mod audio;
pub mod backoff;
pub mod cli;
pub mod dev;
pub mod diarize;
pub mod engine;
pub mod events;
pub mod export;
pub mod files;
pub mod models;
pub mod net;
pub mod playback;
pub mod record;
pub mod speakers;
pub mod transcript;
pub mod units;
pub mod vad;
pub mod wer;
