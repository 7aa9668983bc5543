/* Unit tests for include/floe/turn.h: the TURN client against a scripted server
 * (tests/unit/turn_fake.h) in virtual time. Allocation with the 401 and 438 rounds, 300
 * redirects, error answers, refresh timing, deallocation, permissions, channels, data
 * both ways, forged and malformed input, dual allocation, caps. */
#include "unit/turn_fake.h"

#include "turn/turn_priv.h"

static const floe_addr *srv_addr(fk_world *w) {
    return &w->srv.addr;
}

/* Allocates with the default configuration and checks the 401 round. */
static void allocate(fk_world *w, floe_turn_config *cfg) {
    fk_world_start(w, cfg);
    assert_int_equal(floe_turn_client_state(w->c), FLOE_TURN_NEW);
    assert_int_equal(floe_turn_client_deadline(w->c), FLOE_TIME_NEVER);
    assert_int_equal(floe_turn_client_allocate(w->c, w->now), FLOE_OK);
    assert_int_equal(floe_turn_client_state(w->c), FLOE_TURN_ALLOCATING);
    fk_run_for(w, FLOE_S(1));
}

/* ---- allocation --------------------------------------------------------------------- */

static void test_allocate_after_401(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    floe_time_ns t0 = w.now;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.n_events, 1);
    floe_turn_event *e = &w.events[0];
    assert_int_equal(e->type, FLOE_TURN_EV_ALLOCATED);
    assert_int_equal(e->n_relayed, 1);
    floe_addr r4 = fk_addr(FAKE_RELAYED4);
    assert_true(floe_addr_equal(&e->relayed[0], &r4));
    assert_true(floe_addr_equal(&e->mapped, &w.client_addr));
    assert_true(floe_addr_equal(&e->server, srv_addr(&w)));
    assert_int_equal(e->lifetime_s, 600);
    /* The authenticated Allocate left at t0 + 20 ms and was answered 20 ms later. */
    assert_int_equal(e->rtt_ns, FLOE_MS(20));
    assert_int_equal(e->at, t0 + FLOE_MS(40));
    assert_int_equal(floe_turn_client_expiry(w.c), t0 + FLOE_MS(40) + FLOE_S(600));
    /* Two Allocates: without, then with credentials. */
    assert_int_equal(w.srv.n_requests, 2);
    assert_int_equal(w.srv.methods[0], FLOE_STUN_ALLOCATE);
    assert_false(w.srv.authed[0]);
    assert_true(w.srv.authed[1]);
    const floe_turn_stats *st = floe_turn_client_stats(w.c);
    assert_int_equal(st->transactions, 2);
    assert_int_equal(st->tx_requests, 2);
    assert_int_equal(st->rx, 2);
    assert_int_equal(st->rx_responses, 2);
    floe_addr out[2];
    assert_int_equal(floe_turn_client_relayed(w.c, out, 2), 1);
    assert_true(floe_addr_equal(&out[0], &r4));
    /* Nothing due but the refresh, 60 s before expiry. */
    assert_int_equal(floe_turn_client_deadline(w.c), t0 + FLOE_MS(40) + FLOE_S(540));
    assert_string_equal(floe_turn_event_name(e->type), "allocated");
    assert_string_equal(floe_turn_state_name(floe_turn_client_state(w.c)), "allocated");
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_allocate_without_auth(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.auth = false;
    cfg.username = cfg.password = NULL;
    cfg.lifetime = 1200;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.srv.n_requests, 1);
    assert_int_equal(w.events[0].lifetime_s, 1200);
    fk_world_free(&w);
}

static void test_server_wants_credentials(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.username = cfg.password = NULL;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.n_events, 1);
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_AUTH);
    assert_int_equal(w.events[0].error_code, 401);
    assert_non_null(strstr(w.events[0].reason, "credentials"));
    assert_int_equal(floe_turn_client_deadline(w.c), FLOE_TIME_NEVER);
    fk_world_free(&w);
}

static void test_wrong_password(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.password = "not-the-password";
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_AUTH);
    assert_int_equal(w.events[0].error_code, 401);
    /* RFC 8489 §9.2.5: no second try with the same credentials. */
    assert_int_equal(w.srv.n_allocates, 2);
    fk_world_free(&w);
}

static void test_expected_realm(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.realm = FAKE_REALM;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    fk_world_free(&w);

    fk_world_init(&w, &cfg);
    cfg.realm = "other.example";
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_AUTH);
    assert_non_null(strstr(w.events[0].reason, "realm"));
    assert_int_equal(w.srv.n_allocates, 1); /* no credentials sent to that realm */
    fk_world_free(&w);
}

static void test_stale_nonce_retried(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.stale_left = 2;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.srv.n_allocates, 4); /* 401, 438, 438, success */
    assert_int_equal(floe_turn_client_stats(w.c)->stale_nonces, 2);
    assert_int_equal(floe_turn_client_stats(w.c)->transactions, 4);
    fk_world_free(&w);
}

static void test_stale_nonce_bounded(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.stale_left = 1000;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].error_code, 438);
    assert_int_equal(w.events[0].err, FLOE_ERR_AUTH);
    assert_int_equal(w.srv.n_allocates, 2 + FLOE_TURN_MAX_STALE_RETRIES);
    fk_world_free(&w);
}

static void test_redirect_once(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.redirects_left = 1;
    w.srv.alternate = w.alt.addr;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.n_events, 2);
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_REDIRECTED);
    assert_true(floe_addr_equal(&w.events[0].server, &w.alt.addr));
    assert_int_equal(w.events[1].type, FLOE_TURN_EV_ALLOCATED);
    assert_true(floe_addr_equal(&w.events[1].server, &w.alt.addr));
    floe_addr now_srv = floe_turn_client_server(w.c);
    assert_true(floe_addr_equal(&now_srv, &w.alt.addr));
    assert_int_equal(w.srv.n_allocates, 1);
    assert_int_equal(w.alt.n_allocates, 2); /* from scratch: 401, then success */
    /* The first server is no longer listened to. */
    uint8_t junk[20] = {0x01, 0x01};
    assert_int_equal(floe_turn_client_on_recv(w.c, w.now, junk, sizeof junk, srv_addr(&w), NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_not_server, 1);
    fk_world_free(&w);
}

static void test_redirect_twice_fails(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.redirects_left = 1;
    w.srv.alternate = w.alt.addr;
    w.alt.redirects_left = 1;
    w.alt.alternate = w.srv.addr;
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_REDIRECTED);
    assert_int_equal(w.events[1].type, FLOE_TURN_EV_FAILED);
    assert_non_null(strstr(w.events[1].reason, "second server"));
    fk_world_free(&w);
}

static void test_redirect_to_nowhere(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.redirects_left = 1;
    w.srv.alternate = fk_addr("0.0.0.0:3478");
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_MALFORMED);
    fk_world_free(&w);
}

static void test_allocate_error_codes(void **state) {
    (void)state;
    static const int codes[] = {403, 437, 440, 441, 442, 486, 500, 508};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        fk_world w;
        floe_turn_config cfg;
        fk_world_init(&w, &cfg);
        w.srv.alloc_error = codes[i];
        allocate(&w, &cfg);
        assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
        assert_int_equal(w.n_events, 1);
        assert_int_equal(w.events[0].type, FLOE_TURN_EV_FAILED);
        assert_int_equal(w.events[0].err, FLOE_ERR_ERROR_RESPONSE);
        assert_int_equal(w.events[0].error_code, codes[i]);
        assert_string_equal(w.events[0].reason, floe_stun_error_reason(codes[i]));
        assert_int_equal(floe_turn_client_deadline(w.c), FLOE_TIME_NEVER);
        fk_check_stats(&w);
        fk_world_free(&w);
    }
}

static void test_allocate_timeout(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.silent = true;
    floe_time_ns t0 = w.now;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(100));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_TIMEOUT);
    /* RFC 8489 §6.2.1: 7 requests, failure at 39.5 s. */
    assert_int_equal(w.srv.n_requests, 7);
    assert_int_equal(w.events[0].at, t0 + FLOE_MS(39500));
    fk_world_free(&w);

    /* With cfg.timeout the allocation gives up sooner. */
    fk_world_init(&w, &cfg);
    w.srv.silent = true;
    cfg.timeout = FLOE_S(2);
    t0 = w.now;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(100));
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_FAILED);
    assert_int_equal(w.events[0].at, t0 + FLOE_S(2));
    assert_int_equal(w.srv.n_requests, 3); /* 0, 0.5, 1.5 s */
    fk_world_free(&w);
}

static void test_retransmission_then_success(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.lose_to_client = true;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_MS(1200)); /* copies at 0, 0.5 s: answers lost */
    w.lose_to_client = false;
    fk_run_for(&w, FLOE_S(2));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    /* Late answers to the first transaction's copies are unmatched. */
    fk_check_stats(&w);
    fk_world_free(&w);
}

/* ---- refresh and deallocation ------------------------------------------------------- */

static void test_refresh_timing(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_time_ns t_alloc = w.events[0].at;
    fk_run_until(&w, t_alloc + FLOE_S(539));
    assert_int_equal(w.srv.n_refreshes, 0);
    fk_run_until(&w, t_alloc + FLOE_S(541));
    assert_int_equal(w.srv.n_refreshes, 1);
    assert_int_equal(w.srv.last_lifetime, ~0u); /* no LIFETIME asked: the default */
    int i = fk_find_event(&w, FLOE_TURN_EV_REFRESHED, 0);
    assert_true(i > 0);
    assert_int_equal(w.events[i].lifetime_s, 600);
    assert_int_equal(w.events[i].at, t_alloc + FLOE_S(540) + FLOE_MS(20));
    assert_int_equal(floe_turn_client_expiry(w.c), w.events[i].at + FLOE_S(600));
    /* Two hours: a refresh every 540 s, nothing fails. */
    fk_run_for(&w, FLOE_S(7200));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.srv.n_refreshes, 1 + 7200 / 540);
    assert_int_equal(floe_turn_client_stats(w.c)->refreshes, w.srv.n_refreshes);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_FAILED), 0);
    fk_world_free(&w);
}

static void test_refresh_short_lifetime(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.lifetime = 60;
    cfg.lifetime = 60;
    allocate(&w, &cfg);
    floe_time_ns t_alloc = w.events[0].at;
    assert_int_equal(w.events[0].lifetime_s, 60);
    /* Less than twice the margin: refreshed half-way. */
    assert_int_equal(floe_turn_client_deadline(w.c), t_alloc + FLOE_S(30));
    fk_run_until(&w, t_alloc + FLOE_S(31));
    assert_int_equal(w.srv.n_refreshes, 1);
    assert_int_equal(w.srv.last_lifetime, 60);
    fk_world_free(&w);
}

static void test_refresh_unanswered_expires(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_time_ns t_alloc = w.events[0].at;
    w.srv.silent = true;
    fk_run_until(&w, t_alloc + FLOE_S(700));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    int i = fk_find_event(&w, FLOE_TURN_EV_FAILED, 0);
    assert_true(i > 0);
    assert_int_equal(w.events[i].at, t_alloc + FLOE_S(600));
    assert_non_null(strstr(w.events[i].reason, "expired"));
    /* The refresh at 540 s timed out at 579.5 s (7 copies) and was tried again (copies
     * at 579.5, 580, 581, 583, 587 and 595 s). */
    assert_int_equal(w.srv.n_requests - 2, 7 + 6);
    assert_int_equal(floe_turn_client_deadline(w.c), FLOE_TIME_NEVER);
    fk_world_free(&w);
}

static void test_refresh_refused(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    w.srv.allocated = false; /* the server lost it: 437 */
    fk_run_for(&w, FLOE_S(600));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    int i = fk_find_event(&w, FLOE_TURN_EV_FAILED, 0);
    assert_int_equal(w.events[i].error_code, 437);
    assert_string_equal(w.events[i].reason, "Allocation Mismatch");
    fk_world_free(&w);
}

static void test_refresh_stale_nonce(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    w.srv.stale_left = 1;
    fk_run_for(&w, FLOE_S(600));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_int_equal(w.srv.n_refreshes, 2);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_REFRESHED), 1);
    fk_world_free(&w);
}

static void test_deallocate(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_OK);
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_OK);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_DEALLOCATING);
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_ERR_STATE);
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_ERR_STATE);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_CLOSED);
    int i = fk_find_event(&w, FLOE_TURN_EV_DEALLOCATED, 0);
    assert_true(i > 0);
    assert_int_equal(w.events[i].err, FLOE_OK);
    assert_int_equal(w.srv.last_lifetime, 0);
    assert_false(w.srv.allocated);
    /* The permission request was abandoned: nothing else went out. */
    assert_int_equal(w.srv.n_perm_reqs, 0);
    assert_int_equal(floe_turn_client_deadline(w.c), FLOE_TIME_NEVER);
    fk_world_free(&w);
}

static void test_deallocate_unanswered(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    w.srv.silent = true;
    floe_time_ns t = w.now;
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(60));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_CLOSED);
    int i = fk_find_event(&w, FLOE_TURN_EV_DEALLOCATED, 0);
    assert_int_equal(w.events[i].err, FLOE_ERR_TIMEOUT);
    assert_int_equal(w.events[i].at, t + FLOE_MS(39500));
    fk_world_free(&w);
}

static void test_close_early(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    fk_world_start(&w, &cfg);
    /* Never allocated. */
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_OK);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_CLOSED);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_ERR_STATE);
    fk_drain(&w);
    assert_int_equal(w.n_events, 1);
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_DEALLOCATED);
    fk_world_free(&w);

    /* While allocating: the answer that comes later is not matched. */
    fk_world_init(&w, &cfg);
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_drain(&w);
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_OK);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_CLOSED);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(floe_turn_client_stats(w.c)->drop_unmatched, 1);
    assert_int_equal(w.srv.n_requests, 1);
    fk_check_stats(&w);
    fk_world_free(&w);
}

/* ---- permissions, channels, data ---------------------------------------------------- */

static void test_permission_and_send_indication(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    fk_world_start(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    /* Asked for before the allocation exists: it goes out once it does. */
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_OK);
    assert_int_equal(floe_turn_client_permission(w.c, &peer), FLOE_TURN_BIND_NEW);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(w.srv.n_perm_reqs, 1);
    int up = fk_find_event(&w, FLOE_TURN_EV_PERMISSION_UP, 0);
    assert_true(up > 0);
    assert_true(floe_addr_equal(&w.events[up].peer, &peer));
    assert_int_equal(floe_turn_client_permission(w.c, &peer), FLOE_TURN_BIND_UP);
    /* Another port of the same IP shares the permission. */
    floe_addr peer2 = fk_addr("203.0.113.5:7001");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer2), FLOE_OK);
    assert_int_equal(floe_turn_client_permission(w.c, &peer2), FLOE_TURN_BIND_UP);

    uint8_t buf[256];
    size_t n = 0;
    const uint8_t hello[] = "hello, peer";
    assert_int_equal(floe_turn_client_send(w.c, &peer, hello, sizeof hello, buf, sizeof buf, &n),
                     FLOE_OK);
    assert_int_equal(buf[0] & 0xc0, 0); /* a STUN Send indication */
    fk_client_send(&w, buf, n);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(w.srv.n_sends, 1);
    assert_int_equal(w.n_data, 1);
    assert_int_equal(w.last_data_channel, 0);
    assert_true(floe_addr_equal(&w.last_data_peer, &peer));
    assert_int_equal(w.last_data_len, sizeof hello);
    assert_memory_equal(w.last_data, hello, sizeof hello);
    assert_int_equal(floe_turn_client_stats(w.c)->tx_send_indications, 1);
    assert_int_equal(floe_turn_client_stats(w.c)->rx_data_indications, 1);

    /* Refreshed 60 s before its 300 s run out. */
    floe_time_ns t_up = w.events[up].at;
    fk_run_until(&w, t_up + FLOE_S(239));
    assert_int_equal(w.srv.n_perm_reqs, 1);
    fk_run_until(&w, t_up + FLOE_S(241));
    assert_int_equal(w.srv.n_perm_reqs, 2);
    /* Each refresh is scheduled from its answer, 20 ms after it left. */
    fk_run_until(&w, t_up + FLOE_S(1201));
    assert_int_equal(floe_turn_client_permission(w.c, &peer), FLOE_TURN_BIND_UP);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_UP), 1);
    assert_int_equal(w.srv.n_perm_reqs, 1 + 1200 / 240);
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_permission_refused(void **state) {
    (void)state;
    /* 403: the server's peer policy; 443: Peer Address Family Mismatch (RFC 8656 §9.1). */
    static const int codes[] = {403, 443};
    for (size_t k = 0; k < 2; k++) {
        fk_world w;
        floe_turn_config cfg;
        fk_world_init(&w, &cfg);
        w.srv.perm_error = codes[k];
        allocate(&w, &cfg);
        floe_addr peer = fk_addr("127.0.0.1:7000");
        assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_OK);
        fk_run_for(&w, FLOE_S(1));
        int i = fk_find_event(&w, FLOE_TURN_EV_PERMISSION_FAILED, 0);
        assert_true(i > 0);
        assert_int_equal(w.events[i].error_code, codes[k]);
        assert_string_equal(w.events[i].reason, floe_stun_error_reason(codes[k]));
        assert_true(floe_addr_equal(&w.events[i].peer, &peer));
        assert_int_equal(floe_turn_client_permission(w.c, &peer), FLOE_TURN_BIND_FAILED);
        uint8_t buf[64];
        size_t n;
        assert_int_equal(floe_turn_client_send(w.c, &peer, buf, 4, buf, sizeof buf, &n),
                         FLOE_ERR_STATE);
        /* The allocation is unharmed. */
        assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
        fk_world_free(&w);
    }
}

static void test_permission_expires(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    int up = fk_find_event(&w, FLOE_TURN_EV_PERMISSION_UP, 0);
    floe_time_ns t_up = w.events[up].at;
    w.srv.silent = true;
    fk_run_until(&w, t_up + FLOE_S(301));
    int i = fk_find_event(&w, FLOE_TURN_EV_PERMISSION_FAILED, 0);
    assert_true(i > 0);
    assert_int_equal(w.events[i].at, t_up + FLOE_S(300));
    assert_non_null(strstr(w.events[i].reason, "expired"));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    fk_world_free(&w);
}

static void test_channel(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    uint16_t ch = 0, again = 0;
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &ch), FLOE_OK);
    assert_int_equal(ch, 0x4000);
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &again), FLOE_OK);
    assert_int_equal(again, ch);
    assert_int_equal(floe_turn_client_channel(w.c, &peer, NULL), FLOE_TURN_BIND_PENDING);
    /* Until it is bound, data goes as Send indications, and only with a permission. */
    uint8_t buf[256];
    size_t n = 0;
    assert_int_equal(floe_turn_client_send(w.c, &peer, buf, 4, buf, sizeof buf, &n),
                     FLOE_ERR_STATE);
    fk_run_for(&w, FLOE_S(1));
    int b = fk_find_event(&w, FLOE_TURN_EV_CHANNEL_BOUND, 0);
    assert_true(b > 0);
    assert_int_equal(w.events[b].channel, 0x4000);
    assert_true(floe_addr_equal(&w.events[b].peer, &peer));
    /* The ChannelBind installed the permission: no CreatePermission went out. */
    assert_true(fk_find_event(&w, FLOE_TURN_EV_PERMISSION_UP, 0) > 0);
    assert_int_equal(w.srv.n_perm_reqs, 0);
    assert_int_equal(w.srv.n_chan_reqs, 1);

    const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(floe_turn_client_send(w.c, &peer, hello, sizeof hello, buf, sizeof buf, &n),
                     FLOE_OK);
    assert_int_equal(n, 9); /* over UDP, no padding */
    assert_int_equal(buf[0], 0x40);
    assert_int_equal(buf[1], 0x00);
    fk_client_send(&w, buf, n);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(w.srv.n_channel_data, 1);
    assert_int_equal(w.n_data, 1);
    assert_int_equal(w.last_data_channel, 0x4000);
    assert_true(floe_addr_equal(&w.last_data_peer, &peer));
    assert_memory_equal(w.last_data, hello, sizeof hello);

    /* The permission is refreshed at 240 s (CreatePermission), the channel at 540 s. */
    floe_time_ns t_b = w.events[b].at;
    fk_run_until(&w, t_b + FLOE_S(241));
    assert_int_equal(w.srv.n_perm_reqs, 1);
    assert_int_equal(w.srv.n_chan_reqs, 1);
    fk_run_until(&w, t_b + FLOE_S(541));
    assert_int_equal(w.srv.n_chan_reqs, 2);
    fk_run_until(&w, t_b + FLOE_S(3600));
    assert_int_equal(floe_turn_client_channel(w.c, &peer, &ch), FLOE_TURN_BIND_UP);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_CHANNEL_BOUND), 1);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_CHANNEL_FAILED), 0);
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_channel_refused(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.chan_error = 400;
    allocate(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    uint16_t ch;
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &ch), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    int i = fk_find_event(&w, FLOE_TURN_EV_CHANNEL_FAILED, 0);
    assert_true(i > 0);
    assert_int_equal(w.events[i].error_code, 400);
    assert_int_equal(w.events[i].channel, 0x4000);
    /* The permission it was to install goes with it. */
    assert_true(fk_find_event(&w, FLOE_TURN_EV_PERMISSION_FAILED, 0) > 0);
    assert_int_equal(floe_turn_client_channel(w.c, &peer, NULL), FLOE_TURN_BIND_FAILED);
    assert_int_equal(floe_turn_client_permission(w.c, &peer), FLOE_TURN_BIND_FAILED);
    fk_world_free(&w);
}

static void test_channel_numbers_and_caps(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.max_channels = 3;
    cfg.max_permissions = 4;
    allocate(&w, &cfg);
    uint16_t ch[3];
    char text[32];
    for (unsigned i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "203.0.113.%u:7000", i + 1);
        floe_addr p = fk_addr(text);
        assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &p, &ch[i]), FLOE_OK);
        assert_int_equal(ch[i], 0x4000 + i);
    }
    floe_addr extra = fk_addr("203.0.113.9:7000");
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &extra, ch), FLOE_ERR_LIMIT);
    assert_int_equal(floe_turn_client_stats(w.c)->cap_channels, 1);
    /* Permissions: 3 taken by the channels, one left. */
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &extra), FLOE_OK);
    floe_addr more = fk_addr("203.0.113.10:7000");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &more), FLOE_ERR_LIMIT);
    assert_int_equal(floe_turn_client_stats(w.c)->cap_permissions, 1);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_CHANNEL_BOUND), 3);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_UP), 4);
    fk_world_free(&w);
}

static void test_slots_shared(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    char text[32];
    for (unsigned i = 0; i < 20; i++) {
        snprintf(text, sizeof text, "203.0.113.%u:7000", i + 1);
        floe_addr p = fk_addr(text);
        assert_int_equal(floe_turn_client_permit(w.c, w.now, &p), FLOE_OK);
    }
    /* Seven slots for permissions and channels: the rest wait their turn. */
    unsigned out = 0;
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS; i++)
        out += w.c->txns[i].kind == TURN_TXN_PERMISSION;
    assert_int_equal(out, FLOE_TURN_MAX_TXNS - 1);
    assert_int_equal(floe_turn_client_stats(w.c)->txn_waits, 20 - (FLOE_TURN_MAX_TXNS - 1));
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_UP), 20);
    assert_int_equal(w.srv.n_perm_reqs, 20);
    fk_world_free(&w);
}

/* Found by fuzz_turn_client: a channel refresh waiting for a slot, and permissions that
 * expire in the same tick and free their slots. The scheduler must start the channel's
 * refresh then, or its past refresh time becomes the deadline (the loop asserts that no
 * deadline lies in the past). */
static void test_slot_freed_by_expiry(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_time_ns t0 = w.now;
    floe_addr x = fk_addr("203.0.113.200:7000");
    uint16_t ch;
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &x, &ch), FLOE_OK);
    fk_run_until(&w, t0 + FLOE_MS(240500));
    char text[32];
    for (unsigned i = 0; i < FLOE_TURN_MAX_TXNS - 1; i++) {
        snprintf(text, sizeof text, "203.0.113.%u:7000", i + 1);
        floe_addr p = fk_addr(text);
        assert_int_equal(floe_turn_client_permit(w.c, w.now, &p), FLOE_OK);
    }
    fk_run_until(&w, t0 + FLOE_S(241));
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_UP), FLOE_TURN_MAX_TXNS);
    /* From now on no permission or channel request is answered: their refreshes hold every
     * slot until they expire. */
    w.srv.silent_bindings = true;
    fk_run_until(&w, t0 + FLOE_S(650));
    assert_true(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_FAILED) >= FLOE_TURN_MAX_TXNS - 1);
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_CHANNEL_FAILED), 1);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    fk_world_free(&w);
}

static void test_peer_checks(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    floe_addr v6 = fk_addr("[2001:db8::5]:7000");
    floe_addr any = fk_addr("0.0.0.0:7000");
    floe_addr none;
    memset(&none, 0, sizeof none);
    uint16_t ch;
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &v6), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &any), FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &none), FLOE_ERR_INVAL);
    floe_addr noport = fk_addr("203.0.113.5");
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &noport, &ch), FLOE_ERR_INVAL);
    uint8_t big[8];
    size_t n;
    floe_addr peer = fk_addr("203.0.113.5:7000");
    assert_int_equal(
        floe_turn_client_send(w.c, &peer, big, FLOE_TURN_MAX_DATA + 1, big, sizeof big, &n),
        FLOE_ERR_LIMIT);
    fk_world_free(&w);
}

/* ---- forged and malformed input ----------------------------------------------------- */

static void test_forged_answers_dropped(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.forge = true;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(100));
    /* Over UDP each forged success is dropped and the request retransmitted; in the
     * end the failure says why (RFC 8489 §9.2.5). */
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_integrity, 7);
    fk_check_stats(&w);
    fk_world_free(&w);

    /* Unsigned successes likewise; over TCP the first one ends the transaction. */
    fk_world_init(&w, &cfg);
    w.srv.unsigned_ok = true;
    cfg.transport = FLOE_TRANSPORT_TCP;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_integrity, 1);
    assert_int_equal(w.srv.n_requests, 2);
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_malformed_input_counted(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    allocate(&w, &cfg);
    const floe_addr *srv = srv_addr(&w);
    floe_addr other = fk_addr("192.0.2.99:3478");
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    floe_turn_client *c = w.c;
    const floe_turn_stats *st = floe_turn_client_stats(c);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, junk, sizeof junk, &other, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_not_server, 1);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, junk, sizeof junk, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, junk, 0, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 2);
    /* ChannelData: truncated, reserved number, unknown channel. */
    uint8_t cd[8] = {0x40, 0x00, 0x00, 0x08};
    assert_int_equal(floe_turn_client_on_recv(c, w.now, cd, sizeof cd, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    cd[0] = 0x50;
    cd[3] = 4;
    assert_int_equal(floe_turn_client_on_recv(c, w.now, cd, sizeof cd, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 4);
    cd[0] = 0x40;
    assert_int_equal(floe_turn_client_on_recv(c, w.now, cd, sizeof cd, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_no_binding, 1);
    /* A request, a Binding indication, an unmatched response, a Data indication
     * without DATA, and one from a peer without permission. */
    uint8_t msg[128], tid[12] = {1, 2, 3};
    size_t n;
    floe_stun_builder b;
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n, srv, NULL), FLOE_TURN_RECV_DROPPED);
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_BINDING, FLOE_STUN_INDICATION, tid);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n, srv, NULL), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unexpected, 2);
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_ALLOCATE, FLOE_STUN_SUCCESS, tid);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n, srv, NULL), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unmatched, 1);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n, srv, NULL), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 5);
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, "x", 1);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n, srv, NULL), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_no_binding, 2);
    /* A datagram longer than its STUN message is malformed. */
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_ALLOCATE, FLOE_STUN_SUCCESS, tid);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(c, w.now, msg, n + 4, srv, NULL),
                     FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 6);
    assert_int_equal(floe_turn_client_state(c), FLOE_TURN_ALLOCATED);
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_error_without_code_fails_request(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.auth = false;
    cfg.username = cfg.password = NULL;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    uint8_t req[FLOE_TURN_MAX_REQUEST], msg[64];
    size_t n;
    floe_addr to;
    assert_int_equal(floe_turn_client_next_send(w.c, w.now, req, sizeof req, &n, &to), FLOE_OK);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(req, n, 0, &m), FLOE_OK);
    floe_stun_builder b;
    floe_stun_builder_init(&b, msg, sizeof msg, FLOE_STUN_ALLOCATE, FLOE_STUN_ERROR, m.tid);
    floe_stun_builder_finish(&b, &n);
    assert_int_equal(floe_turn_client_on_recv(w.c, w.now, msg, n, &to, NULL),
                     FLOE_TURN_RECV_CONTROL);
    fk_drain(&w);
    assert_int_equal(w.events[0].type, FLOE_TURN_EV_FAILED);
    assert_int_equal(w.events[0].err, FLOE_ERR_MALFORMED);
    fk_world_free(&w);
}

/* ---- address families --------------------------------------------------------------- */

static void test_dual_allocation(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.dual = true;
    allocate(&w, &cfg);
    assert_int_equal(w.srv.last_additional, FLOE_TURN_FAMILY_IPV6);
    assert_int_equal(w.srv.last_family, 0);
    floe_turn_event *e = &w.events[0];
    assert_int_equal(e->type, FLOE_TURN_EV_ALLOCATED);
    assert_int_equal(e->n_relayed, 2);
    assert_int_equal(e->relayed[0].family, FLOE_AF_INET4);
    assert_int_equal(e->relayed[1].family, FLOE_AF_INET6);
    assert_int_equal(e->address_error_code, 0);
    floe_addr v6 = fk_addr("[2001:db8::5]:7000"), v4 = fk_addr("203.0.113.5:7000");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &v6), FLOE_OK);
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &v4), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(fk_count_events(&w, FLOE_TURN_EV_PERMISSION_UP), 2);
    fk_world_free(&w);
}

static void test_dual_allocation_v6_refused(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.dual = true;
    w.srv.v6_error = 440;
    allocate(&w, &cfg);
    floe_turn_event *e = &w.events[0];
    assert_int_equal(e->type, FLOE_TURN_EV_ALLOCATED);
    assert_int_equal(e->n_relayed, 1);
    assert_int_equal(e->relayed[0].family, FLOE_AF_INET4);
    assert_int_equal(e->address_error_family, FLOE_AF_INET6);
    assert_int_equal(e->address_error_code, 440);
    assert_string_equal(e->reason, floe_stun_error_reason(440));
    floe_addr v6 = fk_addr("[2001:db8::5]:7000");
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &v6), FLOE_ERR_UNSUPPORTED);
    fk_world_free(&w);
}

static void test_ipv6_allocation(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.family = FLOE_AF_INET6;
    fk_world_start(&w, &cfg);
    floe_addr v4 = fk_addr("203.0.113.5:7000");
    /* Known before the answer: the allocation will be IPv6 only. */
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &v4), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(w.srv.last_family, FLOE_TURN_FAMILY_IPV6);
    assert_int_equal(w.events[0].relayed[0].family, FLOE_AF_INET6);
    fk_world_free(&w);
}

/* ---- credentials, transports, configuration ----------------------------------------- */

static void test_sha256_and_userhash(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.sha256 = true;
    w.srv.anonymity = true;
    fk_new_nonce(&w.srv);
    allocate(&w, &cfg);
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    assert_true(w.srv.last_had_userhash);
    assert_true(w.srv.last_had_sha256);
    fk_world_free(&w);
}

static void test_stream_transport(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.transport = FLOE_TRANSPORT_TCP;
    w.srv.silent = true;
    floe_time_ns t0 = w.now;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(60));
    /* One request, Ti = 39.5 s (RFC 8489 §6.2.2). */
    assert_int_equal(w.srv.n_requests, 1);
    assert_int_equal(w.events[0].at, t0 + FLOE_MS(39500));
    fk_world_free(&w);

    fk_world_init(&w, &cfg);
    cfg.transport = FLOE_TRANSPORT_TCP;
    allocate(&w, &cfg);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    uint16_t ch;
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &ch), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    uint8_t buf[64];
    size_t n;
    assert_int_equal(
        floe_turn_client_send(w.c, &peer, (const uint8_t *)"hello", 5, buf, sizeof buf, &n),
        FLOE_OK);
    assert_int_equal(n, 12); /* padded on a stream (RFC 8656 §12.5) */
    assert_int_equal(buf[3], 5);
    assert_int_equal(buf[9] | buf[10] | buf[11], 0);
    fk_world_free(&w);
}

/* DTLS carries datagrams: the client behaves exactly as over UDP (RFC 8656 §3.1). */
static void test_dtls_transport_like_udp(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    cfg.transport = FLOE_TRANSPORT_DTLS;
    w.srv.silent = true;
    floe_time_ns t0 = w.now;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_S(60));
    /* RFC 8489 §6.2.1 as over UDP: 7 requests, failure at 39.5 s. */
    assert_int_equal(w.srv.n_requests, 7);
    assert_int_equal(floe_turn_client_stats(w.c)->tx_requests, 7);
    assert_int_equal(w.events[0].err, FLOE_ERR_TIMEOUT);
    assert_int_equal(w.events[0].at, t0 + FLOE_MS(39500));
    fk_world_free(&w);

    /* Lost answers are retransmitted for; ChannelData goes unpadded, one per datagram. */
    fk_world_init(&w, &cfg);
    cfg.transport = FLOE_TRANSPORT_DTLS;
    w.lose_to_client = true;
    fk_world_start(&w, &cfg);
    assert_int_equal(floe_turn_client_allocate(w.c, w.now), FLOE_OK);
    fk_run_for(&w, FLOE_MS(1200)); /* copies at 0 and 0.5 s, answers lost */
    assert_int_equal(w.srv.n_requests, 2);
    w.lose_to_client = false;
    fk_run_for(&w, FLOE_S(2));
    assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
    floe_addr peer = fk_addr("203.0.113.5:7000");
    uint16_t ch;
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &ch), FLOE_OK);
    fk_run_for(&w, FLOE_S(1));
    uint8_t buf[64];
    size_t n;
    assert_int_equal(
        floe_turn_client_send(w.c, &peer, (const uint8_t *)"hello", 5, buf, sizeof buf, &n),
        FLOE_OK);
    assert_int_equal(n, 9); /* no padding, as over UDP */
    fk_client_send(&w, buf, n);
    fk_run_for(&w, FLOE_S(1));
    assert_int_equal(w.n_data, 1);
    fk_check_stats(&w);
    fk_world_free(&w);
}

static void test_config_checks(void **state) {
    (void)state;
    floe_turn_client *c = NULL;
    floe_turn_config cfg;
    uint64_t seed = 1;
    floe_turn_config_default(&cfg);
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL); /* no rand, no server */
    cfg.rand = fk_rand;
    cfg.rand_ctx = &seed;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL); /* no server */
    cfg.server = fk_addr(FAKE_SERVER);
    cfg.transport = (floe_transport)7; /* no such transport */
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.transport = FLOE_TRANSPORT_UDP;
    cfg.family = FLOE_AF_INET6;
    cfg.dual = true;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.family = FLOE_AF_INET4;
    cfg.max_permissions = FLOE_TURN_MAX_PERMISSIONS + 1;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.max_permissions = 0;
    cfg.username = "user";
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL); /* no password */
    char longname[FLOE_TURN_MAX_CRED + 2];
    memset(longname, 'u', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cfg.username = longname;
    cfg.password = "pw";
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.username = "user";
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_OK);
    assert_int_equal(floe_turn_client_allocate(c, 0), FLOE_OK);
    assert_int_equal(floe_turn_client_allocate(c, 0), FLOE_ERR_STATE);
    uint8_t tiny[8];
    size_t n;
    floe_addr to;
    assert_int_equal(floe_turn_client_next_send(c, 0, tiny, sizeof tiny, &n, &to),
                     FLOE_ERR_NOSPACE);
    floe_turn_client_free(c);
    floe_turn_client_free(NULL);
}

static void test_event_queue_bounded(void **state) {
    (void)state;
    fk_world w;
    floe_turn_config cfg;
    fk_world_init(&w, &cfg);
    w.srv.perm_error = 403;
    allocate(&w, &cfg);
    char text[32];
    for (unsigned i = 0; i < 25; i++) {
        snprintf(text, sizeof text, "203.0.113.%u:7000", i + 1);
        floe_addr p = fk_addr(text);
        assert_int_equal(floe_turn_client_permit(w.c, w.now, &p), FLOE_OK);
    }
    /* Run without pulling events: the queue keeps the newest FLOE_TURN_MAX_EVENTS. */
    for (int i = 0; i < 100; i++) {
        uint8_t buf[FLOE_TURN_MAX_REQUEST];
        size_t len;
        floe_addr to;
        while (floe_turn_client_next_send(w.c, w.now, buf, sizeof buf, &len, &to) == FLOE_OK)
            fk_enqueue(&w, true, &w.client_addr, &to, buf, len);
        w.now += FLOE_MS(10);
        fk_deliver_due(&w);
    }
    assert_int_equal(floe_turn_client_stats(w.c)->events_dropped, 25 - FLOE_TURN_MAX_EVENTS);
    floe_turn_event ev;
    unsigned k = 0;
    while (floe_turn_client_next_event(w.c, &ev))
        k++;
    assert_int_equal(k, FLOE_TURN_MAX_EVENTS);
    fk_world_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_after_401),
        cmocka_unit_test(test_allocate_without_auth),
        cmocka_unit_test(test_server_wants_credentials),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_expected_realm),
        cmocka_unit_test(test_stale_nonce_retried),
        cmocka_unit_test(test_stale_nonce_bounded),
        cmocka_unit_test(test_redirect_once),
        cmocka_unit_test(test_redirect_twice_fails),
        cmocka_unit_test(test_redirect_to_nowhere),
        cmocka_unit_test(test_allocate_error_codes),
        cmocka_unit_test(test_allocate_timeout),
        cmocka_unit_test(test_retransmission_then_success),
        cmocka_unit_test(test_refresh_timing),
        cmocka_unit_test(test_refresh_short_lifetime),
        cmocka_unit_test(test_refresh_unanswered_expires),
        cmocka_unit_test(test_refresh_refused),
        cmocka_unit_test(test_refresh_stale_nonce),
        cmocka_unit_test(test_deallocate),
        cmocka_unit_test(test_deallocate_unanswered),
        cmocka_unit_test(test_close_early),
        cmocka_unit_test(test_permission_and_send_indication),
        cmocka_unit_test(test_permission_refused),
        cmocka_unit_test(test_permission_expires),
        cmocka_unit_test(test_channel),
        cmocka_unit_test(test_channel_refused),
        cmocka_unit_test(test_channel_numbers_and_caps),
        cmocka_unit_test(test_slots_shared),
        cmocka_unit_test(test_slot_freed_by_expiry),
        cmocka_unit_test(test_peer_checks),
        cmocka_unit_test(test_forged_answers_dropped),
        cmocka_unit_test(test_malformed_input_counted),
        cmocka_unit_test(test_error_without_code_fails_request),
        cmocka_unit_test(test_dual_allocation),
        cmocka_unit_test(test_dual_allocation_v6_refused),
        cmocka_unit_test(test_ipv6_allocation),
        cmocka_unit_test(test_sha256_and_userhash),
        cmocka_unit_test(test_stream_transport),
        cmocka_unit_test(test_dtls_transport_like_udp),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_event_queue_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
