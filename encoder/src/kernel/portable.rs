//! The products in plain Rust, for processors without AVX2 (and as the
//! yardstick the SIMD kernel is tested against).

use super::{Linear, Quantized};
use crate::model::BLOCK;

/// See [`super::matmul`].
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) {
    let blocks = w.cols / BLOCK;
    for (t, out_t) in out.chunks_exact_mut(w.rows).enumerate() {
        let values = &a.values[t * w.cols..(t + 1) * w.cols];
        let scales = &a.scales[t * blocks..(t + 1) * blocks];
        let offsets = &a.offsets[t * blocks..(t + 1) * blocks];
        for (r, o) in out_t.iter_mut().enumerate() {
            let row = &w.weights[r * w.cols..(r + 1) * w.cols];
            let row_scales = &w.scales[r * blocks..(r + 1) * blocks];
            let mut acc = 0f32;
            for b in 0..blocks {
                let span = b * BLOCK..(b + 1) * BLOCK;
                let dot: i32 = row[span.clone()]
                    .iter()
                    .zip(&values[span])
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum();
                acc += row_scales[b] * scales[b] * (dot - offsets[b]) as f32;
            }
            *o = w.bias[r] + acc;
        }
    }
}
