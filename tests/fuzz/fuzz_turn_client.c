/* libFuzzer target: a live TURN client fed server datagrams and time jumps.
 *
 * The input is a little program. The first bytes choose the configuration (transport,
 * credentials, address family, dual allocation or an RFC 6062 TCP allocation, lifetime,
 * caps); then each operation takes a byte and its arguments:
 *   - an answer to one of the client's outstanding requests, built from the input: success
 *     or error (any of the codes TURN servers send), REALM/NONCE (sometimes with the nonce
 *     cookie and PASSWORD-ALGORITHMS), relayed addresses of either family, LIFETIME,
 *     XOR-MAPPED-ADDRESS, ALTERNATE-SERVER, ADDRESS-ERROR-CODE, an unknown attribute,
 *     signed with the client's key, a wrong key or not at all;
 *   - raw bytes from the server (or from elsewhere), ChannelData on any channel, a Data
 *     indication from any peer;
 *   - permit, bind_channel, send to a peer; close; a time jump; a tick;
 *   - RFC 6062: connect to a peer, a ConnectionAttempt indication (sometimes without its
 *     attributes or with an id in use), accept / conn_opened / conn_closed on a known or
 *     made-up connection id, answers (or raw bytes) on a data connection.
 * After every operation the datagrams and events are drained and the invariants checked:
 * tables and queues within their caps, slots and their owners agree (connections too:
 * a Connect only while connecting, a ConnectionBind only while binding, ids unique),
 * every input counted once, and after a tick the deadline lies in the future (or is
 * FLOE_TIME_NEVER). ASan and UBSan catch the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"
#include "floe/turn.h"
#include "turn/turn_priv.h"
#include "fuzz_input.h"

static floe_addr addr_of(const char *s) {
    floe_addr a;
    memset(&a, 0, sizeof a);
    floe_addr_parse(s, &a);
    return a;
}

static floe_addr peer_addr(unsigned k) {
    static const char *const all[] = {"203.0.113.5:7000",   "203.0.113.5:7001", "198.51.100.9:9",
                                      "[2001:db8::5]:7000", "[2001:db8::6]:1",  "127.0.0.1:5000"};
    return addr_of(all[k % (sizeof all / sizeof all[0])]);
}

#define SERVER "192.0.2.10:3478"
#define ALT "192.0.2.11:3478"

typedef struct world {
    floe_turn_client *c;
    floe_time_ns now;
    uint64_t seed;
} world;

static void invariants(const world *w) {
    const floe_turn_client *c = w->c;
    if (c->ev_count > FLOE_TURN_MAX_EVENTS || c->n_relayed > 2) abort();
    unsigned owners[FLOE_TURN_MAX_TXNS] = {0};
    for (unsigned i = 0; i < FLOE_TURN_MAX_PERMISSIONS; i++) {
        const turn_perm *p = &c->perms[i];
        if (!p->used) continue;
        if (i >= c->max_perms || p->state == FLOE_TURN_BIND_FAILED) abort();
        if (p->slot != TURN_NO_SLOT) {
            if (p->slot >= FLOE_TURN_MAX_TXNS || c->txns[p->slot].kind != TURN_TXN_PERMISSION ||
                c->txns[p->slot].owner != i)
                abort();
            owners[p->slot]++;
        }
    }
    for (unsigned i = 0; i < FLOE_TURN_MAX_CHANNELS; i++) {
        const turn_chan *ch = &c->chans[i];
        if (!ch->used) continue;
        if (i >= c->max_chans || ch->state == FLOE_TURN_BIND_FAILED ||
            !floe_turn_channel_valid(ch->number))
            abort();
        if (ch->slot != TURN_NO_SLOT) {
            if (ch->slot >= FLOE_TURN_MAX_TXNS || c->txns[ch->slot].kind != TURN_TXN_CHANNEL ||
                c->txns[ch->slot].owner != i)
                abort();
            owners[ch->slot]++;
        }
    }
    for (unsigned i = 0; i < FLOE_TURN_MAX_CONNECTIONS; i++) {
        const turn_conn *k = &c->conns[i];
        if (!k->used) continue;
        if (i >= c->max_conns || !c->cfg.tcp_relay || k->state == FLOE_TURN_CONN_FAILED ||
            k->state == FLOE_TURN_CONN_CLOSED)
            abort();
        /* Before the allocation only connect() requests wait; after it nothing is left. */
        if (c->state != FLOE_TURN_ALLOCATED && k->state != FLOE_TURN_CONN_NEW) abort();
        if (c->state != FLOE_TURN_NEW && c->state != FLOE_TURN_ALLOCATING &&
            c->state != FLOE_TURN_ALLOCATED)
            abort();
        /* Past the Connect every connection has the server's id, and no two the same. */
        bool named = k->state != FLOE_TURN_CONN_NEW && k->state != FLOE_TURN_CONN_CONNECTING;
        if (named != k->has_id) abort();
        for (unsigned j = 0; j < i; j++)
            if (c->conns[j].used && c->conns[j].has_id && k->has_id && c->conns[j].id == k->id)
                abort();
        if (k->slot != TURN_NO_SLOT) {
            turn_txn_kind want = k->state == FLOE_TURN_CONN_CONNECTING ? TURN_TXN_CONNECT
                                 : k->state == FLOE_TURN_CONN_BINDING  ? TURN_TXN_CONN_BIND
                                                                       : TURN_TXN_FREE;
            if (k->slot >= FLOE_TURN_MAX_TXNS || want == TURN_TXN_FREE ||
                c->txns[k->slot].kind != want || c->txns[k->slot].owner != i)
                abort();
            owners[k->slot]++;
        } else if (k->state == FLOE_TURN_CONN_CONNECTING) {
            abort(); /* a Connect that is out has its slot */
        }
    }
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++) {
        turn_txn_kind k = c->txns[i].kind;
        bool owned = k == TURN_TXN_PERMISSION || k == TURN_TXN_CHANNEL || k == TURN_TXN_CONNECT ||
                     k == TURN_TXN_CONN_BIND;
        if (i == TURN_ALLOC_SLOT) {
            if (owned) abort();
        } else if (owned) {
            if (owners[i] != 1) abort(); /* no orphaned request */
        } else if (k != TURN_TXN_FREE) {
            abort();
        }
    }
    /* Only an allocation that exists has requests for permissions and channels out. */
    if (c->state != FLOE_TURN_ALLOCATED)
        for (unsigned i = 1; i < FLOE_TURN_MAX_TXNS; i++)
            if (c->txns[i].kind != TURN_TXN_FREE) abort();
    const floe_turn_stats *st = &c->stats;
    if (st->rx != st->rx_responses + st->rx_channel_data + st->rx_data_indications +
                      st->rx_connection_attempts + st->drop_malformed + st->drop_not_server +
                      st->drop_unmatched + st->drop_integrity + st->drop_unexpected +
                      st->drop_no_binding)
        abort();
}

static void drain(world *w) {
    uint8_t buf[FLOE_TURN_MAX_REQUEST];
    size_t len;
    floe_addr to;
    int guard = 0;
    while (floe_turn_client_next_send(w->c, w->now, buf, sizeof buf, &len, &to) == FLOE_OK) {
        if (len > sizeof buf || ++guard > 64) abort();
        floe_stun_msg m;
        if (floe_stun_msg_decode(buf, len, 0, &m) != FLOE_OK || m.cls != FLOE_STUN_REQUEST)
            abort(); /* the client sends valid requests */
        floe_addr srv = floe_turn_client_server(w->c);
        if (!floe_addr_equal(&to, &srv)) abort();
        if (m.method == FLOE_STUN_CONNECTION_BIND) abort(); /* those go on data connections */
    }
    uint32_t id = 0;
    guard = 0;
    while (floe_turn_client_conn_next_send(w->c, w->now, buf, sizeof buf, &len, &id) == FLOE_OK) {
        if (len > sizeof buf || ++guard > 64) abort();
        floe_stun_msg m;
        if (floe_stun_msg_decode(buf, len, 0, &m) != FLOE_OK || m.cls != FLOE_STUN_REQUEST ||
            m.method != FLOE_STUN_CONNECTION_BIND ||
            floe_turn_client_conn(w->c, id, NULL) != FLOE_TURN_CONN_BINDING)
            abort();
    }
    floe_turn_event ev;
    guard = 0;
    while (floe_turn_client_next_event(w->c, &ev)) {
        if (++guard > FLOE_TURN_MAX_EVENTS || ev.reason[sizeof ev.reason - 1] != '\0') abort();
        if (ev.type == FLOE_TURN_EV_ALLOCATED && (ev.n_relayed < 1 || ev.n_relayed > 2)) abort();
        if ((ev.type == FLOE_TURN_EV_CONNECTED || ev.type == FLOE_TURN_EV_CONNECTION_ATTEMPT ||
             ev.type == FLOE_TURN_EV_CONNECTION_BOUND) &&
            !w->c->cfg.tcp_relay)
            abort();
    }
    invariants(w);
}

static void feed(world *w, const uint8_t *p, size_t len, const floe_addr *from) {
    floe_turn_data d;
    floe_turn_recv_kind k = floe_turn_client_on_recv(w->c, w->now, p, len, from, &d);
    if (k == FLOE_TURN_RECV_DATA && (d.p < p || d.p + d.len > p + len)) abort();
    drain(w);
}

/* An answer to an outstanding request. */
static void op_answer(world *w, input *in) {
    const floe_turn_client *c = w->c;
    unsigned slot = u8(in) % FLOE_TURN_MAX_TXNS;
    const turn_txn *t = &c->txns[slot];
    if (t->kind == TURN_TXN_FREE) return;
    floe_stun_msg req;
    if (floe_stun_msg_decode(t->req, t->len, 0, &req) != FLOE_OK) abort();
    uint16_t flags = u16(in);
    bool error = flags & 0x1;
    uint8_t buf[1200];
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, req.method,
                           error ? FLOE_STUN_ERROR : FLOE_STUN_SUCCESS, req.tid);
    if (error) {
        static const int codes[] = {300, 400, 401, 403, 420, 437, 438, 440, 441,
                                    442, 443, 446, 447, 486, 500, 508, 401, 438};
        int code = codes[u8(in) % 18];
        floe_stun_add_error(&b, code, (flags & 0x2) ? "" : NULL);
        if (code == 300 || (flags & 0x4)) {
            floe_addr alt = (flags & 0x8) ? peer_addr(u8(in)) : addr_of(ALT);
            floe_stun_add_addr(&b, FLOE_STUN_ATTR_ALTERNATE_SERVER, &alt);
        }
        if (code == 401 || code == 438 || (flags & 0x10)) {
            if (!(flags & 0x20)) floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, "realm");
            char nonce[32] = "nonce-x";
            if (flags & 0x40) {
                floe_stun_nonce_cookie(u8(in) & 3, nonce);
                memcpy(nonce + FLOE_STUN_NONCE_COOKIE_LEN, "zz", 3);
            } else {
                nonce[6] = (char)('a' + u8(in) % 26);
            }
            floe_stun_add_string(&b, FLOE_STUN_ATTR_NONCE, nonce);
            if (flags & 0x80) {
                uint16_t algs[2] = {u8(in) % 4, FLOE_STUN_PWALG_SHA256};
                floe_stun_add_password_algorithms(&b, algs, 1 + (u8(in) & 1));
            }
        }
    } else {
        if (!(flags & 0x2)) {
            floe_addr r = peer_addr(u8(in));
            floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &r);
            if (flags & 0x4) {
                floe_addr r2 = peer_addr(u8(in));
                floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &r2);
            }
        }
        if (!(flags & 0x8)) floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, u32(in) % 4000);
        if (flags & 0x10) {
            floe_addr m = peer_addr(u8(in));
            floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &m);
        }
        if (flags & 0x8000) /* RFC 6062: a Connect success names the connection */
            floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, (flags & 0x40) ? u32(in) : u8(in));
        if (flags & 0x20) {
            uint8_t v[8] = {
                (uint8_t)(1 + (u8(in) & 1)), 0, (uint8_t)(4 + u8(in) % 2), 40, 'n', 'o'};
            floe_stun_add(&b, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, v, 6);
        }
    }
    if (flags & 0x100) floe_stun_add_u32(&b, 0x7ff0, 0); /* unknown comprehension-required */
    if (!(flags & 0x200) && c->auth.ready) {
        uint8_t key[32];
        memcpy(key, c->auth.key, sizeof key);
        if (flags & 0x400) key[0] ^= 1;
        if (c->auth.sha256 || (flags & 0x800))
            floe_stun_add_integrity_sha256(&b, key, c->auth.key_len, 32);
        else
            floe_stun_add_integrity(&b, key, c->auth.key_len);
    }
    if (!(flags & 0x1000)) floe_stun_add_fingerprint(&b);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
    if (flags & 0x2000) buf[u8(in) % len] ^= (uint8_t)(u8(in) | 1);
    /* A ConnectionBind is answered on its data connection (sometimes, wrongly, on the
     * control connection or another data connection). */
    if (t->kind == TURN_TXN_CONN_BIND && !(flags & 0x4000)) {
        uint32_t id = (flags & 0x800) ? u8(in) : c->conns[t->owner].id;
        floe_turn_client_conn_on_recv(w->c, w->now, id, buf, len);
        drain(w);
        return;
    }
    floe_addr from = (flags & 0x4000) ? peer_addr(u8(in)) : floe_turn_client_server(c);
    feed(w, buf, len, &from);
}

/* A connection id: one the client knows (by table index) or any. */
static uint32_t conn_id(world *w, input *in) {
    uint8_t k = u8(in);
    const turn_conn *cn = &w->c->conns[k % FLOE_TURN_MAX_CONNECTIONS];
    return (k & 0x80) || !cn->used ? u8(in) : cn->id;
}

static void op_attempt(world *w, input *in) {
    uint8_t buf[200], tid[FLOE_STUN_TID_LEN] = {7};
    uint8_t flags = u8(in);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_CONNECTION_ATTEMPT, FLOE_STUN_INDICATION,
                           tid);
    if (!(flags & 1)) floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, conn_id(w, in));
    floe_addr peer = peer_addr(u8(in));
    if (!(flags & 2)) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
    floe_addr from = floe_turn_client_server(w->c);
    feed(w, buf, len, &from);
    if ((flags & 4) && w->c->cfg.tcp_relay) { /* take it at once */
        floe_turn_client_accept(w->c, w->now, conn_id(w, in));
        drain(w);
    }
}

static void op_conn(world *w, input *in) {
    uint8_t what = u8(in);
    uint32_t id = conn_id(w, in);
    switch (what % 4) {
    case 0: floe_turn_client_accept(w->c, w->now, id); break;
    case 1: floe_turn_client_conn_opened(w->c, w->now, id); break;
    case 2: floe_turn_client_conn_closed(w->c, w->now, id); break;
    case 3: { /* raw bytes on a data connection */
        uint8_t buf[128];
        size_t len = u8(in) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = u8(in);
        if (len && (buf[0] & 1)) buf[0] &= 0x03;
        floe_turn_client_conn_on_recv(w->c, w->now, id, buf, len);
        break;
    }
    }
    drain(w);
}

static void op_raw(world *w, input *in) {
    uint8_t buf[600];
    size_t len = u8(in) % sizeof buf;
    for (size_t i = 0; i < len; i++)
        buf[i] = u8(in);
    if (len && (buf[0] & 1)) buf[0] &= 0x43; /* often STUN- or ChannelData-looking */
    floe_addr from = (u8(in) & 1) ? peer_addr(u8(in)) : floe_turn_client_server(w->c);
    feed(w, buf, len, &from);
}

static void op_channel_data(world *w, input *in) {
    uint8_t buf[128];
    uint16_t ch = (u8(in) & 1) ? (uint16_t)(0x4000 + u8(in) % 8) : u16(in);
    size_t n = u8(in) % 64;
    uint8_t data[64] = {0};
    size_t len = 0;
    if (floe_turn_channel_data_encode(ch, data, n, u8(in) & 1, buf, sizeof buf, &len) != FLOE_OK) {
        buf[0] = (uint8_t)(ch >> 8);
        buf[1] = (uint8_t)ch;
        buf[2] = 0;
        buf[3] = (uint8_t)n;
        len = 4 + (u8(in) % 60);
    }
    floe_addr from = floe_turn_client_server(w->c);
    feed(w, buf, len, &from);
}

static void op_data_indication(world *w, input *in) {
    uint8_t buf[200], tid[FLOE_STUN_TID_LEN] = {0};
    uint8_t flags = u8(in);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
    floe_addr peer = peer_addr(u8(in));
    if (!(flags & 1)) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    if (!(flags & 2)) floe_stun_add(&b, FLOE_STUN_ATTR_DATA, "payload", u8(in) % 8);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
    floe_addr from = floe_turn_client_server(w->c);
    feed(w, buf, len, &from);
}

static void op_send(world *w, input *in) {
    static uint8_t out[FLOE_TURN_MAX_DATA + 64];
    static const uint8_t data[256];
    floe_addr peer = peer_addr(u8(in));
    size_t n = u8(in), len = 0;
    size_t cap = (u8(in) & 1) ? sizeof out : u8(in);
    int rc = floe_turn_client_send(w->c, &peer, data, n, out, cap, &len);
    if (rc == FLOE_OK && (len > cap || len < n + 4)) abort();
    drain(w);
}

static void tick(world *w) {
    floe_turn_client_tick(w->c, w->now);
    floe_time_ns d = floe_turn_client_deadline(w->c);
    if (d <= w->now) abort(); /* the promise of tick() */
    drain(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size, 0};
    world w;
    memset(&w, 0, sizeof w);
    w.seed = 0x9e3779b97f4a7c15u ^ size;
    w.now = FLOE_S(1000);
    uint8_t cfgb = u8(&in);
    floe_turn_config cfg;
    floe_turn_config_default(&cfg);
    cfg.server = addr_of(SERVER);
    cfg.transport = (cfgb & 1) ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP;
    if (!(cfgb & 2)) {
        cfg.username = "user";
        cfg.password = "pass";
    }
    if (cfgb & 4)
        cfg.family = FLOE_AF_INET6;
    else if ((cfgb & 8) && cfg.transport == FLOE_TRANSPORT_TCP)
        cfg.tcp_relay = true; /* RFC 6062: over TCP, one family */
    else if (cfgb & 8)
        cfg.dual = true;
    if (cfg.tcp_relay) cfg.max_connections = u8(&in) % (FLOE_TURN_MAX_CONNECTIONS + 1);
    if (cfgb & 0x10) cfg.lifetime = u16(&in);
    cfg.max_permissions = u8(&in) % (FLOE_TURN_MAX_PERMISSIONS + 1);
    cfg.max_channels = u8(&in) % (FLOE_TURN_MAX_CHANNELS + 1);
    if (cfgb & 0x20) cfg.timeout = FLOE_MS(u16(&in));
    cfg.fingerprint = !(cfgb & 0x40);
    cfg.rand = fuzz_rand;
    cfg.rand_ctx = &w.seed;
    if (floe_turn_client_new(&w.c, &cfg) != FLOE_OK) abort();
    if (!(cfgb & 0x80) && floe_turn_client_allocate(w.c, w.now) != FLOE_OK) abort();
    drain(&w);

    for (int ops = 0; ops < 400 && in.off < in.n; ops++) {
        uint8_t op = u8(&in);
        uint16_t ch;
        floe_addr peer;
        switch (op % 15) {
        case 0:
        case 1: op_answer(&w, &in); break;
        case 2: op_raw(&w, &in); break;
        case 3: op_channel_data(&w, &in); break;
        case 4: op_data_indication(&w, &in); break;
        case 5:
            peer = peer_addr(u8(&in));
            floe_turn_client_permit(w.c, w.now, &peer);
            drain(&w);
            break;
        case 6:
            peer = peer_addr(u8(&in));
            if (floe_turn_client_bind_channel(w.c, w.now, &peer, &ch) == FLOE_OK &&
                !floe_turn_channel_valid(ch))
                abort();
            drain(&w);
            break;
        case 7: op_send(&w, &in); break;
        case 8:
            floe_turn_client_close(w.c, w.now);
            drain(&w);
            break;
        case 9: w.now += FLOE_MS(u16(&in)); /* fall through: tick after a jump */
        case 10: tick(&w); break;
        case 11:
            w.now += FLOE_S(u16(&in));
            tick(&w);
            break;
        case 12:
            peer = peer_addr(u8(&in));
            floe_turn_client_connect(w.c, w.now, &peer);
            drain(&w);
            break;
        case 13: op_attempt(&w, &in); break;
        case 14: op_conn(&w, &in); break;
        }
    }
    /* Let time run out: every request ends, the deadline never goes backwards. */
    for (int i = 0; i < 64; i++) {
        floe_time_ns d = floe_turn_client_deadline(w.c);
        if (d == FLOE_TIME_NEVER) break;
        if (d <= w.now) abort();
        w.now = d;
        tick(&w);
    }
    floe_turn_client_free(w.c);
    return 0;
}
