//! Resemblyzer's GE2E voice encoder run in Rust: a 3-layer LSTM of 256 over 40 mel bands, the
//! last layer's final hidden state through a linear layer of 256, ReLU, L2 norm. Windows are
//! run in batches, so every step is a matrix product (`matrixmultiply`) instead of a
//! matrix-vector one, and windows are shared between threads; the gates' activations are
//! computed without the C library ([`exp`]), so they vectorise.

use super::features::MEL_BANDS;
use super::model::{SPEAKER_MODEL_SHA256, SpeakerModelError, Tensor, read_checked, take_tensor};
use std::collections::HashMap;
use std::path::Path;

/// Units of each LSTM layer, and the size of an embedding.
pub const HIDDEN: usize = 256;
/// LSTM layers.
pub const LAYERS: usize = 3;
/// Mel frames in one window (1.6 s).
pub const WINDOW_FRAMES: usize = 160;
/// Most windows run together in one batch: each step's product with the recurrent weights
/// packs those weights (1 MB) once for the whole batch, so a larger batch spends less on
/// packing. A batch of 128 holds 21 MB of hidden states and 8 MB of gates.
const MAX_BATCH: usize = 128;
/// Steps whose input products are computed together (see [`run_layer`]).
const STEPS_PER_BLOCK: usize = 16;

struct Layer {
    /// Input weights, `4 * HIDDEN` rows (gates i, f, g, o) of `input` columns.
    weight_ih: Vec<f32>,
    weight_hh: Vec<f32>,
    /// `bias_ih + bias_hh`.
    bias: Vec<f32>,
    input: usize,
}

/// The loaded encoder.
pub struct VoiceEncoder {
    layers: Vec<Layer>,
    linear_weight: Vec<f32>,
    linear_bias: Vec<f32>,
}

impl VoiceEncoder {
    /// Loads the converted model file, checking its hash.
    pub fn load(path: &Path) -> Result<VoiceEncoder, SpeakerModelError> {
        let mut tensors = read_checked(path, SPEAKER_MODEL_SHA256)?;
        VoiceEncoder::from_tensors(&mut tensors)
            .map_err(|detail| SpeakerModelError::Damaged { path: path.to_path_buf(), detail })
    }

    fn from_tensors(tensors: &mut HashMap<String, Tensor>) -> Result<VoiceEncoder, String> {
        let mut take = |name: &str, shape: &[usize]| take_tensor(tensors, name, shape);
        let mut layers = Vec::with_capacity(LAYERS);
        for layer in 0..LAYERS {
            let input = if layer == 0 { MEL_BANDS } else { HIDDEN };
            let weight_ih = take(&format!("lstm.weight_ih_l{layer}"), &[4 * HIDDEN, input])?;
            let weight_hh = take(&format!("lstm.weight_hh_l{layer}"), &[4 * HIDDEN, HIDDEN])?;
            let bias_ih = take(&format!("lstm.bias_ih_l{layer}"), &[4 * HIDDEN])?;
            let bias_hh = take(&format!("lstm.bias_hh_l{layer}"), &[4 * HIDDEN])?;
            let bias = bias_ih.iter().zip(&bias_hh).map(|(a, b)| a + b).collect();
            layers.push(Layer { weight_ih, weight_hh, bias, input });
        }
        let linear_weight = take("linear.weight", &[HIDDEN, HIDDEN])?;
        let linear_bias = take("linear.bias", &[HIDDEN])?;
        Ok(VoiceEncoder { layers, linear_weight, linear_bias })
    }

    /// The embedding of each window: `windows[i]` is [`WINDOW_FRAMES`] mel frames (row major).
    /// Uses up to `threads` threads, each given the same number of windows.
    pub fn embed(&self, windows: &[&[f32]], threads: usize) -> Vec<[f32; HIDDEN]> {
        let threads = threads.clamp(1, windows.len().max(1));
        let per_thread = windows.len().div_ceil(threads).max(1);
        let per_batch = per_thread.div_ceil(per_thread.div_ceil(MAX_BATCH));
        let mut results: Vec<Vec<[f32; HIDDEN]>> = vec![Vec::new(); threads];
        std::thread::scope(|scope| {
            for (thread_windows, result) in windows.chunks(per_thread).zip(results.iter_mut()) {
                scope.spawn(move || *result = thread_windows.chunks(per_batch).flat_map(|batch| self.embed_batch(batch)).collect());
            }
        });
        results.into_iter().flatten().collect()
    }

    fn embed_batch(&self, windows: &[&[f32]]) -> Vec<[f32; HIDDEN]> {
        let batch = windows.len();
        // Time-major input: frame t of window b at row t * batch + b.
        let mut mel = vec![0f32; WINDOW_FRAMES * batch * MEL_BANDS];
        for (b, window) in windows.iter().enumerate() {
            for t in 0..WINDOW_FRAMES {
                let row = (t * batch + b) * MEL_BANDS;
                let frame = window.get(t * MEL_BANDS..(t + 1) * MEL_BANDS).unwrap_or(&[]);
                mel[row..row + frame.len()].copy_from_slice(frame);
            }
        }
        // Every layer's hidden states, time major; each layer after the first reads its input
        // from here and writes its output over it.
        let mut states = vec![0f32; WINDOW_FRAMES * batch * HIDDEN];
        for (index, layer) in self.layers.iter().enumerate() {
            run_layer(layer, (index == 0).then_some(mel.as_slice()), &mut states, batch);
        }
        let last = &states[(WINDOW_FRAMES - 1) * batch * HIDDEN..];
        last.chunks_exact(HIDDEN).map(|hidden| self.project(hidden)).collect()
    }

    fn project(&self, hidden: &[f32]) -> [f32; HIDDEN] {
        let mut embedding = [0f32; HIDDEN];
        for (row, out) in embedding.iter_mut().enumerate() {
            let weights = &self.linear_weight[row * HIDDEN..(row + 1) * HIDDEN];
            let value = dot(weights, hidden) + self.linear_bias[row];
            *out = value.max(0.0);
        }
        normalize(&mut embedding);
        embedding
    }
}

/// The dot product (of two unit vectors: their cosine), summed in eight lanes so that it
/// vectorises (clustering is mostly dot products of 256-value embeddings).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut sums = [0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// Scales `vector` to unit length (left as is when it is all zeros).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

/// `c[m×n] = a[m×k] · bᵀ` where `b` is `n×k` row major (a weight matrix), added to `c` × `beta`.
pub(super) fn matmul_transposed(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, beta: f32) {
    // SAFETY: the slices hold m×k, n×k and m×n values, as the strides below describe.
    debug_assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    unsafe {
        matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, beta, c.as_mut_ptr(), n as isize, 1);
    }
}

/// One LSTM layer over the whole time-major batch: the input is `mel` for the first layer,
/// else the previous layer's hidden states in `states`; the layer's own go into `states`.
/// The input's share of the gates is computed [`STEPS_PER_BLOCK`] steps at a time (a large
/// matrix product, and a small gates buffer); a block's input is read before its steps
/// overwrite it.
fn run_layer(layer: &Layer, mel: Option<&[f32]>, states: &mut [f32], batch: usize) {
    let gates_width = 4 * HIDDEN;
    let mut cell = vec![0f32; batch * HIDDEN];
    let mut hidden = vec![0f32; batch * HIDDEN];
    let mut gates = vec![0f32; STEPS_PER_BLOCK * batch * gates_width];
    for block_start in (0..WINDOW_FRAMES).step_by(STEPS_PER_BLOCK) {
        let steps = STEPS_PER_BLOCK.min(WINDOW_FRAMES - block_start);
        let block_gates = &mut gates[..steps * batch * gates_width];
        block_gates.chunks_exact_mut(gates_width).for_each(|row| row.copy_from_slice(&layer.bias));
        let input = mel.unwrap_or(states);
        let block_input = &input[block_start * batch * layer.input..(block_start + steps) * batch * layer.input];
        matmul_transposed(block_input, &layer.weight_ih, block_gates, steps * batch, layer.input, gates_width, 1.0);
        for (offset, step) in block_gates.chunks_exact_mut(batch * gates_width).enumerate() {
            let t = block_start + offset;
            if t > 0 {
                matmul_transposed(&hidden, &layer.weight_hh, step, batch, HIDDEN, gates_width, 1.0);
            }
            lstm_cells(step, &mut cell, &mut hidden);
            states[t * batch * HIDDEN..(t + 1) * batch * HIDDEN].copy_from_slice(&hidden);
        }
    }
}

/// One LSTM step of a batch: each window's gates (i, f, g, o, each [`HIDDEN`] wide, before
/// their activations) update its cell and hidden state. Run 8 units at a time where the CPU
/// has AVX2 and FMA (measured: 15 % of the encoder's time at SSE2's 4 at a time, 9 % so).
fn lstm_cells(gates: &[f32], cell: &mut [f32], hidden: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has both features, as checked just above.
        return unsafe { lstm_cells_avx2(gates, cell, hidden) };
    }
    lstm_cells_portable(gates, cell, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lstm_cells_avx2(gates: &[f32], cell: &mut [f32], hidden: &mut [f32]) {
    lstm_cells_portable(gates, cell, hidden);
}

/// [`lstm_cells`] in plain arithmetic over fixed-size rows, which the compiler vectorises.
#[inline(always)]
fn lstm_cells_portable(gates: &[f32], cell: &mut [f32], hidden: &mut [f32]) {
    for ((gates, cell), hidden) in gates.chunks_exact(4 * HIDDEN).zip(cell.chunks_exact_mut(HIDDEN)).zip(hidden.chunks_exact_mut(HIDDEN)) {
        lstm_row::<HIDDEN>(gates, cell, hidden);
    }
}

/// One LSTM step of one sequence: `gates` (i, f, g, o, each `UNITS` wide, before their
/// activations) update its `cell` and `hidden` state.
#[inline(always)]
pub(super) fn lstm_row<const UNITS: usize>(gates: &[f32], cell: &mut [f32], hidden: &mut [f32]) {
    let (input_gates, rest) = gates.split_at(UNITS);
    let (forget_gates, rest) = rest.split_at(UNITS);
    let (candidates, output_gates) = rest.split_at(UNITS);
    for unit in 0..UNITS {
        let c = sigmoid(forget_gates[unit]) * cell[unit] + sigmoid(input_gates[unit]) * tanh(candidates[unit]);
        cell[unit] = c;
        hidden[unit] = sigmoid(output_gates[unit]) * tanh(c);
    }
}

#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh from [`exp`]: within 2e-7 of the exact value everywhere (absolute; the relative error
/// grows near 0, where it does not matter to a gate).
#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// e^x, within 3e-7 relative, with no call to the C library and no branch, so a loop of it
/// vectorises (the library's `expf` is one call per value, and was a third of the encoder's
/// time). x = n ln 2 + r with |r| <= ln 2 / 2; e^r from its Taylor series to r^7 (error below
/// 6e-9); 2^n put straight into the exponent bits. Inputs are clamped to [-87, 88], where
/// e^x stays a normal f32.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUNDING: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const LN2_HIGH: f32 = 0.693_145_75; // ln 2 split in two: r keeps the bits n * ln 2 would round off
    const LN2_LOW: f32 = 1.428_606_8e-6;
    #[allow(clippy::manual_clamp)] // max/min turn a NaN into a bound; clamp would keep it
    let x = x.max(-87.0).min(88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUNDING;
    let n = shifted - ROUNDING;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let taylor = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // The low bits of `shifted` hold n (plus 2^22 + 2^23): n + 127 shifted into the exponent.
    let exponent = (shifted.to_bits().wrapping_sub(ROUNDING.to_bits()).wrapping_add(127)) << 23;
    taylor * f32::from_bits(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(from: f32, to: f32, count: usize) -> impl Iterator<Item = f32> {
        (0..=count).map(move |i| from + (to - from) * i as f32 / count as f32)
    }

    #[test]
    fn exp_tanh_and_sigmoid_match_the_library_closely() {
        for x in values(-87.0, 88.0, 400_000) {
            let exact = (x as f64).exp();
            let relative = ((exp(x) as f64 - exact) / exact).abs();
            assert!(relative < 3e-7, "exp({x}): {} vs {exact} ({relative:e})", exp(x));
        }
        for x in values(-30.0, 30.0, 400_000).chain([0.0, 1e-8, -1e-8, 200.0, -200.0, f32::MAX, f32::MIN]) {
            let exact_tanh = (x as f64).tanh();
            assert!((tanh(x) as f64 - exact_tanh).abs() < 2e-7, "tanh({x}): {} vs {exact_tanh}", tanh(x));
            let exact_sigmoid = 1.0 / (1.0 + (-x as f64).exp());
            assert!((sigmoid(x) as f64 - exact_sigmoid).abs() < 2e-7, "sigmoid({x}): {} vs {exact_sigmoid}", sigmoid(x));
        }
    }
}
