/* floe: bounds-checked byte reader and writer (network byte order).
 *
 * A reader never reads past its end: a read that would overrun sets the sticky `err`
 * flag and returns zeros, so a parser can read a whole header and check once. A writer
 * never writes past its capacity: an overflow sets `err` and further writes do nothing.
 * Neither allocates. */
#ifndef FLOE_BYTES_H
#define FLOE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct floe_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
} floe_rd;

typedef struct floe_wr {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool err;
} floe_wr;

static inline floe_rd floe_rd_init(const uint8_t *p, size_t len) {
    floe_rd r = {p, len, 0, false};
    return r;
}
static inline size_t floe_rd_left(const floe_rd *r) {
    return r->err ? 0 : r->len - r->off;
}
static inline bool floe_rd_need(floe_rd *r, size_t n) {
    if (r->err || r->len - r->off < n) {
        r->err = true;
        return false;
    }
    return true;
}
static inline uint8_t floe_rd_u8(floe_rd *r) {
    if (!floe_rd_need(r, 1)) return 0;
    return r->p[r->off++];
}
static inline uint16_t floe_rd_u16(floe_rd *r) {
    if (!floe_rd_need(r, 2)) return 0;
    uint16_t v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return v;
}
static inline uint32_t floe_rd_u32(floe_rd *r) {
    if (!floe_rd_need(r, 4)) return 0;
    const uint8_t *q = r->p + r->off;
    r->off += 4;
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}
static inline uint64_t floe_rd_u64(floe_rd *r) {
    uint64_t hi = floe_rd_u32(r);
    return (hi << 32) | floe_rd_u32(r);
}
/* Returns a pointer to the next n bytes and skips them, or NULL (and err) if short. */
static inline const uint8_t *floe_rd_bytes(floe_rd *r, size_t n) {
    if (!floe_rd_need(r, n)) return NULL;
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

static inline floe_wr floe_wr_init(uint8_t *p, size_t cap) {
    floe_wr w = {p, cap, 0, false};
    return w;
}
static inline uint8_t *floe_wr_reserve(floe_wr *w, size_t n) {
    if (w->err || w->cap - w->len < n) {
        w->err = true;
        return NULL;
    }
    uint8_t *q = w->p + w->len;
    w->len += n;
    return q;
}
static inline void floe_wr_u8(floe_wr *w, uint8_t v) {
    uint8_t *q = floe_wr_reserve(w, 1);
    if (q) q[0] = v;
}
static inline void floe_wr_u16(floe_wr *w, uint16_t v) {
    uint8_t *q = floe_wr_reserve(w, 2);
    if (q) {
        q[0] = (uint8_t)(v >> 8);
        q[1] = (uint8_t)v;
    }
}
static inline void floe_wr_u32(floe_wr *w, uint32_t v) {
    uint8_t *q = floe_wr_reserve(w, 4);
    if (q) {
        q[0] = (uint8_t)(v >> 24);
        q[1] = (uint8_t)(v >> 16);
        q[2] = (uint8_t)(v >> 8);
        q[3] = (uint8_t)v;
    }
}
static inline void floe_wr_u64(floe_wr *w, uint64_t v) {
    floe_wr_u32(w, (uint32_t)(v >> 32));
    floe_wr_u32(w, (uint32_t)v);
}
void floe_wr_bytes(floe_wr *w, const void *src, size_t n);
void floe_wr_zeros(floe_wr *w, size_t n);

/* The decimal digits of v into out (no sign, no NUL); returns how many (1..20). */
static inline size_t floe_dec_u64(uint64_t v, char out[20]) {
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

/* Big-endian helpers on raw memory (caller guarantees the bounds). */
static inline uint16_t floe_get_u16(const uint8_t *p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t floe_get_u32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void floe_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void floe_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
