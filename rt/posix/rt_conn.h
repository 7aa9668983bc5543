/* floe POSIX runtime: one client connection (TCP, or TLS over TCP) driven by an rt_loop,
 * carrying framed messages.
 *
 * It does the whole life of a client stream without blocking: a nonblocking connect
 * (from a chosen local IP or any), the TLS handshake, a write queue flushed as the socket
 * takes it, and reads cut into messages by a framing function (floe_turn_frame_len,
 * floe_stun_frame_len). Messages queued before the connection is up leave once it is.
 *
 *   floe_rt_conn_config cc = {.loop = loop, .remote = server, .frame_len = floe_turn_frame_len,
 *                             .on_frame = got, .on_close = gone, .arg = me};
 *   floe_rt_conn *c;
 *   floe_rt_conn_open(&c, &cc);
 *   floe_rt_conn_send(c, msg, len);      // queued, then written
 *   ...                                  // got(me, p, len) for every whole message
 *   floe_rt_conn_free(c);
 *
 * on_close runs once, when the connection ends for any reason (refused, TLS failure,
 * the peer closed, unframeable bytes, a full queue): the connection is dead after it
 * (send fails with FLOE_ERR_STATE) but stays allocated until floe_rt_conn_free, which may
 * be called from on_close or on_frame. */
#ifndef FLOE_RT_CONN_H
#define FLOE_RT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "rt_loop.h"
#include "rt_stream.h"
#include "rt_tls.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_RT_CONN_BUF_DEFAULT 8192 /* read buffer and write queue, each */

typedef struct floe_rt_conn floe_rt_conn;

typedef struct floe_rt_conn_config {
    floe_rt_loop *loop;
    const floe_addr *local; /* connect from this IP (port 0: ephemeral), or NULL */
    floe_addr remote;       /* where to connect */
    floe_rt_tls_ctx *tls;   /* a client context for TLS, NULL for plain TCP */
    const char *host;       /* TLS: the name to send and verify (see rt_tls.h), or NULL;
                               copied (at most 255 bytes) */
    floe_rt_frame_len_fn frame_len;
    /* A whole message; p is valid during the call. */
    void (*on_frame)(void *arg, const uint8_t *p, size_t len);
    /* The connection ended: err is a floe_err (FLOE_OK when the peer closed cleanly) and
     * why a short text ("refused", "TLS handshake failed: ...", "closed by the peer"). */
    void (*on_close)(void *arg, int err, const char *why);
    void *arg;
    size_t in_cap, out_cap; /* 0 = FLOE_RT_CONN_BUF_DEFAULT */
} floe_rt_conn_config;

/* Starts connecting. FLOE_ERR_INVAL (missing loop, framing or callbacks), FLOE_ERR_NOMEM,
 * or the errors of floe_rt_tcp_connect_from (the connection then does not exist). */
int floe_rt_conn_open(floe_rt_conn **out, const floe_rt_conn_config *cfg);
/* A server's side: takes an accepted, connected TCP socket (plain TCP only: cfg.tls must
 * be NULL), ready at once; cfg.remote names the peer, cfg.local is not used. The
 * connection owns fd from then on, also when this fails (FLOE_ERR_INVAL: fd < 0 or TLS;
 * FLOE_ERR_NOMEM; the loop's errors), except for FLOE_ERR_INVAL. */
int floe_rt_conn_adopt(floe_rt_conn **out, const floe_rt_conn_config *cfg, int fd);
/* Queues one message (all or nothing) and writes what the socket takes once connected.
 * FLOE_ERR_STATE after the connection ended, FLOE_ERR_LIMIT when the queue is full (the
 * connection is then closed: a stream cannot drop a message in its middle). */
int floe_rt_conn_send(floe_rt_conn *c, const void *p, size_t len);
/* True once connected (and the TLS handshake is done). */
bool floe_rt_conn_ready(const floe_rt_conn *c);
/* The local address once connected (family NONE before). */
floe_addr floe_rt_conn_local(const floe_rt_conn *c);
/* Closes (TLS close_notify, best effort) and frees. NULL ok; no callback runs. */
void floe_rt_conn_free(floe_rt_conn *c);

#ifdef __cplusplus
}
#endif
#endif
