/* G.711 mu-law and A-law, from the segment/step description in ITU-T G.711 (see
 * floe/g711.h for the shape of the two curves). */
#include "floe/g711.h"

/* Index of the highest set bit of v (v > 0). */
static unsigned top_bit(unsigned v) {
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
}

/* ---- mu-law ------------------------------------------------------------------------- */

/* The bias added to a magnitude before its segment is found, on the 14-bit scale of
 * the encoder (33) and on the 16-bit scale of the decoder's output (132), and the largest
 * 14-bit magnitude that still fits once biased (the top of segment 7 is 0x1FFF). */
#define ULAW_BIAS14 33
#define ULAW_BIAS 132
#define ULAW_CLIP14 (0x1FFF - ULAW_BIAS14)

uint8_t floe_g711_ulaw_encode(int16_t sample) {
    /* mu-law works on 14 bits: the two low bits are dropped (rounding down, so that
     * negative values keep their two's complement steps), then sign and magnitude. */
    int x = sample >> 2;
    unsigned sign = 0;
    if (x < 0) {
        sign = 0x80;
        x = -x;
    }
    if (x > ULAW_CLIP14) x = ULAW_CLIP14;
    /* Biased, the magnitude lies in [2^(5+seg), 2^(6+seg)) for segment seg: its top bit
     * gives the segment, and the four bits below it the step. */
    unsigned v = (unsigned)x + ULAW_BIAS14;
    unsigned seg = top_bit(v) - 5;
    unsigned step = (v >> (seg + 1)) & 0x0F;
    /* The wire form inverts every bit; a positive sample has its sign bit set there. */
    return (uint8_t) ~(sign | (seg << 4) | step);
}

int16_t floe_g711_ulaw_decode(uint8_t code) {
    unsigned c = (uint8_t)~code;
    unsigned seg = (c >> 4) & 0x07;
    unsigned step = c & 0x0F;
    /* Middle of the step, still biased: the step's lower edge plus half a step. */
    int v = (int)(((step << 3) + ULAW_BIAS) << seg);
    int x = v - ULAW_BIAS;
    return (int16_t)((c & 0x80) ? -x : x);
}

/* ---- A-law -------------------------------------------------------------------------- */

uint8_t floe_g711_alaw_encode(int16_t sample) {
    /* A-law works on 13 bits. A negative sample is folded onto the magnitude one below
     * its absolute value, so that -1 and 0 land in the lowest step of each sign. */
    int x = sample >> 3;
    unsigned sign = 0x80; /* set for positive values before the even-bit inversion */
    if (x < 0) {
        sign = 0;
        x = -x - 1;
    }
    if (x > 0x0FFF) x = 0x0FFF;
    unsigned m = (unsigned)x;
    unsigned seg, step;
    if (m < 32) {
        /* Segment 0 covers [0, 32) in steps of 2, like segment 1: a line through zero. */
        seg = 0;
        step = m >> 1;
    } else {
        /* Segment seg >= 1 covers [2^(seg+4), 2^(seg+5)) in sixteen steps of 2^seg. */
        seg = top_bit(m) - 4;
        step = (m >> seg) & 0x0F;
    }
    return (uint8_t)((sign | (seg << 4) | step) ^ 0x55);
}

int16_t floe_g711_alaw_decode(uint8_t code) {
    unsigned c = code ^ 0x55u;
    unsigned seg = (c >> 4) & 0x07;
    unsigned step = c & 0x0F;
    /* The middle of the step on the 13-bit scale is 2 step + 1 in segment 0 and
     * (2 step + 33) 2^(seg-1) above it; eight times that on the 16-bit scale. */
    int x = seg == 0 ? (int)((2 * step + 1) << 3) : (int)((2 * step + 33) << (seg + 2));
    return (int16_t)((c & 0x80) ? x : -x);
}

void floe_g711_encode(floe_g711_law law, const int16_t *in, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++)
        out[i] =
            law == FLOE_G711_ALAW ? floe_g711_alaw_encode(in[i]) : floe_g711_ulaw_encode(in[i]);
}

void floe_g711_decode(floe_g711_law law, const uint8_t *in, size_t n, int16_t *out) {
    for (size_t i = 0; i < n; i++)
        out[i] =
            law == FLOE_G711_ALAW ? floe_g711_alaw_decode(in[i]) : floe_g711_ulaw_decode(in[i]);
}
