//! Engines: what turns an audio file into [`EngineEvent`]s.
//!
//! Every engine — local whisper.cpp or a cloud service — implements [`Engine`]. The CLI and
//! the window pick one from [`EngineKind`], describe it as an [`EngineSpec`] and build it with
//! [`build_file_engine`] / [`build_live_engine`]; they never look inside it. Engines that can hear a
//! recording while it is made also implement [`live::LiveEngine`].

pub mod build;
pub mod cloud;
pub mod live;
pub mod local;

pub use build::{EngineSpec, build_file_engine, build_live_engine};
pub use live::{LiveAudio, LiveEngine, LiveOptions, cloud_live_engine, run_live_engine};

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
    /// Voices told apart by the local engine's speaker model (see [`crate::diarize`]).
    Auto,
}

impl SpeakerMode {
    pub const ALL: [SpeakerMode; 3] = [SpeakerMode::None, SpeakerMode::Stereo, SpeakerMode::Auto];

    /// The id on the command line and in settings.
    pub fn id(self) -> &'static str {
        match self {
            SpeakerMode::None => "none",
            SpeakerMode::Stereo => "stereo",
            SpeakerMode::Auto => "auto",
        }
    }

    /// What the mode does, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            SpeakerMode::None => "No speaker labels",
            SpeakerMode::Stereo => "One speaker per channel of a stereo recording",
            SpeakerMode::Auto => "Speakers told apart by voice (local engine, offline)",
        }
    }
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
    /// Fewest and most speakers expected with [`SpeakerMode::Auto`].
    pub speaker_bounds: crate::diarize::SpeakerBounds,
    /// Ask for word timestamps (used to split subtitle cues at word boundaries).
    pub word_timestamps: bool,
    /// Local engine: decode the second half of each chunk at the same time, on a second
    /// whisper.cpp state with half the threads. 13–21 % faster on two cores, and
    /// about 170 MB more memory while it runs ([`local`]'s `lanes`).
    pub parallel_decoders: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        TranscribeOptions {
            language: None,
            translate: false,
            prompt: None,
            threads: default_thread_count(),
            speakers: SpeakerMode::None,
            speaker_bounds: crate::diarize::SpeakerBounds::default(),
            word_timestamps: true,
            parallel_decoders: false,
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
    /// The input file could not be used (reported as text, e.g. by the worker process).
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Inference(String),
    #[error("{0}")]
    Service(String),
    /// No key for a cloud service could be found or read; the front end says where to enter one.
    #[error(transparent)]
    Key(#[from] cloud::keys::KeyError),
    /// The model asked for is not in the model store (or the store cannot be used); the front
    /// end says how to install it.
    #[error(transparent)]
    ModelStore(#[from] crate::models::ModelError),
    /// A service address (an override or a saved endpoint) cannot be used.
    #[error(transparent)]
    Endpoint(#[from] cloud::endpoint::EndpointError),
    /// The cloud service refused the API key; the front end says how to give a new one.
    #[error(
        "the {name} key was rejected ({detail}); set a new one with `verbatim auth set {id}`",
        name = .service.display_name(), id = .service.id()
    )]
    KeyRejected {
        service: cloud::CloudService,
        detail: String,
    },
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
    emit_outcome(sink, &result);
    result
}

/// Ends an engine's event stream with `Done` or `Error`, file or live alike.
pub fn emit_outcome(sink: &EventSink, result: &Result<EngineOutcome, EngineError>) {
    match result {
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
}

/// Which engine to use: the one list the CLI and the window share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// whisper.cpp on this computer (offline).
    #[default]
    Local,
    Cloud(cloud::CloudService),
}

impl EngineKind {
    /// Every engine, local first.
    pub fn all() -> Vec<EngineKind> {
        std::iter::once(EngineKind::Local).chain(cloud::CloudService::ALL.into_iter().map(EngineKind::Cloud)).collect()
    }

    /// The id used on the command line and in settings (`local`, `gradium`, `60db`…).
    pub fn id(self) -> &'static str {
        match self {
            EngineKind::Local => "local",
            EngineKind::Cloud(service) => service.id(),
        }
    }

    /// The name people read.
    pub fn display_name(self) -> &'static str {
        match self {
            EngineKind::Local => "Local (whisper.cpp, offline)",
            EngineKind::Cloud(service) => service.display_name(),
        }
    }

    /// Whether the engine translates into English (the cloud services only transcribe).
    pub fn translates(self) -> bool {
        self == EngineKind::Local
    }

    /// Whether the engine can give each channel of a stereo file its own speaker
    /// ([`SpeakerMode::Stereo`]); the cloud services get a mixed file.
    pub fn splits_stereo_channels(self) -> bool {
        self == EngineKind::Local
    }

    /// Whether the engine can transcribe a recording while it is made ([`build_live_engine`]):
    /// the local engine, Gradium and 60db. PolarGrid and LLM Stats document no live
    /// transport; a recording is transcribed from its file when it stops.
    pub fn streams_live(self) -> bool {
        matches!(
            self,
            EngineKind::Local | EngineKind::Cloud(cloud::CloudService::Gradium | cloud::CloudService::SixtyDb)
        )
    }

    /// The languages the engine is limited to, when it is (Gradium's five); `None` takes any.
    pub fn languages(self) -> Option<&'static [&'static str]> {
        match self {
            EngineKind::Cloud(cloud::CloudService::Gradium) => Some(&cloud::options::GRADIUM_LANGUAGES),
            _ => None,
        }
    }

    /// Checks a language code (`None` = detect) against [`EngineKind::languages`].
    pub fn check_language(self, language: Option<&str>) -> Result<(), String> {
        match self {
            EngineKind::Cloud(cloud::CloudService::Gradium) => cloud::GradiumOptions::validate_language(language),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().eq_ignore_ascii_case("local") {
            return Ok(EngineKind::Local);
        }
        text.parse::<cloud::CloudService>().map(EngineKind::Cloud).map_err(|_| {
            format!("unknown engine '{text}'; use one of: {}", EngineKind::all().iter().map(|k| k.id()).collect::<Vec<_>>().join(", "))
        })
    }
}
