/* The STUN server core: each input lands in exactly one counter, responses carry the
 * right attributes, and RFC 5780 works only when enabled. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_server.h"

static const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static size_t binding(uint8_t *buf, size_t cap, uint16_t method, floe_stun_class cls,
                      uint32_t change, bool fingerprint) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, method, cls, tid);
    if (change != UINT32_MAX) floe_stun_add_u32(&b, FLOE_STUN_ATTR_CHANGE_REQUEST, change);
    if (fingerprint) floe_stun_add_fingerprint(&b);
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    return n;
}

static uint64_t sum_outcomes(const floe_stun_server *s) {
    uint64_t t = 0;
    for (int i = 1; i < FLOE_SRV_COUNTER_COUNT; i++)
        t += s->counters[i];
    return t;
}

static void handle(floe_stun_server *s, const uint8_t *p, size_t n, const floe_addr *src,
                   const floe_addr *local, floe_transport tr, floe_stun_msg *resp, uint8_t *out,
                   floe_stun_server_reply *r) {
    assert_int_equal(floe_stun_server_handle(s, p, n, src, local, tr, out, 512, r), FLOE_OK);
    if (r->len)
        assert_int_equal(floe_stun_msg_decode(out, r->len, FLOE_STUN_DECODE_CLASSIC, resp),
                         FLOE_OK);
    assert_int_equal(s->counters[FLOE_SRV_RX], sum_outcomes(s));
}

static void test_binding_v4_v6(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);
    const char *srcs[] = {"198.51.100.7:40000", "[2001:db8::5]:1234"};
    const char *locals[] = {"127.0.0.1:3478", "[::1]:3478"};
    for (int i = 0; i < 2; i++) {
        uint8_t req[64], out[512];
        size_t n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, UINT32_MAX, true);
        floe_addr src = addr(srcs[i]), local = addr(locals[i]), mapped;
        floe_stun_msg m;
        floe_stun_server_reply r;
        handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
        assert_int_equal(r.counter, FLOE_SRV_BINDING_OK);
        assert_true(floe_addr_equal(&r.to, &src));
        assert_int_equal(r.from, 0);
        assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
        assert_memory_equal(m.tid, tid, 12);
        assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped),
                         FLOE_OK);
        assert_true(floe_addr_equal(&mapped, &src));
        assert_true(m.fp >= 0);
        /* No SOFTWARE and no RFC 5780 attributes by default. */
        assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_SOFTWARE));
        assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_OTHER_ADDRESS));
    }
    assert_int_equal(s.counters[FLOE_SRV_BINDING_OK], 2);
}

static void test_software_and_reason(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    c.software = "floe test";
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);
    uint8_t req[64], out[512];
    size_t n = binding(req, sizeof req, FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST, UINT32_MAX, false);
    floe_addr src = addr("192.0.2.1:1"), local = addr("192.0.2.2:3478");
    floe_stun_msg m;
    floe_stun_server_reply r;
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_ERROR_400);
    int code = 0;
    const char *reason;
    size_t rlen;
    assert_int_equal(floe_stun_msg_get_error(&m, &code, &reason, &rlen), FLOE_OK);
    assert_int_equal(code, 400);
    assert_int_equal(rlen, strlen("Bad Request"));
    const char *sw;
    size_t swlen;
    assert_int_equal(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_SOFTWARE, &sw, &swlen), FLOE_OK);
    assert_int_equal(swlen, 9);
}

static void test_unknown_and_change_request_without_5780(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);
    uint8_t req[64], out[512];
    floe_addr src = addr("192.0.2.1:1"), local = addr("192.0.2.2:3478");
    floe_stun_msg m;
    floe_stun_server_reply r;
    /* CHANGE-REQUEST while behaviour discovery is off: 420 naming it (RFC 5780 §6.1). */
    size_t n =
        binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, FLOE_STUN_CHANGE_IP, true);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_ERROR_420);
    uint16_t types[4];
    size_t nt = 0;
    assert_int_equal(floe_stun_msg_get_unknown(&m, types, 4, &nt), FLOE_OK);
    assert_int_equal(nt, 1);
    assert_int_equal(types[0], FLOE_STUN_ATTR_CHANGE_REQUEST);
    /* An unknown comprehension-required attribute: 420 naming it, no reason phrase. */
    floe_stun_builder b;
    floe_stun_builder_init(&b, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_u32(&b, 0x7777, 1);
    floe_stun_add_u32(&b, 0xC001, 1); /* comprehension-optional: ignored */
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_ERROR_420);
    assert_int_equal(floe_stun_msg_get_unknown(&m, types, 4, &nt), FLOE_OK);
    assert_int_equal(nt, 1);
    assert_int_equal(types[0], 0x7777);
    int code;
    const char *reason;
    size_t rlen = 99;
    assert_int_equal(floe_stun_msg_get_error(&m, &code, &reason, &rlen), FLOE_OK);
    assert_int_equal(code, 420);
    assert_int_equal(rlen, 0);
}

static void test_drops(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    c.classic = false;
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);
    floe_addr src = addr("192.0.2.1:1"), local = addr("192.0.2.2:3478");
    uint8_t req[64], out[512];
    floe_stun_msg m;
    floe_stun_server_reply r;
    size_t n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, UINT32_MAX, true);

    const size_t short_lens[] = {0, 1, 10, 19};
    for (size_t i = 0; i < sizeof short_lens / sizeof short_lens[0]; i++) {
        handle(&s, req, short_lens[i], &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
        assert_int_equal(r.counter, FLOE_SRV_DROP_TRUNCATED);
        assert_int_equal(r.len, 0);
    }
    handle(&s, req, n - 4, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r); /* length past end */
    assert_int_equal(r.counter, FLOE_SRV_DROP_TRUNCATED);
    uint8_t bad[64];
    memcpy(bad, req, n);
    bad[0] |= 0x80; /* top bits */
    handle(&s, bad, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_NOT_STUN);
    memcpy(bad, req, n);
    bad[n - 1] ^= 1; /* FINGERPRINT */
    handle(&s, bad, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_FINGERPRINT);
    memcpy(bad, req, n);
    bad[4] ^= 0xff;           /* magic cookie gone: classic, which this server drops */
    floe_put_u16(bad + 2, 0); /* (a classic message has no FINGERPRINT) */
    handle(&s, bad, 20, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_CLASSIC);
    memcpy(bad, req, n);
    bad[n] = 0; /* trailing byte after the message in one datagram */
    handle(&s, bad, n + 4, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_MALFORMED);
    /* ... which over a stream is the next message's first bytes: the framer's business. */
    n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_INDICATION, UINT32_MAX, false);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_NOT_REQUEST);
    n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, UINT32_MAX, false);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_DROP_NOT_REQUEST);
    /* A response that does not fit the caller's buffer is dropped and counted. */
    n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, UINT32_MAX, false);
    assert_int_equal(
        floe_stun_server_handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, out, 24, &r),
        FLOE_OK);
    assert_int_equal(r.counter, FLOE_SRV_DROP_NO_SPACE);
    assert_int_equal(r.len, 0);
    assert_int_equal(s.counters[FLOE_SRV_RX], sum_outcomes(&s));
}

static void test_classic(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);
    uint8_t req[64], out[512];
    const uint8_t ctid[16] = {9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    floe_stun_builder b;
    floe_stun_builder_init_classic(&b, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, ctid);
    size_t n;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    floe_addr src = addr("203.0.113.9:5000"), local = addr("192.0.2.2:3478"), got;
    floe_stun_msg m;
    floe_stun_server_reply r;
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_CLASSIC_OK);
    assert_true(m.classic);
    assert_memory_equal(m.tid, ctid, 16);
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_MAPPED_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, &src));
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_SOURCE_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, &local));
    assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS));
    assert_int_equal(m.fp, -1); /* RFC 3489 has no FINGERPRINT */
}

static void test_rfc5780(void **state) {
    (void)state;
    floe_stun_server s;
    floe_stun_server_config c;
    floe_stun_server_config_default(&c);
    c.rfc5780 = true;
    c.primary = addr("192.0.2.1:3478");
    c.alternate = addr("192.0.2.1:3479");
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_ERR_CONFIG); /* same IP */
    c.alternate = addr("192.0.2.2:3478");
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_ERR_CONFIG); /* same port */
    c.alternate = addr("[2001:db8::2]:3479");
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_ERR_CONFIG); /* other family */
    c.alternate = addr("192.0.2.2:3479");
    assert_int_equal(floe_stun_server_init(&s, &c), FLOE_OK);

    floe_addr src = addr("198.51.100.1:7000");
    const struct {
        const char *local;
        uint32_t change;
        const char *origin, *other;
    } cases[] = {
        {"192.0.2.1:3478", 0, "192.0.2.1:3478", "192.0.2.2:3479"},
        {"192.0.2.1:3478", FLOE_STUN_CHANGE_PORT, "192.0.2.1:3479", "192.0.2.2:3479"},
        {"192.0.2.1:3478", FLOE_STUN_CHANGE_IP, "192.0.2.2:3478", "192.0.2.2:3479"},
        {"192.0.2.1:3478", FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT, "192.0.2.2:3479",
         "192.0.2.2:3479"},
        {"192.0.2.2:3479", 0, "192.0.2.2:3479", "192.0.2.1:3478"},
        {"192.0.2.2:3478", FLOE_STUN_CHANGE_PORT, "192.0.2.2:3479", "192.0.2.1:3479"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t req[64], out[512];
        size_t n =
            binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, cases[i].change, true);
        floe_addr local = addr(cases[i].local), got, want;
        floe_stun_msg m;
        floe_stun_server_reply r;
        handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
        assert_int_equal(r.counter, FLOE_SRV_BINDING_OK);
        assert_int_equal(r.from, cases[i].change);
        floe_addr from = floe_stun_server_source_for(&s, &local, r.from);
        want = addr(cases[i].origin);
        assert_true(floe_addr_equal(&from, &want));
        assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_RESPONSE_ORIGIN, &got), FLOE_OK);
        assert_true(floe_addr_equal(&got, &want));
        want = addr(cases[i].other);
        assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_OTHER_ADDRESS, &got), FLOE_OK);
        assert_true(floe_addr_equal(&got, &want));
    }
    /* RESPONSE-PORT: the answer goes to the same IP at the asked port; 0 is refused. */
    uint8_t req[64], out[512];
    floe_stun_builder b;
    floe_stun_builder_init(&b, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_RESPONSE_PORT, 9999u << 16);
    size_t n;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    floe_addr local = addr("192.0.2.1:3478");
    floe_stun_msg m;
    floe_stun_server_reply r;
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_BINDING_OK);
    assert_int_equal(r.to.port, 9999);
    assert_true(floe_addr_ip_equal(&r.to, &src));
    floe_put_u32(req + 24, 0);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_UDP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_ERROR_400);
    /* Over TCP there is no second path: CHANGE-REQUEST is not understood there. */
    n = binding(req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, FLOE_STUN_CHANGE_IP, true);
    handle(&s, req, n, &src, &local, FLOE_TRANSPORT_TCP, &m, out, &r);
    assert_int_equal(r.counter, FLOE_SRV_ERROR_420);
}

static void test_counter_names(void **state) {
    (void)state;
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++) {
        assert_non_null(floe_stun_server_counter_name(i));
        assert_string_not_equal(floe_stun_server_counter_name(i), "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(floe_stun_server_counter_name(i),
                                    floe_stun_server_counter_name(j));
    }
    assert_false(floe_stun_server_counter_is_drop(FLOE_SRV_BINDING_OK));
    assert_true(floe_stun_server_counter_is_drop(FLOE_SRV_DROP_OVERSIZE));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding_v4_v6),
        cmocka_unit_test(test_software_and_reason),
        cmocka_unit_test(test_unknown_and_change_request_without_5780),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_classic),
        cmocka_unit_test(test_rfc5780),
        cmocka_unit_test(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
