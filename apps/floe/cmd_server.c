/* `floe server`: the STUN server runtime. The protocol work is floe_stun_server (sans-IO);
 * this file owns sockets, TLS, the epoll loop, signals and the control socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_server.h"
#include "rt_loop.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"
#include "rt_udp.h"
#include "server_config.h"

#define UDP_RX_SIZE 4096 /* larger datagrams are counted as oversize and dropped */
#define UDP_TX_SIZE 1024 /* every response floe builds fits */
#define UDP_ROUNDS 8     /* batches per readiness event before yielding to the loop */
#define STREAM_RBUF_MIN 2048
#define STREAM_RBUF_MAX FLOE_STUN_MAX_MSG
#define STREAM_WBUF_MAX 65536 /* a client that does not read its answers is cut off */
#define SWEEP_INTERVAL FLOE_S(5)
#define MAX_UDP (SERVER_MAX_LISTEN + 3)

/* Counters of the runtime itself (the protocol counters live in floe_stun_server). */
enum rt_counter {
    RTC_UDP_SEND_DROPPED,
    RTC_STREAMS_ACCEPTED,
    RTC_STREAMS_REJECTED,
    RTC_STREAMS_CLOSED_IDLE,
    RTC_STREAMS_CLOSED_NOT_STUN,
    RTC_STREAMS_CLOSED_SLOW_READER,
    RTC_TLS_HANDSHAKE_FAILED,
    RTC_COUNT
};
static const char *const rt_counter_names[RTC_COUNT] = {
    "udp_send_dropped",     "streams_accepted",        "streams_rejected",
    "streams_closed_idle",  "streams_closed_not_stun", "streams_closed_slow_reader",
    "tls_handshake_failed",
};

typedef struct app app;

typedef struct udp_sock {
    app *a;
    int fd;
    floe_addr local;
} udp_sock;

typedef struct listener {
    app *a;
    int fd;
    floe_transport tr;
    floe_addr local;
} listener;

typedef struct stream {
    app *a;
    int fd;
    floe_transport tr;
    floe_rt_tls *tls;
    bool handshaken;
    floe_addr peer, local;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen;
    floe_time_ns last;
    struct stream *prev, *next;
} stream;

struct app {
    server_settings set;
    floe_rt_loop *loop;
    floe_stun_server core;
    udp_sock udp[MAX_UDP];
    size_t n_udp;
    listener lst[SERVER_MAX_LISTEN];
    size_t n_lst;
    floe_rt_tls_ctx *tls;
    stream *streams;
    size_t n_streams;
    floe_rt_timer *sweep;
    int control_fd;
    bool control_bound;
    floe_time_ns started;
    uint64_t rtc[RTC_COUNT];
    /* UDP batch buffers, reused for every batch: no per-packet allocation. */
    uint8_t rx[FLOE_RT_UDP_BATCH_MAX][UDP_RX_SIZE];
    uint8_t tx[FLOE_RT_UDP_BATCH_MAX][UDP_TX_SIZE];
};

/* ---- counters as JSON ------------------------------------------------------------ */

static size_t stats_json(const app *a, char *buf, size_t cap) {
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                             \
        if (k > 0) n += (size_t)k;                                                                 \
    } while (0)
    uint64_t drops = 0;
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++)
        if (floe_stun_server_counter_is_drop(i)) drops += a->core.counters[i];
    PUT("{\"uptime_s\":%.3f,\"pid\":%d,\"counters\":{", (double)(floe_rt_now() - a->started) / 1e9,
        (int)getpid());
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++)
        PUT("%s\"%s\":%llu", i ? "," : "", floe_stun_server_counter_name(i),
            (unsigned long long)a->core.counters[i]);
    PUT("},\"drops_total\":%llu,\"runtime\":{", (unsigned long long)drops);
    for (int i = 0; i < RTC_COUNT; i++)
        PUT("%s\"%s\":%llu", i ? "," : "", rt_counter_names[i], (unsigned long long)a->rtc[i]);
    PUT(",\"streams_open\":%zu}}", a->n_streams);
#undef PUT
    return n < cap ? n : cap - 1;
}

static void print_stats(const app *a, const char *why) {
    char buf[4096];
    stats_json(a, buf, sizeof buf);
    fprintf(stderr, "floe server: %s %s\n", why, buf);
    fflush(stderr);
}

/* ---- UDP ------------------------------------------------------------------------- */

static udp_sock *udp_for(app *a, const floe_addr *local) {
    for (size_t i = 0; i < a->n_udp; i++)
        if (floe_addr_equal(&a->udp[i].local, local)) return &a->udp[i];
    return NULL;
}

static void udp_send_all(app *a, int fd, floe_rt_dgram *d, size_t n) {
    size_t off = 0;
    while (off < n) {
        int k = floe_rt_udp_send_batch(fd, d + off, n - off);
        if (k < 0) { /* d[off] failed: drop it and go on */
            a->rtc[RTC_UDP_SEND_DROPPED]++;
            off++;
        } else if (k == 0) { /* socket buffer full: UDP may drop, and we count it */
            a->rtc[RTC_UDP_SEND_DROPPED] += n - off;
            return;
        } else {
            off += (size_t)k;
        }
    }
}

static void on_udp(void *arg, int fd, uint32_t events) {
    (void)events;
    udp_sock *u = arg;
    app *a = u->a;
    floe_rt_dgram in[FLOE_RT_UDP_BATCH_MAX], out[FLOE_RT_UDP_BATCH_MAX];
    for (int round = 0; round < UDP_ROUNDS; round++) {
        for (size_t i = 0; i < FLOE_RT_UDP_BATCH_MAX; i++) {
            in[i].buf = a->rx[i];
            in[i].cap = UDP_RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, in, FLOE_RT_UDP_BATCH_MAX);
        if (n <= 0) return; /* nothing queued, or an ICMP error on this socket: ignore */
        size_t n_out = 0;
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) {
                a->core.counters[FLOE_SRV_RX]++;
                a->core.counters[FLOE_SRV_DROP_OVERSIZE]++;
                continue;
            }
            floe_stun_server_reply r;
            floe_stun_server_handle(&a->core, in[i].buf, in[i].len, &in[i].peer, &u->local,
                                    FLOE_TRANSPORT_UDP, a->tx[n_out], UDP_TX_SIZE, &r);
            if (r.len == 0) continue;
            if (r.from == 0) {
                out[n_out].buf = a->tx[n_out];
                out[n_out].len = r.len;
                out[n_out].peer = r.to;
                n_out++;
            } else { /* RFC 5780: answer from another of our addresses */
                floe_addr src = floe_stun_server_source_for(&a->core, &u->local, r.from);
                udp_sock *o = udp_for(a, &src);
                if (!o || floe_rt_udp_send(o->fd, a->tx[n_out], r.len, &r.to) != 1)
                    a->rtc[RTC_UDP_SEND_DROPPED]++;
            }
        }
        udp_send_all(a, fd, out, n_out);
        if (n < FLOE_RT_UDP_BATCH_MAX) return;
    }
}

static int open_udp(app *a, const floe_addr *addr) {
    udp_sock *u = &a->udp[a->n_udp];
    u->a = a;
    int rc = floe_rt_udp_open(addr, 0, &u->fd, &u->local);
    char s[FLOE_ADDR_STRLEN];
    floe_addr_format(addr, true, s, sizeof s);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe server: cannot listen on udp %s: %s\n", s, strerror(errno));
        return -1;
    }
    if (floe_rt_loop_watch(a->loop, u->fd, FLOE_RT_READ, on_udp, u) != FLOE_OK) {
        close(u->fd);
        return -1;
    }
    a->n_udp++;
    return 0;
}

/* ---- TCP and TLS streams --------------------------------------------------------- */

static void stream_close(stream *s) {
    app *a = s->a;
    floe_rt_loop_unwatch(a->loop, s->fd);
    if (s->tls) {
        floe_rt_tls_want w;
        floe_rt_tls_shutdown(s->tls, &w);
        floe_rt_tls_free(s->tls);
    }
    close(s->fd);
    if (s->prev)
        s->prev->next = s->next;
    else
        a->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    a->n_streams--;
    free(s->rbuf);
    free(s->wbuf);
    free(s);
}

/* Writes what is queued. Returns -1 when the stream broke (and was closed). */
static int stream_flush(stream *s) {
    while (s->wlen > 0) {
        ssize_t k;
        if (s->tls) {
            floe_rt_tls_want w;
            int rc = floe_rt_tls_write(s->tls, s->wbuf, s->wlen, &w);
            if (rc < 0) goto broken;
            if (rc == 0) break;
            k = rc;
        } else {
            k = send(s->fd, s->wbuf, s->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (k < 0) goto broken;
        }
        memmove(s->wbuf, s->wbuf + k, s->wlen - (size_t)k);
        s->wlen -= (size_t)k;
    }
    floe_rt_loop_modify(s->a->loop, s->fd, FLOE_RT_READ | (s->wlen ? FLOE_RT_WRITE : 0));
    return 0;
broken:
    stream_close(s);
    return -1;
}

static int stream_queue(stream *s, const uint8_t *p, size_t n) {
    if (s->wlen + n > STREAM_WBUF_MAX) {
        s->a->rtc[RTC_STREAMS_CLOSED_SLOW_READER]++;
        return -1;
    }
    if (!s->wbuf && !(s->wbuf = malloc(STREAM_WBUF_MAX))) return -1;
    memcpy(s->wbuf + s->wlen, p, n);
    s->wlen += n;
    return 0;
}

/* Handles every complete message in the read buffer. Returns -1 to close the stream. */
static int stream_process(stream *s) {
    app *a = s->a;
    size_t off = 0;
    uint8_t out[UDP_TX_SIZE];
    while (s->rlen - off >= 1) {
        size_t need = 0;
        int rc = floe_stun_frame_len(s->rbuf + off, s->rlen - off, &need);
        if (rc == FLOE_ERR_TRUNCATED) break;
        if (rc != FLOE_OK) { /* not STUN: there is no way to find the next message */
            a->core.counters[FLOE_SRV_RX]++;
            a->core.counters[FLOE_SRV_DROP_NOT_STUN]++;
            a->rtc[RTC_STREAMS_CLOSED_NOT_STUN]++;
            return -1;
        }
        if (s->rlen - off < need) break;
        floe_stun_server_reply r;
        floe_stun_server_handle(&a->core, s->rbuf + off, need, &s->peer, &s->local, s->tr, out,
                                sizeof out, &r);
        off += need;
        if (r.len && stream_queue(s, out, r.len)) return -1;
    }
    memmove(s->rbuf, s->rbuf + off, s->rlen - off);
    s->rlen -= off;
    return 0;
}

static void on_stream(void *arg, int fd, uint32_t events) {
    (void)fd;
    stream *s = arg;
    app *a = s->a;
    s->last = floe_rt_now();
    if (s->tls && !s->handshaken) {
        floe_rt_tls_want w;
        if (floe_rt_tls_handshake(s->tls, &w) != FLOE_OK) {
            a->rtc[RTC_TLS_HANDSHAKE_FAILED]++;
            stream_close(s);
            return;
        }
        if (w != FLOE_RT_TLS_DONE) {
            floe_rt_loop_modify(a->loop, s->fd,
                                w == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ);
            return;
        }
        s->handshaken = true;
    }
    if (events & (FLOE_RT_READ | FLOE_RT_HUP | FLOE_RT_ERROR) || s->tls) {
        for (;;) {
            if (s->rlen == s->rcap) {
                size_t ncap = s->rcap ? s->rcap * 2 : STREAM_RBUF_MIN;
                if (ncap > STREAM_RBUF_MAX) ncap = STREAM_RBUF_MAX;
                uint8_t *nb = ncap > s->rcap ? realloc(s->rbuf, ncap) : NULL;
                if (!nb) break; /* full: a complete message must be processed first */
                s->rbuf = nb;
                s->rcap = ncap;
            }
            ssize_t k;
            if (s->tls) {
                floe_rt_tls_want w;
                int rc = floe_rt_tls_read(s->tls, s->rbuf + s->rlen, s->rcap - s->rlen, &w);
                if (rc < 0 || (rc == 0 && w == FLOE_RT_TLS_CLOSED)) goto closed;
                if (rc == 0) break;
                k = rc;
            } else {
                k = recv(s->fd, s->rbuf + s->rlen, s->rcap - s->rlen, MSG_DONTWAIT);
                if (k == 0) goto closed;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                if (k < 0) goto closed;
            }
            s->rlen += (size_t)k;
            if (stream_process(s)) goto closed;
        }
    }
    stream_flush(s);
    return;
closed:
    stream_close(s);
}

static void on_accept(void *arg, int lfd, uint32_t events) {
    (void)events;
    listener *l = arg;
    app *a = l->a;
    for (int i = 0; i < 64; i++) {
        int fd;
        floe_addr peer;
        int rc = floe_rt_tcp_accept(lfd, &fd, &peer);
        if (rc <= 0) return;
        a->rtc[RTC_STREAMS_ACCEPTED]++;
        stream *s = a->n_streams < a->set.max_streams ? calloc(1, sizeof *s) : NULL;
        if (!s) {
            a->rtc[RTC_STREAMS_REJECTED]++;
            close(fd);
            continue;
        }
        s->a = a;
        s->fd = fd;
        s->tr = l->tr;
        s->peer = peer;
        s->local = l->local;
        floe_rt_local_addr(fd, &s->local);
        s->last = floe_rt_now();
        if (l->tr == FLOE_TRANSPORT_TLS && floe_rt_tls_new_server(&s->tls, a->tls, fd) != FLOE_OK) {
            a->rtc[RTC_TLS_HANDSHAKE_FAILED]++;
            close(fd);
            free(s);
            continue;
        }
        if (floe_rt_loop_watch(a->loop, fd, FLOE_RT_READ, on_stream, s) != FLOE_OK) {
            floe_rt_tls_free(s->tls);
            close(fd);
            free(s);
            continue;
        }
        s->next = a->streams;
        if (a->streams) a->streams->prev = s;
        a->streams = s;
        a->n_streams++;
    }
}

static int open_listener(app *a, floe_transport tr, const floe_addr *addr) {
    listener *l = &a->lst[a->n_lst];
    l->a = a;
    l->tr = tr;
    char s[FLOE_ADDR_STRLEN];
    floe_addr_format(addr, true, s, sizeof s);
    if (floe_rt_tcp_listen(addr, 0, &l->fd) != FLOE_OK) {
        fprintf(stderr, "floe server: cannot listen on %s %s: %s\n", floe_transport_name(tr), s,
                strerror(errno));
        return -1;
    }
    floe_rt_local_addr(l->fd, &l->local);
    if (floe_rt_loop_watch(a->loop, l->fd, FLOE_RT_READ, on_accept, l) != FLOE_OK) {
        close(l->fd);
        return -1;
    }
    a->n_lst++;
    return 0;
}

static void on_sweep(void *arg, floe_rt_timer *t) {
    app *a = arg;
    floe_time_ns now = floe_rt_now(), idle = FLOE_S(a->set.stream_idle_s);
    for (stream *s = a->streams, *next; s; s = next) {
        next = s->next;
        if (now - s->last >= idle) {
            a->rtc[RTC_STREAMS_CLOSED_IDLE]++;
            stream_close(s);
        }
    }
    floe_rt_timer_arm(t, now + SWEEP_INTERVAL);
}

/* ---- control socket: read-only counters for `floe server --stats` ----------------- */

static int unix_addr(const char *path, struct sockaddr_un *sun) {
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun->sun_path) return -1;
    memcpy(sun->sun_path, path, strlen(path));
    return 0;
}

static void on_control(void *arg, int lfd, uint32_t events) {
    (void)events;
    app *a = arg;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    size_t n = stats_json(a, buf, sizeof buf - 1);
    buf[n++] = '\n';
    ssize_t k = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)k; /* a reader that is not ready for 4 KiB on a fresh socket gets nothing */
    close(fd);
}

static int open_control(app *a) {
    struct sockaddr_un sun;
    if (unix_addr(a->set.control, &sun)) {
        fprintf(stderr, "floe server: control path '%s' is too long\n", a->set.control);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    /* A live server on this path keeps it; a stale socket file from a crash is replaced. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
        fprintf(stderr,
                "floe server: another server answers on control socket %s (use --control)\n",
                a->set.control);
        close(probe);
        close(fd);
        return -1;
    }
    if (probe >= 0) close(probe);
    unlink(a->set.control);
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "floe server: cannot create control socket %s: %s\n", a->set.control,
                strerror(errno));
        close(fd);
        return -1;
    }
    a->control_fd = fd;
    a->control_bound = true;
    return floe_rt_loop_watch(a->loop, fd, FLOE_RT_READ, on_control, a) == FLOE_OK ? 0 : -1;
}

static int print_remote_stats(const char *path) {
    struct sockaddr_un sun;
    if (unix_addr(path, &sun)) return floe_usage_error("server", "control path is too long");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        fprintf(stderr, "floe server: no server answers on %s: %s (is it running? see --control)\n",
                path, strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    char buf[8192];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    close(fd);
    if (n == 0) {
        fprintf(stderr, "floe server: the server on %s sent no counters\n", path);
        return 1;
    }
    fwrite(buf, 1, n, stdout);
    return 0;
}

/* ---- signals, start, stop -------------------------------------------------------- */

static void on_signal(void *arg, int signo) {
    app *a = arg;
    if (signo == SIGUSR1) {
        print_stats(a, "counters");
        return;
    }
    floe_rt_loop_stop(a->loop);
}

static void app_free(app *a) {
    while (a->streams)
        stream_close(a->streams);
    for (size_t i = 0; i < a->n_udp; i++)
        close(a->udp[i].fd);
    for (size_t i = 0; i < a->n_lst; i++)
        close(a->lst[i].fd);
    if (a->control_bound) {
        close(a->control_fd);
        unlink(a->set.control);
    }
    floe_rt_timer_free(a->sweep);
    floe_rt_loop_free(a->loop);
    floe_rt_tls_ctx_free(a->tls);
    free(a);
}

static void describe(const app *a) {
    char s[FLOE_ADDR_STRLEN];
    fprintf(stderr, "floe server: listening on");
    for (size_t i = 0; i < a->n_udp; i++) {
        floe_addr_format(&a->udp[i].local, true, s, sizeof s);
        fprintf(stderr, " udp %s", s);
    }
    for (size_t i = 0; i < a->n_lst; i++) {
        floe_addr_format(&a->lst[i].local, true, s, sizeof s);
        fprintf(stderr, " %s %s", floe_transport_name(a->lst[i].tr), s);
    }
    fprintf(stderr, "%s; counters: floe server --stats --control %s\n",
            a->set.rfc5780 ? " (RFC 5780 on)" : "", a->set.control);
}

static int start(app *a) {
    const server_settings *set = &a->set;
    floe_stun_server_config cfg;
    floe_stun_server_config_default(&cfg);
    cfg.classic = set->classic;
    cfg.software = set->software[0] ? set->software : NULL;
    if (set->rfc5780) {
        cfg.rfc5780 = true;
        for (size_t i = 0; i < set->n_listen; i++)
            if (set->listen[i].transport == FLOE_TRANSPORT_UDP) cfg.primary = set->listen[i].addr;
        cfg.alternate = set->alt_address;
    }
    if (floe_stun_server_init(&a->core, &cfg) != FLOE_OK) {
        fprintf(stderr, "floe server: --alt-address must differ from the primary UDP address in "
                        "both IP and port, in the same family\n");
        return 1;
    }
    for (size_t i = 0; i < set->n_listen; i++) {
        if (set->listen[i].transport != FLOE_TRANSPORT_TLS || a->tls) continue;
        char err[512];
        if (floe_rt_tls_ctx_new_server(&a->tls, set->tls_cert, set->tls_key, err, sizeof err)) {
            fprintf(stderr, "floe server: TLS: %s\n", err);
            return 1;
        }
    }
    for (size_t i = 0; i < set->n_listen; i++) {
        const server_listen *l = &set->listen[i];
        int rc = l->transport == FLOE_TRANSPORT_UDP ? open_udp(a, &l->addr)
                                                    : open_listener(a, l->transport, &l->addr);
        if (rc) return 1;
    }
    if (set->rfc5780) { /* the other three of the four address combinations */
        const floe_addr *p = &a->core.cfg.primary;
        for (unsigned from = 1; from <= 3; from++) {
            floe_addr b = floe_stun_server_source_for(&a->core, p, from << 1);
            if (open_udp(a, &b)) return 1;
        }
    }
    if (open_control(a)) return 1;
    if (floe_rt_timer_new(&a->sweep, a->loop, on_sweep, a) != FLOE_OK) return 1;
    floe_rt_timer_arm(a->sweep, floe_rt_now() + SWEEP_INTERVAL);
    floe_rt_loop_on_signal(a->loop, SIGTERM, on_signal, a);
    floe_rt_loop_on_signal(a->loop, SIGINT, on_signal, a);
    floe_rt_loop_on_signal(a->loop, SIGUSR1, on_signal, a);
    return 0;
}

static void check_config_print(const server_settings *s) {
    char buf[FLOE_ADDR_STRLEN];
    printf("configuration is valid\n");
    for (size_t i = 0; i < s->n_listen; i++) {
        floe_addr_format(&s->listen[i].addr, true, buf, sizeof buf);
        printf("listen = %s://%s\n", floe_transport_name(s->listen[i].transport), buf);
    }
    printf("rfc5780 = %s\n", s->rfc5780 ? "yes" : "no");
    if (s->rfc5780) {
        floe_addr_format(&s->alt_address, true, buf, sizeof buf);
        printf("alt-address = %s\n", buf);
    }
    printf("classic = %s\ncontrol = %s\nmax-streams = %u\nstream-idle = %u\n",
           s->classic ? "yes" : "no", s->control, s->max_streams, s->stream_idle_s);
}

int floe_cmd_server(int argc, char **argv) {
    app *a = calloc(1, sizeof *a);
    if (!a) return 1;
    server_settings_default(&a->set);
    int rc = server_settings_parse(&a->set, argc, argv);
    if (rc != 0) {
        free(a);
        return rc < 0 ? 0 : rc;
    }
    if (a->set.stats) {
        rc = print_remote_stats(a->set.control);
        free(a);
        return rc;
    }
    if (a->set.check_config) {
        /* The certificate and key must load, not just be named. */
        for (size_t i = 0; i < a->set.n_listen; i++) {
            if (a->set.listen[i].transport != FLOE_TRANSPORT_TLS) continue;
            char err[512];
            floe_rt_tls_ctx *ctx = NULL;
            rc = floe_rt_tls_ctx_new_server(&ctx, a->set.tls_cert, a->set.tls_key, err, sizeof err);
            floe_rt_tls_ctx_free(ctx);
            if (rc != FLOE_OK) {
                fprintf(stderr, "floe server: TLS: %s\n", err);
                free(a);
                return 1;
            }
            break;
        }
        check_config_print(&a->set);
        free(a);
        return 0;
    }
    floe_rt_ignore_sigpipe();
    a->started = floe_rt_now();
    if (floe_rt_loop_new(&a->loop) != FLOE_OK) {
        free(a);
        return 1;
    }
    rc = start(a);
    if (rc == 0) {
        describe(a);
        if (floe_rt_loop_run(a->loop) != FLOE_OK) rc = 1;
        print_stats(a, "stopped;");
    }
    app_free(a);
    return rc;
}
