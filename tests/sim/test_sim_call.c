/* SIP user agents on simulated hosts (rt/sim/sim_call.h): alice and bob behind NATs,
 * registered with the simulated SIP proxy, call each other through it with ICE. The
 * hooks see every SIP datagram and UA event in order (ICE completed at bob before his
 * 180), the recorded audio holds the other side's tone, a run repeats under its seed,
 * and a call without any path ends without ringing. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/tone.h"
#include "sim.h"
#include "sim_call.h"
#include "sim_scenario.h"
#include "sim_sip_proxy.h"
#include "sim_stun_server.h"

#define LOG 4096

/* One line of what a side saw, in order: a SIP datagram or a UA event. */
typedef struct entry {
    bool sip, sent;
    unsigned status; /* SIP responses */
    char method[16]; /* SIP requests */
    floe_sip_ua_event_type ev;
    floe_time_ns at;
} entry;

typedef struct side {
    floe_sim_call *call;
    entry log[LOG];
    size_t n;
} side;

typedef struct world {
    floe_sim *sim;
    floe_sim_stun_server *stun;
    floe_sim_sip_proxy *proxy;
    side s[2];
} world;

static side *side_of(world *w, floe_sim_call *c) {
    return w->s[0].call == c ? &w->s[0] : &w->s[1];
}

static void on_sip(void *ctx, floe_sim_call *c, floe_time_ns now, bool sent, const floe_addr *peer,
                   const uint8_t *p, size_t len) {
    (void)peer;
    side *s = side_of(ctx, c);
    assert_true(s->n < LOG);
    entry *e = &s->log[s->n++];
    memset(e, 0, sizeof *e);
    e->sip = true;
    e->sent = sent;
    e->at = now;
    if (len > 12 && !memcmp(p, "SIP/2.0 ", 8))
        e->status = (unsigned)atoi((const char *)p + 8);
    else
        for (size_t i = 0; i < len && i < sizeof e->method - 1 && p[i] != ' '; i++)
            e->method[i] = (char)p[i];
}

static void on_event(void *ctx, floe_sim_call *c, const floe_sip_ua_event *ev) {
    side *s = side_of(ctx, c);
    assert_true(s->n < LOG);
    entry *e = &s->log[s->n++];
    memset(e, 0, sizeof *e);
    e->ev = ev->type;
    e->at = ev->at;
}

/* Index of the first entry from `from` that is a SIP message (method or status, sent or
 * received) or an event, -1 when none. */
static long find_sip(const side *s, size_t from, bool sent, const char *method, unsigned status) {
    for (size_t i = from; i < s->n; i++)
        if (s->log[i].sip && s->log[i].sent == sent &&
            (method ? !strcmp(s->log[i].method, method) : s->log[i].status == status))
            return (long)i;
    return -1;
}

static long find_ev(const side *s, floe_sip_ua_event_type t) {
    for (size_t i = 0; i < s->n; i++)
        if (!s->log[i].sip && s->log[i].ev == t) return (long)i;
    return -1;
}

static world *world_new(uint64_t seed, const char *nat_a, const char *nat_b) {
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    floe_sim_config sc;
    floe_sim_config_default(&sc);
    sc.seed = seed;
    assert_int_equal(floe_sim_new(&w->sim, &sc), FLOE_OK);
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "network internet delay=20ms jitter=2ms\n"
             "host stun net=internet ip=192.0.2.1\n"
             "host sip net=internet ip=192.0.2.10\n"
             "network lanA delay=1ms\n"
             "nat natA type=%s inside=lanA ip=10.0.1.1 outside=internet ip=203.0.113.1\n"
             "host alice net=lanA ip=10.0.1.2 gw=10.0.1.1\n"
             "network lanB delay=1ms\n"
             "nat natB type=%s inside=lanB ip=10.0.2.1 outside=internet ip=198.51.100.1\n"
             "host bob net=lanB ip=10.0.2.2 gw=10.0.2.1\n",
             nat_a, nat_b);
    if (floe_sim_scenario_parse(w->sim, text, "t", NULL, err, sizeof err) != FLOE_OK)
        fail_msg("%s", err);
    floe_addr stun, proxy;
    floe_addr_parse("192.0.2.1:3478", &stun);
    floe_addr_parse("192.0.2.10:5060", &proxy);
    floe_stun_server_config stc;
    floe_stun_server_config_default(&stc);
    stc.primary = stun;
    assert_int_equal(floe_sim_stun_server_new(floe_sim_host_find(w->sim, "stun"), &stc, &w->stun),
                     FLOE_OK);
    assert_int_equal(floe_sim_sip_proxy_new(floe_sim_host_find(w->sim, "sip"), &proxy,
                                            "floe.example", &w->proxy),
                     FLOE_OK);
    for (int k = 0; k < 2; k++) {
        floe_sim_call_config c;
        floe_sim_call_config_default(&c);
        c.name = k ? "bob" : "alice";
        c.host = floe_sim_host_find(w->sim, c.name);
        c.ua.user = c.name;
        c.ua.domain = "floe.example";
        c.ua.outbound_proxy = proxy;
        c.ua.stun_servers[0] = stun;
        c.ua.n_stun_servers = 1;
        c.ua.tone_hz = k ? 1000 : 440;
        c.on_sip = on_sip;
        c.on_event = on_event;
        c.ctx = w;
        assert_int_equal(floe_sim_call_new(w->sim, &c, &w->s[k].call), FLOE_OK);
    }
    return w;
}

static void world_free(world *w) {
    for (int k = 0; k < 2; k++)
        floe_sim_call_free(w->s[k].call);
    floe_sim_sip_proxy_free(w->proxy);
    floe_sim_stun_server_free(w->stun);
    floe_sim_free(w->sim);
    free(w);
}

typedef bool (*cond_fn)(world *w);

/* Runs until cond holds or `limit` of virtual time passed; returns cond. */
static bool run_until(world *w, cond_fn cond, floe_time_ns limit) {
    floe_time_ns end = floe_sim_now(w->sim) + limit;
    while (!cond(w)) {
        floe_time_ns next = floe_sim_next_time(w->sim);
        if (next == FLOE_TIME_NEVER || next > end) return false;
        assert_true(floe_sim_step(w->sim) > 0);
    }
    return true;
}

static bool both_registered(world *w) {
    return floe_sip_ua_registered(floe_sim_call_ua(w->s[0].call), floe_sim_now(w->sim)) &&
           floe_sip_ua_registered(floe_sim_call_ua(w->s[1].call), floe_sim_now(w->sim));
}

static bool bob_rings(world *w) {
    return floe_sip_ua_state(floe_sim_call_ua(w->s[1].call)) == FLOE_SIP_CALL_RINGING;
}

static bool both_confirmed(world *w) {
    return floe_sip_ua_state(floe_sim_call_ua(w->s[0].call)) == FLOE_SIP_CALL_CONFIRMED &&
           floe_sip_ua_state(floe_sim_call_ua(w->s[1].call)) == FLOE_SIP_CALL_CONFIRMED;
}

static bool both_ended(world *w) {
    return find_ev(&w->s[0], FLOE_SIP_UA_EV_CALL_ENDED) >= 0 &&
           find_ev(&w->s[1], FLOE_SIP_UA_EV_CALL_ENDED) >= 0;
}

static bool alice_ended(world *w) {
    return find_ev(&w->s[0], FLOE_SIP_UA_EV_CALL_ENDED) >= 0;
}

/* The tone a side heard: the index in {440, 1000}, or -1. */
static int heard(const side *s) {
    static const double f[2] = {440, 1000};
    size_t n;
    const int16_t *x = floe_sim_call_audio(s->call, &n);
    floe_tone_result r;
    if (n < 8000 || floe_tone_detect(x, n, 8000, f, 2, &r) != FLOE_OK) return -1;
    return r.detected;
}

/* Both behind port-restricted NATs: a direct srflx path. Bob is answered by hand through
 * the API once he rings; alice hangs up after 2 s of audio. */
static uint64_t full_call(uint64_t seed) {
    world *w = world_new(seed, "port-restricted", "port-restricted");
    floe_addr a = floe_sim_call_sip_addr(w->s[0].call);
    assert_int_equal(a.port, FLOE_SIM_CALL_SIP_PORT);
    assert_string_equal(floe_sim_call_name(w->s[1].call), "bob");

    assert_int_equal(floe_sim_call_register(w->s[0].call), FLOE_OK);
    assert_int_equal(floe_sim_call_register(w->s[1].call), FLOE_OK);
    assert_true(run_until(w, both_registered, FLOE_S(5)));
    assert_int_equal(floe_sim_call_dial(w->s[0].call, "sip:bob@floe.example"), FLOE_OK);
    assert_true(run_until(w, bob_rings, FLOE_S(10)));
    assert_int_equal(floe_sim_call_answer(w->s[1].call), FLOE_OK);
    assert_true(run_until(w, both_confirmed, FLOE_S(5)));
    floe_sim_run_for(w->sim, FLOE_S(2));
    assert_int_equal(floe_sim_call_hangup(w->s[0].call), FLOE_OK);
    assert_true(run_until(w, both_ended, FLOE_S(5)));

    side *al = &w->s[0], *bo = &w->s[1];
    /* the ladder, as the hooks saw it */
    long inv = find_sip(al, 0, true, "INVITE", 0);
    long inv_b = find_sip(bo, 0, false, "INVITE", 0);
    long s183 = find_sip(bo, 0, true, NULL, 183);
    long prack = find_sip(bo, 0, false, "PRACK", 0);
    long done = find_ev(bo, FLOE_SIP_UA_EV_ICE_COMPLETED);
    long sel = find_ev(bo, FLOE_SIP_UA_EV_ICE_SELECTED);
    long r180 = find_sip(bo, 0, true, NULL, 180);
    long ack = find_sip(bo, 0, false, "ACK", 0);
    long bye = find_sip(bo, 0, false, "BYE", 0);
    assert_true(inv >= 0 && inv_b >= 0 && s183 > inv_b && prack > s183);
    assert_true(sel >= 0 && done >= 0);
    /* ring after ICE: the 180 leaves after the events that completed ICE at bob */
    assert_true(r180 > done && r180 > sel);
    assert_true(bo->log[r180].at >= bo->log[done].at);
    assert_true(ack > r180 && bye > ack);
    assert_true(find_ev(al, FLOE_SIP_UA_EV_MEDIA_RECEIVED) >= 0);
    assert_true(find_ev(bo, FLOE_SIP_UA_EV_MEDIA_RECEIVED) >= 0);

    /* a direct path between two endpoint-independent mappings */
    floe_sip_ua_result r;
    floe_sim_call_result(w->s[0].call, &r);
    assert_true(r.have_pair);
    assert_int_equal(r.local.type, FLOE_ICE_CAND_SRFLX);
    assert_int_equal(r.remote.type, FLOE_ICE_CAND_SRFLX);
    assert_true(r.packets_received >= 90); /* about 2 s at 50 packets a second */

    /* the recorded audio holds the other side's tone */
    assert_int_equal(heard(bo), 0);
    assert_int_equal(heard(al), 1);
    assert_int_equal(floe_sim_call_audio_dropped(w->s[0].call), 0);
    for (int k = 0; k < 2; k++) {
        const floe_sim_endpoint_stats *st = floe_sim_call_endpoint_stats(w->s[k].call);
        assert_int_equal(st->tx_errors, 0);
        assert_true(st->rx > 0 && st->tx > 0);
    }
    uint64_t h = floe_sim_trace_hash(w->sim);
    world_free(w);
    return h;
}

static void test_call(void **state) {
    (void)state;
    full_call(1);
}

static void test_repeats(void **state) {
    (void)state;
    uint64_t a = full_call(5), b = full_call(5), c = full_call(6);
    assert_true(a == b);
    assert_true(a != c);
}

/* Port-restricted facing symmetric without a relay: no path, so bob never rings and the
 * call ends at alice with the ICE failure. */
static void test_no_path_no_ring(void **state) {
    (void)state;
    world *w = world_new(3, "port-restricted", "symmetric");
    floe_sim_call_register(w->s[0].call);
    floe_sim_call_register(w->s[1].call);
    assert_true(run_until(w, both_registered, FLOE_S(5)));
    assert_int_equal(floe_sim_call_dial(w->s[0].call, "sip:bob@floe.example"), FLOE_OK);
    assert_true(run_until(w, alice_ended, FLOE_S(40)));
    floe_sim_run_for(w->sim, FLOE_S(5));
    assert_int_equal(find_sip(&w->s[1], 0, true, NULL, 180), -1);
    assert_int_equal(find_sip(&w->s[0], 0, false, NULL, 180), -1);
    assert_true(find_ev(&w->s[0], FLOE_SIP_UA_EV_ICE_FAILED) >= 0);
    size_t n;
    floe_sim_call_audio(w->s[1].call, &n);
    assert_int_equal(n, 0);
    world_free(w);
}

static void test_config_errors(void **state) {
    (void)state;
    floe_sim *sim;
    floe_sim_config sc;
    floe_sim_config_default(&sc);
    assert_int_equal(floe_sim_new(&sim, &sc), FLOE_OK);
    floe_sim_host *bare, *h;
    assert_int_equal(floe_sim_host_add(sim, "bare", &bare), FLOE_OK);
    char err[128];
    assert_int_equal(floe_sim_scenario_parse(sim, "network n\nhost h net=n ip=192.0.2.5\n", "t",
                                             NULL, err, sizeof err),
                     FLOE_OK);
    h = floe_sim_host_find(sim, "h");
    floe_sim_call_config c;
    floe_sim_call_config_default(&c);
    floe_sim_call *call = (floe_sim_call *)&c;
    assert_int_equal(floe_sim_call_new(sim, &c, &call), FLOE_ERR_INVAL);
    assert_null(call);
    c.name = "x";
    c.host = h;
    assert_int_equal(floe_sim_call_new(sim, &c, &call), FLOE_ERR_INVAL); /* no user */
    c.ua.user = "x";
    c.ua.domain = "floe.example";
    c.host = bare;
    assert_int_equal(floe_sim_call_new(sim, &c, &call), FLOE_ERR_NOT_FOUND);
    c.host = h;
    c.name = "a-name-that-is-far-too-long-for-the-call";
    assert_int_equal(floe_sim_call_new(sim, &c, &call), FLOE_ERR_INVAL);
    c.name = "x";
    assert_int_equal(floe_sim_call_new(sim, &c, &call), FLOE_OK);
    /* no proxy and no call: the actions say so */
    assert_int_equal(floe_sim_call_register(call), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_call_hangup(call), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_call_dial(call, "not a uri"), FLOE_ERR_INVAL);
    floe_sim_call *second;
    assert_int_equal(floe_sim_call_new(sim, &c, &second), FLOE_ERR_STATE); /* 5060 taken */
    floe_sim_call_free(call);
    floe_sim_call_free(NULL);
    floe_sim_free(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_no_path_no_ring),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
