/* Unit tests for the SIP transaction layer (include/floe/sip_txn.h): the four machines'
 * transition tables walked exhaustively; every machine's normal flow, retransmissions
 * and timeouts in virtual time with the exact RFC 3261 timer values (T1 500 ms, T2 4 s,
 * T4 5 s) over UDP and over TCP; matching of responses (branch + CSeq method) and of
 * requests (retransmissions, ACK of a non-2xx answer, CANCEL against its INVITE);
 * received/rport (RFC 3581) and where answers go; CANCEL and ACK built by the layer,
 * byte for byte; caps, full queues and transport errors with their counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_txn.h"
#include "sip/sip_txn_priv.h"

/* ---- the transition tables ---------------------------------------------------------------- */

#define CA FLOE_SIP_TXN_CALLING
#define TR FLOE_SIP_TXN_TRYING
#define PR FLOE_SIP_TXN_PROCEEDING
#define AC FLOE_SIP_TXN_ACCEPTED
#define CO FLOE_SIP_TXN_COMPLETED
#define CF FLOE_SIP_TXN_CONFIRMED
#define TE FLOE_SIP_TXN_TERMINATED
#define NS FLOE_SIP_TXN_STATE_COUNT
#define NE FLOE_SIP_TXN_EV_COUNT

/* Columns: 1XX, 2XX, FINAL, REQUEST, ACK, RETX_TIMER, TIMEOUT_TIMER, WAIT_TIMER,
 * TRANSPORT_ERROR. Rows of states a machine does not have map every event to itself. */
static const floe_sip_txn_state ict_table[NS][NE] = {
    [CA] = {PR, AC, CO, CA, CA, CA, TE, CA, TE}, [TR] = {TR, TR, TR, TR, TR, TR, TR, TR, TR},
    [PR] = {PR, AC, CO, PR, PR, PR, TE, PR, TE}, [AC] = {AC, AC, AC, AC, AC, AC, AC, TE, AC},
    [CO] = {CO, CO, CO, CO, CO, CO, CO, TE, TE}, [CF] = {CF, CF, CF, CF, CF, CF, CF, CF, CF},
    [TE] = {TE, TE, TE, TE, TE, TE, TE, TE, TE},
};
static const floe_sip_txn_state nict_table[NS][NE] = {
    [CA] = {CA, CA, CA, CA, CA, CA, CA, CA, CA}, [TR] = {PR, CO, CO, TR, TR, TR, TE, TR, TE},
    [PR] = {PR, CO, CO, PR, PR, PR, TE, PR, TE}, [AC] = {AC, AC, AC, AC, AC, AC, AC, AC, AC},
    [CO] = {CO, CO, CO, CO, CO, CO, CO, TE, CO}, [CF] = {CF, CF, CF, CF, CF, CF, CF, CF, CF},
    [TE] = {TE, TE, TE, TE, TE, TE, TE, TE, TE},
};
static const floe_sip_txn_state ist_table[NS][NE] = {
    [CA] = {CA, CA, CA, CA, CA, CA, CA, CA, CA}, [TR] = {TR, TR, TR, TR, TR, TR, TR, TR, TR},
    [PR] = {PR, AC, CO, PR, PR, PR, TE, PR, TE}, [AC] = {AC, AC, AC, AC, AC, AC, AC, TE, TE},
    [CO] = {CO, CO, CO, CO, CF, CO, TE, CO, TE}, [CF] = {CF, CF, CF, CF, CF, CF, CF, TE, CF},
    [TE] = {TE, TE, TE, TE, TE, TE, TE, TE, TE},
};
static const floe_sip_txn_state nist_table[NS][NE] = {
    [CA] = {CA, CA, CA, CA, CA, CA, CA, CA, CA}, [TR] = {PR, CO, CO, TR, TR, TR, TE, TR, TE},
    [PR] = {PR, CO, CO, PR, PR, PR, TE, PR, TE}, [AC] = {AC, AC, AC, AC, AC, AC, AC, AC, AC},
    [CO] = {CO, CO, CO, CO, CO, CO, CO, TE, TE}, [CF] = {CF, CF, CF, CF, CF, CF, CF, CF, CF},
    [TE] = {TE, TE, TE, TE, TE, TE, TE, TE, TE},
};

static unsigned walk(floe_sip_txn_kind k, const floe_sip_txn_state table[NS][NE]) {
    unsigned changes = 0;
    for (int s = 0; s < NS; s++)
        for (int e = 0; e < NE; e++) {
            floe_sip_txn_state got =
                floe_sip_txn_step(k, (floe_sip_txn_state)s, (floe_sip_txn_event)e);
            if (got != table[s][e])
                fail_msg("%s %s + %s -> %s, want %s", floe_sip_txn_kind_name(k),
                         floe_sip_txn_state_name(s), floe_sip_txn_event_name(e),
                         floe_sip_txn_state_name(got), floe_sip_txn_state_name(table[s][e]));
            if ((int)got != s) changes++;
        }
    return changes;
}

static void test_transition_tables(void **state) {
    (void)state;
    assert_int_equal(walk(FLOE_SIP_TXN_ICT, ict_table), 12);
    assert_int_equal(walk(FLOE_SIP_TXN_NICT, nict_table), 10);
    assert_int_equal(walk(FLOE_SIP_TXN_IST, ist_table), 10);
    assert_int_equal(walk(FLOE_SIP_TXN_NIST, nist_table), 11);
    assert_int_equal(floe_sip_txn_initial(FLOE_SIP_TXN_ICT), CA);
    assert_int_equal(floe_sip_txn_initial(FLOE_SIP_TXN_NICT), TR);
    assert_int_equal(floe_sip_txn_initial(FLOE_SIP_TXN_IST), PR);
    assert_int_equal(floe_sip_txn_initial(FLOE_SIP_TXN_NIST), TR);
    for (int s = 0; s < NS; s++)
        assert_string_not_equal(floe_sip_txn_state_name(s), "unknown");
    for (int e = 0; e < NE; e++)
        assert_string_not_equal(floe_sip_txn_event_name(e), "unknown");
    for (int k = 0; k < FLOE_SIP_TXN_KIND_COUNT; k++)
        assert_string_not_equal(floe_sip_txn_kind_name(k), "unknown");
    assert_string_equal(floe_sip_txn_state_name(NS), "unknown");
    assert_string_equal(floe_sip_txl_event_name(FLOE_SIP_TXL_EV_TIMEOUT), "timeout");
}

/* ---- the test bench ----------------------------------------------------------------------- */

/* Random bytes 0x00, 0x01, 0x02, ... so branches are known in advance. */
static int counter_rand(void *ctx, void *buf, size_t len) {
    unsigned *n = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*n)++;
    return FLOE_OK;
}

#define MAX_SENT 64

typedef struct sent {
    floe_time_ns at;
    char text[FLOE_SIP_TXL_MAX_MSG];
    size_t len;
    floe_addr to;
    floe_transport tp;
} sent;

typedef struct bench {
    floe_sip_txl *t;
    unsigned rand_state;
    floe_time_ns now;
    sent out[MAX_SENT];
    unsigned n_out;
    floe_sip_txl_event ev[16];
    unsigned n_ev;
} bench;

static bench B;

static floe_addr A(const char *s) {
    floe_addr a;
    memset(&a, 0, sizeof a);
    if (floe_addr_parse(s, &a) != FLOE_OK) fail_msg("bad address %s", s);
    return a;
}

static void bench_new_cfg(floe_sip_txl_config *c) {
    if (B.t) floe_sip_txl_free(B.t);
    memset(&B, 0, sizeof B);
    c->rand = counter_rand;
    c->rand_ctx = &B.rand_state;
    c->local[FLOE_TRANSPORT_UDP] = A("192.0.2.1:5060");
    c->local[FLOE_TRANSPORT_TCP] = A("192.0.2.1:5060");
    c->local[FLOE_TRANSPORT_TLS] = A("192.0.2.1:5061");
    assert_int_equal(floe_sip_txl_new(&B.t, c), FLOE_OK);
}

static void bench_new(void) {
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    bench_new_cfg(&c);
}

static int teardown(void **state) {
    (void)state;
    floe_sip_txl_free(B.t);
    B.t = NULL;
    return 0;
}

/* Drains sends and events at B.now. */
static void drain(void) {
    size_t len;
    floe_addr to;
    floe_transport tp;
    while (B.n_out < MAX_SENT &&
           floe_sip_txl_next_send(B.t, B.now, B.out[B.n_out].text, sizeof B.out[0].text, &len, &to,
                                  &tp) == FLOE_OK) {
        B.out[B.n_out].at = B.now;
        B.out[B.n_out].len = len;
        B.out[B.n_out].to = to;
        B.out[B.n_out].tp = tp;
        B.n_out++;
    }
    while (B.n_ev < 16 && floe_sip_txl_next_event(B.t, &B.ev[B.n_ev]))
        B.n_ev++;
}

/* Moves time to `until` from deadline to deadline, draining at each, as a runtime does. */
static void run_until(floe_time_ns until) {
    for (int guard = 0; guard < 1000; guard++) {
        floe_time_ns d = floe_sip_txl_deadline(B.t);
        if (d == FLOE_TIME_NEVER || d > until) break;
        assert_true(d >= B.now);
        B.now = d;
        floe_sip_txl_tick(B.t, B.now);
        assert_true(floe_sip_txl_deadline(B.t) > B.now);
        drain();
    }
    B.now = until;
    drain();
}

static void recv_at(floe_time_ns at, floe_transport tp, const char *from, const char *text,
                    int want) {
    run_until(at);
    floe_addr f = A(from);
    int rc = floe_sip_txl_on_recv(B.t, B.now, tp, &f, text, strlen(text));
    if (rc != want) fail_msg("on_recv: %d, want %d", rc, want);
    drain();
}

static void check_counts(void) {
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_true(s->rx == s->rx_keepalives + s->rx_requests + s->rx_request_retrans +
                             s->rx_responses + s->rx_response_retrans + s->busy +
                             s->drop_malformed + s->drop_too_big + s->drop_no_cookie + s->drop_via +
                             s->drop_unmatched + s->drop_event_full);
}

/* Send times in ms relative to t0, for sends whose text starts with prefix. */
static unsigned send_times(const char *prefix, floe_time_ns t0, uint64_t *ms, unsigned max) {
    unsigned n = 0;
    for (unsigned i = 0; i < B.n_out && n < max; i++)
        if (strncmp(B.out[i].text, prefix, strlen(prefix)) == 0)
            ms[n++] = (B.out[i].at - t0) / FLOE_NS_PER_MS;
    return n;
}

static void assert_times(const char *prefix, floe_time_ns t0, const uint64_t *want, unsigned n) {
    uint64_t got[MAX_SENT];
    unsigned k = send_times(prefix, t0, got, MAX_SENT);
    char a[512] = "", b[512] = "";
    for (unsigned i = 0; i < k; i++)
        snprintf(a + strlen(a), sizeof a - strlen(a), " %llu", (unsigned long long)got[i]);
    for (unsigned i = 0; i < n; i++)
        snprintf(b + strlen(b), sizeof b - strlen(b), " %llu", (unsigned long long)want[i]);
    if (strcmp(a, b) != 0) fail_msg("%s sent at%s ms, want%s", prefix, a, b);
}

#define assert_text(got, want)                                                                     \
    do {                                                                                           \
        if (strcmp((got), (want)) != 0) fail_msg("got:\n%s\nwant:\n%s", (got), (want));            \
    } while (0)

static floe_sip_msg req;

/* A request from alice to bob; extra header lines may follow. */
static void build_request(const char *method, unsigned cseq) {
    static char cseq_text[32];
    snprintf(cseq_text, sizeof cseq_text, "%u %s", cseq, method);
    floe_sip_msg_request(&req, method, "sip:bob@example.com");
    floe_sip_msg_add(&req, FLOE_SIP_H_MAX_FORWARDS, "70");
    floe_sip_msg_add(&req, FLOE_SIP_H_TO, "<sip:bob@example.com>");
    floe_sip_msg_add(&req, FLOE_SIP_H_FROM, "<sip:alice@example.com>;tag=a1");
    floe_sip_msg_add(&req, FLOE_SIP_H_CALL_ID, "call-1@192.0.2.1");
    floe_sip_msg_add(&req, FLOE_SIP_H_CSEQ, cseq_text);
}

static uint32_t start_client(const char *method, floe_transport tp, const char *to) {
    build_request(method, 1);
    floe_addr dst = A(to);
    uint32_t id = 0;
    assert_int_equal(floe_sip_txl_request(B.t, B.now, &req, tp, &dst, &id), FLOE_OK);
    assert_true(id != 0);
    drain();
    return id;
}

/* A response to our first request (branch of the first rand draw). */
static char resp_text[2048];
static const char *response(unsigned status, const char *method, const char *to_tag) {
    snprintf(resp_text, sizeof resp_text,
             "SIP/2.0 %u %s\r\n"
             "Via: SIP/2.0/UDP 192.0.2.1:5060;rport=5060;branch=z9hG4bK000102030405060708090a0b;"
             "received=192.0.2.1\r\n"
             "To: <sip:bob@example.com>%s%s\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
             "Call-ID: call-1@192.0.2.1\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
             status, floe_sip_status_phrase(status), to_tag ? ";tag=" : "", to_tag ? to_tag : "",
             method);
    return resp_text;
}

#define BOB "203.0.113.9:5060"

/* ---- INVITE client ------------------------------------------------------------------------ */

static void test_ict_exact_request_and_timer_a_b(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    assert_int_equal(B.n_out, 1);
    assert_text(B.out[0].text,
                "INVITE sip:bob@example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK000102030405060708090a0b\r\n"
                "Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
                "From: <sip:alice@example.com>;tag=a1\r\nCall-ID: call-1@192.0.2.1\r\n"
                "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    floe_addr bob = A(BOB);
    assert_true(floe_addr_equal(&B.out[0].to, &bob));
    assert_int_equal(B.out[0].tp, FLOE_TRANSPORT_UDP);
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.kind, FLOE_SIP_TXN_ICT);
    assert_int_equal(info.state, FLOE_SIP_TXN_CALLING);
    assert_string_equal(info.branch, "z9hG4bK000102030405060708090a0b");
    assert_true(info.deadline == FLOE_MS(500));

    /* Timer A: 500 ms doubling without a cap; Timer B: 64*T1 = 32 s. */
    run_until(FLOE_MS(31999));
    uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    assert_times("INVITE", 0, want, 7);
    for (unsigned i = 1; i < B.n_out; i++)
        assert_memory_equal(B.out[i].text, B.out[0].text, B.out[0].len);
    assert_int_equal(B.n_ev, 0);
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(32));
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.ev[0].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[0].id, id);
    assert_int_equal(B.ev[0].timer, 'B');
    assert_true(B.ev[0].at == FLOE_S(32));
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_true(floe_sip_txl_deadline(B.t) == FLOE_TIME_NEVER);
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_ERR_NOT_FOUND);
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_int_equal(s->tx, 7);
    assert_int_equal(s->tx_retrans, 6);
    assert_int_equal(s->timeouts, 1);
}

static void test_ict_tcp_sends_once(void **state) {
    (void)state;
    bench_new();
    start_client("INVITE", FLOE_TRANSPORT_TCP, BOB);
    assert_text(B.out[0].text + strlen("INVITE sip:bob@example.com SIP/2.0\r\n"),
                "Via: SIP/2.0/TCP 192.0.2.1:5060;rport;branch=z9hG4bK000102030405060708090a0b\r\n"
                "Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
                "From: <sip:alice@example.com>;tag=a1\r\nCall-ID: call-1@192.0.2.1\r\n"
                "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    run_until(FLOE_S(40));
    uint64_t want[] = {0};
    assert_times("INVITE", 0, want, 1);
    assert_int_equal(B.n_ev, 1);
    assert_true(B.ev[0].at == FLOE_S(32)); /* B runs over TCP too */
}

static void test_ict_failure_ack_and_timer_d(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    recv_at(FLOE_MS(700), FLOE_TRANSPORT_UDP, BOB, response(180, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.ev[0].type, FLOE_SIP_TXL_EV_RESPONSE);
    assert_int_equal(B.ev[0].status, 180);
    assert_int_equal(B.ev[0].id, id);
    assert_int_equal(B.ev[0].msg.status, 180);
    /* Proceeding: no retransmission after the 1xx (the one at 500 ms happened). */
    run_until(FLOE_S(10));
    uint64_t want[] = {0, 500};
    assert_times("INVITE", 0, want, 2);

    recv_at(FLOE_S(10), FLOE_TRANSPORT_UDP, BOB, response(486, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].status, 486);
    assert_int_equal(B.n_out, 3);
    assert_text(B.out[2].text,
                "ACK sip:bob@example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK000102030405060708090a0b\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
                "To: <sip:bob@example.com>;tag=b9\r\nCall-ID: call-1@192.0.2.1\r\n"
                "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_COMPLETED);
    assert_int_equal(info.last_status, 486);
    /* A retransmitted 486 gets the ACK again and does not reach the TU. */
    recv_at(FLOE_S(11), FLOE_TRANSPORT_UDP, BOB, response(486, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.n_out, 4);
    assert_memory_equal(B.out[3].text, B.out[2].text, B.out[2].len);
    /* Timer D: 32 s after the 486. */
    run_until(FLOE_MS(41999));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(42));
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_int_equal(B.n_ev, 2); /* D's end tells the TU nothing */
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_int_equal(s->rx_responses, 2);
    assert_int_equal(s->rx_response_retrans, 1);
    check_counts();
}

static void test_ict_failure_over_tcp_ends_at_once(void **state) {
    (void)state;
    bench_new();
    start_client("INVITE", FLOE_TRANSPORT_TCP, BOB);
    recv_at(FLOE_MS(100), FLOE_TRANSPORT_TCP, BOB, response(603, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_out, 2); /* INVITE, ACK */
    assert_true(strncmp(B.out[1].text, "ACK ", 4) == 0);
    assert_int_equal(floe_sip_txl_count(B.t), 0); /* D is 0 over TCP */
    assert_int_equal(B.n_ev, 1);
}

static void test_ict_2xx_accepted_timer_m(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    recv_at(FLOE_S(1), FLOE_TRANSPORT_UDP, BOB, response(200, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 1);
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_ACCEPTED);
    /* No ACK from the transaction for a 2xx, and no more INVITEs. */
    run_until(FLOE_S(5));
    assert_int_equal(B.n_out, 2); /* 0 and 500 ms */
    /* 2xx retransmissions (or other forks) reach the TU; a late 486 does not. */
    recv_at(FLOE_S(5), FLOE_TRANSPORT_UDP, BOB, response(200, "INVITE", "b9"), FLOE_OK);
    recv_at(FLOE_S(6), FLOE_TRANSPORT_UDP, BOB, response(200, "INVITE", "fork2"), FLOE_OK);
    recv_at(FLOE_S(7), FLOE_TRANSPORT_UDP, BOB, response(486, "INVITE", "fork3"), FLOE_OK);
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[2].status, 200);
    run_until(FLOE_MS(32999));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(33)); /* Timer M: 64*T1 after the first 2xx */
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    /* After M, a 2xx matches nothing (RFC 6026 §8.4: discarded). */
    recv_at(FLOE_S(34), FLOE_TRANSPORT_UDP, BOB, response(200, "INVITE", "b9"), FLOE_ERR_NOT_FOUND);
    check_counts();
}

static void test_ict_guard_timer_c(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    recv_at(FLOE_MS(100), FLOE_TRANSPORT_UDP, BOB, response(100, "INVITE", NULL), FLOE_OK);
    recv_at(FLOE_S(60), FLOE_TRANSPORT_UDP, BOB, response(180, "INVITE", "b9"), FLOE_OK);
    run_until(FLOE_S(239));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(240)); /* 180 s after the last provisional answer */
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[2].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[2].timer, 'C');
    assert_int_equal(B.ev[2].id, id);
}

/* ---- non-INVITE client ------------------------------------------------------------------- */

static void test_nict_timer_e_f(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("OPTIONS", FLOE_TRANSPORT_UDP, BOB);
    run_until(FLOE_S(40));
    uint64_t want[] = {0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
    assert_times("OPTIONS", 0, want, 11);
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.ev[0].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[0].timer, 'F');
    assert_int_equal(B.ev[0].id, id);
    assert_int_equal(B.ev[0].method, FLOE_SIP_OPTIONS);
    assert_true(B.ev[0].at == FLOE_S(32));
}

static void test_nict_proceeding_t2_and_timer_k(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("REGISTER", FLOE_TRANSPORT_UDP, BOB);
    recv_at(FLOE_S(1), FLOE_TRANSPORT_UDP, BOB, response(100, "REGISTER", NULL), FLOE_OK);
    run_until(FLOE_S(14));
    /* E fires at 1.5 s as planned, then every T2 in Proceeding. */
    uint64_t want[] = {0, 500, 1500, 5500, 9500, 13500};
    assert_times("REGISTER", 0, want, 6);
    recv_at(FLOE_S(14), FLOE_TRANSPORT_UDP, BOB, response(200, "REGISTER", "r1"), FLOE_OK);
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].status, 200);
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_COMPLETED);
    recv_at(FLOE_S(15), FLOE_TRANSPORT_UDP, BOB, response(200, "REGISTER", "r1"), FLOE_OK);
    assert_int_equal(B.n_ev, 2); /* absorbed */
    run_until(FLOE_MS(18999));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(19)); /* K = T4 = 5 s */
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_times("REGISTER", 0, want, 6); /* nothing after the 200 */
    check_counts();
}

static void test_nict_tcp(void **state) {
    (void)state;
    bench_new();
    start_client("BYE", FLOE_TRANSPORT_TCP, BOB);
    recv_at(FLOE_S(3), FLOE_TRANSPORT_TCP, BOB, response(200, "BYE", "b9"), FLOE_OK);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(floe_sip_txl_count(B.t), 0); /* K is 0 over TCP */
    assert_int_equal(B.n_ev, 1);
}

static void test_configured_timers(void **state) {
    (void)state;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    c.t1 = FLOE_MS(100);
    c.t2 = FLOE_MS(800);
    c.t4 = FLOE_MS(1000);
    bench_new_cfg(&c);
    start_client("OPTIONS", FLOE_TRANSPORT_UDP, BOB);
    run_until(FLOE_MS(6399));
    /* E from 100 ms doubling to T2 = 800 ms; F at 64*T1 = 6.4 s. */
    uint64_t want[] = {0, 100, 300, 700, 1500, 2300, 3100, 3900, 4700, 5500, 6300};
    assert_times("OPTIONS", 0, want, 11);
    assert_int_equal(B.n_ev, 0);
    run_until(FLOE_MS(6400));
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.ev[0].timer, 'F');
    /* K = T4 = 1 s */
    B.n_out = 0;
    start_client("OPTIONS", FLOE_TRANSPORT_UDP, BOB);
    char text[2048];
    strcpy(text, response(200, "OPTIONS", "x"));
    memcpy(strstr(text, "z9hG4bK") + 7,
           B.out[0].text + (strstr(B.out[0].text, "z9hG4bK") - B.out[0].text) + 7, 24);
    recv_at(FLOE_MS(6500), FLOE_TRANSPORT_UDP, BOB, text, FLOE_OK);
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_MS(7499));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_MS(7500));
    assert_int_equal(floe_sip_txl_count(B.t), 0);
}

/* ---- response matching --------------------------------------------------------------------- */

static void test_response_matching(void **state) {
    (void)state;
    bench_new();
    start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    /* right branch, other method: not ours */
    recv_at(FLOE_MS(10), FLOE_TRANSPORT_UDP, BOB, response(200, "CANCEL", NULL),
            FLOE_ERR_NOT_FOUND);
    char text[2048];
    /* another branch */
    strcpy(text, response(180, "INVITE", "b9"));
    char *b = strstr(text, "z9hG4bK0001");
    b[8] = 'f';
    recv_at(FLOE_MS(20), FLOE_TRANSPORT_UDP, BOB, text, FLOE_ERR_NOT_FOUND);
    /* two Vias (RFC 3261 §8.1.3.3) */
    strcpy(text, response(180, "INVITE", "b9"));
    const char *extra = "Via: SIP/2.0/UDP 10.9.9.9:5060\r\n";
    char *to = strstr(text, "To:");
    memmove(to + strlen(extra), to, strlen(to) + 1);
    memcpy(to, extra, strlen(extra));
    recv_at(FLOE_MS(30), FLOE_TRANSPORT_UDP, BOB, text, FLOE_ERR_MALFORMED);
    /* garbage and a keepalive */
    recv_at(FLOE_MS(40), FLOE_TRANSPORT_UDP, BOB, "SIP/2.0 200\r\n\r\n", FLOE_ERR_MALFORMED);
    recv_at(FLOE_MS(50), FLOE_TRANSPORT_UDP, BOB, "\r\n\r\n", FLOE_OK);
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_int_equal(s->drop_unmatched, 2);
    assert_int_equal(s->drop_via, 1);
    assert_int_equal(s->drop_malformed, 1);
    assert_int_equal(s->rx_keepalives, 1);
    assert_int_equal(B.n_ev, 0);
    /* the right one */
    recv_at(FLOE_MS(60), FLOE_TRANSPORT_UDP, BOB, response(180, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 1);
    check_counts();
}

/* ---- CANCEL (client side) -------------------------------------------------------------------- */

static void test_client_cancel(void **state) {
    (void)state;
    bench_new();
    uint32_t inv = start_client("INVITE", FLOE_TRANSPORT_UDP, BOB);
    uint32_t cid = 0;
    assert_int_equal(floe_sip_txl_cancel(B.t, B.now, inv, &cid), FLOE_ERR_STATE); /* Calling */
    recv_at(FLOE_MS(100), FLOE_TRANSPORT_UDP, BOB, response(180, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(floe_sip_txl_cancel(B.t, B.now, inv, &cid), FLOE_OK);
    drain();
    assert_int_equal(B.n_out, 2);
    assert_text(B.out[1].text,
                "CANCEL sip:bob@example.com SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK000102030405060708090a0b\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
                "To: <sip:bob@example.com>\r\nCall-ID: call-1@192.0.2.1\r\n"
                "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n");
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, cid, &info), FLOE_OK);
    assert_int_equal(info.kind, FLOE_SIP_TXN_NICT);
    assert_int_equal(info.method, FLOE_SIP_CANCEL);
    /* The CANCEL is retransmitted on its own (E), the INVITE is not. */
    run_until(FLOE_MS(600));
    uint64_t want_c[] = {100, 600};
    assert_times("CANCEL", 0, want_c, 2);
    /* 200 for the CANCEL goes to the CANCEL, 487 for the INVITE to the INVITE. */
    recv_at(FLOE_MS(700), FLOE_TRANSPORT_UDP, BOB, response(200, "CANCEL", "b9"), FLOE_OK);
    recv_at(FLOE_MS(800), FLOE_TRANSPORT_UDP, BOB, response(487, "INVITE", "b9"), FLOE_OK);
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[1].id, cid);
    assert_int_equal(B.ev[1].status, 200);
    assert_int_equal(B.ev[2].id, inv);
    assert_int_equal(B.ev[2].status, 487);
    assert_true(strncmp(B.out[B.n_out - 1].text, "ACK ", 4) == 0);
    /* After the final answer there is nothing to cancel. */
    assert_int_equal(floe_sip_txl_cancel(B.t, B.now, inv, NULL), FLOE_ERR_STATE);
    assert_int_equal(floe_sip_txl_cancel(B.t, B.now, cid, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_txl_cancel(B.t, B.now, 12345, NULL), FLOE_ERR_NOT_FOUND);
}

/* ---- INVITE server --------------------------------------------------------------------------- */

#define ALICE "198.51.100.7:5062"

static char in_text[2048];
static const char *incoming(const char *method, const char *branch, const char *via_extra,
                            unsigned cseq, const char *cseq_method) {
    snprintf(in_text, sizeof in_text,
             "%s sip:bob@192.0.2.1 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 10.0.0.7:5060%s;branch=%s\r\n"
             "Max-Forwards: 70\r\nTo: <sip:bob@example.com>%s\r\n"
             "From: <sip:alice@example.com>;tag=a7\r\nCall-ID: in-1@10.0.0.7\r\n"
             "CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
             method, via_extra, branch, strcmp(method, "ACK") == 0 ? ";tag=b1" : "", cseq,
             cseq_method ? cseq_method : method);
    return in_text;
}

static floe_sip_msg resp_msg;
static char resp_arena_buf[1024];

static void respond(uint32_t id, unsigned status, const char *tag, int want) {
    floe_sip_msg r;
    assert_int_equal(floe_sip_txl_request_of(B.t, id, &r), FLOE_OK);
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, resp_arena_buf, sizeof resp_arena_buf);
    assert_int_equal(floe_sip_msg_response_to(&resp_msg, &r, status, NULL, tag, &ar), FLOE_OK);
    assert_int_equal(floe_sip_txl_respond(B.t, B.now, id, &resp_msg), want);
    drain();
}

static void test_ist_rport_trying_and_retransmissions(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKin1", ";rport", 1, NULL),
            FLOE_OK);
    assert_int_equal(B.n_ev, 1);
    floe_sip_txl_event *e = &B.ev[0];
    assert_int_equal(e->type, FLOE_SIP_TXL_EV_REQUEST);
    assert_int_equal(e->kind, FLOE_SIP_TXN_IST);
    assert_int_equal(e->method, FLOE_SIP_INVITE);
    assert_int_equal(e->target, 0);
    uint32_t id = e->id;
    /* RFC 3581 §4: received and rport written in place. */
    const floe_sip_hdr *via = floe_sip_msg_find(&e->msg, FLOE_SIP_H_VIA, NULL);
    assert_non_null(via);
    char v[256];
    snprintf(v, sizeof v, "%.*s", (int)via->value.len, via->value.p);
    assert_string_equal(v, "SIP/2.0/UDP 10.0.0.7:5060;received=198.51.100.7;rport=5062;"
                           "branch=z9hG4bKin1");
    assert_int_equal(B.n_out, 0);
    /* 100 Trying at 200 ms, to the source address and port. */
    run_until(FLOE_MS(199));
    assert_int_equal(B.n_out, 0);
    run_until(FLOE_MS(200));
    assert_int_equal(B.n_out, 1);
    assert_text(B.out[0].text,
                "SIP/2.0 100 Trying\r\n"
                "Via: SIP/2.0/UDP 10.0.0.7:5060;received=198.51.100.7;rport=5062;"
                "branch=z9hG4bKin1\r\n"
                "From: <sip:alice@example.com>;tag=a7\r\nTo: <sip:bob@example.com>\r\n"
                "Call-ID: in-1@10.0.0.7\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    floe_addr alice = A(ALICE);
    assert_true(floe_addr_equal(&B.out[0].to, &alice));
    /* A retransmitted INVITE gets the 100 again; the TU does not see it. */
    recv_at(FLOE_MS(500), FLOE_TRANSPORT_UDP, ALICE,
            incoming("INVITE", "z9hG4bKin1", ";rport", 1, NULL), FLOE_OK);
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.n_out, 2);
    assert_memory_equal(B.out[1].text, B.out[0].text, B.out[0].len);
    /* 180 from the TU; the next retransmission gets the 180. */
    B.now = FLOE_S(1);
    respond(id, 180, "b1", FLOE_OK);
    assert_int_equal(B.n_out, 3);
    assert_true(strncmp(B.out[2].text, "SIP/2.0 180 Ringing\r\n", 21) == 0);
    recv_at(FLOE_MS(1500), FLOE_TRANSPORT_UDP, ALICE,
            incoming("INVITE", "z9hG4bKin1", ";rport", 1, NULL), FLOE_OK);
    assert_int_equal(B.n_out, 4);
    assert_memory_equal(B.out[3].text, B.out[2].text, B.out[2].len);
    /* 486: Timer G from T1 doubling to T2, Timer H at 64*T1. */
    B.now = FLOE_S(2);
    respond(id, 486, "b1", FLOE_OK);
    run_until(FLOE_MS(33999));
    uint64_t want[] = {2000, 2500, 3500, 5500, 9500, 13500, 17500, 21500, 25500, 29500, 33500};
    assert_times("SIP/2.0 486", 0, want, 11);
    assert_int_equal(B.n_ev, 1);
    run_until(FLOE_S(34));
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[1].timer, 'H');
    assert_int_equal(B.ev[1].id, id);
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_int_equal(floe_sip_txl_respond(B.t, B.now, id, &resp_msg), FLOE_ERR_NOT_FOUND);
    check_counts();
}

static void test_ist_ack_confirms_timer_i(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKin2", "", 5, NULL), FLOE_OK);
    uint32_t id = B.ev[0].id;
    /* Without rport, received is still added (the sent-by is another address) and the
     * answers go to the source IP at the sent-by port. */
    const floe_sip_hdr *via = floe_sip_msg_find(&B.ev[0].msg, FLOE_SIP_H_VIA, NULL);
    char v[256];
    snprintf(v, sizeof v, "%.*s", (int)via->value.len, via->value.p);
    assert_string_equal(v, "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKin2;received=198.51.100.7");
    B.now = FLOE_MS(50);
    respond(id, 404, "b1", FLOE_OK); /* before 200 ms: no 100 Trying */
    floe_addr want_to = A("198.51.100.7:5060");
    assert_int_equal(B.n_out, 1);
    assert_true(floe_addr_equal(&B.out[0].to, &want_to));
    /* The INVITE again: the 404 again. */
    recv_at(FLOE_MS(300), FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKin2", "", 5, NULL),
            FLOE_OK);
    assert_int_equal(B.n_out, 2);
    /* The ACK (same branch) confirms; retransmissions stop; I = T4. */
    recv_at(FLOE_MS(600), FLOE_TRANSPORT_UDP, ALICE, incoming("ACK", "z9hG4bKin2", "", 5, NULL),
            FLOE_OK);
    assert_int_equal(B.n_ev, 1); /* the TU does not see that ACK */
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_CONFIRMED);
    uint64_t want[] = {50, 300, 550};
    assert_times("SIP/2.0 404", 0, want, 3);
    /* ACK retransmissions are absorbed. */
    recv_at(FLOE_S(2), FLOE_TRANSPORT_UDP, ALICE, incoming("ACK", "z9hG4bKin2", "", 5, NULL),
            FLOE_OK);
    run_until(FLOE_MS(5599));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_MS(5600));
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_times("SIP/2.0 404", 0, want, 3);
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_int_equal(s->rx_request_retrans, 3);
    check_counts();
}

static void test_ist_tcp(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_TCP, ALICE, incoming("INVITE", "z9hG4bKin3", "", 1, NULL), FLOE_OK);
    uint32_t id = B.ev[0].id;
    run_until(FLOE_S(1));
    respond(id, 500, "b1", FLOE_OK);
    floe_addr alice = A(ALICE); /* over TCP: back to the source, the same connection */
    assert_true(floe_addr_equal(&B.out[B.n_out - 1].to, &alice));
    run_until(FLOE_S(10));
    uint64_t want[] = {200, 1000}; /* the 100 Trying, then one 500: no Timer G over TCP */
    assert_times("SIP/2.0", 0, want, 2);
    recv_at(FLOE_S(10), FLOE_TRANSPORT_TCP, ALICE, incoming("ACK", "z9hG4bKin3", "", 1, NULL),
            FLOE_OK);
    assert_int_equal(floe_sip_txl_count(B.t), 0); /* I is 0 over TCP */
}

static void test_ist_2xx_accepted(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKin4", ";rport", 1, NULL),
            FLOE_OK);
    uint32_t id = B.ev[0].id;
    assert_int_equal(floe_sip_txl_resend(B.t, B.now, id), FLOE_ERR_STATE); /* nothing sent */
    B.now = FLOE_MS(100);
    respond(id, 200, "b1", FLOE_OK);
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, id, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_ACCEPTED);
    /* The INVITE again is absorbed: not a new transaction, no send from the layer. */
    recv_at(FLOE_MS(600), FLOE_TRANSPORT_UDP, ALICE,
            incoming("INVITE", "z9hG4bKin4", ";rport", 1, NULL), FLOE_OK);
    assert_int_equal(B.n_out, 1);
    assert_int_equal(B.n_ev, 1);
    /* The TU retransmits its 2xx through the transaction. */
    assert_int_equal(floe_sip_txl_resend(B.t, B.now, id), FLOE_OK);
    drain();
    assert_int_equal(B.n_out, 2);
    assert_memory_equal(B.out[1].text, B.out[0].text, B.out[0].len);
    /* Only 2xx may follow in Accepted. */
    respond(id, 486, NULL, FLOE_ERR_STATE);
    /* The ACK of the 2xx has its own branch: it reaches the TU without a transaction. */
    recv_at(FLOE_S(1), FLOE_TRANSPORT_UDP, ALICE, incoming("ACK", "z9hG4bKack", ";rport", 1, NULL),
            FLOE_OK);
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].type, FLOE_SIP_TXL_EV_REQUEST);
    assert_int_equal(B.ev[1].id, 0);
    assert_int_equal(B.ev[1].method, FLOE_SIP_ACK);
    assert_int_equal(B.ev[1].msg.method_id, FLOE_SIP_ACK);
    /* An ACK with the INVITE's branch (matching it) goes up too, naming it. */
    recv_at(FLOE_S(2), FLOE_TRANSPORT_UDP, ALICE, incoming("ACK", "z9hG4bKin4", ";rport", 1, NULL),
            FLOE_OK);
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[2].id, 0);
    assert_int_equal(B.ev[2].target, id);
    /* Timer L: 64*T1 after the 2xx. */
    run_until(FLOE_MS(32099));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_MS(32100));
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_int_equal(B.n_ev, 3);
    check_counts();
}

static void test_ist_guard_timer_c(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKin5", "", 1, NULL), FLOE_OK);
    uint32_t id = B.ev[0].id;
    B.now = FLOE_S(10);
    respond(id, 180, "b1", FLOE_OK);
    run_until(FLOE_S(189));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(190));
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[1].timer, 'C');
}

/* ---- non-INVITE server
 * --------------------------------------------------------------------------- */

static void test_nist_flow_timer_j(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("OPTIONS", "z9hG4bKo1", ";rport", 2, NULL),
            FLOE_OK);
    uint32_t id = B.ev[0].id;
    assert_int_equal(B.ev[0].kind, FLOE_SIP_TXN_NIST);
    /* Trying: a retransmission is absorbed silently, no 100 for non-INVITE. */
    recv_at(FLOE_MS(500), FLOE_TRANSPORT_UDP, ALICE,
            incoming("OPTIONS", "z9hG4bKo1", ";rport", 2, NULL), FLOE_OK);
    assert_int_equal(B.n_out, 0);
    assert_int_equal(B.n_ev, 1);
    B.now = FLOE_S(1);
    respond(id, 200, "b1", FLOE_OK);
    recv_at(FLOE_MS(1500), FLOE_TRANSPORT_UDP, ALICE,
            incoming("OPTIONS", "z9hG4bKo1", ";rport", 2, NULL), FLOE_OK);
    uint64_t want[] = {1000, 1500};
    assert_times("SIP/2.0 200", 0, want, 2);
    respond(id, 500, NULL, FLOE_ERR_STATE);
    run_until(FLOE_MS(32999));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(33)); /* J = 64*T1 */
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_int_equal(B.n_ev, 1);
    check_counts();
}

static void test_nist_tcp_and_guard(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_TCP, ALICE, incoming("BYE", "z9hG4bKby1", "", 3, NULL), FLOE_OK);
    uint32_t id = B.ev[0].id;
    B.now = FLOE_MS(10);
    respond(id, 200, NULL, FLOE_OK);
    assert_int_equal(floe_sip_txl_count(B.t), 0); /* J is 0 over TCP */
    /* A request the TU never answers ends after 64*T1. */
    recv_at(FLOE_S(1), FLOE_TRANSPORT_UDP, ALICE, incoming("INFO", "z9hG4bKi1", "", 4, NULL),
            FLOE_OK);
    id = B.ev[1].id;
    run_until(FLOE_MS(32999));
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    run_until(FLOE_S(33));
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[2].type, FLOE_SIP_TXL_EV_TIMEOUT);
    assert_int_equal(B.ev[2].timer, 'F');
    assert_int_equal(B.ev[2].id, id);
}

/* ---- request matching
 * ---------------------------------------------------------------------------- */

static void test_cancel_matching(void **state) {
    (void)state;
    bench_new();
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("INVITE", "z9hG4bKc1", "", 1, NULL), FLOE_OK);
    uint32_t inv = B.ev[0].id;
    recv_at(FLOE_MS(300), FLOE_TRANSPORT_UDP, ALICE, incoming("CANCEL", "z9hG4bKc1", "", 1, NULL),
            FLOE_OK);
    assert_int_equal(B.n_ev, 2);
    assert_int_equal(B.ev[1].method, FLOE_SIP_CANCEL);
    assert_int_equal(B.ev[1].kind, FLOE_SIP_TXN_NIST);
    assert_int_equal(B.ev[1].target, inv);
    uint32_t can = B.ev[1].id;
    assert_true(can != inv);
    /* A CANCEL whose sent-by differs does not match the INVITE (§17.2.3). */
    char other[2048];
    snprintf(other, sizeof other, "%s", incoming("CANCEL", "z9hG4bKc1", "", 1, NULL));
    char *host = strstr(other, "10.0.0.7:5060");
    host[11] = '7'; /* 10.0.0.7:5070 */
    recv_at(FLOE_MS(310), FLOE_TRANSPORT_UDP, ALICE, other, FLOE_OK);
    assert_int_equal(B.n_ev, 3);
    assert_int_equal(B.ev[2].target, 0);
    /* The CANCEL again goes to the CANCEL's transaction, not the INVITE's. */
    B.now = FLOE_MS(400);
    respond(can, 200, "b1", FLOE_OK);
    unsigned before = B.n_out;
    recv_at(FLOE_MS(800), FLOE_TRANSPORT_UDP, ALICE, incoming("CANCEL", "z9hG4bKc1", "", 1, NULL),
            FLOE_OK);
    assert_int_equal(B.n_out, before + 1);
    assert_true(strstr(B.out[B.n_out - 1].text, "CSeq: 1 CANCEL") != NULL);
    /* 487 for the INVITE, the ACK for it matches the INVITE transaction. */
    respond(inv, 487, "b1", FLOE_OK);
    recv_at(FLOE_S(1), FLOE_TRANSPORT_UDP, ALICE, incoming("ACK", "z9hG4bKc1", "", 1, NULL),
            FLOE_OK);
    floe_sip_txn_info info;
    assert_int_equal(floe_sip_txl_info(B.t, inv, &info), FLOE_OK);
    assert_int_equal(info.state, FLOE_SIP_TXN_CONFIRMED);
    /* A request without the RFC 3261 cookie is dropped (RFC 2543 matching not done). */
    recv_at(FLOE_S(2), FLOE_TRANSPORT_UDP, ALICE, incoming("OPTIONS", "old2543", "", 9, NULL),
            FLOE_ERR_UNSUPPORTED);
    recv_at(FLOE_S(2), FLOE_TRANSPORT_UDP, ALICE, incoming("OPTIONS", "z9hG4bK", "", 9, NULL),
            FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_sip_txl_stats_get(B.t)->drop_no_cookie, 2);
    check_counts();
}

/* ---- caps, queues, errors
 * ------------------------------------------------------------------------- */

static void test_table_cap(void **state) {
    (void)state;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    c.max_txns = 2;
    bench_new_cfg(&c);
    start_client("OPTIONS", FLOE_TRANSPORT_UDP, BOB);
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("OPTIONS", "z9hG4bKq1", "", 1, NULL), FLOE_OK);
    build_request("OPTIONS", 2);
    floe_addr bob = A(BOB);
    assert_int_equal(floe_sip_txl_request(B.t, B.now, &req, FLOE_TRANSPORT_UDP, &bob, NULL),
                     FLOE_ERR_LIMIT);
    /* A new request when full: answered 503 without a transaction. */
    unsigned before = B.n_out;
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, incoming("OPTIONS", "z9hG4bKq2", "", 1, NULL),
            FLOE_ERR_LIMIT);
    assert_int_equal(B.n_out, before + 1);
    assert_true(strncmp(B.out[B.n_out - 1].text, "SIP/2.0 503 Service Unavailable\r\n", 33) == 0);
    const floe_sip_txl_stats *s = floe_sip_txl_stats_get(B.t);
    assert_int_equal(s->cap_txns, 2);
    assert_int_equal(s->busy, 1);
    assert_int_equal(s->transactions, 2);
    assert_int_equal(floe_sip_txl_count(B.t), 2);
    check_counts();
}

static void test_event_queue_full(void **state) {
    (void)state;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    c.max_msg = 1024;
    c.event_queue = 2048;
    bench_new_cfg(&c);
    floe_addr alice = A(ALICE);
    unsigned ok = 0, busy = 0;
    size_t rec = 0;
    for (int i = 0; i < 8; i++) {
        char branch[32];
        snprintf(branch, sizeof branch, "z9hG4bKfull%d", i);
        const char *m = incoming("OPTIONS", branch, "", 1, NULL);
        int rc = floe_sip_txl_on_recv(B.t, 0, FLOE_TRANSPORT_UDP, &alice, m, strlen(m));
        if (i == 0) rec = B.t->evq.tail; /* one record: length, header, the message */
        if (rc == FLOE_OK)
            ok++;
        else if (rc == FLOE_ERR_LIMIT)
            busy++;
    }
    /* 330 bytes a record on x86-64 (a 254-byte message): six fit in 2048 bytes. */
    assert_true(rec > 254 && rec < 400);
    assert_int_equal(ok, 2048 / rec);
    assert_int_equal(busy, 8 - ok);
    assert_int_equal(floe_sip_txl_stats_get(B.t)->busy, busy);
    assert_int_equal(floe_sip_txl_count(B.t), ok);
    /* Pulling the events makes room again. */
    floe_sip_txl_event ev;
    while (floe_sip_txl_next_event(B.t, &ev))
        ;
    const char *m = incoming("OPTIONS", "z9hG4bKafter", "", 1, NULL);
    assert_int_equal(floe_sip_txl_on_recv(B.t, 0, FLOE_TRANSPORT_UDP, &alice, m, strlen(m)),
                     FLOE_OK);
    check_counts();
}

static void test_transport_error(void **state) {
    (void)state;
    bench_new();
    uint32_t id = start_client("INVITE", FLOE_TRANSPORT_TCP, BOB);
    start_client("OPTIONS", FLOE_TRANSPORT_UDP, BOB); /* another transport: untouched */
    floe_addr bob = A(BOB);
    floe_sip_txl_transport_error(B.t, FLOE_MS(5), FLOE_TRANSPORT_TCP, &bob);
    drain();
    assert_int_equal(B.n_ev, 1);
    assert_int_equal(B.ev[0].type, FLOE_SIP_TXL_EV_TRANSPORT_ERROR);
    assert_int_equal(B.ev[0].id, id);
    assert_int_equal(floe_sip_txl_count(B.t), 1);
    assert_int_equal(floe_sip_txl_stats_get(B.t)->transport_errors, 1);
}

static void test_bad_calls(void **state) {
    (void)state;
    bench_new();
    floe_addr bob = A(BOB);
    build_request("ACK", 1);
    assert_int_equal(floe_sip_txl_request(B.t, 0, &req, FLOE_TRANSPORT_UDP, &bob, NULL),
                     FLOE_ERR_INVAL);
    build_request("OPTIONS", 1);
    assert_int_equal(floe_sip_txl_request(B.t, 0, &req, FLOE_TRANSPORT_DTLS, &bob, NULL),
                     FLOE_ERR_INVAL);
    floe_sip_msg_request(&req, "OPTIONS", "sip:bob@example.com"); /* no To, From, ... */
    assert_int_equal(floe_sip_txl_request(B.t, 0, &req, FLOE_TRANSPORT_UDP, &bob, NULL),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    assert_int_equal(floe_sip_txl_stats_get(B.t)->transactions, 0);
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    floe_sip_txl *t = NULL;
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_ERR_INVAL); /* no rand */
    c.rand = counter_rand;
    c.max_msg = 100;
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_ERR_INVAL);
    c.max_msg = 0;
    c.host = "bad host";
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_ERR_INVAL);
    c.host = NULL;
    c.t1 = FLOE_S(3601);
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_ERR_INVAL);
    c.t1 = FLOE_MS(100); /* a short T1 scales every timer */
    c.t2 = FLOE_MS(800);
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_OK);
    floe_sip_txl_free(t);
}

static void test_host_name_and_ipv6_via(void **state) {
    (void)state;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    c.host = "pc33.example.com";
    bench_new_cfg(&c);
    start_client("OPTIONS", FLOE_TRANSPORT_TLS, BOB);
    assert_non_null(strstr(B.out[0].text, "Via: SIP/2.0/TLS pc33.example.com:5061;rport;"));
    floe_sip_txl_config_default(&c);
    bench_new_cfg(&c);
    B.t->cfg.local[FLOE_TRANSPORT_UDP] = A("[2001:db8::1]:5070");
    start_client("OPTIONS", FLOE_TRANSPORT_UDP, "[2001:db8::9]:5060");
    assert_non_null(strstr(B.out[0].text, "Via: SIP/2.0/UDP [2001:db8::1]:5070;rport;"));
    /* And an IPv6 source gets an IPv6 received. */
    recv_at(0, FLOE_TRANSPORT_UDP, "[2001:db8::7]:5999",
            incoming("OPTIONS", "z9hG4bKv6", ";rport", 1, NULL), FLOE_OK);
    const floe_sip_hdr *via = floe_sip_msg_find(&B.ev[0].msg, FLOE_SIP_H_VIA, NULL);
    assert_non_null(strstr(via->value.p, ";received=2001:db8::7;rport=5999;"));
}

static void test_multi_value_via_kept(void **state) {
    (void)state;
    bench_new();
    const char *m = "OPTIONS sip:bob@192.0.2.1 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1;rport, "
                    "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKa\r\n"
                    "Max-Forwards: 69\r\nTo: <sip:bob@example.com>\r\n"
                    "From: <sip:alice@example.com>;tag=a7\r\nCall-ID: mv@x\r\nCSeq: 1 OPTIONS\r\n"
                    "Content-Length: 0\r\n\r\n";
    recv_at(0, FLOE_TRANSPORT_UDP, ALICE, m, FLOE_OK);
    uint32_t id = B.ev[0].id;
    B.now = FLOE_MS(1);
    respond(id, 200, "b1", FLOE_OK);
    assert_text(B.out[0].text,
                "SIP/2.0 200 OK\r\n"
                "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1;received=198.51.100.7;"
                "rport=5062\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKa\r\n"
                "From: <sip:alice@example.com>;tag=a7\r\nTo: <sip:bob@example.com>;tag=b1\r\n"
                "Call-ID: mv@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
}

static void test_send_outside_transactions(void **state) {
    (void)state;
    bench_new();
    build_request("ACK", 1);
    floe_addr bob = A(BOB);
    assert_int_equal(floe_sip_txl_send(B.t, 0, &req, FLOE_TRANSPORT_UDP, &bob), FLOE_OK);
    drain();
    assert_int_equal(B.n_out, 1);
    assert_true(
        strstr(B.out[0].text,
               "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK000102030405060708090a0b"
               "\r\n") != NULL);
    assert_int_equal(floe_sip_txl_count(B.t), 0);
    /* next_send with a short buffer keeps the message */
    assert_int_equal(floe_sip_txl_send(B.t, 0, &req, FLOE_TRANSPORT_UDP, &bob), FLOE_OK);
    char small[16];
    size_t len;
    assert_int_equal(floe_sip_txl_next_send(B.t, 0, small, sizeof small, &len, NULL, NULL),
                     FLOE_ERR_NOSPACE);
    drain();
    assert_int_equal(B.n_out, 2);
    assert_true(strstr(B.out[1].text, "branch=z9hG4bK0c0d0e0f1011121314151617\r\n") != NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_tables),
        cmocka_unit_test_teardown(test_ict_exact_request_and_timer_a_b, teardown),
        cmocka_unit_test_teardown(test_ict_tcp_sends_once, teardown),
        cmocka_unit_test_teardown(test_ict_failure_ack_and_timer_d, teardown),
        cmocka_unit_test_teardown(test_ict_failure_over_tcp_ends_at_once, teardown),
        cmocka_unit_test_teardown(test_ict_2xx_accepted_timer_m, teardown),
        cmocka_unit_test_teardown(test_ict_guard_timer_c, teardown),
        cmocka_unit_test_teardown(test_nict_timer_e_f, teardown),
        cmocka_unit_test_teardown(test_nict_proceeding_t2_and_timer_k, teardown),
        cmocka_unit_test_teardown(test_nict_tcp, teardown),
        cmocka_unit_test_teardown(test_configured_timers, teardown),
        cmocka_unit_test_teardown(test_response_matching, teardown),
        cmocka_unit_test_teardown(test_client_cancel, teardown),
        cmocka_unit_test_teardown(test_ist_rport_trying_and_retransmissions, teardown),
        cmocka_unit_test_teardown(test_ist_ack_confirms_timer_i, teardown),
        cmocka_unit_test_teardown(test_ist_tcp, teardown),
        cmocka_unit_test_teardown(test_ist_2xx_accepted, teardown),
        cmocka_unit_test_teardown(test_ist_guard_timer_c, teardown),
        cmocka_unit_test_teardown(test_nist_flow_timer_j, teardown),
        cmocka_unit_test_teardown(test_nist_tcp_and_guard, teardown),
        cmocka_unit_test_teardown(test_cancel_matching, teardown),
        cmocka_unit_test_teardown(test_table_cap, teardown),
        cmocka_unit_test_teardown(test_event_queue_full, teardown),
        cmocka_unit_test_teardown(test_transport_error, teardown),
        cmocka_unit_test_teardown(test_bad_calls, teardown),
        cmocka_unit_test_teardown(test_host_name_and_ipv6_via, teardown),
        cmocka_unit_test_teardown(test_multi_value_via_kept, teardown),
        cmocka_unit_test_teardown(test_send_outside_transactions, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
