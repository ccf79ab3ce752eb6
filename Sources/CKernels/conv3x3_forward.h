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

/* Widths whose row period divides the block (every CIFAR plane) read the planes in place with constant masks;
   others (rows of 64 doubles) read a padded copy with mask tables. */
static int CK_NAME(in_place)(int width) { return width < CK_LANES || PV % (width / CK_LANES) == 0; }

size_t CK_NAME(forward_scratch_count)(int channels_in, int height, int width) {
    return CK_NAME(in_place)(width) ? 0 : padded_count(channels_in, height * width, width);
}

#if defined(__x86_64__)
/*
 * The lane mask of tap (ki, kj) for pixel vector p of a block, when the row width W is a compile-time constant
 * and the block's first vector starts a row period (W >= lanes: P = W/lanes vectors per row, P divides PV;
 * W < lanes: whole rows per vector). Horizontal: only vectors holding a row's first (left taps) or last (right
 * taps) column lose a lane. Vertical (these widths read the unpadded planes): in the plane's first block (edge
 * bit 1) the taps above row 0 read zeros, in its last (edge bit 2) those below row H-1. All of it folds to
 * constants after inlining: the loads need no mask tables and no padded copy.
 */
static inline unsigned CK_NAME(tap_lanes)(int ki, int kj, int p, int W, int edge, int PVn) {
    unsigned lanes = (1u << CK_LANES) - 1;
    for (int lane = 0; lane < CK_LANES; lane++) {
        int drop = 0;
        if (W >= CK_LANES) {
            int period = W / CK_LANES;
            drop |= kj == 0 && p % period == 0 && lane == 0;
            drop |= kj == 2 && p % period == period - 1 && lane == CK_LANES - 1;
            drop |= ki == 0 && (edge & 1) && p < period;
            drop |= ki == 2 && (edge & 2) && p >= PVn - period;
        } else {
            drop |= kj == 0 && lane % W == 0;
            drop |= kj == 2 && lane % W == W - 1;
            drop |= ki == 0 && (edge & 1) && p == 0 && lane < W;
            drop |= ki == 2 && (edge & 2) && p == PVn - 1 && lane >= CK_LANES - W;
        }
        if (drop) lanes &= ~(1u << lane);
    }
    return lanes;
}

/* What the stores of an output block do: y = conv, or y += conv with `add`; then, with `scale`, y = y * scale[o] +
   shift[o] (an evaluation-mode batch norm), + residual[o][p] (a tensor of y's layout), max(y, 0) with `relu`.
   The pointers start at the block's first output channel (and the residual at its image). */
typedef struct {
    int add, relu;
    const CK_TYPE *scale, *shift, *residual;
} CK_NAME(stores);

/* Pixel vectors v0 ..< v0 + PV of output channels ob*OB ..< (ob+1)*OB of one image, channel planes `stride`
   apart. With fixed_width > 0 (the row width, a constant after inlining) the masks follow from the width and
   `edge`, and xi is the plane itself; with 0 they come from the tables and xi is the padded copy. */
__attribute__((target("avx512f"), always_inline))
static inline void CK_NAME(forward_block)(const CK_TYPE *xi, const CK_TYPE *wb, CK_TYPE *yi, int C, int hw, int W,
                                          size_t stride, int v0, const uint16_t *left, const uint16_t *right,
                                          const int fixed_width, const int edge, const CK_NAME(stores) *st) {
    CK_VEC acc[OB][PV];
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
                    if (fixed_width) {
                        unsigned lanes = CK_NAME(tap_lanes)(ki, kj, p, fixed_width, edge, PV);
                        xv[p] = lanes == 0 ? CK_OP(setzero)()
                              : lanes == (1u << CK_LANES) - 1 ? CK_OP(loadu)(src)
                              : CK_OP(maskz_loadu)((CK_MASK)lanes, src);
                    } else {
                        xv[p] = kj == 1 ? CK_OP(loadu)(src)
                                        : CK_OP(maskz_loadu)((CK_MASK)(kj == 0 ? left[v0 + p] : right[v0 + p]), src);
                    }
                }
                for (int o = 0; o < OB; o++) {
                    CK_VEC wv = CK_OP(set1)(wc[t * OB + o]);
                    for (int p = 0; p < PV; p++) acc[o][p] = CK_OP(fmadd)(wv, xv[p], acc[o][p]);
                }
            }
    }
    for (int o = 0; o < OB; o++)
        for (int p = 0; p < PV; p++) {
            const size_t at = (size_t)o * hw + (v0 + p) * CK_LANES;
            CK_VEC v = acc[o][p];
            if (st->add) v = CK_OP(add)(CK_OP(loadu)(yi + at), v);
            if (st->scale) v = CK_OP(fmadd)(v, CK_OP(set1)(st->scale[o]), CK_OP(set1)(st->shift[o]));
            if (st->residual) v = CK_OP(add)(v, CK_OP(loadu)(st->residual + at));
            if (st->relu) v = CK_OP(max)(v, CK_OP(setzero)());
            CK_OP(storeu)(yi + at, v);
        }
}

/* The stores of output channel block ob of image i (the pointers advanced to it). */
static inline CK_NAME(stores) CK_NAME(block_stores)(const CK_NAME(stores) *st, int i, int ob, int O, int hw) {
    CK_NAME(stores) b = *st;
    if (b.scale) { b.scale += ob * OB; b.shift += ob * OB; }
    if (b.residual) b.residual += ((size_t)i * O + (size_t)ob * OB) * hw;
    return b;
}

/* One image's output channels for a constant width: the plane's first and last blocks take the vertical masks. */
__attribute__((target("avx512f"), always_inline))
static inline void CK_NAME(forward_fixed)(const CK_TYPE *xi, const CK_TYPE *packed, CK_TYPE *yi, int i, int C, int O,
                                          int hw, const int W, const CK_NAME(stores) *st) {
    const int nv = hw / CK_LANES;
    for (int ob = 0; ob < O / OB; ob++) {
        const CK_TYPE *wb = packed + (size_t)ob * C * 9 * OB;
        CK_TYPE *yb = yi + (size_t)ob * OB * hw;
        const CK_NAME(stores) sb = CK_NAME(block_stores)(st, i, ob, O, hw);
        if (nv == PV) {
            CK_NAME(forward_block)(xi, wb, yb, C, hw, W, hw, 0, 0, 0, W, 3, &sb);
            continue;
        }
        CK_NAME(forward_block)(xi, wb, yb, C, hw, W, hw, 0, 0, 0, W, 1, &sb);
        for (int v0 = PV; v0 < nv - PV; v0 += PV) CK_NAME(forward_block)(xi, wb, yb, C, hw, W, hw, v0, 0, 0, W, 0, &sb);
        CK_NAME(forward_block)(xi, wb, yb, C, hw, W, hw, nv - PV, 0, 0, W, 2, &sb);
    }
}

/* flatten: the blocks, their masks (tap_lanes) included, must be inlined to fold to constants; left to the
   inliner's heuristics an unrelated edit once left tap_lanes out of line, a call per load and 9x slower. */
__attribute__((target("avx512f"), flatten))
static void CK_NAME(forward_avx512)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int C, int O,
                                    int H, int W, const uint16_t *left, const uint16_t *right, CK_TYPE *scratch,
                                    const CK_NAME(stores) *st) {
    const int hw = H * W, nv = hw / CK_LANES;
    const int fixed = CK_NAME(in_place)(W) ? W : 0;
    for (int i = 0; i < images; i++) {
        const CK_TYPE *xi = x + (size_t)i * C * hw;
        CK_TYPE *yi = y + (size_t)i * O * hw;
        switch (fixed) {
        case 1: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 1, st); continue;
        case 2: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 2, st); continue;
        case 4: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 4, st); continue;
        case 8: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 8, st); continue;
        case 16: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 16, st); continue;
        case 32: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 32, st); continue;
        case 64: CK_NAME(forward_fixed)(xi, packed, yi, i, C, O, hw, 64, st); continue;
        default: break;
        }
        pad_image(xi, scratch, C, hw, W, sizeof(CK_TYPE));
        for (int ob = 0; ob < O / OB; ob++) {
            const CK_NAME(stores) sb = CK_NAME(block_stores)(st, i, ob, O, hw);
            for (int v0 = 0; v0 < nv; v0 += PV)
                CK_NAME(forward_block)(scratch + W, packed + (size_t)ob * C * 9 * OB, yi + (size_t)ob * OB * hw, C, hw,
                                       W, (size_t)hw + W, v0, left, right, 0, 0, &sb);
        }
    }
}
void CK_NAME(forward)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in, int channels_out,
                      int height, int width, CK_TYPE *scratch, int accumulate) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !CK_NAME(fits)(channels_out, height, width)) abort();
    if (!CK_NAME(in_place)(width)) build_masks(height, width, CK_LANES, left, right);  /* else constants */
    const CK_NAME(stores) st = {accumulate != 0, 0, NULL, NULL, NULL};
    CK_NAME(forward_avx512)(x, packed, y, images, channels_in, channels_out, height, width, left, right, scratch, &st);
}

void CK_NAME(forward_normalized)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in,
                                 int channels_out, int height, int width, CK_TYPE *scratch, const CK_TYPE *scale,
                                 const CK_TYPE *shift, const CK_TYPE *residual, int relu) {
    uint16_t left[MAX_VECTORS], right[MAX_VECTORS];
    if (!cconv_available() || !CK_NAME(fits)(channels_out, height, width) || !scale || !shift) abort();
    if (!CK_NAME(in_place)(width)) build_masks(height, width, CK_LANES, left, right);
    const CK_NAME(stores) st = {0, relu != 0, scale, shift, residual};
    CK_NAME(forward_avx512)(x, packed, y, images, channels_in, channels_out, height, width, left, right, scratch, &st);
}
#else
void CK_NAME(forward)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in, int channels_out,
                      int height, int width, CK_TYPE *scratch, int accumulate) {
    (void)accumulate;
    (void)x; (void)packed; (void)y; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch;
    abort();
}

void CK_NAME(forward_normalized)(const CK_TYPE *x, const CK_TYPE *packed, CK_TYPE *y, int images, int channels_in,
                                 int channels_out, int height, int width, CK_TYPE *scratch, const CK_TYPE *scale,
                                 const CK_TYPE *shift, const CK_TYPE *residual, int relu) {
    (void)x; (void)packed; (void)y; (void)images; (void)channels_in; (void)channels_out; (void)height; (void)width;
    (void)scratch; (void)scale; (void)shift; (void)residual; (void)relu;
    abort();
}
#endif

#undef CK_VEC
#undef CK_MASK
#undef CK_OP
