/* floe's own TURN server core (floe/turn_server.h) for the tests of TURN over a stream
 * (test_ice_stream, test_sip_ua_stream): realm floe.test, user alice / wonderland, and
 * relay sockets that are only counted (every allocation gets the one relayed address the
 * test names). The tests hand it whole messages on a TCP tuple and take its answers back,
 * as a runtime does with a connection. */
#ifndef FLOE_TESTS_TURN_CORE_RELAY_H
#define FLOE_TESTS_TURN_CORE_RELAY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "floe/err.h"
#include "floe/turn_server.h"

typedef struct turn_core {
    floe_turn_server *srv;
    floe_addr relayed;    /* what every allocation gets */
    unsigned relay_opens; /* relay sockets opened */
} turn_core;

static inline int turn_core_open(void *ctx, uint64_t handle, int family, bool even_port,
                                 bool dont_fragment, floe_addr *relayed, uint64_t *token) {
    (void)handle;
    (void)family;
    (void)even_port;
    (void)dont_fragment;
    turn_core *t = ctx;
    t->relay_opens++;
    *relayed = t->relayed;
    *token = t->relay_opens;
    return FLOE_OK;
}

static inline void turn_core_close(void *ctx, uint64_t token) {
    (void)ctx;
    (void)token;
}

static inline void turn_core_init(turn_core *t, const char *relayed) {
    static const floe_turn_user users[] = {{"alice", "wonderland"}};
    t->relay_opens = 0;
    assert_int_equal(floe_addr_parse(relayed, &t->relayed), FLOE_OK);
    floe_turn_server_config sc;
    floe_turn_server_config_default(&sc);
    sc.realm = "floe.test";
    sc.users = users;
    sc.n_users = 1;
    for (int i = 0; i < 32; i++)
        sc.nonce_key[i] = (uint8_t)(i + 1);
    sc.relay_open = turn_core_open;
    sc.relay_close = turn_core_close;
    sc.ctx = t;
    assert_int_equal(floe_turn_server_new(&t->srv, &sc), FLOE_OK);
    floe_turn_server_set_time(t->srv, FLOE_S(1), 1800000000u);
}

static inline void turn_core_free(turn_core *t) {
    floe_turn_server_free(t->srv);
    t->srv = NULL;
}

#endif
