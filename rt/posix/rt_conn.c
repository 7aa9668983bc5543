/* floe POSIX runtime: a client connection carrying framed messages (see rt_conn.h). */
#include "rt_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_tcp.h"

enum { PH_CONNECTING, PH_HANDSHAKE, PH_READY, PH_DEAD };

struct floe_rt_conn {
    floe_rt_conn_config cfg;
    floe_addr local_ip; /* cfg.local points here */
    char host[256];     /* cfg.host points here */
    floe_rt_stream s;
    int ph;
    uint32_t interest;
    floe_addr local;
    int busy;          /* inside a callback of ours: free waits */
    bool free_pending; /* floe_rt_conn_free was called meanwhile */
    char why[160];
    uint8_t *in, *out;
};

static void destroy(floe_rt_conn *c) {
    if (c->s.fd >= 0) floe_rt_loop_unwatch(c->cfg.loop, c->s.fd);
    floe_rt_stream_close(&c->s, c->ph == PH_READY);
    free(c->in);
    free(c->out);
    free(c);
}

/* The end, told once: why is "what" or "what: detail". */
static void die(floe_rt_conn *c, int err, const char *what, const char *detail) {
    if (c->ph == PH_DEAD) return;
    c->ph = PH_DEAD;
    if (c->s.fd >= 0) floe_rt_loop_unwatch(c->cfg.loop, c->s.fd);
    floe_rt_stream_close(&c->s, false);
    if (detail)
        snprintf(c->why, sizeof c->why, "%s: %s", what, detail);
    else
        snprintf(c->why, sizeof c->why, "%s", what);
    c->busy++;
    c->cfg.on_close(c->cfg.arg, err, c->why);
    c->busy--;
}

static void set_interest(floe_rt_conn *c, uint32_t want) {
    if (c->ph == PH_DEAD || want == c->interest) return;
    c->interest = want;
    floe_rt_loop_modify(c->cfg.loop, c->s.fd, want);
}

static void on_frame(void *arg, const uint8_t *p, size_t len) {
    floe_rt_conn *c = arg;
    if (c->free_pending || c->ph == PH_DEAD) return;
    c->cfg.on_frame(c->cfg.arg, p, len);
}

static void stream_failed(floe_rt_conn *c, int rc, const char *doing) {
    if (rc == FLOE_ERR_TLS)
        die(c, rc, "TLS failed", floe_rt_tls_error(c->s.tls));
    else
        die(c, rc, doing, NULL);
}

/* Flush and read as far as the socket allows, then wait for what is needed. */
static void pump(floe_rt_conn *c) {
    int flushed = floe_rt_stream_flush(&c->s);
    if (flushed < 0) {
        stream_failed(c, flushed, "sending failed");
        return;
    }
    int rd = floe_rt_stream_read(&c->s, c->cfg.frame_len, on_frame, c);
    if (c->ph == PH_DEAD || c->free_pending) return;
    if (rd == 0) {
        die(c, FLOE_OK, "closed by the peer", NULL);
        return;
    }
    if (rd == FLOE_ERR_MALFORMED || rd == FLOE_ERR_NOSPACE) {
        die(c, FLOE_ERR_MALFORMED, "the peer sent bytes that cannot be framed", NULL);
        return;
    }
    if (rd < 0) {
        stream_failed(c, rd, "receiving failed");
        return;
    }
    uint32_t want = (uint32_t)flushed | (uint32_t)rd | FLOE_RT_READ;
    if (c->s.out_len > 0) want |= FLOE_RT_WRITE;
    set_interest(c, want);
}

static void step(floe_rt_conn *c) {
    if (c->ph == PH_CONNECTING) {
        int rc = floe_rt_tcp_connect_result(c->s.fd);
        if (rc == FLOE_ERR_STATE) return;
        if (rc != FLOE_OK) {
            die(c, rc, "cannot connect", strerror(errno));
            return;
        }
        floe_rt_local_addr(c->s.fd, &c->local);
        if (!c->cfg.tls) {
            c->ph = PH_READY;
        } else {
            rc = floe_rt_tls_new_client(&c->s.tls, c->cfg.tls, c->s.fd, c->cfg.host);
            if (rc != FLOE_OK) {
                die(c, rc, "cannot set up TLS", floe_strerror(rc));
                return;
            }
            c->ph = PH_HANDSHAKE;
        }
    }
    if (c->ph == PH_HANDSHAKE) {
        floe_rt_tls_want want;
        if (floe_rt_tls_handshake(c->s.tls, &want) != FLOE_OK) {
            die(c, FLOE_ERR_TLS, "TLS handshake failed", floe_rt_tls_error(c->s.tls));
            return;
        }
        if (want != FLOE_RT_TLS_DONE) {
            set_interest(c, want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ);
            return;
        }
        c->ph = PH_READY;
    }
    if (c->ph == PH_READY) pump(c);
}

static void on_io(void *arg, int fd, uint32_t events) {
    (void)fd;
    (void)events;
    floe_rt_conn *c = arg;
    c->busy++;
    step(c);
    c->busy--;
    if (c->free_pending && c->busy == 0) destroy(c);
}

/* The connection with its buffers and copied strings, no socket yet. */
static int conn_new(floe_rt_conn **out, const floe_rt_conn_config *cfg) {
    if (!out || !cfg || !cfg->loop || !cfg->frame_len || !cfg->on_frame || !cfg->on_close)
        return FLOE_ERR_INVAL;
    *out = NULL;
    floe_rt_conn *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    c->cfg = *cfg;
    size_t in_cap = cfg->in_cap ? cfg->in_cap : FLOE_RT_CONN_BUF_DEFAULT;
    size_t out_cap = cfg->out_cap ? cfg->out_cap : FLOE_RT_CONN_BUF_DEFAULT;
    c->in = malloc(in_cap);
    c->out = malloc(out_cap);
    floe_rt_stream_init(&c->s, c->in, in_cap, c->out, out_cap);
    if (!c->in || !c->out) {
        destroy(c);
        return FLOE_ERR_NOMEM;
    }
    if (cfg->local) {
        c->local_ip = *cfg->local;
        c->cfg.local = &c->local_ip;
    }
    if (cfg->host) {
        if (strlen(cfg->host) >= sizeof c->host) {
            destroy(c);
            return FLOE_ERR_INVAL;
        }
        strcpy(c->host, cfg->host);
        c->cfg.host = c->host;
    }
    c->local.family = FLOE_AF_NONE;
    *out = c;
    return FLOE_OK;
}

/* Watches the socket for `want`; on failure the connection is gone. */
static int conn_watch(floe_rt_conn **out, floe_rt_conn *c, uint32_t want) {
    c->interest = want;
    int rc = floe_rt_loop_watch(c->cfg.loop, c->s.fd, want, on_io, c);
    if (rc != FLOE_OK) {
        floe_rt_stream_close(&c->s, false);
        destroy(c);
        return rc;
    }
    *out = c;
    return FLOE_OK;
}

int floe_rt_conn_open(floe_rt_conn **out, const floe_rt_conn_config *cfg) {
    floe_rt_conn *c;
    int rc = conn_new(&c, cfg);
    if (rc != FLOE_OK) return rc;
    rc = floe_rt_tcp_connect_from(c->cfg.local, &cfg->remote, &c->s.fd);
    if (rc != FLOE_OK) {
        c->s.fd = -1;
        destroy(c);
        return rc;
    }
    c->ph = PH_CONNECTING;
    return conn_watch(out, c, FLOE_RT_WRITE);
}

int floe_rt_conn_adopt(floe_rt_conn **out, const floe_rt_conn_config *cfg, int fd) {
    if (fd < 0 || (cfg && cfg->tls)) return FLOE_ERR_INVAL;
    floe_rt_conn *c;
    int rc = conn_new(&c, cfg);
    if (rc != FLOE_OK) {
        if (rc != FLOE_ERR_INVAL) close(fd);
        return rc;
    }
    c->s.fd = fd;
    c->ph = PH_READY;
    floe_rt_local_addr(fd, &c->local);
    return conn_watch(out, c, FLOE_RT_READ);
}

int floe_rt_conn_send(floe_rt_conn *c, const void *p, size_t len) {
    if (!c || (!p && len)) return FLOE_ERR_INVAL;
    if (c->ph == PH_DEAD || c->free_pending) return FLOE_ERR_STATE;
    if (floe_rt_stream_queue(&c->s, p, len) != FLOE_OK) {
        c->busy++;
        die(c, FLOE_ERR_LIMIT, "the write queue is full", NULL);
        c->busy--;
        if (c->free_pending && c->busy == 0) destroy(c);
        return FLOE_ERR_LIMIT;
    }
    if (c->ph != PH_READY) return FLOE_OK; /* leaves once connected */
    /* Write only: this may run inside on_frame, where the stream must not be read. */
    int flushed = floe_rt_stream_flush(&c->s);
    c->busy++;
    if (flushed < 0)
        stream_failed(c, flushed, "sending failed");
    else
        set_interest(c, FLOE_RT_READ | (uint32_t)flushed | (c->s.out_len ? FLOE_RT_WRITE : 0));
    c->busy--;
    int rc = c->ph == PH_DEAD ? FLOE_ERR_STATE : FLOE_OK;
    if (c->free_pending && c->busy == 0) destroy(c);
    return rc;
}

bool floe_rt_conn_ready(const floe_rt_conn *c) {
    return c && c->ph == PH_READY;
}

floe_addr floe_rt_conn_local(const floe_rt_conn *c) {
    return c->local;
}

void floe_rt_conn_free(floe_rt_conn *c) {
    if (!c) return;
    if (c->busy > 0) {
        c->free_pending = true;
        return;
    }
    destroy(c);
}
