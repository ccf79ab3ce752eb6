/*
 * Direct 3x3 stride-1 "same" convolutions for NCHW float32 (training) and float64 (the exact fixed-point
 * evaluator), AVX-512 (see include/ckernels.h).
 *
 * A plane of H*W pixels is read as H*W/L vectors of L consecutive pixels (L = 16 floats or 8 doubles: whole
 * rows, or several short rows when W < L). Tap (ki, kj) of output vector v reads the L inputs starting at
 * v*L + (ki-1)*W + (kj-1), with lane masks that zero pixels whose source column falls outside the plane (left
 * and right taps) or whose source row does (the plane's first and last rows): masked-off lanes are never read
 * (AVX-512 masked loads suppress their faults), so the kernels read the planes in place, no im2col copy and no
 * padded copy. The masks depend on the row width only; for the widths a block's vectors tile by whole rows (or
 * whole vectors by rows) they are compile-time constants in mask registers. Other widths (rows of 1-4 floats in
 * the weight gradient, rows of 64 doubles) read a copy of the plane with a zero row above and below and take
 * their masks from tables.
 *
 * Forward (conv3x3_forward.h, once per element type): register block of OB output channels x PV pixel
 * vectors (OB*PV accumulators); per input channel and tap, PV loads and OB weight broadcasts feed OB*PV FMAs.
 * Weight gradient (float): for one input channel and two output channels, 18 accumulators (2 x 9 taps)
 * summed over a block of images sized to stay in L2, then reduced horizontally; the row kernels walk down the
 * rows and reuse each x vector for three tap rows. Where C is a multiple of 32 the weight gradient instead puts
 * input channels in the lanes (x transposed per image; see weight_gradient_lanes).
 * The adjoint (input gradient) is the forward kernel run on dy with flipped, transposed weights.
 */
#include "ckernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define OB CCONV_CHANNEL_BLOCK  /* output channels per forward register block */
#define PV 4  /* pixel vectors per forward register block */
/* Mask tables for planes up to 64x64 pixels live on the stack; larger planes do not fit. */
#define MAX_VECTORS 512

#if defined(__x86_64__)
int cconv_available(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}
#else
int cconv_available(void) { return 0; }
#endif

size_t cconv_packed_count(int channels_out, int channels_in) {
    return (size_t)channels_out * (size_t)channels_in * 9;
}

/* Elements of one padded image of C planes. */
static size_t padded_count(int channels, int hw, int width) { return (size_t)channels * (hw + width) + width; }

/* src [C][hw] -> dst: plane c starts at dst + c*(hw + W) + W, zeros between planes and after the last
   (elements of `size` bytes). */
static void pad_image(const void *src, void *dst, int channels, int hw, int width, size_t size) {
    const char *from = src;
    char *to = dst;
    for (int c = 0; c < channels; c++) {
        char *slot = to + (size_t)c * (hw + width) * size;
        memset(slot, 0, size * width);
        memcpy(slot + size * width, from + (size_t)c * hw * size, size * hw);
    }
    memset(to + (size_t)channels * (hw + width) * size, 0, size * width);
}

/* For vectors of `lanes` pixels: left[v] clears the lanes at column 0, right[v] those at column W-1. */
static void build_masks(int height, int width, int lanes, uint16_t *left, uint16_t *right) {
    int nv = height * width / lanes;
    for (int v = 0; v < nv; v++) {
        uint16_t l = (uint16_t)((1u << lanes) - 1), r = l;
        for (int lane = 0; lane < lanes; lane++) {
            int col = (v * lanes + lane) % width;
            if (col == 0) l &= (uint16_t)~(1u << lane);
            if (col == width - 1) r &= (uint16_t)~(1u << lane);
        }
        left[v] = l;
        right[v] = r;
    }
}

/* The forward kernel, its shape check, weight packing and scratch size, once per element type. */
#define CK_TYPE float
#define CK_LANES 16
#define CK_NAME(x) cconv_##x
#include "conv3x3_forward.h"
#undef CK_TYPE
#undef CK_LANES
#undef CK_NAME

#define CK_TYPE double
#define CK_LANES 8
#define CK_NAME(x) cdconv_##x
#include "conv3x3_forward.h"
#undef CK_TYPE
#undef CK_LANES
#undef CK_NAME

#if defined(__x86_64__)
/* Images per weight-gradient block: the block's x and dy planes stay within about 512 KiB (L2). */
static int gradient_block(int channels_in, int channels_out, int hw) {
    int block = (int)(131072 / ((size_t)(channels_in + channels_out) * hw));
    return block < 1 ? 1 : block;
}

/*
 * Rows of fewer than 8 pixels (several rows per vector): per dy vector and pair of output channels, 9 tap loads of
 * a padded copy of x (zero rows above and below) feed 18 FMAs. With W < 16 every vector has the same left and
 * right masks, which stay in mask registers.
 */
__attribute__((target("avx512f")))
static void weight_gradient_block(const float *scratch, const float *dy, float *dw, int i0, int i1, int c, int o0,
                                  int C, int O, int hw, int W, size_t padded, __mmask16 left, __mmask16 right) {
    const int nv = hw / 16, stride = hw + W;
    __m512 a0[9], a1[9];
    for (int t = 0; t < 9; t++) { a0[t] = _mm512_setzero_ps(); a1[t] = _mm512_setzero_ps(); }
    for (int i = i0; i < i1; i++) {
        const float *xc = scratch + (size_t)(i - i0) * padded + W + (size_t)c * stride;
        const float *d0 = dy + ((size_t)i * O + o0) * hw;
        const float *d1 = d0 + hw;
        for (int v = 0; v < nv; v++) {
            __m512 g0 = _mm512_loadu_ps(d0 + v * 16), g1 = _mm512_loadu_ps(d1 + v * 16);
            for (int ki = 0; ki < 3; ki++)
                for (int kj = 0; kj < 3; kj++) {
                    const int t = ki * 3 + kj;
                    const float *src = xc + v * 16 + (ki - 1) * W + (kj - 1);
                    __m512 xv = kj == 1 ? _mm512_loadu_ps(src) : _mm512_maskz_loadu_ps(kj == 0 ? left : right, src);
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

/*
 * The same sums read the other way round, for rows of 16, 32 or 64 pixels (P = W/16 vectors per row): tap row ki
 * of dy vector v reads x vector u = v + (ki-1)P, so each x vector u (three loads, one per tap column) serves dy
 * vectors u+P, u and u-P (tap rows 0, 1, 2). The loop runs down the rows of one column part q (u = r*P + q) and
 * keeps the dy vectors of rows r-1, r and r+1 in registers: per x vector 3 + 2 loads feed 18 FMAs (the block
 * above needs 11 loads for them, 6 of them across cache lines). Rows -1 and H of x (zeros) are never read, so
 * this reads the planes in place, no padded copy. The masks are constants: only column part 0 holds a row's
 * first pixel, only part P-1 its last (masked-off lanes are never read, so the plane's ends need no care).
 */
__attribute__((target("avx512f"), always_inline))
static inline void weight_gradient_rows(const float *x, const float *dy, float *dw, int i0, int i1, int c,
                                        int o0, int C, int O, int H, const int P) {
    const int W = 16 * P, hw = H * W;
    const __mmask16 first = (__mmask16)0xFFFE, last = (__mmask16)0x7FFF;
    __m512 a0[9], a1[9];
    for (int t = 0; t < 9; t++) { a0[t] = _mm512_setzero_ps(); a1[t] = _mm512_setzero_ps(); }
    for (int i = i0; i < i1; i++) {
        const float *xc = x + ((size_t)i * C + c) * hw;
        const float *d0 = dy + ((size_t)i * O + o0) * hw, *d1 = d0 + hw;
        for (int q = 0; q < P; q++) {
            __m512 p0 = _mm512_setzero_ps(), p1 = p0;  /* dy of row r-1 (none for r = 0) */
            __m512 c0 = _mm512_loadu_ps(d0 + q * 16), c1 = _mm512_loadu_ps(d1 + q * 16);
            for (int r = 0; r < H; r++) {
                const float *xu = xc + (r * P + q) * 16;
                __m512 x[3];
                x[0] = q == 0 ? _mm512_maskz_loadu_ps(first, xu - 1) : _mm512_loadu_ps(xu - 1);
                x[1] = _mm512_loadu_ps(xu);
                x[2] = q == P - 1 ? _mm512_maskz_loadu_ps(last, xu + 1) : _mm512_loadu_ps(xu + 1);
                __m512 n0 = p0, n1 = p1;
                for (int kj = 0; kj < 3; kj++) {
                    a0[3 + kj] = _mm512_fmadd_ps(c0, x[kj], a0[3 + kj]);
                    a1[3 + kj] = _mm512_fmadd_ps(c1, x[kj], a1[3 + kj]);
                }
                if (r + 1 < H) {
                    n0 = _mm512_loadu_ps(d0 + ((r + 1) * P + q) * 16);
                    n1 = _mm512_loadu_ps(d1 + ((r + 1) * P + q) * 16);
                    for (int kj = 0; kj < 3; kj++) {
                        a0[kj] = _mm512_fmadd_ps(n0, x[kj], a0[kj]);
                        a1[kj] = _mm512_fmadd_ps(n1, x[kj], a1[kj]);
                    }
                }
                if (r > 0)
                    for (int kj = 0; kj < 3; kj++) {
                        a0[6 + kj] = _mm512_fmadd_ps(p0, x[kj], a0[6 + kj]);
                        a1[6 + kj] = _mm512_fmadd_ps(p1, x[kj], a1[6 + kj]);
                    }
                p0 = c0; p1 = c1; c0 = n0; c1 = n1;
            }
        }
    }
    float *w0 = dw + ((size_t)o0 * C + c) * 9, *w1 = dw + ((size_t)(o0 + 1) * C + c) * 9;
    for (int t = 0; t < 9; t++) {
        w0[t] += _mm512_reduce_add_ps(a0[t]);
        w1[t] += _mm512_reduce_add_ps(a1[t]);
    }
}

/*
 * Rows of 8 pixels (two rows per vector): tap row ki of dy vector v reads x at v*16 + 8(ki-1), whole vectors for
 * ki = 1 and half-vector steps otherwise. The x vector at v*16 + 8 (rows 2v+1 and 2v+2) serves tap row 2 of v and
 * tap row 0 of v+1, so per dy vector 6 + 2 loads feed 18 FMAs; only v = 0's tap row 0 needs its own loads (its
 * lower half, row 0). The planes are read in place: the lanes of rows -1 and H are masked off, as are the
 * first and last columns.
 */
__attribute__((target("avx512f")))
static void weight_gradient_rows8(const float *x, const float *dy, float *dw, int i0, int i1, int c, int o0,
                                  int C, int O, int H) {
    const int W = 8, hw = H * W, nv = hw / 16;
    const __mmask16 masks[3] = {(__mmask16)0xFEFE, (__mmask16)0xFFFF, (__mmask16)0x7F7F};
    __m512 a0[9], a1[9];
    for (int t = 0; t < 9; t++) { a0[t] = _mm512_setzero_ps(); a1[t] = _mm512_setzero_ps(); }
    for (int i = i0; i < i1; i++) {
        const float *xc = x + ((size_t)i * C + c) * hw;
        const float *d0 = dy + ((size_t)i * O + o0) * hw, *d1 = d0 + hw;
        __m512 c0 = _mm512_loadu_ps(d0), c1 = _mm512_loadu_ps(d1);
        for (int kj = 0; kj < 3; kj++) {
            __m512 x = _mm512_maskz_loadu_ps(masks[kj] & 0xFF00, xc - W + kj - 1);
            a0[kj] = _mm512_fmadd_ps(c0, x, a0[kj]);
            a1[kj] = _mm512_fmadd_ps(c1, x, a1[kj]);
        }
        for (int v = 0; v < nv; v++) {
            const float *xv = xc + v * 16;
            __m512 n0 = c0, n1 = c1;
            if (v + 1 < nv) { n0 = _mm512_loadu_ps(d0 + (v + 1) * 16); n1 = _mm512_loadu_ps(d1 + (v + 1) * 16); }
            for (int kj = 0; kj < 3; kj++) {
                __m512 x = _mm512_maskz_loadu_ps(masks[kj], xv + kj - 1);
                a0[3 + kj] = _mm512_fmadd_ps(c0, x, a0[3 + kj]);
                a1[3 + kj] = _mm512_fmadd_ps(c1, x, a1[3 + kj]);
                __m512 y = _mm512_maskz_loadu_ps(v + 1 < nv ? masks[kj] : masks[kj] & 0x00FF, xv + W + kj - 1);
                a0[6 + kj] = _mm512_fmadd_ps(c0, y, a0[6 + kj]);
                a1[6 + kj] = _mm512_fmadd_ps(c1, y, a1[6 + kj]);
                if (v + 1 < nv) {
                    a0[kj] = _mm512_fmadd_ps(n0, y, a0[kj]);
                    a1[kj] = _mm512_fmadd_ps(n1, y, a1[kj]);
                }
            }
            c0 = n0; c1 = n1;
        }
    }
    float *w0 = dw + ((size_t)o0 * C + c) * 9, *w1 = dw + ((size_t)(o0 + 1) * C + c) * 9;
    for (int t = 0; t < 9; t++) {
        w0[t] += _mm512_reduce_add_ps(a0[t]);
        w1[t] += _mm512_reduce_add_ps(a1[t]);
    }
}

/*
 * The weight gradient with input channels in the vector lanes (C a multiple of 32): x of one image is transposed to
 * pixel-major (xt[q][c]); per tap (ki, kj), group of CV vectors of input channels (CV = 4, 2 or 1: 64, 32 or 16
 * channels) and block of OBn output channels (OBn * CV <= 24 accumulators), over the output pixels whose tap falls
 * inside the plane (a rectangle, so no masks), CV aligned x vectors and OBn dy broadcasts feed CV*OBn FMAs. The
 * sums live in a [tap][o][c] buffer (lanes are channels: no horizontal reductions) and go into dw at the end.
 */
static int lanes_group(int C) { return C % 64 == 0 ? 4 : C % 32 == 0 ? 2 : C % 16 == 0 ? 1 : 0; }  /* vectors of 16 */

/* Where it beats the row kernels (measured on ResNet's layers: 8x8x64 102 -> 180 GFLOP/s, 16x16x32 138 -> 150; with
   16 channels, one vector per pixel, the broadcasts dominate: 32x32x16 142 -> 65). */
static int gradient_in_lanes(int C) { return lanes_group(C) >= 2; }

__attribute__((target("avx512f"), always_inline))
static inline void gradient_lanes_block(const float *xt, const float *dyi, float *acc, int C, int O, int c0, int H,
                                        int W, int ki, int kj, int o0, const int CV, const int OBn) {
    const int hw = H * W, t = ki * 3 + kj;
    float *ab = acc + ((size_t)t * O + o0) * C + c0;
    __m512 a[24][4];
    for (int o = 0; o < OBn; o++)
        for (int k = 0; k < CV; k++) a[o][k] = _mm512_loadu_ps(ab + (size_t)o * C + 16 * k);
    const int y0 = ki == 0, y1 = ki == 2 ? H - 1 : H, x0 = kj == 0, x1 = kj == 2 ? W - 1 : W;
    for (int oy = y0; oy < y1; oy++)
        for (int ox = x0; ox < x1; ox++) {
            const float *xq = xt + ((size_t)(oy + ki - 1) * W + (ox + kj - 1)) * C + c0;
            __m512 xv[4];
            for (int k = 0; k < CV; k++) xv[k] = _mm512_loadu_ps(xq + 16 * k);
            const float *d = dyi + (size_t)o0 * hw + oy * W + ox;
            for (int o = 0; o < OBn; o++) {
                __m512 b = _mm512_set1_ps(d[(size_t)o * hw]);
                for (int k = 0; k < CV; k++) a[o][k] = _mm512_fmadd_ps(b, xv[k], a[o][k]);
            }
        }
    for (int o = 0; o < OBn; o++)
        for (int k = 0; k < CV; k++) _mm512_storeu_ps(ab + (size_t)o * C + 16 * k, a[o][k]);
}

/* Output-channel blocks of 24/CV (the last one shorter: O is a multiple of 4). */
#define LANES_BLOCKS(CV)                                                                                       \
    for (int o0 = 0; o0 < O; o0 += 24 / (CV)) {                                                               \
        switch (O - o0 >= 24 / (CV) ? 24 / (CV) : O - o0) {                                                    \
        case 24: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 24); break;                \
        case 20: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 20); break;                \
        case 16: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 16); break;                \
        case 12: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 12); break;                \
        case 8: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 8); break;                  \
        case 6: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 6); break;                  \
        case 4: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 4); break;                  \
        default: gradient_lanes_block(xt, dyi, acc, C, O, c0, H, W, ki, kj, o0, CV, 2); break;                 \
        }                                                                                                      \
    }

__attribute__((target("avx512f")))
static void weight_gradient_lanes(const float *x, const float *dy, float *dw, int images, int C, int O, int H, int W,
                                  float *scratch) {
    const int hw = H * W, CV = lanes_group(C);
    float *xt = scratch, *acc = scratch + (size_t)hw * C;
    memset(acc, 0, sizeof(float) * 9 * (size_t)O * C);
    for (int i = 0; i < images; i++) {
        const float *xi = x + (size_t)i * C * hw, *dyi = dy + (size_t)i * O * hw;
        for (int c = 0; c < C; c++)
            for (int q = 0; q < hw; q++) xt[(size_t)q * C + c] = xi[(size_t)c * hw + q];
        for (int c0 = 0; c0 < C; c0 += 16 * CV)
            for (int t = 0; t < 9; t++) {
                const int ki = t / 3, kj = t % 3;
                if (CV == 4) { LANES_BLOCKS(4) }
                else if (CV == 2) { LANES_BLOCKS(2) }
                else { LANES_BLOCKS(1) }
            }
    }
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++) dw[((size_t)o * C + c) * 9 + t] += acc[((size_t)t * O + o) * C + c];
}
#undef LANES_BLOCKS

__attribute__((target("avx512f")))
static void weight_gradient_avx512(const float *x, const float *dy, float *dw, int images, int C, int O, int H,
                                   int W, const uint16_t *left, const uint16_t *right, float *scratch) {
    if (gradient_in_lanes(C)) {
        weight_gradient_lanes(x, dy, dw, images, C, O, H, W, scratch);
        return;
    }
    const int hw = H * W;
    const size_t padded = padded_count(C, hw, W);
    const int block = gradient_block(C, O, hw);
    for (int i0 = 0; i0 < images; i0 += block) {
        int i1 = i0 + block < images ? i0 + block : images;
        if (W < 8)  /* rows of 1-4 pixels: the block kernel, on padded copies */
            for (int i = i0; i < i1; i++)
                pad_image(x + (size_t)i * C * hw, scratch + (size_t)(i - i0) * padded, C, hw, W, sizeof(float));
        for (int c = 0; c < C; c++)
            for (int o0 = 0; o0 < O; o0 += 2) {
                if (W == 8)
                    weight_gradient_rows8(x, dy, dw, i0, i1, c, o0, C, O, H);
                else if (W == 16)
                    weight_gradient_rows(x, dy, dw, i0, i1, c, o0, C, O, H, 1);
                else if (W == 32)
                    weight_gradient_rows(x, dy, dw, i0, i1, c, o0, C, O, H, 2);
                else if (W == 64)
                    weight_gradient_rows(x, dy, dw, i0, i1, c, o0, C, O, H, 4);
                else
                    weight_gradient_block(scratch, dy, dw, i0, i1, c, o0, C, O, hw, W, padded, left[0], right[0]);
            }
    }
}

size_t cconv_weight_gradient_scratch_count(int channels_in, int channels_out, int height, int width) {
    int hw = height * width;
    if (gradient_in_lanes(channels_in)) return (size_t)hw * channels_in + 9 * (size_t)channels_out * channels_in;
    if (width >= 8) return 0;  /* the row kernels read x in place */
    return padded_count(channels_in, hw, width) * (size_t)gradient_block(channels_in, channels_out, hw);
}

void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width, float *scratch) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !cconv_fits(channels_out, height, width)) abort();
    if (width < 8) build_masks(height, width, 16, left, right);  /* the row kernels' masks are constants */
    weight_gradient_avx512(x, dy, dw, images, channels_in, channels_out, height, width, left, right, scratch);
}

#else /* other architectures: no kernels; callers keep their GEMM path */
size_t cconv_weight_gradient_scratch_count(int channels_in, int channels_out, int height, int width) {
    (void)channels_in; (void)channels_out; (void)height; (void)width;
    return 0;
}
void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width, float *scratch) {
    (void)x; (void)dy; (void)dw; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch;
    abort();
}
#endif
