/*
 * ChaCha20 (RFC 8439, section 2.3), sixteen blocks at once with AVX-512: register w holds word w of the
 * sixteen states (block counters counter .. counter + 15), the rounds are the RFC's quarter rounds on
 * whole registers (vprold for the rotations), and the blocks are written in order, block 0 first, as
 * 16 little-endian 32-bit words each. Lattice's PRG uses it to refill its buffer; ChaCha20.block (Swift)
 * is the reference the tests hold it to.
 */
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int cchacha_available(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}

#define QR(a, b, c, d)                                                            \
    a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16); \
    c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12); \
    a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);  \
    c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);

__attribute__((target("avx512f")))
void cchacha_blocks16(const uint32_t *key, const uint32_t *nonce, uint32_t counter, uint32_t *out) {
    __m512i init[16];
    init[0] = _mm512_set1_epi32(0x61707865);
    init[1] = _mm512_set1_epi32(0x3320646e);
    init[2] = _mm512_set1_epi32(0x79622d32);
    init[3] = _mm512_set1_epi32(0x6b206574);
    for (int i = 0; i < 8; i++) init[4 + i] = _mm512_set1_epi32((int)key[i]);
    init[12] = _mm512_add_epi32(_mm512_set1_epi32((int)counter),
                                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    for (int i = 0; i < 3; i++) init[13 + i] = _mm512_set1_epi32((int)nonce[i]);
    __m512i x0 = init[0], x1 = init[1], x2 = init[2], x3 = init[3], x4 = init[4], x5 = init[5], x6 = init[6],
            x7 = init[7], x8 = init[8], x9 = init[9], x10 = init[10], x11 = init[11], x12 = init[12],
            x13 = init[13], x14 = init[14], x15 = init[15];
    for (int r = 0; r < 10; r++) {
        QR(x0, x4, x8, x12) QR(x1, x5, x9, x13) QR(x2, x6, x10, x14) QR(x3, x7, x11, x15)
        QR(x0, x5, x10, x15) QR(x1, x6, x11, x12) QR(x2, x7, x8, x13) QR(x3, x4, x9, x14)
    }
    __m512i x[16] = {x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15};
    /* Word w of block b is lane b of register w: out[16 b + w], written through a transposing scatter. */
    const __m512i rows = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
    for (int w = 0; w < 16; w++)
        _mm512_i32scatter_epi32(out + w, rows, _mm512_add_epi32(x[w], init[w]), 4);
}
#else
int cchacha_available(void) { return 0; }
void cchacha_blocks16(const uint32_t *key, const uint32_t *nonce, uint32_t counter, uint32_t *out) {
    (void)key; (void)nonce; (void)counter; (void)out;
}
#endif
