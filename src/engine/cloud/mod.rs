//! The four cloud speech-to-text services, behind the one [`Engine`] interface.
//!
//! Each service lives in its own module and speaks its own wire protocol (see
//! `shared/PROTOCOLS.md`); everything they share — keys, endpoints, HTTP with retries and
//! limits, upload preparation, building segments from words — lives beside them. The CLI and
//! the window choose a [`CloudService`], fill in [`CloudOptions`] and call [`build_engine`];
//! they never look inside a service. Gradium and 60db also stream live over WebSockets
//! (`gradium_ws`, `sixtydb_ws`), built by [`crate::engine::build_live_engine`].

pub mod batch;
pub mod endpoint;
pub mod framing;
pub mod gradium;
pub mod gradium_ws;
pub mod http;
pub mod keys;
pub mod live_socket;
pub mod llmstats;
pub mod options;
pub mod output;
pub mod polargrid;
pub mod polargrid_formats;
pub mod polargrid_router;
pub mod retry;
pub mod sixtydb;
pub mod sixtydb_ws;
pub mod upload;
pub mod words;

pub use keys::{ApiKey, KeySource};
pub use options::{
    CloudOptions, GradiumOptions, LlmStatsOptions, NetworkOptions, PolarGridMode, PolarGridOptions,
    PolarGridRegion, PolarGridResponseFormat, SixtyDbOptions,
};
pub use upload::{Transcoder, default_transcoder};

use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One of the cloud services Verbatim can send audio to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudService {
    /// Gradium: raw audio POST, NDJSON back.
    Gradium,
    /// PolarGrid edge inference: async job, sync or SSE stream.
    PolarGrid,
    /// The LLM Stats gateway: multipart upload, JSON with timed words.
    LlmStats,
    /// 60db: multipart upload, JSON with diarized segments.
    #[serde(rename = "60db")]
    SixtyDb,
}

impl CloudService {
    pub const ALL: [CloudService; 4] = [
        CloudService::Gradium,
        CloudService::PolarGrid,
        CloudService::LlmStats,
        CloudService::SixtyDb,
    ];

    /// The id used on the command line, in the keyring and in settings (`60db`…).
    pub fn id(self) -> &'static str {
        match self {
            CloudService::Gradium => "gradium",
            CloudService::PolarGrid => "polargrid",
            CloudService::LlmStats => "llmstats",
            CloudService::SixtyDb => "60db",
        }
    }

    /// What the service is, in one line (the CLI's help lists it with the id).
    pub fn summary(self) -> &'static str {
        match self {
            CloudService::Gradium => "Gradium: raw audio POST, NDJSON back",
            CloudService::PolarGrid => "PolarGrid edge inference: async job, sync or SSE stream",
            CloudService::LlmStats => {
                "The LLM Stats gateway: multipart upload, JSON with timed words"
            }
            CloudService::SixtyDb => "60db: multipart upload, JSON with diarized segments",
        }
    }

    /// The name people read in messages.
    pub fn display_name(self) -> &'static str {
        match self {
            CloudService::Gradium => "Gradium",
            CloudService::PolarGrid => "PolarGrid",
            CloudService::LlmStats => "LLM Stats",
            CloudService::SixtyDb => "60db",
        }
    }

    /// The environment variable that may hold the API key.
    pub fn key_env_var(self) -> &'static str {
        match self {
            CloudService::Gradium => "GRADIUM_API_KEY",
            CloudService::PolarGrid => "POLARGRID_API_KEY",
            CloudService::LlmStats => "LLMSTATS_API_KEY",
            CloudService::SixtyDb => "SIXTYDB_API_KEY",
        }
    }

    /// The environment variable that may override the base URL.
    pub fn url_env_var(self) -> &'static str {
        match self {
            CloudService::Gradium => "VERBATIM_GRADIUM_URL",
            CloudService::PolarGrid => "VERBATIM_POLARGRID_URL",
            CloudService::LlmStats => "VERBATIM_LLMSTATS_URL",
            CloudService::SixtyDb => "VERBATIM_SIXTYDB_URL",
        }
    }

    /// The base URL used when nothing overrides it (PolarGrid's depends on the region).
    pub fn default_base_url(self) -> &'static str {
        match self {
            CloudService::Gradium => "https://api.gradium.ai",
            CloudService::PolarGrid => "https://api.yto-01.edge.polargrid.ai",
            CloudService::LlmStats => "https://gateway.llm-stats.com",
            CloudService::SixtyDb => "https://api.60db.ai",
        }
    }
}

impl std::fmt::Display for CloudService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for CloudService {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase();
        let aliases: &[(&str, CloudService)] = &[
            ("gradium", CloudService::Gradium),
            ("polargrid", CloudService::PolarGrid),
            ("llmstats", CloudService::LlmStats),
            ("llm-stats", CloudService::LlmStats),
            ("60db", CloudService::SixtyDb),
            ("sixtydb", CloudService::SixtyDb),
        ];
        aliases
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, service)| *service)
            .ok_or_else(|| {
                format!("unknown cloud service '{text}'; use gradium, polargrid, llmstats or 60db")
            })
    }
}

/// Builds the engine for `service` with the options the user chose and their key, using the
/// default audio converter ([`default_transcoder`]). Fails with a one-line message when an
/// option or the endpoint is not valid.
pub fn build_engine(
    service: CloudService,
    options: &CloudOptions,
    key: ApiKey,
) -> Result<Box<dyn Engine>, EngineError> {
    build_engine_with_transcoder(service, options, key, default_transcoder())
}

/// [`build_engine`] with a chosen audio converter (tests use a fake one).
pub fn build_engine_with_transcoder(
    service: CloudService,
    options: &CloudOptions,
    key: ApiKey,
    transcoder: Arc<dyn Transcoder>,
) -> Result<Box<dyn Engine>, EngineError> {
    Ok(match service {
        CloudService::Gradium => Box::new(gradium::GradiumEngine::new(options, key, transcoder)?),
        CloudService::PolarGrid => {
            Box::new(polargrid::PolarGridEngine::new(options, key, transcoder)?)
        }
        CloudService::LlmStats => {
            Box::new(llmstats::LlmStatsEngine::new(options, key, transcoder)?)
        }
        CloudService::SixtyDb => Box::new(sixtydb::SixtyDbEngine::new(options, key, transcoder)?),
    })
}

/// The checks every service makes before a file is sent: none of them translates (say so
/// instead of quietly transcribing), and the language asked for must be a valid code.
/// Returns the language to send (`None` to let the service detect it).
pub(crate) fn language_to_request(
    service: CloudService,
    options: &crate::engine::TranscribeOptions,
) -> Result<Option<String>, EngineError> {
    if options.translate {
        return Err(EngineError::Service(format!(
            "{} cannot translate into English; drop --translate or use the local engine",
            service.display_name()
        )));
    }
    options::requested_language(options.language.as_deref()).map_err(EngineError::Service)
}
