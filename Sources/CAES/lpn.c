/*
 * The local linear code of primal LPN for silent OT (Ferret: Yang, Weng, Lan, Zhang, Wang, CCS 2020,
 * section 5), the hot loop of an iteration: out[j] ^= XOR_{m < d} secret[idx(j, m)] for n columns, the
 * indices public and pseudorandom: word m of the 3 AES-CTR blocks of column j (counter 3 j, nonce 0, under
 * the iteration's key), mapped to [0, k) by the multiply-shift (word * k) >> 32.
 *
 * The secret (k = 589,760 blocks: 9.4 MB) does not fit in L2, so every gather is a cache miss; the loop
 * computes a chunk's indices first and prefetches the entries of the column LPN_AHEAD columns on while it
 * sums the current one, keeping many misses in flight. Same result as the Swift reference
 * (PrimalLPN.encodeReference): one summation order of XOR.
 */
#include "caes.h"
#include <stdint.h>
#include <stdlib.h>

#define LPN_CHUNK 4096
#define LPN_AHEAD 6

typedef struct { uint64_t lo, hi; } lpn_block;

void caes_lpn_encode(const void *round_keys, int impl, size_t n, size_t d, uint64_t k, const void *secret_blocks,
                     void *out_blocks) {
    const lpn_block *s = secret_blocks;
    lpn_block *out = out_blocks;
    uint32_t *stream = malloc(sizeof(uint32_t) * 12 * LPN_CHUNK);
    uint32_t *idx = malloc(sizeof(uint32_t) * 12 * LPN_CHUNK);
    if (!stream || !idx) abort();
    for (size_t start = 0; start < n; start += LPN_CHUNK) {
        size_t cols = n - start < LPN_CHUNK ? n - start : LPN_CHUNK;
        caes_ctr_blocks(round_keys, 0, 3 * (uint64_t)start, stream, 3 * cols, impl);
        for (size_t c = 0; c < cols; c++)
            for (size_t m = 0; m < d; m++) idx[c * d + m] = (uint32_t)(((uint64_t)stream[12 * c + m] * k) >> 32);
        for (size_t c = 0; c < cols; c++) {
            if (c + LPN_AHEAD < cols) {
                const uint32_t *ahead = idx + (c + LPN_AHEAD) * d;
                for (size_t m = 0; m < d; m++) __builtin_prefetch(&s[ahead[m]], 0, 3);
            }
            const uint32_t *row = idx + c * d;
            size_t j = start + c;
            uint64_t lo = out[j].lo, hi = out[j].hi;
            for (size_t m = 0; m < d; m++) { lo ^= s[row[m]].lo; hi ^= s[row[m]].hi; }
            out[j].lo = lo;
            out[j].hi = hi;
        }
    }
    free(stream);
    free(idx);
}
