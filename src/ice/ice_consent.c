/* Keepalives (RFC 8445 §11) and consent freshness (RFC 7675) on selected pairs.
 *
 * Consent: a Binding request (an ICE check without USE-CANDIDATE) every 5 s, randomised
 * to 4..6 s with cfg.rand; an authenticated success response from the selected remote
 * address to the selected base refreshes consent. 30 s without one: consent is lost,
 * FLOE_ICE_EV_CONSENT_LOST is reported, data_path refuses, and the agent fails (a restart
 * can recover). Each consent request is one short transaction (FLOE_ICE_CONSENT_RC
 * copies, over before the next request is due).
 *
 * Keepalive: a Binding indication when nothing of ours went out on the pair for Tr. With
 * consent on, the consent requests already keep the bindings, so indications are only
 * sent with consent off (and by an ICE-lite agent, which sends no requests). */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

static bool consent_on(const floe_ice_agent *a) {
    return a->cfg.consent && !a->cfg.lite;
}

static floe_time_ns keepalive_interval(const floe_ice_agent *a) {
    return a->cfg.keepalive ? a->cfg.keepalive : FLOE_ICE_TR_DEFAULT;
}

/* 5 s x (0.8 .. 1.2) */
static floe_time_ns consent_interval(floe_ice_agent *a) {
    uint16_t r = 0x8000;
    (void)ice_rand(a, &r, sizeof r); /* without randomness: the middle of the range */
    floe_time_ns base = FLOE_ICE_CONSENT_INTERVAL;
    floe_time_ns span = base * 2 * FLOE_ICE_CONSENT_JITTER_PCT / 100;
    return base - span / 2 + span * r / 65535;
}

void ice_consent_on_select(floe_ice_agent *a, unsigned stream, unsigned comp, floe_time_ns now) {
    ice_comp *c = ice_comp_of(a, stream, comp);
    c->consent_lost = 0;
    c->consent_ok = now;
    c->consent_send = 0;
    c->keepalive_send = 0;
    memset(&c->consent_txn, 0, sizeof c->consent_txn);
    c->consent_next = now + consent_interval(a);
    c->keepalive_next = now + keepalive_interval(a);
}

static void lose_consent(floe_ice_agent *a, unsigned s, unsigned comp, floe_time_ns now) {
    ice_comp *c = ice_comp_of(a, s, comp);
    c->consent_lost = 1;
    c->consent_send = 0;
    c->keepalive_send = 0;
    ice_txn_cancel(&c->consent_txn);
    ice_ev_simple(a, FLOE_ICE_EV_CONSENT_LOST, s, comp, now);
    if (a->state == FLOE_ICE_AGENT_CHECKING || a->state == FLOE_ICE_AGENT_COMPLETED) {
        ice_agent_step(a, ICE_AGENT_EV_FAIL);
        ice_ev_failed(a, ICE_REASON_CONSENT, s, comp, now);
    }
}

void ice_consent_tick(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (unsigned comp = 1; comp <= a->streams[s].n_comp; comp++) {
            ice_comp *c = ice_comp_of(a, s, comp);
            if (!c->has_sel || c->consent_lost) continue;
            while (c->consent_txn.state == FLOE_STUN_TXN_WAITING) {
                floe_stun_txn_action act =
                    ice_txn_tick(a, &c->consent_txn, FLOE_ICE_CONSENT_RC, FLOE_ICE_CONSENT_RM, now);
                if (act == FLOE_STUN_TXN_NONE || act == FLOE_STUN_TXN_TIMEOUT) break;
                c->consent_send = 1;
            }
            if (consent_on(a)) {
                if (now >= c->consent_ok + FLOE_ICE_CONSENT_TIMEOUT) {
                    lose_consent(a, s, comp, now);
                    continue;
                }
                if (now >= c->consent_next) {
                    c->consent_next = now + consent_interval(a);
                    /* After a restart the new remote password may not be known yet. */
                    if (a->streams[s].has_rcred &&
                        ice_rand(a, c->consent_txn.tid, FLOE_STUN_TID_LEN)) {
                        ice_txn_start(&c->consent_txn, now, 0); /* RTO: FLOE_ICE_RTO_MIN */
                        c->consent_send = 1;
                        c->keepalive_next = now + keepalive_interval(a);
                    }
                }
            }
            if (now >= c->keepalive_next) {
                c->keepalive_send = 1;
                c->keepalive_next = now + keepalive_interval(a);
            }
        }
    }
}

ice_rx ice_consent_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                               const floe_addr *from, const floe_stun_msg *m) {
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (unsigned comp = 1; comp <= a->streams[s].n_comp; comp++) {
            ice_comp *c = ice_comp_of(a, s, comp);
            floe_stun_txn_state ts = (floe_stun_txn_state)c->consent_txn.state;
            if (!c->has_sel || (ts != FLOE_STUN_TXN_WAITING && ts != FLOE_STUN_TXN_TIMED_OUT))
                continue;
            if (memcmp(c->consent_txn.tid, m->tid, FLOE_STUN_TID_LEN) != 0) continue;
            if (base != c->sel_local.base || !ice_addr_same(from, &c->sel_remote.addr))
                return ICE_RX_NOT_MINE; /* not from the selected peer: unmatched */
            const ice_stream *st = &a->streams[s];
            if (floe_stun_msg_check_integrity(m, st->rkey, st->rkey_len) != FLOE_OK) {
                a->stats.drop_integrity++;
                return ICE_RX_DROPPED;
            }
            ice_txn_on_response(&c->consent_txn);
            c->consent_send = 0;
            if (m->cls == FLOE_STUN_SUCCESS && !c->consent_lost) c->consent_ok = now;
            return ICE_RX_DONE;
        }
    }
    return ICE_RX_NOT_MINE;
}

int ice_consent_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                          floe_addr *to) {
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (unsigned comp = 1; comp <= a->streams[s].n_comp; comp++) {
            ice_comp *c = ice_comp_of(a, s, comp);
            if (!c->has_sel || c->consent_lost) continue;
            if (c->consent_send) {
                int rc = ice_check_build(a, s, c->sel_local.base, c->consent_txn.tid, false, buf,
                                         cap, len);
                if (rc == FLOE_ERR_NOSPACE) return rc;
                c->consent_send = 0;
                if (rc != FLOE_OK) continue;
                *base = c->sel_local.base;
                *to = c->sel_remote.addr;
                a->stats.consent_checks++;
                return FLOE_OK;
            }
            if (c->keepalive_send) {
                uint8_t tid[FLOE_STUN_TID_LEN];
                if (!ice_rand(a, tid, sizeof tid)) memset(tid, 0, sizeof tid);
                floe_stun_builder b;
                floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_INDICATION, tid);
                floe_stun_add_fingerprint(&b);
                int rc = floe_stun_builder_finish(&b, len);
                if (rc != FLOE_OK) return rc;
                c->keepalive_send = 0;
                *base = c->sel_local.base;
                *to = c->sel_remote.addr;
                a->stats.keepalives_sent++;
                return FLOE_OK;
            }
        }
    }
    return FLOE_ERR_NOT_FOUND;
}

floe_time_ns ice_consent_deadline(const floe_ice_agent *a) {
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (unsigned comp = 1; comp <= a->streams[s].n_comp; comp++) {
            const ice_comp *c = ice_comp_get(a, s, comp);
            if (!c->has_sel || c->consent_lost) continue;
            d = ice_min_time(
                d, ice_txn_deadline(a, &c->consent_txn, FLOE_ICE_CONSENT_RC, FLOE_ICE_CONSENT_RM));
            d = ice_min_time(d, c->keepalive_next);
            if (consent_on(a)) {
                d = ice_min_time(d, c->consent_ok + FLOE_ICE_CONSENT_TIMEOUT);
                d = ice_min_time(d, c->consent_next);
            }
        }
    }
    return d;
}

int floe_ice_agent_send_from(floe_ice_agent *a, floe_time_ns now, unsigned base,
                             const floe_addr *to, const uint8_t *data, size_t n, uint8_t *out,
                             size_t cap, size_t *len, unsigned *sock_base, floe_addr *sock_to) {
    if (!a || !to || (!data && n) || !out || !len || !sock_base || !sock_to || base >= a->n_bases ||
        a->bases[base].kind == ICE_BASE_STREAM)
        return FLOE_ERR_INVAL;
    *sock_base = base;
    *sock_to = *to;
    if (a->bases[base].kind == ICE_BASE_RELAY)
        return ice_relay_wrap(a, now, data, n, out, cap, len, sock_base, sock_to);
    if (n > cap) return FLOE_ERR_NOSPACE;
    if (n) memcpy(out, data, n);
    *len = n;
    return FLOE_OK;
}

int floe_ice_agent_send_data(floe_ice_agent *a, floe_time_ns now, unsigned stream,
                             unsigned component, const uint8_t *data, size_t n, uint8_t *out,
                             size_t cap, size_t *len, unsigned *base, floe_addr *to) {
    if (!a || !base || !to) return FLOE_ERR_INVAL;
    unsigned b;
    floe_addr peer;
    int rc = floe_ice_agent_data_path(a, stream, component, &b, &peer);
    if (rc != FLOE_OK) return rc;
    return floe_ice_agent_send_from(a, now, b, &peer, data, n, out, cap, len, base, to);
}

int floe_ice_agent_data_path(const floe_ice_agent *a, unsigned stream, unsigned component,
                             unsigned *base, floe_addr *to) {
    if (!a || stream >= a->n_streams || component < 1 || component > a->streams[stream].n_comp)
        return FLOE_ERR_INVAL;
    const ice_comp *c = ice_comp_get(a, stream, component);
    if (!c->has_sel || c->consent_lost) return FLOE_ERR_STATE;
    if (base) *base = c->sel_local.base;
    if (to) *to = c->sel_remote.addr;
    return FLOE_OK;
}
