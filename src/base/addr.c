/* floe: transport addresses, their text form, and the one address classifier.
 *
 * Everything here works on plain bytes: no socket headers, no inet_pton/inet_ntop, no
 * allocation. The text parser accepts every valid IPv4 and IPv6 literal (with an
 * optional numeric zone and port); the formatter writes the RFC 5952 canonical form.
 *
 * The classifier follows the IANA IPv4 and IPv6 special-purpose address registries.
 * An IPv6 address that carries an IPv4 address (IPv4-mapped, RFC 2765 translated,
 * IPv4-compatible, 6to4, NAT64 well-known prefix, Teredo) gets the flags of the IPv4
 * address it carries, so that a policy cannot be sidestepped by re-encoding a
 * loopback or private IPv4 address as IPv6. */
#include "floe/addr.h"

#include "floe/err.h"

#include <string.h>

/* ---- builders and comparisons ------------------------------------------------- */

void floe_addr_set_v4(floe_addr *a, uint32_t ip_host_order, uint16_t port) {
    if (!a) return;
    memset(a, 0, sizeof(*a));
    a->family = FLOE_AF_INET4;
    a->port = port;
    a->ip[0] = (uint8_t)(ip_host_order >> 24);
    a->ip[1] = (uint8_t)(ip_host_order >> 16);
    a->ip[2] = (uint8_t)(ip_host_order >> 8);
    a->ip[3] = (uint8_t)ip_host_order;
}

void floe_addr_set_v6(floe_addr *a, const uint8_t ip[16], uint16_t port) {
    if (!a) return;
    memset(a, 0, sizeof(*a));
    a->family = FLOE_AF_INET6;
    a->port = port;
    if (ip) memcpy(a->ip, ip, 16);
}

size_t floe_addr_ip_len(const floe_addr *a) {
    if (!a) return 0;
    if (a->family == FLOE_AF_INET4) return 4;
    if (a->family == FLOE_AF_INET6) return 16;
    return 0;
}

bool floe_addr_ip_equal(const floe_addr *a, const floe_addr *b) {
    if (!a || !b) return a == b;
    if (a->family != b->family) return false;
    size_t n = floe_addr_ip_len(a);
    return n == 0 || memcmp(a->ip, b->ip, n) == 0;
}

bool floe_addr_equal(const floe_addr *a, const floe_addr *b) {
    if (!a || !b) return a == b;
    if (!floe_addr_ip_equal(a, b) || a->port != b->port) return false;
    /* Only IPv6 has a zone; whatever an IPv4 address holds there does not count. */
    return a->family != FLOE_AF_INET6 || a->scope_id == b->scope_id;
}

/* ---- text parsing -------------------------------------------------------------- */

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Exactly four decimal octets, each 0..255, no sign, no leading zero (so that "010"
 * cannot be misread as octal by some other parser), nothing after the last one. */
static bool parse_v4(const char *p, size_t len, uint8_t out[4]) {
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (i >= len || p[i] != '.') return false;
            i++;
        }
        size_t start = i;
        unsigned val = 0;
        while (i < len && is_digit(p[i])) {
            if (i - start == 3) return false;
            val = val * 10u + (unsigned)(p[i] - '0');
            i++;
        }
        if (i == start) return false;
        if (i - start > 1 && p[start] == '0') return false;
        if (val > 255u) return false;
        out[k] = (uint8_t)val;
    }
    return i == len;
}

/* An IPv6 address without zone or brackets: up to eight groups of one to four hex
 * digits, at most one "::" standing for one or more zero groups, and optionally a
 * dotted quad in place of the last two groups. */
static bool parse_v6(const char *p, size_t len, uint8_t out[16]) {
    uint16_t g[8];
    int ng = 0;   /* groups written so far */
    int gap = -1; /* index in g where "::" sits, -1 when there is none */
    size_t i = 0;

    if (len == 0) return false;
    if (p[0] == ':') {
        if (len < 2 || p[1] != ':') return false;
        gap = 0;
        i = 2;
    }
    while (i < len) {
        size_t j = i;
        bool dotted = false;
        while (j < len && p[j] != ':') {
            if (p[j] == '.') dotted = true;
            j++;
        }
        if (j == i) return false; /* an empty group: ":::" or a stray colon */
        if (dotted) {
            uint8_t q[4];
            if (j != len || ng > 6 || !parse_v4(p + i, j - i, q)) return false;
            g[ng++] = (uint16_t)((q[0] << 8) | q[1]);
            g[ng++] = (uint16_t)((q[2] << 8) | q[3]);
            i = j;
            break;
        }
        if (j - i > 4 || ng >= 8) return false;
        unsigned v = 0;
        for (size_t k = i; k < j; k++) {
            int h = hex_value(p[k]);
            if (h < 0) return false;
            v = (v << 4) | (unsigned)h;
        }
        g[ng++] = (uint16_t)v;
        i = j;
        if (i == len) break;
        i++; /* the ':' after the group */
        if (i < len && p[i] == ':') {
            if (gap >= 0) return false; /* a second "::" */
            gap = ng;
            i++;
        } else if (i == len) {
            return false; /* a single trailing ':' */
        }
    }
    if (gap < 0 ? ng != 8 : ng > 7) return false;

    memset(out, 0, 16);
    int head = gap < 0 ? ng : gap;
    for (int k = 0; k < head; k++) {
        out[2 * k] = (uint8_t)(g[k] >> 8);
        out[2 * k + 1] = (uint8_t)g[k];
    }
    int tail = ng - head;
    for (int k = 0; k < tail; k++) {
        int dst = 8 - tail + k;
        out[2 * dst] = (uint8_t)(g[head + k] >> 8);
        out[2 * dst + 1] = (uint8_t)g[head + k];
    }
    return true;
}

/* A run of decimal digits no longer than max_digits whose value fits in limit. */
static bool parse_decimal(const char *p, size_t len, size_t max_digits, uint64_t limit,
                          uint64_t *out) {
    if (len == 0 || len > max_digits) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i])) return false;
        v = v * 10u + (uint64_t)(p[i] - '0');
    }
    if (v > limit) return false;
    *out = v;
    return true;
}

/* An IPv6 address with an optional "%N" zone, N a decimal interface index. */
static bool parse_v6_zone(const char *p, size_t len, floe_addr *a) {
    const char *pct = memchr(p, '%', len);
    size_t alen = pct ? (size_t)(pct - p) : len;
    uint64_t zone = 0;
    if (pct && !parse_decimal(pct + 1, len - alen - 1, 10, UINT32_MAX, &zone)) return false;
    if (!parse_v6(p, alen, a->ip)) return false;
    a->family = FLOE_AF_INET6;
    a->scope_id = (uint32_t)zone;
    return true;
}

static bool parse_port(const char *p, size_t len, uint16_t *port) {
    uint64_t v;
    if (!parse_decimal(p, len, 5, 65535u, &v)) return false;
    *port = (uint16_t)v;
    return true;
}

int floe_addr_parse(const char *s, floe_addr *out) {
    if (!s || !out) return FLOE_ERR_ADDR;
    size_t n = strlen(s);
    floe_addr a;
    memset(&a, 0, sizeof(a));

    if (s[0] == '[') {
        /* "[v6]" or "[v6]:port"; brackets hold IPv6 only. */
        const char *close = memchr(s, ']', n);
        if (!close || !parse_v6_zone(s + 1, (size_t)(close - s - 1), &a)) return FLOE_ERR_ADDR;
        size_t rest = (size_t)(close - s) + 1;
        if (rest < n) {
            if (s[rest] != ':' || !parse_port(s + rest + 1, n - rest - 1, &a.port))
                return FLOE_ERR_ADDR;
        }
    } else {
        /* One colon at most means IPv4 with an optional port; an IPv6 literal always
         * has at least two. */
        const char *colon = memchr(s, ':', n);
        if (!colon || !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
            size_t iplen = colon ? (size_t)(colon - s) : n;
            if (!parse_v4(s, iplen, a.ip)) return FLOE_ERR_ADDR;
            if (colon && !parse_port(colon + 1, n - iplen - 1, &a.port)) return FLOE_ERR_ADDR;
            a.family = FLOE_AF_INET4;
        } else if (!parse_v6_zone(s, n, &a)) {
            return FLOE_ERR_ADDR;
        }
    }
    *out = a;
    return FLOE_OK;
}

/* ---- text formatting ----------------------------------------------------------- */

/* Appends into a fixed buffer large enough for any address (FLOE_ADDR_STRLEN). */
typedef struct text_buf {
    char s[FLOE_ADDR_STRLEN];
    size_t n;
} text_buf;

static void put_char(text_buf *t, char c) {
    if (t->n + 1 < sizeof(t->s)) t->s[t->n++] = c;
}

static void put_str(text_buf *t, const char *s) {
    while (*s)
        put_char(t, *s++);
}

static void put_dec(text_buf *t, uint32_t v) {
    char d[10];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        put_char(t, d[--n]);
}

static void put_hex16(text_buf *t, unsigned v) {
    static const char digits[] = "0123456789abcdef";
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned nib = (v >> shift) & 0xfu;
        if (nib || started || shift == 0) {
            put_char(t, digits[nib]);
            started = true;
        }
    }
}

static void put_v4(text_buf *t, const uint8_t ip[4]) {
    for (int k = 0; k < 4; k++) {
        if (k) put_char(t, '.');
        put_dec(t, ip[k]);
    }
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* ::ffff:0:0/96 (RFC 4291 IPv4-mapped). */
static bool is_v4_mapped(const uint8_t ip[16]) {
    return all_zero(ip, 10) && ip[10] == 0xff && ip[11] == 0xff;
}

/* ::ffff:0:0:0/96 (RFC 2765 IPv4-translated). */
static bool is_v4_translated(const uint8_t ip[16]) {
    return all_zero(ip, 8) && ip[8] == 0xff && ip[9] == 0xff && ip[10] == 0 && ip[11] == 0;
}

/* RFC 5952: lowercase hex without leading zeros, the longest run of two or more zero
 * groups (the first one on a tie) shortened to "::". The two well-known prefixes
 * that say the low 32 bits are an IPv4 address are written with a dotted quad
 * (RFC 5952 section 5). */
static void put_v6(text_buf *t, const uint8_t ip[16]) {
    if (is_v4_mapped(ip)) {
        put_str(t, "::ffff:");
        put_v4(t, ip + 12);
        return;
    }
    if (is_v4_translated(ip)) {
        put_str(t, "::ffff:0:");
        put_v4(t, ip + 12);
        return;
    }
    unsigned g[8];
    for (int k = 0; k < 8; k++)
        g[k] = ((unsigned)ip[2 * k] << 8) | ip[2 * k + 1];

    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int k = 0; k < 8; k++) {
        if (g[k] == 0) {
            if (cur < 0) cur = k;
            cur_len++;
            if (cur_len > best_len) {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur = -1;
            cur_len = 0;
        }
    }
    if (best_len < 2) best = -1;

    for (int k = 0; k < 8;) {
        if (k == best) {
            put_str(t, "::");
            k += best_len;
            continue;
        }
        if (k > 0 && !(best >= 0 && k == best + best_len)) put_char(t, ':');
        put_hex16(t, g[k]);
        k++;
    }
}

size_t floe_addr_format(const floe_addr *a, bool with_port, char *buf, size_t cap) {
    text_buf t;
    t.n = 0;
    if (!a || (a->family != FLOE_AF_INET4 && a->family != FLOE_AF_INET6)) {
        put_str(&t, "(none)");
    } else if (a->family == FLOE_AF_INET4) {
        put_v4(&t, a->ip);
        if (with_port) {
            put_char(&t, ':');
            put_dec(&t, a->port);
        }
    } else {
        if (with_port) put_char(&t, '[');
        put_v6(&t, a->ip);
        if (a->scope_id) {
            put_char(&t, '%');
            put_dec(&t, a->scope_id);
        }
        if (with_port) {
            put_str(&t, "]:");
            put_dec(&t, a->port);
        }
    }
    if (!buf || cap == 0) return 0;
    size_t n = t.n < cap - 1 ? t.n : cap - 1;
    memcpy(buf, t.s, n);
    buf[n] = '\0';
    return n;
}

/* ---- classification ------------------------------------------------------------ */

/* True when the first `bits` bits of ip equal those of prefix. */
static bool in_prefix(const uint8_t *ip, const uint8_t *prefix, unsigned bits) {
    unsigned whole = bits / 8u, rest = bits % 8u;
    if (memcmp(ip, prefix, whole) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xffu << (8u - rest));
    return (ip[whole] & mask) == (prefix[whole] & mask);
}

typedef struct prefix_rule {
    uint8_t prefix[16];
    uint8_t bits;
    uint32_t flags;
} prefix_rule;

/* IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), plus 224/4. The
 * first match wins, so the more specific entry comes first. */
static const prefix_rule v4_rules[] = {
    {{255, 255, 255, 255}, 32, FLOE_ADDR_BROADCAST}, /* limited broadcast, RFC 919 */
    {{0}, 8, FLOE_ADDR_UNSPECIFIED},                 /* "this network", RFC 791 */
    {{10}, 8, FLOE_ADDR_PRIVATE},                    /* RFC 1918 */
    {{100, 64}, 10, FLOE_ADDR_CGNAT},                /* shared address space, RFC 6598 */
    {{127}, 8, FLOE_ADDR_LOOPBACK},                  /* RFC 1122 */
    {{169, 254}, 16, FLOE_ADDR_LINK_LOCAL},          /* RFC 3927 */
    {{172, 16}, 12, FLOE_ADDR_PRIVATE},              /* RFC 1918 */
    {{192, 0, 0}, 24, FLOE_ADDR_RESERVED},           /* IETF protocol assignments, RFC 6890 */
    {{192, 0, 2}, 24, FLOE_ADDR_DOCUMENTATION},      /* TEST-NET-1, RFC 5737 */
    {{192, 88, 99}, 24, FLOE_ADDR_RESERVED},         /* 6to4 relay anycast, RFC 7526 */
    {{192, 168}, 16, FLOE_ADDR_PRIVATE},             /* RFC 1918 */
    {{198, 18}, 15, FLOE_ADDR_RESERVED},             /* benchmarking, RFC 2544 */
    {{198, 51, 100}, 24, FLOE_ADDR_DOCUMENTATION},   /* TEST-NET-2, RFC 5737 */
    {{203, 0, 113}, 24, FLOE_ADDR_DOCUMENTATION},    /* TEST-NET-3, RFC 5737 */
    {{224}, 4, FLOE_ADDR_MULTICAST},                 /* RFC 5771 */
    {{240}, 4, FLOE_ADDR_RESERVED},                  /* future use, RFC 1112 */
};

/* IANA IPv6 Special-Purpose Address Registry entries that carry no IPv4 address and
 * the IPv6 address architecture blocks (RFC 4291). The embedding forms are handled
 * before these rules run. */
static const prefix_rule v6_rules[] = {
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, FLOE_ADDR_NAT64_LOCAL}, /* RFC 8215 */
    {{0x01, 0x00}, 64, FLOE_ADDR_RESERVED},                            /* discard, RFC 6666 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, FLOE_ADDR_DOCUMENTATION},           /* RFC 3849 */
    {{0x20, 0x01}, 23, FLOE_ADDR_RESERVED},      /* IETF protocol assignments, RFC 2928 */
    {{0x3f, 0xff}, 20, FLOE_ADDR_DOCUMENTATION}, /* RFC 9637 */
    {{0xfc}, 7, FLOE_ADDR_PRIVATE},              /* unique local, RFC 4193 */
    {{0xfe, 0x80}, 10, FLOE_ADDR_LINK_LOCAL},    /* RFC 4291 */
    {{0xfe, 0xc0}, 10, FLOE_ADDR_RESERVED},      /* site-local, deprecated by RFC 3879 */
    {{0xff}, 8, FLOE_ADDR_MULTICAST},            /* RFC 4291 */
    {{0x20}, 3, 0},                              /* global unicast, RFC 4291 */
    /* Everything else is "Reserved by IETF" in the IANA IPv6 address space: not
     * assigned, so not reachable. */
    {{0}, 0, FLOE_ADDR_RESERVED},
};

static uint32_t match_rules(const prefix_rule *rules, size_t n, const uint8_t *ip) {
    for (size_t i = 0; i < n; i++)
        if (in_prefix(ip, rules[i].prefix, rules[i].bits)) return rules[i].flags;
    return 0;
}

static uint32_t classify_v4(const uint8_t ip[4]) {
    return match_rules(v4_rules, sizeof(v4_rules) / sizeof(v4_rules[0]), ip);
}

/* Records one embedded IPv4 address and returns its flags. */
static uint32_t embed(floe_addr_info *info, const floe_addr *a, const uint8_t v4[4],
                      uint8_t xor_mask) {
    floe_addr *e = &info->embedded[info->n_embedded++];
    memset(e, 0, sizeof(*e));
    e->family = FLOE_AF_INET4;
    e->port = a->port;
    for (int k = 0; k < 4; k++)
        e->ip[k] = (uint8_t)(v4[k] ^ xor_mask);
    return classify_v4(e->ip);
}

static uint32_t classify_v6(const floe_addr *a, floe_addr_info *info) {
    static const uint8_t nat64_wkp[12] = {0x00, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96 */
    static const uint8_t teredo[4] = {0x20, 0x01, 0x00, 0x00};     /* 2001::/32 */
    const uint8_t *ip = a->ip;

    if (all_zero(ip, 16)) return FLOE_ADDR_UNSPECIFIED;
    if (all_zero(ip, 15) && ip[15] == 1) return FLOE_ADDR_LOOPBACK;
    if (is_v4_mapped(ip) || is_v4_translated(ip))
        return FLOE_ADDR_V4_MAPPED | embed(info, a, ip + 12, 0);
    if (all_zero(ip, 12)) /* ::a.b.c.d, RFC 4291 section 2.5.5.1 */
        return FLOE_ADDR_V4_COMPATIBLE | embed(info, a, ip + 12, 0);
    if (memcmp(ip, nat64_wkp, 12) == 0) /* RFC 6052 */
        return FLOE_ADDR_NAT64 | embed(info, a, ip + 12, 0);
    if (ip[0] == 0x20 && ip[1] == 0x02) /* 2002:V4ADDR::/48, RFC 3056 */
        return FLOE_ADDR_6TO4 | embed(info, a, ip + 2, 0);
    if (memcmp(ip, teredo, 4) == 0) { /* RFC 4380: server, then the inverted client */
        uint32_t f = FLOE_ADDR_TEREDO;
        f |= embed(info, a, ip + 4, 0);
        f |= embed(info, a, ip + 12, 0xff);
        return f;
    }
    return match_rules(v6_rules, sizeof(v6_rules) / sizeof(v6_rules[0]), ip);
}

uint32_t floe_addr_classify(const floe_addr *a, floe_addr_info *info) {
    floe_addr_info scratch;
    if (!info) info = &scratch;
    memset(info, 0, sizeof(*info));

    uint32_t flags;
    if (a && a->family == FLOE_AF_INET4)
        flags = classify_v4(a->ip);
    else if (a && a->family == FLOE_AF_INET6)
        flags = classify_v6(a, info);
    else
        flags = FLOE_ADDR_UNSPECIFIED;
    info->flags = flags;
    return flags;
}

bool floe_addr_is_global(const floe_addr *a) {
    /* The flags of every embedded IPv4 address are already part of the result. */
    return (floe_addr_classify(a, NULL) & FLOE_ADDR_NOT_GLOBAL) == 0;
}

static const struct {
    uint32_t flag;
    const char *name;
} class_names[] = {
    {FLOE_ADDR_UNSPECIFIED, "unspecified"},
    {FLOE_ADDR_LOOPBACK, "loopback"},
    {FLOE_ADDR_PRIVATE, "private"},
    {FLOE_ADDR_CGNAT, "cgnat"},
    {FLOE_ADDR_LINK_LOCAL, "link-local"},
    {FLOE_ADDR_MULTICAST, "multicast"},
    {FLOE_ADDR_DOCUMENTATION, "documentation"},
    {FLOE_ADDR_BROADCAST, "broadcast"},
    {FLOE_ADDR_RESERVED, "reserved"},
    {FLOE_ADDR_V4_MAPPED, "v4-mapped"},
    {FLOE_ADDR_V4_COMPATIBLE, "v4-compatible"},
    {FLOE_ADDR_6TO4, "6to4"},
    {FLOE_ADDR_NAT64, "nat64"},
    {FLOE_ADDR_NAT64_LOCAL, "nat64-local"},
    {FLOE_ADDR_TEREDO, "teredo"},
};

size_t floe_addr_class_format(uint32_t flags, char *buf, size_t cap) {
    if (!buf || cap == 0) return 0;
    size_t n = 0;
    bool first = true;
    for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
        if (!(flags & class_names[i].flag)) continue;
        if (!first && n + 1 < cap) buf[n++] = ',';
        first = false;
        for (const char *s = class_names[i].name; *s && n + 1 < cap; s++)
            buf[n++] = *s;
    }
    buf[n] = '\0';
    return n;
}
