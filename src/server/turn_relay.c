/* The data path (RFC 8656 §10-§12): Send indications and ChannelData from clients go to
 * peers, peers' datagrams come back as ChannelData (when a channel is bound) or Data
 * indications, and only through permissions. Per packet: one 5-tuple lookup or one slot
 * index, a scan of at most FLOE_TSRV_MAX_PERMISSIONS entries, no allocation. */
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"
#include "turn_server_priv.h"

static bool same_ip(uint8_t family, const uint8_t *ip, const floe_addr *a) {
    return family == a->family && memcmp(ip, a->ip, 16) == 0;
}

tsrv_perm *tsrv_perm_find(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer) {
    (void)srv;
    for (size_t i = 0; i < a->n_perm; i++)
        if (same_ip(a->perm[i].family, a->perm[i].ip, peer)) return &a->perm[i];
    return NULL;
}

tsrv_chan *tsrv_chan_by_number(floe_turn_server *srv, tsrv_alloc *a, uint16_t number) {
    (void)srv;
    for (size_t i = 0; i < a->n_chan; i++)
        if (a->chan[i].number == number) return &a->chan[i];
    return NULL;
}

tsrv_chan *tsrv_chan_by_peer(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer) {
    (void)srv;
    for (size_t i = 0; i < a->n_chan; i++)
        if (a->chan[i].port == peer->port && same_ip(a->chan[i].family, a->chan[i].ip, peer))
            return &a->chan[i];
    return NULL;
}

void tsrv_expire_entries(floe_turn_server *srv, tsrv_alloc *a) {
    uint32_t now = tsrv_secs(srv);
    for (size_t i = 0; i < a->n_perm;)
        if (a->perm[i].until <= now)
            a->perm[i] = a->perm[--a->n_perm];
        else
            i++;
    /* A channel is reserved for five minutes after it expires (RFC 8656 §12). */
    for (size_t i = 0; i < a->n_chan;)
        if (a->chan[i].until + FLOE_TSRV_PERMISSION_S <= now)
            a->chan[i] = a->chan[--a->n_chan];
        else
            i++;
}

static bool permitted(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer) {
    tsrv_perm *p = tsrv_perm_find(srv, a, peer);
    return p && p->until > tsrv_secs(srv);
}

/* Token buckets in bytes, refilled from the elapsed time; a bucket holds one second. */
static bool bucket_take(uint64_t rate, uint64_t *tokens, uint64_t *stamp, floe_time_ns now,
                        size_t n) {
    if (rate == 0) return true;
    if ((uint64_t)now > *stamp) {
        uint64_t us = ((uint64_t)now - *stamp) / 1000u;
        if (us > 1000000u) us = 1000000u; /* a full bucket; and us x rate cannot overflow */
        uint64_t add = us * rate / 1000000u;
        if (add) {
            *tokens = *tokens + add > rate ? rate : *tokens + add;
            *stamp = (uint64_t)now;
        }
    }
    if (*tokens < n) return false;
    *tokens -= n;
    return true;
}

static bool bandwidth(floe_turn_server *srv, tsrv_alloc *a, size_t n) {
    return bucket_take(srv->cfg.bytes_per_s_allocation, &a->bw_tokens, &a->bw_stamp_ns, srv->now,
                       n) &&
           bucket_take(srv->cfg.bytes_per_s_total, &srv->total_tokens, &srv->total_stamp_ns,
                       srv->now, n);
}

/* Fills o for a datagram to peer from a's relay of that family. */
static void to_peer(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer,
                    const uint8_t *data, size_t n, floe_turn_server_out *o) {
    const tsrv_relay *rl = &a->relay[peer->family == FLOE_AF_INET6 ? 1 : 0];
    if (!rl->open || a->tcp || !permitted(srv, a, peer) || tsrv_is_self(srv, peer))
        return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_PERMISSION);
    if (!bandwidth(srv, a, n)) return tsrv_count(srv, o, FLOE_TSRV_DROP_BANDWIDTH);
    o->to_peer = true;
    o->to = *peer;
    o->relay = rl->token;
    o->data = data;
    o->len = n;
    srv->counters[FLOE_TSRV_BYTES_TO_PEER] += n;
    tsrv_count(srv, o, FLOE_TSRV_TO_PEER);
}

void tsrv_send_indication(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                          floe_turn_server_out *o) {
    tsrv_alloc *a = tsrv_find(srv, t);
    if (!a) return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_ALLOCATION);
    floe_addr peer;
    const floe_stun_attr *data = floe_stun_msg_find(m, FLOE_STUN_ATTR_DATA);
    if (!data || floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK ||
        peer.port == 0)
        return tsrv_count(srv, o, FLOE_TSRV_DROP_MALFORMED);
    to_peer(srv, a, &peer, data->val, data->len, o);
}

void tsrv_channel_data(floe_turn_server *srv, const floe_turn_tuple *t, const uint8_t *p,
                       size_t len, floe_turn_server_out *o) {
    uint16_t number;
    const uint8_t *data;
    size_t n;
    if (floe_turn_channel_data_decode_upto(p, len, FLOE_TURN_CHANNEL_MAX_RFC5766, &number, &data,
                                           &n) != FLOE_OK)
        return tsrv_count(srv, o, FLOE_TSRV_DROP_MALFORMED);
    tsrv_alloc *a = tsrv_find(srv, t);
    if (!a) return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_ALLOCATION);
    tsrv_chan *c = tsrv_chan_by_number(srv, a, number);
    if (!c || c->until <= tsrv_secs(srv)) return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_CHANNEL);
    floe_addr peer;
    tsrv_addr_of(c->family, c->ip, c->port, &peer);
    to_peer(srv, a, &peer, data, n, o);
}

void floe_turn_server_on_peer(floe_turn_server *srv, uint64_t handle, const floe_addr *peer,
                              const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                              floe_turn_server_out *o) {
    memset(o, 0, sizeof *o);
    srv->counters[FLOE_TSRV_RX_PEER]++;
    tsrv_alloc *a = tsrv_by_handle(srv, handle);
    if (!a) return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_ALLOCATION);
    if (!permitted(srv, a, peer)) return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_PERMISSION);
    if (!bandwidth(srv, a, len)) return tsrv_count(srv, o, FLOE_TSRV_DROP_BANDWIDTH);
    tsrv_chan *c = tsrv_chan_by_peer(srv, a, peer);
    size_t n = 0;
    if (c && c->until > tsrv_secs(srv)) {
        /* Padding is required on streams and left out on UDP (RFC 8656 §12.5). */
        if (floe_turn_channel_data_encode_upto(c->number, FLOE_TURN_CHANNEL_MAX_RFC5766, p, len,
                                               floe_transport_reliable(a->tuple.transport), out,
                                               cap, &n) != FLOE_OK)
            return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_SPACE);
    } else {
        /* An indication's transaction ID only has to be unique enough to tell messages
         * apart: derive it from a counter, keyed so that it does not leak the count. */
        uint64_t seq = srv->counters[FLOE_TSRV_TO_CLIENT];
        uint64_t h1 = tsrv_hash(srv, &seq, sizeof seq), h2 = tsrv_hash(srv, &h1, sizeof h1);
        uint8_t tid[12];
        memcpy(tid, &h1, 8);
        memcpy(tid + 8, &h2, 4);
        floe_stun_builder b;
        floe_stun_builder_init(&b, out, cap, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
        floe_stun_add(&b, FLOE_STUN_ATTR_DATA, p, len);
        if (floe_stun_builder_finish(&b, &n) != FLOE_OK)
            return tsrv_count(srv, o, FLOE_TSRV_DROP_NO_SPACE);
    }
    o->data = out;
    o->len = n;
    o->to = a->tuple.client;
    o->tuple = a->tuple;
    srv->counters[FLOE_TSRV_BYTES_TO_CLIENT] += len;
    tsrv_count(srv, o, FLOE_TSRV_TO_CLIENT);
}
