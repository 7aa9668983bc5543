/* Via (RFC 3261 §20.42, grammar §25.1) with rport (RFC 3581 §3). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* The text of a sent-by host: an IPv6 reference, or everything up to ':' ';' or space. */
static bool scan_host(sip_scan *s, floe_sip_str *text) {
    size_t start = s->pos;
    if (sip_scan_peek(s) == '[') {
        while (s->pos < s->len && s->p[s->pos] != ']')
            s->pos++;
        if (s->pos >= s->len) return false;
        s->pos++;
    } else {
        while (s->pos < s->len) {
            unsigned char c = (unsigned char)s->p[s->pos];
            if (c == ':' || c == ';' || sip_is_lws(c)) break;
            s->pos++;
        }
    }
    *text = sip_str(s->p + start, s->pos - start);
    return s->pos > start;
}

static bool port_value(floe_sip_str v, uint16_t *out) {
    uint64_t port;
    if (v.len > 5 || !sip_u64(v.p, v.len, 65535, &port)) return false;
    *out = (uint16_t)port;
    return true;
}

int floe_sip_via_parse(floe_sip_str value, floe_sip_via *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->rport_port = -1;
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    /* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
    if (!sip_scan_token(&s, &out->protocol) || !sip_sep(&s, '/') ||
        !sip_scan_token(&s, &out->version) || !sip_sep(&s, '/') ||
        !sip_scan_token(&s, &out->transport))
        return FLOE_ERR_MALFORMED;
    if (!sip_skip_lws(&s)) return FLOE_ERR_MALFORMED;
    /* sent-by = host [ COLON port ] */
    floe_sip_str host;
    if (!scan_host(&s, &host) || !sip_host(host.p, host.len, &out->host, &out->addr))
        return FLOE_ERR_MALFORMED;
    if (sip_sep(&s, ':')) {
        size_t p0 = s.pos;
        while (s.pos < s.len && sip_is_digit((unsigned char)s.p[s.pos]))
            s.pos++;
        if (!port_value(sip_str(s.p + p0, s.pos - p0), &out->port)) return FLOE_ERR_MALFORMED;
        out->has_port = true;
    }
    if (!sip_scan_params(&s, &out->params)) return FLOE_ERR_MALFORMED;
    sip_skip_lws(&s);
    if (!sip_scan_end(&s)) return FLOE_ERR_MALFORMED;

    size_t pos = 0;
    floe_sip_param p;
    while (floe_sip_params_next(out->params, &pos, &p)) {
        bool has = p.value.p != NULL;
        if (sip_ieq(p.name.p, p.name.len, "branch")) {
            if (!has || p.quoted || !sip_token(p.value.p, p.value.len)) return FLOE_ERR_MALFORMED;
            if (!out->branch.p) out->branch = p.value;
        } else if (sip_ieq(p.name.p, p.name.len, "received")) {
            if (!has || p.quoted || !sip_ip(p.value.p, p.value.len, NULL))
                return FLOE_ERR_MALFORMED;
            if (!out->received.p) out->received = p.value;
        } else if (sip_ieq(p.name.p, p.name.len, "rport")) {
            uint16_t port = 0;
            if (has && (p.quoted || !port_value(p.value, &port))) return FLOE_ERR_MALFORMED;
            if (!out->rport) {
                out->rport = true;
                out->rport_port = has ? port : -1;
            }
        } else if (sip_ieq(p.name.p, p.name.len, "maddr")) {
            if (!has || p.quoted || !sip_host(p.value.p, p.value.len, NULL, NULL))
                return FLOE_ERR_MALFORMED;
            if (!out->maddr.p) out->maddr = p.value;
        } else if (sip_ieq(p.name.p, p.name.len, "ttl")) {
            if (!has || p.quoted || p.value.len > 3 || !sip_u64(p.value.p, p.value.len, 255, NULL))
                return FLOE_ERR_MALFORMED;
            if (!out->ttl.p) out->ttl = p.value;
        }
    }
    return FLOE_OK;
}

bool floe_sip_branch_is_rfc3261(floe_sip_str branch) {
    size_t n = strlen(FLOE_SIP_BRANCH_COOKIE);
    return branch.p && branch.len > n && memcmp(branch.p, FLOE_SIP_BRANCH_COOKIE, n) == 0;
}
