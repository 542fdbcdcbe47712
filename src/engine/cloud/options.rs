//! Settings for the cloud services: one plain, serde-friendly struct per service, with the
//! checks that catch a bad value before any audio is uploaded.
//!
//! The CLI fills these from flags and the window persists them as they are; both hand them to
//! [`super::build_engine`]. Options every engine shares (language, prompt, word timestamps)
//! stay in [`crate::engine::TranscribeOptions`].

use super::CloudService;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::PathBuf;

/// Everything the cloud engines can be told, for all four services at once (the window keeps
/// one of these; only the chosen service's part is read).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudOptions {
    pub network: NetworkOptions,
    /// Where small caches (PolarGrid's route) live; `None` = the platform cache directory.
    pub cache_dir: Option<PathBuf>,
    pub gradium: GradiumOptions,
    pub polargrid: PolarGridOptions,
    pub llmstats: LlmStatsOptions,
    pub sixtydb: SixtyDbOptions,
}

impl CloudOptions {
    /// Checks the network settings and `service`'s own settings (the others are not read).
    pub fn validate_for(&self, service: CloudService) -> Result<(), String> {
        self.network.validate()?;
        match service {
            CloudService::Gradium => self.gradium.validate(),
            CloudService::PolarGrid => self.polargrid.validate(),
            CloudService::LlmStats => self.llmstats.validate(),
            CloudService::SixtyDb => self.sixtydb.validate(),
        }
    }

    /// The model `service` will be asked for, for labels ("whisper-1"); `None` where the
    /// service has no model choice (60db).
    pub fn model_for(&self, service: CloudService) -> Option<&str> {
        match service {
            CloudService::Gradium => Some(&self.gradium.model),
            CloudService::PolarGrid => Some(&self.polargrid.model),
            CloudService::LlmStats => Some(&self.llmstats.model_id),
            CloudService::SixtyDb => None,
        }
    }

    /// The endpoint override of `service`, for editing (`None` = the public one).
    pub fn endpoint_mut(&mut self, service: CloudService) -> &mut Option<String> {
        match service {
            CloudService::Gradium => &mut self.gradium.endpoint,
            CloudService::PolarGrid => &mut self.polargrid.endpoint,
            CloudService::LlmStats => &mut self.llmstats.endpoint,
            CloudService::SixtyDb => &mut self.sixtydb.endpoint,
        }
    }
}

/// Timeouts, limits and retry pacing shared by every service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkOptions {
    /// Longest wait to open a connection.
    pub connect_timeout_s: f64,
    /// Longest wait from sending a request until the response starts (uploads and server-side
    /// processing included; 60db's own limit is 600 s).
    pub response_timeout_s: f64,
    /// Longest silence while a response body streams in.
    pub idle_timeout_s: f64,
    /// Largest response body read; anything bigger is refused.
    pub max_response_bytes: u64,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay; doubles after each failure (1 s, 2 s, 4 s…), with jitter.
    pub retry_base_delay_s: f64,
    /// Longest backoff delay.
    pub retry_max_delay_s: f64,
    /// Longest wait a server may ask for (`Retry-After`, PolarGrid's poll interval); a
    /// server asking for more ends the run with a message.
    pub max_retry_after_s: f64,
    /// First wait when 60db says too many of the account's requests are in flight.
    pub concurrency_wait_s: f64,
    /// Shortest pause between two polls of a PolarGrid job (the SDK's floor is 1 s).
    pub poll_min_interval_s: f64,
    /// Longest wait for a PolarGrid job to finish.
    pub max_job_wait_s: f64,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            connect_timeout_s: 15.0,
            response_timeout_s: 900.0,
            idle_timeout_s: 120.0,
            max_response_bytes: 64 * 1024 * 1024,
            max_attempts: 5,
            retry_base_delay_s: 1.0,
            retry_max_delay_s: 30.0,
            max_retry_after_s: 300.0,
            concurrency_wait_s: 10.0,
            poll_min_interval_s: 1.0,
            max_job_wait_s: 4.0 * 3600.0,
        }
    }
}

/// The longest any network setting may be, in seconds (a week): longer ones are refused, so
/// every setting is a duration the clients can wait for.
pub const LONGEST_NETWORK_SETTING_S: f64 = 7.0 * 24.0 * 3600.0;

impl NetworkOptions {
    pub fn validate(&self) -> Result<(), String> {
        let longest = std::time::Duration::from_secs_f64(LONGEST_NETWORK_SETTING_S);
        let positive = [
            ("connect timeout", self.connect_timeout_s),
            ("response timeout", self.response_timeout_s),
            ("idle timeout", self.idle_timeout_s),
            ("job wait", self.max_job_wait_s),
        ];
        for (what, value) in positive {
            if !(value > 0.0 && super::retry::bounded_duration(value, longest).is_ok()) {
                return Err(format!(
                    "the {what} must be a positive number of seconds, at most {LONGEST_NETWORK_SETTING_S} (a week), not {value}"
                ));
            }
        }
        let non_negative = [
            ("retry delay", self.retry_base_delay_s),
            ("longest retry delay", self.retry_max_delay_s),
            ("longest Retry-After", self.max_retry_after_s),
            ("concurrency wait", self.concurrency_wait_s),
            ("poll interval", self.poll_min_interval_s),
        ];
        for (what, value) in non_negative {
            if !(value >= 0.0 && super::retry::bounded_duration(value, longest).is_ok()) {
                return Err(format!(
                    "the {what} must be zero or more seconds, at most {LONGEST_NETWORK_SETTING_S} (a week), not {value}"
                ));
            }
        }
        if self.max_attempts == 0 {
            return Err("the number of attempts must be at least 1".into());
        }
        if self.max_response_bytes == 0 {
            return Err("the largest response size must be more than 0 bytes".into());
        }
        Ok(())
    }
}

/// Gradium's REST transcription settings (`json_config` and the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradiumOptions {
    /// Base URL instead of `https://api.gradium.ai`.
    pub endpoint: Option<String>,
    pub model: String,
    /// Sampling temperature, 0.0–1.0.
    pub temp: Option<f64>,
    /// Bias towards emitting text, −4.0–4.0.
    pub padding_bonus: Option<f64>,
    /// Look-ahead in 80 ms frames: one of [`GRADIUM_DELAY_FRAMES`].
    pub delay_in_frames: Option<u32>,
}

impl Default for GradiumOptions {
    fn default() -> Self {
        GradiumOptions {
            endpoint: None,
            model: "default".into(),
            temp: None,
            padding_bonus: None,
            delay_in_frames: None,
        }
    }
}

/// Gradium's `temp` range.
pub const GRADIUM_TEMP_RANGE: RangeInclusive<f64> = 0.0..=1.0;
/// Gradium's `padding_bonus` range.
pub const GRADIUM_PADDING_BONUS_RANGE: RangeInclusive<f64> = -4.0..=4.0;
/// The `delay_in_frames` values Gradium accepts.
pub const GRADIUM_DELAY_FRAMES: [u32; 11] = [7, 8, 10, 12, 14, 16, 20, 24, 32, 36, 48];
/// The languages Gradium transcribes (anything else is a server error).
pub const GRADIUM_LANGUAGES: [&str; 5] = ["en", "fr", "de", "es", "pt"];

impl GradiumOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("the Gradium model name is empty; omit --model to use `default`".into());
        }
        if let Some(temp) = self.temp
            && !GRADIUM_TEMP_RANGE.contains(&temp)
        {
            return Err(format!(
                "--gradium-temp must be between 0.0 and 1.0, not {temp}"
            ));
        }
        if let Some(bonus) = self.padding_bonus
            && !GRADIUM_PADDING_BONUS_RANGE.contains(&bonus)
        {
            return Err(format!(
                "--gradium-padding-bonus must be between -4.0 and 4.0, not {bonus}"
            ));
        }
        if let Some(frames) = self.delay_in_frames
            && !GRADIUM_DELAY_FRAMES.contains(&frames)
        {
            return Err(format!(
                "--gradium-delay-frames must be one of 7, 8, 10, 12, 14, 16, 20, 24, 32, 36, 48, not {frames}"
            ));
        }
        Ok(())
    }

    /// Checks a language for Gradium (`None` = let it detect).
    pub fn validate_language(language: Option<&str>) -> Result<(), String> {
        match language {
            Some(code) if !GRADIUM_LANGUAGES.contains(&code) => Err(format!(
                "Gradium transcribes only en, fr, de, es and pt, not '{code}'; pick one of those or omit --language"
            )),
            _ => Ok(()),
        }
    }
}

/// How PolarGrid is asked for the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolarGridMode {
    /// Submit a job, then poll it (the service's default; best for long files).
    #[default]
    Async,
    /// One request that blocks until the transcript is ready.
    Sync,
    /// Server-sent events: a live hypothesis, then the final text (no timestamps).
    Stream,
}

/// The body PolarGrid returns in async and sync modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolarGridResponseFormat {
    /// Segments with start and end times (the only JSON format with timestamps).
    #[default]
    VerboseJson,
    Json,
    Text,
    Srt,
    Vtt,
}

impl PolarGridMode {
    pub const ALL: [PolarGridMode; 3] = [PolarGridMode::Async, PolarGridMode::Sync, PolarGridMode::Stream];

    /// The id on the command line and in settings.
    pub fn id(self) -> &'static str {
        match self {
            PolarGridMode::Async => "async",
            PolarGridMode::Sync => "sync",
            PolarGridMode::Stream => "stream",
        }
    }

    /// What the mode does, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            PolarGridMode::Async => {
                "Submit a job, then poll it (the service's default; best for long files)"
            }
            PolarGridMode::Sync => "One request that blocks until the transcript is ready",
            PolarGridMode::Stream => {
                "Server-sent events: a live hypothesis, then the final text (no timestamps)"
            }
        }
    }
}

impl PolarGridResponseFormat {
    pub const ALL: [PolarGridResponseFormat; 5] = [
        PolarGridResponseFormat::VerboseJson,
        PolarGridResponseFormat::Json,
        PolarGridResponseFormat::Text,
        PolarGridResponseFormat::Srt,
        PolarGridResponseFormat::Vtt,
    ];

    /// What the format gives beyond its name, when that needs saying.
    pub fn summary(self) -> Option<&'static str> {
        (self == PolarGridResponseFormat::VerboseJson)
            .then_some("Segments with start and end times (the only JSON format with timestamps)")
    }

    /// The id in the request, on the command line and in settings.
    pub fn as_query_value(self) -> &'static str {
        match self {
            PolarGridResponseFormat::VerboseJson => "verbose_json",
            PolarGridResponseFormat::Json => "json",
            PolarGridResponseFormat::Text => "text",
            PolarGridResponseFormat::Srt => "srt",
            PolarGridResponseFormat::Vtt => "vtt",
        }
    }
}

/// PolarGrid's edge regions.
pub const POLARGRID_REGIONS: [&str; 10] = [
    "yto-01", "yto-02", "yul-01", "yul-02", "yvr-02", "nyc-01", "nyc-02", "dal-01", "dal-02",
    "sfo-01",
];
/// The region used when the autorouter cannot be reached (what the SDK does).
pub const POLARGRID_FALLBACK_REGION: &str = "yto-01";
/// PolarGrid's `temperature` range.
pub const POLARGRID_TEMPERATURE_RANGE: RangeInclusive<f64> = 0.0..=1.0;
/// The PolarGrid model ids known to its documentation and SDK, the default first. Any other id
/// is sent as it is (an edge may serve models this list does not know).
pub const POLARGRID_MODELS: [&str; 7] = [
    "whisper-large-v3-turbo",
    "openai/whisper-large-v3-turbo",
    "stt-1b-en_fr",
    "kyutai/stt-1b-en_fr",
    "whisper-1",
    "cohere-transcribe-03-2026",
    "cohere-transcribe",
];

/// Which PolarGrid edge to use.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolarGridRegion {
    /// Ask the autorouter for the nearest edge (cached for its TTL; Toronto if it fails).
    #[default]
    Auto,
    /// A fixed region such as `nyc-01`.
    Fixed(String),
}

impl std::str::FromStr for PolarGridRegion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let region = text.trim().to_ascii_lowercase();
        if region == "auto" {
            return Ok(PolarGridRegion::Auto);
        }
        if POLARGRID_REGIONS.contains(&region.as_str()) {
            return Ok(PolarGridRegion::Fixed(region));
        }
        Err(format!(
            "unknown PolarGrid region '{text}'; use auto or one of {}",
            POLARGRID_REGIONS.join(", ")
        ))
    }
}

/// PolarGrid's transcription settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolarGridOptions {
    /// Base URL instead of the region's edge (skips the autorouter).
    pub endpoint: Option<String>,
    /// Autorouter base URL instead of `https://autorouter.polargrid.ai`.
    pub router_url: Option<String>,
    pub region: PolarGridRegion,
    pub mode: PolarGridMode,
    pub model: String,
    /// Context hint; when unset, the shared prompt of `TranscribeOptions` is used.
    pub prompt: Option<String>,
    /// Sampling temperature, 0.0–1.0.
    pub temperature: Option<f64>,
    /// Force (`true`) or forbid (`false`) punctuation; `None` leaves it to the model.
    pub punctuation: Option<bool>,
    /// Body format in async and sync modes; `verbose_json` gives timed segments.
    pub response_format: PolarGridResponseFormat,
}

impl Default for PolarGridOptions {
    fn default() -> Self {
        PolarGridOptions {
            endpoint: None,
            router_url: None,
            region: PolarGridRegion::Auto,
            mode: PolarGridMode::Async,
            model: POLARGRID_MODELS[0].into(),
            prompt: None,
            temperature: None,
            punctuation: None,
            response_format: PolarGridResponseFormat::VerboseJson,
        }
    }
}

impl PolarGridOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.model.trim().is_empty() {
            return Err(format!(
                "PolarGrid needs a model; use --model with one of {} (or any other id its edge serves)",
                POLARGRID_MODELS.join(", ")
            ));
        }
        if let Some(temperature) = self.temperature
            && !POLARGRID_TEMPERATURE_RANGE.contains(&temperature)
        {
            return Err(format!(
                "--temperature must be between 0.0 and 1.0, not {temperature}"
            ));
        }
        if let PolarGridRegion::Fixed(region) = &self.region
            && !POLARGRID_REGIONS.contains(&region.as_str())
        {
            return Err(format!(
                "unknown PolarGrid region '{region}'; use auto or one of {}",
                POLARGRID_REGIONS.join(", ")
            ));
        }
        Ok(())
    }
}

/// The LLM Stats gateway's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmStatsOptions {
    /// Base URL instead of `https://gateway.llm-stats.com`.
    pub endpoint: Option<String>,
    /// The model (`whisper-1`, `deepgram-nova-3`…).
    pub model_id: String,
    /// Force one provider, bypassing the gateway's router.
    pub provider_id: Option<String>,
}

impl Default for LlmStatsOptions {
    fn default() -> Self {
        LlmStatsOptions {
            endpoint: None,
            model_id: "whisper-1".into(),
            provider_id: None,
        }
    }
}

impl LlmStatsOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.model_id.trim().is_empty() {
            return Err("LLM Stats needs a model id; use --model whisper-1 or another one".into());
        }
        if let Some(provider) = &self.provider_id
            && provider.trim().is_empty()
        {
            return Err("--provider-id is empty; omit it to let the gateway choose".into());
        }
        Ok(())
    }
}

/// 60db's transcription settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SixtyDbOptions {
    /// Base URL instead of `https://api.60db.ai`.
    pub endpoint: Option<String>,
    /// Candidate languages for detection (ISO 639-1), e.g. `["en", "hi"]`.
    pub languages: Vec<String>,
    /// Label speakers (`SPEAKER_00`…; costs 30 % more).
    pub diarize: bool,
    /// Fewest speakers expected (only with `diarize`).
    pub min_speakers: Option<u32>,
    /// Most speakers expected (only with `diarize`).
    pub max_speakers: Option<u32>,
    /// Ask for a confidence per word.
    pub include_confidence: bool,
    /// Description of the session (domain, names); triggers a refinement pass. When unset,
    /// the shared prompt of `TranscribeOptions` is used.
    pub context: Option<String>,
    /// Vocabulary boost, `"Acme:5,XYZ Pharma:8,off-side"`.
    pub keywords: Option<String>,
    /// Devanagari / Latin script normalisation for code-mixed audio.
    pub script_correction: bool,
}

impl SixtyDbOptions {
    pub fn validate(&self) -> Result<(), String> {
        for language in &self.languages {
            validate_language_code(language)?;
        }
        let speaker_bounds = [
            ("--min-speakers", self.min_speakers),
            ("--max-speakers", self.max_speakers),
        ];
        for (flag, value) in speaker_bounds {
            if value.is_some() && !self.diarize {
                return Err(format!(
                    "{flag} only works with --diarize; add --diarize or drop {flag}"
                ));
            }
            if value == Some(0) {
                return Err(format!("{flag} must be at least 1"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_speakers, self.max_speakers)
            && min > max
        {
            return Err(format!(
                "--min-speakers ({min}) is more than --max-speakers ({max})"
            ));
        }
        if let Some(keywords) = &self.keywords {
            validate_keywords(keywords)?;
        }
        Ok(())
    }
}

/// The largest weight 60db takes for a boosted keyword.
pub const SIXTYDB_MAX_KEYWORD_WEIGHT: f64 = 10.0;

/// Checks 60db's keyword list: comma-separated terms, each optionally `:weight` with a weight
/// above 0 and at most 10.
pub fn validate_keywords(keywords: &str) -> Result<(), String> {
    if keywords.trim().is_empty() {
        return Err("--keywords is empty; give terms like \"Acme:5,XYZ Pharma:8,off-side\"".into());
    }
    for entry in keywords.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(format!(
                "--keywords has an empty entry in \"{keywords}\"; separate terms with single commas"
            ));
        }
        let (term, weight) = match entry.rsplit_once(':') {
            Some((term, weight)) => (term.trim(), Some(weight.trim())),
            None => (entry, None),
        };
        if term.is_empty() {
            return Err(format!(
                "--keywords entry \"{entry}\" has a weight but no term"
            ));
        }
        if let Some(weight) = weight {
            let value: f64 = weight.parse().map_err(|_| {
                format!("--keywords entry \"{entry}\": the weight after ':' must be a number")
            })?;
            if !(value.is_finite() && value > 0.0 && value <= SIXTYDB_MAX_KEYWORD_WEIGHT) {
                return Err(format!(
                    "--keywords entry \"{entry}\": the weight must be above 0 and at most 10"
                ));
            }
        }
    }
    Ok(())
}

/// Checks an ISO 639 language code (two or three lower-case letters).
pub fn validate_language_code(code: &str) -> Result<(), String> {
    let is_code = (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_lowercase());
    if is_code {
        Ok(())
    } else {
        Err(format!(
            "'{code}' is not a language code; use ISO 639-1 like en, fr, hi, or auto to detect"
        ))
    }
}

/// The language to send: `None` when it is unset or `auto`, else the lower-cased code after a
/// format check.
pub fn requested_language(language: Option<&str>) -> Result<Option<String>, String> {
    match language.map(|code| code.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(code) if code.is_empty() || code == "auto" => Ok(None),
        Some(code) => {
            validate_language_code(&code)?;
            Ok(Some(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_settings_beyond_a_week_are_refused_not_waited_for() {
        assert!(NetworkOptions::default().validate().is_ok());
        type Field = fn(&mut NetworkOptions) -> &mut f64;
        let fields: [Field; 9] = [
            |n| &mut n.connect_timeout_s,
            |n| &mut n.response_timeout_s,
            |n| &mut n.idle_timeout_s,
            |n| &mut n.max_job_wait_s,
            |n| &mut n.retry_base_delay_s,
            |n| &mut n.retry_max_delay_s,
            |n| &mut n.max_retry_after_s,
            |n| &mut n.concurrency_wait_s,
            |n| &mut n.poll_min_interval_s,
        ];
        for field in fields {
            for absurd in [1e300, f64::INFINITY, f64::NAN, LONGEST_NETWORK_SETTING_S + 1.0] {
                let mut network = NetworkOptions::default();
                *field(&mut network) = absurd;
                let error = network.validate().err().unwrap_or_default();
                assert!(error.contains("a week"), "{absurd}: {error}");
            }
            let mut network = NetworkOptions::default();
            *field(&mut network) = LONGEST_NETWORK_SETTING_S;
            assert!(network.validate().is_ok());
        }
    }

    #[test]
    fn gradium_options_are_checked_against_the_documented_ranges() {
        let mut options = GradiumOptions::default();
        assert!(options.validate().is_ok());
        options.delay_in_frames = Some(9);
        assert!(options.validate().unwrap_err().contains("7, 8, 10"));
        options.delay_in_frames = Some(48);
        options.temp = Some(1.5);
        assert!(options.validate().is_err());
        options.temp = Some(0.3);
        options.padding_bonus = Some(-4.5);
        assert!(options.validate().is_err());
        options.padding_bonus = Some(-4.0);
        assert!(options.validate().is_ok());
        assert!(GradiumOptions::validate_language(Some("it")).is_err());
        assert!(GradiumOptions::validate_language(Some("pt")).is_ok());
        assert!(GradiumOptions::validate_language(None).is_ok());
    }

    #[test]
    fn keywords_need_terms_and_weights_in_range() {
        assert!(validate_keywords("Acme:5,XYZ Pharma:8,off-side").is_ok());
        assert!(validate_keywords("Acme:11").is_err());
        assert!(validate_keywords("Acme:0").is_err());
        assert!(validate_keywords("Acme:lots").is_err());
        assert!(validate_keywords("Acme,,Beta").is_err());
        assert!(validate_keywords(":3").is_err());
        assert!(validate_keywords(" ").is_err());
    }

    #[test]
    fn speaker_bounds_need_diarization_and_order() {
        let mut options = SixtyDbOptions {
            min_speakers: Some(2),
            ..Default::default()
        };
        assert!(options.validate().unwrap_err().contains("--diarize"));
        options.diarize = true;
        options.max_speakers = Some(1);
        assert!(options.validate().is_err());
        options.max_speakers = Some(3);
        assert!(options.validate().is_ok());
        options.languages = vec!["en".into(), "Hindi".into()];
        assert!(options.validate().is_err());
    }

    #[test]
    fn auto_and_empty_languages_mean_detect() {
        assert_eq!(requested_language(Some("auto")), Ok(None));
        assert_eq!(requested_language(Some(" EN ")), Ok(Some("en".into())));
        assert_eq!(requested_language(None), Ok(None));
        assert!(requested_language(Some("english")).is_err());
    }

    #[test]
    fn regions_parse_and_unknown_ones_are_refused() {
        assert_eq!("auto".parse::<PolarGridRegion>(), Ok(PolarGridRegion::Auto));
        assert_eq!(
            "NYC-01".parse::<PolarGridRegion>(),
            Ok(PolarGridRegion::Fixed("nyc-01".into()))
        );
        assert!("mars-01".parse::<PolarGridRegion>().is_err());
    }

    #[test]
    fn options_round_trip_through_json_with_defaults_for_missing_fields() {
        let options: CloudOptions =
            serde_json::from_str(r#"{"polargrid":{"mode":"stream","region":{"fixed":"dal-01"}}}"#)
                .unwrap();
        assert_eq!(options.polargrid.mode, PolarGridMode::Stream);
        assert_eq!(
            options.polargrid.region,
            PolarGridRegion::Fixed("dal-01".into())
        );
        assert_eq!(options.gradium.model, "default");
        let text = serde_json::to_string(&options).unwrap();
        let back: CloudOptions = serde_json::from_str(&text).unwrap();
        assert_eq!(back, options);
    }
}
