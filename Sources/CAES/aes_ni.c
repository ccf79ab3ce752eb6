/*
 * AES-128 with AES-NI (Intel, "Intel Advanced Encryption Standard (AES) New Instructions Set", 2010),
 * eight independent blocks in flight so the pipelined AESENC units stay busy. Also the half-gates
 * inner loops (Zahur-Rosulek-Evans, Eurocrypt 2015) with the tweakable circular-correlation-robust
 * hash MMO^sigma of Guo-Katz-Wang-Yang (S&P 2020). Only called when the CPU reports AES-NI.
 */
#include "caes_internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define NI __attribute__((target("aes,sse2")))
#define WIDE 8

NI static inline __m128i expand_step(__m128i key, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

NI void caes_ni_expand_key(const uint8_t key[16], uint8_t rk[176]) {
    __m128i k[11];
    k[0] = _mm_loadu_si128((const __m128i *)key);
    /* The round constant is an immediate operand, so each step is spelled out. */
    k[1] = expand_step(k[0], _mm_aeskeygenassist_si128(k[0], 0x01));
    k[2] = expand_step(k[1], _mm_aeskeygenassist_si128(k[1], 0x02));
    k[3] = expand_step(k[2], _mm_aeskeygenassist_si128(k[2], 0x04));
    k[4] = expand_step(k[3], _mm_aeskeygenassist_si128(k[3], 0x08));
    k[5] = expand_step(k[4], _mm_aeskeygenassist_si128(k[4], 0x10));
    k[6] = expand_step(k[5], _mm_aeskeygenassist_si128(k[5], 0x20));
    k[7] = expand_step(k[6], _mm_aeskeygenassist_si128(k[6], 0x40));
    k[8] = expand_step(k[7], _mm_aeskeygenassist_si128(k[7], 0x80));
    k[9] = expand_step(k[8], _mm_aeskeygenassist_si128(k[8], 0x1b));
    k[10] = expand_step(k[9], _mm_aeskeygenassist_si128(k[9], 0x36));
    for (int i = 0; i < 11; i++) _mm_storeu_si128((__m128i *)(rk + 16 * i), k[i]);
}

NI static inline void load_keys(const uint8_t *rk, __m128i k[11]) {
    for (int i = 0; i < 11; i++) k[i] = _mm_loadu_si128((const __m128i *)(rk + 16 * i));
}

/* Encrypts `count` (compile-time constant after inlining) blocks in place, interleaved round by round. */
#define AES_MANY(blocks, count, k)                                                  \
    do {                                                                            \
        for (int j_ = 0; j_ < (count); j_++) blocks[j_] = _mm_xor_si128(blocks[j_], k[0]); \
        for (int r_ = 1; r_ < 10; r_++)                                             \
            for (int j_ = 0; j_ < (count); j_++) blocks[j_] = _mm_aesenc_si128(blocks[j_], k[r_]); \
        for (int j_ = 0; j_ < (count); j_++) blocks[j_] = _mm_aesenclast_si128(blocks[j_], k[10]); \
    } while (0)

NI static inline __m128i aes1(__m128i x, const __m128i k[11]) {
    __m128i b[1] = {x};
    AES_MANY(b, 1, k);
    return b[0];
}

NI void caes_ni_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n) {
    __m128i k[11];
    load_keys(rk, k);
    size_t i = 0;
    for (; i + WIDE <= n; i += WIDE) {
        __m128i b[WIDE];
        for (int j = 0; j < WIDE; j++) b[j] = _mm_loadu_si128((const __m128i *)(in + 16 * (i + j)));
        AES_MANY(b, WIDE, k);
        for (int j = 0; j < WIDE; j++) _mm_storeu_si128((__m128i *)(out + 16 * (i + j)), b[j]);
    }
    for (; i < n; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(in + 16 * i));
        _mm_storeu_si128((__m128i *)(out + 16 * i), aes1(x, k));
    }
}

NI void caes_ni_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n) {
    __m128i k[11];
    load_keys(rk, k);
    size_t i = 0;
    for (; i + WIDE <= n; i += WIDE) {
        __m128i x[WIDE], b[WIDE];
        for (int j = 0; j < WIDE; j++) b[j] = x[j] = _mm_loadu_si128((const __m128i *)(blocks + 16 * (i + j)));
        AES_MANY(b, WIDE, k);
        for (int j = 0; j < WIDE; j++)
            _mm_storeu_si128((__m128i *)(blocks + 16 * (i + j)), _mm_xor_si128(b[j], x[j]));
    }
    for (; i < n; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(blocks + 16 * i));
        _mm_storeu_si128((__m128i *)(blocks + 16 * i), _mm_xor_si128(aes1(x, k), x));
    }
}

/* sigma(hi || lo) = (hi ^ lo) || hi. */
NI static inline __m128i sigma(__m128i x) {
    return _mm_xor_si128(_mm_shuffle_epi32(x, 0x4e), _mm_and_si128(x, _mm_set_epi64x(-1, 0)));
}

NI static inline __m128i tweak_block(uint64_t t) { return _mm_set_epi64x(0, (long long)t); }

NI void caes_ni_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n,
                                 uint64_t tweak0, uint64_t stride) {
    __m128i k[11];
    load_keys(rk, k);
    size_t i = 0;
    uint64_t t = tweak0;
    for (; i + WIDE <= n; i += WIDE) {
        __m128i x[WIDE], b[WIDE];
        for (int j = 0; j < WIDE; j++, t += stride) {
            x[j] = _mm_xor_si128(sigma(_mm_loadu_si128((const __m128i *)(in + 16 * (i + j)))), tweak_block(t));
            b[j] = x[j];
        }
        AES_MANY(b, WIDE, k);
        for (int j = 0; j < WIDE; j++)
            _mm_storeu_si128((__m128i *)(out + 16 * (i + j)), _mm_xor_si128(b[j], x[j]));
    }
    for (; i < n; i++, t += stride) {
        __m128i x = _mm_xor_si128(sigma(_mm_loadu_si128((const __m128i *)(in + 16 * i))), tweak_block(t));
        _mm_storeu_si128((__m128i *)(out + 16 * i), _mm_xor_si128(aes1(x, k), x));
    }
}

NI void caes_ni_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n) {
    __m128i k[11];
    load_keys(rk, k);
    size_t i = 0;
    uint64_t c = counter0;
    for (; i + WIDE <= n; i += WIDE) {
        __m128i b[WIDE];
        for (int j = 0; j < WIDE; j++, c++) b[j] = _mm_set_epi64x((long long)nonce, (long long)c);
        AES_MANY(b, WIDE, k);
        for (int j = 0; j < WIDE; j++) _mm_storeu_si128((__m128i *)(out + 16 * (i + j)), b[j]);
    }
    for (; i < n; i++, c++)
        _mm_storeu_si128((__m128i *)(out + 16 * i), aes1(_mm_set_epi64x((long long)nonce, (long long)c), k));
}

/* All-ones in both halves when the lsb (bit 0 of the low half) of x is set, else zero. */
NI static inline __m128i lsb_mask(__m128i x) {
    __m128i low = _mm_and_si128(_mm_shuffle_epi32(x, 0x44), _mm_set1_epi64x(1));
    return _mm_sub_epi64(_mm_setzero_si128(), low);
}

#define LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define STORE(p, v) _mm_storeu_si128((__m128i *)(p), (v))

/* Garbles AND gate copies [c0, c0 + count) (count = GC copies per step, 4 hashes each). */
#define GARBLE_STEP(GC)                                                                         \
    do {                                                                                        \
        __m128i a0[GC], b0[GC], x[4 * GC], h[4 * GC];                                           \
        for (int q = 0; q < (GC); q++) {                                                        \
            uint64_t g = gate_id0 + (uint64_t)(c + q) * nand + j;                               \
            a0[q] = LOAD(A + 16 * (c + q));                                                     \
            b0[q] = LOAD(B + 16 * (c + q));                                                     \
            __m128i ta = tweak_block(2 * g), tb = tweak_block(2 * g + 1);                       \
            x[4 * q] = _mm_xor_si128(sigma(a0[q]), ta);                                         \
            x[4 * q + 1] = _mm_xor_si128(x[4 * q], sd);                                         \
            x[4 * q + 2] = _mm_xor_si128(sigma(b0[q]), tb);                                     \
            x[4 * q + 3] = _mm_xor_si128(x[4 * q + 2], sd);                                     \
        }                                                                                       \
        for (int q = 0; q < 4 * (GC); q++) h[q] = x[q];                                         \
        AES_MANY(h, 4 * (GC), k);                                                               \
        for (int q = 0; q < 4 * (GC); q++) h[q] = _mm_xor_si128(h[q], x[q]);                    \
        for (int q = 0; q < (GC); q++) {                                                        \
            __m128i pa = lsb_mask(a0[q]), pb = lsb_mask(b0[q]);                                 \
            __m128i tg = _mm_xor_si128(_mm_xor_si128(h[4 * q], h[4 * q + 1]), _mm_and_si128(pb, d)); \
            __m128i wg = _mm_xor_si128(h[4 * q], _mm_and_si128(pa, tg));                        \
            __m128i hb = _mm_xor_si128(h[4 * q + 2], h[4 * q + 3]);                             \
            __m128i te = _mm_xor_si128(hb, a0[q]);                                              \
            __m128i we = _mm_xor_si128(h[4 * q + 2], _mm_and_si128(pb, hb));                    \
            STORE(C + 16 * (c + q), _mm_xor_si128(wg, we));                                     \
            uint8_t *tab = tables + caes_table_offset(c + q, n, nand, j);                                  \
            STORE(tab, tg);                                                                     \
            STORE(tab + 16, te);                                                                \
        }                                                                                       \
    } while (0)

/* Garbles AND gate j for copies [c, n) of a wire-major chunk of n copies. */
NI void caes_ni_garble_and(const uint8_t *rk, const uint8_t *A, const uint8_t *B, uint8_t *C, size_t c, size_t n,
                           const uint8_t *delta, uint64_t gate_id0, size_t nand, size_t j, uint8_t *tables) {
    __m128i k[11];
    load_keys(rk, k);
    const __m128i d = LOAD(delta), sd = sigma(d);
    for (; c + 2 <= n; c += 2) GARBLE_STEP(2);
    for (; c < n; c++) GARBLE_STEP(1);
}

NI void caes_ni_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                       size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) {
    const __m128i d = LOAD(delta);
    size_t j = 0; /* AND gate index */
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        if (gate.kind == CAES_GATE_AND) {
            caes_ni_garble_and(rk, A, B, C, 0, n, delta, gate_id0, nand, j, tables);
            j++;
        } else if (gate.kind == CAES_GATE_XOR) {
            for (size_t c = 0; c < n; c++) STORE(C + 16 * c, _mm_xor_si128(LOAD(A + 16 * c), LOAD(B + 16 * c)));
        } else { /* NOT: the zero-label of the output is the one-label of the input. */
            for (size_t c = 0; c < n; c++) STORE(C + 16 * c, _mm_xor_si128(LOAD(A + 16 * c), d));
        }
    }
}

#define EVAL_STEP(EC)                                                                           \
    do {                                                                                        \
        __m128i a[EC], b[EC], x[2 * EC], h[2 * EC];                                             \
        for (int q = 0; q < (EC); q++) {                                                        \
            uint64_t g = gate_id0 + (uint64_t)(c + q) * nand + j;                               \
            a[q] = LOAD(A + 16 * (c + q));                                                      \
            b[q] = LOAD(B + 16 * (c + q));                                                      \
            x[2 * q] = _mm_xor_si128(sigma(a[q]), tweak_block(2 * g));                          \
            x[2 * q + 1] = _mm_xor_si128(sigma(b[q]), tweak_block(2 * g + 1));                  \
        }                                                                                       \
        for (int q = 0; q < 2 * (EC); q++) h[q] = x[q];                                         \
        if ((EC) == 4) { /* 4 copies of one table group: 128 contiguous bytes; fetch 4 gates ahead */ \
            const char *ahead = (const char *)(tables + caes_table_offset(c, n, nand, j)) + 2048; \
            _mm_prefetch(ahead, _MM_HINT_T0);                                                   \
            _mm_prefetch(ahead + 64, _MM_HINT_T0);                                              \
        }                                                                                       \
        AES_MANY(h, 2 * (EC), k);                                                               \
        for (int q = 0; q < (EC); q++) {                                                        \
            const uint8_t *tab = tables + caes_table_offset(c + q, n, nand, j);                            \
            __m128i tg = LOAD(tab), te = LOAD(tab + 16);                                        \
            __m128i wg = _mm_xor_si128(_mm_xor_si128(h[2 * q], x[2 * q]), _mm_and_si128(lsb_mask(a[q]), tg)); \
            __m128i we = _mm_xor_si128(_mm_xor_si128(h[2 * q + 1], x[2 * q + 1]),              \
                                       _mm_and_si128(lsb_mask(b[q]), _mm_xor_si128(te, a[q]))); \
            STORE(C + 16 * (c + q), _mm_xor_si128(wg, we));                                     \
        }                                                                                       \
    } while (0)

/* Evaluates AND gate j for copies [c, n) of a wire-major chunk of n copies. */
NI void caes_ni_evaluate_and(const uint8_t *rk, const uint8_t *A, const uint8_t *B, uint8_t *C, size_t c, size_t n,
                             uint64_t gate_id0, size_t nand, size_t j, const uint8_t *tables) {
    __m128i k[11];
    load_keys(rk, k);
    for (; c + 4 <= n; c += 4) EVAL_STEP(4);
    for (; c < n; c++) EVAL_STEP(1);
}

NI void caes_ni_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                         size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables) {
    size_t j = 0;
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        if (gate.kind == CAES_GATE_AND) {
            caes_ni_evaluate_and(rk, A, B, C, 0, n, gate_id0, nand, j, tables);
            j++;
        } else if (gate.kind == CAES_GATE_XOR) {
            for (size_t c = 0; c < n; c++) STORE(C + 16 * c, _mm_xor_si128(LOAD(A + 16 * c), LOAD(B + 16 * c)));
        } else { /* NOT is free for the evaluator: the active label passes through. */
            for (size_t c = 0; c < n; c++) STORE(C + 16 * c, LOAD(A + 16 * c));
        }
    }
}

#endif /* x86 */
