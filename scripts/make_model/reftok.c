/* Build-time helper for scripts/make-model, never part of Sportello at run
 * time. It includes the wheel's e5.c verbatim and exposes:
 *   ref_tokenize     - the reference engine's own tokeniser (its static
 *                      tok_content), whose ids the wheel's API does not return;
 *   ref_tokenize_raw - the same Viterbi over a piece of a word with no leading
 *                      word mark, to find the pieces used inside words (after
 *                      an apostrophe, a bracket, a hyphen) for the pruning. */
#include "e5.c"

int ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}

int ref_tokenize_raw(e5_model *m, const char *text, int *out, int cap) {
    const tokenizer *t = &m->tok;
    int n = (int)strlen(text), nc = 0;
    int *cs = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    for (int i = 0; i < n;) {
        uint32_t cp; cs[nc++] = i; i += utf8_decode(text + i, n - i, &cp);
    }
    cs[nc] = n;
    float *best = (float *)malloc(sizeof(float) * (size_t)(nc + 1));
    int *bp = (int *)malloc(sizeof(int) * (size_t)(nc + 1));
    int *bf = (int *)malloc(sizeof(int) * (size_t)(nc + 1));
    for (int i = 0; i <= nc; i++) best[i] = -1e30f;
    best[0] = 0.f;
    for (int i = 0; i < nc; i++) {
        for (int e = i + 1; e <= nc; e++) {
            int len = cs[e] - cs[i];
            if (len > t->max_piece_bytes) break;
            int idx = tok_lookup(t, text + cs[i], len);
            if (idx >= 0 && idx != t->unk) {
                float sc = best[i] + t->scores[idx];
                if (sc > best[e]) { best[e] = sc; bp[e] = idx; bf[e] = i; }
            }
        }
        float us = best[i] + t->unk_score;
        if (us > best[i + 1]) { best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i; }
    }
    int nt = 0;
    for (int i = nc; i > 0 && nt < cap; i = bf[i]) out[nt++] = bp[i] < 0 ? t->unk : bp[i];
    free(cs); free(best); free(bp); free(bf);
    return nt; /* reverse order: the pruning only needs the set */
}
