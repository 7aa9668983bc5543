/* Tests of the /metrics endpoint: real HTTP over loopback sockets, with the endpoint driven
 * by floe_rt_loop_run_once() on this thread (200, 404, 405, HEAD, IPv6, a growing render
 * buffer, the body limit, idle timeouts, the connection limit, start errors), and the text
 * format helpers. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_loop.h"
#include "rt_metrics.h"
#include "rt_sock.h"
#include "rt_sys.h"

/* ---- fixtures ---------------------------------------------------------------------------- */

typedef struct scrape_src {
    int calls;        /* how often render ran */
    size_t big;       /* when non-zero: render this many bytes of filler instead */
    uint64_t packets; /* the counter the normal text reports */
} scrape_src;

static size_t render_test(void *arg, char *buf, size_t cap) {
    scrape_src *src = arg;
    src->calls++;
    size_t off = 0;
    if (src->big) {
        /* Exactly src->big bytes of letters, a newline every 64. */
        for (size_t i = 0; i < src->big; i++) {
            if (off < cap) buf[off] = (i + 1) % 64 == 0 ? '\n' : 'a' + (char)(i % 26);
            off++;
        }
        return off;
    }
    assert_int_equal(floe_rt_metrics_counter(buf, cap, &off, "floe_packets_total",
                                             "Datagrams received.", src->packets),
                     FLOE_OK);
    assert_int_equal(floe_rt_metrics_gauge(buf, cap, &off, "floe_connections", NULL, 3), FLOE_OK);
    return off;
}

#define EXPECTED_BODY                                                                              \
    "# HELP floe_packets_total Datagrams received.\n"                                              \
    "# TYPE floe_packets_total counter\n"                                                          \
    "floe_packets_total 42\n"                                                                      \
    "# TYPE floe_connections gauge\n"                                                              \
    "floe_connections 3\n"

static floe_addr v4_loopback(void) {
    floe_addr a;
    floe_addr_set_v4(&a, 0x7f000001u, 0);
    return a;
}

/* Starts an endpoint on addr (port 0) and returns the bound address in *bound. */
static floe_rt_metrics *start_on(floe_rt_loop *loop, const floe_addr *addr, scrape_src *src,
                                 const floe_rt_metrics_limits *limits, floe_addr *bound) {
    floe_rt_metrics *m = NULL;
    char err[256];
    int rc = floe_rt_metrics_start(&m, loop, addr, render_test, src, limits, err, sizeof err);
    if (rc != FLOE_OK) fprintf(stderr, "start: %s (%s)\n", floe_strerror(rc), err);
    assert_int_equal(rc, FLOE_OK);
    assert_non_null(m);
    assert_int_equal(floe_rt_metrics_local_addr(m, bound), FLOE_OK);
    assert_int_equal(bound->family, addr->family);
    assert_true(bound->port != 0);
    return m;
}

/* A plain blocking client socket connected to to (loopback connects complete from the
 * listen backlog, before the server accepts). */
static int client_connect(const floe_addr *to) {
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(floe_rt_addr_to_sockaddr(to, &ss, &len), FLOE_OK);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
    return fd;
}

static void client_send(int fd, const char *text) {
    size_t n = strlen(text);
    assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Drives the loop and reads fd until the server closes it or until limit passes. Returns the
 * byte count read into buf (NUL-terminated), or -1 when the connection is still open. */
static ssize_t client_read_until_close(floe_rt_loop *loop, int fd, char *buf, size_t cap,
                                       floe_time_ns limit) {
    size_t got = 0;
    floe_time_ns end = floe_rt_now() + limit;
    while (floe_rt_now() < end) {
        assert_true(floe_rt_loop_run_once(loop, FLOE_MS(10)) >= 0);
        for (;;) {
            ssize_t r = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
            if (r > 0) {
                got += (size_t)r;
                assert_true(got < cap - 1);
                continue;
            }
            if (r == 0 || (errno == ECONNRESET)) {
                buf[got] = '\0';
                return (ssize_t)got;
            }
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
    }
    buf[got] = '\0';
    return -1;
}

typedef struct http_reply {
    int status;
    char content_type[128];
    char allow[64];
    const char *body; /* points into the raw buffer */
    size_t body_len;
} http_reply;

/* Finds header name (case-insensitive) in the head and copies its value. */
static void header_value(const char *head, const char *name, char *out, size_t cap) {
    out[0] = '\0';
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r';
         line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
            const char *v = h + nlen + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = (size_t)(e - v);
            assert_true(n < cap);
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
}

static void parse_reply(char *raw, size_t len, http_reply *r) {
    memset(r, 0, sizeof *r);
    assert_true(len > 12);
    assert_int_equal(strncmp(raw, "HTTP/1.", 7), 0);
    r->status = atoi(raw + 9);
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    end[2] = '\0'; /* keep one CRLF so header_value sees where the last line stops */
    header_value(raw, "Content-Type", r->content_type, sizeof r->content_type);
    header_value(raw, "Allow", r->allow, sizeof r->allow);
    r->body = end + 4;
    r->body_len = len - (size_t)(end + 4 - raw);
}

/* One whole exchange: connect, send request, read the reply until the server closes. */
static void http_exchange(floe_rt_loop *loop, const floe_addr *to, const char *request, char *raw,
                          size_t cap, http_reply *r) {
    int fd = client_connect(to);
    client_send(fd, request);
    ssize_t n = client_read_until_close(loop, fd, raw, cap, FLOE_S(5));
    close(fd);
    assert_true(n > 0);
    parse_reply(raw, (size_t)n, r);
}

static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
    fclose(f);
    return n;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static void test_get_metrics_v4(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    int threads_before = thread_count();
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    assert_true(floe_addr_ip_equal(&bound, &lo));
    /* No thread of its own: the daemon runs only inside the loop. */
    assert_int_equal(thread_count(), threads_before);

    static char raw[8192];
    http_reply r;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.body_len, strlen(EXPECTED_BODY));
    assert_memory_equal(r.body, EXPECTED_BODY, r.body_len);
    assert_int_equal(src.calls, 1);

    /* A query string does not change the path; HTTP/1.1 with Host works too. */
    src.packets = 43;
    http_exchange(loop, &bound,
                  "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", raw,
                  sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "floe_packets_total 43\n"));
    assert_int_equal(src.calls, 2);
    assert_int_equal(thread_count(), threads_before);

    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

/* Drives the loop until buf holds one whole response (head and Content-Length body). */
static size_t client_read_one_reply(floe_rt_loop *loop, int fd, char *buf, size_t cap) {
    size_t got = 0;
    floe_time_ns end = floe_rt_now() + FLOE_S(5);
    while (floe_rt_now() < end) {
        assert_true(floe_rt_loop_run_once(loop, FLOE_MS(10)) >= 0);
        ssize_t r = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
        if (r < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            continue;
        }
        assert_true(r > 0); /* the server must keep the connection open */
        got += (size_t)r;
        buf[got] = '\0';
        const char *head_end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (head_end && cl && cl < head_end) {
            size_t want = (size_t)(head_end + 4 - buf) + (size_t)strtoul(cl + 17, NULL, 10);
            if (got >= want) {
                assert_int_equal(got, want);
                return got;
            }
        }
    }
    fail_msg("no whole reply within 5 s");
    return 0;
}

/* Prometheus keeps its connection open between scrapes: two requests on one connection. */
static void test_keep_alive(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    int fd = client_connect(&bound);
    static char raw[8192];
    for (int i = 0; i < 3; i++) {
        client_send(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        size_t n = client_read_one_reply(loop, fd, raw, sizeof raw);
        http_reply r;
        parse_reply(raw, n, &r);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, strlen(EXPECTED_BODY));
        assert_memory_equal(r.body, EXPECTED_BODY, r.body_len);
        assert_int_equal(src.calls, i + 1);
    }
    close(fd);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_head_has_no_body(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    static char raw[8192];
    http_reply r;
    http_exchange(loop, &bound, "HEAD /metrics HTTP/1.0\r\n\r\n", raw, sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.body_len, 0);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_other_paths_404(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    const char *requests[] = {
        "GET / HTTP/1.0\r\n\r\n",
        "GET /metrics/ HTTP/1.0\r\n\r\n",
        "GET /metricsx HTTP/1.0\r\n\r\n",
        "GET /Metrics HTTP/1.0\r\n\r\n",
        "POST /control HTTP/1.0\r\nContent-Length: 4\r\n\r\nstop",
    };
    static char raw[8192];
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        http_reply r;
        http_exchange(loop, &bound, requests[i], raw, sizeof raw, &r);
        assert_int_equal(r.status, 404);
    }
    assert_int_equal(src.calls, 0); /* nothing rendered for them */
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_other_methods_405(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    const char *requests[] = {
        "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
        /* A body announced but never sent: the answer must not wait for it. */
        "POST /metrics HTTP/1.0\r\nContent-Length: 1000000\r\n\r\n",
        "PUT /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        "DELETE /metrics HTTP/1.0\r\n\r\n",
        "OPTIONS /metrics HTTP/1.0\r\n\r\n",
    };
    static char raw[8192];
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        http_reply r;
        http_exchange(loop, &bound, requests[i], raw, sizeof raw, &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(r.allow, "GET, HEAD");
    }
    assert_int_equal(src.calls, 0);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

/* A scrape carries no body; one that announces a body is refused without reading it. */
static void test_get_with_body_400(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    const char *requests[] = {
        "GET /metrics HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n",
    };
    static char raw[8192];
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        http_reply r;
        http_exchange(loop, &bound, requests[i], raw, sizeof raw, &r);
        assert_int_equal(r.status, 400);
    }
    assert_int_equal(src.calls, 0);
    /* An explicit empty body is no body. */
    http_reply r;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", raw,
                  sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(src.calls, 1);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_get_metrics_v6(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo6, bound;
    assert_int_equal(floe_addr_parse("::1", &lo6), FLOE_OK);
    floe_rt_metrics *m = NULL;
    char err[256];
    int rc = floe_rt_metrics_start(&m, loop, &lo6, render_test, &src, NULL, err, sizeof err);
    if (rc != FLOE_OK) {
        /* A kernel without IPv6 loopback: say so rather than fail. */
        printf("skipping: cannot serve on ::1 (%s)\n", err);
        floe_rt_loop_free(loop);
        skip();
    }
    assert_int_equal(floe_rt_metrics_local_addr(m, &bound), FLOE_OK);
    assert_int_equal(bound.family, FLOE_AF_INET6);
    assert_true(floe_addr_ip_equal(&bound, &lo6));
    assert_true(bound.port != 0);

    static char raw[8192];
    http_reply r;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.body_len, strlen(EXPECTED_BODY));
    assert_memory_equal(r.body, EXPECTED_BODY, r.body_len);

    /* Bound to ::1 only: the same port on 127.0.0.1 is not this endpoint. */
    floe_addr v4 = v4_loopback();
    v4.port = bound.port;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(floe_rt_addr_to_sockaddr(&v4, &ss, &len), FLOE_OK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);

    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_large_body_grows_buffer(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.big = 300000};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    size_t cap = 400000;
    char *raw = malloc(cap);
    assert_non_null(raw);
    http_reply r;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, cap, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, src.big);
    for (size_t i = 0; i < src.big; i++)
        assert_int_equal(r.body[i], (i + 1) % 64 == 0 ? '\n' : 'a' + (char)(i % 26));
    assert_int_equal(src.calls, 2); /* too small once, then grown to fit */
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, cap, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, src.big);
    assert_int_equal(src.calls, 3); /* the grown buffer is kept */
    free(raw);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

static void test_body_limit_gives_500(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.big = 5000};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics_limits lim = {.max_body = 1000};
    floe_rt_metrics *m = start_on(loop, &lo, &src, &lim, &bound);
    static char raw[8192];
    http_reply r;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, sizeof raw, &r);
    assert_int_equal(r.status, 500);
    /* Exactly the limit is fine. */
    src.big = 1000;
    http_exchange(loop, &bound, "GET /metrics HTTP/1.0\r\n\r\n", raw, sizeof raw, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1000);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

/* A client that sends half a request and stalls is closed after timeout_s: only the loop
 * timer armed from MHD's deadline can make that happen, since no socket event arrives. */
static void test_idle_client_timed_out(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics_limits lim = {.timeout_s = 1};
    floe_rt_metrics *m = start_on(loop, &lo, &src, &lim, &bound);
    int fd = client_connect(&bound);
    client_send(fd, "GET /metr");
    floe_time_ns t0 = floe_rt_now();
    char raw[256];
    ssize_t n = client_read_until_close(loop, fd, raw, sizeof raw, FLOE_S(5));
    floe_time_ns took = floe_rt_now() - t0;
    assert_true(n >= 0); /* closed by the server */
    assert_true(took >= FLOE_MS(900));
    assert_true(took < FLOE_MS(3500));
    assert_int_equal(src.calls, 0);
    close(fd);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

/* With max_connections idle connections open, a further client waits; once one of them goes,
 * it is served. */
static void test_connection_limit(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics_limits lim = {.max_connections = 2};
    floe_rt_metrics *m = start_on(loop, &lo, &src, &lim, &bound);

    int idle[2];
    char raw[8192];
    for (int i = 0; i < 2; i++) {
        idle[i] = client_connect(&bound);
        client_send(idle[i], "GET /met");
    }
    /* Let the endpoint accept both. */
    assert_int_equal(client_read_until_close(loop, idle[0], raw, sizeof raw, FLOE_MS(200)), -1);

    int third = client_connect(&bound);
    client_send(third, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_int_equal(client_read_until_close(loop, third, raw, sizeof raw, FLOE_MS(300)), -1);
    assert_int_equal(raw[0], '\0'); /* not a byte yet */
    assert_int_equal(src.calls, 0);

    close(idle[0]);
    /* Well before idle[1] times out (10 s): the slot idle[0] freed is used at once. */
    floe_time_ns t_close = floe_rt_now();
    ssize_t n = client_read_until_close(loop, third, raw, sizeof raw, FLOE_S(5));
    assert_true(floe_rt_now() - t_close < FLOE_S(2));
    assert_true(n > 0);
    http_reply r;
    parse_reply(raw, (size_t)n, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(src.calls, 1);
    close(third);
    close(idle[1]);
    floe_rt_metrics_stop(m);
    floe_rt_loop_free(loop);
}

/* Stopping with connections open closes them and frees everything (ASan checks the rest). */
static void test_stop_with_open_connections(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {.packets = 42};
    floe_addr lo = v4_loopback(), bound;
    floe_rt_metrics *m = start_on(loop, &lo, &src, NULL, &bound);
    int fd = client_connect(&bound);
    client_send(fd, "GET /metr");
    char raw[64];
    assert_int_equal(client_read_until_close(loop, fd, raw, sizeof raw, FLOE_MS(100)), -1);
    floe_rt_metrics_stop(m);
    ssize_t r = recv(fd, raw, sizeof raw, 0);
    assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
    close(fd);
    /* Nothing is left on the loop: run returns at once. */
    assert_int_equal(floe_rt_loop_run(loop), FLOE_OK);
    floe_rt_loop_free(loop);
}

static void test_start_errors(void **state) {
    (void)state;
    floe_rt_loop *loop;
    assert_int_equal(floe_rt_loop_new(&loop), FLOE_OK);
    scrape_src src = {0};
    floe_rt_metrics *m = NULL;
    char err[256];
    floe_addr none = {0};
    assert_int_equal(
        floe_rt_metrics_start(&m, loop, &none, render_test, &src, NULL, err, sizeof err),
        FLOE_ERR_INVAL);
    assert_null(m);
    floe_addr lo = v4_loopback(), bound;
    assert_int_equal(floe_rt_metrics_start(&m, loop, &lo, NULL, &src, NULL, err, sizeof err),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_rt_metrics_start(NULL, loop, &lo, render_test, &src, NULL, NULL, 0),
                     FLOE_ERR_INVAL);

    /* The port is taken: a clear error, not a crash or a silent success. */
    floe_rt_metrics *first = start_on(loop, &lo, &src, NULL, &bound);
    err[0] = '\0';
    assert_int_equal(
        floe_rt_metrics_start(&m, loop, &bound, render_test, &src, NULL, err, sizeof err),
        FLOE_ERR_IO);
    assert_null(m);
    assert_non_null(strstr(err, "metrics endpoint on 127.0.0.1:"));
    assert_true(strlen(err) > strlen("metrics endpoint on 127.0.0.1:1: cannot start"));
    floe_rt_metrics_stop(first);

    /* An address this host does not have (documentation range; nothing is sent). */
    floe_addr foreign;
    floe_addr_set_v4(&foreign, 0xc0000201u, 0);
    assert_int_equal(
        floe_rt_metrics_start(&m, loop, &foreign, render_test, &src, NULL, err, sizeof err),
        FLOE_ERR_IO);
    assert_null(m);
    floe_rt_metrics_stop(NULL);
    floe_rt_loop_free(loop);
}

/* ---- the text format ---------------------------------------------------------------------- */

static void test_counter_text(void **state) {
    (void)state;
    char buf[512];
    size_t off = 0;
    assert_int_equal(floe_rt_metrics_counter(buf, sizeof buf, &off, "floe_rx_total",
                                             "Line one\nand a back\\slash.", UINT64_MAX),
                     FLOE_OK);
    const char *want = "# HELP floe_rx_total Line one\\nand a back\\\\slash.\n"
                       "# TYPE floe_rx_total counter\n"
                       "floe_rx_total 18446744073709551615\n";
    assert_int_equal(off, strlen(want));
    assert_memory_equal(buf, want, off);

    /* Appends after what is there. */
    assert_int_equal(floe_rt_metrics_counter(buf, sizeof buf, &off, "a:b_c9", NULL, 0), FLOE_OK);
    const char *second = "# TYPE a:b_c9 counter\na:b_c9 0\n";
    assert_int_equal(off, strlen(want) + strlen(second));
    assert_memory_equal(buf + strlen(want), second, strlen(second));

    /* Bad names append nothing. */
    const char *bad[] = {"", "9lives", "has space", "dash-ed", "dot.ted", "ünï"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t o = 7;
        assert_int_equal(floe_rt_metrics_counter(buf, sizeof buf, &o, bad[i], "h", 1),
                         FLOE_ERR_INVAL);
        assert_int_equal(o, 7);
    }
    assert_int_equal(floe_rt_metrics_counter(buf, sizeof buf, NULL, "x", "h", 1), FLOE_ERR_INVAL);
    assert_int_equal(floe_rt_metrics_counter(buf, sizeof buf, &off, NULL, "h", 1), FLOE_ERR_INVAL);
}

static void test_counter_truncates_but_counts(void **state) {
    (void)state;
    const char *full = "# HELP x_total Help.\n# TYPE x_total counter\nx_total 12345\n";
    char buf[64];
    for (size_t cap = 0; cap < strlen(full) + 3; cap++) {
        memset(buf, '#', sizeof buf);
        size_t off = 0;
        assert_int_equal(
            floe_rt_metrics_counter(cap ? buf : NULL, cap, &off, "x_total", "Help.", 12345),
            FLOE_OK);
        assert_int_equal(off, strlen(full)); /* the full length, whatever fitted */
        size_t wrote = cap < off ? cap : off;
        assert_memory_equal(buf, full, wrote);
        for (size_t i = wrote; i < sizeof buf; i++)
            assert_int_equal(buf[i], '#'); /* nothing past cap */
    }
    /* Starting already past cap only counts. */
    size_t off = 100;
    memset(buf, '#', sizeof buf);
    assert_int_equal(floe_rt_metrics_counter(buf, 10, &off, "x_total", "Help.", 12345), FLOE_OK);
    assert_int_equal(off, 100 + strlen(full));
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], '#');
}

static void test_gauge_values(void **state) {
    (void)state;
    struct {
        double v;
        const char *text;
    } cases[] = {
        {3, "3"},
        {-2, "-2"},
        {0.5, "0.5"},
        {0.1, "0.1"},
        {1e-7, "1e-07"},
        {1e21, "1e+21"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {123456.75, "123456.75"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128], want[128];
        size_t off = 0;
        assert_int_equal(floe_rt_metrics_gauge(buf, sizeof buf, &off, "g", NULL, cases[i].v),
                         FLOE_OK);
        int w = snprintf(want, sizeof want, "# TYPE g gauge\ng %s\n", cases[i].text);
        assert_int_equal(off, (size_t)w);
        assert_memory_equal(buf, want, off);
    }
    /* Any double reads back exactly. */
    double v = 1.0 / 3.0;
    char buf[128];
    size_t off = 0;
    assert_int_equal(floe_rt_metrics_gauge(buf, sizeof buf, &off, "g", NULL, v), FLOE_OK);
    buf[off] = '\0';
    assert_true(strtod(strstr(buf, "\ng ") + 3, NULL) == v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_metrics_v4),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_other_paths_404),
        cmocka_unit_test(test_other_methods_405),
        cmocka_unit_test(test_get_with_body_400),
        cmocka_unit_test(test_get_metrics_v6),
        cmocka_unit_test(test_large_body_grows_buffer),
        cmocka_unit_test(test_body_limit_gives_500),
        cmocka_unit_test(test_idle_client_timed_out),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_stop_with_open_connections),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_counter_text),
        cmocka_unit_test(test_counter_truncates_but_counts),
        cmocka_unit_test(test_gauge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
