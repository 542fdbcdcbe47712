//! The whisper.cpp models that can be downloaded, and where from.
//!
//! The names, and so the file names `ggml-NAME.bin`, are those of the whisper.cpp repository
//! on Hugging Face (the list its `models/download-ggml-model.sh` accepts). Sizes are the
//! published, rounded ones: they are for showing people what they are about to download, never
//! for checking a download — the server's headers do that (see [`super::download`]).
//!
//! Files come from `https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-NAME.bin`;
//! `VERBATIM_MODEL_BASE_URL` replaces the part before `/resolve/` (a mirror, or a local test
//! server).

use super::store::{ModelError, validate_name};

/// Where models are downloaded from unless `VERBATIM_MODEL_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp";

/// Environment variable that replaces [`DEFAULT_BASE_URL`].
pub const BASE_URL_ENV: &str = "VERBATIM_MODEL_BASE_URL";

/// One downloadable model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    pub name: &'static str,
    /// The published size, rounded (for display only).
    pub approx_size_bytes: u64,
    /// Transcribes English only (`.en` models); the others detect and translate languages.
    pub english_only: bool,
    /// Quantized weights (`-q5_0`, `-q5_1`, `-q8_0`): smaller and faster, slightly less
    /// accurate.
    pub quantized: bool,
}

const MIB: u64 = 1024 * 1024;

const fn entry(
    name: &'static str,
    approx_size_mib: u64,
    english_only: bool,
    quantized: bool,
) -> CatalogEntry {
    CatalogEntry {
        name,
        approx_size_bytes: approx_size_mib * MIB,
        english_only,
        quantized,
    }
}

/// Every model the whisper.cpp Hugging Face repository publishes, smallest family first.
pub const CATALOG: &[CatalogEntry] = &[
    entry("tiny", 75, false, false),
    entry("tiny.en", 75, true, false),
    entry("tiny-q5_1", 31, false, true),
    entry("tiny.en-q5_1", 31, true, true),
    entry("tiny-q8_0", 42, false, true),
    entry("base", 142, false, false),
    entry("base.en", 142, true, false),
    entry("base-q5_1", 57, false, true),
    entry("base.en-q5_1", 57, true, true),
    entry("base-q8_0", 78, false, true),
    entry("small", 466, false, false),
    entry("small.en", 466, true, false),
    entry("small-q5_1", 181, false, true),
    entry("small.en-q5_1", 181, true, true),
    entry("small-q8_0", 252, false, true),
    entry("medium", 1533, false, false),
    entry("medium.en", 1533, true, false),
    entry("medium-q5_0", 514, false, true),
    entry("medium.en-q5_0", 514, true, true),
    entry("medium-q8_0", 785, false, true),
    entry("large-v1", 2952, false, false),
    entry("large-v2", 2952, false, false),
    entry("large-v2-q5_0", 1031, false, true),
    entry("large-v2-q8_0", 1583, false, true),
    entry("large-v3", 2952, false, false),
    entry("large-v3-q5_0", 1031, false, true),
    entry("large-v3-turbo", 1549, false, false),
    entry("large-v3-turbo-q5_0", 547, false, true),
    entry("large-v3-turbo-q8_0", 834, false, true),
];

/// The catalog entry for `name`, or an error that says how to see the valid names.
pub fn lookup(name: &str) -> Result<&'static CatalogEntry, ModelError> {
    validate_name(name)?;
    CATALOG
        .iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| ModelError::UnknownModel(name.to_string()))
}

/// The base URL in force: `VERBATIM_MODEL_BASE_URL` if set and not empty, else
/// [`DEFAULT_BASE_URL`]; without a trailing '/'.
pub fn base_url() -> String {
    base_url_from(std::env::var(BASE_URL_ENV).ok().as_deref())
}

/// [`base_url`] for a given value of `VERBATIM_MODEL_BASE_URL`.
pub fn base_url_from(env_value: Option<&str>) -> String {
    let base = env_value
        .map(str::trim)
        .filter(|base| !base.is_empty())
        .unwrap_or(DEFAULT_BASE_URL);
    base.trim_end_matches('/').to_string()
}

/// The download URL of model `name` under `base` (not checked against the catalog).
pub fn model_url_at(base: &str, name: &str) -> String {
    format!(
        "{}/resolve/main/ggml-{name}.bin",
        base.trim_end_matches('/')
    )
}

/// The download URL of catalog model `name` under [`base_url`].
pub fn model_url(name: &str) -> Result<String, ModelError> {
    let entry = lookup(name)?;
    Ok(model_url_at(&base_url(), entry.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_names_are_unique_valid_and_flagged_right() {
        for (i, entry) in CATALOG.iter().enumerate() {
            validate_name(entry.name).expect("catalog names are valid");
            assert!(
                CATALOG[i + 1..]
                    .iter()
                    .all(|other| other.name != entry.name),
                "{} twice",
                entry.name
            );
            assert_eq!(
                entry.english_only,
                entry.name.contains(".en"),
                "{}",
                entry.name
            );
            assert_eq!(entry.quantized, entry.name.contains("-q"), "{}", entry.name);
            assert!(entry.approx_size_bytes > 20 * MIB, "{}", entry.name);
        }
        for name in [
            "tiny",
            "tiny.en",
            "base",
            "base.en",
            "small",
            "small.en",
            "medium",
            "medium.en",
            "large-v1",
            "large-v2",
            "large-v3",
            "large-v3-turbo",
            "tiny.en-q5_1",
            "tiny-q8_0",
            "base.en-q5_1",
            "large-v3-turbo-q5_0",
            "large-v3-turbo-q8_0",
        ] {
            assert!(lookup(name).is_ok(), "{name} missing");
        }
        assert!(
            lookup(super::super::store::DEFAULT_MODEL).is_ok(),
            "the default model must be downloadable"
        );
    }

    #[test]
    fn quantized_models_are_smaller_than_their_source() {
        for entry in CATALOG.iter().filter(|e| e.quantized) {
            let source = entry.name.split("-q").next().unwrap_or(entry.name);
            let source = lookup(source).expect("source model in catalog");
            assert!(
                entry.approx_size_bytes < source.approx_size_bytes,
                "{}",
                entry.name
            );
        }
    }

    #[test]
    fn unknown_names_say_how_to_see_valid_ones() {
        let err = lookup("huge").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown model 'huge'; run `verbatim models list` to see the models that can be downloaded"
        );
        assert!(matches!(lookup("../tiny"), Err(ModelError::InvalidName(_))));
    }

    #[test]
    fn base_url_override_is_trimmed_and_empty_means_default() {
        assert_eq!(base_url_from(None), DEFAULT_BASE_URL);
        assert_eq!(base_url_from(Some("  ")), DEFAULT_BASE_URL);
        assert_eq!(
            base_url_from(Some(" http://127.0.0.1:9/m/ ")),
            "http://127.0.0.1:9/m"
        );
    }

    #[test]
    fn urls_follow_the_hugging_face_layout() {
        assert_eq!(
            model_url_at(DEFAULT_BASE_URL, "base.en"),
            "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin"
        );
        assert_eq!(
            model_url_at("http://127.0.0.1:8080/", "tiny"),
            "http://127.0.0.1:8080/resolve/main/ggml-tiny.bin"
        );
    }
}
