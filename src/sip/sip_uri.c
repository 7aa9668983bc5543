/* SIP and SIPS URI parser and printer (RFC 3261 §19.1.1, grammar in §25.1); other
 * schemes are checked only as absolute URIs. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* An escape at p[i] is '%' HEX HEX inside n bytes. */
static bool escape_at(const char *p, size_t n, size_t i) {
    return i + 2 < n && p[i] == '%' && sip_is_hex((unsigned char)p[i + 1]) &&
           sip_is_hex((unsigned char)p[i + 2]);
}

/* Every byte is unreserved, escaped, or in `extra`; at least min bytes. */
static bool uri_chars(const char *p, size_t n, const char *extra, size_t min) {
    if (n < min) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (!escape_at(p, n, i)) return false;
            i += 2;
        } else if (!sip_is_unreserved(c) && (c == 0 || !strchr(extra, c))) {
            return false;
        }
    }
    return true;
}

#define USER_EXTRA "&=+$,;?/"  /* user-unreserved */
#define PASSWORD_EXTRA "&=+$," /* password */
#define PARAM_EXTRA "[]/:&+$"  /* param-unreserved */
#define HEADER_EXTRA "[]/?:+$" /* hnv-unreserved */

/* True when a parameter named name[0..nl) appears in p[0..end) (escapes decoded, case
 * ignored). */
static bool param_seen(const char *p, size_t end, const char *name, size_t nl) {
    size_t i = 0;
    while (i < end) {
        size_t s = ++i; /* past ';' */
        while (i < end && p[i] != ';')
            i++;
        const char *eq = memchr(p + s, '=', i - s);
        size_t len = eq ? (size_t)(eq - p) - s : i - s;
        if (sip_ieq_escaped(p + s, len, name, nl)) return true;
    }
    return false;
}

/* Records the well-known uri-parameters while checking "*( ";" pname ["=" pvalue] )".
 * RFC 3261 §19.1.1: a parameter name appears at most once. */
static bool uri_params(const char *p, size_t n, floe_sip_uri *u) {
    size_t i = 0;
    while (i < n) {
        if (p[i] != ';') return false;
        size_t start = i;
        size_t s = ++i;
        while (i < n && p[i] != ';')
            i++;
        const char *item = p + s;
        size_t len = i - s;
        const char *eq = memchr(item, '=', len);
        size_t nl = eq ? (size_t)(eq - item) : len;
        if (!uri_chars(item, nl, PARAM_EXTRA, 1)) return false;
        if (param_seen(p, start, item, nl)) return false;
        floe_sip_str val = {NULL, 0};
        if (eq) {
            val = sip_str(eq + 1, len - nl - 1);
            if (!uri_chars(val.p, val.len, PARAM_EXTRA, 1)) return false;
        } else {
            val = sip_str(item + nl, 0);
        }
        floe_sip_str *slot = NULL;
        if (sip_ieq_unescaped(item, nl, "transport"))
            slot = &u->transport;
        else if (sip_ieq_unescaped(item, nl, "user"))
            slot = &u->user_param;
        else if (sip_ieq_unescaped(item, nl, "method"))
            slot = &u->method;
        else if (sip_ieq_unescaped(item, nl, "maddr"))
            slot = &u->maddr;
        else if (sip_ieq_unescaped(item, nl, "ttl"))
            slot = &u->ttl;
        else if (sip_ieq_unescaped(item, nl, "lr"))
            u->lr = true;
        if (slot && !slot->p) *slot = val;
    }
    return true;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue */
static bool uri_headers(const char *p, size_t n) {
    size_t i = 0;
    for (;;) {
        size_t s = i;
        while (i < n && p[i] != '&')
            i++;
        const char *item = p + s;
        size_t len = i - s;
        const char *eq = memchr(item, '=', len);
        if (!eq) return false;
        size_t nl = (size_t)(eq - item);
        if (!uri_chars(item, nl, HEADER_EXTRA, 1)) return false;
        if (!uri_chars(eq + 1, len - nl - 1, HEADER_EXTRA, 0)) return false;
        if (i >= n) return true;
        i++; /* '&' */
    }
}

static int parse_sip(const char *p, size_t n, floe_sip_uri *u) {
    size_t i = 0;
    const char *at = memchr(p, '@', n);
    if (at) {
        size_t ul = (size_t)(at - p);
        const char *colon = memchr(p, ':', ul);
        size_t nl = colon ? (size_t)(colon - p) : ul;
        if (!uri_chars(p, nl, USER_EXTRA, 1)) return FLOE_ERR_MALFORMED;
        u->user = sip_str(p, nl);
        if (colon) {
            u->password = sip_str(colon + 1, ul - nl - 1);
            if (!uri_chars(u->password.p, u->password.len, PASSWORD_EXTRA, 0))
                return FLOE_ERR_MALFORMED;
        }
        i = ul + 1;
    }
    /* hostport */
    size_t h0 = i;
    if (i < n && p[i] == '[') {
        const char *rb = memchr(p + i, ']', n - i);
        if (!rb) return FLOE_ERR_MALFORMED;
        i = (size_t)(rb - p) + 1;
    } else {
        while (i < n && p[i] != ':' && p[i] != ';' && p[i] != '?')
            i++;
    }
    if (!sip_host(p + h0, i - h0, &u->host, &u->addr)) return FLOE_ERR_MALFORMED;
    if (i < n && p[i] == ':') {
        size_t p0 = ++i;
        while (i < n && p[i] != ';' && p[i] != '?')
            i++;
        uint64_t port;
        if (i - p0 > 5 || !sip_u64(p + p0, i - p0, 65535, &port)) return FLOE_ERR_MALFORMED;
        u->port = (uint16_t)port;
        u->has_port = true;
    }
    if (i < n && p[i] == ';') {
        size_t s = i;
        while (i < n && p[i] != '?')
            i++;
        u->params = sip_str(p + s, i - s);
        if (!uri_params(u->params.p, u->params.len, u)) return FLOE_ERR_MALFORMED;
    }
    if (i < n && p[i] == '?') {
        u->headers = sip_str(p + i + 1, n - i - 1);
        if (!uri_headers(u->headers.p, u->headers.len)) return FLOE_ERR_MALFORMED;
        i = n;
    }
    return i == n ? FLOE_OK : FLOE_ERR_MALFORMED;
}

/* Characters RFC 3986 lets a URI hold: no space, controls, quotes, <> {} | \ ^ `. */
static bool absolute_uri_char(unsigned char c) {
    return c > 0x20 && c < 0x7f && !strchr("<>\"{}|\\^`", c);
}

int floe_sip_uri_parse(const char *p, size_t len, floe_sip_uri *out) {
    if (!p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (len > FLOE_SIP_URI_MAX_LEN) return FLOE_ERR_LIMIT;
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    size_t i = 0;
    if (len == 0 || !sip_is_alpha((unsigned char)p[0])) return FLOE_ERR_MALFORMED;
    while (i < len &&
           (sip_is_alnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'))
        i++;
    if (i >= len || p[i] != ':') return FLOE_ERR_MALFORMED;
    out->scheme_text = sip_str(p, i);
    out->opaque = sip_str(p + i + 1, len - i - 1);
    if (sip_ieq(p, i, "sip"))
        out->scheme = FLOE_SIP_SCHEME_SIP;
    else if (sip_ieq(p, i, "sips"))
        out->scheme = FLOE_SIP_SCHEME_SIPS;
    else
        out->scheme = FLOE_SIP_SCHEME_OTHER;
    if (out->scheme != FLOE_SIP_SCHEME_OTHER) return parse_sip(out->opaque.p, out->opaque.len, out);
    if (out->opaque.len == 0) return FLOE_ERR_MALFORMED;
    for (size_t k = 0; k < out->opaque.len; k++) {
        unsigned char c = (unsigned char)out->opaque.p[k];
        if (!absolute_uri_char(c)) return FLOE_ERR_MALFORMED;
        if (c == '%') {
            if (!escape_at(out->opaque.p, out->opaque.len, k)) return FLOE_ERR_MALFORMED;
            k += 2;
        }
    }
    return FLOE_OK;
}

/* ---- printing --------------------------------------------------------------------------- */

static bool printable_part(floe_sip_str s) {
    for (size_t i = 0; i < s.len; i++)
        if (!absolute_uri_char((unsigned char)s.p[i])) return false;
    return true;
}

int floe_sip_uri_print(const floe_sip_uri *u, char *buf, size_t cap, size_t *len) {
    if (!u || (!buf && cap)) return FLOE_ERR_INVAL;
    sip_out o = {buf, cap, 0, false};
    const char *def = u->scheme == FLOE_SIP_SCHEME_SIPS ? "sips" : "sip";
    floe_sip_str scheme = u->scheme_text.len ? u->scheme_text : floe_sip_str_c(def);
    if (!sip_token(scheme.p, scheme.len)) return FLOE_ERR_INVAL;
    sip_out_s(&o, scheme);
    sip_out_c(&o, ':');
    if (u->scheme == FLOE_SIP_SCHEME_OTHER) {
        if (!u->opaque.len || !printable_part(u->opaque)) return FLOE_ERR_INVAL;
        sip_out_s(&o, u->opaque);
        return sip_out_finish(&o, len);
    }
    if (!printable_part(u->user) || !printable_part(u->password) || !printable_part(u->host) ||
        !printable_part(u->params) || !printable_part(u->headers))
        return FLOE_ERR_INVAL;
    if (u->user.p) {
        sip_out_s(&o, u->user);
        if (u->password.p) {
            sip_out_c(&o, ':');
            sip_out_s(&o, u->password);
        }
        sip_out_c(&o, '@');
    }
    if (!u->host.len) return FLOE_ERR_INVAL;
    bool v6 = u->addr.family == FLOE_AF_INET6 || memchr(u->host.p, ':', u->host.len);
    if (v6) sip_out_c(&o, '[');
    sip_out_s(&o, u->host);
    if (v6) sip_out_c(&o, ']');
    if (u->has_port) {
        sip_out_c(&o, ':');
        sip_out_u64(&o, u->port);
    }
    if (u->params.p) {
        if (u->params.len && u->params.p[0] != ';') sip_out_c(&o, ';');
        sip_out_s(&o, u->params);
    }
    if (u->headers.p) {
        sip_out_c(&o, '?');
        sip_out_s(&o, u->headers);
    }
    return sip_out_finish(&o, len);
}
