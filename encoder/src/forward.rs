//! The BERT / XLM-RoBERTa encoder over one window of at most 512 tokens:
//! embeddings, twelve post-norm layers of self-attention and GELU feed-forward,
//! then the mean of the token states. The projections run in int8 (see
//! `kernel`), everything else in f32.

use crate::kernel::{self, Linear, Quantized};
use crate::model::{BLOCK, BLOCK_BYTES, Norm, Weights, dequantize_row};

/// Mean of the final token states of one window (`ids` with `<s>` and `</s>`),
/// not yet normalised.
pub(crate) fn mean_state(w: &Weights, ids: &[u32]) -> Vec<f32> {
    kernel::with_simd(
        #[inline(always)]
        || mean_state_inline(w, ids),
    )
}

#[inline(always)]
fn mean_state_inline(w: &Weights, ids: &[u32]) -> Vec<f32> {
    let h = w.shape.hidden;
    let tokens = ids.len();
    let row_bytes = h / BLOCK * BLOCK_BYTES;
    let mut x = vec![0f32; tokens * h];
    for (t, (&id, xt)) in ids.iter().zip(x.chunks_exact_mut(h)).enumerate() {
        let row = w.vocab.row(id);
        dequantize_row(&w.word[row * row_bytes..(row + 1) * row_bytes], xt);
        let pos = &w.position[t * h..(t + 1) * h];
        for ((v, p), ty) in xt.iter_mut().zip(pos).zip(&w.token_type) {
            *v += p + ty;
        }
    }
    layer_norm(&mut x, None, &w.embed_norm, h, w.shape.eps);

    let mut q = vec![0f32; tokens * h];
    let mut k = vec![0f32; tokens * h];
    let mut v = vec![0f32; tokens * h];
    let mut ctx = vec![0f32; tokens * h];
    let mut proj = vec![0f32; tokens * h];
    let mut mid = vec![0f32; tokens * w.shape.ffn];
    for layer in &w.layers {
        let xq = Quantized::new(&x, h);
        kernel::matmul(&layer.q, &xq, &mut q);
        kernel::matmul(&layer.k, &xq, &mut k);
        kernel::matmul(&layer.v, &xq, &mut v);
        attention(&q, &k, &v, &mut ctx, tokens, h, w.shape.heads);
        project(&layer.attn_out, &ctx, &mut proj);
        layer_norm(&mut x, Some(&proj), &layer.attn_norm, h, w.shape.eps);
        project(&layer.ffn_in, &x, &mut mid);
        kernel::gelu(&mut mid);
        project(&layer.ffn_out, &mid, &mut proj);
        layer_norm(&mut x, Some(&proj), &layer.out_norm, h, w.shape.eps);
    }

    let mut mean = vec![0f32; h];
    for xt in x.chunks_exact(h) {
        mean.iter_mut().zip(xt).for_each(|(m, v)| *m += v);
    }
    let inv = 1.0 / tokens as f32;
    mean.iter_mut().for_each(|m| *m *= inv);
    mean
}

fn project(w: &Linear, input: &[f32], out: &mut [f32]) {
    kernel::matmul(w, &Quantized::new(input, w.cols), out);
}

/// `x = layer_norm(x + y)` per token (or of `x` alone).
#[inline(always)]
fn layer_norm(x: &mut [f32], y: Option<&[f32]>, norm: &Norm, h: usize, eps: f32) {
    for (t, r) in x.chunks_exact_mut(h).enumerate() {
        if let Some(y) = y {
            r.iter_mut()
                .zip(&y[t * h..(t + 1) * h])
                .for_each(|(a, b)| *a += b);
        }
        let mean = kernel::sum(r) / h as f32;
        let mut centred = [0f32; 8];
        for c in r.chunks_exact(8) {
            for (a, v) in centred.iter_mut().zip(c) {
                *a += (v - mean) * (v - mean);
            }
        }
        let rest: f32 = r
            .chunks_exact(8)
            .remainder()
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum();
        let var = (centred.iter().sum::<f32>() + rest) / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in r.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// Scaled dot-product self-attention of every token over the whole window.
#[inline(always)]
fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    ctx: &mut [f32],
    tokens: usize,
    h: usize,
    heads: usize,
) {
    let hd = h / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    // keys transposed (input dimension, then token), so that the scores of a
    // query against every key are a sum of vectors over the tokens rather
    // than one horizontal sum per key
    let mut keys = vec![0f32; h * tokens];
    for (s, ks) in k.chunks_exact(h).enumerate() {
        for (c, &x) in ks.iter().enumerate() {
            keys[c * tokens + s] = x;
        }
    }
    let mut prob = vec![0f32; tokens];
    for t in 0..tokens {
        for head in 0..heads {
            let off = head * hd;
            prob.fill(0.0);
            for c in off..off + hd {
                let qc = q[t * h + c] * scale;
                let row = &keys[c * tokens..(c + 1) * tokens];
                prob.iter_mut().zip(row).for_each(|(p, k)| *p += qc * k);
            }
            kernel::softmax(&mut prob);
            let out = &mut ctx[t * h + off..t * h + off + hd];
            if hd == HEAD {
                // the sum stays in registers instead of going through memory
                // at every token (a store-to-load chain that dominated long
                // windows)
                let mut acc = [0f32; HEAD];
                for (s, &weight) in prob.iter().enumerate() {
                    let vh = &v[s * h + off..s * h + off + HEAD];
                    acc.iter_mut().zip(vh).for_each(|(o, x)| *o += weight * x);
                }
                out.copy_from_slice(&acc);
            } else {
                out.fill(0.0);
                for (s, &weight) in prob.iter().enumerate() {
                    let vh = &v[s * h + off..s * h + off + hd];
                    out.iter_mut().zip(vh).for_each(|(o, x)| *o += weight * x);
                }
            }
        }
    }
}

/// Width of an attention head in multilingual-e5-small (384 / 12).
const HEAD: usize = 32;
