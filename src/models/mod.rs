//! Whisper models on disk: importing CTranslate2 models into whisper.cpp's ggml format.

pub mod ct2;
pub mod ct2_binary;
pub mod ggml;
pub mod gpt2_vocab;
pub mod mel;
pub mod quantize;
