/* The tone verdict shared by `floe demo` and `floe lab` (see tone_verdict.h). */
#include "tone_verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "rt_wav.h"

#define RATE 8000
#define WAV_MAX_SAMPLES ((size_t)RATE * 600) /* ten minutes: more than any test call */

void floe_tone_verdict_of(const int16_t *x, size_t n, double want, floe_tone_verdict *v) {
    static const double freqs[2] = {FLOE_TONE_CALLER_HZ, FLOE_TONE_CALLEE_HZ};
    memset(v, 0, sizeof *v);
    v->r.best = v->r.detected = -1;
    v->samples = n;
    v->heard = n > 0 && floe_tone_detect(x, n, RATE, freqs, 2, &v->r) == FLOE_OK &&
               v->r.detected >= 0 && freqs[v->r.detected] == want;
}

int floe_tone_verdict_wav(const char *path, double want, floe_tone_verdict *v, char *err,
                          size_t cap) {
    floe_tone_verdict_of(NULL, 0, want, v);
    floe_rt_wav *w = NULL;
    int rc = floe_rt_wav_open_read(&w, path, err, cap);
    if (rc != FLOE_OK) return rc;
    int16_t *x = NULL;
    size_t n = 0, have = 0;
    for (;;) {
        if (n + 1024 > have) {
            size_t more = have ? 2 * have : (size_t)RATE * 8;
            int16_t *y = more <= WAV_MAX_SAMPLES ? realloc(x, more * sizeof *x) : NULL;
            if (!y) break; /* long enough: weigh what was read */
            x = y;
            have = more;
        }
        size_t got = 0;
        rc = floe_rt_wav_read(w, x + n, 1024, &got);
        if (rc != FLOE_OK) {
            snprintf(err, cap, "%s", floe_rt_wav_error(w));
            break;
        }
        if (got == 0) break;
        n += got;
    }
    floe_rt_wav_close(w);
    if (rc == FLOE_OK) floe_tone_verdict_of(x, n, want, v);
    free(x);
    return rc;
}
