/* SIP over TCP for floe call and floe answer (see sip_tcp.h). */
#include "sip_tcp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "rt_conn.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tcp.h"

typedef struct conn {
    floe_sip_tcp *t;
    floe_rt_conn *c; /* NULL: a free slot */
    floe_addr peer;
    floe_time_ns last_used;
} conn;

struct floe_sip_tcp {
    floe_sip_tcp_config cfg;
    int lfd;
    floe_addr local;
    conn conns[FLOE_SIP_TCP_MAX_CONNS];
};

static int frame_len(const uint8_t *p, size_t len, size_t *need) {
    bool keepalive;
    return floe_sip_frame_len((const char *)p, len, need, &keepalive);
}

static void on_frame(void *arg, const uint8_t *p, size_t len) {
    conn *k = arg;
    k->last_used = floe_rt_now();
    if (len > 0 && (p[0] == '\r' || p[0] == '\n')) { /* a keepalive frame */
        if (len >= 4) floe_rt_conn_send(k->c, "\r\n", 2);
        return;
    }
    floe_sip_tcp *t = k->t;
    floe_addr peer = k->peer;
    t->cfg.on_message(t->cfg.arg, &peer, (const char *)p, len);
}

static void on_close(void *arg, int err, const char *why) {
    (void)err;
    conn *k = arg;
    floe_sip_tcp *t = k->t;
    floe_addr peer = k->peer;
    floe_rt_conn_free(k->c); /* allowed from on_close */
    k->c = NULL;
    t->cfg.on_lost(t->cfg.arg, &peer, why);
}

/* A free slot, or the least recently used connection closed to make one. */
static conn *slot(floe_sip_tcp *t) {
    conn *oldest = NULL;
    for (size_t i = 0; i < FLOE_SIP_TCP_MAX_CONNS; i++) {
        conn *k = &t->conns[i];
        if (!k->c) return k;
        if (!oldest || k->last_used < oldest->last_used) oldest = k;
    }
    floe_rt_conn_free(oldest->c);
    oldest->c = NULL;
    return oldest;
}

static floe_rt_conn_config conn_config(floe_sip_tcp *t, conn *k, const floe_addr *peer) {
    floe_rt_conn_config cc = {
        .loop = t->cfg.loop,
        .remote = *peer,
        .frame_len = frame_len,
        .on_frame = on_frame,
        .on_close = on_close,
        .arg = k,
        .in_cap = FLOE_SIP_MAX_MSG_LEN,
        .out_cap = 4 * FLOE_SIP_MAX_MSG_LEN,
    };
    return cc;
}

static void on_accept(void *arg, int fd, uint32_t events) {
    (void)events;
    floe_sip_tcp *t = arg;
    for (int i = 0; i < 16; i++) {
        int cfd;
        floe_addr peer;
        int rc = floe_rt_tcp_accept(fd, &cfd, &peer);
        if (rc <= 0) return;
        conn *k = slot(t);
        k->t = t;
        k->peer = peer;
        k->last_used = floe_rt_now();
        floe_rt_conn_config cc = conn_config(t, k, &peer);
        if (floe_rt_conn_adopt(&k->c, &cc, cfd) != FLOE_OK) k->c = NULL;
    }
}

int floe_sip_tcp_open(floe_sip_tcp **out, const floe_sip_tcp_config *cfg, floe_addr *bound) {
    if (!out || !cfg || !cfg->loop || !cfg->on_message || !cfg->on_lost) return FLOE_ERR_INVAL;
    *out = NULL;
    floe_sip_tcp *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->cfg = *cfg;
    int rc = floe_rt_tcp_listen(&cfg->listen, 16, &t->lfd);
    if (rc != FLOE_OK) {
        free(t);
        return rc;
    }
    floe_rt_local_addr(t->lfd, &t->local);
    rc = floe_rt_loop_watch(cfg->loop, t->lfd, FLOE_RT_READ, on_accept, t);
    if (rc != FLOE_OK) {
        close(t->lfd);
        free(t);
        return rc;
    }
    if (bound) *bound = t->local;
    *out = t;
    return FLOE_OK;
}

int floe_sip_tcp_send(floe_sip_tcp *t, const floe_addr *to, const void *p, size_t len) {
    if (!t || !to || !p) return FLOE_ERR_INVAL;
    conn *k = NULL;
    for (size_t i = 0; i < FLOE_SIP_TCP_MAX_CONNS && !k; i++)
        if (t->conns[i].c && floe_addr_equal(&t->conns[i].peer, to)) k = &t->conns[i];
    if (!k) {
        k = slot(t);
        k->t = t;
        k->peer = *to;
        floe_rt_conn_config cc = conn_config(t, k, to);
        floe_addr from = t->local;
        from.port = 0;
        cc.local = &from;
        int rc = floe_rt_conn_open(&k->c, &cc);
        if (rc != FLOE_OK) {
            k->c = NULL;
            return rc;
        }
    }
    k->last_used = floe_rt_now();
    return floe_rt_conn_send(k->c, p, len);
}

size_t floe_sip_tcp_connections(const floe_sip_tcp *t) {
    size_t n = 0;
    for (size_t i = 0; t && i < FLOE_SIP_TCP_MAX_CONNS; i++)
        n += t->conns[i].c != NULL;
    return n;
}

void floe_sip_tcp_free(floe_sip_tcp *t) {
    if (!t) return;
    for (size_t i = 0; i < FLOE_SIP_TCP_MAX_CONNS; i++)
        floe_rt_conn_free(t->conns[i].c);
    floe_rt_loop_unwatch(t->cfg.loop, t->lfd);
    close(t->lfd);
    free(t);
}
