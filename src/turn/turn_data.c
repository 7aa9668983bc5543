/* Data between us and the peers through the relay: Send indications and ChannelData out
 * (RFC 8656 §11.1, §12.4), Data indications and ChannelData in (§11.4, §12.5). Incoming
 * data is not copied: it points into the caller's buffer. */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

int floe_turn_client_send(floe_turn_client *c, const floe_addr *peer, const uint8_t *data,
                          size_t len, uint8_t *buf, size_t cap, size_t *out_len) {
    if (!peer || (len && !data)) return FLOE_ERR_INVAL;
    if (c->cfg.tcp_relay) return FLOE_ERR_UNSUPPORTED; /* peers' bytes go on data connections */
    if (c->state != FLOE_TURN_ALLOCATED) return FLOE_ERR_STATE;
    if (len > FLOE_TURN_MAX_DATA) return FLOE_ERR_LIMIT;
    /* §12.1: ChannelData only once the ChannelBind has succeeded. */
    turn_chan *ch = turn_chan_find_peer(c, peer);
    if (ch && (ch->state == FLOE_TURN_BIND_UP || ch->state == FLOE_TURN_BIND_REFRESHING)) {
        int rc = floe_turn_channel_data_encode(
            ch->number, data, len, floe_transport_reliable(c->cfg.transport), buf, cap, out_len);
        if (rc == FLOE_OK) c->stats.tx_channel_data++;
        return rc;
    }
    turn_perm *p = turn_perm_find(c, peer);
    if (!p || (p->state != FLOE_TURN_BIND_UP && p->state != FLOE_TURN_BIND_REFRESHING))
        return FLOE_ERR_STATE;
    uint8_t tid[FLOE_STUN_TID_LEN];
    int rc = c->cfg.rand(c->cfg.rand_ctx, tid, sizeof tid);
    if (rc != FLOE_OK) return rc < 0 ? rc : FLOE_ERR_CRYPTO;
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_SEND, FLOE_STUN_INDICATION, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, len);
    rc = floe_stun_builder_finish(&b, out_len);
    if (rc == FLOE_OK) c->stats.tx_send_indications++;
    return rc;
}

floe_turn_recv_kind turn_data_on_indication(floe_turn_client *c, const floe_stun_msg *m,
                                            floe_turn_data *data) {
    floe_addr peer;
    const floe_stun_attr *d = floe_stun_msg_find(m, FLOE_STUN_ATTR_DATA);
    /* §11.4: without XOR-PEER-ADDRESS or DATA the indication is discarded. */
    if (!d || floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    if (c->cfg.tcp_relay) { /* a TCP allocation has no datagrams */
        c->stats.drop_unexpected++;
        return FLOE_TURN_RECV_DROPPED;
    }
    if (c->state != FLOE_TURN_ALLOCATED || !turn_perm_find(c, &peer)) {
        c->stats.drop_no_binding++;
        return FLOE_TURN_RECV_DROPPED;
    }
    data->peer = peer;
    data->p = d->val;
    data->len = d->len;
    data->channel = 0;
    c->stats.rx_data_indications++;
    return FLOE_TURN_RECV_DATA;
}

floe_turn_recv_kind turn_data_on_channel(floe_turn_client *c, const uint8_t *p, size_t len,
                                         floe_turn_data *data) {
    uint16_t number = 0;
    const uint8_t *payload = NULL;
    size_t n = 0;
    if (floe_turn_channel_data_decode(p, len, &number, &payload, &n) != FLOE_OK) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    /* The server relays on a channel once it is bound; the success may still be on its
     * way (UDP reorders), so a channel whose ChannelBind is out counts too. */
    turn_chan *ch = c->state == FLOE_TURN_ALLOCATED ? turn_chan_find_number(c, number) : NULL;
    if (!ch || ch->state == FLOE_TURN_BIND_NEW) {
        c->stats.drop_no_binding++;
        return FLOE_TURN_RECV_DROPPED;
    }
    data->peer = ch->peer;
    data->p = payload;
    data->len = n;
    data->channel = number;
    c->stats.rx_channel_data++;
    return FLOE_TURN_RECV_DATA;
}
