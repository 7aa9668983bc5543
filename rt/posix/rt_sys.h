/* floe POSIX runtime: the clock and the randomness source the sans-IO core is fed with.
 *
 * The core never reads a clock or draws OS randomness itself: the runtime passes
 * floe_rt_now() as "now" to every call and hands floe_rt_random() to the core as its
 * random-bytes callback. */
#ifndef FLOE_RT_SYS_H
#define FLOE_RT_SYS_H

#include <stddef.h>

#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds on CLOCK_MONOTONIC: the time base of every floe deadline in this runtime. */
floe_time_ns floe_rt_now(void);

/* Fills buf with len bytes from OpenSSL's CSPRNG (RAND_bytes); ctx is unused and may be NULL.
 * Returns FLOE_OK or FLOE_ERR_CRYPTO. The signature matches the core's random callback. */
int floe_rt_random(void *ctx, void *buf, size_t len);

/* Sets SIGPIPE to SIG_IGN so that writing to a peer-closed socket (including OpenSSL's
 * writes on TLS connections) returns EPIPE instead of killing the process. Call once in main. */
void floe_rt_ignore_sigpipe(void);

#ifdef __cplusplus
}
#endif
#endif
