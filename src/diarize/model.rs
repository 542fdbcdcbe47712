//! The speaker embedding model on disk: Resemblyzer's GE2E voice encoder (Apache-2.0, from its
//! package on PyPI), converted once by `scripts/setup` into a safetensors file next to the
//! Whisper models, with the speech detector it listens through ([`super::speech`]) beside it.
//! Each file is checked against its SHA-256 before use, so a truncated or
//! foreign file never reaches the encoder.

use crate::models::{ModelError, ModelStore};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file name of the converted encoder in the models directory.
pub const SPEAKER_MODEL_FILE: &str = "speaker-ge2e.safetensors";

/// SHA-256 of the file `scripts/convert-speaker-model` makes from Resemblyzer 0.1.4.
pub const SPEAKER_MODEL_SHA256: &str = "0cb6d76aea2bdd43c5eaceb43cfdfdb0d92aaad82c17eec055762ee52f4de14d";

/// Why the speaker model cannot be used. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerModelError {
    #[error("the speaker model is not installed ({}); run scripts/setup to install it", path.display())]
    NotInstalled { path: PathBuf },
    #[error("the speaker model {} is damaged ({detail}); delete it and run scripts/setup again", path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error(transparent)]
    Store(#[from] ModelError),
}

/// Where the speaker model lives in `store` (whether or not it is installed).
pub fn speaker_model_path(store: &ModelStore) -> PathBuf {
    store.dir().join(SPEAKER_MODEL_FILE)
}

/// Where the speech detector ([`super::speech`]) lives: beside the voice encoder's
/// `speaker_model`, as `scripts/setup` installs them.
pub fn speech_model_path(speaker_model: &Path) -> PathBuf {
    speaker_model.with_file_name(super::speech::SPEECH_MODEL_FILE)
}

/// The installed speaker model of the models directory (with its speech detector beside it),
/// or why there is none.
pub fn locate_speaker_model() -> Result<PathBuf, SpeakerModelError> {
    let path = speaker_model_path(&ModelStore::from_env()?);
    match [path.clone(), speech_model_path(&path)].into_iter().find(|file| !file.is_file()) {
        Some(missing) => Err(SpeakerModelError::NotInstalled { path: missing }),
        None => Ok(path),
    }
}

/// One named tensor of the model: its shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads every tensor of a safetensors file of `F32` tensors, after checking that the file's
/// SHA-256 is `expected_sha256`.
pub fn read_checked(path: &Path, expected_sha256: &str) -> Result<std::collections::HashMap<String, Tensor>, SpeakerModelError> {
    let bytes = std::fs::read(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => SpeakerModelError::NotInstalled { path: path.to_path_buf() },
        _ => damaged(path, error.to_string()),
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if digest != expected_sha256 {
        return Err(damaged(path, format!("SHA-256 {digest} is not the expected one")));
    }
    parse_safetensors(&bytes).map_err(|detail| damaged(path, detail))
}

/// Takes tensor `name` out of `tensors`, checking it has `shape`; the error names what is wrong.
pub fn take_tensor(tensors: &mut std::collections::HashMap<String, Tensor>, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let tensor = tensors.remove(name).ok_or_else(|| format!("no tensor {name}"))?;
    if tensor.shape != shape {
        return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", tensor.shape));
    }
    Ok(tensor.values)
}

fn damaged(path: &Path, detail: String) -> SpeakerModelError {
    SpeakerModelError::Damaged { path: path.to_path_buf(), detail }
}

#[derive(serde::Deserialize)]
struct TensorHeader {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// The tensors of a safetensors file (8-byte header length, JSON header, raw little-endian data).
pub fn parse_safetensors(bytes: &[u8]) -> Result<std::collections::HashMap<String, Tensor>, String> {
    let header_len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize).ok_or("no header")?;
    let header_end = 8usize.checked_add(header_len).filter(|&end| end <= bytes.len()).ok_or("header longer than the file")?;
    let header: std::collections::HashMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..header_end]).map_err(|error| format!("bad header: {error}"))?;
    let data = &bytes[header_end..];
    let mut tensors = std::collections::HashMap::new();
    for (name, value) in header {
        if name == "__metadata__" {
            continue;
        }
        let entry: TensorHeader = serde_json::from_value(value).map_err(|error| format!("bad entry {name}: {error}"))?;
        let [start, end] = entry.data_offsets;
        let count: usize = entry.shape.iter().product();
        if entry.dtype != "F32" || start > end || end > data.len() || end - start != count * 4 {
            return Err(format!("tensor {name} does not fit its header"));
        }
        let values = data[start..end].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        tensors.insert(name, Tensor { shape: entry.shape, values });
    }
    Ok(tensors)
}
