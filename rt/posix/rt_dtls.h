/* floe POSIX runtime: DTLS (OpenSSL 3, DTLS 1.2) over connected UDP sockets: a client, and
 * a server that accepts clients on one listening socket.
 *
 * DTLS (RFC 6347) carries datagrams: each write is one record in one datagram and each
 * read returns one record's payload, so message boundaries stay as on UDP, and so does
 * loss: nothing is retransmitted once the handshake is done. Records that fail
 * authentication or arrive twice are dropped by OpenSSL without a word (RFC 6347
 * §4.1.2.7).
 *
 * The context is a floe_rt_tls_ctx made by floe_rt_dtls_ctx_new_client (freed with
 * floe_rt_tls_ctx_free); it verifies the server's certificate and name exactly as the TLS
 * client does (rt_tls.h). The fd is a nonblocking UDP socket the caller has connected to
 * the server; it stays the caller's to watch and close.
 *
 * The handshake never blocks and runs on the caller's loop. Its flights are retransmitted
 * on a timer no fd event announces (RFC 6347 §4.2.4: 1 s, doubling up to 60 s), so
 * call floe_rt_dtls_handshake when the fd is ready as *want says AND when
 * floe_rt_dtls_timeout() has run out; it retransmits what is due. Results follow rt_tls.h:
 * a negative floe_err (FLOE_ERR_TLS with floe_rt_dtls_error() saying why; errno is the
 * socket call's when one failed, e.g. ECONNREFUSED for an ICMP port unreachable, else 0),
 * or FLOE_OK / a count with *want. With level-triggered epoll, read until it returns 0.
 * Writes use send(2) on the socket: ignore SIGPIPE (floe_rt_ignore_sigpipe).
 *
 * The server (RFC 6347 §4.2.1) keeps nothing for a ClientHello until it carries a valid
 * cookie: floe_rt_dtls_accept answers the others on the listening socket with a
 * HelloVerifyRequest whose cookie is an HMAC-SHA256 of the client's address and port and
 * a coarse time, keyed by a random secret of the process (valid for 60 to 90 s). A
 * ClientHello with a valid cookie becomes a connection on a socket of its own, bound to
 * the listener's address and port (SO_REUSEADDR and SO_REUSEPORT on both) and connected
 * to the client, so that the kernel delivers that client's datagrams to it; its handshake
 * then goes on there with floe_rt_dtls_handshake, read and write as for a client. */
#ifndef FLOE_RT_DTLS_H
#define FLOE_RT_DTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/addr.h"
#include "floe/time.h"
#include "rt_tls.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest payload of one record, so of one write (2^14 bytes, RFC 6347 §4.1 after RFC
 * 5246 §6.2.1). A read buffer of this size always holds a whole record. */
#define FLOE_RT_DTLS_MAX_RECORD 16384

typedef struct floe_rt_dtls floe_rt_dtls;

/* Client context for DTLS 1.2 or newer. With verify, the server chain must lead to a CA
 * from ca_file (PEM), or from the system's trust store when ca_file is NULL. FLOE_OK, or
 * FLOE_ERR_TLS / FLOE_ERR_NOMEM with the reason in errbuf (may be NULL). */
int floe_rt_dtls_ctx_new_client(floe_rt_tls_ctx **out, const char *ca_file, bool verify,
                                char *errbuf, size_t errcap);

/* Client side on the connected UDP socket fd. host (may be NULL) names the server as for
 * floe_rt_tls_new_client: SNI for a name, and the name or IP literal the certificate must
 * match when the context verifies. FLOE_OK, FLOE_ERR_INVAL (fd not a connected socket),
 * FLOE_ERR_NOMEM or FLOE_ERR_TLS. Nothing is sent before the first handshake call. */
int floe_rt_dtls_new_client(floe_rt_dtls **out, floe_rt_tls_ctx *ctx, int fd, const char *host);
/* Frees the connection without sending anything; does not close the fd. NULL is ok. */
void floe_rt_dtls_free(floe_rt_dtls *d);

/* Advances the handshake, first retransmitting the last flight if the timer ran out.
 * FLOE_OK with *want DONE once it has completed (certificate and name verified when
 * asked), or WANT_READ/WANT_WRITE: call again when the fd is ready or the timer runs out;
 * FLOE_ERR_TLS when it failed (a fatal alert, a bad certificate, a socket error, or no
 * answer after OpenSSL's 12 retransmissions). */
int floe_rt_dtls_handshake(floe_rt_dtls *d, floe_rt_tls_want *want);
/* Time left until the handshake's retransmission timer runs out (0: now), or
 * FLOE_TIME_NEVER when none runs (before the first handshake call, after the handshake). */
floe_time_ns floe_rt_dtls_timeout(floe_rt_dtls *d);
/* How many times the handshake retransmitted a flight on its timer. */
unsigned floe_rt_dtls_retransmits(const floe_rt_dtls *d);

/* ---- server ---------------------------------------------------------------------------- */

typedef struct floe_rt_dtls_listener floe_rt_dtls_listener;

/* Server context for DTLS 1.2 or newer from a PEM certificate chain file (leaf first) and a
 * PEM private key file, as floe_rt_tls_ctx_new_server, answering with stateless cookies.
 * Returns like it. */
int floe_rt_dtls_ctx_new_server(floe_rt_tls_ctx **out, const char *cert_chain_file,
                                const char *key_file, char *errbuf, size_t errcap);
/* Opens the nonblocking listening UDP socket on addr (SO_REUSEADDR and SO_REUSEPORT, so
 * that connections can share its address); *bound gets the address (the port for :0).
 * FLOE_OK or an errno-mapped error (errno kept). The fd is the caller's to close. */
int floe_rt_dtls_listen_socket(const floe_addr *addr, int *fd, floe_addr *bound);
/* A listener on fd (from floe_rt_dtls_listen_socket, bound to local) with a server context.
 * FLOE_OK, FLOE_ERR_INVAL or FLOE_ERR_NOMEM. */
int floe_rt_dtls_listener_new(floe_rt_dtls_listener **out, floe_rt_tls_ctx *ctx, int fd,
                              const floe_addr *local);
/* Frees the listener; does not close its fd. NULL is ok. */
void floe_rt_dtls_listener_free(floe_rt_dtls_listener *l);
/* Reads what the listening socket holds: a ClientHello without a valid cookie gets a
 * HelloVerifyRequest, anything else is dropped, and neither leaves state behind. Returns
 * 1 when a ClientHello carried a valid cookie: *out is its server connection on the new
 * socket *fd (nonblocking, connected to *client; the caller watches and closes it), the
 * handshake to be driven by floe_rt_dtls_handshake; 0 when the socket has nothing more
 * now (wait until it is readable); or a negative floe_err when a valid ClientHello could
 * not get a socket (errno says why) or memory: it is dropped (the client sends it again),
 * and the caller may call again. */
int floe_rt_dtls_accept(floe_rt_dtls_listener *l, floe_rt_dtls **out, int *fd, floe_addr *client);
/* HelloVerifyRequests the listener sent (each a ClientHello without a valid cookie). */
unsigned long floe_rt_dtls_listener_cookies_sent(const floe_rt_dtls_listener *l);

/* Reads the payload of the next record (one datagram from the server) into buf; with
 * cap >= FLOE_RT_DTLS_MAX_RECORD it is always whole. Returns its length (> 0); 0 with
 * *want WANT_READ (nothing there: wait for the fd), WANT_WRITE, or CLOSED (the server
 * sent close_notify); or FLOE_ERR_TLS. An empty record is skipped. */
int floe_rt_dtls_read(floe_rt_dtls *d, void *buf, size_t cap, floe_rt_tls_want *want);
/* Sends buf as one record in one datagram. Returns len; 0 with *want WANT_WRITE when the
 * socket buffer was full: the datagram is dropped, as on UDP (send it again only if the
 * protocol above wants to); FLOE_ERR_LIMIT for len 0 or above FLOE_RT_DTLS_MAX_RECORD;
 * FLOE_ERR_TLS. */
int floe_rt_dtls_write(floe_rt_dtls *d, const void *buf, size_t len, floe_rt_tls_want *want);
/* Sends close_notify (one datagram, best effort, without waiting for the server's).
 * FLOE_OK, or FLOE_ERR_TLS when the connection is already broken. */
int floe_rt_dtls_shutdown(floe_rt_dtls *d);

/* Why the last call failed ("" if none), e.g. "DTLS handshake: certificate verify failed:
 * IP address mismatch". */
const char *floe_rt_dtls_error(const floe_rt_dtls *d);
/* The negotiated protocol version, e.g. "DTLSv1.2" (after the handshake). */
const char *floe_rt_dtls_version(const floe_rt_dtls *d);

#ifdef __cplusplus
}
#endif
#endif
