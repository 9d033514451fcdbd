//! The matrix products: int8 weights times int8 activations, exact integer
//! dot products, one scale per weight row and one per token.
//!
//! The model file keeps the reference's 4-bit weights (Q4_0 blocks of 32: an
//! f16 scale and 32 values 0..15 standing for -8..7). At load each row is
//! requantised to int8 with one scale for the row: the error this adds is at
//! most 1/32 of the row's largest 4-bit step. Activations are quantised to
//! int8 per token. With one scale per row and per token, a whole dot product
//! runs in integers and is scaled once, which makes the product about four
//! times cheaper than the reference's per-block scaling; the test vectors show
//! what it costs in agreement (cosine >= 0.995 with the reference, asserted).
//!
//! The products run in `avx2` (AVX-512 VNNI, AVX-VNNI or AVX2 intrinsics, the
//! crate's only unsafe code) when the processor has them, and in `portable`
//! otherwise.

mod avx2;
mod math;
mod portable;

use crate::model::{BLOCK, BLOCK_BYTES, f16_to_f32};

/// Tokens per tile of the quantised activations.
pub(crate) const TILE: usize = 4;
/// Bytes of one token's activations stored together in a tile (one AVX-512
/// register, two AVX2 ones); inputs come in multiples of it.
pub(crate) const CHUNK: usize = 64;

/// A linear layer: `rows` outputs of `cols` inputs.
pub(crate) struct Linear {
    pub rows: usize,
    pub cols: usize,
    /// Row-major int8 weights in -127..=127; weight = `scales[row] * value`.
    pub weights: Vec<i8>,
    pub scales: Vec<f32>,
    /// Sum of each row's int8 weights (for activations shifted by 128).
    pub sums: Vec<i32>,
    pub bias: Vec<f32>,
}

impl Linear {
    /// Requantises Q4_0 rows (byte j of a block holds weight j in its low
    /// nibble and weight j + 16 in its high nibble) to int8 per row.
    pub(crate) fn from_q4(q4: &[u8], bias: Vec<f32>, rows: usize, cols: usize) -> Linear {
        // vectorised with AVX2 where present: loading is five times faster
        with_simd(
            #[inline(always)]
            || Linear::requantise(q4, bias, rows, cols),
        )
    }

    #[inline(always)]
    fn requantise(q4: &[u8], bias: Vec<f32>, rows: usize, cols: usize) -> Linear {
        let row_bytes = cols / BLOCK * BLOCK_BYTES;
        let mut weights = vec![0i8; rows * cols];
        let mut scales = Vec::with_capacity(rows);
        let mut sums = Vec::with_capacity(rows);
        let mut real = vec![0f32; cols];
        for (row, out) in q4
            .chunks_exact(row_bytes)
            .zip(weights.chunks_exact_mut(cols))
        {
            for (block, real) in row
                .chunks_exact(BLOCK_BYTES)
                .zip(real.chunks_exact_mut(BLOCK))
            {
                let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
                for (j, &b) in block[2..].iter().enumerate() {
                    real[j] = d * f32::from(i16::from(b & 0x0f) - 8);
                    real[j + 16] = d * f32::from(i16::from(b >> 4) - 8);
                }
            }
            let scale = real.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            for (o, v) in out.iter_mut().zip(&real) {
                *o = math::round_even(v * inv).clamp(-127.0, 127.0) as i8;
            }
            scales.push(scale);
            sums.push(out.iter().map(|&v| i32::from(v)).sum());
        }
        Linear {
            rows,
            cols,
            weights,
            scales,
            sums,
            bias,
        }
    }
}

/// Activations of `tokens` rows quantised to int8 per token, stored by tiles
/// of four tokens so that the product reads a tile in one stream (tile, then
/// chunk of 64 inputs, then token; a short last tile is zero-padded).
pub(crate) struct Quantized {
    pub cols: usize,
    pub tokens: usize,
    /// Values in -127..=127, 64 per (tile, chunk, token).
    pub values: Vec<i8>,
    /// The values plus 128, same layout (AVX-VNNI multiplies unsigned bytes).
    pub shifted: Vec<u8>,
    /// Absolute values, same layout (AVX2 multiplies unsigned bytes).
    pub magnitudes: Vec<u8>,
    /// One scale per token: activation = `scales[t] * value`.
    pub scales: Vec<f32>,
}

impl Quantized {
    /// Quantises `x` (tokens x cols, row-major): scale = max |x| / 127,
    /// values rounded to nearest, ties to even. Inlined, so that its byte
    /// loops are vectorised inside [`with_simd`].
    #[inline(always)]
    pub(crate) fn new(x: &[f32], cols: usize) -> Quantized {
        assert!(
            cols.is_multiple_of(CHUNK),
            "inputs come in chunks of {CHUNK}"
        );
        let tokens = x.len() / cols;
        let slots = tokens.div_ceil(TILE) * TILE * (cols / CHUNK);
        let mut q = Quantized {
            cols,
            tokens,
            values: vec![0; slots * CHUNK],
            shifted: vec![128; slots * CHUNK],
            magnitudes: vec![0; slots * CHUNK],
            scales: Vec::with_capacity(tokens),
        };
        let mut row_values = vec![0i8; cols];
        for (t, row) in x.chunks_exact(cols).enumerate() {
            let scale = match avx2::quantize_row(row, &mut row_values) {
                Some(scale) => scale,
                None => portable::quantize_row(row, &mut row_values),
            };
            q.scales.push(scale);
            for (c, chunk) in row_values.chunks_exact(CHUNK).enumerate() {
                let at = q.slot(t, c) * CHUNK;
                q.values[at..at + CHUNK].copy_from_slice(chunk);
                for (s, &v) in q.shifted[at..at + CHUNK].iter_mut().zip(chunk) {
                    *s = (v as u8) ^ 0x80;
                }
                for (m, &v) in q.magnitudes[at..at + CHUNK].iter_mut().zip(chunk) {
                    *m = v.unsigned_abs();
                }
            }
        }
        q
    }

    /// Index of token t's chunk c in the tiled layout.
    pub(crate) fn slot(&self, t: usize, c: usize) -> usize {
        ((t / TILE) * (self.cols / CHUNK) + c) * TILE + t % TILE
    }
}

/// `out[t][r] = bias[r] + <row r of w, token t of a>`; out is tokens x rows.
pub(crate) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    debug_assert_eq!(w.cols, a.cols);
    debug_assert_eq!(out.len(), a.tokens * w.rows);
    if !avx2::matmul(w, a, out, false) {
        portable::matmul(w, a, out);
    }
}

pub(crate) use math::sum;

/// Runs `f` compiled for AVX2 and FMA when the processor has them (the
/// element-wise loops it inlines are then vectorised 8 wide), else as is.
pub(crate) fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    avx2::with_simd(f)
}

/// GELU (erf form) in place.
pub(crate) fn gelu(x: &mut [f32]) {
    if !avx2::gelu(x) {
        x.iter_mut().for_each(|v| *v = math::gelu(*v));
    }
}

/// Softmax in place.
pub(crate) fn softmax(x: &mut [f32]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum = match avx2::exp_shifted(x, max) {
        Some(sum) => sum,
        None => {
            x.iter_mut().for_each(|v| *v = math::exp(*v - max));
            x.iter().sum()
        }
    };
    let inv = 1.0 / sum;
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests;
