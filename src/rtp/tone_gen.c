/* Sine tone generator (floe/tone.h). */
#include <math.h>

#include "floe/err.h"
#include "floe/tone.h"

#define TWO_PI (2.0 * M_PI)

int floe_tone_gen_init(floe_tone_gen *g, double hz, double amplitude, uint32_t rate) {
    if (!g || rate == 0 || !(hz > 0.0) || !(hz < rate / 2.0) || !(amplitude >= 0.0) ||
        amplitude > 32767.0)
        return FLOE_ERR_INVAL;
    g->phase = 0.0;
    g->step = TWO_PI * hz / rate;
    g->amplitude = amplitude;
    return FLOE_OK;
}

void floe_tone_gen_fill(floe_tone_gen *g, int16_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[i] = (int16_t)lround(g->amplitude * sin(g->phase));
        g->phase += g->step;
        /* Kept small so that a long tone loses no precision. */
        if (g->phase >= TWO_PI) g->phase -= TWO_PI;
    }
}
