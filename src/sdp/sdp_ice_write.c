/* Writing ICE into a description being built (RFC 8839 §4.2.1): the session-level
 * attributes, and per media section the credentials, candidates and default candidate. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp_ice.h"
#include "sdp/sdp_internal.h"

int floe_sdp_ice_session_write(floe_sdp *s, const floe_sdp_ice_session *opt, floe_sdp_arena *ar) {
    if (!s || !opt || !ar) return FLOE_ERR_INVAL;
    int rc = FLOE_OK;
    if (opt->lite) rc = floe_sdp_attr_add(&s->attrs, "ice-lite", NULL);
    if (rc == FLOE_OK && (opt->ice2 || opt->trickle)) {
        const char *v = opt->ice2 && opt->trickle ? "ice2 trickle" : opt->ice2 ? "ice2" : "trickle";
        rc = floe_sdp_attr_add(&s->attrs, "ice-options", v);
    }
    if (rc == FLOE_OK && opt->pacing_ms) {
        floe_sdp_str v;
        rc = floe_sdp_arena_u64(ar, opt->pacing_ms, &v);
        if (rc == FLOE_OK) rc = floe_sdp_attr_add_str(&s->attrs, floe_sdp_str_c("ice-pacing"), v);
    }
    return rc;
}

/* Builds text in a fixed buffer before it goes to the arena. */
typedef struct tbuf {
    char s[FLOE_SDP_ICE_MAX_REMOTE * (4 + FLOE_ADDR_STRLEN + 7) + 16];
    size_t n;
    bool full;
} tbuf;

static void tput(tbuf *b, const char *p, size_t n) {
    if (b->full || sizeof(b->s) - b->n < n) {
        b->full = true;
        return;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
}

static void tput_u(tbuf *b, uint64_t v) {
    char d[24];
    tput(b, d, sdp_fmt_u64(d, v));
}

static void tput_ip(tbuf *b, const floe_addr *a) {
    char t[FLOE_ADDR_STRLEN];
    floe_addr x = *a;
    x.port = 0;
    x.scope_id = 0;
    tput(b, t, floe_addr_format(&x, false, t, sizeof(t)));
}

static int add_text(floe_sdp_media *m, floe_sdp_arena *ar, const char *name, const char *p,
                    size_t n) {
    floe_sdp_str v;
    int rc = floe_sdp_arena_put(ar, p, n, &v);
    if (rc != FLOE_OK) return rc;
    return floe_sdp_attr_add_str(&m->attrs, floe_sdp_str_c(name), v);
}

/* A default candidate must be one of the listed ones (or the peer sees a mismatch). */
static bool listed(const floe_sdp_ice_local *l, const floe_ice_cand *d, unsigned comp) {
    if (d->component != comp || d->transport != FLOE_TRANSPORT_UDP) return false;
    for (size_t i = 0; i < l->n_cands; i++)
        if (l->cands[i].component == comp && l->cands[i].transport == FLOE_TRANSPORT_UDP &&
            floe_addr_equal(&l->cands[i].addr, &d->addr))
            return true;
    return false;
}

static int set_default(floe_sdp_media *m, const floe_sdp_ice_local *l) {
    floe_addr a;
    if (l->default_rtp) {
        a = l->default_rtp->addr;
        if (a.family != FLOE_AF_INET4 && a.family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    } else if (l->placeholder_v6) {
        static const uint8_t any6[16] = {0};
        floe_addr_set_v6(&a, any6, FLOE_SDP_ICE_DISCARD_PORT);
    } else {
        floe_addr_set_v4(&a, 0, FLOE_SDP_ICE_DISCARD_PORT);
    }
    m->port = a.port;
    floe_sdp_conn_set(&m->conn, &a);
    return FLOE_OK;
}

int floe_sdp_ice_media_write(floe_sdp_media *m, const floe_sdp_ice_local *l, floe_sdp_arena *ar) {
    if (!m || !l || !ar || (!l->cands && l->n_cands) || (!l->remote && l->n_remote))
        return FLOE_ERR_INVAL;
    if (l->n_remote > FLOE_SDP_ICE_MAX_REMOTE) return FLOE_ERR_INVAL;
    for (size_t i = 0; i < l->n_remote; i++) {
        const floe_sdp_ice_remote *r = &l->remote[i];
        if (r->component == 0 || r->addr.port == 0 ||
            (r->addr.family != FLOE_AF_INET4 && r->addr.family != FLOE_AF_INET6))
            return FLOE_ERR_INVAL;
    }
    if (l->default_rtp && !listed(l, l->default_rtp, 1)) return FLOE_ERR_INVAL;
    if (l->default_rtcp && (!l->default_rtp || !listed(l, l->default_rtcp, 2)))
        return FLOE_ERR_INVAL;

    if (l->mismatch) { /* RFC 8839 §4.2.5 item 1: a=ice-mismatch and no candidates */
        if (l->default_rtp) {
            int rc = set_default(m, l);
            if (rc != FLOE_OK) return rc;
        }
        return floe_sdp_attr_add(&m->attrs, "ice-mismatch", NULL);
    }

    size_t ul = l->ufrag ? strlen(l->ufrag) : 0, pl = l->pwd ? strlen(l->pwd) : 0;
    if (!l->ufrag ||
        !sdp_ice_chars(l->ufrag, ul, FLOE_SDP_ICE_UFRAG_MIN, FLOE_SDP_ICE_UFRAG_SEND_MAX))
        return FLOE_ERR_INVAL;
    if (!l->pwd || !sdp_ice_chars(l->pwd, pl, FLOE_SDP_ICE_PWD_MIN, FLOE_SDP_ICE_PWD_MAX))
        return FLOE_ERR_INVAL;
    /* Check every candidate before touching m. */
    char line[FLOE_SDP_CANDIDATE_STRLEN];
    for (size_t i = 0; i < l->n_cands; i++) {
        int n = floe_sdp_candidate_print(&l->cands[i], line, sizeof(line));
        if (n < 0) return n == FLOE_ERR_UNSUPPORTED ? FLOE_ERR_INVAL : n;
    }

    int rc = set_default(m, l);
    if (rc == FLOE_OK) rc = add_text(m, ar, "ice-ufrag", l->ufrag, ul);
    if (rc == FLOE_OK) rc = add_text(m, ar, "ice-pwd", l->pwd, pl);
    for (size_t i = 0; i < l->n_cands && rc == FLOE_OK; i++) {
        int n = floe_sdp_candidate_print(&l->cands[i], line, sizeof(line));
        rc = n < 0 ? n : add_text(m, ar, "candidate", line, (size_t)n);
    }
    if (rc == FLOE_OK && l->default_rtcp) {
        /* RFC 3605 §2.1: a=rtcp:<port> IN <addrtype> <address> */
        tbuf b = {{0}, 0, false};
        const floe_addr *a = &l->default_rtcp->addr;
        tput_u(&b, a->port);
        tput(&b, a->family == FLOE_AF_INET4 ? " IN IP4 " : " IN IP6 ", 8);
        tput_ip(&b, a);
        rc = b.full ? FLOE_ERR_NOSPACE : add_text(m, ar, "rtcp", b.s, b.n);
    }
    if (rc == FLOE_OK && l->n_remote) {
        tbuf b = {{0}, 0, false};
        for (size_t i = 0; i < l->n_remote; i++) {
            const floe_sdp_ice_remote *r = &l->remote[i];
            if (i) tput(&b, " ", 1);
            tput_u(&b, r->component);
            tput(&b, " ", 1);
            tput_ip(&b, &r->addr);
            tput(&b, " ", 1);
            tput_u(&b, r->addr.port);
        }
        rc = b.full ? FLOE_ERR_NOSPACE : add_text(m, ar, "remote-candidates", b.s, b.n);
    }
    if (rc == FLOE_OK && l->end_of_candidates)
        rc = floe_sdp_attr_add(&m->attrs, "end-of-candidates", NULL);
    return rc;
}
