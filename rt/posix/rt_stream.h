/* floe POSIX runtime: a client's TCP or TLS stream, cut into framed messages.
 *
 * A stream is one connected, nonblocking TCP socket (with, for TLS, the floe_rt_tls on
 * it) and two buffers the caller supplies once: a write queue and a read buffer, each with
 * a fixed cap. Nothing is allocated, per message or otherwise.
 *
 *   writing: floe_rt_stream_queue appends a message to the queue, or refuses it when the
 *            queue would overflow; floe_rt_stream_flush writes as much of the queue as the
 *            socket takes.
 *   reading: floe_rt_stream_read reads what is there and hands every complete message to
 *            a callback, one at a time. A framing function says where messages end:
 *            floe_stun_frame_len (STUN, RFC 8489 §6.2.2) or floe_turn_frame_len (STUN and
 *            ChannelData, RFC 8656 §12.5) fit as they are.
 *   raw:     a stream whose first messages are framed and the rest plain bytes (an RFC
 *            6062 data connection after its ConnectionBind success) sets raw from the
 *            callback of the last framed message: from the next byte on, the callback
 *            gets whatever arrived, unframed, in pieces of any size.
 *
 * Both return the rt_loop interest they need before they can make progress (FLOE_RT_READ
 * or FLOE_RT_WRITE; TLS may need one for the other), or a negative floe_err: FLOE_ERR_TLS
 * when TLS failed (floe_rt_tls_error(s->tls) says why), an errno-mapped error when send(2)
 * or recv(2) failed (errno kept), and for reads the framing errors named there. With
 * level-triggered epoll, watch the fd for FLOE_RT_READ, plus what flush returned, plus
 * FLOE_RT_WRITE while out_len > 0.
 *
 * The stream does not connect: the caller connects the socket (floe_rt_tcp_connect),
 * makes and completes the TLS handshake (rt_tls.h), and sets fd and tls. TCP writes use
 * send(..., MSG_NOSIGNAL) but TLS writes go through write(2): ignore SIGPIPE
 * (floe_rt_ignore_sigpipe). */
#ifndef FLOE_RT_STREAM_H
#define FLOE_RT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_rt_stream {
    int fd;           /* the connected socket, or -1; the caller sets it */
    floe_rt_tls *tls; /* TLS on fd, or NULL for plain TCP; the caller sets it */
    uint8_t *in;      /* read buffer: in_len bytes of a message not yet complete */
    size_t in_len, in_cap;
    uint8_t *out; /* write queue: out_len bytes not yet taken by the socket */
    size_t out_len, out_cap;
    bool raw; /* hand bytes over as they come, without framing (init: false) */
} floe_rt_stream;

/* Where the next message ends: from the first len bytes at p, FLOE_OK with *need the
 * length of the whole message, FLOE_ERR_TRUNCATED when more bytes are needed to tell, or
 * any other error when the bytes cannot start a message. */
typedef int (*floe_rt_frame_len_fn)(const uint8_t *p, size_t len, size_t *need);

/* One complete message of len bytes (or, once raw is set, the next len > 0 bytes). p
 * points into the read buffer and is valid until the callback returns. The callback may
 * queue and flush and set raw, but must not read or close. */
typedef void (*floe_rt_stream_frame_cb)(void *arg, const uint8_t *p, size_t len);

/* An empty stream with no socket (fd -1, tls NULL) on the caller's buffers: in of in_cap
 * bytes, which must hold the largest message accepted, and out of out_cap bytes. */
void floe_rt_stream_init(floe_rt_stream *s, uint8_t *in, size_t in_cap, uint8_t *out,
                         size_t out_cap);

/* Appends len bytes to the write queue; nothing is written yet (see flush). Returns FLOE_OK,
 * or FLOE_ERR_LIMIT with nothing queued when out_cap would be exceeded. */
int floe_rt_stream_queue(floe_rt_stream *s, const void *p, size_t len);

/* Writes the queue until it is empty or the socket is full. Returns 0 when all is written,
 * the interest to wait for before flushing the rest, or a negative error (see above). */
int floe_rt_stream_flush(floe_rt_stream *s);

/* Reads until nothing more is there, calling on_frame(arg, ...) for every complete message
 * as frame_len cuts it out; the start of an incomplete one stays in the buffer for the next
 * call. Returns the interest to wait for (> 0), 0 when the peer closed the stream (TCP
 * end of stream or TLS close_notify; what came before was delivered), or a negative error:
 * FLOE_ERR_MALFORMED when frame_len refused the bytes or named a message longer than in_cap
 * (a stream cannot be resynchronised: close it), FLOE_ERR_NOSPACE when the read buffer is
 * full before frame_len can tell a length, FLOE_ERR_TLS, or an error from recv(2). */
int floe_rt_stream_read(floe_rt_stream *s, floe_rt_frame_len_fn frame_len,
                        floe_rt_stream_frame_cb on_frame, void *arg);

/* Ends the connection: with notify, sends TLS close_notify (best effort, without waiting),
 * then frees tls and closes fd (stop watching it first: floe_rt_loop_unwatch). Both buffers
 * are emptied and kept, and raw is cleared, so the stream can take a new socket. Safe on a
 * stream with no socket. */
void floe_rt_stream_close(floe_rt_stream *s, bool notify);

#ifdef __cplusplus
}
#endif
#endif
