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
/*
 * Whether tap column kj (0 left, 1 middle, 2 right) of pixel vector p of a block needs a lane mask, and which,
 * when the row width W is a compile-time constant and the block's first vector starts a row period (W >= lanes:
 * P = W/lanes vectors per row, P divides PV; W < lanes: whole rows per vector). Then only the vectors holding a
 * row's first (left tap) or last (right tap) column are masked, with masks the compiler keeps in mask registers
 * instead of loading them for every tap.
 */
static inline int CK_NAME(tap_masked)(int kj, int p, int W) {
    if (kj == 1) return 0;
    if (W < CK_LANES) return 1;
    int period = W / CK_LANES;
    return kj == 0 ? p % period == 0 : p % period == period - 1;
}

static inline CK_MASK CK_NAME(tap_mask)(int kj, int W) {
    unsigned all = (1u << CK_LANES) - 1, clear = 0;
    for (int lane = 0; lane < CK_LANES; lane++)
        if ((lane % W) == (kj == 0 ? 0 : W - 1) || (W >= CK_LANES && lane == (kj == 0 ? 0 : CK_LANES - 1)))
            clear |= 1u << lane;
    return (CK_MASK)(all & ~clear);
}

/* Pixel vectors v0 ..< v0 + PV of output channels ob*OB ..< (ob+1)*OB of one image. With fixed_width > 0 (the
   row width, a constant after inlining) the masks follow from the width; with 0 they come from the tables. */
__attribute__((target("avx512f"), always_inline))
static inline void CK_NAME(forward_block)(const CK_TYPE *xi, const CK_TYPE *wb, CK_TYPE *yi, int C, int hw, int W,
                                          int v0, const uint16_t *left, const uint16_t *right, const int fixed_width) {
    const int stride = hw + W;
    CK_VEC acc[OB][PV];
    CK_MASK ml[PV], mr[PV];
    for (int p = 0; p < PV; p++) {
        ml[p] = fixed_width ? CK_NAME(tap_mask)(0, fixed_width) : (CK_MASK)left[v0 + p];
        mr[p] = fixed_width ? CK_NAME(tap_mask)(2, fixed_width) : (CK_MASK)right[v0 + p];
    }
    for (int o = 0; o < OB; o++)
        for (int p = 0; p < PV; p++) acc[o][p] = CK_OP(setzero)();
    for (int c = 0; c < C; c++) {
        const CK_TYPE *xc = xi + (size_t)c * stride + v0 * CK_LANES;
        const CK_TYPE *wc = wb + (size_t)c * 9 * OB;
        for (int ki = 0; ki < 3; ki++)
            for (int kj = 0; kj < 3; kj++) {
                const int t = ki * 3 + kj, offset = (ki - 1) * W + (kj - 1);
                CK_VEC xv[PV];
                for (int p = 0; p < PV; p++) {
                    const CK_TYPE *src = xc + p * CK_LANES + offset;
                    int masked = fixed_width ? CK_NAME(tap_masked)(kj, p, fixed_width) : kj != 1;
                    xv[p] = !masked ? CK_OP(loadu)(src) : CK_OP(maskz_loadu)(kj == 0 ? ml[p] : mr[p], src);
                }
                for (int o = 0; o < OB; o++) {
                    CK_VEC wv = CK_OP(set1)(wc[t * OB + o]);
                    for (int p = 0; p < PV; p++) acc[o][p] = CK_OP(fmadd)(wv, xv[p], acc[o][p]);
                }
            }
    }
    for (int o = 0; o < OB; o++)
        for (int p = 0; p < PV; p++) CK_OP(storeu)(yi + (size_t)o * hw + (v0 + p) * CK_LANES, acc[o][p]);
}

__attribute__((target("avx512f")))
static void CK_NAME(forward_avx512)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int C, int O,
                                    int H, int W, const uint16_t *left, const uint16_t *right, CK_TYPE *scratch) {
    const int hw = H * W, nv = hw / CK_LANES;
    /* Widths whose row period divides the block (every CIFAR plane) get their masks as constants. */
    const int fixed = (W < CK_LANES || PV % (W / CK_LANES) == 0) ? W : 0;
    for (int i = 0; i < images; i++) {
        pad_image(x + (size_t)i * C * hw, scratch, C, hw, W, sizeof(CK_TYPE));
        const CK_TYPE *xi = scratch + W;
        CK_TYPE *yi = y + (size_t)i * O * hw;
        for (int ob = 0; ob < O / OB; ob++) {
            const CK_TYPE *wb = packed + (size_t)ob * C * 9 * OB;
            CK_TYPE *yb = yi + (size_t)ob * OB * hw;
            for (int v0 = 0; v0 < nv; v0 += PV) {
                switch (fixed) {
                case 8: CK_NAME(forward_block)(xi, wb, yb, C, hw, W, v0, left, right, 8); break;
                case 16: CK_NAME(forward_block)(xi, wb, yb, C, hw, W, v0, left, right, 16); break;
                case 32: CK_NAME(forward_block)(xi, wb, yb, C, hw, W, v0, left, right, 32); break;
                case 64: CK_NAME(forward_block)(xi, wb, yb, C, hw, W, v0, left, right, 64); break;
                default: CK_NAME(forward_block)(xi, wb, yb, C, hw, W, v0, left, right, 0); break;
                }
            }
        }
    }
}

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
