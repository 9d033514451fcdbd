//! The products with VNNI: `dpbusd` multiplies the activations shifted to
//! 0..255 by the signed int8 weights, adds groups of four products and
//! accumulates in 32-bit lanes in one instruction; the shift is taken off at
//! the end (128 times the row's weight sum). AVX-512 VNNI takes four rows and
//! 64 inputs per instruction, AVX-VNNI two rows and 32 inputs; both keep a
//! tile of four tokens in registers.

use std::arch::x86_64::*;

use super::hsum_i32;
use crate::kernel::{CHUNK, Linear, Quantized, TILE};

/// Outputs of rows `r..r + 4` for every token, with AVX-512 VNNI: four rows
/// times four tokens, 64 inputs per instruction.
///
/// # Safety
/// AVX-512 F and VNNI must be available, and rows r..r + 4 in range for the
/// lengths that `matmul` asserts.
#[target_feature(enable = "avx2,avx512f,avx512vnni")]
pub(super) unsafe fn rows_vnni512(w: &Linear, a: &Quantized, r: usize, out: &mut [f32]) {
    let tiles = a.tokens.div_ceil(TILE);
    let next = (r + 8) * w.cols;
    if next + 4 * w.cols <= w.weights.len() {
        for line in (0..4 * w.cols).step_by(64) {
            // SAFETY: the prefetched addresses lie within the weights.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(w.weights.as_ptr().add(next + line)) };
        }
    }
    for tile in 0..tiles {
        let t0 = tile * TILE;
        let mut dots = [[0i32; TILE]; 4];
        // SAFETY: as for this function; the tile is in range.
        unsafe {
            match a.tokens - t0 {
                1 => dot_vnni512::<1>(w, a, r, tile, &mut dots),
                2 => dot_vnni512::<2>(w, a, r, tile, &mut dots),
                3 => dot_vnni512::<3>(w, a, r, tile, &mut dots),
                _ => dot_vnni512::<4>(w, a, r, tile, &mut dots),
            }
        }
        for (k, &scale) in a.scales[t0..].iter().enumerate().take(TILE) {
            let at = (t0 + k) * w.rows + r;
            for (i, dots) in dots.iter().enumerate() {
                out[at + i] = w.bias[r + i] + w.scales[r + i] * scale * dots[k] as f32;
            }
        }
    }
}

/// Integer dot products of rows `r..r + 4` with the first K tokens of a tile.
///
/// # Safety
/// AVX-512 F and VNNI must be available, and rows r..r + 4 and the tile in
/// range for the lengths that `matmul` asserts.
#[target_feature(enable = "avx2,avx512f,avx512vnni")]
#[inline]
unsafe fn dot_vnni512<const K: usize>(
    w: &Linear,
    a: &Quantized,
    r: usize,
    tile: usize,
    dots: &mut [[i32; TILE]; 4],
) {
    let chunks = w.cols / CHUNK;
    // SAFETY: the caller guarantees that the four rows' `cols` weights and
    // the tile's chunks * TILE * CHUNK shifted values are in range.
    unsafe {
        let w0 = w.weights.as_ptr().add(r * w.cols);
        let act = a.shifted.as_ptr().add(tile * chunks * TILE * CHUNK);
        let mut acc = [[_mm512_setzero_si512(); K]; 4];
        let (w1, w2, w3) = (w0.add(w.cols), w0.add(2 * w.cols), w0.add(3 * w.cols));
        for c in 0..chunks {
            let x0 = _mm512_loadu_si512(w0.add(c * CHUNK).cast());
            let x1 = _mm512_loadu_si512(w1.add(c * CHUNK).cast());
            let x2 = _mm512_loadu_si512(w2.add(c * CHUNK).cast());
            let x3 = _mm512_loadu_si512(w3.add(c * CHUNK).cast());
            let at = act.add(c * TILE * CHUNK);
            let [a0, a1, a2, a3] = &mut acc;
            for k in 0..K {
                let v = _mm512_loadu_si512(at.add(k * CHUNK).cast());
                a0[k] = _mm512_dpbusd_epi32(a0[k], v, x0);
                a1[k] = _mm512_dpbusd_epi32(a1[k], v, x1);
                a2[k] = _mm512_dpbusd_epi32(a2[k], v, x2);
                a3[k] = _mm512_dpbusd_epi32(a3[k], v, x3);
            }
        }
        for (i, (dots, acc)) in dots.iter_mut().zip(&acc).enumerate() {
            let shift = 128 * w.sums[r + i];
            for (d, &v) in dots.iter_mut().zip(acc) {
                let half =
                    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v));
                *d = hsum_i32(half) - shift;
            }
        }
    }
}

/// Outputs of rows `r` and `r + 1` for every token.
///
/// # Safety
/// AVX2 and AVX-VNNI must be available, and rows r, r + 1 in range for the
/// lengths that `matmul` asserts.
#[target_feature(enable = "avx2,fma,avxvnni")]
pub(super) unsafe fn rows_vnni(w: &Linear, a: &Quantized, r: usize, out: &mut [f32]) {
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
#[target_feature(enable = "avx2,fma,avxvnni")]
#[inline]
unsafe fn dot_vnni<const K: usize>(
    w: &Linear,
    a: &Quantized,
    r: usize,
    tile: usize,
    dots: &mut [[i32; TILE]; 2],
) {
    let chunks = w.cols / CHUNK;
    // SAFETY: the caller guarantees that both rows' `cols` weights and the
    // tile's chunks * TILE * CHUNK shifted values are in range.
    unsafe {
        let w0 = w.weights.as_ptr().add(r * w.cols);
        let w1 = w0.add(w.cols);
        let act = a.shifted.as_ptr().add(tile * chunks * TILE * CHUNK);
        let mut acc = [[_mm256_setzero_si256(); K]; 2];
        for half in 0..chunks * 2 {
            let (c, h) = (half / 2, (half % 2) * 32);
            let x0 = _mm256_loadu_si256(w0.add(c * CHUNK + h).cast());
            let x1 = _mm256_loadu_si256(w1.add(c * CHUNK + h).cast());
            let at = act.add(c * TILE * CHUNK + h);
            let [acc0, acc1] = &mut acc;
            for (k, (a0, a1)) in acc0.iter_mut().zip(acc1.iter_mut()).enumerate() {
                let v = _mm256_loadu_si256(at.add(k * CHUNK).cast());
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
