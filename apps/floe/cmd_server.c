/* `floe server`: the STUN and TURN server runtime. The protocol work is floe_stun_server
 * and floe_turn_server (sans-IO); this file owns sockets (listeners, streams, DTLS
 * sessions, relay sockets), TLS and DTLS, the epoll loop, signals (reload, drain) and the
 * control socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_server.h"
#include "floe/turn.h"
#include "floe/turn_server.h"
#include "rt_dtls.h"
#include "rt_loop.h"
#include "rt_metrics.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"
#include "rt_udp.h"
#include "server_config.h"
#include "server_rt.h"

/* The STUN server: the TURN core's when TURN is on. */
static floe_stun_server *stun_core(app *a) {
    return a->turn ? floe_turn_server_stun(a->turn) : &a->core;
}
/* ---- one input, one output ------------------------------------------------------ */

void srv_set_time(app *a) {
    if (a->turn) floe_turn_server_set_time(a->turn, floe_rt_now(), (uint64_t)time(NULL));
}

/* Hands a client's message to the TURN core, or to the STUN core when TURN is off. */
static void handle_client(app *a, const floe_turn_tuple *t, const uint8_t *p, size_t len,
                          uint8_t *out, size_t cap, floe_turn_server_out *o) {
    if (a->turn) {
        floe_turn_server_on_client(a->turn, t, p, len, out, cap, o);
        return;
    }
    floe_stun_server_reply r;
    floe_stun_server_handle(&a->core, p, len, &t->client, &t->server, t->transport, out, cap, &r);
    memset(o, 0, sizeof *o);
    o->data = r.len ? out : NULL;
    o->len = r.len;
    o->to = r.to;
    o->tuple = *t;
    o->from = r.from;
}

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

/* Sends the pending datagrams, one sendmmsg per run of the same socket. */
void srv_flush_pending(app *a) {
    size_t i = 0;
    while (i < a->n_pending) {
        size_t j = i + 1;
        while (j < a->n_pending && a->pending_fd[j] == a->pending_fd[i])
            j++;
        udp_send_all(a, a->pending_fd[i], a->pending + i, j - i);
        i = j;
    }
    a->n_pending = 0;
}

static void stream_send(uint64_t conn, const uint8_t *p, size_t n);
static void dtls_send(app *a, uint64_t conn, const uint8_t *p, size_t n);
static void relay_close_cb(void *ctx, uint64_t token);

/* Sends what an input produced. UDP datagrams wait in the pending batch (their bytes
 * stay valid until flush_pending: they live in a->tx or the received batch). */
void srv_emit(app *a, const floe_turn_server_out *o) {
    if (!o->data) return;
    int fd = -1;
    if (o->to_peer) {
        fd = ((relay *)(uintptr_t)o->relay)->fd;
    } else if (o->tuple.transport == FLOE_TRANSPORT_DTLS) {
        dtls_send(a, o->tuple.conn, o->data, o->len); /* one record, sent now */
        return;
    } else if (floe_transport_reliable(o->tuple.transport)) {
        stream_send(o->tuple.conn, o->data, o->len);
        return;
    } else {
        /* RFC 5780 answers may leave from another of our addresses */
        floe_addr src = o->from
                            ? floe_stun_server_source_for(stun_core(a), &o->tuple.server, o->from)
                            : o->tuple.server;
        udp_sock *u = udp_for(a, &src);
        if (!u) {
            a->rtc[RTC_UDP_SEND_DROPPED]++;
            return;
        }
        fd = u->fd;
    }
    if (a->n_pending == FLOE_RT_UDP_BATCH_MAX) srv_flush_pending(a);
    a->pending_fd[a->n_pending] = fd;
    a->pending[a->n_pending++] =
        (floe_rt_dgram){.buf = (uint8_t *)o->data, .len = o->len, .peer = o->to};
}

/* ---- UDP ------------------------------------------------------------------------- */

static void on_udp(void *arg, int fd, uint32_t events) {
    (void)events;
    udp_sock *u = arg;
    app *a = u->a;
    floe_rt_dgram in[FLOE_RT_UDP_BATCH_MAX];
    srv_flush_pending(a); /* what relay sockets left in a->tx goes first */
    for (int round = 0; round < UDP_ROUNDS; round++) {
        for (size_t i = 0; i < FLOE_RT_UDP_BATCH_MAX; i++) {
            in[i].buf = a->rx[i];
            in[i].cap = UDP_RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, in, FLOE_RT_UDP_BATCH_MAX);
        if (n <= 0) return; /* nothing queued, or an ICMP error on this socket: ignore */
        srv_set_time(a);
        for (int i = 0; i < n; i++) {
            if (in[i].truncated) { /* the STUN core's identity counts these too */
                floe_stun_server *core = stun_core(a);
                core->counters[FLOE_SRV_RX]++;
                core->counters[FLOE_SRV_DROP_OVERSIZE]++;
                continue;
            }
            floe_turn_tuple t = {
                .client = in[i].peer, .server = u->local, .transport = FLOE_TRANSPORT_UDP};
            floe_turn_server_out o;
            handle_client(a, &t, in[i].buf, in[i].len, a->tx[i], UDP_TX_SIZE, &o);
            srv_emit(a, &o);
        }
        srv_flush_pending(a);
        if (n < FLOE_RT_UDP_BATCH_MAX) return;
    }
}

static int open_udp(app *a, const floe_addr *addr) {
    udp_sock *u = &a->udp[a->n_udp];
    u->a = a;
    /* Several workers: one socket each on the address, the kernel picks by 4-tuple. */
    int rc =
        floe_rt_udp_open(addr, a->set.workers > 1 ? FLOE_RT_UDP_REUSEPORT : 0, &u->fd, &u->local);
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

static floe_turn_tuple stream_tuple(const stream *s) {
    return (floe_turn_tuple){
        .client = s->peer, .server = s->local, .transport = s->tr, .conn = (uint64_t)(uintptr_t)s};
}

void srv_stream_close(stream *s) {
    app *a = s->a;
    srv_pipe_client_closed(s); /* RFC 6062: its peer connection goes too */
    if (a->turn) {             /* RFC 8656 §3.1: the allocation ends with its connection */
        floe_turn_tuple t = stream_tuple(s);
        floe_turn_server_conn_closed(a->turn, &t);
    }
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
int srv_stream_flush(stream *s) {
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
    /* A joined stream whose bytes wait for its peer is not read meanwhile. */
    bool read = !(s->pipe && s->rlen == s->rcap);
    floe_rt_loop_modify(s->a->loop, s->fd,
                        (read ? FLOE_RT_READ : 0) | (s->wlen ? FLOE_RT_WRITE : 0));
    if (s->pipe) srv_pipe_client_drained(s);
    return 0;
broken:
    srv_stream_close(s);
    return -1;
}

int srv_stream_queue(stream *s, const uint8_t *p, size_t n) {
    if (s->wlen + n > STREAM_WBUF_MAX) {
        s->a->rtc[RTC_STREAMS_CLOSED_SLOW_READER]++;
        return -1;
    }
    if (!s->wbuf && !(s->wbuf = malloc(STREAM_WBUF_MAX))) return -1;
    memcpy(s->wbuf + s->wlen, p, n);
    s->wlen += n;
    return 0;
}

/* Queues bytes for a stream connection named by its token (an answer, or relayed data)
 * and writes what it can. A connection that cannot take them is closed. */
static void stream_send(uint64_t conn, const uint8_t *p, size_t n) {
    stream *s = (stream *)(uintptr_t)conn;
    if (srv_stream_queue(s, p, n)) {
        srv_stream_close(s);
        return;
    }
    srv_stream_flush(s);
}

/* Handles every complete message in the read buffer. Returns -1 to close the stream. */
static int stream_process(stream *s) {
    app *a = s->a;
    size_t off = 0;
    uint8_t out[UDP_TX_SIZE];
    floe_turn_tuple t = stream_tuple(s);
    srv_set_time(a);
    while (s->rlen - off >= 1) {
        size_t need = 0;
        /* STUN messages and (with TURN) ChannelData follow each other on the stream */
        int rc = floe_turn_frame_len_upto(s->rbuf + off, s->rlen - off,
                                          FLOE_TURN_CHANNEL_MAX_RFC5766, &need);
        if (rc == FLOE_ERR_TRUNCATED) break;
        if (rc != FLOE_OK || need > STREAM_RBUF_MAX) { /* no way to find the next message */
            floe_stun_server *core = stun_core(a);
            core->counters[FLOE_SRV_RX]++;
            core->counters[FLOE_SRV_DROP_NOT_STUN]++;
            a->rtc[RTC_STREAMS_CLOSED_NOT_STUN]++;
            return -1;
        }
        if (s->rlen - off < need) break;
        floe_turn_server_out o;
        handle_client(a, &t, s->rbuf + off, need, out, sizeof out, &o);
        off += need;
        if (!o.data) continue;
        if (o.to_peer || !floe_transport_reliable(o.tuple.transport)) {
            srv_emit(a, &o);
            srv_flush_pending(a);
        } else if (srv_stream_queue(s, o.data, o.len)) {
            return -1;
        } else if (o.pipe) { /* RFC 6062: from here on, raw bytes to and from the peer */
            srv_pipe_join(s, o.pipe);
            break;
        }
    }
    memmove(s->rbuf, s->rbuf + off, s->rlen - off);
    s->rlen -= off;
    return s->pipe ? srv_pipe_from_client(s) : 0;
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
            srv_stream_close(s);
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
            if ((s->pipe ? srv_pipe_from_client(s) : stream_process(s)) != 0) goto closed;
        }
    }
    srv_stream_flush(s);
    return;
closed:
    srv_stream_close(s);
}

void srv_stream_pump(stream *s) {
    on_stream(s, s->fd, FLOE_RT_READ);
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

/* ---- DTLS sessions --------------------------------------------------------------- */

static floe_turn_tuple dsess_tuple(const dsess *d) {
    return (floe_turn_tuple){.client = d->peer,
                             .server = d->local,
                             .transport = FLOE_TRANSPORT_DTLS,
                             .conn = (uint64_t)(uintptr_t)d};
}

static void dsess_close(dsess *d) {
    app *a = d->a;
    if (a->turn) { /* a DTLS association is a connection: its allocation ends with it */
        floe_turn_tuple t = dsess_tuple(d);
        floe_turn_server_conn_closed(a->turn, &t);
    }
    srv_flush_pending(a); /* nothing may wait for a socket number about to be reused */
    floe_rt_loop_unwatch(a->loop, d->fd);
    if (d->handshaken && !d->broken) floe_rt_dtls_shutdown(d->dtls); /* close_notify */
    floe_rt_dtls_free(d->dtls);
    if (d->relisten) a->relisten_cookies += floe_rt_dtls_listener_cookies_sent(d->relisten);
    floe_rt_dtls_listener_free(d->relisten);
    close(d->fd);
    floe_rt_timer_free(d->timer);
    if (d->prev)
        d->prev->next = d->next;
    else
        a->dsessions = d->next;
    if (d->next) d->next->prev = d->prev;
    a->n_dsess--;
    free(d);
}

/* An answer or relayed data as one record. A full socket buffer drops it, as on UDP; a
 * broken session is closed from its timer (the caller may be in the middle of it). */
static void dtls_send(app *a, uint64_t conn, const uint8_t *p, size_t n) {
    dsess *d = (dsess *)(uintptr_t)conn;
    if (d->broken || !d->handshaken) {
        a->rtc[RTC_DTLS_SEND_DROPPED]++;
        return;
    }
    floe_rt_tls_want w;
    int rc = floe_rt_dtls_write(d->dtls, p, n, &w);
    if (rc > 0) return;
    a->rtc[RTC_DTLS_SEND_DROPPED]++;
    if (rc < 0) {
        d->broken = true;
        a->rtc[RTC_DTLS_CLOSED_BY_CLIENT]++;
        floe_rt_timer_arm(d->timer, floe_rt_now());
    }
}

/* One record from the client: one STUN or ChannelData message, as a UDP datagram. */
static void dsess_message(dsess *d, size_t n) {
    app *a = d->a;
    if (n > UDP_RX_SIZE) { /* as on UDP: counted and dropped */
        floe_stun_server *core = stun_core(a);
        core->counters[FLOE_SRV_RX]++;
        core->counters[FLOE_SRV_DROP_OVERSIZE]++;
        return;
    }
    floe_turn_tuple t = dsess_tuple(d);
    floe_turn_server_out o;
    handle_client(a, &t, a->drx, n, a->dtx, sizeof a->dtx, &o);
    srv_emit(a, &o);
    srv_flush_pending(a); /* data to a peer points into a->drx */
}

/* Runs the handshake, then reads every record there is. Returns -1 when the session is
 * over (the caller closes it). */
static int dsess_run(dsess *d) {
    app *a = d->a;
    floe_rt_tls_want w;
    if (!d->handshaken) {
        if (floe_rt_dtls_handshake(d->dtls, &w) != FLOE_OK) {
            a->rtc[RTC_DTLS_HANDSHAKE_FAILED]++;
            return -1;
        }
        if (w != FLOE_RT_TLS_DONE) { /* the next flight, or our retransmission timer */
            floe_time_ns left = floe_rt_dtls_timeout(d->dtls);
            if (left == FLOE_TIME_NEVER)
                floe_rt_timer_cancel(d->timer);
            else
                floe_rt_timer_arm(d->timer, floe_rt_now() + left);
            return 0;
        }
        d->handshaken = true;
        floe_rt_timer_cancel(d->timer);
    }
    srv_set_time(a);
    for (int i = 0; i < FLOE_RT_UDP_BATCH_MAX * UDP_ROUNDS && !d->broken; i++) {
        int n = floe_rt_dtls_read(d->dtls, a->drx, sizeof a->drx, &w);
        if (n < 0 || (n == 0 && w == FLOE_RT_TLS_CLOSED)) {
            a->rtc[RTC_DTLS_CLOSED_BY_CLIENT]++;
            return -1;
        }
        if (n == 0) break;
        dsess_message(d, (size_t)n);
    }
    return d->broken ? -1 : 0;
}

static void dsess_restart(dsess *d);

/* True when the next datagram on the session's socket is a ClientHello at epoch 0: the
 * record header (type 22, version, epoch 0, sequence, length), then handshake type 1. */
static bool dsess_hello_waits(const dsess *d) {
    uint8_t h[14];
    ssize_t k = recv(d->fd, h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
    return k == (ssize_t)sizeof h && h[0] == 22 && h[3] == 0 && h[4] == 0 && h[13] == 1;
}

static void on_dsess(void *arg, int fd, uint32_t events) {
    (void)fd;
    (void)events;
    dsess *d = arg;
    d->last = floe_rt_now();
    if (d->handshaken && !d->broken && dsess_hello_waits(d)) {
        dsess_restart(d);
        return;
    }
    if (dsess_run(d) != 0) dsess_close(d);
}

static void on_dsess_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    dsess *d = arg;
    if (d->broken || dsess_run(d) != 0) dsess_close(d);
}

/* The session for client on listener address local, if there is one. */
static dsess *dsess_find(app *a, const floe_addr *client, const floe_addr *local) {
    for (dsess *d = a->dsessions; d; d = d->next)
        if (floe_addr_equal(&d->peer, client) && d->local.port == local->port &&
            d->local.family == local->family)
            return d;
    return NULL;
}

/* A ClientHello with a valid cookie on its own socket: the session begins. local is the
 * listening address. */
static void dsess_start(app *a, const floe_addr *local, floe_rt_dtls *dt, int fd,
                        const floe_addr *client) {
    a->rtc[RTC_DTLS_ACCEPTED]++;
    dsess *d = NULL;
    /* A duplicate: a ClientHello the client sent again that reached the listener before
     * the session's socket was connected. The session has it. */
    if (a->n_dsess < a->set.max_streams && !dsess_find(a, client, local)) d = calloc(1, sizeof *d);
    if (d && floe_rt_timer_new(&d->timer, a->loop, on_dsess_timer, d) != FLOE_OK) {
        free(d);
        d = NULL;
    }
    if (d && floe_rt_loop_watch(a->loop, fd, FLOE_RT_READ, on_dsess, d) != FLOE_OK) {
        floe_rt_timer_free(d->timer);
        free(d);
        d = NULL;
    }
    if (!d) {
        a->rtc[RTC_DTLS_REJECTED]++;
        floe_rt_dtls_free(dt);
        close(fd);
        return;
    }
    d->a = a;
    d->fd = fd;
    d->dtls = dt;
    d->peer = *client;
    d->local = *local;
    floe_rt_local_addr(fd, &d->local); /* the specific address on a wildcard listener */
    d->created = d->last = floe_rt_now();
    d->next = a->dsessions;
    if (a->dsessions) a->dsessions->prev = d;
    a->dsessions = d;
    a->n_dsess++;
    /* OpenSSL holds the ClientHello: no fd event will announce it. */
    on_dsess(d, fd, FLOE_RT_READ);
}

/* HelloVerifyRequests: the listeners' and those sent on sessions' sockets. */
static void dtls_count_cookies(app *a) {
    uint64_t cookies = a->relisten_cookies;
    for (size_t i = 0; i < a->n_lst; i++)
        cookies += floe_rt_dtls_listener_cookies_sent(a->lst[i].dtls);
    for (dsess *d = a->dsessions; d; d = d->next)
        cookies += floe_rt_dtls_listener_cookies_sent(d->relisten);
    a->rtc[RTC_DTLS_COOKIES] = cookies;
}

static void on_dtls_listener(void *arg, int fd, uint32_t events) {
    (void)fd;
    (void)events;
    listener *l = arg;
    app *a = l->a;
    for (int i = 0; i < FLOE_RT_UDP_BATCH_MAX; i++) {
        floe_rt_dtls *dt;
        int cfd;
        floe_addr client;
        int rc = floe_rt_dtls_accept(l->dtls, &dt, &cfd, &client);
        if (rc == 0) break;
        if (rc < 0) { /* no socket or memory for it: the client will send it again */
            a->rtc[RTC_DTLS_ACCEPTED]++;
            a->rtc[RTC_DTLS_REJECTED]++;
            continue;
        }
        dsess_start(a, &l->local, dt, cfd, &client);
    }
    dtls_count_cookies(a);
}

/* RFC 6347 §4.2.8: a ClientHello at epoch 0 on a session that is up. Its client started
 * over from the same address and port: a restarted program, or a new one the kernel gave
 * the port of a session that never said goodbye (an allocation left to expire), whose
 * datagrams now reach that session's connected socket and not the listener. It gets the
 * cookie exchange on this socket; once it returns a valid cookie (it receives at that
 * address: a forged ClientHello cannot end a session), the old session ends and the new
 * one begins. Other records that arrive meanwhile are dropped. */
static void dsess_restart(dsess *d) {
    app *a = d->a;
    if (!d->relisten &&
        floe_rt_dtls_listener_new(&d->relisten, a->dtls, d->fd, &d->local) != FLOE_OK) {
        d->relisten = NULL;
        return;
    }
    floe_rt_dtls *dt;
    int cfd;
    floe_addr client, local = d->local;
    int rc = floe_rt_dtls_accept(d->relisten, &dt, &cfd, &client);
    dtls_count_cookies(a);
    if (rc < 0) {
        a->rtc[RTC_DTLS_ACCEPTED]++;
        a->rtc[RTC_DTLS_REJECTED]++;
    }
    if (rc <= 0) return;
    a->rtc[RTC_DTLS_CLOSED_BY_CLIENT]++;
    dsess_close(d); /* its allocation ends with it */
    dsess_start(a, &local, dt, cfd, &client);
}

static int open_dtls_listener(app *a, const floe_addr *addr) {
    listener *l = &a->lst[a->n_lst];
    l->a = a;
    l->tr = FLOE_TRANSPORT_DTLS;
    char s[FLOE_ADDR_STRLEN];
    floe_addr_format(addr, true, s, sizeof s);
    if (floe_rt_dtls_listen_socket(addr, &l->fd, &l->local) != FLOE_OK) {
        fprintf(stderr, "floe server: cannot listen on dtls %s: %s\n", s, strerror(errno));
        return -1;
    }
    if (floe_rt_dtls_listener_new(&l->dtls, a->dtls, l->fd, &l->local) != FLOE_OK ||
        floe_rt_loop_watch(a->loop, l->fd, FLOE_RT_READ, on_dtls_listener, l) != FLOE_OK) {
        floe_rt_dtls_listener_free(l->dtls);
        l->dtls = NULL;
        close(l->fd);
        return -1;
    }
    a->n_lst++;
    return 0;
}

/* ---- relay sockets (TURN) ---------------------------------------------------------- */

/* Datagrams from peers become answers to clients that wait in the pending batch until
 * the end of the loop's turn (the flush timer), so that the datagrams of many relay
 * sockets leave in one sendmmsg per client socket. Each waits in its own a->tx slot. */
static void on_relay(void *arg, int fd, uint32_t events) {
    (void)events;
    relay *r = arg;
    app *a = r->a;
    floe_rt_dgram in[FLOE_RT_UDP_BATCH_MAX];
    for (int round = 0; round < UDP_ROUNDS && r->fd >= 0; round++) {
        for (size_t i = 0; i < FLOE_RT_UDP_BATCH_MAX; i++) {
            in[i].buf = a->rx[i];
            in[i].cap = UDP_RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, in, FLOE_RT_UDP_BATCH_MAX);
        if (n <= 0) break;
        srv_set_time(a);
        for (int i = 0; i < n && r->fd >= 0; i++) {
            if (in[i].truncated) {
                a->rtc[RTC_RELAY_OVERSIZE]++;
                continue;
            }
            if (a->n_pending == FLOE_RT_UDP_BATCH_MAX) srv_flush_pending(a);
            floe_turn_server_out o;
            floe_turn_server_on_peer(a->turn, r->handle, &in[i].peer, in[i].buf, in[i].len,
                                     a->tx[a->n_pending], UDP_TX_SIZE, &o);
            srv_emit(a, &o); /* may close a stream, its allocation, and this relay */
        }
        if (n < FLOE_RT_UDP_BATCH_MAX) break;
    }
    if (a->n_pending && !floe_rt_timer_armed(a->flush)) floe_rt_timer_arm(a->flush, floe_rt_now());
}

static void on_flush(void *arg, floe_rt_timer *t) {
    (void)t;
    srv_flush_pending(arg);
}

static const floe_addr *relay_ip(const app *a, int family) {
    for (size_t i = 0; i < a->set.n_relay_ip; i++)
        if (a->set.relay_ip[i].family == family) return &a->set.relay_ip[i];
    return NULL;
}

/* Binds a relay socket on a port of the configured range: a random start, then the next
 * ports (even ones only when asked), RELAY_PORT_TRIES at most. */
int srv_relay_bind(app *a, int family, int type, bool even_port, int *fd, floe_addr *bound) {
    const floe_addr *ip = relay_ip(a, family);
    if (!ip) return -1;
    uint32_t span = a->set.relay_port_hi - a->set.relay_port_lo + 1, start = 0;
    floe_rt_random(NULL, &start, sizeof start);
    *fd = -1;
    for (uint32_t k = 0; k < RELAY_PORT_TRIES && *fd < 0; k++) {
        floe_addr bind_to = *ip;
        bind_to.port = (uint16_t)(a->set.relay_port_lo + (start + k * (even_port ? 2 : 1)) % span);
        if (even_port && (bind_to.port & 1))
            bind_to.port =
                bind_to.port > a->set.relay_port_lo ? bind_to.port - 1 : bind_to.port + 1;
        int rc = type == SOCK_DGRAM ? floe_rt_udp_open(&bind_to, FLOE_RT_UDP_KERNEL_BUFS, fd, bound)
                                    : srv_tcp_listen_socket(&bind_to, fd);
        if (rc != FLOE_OK) {
            *fd = -1;
            if (errno != EADDRINUSE) break;
        } else if (type == SOCK_STREAM) {
            floe_rt_local_addr(*fd, bound);
        }
    }
    return *fd >= 0 ? 0 : -1;
}

/* Binds an even port N and N + 1 of the configured range on the relay address of family
 * (EVEN-PORT with the R bit): a random even start, then the next pairs, RELAY_PORT_TRIES
 * at most. fd[1] is the port to hold. -1 when no pair could be bound. */
static int relay_bind_pair(app *a, int family, int fd[2], floe_addr bound[2]) {
    const floe_addr *ip = relay_ip(a, family);
    uint32_t lo = (a->set.relay_port_lo + 1u) & ~1u, hi = a->set.relay_port_hi;
    if (!ip || hi < lo + 1) return -1;
    uint32_t pairs = (hi - lo + 1) / 2, start = 0;
    floe_rt_random(NULL, &start, sizeof start);
    for (uint32_t k = 0; k < RELAY_PORT_TRIES; k++) {
        floe_addr bind_to = *ip;
        bind_to.port = (uint16_t)(lo + 2 * ((start + k) % pairs));
        if (floe_rt_udp_open(&bind_to, FLOE_RT_UDP_KERNEL_BUFS, &fd[0], &bound[0]) != FLOE_OK) {
            if (errno != EADDRINUSE) return -1;
            continue;
        }
        bind_to.port++;
        if (floe_rt_udp_open(&bind_to, FLOE_RT_UDP_KERNEL_BUFS, &fd[1], &bound[1]) == FLOE_OK)
            return 0;
        int e = errno;
        close(fd[0]);
        if (e != EADDRINUSE) return -1;
    }
    return -1;
}

static void set_dont_fragment(int fd, int family) { /* RFC 8656 §14.8: DF on what we relay */
    int v = IP_PMTUDISC_DO;
    if (family == FLOE_AF_INET4)
        (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v);
    else
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v);
}

/* Makes fd the relay of allocation handle (watched), or a held port (handle 0, not
 * watched: nothing is read from it until it is claimed, maybe by another worker; it is
 * counted in n_relays from then on). NULL on failure (fd closed). */
static relay *relay_new(app *a, int fd, uint64_t handle) {
    relay *r = calloc(1, sizeof *r);
    if (!r || (handle && floe_rt_loop_watch(a->loop, fd, FLOE_RT_READ, on_relay, r) != FLOE_OK)) {
        close(fd);
        free(r);
        return NULL;
    }
    r->a = a;
    r->fd = fd;
    r->handle = handle;
    r->held = handle == 0;
    if (!r->held) a->n_relays++;
    return r;
}

static int relay_open_cb(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                         floe_addr *relayed, uint64_t *token) {
    app *a = ctx;
    int fd = -1;
    relay *r = NULL;
    if (srv_relay_bind(a, family, SOCK_DGRAM, even_port, &fd, relayed) != 0 ||
        !(r = relay_new(a, fd, handle))) {
        a->rtc[RTC_RELAY_OPEN_FAILED]++;
        return FLOE_ERR_IO;
    }
    if (dont_fragment) set_dont_fragment(fd, family);
    *token = (uint64_t)(uintptr_t)r;
    return FLOE_OK;
}

/* EVEN-PORT with R: the even port for the allocation, the next one held for the token. */
static int relay_open_pair_cb(void *ctx, uint64_t handle, int family, bool dont_fragment,
                              floe_addr *relayed, uint64_t *token, floe_addr *held_addr,
                              uint64_t *held) {
    app *a = ctx;
    int fd[2];
    floe_addr bound[2];
    if (relay_bind_pair(a, family, fd, bound) != 0) {
        a->rtc[RTC_RELAY_OPEN_FAILED]++;
        return FLOE_ERR_IO;
    }
    relay *r = relay_new(a, fd[0], handle);
    relay *h = r ? relay_new(a, fd[1], 0) : NULL;
    if (!r || !h) {
        if (r)
            relay_close_cb(a, (uint64_t)(uintptr_t)r);
        else
            close(fd[1]);
        a->rtc[RTC_RELAY_OPEN_FAILED]++;
        return FLOE_ERR_IO;
    }
    if (dont_fragment) set_dont_fragment(fd[0], family);
    *relayed = bound[0];
    *held_addr = bound[1];
    *token = (uint64_t)(uintptr_t)r;
    *held = (uint64_t)(uintptr_t)h;
    a->rtc[RTC_PORTS_HELD]++;
    return FLOE_OK;
}

/* RESERVATION-TOKEN: the held port starts relaying for allocation handle, in this
 * worker (the one that made the pair may be another: the reservation table is shared). */
static int relay_claim_cb(void *ctx, uint64_t held, uint64_t handle, bool dont_fragment) {
    app *a = ctx;
    relay *r = (relay *)(uintptr_t)held;
    if (floe_rt_loop_watch(a->loop, r->fd, FLOE_RT_READ, on_relay, r) != FLOE_OK)
        return FLOE_ERR_IO;
    r->a = a;
    r->held = false;
    a->n_relays++;
    r->handle = handle;
    if (dont_fragment) {
        floe_addr local;
        if (floe_rt_local_addr(r->fd, &local) == FLOE_OK) set_dont_fragment(r->fd, local.family);
    }
    return FLOE_OK;
}

static void relay_close_cb(void *ctx, uint64_t token) {
    app *a = ctx;
    relay *r = (relay *)(uintptr_t)token;
    if (r->tcp) srv_tcp_listener_closed(r);
    /* Datagrams waiting for this socket go first: after close() its number may be
     * reused by the next relay within the same batch. */
    srv_flush_pending(a);
    floe_rt_loop_unwatch(a->loop, r->fd);
    close(r->fd);
    r->fd = -1;
    r->next_dead = a->graveyard; /* a held one too: nobody else refers to it any more */
    a->graveyard = r;
    if (!r->held) a->n_relays--;
    if (!floe_rt_timer_armed(a->reaper)) floe_rt_timer_arm(a->reaper, floe_rt_now());
}

static void on_reaper(void *arg, floe_rt_timer *t) {
    (void)t;
    app *a = arg;
    while (a->graveyard) {
        relay *r = a->graveyard;
        a->graveyard = r->next_dead;
        free(r);
    }
}

static void on_tick(void *arg, floe_rt_timer *t) {
    app *a = arg;
    srv_set_time(a);
    floe_turn_server_tick(a->turn);
    floe_rt_timer_arm(t, floe_rt_now() + TICK_INTERVAL);
}

static void on_sweep(void *arg, floe_rt_timer *t) {
    app *a = arg;
    floe_time_ns now = floe_rt_now(), idle = FLOE_S(a->set.stream_idle_s);
    if (a->turn) srv_tcp_sweep(a);
    for (stream *s = a->streams, *next; s; s = next) {
        next = s->next;
        if (now - s->last >= idle) {
            a->rtc[RTC_STREAMS_CLOSED_IDLE]++;
            srv_stream_close(s);
        }
    }
    for (dsess *d = a->dsessions, *next; d; d = next) {
        next = d->next;
        if (!d->handshaken && now - d->created >= DTLS_HANDSHAKE_LIMIT) {
            a->rtc[RTC_DTLS_HANDSHAKE_FAILED]++;
            dsess_close(d);
        } else if (now - d->last >= idle) {
            a->rtc[RTC_DTLS_CLOSED_IDLE]++;
            dsess_close(d);
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
    static char buf[STATS_MAX]; /* worker 0's thread only */
    size_t n = srv_stats_json(a, buf, sizeof buf - 1);
    buf[n++] = '\n';
    ssize_t k = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)k; /* a reader that is not ready for 32 KiB on a fresh socket gets nothing */
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
    static char buf[STATS_MAX];
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

/* Builds the TURN core's configuration from the settings (users split from them by
 * srv_split_users); the arrays it points to live in *set and *users. Worker 0 alone
 * relays over TCP (RFC 6062: its ConnectionBind comes on a new TCP connection, and the
 * TCP listeners are worker 0's); with several workers the quotas are the fleet's and the
 * total bandwidth is shared out evenly. */
static void turn_config(app *a, const server_settings *set, const floe_turn_user *users,
                        floe_turn_server_config *c) {
    unsigned workers = srv_fleet_size(a);
    floe_turn_server_config_default(c);
    c->realm = set->realm;
    c->users = users;
    c->n_users = set->n_users;
    c->secrets = (const char *const *)set->secrets;
    c->n_secrets = set->n_secrets;
    c->max_allocations = set->max_allocations;
    c->user_quota = set->user_quota;
    c->max_permissions = set->max_permissions;
    c->max_channels = set->max_channels;
    c->default_lifetime_s = set->default_lifetime_s;
    c->max_lifetime_s = set->max_lifetime_s;
    c->nonce_lifetime_s = set->nonce_lifetime_s;
    c->bytes_per_s_allocation = (uint64_t)set->kbps_allocation * 1000;
    c->bytes_per_s_total = (uint64_t)set->kbps_total * 1000 / workers;
    if (set->kbps_total && !c->bytes_per_s_total) c->bytes_per_s_total = 1;
    c->unauth_per_s = set->unauth_rate;
    c->unauth_burst = set->unauth_burst;
    c->allow = set->allow_peer;
    c->n_allow = set->n_allow_peer;
    c->deny = set->deny_peer;
    c->n_deny = set->n_deny_peer;
    c->relay_v4 = c->relay_v6 = false;
    for (size_t i = 0; i < set->n_relay_ip; i++) {
        c->relay_v4 |= set->relay_ip[i].family == FLOE_AF_INET4;
        c->relay_v6 |= set->relay_ip[i].family == FLOE_AF_INET6;
    }
    c->software = set->software[0] ? set->software : NULL;
    c->stun = a->core.cfg;
    c->relay_open = relay_open_cb;
    c->relay_close = relay_close_cb;
    c->relay_open_pair = relay_open_pair_cb;
    c->relay_claim = relay_claim_cb;
    c->max_reservations = set->max_reservations;
    c->reservations = srv_fleet_reservations(a); /* shared by the workers, NULL for one */
    c->lock = c->reservations ? srv_reservations_lock : NULL;
    if (a->worker == 0) {
        c->tcp_listen = srv_tcp_listen_cb;
        c->tcp_connect = srv_tcp_connect_cb;
        c->tcp_close = srv_tcp_close_cb;
        c->max_tcp_connections = SERVER_TCP_PEERS;
    } else {
        c->max_tcp_connections = 0;
    }
    if (workers > 1) {
        c->admit = srv_admit_cb;
        c->release = srv_release_cb;
    }
    c->ctx = a;
    /* One key for every worker: a nonce or a handle made by one means the same to all. */
    memcpy(c->nonce_key, srv_fleet_key(a), sizeof c->nonce_key);
}

/* Adds a listening address to the self list; a wildcard one is named by the relay
 * addresses (ours) with its port. */
static void add_self(const app *a, const floe_addr *l, floe_addr *out, size_t cap, size_t *n) {
    if (!(floe_addr_classify(l, NULL) & FLOE_ADDR_UNSPECIFIED)) {
        if (*n < cap) out[(*n)++] = *l;
        return;
    }
    for (size_t i = 0; i < a->set.n_relay_ip && *n < cap; i++) {
        if (a->set.relay_ip[i].family != l->family) continue;
        out[*n] = a->set.relay_ip[i];
        out[(*n)++].port = l->port;
    }
}

size_t srv_self_addrs(const app *a, floe_addr *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < a->n_udp; i++)
        add_self(a, &a->udp[i].local, out, cap, &n);
    for (size_t i = 0; i < a->n_lst; i++)
        add_self(a, &a->lst[i].local, out, cap, &n);
    return n;
}

int srv_reload_core(app *a, const server_settings *set, const floe_turn_user *users) {
    floe_addr self[MAX_UDP + SERVER_MAX_LISTEN];
    floe_turn_server_config c;
    turn_config(a, set, users, &c);
    c.self = self;
    c.n_self = srv_self_addrs(a->primary, self, sizeof self / sizeof self[0]);
    return floe_turn_server_reload(a->turn, &c);
}

/* SIGHUP: read the configuration again; credentials, lists, quotas and rates change,
 * listeners and the table size stay. Worker 0 parses and checks it, applies it, then
 * hands it to the other workers. */
static void reload(app *a) {
    server_settings *fresh = calloc(1, sizeof *fresh);
    if (!fresh) return;
    server_settings_default(fresh);
    int rc = server_settings_parse(fresh, a->argc, a->argv);
    const char *why = NULL;
    if (rc == 0 && !a->turn && !fresh->realm[0])
        why = ": a STUN-only server has nothing to reload (listeners and STUN options need a "
              "restart)";
    else if (rc == 0 && a->turn && strcmp(fresh->realm, a->set.realm) != 0)
        why = " refused: the realm cannot change while the server runs (allocations hold keys "
              "made with it); restart instead";
    else if (rc != 0 || !a->turn || !fresh->realm[0])
        why = rc != 0 ? " failed (see above); keeping the running configuration"
                      : " cannot switch TURN on or off; keeping the running configuration";
    if (why) {
        fprintf(stderr, "floe server: reload%s\n", why);
        server_settings_free(fresh);
        free(fresh);
        return;
    }
    /* The relay sockets stay where they are: relay-ip changes need a restart. */
    if (fresh->n_relay_ip != a->set.n_relay_ip ||
        memcmp(fresh->relay_ip, a->set.relay_ip, sizeof fresh->relay_ip) != 0)
        fprintf(stderr, "floe server: reload: relay-ip changes need a restart; keeping the "
                        "running relay addresses\n");
    memcpy(fresh->relay_ip, a->set.relay_ip, sizeof fresh->relay_ip);
    fresh->n_relay_ip = a->set.n_relay_ip;
    if (fresh->workers != a->set.workers)
        fprintf(stderr, "floe server: reload: workers changes need a restart; keeping %u\n",
                a->set.workers);
    floe_turn_user *users = calloc(fresh->n_users + 1, sizeof *users);
    if (users) {
        srv_split_users(fresh, users);
        rc = srv_reload_core(a, fresh, users);
    } else {
        rc = FLOE_ERR_NOMEM;
    }
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe server: reload refused (%s); keeping the running configuration\n",
                floe_strerror(rc));
        free(users);
        server_settings_free(fresh);
        free(fresh);
        return;
    }
    a->rtc[RTC_RELOADS]++;
    fprintf(stderr,
            "floe server: reloaded %s: %zu users, %zu secrets, %zu allow and %zu deny "
            "prefixes%s\n",
            fresh->config[0] ? fresh->config : "(command line)", fresh->n_users, fresh->n_secrets,
            fresh->n_allow_peer, fresh->n_deny_peer,
            srv_fleet_size(a) > 1 ? "; passing it to the other workers" : "");
    srv_fleet_reload(a, fresh, users); /* takes fresh and users */
}

/* Every 200 ms while draining: done when no worker holds an allocation (every worker
 * having taken the drain), or at the deadline. */
static void on_drain_check(void *arg, floe_rt_timer *t) {
    app *a = arg;
    srv_numbers total;
    bool all_draining;
    srv_fleet_numbers(a, false, &total, NULL, &all_draining);
    if ((total.g.allocations == 0 && all_draining) || floe_rt_now() >= a->drain_deadline) {
        fprintf(stderr, "floe server: drained (%u allocations left)\n", total.g.allocations);
        floe_rt_loop_stop(a->loop);
        return;
    }
    floe_rt_timer_arm(t, floe_rt_now() + FLOE_MS(200));
}

static void on_signal(void *arg, int signo) {
    app *a = arg;
    if (signo == SIGUSR1) {
        srv_print_stats(a, "counters");
        return;
    }
    if (signo == SIGHUP) {
        reload(a);
        return;
    }
    /* SIGTERM/SIGINT: with TURN, drain first; a second signal stops at once. */
    if (a->turn && a->set.drain_timeout_s && !a->draining) {
        floe_turn_server_drain(a->turn);
        a->draining = true;
        srv_fleet_drain(a);
        a->drain_deadline = floe_rt_now() + FLOE_S(a->set.drain_timeout_s);
        fprintf(stderr,
                "floe server: draining: no new allocations; exiting when the last one ends or "
                "in %u s (signal again to stop now)\n",
                a->set.drain_timeout_s);
        floe_rt_timer_arm(a->drain, floe_rt_now());
        return;
    }
    floe_rt_loop_stop(a->loop);
}

void srv_app_free(app *a) {
    floe_rt_metrics_stop(a->metrics);
    while (a->streams)
        srv_stream_close(a->streams);
    while (a->dsessions)
        dsess_close(a->dsessions);
    floe_turn_server_free(a->turn); /* closes every relay socket and peer connection */
    srv_tcp_free(a);
    if (a->reaper) on_reaper(a, a->reaper);
    floe_rt_timer_free(a->tick);
    floe_rt_timer_free(a->drain);
    floe_rt_timer_free(a->reaper);
    floe_rt_timer_free(a->flush);
    for (size_t i = 0; i < a->n_udp; i++)
        close(a->udp[i].fd);
    for (size_t i = 0; i < a->n_lst; i++) {
        floe_rt_dtls_listener_free(a->lst[i].dtls);
        close(a->lst[i].fd);
    }
    if (a->control_bound) {
        close(a->control_fd);
        unlink(a->set.control);
    }
    floe_rt_timer_free(a->sweep);
    floe_rt_loop_free(a->loop);
    floe_rt_tls_ctx_free(a->tls);
    floe_rt_tls_ctx_free(a->dtls);
    if (!a->shares_set) server_settings_free(&a->set);
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
    if (srv_fleet_size(a) > 1)
        fprintf(stderr,
                "floe server: %u workers, each with its own event loop, UDP and DTLS sockets "
                "(SO_REUSEPORT) and TURN table; TCP and TLS on worker 0\n",
                srv_fleet_size(a));
    if (!a->turn) return;
    fprintf(stderr, "floe server: TURN on, realm '%s', %zu users, %zu secrets, relays on",
            a->set.realm, a->set.n_users, a->set.n_secrets);
    for (size_t i = 0; i < a->set.n_relay_ip; i++) {
        floe_addr_format(&a->set.relay_ip[i], false, s, sizeof s);
        fprintf(stderr, " %s", s);
    }
    fprintf(stderr, " ports %u-%u; peers that are not global are refused unless allowed\n",
            a->set.relay_port_lo, a->set.relay_port_hi);
}

/* Relays need a descriptor each: raise the soft limit to the hard one. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int start_turn(app *a) {
    floe_addr self[MAX_UDP + SERVER_MAX_LISTEN];
    floe_turn_server_config c;
    turn_config(a, &a->set, srv_fleet_users(a), &c);
    c.self = self;
    c.n_self = srv_self_addrs(a->primary, self, sizeof self / sizeof self[0]);
    int rc = floe_turn_server_new(&a->turn, &c);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe server: TURN configuration refused: %s\n", floe_strerror(rc));
        return 1;
    }
    if (a->worker == 0) raise_fd_limit();
    if (a->worker == 0 && srv_tcp_init(a) != 0) return 1;
    srv_set_time(a);
    if (floe_rt_timer_new(&a->tick, a->loop, on_tick, a) != FLOE_OK ||
        floe_rt_timer_new(&a->drain, a->loop, on_drain_check, a) != FLOE_OK ||
        floe_rt_timer_new(&a->reaper, a->loop, on_reaper, a) != FLOE_OK ||
        floe_rt_timer_new(&a->flush, a->loop, on_flush, a) != FLOE_OK)
        return 1;
    floe_rt_timer_arm(a->tick, floe_rt_now() + TICK_INTERVAL);
    return 0;
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
        char err[512];
        if (set->listen[i].transport == FLOE_TRANSPORT_TLS && !a->tls &&
            floe_rt_tls_ctx_new_server(&a->tls, set->tls_cert, set->tls_key, err, sizeof err)) {
            fprintf(stderr, "floe server: TLS: %s\n", err);
            return 1;
        }
        if (set->listen[i].transport == FLOE_TRANSPORT_DTLS && !a->dtls &&
            floe_rt_dtls_ctx_new_server(&a->dtls, set->tls_cert, set->tls_key, err, sizeof err)) {
            fprintf(stderr, "floe server: DTLS: %s\n", err);
            return 1;
        }
    }
    for (size_t i = 0; i < set->n_listen; i++) {
        const server_listen *l = &set->listen[i];
        int rc = l->transport == FLOE_TRANSPORT_UDP    ? open_udp(a, &l->addr)
                 : l->transport == FLOE_TRANSPORT_DTLS ? open_dtls_listener(a, &l->addr)
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
    if (set->realm[0] && start_turn(a)) return 1;
    if (open_control(a)) return 1;
    if (set->metrics_on) {
        char err[256];
        if (floe_rt_metrics_start(&a->metrics, a->loop, &set->metrics, srv_render_metrics, a, NULL,
                                  err, sizeof err) != FLOE_OK) {
            fprintf(stderr, "floe server: %s\n", err);
            return 1;
        }
    }
    if (floe_rt_timer_new(&a->sweep, a->loop, on_sweep, a) != FLOE_OK) return 1;
    floe_rt_timer_arm(a->sweep, floe_rt_now() + SWEEP_INTERVAL);
    floe_rt_loop_on_signal(a->loop, SIGTERM, on_signal, a);
    floe_rt_loop_on_signal(a->loop, SIGINT, on_signal, a);
    floe_rt_loop_on_signal(a->loop, SIGUSR1, on_signal, a);
    floe_rt_loop_on_signal(a->loop, SIGHUP, on_signal, a); /* never the default: exit */
    return 0;
}

app *srv_worker_new(app *a0, unsigned id) {
    app *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->set = a0->set; /* the lists stay worker 0's */
    a->shares_set = true;
    a->fleet = a0->fleet;
    a->primary = a0;
    a->worker = id;
    a->argc = a0->argc;
    a->argv = a0->argv;
    a->started = a0->started;
    char err[512];
    bool ok = floe_rt_loop_new(&a->loop) == FLOE_OK &&
              floe_stun_server_init(&a->core, &a0->core.cfg) == FLOE_OK;
    /* The same UDP and DTLS addresses as worker 0 (with the ports it was given for :0). */
    for (size_t i = 0; ok && i < a0->n_lst; i++) {
        if (a0->lst[i].tr != FLOE_TRANSPORT_DTLS) continue;
        if (!a->dtls && floe_rt_dtls_ctx_new_server(&a->dtls, a->set.tls_cert, a->set.tls_key, err,
                                                    sizeof err) != FLOE_OK) {
            fprintf(stderr, "floe server: worker %u: DTLS: %s\n", id, err);
            ok = false;
        }
        ok = ok && open_dtls_listener(a, &a0->lst[i].local) == 0;
    }
    for (size_t i = 0; ok && i < a0->n_udp; i++)
        ok = open_udp(a, &a0->udp[i].local) == 0;
    ok = ok && (!a0->turn || start_turn(a) == 0);
    ok = ok && floe_rt_timer_new(&a->sweep, a->loop, on_sweep, a) == FLOE_OK;
    if (!ok) {
        fprintf(stderr, "floe server: worker %u could not start\n", id);
        srv_app_free(a);
        return NULL;
    }
    floe_rt_timer_arm(a->sweep, floe_rt_now() + SWEEP_INTERVAL);
    return a;
}

int floe_cmd_server(int argc, char **argv) {
    app *a = calloc(1, sizeof *a);
    if (!a) return 1;
    server_settings_default(&a->set);
    a->argc = argc;
    a->argv = argv;
    int rc = server_settings_parse(&a->set, argc, argv);
    if (rc != 0) {
        server_settings_free(&a->set);
        free(a);
        return rc < 0 ? 0 : rc;
    }
    if (a->set.stats) {
        rc = print_remote_stats(a->set.control);
        server_settings_free(&a->set);
        free(a);
        return rc;
    }
    if (a->set.check_config) {
        /* The certificate and key must load, not just be named. */
        for (size_t i = 0; i < a->set.n_listen; i++) {
            floe_transport tr = a->set.listen[i].transport;
            if (tr != FLOE_TRANSPORT_TLS && tr != FLOE_TRANSPORT_DTLS) continue;
            char err[512];
            floe_rt_tls_ctx *ctx = NULL;
            rc = floe_rt_tls_ctx_new_server(&ctx, a->set.tls_cert, a->set.tls_key, err, sizeof err);
            floe_rt_tls_ctx_free(ctx);
            if (rc != FLOE_OK) {
                fprintf(stderr, "floe server: TLS: %s\n", err);
                server_settings_free(&a->set);
                free(a);
                return 1;
            }
            break;
        }
        server_settings_print(&a->set);
        server_settings_free(&a->set);
        free(a);
        return 0;
    }
    floe_rt_ignore_sigpipe();
    a->started = floe_rt_now();
    a->primary = a;
    if (floe_rt_loop_new(&a->loop) != FLOE_OK || srv_fleet_new(a) != 0) {
        fleet *f = a->fleet;
        srv_app_free(a);
        srv_fleet_free(f);
        return 1;
    }
    /* Worker 0 first: it takes the signals, so the other threads start with them blocked. */
    rc = start(a) || srv_fleet_start(a) ? 1 : 0;
    if (rc == 0) {
        describe(a);
        if (floe_rt_loop_run(a->loop) != FLOE_OK) rc = 1;
    }
    srv_fleet_stop(a);
    if (rc == 0) srv_print_stats(a, "stopped;");
    fleet *f = a->fleet;
    srv_app_free(a); /* worker 0 first: the others' threads are gone, the fleet stays */
    srv_fleet_free(f);
    return rc;
}
