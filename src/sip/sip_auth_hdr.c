/* Challenge and credentials header fields: WWW-Authenticate, Proxy-Authenticate,
 * Authorization, Proxy-Authorization (RFC 3261 §20.7, §20.27, §20.28, §20.44 and §25.1,
 * RFC 7616 §3.3-3.4 and RFC 8760 for the SHA-2 algorithms). Only Digest is read; any other
 * scheme is kept as text (RFC 4475 §3.3.7: an unknown scheme is no parse error). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

static const struct {
    const char *name;
    floe_sip_digest_alg alg;
} algs[] = {
    {"MD5", FLOE_SIP_ALG_MD5},
    {"MD5-sess", FLOE_SIP_ALG_MD5_SESS},
    {"SHA-256", FLOE_SIP_ALG_SHA256},
    {"SHA-256-sess", FLOE_SIP_ALG_SHA256_SESS},
    {"SHA-512-256", FLOE_SIP_ALG_SHA512_256},
    {"SHA-512-256-sess", FLOE_SIP_ALG_SHA512_256_SESS},
};

const char *floe_sip_digest_alg_name(floe_sip_digest_alg a) {
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].alg == a) return algs[i].name;
    return "other";
}

static bool bool_value(floe_sip_str v, bool *out) {
    if (sip_ieq(v.p, v.len, "true"))
        *out = true;
    else if (sip_ieq(v.p, v.len, "false"))
        *out = false;
    else
        return false;
    return true;
}

/* qop-options list ("auth,auth-int") or one message-qop. */
static bool qop_value(floe_sip_str v, floe_sip_auth *out) {
    size_t pos = 0;
    floe_sip_str item;
    bool any = false;
    while (sip_list_next(v, &pos, &item)) {
        if (!sip_token(item.p, item.len)) return false;
        if (sip_ieq(item.p, item.len, "auth")) out->qop_auth = true;
        if (sip_ieq(item.p, item.len, "auth-int")) out->qop_auth_int = true;
        any = true;
    }
    return any;
}

int floe_sip_auth_parse(floe_sip_str value, floe_sip_auth *out) {
    if (!value.p || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    sip_scan s = sip_scan_init(value);
    sip_skip_lws(&s);
    if (!sip_scan_token(&s, &out->scheme)) return FLOE_ERR_MALFORMED;
    out->params = sip_trim(sip_str(s.p + s.pos, s.len - s.pos));
    if (!sip_scan_end(&s) && !sip_is_lws((unsigned char)s.p[s.pos])) return FLOE_ERR_MALFORMED;
    out->digest = sip_ieq(out->scheme.p, out->scheme.len, "Digest");
    if (!out->digest) {
        for (size_t i = 0; i < out->params.len; i++)
            if (sip_is_ctl((unsigned char)out->params.p[i])) return FLOE_ERR_MALFORMED;
        return FLOE_OK;
    }
    out->alg = FLOE_SIP_ALG_MD5;
    sip_skip_lws(&s);
    if (sip_scan_end(&s)) return FLOE_ERR_MALFORMED; /* Digest needs parameters */
    for (;;) {
        floe_sip_str name, v;
        bool quoted = false;
        if (!sip_scan_token(&s, &name) || !sip_sep(&s, '=')) return FLOE_ERR_MALFORMED;
        if (sip_scan_peek(&s) == '"') {
            if (!sip_scan_quoted(&s, &v)) return FLOE_ERR_MALFORMED;
            quoted = true;
        } else if (!sip_scan_token(&s, &v)) {
            return FLOE_ERR_MALFORMED;
        }
        struct {
            const char *name;
            floe_sip_str *slot;
        } known[] = {
            {"realm", &out->realm},
            {"nonce", &out->nonce},
            {"opaque", &out->opaque},
            {"domain", &out->domain},
            {"algorithm", &out->algorithm},
            {"qop", &out->qop},
            {"username", &out->username},
            {"uri", &out->uri},
            {"response", &out->response},
            {"cnonce", &out->cnonce},
            {"nc", &out->nc},
        };
        floe_sip_str *slot = NULL;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (sip_ieq(name.p, name.len, known[i].name)) slot = known[i].slot;
        if (slot) {
            if (slot->p) return FLOE_ERR_MALFORMED; /* RFC 7616 §3.3: at most once */
            *slot = v;
        } else if (sip_ieq(name.p, name.len, "stale")) {
            if (!bool_value(v, &out->stale)) return FLOE_ERR_MALFORMED;
        } else if (sip_ieq(name.p, name.len, "userhash")) {
            if (!bool_value(v, &out->userhash)) return FLOE_ERR_MALFORMED;
        }
        (void)quoted;
        sip_skip_lws(&s);
        if (sip_scan_end(&s)) break;
        if (!sip_sep(&s, ',')) return FLOE_ERR_MALFORMED;
    }
    if (out->algorithm.p) {
        out->alg = FLOE_SIP_ALG_OTHER;
        for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
            if (sip_ieq(out->algorithm.p, out->algorithm.len, algs[i].name)) out->alg = algs[i].alg;
    }
    if (out->qop.p && !qop_value(out->qop, out)) return FLOE_ERR_MALFORMED;
    if (out->nc.p) {
        if (out->nc.len != 8) return FLOE_ERR_MALFORMED;
        for (size_t i = 0; i < 8; i++)
            if (!sip_is_hex((unsigned char)out->nc.p[i])) return FLOE_ERR_MALFORMED;
    }
    return FLOE_OK;
}

int floe_sip_msg_next_auth(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                           floe_sip_auth *out) {
    if (id != FLOE_SIP_H_WWW_AUTHENTICATE && id != FLOE_SIP_H_PROXY_AUTHENTICATE &&
        id != FLOE_SIP_H_AUTHORIZATION && id != FLOE_SIP_H_PROXY_AUTHORIZATION)
        return FLOE_ERR_INVAL;
    floe_sip_str v;
    int rc = floe_sip_msg_next_value(m, id, it, &v);
    if (rc != FLOE_OK) return rc;
    return floe_sip_auth_parse(v, out);
}
