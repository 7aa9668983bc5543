/* A FIFO of records (a fixed header and a body of any length) in one caller buffer: the
 * transaction layer's send and event queues. Records are contiguous; when the free space
 * at the end is too short, the live records move to the front. */
#include <string.h>

#include "sip/sip_txn_priv.h"

typedef struct rec_len {
    uint32_t body_len;
} rec_len;

void sip_ring_init(sip_ring *r, uint8_t *buf, size_t cap, size_t hdr_len) {
    r->buf = buf;
    r->cap = cap;
    r->head = r->tail = 0;
    r->hdr_len = hdr_len;
    r->count = 0;
}

size_t sip_ring_record_size(const sip_ring *r, size_t body_len) {
    return sizeof(rec_len) + r->hdr_len + body_len;
}

bool sip_ring_push(sip_ring *r, const void *hdr, const void *body, size_t body_len) {
    if (body_len > UINT32_MAX) return false;
    size_t need = sip_ring_record_size(r, body_len);
    size_t live = r->tail - r->head;
    if (need > r->cap - live) return false;
    if (need > r->cap - r->tail) {
        memmove(r->buf, r->buf + r->head, live);
        r->head = 0;
        r->tail = live;
    }
    uint8_t *p = r->buf + r->tail;
    rec_len l = {(uint32_t)body_len};
    memcpy(p, &l, sizeof l);
    memcpy(p + sizeof l, hdr, r->hdr_len);
    if (body_len) memcpy(p + sizeof l + r->hdr_len, body, body_len);
    r->tail += need;
    r->count++;
    return true;
}

bool sip_ring_peek(const sip_ring *r, void *hdr, size_t *body_len) {
    if (r->count == 0) return false;
    const uint8_t *p = r->buf + r->head;
    rec_len l;
    memcpy(&l, p, sizeof l);
    if (hdr) memcpy(hdr, p + sizeof l, r->hdr_len);
    if (body_len) *body_len = l.body_len;
    return true;
}

bool sip_ring_pop(sip_ring *r, void *hdr, void *body, size_t cap, size_t *body_len) {
    size_t n;
    if (!sip_ring_peek(r, hdr, &n) || n > cap) return false;
    const uint8_t *p = r->buf + r->head;
    if (n) memcpy(body, p + sizeof(rec_len) + r->hdr_len, n);
    if (body_len) *body_len = n;
    r->head += sip_ring_record_size(r, n);
    if (--r->count == 0) r->head = r->tail = 0;
    return true;
}
