/* libFuzzer target: the TURN server core (floe_turn_server) with state.
 *
 * The input is a little program run against one server with small caps (8 allocations,
 * 4 permissions and 4 channels each, 3 allocations per user, 5 unauthenticated answers
 * per second with a burst of 10). The first byte chooses the configuration (IPv6 relays,
 * SOFTWARE, bandwidth caps, TLS, wildcard listeners, an initial deny prefix, short
 * nonces); then each operation takes a byte, whose low nibble is the operation and high
 * nibble the source (4 UDP clients, two of them behind one IP, and 1 TCP/TLS client with
 * a connection id), and its arguments:
 *    0-3  Allocate / Refresh / CreatePermission / ChannelBind, built with the STUN builder
 *         and signed with user "u" (or "v", a TURN REST username, a wrong password, no
 *         integrity, no nonce, another realm, a corrupt nonce) in realm "floe" with the
 *         latest nonce the server gave that source (a source with none asks first);
 *         sometimes under another method, or with a byte flipped after signing;
 *    4-5  a Send indication / ChannelData to a peer;
 *    6    raw bytes from the input;
 *    7-8  a datagram from a peer to a relay the fake relay_open callback opened (open,
 *         closed or a random handle);
 *    9    time moves on by an input-chosen amount, then floe_turn_server_tick;
 *    10   conn_closed on the TCP tuple (a new connection follows), or a UDP source's NAT
 *         binding changes port (its old allocation lingers);
 *    11   reload with other deny / allow prefixes and passwords (and first, sometimes,
 *         a configuration the server must refuse without changing anything);
 *    12   drain (when the next byte is a multiple of 8);
 *    13   a Binding request;  14 a tick a few milliseconds on;  15 the UNIX clock steps.
 * After every operation the invariants are checked and abort() when broken:
 *   - the answer fits the buffer; an answer to a client decodes as STUN or ChannelData
 *     (and answers the request it was given); one to a peer goes to a peer the policy
 *     allows, from an open relay of the sender's allocation, with bytes of the input;
 *   - every input ends in exactly one outcome counter, the one `o.counter` names, and
 *     rx_client + rx_peer == the sum of the outcome counters;
 *   - answers to well-signed requests verify with the key, the others carry no
 *     MESSAGE-INTEGRITY; without SOFTWARE configured no answer has SOFTWARE or a reason;
 *   - the table stays within its caps and agrees with itself; every stored permission and
 *     channel is to a peer the current policy allows;
 *   - relays opened - relays closed == the open relays the fake tracks == the relays the
 *     allocations hold; no relay is closed twice, opened under a live handle, or closed
 *     by a reload or a peer's datagram;
 *   - past the longest lifetime every allocation has expired, and after
 *     floe_turn_server_free no relay is left open. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"
#include "floe/turn.h"
#include "floe/turn_server.h"
#include "server/turn_server_priv.h"
#include "fuzz_input.h"

/* The channel numbers the server binds: RFC 8656's 0x4000-0x4FFF, and RFC 5766's up to
 * 0x7FFF where the server accepts those. */
#ifdef FLOE_TURN_CHANNEL_MAX_RFC5766
#define SRV_CHANNEL_MAX FLOE_TURN_CHANNEL_MAX_RFC5766
#else
#define SRV_CHANNEL_MAX FLOE_TURN_CHANNEL_MAX
#endif

static int channel_data_decode(const uint8_t *p, size_t len, uint16_t *ch, const uint8_t **data,
                               size_t *n) {
#ifdef FLOE_TURN_CHANNEL_MAX_RFC5766
    return floe_turn_channel_data_decode_upto(p, len, SRV_CHANNEL_MAX, ch, data, n);
#else
    return floe_turn_channel_data_decode(p, len, ch, data, n);
#endif
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define N_SRC 5
#define TCP_SRC 4
#define MAX_RELAYS 1024
#define MAX_OPS 256

#define MAX_ALLOCATIONS 8
#define MAX_PERMISSIONS 4
#define MAX_CHANNELS 4
#define USER_QUOTA 3
#define REALM "floe"

static uint64_t u64(input *in) {
    uint64_t hi = u32(in);
    return hi << 32 | u32(in);
}

static floe_addr addr_of(const char *s) {
    floe_addr a;
    memset(&a, 0, sizeof a);
    if (floe_addr_parse(s, &a) != FLOE_OK) abort();
    return a;
}

static floe_addr_prefix prefix_of(const char *s) {
    floe_addr_prefix p;
    memset(&p, 0, sizeof p);
    if (floe_addr_prefix_parse(s, &p) != FLOE_OK) abort();
    return p;
}

/* Peers: the first four are global and ordinary; the rest are the edges of the policy
 * (the same IP on another port, an allowed documentation address, the server itself, a
 * private, loopback, multicast address, IPv6 forms that carry an IPv4 one, port 0). */
static const char *const peer_text[16] = {
    "8.8.8.8:53",
    "1.1.1.1:4000",
    "[2001:4860:4860::8888]:443",
    "9.9.9.9:9999",
    "8.8.8.8:54",
    "192.0.2.10:5000",
    "192.0.2.10:3478",
    "10.0.0.1:1000",
    "127.0.0.1:80",
    "[::ffff:8.8.8.8]:53",
    "[64:ff9b::808:808]:53",
    "224.0.0.1:5",
    "[2002:808:808::1]:1",
    "[::ffff:192.0.2.10]:3478",
    "8.8.8.8:0",
    "[2001:4860:4860::8844]:3478",
};

static floe_addr peer_addr(uint8_t b) {
    return addr_of(peer_text[(b & 0x80) ? b % 16 : b % 4]);
}

/* A relay socket the fake runtime opened. */
typedef struct relay_rec {
    uint64_t handle, token;
    floe_addr addr;
    floe_turn_tuple tuple; /* the client whose Allocate opened it */
    uint32_t call;         /* the on_client call that opened it */
    bool open;
} relay_rec;

typedef struct source {
    floe_turn_tuple t;
    uint16_t base_port;
    char nonce[FLOE_STUN_MAX_NONCE + 1];
    size_t nonce_len;
    uint8_t alloc_tid[FLOE_STUN_TID_LEN];
} source;

typedef struct world {
    floe_turn_server *srv;
    floe_turn_server_config cfg;
    floe_turn_user users[2];
    const char *secrets[1];
    floe_addr_prefix deny[8], allow[4];
    floe_addr self[2];
    source src[N_SRC];

    relay_rec relay[MAX_RELAYS];
    size_t n_relay, n_open;
    uint64_t opened, closed;
    uint32_t call;              /* on_client calls so far */
    const floe_turn_tuple *cur; /* the tuple of the on_client call running, else NULL */
    bool in_peer, in_reload;
    unsigned fail_open; /* bit k: the k-th relay_open of this call fails */
    unsigned opens;     /* relay_open calls in this call */

    floe_time_ns now, now0;
    uint64_t unix0;
    int64_t skew;
    uint64_t tid_seq;

    uint8_t key_u[TSRV_KEY_LEN], key_v[TSRV_KEY_LEN], key_r[TSRV_KEY_LEN];
    uint8_t key_r_old[TSRV_KEY_LEN], key_bad[TSRV_KEY_LEN];
    char rest_user[64], rest_old[64];
    uint64_t rest_expiry, rest_old_expiry;
    bool u_password_changed;
} world;

static world W;

static uint64_t unix_now(const world *w) {
    return (uint64_t)((int64_t)(w->unix0 + (w->now - w->now0) / FLOE_NS_PER_S) + w->skew);
}

static void set_time(world *w) {
    floe_turn_server_set_time(w->srv, w->now, unix_now(w));
}

/* ---- the fake runtime's relay sockets --------------------------------------------- */

static int fake_open(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                     floe_addr *relayed, uint64_t *token) {
    world *w = ctx;
    (void)even_port;
    (void)dont_fragment;
    CHECK(w->cur != NULL); /* only an Allocate opens a relay */
    CHECK(family == FLOE_AF_INET4 ? w->cfg.relay_v4 : family == FLOE_AF_INET6 && w->cfg.relay_v6);
    for (size_t i = 0; i < w->n_relay; i++) {
        const relay_rec *r = &w->relay[i];
        if (!r->open || r->handle != handle) continue;
        /* A live handle is never handed out again, and one Allocate opens each family
         * once. */
        CHECK(r->call == w->call && r->addr.family != family);
    }
    unsigned k = w->opens++;
    if (k < 2 && (w->fail_open & (1u << k))) return FLOE_ERR_IO;
    if (w->n_relay == MAX_RELAYS) return FLOE_ERR_LIMIT;
    relay_rec *r = &w->relay[w->n_relay];
    memset(r, 0, sizeof *r);
    r->handle = handle;
    r->token = 0x7000000000000000u + w->n_relay;
    r->tuple = *w->cur;
    r->call = w->call;
    r->open = true;
    if (family == FLOE_AF_INET4) {
        floe_addr_set_v4(&r->addr, 0xC00002C8u /* 192.0.2.200 */, (uint16_t)(10000 + w->n_relay));
    } else {
        uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x02, [15] = 0x00};
        floe_addr_set_v6(&r->addr, ip, (uint16_t)(10000 + w->n_relay));
    }
    w->n_relay++;
    w->n_open++;
    w->opened++;
    *relayed = r->addr;
    *token = r->token;
    return FLOE_OK;
}

static void fake_close(void *ctx, uint64_t token) {
    world *w = ctx;
    CHECK(!w->in_peer && !w->in_reload);
    for (size_t i = 0; i < w->n_relay; i++) {
        relay_rec *r = &w->relay[i];
        if (r->token != token) continue;
        CHECK(r->open); /* never closed twice */
        r->open = false;
        w->n_open--;
        w->closed++;
        return;
    }
    CHECK(!"relay_close of a token relay_open never gave");
}

static relay_rec *relay_by_token(world *w, uint64_t token) {
    for (size_t i = 0; i < w->n_relay; i++)
        if (w->relay[i].token == token) return &w->relay[i];
    return NULL;
}

static bool tuple_equal(const floe_turn_tuple *a, const floe_turn_tuple *b) {
    return a->transport == b->transport && a->conn == b->conn &&
           floe_addr_equal(&a->client, &b->client) && floe_addr_equal(&a->server, &b->server);
}

/* ---- invariants ----------------------------------------------------------------------- */

static uint64_t outcome_sum(const floe_turn_server *srv) {
    const uint64_t *c = floe_turn_server_counters(srv);
    uint64_t sum = 0;
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++)
        if (floe_turn_server_counter_is_outcome(i)) sum += c[i];
    return sum;
}

static void invariants(world *w) {
    floe_turn_server *srv = w->srv;
    const uint64_t *c = floe_turn_server_counters(srv);
    CHECK(c[FLOE_TSRV_RX_CLIENT] + c[FLOE_TSRV_RX_PEER] == outcome_sum(srv));

    floe_turn_server_gauges g;
    floe_turn_server_gauges_get(srv, &g);
    CHECK(g.allocations <= MAX_ALLOCATIONS);
    CHECK(g.users_with_allocations <= g.allocations);
    CHECK(g.allocations <= g.users_with_allocations * USER_QUOTA);
    CHECK(g.permissions <= g.allocations * MAX_PERMISSIONS);
    CHECK(g.channels <= g.allocations * MAX_CHANNELS);

    CHECK(w->opened - w->closed == w->n_open);
    /* The table agrees with itself and with the fake runtime. */
    uint32_t used = 0;
    size_t relays = 0;
    for (uint32_t i = 0; i < srv->high_water; i++) {
        tsrv_alloc *a = &srv->slot[i];
        if (!a->used) continue;
        used++;
        CHECK(a->relay[0].open || a->relay[1].open);
        CHECK(tsrv_find(srv, &a->tuple) == a);
        CHECK(tsrv_by_handle(srv, tsrv_handle(srv, a)) == a);
        CHECK(a->n_perm <= MAX_PERMISSIONS && a->n_chan <= MAX_CHANNELS);
        CHECK(a->lifetime <= FLOE_TSRV_MAX_LIFETIME_S);
        for (int r = 0; r < 2; r++) {
            if (!a->relay[r].open) continue;
            relays++;
            relay_rec *rec = relay_by_token(w, a->relay[r].token);
            CHECK(rec && rec->open && rec->handle == tsrv_handle(srv, a));
            CHECK(rec->addr.family == (r ? FLOE_AF_INET6 : FLOE_AF_INET4));
            CHECK(tuple_equal(&rec->tuple, &a->tuple));
        }
        for (size_t k = 0; k < a->n_perm; k++) {
            floe_addr p;
            tsrv_addr_of(a->perm[k].family, a->perm[k].ip, 0, &p);
            CHECK(floe_turn_server_peer_allowed(srv, &p));
            for (size_t j = 0; j < k; j++)
                CHECK(a->perm[j].family != a->perm[k].family ||
                      memcmp(a->perm[j].ip, a->perm[k].ip, 16) != 0);
        }
        for (size_t k = 0; k < a->n_chan; k++) {
            const tsrv_chan *ch = &a->chan[k];
            floe_addr p;
            tsrv_addr_of(ch->family, ch->ip, ch->port, &p);
            CHECK(ch->number >= FLOE_TURN_CHANNEL_MIN && ch->number <= SRV_CHANNEL_MAX &&
                  ch->port != 0);
            CHECK(floe_turn_server_peer_allowed(srv, &p));
            for (size_t j = 0; j < k; j++) {
                CHECK(a->chan[j].number != ch->number);
                CHECK(a->chan[j].port != ch->port || a->chan[j].family != ch->family ||
                      memcmp(a->chan[j].ip, ch->ip, 16) != 0);
            }
        }
    }
    CHECK(used == g.allocations);
    CHECK(relays == w->n_open);
}

static bool is_drop(int counter) {
    return counter >= FLOE_TSRV_DROP_MALFORMED && counter <= FLOE_TSRV_DROP_NO_SPACE;
}

static bool is_success(int counter) {
    return counter >= FLOE_TSRV_ALLOCATED && counter <= FLOE_TSRV_CHANNEL_BOUND;
}

static bool inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t cap) {
    return p >= buf && n <= cap && (size_t)(p - buf) <= cap - n;
}

/* What every answer must satisfy, whatever the input. */
static void check_out(world *w, const floe_turn_tuple *from, const floe_turn_server_out *o,
                      uint64_t sum_before, const uint8_t *in, size_t len, const uint8_t *out,
                      size_t cap) {
    /* What the server writes fits `out`; a datagram relayed to a peer is not written
     * but points into the input (checked below), so only the input bounds it. */
    if (!o->to_peer) CHECK(o->len <= cap);
    CHECK(floe_turn_server_counter_is_outcome(o->counter));
    CHECK(outcome_sum(w->srv) == sum_before + 1);
    /* data NULL: nothing to send. A datagram to a peer may be empty (RFC 8656 §12.4: 0 is
     * a valid length); every other answer that is not a drop has bytes. */
    if (!o->data) CHECK(o->len == 0 && !o->to_peer);
    if (is_drop(o->counter)) CHECK(!o->data);
    if (!is_drop(o->counter) && o->counter != FLOE_TSRV_STUN)
        CHECK(o->data && (o->len > 0 || o->counter == FLOE_TSRV_TO_PEER));
    if (o->counter == FLOE_TSRV_STUN) CHECK(!o->data == (o->len == 0));
    CHECK(o->to_peer == (o->counter == FLOE_TSRV_TO_PEER));
    if (o->to_peer) {
        CHECK(floe_turn_server_peer_allowed(w->srv, &o->to));
        CHECK(o->to.port != 0);
        CHECK(inside(o->data, o->len, in, len));
        relay_rec *r = relay_by_token(w, o->relay);
        CHECK(r && r->open && r->addr.family == o->to.family);
        CHECK(from && tuple_equal(&r->tuple, from));
        return;
    }
    if (o->len == 0) return;
    CHECK(inside(o->data, o->len, out, cap));
    floe_stun_msg m;
    uint16_t ch;
    const uint8_t *data;
    size_t n;
    /* Binding answers may be RFC 3489's (no magic cookie) to RFC 3489 requests. */
    unsigned flags = o->counter == FLOE_TSRV_STUN ? FLOE_STUN_DECODE_CLASSIC : 0;
    if (floe_stun_msg_decode(o->data, o->len, flags, &m) == FLOE_OK) {
        CHECK(m.raw_len == o->len);
        CHECK(m.cls != FLOE_STUN_REQUEST);
        if (!w->cfg.software && o->counter != FLOE_TSRV_STUN) {
            CHECK(floe_stun_msg_find(&m, FLOE_STUN_ATTR_SOFTWARE) == NULL);
            int code;
            const char *reason;
            size_t rlen;
            if (m.cls == FLOE_STUN_ERROR)
                CHECK(floe_stun_msg_get_error(&m, &code, &reason, &rlen) == FLOE_OK && rlen == 0);
        }
    } else {
        CHECK(channel_data_decode(o->data, o->len, &ch, &data, &n) == FLOE_OK);
        CHECK(o->counter == FLOE_TSRV_TO_CLIENT);
    }
}

/* ---- client input ---------------------------------------------------------------------- */

typedef struct expect {
    const uint8_t *key; /* signed with this key: an answer's integrity must verify with it */
    bool unauth;        /* sent without valid credentials: no answer may carry integrity */
} expect;

static size_t pick_cap(input *in, uint8_t x) {
    switch (x & 3) {
    case 0: return 2048;
    case 1: return 1500;
    case 2: return FLOE_STUN_MAX_MSG;
    default: return u8(in);
    }
}

static void client_input(world *w, unsigned si, const uint8_t *msg, size_t len, size_t cap,
                         const expect *ex) {
    source *s = &w->src[si];
    uint8_t *in = malloc(len ? len : 1); /* exact sizes: ASan sees any overrun */
    uint8_t *out = malloc(cap ? cap : 1);
    if (!in || !out) abort();
    if (len) memcpy(in, msg, len);
    uint64_t before = outcome_sum(w->srv);
    size_t closed_before = w->closed, opened_before = w->opened;
    set_time(w);
    floe_turn_server_out o;
    w->cur = &s->t;
    w->call++;
    w->opens = 0;
    floe_turn_server_on_client(w->srv, &s->t, in, len, out, cap, &o);
    w->cur = NULL;
    w->fail_open = 0;
    check_out(w, &s->t, &o, before, in, len, out, cap);
    /* Relays open for a new allocation only: one whose success did not fit the buffer
     * (the client's retransmission gets it), or one a failed relay undid. */
    if (o.counter == FLOE_TSRV_ALLOCATED)
        CHECK(w->opened > opened_before);
    else if (o.counter != FLOE_TSRV_CAPACITY && o.counter != FLOE_TSRV_DROP_NO_SPACE)
        CHECK(w->opened == opened_before);
    if (o.counter == FLOE_TSRV_DEALLOCATED) CHECK(w->closed > closed_before);

    floe_stun_msg req, m;
    bool req_ok = floe_stun_msg_decode(in, len, 0, &req) == FLOE_OK;
    if (o.len && !o.to_peer) {
        CHECK(tuple_equal(&o.tuple, &s->t));
        if (o.counter != FLOE_TSRV_STUN) CHECK(floe_addr_equal(&o.to, &s->t.client));
    }
    if (o.len && !o.to_peer && o.counter != FLOE_TSRV_STUN &&
        floe_stun_msg_decode(o.data, o.len, 0, &m) == FLOE_OK) {
        /* An answer answers the request it was given. */
        CHECK(req_ok && req.cls == FLOE_STUN_REQUEST);
        CHECK(m.method == req.method && memcmp(m.tid, req.tid, FLOE_STUN_TID_LEN) == 0);
        CHECK(is_success(o.counter) == (m.cls == FLOE_STUN_SUCCESS));
        if (ex && ex->key) {
            if (m.mi >= 0)
                CHECK(floe_stun_msg_check_integrity(&m, ex->key, TSRV_KEY_LEN) == FLOE_OK);
            if (is_success(o.counter)) CHECK(m.mi >= 0);
        }
        if (ex && ex->unauth) CHECK(m.mi < 0 && !is_success(o.counter));
        if (o.counter == FLOE_TSRV_CHALLENGED || o.counter == FLOE_TSRV_STALE_NONCE ||
            o.counter == FLOE_TSRV_AUTH_FAILED) {
            const char *realm, *nonce;
            size_t rl, nl;
            CHECK(m.mi < 0);
            CHECK(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_REALM, &realm, &rl) == FLOE_OK);
            CHECK(rl == strlen(REALM) && memcmp(realm, REALM, rl) == 0);
            CHECK(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_NONCE, &nonce, &nl) == FLOE_OK);
            CHECK(nl > 0 && nl < sizeof s->nonce);
            memcpy(s->nonce, nonce, nl);
            s->nonce_len = nl;
        }
        if (o.counter == FLOE_TSRV_ALLOCATED || o.counter == FLOE_TSRV_ALLOCATE_AGAIN) {
            /* The relayed addresses are those the runtime opened for this client. */
            size_t nrel = 0;
            for (size_t i = 0; i < m.n_attrs; i++) {
                if (m.attrs[i].type != FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS) continue;
                floe_addr a;
                CHECK(floe_stun_attr_addr(&m, &m.attrs[i], &a) == FLOE_OK);
                bool found = false;
                for (size_t k = 0; k < w->n_relay && !found; k++)
                    found = w->relay[k].open && floe_addr_equal(&w->relay[k].addr, &a) &&
                            tuple_equal(&w->relay[k].tuple, &s->t);
                CHECK(found);
                nrel++;
            }
            CHECK(nrel >= 1 && nrel <= 2);
        }
    }
    free(in);
    free(out);
    invariants(w);
}

/* ---- building requests ------------------------------------------------------------------ */

static void new_tid(world *w, input *in, uint8_t tid[FLOE_STUN_TID_LEN]) {
    uint64_t seq = ++w->tid_seq;
    memset(tid, 0, FLOE_STUN_TID_LEN);
    tid[0] = u8(in);
    memcpy(tid + 4, &seq, sizeof seq);
}

/* The credential byte: bits 0-2 who signs (0-3 "u", 4 "v", 5 TURN REST, 6 a wrong
 * password, 7 one of: no integrity, no NONCE, another realm, a corrupt nonce: bits 5-6),
 * bit 3 FINGERPRINT, bit 4 an unknown comprehension-required attribute, bit 5 (for
 * REST) an expired username, bit 7 a byte flipped after signing. */
static bool needs_nonce(uint8_t cred) {
    return (cred & 7) != 7 || ((cred >> 5) & 3) >= 2;
}

/* Ends a request: credentials, integrity, fingerprint. Returns the length (0: no fit). */
static size_t sign(world *w, input *in, unsigned si, floe_stun_builder *b, uint8_t cred,
                   uint8_t *buf, expect *ex) {
    source *s = &w->src[si];
    const char *user = "u";
    const uint8_t *key = w->key_u;
    unsigned kind = cred & 7, sub = (cred >> 5) & 3;
    memset(ex, 0, sizeof *ex);
    if (cred & 0x10) floe_stun_add_u32(b, 0x7ff0, 0);
    if (kind == 4) {
        user = "v";
        key = w->key_v;
    } else if (kind == 5) {
        bool expired = cred & 0x20;
        user = expired ? w->rest_old : w->rest_user;
        key = expired ? w->key_r_old : w->key_r;
    } else if (kind == 6) {
        key = w->key_bad;
    }
    bool valid;
    if (kind < 4)
        valid = !w->u_password_changed;
    else if (kind == 5) /* the UNIX clock may step back over an expiry */
        valid = w->cfg.n_secrets &&
                ((cred & 0x20) ? w->rest_old_expiry : w->rest_expiry) >= unix_now(w);
    else
        valid = kind == 4;
    if (kind == 7 && sub == 0) {
        ex->unauth = true;
    } else {
        char nonce[sizeof s->nonce];
        size_t nl = s->nonce_len;
        memcpy(nonce, s->nonce, nl);
        if (kind == 7 && sub == 3 && nl) nonce[u8(in) % nl] ^= 0x01;
        floe_stun_add_string(b, FLOE_STUN_ATTR_USERNAME, user);
        floe_stun_add_string(b, FLOE_STUN_ATTR_REALM, kind == 7 && sub == 2 ? "elsewhere" : REALM);
        if (!(kind == 7 && sub == 1)) floe_stun_add(b, FLOE_STUN_ATTR_NONCE, nonce, nl);
        floe_stun_add_integrity(b, key, TSRV_KEY_LEN);
        if (valid)
            ex->key = key;
        else
            ex->unauth = true;
    }
    if (cred & 0x08) floe_stun_add_fingerprint(b);
    size_t len = 0;
    if (floe_stun_builder_finish(b, &len) != FLOE_OK) return 0;
    if ((cred & 0x80) && len) {
        buf[u8(in) % len] ^= (uint8_t)(u8(in) | 1);
        memset(ex, 0, sizeof *ex);
    }
    return len;
}

/* A source without a nonce asks for one first, as a client does. */
static void get_nonce(world *w, input *in, unsigned si, uint16_t method) {
    uint8_t buf[256], tid[FLOE_STUN_TID_LEN];
    new_tid(w, in, tid);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, method, FLOE_STUN_REQUEST, tid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) abort();
    expect ex = {.unauth = true};
    client_input(w, si, buf, len, 2048, &ex);
}

/* A channel number: one of the first few, any, or around the ends of RFC 8656's range
 * and of RFC 5766's (flags bits 3-4). */
static uint16_t channel_number(input *in, uint8_t f) {
    switch ((f >> 3) & 3) {
    case 0: return (uint16_t)(0x4000 + u8(in) % 6);
    case 1: return u16(in);
    case 2: return (uint16_t)(0x4ffe + u8(in) % 4);
    default: return (uint16_t)(0x7ffe + u8(in) % 4);
    }
}

static void op_request(world *w, input *in, unsigned si, unsigned op) {
    static const uint16_t methods[4] = {FLOE_STUN_ALLOCATE, FLOE_STUN_REFRESH,
                                        FLOE_STUN_CREATE_PERMISSION, FLOE_STUN_CHANNEL_BIND};
    source *s = &w->src[si];
    uint16_t method = methods[op];
    uint8_t f = u8(in), cred = u8(in), x = u8(in);
    size_t cap = pick_cap(in, x);
    if (needs_nonce(cred) && s->nonce_len == 0) get_nonce(w, in, si, method);
    uint8_t buf[1024], tid[FLOE_STUN_TID_LEN];
    new_tid(w, in, tid);
    if (method == FLOE_STUN_ALLOCATE && (f & 0x80)) memcpy(tid, s->alloc_tid, sizeof tid);
    if (method == FLOE_STUN_ALLOCATE) memcpy(s->alloc_tid, tid, sizeof tid);
    /* x bit 4: the attributes of this method under another (a Send or Data request,
     * Connect, an unassigned method): well signed, and still refused. */
    static const uint16_t odd[4] = {FLOE_STUN_SEND, FLOE_STUN_DATA, FLOE_STUN_CONNECT, 0x0ff};
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, (x & 0x10) ? odd[(x >> 5) & 3] : method,
                           FLOE_STUN_REQUEST, tid);
    switch (method) {
    case FLOE_STUN_ALLOCATE: {
        if (!(f & 0x02))
            floe_stun_add_u32(&b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, (f & 0x01 ? 6u : 17u) << 24);
        switch ((f >> 2) & 3) {
        case 1: floe_stun_add_u32(&b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x01u << 24); break;
        case 2: floe_stun_add_u32(&b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x02u << 24); break;
        case 3: floe_stun_add_u32(&b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 0x02u << 24); break;
        default: break;
        }
        if (f & 0x10) floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, u16(in));
        if (f & 0x20) floe_stun_add(&b, FLOE_STUN_ATTR_DONT_FRAGMENT, "", 0);
        if (f & 0x40) {
            uint8_t ev = u8(in);
            if (ev & 0x01)
                floe_stun_add_u64(&b, FLOE_STUN_ATTR_RESERVATION_TOKEN, 0x0102030405060708u);
            else
                floe_stun_add(&b, FLOE_STUN_ATTR_EVEN_PORT, &ev, 1);
        }
        w->fail_open = (x >> 2) & 3;
        break;
    }
    case FLOE_STUN_REFRESH:
        switch (f & 3) {
        case 1: floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 0); break;
        case 2: floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, u16(in)); break;
        case 3: floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, u32(in)); break;
        default: break;
        }
        if ((f >> 2) & 3)
            floe_stun_add_u32(&b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, ((f >> 2) & 3u) << 24);
        break;
    case FLOE_STUN_CREATE_PERMISSION: {
        unsigned n = (f & 0x04) ? 0 : 1 + (f & 3);
        for (unsigned i = 0; i < n; i++) {
            floe_addr p = peer_addr(u8(in));
            floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
        }
        break;
    }
    case FLOE_STUN_CHANNEL_BIND: {
        uint16_t number = channel_number(in, f);
        floe_addr p = peer_addr(u8(in));
        if (!(f & 0x02))
            floe_stun_add_u32(&b, FLOE_STUN_ATTR_CHANNEL_NUMBER, (uint32_t)number << 16);
        if (!(f & 0x04)) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
        break;
    }
    default: abort();
    }
    expect ex;
    size_t len = sign(w, in, si, &b, cred, buf, &ex);
    if (len == 0) abort();
    client_input(w, si, buf, len, cap, &ex);
}

/* Payload bytes: a pattern from one input byte (cheap on input, easy to compare). */
static size_t payload(input *in, uint8_t *p, size_t max) {
    uint8_t l = u8(in);
    size_t n = (l & 0x80) ? (size_t)(l & 0x7f) * 16 : l;
    if (n > max) n = max;
    uint8_t seed = u8(in);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i);
    return n;
}

static void op_send(world *w, input *in, unsigned si) {
    uint8_t f = u8(in), x = u8(in);
    size_t cap = pick_cap(in, x);
    floe_addr peer = peer_addr(u8(in));
    if (f & 0x04) peer.port = 0;
    uint8_t data[2048], buf[2200], tid[FLOE_STUN_TID_LEN];
    size_t n = payload(in, data, sizeof data);
    new_tid(w, in, tid);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_SEND, FLOE_STUN_INDICATION, tid);
    if (!(f & 0x02)) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    if (!(f & 0x01)) floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, n);
    if (f & 0x08) floe_stun_add_fingerprint(&b);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) abort();
    client_input(w, si, buf, len, cap, NULL);
}

static void op_channel_data(world *w, input *in, unsigned si) {
    uint8_t f = u8(in), x = u8(in);
    size_t cap = pick_cap(in, x);
    uint16_t number = channel_number(in, f);
    uint8_t buf[2100];
    size_t n = payload(in, buf + 4, sizeof buf - 8), len = 4 + n;
    /* Any number, so written here: header, data, zero padding when asked (always on a
     * stream), then perhaps cut short. */
    buf[0] = (uint8_t)(number >> 8);
    buf[1] = (uint8_t)number;
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    if (floe_transport_reliable(w->src[si].t.transport) || (f & 0x02))
        while (len % 4)
            buf[len++] = 0;
    if ((f & 0x04) && len > 4) len -= 1 + u8(in) % 4; /* truncated */
    client_input(w, si, buf, len, cap, NULL);
}

static void op_raw(world *w, input *in, unsigned si) {
    uint8_t x = u8(in);
    size_t cap = pick_cap(in, x);
    uint8_t buf[512];
    size_t len = u8(in) * 2u;
    for (size_t i = 0; i < len; i++)
        buf[i] = u8(in);
    if (len && (x & 0x04)) buf[0] &= 0x43; /* STUN- or ChannelData-looking */
    client_input(w, si, buf, len, cap, NULL);
}

static void op_binding(world *w, input *in, unsigned si) {
    uint8_t f = u8(in);
    uint8_t buf[128], tid[FLOE_STUN_TID_LEN];
    new_tid(w, in, tid);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    if (f & 0x01) floe_stun_add_u32(&b, FLOE_STUN_ATTR_RESPONSE_PORT, (uint32_t)u16(in) << 16);
    if (f & 0x02) floe_stun_add_fingerprint(&b);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) abort();
    client_input(w, si, buf, len, pick_cap(in, f >> 2), NULL);
}

/* ---- peers -------------------------------------------------------------------------------- */

static void op_peer(world *w, input *in) {
    uint8_t sel = u8(in), x = u8(in);
    size_t cap = pick_cap(in, x);
    uint64_t handle = 0;
    if ((sel & 3) < 2 && w->n_open) {
        size_t k = u8(in) % w->n_open;
        for (size_t i = 0; i < w->n_relay; i++)
            if (w->relay[i].open && k-- == 0) {
                handle = w->relay[i].handle;
                break;
            }
    } else if ((sel & 3) == 2 && w->n_relay) {
        handle = w->relay[u8(in) % w->n_relay].handle; /* perhaps stale */
    } else {
        handle = u64(in);
    }
    floe_addr peer = peer_addr(u8(in));
    uint8_t data[2048];
    size_t n = payload(in, data, sizeof data);
    uint8_t *p = malloc(n ? n : 1);
    uint8_t *out = malloc(cap ? cap : 1);
    if (!p || !out) abort();
    memcpy(p, data, n);
    uint64_t before = outcome_sum(w->srv);
    set_time(w);
    floe_turn_server_out o;
    w->in_peer = true;
    floe_turn_server_on_peer(w->srv, handle, &peer, p, n, out, cap, &o);
    w->in_peer = false;
    check_out(w, NULL, &o, before, p, n, out, cap);
    CHECK(!o.to_peer);
    if (o.len) {
        /* Only a live relay delivers, to the client whose allocation it is. */
        const relay_rec *r = NULL;
        for (size_t i = 0; i < w->n_relay && !r; i++)
            if (w->relay[i].open && w->relay[i].handle == handle) r = &w->relay[i];
        CHECK(r != NULL);
        CHECK(tuple_equal(&o.tuple, &r->tuple) && floe_addr_equal(&o.to, &r->tuple.client));
        bool reliable = floe_transport_reliable(o.tuple.transport);
        floe_stun_msg m;
        uint16_t ch;
        const uint8_t *d;
        size_t dn;
        if (channel_data_decode(o.data, o.len, &ch, &d, &dn) == FLOE_OK) {
            CHECK(dn == n && (n == 0 || memcmp(d, p, n) == 0));
            /* ... on a live channel bound to that very peer */
            tsrv_alloc *a = tsrv_by_handle(w->srv, handle);
            tsrv_chan *c = a ? tsrv_chan_by_number(w->srv, a, ch) : NULL;
            floe_addr bound;
            if (c) tsrv_addr_of(c->family, c->ip, c->port, &bound);
            CHECK(c && c->until > tsrv_secs(w->srv) && floe_addr_equal(&bound, &peer));
            CHECK(reliable ? o.len % 4 == 0 : o.len == 4 + n);
        } else {
            CHECK(floe_stun_msg_decode(o.data, o.len, 0, &m) == FLOE_OK);
            CHECK(m.method == FLOE_STUN_DATA && m.cls == FLOE_STUN_INDICATION);
            floe_addr from;
            CHECK(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &from) == FLOE_OK);
            CHECK(floe_addr_equal(&from, &peer));
            const floe_stun_attr *a = floe_stun_msg_find(&m, FLOE_STUN_ATTR_DATA);
            CHECK(a && a->len == n && (n == 0 || memcmp(a->val, p, n) == 0));
        }
    }
    free(p);
    free(out);
    invariants(w);
}

/* ---- time, connections, configuration ------------------------------------------------------- */

static void tick(world *w) {
    set_time(w);
    floe_turn_server_tick(w->srv);
    invariants(w);
}

static void op_time(world *w, input *in) {
    uint8_t scale = u8(in);
    floe_time_ns d;
    switch (scale & 3) {
    case 0: d = FLOE_MS(u8(in)) * 10; break;
    case 1: d = FLOE_S(u8(in)); break;
    case 2: d = FLOE_S(u8(in)) * 10; break;
    default: d = FLOE_S(u16(in)); break;
    }
    w->now += d;
    tick(w);
}

static void op_conn(world *w, input *in, unsigned si) {
    uint8_t f = u8(in);
    source *s = &w->src[si];
    if (si == TCP_SRC || (f & 1)) {
        s = &w->src[TCP_SRC];
        if (!(f & 2)) {
            floe_turn_server_conn_closed(w->srv, &s->t);
            invariants(w);
            CHECK(tsrv_find(w->srv, &s->t) == NULL);
        }
        s->t.conn++; /* the client connects again (or opens a second connection) */
    }
    if (f & 4) {
        /* A NAT binding moves: new port, the nonce is for the old one. */
        s->t.client.port = (uint16_t)(s->base_port + (s->t.client.port - s->base_port + 1) % 8);
        s->nonce_len = 0;
    }
}

static void make_config(world *w, uint8_t r) {
    size_t nd = 0, na = 0;
    if (r & 0x01) w->deny[nd++] = prefix_of("8.8.8.0/24");
    if (r & 0x02) w->deny[nd++] = prefix_of("2001:4860::/32");
    if (r & 0x04) w->deny[nd++] = prefix_of("1.1.1.1/32");
    if (r & 0x08) w->deny[nd++] = prefix_of("192.0.2.10/32");
    if (!(r & 0x10)) w->allow[na++] = prefix_of("192.0.2.10/32");
    if (r & 0x20) w->allow[na++] = prefix_of("10.0.0.0/8");
    w->u_password_changed = r & 0x40;
    w->users[0] = (floe_turn_user){"u", w->u_password_changed ? "px" : "p"};
    w->users[1] = (floe_turn_user){"v", "q"};
    w->cfg.users = w->users;
    w->cfg.n_users = 2;
    w->cfg.secrets = w->secrets;
    w->cfg.n_secrets = (r & 0x80) ? 0 : 1;
    w->cfg.deny = nd ? w->deny : NULL;
    w->cfg.n_deny = nd;
    w->cfg.allow = na ? w->allow : NULL;
    w->cfg.n_allow = na;
}

static void op_reload(world *w, input *in) {
    uint8_t r = u8(in), e = u8(in);
    if ((e & 7) == 7) {
        /* A configuration the server refuses changes nothing. */
        bool before[16];
        for (unsigned i = 0; i < 16; i++) {
            floe_addr p = addr_of(peer_text[i]);
            before[i] = floe_turn_server_peer_allowed(w->srv, &p);
        }
        floe_turn_server_config bad = w->cfg;
        floe_addr_prefix deny_all = prefix_of("0.0.0.0/0");
        bad.deny = &deny_all;
        bad.n_deny = 1;
        if (e & 0x08)
            bad.realm = "elsewhere"; /* the keys depend on it */
        else
            bad.max_permissions = FLOE_TSRV_MAX_PERMISSIONS + 1;
        w->in_reload = true;
        int rc = floe_turn_server_reload(w->srv, &bad);
        w->in_reload = false;
        CHECK(rc == FLOE_ERR_CONFIG);
        for (unsigned i = 0; i < 16; i++) {
            floe_addr p = addr_of(peer_text[i]);
            CHECK(floe_turn_server_peer_allowed(w->srv, &p) == before[i]);
        }
        invariants(w);
    }
    make_config(w, r);
    w->in_reload = true;
    int rc = floe_turn_server_reload(w->srv, &w->cfg);
    w->in_reload = false;
    CHECK(rc == FLOE_OK);
    invariants(w);
}

/* ---- setup ----------------------------------------------------------------------------------- */

static void long_term_key(const char *user, const char *pass, uint8_t key[TSRV_KEY_LEN]) {
    uint8_t k[32];
    size_t klen = 0;
    if (floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, user, REALM, pass, k, &klen) != FLOE_OK ||
        klen != TSRV_KEY_LEN)
        abort();
    memcpy(key, k, TSRV_KEY_LEN);
}

static void rest_user(const char *secret, uint64_t expiry, char *user, size_t cap,
                      uint8_t key[TSRV_KEY_LEN]) {
    char pass[FLOE_TURN_REST_PASS_MAX];
    if (floe_turn_rest_credentials(secret, "r", expiry, user, cap, pass, sizeof pass) != FLOE_OK)
        abort();
    long_term_key(user, pass, key);
}

static void setup(world *w, uint8_t cfgb) {
    memset(w, 0, sizeof *w);
    w->now0 = w->now = FLOE_S(12345);
    w->unix0 = 1700000000u;
    floe_turn_server_config *c = &w->cfg;
    floe_turn_server_config_default(c);
    c->realm = REALM;
    for (size_t i = 0; i < sizeof c->nonce_key; i++)
        c->nonce_key[i] = (uint8_t)(0x5a ^ i);
    c->max_allocations = MAX_ALLOCATIONS;
    c->user_quota = USER_QUOTA;
    c->max_permissions = MAX_PERMISSIONS;
    c->max_channels = MAX_CHANNELS;
    c->unauth_per_s = 5;
    c->unauth_burst = 10;
    c->relay_v6 = cfgb & 0x01;
    c->relay_v4 = !(c->relay_v6 && (cfgb & 0x20));
    c->software = (cfgb & 0x02) ? "floe-fuzz" : NULL;
    if (cfgb & 0x04) {
        c->bytes_per_s_allocation = 2000;
        c->bytes_per_s_total = 5000;
    }
    if (cfgb & 0x80) c->nonce_lifetime_s = 30;
    w->self[0] = addr_of((cfgb & 0x10) ? "0.0.0.0:3478" : "192.0.2.10:3478");
    w->self[1] = addr_of((cfgb & 0x10) ? "[::]:3478" : "[2001:db8::10]:3478");
    c->self = w->self;
    c->n_self = 2;
    c->relay_open = fake_open;
    c->relay_close = fake_close;
    c->ctx = w;
    w->secrets[0] = "s3cret";
    make_config(w, (cfgb & 0x40) ? 0x04 : 0x00);

    long_term_key("u", "p", w->key_u);
    long_term_key("v", "q", w->key_v);
    long_term_key("u", "wrong", w->key_bad);
    w->rest_expiry = w->unix0 + 86400;
    w->rest_old_expiry = w->unix0 - 1;
    rest_user("s3cret", w->rest_expiry, w->rest_user, sizeof w->rest_user, w->key_r);
    rest_user("s3cret", w->rest_old_expiry, w->rest_old, sizeof w->rest_old, w->key_r_old);

    static const char *const clients[N_SRC] = {"198.51.100.1:40000", "198.51.100.1:40100",
                                               "[2001:db8::1]:5000", "203.0.113.7:6000",
                                               "198.51.100.2:50000"};
    for (unsigned i = 0; i < N_SRC; i++) {
        source *s = &w->src[i];
        s->t.client = addr_of(clients[i]);
        s->t.server = addr_of(i == 2 ? "[2001:db8::10]:3478" : "192.0.2.10:3478");
        s->base_port = s->t.client.port;
        if (i == TCP_SRC) {
            s->t.transport = (cfgb & 0x08) ? FLOE_TRANSPORT_TLS : FLOE_TRANSPORT_TCP;
            s->t.conn = 1;
        }
    }
    if (floe_turn_server_new(&w->srv, c) != FLOE_OK) abort();
    set_time(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size, 0};
    world *w = &W;
    setup(w, u8(&in));
    for (int ops = 0; ops < MAX_OPS && in.off < in.n; ops++) {
        uint8_t b = u8(&in);
        unsigned si = (b >> 4) % N_SRC;
        switch (b & 0x0f) {
        case 0:
        case 1:
        case 2:
        case 3: op_request(w, &in, si, b & 3); break;
        case 4: op_send(w, &in, si); break;
        case 5: op_channel_data(w, &in, si); break;
        case 6: op_raw(w, &in, si); break;
        case 7:
        case 8: op_peer(w, &in); break;
        case 9: op_time(w, &in); break;
        case 10: op_conn(w, &in, si); break;
        case 11: op_reload(w, &in); break;
        case 12:
            if (u8(&in) % 8 == 0) floe_turn_server_drain(w->srv);
            break;
        case 13: op_binding(w, &in, si); break;
        case 14:
            w->now += FLOE_MS(u8(&in));
            tick(w);
            break;
        default: {
            int64_t step = (int8_t)u8(&in);
            w->skew += step * 60;
            tick(w);
            break;
        }
        }
    }
    if (size & 1) {
        /* Past the longest lifetime, everything has expired and every relay is closed. */
        w->now += FLOE_S(FLOE_TSRV_MAX_LIFETIME_S + 1);
        tick(w);
        floe_turn_server_gauges g;
        floe_turn_server_gauges_get(w->srv, &g);
        CHECK(g.allocations == 0 && w->n_open == 0);
    }
    /* Freeing the server closes every relay it holds. */
    w->in_peer = w->in_reload = false;
    floe_turn_server_free(w->srv);
    CHECK(w->opened == w->closed && w->n_open == 0);
    return 0;
}
