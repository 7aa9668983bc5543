/* Unit tests for include/floe/tone.h: the generator's amplitude, frequency (zero
 * crossings) and continuity across frames; the detector on clean tones, on tones after
 * PCMU and PCMA, on two tones mixed, on noise and on silence; argument checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "floe/err.h"
#include "floe/g711.h"
#include "floe/tone.h"

#define RATE 8000
#define N 8000 /* one second */

static int16_t buf[N], tmp[N];
static uint8_t codes[N];
static const double cand[] = {440.0, 1000.0};

static void make_tone(double hz, double amp, int16_t *out, size_t n) {
    floe_tone_gen g;
    assert_int_equal(floe_tone_gen_init(&g, hz, amp, RATE), FLOE_OK);
    floe_tone_gen_fill(&g, out, n);
}

static void test_gen_shape(void **state) {
    (void)state;
    make_tone(440.0, 8000.0, buf, N);
    int peak = 0, crossings = 0;
    for (int i = 0; i < N; i++) {
        if (abs(buf[i]) > peak) peak = abs(buf[i]);
        if (i && (buf[i - 1] < 0) != (buf[i] < 0)) crossings++;
    }
    assert_true(peak <= 8000 && peak >= 7990);
    /* 440 cycles in a second: two sign changes each. */
    assert_true(crossings >= 878 && crossings <= 881);
    assert_int_equal(buf[0], 0);
}

/* Frames of 160 join without a break: the same samples as one long fill. */
static void test_gen_frames_continue(void **state) {
    (void)state;
    make_tone(1000.0, 12000.0, buf, N);
    floe_tone_gen g;
    floe_tone_gen_init(&g, 1000.0, 12000.0, RATE);
    for (int f = 0; f < N / 160; f++)
        floe_tone_gen_fill(&g, tmp + 160 * f, 160);
    for (int i = 0; i < N; i++)
        assert_true(abs(buf[i] - tmp[i]) <= 1);
}

static void test_gen_bad_args(void **state) {
    (void)state;
    floe_tone_gen g;
    assert_int_equal(floe_tone_gen_init(&g, 0.0, 100, RATE), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(&g, 4000.0, 100, RATE), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(&g, 440.0, -1, RATE), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(&g, 440.0, 40000, RATE), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(&g, NAN, 100, RATE), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(&g, 440.0, 100, 0), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_gen_init(NULL, 440.0, 100, RATE), FLOE_ERR_INVAL);
}

static void test_detect_clean(void **state) {
    (void)state;
    floe_tone_result r;
    make_tone(440.0, 8000.0, buf, N);
    assert_int_equal(floe_tone_detect(buf, N, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 0);
    assert_true(r.ratio > 0.95 && r.ratio < 1.05);
    /* The power at 440 Hz is the tone's, A^2 / 2; at 1000 Hz almost nothing. */
    assert_true(fabs(r.power[0] - 32e6) < 1e6);
    assert_true(r.power[1] < 1e-3 * r.power[0]);

    make_tone(1000.0, 3000.0, buf, N);
    assert_int_equal(floe_tone_detect(buf, N, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 1);
    /* One 20 ms frame is enough for candidates this far apart. */
    assert_int_equal(floe_tone_detect(buf + 800, 160, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 1);
}

/* The call test's case: a tone through G.711 and back is still that tone. */
static void test_detect_after_g711(void **state) {
    (void)state;
    floe_tone_result r;
    make_tone(440.0, 8000.0, buf, N);
    floe_g711_encode(FLOE_G711_ULAW, buf, N, codes);
    floe_g711_decode(FLOE_G711_ULAW, codes, N, tmp);
    assert_int_equal(floe_tone_detect(tmp, N, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 0);
    assert_true(r.ratio > 0.95);

    make_tone(1000.0, 8000.0, buf, N);
    floe_g711_encode(FLOE_G711_ALAW, buf, N, codes);
    floe_g711_decode(FLOE_G711_ALAW, codes, N, tmp);
    assert_int_equal(floe_tone_detect(tmp, N, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 1);
    assert_true(r.ratio > 0.95);
}

/* Tones mixed: the louder one wins when it holds most of the power; with no tone
 * holding half of it, none is detected. */
static void test_detect_mixture(void **state) {
    (void)state;
    floe_tone_result r;
    make_tone(440.0, 3000.0, buf, N);
    make_tone(1000.0, 9000.0, tmp, N);
    for (int i = 0; i < N; i++)
        buf[i] = (int16_t)(buf[i] + tmp[i]);
    floe_tone_detect(buf, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, 1);
    assert_true(r.power[1] > 8 * r.power[0]);

    /* 440, 1000 and 700 Hz alike: a third of the power each. */
    make_tone(440.0, 6000.0, buf, N);
    make_tone(1000.0, 6000.0, tmp, N);
    for (int i = 0; i < N; i++)
        buf[i] = (int16_t)(buf[i] + tmp[i]);
    make_tone(700.0, 6000.0, tmp, N);
    for (int i = 0; i < N; i++)
        buf[i] = (int16_t)(buf[i] + tmp[i]);
    floe_tone_detect(buf, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, -1);
    assert_true(r.ratio > 0.30 && r.ratio < 0.37);
}

/* A tone between the candidates is neither. */
static void test_detect_other_tone(void **state) {
    (void)state;
    floe_tone_result r;
    make_tone(700.0, 8000.0, buf, N);
    floe_tone_detect(buf, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, -1);
    assert_true(r.ratio < 0.01);
}

/* White noise (a fixed linear congruential sequence) and silence are neither. */
static void test_detect_noise_and_silence(void **state) {
    (void)state;
    floe_tone_result r;
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (int16_t)((int)(x >> 16) % 16000 - 8000);
    }
    floe_g711_encode(FLOE_G711_ULAW, buf, N, codes);
    floe_g711_decode(FLOE_G711_ULAW, codes, N, tmp);
    floe_tone_detect(tmp, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, -1);
    assert_true(r.total > FLOE_TONE_MIN_POWER);
    assert_true(r.ratio < 0.05);

    for (int i = 0; i < N; i++)
        buf[i] = 0;
    floe_tone_detect(buf, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, -1);
    assert_true(r.total == 0.0 && r.ratio == 0.0);

    /* A-law's idle code decodes to +8: not silent, but far below the floor. */
    for (int i = 0; i < N; i++)
        codes[i] = 0xD5;
    floe_g711_decode(FLOE_G711_ALAW, codes, N, tmp);
    floe_tone_detect(tmp, N, RATE, cand, 2, &r);
    assert_int_equal(r.detected, -1);

    /* A very quiet 440 Hz tone is below the floor too. */
    make_tone(440.0, 20.0, buf, N);
    floe_tone_detect(buf, N, RATE, cand, 2, &r);
    assert_int_equal(r.best, 0);
    assert_int_equal(r.detected, -1);
}

static void test_detect_bad_args(void **state) {
    (void)state;
    floe_tone_result r;
    double many[FLOE_TONE_MAX_FREQS + 1] = {100, 200, 300, 400, 500, 600, 700, 800, 900};
    double high[] = {4000.0};
    assert_int_equal(floe_tone_detect(buf, N, RATE, cand, 0, &r), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_detect(buf, N, RATE, many, FLOE_TONE_MAX_FREQS + 1, &r),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_detect(buf, N, RATE, high, 1, &r), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_detect(NULL, N, RATE, cand, 2, &r), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_detect(buf, N, RATE, cand, 2, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_tone_detect(buf, 0, RATE, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.best, -1);
    assert_int_equal(r.detected, -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_shape),         cmocka_unit_test(test_gen_frames_continue),
        cmocka_unit_test(test_gen_bad_args),      cmocka_unit_test(test_detect_clean),
        cmocka_unit_test(test_detect_after_g711), cmocka_unit_test(test_detect_mixture),
        cmocka_unit_test(test_detect_other_tone), cmocka_unit_test(test_detect_noise_and_silence),
        cmocka_unit_test(test_detect_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
