/*
 * The one-round polynomial's online loops in residues (see include/ckernels.h; TwoParty's
 * OneRoundPolynomial.swift holds the protocol and the Swift reference these are tested against).
 *
 * Products modulo t < 2^50 of operands below t: the quotient q = floor(a b / t) estimated in double
 * precision is off by at most one (a b / t < 2^50, relative error below 2^-51), and the remainder a b - q t,
 * computed modulo 2^64, lies in (-t, 2t): one correction each way. A 64-bit x modulo t the same way (x
 * rounds to 53 bits: the estimate is still within one of floor(x / t) for t >= 2^14, which ResidueSystem
 * requires). AVX-512 (F, DQ) runs eight
 * elements at once where the CPU has it; the scalar loops are the same arithmetic.
 */
#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

static inline uint64_t fix(int64_t r, uint64_t t) {
    r += (r >> 63) & (int64_t)t;
    r -= (int64_t)t;
    r += (r >> 63) & (int64_t)t;
    return (uint64_t)r;
}

static inline uint64_t mulmod(uint64_t a, uint64_t b, uint64_t t, double tinv) {
    uint64_t q = (uint64_t)((double)a * (double)b * tinv);
    return fix((int64_t)(a * b - q * t), t);
}

static inline uint64_t reduce64(uint64_t x, uint64_t t, double tinv) {
    uint64_t q = (uint64_t)((double)x * tinv);
    return fix((int64_t)(x - q * t), t);
}

static inline uint64_t addmod(uint64_t a, uint64_t b, uint64_t t) {
    uint64_t s = a + b;
    return s >= t ? s - t : s;
}

static inline uint64_t submod(uint64_t a, uint64_t b, uint64_t t) {
    return a >= b ? a - b : a + t - b;
}

/* Bit packing, least-significant bit first: `count` values of `width` bits from bit `at`. */
static size_t pack(uint64_t *words, size_t at, const uint64_t *values, long count, int width) {
    for (long k = 0; k < count; k++, at += (size_t)width) {
        size_t w = at >> 6;
        int o = (int)(at & 63);
        words[w] |= values[k] << o;
        if (o + width > 64) words[w + 1] |= values[k] >> (64 - o);
    }
    return at;
}

/* Unpacking; returns -1 or the index of the first value not below t. The caller checked the length. */
static long unpack(const uint8_t *bytes, long nbytes, size_t at, uint64_t *values, long count, int width, uint64_t t) {
    const uint64_t mask = width == 64 ? ~(uint64_t)0 : (((uint64_t)1 << width) - 1);
    long bad = -1;
    for (long k = 0; k < count; k++, at += (size_t)width) {
        size_t first = at >> 3;
        int o = (int)(at & 7);
        uint64_t lo = 0;
        uint8_t hi = 0;
        size_t avail = (size_t)nbytes - first;
        if (avail >= 9) {
            memcpy(&lo, bytes + first, 8);
            hi = bytes[first + 8];
        } else {
            uint8_t tmp[9] = {0};
            memcpy(tmp, bytes + first, avail < 9 ? avail : 9);
            memcpy(&lo, tmp, 8);
            hi = tmp[8];
        }
        uint64_t v = ((lo >> o) | (o ? (uint64_t)hi << (64 - o) : 0)) & mask;
        if (v >= t && bad < 0) bad = k;
        values[k] = v;
    }
    return bad;
}

/* Server, elements [from, to) of one channel and one prime: e rows e[(i-1)*n + k], sums[k]. */
static void server_scalar(long from, long to, long n, int d, uint64_t t, double tinv, const uint64_t *x,
                          const uint64_t *g, const uint64_t *masks, const uint64_t *shares, uint64_t *e, uint64_t *sums) {
    uint64_t two64 = (uint64_t)(((u128)1 << 64) % t);
    uint64_t powers[8];
    for (long k = from; k < to; k++) {
        uint64_t s = submod(reduce64(x[k], t, tinv), two64, t);
        powers[0] = 1;
        for (int m = 1; m <= d; m++) powers[m] = mulmod(powers[m - 1], s, t, tinv);
        for (int i = 0; i <= d; i++) {
            const uint64_t *row = g + i * (d + 1);
            uint64_t h = row[0];
            for (int m = 1; m <= d - i; m++) h = addmod(h, mulmod(powers[m], row[m], t, tinv), t);
            if (i == 0) sums[k] = addmod(h, shares[k], t);
            else e[(long)(i - 1) * n + k] = submod(h, masks[(long)(i - 1) * n + k], t);
        }
    }
}

/* Client, elements [from, to) of one prime: tau[k] = shares[k] + sum_i powers[i-1][k] e[i-1][k]. */
static void client_scalar(long from, long to, long n, int d, uint64_t t, double tinv, const uint64_t *powers,
                          const uint64_t *shares, const uint64_t *e, uint64_t *tau) {
    for (long k = from; k < to; k++) {
        uint64_t sum = shares[k];
        for (int i = 1; i <= d; i++) sum = addmod(sum, mulmod(powers[(long)(i - 1) * n + k], e[(long)(i - 1) * n + k], t, tinv), t);
        tau[k] = sum;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

static int avx512_available(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? 1 : 0;
    return cached;
}

__attribute__((target("avx512f,avx512dq"), always_inline))
static inline __m512i fix8(__m512i r, __m512i t) {
    const __m512i zero = _mm512_setzero_si512();
    r = _mm512_mask_add_epi64(r, _mm512_cmplt_epi64_mask(r, zero), r, t);
    return _mm512_mask_sub_epi64(r, _mm512_cmpge_epi64_mask(r, t), r, t);
}

__attribute__((target("avx512f,avx512dq"), always_inline))
static inline __m512i mulmod8(__m512i a, __m512i b, __m512i t, __m512d tinv) {
    __m512d p = _mm512_mul_pd(_mm512_cvtepu64_pd(a), _mm512_cvtepu64_pd(b));
    __m512i q = _mm512_cvttpd_epu64(_mm512_mul_pd(p, tinv));
    return fix8(_mm512_sub_epi64(_mm512_mullo_epi64(a, b), _mm512_mullo_epi64(q, t)), t);
}

__attribute__((target("avx512f,avx512dq"), always_inline))
static inline __m512i addmod8(__m512i a, __m512i b, __m512i t) {
    __m512i s = _mm512_add_epi64(a, b);
    return _mm512_mask_sub_epi64(s, _mm512_cmpge_epu64_mask(s, t), s, t);
}

__attribute__((target("avx512f,avx512dq"), always_inline))
static inline __m512i submod8(__m512i a, __m512i b, __m512i t) {
    __m512i s = _mm512_sub_epi64(a, b);
    return _mm512_mask_add_epi64(s, _mm512_cmplt_epu64_mask(a, b), s, t);
}

/* S = x - 2^64 modulo t for eight shares x (the quotient estimated in double precision, as reduce64). */
__attribute__((target("avx512f,avx512dq"), always_inline))
static inline __m512i lifted8(__m512i x, __m512i t, __m512d tinv, __m512i two64) {
    __m512i q = _mm512_cvttpd_epu64(_mm512_mul_pd(_mm512_cvtepu64_pd(x), tinv));
    return submod8(fix8(_mm512_sub_epi64(x, _mm512_mullo_epi64(q, t)), t), two64, t);
}

/* H_0 joins the server's share (sums), H_i (i >= 1) leaves masked (e). */
__attribute__((target("avx512f,avx512dq"), always_inline))
static inline void store_h(int i, long n, long k, __m512i h, __m512i t, const uint64_t *masks, const uint64_t *shares,
                           uint64_t *e, uint64_t *sums) {
    if (i == 0) {
        _mm512_storeu_si512(sums + k, addmod8(h, _mm512_loadu_si512(shares + k), t));
    } else {
        long at = (long)(i - 1) * n + k;
        _mm512_storeu_si512(e + at, submod8(h, _mm512_loadu_si512(masks + at), t));
    }
}

static int vbmi_available(void) {
    static int cached = -1;
    if (cached < 0) cached = avx512_available() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") ? 1 : 0;
    return cached;
}

static int ifma_available(void) {
    static int cached = -1;
    if (cached < 0) cached = avx512_available() && __builtin_cpu_supports("avx512ifma") ? 1 : 0;
    return cached;
}

/* Montgomery products in radix 2^52 (AVX-512 IFMA) modulo t < 2^50: for a, b < 2t with a b < t 2^52,
   mont(a, b) = a b 2^-52 mod t in [0, 2t): l + 2^52 h = a b, m = l (-t^-1) mod 2^52, and
   (a b + m t) / 2^52 = h + hi(m t) + [l != 0] (l + lo(m t) is 0 or 2^52). */
static uint64_t montgomery_inverse(uint64_t t) {
    uint64_t inv = t;                                  /* t inv = 1 mod 2^3 for odd t; Newton doubles the bits */
    for (int i = 0; i < 5; i++) inv *= 2 - t * inv;
    return (0 - inv) & (((uint64_t)1 << 52) - 1);      /* -t^-1 mod 2^52 */
}

__attribute__((target("avx512f,avx512dq,avx512ifma"), always_inline))
static inline __m512i mont8(__m512i a, __m512i b, __m512i t, __m512i tneg) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i l = _mm512_madd52lo_epu64(zero, a, b), h = _mm512_madd52hi_epu64(zero, a, b);
    __m512i m = _mm512_madd52lo_epu64(zero, l, tneg);
    h = _mm512_madd52hi_epu64(h, m, t);
    return _mm512_mask_add_epi64(h, _mm512_test_epi64_mask(l, l), h, _mm512_set1_epi64(1));
}

/* v < 16 t to [0, t). */
__attribute__((target("avx512f"), always_inline))
static inline __m512i reduce16(__m512i v, __m512i t) {
    v = _mm512_min_epu64(v, _mm512_sub_epi64(v, _mm512_slli_epi64(t, 3)));
    v = _mm512_min_epu64(v, _mm512_sub_epi64(v, _mm512_slli_epi64(t, 2)));
    v = _mm512_min_epu64(v, _mm512_sub_epi64(v, _mm512_slli_epi64(t, 1)));
    return _mm512_min_epu64(v, _mm512_sub_epi64(v, t));
}

/* R^2 mod t for R = 2^52. */
static uint64_t montgomery_r2(uint64_t t) {
    uint64_t r = (uint64_t)(((u128)1 << 52) % t);
    return (uint64_t)(((u128)r * r) % t);
}

/* The server with Montgomery powers of S: P~1 = mont(s, R^2) = s R, P~m = mont(P~(m-1), P~1) = s^m R, and
   mont(gamma, P~m) = gamma s^m; each H_i a sum of at most six of them (< 2t each) and gamma_i0 < t: below
   13 t, reduced once. */
__attribute__((target("avx512f,avx512dq,avx512ifma")))
static long server_ifma(long from, long to, long n, int d, uint64_t t64, double tinv64, const uint64_t *x,
                        const uint64_t *g, const uint64_t *masks, const uint64_t *shares, uint64_t *e, uint64_t *sums) {
    const __m512i t = _mm512_set1_epi64((long long)t64), tneg = _mm512_set1_epi64((long long)montgomery_inverse(t64));
    const __m512i r2 = _mm512_set1_epi64((long long)montgomery_r2(t64));
    const __m512d tinv = _mm512_set1_pd(tinv64);
    const __m512i two64 = _mm512_set1_epi64((long long)(uint64_t)(((u128)1 << 64) % t64));
    __m512i gv[7][7];
    for (int i = 0; i <= d; i++) for (int m = 0; m <= d - i; m++) gv[i][m] = _mm512_set1_epi64((long long)g[i * (d + 1) + m]);
    __m512i powers[8];
    long k = from;
    for (; k + 8 <= to; k += 8) {
        __m512i s = lifted8(_mm512_loadu_si512(x + k), t, tinv, two64);
        powers[1] = mont8(s, r2, t, tneg);
        for (int m = 2; m <= d; m++) powers[m] = mont8(powers[m - 1], powers[1], t, tneg);
        for (int i = 0; i <= d; i++) {
            __m512i h = gv[i][0];
            for (int m = 1; m <= d - i; m++) h = _mm512_add_epi64(h, mont8(gv[i][m], powers[m], t, tneg));
            h = reduce16(h, t);
            store_h(i, n, k, h, t, masks, shares, e, sums);
        }
    }
    return k;
}

/* The client with its powers in Montgomery form (C^i R): mont(C^i R, e) = C^i e; d of them (< 2t each) and
   the share (< t): below 13 t, reduced once. */
__attribute__((target("avx512f,avx512dq,avx512ifma")))
static long client_ifma(long from, long to, long n, int d, uint64_t t64, const uint64_t *mont,
                        const uint64_t *shares, const uint64_t *e, uint64_t *tau) {
    const __m512i t = _mm512_set1_epi64((long long)t64), tneg = _mm512_set1_epi64((long long)montgomery_inverse(t64));
    long k = from;
    for (; k + 8 <= to; k += 8) {
        __m512i sum = _mm512_loadu_si512(shares + k);
        for (int i = 1; i <= d; i++) {
            long at = (long)(i - 1) * n + k;
            sum = _mm512_add_epi64(sum, mont8(_mm512_loadu_si512(mont + at), _mm512_loadu_si512(e + at), t, tneg));
        }
        _mm512_storeu_si512(tau + k, reduce16(sum, t));
    }
    return k;
}

__attribute__((target("avx512f,avx512dq,avx512ifma")))
static int montgomery_rows(long count, uint64_t t64, const uint64_t *in, uint64_t *out) {
    const __m512i t = _mm512_set1_epi64((long long)t64), tneg = _mm512_set1_epi64((long long)montgomery_inverse(t64));
    const __m512i r2 = _mm512_set1_epi64((long long)montgomery_r2(t64));
    long k = 0;
    for (; k + 8 <= count; k += 8) _mm512_storeu_si512(out + k, reduce16(mont8(_mm512_loadu_si512(in + k), r2, t, tneg), t));
    for (; k < count; k++) out[k] = (uint64_t)(((u128)in[k] << 52) % t64);
    return 1;
}

/* Groups of eight values of `width` bits (9..56) are exactly `width` bytes: value i of a group starts at bit
   width * i, byte b_i = width * i / 8, bit o_i = width * i % 8. Packing shifts lane i left by o_i, then each
   output byte is the OR of the (at most two) lanes that reach it, gathered by byte permutes (AVX-512 VBMI).
   Unpacking gathers the eight bytes from b_i into lane i, shifts right by o_i and masks. Both return the
   number of values done (whole groups). */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static long pack_vbmi(uint8_t *out, const uint64_t *values, long count, int width) {
    uint8_t first[64], second[64];
    uint64_t secondMask = 0;
    int64_t shifts[8];
    for (int i = 0; i < 8; i++) shifts[i] = (width * i) & 7;
    for (int p = 0; p < 64; p++) { first[p] = 0; second[p] = 0; }
    for (int p = 0; p < width; p++) {
        int last = 0;
        for (int i = 0; i < 8; i++) if ((width * i) / 8 <= p) last = i;
        first[p] = (uint8_t)(8 * last + p - (width * last) / 8);
        if (last > 0 && p - (width * (last - 1)) / 8 <= 7) {
            second[p] = (uint8_t)(8 * (last - 1) + p - (width * (last - 1)) / 8);
            secondMask |= (uint64_t)1 << p;
        }
    }
    const __m512i a = _mm512_loadu_si512(first), b = _mm512_loadu_si512(second), sh = _mm512_loadu_si512(shifts);
    const __mmask64 store = width == 64 ? ~(__mmask64)0 : (((__mmask64)1 << width) - 1);
    long k = 0;
    for (; k + 8 <= count; k += 8, out += width) {
        __m512i x = _mm512_sllv_epi64(_mm512_loadu_si512(values + k), sh);
        __m512i y = _mm512_or_si512(_mm512_permutexvar_epi8(a, x), _mm512_maskz_permutexvar_epi8(secondMask, b, x));
        _mm512_mask_storeu_epi8(out, store, y);
    }
    return k;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static long unpack_vbmi(const uint8_t *in, uint64_t *values, long count, int width, uint64_t t, long *bad) {
    uint8_t index[64];
    int64_t shifts[8];
    for (int i = 0; i < 8; i++) {
        shifts[i] = (width * i) & 7;
        for (int j = 0; j < 8; j++) index[8 * i + j] = (uint8_t)((width * i) / 8 + j);
    }
    const __m512i ix = _mm512_loadu_si512(index), sh = _mm512_loadu_si512(shifts);
    const __m512i mask = _mm512_set1_epi64((long long)(((uint64_t)1 << width) - 1)), tv = _mm512_set1_epi64((long long)t);
    const __mmask64 load = ((__mmask64)1 << width) - 1;
    long k = 0;
    for (; k + 8 <= count; k += 8, in += width) {
        __m512i bytes = _mm512_maskz_loadu_epi8(load, in);
        __m512i v = _mm512_and_si512(_mm512_srlv_epi64(_mm512_permutexvar_epi8(ix, bytes), sh), mask);
        __mmask8 over = _mm512_cmpge_epu64_mask(v, tv);
        if (over && *bad < 0) *bad = k + __builtin_ctz(over);
        _mm512_storeu_si512(values + k, v);
    }
    return k;
}

__attribute__((target("avx512f,avx512dq")))
static long server_avx512(long from, long to, long n, int d, uint64_t t64, double tinv64, const uint64_t *x,
                          const uint64_t *g, const uint64_t *masks, const uint64_t *shares, uint64_t *e, uint64_t *sums) {
    const __m512i t = _mm512_set1_epi64((long long)t64);
    const __m512d tinv = _mm512_set1_pd(tinv64);
    const __m512i two64 = _mm512_set1_epi64((long long)(uint64_t)(((u128)1 << 64) % t64));
    __m512i powers[8];
    long k = from;
    for (; k + 8 <= to; k += 8) {
        __m512i s = lifted8(_mm512_loadu_si512(x + k), t, tinv, two64);
        powers[1] = s;
        for (int m = 2; m <= d; m++) powers[m] = mulmod8(powers[m - 1], s, t, tinv);
        for (int i = 0; i <= d; i++) {
            const uint64_t *row = g + i * (d + 1);
            __m512i h = _mm512_set1_epi64((long long)row[0]);
            for (int m = 1; m <= d - i; m++) h = addmod8(h, mulmod8(powers[m], _mm512_set1_epi64((long long)row[m]), t, tinv), t);
            store_h(i, n, k, h, t, masks, shares, e, sums);
        }
    }
    return k;
}

__attribute__((target("avx512f,avx512dq")))
static long client_avx512(long from, long to, long n, int d, uint64_t t64, double tinv64, const uint64_t *powers,
                          const uint64_t *shares, const uint64_t *e, uint64_t *tau) {
    const __m512i t = _mm512_set1_epi64((long long)t64);
    const __m512d tinv = _mm512_set1_pd(tinv64);
    long k = from;
    for (; k + 8 <= to; k += 8) {
        __m512i sum = _mm512_loadu_si512(shares + k);
        for (int i = 1; i <= d; i++) {
            long at = (long)(i - 1) * n + k;
            sum = addmod8(sum, mulmod8(_mm512_loadu_si512(powers + at), _mm512_loadu_si512(e + at), t, tinv), t);
        }
        _mm512_storeu_si512(tau + k, sum);
    }
    return k;
}
#else
static int avx512_available(void) { return 0; }
static int vbmi_available(void) { return 0; }
static int ifma_available(void) { return 0; }
static long server_ifma(long from, long to, long n, int d, uint64_t t, double tinv, const uint64_t *x,
                        const uint64_t *g, const uint64_t *masks, const uint64_t *shares, uint64_t *e, uint64_t *sums) {
    (void)to; (void)n; (void)d; (void)t; (void)tinv; (void)x; (void)g; (void)masks; (void)shares; (void)e; (void)sums;
    return from;
}
static long client_ifma(long from, long to, long n, int d, uint64_t t, const uint64_t *mont,
                        const uint64_t *shares, const uint64_t *e, uint64_t *tau) {
    (void)to; (void)n; (void)d; (void)t; (void)mont; (void)shares; (void)e; (void)tau;
    return from;
}
static int montgomery_rows(long count, uint64_t t, const uint64_t *in, uint64_t *out) {
    (void)count; (void)t; (void)in; (void)out;
    return 0;
}
static long pack_vbmi(uint8_t *out, const uint64_t *values, long count, int width) {
    (void)out; (void)values; (void)count; (void)width;
    return 0;
}
static long unpack_vbmi(const uint8_t *in, uint64_t *values, long count, int width, uint64_t t, long *bad) {
    (void)in; (void)values; (void)count; (void)width; (void)t; (void)bad;
    return 0;
}
static long server_avx512(long from, long to, long n, int d, uint64_t t, double tinv, const uint64_t *x,
                          const uint64_t *g, const uint64_t *masks, const uint64_t *shares, uint64_t *e, uint64_t *sums) {
    (void)to; (void)n; (void)d; (void)t; (void)tinv; (void)x; (void)g; (void)masks; (void)shares; (void)e; (void)sums;
    return from;
}
static long client_avx512(long from, long to, long n, int d, uint64_t t, double tinv, const uint64_t *powers,
                          const uint64_t *shares, const uint64_t *e, uint64_t *tau) {
    (void)to; (void)n; (void)d; (void)t; (void)tinv; (void)powers; (void)shares; (void)e; (void)tau;
    return from;
}
#endif

void cpolyring_server_send(long n, int d, int J, const uint64_t *t, const double *tinv, const int *bits,
                           const uint64_t *x, long plane, const uint64_t *gamma, const uint64_t *masks,
                           const uint64_t *shares, uint64_t *words, uint64_t *sums, int vector) {
    const long rows = (long)(d + 1) * (d + 1);
    uint64_t *e = malloc(sizeof(uint64_t) * (size_t)(d * n > 0 ? d * n : 1));
    size_t at = 0;
    int fast = vector && avx512_available();
    for (int j = 0; j < J; j++) {
        for (long c = 0; c * plane < n; c++) {
            const uint64_t *g = gamma + (c * J + j) * rows;
            long from = c * plane, to = from + plane;
            if (fast && vector >= 2 && ifma_available()) from = server_ifma(from, to, n, d, t[j], tinv[j], x, g, masks + (long)j * d * n, shares + (long)j * n, e, sums + (long)j * n);
            else if (fast) from = server_avx512(from, to, n, d, t[j], tinv[j], x, g, masks + (long)j * d * n, shares + (long)j * n, e, sums + (long)j * n);
            server_scalar(from, to, n, d, t[j], tinv[j], x, g, masks + (long)j * d * n, shares + (long)j * n, e, sums + (long)j * n);
        }
        long done = 0, count = (long)d * n;
        if (fast && vbmi_available() && (at & 7) == 0 && bits[j] >= 9 && bits[j] <= 56)
            done = pack_vbmi((uint8_t *)words + (at >> 3), e, count, bits[j]);
        at = pack(words, at + (size_t)done * (size_t)bits[j], e + done, count - done, bits[j]);
    }
    free(e);
}

long cpolyring_client_residues(long n, int d, int J, const uint64_t *t, const double *tinv, const int *bits,
                               const uint8_t *bytes, long nbytes, const uint64_t *powers, const uint64_t *montgomery,
                               const uint64_t *shares, uint64_t *tau, int vector) {
    uint64_t *e = malloc(sizeof(uint64_t) * (size_t)(d * n > 0 ? d * n : 1));
    size_t at = 0;
    long bad = -1;
    int fast = vector && avx512_available();
    for (int j = 0; j < J && bad < 0; j++) {
        long done = 0, count = (long)d * n, b = -1;
        if (fast && vbmi_available() && (at & 7) == 0 && bits[j] >= 9 && bits[j] <= 56)
            done = unpack_vbmi(bytes + (at >> 3), e, count, bits[j], t[j], &b);
        if (b < 0) {
            long rest = unpack(bytes, nbytes, at + (size_t)done * (size_t)bits[j], e + done, count - done, bits[j], t[j]);
            if (rest >= 0) b = done + rest;
        }
        if (b >= 0) { bad = (long)j * d * n + b; break; }
        at += (size_t)d * (size_t)n * (size_t)bits[j];
        long from = 0;
        if (fast && vector >= 2 && montgomery) from = client_ifma(0, n, n, d, t[j], montgomery + (long)j * d * n, shares + (long)j * n, e, tau + (long)j * n);
        else if (fast) from = client_avx512(0, n, n, d, t[j], tinv[j], powers + (long)j * d * n, shares + (long)j * n, e, tau + (long)j * n);
        client_scalar(from, n, n, d, t[j], tinv[j], powers + (long)j * d * n, shares + (long)j * n, e, tau + (long)j * n);
    }
    free(e);
    return bad;
}

/* The CRT and shift of one element (exact: the limb loops, the compare-and-subtract). */
static uint64_t shifted_scalar(long k, long n, int J, const uint64_t *t, const double *tinv, const uint64_t *inverses,
                               const uint64_t *cofactors, const uint64_t *product, const uint64_t *residues,
                               int shift, int server) {
    uint64_t acc[5] = {0, 0, 0, 0, 0};
    for (int j = 0; j < J; j++) {
        uint64_t y = mulmod(residues[(long)j * n + k], inverses[j], t[j], tinv[j]);
        uint64_t carry = 0;
        for (int l = 0; l < 4; l++) {
            u128 p = (u128)cofactors[4 * j + l] * y + acc[l] + carry;
            acc[l] = (uint64_t)p;
            carry = (uint64_t)(p >> 64);
        }
        acc[4] += carry;
    }
    /* Less T while at least T (at most J - 1 times). */
    for (;;) {
        int less = acc[4] == 0;
        if (less) {
            int l = 3;
            while (l > 0 && acc[l] == product[l]) l--;
            less = acc[l] < product[l];
        }
        if (less) break;
        uint64_t borrow = 0;
        for (int l = 0; l < 4; l++) {
            u128 diff = (u128)acc[l] - product[l] - borrow;
            acc[l] = (uint64_t)diff;
            borrow = (uint64_t)(diff >> 64) & 1;
        }
        acc[4] -= borrow;
    }
    uint64_t top = 0;
    if (server) {
        uint64_t borrow = 0;
        for (int l = 0; l < 4; l++) {
            u128 diff = (u128)acc[l] - product[l] - borrow;
            acc[l] = (uint64_t)diff;
            borrow = (uint64_t)(diff >> 64) & 1;
        }
        top = ~(uint64_t)0;   /* negative: sign-extend */
    }
    acc[4] = top;
    int w = shift >> 6, b = shift & 63;
    return b == 0 ? acc[w] : (acc[w] >> b) | (acc[w + 1] << (64 - b));
}

#if defined(__x86_64__)
/* Eight elements at a time in radix 2^52 (AVX-512 IFMA): columns sum_j y_j M_j, the quotient q = floor(sum_j
   y_j / t_j) in double precision, less q T (and T for the server), carries, then bits [shift, shift + 64).
   Where the double sum lies within 2^-20 of an integer (q could be off by one; probability about 2^-19 per
   element) the lane is flagged for the exact scalar routine. Returns the first element not done. */
__attribute__((target("avx512f,avx512dq,avx512ifma")))
static long shifted_ifma(long n, int J, const uint64_t *t, const double *tinv, const uint64_t *inverses,
                         const uint64_t *cofactors, const uint64_t *product, const uint64_t *residues,
                         int shift, int server, const uint64_t *add, uint64_t *out, uint8_t *redo) {
    const uint64_t m52 = ((uint64_t)1 << 52) - 1;
    /* Cofactors and T in radix 2^52 (at most four 64-bit limbs: five of 52 bits). */
    uint64_t M[4][5], P[5];
    for (int j = 0; j <= J; j++) {
        const uint64_t *src = j < J ? cofactors + 4 * j : product;
        uint64_t *dst = j < J ? M[j] : P;
        for (int l = 0; l < 5; l++) {
            int bit = 52 * l, w = bit >> 6, o = bit & 63;
            uint64_t v = w < 4 ? src[w] >> o : 0;
            if (o > 12 && w + 1 < 4) v |= src[w + 1] << (64 - o);
            dst[l] = v & m52;
        }
    }
    const int L = 6;   /* columns: five limbs and the carry */
    const __m512i mask = _mm512_set1_epi64((long long)m52);
    long k = 0;
    for (; k + 8 <= n; k += 8) {
        __m512i col[6];
        for (int l = 0; l < L; l++) col[l] = _mm512_setzero_si512();
        __m512d qd = _mm512_setzero_pd();
        for (int j = 0; j < J; j++) {
            const __m512i tj = _mm512_set1_epi64((long long)t[j]);
            const __m512d ij = _mm512_set1_pd(tinv[j]);
            __m512i y = mulmod8(_mm512_loadu_si512(residues + (long)j * n + k), _mm512_set1_epi64((long long)inverses[j]), tj, ij);
            qd = _mm512_fmadd_pd(_mm512_cvtepu64_pd(y), ij, qd);
            for (int l = 0; l < 5; l++) {
                if (M[j][l] == 0) continue;
                const __m512i c = _mm512_set1_epi64((long long)M[j][l]);
                col[l] = _mm512_madd52lo_epu64(col[l], y, c);
                col[l + 1] = _mm512_madd52hi_epu64(col[l + 1], y, c);
            }
        }
        __m512i q = _mm512_cvttpd_epu64(qd);
        __m512d frac = _mm512_sub_pd(qd, _mm512_cvtepu64_pd(q));
        __mmask8 unsure = _mm512_cmp_pd_mask(frac, _mm512_set1_pd(0x1p-20), _CMP_LT_OQ)
                        | _mm512_cmp_pd_mask(frac, _mm512_set1_pd(1 - 0x1p-20), _CMP_GT_OQ);
        if (server) q = _mm512_add_epi64(q, _mm512_set1_epi64(1));
        for (int l = 0; l < 5; l++) {
            if (P[l] == 0) continue;
            col[l] = _mm512_sub_epi64(col[l], _mm512_mullo_epi64(q, _mm512_set1_epi64((long long)P[l])));
        }
        /* Signed carries: every column below the last in [0, 2^52). */
        for (int l = 0; l + 1 < L; l++) {
            col[l + 1] = _mm512_add_epi64(col[l + 1], _mm512_srai_epi64(col[l], 52));
            col[l] = _mm512_and_si512(col[l], mask);
        }
        /* Bits [shift, shift + 64): limb l contributes at offset 52 l - shift. */
        __m512i r = _mm512_setzero_si512();
        for (int l = 0; l < L; l++) {
            int off = 52 * l - shift;
            if (off <= -64 || off >= 64) continue;
            __m512i v = col[l];
            if (off < 0) v = l == L - 1 ? _mm512_srav_epi64(v, _mm512_set1_epi64(-off)) : _mm512_srlv_epi64(v, _mm512_set1_epi64(-off));
            else v = _mm512_sllv_epi64(v, _mm512_set1_epi64(off));
            r = _mm512_or_si512(r, v);
        }
        /* (The last column holds only the sign after the carries; limbs 0-4 cover bits [shift, shift + 64) for
           shift < 192, so it contributes nothing there.) */
        if (add) r = _mm512_add_epi64(r, _mm512_loadu_si512(add + k));
        _mm512_storeu_si512(out + k, r);
        for (int lane = 0; lane < 8; lane++) redo[k + lane] = (uint8_t)((unsure >> lane) & 1);
    }
    return k;
}
#else
static long shifted_ifma(long n, int J, const uint64_t *t, const double *tinv, const uint64_t *inverses,
                         const uint64_t *cofactors, const uint64_t *product, const uint64_t *residues,
                         int shift, int server, const uint64_t *add, uint64_t *out, uint8_t *redo) {
    (void)n; (void)J; (void)t; (void)tinv; (void)inverses; (void)cofactors; (void)product; (void)residues;
    (void)shift; (void)server; (void)add; (void)out; (void)redo;
    return 0;
}
#endif

void cpolyring_shifted_shares(long n, int J, const uint64_t *t, const double *tinv, const uint64_t *inverses,
                              const uint64_t *cofactors, const uint64_t *product, const uint64_t *residues,
                              int shift, int server, const uint64_t *add, uint64_t *out, int vector) {
    long from = 0;
    if (vector && ifma_available() && n >= 8) {
        uint8_t *redo = calloc((size_t)n, 1);
        from = shifted_ifma(n, J, t, tinv, inverses, cofactors, product, residues, shift, server, add, out, redo);
        for (long k = 0; k < from; k++) {
            if (redo[k]) out[k] = shifted_scalar(k, n, J, t, tinv, inverses, cofactors, product, residues, shift, server) + (add ? add[k] : 0);
        }
        free(redo);
    }
    for (long k = from; k < n; k++)
        out[k] = shifted_scalar(k, n, J, t, tinv, inverses, cofactors, product, residues, shift, server) + (add ? add[k] : 0);
}

int cpolyring_montgomery(long count, uint64_t t, const uint64_t *in, uint64_t *out) {
    return ifma_available() ? montgomery_rows(count, t, in, out) : 0;
}
