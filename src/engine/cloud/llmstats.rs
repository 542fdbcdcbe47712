//! The LLM Stats gateway: a multipart upload to `POST /v1/stt/transcribe`, JSON back with the
//! text and, when the provider has them, timed words.
//!
//! Segments are built from the words (cut at sentence ends, pauses and a readable length,
//! with punctuation recovered from the text); without words the text is one segment for the
//! whole file. Files over the gateway's 25 MB are re-encoded or split before upload.

use super::batch::{BatchEngine, PartReport, PartService};
use super::http::{FailedResponse, MultipartUpload, ServiceHttp, Verdict, one_line_excerpt};
use super::options::{CloudOptions, LlmStatsOptions};
use super::output::PartOutput;
use super::upload::{Transcoder, UploadPart, UploadRules};
use super::words::{SegmentRules, segments_from_words, text_as_one_segment};
use super::{ApiKey, CloudService};
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::{Segment, Word};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const TRANSCRIBE_PATH: &str = "/v1/stt/transcribe";

/// The LLM Stats engine (batch HTTP).
pub type LlmStatsEngine = BatchEngine<LlmStatsOptions>;

impl LlmStatsEngine {
    pub fn new(
        options: &CloudOptions,
        key: ApiKey,
        transcoder: Arc<dyn Transcoder>,
    ) -> Result<LlmStatsEngine, EngineError> {
        options.llmstats.validate().map_err(EngineError::Service)?;
        BatchEngine::connect(
            CloudService::LlmStats,
            options,
            &options.llmstats,
            options.llmstats.endpoint.as_deref(),
            TRANSCRIBE_PATH,
            key,
            transcoder,
        )
    }

    async fn send_part(
        &self,
        part: &UploadPart,
        language: Option<&str>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<GatewayResponse, EngineError> {
        let mut fields = vec![("model_id", self.options.model_id.trim().to_string())];
        if let Some(language) = language {
            fields.push(("language", language.to_string()));
        }
        if let Some(provider) = &self.options.provider_id {
            fields.push(("provider_id", provider.trim().to_string()));
        }
        let upload = MultipartUpload {
            url: self.url.clone(),
            query: Vec::new(),
            part,
            file_field: "audio",
            fields,
        };
        let judge = |failure: &FailedResponse| llmstats_verdict(&self.http, failure);
        self.http
            .send_multipart_for_json(upload, &judge, output.sink(), cancel)
            .await
    }
}

#[async_trait]
impl PartService for LlmStatsEngine {
    const SERVICE: CloudService = CloudService::LlmStats;
    /// The language asked for.
    type PerFile = Option<String>;

    fn upload_rules(&self) -> UploadRules {
        UploadRules::llmstats()
    }

    fn per_file(
        &self,
        language: Option<&str>,
        _options: &TranscribeOptions,
    ) -> Result<Option<String>, EngineError> {
        Ok(language.map(str::to_string))
    }

    async fn transcribe_part(
        &self,
        part: &UploadPart,
        language: &Option<String>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<PartReport, EngineError> {
        let response = self
            .send_part(part, language.as_deref(), output, cancel)
            .await?;
        let duration_s = response.duration.or(part.duration_s);
        Ok(PartReport {
            segments: response.segments(duration_s),
            language: response.language.filter(|code| !code.is_empty()),
            duration_s,
            warnings: Vec::new(),
        })
    }
}

/// The gateway's answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayResponse {
    pub text: String,
    pub duration: Option<f64>,
    pub language: Option<String>,
    pub confidence: Option<f64>,
    pub words: Option<Vec<GatewayWord>>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayWord {
    pub word: String,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub confidence: Option<f64>,
}

impl GatewayResponse {
    /// Segments built from the timed words, or the text as one segment.
    pub fn segments(&self, duration_s: Option<f64>) -> Vec<Segment> {
        let words: Vec<Word> = self
            .words
            .iter()
            .flatten()
            .filter_map(|word| {
                Some(Word {
                    text: word.word.clone(),
                    start_s: word.start?,
                    end_s: word.end?,
                    probability: word.confidence.map(|c| c as f32),
                })
            })
            .collect();
        let text = self.text.trim();
        if !words.is_empty() {
            return segments_from_words(
                &words,
                (!text.is_empty()).then_some(text),
                SegmentRules::default(),
            );
        }
        text_as_one_segment(text, duration_s)
    }
}

/// Reads the gateway's envelope `{"error":{"code","message","param"}}`.
fn envelope(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body.trim()).ok()?;
    let error = value.get("error")?;
    if let Some(text) = error.as_str() {
        return Some(text.to_string());
    }
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no reason given");
    let code = error.get("code").and_then(Value::as_str);
    let param = error.get("param").and_then(Value::as_str);
    Some(match (code, param) {
        (Some(code), Some(param)) => format!("{message} ({code}, field {param})"),
        (Some(code), None) => format!("{message} ({code})"),
        (None, Some(param)) => format!("{message} (field {param})"),
        (None, None) => message.to_string(),
    })
}

fn llmstats_verdict(http: &ServiceHttp, failure: &FailedResponse) -> Verdict {
    let message = envelope(&failure.body).or_else(|| {
        let text = failure.body.trim();
        (!text.is_empty() && !text.starts_with('<')).then(|| text.to_string())
    });
    match failure.status.as_u16() {
        502 => Verdict::Retry {
            reason: format!(
                "has no working provider for this model right now (502{})",
                message
                    .as_deref()
                    .map(|m| format!(": {}", one_line_excerpt(m)))
                    .unwrap_or_default()
            ),
        },
        _ => http.default_verdict(failure, message.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_segments_and_missing_words_one_segment() {
        let response: GatewayResponse = serde_json::from_value(serde_json::json!({
            "text": "Hello there. Bye.", "duration": 3.0, "language": "en", "confidence": null,
            "words": [{"word": "Hello", "start": 0.0, "end": 0.4, "confidence": 0.9}, {"word": "there", "start": 0.5, "end": 0.8},
                      {"word": "Bye", "start": 2.0, "end": 2.3}], "model": "whisper-1"
        }))
        .unwrap();
        let segments = response.segments(Some(3.0));
        assert_eq!(
            segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
            ["Hello there.", "Bye."]
        );
        assert_eq!(segments[0].words[0].probability, Some(0.9));
        let response: GatewayResponse = serde_json::from_value(
            serde_json::json!({"text": "Hi.", "duration": 1.5, "words": null}),
        )
        .unwrap();
        let segments = response.segments(Some(1.5));
        assert_eq!((segments.len(), segments[0].end_s), (1, 1.5));
    }

    #[test]
    fn the_error_envelope_is_read() {
        assert_eq!(
            envelope(
                r#"{"error":{"code":"invalid_input","message":"Unknown model","param":"model_id"}}"#
            )
            .as_deref(),
            Some("Unknown model (invalid_input, field model_id)")
        );
        assert_eq!(envelope("not json"), None);
    }
}
