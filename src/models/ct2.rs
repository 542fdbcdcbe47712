//! Import a CTranslate2 (faster-whisper) Whisper model directory as a whisper.cpp ggml model,
//! optionally quantized, so models people already have on disk run in the local engine.
//!
//! The CTranslate2 variables map one to one onto whisper.cpp's tensors, except the fused
//! attention projections: self-attention `linear_0` holds query, key and value stacked by
//! rows, cross-attention `linear_1` holds key and value. Those are split back. The fused key
//! bias is dropped because whisper.cpp has none: CTranslate2 fills it with zeros, and any
//! key bias adds the same `q·b` to every attention score of a query, which softmax ignores.
//! The output projection is tied to the token embedding (CTranslate2 stores it as an alias),
//! so it is not written. Mel filters are computed (see [`super::mel`]); the vocabulary comes
//! from `tokenizer.json` (see [`super::gpt2_vocab`]).
//!
//! Tensor types follow whisper.cpp's own tools: with [`Quantization::F16`] the 2-D+ weights
//! are f16 and vectors, conv biases and positional embeddings f32 (`convert-pt-to-ggml.py`);
//! with q8_0/q5_0/q5_1 every 2-D matrix is quantized except the positional embeddings and
//! conv biases, and the 3-D conv kernels stay f16 (`examples/quantize`). whisper.cpp's loader
//! rejects any other combination.
//!
//! The output is streamed to a temporary file beside it a block of rows at a time (memory stays
//! at a few megabytes whatever the model size) and renamed into place only when complete.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::files::AtomicFile;

use super::ct2_binary::{Ct2Dtype, Ct2Error, Ct2ModelFile, Ct2Variable};
use super::ggml::{self, GgmlType, WhisperHparams};
use super::gpt2_vocab::{self, VocabularyError};
use super::mel;

/// Precision of the big weight matrices in the converted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantization {
    /// Keep source precision as whisper.cpp's converter does: f16 matrices, f32 vectors.
    F16,
    /// 8-bit blocks (about half the size of f16, near-lossless).
    Q8_0,
    /// 5-bit blocks, symmetric.
    Q5_0,
    /// 5-bit blocks with a per-block minimum.
    Q5_1,
}

impl Quantization {
    pub const ALL: [Quantization; 4] = [Self::F16, Self::Q8_0, Self::Q5_0, Self::Q5_1];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
        }
    }

    fn matrix_type(self) -> GgmlType {
        match self {
            Self::F16 => GgmlType::F16,
            Self::Q8_0 => GgmlType::Q8_0,
            Self::Q5_0 => GgmlType::Q5_0,
            Self::Q5_1 => GgmlType::Q5_1,
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantization '{0}'; use f16, q8_0, q5_0 or q5_1")]
pub struct ParseQuantizationError(pub String);

impl FromStr for Quantization {
    type Err = ParseQuantizationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|q| q.as_str() == normalized)
            .ok_or_else(|| ParseQuantizationError(text.to_owned()))
    }
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    pub output: PathBuf,
    pub size_bytes: u64,
    pub n_vocab: u32,
    pub n_text_layer: u32,
    pub multilingual: bool,
    pub quantization: Quantization,
    /// True when every stored number equals the source's. False for q8_0/q5_x, for f32 or
    /// bf16 weights that f16 cannot hold exactly, and always for int8/int16 sources (their
    /// weights were already rounded when CTranslate2 quantized them).
    pub lossless: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "not a CTranslate2 Whisper model directory ({0}): model.bin missing; point to the folder that holds model.bin, config.json and tokenizer.json"
    )]
    NotAModelDirectory(PathBuf),
    #[error(transparent)]
    Model(#[from] Ct2Error),
    #[error(transparent)]
    Vocabulary(#[from] VocabularyError),
    #[error(
        "{path} holds a CTranslate2 '{spec}' model, not Whisper; only Whisper models (WhisperSpec) can be imported"
    )]
    UnsupportedSpec { path: PathBuf, spec: String },
    #[error(
        "{path} has no variable '{name}', which every Whisper model has; the model is damaged or not a Whisper model"
    )]
    MissingVariable { path: PathBuf, name: String },
    #[error(
        "{path}: '{name}' has shape {actual:?} where {expected:?} was expected; the model is damaged or not a standard Whisper model"
    )]
    Shape {
        path: PathBuf,
        name: String,
        actual: Vec<u64>,
        expected: Vec<u64>,
    },
    #[error("{path}: {detail}; whisper.cpp cannot run this model")]
    Unsupported { path: PathBuf, detail: String },
    #[error("could not read {path}: {detail}")]
    Config { path: PathBuf, detail: String },
    #[error("could not write {path}: {source}; check the destination folder and free disk space")]
    Write { path: PathBuf, source: io::Error },
}

/// Whisper's audio front end, which whisper.cpp hardcodes.
const SAMPLE_RATE_HZ: u32 = 16_000;
const N_FFT: usize = 400;
/// Vocabulary size from which whisper.cpp treats a model as multilingual.
const MULTILINGUAL_MIN_VOCAB: u64 = 51_865;
/// `<|endoftext|>` id whisper.cpp assumes for English-only models (one more if multilingual).
const ENGLISH_END_OF_TEXT_ID: u32 = 50_256;
/// Encoder frames in 30 s of audio; used only if the model lacks encoder position encodings.
const DEFAULT_AUDIO_CTX: u64 = 1_500;
/// Values converted per step while streaming (about 4 MB of f32).
const CHUNK_VALUES: u64 = 1 << 20;
/// Whisper models use 80 or 128 mel bands; anything far beyond is a damaged header, and the
/// filterbank (n_mels x 201 floats) must not be sized by it.
const MAX_MELS: u64 = 512;
/// Largest JSON configuration file read.
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Converts the CTranslate2 Whisper model in `dir` to a whisper.cpp ggml file at `output`.
///
/// Writes a temporary file beside `output` and renames it over `output` when complete (the
/// one atomic writer, `crate::files`); on failure the temporary file is removed. `progress` receives the fraction done, from 0.0 to 1.0.
pub fn import_ct2_model(
    dir: &Path,
    output: &Path,
    quantization: Quantization,
    progress: &mut dyn FnMut(f64),
) -> Result<ImportSummary, ImportError> {
    let model_path = dir.join("model.bin");
    if !model_path.is_file() {
        return Err(ImportError::NotAModelDirectory(dir.to_path_buf()));
    }
    progress(0.0);
    let mut model = open_whisper_model(model_path)?;
    let shapes = ModelShapes::read(&mut model)?;
    check_configuration(dir, &shapes)?;
    let vocabulary = gpt2_vocab::read_text_vocabulary(dir, checked_u32(&model, shapes.n_vocab)?)?;
    let multilingual = shapes.n_vocab >= MULTILINGUAL_MIN_VOCAB;
    check_end_of_text(&model, &vocabulary, multilingual)?;

    let plan = plan_tensors(&model, &shapes, quantization)?;
    let hparams = shapes.hparams(&model, quantization)?;
    let filters = mel::slaney_mel_filterbank(SAMPLE_RATE_HZ, N_FFT, shapes.n_mels as usize);
    let preamble = |writer: &mut BufWriter<&mut AtomicFile>| {
        ggml::write_preamble(writer, &hparams, &filters, &vocabulary.tokens)
    };
    let (exact, size_bytes) = write_ggml_file(output, preamble, &mut model, &plan, progress)?;
    let integer_source = plan.iter().any(|tensor| tensor.source.is_integer());
    let generated = plan
        .iter()
        .any(|tensor| matches!(tensor.source, TensorSource::Sinusoids { .. }));
    progress(1.0);

    Ok(ImportSummary {
        output: output.to_path_buf(),
        size_bytes,
        n_vocab: hparams.n_vocab as u32,
        n_text_layer: hparams.n_text_layer as u32,
        multilingual,
        quantization,
        lossless: exact && !integer_source && !generated,
    })
}

/// A CTranslate2 `model.bin`, which must hold a `WhisperSpec`.
fn open_whisper_model(model_path: PathBuf) -> Result<Ct2ModelFile, ImportError> {
    let model = Ct2ModelFile::open(&model_path)?;
    if model.spec_name != "WhisperSpec" {
        let spec = if model.spec_name.is_empty() {
            "unnamed (pre-2.0)".to_owned()
        } else {
            model.spec_name.clone()
        };
        return Err(ImportError::UnsupportedSpec {
            path: model_path,
            spec,
        });
    }
    Ok(model)
}

/// whisper.cpp finds its special tokens from `<|endoftext|>`'s id, which differs between
/// English-only and multilingual vocabularies.
fn check_end_of_text(
    model: &Ct2ModelFile,
    vocabulary: &gpt2_vocab::TextVocabulary,
    multilingual: bool,
) -> Result<(), ImportError> {
    let expected_end_of_text = ENGLISH_END_OF_TEXT_ID + u32::from(multilingual);
    if vocabulary.end_of_text_id == expected_end_of_text {
        return Ok(());
    }
    Err(unsupported(
        model,
        format!(
            "{} puts <|endoftext|> at id {} but whisper.cpp expects {} for a {} vocabulary",
            vocabulary.source.display(),
            vocabulary.end_of_text_id,
            expected_end_of_text,
            if multilingual {
                "multilingual"
            } else {
                "English-only"
            }
        ),
    ))
}

/// Writes the ggml file atomically: the `preamble` (hyperparameters, mel filters, vocabulary),
/// then every planned tensor. Returns whether all numbers were stored exactly, and the size.
fn write_ggml_file(
    output: &Path,
    preamble: impl FnOnce(&mut BufWriter<&mut AtomicFile>) -> io::Result<()>,
    model: &mut Ct2ModelFile,
    plan: &[PlannedTensor],
    progress: &mut dyn FnMut(f64),
) -> Result<(bool, u64), ImportError> {
    if output.file_name().is_none() {
        return Err(ImportError::Write {
            path: output.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "the output path has no file name",
            ),
        });
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| ImportError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let write_error = |source| ImportError::Write {
        path: output.to_path_buf(),
        source,
    };
    // Dropped on any error before `commit`, which removes the temporary file.
    let mut file = AtomicFile::create(output).map_err(write_error)?;
    let mut writer = BufWriter::with_capacity(1 << 20, &mut file);
    preamble(&mut writer).map_err(write_error)?;
    let exact = write_tensors(model, plan, &mut writer, output, progress)?;
    writer
        .into_inner()
        .map_err(|error| write_error(error.into_error()))?;
    file.commit().map_err(write_error)?;
    let size_bytes = fs::metadata(output).map_err(write_error)?.len();
    Ok((exact, size_bytes))
}

fn unsupported(model: &Ct2ModelFile, detail: String) -> ImportError {
    ImportError::Unsupported {
        path: model.path().to_path_buf(),
        detail,
    }
}

fn checked_u32(model: &Ct2ModelFile, value: u64) -> Result<u32, ImportError> {
    u32::try_from(value)
        .map_err(|_| unsupported(model, format!("a dimension of {value} is too large")))
}

fn require<'m>(model: &'m Ct2ModelFile, name: &str) -> Result<&'m Ct2Variable, ImportError> {
    model
        .variable(name)
        .ok_or_else(|| ImportError::MissingVariable {
            path: model.path().to_path_buf(),
            name: name.to_owned(),
        })
}

/// The model dimensions, read from the shapes of a few key variables.
#[derive(Debug, Clone, Copy)]
struct ModelShapes {
    n_vocab: u64,
    n_state: u64,
    n_mels: u64,
    n_audio_ctx: u64,
    n_audio_head: u64,
    n_audio_layer: u64,
    n_text_ctx: u64,
    n_text_head: u64,
    n_text_layer: u64,
}

impl ModelShapes {
    fn read(model: &mut Ct2ModelFile) -> Result<Self, ImportError> {
        let embedding = require(model, "decoder/embeddings/weight")?;
        let [n_vocab, n_state] = embedding.shape[..] else {
            return Err(shape_error(model, embedding, &[0, 0]));
        };
        let conv1 = require(model, "encoder/conv1/weight")?;
        let &[_, n_mels, _] = &conv1.shape[..] else {
            return Err(shape_error(model, conv1, &[n_state, 0, 3]));
        };
        if n_mels == 0 || n_mels > MAX_MELS {
            return Err(unsupported(
                model,
                format!("the encoder expects {n_mels} mel bands (Whisper uses 80 or 128)"),
            ));
        }
        let n_audio_ctx = match model.variable("encoder/position_encodings/encodings") {
            Some(encodings) => encodings.row_count(),
            None => DEFAULT_AUDIO_CTX,
        };
        let n_text_ctx = require(model, "decoder/position_encodings/encodings")?.row_count();
        let count_layers = |prefix: &str| {
            (0u64..)
                .take_while(|i| {
                    model
                        .variable(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
                        .is_some()
                })
                .count() as u64
        };
        let n_audio_layer = count_layers("encoder");
        let n_text_layer = count_layers("decoder");
        if n_audio_layer == 0 || n_text_layer == 0 {
            return Err(ImportError::MissingVariable {
                path: model.path().to_path_buf(),
                name: format!(
                    "{}/layer_0/ffn/linear_0/weight",
                    if n_audio_layer == 0 {
                        "encoder"
                    } else {
                        "decoder"
                    }
                ),
            });
        }
        // Whisper's heads are 64 wide; CTranslate2 records the count as a scalar.
        let default_heads = (n_state / 64).max(1);
        let mut heads = |name: &str| -> Result<u64, ImportError> {
            match model.read_integer_scalar(name)? {
                Some(heads) if heads > 0 => Ok(heads as u64),
                Some(heads) => Err(unsupported(model, format!("'{name}' is {heads}"))),
                None => Ok(default_heads),
            }
        };
        let n_audio_head = heads("encoder/num_heads")?;
        let n_text_head = heads("decoder/num_heads")?;

        let shapes = Self {
            n_vocab,
            n_state,
            n_mels,
            n_audio_ctx,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_text_head,
            n_text_layer,
        };
        for (what, heads) in [("encoder", n_audio_head), ("decoder", n_text_head)] {
            if n_state % heads != 0 {
                return Err(unsupported(
                    model,
                    format!("the {what} has {heads} heads, which do not divide width {n_state}"),
                ));
            }
        }
        Ok(shapes)
    }

    fn hparams(
        &self,
        model: &Ct2ModelFile,
        quantization: Quantization,
    ) -> Result<WhisperHparams, ImportError> {
        let field = |value: u64| -> Result<i32, ImportError> {
            i32::try_from(value)
                .map_err(|_| unsupported(model, format!("a dimension of {value} is too large")))
        };
        Ok(WhisperHparams {
            n_vocab: field(self.n_vocab)?,
            n_audio_ctx: field(self.n_audio_ctx)?,
            n_audio_state: field(self.n_state)?,
            n_audio_head: field(self.n_audio_head)?,
            n_audio_layer: field(self.n_audio_layer)?,
            n_text_ctx: field(self.n_text_ctx)?,
            n_text_state: field(self.n_state)?,
            n_text_head: field(self.n_text_head)?,
            n_text_layer: field(self.n_text_layer)?,
            n_mels: field(self.n_mels)?,
            ftype: quantization.matrix_type().file_ftype(),
        })
    }
}

fn shape_error(model: &Ct2ModelFile, variable: &Ct2Variable, expected: &[u64]) -> ImportError {
    ImportError::Shape {
        path: model.path().to_path_buf(),
        name: variable.name.clone(),
        actual: variable.shape.clone(),
        expected: expected.to_vec(),
    }
}

/// Cross-checks the optional JSON files against the weights: the mel band count
/// (`num_mel_bins` / `feature_size`) and the audio front end whisper.cpp hardcodes.
fn check_configuration(dir: &Path, shapes: &ModelShapes) -> Result<(), ImportError> {
    let checks: [(&str, &str, u64); 4] = [
        ("config.json", "num_mel_bins", shapes.n_mels),
        ("preprocessor_config.json", "feature_size", shapes.n_mels),
        (
            "preprocessor_config.json",
            "sampling_rate",
            u64::from(SAMPLE_RATE_HZ),
        ),
        ("preprocessor_config.json", "n_fft", N_FFT as u64),
    ];
    let mut loaded: Vec<(&str, Option<serde_json::Value>)> = Vec::new();
    for (file, key, expected) in checks {
        if !loaded.iter().any(|(name, _)| *name == file) {
            loaded.push((file, read_json(&dir.join(file))?));
        }
        let value = loaded
            .iter()
            .find(|(name, _)| *name == file)
            .and_then(|(_, json)| json.as_ref())
            .and_then(|json| json.get(key))
            .and_then(serde_json::Value::as_u64);
        if let Some(found) = value.filter(|&found| found != expected) {
            return Err(ImportError::Unsupported {
                path: dir.join(file),
                detail: format!("{key} is {found} but the weights need {expected}"),
            });
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, ImportError> {
    if !path.is_file() {
        return Ok(None);
    }
    let config_error = |detail: String| ImportError::Config {
        path: path.to_path_buf(),
        detail,
    };
    let size_bytes = fs::metadata(path)
        .map_err(|e| config_error(e.to_string()))?
        .len();
    if size_bytes > MAX_CONFIG_BYTES {
        return Err(config_error(format!(
            "{size_bytes} bytes is too large for a configuration file"
        )));
    }
    let text = fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| config_error(format!("invalid JSON ({e})")))
}

/// Where a ggml tensor's numbers come from.
#[derive(Debug, Clone)]
enum TensorSource {
    /// A block of rows of a stored variable (all of it, or one part of a fused projection).
    Rows {
        variable: Ct2Variable,
        scale: Option<Ct2Variable>,
        rows: Range<u64>,
    },
    /// Whisper's sinusoidal encoder position encodings, for models that do not store them.
    Sinusoids { length: u64, channels: u64 },
}

impl TensorSource {
    fn is_integer(&self) -> bool {
        matches!(self, Self::Rows { variable, .. } if matches!(variable.dtype, Ct2Dtype::Int8 | Ct2Dtype::Int16))
    }
}

/// One tensor of the output file.
#[derive(Debug, Clone)]
struct PlannedTensor {
    name: String,
    ggml_type: GgmlType,
    /// Outermost first, as PyTorch would print the shape.
    dims: Vec<u64>,
    source: TensorSource,
}

impl PlannedTensor {
    fn row_len(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }

    fn row_count(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }
}

/// Builds the list of output tensors and checks every source variable's shape and type.
struct Planner<'m> {
    model: &'m Ct2ModelFile,
    matrix_type: GgmlType,
    tensors: Vec<PlannedTensor>,
    used: HashSet<String>,
}

impl Planner<'_> {
    /// Rows `rows` of `ct2_name` (whose shape must be `expected`) become `ggml_name`.
    fn add(
        &mut self,
        ct2_name: &str,
        expected: &[u64],
        rows: Option<Range<u64>>,
        ggml_name: String,
        ggml_type: GgmlType,
        dims: Vec<u64>,
    ) -> Result<(), ImportError> {
        let variable = require(self.model, ct2_name)?;
        if variable.shape != expected {
            return Err(shape_error(self.model, variable, expected));
        }
        let scale = match variable.dtype {
            Ct2Dtype::Int8 | Ct2Dtype::Int16 => {
                let scale =
                    self.model
                        .scale_of(variable)
                        .ok_or_else(|| ImportError::MissingVariable {
                            path: self.model.path().to_path_buf(),
                            name: format!("{ct2_name}_scale"),
                        })?;
                let count = scale.element_count();
                if count != 1 && count != variable.row_count() {
                    return Err(shape_error(self.model, scale, &[variable.row_count()]));
                }
                self.used.insert(scale.name.clone());
                Some(scale.clone())
            }
            Ct2Dtype::Int32 => {
                return Err(Ct2Error::UnsupportedDtype {
                    path: self.model.path().to_path_buf(),
                    name: ct2_name.to_owned(),
                    dtype: variable.dtype.name().to_owned(),
                }
                .into());
            }
            Ct2Dtype::Float32 | Ct2Dtype::Float16 | Ct2Dtype::BFloat16 => None,
        };
        if ggml_type.is_block_quantized() {
            let row_len: u64 = dims.iter().skip(1).product();
            if ggml_type.row_size_bytes(row_len).is_none() {
                return Err(unsupported(
                    self.model,
                    format!(
                        "'{ggml_name}' rows of {row_len} values are not a multiple of 32, so it cannot be quantized"
                    ),
                ));
            }
        }
        self.used.insert(variable.name.clone());
        let rows = rows.unwrap_or(0..variable.row_count());
        self.tensors.push(PlannedTensor {
            name: ggml_name,
            ggml_type,
            dims,
            source: TensorSource::Rows {
                variable: variable.clone(),
                scale,
                rows,
            },
        });
        Ok(())
    }

    fn layer_norm(&mut self, ct2: &str, ggml: &str, n_state: u64) -> Result<(), ImportError> {
        let f32 = GgmlType::F32;
        self.add(
            &format!("{ct2}/gamma"),
            &[n_state],
            None,
            format!("{ggml}.weight"),
            f32,
            vec![n_state],
        )?;
        self.add(
            &format!("{ct2}/beta"),
            &[n_state],
            None,
            format!("{ggml}.bias"),
            f32,
            vec![n_state],
        )
    }

    fn linear(
        &mut self,
        ct2: &str,
        ggml: &str,
        out_len: u64,
        in_len: u64,
    ) -> Result<(), ImportError> {
        let matrix = self.matrix_type;
        self.add(
            &format!("{ct2}/weight"),
            &[out_len, in_len],
            None,
            format!("{ggml}.weight"),
            matrix,
            vec![out_len, in_len],
        )?;
        self.add(
            &format!("{ct2}/bias"),
            &[out_len],
            None,
            format!("{ggml}.bias"),
            GgmlType::F32,
            vec![out_len],
        )
    }

    /// A fused projection of `parts.len()` square blocks stacked by rows. Each part has a
    /// ggml name prefix and whether its bias is kept (keys have none in whisper.cpp).
    fn fused(
        &mut self,
        ct2: &str,
        parts: &[(String, bool)],
        n_state: u64,
    ) -> Result<(), ImportError> {
        let total = n_state * parts.len() as u64;
        for (index, (ggml, keep_bias)) in parts.iter().enumerate() {
            let rows = index as u64 * n_state..(index as u64 + 1) * n_state;
            let matrix = self.matrix_type;
            self.add(
                &format!("{ct2}/weight"),
                &[total, n_state],
                Some(rows.clone()),
                format!("{ggml}.weight"),
                matrix,
                vec![n_state, n_state],
            )?;
            if *keep_bias {
                self.add(
                    &format!("{ct2}/bias"),
                    &[total],
                    Some(rows),
                    format!("{ggml}.bias"),
                    GgmlType::F32,
                    vec![n_state],
                )?;
            }
        }
        Ok(())
    }

    fn mlp(&mut self, ct2: &str, ggml: &str, n_state: u64) -> Result<(), ImportError> {
        self.layer_norm(
            &format!("{ct2}/ffn/layer_norm"),
            &format!("{ggml}.mlp_ln"),
            n_state,
        )?;
        self.linear(
            &format!("{ct2}/ffn/linear_0"),
            &format!("{ggml}.mlp.0"),
            4 * n_state,
            n_state,
        )?;
        self.linear(
            &format!("{ct2}/ffn/linear_1"),
            &format!("{ggml}.mlp.2"),
            n_state,
            4 * n_state,
        )
    }

    fn self_attention(&mut self, ct2: &str, ggml: &str, n_state: u64) -> Result<(), ImportError> {
        let attention = format!("{ct2}/self_attention");
        self.layer_norm(
            &format!("{attention}/layer_norm"),
            &format!("{ggml}.attn_ln"),
            n_state,
        )?;
        let parts = [
            (format!("{ggml}.attn.query"), true),
            (format!("{ggml}.attn.key"), false),
            (format!("{ggml}.attn.value"), true),
        ];
        self.fused(&format!("{attention}/linear_0"), &parts, n_state)?;
        self.linear(
            &format!("{attention}/linear_1"),
            &format!("{ggml}.attn.out"),
            n_state,
            n_state,
        )
    }
}

fn plan_tensors(
    model: &Ct2ModelFile,
    shapes: &ModelShapes,
    quantization: Quantization,
) -> Result<Vec<PlannedTensor>, ImportError> {
    let mut planner = Planner {
        model,
        matrix_type: quantization.matrix_type(),
        tensors: Vec::new(),
        used: HashSet::new(),
    };
    planner.encoder(shapes)?;
    planner.decoder(shapes)?;
    check_every_variable_used(model, &planner.used)?;
    Ok(planner.tensors)
}

/// whisper.cpp computes logits with the token embedding, so the output projection must be
/// the same matrix (CTranslate2 then stores it as an alias, not as data); any other variable
/// left over is a model this converter does not know.
fn check_every_variable_used(model: &Ct2ModelFile, used: &HashSet<String>) -> Result<(), ImportError> {
    for variable in model.variables() {
        if variable.shape.is_empty() || used.contains(&variable.name) {
            continue;
        }
        let detail = if variable.name.starts_with("decoder/projection") {
            "its output projection is not tied to the token embedding".to_owned()
        } else {
            format!(
                "it has weights this converter does not know ('{}')",
                variable.name
            )
        };
        return Err(unsupported(model, detail));
    }
    Ok(())
}

impl Planner<'_> {
    /// The encoder: positional embedding (generated when the model has none), the two
    /// convolutions, the blocks and the final layer norm.
    fn encoder(&mut self, shapes: &ModelShapes) -> Result<(), ImportError> {
        let n = shapes.n_state;
        let f32 = GgmlType::F32;
        // Conv kernels stay f16 even in quantized files (whisper.cpp's `vtype`).
        let conv = GgmlType::F16;
        if self.model.variable("encoder/position_encodings/encodings").is_some() {
            self.add(
                "encoder/position_encodings/encodings",
                &[shapes.n_audio_ctx, n],
                None,
                "encoder.positional_embedding".into(),
                f32,
                vec![shapes.n_audio_ctx, n],
            )?;
        } else {
            self.tensors.push(PlannedTensor {
                name: "encoder.positional_embedding".into(),
                ggml_type: f32,
                dims: vec![shapes.n_audio_ctx, n],
                source: TensorSource::Sinusoids {
                    length: shapes.n_audio_ctx,
                    channels: n,
                },
            });
        }
        for (index, in_channels) in [(1, shapes.n_mels), (2, n)] {
            let ct2 = format!("encoder/conv{index}");
            let ggml = format!("encoder.conv{index}");
            self.add(
                &format!("{ct2}/weight"),
                &[n, in_channels, 3],
                None,
                format!("{ggml}.weight"),
                conv,
                vec![n, in_channels, 3],
            )?;
            // whisper.cpp wants the bias as an [n, 1] matrix to broadcast over time.
            self.add(
                &format!("{ct2}/bias"),
                &[n],
                None,
                format!("{ggml}.bias"),
                f32,
                vec![n, 1],
            )?;
        }
        for layer in 0..shapes.n_audio_layer {
            let ct2 = format!("encoder/layer_{layer}");
            let ggml = format!("encoder.blocks.{layer}");
            self.mlp(&ct2, &ggml, n)?;
            self.self_attention(&ct2, &ggml, n)?;
        }
        self.layer_norm("encoder/layer_norm", "encoder.ln_post", n)?;
        Ok(())
    }

    /// The decoder: positional and token embeddings, the blocks with their cross-attention,
    /// and the final layer norm.
    fn decoder(&mut self, shapes: &ModelShapes) -> Result<(), ImportError> {
        let n = shapes.n_state;
        let f32 = GgmlType::F32;
        self.add(
            "decoder/position_encodings/encodings",
            &[shapes.n_text_ctx, n],
            None,
            "decoder.positional_embedding".into(),
            f32,
            vec![shapes.n_text_ctx, n],
        )?;
        let matrix = self.matrix_type;
        self.add(
            "decoder/embeddings/weight",
            &[shapes.n_vocab, n],
            None,
            "decoder.token_embedding.weight".into(),
            matrix,
            vec![shapes.n_vocab, n],
        )?;
        for layer in 0..shapes.n_text_layer {
            let ct2 = format!("decoder/layer_{layer}");
            let ggml = format!("decoder.blocks.{layer}");
            self.mlp(&ct2, &ggml, n)?;
            self.self_attention(&ct2, &ggml, n)?;
            let cross = format!("{ct2}/attention");
            self.layer_norm(
                &format!("{cross}/layer_norm"),
                &format!("{ggml}.cross_attn_ln"),
                n,
            )?;
            self.linear(
                &format!("{cross}/linear_0"),
                &format!("{ggml}.cross_attn.query"),
                n,
                n,
            )?;
            let parts = [
                (format!("{ggml}.cross_attn.key"), false),
                (format!("{ggml}.cross_attn.value"), true),
            ];
            self.fused(&format!("{cross}/linear_1"), &parts, n)?;
            self.linear(
                &format!("{cross}/linear_2"),
                &format!("{ggml}.cross_attn.out"),
                n,
                n,
            )?;
        }
        self.layer_norm("decoder/layer_norm", "decoder.ln", n)?;
        Ok(())
    }
}

/// Streams every planned tensor into `out`. Returns true when all numbers were stored exactly.
fn write_tensors(
    model: &mut Ct2ModelFile,
    plan: &[PlannedTensor],
    out: &mut impl Write,
    partial: &Path,
    progress: &mut dyn FnMut(f64),
) -> Result<bool, ImportError> {
    let write_error = |source| ImportError::Write {
        path: partial.to_path_buf(),
        source,
    };
    let total_values: u64 = plan
        .iter()
        .map(|t| t.row_count() * t.row_len())
        .sum::<u64>()
        .max(1);
    let mut done_values = 0u64;
    let mut exact = true;
    let mut values = Vec::new();
    let mut encoded = Vec::new();

    for tensor in plan {
        ggml::write_tensor_header(out, &tensor.name, tensor.ggml_type, &tensor.dims)
            .map_err(write_error)?;
        let row_len = tensor.row_len();
        let rows_per_chunk = (CHUNK_VALUES / row_len.max(1)).max(1);
        let scales = match &tensor.source {
            TensorSource::Rows {
                scale: Some(scale), ..
            } => Some(model.read_all_f32(scale)?),
            _ => None,
        };

        let mut row = 0;
        while row < tensor.row_count() {
            let chunk_rows = rows_per_chunk.min(tensor.row_count() - row);
            match &tensor.source {
                TensorSource::Rows { variable, rows, .. } => {
                    let start = rows.start + row;
                    model.read_rows_f32(
                        variable,
                        scales.as_deref(),
                        start..start + chunk_rows,
                        &mut values,
                    )?;
                }
                TensorSource::Sinusoids { length, channels } => {
                    sinusoid_rows(row..(row + chunk_rows).min(*length), *channels, &mut values);
                }
            }
            encoded.clear();
            exact &= tensor
                .ggml_type
                .encode_rows(&values, row_len as usize, &mut encoded);
            out.write_all(&encoded).map_err(write_error)?;
            row += chunk_rows;
            done_values += chunk_rows * row_len;
            progress(done_values as f64 / total_values as f64);
        }
    }
    Ok(exact)
}

/// Rows of whisper's `sinusoids(length, channels)`: sin in the first half, cos in the second.
fn sinusoid_rows(rows: Range<u64>, channels: u64, out: &mut Vec<f32>) {
    let half = (channels / 2).max(1);
    let increment = 10_000f64.ln() / (half.saturating_sub(1).max(1)) as f64;
    out.clear();
    for position in rows {
        let angle = |i: u64| position as f64 * (-increment * i as f64).exp();
        out.extend((0..half).map(|i| angle(i).sin() as f32));
        out.extend((0..half).map(|i| angle(i).cos() as f32));
    }
}

#[cfg(test)]
mod tests {
    use super::super::ct2_binary::test_image::{Ct2Builder, f32_bytes};
    use super::*;

    #[test]
    fn parses_quantization_names() {
        assert_eq!("f16".parse(), Ok(Quantization::F16));
        assert_eq!("Q8_0".parse(), Ok(Quantization::Q8_0));
        assert_eq!(" q5_0 ".parse(), Ok(Quantization::Q5_0));
        assert_eq!("q5_1".parse(), Ok(Quantization::Q5_1));
        let error = "q4_0".parse::<Quantization>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("unknown quantization 'q4_0'; use f16, q8_0, q5_0 or q5_1")
        );
        for q in Quantization::ALL {
            assert_eq!(q.to_string().parse(), Ok(q));
        }
    }

    #[test]
    fn sinusoids_match_whisper() {
        // whisper.sinusoids(3, 4): increment = ln(10000) / 1, timescales 1 and 1e-4.
        let mut values = Vec::new();
        sinusoid_rows(0..3, 4, &mut values);
        let expected = [
            0.0,
            0.0,
            1.0,
            1.0, //
            1f64.sin() as f32,
            1e-4f64.sin() as f32,
            1f64.cos() as f32,
            1e-4f64.cos() as f32, //
            2f64.sin() as f32,
            2e-4f64.sin() as f32,
            2f64.cos() as f32,
            2e-4f64.cos() as f32,
        ];
        assert_eq!(values.len(), expected.len());
        for (a, b) in values.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    /// A complete, tiny Whisper-shaped model (width 32, one layer each, 8 mels, 50257 tokens
    /// so the English end-of-text id 50256 fits), every weight a distinct multiple of 1/256
    /// (exact in f16). With `int8_attention` the self-attention `linear_0` weights are int8:
    /// row r holds r everywhere with scale 2, so they dequantize to r / 2.
    fn tiny_model(int8_attention: bool) -> Ct2Builder {
        let n = 32u32;
        let n_vocab = 50_257u32;
        let mut counter = 0.0f32;
        let mut next = |len: u32| -> Vec<u8> {
            f32_bytes(
                &(0..len)
                    .map(|_| {
                        counter += 1.0;
                        (counter % 251.0) / 256.0
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let mut builder = Ct2Builder::new("WhisperSpec")
            .variable("encoder/num_heads", &[], 2, &1i16.to_le_bytes())
            .variable("decoder/num_heads", &[], 2, &1i16.to_le_bytes())
            .variable("decoder/scale_embeddings", &[], 1, &[0])
            .variable("encoder/conv1/weight", &[n, 8, 3], 0, &next(n * 24))
            .variable("encoder/conv1/bias", &[n], 0, &next(n))
            .variable("encoder/conv2/weight", &[n, n, 3], 0, &next(n * n * 3))
            .variable("encoder/conv2/bias", &[n], 0, &next(n))
            .variable(
                "encoder/position_encodings/encodings",
                &[6, n],
                0,
                &next(6 * n),
            )
            .variable("encoder/layer_norm/gamma", &[n], 0, &next(n))
            .variable("encoder/layer_norm/beta", &[n], 0, &next(n))
            .variable(
                "decoder/embeddings/weight",
                &[n_vocab, n],
                0,
                &next(n_vocab * n),
            )
            .variable(
                "decoder/position_encodings/encodings",
                &[4, n],
                0,
                &next(4 * n),
            )
            .variable("decoder/layer_norm/gamma", &[n], 0, &next(n))
            .variable("decoder/layer_norm/beta", &[n], 0, &next(n))
            .alias("decoder/projection/weight", "decoder/embeddings/weight");
        for side in ["encoder", "decoder"] {
            let layer = format!("{side}/layer_0");
            for norm in ["ffn/layer_norm", "self_attention/layer_norm"] {
                builder = builder
                    .variable(&format!("{layer}/{norm}/gamma"), &[n], 0, &next(n))
                    .variable(&format!("{layer}/{norm}/beta"), &[n], 0, &next(n));
            }
            builder = builder
                .variable(
                    &format!("{layer}/ffn/linear_0/weight"),
                    &[4 * n, n],
                    0,
                    &next(4 * n * n),
                )
                .variable(
                    &format!("{layer}/ffn/linear_0/bias"),
                    &[4 * n],
                    0,
                    &next(4 * n),
                )
                .variable(
                    &format!("{layer}/ffn/linear_1/weight"),
                    &[n, 4 * n],
                    0,
                    &next(4 * n * n),
                )
                .variable(&format!("{layer}/ffn/linear_1/bias"), &[n], 0, &next(n))
                .variable(
                    &format!("{layer}/self_attention/linear_1/weight"),
                    &[n, n],
                    0,
                    &next(n * n),
                )
                .variable(
                    &format!("{layer}/self_attention/linear_1/bias"),
                    &[n],
                    0,
                    &next(n),
                )
                .variable(
                    &format!("{layer}/self_attention/linear_0/bias"),
                    &[3 * n],
                    0,
                    &next(3 * n),
                );
            let fused = format!("{layer}/self_attention/linear_0/weight");
            if int8_attention {
                let codes: Vec<u8> = (0..3 * n).flat_map(|r| vec![r as u8; n as usize]).collect();
                builder = builder.variable(&fused, &[3 * n, n], 1, &codes).variable(
                    &format!("{fused}_scale"),
                    &[3 * n],
                    0,
                    &f32_bytes(&vec![2.0; 3 * n as usize]),
                );
            } else {
                builder = builder.variable(&fused, &[3 * n, n], 0, &next(3 * n * n));
            }
        }
        let cross = "decoder/layer_0/attention";
        builder
            .variable(&format!("{cross}/layer_norm/gamma"), &[n], 0, &next(n))
            .variable(&format!("{cross}/layer_norm/beta"), &[n], 0, &next(n))
            .variable(
                &format!("{cross}/linear_0/weight"),
                &[n, n],
                0,
                &next(n * n),
            )
            .variable(&format!("{cross}/linear_0/bias"), &[n], 0, &next(n))
            .variable(
                &format!("{cross}/linear_1/weight"),
                &[2 * n, n],
                0,
                &next(2 * n * n),
            )
            .variable(&format!("{cross}/linear_1/bias"), &[2 * n], 0, &next(2 * n))
            .variable(
                &format!("{cross}/linear_2/weight"),
                &[n, n],
                0,
                &next(n * n),
            )
            .variable(&format!("{cross}/linear_2/bias"), &[n], 0, &next(n))
    }

    /// A model directory holding `image` as model.bin and a matching vocabulary.txt.
    fn write_model_dir(image: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        fs::write(dir.path().join("model.bin"), image).unwrap_or_else(|e| panic!("{e}"));
        let mut vocabulary: String = (0..50_256).map(|i| format!("t{i}\n")).collect();
        vocabulary.push_str("<|endoftext|>\n");
        fs::write(dir.path().join("vocabulary.txt"), vocabulary).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    /// The tensor records of a ggml file: (name, type id, ne, data).
    fn read_ggml_tensors(bytes: &[u8]) -> Vec<(String, i32, Vec<i32>, Vec<u8>)> {
        let word = |at: usize| {
            i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut at = 48;
        let (n_mel, n_fft) = (word(at) as usize, word(at + 4) as usize);
        at += 8 + n_mel * n_fft * 4;
        let n_tokens = word(at) as usize;
        at += 4;
        for _ in 0..n_tokens {
            at += 4 + word(at) as usize;
        }
        let mut tensors = Vec::new();
        while at < bytes.len() {
            let (n_dims, name_len, ttype) =
                (word(at) as usize, word(at + 4) as usize, word(at + 8));
            at += 12;
            let ne: Vec<i32> = (0..n_dims).map(|i| word(at + 4 * i)).collect();
            at += 4 * n_dims;
            let name = String::from_utf8_lossy(&bytes[at..at + name_len]).into_owned();
            at += name_len;
            let count: u64 = ne.iter().map(|&d| d as u64).product();
            let size = GgmlType::from_id(ttype)
                .and_then(|t| t.row_size_bytes(ne[0] as u64))
                .map(|row| row * count / ne[0] as u64)
                .unwrap_or(0) as usize;
            tensors.push((name, ttype, ne, bytes[at..at + size].to_vec()));
            at += size;
        }
        tensors
    }

    fn f32_values(data: &[u8]) -> Vec<f32> {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    fn f16_values(data: &[u8]) -> Vec<f32> {
        data.chunks_exact(2)
            .map(|b| super::super::quantize::f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect()
    }

    fn convert(dir: &Path, quantization: Quantization) -> (ImportSummary, Vec<u8>, Vec<f64>) {
        let output = dir.join("out").join("ggml-test.bin");
        let mut reports = Vec::new();
        let summary = import_ct2_model(dir, &output, quantization, &mut |f| reports.push(f))
            .unwrap_or_else(|e| panic!("import failed: {e}"));
        let names: Vec<_> = fs::read_dir(dir.join("out"))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|entry| entry.map(|e| e.file_name()).unwrap_or_default())
            .collect();
        assert_eq!(names, ["ggml-test.bin"], "no temporary file is left");
        let bytes = fs::read(&output).unwrap_or_else(|e| panic!("{e}"));
        (summary, bytes, reports)
    }

    #[test]
    fn maps_splits_and_types_every_tensor() {
        let dir = write_model_dir(&tiny_model(true).build());
        for quantization in [Quantization::F16, Quantization::Q8_0, Quantization::Q5_1] {
            let (summary, bytes, reports) = convert(dir.path(), quantization);
            assert_eq!(summary.size_bytes, bytes.len() as u64);
            assert_eq!(
                (summary.n_vocab, summary.n_text_layer, summary.multilingual),
                (50_257, 1, false)
            );
            assert!(!summary.lossless, "int8 sources are never lossless");
            assert_eq!(reports.first(), Some(&0.0));
            assert_eq!(reports.last(), Some(&1.0));
            assert!(reports.windows(2).all(|w| w[0] <= w[1]));

            let header: Vec<i32> = bytes[..48]
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let ftype = quantization.matrix_type().file_ftype();
            assert_eq!(
                header,
                vec![0x6767_6d6c, 50_257, 6, 32, 1, 1, 4, 32, 1, 1, 8, ftype]
            );

            let tensors = read_ggml_tensors(&bytes);
            // 7 encoder + 4 decoder globals, 15 per encoder layer, 24 per decoder layer: the
            // tensors whisper.cpp's loader creates (it fails unless it gets all of them).
            assert_eq!(tensors.len(), 11 + 15 + 24);
            let find = |name: &str| {
                tensors
                    .iter()
                    .find(|t| t.0 == name)
                    .cloned()
                    .unwrap_or_default()
            };
            let matrix = quantization.matrix_type().id();
            assert_eq!(
                (
                    find("encoder.positional_embedding").1,
                    find("encoder.positional_embedding").2
                ),
                (0, vec![32, 6])
            );
            assert_eq!(
                (
                    find("encoder.conv1.weight").1,
                    find("encoder.conv1.weight").2
                ),
                (1, vec![3, 8, 32])
            );
            assert_eq!(
                (find("encoder.conv2.bias").1, find("encoder.conv2.bias").2),
                (0, vec![1, 32])
            );
            assert_eq!(
                (
                    find("decoder.token_embedding.weight").1,
                    find("decoder.token_embedding.weight").2
                ),
                (matrix, vec![32, 50_257])
            );
            assert_eq!(find("decoder.blocks.0.cross_attn.key.weight").1, matrix);
            assert_eq!(
                (
                    find("decoder.blocks.0.mlp.0.weight").1,
                    find("decoder.blocks.0.mlp.0.weight").2
                ),
                (matrix, vec![32, 128])
            );
            assert_eq!(
                (
                    find("decoder.blocks.0.mlp.0.bias").1,
                    find("decoder.blocks.0.mlp.0.bias").2
                ),
                (0, vec![128])
            );
            assert_eq!(
                (find("decoder.ln.weight").1, find("decoder.ln.weight").2),
                (0, vec![32])
            );
            assert!(
                tensors
                    .iter()
                    .all(|t| !t.0.contains("key.bias") && !t.0.contains("proj"))
            );

            if quantization == Quantization::F16 {
                // int8 fused rows dequantize to r / 2: query rows 0..32, key 32..64, value 64..96.
                let key = f16_values(&find("encoder.blocks.0.attn.key.weight").3);
                assert_eq!((key.len(), key[0], key[32 * 31]), (32 * 32, 16.0, 31.5));
                let value = f16_values(&find("decoder.blocks.0.attn.value.weight").3);
                assert_eq!(value[0], 32.0);
                // The cross-attention value bias is the second half of linear_1/bias.
                let mut model = Ct2ModelFile::open(&dir.path().join("model.bin"))
                    .unwrap_or_else(|e| panic!("{e}"));
                let fused_bias = model
                    .variable("decoder/layer_0/attention/linear_1/bias")
                    .cloned();
                let fused_bias = fused_bias
                    .map(|v| model.read_all_f32(&v).unwrap_or_default())
                    .unwrap_or_default();
                assert_eq!(fused_bias.len(), 64);
                assert_eq!(
                    f32_values(&find("decoder.blocks.0.cross_attn.value.bias").3),
                    fused_bias[32..]
                );
                let query_bias = f32_values(&find("decoder.blocks.0.cross_attn.query.bias").3);
                assert_eq!(query_bias.len(), 32);
            }
        }
    }

    #[test]
    fn float_sources_that_fit_f16_are_lossless() {
        let dir = write_model_dir(&tiny_model(false).build());
        let (summary, _, _) = convert(dir.path(), Quantization::F16);
        assert!(summary.lossless);
        let (summary, _, _) = convert(dir.path(), Quantization::Q5_0);
        assert!(!summary.lossless);
    }

    #[test]
    fn rejects_unknown_weights_and_untied_projection() {
        let output_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let output = output_dir.path().join("out.bin");
        let untied =
            tiny_model(false).variable("decoder/projection/bias", &[2], 0, &f32_bytes(&[0.0; 2]));
        let dir = write_model_dir(&untied.build());
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("output projection is not tied"),
            "{message}"
        );

        let extra = tiny_model(false).variable(
            "encoder/layer_7/ffn/linear_9/weight",
            &[2, 2],
            0,
            &f32_bytes(&[0.0; 4]),
        );
        let dir = write_model_dir(&extra.build());
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("does not know ('encoder/layer_7/ffn/linear_9/weight')"),
            "{message}"
        );
        assert!(!output.exists());
    }

    #[test]
    fn mel_count_must_agree_with_the_configuration() {
        let dir = write_model_dir(&tiny_model(false).build());
        fs::write(
            dir.path().join("preprocessor_config.json"),
            r#"{"feature_size": 128}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let output = dir.path().join("out.bin");
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("feature_size is 128 but the weights need 8"),
            "{message}"
        );
    }

    #[test]
    fn absurd_mel_counts_are_rejected_before_allocating() {
        let image = Ct2Builder::new("WhisperSpec")
            .variable(
                "decoder/embeddings/weight",
                &[2, 32],
                0,
                &f32_bytes(&[0.0; 64]),
            )
            .variable(
                "encoder/conv1/weight",
                &[1, 100_000, 1],
                1,
                &vec![0u8; 100_000],
            )
            .build();
        let dir = write_model_dir(&image);
        let output = dir.path().join("out.bin");
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("100000 mel bands"), "{message}");
    }

    #[test]
    fn missing_embedding_is_named() {
        let dir = write_model_dir(&Ct2Builder::new("WhisperSpec").build());
        let output = dir.path().join("out.bin");
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("no variable 'decoder/embeddings/weight'"),
            "{message}"
        );
    }

    #[test]
    fn wrong_directory_and_wrong_spec_fail_cleanly() {
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let output = empty.path().join("out.bin");
        let error = import_ct2_model(empty.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("not a CTranslate2 Whisper model directory"),
            "{message}"
        );
        assert!(message.contains(
            "model.bin missing; point to the folder that holds model.bin, config.json and tokenizer.json"
        ));

        let dir = write_model_dir(&Ct2Builder::new("TransformerSpec").build());
        let error = import_ct2_model(dir.path(), &output, Quantization::F16, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("'TransformerSpec' model, not Whisper"),
            "{message}"
        );
        assert!(!output.exists());
        let leftovers = fs::read_dir(empty.path())
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(leftovers, 0, "no temporary file is left");
    }
}
