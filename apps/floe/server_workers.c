/* `floe server --workers N`: N event loops, one per thread, on the same listening
 * addresses (SO_REUSEPORT). Worker 0 is the main thread's app; workers 1..N-1 are built
 * by the main thread (sockets, TURN core) before their threads start, run their own loop,
 * and are freed by the main thread after their threads ended (docs/adr/0011).
 *
 * What the threads share, and how:
 *   - read-only after start: the settings (each worker has a copy of the struct; the user
 *     and secret lists are worker 0's), the nonce key, the split user list, the fleet;
 *   - commands from the main thread: bits in an atomic word, and an eventfd that wakes
 *     the worker's loop; a reload hands over a package of settings with a reference
 *     count (the last worker to apply it frees it);
 *   - numbers for --stats and /metrics: each worker copies its counters and gauges every
 *     PUBLISH_INTERVAL, and after each command, under its own mutex; --stats and /metrics
 *     ask every worker for a fresh copy and wait for it (at most FRESH_WAIT_NS);
 *   - allocation quotas (total and per user): one table under one mutex, asked by the
 *     TURN cores through cfg.admit/cfg.release on every Allocate and every allocation end
 *     (not per packet);
 *   - reserved ports (EVEN-PORT with R): one floe_turn_reservations table under another
 *     mutex (cfg.reservations, cfg.lock), so that the worker an RTCP Allocate reaches can
 *     take the token another worker made; the held socket is no loop's until a worker
 *     claims it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sys.h"
#include "server_rt.h"

enum { WCMD_RELOAD = 1u, WCMD_DRAIN = 2u, WCMD_STOP = 4u, WCMD_PUBLISH = 8u };

#define FRESH_WAIT_NS FLOE_MS(100) /* how long --stats waits for a worker's fresh numbers */

#define QUOTA_NONE UINT32_MAX

/* Settings handed to the workers by a reload. */
typedef struct reload_pkg {
    server_settings set;
    floe_turn_user *users;
    atomic_uint refs;
} reload_pkg;

typedef struct worker {
    fleet *f;
    unsigned id;
    app *a;
    pthread_t thread;
    bool running; /* its thread was started and not joined yet (main thread's view) */
    int efd;      /* eventfd: wakes the worker's loop for a command */
    atomic_uint cmd;
    _Atomic(reload_pkg *) reload;
    floe_rt_timer *publish;
    pthread_mutex_t lock; /* guards snap and gen */
    pthread_cond_t published;
    bool lock_ready;
    srv_numbers snap;
    uint64_t gen; /* snapshots published */
} worker;

/* Allocations of one username (keyed hash) in all the workers. */
typedef struct quota_node {
    uint64_t hash;
    uint32_t n, next;
} quota_node;

struct fleet {
    unsigned n;
    app *a0;
    uint8_t nonce_key[32];
    floe_turn_user *users; /* from worker 0's settings, split once */
    worker w[SERVER_MAX_WORKERS];
    /* Shared reservations (n > 1), under rlock. */
    floe_turn_reservations *resv;
    pthread_mutex_t rlock;
    /* Shared quotas (n > 1), under qlock. */
    pthread_mutex_t qlock;
    uint32_t total, max_total, user_quota, n_users;
    quota_node *node; /* max_total nodes: never more users than allocations */
    uint32_t *bucket, mask, free_head, high;
};

/* ---- the fleet -------------------------------------------------------------------------- */

void srv_split_users(server_settings *set, floe_turn_user *users) {
    for (size_t i = 0; i < set->n_users; i++) {
        char *colon = strchr(set->users[i], ':');
        users[i].name = set->users[i];
        users[i].password = colon + 1;
        *colon = '\0'; /* the settings keep "name\0password" from here on */
    }
}

int srv_fleet_new(app *a0) {
    fleet *f = calloc(1, sizeof *f);
    if (!f) return -1;
    a0->fleet = f;
    f->a0 = a0;
    f->n = a0->set.workers ? a0->set.workers : 1;
    f->max_total = a0->set.max_allocations;
    f->user_quota = a0->set.user_quota;
    pthread_mutex_init(&f->qlock, NULL);
    pthread_mutex_init(&f->rlock, NULL);
    for (unsigned id = 0; id < SERVER_MAX_WORKERS; id++)
        f->w[id].efd = -1;
    if (floe_rt_random(NULL, f->nonce_key, sizeof f->nonce_key) != FLOE_OK) {
        fprintf(stderr, "floe server: no random bytes for the nonce key\n");
        return -1;
    }
    if (a0->set.realm[0]) {
        f->users = calloc(a0->set.n_users + 1, sizeof *f->users);
        if (!f->users) return -1;
        srv_split_users(&a0->set, f->users);
    }
    if (f->n > 1 && a0->set.realm[0]) {
        uint32_t nb = 1;
        while (nb < f->max_total)
            nb <<= 1;
        f->node = calloc(f->max_total, sizeof *f->node);
        f->bucket = malloc(nb * sizeof *f->bucket);
        if (!f->node || !f->bucket) return -1;
        for (uint32_t i = 0; i < nb; i++)
            f->bucket[i] = QUOTA_NONE;
        f->mask = nb - 1;
        f->free_head = QUOTA_NONE;
        if (floe_turn_reservations_new(&f->resv, a0->set.max_reservations) != FLOE_OK) return -1;
    }
    return 0;
}

floe_turn_reservations *srv_fleet_reservations(const app *a) {
    return a->fleet ? a->fleet->resv : NULL;
}

void srv_reservations_lock(void *ctx, bool on) {
    fleet *f = ((app *)ctx)->fleet;
    if (on)
        pthread_mutex_lock(&f->rlock);
    else
        pthread_mutex_unlock(&f->rlock);
}

/* A port still held when the server stops: no worker is left to close it. */
static void release_held(void *ctx, uint64_t held) {
    (void)ctx;
    relay *r = (relay *)(uintptr_t)held;
    close(r->fd);
    free(r);
}

unsigned srv_fleet_size(const app *a) {
    return a->fleet ? a->fleet->n : 1;
}

const uint8_t *srv_fleet_key(const app *a) {
    return a->fleet->nonce_key;
}

const floe_turn_user *srv_fleet_users(const app *a) {
    return a->fleet->users;
}

/* ---- shared quotas ------------------------------------------------------------------------ */

static uint32_t *quota_link(fleet *f, uint64_t h) {
    uint32_t *link = &f->bucket[h & f->mask];
    while (*link != QUOTA_NONE && f->node[*link].hash != h)
        link = &f->node[*link].next;
    return link;
}

int srv_admit_cb(void *ctx, uint64_t h) {
    fleet *f = ((app *)ctx)->fleet;
    int rc = 0;
    pthread_mutex_lock(&f->qlock);
    uint32_t *link = quota_link(f, h);
    if (f->total >= f->max_total) {
        rc = 508;
    } else if (*link != QUOTA_NONE) {
        if (f->user_quota && f->node[*link].n >= f->user_quota)
            rc = 486;
        else
            f->node[*link].n++;
    } else { /* a node per user with an allocation: fewer than max_total while total is */
        uint32_t i = f->free_head;
        if (i != QUOTA_NONE)
            f->free_head = f->node[i].next;
        else
            i = f->high++;
        f->node[i] = (quota_node){.hash = h, .n = 1, .next = QUOTA_NONE};
        *link = i;
        f->n_users++;
    }
    if (rc == 0) f->total++;
    pthread_mutex_unlock(&f->qlock);
    return rc;
}

void srv_release_cb(void *ctx, uint64_t h) {
    fleet *f = ((app *)ctx)->fleet;
    pthread_mutex_lock(&f->qlock);
    uint32_t *link = quota_link(f, h);
    if (*link != QUOTA_NONE && f->total > 0) {
        f->total--;
        uint32_t i = *link;
        if (--f->node[i].n == 0) {
            *link = f->node[i].next;
            f->node[i].next = f->free_head;
            f->free_head = i;
            f->n_users--;
        }
    }
    pthread_mutex_unlock(&f->qlock);
}

uint32_t srv_fleet_active_users(app *a0, const srv_numbers *total) {
    fleet *f = a0->fleet;
    if (!f || f->n < 2 || !f->node) return total->g.users_with_allocations;
    pthread_mutex_lock(&f->qlock);
    uint32_t n = f->n_users;
    pthread_mutex_unlock(&f->qlock);
    return n;
}

/* ---- the workers' side -------------------------------------------------------------------- */

static void pkg_unref(reload_pkg *p) {
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    server_settings_free(&p->set);
    free(p->users);
    free(p);
}

/* Copies the worker's numbers where the main thread reads them. */
static void publish(worker *w) {
    srv_numbers n;
    srv_numbers_take(w->a, &n);
    pthread_mutex_lock(&w->lock);
    w->snap = n;
    w->gen++;
    pthread_cond_broadcast(&w->published);
    pthread_mutex_unlock(&w->lock);
}

static void on_publish(void *arg, floe_rt_timer *t) {
    worker *w = arg;
    publish(w);
    floe_rt_timer_arm(t, floe_rt_now() + PUBLISH_INTERVAL);
}

static void on_command(void *arg, int fd, uint32_t events) {
    (void)events;
    worker *w = arg;
    app *a = w->a;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN) return;
    unsigned bits = atomic_exchange(&w->cmd, 0u);
    if (bits & WCMD_RELOAD) {
        reload_pkg *p = atomic_exchange(&w->reload, NULL);
        if (p) {
            int rc = srv_reload_core(a, &p->set, p->users);
            if (rc == FLOE_OK)
                a->rtc[RTC_RELOADS]++;
            else
                fprintf(stderr, "floe server: worker %u: reload refused (%s)\n", w->id,
                        floe_strerror(rc));
            pkg_unref(p);
        }
    }
    if ((bits & WCMD_DRAIN) && a->turn) {
        floe_turn_server_drain(a->turn);
        a->draining = true;
    }
    if (bits & WCMD_STOP) floe_rt_loop_stop(a->loop);
    publish(w);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    if (floe_rt_loop_run(w->a->loop) != FLOE_OK)
        fprintf(stderr, "floe server: worker %u: event loop failed\n", w->id);
    publish(w); /* the last numbers, for the final counters line */
    return NULL;
}

/* ---- the main thread's side --------------------------------------------------------------- */

static void post(worker *w, unsigned bit) {
    atomic_fetch_or(&w->cmd, bit);
    uint64_t one = 1;
    ssize_t k = write(w->efd, &one, sizeof one);
    (void)k; /* a full counter (EAGAIN) wakes the worker all the same */
}

int srv_fleet_start(app *a0) {
    fleet *f = a0->fleet;
    for (unsigned id = 1; id < f->n; id++) {
        worker *w = &f->w[id];
        w->f = f;
        w->id = id;
        if (pthread_mutex_init(&w->lock, NULL) != 0) return -1;
        if (pthread_cond_init(&w->published, NULL) != 0) {
            pthread_mutex_destroy(&w->lock);
            return -1;
        }
        w->lock_ready = true;
        if (!(w->a = srv_worker_new(a0, id))) return -1;
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->efd < 0 ||
            floe_rt_loop_watch(w->a->loop, w->efd, FLOE_RT_READ, on_command, w) != FLOE_OK ||
            floe_rt_timer_new(&w->publish, w->a->loop, on_publish, w) != FLOE_OK) {
            fprintf(stderr, "floe server: worker %u: no eventfd or timer\n", id);
            return -1;
        }
        floe_rt_timer_arm(w->publish, floe_rt_now() + PUBLISH_INTERVAL);
        publish(w);
    }
    /* The threads inherit worker 0's blocked signals: only its loop takes them. */
    for (unsigned id = 1; id < f->n; id++) {
        worker *w = &f->w[id];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "floe server: cannot start worker %u: %s\n", id, strerror(errno));
            return -1;
        }
        w->running = true;
    }
    return 0;
}

void srv_fleet_stop(app *a0) {
    fleet *f = a0->fleet;
    if (!f) return;
    for (unsigned id = 1; id < f->n; id++)
        if (f->w[id].running) post(&f->w[id], WCMD_STOP);
    for (unsigned id = 1; id < f->n; id++)
        if (f->w[id].running) {
            pthread_join(f->w[id].thread, NULL);
            f->w[id].running = false;
        }
}

void srv_fleet_free(fleet *f) {
    if (!f) return;
    for (unsigned id = 1; id < f->n; id++) {
        worker *w = &f->w[id];
        if (w->a) {
            floe_rt_timer_free(w->publish);
            if (w->efd >= 0) floe_rt_loop_unwatch(w->a->loop, w->efd);
            srv_app_free(w->a); /* gives its allocations back to the quotas below */
        }
        if (w->efd >= 0) close(w->efd);
        pkg_unref(atomic_exchange(&w->reload, NULL));
        if (w->lock_ready) {
            pthread_cond_destroy(&w->published);
            pthread_mutex_destroy(&w->lock);
        }
    }
    /* After every core: the ports the workers' tables no longer name. */
    floe_turn_reservations_free(f->resv, release_held, NULL);
    pthread_mutex_destroy(&f->rlock);
    pthread_mutex_destroy(&f->qlock);
    free(f->node);
    free(f->bucket);
    free(f->users);
    free(f);
}

void srv_fleet_reload(app *a0, server_settings *set, floe_turn_user *users) {
    fleet *f = a0->fleet;
    pthread_mutex_lock(&f->qlock);
    f->user_quota = set->user_quota;
    pthread_mutex_unlock(&f->qlock);
    if (f->n < 2) {
        server_settings_free(set);
        free(set);
        free(users);
        return;
    }
    reload_pkg *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr,
                "floe server: reload: out of memory; workers 1..%u keep their "
                "configuration\n",
                f->n - 1);
        server_settings_free(set);
        free(set);
        free(users);
        return;
    }
    p->set = *set; /* the lists move into the package */
    free(set);
    p->users = users;
    atomic_init(&p->refs, f->n - 1);
    for (unsigned id = 1; id < f->n; id++) {
        /* A package the worker has not taken yet is replaced: the newest one counts. */
        pkg_unref(atomic_exchange(&f->w[id].reload, p));
        post(&f->w[id], WCMD_RELOAD);
    }
}

void srv_fleet_drain(app *a0) {
    fleet *f = a0->fleet;
    for (unsigned id = 1; id < f->n; id++)
        post(&f->w[id], WCMD_DRAIN);
}

static void add_numbers(srv_numbers *t, const srv_numbers *n) {
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++)
        t->stun[i] += n->stun[i];
    for (int i = 0; i < RTC_COUNT; i++)
        t->rtc[i] += n->rtc[i];
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++)
        t->turn[i] += n->turn[i];
    t->g.allocations += n->g.allocations;
    t->g.permissions += n->g.permissions;
    t->g.channels += n->g.channels;
    t->g.users_with_allocations += n->g.users_with_allocations;
    t->g.reservations += n->g.reservations;
    t->g.table_bytes += n->g.table_bytes;
    t->streams += n->streams;
    t->dsess += n->dsess;
    t->relays += n->relays;
}

unsigned srv_fleet_numbers(app *a0, bool fresh, srv_numbers *total, srv_numbers *per,
                           bool *all_draining) {
    fleet *f = a0->fleet;
    srv_numbers n;
    srv_numbers_take(a0, &n);
    *total = n;
    *all_draining = n.draining;
    if (per) per[0] = n;
    unsigned count = f ? f->n : 1;
    uint64_t asked[SERVER_MAX_WORKERS] = {0};
    for (unsigned id = 1; fresh && id < count; id++) { /* ask all first, then wait */
        worker *w = &f->w[id];
        if (!w->running) continue;
        pthread_mutex_lock(&w->lock);
        asked[id] = w->gen + 1;
        pthread_mutex_unlock(&w->lock);
        post(w, WCMD_PUBLISH);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += FRESH_WAIT_NS;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    for (unsigned id = 1; id < count; id++) {
        worker *w = &f->w[id];
        if (!w->lock_ready) continue;
        pthread_mutex_lock(&w->lock);
        while (asked[id] && w->gen < asked[id])
            if (pthread_cond_timedwait(&w->published, &w->lock, &until) != 0) break;
        n = w->snap;
        pthread_mutex_unlock(&w->lock);
        add_numbers(total, &n);
        *all_draining = *all_draining && n.draining;
        if (per) per[id] = n;
    }
    return count;
}
