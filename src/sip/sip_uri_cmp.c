/* SIP URI comparison, RFC 3261 §19.1.4. */
#include <string.h>

#include "floe/addr.h"
#include "sip/sip_internal.h"

/* Reads one character of URI text, decoding an escape. An escaped reserved character
 * stays distinct from the character itself (§19.1.4: only characters outside the
 * reserved set equal their escapes). */
typedef struct unit_iter {
    const char *p;
    size_t n, i;
} unit_iter;

static bool next_unit(unit_iter *it, unsigned char *c, bool *escaped) {
    if (it->i >= it->n) return false;
    unsigned char b = (unsigned char)it->p[it->i];
    if (b == '%' && it->i + 2 < it->n && sip_is_hex((unsigned char)it->p[it->i + 1]) &&
        sip_is_hex((unsigned char)it->p[it->i + 2])) {
        b = (unsigned char)(sip_hex_val((unsigned char)it->p[it->i + 1]) * 16 +
                            sip_hex_val((unsigned char)it->p[it->i + 2]));
        it->i += 3;
        *escaped = sip_is_reserved(b);
    } else {
        it->i++;
        *escaped = false;
    }
    *c = b;
    return true;
}

static bool text_equal(floe_sip_str a, floe_sip_str b, bool ignore_case) {
    unit_iter ia = {a.p, a.len, 0}, ib = {b.p, b.len, 0};
    for (;;) {
        unsigned char ca = 0, cb = 0; /* set when next_unit returns true; GCC -O2 cannot tell */
        bool ea = false, eb = false;
        bool ha = next_unit(&ia, &ca, &ea), hb = next_unit(&ib, &cb, &eb);
        if (!ha || !hb) return ha == hb;
        if (ea != eb) return false;
        if (ignore_case && !ea) {
            ca = sip_lower(ca);
            cb = sip_lower(cb);
        }
        if (ca != cb) return false;
    }
}

/* Both absent, or both present and equal. */
static bool optional_equal(floe_sip_str a, floe_sip_str b, bool ignore_case) {
    if (!a.p || !b.p) return !a.p && !b.p;
    return text_equal(a, b, ignore_case);
}

/* Parameters that may not be left out of one URI only (§19.1.4). */
static bool must_match(floe_sip_str name) {
    static const char *const names[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        /* compare through escapes, ignoring case */
        floe_sip_str lit = {names[i], n};
        if (text_equal(name, lit, true)) return true;
    }
    return false;
}

static bool find_param(floe_sip_str params, floe_sip_str name, floe_sip_param *out) {
    size_t pos = 0;
    floe_sip_param p;
    while (floe_sip_params_next(params, &pos, &p)) {
        if (text_equal(p.name, name, true)) {
            *out = p;
            return true;
        }
    }
    return false;
}

/* Every parameter of a: equal in b when b has it, or allowed to be missing. */
static bool params_cover(floe_sip_str a, floe_sip_str b) {
    size_t pos = 0;
    floe_sip_param pa, pb;
    while (floe_sip_params_next(a, &pos, &pa)) {
        if (find_param(b, pa.name, &pb)) {
            if (!pa.value.p || !pb.value.p) {
                if (pa.value.p || pb.value.p) return false;
            } else if (!text_equal(pa.value, pb.value, true)) {
                return false;
            }
        } else if (must_match(pa.name)) {
            return false;
        }
    }
    return true;
}

/* The next "name=value" of a headers component. */
static bool next_header(floe_sip_str h, size_t *pos, floe_sip_str *name, floe_sip_str *value) {
    if (!h.p || *pos > h.len) return false;
    size_t s = *pos, i = s;
    while (i < h.len && h.p[i] != '&')
        i++;
    const char *eq = memchr(h.p + s, '=', i - s);
    size_t nl = eq ? (size_t)(eq - h.p) - s : i - s;
    *name = sip_str(h.p + s, nl);
    *value = eq ? sip_str(eq + 1, i - s - nl - 1) : sip_str(h.p + i, 0);
    *pos = i + 1;
    return true;
}

static size_t headers_cover(floe_sip_str a, floe_sip_str b, bool *ok) {
    size_t pa = 0, count = 0;
    floe_sip_str na, va, nb, vb;
    while (next_header(a, &pa, &na, &va)) {
        count++;
        size_t pb = 0;
        bool found = false;
        while (next_header(b, &pb, &nb, &vb)) {
            if (text_equal(na, nb, true) && text_equal(va, vb, false)) {
                found = true;
                break;
            }
        }
        if (!found) *ok = false;
    }
    return count;
}

bool floe_sip_uri_equal(const floe_sip_uri *a, const floe_sip_uri *b) {
    if (!a || !b) return false;
    if (a->scheme != b->scheme) return false;
    if (a->scheme == FLOE_SIP_SCHEME_OTHER) {
        return text_equal(a->scheme_text, b->scheme_text, true) && a->opaque.len == b->opaque.len &&
               (a->opaque.len == 0 || memcmp(a->opaque.p, b->opaque.p, a->opaque.len) == 0);
    }
    if (!optional_equal(a->user, b->user, false)) return false;
    if (!optional_equal(a->password, b->password, false)) return false;
    bool ipa = a->addr.family != FLOE_AF_NONE, ipb = b->addr.family != FLOE_AF_NONE;
    if (ipa != ipb) return false;
    if (ipa) {
        if (!floe_addr_ip_equal(&a->addr, &b->addr)) return false;
    } else if (!text_equal(a->host, b->host, true)) {
        return false;
    }
    if (a->has_port != b->has_port || a->port != b->port) return false;
    if (!params_cover(a->params, b->params) || !params_cover(b->params, a->params)) return false;
    bool ok = true;
    size_t na = headers_cover(a->headers, b->headers, &ok);
    size_t nb = headers_cover(b->headers, a->headers, &ok);
    return ok && na == nb;
}
