/* Unit tests for include/floe/g711.h: known code points (zero, full scale, segment
 * values), the whole encode and decode tables against hashes taken from an independent
 * implementation (Python's audioop, which follows the classic Sun reference), the
 * round-trip error bound of each law, monotonicity, and the buffer functions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "floe/g711.h"

/* FNV-1a, 32 bits: a fingerprint of a whole table. */
static uint32_t fnv_step(uint32_t h, uint8_t b) {
    return (h ^ b) * 0x01000193u;
}

static void test_ulaw_known_values(void **state) {
    (void)state;
    assert_int_equal(floe_g711_ulaw_encode(0), 0xFF);
    assert_int_equal(floe_g711_ulaw_decode(0xFF), 0);
    assert_int_equal(floe_g711_ulaw_decode(0x7F), 0); /* the "negative zero" code */
    assert_int_equal(floe_g711_ulaw_encode(-1), 0x7E);
    assert_int_equal(floe_g711_ulaw_encode(32767), 0x80);
    assert_int_equal(floe_g711_ulaw_encode(-32768), 0x00);
    assert_int_equal(floe_g711_ulaw_decode(0x80), 32124);
    assert_int_equal(floe_g711_ulaw_decode(0x00), -32124);
    assert_int_equal(floe_g711_ulaw_encode(100), 0xF2);
    assert_int_equal(floe_g711_ulaw_decode(0xF2), 104);
    assert_int_equal(floe_g711_ulaw_encode(1000), 0xCE);
    assert_int_equal(floe_g711_ulaw_decode(0xCE), 988);
    assert_int_equal(floe_g711_ulaw_encode(-1000), 0x4E);
    assert_int_equal(floe_g711_ulaw_encode(4000), 0xAF);
    assert_int_equal(floe_g711_ulaw_decode(0xAF), 4092);
    assert_int_equal(floe_g711_ulaw_encode(-12345), 0x17);
    assert_int_equal(floe_g711_ulaw_decode(0x17), -12412);
    /* Clipping: everything from the top of segment 7 up codes the same. */
    assert_int_equal(floe_g711_ulaw_encode(32635), 0x80);
    assert_int_equal(floe_g711_ulaw_encode(32636), 0x80);
}

static void test_alaw_known_values(void **state) {
    (void)state;
    assert_int_equal(floe_g711_alaw_encode(0), 0xD5);
    assert_int_equal(floe_g711_alaw_decode(0xD5), 8); /* A-law has no zero */
    assert_int_equal(floe_g711_alaw_encode(-1), 0x55);
    assert_int_equal(floe_g711_alaw_decode(0x55), -8);
    assert_int_equal(floe_g711_alaw_encode(32767), 0xAA);
    assert_int_equal(floe_g711_alaw_encode(-32768), 0x2A);
    assert_int_equal(floe_g711_alaw_decode(0xAA), 32256);
    assert_int_equal(floe_g711_alaw_decode(0x2A), -32256);
    assert_int_equal(floe_g711_alaw_encode(100), 0xD3);
    assert_int_equal(floe_g711_alaw_decode(0xD3), 104);
    assert_int_equal(floe_g711_alaw_encode(1000), 0xFA);
    assert_int_equal(floe_g711_alaw_decode(0xFA), 1008);
    assert_int_equal(floe_g711_alaw_encode(-1000), 0x7A);
    assert_int_equal(floe_g711_alaw_encode(4000), 0x9A);
    assert_int_equal(floe_g711_alaw_decode(0x9A), 4032);
    assert_int_equal(floe_g711_alaw_encode(12345), 0xBD);
    assert_int_equal(floe_g711_alaw_decode(0xBD), 12544);
}

/* The 65536 encodings (bytes in input order) and the 256 decodings (16-bit big-endian)
 * hashed, compared with the same hashes of audioop.lin2ulaw/lin2alaw/ulaw2lin/alaw2lin. */
static void test_whole_tables(void **state) {
    (void)state;
    uint32_t hu = 0x811c9dc5u, ha = 0x811c9dc5u;
    for (int x = -32768; x <= 32767; x++) {
        hu = fnv_step(hu, floe_g711_ulaw_encode((int16_t)x));
        ha = fnv_step(ha, floe_g711_alaw_encode((int16_t)x));
    }
    assert_int_equal(hu, 0xf2471a71u);
    assert_int_equal(ha, 0x826fe2c5u);
    hu = ha = 0x811c9dc5u;
    for (int c = 0; c < 256; c++) {
        uint16_t u = (uint16_t)floe_g711_ulaw_decode((uint8_t)c);
        uint16_t a = (uint16_t)floe_g711_alaw_decode((uint8_t)c);
        hu = fnv_step(fnv_step(hu, (uint8_t)(u >> 8)), (uint8_t)u);
        ha = fnv_step(fnv_step(ha, (uint8_t)(a >> 8)), (uint8_t)a);
    }
    assert_int_equal(hu, 0xde2d3b22u);
    assert_int_equal(ha, 0x6ac9d8c5u);
}

/* Decoding gives the middle of the step: the error grows with the amplitude, about
 * 1/32 of it, plus the low bits the encoder drops. Beyond the top code it is clipping. */
static void test_round_trip_error(void **state) {
    (void)state;
    for (int x = -32768; x <= 32767; x++) {
        int u = floe_g711_ulaw_decode(floe_g711_ulaw_encode((int16_t)x));
        int a = floe_g711_alaw_decode(floe_g711_alaw_encode((int16_t)x));
        int mag = abs(x);
        if (mag <= 32124) {
            if (abs(x - u) > (mag + 132) / 32 + 4) fail_msg("mu-law %d -> %d", x, u);
        } else {
            assert_int_equal(u, x > 0 ? 32124 : -32124);
        }
        if (mag <= 32256) {
            if (abs(x - a) > mag / 32 + 16) fail_msg("A-law %d -> %d", x, a);
        } else {
            assert_int_equal(a, x > 0 ? 32256 : -32256);
        }
        /* Small values stay small: nothing near zero is coded as a loud sample. */
        if (mag < 8) {
            assert_true(abs(u) <= 8);
            assert_true(abs(a) <= 8);
        }
    }
}

/* A larger input never decodes to a smaller output, and the sign is kept. */
static void test_monotonic(void **state) {
    (void)state;
    int pu = -32768, pa = -32768;
    for (int x = -32768; x <= 32767; x++) {
        int u = floe_g711_ulaw_decode(floe_g711_ulaw_encode((int16_t)x));
        int a = floe_g711_alaw_decode(floe_g711_alaw_encode((int16_t)x));
        if (u < pu) fail_msg("mu-law not monotonic at %d", x);
        if (a < pa) fail_msg("A-law not monotonic at %d", x);
        if (x > 8) assert_true(u > 0 && a > 0);
        if (x < -8) assert_true(u < 0 && a < 0);
        pu = u;
        pa = a;
    }
}

/* Every code's value codes back to a code of the same value (all but mu-law's two
 * zeros are one code per value). */
static void test_codes_are_fixed_points(void **state) {
    (void)state;
    for (int c = 0; c < 256; c++) {
        int16_t u = floe_g711_ulaw_decode((uint8_t)c);
        int16_t a = floe_g711_alaw_decode((uint8_t)c);
        assert_int_equal(floe_g711_ulaw_decode(floe_g711_ulaw_encode(u)), u);
        assert_int_equal(floe_g711_alaw_encode(a), c);
        if (c != 0x7F) assert_int_equal(floe_g711_ulaw_encode(u), c);
    }
}

static void test_buffers(void **state) {
    (void)state;
    int16_t in[6] = {0, 1000, -1000, 32767, -32768, 4000}, out[6];
    uint8_t codes[6];
    floe_g711_encode(FLOE_G711_ULAW, in, 6, codes);
    for (int i = 0; i < 6; i++)
        assert_int_equal(codes[i], floe_g711_ulaw_encode(in[i]));
    floe_g711_decode(FLOE_G711_ULAW, codes, 6, out);
    for (int i = 0; i < 6; i++)
        assert_int_equal(out[i], floe_g711_ulaw_decode(codes[i]));
    floe_g711_encode(FLOE_G711_ALAW, in, 6, codes);
    for (int i = 0; i < 6; i++)
        assert_int_equal(codes[i], floe_g711_alaw_encode(in[i]));
    floe_g711_decode(FLOE_G711_ALAW, codes, 6, out);
    for (int i = 0; i < 6; i++)
        assert_int_equal(out[i], floe_g711_alaw_decode(codes[i]));
    floe_g711_encode(FLOE_G711_ALAW, in, 0, codes); /* nothing to do */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulaw_known_values), cmocka_unit_test(test_alaw_known_values),
        cmocka_unit_test(test_whole_tables),      cmocka_unit_test(test_round_trip_error),
        cmocka_unit_test(test_monotonic),         cmocka_unit_test(test_codes_are_fixed_points),
        cmocka_unit_test(test_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
