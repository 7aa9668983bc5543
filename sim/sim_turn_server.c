/* floe simulator: the TURN server core on a simulated host (see sim_turn_server.h). */
#include "sim_turn_server.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_tcp.h"
#include "sim_udp.h"

#define TURN_BUF 2048
/* The longest message a stream can frame: a STUN message (20 + 65532) or ChannelData
 * (4 + 65535 + 1 byte of padding), with room to spare. */
#define TCP_RBUF (65536 + 32)

/* A client's TCP connection: its bytes until they make a whole message. */
typedef struct sim_turn_conn {
    struct floe_sim_turn_server *t;
    struct sim_turn_conn *prev, *next;
    floe_sim_tcp *tcp;
    uint64_t id; /* the tuple's conn: 1, 2, ... in the order accepted */
    bool busy;   /* inside its own callback: freeing waits */
    bool doomed; /* to close once the callback returns */
    size_t rlen;
    uint8_t *rbuf;
} sim_turn_conn;

typedef struct sim_relay {
    struct floe_sim_turn_server *t;
    floe_sim_udp *sock;
    uint64_t handle;
} sim_relay;

struct floe_sim_turn_server {
    floe_sim *sim;
    floe_sim_host *host;
    floe_turn_server *core;
    floe_sim_udp *listener;
    floe_sim_tcp *tcp_listener; /* NULL until floe_sim_turn_server_listen_tcp */
    sim_turn_conn *conns;
    uint64_t next_conn;
    floe_sim_turn_server_tcp_stats tcp_stats;
    floe_sim_timer *tick;
    floe_sim_rng rng;
    uint64_t send_errors;
    uint8_t out[TURN_BUF];
};

static void set_time(floe_sim_turn_server *t, floe_time_ns now) {
    floe_turn_server_set_time(t->core, now, FLOE_SIM_TURN_UNIX_EPOCH + (uint64_t)(now / FLOE_S(1)));
}

/* ---- TCP connections ------------------------------------------------------------- */

static floe_turn_tuple conn_tuple(const sim_turn_conn *k) {
    return (floe_turn_tuple){.client = floe_sim_tcp_remote(k->tcp),
                             .server = floe_sim_tcp_local(k->tcp),
                             .transport = FLOE_TRANSPORT_TCP,
                             .conn = k->id};
}

static sim_turn_conn *find_conn(floe_sim_turn_server *t, uint64_t id) {
    for (sim_turn_conn *k = t->conns; k; k = k->next)
        if (k->id == id) return k;
    return NULL;
}

/* Ends a connection: its allocation goes with it (RFC 8656 §3.1), then the socket. */
static void conn_end(sim_turn_conn *k) {
    floe_sim_turn_server *t = k->t;
    if (k->busy) {
        k->doomed = true;
        return;
    }
    floe_turn_tuple tu = conn_tuple(k);
    floe_turn_server_conn_closed(t->core, &tu);
    floe_sim_tcp_close(k->tcp);
    if (k->prev)
        k->prev->next = k->next;
    else
        t->conns = k->next;
    if (k->next) k->next->prev = k->prev;
    t->tcp_stats.closed++;
    free(k->rbuf);
    free(k);
}

static void send_out(floe_sim_turn_server *t, const floe_turn_server_out *o) {
    if (!o->data) return;
    if (!o->to_peer && o->tuple.transport == FLOE_TRANSPORT_TCP) {
        sim_turn_conn *k = find_conn(t, o->tuple.conn);
        if (!k || k->doomed) {
            t->send_errors++;
        } else if (floe_sim_tcp_send(k->tcp, o->data, o->len) != FLOE_OK) {
            t->tcp_stats.overflow++; /* a client that reads nothing: let it go */
            conn_end(k);
        }
        return;
    }
    floe_sim_udp *s = o->to_peer ? ((sim_relay *)(uintptr_t)o->relay)->sock : t->listener;
    if (floe_sim_udp_send(s, &o->to, o->data, o->len) != FLOE_OK) t->send_errors++;
}

/* Feeds every whole message in k's buffer to the core. false when the bytes frame
 * nothing (the stream cannot be resynchronised). */
static bool conn_frames(sim_turn_conn *k) {
    floe_sim_turn_server *t = k->t;
    floe_turn_tuple tu = conn_tuple(k);
    size_t off = 0;
    bool ok = true;
    while (off < k->rlen && !k->doomed) {
        size_t need = 0;
        int rc = floe_turn_frame_len_upto(k->rbuf + off, k->rlen - off,
                                          FLOE_TURN_CHANNEL_MAX_RFC5766, &need);
        if (rc == FLOE_ERR_TRUNCATED) break;
        if (rc != FLOE_OK || need == 0 || need > TCP_RBUF) {
            ok = false;
            break;
        }
        if (k->rlen - off < need) break;
        floe_turn_server_out o;
        floe_turn_server_on_client(t->core, &tu, k->rbuf + off, need, t->out, sizeof t->out, &o);
        t->tcp_stats.messages++;
        off += need;
        send_out(t, &o);
    }
    memmove(k->rbuf, k->rbuf + off, k->rlen - off);
    k->rlen -= off;
    return ok;
}

static void on_conn(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                    const uint8_t *p, size_t len) {
    (void)c;
    sim_turn_conn *k = ctx;
    floe_sim_turn_server *t = k->t;
    set_time(t, now);
    if (ev == FLOE_SIM_TCP_EV_CLOSED || ev == FLOE_SIM_TCP_EV_FAILED) {
        conn_end(k);
        return;
    }
    if (ev != FLOE_SIM_TCP_EV_DATA) return;
    k->busy = true;
    bool ok = true;
    while (len > 0 && ok && !k->doomed) {
        size_t n = TCP_RBUF - k->rlen < len ? TCP_RBUF - k->rlen : len;
        memcpy(k->rbuf + k->rlen, p, n);
        k->rlen += n;
        p += n;
        len -= n;
        ok = conn_frames(k);
    }
    k->busy = false;
    if (!ok) t->tcp_stats.unframeable++;
    if (!ok || k->doomed) conn_end(k);
}

static void on_accept(void *ctx, floe_sim_tcp *listener, floe_sim_tcp *c, floe_time_ns now) {
    (void)listener;
    floe_sim_turn_server *t = ctx;
    set_time(t, now);
    sim_turn_conn *k = calloc(1, sizeof *k);
    if (k) k->rbuf = malloc(TCP_RBUF);
    if (!k || !k->rbuf) {
        if (k) free(k);
        t->tcp_stats.refused++;
        floe_sim_tcp_abort(c);
        return;
    }
    k->t = t;
    k->tcp = c;
    k->id = ++t->next_conn;
    k->next = t->conns;
    if (t->conns) t->conns->prev = k;
    t->conns = k;
    t->tcp_stats.accepted++;
    floe_sim_tcp_set_callback(c, on_conn, k);
}

int floe_sim_turn_server_listen_tcp(floe_sim_turn_server *t) {
    if (t->tcp_listener) return FLOE_ERR_STATE;
    floe_addr local = floe_sim_udp_local(t->listener);
    return floe_sim_tcp_listen(t->host, &local, on_accept, t, &t->tcp_listener);
}

void floe_sim_turn_server_tcp_stats_get(const floe_sim_turn_server *t,
                                        floe_sim_turn_server_tcp_stats *out) {
    *out = t->tcp_stats;
    out->open = 0;
    for (const sim_turn_conn *k = t->conns; k; k = k->next)
        out->open++;
}

/* ---- UDP ------------------------------------------------------------------------- */

static void on_client(void *ctx, floe_sim_udp *sock, floe_time_ns now, const floe_addr *src,
                      const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)dst;
    floe_sim_turn_server *t = ctx;
    set_time(t, now);
    floe_turn_tuple tu = {
        .client = *src, .server = floe_sim_udp_local(sock), .transport = FLOE_TRANSPORT_UDP};
    floe_turn_server_out o;
    floe_turn_server_on_client(t->core, &tu, p, len, t->out, sizeof t->out, &o);
    send_out(t, &o);
}

static void on_peer(void *ctx, floe_sim_udp *sock, floe_time_ns now, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)sock;
    (void)dst;
    sim_relay *r = ctx;
    floe_sim_turn_server *t = r->t;
    set_time(t, now);
    floe_turn_server_out o;
    floe_turn_server_on_peer(t->core, r->handle, src, p, len, t->out, sizeof t->out, &o);
    send_out(t, &o);
}

static int relay_open(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                      floe_addr *relayed, uint64_t *token) {
    (void)even_port; /* the simulator's ephemeral ports come in order; parity is not kept */
    (void)dont_fragment;
    floe_sim_turn_server *t = ctx;
    floe_addr bind = floe_sim_udp_local(t->listener);
    if (bind.family != family) return FLOE_ERR_UNSUPPORTED;
    bind.port = 0;
    sim_relay *r = calloc(1, sizeof *r);
    if (!r) return FLOE_ERR_NOMEM;
    int rc = floe_sim_udp_open(t->host, &bind, &r->sock);
    if (rc != FLOE_OK) {
        free(r);
        return rc;
    }
    r->t = t;
    r->handle = handle;
    floe_sim_udp_set_callback(r->sock, on_peer, r);
    *relayed = floe_sim_udp_local(r->sock);
    *token = (uint64_t)(uintptr_t)r;
    return FLOE_OK;
}

/* The simulator runs callbacks one at a time and never inside another socket's
 * callback for the same socket, so a relay can be closed at once. */
static void relay_close(void *ctx, uint64_t token) {
    (void)ctx;
    sim_relay *r = (sim_relay *)(uintptr_t)token;
    floe_sim_udp_close(r->sock);
    free(r);
}

static void on_tick(void *ctx, floe_sim_timer *tm, floe_time_ns now) {
    floe_sim_turn_server *t = ctx;
    set_time(t, now);
    floe_turn_server_tick(t->core);
    floe_sim_timer_arm(tm, now + FLOE_S(1));
}

void floe_sim_turn_server_free(floe_sim_turn_server *t) {
    if (!t) return;
    while (t->conns) {
        sim_turn_conn *k = t->conns;
        t->conns = k->next;
        floe_sim_tcp_close(k->tcp);
        free(k->rbuf);
        free(k);
    }
    floe_sim_tcp_close(t->tcp_listener);
    floe_turn_server_free(t->core); /* closes the relays */
    floe_sim_udp_close(t->listener);
    floe_sim_timer_free(t->tick);
    free(t);
}

int floe_sim_turn_server_new(floe_sim_host *h, const floe_addr *listen,
                             const floe_turn_server_config *cfg, floe_sim_turn_server **out) {
    *out = NULL;
    floe_sim_turn_server *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->host = h;
    t->sim = floe_sim_host_world(h);
    floe_turn_server_config c = *cfg;
    c.relay_open = relay_open;
    c.relay_close = relay_close;
    c.ctx = t;
    c.relay_v4 = listen->family == FLOE_AF_INET4;
    c.relay_v6 = listen->family == FLOE_AF_INET6;
    c.self = listen;
    c.n_self = 1;
    char label[96];
    floe_addr_format(listen, true, label + 5, sizeof label - 5);
    memcpy(label, "turn ", 5);
    floe_sim_rng_derive(t->sim, label, &t->rng);
    floe_sim_rng_bytes(&t->rng, c.nonce_key, sizeof c.nonce_key);
    int rc = floe_sim_udp_open(h, listen, &t->listener);
    if (rc == FLOE_OK) rc = floe_turn_server_new(&t->core, &c);
    if (rc == FLOE_OK) rc = floe_sim_timer_new(t->sim, on_tick, t, &t->tick);
    if (rc != FLOE_OK) {
        floe_sim_turn_server_free(t);
        return rc;
    }
    floe_sim_udp_set_callback(t->listener, on_client, t);
    set_time(t, floe_sim_now(t->sim));
    floe_sim_timer_arm(t->tick, floe_sim_now(t->sim) + FLOE_S(1));
    *out = t;
    return FLOE_OK;
}

const floe_turn_server *floe_sim_turn_server_core(const floe_sim_turn_server *t) {
    return t->core;
}

uint64_t floe_sim_turn_server_send_errors(const floe_sim_turn_server *t) {
    return t->send_errors;
}
