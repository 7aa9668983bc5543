/* A tiny in-test network for ICE agents, in virtual time, and its own tests.
 *
 * The other tests/unit/test_ice_*.c files include this file with TEST_ICE_NET_LIB defined
 * to get the network without this file's main(). The network carries datagrams between
 * two agents (and a STUN server made of floe_stun_server) with a delay, deterministic
 * random loss, per-path rules (extra delay, blocked paths) and static one-to-one NAT
 * mappings (enough for server-reflexive and peer-reflexive candidates). Agents get a
 * deterministic random source. Every datagram sent and every event is logged for the
 * tests to inspect. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/ice.h"
#include "floe/stun.h"
#include "floe/stun_server.h"

#define NETFN static __attribute__((unused))

#define NET_AGENTS 2
#define NET_BASES 16
#define NET_FLIGHT 512
#define NET_RULES 16
#define NET_NATS 16
#define NET_LOG 8192
#define NET_EVENTS 1024

typedef struct net_pkt {
    floe_time_ns at;
    uint64_t seq;
    floe_addr src, dst;
    size_t len;
    uint8_t data[FLOE_ICE_SEND_MAX];
} net_pkt;

typedef struct net_rule {
    floe_addr a, b;     /* IPs (ports ignored); b family NONE: any destination */
    floe_time_ns delay; /* replaces the default delay */
    bool drop;
    bool both; /* also b -> a */
} net_rule;

typedef struct net_sent {
    floe_time_ns at;
    int agent;
    unsigned base;
    floe_addr from, to;
    bool stun, use_cand, to_server;
    int cls; /* floe_stun_class when stun */
    size_t len;
} net_sent;

typedef struct net_rng {
    uint64_t s;
} net_rng;

typedef struct tnet {
    floe_time_ns now;
    floe_time_ns delay;
    unsigned loss_pct;
    net_rng loss_rng;
    floe_ice_agent *ag[NET_AGENTS];
    net_rng rng[NET_AGENTS];
    floe_addr base_addr[NET_AGENTS][NET_BASES];
    unsigned n_base[NET_AGENTS];
    floe_addr nat_priv[NET_NATS], nat_pub[NET_NATS];
    unsigned n_nat;
    net_rule rules[NET_RULES];
    unsigned n_rules;
    bool has_srv;
    floe_stun_server srv;
    floe_addr srv_addr[4];
    unsigned n_srv;
    net_pkt *flight;
    unsigned n_flight;
    uint64_t seq;
    net_sent *log;
    unsigned n_log;
    floe_ice_event *ev[NET_AGENTS];
    unsigned n_ev[NET_AGENTS];
    unsigned data_rx[NET_AGENTS];
    unsigned undeliverable;
    unsigned lost;
    bool drop_all; /* a black hole */
} tnet;

NETFN int net_rand(void *ctx, void *buf, size_t len) {
    net_rng *r = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        r->s ^= r->s << 13;
        r->s ^= r->s >> 7;
        r->s ^= r->s << 17;
        p[i] = (uint8_t)(r->s >> 24);
    }
    return FLOE_OK;
}

NETFN floe_addr A(const char *s) {
    floe_addr x;
    memset(&x, 0, sizeof x);
    assert_int_equal(floe_addr_parse(s, &x), FLOE_OK);
    return x;
}

NETFN tnet *net_new(floe_time_ns delay) {
    tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->flight = calloc(NET_FLIGHT, sizeof *n->flight);
    n->log = calloc(NET_LOG, sizeof *n->log);
    for (int i = 0; i < NET_AGENTS; i++) {
        n->ev[i] = calloc(NET_EVENTS, sizeof(floe_ice_event));
        n->rng[i].s = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
    }
    n->loss_rng.s = 0xC0FFEE1234567ull;
    n->delay = delay;
    n->now = FLOE_S(1000);
    return n;
}

NETFN void net_free(tnet *n) {
    for (int i = 0; i < NET_AGENTS; i++) {
        floe_ice_agent_free(n->ag[i]);
        free(n->ev[i]);
    }
    free(n->flight);
    free(n->log);
    free(n);
}

/* A config with the network's random source for agent i. */
NETFN void net_config(tnet *n, int i, floe_ice_config *c, bool controlling) {
    floe_ice_config_default(c);
    c->controlling = controlling;
    c->rand = net_rand;
    c->rand_ctx = &n->rng[i];
}

NETFN void net_agent(tnet *n, int i, const floe_ice_config *c) {
    assert_int_equal(floe_ice_agent_new(&n->ag[i], c), FLOE_OK);
}

NETFN unsigned net_host(tnet *n, int i, unsigned stream, unsigned comp, const char *addr,
                        const char *ifname) {
    unsigned base = 99;
    floe_addr x = A(addr);
    assert_int_equal(floe_ice_agent_add_host(n->ag[i], stream, comp, &x, ifname, &base), FLOE_OK);
    assert_true(base < NET_BASES);
    n->base_addr[i][base] = x;
    if (base >= n->n_base[i]) n->n_base[i] = base + 1;
    return base;
}

NETFN void net_nat(tnet *n, const char *priv, const char *pub) {
    n->nat_priv[n->n_nat] = A(priv);
    n->nat_pub[n->n_nat] = A(pub);
    n->n_nat++;
}

NETFN net_rule *net_rule_add(tnet *n, const char *a, const char *b, bool both) {
    net_rule *r = &n->rules[n->n_rules++];
    memset(r, 0, sizeof *r);
    r->a = A(a);
    if (b) r->b = A(b);
    r->both = both;
    r->delay = n->delay;
    return r;
}

NETFN void net_block(tnet *n, const char *a, const char *b) {
    net_rule_add(n, a, b, true)->drop = true;
}

NETFN void net_server(tnet *n, const char *addr) {
    if (!n->has_srv) {
        floe_stun_server_config sc;
        floe_stun_server_config_default(&sc);
        assert_int_equal(floe_stun_server_init(&n->srv, &sc), FLOE_OK);
        n->has_srv = true;
    }
    assert_true(n->n_srv < 4);
    n->srv_addr[n->n_srv++] = A(addr);
}

static const net_rule *net_match(const tnet *n, const floe_addr *s, const floe_addr *d) {
    for (unsigned i = 0; i < n->n_rules; i++) {
        const net_rule *r = &n->rules[i];
        bool fwd = floe_addr_ip_equal(&r->a, s) &&
                   (r->b.family == FLOE_AF_NONE || floe_addr_ip_equal(&r->b, d));
        bool back = r->both && floe_addr_ip_equal(&r->a, d) &&
                    (r->b.family == FLOE_AF_NONE || floe_addr_ip_equal(&r->b, s));
        if (fwd || back) return r;
    }
    return NULL;
}

static bool net_chance(tnet *n, unsigned pct) {
    uint8_t b[2];
    net_rand(&n->loss_rng, b, 2);
    return ((unsigned)(b[0] << 8 | b[1]) % 100) < pct;
}

/* Puts a datagram on the wire from src (already translated) to dst. */
static void net_put(tnet *n, const floe_addr *src, const floe_addr *dst, const uint8_t *p,
                    size_t len) {
    const net_rule *r = net_match(n, src, dst);
    if (n->drop_all || (r && r->drop)) {
        n->lost++;
        return;
    }
    if (n->loss_pct && net_chance(n, n->loss_pct)) {
        n->lost++;
        return;
    }
    assert_true(n->n_flight < NET_FLIGHT);
    assert_true(len <= FLOE_ICE_SEND_MAX);
    net_pkt *k = &n->flight[n->n_flight++];
    k->at = n->now + (r ? r->delay : n->delay);
    k->seq = n->seq++;
    k->src = *src;
    k->dst = *dst;
    k->len = len;
    memcpy(k->data, p, len);
}

static bool net_is_server(const tnet *n, const floe_addr *x) {
    for (unsigned i = 0; i < n->n_srv; i++)
        if (floe_addr_equal(&n->srv_addr[i], x)) return true;
    return false;
}

static void net_log_send(tnet *n, int i, unsigned base, const floe_addr *to, const uint8_t *p,
                         size_t len) {
    if (n->n_log >= NET_LOG) return;
    net_sent *s = &n->log[n->n_log++];
    memset(s, 0, sizeof *s);
    s->at = n->now;
    s->agent = i;
    s->base = base;
    s->from = n->base_addr[i][base];
    s->to = *to;
    s->len = len;
    s->to_server = net_is_server(n, to);
    floe_stun_msg m;
    if (floe_stun_msg_decode(p, len, 0, &m) == FLOE_OK) {
        s->stun = true;
        s->cls = m.cls;
        s->use_cand = floe_stun_msg_find(&m, FLOE_STUN_ATTR_USE_CANDIDATE) != NULL;
    }
}

/* Drains agent i: datagrams onto the wire, events into its log. */
NETFN void net_drain(tnet *n, int i) {
    floe_ice_agent *a = n->ag[i];
    if (!a) return;
    uint8_t buf[FLOE_ICE_SEND_MAX];
    size_t len;
    unsigned base;
    floe_addr to;
    while (floe_ice_agent_next_send(a, n->now, buf, sizeof buf, &len, &base, &to) == FLOE_OK) {
        assert_true(base < n->n_base[i]);
        net_log_send(n, i, base, &to, buf, len);
        floe_addr src = n->base_addr[i][base];
        for (unsigned k = 0; k < n->n_nat; k++)
            if (floe_addr_equal(&n->nat_priv[k], &src)) src = n->nat_pub[k];
        net_put(n, &src, &to, buf, len);
    }
    floe_ice_event ev;
    while (floe_ice_agent_next_event(a, &ev))
        if (n->n_ev[i] < NET_EVENTS) n->ev[i][n->n_ev[i]++] = ev;
}

static void net_deliver(tnet *n, const net_pkt *k) {
    if (n->has_srv && net_is_server(n, &k->dst)) {
        uint8_t out[FLOE_ICE_SEND_MAX];
        floe_stun_server_reply rep;
        floe_stun_server_handle(&n->srv, k->data, k->len, &k->src, &k->dst, FLOE_TRANSPORT_UDP, out,
                                sizeof out, &rep);
        if (rep.len) net_put(n, &k->dst, &rep.to, out, rep.len);
        return;
    }
    floe_addr dst = k->dst;
    for (unsigned j = 0; j < n->n_nat; j++)
        if (floe_addr_equal(&n->nat_pub[j], &dst)) dst = n->nat_priv[j];
    for (int i = 0; i < NET_AGENTS; i++) {
        if (!n->ag[i]) continue;
        for (unsigned b = 0; b < n->n_base[i]; b++) {
            if (!floe_addr_equal(&n->base_addr[i][b], &dst)) continue;
            floe_ice_recv_info info;
            assert_int_equal(
                floe_ice_agent_on_recv(n->ag[i], n->now, b, &k->src, k->data, k->len, &info),
                FLOE_OK);
            if (info.kind == FLOE_ICE_RECV_DATA) n->data_rx[i]++;
            net_drain(n, i);
            return;
        }
    }
    n->undeliverable++;
}

/* Runs the network until `until` or until stop(n, ctx) is true. Returns true if stopped. */
NETFN bool net_run(tnet *n, floe_time_ns until, bool (*stop)(tnet *, void *), void *ctx) {
    for (;;) {
        for (int i = 0; i < NET_AGENTS; i++) {
            if (!n->ag[i]) continue;
            if (floe_ice_agent_deadline(n->ag[i]) <= n->now) floe_ice_agent_tick(n->ag[i], n->now);
            net_drain(n, i);
            floe_time_ns d = floe_ice_agent_deadline(n->ag[i]);
            assert_true(d == FLOE_TIME_NEVER || d > n->now);
        }
        if (stop && stop(n, ctx)) return true;
        floe_time_ns next = FLOE_TIME_NEVER;
        for (int i = 0; i < NET_AGENTS; i++)
            if (n->ag[i])
                next = next < floe_ice_agent_deadline(n->ag[i]) ? next
                                                                : floe_ice_agent_deadline(n->ag[i]);
        for (unsigned k = 0; k < n->n_flight; k++)
            if (n->flight[k].at < next) next = n->flight[k].at;
        if (next > until) {
            n->now = until;
            return false;
        }
        if (next > n->now) n->now = next;
        /* Deliver what is due, oldest first. */
        for (;;) {
            int pick = -1;
            for (unsigned k = 0; k < n->n_flight; k++) {
                const net_pkt *x = &n->flight[k];
                if (x->at > n->now) continue;
                if (pick < 0 || x->at < n->flight[pick].at ||
                    (x->at == n->flight[pick].at && x->seq < n->flight[pick].seq))
                    pick = (int)k;
            }
            if (pick < 0) break;
            net_pkt k = n->flight[pick];
            n->flight[pick] = n->flight[--n->n_flight];
            net_deliver(n, &k);
        }
    }
}

NETFN void net_advance(tnet *n, floe_time_ns dt) {
    net_run(n, n->now + dt, NULL, NULL);
}

/* ---- event queries ----------------------------------------------------------------- */

NETFN unsigned net_count(const tnet *n, int i, floe_ice_event_type t) {
    unsigned c = 0;
    for (unsigned k = 0; k < n->n_ev[i]; k++)
        if (n->ev[i][k].type == t) c++;
    return c;
}

NETFN const floe_ice_event *net_find(const tnet *n, int i, floe_ice_event_type t, unsigned nth) {
    for (unsigned k = 0; k < n->n_ev[i]; k++)
        if (n->ev[i][k].type == t && nth-- == 0) return &n->ev[i][k];
    return NULL;
}

static bool stop_state(tnet *n, void *ctx) {
    floe_ice_agent_state want = *(const floe_ice_agent_state *)ctx;
    for (int i = 0; i < NET_AGENTS; i++)
        if (n->ag[i] && floe_ice_agent_get_state(n->ag[i]) != want) return false;
    return true;
}

/* Runs until every agent is in state s (true) or until the time limit (false). */
NETFN bool net_run_until_state(tnet *n, floe_ice_agent_state s, floe_time_ns limit) {
    return net_run(n, n->now + limit, stop_state, &s);
}

static bool stop_gathered(tnet *n, void *ctx) {
    (void)ctx;
    for (int i = 0; i < NET_AGENTS; i++)
        if (n->ag[i] && net_count(n, i, FLOE_ICE_EV_GATHERING_DONE) == 0) return false;
    return true;
}

/* ---- set-up ------------------------------------------------------------------------ */

NETFN void net_gather(tnet *n) {
    for (int i = 0; i < NET_AGENTS; i++)
        if (n->ag[i]) assert_int_equal(floe_ice_agent_gather(n->ag[i], n->now), FLOE_OK);
    assert_true(net_run(n, n->now + FLOE_S(10), stop_gathered, NULL));
}

/* Gives agent `to` the credentials and candidates of agent `from` (all streams). */
NETFN void net_signal(tnet *n, int from, int to, unsigned n_streams) {
    floe_ice_agent *x = n->ag[from], *y = n->ag[to];
    for (unsigned s = 0; s < n_streams; s++) {
        assert_int_equal(floe_ice_agent_set_remote_credentials(y, s, floe_ice_agent_local_ufrag(x),
                                                               floe_ice_agent_local_pwd(x)),
                         FLOE_OK);
        floe_ice_cand c[FLOE_ICE_MAX_LOCAL];
        size_t k = floe_ice_agent_local_candidates(x, s, c, FLOE_ICE_MAX_LOCAL);
        for (size_t j = 0; j < k; j++)
            assert_int_equal(floe_ice_agent_add_remote_candidate(y, s, &c[j]), FLOE_OK);
    }
}

/* Gathers, exchanges everything and starts both agents. */
NETFN void net_connect(tnet *n, unsigned n_streams) {
    net_gather(n);
    net_signal(n, 0, 1, n_streams);
    net_signal(n, 1, 0, n_streams);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[1], n->now), FLOE_OK);
}

/* Sends of agent i matching a predicate. */
NETFN unsigned net_sent_count(const tnet *n, int i, bool stun, int cls, bool use_cand_only) {
    unsigned c = 0;
    for (unsigned k = 0; k < n->n_log; k++) {
        const net_sent *s = &n->log[k];
        if (s->agent != i || s->stun != stun) continue;
        if (stun && cls >= 0 && s->cls != cls) continue;
        if (use_cand_only && !s->use_cand) continue;
        c++;
    }
    return c;
}

#ifndef TEST_ICE_NET_LIB

/* ---- the network's own tests --------------------------------------------------------- */

static void two_hosts(tnet *n) {
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    net_agent(n, 1, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", "eth0");
    net_host(n, 1, 0, 1, "10.0.0.2:6000", "eth0");
}

static void test_net_delivers_with_delay(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(20));
    two_hosts(n);
    net_connect(n, 1);
    floe_time_ns t0 = n->now;
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    /* At least a check out and its answer back: two one-way delays. */
    assert_true(n->now - t0 >= FLOE_MS(40));
    assert_int_equal(n->undeliverable, 0);
    net_free(n);
}

static void test_net_nat_translates(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(5));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.n_stun_servers = 1;
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_nat(n, "10.0.0.1:5000", "203.0.113.7:40000");
    net_server(n, "198.51.100.1:3478");
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_true(net_run(n, n->now + FLOE_S(5), stop_gathered, NULL));
    floe_ice_cand cs[4];
    assert_int_equal(floe_ice_agent_local_candidates(n->ag[0], 0, cs, 4), 2);
    assert_int_equal(cs[1].type, FLOE_ICE_CAND_SRFLX);
    assert_true(floe_addr_equal(&cs[1].addr, &n->nat_pub[0]));
    net_free(n);
}

static void test_net_loss_is_deterministic(void **state) {
    (void)state;
    unsigned lost[2];
    for (int run = 0; run < 2; run++) {
        tnet *n = net_new(FLOE_MS(10));
        n->loss_pct = 30;
        two_hosts(n);
        net_connect(n, 1);
        net_advance(n, FLOE_S(60)); /* checks, then consent traffic */
        lost[run] = n->lost;
        net_free(n);
    }
    assert_int_equal(lost[0], lost[1]);
    assert_true(lost[0] > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_delivers_with_delay),
        cmocka_unit_test(test_net_nat_translates),
        cmocka_unit_test(test_net_loss_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
