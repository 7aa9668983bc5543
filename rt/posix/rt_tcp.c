/* floe POSIX runtime: nonblocking TCP sockets. */
#define _GNU_SOURCE
#include "rt_tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"

/* Closes fd keeping errno, and returns the floe error for it. */
static int tcp_fail(int fd) {
    int saved = errno;
    close(fd);
    errno = saved;
    return floe_rt_err_from_errno(saved);
}

static void tcp_nodelay(int fd) {
    int one = 1;
    /* Only a latency optimisation: failure is harmless. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int floe_rt_tcp_listen(const floe_addr *bind_addr, int backlog, int *fd_out) {
    if (!bind_addr || !fd_out) return FLOE_ERR_INVAL;
    *fd_out = -1;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (floe_rt_addr_to_sockaddr(bind_addr, &ss, &sslen)) return FLOE_ERR_INVAL;
    int fd, err = floe_rt_socket(bind_addr->family, SOCK_STREAM, &fd);
    if (err) return err;
    int one = 1;
    /* For TCP this only allows rebinding over TIME_WAIT leftovers, not a live listener. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return tcp_fail(fd);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) return tcp_fail(fd);
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) return tcp_fail(fd);
    *fd_out = fd;
    return FLOE_OK;
}

int floe_rt_tcp_accept(int lfd, int *fd_out, floe_addr *peer) {
    if (!fd_out) return FLOE_ERR_INVAL;
    *fd_out = -1;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
            case EINTR:
            case ECONNABORTED: /* the peer gave up while queued: try the next one */ continue;
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                return 0;
            default: return floe_rt_err_from_errno(errno);
            }
        }
        tcp_nodelay(fd);
        if (peer && floe_rt_addr_from_sockaddr((struct sockaddr *)&ss, len, peer))
            return tcp_fail(fd);
        *fd_out = fd;
        return 1;
    }
}

int floe_rt_tcp_connect(const floe_addr *peer, int *fd_out) {
    return floe_rt_tcp_connect_from(NULL, peer, fd_out);
}

int floe_rt_tcp_connect_from(const floe_addr *local, const floe_addr *peer, int *fd_out) {
    if (!peer || !fd_out) return FLOE_ERR_INVAL;
    *fd_out = -1;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (floe_rt_addr_to_sockaddr(peer, &ss, &sslen)) return FLOE_ERR_INVAL;
    if (local && local->family != peer->family) return FLOE_ERR_INVAL;
    int fd, err = floe_rt_socket(peer->family, SOCK_STREAM, &fd);
    if (err) return err;
    tcp_nodelay(fd);
    if (local) {
        struct sockaddr_storage ls;
        socklen_t lslen;
        if (floe_rt_addr_to_sockaddr(local, &ls, &lslen) ||
            bind(fd, (struct sockaddr *)&ls, lslen) < 0)
            return tcp_fail(fd);
    }
    /* EINTR on a nonblocking connect leaves the attempt going on in the background, like
     * EINPROGRESS (retrying would only give EALREADY). */
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS && errno != EINTR)
        return tcp_fail(fd);
    *fd_out = fd;
    return FLOE_OK;
}

int floe_rt_tcp_connect_result(int fd) {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) return FLOE_ERR_IO;
    if (soerr != 0) {
        errno = soerr;
        return FLOE_ERR_UNREACHABLE;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0) return FLOE_OK;
    /* No pending error and no peer: still connecting (not writable yet), or the failure was
     * collected already (writable but unconnected). */
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
        errno = ENOTCONN;
        return FLOE_ERR_UNREACHABLE;
    }
    return FLOE_ERR_STATE;
}
