/* floe POSIX runtime: a client's TCP or TLS stream, cut into framed messages. */
#define _GNU_SOURCE
#include "rt_stream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_loop.h"
#include "rt_sock.h"

/* A send/recv failure: the interest that waits it out, or the error (errno kept). */
static int sock_wait_or_error(uint32_t interest) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return (int)interest;
    return floe_rt_err_from_errno(errno);
}

void floe_rt_stream_init(floe_rt_stream *s, uint8_t *in, size_t in_cap, uint8_t *out,
                         size_t out_cap) {
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->in = in;
    s->in_cap = in_cap;
    s->out = out;
    s->out_cap = out_cap;
}

int floe_rt_stream_queue(floe_rt_stream *s, const void *p, size_t len) {
    if (len > s->out_cap - s->out_len) return FLOE_ERR_LIMIT;
    memcpy(s->out + s->out_len, p, len);
    s->out_len += len;
    return FLOE_OK;
}

int floe_rt_stream_flush(floe_rt_stream *s) {
    while (s->out_len > 0) {
        ssize_t n;
        if (s->tls) {
            floe_rt_tls_want want;
            int rc = floe_rt_tls_write(s->tls, s->out, s->out_len, &want);
            if (rc < 0) return FLOE_ERR_TLS;
            if (rc == 0) return want == FLOE_RT_TLS_WANT_READ ? FLOE_RT_READ : FLOE_RT_WRITE;
            n = rc;
        } else {
            n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);
            if (n < 0) return sock_wait_or_error(FLOE_RT_WRITE);
        }
        memmove(s->out, s->out + n, s->out_len - (size_t)n);
        s->out_len -= (size_t)n;
    }
    return 0;
}

/* Hands every complete message at the start of the read buffer to on_frame (and, once
 * the callback has set raw, all the rest as it is), then moves what is left of an
 * incomplete message to the front. */
static int deliver(floe_rt_stream *s, floe_rt_frame_len_fn frame_len,
                   floe_rt_stream_frame_cb on_frame, void *arg) {
    size_t off = 0;
    int rc = FLOE_OK;
    while (off < s->in_len) {
        if (s->raw) {
            on_frame(arg, s->in + off, s->in_len - off);
            off = s->in_len;
            break;
        }
        size_t need = 0;
        int fr = frame_len(s->in + off, s->in_len - off, &need);
        if (fr == FLOE_ERR_TRUNCATED) break;
        if (fr != FLOE_OK || need > s->in_cap) {
            rc = FLOE_ERR_MALFORMED;
            break;
        }
        if (s->in_len - off < need) break;
        on_frame(arg, s->in + off, need);
        off += need;
    }
    memmove(s->in, s->in + off, s->in_len - off);
    s->in_len -= off;
    return rc;
}

int floe_rt_stream_read(floe_rt_stream *s, floe_rt_frame_len_fn frame_len,
                        floe_rt_stream_frame_cb on_frame, void *arg) {
    for (;;) {
        if (s->in_len == s->in_cap) return FLOE_ERR_NOSPACE;
        ssize_t n;
        if (s->tls) {
            floe_rt_tls_want want;
            int rc = floe_rt_tls_read(s->tls, s->in + s->in_len, s->in_cap - s->in_len, &want);
            if (rc < 0) return FLOE_ERR_TLS;
            if (rc == 0 && want != FLOE_RT_TLS_CLOSED)
                return want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ;
            n = rc;
        } else {
            n = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
            if (n < 0) return sock_wait_or_error(FLOE_RT_READ);
        }
        if (n == 0) return 0; /* the peer closed the stream */
        s->in_len += (size_t)n;
        int rc = deliver(s, frame_len, on_frame, arg);
        if (rc != FLOE_OK) return rc;
    }
}

void floe_rt_stream_close(floe_rt_stream *s, bool notify) {
    if (s->tls && notify) {
        floe_rt_tls_want want;
        floe_rt_tls_shutdown(s->tls, &want); /* best effort close_notify */
    }
    floe_rt_tls_free(s->tls);
    s->tls = NULL;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    s->in_len = s->out_len = 0;
    s->raw = false;
}
