/* STUN message encoding into a caller buffer. The header's length field is kept up to
 * date after every attribute, so integrity and fingerprint can be computed in place. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "stun/stun_internal.h"

static void set_len(floe_stun_builder *b) {
    if (!b->w.err) floe_put_u16(b->w.p + 2, (uint16_t)(b->w.len - FLOE_STUN_HEADER_LEN));
}

static void fail(floe_stun_builder *b, int err) {
    if (b->err == FLOE_OK) b->err = err;
}

static int init_common(floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                       floe_stun_class cls) {
    memset(b, 0, sizeof *b);
    b->w = floe_wr_init(buf, cap > FLOE_STUN_MAX_MSG + 0u ? FLOE_STUN_MAX_MSG : cap);
    if (method > 0xfff || (unsigned)cls > 3) return b->err = FLOE_ERR_INVAL;
    floe_wr_u16(&b->w, floe_stun_type(method, cls));
    floe_wr_u16(&b->w, 0);
    if (b->w.err) b->err = FLOE_ERR_NOSPACE;
    return b->err;
}

int floe_stun_builder_init(floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                           floe_stun_class cls, const uint8_t tid[FLOE_STUN_TID_LEN]) {
    if (init_common(b, buf, cap, method, cls) != FLOE_OK) return b->err;
    floe_wr_u32(&b->w, FLOE_STUN_MAGIC_COOKIE);
    floe_wr_bytes(&b->w, tid, FLOE_STUN_TID_LEN);
    if (b->w.err) b->err = FLOE_ERR_NOSPACE;
    return b->err;
}

int floe_stun_builder_init_classic(floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                                   floe_stun_class cls,
                                   const uint8_t tid[FLOE_STUN_CLASSIC_TID_LEN]) {
    if (init_common(b, buf, cap, method, cls) != FLOE_OK) return b->err;
    b->classic = true;
    floe_wr_bytes(&b->w, tid, FLOE_STUN_CLASSIC_TID_LEN);
    if (b->w.err) b->err = FLOE_ERR_NOSPACE;
    return b->err;
}

void floe_stun_builder_set_pad(floe_stun_builder *b, uint8_t pad) {
    b->pad = pad;
}

/* Reserves an attribute header plus padded value; returns the value pointer. */
static uint8_t *reserve(floe_stun_builder *b, uint16_t type, size_t len) {
    if (b->err) return NULL;
    if (len > 0xffff) {
        fail(b, FLOE_ERR_INVAL);
        return NULL;
    }
    size_t padded = (len + 3u) & ~(size_t)3u;
    uint8_t *q = floe_wr_reserve(&b->w, 4 + padded);
    if (!q) {
        fail(b, FLOE_ERR_NOSPACE);
        return NULL;
    }
    floe_put_u16(q, type);
    floe_put_u16(q + 2, (uint16_t)len);
    memset(q + 4 + len, b->pad, padded - len);
    set_len(b);
    return q + 4;
}

void floe_stun_add(floe_stun_builder *b, uint16_t type, const void *val, size_t len) {
    uint8_t *q = reserve(b, type, len);
    if (q && len) memcpy(q, val, len);
}

void floe_stun_add_u32(floe_stun_builder *b, uint16_t type, uint32_t v) {
    uint8_t *q = reserve(b, type, 4);
    if (q) floe_put_u32(q, v);
}

void floe_stun_add_u64(floe_stun_builder *b, uint16_t type, uint64_t v) {
    uint8_t *q = reserve(b, type, 8);
    if (q) {
        floe_put_u32(q, (uint32_t)(v >> 32));
        floe_put_u32(q + 4, (uint32_t)v);
    }
}

void floe_stun_add_string(floe_stun_builder *b, uint16_t type, const char *s) {
    floe_stun_add(b, type, s, strlen(s));
}

static void add_address(floe_stun_builder *b, uint16_t type, const floe_addr *a, bool xor) {
    size_t n = floe_addr_ip_len(a);
    if (n == 0) {
        fail(b, FLOE_ERR_INVAL);
        return;
    }
    uint8_t *q = reserve(b, type, 4 + n);
    if (!q) return;
    q[0] = 0;
    q[1] = n == 4 ? 0x01 : 0x02;
    uint16_t port = a->port;
    memcpy(q + 4, a->ip, n);
    if (xor) {
        uint8_t pad[16];
        floe_put_u32(pad, FLOE_STUN_MAGIC_COOKIE);
        /* the first 12 bytes of the transaction ID, as floe_stun_attr_addr() reads them
         * (a classic message's ID starts at byte 4) */
        memcpy(pad + 4, b->w.p + (b->classic ? 4 : 8), FLOE_STUN_TID_LEN);
        port ^= (uint16_t)(FLOE_STUN_MAGIC_COOKIE >> 16);
        for (size_t i = 0; i < n; i++)
            q[4 + i] ^= pad[i];
    }
    floe_put_u16(q + 2, port);
}

void floe_stun_add_addr(floe_stun_builder *b, uint16_t type, const floe_addr *a) {
    add_address(b, type, a, false);
}

void floe_stun_add_xor_addr(floe_stun_builder *b, uint16_t type, const floe_addr *a) {
    add_address(b, type, a, true);
}

void floe_stun_add_error(floe_stun_builder *b, int code, const char *reason) {
    if (code < 300 || code > 699) {
        fail(b, FLOE_ERR_INVAL);
        return;
    }
    if (!reason) reason = floe_stun_error_reason(code);
    size_t rlen = strlen(reason);
    if (rlen > FLOE_STUN_MAX_REASON) rlen = FLOE_STUN_MAX_REASON;
    uint8_t *q = reserve(b, FLOE_STUN_ATTR_ERROR_CODE, 4 + rlen);
    if (!q) return;
    q[0] = q[1] = 0;
    q[2] = (uint8_t)(code / 100);
    q[3] = (uint8_t)(code % 100);
    memcpy(q + 4, reason, rlen);
}

void floe_stun_add_unknown(floe_stun_builder *b, const uint16_t *types, size_t n) {
    uint8_t *q = reserve(b, FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
    if (!q) return;
    for (size_t i = 0; i < n; i++)
        floe_put_u16(q + 2 * i, types[i]);
}

static void add_mac(floe_stun_builder *b, uint16_t type, const char *digest, const uint8_t *key,
                    size_t key_len, size_t trunc) {
    if (b->err) return;
    size_t covered = b->w.len;
    uint8_t *q = reserve(b, type, trunc);
    if (!q) return;
    uint8_t mac[32];
    size_t mac_len = 0;
    int rc = floe_stun_hmac(digest, key, key_len, b->w.p, floe_get_u16(b->w.p + 2),
                            b->w.p + FLOE_STUN_HEADER_LEN, covered - FLOE_STUN_HEADER_LEN, mac,
                            &mac_len);
    if (rc != FLOE_OK || mac_len < trunc) {
        fail(b, rc != FLOE_OK ? rc : FLOE_ERR_CRYPTO);
        return;
    }
    memcpy(q, mac, trunc);
}

void floe_stun_add_integrity(floe_stun_builder *b, const uint8_t *key, size_t key_len) {
    add_mac(b, FLOE_STUN_ATTR_MESSAGE_INTEGRITY, "SHA1", key, key_len, 20);
}

void floe_stun_add_integrity_sha256(floe_stun_builder *b, const uint8_t *key, size_t key_len,
                                    size_t trunc) {
    if (trunc < 16 || trunc > 32 || trunc % 4 != 0) {
        fail(b, FLOE_ERR_INVAL);
        return;
    }
    add_mac(b, FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256", key, key_len, trunc);
}

void floe_stun_add_fingerprint(floe_stun_builder *b) {
    if (b->err) return;
    size_t covered = b->w.len;
    uint8_t *q = reserve(b, FLOE_STUN_ATTR_FINGERPRINT, 4);
    if (q) floe_put_u32(q, floe_stun_fingerprint(b->w.p, covered));
}

int floe_stun_builder_finish(floe_stun_builder *b, size_t *len) {
    if (b->err == FLOE_OK && b->w.err) b->err = FLOE_ERR_NOSPACE;
    if (b->err == FLOE_OK) *len = b->w.len;
    return b->err;
}
