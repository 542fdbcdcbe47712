//! What the engines of the services reached with one request per upload part (Gradium,
//! LLM Stats, 60db) hold alike: their HTTP client, the URL they post to, their own settings
//! and the audio converter; and the one loop over a file's upload parts. Each service's
//! module names its engine as this type with its own settings and implements
//! [`PartService`] on it (the protocol for one part); building it, preparing the upload,
//! shifting each part's times and gathering the outcome are the same for all three.

use super::endpoint::join_path;
use super::http::ServiceHttp;
use super::output::{PartOutput, PartsSummary};
use super::upload::{PreparedUpload, Transcoder, UploadPart, UploadRules, prepare_parts};
use super::{ApiKey, CloudOptions, CloudService, language_to_request};
use crate::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions};
use crate::events::{EventSink, Segment};
use async_trait::async_trait;
use reqwest::Url;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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

/// What one part's answer says: its segments (times relative to the part) when the service
/// did not already stream them to the [`PartOutput`], and what it says about the file.
#[derive(Debug, Default)]
pub(crate) struct PartReport {
    pub segments: Vec<Segment>,
    pub language: Option<String>,
    pub duration_s: Option<f64>,
    /// Things the user should be told; a message several parts give is told once.
    pub warnings: Vec<String>,
}

/// One service's protocol for one upload part, on the shared [`BatchEngine`].
#[async_trait]
pub(crate) trait PartService: Send + Sync {
    const SERVICE: CloudService;
    /// What every part of a file is sent with (form fields, a query config), decided once.
    type PerFile: Send + Sync;

    /// The formats and limits the service takes.
    fn upload_rules(&self) -> UploadRules;

    /// Checks the options and decides what every part is sent with; `language` is the one
    /// [`language_to_request`] gave (`None`: the service detects it).
    fn per_file(
        &self,
        language: Option<&str>,
        options: &TranscribeOptions,
    ) -> Result<Self::PerFile, EngineError>;

    /// Anything to say once the parts are known, before the first is sent.
    fn before_parts(&self, _prepared: &PreparedUpload, _sink: &EventSink) {}

    /// Sends one part and reads its answer.
    async fn transcribe_part(
        &self,
        part: &UploadPart,
        per_file: &Self::PerFile,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<PartReport, EngineError>;
}

#[async_trait]
impl<O: Send + Sync> Engine for BatchEngine<O>
where
    BatchEngine<O>: PartService,
{
    fn name(&self) -> &str {
        <Self as PartService>::SERVICE.id()
    }

    /// Prepares the upload, then sends the parts one after the other, each part's segments
    /// shifted to its place in the file.
    async fn transcribe_file(
        &self,
        path: &Path,
        options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        let language = language_to_request(<Self as PartService>::SERVICE, options)?;
        let per_file = self.per_file(language.as_deref(), options)?;
        let (prepared, mut output) = prepare_parts(
            path,
            self.upload_rules(),
            self.transcoder.clone(),
            sink,
            cancel,
        )
        .await?;
        self.before_parts(&prepared, sink);
        let mut summary = PartsSummary::default();
        let mut warned: Vec<String> = Vec::new();
        for (index, part) in prepared.parts.iter().enumerate() {
            output.start_part(index, part.start_s);
            let report = self
                .transcribe_part(part, &per_file, &mut output, cancel)
                .await?;
            for message in report.warnings {
                if !warned.contains(&message) {
                    sink.warning(message.clone());
                    warned.push(message);
                }
            }
            for segment in report.segments {
                output.segment(segment);
            }
            summary.note_part(report.language, report.duration_s);
        }
        Ok(summary.outcome(language, &prepared))
    }
}
