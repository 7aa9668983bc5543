/* Our connectivity checks (RFC 8445 §7.2): the Binding request, and what its answer
 * means for the pair: success (symmetric, maybe a peer-reflexive local candidate, the
 * valid pair, unfreezing), role conflict (487), failure. */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

/* ---- requests --------------------------------------------------------------------- */

int ice_check_build(floe_ice_agent *a, unsigned stream, unsigned base,
                    const uint8_t tid[FLOE_STUN_TID_LEN], bool use_cand, uint8_t *buf, size_t cap,
                    size_t *len) {
    const ice_stream *s = &a->streams[stream];
    if (!s->has_rcred) return FLOE_ERR_STATE;
    /* USERNAME: the peer's ufrag, a colon, ours (§7.2.2). */
    char user[FLOE_ICE_REMOTE_CRED_MAX + 1 + FLOE_ICE_UFRAG_LEN + 1];
    size_t ru = strlen(s->rufrag), lu = strlen(a->ufrag);
    memcpy(user, s->rufrag, ru);
    user[ru] = ':';
    memcpy(user + ru + 1, a->ufrag, lu + 1);

    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, user);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, ice_base_prflx_priority(a, base));
    floe_stun_add_u64(
        &b, a->controlling ? FLOE_STUN_ATTR_ICE_CONTROLLING : FLOE_STUN_ATTR_ICE_CONTROLLED,
        a->tiebreaker);
    if (use_cand) floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    floe_stun_add_integrity(&b, s->rkey, s->rkey_len);
    floe_stun_add_fingerprint(&b);
    return floe_stun_builder_finish(&b, len);
}

void ice_check_start(floe_ice_agent *a, unsigned i, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    if (p->state == FLOE_ICE_PAIR_SUCCEEDED && !(p->flags & ICE_PF_NOMINATE)) {
        p->flags &= (uint16_t)~ICE_PF_TRIGGERED; /* already valid: nothing to learn */
        return;
    }
    if (!ice_txn_available(a)) return; /* stays queued until a slot frees (ice_sched.c) */
    uint8_t tid[FLOE_STUN_TID_LEN];
    if (!ice_rand(a, tid, sizeof tid)) return; /* stays queued; tried again next slot */
    if (p->flags & ICE_PF_TXN) {               /* the replaced check's answer is still welcome */
        ice_txn_make_old(a, i); /* (and the one it replaced before no longer counts) */
        if (p->flags & ICE_PF_AS_CTRL)
            p->flags |= ICE_PF_OLD_CTRL;
        else
            p->flags &= (uint16_t)~ICE_PF_OLD_CTRL;
    }
    int k = ice_txn_take(a);
    if (k < 0) return; /* cannot happen: a slot was available and the swap kept one */
    p->flags &= (uint16_t) ~(ICE_PF_TRIGGERED | ICE_PF_USE_CAND);
    if (p->flags & ICE_PF_NOMINATE) {
        p->flags &= (uint16_t)~ICE_PF_NOMINATE;
        if (a->controlling) {
            p->flags |= ICE_PF_USE_CAND;
            a->stats.nominations++;
        }
    }
    ice_check_txn *t = &a->txns[k];
    memcpy(t->txn.tid, tid, sizeof tid);
    ice_txn_start(&t->txn, now, ice_check_rto_n(a));
    t->last_send = now;
    ice_txn_hold(a, (unsigned)k, i);
    p->flags |= ICE_PF_SEND;
    ice_pair_step(a, i, ICE_PAIR_EV_SEND, now);
}

int ice_check_next_send(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                        unsigned *base, floe_addr *to) {
    for (unsigned i = 0; i < a->n_pairs; i++) {
        ice_pair *p = &a->pairs[i];
        if (!(p->flags & ICE_PF_SEND)) continue;
        ice_check_txn *t = ice_txn_current(a, i);
        if (!t) { /* owed copies belong to a running check */
            p->flags &= (uint16_t)~ICE_PF_SEND;
            continue;
        }
        unsigned b = a->local[p->local].base;
        int rc = ice_check_build(a, p->stream, b, t->txn.tid, (p->flags & ICE_PF_USE_CAND) != 0,
                                 buf, cap, len);
        if (rc == FLOE_ERR_NOSPACE) return rc;
        p->flags &= (uint16_t)~ICE_PF_SEND;
        if (rc != FLOE_OK) continue;
        if (a->controlling)
            p->flags |= ICE_PF_AS_CTRL;
        else
            p->flags &= (uint16_t)~ICE_PF_AS_CTRL;
        t->last_send = now;
        *base = b;
        *to = a->remote[p->remote].addr;
        a->stats.checks_sent++;
        return FLOE_OK;
    }
    return FLOE_ERR_NOT_FOUND;
}

/* ---- roles ------------------------------------------------------------------------ */

void ice_role_set(floe_ice_agent *a, bool controlling, floe_time_ns now) {
    if (a->controlling == controlling) return;
    a->controlling = controlling;
    /* §7.3.1.1 note: pair priorities depend on the role. */
    ice_cl_recompute_priorities(a);
    if (!controlling) {
        /* Nominating is the controlling agent's business. */
        for (unsigned i = 0; i < a->n_pairs; i++)
            a->pairs[i].flags &= (uint16_t) ~(ICE_PF_NOMINATE | ICE_PF_USE_CAND);
        for (unsigned s = 0; s < a->n_streams; s++)
            for (unsigned c = 1; c <= a->streams[s].n_comp; c++)
                ice_comp_of(a, s, c)->nominating = ICE_NONE;
    }
    ice_ev e = {.at = now, .type = FLOE_ICE_EV_ROLE_CHANGED, .flag = controlling};
    ice_ev_push(a, &e);
}

/* §7.2.5.1: "The agent MUST change the tiebreaker value." */
static void new_tiebreaker(floe_ice_agent *a) {
    uint64_t t = a->tiebreaker;
    for (int k = 0; k < 4 && t == a->tiebreaker; k++)
        if (!ice_rand(a, &t, sizeof t)) break;
    if (t == a->tiebreaker) t = ~t; /* no randomness: still a different value */
    a->tiebreaker = t;
}

/* ---- responses -------------------------------------------------------------------- */

/* The running check is over (answered): its slot is free again. */
static void end_txn(floe_ice_agent *a, unsigned i) {
    ice_txn_end_current(a, i);
    a->pairs[i].flags &= (uint16_t)~ICE_PF_SEND;
}

/* The running check failed: timed out, or an unrecoverable error answered it, which ends
 * its transaction too (no more copies go out). */
static void fail_pair(floe_ice_agent *a, unsigned i, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    bool nominating = (p->flags & ICE_PF_USE_CAND) != 0;
    ice_txn_end_current(a, i);
    p->flags &= (uint16_t) ~(ICE_PF_USE_CAND | ICE_PF_SEND);
    ice_pair_step(a, i, ICE_PAIR_EV_FAIL, now);
    if (p->state == FLOE_ICE_PAIR_FAILED) p->flags &= (uint16_t) ~(ICE_PF_VALID | ICE_PF_NOM_LATER);
    if (nominating) ice_nom_on_fail(a, i, now);
}

void ice_check_on_timeout(floe_ice_agent *a, unsigned i, floe_time_ns now) {
    fail_pair(a, i, now);
}

static void on_role_conflict(floe_ice_agent *a, unsigned i, bool old, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    bool sent_controlling = (p->flags & (old ? ICE_PF_OLD_CTRL : ICE_PF_AS_CTRL)) != 0;
    a->stats.role_conflicts++;
    bool was_nomination = false;
    ice_check_txn *t = old ? ice_txn_current(a, i) : NULL;
    if (!old) {
        end_txn(a, i);
        was_nomination = (p->flags & ICE_PF_USE_CAND) != 0;
        p->flags &= (uint16_t)~ICE_PF_USE_CAND;
    } else if (t && t->txn.state == FLOE_STUN_TXN_WAITING) {
        ice_txn_cancel(&t->txn); /* it went out with the old role too */
        p->flags &= (uint16_t)~ICE_PF_SEND;
        if (p->flags & ICE_PF_USE_CAND) was_nomination = true;
        p->flags &= (uint16_t)~ICE_PF_USE_CAND;
    }
    /* Switch only if we still hold the role the request claimed; a peer of ICE-lite
     * can never make us controlled. */
    if (sent_controlling == a->controlling && !(a->controlling && a->remote_lite)) {
        new_tiebreaker(a);
        ice_role_set(a, !sent_controlling, now);
    }
    if (was_nomination) ice_nom_on_fail(a, i, now);
    ice_pair_step(a, i, ICE_PAIR_EV_TRIGGER, now);
    ice_sched_trigger(a, i);
}

/* §7.2.5.3.1-2: the valid pair of a successful check: its local candidate is the
 * mapped address, learnt as peer-reflexive if we did not know it. */
static unsigned valid_pair_of(floe_ice_agent *a, unsigned i, const floe_addr *mapped,
                              floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    int li = ice_local_find(a, p->stream, p->comp, mapped);
    if (li < 0) {
        unsigned base = a->local[p->local].base, dup = 0;
        li = ice_local_add(a, FLOE_ICE_CAND_PRFLX, base, mapped, ICE_NO,
                           ice_base_prflx_priority(a, base), &dup);
        if (li == FLOE_ERR_NOT_FOUND) li = (int)dup;
        if (li < 0) return i; /* no room for it: the checked pair stands in */
    }
    if ((unsigned)li == p->local) return i;
    int v = ice_cl_find(a, (unsigned)li, p->remote);
    if (v < 0) {
        v = ice_cl_add(a, (unsigned)li, p->remote, false, now);
        if (v < 0) return i; /* capped (counted): the checked pair stands in */
        ice_pair_step(a, (unsigned)v, ICE_PAIR_EV_VALIDATE, now);
    }
    return (unsigned)v;
}

/* sent_at: when the answered request went out (for a replaced check, its first copy:
 * the RTT is then an upper bound). */
static void on_success(floe_ice_agent *a, unsigned i, const floe_stun_msg *m, bool old,
                       floe_time_ns sent_at, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    floe_time_ns rtt = now - sent_at;
    if (old) {
        /* The running check is not needed any more, unless it nominates. */
        ice_check_txn *t = ice_txn_current(a, i);
        if (!(p->flags & ICE_PF_USE_CAND) && t && t->txn.state == FLOE_STUN_TXN_WAITING) {
            ice_txn_cancel(&t->txn);
            p->flags &= (uint16_t)~ICE_PF_SEND;
        }
    } else {
        end_txn(a, i);
    }
    floe_addr mapped;
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) != FLOE_OK) {
        a->stats.drop_malformed++;
        fail_pair(a, i, now); /* a success without a mapped address cannot be used */
        ice_nom_tick(a, now); /* the component's last pair may have gone */
        return;
    }
    mapped.scope_id = a->bases[a->local[p->local].base].addr.scope_id;
    p->rtt_us = (uint32_t)(rtt / FLOE_NS_PER_US > UINT32_MAX ? UINT32_MAX : rtt / FLOE_NS_PER_US);
    if (p->rtt_us == 0) p->rtt_us = 1;
    ice_pair_step(a, i, ICE_PAIR_EV_SUCCESS, now);
    if (p->state != FLOE_ICE_PAIR_SUCCEEDED) return; /* too late: the pair failed */
    if (!(p->flags & ICE_PF_NOMINATE)) p->flags &= (uint16_t)~ICE_PF_TRIGGERED;
    unsigned v = valid_pair_of(a, i, &mapped, now);
    p = &a->pairs[i];
    p->valid = (uint16_t)v;
    a->pairs[v].flags |= ICE_PF_VALID;
    if (a->pairs[v].rtt_us == 0) a->pairs[v].rtt_us = p->rtt_us;
    ice_cl_unfreeze_foundation(a, i, now);
    if (old) { /* not the nominating check: only the validity counts */
        uint16_t keep = a->pairs[i].flags & ICE_PF_USE_CAND;
        a->pairs[i].flags &= (uint16_t)~ICE_PF_USE_CAND;
        ice_nom_on_valid(a, i, v, now);
        a->pairs[i].flags |= keep;
        return;
    }
    ice_nom_on_valid(a, i, v, now);
    a->pairs[i].flags &= (uint16_t)~ICE_PF_USE_CAND;
}

ice_rx ice_check_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                             const floe_addr *from, const floe_stun_msg *m) {
    unsigned i = 0;
    bool old = false;
    int k = ice_txn_find(a, m->tid, &i, &old);
    if (k < 0) return ICE_RX_NOT_MINE;
    const ice_check_txn *t = &a->txns[k];
    floe_time_ns sent_at =
        old || t->txn.sends == 1 ? t->txn.started : t->last_send; /* before t is freed */
    ice_pair *p = &a->pairs[i];
    const ice_stream *s = &a->streams[p->stream];

    /* Authenticated with the peer's password: success responses always; error responses
     * when they carry MESSAGE-INTEGRITY, and a 487 must (it changes our role). */
    int code = 0;
    if (m->cls == FLOE_STUN_ERROR && floe_stun_msg_get_error(m, &code, NULL, NULL) != FLOE_OK) {
        a->stats.drop_malformed++;
        return ICE_RX_DROPPED;
    }
    bool has_mi = m->mi >= 0 || m->mi256 >= 0;
    if ((m->cls == FLOE_STUN_SUCCESS || code == FLOE_STUN_ERR_ROLE_CONFLICT || has_mi) &&
        floe_stun_msg_check_integrity(m, s->rkey, s->rkey_len) != FLOE_OK) {
        a->stats.drop_integrity++;
        return ICE_RX_DROPPED;
    }
    if (old) ice_txn_end_old(a, i);
    if (m->cls == FLOE_STUN_ERROR) {
        if (code == FLOE_STUN_ERR_ROLE_CONFLICT)
            on_role_conflict(a, i, old, now);
        else if (!old) {
            fail_pair(a, i, now); /* unrecoverable (§7.2.5.2.4) */
            ice_nom_tick(a, now); /* the component's last pair may have gone */
        }
        return ICE_RX_DONE;
    }
    /* §7.2.5.2.1: the answer must come from where the request went, to its base. */
    const ice_lcand *l = &a->local[p->local];
    if (base != l->base || !ice_addr_same(from, &a->remote[p->remote].addr)) {
        if (!old) {
            end_txn(a, i);
            fail_pair(a, i, now);
            p->flags |= ICE_PF_ASYM;
            ice_nom_tick(a, now); /* the component's last pair may have gone */
        }
        return ICE_RX_DONE;
    }
    on_success(a, i, m, old, sent_at, now);
    return ICE_RX_DONE;
}
