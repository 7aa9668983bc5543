/* Unit tests for sim/sim_net.h and sim/sim_rng.h: the random streams, the event queue's
 * order, timers, running the clock, the caps, counters, tracing, and determinism (the
 * same seed gives the same run; another seed another one). Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "sim.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_sim *world(uint64_t seed) {
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    return sim;
}

/* ---- random streams -------------------------------------------------------------- */

static void test_rng_streams(void **state) {
    (void)state;
    floe_sim_rng a, b, c;
    floe_sim_rng_seed(&a, 1);
    floe_sim_rng_seed(&b, 1);
    floe_sim_rng_seed(&c, 2);
    bool differ = false;
    for (int i = 0; i < 100; i++) {
        uint64_t x = floe_sim_rng_next(&a), y = floe_sim_rng_next(&b), z = floe_sim_rng_next(&c);
        assert_int_equal(x, y);
        differ |= x != z;
    }
    assert_true(differ);

    /* Seed 0 works (the state is never all zero). */
    floe_sim_rng_seed(&a, 0);
    assert_true(floe_sim_rng_next(&a) != 0 || floe_sim_rng_next(&a) != 0);

    /* Labels give unrelated streams; the same label the same one. */
    floe_sim_rng_seed_label(&a, 7, "net:internet");
    floe_sim_rng_seed_label(&b, 7, "net:internet");
    floe_sim_rng_seed_label(&c, 7, "net:lanA");
    uint64_t x = floe_sim_rng_next(&a);
    assert_int_equal(x, floe_sim_rng_next(&b));
    assert_true(x != floe_sim_rng_next(&c));

    /* below(): in range, every value reached; unit() in [0, 1). */
    unsigned seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t v = floe_sim_rng_below(&a, 7);
        assert_true(v < 7);
        seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        assert_in_range(seen[i], 850, 1150);
    assert_int_equal(floe_sim_rng_below(&a, 0), 0);
    assert_int_equal(floe_sim_rng_below(&a, 1), 0);
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double u = floe_sim_rng_unit(&a);
        assert_true(u >= 0.0 && u < 1.0);
        double n = floe_sim_rng_normal(&a);
        assert_true(n >= -6.0 && n <= 6.0);
        sum += n;
        sq += n * n;
    }
    double mean = sum / 20000, var = sq / 20000 - mean * mean;
    assert_true(mean > -0.05 && mean < 0.05);
    assert_true(var > 0.9 && var < 1.1);
}

static void test_rng_bytes_are_portable(void **state) {
    (void)state;
    /* Bytes come out little-endian from each 64-bit draw, on every host. */
    floe_sim_rng a, b;
    floe_sim_rng_seed(&a, 99);
    floe_sim_rng_seed(&b, 99);
    uint8_t buf[11];
    assert_int_equal(floe_sim_rng_bytes(&a, buf, sizeof buf), FLOE_OK);
    uint64_t v0 = floe_sim_rng_next(&b), v1 = floe_sim_rng_next(&b);
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf[i], (uint8_t)(v0 >> (8 * i)));
    for (int i = 0; i < 3; i++)
        assert_int_equal(buf[8 + i], (uint8_t)(v1 >> (8 * i)));
    /* The world's derived streams depend on the seed and the label only. */
    floe_sim *s1 = world(5), *s2 = world(5);
    floe_sim_rng r1, r2, r3;
    floe_sim_rng_derive(s1, "alice", &r1);
    floe_sim_rng_derive(s2, "alice", &r2);
    floe_sim_rng_derive(s2, "bob", &r3);
    uint64_t y = floe_sim_rng_next(&r1);
    assert_int_equal(y, floe_sim_rng_next(&r2));
    assert_true(y != floe_sim_rng_next(&r3));
    floe_sim_free(s1);
    floe_sim_free(s2);
}

/* ---- the event queue and timers -------------------------------------------------- */

typedef struct fired {
    floe_time_ns at[4096];
    unsigned who[4096];
    size_t n;
} fired;

typedef struct tctx {
    fired *log;
    unsigned id;
} tctx;

static void record(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    tctx *c = ctx;
    assert_true(c->log->n < 4096);
    c->log->at[c->log->n] = now;
    c->log->who[c->log->n] = c->id;
    c->log->n++;
}

static void test_queue_order_is_stable(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.max_timers = 2000;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    static fired log;
    static tctx ctx[1000];
    floe_sim_timer *t[1000];
    memset(&log, 0, sizeof log);
    floe_sim_rng r;
    floe_sim_rng_seed(&r, 3);
    floe_time_ns when[1000];
    for (unsigned i = 0; i < 1000; i++) {
        ctx[i].log = &log;
        ctx[i].id = i;
        assert_int_equal(floe_sim_timer_new(sim, record, &ctx[i], &t[i]), FLOE_OK);
        when[i] = FLOE_MS(floe_sim_rng_below(&r, 20)); /* many ties */
        assert_int_equal(floe_sim_timer_arm(t[i], when[i]), FLOE_OK);
    }
    /* Move some, cancel some, re-arm some for the same time (keeps their place). */
    for (unsigned i = 0; i < 1000; i += 7) {
        when[i] = FLOE_MS(25);
        assert_int_equal(floe_sim_timer_arm(t[i], when[i]), FLOE_OK);
    }
    for (unsigned i = 3; i < 1000; i += 11)
        floe_sim_timer_disarm(t[i]);
    for (unsigned i = 5; i < 1000; i += 13)
        if (i % 11 != 3) assert_int_equal(floe_sim_timer_arm(t[i], when[i]), FLOE_OK);
    assert_int_equal(floe_sim_timer_when(t[3]), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_next_time(sim), 0);
    size_t expect = floe_sim_pending(sim);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(log.n, expect);
    assert_int_equal(floe_sim_now(sim), FLOE_MS(25));
    /* Non-decreasing times; within a time, timers armed earlier fire first. Re-armed
     * (moved) timers were armed after all others, so at 25 ms they follow index order. */
    for (size_t k = 1; k < log.n; k++) {
        assert_true(log.at[k - 1] <= log.at[k]);
        assert_int_equal(log.at[k], when[log.who[k]]);
        if (log.at[k - 1] == log.at[k]) assert_true(log.who[k - 1] < log.who[k]);
    }
    for (unsigned i = 0; i < 1000; i++)
        floe_sim_timer_free(t[i]);
    floe_sim_free(sim);
}

typedef struct rearm {
    floe_sim_timer *t;
    unsigned n;
    bool free_self;
} rearm;

static void periodic(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    rearm *r = ctx;
    r->n++;
    if (r->free_self && r->n == 3) {
        floe_sim_timer_free(t);
        r->t = NULL;
        return;
    }
    assert_int_equal(floe_sim_timer_arm(t, now + FLOE_MS(100)), FLOE_OK);
}

static void test_running_the_clock(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.start = FLOE_S(1000);
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    assert_int_equal(floe_sim_now(sim), FLOE_S(1000));
    assert_int_equal(floe_sim_step(sim), 0); /* nothing to run */
    assert_int_equal(floe_sim_next_time(sim), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(2000)), FLOE_OK);

    rearm r = {0};
    assert_int_equal(floe_sim_timer_new(sim, periodic, &r, &r.t), FLOE_OK);
    assert_int_equal(floe_sim_timer_arm(r.t, 0), FLOE_OK); /* the past means now */
    assert_int_equal(floe_sim_timer_when(r.t), FLOE_S(1000));
    assert_int_equal(floe_sim_step(sim), 1);
    assert_int_equal(r.n, 1);
    /* run_until runs what is due and then sets the clock. */
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(1000) + FLOE_MS(250)), FLOE_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(floe_sim_now(sim), FLOE_S(1000) + FLOE_MS(250));
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(10)), FLOE_OK); /* never backwards */
    assert_int_equal(floe_sim_now(sim), FLOE_S(1000) + FLOE_MS(250));
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);
    assert_int_equal(r.n, 4);
    /* A periodic timer never lets the world go idle: the limit ends the run. */
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1001)), FLOE_ERR_TIMEOUT);
    assert_int_equal(floe_sim_now(sim), FLOE_S(1001));
    assert_int_equal(r.n, 11);
    /* A timer may free itself in its callback. */
    r.free_self = true;
    r.n = 0;
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1002)), FLOE_OK);
    assert_int_equal(r.n, 3);
    assert_null(r.t);
    floe_sim_free(sim);

    /* max_steps stops a run that would never end. */
    floe_sim_config_default(&cfg);
    cfg.max_steps = 5;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    rearm z = {0};
    assert_int_equal(floe_sim_timer_new(sim, periodic, &z, &z.t), FLOE_OK);
    assert_int_equal(floe_sim_timer_arm(z.t, 0), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_TIME_NEVER - 1), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sim_steps(sim), 5);
    assert_int_equal(floe_sim_step(sim), FLOE_ERR_LIMIT);
    floe_sim_free(sim); /* frees the armed timer too */
}

/* ---- caps -------------------------------------------------------------------------- */

static void nop_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)ctx;
    (void)t;
    (void)now;
}

static void test_caps(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim *sim;
    floe_sim_config_default(&cfg);
    cfg.max_events = FLOE_SIM_MAX_EVENTS_LIMIT + 1;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_ERR_INVAL);
    assert_null(sim);
    floe_sim_config_default(&cfg);
    cfg.max_networks = 2;
    cfg.max_hosts = 2;
    cfg.max_sockets = 2;
    cfg.max_timers = 2;
    cfg.max_events = 3;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);

    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, "a", NULL, &n), FLOE_OK);
    assert_int_equal(floe_sim_network_add(sim, "a", NULL, NULL), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_network_add(sim, "b", NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sim_network_add(sim, "c", NULL, NULL), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sim_network_add(sim, "", NULL, NULL), FLOE_ERR_INVAL);

    floe_sim_host *h1, *h2;
    assert_int_equal(floe_sim_host_add(sim, "h1", &h1), FLOE_OK);
    assert_int_equal(floe_sim_host_add(sim, "h2", &h2), FLOE_OK);
    assert_int_equal(floe_sim_host_add(sim, "h3", NULL), FLOE_ERR_LIMIT);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    ic.ip4 = addr("10.0.0.1");
    assert_int_equal(floe_sim_host_add_iface(h1, &ic, NULL), FLOE_OK);
    ic.ip4 = addr("10.0.0.2");
    assert_int_equal(floe_sim_host_add_iface(h2, &ic, NULL), FLOE_OK);

    floe_sim_udp *s1, *s2, *s3;
    floe_addr any = addr("0.0.0.0");
    assert_int_equal(floe_sim_udp_open(h1, &any, &s1), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(h2, &any, &s2), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(h2, &any, &s3), FLOE_ERR_LIMIT);

    floe_sim_timer *t1, *t2, *t3;
    assert_int_equal(floe_sim_timer_new(sim, nop_timer, NULL, &t1), FLOE_OK);
    assert_int_equal(floe_sim_timer_new(sim, nop_timer, NULL, &t2), FLOE_OK);
    assert_int_equal(floe_sim_timer_new(sim, nop_timer, NULL, &t3), FLOE_ERR_LIMIT);
    floe_sim_timer_free(t2);
    assert_int_equal(floe_sim_timer_new(sim, nop_timer, NULL, &t2), FLOE_OK);

    /* The event queue holds 3: one timer and two datagrams fill it; the third datagram
     * is dropped and counted, and a timer cannot be armed. */
    assert_int_equal(floe_sim_timer_arm(t1, FLOE_S(1)), FLOE_OK);
    floe_addr to = addr("10.0.0.2");
    to.port = floe_sim_udp_local(s2).port;
    uint8_t byte = 1;
    assert_int_equal(floe_sim_udp_send(s1, &to, &byte, 1), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(s1, &to, &byte, 1), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(s1, &to, &byte, 1), FLOE_OK);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_EVENT_QUEUE), 1);
    assert_int_equal(floe_sim_network_counter(n, FLOE_SIM_DROP_EVENT_QUEUE), 1);
    assert_int_equal(floe_sim_timer_arm(t2, FLOE_S(1)), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sim_timer_when(t2), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_in_flight(sim), 2);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(5)), FLOE_OK);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DELIVERED), 2);
    assert_int_equal(floe_sim_udp_pending(s2), 2);
    (void)s3;
    floe_sim_free(sim);
}

/* ---- counters and tracing -------------------------------------------------------- */

static void test_counter_names(void **state) {
    (void)state;
    for (int c = 0; c < FLOE_SIM_COUNTER_COUNT; c++) {
        const char *n = floe_sim_counter_name(c);
        assert_non_null(n);
        assert_int_equal(floe_sim_counter_is_drop(c), strncmp(n, "drop_", 5) == 0);
        for (int d = 0; d < c; d++)
            assert_string_not_equal(n, floe_sim_counter_name(d));
    }
    assert_null(floe_sim_counter_name(FLOE_SIM_COUNTER_COUNT));
    assert_null(floe_sim_counter_name(-1));
    assert_string_equal(floe_sim_verdict_name(FLOE_SIM_V_DROPPED), "dropped");
}

/* Two hosts on a jittery, lossy network play ping-pong; the log of every trace record
 * is the run's fingerprint. */
typedef struct pingpong {
    floe_sim_udp *a, *b;
    unsigned rounds;
    char log[64 * 1024];
    size_t log_len;
    floe_time_ns arrivals[512];
    size_t n_arrivals;
} pingpong;

static void on_ping(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)dst;
    pingpong *pp = ctx;
    if (pp->n_arrivals < 512) pp->arrivals[pp->n_arrivals++] = now;
    if (s == pp->b) {
        assert_int_equal(floe_sim_udp_send(s, src, p, len), FLOE_OK); /* echo */
    } else if (pp->rounds > 0) {
        pp->rounds--;
        assert_int_equal(floe_sim_udp_send(s, src, p, len), FLOE_OK);
    }
}

static void log_trace(void *ctx, const floe_sim_trace *rec) {
    pingpong *pp = ctx;
    char line[256];
    size_t n = floe_sim_trace_format(rec, line, sizeof line);
    if (pp->log_len + n + 2 < sizeof pp->log) {
        memcpy(pp->log + pp->log_len, line, n);
        pp->log_len += n;
        pp->log[pp->log_len++] = '\n';
        pp->log[pp->log_len] = '\0';
    }
}

static uint64_t run_pingpong(uint64_t seed, pingpong *pp) {
    memset(pp, 0, sizeof *pp);
    floe_sim *sim = world(seed);
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = FLOE_MS(20);
    l.jitter = FLOE_MS(5);
    l.loss = 0.05;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, "net", &l, &n), FLOE_OK);
    floe_sim_host *ha, *hb;
    assert_int_equal(floe_sim_host_add(sim, "a", &ha), FLOE_OK);
    assert_int_equal(floe_sim_host_add(sim, "b", &hb), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    ic.ip4 = addr("192.0.2.1");
    assert_int_equal(floe_sim_host_add_iface(ha, &ic, NULL), FLOE_OK);
    ic.ip4 = addr("192.0.2.2");
    assert_int_equal(floe_sim_host_add_iface(hb, &ic, NULL), FLOE_OK);
    floe_addr ba = addr("192.0.2.1:1000"), bb = addr("192.0.2.2:2000");
    assert_int_equal(floe_sim_udp_open(ha, &ba, &pp->a), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(hb, &bb, &pp->b), FLOE_OK);
    floe_sim_udp_set_callback(pp->a, on_ping, pp);
    floe_sim_udp_set_callback(pp->b, on_ping, pp);
    assert_int_equal(floe_sim_tracer_add(sim, log_trace, pp), FLOE_OK);
    pp->rounds = 1000;
    /* Ten balls in play, so that loss does not end the game at once. */
    for (int i = 0; i < 10; i++) {
        uint8_t msg[8] = {'p', 'i', 'n', 'g', (uint8_t)i};
        assert_int_equal(floe_sim_udp_send(pp->a, &bb, msg, sizeof msg), FLOE_OK);
    }
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(3600)), FLOE_OK);
    /* Every datagram is accounted for. */
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_TX),
                     floe_sim_counter_get(sim, FLOE_SIM_DELIVERED) + floe_sim_drops(sim));
    assert_int_equal(floe_sim_in_flight(sim), 0);
    assert_true(floe_sim_counter_get(sim, FLOE_SIM_DROP_LOSS) > 0);
    uint64_t h = floe_sim_trace_hash(sim);
    floe_sim_free(sim);
    return h;
}

static void test_determinism(void **state) {
    (void)state;
    static pingpong r1, r2, r3;
    uint64_t h1 = run_pingpong(42, &r1);
    uint64_t h2 = run_pingpong(42, &r2);
    uint64_t h3 = run_pingpong(43, &r3);
    assert_int_equal(h1, h2);
    assert_int_equal(r1.log_len, r2.log_len);
    assert_memory_equal(r1.log, r2.log, r1.log_len);
    assert_true(r1.log_len > 1000);
    /* Another seed: other jitter, so other arrival times and another hash. */
    assert_true(h1 != h3);
    bool differ = false;
    for (size_t i = 0; i < r1.n_arrivals && i < r3.n_arrivals; i++)
        differ |= r1.arrivals[i] != r3.arrivals[i];
    assert_true(differ);
    /* A record looks like this. */
    assert_non_null(strstr(r1.log, "net 192.0.2.1:1000 > 192.0.2.2:2000 len 8 delivered"));
    assert_non_null(strstr(r1.log, "dropped (loss)"));
}

static void test_reseed(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    assert_int_equal(floe_sim_seed(sim), 1);
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, "net", NULL, &n), FLOE_OK);
    assert_int_equal(floe_sim_reseed(sim, 2), FLOE_OK);
    assert_int_equal(floe_sim_seed(sim), 2);
    floe_sim_timer *t;
    assert_int_equal(floe_sim_timer_new(sim, nop_timer, NULL, &t), FLOE_OK);
    assert_int_equal(floe_sim_timer_arm(t, 5), FLOE_OK);
    assert_int_equal(floe_sim_step(sim), 1);
    assert_int_equal(floe_sim_reseed(sim, 3), FLOE_ERR_STATE);
    floe_sim_free(sim);
}

static void test_trace_format(void **state) {
    (void)state;
    uint8_t payload[3] = {1, 2, 3};
    floe_sim_trace rec;
    memset(&rec, 0, sizeof rec);
    rec.at = FLOE_S(2) + 5;
    rec.src = addr("10.0.0.2:5000");
    rec.dst = addr("[2001:db8::1]:3478");
    rec.verdict = FLOE_SIM_V_DROPPED;
    rec.reason = FLOE_SIM_DROP_NAT_FILTERED;
    rec.data = payload;
    rec.len = sizeof payload;
    char buf[128];
    floe_sim_trace_format(&rec, buf, sizeof buf);
    assert_string_equal(buf, "2.000000005 local 10.0.0.2:5000 > [2001:db8::1]:3478 len 3 dropped "
                             "(nat_filtered)");
    size_t n = floe_sim_trace_format(&rec, buf, 10);
    assert_int_equal(n, 9);
    assert_string_equal(buf, "2.0000000");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_streams),
        cmocka_unit_test(test_rng_bytes_are_portable),
        cmocka_unit_test(test_queue_order_is_stable),
        cmocka_unit_test(test_running_the_clock),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_counter_names),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_reseed),
        cmocka_unit_test(test_trace_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
