/* What the stateful fuzz targets share: the fuzz input read as a stream of small numbers
 * (past its end every read is 0, so any input is a whole program), and a deterministic
 * random source for the code under test (xorshift64, seeded by the target). */
#ifndef FLOE_FUZZ_INPUT_H
#define FLOE_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "floe/err.h"

typedef struct input {
    const uint8_t *p;
    size_t n, off;
} input;

static inline uint8_t u8(input *in) {
    return in->off < in->n ? in->p[in->off++] : 0;
}

static inline uint16_t u16(input *in) {
    uint16_t hi = u8(in);
    return (uint16_t)(hi << 8 | u8(in));
}

static inline uint32_t u32(input *in) {
    uint32_t hi = u16(in);
    return hi << 16 | u16(in);
}

/* rand for floe's configs: ctx points to the uint64_t state (never 0). */
static inline int fuzz_rand(void *ctx, void *buf, size_t len) {
    uint64_t *s = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        p[i] = (uint8_t)(*s >> 32);
    }
    return FLOE_OK;
}

#endif
