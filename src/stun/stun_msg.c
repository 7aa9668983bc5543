/* STUN message decoding: header validation, the attribute index, FINGERPRINT, and the
 * typed readers. Nothing here allocates; the message view points into the caller's
 * buffer. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"

bool floe_stun_looks_like(const uint8_t *p, size_t len) {
    /* RFC 7983 §7: first byte 0..3 is STUN. */
    return len >= FLOE_STUN_HEADER_LEN && p[0] < 4;
}

int floe_stun_frame_len(const uint8_t *p, size_t len, size_t *need) {
    if (len >= 1 && (p[0] & 0xc0) != 0) return FLOE_ERR_NOT_STUN;
    if (len < FLOE_STUN_HEADER_LEN) return FLOE_ERR_TRUNCATED;
    uint16_t body = floe_get_u16(p + 2);
    if (body % 4 != 0 || floe_get_u32(p + 4) != FLOE_STUN_MAGIC_COOKIE) return FLOE_ERR_NOT_STUN;
    *need = FLOE_STUN_HEADER_LEN + (size_t)body;
    return FLOE_OK;
}

/* Attributes that may follow MESSAGE-INTEGRITY (RFC 8489 §14.5) / -SHA256 (§14.6). */
static bool counts_after_integrity(const floe_stun_msg *m, uint16_t type) {
    if (m->mi256 >= 0) return type == FLOE_STUN_ATTR_FINGERPRINT;
    if (m->mi >= 0)
        return type == FLOE_STUN_ATTR_FINGERPRINT ||
               type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
    return true;
}

static bool is_known(uint16_t type) {
    return floe_stun_attr_name(type) != NULL;
}

int floe_stun_msg_decode(const uint8_t *p, size_t len, unsigned flags, floe_stun_msg *m) {
    m->n_attrs = 0;
    m->mi = m->mi256 = m->fp = -1;
    m->n_ignored = m->n_unknown = 0;
    /* One rule for short and full input alike, as in the stream framer: the top two bits
     * of a STUN message are zero (RFC 8489 §5). */
    if (len < FLOE_STUN_HEADER_LEN)
        return len > 0 && (p[0] & 0xc0) ? FLOE_ERR_NOT_STUN : FLOE_ERR_TRUNCATED;
    if ((p[0] & 0xc0) != 0) return FLOE_ERR_NOT_STUN; /* RFC 8489 §5: top two bits zero */
    uint16_t body = floe_get_u16(p + 2);
    bool cookie = floe_get_u32(p + 4) == FLOE_STUN_MAGIC_COOKIE;
    if (!cookie && !(flags & FLOE_STUN_DECODE_CLASSIC)) return FLOE_ERR_NOT_STUN;
    if (body % 4 != 0) return FLOE_ERR_MALFORMED;
    if ((size_t)body + FLOE_STUN_HEADER_LEN > len) return FLOE_ERR_TRUNCATED;

    m->type = floe_get_u16(p);
    m->method = floe_stun_type_method(m->type);
    m->cls = floe_stun_type_class(m->type);
    m->classic = !cookie;
    memset(m->tid, 0, sizeof m->tid);
    if (cookie)
        memcpy(m->tid, p + 8, FLOE_STUN_TID_LEN);
    else
        memcpy(m->tid, p + 4, FLOE_STUN_CLASSIC_TID_LEN);
    m->raw = p;
    m->raw_len = FLOE_STUN_HEADER_LEN + (size_t)body;

    floe_rd r = floe_rd_init(p + FLOE_STUN_HEADER_LEN, body);
    floe_stun_attr a;
    int rc;
    while ((rc = floe_stun_attr_next(&r, &a)) == FLOE_OK) {
        if (m->fp >= 0) return FLOE_ERR_MALFORMED; /* RFC 8489 §14.7: FINGERPRINT is last */
        if (!counts_after_integrity(m, a.type)) {
            m->n_ignored++;
            continue;
        }
        if (floe_stun_attr_check(&a) != FLOE_OK) return FLOE_ERR_MALFORMED;
        if (m->n_attrs == FLOE_STUN_MAX_ATTRS) return FLOE_ERR_LIMIT;
        int16_t idx = (int16_t)m->n_attrs;
        m->attrs[m->n_attrs++] = a;
        switch (a.type) {
        case FLOE_STUN_ATTR_MESSAGE_INTEGRITY:
            if (m->mi < 0) m->mi = idx;
            break;
        case FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
            if (m->mi256 < 0) m->mi256 = idx;
            break;
        case FLOE_STUN_ATTR_FINGERPRINT: m->fp = idx; break;
        default:
            if (floe_stun_attr_required(a.type) && !is_known(a.type) &&
                m->n_unknown < FLOE_STUN_MAX_UNKNOWN) {
                bool dup = false;
                for (unsigned i = 0; i < m->n_unknown; i++)
                    dup |= m->unknown[i] == a.type;
                if (!dup) m->unknown[m->n_unknown++] = a.type;
            }
        }
    }
    if (rc != FLOE_ERR_NOT_FOUND) return FLOE_ERR_MALFORMED;
    if (m->fp >= 0) {
        const floe_stun_attr *f = &m->attrs[m->fp];
        size_t covered = (size_t)(f->val - 4 - p);
        if (floe_get_u32(f->val) != floe_stun_fingerprint(p, covered)) return FLOE_ERR_FINGERPRINT;
    }
    return FLOE_OK;
}

const floe_stun_attr *floe_stun_msg_find(const floe_stun_msg *m, uint16_t type) {
    for (size_t i = 0; i < m->n_attrs; i++)
        if (m->attrs[i].type == type) return &m->attrs[i];
    return NULL;
}

int floe_stun_msg_get_addr(const floe_stun_msg *m, uint16_t type, floe_addr *out) {
    const floe_stun_attr *a = floe_stun_msg_find(m, type);
    return a ? floe_stun_attr_addr(m, a, out) : FLOE_ERR_NOT_FOUND;
}

int floe_stun_msg_get_u32(const floe_stun_msg *m, uint16_t type, uint32_t *out) {
    const floe_stun_attr *a = floe_stun_msg_find(m, type);
    if (!a) return FLOE_ERR_NOT_FOUND;
    if (a->len != 4) return FLOE_ERR_MALFORMED;
    *out = floe_get_u32(a->val);
    return FLOE_OK;
}

int floe_stun_msg_get_u64(const floe_stun_msg *m, uint16_t type, uint64_t *out) {
    const floe_stun_attr *a = floe_stun_msg_find(m, type);
    if (!a) return FLOE_ERR_NOT_FOUND;
    if (a->len != 8) return FLOE_ERR_MALFORMED;
    *out = ((uint64_t)floe_get_u32(a->val) << 32) | floe_get_u32(a->val + 4);
    return FLOE_OK;
}

int floe_stun_msg_get_string(const floe_stun_msg *m, uint16_t type, const char **s, size_t *len) {
    const floe_stun_attr *a = floe_stun_msg_find(m, type);
    if (!a) return FLOE_ERR_NOT_FOUND;
    *s = (const char *)a->val;
    *len = a->len;
    return FLOE_OK;
}

int floe_stun_msg_get_error(const floe_stun_msg *m, int *code, const char **reason,
                            size_t *reason_len) {
    const floe_stun_attr *a = floe_stun_msg_find(m, FLOE_STUN_ATTR_ERROR_CODE);
    if (!a) return FLOE_ERR_NOT_FOUND;
    if (a->len < 4) return FLOE_ERR_MALFORMED;
    *code = (a->val[2] & 0x7) * 100 + a->val[3];
    if (reason) *reason = (const char *)a->val + 4;
    if (reason_len) *reason_len = a->len - 4u;
    return FLOE_OK;
}

int floe_stun_msg_get_unknown(const floe_stun_msg *m, uint16_t *out, size_t max, size_t *n) {
    const floe_stun_attr *a = floe_stun_msg_find(m, FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES);
    if (!a) return FLOE_ERR_NOT_FOUND;
    size_t k = 0;
    for (size_t i = 0; i + 1 < a->len && k < max; i += 2)
        out[k++] = floe_get_u16(a->val + i);
    *n = k;
    return FLOE_OK;
}
