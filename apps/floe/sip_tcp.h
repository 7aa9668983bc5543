/* SIP over TCP for floe call and floe answer (RFC 3261 §18): a listener on our SIP
 * address and a table of connections, accepted or opened by us, each known by its peer's
 * address.
 *
 * What arrives is cut into messages by Content-Length (floe_sip_frame_len) and handed to
 * on_message with the peer's address; a CRLF keepalive (RFC 5626 §3.5.1, a double CRLF)
 * is answered with one CRLF and not handed on. Bytes that cannot be framed close the
 * connection. A message for a peer without a connection opens one from the listener's IP
 * (it leaves once connected); a response goes back on the connection its request came
 * on, since that connection is known by the same peer address. When a connection ends for
 * any reason other than our own close, on_lost says so (the user agent then ends the
 * transactions with that peer: floe_sip_ua_transport_error). */
#ifndef FLOE_APP_SIP_TCP_H
#define FLOE_APP_SIP_TCP_H

#include <stddef.h>

#include "floe/addr.h"
#include "rt_loop.h"

#define FLOE_SIP_TCP_MAX_CONNS 32 /* more at once: the oldest idle one is closed */

typedef struct floe_sip_tcp floe_sip_tcp;

typedef struct floe_sip_tcp_config {
    floe_rt_loop *loop;
    floe_addr listen; /* where to listen (our SIP address; port 0: any) */
    void (*on_message)(void *arg, const floe_addr *peer, const char *p, size_t len);
    void (*on_lost)(void *arg, const floe_addr *peer, const char *why);
    void *arg;
} floe_sip_tcp_config;

/* Listens. *bound (may be NULL) gets the address listened on. Errors of the socket calls
 * (errno kept), FLOE_ERR_INVAL, FLOE_ERR_NOMEM. */
int floe_sip_tcp_open(floe_sip_tcp **out, const floe_sip_tcp_config *cfg, floe_addr *bound);
/* Sends one message to `to` on its connection, opening one when there is none.
 * FLOE_ERR_LIMIT when the connection's queue is full (it is closed), the connect's errors. */
int floe_sip_tcp_send(floe_sip_tcp *t, const floe_addr *to, const void *p, size_t len);
/* Connections open now (accepted and ours). */
size_t floe_sip_tcp_connections(const floe_sip_tcp *t);
/* Closes the listener and every connection (no callback runs). NULL ok. */
void floe_sip_tcp_free(floe_sip_tcp *t);

#endif
