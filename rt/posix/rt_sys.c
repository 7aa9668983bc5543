/* floe POSIX runtime: monotonic clock and CSPRNG bytes. */
#define _GNU_SOURCE
#include "rt_sys.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <openssl/rand.h>

#include "floe/err.h"

floe_time_ns floe_rt_now(void) {
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (floe_time_ns)ts.tv_sec * FLOE_NS_PER_S + (floe_time_ns)ts.tv_nsec;
}

int floe_rt_random(void *ctx, void *buf, size_t len) {
    (void)ctx;
    unsigned char *p = buf;
    /* RAND_bytes takes an int length: feed very large requests in slices. */
    while (len > 0) {
        size_t chunk = len > (size_t)INT_MAX ? (size_t)INT_MAX : len;
        if (RAND_bytes(p, (int)chunk) != 1) return FLOE_ERR_CRYPTO;
        p += chunk;
        len -= chunk;
    }
    return FLOE_OK;
}

void floe_rt_ignore_sigpipe(void) {
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGPIPE, &sa, NULL);
}
