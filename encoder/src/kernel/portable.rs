//! The products in plain Rust, for processors without AVX2 (and as the
//! yardstick the SIMD kernels are tested against).

use super::{CHUNK, Linear, Quantized};

/// See [`super::matmul`].
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    for (t, out_t) in out.chunks_exact_mut(w.rows).enumerate() {
        for (r, o) in out_t.iter_mut().enumerate() {
            let row = &w.weights[r * w.cols..(r + 1) * w.cols];
            let mut dot = 0i32;
            for (c, wc) in row.chunks_exact(CHUNK).enumerate() {
                let at = a.slot(t, c) * CHUNK;
                dot += wc
                    .iter()
                    .zip(&a.values[at..at + CHUNK])
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum::<i32>();
            }
            *o = w.bias[r] + w.scales[r] * a.scales[t] * dot as f32;
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
        *o = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    d
}
