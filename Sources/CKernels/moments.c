/*
 * Per-channel sums and sums of squares of NCHW planes (see include/ckernels.h, cchannel_moments): what training
 * batch norm needs of a convolution's output, gathered by the convolution right after it writes each image,
 * while the image is still in cache, so that batch norm needs no statistics pass of its own.
 * Each plane is summed in float over 16 lanes (at most hw/16 terms per lane: 64 for a 32x32 plane), then in
 * double across lanes, planes and images.
 */
#include "ckernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void moments_plain(const float *y, int channels, int hw, double *sums, double *squares) {
    for (int c = 0; c < channels; c++) {
        const float *p = y + (size_t)c * hw;
        double s = 0, q = 0;
        for (int i = 0; i < hw; i++) { s += p[i]; q += (double)p[i] * p[i]; }
        sums[c] += s;
        squares[c] += q;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static double lanes_sum(__m512 v) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

__attribute__((target("avx512f")))
static void moments_avx512(const float *y, int channels, int hw, double *sums, double *squares) {
    for (int c = 0; c < channels; c++) {
        const float *p = y + (size_t)c * hw;
        __m512 s = _mm512_setzero_ps(), q = _mm512_setzero_ps();
        int i = 0;
        for (; i + 16 <= hw; i += 16) {
            __m512 v = _mm512_loadu_ps(p + i);
            s = _mm512_add_ps(s, v);
            q = _mm512_fmadd_ps(v, v, q);
        }
        double ts = lanes_sum(s), tq = lanes_sum(q);
        for (; i < hw; i++) { ts += p[i]; tq += (double)p[i] * p[i]; }
        sums[c] += ts;
        squares[c] += tq;
    }
}
#endif

void cchannel_moments(const float *y, int channels, int hw, double *sums, double *squares) {
#if defined(__x86_64__)
    if (cconv_available()) { moments_avx512(y, channels, hw, sums, squares); return; }
#endif
    moments_plain(y, channels, hw, sums, squares);
}

void cchannel_moments_plain(const float *y, int channels, int hw, double *sums, double *squares) {
    moments_plain(y, channels, hw, sums, squares);
}
