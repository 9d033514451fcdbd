//! The hot loops with AVX2 and FMA, and the only module of the crate with
//! unsafe code: the intrinsics that touch memory take raw pointers, and a
//! function compiled for AVX2 may only be called once the processor is known
//! to have it. Every entry point checks that first and returns false (the
//! caller then runs the portable code) when it does not.
//!
//! The product takes one weight row and four tokens at a time, like the
//! reference: `maddubs` multiplies the weight bytes (0..15, unsigned) by the
//! activation bytes (signed) and adds pairs into 16-bit lanes (at most
//! 2 * 15 * 128: no saturation), `madd` widens to 32 bits, and each block's
//! eight partial sums are scaled and added in f32 lanes; the -8 weight offset
//! is subtracted once per output.
#![allow(unsafe_code)]

use super::{Linear, Quantized, TILE, math};
use crate::model::BLOCK;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether this processor runs the AVX2 code (checked once, then cached by std).
fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// See [`super::matmul`]; false if the processor lacks AVX2.
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32]) -> bool {
    if !available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX2 and FMA (checked above).
    unsafe {
        matmul_avx2(w, a, out);
    }
    true
}

/// See [`super::portable::quantize_block`]; None if the processor lacks AVX2.
pub(super) fn quantize_block(xb: &[f32], out: &mut [i8]) -> Option<(f32, i32)> {
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX2 and FMA (checked above).
    unsafe {
        return Some(quantize_block_avx2(xb, out));
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// GELU in place; false if the processor lacks AVX2.
pub(super) fn gelu(x: &mut [f32]) -> bool {
    if !available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX2 and FMA (checked above).
    unsafe {
        gelu_avx2(x);
    }
    true
}

/// e^(x - max) in place, returning the sum; None if the processor lacks AVX2.
pub(super) fn exp_shifted(x: &mut [f32], max: f32) -> Option<f32> {
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX2 and FMA (checked above).
    unsafe {
        return Some(exp_shifted_avx2(x, max));
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = math::gelu(*v));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_shifted_avx2(x: &mut [f32], max: f32) -> f32 {
    x.iter_mut().for_each(|v| *v = math::exp(*v - max));
    x.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_avx2(w: &Linear, a: &Quantized, out: &mut [f32]) {
    let blocks = w.cols / BLOCK;
    let tiles = a.tokens.div_ceil(TILE);
    assert!(w.cols == a.cols && w.cols.is_multiple_of(BLOCK) && w.bias.len() == w.rows);
    assert!(w.weights.len() == w.rows * w.cols && w.scales.len() == w.rows * blocks);
    assert!(
        a.values.len() == tiles * blocks * TILE * BLOCK && a.scales.len() == tiles * blocks * TILE
    );
    assert!(a.corrections.len() == a.scales.len() && out.len() == a.tokens * w.rows);
    assert!(a.neg_sums.len() == a.scales.len());
    let vnni = std::arch::is_x86_feature_detected!("avxvnni");
    for r in 0..w.rows {
        for tile in 0..tiles {
            let mut sums = [0f32; TILE];
            // SAFETY: row r < rows and tile < tiles: the lengths asserted above
            // cover every block the tile reads; AVX-VNNI is checked first.
            unsafe {
                if vnni {
                    tile_dot_vnni(w, a, r, tile, &mut sums);
                } else {
                    tile_dot(w, a, r, tile, &mut sums);
                }
            }
            let t0 = tile * TILE;
            for (k, sum) in sums.iter().enumerate().take(a.tokens - t0) {
                out[(t0 + k) * w.rows + r] = w.bias[r] + sum;
            }
        }
    }
}

/// Dot products of weight row `r` with the four tokens of tile `tile`.
///
/// # Safety
/// AVX2 and FMA must be available, and `r` and `tile` in range for the
/// lengths that `matmul_avx2` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_dot(w: &Linear, a: &Quantized, r: usize, tile: usize, sums: &mut [f32; TILE]) {
    let blocks = w.cols / BLOCK;
    let ones = _mm256_set1_epi16(1);
    // SAFETY (whole body): the caller guarantees that row r's `cols` weight
    // bytes and `blocks` scales, and the tile's blocks * TILE slots of values,
    // scales and corrections, lie within their vectors.
    unsafe {
        let wrow = w.weights.as_ptr().add(r * w.cols);
        let wsc = w.scales.as_ptr().add(r * blocks);
        let first = tile * blocks * TILE;
        let values = a.values.as_ptr().add(first * BLOCK);
        let scales = a.scales.as_ptr().add(first);
        let corrections = a.corrections.as_ptr().add(first);
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut offset = _mm_setzero_ps();
        for b in 0..blocks {
            let wv = _mm256_loadu_si256(wrow.add(b * BLOCK).cast());
            let dw = _mm256_broadcast_ss(&*wsc.add(b));
            let av = values.add(b * TILE * BLOCK);
            let sc = scales.add(b * TILE);
            let dot = |k: usize| {
                let x = _mm256_loadu_si256(av.add(k * BLOCK).cast());
                _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(wv, x), ones))
            };
            acc0 = _mm256_fmadd_ps(dot(0), _mm256_mul_ps(dw, _mm256_broadcast_ss(&*sc)), acc0);
            acc1 = _mm256_fmadd_ps(
                dot(1),
                _mm256_mul_ps(dw, _mm256_broadcast_ss(&*sc.add(1))),
                acc1,
            );
            acc2 = _mm256_fmadd_ps(
                dot(2),
                _mm256_mul_ps(dw, _mm256_broadcast_ss(&*sc.add(2))),
                acc2,
            );
            acc3 = _mm256_fmadd_ps(
                dot(3),
                _mm256_mul_ps(dw, _mm256_broadcast_ss(&*sc.add(3))),
                acc3,
            );
            offset = _mm_fmadd_ps(
                _mm256_castps256_ps128(dw),
                _mm_loadu_ps(corrections.add(b * TILE)),
                offset,
            );
        }
        let mut off = [0f32; TILE];
        _mm_storeu_ps(off.as_mut_ptr(), offset);
        sums[0] = hsum(acc0) - off[0];
        sums[1] = hsum(acc1) - off[1];
        sums[2] = hsum(acc2) - off[2];
        sums[3] = hsum(acc3) - off[3];
    }
}

/// As [`tile_dot`], with AVX-VNNI: `dpbusd` multiplies, adds groups of four
/// and accumulates in one instruction, starting from minus the block's sum of
/// activations in every lane (eight lanes: the -8 weight offset), so no
/// correction is needed afterwards.
///
/// # Safety
/// As [`tile_dot`], and AVX-VNNI must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avxvnni")]
#[inline]
unsafe fn tile_dot_vnni(w: &Linear, a: &Quantized, r: usize, tile: usize, sums: &mut [f32; TILE]) {
    let blocks = w.cols / BLOCK;
    // SAFETY (whole body): as in tile_dot; neg_sums has the slots of scales.
    unsafe {
        let wrow = w.weights.as_ptr().add(r * w.cols);
        let wsc = w.scales.as_ptr().add(r * blocks);
        let first = tile * blocks * TILE;
        let values = a.values.as_ptr().add(first * BLOCK);
        let scales = a.scales.as_ptr().add(first);
        let neg_sums = a.neg_sums.as_ptr().add(first);
        let mut acc = [_mm256_setzero_ps(); TILE];
        for b in 0..blocks {
            let wv = _mm256_loadu_si256(wrow.add(b * BLOCK).cast());
            let dw = _mm256_broadcast_ss(&*wsc.add(b));
            let slot = b * TILE;
            for (k, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_si256(values.add((slot + k) * BLOCK).cast());
                let start = _mm256_set1_epi32(*neg_sums.add(slot + k));
                let p = _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(start, wv, x));
                let p = _mm256_mul_ps(p, _mm256_broadcast_ss(&*scales.add(slot + k)));
                *acc = _mm256_fmadd_ps(p, dw, *acc);
            }
        }
        for (sum, acc) in sums.iter_mut().zip(acc) {
            *sum = hsum(acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

/// One block of 32: scale = max |x| / 127, values = x / scale rounded to
/// nearest, ties to even (the processor's default rounding).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn quantize_block_avx2(xb: &[f32], out: &mut [i8]) -> (f32, i32) {
    assert!(xb.len() == BLOCK && out.len() == BLOCK);
    let sign = _mm256_set1_ps(-0.0);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let p = xb.as_ptr();
    // SAFETY: xb holds 32 floats, read as four unaligned vectors of 8.
    let (v0, v1, v2, v3) = unsafe {
        (
            _mm256_loadu_ps(p),
            _mm256_loadu_ps(p.add(8)),
            _mm256_loadu_ps(p.add(16)),
            _mm256_loadu_ps(p.add(24)),
        )
    };
    let m01 = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1));
    let m23 = _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3));
    let m = _mm256_max_ps(m01, m23);
    let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
    let d = amax / 127.0;
    let inv = _mm256_set1_ps(if d > 0.0 { 1.0 / d } else { 0.0 });
    let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv));
    let i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
    let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv));
    let i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
    let total = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    let total = _mm_add_epi32(
        _mm256_castsi256_si128(total),
        _mm256_extracti128_si256(total, 1),
    );
    let total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0b01_00_11_10));
    let sum = _mm_cvtsi128_si32(_mm_add_epi32(
        total,
        _mm_shuffle_epi32(total, 0b10_11_00_01),
    ));
    let packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    let packed = _mm256_permutevar8x32_epi32(packed, order);
    // SAFETY: out holds 32 bytes, written as one unaligned vector.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), packed) };
    (d, sum)
}
