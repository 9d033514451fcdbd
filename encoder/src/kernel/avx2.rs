//! The products with AVX2 and FMA: per weight row and token, four blocks of 32
//! at a time. `maddubs` multiplies the weight bytes (0..15, unsigned) by the
//! activation bytes (signed) and adds pairs into 16-bit lanes (at most
//! 2 * 15 * 128, no saturation); `madd` widens to 32 bits; three horizontal
//! adds leave the four block sums in one vector, from which the -8 offsets are
//! subtracted before the four block scales are applied in one FMA.
//!
//! The only module of the crate with unsafe code: the intrinsics that load
//! memory take raw pointers, and the AVX2 function may only be called once the
//! processor is known to have AVX2 and FMA.
#![allow(unsafe_code)]

use super::{Linear, Quantized};
use crate::model::BLOCK;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Runs the product with AVX2 if the processor has it; false if it does not.
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA, checked just above.
            unsafe { matmul_avx2(w, a, out) };
            return true;
        }
    }
    let _ = (w, a, out);
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_avx2(w: &Linear, a: &Quantized, out: &mut [f32]) {
    let cols = w.cols;
    let blocks = cols / BLOCK;
    let groups = blocks / 4;
    let tokens = a.tokens();
    assert!(w.weights.len() == w.rows * cols && a.values.len() == tokens * cols);
    assert!(w.scales.len() == w.rows * blocks && a.scales.len() == tokens * blocks);
    assert!(a.offsets.len() == tokens * blocks && out.len() == tokens * w.rows);
    let ones = _mm256_set1_epi16(1);
    for r in 0..w.rows {
        let wrow = w.weights[r * cols..].as_ptr();
        let wsc = w.scales[r * blocks..].as_ptr();
        for t in 0..tokens {
            let arow = a.values[t * cols..].as_ptr();
            let asc = a.scales[t * blocks..].as_ptr();
            let aoff = a.offsets[t * blocks..].as_ptr();
            let mut acc = _mm_setzero_ps();
            for g in 0..groups {
                let b = g * 4;
                // SAFETY: blocks b..b + 4 lie inside the row of weights and of
                // activations (b + 4 <= blocks, lengths asserted above), and
                // their scales and offsets inside the scale and offset rows;
                // all loads are unaligned loads.
                unsafe {
                    let dot = |k: usize| {
                        let wv = _mm256_loadu_si256(wrow.add((b + k) * BLOCK).cast());
                        let av = _mm256_loadu_si256(arow.add((b + k) * BLOCK).cast());
                        _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av), ones)
                    };
                    let h01 = _mm256_hadd_epi32(dot(0), dot(1));
                    let h23 = _mm256_hadd_epi32(dot(2), dot(3));
                    let h = _mm256_hadd_epi32(h01, h23);
                    let sums =
                        _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
                    let sums = _mm_sub_epi32(sums, _mm_loadu_si128(aoff.add(b).cast()));
                    let scale = _mm_mul_ps(_mm_loadu_ps(wsc.add(b)), _mm_loadu_ps(asc.add(b)));
                    acc = _mm_fmadd_ps(_mm_cvtepi32_ps(sums), scale, acc);
                }
            }
            let acc = _mm_add_ps(acc, _mm_movehl_ps(acc, acc));
            let acc = _mm_add_ss(acc, _mm_shuffle_ps(acc, acc, 1));
            let mut total = _mm_cvtss_f32(acc);
            for b in groups * 4..blocks {
                let span = b * BLOCK..(b + 1) * BLOCK;
                let dot: i32 = w.weights[r * cols..][span.clone()]
                    .iter()
                    .zip(&a.values[t * cols..][span])
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum();
                total += w.scales[r * blocks + b]
                    * a.scales[t * blocks + b]
                    * (dot - a.offsets[t * blocks + b]) as f32;
            }
            out[t * w.rows + r] = w.bias[r] + total;
        }
    }
}
