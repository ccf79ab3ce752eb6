/* Internal declarations shared by the CAES implementation files (not part of the public header). */
#pragma once
#include "caes.h"

/* Portable constant-time software AES (aes_soft.c). */
void caes_soft_expand_key(const uint8_t key[16], uint8_t rk[176]);
void caes_soft_encrypt_block(const uint8_t rk[176], const uint8_t in[16], uint8_t out[16]);

/* AES-NI (aes_ni.c); only call when caes_has_aesni(). */
void caes_ni_expand_key(const uint8_t key[16], uint8_t rk[176]);
void caes_ni_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n);
void caes_ni_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n);
void caes_ni_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n,
                              uint64_t tweak0, uint64_t stride);
void caes_ni_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n);
void caes_ni_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                    size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables);
/* One AND gate for copies [c, n) of a chunk of n copies (the vector kernels' leftovers). */
void caes_ni_garble_and(const uint8_t *rk, const uint8_t *A, const uint8_t *B, uint8_t *C, size_t c, size_t n,
                        const uint8_t *delta, uint64_t gate_id0, size_t nand, size_t j, uint8_t *tables);
void caes_ni_evaluate_and(const uint8_t *rk, const uint8_t *A, const uint8_t *B, uint8_t *C, size_t c, size_t n,
                          uint64_t gate_id0, size_t nand, size_t j, const uint8_t *tables);
void caes_ni_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                      size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables);

/* VAES + AVX-512 (aes_vaes.c); only call when caes_has_vaes(). */
void caes_vaes_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n);
void caes_vaes_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n);
void caes_vaes_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n,
                                uint64_t tweak0, uint64_t stride);
void caes_vaes_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n);
void caes_vaes_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                      size_t n, const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables);
void caes_vaes_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels,
                        size_t n, uint64_t gate_id0, size_t nand, const uint8_t *tables);
