//! What the engines of the services reached with one request per upload part (Gradium,
//! LLM Stats, 60db) hold alike: their HTTP client, the URL they post to, their own settings
//! and the audio converter. Each service's module names its engine as this type with its own
//! settings and implements the protocol on it; building it is the same for all three.

use super::endpoint::join_path;
use super::http::ServiceHttp;
use super::upload::Transcoder;
use super::{ApiKey, CloudOptions, CloudService};
use crate::engine::EngineError;
use reqwest::Url;
use std::sync::Arc;

/// An engine of a one-request-per-part service, with that service's settings `O`.
pub struct BatchEngine<O> {
    pub(crate) http: ServiceHttp,
    pub(crate) url: Url,
    pub(crate) options: O,
    pub(crate) transcoder: Arc<dyn Transcoder>,
}

impl<O: Clone> BatchEngine<O> {
    /// The engine for `service` with its (already checked) settings `own`, posting to `path`
    /// below its base URL (`endpoint`, else `VERBATIM_<SERVICE>_URL`, else its default).
    pub(crate) fn connect(
        service: CloudService,
        options: &CloudOptions,
        own: &O,
        endpoint: Option<&str>,
        path: &str,
        key: ApiKey,
        transcoder: Arc<dyn Transcoder>,
    ) -> Result<BatchEngine<O>, EngineError> {
        let (http, base) =
            ServiceHttp::for_endpoint(service, options.network.clone(), key, endpoint)?;
        Ok(BatchEngine {
            http,
            url: join_path(&base, path),
            options: own.clone(),
            transcoder,
        })
    }
}
