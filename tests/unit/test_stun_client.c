/* Unit tests for include/floe/stun_client.h, in virtual time: the client (rt/sim's
 * floe_sim_stun_client) talks to the real server core (floe_sim_stun_server) across one
 * simulated network, 10 ms each way, which can be cut to lose chosen datagrams or
 * everything. Crafted responses and the API are tested on the bare client. No sockets,
 * no clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_client.h"
#include "floe/stun_server.h"
#include "sim.h"
#include "sim_stun.h"

/* ---- a deterministic random source ------------------------------------------------ */

static int counting_rand(void *ctx, void *buf, size_t len) {
    unsigned *seed = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*seed * 31u + i * 7u + 1u);
    (*seed)++;
    return FLOE_OK;
}

static int failing_rand(void *ctx, void *buf, size_t len) {
    (void)ctx;
    (void)buf;
    (void)len;
    return FLOE_ERR_CRYPTO;
}

/* ---- the network ------------------------------------------------------------------- */

#define PRIMARY "192.0.2.1:3478"
#define ALTERNATE "192.0.2.2:3479"
#define MAX_LOG 32

typedef struct lab {
    floe_sim *sim;
    floe_sim_network *internet;
    floe_sim_stun_server *srv;
    floe_sim_stun_client *cl;
    floe_addr client_addr, primary, alternate;
    unsigned n_requests;              /* datagrams the client put on the network */
    floe_time_ns send_times[MAX_LOG]; /* when each request left the client */
} lab;

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static void log_requests(void *ctx, const floe_sim_trace *rec) {
    lab *L = ctx;
    if (!floe_addr_equal(&rec->src, &L->client_addr)) return;
    unsigned i = L->n_requests++;
    if (i < MAX_LOG) L->send_times[i] = rec->sent;
}

/* A world starting at `start`: the server (RFC 5780 or not) on 192.0.2.1 and .2, the
 * client on 198.51.100.7:40000, `delay` each way. */
static void lab_init(lab *L, floe_time_ns start, floe_time_ns delay, bool rfc5780,
                     const char *software, bool reliable) {
    memset(L, 0, sizeof *L);
    char text[512], err[256];
    snprintf(text, sizeof text,
             "network internet delay=%lluus\n"
             "host stun iface=eth0 net=internet ip=192.0.2.1 iface=eth1 net=internet "
             "ip=192.0.2.2\n"
             "host client net=internet ip=198.51.100.7\n",
             (unsigned long long)(delay / 1000));
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.start = start;
    assert_int_equal(floe_sim_new(&L->sim, &cfg), FLOE_OK);
    if (floe_sim_scenario_parse(L->sim, text, "lab", NULL, err, sizeof err) != FLOE_OK)
        fail_msg("%s", err);
    L->internet = floe_sim_network_find(L->sim, "internet");
    L->client_addr = addr("198.51.100.7:40000");
    L->primary = addr(PRIMARY);
    L->alternate = addr(ALTERNATE);
    floe_stun_server_config sc;
    floe_stun_server_config_default(&sc);
    sc.rfc5780 = rfc5780;
    sc.primary = L->primary;
    sc.alternate = L->alternate;
    sc.software = software;
    assert_int_equal(floe_sim_stun_server_new(floe_sim_host_find(L->sim, "stun"), &sc, &L->srv),
                     FLOE_OK);
    floe_stun_client_config cc;
    floe_stun_client_config_default(&cc);
    cc.server = L->primary;
    cc.reliable = reliable;
    assert_int_equal(floe_sim_stun_client_new(floe_sim_host_find(L->sim, "client"), &L->client_addr,
                                              &cc, &L->cl),
                     FLOE_OK);
    assert_int_equal(floe_sim_tracer_add(L->sim, log_requests, L), FLOE_OK);
}

static void lab_free(lab *L) {
    floe_sim_stun_client_free(L->cl);
    floe_sim_stun_server_free(L->srv);
    floe_sim_free(L->sim);
}

/* From now on the network drops everything. */
static void black_hole(lab *L) {
    floe_sim_link l = *floe_sim_network_link(L->internet);
    l.partitioned = true;
    assert_int_equal(floe_sim_network_set_link(L->internet, &l), FLOE_OK);
}

/* Loses what arrives at `at`: the network is cut from 1 ms before to 1 ms after. */
static void lose_arrival(lab *L, floe_time_ns at) {
    assert_int_equal(floe_sim_network_partition_at(L->internet, at - FLOE_MS(1), true), FLOE_OK);
    assert_int_equal(floe_sim_network_partition_at(L->internet, at + FLOE_MS(1), false), FLOE_OK);
}

static floe_stun_client *core(lab *L) {
    return floe_sim_stun_client_core(L->cl);
}

static floe_time_ns now(const lab *L) {
    return floe_sim_now(L->sim);
}

/* Starts a transaction and runs the world until it has ended and nothing is in flight:
 * the client's one event. */
static floe_stun_client_event run(lab *L, const floe_stun_client_request *req) {
    assert_int_equal(floe_sim_stun_client_start(L->cl, req), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(L->sim, now(L) + FLOE_S(100)), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_events(L->cl), 1);
    return *floe_sim_stun_client_event_get(L->cl);
}

static unsigned seed;

/* A bare client, for the tests that feed it by hand. */
static void client_init(floe_stun_client *c) {
    floe_stun_client_config cfg;
    floe_stun_client_config_default(&cfg);
    cfg.server = addr(PRIMARY);
    cfg.rand = counting_rand;
    cfg.rand_ctx = &seed;
    assert_int_equal(floe_stun_client_init(c, &cfg), FLOE_OK);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_success(void **state) {
    (void)state;
    lab L;
    lab_init(&L, FLOE_S(100), FLOE_MS(10), true, NULL, false);
    floe_stun_client *c = core(&L);
    assert_int_equal(floe_stun_client_deadline(c), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_stun_client_start(L.cl, NULL), FLOE_OK);
    assert_int_equal(c->state, FLOE_STUN_CLIENT_WAITING);
    assert_int_equal(floe_sim_run_until_idle(L.sim, FLOE_S(200)), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_events(L.cl), 1);
    floe_stun_client_event ev = *floe_sim_stun_client_event_get(L.cl);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    const floe_stun_client_result *r = &ev.result;
    assert_true(floe_addr_equal(&r->mapped, &L.client_addr));
    assert_true(r->mapped_xor);
    assert_true(floe_addr_equal(&r->from, &L.primary));
    assert_true(floe_addr_equal(&r->origin, &L.primary));
    assert_true(floe_addr_equal(&r->other, &L.alternate));
    assert_true(floe_addr_equal(&r->dest, &L.primary));
    /* RTT: one request, 10 ms each way. */
    assert_int_equal(r->requests, 1);
    assert_true(r->rtt_exact);
    assert_int_equal(r->rtt_ns, FLOE_MS(20));
    assert_int_equal(r->rtt_last_ns, FLOE_MS(20));
    assert_int_equal(r->started, FLOE_S(100));
    assert_int_equal(r->finished, FLOE_S(100) + FLOE_MS(20));
    assert_int_equal(r->err, FLOE_OK);
    /* Over, and nothing more to do: no other event came. */
    assert_int_equal(c->state, FLOE_STUN_CLIENT_IDLE);
    assert_int_equal(floe_stun_client_deadline(c), FLOE_TIME_NEVER);
    assert_false(floe_stun_client_next_event(c, &ev));
    assert_int_equal(c->stats.transactions, 1);
    assert_int_equal(c->stats.tx, 1);
    assert_int_equal(c->stats.rx, 1);
    assert_int_equal(c->stats.rx_matched, 1);
    /* The request on the wire: a Binding request with FINGERPRINT, nothing else. */
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(c->req, c->req_len, 0, &m), FLOE_OK);
    assert_int_equal(m.method, FLOE_STUN_BINDING);
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    assert_true(m.fp >= 0);
    assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_CHANGE_REQUEST));
    assert_memory_equal(m.tid, r->tid, FLOE_STUN_TID_LEN);
    assert_string_equal(floe_stun_client_event_name(ev.type), "success");
    lab_free(&L);
}

static void test_second_transaction_new_tid(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), true, NULL, false);
    floe_stun_client_event a = run(&L, NULL);
    floe_stun_client_event b = run(&L, NULL);
    assert_int_equal(a.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_int_equal(b.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_memory_not_equal(a.result.tid, b.result.tid, FLOE_STUN_TID_LEN);
    assert_int_equal(core(&L)->stats.transactions, 2);
    lab_free(&L);
}

static void test_change_request_and_dest(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), true, NULL, false);
    floe_addr alt_ip_primary_port = addr("192.0.2.2:3478");
    floe_stun_client_request req = {.dest = &alt_ip_primary_port,
                                    .change = FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT};
    assert_int_equal(floe_sim_stun_client_start(L.cl, &req), FLOE_OK);
    floe_stun_client *c = core(&L);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(c->req, c->req_len, 0, &m), FLOE_OK);
    uint32_t flags = 0;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_CHANGE_REQUEST, &flags), FLOE_OK);
    assert_int_equal(flags, FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
    assert_int_equal(floe_sim_run_until_idle(L.sim, FLOE_S(100)), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_events(L.cl), 1);
    floe_stun_client_event ev = *floe_sim_stun_client_event_get(L.cl);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_true(floe_addr_equal(&ev.result.dest, &alt_ip_primary_port));
    assert_int_equal(ev.result.change, FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
    /* Received on 192.0.2.2:3478, answered from the other IP and the other port. */
    floe_addr expect = addr("192.0.2.1:3479");
    assert_true(floe_addr_equal(&ev.result.from, &expect));
    assert_true(floe_addr_equal(&ev.result.origin, &expect));
    lab_free(&L);
}

static void test_retransmission_on_loss(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), true, NULL, false);
    /* The first two copies are lost (they would arrive at 10 ms and 510 ms). */
    lose_arrival(&L, FLOE_MS(10));
    lose_arrival(&L, FLOE_MS(510));
    floe_stun_client_event ev = run(&L, NULL);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_int_equal(L.n_requests, 3);
    assert_int_equal(floe_sim_counter_get(L.sim, FLOE_SIM_DROP_PARTITION), 2);
    /* RFC 8489 §6.2.1: 0, RTO, 3 RTO with RTO = 500 ms. */
    assert_int_equal(L.send_times[0], 0);
    assert_int_equal(L.send_times[1], FLOE_MS(500));
    assert_int_equal(L.send_times[2], FLOE_MS(1500));
    assert_int_equal(ev.result.requests, 3);
    assert_false(ev.result.rtt_exact);
    assert_int_equal(ev.result.rtt_ns, FLOE_MS(1520));
    assert_int_equal(ev.result.rtt_last_ns, FLOE_MS(20));
    /* All copies are the same bytes: the server saw one transaction ID. */
    assert_int_equal(floe_sim_stun_server_core(L.srv)->counters[FLOE_SRV_BINDING_OK], 1);
    lab_free(&L);
}

static void test_lost_response_duplicate_answer(void **state) {
    (void)state;
    lab L;
    /* RTT 600 ms > RTO: the first answer crosses the retransmission. */
    lab_init(&L, 0, FLOE_MS(300), true, NULL, false);
    /* The world runs until nothing is in flight, so the answer to the second copy, which
     * arrives after the first answer ended the transaction, is in too. */
    floe_stun_client_event ev = run(&L, NULL);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_int_equal(ev.result.requests, 2);
    assert_false(ev.result.rtt_exact);
    assert_int_equal(ev.result.rtt_ns, FLOE_MS(600));      /* true RTT of the first copy */
    assert_int_equal(ev.result.rtt_last_ns, FLOE_MS(100)); /* lower bound */
    /* The answer to the second copy was an unmatched duplicate, and made no event. */
    assert_int_equal(core(&L)->stats.drop_unmatched, 1);
    assert_int_equal(floe_sim_stun_client_events(L.cl), 1);
    lab_free(&L);
}

static void test_timeout_rfc_schedule(void **state) {
    (void)state;
    lab L;
    lab_init(&L, FLOE_S(1), FLOE_MS(10), true, NULL, false);
    black_hole(&L);
    floe_stun_client_event ev = run(&L, NULL);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(ev.result.err, FLOE_ERR_TIMEOUT);
    /* Rc = 7 requests at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; give up at 39.5 s. */
    static const unsigned ms[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    assert_int_equal(L.n_requests, FLOE_STUN_RC);
    for (unsigned i = 0; i < FLOE_STUN_RC; i++)
        assert_int_equal(L.send_times[i], FLOE_S(1) + FLOE_MS(ms[i]));
    assert_int_equal(ev.result.requests, FLOE_STUN_RC);
    assert_int_equal(now(&L), FLOE_S(1) + FLOE_MS(39500));
    assert_int_equal(ev.result.finished - ev.result.started, FLOE_MS(39500));
    assert_int_equal(floe_stun_txn_timeout_total(0, false), FLOE_MS(39500));
    assert_int_equal(floe_stun_client_deadline(core(&L)), FLOE_TIME_NEVER);
    lab_free(&L);
}

static void test_timeout_short_schedule(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), true, NULL, false);
    black_hole(&L);
    floe_stun_client_timing t = {.rto = FLOE_MS(100), .max_requests = 4, .last_wait = 4};
    floe_stun_client_request req = {.timing = &t};
    floe_stun_client_event ev = run(&L, &req);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(L.n_requests, 4);
    assert_int_equal(L.send_times[1], FLOE_MS(100));
    assert_int_equal(L.send_times[2], FLOE_MS(300));
    assert_int_equal(L.send_times[3], FLOE_MS(700));
    assert_int_equal(now(&L), FLOE_MS(1100));

    /* One request only: wait Rm * RTO after it. */
    floe_stun_client_timing one = {.rto = FLOE_MS(50), .max_requests = 1, .last_wait = 3};
    req.timing = &one;
    L.n_requests = 0;
    floe_time_ns t0 = now(&L);
    ev = run(&L, &req);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(L.n_requests, 1);
    assert_int_equal(now(&L) - t0, FLOE_MS(150));

    /* An overall limit cuts the schedule short. */
    floe_stun_client_timing capped = {.timeout = FLOE_MS(2000)};
    req.timing = &capped;
    L.n_requests = 0;
    t0 = now(&L);
    ev = run(&L, &req);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(now(&L) - t0, FLOE_MS(2000));
    assert_int_equal(L.n_requests, 3); /* 0, 0.5, 1.5 s */
    lab_free(&L);
}

static void test_reliable(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), false, NULL, true);
    floe_stun_client_event ev = run(&L, NULL);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_int_equal(ev.result.other.family, FLOE_AF_NONE); /* no RFC 5780 here */
    assert_int_equal(ev.result.origin.family, FLOE_AF_NONE);

    /* Over TCP/TLS: one request, then Ti (RFC 8489 §6.2.2). */
    black_hole(&L);
    L.n_requests = 0;
    floe_time_ns t0 = now(&L);
    ev = run(&L, NULL);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(L.n_requests, 1);
    assert_int_equal(now(&L) - t0, FLOE_STUN_TI);

    floe_stun_client_timing capped = {.timeout = FLOE_S(3)};
    floe_stun_client_request req = {.timing = &capped};
    t0 = now(&L);
    ev = run(&L, &req);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(now(&L) - t0, FLOE_S(3));
    lab_free(&L);
}

static void test_error_response(void **state) {
    (void)state;
    /* A server without RFC 5780 answers CHANGE-REQUEST with 420 (RFC 5780 §6.1). */
    lab L;
    lab_init(&L, 0, FLOE_MS(10), false, "floe-test", false);
    floe_stun_client_request req = {.change = FLOE_STUN_CHANGE_PORT};
    floe_stun_client_event ev = run(&L, &req);
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_ERROR_RESPONSE);
    assert_int_equal(ev.result.error_code, 420);
    assert_string_equal(ev.result.reason, "Unknown Attribute");
    assert_int_equal(ev.result.n_unknown, 1);
    assert_int_equal(ev.result.unknown[0], FLOE_STUN_ATTR_CHANGE_REQUEST);
    assert_int_equal(ev.result.err, FLOE_ERR_ERROR_RESPONSE);
    assert_int_equal(ev.result.rtt_ns, FLOE_MS(20));
    assert_int_equal(ev.result.mapped.family, FLOE_AF_NONE);
    assert_string_equal(floe_stun_client_event_name(ev.type), "error response");
    lab_free(&L);
}

/* Builds a response to the client's outstanding request. */
static size_t craft(const floe_stun_client *c, floe_stun_class cls, uint8_t *buf, size_t cap,
                    void (*add)(floe_stun_builder *b, void *arg), void *arg) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, cls, c->cur.tid);
    if (add) add(&b, arg);
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    return n;
}

static void add_error_with_controls(floe_stun_builder *b, void *arg) {
    (void)arg;
    floe_stun_add_error(b, 400, "bad\r\nrequest\x1b[31m");
}

static void add_plain_mapped(floe_stun_builder *b, void *arg) {
    floe_stun_add_addr(b, FLOE_STUN_ATTR_MAPPED_ADDRESS, arg);
}

static void add_unknown_required(floe_stun_builder *b, void *arg) {
    floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, arg);
    floe_stun_add_u32(b, 0x7ff0, 1);
}

static void add_software_only(floe_stun_builder *b, void *arg) {
    (void)arg;
    floe_stun_add_string(b, FLOE_STUN_ATTR_SOFTWARE, "nothing useful");
}

static void test_crafted_responses(void **state) {
    (void)state;
    floe_stun_client c;
    client_init(&c);
    floe_addr src = addr(PRIMARY), mapped = addr("203.0.113.9:1234");
    uint8_t buf[256];
    size_t len;
    floe_stun_client_event ev;

    /* The reason phrase is made safe to print. */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    len = craft(&c, FLOE_STUN_ERROR, buf, sizeof buf, add_error_with_controls, NULL);
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(5), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_ERROR_RESPONSE);
    assert_int_equal(ev.result.error_code, 400);
    assert_string_equal(ev.result.reason, "bad??request?[31m");

    /* MAPPED-ADDRESS is the fallback (RFC 8489 §14.1, RFC 3489 servers). */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_plain_mapped, &mapped);
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(5), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_false(ev.result.mapped_xor);
    assert_true(floe_addr_equal(&ev.result.mapped, &mapped));

    /* Unknown comprehension-required attribute: the transaction fails (RFC 8489 §7.3.3). */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_unknown_required, &mapped);
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(5), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_FAILED);
    assert_int_equal(ev.result.err, FLOE_ERR_UNKNOWN_ATTR);

    /* A success without any mapped address cannot be used. */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_software_only, NULL);
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(5), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_FAILED);
    assert_int_equal(ev.result.err, FLOE_ERR_MALFORMED);

    /* An error response without ERROR-CODE fails too (RFC 8489 §7.3.4). */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    len = craft(&c, FLOE_STUN_ERROR, buf, sizeof buf, NULL, NULL);
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(5), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_FAILED);
    assert_string_equal(floe_stun_client_event_name(ev.type), "failed");
    assert_int_equal(c.stats.rx_matched, 5);
}

static void test_unmatched_and_malformed_ignored(void **state) {
    (void)state;
    floe_stun_client c;
    client_init(&c);
    floe_addr src = addr(PRIMARY), mapped = addr("203.0.113.9:1234");
    uint8_t buf[256];
    size_t len;
    floe_stun_client_event ev;

    /* A response before any transaction: unmatched. */
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_plain_mapped, &mapped);
    assert_false(floe_stun_client_on_recv(&c, 0, buf, len, &src));
    assert_int_equal(c.stats.drop_unmatched, 1);

    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    uint8_t saved_tid[FLOE_STUN_TID_LEN];
    memcpy(saved_tid, c.cur.tid, sizeof saved_tid);

    /* Another transaction ID. */
    c.cur.tid[0] ^= 0xff;
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_plain_mapped, &mapped);
    memcpy(c.cur.tid, saved_tid, sizeof saved_tid);
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len, &src));
    assert_int_equal(c.stats.drop_unmatched, 2);

    /* The right ID on another method. */
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_ALLOCATE, FLOE_STUN_SUCCESS, saved_tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len, &src));
    assert_int_equal(c.stats.drop_unmatched, 3);

    /* A request with our ID (a reflection) is not a response. */
    len = craft(&c, FLOE_STUN_REQUEST, buf, sizeof buf, NULL, NULL);
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len, &src));
    assert_int_equal(c.stats.drop_not_response, 1);

    /* Garbage, truncation, trailing bytes, a broken FINGERPRINT. */
    static const uint8_t junk[] = "hello, this is not STUN at all";
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), junk, sizeof junk, &src));
    len = craft(&c, FLOE_STUN_SUCCESS, buf, sizeof buf, add_plain_mapped, &mapped);
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len - 4, &src));
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len + 4, &src));
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, 0, &src));
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, saved_tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    floe_stun_add_fingerprint(&b);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    buf[len - 1] ^= 1;
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(1), buf, len, &src));
    assert_int_equal(c.stats.drop_malformed, 5);

    /* Still waiting; the real answer ends it. */
    assert_int_equal(c.state, FLOE_STUN_CLIENT_WAITING);
    assert_false(floe_stun_client_next_event(&c, &ev));
    buf[len - 1] ^= 1;
    assert_true(floe_stun_client_on_recv(&c, FLOE_MS(2), buf, len, &src));
    assert_true(floe_stun_client_next_event(&c, &ev));
    assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_true(floe_addr_equal(&ev.result.mapped, &mapped));
    /* A duplicate after the end is unmatched. */
    assert_false(floe_stun_client_on_recv(&c, FLOE_MS(3), buf, len, &src));
    assert_int_equal(c.stats.drop_unmatched, 4);
    const floe_stun_client_stats *s = &c.stats;
    assert_int_equal(s->rx,
                     s->rx_matched + s->drop_malformed + s->drop_not_response + s->drop_unmatched);
}

static void test_cancel(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 0, FLOE_MS(10), true, NULL, false);
    assert_int_equal(floe_sim_stun_client_start(L.cl, NULL), FLOE_OK); /* the request leaves */
    floe_stun_client *c = core(&L);
    floe_stun_client_cancel(c);
    assert_int_equal(floe_stun_client_deadline(c), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_endpoint_kick(floe_sim_stun_client_endpoint(L.cl)), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(L.sim, FLOE_S(10)), FLOE_OK);
    assert_int_equal(L.n_requests, 1);
    assert_int_equal(floe_sim_stun_client_events(L.cl), 0);
    assert_int_equal(c->stats.drop_unmatched, 1);
    floe_stun_client_cancel(c); /* harmless when idle */
    lab_free(&L);
}

static void test_api_errors(void **state) {
    (void)state;
    floe_stun_client c;
    floe_stun_client_config cfg;
    floe_stun_client_config_default(&cfg);
    assert_true(cfg.fingerprint);
    assert_int_equal(floe_stun_client_init(&c, &cfg), FLOE_ERR_INVAL); /* no rand */
    cfg.rand = counting_rand;
    cfg.rand_ctx = &seed;
    cfg.timing.max_requests = FLOE_STUN_RC_MAX + 1;
    assert_int_equal(floe_stun_client_init(&c, &cfg), FLOE_ERR_INVAL);
    cfg.timing.max_requests = 0;
    char longsw[FLOE_STUN_CLIENT_MAX_SOFTWARE + 2];
    memset(longsw, 'a', sizeof longsw - 1);
    longsw[sizeof longsw - 1] = '\0';
    cfg.software = longsw;
    assert_int_equal(floe_stun_client_init(&c, &cfg), FLOE_ERR_INVAL);
    cfg.software = "floe unit test";
    assert_int_equal(floe_stun_client_init(&c, &cfg), FLOE_OK);

    /* No server configured and none given. */
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_ERR_INVAL);
    c.cfg.server = addr("192.0.2.1:3478");
    floe_stun_client_request bad = {.change = 0x1};
    assert_int_equal(floe_stun_client_start(&c, 0, &bad), FLOE_ERR_INVAL);
    floe_stun_client_timing t = {.max_requests = 99};
    floe_stun_client_request badt = {.timing = &t};
    assert_int_equal(floe_stun_client_start(&c, 0, &badt), FLOE_ERR_INVAL);

    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_OK);
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_ERR_STATE);
    /* SOFTWARE is in the request. */
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(c.req, c.req_len, 0, &m), FLOE_OK);
    const char *sw;
    size_t swlen;
    assert_int_equal(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_SOFTWARE, &sw, &swlen), FLOE_OK);
    assert_int_equal(swlen, strlen("floe unit test"));

    /* Too small a buffer keeps the datagram queued. */
    uint8_t small[8], big[FLOE_STUN_CLIENT_MAX_REQUEST];
    size_t len;
    floe_addr dest;
    assert_int_equal(floe_stun_client_next_send(&c, 0, small, sizeof small, &len, &dest),
                     FLOE_ERR_NOSPACE);
    assert_int_equal(floe_stun_client_next_send(&c, 0, big, sizeof big, &len, &dest), FLOE_OK);
    assert_int_equal(len, c.req_len);
    assert_int_equal(floe_stun_client_next_send(&c, 0, big, sizeof big, &len, &dest),
                     FLOE_ERR_NOT_FOUND);
    /* Nothing due before the RTO. */
    assert_int_equal(floe_stun_client_deadline(&c), FLOE_STUN_RTO_DEFAULT);
    assert_int_equal(
        floe_stun_client_next_send(&c, FLOE_STUN_RTO_DEFAULT - 1, big, sizeof big, &len, &dest),
        FLOE_ERR_NOT_FOUND);
    assert_int_equal(
        floe_stun_client_next_send(&c, FLOE_STUN_RTO_DEFAULT, big, sizeof big, &len, &dest),
        FLOE_OK);
    floe_stun_client_cancel(&c);

    /* The random source's failure is reported and nothing starts. */
    c.cfg.rand = failing_rand;
    assert_int_equal(floe_stun_client_start(&c, 0, NULL), FLOE_ERR_CRYPTO);
    assert_int_equal(c.state, FLOE_STUN_CLIENT_IDLE);
    assert_string_equal(floe_stun_client_event_name(FLOE_STUN_CLIENT_EV_NONE), "none");
    assert_string_equal(floe_stun_client_event_name(FLOE_STUN_CLIENT_EV_TIMEOUT), "timeout");
}

static void test_event_queue_bounded(void **state) {
    (void)state;
    floe_stun_client c;
    client_init(&c);
    uint8_t buf[256];
    size_t len;
    floe_addr dest;
    /* Nobody pulls events: the queue keeps the newest FLOE_STUN_CLIENT_MAX_EVENTS. */
    for (unsigned i = 0; i < FLOE_STUN_CLIENT_MAX_EVENTS + 2; i++) {
        floe_stun_client_timing one = {.rto = FLOE_MS(10), .max_requests = 1, .last_wait = 1};
        floe_stun_client_request req = {.timing = &one};
        floe_time_ns t = FLOE_S(i);
        assert_int_equal(floe_stun_client_start(&c, t, &req), FLOE_OK);
        assert_int_equal(floe_stun_client_next_send(&c, t, buf, sizeof buf, &len, &dest), FLOE_OK);
        floe_stun_client_tick(&c, t + FLOE_MS(10));
    }
    assert_int_equal(c.stats.events_dropped, 2);
    floe_stun_client_event ev;
    unsigned k = 0;
    while (floe_stun_client_next_event(&c, &ev)) {
        assert_int_equal(ev.type, FLOE_STUN_CLIENT_EV_TIMEOUT);
        assert_int_equal(ev.result.started, FLOE_S(k + 2));
        k++;
    }
    assert_int_equal(k, FLOE_STUN_CLIENT_MAX_EVENTS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_second_transaction_new_tid),
        cmocka_unit_test(test_change_request_and_dest),
        cmocka_unit_test(test_retransmission_on_loss),
        cmocka_unit_test(test_lost_response_duplicate_answer),
        cmocka_unit_test(test_timeout_rfc_schedule),
        cmocka_unit_test(test_timeout_short_schedule),
        cmocka_unit_test(test_reliable),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_crafted_responses),
        cmocka_unit_test(test_unmatched_and_malformed_ignored),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_event_queue_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
