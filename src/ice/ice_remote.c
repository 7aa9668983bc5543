/* The peer's side: its credentials per stream and its candidates, signalled (SDP,
 * trickle) or learnt from its checks as peer-reflexive (RFC 8445 §7.3.1.3). */
#include <string.h>

#include "floe/err.h"
#include "floe/stun_auth.h"
#include "ice_priv.h"

/* Printable ASCII without ':' (which separates the two halves of USERNAME). The RFC
 * alphabet (ice-char) is narrower; floe accepts what cannot break the framing. */
static bool cred_ok(const char *s, size_t max, bool colon_ok) {
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (n >= max || ch <= 0x20 || ch >= 0x7f || (!colon_ok && ch == ':')) return false;
    }
    return n > 0;
}

int floe_ice_agent_set_remote_credentials(floe_ice_agent *a, unsigned stream, const char *ufrag,
                                          const char *pwd) {
    if (!a || !ufrag || !pwd || stream >= a->n_streams) return FLOE_ERR_INVAL;
    if (strnlen(ufrag, FLOE_ICE_REMOTE_CRED_MAX + 1) > FLOE_ICE_REMOTE_CRED_MAX ||
        strnlen(pwd, FLOE_ICE_REMOTE_CRED_MAX + 1) > FLOE_ICE_REMOTE_CRED_MAX)
        return FLOE_ERR_LIMIT;
    if (!cred_ok(ufrag, FLOE_ICE_REMOTE_CRED_MAX, false) ||
        !cred_ok(pwd, FLOE_ICE_REMOTE_CRED_MAX, true))
        return FLOE_ERR_INVAL;
    ice_stream *s = &a->streams[stream];
    size_t klen = 0;
    if (floe_stun_key_short_term(pwd, s->rkey, sizeof s->rkey, &klen) != FLOE_OK)
        return FLOE_ERR_INVAL;
    s->rkey_len = (uint16_t)klen;
    memcpy(s->rufrag, ufrag, strlen(ufrag) + 1);
    s->has_rcred = 1;
    return FLOE_OK;
}

int ice_remote_find(const floe_ice_agent *a, unsigned stream, unsigned comp,
                    const floe_addr *addr) {
    for (unsigned i = 0; i < a->n_remote; i++) {
        const ice_rcand *r = &a->remote[i];
        if (r->stream == stream && r->comp == comp && ice_addr_same(&r->addr, addr)) return (int)i;
    }
    return -1;
}

/* fid: the first remote candidate with the same foundation string. */
static void refresh_fids(floe_ice_agent *a) {
    for (unsigned i = 0; i < a->n_remote; i++) {
        unsigned j = 0;
        while (strncmp(a->remote[j].foundation, a->remote[i].foundation, FLOE_ICE_FOUNDATION_MAX) !=
               0)
            j++;
        a->remote[i].fid = (uint8_t)j;
    }
}

static int append(floe_ice_agent *a, const ice_rcand *r) {
    if (a->n_remote >= a->max_remote) {
        a->stats.cap_candidates++;
        return FLOE_ERR_LIMIT;
    }
    unsigned i = a->n_remote++;
    a->remote[i] = *r;
    refresh_fids(a);
    if (a->started) ice_cl_pair_remote(a, i, a->now);
    return (int)i;
}

int floe_ice_agent_add_remote_candidate(floe_ice_agent *a, unsigned stream,
                                        const floe_ice_cand *c) {
    if (!a || !c || stream >= a->n_streams) return FLOE_ERR_INVAL;
    if (c->component < 1 || c->component > a->streams[stream].n_comp) return FLOE_ERR_INVAL;
    if (c->addr.family != FLOE_AF_INET4 && c->addr.family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (c->addr.port == 0 || c->priority == 0) return FLOE_ERR_INVAL;
    if (floe_addr_classify(&c->addr, NULL) &
        (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST))
        return FLOE_ERR_INVAL;
    if (c->type > FLOE_ICE_CAND_RELAY) return FLOE_ERR_INVAL;
    size_t flen = strnlen(c->foundation, sizeof c->foundation);
    if (flen == 0 || flen > FLOE_ICE_FOUNDATION_MAX) return FLOE_ERR_INVAL;
    if (c->transport != FLOE_TRANSPORT_UDP) return FLOE_ERR_UNSUPPORTED; /* RFC 6544: later */

    ice_rcand r;
    memset(&r, 0, sizeof r);
    r.addr = c->addr;
    r.prio = c->priority;
    r.type = (uint8_t)c->type;
    r.stream = (uint8_t)stream;
    r.comp = c->component;
    memcpy(r.foundation, c->foundation, flen); /* NUL-padded by the memset when shorter */

    int i = ice_remote_find(a, stream, c->component, &c->addr);
    if (i >= 0) {
        /* Signalled after we learnt it from a check: the signalled values win. */
        ice_rcand *old = &a->remote[i];
        if (old->type == FLOE_ICE_CAND_PRFLX && r.type != FLOE_ICE_CAND_PRFLX) {
            *old = r;
            refresh_fids(a);
            ice_cl_recompute_priorities(a);
        }
        return FLOE_OK;
    }
    int rc = append(a, &r);
    return rc < 0 ? rc : FLOE_OK;
}

int ice_remote_add_prflx(floe_ice_agent *a, unsigned stream, unsigned comp, const floe_addr *addr,
                         uint32_t prio) {
    ice_rcand r;
    memset(&r, 0, sizeof r);
    r.addr = *addr;
    r.prio = prio;
    r.type = FLOE_ICE_CAND_PRFLX;
    r.stream = (uint8_t)stream;
    r.comp = (uint8_t)comp;
    /* §7.3.1.3: any foundation unlike the signalled ones; '~' is no ice-char. */
    unsigned n = ++a->prflx_seq;
    char *f = r.foundation;
    size_t k = 0;
    f[k++] = '~';
    char tmp[8];
    size_t t = 0;
    do {
        tmp[t++] = (char)('0' + n % 10);
        n /= 10;
    } while (n && t < sizeof tmp);
    while (t)
        f[k++] = tmp[--t];
    f[k] = '\0';
    return append(a, &r);
}

void ice_remote_export(const ice_rcand *r, floe_ice_cand *out) {
    memset(out, 0, sizeof *out);
    out->type = (floe_ice_cand_type)r->type;
    out->transport = FLOE_TRANSPORT_UDP;
    out->component = r->comp;
    out->priority = r->prio;
    memcpy(out->foundation, r->foundation, sizeof r->foundation); /* out's NUL: memset */
    out->addr = r->addr;
    out->related.family = FLOE_AF_NONE;
    out->local_pref = (uint16_t)((r->prio >> 8) & 0xffff);
}
