//! The local engine: whisper.cpp through whisper-rs, fully offline.
//!
//! Inference runs in a child process (`verbatim worker`, see [`worker`]) that streams events
//! back as JSON lines and keeps its model loaded between jobs ([`worker_pool`]). Two reasons: a native crash in whisper.cpp (bad model file, a bug in
//! the library) ends only that process — the window, the queue and every segment already
//! received survive — and cancel is immediate: whisper.cpp checks its abort callback only
//! between whole encoder passes, which on a large model take seconds, while killing the
//! child takes milliseconds. (A job that holds its segments back until the end — speaker
//! labels — is first asked to send them, so a cancel keeps its text: see [`worker_pool`].)
//!
//! Inside the worker ([`pipeline`]), audio is decoded on its own thread into bounded 16 kHz
//! blocks and cut into chunks of a few minutes at quiet moments, so a multi-hour file never
//! sits in memory whole (neither its samples nor whisper.cpp's spectrogram of it). Each chunk
//! is decoded on a whisper.cpp state of its own, given back after it, and the text the state
//! was conditioned on is carried to the next one, so the text stays conditioned on what came
//! before; segments are sent as whisper.cpp decodes them. When the user asks for two decoders
//! at once, a chunk's second half is decoded at the same time on a second state, a thread each
//! ([`lanes`]).
//! Chunks without any sound are not decoded at all, which keeps invented text out of silences.
//!
//! Live audio ([`live`]) is cut into phrases at pauses ([`phrases`]); the same worker decodes
//! each phrase, and drafts of the one being spoken, with whisper.cpp's encoder window cut
//! down to the phrase ([`phrase_decode`]).

mod alignment;
mod chunks;
mod cleanup;
pub mod english_only;
mod language;
mod lanes;
pub mod live;
mod phrase_decode;
mod phrases;
mod pipeline;
mod segments;
mod whisper_call;
mod windows;
pub mod worker;
pub mod worker_pool;
mod words;

use crate::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions};
use crate::events::EventSink;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use whisper_rs::{WhisperContext, WhisperContextParameters};
pub use worker_pool::WorkerPool;

/// Settings of the local engine beyond the options every engine shares.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LocalEngineConfig {
    /// A ggml model file.
    pub model_path: PathBuf,
    /// 1 = greedy decoding (fastest); more = beam search.
    pub beam_size: u32,
    /// whisper.cpp's flash attention kernels, instead of word times aligned by the model's
    /// attention heads ([`alignment`]): flash attention does not keep the attention weights
    /// the alignment reads. Off by default: on the CPUs measured it was no faster, and the
    /// aligned word times are what subtitles are cut on.
    pub flash_attention: bool,
    /// A multilingual model that listens, when this one is English-only and the language is
    /// left to auto, for speech in another language ([`english_only`]).
    pub language_detector: Option<PathBuf>,
}

impl Default for LocalEngineConfig {
    fn default() -> Self {
        LocalEngineConfig { model_path: PathBuf::new(), beam_size: 1, flash_attention: false, language_detector: None }
    }
}

/// whisper.cpp in a worker process, kept running between jobs (see [`WorkerPool`]).
pub struct LocalEngine {
    config: LocalEngineConfig,
    worker_exe: PathBuf,
    pool: Arc<WorkerPool>,
    live_tuning: live::LiveTuning,
}

impl LocalEngine {
    /// An engine whose worker is this very program (`verbatim worker`).
    pub fn new(config: LocalEngineConfig) -> LocalEngine {
        let worker_exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("verbatim"));
        LocalEngine::with_worker(config, worker_exe)
    }

    /// An engine whose worker is the `verbatim` binary at `worker_exe` (tests run from a test
    /// harness, which cannot be the worker itself).
    pub fn with_worker(config: LocalEngineConfig, worker_exe: PathBuf) -> LocalEngine {
        LocalEngine { config, worker_exe, pool: WorkerPool::shared(), live_tuning: live::LiveTuning::default() }
    }

    /// The same engine drawing its workers from `pool` instead of the shared one.
    pub fn with_pool(mut self, pool: Arc<WorkerPool>) -> LocalEngine {
        self.pool = pool;
        self
    }

    /// The same engine with other settings for live transcription.
    pub fn with_live_tuning(mut self, tuning: live::LiveTuning) -> LocalEngine {
        self.live_tuning = tuning;
        self
    }
}

/// Loads a ggml model after checking that the file is one, so a wrong file gets a clear
/// error instead of reaching whisper.cpp's loader. Without flash attention the model's
/// alignment heads are set up, so tokens come with aligned times.
pub fn load_model(path: &Path, flash_attention: bool) -> Result<WhisperContext, EngineError> {
    let shape = check_ggml_header(path)?;
    silence_whisper_logs();
    let path_text = path
        .to_str()
        .ok_or_else(|| EngineError::Model(format!("model path {} is not valid UTF-8; move the model to a plain path", path.display())))?;
    let mut params = WhisperContextParameters::default();
    params.flash_attn = flash_attention;
    if !flash_attention {
        params.dtw_parameters.mode = shape.dtw_mode();
    }
    WhisperContext::new_with_params(path_text, params).map_err(|error| {
        EngineError::Model(format!(
            "whisper.cpp could not load {} ({error}); download it again with `verbatim models download NAME`",
            path.display()
        ))
    })
}

/// Whether the ggml model at `path` is multilingual (`None`: not a readable ggml model).
pub fn is_multilingual(path: &Path) -> Option<bool> {
    check_ggml_header(path).ok().map(|shape| shape.multilingual())
}

fn check_ggml_header(path: &Path) -> Result<alignment::ModelShape, EngineError> {
    use std::io::Read;
    let mut header = [0u8; 48];
    let mut file = std::fs::File::open(path).map_err(|error| {
        EngineError::Model(format!("cannot open model {}: {error}; see `verbatim models list`", path.display()))
    })?;
    let read = file.read(&mut header).unwrap_or(0);
    let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if read < header.len() || magic != 0x6767_6d6c {
        return Err(EngineError::Model(format!(
            "{} is not a whisper.cpp ggml model; use `verbatim models download NAME` or `verbatim models import DIR`",
            path.display()
        )));
    }
    Ok(alignment::ModelShape::from_header(&header))
}

fn silence_whisper_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

#[async_trait]
impl Engine for LocalEngine {
    fn name(&self) -> &str {
        "local"
    }

    async fn transcribe_file(
        &self,
        path: &Path,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        // A wrong model file is reported before a process is started for it.
        check_ggml_header(&self.config.model_path)?;
        let job = worker::WorkerJob { config: self.config.clone(), path: path.to_path_buf(), options: options.clone() };
        worker_pool::run_file_job(&self.pool, &self.worker_exe, &job, sink, cancel).await
    }
}
