//! The number formats whisper.cpp stores weights in: IEEE half floats (f16), bfloat16 (read
//! only), and ggml's q8_0 / q5_0 / q5_1 block formats.
//!
//! The block encoders follow ggml's reference quantizers (`quantize_row_q8_0_ref`,
//! `quantize_row_q5_0_ref`, `quantize_row_q5_1_ref` in `ggml-quants.c`) operation for
//! operation in `f32`, so a converted file is byte-identical to what whisper.cpp's own
//! `quantize` tool writes. A block is always 32 values; rows must be a multiple of 32 long.

/// Number of values in one q8_0 / q5_0 / q5_1 block.
pub const BLOCK_LEN: usize = 32;
/// Bytes in one q8_0 block: f16 scale, 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 2 + BLOCK_LEN;
/// Bytes in one q5_0 block: f16 scale, 32 high bits, 16 bytes of low nibbles.
pub const Q5_0_BLOCK_BYTES: usize = 2 + 4 + BLOCK_LEN / 2;
/// Bytes in one q5_1 block: f16 scale, f16 minimum, 32 high bits, 16 bytes of low nibbles.
pub const Q5_1_BLOCK_BYTES: usize = 2 + 2 + 4 + BLOCK_LEN / 2;

/// Converts an `f32` to IEEE binary16 bits, rounding to nearest, ties to even (what numpy's
/// `astype(float16)` and ggml's `GGML_FP32_TO_FP16` do). Overflow becomes infinity.
pub fn f32_to_f16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x007f_ffff;

    if exponent == 0xff {
        // Infinity stays infinity; NaN stays a (quiet) NaN.
        let nan_bits = if mantissa != 0 { 0x0200 } else { 0 };
        return sign | 0x7c00 | nan_bits;
    }

    let half_exponent = exponent - 127 + 15;
    if half_exponent >= 0x1f {
        return sign | 0x7c00;
    }

    if half_exponent <= 0 {
        // Result is a half subnormal (or zero): value = m * 2^-24.
        let shift = (14 - half_exponent) as u32;
        if shift > 24 {
            return sign;
        }
        let full_mantissa = mantissa | 0x0080_0000;
        let truncated = full_mantissa >> shift;
        let remainder = full_mantissa & ((1u32 << shift) - 1);
        let halfway = 1u32 << (shift - 1);
        let round_up = remainder > halfway || (remainder == halfway && (truncated & 1) == 1);
        return sign | (truncated + u32::from(round_up)) as u16;
    }

    let truncated = ((half_exponent as u32) << 10) | (mantissa >> 13);
    let remainder = mantissa & 0x1fff;
    let round_up = remainder > 0x1000 || (remainder == 0x1000 && (truncated & 1) == 1);
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | (truncated + u32::from(round_up)) as u16
}

/// Converts IEEE binary16 bits to `f32` (exact).
pub fn f16_bits_to_f32(half: u16) -> f32 {
    let sign = u32::from(half & 0x8000) << 16;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x03ff);
    match exponent {
        0 => {
            let magnitude = mantissa as f32 * (1.0 / 16_777_216.0);
            if sign != 0 { -magnitude } else { magnitude }
        }
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// Converts bfloat16 bits to `f32` (exact).
pub fn bf16_bits_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// Appends the f16 encoding of `values` (little endian) to `out`. Returns true when every
/// value survived the conversion exactly.
pub fn encode_f16(values: &[f32], out: &mut Vec<u8>) -> bool {
    let mut exact = true;
    out.reserve(values.len() * 2);
    for &value in values {
        let half = f32_to_f16_bits(value);
        exact &= f16_bits_to_f32(half) == value;
        out.extend_from_slice(&half.to_le_bytes());
    }
    exact
}

/// Appends q8_0 blocks for `row` (length a multiple of 32) to `out`, as
/// `quantize_row_q8_0_ref` does: scale = absmax / 127, values rounded half away from zero.
pub fn quantize_row_q8_0(row: &[f32], out: &mut Vec<u8>) {
    debug_assert_eq!(row.len() % BLOCK_LEN, 0);
    out.reserve(row.len() / BLOCK_LEN * Q8_0_BLOCK_BYTES);
    for block in row.chunks_exact(BLOCK_LEN) {
        let abs_max = block.iter().fold(0.0f32, |acc, v| acc.max(v.abs()));
        let scale = abs_max / 127.0;
        let inverse_scale = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        out.extend_from_slice(&f32_to_f16_bits(scale).to_le_bytes());
        for &value in block {
            out.push(((value * inverse_scale).round() as i8) as u8);
        }
    }
}

/// Appends q5_0 blocks for `row` (length a multiple of 32) to `out`, as
/// `quantize_row_q5_0_ref` does: the value with the largest magnitude maps to -16.
pub fn quantize_row_q5_0(row: &[f32], out: &mut Vec<u8>) {
    debug_assert_eq!(row.len() % BLOCK_LEN, 0);
    out.reserve(row.len() / BLOCK_LEN * Q5_0_BLOCK_BYTES);
    for block in row.chunks_exact(BLOCK_LEN) {
        let mut abs_max = 0.0f32;
        let mut signed_max = 0.0f32;
        for &value in block {
            if abs_max < value.abs() {
                abs_max = value.abs();
                signed_max = value;
            }
        }
        let scale = signed_max / -16.0;
        let inverse_scale = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        let quantize = |value: f32| -> u8 { ((value * inverse_scale + 16.5) as i8).min(31) as u8 };
        push_five_bit_block(block, quantize, out, &[f32_to_f16_bits(scale)]);
    }
}

/// Appends q5_1 blocks for `row` (length a multiple of 32) to `out`, as
/// `quantize_row_q5_1_ref` does: 32 steps between the block minimum and maximum.
pub fn quantize_row_q5_1(row: &[f32], out: &mut Vec<u8>) {
    debug_assert_eq!(row.len() % BLOCK_LEN, 0);
    out.reserve(row.len() / BLOCK_LEN * Q5_1_BLOCK_BYTES);
    for block in row.chunks_exact(BLOCK_LEN) {
        let mut min = f32::MAX;
        let mut max = -f32::MAX;
        for &value in block {
            if value < min {
                min = value;
            }
            if value > max {
                max = value;
            }
        }
        let scale = (max - min) / 31.0;
        let inverse_scale = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        let quantize = |value: f32| -> u8 { ((value - min) * inverse_scale + 0.5) as u8 };
        push_five_bit_block(
            block,
            quantize,
            out,
            &[f32_to_f16_bits(scale), f32_to_f16_bits(min)],
        );
    }
}

/// Shared q5 layout: the f16 header fields, then the 32 fifth bits as a little-endian u32,
/// then 16 bytes whose low nibble holds value j and high nibble value j + 16.
fn push_five_bit_block(
    block: &[f32],
    quantize: impl Fn(f32) -> u8,
    out: &mut Vec<u8>,
    header: &[u16],
) {
    let half = BLOCK_LEN / 2;
    let mut high_bits = 0u32;
    let mut nibbles = [0u8; BLOCK_LEN / 2];
    for (j, nibble) in nibbles.iter_mut().enumerate() {
        let low = quantize(block[j]);
        let high = quantize(block[j + half]);
        *nibble = (low & 0x0f) | ((high & 0x0f) << 4);
        high_bits |= u32::from((low & 0x10) >> 4) << j;
        high_bits |= u32::from((high & 0x10) >> 4) << (j + half);
    }
    for field in header {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&high_bits.to_le_bytes());
    out.extend_from_slice(&nibbles);
}

/// Decodes q8_0 blocks back to `f32` (as `dequantize_row_q8_0`). Trailing partial blocks are
/// ignored.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut values = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * BLOCK_LEN);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let scale = f16_bits_to_f32(u16::from_le_bytes([block[0], block[1]]));
        values.extend(block[2..].iter().map(|&q| f32::from(q as i8) * scale));
    }
    values
}

/// Decodes q5_0 blocks back to `f32` (as `dequantize_row_q5_0`).
pub fn dequantize_q5_0(bytes: &[u8]) -> Vec<f32> {
    let mut values = Vec::with_capacity(bytes.len() / Q5_0_BLOCK_BYTES * BLOCK_LEN);
    for block in bytes.chunks_exact(Q5_0_BLOCK_BYTES) {
        let scale = f16_bits_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let codes = five_bit_codes(&block[2..]);
        values.extend(codes.iter().map(|&q| (i32::from(q) - 16) as f32 * scale));
    }
    values
}

/// Decodes q5_1 blocks back to `f32` (as `dequantize_row_q5_1`).
pub fn dequantize_q5_1(bytes: &[u8]) -> Vec<f32> {
    let mut values = Vec::with_capacity(bytes.len() / Q5_1_BLOCK_BYTES * BLOCK_LEN);
    for block in bytes.chunks_exact(Q5_1_BLOCK_BYTES) {
        let scale = f16_bits_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let min = f16_bits_to_f32(u16::from_le_bytes([block[2], block[3]]));
        let codes = five_bit_codes(&block[4..]);
        values.extend(codes.iter().map(|&q| f32::from(q) * scale + min));
    }
    values
}

/// Unpacks the 32 five-bit codes from a q5 block body (high bits then nibbles).
fn five_bit_codes(body: &[u8]) -> [u8; BLOCK_LEN] {
    let mut codes = [0u8; BLOCK_LEN];
    let high_bits = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
    for (j, &byte) in body[4..4 + BLOCK_LEN / 2].iter().enumerate() {
        codes[j] = (byte & 0x0f) | ((((high_bits >> j) & 1) as u8) << 4);
        codes[j + BLOCK_LEN / 2] = (byte >> 4) | ((((high_bits >> (j + 16)) & 1) as u8) << 4);
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finite_half_round_trips_through_f32() {
        for bits in 0u16..=u16::MAX {
            let value = f16_bits_to_f32(bits);
            if value.is_nan() {
                assert!(f32_to_f16_bits(value) & 0x7c00 == 0x7c00);
                continue;
            }
            assert_eq!(f32_to_f16_bits(value), bits, "half bits {bits:#06x}");
        }
    }

    #[test]
    fn f16_rounds_to_nearest_even() {
        assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
        assert_eq!(f32_to_f16_bits(-2.0), 0xc000);
        assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
        // Halfway between 1.0 and the next half (1 + 2^-10): ties to even, i.e. down.
        assert_eq!(f32_to_f16_bits(1.0 + 2f32.powi(-11)), 0x3c00);
        // Halfway between 1 + 2^-10 and 1 + 2^-9: ties to even, i.e. up.
        assert_eq!(f32_to_f16_bits(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        // Above halfway rounds up.
        assert_eq!(
            f32_to_f16_bits(1.0 + 2f32.powi(-11) + 2f32.powi(-20)),
            0x3c01
        );
        // 65520 is halfway to the next (missing) step: rounds to infinity.
        assert_eq!(f32_to_f16_bits(65520.0), 0x7c00);
        assert_eq!(f32_to_f16_bits(65519.0), 0x7bff);
        // Subnormals: smallest half subnormal is 2^-24.
        assert_eq!(f32_to_f16_bits(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16_bits(2f32.powi(-25)), 0x0000); // tie, to even (0)
        assert_eq!(f32_to_f16_bits(3.0 * 2f32.powi(-26)), 0x0001);
        assert_eq!(f32_to_f16_bits(3.0 * 2f32.powi(-25)), 0x0002); // tie 1.5 -> 2
        assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
        assert_eq!(f32_to_f16_bits(1e-30), 0x0000);
        assert_eq!(f32_to_f16_bits(f32::INFINITY), 0x7c00);
        // Largest subnormal + half a step rounds up into the smallest normal.
        assert_eq!(f32_to_f16_bits(1023.5 * 2f32.powi(-24)), 0x0400);
    }

    #[test]
    fn bf16_is_the_top_half_of_f32() {
        assert_eq!(bf16_bits_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_bits_to_f32(0xc040), -3.0);
    }

    #[test]
    fn q8_0_matches_the_reference_layout() {
        // amax 127 gives scale exactly 1.0, so the codes are the values rounded half away
        // from zero (C's roundf).
        let mut row = [0.0f32; 32];
        row[0] = 127.0;
        row[1] = -127.0;
        row[2] = 2.5;
        row[3] = -2.5;
        row[4] = 0.49;
        row[5] = 100.2;
        let mut out = Vec::new();
        quantize_row_q8_0(&row, &mut out);
        assert_eq!(out.len(), Q8_0_BLOCK_BYTES);
        assert_eq!(&out[..2], &[0x00, 0x3c]); // f16 1.0
        assert_eq!(out[2], 127);
        assert_eq!(out[3] as i8, -127);
        assert_eq!(out[4], 3);
        assert_eq!(out[5] as i8, -3);
        assert_eq!(out[6], 0);
        assert_eq!(out[7], 100);
        assert!(out[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn q5_0_matches_the_reference_layout() {
        // x[j] = (j - 16) / 8: the largest magnitude is -2 (j = 0), so scale = -2 / -16 =
        // 0.125 and code j = j exactly.
        let row: Vec<f32> = (0..32).map(|j| (j as f32 - 16.0) / 8.0).collect();
        let mut out = Vec::new();
        quantize_row_q5_0(&row, &mut out);
        let mut expected = vec![0x00, 0x30]; // f16 0.125
        expected.extend_from_slice(&0xffff_0000u32.to_le_bytes()); // codes 16..31 have bit 4
        expected.extend((0..16u8).map(|j| j * 0x11)); // low nibble j, high nibble (j+16)&15
        assert_eq!(out, expected);
        assert_eq!(dequantize_q5_0(&out), row);
    }

    #[test]
    fn q5_1_matches_the_reference_layout() {
        // x[j] = j / 4 - 1: min -1, max 6.75, scale 7.75 / 31 = 0.25, code j = j.
        let row: Vec<f32> = (0..32).map(|j| j as f32 / 4.0 - 1.0).collect();
        let mut out = Vec::new();
        quantize_row_q5_1(&row, &mut out);
        let mut expected = vec![0x00, 0x34, 0x00, 0xbc]; // f16 0.25, f16 -1.0
        expected.extend_from_slice(&0xffff_0000u32.to_le_bytes());
        expected.extend((0..16u8).map(|j| j * 0x11));
        assert_eq!(out, expected);
        assert_eq!(dequantize_q5_1(&out), row);
    }

    #[test]
    fn zero_blocks_encode_to_zero_scale() {
        let row = [0.0f32; 64];
        let mut out = Vec::new();
        quantize_row_q8_0(&row, &mut out);
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(dequantize_q8_0(&out), row.to_vec());
        out.clear();
        quantize_row_q5_0(&row, &mut out);
        assert_eq!(dequantize_q5_0(&out), row.to_vec());
        out.clear();
        quantize_row_q5_1(&row, &mut out);
        assert_eq!(dequantize_q5_1(&out), row.to_vec());
    }

    /// Deterministic pseudo-random weights with an occasional outlier, like real layers.
    fn test_row(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let unit = ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
                if i % 97 == 0 { unit * 0.9 } else { unit * 0.05 }
            })
            .collect()
    }

    #[test]
    fn round_trips_stay_within_the_block_error_bound() {
        let row = test_row(32 * 64, 7);
        let f16_step = 2f32.powi(-11);

        let mut q8 = Vec::new();
        quantize_row_q8_0(&row, &mut q8);
        assert_eq!(q8.len(), 64 * Q8_0_BLOCK_BYTES);
        let decoded = dequantize_q8_0(&q8);
        for (block, decoded_block) in row.chunks(32).zip(decoded.chunks(32)) {
            let step = block.iter().fold(0.0f32, |a, v| a.max(v.abs())) / 127.0;
            for (x, y) in block.iter().zip(decoded_block) {
                // Half a step, plus the f16 rounding of the scale times the largest code.
                assert!((x - y).abs() <= step * (0.5 + 127.0 * f16_step) + 1e-7);
            }
        }

        let mut q5 = Vec::new();
        quantize_row_q5_0(&row, &mut q5);
        assert_eq!(q5.len(), 64 * Q5_0_BLOCK_BYTES);
        let decoded = dequantize_q5_0(&q5);
        for (block, decoded_block) in row.chunks(32).zip(decoded.chunks(32)) {
            let step = block.iter().fold(0.0f32, |a, v| a.max(v.abs())) / 16.0;
            for (x, y) in block.iter().zip(decoded_block) {
                // Codes run -16..=15, so the positive end can be clipped by a whole step.
                assert!((x - y).abs() <= step * (1.0 + 16.0 * f16_step) + 1e-7);
            }
        }

        let mut q51 = Vec::new();
        quantize_row_q5_1(&row, &mut q51);
        assert_eq!(q51.len(), 64 * Q5_1_BLOCK_BYTES);
        let decoded = dequantize_q5_1(&q51);
        for (block, decoded_block) in row.chunks(32).zip(decoded.chunks(32)) {
            let min = block.iter().copied().fold(f32::MAX, f32::min);
            let max = block.iter().copied().fold(f32::MIN, f32::max);
            let step = (max - min) / 31.0;
            for (x, y) in block.iter().zip(decoded_block) {
                let bound = step * (0.5 + 31.0 * f16_step) + min.abs() * f16_step + 1e-7;
                assert!((x - y).abs() <= bound, "{x} vs {y}, bound {bound}");
            }
        }
    }

    #[test]
    fn f16_encoding_reports_exactness() {
        let mut out = Vec::new();
        assert!(encode_f16(&[1.0, -0.5, 0.0], &mut out));
        assert_eq!(out, vec![0x00, 0x3c, 0x00, 0xb8, 0x00, 0x00]);
        assert!(!encode_f16(&[0.1], &mut out));
    }
}
