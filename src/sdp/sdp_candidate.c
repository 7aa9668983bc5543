/* The a=candidate line of RFC 8839 §5.1: parse into a floe_ice_cand, print from one. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp_ice.h"
#include "sdp/sdp_internal.h"

/* The fixed part: foundation, component, transport, priority, address, port, "typ",
 * type. Then raddr/rport and extension pairs; a line is bounded by its length, and we
 * look at no more fields than this. */
#define CAND_FIXED_FIELDS 8
#define CAND_MAX_FIELDS 64

typedef struct cand_parse {
    const char *reason;      /* first malformation */
    const char *unsupported; /* first reason to ignore a well-formed line */
} cand_parse;

static int malformed(cand_parse *cp, const char *why) {
    if (!cp->reason) cp->reason = why;
    return FLOE_ERR_MALFORMED;
}

static void unsupported(cand_parse *cp, const char *why) {
    if (!cp->unsupported) cp->unsupported = why;
}

/* An IP literal for a candidate or related address; names are unsupported. */
static int cand_addr(cand_parse *cp, floe_sdp_str f, floe_addr *out, const char *what_bad,
                     const char *what_name) {
    memset(out, 0, sizeof(*out));
    switch (sdp_addr_kind_of(f.p, f.len)) {
    case SDP_ADDR_V4:
        if (!sdp_ip_literal(f.p, f.len, 4, out)) return malformed(cp, what_bad);
        return FLOE_OK;
    case SDP_ADDR_V6:
        if (!sdp_ip_literal(f.p, f.len, 6, out)) return malformed(cp, what_bad);
        return FLOE_OK;
    case SDP_ADDR_NAME: break;
    }
    if (!sdp_domain_name(f.p, f.len)) return malformed(cp, what_bad);
    unsupported(cp, what_name);
    return FLOE_OK;
}

/* A candidate's own address must be able to receive: not 0.0.0.0/8, ::, broadcast or
 * multicast. (IPv6 forms that carry IPv4 are judged by their own prefix.) */
static bool unicast(const floe_addr *a) {
    if (a->family == FLOE_AF_INET4)
        return !(floe_addr_classify(a, NULL) &
                 (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST));
    static const uint8_t zero[16] = {0};
    return a->ip[0] != 0xff && memcmp(a->ip, zero, 16) != 0;
}

static int cand_port(cand_parse *cp, floe_sdp_str f, unsigned min, uint16_t *out, const char *why) {
    uint64_t v;
    if (!sdp_u64(f.p, f.len, 5, 65535, &v) || v < min) return malformed(cp, why);
    *out = (uint16_t)v;
    return FLOE_OK;
}

static int parse_fields(cand_parse *cp, const char *s, size_t len, floe_ice_cand *c) {
    floe_sdp_str f[CAND_MAX_FIELDS];
    long n = sdp_split(s, len, f, CAND_MAX_FIELDS);
    if (n < 0) return malformed(cp, "candidate has an empty field (double or trailing space)");
    if (n < CAND_FIXED_FIELDS) return malformed(cp, "candidate has fewer than eight fields");
    if (n > CAND_MAX_FIELDS) return malformed(cp, "candidate has too many fields");

    /* foundation = 1*32ice-char */
    if (!sdp_ice_chars(f[0].p, f[0].len, 1, FLOE_ICE_FOUNDATION_MAX))
        return malformed(cp, "candidate foundation must be 1 to 32 ice-chars");
    memcpy(c->foundation, f[0].p, f[0].len);
    c->foundation[f[0].len] = '\0';

    /* component-id: 1..256 */
    uint64_t v;
    if (!sdp_u64(f[1].p, f[1].len, 5, FLOE_SDP_ICE_COMPONENT_MAX, &v) || v == 0)
        return malformed(cp, "candidate component-id out of range (1..256)");
    if (v > UINT8_MAX) unsupported(cp, "candidate component-id 256 is not supported");
    c->component = (uint8_t)(v > UINT8_MAX ? 0 : v);

    /* transport = "UDP" / token (ABNF strings ignore case) */
    if (sdp_ieq(f[2].p, f[2].len, "UDP")) {
        c->transport = FLOE_TRANSPORT_UDP;
    } else if (sdp_ieq(f[2].p, f[2].len, "TCP")) {
        c->transport = FLOE_TRANSPORT_TCP;
        unsupported(cp, "TCP candidates (RFC 6544) are not supported");
    } else if (sdp_token(f[2].p, f[2].len)) {
        unsupported(cp, "candidate transport is not UDP");
    } else {
        return malformed(cp, "candidate transport is not a token");
    }

    /* priority: 1..2^31-1 */
    if (!sdp_u64(f[3].p, f[3].len, 10, FLOE_SDP_ICE_PRIORITY_MAX, &v) || v == 0)
        return malformed(cp, "candidate priority out of range (1..2^31-1)");
    c->priority = (uint32_t)v;
    c->local_pref = (uint16_t)((v >> 8) & 0xffffu);

    if (cand_addr(cp, f[4], &c->addr, "candidate address is not an IP address or a name",
                  "FQDN candidate addresses (mDNS .local included) are not supported") != FLOE_OK)
        return FLOE_ERR_MALFORMED;
    if (c->addr.family != FLOE_AF_NONE && !unicast(&c->addr))
        return malformed(cp, "candidate address is unspecified, broadcast or multicast");
    if (cand_port(cp, f[5], 1, &c->addr.port, "candidate port out of range (1..65535)") != FLOE_OK)
        return FLOE_ERR_MALFORMED;

    if (!sdp_eq(f[6].p, f[6].len, "typ")) return malformed(cp, "candidate: expected \"typ\"");
    if (!floe_ice_cand_type_parse(f[7].p, f[7].len, &c->type)) {
        if (!sdp_token(f[7].p, f[7].len)) return malformed(cp, "candidate type is not a token");
        unsupported(cp, "unknown candidate type");
    }

    /* [raddr <addr>] [rport <port>] then extension name/value pairs. */
    bool raddr = false, rport = false;
    for (long i = CAND_FIXED_FIELDS; i < n; i += 2) {
        if (i + 1 >= n) return malformed(cp, "candidate extension attribute without a value");
        floe_sdp_str name = f[i], val = f[i + 1];
        if (sdp_eq(name.p, name.len, "raddr")) {
            if (raddr) return malformed(cp, "candidate raddr repeated");
            raddr = true;
            floe_addr r;
            if (cand_addr(cp, val, &r, "candidate raddr is not an IP address or a name",
                          "FQDN raddr is not supported") != FLOE_OK)
                return FLOE_ERR_MALFORMED;
            /* raddr may be 0.0.0.0 or :: (RFC 8839 §5.1, hidden related address) */
            c->related = r;
            continue;
        }
        if (sdp_eq(name.p, name.len, "rport")) {
            if (!raddr) return malformed(cp, "candidate rport without raddr before it");
            if (rport) return malformed(cp, "candidate rport repeated");
            rport = true;
            uint16_t p;
            if (cand_port(cp, val, 0, &p, "candidate rport out of range (0..65535)") != FLOE_OK)
                return FLOE_ERR_MALFORMED;
            c->related.port = p;
            continue;
        }
        if (!sdp_token(name.p, name.len))
            return malformed(cp, "candidate extension attribute name is not a token");
        for (size_t k = 0; k < val.len; k++) /* *VCHAR */
            if ((unsigned char)val.p[k] < 0x21 || (unsigned char)val.p[k] > 0x7e)
                return malformed(cp, "candidate extension attribute value is not VCHARs");
    }
    if (raddr && !rport) return malformed(cp, "candidate raddr without rport");
    return FLOE_OK;
}

int floe_sdp_candidate_parse(const char *s, size_t len, floe_ice_cand *out, floe_sdp_error *err) {
    if (err) {
        err->line = 0;
        err->reason = NULL;
    }
    if (!out || (!s && len)) {
        if (err) err->reason = "no candidate or no output";
        return FLOE_ERR_INVAL;
    }
    memset(out, 0, sizeof(*out));
    static const char prefix[] = "candidate:";
    if (len >= sizeof(prefix) - 1 && memcmp(s, prefix, sizeof(prefix) - 1) == 0) {
        s += sizeof(prefix) - 1;
        len -= sizeof(prefix) - 1;
    }
    cand_parse cp = {NULL, NULL};
    int rc = parse_fields(&cp, s, len, out);
    if (rc == FLOE_OK && cp.unsupported) {
        if (err) err->reason = cp.unsupported;
        return FLOE_ERR_UNSUPPORTED;
    }
    if (rc != FLOE_OK) {
        if (err) err->reason = cp.reason;
        return FLOE_ERR_MALFORMED;
    }
    return FLOE_OK;
}

/* ---- printing ----------------------------------------------------------------------------- */

typedef struct cbuf {
    char s[FLOE_SDP_CANDIDATE_STRLEN];
    size_t n;
} cbuf;

static void cput(cbuf *b, const char *p, size_t n) {
    /* The fields are bounded so that they always fit (checked by the caller). */
    memcpy(b->s + b->n, p, n);
    b->n += n;
}

static void cput_c(cbuf *b, const char *s) {
    cput(b, s, strlen(s));
}

static void cput_u(cbuf *b, uint64_t v) {
    char d[24];
    cput(b, d, sdp_fmt_u64(d, v));
}

static void cput_ip(cbuf *b, const floe_addr *a) {
    char t[FLOE_ADDR_STRLEN];
    floe_addr x = *a;
    x.port = 0;
    x.scope_id = 0; /* zones are not SDP syntax */
    cput(b, t, floe_addr_format(&x, false, t, sizeof(t)));
}

int floe_sdp_candidate_print(const floe_ice_cand *c, char *buf, size_t cap) {
    if (!c || (!buf && cap)) return FLOE_ERR_INVAL;
    if (cap) buf[0] = '\0';
    size_t fl = strnlen(c->foundation, sizeof(c->foundation));
    if (!sdp_ice_chars(c->foundation, fl, 1, FLOE_ICE_FOUNDATION_MAX)) return FLOE_ERR_INVAL;
    if (c->component == 0) return FLOE_ERR_INVAL;
    if (c->priority == 0 || c->priority > FLOE_SDP_ICE_PRIORITY_MAX) return FLOE_ERR_INVAL;
    if (c->transport != FLOE_TRANSPORT_UDP) return FLOE_ERR_UNSUPPORTED;
    if (c->addr.family != FLOE_AF_INET4 && c->addr.family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (c->addr.port == 0) return FLOE_ERR_INVAL;
    if (!unicast(&c->addr)) return FLOE_ERR_INVAL;
    if (c->related.family != FLOE_AF_NONE && c->related.family != FLOE_AF_INET4 &&
        c->related.family != FLOE_AF_INET6)
        return FLOE_ERR_INVAL;
    const char *type = floe_ice_cand_type_name(c->type);
    floe_ice_cand_type check;
    if (!floe_ice_cand_type_parse(type, strlen(type), &check)) return FLOE_ERR_INVAL;

    /* 32 + 1 + 3 + 4 + 10 + 1 + 45 + 1 + 5 + 10 + 7 + 45 + 7 + 5 = 176 < STRLEN */
    cbuf b = {{0}, 0};
    cput(&b, c->foundation, fl);
    cput_c(&b, " ");
    cput_u(&b, c->component);
    cput_c(&b, " UDP ");
    cput_u(&b, c->priority);
    cput_c(&b, " ");
    cput_ip(&b, &c->addr);
    cput_c(&b, " ");
    cput_u(&b, c->addr.port);
    cput_c(&b, " typ ");
    cput_c(&b, type);
    if (c->related.family != FLOE_AF_NONE) {
        cput_c(&b, " raddr ");
        cput_ip(&b, &c->related);
        cput_c(&b, " rport ");
        cput_u(&b, c->related.port);
    }
    if (b.n + 1 > cap) {
        if (cap) {
            memcpy(buf, b.s, cap - 1);
            buf[cap - 1] = '\0';
        }
        return FLOE_ERR_NOSPACE;
    }
    memcpy(buf, b.s, b.n);
    buf[b.n] = '\0';
    return (int)b.n;
}
