/* The SIP user agent's streams: a TURN server over TCP in a call (floe/sip_ua.h,
 * "streams"). The runtime's connection is the test: it hands every OUT_STREAM message
 * whole to floe's TURN server core (floe/turn_server.h) on a TCP tuple, and the answers
 * back with floe_sip_ua_on_stream. Checked: the stream is described (TCP, from the host's
 * IP, to the server), the relayed candidate reaches the INVITE's offer, a closed stream
 * is told to the agent, and a stream id dies with its call: a new call has new ids and an
 * old id is neither described nor fed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/sip_ua.h"
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
    floe_sip_ua *ua;
    floe_addr sip, media, server;
    turn_core tc;                          /* the TURN server core behind the stream */
    char invite[FLOE_SIP_UA_SEND_MAX + 1]; /* the last INVITE the UA sent */
    unsigned stream_msgs;
    unsigned last_id;
} fx;

static void fx_init(fx *f) {
    memset(f, 0, sizeof *f);
    f->seed = 7;
    assert_int_equal(floe_addr_parse("192.0.2.10:5060", &f->sip), FLOE_OK);
    assert_int_equal(floe_addr_parse("192.0.2.10:40000", &f->media), FLOE_OK);
    assert_int_equal(floe_addr_parse("198.51.100.1:3478", &f->server), FLOE_OK);
    floe_sip_ua_config c;
    floe_sip_ua_config_default(&c);
    c.user = "alice";
    c.domain = "example.net";
    c.local[FLOE_TRANSPORT_UDP] = f->sip;
    c.rnd = test_rand;
    c.rnd_ctx = &f->seed;
    c.turn_servers[0] =
        (floe_ice_turn_server){f->server, "alice", "wonderland", FLOE_TRANSPORT_TCP, "turn.test"};
    c.n_turn_servers = 1;
    assert_int_equal(floe_sip_ua_new(&f->ua, &c), FLOE_OK);
    assert_int_equal(floe_sip_ua_add_media_host(f->ua, &f->media, "eth0", NULL), FLOE_OK);

    turn_core_init(&f->tc, "198.51.100.1:50000");
}

static void fx_free(fx *f) {
    floe_sip_ua_free(f->ua);
    turn_core_free(&f->tc);
}

/* Drains the UA: stream messages go through the TURN core and its answers come back on
 * the stream; the INVITE is kept; everything else (to nobody) is dropped. */
static void pump(fx *f, floe_time_ns now) {
    for (int round = 0; round < 50; round++) {
        static uint8_t buf[FLOE_SIP_UA_SEND_MAX], out[2048];
        size_t len;
        floe_sip_ua_out o;
        bool any = false;
        while (floe_sip_ua_next_send(f->ua, now, buf, sizeof buf, &len, &o) == FLOE_OK) {
            any = true;
            if (o.kind == FLOE_SIP_UA_OUT_SIP && len > 7 && !memcmp(buf, "INVITE ", 7)) {
                memcpy(f->invite, buf, len);
                f->invite[len] = '\0';
            }
            if (o.kind != FLOE_SIP_UA_OUT_STREAM) continue;
            f->stream_msgs++;
            f->last_id = o.sock;
            assert_int_equal(o.transport, FLOE_TRANSPORT_TCP);
            assert_true(floe_addr_equal(&o.to, &f->server));
            floe_ice_stream st;
            assert_int_equal(floe_sip_ua_stream(f->ua, o.sock, &st), FLOE_OK);
            assert_int_equal(st.transport, FLOE_TRANSPORT_TCP);
            assert_true(floe_addr_equal(&st.remote, &f->server));
            assert_int_equal(st.local.family, f->media.family);
            assert_int_equal(memcmp(st.local.ip, f->media.ip, 4), 0);
            size_t need; /* a whole message, as the runtime frames it */
            assert_int_equal(floe_turn_frame_len(buf, len, &need), FLOE_OK);
            assert_int_equal(need, len);
            floe_turn_tuple tu = {.client = f->media,
                                  .server = f->server,
                                  .transport = FLOE_TRANSPORT_TCP,
                                  .conn = o.sock};
            tu.client.port = (uint16_t)(51000 + (o.sock >> 8)); /* a connection per stream */
            floe_turn_server_out r;
            floe_turn_server_on_client(f->tc.srv, &tu, buf, len, out, sizeof out, &r);
            if (r.data && !r.to_peer)
                assert_int_equal(floe_sip_ua_on_stream(f->ua, now, o.sock, r.data, r.len), FLOE_OK);
        }
        if (!any) break;
    }
}

static void test_relay_over_tcp_in_a_call(void **state) {
    (void)state;
    fx f;
    fx_init(&f);
    floe_time_ns now = FLOE_S(1);
    floe_ice_stream st;
    assert_int_equal(floe_sip_ua_stream(f.ua, 0, &st), FLOE_ERR_NOT_FOUND); /* no call yet */
    assert_int_equal(floe_sip_ua_dial(f.ua, now, "sip:bob@192.0.2.20"), FLOE_OK);
    for (int i = 0; i < 40 && !f.invite[0]; i++) {
        pump(&f, now);
        now += FLOE_MS(50);
        floe_sip_ua_tick(f.ua, now);
    }
    /* the allocation went over the stream, and its relayed address is in the offer */
    assert_true(f.stream_msgs >= 2); /* the 401 round and the Allocate */
    assert_int_equal(f.tc.relay_opens, 1);
    assert_non_null(strstr(f.invite, "198.51.100.1 50000 typ relay"));
    unsigned id = f.last_id;
    /* the stream's connection ends: the agent hears it; nothing more goes there */
    floe_sip_ua_stream_closed(f.ua, now, id);
    unsigned before = f.stream_msgs;
    pump(&f, now);
    assert_int_equal(f.stream_msgs, before);
    /* the call ends: once its agent is gone, the id is dead; a datagram for it is dropped */
    assert_int_equal(floe_sip_ua_hangup(f.ua, now), FLOE_OK);
    for (int i = 0; i < 200 && floe_sip_ua_stream(f.ua, id, &st) == FLOE_OK; i++) {
        now += FLOE_MS(500);
        floe_sip_ua_tick(f.ua, now);
        pump(&f, now);
    }
    assert_int_equal(floe_sip_ua_stream(f.ua, id, &st), FLOE_ERR_NOT_FOUND);
    static const uint8_t junk[20] = {0x01, 0x01};
    assert_int_equal(floe_sip_ua_on_stream(f.ua, now, id, junk, sizeof junk), FLOE_OK);
    floe_sip_ua_stream_closed(f.ua, now, id); /* no effect */
    /* a second call: a new agent, a new stream id */
    f.invite[0] = '\0';
    assert_int_equal(floe_sip_ua_dial(f.ua, now, "sip:bob@192.0.2.20"), FLOE_OK);
    for (int i = 0; i < 40 && !f.invite[0]; i++) {
        pump(&f, now);
        now += FLOE_MS(50);
        floe_sip_ua_tick(f.ua, now);
    }
    assert_true(f.last_id != id);
    assert_int_equal(f.last_id & 0xffu, id & 0xffu); /* the same base of a new agent */
    assert_non_null(strstr(f.invite, "typ relay"));
    fx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_over_tcp_in_a_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
