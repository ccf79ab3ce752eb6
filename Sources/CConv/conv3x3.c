/*
 * Direct 3x3 stride-1 "same" convolutions for NCHW float32, AVX-512 (see include/cconv.h).
 *
 * A plane of H*W pixels is read as H*W/16 vectors of 16 consecutive pixels (whole rows, or several short
 * rows when W < 16). Tap (ki, kj) of output vector v reads the 16 input floats starting at
 * v*16 + (ki-1)*W + (kj-1) with a lane mask that zeroes pixels whose source row or column falls outside
 * the plane; masked-off lanes are never read (AVX-512 masked loads suppress their faults), so no
 * im2col copy and no padded buffer is needed. The masks depend only on (v, tap) and are built once per
 * call.
 *
 * Forward: register block of OB output channels x PV pixel vectors (OB*PV accumulators); per input
 * channel and tap, PV masked loads and OB weight broadcasts feed OB*PV FMAs.
 * Weight gradient: for one input channel and two output channels, 18 accumulators (2 x 9 taps) summed
 * over the pixels of a block of images sized to stay in L2, then reduced horizontally.
 * The adjoint (input gradient) is the forward kernel run on dy with flipped, transposed weights.
 */
#include "cconv.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef OB
#define OB 4  /* output channels per forward register block */
#endif
#ifndef PV
#define PV 4  /* pixel vectors per forward register block */
#endif

int cconv_fits(int channels_out, int height, int width) {
    int hw = height * width;
    if (channels_out <= 0 || channels_out % OB != 0 || height <= 0 || width <= 0) return 0;
    if (hw % (16 * PV) != 0) return 0;
    return width % 16 == 0 || 16 % width == 0;
}

size_t cconv_packed_count(int channels_out, int channels_in) {
    return (size_t)channels_out * (size_t)channels_in * 9;
}

void cconv_pack_weights(const float *w, int channels_out, int channels_in, int flip_transpose, float *packed) {
    /* The packed layout for (O', C'): packed[((ob*C' + c)*9 + t)*OB + o] = w'[ob*OB + o][c][t]. */
    int O2 = flip_transpose ? channels_in : channels_out;
    int C2 = flip_transpose ? channels_out : channels_in;
    for (int o2 = 0; o2 < O2; o2++)
        for (int c2 = 0; c2 < C2; c2++)
            for (int t = 0; t < 9; t++) {
                float v = flip_transpose ? w[((size_t)c2 * channels_in + o2) * 9 + (8 - t)]
                                         : w[((size_t)o2 * channels_in + c2) * 9 + t];
                packed[(((size_t)(o2 / OB) * C2 + c2) * 9 + t) * OB + (o2 % OB)] = v;
            }
}

#if defined(__x86_64__)
#include <immintrin.h>

int cconv_available(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}

/* masks[v*9 + t] and offsets[t] for a plane (see the file comment). */
static void build_masks(int height, int width, uint16_t *masks, int *offsets) {
    int nv = height * width / 16;
    for (int t = 0; t < 9; t++) {
        int di = t / 3 - 1, dj = t % 3 - 1;
        offsets[t] = di * width + dj;
        for (int v = 0; v < nv; v++) {
            uint16_t m = 0;
            for (int l = 0; l < 16; l++) {
                int q = v * 16 + l, r = q / width + di, c = q % width + dj;
                if (r >= 0 && r < height && c >= 0 && c < width) m |= (uint16_t)(1u << l);
            }
            masks[v * 9 + t] = m;
        }
    }
}

__attribute__((target("avx512f")))
static void forward_avx512(const float *x, const float *packed, float *y, int images, int C, int O, int H, int W,
                           const uint16_t *masks, const int *offsets) {
    const int hw = H * W, nv = hw / 16;
    for (int i = 0; i < images; i++) {
        const float *xi = x + (size_t)i * C * hw;
        float *yi = y + (size_t)i * O * hw;
        for (int ob = 0; ob < O / OB; ob++) {
            const float *wb = packed + (size_t)ob * C * 9 * OB;
            for (int v0 = 0; v0 < nv; v0 += PV) {
                __m512 acc[OB][PV];
                for (int o = 0; o < OB; o++)
                    for (int p = 0; p < PV; p++) acc[o][p] = _mm512_setzero_ps();
                const uint16_t *mv = masks + v0 * 9;
                for (int c = 0; c < C; c++) {
                    const float *xc = xi + (size_t)c * hw + v0 * 16;
                    const float *wc = wb + (size_t)c * 9 * OB;
                    for (int t = 0; t < 9; t++) {
                        __m512 xv[PV];
                        for (int p = 0; p < PV; p++)
                            xv[p] = _mm512_maskz_loadu_ps((__mmask16)mv[p * 9 + t], xc + p * 16 + offsets[t]);
                        for (int o = 0; o < OB; o++) {
                            __m512 wv = _mm512_set1_ps(wc[t * OB + o]);
                            for (int p = 0; p < PV; p++) acc[o][p] = _mm512_fmadd_ps(wv, xv[p], acc[o][p]);
                        }
                    }
                }
                for (int o = 0; o < OB; o++)
                    for (int p = 0; p < PV; p++)
                        _mm512_storeu_ps(yi + (size_t)(ob * OB + o) * hw + (v0 + p) * 16, acc[o][p]);
            }
        }
    }
}

__attribute__((target("avx512f")))
static void weight_gradient_avx512(const float *x, const float *dy, float *dw, int images, int C, int O, int H,
                                   int W, const uint16_t *masks, const int *offsets) {
    const int hw = H * W, nv = hw / 16;
    /* Images per block: the block's x and dy planes stay within about 256 KiB (L2). */
    int block = (int)(65536 / ((size_t)(C + O) * hw));
    if (block < 1) block = 1;
    for (int i0 = 0; i0 < images; i0 += block) {
        int i1 = i0 + block < images ? i0 + block : images;
        for (int c = 0; c < C; c++) {
            for (int o0 = 0; o0 < O; o0 += 2) {
                __m512 a0[9], a1[9];
                for (int t = 0; t < 9; t++) { a0[t] = _mm512_setzero_ps(); a1[t] = _mm512_setzero_ps(); }
                for (int i = i0; i < i1; i++) {
                    const float *xc = x + ((size_t)i * C + c) * hw;
                    const float *d0 = dy + ((size_t)i * O + o0) * hw;
                    const float *d1 = d0 + hw;
                    for (int v = 0; v < nv; v++) {
                        __m512 g0 = _mm512_loadu_ps(d0 + v * 16), g1 = _mm512_loadu_ps(d1 + v * 16);
                        const uint16_t *mv = masks + v * 9;
                        for (int t = 0; t < 9; t++) {
                            __m512 xv = _mm512_maskz_loadu_ps((__mmask16)mv[t], xc + v * 16 + offsets[t]);
                            a0[t] = _mm512_fmadd_ps(g0, xv, a0[t]);
                            a1[t] = _mm512_fmadd_ps(g1, xv, a1[t]);
                        }
                    }
                }
                float *w0 = dw + ((size_t)o0 * C + c) * 9, *w1 = dw + ((size_t)(o0 + 1) * C + c) * 9;
                for (int t = 0; t < 9; t++) {
                    w0[t] += _mm512_reduce_add_ps(a0[t]);
                    w1[t] += _mm512_reduce_add_ps(a1[t]);
                }
            }
        }
    }
}

/* Mask tables for planes up to 64x64 pixels live on the stack; larger planes are not used here. */
#define MAX_VECTORS 256

void cconv_forward(const float *x, const float *packed, float *y, int images, int channels_in, int channels_out,
                   int height, int width) {
    uint16_t masks[MAX_VECTORS * 9];
    int offsets[9];
    if (!cconv_available() || !cconv_fits(channels_out, height, width) || height * width / 16 > MAX_VECTORS) abort();
    build_masks(height, width, masks, offsets);
    forward_avx512(x, packed, y, images, channels_in, channels_out, height, width, masks, offsets);
}

void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width) {
    uint16_t masks[MAX_VECTORS * 9];
    int offsets[9];
    if (!cconv_available() || !cconv_fits(channels_out, height, width) || height * width / 16 > MAX_VECTORS) abort();
    build_masks(height, width, masks, offsets);
    weight_gradient_avx512(x, dy, dw, images, channels_in, channels_out, height, width, masks, offsets);
}

#else /* other architectures: no kernels; callers keep their GEMM path */
int cconv_available(void) { return 0; }
void cconv_forward(const float *x, const float *packed, float *y, int images, int channels_in, int channels_out,
                   int height, int width) {
    (void)x; (void)packed; (void)y; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    abort();
}
void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width) {
    (void)x; (void)dy; (void)dw; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    abort();
}
#endif
