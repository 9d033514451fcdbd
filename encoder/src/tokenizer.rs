//! SentencePiece Unigram tokenisation as XLM-RoBERTa (and the reference
//! engine) does it: a per-character normalisation map, runs of spaces
//! collapsed, the `▁` word mark prepended and put for every space, then the
//! most probable segmentation into vocabulary pieces (Viterbi), one unknown
//! token for each character no piece covers.
//!
//! Ties and sums follow the reference exactly (f32 sums in the same order, a
//! later candidate wins only when strictly better), so ids are identical.

use rustc_hash::FxHashMap;

use crate::Error;
use crate::model::Reader;

/// The word mark U+2581 that stands for a space.
const WORD_MARK: char = '\u{2581}';

/// The kept pieces, with their original ids and scores, and the normalisation map.
pub(crate) struct Vocab {
    /// Original id of each kept piece, ascending.
    ids: Vec<u32>,
    scores: Vec<f32>,
    pieces: FxHashMap<Box<[u8]>, u32>,
    normalisation: FxHashMap<char, Box<[char]>>,
    max_piece_bytes: usize,
    unknown_score: f32,
    /// Original ids of the special tokens.
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
}

impl Vocab {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Vocab, Error> {
        let bos = r.u32()?;
        let eos = r.u32()?;
        let _pad = r.u32()?;
        let unk = r.u32()?;
        let unknown_score = r.f32()?;
        let n = r.usize()?;
        let mut ids = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n);
        let mut pieces = FxHashMap::default();
        pieces.reserve(n);
        let mut max_piece_bytes = 1;
        for index in 0..n {
            let id = r.u32()?;
            if ids.last().is_some_and(|&last| last >= id) {
                return Err(Error::Format("piece ids not ascending"));
            }
            ids.push(id);
            scores.push(r.f32()?);
            let len = usize::from(r.u8()?);
            let bytes = r.bytes(len)?;
            max_piece_bytes = max_piece_bytes.max(len);
            // The reference looks up every piece but the unknown one; of two
            // pieces with the same bytes it finds the one with the lower id.
            if len > 0 && id != unk {
                pieces.entry(bytes.into()).or_insert(index as u32);
            }
        }
        for special in [bos, eos, unk] {
            if ids.binary_search(&special).is_err() {
                return Err(Error::Format("a special token is missing"));
            }
        }
        let entries = r.usize()?;
        let mut normalisation = FxHashMap::default();
        for _ in 0..entries {
            let from = char::from_u32(r.u32()?).ok_or(Error::Format("bad code point"))?;
            let count = usize::from(r.u8()?);
            let to = (0..count)
                .map(|_| char::from_u32(r.u32()?).ok_or(Error::Format("bad code point")))
                .collect::<Result<Box<[char]>, Error>>()?;
            normalisation.insert(from, to);
        }
        Ok(Vocab {
            ids,
            scores,
            pieces,
            normalisation,
            max_piece_bytes,
            unknown_score,
            bos,
            eos,
            unk,
        })
    }

    /// Number of kept pieces.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Row of an original id in the kept pieces' embedding table.
    pub(crate) fn row(&self, id: u32) -> usize {
        // Every id the tokeniser emits is a kept piece or a special token.
        self.ids.binary_search(&id).unwrap_or(0)
    }

    /// Normalised text with word marks, and the byte offset where each character starts.
    fn normalise(&self, text: &str) -> (String, Vec<usize>) {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            match self.normalisation.get(&c) {
                Some(to) => chars.extend_from_slice(to),
                None => chars.push(c),
            }
        }
        chars.dedup_by(|c, prev| *c == ' ' && *prev == ' ');
        let mut out = String::with_capacity(chars.len() * 3 + 3);
        let mut starts = Vec::with_capacity(chars.len() + 2);
        if chars.first() != Some(&' ') {
            starts.push(0);
            out.push(WORD_MARK);
        }
        for c in chars {
            starts.push(out.len());
            out.push(if c == ' ' { WORD_MARK } else { c });
        }
        starts.push(out.len());
        (out, starts)
    }

    /// Content token ids (no `<s>`/`</s>`) of a whole text, prefix included.
    pub(crate) fn tokenize(&self, text: &str) -> Vec<u32> {
        let (s, starts) = self.normalise(text);
        let bytes = s.as_bytes();
        let n = starts.len() - 1;
        // best score reaching each character boundary; the piece index (None
        // = unknown character) and the boundary it came from
        let mut best = vec![-1e30f32; n + 1];
        let mut piece = vec![None::<u32>; n + 1];
        let mut from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] <= -1e29 {
                continue;
            }
            for e in i + 1..=n {
                let len = starts[e] - starts[i];
                if len > self.max_piece_bytes {
                    break;
                }
                if let Some(&index) = self.pieces.get(&bytes[starts[i]..starts[e]]) {
                    let score = best[i] + self.scores[index as usize];
                    if score > best[e] {
                        best[e] = score;
                        piece[e] = Some(index);
                        from[e] = i;
                    }
                }
            }
            let unknown = best[i] + self.unknown_score;
            if unknown > best[i + 1] {
                best[i + 1] = unknown;
                piece[i + 1] = None;
                from[i + 1] = i;
            }
        }
        let mut out = Vec::new();
        let mut i = n;
        while i > 0 {
            out.push(piece[i].map_or(self.unk, |index| self.ids[index as usize]));
            i = from[i];
        }
        out.reverse();
        out
    }
}
