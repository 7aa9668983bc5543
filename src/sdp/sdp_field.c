/* SDP field grammar (RFC 8866 §9) shared by the parser and the printer: character
 * classes, numbers, field splitting, addresses and the small structured values. */
#include <string.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "sdp/sdp_internal.h"

bool sdp_is_token_char(unsigned char c) {
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
           c == 0x2e || sdp_is_digit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

bool sdp_token(const char *p, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!sdp_is_token_char((unsigned char)p[i])) return false;
    return true;
}

bool sdp_ice_chars(const char *p, size_t n, size_t min, size_t max) {
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!sdp_is_ice_char((unsigned char)p[i])) return false;
    return true;
}

bool sdp_u64(const char *p, size_t n, size_t max_digits, uint64_t limit, uint64_t *out) {
    if (n == 0 || n > max_digits) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!sdp_is_digit(c)) return false;
        unsigned d = (unsigned)(c - '0');
        if (v > (UINT64_MAX - d) / 10u) return false;
        v = v * 10u + d;
    }
    if (v > limit) return false;
    if (out) *out = v;
    return true;
}

bool sdp_text(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n') return false;
    return true;
}

bool sdp_nonws(const char *p, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c == 0x7f) return false;
    }
    return true;
}

static unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool sdp_ieq(const char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (m != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)p[i]) != lower((unsigned char)lit[i])) return false;
    return true;
}

bool sdp_eq(const char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    return m == n && (n == 0 || memcmp(p, lit, n) == 0);
}

long sdp_split(const char *p, size_t n, floe_sdp_str *out, size_t max) {
    long count = 0;
    size_t i = 0;
    if (n == 0) return -1;
    for (;;) {
        size_t j = i;
        while (j < n && p[j] != ' ')
            j++;
        if (j == i) return -1; /* empty field */
        if ((size_t)count < max) {
            out[count].p = p + i;
            out[count].len = j - i;
        }
        count++;
        if (j == n) return count;
        i = j + 1;
        if (i == n) return -1; /* trailing space */
    }
}

sdp_addr_kind sdp_addr_kind_of(const char *p, size_t n) {
    bool dots_digits = n > 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ':') return SDP_ADDR_V6;
        if (!sdp_is_digit((unsigned char)p[i]) && p[i] != '.') dots_digits = false;
    }
    return dots_digits ? SDP_ADDR_V4 : SDP_ADDR_NAME;
}

bool sdp_ip_literal(const char *p, size_t n, int family, floe_addr *out) {
    char tmp[SDP_IP_TEXT_MAX + 1];
    if (n == 0 || n > SDP_IP_TEXT_MAX) return false;
    /* Only the characters of a bare literal: no brackets, zone, port or spaces, which
     * floe_addr_parse would otherwise take. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool hex = sdp_is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
        if (!hex && c != ':' && c != '.') return false;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    floe_addr a;
    if (floe_addr_parse(tmp, &a) != FLOE_OK) return false;
    if (a.port != 0 || a.scope_id != 0) return false;
    if (family == 4 && a.family != FLOE_AF_INET4) return false;
    if (family == 6 && a.family != FLOE_AF_INET6) return false;
    /* "1.2.3.4" parsed as IPv6 cannot happen, but a v4 text must not come from the v6
     * branch of the parser either: the kind decides. */
    if ((a.family == FLOE_AF_INET4) != (sdp_addr_kind_of(p, n) == SDP_ADDR_V4)) return false;
    if (out) *out = a;
    return true;
}

bool sdp_domain_name(const char *p, size_t n) {
    if (n == 0 || n > SDP_DOMAIN_MAX + 1) return false;
    if (p[n - 1] == '.') n--; /* one trailing dot: the root */
    if (n == 0 || n > SDP_DOMAIN_MAX) return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '.') {
            if (label == 0 || p[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        if (!sdp_is_alpha(c) && !sdp_is_digit(c) && c != '-') return false;
        if (c == '-' && label == 0) return false;
        if (++label > SDP_LABEL_MAX) return false;
    }
    return label > 0 && p[n - 1] != '-';
}

const char *sdp_check_address(floe_sdp_str nettype, floe_sdp_str addrtype, const char *p, size_t n,
                              floe_addr *addr) {
    if (addr) memset(addr, 0, sizeof(*addr));
    if (!sdp_nonws(p, n)) return "address is empty or holds a space";
    if (!sdp_ieq(nettype.p, nettype.len, "IN")) return NULL; /* other networks: opaque */
    int want = sdp_ieq(addrtype.p, addrtype.len, "IP4")   ? 4
               : sdp_ieq(addrtype.p, addrtype.len, "IP6") ? 6
                                                          : 0;
    if (want == 0) return NULL; /* an addrtype we do not know: opaque */
    switch (sdp_addr_kind_of(p, n)) {
    case SDP_ADDR_V4:
        if (want == 6) return "IPv4 address with address type IP6";
        if (!sdp_ip_literal(p, n, 4, addr)) return "bad IPv4 address";
        return NULL;
    case SDP_ADDR_V6:
        if (want == 4) return "IPv6 address with address type IP4";
        if (!sdp_ip_literal(p, n, 6, addr)) return "bad IPv6 address";
        return NULL;
    case SDP_ADDR_NAME: break;
    }
    if (!sdp_domain_name(p, n)) return "address is neither an IP literal nor a domain name";
    return NULL;
}

const char *sdp_check_conn(const floe_sdp_conn *c, floe_addr *addr) {
    if (!sdp_token(c->nettype.p, c->nettype.len)) return "c= network type is not a token";
    if (!sdp_token(c->addrtype.p, c->addrtype.len)) return "c= address type is not a token";
    floe_addr a;
    const char *why = sdp_check_address(c->nettype, c->addrtype, c->address.p, c->address.len, &a);
    if (why) return why;
    if (addr) *addr = a;
    bool multicast =
        a.family != FLOE_AF_NONE && (floe_addr_classify(&a, NULL) & FLOE_ADDR_MULTICAST);
    if (c->ttl < -1 || c->ttl > 255) return "c= TTL out of range (0..255)";
    if (c->n_addrs > 65535) return "c= address count out of range (1..65535)";
    if (!multicast) {
        if (c->ttl >= 0 || c->n_addrs > 0) return "c= TTL or address count on a unicast address";
        return NULL;
    }
    if (a.family == FLOE_AF_INET4 && c->ttl < 0) return "IPv4 multicast c= address without TTL";
    if (a.family == FLOE_AF_INET6 && c->ttl >= 0) return "IPv6 multicast c= address with a TTL";
    return NULL;
}

/* typed-time = 1*DIGIT [fixed-len-time-unit], unit one of d h m s (RFC 8866 §9). */
static bool typed_time(const char *p, size_t n) {
    if (n > 0 && (p[n - 1] == 'd' || p[n - 1] == 'h' || p[n - 1] == 'm' || p[n - 1] == 's')) n--;
    return sdp_u64(p, n, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL);
}

const char *sdp_check_repeat(const char *p, size_t n) {
    floe_sdp_str f[1];
    long k = sdp_split(p, n, f, 0);
    if (k < 3) return "r= needs an interval, a duration and at least one offset";
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != ' ')
            j++;
        if (!typed_time(p + i, j - i)) return "r= field is not a typed time";
        i = j + 1;
    }
    return NULL;
}

const char *sdp_check_zone(const char *p, size_t n) {
    floe_sdp_str f[1];
    long k = sdp_split(p, n, f, 0);
    if (k < 2 || k % 2 != 0) return "z= needs pairs of adjustment time and offset";
    size_t i = 0;
    long idx = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != ' ')
            j++;
        const char *q = p + i;
        size_t m = j - i;
        if (idx % 2 == 0) {
            if (!sdp_u64(q, m, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL))
                return "z= adjustment time is not a number";
        } else {
            if (m > 0 && q[0] == '-') {
                q++;
                m--;
            }
            if (!typed_time(q, m)) return "z= offset is not a typed time";
        }
        idx++;
        i = j + 1;
    }
    return NULL;
}

bool sdp_proto(const char *p, size_t n) {
    if (n == 0) return false;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        if (!sdp_token(p + i, j - i)) return false;
        if (j == n) return true;
        i = j + 1;
    }
    return false;
}

size_t sdp_fmt_u64(char *buf, uint64_t v) {
    return floe_dec_u64(v, buf);
}
