/* ChannelData framing (RFC 8656 §12.4-12.5), the TCP/TLS stream framing of TURN, and the
 * TURN REST credentials. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/turn.h"

static void test_encode_vectors(void **state) {
    (void)state;
    uint8_t out[16];
    size_t n = 0;
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    /* UDP: no padding. */
    assert_int_equal(floe_turn_channel_data_encode(0x4001, data, 5, false, out, sizeof out, &n),
                     FLOE_OK);
    static const uint8_t udp[] = {0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
    assert_int_equal(n, sizeof udp);
    assert_memory_equal(out, udp, sizeof udp);
    /* Stream: padded with zeros to 12. */
    memset(out, 0xee, sizeof out);
    assert_int_equal(floe_turn_channel_data_encode(0x4FFF, data, 5, true, out, sizeof out, &n),
                     FLOE_OK);
    static const uint8_t tcp[] = {0x4f, 0xff, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0};
    assert_int_equal(n, sizeof tcp);
    assert_memory_equal(out, tcp, sizeof tcp);
    /* Already aligned and empty payloads get no padding. */
    assert_int_equal(floe_turn_channel_data_encode(0x4000, data, 4, true, out, sizeof out, &n),
                     FLOE_OK);
    assert_int_equal(n, 8);
    assert_int_equal(floe_turn_channel_data_encode(0x4000, NULL, 0, true, out, sizeof out, &n),
                     FLOE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(out[2] | out[3], 0);
    /* Errors: channel numbers outside 0x4000-0x4FFF, too long, no room. */
    assert_int_equal(floe_turn_channel_data_encode(0x3FFF, data, 5, false, out, sizeof out, &n),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_channel_data_encode(0x5000, data, 5, false, out, sizeof out, &n),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_channel_data_encode(0x4000, data, 70000, false, out, sizeof out, &n),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_channel_data_encode(0x4000, NULL, 3, false, out, sizeof out, &n),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_channel_data_encode(0x4000, data, 5, true, out, 11, &n),
                     FLOE_ERR_NOSPACE);
    assert_int_equal(floe_turn_channel_data_encode(0x4000, data, 5, false, out, 8, &n),
                     FLOE_ERR_NOSPACE);
    assert_true(floe_turn_channel_valid(0x4000));
    assert_true(floe_turn_channel_valid(0x4FFF));
    assert_false(floe_turn_channel_valid(0x3FFF));
    assert_false(floe_turn_channel_valid(0x5000));
}

static void test_decode_vectors(void **state) {
    (void)state;
    uint16_t ch = 0;
    const uint8_t *d = NULL;
    size_t n = 0;
    const uint8_t msg[] = {0x40, 0x02, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0xaa};
    /* Exactly the message, and with its padding. */
    assert_int_equal(floe_turn_channel_data_decode(msg, 9, &ch, &d, &n), FLOE_OK);
    assert_int_equal(ch, 0x4002);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    for (size_t len = 10; len <= 12; len++)
        assert_int_equal(floe_turn_channel_data_decode(msg, len, &ch, &d, &n), FLOE_OK);
    /* More than padding after it; shorter than the header or its length. */
    assert_int_equal(floe_turn_channel_data_decode(msg, 13, &ch, &d, &n), FLOE_ERR_MALFORMED);
    for (size_t len = 0; len < 4; len++)
        assert_int_equal(floe_turn_channel_data_decode(msg, len, &ch, &d, &n), FLOE_ERR_TRUNCATED);
    for (size_t len = 4; len < 9; len++)
        assert_int_equal(floe_turn_channel_data_decode(msg, len, &ch, &d, &n), FLOE_ERR_TRUNCATED);
    /* Reserved channel numbers (RFC 8656 §12.4). */
    uint8_t bad[8] = {0x50, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    assert_int_equal(floe_turn_channel_data_decode(bad, sizeof bad, &ch, &d, &n),
                     FLOE_ERR_MALFORMED);
    bad[0] = 0x3f;
    bad[1] = 0xff;
    assert_int_equal(floe_turn_channel_data_decode(bad, sizeof bad, &ch, &d, &n),
                     FLOE_ERR_MALFORMED);
    /* An empty payload, and the largest one. */
    const uint8_t empty[] = {0x40, 0x00, 0x00, 0x00};
    assert_int_equal(floe_turn_channel_data_decode(empty, 4, &ch, &d, &n), FLOE_OK);
    assert_int_equal(n, 0);
    static uint8_t big[4 + 65535 + 1], payload[65535];
    size_t out = 0;
    assert_int_equal(
        floe_turn_channel_data_encode(0x4000, payload, sizeof payload, true, big, sizeof big, &out),
        FLOE_OK);
    assert_int_equal(out, 4 + 65536);
    assert_int_equal(floe_turn_channel_data_decode(big, out, &ch, &d, &n), FLOE_OK);
    assert_int_equal(n, 65535);
}

static void test_round_trip(void **state) {
    (void)state;
    uint8_t data[64], out[80];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 0; len <= sizeof data; len++)
        for (int pad = 0; pad < 2; pad++) {
            size_t n = 0, m = 0, need = 0;
            uint16_t ch = 0;
            const uint8_t *d = NULL;
            uint16_t want = (uint16_t)(0x4000 + len * 13);
            assert_int_equal(
                floe_turn_channel_data_encode(want, data, len, pad, out, sizeof out, &n), FLOE_OK);
            assert_int_equal(n % 4 == 0 || !pad, true);
            assert_int_equal(floe_turn_channel_data_decode(out, n, &ch, &d, &m), FLOE_OK);
            assert_int_equal(ch, want);
            assert_int_equal(m, len);
            assert_memory_equal(d, data, len);
            assert_int_equal(floe_turn_frame_len(out, n, &need), FLOE_OK);
            assert_int_equal(need, (4 + len + 3) / 4 * 4);
        }
}

static void test_stream_framing(void **state) {
    (void)state;
    size_t need = 0;
    uint8_t buf[64];
    /* A STUN message: its header says 20 + length. */
    uint8_t tid[12] = {9};
    floe_stun_builder b;
    size_t n = 0;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_ALLOCATE, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 600);
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    assert_int_equal(floe_turn_frame_len(buf, n, &need), FLOE_OK);
    assert_int_equal(need, n);
    assert_int_equal(floe_turn_frame_len(buf, 19, &need), FLOE_ERR_TRUNCATED);
    assert_int_equal(floe_turn_frame_len(buf, 0, &need), FLOE_ERR_TRUNCATED);
    /* ChannelData: 4 bytes are enough to tell; the padded length over a stream. */
    const uint8_t cd[] = {0x40, 0x00, 0x00, 0x05};
    assert_int_equal(floe_turn_frame_len(cd, 4, &need), FLOE_OK);
    assert_int_equal(need, 12);
    assert_int_equal(floe_turn_frame_len(cd, 3, &need), FLOE_ERR_TRUNCATED);
    /* Neither: the stream cannot be resynchronised. */
    const uint8_t junk[] = {0x80, 0, 0, 0};
    assert_int_equal(floe_turn_frame_len(junk, 4, &need), FLOE_ERR_MALFORMED);
    const uint8_t reserved[] = {0x60, 0, 0, 0};
    assert_int_equal(floe_turn_frame_len(reserved, 4, &need), FLOE_ERR_MALFORMED);
    buf[4] ^= 0xff; /* no magic cookie */
    assert_int_equal(floe_turn_frame_len(buf, n, &need), FLOE_ERR_MALFORMED);
}

static void test_rest_credentials(void **state) {
    (void)state;
    char user[FLOE_TURN_REST_USER_MAX], pass[FLOE_TURN_REST_PASS_MAX];
    /* Expected values from Python's hmac and base64 modules. */
    assert_int_equal(floe_turn_rest_credentials("north", "alice", 1700000000, user, sizeof user,
                                                pass, sizeof pass),
                     FLOE_OK);
    assert_string_equal(user, "1700000000:alice");
    assert_string_equal(pass, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
    assert_int_equal(
        floe_turn_rest_credentials("north", NULL, 1700000000, user, sizeof user, pass, sizeof pass),
        FLOE_OK);
    assert_string_equal(user, "1700000000");
    assert_string_equal(pass, "CWyHi3zCeWqXBir9thl4m+iZPRY=");
    assert_int_equal(
        floe_turn_rest_credentials("north", "", 0, user, sizeof user, pass, sizeof pass), FLOE_OK);
    assert_string_equal(user, "0");
    assert_int_equal(
        floe_turn_rest_credentials("", "alice", 1, user, sizeof user, pass, sizeof pass),
        FLOE_ERR_INVAL);
    assert_int_equal(
        floe_turn_rest_credentials("north", "a:b", 1, user, sizeof user, pass, sizeof pass),
        FLOE_ERR_INVAL);
    assert_int_equal(
        floe_turn_rest_credentials("north", "alice", 1700000000, user, 16, pass, sizeof pass),
        FLOE_ERR_NOSPACE);
    assert_int_equal(
        floe_turn_rest_credentials("north", "alice", 1700000000, user, sizeof user, pass, 28),
        FLOE_ERR_NOSPACE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vectors),   cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_stream_framing),
        cmocka_unit_test(test_rest_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
