/* Reading ICE from a parsed description (RFC 8839): credentials, options, candidates,
 * the default destination and the ICE-mismatch check of §4.2.5. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp_ice.h"
#include "sdp/sdp_internal.h"

typedef struct ctx {
    floe_sdp_ice_stats *st;
    floe_sdp_error *err;
} ctx;

enum counter { C_NONE, C_BAD_CAND, C_TOO_MANY, C_MISSING, C_CREDS, C_ATTR };

static int fail(ctx *c, int code, int line, const char *why, enum counter which) {
    if (c->err) {
        c->err->line = line;
        c->err->reason = why;
    }
    if (c->st) {
        switch (which) {
        case C_BAD_CAND: c->st->cand_bad++; break;
        case C_TOO_MANY: c->st->cand_too_many++; break;
        case C_MISSING: c->st->missing_credentials++; break;
        case C_CREDS: c->st->bad_credentials++; break;
        case C_ATTR: c->st->bad_attr++; break;
        case C_NONE: break;
        }
    }
    return code;
}

static bool is(const floe_sdp_attr *a, const char *name) {
    return floe_sdp_str_eq(a->name, name);
}

/* ---- attribute values -------------------------------------------------------------------- */

/* ice-options: ice-option-tag *(SP ice-option-tag), tag = 1*ice-char (RFC 8839 §5.6). */
static int options(ctx *c, const floe_sdp_attr *a, floe_sdp_ice_media *out) {
    floe_sdp_str v = a->value;
    if (!v.p || v.len == 0)
        return fail(c, FLOE_ERR_MALFORMED, a->line, "a=ice-options without a value", C_ATTR);
    size_t i = 0;
    while (i <= v.len) {
        size_t j = i;
        while (j < v.len && v.p[j] != ' ')
            j++;
        if (!sdp_ice_chars(v.p + i, j - i, 1, SIZE_MAX))
            return fail(c, FLOE_ERR_MALFORMED, a->line, "a=ice-options tag is not 1*ice-char",
                        C_ATTR);
        if (sdp_eq(v.p + i, j - i, "ice2")) out->ice2 = true;
        if (sdp_eq(v.p + i, j - i, "trickle")) out->trickle = true;
        if (j == v.len) break;
        i = j + 1;
    }
    return FLOE_OK;
}

static int flag(ctx *c, const floe_sdp_attr *a, bool *dst, const char *why) {
    if (a->value.p) return fail(c, FLOE_ERR_MALFORMED, a->line, why, C_ATTR);
    *dst = true;
    return FLOE_OK;
}

/* remote-candidates: component SP address SP port, repeated (RFC 8839 §5.2). */
static int remotes(ctx *c, const floe_sdp_attr *a, floe_sdp_ice_media *out) {
    floe_sdp_str f[3 * FLOE_SDP_ICE_MAX_REMOTE + 1];
    long n = a->value.p ? sdp_split(a->value.p, a->value.len, f, sizeof f / sizeof f[0]) : -1;
    if (n < 3 || n % 3 != 0)
        return fail(c, FLOE_ERR_MALFORMED, a->line,
                    "a=remote-candidates needs <component> <address> <port> triples", C_ATTR);
    for (long i = 0; i < n; i += 3) {
        if ((size_t)i + 2 >= sizeof f / sizeof f[0] || out->n_remote >= FLOE_SDP_ICE_MAX_REMOTE)
            return fail(c, FLOE_ERR_LIMIT, a->line, "too many remote candidates", C_ATTR);
        floe_sdp_ice_remote *r = &out->remote[out->n_remote];
        uint64_t comp, port;
        if (!sdp_u64(f[i].p, f[i].len, 3, UINT8_MAX, &comp) || comp == 0)
            return fail(c, FLOE_ERR_MALFORMED, a->line,
                        "a=remote-candidates component out of range (1..255)", C_ATTR);
        if (!sdp_ip_literal(f[i + 1].p, f[i + 1].len, 0, &r->addr))
            return fail(c, FLOE_ERR_MALFORMED, a->line,
                        "a=remote-candidates address is not an IP literal", C_ATTR);
        if (!sdp_u64(f[i + 2].p, f[i + 2].len, 5, 65535, &port) || port == 0)
            return fail(c, FLOE_ERR_MALFORMED, a->line,
                        "a=remote-candidates port out of range (1..65535)", C_ATTR);
        r->component = (uint8_t)comp;
        r->addr.port = (uint16_t)port;
        out->n_remote++;
    }
    return FLOE_OK;
}

/* a=rtcp:<port> [<nettype> <addrtype> <address>] (RFC 3605 §2.1). */
static int rtcp(ctx *c, const floe_sdp_attr *a, const floe_addr *conn, floe_sdp_ice_media *out) {
    floe_sdp_str f[4];
    long n = a->value.p ? sdp_split(a->value.p, a->value.len, f, 4) : -1;
    uint64_t port;
    if (n != 1 && n != 4)
        return fail(c, FLOE_ERR_MALFORMED, a->line, "a=rtcp needs a port and optionally an address",
                    C_ATTR);
    if (!sdp_u64(f[0].p, f[0].len, 5, 65535, &port))
        return fail(c, FLOE_ERR_MALFORMED, a->line, "a=rtcp port out of range", C_ATTR);
    floe_addr addr = *conn;
    if (n == 4) {
        const char *why = sdp_check_address(f[1], f[2], f[3].p, f[3].len, &addr);
        if (why) return fail(c, FLOE_ERR_MALFORMED, a->line, why, C_ATTR);
    }
    out->has_rtcp_attr = true;
    out->default_rtcp = addr;
    if (addr.family != FLOE_AF_NONE) out->default_rtcp.port = (uint16_t)port;
    return FLOE_OK;
}

static int candidate(ctx *c, const floe_sdp_attr *a, floe_sdp_ice_media *out) {
    floe_ice_cand cand;
    floe_sdp_error e;
    int rc = floe_sdp_candidate_parse(a->value.p, a->value.p ? a->value.len : 0, &cand, &e);
    if (rc == FLOE_ERR_UNSUPPORTED) {
        out->n_skipped++;
        if (c->st) c->st->cand_unsupported++;
        return FLOE_OK;
    }
    if (rc != FLOE_OK)
        return fail(c, FLOE_ERR_MALFORMED, a->line, e.reason ? e.reason : "bad a=candidate",
                    C_BAD_CAND);
    if (out->n_cands >= FLOE_SDP_ICE_MAX_CANDIDATES)
        return fail(c, FLOE_ERR_LIMIT, a->line, "too many a=candidate lines", C_TOO_MANY);
    out->cands[out->n_cands++] = cand;
    return FLOE_OK;
}

/* ---- credentials ------------------------------------------------------------------------ */

/* The one attribute called name in l, or NULL; *dup is set when there are more. */
static const floe_sdp_attr *single(const floe_sdp_attrs *l, const char *name,
                                   const floe_sdp_attr **dup) {
    const floe_sdp_attr *a = floe_sdp_attr_find(l, name, NULL);
    *dup = a ? floe_sdp_attr_find(l, name, a) : NULL;
    return a;
}

/* The effective ice-ufrag or ice-pwd of media section mi: its own, else the session's. */
static const floe_sdp_attr *effective(const floe_sdp *s, size_t mi, const char *name) {
    const floe_sdp_attr *a = floe_sdp_attr_find(&s->media[mi].attrs, name, NULL);
    return a ? a : floe_sdp_attr_find(&s->attrs, name, NULL);
}

static bool same_value(const floe_sdp_attr *a, const floe_sdp_attr *b) {
    return a->value.len == b->value.len &&
           (a->value.len == 0 || memcmp(a->value.p, b->value.p, a->value.len) == 0);
}

static int credential(ctx *c, const floe_sdp *s, size_t mi, const char *name, size_t min,
                      size_t max, char *dst, const char *dup_why, const char *bad_why) {
    const floe_sdp_attr *dup, *a = single(&s->media[mi].attrs, name, &dup);
    if (!a) a = single(&s->attrs, name, &dup);
    if (dup) return fail(c, FLOE_ERR_MALFORMED, dup->line, dup_why, C_CREDS);
    if (!a) return FLOE_OK;
    if (!a->value.p || !sdp_ice_chars(a->value.p, a->value.len, min, max))
        return fail(c, FLOE_ERR_MALFORMED, a->line, bad_why, C_CREDS);
    memcpy(dst, a->value.p, a->value.len);
    dst[a->value.len] = '\0';
    return FLOE_OK;
}

/* RFC 8839 §5.4: two data streams with the same ice-ufrag have the same ice-pwd. */
static int shared_ufrag(ctx *c, const floe_sdp *s, size_t mi) {
    const floe_sdp_attr *u = effective(s, mi, "ice-ufrag"), *p = effective(s, mi, "ice-pwd");
    if (!u || !p || !u->value.p || !p->value.p) return FLOE_OK;
    for (size_t j = 0; j < s->n_media && j < FLOE_SDP_MAX_MEDIA; j++) {
        if (j == mi) continue;
        const floe_sdp_attr *u2 = effective(s, j, "ice-ufrag"), *p2 = effective(s, j, "ice-pwd");
        if (!u2 || !p2 || !u2->value.p || !p2->value.p) continue;
        if (same_value(u, u2) && !same_value(p, p2))
            return fail(c, FLOE_ERR_MALFORMED, p->line,
                        "two m= sections share an ice-ufrag but not the ice-pwd", C_CREDS);
    }
    return FLOE_OK;
}

/* ---- the default destination -------------------------------------------------------------- */

static bool unspecified(const floe_addr *a) {
    static const uint8_t zero[16] = {0};
    return (a->family == FLOE_AF_INET4 || a->family == FLOE_AF_INET6) &&
           memcmp(a->ip, zero, floe_addr_ip_len(a)) == 0;
}

static bool in_candidates(const floe_sdp_ice_media *m, unsigned comp, floe_transport t,
                          const floe_addr *a) {
    for (size_t i = 0; i < m->n_cands; i++) {
        const floe_ice_cand *c = &m->cands[i];
        if (c->component == comp && c->transport == t && floe_addr_equal(&c->addr, a)) return true;
    }
    return false;
}

static bool has_component(const floe_sdp_ice_media *m, unsigned comp) {
    for (size_t i = 0; i < m->n_cands; i++)
        if (m->cands[i].component == comp) return true;
    return false;
}

/* RFC 8839 §4.2.5: each component's default destination must be a candidate. */
static void check_mismatch(const floe_sdp_media *med, floe_sdp_ice_media *out) {
    if (!out->ice || out->peer_mismatch || med->port == 0) return;
    if (out->default_fqdn || out->default_placeholder) return;
    /* The transport of the default comes from the m= proto ("RTP/AVP" is UDP). */
    floe_transport t = med->proto.len >= 3 && sdp_ieq(med->proto.p, 3, "TCP") ? FLOE_TRANSPORT_TCP
                                                                              : FLOE_TRANSPORT_UDP;
    bool ok = in_candidates(out, 1, t, &out->default_rtp);
    if (ok && has_component(out, 2) && out->default_rtcp.family != FLOE_AF_NONE)
        ok = in_candidates(out, 2, t, &out->default_rtcp);
    out->mismatch = !ok;
}

/* ---- the media section ---------------------------------------------------------------------- */

static int session_attrs(ctx *c, const floe_sdp *s, floe_sdp_ice_media *out) {
    bool have_pacing = false;
    for (size_t i = 0; i < s->attrs.n && i < FLOE_SDP_MAX_ATTRS; i++) {
        const floe_sdp_attr *a = &s->attrs.a[i];
        int rc = FLOE_OK;
        if (is(a, "candidate") || is(a, "remote-candidates")) {
            rc = fail(c, FLOE_ERR_MALFORMED, a->line,
                      "a=candidate and a=remote-candidates are media-level attributes", C_ATTR);
        } else if (is(a, "ice-lite")) {
            rc = flag(c, a, &out->lite, "a=ice-lite takes no value");
        } else if (is(a, "end-of-candidates")) {
            rc = flag(c, a, &out->end_of_candidates, "a=end-of-candidates takes no value");
        } else if (is(a, "ice-options")) {
            rc = options(c, a, out);
        } else if (is(a, "ice-pacing")) {
            uint64_t v;
            if (have_pacing)
                rc = fail(c, FLOE_ERR_MALFORMED, a->line, "a=ice-pacing repeated", C_ATTR);
            else if (!a->value.p ||
                     !sdp_u64(a->value.p, a->value.len, 10, UINT64_C(9999999999), &v))
                rc = fail(c, FLOE_ERR_MALFORMED, a->line, "a=ice-pacing is not a number of ms",
                          C_ATTR);
            else /* pacing-value = 1*10DIGIT (RFC 8839 §5.5): every such value is valid */
                out->pacing_ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            have_pacing = true;
        }
        if (rc != FLOE_OK) return rc;
    }
    return FLOE_OK;
}

static int media_attrs(ctx *c, const floe_sdp_media *m, const floe_addr *conn,
                       floe_sdp_ice_media *out) {
    const floe_sdp_attr *dup, *r = single(&m->attrs, "rtcp", &dup);
    if (dup) return fail(c, FLOE_ERR_MALFORMED, dup->line, "a=rtcp repeated", C_ATTR);
    if (r) {
        int rc = rtcp(c, r, conn, out);
        if (rc != FLOE_OK) return rc;
    }
    for (size_t i = 0; i < m->attrs.n && i < FLOE_SDP_MAX_ATTRS; i++) {
        const floe_sdp_attr *a = &m->attrs.a[i];
        int rc = FLOE_OK;
        if (is(a, "candidate"))
            rc = candidate(c, a, out);
        else if (is(a, "remote-candidates"))
            rc = remotes(c, a, out);
        else if (is(a, "ice-options"))
            rc = options(c, a, out);
        else if (is(a, "end-of-candidates"))
            rc = flag(c, a, &out->end_of_candidates, "a=end-of-candidates takes no value");
        else if (is(a, "ice-mismatch"))
            rc = flag(c, a, &out->peer_mismatch, "a=ice-mismatch takes no value");
        if (rc != FLOE_OK) return rc;
    }
    return FLOE_OK;
}

int floe_sdp_ice_media_parse(const floe_sdp *sdp, size_t mi, floe_sdp_ice_media *out,
                             floe_sdp_ice_stats *stats, floe_sdp_error *err) {
    if (err) {
        err->line = 0;
        err->reason = NULL;
    }
    if (!sdp || !out || mi >= sdp->n_media || mi >= FLOE_SDP_MAX_MEDIA) {
        if (err) err->reason = "no description, no output or no such media section";
        return FLOE_ERR_INVAL;
    }
    memset(out, 0, sizeof(*out));
    ctx c = {stats, err};
    const floe_sdp_media *m = &sdp->media[mi];
    const floe_sdp_conn *conn = m->conn.present ? &m->conn : &sdp->conn;

    /* The default destination (RFC 8839 §2). */
    floe_addr base = conn->present ? conn->addr : (floe_addr){0};
    out->default_fqdn = base.family == FLOE_AF_NONE;
    out->default_rtp = base;
    out->default_rtcp = base;
    if (base.family != FLOE_AF_NONE) {
        out->default_rtp.port = m->port;
        out->default_rtcp.port = m->port < 65535 ? (uint16_t)(m->port + 1) : 0;
    }
    out->default_placeholder =
        unspecified(&out->default_rtp) && m->port == FLOE_SDP_ICE_DISCARD_PORT;

    int rc = session_attrs(&c, sdp, out);
    if (rc == FLOE_OK) rc = media_attrs(&c, m, &base, out);
    if (rc == FLOE_OK)
        rc = credential(&c, sdp, mi, "ice-ufrag", FLOE_SDP_ICE_UFRAG_MIN, FLOE_SDP_ICE_UFRAG_MAX,
                        out->ufrag, "a=ice-ufrag repeated",
                        "a=ice-ufrag must be 4 to 256 ice-chars");
    if (rc == FLOE_OK)
        rc = credential(&c, sdp, mi, "ice-pwd", FLOE_SDP_ICE_PWD_MIN, FLOE_SDP_ICE_PWD_MAX,
                        out->pwd, "a=ice-pwd repeated", "a=ice-pwd must be 22 to 256 ice-chars");
    if (rc == FLOE_OK) rc = shared_ufrag(&c, sdp, mi);
    if (rc != FLOE_OK) return rc;

    bool creds = out->ufrag[0] || out->pwd[0];
    out->ice = creds || out->n_cands > 0 || out->n_skipped > 0 || out->n_remote > 0;
    if (out->ice && !out->ufrag[0])
        return fail(&c, FLOE_ERR_MALFORMED, m->line, "ICE attributes without a=ice-ufrag",
                    C_MISSING);
    if (out->ice && !out->pwd[0])
        return fail(&c, FLOE_ERR_MALFORMED, m->line, "ICE attributes without a=ice-pwd", C_MISSING);

    check_mismatch(m, out);
    if (stats) {
        stats->media_parsed++;
        stats->cand_ok += out->n_cands;
        if (out->mismatch) stats->mismatch++;
    }
    return FLOE_OK;
}

/* RFC 8445 §14.2: an agent that wants another Ta than 50 ms proposes it, both agents use
 * the higher of the proposed values, and an agent that proposes none counts as 50 ms.
 * RFC 8839 §5.5 carries the proposal in a=ice-pacing (absent: 50 ms) with the same
 * larger-wins rule. Neither puts a 50 ms floor under two proposals; only §14.2's 5 ms
 * bound on all of a process's transactions holds whatever the values. */
uint32_t floe_sdp_ice_pacing(uint32_t local_ms, uint32_t remote_ms) {
    if (local_ms == 0) local_ms = FLOE_SDP_ICE_PACING_DEFAULT;
    if (remote_ms == 0) remote_ms = FLOE_SDP_ICE_PACING_DEFAULT;
    uint32_t v = local_ms > remote_ms ? local_ms : remote_ms;
    return v < FLOE_SDP_ICE_PACING_MIN ? FLOE_SDP_ICE_PACING_MIN : v;
}

/* relay > srflx > prflx > host: how likely a candidate is to work without ICE. */
static int default_rank(floe_ice_cand_type t) {
    switch (t) {
    case FLOE_ICE_CAND_RELAY: return 3;
    case FLOE_ICE_CAND_SRFLX: return 2;
    case FLOE_ICE_CAND_PRFLX: return 1;
    case FLOE_ICE_CAND_HOST: return 0;
    }
    return -1;
}

const floe_ice_cand *floe_sdp_ice_default_choose(const floe_ice_cand *cands, size_t n,
                                                 unsigned component) {
    const floe_ice_cand *best = NULL;
    for (size_t i = 0; cands && i < n; i++) {
        const floe_ice_cand *c = &cands[i];
        if (c->component != component || c->transport != FLOE_TRANSPORT_UDP) continue;
        if (c->addr.family != FLOE_AF_INET4 && c->addr.family != FLOE_AF_INET6) continue;
        if (default_rank(c->type) < 0) continue;
        if (!best || default_rank(c->type) > default_rank(best->type) ||
            (default_rank(c->type) == default_rank(best->type) && c->priority > best->priority))
            best = c;
    }
    return best;
}
