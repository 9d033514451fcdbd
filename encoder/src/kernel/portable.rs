//! The products in plain Rust, for processors without AVX2 (and as the
//! yardstick the SIMD kernels are tested against).

use super::{CHUNK, Linear, Quantized};

/// See [`super::matmul`]. Row by row, so that a weight row is read from
/// memory once and reused from the cache for every token.
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    for (r, row) in w.weights.chunks_exact(w.cols).enumerate() {
        for t in 0..a.tokens {
            let mut dot = 0i32;
            for (c, wc) in row.chunks_exact(CHUNK).enumerate() {
                let at = a.slot(t, c) * CHUNK;
                dot += chunk_dot(wc, &a.values[at..at + CHUNK]);
            }
            out[t * w.rows + r] = w.bias[r] + w.scales[r] * a.scales[t] * dot as f32;
        }
    }
}

/// Quantises one token's activations into `out` (-127..=127) and returns the
/// scale: max |x| / 127, values rounded to nearest, ties to even.
pub(super) fn quantize_row(x: &[f32], out: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(x) {
        *o = super::math::round_even(v * inv).clamp(-127.0, 127.0) as i8;
    }
    d
}

/// Dot product of one chunk, written over fixed-size arrays so that the
/// compiler vectorises it with whatever the target has (SSE2, NEON).
#[inline]
fn chunk_dot(w: &[i8], a: &[i8]) -> i32 {
    let (Ok(w), Ok(a)) = (<&[i8; CHUNK]>::try_from(w), <&[i8; CHUNK]>::try_from(a)) else {
        return w
            .iter()
            .zip(a)
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
    };
    let mut acc = [0i32; 8];
    for (w8, a8) in w.chunks_exact(8).zip(a.chunks_exact(8)) {
        for ((s, &x), &y) in acc.iter_mut().zip(w8).zip(a8) {
            *s += i32::from(i16::from(x) * i16::from(y));
        }
    }
    acc.iter().sum()
}
