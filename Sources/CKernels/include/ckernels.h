/*
 * CKernels: the training engine's C kernels, AVX-512 chosen at run time (callers check *_available()
 * first and keep their Swift or GEMM path otherwise).
 *
 * Direct 3x3 stride-1 "same" convolutions (padding 1) on NCHW float32 activations (conv3x3.c). Callers
 * check cconv_available() and cconv_fits() first and use their im2col + GEMM path otherwise (CPUs
 * without AVX-512, other shapes).
 *
 * Layouts: x [n][C][H][W], y [n][O][H][W], weights [O][C][3][3] (OIHW), all row-major floats.
 * Every kernel here has a naive reference in Tests/TensorsTests (Reference.conv2d and its adjoints).
 * No intrinsics appear in this header (the Swift importer must not see them).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU runs the AVX-512 kernels (cached after the first call); 0 otherwise. */
int cconv_available(void);

/* 1 when a plane of H x W pixels suits the kernels: H*W a multiple of 64 and at most 4096, W a power of two
   up to 64 (CIFAR's 32x32, 16x16, 8x8 do), and O a multiple of CCONV_CHANNEL_BLOCK. */
int cconv_fits(int channels_out, int height, int width);

/* Floats cconv_pack_weights writes for O x C weights. */
size_t cconv_packed_count(int channels_out, int channels_in);

/* Output channels per register block of the forward kernels: packed weights hold whole blocks. */
#define CCONV_CHANNEL_BLOCK 4

/* Weights [O][C][3][3] -> the forward kernel's order (the packed output channels must be a multiple of
   CCONV_CHANNEL_BLOCK; cconv_fits checks that). With flip_transpose set, packs the weights of the
   adjoint convolution instead (wT[c][o][ki][kj] = w[o][c][2-ki][2-kj]: then O and C swap roles, and
   packed must hold cconv_packed_count(C, O) floats). */
void cconv_pack_weights(const float *w, int channels_out, int channels_in, int flip_transpose, float *packed);

/* Floats of scratch memory the two kernels below need per call: 0 where they read x in place (every width
   from 8 up), a padded copy otherwise (callers recycle it: fresh pages from malloc would cost a page fault and
   a page clear each call). */
size_t cconv_forward_scratch_count(int channels_in, int height, int width);
size_t cconv_weight_gradient_scratch_count(int channels_in, int channels_out, int height, int width);

/* y[i] = conv3x3(x[i], w) for i < images, from weights packed for (O, C); with accumulate set,
   y[i] += conv3x3(x[i], w) (a gradient added where it is made: no separate sum pass). */
void cconv_forward(const float *x, const float *packed, float *y, int images, int channels_in,
                   int channels_out, int height, int width, float *scratch, int accumulate);

/* Evaluation-mode conv -> batch norm [-> + residual] [-> ReLU] in the stores: y[i][o] = conv3x3(x[i], w)[o] *
   scale[o] + shift[o] (+ residual[i][o], a tensor of y's layout, when not NULL), then max(., 0) with relu. */
void cconv_forward_normalized(const float *x, const float *packed, float *y, int images, int channels_in,
                              int channels_out, int height, int width, float *scratch, const float *scale,
                              const float *shift, const float *residual, int relu);

/* dw[o][c][ki][kj] += sum over images and pixels of dy[i][o][p] * x[i][c][p + (ki-1, kj-1)]
   (zero outside the plane): the weight gradient, added into dw ([O][C][3][3]). */
void cconv_weight_gradient(const float *x, const float *dy, float *dw, int images, int channels_in,
                           int channels_out, int height, int width, float *scratch);

/* The forward kernel in float64, for the exact fixed-point evaluator (integer products and sums below 2^53
   are exact in any order): the same contract as the float32 functions above, 8 lanes per vector (planes
   where H*W is a multiple of 32, the same rows). */
int cdconv_fits(int channels_out, int height, int width);
void cdconv_pack_weights(const double *w, int channels_out, int channels_in, int flip_transpose, double *packed);
size_t cdconv_forward_scratch_count(int channels_in, int height, int width);
void cdconv_forward(const double *x, const double *packed, double *y, int images, int channels_in,
                    int channels_out, int height, int width, double *scratch, int accumulate);
void cdconv_forward_normalized(const double *x, const double *packed, double *y, int images, int channels_in,
                               int channels_out, int height, int width, double *scratch, const double *scale,
                               const double *shift, const double *residual, int relu);

/*
 * Polynomial activations (polynomial.c): y = alpha_c ReLU(x) + (1 - alpha_c) p_c(clamp(x, -b_c, b_c))
 * over rows [row0, row0 + rows) of x viewed as [rows][inner], row r in channel (r % channels). p_c has
 * `terms` coefficients (lowest degree first) at coefficients + c * terms when per_channel, else shared;
 * bounds (b_c) may be NULL (no clamp), alphas may be NULL (then `alpha` for every channel).
 * Available when cpoly_available() and terms <= CPOLY_MAX_TERMS.
 */
#define CPOLY_MAX_TERMS 8
int cpoly_available(void);

void cpoly_blend_forward(const float *x, float *y, int row0, int rows, int inner, int channels,
                         const float *coefficients, int per_channel, int terms, const float *bounds,
                         const float *alphas, float alpha);

/* The pullback: dx (when not NULL) = dy * (alpha (x > 0) + (1 - alpha) p'(v) [|x| <= b]); and for each row,
   partial[(r - row0) * terms + k] = (1 - alpha) * sum_i dy_i v_i^k (the row's coefficient gradient). */
void cpoly_blend_backward(const float *x, const float *dy, float *dx, float *partial, int row0, int rows,
                          int inner, int channels, const float *coefficients, int per_channel, int terms,
                          const float *bounds, const float *alphas, float alpha);

/*
 * Stride-1 convolutions over Z_(2^64) (ringconv.c): y[o][oy][ox] += sum_{c,ky,kx} w[o][c][ky][kx] *
 * x[c][oy + ky - padding][ox + kx - padding] mod 2^64 (zero outside the input), output (H + 2p - k + 1) x
 * (W + 2p - k + 1). Available when cring_available() (AVX-512 F and DQ) and cring_conv_fits(); scratch holds
 * cring_conv_scratch_count(C, H, W, padding) elements (the zero-padded input).
 */
#define CRING_MAX_ROW 64
int cring_available(void);
int cring_conv_fits(int out_width, int kernel, int padding);
size_t cring_conv_scratch_count(int channels, int height, int width, int padding);
void cring_conv_accumulate(const uint64_t *w, const uint64_t *x, uint64_t *y, int channels, int height, int width,
                           int out_channels, int kernel, int padding, uint64_t *scratch);

/*
 * Gilboa's OT-based multiplication over Z_(2^ring), ring 64 or 128 (ole.c; TwoParty's OLE.swift keeps the
 * Swift reference loops and tests these against them). Pads: `count * bits` 16-byte blocks, element e's
 * bit i at row e * bits + i. x, y, shares: `count` uint64_t (ring 64) or unsigned __int128 (ring 128).
 * The corrections stream is packed least-significant bit first at widths ring - shift - i from bit `at`
 * of `words` (which must be zero there); each function returns the bit after the last one it used.
 */
/* Sender: corrections u1 - u0 - x, shares[e] = -sum_i u0 << (shift + i). */
size_t ckernels_ole_send(const uint64_t *pad0, const uint64_t *pad1, const void *x, size_t count, int ring,
                         int bits, int shift, uint64_t *words, size_t at, void *shares);
/* Receiver, before the corrections arrive: shares[e] = sum_i pad << (shift + i). */
void ckernels_ole_sum_pads(const uint64_t *pads, size_t count, int ring, int bits, int shift, void *shares);
/* Receiver: shares[e] -= sum_i (d_i if bit i of y[e]) << (shift + i), d_i read from the stream. */
size_t ckernels_ole_correct(const uint64_t *words, size_t at, const void *y, size_t count, int ring, int bits,
                            int shift, void *shares);

/*
 * The one-round polynomial's online loops in residues modulo J primes t_j < 2^50 (polyring.c; TwoParty's
 * OneRoundPolynomial.swift keeps the protocol, Swift reference loops and the tests holding these to them).
 * Products modulo t_j by a floating-point quotient estimate (tinv[j] = 1.0 / t_j). Masked values are packed
 * least-significant bit first (Lattice's MessageWriter order) at width bits[j], prime-major: prime j, power
 * i = 1..d, element k. `words` must be zero where the server kernel writes. Per-element arrays are rows of
 * n: masks and powers [J * d][n], shares, sums, tau and residues [J][n]. `vector`: 0 the scalar loops, 1
 * AVX-512 F/DQ products (floating-point quotients), 2 AVX-512 IFMA Montgomery products where the CPU has
 * them (each level falls back to the one below; 0 and 1 for tests).
 */
/* Server: S = x - 2^64 mod t_j, its powers, e_ij = H_i(S) - masks[j*d + i-1][k] (packed into words),
   sums[j][k] = H_0(S) + shares[j][k]. gamma: per channel, per prime, (d+1) x (d+1) rows gamma[i][m] (zero
   beyond m = d - i); element k belongs to channel k / plane. */
void cpolyring_server_send(long n, int d, int J, const uint64_t *t, const double *tinv, const int *bits,
                           const uint64_t *x, long plane, const uint64_t *gamma, const uint64_t *masks,
                           const uint64_t *shares, uint64_t *words, uint64_t *sums, int vector);
/* Client: tau[j][k] = shares[j][k] + sum_i powers[j*d + i-1][k] e_ij, e read from `bytes` (nbytes long,
   checked by the caller). `montgomery`: the same powers times 2^52 mod t_j (cpolyring_montgomery), for the
   IFMA products, or NULL. Returns -1, or the index of the first value not below its prime. */
long cpolyring_client_residues(long n, int d, int J, const uint64_t *t, const double *tinv, const int *bits,
                               const uint8_t *bytes, long nbytes, const uint64_t *powers, const uint64_t *montgomery,
                               const uint64_t *shares, uint64_t *tau, int vector);
/* out = in 2^52 mod t (values below t, t < 2^50); returns 0 (nothing written) without AVX-512 IFMA. */
int cpolyring_montgomery(long count, uint64_t t, const uint64_t *in, uint64_t *out);
/* CRT of residues[j][k] into [0, T) (T = prod t_j, four limbs; cofactors T / t_j, inverses (T / t_j)^-1
   mod t_j), minus T for the server, shifted right by `shift` < 192 (floor, two's complement), low 64 bits
   plus add[k] (NULL: 0). AVX-512 IFMA in radix 2^52 where the CPU has it. */
void cpolyring_shifted_shares(long n, int J, const uint64_t *t, const double *tinv, const uint64_t *inverses,
                              const uint64_t *cofactors, const uint64_t *product, const uint64_t *residues,
                              int shift, int server, const uint64_t *add, uint64_t *out, int vector);

/*
 * Negacyclic NTT modulo q < 2^50 (ntt.c; Lattice's NTTTables holds the tables and the Swift reference):
 * forward from natural to bit-reversed order, inverse back (times N^-1), both in place, outputs below q.
 * w / ws: psi^bitrev (or psi^-bitrev) and floor(w 2^52 / q). n a power of two >= 16. Only where
 * cntt_available() (AVX-512 IFMA).
 */
int cntt_available(void);
void cntt_forward(uint64_t *a, long n, uint64_t q, const uint64_t *w, const uint64_t *ws);
void cntt_inverse(uint64_t *a, long n, uint64_t q, const uint64_t *w, const uint64_t *ws, uint64_t ninv, uint64_t ninvs);
/* Per coefficient j < n (a multiple of 8) of the rows at offset `base`: l0 + h0 2^52 = sum_k xs[k] ys[k],
   l1 + h1 2^52 = sum_k zs[k] ys[k], for operands below 2^50 and at most 2^11 terms (IFMA; cntt_available). */
void cdot_ifma(long n, long terms, const uint64_t *const *xs, const uint64_t *const *zs, const uint64_t *const *ys,
               long base, uint64_t *h0, uint64_t *l0, uint64_t *h1, uint64_t *l1);

/*
 * ChaCha20 blocks (chacha.c): sixteen consecutive blocks from `counter`, key 8 words, nonce 3 words,
 * written as 256 words in block order. Only where cchacha_available() (AVX-512F).
 */
int cchacha_available(void);
void cchacha_blocks16(const uint32_t *key, const uint32_t *nonce, uint32_t counter, uint32_t *out);

/*
 * glibc hands freed blocks above its mmap threshold (128 KB, raised on the fly up to 32 MB) back to the
 * kernel, and the next allocation of that size pays a page fault and a page clear per 4 KB. The secure
 * protocols free and allocate tens of megabytes per layer: perf found half of an OT-based ReLU inference in
 * the kernel's clear_page. This sets the threshold to its maximum (32 MB) and turns trimming off, so freed
 * blocks up to that size are reused from the heap; resident memory stays at the peak the process reached.
 * Does nothing on other C libraries.
 */
/* Asks for transparent huge pages (madvise) over the 2 MiB-aligned interior of [p, p + bytes), before
   anything touches it: on this project's VMs a fresh 173 MB buffer faulted in 4 KiB pages took 52 ms
   (0.75 s the first time the guest used the memory), in 2 MiB pages 8 ms. No-op elsewhere. */
void ckernels_advise_huge_pages(void *p, size_t bytes);
void ckernels_keep_freed_memory(void);

/*
 * sums[c] += sum of y[c][p], squares[c] += sum of y[c][p]^2 over the hw pixels of each of `channels` planes
 * (moments.c): one image's per-channel moments for training batch norm, AVX-512 where cconv_available(), else
 * the plain loop (cchannel_moments_plain, also the tests' reference).
 */
void cchannel_moments(const float *y, int channels, int hw, double *sums, double *squares);
void cchannel_moments_plain(const float *y, int channels, int hw, double *sums, double *squares);

/*
 * Re-selects OpenBLAS's kernels from the CPU's features when the library chose a weaker class than the CPU has
 * (an unknown newer model falls back to generic SSE3 kernels) and OPENBLAS_CORETYPE is not set (blas_core.c).
 * Call before the first BLAS call and before any other thread uses BLAS. Returns the new core's name, or NULL
 * when nothing changed. ckernels_openblas_core_class: 3 AVX-512, 2 AVX2, 1 AVX, 0 other (for reports).
 */
const char *ckernels_fit_openblas_core(void);
int ckernels_openblas_core_class(const char *name);
/* Whether the loaded BLAS exports OpenBLAS's selector (a DYNAMIC_ARCH build): else nothing can be re-selected. */
int ckernels_openblas_selectable(void);

#ifdef __cplusplus
}
#endif
