//! Which of a model's attention heads line text up with audio, for word times.
//!
//! Whisper's timestamp tokens are coarse (under greedy decoding often whole seconds), and
//! times spread over tokens from them are often a second off. The cross-attention of a few
//! decoder heads follows the audio closely; whisper.cpp aligns tokens to it by dynamic time
//! warping (DTW) when the context is created with those heads. OpenAI published the heads of
//! each standard model; whisper.cpp has them as presets. The model is recognised here from
//! its ggml header, before it is loaded, because the heads are a load-time setting.

use whisper_rs::{DtwMode, DtwModelPreset};

/// The hyperparameters of a ggml Whisper model, as its header stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub vocabulary_size: i32,
    pub text_state: i32,
    pub text_layers: i32,
    pub mel_bands: i32,
}

impl ModelShape {
    /// Reads the shape from the first 48 bytes of a ggml model: the magic, then eleven
    /// little-endian `i32`s (vocabulary, audio context, audio state, audio heads, audio layers,
    /// text context, text state, text heads, text layers, mel bands, weight type).
    pub fn from_header(header: &[u8; 48]) -> ModelShape {
        let field = |index: usize| {
            let at = 4 + 4 * index;
            i32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        ModelShape { vocabulary_size: field(0), text_state: field(6), text_layers: field(8), mel_bands: field(9) }
    }

    /// English-only models have a smaller vocabulary (no language tokens).
    pub fn multilingual(&self) -> bool {
        self.vocabulary_size >= 51865
    }

    /// The alignment heads whisper.cpp should use: OpenAI's for a standard model, else the
    /// heads of the upper half of the decoder (a usable guess for fine-tuned or distilled ones).
    pub fn dtw_mode(&self) -> DtwMode<'static> {
        match self.standard_preset() {
            Some(model_preset) => DtwMode::ModelPreset { model_preset },
            None => DtwMode::TopMost { n_top: (self.text_layers / 2).max(1) },
        }
    }

    fn standard_preset(&self) -> Option<DtwModelPreset> {
        let english_only = !self.multilingual();
        Some(match (self.text_layers, self.text_state) {
            (4, 384) if english_only => DtwModelPreset::TinyEn,
            (4, 384) => DtwModelPreset::Tiny,
            (6, 512) if english_only => DtwModelPreset::BaseEn,
            (6, 512) => DtwModelPreset::Base,
            (12, 768) if english_only => DtwModelPreset::SmallEn,
            (12, 768) => DtwModelPreset::Small,
            (24, 1024) if english_only => DtwModelPreset::MediumEn,
            (24, 1024) => DtwModelPreset::Medium,
            // large-v1 and v2 share a shape; v2 is the one published as ggml-large-v2.
            (32, 1280) if self.mel_bands == 128 => DtwModelPreset::LargeV3,
            (32, 1280) => DtwModelPreset::LargeV2,
            (4, 1280) if self.mel_bands == 128 => DtwModelPreset::LargeV3Turbo,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fields: [i32; 11]) -> [u8; 48] {
        let mut header = [0u8; 48];
        header[..4].copy_from_slice(&0x6767_6d6cu32.to_le_bytes());
        for (index, value) in fields.iter().enumerate() {
            header[4 + 4 * index..8 + 4 * index].copy_from_slice(&value.to_le_bytes());
        }
        header
    }

    #[test]
    fn standard_models_get_their_published_heads() {
        let tiny_en = ModelShape::from_header(&header([51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]));
        assert!(!tiny_en.multilingual());
        assert!(matches!(tiny_en.dtw_mode(), DtwMode::ModelPreset { model_preset: DtwModelPreset::TinyEn }));
        let base = ModelShape::from_header(&header([51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1]));
        assert!(base.multilingual());
        assert!(matches!(base.dtw_mode(), DtwMode::ModelPreset { model_preset: DtwModelPreset::Base }));
        let turbo = ModelShape::from_header(&header([51866, 1500, 1280, 20, 32, 448, 1280, 20, 4, 128, 1]));
        assert!(matches!(turbo.dtw_mode(), DtwMode::ModelPreset { model_preset: DtwModelPreset::LargeV3Turbo }));
    }

    #[test]
    fn unknown_shapes_use_the_upper_decoder_layers() {
        let distilled = ModelShape::from_header(&header([51866, 1500, 1280, 20, 32, 448, 1280, 20, 2, 128, 1]));
        assert!(matches!(distilled.dtw_mode(), DtwMode::TopMost { n_top: 1 }));
    }
}
