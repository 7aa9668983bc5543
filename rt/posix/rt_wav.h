/* floe POSIX runtime: audio files for calls, through libsndfile.
 *
 * `floe call --play IN.wav --record OUT.wav` reads the audio it sends from a file and
 * writes the audio it receives to one. The media core (floe/media.h) works in 16-bit
 * mono samples at 8000 Hz, in frames of 160 (20 ms); this module is the file side:
 *
 *   floe_rt_wav *in, *out;
 *   char err[256];
 *   if (floe_rt_wav_open_read(&in, "in.wav", err, sizeof err) != FLOE_OK) die(err);
 *   floe_rt_wav_open_write(&out, "out.wav", err, sizeof err);
 *   int16_t frame[160]; size_t got;
 *   floe_rt_wav_read(in, frame, 160, &got);      // got < 160 at the end, rest zeros
 *   floe_rt_wav_write(out, rx.samples, rx.n_samples);
 *   floe_rt_wav_close(out);                       // finishes the header: check it
 *
 * Reading takes whatever libsndfile reads (WAV in 8/16/24/32-bit PCM, float, mu-law,
 * A-law, and AIFF, FLAC, ...) as long as it is at 8000 Hz: floe does not resample (a
 * good resampler is a library of its own; convert first, e.g. with sox), and says so
 * with the file's rate in the error. Several channels are mixed down to one by averaging
 * them (up to FLOE_RT_WAV_MAX_CHANNELS). Floating-point data is taken as full scale at
 * +-1.0 and clipped beyond. Writing always makes an 8000 Hz mono 16-bit PCM WAV file,
 * replacing any file of that name.
 *
 * Every failure is a floe_err with a sentence naming the file in errbuf (open) or from
 * floe_rt_wav_error (read, write, close): FLOE_ERR_IO (cannot open, read or write: the
 * system's reason), FLOE_ERR_MALFORMED (not an audio file libsndfile knows, or a broken
 * one), FLOE_ERR_UNSUPPORTED (an encoding libsndfile cannot decode, a rate other than
 * 8000 Hz, too many channels), FLOE_ERR_NOMEM. */
#ifndef FLOE_RT_WAV_H
#define FLOE_RT_WAV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_RT_WAV_RATE 8000
#define FLOE_RT_WAV_MAX_CHANNELS 16

typedef struct floe_rt_wav floe_rt_wav;

typedef struct floe_rt_wav_info {
    unsigned rate;     /* always FLOE_RT_WAV_RATE once open */
    unsigned channels; /* in the file; reads give one */
    uint64_t frames;   /* samples per channel in the file (as its header says) */
} floe_rt_wav_info;

/* Opens path for reading. FLOE_OK, or an error with a sentence in errbuf (may be NULL). */
int floe_rt_wav_open_read(floe_rt_wav **out, const char *path, char *errbuf, size_t errcap);

/* Creates (or truncates) path as an 8000 Hz mono 16-bit PCM WAV file. */
int floe_rt_wav_open_write(floe_rt_wav **out, const char *path, char *errbuf, size_t errcap);

/* Reads up to n mono samples into out; *got is how many were in the file (0 at the end);
 * out[*got..n) are zeroed, so a short last frame is padded with silence. FLOE_OK or
 * FLOE_ERR_IO; FLOE_ERR_STATE on a file opened for writing. */
int floe_rt_wav_read(floe_rt_wav *w, int16_t *out, size_t n, size_t *got);

/* Back to the first sample (to play a file in a loop). */
int floe_rt_wav_rewind(floe_rt_wav *w);

/* Appends n samples. FLOE_OK or FLOE_ERR_IO (disk full, ...); FLOE_ERR_STATE on a file
 * opened for reading. */
int floe_rt_wav_write(floe_rt_wav *w, const int16_t *samples, size_t n);

void floe_rt_wav_info_get(const floe_rt_wav *w, floe_rt_wav_info *info);

/* The sentence for the last failed read, write or close on w ("" if none). */
const char *floe_rt_wav_error(const floe_rt_wav *w);

/* Closes the file; for a written one, the header's sizes are fixed up now, so check the
 * result (FLOE_ERR_IO: the file is incomplete). NULL is fine. Frees w either way. */
int floe_rt_wav_close(floe_rt_wav *w);

#ifdef __cplusplus
}
#endif
#endif
