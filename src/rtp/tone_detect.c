/* Goertzel tone detector (floe/tone.h). */
#include <math.h>

#include "floe/err.h"
#include "floe/tone.h"

/* Power of the component at hz in x[0..n): the Goertzel recurrence
 * s[k] = x[k] + 2 cos(w) s[k-1] - s[k-2] leaves |X(w)|^2 as
 * s1^2 + s2^2 - 2 cos(w) s1 s2 after the last sample; 2 |X|^2 / n^2 is the mean power
 * of a sine at w. */
static double goertzel_power(const int16_t *x, size_t n, double w) {
    double c = 2.0 * cos(w);
    double s1 = 0.0, s2 = 0.0;
    for (size_t k = 0; k < n; k++) {
        double s0 = x[k] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double mag2 = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (mag2 < 0.0) mag2 = 0.0; /* rounding */
    return 2.0 * mag2 / ((double)n * (double)n);
}

int floe_tone_detect(const int16_t *x, size_t n, uint32_t rate, const double *freqs, size_t n_freqs,
                     floe_tone_result *r) {
    if (!r || (n > 0 && !x) || rate == 0 || !freqs || n_freqs == 0 || n_freqs > FLOE_TONE_MAX_FREQS)
        return FLOE_ERR_INVAL;
    for (size_t i = 0; i < n_freqs; i++)
        if (!(freqs[i] > 0.0) || !(freqs[i] < rate / 2.0)) return FLOE_ERR_INVAL;
    *r = (floe_tone_result){.best = -1, .detected = -1};
    if (n == 0) return FLOE_OK;

    double sum = 0.0;
    for (size_t k = 0; k < n; k++)
        sum += (double)x[k] * x[k];
    r->total = sum / (double)n;
    for (size_t i = 0; i < n_freqs; i++) {
        r->power[i] = goertzel_power(x, n, 2.0 * M_PI * freqs[i] / rate);
        if (r->best < 0 || r->power[i] > r->power[r->best]) r->best = (int)i;
    }
    r->ratio = r->total > 0.0 ? r->power[r->best] / r->total : 0.0;
    if (r->total >= FLOE_TONE_MIN_POWER && r->ratio >= FLOE_TONE_MIN_RATIO) r->detected = r->best;
    return FLOE_OK;
}
