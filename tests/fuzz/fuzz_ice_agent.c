/* libFuzzer target: a live ICE agent fed datagrams and time jumps.
 *
 * The input is a little program: the first bytes choose the configuration (role, lite,
 * consent, streams, components, caps), then each operation takes a byte and some
 * arguments: a raw datagram, a valid check built from the input (our credentials, any
 * role, tie-breaker, USE-CANDIDATE, maybe a flipped byte), an answer to one of the
 * agent's own requests (success or error, any mapped address, maybe the wrong source or
 * key), a time jump, a tick, a remote candidate, a restart, remote-lite. After every
 * operation the outgoing datagrams and events are drained and the invariants checked:
 * every array within its cap, and after a tick the deadline lies in the future (or is
 * FLOE_TIME_NEVER). ASan and UBSan catch the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/ice.h"
#include "floe/stun.h"
#include "ice/ice_priv.h"
#include "fuzz_input.h"

#define PEER_UFRAG "peer"
#define PEER_PWD "peerpassword0123456789"

/* A handful of peer addresses, both families. */
static floe_addr peer_addr(unsigned k) {
    static const char *const all[] = {"10.0.0.2:6000",      "10.0.0.3:6001",
                                      "203.0.113.9:40000",  "[2001:db8::2]:6000",
                                      "[2001:db8::3]:6002", "198.51.100.1:3478"};
    floe_addr a;
    memset(&a, 0, sizeof a);
    floe_addr_parse(all[k % (sizeof all / sizeof all[0])], &a);
    return a;
}

/* Requests the agent sent, to answer later. */
#define SENT_MAX 16
typedef struct sent {
    uint8_t tid[FLOE_STUN_TID_LEN];
    unsigned base;
    floe_addr to;
    bool to_server;
} sent;

typedef struct world {
    floe_ice_agent *a;
    floe_time_ns now;
    uint64_t seed;
    unsigned n_streams;
    sent out[SENT_MAX];
    unsigned n_out;
} world;

static void invariants(const world *w) {
    const floe_ice_agent *a = w->a;
    if (a->n_pairs > a->max_pairs || a->n_local > a->max_local || a->n_remote > a->max_remote ||
        a->n_bases > a->max_bases || a->ev_count > FLOE_ICE_MAX_EVENTS ||
        a->resp_count > ICE_RESP_SLOTS)
        abort();
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->local >= a->n_local || p->remote >= a->n_remote || p->stream >= a->n_streams ||
            p->state > FLOE_ICE_PAIR_FAILED)
            abort();
        if (p->valid != ICE_NONE && p->valid >= a->n_pairs) abort();
    }
    if (!ice_txn_consistent(a)) abort(); /* transaction slots and their owners agree */
}

static void drain(world *w) {
    uint8_t buf[FLOE_ICE_SEND_MAX];
    size_t len;
    unsigned base;
    floe_addr to;
    int guard = 0;
    while (floe_ice_agent_next_send(w->a, w->now, buf, sizeof buf, &len, &base, &to) == FLOE_OK) {
        if (len > sizeof buf || base >= w->a->n_bases || ++guard > 4096) abort();
        floe_stun_msg m;
        if (floe_stun_msg_decode(buf, len, 0, &m) != FLOE_OK) abort(); /* we send valid STUN */
        if (m.cls == FLOE_STUN_REQUEST) {
            sent *s = &w->out[w->n_out++ % SENT_MAX];
            memcpy(s->tid, m.tid, FLOE_STUN_TID_LEN);
            s->base = base;
            s->to = to;
            s->to_server = floe_stun_msg_find(&m, FLOE_STUN_ATTR_USERNAME) == NULL;
        }
    }
    floe_ice_event ev;
    guard = 0;
    while (floe_ice_agent_next_event(w->a, &ev))
        if (++guard > FLOE_ICE_MAX_EVENTS) abort();
    invariants(w);
}

static void feed(world *w, unsigned base, const floe_addr *from, const uint8_t *p, size_t len) {
    floe_ice_recv_info info;
    if (floe_ice_agent_on_recv(w->a, w->now, base, from, p, len, &info) != FLOE_OK) abort();
    drain(w);
}

static void op_check(world *w, input *in) {
    uint8_t flags = u8(in);
    uint8_t buf[FLOE_ICE_SEND_MAX], tid[FLOE_STUN_TID_LEN];
    for (size_t i = 0; i < sizeof tid; i++)
        tid[i] = u8(in);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    char user[64];
    strcpy(user, (flags & 0x80) ? "nobody" : floe_ice_agent_local_ufrag(w->a));
    strcat(user, ":" PEER_UFRAG);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, user);
    if (!(flags & 0x40)) floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, u32(in) | 1);
    uint64_t tb = (uint64_t)u32(in) << 32 | u32(in);
    if (flags & 0x01) floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, tb);
    if (flags & 0x02) floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, tb);
    if (flags & 0x04) floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (flags & 0x08) floe_stun_add_u32(&b, 0x7ff0, 0); /* unknown, comprehension-required */
    const char *pwd = (flags & 0x10) ? "wrong" : floe_ice_agent_local_pwd(w->a);
    floe_stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
    if (flags & 0x20) { /* flip a byte */
        size_t at = u8(in) % len;
        buf[at] ^= (uint8_t)(u8(in) | 1);
    }
    floe_addr from = peer_addr(u8(in));
    feed(w, u8(in) % (w->a->n_bases + 1), &from, buf, len);
}

static void op_answer(world *w, input *in) {
    if (w->n_out == 0) return;
    const sent *s = &w->out[u8(in) % (w->n_out < SENT_MAX ? w->n_out : SENT_MAX)];
    uint8_t flags = u8(in);
    uint8_t buf[FLOE_ICE_SEND_MAX];
    floe_stun_builder b;
    bool error = flags & 0x01;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING,
                           error ? FLOE_STUN_ERROR : FLOE_STUN_SUCCESS, s->tid);
    if (error) {
        static const int codes[] = {487, 400, 401, 420, 500, 300};
        floe_stun_add_error(&b, codes[u8(in) % 6], NULL);
    } else {
        floe_addr mapped = (flags & 0x02) ? peer_addr(u8(in)) : w->a->bases[s->base].addr;
        if (flags & 0x04) mapped.port = u16(in);
        if (!(flags & 0x08)) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    }
    if (!s->to_server && !(flags & 0x10)) {
        const char *pwd = (flags & 0x20) ? "wrong" : PEER_PWD;
        floe_stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    }
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
    floe_addr from = (flags & 0x40) ? peer_addr(u8(in)) : s->to;
    unsigned base = (flags & 0x80) ? u8(in) % (w->a->n_bases + 1) : s->base;
    feed(w, base, &from, buf, len);
}

static void op_raw(world *w, input *in) {
    uint8_t buf[600];
    size_t len = u8(in) % sizeof buf;
    for (size_t i = 0; i < len; i++)
        buf[i] = u8(in);
    if (len && (buf[0] & 1)) buf[0] &= 3; /* often STUN-looking */
    floe_addr from = peer_addr(u8(in));
    feed(w, u8(in) % (w->a->n_bases + 1), &from, buf, len);
}

static void op_remote(world *w, input *in) {
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    uint8_t f = u8(in);
    c.type = (floe_ice_cand_type)(f & 3);
    c.component = (uint8_t)(1 + ((f >> 2) & 1));
    c.priority = u32(in);
    c.foundation[0] = (char)('a' + (f >> 4));
    c.addr = peer_addr(u8(in));
    c.addr.port = (uint16_t)(c.addr.port + (u8(in) & 7));
    floe_ice_agent_add_remote_candidate(w->a, u8(in) % (w->n_streams + 1), &c);
    drain(w);
}

static void op_tick(world *w) {
    floe_ice_agent_tick(w->a, w->now);
    floe_time_ns d = floe_ice_agent_deadline(w->a);
    if (d != FLOE_TIME_NEVER && d <= w->now && floe_ice_agent_get_state(w->a) != FLOE_ICE_AGENT_NEW)
        abort(); /* a deadline in the past after tick: the loop would spin */
    drain(w);
}

static void credentials(world *w) {
    for (unsigned s = 0; s < w->n_streams; s++)
        floe_ice_agent_set_remote_credentials(w->a, s, PEER_UFRAG, PEER_PWD);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size, 0};
    world w;
    memset(&w, 0, sizeof w);
    uint8_t cfgb = u8(&in), caps = u8(&in);
    w.seed = 0x9E3779B97F4A7C15ull ^ u32(&in);
    floe_ice_config c;
    floe_ice_config_default(&c);
    c.rand = fuzz_rand;
    c.rand_ctx = &w.seed;
    c.lite = cfgb & 0x01;
    c.controlling = !c.lite && (cfgb & 0x02);
    c.consent = cfgb & 0x04;
    w.n_streams = 1 + ((cfgb >> 3) & 1);
    c.n_streams = w.n_streams;
    c.components[0] = 1 + ((cfgb >> 4) & 1);
    c.components[1] = 1 + ((cfgb >> 5) & 1);
    c.max_pairs = 1 + (caps & 15);
    c.max_local = 2 + ((caps >> 4) & 7);
    c.max_remote = 1 + (caps >> 5);
    c.stun_servers[0] = peer_addr(5);
    c.n_stun_servers = (cfgb & 0x40) ? 1 : 0;
    if (floe_ice_agent_new(&w.a, &c) != FLOE_OK) return 0;
    w.now = FLOE_S(1);

    static const char *const hosts[] = {"10.0.0.1:5000", "[2001:db8::1]:5000", "10.0.1.1:5000"};
    unsigned k = 0;
    for (unsigned s = 0; s < w.n_streams; s++)
        for (unsigned comp = 1; comp <= c.components[s]; comp++)
            for (unsigned h = 0; h < 2; h++) {
                floe_addr x;
                memset(&x, 0, sizeof x);
                floe_addr_parse(hosts[(h + (cfgb >> 7)) % 3], &x);
                x.port = (uint16_t)(5000 + k++);
                unsigned base;
                floe_ice_agent_add_host(w.a, s, comp, &x, h ? "eth1" : "eth0", &base);
            }
    floe_ice_agent_gather(w.a, w.now);
    credentials(&w);
    for (unsigned r = 0; r < 3; r++)
        op_remote(&w, &in);
    floe_ice_agent_start(w.a, w.now);
    drain(&w);

    while (in.off < in.n) {
        switch (u8(&in) % 10) {
        case 0: op_raw(&w, &in); break;
        case 1:
        case 2: op_check(&w, &in); break;
        case 3:
        case 4: op_answer(&w, &in); break;
        case 5: w.now += (floe_time_ns)u16(&in) * FLOE_MS(1); break;
        case 6: op_tick(&w); break;
        case 7: op_remote(&w, &in); break;
        case 8:
            if (u8(&in) < 16) {
                floe_ice_agent_restart(w.a, w.now);
                credentials(&w);
                floe_ice_agent_start(w.a, w.now);
                drain(&w);
            }
            break;
        case 9: {
            floe_ice_agent_set_remote_lite(w.a, u8(&in) & 1);
            unsigned base;
            floe_addr to;
            floe_ice_agent_data_path(w.a, 0, 1, &base, &to);
            drain(&w);
            break;
        }
        }
        /* Run the loop for a while like a runtime would: tick when due. */
        for (int i = 0; i < 4; i++) {
            floe_time_ns d = floe_ice_agent_deadline(w.a);
            if (d == FLOE_TIME_NEVER || d > w.now + FLOE_S(2)) break;
            if (d > w.now) w.now = d;
            op_tick(&w);
        }
    }
    floe_ice_agent_free(w.a);
    return 0;
}
