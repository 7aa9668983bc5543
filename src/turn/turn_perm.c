/* Permissions (RFC 8656 §9): one entry per peer IP address, installed with
 * CreatePermission and refreshed before its 300 s run out. A channel binding installs
 * its peer's permission too (§12.1); such an entry sends no CreatePermission of its own
 * until it needs refreshing. */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

turn_perm *turn_perm_find(floe_turn_client *c, const floe_addr *peer) {
    for (unsigned i = 0; i < c->max_perms; i++)
        if (c->perms[i].used && floe_addr_ip_equal(&c->perms[i].peer, peer)) return &c->perms[i];
    return NULL;
}

int turn_perm_add(floe_turn_client *c, const floe_addr *peer, bool via_channel) {
    for (unsigned i = 0; i < c->max_perms; i++) {
        turn_perm *p = &c->perms[i];
        if (p->used) continue;
        memset(p, 0, sizeof *p);
        p->used = true;
        p->via_channel = via_channel;
        p->state = FLOE_TURN_BIND_NEW;
        p->peer = *peer;
        p->slot = TURN_NO_SLOT;
        p->refresh_at = 0; /* due as soon as the allocation is up */
        p->expires_at = FLOE_TIME_NEVER;
        return FLOE_OK;
    }
    c->stats.cap_permissions++;
    return FLOE_ERR_LIMIT;
}

static void drop(floe_turn_client *c, turn_perm *p) {
    if (p->slot != TURN_NO_SLOT) turn_txn_release(c, p->slot);
    p->used = false;
    p->slot = TURN_NO_SLOT;
}

void turn_perm_clear(floe_turn_client *c) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_PERMISSIONS; i++)
        if (c->perms[i].used) drop(c, &c->perms[i]);
}

int floe_turn_client_permit(floe_turn_client *c, floe_time_ns now, const floe_addr *peer) {
    int rc = turn_check_peer(c, peer);
    if (rc != FLOE_OK) return rc;
    if (turn_perm_find(c, peer)) return FLOE_OK;
    rc = turn_perm_add(c, peer, false);
    if (rc == FLOE_OK) turn_pump(c, now);
    return rc;
}

floe_turn_bind_state floe_turn_client_permission(const floe_turn_client *c, const floe_addr *peer) {
    const turn_perm *p = turn_perm_find((floe_turn_client *)c, peer);
    return p ? p->state : FLOE_TURN_BIND_FAILED;
}

void turn_perm_build(const floe_turn_client *c, uint8_t idx, floe_stun_builder *b) {
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &c->perms[idx].peer);
}

/* Installed (by CreatePermission or ChannelBind): 300 s from now. */
static void up(floe_turn_client *c, turn_perm *p, floe_time_ns now) {
    bool was_up = p->state == FLOE_TURN_BIND_UP || p->state == FLOE_TURN_BIND_REFRESHING;
    p->state = turn_bind_next_state(p->state, TURN_BIND_EV_SUCCESS);
    p->expires_at = turn_time_add(now, FLOE_TURN_PERMISSION_LIFETIME);
    p->refresh_at = turn_refresh_time(now, FLOE_TURN_PERMISSION_LIFETIME);
    if (!was_up) turn_event_push(c, FLOE_TURN_EV_PERMISSION_UP, now)->peer = p->peer;
}

static void failed(floe_turn_client *c, turn_perm *p, turn_bind_event ev, const turn_outcome *o,
                   floe_time_ns now) {
    floe_turn_bind_state before = p->state;
    p->state = turn_bind_next_state(before, ev);
    if (p->state != FLOE_TURN_BIND_FAILED) {
        if (before == FLOE_TURN_BIND_REFRESHING) p->refresh_at = now; /* still up: again */
        return;
    }
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_PERMISSION_FAILED, now);
    e->peer = p->peer;
    turn_event_outcome(e, o);
    drop(c, p);
}

void turn_perm_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o, floe_time_ns now) {
    turn_perm *p = &c->perms[idx];
    if (!p->used) return;
    p->slot = TURN_NO_SLOT;
    if (o->err == FLOE_OK)
        up(c, p, now);
    else
        failed(c, p,
               o->err == FLOE_ERR_TIMEOUT || o->err == FLOE_ERR_INTEGRITY ? TURN_BIND_EV_TIMEOUT
                                                                          : TURN_BIND_EV_ERROR,
               o, now);
}

void turn_perm_installed(floe_turn_client *c, const floe_addr *peer, floe_time_ns now) {
    turn_perm *p = turn_perm_find(c, peer);
    if (p) up(c, p, now);
}

void turn_perm_channel_failed(floe_turn_client *c, const floe_addr *peer, const turn_outcome *o,
                              floe_time_ns now) {
    turn_perm *p = turn_perm_find(c, peer);
    if (p && p->via_channel && p->state == FLOE_TURN_BIND_NEW)
        failed(c, p, TURN_BIND_EV_ERROR, o, now);
}

void turn_perm_expire(floe_turn_client *c, floe_time_ns now) {
    static const char why[] = "the permission expired unrefreshed";
    for (unsigned i = 0; i < c->max_perms; i++) {
        turn_perm *p = &c->perms[i];
        if (!p->used || now < p->expires_at) continue;
        turn_outcome o = {.err = FLOE_ERR_TIMEOUT, .reason = why, .reason_len = sizeof why - 1};
        failed(c, p, TURN_BIND_EV_EXPIRED, &o, now);
    }
}

void turn_perm_start(floe_turn_client *c, floe_time_ns now) {
    for (unsigned i = 0; i < c->max_perms; i++) {
        turn_perm *p = &c->perms[i];
        if (!p->used) continue;
        bool due = now >= p->refresh_at && ((p->state == FLOE_TURN_BIND_NEW && !p->via_channel) ||
                                            p->state == FLOE_TURN_BIND_UP);
        if (!due || p->slot != TURN_NO_SLOT) continue;
        uint8_t slot = turn_txn_free_slot(c);
        if (slot == TURN_NO_SLOT) {
            if (!p->waiting) c->stats.txn_waits++;
            p->waiting = true;
            continue;
        }
        if (turn_txn_start(c, slot, TURN_TXN_PERMISSION, (uint8_t)i, now) != FLOE_OK) {
            p->refresh_at = turn_time_add(now, FLOE_S(1)); /* no transaction ID: later */
            continue;
        }
        p->waiting = false;
        p->slot = slot;
        p->state = turn_bind_next_state(p->state, TURN_BIND_EV_SEND);
    }
}

floe_time_ns turn_perm_deadline(const floe_turn_client *c) {
    floe_time_ns d = FLOE_TIME_NEVER;
    bool slot_free = turn_txn_free_slot(c) != TURN_NO_SLOT;
    for (unsigned i = 0; i < c->max_perms; i++) {
        const turn_perm *p = &c->perms[i];
        if (!p->used) continue;
        if (p->expires_at < d) d = p->expires_at;
        bool waits =
            p->state == FLOE_TURN_BIND_UP || (p->state == FLOE_TURN_BIND_NEW && !p->via_channel);
        if (waits && p->slot == TURN_NO_SLOT && slot_free && p->refresh_at < d) d = p->refresh_at;
    }
    return d;
}
