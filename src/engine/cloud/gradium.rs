//! Gradium's REST transcription: the raw audio in one POST, NDJSON back as it is decoded.
//!
//! Each `text` line is a new piece of the transcript (appended, never revised) and the
//! `end_text` that follows gives its stop time; together they make one segment. An `error`
//! line can arrive after the 200 status and ends the stream; failures before the stream are
//! HTTP 500 with a plain-text body, `error from server <code>: <reason>` or a bare message.

use super::batch::{BatchEngine, PartReport, PartService};
use super::framing::LineSplitter;
use super::http::{
    BodyReader, FailedResponse, ServiceHttp, Verdict, file_body, one_line_excerpt, with_kept_note,
};
use super::options::{CloudOptions, GradiumOptions};
use super::output::PartOutput;
use super::upload::{Transcoder, UploadPart, UploadRules};
use super::{ApiKey, CloudService};
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::Segment;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const ASR_PATH: &str = "/api/post/speech/asr";
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// The Gradium engine (REST, file mode).
pub type GradiumEngine = BatchEngine<GradiumOptions>;

impl GradiumEngine {
    pub fn new(
        options: &CloudOptions,
        key: ApiKey,
        transcoder: Arc<dyn Transcoder>,
    ) -> Result<GradiumEngine, EngineError> {
        options.gradium.validate().map_err(EngineError::Service)?;
        BatchEngine::connect(
            CloudService::Gradium,
            options,
            &options.gradium,
            options.gradium.endpoint.as_deref(),
            ASR_PATH,
            key,
            transcoder,
        )
    }

    async fn send_part(
        &self,
        part: &UploadPart,
        json_config: Option<&str>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        let url = self.url.clone();
        let key = self.http.key().expose().to_string();
        let model = self.options.model.clone();
        let content_type = part.format.content_type();
        let path = part.path.clone();
        let json_config = json_config.map(str::to_string);
        let client = self.http.client().clone();
        let mut make_request = move || {
            let (body, size_bytes) = file_body(&path)?;
            let mut query: Vec<(&str, &str)> = vec![("model", model.as_str())];
            if let Some(config) = &json_config {
                query.push(("json_config", config.as_str()));
            }
            Ok(client
                .post(url.clone())
                .query(&query)
                .header("x-api-key", key.as_str())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .header(reqwest::header::CONTENT_LENGTH, size_bytes)
                .body(body))
        };
        let judge = |failure: &FailedResponse| gradium_verdict(&self.http, failure);
        let response = self
            .http
            .send(&mut make_request, &judge, output.sink(), cancel)
            .await?;
        let mut reader = BodyReader::new(response, &self.http.network, CloudService::Gradium)?;
        let mut lines = LineSplitter::new(MAX_LINE_BYTES);
        let mut assembler = Assembler::default();
        let result = self
            .read_stream(&mut reader, &mut lines, &mut assembler, output, cancel)
            .await;
        // Whatever ended the stream, text already received is kept.
        for segment in assembler.finish() {
            output.segment(segment);
        }
        result.map_err(|error| with_kept_note(error, output.segments_sent))
    }

    async fn read_stream(
        &self,
        reader: &mut BodyReader,
        lines: &mut LineSplitter,
        assembler: &mut Assembler,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<(), EngineError> {
        loop {
            let complete = match reader.next_chunk(cancel).await? {
                Some(chunk) => lines.push(&chunk).map_err(|error| {
                    EngineError::Service(format!(
                        "Gradium sent {error} without a line break; try again"
                    ))
                })?,
                None => {
                    if let Some(line) = lines.finish() {
                        self.handle_line(&line, assembler, output)?;
                    }
                    return Ok(());
                }
            };
            for line in complete {
                self.handle_line(&line, assembler, output)?;
            }
        }
    }

    fn handle_line(
        &self,
        line: &str,
        assembler: &mut Assembler,
        output: &mut PartOutput<'_>,
    ) -> Result<(), EngineError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let message: Message = serde_json::from_str(line).map_err(|_| {
            EngineError::Service(format!(
                "Gradium sent a line that is not a valid message ({}); try again",
                one_line_excerpt(&line.chars().take(80).collect::<String>())
            ))
        })?;
        match message {
            Message::Text {
                text,
                start_s,
                stream_id,
            } => {
                let start_s = start_s.unwrap_or(assembler.last_time_s);
                for segment in assembler.on_text(stream_id.unwrap_or(0), &text, start_s) {
                    output.segment(segment);
                }
                output.hypothesis(text.trim(), Some(start_s));
            }
            Message::EndText { stop_s, stream_id } => {
                if let Some(segment) = assembler.on_end(stream_id.unwrap_or(0), stop_s) {
                    output.segment(segment);
                }
            }
            Message::Error { message, code } => {
                let detail = match (code, message) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (None, Some(message)) => message,
                    (Some(code), None) => code.to_string(),
                    (None, None) => "no reason given".into(),
                };
                return Err(EngineError::Service(format!(
                    "Gradium stopped with an error ({}); try again",
                    one_line_excerpt(&self.http.scrub(&detail))
                )));
            }
            Message::Ready { .. } | Message::Step { .. } | Message::Flushed | Message::EndOfStream | Message::Other => {}
        }
        Ok(())
    }
}

#[async_trait]
impl PartService for GradiumEngine {
    const SERVICE: CloudService = CloudService::Gradium;
    /// The `json_config` query value.
    type PerFile = Option<String>;

    fn upload_rules(&self) -> UploadRules {
        UploadRules::gradium()
    }

    fn per_file(
        &self,
        language: Option<&str>,
        _options: &TranscribeOptions,
    ) -> Result<Option<String>, EngineError> {
        GradiumOptions::validate_language(language).map_err(EngineError::Service)?;
        Ok(json_config(&self.options, language))
    }

    /// The segments stream to `output` as Gradium decodes them; the report adds nothing.
    async fn transcribe_part(
        &self,
        part: &UploadPart,
        json_config: &Option<String>,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<PartReport, EngineError> {
        self.send_part(part, json_config.as_deref(), output, cancel)
            .await?;
        Ok(PartReport::default())
    }
}

/// The `json_config` query value: only the settings that are set, `None` when none is.
pub fn json_config(options: &GradiumOptions, language: Option<&str>) -> Option<String> {
    let mut config = serde_json::Map::new();
    if let Some(language) = language {
        config.insert("language".into(), language.into());
    }
    if let Some(temp) = options.temp {
        config.insert("temp".into(), temp.into());
    }
    if let Some(bonus) = options.padding_bonus {
        config.insert("padding_bonus".into(), bonus.into());
    }
    if let Some(frames) = options.delay_in_frames {
        config.insert("delay_in_frames".into(), frames.into());
    }
    (!config.is_empty()).then(|| serde_json::Value::Object(config).to_string())
}

/// Reads Gradium's failures: the plain-text 500 (`error from server <code>: <reason>` or a
/// bare proxy message) first, then the usual statuses.
fn gradium_verdict(http: &ServiceHttp, failure: &FailedResponse) -> Verdict {
    let body = failure.body.trim();
    if let Some((code, reason)) = parse_server_error(body) {
        let reason = one_line_excerpt(reason);
        if code == 1008 && mentions_key(&reason) {
            return Verdict::KeyRejected {
                detail: format!("{code}: {reason}"),
            };
        }
        return Verdict::Fail(match code {
            1011 => format!("Gradium failed on its side ({code}: {reason}); try again later"),
            _ => format!(
                "Gradium refused the request ({code}: {reason}); check the options and the audio format"
            ),
        });
    }
    let is_json = serde_json::from_str::<serde_json::Value>(body).is_ok();
    if failure.status.as_u16() == 500 && !body.is_empty() && !is_json && !body.starts_with('<') {
        let reason = one_line_excerpt(body);
        let hint = if reason.contains("content type") || reason.contains("format") {
            "convert the file to 16-bit WAV or Ogg Opus"
        } else {
            "check the options and the file"
        };
        return Verdict::Fail(format!("Gradium refused the request ({reason}); {hint}"));
    }
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            ["message", "detail", "error"]
                .iter()
                .find_map(|field| value.get(field)?.as_str().map(str::to_string))
        });
    let message =
        message.or_else(|| (!body.is_empty() && !body.starts_with('<')).then(|| body.to_string()));
    http.default_verdict(failure, message.as_deref())
}

/// Whether a 1008 refusal is about the key (rather than the setup or the audio format).
pub(crate) fn mentions_key(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    ["key", "auth", "token", "credential"].iter().any(|word| reason.contains(word))
}

/// Splits `error from server <code>: <reason>`.
pub fn parse_server_error(body: &str) -> Option<(i64, &str)> {
    let rest = body.trim().strip_prefix("error from server ")?;
    let (code, reason) = rest.split_once(':')?;
    Some((code.trim().parse().ok()?, reason.trim()))
}

/// What Gradium sends, on REST (`text`, `end_text`, `error`) and on the WebSocket (all).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Message {
    /// The WebSocket's first answer.
    Ready {
        #[serde(default)]
        sample_rate: Option<f64>,
        #[serde(default)]
        frame_size: Option<f64>,
    },
    Text {
        text: String,
        #[serde(default)]
        start_s: Option<f64>,
        /// `null` on the WebSocket; an integer in the Rust SDK.
        #[serde(default)]
        stream_id: Option<i64>,
    },
    EndText {
        stop_s: f64,
        #[serde(default)]
        stream_id: Option<i64>,
    },
    /// Every 80 ms of WebSocket audio: the voice activity outlook.
    Step {
        #[serde(default)]
        vad: Vec<VadHorizon>,
        #[serde(default)]
        total_duration_s: Option<f64>,
    },
    /// A flush was done; its `flush_id` is an integer or, in an older example, a string: not
    /// read.
    Flushed,
    EndOfStream,
    Error {
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        code: Option<i64>,
    },
    #[serde(other)]
    Other,
}

/// One horizon of a `step`'s `vad`.
#[derive(Debug, Deserialize)]
pub(crate) struct VadHorizon {
    pub inactivity_prob: f64,
}

/// Pairs each `text` with the `end_text` that follows it on the same stream (REST and
/// WebSocket alike).
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    pending: Vec<(i64, String, f64)>,
    pub(crate) last_time_s: f64,
}

impl Assembler {
    /// A new piece of text; a piece still open on the same stream is closed at its start.
    pub(crate) fn on_text(&mut self, stream_id: i64, text: &str, start_s: f64) -> Vec<Segment> {
        let mut closed = Vec::new();
        if let Some(position) = self.pending.iter().position(|(id, _, _)| *id == stream_id) {
            let (_, previous, previous_start_s) = self.pending.remove(position);
            closed.extend(piece(previous, previous_start_s, start_s));
        }
        self.last_time_s = self.last_time_s.max(start_s);
        self.pending.push((stream_id, text.to_string(), start_s));
        closed
    }

    pub(crate) fn on_end(&mut self, stream_id: i64, stop_s: f64) -> Option<Segment> {
        self.last_time_s = self.last_time_s.max(stop_s);
        let position = self
            .pending
            .iter()
            .position(|(id, _, _)| *id == stream_id)?;
        let (_, text, start_s) = self.pending.remove(position);
        piece(text, start_s, stop_s)
    }

    /// Pieces never closed (the stream ended or broke); they end where they start, or at the
    /// latest time seen.
    pub(crate) fn finish(&mut self) -> Vec<Segment> {
        let last_time_s = self.last_time_s;
        std::mem::take(&mut self.pending)
            .into_iter()
            .filter_map(|(_, text, start_s)| piece(text, start_s, last_time_s))
            .collect()
    }
}

fn piece(text: String, start_s: f64, end_s: f64) -> Option<Segment> {
    let text = text.trim();
    (!text.is_empty()).then(|| Segment {
        revision_key: None,
        start_s,
        end_s: end_s.max(start_s),
        text: text.to_string(),
        speaker: None,
        words: Vec::new(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_config_holds_only_what_is_set() {
        let mut options = GradiumOptions::default();
        assert_eq!(json_config(&options, None), None);
        options.temp = Some(0.2);
        options.delay_in_frames = Some(16);
        let config: serde_json::Value =
            serde_json::from_str(&json_config(&options, Some("fr")).unwrap()).unwrap();
        assert_eq!(
            config,
            serde_json::json!({"language": "fr", "temp": 0.2, "delay_in_frames": 16})
        );
    }

    #[test]
    fn server_errors_are_parsed() {
        assert_eq!(
            parse_server_error("error from server 1008: API key is revoked or expired"),
            Some((1008, "API key is revoked or expired"))
        );
        assert_eq!(
            parse_server_error("unsupported content type for SST 'audio/mpeg'"),
            None
        );
    }

    #[test]
    fn texts_pair_with_their_end_and_unclosed_ones_are_kept() {
        let mut assembler = Assembler::default();
        assert!(assembler.on_text(0, "Hello", 0.5).is_empty());
        let closed = assembler.on_end(0, 1.0).unwrap();
        assert_eq!(
            (closed.text.as_str(), closed.start_s, closed.end_s),
            ("Hello", 0.5, 1.0)
        );
        assembler.on_text(0, " world", 1.2);
        let closed = assembler.on_text(0, "again", 2.0);
        assert_eq!((closed[0].text.as_str(), closed[0].end_s), ("world", 2.0));
        let rest = assembler.finish();
        assert_eq!(
            (rest[0].text.as_str(), rest[0].start_s, rest[0].end_s),
            ("again", 2.0, 2.0)
        );
        assert!(assembler.on_end(0, 3.0).is_none());
    }
}
