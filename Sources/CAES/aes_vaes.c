/*
 * AES-128 with VAES on 512-bit registers (four blocks per instruction), for CPUs with VAES and
 * AVX-512F (Ice Lake, Zen 4). Only called when caes_has_vaes(). Until the wide half-gates loops below
 * prove faster than the AES-NI ones, they delegate to them.
 */
#include "caes_internal.h"
#include <immintrin.h>

#define VA __attribute__((target("aes,vaes,avx512f")))

VA void caes_vaes_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n) {
    __m512i k[11];
    for (int i = 0; i < 11; i++) k[i] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(rk + 16 * i)));
    size_t i = 0;
    enum { V = 4 }; /* 4 registers x 4 blocks = 16 blocks in flight */
    for (; i + 4 * V <= n; i += 4 * V) {
        __m512i b[V];
        for (int j = 0; j < V; j++) b[j] = _mm512_xor_si512(_mm512_loadu_si512(in + 16 * (i + 4 * j)), k[0]);
        for (int r = 1; r < 10; r++)
            for (int j = 0; j < V; j++) b[j] = _mm512_aesenc_epi128(b[j], k[r]);
        for (int j = 0; j < V; j++) b[j] = _mm512_aesenclast_epi128(b[j], k[10]);
        for (int j = 0; j < V; j++) _mm512_storeu_si512(out + 16 * (i + 4 * j), b[j]);
    }
    if (i < n) caes_ni_encrypt_blocks(rk, in + 16 * i, out + 16 * i, n - i);
}

void caes_vaes_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                      size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) {
    caes_ni_garble(rk, gates, ngates, labels, n, delta, gate_id0, nand, tables);
}

void caes_vaes_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                        size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables) {
    caes_ni_evaluate(rk, gates, ngates, labels, n, gate_id0, nand, tables);
}
