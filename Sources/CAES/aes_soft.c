/*
 * Portable AES-128 (FIPS-197, sections 5.1 and 5.2), written for clarity and constant time rather than
 * speed: the S-box is computed as the affine map of the GF(2^8) inverse x^254 with branch-free
 * multiplications, so no secret-indexed table lookups happen. This is the fallback for CPUs without
 * AES-NI and the reference that the AES-NI path is tested against.
 */
#include "caes_internal.h"
#include <string.h>

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without branches on the operands. */
static uint8_t gf_mul(uint8_t a, uint8_t b) {
    uint8_t product = 0;
    for (int i = 0; i < 8; i++) {
        product ^= (uint8_t)(-(b & 1)) & a;
        uint8_t carry = (uint8_t)(-(a >> 7));
        a = (uint8_t)((a << 1) ^ (carry & 0x1b));
        b >>= 1;
    }
    return product;
}

/* S-box (FIPS-197 5.1.1): b = x^254 (the inverse, 0 -> 0), then the affine transformation. */
static uint8_t sub_byte(uint8_t x) {
    uint8_t x2 = gf_mul(x, x);
    uint8_t x3 = gf_mul(x2, x);
    uint8_t x6 = gf_mul(x3, x3);
    uint8_t x7 = gf_mul(x6, x);
    uint8_t x14 = gf_mul(x7, x7);
    uint8_t x15 = gf_mul(x14, x);
    uint8_t x30 = gf_mul(x15, x15);
    uint8_t x31 = gf_mul(x30, x);
    uint8_t x62 = gf_mul(x31, x31);
    uint8_t x63 = gf_mul(x62, x);
    uint8_t x126 = gf_mul(x63, x63);
    uint8_t x127 = gf_mul(x126, x);
    uint8_t b = gf_mul(x127, x127); /* x^254 */
    uint8_t s = b;
    for (int i = 1; i <= 4; i++) s ^= (uint8_t)((b << i) | (b >> (8 - i)));
    return (uint8_t)(s ^ 0x63);
}

void caes_soft_expand_key(const uint8_t key[16], uint8_t rk[176]) {
    static const uint8_t rcon[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};
    memcpy(rk, key, 16);
    for (int i = 4; i < 44; i++) {
        uint8_t t[4];
        memcpy(t, rk + 4 * (i - 1), 4);
        if (i % 4 == 0) {
            uint8_t first = t[0]; /* RotWord, SubWord, Rcon */
            t[0] = (uint8_t)(sub_byte(t[1]) ^ rcon[i / 4 - 1]);
            t[1] = sub_byte(t[2]);
            t[2] = sub_byte(t[3]);
            t[3] = sub_byte(first);
        }
        for (int j = 0; j < 4; j++) rk[4 * i + j] = (uint8_t)(rk[4 * (i - 4) + j] ^ t[j]);
    }
}

static uint8_t xtime(uint8_t a) { return (uint8_t)((a << 1) ^ ((uint8_t)(-(a >> 7)) & 0x1b)); }

void caes_soft_encrypt_block(const uint8_t rk[176], const uint8_t in[16], uint8_t out[16]) {
    uint8_t s[16], t[16];
    for (int i = 0; i < 16; i++) s[i] = (uint8_t)(in[i] ^ rk[i]);
    for (int round = 1; round <= 10; round++) {
        /* SubBytes and ShiftRows: state byte (row r, column c) sits at index r + 4c. */
        for (int c = 0; c < 4; c++)
            for (int r = 0; r < 4; r++) t[r + 4 * c] = sub_byte(s[r + 4 * ((c + r) % 4)]);
        if (round < 10) { /* MixColumns */
            for (int c = 0; c < 4; c++) {
                uint8_t a0 = t[4 * c], a1 = t[4 * c + 1], a2 = t[4 * c + 2], a3 = t[4 * c + 3];
                uint8_t all = (uint8_t)(a0 ^ a1 ^ a2 ^ a3);
                t[4 * c] = (uint8_t)(a0 ^ all ^ xtime((uint8_t)(a0 ^ a1)));
                t[4 * c + 1] = (uint8_t)(a1 ^ all ^ xtime((uint8_t)(a1 ^ a2)));
                t[4 * c + 2] = (uint8_t)(a2 ^ all ^ xtime((uint8_t)(a2 ^ a3)));
                t[4 * c + 3] = (uint8_t)(a3 ^ all ^ xtime((uint8_t)(a3 ^ a0)));
            }
        }
        for (int i = 0; i < 16; i++) s[i] = (uint8_t)(t[i] ^ rk[16 * round + i]);
    }
    memcpy(out, s, 16);
}
