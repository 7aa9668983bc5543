/* floe POSIX runtime: a single-threaded epoll event loop with fd watches, one-shot timers
 * and signals.
 *
 * Watches are level-triggered. Callbacks run on the thread that calls floe_rt_loop_run()
 * or floe_rt_loop_run_once(); a callback may watch, modify or unwatch any fd (its own or
 * others), arm, cancel or free any timer (its own included) and stop the loop. It must not
 * free the loop or call run/run_once recursively.
 *
 * Timers are one-shot with an absolute deadline on the floe_rt_now() clock. They are kept
 * in a binary heap (O(log n) arm, re-arm and cancel; O(1) earliest deadline), fire in
 * deadline order (FIFO among equal deadlines) and never before their deadline.
 *
 * None of this is thread-safe: one loop belongs to one thread. */
#ifndef FLOE_RT_LOOP_H
#define FLOE_RT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Event bits for watches and callbacks. ERROR and HUP are always reported, even when not
 * asked for; a reader should treat them as "readable" (the next read reports the cause). */
enum {
    FLOE_RT_READ = 1u << 0,  /* data (or a connection, or EOF) can be read */
    FLOE_RT_WRITE = 1u << 1, /* the socket accepts more output, or a connect completed */
    FLOE_RT_ERROR = 1u << 2, /* the fd has a pending error (EPOLLERR) */
    FLOE_RT_HUP = 1u << 3,   /* the connection is closed both ways (EPOLLHUP) */
};

typedef struct floe_rt_loop floe_rt_loop;
typedef struct floe_rt_timer floe_rt_timer;

/* Called when fd is ready; events is a mix of FLOE_RT_* bits. */
typedef void (*floe_rt_fd_cb)(void *arg, int fd, uint32_t events);
/* Called once when timer t reaches its deadline; t is disarmed by then and may be re-armed
 * or freed from inside the callback. */
typedef void (*floe_rt_timer_cb)(void *arg, floe_rt_timer *t);
/* Called from the loop (not from a signal handler) for each delivery of signo. */
typedef void (*floe_rt_signal_cb)(void *arg, int signo);

/* Creates a loop in *out. Returns FLOE_OK, FLOE_ERR_NOMEM or FLOE_ERR_IO (errno kept). */
int floe_rt_loop_new(floe_rt_loop **out);
/* Frees the loop, every timer created on it (their pointers become invalid) and its signal
 * registrations (unblocking the signals it blocked). Watched fds are not closed. NULL is ok. */
void floe_rt_loop_free(floe_rt_loop *loop);

/* Watches fd for events (FLOE_RT_READ and/or FLOE_RT_WRITE, or 0 for errors only), calling
 * cb(arg, fd, events). Returns FLOE_OK, FLOE_ERR_STATE if fd is already watched,
 * FLOE_ERR_INVAL, FLOE_ERR_NOMEM or FLOE_ERR_IO. */
int floe_rt_loop_watch(floe_rt_loop *loop, int fd, uint32_t events, floe_rt_fd_cb cb, void *arg);
/* Replaces the interest set of a watched fd. Returns FLOE_OK, FLOE_ERR_NOT_FOUND or
 * FLOE_ERR_IO. */
int floe_rt_loop_modify(floe_rt_loop *loop, int fd, uint32_t events);
/* Stops watching fd; call it before close(fd). Safe from any callback: events already
 * collected for fd in the current round are dropped. Returns FLOE_OK or FLOE_ERR_NOT_FOUND. */
int floe_rt_loop_unwatch(floe_rt_loop *loop, int fd);

/* Calls cb(arg, signo) from the loop whenever signo arrives, via a signalfd; the signal is
 * blocked in the calling thread (register before starting other threads so they inherit
 * the mask). Give each signal to one loop only: a delivery wakes just one signalfd. cb NULL removes
 * the handler and unblocks the signal if the loop blocked it. Returns FLOE_OK, FLOE_ERR_INVAL
 * (SIGKILL, SIGSTOP, out of range) or FLOE_ERR_IO. */
int floe_rt_loop_on_signal(floe_rt_loop *loop, int signo, floe_rt_signal_cb cb, void *arg);

/* Runs rounds until floe_rt_loop_stop() is called (FLOE_OK), nothing is left that could
 * wake the loop (no watch, armed timer or signal: FLOE_OK), or epoll fails (FLOE_ERR_IO). */
int floe_rt_loop_run(floe_rt_loop *loop);
/* Makes floe_rt_loop_run() return after the current callback's round; callable from any
 * callback. A stop requested while the loop is not running makes the next run return at once. */
void floe_rt_loop_stop(floe_rt_loop *loop);
/* Runs one round: waits up to max_wait_ns (0 polls, FLOE_TIME_NEVER waits until something
 * happens) or until the earliest timer, then dispatches ready fds, signals and due timers.
 * Returns the number of callbacks made (0 on timeout), FLOE_ERR_STATE when called from a
 * callback, or FLOE_ERR_IO. */
int floe_rt_loop_run_once(floe_rt_loop *loop, floe_time_ns max_wait_ns);

/* Creates an unarmed timer on loop that will call cb(arg, timer). Returns FLOE_OK or
 * FLOE_ERR_NOMEM. Arming never allocates, so it cannot fail. */
int floe_rt_timer_new(floe_rt_timer **out, floe_rt_loop *loop, floe_rt_timer_cb cb, void *arg);
/* Cancels and frees t; NULL is ok. Safe from any callback, t's own included. */
void floe_rt_timer_free(floe_rt_timer *t);
/* Arms (or re-arms, replacing the old deadline) t to fire at deadline (floe_rt_now() clock).
 * A deadline in the past fires in the next round; FLOE_TIME_NEVER is the same as cancel. */
void floe_rt_timer_arm(floe_rt_timer *t, floe_time_ns deadline);
/* Disarms t; it will not fire until armed again. Cancelling an unarmed timer does nothing. */
void floe_rt_timer_cancel(floe_rt_timer *t);
/* True while t is armed (between arm and its firing or cancel). */
bool floe_rt_timer_armed(const floe_rt_timer *t);
/* The deadline t is armed for, or FLOE_TIME_NEVER when it is not armed. */
floe_time_ns floe_rt_timer_deadline(const floe_rt_timer *t);

#ifdef __cplusplus
}
#endif
#endif
