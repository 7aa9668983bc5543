/* SIP message printer: start line, header fields, a Content-Length that matches the
 * body, the body. It refuses anything that would break the framing of what it writes. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* Text of a start-line element: no line break, no control character. */
static bool line_text_ok(floe_sip_str s, bool allow_space) {
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '\r' || c == '\n' || sip_is_ctl(c)) return false;
        if (!allow_space && (c == ' ' || c == '\t')) return false;
    }
    return true;
}

/* A value may hold line breaks only as folding, and no whitespace at its ends (the
 * parser trims it, so it would not come back). */
static bool value_ok(floe_sip_str v) {
    if (v.len &&
        (!v.p || sip_is_lws((unsigned char)v.p[0]) || sip_is_lws((unsigned char)v.p[v.len - 1])))
        return false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (c == '\r' && (i + 1 >= v.len || v.p[i + 1] != '\n')) return false;
        if (c == '\n' && (i + 1 >= v.len || (v.p[i + 1] != ' ' && v.p[i + 1] != '\t')))
            return false;
    }
    return true;
}

int floe_sip_msg_print(const floe_sip_msg *m, char *buf, size_t cap, size_t *len) {
    if (!m || (!buf && cap) || m->n_hdr > FLOE_SIP_MAX_HEADERS) return FLOE_ERR_INVAL;
    if (m->body.len && !m->body.p) return FLOE_ERR_INVAL;
    sip_out o = {buf, cap, 0, false};
    if (m->request) {
        if (!sip_token(m->method.p, m->method.len) || !m->uri.len || !line_text_ok(m->uri, false))
            return FLOE_ERR_INVAL;
        sip_out_s(&o, m->method);
        sip_out_c(&o, ' ');
        sip_out_s(&o, m->uri);
        sip_out_cstr(&o, " SIP/2.0\r\n");
    } else {
        if (m->status < 100 || m->status > 699 || !line_text_ok(m->reason, true))
            return FLOE_ERR_INVAL;
        sip_out_cstr(&o, "SIP/2.0 ");
        sip_out_u64(&o, m->status);
        sip_out_c(&o, ' ');
        sip_out_s(&o, m->reason);
        sip_out_cstr(&o, "\r\n");
    }
    bool wrote_length = false;
    for (size_t i = 0; i < m->n_hdr; i++) {
        const floe_sip_hdr *h = &m->hdr[i];
        if (!sip_token(h->name.p, h->name.len) || !value_ok(h->value)) return FLOE_ERR_INVAL;
        sip_out_s(&o, h->name);
        sip_out_cstr(&o, ": ");
        if (h->id == FLOE_SIP_H_CONTENT_LENGTH) {
            if (wrote_length) return FLOE_ERR_INVAL;
            sip_out_u64(&o, m->body.len);
            wrote_length = true;
        } else {
            sip_out_s(&o, h->value);
        }
        sip_out_cstr(&o, "\r\n");
    }
    if (!wrote_length) {
        sip_out_cstr(&o, "Content-Length: ");
        sip_out_u64(&o, m->body.len);
        sip_out_cstr(&o, "\r\n");
    }
    sip_out_cstr(&o, "\r\n");
    sip_out_s(&o, m->body);
    return sip_out_finish(&o, len);
}
