/*
 * Negacyclic NTT modulo q < 2^50 with AVX-512 IFMA (Lattice's NTT.swift holds the algorithm, the tables and
 * the scalar reference these kernels are tested against). Same transform as NTT.swift: Cooley-Tukey forward,
 * Gentleman-Sande inverse, psi merged (Longa-Naehrig), Harvey's lazy butterflies with values below 4q, outputs
 * fully reduced. Shoup products in 52-bit fixed point: for a < 2^52 and w' = floor(w 2^52 / q),
 * h = floor(a w' / 2^52) (vpmadd52huq) and a w - h q lies in [0, 2q), so its low 52 bits (vpmadd52luq, twice)
 * are the value (the approach of Intel HEXL: Boemer et al., "Intel HEXL", WAHC 2021). Stages whose butterfly
 * runs are shorter than eight words (t = 4, 2, 1) regroup two vectors with two-source permutes.
 */
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int cntt_available(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma") ? 1 : 0;
    return cached;
}

#define NTT_TARGET __attribute__((target("avx512f,avx512ifma"), always_inline)) static inline

/* a w mod q in [0, 2q) for a < 2^52 (w, ws broadcast or per lane). */
NTT_TARGET __m512i mul_shoup(__m512i a, __m512i w, __m512i ws, __m512i q, __m512i mask) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i h = _mm512_madd52hi_epu64(zero, a, ws);
    __m512i r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, a, w), _mm512_madd52lo_epu64(zero, h, q));
    return _mm512_and_si512(r, mask);
}

/* Forward butterfly: X in [0, 4q) -> [0, 2q); T = Y w in [0, 2q); X + T, X - T + 2q in [0, 4q). */
NTT_TARGET void fwd_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws, __m512i q, __m512i q2, __m512i mask) {
    __m512i a = _mm512_min_epu64(*x, _mm512_sub_epi64(*x, q2));
    __m512i t = mul_shoup(*y, w, ws, q, mask);
    *x = _mm512_add_epi64(a, t);
    *y = _mm512_sub_epi64(_mm512_add_epi64(a, q2), t);
}

/* Inverse butterfly: inputs in [0, 2q); X + Y -> [0, 2q); (X - Y + 2q) w -> [0, 2q). */
NTT_TARGET void inv_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws, __m512i q, __m512i q2, __m512i mask) {
    __m512i s = _mm512_add_epi64(*x, *y);
    s = _mm512_min_epu64(s, _mm512_sub_epi64(s, q2));
    __m512i d = _mm512_sub_epi64(_mm512_add_epi64(*x, q2), *y);
    *x = s;
    *y = mul_shoup(d, w, ws, q, mask);
}

/* Lane patterns of the short stages: for run length t in {4, 2, 1}, the two vectors (u = a[16i..], v =
   a[16i+8..]) hold 16 / (2t) butterfly groups; X gathers their first halves, Y their second. */
NTT_TARGET void split(int t, __m512i u, __m512i v, __m512i *x, __m512i *y) {
    __m512i ix, iy;
    if (t == 4) { ix = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11); iy = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15); }
    else if (t == 2) { ix = _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13); iy = _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15); }
    else { ix = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14); iy = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15); }
    *x = _mm512_permutex2var_epi64(u, ix, v);
    *y = _mm512_permutex2var_epi64(u, iy, v);
}

NTT_TARGET void merge(int t, __m512i x, __m512i y, __m512i *u, __m512i *v) {
    __m512i iu, iv;
    if (t == 4) { iu = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11); iv = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15); }
    else if (t == 2) { iu = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11); iv = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15); }
    else { iu = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11); iv = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15); }
    *u = _mm512_permutex2var_epi64(x, iu, y);
    *v = _mm512_permutex2var_epi64(x, iv, y);
}

/* Twiddles of the groups in the vector pair starting at group g of a stage with run t (groups per pair
   16 / (2t)): lane l belongs to group g + l / t. */
NTT_TARGET __m512i twiddles(int t, const uint64_t *w, long g) {
    if (t == 4) return _mm512_setr_epi64((long long)w[g], (long long)w[g], (long long)w[g], (long long)w[g],
                                         (long long)w[g + 1], (long long)w[g + 1], (long long)w[g + 1], (long long)w[g + 1]);
    if (t == 2) return _mm512_setr_epi64((long long)w[g], (long long)w[g], (long long)w[g + 1], (long long)w[g + 1],
                                         (long long)w[g + 2], (long long)w[g + 2], (long long)w[g + 3], (long long)w[g + 3]);
    return _mm512_loadu_si512(w + g);
}

__attribute__((target("avx512f,avx512ifma")))
void cntt_forward(uint64_t *a, long n, uint64_t q64, const uint64_t *w, const uint64_t *ws) {
    const __m512i q = _mm512_set1_epi64((long long)q64), q2 = _mm512_set1_epi64((long long)(2 * q64));
    const __m512i mask = _mm512_set1_epi64((long long)(((uint64_t)1 << 52) - 1));
    long t = n, m = 1;
    for (; m < n; m <<= 1) {
        t >>= 1;
        if (t >= 8) {
            for (long i = 0; i < m; i++) {
                const __m512i wi = _mm512_set1_epi64((long long)w[m + i]), wsi = _mm512_set1_epi64((long long)ws[m + i]);
                uint64_t *x = a + 2 * i * t, *y = x + t;
                for (long j = 0; j < t; j += 8) {
                    __m512i xv = _mm512_loadu_si512(x + j), yv = _mm512_loadu_si512(y + j);
                    fwd_bfly(&xv, &yv, wi, wsi, q, q2, mask);
                    _mm512_storeu_si512(x + j, xv);
                    _mm512_storeu_si512(y + j, yv);
                }
            }
        } else {
            const long per = 16 / (2 * t);   /* groups per pair of vectors */
            for (long p = 0; p < n; p += 16) {
                long g = m + (p / (2 * t));
                __m512i xv, yv;
                split((int)t, _mm512_loadu_si512(a + p), _mm512_loadu_si512(a + p + 8), &xv, &yv);
                fwd_bfly(&xv, &yv, twiddles((int)t, w, g), twiddles((int)t, ws, g), q, q2, mask);
                __m512i u, v;
                merge((int)t, xv, yv, &u, &v);
                if (t == 1) {
                    /* The last stage: reduce to [0, q). */
                    u = _mm512_min_epu64(u, _mm512_sub_epi64(u, q2)); u = _mm512_min_epu64(u, _mm512_sub_epi64(u, q));
                    v = _mm512_min_epu64(v, _mm512_sub_epi64(v, q2)); v = _mm512_min_epu64(v, _mm512_sub_epi64(v, q));
                }
                _mm512_storeu_si512(a + p, u);
                _mm512_storeu_si512(a + p + 8, v);
                (void)per;
            }
        }
    }
}

__attribute__((target("avx512f,avx512ifma")))
void cntt_inverse(uint64_t *a, long n, uint64_t q64, const uint64_t *w, const uint64_t *ws, uint64_t ninv, uint64_t ninvs) {
    const __m512i q = _mm512_set1_epi64((long long)q64), q2 = _mm512_set1_epi64((long long)(2 * q64));
    const __m512i mask = _mm512_set1_epi64((long long)(((uint64_t)1 << 52) - 1));
    long t = 1, m = n;
    for (; m > 1; m >>= 1, t <<= 1) {
        long h = m >> 1;
        if (t < 8) {
            for (long p = 0; p < n; p += 16) {
                long g = h + (p / (2 * t));
                __m512i xv, yv;
                split((int)t, _mm512_loadu_si512(a + p), _mm512_loadu_si512(a + p + 8), &xv, &yv);
                inv_bfly(&xv, &yv, twiddles((int)t, w, g), twiddles((int)t, ws, g), q, q2, mask);
                __m512i u, v;
                merge((int)t, xv, yv, &u, &v);
                _mm512_storeu_si512(a + p, u);
                _mm512_storeu_si512(a + p + 8, v);
            }
        } else {
            for (long i = 0; i < h; i++) {
                const __m512i wi = _mm512_set1_epi64((long long)w[h + i]), wsi = _mm512_set1_epi64((long long)ws[h + i]);
                uint64_t *x = a + 2 * i * t, *y = x + t;
                for (long j = 0; j < t; j += 8) {
                    __m512i xv = _mm512_loadu_si512(x + j), yv = _mm512_loadu_si512(y + j);
                    inv_bfly(&xv, &yv, wi, wsi, q, q2, mask);
                    _mm512_storeu_si512(x + j, xv);
                    _mm512_storeu_si512(y + j, yv);
                }
            }
        }
    }
    const __m512i ni = _mm512_set1_epi64((long long)ninv), nis = _mm512_set1_epi64((long long)ninvs);
    for (long j = 0; j < n; j += 8) {
        __m512i v = mul_shoup(_mm512_loadu_si512(a + j), ni, nis, q, mask);
        v = _mm512_min_epu64(v, _mm512_sub_epi64(v, q));
        _mm512_storeu_si512(a + j, v);
    }
}
#else
int cntt_available(void) { return 0; }
void cntt_forward(uint64_t *a, long n, uint64_t q, const uint64_t *w, const uint64_t *ws) {
    (void)a; (void)n; (void)q; (void)w; (void)ws;
}
void cntt_inverse(uint64_t *a, long n, uint64_t q, const uint64_t *w, const uint64_t *ws, uint64_t ninv, uint64_t ninvs) {
    (void)a; (void)n; (void)q; (void)w; (void)ws; (void)ninv; (void)ninvs;
}
#endif

/*
 * Dot products of ciphertext halves with plaintexts modulo q < 2^50 (Lattice's PolyRq.dotProducts holds the
 * Swift loops): for each coefficient j of one residue row, sum_k x_k[j] y_k[j] and sum_k z_k[j] y_k[j] as
 * radix-2^52 pairs (h, l) with vpmadd52luq/huq: l the sum of the products' low 52 bits, h of their high parts.
 * At most 2^11 terms, so l < 2^63. The accumulators are overwritten.
 */
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512ifma")))
void cdot_ifma(long n, long terms, const uint64_t *const *xs, const uint64_t *const *zs, const uint64_t *const *ys,
               long base, uint64_t *h0, uint64_t *l0, uint64_t *h1, uint64_t *l1) {
    for (long j = 0; j < n; j += 8) {
        __m512i a0 = _mm512_setzero_si512(), b0 = a0, a1 = a0, b1 = a0;
        for (long k = 0; k < terms; k++) {
            __m512i y = _mm512_loadu_si512(ys[k] + base + j);
            __m512i x = _mm512_loadu_si512(xs[k] + base + j), z = _mm512_loadu_si512(zs[k] + base + j);
            a0 = _mm512_madd52lo_epu64(a0, x, y);
            b0 = _mm512_madd52hi_epu64(b0, x, y);
            a1 = _mm512_madd52lo_epu64(a1, z, y);
            b1 = _mm512_madd52hi_epu64(b1, z, y);
        }
        _mm512_storeu_si512(l0 + j, a0);
        _mm512_storeu_si512(h0 + j, b0);
        _mm512_storeu_si512(l1 + j, a1);
        _mm512_storeu_si512(h1 + j, b1);
    }
}
#else
void cdot_ifma(long n, long terms, const uint64_t *const *xs, const uint64_t *const *zs, const uint64_t *const *ys,
               long base, uint64_t *h0, uint64_t *l0, uint64_t *h1, uint64_t *l1) {
    (void)n; (void)terms; (void)xs; (void)zs; (void)ys; (void)base; (void)h0; (void)l0; (void)h1; (void)l1;
}
#endif
