//! The whisper.cpp models that can be downloaded, and where from.
//!
//! The names, and so the file names `ggml-NAME.bin`, are those of the whisper.cpp repository
//! on Hugging Face (the list its `models/download-ggml-model.sh` accepts).
//!
//! Each model's SHA-1 is pinned here, so a download is checked against what the model's
//! publisher announced rather than against what the server (or a mirror) says about itself.
//! The values are the table of the model card of the Hugging Face repository
//! `ggerganov/whisper.cpp` (its `README.md`); the ones `models/README.md` of the whisper.cpp
//! source repository lists too agree with it. The publisher gives SHA-1 only, no SHA-256; a
//! SHA-1 still cannot be matched by a different file made on purpose (a second preimage),
//! which is what substituting a model would take.
//!
//! Sizes are the published, rounded ones: they are shown to people before a download, and
//! bound it (half as much again at most), but the exact size comes from the server's headers
//! (see [`super::download`]).
//!
//! Files come from `https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-NAME.bin`;
//! `VERBATIM_MODEL_BASE_URL` replaces the part before `/resolve/` (a mirror, or a local test
//! server).

use super::download::Expected;
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
    /// The SHA-1 of `ggml-NAME.bin` as its publisher lists it (see the module comment).
    pub sha1_hex: &'static str,
}

impl CatalogEntry {
    /// What a download of this model must be: its pinned SHA-1, and at most half as much
    /// again as its published size.
    pub fn expected(&self) -> Expected {
        Expected {
            sha1_hex: Some(self.sha1_hex.to_string()),
            max_size_bytes: Some(self.approx_size_bytes.saturating_mul(3) / 2),
            ..Expected::default()
        }
    }
}

const MIB: u64 = 1024 * 1024;

const fn entry(
    name: &'static str,
    approx_size_mib: u64,
    english_only: bool,
    quantized: bool,
    sha1_hex: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        name,
        approx_size_bytes: approx_size_mib * MIB,
        english_only,
        quantized,
        sha1_hex,
    }
}

/// Every model the whisper.cpp Hugging Face repository publishes, smallest family first.
pub const CATALOG: &[CatalogEntry] = &[
    entry(
        "tiny",
        75,
        false,
        false,
        "bd577a113a864445d4c299885e0cb97d4ba92b5f",
    ),
    entry(
        "tiny.en",
        75,
        true,
        false,
        "c78c86eb1a8faa21b369bcd33207cc90d64ae9df",
    ),
    entry(
        "tiny-q5_1",
        31,
        false,
        true,
        "2827a03e495b1ed3048ef28a6a4620537db4ee51",
    ),
    entry(
        "tiny.en-q5_1",
        31,
        true,
        true,
        "3fb92ec865cbbc769f08137f22470d6b66e071b6",
    ),
    entry(
        "tiny-q8_0",
        42,
        false,
        true,
        "19e8118f6652a650569f5a949d962154e01571d9",
    ),
    entry(
        "base",
        142,
        false,
        false,
        "465707469ff3a37a2b9b8d8f89f2f99de7299dac",
    ),
    entry(
        "base.en",
        142,
        true,
        false,
        "137c40403d78fd54d454da0f9bd998f78703390c",
    ),
    entry(
        "base-q5_1",
        57,
        false,
        true,
        "a3733eda680ef76256db5fc5dd9de8629e62c5e7",
    ),
    entry(
        "base.en-q5_1",
        57,
        true,
        true,
        "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a",
    ),
    entry(
        "base-q8_0",
        78,
        false,
        true,
        "7bb89bb49ed6955013b166f1b6a6c04584a20fbe",
    ),
    entry(
        "small",
        466,
        false,
        false,
        "55356645c2b361a969dfd0ef2c5a50d530afd8d5",
    ),
    entry(
        "small.en",
        466,
        true,
        false,
        "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022",
    ),
    entry(
        "small-q5_1",
        181,
        false,
        true,
        "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771",
    ),
    entry(
        "small.en-q5_1",
        181,
        true,
        true,
        "20f54878d608f94e4a8ee3ae56016571d47cba34",
    ),
    entry(
        "small-q8_0",
        252,
        false,
        true,
        "bcad8a2083f4e53d648d586b7dbc0cd673d8afad",
    ),
    entry(
        "medium",
        1533,
        false,
        false,
        "fd9727b6e1217c2f614f9b698455c4ffd82463b4",
    ),
    entry(
        "medium.en",
        1533,
        true,
        false,
        "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
    ),
    entry(
        "medium-q5_0",
        514,
        false,
        true,
        "7718d4c1ec62ca96998f058114db98236937490e",
    ),
    entry(
        "medium.en-q5_0",
        514,
        true,
        true,
        "bb3b5281bddd61605d6fc76bc5b92d8f20284c3b",
    ),
    entry(
        "medium-q8_0",
        785,
        false,
        true,
        "e66645948aff4bebbec71b3485c576f3d63af5d6",
    ),
    entry(
        "large-v1",
        2952,
        false,
        false,
        "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299",
    ),
    entry(
        "large-v2",
        2952,
        false,
        false,
        "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6",
    ),
    entry(
        "large-v2-q5_0",
        1031,
        false,
        true,
        "00e39f2196344e901b3a2bd5814807a769bd1630",
    ),
    entry(
        "large-v2-q8_0",
        1583,
        false,
        true,
        "da97d6ca8f8ffbeeb5fd147f79010eeea194ba38",
    ),
    entry(
        "large-v3",
        2952,
        false,
        false,
        "ad82bf6a9043ceed055076d0fd39f5f186ff8062",
    ),
    entry(
        "large-v3-q5_0",
        1031,
        false,
        true,
        "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de",
    ),
    entry(
        "large-v3-turbo",
        1549,
        false,
        false,
        "4af2b29d7ec73d781377bfd1758ca957a807e941",
    ),
    entry(
        "large-v3-turbo-q5_0",
        547,
        false,
        true,
        "e050f7970618a659205450ad97eb95a18d69c9ee",
    ),
    entry(
        "large-v3-turbo-q8_0",
        834,
        false,
        true,
        "01bf15bedffe9f39d65c1b6ff9b687ea91f59e0e",
    ),
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
    fn every_model_has_a_pinned_sha1_and_a_size_cap() {
        for (i, entry) in CATALOG.iter().enumerate() {
            assert_eq!(entry.sha1_hex.len(), 40, "{}", entry.name);
            assert!(
                entry
                    .sha1_hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{}",
                entry.name
            );
            assert!(
                CATALOG[i + 1..]
                    .iter()
                    .all(|other| other.sha1_hex != entry.sha1_hex),
                "{} shares its SHA-1",
                entry.name
            );
            let expected = entry.expected();
            assert_eq!(expected.sha1_hex.as_deref(), Some(entry.sha1_hex));
            assert!(expected.max_size_bytes > Some(entry.approx_size_bytes));
        }
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
