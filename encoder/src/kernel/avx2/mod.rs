//! The hot loops with AVX2 (and AVX-VNNI, AVX-512 VNNI where present), and the only module
//! of the crate with unsafe code: the intrinsics that touch memory take raw
//! pointers, and a function compiled for AVX2 may only be called once the
//! processor is known to have it. Every entry point checks that first and
//! returns false or None (the caller then runs the portable code) when not.
//!
//! The product keeps a tile of four tokens in registers while it streams the
//! weight rows, and accumulates whole dot products in 32-bit integer lanes:
//! - AVX-512 VNNI, four rows at a time, 64 inputs per instruction, and
//!   AVX-VNNI, two rows at a time, 32 inputs: `dpbusd` multiplies the activations
//!   shifted to 0..255 by the signed weights and adds groups of four; the
//!   shift is taken off at the end (128 times the row's weight sum);
//! - AVX2, one row at a time: `maddubs` multiplies the activations' absolute
//!   values by the weights carrying the activations' signs (pairs add to at
//!   most 2 * 127 * 127: no saturation), `madd` widens to 32 bits.

#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
mod vnni;

use super::{CHUNK, Linear, Quantized, TILE, math};
use crate::model::BLOCK;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether this processor runs the AVX2 code (checked once, then cached by
/// std); never with the `portable` feature, which tests the fallback.
fn available() -> bool {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(any(not(target_arch = "x86_64"), feature = "portable"))]
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

/// Whether it has AVX-512 with VNNI.
fn vnni512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        available()
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// See [`super::matmul`]; false if the processor lacks AVX2. AVX-512 VNNI or
/// AVX-VNNI is used when present, unless `plain` asks for the AVX2 code (for
/// tests).
pub(super) fn matmul(w: &Linear, a: &Quantized, out: &mut [f32], plain: bool) -> bool {
    if !available() {
        return false;
    }
    let tiles = a.tokens.div_ceil(TILE);
    let slots = tiles * (w.cols / CHUNK) * TILE;
    assert!(w.cols == a.cols && w.cols.is_multiple_of(CHUNK) && w.bias.len() == w.rows);
    assert!(
        w.weights.len() == w.rows * w.cols && w.scales.len() == w.rows && w.sums.len() == w.rows
    );
    assert!(a.values.len() == slots * CHUNK && a.shifted.len() == slots * CHUNK);
    assert!(a.magnitudes.len() == slots * CHUNK && a.scales.len() == a.tokens);
    assert!(out.len() == a.tokens * w.rows);
    let vnni = vnni() && !plain;
    let wide = vnni512() && !plain;
    let mut r = 0;
    while r < w.rows {
        if wide && r + 4 <= w.rows {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512 VNNI is available, checked above; rows r..r + 4
            // are in range, and the lengths asserted above cover every byte
            // the tiles read.
            unsafe {
                vnni::rows_vnni512(w, a, r, out);
            }
            r += 4;
            continue;
        }
        let pair = vnni && r + 1 < w.rows;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 (and for a pair AVX-VNNI) is available, checked above;
        // rows r (and r + 1) are in range, and the lengths asserted above
        // cover every byte the tiles read.
        unsafe {
            if pair {
                vnni::rows_vnni(w, a, r, out);
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

/// Integer dot products of row `r` with the four tokens of a tile.
///
/// # Safety
/// AVX2 must be available, and row r and the tile in range for the lengths
/// that `matmul` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(w: &Linear, a: &Quantized, r: usize, tile: usize, dots: &mut [i32; TILE]) {
    let chunks = w.cols / CHUNK;
    let ones = _mm256_set1_epi16(1);
    // SAFETY: the caller guarantees that the row's `cols` weights and the
    // tile's chunks * TILE * CHUNK values and magnitudes are in range.
    unsafe {
        let w0 = w.weights.as_ptr().add(r * w.cols);
        let first = tile * chunks * TILE * CHUNK;
        let values = a.values.as_ptr().add(first);
        let magnitudes = a.magnitudes.as_ptr().add(first);
        let mut acc = [_mm256_setzero_si256(); TILE];
        for half in 0..chunks * 2 {
            let (c, h) = (half / 2, (half % 2) * 32);
            let x = _mm256_loadu_si256(w0.add(c * CHUNK + h).cast());
            for (k, acc) in acc.iter_mut().enumerate() {
                let at = (c * TILE + k) * CHUNK + h;
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
