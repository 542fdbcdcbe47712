//! Where whisper.cpp models live on disk, and how a model name becomes a file.
//!
//! One directory holds every model as `ggml-NAME.bin`, the same file names the whisper.cpp
//! repository on Hugging Face uses, so a file downloaded by hand can be dropped in. A download
//! in progress is `ggml-NAME.bin.partial` and is never listed or resolved as a model.
//!
//! The directory is `VERBATIM_MODELS_DIR` when set, else `<data dir>/verbatim/models`
//! (`~/.local/share` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on
//! Windows).

use super::ct2::Quantization;
use std::path::{Path, PathBuf};

/// The model used when none is named (unless [`QUANTIZED_DEFAULT_MODEL`] is installed):
/// small, fast, English, and what a first run downloads.
pub const DEFAULT_MODEL: &str = "tiny.en";

/// The same tiny.en weights in 8-bit blocks, as `scripts/setup` converts them (`verbatim
/// models import … --quantize q8_0`); used instead of [`DEFAULT_MODEL`] when installed. On a
/// 2-core Xeon with 8-bit dot products, alternating runs of `verbatim transcribe --language
/// en`: 10.4 min of speech in 43.8 s against tiny.en's 45.2 s (medians of 3), 44 s in 3.05
/// against 3.35 s (of 5); word for word the same text on every shared English recording,
/// word times unchanged (`scripts/bench`), peak memory 337 against 369 MB. Not published by
/// whisper.cpp's model repository, so it is made locally, never downloaded.
pub const QUANTIZED_DEFAULT_MODEL: &str = "tiny.en-q8_0";

/// The model used when none is named, in the store the environment names
/// ([`ModelStore::from_env`]; [`DEFAULT_MODEL`] when there is none).
pub fn default_model() -> &'static str {
    ModelStore::from_env().map_or(DEFAULT_MODEL, |store| store.default_model())
}

/// Environment variable that overrides the models directory.
pub const MODELS_DIR_ENV: &str = "VERBATIM_MODELS_DIR";

const FILE_PREFIX: &str = "ggml-";
const FILE_SUFFIX: &str = ".bin";
const PARTIAL_SUFFIX: &str = ".partial";
const MAX_NAME_LEN: usize = 128;

/// What went wrong finding, listing or removing a model. Each message is one line that says
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "this system has no data directory for models; set {MODELS_DIR_ENV} to a folder for them"
    )]
    NoDataDir,
    #[error(
        "invalid model name '{0}': use letters, digits, '.', '-' and '_' only (see `verbatim models list`)"
    )]
    InvalidName(String),
    #[error(
        "model '{name}' is not installed; run `verbatim models download {name}` (or `verbatim models list`)"
    )]
    NotInstalled { name: String },
    #[error(
        "model file {} does not exist; pass an installed model name (see `verbatim models list`) or the path of a ggml .bin file",
        path.display()
    )]
    FileNotFound { path: PathBuf },
    #[error(
        "unknown model '{0}'; run `verbatim models list` to see the models that can be downloaded"
    )]
    UnknownModel(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A model file found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledModel {
    /// The name without `ggml-` and `.bin` (`base.en`).
    pub name: String,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// The models directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    /// The store named by `VERBATIM_MODELS_DIR`, else the platform data directory.
    /// The directory is not created until something is written to it.
    pub fn from_env() -> Result<ModelStore, ModelError> {
        if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|dir| !dir.is_empty()) {
            return Ok(ModelStore::at(dir));
        }
        let data_dir = dirs::data_dir().ok_or(ModelError::NoDataDir)?;
        Ok(ModelStore::at(data_dir.join("verbatim").join("models")))
    }

    /// A store in `dir` (need not exist yet).
    pub fn at(dir: impl Into<PathBuf>) -> ModelStore {
        ModelStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory if it is missing.
    pub fn ensure_dir(&self) -> Result<(), ModelError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| ModelError::io("create the models directory", &self.dir, e))
    }

    /// Where model `name` lives (whether or not it is installed). The name is not checked:
    /// call [`validate_name`] first for names that come from outside.
    pub fn path_for(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{FILE_PREFIX}{name}{FILE_SUFFIX}"))
    }

    /// Where a download of `name` in progress is written.
    pub fn partial_path_for(&self, name: &str) -> PathBuf {
        self.dir
            .join(format!("{FILE_PREFIX}{name}{FILE_SUFFIX}{PARTIAL_SUFFIX}"))
    }

    /// The model used when none is named: [`QUANTIZED_DEFAULT_MODEL`] when installed, else
    /// [`DEFAULT_MODEL`].
    pub fn default_model(&self) -> &'static str {
        if self.is_installed(QUANTIZED_DEFAULT_MODEL) { QUANTIZED_DEFAULT_MODEL } else { DEFAULT_MODEL }
    }

    /// Whether `name` is installed (its final file exists).
    pub fn is_installed(&self, name: &str) -> bool {
        validate_name(name).is_ok() && self.path_for(name).is_file()
    }

    /// Size of an unfinished download of `name`, if one is waiting to be resumed.
    pub fn partial_size_bytes(&self, name: &str) -> Option<u64> {
        validate_name(name).ok()?;
        let metadata = std::fs::metadata(self.partial_path_for(name)).ok()?;
        metadata.is_file().then(|| metadata.len())
    }

    /// The installed models, sorted by name. Unfinished downloads (`.partial`) and files
    /// that are not `ggml-*.bin` are left out. A missing directory is an empty store.
    pub fn list(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ModelError::io("read the models directory", &self.dir, e)),
        };
        let mut models = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| ModelError::io("read the models directory", &self.dir, e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(model_name_from_file_name) else {
                continue;
            };
            let path = entry.path();
            // Follows symlinks, so a linked model counts with its real size.
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            models.push(InstalledModel {
                name: name.to_string(),
                path,
                size_bytes: metadata.len(),
            });
        }
        models.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(models)
    }

    /// The file to load for `name_or_path`: an existing file path is used as is; anything
    /// else is a model name that must be installed in this store.
    pub fn resolve(&self, name_or_path: &str) -> Result<PathBuf, ModelError> {
        let as_path = Path::new(name_or_path);
        if as_path.is_file() {
            return Ok(as_path.to_path_buf());
        }
        if looks_like_path(name_or_path) {
            return Err(ModelError::FileNotFound {
                path: as_path.to_path_buf(),
            });
        }
        validate_name(name_or_path)?;
        let path = self.path_for(name_or_path);
        if path.is_file() {
            Ok(path)
        } else {
            Err(ModelError::NotInstalled {
                name: name_or_path.to_string(),
            })
        }
    }

    /// Deletes model `name` and any unfinished download of it. Fails with
    /// [`ModelError::NotInstalled`] when there was neither.
    pub fn remove(&self, name: &str) -> Result<(), ModelError> {
        validate_name(name)?;
        let removed_model = remove_if_present(&self.path_for(name))?;
        let removed_partial = remove_if_present(&self.partial_path_for(name))?;
        if removed_model || removed_partial {
            Ok(())
        } else {
            Err(ModelError::NotInstalled {
                name: name.to_string(),
            })
        }
    }
}

/// Checks that `name` can be a model name: not empty, at most 128 characters of
/// `[A-Za-z0-9._-]`, not starting with '.', no `..` — so it can never leave the store.
pub fn validate_name(name: &str) -> Result<(), ModelError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(allowed)
        && !name.starts_with('.')
        && !name.contains("..");
    if valid {
        Ok(())
    } else {
        Err(ModelError::InvalidName(name.to_string()))
    }
}

/// Turns any text (a folder name, say) into a valid model name: other characters become
/// '-', leading dots and repeated dots are dropped. `None` when nothing usable is left.
pub fn sanitize_name(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            c
        } else {
            '-'
        };
        if c == '.' && (name.is_empty() || name.ends_with('.')) {
            continue;
        }
        name.push(c);
    }
    let name: String = name.trim_matches('-').chars().take(MAX_NAME_LEN).collect();
    validate_name(&name).ok().map(|()| name)
}

/// The store name for a model imported from `dir`: `name` when given (checked), else the
/// folder's name made valid (`imported` when nothing usable is left), plus `-q8_0` etc. for
/// quantized weights unless the name already ends so.
pub fn import_name(
    dir: &Path,
    name: Option<&str>,
    quantization: Quantization,
) -> Result<String, ModelError> {
    let base = match name {
        Some(name) => {
            validate_name(name)?;
            name.to_string()
        }
        None => {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            dir.file_name()
                .and_then(|n| n.to_str())
                .and_then(sanitize_name)
                .unwrap_or_else(|| "imported".to_string())
        }
    };
    let suffix = format!("-{quantization}");
    let name = if quantization != Quantization::F16 && !base.ends_with(&suffix) {
        format!("{base}{suffix}")
    } else {
        base
    };
    validate_name(&name)?;
    Ok(name)
}

/// The name a model file is known by: `…/ggml-tiny.en.bin` → `tiny.en`; any other file, its
/// name without the extension.
pub fn model_name_of(path: &Path) -> String {
    let by_store_name = path.file_name().and_then(|name| name.to_str()).and_then(model_name_from_file_name);
    match by_store_name {
        Some(name) => name.to_string(),
        None => path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default(),
    }
}

/// `ggml-base.en.bin` → `base.en`; anything else (including `.partial` files) → `None`.
fn model_name_from_file_name(file_name: &str) -> Option<&str> {
    let name = file_name
        .strip_prefix(FILE_PREFIX)?
        .strip_suffix(FILE_SUFFIX)?;
    validate_name(name).ok().map(|()| name)
}

/// A model argument that can only be meant as a file path.
fn looks_like_path(text: &str) -> bool {
    text.contains('/')
        || text.contains('\\')
        || text.ends_with(FILE_SUFFIX)
        || text.starts_with('.')
        || text.starts_with('~')
}

fn remove_if_present(path: &Path) -> Result<bool, ModelError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ModelError::io("remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(files: &[(&str, usize)]) -> (tempfile::TempDir, ModelStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        for (file, size) in files {
            std::fs::write(dir.path().join(file), vec![7u8; *size]).expect("write");
        }
        let store = ModelStore::at(dir.path());
        (dir, store)
    }

    #[test]
    fn import_names_come_from_the_folder_and_quantization() {
        let dir = Path::new("/nonexistent/faster-whisper small.en");
        let name = |name, quantization| import_name(dir, name, quantization).expect("name");
        assert_eq!(name(None, Quantization::F16), "faster-whisper-small.en");
        assert_eq!(name(None, Quantization::Q8_0), "faster-whisper-small.en-q8_0");
        assert_eq!(name(Some("mine"), Quantization::F16), "mine");
        assert_eq!(name(Some("mine-q5_1"), Quantization::Q5_1), "mine-q5_1");
        assert_eq!(
            import_name(Path::new("/"), None, Quantization::F16).expect("name"),
            "imported"
        );
        assert!(import_name(dir, Some("../x"), Quantization::F16).is_err());
    }

    #[test]
    fn paths_follow_whisper_cpp_file_names() {
        let store = ModelStore::at("/models");
        assert_eq!(
            store.path_for("base.en"),
            PathBuf::from("/models/ggml-base.en.bin")
        );
        assert_eq!(
            store.partial_path_for("tiny.en-q5_1"),
            PathBuf::from("/models/ggml-tiny.en-q5_1.bin.partial")
        );
    }

    #[test]
    fn list_is_sorted_and_skips_partials_and_strangers() {
        let (_dir, store) = store_with(&[
            ("ggml-tiny.en.bin", 10),
            ("ggml-base.en.bin", 20),
            ("ggml-small.bin.partial", 5),
            ("notes.txt", 1),
            ("ggml-.bin", 1),
            ("model.bin", 1),
        ]);
        std::fs::create_dir(store.dir().join("ggml-dir.bin")).expect("mkdir");
        let models = store.list().expect("list");
        let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["base.en", "tiny.en"]);
        assert_eq!(models[0].size_bytes, 20);
        assert_eq!(models[0].path, store.dir().join("ggml-base.en.bin"));
        assert_eq!(models[1].size_bytes, 10);
    }

    #[test]
    fn the_default_is_the_quantized_tiny_en_when_installed() {
        let (_dir, store) = store_with(&[("ggml-tiny.en.bin", 10), ("ggml-base.bin", 20)]);
        assert_eq!(store.default_model(), DEFAULT_MODEL);
        std::fs::write(store.path_for(QUANTIZED_DEFAULT_MODEL), b"q8").expect("write");
        assert_eq!(store.default_model(), QUANTIZED_DEFAULT_MODEL);
        let empty = ModelStore::at(store.dir().join("not-yet"));
        assert_eq!(empty.default_model(), DEFAULT_MODEL, "a first run downloads tiny.en");
    }

    #[test]
    fn list_of_missing_directory_is_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(dir.path().join("not-yet"));
        assert_eq!(store.list().expect("list"), Vec::new());
    }

    #[test]
    fn resolve_installed_name_and_existing_path() {
        let (dir, store) = store_with(&[("ggml-base.en.bin", 3), ("custom.bin", 3)]);
        assert_eq!(
            store.resolve("base.en").expect("installed"),
            dir.path().join("ggml-base.en.bin")
        );
        let custom = dir.path().join("custom.bin");
        let custom_text = custom.to_str().expect("utf-8 temp path");
        assert_eq!(store.resolve(custom_text).expect("path"), custom);
    }

    #[test]
    fn resolve_missing_name_says_how_to_download() {
        let (_dir, store) = store_with(&[("ggml-small.bin.partial", 3)]);
        let err = store.resolve("base.en").expect_err("not installed");
        assert_eq!(
            err.to_string(),
            "model 'base.en' is not installed; run `verbatim models download base.en` (or `verbatim models list`)"
        );
        // A partial download is not an installed model.
        assert!(matches!(
            store.resolve("small"),
            Err(ModelError::NotInstalled { .. })
        ));
    }

    #[test]
    fn resolve_missing_path_is_a_file_error() {
        let (dir, store) = store_with(&[]);
        let missing = dir.path().join("nope.bin");
        let err = store
            .resolve(missing.to_str().expect("utf-8"))
            .expect_err("missing file");
        assert!(matches!(err, ModelError::FileNotFound { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn remove_deletes_model_and_partial() {
        let (_dir, store) = store_with(&[
            ("ggml-base.en.bin", 3),
            ("ggml-base.en.bin.partial", 2),
            ("ggml-tiny.bin.partial", 2),
        ]);
        store.remove("base.en").expect("remove");
        assert!(!store.path_for("base.en").exists());
        assert!(!store.partial_path_for("base.en").exists());
        // Only a partial: still removed, still Ok.
        store.remove("tiny").expect("remove partial");
        assert!(!store.partial_path_for("tiny").exists());
        // Nothing at all.
        assert!(matches!(
            store.remove("tiny"),
            Err(ModelError::NotInstalled { .. })
        ));
    }

    #[test]
    fn names_cannot_escape_the_store() {
        for bad in [
            "", "..", "../x", "a/b", "a\\b", ".hidden", "a..b", "base en", "x\0", "ü",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["tiny.en", "large-v3-turbo-q5_0", "my_model.v2", "base"] {
            assert!(validate_name(good).is_ok(), "{good:?} should be accepted");
        }
        let (_dir, store) = store_with(&[]);
        assert!(matches!(
            store.remove("../etc"),
            Err(ModelError::InvalidName(_))
        ));
        assert!(matches!(
            store.resolve("a..b"),
            Err(ModelError::InvalidName(_))
        ));
    }

    #[test]
    fn sanitize_turns_folder_names_into_model_names() {
        assert_eq!(
            sanitize_name("whisper large v3").as_deref(),
            Some("whisper-large-v3")
        );
        assert_eq!(
            sanitize_name("..hidden..name").as_deref(),
            Some("hidden.name")
        );
        assert_eq!(
            sanitize_name("faster-whisper-small.en").as_deref(),
            Some("faster-whisper-small.en")
        );
        assert_eq!(sanitize_name("///"), None);
        assert_eq!(sanitize_name(""), None);
    }
}
