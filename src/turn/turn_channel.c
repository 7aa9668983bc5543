/* Channel bindings (RFC 8656 §12): a channel number from 0x4000-0x4FFF bound to one peer
 * (IP and port) with ChannelBind, refreshed before its 10 minutes run out. A successful
 * ChannelBind installs the peer's permission too (§12.1). */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

turn_chan *turn_chan_find_peer(floe_turn_client *c, const floe_addr *peer) {
    for (unsigned i = 0; i < c->max_chans; i++)
        if (c->chans[i].used && floe_addr_equal(&c->chans[i].peer, peer)) return &c->chans[i];
    return NULL;
}

turn_chan *turn_chan_find_number(floe_turn_client *c, uint16_t number) {
    for (unsigned i = 0; i < c->max_chans; i++)
        if (c->chans[i].used && c->chans[i].number == number) return &c->chans[i];
    return NULL;
}

static void drop(floe_turn_client *c, turn_chan *ch) {
    if (ch->slot != TURN_NO_SLOT) turn_txn_release(c, ch->slot);
    ch->used = false;
    ch->slot = TURN_NO_SLOT;
}

void turn_chan_clear(floe_turn_client *c) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_CHANNELS; i++)
        if (c->chans[i].used) drop(c, &c->chans[i]);
}

/* The next channel number not in use, going round 0x4000-0x4FFF. */
static uint16_t next_number(floe_turn_client *c) {
    for (;;) {
        uint16_t n = c->next_channel;
        c->next_channel = n == FLOE_TURN_CHANNEL_MAX ? FLOE_TURN_CHANNEL_MIN : (uint16_t)(n + 1);
        if (!turn_chan_find_number(c, n)) return n; /* at most max_chans are in use */
    }
}

int floe_turn_client_bind_channel(floe_turn_client *c, floe_time_ns now, const floe_addr *peer,
                                  uint16_t *channel) {
    if (c->cfg.tcp_relay) return FLOE_ERR_UNSUPPORTED; /* RFC 6062: no channels on TCP */
    int rc = turn_check_peer(c, peer);
    if (rc != FLOE_OK) return rc;
    if (peer->port == 0) return FLOE_ERR_INVAL;
    turn_chan *ch = turn_chan_find_peer(c, peer);
    if (ch) {
        if (channel) *channel = ch->number;
        return FLOE_OK;
    }
    for (unsigned i = 0; i < c->max_chans && !ch; i++)
        if (!c->chans[i].used) ch = &c->chans[i];
    if (!ch) {
        c->stats.cap_channels++;
        return FLOE_ERR_LIMIT;
    }
    if (!turn_perm_find(c, peer)) {
        rc = turn_perm_add(c, peer, true);
        if (rc != FLOE_OK) return rc;
    }
    memset(ch, 0, sizeof *ch);
    ch->used = true;
    ch->state = FLOE_TURN_BIND_NEW;
    ch->number = next_number(c);
    ch->peer = *peer;
    ch->slot = TURN_NO_SLOT;
    ch->refresh_at = 0;
    ch->expires_at = FLOE_TIME_NEVER;
    if (channel) *channel = ch->number;
    turn_pump(c, now);
    return FLOE_OK;
}

floe_turn_bind_state floe_turn_client_channel(const floe_turn_client *c, const floe_addr *peer,
                                              uint16_t *channel) {
    const turn_chan *ch = turn_chan_find_peer((floe_turn_client *)c, peer);
    if (channel) *channel = ch ? ch->number : 0;
    return ch ? ch->state : FLOE_TURN_BIND_FAILED;
}

void turn_chan_build(const floe_turn_client *c, uint8_t idx, floe_stun_builder *b) {
    const turn_chan *ch = &c->chans[idx];
    /* RFC 8656 §18.1: the number, then 16 reserved bits. */
    floe_stun_add_u32(b, FLOE_STUN_ATTR_CHANNEL_NUMBER, (uint32_t)ch->number << 16);
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &ch->peer);
}

static void failed(floe_turn_client *c, turn_chan *ch, turn_bind_event ev, const turn_outcome *o,
                   floe_time_ns now) {
    floe_turn_bind_state before = ch->state;
    ch->state = turn_bind_next_state(before, ev);
    if (ch->state != FLOE_TURN_BIND_FAILED) {
        if (before == FLOE_TURN_BIND_REFRESHING) ch->refresh_at = now; /* still bound: again */
        return;
    }
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CHANNEL_FAILED, now);
    e->peer = ch->peer;
    e->channel = ch->number;
    turn_event_outcome(e, o);
    floe_addr peer = ch->peer;
    drop(c, ch);
    turn_perm_channel_failed(c, &peer, o, now);
}

void turn_chan_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o, floe_time_ns now) {
    turn_chan *ch = &c->chans[idx];
    if (!ch->used) return;
    ch->slot = TURN_NO_SLOT;
    if (o->err != FLOE_OK) {
        failed(c, ch,
               o->err == FLOE_ERR_TIMEOUT || o->err == FLOE_ERR_INTEGRITY ? TURN_BIND_EV_TIMEOUT
                                                                          : TURN_BIND_EV_ERROR,
               o, now);
        return;
    }
    bool was_bound = ch->state == FLOE_TURN_BIND_UP || ch->state == FLOE_TURN_BIND_REFRESHING;
    ch->state = turn_bind_next_state(ch->state, TURN_BIND_EV_SUCCESS);
    ch->expires_at = turn_time_add(now, FLOE_TURN_CHANNEL_LIFETIME);
    ch->refresh_at = turn_refresh_time(now, FLOE_TURN_CHANNEL_LIFETIME);
    if (!was_bound) {
        floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CHANNEL_BOUND, now);
        e->peer = ch->peer;
        e->channel = ch->number;
    }
    turn_perm_installed(c, &ch->peer, now);
}

void turn_chan_expire(floe_turn_client *c, floe_time_ns now) {
    static const char why[] = "the channel binding expired unrefreshed";
    for (unsigned i = 0; i < c->max_chans; i++) {
        turn_chan *ch = &c->chans[i];
        if (!ch->used || now < ch->expires_at) continue;
        turn_outcome o = {.err = FLOE_ERR_TIMEOUT, .reason = why, .reason_len = sizeof why - 1};
        failed(c, ch, TURN_BIND_EV_EXPIRED, &o, now);
    }
}

void turn_chan_start(floe_turn_client *c, floe_time_ns now) {
    for (unsigned i = 0; i < c->max_chans; i++) {
        turn_chan *ch = &c->chans[i];
        if (!ch->used) continue;
        bool due = now >= ch->refresh_at &&
                   (ch->state == FLOE_TURN_BIND_NEW || ch->state == FLOE_TURN_BIND_UP);
        if (!due || ch->slot != TURN_NO_SLOT) continue;
        uint8_t slot = turn_txn_free_slot(c);
        if (slot == TURN_NO_SLOT) {
            if (!ch->waiting) c->stats.txn_waits++;
            ch->waiting = true;
            continue;
        }
        if (turn_txn_start(c, slot, TURN_TXN_CHANNEL, (uint8_t)i, now) != FLOE_OK) {
            ch->refresh_at = turn_time_add(now, FLOE_S(1)); /* no transaction ID: later */
            continue;
        }
        ch->waiting = false;
        ch->slot = slot;
        ch->state = turn_bind_next_state(ch->state, TURN_BIND_EV_SEND);
    }
}

floe_time_ns turn_chan_deadline(const floe_turn_client *c) {
    floe_time_ns d = FLOE_TIME_NEVER;
    bool slot_free = turn_txn_free_slot(c) != TURN_NO_SLOT;
    for (unsigned i = 0; i < c->max_chans; i++) {
        const turn_chan *ch = &c->chans[i];
        if (!ch->used) continue;
        if (ch->expires_at < d) d = ch->expires_at;
        bool waits = ch->state == FLOE_TURN_BIND_NEW || ch->state == FLOE_TURN_BIND_UP;
        if (waits && ch->slot == TURN_NO_SLOT && slot_free && ch->refresh_at < d)
            d = ch->refresh_at;
    }
    return d;
}
