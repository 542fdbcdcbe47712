//! Engines: what turns an audio file into [`EngineEvent`]s.
//!
//! Every engine — local whisper.cpp or a cloud service — implements [`Engine`]. The CLI and
//! the window pick one from [`EngineKind`] and never look inside it.

pub mod cloud;
pub mod local;

use crate::events::EventSink;
use async_trait::async_trait;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// How speakers are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerMode {
    /// No speaker labels (unless the engine itself diarizes).
    #[default]
    None,
    /// One speaker per channel of a stereo recording, decided by channel energy.
    Stereo,
}

/// Options every engine understands. Engine-specific settings live in the engine's own
/// configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TranscribeOptions {
    /// ISO 639-1 code, or `None` to detect the language.
    pub language: Option<String>,
    /// Translate into English instead of transcribing.
    pub translate: bool,
    /// Names and jargon the engine should expect.
    pub prompt: Option<String>,
    /// CPU threads for local inference.
    pub threads: usize,
    pub speakers: SpeakerMode,
    /// Ask for word timestamps (used to split subtitle cues at word boundaries).
    pub word_timestamps: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            translate: false,
            prompt: None,
            threads: default_thread_count(),
            speakers: SpeakerMode::None,
            word_timestamps: true,
        }
    }
}

/// All cores, at most 8 (whisper.cpp gains little beyond that).
pub fn default_thread_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(4).min(8)
}

/// Why an engine stopped. Every message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Inference(String),
    #[error("{0}")]
    Service(String),
}

/// A speech-to-text engine.
#[async_trait]
pub trait Engine: Send + Sync {
    /// Short name shown to people ("local", "gradium"…).
    fn name(&self) -> &str;

    /// Transcribes one file, sending segments to `sink` as they are ready. Returns when done,
    /// failed or cancelled; segments already sent stay valid whatever the outcome. Does not
    /// send `Done`/`Error` itself: [`run_engine`] does, so every engine ends the same way.
    async fn transcribe_file(
        &self,
        path: &Path,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError>;
}

/// What an engine knows at the end of a successful run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineOutcome {
    pub language: Option<String>,
    pub duration_s: Option<f64>,
}

/// Runs an engine on a file and ends the event stream with `Done` or `Error`.
pub async fn run_engine(
    engine: &dyn Engine,
    path: &Path,
    options: &TranscribeOptions,
    sink: &EventSink,
    cancel: &CancellationToken,
) -> Result<EngineOutcome, EngineError> {
    let result = engine.transcribe_file(path, options, sink, cancel).await;
    match &result {
        Ok(outcome) => {
            sink.emit(crate::events::EngineEvent::Done {
                language: outcome.language.clone(),
                duration_s: outcome.duration_s,
            });
        }
        Err(error) => {
            sink.emit(crate::events::EngineEvent::Error { message: error.to_string() });
        }
    }
    result
}
