/* Unit tests for include/floe/turn_server.h: the sans-IO TURN server core, driven with
 * hand-built STUN messages (long-term MD5 credentials, TURN REST usernames) and fake
 * relay_open/relay_close callbacks that hand out relay addresses and record the calls.
 * Virtual time only (floe_turn_server_set_time); nothing is sent anywhere.
 *
 * Covered: the 401/438 rounds and every way credentials fail, TURN REST with rotated
 * secrets, Allocate (retransmission, mismatch, transports, families, dual allocation,
 * quota, capacity, draining), Refresh (lifetimes, deallocation, another user's
 * credentials), CreatePermission, ChannelBind, the data path both ways (Send/Data,
 * ChannelData with and without padding), expiry of permissions, channels and
 * allocations, connection close, stale relay handles, caps, the unauthenticated rate
 * limit, reload, the accounting identity, the peer policy against a table of forbidden
 * addresses in every encoding, and the amplification factor of every answer an
 * unauthenticated client can obtain. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"
#include "floe/turn.h"
#include "floe/turn_server.h"

#define REALM "floe"
#define ALICE "alice", "alice-pw"
#define BOB "bob", "bob-pw"
#define CAROL "carol", "carol-pw"
#define T0_UNIX UINT64_C(1700000000)

static const floe_turn_user users[] = {
    {"alice", "alice-pw"},
    {"bob", "bob-pw"},
    {"carol", "carol-pw"},
};

/* ---- the fake runtime ------------------------------------------------------------------ */

typedef struct relay_call {
    uint64_t handle; /* 0 while a held port is not claimed */
    int family;
    bool even_port, dont_fragment;
    bool held; /* the upper port of a pair (relay_open_pair) */
    floe_addr addr;
    uint64_t token;
} relay_call;

typedef struct nonce_entry {
    bool used;
    floe_addr client;
    floe_transport tr;
    char text[64];
    uint64_t at_unix;
} nonce_entry;

typedef struct fx {
    floe_turn_server *srv;
    floe_turn_server_config cfg;
    relay_call opens[128];
    size_t n_opens;
    uint64_t closes[128];
    size_t n_closes;
    int fail_family; /* relay_open fails for this family */
    bool fail_pair;  /* relay_open_pair fails */
    bool fail_claim; /* relay_claim fails */
    size_t n_claims;
    int admit_answer; /* what the admit hook answers (when installed) */
    bool locked;      /* inside fake_lock(true) */
    size_t n_locks;
    size_t admitted, released; /* admit and release hook calls */
    floe_time_ns now;
    uint64_t unix_s;
    uint8_t out[1500];
    floe_turn_server_out o;
    uint8_t resp_buf[1500]; /* a copy of the last answer to a client, decoded into resp */
    size_t resp_len;
    floe_stun_msg resp;
    bool have_resp;
    uint8_t in_buf[1500]; /* the last Send/ChannelData input: data sent on points into it */
    size_t in_len;
    uint32_t tid_seq;
    nonce_entry nonces[32];
} fx;

static floe_addr addr(const char *s) {
    floe_addr a;
    if (floe_addr_parse(s, &a) != FLOE_OK) fail_msg("bad address %s", s);
    return a;
}

static int fake_open(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                     floe_addr *relayed, uint64_t *token) {
    fx *f = ctx;
    if (family == f->fail_family) return FLOE_ERR_IO;
    assert_true(f->n_opens < sizeof f->opens / sizeof f->opens[0]);
    relay_call *c = &f->opens[f->n_opens++];
    size_t n = f->n_opens;
    c->handle = handle;
    c->family = family;
    c->even_port = even_port;
    c->dont_fragment = dont_fragment;
    if (family == FLOE_AF_INET4) {
        floe_addr_set_v4(&c->addr, 0xC0000200u | (uint32_t)(n & 0xff), (uint16_t)(49152 + n));
    } else {
        assert_int_equal(family, FLOE_AF_INET6);
        uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8};
        ip[14] = (uint8_t)(n >> 8);
        ip[15] = (uint8_t)n;
        floe_addr_set_v6(&c->addr, ip, (uint16_t)(49152 + n));
    }
    c->token = 1000 + n;
    *relayed = c->addr;
    *token = c->token;
    return FLOE_OK;
}

/* An even port N and the held N + 1, as two records (both must be closed once). */
static int fake_open_pair(void *ctx, uint64_t handle, int family, bool dont_fragment,
                          floe_addr *relayed, uint64_t *token, floe_addr *held_addr,
                          uint64_t *held) {
    fx *f = ctx;
    if (f->fail_pair) return FLOE_ERR_IO;
    int rc = fake_open(ctx, handle, family, true, dont_fragment, relayed, token);
    if (rc != FLOE_OK) return rc;
    relay_call *c = &f->opens[f->n_opens - 1];
    c->addr.port = (uint16_t)(50000 + 2 * f->n_opens);
    assert_true(f->n_opens < sizeof f->opens / sizeof f->opens[0]);
    relay_call *h = &f->opens[f->n_opens++];
    memset(h, 0, sizeof *h);
    h->family = family;
    h->held = true;
    h->addr = c->addr;
    h->addr.port++;
    h->token = 5000 + f->n_opens;
    *relayed = c->addr;
    *held_addr = h->addr;
    *held = h->token;
    return FLOE_OK;
}

static relay_call *call_of(fx *f, uint64_t token) {
    for (size_t i = 0; i < f->n_opens; i++)
        if (f->opens[i].token == token) return &f->opens[i];
    return NULL;
}

static int fake_claim(void *ctx, uint64_t held, uint64_t handle, bool dont_fragment) {
    fx *f = ctx;
    relay_call *h = call_of(f, held);
    assert_non_null(h);
    assert_true(h->held);
    assert_int_equal(h->handle, 0); /* claimed once */
    f->n_claims++;
    if (f->fail_claim) return FLOE_ERR_IO;
    h->handle = handle;
    h->dont_fragment = dont_fragment;
    return FLOE_OK;
}

/* The lock of a shared reservation table: never nested, always released. */
static void fake_lock(void *ctx, bool on) {
    fx *f = ctx;
    assert_int_equal(f->locked, !on);
    f->locked = on;
    f->n_locks += on;
}

static int fake_admit(void *ctx, uint64_t user_hash) {
    fx *f = ctx;
    (void)user_hash;
    if (f->admit_answer == 0) f->admitted++;
    return f->admit_answer;
}

static void fake_release(void *ctx, uint64_t user_hash) {
    fx *f = ctx;
    (void)user_hash;
    f->released++;
    assert_true(f->released <= f->admitted);
}

static void fake_close(void *ctx, uint64_t token) {
    fx *f = ctx;
    assert_false(f->locked); /* no callback under the lock */
    assert_true(f->n_closes < sizeof f->closes / sizeof f->closes[0]);
    f->closes[f->n_closes++] = token;
}

static size_t closes_of(const fx *f, uint64_t token) {
    size_t n = 0;
    for (size_t i = 0; i < f->n_closes; i++)
        n += f->closes[i] == token;
    return n;
}

static fx *fx_new(void) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    floe_turn_server_config_default(&f->cfg);
    f->cfg.realm = REALM;
    f->cfg.users = users;
    f->cfg.n_users = sizeof users / sizeof users[0];
    for (int i = 0; i < 32; i++)
        f->cfg.nonce_key[i] = (uint8_t)(i * 7 + 3);
    f->cfg.relay_open = fake_open;
    f->cfg.relay_close = fake_close;
    f->cfg.relay_open_pair = fake_open_pair;
    f->cfg.relay_claim = fake_claim;
    f->cfg.ctx = f;
    f->fail_family = -1;
    f->now = FLOE_S(5000);
    f->unix_s = T0_UNIX;
    return f;
}

static void fx_start(fx *f) {
    assert_int_equal(floe_turn_server_new(&f->srv, &f->cfg), FLOE_OK);
    floe_turn_server_set_time(f->srv, f->now, f->unix_s);
}

static void fx_free(fx *f) {
    floe_turn_server_free(f->srv);
    /* Every relay that was opened has been closed exactly once. */
    for (size_t i = 0; i < f->n_opens; i++)
        assert_int_equal(closes_of(f, f->opens[i].token), 1);
    assert_int_equal(f->n_closes, f->n_opens);
    free(f);
}

static void fx_advance_ms(fx *f, uint64_t ms) {
    f->now += FLOE_MS(ms);
    f->unix_s = T0_UNIX + (f->now - FLOE_S(5000)) / FLOE_S(1);
    floe_turn_server_set_time(f->srv, f->now, f->unix_s);
}

static void fx_advance(fx *f, uint64_t s) {
    fx_advance_ms(f, s * 1000);
}

static const uint64_t *ctr(const fx *f) {
    return floe_turn_server_counters(f->srv);
}

static floe_turn_server_gauges gauges(const fx *f) {
    floe_turn_server_gauges g;
    floe_turn_server_gauges_get(f->srv, &g);
    return g;
}

/* rx_client + rx_peer == the sum of the outcome counters, after every input. */
static void check_identity(const fx *f) {
    const uint64_t *c = ctr(f);
    uint64_t sum = 0;
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++)
        if (floe_turn_server_counter_is_outcome(i)) sum += c[i];
    assert_int_equal(c[FLOE_TSRV_RX_CLIENT] + c[FLOE_TSRV_RX_PEER], sum);
}

static floe_turn_tuple tuple(const char *client, floe_transport tr, uint64_t conn) {
    floe_turn_tuple t;
    memset(&t, 0, sizeof t);
    t.client = addr(client);
    t.server = addr(t.client.family == FLOE_AF_INET4 ? "198.51.100.1:3478" : "[2001:db8::1]:3478");
    t.transport = tr;
    t.conn = conn;
    return t;
}

static floe_turn_tuple udp(const char *client) {
    return tuple(client, FLOE_TRANSPORT_UDP, 0);
}

static bool tuple_equal(const floe_turn_tuple *a, const floe_turn_tuple *b) {
    return floe_addr_equal(&a->client, &b->client) && floe_addr_equal(&a->server, &b->server) &&
           a->transport == b->transport && a->conn == b->conn;
}

/* Feeds one client message; decodes the answer (if any) into f->resp. Returns the
 * outcome counter. */
static int fx_client(fx *f, const floe_turn_tuple *t, const uint8_t *p, size_t n) {
    floe_turn_server_on_client(f->srv, t, p, n, f->out, sizeof f->out, &f->o);
    check_identity(f);
    f->have_resp = false;
    if (f->o.len && !f->o.to_peer) {
        assert_ptr_equal(f->o.data, f->out);
        assert_true(f->o.len <= sizeof f->resp_buf);
        assert_true(floe_addr_equal(&f->o.to, &t->client));
        assert_true(tuple_equal(&f->o.tuple, t));
        memcpy(f->resp_buf, f->o.data, f->o.len);
        f->resp_len = f->o.len;
        assert_int_equal(
            floe_stun_msg_decode(f->resp_buf, f->resp_len, FLOE_STUN_DECODE_CLASSIC, &f->resp),
            FLOE_OK);
        assert_int_equal(f->resp.raw_len, f->resp_len);
        f->have_resp = true;
    }
    return f->o.counter;
}

static int fx_peer(fx *f, uint64_t handle, const char *peer, const void *data, size_t n) {
    floe_addr p = addr(peer);
    floe_turn_server_on_peer(f->srv, handle, &p, data, n, f->out, sizeof f->out, &f->o);
    check_identity(f);
    if (f->o.len) assert_ptr_equal(f->o.data, f->out);
    return f->o.counter;
}

/* The error code of the last answer, 0 for a success, -1 for no answer. */
static int resp_code(const fx *f) {
    if (!f->have_resp) return -1;
    if (f->resp.cls == FLOE_STUN_SUCCESS) return 0;
    assert_int_equal(f->resp.cls, FLOE_STUN_ERROR);
    int code = 0;
    const char *reason;
    size_t rlen;
    assert_int_equal(floe_stun_msg_get_error(&f->resp, &code, &reason, &rlen), FLOE_OK);
    return code;
}

static size_t reason_len(const fx *f) {
    int code = 0;
    const char *reason;
    size_t rlen = 99;
    assert_int_equal(floe_stun_msg_get_error(&f->resp, &code, &reason, &rlen), FLOE_OK);
    return rlen;
}

static void user_key(const char *user, const char *pass, uint8_t key[32]) {
    size_t klen = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, user, REALM, pass, key, &klen),
                     FLOE_OK);
    assert_int_equal(klen, 16);
}

static bool resp_signed_by(const fx *f, const char *user, const char *pass) {
    uint8_t key[32];
    user_key(user, pass, key);
    return floe_stun_msg_check_integrity(&f->resp, key, 16) == FLOE_OK;
}

/* ---- requests ---------------------------------------------------------------------------- */

typedef struct rq {
    uint8_t buf[1500];
    size_t len;
    uint8_t tid[12];
    floe_stun_builder b;
} rq;

static void rq_begin(fx *f, rq *r, uint16_t method, floe_stun_class cls) {
    f->tid_seq++;
    for (int i = 0; i < 8; i++)
        r->tid[i] = (uint8_t)(0x70 + i);
    for (int i = 0; i < 4; i++)
        r->tid[8 + i] = (uint8_t)(f->tid_seq >> (8 * i));
    floe_stun_builder_init(&r->b, r->buf, sizeof r->buf, method, cls, r->tid);
}

static void rq_end(rq *r, bool fingerprint) {
    if (fingerprint) floe_stun_add_fingerprint(&r->b);
    assert_int_equal(floe_stun_builder_finish(&r->b, &r->len), FLOE_OK);
}

/* Sends a request, checks the answer carries its transaction ID; returns the counter. */
static int rq_send(fx *f, const floe_turn_tuple *t, const rq *r) {
    int c = fx_client(f, t, r->buf, r->len);
    if (f->have_resp) assert_memory_equal(f->resp.tid, r->tid, 12);
    return c;
}

/* A nonce for t's client: from the cache while it is fresh, else from a 401. */
static const char *fx_nonce(fx *f, const floe_turn_tuple *t) {
    nonce_entry *free_e = NULL;
    for (size_t i = 0; i < sizeof f->nonces / sizeof f->nonces[0]; i++) {
        nonce_entry *e = &f->nonces[i];
        if (!e->used) {
            if (!free_e) free_e = e;
            continue;
        }
        if (floe_addr_equal(&e->client, &t->client) && e->tr == t->transport) {
            if (f->unix_s + 10 < e->at_unix + f->cfg.nonce_lifetime_s) return e->text;
            free_e = e;
            break;
        }
    }
    assert_non_null(free_e);
    rq r;
    rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_REQUEST);
    rq_end(&r, false);
    assert_int_equal(rq_send(f, t, &r), FLOE_TSRV_CHALLENGED);
    const char *s;
    size_t n;
    assert_int_equal(floe_stun_msg_get_string(&f->resp, FLOE_STUN_ATTR_NONCE, &s, &n), FLOE_OK);
    assert_true(n < sizeof free_e->text);
    free_e->used = true;
    free_e->client = t->client;
    free_e->tr = t->transport;
    memcpy(free_e->text, s, n);
    free_e->text[n] = '\0';
    free_e->at_unix = f->unix_s;
    return free_e->text;
}

/* USERNAME, REALM, NONCE and MESSAGE-INTEGRITY with an explicit realm and nonce. */
static void rq_auth_with(rq *r, const char *user, const char *pass, const char *realm,
                         const char *nonce) {
    if (user) floe_stun_add_string(&r->b, FLOE_STUN_ATTR_USERNAME, user);
    if (realm) floe_stun_add_string(&r->b, FLOE_STUN_ATTR_REALM, realm);
    if (nonce) floe_stun_add_string(&r->b, FLOE_STUN_ATTR_NONCE, nonce);
    uint8_t key[32];
    size_t klen = 0;
    assert_int_equal(
        floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, user ? user : "x", REALM, pass, key, &klen),
        FLOE_OK);
    floe_stun_add_integrity(&r->b, key, klen);
}

typedef struct aopt {
    bool no_transport;
    uint32_t transport; /* 0: UDP */
    uint32_t lifetime;  /* 0: none */
    uint32_t raf, aaf;  /* 0: none */
    bool fingerprint, dont_fragment, even_port;
    bool reserve;   /* EVEN-PORT with the R bit */
    bool has_token; /* RESERVATION-TOKEN ... */
    uint64_t token; /* ... with this value */
} aopt;

static void allocate_msg(fx *f, rq *r, const floe_turn_tuple *t, const char *user, const char *pass,
                         const aopt *o) {
    static const aopt none;
    if (!o) o = &none;
    /* The nonce first: fetching it sends a request of its own. */
    const char *nonce = user ? fx_nonce(f, t) : NULL;
    rq_begin(f, r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    if (!o->no_transport)
        floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT,
                          o->transport ? o->transport : 17u << 24);
    if (o->lifetime) floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_LIFETIME, o->lifetime);
    if (o->raf) floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, o->raf);
    if (o->aaf) floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, o->aaf);
    const uint8_t z = 0;
    if (o->dont_fragment) floe_stun_add(&r->b, FLOE_STUN_ATTR_DONT_FRAGMENT, &z, 0);
    if (o->even_port || o->reserve) {
        const uint8_t ep = o->reserve ? 0x80 : 0;
        floe_stun_add(&r->b, FLOE_STUN_ATTR_EVEN_PORT, &ep, 1);
    }
    if (o->has_token) floe_stun_add_u64(&r->b, FLOE_STUN_ATTR_RESERVATION_TOKEN, o->token);
    if (user) rq_auth_with(r, user, pass, REALM, nonce);
    rq_end(r, o->fingerprint);
}

/* Allocate; returns the error code (0 = success). */
static int do_allocate(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                       const aopt *o) {
    rq r;
    allocate_msg(f, &r, t, user, pass, o);
    rq_send(f, t, &r);
    return resp_code(f);
}

/* The relayed addresses of the last Allocate success. */
static size_t relayed_of(const fx *f, floe_addr out[2]) {
    size_t n = 0;
    for (size_t i = 0; i < f->resp.n_attrs; i++) {
        if (f->resp.attrs[i].type != FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS) continue;
        assert_true(n < 2);
        assert_int_equal(floe_stun_attr_addr(&f->resp, &f->resp.attrs[i], &out[n]), FLOE_OK);
        n++;
    }
    return n;
}

static uint32_t resp_lifetime(const fx *f) {
    uint32_t v = 0;
    assert_int_equal(floe_stun_msg_get_u32(&f->resp, FLOE_STUN_ATTR_LIFETIME, &v), FLOE_OK);
    return v;
}

/* Allocate that must succeed; returns the relay_open record of its first relay. */
static const relay_call *must_allocate(fx *f, const floe_turn_tuple *t, const char *user,
                                       const char *pass, const aopt *o) {
    size_t before = f->n_opens;
    assert_int_equal(do_allocate(f, t, user, pass, o), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_ALLOCATED);
    assert_true(f->n_opens > before);
    return &f->opens[before];
}

static int do_refresh(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                      int64_t lifetime) {
    const char *nonce = fx_nonce(f, t);
    rq r;
    rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_REQUEST);
    if (lifetime >= 0) floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_LIFETIME, (uint32_t)lifetime);
    rq_auth_with(&r, user, pass, REALM, nonce);
    rq_end(&r, false);
    rq_send(f, t, &r);
    return resp_code(f);
}

static int do_permit_n(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                       const char *const *peers, size_t n) {
    const char *nonce = fx_nonce(f, t);
    rq r;
    rq_begin(f, &r, FLOE_STUN_CREATE_PERMISSION, FLOE_STUN_REQUEST);
    for (size_t i = 0; i < n; i++) {
        floe_addr p = addr(peers[i]);
        floe_stun_add_xor_addr(&r.b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
    }
    rq_auth_with(&r, user, pass, REALM, nonce);
    rq_end(&r, false);
    rq_send(f, t, &r);
    return resp_code(f);
}

static int do_permit(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                     const char *peer) {
    return do_permit_n(f, t, user, pass, &peer, 1);
}

static int do_bind(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                   uint32_t channel, const char *peer) {
    const char *nonce = fx_nonce(f, t);
    rq r;
    rq_begin(f, &r, FLOE_STUN_CHANNEL_BIND, FLOE_STUN_REQUEST);
    if (channel != UINT32_MAX)
        floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_CHANNEL_NUMBER, channel << 16);
    if (peer) {
        floe_addr p = addr(peer);
        floe_stun_add_xor_addr(&r.b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
    }
    rq_auth_with(&r, user, pass, REALM, nonce);
    rq_end(&r, false);
    rq_send(f, t, &r);
    return resp_code(f);
}

/* A Send indication; the input stays in f->in_buf so that zero-copy can be checked. */
static int do_send(fx *f, const floe_turn_tuple *t, const char *peer, const void *data, size_t n) {
    rq r;
    rq_begin(f, &r, FLOE_STUN_SEND, FLOE_STUN_INDICATION);
    if (peer) {
        floe_addr p = addr(peer);
        floe_stun_add_xor_addr(&r.b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
    }
    if (data) floe_stun_add(&r.b, FLOE_STUN_ATTR_DATA, data, n);
    rq_end(&r, false);
    memcpy(f->in_buf, r.buf, r.len);
    f->in_len = r.len;
    int c = fx_client(f, t, f->in_buf, f->in_len);
    assert_false(f->have_resp); /* indications are never answered */
    return c;
}

static int do_cdata(fx *f, const floe_turn_tuple *t, uint16_t channel, const void *data, size_t n,
                    bool pad) {
    assert_int_equal(floe_turn_channel_data_encode_upto(channel, FLOE_TURN_CHANNEL_MAX_RFC5766,
                                                        data, n, pad, f->in_buf, sizeof f->in_buf,
                                                        &f->in_len),
                     FLOE_OK);
    int c = fx_client(f, t, f->in_buf, f->in_len);
    assert_false(f->have_resp);
    return c;
}

/* The last output went to `peer` from `token` and carries data, pointing into the input. */
static void assert_to_peer(const fx *f, const char *peer, uint64_t token, const void *data,
                           size_t n) {
    floe_addr p = addr(peer);
    assert_int_equal(f->o.counter, FLOE_TSRV_TO_PEER);
    assert_true(f->o.to_peer);
    assert_true(floe_addr_equal(&f->o.to, &p));
    assert_int_equal(f->o.relay, token);
    assert_int_equal(f->o.len, n);
    assert_memory_equal(f->o.data, data, n);
    /* zero-copy: a pointer into the input */
    assert_true(f->o.data >= f->in_buf && f->o.data + f->o.len <= f->in_buf + f->in_len);
}

static void assert_nothing_out(const fx *f) {
    assert_int_equal(f->o.len, 0);
    assert_false(f->o.to_peer);
}

/* ---- the 401 round and Allocate ---------------------------------------------------------- */

static void test_challenge_then_allocate(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");

    /* Without credentials: 401 with REALM and NONCE, nothing else. */
    rq r;
    allocate_msg(f, &r, &t, NULL, NULL, NULL);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_CHALLENGED);
    assert_int_equal(resp_code(f), 401);
    assert_int_equal(reason_len(f), 0);
    const char *s;
    size_t n;
    assert_int_equal(floe_stun_msg_get_string(&f->resp, FLOE_STUN_ATTR_REALM, &s, &n), FLOE_OK);
    assert_int_equal(n, strlen(REALM));
    assert_memory_equal(s, REALM, n);
    assert_int_equal(floe_stun_msg_get_string(&f->resp, FLOE_STUN_ATTR_NONCE, &s, &n), FLOE_OK);
    assert_int_equal(n, 16);
    assert_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_SOFTWARE));
    assert_int_equal(f->resp.mi, -1);
    assert_int_equal(f->resp.fp, -1);     /* the request had no FINGERPRINT */
    assert_int_equal(f->resp.n_attrs, 3); /* ERROR-CODE, REALM, NONCE */
    assert_int_equal(f->resp.method, FLOE_STUN_ALLOCATE);
    assert_int_equal(ctr(f)[FLOE_TSRV_CHALLENGED], 1);
    assert_int_equal(f->n_opens, 0);
    assert_int_equal(gauges(f).allocations, 0);

    /* With FINGERPRINT: mirrored. */
    allocate_msg(f, &r, &t, NULL, NULL, &(aopt){.fingerprint = true});
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_CHALLENGED);
    assert_true(f->resp.fp >= 0);

    /* With alice's credentials. */
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    assert_int_equal(f->resp.cls, FLOE_STUN_SUCCESS);
    assert_int_equal(f->resp.method, FLOE_STUN_ALLOCATE);
    floe_addr rel[2], mapped;
    assert_int_equal(relayed_of(f, rel), 1);
    assert_true(floe_addr_equal(&rel[0], &rc->addr));
    assert_int_equal(rc->family, FLOE_AF_INET4);
    assert_false(rc->even_port);
    assert_false(rc->dont_fragment);
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_DEFAULT_LIFETIME_S);
    assert_int_equal(floe_stun_msg_get_addr(&f->resp, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped),
                     FLOE_OK);
    assert_true(floe_addr_equal(&mapped, &t.client));
    assert_true(f->resp.mi >= 0);
    assert_true(resp_signed_by(f, ALICE));
    assert_false(resp_signed_by(f, BOB));
    assert_int_equal(f->resp.fp, -1);
    assert_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_SOFTWARE));
    assert_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE));
    assert_int_equal(ctr(f)[FLOE_TSRV_ALLOCATED], 1);
    floe_turn_server_gauges g = gauges(f);
    assert_int_equal(g.allocations, 1);
    assert_int_equal(g.users_with_allocations, 1);
    assert_true(g.table_bytes > 0);
    assert_true(floe_turn_server_alloc_bytes() > 0);

    /* Another client, with FINGERPRINT, DONT-FRAGMENT and EVEN-PORT (no R bit). */
    floe_turn_tuple t2 = udp("[2001:db8:5::7]:40001");
    rc = must_allocate(f, &t2, BOB,
                       &(aopt){.fingerprint = true, .dont_fragment = true, .even_port = true});
    assert_true(f->resp.fp >= 0);
    assert_true(resp_signed_by(f, BOB));
    assert_true(rc->dont_fragment);
    assert_true(rc->even_port);
    assert_int_equal(rc->family, FLOE_AF_INET4); /* the default family whatever the client's */
    assert_int_equal(floe_stun_msg_get_addr(&f->resp, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped),
                     FLOE_OK);
    assert_true(floe_addr_equal(&mapped, &t2.client));
    g = gauges(f);
    assert_int_equal(g.allocations, 2);
    assert_int_equal(g.users_with_allocations, 2);
    fx_free(f);
}

static void test_software_only_when_configured(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.software = "floe-test";
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    rq r;
    allocate_msg(f, &r, &t, NULL, NULL, NULL);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_CHALLENGED);
    assert_non_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_SOFTWARE));
    assert_true(reason_len(f) > 0);
    fx_free(f);
}

/* ---- credentials ------------------------------------------------------------------------ */

static int refresh_with(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                        const char *realm, const char *nonce) {
    rq r;
    rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_REQUEST);
    rq_auth_with(&r, user, pass, realm, nonce);
    rq_end(&r, false);
    return rq_send(f, t, &r);
}

static void test_stale_nonce(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.nonce_lifetime_s = 60;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    char nonce[64];
    strcpy(nonce, fx_nonce(f, &t));

    /* Good until its expiry. */
    fx_advance(f, 59);
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, nonce), FLOE_TSRV_MISMATCH); /* 437 */
    must_allocate(f, &t, ALICE, NULL);

    /* Then 438 with a fresh nonce, REALM, and no MESSAGE-INTEGRITY. */
    fx_advance(f, 2);
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, nonce), FLOE_TSRV_STALE_NONCE);
    assert_int_equal(resp_code(f), 438);
    assert_int_equal(reason_len(f), 0);
    assert_int_equal(f->resp.mi, -1);
    assert_non_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_REALM));
    const char *s;
    size_t n;
    assert_int_equal(floe_stun_msg_get_string(&f->resp, FLOE_STUN_ATTR_NONCE, &s, &n), FLOE_OK);
    assert_int_equal(n, 16);
    char fresh[17];
    memcpy(fresh, s, 16);
    fresh[16] = '\0';
    assert_string_not_equal(fresh, nonce);
    assert_int_equal(ctr(f)[FLOE_TSRV_STALE_NONCE], 1);
    /* The fresh one works. */
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, fresh), FLOE_TSRV_REFRESHED);

    /* A nonce is bound to the client's IP address and transport; not to its port, so that
     * its other connections (RFC 6062 data connections) keep the nonce: from another
     * port the nonce is good (the request then meets no allocation there: 437). */
    floe_turn_tuple other_ip = udp("203.0.113.6:40000"), other_port = udp("203.0.113.5:40001"),
                    over_tcp = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 3);
    assert_int_equal(refresh_with(f, &other_ip, ALICE, REALM, fresh), FLOE_TSRV_STALE_NONCE);
    assert_int_equal(refresh_with(f, &other_port, ALICE, REALM, fresh), FLOE_TSRV_MISMATCH);
    assert_int_equal(refresh_with(f, &over_tcp, ALICE, REALM, fresh), FLOE_TSRV_STALE_NONCE);
    /* Forged ones: garbage, another length, one flipped character. */
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, "AAAAAAAAAAAAAAAA"), FLOE_TSRV_STALE_NONCE);
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, "short"), FLOE_TSRV_STALE_NONCE);
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, "!!!!!!!!!!!!!!!!"), FLOE_TSRV_STALE_NONCE);
    char flipped[17];
    memcpy(flipped, fresh, 17);
    flipped[15] = flipped[15] == 'A' ? 'B' : 'A';
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, flipped), FLOE_TSRV_STALE_NONCE);
    assert_int_equal(ctr(f)[FLOE_TSRV_STALE_NONCE], 7);
    assert_int_equal(ctr(f)[FLOE_TSRV_AUTH_FAILED], 0);
    fx_free(f);
}

static void test_bad_credentials(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    must_allocate(f, &t, ALICE, NULL);
    const char *nonce = fx_nonce(f, &t);

    /* Wrong password, unknown user, wrong realm: 401 with a fresh nonce, unsigned. */
    assert_int_equal(refresh_with(f, &t, "alice", "wrong", REALM, nonce), FLOE_TSRV_AUTH_FAILED);
    assert_int_equal(resp_code(f), 401);
    assert_int_equal(f->resp.mi, -1);
    assert_non_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_REALM));
    assert_non_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_NONCE));
    assert_int_equal(refresh_with(f, &t, "mallory", "alice-pw", REALM, nonce),
                     FLOE_TSRV_AUTH_FAILED);
    assert_int_equal(resp_code(f), 401);
    assert_int_equal(refresh_with(f, &t, ALICE, "elsewhere", nonce), FLOE_TSRV_AUTH_FAILED);
    assert_int_equal(resp_code(f), 401);
    /* A user name with a NUL in it is nobody. */
    {
        rq r;
        rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_REQUEST);
        floe_stun_add(&r.b, FLOE_STUN_ATTR_USERNAME, "alice\0x", 7);
        floe_stun_add_string(&r.b, FLOE_STUN_ATTR_REALM, REALM);
        floe_stun_add_string(&r.b, FLOE_STUN_ATTR_NONCE, nonce);
        uint8_t key[32];
        user_key(ALICE, key);
        floe_stun_add_integrity(&r.b, key, 16);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_AUTH_FAILED);
    }
    assert_int_equal(ctr(f)[FLOE_TSRV_AUTH_FAILED], 4);

    /* MESSAGE-INTEGRITY without USERNAME (or REALM, or NONCE): 400, unsigned. */
    assert_int_equal(refresh_with(f, &t, NULL, "alice-pw", REALM, nonce), FLOE_TSRV_BAD_REQUEST);
    assert_int_equal(resp_code(f), 400);
    assert_int_equal(f->resp.mi, -1);
    assert_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_NONCE));
    assert_int_equal(refresh_with(f, &t, ALICE, NULL, nonce), FLOE_TSRV_BAD_REQUEST);
    assert_int_equal(refresh_with(f, &t, ALICE, REALM, NULL), FLOE_TSRV_BAD_REQUEST);
    assert_int_equal(ctr(f)[FLOE_TSRV_BAD_REQUEST], 3);

    /* The allocation is untouched by all that, and alice still gets in. */
    assert_int_equal(f->n_closes, 0);
    assert_int_equal(do_refresh(f, &t, ALICE, -1), 0);
    assert_true(resp_signed_by(f, ALICE));
    fx_free(f);
}

static void test_rest_credentials(void **state) {
    (void)state;
    fx *f = fx_new();
    static const char *const secrets[] = {"old-secret", "new-secret"};
    f->cfg.secrets = secrets;
    f->cfg.n_secrets = 2;
    fx_start(f);
    char user[FLOE_TURN_REST_USER_MAX], pass[FLOE_TURN_REST_PASS_MAX];

    /* Rotation: a username signed by either secret is accepted. */
    assert_int_equal(floe_turn_rest_credentials("new-secret", "dave", T0_UNIX + 3600, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_non_null(strchr(user, ':')); /* "EXPIRY:USER" */
    floe_turn_tuple t1 = udp("203.0.113.5:40000");
    must_allocate(f, &t1, user, pass, NULL);
    assert_true(resp_signed_by(f, user, pass));

    assert_int_equal(floe_turn_rest_credentials("old-secret", NULL, T0_UNIX + 3600, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_null(strchr(user, ':')); /* "EXPIRY" */
    floe_turn_tuple t2 = udp("203.0.113.5:40001");
    must_allocate(f, &t2, user, pass, NULL);

    /* A secret the server does not know. */
    floe_turn_tuple t3 = udp("203.0.113.5:40002");
    assert_int_equal(floe_turn_rest_credentials("other-secret", "dave", T0_UNIX + 3600, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_int_equal(do_allocate(f, &t3, user, pass, NULL), 401);
    assert_int_equal(f->o.counter, FLOE_TSRV_AUTH_FAILED);

    /* Expired: refused, whatever the signature. */
    assert_int_equal(floe_turn_rest_credentials("new-secret", "dave", T0_UNIX - 1, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_int_equal(do_allocate(f, &t3, user, pass, NULL), 401);
    assert_int_equal(f->o.counter, FLOE_TSRV_AUTH_FAILED);
    assert_int_equal(floe_turn_rest_credentials("old-secret", NULL, T0_UNIX - 100, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_int_equal(do_allocate(f, &t3, user, pass, NULL), 401);

    /* Not a REST username (the expiry must come first), though signed by a secret. */
    char bad_pass[FLOE_TURN_REST_PASS_MAX];
    assert_int_equal(
        floe_turn_rest_password("new-secret", "dave:1999999999", 15, bad_pass, sizeof bad_pass),
        FLOE_OK);
    assert_int_equal(do_allocate(f, &t3, "dave:1999999999", bad_pass, NULL), 401);
    assert_int_equal(floe_turn_rest_password("new-secret", "17x", 3, bad_pass, sizeof bad_pass),
                     FLOE_OK);
    assert_int_equal(do_allocate(f, &t3, "17x", bad_pass, NULL), 401);
    assert_int_equal(ctr(f)[FLOE_TSRV_AUTH_FAILED], 5);

    /* A username that expires while its allocation lives: its requests are refused from
     * then on. */
    assert_int_equal(floe_turn_rest_credentials("new-secret", "erin", T0_UNIX + 100, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    must_allocate(f, &t3, user, pass, NULL);
    fx_advance(f, 100);
    assert_int_equal(do_refresh(f, &t3, user, pass, -1), 0);
    fx_advance(f, 1);
    assert_int_equal(do_refresh(f, &t3, user, pass, -1), 401);
    assert_int_equal(f->o.counter, FLOE_TSRV_AUTH_FAILED);

    /* Without secrets, REST usernames are unknown users. */
    fx *g = fx_new();
    fx_start(g);
    assert_int_equal(floe_turn_rest_credentials("new-secret", "dave", T0_UNIX + 3600, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_int_equal(do_allocate(g, &t1, user, pass, NULL), 401);
    fx_free(g);
    fx_free(f);
}

/* ---- Allocate ------------------------------------------------------------------------------ */

static void test_allocate_retransmission_and_mismatch(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    rq r;
    allocate_msg(f, &r, &t, ALICE, &(aopt){.lifetime = 1200});
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_ALLOCATED);
    uint8_t first[1500];
    size_t first_len = f->resp_len;
    memcpy(first, f->resp_buf, first_len);

    /* The same transaction again: the same success, byte for byte; no second relay. */
    fx_advance(f, 1);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_ALLOCATE_AGAIN);
    assert_int_equal(f->resp_len, first_len);
    assert_memory_equal(f->resp_buf, first, first_len);
    assert_int_equal(ctr(f)[FLOE_TSRV_ALLOCATE_AGAIN], 1);
    assert_int_equal(f->n_opens, 1);

    /* Another transaction on the same 5-tuple: 437, signed. */
    assert_int_equal(do_allocate(f, &t, ALICE, NULL), 437);
    assert_int_equal(f->o.counter, FLOE_TSRV_MISMATCH);
    assert_true(resp_signed_by(f, ALICE));
    /* Another user replaying alice's transaction ID: 437 too. */
    rq rb;
    const char *nonce = fx_nonce(f, &t);
    floe_stun_builder_init(&rb.b, rb.buf, sizeof rb.buf, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST,
                           r.tid);
    memcpy(rb.tid, r.tid, 12);
    floe_stun_add_u32(&rb.b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
    rq_auth_with(&rb, BOB, REALM, nonce);
    rq_end(&rb, false);
    assert_int_equal(rq_send(f, &t, &rb), FLOE_TSRV_MISMATCH);
    assert_int_equal(f->n_opens, 1);
    assert_int_equal(gauges(f).allocations, 1);
    fx_free(f);
}

static void test_allocate_errors(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");

    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.no_transport = true}), 400);
    assert_int_equal(f->o.counter, FLOE_TSRV_BAD_REQUEST);
    assert_true(resp_signed_by(f, ALICE)); /* authenticated answers are signed */
    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.transport = 6u << 24}), 442);
    assert_int_equal(f->o.counter, FLOE_TSRV_TRANSPORT_UNSUPPORTED);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.raf = 0x02000000}), 440);
    assert_int_equal(f->o.counter, FLOE_TSRV_FAMILY_UNSUPPORTED);
    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.raf = 0x03000000}), 440);
    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.raf = 0x01000000, .aaf = 0x02000000}), 400);
    assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.aaf = 0x01000000}), 400);

    /* A RESERVATION-TOKEN the server never gave: 508 (test_reservation_* for more). */
    {
        rq r;
        const char *nonce = fx_nonce(f, &t);
        rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
        floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
        floe_stun_add_u64(&r.b, FLOE_STUN_ATTR_RESERVATION_TOKEN, 42);
        rq_auth_with(&r, ALICE, REALM, nonce);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_RESERVATION_INVALID);
        assert_int_equal(resp_code(f), 508);
        /* An unknown comprehension-required attribute: 420 naming it, signed. */
        rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
        floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
        floe_stun_add_u32(&r.b, 0x7777, 1);
        rq_auth_with(&r, ALICE, REALM, nonce);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_UNKNOWN_ATTR);
        assert_int_equal(resp_code(f), 420);
        uint16_t types[4];
        size_t nt = 0;
        assert_int_equal(floe_stun_msg_get_unknown(&f->resp, types, 4, &nt), FLOE_OK);
        assert_int_equal(nt, 1);
        assert_int_equal(types[0], 0x7777);
        assert_true(resp_signed_by(f, ALICE));
        /* A method the server does not serve (Connect, RFC 6062): 400. */
        rq_begin(f, &r, FLOE_STUN_CONNECT, FLOE_STUN_REQUEST);
        rq_auth_with(&r, ALICE, REALM, nonce);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_MISMATCH); /* no allocation yet */
    }
    assert_int_equal(f->n_opens, 0);
    assert_int_equal(gauges(f).allocations, 0);
    assert_int_equal(gauges(f).users_with_allocations, 0);

    /* The tuple is still free after all the refusals. */
    must_allocate(f, &t, ALICE, NULL);
    fx_free(f);
}

static void test_dual_allocation(void **state) {
    (void)state;
    /* The runtime opens both families. */
    fx *f = fx_new();
    f->cfg.relay_v6 = true;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    assert_int_equal(f->n_opens, 2);
    assert_int_equal(rc[0].family, FLOE_AF_INET4);
    assert_int_equal(rc[1].family, FLOE_AF_INET6);
    assert_int_equal(rc[0].handle, rc[1].handle);
    floe_addr rel[2];
    assert_int_equal(relayed_of(f, rel), 2);
    assert_true(floe_addr_equal(&rel[0], &rc[0].addr));
    assert_true(floe_addr_equal(&rel[1], &rc[1].addr));
    assert_null(floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE));
    /* IPv6 only. */
    floe_turn_tuple t2 = udp("203.0.113.5:40001");
    rc = must_allocate(f, &t2, ALICE, &(aopt){.raf = 0x02000000});
    assert_int_equal(f->n_opens, 3);
    assert_int_equal(rc->family, FLOE_AF_INET6);
    assert_int_equal(relayed_of(f, rel), 1);
    assert_int_equal(rel[0].family, FLOE_AF_INET6);
    /* Refresh naming a family the allocation lacks: 443. */
    {
        rq r;
        const char *nonce = fx_nonce(f, &t2);
        rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_REQUEST);
        floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x01000000);
        rq_auth_with(&r, ALICE, REALM, nonce);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &t2, &r), FLOE_TSRV_PEER_FAMILY_MISMATCH);
        assert_int_equal(resp_code(f), 443);
    }
    /* A relay socket that cannot be opened: 508, and the one already open is closed. */
    f->fail_family = FLOE_AF_INET6;
    floe_turn_tuple t3 = udp("203.0.113.5:40002");
    assert_int_equal(do_allocate(f, &t3, BOB, &(aopt){.aaf = 0x02000000}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(f->n_opens, 4);
    assert_int_equal(closes_of(f, f->opens[3].token), 1);
    assert_int_equal(gauges(f).allocations, 2);
    assert_int_equal(gauges(f).users_with_allocations, 1);
    fx_free(f);

    /* The runtime opens IPv4 only: the IPv4 relay and ADDRESS-ERROR-CODE 440 for IPv6. */
    f = fx_new();
    fx_start(f);
    rq r;
    allocate_msg(f, &r, &t, ALICE, &(aopt){.aaf = 0x02000000});
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_ALLOCATED);
    assert_int_equal(f->n_opens, 1);
    assert_int_equal(relayed_of(f, rel), 1);
    assert_int_equal(rel[0].family, FLOE_AF_INET4);
    const floe_stun_attr *aec = floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE);
    assert_non_null(aec);
    assert_true(aec->len >= 4);
    assert_int_equal(aec->val[0], 0x02); /* family IPv6 */
    assert_int_equal((aec->val[2] & 7) * 100 + aec->val[3], 440);
    assert_true(resp_signed_by(f, ALICE));
    uint8_t first[1500];
    size_t first_len = f->resp_len;
    memcpy(first, f->resp_buf, first_len);
    /* Its retransmission gets the same answer, ADDRESS-ERROR-CODE included. */
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_ALLOCATE_AGAIN);
    assert_int_equal(f->resp_len, first_len);
    assert_memory_equal(f->resp_buf, first, first_len);
    fx_free(f);
}

static void test_quota_capacity_draining(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.user_quota = 2;
    f->cfg.max_allocations = 3;
    fx_start(f);
    floe_turn_tuple t[6];
    for (int i = 0; i < 6; i++) {
        char s[32];
        snprintf(s, sizeof s, "203.0.113.5:%d", 40000 + i);
        t[i] = udp(s);
    }
    must_allocate(f, &t[0], ALICE, NULL);
    must_allocate(f, &t[1], ALICE, NULL);
    assert_int_equal(do_allocate(f, &t[2], ALICE, NULL), 486);
    assert_int_equal(f->o.counter, FLOE_TSRV_QUOTA);
    assert_true(resp_signed_by(f, ALICE));
    must_allocate(f, &t[2], BOB, NULL);
    assert_int_equal(gauges(f).users_with_allocations, 2);
    /* The table holds three. */
    assert_int_equal(do_allocate(f, &t[3], CAROL, NULL), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(f->n_opens, 3);
    /* A deallocation frees a slot and a unit of alice's quota. */
    assert_int_equal(do_refresh(f, &t[0], ALICE, 0), 0);
    must_allocate(f, &t[3], CAROL, NULL);
    assert_int_equal(gauges(f).users_with_allocations, 3);
    assert_int_equal(do_refresh(f, &t[3], CAROL, 0), 0);
    rq r;
    allocate_msg(f, &r, &t[0], ALICE, NULL);
    assert_int_equal(rq_send(f, &t[0], &r), FLOE_TSRV_ALLOCATED);

    /* Draining: no new allocation, but everything else runs on. */
    floe_turn_server_drain(f->srv);
    assert_int_equal(do_allocate(f, &t[4], CAROL, NULL), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_DRAINING);
    assert_int_equal(ctr(f)[FLOE_TSRV_DRAINING], 1);
    assert_int_equal(rq_send(f, &t[0], &r), FLOE_TSRV_ALLOCATE_AGAIN); /* a retransmission */
    assert_int_equal(do_refresh(f, &t[1], ALICE, 1200), 0);
    assert_int_equal(do_permit(f, &t[1], ALICE, "8.8.8.8"), 0);
    assert_int_equal(gauges(f).allocations, 3);
    fx_free(f);
}

/* ---- Refresh ------------------------------------------------------------------------------- */

static void tick_at(fx *f, uint64_t advance_s) {
    fx_advance(f, advance_s);
    floe_turn_server_tick(f->srv);
}

static void test_refresh_lifetimes(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t token = rc->token;

    assert_int_equal(do_refresh(f, &t, ALICE, 1200), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_REFRESHED);
    assert_int_equal(resp_lifetime(f), 1200);
    assert_true(resp_signed_by(f, ALICE));
    /* It lives 1200 s from the Refresh, not 600 from the Allocate. */
    tick_at(f, 1199);
    assert_int_equal(gauges(f).allocations, 1);
    tick_at(f, 1);
    assert_int_equal(gauges(f).allocations, 0);
    assert_int_equal(closes_of(f, token), 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_EXPIRED], 1);

    /* Clamped to max_lifetime_s, on Allocate and on Refresh; the default without one. */
    must_allocate(f, &t, ALICE, &(aopt){.lifetime = 99999});
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_MAX_LIFETIME_S);
    assert_int_equal(do_refresh(f, &t, ALICE, 99999), 0);
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_MAX_LIFETIME_S);
    assert_int_equal(do_refresh(f, &t, ALICE, -1), 0);
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_DEFAULT_LIFETIME_S);
    /* Below the default: the default (RFC 8656 §7.2 for Allocate, §7.3 for Refresh). */
    assert_int_equal(do_refresh(f, &t, ALICE, 30), 0);
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_DEFAULT_LIFETIME_S);
    floe_turn_tuple t2 = udp("203.0.113.5:40001");
    must_allocate(f, &t2, ALICE, &(aopt){.lifetime = 30});
    assert_int_equal(resp_lifetime(f), FLOE_TSRV_DEFAULT_LIFETIME_S);

    /* LIFETIME 0 deallocates: success with LIFETIME 0, the relay closed. */
    token = f->opens[f->n_opens - 2].token; /* t's */
    assert_int_equal(do_refresh(f, &t, ALICE, 0), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_DEALLOCATED);
    assert_int_equal(resp_lifetime(f), 0);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(closes_of(f, token), 1);
    assert_int_equal(gauges(f).allocations, 1);
    /* ... and then there is nothing to refresh. */
    assert_int_equal(do_refresh(f, &t, ALICE, 600), 437);
    assert_int_equal(f->o.counter, FLOE_TSRV_MISMATCH);
    assert_int_equal(do_refresh(f, &t, ALICE, 0), 437);

    /* A smaller configured maximum. */
    fx *g = fx_new();
    g->cfg.max_lifetime_s = 900;
    fx_start(g);
    must_allocate(g, &t, ALICE, &(aopt){.lifetime = 1000});
    assert_int_equal(resp_lifetime(g), 900);
    fx_free(g);
    fx_free(f);
}

static void test_cross_user_refresh_refused(void **state) {
    (void)state;
    fx *f = fx_new();
    static const char *const secrets[] = {"s3cret"};
    f->cfg.secrets = secrets;
    f->cfg.n_secrets = 1;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    uint64_t token = must_allocate(f, &t, ALICE, NULL)->token;
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0);
    tick_at(f, 100);

    /* Bob's valid credentials on alice's 5-tuple: 441 for everything, signed for bob. */
    assert_int_equal(do_refresh(f, &t, BOB, 0), 441);
    assert_int_equal(f->o.counter, FLOE_TSRV_WRONG_CREDENTIALS);
    assert_true(resp_signed_by(f, BOB));
    assert_int_equal(f->n_closes, 0);
    assert_int_equal(gauges(f).allocations, 1);
    assert_int_equal(do_refresh(f, &t, BOB, 3600), 441);
    assert_int_equal(do_refresh(f, &t, BOB, -1), 441);
    assert_int_equal(do_permit(f, &t, BOB, "8.8.4.4"), 441);
    assert_int_equal(do_bind(f, &t, BOB, 0x4000, "8.8.8.8:5000"), 441);
    char user[FLOE_TURN_REST_USER_MAX], pass[FLOE_TURN_REST_PASS_MAX];
    assert_int_equal(floe_turn_rest_credentials("s3cret", "alice", T0_UNIX + 3600, user,
                                                sizeof user, pass, sizeof pass),
                     FLOE_OK);
    assert_int_equal(do_refresh(f, &t, user, pass, 0), 441); /* "EXPIRY:alice" is not alice */
    assert_int_equal(ctr(f)[FLOE_TSRV_WRONG_CREDENTIALS], 6);
    assert_int_equal(do_allocate(f, &t, BOB, NULL), 437);
    assert_int_equal(f->n_closes, 0);
    assert_int_equal(gauges(f).permissions, 1);
    assert_int_equal(gauges(f).channels, 0);

    /* Alice's allocation is as it was: her requests work, and it ends when it would have
     * (600 s after the Allocate), not at bob's lifetimes. */
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0);
    tick_at(f, 499);
    assert_int_equal(gauges(f).allocations, 1);
    tick_at(f, 1);
    assert_int_equal(gauges(f).allocations, 0);
    assert_int_equal(closes_of(f, token), 1);
    fx_free(f);
}

static void test_requests_without_allocation(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    assert_int_equal(do_refresh(f, &t, ALICE, 600), 437);
    assert_int_equal(f->o.counter, FLOE_TSRV_MISMATCH);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(do_refresh(f, &t, ALICE, 0), 437);
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 437);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:5000"), 437);
    assert_int_equal(ctr(f)[FLOE_TSRV_MISMATCH], 4);
    /* An allocation on another tuple of the same client does not count. */
    floe_turn_tuple t2 = udp("203.0.113.5:40001");
    must_allocate(f, &t2, ALICE, NULL);
    assert_int_equal(do_refresh(f, &t, ALICE, 600), 437);
    floe_turn_tuple t3 = tuple("203.0.113.5:40001", FLOE_TRANSPORT_TCP, 1);
    assert_int_equal(do_refresh(f, &t3, ALICE, 600), 437);
    fx_free(f);
}

/* ---- permissions and the data path -------------------------------------------------------- */

static void test_permission_send_data(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t handle = rc->handle, token = rc->token;

    /* Nothing goes out before a permission. */
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "hello", 5), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_nothing_out(f);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:53", "world", 5), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_nothing_out(f);

    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8:9"), 0); /* the port does not matter */
    assert_int_equal(f->o.counter, FLOE_TSRV_PERMITTED);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(gauges(f).permissions, 1);

    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "hello", 5), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:53", token, "hello", 5);
    assert_int_equal(do_send(f, &t, "8.8.8.8:9999", "hi", 2), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:9999", token, "hi", 2);
    assert_int_equal(do_send(f, &t, "8.8.4.4:53", "hello", 5), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_nothing_out(f);
    /* Malformed Sends: no DATA, no peer, port 0. */
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", NULL, 0), FLOE_TSRV_DROP_MALFORMED);
    assert_int_equal(do_send(f, &t, NULL, "x", 1), FLOE_TSRV_DROP_MALFORMED);
    assert_int_equal(do_send(f, &t, "8.8.8.8:0", "x", 1), FLOE_TSRV_DROP_MALFORMED);
    /* From a tuple without an allocation. */
    floe_turn_tuple other = udp("203.0.113.5:40001");
    assert_int_equal(do_send(f, &other, "8.8.8.8:53", "hello", 5), FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_nothing_out(f);

    /* A peer's datagram comes back as a Data indication. */
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:53", "world", 5), FLOE_TSRV_TO_CLIENT);
    assert_false(f->o.to_peer);
    assert_true(floe_addr_equal(&f->o.to, &t.client));
    assert_true(tuple_equal(&f->o.tuple, &t));
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(f->o.data, f->o.len, 0, &m), FLOE_OK);
    assert_int_equal(m.cls, FLOE_STUN_INDICATION);
    assert_int_equal(m.method, FLOE_STUN_DATA);
    floe_addr p, want = addr("8.8.8.8:53");
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p), FLOE_OK);
    assert_true(floe_addr_equal(&p, &want));
    const floe_stun_attr *d = floe_stun_msg_find(&m, FLOE_STUN_ATTR_DATA);
    assert_non_null(d);
    assert_int_equal(d->len, 5);
    assert_memory_equal(d->val, "world", 5);
    assert_int_equal(m.mi, -1);
    uint8_t tid1[12];
    memcpy(tid1, m.tid, 12);
    /* Each indication gets its own transaction ID. */
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:54", "again", 5), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(floe_stun_msg_decode(f->o.data, f->o.len, 0, &m), FLOE_OK);
    assert_memory_not_equal(m.tid, tid1, 12);

    /* From peers without a permission, or to a handle that is no allocation. */
    assert_int_equal(fx_peer(f, handle, "8.8.4.4:53", "world", 5), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_nothing_out(f);
    assert_int_equal(fx_peer(f, handle + 1, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_int_equal(fx_peer(f, handle ^ 0x12345, "8.8.8.8:53", "x", 1),
                     FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_int_equal(fx_peer(f, (uint64_t)1 << 40, "8.8.8.8:53", "x", 1),
                     FLOE_TSRV_DROP_NO_ALLOCATION);

    /* Several peers in one CreatePermission. */
    static const char *const three[] = {"1.1.1.1", "1.0.0.1", "9.9.9.9"};
    assert_int_equal(do_permit_n(f, &t, ALICE, three, 3), 0);
    assert_int_equal(gauges(f).permissions, 4);
    assert_int_equal(do_send(f, &t, "1.1.1.1:53", "x", 1), FLOE_TSRV_TO_PEER);
    /* An IPv6 peer on an IPv4-only allocation: 443, in any position. */
    static const char *const mixed[] = {"8.8.4.4", "[2606:4700::1111]"};
    assert_int_equal(do_permit(f, &t, ALICE, "[2606:4700::1111]"), 443);
    assert_int_equal(f->o.counter, FLOE_TSRV_PEER_FAMILY_MISMATCH);
    assert_int_equal(do_permit_n(f, &t, ALICE, mixed, 2), 443);
    assert_int_equal(gauges(f).permissions, 4); /* 8.8.4.4 not installed */
    assert_int_equal(do_send(f, &t, "[2606:4700::1111]:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    /* CreatePermission without a peer: 400. */
    assert_int_equal(do_permit_n(f, &t, ALICE, three, 0), 400);

    assert_int_equal(ctr(f)[FLOE_TSRV_BYTES_TO_PEER], 5 + 2 + 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_BYTES_TO_CLIENT], 10);
    fx_free(f);
}

static void test_channels(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t handle = rc->handle, token = rc->token;

    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.8.8:5000"), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_CHANNEL_BOUND);
    assert_true(resp_signed_by(f, ALICE));
    floe_turn_server_gauges g = gauges(f);
    assert_int_equal(g.channels, 1);
    assert_int_equal(g.permissions, 1); /* ChannelBind installs the permission */

    /* ChannelData both ways; no padding on UDP. */
    assert_int_equal(do_cdata(f, &t, 0x4001, "abcde", 5, false), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:5000", token, "abcde", 5);
    assert_int_equal(do_cdata(f, &t, 0x4001, "abcde", 5, true), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:5000", token, "abcde", 5);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "xyz12", 5), FLOE_TSRV_TO_CLIENT);
    assert_true(floe_addr_equal(&f->o.to, &t.client));
    const uint8_t want[] = {0x40, 0x01, 0x00, 0x05, 'x', 'y', 'z', '1', '2'};
    assert_int_equal(f->o.len, sizeof want);
    assert_memory_equal(f->o.data, want, sizeof want);
    /* Same IP, another port: permitted, but no channel, so a Data indication. */
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5001", "xyz12", 5), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(f->o.data[0], 0x00);
    /* Send indications still work to a peer that has a channel. */
    assert_int_equal(do_send(f, &t, "8.8.8.8:5000", "s", 1), FLOE_TSRV_TO_PEER);

    /* Unbound channel, and malformed ChannelData. */
    assert_int_equal(do_cdata(f, &t, 0x4002, "abcde", 5, false), FLOE_TSRV_DROP_NO_CHANNEL);
    assert_nothing_out(f);
    {
        const uint8_t lies[] = {0x40, 0x01, 0x00, 0x09, 'a', 'b'};
        assert_int_equal(fx_client(f, &t, lies, sizeof lies), FLOE_TSRV_DROP_MALFORMED);
        /* 0x5000-0x7FFF are RFC 5766 channel numbers: valid, but not bound here. */
        const uint8_t high[] = {0x50, 0x00, 0x00, 0x01, 'a', 0, 0, 0};
        assert_int_equal(fx_client(f, &t, high, sizeof high), FLOE_TSRV_DROP_NO_CHANNEL);
        const uint8_t padding[] = {0x40, 0x01, 0x00, 0x01, 'a', 0, 0, 0, 0}; /* > 3 bytes */
        assert_int_equal(fx_client(f, &t, padding, sizeof padding), FLOE_TSRV_DROP_MALFORMED);
        const uint8_t tiny[] = {0x40, 0x01, 0x00};
        assert_int_equal(fx_client(f, &t, tiny, sizeof tiny), FLOE_TSRV_DROP_MALFORMED);
        floe_turn_tuple other = udp("203.0.113.5:40001");
        const uint8_t ok[] = {0x40, 0x01, 0x00, 0x01, 'a'};
        assert_int_equal(fx_client(f, &other, ok, sizeof ok), FLOE_TSRV_DROP_NO_ALLOCATION);
    }

    /* Bad ChannelBinds: 400, and nothing changes. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x3FFF, "8.8.8.8:5002"), 400);
    assert_int_equal(f->o.counter, FLOE_TSRV_BAD_REQUEST);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(do_bind(f, &t, ALICE, 0x8000, "8.8.8.8:5002"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, 0xFFFF, "8.8.8.8:5002"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4002, "8.8.8.8:0"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, UINT32_MAX, "8.8.8.8:5002"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4002, NULL), 400);
    /* Rebinding the number to another peer, or the peer to another number. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.4.4:5000"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.8.8:5001"), 400);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4002, "8.8.8.8:5000"), 400);
    assert_int_equal(ctr(f)[FLOE_TSRV_BAD_REQUEST], 9);
    g = gauges(f);
    assert_int_equal(g.channels, 1);
    assert_int_equal(g.permissions, 1); /* 8.8.4.4 got no permission from the failed bind */
    assert_int_equal(do_send(f, &t, "8.8.4.4:5000", "s", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    /* The same binding again refreshes it; the boundaries of the range bind. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.8.8:5000"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:6000"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4FFF, "8.8.8.8:6001"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x7FFF, "8.8.8.8:6002"), 0); /* RFC 5766's range */
    assert_int_equal(gauges(f).channels, 4);
    assert_int_equal(do_cdata(f, &t, 0x4FFF, "z", 1, false), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:6001", token, "z", 1);
    assert_int_equal(do_cdata(f, &t, 0x7FFF, "w", 1, false), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:6002", token, "w", 1);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:6002", "v", 1), FLOE_TSRV_TO_CLIENT);
    const uint8_t want7[] = {0x7F, 0xFF, 0x00, 0x01, 'v'};
    assert_int_equal(f->o.len, sizeof want7);
    assert_memory_equal(f->o.data, want7, sizeof want7);
    fx_free(f);
}

static void test_channels_over_tcp(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 7);
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t handle = rc->handle, token = rc->token;
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:5000"), 0);
    /* Padded to a multiple of 4 on a stream. */
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "abcde", 5), FLOE_TSRV_TO_CLIENT);
    const uint8_t want[] = {0x40, 0x00, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', 0, 0, 0};
    assert_int_equal(f->o.len, sizeof want);
    assert_memory_equal(f->o.data, want, sizeof want);
    assert_true(tuple_equal(&f->o.tuple, &t));
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "abcd", 4), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(f->o.len, 8);
    assert_int_equal(do_cdata(f, &t, 0x4000, "abcde", 5, true), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:5000", token, "abcde", 5);
    /* The same addresses on another connection are another 5-tuple. */
    floe_turn_tuple t2 = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 8);
    assert_int_equal(do_cdata(f, &t2, 0x4000, "abcde", 5, true), FLOE_TSRV_DROP_NO_ALLOCATION);
    fx_free(f);
}

/* ---- expiry, connections, handles ------------------------------------------------------------ */

static void test_permission_and_channel_expiry(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, &(aopt){.lifetime = 3600});
    uint64_t handle = rc->handle;
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.8.8:5000"), 0); /* at T */

    tick_at(f, 299); /* T+299 */
    floe_turn_server_gauges g = gauges(f);
    assert_int_equal(g.permissions, 1);
    assert_int_equal(g.channels, 1);
    assert_int_equal(do_cdata(f, &t, 0x4001, "a", 1, false), FLOE_TSRV_TO_PEER);

    tick_at(f, 2); /* T+301: the permission (300 s) is gone, the channel (600 s) is not */
    g = gauges(f);
    assert_int_equal(g.permissions, 0);
    assert_int_equal(g.channels, 1);
    assert_int_equal(do_cdata(f, &t, 0x4001, "a", 1, false), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "a", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_int_equal(do_send(f, &t, "8.8.8.8:5000", "a", 1), FLOE_TSRV_DROP_NO_PERMISSION);

    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0); /* until T+601 */
    tick_at(f, 298);                                         /* T+599 */
    assert_int_equal(do_cdata(f, &t, 0x4001, "a", 1, false), FLOE_TSRV_TO_PEER);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "b", 1), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(f->o.data[0], 0x40); /* ChannelData */

    tick_at(f, 2); /* T+601: the channel is gone too */
    g = gauges(f);
    assert_int_equal(g.channels, 0);
    assert_int_equal(g.permissions, 0);
    assert_int_equal(do_cdata(f, &t, 0x4001, "a", 1, false), FLOE_TSRV_DROP_NO_CHANNEL);
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "b", 1), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(f->o.data[0], 0x00); /* a Data indication now */
    assert_int_equal(do_cdata(f, &t, 0x4001, "a", 1, false), FLOE_TSRV_DROP_NO_CHANNEL);

    /* For five minutes after it expired, the number stays reserved for its peer. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.4.4:5000"), 400);
    tick_at(f, 300); /* T+901 */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.4.4:5000"), 0);
    assert_int_equal(do_cdata(f, &t, 0x4001, "c", 1, false), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.4.4:5000", rc->token, "c", 1);
    fx_free(f);
}

static void test_allocation_expiry(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t handle = rc->handle, token = rc->token;
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0);
    tick_at(f, 599);
    assert_int_equal(gauges(f).allocations, 1);
    assert_int_equal(f->n_closes, 0);
    tick_at(f, 1);
    assert_int_equal(gauges(f).allocations, 0);
    assert_int_equal(gauges(f).users_with_allocations, 0);
    assert_int_equal(closes_of(f, token), 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_EXPIRED], 1);
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_EXPIRED));
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_int_equal(do_refresh(f, &t, ALICE, 600), 437);
    tick_at(f, 1000); /* nothing more to expire */
    assert_int_equal(ctr(f)[FLOE_TSRV_EXPIRED], 1);
    assert_int_equal(f->n_closes, 1);
    /* The 5-tuple can allocate again. */
    must_allocate(f, &t, ALICE, NULL);
    fx_free(f);
}

static void test_conn_closed(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple tcp = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 9);
    floe_turn_tuple tcp2 = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 10);
    floe_turn_tuple u = udp("203.0.113.5:40000");
    uint64_t tok_tcp = must_allocate(f, &tcp, ALICE, NULL)->token;
    uint64_t tok_tcp2 = must_allocate(f, &tcp2, ALICE, NULL)->token;
    uint64_t tok_udp = must_allocate(f, &u, ALICE, NULL)->token;
    assert_int_equal(gauges(f).allocations, 3);

    floe_turn_server_conn_closed(f->srv, &tcp);
    assert_int_equal(closes_of(f, tok_tcp), 1);
    assert_int_equal(f->n_closes, 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_CLOSED_WITH_CONN], 1);
    assert_int_equal(gauges(f).allocations, 2);
    assert_int_equal(do_send(f, &tcp, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    /* Again, or an unknown connection: nothing. */
    floe_turn_server_conn_closed(f->srv, &tcp);
    floe_turn_tuple never = tuple("203.0.113.9:1", FLOE_TRANSPORT_TLS, 99);
    floe_turn_server_conn_closed(f->srv, &never);
    assert_int_equal(f->n_closes, 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_CLOSED_WITH_CONN], 1);
    check_identity(f);
    /* The others live on. */
    assert_int_equal(do_refresh(f, &tcp2, ALICE, -1), 0);
    assert_int_equal(do_refresh(f, &u, ALICE, -1), 0);
    floe_turn_server_conn_closed(f->srv, &tcp2);
    assert_int_equal(closes_of(f, tok_tcp2), 1);
    assert_int_equal(closes_of(f, tok_udp), 0);
    fx_free(f);
}

static void test_stale_handle_after_reuse(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.max_allocations = 1; /* so the slot is reused */
    fx_start(f);
    floe_turn_tuple t1 = udp("203.0.113.5:40000"), t2 = udp("203.0.113.6:40000");
    uint64_t h1 = must_allocate(f, &t1, ALICE, NULL)->handle;
    assert_int_equal(do_permit(f, &t1, ALICE, "8.8.8.8"), 0);
    assert_int_equal(fx_peer(f, h1, "8.8.8.8:53", "x", 1), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(do_refresh(f, &t1, ALICE, 0), 0);

    uint64_t h2 = must_allocate(f, &t2, BOB, NULL)->handle;
    assert_int_equal((uint32_t)h1, (uint32_t)h2); /* the same slot ... */
    assert_true(h1 != h2);                        /* ... under another handle */
    assert_int_equal(do_permit(f, &t2, BOB, "8.8.8.8"), 0);
    assert_int_equal(fx_peer(f, h1, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    assert_nothing_out(f);
    assert_int_equal(fx_peer(f, h2, "8.8.8.8:53", "x", 1), FLOE_TSRV_TO_CLIENT);
    assert_true(floe_addr_equal(&f->o.to, &t2.client));
    /* The old allocation's permissions did not survive into the new one. */
    floe_turn_tuple t3 = udp("203.0.113.7:40000");
    assert_int_equal(do_refresh(f, &t2, BOB, 0), 0);
    uint64_t h3 = must_allocate(f, &t3, CAROL, NULL)->handle;
    assert_int_equal(fx_peer(f, h3, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_int_equal(gauges(f).permissions, 0);
    fx_free(f);
}

/* ---- caps --------------------------------------------------------------------------------- */

static void test_permission_cap(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.max_permissions = 3;
    f->cfg.max_channels = 2;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    must_allocate(f, &t, ALICE, NULL);
    static const char *const ab[] = {"8.8.8.8", "8.8.4.4"};
    static const char *const cd[] = {"1.1.1.1", "1.0.0.1"};
    static const char *const ac[] = {"8.8.8.8", "1.1.1.1"};
    static const char *const e[] = {"9.9.9.9"};
    static const char *const e_lo[] = {"9.9.9.9", "127.0.0.1"};
    assert_int_equal(do_permit_n(f, &t, ALICE, ab, 2), 0);
    assert_int_equal(gauges(f).permissions, 2);
    /* Two fresh ones do not fit: 508, and neither is installed. */
    assert_int_equal(do_permit_n(f, &t, ALICE, cd, 2), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(gauges(f).permissions, 2);
    assert_int_equal(do_send(f, &t, "1.1.1.1:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_int_equal(do_send(f, &t, "1.0.0.1:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    /* One existing and one fresh fit. */
    assert_int_equal(do_permit_n(f, &t, ALICE, ac, 2), 0);
    assert_int_equal(gauges(f).permissions, 3);
    assert_int_equal(do_permit_n(f, &t, ALICE, e, 1), 508);
    assert_int_equal(do_permit_n(f, &t, ALICE, ab, 2), 0); /* refreshing is always fine */
    assert_int_equal(gauges(f).permissions, 3);
    /* A ChannelBind that needs a fourth permission: 508, no channel. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "9.9.9.9:5000"), 508);
    assert_int_equal(gauges(f).channels, 0);
    /* Forbidden beats everything, and nothing of the request is installed. */
    fx *g = fx_new();
    g->cfg.max_permissions = 3;
    fx_start(g);
    must_allocate(g, &t, ALICE, NULL);
    assert_int_equal(do_permit_n(g, &t, ALICE, e_lo, 2), 403);
    assert_int_equal(gauges(g).permissions, 0);
    assert_int_equal(do_send(g, &t, "9.9.9.9:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    fx_free(g);

    /* Channels: two, then 508. */
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:5000"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.4.4:5000"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4002, "1.1.1.1:5000"), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.4.4:5000"), 0); /* a refresh fits */
    assert_int_equal(gauges(f).channels, 2);
    fx_free(f);
}

static void test_config_validation(void **state) {
    (void)state;
    floe_turn_server *srv = NULL;
    floe_turn_server_config c;
    floe_turn_server_config_default(&c);
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG); /* no realm */
    assert_null(srv);
    c.realm = "";
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.realm = REALM;
    c.max_permissions = FLOE_TSRV_MAX_PERMISSIONS + 1;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.max_permissions = FLOE_TSRV_MAX_PERMISSIONS;
    c.max_channels = FLOE_TSRV_MAX_CHANNELS + 1;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.max_channels = FLOE_TSRV_MAX_CHANNELS;
    c.max_allocations = 0;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.max_allocations = 4;
    c.relay_v4 = false;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.relay_v4 = true;
    static const floe_turn_user dup[] = {{"x", "1"}, {"x", "2"}};
    c.users = dup;
    c.n_users = 2;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.users = NULL;
    c.n_users = 0;
    /* A pair without the claim, admit without release, too many reservations. */
    c.relay_open_pair = fake_open_pair;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.relay_open_pair = NULL;
    c.admit = fake_admit;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.admit = NULL;
    c.release = fake_release;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.release = NULL;
    c.max_reservations = FLOE_TSRV_MAX_RESERVATIONS + 1;
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_ERR_CONFIG);
    c.max_reservations = FLOE_TSRV_MAX_RESERVATIONS;
    assert_null(srv);
    assert_int_equal(floe_turn_server_new(&srv, &c), FLOE_OK);
    /* The realm cannot change on reload (the keys depend on it). */
    floe_turn_server_config c2 = c;
    c2.realm = "other";
    assert_int_equal(floe_turn_server_reload(srv, &c2), FLOE_ERR_CONFIG);
    floe_turn_server_free(srv);
    floe_turn_server_free(NULL);
}

/* ---- EVEN-PORT and RESERVATION-TOKEN (RFC 8656 §7.2, §14.6, §14.9) -------------------------- */

/* The RESERVATION-TOKEN of the last answer, 0 when it has none. */
static uint64_t resp_token(const fx *f) {
    uint64_t v = 0;
    if (floe_stun_msg_get_u64(&f->resp, FLOE_STUN_ATTR_RESERVATION_TOKEN, &v) != FLOE_OK) return 0;
    assert_int_not_equal(v, 0);
    return v;
}

/* An Allocate with EVEN-PORT R = 1 that must succeed: returns its token; *port_n and
 * *held get the relay_open_pair records of the even port and the held one. */
static uint64_t must_reserve(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                             const relay_call **port_n, const relay_call **held) {
    size_t before = f->n_opens;
    assert_int_equal(do_allocate(f, t, user, pass, &(aopt){.reserve = true}), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_ALLOCATED);
    assert_int_equal(f->n_opens, before + 2);
    if (port_n) *port_n = &f->opens[before];
    if (held) *held = &f->opens[before + 1];
    uint64_t token = resp_token(f);
    assert_int_not_equal(token, 0);
    return token;
}

static void test_reservation_token(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple ta = udp("203.0.113.5:40000"), tb = udp("198.51.100.77:41000");

    /* R = 1: an even port, the next one held, and an 8-byte token in the answer. */
    rq r;
    allocate_msg(f, &r, &ta, ALICE, &(aopt){.reserve = true});
    assert_int_equal(rq_send(f, &ta, &r), FLOE_TSRV_ALLOCATED);
    const floe_stun_attr *tok = floe_stun_msg_find(&f->resp, FLOE_STUN_ATTR_RESERVATION_TOKEN);
    assert_non_null(tok);
    assert_int_equal(tok->len, 8);
    uint64_t token = resp_token(f);
    assert_true(resp_signed_by(f, ALICE));
    assert_int_equal(f->n_opens, 2);
    const relay_call *n = &f->opens[0], *held = &f->opens[1];
    assert_true(n->even_port);
    assert_int_equal(n->addr.port % 2, 0);
    assert_true(held->held);
    assert_int_equal(held->addr.port, n->addr.port + 1);
    floe_addr rel[2];
    assert_int_equal(relayed_of(f, rel), 1);
    assert_true(floe_addr_equal(&rel[0], &n->addr));
    assert_int_equal(gauges(f).reservations, 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_RESERVED], 1);

    /* A retransmission gets the same answer, token included. */
    assert_int_equal(rq_send(f, &ta, &r), FLOE_TSRV_ALLOCATE_AGAIN);
    assert_int_equal(resp_token(f), token);
    assert_int_equal(f->n_opens, 2);

    /* Tokens are not a counter: a second one is far from the first. */
    floe_turn_tuple ta2 = udp("203.0.113.5:40002");
    uint64_t token2 = must_reserve(f, &ta2, ALICE, NULL, NULL);
    assert_int_not_equal(token2, token);
    assert_true(token2 - token > 0xFFFF && token - token2 > 0xFFFF);

    /* The token alone names the reservation (RFC 8656 §7.2: "server-wide", any 5-tuple):
     * bob, from another address, gets port N + 1 on the same IP. */
    size_t opens = f->n_opens;
    assert_int_equal(do_allocate(f, &tb, BOB, &(aopt){.has_token = true, .token = token}), 0);
    assert_int_equal(f->o.counter, FLOE_TSRV_ALLOCATED);
    assert_int_equal(f->n_opens, opens); /* no new socket: the held one */
    assert_int_equal(f->n_claims, 1);
    assert_int_equal(relayed_of(f, rel), 1);
    assert_true(floe_addr_equal(&rel[0], &held->addr));
    assert_true(floe_addr_ip_equal(&rel[0], &n->addr));
    assert_int_equal(rel[0].port, n->addr.port + 1);
    assert_int_equal(resp_token(f), 0); /* the claiming answer holds nothing more */
    assert_true(resp_signed_by(f, BOB));
    assert_int_equal(gauges(f).reservations, 1); /* token2's */
    assert_int_equal(ctr(f)[FLOE_TSRV_RESERVATION_USED], 1);
    uint64_t hb = held->handle;
    assert_int_not_equal(hb, 0);

    /* The claimed port relays for bob's allocation. */
    assert_int_equal(do_permit(f, &tb, BOB, "8.8.8.8"), 0);
    assert_int_equal(fx_peer(f, hb, "8.8.8.8:5000", "rtcp", 4), FLOE_TSRV_TO_CLIENT);
    assert_true(tuple_equal(&f->o.tuple, &tb));

    /* Used once: carol's try with the same token gets 508. */
    floe_turn_tuple tc = udp("203.0.113.9:42000");
    assert_int_equal(do_allocate(f, &tc, CAROL, &(aopt){.has_token = true, .token = token}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);
    assert_int_equal(f->n_claims, 1);

    /* The retransmitted first Allocate no longer names the used token. */
    assert_int_equal(rq_send(f, &ta, &r), FLOE_TSRV_ALLOCATE_AGAIN);
    assert_int_equal(resp_token(f), 0);

    /* A token works over TCP too (RFC 8656 §7.2: "a different transport protocol"). */
    floe_turn_tuple tt = tuple("203.0.113.9:42001", FLOE_TRANSPORT_TCP, 77);
    assert_int_equal(do_allocate(f, &tt, CAROL, &(aopt){.has_token = true, .token = token2}), 0);
    assert_int_equal(gauges(f).reservations, 0);

    /* Deallocating bob closes the held socket it claimed, once. */
    assert_int_equal(do_refresh(f, &tb, BOB, 0), 0);
    assert_int_equal(closes_of(f, held->token), 1);
    assert_int_equal(fx_peer(f, hb, "8.8.8.8:5000", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    fx_free(f);
}

static void test_reservation_expiry(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t[6];
    for (int i = 0; i < 6; i++) {
        char a[32];
        snprintf(a, sizeof a, "203.0.113.5:%d", 40000 + i);
        t[i] = udp(a);
    }
    /* Held for 30 s: usable after 29 s. */
    uint64_t k1 = must_reserve(f, &t[0], ALICE, NULL, NULL);
    tick_at(f, FLOE_TSRV_RESERVATION_S - 1);
    assert_int_equal(gauges(f).reservations, 1);
    assert_int_equal(do_allocate(f, &t[1], BOB, &(aopt){.has_token = true, .token = k1}), 0);

    /* Not after 31 s: the tick releases the held port, and the token is refused. */
    const relay_call *held;
    uint64_t k2 = must_reserve(f, &t[2], ALICE, NULL, &held);
    tick_at(f, FLOE_TSRV_RESERVATION_S + 1);
    assert_int_equal(gauges(f).reservations, 0);
    assert_int_equal(ctr(f)[FLOE_TSRV_RESERVATION_EXPIRED], 1);
    assert_int_equal(closes_of(f, held->token), 1);
    assert_int_equal(do_allocate(f, &t[3], BOB, &(aopt){.has_token = true, .token = k2}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);

    /* An expired reservation the tick has not seen yet is refused all the same. */
    uint64_t k3 = must_reserve(f, &t[4], ALICE, NULL, &held);
    fx_advance(f, FLOE_TSRV_RESERVATION_S + 1);
    assert_int_equal(do_allocate(f, &t[5], BOB, &(aopt){.has_token = true, .token = k3}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);
    assert_int_equal(closes_of(f, held->token), 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_RESERVATION_EXPIRED], 2);
    assert_int_equal(gauges(f).reservations, 0);
    assert_int_equal(f->n_claims, 1);
    fx_free(f);
}

static void test_reservation_errors(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.max_reservations = 2;
    f->cfg.user_quota = 4;
    fx_start(f);
    floe_turn_tuple t[13];
    for (int i = 0; i < 13; i++) {
        char a[32];
        snprintf(a, sizeof a, "203.0.113.5:%d", 40000 + i);
        t[i] = udp(a);
    }
    uint64_t k1 = must_reserve(f, &t[0], ALICE, NULL, NULL);

    /* 400: EVEN-PORT (either R) with RESERVATION-TOKEN, the token with an address family
     * attribute, R with ADDITIONAL-ADDRESS-FAMILY. Nothing is opened or used up. */
    size_t opens = f->n_opens;
    assert_int_equal(
        do_allocate(f, &t[1], BOB, &(aopt){.even_port = true, .has_token = true, .token = k1}),
        400);
    assert_int_equal(f->o.counter, FLOE_TSRV_BAD_REQUEST);
    assert_int_equal(
        do_allocate(f, &t[1], BOB, &(aopt){.reserve = true, .has_token = true, .token = k1}), 400);
    assert_int_equal(
        do_allocate(f, &t[1], BOB, &(aopt){.raf = 0x01000000, .has_token = true, .token = k1}),
        400);
    assert_int_equal(
        do_allocate(f, &t[1], BOB, &(aopt){.aaf = 0x02000000, .has_token = true, .token = k1}),
        400);
    assert_int_equal(do_allocate(f, &t[1], BOB, &(aopt){.reserve = true, .aaf = 0x02000000}), 400);
    /* An unknown token: 508. */
    assert_int_equal(do_allocate(f, &t[1], BOB, &(aopt){.has_token = true, .token = k1 ^ 1}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);
    assert_int_equal(f->n_opens, opens);
    assert_int_equal(f->n_claims, 0);
    assert_int_equal(gauges(f).allocations, 1);

    /* The table holds two: the third R = 1 gets 508 and opens nothing. */
    uint64_t k2 = must_reserve(f, &t[2], BOB, NULL, NULL);
    opens = f->n_opens;
    assert_int_equal(do_allocate(f, &t[3], CAROL, &(aopt){.reserve = true}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATIONS_FULL);
    assert_int_equal(f->n_opens, opens);
    assert_int_equal(gauges(f).allocations, 2);
    /* R = 0 needs no room. */
    must_allocate(f, &t[3], CAROL, &(aopt){.even_port = true});

    /* The user quota counts an allocation made with a token: 486 keeps the token. */
    must_allocate(f, &t[4], ALICE, NULL);
    must_allocate(f, &t[5], ALICE, NULL);
    must_allocate(f, &t[12], ALICE, NULL);
    assert_int_equal(do_allocate(f, &t[6], ALICE, &(aopt){.has_token = true, .token = k2}), 486);
    assert_int_equal(gauges(f).reservations, 2);
    /* Claiming frees room for the next reservation. */
    assert_int_equal(do_allocate(f, &t[6], CAROL, &(aopt){.has_token = true, .token = k2}), 0);
    must_reserve(f, &t[7], CAROL, NULL, NULL);

    /* The runtime cannot open the pair: 508, no allocation, nothing held. */
    f->fail_pair = true;
    assert_int_equal(do_allocate(f, &t[8], BOB, &(aopt){.reserve = true}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATIONS_FULL); /* the table is full again */
    assert_int_equal(do_refresh(f, &t[7], CAROL, 0), 0);         /* (its reservation stays) */
    assert_int_equal(do_allocate(f, &t[9], BOB, &(aopt){.has_token = true, .token = k1}), 0);
    assert_int_equal(gauges(f).reservations, 1);
    size_t allocs = gauges(f).allocations;
    assert_int_equal(do_allocate(f, &t[8], BOB, &(aopt){.reserve = true}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(gauges(f).allocations, allocs);
    assert_int_equal(gauges(f).reservations, 1);
    f->fail_pair = false;

    /* The runtime cannot take the held socket over: 508, the port is released and the
     * token is gone. */
    const relay_call *held;
    uint64_t k4 = must_reserve(f, &t[8], BOB, NULL, &held);
    assert_int_equal(gauges(f).reservations, 2);
    f->fail_claim = true;
    assert_int_equal(do_allocate(f, &t[10], BOB, &(aopt){.has_token = true, .token = k4}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(closes_of(f, held->token), 1);
    f->fail_claim = false;
    assert_int_equal(do_allocate(f, &t[10], BOB, &(aopt){.has_token = true, .token = k4}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);

    /* Draining refuses both kinds. */
    floe_turn_server_drain(f->srv);
    assert_int_equal(do_allocate(f, &t[11], CAROL, &(aopt){.reserve = true}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_DRAINING);
    /* A reservation still held when the server goes is released (fx_free checks). */
    assert_int_equal(gauges(f).reservations, 1);
    fx_free(f);
}

/* Two cores sharing one table (worker threads): a token made by one is taken by the
 * other, and either core's tick releases what expired. */
static void test_reservation_shared(void **state) {
    (void)state;
    fx *f = fx_new();
    floe_turn_reservations *table = NULL;
    assert_int_equal(floe_turn_reservations_new(&table, 2), FLOE_OK);
    f->cfg.reservations = table;
    f->cfg.lock = fake_lock;
    f->cfg.max_reservations = 0; /* the shared table's size counts */
    fx_start(f);
    floe_turn_server *a = f->srv, *b = NULL;
    assert_int_equal(floe_turn_server_new(&b, &f->cfg), FLOE_OK);
    floe_turn_server_set_time(b, f->now, f->unix_s);
    floe_turn_tuple ta = udp("203.0.113.5:40000"), tb = udp("203.0.113.5:40001");

    /* Made on core a; its gauge counts it, b's does not. */
    const relay_call *held;
    uint64_t k1 = must_reserve(f, &ta, ALICE, NULL, &held);
    floe_turn_server_gauges g;
    floe_turn_server_gauges_get(b, &g);
    assert_int_equal(gauges(f).reservations, 1);
    assert_int_equal(g.reservations, 0);
    assert_true(f->n_locks > 0);
    assert_false(f->locked);

    /* Taken on core b (the nonce is good there too: the same key). */
    f->srv = b;
    assert_int_equal(do_allocate(f, &tb, BOB, &(aopt){.has_token = true, .token = k1}), 0);
    floe_addr rel[2];
    assert_int_equal(relayed_of(f, rel), 1);
    assert_true(floe_addr_equal(&rel[0], &held->addr));
    assert_int_equal(ctr(f)[FLOE_TSRV_RESERVATION_USED], 1);
    /* ... once: a's table is b's. */
    f->srv = a;
    floe_turn_tuple tc = udp("203.0.113.5:40002");
    assert_int_equal(do_allocate(f, &tc, CAROL, &(aopt){.has_token = true, .token = k1}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATION_INVALID);

    /* The table holds two for both cores together. */
    floe_turn_tuple td = udp("203.0.113.5:40003"), te = udp("203.0.113.5:40004");
    must_reserve(f, &td, CAROL, NULL, &held);
    f->srv = b;
    must_reserve(f, &te, CAROL, NULL, NULL);
    floe_turn_tuple tf = udp("203.0.113.5:40005");
    assert_int_equal(do_allocate(f, &tf, CAROL, &(aopt){.reserve = true}), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATIONS_FULL);

    /* Expired: b's tick releases a's reservation too, with b's callbacks. */
    f->srv = a;
    fx_advance(f, FLOE_TSRV_RESERVATION_S + 1);
    floe_turn_server_set_time(b, f->now, f->unix_s);
    floe_turn_server_tick(b);
    assert_int_equal(closes_of(f, held->token), 1);
    assert_int_equal(floe_turn_server_counters(b)[FLOE_TSRV_RESERVATION_EXPIRED], 2);
    assert_int_equal(gauges(f).reservations, 0);
    assert_false(f->locked);

    /* The cores go; the table goes after them and releases what it still holds. */
    floe_turn_tuple tg = udp("203.0.113.5:40006");
    must_reserve(f, &tg, CAROL, NULL, &held);
    floe_turn_server_free(b);
    floe_turn_server_free(f->srv);
    f->srv = NULL;
    assert_int_equal(closes_of(f, held->token), 0);
    floe_turn_reservations_free(table, fake_close, f);
    assert_int_equal(closes_of(f, held->token), 1);
    floe_turn_reservations_free(NULL, fake_close, f);
    fx_free(f);
}

/* A runtime without relay_open_pair (the simulator's), or a table of none: R = 1 gets
 * 508; R = 0 works. */
static void test_reservation_unsupported(void **state) {
    (void)state;
    for (int v = 0; v < 2; v++) {
        fx *f = fx_new();
        if (v == 0) {
            f->cfg.relay_open_pair = NULL;
            f->cfg.relay_claim = NULL;
        } else {
            f->cfg.max_reservations = 0;
        }
        fx_start(f);
        floe_turn_tuple t = udp("203.0.113.5:40000");
        assert_int_equal(do_allocate(f, &t, ALICE, &(aopt){.reserve = true}), 508);
        assert_int_equal(f->o.counter, FLOE_TSRV_RESERVATIONS_FULL);
        assert_true(resp_signed_by(f, ALICE));
        assert_int_equal(f->n_opens, 0);
        must_allocate(f, &t, ALICE, &(aopt){.even_port = true});
        fx_free(f);
    }
}

/* admit/release: quotas a runtime keeps for several cores. */
static void test_shared_quota_hooks(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.admit = fake_admit;
    f->cfg.release = fake_release;
    fx_start(f);
    floe_turn_tuple t[4];
    for (int i = 0; i < 4; i++) {
        char a[32];
        snprintf(a, sizeof a, "203.0.113.5:%d", 40000 + i);
        t[i] = udp(a);
    }
    must_allocate(f, &t[0], ALICE, NULL);
    assert_int_equal(f->admitted, 1);
    f->admit_answer = 486;
    assert_int_equal(do_allocate(f, &t[1], ALICE, NULL), 486);
    assert_int_equal(f->o.counter, FLOE_TSRV_QUOTA);
    f->admit_answer = 508;
    assert_int_equal(do_allocate(f, &t[1], ALICE, NULL), 508);
    assert_int_equal(f->o.counter, FLOE_TSRV_CAPACITY);
    assert_int_equal(f->n_opens, 1);
    f->admit_answer = 0;
    /* Admitted, but the relay cannot be opened: released at once. */
    f->fail_family = FLOE_AF_INET4;
    assert_int_equal(do_allocate(f, &t[1], ALICE, NULL), 508);
    assert_int_equal(f->admitted, 2);
    assert_int_equal(f->released, 1);
    f->fail_family = -1;
    /* A retransmission is not admitted twice. */
    rq r;
    allocate_msg(f, &r, &t[2], BOB, NULL);
    assert_int_equal(rq_send(f, &t[2], &r), FLOE_TSRV_ALLOCATED);
    assert_int_equal(rq_send(f, &t[2], &r), FLOE_TSRV_ALLOCATE_AGAIN);
    assert_int_equal(f->admitted, 3);
    /* Every end releases once: a Refresh 0, the expiry, the server going away. */
    assert_int_equal(do_refresh(f, &t[0], ALICE, 0), 0);
    assert_int_equal(f->released, 2);
    must_allocate(f, &t[3], CAROL, NULL);
    floe_turn_server_free(f->srv);
    f->srv = NULL;
    assert_int_equal(f->released, f->admitted);
    fx_free(f);
}

/* ---- the unauthenticated rate limit --------------------------------------------------------- */

static void test_rate_limit(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.unauth_per_s = 1;
    f->cfg.unauth_burst = 2;
    fx_start(f);
    floe_turn_tuple x = udp("203.0.113.5:40000"), x2 = udp("203.0.113.5:40001"),
                    y = udp("203.0.113.77:40000");
    rq r;
    allocate_msg(f, &r, &x, NULL, NULL, NULL);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_CHALLENGED);
    char nonce[32];
    const char *s;
    size_t n;
    assert_int_equal(floe_stun_msg_get_string(&f->resp, FLOE_STUN_ATTR_NONCE, &s, &n), FLOE_OK);
    memcpy(nonce, s, n);
    nonce[n] = '\0';
    assert_int_equal(rq_send(f, &x2, &r), FLOE_TSRV_CHALLENGED); /* per IP, not per port */
    /* The third in the same instant: dropped, nothing sent. */
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_DROP_RATE_LIMITED);
    assert_nothing_out(f);
    assert_false(f->have_resp);
    /* Every kind of unauthenticated answer counts against the bucket. */
    assert_int_equal(refresh_with(f, &x, ALICE, REALM, "stale-stale-stal"),
                     FLOE_TSRV_DROP_RATE_LIMITED);
    assert_int_equal(refresh_with(f, &x, "alice", "wrong", REALM, nonce),
                     FLOE_TSRV_DROP_RATE_LIMITED);
    assert_int_equal(refresh_with(f, &x, NULL, "pw", REALM, nonce), FLOE_TSRV_DROP_RATE_LIMITED);
    assert_int_equal(ctr(f)[FLOE_TSRV_DROP_RATE_LIMITED], 4);
    /* Another IP has its own bucket. */
    assert_int_equal(rq_send(f, &y, &r), FLOE_TSRV_CHALLENGED);
    /* Authenticated requests are not limited. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
    rq_auth_with(&r, ALICE, REALM, nonce);
    rq_end(&r, false);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_ALLOCATED);
    for (int i = 0; i < 5; i++) {
        rq_begin(f, &r, FLOE_STUN_CREATE_PERMISSION, FLOE_STUN_REQUEST);
        floe_addr p = addr("8.8.8.8");
        floe_stun_add_xor_addr(&r.b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
        rq_auth_with(&r, ALICE, REALM, nonce);
        rq_end(&r, false);
        assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_PERMITTED);
    }
    /* Binding requests are the STUN server's (not limited here). */
    rq_begin(f, &r, FLOE_STUN_BINDING, FLOE_STUN_REQUEST);
    rq_end(&r, false);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_STUN);

    /* Tokens come back with time: one per second, at most the burst. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_end(&r, false);
    fx_advance_ms(f, 500);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_DROP_RATE_LIMITED);
    fx_advance_ms(f, 500);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_CHALLENGED);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_DROP_RATE_LIMITED);
    fx_advance(f, 60);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_CHALLENGED);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_CHALLENGED);
    assert_int_equal(rq_send(f, &x, &r), FLOE_TSRV_DROP_RATE_LIMITED);
    fx_free(f);
}

/* ---- reload ---------------------------------------------------------------------------------- */

static void test_reload(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000"), tb = udp("203.0.113.6:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, NULL);
    uint64_t handle = rc->handle, token = rc->token;
    uint64_t token_b = must_allocate(f, &tb, BOB, NULL)->token;
    assert_int_equal(do_permit(f, &t, ALICE, "1.1.1.1"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:5000"), 0);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "x", 1), FLOE_TSRV_TO_PEER);

    /* A new deny prefix revokes what it covers (the permission and the channel). */
    floe_addr_prefix deny;
    assert_int_equal(floe_addr_prefix_parse("8.8.8.0/24", &deny), FLOE_OK);
    f->cfg.deny = &deny;
    f->cfg.n_deny = 1;
    assert_int_equal(floe_turn_server_reload(f->srv, &f->cfg), FLOE_OK);
    assert_int_equal(ctr(f)[FLOE_TSRV_POLICY_REVOKED], 2);
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_POLICY_REVOKED));
    check_identity(f);
    floe_turn_server_gauges g = gauges(f);
    assert_int_equal(g.permissions, 1);
    assert_int_equal(g.channels, 0);
    assert_int_equal(g.allocations, 2);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_nothing_out(f);
    assert_int_equal(do_cdata(f, &t, 0x4000, "x", 1, false), FLOE_TSRV_DROP_NO_CHANNEL);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:5000", "x", 1), FLOE_TSRV_DROP_NO_PERMISSION);
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 403);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "8.8.8.8:5000"), 403);
    /* What the policy still allows stays. */
    assert_int_equal(do_send(f, &t, "1.1.1.1:53", "x", 1), FLOE_TSRV_TO_PEER);
    assert_int_equal(f->n_closes, 0);

    /* Reloading credentials: bob is gone, his allocation stays but he cannot use it. */
    static const floe_turn_user only_alice[] = {{"alice", "alice-pw"}};
    f->cfg.users = only_alice;
    f->cfg.n_users = 1;
    assert_int_equal(floe_turn_server_reload(f->srv, &f->cfg), FLOE_OK);
    assert_int_equal(do_refresh(f, &tb, BOB, -1), 401);
    assert_int_equal(do_refresh(f, &t, ALICE, -1), 0);
    assert_int_equal(gauges(f).allocations, 2);

    /* The table, its keys and the relay callbacks stay what they were: a reload with
     * another nonce_key, other callbacks and another table size changes none of them. */
    floe_turn_server_config c2 = f->cfg;
    for (int i = 0; i < 32; i++)
        c2.nonce_key[i] = (uint8_t)(0xA5 ^ i);
    c2.relay_open = NULL;
    c2.relay_close = NULL;
    c2.ctx = NULL;
    c2.max_allocations = 1;
    assert_int_equal(floe_turn_server_reload(f->srv, &c2), FLOE_OK);
    assert_int_equal(do_refresh(f, &t, ALICE, -1), 0); /* found, and alice is still alice */
    assert_int_equal(do_send(f, &t, "1.1.1.1:53", "x", 1), FLOE_TSRV_TO_PEER);
    floe_turn_tuple t3 = udp("203.0.113.7:40000");
    must_allocate(f, &t3, ALICE, NULL); /* the table did not shrink to one */
    assert_int_equal(do_refresh(f, &t, ALICE, 0), 0);
    assert_int_equal(closes_of(f, token), 1); /* closed through the original callback */
    (void)token_b;
    fx_free(f);
}

/* ---- accounting -------------------------------------------------------------------------------
 */

static void test_accounting_identity(void **state) {
    (void)state;
    /* Names: stable, unique, and the outcome set is what the header says. */
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++) {
        const char *a = floe_turn_server_counter_name(i);
        assert_non_null(a);
        assert_string_not_equal(a, "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, floe_turn_server_counter_name(j));
    }
    assert_string_equal(floe_turn_server_counter_name(-1), "unknown");
    assert_string_equal(floe_turn_server_counter_name(FLOE_TSRV_COUNTER_COUNT), "unknown");
    assert_string_equal(floe_turn_server_counter_name(FLOE_TSRV_ALLOCATE_AGAIN),
                        "allocate_retransmitted");
    assert_string_equal(floe_turn_server_counter_name(FLOE_TSRV_FORBIDDEN), "forbidden_peer_403");
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_RX_CLIENT));
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_RX_PEER));
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_BYTES_TO_PEER));
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_BYTES_TO_CLIENT));
    assert_false(floe_turn_server_counter_is_outcome(FLOE_TSRV_CLOSED_WITH_CONN));
    assert_true(floe_turn_server_counter_is_outcome(FLOE_TSRV_TO_CLIENT));
    assert_true(floe_turn_server_counter_is_outcome(FLOE_TSRV_DROP_NO_SPACE));

    /* A mixed sequence; fx_client/fx_peer check the identity after every input. */
    fx *f = fx_new();
    f->cfg.relay_v6 = true;
    f->cfg.bytes_per_s_allocation = 100;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    uint64_t handle = rc->handle;
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.8.8"), 0);
    assert_int_equal(do_permit(f, &t, ALICE, "[2606:4700::1111]"), 0);
    assert_int_equal(do_permit(f, &t, ALICE, "127.0.0.1"), 403);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "[2606:4700::1111]:443"), 0);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "hello", 5), FLOE_TSRV_TO_PEER);
    assert_int_equal(do_cdata(f, &t, 0x4000, "hello", 5, false), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "[2606:4700::1111]:443", rc[1].token, "hello", 5);
    assert_int_equal(fx_peer(f, handle, "[2606:4700::1111]:443", "hi", 2), FLOE_TSRV_TO_CLIENT);
    assert_int_equal(fx_peer(f, handle, "9.9.9.9:1", "hi", 2), FLOE_TSRV_DROP_NO_PERMISSION);
    /* Over the allocation's bandwidth (100 B/s, 5 + 5 + 2 spent). */
    uint8_t big[120];
    memset(big, 'b', sizeof big);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", big, 95), FLOE_TSRV_DROP_BANDWIDTH);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:53", big, 95), FLOE_TSRV_DROP_BANDWIDTH);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", big, 88), FLOE_TSRV_TO_PEER);
    fx_advance(f, 1);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", big, 95), FLOE_TSRV_TO_PEER);
    /* Garbage of every kind. */
    const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0};
    assert_int_equal(fx_client(f, &t, junk, sizeof junk), FLOE_TSRV_DROP_MALFORMED);
    assert_int_equal(fx_client(f, &t, junk, 0), FLOE_TSRV_DROP_MALFORMED);
    rq r;
    rq_begin(f, &r, FLOE_STUN_BINDING, FLOE_STUN_REQUEST);
    rq_end(&r, true);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_STUN);
    uint8_t padded[64];
    memcpy(padded, r.buf, r.len);
    memset(padded + r.len, 0, 4);
    /* Trailing bytes after a UDP Binding: the STUN server drops it (its own counter). */
    assert_int_equal(fx_client(f, &t, padded, r.len + 4), FLOE_TSRV_STUN);
    assert_nothing_out(f);
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_SUCCESS);
    rq_end(&r, false);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_DROP_NOT_REQUEST);
    rq_begin(f, &r, FLOE_STUN_DATA, FLOE_STUN_INDICATION);
    rq_end(&r, false);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_DROP_NOT_REQUEST);
    rq_begin(f, &r, FLOE_STUN_REFRESH, FLOE_STUN_ERROR);
    floe_stun_add_error(&r.b, 401, "");
    rq_end(&r, false);
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_DROP_NOT_REQUEST);
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_end(&r, true);
    r.buf[r.len - 1] ^= 1; /* a bad FINGERPRINT */
    assert_int_equal(rq_send(f, &t, &r), FLOE_TSRV_DROP_MALFORMED);
    assert_int_equal(do_refresh(f, &t, ALICE, 0), 0);
    assert_int_equal(fx_peer(f, handle, "8.8.8.8:53", "x", 1), FLOE_TSRV_DROP_NO_ALLOCATION);
    /* An answer that does not fit the output buffer. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_end(&r, false);
    floe_turn_server_on_client(f->srv, &t, r.buf, r.len, f->out, 24, &f->o);
    assert_int_equal(f->o.counter, FLOE_TSRV_DROP_NO_SPACE);
    assert_nothing_out(f);
    check_identity(f);

    const uint64_t *c = ctr(f);
    uint64_t sum = 0;
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++)
        if (floe_turn_server_counter_is_outcome(i)) sum += c[i];
    assert_int_equal(c[FLOE_TSRV_RX_CLIENT] + c[FLOE_TSRV_RX_PEER], sum);
    assert_int_equal(c[FLOE_TSRV_RX_PEER], 4);
    assert_int_equal(c[FLOE_TSRV_DROP_BANDWIDTH], 2);
    assert_int_equal(c[FLOE_TSRV_DROP_NO_SPACE], 1);
    fx_free(f);
}

/* ---- the peer policy ------------------------------------------------------------------------ */

/* Peers no configuration allows, written every way an address can be written. */
static const char *const forbidden[] = {
    /* IPv4 */
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.254",
    "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "100.127.255.254",
    "169.254.169.254", "224.0.0.1", "239.255.255.250", "255.255.255.255", "192.0.2.1",
    "198.51.100.1", "203.0.113.1", "240.0.0.1", "198.18.0.1", "198.19.255.254", "192.0.0.1",
    "192.88.99.1",
    /* IPv6 */
    "::", "::1", "fe80::1", "febf::1", "fc00::1", "fd00::1", "ff02::1", "ff0e::1", "2001:db8::1",
    "3fff::1", "fec0::1", "100::1", "2001:2::1", "2001:10::1", "5f00::1", "4000::1",
    /* IPv4-mapped (RFC 4291) and -translated (RFC 2765) */
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
    "::ffff:255.255.255.255", "::ffff:100.64.0.1", "::ffff:224.0.0.1", "::ffff:0:127.0.0.1",
    "::ffff:0:10.0.0.1",
    /* IPv4-compatible (deprecated) */
    "::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::2",
    /* 6to4 */
    "2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::", "2002::1",
    /* NAT64 (RFC 6052 and the RFC 8215 local-use prefix) */
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "64:ff9b::c000:201",
    "64:ff9b::e000:1", "64:ff9b:1::1", "64:ff9b:1::808:808",
    /* Teredo: a private/loopback server, or an obfuscated private/loopback client */
    "2001:0:7f00:1::", "2001:0:a00:1:8000:63bf:f7f7:f7f7",
    "2001:0:4136:e378:8000:63bf:80ff:fffe", /* client 127.0.0.1 */
    "2001:0:4136:e378:8000:63bf:f5ff:fffe", /* client 10.0.0.1 */
    "2001:0:4136:e378:8000:63bf:5601:5645", /* client 169.254.169.186 */
};

static void test_security_table(void **state) {
    (void)state;
    size_t n = sizeof forbidden / sizeof forbidden[0];
    assert_true(n >= 40);
    /* The classifier agrees that none of them is global. */
    for (size_t i = 0; i < n; i++) {
        floe_addr a = addr(forbidden[i]);
        uint32_t flags = floe_addr_classify(&a, NULL);
        if (!(flags & FLOE_ADDR_NOT_GLOBAL) || floe_addr_is_global(&a)) {
            char names[128];
            floe_addr_class_format(flags, names, sizeof names);
            fail_msg("%s classified global (%s)", forbidden[i], names);
        }
    }

    fx *f = fx_new();
    f->cfg.relay_v6 = true; /* both families, so a family mismatch never hides the policy */
    f->cfg.max_channels = FLOE_TSRV_MAX_CHANNELS;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    assert_int_equal(f->n_opens, 2);
    uint64_t forbidden_before = ctr(f)[FLOE_TSRV_FORBIDDEN];
    for (size_t i = 0; i < n; i++) {
        floe_addr a = addr(forbidden[i]);
        if (floe_turn_server_peer_allowed(f->srv, &a)) fail_msg("%s allowed", forbidden[i]);
        char with_port[80];
        a.port = 3478;
        floe_addr_format(&a, true, with_port, sizeof with_port);
        if (do_permit(f, &t, ALICE, forbidden[i]) != 403 || f->o.counter != FLOE_TSRV_FORBIDDEN)
            fail_msg("CreatePermission %s: %d", forbidden[i], resp_code(f));
        assert_true(resp_signed_by(f, ALICE));
        if (do_bind(f, &t, ALICE, (uint32_t)(0x4000 + i), with_port) != 403)
            fail_msg("ChannelBind %s: %d", with_port, resp_code(f));
        if (do_send(f, &t, with_port, "x", 1) != FLOE_TSRV_DROP_NO_PERMISSION || f->o.len)
            fail_msg("Send %s: counter %d", with_port, f->o.counter);
        assert_false(f->o.to_peer);
    }
    assert_int_equal(ctr(f)[FLOE_TSRV_FORBIDDEN] - forbidden_before, 2 * n);
    assert_int_equal(ctr(f)[FLOE_TSRV_TO_PEER], 0);
    floe_turn_server_gauges g = gauges(f);
    assert_int_equal(g.permissions, 0);
    assert_int_equal(g.channels, 0);
    print_message("security table: %zu forbidden peers refused three ways\n", n);
    fx_free(f);
}

/* ---- RFC 6062 ---------------------------------------------------------------------------- */

/* The runtime's TCP side, faked: listeners are relay records (closed with relay_close),
 * connects and closes of peer connections are counted. */
static int fake_tcp_listen(void *ctx, uint64_t handle, int family, floe_addr *relayed,
                           uint64_t *token) {
    return fake_open(ctx, handle, family, false, false, relayed, token);
}

static uint32_t tcp_connects, tcp_last_id, tcp_closes;
static floe_addr tcp_last_from;

static int fake_tcp_connect(void *ctx, uint32_t id, const floe_addr *from, const floe_addr *peer) {
    (void)ctx;
    (void)peer;
    tcp_connects++;
    tcp_last_id = id;
    tcp_last_from = *from;
    return FLOE_OK;
}

static void fake_tcp_close(void *ctx, uint32_t id) {
    (void)ctx;
    (void)id;
    tcp_closes++;
}

static fx *tcp_fx(void) {
    fx *f = fx_new();
    f->cfg.relay_v6 = true;
    f->cfg.tcp_listen = fake_tcp_listen;
    f->cfg.tcp_connect = fake_tcp_connect;
    f->cfg.tcp_close = fake_tcp_close;
    fx_start(f);
    tcp_connects = tcp_closes = 0;
    return f;
}

static int do_connect(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                      const char *peer) {
    const char *nonce = fx_nonce(f, t);
    rq r;
    rq_begin(f, &r, FLOE_STUN_CONNECT, FLOE_STUN_REQUEST);
    floe_addr p = addr(peer);
    floe_stun_add_xor_addr(&r.b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &p);
    rq_auth_with(&r, user, pass, REALM, nonce);
    rq_end(&r, false);
    rq_send(f, t, &r);
    return f->have_resp ? resp_code(f) : -1; /* -1: accepted, the answer comes later */
}

static int do_connection_bind(fx *f, const floe_turn_tuple *t, const char *user, const char *pass,
                              uint32_t id) {
    const char *nonce = fx_nonce(f, t);
    rq r;
    rq_begin(f, &r, FLOE_STUN_CONNECTION_BIND, FLOE_STUN_REQUEST);
    floe_stun_add_u32(&r.b, FLOE_STUN_ATTR_CONNECTION_ID, id);
    rq_auth_with(&r, user, pass, REALM, nonce);
    rq_end(&r, false);
    rq_send(f, t, &r);
    return resp_code(f);
}

/* Allocate TCP, Connect, the connect's outcome, ConnectionBind on a new connection; the
 * rules around it (UDP, forbidden peers, 446, another user, 30 s). */
static void test_tcp_relay(void **state) {
    (void)state;
    fx *f = tcp_fx();
    floe_turn_tuple ctl = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 7);
    /* Over UDP a TCP allocation is a 400 (RFC 6062 §5.1); with EVEN-PORT too. */
    floe_turn_tuple u = udp("203.0.113.5:40001");
    assert_int_equal(do_allocate(f, &u, ALICE, &(aopt){.transport = 6u << 24}), 400);
    assert_int_equal(do_allocate(f, &ctl, ALICE, &(aopt){.transport = 6u << 24, .even_port = true}),
                     400);
    assert_int_equal(
        do_allocate(f, &ctl, ALICE, &(aopt){.transport = 6u << 24, .has_token = true, .token = 7}),
        400);
    must_allocate(f, &ctl, ALICE, &(aopt){.transport = 6u << 24});
    /* No channels on a TCP allocation. */
    assert_int_equal(do_bind(f, &ctl, ALICE, 0x4000, "8.8.8.8:53"), 400);
    /* Connect: the answer waits for the connection, which leaves from the relayed address. */
    assert_int_equal(do_connect(f, &ctl, ALICE, "8.8.8.8:443"), -1);
    assert_int_equal(f->o.counter, FLOE_TSRV_TCP_CONNECTING);
    assert_int_equal(tcp_connects, 1);
    assert_true(floe_addr_equal(&tcp_last_from, &f->opens[f->n_opens - 1].addr));
    uint32_t id = tcp_last_id;
    /* A second Connect to the same peer: 446. */
    assert_int_equal(do_connect(f, &ctl, ALICE, "8.8.8.8:443"), 446);
    uint8_t out[512];
    floe_turn_server_out o;
    floe_turn_server_tcp_connected(f->srv, id, true, out, sizeof out, &o);
    floe_stun_msg m;
    assert_non_null(o.data);
    assert_int_equal(floe_stun_msg_decode(o.data, o.len, 0, &m), FLOE_OK);
    assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
    uint32_t got = 0;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_CONNECTION_ID, &got), FLOE_OK);
    assert_int_equal(got, id);
    assert_true(floe_addr_equal(&o.tuple.client, &ctl.client) && o.tuple.conn == ctl.conn);
    /* ConnectionBind: not on the control connection, not by another user, not over UDP. */
    floe_turn_tuple data = tuple("203.0.113.5:40002", FLOE_TRANSPORT_TCP, 8);
    assert_int_equal(do_connection_bind(f, &ctl, ALICE, id), 400);
    assert_int_equal(do_connection_bind(f, &data, "bob", "bob-pw", id), 441);
    assert_int_equal(do_connection_bind(f, &u, ALICE, id), 400);
    assert_int_equal(do_connection_bind(f, &data, ALICE, id + 0x10000), 400); /* stale id */
    assert_int_equal(do_connection_bind(f, &data, ALICE, id), 0);
    assert_int_equal(f->o.pipe, id);
    assert_int_equal(do_connection_bind(f, &data, ALICE, id), 400); /* bound already */
    /* A failed connect is a 447 and the connection goes. */
    assert_int_equal(do_connect(f, &ctl, ALICE, "9.9.9.9:80"), -1);
    uint32_t id2 = tcp_last_id;
    uint32_t closes = tcp_closes;
    floe_turn_server_tcp_connected(f->srv, id2, false, out, sizeof out, &o);
    assert_int_equal(floe_stun_msg_decode(o.data, o.len, 0, &m), FLOE_OK);
    int code = 0;
    assert_int_equal(floe_stun_msg_get_error(&m, &code, NULL, NULL), FLOE_OK);
    assert_int_equal(code, 447);
    assert_int_equal(tcp_closes, closes + 1);
    /* An incoming peer needs a permission; then it becomes a ConnectionAttempt, and is
     * closed when not bound within 30 s. */
    uint64_t handle = f->opens[f->n_opens - 1].handle;
    floe_addr stranger = addr("1.1.1.1:5000");
    assert_int_equal(floe_turn_server_tcp_incoming(f->srv, handle, &stranger, out, sizeof out, &o),
                     0);
    assert_int_equal(do_permit(f, &ctl, ALICE, "1.1.1.1"), 0);
    uint32_t id3 = floe_turn_server_tcp_incoming(f->srv, handle, &stranger, out, sizeof out, &o);
    assert_true(id3 != 0);
    assert_int_equal(floe_stun_msg_decode(o.data, o.len, 0, &m), FLOE_OK);
    assert_int_equal(m.method, FLOE_STUN_CONNECTION_ATTEMPT);
    assert_int_equal(m.cls, FLOE_STUN_INDICATION);
    closes = tcp_closes;
    fx_advance(f, FLOE_TSRV_TCP_BIND_S + 1);
    floe_turn_server_tick(f->srv);
    assert_int_equal(tcp_closes, closes + 1);
    assert_int_equal(ctr(f)[FLOE_TSRV_TCP_UNBOUND], 1);
    /* The control connection closes: the allocation and its connections go. */
    closes = tcp_closes;
    floe_turn_server_conn_closed(f->srv, &ctl);
    assert_int_equal(tcp_closes, closes + 1); /* the bound one */
    fx_free(f);
}

/* The security table over TCP relaying: Connect to every forbidden peer is a 403 and the
 * runtime is never asked to connect. */
static void test_security_table_tcp(void **state) {
    (void)state;
    fx *f = tcp_fx();
    size_t n = sizeof forbidden / sizeof forbidden[0];
    floe_turn_tuple ctl4 = tuple("203.0.113.5:40000", FLOE_TRANSPORT_TCP, 7);
    floe_turn_tuple ctl6 = tuple("203.0.113.5:40001", FLOE_TRANSPORT_TCP, 8);
    must_allocate(f, &ctl4, ALICE, &(aopt){.transport = 6u << 24});
    must_allocate(f, &ctl6, ALICE, &(aopt){.transport = 6u << 24, .raf = 0x02000000});
    for (size_t i = 0; i < n; i++) {
        floe_addr a = addr(forbidden[i]);
        a.port = 443;
        char with_port[80];
        floe_addr_format(&a, true, with_port, sizeof with_port);
        const floe_turn_tuple *t = a.family == FLOE_AF_INET6 ? &ctl6 : &ctl4;
        if (do_connect(f, t, ALICE, with_port) != 403 || f->o.counter != FLOE_TSRV_FORBIDDEN)
            fail_msg("Connect %s: %d", with_port, resp_code(f));
    }
    assert_int_equal(tcp_connects, 0);
    print_message("security table: %zu forbidden peers refused over TCP relaying\n", n);
    fx_free(f);
}

static void test_policy_controls(void **state) {
    (void)state;
    fx *f = fx_new();
    f->cfg.relay_v6 = true;
    fx_start(f);
    floe_turn_tuple t = udp("203.0.113.5:40000");
    const relay_call *rc = must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    uint64_t tok4 = rc[0].token, tok6 = rc[1].token;
    /* Global peers are permitted and relayed to, from the relay of their family. */
    static const char *const global[] = {"8.8.8.8", "2606:4700::1111", "1.1.1.1",
                                         "2a00:1450:4001::1"};
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        floe_addr a = addr(global[i]);
        assert_true(floe_turn_server_peer_allowed(f->srv, &a));
        if (do_permit(f, &t, ALICE, global[i]) != 0) fail_msg("%s refused", global[i]);
    }
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "8.8.8.8:5000"), 0);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "[2606:4700::1111]:5000"), 0);
    assert_int_equal(do_send(f, &t, "8.8.8.8:53", "x", 1), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "8.8.8.8:53", tok4, "x", 1);
    assert_int_equal(do_send(f, &t, "[2606:4700::1111]:53", "y", 1), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "[2606:4700::1111]:53", tok6, "y", 1);
    fx_free(f);

    /* allow 127.0.0.0/8 admits exactly that: not the IPv6 forms carrying it. */
    f = fx_new();
    f->cfg.relay_v6 = true;
    floe_addr_prefix pf[2];
    assert_int_equal(floe_addr_prefix_parse("127.0.0.0/8", &pf[0]), FLOE_OK);
    f->cfg.allow = pf;
    f->cfg.n_allow = 1;
    fx_start(f);
    tok4 = must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000})->token;
    assert_int_equal(do_permit(f, &t, ALICE, "127.0.0.1"), 0);
    assert_int_equal(do_send(f, &t, "127.0.0.1:8080", "x", 1), FLOE_TSRV_TO_PEER);
    assert_to_peer(f, "127.0.0.1:8080", tok4, "x", 1);
    assert_int_equal(do_permit(f, &t, ALICE, "127.9.9.9"), 0);
    static const char *const not_allowed[] = {"::ffff:127.0.0.1", "2002:7f00:1::", "::127.0.0.1",
                                              "64:ff9b::7f00:1",  "::1",           "10.0.0.1"};
    for (size_t i = 0; i < sizeof not_allowed / sizeof not_allowed[0]; i++) {
        floe_addr a = addr(not_allowed[i]);
        assert_false(floe_turn_server_peer_allowed(f->srv, &a));
        if (do_permit(f, &t, ALICE, not_allowed[i]) != 403) fail_msg("%s", not_allowed[i]);
    }
    fx_free(f);

    /* deny 8.8.8.0/24 sees through the IPv6 forms too. */
    f = fx_new();
    f->cfg.relay_v6 = true;
    assert_int_equal(floe_addr_prefix_parse("8.8.8.0/24", &pf[0]), FLOE_OK);
    assert_int_equal(floe_addr_prefix_parse("2606:4700::/32", &pf[1]), FLOE_OK);
    f->cfg.deny = pf;
    f->cfg.n_deny = 2;
    f->cfg.allow = pf; /* deny wins over allow */
    f->cfg.n_allow = 1;
    fx_start(f);
    must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    static const char *const denied[] = {
        "8.8.8.8",        "::ffff:8.8.8.8", "64:ff9b::808:808",
        "2002:808:808::", "::8.8.8.8",      "2001:0:808:808:8000:63bf:f7f7:fbfb",
        "2606:4700::1111"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        floe_addr a = addr(denied[i]);
        assert_false(floe_turn_server_peer_allowed(f->srv, &a));
        if (do_permit(f, &t, ALICE, denied[i]) != 403) fail_msg("%s", denied[i]);
    }
    assert_int_equal(do_permit(f, &t, ALICE, "8.8.4.4"), 0);
    fx_free(f);

    /* The server's own listening addresses are never peers (a wildcard listener is
     * every local address on its port). */
    f = fx_new();
    floe_addr self[2] = {addr("9.9.9.9:3478"), addr("[::]:5349")};
    f->cfg.self = self;
    f->cfg.n_self = 2;
    f->cfg.relay_v6 = true;
    fx_start(f);
    must_allocate(f, &t, ALICE, &(aopt){.aaf = 0x02000000});
    floe_addr s1 = addr("9.9.9.9:3478"), s2 = addr("9.9.9.9:3479");
    assert_false(floe_turn_server_peer_allowed(f->srv, &s1));
    assert_true(floe_turn_server_peer_allowed(f->srv, &s2));
    assert_int_equal(do_bind(f, &t, ALICE, 0x4000, "9.9.9.9:3478"), 403);
    assert_int_equal(do_bind(f, &t, ALICE, 0x4001, "9.9.9.9:3479"), 0);
    assert_int_equal(do_permit(f, &t, ALICE, "9.9.9.9"), 0); /* the IP is fine, ... */
    assert_int_equal(do_send(f, &t, "9.9.9.9:3478", "x", 1),
                     FLOE_TSRV_DROP_NO_PERMISSION); /* ... its listening port is not */
    assert_int_equal(do_send(f, &t, "9.9.9.9:80", "x", 1), FLOE_TSRV_TO_PEER);
    fx_free(f);
}

/* ---- amplification ----------------------------------------------------------------------------
 */

typedef struct amp_row {
    const char *what;
    size_t req, resp;
} amp_row;

static void amp_measure(fx *f, const floe_turn_tuple *t, const rq *r, int want_counter,
                        int want_code, amp_row *row) {
    assert_int_equal(rq_send(f, t, r), want_counter);
    assert_true(f->have_resp);
    if (want_code >= 0) assert_int_equal(resp_code(f), want_code);
    row->req = r->len;
    row->resp = f->resp_len;
}

/* An RFC 3489 Binding request: the 20-byte header with a 16-byte transaction ID. */
static void classic_measure(fx *f, const floe_turn_tuple *t, amp_row *row) {
    uint8_t req[20], tid16[16];
    for (int i = 0; i < 16; i++)
        tid16[i] = (uint8_t)(0xC0 + i);
    floe_stun_builder b;
    size_t n = 0;
    floe_stun_builder_init_classic(&b, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST,
                                   tid16);
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    assert_int_equal(fx_client(f, t, req, n), FLOE_TSRV_STUN);
    assert_true(f->have_resp);
    assert_true(f->resp.classic);
    assert_int_equal(f->resp.cls, FLOE_STUN_SUCCESS);
    row->req = n;
    row->resp = f->resp_len;
}

static void test_amplification(void **state) {
    (void)state;
    fx *f = fx_new();
    fx_start(f);
    floe_turn_tuple t4 = udp("203.0.113.5:40000"), t6 = udp("[2001:db8:77::5]:40000");
    char nonce[32];
    strcpy(nonce, fx_nonce(f, &t4));
    amp_row rows[16];
    size_t n = 0;
    rq r;

    /* 401 to each TURN method without credentials: the bare 20-byte header. */
    static const struct {
        uint16_t method;
        const char *what;
    } methods[] = {
        {FLOE_STUN_ALLOCATE, "401 Allocate, no credentials"},
        {FLOE_STUN_REFRESH, "401 Refresh, no credentials"},
        {FLOE_STUN_CREATE_PERMISSION, "401 CreatePermission, no credentials"},
        {FLOE_STUN_CHANNEL_BIND, "401 ChannelBind, no credentials"},
        {FLOE_STUN_CONNECT, "401 Connect, no credentials"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        rq_begin(f, &r, methods[i].method, FLOE_STUN_REQUEST);
        rq_end(&r, false);
        rows[n].what = methods[i].what;
        amp_measure(f, &t4, &r, FLOE_TSRV_CHALLENGED, 401, &rows[n++]);
    }
    /* The same with FINGERPRINT (mirrored). */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_end(&r, true);
    rows[n].what = "401 Allocate + FINGERPRINT";
    amp_measure(f, &t4, &r, FLOE_TSRV_CHALLENGED, 401, &rows[n++]);

    /* 438: the smallest request that gets one has a 1-byte USERNAME, an empty REALM, an
     * empty NONCE and MESSAGE-INTEGRITY. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_auth_with(&r, "a", "x", "", "");
    rq_end(&r, false);
    rows[n].what = "438 stale nonce";
    amp_measure(f, &t4, &r, FLOE_TSRV_STALE_NONCE, 438, &rows[n++]);

    /* 401 for bad credentials: a valid nonce is needed, the realm may be empty. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_auth_with(&r, "a", "x", "", nonce);
    rq_end(&r, false);
    rows[n].what = "401 bad credentials";
    amp_measure(f, &t4, &r, FLOE_TSRV_AUTH_FAILED, 401, &rows[n++]);

    /* 400: MESSAGE-INTEGRITY alone. */
    rq_begin(f, &r, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST);
    rq_auth_with(&r, NULL, "x", NULL, NULL);
    rq_end(&r, false);
    rows[n].what = "400 integrity without USERNAME";
    amp_measure(f, &t4, &r, FLOE_TSRV_BAD_REQUEST, 400, &rows[n++]);

    /* Binding: success from IPv4 and IPv6, and a 420. */
    rq_begin(f, &r, FLOE_STUN_BINDING, FLOE_STUN_REQUEST);
    rq_end(&r, false);
    rows[n].what = "Binding success, IPv4";
    amp_measure(f, &t4, &r, FLOE_TSRV_STUN, 0, &rows[n++]);
    rows[n].what = "Binding success, IPv6";
    amp_measure(f, &t6, &r, FLOE_TSRV_STUN, 0, &rows[n++]);
    rq_begin(f, &r, FLOE_STUN_BINDING, FLOE_STUN_REQUEST);
    const uint8_t z = 0;
    floe_stun_add(&r.b, 0x7777, &z, 0);
    rq_end(&r, false);
    rows[n].what = "Binding 420, unknown attribute";
    amp_measure(f, &t4, &r, FLOE_TSRV_STUN, 420, &rows[n++]);
    /* RFC 3489 Binding (no magic cookie), which the default STUN configuration answers. */
    rows[n].what = "Binding RFC 3489, IPv4";
    classic_measure(f, &t4, &rows[n++]);
    /* RFC 3489 knows IPv4 only: over IPv6 the request is dropped, not answered. */
    {
        uint8_t req[20], tid16[16] = {0};
        floe_stun_builder b;
        size_t len = 0;
        floe_stun_builder_init_classic(&b, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST,
                                       tid16);
        assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
        uint64_t before = floe_turn_server_stun(f->srv)->counters[FLOE_SRV_DROP_CLASSIC];
        assert_int_equal(fx_client(f, &t6, req, len), FLOE_TSRV_STUN);
        assert_false(f->have_resp);
        assert_int_equal(floe_turn_server_stun(f->srv)->counters[FLOE_SRV_DROP_CLASSIC],
                         before + 1);
    }

    print_message("%-36s %8s %8s %7s\n", "unauthenticated answer", "request", "response", "factor");
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        double factor = (double)rows[i].resp / (double)rows[i].req;
        bool fine = rows[i].resp <= 3 * rows[i].req && rows[i].resp <= 100;
        print_message("%-36s %8zu %8zu %7.2f%s\n", rows[i].what, rows[i].req, rows[i].resp, factor,
                      fine ? "" : "  BREAKS THE BOUND");
        ok = ok && fine;
    }

    /* With RFC 5780 behaviour discovery switched on (not the default), for the record. */
    static const char *const clients[2] = {"203.0.113.5:40000", "[2001:db8:77::5]:40000"};
    static const char *const alt[2] = {"198.51.100.2:3479", "[2001:db8::2]:3479"};
    for (int v = 0; v < 2; v++) {
        fx *g = fx_new();
        floe_turn_tuple tt = udp(clients[v]);
        g->cfg.stun.rfc5780 = true;
        g->cfg.stun.primary = tt.server;
        g->cfg.stun.alternate = addr(alt[v]);
        fx_start(g);
        amp_row row;
        rq_begin(g, &r, FLOE_STUN_BINDING, FLOE_STUN_REQUEST);
        rq_end(&r, false);
        amp_measure(g, &tt, &r, FLOE_TSRV_STUN, 0, &row);
        assert_non_null(floe_stun_msg_find(&g->resp, FLOE_STUN_ATTR_OTHER_ADDRESS));
        print_message("%-36s %8zu %8zu %7.2f%s\n",
                      v ? "Binding, rfc5780 on, IPv6" : "Binding, rfc5780 on, IPv4", row.req,
                      row.resp, (double)row.resp / (double)row.req,
                      row.resp <= 3 * row.req && row.resp <= 100 ? ""
                                                                 : "  (over the bound; opt-in)");
        fx_free(g);
    }
    fx_free(f);
    assert_true(ok); /* every answer of the default configuration within the bound */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_then_allocate),
        cmocka_unit_test(test_software_only_when_configured),
        cmocka_unit_test(test_stale_nonce),
        cmocka_unit_test(test_tcp_relay),
        cmocka_unit_test(test_security_table_tcp),
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_rest_credentials),
        cmocka_unit_test(test_allocate_retransmission_and_mismatch),
        cmocka_unit_test(test_allocate_errors),
        cmocka_unit_test(test_dual_allocation),
        cmocka_unit_test(test_quota_capacity_draining),
        cmocka_unit_test(test_reservation_token),
        cmocka_unit_test(test_reservation_expiry),
        cmocka_unit_test(test_reservation_errors),
        cmocka_unit_test(test_reservation_unsupported),
        cmocka_unit_test(test_reservation_shared),
        cmocka_unit_test(test_shared_quota_hooks),
        cmocka_unit_test(test_refresh_lifetimes),
        cmocka_unit_test(test_cross_user_refresh_refused),
        cmocka_unit_test(test_requests_without_allocation),
        cmocka_unit_test(test_permission_send_data),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_channels_over_tcp),
        cmocka_unit_test(test_permission_and_channel_expiry),
        cmocka_unit_test(test_allocation_expiry),
        cmocka_unit_test(test_conn_closed),
        cmocka_unit_test(test_stale_handle_after_reuse),
        cmocka_unit_test(test_permission_cap),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_accounting_identity),
        cmocka_unit_test(test_security_table),
        cmocka_unit_test(test_policy_controls),
        cmocka_unit_test(test_amplification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
