use super::*;

fn sample(rows: usize, cols: usize, tokens: usize) -> (Linear, Vec<f32>) {
    let mut seed = 12345u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed >> 8
    };
    let mut q4 = Vec::new();
    for i in 0..rows * cols / BLOCK {
        // f16 scales 0.0625 and 0.125 in turn
        q4.extend_from_slice(if i % 2 == 0 {
            &[0x00, 0x2c]
        } else {
            &[0x00, 0x30]
        });
        q4.extend((0..16).map(|_| next() as u8));
    }
    let bias = (0..rows).map(|r| r as f32 * 0.5).collect();
    let x = (0..tokens * cols)
        .map(|_| (next() % 2001) as f32 / 100.0 - 10.0)
        .collect();
    (Linear::from_q4(&q4, bias, rows, cols), x)
}

#[test]
fn the_simd_product_equals_the_portable_one() {
    for (rows, cols, tokens) in [
        (8, 384, 3),
        (14, 1536, 5),
        (384, 384, 22),
        (2, 64, 1),
        (7, 128, 9),
    ] {
        let (w, x) = sample(rows, cols, tokens);
        let a = Quantized::new(&x, cols);
        let mut fast = vec![0.0; rows * tokens];
        let mut plain = vec![0.0; rows * tokens];
        let mut slow = vec![0.0; rows * tokens];
        matmul(&w, &a, &mut fast);
        let simd = avx2::matmul(&w, &a, &mut plain, true);
        portable::matmul(&w, &a, &mut slow);
        for ((f, p), s) in fast.iter().zip(&plain).zip(&slow) {
            assert!((f - s).abs() <= 1e-4 * s.abs().max(1.0), "{f} vs {s}");
            assert!(
                !simd || (p - s).abs() <= 1e-4 * s.abs().max(1.0),
                "{p} vs {s}"
            );
        }
    }
}

#[test]
fn the_product_is_close_to_the_real_valued_one() {
    let (w, x) = sample(16, 384, 3);
    let a = Quantized::new(&x, 384);
    let mut out = vec![0.0; 16 * 3];
    matmul(&w, &a, &mut out);
    for t in 0..3 {
        for r in 0..16 {
            let real: f32 = (0..384)
                .map(|j| w.scales[r] * f32::from(w.weights[r * 384 + j]) * x[t * 384 + j])
                .sum::<f32>()
                + w.bias[r];
            // each activation is off by at most half its step
            let bound: f32 = (0..384)
                .map(|j| w.scales[r] * f32::from(w.weights[r * 384 + j]).abs() * a.scales[t] / 2.0)
                .sum();
            let got = out[t * 16 + r];
            assert!(
                (got - real).abs() <= bound * 1.001,
                "{got} vs {real} (bound {bound})"
            );
        }
    }
}

#[test]
fn requantised_weights_stay_within_half_a_step_of_the_four_bit_ones() {
    // one row of two blocks: scales 1.0 and 0.5, values -8..7 and 7..-8
    let mut q4 = vec![0x00, 0x3c];
    q4.extend((0..16u8).map(|j| j | ((j ^ 0x0f) << 4)));
    q4.extend_from_slice(&[0x00, 0x38]);
    q4.extend((0..16u8).map(|j| j | ((j ^ 0x0f) << 4)));
    let w = Linear::from_q4(&q4, vec![0.0], 1, 64);
    assert_eq!(w.scales, vec![8.0 / 127.0]);
    let four_bit = |j: usize| {
        let (scale, j) = if j < 32 { (1.0, j) } else { (0.5, j - 32) };
        let low = (j % 16) as f32 - 8.0;
        scale * if j < 16 { low } else { -1.0 - low }
    };
    for (j, &v) in w.weights.iter().enumerate() {
        let got = w.scales[0] * f32::from(v);
        assert!(
            (got - four_bit(j)).abs() <= w.scales[0] / 2.0 + 1e-6,
            "{j}: {got} vs {}",
            four_bit(j)
        );
    }
}

#[test]
fn quantisation_rounds_ties_to_even_and_keeps_the_maximum() {
    let mut x = vec![0.0f32; 64];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -3.5;
    x[40] = -0.5;
    let q = Quantized::new(&x, 64);
    assert_eq!(q.scales, vec![1.0]);
    assert_eq!(&q.values[..3], &[127, 2, -4]);
    assert_eq!(q.values[q.slot(0, 0) * CHUNK + 40], 0); // -0.5 rounds to even
    let mut slow = vec![0i8; 64];
    assert_eq!(portable::quantize_row(&x, &mut slow), 1.0);
    assert_eq!(slow[..32], q.values[..32]);
    assert_eq!(q.shifted[2], 124);
    assert_eq!(q.magnitudes[2], 4);
}
