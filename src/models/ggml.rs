//! Writer for whisper.cpp's legacy ggml model file (`ggml-*.bin`), the format
//! `whisper_model_load` in whisper.cpp reads.
//!
//! Layout (little-endian `i32` unless noted): magic `0x67676d6c`; eleven hyper-parameters
//! (n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
//! n_text_state, n_text_head, n_text_layer, n_mels, ftype); the mel filterbank (n_mel,
//! n_fft, then n_mel x n_fft `f32`); the vocabulary (count, then per token a `u32` byte
//! length and the bytes); then tensors until the end of the file, each as n_dims, name
//! length, ggml type, n_dims dimensions innermost first, the name, and the data.

use std::io::{self, Write};

use super::mel::MelFilterbank;
use super::quantize::{self, BLOCK_LEN, Q5_0_BLOCK_BYTES, Q5_1_BLOCK_BYTES, Q8_0_BLOCK_BYTES};

/// "ggml" as a little-endian `u32`.
pub const GGML_FILE_MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantization format version (`GGML_QNT_VERSION` in ggml.h).
pub const GGML_QNT_VERSION: i32 = 2;
/// ftype = quantization version * this + file type (`GGML_QNT_VERSION_FACTOR`).
pub const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// The tensor element types this writer produces (ids from `enum ggml_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q5_0,
    Q5_1,
    Q8_0,
}

impl GgmlType {
    pub fn id(self) -> i32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
        }
    }

    pub fn from_id(id: i32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            _ => return None,
        })
    }

    pub fn is_block_quantized(self) -> bool {
        matches!(self, Self::Q5_0 | Self::Q5_1 | Self::Q8_0)
    }

    /// Bytes for one row of `row_len` values; `None` if a block type's row is not a whole
    /// number of blocks.
    pub fn row_size_bytes(self, row_len: u64) -> Option<u64> {
        let block_bytes = match self {
            Self::F32 => return row_len.checked_mul(4),
            Self::F16 => return row_len.checked_mul(2),
            Self::Q5_0 => Q5_0_BLOCK_BYTES,
            Self::Q5_1 => Q5_1_BLOCK_BYTES,
            Self::Q8_0 => Q8_0_BLOCK_BYTES,
        };
        if row_len % BLOCK_LEN as u64 != 0 {
            return None;
        }
        (row_len / BLOCK_LEN as u64).checked_mul(block_bytes as u64)
    }

    /// The whole-file ftype stored in the header when the big matrices use this type:
    /// 0 / 1 for f32 / f16 (as `convert-pt-to-ggml.py` writes), and
    /// `GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + GGML_FTYPE_MOSTLY_*` for quantized
    /// files (as whisper.cpp's `quantize` tool writes).
    pub fn file_ftype(self) -> i32 {
        let versioned = |mostly: i32| GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + mostly;
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => versioned(7),
            Self::Q5_0 => versioned(8),
            Self::Q5_1 => versioned(9),
        }
    }

    /// Appends `values` (whole rows of `row_len`) encoded in this type. Returns true when the
    /// stored numbers equal the input exactly.
    pub fn encode_rows(self, values: &[f32], row_len: usize, out: &mut Vec<u8>) -> bool {
        match self {
            Self::F32 => {
                out.reserve(values.len() * 4);
                for value in values {
                    out.extend_from_slice(&value.to_le_bytes());
                }
                true
            }
            Self::F16 => quantize::encode_f16(values, out),
            Self::Q8_0 | Self::Q5_0 | Self::Q5_1 => {
                for row in values.chunks(row_len.max(1)) {
                    match self {
                        Self::Q8_0 => quantize::quantize_row_q8_0(row, out),
                        Self::Q5_0 => quantize::quantize_row_q5_0(row, out),
                        _ => quantize::quantize_row_q5_1(row, out),
                    }
                }
                false
            }
        }
    }
}

/// whisper.cpp's hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperHparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

/// Writes the magic, hyper-parameters, mel filters and vocabulary: everything before the
/// tensors.
pub fn write_preamble(
    out: &mut impl Write,
    hparams: &WhisperHparams,
    filters: &MelFilterbank,
    tokens: &[Vec<u8>],
) -> io::Result<()> {
    out.write_all(&GGML_FILE_MAGIC.to_le_bytes())?;
    for value in [
        hparams.n_vocab,
        hparams.n_audio_ctx,
        hparams.n_audio_state,
        hparams.n_audio_head,
        hparams.n_audio_layer,
        hparams.n_text_ctx,
        hparams.n_text_state,
        hparams.n_text_head,
        hparams.n_text_layer,
        hparams.n_mels,
        hparams.ftype,
    ] {
        out.write_all(&value.to_le_bytes())?;
    }

    write_i32(out, filters.n_mels)?;
    write_i32(out, filters.n_freqs)?;
    let mut buffer = Vec::with_capacity(filters.weights.len() * 4);
    for weight in &filters.weights {
        buffer.extend_from_slice(&weight.to_le_bytes());
    }
    out.write_all(&buffer)?;

    write_i32(out, tokens.len())?;
    for token in tokens {
        let len = u32::try_from(token.len()).map_err(|_| too_large("token"))?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(token)?;
    }
    Ok(())
}

/// Writes one tensor record header. `dims` are outermost first (numpy / PyTorch order); the
/// file stores them innermost first, as ggml's `ne`.
pub fn write_tensor_header(
    out: &mut impl Write,
    name: &str,
    ggml_type: GgmlType,
    dims: &[u64],
) -> io::Result<()> {
    write_i32(out, dims.len())?;
    write_i32(out, name.len())?;
    out.write_all(&ggml_type.id().to_le_bytes())?;
    for &dim in dims.iter().rev() {
        let dim = i32::try_from(dim).map_err(|_| too_large("tensor dimension"))?;
        out.write_all(&dim.to_le_bytes())?;
    }
    out.write_all(name.as_bytes())
}

fn write_i32(out: &mut impl Write, value: usize) -> io::Result<()> {
    let value = i32::try_from(value).map_err(|_| too_large("count"))?;
    out.write_all(&value.to_le_bytes())
}

fn too_large(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} too large for a ggml file"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftype_encoding_matches_whisper_cpp() {
        assert_eq!(GgmlType::F16.file_ftype(), 1);
        assert_eq!(GgmlType::Q8_0.file_ftype(), 2007);
        assert_eq!(GgmlType::Q5_0.file_ftype(), 2008);
        assert_eq!(GgmlType::Q5_1.file_ftype(), 2009);
        // whisper.cpp splits it back as ftype % 1000 and ftype / 1000.
        assert_eq!(GgmlType::Q5_1.file_ftype() % GGML_QNT_VERSION_FACTOR, 9);
        assert_eq!(GgmlType::Q5_1.file_ftype() / GGML_QNT_VERSION_FACTOR, 2);
    }

    #[test]
    fn row_sizes() {
        assert_eq!(GgmlType::F32.row_size_bytes(384), Some(1536));
        assert_eq!(GgmlType::F16.row_size_bytes(384), Some(768));
        assert_eq!(GgmlType::Q8_0.row_size_bytes(384), Some(12 * 34));
        assert_eq!(GgmlType::Q5_0.row_size_bytes(384), Some(12 * 22));
        assert_eq!(GgmlType::Q5_1.row_size_bytes(384), Some(12 * 24));
        assert_eq!(GgmlType::Q8_0.row_size_bytes(33), None);
        for id in [0, 1, 6, 7, 8] {
            assert_eq!(GgmlType::from_id(id).map(GgmlType::id), Some(id));
        }
    }

    #[test]
    fn preamble_and_tensor_header_layout() {
        let hparams = WhisperHparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        let filters = MelFilterbank {
            n_mels: 1,
            n_freqs: 2,
            weights: vec![0.5, 0.25],
        };
        let mut out = Vec::new();
        let written = write_preamble(&mut out, &hparams, &filters, &[b"a".to_vec(), Vec::new()]);
        assert!(written.is_ok());
        let words: Vec<i32> = out
            .chunks_exact(4)
            .take(12)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(words[0], 0x6767_6d6c);
        assert_eq!(
            &words[1..],
            &[51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]
        );
        let rest = &out[48..];
        assert_eq!(&rest[..8], &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&rest[8..16], &[0, 0, 0, 0x3f, 0, 0, 0x80, 0x3e]);
        assert_eq!(&rest[16..], &[2, 0, 0, 0, 1, 0, 0, 0, b'a', 0, 0, 0, 0]);

        let mut header = Vec::new();
        assert!(write_tensor_header(&mut header, "x.w", GgmlType::Q8_0, &[1536, 384]).is_ok());
        let mut expected = Vec::new();
        for value in [2i32, 3, 8, 384, 1536] {
            expected.extend_from_slice(&value.to_le_bytes());
        }
        expected.extend_from_slice(b"x.w");
        assert_eq!(header, expected);
    }
}
