/* STUN attributes: the type-length-value walk, per-type value checks and the address
 * value codec (plain and XOR-encoded). */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"

int floe_stun_attr_next(floe_rd *body, floe_stun_attr *out) {
    size_t left = floe_rd_left(body);
    if (body->err) return FLOE_ERR_TRUNCATED;
    if (left == 0) return FLOE_ERR_NOT_FOUND;
    if (left < 4) return FLOE_ERR_TRUNCATED;
    out->type = floe_rd_u16(body);
    out->len = floe_rd_u16(body);
    size_t padded = ((size_t)out->len + 3u) & ~(size_t)3u;
    /* RFC 8489 §14: the value is padded to a multiple of 4; padding must be present. */
    if (floe_rd_left(body) < padded) {
        body->err = true;
        return FLOE_ERR_TRUNCATED;
    }
    out->val = floe_rd_bytes(body, padded);
    return FLOE_OK;
}

bool floe_stun_attr_is_address(uint16_t t) {
    switch (t) {
    case FLOE_STUN_ATTR_MAPPED_ADDRESS:
    case FLOE_STUN_ATTR_RESPONSE_ADDRESS:
    case FLOE_STUN_ATTR_SOURCE_ADDRESS:
    case FLOE_STUN_ATTR_CHANGED_ADDRESS:
    case FLOE_STUN_ATTR_REFLECTED_FROM:
    case FLOE_STUN_ATTR_XOR_PEER_ADDRESS:
    case FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS:
    case FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS:
    case FLOE_STUN_ATTR_ALTERNATE_SERVER:
    case FLOE_STUN_ATTR_RESPONSE_ORIGIN:
    case FLOE_STUN_ATTR_OTHER_ADDRESS: return true;
    }
    return false;
}

bool floe_stun_attr_is_xor_address(uint16_t t) {
    return t == FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS || t == FLOE_STUN_ATTR_XOR_PEER_ADDRESS ||
           t == FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS;
}

/* PASSWORD-ALGORITHMS (RFC 8489 §14.11): a list of algorithm, length, padded params. */
static int check_password_algorithms(const floe_stun_attr *a) {
    floe_rd r = floe_rd_init(a->val, a->len);
    if (a->len == 0) return FLOE_ERR_MALFORMED;
    while (floe_rd_left(&r) > 0) {
        (void)floe_rd_u16(&r);
        uint16_t plen = floe_rd_u16(&r);
        (void)floe_rd_bytes(&r, ((size_t)plen + 3u) & ~(size_t)3u);
        if (r.err) return FLOE_ERR_MALFORMED;
    }
    return FLOE_OK;
}

static int check_error_code(const floe_stun_attr *a) {
    if (a->len < 4 || a->len > 4 + FLOE_STUN_MAX_REASON) return FLOE_ERR_MALFORMED;
    unsigned cls = a->val[2] & 0x7u, num = a->val[3];
    /* RFC 8489 §14.8: class 3..6, number 0..99 */
    if (cls < 3 || cls > 6 || num > 99) return FLOE_ERR_MALFORMED;
    return FLOE_OK;
}

int floe_stun_attr_check(const floe_stun_attr *a) {
    uint16_t n = a->len;
    if (floe_stun_attr_is_address(a->type)) {
        if (n < 4) return FLOE_ERR_MALFORMED;
        if (a->val[1] == 0x01) return n == 8 ? FLOE_OK : FLOE_ERR_MALFORMED;
        if (a->val[1] == 0x02) return n == 20 ? FLOE_OK : FLOE_ERR_MALFORMED;
        return FLOE_ERR_MALFORMED;
    }
    switch (a->type) {
    case FLOE_STUN_ATTR_USERNAME: return n <= FLOE_STUN_MAX_USERNAME ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_REALM: return n <= FLOE_STUN_MAX_REALM ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_NONCE: return n <= FLOE_STUN_MAX_NONCE ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_SOFTWARE: return n <= FLOE_STUN_MAX_SOFTWARE ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_ALTERNATE_DOMAIN: return n <= 255 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY: return n == 20 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
        return (n >= 16 && n <= 32 && n % 4 == 0) ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_ERROR_CODE:
    case FLOE_STUN_ATTR_ADDRESS_ERROR_CODE:
        if (a->type == FLOE_STUN_ATTR_ADDRESS_ERROR_CODE && n >= 4 &&
            (a->val[0] != 0x01 && a->val[0] != 0x02))
            return FLOE_ERR_MALFORMED;
        return check_error_code(a);
    case FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES: return n % 2 == 0 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_CHANGE_REQUEST:
    case FLOE_STUN_ATTR_CHANNEL_NUMBER:
    case FLOE_STUN_ATTR_LIFETIME:
    case FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case FLOE_STUN_ATTR_REQUESTED_TRANSPORT:
    case FLOE_STUN_ATTR_PRIORITY:
    case FLOE_STUN_ATTR_RESPONSE_PORT:
    case FLOE_STUN_ATTR_CONNECTION_ID:
    case FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY:
    case FLOE_STUN_ATTR_CACHE_TIMEOUT:
    case FLOE_STUN_ATTR_FINGERPRINT: return n == 4 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_EVEN_PORT: return n == 1 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_DONT_FRAGMENT:
    case FLOE_STUN_ATTR_USE_CANDIDATE: return n == 0 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_USERHASH: return n == 32 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_RESERVATION_TOKEN:
    case FLOE_STUN_ATTR_ICMP:
    case FLOE_STUN_ATTR_ICE_CONTROLLED:
    case FLOE_STUN_ATTR_ICE_CONTROLLING: return n == 8 ? FLOE_OK : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHM:
        return (n >= 4 && (size_t)n == 4u + floe_get_u16(a->val + 2)) ? FLOE_OK
                                                                      : FLOE_ERR_MALFORMED;
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHMS: return check_password_algorithms(a);
    }
    return FLOE_OK; /* DATA, PADDING, PASSWORD and unknown types: any length */
}

int floe_stun_attr_addr(const floe_stun_msg *m, const floe_stun_attr *a, floe_addr *out) {
    if (!floe_stun_attr_is_address(a->type) || floe_stun_attr_check(a) != FLOE_OK)
        return FLOE_ERR_MALFORMED;
    memset(out, 0, sizeof *out);
    uint16_t port = floe_get_u16(a->val + 2);
    size_t n = a->val[1] == 0x01 ? 4 : 16;
    memcpy(out->ip, a->val + 4, n);
    out->family = n == 4 ? FLOE_AF_INET4 : FLOE_AF_INET6;
    if (floe_stun_attr_is_xor_address(a->type)) {
        /* RFC 8489 §14.2: XOR with the magic cookie, then (IPv6) the transaction ID. */
        uint8_t pad[16];
        floe_put_u32(pad, FLOE_STUN_MAGIC_COOKIE);
        memcpy(pad + 4, m->tid, FLOE_STUN_TID_LEN);
        port ^= (uint16_t)(FLOE_STUN_MAGIC_COOKIE >> 16);
        for (size_t i = 0; i < n; i++)
            out->ip[i] ^= pad[i];
    }
    out->port = port;
    return FLOE_OK;
}
