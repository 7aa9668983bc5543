/* Unit tests for the STUN codec (include/floe/stun.h, include/floe/stun_auth.h):
 * round trips of every attribute kind through the builder and the decoder, each
 * decoder rejection with its specific error, the integrity rules (attributes after
 * MESSAGE-INTEGRITY, MI-SHA256 truncation), the builder's limits, message type
 * packing, stream framing, and the credential helpers (SASLprep, USERHASH, nonce
 * cookie). The published test vectors are in test_stun_vectors.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"

static const uint8_t tid[FLOE_STUN_TID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t key[] = "a key";
#define KEY_LEN (sizeof key - 1)

/* ---- helpers -------------------------------------------------------------------- */

static void start(floe_stun_builder *b, uint8_t *buf, size_t cap) {
    assert_int_equal(floe_stun_builder_init(b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid),
                     FLOE_OK);
}

static size_t finish(floe_stun_builder *b) {
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(b, &len), FLOE_OK);
    assert_int_equal(len % 4, 0);
    assert_int_equal(floe_get_u16(b->w.p + 2), len - FLOE_STUN_HEADER_LEN);
    return len;
}

static void decode_ok(const uint8_t *buf, size_t len, floe_stun_msg *m) {
    assert_int_equal(floe_stun_msg_decode(buf, len, 0, m), FLOE_OK);
    assert_int_equal(m->raw_len, len);
}

/* A message made of one attribute with a raw value (through floe_stun_add, which does
 * not validate), decoded; returns the decode result. */
static int decode_one(uint16_t type, const void *val, size_t len) {
    uint8_t buf[1024];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, type, val, len);
    size_t n = finish(&b);
    floe_stun_msg m;
    return floe_stun_msg_decode(buf, n, 0, &m);
}

/* A raw message: header (type 0x0001, the given body length, cookie, tid) + body. */
static size_t raw_msg(uint8_t *out, const uint8_t *body, size_t body_len) {
    floe_put_u16(out, 0x0001);
    floe_put_u16(out + 2, (uint16_t)body_len);
    floe_put_u32(out + 4, FLOE_STUN_MAGIC_COOKIE);
    memcpy(out + 8, tid, sizeof tid);
    if (body_len) memcpy(out + 20, body, body_len);
    return 20 + body_len;
}

static floe_addr v4(uint32_t ip, uint16_t port) {
    floe_addr a;
    floe_addr_set_v4(&a, ip, port);
    return a;
}

static floe_addr v6(const char *hex32, uint16_t port) {
    uint8_t ip[16];
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex32[2 * i + k];
            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        ip[i] = (uint8_t)v;
    }
    floe_addr a;
    floe_addr_set_v6(&a, ip, port);
    return a;
}

/* ---- round trips ---------------------------------------------------------------- */

static const uint16_t plain_addr_types[] = {
    FLOE_STUN_ATTR_MAPPED_ADDRESS,  FLOE_STUN_ATTR_RESPONSE_ADDRESS,
    FLOE_STUN_ATTR_SOURCE_ADDRESS,  FLOE_STUN_ATTR_CHANGED_ADDRESS,
    FLOE_STUN_ATTR_REFLECTED_FROM,  FLOE_STUN_ATTR_ALTERNATE_SERVER,
    FLOE_STUN_ATTR_RESPONSE_ORIGIN, FLOE_STUN_ATTR_OTHER_ADDRESS,
};
static const uint16_t xor_addr_types[] = {FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                          FLOE_STUN_ATTR_XOR_PEER_ADDRESS,
                                          FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS};

static void test_addr_round_trip(void **state) {
    (void)state;
    floe_addr addrs[] = {
        v4(0xc0000201u, 32853),
        v4(0, 0),
        v4(0xffffffffu, 65535),
        v4(0x7f000001u, 1),
        v6("20010db8123456780011223344556677", 32853),
        v6("00000000000000000000000000000000", 0),
        v6("00000000000000000000000000000001", 3478),
        v6("ffffffffffffffffffffffffffffffff", 65535),
        v6("00000000000000000000ffffc0000209", 9),
    };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        uint8_t buf[512];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        for (size_t k = 0; k < 8; k++)
            floe_stun_add_addr(&b, plain_addr_types[k], &addrs[i]);
        for (size_t k = 0; k < 3; k++)
            floe_stun_add_xor_addr(&b, xor_addr_types[k], &addrs[i]);
        size_t len = finish(&b);
        size_t ip_len = floe_addr_ip_len(&addrs[i]);
        assert_int_equal(len, 20 + 11 * (4 + 4 + ip_len));
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        assert_int_equal(m.n_attrs, 11);
        for (size_t k = 0; k < 11; k++) {
            const floe_stun_attr *a = &m.attrs[k];
            assert_int_equal(a->len, 4 + ip_len);
            assert_int_equal(a->val[0], 0);
            assert_int_equal(a->val[1], ip_len == 4 ? 0x01 : 0x02);
            floe_addr got;
            assert_int_equal(floe_stun_msg_get_addr(&m, a->type, &got), FLOE_OK);
            assert_true(floe_addr_equal(&got, &addrs[i]));
            assert_int_equal(floe_stun_attr_addr(&m, a, &got), FLOE_OK);
            assert_true(floe_addr_equal(&got, &addrs[i]));
            /* the wire form: plain, or XOR'd with the cookie (and the tid for IPv6) */
            uint8_t pad[16];
            floe_put_u32(pad, FLOE_STUN_MAGIC_COOKIE);
            memcpy(pad + 4, tid, sizeof tid);
            bool x = k >= 8;
            assert_int_equal(floe_get_u16(a->val + 2), addrs[i].port ^ (x ? 0x2112 : 0));
            for (size_t j = 0; j < ip_len; j++)
                assert_int_equal(a->val[4 + j], addrs[i].ip[j] ^ (x ? pad[j] : 0));
        }
    }
    /* an address without a family cannot be encoded */
    uint8_t buf[64];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_addr none;
    memset(&none, 0, sizeof none);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &none);
    size_t len;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    /* attr_addr on a non-address attribute */
    start(&b, buf, sizeof buf);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1);
    len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    floe_addr got;
    assert_int_equal(floe_stun_attr_addr(&m, &m.attrs[0], &got), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_MAPPED_ADDRESS, &got),
                     FLOE_ERR_NOT_FOUND);
}

static void test_int_round_trip(void **state) {
    (void)state;
    static const uint16_t u32_types[] = {
        FLOE_STUN_ATTR_CHANGE_REQUEST,
        FLOE_STUN_ATTR_CHANNEL_NUMBER,
        FLOE_STUN_ATTR_LIFETIME,
        FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
        FLOE_STUN_ATTR_REQUESTED_TRANSPORT,
        FLOE_STUN_ATTR_PRIORITY,
        FLOE_STUN_ATTR_RESPONSE_PORT,
        FLOE_STUN_ATTR_CONNECTION_ID,
        FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
        FLOE_STUN_ATTR_CACHE_TIMEOUT,
    };
    static const uint16_t u64_types[] = {FLOE_STUN_ATTR_ICE_CONTROLLED,
                                         FLOE_STUN_ATTR_ICE_CONTROLLING,
                                         FLOE_STUN_ATTR_RESERVATION_TOKEN, FLOE_STUN_ATTR_ICMP};
    static const uint64_t values[] = {
        0, 1, 0x7fffffff, 0x80000000u, 0xffffffffu, UINT64_C(0x0123456789abcdef), UINT64_MAX};
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        uint8_t buf[512];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        for (size_t k = 0; k < 10; k++)
            floe_stun_add_u32(&b, u32_types[k], (uint32_t)values[v]);
        for (size_t k = 0; k < 4; k++)
            floe_stun_add_u64(&b, u64_types[k], values[v]);
        size_t len = finish(&b);
        assert_int_equal(len, 20 + 10 * 8 + 4 * 12);
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        assert_int_equal(m.n_attrs, 14);
        for (size_t k = 0; k < 10; k++) {
            uint32_t got = 0;
            assert_int_equal(floe_stun_msg_get_u32(&m, u32_types[k], &got), FLOE_OK);
            assert_int_equal(got, (uint32_t)values[v]);
            uint64_t wide;
            assert_int_equal(floe_stun_msg_get_u64(&m, u32_types[k], &wide), FLOE_ERR_MALFORMED);
        }
        for (size_t k = 0; k < 4; k++) {
            uint64_t got = 0;
            assert_int_equal(floe_stun_msg_get_u64(&m, u64_types[k], &got), FLOE_OK);
            assert_true(got == values[v]);
            uint32_t narrow;
            assert_int_equal(floe_stun_msg_get_u32(&m, u64_types[k], &narrow), FLOE_ERR_MALFORMED);
        }
        uint32_t x;
        uint64_t y;
        assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_FINGERPRINT, &x),
                         FLOE_ERR_NOT_FOUND);
        assert_int_equal(floe_stun_msg_get_u64(&m, FLOE_STUN_ATTR_USERNAME, &y),
                         FLOE_ERR_NOT_FOUND);
    }
}

static void test_string_round_trip(void **state) {
    (void)state;
    static const uint16_t types[] = {FLOE_STUN_ATTR_USERNAME,
                                     FLOE_STUN_ATTR_REALM,
                                     FLOE_STUN_ATTR_NONCE,
                                     FLOE_STUN_ATTR_SOFTWARE,
                                     FLOE_STUN_ATTR_ALTERNATE_DOMAIN,
                                     FLOE_STUN_ATTR_PASSWORD,
                                     FLOE_STUN_ATTR_DATA,
                                     FLOE_STUN_ATTR_PADDING};
    static const char text[] = "abcdefghi\xc3\xa9\xe2\x82\xac";
    /* every length 0..strlen(text), so every padding amount */
    for (size_t n = 0; n <= strlen(text); n++) {
        char s[32];
        memcpy(s, text, n);
        s[n] = '\0';
        uint8_t buf[512];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        for (size_t k = 0; k < 8; k++)
            floe_stun_add_string(&b, types[k], s);
        size_t len = finish(&b);
        size_t padded = (n + 3) & ~(size_t)3;
        assert_int_equal(len, 20 + 8 * (4 + padded));
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        assert_int_equal(m.n_attrs, 8);
        for (size_t k = 0; k < 8; k++) {
            const char *got = NULL;
            size_t got_len = 99;
            assert_int_equal(floe_stun_msg_get_string(&m, types[k], &got, &got_len), FLOE_OK);
            assert_int_equal(got_len, n);
            assert_memory_equal(got, s, n);
            /* padding is zeros */
            for (size_t p = n; p < padded; p++)
                assert_int_equal(m.attrs[k].val[p], 0);
        }
    }
    /* a 512-byte USERNAME ("less than 513 bytes", RFC 5389 §15.3) is accepted */
    static char user[512];
    memset(user, 'u', sizeof user);
    assert_int_equal(decode_one(FLOE_STUN_ATTR_USERNAME, user, sizeof user), FLOE_OK);
    const char *s;
    size_t n;
    uint8_t buf[64];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_get_string(&m, FLOE_STUN_ATTR_REALM, &s, &n),
                     FLOE_ERR_NOT_FOUND);
}

static void test_error_code_round_trip(void **state) {
    (void)state;
    static const int codes[] = {300, 399, 400, 401, 403, 405, 420, 437, 438, 440, 441,
                                442, 443, 446, 447, 486, 487, 500, 508, 600, 699};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        for (int r = 0; r < 3; r++) {
            const char *reason = r == 0 ? NULL : r == 1 ? "" : "Custom reason \xe2\x9c\x93";
            const char *want = r == 0 ? floe_stun_error_reason(codes[i]) : reason;
            uint8_t buf[256];
            floe_stun_builder b;
            assert_int_equal(floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_ALLOCATE,
                                                    FLOE_STUN_ERROR, tid),
                             FLOE_OK);
            floe_stun_add_error(&b, codes[i], reason);
            size_t len = finish(&b);
            floe_stun_msg m;
            decode_ok(buf, len, &m);
            assert_int_equal(m.cls, FLOE_STUN_ERROR);
            assert_int_equal(m.method, FLOE_STUN_ALLOCATE);
            int code = 0;
            const char *got = NULL;
            size_t got_len = 0;
            assert_int_equal(floe_stun_msg_get_error(&m, &code, &got, &got_len), FLOE_OK);
            assert_int_equal(code, codes[i]);
            assert_int_equal(got_len, strlen(want));
            assert_memory_equal(got, want, got_len);
            /* wire form: class in byte 2, number in byte 3 */
            assert_int_equal(m.attrs[0].val[2], codes[i] / 100);
            assert_int_equal(m.attrs[0].val[3], codes[i] % 100);
            /* reason pointers are optional */
            assert_int_equal(floe_stun_msg_get_error(&m, &code, NULL, NULL), FLOE_OK);
        }
    }
    /* the standard phrases */
    assert_string_equal(floe_stun_error_reason(401), "Unauthorized");
    assert_string_equal(floe_stun_error_reason(438), "Stale Nonce");
    assert_string_equal(floe_stun_error_reason(487), "Role Conflict");
    assert_string_equal(floe_stun_error_reason(299), "");
    /* codes out of 300..699 are refused by the builder */
    static const int bad[] = {0, 200, 299, 700, 1000, -400};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[64];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        floe_stun_add_error(&b, bad[i], "x");
        size_t len;
        assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    }
    /* a long reason is cut to the RFC's limit */
    static char longr[1000];
    memset(longr, 'r', sizeof longr - 1);
    uint8_t buf[1200];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add_error(&b, 400, longr);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    int code;
    const char *r;
    size_t rl;
    assert_int_equal(floe_stun_msg_get_error(&m, &code, &r, &rl), FLOE_OK);
    assert_int_equal(rl, FLOE_STUN_MAX_REASON);
    start(&b, buf, sizeof buf);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_get_error(&m, &code, &r, &rl), FLOE_ERR_NOT_FOUND);
}

static void test_unknown_attributes_round_trip(void **state) {
    (void)state;
    static const uint16_t types[] = {0x0031, 0x7fff, 0x0000, 0x1234, 0x0042};
    for (size_t n = 0; n <= 5; n++) {
        uint8_t buf[128];
        floe_stun_builder b;
        assert_int_equal(
            floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_ERROR, tid),
            FLOE_OK);
        floe_stun_add_error(&b, 420, NULL);
        floe_stun_add_unknown(&b, types, n);
        size_t len = finish(&b);
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        assert_int_equal(m.attrs[1].len, 2 * n);
        uint16_t got[8];
        size_t got_n = 99;
        assert_int_equal(floe_stun_msg_get_unknown(&m, got, 8, &got_n), FLOE_OK);
        assert_int_equal(got_n, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], types[i]);
        /* max limits what is copied */
        if (n >= 2) {
            assert_int_equal(floe_stun_msg_get_unknown(&m, got, 2, &got_n), FLOE_OK);
            assert_int_equal(got_n, 2);
        }
    }
    uint8_t buf[64];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    uint16_t got[2];
    size_t got_n;
    assert_int_equal(floe_stun_msg_get_unknown(&m, got, 2, &got_n), FLOE_ERR_NOT_FOUND);
}

static void test_password_algorithms_round_trip(void **state) {
    (void)state;
    static const uint16_t algs[] = {FLOE_STUN_PWALG_MD5, FLOE_STUN_PWALG_SHA256, 0x1234};
    for (size_t n = 1; n <= 3; n++) {
        uint8_t buf[128];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        floe_stun_add_password_algorithms(&b, algs, n);
        floe_stun_add_password_algorithm(&b, algs[n - 1]);
        size_t len = finish(&b);
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        floe_stun_pwalg got[4];
        size_t got_n = 0;
        assert_int_equal(floe_stun_msg_get_password_algorithms(&m, got, 4, &got_n), FLOE_OK);
        assert_int_equal(got_n, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(got[i].alg, algs[i]);
            assert_int_equal(got[i].params_len, 0);
        }
        floe_stun_pwalg one;
        assert_int_equal(floe_stun_msg_get_password_algorithm(&m, &one), FLOE_OK);
        assert_int_equal(one.alg, algs[n - 1]);
        assert_int_equal(one.params_len, 0);
    }
    /* entries with parameters (each padded to 4 inside the list) */
    static const uint8_t list[] = {0x00, 0x09, 0x00, 0x03, 'x', 'y', 'z', 0x00, /* 9, "xyz" */
                                   0x00, 0x02, 0x00, 0x00,                      /* SHA-256 */
                                   0x00, 0x07, 0x00, 0x04, 1,   2,   3,   4};   /* 7, 4 bytes */
    uint8_t buf[128];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, list, sizeof list);
    static const uint8_t single[] = {0x00, 0x09, 0x00, 0x02, 'p', 'q'};
    floe_stun_add(&b, FLOE_STUN_ATTR_PASSWORD_ALGORITHM, single, sizeof single);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    floe_stun_pwalg got[4];
    size_t got_n = 0;
    assert_int_equal(floe_stun_msg_get_password_algorithms(&m, got, 4, &got_n), FLOE_OK);
    assert_int_equal(got_n, 3);
    assert_int_equal(got[0].alg, 9);
    assert_int_equal(got[0].params_len, 3);
    assert_memory_equal(got[0].params, "xyz", 3);
    assert_int_equal(got[1].alg, 2);
    assert_int_equal(got[2].alg, 7);
    assert_int_equal(got[2].params_len, 4);
    assert_int_equal(got[2].params[3], 4);
    assert_int_equal(floe_stun_msg_get_password_algorithms(&m, got, 1, &got_n), FLOE_OK);
    assert_int_equal(got_n, 1);
    floe_stun_pwalg one;
    assert_int_equal(floe_stun_msg_get_password_algorithm(&m, &one), FLOE_OK);
    assert_int_equal(one.alg, 9);
    assert_int_equal(one.params_len, 2);
    assert_memory_equal(one.params, "pq", 2);

    /* too many algorithms for the builder */
    uint16_t many[17];
    for (size_t i = 0; i < 17; i++)
        many[i] = (uint16_t)i;
    start(&b, buf, sizeof buf);
    floe_stun_add_password_algorithms(&b, many, 17);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    /* absent */
    start(&b, buf, sizeof buf);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_get_password_algorithms(&m, got, 4, &got_n), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_stun_msg_get_password_algorithm(&m, &one), FLOE_ERR_NOT_FOUND);
}

static void test_empty_and_odd_attributes(void **state) {
    (void)state;
    uint8_t buf[128];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    floe_stun_add(&b, FLOE_STUN_ATTR_DONT_FRAGMENT, NULL, 0);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, NULL, 0);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "");
    uint8_t even = 0x80;
    floe_stun_add(&b, FLOE_STUN_ATTR_EVEN_PORT, &even, 1);
    static const uint8_t data[] = {0, 1, 2, 0xff, 0xfe};
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, sizeof data);
    floe_stun_add(&b, 0x8fff, data, 3); /* unknown, optional */
    size_t len = finish(&b);
    assert_int_equal(len, 20 + 4 * 4 + 8 + 12 + 8);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 7);
    assert_int_equal(m.n_unknown, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(m.attrs[i].len, 0);
    assert_int_equal(m.attrs[4].len, 1);
    assert_int_equal(m.attrs[4].val[0], 0x80);
    assert_int_equal(m.attrs[5].len, 5);
    assert_memory_equal(m.attrs[5].val, data, 5);
    assert_int_equal(m.attrs[6].type, 0x8fff);
    assert_int_equal(m.attrs[6].len, 3);
    /* only the first attribute of a type counts for the typed readers */
    const floe_stun_attr *a = floe_stun_msg_find(&m, FLOE_STUN_ATTR_DATA);
    assert_ptr_equal(a, &m.attrs[2]);
    assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_REALM));
}

/* ---- decode rejections ---------------------------------------------------------- */

static void test_reject_header(void **state) {
    (void)state;
    uint8_t buf[64];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 7);
    size_t len = finish(&b);
    floe_stun_msg m;
    uint8_t c[64];

    /* short header */
    assert_int_equal(floe_stun_msg_decode(buf, 0, 0, &m), FLOE_ERR_TRUNCATED);
    for (size_t n = 1; n < 20; n++)
        assert_int_equal(floe_stun_msg_decode(buf, n, 0, &m), FLOE_ERR_TRUNCATED);
    memcpy(c, buf, len);
    c[0] = 0xc0;
    assert_int_equal(floe_stun_msg_decode(c, 10, 0, &m), FLOE_ERR_NOT_STUN);

    /* top two bits of the type */
    for (unsigned bits = 1; bits < 4; bits++) {
        memcpy(c, buf, len);
        c[0] |= (uint8_t)(bits << 6);
        assert_int_equal(floe_stun_msg_decode(c, len, 0, &m), FLOE_ERR_NOT_STUN);
        assert_int_equal(floe_stun_msg_decode(c, len, FLOE_STUN_DECODE_CLASSIC, &m),
                         FLOE_ERR_NOT_STUN);
    }

    /* length not a multiple of 4 */
    for (unsigned d = 1; d < 4; d++) {
        memcpy(c, buf, len);
        floe_put_u16(c + 2, (uint16_t)(len - 20 - d));
        assert_int_equal(floe_stun_msg_decode(c, len, 0, &m), FLOE_ERR_MALFORMED);
    }

    /* length past the end */
    memcpy(c, buf, len);
    floe_put_u16(c + 2, (uint16_t)(len - 20 + 4));
    assert_int_equal(floe_stun_msg_decode(c, len, 0, &m), FLOE_ERR_TRUNCATED);
    assert_int_equal(floe_stun_msg_decode(buf, len - 4, 0, &m), FLOE_ERR_TRUNCATED);
    /* bytes after the message are tolerated (stream framing) */
    memcpy(c, buf, len);
    memset(c + len, 0xaa, 8);
    assert_int_equal(floe_stun_msg_decode(c, len + 8, 0, &m), FLOE_OK);
    assert_int_equal(m.raw_len, len);

    /* header alone is a valid message */
    memcpy(c, buf, 20);
    floe_put_u16(c + 2, 0);
    assert_int_equal(floe_stun_msg_decode(c, 20, 0, &m), FLOE_OK);
    assert_int_equal(m.n_attrs, 0);
}

static void test_reject_cookie_and_classic(void **state) {
    (void)state;
    static const uint8_t ctid[FLOE_STUN_CLASSIC_TID_LEN] = {0xde, 0xad, 0xbe, 0xef, 5,  6,  7,  8,
                                                            9,    10,   11,   12,   13, 14, 15, 16};
    uint8_t buf[128];
    floe_stun_builder b;
    assert_int_equal(floe_stun_builder_init_classic(&b, buf, sizeof buf, FLOE_STUN_BINDING,
                                                    FLOE_STUN_SUCCESS, ctid),
                     FLOE_OK);
    assert_true(b.classic);
    floe_addr a = v4(0xc6336401u, 4242);
    floe_stun_add_addr(&b, FLOE_STUN_ATTR_MAPPED_ADDRESS, &a);
    floe_stun_add_addr(&b, FLOE_STUN_ATTR_SOURCE_ADDRESS, &a);
    floe_stun_add_addr(&b, FLOE_STUN_ATTR_CHANGED_ADDRESS, &a);
    size_t len = finish(&b);
    assert_memory_equal(buf + 4, ctid, 16);

    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_ERR_NOT_STUN);
    assert_int_equal(floe_stun_msg_decode(buf, len, FLOE_STUN_DECODE_CLASSIC, &m), FLOE_OK);
    assert_true(m.classic);
    assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
    assert_memory_equal(m.tid, ctid, FLOE_STUN_CLASSIC_TID_LEN);
    assert_int_equal(m.n_attrs, 3);
    floe_addr got;
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_CHANGED_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, &a));

    /* XOR-encoded addresses in a classic message decode to what was encoded */
    floe_addr x6;
    static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    floe_addr_set_v6(&x6, ip6, 5555);
    assert_int_equal(floe_stun_builder_init_classic(&b, buf, sizeof buf, FLOE_STUN_BINDING,
                                                    FLOE_STUN_SUCCESS, ctid),
                     FLOE_OK);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &x6);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &a);
    len = finish(&b);
    assert_int_equal(floe_stun_msg_decode(buf, len, FLOE_STUN_DECODE_CLASSIC, &m), FLOE_OK);
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, &x6));
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, &a));

    /* one wrong cookie byte: not STUN, or classic with the flag */
    start(&b, buf, sizeof buf);
    len = finish(&b);
    for (size_t i = 4; i < 8; i++) {
        uint8_t c[32];
        memcpy(c, buf, len);
        c[i] ^= 0x01;
        assert_int_equal(floe_stun_msg_decode(c, len, 0, &m), FLOE_ERR_NOT_STUN);
        assert_int_equal(floe_stun_msg_decode(c, len, FLOE_STUN_DECODE_CLASSIC, &m), FLOE_OK);
        assert_true(m.classic);
        assert_memory_equal(m.tid, c + 4, 16);
    }
    /* a modern message with the flag is still modern, tid 12 bytes then zeros */
    assert_int_equal(floe_stun_msg_decode(buf, len, FLOE_STUN_DECODE_CLASSIC, &m), FLOE_OK);
    assert_false(m.classic);
    assert_memory_equal(m.tid, tid, 12);
    static const uint8_t zeros[4] = {0};
    assert_memory_equal(m.tid + 12, zeros, 4);
}

static void test_reject_attribute_framing(void **state) {
    (void)state;
    uint8_t msg[128];
    floe_stun_msg m;
    /* attribute value running past the end of the message */
    static const uint8_t past[] = {0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'};
    size_t len = raw_msg(msg, past, sizeof past);
    assert_int_equal(floe_stun_msg_decode(msg, len, 0, &m), FLOE_ERR_MALFORMED);
    /* a value whose padding would run past the end */
    static const uint8_t nopad[] = {0x80, 0x22, 0x00, 0x05, 'a',  'b',  'c',  'd',
                                    'e',  0,    0,    0,    0x00, 0x24, 0x00, 0x00};
    len = raw_msg(msg, nopad, 12);
    floe_put_u16(msg + 2, 12);
    assert_int_equal(floe_stun_msg_decode(msg, len, 0, &m), FLOE_OK);
    len = raw_msg(msg, nopad, 8);
    assert_int_equal(floe_stun_msg_decode(msg, len, 0, &m), FLOE_ERR_MALFORMED);
    /* a lone attribute header, then nothing */
    static const uint8_t lone[] = {0x80, 0x22, 0x00, 0x04};
    len = raw_msg(msg, lone, sizeof lone);
    assert_int_equal(floe_stun_msg_decode(msg, len, 0, &m), FLOE_ERR_MALFORMED);
    /* the walk itself */
    floe_rd r = floe_rd_init(past, sizeof past);
    floe_stun_attr a;
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_ERR_TRUNCATED);
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_ERR_TRUNCATED); /* sticky */
    r = floe_rd_init(nopad, 12);
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_OK);
    assert_int_equal(a.type, FLOE_STUN_ATTR_SOFTWARE);
    assert_int_equal(a.len, 5);
    assert_ptr_equal(a.val, nopad + 4);
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_ERR_NOT_FOUND);
    r = floe_rd_init(nopad, 2);
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_ERR_TRUNCATED);
    r = floe_rd_init(nopad, 0);
    assert_int_equal(floe_stun_attr_next(&r, &a), FLOE_ERR_NOT_FOUND);
}

/* A known attribute with an impossible value: the whole message is malformed. */
typedef struct bad_attr {
    const char *what;
    uint16_t type;
    uint8_t val[24];
    uint16_t len; /* when > sizeof val, the value is that many 'x' bytes */
} bad_attr;

static const bad_attr bad_attrs[] = {
    {"XOR-MAPPED-ADDRESS len 7", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 1, 0, 1, 1, 2, 3}, 7},
    {"XOR-MAPPED-ADDRESS len 9", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 1, 0, 1, 1, 2, 3, 4, 5}, 9},
    {"XOR-MAPPED-ADDRESS family 3", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 3, 0, 1, 1, 2, 3, 4}, 8},
    {"XOR-MAPPED-ADDRESS family 0", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 0, 0, 1, 1, 2, 3, 4}, 8},
    {"XOR-MAPPED-ADDRESS v6 len 8", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 2, 0, 1, 1, 2, 3, 4}, 8},
    {"XOR-MAPPED-ADDRESS v4 len 20", FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, {0, 1}, 20},
    {"MAPPED-ADDRESS len 3", FLOE_STUN_ATTR_MAPPED_ADDRESS, {0, 1, 0}, 3},
    {"MAPPED-ADDRESS len 0", FLOE_STUN_ATTR_MAPPED_ADDRESS, {0}, 0},
    {"OTHER-ADDRESS family 2 len 16", FLOE_STUN_ATTR_OTHER_ADDRESS, {0, 2}, 16},
    {"MESSAGE-INTEGRITY len 19", FLOE_STUN_ATTR_MESSAGE_INTEGRITY, {0}, 19},
    {"MESSAGE-INTEGRITY len 21", FLOE_STUN_ATTR_MESSAGE_INTEGRITY, {0}, 21},
    {"MESSAGE-INTEGRITY len 0", FLOE_STUN_ATTR_MESSAGE_INTEGRITY, {0}, 0},
    {"MESSAGE-INTEGRITY-SHA256 len 12", FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, {0}, 12},
    {"MESSAGE-INTEGRITY-SHA256 len 18", FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, {0}, 18},
    {"MESSAGE-INTEGRITY-SHA256 len 36", FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, {0}, 36},
    {"REALM len 764", FLOE_STUN_ATTR_REALM, {0}, 764},
    {"NONCE len 764", FLOE_STUN_ATTR_NONCE, {0}, 764},
    {"SOFTWARE len 764", FLOE_STUN_ATTR_SOFTWARE, {0}, 764},
    {"ALTERNATE-DOMAIN len 256", FLOE_STUN_ATTR_ALTERNATE_DOMAIN, {0}, 256},
    {"FINGERPRINT len 5", FLOE_STUN_ATTR_FINGERPRINT, {0}, 5},
    {"FINGERPRINT len 0", FLOE_STUN_ATTR_FINGERPRINT, {0}, 0},
    {"PRIORITY len 3", FLOE_STUN_ATTR_PRIORITY, {0}, 3},
    {"PRIORITY len 8", FLOE_STUN_ATTR_PRIORITY, {0}, 8},
    {"LIFETIME len 2", FLOE_STUN_ATTR_LIFETIME, {0}, 2},
    {"CHANNEL-NUMBER len 0", FLOE_STUN_ATTR_CHANNEL_NUMBER, {0}, 0},
    {"REQUESTED-TRANSPORT len 1", FLOE_STUN_ATTR_REQUESTED_TRANSPORT, {17}, 1},
    {"ICE-CONTROLLED len 4", FLOE_STUN_ATTR_ICE_CONTROLLED, {0}, 4},
    {"ICE-CONTROLLING len 9", FLOE_STUN_ATTR_ICE_CONTROLLING, {0}, 9},
    {"RESERVATION-TOKEN len 7", FLOE_STUN_ATTR_RESERVATION_TOKEN, {0}, 7},
    {"EVEN-PORT len 2", FLOE_STUN_ATTR_EVEN_PORT, {0x80, 0}, 2},
    {"EVEN-PORT len 0", FLOE_STUN_ATTR_EVEN_PORT, {0}, 0},
    {"USE-CANDIDATE len 4", FLOE_STUN_ATTR_USE_CANDIDATE, {0}, 4},
    {"DONT-FRAGMENT len 1", FLOE_STUN_ATTR_DONT_FRAGMENT, {0}, 1},
    {"USERHASH len 31", FLOE_STUN_ATTR_USERHASH, {0}, 31},
    {"USERHASH len 0", FLOE_STUN_ATTR_USERHASH, {0}, 0},
    {"ERROR-CODE len 3", FLOE_STUN_ATTR_ERROR_CODE, {0, 0, 4}, 3},
    {"ERROR-CODE class 2", FLOE_STUN_ATTR_ERROR_CODE, {0, 0, 2, 0}, 4},
    {"ERROR-CODE class 7", FLOE_STUN_ATTR_ERROR_CODE, {0, 0, 7, 0}, 4},
    {"ERROR-CODE number 100", FLOE_STUN_ATTR_ERROR_CODE, {0, 0, 4, 100}, 4},
    {"ERROR-CODE reason 764", FLOE_STUN_ATTR_ERROR_CODE, {0, 0, 4, 0}, 4 + 764},
    {"ADDRESS-ERROR-CODE family 3", FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, {3, 0, 4, 40}, 4},
    {"ADDRESS-ERROR-CODE class 1", FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, {1, 0, 1, 40}, 4},
    {"UNKNOWN-ATTRIBUTES len 3", FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES, {0, 1, 0}, 3},
    {"PASSWORD-ALGORITHM len 2", FLOE_STUN_ATTR_PASSWORD_ALGORITHM, {0, 1}, 2},
    {"PASSWORD-ALGORITHM params past", FLOE_STUN_ATTR_PASSWORD_ALGORITHM, {0, 1, 0, 4, 1}, 5},
    {"PASSWORD-ALGORITHM params short", FLOE_STUN_ATTR_PASSWORD_ALGORITHM, {0, 1, 0, 0, 1}, 5},
    {"PASSWORD-ALGORITHMS empty", FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, {0}, 0},
    {"PASSWORD-ALGORITHMS len 2", FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, {0, 1}, 2},
    {"PASSWORD-ALGORITHMS params past",
     FLOE_STUN_ATTR_PASSWORD_ALGORITHMS,
     {0, 1, 0, 8, 1, 2, 3, 4},
     8},
    {"PASSWORD-ALGORITHMS unpadded", FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, {0, 1, 0, 1, 1}, 5},
};

static void test_reject_bad_attribute_values(void **state) {
    (void)state;
    static uint8_t big[1024];
    for (size_t i = 0; i < sizeof bad_attrs / sizeof bad_attrs[0]; i++) {
        const bad_attr *t = &bad_attrs[i];
        const uint8_t *val = t->val;
        if (t->len > sizeof t->val) {
            memset(big, 'x', sizeof big);
            memcpy(big, t->val, sizeof t->val);
            val = big;
        }
        int rc = decode_one(t->type, val, t->len);
        if (rc != FLOE_ERR_MALFORMED) fail_msg("%s: got %d, want MALFORMED", t->what, rc);
        /* the per-attribute check agrees */
        floe_stun_attr a = {t->type, t->len, val};
        if (floe_stun_attr_check(&a) != FLOE_ERR_MALFORMED) fail_msg("%s: attr_check", t->what);
    }
    /* USERNAME: longer than FLOE_STUN_MAX_USERNAME is refused. (RFC 8489 §14.3 asks
     * receivers to parse up to 763 bytes for RFC 5389 compatibility; the limit is tied
     * to the constant here so that changing it keeps this test right.) */
    static const size_t user_lens[] = {FLOE_STUN_MAX_USERNAME, FLOE_STUN_MAX_USERNAME + 1, 600, 763,
                                       764};
    for (size_t i = 0; i < sizeof user_lens / sizeof user_lens[0]; i++) {
        int want = user_lens[i] > FLOE_STUN_MAX_USERNAME ? FLOE_ERR_MALFORMED : FLOE_OK;
        assert_int_equal(decode_one(FLOE_STUN_ATTR_USERNAME, big, user_lens[i]), want);
    }
    assert_int_equal(decode_one(FLOE_STUN_ATTR_USERNAME, big, 600), FLOE_ERR_MALFORMED);

    /* and the same types with good values pass */
    static const uint8_t ok_ec[] = {0, 0, 4, 87, 'R', 'o', 'l', 'e'};
    assert_int_equal(decode_one(FLOE_STUN_ATTR_ERROR_CODE, ok_ec, sizeof ok_ec), FLOE_OK);
    static const uint8_t ok_aec[] = {2, 0, 4, 40};
    assert_int_equal(decode_one(FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, ok_aec, 4), FLOE_OK);
    static const uint8_t ok_pa[] = {0, 1, 0, 1, 9};
    assert_int_equal(decode_one(FLOE_STUN_ATTR_PASSWORD_ALGORITHM, ok_pa, 5), FLOE_OK);
    for (size_t n = 16; n <= 32; n += 4)
        assert_int_equal(decode_one(FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256, big, n), FLOE_OK);
    assert_int_equal(decode_one(FLOE_STUN_ATTR_ALTERNATE_DOMAIN, big, 255), FLOE_OK);
    assert_int_equal(decode_one(FLOE_STUN_ATTR_REALM, big, FLOE_STUN_MAX_REALM), FLOE_OK);
    /* unknown types accept any length */
    assert_int_equal(decode_one(0x7abc, big, 1), FLOE_OK);
    assert_int_equal(decode_one(0xfabc, big, 999), FLOE_OK);
    floe_stun_attr a = {0x7abc, 3, big};
    assert_int_equal(floe_stun_attr_check(&a), FLOE_OK);
}

static void test_reject_fingerprint(void **state) {
    (void)state;
    uint8_t buf[128];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "fp");
    floe_stun_add_fingerprint(&b);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(m.fp, 1);
    assert_int_equal(floe_get_u32(m.attrs[1].val), floe_stun_fingerprint(buf, len - 8));

    /* wrong fingerprint: flip a bit of the message type, the transaction ID, the
     * SOFTWARE value or the fingerprint value (flipping a length or an attribute type
     * changes the structure instead) */
    for (size_t i = 0; i < len; i++) {
        bool structural = (i >= 2 && i < 8) || (i >= 20 && i < 24) || (i >= len - 8 && i < len - 4);
        if (structural) continue;
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t c[128];
            memcpy(c, buf, len);
            c[i] ^= (uint8_t)(1u << bit);
            int rc = floe_stun_msg_decode(c, len, 0, &m);
            if (i == 0 && bit >= 6)
                assert_int_equal(rc, FLOE_ERR_NOT_STUN);
            else
                assert_int_equal(rc, FLOE_ERR_FINGERPRINT);
        }
    }

    /* FINGERPRINT not last */
    start(&b, buf, sizeof buf);
    floe_stun_add_fingerprint(&b);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "after");
    len = finish(&b);
    assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_ERR_MALFORMED);
    /* two fingerprints (the first one correct) */
    start(&b, buf, sizeof buf);
    floe_stun_add_fingerprint(&b);
    floe_stun_add_fingerprint(&b);
    len = finish(&b);
    assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_ERR_MALFORMED);
    /* FINGERPRINT then an attribute that would be ignored after MESSAGE-INTEGRITY */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_fingerprint(&b);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1);
    len = finish(&b);
    assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_ERR_MALFORMED);

    /* the CRC-32 itself: "123456789" has CRC-32 0xcbf43926 */
    assert_int_equal(floe_stun_fingerprint((const uint8_t *)"123456789", 9),
                     0xcbf43926u ^ FLOE_STUN_FINGERPRINT_XOR);
    assert_int_equal(floe_stun_fingerprint(NULL, 0), FLOE_STUN_FINGERPRINT_XOR);
}

static void test_reject_too_many_attributes(void **state) {
    (void)state;
    static uint8_t buf[1024];
    for (size_t n = FLOE_STUN_MAX_ATTRS - 1; n <= FLOE_STUN_MAX_ATTRS + 2; n++) {
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        for (size_t i = 0; i < n; i++)
            floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, (uint32_t)i);
        size_t len = finish(&b);
        floe_stun_msg m;
        int rc = floe_stun_msg_decode(buf, len, 0, &m);
        if (n <= FLOE_STUN_MAX_ATTRS) {
            assert_int_equal(rc, FLOE_OK);
            assert_int_equal(m.n_attrs, n);
        } else {
            assert_int_equal(rc, FLOE_ERR_LIMIT);
        }
    }
    /* attributes ignored after MESSAGE-INTEGRITY do not count toward the cap */
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    for (size_t i = 0; i < FLOE_STUN_MAX_ATTRS - 1; i++)
        floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    for (size_t i = 0; i < 10; i++)
        floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, FLOE_STUN_MAX_ATTRS);
    assert_int_equal(m.n_ignored, 10);
}

/* ---- integrity rules ------------------------------------------------------------ */

static void test_attributes_after_integrity(void **state) {
    (void)state;
    uint8_t buf[256];
    floe_stun_builder b;
    floe_stun_msg m;

    /* MI, then ordinary attributes: ignored and counted in n_ignored */
    start(&b, buf, sizeof buf);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, "user");
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "sneaky");
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 99);
    floe_stun_add(&b, 0x7777, "x", 1); /* unknown required: ignored too */
    floe_stun_add(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, "1234567", 7); /* bad but ignored */
    size_t len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 2);
    assert_int_equal(m.mi, 1);
    assert_int_equal(m.n_ignored, 4);
    assert_int_equal(m.n_unknown, 0);
    assert_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_SOFTWARE));
    uint32_t prio;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_PRIORITY, &prio), FLOE_ERR_NOT_FOUND);
    /* the integrity still checks: it covers what precedes it */
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);

    /* MI, then MI-SHA256, then FINGERPRINT: all three count */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_integrity_sha256(&b, key, KEY_LEN, 32);
    floe_stun_add_fingerprint(&b);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 3);
    assert_int_equal(m.mi, 0);
    assert_int_equal(m.mi256, 1);
    assert_int_equal(m.fp, 2);
    assert_int_equal(m.n_ignored, 0);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);

    /* MI-SHA256, then MI and others: only FINGERPRINT counts after MI-SHA256 */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity_sha256(&b, key, KEY_LEN, 16);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_integrity_sha256(&b, key, KEY_LEN, 32);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, "r");
    floe_stun_add_fingerprint(&b);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 2);
    assert_int_equal(m.mi256, 0);
    assert_int_equal(m.mi, -1);
    assert_int_equal(m.fp, 1);
    assert_int_equal(m.n_ignored, 3);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);

    /* two MIs: the second is ignored */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_integrity(&b, (const uint8_t *)"other", 5);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 1);
    assert_int_equal(m.n_ignored, 1);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);
}

static void test_unknown_required_attributes(void **state) {
    (void)state;
    uint8_t buf[512];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, 0x7777, "a", 1);
    floe_stun_add(&b, 0x8888, "b", 1); /* optional: not listed */
    floe_stun_add(&b, 0x0030, NULL, 0);
    floe_stun_add(&b, 0x7777, "c", 1); /* duplicate: listed once */
    floe_stun_add(&b, 0xc001, NULL, 0);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1); /* known */
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_attrs, 6);
    assert_int_equal(m.n_unknown, 2);
    assert_int_equal(m.unknown[0], 0x7777);
    assert_int_equal(m.unknown[1], 0x0030);
    assert_true(floe_stun_attr_required(0x0030));
    assert_true(floe_stun_attr_required(0x7fff));
    assert_false(floe_stun_attr_required(0x8000));
    assert_false(floe_stun_attr_required(0x8888));

    /* more distinct unknown types than FLOE_STUN_MAX_UNKNOWN: the first ones are kept */
    start(&b, buf, sizeof buf);
    for (uint16_t t = 0; t < FLOE_STUN_MAX_UNKNOWN + 4; t++)
        floe_stun_add(&b, (uint16_t)(0x4000 + t), NULL, 0);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(m.n_unknown, FLOE_STUN_MAX_UNKNOWN);
    for (uint16_t t = 0; t < FLOE_STUN_MAX_UNKNOWN; t++)
        assert_int_equal(m.unknown[t], 0x4000 + t);

    /* every known type has a name; none is counted unknown */
    static const uint16_t known[] = {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008,
                                     0x0009, 0x000A, 0x000B, 0x000C, 0x000D, 0x0012, 0x0013, 0x0014,
                                     0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001A, 0x001C, 0x001D,
                                     0x001E, 0x0020, 0x0022, 0x0024, 0x0025, 0x0026, 0x0027, 0x002A,
                                     0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8022, 0x8023, 0x8027,
                                     0x8028, 0x8029, 0x802A, 0x802B, 0x802C};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        assert_non_null(floe_stun_attr_name(known[i]));
    assert_string_equal(floe_stun_attr_name(FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS),
                        "XOR-MAPPED-ADDRESS");
    assert_null(floe_stun_attr_name(0x7777));
    assert_null(floe_stun_attr_name(0x0000));
}

static void test_integrity_sha256_truncation(void **state) {
    (void)state;
    for (size_t trunc = 16; trunc <= 32; trunc += 4) {
        uint8_t buf[128];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, "trunc");
        floe_stun_add_integrity_sha256(&b, key, KEY_LEN, trunc);
        floe_stun_add_fingerprint(&b);
        size_t len = finish(&b);
        assert_int_equal(len, 20 + 12 + 4 + trunc + 8);
        floe_stun_msg m;
        decode_ok(buf, len, &m);
        assert_int_equal(m.mi256, 1);
        assert_int_equal(m.attrs[1].len, trunc);
        assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);
        assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)"a kez", 5),
                         FLOE_ERR_INTEGRITY);
        /* the value is the first trunc bytes of HMAC-SHA256 over the header (length
         * counting up to the end of MESSAGE-INTEGRITY-SHA256) and the USERNAME */
        uint8_t in[32], mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        memcpy(in, buf, 32);
        floe_put_u16(in + 2, (uint16_t)(12 + 4 + trunc));
        assert_non_null(HMAC(EVP_sha256(), key, (int)KEY_LEN, in, sizeof in, mac, &mac_len));
        assert_int_equal(mac_len, 32);
        assert_memory_equal(m.attrs[1].val, mac, trunc);
        /* a flipped byte of the value fails (fingerprint removed first) */
        floe_put_u16(buf + 2, (uint16_t)(len - 8 - 20));
        buf[40] ^= 0x01;
        decode_ok(buf, len - 8, &m);
        assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_ERR_INTEGRITY);
    }
    static const size_t bad[] = {0, 4, 12, 15, 17, 18, 30, 36, 64};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[128];
        floe_stun_builder b;
        start(&b, buf, sizeof buf);
        floe_stun_add_integrity_sha256(&b, key, KEY_LEN, bad[i]);
        size_t len;
        assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    }
}

static void test_integrity_misc(void **state) {
    (void)state;
    uint8_t buf[128];
    floe_stun_builder b;
    floe_stun_msg m;
    /* none present */
    start(&b, buf, sizeof buf);
    floe_stun_add_fingerprint(&b);
    size_t len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_ERR_NOT_FOUND);
    /* an empty key works both ways */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, NULL, 0);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, NULL, 0), FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_ERR_INTEGRITY);
    /* MI-SHA256 is preferred when both are present */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, (const uint8_t *)"sha1 key", 8);
    floe_stun_add_integrity_sha256(&b, key, KEY_LEN, 32);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)"sha1 key", 8),
                     FLOE_ERR_INTEGRITY);
    /* a long key (longer than the HMAC block) */
    uint8_t longkey[200];
    memset(longkey, 0x5a, sizeof longkey);
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, longkey, sizeof longkey);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, longkey, sizeof longkey), FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, longkey, sizeof longkey - 1),
                     FLOE_ERR_INTEGRITY);
    /* the header length covered by MI stops at MI, so a FINGERPRINT added later does not
     * disturb it, and changing the message type does */
    start(&b, buf, sizeof buf);
    floe_stun_add_integrity(&b, key, KEY_LEN);
    floe_stun_add_fingerprint(&b);
    len = finish(&b);
    decode_ok(buf, len, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_OK);
    buf[1] ^= 0x10; /* request -> indication */
    floe_put_u16(buf + 2, (uint16_t)(len - 8 - 20));
    decode_ok(buf, len - 8, &m);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, KEY_LEN), FLOE_ERR_INTEGRITY);
}

/* ---- builder limits ------------------------------------------------------------- */

static void test_builder_nospace(void **state) {
    (void)state;
    uint8_t buf[128];
    floe_stun_builder b;
    size_t len = 0;
    /* the header does not fit */
    for (size_t cap = 0; cap < 20; cap++) {
        int rc = floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
        assert_int_equal(rc, FLOE_ERR_NOSPACE);
        assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_NOSPACE);
    }
    /* a full message needs exactly this much; every smaller buffer fails cleanly */
    size_t need = 0;
    for (size_t cap = 20; cap <= 100; cap++) {
        memset(buf, 0xee, sizeof buf);
        assert_int_equal(
            floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid),
            FLOE_OK);
        floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "abcde");
        floe_addr a = v4(0x01020304u, 5);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
        floe_stun_add_integrity(&b, key, KEY_LEN);
        floe_stun_add_fingerprint(&b);
        len = 12345;
        int rc = floe_stun_builder_finish(&b, &len);
        if (cap < 20 + 12 + 12 + 24 + 8) {
            assert_int_equal(rc, FLOE_ERR_NOSPACE);
            assert_int_equal(len, 12345);
        } else {
            assert_int_equal(rc, FLOE_OK);
            if (!need) need = cap;
            assert_int_equal(len, need);
        }
        for (size_t i = cap; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xee);
    }
    assert_int_equal(need, 76);
    /* errors are sticky: after NOSPACE, a small attribute that would fit is not added */
    assert_int_equal(floe_stun_builder_init(&b, buf, 28, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid),
                     FLOE_OK);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "too long for this");
    floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_get_u16(buf + 2), 0);
    /* an attribute value over 65535 bytes */
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, buf, 70000);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    /* bad method or class */
    assert_int_equal(floe_stun_builder_init(&b, buf, sizeof buf, 0x1000, FLOE_STUN_REQUEST, tid),
                     FLOE_ERR_INVAL);
    assert_int_equal(
        floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, (floe_stun_class)4, tid),
        FLOE_ERR_INVAL);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_INVAL);
    static const uint8_t ctid[16] = {0};
    assert_int_equal(
        floe_stun_builder_init_classic(&b, buf, 19, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, ctid),
        FLOE_ERR_NOSPACE);
}

static void test_builder_large_message(void **state) {
    (void)state;
    /* the largest message has a 65532-byte body (the length field is 16 bits and a
     * multiple of 4): FLOE_STUN_MAX_MSG bytes in all */
    static uint8_t buf[70000];
    static uint8_t data[65536];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, 65528);
    size_t len = finish(&b);
    assert_int_equal(len, FLOE_STUN_MAX_MSG);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_int_equal(m.attrs[0].len, 65528);
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, data, 65529);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_ERR_NOSPACE);
}

/* ---- message type, names, framing ----------------------------------------------- */

static void test_type_packing(void **state) {
    (void)state;
    for (unsigned method = 0; method <= 0xfff; method++) {
        for (unsigned cls = 0; cls < 4; cls++) {
            uint16_t t = floe_stun_type((uint16_t)method, (floe_stun_class)cls);
            assert_int_equal(t & 0xc000, 0);
            assert_int_equal(floe_stun_type_method(t), method);
            assert_int_equal(floe_stun_type_class(t), cls);
            /* the class bits are bits 4 and 8 */
            assert_int_equal((t >> 4 & 1) | (t >> 7 & 2), cls);
        }
    }
    /* every 14-bit type unpacks and repacks to itself */
    for (unsigned t = 0; t < 0x4000; t++)
        assert_int_equal(
            floe_stun_type(floe_stun_type_method((uint16_t)t), floe_stun_type_class((uint16_t)t)),
            t);
    /* the well-known values (RFC 8489 §5, RFC 8656) */
    assert_int_equal(floe_stun_type(FLOE_STUN_BINDING, FLOE_STUN_REQUEST), 0x0001);
    assert_int_equal(floe_stun_type(FLOE_STUN_BINDING, FLOE_STUN_INDICATION), 0x0011);
    assert_int_equal(floe_stun_type(FLOE_STUN_BINDING, FLOE_STUN_SUCCESS), 0x0101);
    assert_int_equal(floe_stun_type(FLOE_STUN_BINDING, FLOE_STUN_ERROR), 0x0111);
    assert_int_equal(floe_stun_type(FLOE_STUN_ALLOCATE, FLOE_STUN_REQUEST), 0x0003);
    assert_int_equal(floe_stun_type(FLOE_STUN_ALLOCATE, FLOE_STUN_ERROR), 0x0113);
    assert_int_equal(floe_stun_type(FLOE_STUN_SEND, FLOE_STUN_INDICATION), 0x0016);
    assert_int_equal(floe_stun_type(FLOE_STUN_DATA, FLOE_STUN_INDICATION), 0x0017);
    assert_int_equal(floe_stun_type(FLOE_STUN_CHANNEL_BIND, FLOE_STUN_SUCCESS), 0x0109);
    assert_int_equal(floe_stun_type(FLOE_STUN_CONNECTION_ATTEMPT, FLOE_STUN_INDICATION), 0x001c);
    assert_int_equal(floe_stun_type(0xfff, FLOE_STUN_ERROR), 0x3fff);
    assert_int_equal(floe_stun_type(0x080, FLOE_STUN_REQUEST), 0x0200);

    /* every method and class round trips through a real message */
    for (unsigned method = 0; method <= 0xfff; method += 0x3f) {
        for (unsigned cls = 0; cls < 4; cls++) {
            uint8_t buf[32];
            floe_stun_builder b;
            assert_int_equal(floe_stun_builder_init(&b, buf, sizeof buf, (uint16_t)method,
                                                    (floe_stun_class)cls, tid),
                             FLOE_OK);
            size_t len = finish(&b);
            floe_stun_msg m;
            decode_ok(buf, len, &m);
            assert_int_equal(m.method, method);
            assert_int_equal(m.cls, cls);
        }
    }
}

static void test_names(void **state) {
    (void)state;
    assert_string_equal(floe_stun_method_name(FLOE_STUN_BINDING), "Binding");
    assert_string_equal(floe_stun_method_name(FLOE_STUN_ALLOCATE), "Allocate");
    assert_string_equal(floe_stun_method_name(FLOE_STUN_CHANNEL_BIND), "ChannelBind");
    assert_string_equal(floe_stun_method_name(0x555), "unknown");
    for (unsigned m = 1; m <= 0xc; m++)
        assert_non_null(floe_stun_method_name((uint16_t)m));
    assert_string_equal(floe_stun_class_name(FLOE_STUN_REQUEST), "request");
    assert_string_equal(floe_stun_class_name(FLOE_STUN_INDICATION), "indication");
    assert_string_equal(floe_stun_class_name(FLOE_STUN_SUCCESS), "success response");
    assert_string_equal(floe_stun_class_name(FLOE_STUN_ERROR), "error response");
}

static void test_frame_len(void **state) {
    (void)state;
    uint8_t buf[64];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1);
    size_t len = finish(&b);
    size_t need = 0;
    assert_int_equal(floe_stun_frame_len(buf, len, &need), FLOE_OK);
    assert_int_equal(need, len);
    /* the header alone is enough to know the length */
    need = 0;
    assert_int_equal(floe_stun_frame_len(buf, 20, &need), FLOE_OK);
    assert_int_equal(need, len);
    for (size_t n = 0; n < 20; n++)
        assert_int_equal(floe_stun_frame_len(buf, n, &need), FLOE_ERR_TRUNCATED);
    uint8_t c[64];
    memcpy(c, buf, len);
    c[0] = 0x40; /* ChannelData or junk: not STUN, known from the first byte */
    assert_int_equal(floe_stun_frame_len(c, 1, &need), FLOE_ERR_NOT_STUN);
    assert_int_equal(floe_stun_frame_len(c, len, &need), FLOE_ERR_NOT_STUN);
    memcpy(c, buf, len);
    floe_put_u16(c + 2, 6);
    assert_int_equal(floe_stun_frame_len(c, len, &need), FLOE_ERR_NOT_STUN);
    memcpy(c, buf, len);
    c[4] = 0;
    assert_int_equal(floe_stun_frame_len(c, len, &need), FLOE_ERR_NOT_STUN);
    memcpy(c, buf, len);
    floe_put_u16(c + 2, 0xfffc);
    assert_int_equal(floe_stun_frame_len(c, 20, &need), FLOE_OK);
    assert_int_equal(need, 20 + 0xfffc);

    /* RFC 7983 demultiplexing */
    assert_true(floe_stun_looks_like(buf, len));
    assert_false(floe_stun_looks_like(buf, 19));
    c[0] = 3;
    assert_true(floe_stun_looks_like(c, 20));
    c[0] = 4;
    assert_false(floe_stun_looks_like(c, 20));
    c[0] = 0x80; /* RTP */
    assert_false(floe_stun_looks_like(c, 20));
}

/* ---- credentials ---------------------------------------------------------------- */

static void sha256_of(const char *s, uint8_t out[32]) {
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

static void test_userhash(void **state) {
    (void)state;
    uint8_t got[32], want[32];
    assert_int_equal(floe_stun_userhash("alice", "example.org", got), FLOE_OK);
    sha256_of("alice:example.org", want);
    assert_memory_equal(got, want, 32);
    assert_int_equal(floe_stun_userhash("", "", got), FLOE_OK);
    sha256_of(":", want);
    assert_memory_equal(got, want, 32);
    /* the realm is prepared (soft hyphen removed) */
    assert_int_equal(floe_stun_userhash("bob", "exam\xc2\xadple.org", got), FLOE_OK);
    sha256_of("bob:example.org", want);
    assert_memory_equal(got, want, 32);
    /* round trip as an attribute */
    uint8_t buf[128];
    floe_stun_builder b;
    start(&b, buf, sizeof buf);
    floe_stun_add(&b, FLOE_STUN_ATTR_USERHASH, got, 32);
    size_t len = finish(&b);
    floe_stun_msg m;
    decode_ok(buf, len, &m);
    assert_memory_equal(m.attrs[0].val, got, 32);
}

static void test_short_term_key_saslprep(void **state) {
    (void)state;
    uint8_t k[FLOE_STUN_KEY_MAX];
    size_t n = 0;
    /* ASCII is unchanged */
    assert_int_equal(floe_stun_key_short_term("pass word!", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(k, "pass word!", 10);
    /* U+00AD SOFT HYPHEN is mapped to nothing */
    assert_int_equal(floe_stun_key_short_term("pass\xc2\xadword", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(k, "password", 8);
    /* U+00A0 NO-BREAK SPACE maps to a space */
    assert_int_equal(floe_stun_key_short_term("a\xc2\xa0"
                                              "b",
                                              k, sizeof k, &n),
                     FLOE_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(k, "a b", 3);
    /* NFKC: U+2168 ROMAN NUMERAL NINE -> "IX", U+00AA -> "a" */
    assert_int_equal(floe_stun_key_short_term("\xe2\x85\xa8\xc2\xaa", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(k, "IXa", 3);
    /* non-ASCII that stays: e with acute (already NFKC) */
    assert_int_equal(floe_stun_key_short_term("caf\xc3\xa9", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(k, "caf\xc3\xa9", 5);
    /* prohibited: ASCII control characters */
    assert_int_equal(floe_stun_key_short_term("bell\x07", k, sizeof k, &n), FLOE_ERR_INVAL);
    assert_int_equal(floe_stun_key_short_term("tab\there", k, sizeof k, &n), FLOE_ERR_INVAL);
    /* empty */
    assert_int_equal(floe_stun_key_short_term("", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, 0);
    /* too small an output */
    assert_int_equal(floe_stun_key_short_term("12345", k, 4, &n), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_stun_key_short_term("12345", k, 5, &n), FLOE_OK);
    /* a password longer than the key limit */
    static char huge[FLOE_STUN_KEY_MAX + 10];
    memset(huge, 'p', sizeof huge - 1);
    assert_int_equal(floe_stun_key_short_term(huge, k, sizeof k, &n), FLOE_ERR_NOSPACE);

    /* the prepared key authenticates a message built with the raw password's key */
    uint8_t k2[FLOE_STUN_KEY_MAX];
    size_t n2 = 0;
    assert_int_equal(floe_stun_key_short_term("password", k2, sizeof k2, &n2), FLOE_OK);
    assert_int_equal(floe_stun_key_short_term("pass\xc2\xadword", k, sizeof k, &n), FLOE_OK);
    assert_int_equal(n, n2);
    assert_memory_equal(k, k2, n);
}

static void test_long_term_key(void **state) {
    (void)state;
    uint8_t k[32], want[32];
    size_t n = 0;
    assert_int_equal(
        floe_stun_key_long_term(FLOE_STUN_PWALG_SHA256, "user", "realm", "pass", k, &n), FLOE_OK);
    assert_int_equal(n, 32);
    sha256_of("user:realm:pass", want);
    assert_memory_equal(k, want, 32);
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, "user", "realm", "pass", k, &n),
                     FLOE_OK);
    assert_int_equal(n, 16);
    unsigned int mdn = 0;
    assert_int_equal(EVP_Digest("user:realm:pass", 15, want, &mdn, EVP_md5(), NULL), 1);
    assert_memory_equal(k, want, 16);
    assert_int_equal(floe_stun_key_long_term(0x0003, "user", "realm", "pass", k, &n),
                     FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_stun_key_long_term(0, "user", "realm", "pass", k, &n),
                     FLOE_ERR_UNSUPPORTED);
    assert_int_equal(
        floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, "user", "realm", "bad\x01", k, &n),
        FLOE_ERR_INVAL);
}

static void test_nonce_cookie(void **state) {
    (void)state;
    static const uint32_t sets[] = {0,
                                    FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS,
                                    FLOE_STUN_FEATURE_USERNAME_ANONYMITY,
                                    FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS |
                                        FLOE_STUN_FEATURE_USERNAME_ANONYMITY,
                                    0x000001,
                                    0x123456,
                                    0xfedcba,
                                    0xffffff};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char nonce[64];
        floe_stun_nonce_cookie(sets[i], nonce);
        assert_memory_equal(nonce, "obMatJos2", 9);
        memcpy(nonce + FLOE_STUN_NONCE_COOKIE_LEN, "rest-of-nonce", 14);
        uint32_t f = 0xdeadbeef;
        assert_true(floe_stun_nonce_features(nonce, FLOE_STUN_NONCE_COOKIE_LEN, &f));
        assert_int_equal(f, sets[i]);
        f = 0xdeadbeef;
        assert_true(floe_stun_nonce_features(nonce, strlen(nonce), &f));
        assert_int_equal(f, sets[i]);
        /* too short */
        assert_false(floe_stun_nonce_features(nonce, FLOE_STUN_NONCE_COOKIE_LEN - 1, &f));
    }
    /* the encodings are the base64 of the three feature bytes */
    char nonce[FLOE_STUN_NONCE_COOKIE_LEN];
    floe_stun_nonce_cookie(0, nonce);
    assert_memory_equal(nonce, "obMatJos2AAAA", 13);
    /* bit 0 is the least significant (RFC 8489 erratum 6290) */
    floe_stun_nonce_cookie(FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS, nonce);
    assert_memory_equal(nonce, "obMatJos2AAAB", 13);
    floe_stun_nonce_cookie(
        FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS | FLOE_STUN_FEATURE_USERNAME_ANONYMITY, nonce);
    assert_memory_equal(nonce, "obMatJos2AAAD", 13);
    floe_stun_nonce_cookie(0xffffff, nonce);
    assert_memory_equal(nonce, "obMatJos2////", 13);
    /* bits above 24 are not encoded */
    floe_stun_nonce_cookie(0xff000001, nonce);
    assert_memory_equal(nonce, "obMatJos2AAAB", 13);

    uint32_t f;
    assert_false(floe_stun_nonce_features("obMatJos3AAAA", 13, &f));
    assert_false(floe_stun_nonce_features("xbMatJos2AAAA", 13, &f));
    assert_false(floe_stun_nonce_features("obMatJos2AA=A", 13, &f));
    assert_false(floe_stun_nonce_features("obMatJos2AA-A", 13, &f));
    assert_false(floe_stun_nonce_features("obMatJos2AA\0A", 13, &f));
    assert_false(floe_stun_nonce_features("f//499k954d6OL34oL9FSTvy64sA", 28, &f));
    assert_false(floe_stun_nonce_features("", 0, &f));
    assert_true(floe_stun_nonce_features("obMatJos2+/+/", 13, &f));
    assert_int_equal(f, (62u << 18) | (63u << 12) | (62u << 6) | 63u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_round_trip),
        cmocka_unit_test(test_int_round_trip),
        cmocka_unit_test(test_string_round_trip),
        cmocka_unit_test(test_error_code_round_trip),
        cmocka_unit_test(test_unknown_attributes_round_trip),
        cmocka_unit_test(test_password_algorithms_round_trip),
        cmocka_unit_test(test_empty_and_odd_attributes),
        cmocka_unit_test(test_reject_header),
        cmocka_unit_test(test_reject_cookie_and_classic),
        cmocka_unit_test(test_reject_attribute_framing),
        cmocka_unit_test(test_reject_bad_attribute_values),
        cmocka_unit_test(test_reject_fingerprint),
        cmocka_unit_test(test_reject_too_many_attributes),
        cmocka_unit_test(test_attributes_after_integrity),
        cmocka_unit_test(test_unknown_required_attributes),
        cmocka_unit_test(test_integrity_sha256_truncation),
        cmocka_unit_test(test_integrity_misc),
        cmocka_unit_test(test_builder_nospace),
        cmocka_unit_test(test_builder_large_message),
        cmocka_unit_test(test_type_packing),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_userhash),
        cmocka_unit_test(test_short_term_key_saslprep),
        cmocka_unit_test(test_long_term_key),
        cmocka_unit_test(test_nonce_cookie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
