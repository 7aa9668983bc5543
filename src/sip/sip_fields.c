/* The small header fields: Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type,
 * token lists (Require, Supported, Allow, ...), RSeq and RAck (RFC 3262), Expires. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* callid = word [ "@" word ] (RFC 3261 §25.1) */
bool sip_call_id_ok(floe_sip_str v) {
    size_t i = 0, at = 0;
    bool seen_at = false;
    if (v.len == 0) return false;
    for (; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '@' && !seen_at) {
            if (i == 0) return false;
            seen_at = true;
            at = i;
        } else if (!sip_is_word_char(c)) {
            return false;
        }
    }
    return !seen_at || at + 1 < v.len;
}

/* A number then whitespace, as in "CSeq: 1 INVITE" and "RAck: 1 2 INVITE". */
static bool scan_u32(sip_scan *s, uint32_t *out) {
    size_t start = s->pos;
    while (s->pos < s->len && sip_is_digit((unsigned char)s->p[s->pos]))
        s->pos++;
    uint64_t v;
    if (!sip_u64(s->p + start, s->pos - start, UINT32_MAX, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

int floe_sip_cseq_parse(floe_sip_str value, floe_sip_cseq *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    if (!scan_u32(&s, &out->seq) || !sip_skip_lws(&s) || !sip_scan_token(&s, &out->method))
        return FLOE_ERR_MALFORMED;
    sip_skip_lws(&s);
    if (!sip_scan_end(&s)) return FLOE_ERR_MALFORMED;
    out->method_id = floe_sip_method_id(out->method);
    return FLOE_OK;
}

int floe_sip_rack_parse(floe_sip_str value, floe_sip_rack *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    if (!scan_u32(&s, &out->rseq) || out->rseq == 0 || !sip_skip_lws(&s) ||
        !scan_u32(&s, &out->cseq) || !sip_skip_lws(&s) || !sip_scan_token(&s, &out->method))
        return FLOE_ERR_MALFORMED;
    sip_skip_lws(&s);
    if (!sip_scan_end(&s)) return FLOE_ERR_MALFORMED;
    out->method_id = floe_sip_method_id(out->method);
    return FLOE_OK;
}

int floe_sip_media_type_parse(floe_sip_str value, floe_sip_media_type *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    if (!sip_scan_token(&s, &out->type) || !sip_sep(&s, '/') ||
        !sip_scan_token(&s, &out->subtype) || !sip_scan_params(&s, &out->params))
        return FLOE_ERR_MALFORMED;
    sip_skip_lws(&s);
    return sip_scan_end(&s) ? FLOE_OK : FLOE_ERR_MALFORMED;
}

/* ---- message readers ------------------------------------------------------------------- */

static const floe_sip_hdr *first(const floe_sip_msg *m, floe_sip_hdr_id id) {
    return m ? floe_sip_msg_find(m, id, NULL) : NULL;
}

int floe_sip_msg_call_id(const floe_sip_msg *m, floe_sip_str *out) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_CALL_ID);
    if (!h) return FLOE_ERR_NOT_FOUND;
    if (!sip_call_id_ok(h->value)) return FLOE_ERR_MALFORMED;
    if (out) *out = h->value;
    return FLOE_OK;
}

int floe_sip_msg_cseq(const floe_sip_msg *m, floe_sip_cseq *out) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_CSEQ);
    if (!h) return FLOE_ERR_NOT_FOUND;
    floe_sip_cseq c;
    int rc = floe_sip_cseq_parse(h->value, &c);
    if (rc == FLOE_OK && out) *out = c;
    return rc;
}

int floe_sip_msg_max_forwards(const floe_sip_msg *m) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_MAX_FORWARDS);
    uint64_t v;
    if (!h || !sip_u64(h->value.p, h->value.len, 255, &v)) return -1;
    return (int)v;
}

int64_t floe_sip_msg_content_length(const floe_sip_msg *m) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_CONTENT_LENGTH);
    uint64_t v;
    if (!h || !sip_u64(h->value.p, h->value.len, UINT32_MAX, &v)) return -1;
    return (int64_t)v;
}

int floe_sip_msg_content_type(const floe_sip_msg *m, floe_sip_media_type *out) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_CONTENT_TYPE);
    if (!h) return FLOE_ERR_NOT_FOUND;
    floe_sip_media_type t;
    int rc = floe_sip_media_type_parse(h->value, &t);
    if (rc == FLOE_OK && out) *out = t;
    return rc;
}

bool floe_sip_msg_is_sdp(const floe_sip_msg *m) {
    floe_sip_media_type t;
    return floe_sip_msg_content_type(m, &t) == FLOE_OK && floe_sip_str_ieq(t.type, "application") &&
           floe_sip_str_ieq(t.subtype, "sdp");
}

int floe_sip_msg_tokens(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_tokens *out) {
    if (!m || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    floe_sip_iter it = {0, 0};
    floe_sip_str v;
    int rc = FLOE_ERR_NOT_FOUND;
    while (floe_sip_msg_next_value(m, id, &it, &v) == FLOE_OK) {
        if (!sip_token(v.p, v.len)) return FLOE_ERR_MALFORMED;
        rc = FLOE_OK;
        if (out->n < FLOE_SIP_MAX_TOKENS)
            out->tok[out->n++] = v;
        else
            out->n_cut++;
    }
    /* a field that lists nothing ("Supported:") is present all the same */
    if (rc != FLOE_OK && floe_sip_msg_find(m, id, NULL)) rc = FLOE_OK;
    return rc;
}

bool floe_sip_msg_has_token(const floe_sip_msg *m, floe_sip_hdr_id id, const char *tok) {
    if (!m || !tok) return false;
    floe_sip_iter it = {0, 0};
    floe_sip_str v;
    while (floe_sip_msg_next_value(m, id, &it, &v) == FLOE_OK) {
        bool same = id == FLOE_SIP_H_ALLOW ? sip_eq(v.p, v.len, tok) : sip_ieq(v.p, v.len, tok);
        if (same) return true;
    }
    return false;
}

int floe_sip_msg_rseq(const floe_sip_msg *m, uint32_t *out) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_RSEQ);
    if (!h) return FLOE_ERR_NOT_FOUND;
    uint64_t v;
    if (!sip_u64(h->value.p, h->value.len, UINT32_MAX, &v) || v == 0) return FLOE_ERR_MALFORMED;
    if (out) *out = (uint32_t)v;
    return FLOE_OK;
}

int floe_sip_msg_rack(const floe_sip_msg *m, floe_sip_rack *out) {
    const floe_sip_hdr *h = first(m, FLOE_SIP_H_RACK);
    if (!h) return FLOE_ERR_NOT_FOUND;
    floe_sip_rack r;
    int rc = floe_sip_rack_parse(h->value, &r);
    if (rc == FLOE_OK && out) *out = r;
    return rc;
}

int floe_sip_msg_expires(const floe_sip_msg *m, floe_sip_hdr_id id, uint32_t *out) {
    if (id != FLOE_SIP_H_EXPIRES && id != FLOE_SIP_H_MIN_EXPIRES) return FLOE_ERR_INVAL;
    const floe_sip_hdr *h = first(m, id);
    if (!h) return FLOE_ERR_NOT_FOUND;
    uint64_t v;
    if (sip_u64_range(h->value.p, h->value.len, UINT32_MAX, &v) != 1) return FLOE_ERR_MALFORMED;
    if (out) *out = (uint32_t)v;
    return FLOE_OK;
}
