/* floe POSIX runtime: nonblocking TCP listen, accept and connect.
 *
 * Every socket is nonblocking and close-on-exec; connected sockets have TCP_NODELAY (STUN,
 * TURN and SIP messages are small and latency-bound). Errors are negative floe_err values
 * with errno kept. Write with send(..., MSG_NOSIGNAL) or ignore SIGPIPE (floe_rt_ignore_sigpipe in
 * rt_sys.h). */
#ifndef FLOE_RT_TCP_H
#define FLOE_RT_TCP_H

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens a listening socket on *bind (SO_REUSEADDR, IPv6 V6ONLY) with backlog (<= 0 means
 * SOMAXCONN); port 0 picks a free port, see floe_rt_local_addr. Returns FLOE_OK or an error. */
int floe_rt_tcp_listen(const floe_addr *bind, int backlog, int *fd_out);

/* Accepts one pending connection from listening socket lfd into *fd_out, peer (may be NULL)
 * getting its address. Returns 1 when accepted, 0 when none is pending, or a negative error
 * (FLOE_ERR_LIMIT when out of file descriptors: stop watching lfd for a while). */
int floe_rt_tcp_accept(int lfd, int *fd_out, floe_addr *peer);

/* Starts connecting to *peer. Returns FLOE_OK with *fd_out set (connected or in progress:
 * wait for FLOE_RT_WRITE, then call floe_rt_tcp_connect_result), or an error with no fd
 * (FLOE_ERR_UNREACHABLE when refused at once). */
int floe_rt_tcp_connect(const floe_addr *peer, int *fd_out);

/* The same from a chosen local address (an IP of this host; port 0 for an ephemeral
 * one): the connection leaves by that address. NULL local is floe_rt_tcp_connect. */
int floe_rt_tcp_connect_from(const floe_addr *local, const floe_addr *peer, int *fd_out);

/* Outcome of a connect once fd became writable: FLOE_OK when connected,
 * FLOE_ERR_UNREACHABLE when it failed (errno set to the reason), FLOE_ERR_STATE when it
 * is still in progress. */
int floe_rt_tcp_connect_result(int fd);

#ifdef __cplusplus
}
#endif
#endif
