//! 60db's REST transcription: a multipart upload to `POST /stt`, JSON back with segments,
//! words and (with `diarize`) speakers.
//!
//! Speaker ids (`SPEAKER_00`…) go on the segments as they are; the transcript names them
//! "Speaker 1", "Speaker 2"… in order of first appearance. A segment spoken by several
//! speakers is split at word boundaries when words have times. Empty results with
//! `no_speech_detected` or `low_snr_dropped` are not failures: the user gets a warning. The
//! concurrency 429 waits for capacity instead of hammering; the upstream 429 honours
//! `Retry-After`; 503 backs off.

use super::batch::{BatchEngine, PartReport, PartService};
use super::http::{FailedResponse, MultipartUpload, ServiceHttp, Verdict, one_line_excerpt};
use super::options::{CloudOptions, SixtyDbOptions};
use super::output::PartOutput;
use super::upload::{PreparedUpload, Transcoder, UploadPart, UploadRules};
use super::{ApiKey, CloudService};
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::{EventSink, Segment, Word};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

const STT_PATH: &str = "/stt";
/// The file part's name in the API reference.
const FILE_FIELD: &str = "file";
/// The file part's name in the official SDK, tried when an endpoint says `file` is missing.
const SDK_FILE_FIELD: &str = "audio";
/// Endpoints that asked for the file under [`SDK_FILE_FIELD`]: remembered for the rest of the
/// process, so only the first upload to each pays for the second request.
static ENDPOINTS_WANTING_SDK_FIELD: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The message the service's documentation asks clients to show for `low_snr_dropped`.
pub const LOW_SNR_MESSAGE: &str = "Audio too noisy — try recording in a quieter environment";

/// The 60db engine (REST, file mode).
pub type SixtyDbEngine = BatchEngine<SixtyDbOptions>;

impl SixtyDbEngine {
    pub fn new(
        options: &CloudOptions,
        key: ApiKey,
        transcoder: Arc<dyn Transcoder>,
    ) -> Result<SixtyDbEngine, EngineError> {
        options.sixtydb.validate().map_err(EngineError::Service)?;
        BatchEngine::connect(
            CloudService::SixtyDb,
            options,
            &options.sixtydb,
            options.sixtydb.endpoint.as_deref(),
            STT_PATH,
            key,
            transcoder,
        )
    }

    /// The form's text fields, in the documented names.
    fn fields(
        &self,
        language: Option<&str>,
        context: Option<&str>,
        word_timestamps: bool,
    ) -> Vec<(&'static str, String)> {
        let options = &self.options;
        let mut fields = Vec::new();
        if let Some(language) = language {
            fields.push(("language", language.to_string()));
        }
        if !options.languages.is_empty() {
            fields.push(("languages", options.languages.join(",")));
        }
        if options.diarize {
            fields.push(("diarize", "true".into()));
            if let Some(min) = options.min_speakers {
                fields.push(("min_speakers", min.to_string()));
            }
            if let Some(max) = options.max_speakers {
                fields.push(("max_speakers", max.to_string()));
            }
        }
        fields.push((
            "return_timestamps",
            if word_timestamps { "word" } else { "none" }.into(),
        ));
        if options.include_confidence {
            fields.push(("include_confidence", "true".into()));
        }
        if let Some(context) = context.filter(|context| !context.trim().is_empty()) {
            fields.push(("context", context.to_string()));
        }
        if let Some(keywords) = &options.keywords {
            fields.push(("keywords", keywords.trim().to_string()));
        }
        if options.script_correction {
            fields.push(("script_correction", "true".into()));
        }
        fields
    }

    /// Sends a part with the file under `file`, the documented name; if the endpoint answers
    /// that the file field is missing, once more under `audio` (the SDK's name), which is then
    /// used for this endpoint from now on.
    async fn send_part(
        &self,
        part: &UploadPart,
        fields: &[(&'static str, String)],
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<SttResponse, EngineError> {
        let endpoint = self.url.as_str();
        let remembered = |list: &[String]| list.iter().any(|known| known == endpoint);
        let wants_sdk_field = remembered(&lock(&ENDPOINTS_WANTING_SDK_FIELD));
        let first_field = if wants_sdk_field {
            SDK_FILE_FIELD
        } else {
            FILE_FIELD
        };
        let (result, field_missing) = self
            .send_part_as(part, fields, first_field, output, cancel)
            .await;
        if !(field_missing && first_field == FILE_FIELD) {
            return result;
        }
        let (result, still_missing) = self
            .send_part_as(part, fields, SDK_FILE_FIELD, output, cancel)
            .await;
        if !still_missing {
            let mut endpoints = lock(&ENDPOINTS_WANTING_SDK_FIELD);
            if !remembered(&endpoints) {
                endpoints.push(endpoint.to_string());
            }
        }
        result
    }

    /// One upload of a part with the file under `file_field`; also says whether a refusal
    /// named a missing file field.
    async fn send_part_as(
        &self,
        part: &UploadPart,
        fields: &[(&'static str, String)],
        file_field: &'static str,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> (Result<SttResponse, EngineError>, bool) {
        let upload = MultipartUpload {
            url: self.url.clone(),
            query: Vec::new(),
            part,
            file_field,
            fields: fields.to_vec(),
        };
        let field_missing = AtomicBool::new(false);
        let judge = |failure: &FailedResponse| {
            if names_missing_file_field(failure) {
                field_missing.store(true, Ordering::Relaxed);
            }
            sixtydb_verdict(&self.http, failure)
        };
        let result = self
            .http
            .send_multipart_for_json::<SttBody>(upload, &judge, output.sink(), cancel)
            .await
            .map(SttBody::into_response);
        (result, field_missing.load(Ordering::Relaxed))
    }
}

#[async_trait]
impl PartService for SixtyDbEngine {
    const SERVICE: CloudService = CloudService::SixtyDb;
    /// The form's text fields.
    type PerFile = Vec<(&'static str, String)>;

    fn upload_rules(&self) -> UploadRules {
        UploadRules::sixtydb()
    }

    fn per_file(
        &self,
        language: Option<&str>,
        options: &TranscribeOptions,
    ) -> Result<Self::PerFile, EngineError> {
        let context = self
            .options
            .context
            .clone()
            .or_else(|| options.prompt.clone());
        Ok(self.fields(language, context.as_deref(), options.word_timestamps))
    }

    fn before_parts(&self, prepared: &PreparedUpload, sink: &EventSink) {
        if prepared.parts.len() > 1 && self.options.diarize {
            sink.warning("speaker labels are assigned per part by 60db, so the same person may get a different label in each part");
        }
    }

    async fn transcribe_part(
        &self,
        part: &UploadPart,
        fields: &Self::PerFile,
        output: &mut PartOutput<'_>,
        cancel: &CancellationToken,
    ) -> Result<PartReport, EngineError> {
        let response = self.send_part(part, fields, output, cancel).await?;
        let duration_s = response.duration_s().or(part.duration_s);
        Ok(PartReport {
            warnings: response.warning_messages(),
            language: response.language.clone().filter(|code| !code.is_empty()),
            segments: response.into_segments(duration_s),
            duration_s,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a refusal says the file part is missing (a 400 or 422 naming the file or audio
/// field as missing or required).
fn names_missing_file_field(failure: &FailedResponse) -> bool {
    if !matches!(failure.status.as_u16(), 400 | 422) {
        return false;
    }
    let body = failure.body.to_ascii_lowercase();
    let names_field = body.contains("file") || body.contains("audio");
    let says_missing = ["missing", "required", "not provided", "no file", "no audio"]
        .iter()
        .any(|phrase| body.contains(phrase));
    names_field && says_missing
}

/// 60db's answer as it comes (what the SDK's code returns), or wrapped as the SDK's README
/// reads it: `{"success": true, "data": {…}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SttBody {
    Wrapped { data: SttResponse },
    Flat(SttResponse),
}

impl SttBody {
    fn into_response(self) -> SttResponse {
        match self {
            SttBody::Wrapped { data } | SttBody::Flat(data) => data,
        }
    }
}

/// The parts of 60db's answer this client uses; everything else is ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SttResponse {
    pub text: Option<String>,
    pub language: Option<String>,
    pub duration_sec: Option<f64>,
    /// The seed's name for `duration_sec`.
    pub duration: Option<f64>,
    pub segments: Vec<SttSegment>,
    pub words: Vec<SttWord>,
    pub warnings: Vec<SttWarning>,
    pub warning_codes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SttSegment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub words: Vec<SttWord>,
    pub speakers: Vec<SttSpeaker>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SttWord {
    pub word: String,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SttSpeaker {
    pub speaker: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SttWarning {
    pub code: String,
    pub message: Option<String>,
}

impl SttResponse {
    pub fn duration_s(&self) -> Option<f64> {
        self.duration_sec.or(self.duration)
    }

    /// One message per warning code, in the words the user should read.
    pub fn warning_messages(&self) -> Vec<String> {
        let mut codes: Vec<(String, Option<String>)> = self
            .warnings
            .iter()
            .map(|w| (w.code.clone(), w.message.clone()))
            .collect();
        for code in &self.warning_codes {
            if !codes.iter().any(|(known, _)| known == code) {
                codes.push((code.clone(), None));
            }
        }
        codes
            .into_iter()
            .filter(|(code, _)| !code.is_empty())
            .map(|(code, message)| match code.as_str() {
                "no_speech_detected" => {
                    "60db found no speech in the audio (only silence, noise or music)".to_string()
                }
                "low_snr_dropped" => LOW_SNR_MESSAGE.to_string(),
                "llm_refinement_not_in_plan" => {
                    "60db ignored the context: your plan does not include the refinement pass"
                        .to_string()
                }
                "inline_code_switch_partial" => {
                    "60db: some words were transcribed in a different language than their segment"
                        .to_string()
                }
                _ => format!(
                    "60db: {}",
                    one_line_excerpt(message.as_deref().unwrap_or(&code))
                ),
            })
            .collect()
    }

    /// The transcript as segments: per segment with its speaker; split where the speaker
    /// changes between timed words; the bare text as one segment when there are none.
    pub fn into_segments(&self, duration_s: Option<f64>) -> Vec<Segment> {
        let mut segments = Vec::new();
        for segment in &self.segments {
            let words = timed_words(&segment.words);
            let text = segment.text.trim();
            if text.is_empty() && words.is_empty() {
                continue;
            }
            let distinct: Vec<&str> = distinct_speakers(&segment.speakers);
            if distinct.len() >= 2 && !words.is_empty() && words.len() == segment.words.len() {
                segments.extend(split_by_speaker(&words, &segment.speakers));
                continue;
            }
            segments.push(Segment {
                revision_key: None,
                start_s: segment.start,
                end_s: segment.end.max(segment.start),
                text: if text.is_empty() {
                    join_words(&words)
                } else {
                    text.to_string()
                },
                speaker: dominant_speaker(segment.start, segment.end, &segment.speakers),
                words,
                ..Default::default()
            });
        }
        if segments.is_empty()
            && let Some(text) = self
                .text
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
        {
            let words = timed_words(&self.words);
            let end_s = duration_s
                .or(words.last().map(|word| word.end_s))
                .unwrap_or(0.0);
            segments.push(Segment {
                revision_key: None,
                start_s: 0.0,
                end_s,
                text: text.to_string(),
                speaker: None,
                words,
                ..Default::default()
            });
        }
        segments
    }
}

fn timed_words(words: &[SttWord]) -> Vec<Word> {
    words
        .iter()
        .filter_map(|word| {
            let (start_s, end_s) = (word.start?, word.end?);
            let text = word.word.trim();
            (!text.is_empty()).then(|| Word {
                text: text.to_string(),
                start_s,
                end_s: end_s.max(start_s),
                probability: word.confidence.map(|c| c as f32),
            })
        })
        .collect()
}

fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|word| word.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn distinct_speakers(speakers: &[SttSpeaker]) -> Vec<&str> {
    let mut distinct: Vec<&str> = Vec::new();
    for speaker in speakers {
        if !speaker.speaker.is_empty() && !distinct.contains(&speaker.speaker.as_str()) {
            distinct.push(&speaker.speaker);
        }
    }
    distinct
}

/// The speaker who talks longest within `start_s..end_s`.
fn dominant_speaker(start_s: f64, end_s: f64, speakers: &[SttSpeaker]) -> Option<String> {
    let mut best: Option<(&str, f64)> = None;
    for candidate in distinct_speakers(speakers) {
        let overlap: f64 = speakers
            .iter()
            .filter(|turn| turn.speaker == candidate)
            .map(|turn| (turn.end.min(end_s) - turn.start.max(start_s)).max(0.0))
            .sum();
        if best.is_none_or(|(_, longest)| overlap > longest) {
            best = Some((candidate, overlap));
        }
    }
    best.map(|(speaker, _)| speaker.to_string())
}

/// Consecutive words of the same speaker (by the turn covering most of each word) become
/// one segment.
fn split_by_speaker(words: &[Word], speakers: &[SttSpeaker]) -> Vec<Segment> {
    let Some(first) = words.first() else { return Vec::new() };
    let whole = Segment {
        revision_key: None,
        start_s: first.start_s,
        end_s: words.iter().map(|word| word.end_s).fold(first.end_s, f64::max),
        text: words.iter().map(|word| word.text.as_str()).collect::<Vec<_>>().join(" "),
        speaker: None,
        words: words.to_vec(),
        ..Default::default()
    };
    // A word no turn covers stays with the speaker before it, as the shared splitter does.
    let labels: Vec<Option<String>> =
        words.iter().map(|word| dominant_speaker(word.start_s, word.end_s, speakers)).collect();
    crate::diarize::assign::split_words_by_speaker(whole, &labels)
}

/// 60db's error envelope: `{"success":false,"error":…,"message":…,"error_code":…,"details":…}`.
fn envelope(body: &str) -> (Option<String>, Option<String>, Option<u64>) {
    let Ok(value) = serde_json::from_str::<Value>(body.trim()) else {
        let text = body.trim();
        return (
            None,
            (!text.is_empty() && !text.starts_with('<')).then(|| text.to_string()),
            None,
        );
    };
    let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_string);
    let looks_like_code = |text: &String| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    };
    let code = text("error_code").or_else(|| text("error").filter(looks_like_code));
    let message = text("message").or_else(|| text("error").filter(|error| !looks_like_code(error)));
    let limit = value
        .get("details")
        .and_then(|details| details.get("limit"))
        .and_then(Value::as_u64);
    (code, message, limit)
}

fn sixtydb_verdict(http: &ServiceHttp, failure: &FailedResponse) -> Verdict {
    let (code, message, limit) = envelope(&failure.body);
    let status = failure.status.as_u16();
    let code_text = code.clone().unwrap_or_default();
    let detail = match (&code, &message) {
        (Some(code), Some(message)) => format!(" {code}: {}", one_line_excerpt(message)),
        (Some(code), None) => format!(" {code}"),
        (None, Some(message)) => format!(": {}", one_line_excerpt(message)),
        (None, None) => String::new(),
    };
    match (status, code_text.as_str()) {
        (429, "STT_CONCURRENCY_LIMIT") => Verdict::WaitForCapacity {
            reason: format!(
                "says too many of your transcriptions are running at once (429 STT_CONCURRENCY_LIMIT{})",
                limit
                    .map(|limit| format!(", limit {limit}"))
                    .unwrap_or_default()
            ),
        },
        (429, _) => Verdict::Retry {
            reason: format!("is limiting the request rate (429{detail})"),
        },
        (499, _) => Verdict::Fail(format!(
            "60db says the request was cancelled (499{detail}); start it again"
        )),
        (502..=504, _) => Verdict::Retry {
            reason: format!("is unavailable ({status}{detail})"),
        },
        (402, _) => Verdict::Fail(format!(
            "60db refused the request: the workspace wallet is empty (402{detail}); top up your 60db workspace"
        )),
        _ => {
            let server_message = match (code, message) {
                (Some(code), Some(message)) => Some(format!("{message} ({code})")),
                (code, message) => message.or(code),
            };
            http.default_verdict(failure, server_message.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_with_two_speakers_is_split_at_the_words() {
        let response: SttResponse = serde_json::from_value(serde_json::json!({
            "text": "yes no", "duration_sec": 2.0,
            "segments": [{"start": 0.0, "end": 2.0, "text": "yes no",
                "words": [{"word": "yes", "start": 0.0, "end": 0.5}, {"word": "no", "start": 1.2, "end": 1.6, "confidence": 0.5}],
                "speakers": [{"speaker": "SPEAKER_01", "start": 0.0, "end": 1.0}, {"speaker": "SPEAKER_00", "start": 1.0, "end": 2.0}]}]
        }))
        .unwrap();
        let segments = response.into_segments(Some(2.0));
        assert_eq!(segments.len(), 2);
        assert_eq!(
            (segments[0].text.as_str(), segments[0].speaker.as_deref()),
            ("yes", Some("SPEAKER_01"))
        );
        assert_eq!(
            (segments[1].text.as_str(), segments[1].speaker.as_deref()),
            ("no", Some("SPEAKER_00"))
        );
        assert_eq!(segments[1].words[0].probability, Some(0.5));
    }

    #[test]
    fn without_words_the_longest_speaker_gets_the_segment() {
        let response: SttResponse = serde_json::from_value(serde_json::json!({
            "segments": [{"start": 0.0, "end": 3.0, "text": "hello",
                "speakers": [{"speaker": "SPEAKER_00", "start": 0.0, "end": 1.0}, {"speaker": "SPEAKER_01", "start": 1.0, "end": 3.0}]}]
        }))
        .unwrap();
        let segments = response.into_segments(None);
        assert_eq!(segments[0].speaker.as_deref(), Some("SPEAKER_01"));
        assert!(segments[0].words.is_empty());
    }

    #[test]
    fn warnings_become_user_messages_once_each() {
        let response: SttResponse = serde_json::from_value(serde_json::json!({
            "text": "", "warnings": [{"code": "low_snr_dropped", "message": "SNR below floor", "affected_segments": []}],
            "warning_codes": ["low_snr_dropped", "something_new"]
        }))
        .unwrap();
        assert_eq!(
            response.warning_messages(),
            [
                LOW_SNR_MESSAGE.to_string(),
                "60db: something_new".to_string()
            ]
        );
        assert!(response.into_segments(Some(4.0)).is_empty());
    }

    #[test]
    fn the_error_envelope_is_read_with_or_without_error_code() {
        let (code, message, limit) = envelope(
            r#"{"success":false,"error":"STT_CONCURRENCY_LIMIT","message":"Too many","details":{"limit":8}}"#,
        );
        assert_eq!(
            (code.as_deref(), message.as_deref(), limit),
            (Some("STT_CONCURRENCY_LIMIT"), Some("Too many"), Some(8))
        );
        let (code, message, _) = envelope(
            r#"{"success":false,"error":"Unauthorized","message":"Invalid key","error_code":"UNAUTHENTICATED"}"#,
        );
        assert_eq!(
            (code.as_deref(), message.as_deref()),
            (Some("UNAUTHENTICATED"), Some("Invalid key"))
        );
        let (code, message, _) = envelope("upstream timeout");
        assert_eq!((code, message.as_deref()), (None, Some("upstream timeout")));
    }
}
