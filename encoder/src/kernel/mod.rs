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

/// Activations of `tokens` rows quantised per block of 32 to int8.
pub(crate) struct Quantized {
    pub cols: usize,
    pub values: Vec<i8>,
    /// One scale per token and block.
    pub scales: Vec<f32>,
    /// Eight times the sum of each block's values (the -8 weight offset).
    pub offsets: Vec<i32>,
}

impl Quantized {
    /// Quantises `x` (tokens x cols, row-major) as the reference does:
    /// scale = max |x| / 127, values rounded to nearest, ties to even.
    pub(crate) fn new(x: &[f32], cols: usize) -> Quantized {
        let blocks = x.len() / BLOCK;
        let mut q = Quantized {
            cols,
            values: vec![0; x.len()],
            scales: Vec::with_capacity(blocks),
            offsets: Vec::with_capacity(blocks),
        };
        for (xb, qb) in x.chunks_exact(BLOCK).zip(q.values.chunks_exact_mut(BLOCK)) {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (o, &v) in qb.iter_mut().zip(xb) {
                let r = (v * inv).round_ties_even().clamp(-128.0, 127.0) as i32;
                *o = r as i8;
                sum += r;
            }
            q.scales.push(d);
            q.offsets.push(8 * sum);
        }
        q
    }

    /// Number of token rows.
    pub(crate) fn tokens(&self) -> usize {
        self.values.len() / self.cols
    }
}

/// `out[t][r] = bias[r] + <row r of w, token t of a>`; out is tokens x rows.
pub(crate) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    debug_assert_eq!(w.cols, a.cols);
    debug_assert_eq!(out.len(), a.tokens() * w.rows);
    if !avx2::matmul(w, a, out) {
        portable::matmul(w, a, out);
    }
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
    }
}
