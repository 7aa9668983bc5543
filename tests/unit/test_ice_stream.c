/* Stream bases: relayed candidates through a TURN server over TCP or TLS (floe/ice.h).
 *
 * The agent's TURN traffic for such a server goes to a stream base, which the runtime
 * turns into a connection; here the "connection" is the test handing whole messages to
 * the TURN server core (floe/turn_server.h) with a TCP tuple and back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/ice.h"
#include "floe/turn.h"
#include "floe/turn_server.h"
#include "turn_core_relay.h"

static int test_rand(void *ctx, void *buf, size_t len) {
    uint64_t *s = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(*s >> 56);
    }
    return FLOE_OK;
}

typedef struct fx {
    uint64_t seed;
    floe_ice_agent *a;
    unsigned host;
    floe_addr host_addr, server, relayed;
    turn_core tc; /* the TURN server core behind the stream */
} fx;

static void fx_init(fx *f, floe_transport tp) {
    memset(f, 0, sizeof *f);
    f->seed = 42;
    assert_int_equal(floe_addr_parse("192.0.2.10:40000", &f->host_addr), FLOE_OK);
    assert_int_equal(floe_addr_parse("198.51.100.1:3478", &f->server), FLOE_OK);
    assert_int_equal(floe_addr_parse("198.51.100.1:50000", &f->relayed), FLOE_OK);
    floe_ice_config c;
    floe_ice_config_default(&c);
    c.controlling = true;
    c.n_streams = 1;
    c.rand = test_rand;
    c.rand_ctx = &f->seed;
    c.turn_servers[0] = (floe_ice_turn_server){f->server, "alice", "wonderland", tp, "turn.test"};
    c.n_turn_servers = 1;
    assert_int_equal(floe_ice_agent_new(&f->a, &c), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_host(f->a, 0, 1, &f->host_addr, "eth0", &f->host), FLOE_OK);

    turn_core_init(&f->tc, "198.51.100.1:50000");
}

static floe_ice_stats stats(const fx *f) {
    floe_ice_stats s;
    floe_ice_agent_get_stats(f->a, &s);
    return s;
}

static void fx_free(fx *f) {
    floe_ice_agent_free(f->a);
    turn_core_free(&f->tc);
}

/* Moves the agent's messages for the stream base to the server and the answers back,
 * until neither has anything to say. Returns the messages carried. */
static unsigned pump(fx *f, unsigned stream_base, floe_time_ns now) {
    unsigned carried = 0;
    for (int round = 0; round < 20; round++) {
        uint8_t buf[FLOE_ICE_SEND_MAX], out[2048];
        size_t len;
        unsigned base;
        floe_addr to;
        bool any = false;
        while (floe_ice_agent_next_send(f->a, now, buf, sizeof buf, &len, &base, &to) == FLOE_OK) {
            if (base != stream_base) continue; /* the host socket's own traffic: none here */
            assert_true(floe_addr_equal(&to, &f->server));
            /* A whole message, as the runtime frames it on the stream. */
            size_t need;
            assert_int_equal(floe_turn_frame_len(buf, len, &need), FLOE_OK);
            assert_int_equal(need, len);
            floe_turn_tuple tu = {.client = f->host_addr,
                                  .server = f->server,
                                  .transport = FLOE_TRANSPORT_TCP,
                                  .conn = 7};
            tu.client.port = 51000; /* the connection's ephemeral port */
            floe_turn_server_out o;
            floe_turn_server_on_client(f->tc.srv, &tu, buf, len, out, sizeof out, &o);
            carried++;
            any = true;
            if (!o.data) continue;
            assert_false(o.to_peer);
            floe_ice_recv_info info;
            assert_int_equal(
                floe_ice_agent_on_recv(f->a, now, stream_base, &f->server, o.data, o.len, &info),
                FLOE_OK);
            assert_int_equal(info.kind, FLOE_ICE_RECV_STUN);
        }
        if (!any) break;
    }
    return carried;
}

static void test_stream_base_allocates_over_tcp(void **state) {
    (void)state;
    fx f;
    fx_init(&f, FLOE_TRANSPORT_TCP);
    floe_time_ns now = FLOE_S(1);
    assert_int_equal(floe_ice_agent_gather(f.a, now), FLOE_OK);

    /* The stream base comes right after the host base; it is described for the runtime. */
    unsigned sb = f.host + 1;
    floe_ice_stream st;
    assert_int_equal(floe_ice_agent_stream(f.a, f.host, &st), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_ice_agent_stream(f.a, sb, &st), FLOE_OK);
    assert_int_equal(st.transport, FLOE_TRANSPORT_TCP);
    assert_true(floe_addr_ip_equal(&st.local, &f.host_addr));
    assert_int_equal(st.local.port, 0);
    assert_true(floe_addr_equal(&st.remote, &f.server));
    assert_string_equal(st.server_name, "turn.test");
    assert_int_equal(floe_ice_agent_stream(f.a, sb + 1, &st), FLOE_ERR_NOT_FOUND);

    /* Allocate, 401, Allocate with credentials, success: a relayed candidate. */
    assert_int_equal(pump(&f, sb, now), 2);
    assert_int_equal(f.tc.relay_opens, 1);
    floe_ice_cand c[4];
    size_t n = floe_ice_agent_local_candidates(f.a, 0, c, 4);
    assert_int_equal(n, 2); /* host and relay: the stream base has none */
    bool relay = false;
    for (size_t i = 0; i < n; i++)
        if (c[i].type == FLOE_ICE_CAND_RELAY) {
            relay = true;
            assert_true(floe_addr_equal(&c[i].addr, &f.relayed));
        }
    assert_true(relay);
    floe_ice_event ev;
    bool done = false;
    while (floe_ice_agent_next_event(f.a, &ev))
        if (ev.type == FLOE_ICE_EV_GATHERING_DONE) done = true;
    assert_true(done);

    /* Application data cannot be sent "from" the stream base. */
    uint8_t out[64];
    size_t len;
    unsigned sock;
    floe_addr to;
    assert_int_equal(floe_ice_agent_send_from(f.a, now, sb, &f.server, (const uint8_t *)"x", 1, out,
                                              sizeof out, &len, &sock, &to),
                     FLOE_ERR_INVAL);
    /* Anything on the stream that is not the TURN client's is dropped and counted. */
    uint64_t unmatched = stats(&f).drop_unmatched;
    floe_ice_recv_info info;
    static const uint8_t rtp[12] = {0x80, 0};
    floe_ice_agent_on_recv(f.a, now, sb, &f.server, rtp, sizeof rtp, &info);
    assert_int_equal(info.kind, FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(&f).drop_unmatched, unmatched + 1);

    /* The connection ends: the allocation is gone, nothing more goes to that base. */
    floe_ice_agent_stream_closed(f.a, now, sb);
    assert_int_equal(stats(&f).relay_streams_lost, 1);
    floe_ice_agent_tick(f.a, now + FLOE_S(600)); /* a refresh would be due by now */
    uint8_t buf[FLOE_ICE_SEND_MAX];
    unsigned base;
    while (floe_ice_agent_next_send(f.a, now + FLOE_S(600), buf, sizeof buf, &len, &base, &to) ==
           FLOE_OK)
        assert_int_not_equal(base, sb);
    fx_free(&f);
}

static void test_stream_closed_before_allocation_ends_gathering(void **state) {
    (void)state;
    fx f;
    fx_init(&f, FLOE_TRANSPORT_TLS);
    floe_time_ns now = FLOE_S(1);
    assert_int_equal(floe_ice_agent_gather(f.a, now), FLOE_OK);
    unsigned sb = f.host + 1;
    floe_ice_stream st;
    assert_int_equal(floe_ice_agent_stream(f.a, sb, &st), FLOE_OK);
    assert_int_equal(st.transport, FLOE_TRANSPORT_TLS);
    /* The runtime could not connect (refused, TLS failure): gathering must not wait for
     * the relay's 5 s give-up. */
    floe_ice_agent_stream_closed(f.a, now + FLOE_MS(3), sb);
    floe_ice_event ev;
    bool done = false;
    while (floe_ice_agent_next_event(f.a, &ev))
        if (ev.type == FLOE_ICE_EV_GATHERING_DONE) {
            done = true;
            assert_true(ev.at < now + FLOE_MS(10));
        }
    assert_true(done);
    assert_int_equal(stats(&f).relay_failures, 1);
    assert_int_equal(stats(&f).relay_streams_lost, 1);
    /* Twice is once. */
    floe_ice_agent_stream_closed(f.a, now + FLOE_MS(4), sb);
    assert_int_equal(stats(&f).relay_streams_lost, 1);
    /* A host base is not a stream: nothing happens. */
    floe_ice_agent_stream_closed(f.a, now + FLOE_MS(4), f.host);
    assert_int_equal(stats(&f).relay_streams_lost, 1);
    fx_free(&f);
}

static void test_dtls_turn_server_refused(void **state) {
    (void)state;
    uint64_t seed = 1;
    floe_ice_config c;
    floe_ice_config_default(&c);
    c.n_streams = 1;
    c.rand = test_rand;
    c.rand_ctx = &seed;
    assert_int_equal(floe_addr_parse("198.51.100.1:3478", &c.turn_servers[0].addr), FLOE_OK);
    c.turn_servers[0].transport = FLOE_TRANSPORT_DTLS;
    c.n_turn_servers = 1;
    floe_ice_agent *a = NULL;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_ERR_INVAL);
    c.turn_servers[0].transport = (floe_transport)9;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_ERR_INVAL);
    c.turn_servers[0].transport = FLOE_TRANSPORT_TCP;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_OK);
    floe_ice_agent_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_base_allocates_over_tcp),
        cmocka_unit_test(test_stream_closed_before_allocation_ends_gathering),
        cmocka_unit_test(test_dtls_turn_server_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
