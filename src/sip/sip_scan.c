/* The lexical layer of RFC 3261 §25.1 shared by every SIP parser in floe: character
 * classes, whitespace with folding, tokens, quoted strings, generic parameters, comma
 * lists, numbers and hosts. */
#include <string.h>

#include "floe/addr.h"
#include "floe/err.h"
#include "sip/sip_internal.h"

bool sip_is_token_char(unsigned char c) {
    return sip_is_alnum(c) || (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

bool sip_is_unreserved(unsigned char c) {
    return sip_is_alnum(c) || (c != 0 && strchr("-_.!~*'()", c) != NULL);
}

bool sip_is_word_char(unsigned char c) {
    return sip_is_token_char(c) || (c != 0 && strchr("()<>:\\\"/[]?{}", c) != NULL);
}

bool sip_is_reserved(unsigned char c) {
    return c != 0 && strchr(";/?:@&=+$,", c) != NULL;
}

bool sip_token(const char *p, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!sip_is_token_char((unsigned char)p[i])) return false;
    return true;
}

bool sip_eq(const char *p, size_t n, const char *lit) {
    size_t l = strlen(lit);
    return l == n && memcmp(p, lit, n) == 0;
}

bool sip_ieq(const char *p, size_t n, const char *lit) {
    size_t l = strlen(lit);
    if (l != n) return false;
    for (size_t i = 0; i < n; i++)
        if (sip_lower((unsigned char)p[i]) != sip_lower((unsigned char)lit[i])) return false;
    return true;
}

bool sip_ieq_unescaped(const char *p, size_t n, const char *lit) {
    size_t i = 0, k = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%' && i + 2 < n && sip_is_hex((unsigned char)p[i + 1]) &&
            sip_is_hex((unsigned char)p[i + 2])) {
            c = (unsigned char)(sip_hex_val((unsigned char)p[i + 1]) * 16 +
                                sip_hex_val((unsigned char)p[i + 2]));
            i += 3;
        } else {
            i++;
        }
        if (lit[k] == '\0' || sip_lower(c) != sip_lower((unsigned char)lit[k])) return false;
        k++;
    }
    return lit[k] == '\0';
}

/* The next character of escaped text, decoded. */
static unsigned char next_decoded(const char *p, size_t n, size_t *i) {
    unsigned char c = (unsigned char)p[*i];
    if (c == '%' && *i + 2 < n && sip_is_hex((unsigned char)p[*i + 1]) &&
        sip_is_hex((unsigned char)p[*i + 2])) {
        c = (unsigned char)(sip_hex_val((unsigned char)p[*i + 1]) * 16 +
                            sip_hex_val((unsigned char)p[*i + 2]));
        *i += 3;
    } else {
        (*i)++;
    }
    return c;
}

bool sip_ieq_escaped(const char *a, size_t an, const char *b, size_t bn) {
    size_t i = 0, k = 0;
    while (i < an && k < bn)
        if (sip_lower(next_decoded(a, an, &i)) != sip_lower(next_decoded(b, bn, &k))) return false;
    return i == an && k == bn;
}

int sip_u64_range(const char *p, size_t n, uint64_t limit, uint64_t *out) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!sip_is_digit((unsigned char)p[i])) return 0;
    if (n > FLOE_SIP_MAX_NUMBER_DIGITS) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v > limit) return -1;
    if (out) *out = v;
    return 1;
}

bool sip_u64(const char *p, size_t n, uint64_t limit, uint64_t *out) {
    return sip_u64_range(p, n, limit, out) == 1;
}

/* Parses an IP literal through floe_addr_parse, which wants a C string. */
static bool ip_text(const char *p, size_t n, floe_addr *addr) {
    char buf[FLOE_ADDR_STRLEN];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return floe_addr_parse(buf, addr) == FLOE_OK;
}

bool sip_ip(const char *p, size_t n, floe_addr *addr) {
    floe_addr a;
    bool colon = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ':') colon = true;
        if (!(sip_is_hex(c) || c == ':' || c == '.')) return false;
    }
    if (!ip_text(p, n, &a)) return false;
    if (a.family != (colon ? FLOE_AF_INET6 : FLOE_AF_INET4) || a.port != 0) return false;
    if (addr) *addr = a;
    return true;
}

bool sip_host(const char *p, size_t n, floe_sip_str *host, floe_addr *addr) {
    floe_addr a;
    memset(&a, 0, sizeof a);
    if (n == 0) return false;
    if (p[0] == '[') {
        if (n < 3 || p[n - 1] != ']') return false;
        if (!sip_ip(p + 1, n - 2, &a) || a.family != FLOE_AF_INET6) return false;
        if (host) *host = sip_str(p + 1, n - 2);
        if (addr) *addr = a;
        return true;
    }
    bool numeric = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!(sip_is_digit(c) || c == '.')) numeric = false;
    }
    if (numeric) {
        if (!sip_ip(p, n, &a) || a.family != FLOE_AF_INET4) return false;
    } else {
        /* RFC 3261 hostname, with '_' tolerated: labels of letters, digits, '-', '_'
         * separated by single dots, one trailing dot allowed. */
        if (n > 254) return false;
        size_t label = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c == '.') {
                if (label == 0) return false;
                label = 0;
            } else if (sip_is_alnum(c) || c == '-' || c == '_') {
                if (++label > 63) return false;
            } else {
                return false;
            }
        }
    }
    if (host) *host = sip_str(p, n);
    if (addr) *addr = a;
    return true;
}

/* ---- scanner -------------------------------------------------------------------------- */

bool sip_skip_lws(sip_scan *s) {
    size_t start = s->pos;
    while (s->pos < s->len && sip_is_lws((unsigned char)s->p[s->pos]))
        s->pos++;
    return s->pos != start;
}

bool sip_sep(sip_scan *s, char c) {
    size_t save = s->pos;
    sip_skip_lws(s);
    if (sip_scan_peek(s) != (unsigned char)c) {
        s->pos = save;
        return false;
    }
    s->pos++;
    sip_skip_lws(s);
    return true;
}

bool sip_scan_token(sip_scan *s, floe_sip_str *out) {
    size_t start = s->pos;
    while (s->pos < s->len && sip_is_token_char((unsigned char)s->p[s->pos]))
        s->pos++;
    if (s->pos == start) return false;
    if (out) *out = sip_str(s->p + start, s->pos - start);
    return true;
}

/* quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE
 * qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
bool sip_scan_quoted(sip_scan *s, floe_sip_str *inner) {
    if (sip_scan_peek(s) != '"') return false;
    size_t i = s->pos + 1, start = i;
    while (i < s->len) {
        unsigned char c = (unsigned char)s->p[i];
        if (c == '"') {
            if (inner) *inner = sip_str(s->p + start, i - start);
            s->pos = i + 1;
            return true;
        }
        if (c == '\\') {
            if (i + 1 >= s->len) return false;
            unsigned char e = (unsigned char)s->p[i + 1];
            if (e == '\n' || e == '\r' || e > 0x7f) return false;
            i += 2;
            continue;
        }
        if (sip_is_ctl(c)) return false;
        i++;
    }
    return false; /* unterminated */
}

static bool is_value_char(unsigned char c) {
    /* gen-value = token / host / quoted-string: hosts add ':' '[' ']' (an IPv6 received
     * parameter is written without brackets). */
    return sip_is_token_char(c) || c == ':' || c == '[' || c == ']';
}

bool sip_scan_params(sip_scan *s, floe_sip_str *all) {
    size_t first = 0, last = 0;
    bool any = false;
    for (;;) {
        size_t save = s->pos;
        sip_skip_lws(s);
        if (sip_scan_peek(s) != ';') {
            s->pos = save;
            break;
        }
        if (!any) first = s->pos;
        any = true;
        s->pos++;
        sip_skip_lws(s);
        if (!sip_scan_token(s, NULL)) return false;
        last = s->pos;
        save = s->pos;
        if (sip_sep(s, '=')) {
            if (sip_scan_peek(s) == '"') {
                if (!sip_scan_quoted(s, NULL)) return false;
            } else {
                size_t v = s->pos;
                while (s->pos < s->len && is_value_char((unsigned char)s->p[s->pos]))
                    s->pos++;
                if (s->pos == v) return false;
            }
            last = s->pos;
        } else {
            s->pos = save;
        }
    }
    if (all) *all = any ? sip_str(s->p + first, last - first) : sip_str(NULL, 0);
    return true;
}

/* ---- public parameter walker ------------------------------------------------------------ */

bool floe_sip_params_next(floe_sip_str params, size_t *pos, floe_sip_param *out) {
    if (!params.p || !pos) return false;
    sip_scan s = {params.p, params.len, *pos};
    sip_skip_lws(&s);
    if (sip_scan_peek(&s) != ';') return false;
    s.pos++;
    sip_skip_lws(&s);
    size_t n0 = s.pos;
    while (s.pos < s.len) {
        unsigned char c = (unsigned char)s.p[s.pos];
        if (c == '=' || c == ';' || c == '?' || sip_is_lws(c)) break;
        s.pos++;
    }
    if (s.pos == n0) return false;
    floe_sip_param p;
    memset(&p, 0, sizeof p);
    p.name = sip_str(s.p + n0, s.pos - n0);
    size_t save = s.pos;
    if (sip_sep(&s, '=')) {
        if (sip_scan_peek(&s) == '"') {
            if (!sip_scan_quoted(&s, &p.value)) return false;
            p.quoted = true;
        } else {
            size_t v0 = s.pos;
            while (s.pos < s.len) {
                unsigned char c = (unsigned char)s.p[s.pos];
                if (c == ';' || c == '?' || sip_is_lws(c)) break;
                s.pos++;
            }
            p.value = sip_str(s.p + v0, s.pos - v0);
        }
    } else {
        s.pos = save;
    }
    *pos = s.pos;
    if (out) *out = p;
    return true;
}

bool floe_sip_params_get(floe_sip_str params, const char *name, floe_sip_param *out) {
    size_t pos = 0;
    floe_sip_param p;
    while (floe_sip_params_next(params, &pos, &p)) {
        if (sip_ieq_unescaped(p.name.p, p.name.len, name)) {
            if (out) *out = p;
            return true;
        }
    }
    return false;
}

/* ---- lists -------------------------------------------------------------------------------- */

floe_sip_str sip_trim(floe_sip_str s) {
    if (!s.p) return s;
    while (s.len > 0 && sip_is_lws((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && sip_is_lws((unsigned char)s.p[s.len - 1]))
        s.len--;
    return s;
}

bool sip_list_next(floe_sip_str value, size_t *pos, floe_sip_str *item) {
    if (!value.p || *pos > value.len) return false;
    if (*pos == 0 && sip_trim(value).len == 0) return false;
    size_t i = *pos, start = i;
    bool quoted = false, angle = false;
    while (i < value.len) {
        unsigned char c = (unsigned char)value.p[i];
        if (quoted) {
            if (c == '\\' && i + 1 < value.len)
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            angle = true;
        } else if (c == '>') {
            angle = false;
        } else if (c == ',' && !angle) {
            break;
        }
        i++;
    }
    *item = sip_trim(sip_str(value.p + start, i - start));
    *pos = i + 1; /* past the comma, or past the end */
    return true;
}

/* ---- slices ---------------------------------------------------------------------------- */

floe_sip_str floe_sip_str_c(const char *s) {
    return sip_str(s, s ? strlen(s) : 0);
}

bool floe_sip_str_eq(floe_sip_str s, const char *lit) {
    return s.p && lit && sip_eq(s.p, s.len, lit);
}

bool floe_sip_str_ieq(floe_sip_str s, const char *lit) {
    return s.p && lit && sip_ieq(s.p, s.len, lit);
}

int floe_sip_unescape(floe_sip_str s, char *buf, size_t cap, size_t *len) {
    size_t k = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '%') {
            if (i + 2 >= s.len || !sip_is_hex((unsigned char)s.p[i + 1]) ||
                !sip_is_hex((unsigned char)s.p[i + 2]))
                return FLOE_ERR_MALFORMED;
            c = (unsigned char)(sip_hex_val((unsigned char)s.p[i + 1]) * 16 +
                                sip_hex_val((unsigned char)s.p[i + 2]));
            i += 2;
        }
        if (k >= cap) return FLOE_ERR_NOSPACE;
        buf[k++] = (char)c;
    }
    if (len) *len = k;
    return FLOE_OK;
}

int floe_sip_unquote(floe_sip_str s, char *buf, size_t cap, size_t *len) {
    size_t k = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '\\' && i + 1 < s.len) c = s.p[++i];
        if (k >= cap) return FLOE_ERR_NOSPACE;
        buf[k++] = c;
    }
    if (len) *len = k;
    return FLOE_OK;
}
