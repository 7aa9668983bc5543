/* Pieces shared by the `floe bench` load tools: `floe bench stun` (bench_stun.c), `floe bench
 * turn` (bench_turn.c) and `floe bench echo` (cmd_bench.c).
 *
 *   - a stop flag set by SIGINT and SIGTERM, so a run ends early and still reports;
 *   - the "seconds" option value (--duration and friends);
 *   - a UDP socket on loopback connect()ed to a target;
 *   - the window of a closed-loop generator: numbered slots, each free or holding one
 *     datagram in flight with its send time and sequence number;
 *   - one echo step (recvmmsg, then sendmmsg of the same datagrams back to their senders),
 *     the whole of `floe bench echo` and the peer of `floe bench turn`. */
#ifndef FLOE_APP_BENCH_UTIL_H
#define FLOE_APP_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "floe/addr.h"
#include "floe/time.h"

/* ---- stopping ------------------------------------------------------------------------ */

/* Installs SIGINT and SIGTERM handlers (no SA_RESTART, so a blocked call returns EINTR)
 * that set the stop flag. */
void floe_bench_catch_stop(void);
/* True once SIGINT or SIGTERM came. */
bool floe_bench_stopping(void);

/* ---- options ------------------------------------------------------------------------- */

/* A number of seconds (decimal, "2.5") from lo to hi; false for NULL or anything else. */
bool floe_bench_seconds(const char *s, double lo, double hi, double *out);

/* ---- sockets ------------------------------------------------------------------------- */

/* Opens a nonblocking UDP socket connect()ed to `to`, bound to `from` (port 0) when it is
 * given, else to 127.0.0.1 when `to` is an IPv4 loopback address (so the load stays on
 * loopback), else to the wildcard of its family. flags are floe_rt_udp_open's. *local (may
 * be NULL) gets the bound address. FLOE_OK or an error (errno kept); *fd is -1 on failure. */
int floe_bench_udp_connect(const floe_addr *from, const floe_addr *to, unsigned flags, int *fd,
                           floe_addr *local);

/* ---- the window of a closed-loop generator ------------------------------------------- */

/* `size` slots. A slot is free (sent_at 0) or holds one datagram in flight; each send bumps
 * the slot's sequence number, which the datagram carries, so an answer that comes after its
 * slot was retired and reused is told apart from the current one. Free slots are handed out
 * lowest first. */
typedef struct floe_bench_window {
    uint32_t size;
    uint32_t n_free;
    uint32_t *seq;         /* sequence number of the datagram in (or last in) the slot */
    floe_time_ns *sent_at; /* 0 while the slot is free */
    uint32_t *free_slots;  /* stack of free slot numbers; the next one is on top */
} floe_bench_window;

/* FLOE_OK or FLOE_ERR_NOMEM (free it either way). */
int floe_bench_window_init(floe_bench_window *w, uint32_t size);
void floe_bench_window_free(floe_bench_window *w);
/* The slot the i-th next take() will return (i < n_free), for building a batch before it is
 * sent; only the sends that went out are then taken. */
static inline uint32_t floe_bench_window_peek(const floe_bench_window *w, uint32_t i) {
    return w->free_slots[w->n_free - 1 - i];
}
/* Marks the next free slot (n_free > 0) as sent at `now` (not 0) and returns it. */
static inline uint32_t floe_bench_window_take(floe_bench_window *w, floe_time_ns now) {
    uint32_t slot = w->free_slots[--w->n_free];
    w->sent_at[slot] = now;
    return slot;
}
/* An answer carrying (slot, seq): true, with *sent_at set (may be NULL), when it matches the
 * datagram in flight in that slot, which is then freed; false for a late or foreign one. */
bool floe_bench_window_answer(floe_bench_window *w, uint32_t slot, uint32_t seq,
                              floe_time_ns *sent_at);
/* Frees the slots sent at or before cutoff (every busy slot for FLOE_TIME_NEVER) and
 * returns how many: they are lost. */
uint32_t floe_bench_window_retire(floe_bench_window *w, floe_time_ns cutoff);

/* ---- echo ---------------------------------------------------------------------------- */

#define FLOE_BENCH_ECHO_BUF 2048u /* bytes kept of each datagram; longer ones are cut */

/* Buffers for batches of up to `batch` datagrams, each with room for its sender's address. */
typedef struct floe_bench_echo {
    unsigned batch;
    uint8_t *data;
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_storage *names;
} floe_bench_echo;

/* FLOE_OK or FLOE_ERR_NOMEM (free it either way). */
int floe_bench_echo_init(floe_bench_echo *e, unsigned batch);
void floe_bench_echo_free(floe_bench_echo *e);
/* One step: recvmmsg() of up to batch datagrams with recv_flags (MSG_DONTWAIT, or
 * MSG_WAITFORONE on a blocking socket), then sendmmsg() of each back to its sender, byte
 * for byte. A datagram whose send fails is dropped and counted in *errors. Returns how
 * many came in (0 if none) and adds those sent back to *echoed; -1 with errno when
 * recvmmsg failed. */
int floe_bench_echo_step(int fd, floe_bench_echo *e, int recv_flags, uint64_t *echoed,
                         uint64_t *errors);

#endif
