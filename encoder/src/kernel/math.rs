//! Element-wise functions written so that the compiler vectorises them: no
//! calls into a maths library, no branches. The same code serves the AVX2 path
//! (compiled with AVX2 and FMA enabled in `avx2`) and the portable one.

/// e^x for x in about [-87, 88] (Cephes' single-precision polynomial; relative
/// error about 2e-7), below that a tiny positive number.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = round_even(x * std::f32::consts::LOG2_E);
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_2e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n: n + 127 lands in the low mantissa bits of 2^23 + n + 127 (n is a
    // small integer), and the shift moves them into the exponent field.
    y * f32::from_bits((n + 8_388_735.0).to_bits() << 23)
}

/// Rounds to the nearest integer, ties to even, for |x| < 2^22: adding and
/// taking off 1.5 * 2^23 leaves no fraction bits, and the processor rounds
/// (ties to even by default). Unlike `round_ties_even`, no library call
/// where the target lacks a rounding instruction (SSE2).
#[inline(always)]
pub(crate) fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error below 2e-7).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let p = 1.061_405_4;
    let p = p * t - 1.453_152;
    let p = p * t + 1.421_413_8;
    let p = p * t - 0.284_496_74;
    let p = p * t + 0.254_829_6;
    let y = 1.0 - p * t * exp(-a * a);
    y.copysign(x)
}

/// GELU with the exact (erf) form, as BERT uses it.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Sum with eight partial sums, which the compiler keeps in one vector.
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_standard_library() {
        for i in -800..=800 {
            let x = i as f32 / 10.0;
            let want = x.exp();
            assert!(
                (exp(x) - want).abs() <= 1e-6 * want.max(1e-30),
                "{x}: {} vs {want}",
                exp(x)
            );
        }
    }

    #[test]
    fn rounding_goes_to_the_nearest_even_integer() {
        for (x, want) in [
            (2.5, 2.0),
            (3.5, 4.0),
            (-2.5, -2.0),
            (-0.5, -0.0),
            (126.6, 127.0),
            (-127.4, -127.0),
        ] {
            assert_eq!(round_even(x), want, "{x}");
        }
        for i in -4000..4000 {
            let x = i as f32 * 0.0625;
            assert_eq!(round_even(x), x.round_ties_even(), "{x}");
        }
    }

    #[test]
    fn sums_match_plain_ones() {
        let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.25 - 3.0).collect();
        assert_eq!(sum(&x), x.iter().sum::<f32>());
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
            (4.0, 1.0),
        ] {
            assert!((erf(x) - want).abs() < 3e-7, "{x}: {} vs {want}", erf(x));
        }
    }
}
