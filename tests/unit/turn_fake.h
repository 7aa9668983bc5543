/* A scripted TURN server and a virtual-time loop for the TURN client tests.
 *
 * The server is built in the test on floe's STUN codec, not on floe's TURN code, so the
 * client is checked against an independent reading of RFC 8656: long-term credentials
 * with MD5 (or SHA-256 through PASSWORD-ALGORITHMS), 401 and 438, 300 ALTERNATE-SERVER,
 * Allocate (REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY, ADDRESS-ERROR-CODE),
 * Refresh, CreatePermission, ChannelBind, and a peer behind the relay that echoes what
 * it is sent (Send indication -> Data indication, ChannelData -> ChannelData). Knobs make
 * it answer with errors, forge answers, or stay silent.
 *
 * The loop is the five-step loop in virtual time: datagrams take `delay` each way,
 * time jumps to the next deadline or arrival. Nothing here reads a clock or a socket. */
#ifndef FLOE_TESTS_TURN_FAKE_H
#define FLOE_TESTS_TURN_FAKE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"
#include "floe/turn.h"

#define FAKE_SERVER "192.0.2.10:3478"
#define FAKE_ALT_SERVER "192.0.2.11:3478"
#define FAKE_CLIENT "198.51.100.7:40000"
#define FAKE_RELAYED4 "192.0.2.10:50000"
#define FAKE_RELAYED6 "[2001:db8::10]:50000"
#define FAKE_USER "alice"
#define FAKE_PASS "wonderland"
#define FAKE_REALM "example.org"

static inline floe_addr fk_addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static inline int fk_rand(void *ctx, void *buf, size_t len) {
    uint64_t *s = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005u + 1442695040888963407u;
        p[i] = (uint8_t)(*s >> 56);
    }
    return FLOE_OK;
}

/* ---- the server ---------------------------------------------------------------------- */

#define FK_MAX_PERMS 8
#define FK_MAX_CHANS 8
#define FK_MAX_LOG 64

typedef struct fk_server {
    floe_addr addr;
    bool auth;           /* long-term credentials required (default) */
    bool sha256;         /* offer SHA-256 through the nonce cookie and PASSWORD-ALGORITHMS */
    bool anonymity;      /* ... and ask for USERHASH */
    unsigned stale_left; /* answer 438 to this many authenticated requests */
    unsigned nonce_gen;
    char nonce[64];
    unsigned redirects_left; /* answer 300 to the next Allocates */
    floe_addr alternate;
    int alloc_error;   /* error code for an (authenticated) Allocate */
    int refresh_error; /* ... for a Refresh with a lifetime */
    int perm_error;
    int chan_error;
    uint32_t lifetime;    /* granted; 0 = what was asked, capped at 3600, default 600 */
    int v6_error;         /* dual allocation: refuse IPv6 with this ADDRESS-ERROR-CODE */
    bool forge;           /* sign successes with a wrong key */
    bool unsigned_ok;     /* send successes without MESSAGE-INTEGRITY */
    bool silent;          /* drop every request */
    bool silent_bindings; /* drop CreatePermission and ChannelBind requests */
    bool allocated;
    floe_addr perms[FK_MAX_PERMS];
    unsigned n_perms;
    uint16_t chan_num[FK_MAX_CHANS];
    floe_addr chan_peer[FK_MAX_CHANS];
    unsigned n_chans;
    /* what arrived */
    unsigned n_requests, n_allocates, n_refreshes, n_perm_reqs, n_chan_reqs, n_sends,
        n_channel_data;
    uint16_t methods[FK_MAX_LOG];
    bool authed[FK_MAX_LOG];
    uint32_t last_lifetime;  /* LIFETIME of the last Refresh (or ~0 when absent) */
    bool last_had_userhash;  /* the last authenticated request used USERHASH */
    bool last_had_sha256;    /* ... MESSAGE-INTEGRITY-SHA256 */
    uint8_t last_family;     /* REQUESTED-ADDRESS-FAMILY of the last Allocate (0 = none) */
    uint8_t last_additional; /* ADDITIONAL-ADDRESS-FAMILY of the last Allocate */
} fk_server;

static inline void fk_server_init(fk_server *s) {
    memset(s, 0, sizeof *s);
    s->addr = fk_addr(FAKE_SERVER);
    s->auth = true;
    snprintf(s->nonce, sizeof s->nonce, "nonce-%u", s->nonce_gen);
}

static inline void fk_new_nonce(fk_server *s) {
    s->nonce_gen++;
    if (s->sha256) {
        char cookie[FLOE_STUN_NONCE_COOKIE_LEN + 1];
        uint32_t f = FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS |
                     (s->anonymity ? FLOE_STUN_FEATURE_USERNAME_ANONYMITY : 0);
        floe_stun_nonce_cookie(f, cookie);
        cookie[FLOE_STUN_NONCE_COOKIE_LEN] = '\0';
        snprintf(s->nonce, sizeof s->nonce, "%sn%u", cookie, s->nonce_gen);
    } else {
        snprintf(s->nonce, sizeof s->nonce, "nonce-%u", s->nonce_gen);
    }
}

static inline void fk_key(const fk_server *s, uint8_t key[32], size_t *len) {
    assert_int_equal(
        floe_stun_key_long_term(s->sha256 ? FLOE_STUN_PWALG_SHA256 : FLOE_STUN_PWALG_MD5, FAKE_USER,
                                FAKE_REALM, FAKE_PASS, key, len),
        FLOE_OK);
}

/* Ends a response: integrity (unless the knobs say otherwise) and FINGERPRINT. */
static inline size_t fk_finish(fk_server *s, floe_stun_builder *b, bool sign) {
    if (sign && s->auth && !s->unsigned_ok) {
        uint8_t key[32];
        size_t klen = 0;
        fk_key(s, key, &klen);
        if (s->forge) key[0] ^= 0xff;
        if (s->sha256)
            floe_stun_add_integrity_sha256(b, key, klen, 32);
        else
            floe_stun_add_integrity(b, key, klen);
    }
    floe_stun_add_fingerprint(b);
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(b, &n), FLOE_OK);
    return n;
}

static inline size_t fk_error(fk_server *s, const floe_stun_msg *m, int code, bool challenge,
                              bool sign, uint8_t *out, size_t cap) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_ERROR, m->tid);
    floe_stun_add_error(&b, code, NULL);
    if (challenge) {
        floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, FAKE_REALM);
        floe_stun_add_string(&b, FLOE_STUN_ATTR_NONCE, s->nonce);
        if (s->sha256) {
            uint16_t algs[] = {FLOE_STUN_PWALG_SHA256, FLOE_STUN_PWALG_MD5};
            floe_stun_add_password_algorithms(&b, algs, 2);
        }
    }
    return fk_finish(s, &b, sign);
}

static inline bool fk_has_perm(const fk_server *s, const floe_addr *peer) {
    for (unsigned i = 0; i < s->n_perms; i++)
        if (floe_addr_ip_equal(&s->perms[i], peer)) return true;
    return false;
}

static inline void fk_add_perm(fk_server *s, const floe_addr *peer) {
    if (fk_has_perm(s, peer) || s->n_perms == FK_MAX_PERMS) return;
    s->perms[s->n_perms++] = *peer;
}

/* Checks the credentials of a request; returns 0 when it may go on, else the length of
 * the challenge written to out. */
static inline size_t fk_check_auth(fk_server *s, const floe_stun_msg *m, uint8_t *out, size_t cap,
                                   bool *ok) {
    *ok = false;
    if (!s->auth) {
        *ok = true;
        return 0;
    }
    if (m->mi < 0 && m->mi256 < 0) return fk_error(s, m, 401, true, false, out, cap);
    const char *nonce = NULL;
    size_t nlen = 0;
    if (floe_stun_msg_get_string(m, FLOE_STUN_ATTR_NONCE, &nonce, &nlen) != FLOE_OK)
        return fk_error(s, m, 400, false, false, out, cap);
    s->last_had_userhash = floe_stun_msg_find(m, FLOE_STUN_ATTR_USERHASH) != NULL;
    s->last_had_sha256 = m->mi256 >= 0;
    uint8_t key[32];
    size_t klen = 0;
    fk_key(s, key, &klen);
    if (floe_stun_msg_check_integrity(m, key, klen) != FLOE_OK)
        return fk_error(s, m, 401, true, false, out, cap);
    if (nlen != strlen(s->nonce) || memcmp(nonce, s->nonce, nlen) != 0 || s->stale_left) {
        if (s->stale_left) s->stale_left--;
        fk_new_nonce(s);
        return fk_error(s, m, 438, true, false, out, cap);
    }
    *ok = true;
    return 0;
}

static inline size_t fk_allocate(fk_server *s, const floe_stun_msg *m, const floe_addr *from,
                                 uint8_t *out, size_t cap) {
    s->n_allocates++;
    if (s->redirects_left) {
        s->redirects_left--;
        floe_stun_builder b;
        floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_ERROR, m->tid);
        floe_stun_add_error(&b, 300, NULL);
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_ALTERNATE_SERVER, &s->alternate);
        return fk_finish(s, &b, false);
    }
    bool ok;
    size_t n = fk_check_auth(s, m, out, cap, &ok);
    if (!ok) return n;
    uint32_t v = 0;
    s->last_family =
        floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &v) == FLOE_OK
            ? (uint8_t)(v >> 24)
            : 0;
    s->last_additional =
        floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &v) == FLOE_OK
            ? (uint8_t)(v >> 24)
            : 0;
    assert_int_equal(floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, &v), FLOE_OK);
    assert_int_equal(v, 17u << 24);
    if (s->alloc_error) return fk_error(s, m, s->alloc_error, false, true, out, cap);
    uint32_t life = s->lifetime;
    if (!life) {
        life = 600;
        if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_LIFETIME, &v) == FLOE_OK)
            life = v > 3600 ? 3600 : v;
    }
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_SUCCESS, m->tid);
    floe_addr r4 = fk_addr(FAKE_RELAYED4), r6 = fk_addr(FAKE_RELAYED6);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, s->last_family == 2 ? &r6 : &r4);
    if (s->last_additional == 2) {
        if (s->v6_error) {
            uint8_t val[4 + 32];
            const char *reason = floe_stun_error_reason(s->v6_error);
            size_t rl = strlen(reason);
            val[0] = 0x02;
            val[1] = 0;
            val[2] = (uint8_t)(s->v6_error / 100);
            val[3] = (uint8_t)(s->v6_error % 100);
            if (rl > 32) rl = 32;
            memcpy(val + 4, reason, rl);
            floe_stun_add(&b, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, val, 4 + rl);
        } else {
            floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &r6);
        }
    }
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, life);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, from);
    s->allocated = true;
    return fk_finish(s, &b, true);
}

static inline size_t fk_refresh(fk_server *s, const floe_stun_msg *m, uint8_t *out, size_t cap) {
    s->n_refreshes++;
    bool ok;
    size_t n = fk_check_auth(s, m, out, cap, &ok);
    if (!ok) return n;
    uint32_t life = ~0u;
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_LIFETIME, &life) != FLOE_OK) life = ~0u;
    s->last_lifetime = life;
    if (!s->allocated) return fk_error(s, m, 437, false, true, out, cap);
    if (life != 0 && s->refresh_error)
        return fk_error(s, m, s->refresh_error, false, true, out, cap);
    uint32_t granted = life == ~0u ? (s->lifetime ? s->lifetime : 600) : life > 3600 ? 3600 : life;
    if (life == 0) {
        s->allocated = false;
        s->n_perms = s->n_chans = 0;
    }
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_SUCCESS, m->tid);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, granted);
    return fk_finish(s, &b, true);
}

static inline size_t fk_permission(fk_server *s, const floe_stun_msg *m, uint8_t *out, size_t cap) {
    s->n_perm_reqs++;
    bool ok;
    size_t n = fk_check_auth(s, m, out, cap, &ok);
    if (!ok) return n;
    if (!s->allocated) return fk_error(s, m, 437, false, true, out, cap);
    floe_addr peer;
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK)
        return fk_error(s, m, 400, false, true, out, cap);
    if (s->perm_error) return fk_error(s, m, s->perm_error, false, true, out, cap);
    fk_add_perm(s, &peer);
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_SUCCESS, m->tid);
    return fk_finish(s, &b, true);
}

static inline size_t fk_channel(fk_server *s, const floe_stun_msg *m, uint8_t *out, size_t cap) {
    s->n_chan_reqs++;
    bool ok;
    size_t n = fk_check_auth(s, m, out, cap, &ok);
    if (!ok) return n;
    if (!s->allocated) return fk_error(s, m, 437, false, true, out, cap);
    floe_addr peer;
    uint32_t v = 0;
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK ||
        floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_CHANNEL_NUMBER, &v) != FLOE_OK ||
        !floe_turn_channel_valid((uint16_t)(v >> 16)) || (v & 0xffff) != 0)
        return fk_error(s, m, 400, false, true, out, cap);
    if (s->chan_error) return fk_error(s, m, s->chan_error, false, true, out, cap);
    fk_add_perm(s, &peer);
    unsigned i = 0;
    while (i < s->n_chans && s->chan_num[i] != (uint16_t)(v >> 16))
        i++;
    if (i == s->n_chans && s->n_chans < FK_MAX_CHANS) s->n_chans++;
    s->chan_num[i] = (uint16_t)(v >> 16);
    s->chan_peer[i] = peer;
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_SUCCESS, m->tid);
    return fk_finish(s, &b, true);
}

/* The peer echoes: a Send indication comes back as ChannelData when a channel is bound
 * to the peer, else as a Data indication. */
static inline size_t fk_echo(fk_server *s, const floe_addr *peer, const uint8_t *data, size_t len,
                             uint8_t *out, size_t cap) {
    if (!s->allocated || !fk_has_perm(s, peer)) return 0;
    for (unsigned i = 0; i < s->n_chans; i++) {
        if (floe_addr_equal(&s->chan_peer[i], peer)) {
            size_t n = 0;
            assert_int_equal(
                floe_turn_channel_data_encode(s->chan_num[i], data, len, false, out, cap, &n),
                FLOE_OK);
            return n;
        }
    }
    uint8_t tid[FLOE_STUN_TID_LEN] = {0xd, 0xa, 0x7, 0xa};
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, len);
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    return n;
}

/* One datagram from the client; the answer (if any) into out. */
static inline size_t fk_handle(fk_server *s, const uint8_t *p, size_t len, const floe_addr *from,
                               uint8_t *out, size_t cap) {
    if ((p[0] & 0xc0) == 0x40) {
        uint16_t ch = 0;
        const uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(floe_turn_channel_data_decode(p, len, &ch, &d, &n), FLOE_OK);
        s->n_channel_data++;
        for (unsigned i = 0; i < s->n_chans; i++)
            if (s->chan_num[i] == ch) return fk_echo(s, &s->chan_peer[i], d, n, out, cap);
        return 0;
    }
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(p, len, 0, &m), FLOE_OK);
    assert_int_equal(m.raw_len, len);
    if (m.cls == FLOE_STUN_INDICATION) {
        assert_int_equal(m.method, FLOE_STUN_SEND);
        s->n_sends++;
        floe_addr peer;
        const floe_stun_attr *d = floe_stun_msg_find(&m, FLOE_STUN_ATTR_DATA);
        assert_non_null(d);
        assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer),
                         FLOE_OK);
        return fk_echo(s, &peer, d->val, d->len, out, cap);
    }
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    assert_true(m.fp >= 0); /* the client adds FINGERPRINT */
    if (s->n_requests < FK_MAX_LOG) {
        s->methods[s->n_requests] = m.method;
        s->authed[s->n_requests] = m.mi >= 0 || m.mi256 >= 0;
    }
    s->n_requests++;
    if (s->silent) return 0;
    if (s->silent_bindings &&
        (m.method == FLOE_STUN_CREATE_PERMISSION || m.method == FLOE_STUN_CHANNEL_BIND))
        return 0;
    switch (m.method) {
    case FLOE_STUN_ALLOCATE: return fk_allocate(s, &m, from, out, cap);
    case FLOE_STUN_REFRESH: return fk_refresh(s, &m, out, cap);
    case FLOE_STUN_CREATE_PERMISSION: return fk_permission(s, &m, out, cap);
    case FLOE_STUN_CHANNEL_BIND: return fk_channel(s, &m, out, cap);
    }
    return fk_error(s, &m, 400, false, false, out, cap);
}

/* ---- the world: client, server, wire, virtual clock ---------------------------------- */

#define FK_MAX_FLIGHT 64
#define FK_MAX_EVENTS 64

typedef struct fk_packet {
    floe_time_ns at;
    bool to_server;
    floe_addr src, dst;
    uint8_t data[1500];
    size_t len;
} fk_packet;

typedef struct fk_world {
    floe_turn_client *c;
    fk_server srv, alt; /* alt answers at FAKE_ALT_SERVER */
    floe_addr client_addr;
    floe_time_ns now, delay;
    uint64_t seed;
    bool lose_to_server, lose_to_client;
    fk_packet flight[FK_MAX_FLIGHT];
    size_t n_flight;
    floe_turn_event events[FK_MAX_EVENTS];
    unsigned n_events;
    unsigned n_data;
    uint8_t last_data[256];
    size_t last_data_len;
    uint16_t last_data_channel;
    floe_addr last_data_peer;
} fk_world;

static inline void fk_world_init(fk_world *w, floe_turn_config *cfg_out) {
    memset(w, 0, sizeof *w);
    fk_server_init(&w->srv);
    fk_server_init(&w->alt);
    w->alt.addr = fk_addr(FAKE_ALT_SERVER);
    w->client_addr = fk_addr(FAKE_CLIENT);
    w->delay = FLOE_MS(10);
    w->now = FLOE_S(1000);
    w->seed = 42;
    floe_turn_config_default(cfg_out);
    cfg_out->server = w->srv.addr;
    cfg_out->username = FAKE_USER;
    cfg_out->password = FAKE_PASS;
    cfg_out->rand = fk_rand;
    cfg_out->rand_ctx = &w->seed;
}

static inline void fk_world_start(fk_world *w, const floe_turn_config *cfg) {
    assert_int_equal(floe_turn_client_new(&w->c, cfg), FLOE_OK);
}

static inline void fk_world_free(fk_world *w) {
    floe_turn_client_free(w->c);
    w->c = NULL;
}

static inline void fk_enqueue(fk_world *w, bool to_server, const floe_addr *src,
                              const floe_addr *dst, const uint8_t *p, size_t len) {
    assert_true(w->n_flight < FK_MAX_FLIGHT);
    assert_true(len <= sizeof w->flight[0].data);
    fk_packet *k = &w->flight[w->n_flight++];
    k->at = w->now + w->delay;
    k->to_server = to_server;
    k->src = *src;
    k->dst = *dst;
    memcpy(k->data, p, len);
    k->len = len;
}

static inline void fk_drain(fk_world *w) {
    uint8_t buf[FLOE_TURN_MAX_REQUEST];
    size_t len;
    floe_addr to;
    while (floe_turn_client_next_send(w->c, w->now, buf, sizeof buf, &len, &to) == FLOE_OK) {
        if (!w->lose_to_server) fk_enqueue(w, true, &w->client_addr, &to, buf, len);
    }
    floe_turn_event ev;
    while (floe_turn_client_next_event(w->c, &ev)) {
        assert_true(w->n_events < FK_MAX_EVENTS);
        w->events[w->n_events++] = ev;
    }
}

/* Hands a datagram the client built (send()) to the wire. */
static inline void fk_client_send(fk_world *w, const uint8_t *p, size_t len) {
    floe_addr srv = floe_turn_client_server(w->c);
    fk_enqueue(w, true, &w->client_addr, &srv, p, len);
}

static inline void fk_deliver_due(fk_world *w) {
    for (;;) {
        size_t best = w->n_flight;
        for (size_t i = 0; i < w->n_flight; i++)
            if (w->flight[i].at <= w->now &&
                (best == w->n_flight || w->flight[i].at < w->flight[best].at))
                best = i;
        if (best == w->n_flight) return;
        fk_packet k = w->flight[best];
        w->flight[best] = w->flight[--w->n_flight];
        if (k.to_server) {
            fk_server *s = floe_addr_equal(&k.dst, &w->alt.addr) ? &w->alt : &w->srv;
            if (!floe_addr_equal(&k.dst, &s->addr)) continue; /* nobody there */
            uint8_t out[1500];
            size_t n = fk_handle(s, k.data, k.len, &k.src, out, sizeof out);
            if (n && !w->lose_to_client) fk_enqueue(w, false, &s->addr, &k.src, out, n);
        } else {
            floe_turn_data d;
            floe_turn_recv_kind r =
                floe_turn_client_on_recv(w->c, w->now, k.data, k.len, &k.src, &d);
            if (r == FLOE_TURN_RECV_DATA) {
                w->n_data++;
                w->last_data_len = d.len < sizeof w->last_data ? d.len : sizeof w->last_data;
                memcpy(w->last_data, d.p, w->last_data_len);
                w->last_data_channel = d.channel;
                w->last_data_peer = d.peer;
            }
        }
    }
}

/* Runs the loop until `until` (virtual time), stepping from deadline to arrival. */
static inline void fk_run_until(fk_world *w, floe_time_ns until) {
    for (int guard = 0; guard < 200000; guard++) {
        fk_drain(w);
        floe_time_ns next = floe_turn_client_deadline(w->c);
        /* The client's promise: after a tick no deadline lies in the past. */
        assert_true(next > w->now);
        for (size_t i = 0; i < w->n_flight; i++)
            if (w->flight[i].at < next) next = w->flight[i].at;
        if (next > until) {
            w->now = until;
            fk_deliver_due(w);
            floe_turn_client_tick(w->c, w->now);
            fk_drain(w);
            return;
        }
        if (next > w->now) w->now = next;
        fk_deliver_due(w);
        floe_turn_client_tick(w->c, w->now);
        assert_true(floe_turn_client_deadline(w->c) > w->now); /* right after the tick too */
    }
    fail_msg("the loop did not settle");
}

static inline void fk_run_for(fk_world *w, floe_time_ns d) {
    fk_run_until(w, w->now + d);
}

/* The index of the first event of type at or after `from`, or -1. */
static inline int fk_find_event(const fk_world *w, floe_turn_event_type type, unsigned from) {
    for (unsigned i = from; i < w->n_events; i++)
        if (w->events[i].type == type) return (int)i;
    return -1;
}

static inline unsigned fk_count_events(const fk_world *w, floe_turn_event_type type) {
    unsigned n = 0;
    for (unsigned i = 0; i < w->n_events; i++)
        n += w->events[i].type == type;
    return n;
}

/* The counters' promise: every input lands in exactly one of them. */
static inline void fk_check_stats(const fk_world *w) {
    const floe_turn_stats *st = floe_turn_client_stats(w->c);
    assert_int_equal(st->rx, st->rx_responses + st->rx_channel_data + st->rx_data_indications +
                                 st->rx_connection_attempts + st->drop_malformed +
                                 st->drop_not_server + st->drop_unmatched + st->drop_integrity +
                                 st->drop_unexpected + st->drop_no_binding);
}

#endif
