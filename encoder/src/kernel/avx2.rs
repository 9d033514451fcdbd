//! The hot loops with AVX2 (and AVX-VNNI where present), and the only module
//! of the crate with unsafe code: the intrinsics that touch memory take raw
//! pointers, and a function compiled for AVX2 may only be called once the
//! processor is known to have it. Every entry point checks that first and
//! returns false or None (the caller then runs the portable code) when not.
//!
//! The product keeps a tile of four tokens in registers while it streams the
//! weight rows, and accumulates whole dot products in 32-bit integer lanes:
//! - AVX-VNNI, two rows at a time: `dpbusd` multiplies the activations
//!   shifted to 0..255 by the signed weights and adds groups of four; the
//!   shift is taken off at the end (128 times the row's weight sum);
//! - AVX2, one row at a time: `maddubs` multiplies the activations' absolute
//!   values by the weights carrying the activations' signs (pairs add to at
//!   most 2 * 127 * 127: no saturation), `madd` widens to 32 bits.

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

/// Whether it also has AVX-VNNI.
fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        available() && std::arch::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// See [`super::matmul`]; false if the processor lacks AVX2. AVX-VNNI is
/// used when present, unless `plain` asks for the AVX2 code (for tests).
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32], plain: bool) -> bool {
    if !available() {
        return false;
    }
    let blocks = w.cols / BLOCK;
    let tiles = a.tokens.div_ceil(TILE);
    let slots = tiles * blocks * TILE;
    assert!(w.cols == a.cols && w.cols.is_multiple_of(BLOCK) && w.bias.len() == w.rows);
    assert!(
        w.weights.len() == w.rows * w.cols && w.scales.len() == w.rows && w.sums.len() == w.rows
    );
    assert!(a.values.len() == slots * BLOCK && a.shifted.len() == slots * BLOCK);
    assert!(a.magnitudes.len() == slots * BLOCK && a.scales.len() == a.tokens);
    assert!(out.len() == a.tokens * w.rows);
    let vnni = vnni() && !plain;
    let mut r = 0;
    while r < w.rows {
        let pair = vnni && r + 1 < w.rows;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 (and for a pair AVX-VNNI) is available, checked above;
        // rows r (and r + 1) are in range, and the lengths asserted above
        // cover every byte the tiles read.
        unsafe {
            if pair {
                rows_vnni(w, a, r, out);
            } else {
                for tile in 0..tiles {
                    let mut dots = [0i32; TILE];
                    dot_avx2(w, a, r, tile, &mut dots);
                    let t0 = tile * TILE;
                    for (k, &dot) in dots.iter().enumerate().take(a.tokens - t0) {
                        out[(t0 + k) * w.rows + r] =
                            w.bias[r] + w.scales[r] * a.scales[t0 + k] * dot as f32;
                    }
                }
            }
        }
        r += if pair { 2 } else { 1 };
    }
    true
}

/// Outputs of rows `r` and `r + 1` for every token.
///
/// # Safety
/// AVX2 and AVX-VNNI must be available, and rows r, r + 1 in range for the
/// lengths that `matmul` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avxvnni")]
unsafe fn rows_vnni(w: &Linear, a: &Quantized, r: usize, out: &mut [f32]) {
    let tiles = a.tokens.div_ceil(TILE);
    // The two rows after the next two are fetched into the cache while these are computed:
    // the weights stream from memory once per text, and the stream is what
    // the product otherwise waits for.
    let next = (r + 4) * w.cols;
    if next + 2 * w.cols <= w.weights.len() {
        for line in (0..2 * w.cols).step_by(64) {
            // SAFETY: the prefetched addresses lie within the weights.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(w.weights.as_ptr().add(next + line)) };
        }
    }
    for tile in 0..tiles {
        let t0 = tile * TILE;
        let mut dots = [[0i32; TILE]; 2];
        // SAFETY: as for this function; the tile is in range.
        unsafe {
            match a.tokens - t0 {
                1 => dot_vnni::<1>(w, a, r, tile, &mut dots),
                2 => dot_vnni::<2>(w, a, r, tile, &mut dots),
                3 => dot_vnni::<3>(w, a, r, tile, &mut dots),
                _ => dot_vnni::<4>(w, a, r, tile, &mut dots),
            }
        }
        for (k, &scale) in a.scales[t0..].iter().enumerate().take(TILE) {
            let at = (t0 + k) * w.rows + r;
            out[at] = w.bias[r] + w.scales[r] * scale * dots[0][k] as f32;
            out[at + 1] = w.bias[r + 1] + w.scales[r + 1] * scale * dots[1][k] as f32;
        }
    }
}

/// Integer dot products of rows `r` and `r + 1` with the first K tokens of a tile.
///
/// # Safety
/// AVX2 and AVX-VNNI must be available, and rows r, r + 1 and the tile in
/// range for the lengths that `matmul` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avxvnni")]
#[inline]
unsafe fn dot_vnni<const K: usize>(
    w: &Linear,
    a: &Quantized,
    r: usize,
    tile: usize,
    dots: &mut [[i32; TILE]; 2],
) {
    let blocks = w.cols / BLOCK;
    // SAFETY: the caller guarantees that both rows' `cols`
    // weights and the tile's blocks * TILE * 32 shifted values are in range.
    unsafe {
        let w0 = w.weights.as_ptr().add(r * w.cols);
        let w1 = w0.add(w.cols);
        let act = a.shifted.as_ptr().add(tile * blocks * TILE * BLOCK);
        let mut acc = [[_mm256_setzero_si256(); K]; 2];
        for b in 0..blocks {
            let x0 = _mm256_loadu_si256(w0.add(b * BLOCK).cast());
            let x1 = _mm256_loadu_si256(w1.add(b * BLOCK).cast());
            let at = act.add(b * TILE * BLOCK);
            let [acc0, acc1] = &mut acc;
            for (k, (a0, a1)) in acc0.iter_mut().zip(acc1.iter_mut()).enumerate() {
                let v = _mm256_loadu_si256(at.add(k * BLOCK).cast());
                *a0 = _mm256_dpbusd_avx_epi32(*a0, v, x0);
                *a1 = _mm256_dpbusd_avx_epi32(*a1, v, x1);
            }
        }
        if K == TILE {
            // eight horizontal sums at once: [row r tokens 0..4, row r + 1 tokens 0..4]
            let h0 = _mm256_hadd_epi32(
                _mm256_hadd_epi32(acc[0][0], acc[0][1]),
                _mm256_hadd_epi32(acc[0][2], acc[0][3 % K]),
            );
            let h1 = _mm256_hadd_epi32(
                _mm256_hadd_epi32(acc[1][0], acc[1][1]),
                _mm256_hadd_epi32(acc[1][2], acc[1][3 % K]),
            );
            let sums = _mm256_add_epi32(
                _mm256_permute2x128_si256(h0, h1, 0x20),
                _mm256_permute2x128_si256(h0, h1, 0x31),
            );
            let mut lanes = [0i32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sums);
            for (row, dots) in dots.iter_mut().enumerate() {
                let shift = 128 * w.sums[r + row];
                for (k, d) in dots.iter_mut().enumerate() {
                    *d = lanes[row * TILE + k] - shift;
                }
            }
        } else {
            for (row, (dots, acc)) in dots.iter_mut().zip(&acc).enumerate() {
                let shift = 128 * w.sums[r + row];
                for (d, &v) in dots.iter_mut().zip(acc) {
                    *d = hsum_i32(v) - shift;
                }
            }
        }
    }
}

/// Integer dot products of row `r` with the four tokens of a tile.
///
/// # Safety
/// AVX2 must be available, and row r and the tile in range for the lengths
/// that `matmul` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(w: &Linear, a: &Quantized, r: usize, tile: usize, dots: &mut [i32; TILE]) {
    let blocks = w.cols / BLOCK;
    let ones = _mm256_set1_epi16(1);
    // SAFETY: the caller guarantees that the row's `cols` weights
    // and the tile's blocks * TILE * 32 values and magnitudes are in range.
    unsafe {
        let w0 = w.weights.as_ptr().add(r * w.cols);
        let first = tile * blocks * TILE * BLOCK;
        let values = a.values.as_ptr().add(first);
        let magnitudes = a.magnitudes.as_ptr().add(first);
        let mut acc = [_mm256_setzero_si256(); TILE];
        for b in 0..blocks {
            let x = _mm256_loadu_si256(w0.add(b * BLOCK).cast());
            for (k, acc) in acc.iter_mut().enumerate() {
                let at = (b * TILE + k) * BLOCK;
                let v = _mm256_loadu_si256(values.add(at).cast());
                let m = _mm256_loadu_si256(magnitudes.add(at).cast());
                let p = _mm256_maddubs_epi16(m, _mm256_sign_epi8(x, v));
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(p, ones));
            }
        }
        for (d, &v) in dots.iter_mut().zip(&acc) {
            *d = hsum_i32(v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01)))
}

/// See [`super::portable::quantize_row`]; None if the processor lacks AVX2.
pub(super) fn quantize_row(x: &[f32], out: &mut [i8]) -> Option<f32> {
    if !available() {
        return None;
    }
    assert!(x.len() == out.len() && x.len().is_multiple_of(BLOCK));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available (checked above); lengths asserted.
    let scale = unsafe { quantize_row_avx2(x, out) };
    #[cfg(not(target_arch = "x86_64"))]
    let scale = unreachable!("AVX2 is only detected on x86_64");
    Some(scale)
}

/// # Safety
/// AVX2 must be available; `x` and `out` of the same length, a multiple of 32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_row_avx2(x: &[f32], out: &mut [i8]) -> f32 {
    let sign = _mm256_set1_ps(-0.0);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let n = x.len();
    // SAFETY: every load and store is within x and out, whose
    // equal length is a multiple of 32 (guaranteed by the caller).
    unsafe {
        let p = x.as_ptr();
        let mut m = _mm256_setzero_ps();
        for i in (0..n).step_by(8) {
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(i))));
        }
        let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        let amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
        let d = amax / 127.0;
        let inv = _mm256_set1_ps(if d > 0.0 { 1.0 / d } else { 0.0 });
        for i in (0..n).step_by(BLOCK) {
            // rounding to nearest, ties to even: the default MXCSR mode
            let q =
                |o: usize| _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(i + o)), inv));
            let packed = _mm256_packs_epi16(
                _mm256_packs_epi32(q(0), q(8)),
                _mm256_packs_epi32(q(16), q(24)),
            );
            let packed = _mm256_permutevar8x32_epi32(packed, order);
            _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), packed);
        }
        d
    }
}

/// See [`super::with_simd`].
pub(super) fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    if !available() {
        return f();
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available (checked above).
    unsafe {
        with_simd_avx2(f)
    }
    #[cfg(not(target_arch = "x86_64"))]
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_simd_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// GELU in place; false if the processor lacks AVX2.
pub(super) fn gelu(x: &mut [f32]) -> bool {
    if !available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are available (checked above).
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
    // SAFETY: AVX2 and FMA are available (checked above).
    let sum = unsafe { exp_shifted_avx2(x, max) };
    #[cfg(not(target_arch = "x86_64"))]
    let sum = unreachable!("AVX2 is only detected on x86_64");
    Some(sum)
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
