/* Pieces shared by the `floe bench` load tools (see bench_util.h). */
#define _GNU_SOURCE
#include "bench_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_udp.h"

/* ---- stopping ------------------------------------------------------------------------ */

static volatile sig_atomic_t bench_stop_flag;

static void bench_on_signal(int signo) {
    (void)signo;
    bench_stop_flag = 1;
}

void floe_bench_catch_stop(void) {
    struct sigaction sa = {0};
    sa.sa_handler = bench_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool floe_bench_stopping(void) {
    return bench_stop_flag != 0;
}

/* ---- options ------------------------------------------------------------------------- */

bool floe_bench_seconds(const char *s, double lo, double hi, double *out) {
    if (!s) return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || !(d >= lo && d <= hi)) return false;
    *out = d;
    return true;
}

/* ---- sockets ------------------------------------------------------------------------- */

int floe_bench_udp_connect(const floe_addr *from, const floe_addr *to, unsigned flags, int *fd,
                           floe_addr *local) {
    *fd = -1;
    floe_addr any = {0};
    any.family = to->family;
    if (from) {
        any = *from;
        any.port = 0;
    } else if (any.family == FLOE_AF_INET4 && (floe_addr_classify(to, NULL) & FLOE_ADDR_LOOPBACK)) {
        floe_addr_set_v4(&any, 0x7f000001u, 0); /* stay on loopback */
    }
    int err = floe_rt_udp_open(&any, flags, fd, NULL);
    if (err) return err;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (floe_rt_addr_to_sockaddr(to, &ss, &sslen))
        err = FLOE_ERR_INVAL;
    else if (connect(*fd, (struct sockaddr *)&ss, sslen) < 0)
        err = floe_rt_err_from_errno(errno);
    else if (local && floe_rt_local_addr(*fd, local))
        err = FLOE_ERR_IO;
    if (err) {
        int saved = errno;
        close(*fd);
        *fd = -1;
        errno = saved;
    }
    return err;
}

/* ---- the window ---------------------------------------------------------------------- */

int floe_bench_window_init(floe_bench_window *w, uint32_t size) {
    memset(w, 0, sizeof *w);
    w->seq = calloc(size, sizeof *w->seq);
    w->sent_at = calloc(size, sizeof *w->sent_at);
    w->free_slots = calloc(size, sizeof *w->free_slots);
    if (!w->seq || !w->sent_at || !w->free_slots) return FLOE_ERR_NOMEM;
    w->size = size;
    for (uint32_t i = 0; i < size; i++) /* slot 0 on top */
        w->free_slots[i] = size - 1 - i;
    w->n_free = size;
    return FLOE_OK;
}

void floe_bench_window_free(floe_bench_window *w) {
    free(w->seq);
    free(w->sent_at);
    free(w->free_slots);
    memset(w, 0, sizeof *w);
}

bool floe_bench_window_answer(floe_bench_window *w, uint32_t slot, uint32_t seq,
                              floe_time_ns *sent_at) {
    if (slot >= w->size || w->sent_at[slot] == 0 || w->seq[slot] != seq) return false;
    if (sent_at) *sent_at = w->sent_at[slot];
    w->sent_at[slot] = 0;
    w->free_slots[w->n_free++] = slot;
    return true;
}

uint32_t floe_bench_window_retire(floe_bench_window *w, floe_time_ns cutoff) {
    uint32_t n = 0;
    for (uint32_t slot = 0; slot < w->size; slot++) {
        floe_time_ns t = w->sent_at[slot];
        if (t == 0 || (cutoff != FLOE_TIME_NEVER && t > cutoff)) continue;
        w->sent_at[slot] = 0;
        w->free_slots[w->n_free++] = slot;
        n++;
    }
    return n;
}

/* ---- echo ---------------------------------------------------------------------------- */

int floe_bench_echo_init(floe_bench_echo *e, unsigned batch) {
    memset(e, 0, sizeof *e);
    e->batch = batch;
    e->data = calloc(batch, FLOE_BENCH_ECHO_BUF);
    e->msgs = calloc(batch, sizeof *e->msgs);
    e->iov = calloc(batch, sizeof *e->iov);
    e->names = calloc(batch, sizeof *e->names);
    if (!e->data || !e->msgs || !e->iov || !e->names) return FLOE_ERR_NOMEM;
    for (unsigned i = 0; i < batch; i++) {
        e->iov[i].iov_base = e->data + (size_t)i * FLOE_BENCH_ECHO_BUF;
        e->msgs[i].msg_hdr.msg_iov = &e->iov[i];
        e->msgs[i].msg_hdr.msg_iovlen = 1;
        e->msgs[i].msg_hdr.msg_name = &e->names[i];
    }
    return FLOE_OK;
}

void floe_bench_echo_free(floe_bench_echo *e) {
    free(e->data);
    free(e->msgs);
    free(e->iov);
    free(e->names);
    memset(e, 0, sizeof *e);
}

int floe_bench_echo_step(int fd, floe_bench_echo *e, int recv_flags, uint64_t *echoed,
                         uint64_t *errors) {
    for (unsigned i = 0; i < e->batch; i++) {
        e->iov[i].iov_len = FLOE_BENCH_ECHO_BUF;
        e->msgs[i].msg_hdr.msg_namelen = sizeof e->names[i];
    }
    int n = recvmmsg(fd, e->msgs, e->batch, recv_flags, NULL);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < n; i++)
        e->iov[i].iov_len =
            e->msgs[i].msg_len < FLOE_BENCH_ECHO_BUF ? e->msgs[i].msg_len : FLOE_BENCH_ECHO_BUF;
    int done = 0;
    while (done < n) {
        int r = sendmmsg(fd, e->msgs + done, (unsigned)(n - done), MSG_NOSIGNAL);
        if (r > 0) {
            done += r;
            *echoed += (uint64_t)r;
        } else if (r < 0 && errno == EINTR && !floe_bench_stopping()) {
            continue;
        } else {
            (*errors)++;
            done++; /* drop the datagram that failed and go on with the rest */
        }
    }
    return n;
}
