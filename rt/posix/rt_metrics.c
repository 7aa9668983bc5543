/* floe POSIX runtime: the Prometheus /metrics endpoint (libmicrohttpd in external epoll
 * mode, driven by a floe_rt_loop). */
#define _GNU_SOURCE
#include "rt_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_sys.h"

#define METRICS_PATH "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_ALLOW "GET, HEAD"
#define METRICS_FIRST_CAP ((size_t)16 << 10) /* first render buffer; grows on demand */
#define METRICS_BACKLOG 16u
/* Longest wait the loop timer is armed for, whatever MHD says: a safety net only. */
#define METRICS_MAX_WAIT_MS 60000u

struct floe_rt_metrics {
    floe_rt_loop *loop;
    struct MHD_Daemon *daemon;
    floe_rt_timer *timer;
    int epoll_fd; /* MHD's epoll fd, watched in loop; -1 while not watched */
    floe_rt_metrics_render render;
    void *arg;
    size_t max_body;
    char *buf; /* render buffer, reused by every scrape */
    size_t cap;
    floe_addr local;
    uint64_t closed; /* connections MHD has closed so far */
    char log[256];   /* MHD's last message, used to explain a failed start */
};

/* ---- talking to MHD --------------------------------------------------------------------- */

static void metrics_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* MHD's messages go nowhere but this buffer: the endpoint must never write to stdio. */
static void metrics_log(void *cls, const char *fmt, va_list ap) {
    floe_rt_metrics *m = cls;
    int w = vsnprintf(m->log, sizeof m->log, fmt, ap);
    if (w < 0) {
        m->log[0] = '\0';
        return;
    }
    size_t n = strlen(m->log);
    while (n > 0 && (m->log[n - 1] == '\n' || m->log[n - 1] == '\r'))
        m->log[--n] = '\0';
}

/* Queues a response with a constant body (MHD does not copy or free it). */
static enum MHD_Result metrics_reply_const(struct MHD_Connection *c, unsigned status,
                                           const char *body, const char *allow) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    if (ok == MHD_YES && allow) ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (ok == MHD_YES) ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Renders into m->buf, growing it until the text fits. Sets *len. Returns FLOE_OK,
 * FLOE_ERR_LIMIT (larger than max_body) or FLOE_ERR_NOMEM. */
static int metrics_render_all(floe_rt_metrics *m, size_t *len) {
    if (!m->buf) {
        size_t first = METRICS_FIRST_CAP <= m->max_body ? METRICS_FIRST_CAP : m->max_body + 1;
        m->buf = malloc(first);
        if (!m->buf) return FLOE_ERR_NOMEM;
        m->cap = first;
    }
    /* The text may change between two calls (a counter gains a digit): allow a few rounds. */
    for (int round = 0; round < 4; round++) {
        size_t need = m->render(m->arg, m->buf, m->cap);
        if (need < m->cap) {
            *len = need;
            return FLOE_OK;
        }
        if (need > m->max_body || need == SIZE_MAX) return FLOE_ERR_LIMIT;
        size_t grow = m->cap <= m->max_body / 2 ? m->cap * 2 : m->max_body + 1;
        if (grow < need + 1) grow = need + 1;
        char *nb = realloc(m->buf, grow);
        if (!nb) return FLOE_ERR_NOMEM;
        m->buf = nb;
        m->cap = grow;
    }
    return FLOE_ERR_LIMIT;
}

/* True when the request announces a body (a non-zero Content-Length, or chunked). */
static bool metrics_has_body(struct MHD_Connection *c) {
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te) return true;
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl) return false;
    for (const char *p = cl; *p; p++)
        if (*p != '0') return true;
    return false;
}

/* MHD's access handler, called once the request head is in and again at its end.
 *
 * Anything but a plain GET or HEAD of /metrics is answered at the first call: MHD then sends
 * the answer without reading the request body, and closes the connection after it. A scrape
 * is answered at the second call, once MHD has the whole request, so that the connection can
 * stay open for the next scrape (MHD never keeps a connection answered early). */
static enum MHD_Result metrics_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                          const char *method, const char *version,
                                          const char *upload_data, size_t *upload_data_size,
                                          void **req_cls) {
    (void)version;
    (void)upload_data;
    floe_rt_metrics *m = cls;
    if (!*req_cls) {
        if (strcmp(url, METRICS_PATH) != 0)
            return metrics_reply_const(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return metrics_reply_const(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                                       METRICS_ALLOW);
        if (metrics_has_body(c))
            return metrics_reply_const(c, MHD_HTTP_BAD_REQUEST, "no request body is accepted\n",
                                       NULL);
        *req_cls = m; /* a scrape: answer at the end of the request */
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Cannot happen without an announced body; drop it unread all the same. */
        *upload_data_size = 0;
        return MHD_YES;
    }

    size_t len = 0;
    int err = metrics_render_all(m, &len);
    if (err)
        return metrics_reply_const(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n",
                                   NULL);
    /* MHD copies the text: the buffer is reused before a slow client has read it all. */
    struct MHD_Response *r = MHD_create_response_from_buffer(len, m->buf, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    enum MHD_Result ok =
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
    if (ok == MHD_YES) ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- driving MHD from the loop ---------------------------------------------------------- */

/* Arms the timer for the moment MHD next needs to run without socket activity (a connection
 * timing out, or work it has buffered), or cancels it when MHD needs nothing. */
static void metrics_rearm(floe_rt_metrics *m) {
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(m->daemon, &ms) != MHD_YES) {
        floe_rt_timer_cancel(m->timer);
        return;
    }
    if (ms > METRICS_MAX_WAIT_MS) ms = METRICS_MAX_WAIT_MS;
    /* MHD rounds its wait down to whole milliseconds; one more keeps the timer from firing
     * just before MHD's own deadline and spinning until it passes. */
    if (ms > 0) ms++;
    floe_rt_timer_arm(m->timer, floe_rt_now() + FLOE_MS(ms));
}

/* MHD counts closed connections here. */
static void metrics_on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                                  enum MHD_ConnectionNotificationCode what) {
    (void)c;
    (void)socket_ctx;
    floe_rt_metrics *m = cls;
    if (what == MHD_CONNECTION_NOTIFY_CLOSED) m->closed++;
}

static void metrics_service(floe_rt_metrics *m) {
    uint64_t closed = m->closed;
    (void)MHD_run(m->daemon);
    /* At the connection limit MHD takes its listening socket out of its epoll set and puts
     * it back only at the start of a later MHD_run, which MHD_get_timeout does not ask for:
     * after a close, run again in the next round so that waiting clients are accepted. */
    if (m->closed != closed)
        floe_rt_timer_arm(m->timer, floe_rt_now());
    else
        metrics_rearm(m);
}

static void metrics_on_epoll(void *arg, int fd, uint32_t events) {
    (void)fd;
    (void)events;
    metrics_service(arg);
}

static void metrics_on_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    metrics_service(arg);
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void metrics_describe(char *err, size_t errcap, const floe_addr *listen, const char *what,
                             const char *why) {
    if (!err || errcap == 0) return;
    char where[FLOE_ADDR_STRLEN];
    floe_addr_format(listen, true, where, sizeof where);
    snprintf(err, errcap, "metrics endpoint on %s: %s%s%s", where, what, why && *why ? ": " : "",
             why ? why : "");
}

int floe_rt_metrics_start(floe_rt_metrics **out, floe_rt_loop *loop, const floe_addr *listen,
                          floe_rt_metrics_render render, void *arg,
                          const floe_rt_metrics_limits *limits, char *err, size_t errcap) {
    if (err && errcap) err[0] = '\0';
    if (!out || !loop || !listen || !render) return FLOE_ERR_INVAL;
    *out = NULL;
    struct sockaddr_storage ss;
    if (floe_rt_addr_to_sockaddr(listen, &ss, NULL)) {
        metrics_describe(err, errcap, listen, "not an IPv4 or IPv6 address", NULL);
        return FLOE_ERR_INVAL;
    }
    unsigned max_conn = FLOE_RT_METRICS_DEFAULT_CONNECTIONS;
    unsigned timeout_s = FLOE_RT_METRICS_DEFAULT_TIMEOUT_S;
    size_t max_body = FLOE_RT_METRICS_DEFAULT_MAX_BODY;
    if (limits) {
        if (limits->max_connections) max_conn = limits->max_connections;
        if (limits->timeout_s) timeout_s = limits->timeout_s;
        if (limits->max_body) max_body = limits->max_body;
    }

    floe_rt_metrics *m = calloc(1, sizeof *m);
    if (!m) return FLOE_ERR_NOMEM;
    m->loop = loop;
    m->epoll_fd = -1;
    m->render = render;
    m->arg = arg;
    m->max_body = max_body;
    if (floe_rt_timer_new(&m->timer, loop, metrics_on_timer, m) != FLOE_OK) {
        free(m);
        return FLOE_ERR_NOMEM;
    }

    /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD starts no thread and runs only in MHD_run().
     * MHD_USE_IPv6 without MHD_USE_DUAL_STACK binds an IPv6-only socket, so the endpoint
     * listens on exactly the address asked for. */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (listen->family == FLOE_AF_INET6) flags |= MHD_USE_IPv6;
    errno = 0;
    m->daemon = MHD_start_daemon(
        flags, listen->port, NULL, NULL, metrics_on_request, m,
        /* The logger first, or MHD prints what it says before it to stderr. */
        MHD_OPTION_EXTERNAL_LOGGER, metrics_log, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, METRICS_BACKLOG, MHD_OPTION_NOTIFY_CONNECTION,
        metrics_on_connection, m, MHD_OPTION_END);
    if (!m->daemon) {
        int saved = errno;
        metrics_describe(err, errcap, listen, "cannot start",
                         m->log[0] ? m->log
                         : saved   ? strerror(saved)
                                   : NULL);
        floe_rt_timer_free(m->timer);
        free(m);
        errno = saved;
        return FLOE_ERR_IO;
    }

    const union MHD_DaemonInfo *ep = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *lf = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    int rc = FLOE_ERR_IO;
    if (!ep || ep->epoll_fd < 0 || !lf || lf->listen_fd < 0) {
        metrics_describe(err, errcap, listen, "libmicrohttpd gave no epoll or listening fd", NULL);
        goto fail;
    }
    if (floe_rt_local_addr(lf->listen_fd, &m->local) != FLOE_OK) {
        metrics_describe(err, errcap, listen, "cannot read the bound address", strerror(errno));
        goto fail;
    }
    rc = floe_rt_loop_watch(loop, ep->epoll_fd, FLOE_RT_READ, metrics_on_epoll, m);
    if (rc != FLOE_OK) {
        metrics_describe(err, errcap, listen, "cannot watch libmicrohttpd's epoll fd",
                         floe_strerror(rc));
        goto fail;
    }
    m->epoll_fd = ep->epoll_fd;
    metrics_rearm(m);
    *out = m;
    return FLOE_OK;

fail:
    floe_rt_metrics_stop(m);
    return rc;
}

void floe_rt_metrics_stop(floe_rt_metrics *m) {
    if (!m) return;
    if (m->epoll_fd >= 0) (void)floe_rt_loop_unwatch(m->loop, m->epoll_fd);
    floe_rt_timer_free(m->timer);
    if (m->daemon) MHD_stop_daemon(m->daemon);
    free(m->buf);
    free(m);
}

int floe_rt_metrics_local_addr(const floe_rt_metrics *m, floe_addr *out) {
    if (!m || !out) return FLOE_ERR_INVAL;
    *out = m->local;
    return FLOE_OK;
}

/* ---- the text format -------------------------------------------------------------------- */

/* Appends n bytes at *off, writing what fits below cap and counting all of it. */
static void text_put(char *buf, size_t cap, size_t *off, const char *s, size_t n) {
    if (*off < cap) {
        size_t room = cap - *off;
        memcpy(buf + *off, s, n < room ? n : room);
    }
    *off += n;
}

static void text_puts(char *buf, size_t cap, size_t *off, const char *s) {
    text_put(buf, cap, off, s, strlen(s));
}

static bool metric_name_ok(const char *name) {
    if (!name || !*name) return false;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':';
        bool digit = ch >= '0' && ch <= '9';
        if (!alpha && !(digit && p != name)) return false;
    }
    return true;
}

/* Writes the HELP and TYPE lines and the start of the sample line ("name "). */
static void metric_head(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                        const char *type) {
    if (help) {
        text_puts(buf, cap, off, "# HELP ");
        text_puts(buf, cap, off, name);
        text_puts(buf, cap, off, " ");
        for (const char *p = help; *p; p++) {
            if (*p == '\\')
                text_puts(buf, cap, off, "\\\\");
            else if (*p == '\n')
                text_puts(buf, cap, off, "\\n");
            else
                text_put(buf, cap, off, p, 1);
        }
        text_puts(buf, cap, off, "\n");
    }
    text_puts(buf, cap, off, "# TYPE ");
    text_puts(buf, cap, off, name);
    text_puts(buf, cap, off, " ");
    text_puts(buf, cap, off, type);
    text_puts(buf, cap, off, "\n");
    text_puts(buf, cap, off, name);
    text_puts(buf, cap, off, " ");
}

int floe_rt_metrics_counter(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                            uint64_t value) {
    if ((!buf && cap) || !off || !metric_name_ok(name)) return FLOE_ERR_INVAL;
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64 "\n", value);
    metric_head(buf, cap, off, name, help, "counter");
    text_puts(buf, cap, off, num);
    return FLOE_OK;
}

/* The shortest %g form that reads back as the same double. */
static void format_double(char *num, size_t cap, double v) {
    if (isnan(v)) {
        snprintf(num, cap, "%s", "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(num, cap, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(num, cap, "%.*g", prec, v);
        if (strtod(num, NULL) == v) return;
    }
}

int floe_rt_metrics_gauge(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                          double value) {
    if ((!buf && cap) || !off || !metric_name_ok(name)) return FLOE_ERR_INVAL;
    char num[40];
    format_double(num, sizeof num, value);
    metric_head(buf, cap, off, name, help, "gauge");
    text_puts(buf, cap, off, num);
    text_puts(buf, cap, off, "\n");
    return FLOE_OK;
}
