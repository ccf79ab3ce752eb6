/*
 * Run-time choice between the AES implementations (AES-NI, VAES, portable software) and the portable
 * versions of the batched entry points. The portable half-gates loops follow Zahur-Rosulek-Evans
 * (Eurocrypt 2015) with the MMO^sigma hash of Guo-Katz-Wang-Yang (S&P 2020), exactly like aes_ni.c.
 */
#include "caes_internal.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
int caes_has_aesni(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
    return cached;
}

int caes_has_vaes(void) {
    static int cached = -1;
    if (cached < 0)
        cached = caes_has_aesni() && __builtin_cpu_supports("vaes") && __builtin_cpu_supports("avx512f");
    return cached;
}
#define CAES_X86 1
#else /* other architectures: the portable software path only */
int caes_has_aesni(void) { return 0; }
int caes_has_vaes(void) { return 0; }
#define CAES_X86 0
#endif

int caes_best_impl(void) {
    if (caes_has_vaes()) return CAES_IMPL_VAES;
    if (caes_has_aesni()) return CAES_IMPL_AESNI;
    return CAES_IMPL_SOFTWARE;
}

static int resolve(int impl) {
    if (impl == CAES_IMPL_SOFTWARE) return impl;
    if (impl == CAES_IMPL_AESNI && caes_has_aesni()) return impl;
    if (impl == CAES_IMPL_VAES && caes_has_vaes()) return impl;
    return caes_best_impl();
}

/* ---- Portable helpers on 16-byte blocks held as two little-endian 64-bit halves. ---- */

typedef struct { uint64_t lo, hi; } blk;

static blk load_blk(const uint8_t *p) { blk b; memcpy(&b, p, 16); return b; }
static void store_blk(uint8_t *p, blk b) { memcpy(p, &b, 16); }
static blk xor_blk(blk a, blk b) { return (blk){a.lo ^ b.lo, a.hi ^ b.hi}; }
static blk and_mask(blk a, uint64_t m) { return (blk){a.lo & m, a.hi & m}; }
static uint64_t lsb_mask(blk a) { return (uint64_t)0 - (a.lo & 1); }
static blk sigma(blk x) { return (blk){x.hi, x.hi ^ x.lo}; }
static blk soft_aes(const uint8_t *rk, blk x) {
    uint8_t in[16], out[16];
    store_blk(in, x);
    caes_soft_encrypt_block(rk, in, out);
    return load_blk(out);
}
static blk soft_tccr(const uint8_t *rk, blk x, uint64_t tweak) {
    blk y = sigma(x);
    y.lo ^= tweak;
    return xor_blk(soft_aes(rk, y), y);
}

/* ---- Public entry points. ---- */

void caes_expand_key(const void *key, void *round_keys, int impl) {
#if CAES_X86
    if (resolve(impl) != CAES_IMPL_SOFTWARE) { caes_ni_expand_key(key, round_keys); return; }
#endif
    caes_soft_expand_key(key, round_keys);
}

void caes_encrypt_blocks(const void *round_keys, const void *in, void *out, size_t n, int impl) {
    switch (resolve(impl)) {
    case CAES_IMPL_VAES: caes_vaes_encrypt_blocks(round_keys, in, out, n); return;
    case CAES_IMPL_AESNI: caes_ni_encrypt_blocks(round_keys, in, out, n); return;
    default:
        for (size_t i = 0; i < n; i++)
            caes_soft_encrypt_block(round_keys, (const uint8_t *)in + 16 * i, (uint8_t *)out + 16 * i);
    }
}

void caes_cr_hash_blocks(const void *round_keys, void *blocks, size_t n, int impl) {
    int r = resolve(impl);
    if (r == CAES_IMPL_VAES) { caes_vaes_cr_hash_blocks(round_keys, blocks, n); return; }
    if (r == CAES_IMPL_AESNI) { caes_ni_cr_hash_blocks(round_keys, blocks, n); return; }
    uint8_t *p = blocks;
    for (size_t i = 0; i < n; i++) {
        blk x = load_blk(p + 16 * i);
        store_blk(p + 16 * i, xor_blk(soft_aes(round_keys, x), x));
    }
}

void caes_tccr_hash_blocks(const void *round_keys, const void *in, void *out, size_t n,
                           uint64_t tweak0, uint64_t tweak_stride, int impl) {
    int r = resolve(impl);
    if (r == CAES_IMPL_VAES) { caes_vaes_tccr_hash_blocks(round_keys, in, out, n, tweak0, tweak_stride); return; }
    if (r == CAES_IMPL_AESNI) { caes_ni_tccr_hash_blocks(round_keys, in, out, n, tweak0, tweak_stride); return; }
    for (size_t i = 0; i < n; i++) {
        blk x = load_blk((const uint8_t *)in + 16 * i);
        store_blk((uint8_t *)out + 16 * i, soft_tccr(round_keys, x, tweak0 + i * tweak_stride));
    }
}

void caes_ctr_blocks(const void *round_keys, uint64_t nonce, uint64_t counter0, void *out, size_t n, int impl) {
    int r = resolve(impl);
    if (r == CAES_IMPL_VAES) { caes_vaes_ctr_blocks(round_keys, nonce, counter0, out, n); return; }
    if (r == CAES_IMPL_AESNI) { caes_ni_ctr_blocks(round_keys, nonce, counter0, out, n); return; }
    for (size_t i = 0; i < n; i++)
        store_blk((uint8_t *)out + 16 * i, soft_aes(round_keys, (blk){counter0 + i, nonce}));
}

static void soft_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                        size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) {
    const blk d = load_blk(delta);
    size_t j = 0;
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        for (size_t c = 0; c < n; c++) {
            blk a0 = load_blk(A + 16 * c);
            if (gate.kind == CAES_GATE_NOT) { store_blk(C + 16 * c, xor_blk(a0, d)); continue; }
            blk b0 = load_blk(B + 16 * c);
            if (gate.kind == CAES_GATE_XOR) { store_blk(C + 16 * c, xor_blk(a0, b0)); continue; }
            uint64_t g = gate_id0 + (uint64_t)c * nand + j;
            blk ha0 = soft_tccr(rk, a0, 2 * g), ha1 = soft_tccr(rk, xor_blk(a0, d), 2 * g);
            blk hb0 = soft_tccr(rk, b0, 2 * g + 1), hb1 = soft_tccr(rk, xor_blk(b0, d), 2 * g + 1);
            uint64_t pa = lsb_mask(a0), pb = lsb_mask(b0);
            blk tg = xor_blk(xor_blk(ha0, ha1), and_mask(d, pb));
            blk wg = xor_blk(ha0, and_mask(tg, pa));
            blk te = xor_blk(xor_blk(hb0, hb1), a0);
            blk we = xor_blk(hb0, and_mask(xor_blk(te, a0), pb));
            store_blk(C + 16 * c, xor_blk(wg, we));
            store_blk(tables + caes_table_offset(c, n, nand, j), tg);
            store_blk(tables + caes_table_offset(c, n, nand, j) + 16, te);
        }
        if (gate.kind == CAES_GATE_AND) j++;
    }
}

static void soft_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                          size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables) {
    size_t j = 0;
    for (size_t gi = 0; gi < ngates; gi++) {
        const caes_gate gate = gates[gi];
        uint8_t *C = labels + 16 * (size_t)gate.out * n;
        const uint8_t *A = labels + 16 * (size_t)gate.a * n;
        const uint8_t *B = labels + 16 * (size_t)gate.b * n;
        for (size_t c = 0; c < n; c++) {
            blk a = load_blk(A + 16 * c);
            if (gate.kind == CAES_GATE_NOT) { store_blk(C + 16 * c, a); continue; }
            blk b = load_blk(B + 16 * c);
            if (gate.kind == CAES_GATE_XOR) { store_blk(C + 16 * c, xor_blk(a, b)); continue; }
            uint64_t g = gate_id0 + (uint64_t)c * nand + j;
            const uint8_t *tab = tables + caes_table_offset(c, n, nand, j);
            blk tg = load_blk(tab), te = load_blk(tab + 16);
            blk wg = xor_blk(soft_tccr(rk, a, 2 * g), and_mask(tg, lsb_mask(a)));
            blk we = xor_blk(soft_tccr(rk, b, 2 * g + 1), and_mask(xor_blk(te, a), lsb_mask(b)));
            store_blk(C + 16 * c, xor_blk(wg, we));
        }
        if (gate.kind == CAES_GATE_AND) j++;
    }
}

void caes_halfgates_garble(const void *round_keys, const caes_gate *gates, size_t ngates,
                           void *labels, size_t n, const void *delta, uint64_t gate_id0, size_t nand,
                           void *tables, int impl) {
    switch (resolve(impl)) {
    case CAES_IMPL_VAES: caes_vaes_garble(round_keys, gates, ngates, labels, n, delta, gate_id0, nand, tables); return;
    case CAES_IMPL_AESNI: caes_ni_garble(round_keys, gates, ngates, labels, n, delta, gate_id0, nand, tables); return;
    default: soft_garble(round_keys, gates, ngates, labels, n, delta, gate_id0, nand, tables);
    }
}

void caes_halfgates_evaluate(const void *round_keys, const caes_gate *gates, size_t ngates,
                             void *labels, size_t n, uint64_t gate_id0, size_t nand,
                             const void *tables, int impl) {
    switch (resolve(impl)) {
    case CAES_IMPL_VAES: caes_vaes_evaluate(round_keys, gates, ngates, labels, n, gate_id0, nand, tables); return;
    case CAES_IMPL_AESNI: caes_ni_evaluate(round_keys, gates, ngates, labels, n, gate_id0, nand, tables); return;
    default: soft_evaluate(round_keys, gates, ngates, labels, n, gate_id0, nand, tables);
    }
}
