/* Address header field values: name-addr / addr-spec with header parameters (RFC 3261
 * §20.10 Contact, §20.20 From, §20.39 To, §20.30 Record-Route, §20.34 Route). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* "<" addr-spec ">" at the cursor: no whitespace inside the brackets (RFC 4475 §3.1.2.14
 * shows why: LAQUOT and RAQUOT take no inner whitespace). */
static bool scan_bracketed(sip_scan *s, floe_sip_str *uri) {
    if (sip_scan_peek(s) != '<') return false;
    size_t start = ++s->pos;
    while (s->pos < s->len && s->p[s->pos] != '>') {
        if (sip_is_lws((unsigned char)s->p[s->pos])) return false;
        s->pos++;
    }
    if (s->pos >= s->len || s->pos == start) return false;
    *uri = sip_str(s->p + start, s->pos - start);
    s->pos++;
    return true;
}

int floe_sip_addr_parse(floe_sip_str value, floe_sip_addr *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->expires = -1;
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    if (sip_scan_peek(&s) == '*') {
        s.pos++;
        sip_skip_lws(&s);
        if (!sip_scan_end(&s)) return FLOE_ERR_MALFORMED;
        out->star = true;
        return FLOE_OK;
    }
    if (sip_scan_peek(&s) == '"') {
        if (!sip_scan_quoted(&s, &out->display)) return FLOE_ERR_MALFORMED;
        out->display_quoted = true;
        sip_skip_lws(&s);
        if (sip_scan_peek(&s) != '<') return FLOE_ERR_MALFORMED;
    } else if (sip_scan_peek(&s) != '<') {
        /* display-name = *(token LWS): tokens, then '<' (RFC 4475 §3.1.1.6 lets the last
         * token touch the '<'). Anything else is an addr-spec. */
        size_t save = s.pos, first = s.pos, last = s.pos;
        while (sip_scan_token(&s, NULL)) {
            last = s.pos;
            sip_skip_lws(&s);
        }
        if (sip_scan_peek(&s) == '<' && last > first)
            out->display = sip_str(s.p + first, last - first);
        else
            s.pos = save;
    }
    if (sip_scan_peek(&s) == '<') {
        if (!scan_bracketed(&s, &out->uri)) return FLOE_ERR_MALFORMED;
        out->bracketed = true;
    } else {
        /* addr-spec: the URI ends at the first ';' or whitespace; one holding '?' or ','
         * would have needed the brackets (RFC 3261 §20). */
        size_t start = s.pos;
        while (s.pos < s.len) {
            unsigned char c = (unsigned char)s.p[s.pos];
            if (c == ';' || sip_is_lws(c)) break;
            if (c == '?' || c == ',') return FLOE_ERR_MALFORMED;
            s.pos++;
        }
        out->uri = sip_str(s.p + start, s.pos - start);
    }
    floe_sip_uri u;
    if (floe_sip_uri_parse(out->uri.p, out->uri.len, &u) != FLOE_OK) return FLOE_ERR_MALFORMED;
    if (!sip_scan_params(&s, &out->params)) return FLOE_ERR_MALFORMED;
    sip_skip_lws(&s);
    if (!sip_scan_end(&s)) return FLOE_ERR_MALFORMED;

    size_t pos = 0;
    floe_sip_param p;
    while (floe_sip_params_next(out->params, &pos, &p)) {
        if (sip_ieq(p.name.p, p.name.len, "tag")) {
            if (!p.value.p || p.quoted || !sip_token(p.value.p, p.value.len))
                return FLOE_ERR_MALFORMED;
            if (!out->tag.p) out->tag = p.value;
        } else if (sip_ieq(p.name.p, p.name.len, "q")) {
            if (!out->q.p) out->q = p.value.p ? p.value : sip_str(p.name.p + p.name.len, 0);
        } else if (sip_ieq(p.name.p, p.name.len, "expires")) {
            uint64_t v;
            if (out->expires == -1)
                out->expires = (p.value.p && !p.quoted &&
                                sip_u64_range(p.value.p, p.value.len, UINT32_MAX, &v) == 1)
                                   ? (int64_t)v
                                   : -2;
        }
    }
    return FLOE_OK;
}
