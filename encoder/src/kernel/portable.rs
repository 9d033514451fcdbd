//! The products in plain Rust, for processors without AVX2 (and as the
//! yardstick the SIMD kernel is tested against).

use super::{Linear, Quantized};
use crate::model::BLOCK;

/// See [`super::matmul`].
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    let blocks = w.cols / BLOCK;
    for (t, out_t) in out.chunks_exact_mut(w.rows).enumerate() {
        for (r, o) in out_t.iter_mut().enumerate() {
            let row = &w.weights[r * w.cols..(r + 1) * w.cols];
            let mut acc = 0f32;
            for b in 0..blocks {
                let i = a.slot(t, b);
                let dot: i32 = row[b * BLOCK..(b + 1) * BLOCK]
                    .iter()
                    .zip(&a.values[i * BLOCK..(i + 1) * BLOCK])
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum();
                acc += w.scales[r * blocks + b] * a.scales[i] * (dot - a.offsets[i]) as f32;
            }
            *o = w.bias[r] + acc;
        }
    }
}

/// Quantises one block of 32 into `out`: returns its scale and the sum of
/// its values. The reference's quantisation, element by element.
pub(super) fn quantize_block(xb: &[f32], out: &mut [i8]) -> (f32, i32) {
    let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (o, &v) in out.iter_mut().zip(xb) {
        let r = (v * inv).round_ties_even().clamp(-128.0, 127.0) as i32;
        *o = r as i8;
        sum += r;
    }
    (d, sum)
}
