/*
 * The forward 3x3 kernel for one element type, included by conv3x3.c with CK_TYPE (float or double),
 * CK_LANES (16 or 8: one 512-bit vector) and CK_NAME(x) (the public prefix) defined. See conv3x3.c.
 */
#if CK_LANES == 16
#define CK_VEC __m512
#define CK_MASK __mmask16
#define CK_OP(op) _mm512_##op##_ps
#else
#define CK_VEC __m512d
#define CK_MASK __mmask8
#define CK_OP(op) _mm512_##op##_pd
#endif

int CK_NAME(fits)(int channels_out, int height, int width) {
    int hw = height * width;
    if (channels_out <= 0 || channels_out % OB != 0 || height <= 0 || width <= 0 || hw > 4096) return 0;
    if (hw % (CK_LANES * PV) != 0) return 0;
    /* Rows of a power of two up to 64 pixels: whole vectors or whole rows per vector, and a row period of
       1, 2 or 4 vectors (the weight gradient relies on it). */
    return width <= 64 && (width & (width - 1)) == 0;
}

void CK_NAME(pack_weights)(const CK_TYPE *w, int channels_out, int channels_in, int flip_transpose, CK_TYPE *packed) {
    /* The packed layout for (O', C'): packed[((ob*C' + c)*9 + t)*OB + o] = w'[ob*OB + o][c][t]. */
    int O2 = flip_transpose ? channels_in : channels_out;
    int C2 = flip_transpose ? channels_out : channels_in;
    if (O2 % OB != 0) abort();  /* the layout needs whole blocks (cconv_fits checks the output channels) */
    for (int o2 = 0; o2 < O2; o2++)
        for (int c2 = 0; c2 < C2; c2++)
            for (int t = 0; t < 9; t++) {
                CK_TYPE v = flip_transpose ? w[((size_t)c2 * channels_in + o2) * 9 + (8 - t)]
                                           : w[((size_t)o2 * channels_in + c2) * 9 + t];
                packed[(((size_t)(o2 / OB) * C2 + c2) * 9 + t) * OB + (o2 % OB)] = v;
            }
}

size_t CK_NAME(forward_scratch_count)(int channels_in, int height, int width) {
    return padded_count(channels_in, height * width, width);
}

#if defined(__x86_64__)
/* One tap's input vector: tap column kj (0, 1, 2) picks the left mask, none, or the right mask. */
#define CK_LOAD_TAP(kj, p, src)                                                                      \
    ((kj) == 1 ? CK_OP(loadu)(src) : CK_OP(maskz_loadu)((CK_MASK)((kj) == 0 ? ml[p] : mr[p]), (src)))

__attribute__((target("avx512f")))
static void CK_NAME(forward_avx512)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int C, int O,
                                    int H, int W, const uint16_t *left, const uint16_t *right, CK_TYPE *scratch) {
    const int hw = H * W, nv = hw / CK_LANES, stride = hw + W;
    for (int i = 0; i < images; i++) {
        pad_image(x + (size_t)i * C * hw, scratch, C, hw, W, sizeof(CK_TYPE));
        const CK_TYPE *xi = scratch + W;
        CK_TYPE *yi = y + (size_t)i * O * hw;
        for (int ob = 0; ob < O / OB; ob++) {
            const CK_TYPE *wb = packed + (size_t)ob * C * 9 * OB;
            for (int v0 = 0; v0 < nv; v0 += PV) {
                CK_VEC acc[OB][PV];
                uint16_t ml[PV], mr[PV];
                for (int p = 0; p < PV; p++) { ml[p] = left[v0 + p]; mr[p] = right[v0 + p]; }
                for (int o = 0; o < OB; o++)
                    for (int p = 0; p < PV; p++) acc[o][p] = CK_OP(setzero)();
                for (int c = 0; c < C; c++) {
                    const CK_TYPE *xc = xi + (size_t)c * stride + v0 * CK_LANES;
                    const CK_TYPE *wc = wb + (size_t)c * 9 * OB;
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            const int t = ki * 3 + kj, offset = (ki - 1) * W + (kj - 1);
                            CK_VEC xv[PV];
                            for (int p = 0; p < PV; p++) xv[p] = CK_LOAD_TAP(kj, p, xc + p * CK_LANES + offset);
                            for (int o = 0; o < OB; o++) {
                                CK_VEC wv = CK_OP(set1)(wc[t * OB + o]);
                                for (int p = 0; p < PV; p++) acc[o][p] = CK_OP(fmadd)(wv, xv[p], acc[o][p]);
                            }
                        }
                }
                for (int o = 0; o < OB; o++)
                    for (int p = 0; p < PV; p++)
                        CK_OP(storeu)(yi + (size_t)(ob * OB + o) * hw + (v0 + p) * CK_LANES, acc[o][p]);
            }
        }
    }
}
#undef CK_LOAD_TAP

void CK_NAME(forward)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in, int channels_out,
                      int height, int width, CK_TYPE *scratch) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !CK_NAME(fits)(channels_out, height, width)) abort();
    build_masks(height, width, CK_LANES, left, right);
    CK_NAME(forward_avx512)(x, packed, y, images, channels_in, channels_out, height, width, left, right, scratch);
}
#else
void CK_NAME(forward)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in, int channels_out,
                      int height, int width, CK_TYPE *scratch) {
    (void)x; (void)packed; (void)y; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch;
    abort();
}
#endif

#undef CK_VEC
#undef CK_MASK
#undef CK_OP
