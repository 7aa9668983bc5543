/* floe: test tones, made and recognised.
 *
 * A call test plays a tone one way and another tone the other way, records what arrives
 * and asks which tone it hears. floe_tone_gen makes a sine wave frame by frame (its phase
 * carries over, so frames join without clicks); floe_tone_detect measures, with the
 * Goertzel algorithm, how much of a block's power sits at each of a few candidate
 * frequencies and names the one that dominates, or none.
 *
 *   floe_tone_gen g;
 *   floe_tone_gen_init(&g, 440.0, 8000.0, 8000);          // 440 Hz, amplitude 8000
 *   floe_tone_gen_fill(&g, frame, 160);                     // 20 ms at 8 kHz
 *
 *   static const double cand[] = {440.0, 1000.0};
 *   floe_tone_result r;
 *   floe_tone_detect(recorded, n, 8000, cand, 2, &r);
 *   if (r.detected == 0) it is the 440 Hz tone;
 *
 * Detection. Goertzel evaluates one DFT coefficient X(f) of the block at exactly f (not
 * rounded to a bin). For a sine of amplitude A at f over N samples |X(f)| is A N / 2, so
 * 2 |X(f)|^2 / N^2 estimates the mean power of the component at f (A^2 / 2), and dividing
 * by the block's mean power gives the share of the signal that is that tone (near 1 for a
 * clean tone, even after G.711; about 2/N for white noise). A candidate is detected when
 * it has the largest share, the share is at least FLOE_TONE_MIN_RATIO, and the block is
 * louder than FLOE_TONE_MIN_POWER (so silence and G.711's idle codes are "none").
 * Frequencies closer than about 2 rate / N cannot be told apart in a block of N samples:
 * analyse at least 100 ms for candidates 20 Hz apart.
 *
 * Pure computation in double precision; no allocation. */
#ifndef FLOE_TONE_H
#define FLOE_TONE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_TONE_MAX_FREQS 8     /* candidates one floe_tone_detect call weighs */
#define FLOE_TONE_MIN_RATIO 0.5   /* share of the block's power a tone must hold */
#define FLOE_TONE_MIN_POWER 1000. /* mean power (16-bit units squared): about -60 dBFS */

typedef struct floe_tone_gen {
    double phase; /* radians, in [0, 2 pi) */
    double step;  /* radians per sample */
    double amplitude;
} floe_tone_gen;

/* A sine of hz at amplitude (peak, 0..32767 on the 16-bit scale) sampled at rate.
 * FLOE_ERR_INVAL unless 0 < hz < rate / 2 and 0 <= amplitude <= 32767. */
int floe_tone_gen_init(floe_tone_gen *g, double hz, double amplitude, uint32_t rate);

/* Writes the next n samples, rounded to the nearest integer. */
void floe_tone_gen_fill(floe_tone_gen *g, int16_t *out, size_t n);

typedef struct floe_tone_result {
    double power[FLOE_TONE_MAX_FREQS]; /* mean power at each candidate (see above) */
    double total;                      /* mean power of the block: sum of x^2 / n */
    int best;                          /* candidate with the most power; -1 if n == 0 */
    double ratio;                      /* power[best] / total; 0 for a silent block */
    int detected;                      /* best if it passes both thresholds, else -1 */
} floe_tone_result;

/* Weighs n samples taken at rate against n_freqs candidate frequencies (1 to
 * FLOE_TONE_MAX_FREQS, each below rate / 2). FLOE_ERR_INVAL for bad arguments. */
int floe_tone_detect(const int16_t *x, size_t n, uint32_t rate, const double *freqs, size_t n_freqs,
                     floe_tone_result *r);

#ifdef __cplusplus
}
#endif
#endif
