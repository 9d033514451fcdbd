//! The matrix products, 4-bit weights times 8-bit activations, as the
//! reference engine computes them: weights in Q4_0 blocks of 32 (an f16 scale
//! and 32 values 0..15 standing for -8..7), activations quantised per block of
//! 32 to int8 with their own scale. Each output is
//! `bias + sum over blocks of scale_w * scale_a * (<w, a> - 8 * sum(a))`,
//! the inner products in exact integer arithmetic.
//!
//! The weights are unpacked once, at load, to one byte per weight. The
//! products run in `avx2` (AVX2 intrinsics, the crate's only unsafe code) when
//! the processor has AVX2 and FMA, and in `portable` otherwise.

mod avx2;
mod math;
mod portable;

use crate::model::{BLOCK, BLOCK_BYTES, f16_to_f32};

/// A linear layer: `rows` outputs of `cols` inputs.
pub(crate) struct Linear {
    pub rows: usize,
    pub cols: usize,
    /// One byte per weight, 0..15 (the weight is `scale * (w - 8)`), row-major.
    pub weights: Vec<u8>,
    /// One scale per row and block of 32 inputs.
    pub scales: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Linear {
    /// Unpacks Q4_0 rows (byte j of a block holds weight j in its low nibble
    /// and weight j + 16 in its high nibble).
    pub(crate) fn from_q4(q4: &[u8], bias: Vec<f32>, rows: usize, cols: usize) -> Linear {
        let mut weights = vec![0u8; rows * cols];
        let mut scales = Vec::with_capacity(rows * cols / BLOCK);
        for (block, out) in q4
            .chunks_exact(BLOCK_BYTES)
            .zip(weights.chunks_exact_mut(BLOCK))
        {
            scales.push(f16_to_f32(u16::from_le_bytes([block[0], block[1]])));
            for (j, &b) in block[2..].iter().enumerate() {
                out[j] = b & 0x0f;
                out[j + 16] = b >> 4;
            }
        }
        Linear {
            rows,
            cols,
            weights,
            scales,
            bias,
        }
    }
}

/// Tokens per tile of the quantised activations.
pub(crate) const TILE: usize = 4;

/// Activations of `tokens` rows quantised per block of 32 to int8, stored by
/// tiles of four tokens so that the product reads each tile's blocks in one
/// stream: tile, then block, then token (a short last tile is padded with
/// zeros).
pub(crate) struct Quantized {
    pub cols: usize,
    pub tokens: usize,
    /// 32 values per (tile, block, token).
    pub values: Vec<i8>,
    /// One scale per (tile, block, token).
    pub scales: Vec<f32>,
    /// Eight times the sum of the block's values (the -8 weight offset).
    pub offsets: Vec<i32>,
    /// The same offsets times the block's scale.
    pub corrections: Vec<f32>,
    /// Minus the sum of the block's values.
    pub neg_sums: Vec<i32>,
}

impl Quantized {
    /// Quantises `x` (tokens x cols, row-major) as the reference does:
    /// scale = max |x| / 127, values rounded to nearest, ties to even.
    pub(crate) fn new(x: &[f32], cols: usize) -> Quantized {
        let tokens = x.len() / cols;
        let blocks = cols / BLOCK;
        let slots = tokens.div_ceil(TILE) * TILE * blocks;
        let mut q = Quantized {
            cols,
            tokens,
            values: vec![0; slots * BLOCK],
            scales: vec![0.0; slots],
            offsets: vec![0; slots],
            corrections: vec![0.0; slots],
            neg_sums: vec![0; slots],
        };
        for (t, row) in x.chunks_exact(cols).enumerate() {
            for (b, xb) in row.chunks_exact(BLOCK).enumerate() {
                let i = q.slot(t, b);
                let out = &mut q.values[i * BLOCK..(i + 1) * BLOCK];
                let (d, sum) = match avx2::quantize_block(xb, out) {
                    Some(done) => done,
                    None => portable::quantize_block(xb, out),
                };
                q.scales[i] = d;
                q.offsets[i] = 8 * sum;
                q.corrections[i] = d * (8 * sum) as f32;
                q.neg_sums[i] = -sum;
            }
        }
        q
    }

    /// Index of token t's block b in the tiled layout.
    pub(crate) fn slot(&self, t: usize, b: usize) -> usize {
        ((t / TILE) * (self.cols / BLOCK) + b) * TILE + t % TILE
    }
}

/// `out[t][r] = bias[r] + <row r of w, token t of a>`; out is tokens x rows.
pub(crate) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    debug_assert_eq!(w.cols, a.cols);
    debug_assert_eq!(out.len(), a.tokens * w.rows);
    if !avx2::matmul(w, a, out) {
        portable::matmul(w, a, out);
    }
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
mod tests {
    use super::*;

    fn sample(rows: usize, cols: usize, tokens: usize) -> (Linear, Quantized) {
        let mut seed = 12345u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        let mut q4 = Vec::new();
        for _ in 0..rows * cols / BLOCK {
            q4.extend_from_slice(&[0x00, 0x2c]); // f16 0.0625
            q4.extend((0..16).map(|_| next() as u8));
        }
        let bias = (0..rows).map(|r| r as f32 * 0.5).collect();
        let x: Vec<f32> = (0..tokens * cols)
            .map(|_| (next() % 2001) as f32 / 100.0 - 10.0)
            .collect();
        (
            Linear::from_q4(&q4, bias, rows, cols),
            Quantized::new(&x, cols),
        )
    }

    #[test]
    fn the_simd_product_equals_the_portable_one() {
        for (rows, cols, tokens) in [(8, 384, 3), (13, 1536, 5), (384, 384, 22), (4, 32, 1)] {
            let (w, a) = sample(rows, cols, tokens);
            let mut fast = vec![0.0; rows * tokens];
            let mut slow = vec![0.0; rows * tokens];
            matmul(&w, &a, &mut fast);
            portable::matmul(&w, &a, &mut slow);
            for (f, s) in fast.iter().zip(&slow) {
                assert!((f - s).abs() <= 1e-3 * s.abs().max(1.0), "{f} vs {s}");
            }
        }
    }

    #[test]
    fn quantisation_rounds_ties_to_even_and_keeps_the_block_maximum() {
        let mut x = vec![0.0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -3.5;
        let q = Quantized::new(&x, 32);
        assert_eq!(q.scales, vec![1.0]);
        assert_eq!(&q.values[..3], &[127, 2, -4]);
        assert_eq!(q.offsets, vec![8 * (127 + 2 - 4)]);
        let mut slow = vec![0i8; 32];
        assert_eq!(portable::quantize_block(&x, &mut slow), (1.0, 125));
        assert_eq!(slow, q.values[..32]);
    }
}
