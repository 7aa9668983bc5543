/* `floe server`, RFC 6062 TCP relaying: the relayed address listens for peers, Connect
 * opens a connection to a peer from the relayed address, and a bound client data
 * connection is joined with its peer connection: bytes are copied both ways, with
 * back-pressure (a side whose partner cannot take more is not read). The core
 * (src/server/turn_tcp.c) decides who may connect and names the connections. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "server_rt.h"

#define PEER_BUF 65536             /* client bytes waiting for the peer */
#define CONNECT_TIMEOUT FLOE_S(30) /* RFC 6062 §5.2: then 447 */
/* Peers that connect to a relayed address are accepted this long after they arrive. RFC
 * 6062 §5.3 checks the permission at accept time, and a client that creates the
 * permission while the other side connects (two clients connecting to each other's
 * relays, as coturn's test client does) would otherwise lose the race on loopback. */
#define ACCEPT_DELAY FLOE_MS(50)

struct tcp_peer {
    app *a;
    int fd;
    uint32_t id;
    bool connecting;
    bool paused; /* not read: the client's write queue is full */
    floe_time_ns started;
    stream *partner; /* the bound client data connection */
};

static void on_accept_timer(void *arg, floe_rt_timer *t);

int srv_tcp_init(app *a) {
    if (!a->turn) return 0;
    a->n_tcp_peers_max = SERVER_TCP_PEERS;
    a->tcp_peers = calloc(a->n_tcp_peers_max, sizeof *a->tcp_peers);
    if (!a->tcp_peers) return -1;
    return floe_rt_timer_new(&a->accept_timer, a->loop, on_accept_timer, a) == FLOE_OK ? 0 : -1;
}

static tcp_peer **slot(app *a, uint32_t id) {
    uint32_t i = (id & 0xFFFF) - 1;
    if (!a->tcp_peers || id == 0 || i >= a->n_tcp_peers_max) return NULL;
    return &a->tcp_peers[i];
}

static void peer_free(tcp_peer *p) {
    app *a = p->a;
    tcp_peer **sl = slot(a, p->id);
    if (sl && *sl == p) *sl = NULL;
    floe_rt_loop_unwatch(a->loop, p->fd);
    close(p->fd);
    if (p->partner) p->partner->pipe = NULL;
    free(p);
}

void srv_tcp_free(app *a) {
    for (size_t i = 0; a->tcp_peers && i < a->n_tcp_peers_max; i++)
        if (a->tcp_peers[i]) peer_free(a->tcp_peers[i]);
    free(a->tcp_peers);
    a->tcp_peers = NULL;
    floe_rt_timer_free(a->accept_timer);
    a->accept_timer = NULL;
}

/* A TCP socket bound to addr with SO_REUSEPORT, so that a relayed address can listen
 * and connect out at once (RFC 6062 §5.2: connections leave from the relayed address). */
static int bound_socket(const floe_addr *addr, int *fd) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (floe_rt_addr_to_sockaddr(addr, &ss, &len) != FLOE_OK) return -1;
    int s = -1;
    if (floe_rt_socket(addr->family, SOCK_STREAM, &s) != FLOE_OK) return -1;
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        (addr->family == FLOE_AF_INET6 &&
         setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(s, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    *fd = s;
    return 0;
}

/* True when some TCP socket listens on addr's port already. SO_REUSEPORT (bound_socket)
 * would let a second listener bind it too, and the kernel would then spread the peers
 * that connect there over two allocations: a ConnectionAttempt for the wrong one, none
 * for the right one, and Connects to the "other" address of the port answered 446
 * (turnutils_uclient -T with many clients hung on it). A bind with SO_REUSEADDR alone
 * fails on a port in LISTEN state, and not on the relay's own connected sockets. */
static bool port_listened(const floe_addr *addr) {
    struct sockaddr_storage ss;
    socklen_t len;
    int s = -1, one = 1;
    if (floe_rt_addr_to_sockaddr(addr, &ss, &len) != FLOE_OK ||
        floe_rt_socket(addr->family, SOCK_STREAM, &s) != FLOE_OK)
        return false;
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr->family == FLOE_AF_INET6)
        (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    bool taken = bind(s, (struct sockaddr *)&ss, len) != 0 && errno == EADDRINUSE;
    close(s);
    return taken;
}

int srv_tcp_listen_socket(const floe_addr *addr, int *fd) {
    if (port_listened(addr)) {
        errno = EADDRINUSE; /* the caller tries the next port */
        return -1;
    }
    if (bound_socket(addr, fd) != 0) return -1;
    if (listen(*fd, 64) != 0) {
        int e = errno;
        close(*fd);
        errno = e;
        return -1;
    }
    return 0;
}

int srv_tcp_listen_cb(void *ctx, uint64_t handle, int family, floe_addr *relayed, uint64_t *token) {
    app *a = ctx;
    relay *r = calloc(1, sizeof *r);
    int fd = -1;
    if (!r || srv_relay_bind(a, family, SOCK_STREAM, false, &fd, relayed) != 0 ||
        floe_rt_loop_watch(a->loop, fd, FLOE_RT_READ, srv_tcp_on_listener, r) != FLOE_OK) {
        if (fd >= 0) close(fd);
        free(r);
        a->rtc[RTC_RELAY_OPEN_FAILED]++;
        return FLOE_ERR_IO;
    }
    r->a = a;
    r->fd = fd;
    r->tcp = true;
    r->handle = handle;
    a->n_relays++;
    *token = (uint64_t)(uintptr_t)r;
    return FLOE_OK;
}

static void on_peer(void *arg, int fd, uint32_t events);

static tcp_peer *peer_new(app *a, int fd, uint32_t id, bool connecting) {
    tcp_peer **sl = slot(a, id);
    tcp_peer *p = sl && !*sl ? calloc(1, sizeof *p) : NULL;
    if (!p) return NULL;
    p->a = a;
    p->fd = fd;
    p->id = id;
    p->connecting = connecting;
    p->started = floe_rt_now();
    /* Until it is bound, a peer connection is not read: its bytes wait in the kernel. */
    if (floe_rt_loop_watch(a->loop, fd, connecting ? FLOE_RT_WRITE : 0, on_peer, p) != FLOE_OK) {
        free(p);
        return NULL;
    }
    *sl = p;
    return p;
}

/* Readiness of a TCP relay listener: queue it for the accept timer. */
void srv_tcp_on_listener(void *arg, int lfd, uint32_t events) {
    (void)events;
    relay *r = arg;
    app *a = r->a;
    floe_rt_loop_modify(a->loop, lfd, 0);
    if (r->accept_queued) return;
    r->accept_queued = true;
    r->next_accept = a->accept_list;
    a->accept_list = r;
    if (!floe_rt_timer_armed(a->accept_timer))
        floe_rt_timer_arm(a->accept_timer, floe_rt_now() + ACCEPT_DELAY);
}

void srv_tcp_listener_closed(relay *r) {
    app *a = r->a;
    for (relay **l = &a->accept_list; *l; l = &(*l)->next_accept)
        if (*l == r) {
            *l = r->next_accept;
            break;
        }
    r->accept_queued = false;
}

static void accept_peers(relay *r) {
    app *a = r->a;
    for (int i = 0; i < 16; i++) {
        int fd;
        floe_addr peer;
        if (floe_rt_tcp_accept(r->fd, &fd, &peer) <= 0) return;
        srv_set_time(a);
        uint8_t out[512];
        floe_turn_server_out o;
        uint32_t id = floe_turn_server_tcp_incoming(a->turn, r->handle, &peer, out, sizeof out, &o);
        if (!id || !peer_new(a, fd, id, false)) {
            if (id) floe_turn_server_tcp_closed(a->turn, id);
            close(fd);
            continue;
        }
        srv_emit(a, &o); /* the ConnectionAttempt indication */
        srv_flush_pending(a);
    }
}

static void on_accept_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    app *a = arg;
    while (a->accept_list) {
        relay *r = a->accept_list;
        a->accept_list = r->next_accept;
        r->accept_queued = false;
        accept_peers(r);
        if (r->fd >= 0) floe_rt_loop_modify(a->loop, r->fd, FLOE_RT_READ);
    }
}

int srv_tcp_connect_cb(void *ctx, uint32_t id, const floe_addr *from, const floe_addr *peer) {
    app *a = ctx;
    int fd = -1;
    if (bound_socket(from, &fd) != 0) return FLOE_ERR_IO;
    struct sockaddr_storage ss;
    socklen_t len;
    floe_rt_addr_to_sockaddr(peer, &ss, &len);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
        /* The pair of addresses is taken: the peer's own connection to our relayed
         * address is waiting to be accepted (the core answers 446). */
        int e = errno;
        close(fd);
        return e == EADDRNOTAVAIL || e == EADDRINUSE ? FLOE_ERR_STATE : FLOE_ERR_UNREACHABLE;
    }
    if (!peer_new(a, fd, id, true)) {
        close(fd);
        return FLOE_ERR_NOMEM;
    }
    return FLOE_OK;
}

void srv_tcp_close_cb(void *ctx, uint32_t id) {
    app *a = ctx;
    tcp_peer **sl = slot(a, id);
    if (!sl || !*sl) return;
    tcp_peer *p = *sl;
    stream *s = p->partner;
    peer_free(p);
    if (s) srv_stream_close(s);
}

/* The peer connection is over: tell the core, close the client side too. */
static void peer_gone(tcp_peer *p) {
    app *a = p->a;
    stream *s = p->partner;
    floe_turn_server_tcp_closed(a->turn, p->id);
    peer_free(p);
    if (s) srv_stream_close(s);
}

static void connect_done(tcp_peer *p, bool ok) {
    app *a = p->a;
    uint32_t id = p->id;
    p->connecting = false;
    floe_rt_loop_modify(a->loop, p->fd, 0);
    srv_set_time(a);
    uint8_t out[512];
    floe_turn_server_out o;
    /* On failure the core closes the connection through srv_tcp_close_cb: p is gone. */
    floe_turn_server_tcp_connected(a->turn, id, ok, out, sizeof out, &o);
    srv_emit(a, &o);
    srv_flush_pending(a);
}

/* Peer to client: what the client's write queue can take. */
static void peer_to_client(tcp_peer *p) {
    stream *s = p->partner;
    uint8_t buf[16384];
    while (s && !p->paused) {
        size_t room = STREAM_WBUF_MAX - s->wlen;
        if (room == 0) {
            p->paused = true;
            floe_rt_loop_modify(p->a->loop, p->fd, 0);
            break;
        }
        ssize_t k = recv(p->fd, buf, room < sizeof buf ? room : sizeof buf, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            peer_gone(p);
            return;
        }
        if (k < 0) break;
        p->a->rtc[RTC_TCP_PEER_BYTES] += (uint64_t)k;
        if (srv_stream_queue(s, buf, (size_t)k) != 0) { /* cannot happen: room was checked */
            peer_gone(p);
            return;
        }
    }
    if (s && s->wlen) srv_stream_flush(s); /* may close s (and p with it) */
}

static void on_peer(void *arg, int fd, uint32_t events) {
    tcp_peer *p = arg;
    if (p->connecting) {
        int rc = floe_rt_tcp_connect_result(fd);
        if (rc != FLOE_ERR_STATE) connect_done(p, rc == FLOE_OK);
        return;
    }
    if (!p->partner) { /* waiting to be bound: only a reset or a hang-up can come */
        if (events & (FLOE_RT_HUP | FLOE_RT_ERROR)) peer_gone(p);
        return;
    }
    if (events & FLOE_RT_WRITE) { /* client bytes were waiting for the peer */
        stream *s = p->partner;
        if (srv_pipe_from_client(s) != 0) {
            peer_gone(p);
            return;
        }
        if (s->rlen == 0) {
            /* Read the client again; a broken stream is closed, and p with it. */
            if (srv_stream_flush(s) != 0) return;
            srv_stream_pump(s); /* what TLS holds already decrypted; may close s and p */
            return;
        }
    }
    if (events & (FLOE_RT_READ | FLOE_RT_HUP | FLOE_RT_ERROR)) peer_to_client(p);
}

void srv_pipe_join(stream *s, uint32_t id) {
    tcp_peer **sl = slot(s->a, id);
    if (!sl || !*sl || (*sl)->partner) return;
    tcp_peer *p = *sl;
    p->partner = s;
    s->pipe = p;
    floe_rt_loop_modify(s->a->loop, p->fd, FLOE_RT_READ);
}

int srv_pipe_from_client(stream *s) {
    tcp_peer *p = s->pipe;
    if (!p) return -1;
    size_t off = 0;
    while (off < s->rlen) {
        ssize_t k = send(p->fd, s->rbuf + off, s->rlen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (k <= 0) return -1;
        off += (size_t)k;
        s->a->rtc[RTC_TCP_PEER_BYTES] += (uint64_t)k;
    }
    memmove(s->rbuf, s->rbuf + off, s->rlen - off);
    s->rlen -= off;
    /* Bytes left: wait until the peer can take them (the client is not read meanwhile:
     * its read buffer is full). */
    floe_rt_loop_modify(s->a->loop, p->fd,
                        (p->paused ? 0 : FLOE_RT_READ) | (s->rlen ? FLOE_RT_WRITE : 0));
    return 0;
}

void srv_pipe_client_drained(stream *s) {
    tcp_peer *p = s->pipe;
    if (!p || !p->paused || s->wlen > STREAM_WBUF_MAX / 2) return;
    p->paused = false;
    floe_rt_loop_modify(s->a->loop, p->fd, FLOE_RT_READ);
}

void srv_pipe_client_closed(stream *s) {
    tcp_peer *p = s->pipe;
    if (!p) return;
    p->partner = NULL;
    s->pipe = NULL;
    floe_turn_server_tcp_closed(s->a->turn, p->id);
    peer_free(p);
}

void srv_tcp_sweep(app *a) {
    floe_time_ns now = floe_rt_now();
    for (size_t i = 0; a->tcp_peers && i < a->n_tcp_peers_max; i++) {
        tcp_peer *p = a->tcp_peers[i];
        if (p && p->connecting && now - p->started >= CONNECT_TIMEOUT) connect_done(p, false);
    }
}
