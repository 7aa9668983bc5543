/* floe POSIX runtime: UDP sockets with batched receive and send (recvmmsg/sendmmsg).
 *
 * A batch call moves up to FLOE_RT_UDP_BATCH_MAX datagrams per system call. The msghdr,
 * iovec and sockaddr arrays it needs are fixed-size arrays on the caller's stack (about 7 KiB),
 * so no call allocates, nothing has to be created or freed beforehand, and any number of
 * threads may use the functions at once. The payload buffers belong to the caller.
 *
 * All calls are nonblocking. Errors are negative floe_err values with errno kept. */
#ifndef FLOE_RT_UDP_H
#define FLOE_RT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most datagrams one recvmmsg/sendmmsg call moves. */
#define FLOE_RT_UDP_BATCH_MAX 64
/* Socket buffer size floe_rt_udp_open asks for (the kernel may grant less). */
#define FLOE_RT_UDP_BUFSIZE (4 * 1024 * 1024)

/* Flags for floe_rt_udp_open. SO_REUSEADDR is not set by default: on Linux it lets a second
 * UDP socket bind the very same address and silently take over its traffic, and UDP has no
 * TIME_WAIT that would need it. */
enum {
    FLOE_RT_UDP_REUSEPORT = 1u << 0,   /* SO_REUSEPORT: kernel load-balancing across sockets */
    FLOE_RT_UDP_REUSEADDR = 1u << 1,   /* SO_REUSEADDR, for the rare caller that wants it */
    FLOE_RT_UDP_KERNEL_BUFS = 1u << 2, /* keep the kernel's default buffer sizes (for the many
                                          small sockets of a relay) */
};

/* One datagram. For receive: buf/cap are the caller's buffer, the call sets len, peer and
 * truncated. For send: buf/len are the payload, peer the destination (cap is ignored). */
typedef struct floe_rt_dgram {
    uint8_t *buf;
    size_t cap;
    size_t len;
    floe_addr peer;
    bool truncated; /* the datagram was longer than cap; len == cap and the rest is lost */
} floe_rt_dgram;

/* Opens a nonblocking, close-on-exec UDP socket bound to *bind (IPv6 sockets V6ONLY), with
 * send/receive buffers raised towards FLOE_RT_UDP_BUFSIZE (SO_*BUFFORCE when root, else
 * SO_*BUF; failures ignored). *bound (may be NULL) gets the real address, e.g. the port
 * chosen for port 0. Returns FLOE_OK or an errno-mapped error (errno kept). */
int floe_rt_udp_open(const floe_addr *bind, unsigned flags, int *fd_out, floe_addr *bound);

/* Receives up to n (at most FLOE_RT_UDP_BATCH_MAX) queued datagrams into d[0..]. Returns the
 * number received, 0 when none is queued, or a negative error (FLOE_ERR_UNREACHABLE for
 * an ICMP error reported on a connected socket). */
int floe_rt_udp_recv_batch(int fd, floe_rt_dgram *d, size_t n);

/* Sends d[0..n) in order, as many per system call as possible. Returns how many leading
 * datagrams were sent: fewer than n when the socket buffer is full (wait for FLOE_RT_WRITE)
 * or when d[result] failed, which the next call starting there reports. Returns a negative
 * error only when d[0] itself fails: the caller should drop d[0] and go on with d + 1. */
int floe_rt_udp_send_batch(int fd, const floe_rt_dgram *d, size_t n);

/* Sends one datagram of len bytes to peer. Returns 1 when sent, 0 when the socket buffer is
 * full, or a negative error. */
int floe_rt_udp_send(int fd, const void *buf, size_t len, const floe_addr *peer);

#ifdef __cplusplus
}
#endif
#endif
