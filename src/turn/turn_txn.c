/* The TURN client's requests: a fixed pool of transaction slots, each one STUN client
 * transaction (RFC 8489 §6.2 timers through floe_stun_txn) with its request bytes kept for
 * retransmission. Answers are matched by transaction ID and method, authenticated
 * (RFC 8489 §9.2.5), retried on 401 and 438, and handed to the request's owner. */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

static uint16_t kind_method(turn_txn_kind k) {
    switch (k) {
    case TURN_TXN_ALLOCATE: return FLOE_STUN_ALLOCATE;
    case TURN_TXN_REFRESH:
    case TURN_TXN_DEALLOCATE: return FLOE_STUN_REFRESH;
    case TURN_TXN_PERMISSION: return FLOE_STUN_CREATE_PERMISSION;
    case TURN_TXN_CHANNEL: return FLOE_STUN_CHANNEL_BIND;
    case TURN_TXN_CONNECT: return FLOE_STUN_CONNECT;
    case TURN_TXN_CONN_BIND: return FLOE_STUN_CONNECTION_BIND;
    case TURN_TXN_FREE: break;
    }
    return 0;
}

uint8_t turn_txn_free_slot(const floe_turn_client *c) {
    for (unsigned i = TURN_ALLOC_SLOT + 1; i < FLOE_TURN_MAX_TXNS; i++)
        if (c->txns[i].kind == TURN_TXN_FREE) return (uint8_t)i;
    return TURN_NO_SLOT;
}

/* Builds the request of slot t (its kind, owner and transaction ID) into t->req. */
static int build(floe_turn_client *c, turn_txn *t) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, t->req, sizeof t->req, kind_method(t->kind), FLOE_STUN_REQUEST,
                           t->tid);
    switch (t->kind) {
    case TURN_TXN_ALLOCATE:
    case TURN_TXN_REFRESH:
    case TURN_TXN_DEALLOCATE: turn_alloc_build(c, t->kind, &b); break;
    case TURN_TXN_PERMISSION: turn_perm_build(c, t->owner, &b); break;
    case TURN_TXN_CHANNEL: turn_chan_build(c, t->owner, &b); break;
    case TURN_TXN_CONNECT:
    case TURN_TXN_CONN_BIND: turn_conn_build(c, t->kind, t->owner, &b); break;
    case TURN_TXN_FREE: return FLOE_ERR_STATE;
    }
    if (c->cfg.software) floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, c->cfg.software);
    turn_auth_add(c, t, &b);
    turn_auth_sign(c, &b);
    if (c->cfg.fingerprint) floe_stun_add_fingerprint(&b);
    size_t n = 0;
    int rc = floe_stun_builder_finish(&b, &n);
    if (rc != FLOE_OK) return rc;
    t->len = (uint16_t)n;
    t->authed = c->auth.ready;
    return FLOE_OK;
}

/* A new transaction for the request in t (fresh ID, rebuilt, first copy queued). */
static int begin(floe_turn_client *c, turn_txn *t, floe_time_ns now) {
    int rc = c->cfg.rand(c->cfg.rand_ctx, t->tid, sizeof t->tid);
    if (rc != FLOE_OK) return rc < 0 ? rc : FLOE_ERR_CRYPTO;
    rc = build(c, t);
    if (rc != FLOE_OK) return rc;
    memset(&t->txn, 0, sizeof t->txn);
    rc = floe_stun_txn_start(&t->txn, now, c->cfg.rto, floe_transport_reliable(c->cfg.transport));
    if (rc != FLOE_OK) return rc;
    t->send_pending = true;
    t->integrity_failed = false;
    t->first_send = FLOE_TIME_NEVER;
    t->copies = 0;
    c->stats.transactions++;
    return FLOE_OK;
}

int turn_txn_start(floe_turn_client *c, uint8_t slot, turn_txn_kind kind, uint8_t owner,
                   floe_time_ns now) {
    turn_txn *t = &c->txns[slot];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->owner = owner;
    int rc = begin(c, t, now);
    if (rc != FLOE_OK) t->kind = TURN_TXN_FREE;
    return rc;
}

void turn_txn_release(floe_turn_client *c, uint8_t slot) {
    if (slot >= FLOE_TURN_MAX_TXNS) return;
    turn_txn *t = &c->txns[slot];
    if (t->kind != TURN_TXN_FREE) floe_stun_txn_cancel(&t->txn);
    t->kind = TURN_TXN_FREE;
    t->send_pending = false;
}

void turn_txn_release_all(floe_turn_client *c) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++)
        turn_txn_release(c, (uint8_t)i);
}

/* Frees the slot and tells the owner how its request ended. */
static void finish(floe_turn_client *c, uint8_t slot, const turn_outcome *o, floe_time_ns now) {
    turn_txn *t = &c->txns[slot];
    turn_txn_kind kind = t->kind;
    uint8_t owner = t->owner;
    turn_txn_release(c, slot);
    switch (kind) {
    case TURN_TXN_ALLOCATE:
    case TURN_TXN_REFRESH:
    case TURN_TXN_DEALLOCATE: turn_alloc_done(c, kind, o, now); break;
    case TURN_TXN_PERMISSION: turn_perm_done(c, owner, o, now); break;
    case TURN_TXN_CHANNEL: turn_chan_done(c, owner, o, now); break;
    case TURN_TXN_CONNECT: turn_conn_connect_done(c, owner, o, now); break;
    case TURN_TXN_CONN_BIND: turn_conn_bind_done(c, owner, o, now); break;
    case TURN_TXN_FREE: break;
    }
}

static void fail_with(floe_turn_client *c, uint8_t slot, int err, int code, const char *why,
                      floe_time_ns now) {
    turn_outcome o = {.err = err, .code = code, .reason = why, .reason_len = why ? strlen(why) : 0};
    finish(c, slot, &o, now);
}

int turn_txn_take(floe_turn_client *c, floe_time_ns now, bool conn_bind, uint8_t *buf, size_t cap,
                  size_t *len, const turn_txn **out) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++) {
        turn_txn *t = &c->txns[i];
        if (t->kind == TURN_TXN_FREE || (t->kind == TURN_TXN_CONN_BIND) != conn_bind ||
            !t->send_pending)
            continue;
        if (cap < t->len) return FLOE_ERR_NOSPACE;
        memcpy(buf, t->req, t->len);
        *len = t->len;
        t->send_pending = false;
        if (t->copies++ == 0) t->first_send = now;
        c->stats.tx_requests++;
        *out = t;
        return FLOE_OK;
    }
    return FLOE_ERR_NOT_FOUND;
}

void turn_txn_tick(floe_turn_client *c, floe_time_ns now) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++) {
        turn_txn *t = &c->txns[i];
        while (t->kind != TURN_TXN_FREE) {
            floe_stun_txn_action a = floe_stun_txn_tick(&t->txn, now);
            if (a == FLOE_STUN_TXN_NONE) break;
            if (a == FLOE_STUN_TXN_SEND) {
                t->send_pending = true; /* copies due together collapse into one */
                continue;
            }
            c->stats.timeouts++;
            /* RFC 8489 §9.2.5: when every answer was dropped for its integrity, say so. */
            int err = t->integrity_failed ? FLOE_ERR_INTEGRITY : FLOE_ERR_TIMEOUT;
            fail_with(c, (uint8_t)i, err, 0,
                      err == FLOE_ERR_INTEGRITY ? "every answer failed its integrity check"
                                                : "no answer from the server",
                      now);
            break;
        }
    }
}

floe_time_ns turn_txn_deadline(const floe_turn_client *c) {
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++) {
        if (c->txns[i].kind == TURN_TXN_FREE) continue;
        floe_time_ns t = floe_stun_txn_deadline(&c->txns[i].txn);
        if (t < d) d = t;
    }
    return d;
}

void turn_txn_on_response(floe_turn_client *c, const floe_stun_msg *m, uint8_t conn,
                          floe_time_ns now) {
    uint8_t slot = TURN_NO_SLOT;
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++) {
        const turn_txn *t = &c->txns[i];
        /* A ConnectionBind is answered on its own data connection, everything else on
         * the control connection. */
        bool here = conn == TURN_NO_CONN ? t->kind != TURN_TXN_CONN_BIND
                                         : t->kind == TURN_TXN_CONN_BIND && t->owner == conn;
        if (t->kind != TURN_TXN_FREE && here && kind_method(t->kind) == m->method &&
            memcmp(t->tid, m->tid, FLOE_STUN_TID_LEN) == 0) {
            slot = (uint8_t)i;
            break;
        }
    }
    if (slot == TURN_NO_SLOT) {
        c->stats.drop_unmatched++;
        return;
    }
    turn_txn *t = &c->txns[slot];
    int code = 0;
    const char *reason = NULL;
    size_t reason_len = 0;
    bool has_code = m->cls == FLOE_STUN_ERROR &&
                    floe_stun_msg_get_error(m, &code, &reason, &reason_len) == FLOE_OK;
    bool challenge =
        has_code && (code == FLOE_STUN_ERR_UNAUTHORIZED || code == FLOE_STUN_ERR_STALE_NONCE);
    /* RFC 8489 §9.2.5: any other answer to an authenticated request must prove it knows
     * our key; over UDP a forged one is dropped and the transaction goes on, over a
     * stream the transaction ends. */
    if (t->authed && !challenge && turn_auth_check(c, m) != FLOE_OK) {
        c->stats.drop_integrity++;
        if (!floe_transport_reliable(c->cfg.transport)) {
            t->integrity_failed = true;
            return;
        }
        fail_with(c, slot, FLOE_ERR_INTEGRITY, 0, "the answer failed its integrity check", now);
        return;
    }
    c->stats.rx_responses++;
    floe_stun_txn_on_response(&t->txn);
    floe_time_ns rtt =
        t->first_send != FLOE_TIME_NEVER && now >= t->first_send ? now - t->first_send : 0;
    /* RFC 8489 §7.3.3-4: an unknown comprehension-required attribute fails the request. */
    if (m->n_unknown) {
        fail_with(c, slot, FLOE_ERR_UNKNOWN_ATTR, has_code ? code : 0,
                  "the answer holds an unknown comprehension-required attribute", now);
        return;
    }
    if (m->cls == FLOE_STUN_ERROR && !has_code) {
        fail_with(c, slot, FLOE_ERR_MALFORMED, 0, "an error answer without ERROR-CODE", now);
        return;
    }
    if (challenge) {
        /* 401 and 438 (RFC 8489 §9.2.5): learn the realm and nonce, send the request again. */
        bool stale = code == FLOE_STUN_ERR_STALE_NONCE;
        if (stale && t->stale >= FLOE_TURN_MAX_STALE_RETRIES) {
            fail_with(c, slot, FLOE_ERR_AUTH, code, "the server keeps answering stale nonce", now);
            return;
        }
        bool changed = false;
        const char *why = NULL;
        /* A ConnectionBind comes on a new connection, to which a server may give a nonce
         * of its own (with a 438, or a 401 when it sees a new client there): that nonce
         * is kept with the request, and the control connection keeps its own. */
        bool own_nonce = t->kind == TURN_TXN_CONN_BIND && c->auth.ready;
        int rc = own_nonce ? turn_auth_learn_nonce(c, t, m, &changed, &why)
                           : turn_auth_learn(c, m, &changed, &why);
        if (rc != FLOE_OK) {
            fail_with(c, slot, rc, code, why, now);
            return;
        }
        if (own_nonce && !stale && changed) {
            /* A fresh nonce counts as new credentials, within the stale bound. */
            if (t->stale >= FLOE_TURN_MAX_STALE_RETRIES) {
                fail_with(c, slot, FLOE_ERR_AUTH, code, "the server keeps refusing the nonce", now);
                return;
            }
            t->stale++;
        }
        /* A 401 is retried only with other credentials than the request carried. */
        if (!stale && t->authed && !changed) {
            turn_outcome o = {.err = FLOE_ERR_AUTH,
                              .code = code,
                              .reason = reason,
                              .reason_len = reason_len,
                              .m = m,
                              .rtt = rtt};
            finish(c, slot, &o, now);
            return;
        }
        if (stale) {
            t->stale++;
            c->stats.stale_nonces++;
        }
        rc = begin(c, t, now);
        if (rc != FLOE_OK)
            fail_with(c, slot, rc, 0, "cannot build the request again", now);
        else if (t->kind == TURN_TXN_ALLOCATE)
            turn_alloc_apply(c, TURN_ALLOC_EV_RETRY, NULL, now);
        return;
    }
    turn_outcome o = {.err = m->cls == FLOE_STUN_SUCCESS ? FLOE_OK : FLOE_ERR_ERROR_RESPONSE,
                      .code = code,
                      .reason = reason,
                      .reason_len = reason_len,
                      .m = m,
                      .rtt = rtt};
    finish(c, slot, &o, now);
}
