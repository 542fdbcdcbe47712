//! Where the speech is: Silero VAD v6 (MIT, as faster-whisper's wheel ships it, converted once
//! by `scripts/convert-vad-model`) run in Rust. The energy VAD ([`crate::vad`]) takes anything
//! well above the quietest tenth of a recording for sound, so in a conversation of a clean voice
//! and a noisy one the noisy voice's pauses (breath, hiss, a room) counted as speech: a false
//! alarm in the turns (all of the built interview's 10 % error), and windows mostly of noise
//! allowed to found a speaker. Silero hears speech, not loudness: the diarizer cuts its turns to
//! Silero's speech and counts each window's speech by it ([`super::windows`]).
//!
//! The network, per 32 ms chunk (512 samples at 16 kHz, heard with the 64 samples before it):
//! a 256-point STFT as a convolution (hop 128, magnitudes of 129 bins), four convolutions of
//! width 3 with ReLU (129→128, 128→64 stride 2, 64→64 stride 2, 64→128), an LSTM of 128 carried
//! from chunk to chunk, ReLU, one output unit, sigmoid. Everything before the LSTM is done for
//! many chunks at once as matrix products; the LSTM is one small step per chunk.

use super::encoder::{dot, lstm_row, matmul_transposed, sigmoid};
use super::model::{SpeakerModelError, Tensor, read_checked, take_tensor};
use crate::vad;
use std::collections::HashMap;
use std::path::Path;

/// The file name of the converted detector in the models directory.
pub const SPEECH_MODEL_FILE: &str = "vad-silero-v6.safetensors";
/// SHA-256 of the file `scripts/convert-vad-model` makes from faster-whisper 1.2.1's
/// `silero_vad_v6.onnx`.
pub const SPEECH_MODEL_SHA256: &str = "d500cae4e5d99d4d603f4a59bd388a428a9fb46671fd80d57292409fce14006d";

/// Samples of one chunk at 16 kHz (32 ms), and of the context heard before it.
pub const CHUNK_SAMPLES: usize = 512;
const CONTEXT_SAMPLES: usize = 64;
/// The STFT: window and hop in samples, frequency bins.
const STFT_WINDOW: usize = 256;
const STFT_HOP: usize = 128;
const BINS: usize = STFT_WINDOW / 2 + 1;
/// STFT frames a chunk's convolutions see (the padded chunk gives 5; the first is not used).
const FRAMES_PER_CHUNK: usize = 4;
const LSTM_UNITS: usize = 128;
/// Chunks whose convolutions are computed together (33 s of audio, 4 MB of frames).
const CHUNKS_PER_BLOCK: usize = 1024;

/// A chunk is speech from where its probability reaches this (Silero's own threshold)…
pub const SPEECH_THRESHOLD: f32 = 0.5;
/// …until it falls below this (Silero's `threshold - 0.15`).
pub const SILENCE_THRESHOLD: f32 = 0.35;
/// Pauses shorter than this inside speech are not cut (the energy VAD's rule too).
const MAX_FILLED_GAP_S: f64 = 0.3;
/// How far speech is taken to reach beyond where the detector heard it, at each end: its
/// 32 ms decisions come a little late at an onset and early at a fade (Silero's own
/// `speech_pad_ms` serves the same end). Measured on the built conversations: turns cut
/// without it missed the edges of words (2-voice mean DER 5.0 %, 4.1 % with 0.1 s).
pub const SPEECH_PAD_S: f64 = 0.1;

/// One convolution of width 3 (padding 1): weights `out × (in × 3)`, as stored.
struct Conv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    stride: usize,
}

/// The loaded detector.
pub struct SpeechDetector {
    /// 258 rows (129 real, then 129 imaginary) of 256 samples.
    stft_basis: Vec<f32>,
    convs: [Conv; 4],
    /// Gates i, f, g, o of 128 rows each, over the 128 inputs.
    weight_ih: Vec<f32>,
    /// The recurrent weights transposed: row `j` holds unit `j`'s weight in each of the 512
    /// gates, so a step adds 128 scaled rows (which vectorises) instead of taking 512 dot
    /// products.
    weight_hh_by_unit: Vec<f32>,
    bias: Vec<f32>,
    out_weight: Vec<f32>,
    out_bias: f32,
}

impl SpeechDetector {
    /// Loads the converted model file, checking its hash.
    pub fn load(path: &Path) -> Result<SpeechDetector, SpeakerModelError> {
        let mut tensors = read_checked(path, SPEECH_MODEL_SHA256)?;
        SpeechDetector::from_tensors(&mut tensors).map_err(|detail| SpeakerModelError::Damaged { path: path.to_path_buf(), detail })
    }

    fn from_tensors(tensors: &mut HashMap<String, Tensor>) -> Result<SpeechDetector, String> {
        let mut take = |name: &str, shape: &[usize]| take_tensor(tensors, name, shape);
        let mut conv = |index: usize, inputs: usize, outputs: usize, stride: usize| -> Result<Conv, String> {
            Ok(Conv {
                weight: take(&format!("conv{index}.weight"), &[outputs, inputs, 3])?,
                bias: take(&format!("conv{index}.bias"), &[outputs])?,
                inputs,
                outputs,
                stride,
            })
        };
        let convs = [conv(0, BINS, 128, 1)?, conv(1, 128, 64, 2)?, conv(2, 64, 64, 2)?, conv(3, 64, LSTM_UNITS, 1)?];
        Ok(SpeechDetector {
            stft_basis: take("stft.basis", &[2 * BINS, STFT_WINDOW])?,
            convs,
            weight_ih: take("lstm.weight_ih", &[4 * LSTM_UNITS, LSTM_UNITS])?,
            weight_hh_by_unit: transpose(&take("lstm.weight_hh", &[4 * LSTM_UNITS, LSTM_UNITS])?, 4 * LSTM_UNITS, LSTM_UNITS),
            bias: take("lstm.bias", &[4 * LSTM_UNITS])?,
            out_weight: take("out.weight", &[LSTM_UNITS])?,
            out_bias: take("out.bias", &[1])?[0],
        })
    }

    /// The probability of speech in each chunk of [`CHUNK_SAMPLES`] of 16 kHz mono `samples`
    /// (the last one padded with silence), the network's state carried from the first chunk on.
    /// Everything before the LSTM is done for `threads` blocks of chunks at once, one a thread;
    /// the LSTM then goes through them in order.
    pub fn probabilities(&self, samples: &[f32], threads: usize) -> Vec<f32> {
        let chunk_count = samples.len().div_ceil(CHUNK_SAMPLES);
        let mut state = (vec![0f32; LSTM_UNITS], vec![0f32; LSTM_UNITS]);
        let mut probabilities = Vec::with_capacity(chunk_count);
        for group_start in (0..chunk_count).step_by(CHUNKS_PER_BLOCK * threads.max(1)) {
            let group_end = chunk_count.min(group_start + CHUNKS_PER_BLOCK * threads.max(1));
            let firsts: Vec<usize> = (group_start..group_end).step_by(CHUNKS_PER_BLOCK).collect();
            let mut input_gates: Vec<Vec<f32>> = vec![Vec::new(); firsts.len()];
            std::thread::scope(|scope| {
                for (&first, gates) in firsts.iter().zip(input_gates.iter_mut()) {
                    scope.spawn(move || *gates = self.input_gates(samples, first, CHUNKS_PER_BLOCK.min(group_end - first)));
                }
            });
            for gates in &mut input_gates {
                self.run_lstm(gates, &mut state, &mut probabilities);
            }
        }
        probabilities
    }

    /// The LSTM over a block's chunks (`input_gates`: a row of 4 × 128 each, overwritten),
    /// from `state` (hidden, cell), each chunk's probability pushed onto `probabilities`.
    fn run_lstm(&self, input_gates: &mut [f32], state: &mut (Vec<f32>, Vec<f32>), probabilities: &mut Vec<f32>) {
        let (hidden, cell) = state;
        let mut rectified = [0f32; LSTM_UNITS];
        for step in input_gates.chunks_exact_mut(4 * LSTM_UNITS) {
            add_recurrent(step, &self.weight_hh_by_unit, hidden);
            lstm_row::<LSTM_UNITS>(step, cell, hidden);
            rectified.iter_mut().zip(hidden.iter()).for_each(|(r, h)| *r = h.max(0.0));
            probabilities.push(sigmoid(dot(&self.out_weight, &rectified) + self.out_bias));
        }
    }

    /// Which frames of [`vad::FRAME_S`] of `samples` are speech: a chunk is speech from a
    /// probability of [`SPEECH_THRESHOLD`] until one below [`SILENCE_THRESHOLD`], and pauses
    /// shorter than [`MAX_FILLED_GAP_S`] inside speech are filled.
    pub fn active_frames(&self, samples: &[f32], threads: usize) -> Vec<bool> {
        let mut speaking = false;
        let chunk_is_speech: Vec<bool> = self
            .probabilities(samples, threads)
            .into_iter()
            .map(|probability| {
                speaking = if speaking { probability >= SILENCE_THRESHOLD } else { probability >= SPEECH_THRESHOLD };
                speaking
            })
            .collect();
        let frame_len = vad::frame_len(super::features::SAMPLE_RATE_HZ);
        let mut active: Vec<bool> = (0..samples.len().div_ceil(frame_len))
            .map(|frame| chunk_is_speech.get((frame * frame_len + frame_len / 2) / CHUNK_SAMPLES).copied().unwrap_or(false))
            .collect();
        vad::fill_short_gaps(&mut active, (MAX_FILLED_GAP_S / vad::FRAME_S) as usize);
        active
    }

    /// The input's share of the LSTM's gates (with the bias) for `chunks` chunks from chunk
    /// `first`: one row of 4 × 128 per chunk.
    fn input_gates(&self, samples: &[f32], first: usize, chunks: usize) -> Vec<f32> {
        let features = self.chunk_features(samples, first, chunks);
        let mut gates = vec![0f32; chunks * 4 * LSTM_UNITS];
        gates.chunks_exact_mut(4 * LSTM_UNITS).for_each(|row| row.copy_from_slice(&self.bias));
        matmul_transposed(&features, &self.weight_ih, &mut gates, chunks, LSTM_UNITS, 4 * LSTM_UNITS, 1.0);
        gates
    }

    /// The LSTM's input for `chunks` chunks from chunk `first`: one row of 128 per chunk.
    fn chunk_features(&self, samples: &[f32], first: usize, chunks: usize) -> Vec<f32> {
        let frames = stft_frames(samples, first, chunks);
        let mut spectrum = vec![0f32; chunks * FRAMES_PER_CHUNK * 2 * BINS];
        matmul_transposed(&frames, &self.stft_basis, &mut spectrum, chunks * FRAMES_PER_CHUNK, STFT_WINDOW, 2 * BINS, 0.0);
        let mut layer: Vec<f32> = spectrum
            .chunks_exact(2 * BINS)
            .flat_map(|row| {
                let (real, imaginary) = row.split_at(BINS);
                real.iter().zip(imaginary).map(|(re, im)| (re * re + im * im).sqrt())
            })
            .collect();
        let mut positions = FRAMES_PER_CHUNK;
        for conv in &self.convs {
            (layer, positions) = conv.apply(&layer, chunks, positions);
        }
        layer
    }
}

impl Conv {
    /// The convolution with ReLU over `chunks` chunks of `positions` rows of `self.inputs`
    /// each (each chunk padded on its own); returns the rows out and positions per chunk.
    fn apply(&self, input: &[f32], chunks: usize, positions: usize) -> (Vec<f32>, usize) {
        let positions_out = positions.div_ceil(self.stride);
        let width = self.inputs * 3;
        // One row per output position: input channel c at tap k in column c * 3 + k, as the
        // weights are stored.
        let mut columns = vec![0f32; chunks * positions_out * width];
        for (row_index, row) in columns.chunks_exact_mut(width).enumerate() {
            let (chunk, position) = (row_index / positions_out, row_index % positions_out);
            for tap in 0..3 {
                let Some(source) = (position * self.stride + tap).checked_sub(1).filter(|&p| p < positions) else { continue };
                let source_row = &input[(chunk * positions + source) * self.inputs..][..self.inputs];
                for (channel, &value) in source_row.iter().enumerate() {
                    row[channel * 3 + tap] = value;
                }
            }
        }
        let mut output = vec![0f32; chunks * positions_out * self.outputs];
        output.chunks_exact_mut(self.outputs).for_each(|row| row.copy_from_slice(&self.bias));
        matmul_transposed(&columns, &self.weight, &mut output, chunks * positions_out, width, self.outputs, 1.0);
        output.iter_mut().for_each(|value| *value = value.max(0.0));
        (output, positions_out)
    }
}

/// The STFT frames the convolutions see for `chunks` chunks from chunk `first`: each chunk is
/// its 64 samples of context and its 512 samples (zeros past the end, and before the start),
/// reflected by 128 at both ends; frames 1 to 4 of 256 at a hop of 128. Only the last frame
/// reaches into the reflection.
fn stft_frames(samples: &[f32], first: usize, chunks: usize) -> Vec<f32> {
    let heard = CONTEXT_SAMPLES + CHUNK_SAMPLES;
    let mut frames = vec![0f32; chunks * FRAMES_PER_CHUNK * STFT_WINDOW];
    let mut chunk_input = vec![0f32; heard];
    for (offset, chunk_frames) in frames.chunks_exact_mut(FRAMES_PER_CHUNK * STFT_WINDOW).enumerate() {
        let start = ((first + offset) * CHUNK_SAMPLES) as isize - CONTEXT_SAMPLES as isize;
        for (index, value) in chunk_input.iter_mut().enumerate() {
            let at = start + index as isize;
            *value = if at < 0 { 0.0 } else { samples.get(at as usize).copied().unwrap_or(0.0) };
        }
        for (frame, out) in chunk_frames.chunks_exact_mut(STFT_WINDOW).enumerate() {
            let padded_start = (frame + 1) * STFT_HOP; // in the reflected chunk, 128 longer at the front
            for (index, value) in out.iter_mut().enumerate() {
                let at = padded_start + index - STFT_HOP;
                *value = chunk_input[if at < heard { at } else { 2 * (heard - 1) - at }];
            }
        }
    }
    frames
}

/// `matrix` (`rows × columns`, row major) transposed.
fn transpose(matrix: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    (0..columns).flat_map(|column| (0..rows).map(move |row| matrix[row * columns + column])).collect()
}

/// `gates += W_hh · hidden`, with `W_hh` given by unit ([`SpeechDetector::weight_hh_by_unit`]).
/// With AVX2 and FMA where the CPU has them (the one step per chunk that cannot be batched).
fn add_recurrent(gates: &mut [f32], weight_by_unit: &[f32], hidden: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has both features, as checked just above.
        return unsafe { add_recurrent_avx2(gates, weight_by_unit, hidden) };
    }
    add_recurrent_portable(gates, weight_by_unit, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_recurrent_avx2(gates: &mut [f32], weight_by_unit: &[f32], hidden: &[f32]) {
    add_recurrent_portable(gates, weight_by_unit, hidden);
}

#[inline(always)]
fn add_recurrent_portable(gates: &mut [f32], weight_by_unit: &[f32], hidden: &[f32]) {
    for (weights, &unit) in weight_by_unit.chunks_exact(4 * LSTM_UNITS).zip(hidden) {
        for (gate, &weight) in gates[..4 * LSTM_UNITS].iter_mut().zip(weights) {
            *gate += weight * unit;
        }
    }
}
