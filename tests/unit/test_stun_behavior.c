/* Unit tests for include/floe/stun_behavior.h: RFC 5780 discovery run in virtual time
 * against the real server core, through an in-test network with a NAT whose mapping
 * and filtering behaviour (RFC 4787) are chosen per test. Every one of the nine
 * mapping x filtering combinations must be found, plus "no NAT", a firewall without
 * NAT, loss, and the ways discovery stops early. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_behavior.h"
#include "floe/stun_server.h"

static int counting_rand(void *ctx, void *buf, size_t len) {
    unsigned *seed = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*seed * 131u + i * 17u + 3u);
    (*seed)++;
    return FLOE_OK;
}
static unsigned seed;

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

/* ---- the NAT ----------------------------------------------------------------------- */

#define MAX_MAPS 8
#define MAX_PERMS 16

typedef struct nat {
    bool translate;            /* false: no NAT, the client's address is seen as is, but
                                  the filter still applies (a firewall) */
    floe_nat_behavior mapping; /* which remote endpoints share a mapping */
    floe_nat_behavior filtering;
    floe_addr inside;     /* the client's socket */
    floe_addr outside_ip; /* the NAT's public IP */
    struct {
        floe_addr remote; /* the remote that created it */
        uint16_t port;    /* the public port */
    } maps[MAX_MAPS];
    size_t n_maps;
    struct {
        uint16_t port; /* public port the permission belongs to */
        floe_addr remote;
    } perms[MAX_PERMS];
    size_t n_perms;
    uint16_t next_port;
    unsigned filtered; /* inbound packets dropped by the filter */
} nat;

static bool same_class(floe_nat_behavior kind, const floe_addr *a, const floe_addr *b) {
    switch (kind) {
    case FLOE_NAT_ENDPOINT_INDEPENDENT: return true;
    case FLOE_NAT_ADDRESS_DEPENDENT: return floe_addr_ip_equal(a, b);
    default: return floe_addr_equal(a, b);
    }
}

/* Outbound: the public source address for a packet to remote, with its permission. */
static floe_addr nat_out(nat *x, const floe_addr *remote) {
    uint16_t port = x->inside.port;
    if (x->translate) {
        size_t i;
        for (i = 0; i < x->n_maps; i++)
            if (same_class(x->mapping, &x->maps[i].remote, remote)) break;
        if (i == x->n_maps) {
            assert_true(x->n_maps < MAX_MAPS);
            x->maps[i].remote = *remote;
            x->maps[i].port = x->next_port++;
            x->n_maps++;
        }
        port = x->maps[i].port;
    }
    bool have = false;
    for (size_t i = 0; i < x->n_perms; i++)
        have |= x->perms[i].port == port && floe_addr_equal(&x->perms[i].remote, remote);
    if (!have) {
        assert_true(x->n_perms < MAX_PERMS);
        x->perms[x->n_perms].port = port;
        x->perms[x->n_perms].remote = *remote;
        x->n_perms++;
    }
    floe_addr pub = x->translate ? x->outside_ip : x->inside;
    pub.port = port;
    return pub;
}

/* Inbound: may a packet from remote to public address dst pass? */
static bool nat_in(nat *x, const floe_addr *remote, const floe_addr *dst) {
    floe_addr pub = x->translate ? x->outside_ip : x->inside;
    if (!floe_addr_ip_equal(dst, &pub)) return false;
    for (size_t i = 0; i < x->n_perms; i++)
        if (x->perms[i].port == dst->port && same_class(x->filtering, &x->perms[i].remote, remote))
            return true;
    x->filtered++;
    return false;
}

/* ---- the network ------------------------------------------------------------------- */

#define MAX_FLIGHT 32

typedef struct packet {
    floe_time_ns at;
    bool to_server;
    floe_addr src, dst;
    uint8_t data[600];
    size_t len;
} packet;

typedef struct net {
    floe_stun_server srv;
    nat nat;
    floe_time_ns delay;
    uint32_t drop_requests, drop_replies; /* bit i: drop the i-th one */
    bool drop_to_alt_ip;                  /* the alternate IP is unreachable */
    bool ignore_change;                   /* the server answers CHANGE-REQUEST from where
                                             the request arrived */
    bool black_hole;
    unsigned n_requests, n_replies;
    packet flight[MAX_FLIGHT];
    size_t n_flight;
} net;

static void net_init(net *n, bool translate, floe_nat_behavior mapping, floe_nat_behavior filtering,
                     bool rfc5780) {
    memset(n, 0, sizeof *n);
    floe_stun_server_config sc;
    floe_stun_server_config_default(&sc);
    sc.rfc5780 = rfc5780;
    sc.primary = addr("192.0.2.1:3478");
    sc.alternate = addr("192.0.2.2:3479");
    assert_int_equal(floe_stun_server_init(&n->srv, &sc), FLOE_OK);
    n->nat.translate = translate;
    n->nat.mapping = mapping;
    n->nat.filtering = filtering;
    n->nat.inside = addr("10.0.0.2:5000");
    n->nat.outside_ip = addr("203.0.113.1");
    n->nat.next_port = 40000;
    n->delay = FLOE_MS(15);
}

/* The four addresses the server listens on. */
static bool server_has(const net *n, const floe_addr *a) {
    for (unsigned from = 0; from < 4; from++) {
        floe_addr s = floe_stun_server_source_for(&n->srv, &n->srv.cfg.primary,
                                                  (from & 1 ? FLOE_STUN_CHANGE_IP : 0) |
                                                      (from & 2 ? FLOE_STUN_CHANGE_PORT : 0));
        if (floe_addr_equal(&s, a)) return true;
    }
    return false;
}

static void enqueue(net *n, floe_time_ns at, bool to_server, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    assert_true(n->n_flight < MAX_FLIGHT);
    packet *k = &n->flight[n->n_flight++];
    k->at = at;
    k->to_server = to_server;
    k->src = *src;
    k->dst = *dst;
    memcpy(k->data, p, len);
    k->len = len;
}

static bool deliver_one(net *n, floe_stun_behavior *b, floe_time_ns now) {
    size_t best = n->n_flight;
    for (size_t i = 0; i < n->n_flight; i++)
        if (n->flight[i].at <= now && (best == n->n_flight || n->flight[i].at < n->flight[best].at))
            best = i;
    if (best == n->n_flight) return false;
    packet k = n->flight[best];
    n->flight[best] = n->flight[--n->n_flight];
    if (k.to_server) {
        if (!server_has(n, &k.dst)) return true;
        uint8_t out[600];
        floe_stun_server_reply r;
        assert_int_equal(floe_stun_server_handle(&n->srv, k.data, k.len, &k.src, &k.dst,
                                                 FLOE_TRANSPORT_UDP, out, sizeof out, &r),
                         FLOE_OK);
        if (r.len == 0) return true;
        unsigned i = n->n_replies++;
        if (n->black_hole || (i < 32 && (n->drop_replies >> i) & 1)) return true;
        floe_addr from =
            floe_stun_server_source_for(&n->srv, &k.dst, n->ignore_change ? 0 : r.from);
        enqueue(n, now + n->delay, false, &from, &r.to, out, r.len);
    } else {
        if (!nat_in(&n->nat, &k.src, &k.dst)) return true;
        floe_stun_behavior_on_recv(b, now, k.data, k.len, &k.src);
    }
    return true;
}

static void drain_sends(net *n, floe_stun_behavior *b, floe_time_ns now) {
    uint8_t buf[600];
    size_t len;
    floe_addr dest;
    while (floe_stun_behavior_next_send(b, now, buf, sizeof buf, &len, &dest) == FLOE_OK) {
        unsigned i = n->n_requests++;
        if (n->black_hole || (i < 32 && (n->drop_requests >> i) & 1)) continue;
        if (n->drop_to_alt_ip && floe_addr_ip_equal(&dest, &n->srv.cfg.alternate)) continue;
        floe_addr src = nat_out(&n->nat, &dest);
        enqueue(n, now + n->delay, true, &src, &dest, buf, len);
    }
}

typedef struct run_out {
    floe_stun_behavior_result res;
    floe_time_ns took;
    unsigned n_test_events;
    floe_stun_behavior_test order[FLOE_STUN_BT_COUNT];
} run_out;

static run_out run_discovery(net *n, bool give_local) {
    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    cfg.server = n->srv.cfg.primary;
    if (give_local) cfg.local = n->nat.inside;
    cfg.rand = counting_rand;
    cfg.rand_ctx = &seed;
    static floe_stun_behavior b; /* large: keep it off the stack */
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_OK);
    floe_time_ns t0 = FLOE_S(1000), now = t0;
    assert_int_equal(floe_stun_behavior_start(&b, now), FLOE_OK);
    assert_int_equal(floe_stun_behavior_start(&b, now), FLOE_ERR_STATE);
    run_out out;
    memset(&out, 0, sizeof out);
    for (int guard = 0; guard < 100000; guard++) {
        drain_sends(n, &b, now);
        floe_stun_behavior_event ev;
        while (floe_stun_behavior_next_event(&b, &ev)) {
            if (ev.type == FLOE_STUN_BEHAVIOR_EV_TEST) {
                assert_true(out.n_test_events < FLOE_STUN_BT_COUNT);
                assert_true(ev.result.steps[ev.test].ran);
                out.order[out.n_test_events++] = ev.test;
                continue;
            }
            assert_int_equal(ev.type, FLOE_STUN_BEHAVIOR_EV_DONE);
            assert_true(floe_stun_behavior_done(&b));
            assert_int_equal(floe_stun_behavior_deadline(&b), FLOE_TIME_NEVER);
            out.res = ev.result;
            assert_memory_equal(&out.res, floe_stun_behavior_result_get(&b), sizeof out.res);
            out.took = now - t0;
            const floe_stun_client_stats *st = floe_stun_behavior_stats(&b);
            assert_int_equal(st->rx, st->rx_matched + st->drop_malformed + st->drop_not_response +
                                         st->drop_unmatched);
            return out;
        }
        floe_time_ns next = floe_stun_behavior_deadline(&b);
        for (size_t i = 0; i < n->n_flight; i++)
            if (n->flight[i].at < next) next = n->flight[i].at;
        assert_true(next != FLOE_TIME_NEVER);
        if (next > now) now = next;
        while (deliver_one(n, &b, now)) {
        }
        floe_stun_behavior_tick(&b, now);
    }
    fail_msg("discovery never finished");
    return out;
}

/* ---- the nine NAT types ------------------------------------------------------------ */

static const floe_nat_behavior kinds[] = {FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT,
                                          FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};

static void test_all_nine_nat_types(void **state) {
    (void)state;
    for (size_t mi = 0; mi < 3; mi++) {
        for (size_t fi = 0; fi < 3; fi++) {
            net n;
            net_init(&n, true, kinds[mi], kinds[fi], true);
            run_out o = run_discovery(&n, true);
            const floe_stun_behavior_result *r = &o.res;
            print_message("mapping %-27s filtering %-27s -> %s / %s in %.1f s\n",
                          floe_nat_behavior_name(kinds[mi]), floe_nat_behavior_name(kinds[fi]),
                          floe_nat_behavior_name(r->mapping), floe_nat_behavior_name(r->filtering),
                          (double)o.took / 1e9);
            assert_int_equal(r->status, FLOE_STUN_BEHAVIOR_OK);
            assert_int_equal(r->mapping, kinds[mi]);
            assert_int_equal(r->filtering, kinds[fi]);
            assert_true(r->nat_known);
            assert_true(r->nat);
            assert_false(r->server_ignored_change);
            floe_addr first = addr("203.0.113.1:40000");
            assert_true(floe_addr_equal(&r->mapped, &first));
            assert_true(floe_addr_equal(&r->other, &n.srv.cfg.alternate));
            assert_true(floe_addr_equal(&r->origin, &n.srv.cfg.primary));
            assert_true(floe_addr_equal(&r->server, &n.srv.cfg.primary));
            assert_true(floe_addr_equal(&r->local, &n.nat.inside));

            /* Filtering tests first, then mapping (see the header). */
            assert_int_equal(o.order[0], FLOE_STUN_BT_I);
            assert_int_equal(o.order[1], FLOE_STUN_BT_FILTER_II);
            size_t k = 2;
            if (kinds[fi] != FLOE_NAT_ENDPOINT_INDEPENDENT)
                assert_int_equal(o.order[k++], FLOE_STUN_BT_FILTER_III);
            assert_int_equal(o.order[k++], FLOE_STUN_BT_MAP_II);
            if (kinds[mi] != FLOE_NAT_ENDPOINT_INDEPENDENT)
                assert_int_equal(o.order[k++], FLOE_STUN_BT_MAP_III);
            assert_int_equal(o.n_test_events, k);

            /* Steps: destinations and flags as RFC 5780 §4.3/§4.4 say. */
            const floe_stun_behavior_step *s = r->steps;
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_I].dest, &n.srv.cfg.primary));
            assert_int_equal(s[FLOE_STUN_BT_FILTER_II].change,
                             FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_FILTER_II].dest, &n.srv.cfg.primary));
            floe_addr alt_ip_primary_port = addr("192.0.2.2:3478");
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].dest, &alt_ip_primary_port));
            assert_int_equal(s[FLOE_STUN_BT_MAP_II].change, 0);
            if (kinds[fi] == FLOE_NAT_ENDPOINT_INDEPENDENT) {
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].outcome, FLOE_STUN_CLIENT_EV_SUCCESS);
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_FILTER_II].from, &n.srv.cfg.alternate));
                assert_false(s[FLOE_STUN_BT_FILTER_III].ran);
            } else {
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].outcome, FLOE_STUN_CLIENT_EV_TIMEOUT);
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].requests, FLOE_STUN_BEHAVIOR_RC);
                assert_int_equal(s[FLOE_STUN_BT_FILTER_III].change, FLOE_STUN_CHANGE_PORT);
            }
            if (kinds[mi] == FLOE_NAT_ENDPOINT_INDEPENDENT) {
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].mapped, &first));
                assert_false(s[FLOE_STUN_BT_MAP_III].ran);
            } else {
                assert_false(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].mapped, &first));
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_III].dest, &n.srv.cfg.alternate));
            }
            /* Time: one RTT per answered test, 1.1 s per silent filtering test. */
            floe_time_ns rtt = 2 * n.delay;
            unsigned answered = (unsigned)o.n_test_events, silent = 0;
            if (kinds[fi] == FLOE_NAT_ADDRESS_DEPENDENT) silent = 1;
            if (kinds[fi] == FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT) silent = 2;
            answered -= silent;
            assert_int_equal(o.took, answered * rtt + silent * FLOE_MS(1100));
        }
    }
}

static void test_no_nat(void **state) {
    (void)state;
    net n;
    net_init(&n, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ENDPOINT_INDEPENDENT, true);
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_true(o.res.nat_known);
    assert_false(o.res.nat);
    assert_true(floe_addr_equal(&o.res.mapped, &n.nat.inside));
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    /* Without a NAT the mapping tests are not needed (RFC 5780 §4.3). */
    assert_int_equal(o.n_test_events, 2);
    assert_false(o.res.steps[FLOE_STUN_BT_MAP_II].ran);
}

static void test_firewall_without_nat(void **state) {
    (void)state;
    net n;
    net_init(&n, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, true);
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_false(o.res.nat);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    assert_int_equal(n.nat.filtered, 2 * FLOE_STUN_BEHAVIOR_RC);
}

static void test_local_unknown(void **state) {
    (void)state;
    /* No local address given: no NAT verdict, but the mapping tests still run. */
    net n;
    net_init(&n, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, true);
    run_out o = run_discovery(&n, false);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_false(o.res.nat_known);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_true(o.res.steps[FLOE_STUN_BT_MAP_II].ran);

    /* Nor without NAT: the mapping tests then find endpoint-independent. */
    net_init(&n, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ENDPOINT_INDEPENDENT, true);
    o = run_discovery(&n, false);
    assert_false(o.res.nat_known);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_true(o.res.steps[FLOE_STUN_BT_MAP_II].ran);
}

static void test_loss_is_retransmitted(void **state) {
    (void)state;
    /* Test I's first request is lost; so are the first two answers to filtering test III
     * (the server's replies number 0 for test I, 1-4 for filtering test II, which the
     * NAT filters, then 5, 6, 7 for filtering test III). The third copy gets through,
     * so the verdict holds. */
    net n;
    net_init(&n, true, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, true);
    n.drop_replies = (1u << 5) | (1u << 6);
    n.drop_requests = 1u << 0; /* and test I's first request */
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_int_equal(o.res.mapping, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_I].requests, 2);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_FILTER_III].requests, 3);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_FILTER_III].outcome, FLOE_STUN_CLIENT_EV_SUCCESS);
}

static void test_no_response(void **state) {
    (void)state;
    net n;
    net_init(&n, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, true);
    n.black_hole = true;
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_NO_RESPONSE);
    assert_int_equal(o.res.failed_test, FLOE_STUN_BT_I);
    assert_int_equal(o.res.err, FLOE_ERR_TIMEOUT);
    assert_int_equal(o.res.mapping, FLOE_NAT_UNKNOWN);
    assert_false(o.res.nat_known);
    assert_int_equal(o.took, FLOE_MS(1100));
    assert_int_equal(n.n_requests, FLOE_STUN_BEHAVIOR_RC);
}

static void test_server_without_rfc5780(void **state) {
    (void)state;
    net n;
    net_init(&n, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, false);
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_UNSUPPORTED);
    assert_string_equal(floe_stun_behavior_status_name(o.res.status), "unsupported");
    assert_true(o.res.nat_known);
    assert_true(o.res.nat); /* test I still says a NAT is there */
    assert_int_equal(o.res.other.family, FLOE_AF_NONE);
    assert_int_equal(o.n_test_events, 1);
}

static void test_alternate_unreachable(void **state) {
    (void)state;
    net n;
    net_init(&n, true, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, true);
    n.drop_to_alt_ip = true;
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_INCOMPLETE);
    assert_int_equal(o.res.failed_test, FLOE_STUN_BT_MAP_II);
    assert_int_equal(o.res.filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.mapping, FLOE_NAT_UNKNOWN);
}

static void test_server_ignores_change_request(void **state) {
    (void)state;
    net n;
    net_init(&n, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, true);
    n.ignore_change = true;
    run_out o = run_discovery(&n, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_true(o.res.server_ignored_change);
    assert_int_equal(o.res.filtering, FLOE_NAT_UNKNOWN);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
}

static void test_state_machine(void **state) {
    (void)state;
    typedef struct {
        floe_stun_behavior_state from;
        floe_stun_behavior_input in;
        bool mapping;
        floe_stun_behavior_state to;
    } tr;
    static const tr table[] = {
        {FLOE_STUN_BS_IDLE, FLOE_STUN_BI_START, true, FLOE_STUN_BS_TEST_I},
        {FLOE_STUN_BS_IDLE, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_IDLE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_ANSWER_SAME, false, FLOE_STUN_BS_FILTER_II},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_FILTER_II},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_START, true, FLOE_STUN_BS_TEST_I},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_ANSWER_SAME, false, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_FILTER_III},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_SILENCE, false, FLOE_STUN_BS_FILTER_III},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_SILENCE, false, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_MAP_III},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_III, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_III, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_DONE, FLOE_STUN_BI_START, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_DONE, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_DONE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(
            floe_stun_behavior_next_state(table[i].from, table[i].in, table[i].mapping),
            table[i].to);
}

static void test_names_and_config(void **state) {
    (void)state;
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ENDPOINT_INDEPENDENT),
                        "endpoint-independent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ADDRESS_DEPENDENT), "address-dependent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT),
                        "address-and-port-dependent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_UNKNOWN), "unknown");
    assert_string_equal(floe_stun_behavior_test_name(FLOE_STUN_BT_FILTER_III),
                        "filtering test III");
    assert_string_equal(floe_stun_behavior_status_name(FLOE_STUN_BEHAVIOR_NO_RESPONSE),
                        "no response");

    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    assert_int_equal(cfg.timing[FLOE_STUN_BT_FILTER_II].rto, FLOE_MS(100));
    assert_int_equal(cfg.timing[FLOE_STUN_BT_I].max_requests, FLOE_STUN_BEHAVIOR_RC);
    static floe_stun_behavior b;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* no rand */
    cfg.rand = counting_rand;
    cfg.rand_ctx = &seed;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* no server */
    cfg.server = addr("192.0.2.1:3478");
    cfg.local = addr("[2001:db8::1]:5000");
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* families differ */
    cfg.local = addr("10.0.0.2:5000");
    cfg.timing[FLOE_STUN_BT_MAP_III].max_requests = FLOE_STUN_RC + 1;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL);
    cfg.timing[FLOE_STUN_BT_MAP_III].max_requests = 0;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_OK);
    assert_false(floe_stun_behavior_done(&b));
    assert_int_equal(floe_stun_behavior_deadline(&b), FLOE_TIME_NEVER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_nine_nat_types),
        cmocka_unit_test(test_no_nat),
        cmocka_unit_test(test_firewall_without_nat),
        cmocka_unit_test(test_local_unknown),
        cmocka_unit_test(test_loss_is_retransmitted),
        cmocka_unit_test(test_no_response),
        cmocka_unit_test(test_server_without_rfc5780),
        cmocka_unit_test(test_alternate_unreachable),
        cmocka_unit_test(test_server_ignores_change_request),
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_names_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
