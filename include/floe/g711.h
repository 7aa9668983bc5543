/* floe: G.711 companding (ITU-T G.711), the PCMU and PCMA audio codecs of RFC 3551.
 *
 * G.711 maps a linear sample to one octet with a piecewise-linear approximation of a
 * logarithm: eight segments ("chords") per sign, each twice as wide as the one below it,
 * each cut into sixteen equal steps. A sample is coded as sign, segment number (3 bits)
 * and step within the segment (4 bits); decoding returns the middle of that step, so the
 * error is at most half a step and grows with the amplitude (about 1/32 of it).
 *
 *   mu-law (PCMU, RTP payload type 0): 14-bit magnitude range; a bias of 33 (132 on the
 *     16-bit scale) is added before the segment is found so that the segments line up
 *     on powers of two; all bits are inverted on the wire. Zero codes as 0xFF.
 *   A-law (PCMA, RTP payload type 8): 13-bit range; the two lowest segments share one
 *     step size (so the curve is linear near zero); even bits are inverted (XOR 0x55) on
 *     the wire. There is no code for zero: 0 codes as 0xD5, which decodes to +8.
 *
 * These functions take and return 16-bit linear samples (the scale WAV files and sound
 * cards use): the low bits G.711 does not carry are dropped when encoding and the
 * decoded value is scaled back up. Samples beyond the largest code's range clip to it.
 * Pure functions: no state, no allocation, no tables. */
#ifndef FLOE_G711_H
#define FLOE_G711_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 3551 §6, table 4: static payload types, both at 8000 Hz, one channel. */
#define FLOE_RTP_PT_PCMU 0
#define FLOE_RTP_PT_PCMA 8

typedef enum floe_g711_law {
    FLOE_G711_ULAW, /* mu-law, PCMU */
    FLOE_G711_ALAW, /* A-law, PCMA */
} floe_g711_law;

uint8_t floe_g711_ulaw_encode(int16_t sample);
int16_t floe_g711_ulaw_decode(uint8_t code);
uint8_t floe_g711_alaw_encode(int16_t sample);
int16_t floe_g711_alaw_decode(uint8_t code);

/* Whole buffers: n samples in, n octets out (and back). in and out may not overlap. */
void floe_g711_encode(floe_g711_law law, const int16_t *in, size_t n, uint8_t *out);
void floe_g711_decode(floe_g711_law law, const uint8_t *in, size_t n, int16_t *out);

#ifdef __cplusplus
}
#endif
#endif
