/*
 * AES-128 with VAES on 512-bit registers (four blocks per instruction), for CPUs with VAES and
 * AVX-512F (Ice Lake, Zen 4/5). Only called when caes_has_vaes(). The half-gates loops (Zahur-Rosulek-
 * Evans, Eurocrypt 2015; hash MMO^sigma of Guo-Katz-Wang-Yang, S&P 2020) do the same arithmetic as
 * aes_ni.c four copies per register; leftover copies go through the AES-NI code.
 */
#include "caes_internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define VA __attribute__((target("aes,vaes,avx512f")))

VA static inline void load_keys4(const uint8_t *rk, __m512i k[11]) {
    for (int i = 0; i < 11; i++) k[i] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(rk + 16 * i)));
}

#define AES4_MANY(b, count, k)                                                                  \
    do {                                                                                        \
        for (int j_ = 0; j_ < (count); j_++) b[j_] = _mm512_xor_si512(b[j_], k[0]);             \
        for (int r_ = 1; r_ < 10; r_++)                                                         \
            for (int j_ = 0; j_ < (count); j_++) b[j_] = _mm512_aesenc_epi128(b[j_], k[r_]);    \
        for (int j_ = 0; j_ < (count); j_++) b[j_] = _mm512_aesenclast_epi128(b[j_], k[10]);    \
    } while (0)

VA void caes_vaes_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n) {
    __m512i k[11];
    load_keys4(rk, k);
    size_t i = 0;
    enum { V = 4 }; /* 4 registers x 4 blocks = 16 blocks in flight */
    for (; i + 4 * V <= n; i += 4 * V) {
        __m512i b[V];
        for (int j = 0; j < V; j++) b[j] = _mm512_loadu_si512(in + 16 * (i + 4 * j));
        AES4_MANY(b, V, k);
        for (int j = 0; j < V; j++) _mm512_storeu_si512(out + 16 * (i + 4 * j), b[j]);
    }
    if (i < n) caes_ni_encrypt_blocks(rk, in + 16 * i, out + 16 * i, n - i);
}

/* sigma(hi || lo) = (hi ^ lo) || hi in each 128-bit lane. */
VA static inline __m512i sigma4(__m512i x) {
    const __m512i hi = _mm512_set_epi64(-1, 0, -1, 0, -1, 0, -1, 0);
    return _mm512_xor_si512(_mm512_shuffle_epi32(x, 0x4e), _mm512_and_si512(x, hi));
}

VA void caes_vaes_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n) {
    __m512i k[11];
    load_keys4(rk, k);
    size_t i = 0;
    enum { V = 4 };
    for (; i + 4 * V <= n; i += 4 * V) {
        __m512i x[V], b[V];
        for (int j = 0; j < V; j++) b[j] = x[j] = _mm512_loadu_si512(blocks + 16 * (i + 4 * j));
        AES4_MANY(b, V, k);
        for (int j = 0; j < V; j++) _mm512_storeu_si512(blocks + 16 * (i + 4 * j), _mm512_xor_si512(b[j], x[j]));
    }
    if (i < n) caes_ni_cr_hash_blocks(rk, blocks + 16 * i, n - i);
}

VA void caes_vaes_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n,
                                   uint64_t tweak0, uint64_t stride) {
    __m512i k[11];
    load_keys4(rk, k);
    size_t i = 0;
    enum { V = 4 };
    uint64_t t = tweak0;
    for (; i + 4 * V <= n; i += 4 * V) {
        __m512i x[V], b[V];
        for (int j = 0; j < V; j++, t += 4 * stride) {
            __m512i tw = _mm512_set_epi64(0, (long long)(t + 3 * stride), 0, (long long)(t + 2 * stride),
                                          0, (long long)(t + stride), 0, (long long)t);
            b[j] = x[j] = _mm512_xor_si512(sigma4(_mm512_loadu_si512(in + 16 * (i + 4 * j))), tw);
        }
        AES4_MANY(b, V, k);
        for (int j = 0; j < V; j++) _mm512_storeu_si512(out + 16 * (i + 4 * j), _mm512_xor_si512(b[j], x[j]));
    }
    if (i < n) caes_ni_tccr_hash_blocks(rk, in + 16 * i, out + 16 * i, n - i, t, stride);
}

VA void caes_vaes_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n) {
    __m512i k[11];
    load_keys4(rk, k);
    size_t i = 0;
    enum { V = 4 };
    const __m512i step = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
    __m512i ctr = _mm512_set_epi64((long long)nonce, (long long)(counter0 + 3), (long long)nonce, (long long)(counter0 + 2),
                                   (long long)nonce, (long long)(counter0 + 1), (long long)nonce, (long long)counter0);
    for (; i + 4 * V <= n; i += 4 * V) {
        __m512i b[V];
        for (int j = 0; j < V; j++) {
            b[j] = ctr;
            ctr = _mm512_add_epi64(ctr, step); /* low halves wrap mod 2^64, as in the AES-NI path */
        }
        AES4_MANY(b, V, k);
        for (int j = 0; j < V; j++) _mm512_storeu_si512(out + 16 * (i + 4 * j), b[j]);
    }
    if (i < n) caes_ni_ctr_blocks(rk, nonce, counter0 + i, out + 16 * i, n - i);
}


/* All-ones in a lane whose label has lsb 1. */
VA static inline __m512i lsb4(__m512i x) {
    __m512i low = _mm512_and_si512(_mm512_shuffle_epi32(x, 0x44), _mm512_set1_epi64(1));
    return _mm512_sub_epi64(_mm512_setzero_si512(), low);
}

/* Tweak 2 (gate_id0 + c nand + j) for the four copies c, c+1, c+2, c+3 (low halves; high halves 0). */
VA static inline __m512i tweaks4(uint64_t gate_id0, size_t c, size_t nand, size_t j) {
    uint64_t t = 2 * (gate_id0 + (uint64_t)c * nand + j), s = 2 * (uint64_t)nand;
    return _mm512_set_epi64(0, (long long)(t + 3 * s), 0, (long long)(t + 2 * s), 0, (long long)(t + s), 0, (long long)t);
}

#define LD4(p) _mm512_loadu_si512((const void *)(p))
#define ST4(p, v) _mm512_storeu_si512((void *)(p), (v))

/* Steps of GV (EV) registers of 4 copies: garbling keeps 4 GV x 4 blocks in flight, evaluation 2 EV x 4. */

/* Tables of later AND gates of the same copies, read when evaluating: a full group's gate-major tables
   advance 512 bytes per gate; prefetching a few gates ahead hides DRAM latency when the batch's tables are not in cache.
   (A prefetch past the end of the buffer is harmless: prefetches never fault.) Measured here: 2 KiB ahead
   took cold-table evaluation from 162 to 222 M AND/s of CPU time; prefetching for writes when garbling
   gained nothing. */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD (4 * 512)
#endif

#define GARBLE4_STEP(GV)                                                                         \
    do {                                                                                        \
        __m512i a[GV], b[GV], x[4 * GV], h[4 * GV];                                                 \
        for (int v = 0; v < GV; v++) {                                                              \
            size_t cv = c + 4 * (size_t)v;                                                          \
            a[v] = LD4(A + 16 * cv);                                                                \
            b[v] = LD4(B + 16 * cv);                                                                \
            __m512i ta = tweaks4(gate_id0, cv, nand, j);                                            \
            __m512i tb = _mm512_add_epi64(ta, _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1));            \
            x[4 * v] = _mm512_xor_si512(sigma4(a[v]), ta);                                          \
            x[4 * v + 1] = _mm512_xor_si512(x[4 * v], sd);                                          \
            x[4 * v + 2] = _mm512_xor_si512(sigma4(b[v]), tb);                                      \
            x[4 * v + 3] = _mm512_xor_si512(x[4 * v + 2], sd);                                      \
        }                                                                                           \
        for (int q = 0; q < 4 * GV; q++) h[q] = x[q];                                               \
        AES4_MANY(h, 4 * GV, k);                                                                    \
        for (int q = 0; q < 4 * GV; q++) h[q] = _mm512_xor_si512(h[q], x[q]);                       \
        for (int v = 0; v < GV; v++) {                                                              \
            size_t cv = c + 4 * (size_t)v;                                                          \
            __m512i pa = lsb4(a[v]), pb = lsb4(b[v]);                                               \
            __m512i tg = _mm512_xor_si512(_mm512_xor_si512(h[4 * v], h[4 * v + 1]), _mm512_and_si512(pb, d));\
            __m512i wg = _mm512_xor_si512(h[4 * v], _mm512_and_si512(pa, tg));                      \
            __m512i hb = _mm512_xor_si512(h[4 * v + 2], h[4 * v + 3]);                              \
            __m512i te = _mm512_xor_si512(hb, a[v]);                                                \
            __m512i we = _mm512_xor_si512(h[4 * v + 2], _mm512_and_si512(pb, hb));                  \
            ST4(C + 16 * cv, _mm512_xor_si512(wg, we));                                             \
            __m512i p01 = _mm512_permutex2var_epi64(tg, lo_pairs, te);                              \
            __m512i p23 = _mm512_permutex2var_epi64(tg, hi_pairs, te);                              \
            uint8_t *tab = tables + caes_table_offset(cv, n, nand, j); /* 4 copies, one group: contiguous */\
            ST4(tab, p01);                                                                          \
            ST4(tab + 64, p23);                                                                     \
        }                                                                                           \
    } while (0)

VA static void garble_and4(const uint8_t *rk, const __m512i k[11], const uint8_t *A, const uint8_t *B, uint8_t *C,
                           size_t n, const uint8_t *delta, __m512i d, __m512i sd, uint64_t gate_id0, size_t nand,
                           size_t j, uint8_t *tables) {
    /* Pairs (tg, te) of lanes 0,1 and 2,3 interleaved so each copy's two ciphertexts store as 32 bytes. */
    const __m512i lo_pairs = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i hi_pairs = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    size_t c = 0;
    for (; c + 8 <= n; c += 8) GARBLE4_STEP(2);
    for (; c + 4 <= n; c += 4) GARBLE4_STEP(1);
    if (c < n) caes_ni_garble_and(rk, A, B, C, c, n, delta, gate_id0, nand, j, tables);
}

VA void caes_vaes_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                         size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) {
    __m512i k[11];
    load_keys4(rk, k);
    const __m512i d = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)delta)), sd = sigma4(d);
    size_t j = 0;
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        if (gate.kind == CAES_GATE_AND) {
            garble_and4(rk, k, A, B, C, n, delta, d, sd, gate_id0, nand, j, tables);
            j++;
            continue;
        }
        size_t c = 0;
        if (gate.kind == CAES_GATE_XOR) {
            for (; c + 4 <= n; c += 4) ST4(C + 16 * c, _mm512_xor_si512(LD4(A + 16 * c), LD4(B + 16 * c)));
            for (; c < n; c++)
                _mm_storeu_si128((__m128i *)(C + 16 * c), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(A + 16 * c)),
                                                                       _mm_loadu_si128((const __m128i *)(B + 16 * c))));
        } else { /* NOT: the zero-label of the output is the one-label of the input. */
            for (; c + 4 <= n; c += 4) ST4(C + 16 * c, _mm512_xor_si512(LD4(A + 16 * c), d));
            for (; c < n; c++)
                _mm_storeu_si128((__m128i *)(C + 16 * c), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(A + 16 * c)),
                                                                       _mm512_castsi512_si128(d)));
        }
    }
}

#define EVAL4_STEP(EV)                                                                           \
    do {                                                                                        \
        __m512i a[EV], b[EV], x[2 * EV], h[2 * EV];                                                 \
        for (int v = 0; v < EV; v++) {                                                              \
            size_t cv = c + 4 * (size_t)v;                                                          \
            a[v] = LD4(A + 16 * cv);                                                                \
            b[v] = LD4(B + 16 * cv);                                                                \
            __m512i ta = tweaks4(gate_id0, cv, nand, j);                                            \
            __m512i tb = _mm512_add_epi64(ta, _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1));            \
            x[2 * v] = _mm512_xor_si512(sigma4(a[v]), ta);                                          \
            x[2 * v + 1] = _mm512_xor_si512(sigma4(b[v]), tb);                                      \
        }                                                                                           \
        for (int q = 0; q < 2 * EV; q++) h[q] = x[q];                                               \
        AES4_MANY(h, 2 * EV, k);                                                                    \
        for (int v = 0; v < EV; v++) {                                                              \
            size_t cv = c + 4 * (size_t)v;                                                          \
            const uint8_t *tab = tables + caes_table_offset(cv, n, nand, j);                        \
            __m512i p01 = LD4(tab), p23 = LD4(tab + 64);                                            \
            _mm_prefetch((const char *)(tab + PREFETCH_AHEAD), _MM_HINT_T0);                          \
            _mm_prefetch((const char *)(tab + PREFETCH_AHEAD + 64), _MM_HINT_T0);                     \
            __m512i tg = _mm512_permutex2var_epi64(p01, tg_idx, p23);                               \
            __m512i te = _mm512_permutex2var_epi64(p01, te_idx, p23);                               \
            __m512i wg = _mm512_xor_si512(_mm512_xor_si512(h[2 * v], x[2 * v]), _mm512_and_si512(lsb4(a[v]), tg));\
            __m512i we = _mm512_xor_si512(_mm512_xor_si512(h[2 * v + 1], x[2 * v + 1]),             \
                                          _mm512_and_si512(lsb4(b[v]), _mm512_xor_si512(te, a[v])));\
            ST4(C + 16 * cv, _mm512_xor_si512(wg, we));                                             \
        }                                                                                           \
    } while (0)

VA static void evaluate_and4(const uint8_t *rk, const __m512i k[11], const uint8_t *A, const uint8_t *B, uint8_t *C,
                             size_t n, uint64_t gate_id0, size_t nand, size_t j, const uint8_t *tables) {
    const __m512i tg_idx = _mm512_set_epi64(13, 12, 9, 8, 5, 4, 1, 0);
    const __m512i te_idx = _mm512_set_epi64(15, 14, 11, 10, 7, 6, 3, 2);
    size_t c = 0;
    for (; c + 16 <= n; c += 16) EVAL4_STEP(4);
    for (; c + 4 <= n; c += 4) EVAL4_STEP(1);
    if (c < n) caes_ni_evaluate_and(rk, A, B, C, c, n, gate_id0, nand, j, tables);
}

VA void caes_vaes_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                           size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables) {
    __m512i k[11];
    load_keys4(rk, k);
    size_t j = 0;
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        if (gate.kind == CAES_GATE_AND) {
            evaluate_and4(rk, k, A, B, C, n, gate_id0, nand, j, tables);
            j++;
            continue;
        }
        size_t c = 0;
        if (gate.kind == CAES_GATE_XOR) {
            for (; c + 4 <= n; c += 4) ST4(C + 16 * c, _mm512_xor_si512(LD4(A + 16 * c), LD4(B + 16 * c)));
            for (; c < n; c++)
                _mm_storeu_si128((__m128i *)(C + 16 * c), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(A + 16 * c)),
                                                                       _mm_loadu_si128((const __m128i *)(B + 16 * c))));
        } else { /* NOT is free for the evaluator. */
            for (; c + 4 <= n; c += 4) ST4(C + 16 * c, LD4(A + 16 * c));
            for (; c < n; c++) _mm_storeu_si128((__m128i *)(C + 16 * c), _mm_loadu_si128((const __m128i *)(A + 16 * c)));
        }
    }
}

#endif /* x86 */
