/* WAV (and other audio) files for calls, through libsndfile (rt_wav.h). */
#include "rt_wav.h"

#include <sndfile.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

#define CHUNK 512 /* frames per libsndfile call */

struct floe_rt_wav {
    SNDFILE *sf;
    bool writing;
    floe_rt_wav_info info;
    char path[256];
    char err[320];
    float *buf; /* CHUNK * channels interleaved samples, as libsndfile reads them */
};

/* libsndfile's open failures, as floe errors. */
static int map_open_error(int sferr) {
    switch (sferr) {
    case SF_ERR_SYSTEM: return FLOE_ERR_IO;
    case SF_ERR_UNSUPPORTED_ENCODING: return FLOE_ERR_UNSUPPORTED;
    default: return FLOE_ERR_MALFORMED; /* unrecognised format, malformed file */
    }
}

__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t cap, const char *fmt, ...) {
    if (!buf || !cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static floe_rt_wav *wav_new(const char *path, bool writing) {
    floe_rt_wav *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    snprintf(w->path, sizeof w->path, "%s", path);
    w->writing = writing;
    return w;
}

int floe_rt_wav_open_read(floe_rt_wav **out, const char *path, char *errbuf, size_t errcap) {
    if (!out || !path) return FLOE_ERR_INVAL;
    *out = NULL;
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) {
        int rc = map_open_error(sf_error(NULL));
        say(errbuf, errcap,
            rc == FLOE_ERR_IO ? "%s: cannot open it: %s" : "%s: not audio floe can read: %s", path,
            sf_strerror(NULL));
        return rc;
    }
    if (si.samplerate != FLOE_RT_WAV_RATE) {
        say(errbuf, errcap,
            "%s: %d Hz audio; floe plays 8000 Hz only (convert it first, e.g. sox IN -r 8000 "
            "OUT.wav)",
            path, si.samplerate);
        sf_close(sf);
        return FLOE_ERR_UNSUPPORTED;
    }
    if (si.channels < 1 || si.channels > FLOE_RT_WAV_MAX_CHANNELS) {
        say(errbuf, errcap, "%s: %d channels; floe mixes down at most %d", path, si.channels,
            FLOE_RT_WAV_MAX_CHANNELS);
        sf_close(sf);
        return FLOE_ERR_UNSUPPORTED;
    }
    floe_rt_wav *w = wav_new(path, false);
    if (w) w->buf = malloc(sizeof(float) * CHUNK * (size_t)si.channels);
    if (!w || !w->buf) {
        if (w) free(w);
        sf_close(sf);
        say(errbuf, errcap, "%s: out of memory", path);
        return FLOE_ERR_NOMEM;
    }
    /* Everything is read as float, integer data normalised to +-1.0 (libsndfile's
     * default), and converted here: libsndfile's own float-to-short conversion either
     * truncates or scales to the file's peak, neither of which keeps levels. */
    sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    w->sf = sf;
    w->info.rate = (unsigned)si.samplerate;
    w->info.channels = (unsigned)si.channels;
    w->info.frames = si.frames > 0 ? (uint64_t)si.frames : 0;
    *out = w;
    return FLOE_OK;
}

int floe_rt_wav_open_write(floe_rt_wav **out, const char *path, char *errbuf, size_t errcap) {
    if (!out || !path) return FLOE_ERR_INVAL;
    *out = NULL;
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = FLOE_RT_WAV_RATE;
    si.channels = 1;
    si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf) {
        int rc = map_open_error(sf_error(NULL));
        say(errbuf, errcap, "%s: cannot create it: %s", path, sf_strerror(NULL));
        return rc == FLOE_ERR_MALFORMED ? FLOE_ERR_IO : rc;
    }
    floe_rt_wav *w = wav_new(path, true);
    if (!w) {
        sf_close(sf);
        say(errbuf, errcap, "%s: out of memory", path);
        return FLOE_ERR_NOMEM;
    }
    w->sf = sf;
    w->info.rate = FLOE_RT_WAV_RATE;
    w->info.channels = 1;
    *out = w;
    return FLOE_OK;
}

/* One sample at full scale +-1.0 to 16 bits, rounded and clipped. A 16-bit file comes
 * back exactly (libsndfile divided by 32768). */
static int16_t to_s16(double v) {
    double x = v * 32768.0;
    if (x >= 32767.0) return 32767;
    if (x <= -32768.0) return -32768;
    if (x != x) return 0; /* NaN in a float file */
    return (int16_t)lrint(x);
}

/* Reads up to n frames, mixed down to mono by averaging; returns how many, or -1. */
static sf_count_t read_mono(floe_rt_wav *w, int16_t *out, size_t n) {
    size_t done = 0, ch = w->info.channels;
    while (done < n) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        sf_count_t got = sf_readf_float(w->sf, w->buf, (sf_count_t)want);
        if (got < 0) return -1;
        for (sf_count_t i = 0; i < got; i++) {
            double sum = 0;
            for (size_t c = 0; c < ch; c++)
                sum += w->buf[(size_t)i * ch + c];
            out[done + (size_t)i] = to_s16(sum / (double)ch);
        }
        done += (size_t)got;
        if ((size_t)got < want) break;
    }
    return (sf_count_t)done;
}

int floe_rt_wav_read(floe_rt_wav *w, int16_t *out, size_t n, size_t *got) {
    if (!w || (!out && n)) return FLOE_ERR_INVAL;
    if (got) *got = 0;
    if (w->writing) return FLOE_ERR_STATE;
    sf_count_t r = read_mono(w, out, n);
    if (r < 0 || sf_error(w->sf) != SF_ERR_NO_ERROR) {
        snprintf(w->err, sizeof w->err, "%s: read failed: %s", w->path, sf_strerror(w->sf));
        if (r < 0) r = 0;
        memset(out + r, 0, (n - (size_t)r) * sizeof out[0]);
        return FLOE_ERR_IO;
    }
    memset(out + r, 0, (n - (size_t)r) * sizeof out[0]);
    if (got) *got = (size_t)r;
    return FLOE_OK;
}

int floe_rt_wav_rewind(floe_rt_wav *w) {
    if (!w) return FLOE_ERR_INVAL;
    if (w->writing) return FLOE_ERR_STATE;
    if (sf_seek(w->sf, 0, SEEK_SET) < 0) {
        snprintf(w->err, sizeof w->err, "%s: cannot go back to the start: %s", w->path,
                 sf_strerror(w->sf));
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}

int floe_rt_wav_write(floe_rt_wav *w, const int16_t *samples, size_t n) {
    if (!w || (!samples && n)) return FLOE_ERR_INVAL;
    if (!w->writing) return FLOE_ERR_STATE;
    if (n == 0) return FLOE_OK;
    sf_count_t r = sf_writef_short(w->sf, samples, (sf_count_t)n);
    if (r != (sf_count_t)n) {
        snprintf(w->err, sizeof w->err, "%s: write failed: %s", w->path, sf_strerror(w->sf));
        return FLOE_ERR_IO;
    }
    w->info.frames += n;
    return FLOE_OK;
}

void floe_rt_wav_info_get(const floe_rt_wav *w, floe_rt_wav_info *info) {
    *info = w->info;
}

const char *floe_rt_wav_error(const floe_rt_wav *w) {
    return w ? w->err : "";
}

int floe_rt_wav_close(floe_rt_wav *w) {
    if (!w) return FLOE_OK;
    int rc = FLOE_OK;
    if (w->writing) sf_write_sync(w->sf);
    if (sf_close(w->sf) != 0) rc = FLOE_ERR_IO;
    free(w->buf);
    free(w);
    return rc;
}
