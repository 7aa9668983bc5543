/* Unit tests for rt/posix/rt_stream.h on a socketpair: framed reads (whole messages, a
 * message split across reads, bytes that cannot be framed) and the switch to raw bytes
 * in the middle of a read, as an RFC 6062 data connection does after its ConnectionBind
 * success. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "rt_loop.h"
#include "rt_stream.h"
#include "rt_sys.h"

typedef struct got {
    floe_rt_stream *s;
    unsigned frames;
    size_t lens[16];
    uint8_t raw[256];
    size_t raw_len;
    unsigned raw_calls;
    bool raw_after_first; /* switch to raw after the first framed message */
} got;

static void on_frame(void *arg, const uint8_t *p, size_t len) {
    got *g = arg;
    if (g->s->raw) {
        assert_true(len > 0 && g->raw_len + len <= sizeof g->raw);
        memcpy(g->raw + g->raw_len, p, len);
        g->raw_len += len;
        g->raw_calls++;
        return;
    }
    assert_true(g->frames < 16);
    g->lens[g->frames++] = len;
    if (g->raw_after_first) g->s->raw = true;
}

/* A STUN Binding request of 20 + body bytes (the body one attribute). */
static size_t stun_msg(uint8_t *out, size_t cap) {
    uint8_t tid[FLOE_STUN_TID_LEN] = {1, 2, 3};
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "rt-stream");
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    return n;
}

static void make_pair(int fds[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
}

static void test_framed_then_raw(void **state) {
    (void)state;
    int fds[2];
    make_pair(fds);
    uint8_t in[512], out[512], wire[512];
    floe_rt_stream s;
    floe_rt_stream_init(&s, in, sizeof in, out, sizeof out);
    s.fd = fds[0];
    got g = {.s = &s, .raw_after_first = true};
    /* A message and the first raw bytes in one write: the switch happens mid-read. */
    size_t n = stun_msg(wire, sizeof wire);
    memcpy(wire + n, "\x00\x01peer bytes", 12);
    assert_int_equal(write(fds[1], wire, n + 12), (ssize_t)(n + 12));
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g), FLOE_RT_READ);
    assert_int_equal(g.frames, 1);
    assert_int_equal(g.lens[0], n);
    assert_int_equal(g.raw_len, 12);
    assert_memory_equal(g.raw, "\x00\x01peer bytes", 12);
    /* Later bytes stay raw, even ones that would not frame as STUN. */
    assert_int_equal(write(fds[1], "\xff\xff", 2), 2);
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g), FLOE_RT_READ);
    assert_int_equal(g.raw_len, 14);
    assert_int_equal(s.in_len, 0);
    /* Closing clears raw for the next socket. */
    floe_rt_stream_close(&s, false);
    assert_false(s.raw);
    assert_int_equal(s.fd, -1);
    close(fds[1]);
}

static void test_framed_only(void **state) {
    (void)state;
    int fds[2];
    make_pair(fds);
    uint8_t in[512], out[512], wire[512];
    floe_rt_stream s;
    floe_rt_stream_init(&s, in, sizeof in, out, sizeof out);
    s.fd = fds[0];
    got g = {.s = &s};
    size_t n = stun_msg(wire, sizeof wire);
    /* A message split over two reads, then two in one. */
    assert_int_equal(write(fds[1], wire, 7), 7);
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g), FLOE_RT_READ);
    assert_int_equal(g.frames, 0);
    assert_int_equal(s.in_len, 7);
    assert_int_equal(write(fds[1], wire + 7, n - 7), (ssize_t)(n - 7));
    assert_int_equal(write(fds[1], wire, n), (ssize_t)n);
    assert_int_equal(write(fds[1], wire, n), (ssize_t)n);
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g), FLOE_RT_READ);
    assert_int_equal(g.frames, 3);
    assert_int_equal(g.raw_len, 0);
    /* Bytes that are not STUN cannot be framed: the stream is unusable. */
    assert_int_equal(write(fds[1], "\xff\xff\xff\xff", 4), 4);
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g),
                     FLOE_ERR_MALFORMED);
    /* The peer closing is a 0. */
    floe_rt_stream_close(&s, false);
    make_pair(fds);
    s.fd = fds[0];
    close(fds[1]);
    assert_int_equal(floe_rt_stream_read(&s, floe_stun_frame_len, on_frame, &g), 0);
    floe_rt_stream_close(&s, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framed_then_raw),
        cmocka_unit_test(test_framed_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
