/*
 * The per-element loops of Gilboa's OT-based multiplication (TwoParty/Multiplication/OLE.swift holds the
 * protocol, its Swift reference loops and the tests that hold these to them): packing the sender's
 * corrections at widths k - s - i and summing the pads into shares, in portable C with 128-bit integers.
 * perf had the Swift loops at a quarter of an all-polynomial ResNet-32's offline CPU time.
 *
 * Pads are 16-byte blocks (low word first, as TwoParty's Block); a ring element of Z_(2^64) is its pad's low
 * word, of Z_(2^128) the whole block. Values of Z_(2^128) are unsigned __int128 in memory (Swift's UInt128
 * has the same layout on the little-endian targets Swift runs on). The bit stream is least-significant bit
 * first, 64-bit words, as BitWriter writes it; `words` must be zero where the kernel writes.
 */
#include "ckernels.h"
#include <string.h>

typedef unsigned __int128 u128;

static inline u128 pad_value(const uint64_t *pads, size_t row, int ring) {
    u128 lo = pads[2 * row];
    return ring == 64 ? lo : lo | ((u128)pads[2 * row + 1] << 64);
}

static inline u128 low_bits(u128 v, int width) {
    return width >= 128 ? v : v & (((u128)1 << width) - 1);
}

/* ORs the low `width` (1..128) bits of v into the stream at bit `at`. */
static inline void put_bits(uint64_t *words, size_t at, u128 v, int width) {
    size_t w = at >> 6;
    int o = (int)(at & 63);
    v = low_bits(v, width);
    u128 shifted = v << o;
    words[w] |= (uint64_t)shifted;
    if (width + o > 64) words[w + 1] |= (uint64_t)(shifted >> 64);
    if (width + o > 128) words[w + 2] |= (uint64_t)(v >> (128 - o));
}

static inline u128 get_bits(const uint64_t *words, size_t at, int width) {
    size_t w = at >> 6;
    int o = (int)(at & 63);
    u128 v = (u128)words[w] >> o;
    if (width + o > 64) v |= (u128)words[w + 1] << (64 - o);
    if (width + o > 128) v |= (u128)words[w + 2] << (128 - o);
    return low_bits(v, width);
}

static inline u128 load_value(const void *values, size_t e, int ring) {
    return ring == 64 ? (u128)((const uint64_t *)values)[e] : ((const u128 *)values)[e];
}

static inline void store_value(void *values, size_t e, u128 v, int ring) {
    if (ring == 64) ((uint64_t *)values)[e] = (uint64_t)v;
    else ((u128 *)values)[e] = v;
}

/* Inlined twice (ring 64 and 128) so that each loop knows its ring. */
static inline size_t ole_send(const uint64_t *pad0, const uint64_t *pad1, const void *x, size_t count,
                              int ring, int bits, int shift, uint64_t *words, size_t at, void *shares) {
    for (size_t e = 0; e < count; e++) {
        u128 value = load_value(x, e, ring), share = 0;
        const size_t row0 = e * (size_t)bits;
        for (int i = 0; i < bits; i++) {
            u128 u0 = pad_value(pad0, row0 + i, ring), u1 = pad_value(pad1, row0 + i, ring);
            int width = ring - shift - i;
            put_bits(words, at, u1 - u0 - value, width);
            at += (size_t)width;
            share -= u0 << (shift + i);
        }
        store_value(shares, e, share, ring);
    }
    return at;
}

size_t ckernels_ole_send(const uint64_t *pad0, const uint64_t *pad1, const void *x, size_t count, int ring,
                         int bits, int shift, uint64_t *words, size_t at, void *shares) {
    return ring == 64 ? ole_send(pad0, pad1, x, count, 64, bits, shift, words, at, shares)
                      : ole_send(pad0, pad1, x, count, 128, bits, shift, words, at, shares);
}

static inline void ole_sum(const uint64_t *pads, size_t count, int ring, int bits, int shift, void *shares) {
    for (size_t e = 0; e < count; e++) {
        u128 share = 0;
        const size_t row0 = e * (size_t)bits;
        for (int i = 0; i < bits; i++) share += pad_value(pads, row0 + i, ring) << (shift + i);
        store_value(shares, e, share, ring);
    }
}

void ckernels_ole_sum_pads(const uint64_t *pads, size_t count, int ring, int bits, int shift, void *shares) {
    if (ring == 64) ole_sum(pads, count, 64, bits, shift, shares);
    else ole_sum(pads, count, 128, bits, shift, shares);
}

static inline size_t ole_correct(const uint64_t *words, size_t at, const void *y, size_t count, int ring,
                                 int bits, int shift, void *shares) {
    for (size_t e = 0; e < count; e++) {
        u128 value = load_value(y, e, ring), share = load_value(shares, e, ring);
        for (int i = 0; i < bits; i++) {
            int width = ring - shift - i;
            u128 d = get_bits(words, at, width);
            at += (size_t)width;
            u128 mask = (u128)0 - ((value >> i) & 1);
            share -= (d & mask) << (shift + i);
        }
        store_value(shares, e, share, ring);
    }
    return at;
}

size_t ckernels_ole_correct(const uint64_t *words, size_t at, const void *y, size_t count, int ring, int bits,
                            int shift, void *shares) {
    return ring == 64 ? ole_correct(words, at, y, count, 64, bits, shift, shares)
                      : ole_correct(words, at, y, count, 128, bits, shift, shares);
}
