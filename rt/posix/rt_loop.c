/* floe POSIX runtime: epoll event loop with fd watches, a timer heap and signalfd signals.
 *
 * How a round waits. The loop sleeps in epoll until the earliest timer deadline (or the
 * caller's max_wait). It uses epoll_pwait2(), whose timeout is a timespec, so timers get
 * nanosecond-granular wake-ups without a timerfd: a timerfd would cost a timerfd_settime()
 * each time the earliest deadline changes and a read() each time it fires, on top of the
 * epoll_wait() we do anyway. When the kernel or a seccomp filter refuses epoll_pwait2 we
 * fall back to epoll_wait() with the timeout rounded *up* to whole milliseconds, so a timer
 * may fire up to 1 ms late but never early.
 *
 * Safe removal during dispatch. epoll hands back pointers to our watch records. A callback
 * may unwatch any fd, so an unwatched record is only marked dead and parked on a list that
 * is freed once the round's dispatch is over; later events for it in the same batch are
 * skipped. A new watch on a reused fd number gets a fresh record, so stale events never
 * reach it. */
#define _GNU_SOURCE
#include "rt_loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sys.h"

/* Build with -DLOOP_HAVE_PWAIT2=0 to exercise the millisecond fallback. */
#ifndef LOOP_HAVE_PWAIT2
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define LOOP_HAVE_PWAIT2 1
#else
#define LOOP_HAVE_PWAIT2 0
#endif
#endif

enum {
    LOOP_MAX_EVENTS = 64, /* events collected per epoll call */
    LOOP_NSIG = 65,       /* Linux signal numbers are 1..64 */
    LOOP_SIGINFO_BATCH = 8,
};

typedef struct loop_watch {
    int fd;
    uint32_t events; /* FLOE_RT_READ | FLOE_RT_WRITE interest */
    floe_rt_fd_cb cb;
    void *arg;
    bool dead;     /* unwatched during dispatch, freed at the end of the round */
    bool internal; /* the loop's own signalfd: invisible to unwatch/modify */
    struct loop_watch *next_dead;
} loop_watch;

struct floe_rt_timer {
    floe_rt_loop *loop;
    floe_rt_timer_cb cb;
    void *arg;
    floe_time_ns deadline;      /* FLOE_TIME_NEVER while unarmed */
    uint64_t seq;               /* arm order: breaks deadline ties, bounds a firing round */
    size_t heap_idx;            /* position in loop->heap, SIZE_MAX while unarmed */
    floe_rt_timer *prev, *next; /* every timer of the loop, for floe_rt_loop_free */
};

typedef struct loop_sig {
    floe_rt_signal_cb cb;
    void *arg;
} loop_sig;

struct floe_rt_loop {
    int epfd;
    bool stop;
    bool dispatching;
    bool no_pwait2;
    int calls; /* callbacks made in the current round */

    loop_watch **by_fd; /* watch record per fd number, NULL when unwatched */
    size_t by_fd_cap;
    size_t n_watches; /* user watches (the signalfd is not counted) */
    loop_watch *dead;

    floe_rt_timer **heap; /* min-heap on (deadline, seq) of armed timers */
    size_t heap_len;
    size_t heap_cap; /* always >= n_timers, so arming never allocates */
    size_t n_timers;
    floe_rt_timer *timers;
    uint64_t arm_seq;

    int sigfd;
    sigset_t sig_watched; /* signals with a handler (the signalfd mask) */
    sigset_t sig_blocked; /* signals this loop blocked, to unblock when done */
    size_t n_signals;
    loop_sig sig[LOOP_NSIG];
};

/* ---- events ---------------------------------------------------------------------------- */

static uint32_t loop_to_epoll(uint32_t events) {
    uint32_t e = 0;
    if (events & FLOE_RT_READ) e |= EPOLLIN;
    if (events & FLOE_RT_WRITE) e |= EPOLLOUT;
    return e;
}

static uint32_t loop_from_epoll(uint32_t e) {
    uint32_t events = 0;
    if (e & (EPOLLIN | EPOLLPRI)) events |= FLOE_RT_READ;
    if (e & EPOLLOUT) events |= FLOE_RT_WRITE;
    if (e & EPOLLERR) events |= FLOE_RT_ERROR;
    if (e & EPOLLHUP) events |= FLOE_RT_HUP;
    return events;
}

/* ---- watches --------------------------------------------------------------------------- */

static int loop_grow_by_fd(floe_rt_loop *loop, int fd) {
    size_t need = (size_t)fd + 1;
    if (need <= loop->by_fd_cap) return FLOE_OK;
    size_t cap = loop->by_fd_cap ? loop->by_fd_cap : 64;
    while (cap < need)
        cap *= 2;
    loop_watch **p = realloc(loop->by_fd, cap * sizeof *p);
    if (!p) return FLOE_ERR_NOMEM;
    memset(p + loop->by_fd_cap, 0, (cap - loop->by_fd_cap) * sizeof *p);
    loop->by_fd = p;
    loop->by_fd_cap = cap;
    return FLOE_OK;
}

static loop_watch *loop_find(const floe_rt_loop *loop, int fd) {
    if (fd < 0 || (size_t)fd >= loop->by_fd_cap) return NULL;
    return loop->by_fd[fd];
}

static int loop_add_watch(floe_rt_loop *loop, int fd, uint32_t events, floe_rt_fd_cb cb, void *arg,
                          bool internal) {
    int err = loop_grow_by_fd(loop, fd);
    if (err) return err;
    if (loop->by_fd[fd]) return FLOE_ERR_STATE;
    loop_watch *w = calloc(1, sizeof *w);
    if (!w) return FLOE_ERR_NOMEM;
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->arg = arg;
    w->internal = internal;
    struct epoll_event ev = {.events = loop_to_epoll(events), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int saved = errno;
        free(w);
        errno = saved;
        return FLOE_ERR_IO;
    }
    loop->by_fd[fd] = w;
    if (!internal) loop->n_watches++;
    return FLOE_OK;
}

int floe_rt_loop_watch(floe_rt_loop *loop, int fd, uint32_t events, floe_rt_fd_cb cb, void *arg) {
    if (!loop || fd < 0 || !cb || (events & ~(uint32_t)(FLOE_RT_READ | FLOE_RT_WRITE)))
        return FLOE_ERR_INVAL;
    return loop_add_watch(loop, fd, events, cb, arg, false);
}

int floe_rt_loop_modify(floe_rt_loop *loop, int fd, uint32_t events) {
    if (!loop || (events & ~(uint32_t)(FLOE_RT_READ | FLOE_RT_WRITE))) return FLOE_ERR_INVAL;
    loop_watch *w = loop_find(loop, fd);
    if (!w || w->internal) return FLOE_ERR_NOT_FOUND;
    if (w->events == events) return FLOE_OK;
    struct epoll_event ev = {.events = loop_to_epoll(events), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) return FLOE_ERR_IO;
    w->events = events;
    return FLOE_OK;
}

static void loop_drop_watch(floe_rt_loop *loop, loop_watch *w) {
    /* Fails harmlessly (EBADF/ENOENT) when the fd was closed already. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    loop->by_fd[w->fd] = NULL;
    if (!w->internal) loop->n_watches--;
    w->dead = true;
    if (loop->dispatching) {
        w->next_dead = loop->dead;
        loop->dead = w;
    } else {
        free(w);
    }
}

int floe_rt_loop_unwatch(floe_rt_loop *loop, int fd) {
    if (!loop) return FLOE_ERR_INVAL;
    loop_watch *w = loop_find(loop, fd);
    if (!w || w->internal) return FLOE_ERR_NOT_FOUND;
    loop_drop_watch(loop, w);
    return FLOE_OK;
}

/* ---- timers ---------------------------------------------------------------------------- */

static bool timer_before(const floe_rt_timer *a, const floe_rt_timer *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(floe_rt_loop *loop, size_t i, floe_rt_timer *t) {
    loop->heap[i] = t;
    t->heap_idx = i;
}

static void heap_sift_up(floe_rt_loop *loop, size_t i) {
    floe_rt_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent])) break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_sift_down(floe_rt_loop *loop, size_t i) {
    floe_rt_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len) break;
        if (child + 1 < loop->heap_len && timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t)) break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

static void heap_remove(floe_rt_loop *loop, floe_rt_timer *t) {
    size_t i = t->heap_idx;
    floe_rt_timer *last = loop->heap[--loop->heap_len];
    t->heap_idx = SIZE_MAX;
    if (last == t) return;
    heap_place(loop, i, last);
    heap_sift_up(loop, i);
    heap_sift_down(loop, last->heap_idx);
}

int floe_rt_timer_new(floe_rt_timer **out, floe_rt_loop *loop, floe_rt_timer_cb cb, void *arg) {
    if (!out || !loop || !cb) return FLOE_ERR_INVAL;
    *out = NULL;
    if (loop->heap_cap < loop->n_timers + 1) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        floe_rt_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (!h) return FLOE_ERR_NOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    floe_rt_timer *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    t->deadline = FLOE_TIME_NEVER;
    t->heap_idx = SIZE_MAX;
    t->next = loop->timers;
    if (loop->timers) loop->timers->prev = t;
    loop->timers = t;
    loop->n_timers++;
    *out = t;
    return FLOE_OK;
}

void floe_rt_timer_cancel(floe_rt_timer *t) {
    if (!t) return;
    if (t->heap_idx != SIZE_MAX) heap_remove(t->loop, t);
    t->deadline = FLOE_TIME_NEVER;
}

void floe_rt_timer_free(floe_rt_timer *t) {
    if (!t) return;
    floe_rt_loop *loop = t->loop;
    floe_rt_timer_cancel(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    loop->n_timers--;
    free(t);
}

void floe_rt_timer_arm(floe_rt_timer *t, floe_time_ns deadline) {
    if (!t) return;
    if (deadline == FLOE_TIME_NEVER) {
        floe_rt_timer_cancel(t);
        return;
    }
    floe_rt_loop *loop = t->loop;
    t->deadline = deadline;
    t->seq = loop->arm_seq++;
    if (t->heap_idx == SIZE_MAX) {
        /* heap_cap >= n_timers, so there is always room. */
        heap_place(loop, loop->heap_len++, t);
        heap_sift_up(loop, t->heap_idx);
    } else {
        heap_sift_up(loop, t->heap_idx);
        heap_sift_down(loop, t->heap_idx);
    }
}

bool floe_rt_timer_armed(const floe_rt_timer *t) {
    return t && t->heap_idx != SIZE_MAX;
}

floe_time_ns floe_rt_timer_deadline(const floe_rt_timer *t) {
    return t ? t->deadline : FLOE_TIME_NEVER;
}

/* Fires the timers due at now, in deadline order. Timers armed during this pass (seq at or
 * past the limit) wait for the next round, so a callback re-arming itself in the past cannot
 * keep one round going forever. */
static void loop_fire_timers(floe_rt_loop *loop) {
    if (loop->heap_len == 0) return;
    floe_time_ns now = floe_rt_now();
    uint64_t seq_limit = loop->arm_seq;
    while (loop->heap_len > 0) {
        floe_rt_timer *t = loop->heap[0];
        if (t->deadline > now || t->seq >= seq_limit) break;
        heap_remove(loop, t);
        t->deadline = FLOE_TIME_NEVER;
        loop->calls++;
        t->cb(t->arg, t);
    }
}

/* ---- signals --------------------------------------------------------------------------- */

static void loop_on_sigfd(void *arg, int fd, uint32_t events) {
    floe_rt_loop *loop = arg;
    (void)events;
    struct signalfd_siginfo si[LOOP_SIGINFO_BATCH];
    for (;;) {
        ssize_t n = read(fd, si, sizeof si);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t count = (size_t)n / sizeof si[0];
        for (size_t i = 0; i < count; i++) {
            int signo = (int)si[i].ssi_signo;
            if (signo <= 0 || signo >= LOOP_NSIG || !loop->sig[signo].cb) continue;
            loop->calls++;
            loop->sig[signo].cb(loop->sig[signo].arg, signo);
        }
        if (count < LOOP_SIGINFO_BATCH) break;
    }
}

/* Consumes pending instances of signo (they arrived while the loop owned it), then unblocks
 * it if the loop was the one that blocked it. */
static void loop_release_signal(floe_rt_loop *loop, int signo) {
    if (!sigismember(&loop->sig_blocked, signo)) return;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signo);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&one, NULL, &zero) > 0) {
    }
    (void)pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    sigdelset(&loop->sig_blocked, signo);
}

static int loop_set_sigfd_mask(floe_rt_loop *loop, const sigset_t *mask) {
    int fd = signalfd(loop->sigfd, mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return FLOE_ERR_IO;
    if (loop->sigfd < 0) {
        int err = loop_add_watch(loop, fd, FLOE_RT_READ, loop_on_sigfd, loop, true);
        if (err) {
            int saved = errno;
            close(fd);
            errno = saved;
            return err;
        }
        loop->sigfd = fd;
    }
    return FLOE_OK;
}

int floe_rt_loop_on_signal(floe_rt_loop *loop, int signo, floe_rt_signal_cb cb, void *arg) {
    if (!loop || signo <= 0 || signo >= LOOP_NSIG || signo == SIGKILL || signo == SIGSTOP)
        return FLOE_ERR_INVAL;
    bool watched = sigismember(&loop->sig_watched, signo) == 1;
    if (!cb) {
        if (!watched) return FLOE_OK;
        sigset_t mask = loop->sig_watched;
        sigdelset(&mask, signo);
        if (loop_set_sigfd_mask(loop, &mask)) return FLOE_ERR_IO;
        loop->sig_watched = mask;
        loop->n_signals--;
        loop->sig[signo] = (loop_sig){0};
        loop_release_signal(loop, signo);
        return FLOE_OK;
    }
    if (!watched) {
        sigset_t one, old;
        sigemptyset(&one);
        sigaddset(&one, signo);
        if (pthread_sigmask(SIG_BLOCK, &one, &old) != 0) return FLOE_ERR_IO;
        if (!sigismember(&old, signo)) sigaddset(&loop->sig_blocked, signo);
        sigset_t mask = loop->sig_watched;
        sigaddset(&mask, signo);
        int err = loop_set_sigfd_mask(loop, &mask);
        if (err) {
            loop_release_signal(loop, signo);
            return err;
        }
        loop->sig_watched = mask;
        loop->n_signals++;
    }
    loop->sig[signo] = (loop_sig){.cb = cb, .arg = arg};
    return FLOE_OK;
}

/* ---- the loop -------------------------------------------------------------------------- */

int floe_rt_loop_new(floe_rt_loop **out) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    floe_rt_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return FLOE_ERR_NOMEM;
    loop->sigfd = -1;
    sigemptyset(&loop->sig_watched);
    sigemptyset(&loop->sig_blocked);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int saved = errno;
        free(loop);
        errno = saved;
        return FLOE_ERR_IO;
    }
    *out = loop;
    return FLOE_OK;
}

void floe_rt_loop_free(floe_rt_loop *loop) {
    if (!loop) return;
    while (loop->timers)
        floe_rt_timer_free(loop->timers);
    free(loop->heap);
    for (size_t fd = 0; fd < loop->by_fd_cap; fd++)
        free(loop->by_fd[fd]);
    free(loop->by_fd);
    while (loop->dead) {
        loop_watch *w = loop->dead;
        loop->dead = w->next_dead;
        free(w);
    }
    if (loop->sigfd >= 0) close(loop->sigfd);
    for (int signo = 1; signo < LOOP_NSIG; signo++)
        loop_release_signal(loop, signo);
    close(loop->epfd);
    free(loop);
}

void floe_rt_loop_stop(floe_rt_loop *loop) {
    if (loop) loop->stop = true;
}

/* Waits for events: rel_ns is the longest wait, FLOE_TIME_NEVER for no limit. */
static int loop_wait(floe_rt_loop *loop, struct epoll_event *ev, floe_time_ns rel_ns) {
#if LOOP_HAVE_PWAIT2
    if (!loop->no_pwait2) {
        struct timespec ts = {.tv_sec = (time_t)(rel_ns / FLOE_NS_PER_S),
                              .tv_nsec = (long)(rel_ns % FLOE_NS_PER_S)};
        int n = epoll_pwait2(loop->epfd, ev, LOOP_MAX_EVENTS,
                             rel_ns == FLOE_TIME_NEVER ? NULL : &ts, NULL);
        if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
        loop->no_pwait2 = true;
    }
#endif
    int ms;
    if (rel_ns == FLOE_TIME_NEVER) {
        ms = -1;
    } else {
        /* Round up so a timer never fires before its deadline. */
        floe_time_ns up = rel_ns / FLOE_NS_PER_MS + (rel_ns % FLOE_NS_PER_MS ? 1 : 0);
        ms = up > (floe_time_ns)INT_MAX ? INT_MAX : (int)up;
    }
    return epoll_wait(loop->epfd, ev, LOOP_MAX_EVENTS, ms);
}

int floe_rt_loop_run_once(floe_rt_loop *loop, floe_time_ns max_wait_ns) {
    if (!loop) return FLOE_ERR_INVAL;
    if (loop->dispatching) return FLOE_ERR_STATE;

    /* How long to sleep: until the earliest timer or the caller's limit. */
    floe_time_ns rel = 0;
    if (max_wait_ns != 0) {
        floe_time_ns wake = loop->heap_len ? loop->heap[0]->deadline : FLOE_TIME_NEVER;
        if (wake == FLOE_TIME_NEVER && max_wait_ns == FLOE_TIME_NEVER) {
            rel = FLOE_TIME_NEVER;
        } else {
            floe_time_ns now = floe_rt_now();
            if (max_wait_ns != FLOE_TIME_NEVER) {
                floe_time_ns limit = max_wait_ns > FLOE_TIME_NEVER - 1 - now ? FLOE_TIME_NEVER - 1
                                                                             : now + max_wait_ns;
                if (limit < wake) wake = limit;
            }
            rel = wake > now ? wake - now : 0;
        }
    }

    struct epoll_event ev[LOOP_MAX_EVENTS];
    int n = loop_wait(loop, ev, rel);
    if (n < 0) {
        if (errno != EINTR) return FLOE_ERR_IO;
        n = 0;
    }

    loop->dispatching = true;
    loop->calls = 0;
    for (int i = 0; i < n; i++) {
        loop_watch *w = ev[i].data.ptr;
        if (w->dead) continue;
        uint32_t events = loop_from_epoll(ev[i].events) & (w->events | FLOE_RT_ERROR | FLOE_RT_HUP);
        if (!events) continue;
        if (!w->internal) loop->calls++;
        w->cb(w->arg, w->fd, events);
    }
    loop_fire_timers(loop);
    loop->dispatching = false;

    while (loop->dead) {
        loop_watch *w = loop->dead;
        loop->dead = w->next_dead;
        free(w);
    }
    return loop->calls;
}

int floe_rt_loop_run(floe_rt_loop *loop) {
    if (!loop) return FLOE_ERR_INVAL;
    if (loop->dispatching) return FLOE_ERR_STATE;
    int err = FLOE_OK;
    while (!loop->stop) {
        if (loop->n_watches == 0 && loop->heap_len == 0 && loop->n_signals == 0) break;
        int r = floe_rt_loop_run_once(loop, FLOE_TIME_NEVER);
        if (r < 0) {
            err = r;
            break;
        }
    }
    loop->stop = false;
    return err;
}
