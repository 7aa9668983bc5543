/* Tests of the POSIX event loop: timer order, cancel and re-arm, fd watches removed from
 * inside callbacks, signals through signalfd, run/stop. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_loop.h"
#include "rt_sys.h"

/* ---- timers ---------------------------------------------------------------------------- */

typedef struct fired_log {
    floe_rt_loop *loop;
    int order[2048];
    floe_time_ns at[2048];
    int n;
    int stop_after;
} fired_log;

typedef struct tagged_timer {
    fired_log *log;
    int id;
    floe_rt_timer *t;
} tagged_timer;

static void record_fire(void *arg, floe_rt_timer *t) {
    tagged_timer *tt = arg;
    assert_ptr_equal(tt->t, t);
    assert_false(floe_rt_timer_armed(t));
    assert_true(floe_rt_timer_deadline(t) == FLOE_TIME_NEVER);
    fired_log *log = tt->log;
    log->at[log->n] = floe_rt_now();
    log->order[log->n++] = tt->id;
    if (log->n == log->stop_after) floe_rt_loop_stop(log->loop);
}

static void test_timers_fire_in_deadline_order(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    fired_log log = {.loop = loop, .stop_after = 4};
    /* id i wants to fire at base + offset_ms[i]. */
    const int offset_ms[6] = {30, 10, 50, 20, 40, 25};
    tagged_timer tt[6];
    floe_time_ns base = floe_rt_now();
    for (int i = 0; i < 6; i++) {
        tt[i] = (tagged_timer){.log = &log, .id = i};
        assert_int_equal(floe_rt_timer_new(&tt[i].t, loop, record_fire, &tt[i]), FLOE_OK);
        floe_rt_timer_arm(tt[i].t, base + FLOE_MS(offset_ms[i]));
        assert_true(floe_rt_timer_armed(tt[i].t));
    }
    floe_rt_timer_cancel(tt[3].t);                  /* 20 ms: cancelled, must never fire */
    floe_rt_timer_arm(tt[2].t, base + FLOE_MS(5));  /* 50 -> 5 ms: re-armed earlier */
    floe_rt_timer_arm(tt[1].t, base + FLOE_MS(45)); /* 10 -> 45 ms: re-armed later */
    floe_rt_timer_free(tt[5].t);                    /* 25 ms: freed, must never fire */
    tt[5].t = NULL;
    assert_false(floe_rt_timer_armed(tt[3].t));

    assert_int_equal(floe_rt_loop_run(loop), FLOE_OK);
    const int want[4] = {2, 0, 4, 1};
    const int want_ms[4] = {5, 30, 40, 45};
    assert_int_equal(log.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(log.order[i], want[i]);
        assert_true(log.at[i] >= base + FLOE_MS(want_ms[i])); /* never early */
    }
    /* Only the cancelled timer is left and it is not armed: run returns at once. */
    assert_int_equal(floe_rt_loop_run(loop), FLOE_OK);
    assert_int_equal(log.n, 4);
    for (int i = 0; i < 5; i++)
        floe_rt_timer_free(tt[i].t);
    floe_rt_loop_free(loop);
}

/* Many timers, deadlines already past, every third cancelled: one round fires the rest in
 * (deadline, arm order) order. Checks the heap against a simple reference. */
static void test_timer_heap_many(void **state) {
    (void)state;
    enum { N = 1000 };
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    static fired_log log;
    static tagged_timer tt[N];
    static floe_time_ns dl[N];
    memset(&log, 0, sizeof log);
    log.loop = loop;
    log.stop_after = -1;
    uint32_t x = 12345;
    floe_time_ns now = floe_rt_now();
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        dl[i] = now - FLOE_MS(1000) + (x >> 16) % 500; /* many equal deadlines too */
        tt[i] = (tagged_timer){.log = &log, .id = i};
        assert_int_equal(floe_rt_timer_new(&tt[i].t, loop, record_fire, &tt[i]), FLOE_OK);
        floe_rt_timer_arm(tt[i].t, dl[i] + 1000000); /* armed first at another deadline */
    }
    for (int i = 0; i < N; i++)
        floe_rt_timer_arm(tt[i].t, dl[i]);
    for (int i = 0; i < N; i += 3)
        floe_rt_timer_cancel(tt[i].t);
    int calls = floe_rt_loop_run_once(loop, 0);
    int expect = N - (N + 2) / 3;
    assert_int_equal(calls, expect);
    assert_int_equal(log.n, expect);
    for (int k = 1; k < log.n; k++) {
        int a = log.order[k - 1], b = log.order[k];
        /* Re-arm order equals index order, so ties break by index. */
        assert_true(dl[a] < dl[b] || (dl[a] == dl[b] && a < b));
    }
    for (int k = 0; k < log.n; k++)
        assert_int_not_equal(log.order[k] % 3, 0);
    for (int i = 0; i < N; i++)
        floe_rt_timer_free(tt[i].t);
    floe_rt_loop_free(loop);
}

typedef struct rearm_state {
    floe_rt_loop *loop;
    int fired;
} rearm_state;

static void rearm_in_past(void *arg, floe_rt_timer *t) {
    rearm_state *s = arg;
    s->fired++;
    /* Re-arming into the past from the callback must not loop within one round. */
    floe_rt_timer_arm(t, 0);
}

static void self_free(void *arg, floe_rt_timer *t) {
    rearm_state *s = arg;
    s->fired++;
    floe_rt_timer_free(t);
}

static void test_timer_rearm_and_free_from_callback(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    rearm_state s = {.loop = loop};
    floe_rt_timer *t;
    assert_int_equal(floe_rt_timer_new(&t, loop, rearm_in_past, &s), FLOE_OK);
    floe_rt_timer_arm(t, 1); /* long past */
    assert_int_equal(floe_rt_loop_run_once(loop, 0), 1);
    assert_int_equal(s.fired, 1);
    assert_true(floe_rt_timer_armed(t));
    assert_int_equal(floe_rt_loop_run_once(loop, 0), 1);
    assert_int_equal(s.fired, 2);
    floe_rt_timer_cancel(t);
    assert_int_equal(floe_rt_loop_run_once(loop, 0), 0);

    rearm_state s2 = {.loop = loop};
    floe_rt_timer *t2;
    assert_int_equal(floe_rt_timer_new(&t2, loop, self_free, &s2), FLOE_OK);
    floe_rt_timer_arm(t2, floe_rt_now() + FLOE_MS(2));
    assert_int_equal(floe_rt_loop_run(loop), FLOE_OK); /* returns once nothing is left */
    assert_int_equal(s2.fired, 1);
    /* t is still owned by the loop: floe_rt_loop_free releases it. */
    floe_rt_loop_free(loop);
}

static void test_run_once_waits_max(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    floe_time_ns t0 = floe_rt_now();
    /* Nothing to wait for and a finite limit: times out, no callbacks. */
    assert_int_equal(floe_rt_loop_run_once(loop, FLOE_MS(20)), 0);
    assert_true(floe_rt_now() - t0 >= FLOE_MS(20));
    floe_rt_loop_free(loop);
}

/* ---- fd watches ------------------------------------------------------------------------ */

typedef struct pair_state {
    floe_rt_loop *loop;
    int a[2], b[2]; /* two pipes, both readable */
    int calls;
    int last_fd;
} pair_state;

static void unwatch_both(void *arg, int fd, uint32_t events) {
    pair_state *s = arg;
    assert_true(events & FLOE_RT_READ);
    s->calls++;
    s->last_fd = fd;
    assert_int_equal(floe_rt_loop_unwatch(s->loop, s->a[0]), FLOE_OK);
    assert_int_equal(floe_rt_loop_unwatch(s->loop, s->b[0]), FLOE_OK);
    assert_int_equal(floe_rt_loop_unwatch(s->loop, s->b[0]), FLOE_ERR_NOT_FOUND);
}

static void test_unwatch_other_fd_inside_callback(void **state) {
    (void)state;
    pair_state s = {0};
    assert_int_equal(floe_rt_loop_new(&s.loop), FLOE_OK);
    assert_int_equal(pipe(s.a), 0);
    assert_int_equal(pipe(s.b), 0);
    assert_int_equal(write(s.a[1], "x", 1), 1);
    assert_int_equal(write(s.b[1], "y", 1), 1);
    assert_int_equal(floe_rt_loop_watch(s.loop, s.a[0], FLOE_RT_READ, unwatch_both, &s), FLOE_OK);
    assert_int_equal(floe_rt_loop_watch(s.loop, s.b[0], FLOE_RT_READ, unwatch_both, &s), FLOE_OK);
    assert_int_equal(floe_rt_loop_watch(s.loop, s.b[0], FLOE_RT_READ, unwatch_both, &s),
                     FLOE_ERR_STATE);
    /* Both are ready in the same round; the first callback removes both watches, so the
     * second event must be dropped. */
    assert_int_equal(floe_rt_loop_run_once(s.loop, FLOE_MS(1000)), 1);
    assert_int_equal(s.calls, 1);
    assert_int_equal(floe_rt_loop_run_once(s.loop, 0), 0);
    assert_int_equal(floe_rt_loop_run(s.loop), FLOE_OK); /* nothing left */
    close(s.a[0]);
    close(s.a[1]);
    close(s.b[0]);
    close(s.b[1]);
    floe_rt_loop_free(s.loop);
}

typedef struct rw_state {
    floe_rt_loop *loop;
    int rd, wr;
    int reads, writes;
} rw_state;

static void on_rw(void *arg, int fd, uint32_t events) {
    rw_state *s = arg;
    if (fd == s->wr) {
        assert_true(events & FLOE_RT_WRITE);
        s->writes++;
        assert_int_equal(write(fd, "ping", 4), 4);
        /* Writable forever: stop asking, or level-triggered epoll keeps calling. */
        assert_int_equal(floe_rt_loop_modify(s->loop, fd, 0), FLOE_OK);
    } else {
        assert_true(events & FLOE_RT_READ);
        char buf[8];
        assert_int_equal(read(fd, buf, sizeof buf), 4);
        s->reads++;
        floe_rt_loop_stop(s->loop);
    }
}

static void test_watch_read_write_modify(void **state) {
    (void)state;
    rw_state s = {0};
    int p[2];
    assert_int_equal(pipe(p), 0);
    s.rd = p[0];
    s.wr = p[1];
    assert_int_equal(floe_rt_loop_new(&s.loop), FLOE_OK);
    assert_int_equal(floe_rt_loop_watch(s.loop, s.rd, FLOE_RT_READ, on_rw, &s), FLOE_OK);
    assert_int_equal(floe_rt_loop_watch(s.loop, s.wr, 0, on_rw, &s), FLOE_OK);
    assert_int_equal(floe_rt_loop_modify(s.loop, s.wr, FLOE_RT_WRITE), FLOE_OK);
    assert_int_equal(floe_rt_loop_modify(s.loop, 999, FLOE_RT_WRITE), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_rt_loop_run(s.loop), FLOE_OK);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.reads, 1);
    assert_int_equal(floe_rt_loop_unwatch(s.loop, s.rd), FLOE_OK);
    assert_int_equal(floe_rt_loop_unwatch(s.loop, s.wr), FLOE_OK);
    close(p[0]);
    close(p[1]);
    floe_rt_loop_free(s.loop);
}

/* ---- signals --------------------------------------------------------------------------- */

typedef struct sig_state {
    floe_rt_loop *loop;
    int count;
    int signo;
} sig_state;

static void on_sig(void *arg, int signo) {
    sig_state *s = arg;
    s->count++;
    s->signo = signo;
    floe_rt_loop_stop(s->loop);
}

static bool usr1_blocked(void) {
    sigset_t cur;
    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
    return sigismember(&cur, SIGUSR1) == 1;
}

static void test_signalfd_delivers_sigusr1(void **state) {
    (void)state;
    sig_state s = {0};
    assert_int_equal(floe_rt_loop_new(&s.loop), FLOE_OK);
    assert_int_equal(floe_rt_loop_on_signal(s.loop, SIGKILL, on_sig, &s), FLOE_ERR_INVAL);
    assert_int_equal(floe_rt_loop_on_signal(s.loop, 0, on_sig, &s), FLOE_ERR_INVAL);
    assert_false(usr1_blocked());
    assert_int_equal(floe_rt_loop_on_signal(s.loop, SIGUSR1, on_sig, &s), FLOE_OK);
    assert_true(usr1_blocked());
    assert_int_equal(raise(SIGUSR1), 0); /* blocked: queued for the signalfd, not fatal */
    assert_int_equal(floe_rt_loop_run(s.loop), FLOE_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.signo, SIGUSR1);

    /* Again through run_once, then remove the handler: the mask is restored. */
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(floe_rt_loop_run_once(s.loop, FLOE_S(2)), 1);
    assert_int_equal(s.count, 2);
    assert_int_equal(floe_rt_loop_on_signal(s.loop, SIGUSR1, NULL, NULL), FLOE_OK);
    assert_false(usr1_blocked());

    /* A signal left pending when the loop is freed is consumed, not delivered fatally. */
    assert_int_equal(floe_rt_loop_on_signal(s.loop, SIGUSR1, on_sig, &s), FLOE_OK);
    assert_int_equal(raise(SIGUSR1), 0);
    floe_rt_loop_free(s.loop);
    assert_false(usr1_blocked());
    assert_int_equal(s.count, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_deadline_order),
        cmocka_unit_test(test_timer_heap_many),
        cmocka_unit_test(test_timer_rearm_and_free_from_callback),
        cmocka_unit_test(test_run_once_waits_max),
        cmocka_unit_test(test_unwatch_other_fd_inside_callback),
        cmocka_unit_test(test_watch_read_write_modify),
        cmocka_unit_test(test_signalfd_delivers_sigusr1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
