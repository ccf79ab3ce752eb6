/*
 * Stride-1 convolutions over Z_(2^64) (wrapping 64-bit integer arithmetic): what the server of the secure
 * protocols computes online on the client's masked shares for every convolution (Delphi's online linear
 * layer), and what the fixed-point oracle computes in the clear. AVX-512 (F + DQ: vpmullq), chosen at run
 * time; callers keep their Swift loops (SecureInference's RingKernels.convolve, which the tests hold this
 * to) where cring_available() or cring_conv_fits() says no.
 *
 * Each output row is held in registers (up to CRING_MAX_ROW / 8 vectors) while every input channel and
 * kernel tap is added into it: one load and one store of the row per output row, against one per tap in the
 * Swift loops. The input is first copied into a zero-padded scratch image, so taps need no bounds.
 */
#include "ckernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int cring_conv_fits(int out_width, int kernel, int padding) {
    return out_width >= 1 && out_width <= CRING_MAX_ROW && kernel >= 1 && padding >= 0 && padding < kernel;
}

size_t cring_conv_scratch_count(int channels, int height, int width, int padding) {
    return (size_t)channels * (size_t)(height + 2 * padding) * (size_t)(width + 2 * padding) + 8;
}

#if defined(__x86_64__)
int cring_available(void) {
    static int cached = -1;
    if (cached < 0) cached = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) ? 1 : 0;
    return cached;
}

/* One output row of `vectors` 8-lane vectors (the last one masked by `tail`). */
__attribute__((target("avx512f,avx512dq"), always_inline))
static inline void ring_row(const uint64_t *w, const uint64_t *padded, uint64_t *y, int channels, int hp, int wp,
                            int kernel, int oy, int vectors, __mmask8 tail) {
    __m512i acc[CRING_MAX_ROW / 8];
    for (int v = 0; v < vectors; v++)
        acc[v] = _mm512_maskz_loadu_epi64(v == vectors - 1 ? tail : (__mmask8)0xFF, y + 8 * v);
    for (int c = 0; c < channels; c++) {
        for (int ky = 0; ky < kernel; ky++) {
            const uint64_t *row = padded + ((size_t)c * hp + (size_t)(oy + ky)) * wp;
            const uint64_t *taps = w + ((size_t)c * kernel + ky) * kernel;
            for (int kx = 0; kx < kernel; kx++) {
                if (taps[kx] == 0) continue;
                const __m512i weight = _mm512_set1_epi64((long long)taps[kx]);
                for (int v = 0; v < vectors; v++) {
                    __m512i x = _mm512_maskz_loadu_epi64(v == vectors - 1 ? tail : (__mmask8)0xFF, row + kx + 8 * v);
                    acc[v] = _mm512_add_epi64(acc[v], _mm512_mullo_epi64(weight, x));
                }
            }
        }
    }
    for (int v = 0; v < vectors; v++)
        _mm512_mask_storeu_epi64(y + 8 * v, v == vectors - 1 ? tail : (__mmask8)0xFF, acc[v]);
}

/* The row loop with the vector count a constant, so that the accumulators stay in registers. */
#define RING_ROWS(V)                                                                                        \
    __attribute__((target("avx512f,avx512dq")))                                                             \
    static void ring_rows_##V(const uint64_t *w, const uint64_t *padded, uint64_t *y, int channels, int hp,  \
                              int wp, int kernel, int out_height, int out_width, __mmask8 tail) {          \
        for (int oy = 0; oy < out_height; oy++)                                                            \
            ring_row(w, padded, y + (size_t)oy * out_width, channels, hp, wp, kernel, oy, V, tail);        \
    }
RING_ROWS(1)
RING_ROWS(2)
RING_ROWS(3)
RING_ROWS(4)
RING_ROWS(5)
RING_ROWS(6)
RING_ROWS(7)
RING_ROWS(8)

void cring_conv_accumulate(const uint64_t *w, const uint64_t *x, uint64_t *y, int channels, int height, int width,
                           int out_channels, int kernel, int padding, uint64_t *scratch) {
    const int hp = height + 2 * padding, wp = width + 2 * padding;
    const int out_height = hp - kernel + 1, out_width = wp - kernel + 1;
    if (out_height <= 0 || out_width <= 0) return;
    memset(scratch, 0, sizeof(uint64_t) * cring_conv_scratch_count(channels, height, width, padding));
    for (int c = 0; c < channels; c++)
        for (int i = 0; i < height; i++)
            memcpy(scratch + ((size_t)c * hp + (size_t)(i + padding)) * wp + padding,
                   x + ((size_t)c * height + i) * width, sizeof(uint64_t) * (size_t)width);
    const int vectors = (out_width + 7) / 8;
    const __mmask8 tail = (__mmask8)(out_width % 8 == 0 ? 0xFF : (1u << (out_width % 8)) - 1u);
    for (int o = 0; o < out_channels; o++) {
        const uint64_t *wo = w + (size_t)o * channels * kernel * kernel;
        uint64_t *yo = y + (size_t)o * out_height * out_width;
        switch (vectors) {
        case 1: ring_rows_1(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 2: ring_rows_2(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 3: ring_rows_3(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 4: ring_rows_4(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 5: ring_rows_5(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 6: ring_rows_6(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        case 7: ring_rows_7(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        default: ring_rows_8(wo, scratch, yo, channels, hp, wp, kernel, out_height, out_width, tail); break;
        }
    }
}
#else
int cring_available(void) { return 0; }
void cring_conv_accumulate(const uint64_t *w, const uint64_t *x, uint64_t *y, int channels, int height, int width,
                           int out_channels, int kernel, int padding, uint64_t *scratch) {
    (void)w; (void)x; (void)y; (void)channels; (void)height; (void)width; (void)out_channels; (void)kernel;
    (void)padding; (void)scratch;
}
#endif
