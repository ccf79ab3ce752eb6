/*
 * On architectures other than x86 the AES-NI and VAES files compile to nothing and caes_has_aesni() /
 * caes_has_vaes() report 0, so the dispatcher only ever picks the portable software path. These
 * definitions satisfy the linker for the hardware branches it never takes.
 */
#include "caes_internal.h"

#if !(defined(__x86_64__) || defined(__i386__))
#include <stdlib.h>

#define UNREACHABLE { abort(); }
void caes_ni_expand_key(const uint8_t key[16], uint8_t rk[176]) UNREACHABLE
void caes_ni_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n) UNREACHABLE
void caes_ni_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n) UNREACHABLE
void caes_ni_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n, uint64_t tweak0,
                              uint64_t stride) UNREACHABLE
void caes_ni_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n) UNREACHABLE
void caes_ni_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels, size_t n,
                    const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) UNREACHABLE
void caes_ni_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels, size_t n,
                      uint64_t gate_id0, size_t nand, const uint8_t *tables) UNREACHABLE
void caes_vaes_encrypt_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n) UNREACHABLE
void caes_vaes_cr_hash_blocks(const uint8_t *rk, uint8_t *blocks, size_t n) UNREACHABLE
void caes_vaes_tccr_hash_blocks(const uint8_t *rk, const uint8_t *in, uint8_t *out, size_t n, uint64_t tweak0,
                                uint64_t stride) UNREACHABLE
void caes_vaes_ctr_blocks(const uint8_t *rk, uint64_t nonce, uint64_t counter0, uint8_t *out, size_t n) UNREACHABLE
void caes_vaes_garble(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels, size_t n,
                      const uint8_t *delta, uint64_t gate_id0, size_t nand, uint8_t *tables) UNREACHABLE
void caes_vaes_evaluate(const uint8_t *rk, const caes_gate *gates, size_t ngates, uint8_t *labels, size_t n,
                        uint64_t gate_id0, size_t nand, const uint8_t *tables) UNREACHABLE
#endif
