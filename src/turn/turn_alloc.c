/* The allocation (RFC 8656 §7): the Allocate request and its answers (relayed and
 * mapped addresses, lifetime, a dual allocation's ADDRESS-ERROR-CODE, ALTERNATE-SERVER),
 * Refresh before expiry, and deallocation with a Refresh of LIFETIME 0. */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

void turn_alloc_build(const floe_turn_client *c, turn_txn_kind kind, floe_stun_builder *b) {
    switch (kind) {
    case TURN_TXN_ALLOCATE:
        /* RFC 8656 §7.1: UDP relaying, or TCP (RFC 6062 §4.1); the family only when it
         * is not the IPv4 default. */
        floe_stun_add_u32(
            b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT,
            (uint32_t)(c->cfg.tcp_relay ? FLOE_TURN_TRANSPORT_TCP : FLOE_TURN_TRANSPORT_UDP) << 24);
        if (c->cfg.family == FLOE_AF_INET6)
            floe_stun_add_u32(b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
                              (uint32_t)FLOE_TURN_FAMILY_IPV6 << 24);
        if (c->cfg.dual)
            floe_stun_add_u32(b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
                              (uint32_t)FLOE_TURN_FAMILY_IPV6 << 24);
        if (c->cfg.lifetime) floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, c->cfg.lifetime);
        break;
    case TURN_TXN_REFRESH:
        if (c->cfg.lifetime) floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, c->cfg.lifetime);
        break;
    case TURN_TXN_DEALLOCATE: floe_stun_add_u32(b, FLOE_STUN_ATTR_LIFETIME, 0); break;
    case TURN_TXN_PERMISSION:
    case TURN_TXN_CHANNEL:
    case TURN_TXN_CONNECT:
    case TURN_TXN_CONN_BIND:
    case TURN_TXN_FREE: break;
    }
}

void turn_alloc_apply(floe_turn_client *c, turn_alloc_event ev, const turn_outcome *o,
                      floe_time_ns now) {
    floe_turn_state before = c->state;
    c->state = turn_alloc_next_state(before, ev);
    if (c->state == before) return;
    if (c->state == FLOE_TURN_FAILED || c->state == FLOE_TURN_CLOSED) {
        turn_txn_release_all(c);
        turn_chan_clear(c);
        turn_perm_clear(c);
        turn_conn_clear(c); /* the server closes their data connections (RFC 6062 §5.5) */
        c->refresh_at = c->expires_at = FLOE_TIME_NEVER;
        floe_turn_event *e = turn_event_push(
            c, c->state == FLOE_TURN_FAILED ? FLOE_TURN_EV_FAILED : FLOE_TURN_EV_DEALLOCATED, now);
        turn_event_outcome(e, o);
    }
}

static void fail(floe_turn_client *c, turn_alloc_event ev, int err, const char *why,
                 floe_time_ns now) {
    turn_outcome o = {.err = err, .reason = why, .reason_len = strlen(why)};
    turn_alloc_apply(c, ev, &o, now);
}

static void set_lifetime(floe_turn_client *c, uint32_t seconds, floe_time_ns now) {
    c->lifetime_s = seconds;
    floe_time_ns life = FLOE_S(seconds);
    c->expires_at = turn_time_add(now, life);
    c->refresh_at = turn_refresh_time(now, life);
}

/* LIFETIME of a success response; RFC 8656 §7.3 requires it, the default stands in. */
static uint32_t read_lifetime(const floe_stun_msg *m) {
    uint32_t v = 0;
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_LIFETIME, &v) != FLOE_OK)
        return FLOE_TURN_LIFETIME_DEFAULT;
    return v;
}

static void allocated(floe_turn_client *c, const turn_outcome *o, floe_time_ns now) {
    const floe_stun_msg *m = o->m;
    floe_addr relayed[2];
    unsigned n = 0;
    /* A dual allocation answers with one XOR-RELAYED-ADDRESS per family (RFC 8656 §7.3). */
    for (size_t i = 0; i < m->n_attrs && n < 2; i++) {
        const floe_stun_attr *a = &m->attrs[i];
        if (a->type != FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS) continue;
        floe_addr r;
        if (floe_stun_attr_addr(m, a, &r) != FLOE_OK || r.port == 0) continue;
        if (n == 1 && relayed[0].family == r.family) continue;
        relayed[n++] = r;
    }
    if (n == 0) {
        fail(c, TURN_ALLOC_EV_ERROR, FLOE_ERR_MALFORMED,
             "the Allocate success has no usable XOR-RELAYED-ADDRESS", now);
        return;
    }
    uint32_t life = read_lifetime(m);
    if (life == 0) {
        fail(c, TURN_ALLOC_EV_ERROR, FLOE_ERR_MALFORMED, "the Allocate success grants lifetime 0",
             now);
        return;
    }
    /* The family asked for first. */
    if (n == 2 && relayed[0].family != c->cfg.family) {
        floe_addr t = relayed[0];
        relayed[0] = relayed[1];
        relayed[1] = t;
    }
    memcpy(c->relayed, relayed, sizeof relayed);
    c->n_relayed = n;
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &c->mapped) != FLOE_OK)
        memset(&c->mapped, 0, sizeof c->mapped);
    set_lifetime(c, life, now);
    c->give_up_at = FLOE_TIME_NEVER;
    turn_alloc_apply(c, TURN_ALLOC_EV_SUCCESS, NULL, now);
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_ALLOCATED, now);
    memcpy(e->relayed, c->relayed, sizeof e->relayed);
    e->n_relayed = n;
    e->mapped = c->mapped;
    e->lifetime_s = life;
    e->rtt_ns = o->rtt;
    /* RFC 8656 §7.3: the family a dual allocation could not provide (440, 508). */
    const floe_stun_attr *ae = floe_stun_msg_find(m, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE);
    if (ae && floe_stun_attr_check(ae) == FLOE_OK) {
        e->address_error_family =
            ae->val[0] == FLOE_TURN_FAMILY_IPV4 ? FLOE_AF_INET4 : FLOE_AF_INET6;
        e->address_error_code = (ae->val[2] & 0x7) * 100 + ae->val[3];
        turn_copy_reason(e->reason, sizeof e->reason, (const char *)ae->val + 4,
                         (size_t)ae->len - 4);
    }
}

/* 300 Try Alternate (RFC 8656 §7.3 with RFC 8489 §10): once, to a sane address. */
static void redirect(floe_turn_client *c, const turn_outcome *o, floe_time_ns now) {
    floe_addr alt;
    if (c->redirects >= FLOE_TURN_MAX_REDIRECTS) {
        fail(c, TURN_ALLOC_EV_ERROR, FLOE_ERR_ERROR_RESPONSE, "redirected by a second server", now);
        return;
    }
    if (floe_stun_msg_get_addr(o->m, FLOE_STUN_ATTR_ALTERNATE_SERVER, &alt) != FLOE_OK ||
        alt.port == 0 ||
        (floe_addr_classify(&alt, NULL) &
         (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST)) ||
        floe_addr_equal(&alt, &c->server)) {
        fail(c, TURN_ALLOC_EV_ERROR, FLOE_ERR_MALFORMED,
             "a 300 answer without a usable ALTERNATE-SERVER", now);
        return;
    }
    c->redirects++;
    c->server = alt;
    turn_auth_reset(c); /* another server: another realm and nonce */
    turn_event_push(c, FLOE_TURN_EV_REDIRECTED, now);
    int rc = turn_txn_start(c, TURN_ALLOC_SLOT, TURN_TXN_ALLOCATE, 0, now);
    if (rc != FLOE_OK) {
        fail(c, TURN_ALLOC_EV_ERROR, rc, "cannot start the Allocate to the alternate server", now);
        return;
    }
    turn_alloc_apply(c, TURN_ALLOC_EV_RETRY, NULL, now);
}

void turn_alloc_done(floe_turn_client *c, turn_txn_kind kind, const turn_outcome *o,
                     floe_time_ns now) {
    switch (kind) {
    case TURN_TXN_ALLOCATE:
        if (c->state != FLOE_TURN_ALLOCATING) return;
        if (o->err == FLOE_OK)
            allocated(c, o, now);
        else if (o->err == FLOE_ERR_ERROR_RESPONSE && o->code == FLOE_STUN_ERR_TRY_ALTERNATE)
            redirect(c, o, now);
        else
            turn_alloc_apply(
                c, o->err == FLOE_ERR_TIMEOUT ? TURN_ALLOC_EV_TIMEOUT : TURN_ALLOC_EV_ERROR, o,
                now);
        return;
    case TURN_TXN_REFRESH:
        if (c->state != FLOE_TURN_ALLOCATED) return;
        if (o->err == FLOE_OK) {
            uint32_t life = read_lifetime(o->m);
            if (life == 0) {
                fail(c, TURN_ALLOC_EV_ERROR, FLOE_ERR_MALFORMED,
                     "the server ended the allocation (Refresh granted lifetime 0)", now);
                return;
            }
            set_lifetime(c, life, now);
            c->stats.refreshes++;
            turn_alloc_apply(c, TURN_ALLOC_EV_REFRESHED, NULL, now);
            turn_event_push(c, FLOE_TURN_EV_REFRESHED, now)->lifetime_s = life;
        } else if (o->err == FLOE_ERR_TIMEOUT || o->err == FLOE_ERR_INTEGRITY) {
            /* Still allocated until it expires: try again at once. */
            turn_alloc_apply(c, TURN_ALLOC_EV_TIMEOUT, o, now);
            c->refresh_at = now;
        } else {
            turn_alloc_apply(c, TURN_ALLOC_EV_ERROR, o, now); /* 437: gone; 441, 486, ... */
        }
        return;
    case TURN_TXN_DEALLOCATE:
        if (c->state != FLOE_TURN_DEALLOCATING) return;
        if (o->err == FLOE_OK)
            turn_alloc_apply(c, TURN_ALLOC_EV_REFRESHED, NULL, now);
        else
            turn_alloc_apply(
                c, o->err == FLOE_ERR_TIMEOUT ? TURN_ALLOC_EV_TIMEOUT : TURN_ALLOC_EV_ERROR, o,
                now);
        return;
    case TURN_TXN_PERMISSION:
    case TURN_TXN_CHANNEL:
    case TURN_TXN_CONNECT:
    case TURN_TXN_CONN_BIND:
    case TURN_TXN_FREE: return;
    }
}

void turn_alloc_tick(floe_turn_client *c, floe_time_ns now) {
    if (c->state == FLOE_TURN_ALLOCATING && now >= c->give_up_at) {
        fail(c, TURN_ALLOC_EV_TIMEOUT, FLOE_ERR_TIMEOUT, "no allocation within the time allowed",
             now);
        return;
    }
    if (c->state != FLOE_TURN_ALLOCATED) return;
    if (now >= c->expires_at) {
        fail(c, TURN_ALLOC_EV_EXPIRED, FLOE_ERR_TIMEOUT, "the allocation expired unrefreshed", now);
        return;
    }
    if (now >= c->refresh_at && c->txns[TURN_ALLOC_SLOT].kind == TURN_TXN_FREE) {
        int rc = turn_txn_start(c, TURN_ALLOC_SLOT, TURN_TXN_REFRESH, 0, now);
        /* Without a transaction ID now, try again a little later. */
        if (rc != FLOE_OK) c->refresh_at = turn_time_add(now, FLOE_S(1));
    }
}

floe_time_ns turn_alloc_deadline(const floe_turn_client *c) {
    if (c->state == FLOE_TURN_ALLOCATING) return c->give_up_at;
    if (c->state != FLOE_TURN_ALLOCATED) return FLOE_TIME_NEVER;
    floe_time_ns d = c->expires_at;
    if (c->txns[TURN_ALLOC_SLOT].kind == TURN_TXN_FREE && c->refresh_at < d) d = c->refresh_at;
    return d;
}
