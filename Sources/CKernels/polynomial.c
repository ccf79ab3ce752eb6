/*
 * Polynomial activations with optional ReLU blending, AVX-512 (see include/ckernels.h): Horner's rule on
 * 16 lanes, the coefficient gradient's power sums held in one register per term across a row, reduced once
 * per row. NaN inputs stay NaN (the clamp and the ReLU keep a NaN operand), so a diverged step still shows
 * as non-finite. Checked against the Swift reference (Reference.blend) in Tests/TensorsTests.
 */
#include "ckernels.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

int cpoly_available(void) { return cconv_available(); }

static inline __mmask16 tail_mask(int i, int inner) {
    int left = inner - i;
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* One row's channel parameters. */
typedef struct { const float *a; float bound, alpha; } row_params;

static row_params params_of(int row, int channels, const float *coefficients, int per_channel, int terms,
                            const float *bounds, const float *alphas, float alpha) {
    int c = row % channels;
    row_params p;
    p.a = coefficients + (per_channel ? (size_t)c * terms : 0);
    p.bound = bounds ? bounds[c] : __builtin_inff();
    p.alpha = alphas ? alphas[c] : alpha;
    return p;
}

__attribute__((target("avx512f")))
static inline __m512 clamp(__m512 raw, __m512 lo, __m512 hi) {
    /* max/min return their second operand when one is NaN: keep raw there. */
    return _mm512_min_ps(hi, _mm512_max_ps(lo, raw));
}

__attribute__((target("avx512f")))
void cpoly_blend_forward(const float *x, float *y, int row0, int rows, int inner, int channels,
                         const float *coefficients, int per_channel, int terms, const float *bounds,
                         const float *alphas, float alpha) {
    if (!cpoly_available() || terms < 1 || terms > CPOLY_MAX_TERMS) abort();
    const __m512 zero = _mm512_setzero_ps();
    for (int r = row0; r < row0 + rows; r++) {
        row_params p = params_of(r, channels, coefficients, per_channel, terms, bounds, alphas, alpha);
        __m512 coef[CPOLY_MAX_TERMS];
        for (int k = 0; k < terms; k++) coef[k] = _mm512_set1_ps(p.a[k]);
        const __m512 hi = _mm512_set1_ps(p.bound), lo = _mm512_set1_ps(-p.bound);
        const __m512 va = _mm512_set1_ps(p.alpha), vbeta = _mm512_set1_ps(1.0f - p.alpha);
        const float *xr = x + (size_t)r * inner;
        float *yr = y + (size_t)r * inner;
        for (int i = 0; i < inner; i += 16) {
            __mmask16 m = tail_mask(i, inner);
            __m512 raw = _mm512_maskz_loadu_ps(m, xr + i), v = clamp(raw, lo, hi);
            __m512 acc = coef[terms - 1];
            for (int k = terms - 2; k >= 0; k--) acc = _mm512_fmadd_ps(acc, v, coef[k]);
            __m512 out = _mm512_add_ps(_mm512_mul_ps(va, _mm512_max_ps(zero, raw)), _mm512_mul_ps(vbeta, acc));
            _mm512_mask_storeu_ps(yr + i, m, out);
        }
    }
}

__attribute__((target("avx512f")))
void cpoly_blend_backward(const float *x, const float *dy, float *dx, float *partial, int row0, int rows,
                          int inner, int channels, const float *coefficients, int per_channel, int terms,
                          const float *bounds, const float *alphas, float alpha) {
    if (!cpoly_available() || terms < 1 || terms > CPOLY_MAX_TERMS) abort();
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    for (int r = row0; r < row0 + rows; r++) {
        row_params p = params_of(r, channels, coefficients, per_channel, terms, bounds, alphas, alpha);
        __m512 dcoef[CPOLY_MAX_TERMS], sums[CPOLY_MAX_TERMS];
        for (int k = 0; k < terms; k++) {
            dcoef[k] = _mm512_set1_ps((float)k * p.a[k]);
            sums[k] = zero;
        }
        const __m512 hi = _mm512_set1_ps(p.bound), lo = _mm512_set1_ps(-p.bound);
        const __m512 va = _mm512_set1_ps(p.alpha), vbeta = _mm512_set1_ps(1.0f - p.alpha);
        const float *xr = x + (size_t)r * inner, *gr = dy + (size_t)r * inner;
        float *dxr = dx ? dx + (size_t)r * inner : NULL;
        for (int i = 0; i < inner; i += 16) {
            __mmask16 m = tail_mask(i, inner);
            __m512 raw = _mm512_maskz_loadu_ps(m, xr + i), g = _mm512_maskz_loadu_ps(m, gr + i);
            __m512 v = clamp(raw, lo, hi), power = one;
            for (int k = 0; k < terms; k++) {
                sums[k] = _mm512_fmadd_ps(g, power, sums[k]);
                power = _mm512_mul_ps(power, v);
            }
            if (dxr) {
                __m512 der = zero;  /* p'(v) by Horner on k * a_k */
                if (terms >= 2) {
                    der = dcoef[terms - 1];
                    for (int k = terms - 2; k >= 1; k--) der = _mm512_fmadd_ps(der, v, dcoef[k]);
                }
                __mmask16 inside = _mm512_cmp_ps_mask(_mm512_abs_ps(raw), hi, _CMP_LE_OQ);
                __mmask16 positive = _mm512_cmp_ps_mask(raw, zero, _CMP_GT_OQ);
                __m512 slope = _mm512_maskz_mov_ps(inside, _mm512_mul_ps(vbeta, der));
                slope = _mm512_mask_add_ps(slope, positive, slope, va);
                _mm512_mask_storeu_ps(dxr + i, m, _mm512_mul_ps(g, slope));
            }
        }
        float *out = partial + (size_t)(r - row0) * terms;
        for (int k = 0; k < terms; k++) out[k] = (1.0f - p.alpha) * _mm512_reduce_add_ps(sums[k]);
    }
}

#else /* other architectures: the Swift loops run instead */
int cpoly_available(void) { return 0; }
void cpoly_blend_forward(const float *x, float *y, int row0, int rows, int inner, int channels,
                         const float *coefficients, int per_channel, int terms, const float *bounds,
                         const float *alphas, float alpha) {
    (void)x; (void)y; (void)row0; (void)rows; (void)inner; (void)channels; (void)coefficients;
    (void)per_channel; (void)terms; (void)bounds; (void)alphas; (void)alpha;
    abort();
}
void cpoly_blend_backward(const float *x, const float *dy, float *dx, float *partial, int row0, int rows,
                          int inner, int channels, const float *coefficients, int per_channel, int terms,
                          const float *bounds, const float *alphas, float alpha) {
    (void)x; (void)dy; (void)dx; (void)partial; (void)row0; (void)rows; (void)inner; (void)channels;
    (void)coefficients; (void)per_channel; (void)terms; (void)bounds; (void)alphas; (void)alpha;
    abort();
}
#endif
