/*
 * Direct 3x3 stride-1 "same" convolutions for NCHW float32, AVX-512 (see include/cconv.h).
 *
 * A plane of H*W pixels is read as H*W/16 vectors of 16 consecutive pixels (whole rows, or several short
 * rows when W < 16). Tap (ki, kj) of output vector v reads the 16 input floats starting at
 * v*16 + (ki-1)*W + (kj-1) of a copy of the plane with a row of zeros above and below (so taps above
 * or below the plane read zeros), with a lane mask for the left and right taps that zeroes pixels whose
 * source column falls outside the plane (masked-off lanes are never read: AVX-512 masked loads suppress
 * their faults). No im2col copy: the padded copy is (H*W + W) floats per channel.
 *
 * Forward: register block of OB output channels x PV pixel vectors (OB*PV accumulators); per input
 * channel and tap, PV masked loads and OB weight broadcasts feed OB*PV FMAs.
 * Weight gradient: for one input channel and two output channels, 18 accumulators (2 x 9 taps) summed
 * over the pixels of a block of images sized to stay in L2, then reduced horizontally.
 * The adjoint (input gradient) is the forward kernel run on dy with flipped, transposed weights.
 */
#include "ckernels.h"
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
    if (channels_out <= 0 || channels_out % OB != 0 || height <= 0 || width <= 0 || hw > 4096) return 0;
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

/*
 * Planes are first copied into a scratch buffer with W zeros before each plane and after the last, so
 * taps that reach above or below the plane read zeros; only the left and right taps (kj = 0, 2) still
 * need a lane mask, for pixels in the first or last column. Those two masks depend only on the vector
 * index v: left[v] clears lanes at column 0, right[v] lanes at column W-1.
 */
static void build_masks(int height, int width, uint16_t *left, uint16_t *right) {
    int nv = height * width / 16;
    for (int v = 0; v < nv; v++) {
        uint16_t l = 0xFFFF, r = 0xFFFF;
        for (int lane = 0; lane < 16; lane++) {
            int col = (v * 16 + lane) % width;
            if (col == 0) l &= (uint16_t)~(1u << lane);
            if (col == width - 1) r &= (uint16_t)~(1u << lane);
        }
        left[v] = l;
        right[v] = r;
    }
}

/* Images per weight-gradient block: the block's x and dy planes stay within about 512 KiB (L2). */
static int gradient_block(int channels_in, int channels_out, int hw) {
    int block = (int)(131072 / ((size_t)(channels_in + channels_out) * hw));
    return block < 1 ? 1 : block;
}

/* Floats of one padded image of C planes (see above). */
static size_t padded_count(int channels, int hw, int width) { return (size_t)channels * (hw + width) + width; }

/* src [C][hw] -> dst: plane c starts at dst + c*(hw + W) + W, zeros between planes and after the last. */
static void pad_image(const float *src, float *dst, int channels, int hw, int width) {
    for (int c = 0; c < channels; c++) {
        float *slot = dst + (size_t)c * (hw + width);
        memset(slot, 0, sizeof(float) * width);
        memcpy(slot + width, src + (size_t)c * hw, sizeof(float) * hw);
    }
    memset(dst + (size_t)channels * (hw + width), 0, sizeof(float) * width);
}

/* One tap's PV input vectors: tap column kj (0, 1, 2) picks the left mask, no mask, or the right mask. */
#define LOAD_TAP(kj, p, src)                                                                         \
    ((kj) == 1 ? _mm512_loadu_ps(src)                                                                \
               : _mm512_maskz_loadu_ps((__mmask16)((kj) == 0 ? ml[p] : mr[p]), (src)))

__attribute__((target("avx512f")))
static void forward_avx512(const float *x, const float *packed, float *y, int images, int C, int O, int H, int W,
                           const uint16_t *left, const uint16_t *right, float *scratch) {
    const int hw = H * W, nv = hw / 16, stride = hw + W;
    for (int i = 0; i < images; i++) {
        pad_image(x + (size_t)i * C * hw, scratch, C, hw, W);
        const float *xi = scratch + W;
        float *yi = y + (size_t)i * O * hw;
        for (int ob = 0; ob < O / OB; ob++) {
            const float *wb = packed + (size_t)ob * C * 9 * OB;
            for (int v0 = 0; v0 < nv; v0 += PV) {
                __m512 acc[OB][PV];
                uint16_t ml[PV], mr[PV];
                for (int p = 0; p < PV; p++) { ml[p] = left[v0 + p]; mr[p] = right[v0 + p]; }
                for (int o = 0; o < OB; o++)
                    for (int p = 0; p < PV; p++) acc[o][p] = _mm512_setzero_ps();
                for (int c = 0; c < C; c++) {
                    const float *xc = xi + (size_t)c * stride + v0 * 16;
                    const float *wc = wb + (size_t)c * 9 * OB;
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            const int t = ki * 3 + kj, offset = (ki - 1) * W + (kj - 1);
                            __m512 xv[PV];
                            for (int p = 0; p < PV; p++) xv[p] = LOAD_TAP(kj, p, xc + p * 16 + offset);
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
                                   int W, const uint16_t *left, const uint16_t *right, float *scratch) {
    const int hw = H * W, nv = hw / 16, stride = hw + W;
    const size_t padded = padded_count(C, hw, W);
    const int block = gradient_block(C, O, hw);
    for (int i0 = 0; i0 < images; i0 += block) {
        int i1 = i0 + block < images ? i0 + block : images;
        for (int i = i0; i < i1; i++)
            pad_image(x + (size_t)i * C * hw, scratch + (size_t)(i - i0) * padded, C, hw, W);
        for (int c = 0; c < C; c++) {
            for (int o0 = 0; o0 < O; o0 += 2) {
                __m512 a0[9], a1[9];
                for (int t = 0; t < 9; t++) { a0[t] = _mm512_setzero_ps(); a1[t] = _mm512_setzero_ps(); }
                for (int i = i0; i < i1; i++) {
                    const float *xc = scratch + (size_t)(i - i0) * padded + W + (size_t)c * stride;
                    const float *d0 = dy + ((size_t)i * O + o0) * hw;
                    const float *d1 = d0 + hw;
                    for (int v = 0; v < nv; v++) {
                        __m512 g0 = _mm512_loadu_ps(d0 + v * 16), g1 = _mm512_loadu_ps(d1 + v * 16);
                        uint16_t ml[1] = {left[v]}, mr[1] = {right[v]};
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                const int t = ki * 3 + kj;
                                __m512 xv = LOAD_TAP(kj, 0, xc + v * 16 + (ki - 1) * W + (kj - 1));
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

/* Mask tables for planes up to 64x64 pixels live on the stack; larger planes do not fit (cconv_fits). */
#define MAX_VECTORS 256

size_t cconv_forward_scratch_count(int channels_in, int height, int width) {
    return padded_count(channels_in, height * width, width);
}

size_t cconv_weight_gradient_scratch_count(int channels_in, int channels_out, int height, int width) {
    int hw = height * width;
    return padded_count(channels_in, hw, width) * (size_t)gradient_block(channels_in, channels_out, hw);
}

void cconv_forward(const float *x, const float *packed, float *y, int images, int channels_in, int channels_out,
                   int height, int width, float *scratch) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !cconv_fits(channels_out, height, width)) abort();
    build_masks(height, width, left, right);
    forward_avx512(x, packed, y, images, channels_in, channels_out, height, width, left, right, scratch);
}

void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width, float *scratch) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !cconv_fits(channels_out, height, width)) abort();
    build_masks(height, width, left, right);
    weight_gradient_avx512(x, dy, dw, images, channels_in, channels_out, height, width, left, right, scratch);
}

#else /* other architectures: no kernels; callers keep their GEMM path */
int cconv_available(void) { return 0; }
size_t cconv_forward_scratch_count(int channels_in, int height, int width) {
    (void)channels_in; (void)height; (void)width;
    return 0;
}
size_t cconv_weight_gradient_scratch_count(int channels_in, int channels_out, int height, int width) {
    (void)channels_in; (void)channels_out; (void)height; (void)width;
    return 0;
}
void cconv_forward(const float *x, const float *packed, float *y, int images, int channels_in, int channels_out,
                   int height, int width, float *scratch) {
    (void)x; (void)packed; (void)y; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch;
    abort();
}
void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width, float *scratch) {
    (void)x; (void)dy; (void)dw; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch;
    abort();
}
#endif
