/* The peer's checks (RFC 8445 §7.3): authenticate, resolve role conflicts, learn the
 * peer-reflexive remote candidate, answer, and queue the triggered check; on the
 * controlled side, USE-CANDIDATE nominates (§7.3.1.5).
 *
 * Unauthenticated input gets as little as possible: RFC 8489 §9.1.3 wants 400 (no
 * USERNAME or MESSAGE-INTEGRITY) and 401 (unknown user, bad integrity), and floe sends
 * them only when the answer (header, ERROR-CODE without reason, FINGERPRINT: 36 bytes) is
 * no larger than the request, so that the agent never amplifies. Everything else that is
 * wrong is dropped silently and counted. */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

#define ICE_BARE_ERROR_LEN 36 /* header 20 + ERROR-CODE 8 + FINGERPRINT 8 */

static void queue(floe_ice_agent *a, unsigned base, const floe_addr *to, const floe_stun_msg *m,
                  unsigned code, bool auth) {
    if (a->resp_count == ICE_RESP_SLOTS) {
        a->stats.cap_sends++;
        return;
    }
    ice_resp *r = &a->resp[(a->resp_head + a->resp_count) % ICE_RESP_SLOTS];
    a->resp_count++;
    memset(r, 0, sizeof *r);
    r->to = *to;
    memcpy(r->tid, m->tid, FLOE_STUN_TID_LEN);
    r->code = (uint16_t)code;
    r->base = (uint8_t)base;
    r->info = auth ? ICE_RESP_AUTH : 0;
    if (code == FLOE_STUN_ERR_UNKNOWN_ATTRIBUTE) {
        for (unsigned k = 0; k < m->n_unknown && k < 4; k++)
            r->unknown[k] = m->unknown[k];
        r->info |= (uint8_t)(m->n_unknown < 4 ? m->n_unknown : 4);
    }
}

/* An unauthenticated error answer, only if it is no larger than the request. */
static void bare_error(floe_ice_agent *a, unsigned base, const floe_addr *from,
                       const floe_stun_msg *m, size_t len, unsigned code) {
    if (len >= ICE_BARE_ERROR_LEN) queue(a, base, from, m, code, false);
}

/* "ours:theirs": the part before the colon must be our ufrag (§7.3). */
static bool username_ours(const floe_ice_agent *a, const char *u, size_t n) {
    size_t lu = strlen(a->ufrag);
    return n > lu && u[lu] == ':' && memcmp(u, a->ufrag, lu) == 0;
}

/* §7.3.1.1. Returns true when the request must be answered with 487. */
static bool role_conflict(floe_ice_agent *a, const floe_stun_msg *m, floe_time_ns now) {
    uint64_t theirs = 0;
    bool ctrl = floe_stun_msg_get_u64(m, FLOE_STUN_ATTR_ICE_CONTROLLING, &theirs) == FLOE_OK;
    bool ctld =
        !ctrl && floe_stun_msg_get_u64(m, FLOE_STUN_ATTR_ICE_CONTROLLED, &theirs) == FLOE_OK;
    if (a->cfg.lite) {
        /* A lite agent is always controlled: a peer that also claims it is told so. */
        if (ctld) a->stats.role_conflicts++;
        return ctld;
    }
    if (a->controlling && ctrl) {
        a->stats.role_conflicts++;
        if (a->tiebreaker >= theirs || a->remote_lite) return true;
        ice_role_set(a, false, now);
    } else if (!a->controlling && ctld) {
        a->stats.role_conflicts++;
        if (a->tiebreaker < theirs) return true;
        ice_role_set(a, true, now);
    }
    return false;
}

/* §7.3.1.4 (full agent) or the lite agent's shortcut, then §7.3.1.5. */
static void handle_pair(floe_ice_agent *a, unsigned i, bool use_cand, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    if (a->cfg.lite) {
        ice_pair_step(a, i, ICE_PAIR_EV_VALIDATE, now);
        p->flags |= ICE_PF_VALID;
        p->valid = (uint16_t)i;
        if (use_cand) ice_nom_nominated(a, i, now);
        return;
    }
    switch ((floe_ice_pair_state)p->state) {
    case FLOE_ICE_PAIR_SUCCEEDED: break; /* nothing to check again */
    case FLOE_ICE_PAIR_IN_PROGRESS: {
        /* Stop retransmitting; an answer to it still counts (ICE_PF_TXN stays, and the
         * new check keeps its slot as the old one). A nomination stays a nomination. */
        ice_check_txn *t = ice_txn_current(a, i);
        if (t) ice_txn_cancel(&t->txn);
        p->flags &= (uint16_t)~ICE_PF_SEND;
        if (p->flags & ICE_PF_USE_CAND) p->flags |= ICE_PF_NOMINATE;
        ice_pair_step(a, i, ICE_PAIR_EV_TRIGGER, now);
        ice_sched_trigger(a, i);
        break;
    }
    case FLOE_ICE_PAIR_FAILED:
        /* §7.3.1.4 revives a Failed pair. One that failed on an answer from another
         * address (§7.2.5.2.1) would fail the same way again, since the peer's NAT keeps
         * mapping the answers elsewhere; reviving it lets two agents behind such NATs
         * re-trigger each other's checks forever (tests/sim: apdm on both sides). */
        if (p->flags & ICE_PF_ASYM) return;
        ice_pair_step(a, i, ICE_PAIR_EV_TRIGGER, now);
        ice_sched_trigger(a, i);
        break;
    case FLOE_ICE_PAIR_FROZEN:
    case FLOE_ICE_PAIR_WAITING:
        ice_pair_step(a, i, ICE_PAIR_EV_TRIGGER, now);
        ice_sched_trigger(a, i);
        break;
    }
    if (!use_cand || a->controlling) return;
    if (p->state == FLOE_ICE_PAIR_SUCCEEDED)
        ice_nom_nominated(a, p->valid != ICE_NONE ? p->valid : i, now);
    else
        p->flags |= ICE_PF_NOM_LATER; /* nominated when its triggered check succeeds */
}

ice_rx ice_answer_request(floe_ice_agent *a, floe_time_ns now, unsigned base, const floe_addr *from,
                          const floe_stun_msg *m, size_t len) {
    if (m->fp < 0) { /* ICE requires FINGERPRINT (RFC 8445 §7.2.2) */
        a->stats.drop_malformed++;
        return ICE_RX_DROPPED;
    }
    const char *user = NULL;
    size_t ulen = 0;
    bool has_user = floe_stun_msg_get_string(m, FLOE_STUN_ATTR_USERNAME, &user, &ulen) == FLOE_OK;
    bool has_mi = m->mi >= 0 || m->mi256 >= 0;
    if (!has_user || !has_mi) {
        if (!has_user)
            a->stats.drop_unknown_user++;
        else
            a->stats.drop_integrity++;
        bare_error(a, base, from, m, len, FLOE_STUN_ERR_BAD_REQUEST);
        return ICE_RX_DROPPED;
    }
    if (!username_ours(a, user, ulen)) {
        a->stats.drop_unknown_user++;
        bare_error(a, base, from, m, len, FLOE_STUN_ERR_UNAUTHORIZED);
        return ICE_RX_DROPPED;
    }
    if (floe_stun_msg_check_integrity(m, (const uint8_t *)a->pwd, strlen(a->pwd)) != FLOE_OK) {
        a->stats.drop_integrity++;
        bare_error(a, base, from, m, len, FLOE_STUN_ERR_UNAUTHORIZED);
        return ICE_RX_DROPPED;
    }
    /* Authenticated from here on: answers carry MESSAGE-INTEGRITY. */
    if (m->n_unknown > 0) {
        queue(a, base, from, m, FLOE_STUN_ERR_UNKNOWN_ATTRIBUTE, true);
        return ICE_RX_DONE;
    }
    uint32_t prio = 0;
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_PRIORITY, &prio) != FLOE_OK || prio == 0) {
        a->stats.drop_malformed++;
        queue(a, base, from, m, FLOE_STUN_ERR_BAD_REQUEST, true);
        return ICE_RX_DROPPED;
    }
    if (role_conflict(a, m, now)) {
        queue(a, base, from, m, FLOE_STUN_ERR_ROLE_CONFLICT, true);
        return ICE_RX_DONE;
    }
    a->stats.checks_received++;
    queue(a, base, from, m, 0, true);

    /* §7.3.1.3: a source we do not know is a peer-reflexive candidate. One base learns
     * at most a quarter of the remote table (at least 4): behind two address-and-port-
     * dependent NATs that let everything in (apdm/eif), every check the peer sends to a
     * candidate learnt this way leaves from a new mapping, which is learnt in turn, one
     * more per round trip. Unbounded, that chain filled the table within seconds and the
     * one candidate that worked, the peer's mapping toward our relayed address (learnt on
     * the relay base), found no room: the nomination on it was answered and ignored. */
    ice_base *b = &a->bases[base];
    int r = ice_remote_find(a, b->stream, b->comp, from);
    unsigned quota = a->max_remote / 4 > 4 ? a->max_remote / 4u : 4u;
    if (r < 0 && b->prflx >= quota) {
        a->stats.cap_candidates++;
        return ICE_RX_DONE; /* answered, but no candidate and no check of ours */
    }
    if (r < 0) {
        r = ice_remote_add_prflx(a, b->stream, b->comp, from, prio);
        if (r >= 0) b->prflx++;
    }
    int l = ice_local_of_base(a, base);
    if (r < 0 || l < 0) return ICE_RX_DONE; /* capped (counted), or not gathered yet */
    int i = ice_cl_find(a, (unsigned)l, (unsigned)r);
    if (i < 0) i = ice_cl_add(a, (unsigned)l, (unsigned)r, true, now);
    if (i < 0) return ICE_RX_DONE; /* capped: answered, but no check of ours */
    bool use_cand = floe_stun_msg_find(m, FLOE_STUN_ATTR_USE_CANDIDATE) != NULL;
    handle_pair(a, (unsigned)i, use_cand, now);
    return ICE_RX_DONE;
}

int ice_answer_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                         floe_addr *to) {
    if (a->resp_count == 0) return FLOE_ERR_NOT_FOUND;
    const ice_resp *r = &a->resp[a->resp_head];
    bool auth = (r->info & ICE_RESP_AUTH) != 0;
    unsigned n_unknown = r->info & 0x07u;
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING,
                           r->code ? FLOE_STUN_ERROR : FLOE_STUN_SUCCESS, r->tid);
    if (r->code == 0) {
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &r->to);
    } else {
        floe_stun_add_error(&b, r->code, auth ? NULL : "");
        if (n_unknown) floe_stun_add_unknown(&b, r->unknown, n_unknown);
    }
    if (auth) floe_stun_add_integrity(&b, (const uint8_t *)a->pwd, strlen(a->pwd));
    floe_stun_add_fingerprint(&b);
    int rc = floe_stun_builder_finish(&b, len);
    if (rc == FLOE_ERR_NOSPACE) return rc;
    a->resp_head = (uint8_t)((a->resp_head + 1) % ICE_RESP_SLOTS);
    a->resp_count--;
    if (rc != FLOE_OK) return FLOE_ERR_NOT_FOUND;
    *base = r->base;
    *to = r->to;
    if (r->code)
        a->stats.errors_sent++;
    else
        a->stats.responses_sent++;
    return FLOE_OK;
}
