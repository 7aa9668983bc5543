/* floe POSIX runtime: UDP sockets, recvmmsg/sendmmsg batches. */
#define _GNU_SOURCE
#include "rt_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"

/* The smallest storage for an IPv4 or IPv6 socket address (28 bytes, not 128). */
typedef union udp_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} udp_sockaddr;

/* Fills u from a; returns its length, or 0 for an address that cannot be sent to. */
static socklen_t udp_fill_addr(const floe_addr *a, udp_sockaddr *u) {
    memset(u, 0, sizeof *u);
    if (a->family == FLOE_AF_INET4) {
        u->in4.sin_family = AF_INET;
        u->in4.sin_port = htons(a->port);
        memcpy(&u->in4.sin_addr, a->ip, 4);
        return sizeof u->in4;
    }
    if (a->family == FLOE_AF_INET6) {
        u->in6.sin6_family = AF_INET6;
        u->in6.sin6_port = htons(a->port);
        memcpy(&u->in6.sin6_addr, a->ip, 16);
        u->in6.sin6_scope_id = a->scope_id;
        return sizeof u->in6;
    }
    return 0;
}

/* Raises one socket buffer: SO_*BUFFORCE passes the rmem_max/wmem_max cap but needs
 * CAP_NET_ADMIN, so it is tried only as root; the plain option is the silent fallback. */
static void udp_grow_buffer(int fd, int force_opt, int opt) {
    int size = FLOE_RT_UDP_BUFSIZE;
    if (geteuid() == 0 && setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0) return;
    (void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

int floe_rt_udp_open(const floe_addr *bind_addr, unsigned flags, int *fd_out, floe_addr *bound) {
    if (!bind_addr || !fd_out) return FLOE_ERR_INVAL;
    *fd_out = -1;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (floe_rt_addr_to_sockaddr(bind_addr, &ss, &sslen)) return FLOE_ERR_INVAL;
    int fd, err = floe_rt_socket(bind_addr->family, SOCK_DGRAM, &fd);
    if (err) return err;

    int one = 1;
    if ((flags & FLOE_RT_UDP_REUSEADDR) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if ((flags & FLOE_RT_UDP_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (!(flags & FLOE_RT_UDP_KERNEL_BUFS)) {
        udp_grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
        udp_grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    }
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) goto fail;
    if (bound && floe_rt_local_addr(fd, bound)) goto fail;
    *fd_out = fd;
    return FLOE_OK;

fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return floe_rt_err_from_errno(saved);
}

int floe_rt_udp_recv_batch(int fd, floe_rt_dgram *d, size_t n) {
    if (!d && n) return FLOE_ERR_INVAL;
    if (n > FLOE_RT_UDP_BATCH_MAX) n = FLOE_RT_UDP_BATCH_MAX;
    if (n == 0) return 0;
    struct mmsghdr msgs[FLOE_RT_UDP_BATCH_MAX];
    struct iovec iov[FLOE_RT_UDP_BATCH_MAX];
    udp_sockaddr names[FLOE_RT_UDP_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = d[i].buf;
        iov[i].iov_len = d[i].cap;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got;
    do {
        got = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return floe_rt_err_from_errno(errno);
    }
    for (int i = 0; i < got; i++) {
        d[i].len = msgs[i].msg_len < d[i].cap ? msgs[i].msg_len : d[i].cap;
        d[i].truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        if (floe_rt_addr_from_sockaddr(&names[i].sa, msgs[i].msg_hdr.msg_namelen, &d[i].peer))
            memset(&d[i].peer, 0, sizeof d[i].peer); /* FLOE_AF_NONE: unknown sender */
    }
    return got;
}

int floe_rt_udp_send_batch(int fd, const floe_rt_dgram *d, size_t n) {
    if (!d && n) return FLOE_ERR_INVAL;
    if (n > (size_t)INT32_MAX) n = (size_t)INT32_MAX;
    struct mmsghdr msgs[FLOE_RT_UDP_BATCH_MAX];
    struct iovec iov[FLOE_RT_UDP_BATCH_MAX];
    udp_sockaddr names[FLOE_RT_UDP_BATCH_MAX];
    size_t done = 0;
    while (done < n) {
        size_t count = n - done < FLOE_RT_UDP_BATCH_MAX ? n - done : FLOE_RT_UDP_BATCH_MAX;
        for (size_t i = 0; i < count; i++) {
            const floe_rt_dgram *g = &d[done + i];
            socklen_t namelen = udp_fill_addr(&g->peer, &names[i]);
            if (namelen == 0) {
                count = i; /* stop before an unsendable address */
                break;
            }
            iov[i].iov_base = g->buf;
            iov[i].iov_len = g->len;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_name = &names[i];
            msgs[i].msg_hdr.msg_namelen = namelen;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        if (count == 0) return done ? (int)done : FLOE_ERR_INVAL;
        int sent = sendmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return done ? (int)done : floe_rt_err_from_errno(errno);
        }
        if (sent == 0) break; /* not expected from Linux; never spin on it */
        /* A partial count means the next one blocked or failed: the next pass finds out. */
        done += (size_t)sent;
    }
    return (int)done;
}

int floe_rt_udp_send(int fd, const void *buf, size_t len, const floe_addr *peer) {
    if ((!buf && len) || !peer) return FLOE_ERR_INVAL;
    udp_sockaddr name;
    socklen_t namelen = udp_fill_addr(peer, &name);
    if (namelen == 0) return FLOE_ERR_INVAL;
    for (;;) {
        ssize_t r = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, &name.sa, namelen);
        if (r >= 0) return 1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return floe_rt_err_from_errno(errno);
    }
}
