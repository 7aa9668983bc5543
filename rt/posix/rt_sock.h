/* floe POSIX runtime: socket addresses, name resolution and socket basics.
 *
 * floe_addr (include/floe/addr.h) is the address type of the whole project; this file is
 * where it meets struct sockaddr and getaddrinfo(). UDP and TCP sockets live in rt_udp.h
 * and rt_tcp.h.
 *
 * Errors: functions return FLOE_OK or a negative floe_err. When a system call failed, errno
 * is left as that call set it, so a caller can add strerror(errno) to its message. */
#ifndef FLOE_RT_SOCK_H
#define FLOE_RT_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills ss (and *len, if len is not NULL) with a's IPv4 or IPv6 address, port and IPv6
 * scope id. Returns FLOE_OK or FLOE_ERR_INVAL for a FLOE_AF_NONE address. */
int floe_rt_addr_to_sockaddr(const floe_addr *a, struct sockaddr_storage *ss, socklen_t *len);
/* Fills out from an AF_INET or AF_INET6 sockaddr of len bytes (IPv4-mapped IPv6 addresses
 * stay IPv6). Returns FLOE_OK or FLOE_ERR_INVAL for another family or a short length. */
int floe_rt_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, floe_addr *out);

/* Maps an errno value to a floe error: FLOE_ERR_UNREACHABLE (refused, unreachable, timed
 * out, reset), FLOE_ERR_NOMEM, FLOE_ERR_LIMIT (out of fds), FLOE_ERR_UNSUPPORTED, else
 * FLOE_ERR_IO. */
int floe_rt_err_from_errno(int e);

/* Resolves hostport into up to max addresses in out, setting *n (at least 1 on success).
 * Accepts "host", "host:port", "1.2.3.4", "1.2.3.4:5", "[::1]", "[::1]:5", "::1" and
 * "fe80::1%eth0" (a bare IPv6 literal has no port); default_port is used when none is given.
 * family_pref: FLOE_AF_NONE returns both families in the system's preference order,
 * FLOE_AF_INET4 or FLOE_AF_INET6 only that family.
 * IPv4 literals must be plain dotted quads ("127.1" and "0x7f.0.0.1" are refused);
 * "localhost" and "*.localhost" give 127.0.0.1 and ::1 and "*.invalid" fails, both without
 * asking DNS (RFC 6761). Non-ASCII names must be given in their "xn--" form.
 * Returns FLOE_OK; FLOE_ERR_ADDR for a malformed string or port ("x:abc", "x:99999");
 * FLOE_ERR_RESOLVE when the name has no address (of the wanted family); FLOE_ERR_INVAL,
 * FLOE_ERR_NOMEM or FLOE_ERR_IO. */
int floe_rt_resolve(const char *hostport, uint16_t default_port, int family_pref, floe_addr *out,
                    size_t max, size_t *n);

/* Creates a nonblocking, close-on-exec socket of type (SOCK_DGRAM, SOCK_STREAM) for family
 * (FLOE_AF_INET4/6); IPv6 sockets are IPV6_V6ONLY. Returns FLOE_OK, FLOE_ERR_INVAL or an
 * errno-mapped error. */
int floe_rt_socket(int family, int type, int *fd_out);
/* The local address fd is bound to (getsockname). Returns FLOE_OK or FLOE_ERR_IO. */
int floe_rt_local_addr(int fd, floe_addr *out);
/* The address of the peer of a connected fd (getpeername). Returns FLOE_OK or FLOE_ERR_IO. */
int floe_rt_peer_addr(int fd, floe_addr *out);

#ifdef __cplusplus
}
#endif
#endif
