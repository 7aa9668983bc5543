/* Which test tone a side of a call heard: the verdict `floe demo` and `floe lab` give on
 * the received audio (floe/tone.h's Goertzel detector weighing the call's tones). */
#ifndef FLOE_APP_TONE_VERDICT_H
#define FLOE_APP_TONE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/tone.h"

/* The two tones of a test call: the caller sends 440 Hz, the callee 1000 Hz. */
#define FLOE_TONE_CALLER_HZ 440.0
#define FLOE_TONE_CALLEE_HZ 1000.0

typedef struct floe_tone_verdict {
    floe_tone_result r; /* the detector's numbers (r.ratio: share of the power in the best) */
    size_t samples;     /* how much audio was weighed, at 8000 Hz */
    bool heard;         /* the tone wanted dominates the audio */
} floe_tone_verdict;

/* Weighs n samples at 8000 Hz against the two call tones; heard when the detector names
 * want (one of them). Silence or no audio is not heard. */
void floe_tone_verdict_of(const int16_t *x, size_t n, double want, floe_tone_verdict *v);

/* The same for a recording (rt_wav.h: an 8000 Hz file). FLOE_OK with *v set, or an error
 * with a sentence in err (the file cannot be read); v then says not heard. */
int floe_tone_verdict_wav(const char *path, double want, floe_tone_verdict *v, char *err,
                          size_t cap);

#endif
