//! Reading the model file written by `scripts/make-model` (format "SPE5", see
//! scripts/make_model/convert.py): hyper-parameters, vocabulary, normalisation
//! map and the weights, which are unpacked once here into the layout the
//! kernels want.

use crate::Error;
use crate::kernel::Linear;
use crate::tokenizer::Vocab;

/// Shape of the transformer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub positions: usize,
    pub eps: f32,
}

/// One encoder layer.
pub(crate) struct Layer {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub attn_out: Linear,
    pub attn_norm: Norm,
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub out_norm: Norm,
}

/// Layer-norm weight and bias.
pub(crate) struct Norm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Everything the file holds, ready for inference.
pub(crate) struct Weights {
    pub shape: Shape,
    pub vocab: Vocab,
    /// Q4_0 rows of the kept pieces' word embeddings, in vocabulary order.
    pub word: Vec<u8>,
    pub position: Vec<f32>,
    pub token_type: Vec<f32>,
    pub embed_norm: Norm,
    pub layers: Vec<Layer>,
}

/// Bytes of one Q4_0 block: an f16 scale and 32 four-bit weights.
pub(crate) const BLOCK_BYTES: usize = 18;
/// Weights per Q4_0 block.
pub(crate) const BLOCK: usize = 32;

/// A bounds-checked little-endian reader over the file.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(Error::Format("truncated file"))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn usize(&mut self) -> Result<usize, Error> {
        Ok(self.u32()? as usize)
    }

    pub(crate) fn f32(&mut self) -> Result<f32, Error> {
        Ok(f32::from_bits(self.u32()?))
    }

    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, Error> {
        let b = self.bytes(n.checked_mul(4).ok_or(Error::Format("size overflow"))?)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn norm(&mut self, n: usize) -> Result<Norm, Error> {
        Ok(Norm {
            weight: self.f32s(n)?,
            bias: self.f32s(n)?,
        })
    }

    fn linear(&mut self, rows: usize, cols: usize) -> Result<Linear, Error> {
        let q4 = self.bytes(rows * (cols / BLOCK) * BLOCK_BYTES)?;
        let bias = self.f32s(rows)?;
        Ok(Linear::from_q4(q4, bias, rows, cols))
    }
}

impl Weights {
    /// Parses a whole model file.
    pub(crate) fn parse(data: &[u8]) -> Result<Weights, Error> {
        let mut r = Reader::new(data);
        if r.bytes(4)? != b"SPE5" {
            return Err(Error::Format("not a Sportello encoder model (magic)"));
        }
        if r.u32()? != 1 {
            return Err(Error::Format("unsupported model version"));
        }
        let shape = Shape {
            hidden: r.usize()?,
            layers: r.usize()?,
            heads: r.usize()?,
            ffn: r.usize()?,
            positions: r.usize()?,
            eps: r.f32()?,
        };
        let h = shape.hidden;
        let sane = h > 0
            && h.is_multiple_of(BLOCK)
            && shape.ffn.is_multiple_of(BLOCK)
            && shape.heads > 0
            && h.is_multiple_of(shape.heads)
            && shape.positions > 2
            && shape.layers > 0;
        if !sane {
            return Err(Error::Format("implausible model shape"));
        }
        let vocab = Vocab::read(&mut r)?;
        let word = r.bytes(vocab.len() * (h / BLOCK) * BLOCK_BYTES)?.to_vec();
        let position = r.f32s(shape.positions * h)?;
        let token_type = r.f32s(h)?;
        let embed_norm = r.norm(h)?;
        let mut layers = Vec::with_capacity(shape.layers);
        for _ in 0..shape.layers {
            let q = r.linear(h, h)?;
            let k = r.linear(h, h)?;
            let v = r.linear(h, h)?;
            let attn_out = r.linear(h, h)?;
            let attn_norm = r.norm(h)?;
            let ffn_in = r.linear(shape.ffn, h)?;
            let ffn_out = r.linear(h, shape.ffn)?;
            let out_norm = r.norm(h)?;
            layers.push(Layer {
                q,
                k,
                v,
                attn_out,
                attn_norm,
                ffn_in,
                ffn_out,
                out_norm,
            });
        }
        if r.pos != data.len() {
            return Err(Error::Format("trailing bytes after the last layer"));
        }
        Ok(Weights {
            shape,
            vocab,
            word,
            position,
            token_type,
            embed_norm,
            layers,
        })
    }
}

/// IEEE half to single precision.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // subnormal: value = man * 2^-24
            let v = man as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (31, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// Dequantises one Q4_0 row (a whole number of blocks) into `out`.
pub(crate) fn dequantize_row(q4: &[u8], out: &mut [f32]) {
    for (block, o) in q4
        .chunks_exact(BLOCK_BYTES)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        for (j, &b) in block[2..].iter().enumerate() {
            o[j] = (i32::from(b & 0x0f) - 8) as f32 * d;
            o[j + 16] = (i32::from(b >> 4) - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_convert_like_ieee() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x0000), 0.0);
    }
}
