/*
 * CAES: AES-128 (FIPS-197) for Sibyl's two-party protocols, with AES-NI / VAES fast paths chosen at
 * run time and a portable constant-time software fallback.
 *
 * Blocks are 16 bytes in memory (FIPS byte order). Swift's `Block` (two UInt64, lo then hi) has the
 * same layout on little-endian machines, so buffers of blocks are passed as plain pointers.
 * Round keys are 11 x 16 = 176 bytes in FIPS order (w[0..43] as bytes), produced by caes_expand_key.
 *
 * `impl` selects the implementation: CAES_IMPL_AUTO picks the fastest the CPU supports;
 * an explicit choice the CPU lacks falls back to AUTO (callers check caes_has_* first).
 * No intrinsics appear in this header (the Swift importer must not see them).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CAES_IMPL_AUTO = 0,
    CAES_IMPL_SOFTWARE = 1,
    CAES_IMPL_AESNI = 2,
    CAES_IMPL_VAES = 3,
};

/* CPU support (cached after the first call). */
int caes_has_aesni(void);
int caes_has_vaes(void);
/* The implementation AUTO resolves to on this CPU. */
int caes_best_impl(void);

/* Fills buffer with bytes from getrandom(2); 0 on success, -1 (errno set) on failure. */
int caes_os_random(void *buffer, size_t length);

/* AES-128 key expansion: key (16 bytes) -> round keys (176 bytes). */
void caes_expand_key(const void *key, void *round_keys, int impl);

/* out[i] = AES_k(in[i]) for n blocks (in == out allowed). */
void caes_encrypt_blocks(const void *round_keys, const void *in, void *out, size_t n, int impl);

/* Correlation-robust hash, in place: x[i] = AES_k(x[i]) ^ x[i]. */
void caes_cr_hash_blocks(const void *round_keys, void *blocks, size_t n, int impl);

/*
 * Tweakable circular-correlation-robust hash (Guo-Katz-Wang-Yang, MMO^sigma):
 *   out[i] = AES_k(sigma(in[i]) ^ t_i) ^ sigma(in[i]) ^ t_i,  t_i = (lo: tweak0 + i*stride, hi: 0),
 *   sigma(hi || lo) = (hi ^ lo) || hi  (a linear orthomorphism).
 * in == out allowed.
 */
void caes_tccr_hash_blocks(const void *round_keys, const void *in, void *out, size_t n,
                           uint64_t tweak0, uint64_t tweak_stride, int impl);

/* Counter-mode keystream: out[i] = AES_k(counter_block(counter0 + i)), counter block (lo: c, hi: nonce). */
void caes_ctr_blocks(const void *round_keys, uint64_t nonce, uint64_t counter0, void *out, size_t n, int impl);

/*
 * Primal LPN's local linear code (silent OT, lpn.c): out[j] ^= XOR over m < d of secret[idx(j, m)] for
 * j < n, idx(j, m) = (w * k) >> 32 with w the 32-bit word m of AES-CTR blocks 3j..3j+2 (nonce 0) under
 * round_keys; d <= 12, k < 2^32. (The receiver's choice bits ride in the values' lowest bits, so they
 * need no second sum.)
 */
void caes_lpn_encode(const void *round_keys, int impl, size_t n, size_t d, uint64_t k, const void *secret,
                     void *out);

/*
 * Half-gates garbling (Zahur-Rosulek-Evans 2015) of n copies of one circuit in lockstep.
 * gates: ngates entries; labels: wire-major zero-labels, labels[w * n + c] (inputs filled by the caller,
 * gate outputs written here). AND gate j (in gate order) of copy c uses the tweaks 2g and 2g+1 with
 * g = gate_id0 + c * nand + j, and writes its two ciphertexts (32 bytes) at byte offset
 * caes_table_offset(c, n, nand, j) of tables: copies form groups of CAES_TABLE_GROUP (the last group of
 * the n copies may be smaller), each group's tables are contiguous and gate-major inside, so evaluating a
 * gate for consecutive copies reads consecutive bytes. delta: the free-XOR offset (lsb 1).
 */
#define CAES_TABLE_GROUP 16

static inline size_t caes_table_offset(size_t c, size_t n, size_t nand, size_t j) {
    size_t g0 = c - c % CAES_TABLE_GROUP;
    size_t size = n - g0 < CAES_TABLE_GROUP ? n - g0 : CAES_TABLE_GROUP;
    return 32 * (g0 * nand + j * size + (c - g0));
}

typedef struct {
    int32_t kind; /* CAES_GATE_XOR, CAES_GATE_AND, CAES_GATE_NOT */
    int32_t a;
    int32_t b;    /* unused for NOT */
    int32_t out;
} caes_gate;

enum { CAES_GATE_XOR = 0, CAES_GATE_AND = 1, CAES_GATE_NOT = 2 };

void caes_halfgates_garble(const void *round_keys, const caes_gate *gates, size_t ngates,
                           void *labels, size_t n, const void *delta, uint64_t gate_id0, size_t nand,
                           void *tables, int impl);

/* Evaluation counterpart: labels hold the active labels (wire-major); tables as written above. */
void caes_halfgates_evaluate(const void *round_keys, const caes_gate *gates, size_t ngates,
                             void *labels, size_t n, uint64_t gate_id0, size_t nand,
                             const void *tables, int impl);

#ifdef __cplusplus
}
#endif
