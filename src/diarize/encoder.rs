//! Resemblyzer's GE2E voice encoder run in Rust: a 3-layer LSTM of 256 over 40 mel bands, the
//! last layer's final hidden state through a linear layer of 256, ReLU, L2 norm. Windows are
//! run in batches, so every step is a matrix product (`matrixmultiply`) instead of a
//! matrix-vector one, and batches are shared between threads.

use super::features::MEL_BANDS;
use super::model::{SpeakerModelError, Tensor, read_checked};
use std::collections::HashMap;
use std::path::Path;

/// Units of each LSTM layer, and the size of an embedding.
pub const HIDDEN: usize = 256;
/// LSTM layers.
pub const LAYERS: usize = 3;
/// Mel frames in one window (1.6 s).
pub const WINDOW_FRAMES: usize = 160;
/// Windows run together in one batch.
const BATCH: usize = 32;

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
        let mut tensors = read_checked(path)?;
        VoiceEncoder::from_tensors(&mut tensors)
            .map_err(|detail| SpeakerModelError::Damaged { path: path.to_path_buf(), detail })
    }

    fn from_tensors(tensors: &mut HashMap<String, Tensor>) -> Result<VoiceEncoder, String> {
        let mut take = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            let tensor = tensors.remove(name).ok_or_else(|| format!("no tensor {name}"))?;
            if tensor.shape != shape {
                return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", tensor.shape));
            }
            Ok(tensor.values)
        };
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
    /// Uses up to `threads` threads.
    pub fn embed(&self, windows: &[&[f32]], threads: usize) -> Vec<[f32; HIDDEN]> {
        let batches: Vec<&[&[f32]]> = windows.chunks(BATCH).collect();
        let threads = threads.clamp(1, batches.len().max(1));
        let per_thread = batches.len().div_ceil(threads).max(1);
        let mut results: Vec<Vec<[f32; HIDDEN]>> = vec![Vec::new(); batches.len()];
        std::thread::scope(|scope| {
            for (thread_batches, thread_results) in batches.chunks(per_thread).zip(results.chunks_mut(per_thread)) {
                scope.spawn(move || {
                    for (batch, slot) in thread_batches.iter().zip(thread_results) {
                        *slot = self.embed_batch(batch);
                    }
                });
            }
        });
        results.into_iter().flatten().collect()
    }

    fn embed_batch(&self, windows: &[&[f32]]) -> Vec<[f32; HIDDEN]> {
        let batch = windows.len();
        // Time-major input: frame t of window b at row t * batch + b.
        let mut sequence = vec![0f32; WINDOW_FRAMES * batch * MEL_BANDS];
        for (b, window) in windows.iter().enumerate() {
            for t in 0..WINDOW_FRAMES {
                let row = (t * batch + b) * MEL_BANDS;
                let frame = window.get(t * MEL_BANDS..(t + 1) * MEL_BANDS).unwrap_or(&[]);
                sequence[row..row + frame.len()].copy_from_slice(frame);
            }
        }
        for layer in &self.layers {
            sequence = run_layer(layer, &sequence, batch);
        }
        let last = &sequence[(WINDOW_FRAMES - 1) * batch * HIDDEN..];
        (0..batch).map(|b| self.project(&last[b * HIDDEN..(b + 1) * HIDDEN])).collect()
    }

    fn project(&self, hidden: &[f32]) -> [f32; HIDDEN] {
        let mut embedding = [0f32; HIDDEN];
        for (row, out) in embedding.iter_mut().enumerate() {
            let weights = &self.linear_weight[row * HIDDEN..(row + 1) * HIDDEN];
            let value: f32 = weights.iter().zip(hidden).map(|(w, h)| w * h).sum::<f32>() + self.linear_bias[row];
            *out = value.max(0.0);
        }
        normalize(&mut embedding);
        embedding
    }
}

/// Scales `vector` to unit length (left as is when it is all zeros).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

/// `c[m×n] = a[m×k] · bᵀ` where `b` is `n×k` row major (a weight matrix), added to `c` × `beta`.
fn matmul_transposed(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, beta: f32) {
    // SAFETY: the slices hold m×k, n×k and m×n values, as the strides below describe.
    debug_assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    unsafe {
        matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, beta, c.as_mut_ptr(), n as isize, 1);
    }
}

/// One LSTM layer over the whole time-major batch; returns every hidden state, time major.
fn run_layer(layer: &Layer, input: &[f32], batch: usize) -> Vec<f32> {
    let gates_width = 4 * HIDDEN;
    let rows = WINDOW_FRAMES * batch;
    // Input contributions of every step at once, plus the biases.
    let mut gates = Vec::with_capacity(rows * gates_width);
    for _ in 0..rows {
        gates.extend_from_slice(&layer.bias);
    }
    matmul_transposed(input, &layer.weight_ih, &mut gates, rows, layer.input, gates_width, 1.0);
    let mut output = vec![0f32; rows * HIDDEN];
    let mut cell = vec![0f32; batch * HIDDEN];
    let mut hidden = vec![0f32; batch * HIDDEN];
    for t in 0..WINDOW_FRAMES {
        let step = &mut gates[t * batch * gates_width..(t + 1) * batch * gates_width];
        if t > 0 {
            matmul_transposed(&hidden, &layer.weight_hh, step, batch, HIDDEN, gates_width, 1.0);
        }
        for b in 0..batch {
            let g = &step[b * gates_width..(b + 1) * gates_width];
            for unit in 0..HIDDEN {
                let input_gate = sigmoid(g[unit]);
                let forget_gate = sigmoid(g[HIDDEN + unit]);
                let candidate = g[2 * HIDDEN + unit].tanh();
                let output_gate = sigmoid(g[3 * HIDDEN + unit]);
                let c = &mut cell[b * HIDDEN + unit];
                *c = forget_gate * *c + input_gate * candidate;
                hidden[b * HIDDEN + unit] = output_gate * c.tanh();
            }
        }
        output[t * batch * HIDDEN..(t + 1) * batch * HIDDEN].copy_from_slice(&hidden);
    }
    output
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
