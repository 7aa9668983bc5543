/* Bad input is dropped and counted, never fatal; unauthenticated input gets at most a
 * small answer; every cap is an error and a counter. Also the agent's memory footprint. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include <stdio.h>

#include "ice/ice_priv.h"

/* Agent A (controlled, gathered, started) with one base 10.0.0.1:5000 and credentials of
 * a pretend peer "peer"/"peerpassword0123456789". */
static tnet *victim(void) {
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(
        floe_ice_agent_set_remote_credentials(n->ag[0], 0, "peer", "peerpassword0123456789"),
        FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    net_drain(n, 0);
    return n;
}

typedef struct req_opts {
    const char *user; /* NULL: "<ours>:peer"; "" : none */
    const char *pwd;  /* NULL: the agent's; "": no MESSAGE-INTEGRITY */
    bool no_fingerprint, no_priority, use_cand, unknown_attr;
    int role; /* 0 none, 1 controlling, 2 controlled */
    uint64_t tiebreaker;
} req_opts;

static size_t build_req(floe_ice_agent *a, const req_opts *o, uint8_t *buf, size_t cap,
                        uint8_t tid_seed) {
    uint8_t tid[12];
    memset(tid, tid_seed, sizeof tid);
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    char user[64];
    if (!o->user) {
        strcpy(user, floe_ice_agent_local_ufrag(a));
        strcat(user, ":peer");
    }
    if (!o->user || o->user[0])
        floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, o->user ? o->user : user);
    if (!o->no_priority) floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975);
    if (o->role == 1) floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, o->tiebreaker);
    if (o->role == 2) floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, o->tiebreaker);
    if (o->use_cand) floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (o->unknown_attr) floe_stun_add_u32(&b, 0x7777, 1);
    const char *pwd = o->pwd ? o->pwd : floe_ice_agent_local_pwd(a);
    if (pwd[0]) floe_stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    if (!o->no_fingerprint) floe_stun_add_fingerprint(&b);
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    return len;
}

static floe_ice_recv_kind feed(tnet *n, unsigned base, const char *from, const uint8_t *p,
                               size_t len) {
    floe_ice_recv_info info;
    floe_addr f = A(from);
    assert_int_equal(floe_ice_agent_on_recv(n->ag[0], n->now, base, &f, p, len, &info), FLOE_OK);
    return info.kind;
}

/* The next datagram the agent wants to send, decoded (false if none). */
static bool next_out(tnet *n, uint8_t *buf, size_t *len, floe_stun_msg *m) {
    unsigned base;
    floe_addr to;
    if (floe_ice_agent_next_send(n->ag[0], n->now, buf, FLOE_ICE_SEND_MAX, len, &base, &to) !=
        FLOE_OK)
        return false;
    assert_int_equal(floe_stun_msg_decode(buf, *len, 0, m), FLOE_OK);
    return true;
}

static floe_ice_stats stats(tnet *n) {
    floe_ice_stats s;
    floe_ice_agent_get_stats(n->ag[0], &s);
    return s;
}

static void test_malformed_and_unknown_base(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t junk[40];
    memset(junk, 0xab, sizeof junk);
    junk[0] = 0x00;
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", junk, sizeof junk), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", junk, 5), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", junk, 0), FLOE_ICE_RECV_DROPPED);
    /* A well-formed Allocate request is not ICE. */
    uint8_t buf[128], tid[12] = {7};
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST, tid);
    size_t len;
    floe_stun_builder_finish(&b, &len);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_malformed, 4);
    assert_int_equal(feed(n, 7, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_unknown_base, 1);
    /* A response to nothing. */
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_fingerprint(&b);
    floe_stun_builder_finish(&b, &len);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_unmatched, 1);
    /* A Binding indication (the peer's keepalive) is consumed quietly. */
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_INDICATION, tid);
    floe_stun_add_fingerprint(&b);
    floe_stun_builder_finish(&b, &len);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_STUN);
    floe_stun_msg m;
    assert_false(next_out(n, buf, &len, &m)); /* nothing answered */
    net_free(n);
}

static void test_unauthenticated_requests(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t req[256], out[FLOE_ICE_SEND_MAX];
    size_t len, olen;
    floe_stun_msg m;
    int code;

    /* Wrong password: 401, without MESSAGE-INTEGRITY, no larger than the request. */
    req_opts o = {.pwd = "not-the-password-at-all", .role = 1, .tiebreaker = 5};
    len = build_req(n->ag[0], &o, req, sizeof req, 1);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_integrity, 1);
    assert_true(next_out(n, out, &olen, &m));
    assert_int_equal(m.cls, FLOE_STUN_ERROR);
    assert_int_equal(floe_stun_msg_get_error(&m, &code, NULL, NULL), FLOE_OK);
    assert_int_equal(code, 401);
    assert_true(m.mi < 0);
    assert_true(olen <= len);
    assert_int_equal(olen, 36);

    /* Wrong username: 401. */
    o = (req_opts){.user = "someone:peer", .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 2);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_unknown_user, 1);
    assert_true(next_out(n, out, &olen, &m));
    floe_stun_msg_get_error(&m, &code, NULL, NULL);
    assert_int_equal(code, 401);
    /* Our ufrag as a prefix only ("<ufrag>x:peer") is not ours either. */
    char user[64];
    strcpy(user, floe_ice_agent_local_ufrag(n->ag[0]));
    strcat(user, "x:peer");
    o = (req_opts){.user = user};
    len = build_req(n->ag[0], &o, req, sizeof req, 3);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_unknown_user, 2);
    assert_true(next_out(n, out, &olen, &m));

    /* No USERNAME: 400. No MESSAGE-INTEGRITY: 400. */
    o = (req_opts){.user = "", .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 4);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_true(next_out(n, out, &olen, &m));
    floe_stun_msg_get_error(&m, &code, NULL, NULL);
    assert_int_equal(code, 400);
    o = (req_opts){.pwd = "", .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 5);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_integrity, 2);
    assert_true(next_out(n, out, &olen, &m));

    /* Too small to answer without amplifying: header + FINGERPRINT only. */
    o = (req_opts){.user = "", .pwd = "", .no_priority = true};
    len = build_req(n->ag[0], &o, req, sizeof req, 6);
    assert_int_equal(len, 28);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_false(next_out(n, out, &olen, &m));

    /* No FINGERPRINT: dropped silently. */
    o = (req_opts){.no_fingerprint = true, .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 7);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_false(next_out(n, out, &olen, &m));
    assert_int_equal(stats(n).errors_sent, 5);
    assert_int_equal(stats(n).checks_received, 0);
    assert_int_equal(n->ag[0]->n_remote, 0); /* nothing learnt from any of it */
    net_free(n);
}

static void test_authenticated_but_wrong(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t req[256], out[FLOE_ICE_SEND_MAX];
    size_t len, olen;
    floe_stun_msg m;
    int code;
    /* Unknown comprehension-required attribute: 420 listing it, authenticated. */
    req_opts o = {.unknown_attr = true, .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 1);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_STUN);
    assert_true(next_out(n, out, &olen, &m));
    floe_stun_msg_get_error(&m, &code, NULL, NULL);
    assert_int_equal(code, 420);
    uint16_t unk[4];
    size_t nu;
    assert_int_equal(floe_stun_msg_get_unknown(&m, unk, 4, &nu), FLOE_OK);
    assert_int_equal(nu, 1);
    assert_int_equal(unk[0], 0x7777);
    const char *pwd = floe_ice_agent_local_pwd(n->ag[0]);
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)pwd, strlen(pwd)), FLOE_OK);
    /* No PRIORITY: 400, authenticated. */
    o = (req_opts){.no_priority = true, .role = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 2);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_DROPPED);
    assert_true(next_out(n, out, &olen, &m));
    floe_stun_msg_get_error(&m, &code, NULL, NULL);
    assert_int_equal(code, 400);
    assert_true(m.mi >= 0);
    net_free(n);
}

/* A good check is answered with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
static void test_good_check_answered(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t req[256], out[FLOE_ICE_SEND_MAX];
    size_t len, olen;
    floe_stun_msg m;
    req_opts o = {.role = 1, .tiebreaker = 1};
    len = build_req(n->ag[0], &o, req, sizeof req, 1);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_STUN);
    assert_true(next_out(n, out, &olen, &m));
    assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
    floe_addr mapped, want = A("10.0.0.2:6000");
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped),
                     FLOE_OK);
    assert_true(floe_addr_equal(&mapped, &want));
    const char *pwd = floe_ice_agent_local_pwd(n->ag[0]);
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)pwd, strlen(pwd)), FLOE_OK);
    assert_true(m.fp >= 0);
    /* The source became a peer-reflexive remote candidate with the PRIORITY sent, and a
     * triggered check goes back to it. */
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(a->n_remote, 1);
    assert_int_equal(a->remote[0].type, FLOE_ICE_CAND_PRFLX);
    assert_int_equal(a->remote[0].prio, 1862270975);
    assert_int_equal(stats(n).triggered_checks, 1);
    floe_ice_agent_tick(a, n->now);
    assert_true(next_out(n, out, &olen, &m));
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    const char *u;
    size_t ul;
    assert_int_equal(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_USERNAME, &u, &ul), FLOE_OK);
    char want_user[32];
    strcpy(want_user, "peer:");
    strcat(want_user, floe_ice_agent_local_ufrag(a));
    assert_int_equal(ul, strlen(want_user));
    assert_memory_equal(u, want_user, ul);
    uint32_t prio;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_PRIORITY, &prio), FLOE_OK);
    assert_int_equal(prio, ice_base_prflx_priority(a, 0));
    uint64_t tb;
    assert_int_equal(floe_stun_msg_get_u64(&m, FLOE_STUN_ATTR_ICE_CONTROLLED, &tb), FLOE_OK);
    assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_USE_CANDIDATE));
    assert_int_equal(
        floe_stun_msg_check_integrity(&m, (const uint8_t *)"peerpassword0123456789", 22), FLOE_OK);
    net_free(n);
}

/* Responses to our checks: wrong key, forged 487, wrong source. */
static void test_bad_responses(void **state) {
    (void)state;
    tnet *n = victim();
    floe_ice_agent *a = n->ag[0];
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    c.type = FLOE_ICE_CAND_HOST;
    c.component = 1;
    c.priority = 2130706431;
    strcpy(c.foundation, "x");
    c.addr = A("10.0.0.2:6000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK);
    floe_ice_agent_tick(a, n->now);
    uint8_t out[FLOE_ICE_SEND_MAX], resp[256];
    size_t olen, rlen;
    floe_stun_msg m;
    assert_true(next_out(n, out, &olen, &m));
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    uint8_t tid[12];
    memcpy(tid, m.tid, 12);
    floe_stun_builder b;
    floe_addr me = A("10.0.0.1:5000");
    /* Success with the wrong key. */
    floe_stun_builder_init(&b, resp, sizeof resp, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
    floe_stun_add_integrity(&b, (const uint8_t *)"wrong", 5);
    floe_stun_add_fingerprint(&b);
    floe_stun_builder_finish(&b, &rlen);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", resp, rlen), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_integrity, 1);
    /* A 487 without MESSAGE-INTEGRITY cannot change our role. */
    floe_stun_builder_init(&b, resp, sizeof resp, FLOE_STUN_BINDING, FLOE_STUN_ERROR, tid);
    floe_stun_add_error(&b, 487, NULL);
    floe_stun_add_fingerprint(&b);
    floe_stun_builder_finish(&b, &rlen);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", resp, rlen), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_integrity, 2);
    assert_false(floe_ice_agent_is_controlling(a));
    assert_int_equal(a->pairs[0].state, FLOE_ICE_PAIR_IN_PROGRESS);
    /* A correct answer from the wrong address: the check failed (not symmetric). */
    floe_stun_builder_init(&b, resp, sizeof resp, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
    floe_stun_add_integrity(&b, (const uint8_t *)"peerpassword0123456789", 22);
    floe_stun_add_fingerprint(&b);
    floe_stun_builder_finish(&b, &rlen);
    assert_int_equal(feed(n, 0, "10.0.0.3:6000", resp, rlen), FLOE_ICE_RECV_STUN);
    assert_int_equal(a->pairs[0].state, FLOE_ICE_PAIR_FAILED);
    /* Once over, the same answer matches nothing. */
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", resp, rlen), FLOE_ICE_RECV_DROPPED);
    assert_int_equal(stats(n).drop_unmatched, 1);
    net_free(n);
}

/* Answers wait in a bounded queue; beyond it they are counted, not queued. */
static void test_response_queue_cap(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t req[256];
    for (int i = 0; i < 20; i++) {
        req_opts o = {.role = 1, .tiebreaker = 1};
        size_t len = build_req(n->ag[0], &o, req, sizeof req, (uint8_t)(i + 1));
        assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_STUN);
    }
    assert_int_equal(stats(n).cap_sends, 20 - ICE_RESP_SLOTS);
    assert_int_equal(stats(n).checks_received, 20);
    net_free(n);
}

/* Peer-reflexive remote candidates are bounded like the others. */
static void test_prflx_remote_cap(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false);
    c.max_remote = 3;
    c.max_pairs = 2;
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(
        floe_ice_agent_set_remote_credentials(n->ag[0], 0, "peer", "peerpassword0123456789"),
        FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    uint8_t req[256], out[FLOE_ICE_SEND_MAX];
    for (int i = 0; i < 6; i++) {
        req_opts o = {.role = 1, .tiebreaker = 1};
        size_t len = build_req(n->ag[0], &o, req, sizeof req, (uint8_t)(i + 1));
        char from[32];
        snprintf(from, sizeof from, "10.0.0.%d:6000", 10 + i);
        assert_int_equal(feed(n, 0, from, req, len), FLOE_ICE_RECV_STUN);
        size_t olen;
        floe_stun_msg m;
        while (next_out(n, out, &olen, &m)) {
        }
    }
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(a->n_remote, 3);
    assert_int_equal(a->n_pairs, 2);
    assert_int_equal(stats(n).cap_candidates, 3);
    assert_true(stats(n).cap_pairs >= 1);
    assert_int_equal(stats(n).responses_sent, 6); /* still answered */
    net_free(n);
}

/* One base learns at most a quarter of the remote table from checks (at least 4), so a
 * chain of fresh mappings on one base (two apdm/eif NATs) leaves room for what another
 * base learns: the peer's mapping toward our relayed address, in the call matrix. */
static void test_prflx_per_base_quota(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false);
    net_agent(n, 0, &c);
    unsigned b0 = net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    unsigned b1 = net_host(n, 0, 0, 1, "10.0.0.1:5001", NULL);
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(
        floe_ice_agent_set_remote_credentials(n->ag[0], 0, "peer", "peerpassword0123456789"),
        FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    floe_ice_agent *a = n->ag[0];
    unsigned quota = a->max_remote / 4;
    assert_true(quota >= 4 && quota + 4 < a->max_remote);
    uint8_t req[256], out[FLOE_ICE_SEND_MAX];
    size_t olen;
    floe_stun_msg m;
    for (unsigned i = 0; i < quota + 4; i++) {
        req_opts o = {.role = 1, .tiebreaker = 1};
        size_t len = build_req(a, &o, req, sizeof req, (uint8_t)(i + 1));
        char from[32];
        snprintf(from, sizeof from, "203.0.113.1:%u", 20000 + i);
        assert_int_equal(feed(n, b0, from, req, len), FLOE_ICE_RECV_STUN);
        while (next_out(n, out, &olen, &m)) {
        }
    }
    assert_int_equal(a->n_remote, quota);
    assert_int_equal(stats(n).cap_candidates, 4);
    assert_int_equal(stats(n).responses_sent, quota + 4); /* all answered */
    /* the other base still learns, and pairs what it learnt with its own candidate */
    req_opts o = {.role = 1, .tiebreaker = 1, .use_cand = true};
    size_t len = build_req(a, &o, req, sizeof req, 0xee);
    assert_int_equal(feed(n, b1, "203.0.113.1:30000", req, len), FLOE_ICE_RECV_STUN);
    assert_int_equal(a->n_remote, quota + 1);
    floe_addr src = A("203.0.113.1:30000");
    int r = ice_remote_find(a, 0, 1, &src);
    assert_true(r >= 0);
    assert_true(ice_cl_find(a, (unsigned)ice_local_of_base(a, b1), (unsigned)r) >= 0);
    assert_int_equal(stats(n).cap_candidates, 4);
    net_free(n);
}

/* A burst of pair-state events beyond the queue: informational ones go first. */
static void test_event_queue_overflow(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    for (int i = 0; i < 8; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.0.%d.1:5000", i);
        net_host(n, 0, 0, 1, addr, NULL);
    }
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "peer", "peerpassword0123456789"),
                     FLOE_OK);
    for (int i = 0; i < 8; i++) {
        floe_ice_cand rc;
        memset(&rc, 0, sizeof rc);
        rc.type = FLOE_ICE_CAND_HOST;
        rc.component = 1;
        rc.priority = 1000 + (uint32_t)i;
        snprintf(rc.foundation, sizeof rc.foundation, "f%d", i);
        char addr[32];
        snprintf(addr, sizeof addr, "10.1.%d.2:6000", i);
        rc.addr = A(addr);
        assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &rc), FLOE_OK);
    }
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK); /* 64 pairs unfreeze */
    assert_int_equal(a->ev_count, FLOE_ICE_MAX_EVENTS);
    assert_true(stats(n).events_dropped > 0);
    /* The candidate and gathering events are still there, first. */
    floe_ice_event ev;
    unsigned cand = 0;
    while (floe_ice_agent_next_event(a, &ev))
        if (ev.type == FLOE_ICE_EV_CANDIDATE) cand++;
    assert_int_equal(cand, 8);
    net_free(n);
}

static void test_null_and_state_errors(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(floe_ice_agent_new(NULL, &c), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_ERR_STATE); /* not gathered */
    assert_int_equal(floe_ice_agent_restart(a, n->now), FLOE_ERR_STATE);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_ERR_STATE); /* no base */
    assert_int_equal(floe_ice_agent_deadline(a), FLOE_TIME_NEVER);
    uint8_t buf[8];
    size_t len;
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_next_send(a, n->now, buf, sizeof buf, &len, &base, &to),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_ice_agent_next_send(NULL, n->now, buf, sizeof buf, &len, &base, &to),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_data_path(a, 0, 1, &base, &to), FLOE_ERR_STATE);
    assert_int_equal(floe_ice_agent_data_path(a, 0, 2, &base, &to), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_on_recv(a, n->now, 0, NULL, buf, 1, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_get_state(NULL), FLOE_ICE_AGENT_NEW);
    floe_ice_stats st;
    floe_ice_agent_get_stats(NULL, &st);
    assert_int_equal(st.checks_sent, 0);
    assert_int_equal(floe_ice_agent_local_candidates(a, 5, NULL, 0), 0);
    floe_ice_agent_tick(NULL, 0);
    floe_ice_agent_set_remote_lite(NULL, true);
    net_free(n);
}

/* A send buffer too small keeps the datagram queued. */
static void test_small_send_buffer(void **state) {
    (void)state;
    tnet *n = victim();
    uint8_t req[256], small[40], out[FLOE_ICE_SEND_MAX];
    req_opts o = {.role = 1, .tiebreaker = 1};
    size_t len = build_req(n->ag[0], &o, req, sizeof req, 1);
    assert_int_equal(feed(n, 0, "10.0.0.2:6000", req, len), FLOE_ICE_RECV_STUN);
    unsigned base;
    floe_addr to;
    assert_int_equal(
        floe_ice_agent_next_send(n->ag[0], n->now, small, sizeof small, &len, &base, &to),
        FLOE_ERR_NOSPACE);
    floe_stun_msg m;
    assert_true(next_out(n, out, &len, &m));
    assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
    net_free(n);
}

/* Memory: the whole agent is one allocation sized by the caps. The figure the project
 * tracks (docs/adr/0008): an agent of 10 candidates, 5 local and 5 remote, one stream of
 * one component, and the 25 pairs they can form, fits in 4 KB, with or without a STUN
 * server. */
static void test_memory_footprint(void **state) {
    (void)state;
    floe_ice_config c;
    floe_ice_config_default(&c);
    net_rng r = {1};
    c.rand = net_rand;
    c.rand_ctx = &r;
    size_t def = floe_ice_agent_memory(&c);
    c.max_local = 5;
    c.max_remote = 5;
    c.max_pairs = 25;
    size_t small = floe_ice_agent_memory(&c);
    floe_ice_config stun = c;
    stun.stun_servers[0] = A("198.51.100.1:3478");
    stun.n_stun_servers = 1;
    size_t small_stun = floe_ice_agent_memory(&stun);
    floe_ice_config ten = c;
    ten.max_local = ten.max_remote = 10;
    ten.max_pairs = 100;
    size_t ten_ten = floe_ice_agent_memory(&ten);
    print_message("sizeof(struct floe_ice_agent) = %zu\n", sizeof(struct floe_ice_agent));
    print_message(
        "sizeof ice_pair %zu, ice_check_txn %zu (+2 owner), ice_lcand %zu, ice_rcand %zu, "
        "ice_base %zu, ice_stream %zu, ice_comp %zu\n",
        sizeof(ice_pair), sizeof(ice_check_txn), sizeof(ice_lcand), sizeof(ice_rcand),
        sizeof(ice_base), sizeof(ice_stream), sizeof(ice_comp));
    print_message("agent memory: defaults (64/64/100) %zu bytes; 5 local, 5 remote, 25 pairs "
                  "%zu bytes (%zu with a STUN server); 10 local, 10 remote, 100 pairs %zu "
                  "bytes\n",
                  def, small, small_stun, ten_ten);
    assert_true(small < def);
    assert_true(small <= 4096);
    assert_true(small_stun <= 4096);
    assert_true(ten_ten < def);
    floe_ice_agent *a;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_OK);
    floe_ice_agent_free(a);
    assert_int_equal(floe_ice_agent_new(&a, &stun), FLOE_OK);
    floe_ice_agent_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_and_unknown_base),
        cmocka_unit_test(test_unauthenticated_requests),
        cmocka_unit_test(test_authenticated_but_wrong),
        cmocka_unit_test(test_good_check_answered),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_response_queue_cap),
        cmocka_unit_test(test_prflx_remote_cap),
        cmocka_unit_test(test_prflx_per_base_quota),
        cmocka_unit_test(test_event_queue_overflow),
        cmocka_unit_test(test_null_and_state_errors),
        cmocka_unit_test(test_small_send_buffer),
        cmocka_unit_test(test_memory_footprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
