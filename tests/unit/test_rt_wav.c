/* Tests of rt/posix/rt_wav: write a tone, read it back sample for sample in 160-sample
 * frames (and after a rewind); the written file's format as libsndfile sees it; files
 * made here with libsndfile in other forms (stereo, float, mu-law, 16 kHz); and every
 * error: a missing file, a file that is not audio, an unsupported rate, a directory that
 * does not exist, reading a file opened for writing. Files live in a fresh temporary
 * directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/err.h"
#include "floe/tone.h"
#include "rt_wav.h"

static char dir[64];

static const char *tmp_path(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static int setup(void **state) {
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/floe-wav-XXXXXX", t && *t && strlen(t) < 40 ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes frames of one channel with libsndfile directly, in the format given. */
static void write_with_sndfile(const char *path, int format, int rate, int channels, const float *x,
                               sf_count_t frames) {
    SF_INFO si = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &si);
    assert_non_null(f);
    assert_int_equal(sf_writef_float(f, x, frames), frames);
    assert_int_equal(sf_close(f), 0);
}

static int16_t tone[8000];

static void test_write_then_read(void **state) {
    (void)state;
    floe_tone_gen g;
    floe_tone_gen_init(&g, 440.0, 10000.0, 8000);
    floe_tone_gen_fill(&g, tone, 8000);
    tone[1] = 32767;
    tone[2] = -32768;

    const char *path = tmp_path("tone.wav");
    floe_rt_wav *w;
    char err[256] = "";
    assert_int_equal(floe_rt_wav_open_write(&w, path, err, sizeof err), FLOE_OK);
    for (int f = 0; f < 50; f++)
        assert_int_equal(floe_rt_wav_write(w, tone + 160 * f, 160), FLOE_OK);
    assert_int_equal(floe_rt_wav_write(w, tone, 0), FLOE_OK);
    int16_t x[160];
    size_t got = 99;
    assert_int_equal(floe_rt_wav_read(w, x, 160, &got), FLOE_ERR_STATE);
    assert_int_equal(floe_rt_wav_rewind(w), FLOE_ERR_STATE);
    floe_rt_wav_info info;
    floe_rt_wav_info_get(w, &info);
    assert_int_equal(info.frames, 8000);
    assert_int_equal(floe_rt_wav_close(w), FLOE_OK);

    /* What it is, by libsndfile's own account. */
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *f = sf_open(path, SFM_READ, &si);
    assert_non_null(f);
    assert_int_equal(si.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    assert_int_equal(si.samplerate, 8000);
    assert_int_equal(si.channels, 1);
    assert_int_equal(si.frames, 8000);
    sf_close(f);

    /* Back, frame by frame, sample for sample. */
    assert_int_equal(floe_rt_wav_open_read(&w, path, err, sizeof err), FLOE_OK);
    floe_rt_wav_info_get(w, &info);
    assert_int_equal(info.rate, 8000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.frames, 8000);
    for (int fr = 0; fr < 50; fr++) {
        assert_int_equal(floe_rt_wav_read(w, x, 160, &got), FLOE_OK);
        assert_int_equal(got, 160);
        assert_memory_equal(x, tone + 160 * fr, sizeof x);
    }
    memset(x, 0x55, sizeof x);
    assert_int_equal(floe_rt_wav_read(w, x, 160, &got), FLOE_OK);
    assert_int_equal(got, 0);
    for (int i = 0; i < 160; i++)
        assert_int_equal(x[i], 0);
    assert_int_equal(floe_rt_wav_write(w, x, 160), FLOE_ERR_STATE);
    /* Again from the start, for a loop. */
    assert_int_equal(floe_rt_wav_rewind(w), FLOE_OK);
    assert_int_equal(floe_rt_wav_read(w, x, 160, &got), FLOE_OK);
    assert_int_equal(got, 160);
    assert_memory_equal(x, tone, sizeof x);
    assert_string_equal(floe_rt_wav_error(w), "");
    assert_int_equal(floe_rt_wav_close(w), FLOE_OK);
    assert_int_equal(floe_rt_wav_close(NULL), FLOE_OK);
}

/* A last frame that is short comes back padded with zeros. */
static void test_short_last_frame(void **state) {
    (void)state;
    const char *path = tmp_path("short.wav");
    floe_rt_wav *w;
    assert_int_equal(floe_rt_wav_open_write(&w, path, NULL, 0), FLOE_OK);
    int16_t x[200];
    for (int i = 0; i < 200; i++)
        x[i] = (int16_t)(i + 1);
    assert_int_equal(floe_rt_wav_write(w, x, 200), FLOE_OK);
    assert_int_equal(floe_rt_wav_close(w), FLOE_OK);
    assert_int_equal(floe_rt_wav_open_read(&w, path, NULL, 0), FLOE_OK);
    size_t got;
    int16_t y[160];
    assert_int_equal(floe_rt_wav_read(w, y, 160, &got), FLOE_OK);
    assert_int_equal(got, 160);
    assert_int_equal(floe_rt_wav_read(w, y, 160, &got), FLOE_OK);
    assert_int_equal(got, 40);
    assert_int_equal(y[0], 161);
    assert_int_equal(y[39], 200);
    assert_int_equal(y[40], 0);
    assert_int_equal(y[159], 0);
    floe_rt_wav_close(w);
}

/* Other forms libsndfile reads at 8 kHz: stereo (averaged), float (full scale at 1.0,
 * clipped beyond), mu-law WAV. */
static void test_other_forms(void **state) {
    (void)state;
    floe_rt_wav *w;
    char err[256];
    int16_t y[4];
    size_t got;

    const short stereo[8] = {8192, 24576, -16384, 0, 32767, 32767, -32768, -32768};
    SF_INFO si = {.samplerate = 8000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(tmp_path("stereo.wav"), SFM_WRITE, &si);
    assert_non_null(f);
    assert_int_equal(sf_writef_short(f, stereo, 4), 4);
    assert_int_equal(sf_close(f), 0);
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("stereo.wav"), err, sizeof err), FLOE_OK);
    floe_rt_wav_info info;
    floe_rt_wav_info_get(w, &info);
    assert_int_equal(info.channels, 2);
    assert_int_equal(floe_rt_wav_read(w, y, 4, &got), FLOE_OK);
    assert_int_equal(got, 4);
    assert_int_equal(y[0], 16384);
    assert_int_equal(y[1], -8192);
    assert_int_equal(y[2], 32767);
    assert_int_equal(y[3], -32768);
    floe_rt_wav_close(w);

    const float fl[4] = {0.5f, -0.25f, 1.5f, -2.0f};
    write_with_sndfile(tmp_path("float.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, fl, 4);
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("float.wav"), err, sizeof err), FLOE_OK);
    assert_int_equal(floe_rt_wav_read(w, y, 4, &got), FLOE_OK);
    assert_int_equal(y[0], 16384);
    assert_int_equal(y[1], -8192);
    assert_int_equal(y[2], 32767);
    assert_int_equal(y[3], -32768);
    floe_rt_wav_close(w);

    const float ul[4] = {0.0f, 0.5f, -0.5f, 0.0f};
    write_with_sndfile(tmp_path("ulaw.wav"), SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, ul, 4);
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("ulaw.wav"), err, sizeof err), FLOE_OK);
    assert_int_equal(floe_rt_wav_read(w, y, 4, &got), FLOE_OK);
    assert_int_equal(y[0], 0);
    assert_true(y[1] > 15500 && y[1] < 17000); /* within a mu-law step of 16384 */
    assert_int_equal(y[2], -y[1]);
    floe_rt_wav_close(w);
}

static void test_errors(void **state) {
    (void)state;
    floe_rt_wav *w = (floe_rt_wav *)&w;
    char err[256];

    /* Missing. */
    err[0] = '\0';
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("none.wav"), err, sizeof err), FLOE_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err, "none.wav"));
    assert_non_null(strstr(err, "No such file"));

    /* Not audio. */
    const char *txt = tmp_path("notes.wav");
    FILE *f = fopen(txt, "w");
    assert_non_null(f);
    fputs("these are not the samples you are looking for\n", f);
    fclose(f);
    err[0] = '\0';
    assert_int_equal(floe_rt_wav_open_read(&w, txt, err, sizeof err), FLOE_ERR_MALFORMED);
    assert_non_null(strstr(err, "notes.wav"));
    assert_true(strlen(err) > strlen(txt) + 10);

    /* 16 kHz: refused, with the rate and what to do. */
    static float wide[1600];
    write_with_sndfile(tmp_path("wide.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, wide,
                       1600);
    err[0] = '\0';
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("wide.wav"), err, sizeof err),
                     FLOE_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "16000 Hz"));
    assert_non_null(strstr(err, "8000"));

    /* Nowhere to write. */
    err[0] = '\0';
    assert_int_equal(floe_rt_wav_open_write(&w, tmp_path("no/such/dir/out.wav"), err, sizeof err),
                     FLOE_ERR_IO);
    assert_non_null(strstr(err, "out.wav"));

    /* A NULL errbuf is fine. */
    assert_int_equal(floe_rt_wav_open_read(&w, tmp_path("none.wav"), NULL, 0), FLOE_ERR_IO);
    assert_int_equal(floe_rt_wav_open_read(NULL, "x", NULL, 0), FLOE_ERR_INVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_then_read),
        cmocka_unit_test(test_short_last_frame),
        cmocka_unit_test(test_other_forms),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
