/* floe POSIX runtime: a read-only Prometheus /metrics endpoint over HTTP.
 *
 * The endpoint is a libmicrohttpd daemon in external-epoll mode, driven by a floe_rt_loop:
 * MHD's epoll fd is watched in the loop and a loop timer follows MHD's own deadline, so idle
 * and slow connections are timed out. No thread is started; everything, the render callback
 * included, runs on the loop's thread inside floe_rt_loop_run()/run_once().
 *
 * It answers exactly one thing: GET (or HEAD) of /metrics, with the text the render callback
 * writes, as "text/plain; version=0.0.4; charset=utf-8" (the Prometheus text exposition
 * format). Any other path gets 404, any other method on /metrics gets 405 with
 * "Allow: GET, HEAD", and a GET or HEAD that announces a body gets 400; those answers are sent
 * without reading the request body and end the connection. Scrapes may reuse a connection
 * (HTTP/1.1 keep-alive). Nothing a client sends changes any state: the endpoint is read-only
 * by construction.
 *
 * Bounds: at most max_connections connections at once (the rest wait in the listen
 * backlog), each closed after timeout_s seconds without progress; a response larger than
 * max_body bytes is refused with 500.
 *
 * Errors: functions return FLOE_OK or a negative floe_err. */
#ifndef FLOE_RT_METRICS_H
#define FLOE_RT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "rt_loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_rt_metrics floe_rt_metrics;

/* Writes the whole exposition text into buf (cap bytes, no NUL needed) and returns its full
 * length, like snprintf: when the result is >= cap the text did not fit, and the callback is
 * called again at once with a buffer of at least result + 1 bytes. It runs on the loop's
 * thread, once per scrape; it must not stop the endpoint. The floe_rt_metrics_counter() and
 * floe_rt_metrics_gauge() helpers below follow the same convention. */
typedef size_t (*floe_rt_metrics_render)(void *arg, char *buf, size_t cap);

/* Optional bounds; a zero field takes its default. */
typedef struct floe_rt_metrics_limits {
    unsigned max_connections; /* concurrent HTTP connections; default 16 */
    unsigned timeout_s;       /* seconds a connection may stay idle; default 10 */
    size_t max_body;          /* largest response body; default 16 MiB */
} floe_rt_metrics_limits;

#define FLOE_RT_METRICS_DEFAULT_CONNECTIONS 16u
#define FLOE_RT_METRICS_DEFAULT_TIMEOUT_S 10u
#define FLOE_RT_METRICS_DEFAULT_MAX_BODY ((size_t)16 << 20)

/* Listens on exactly *listen (IPv4, or IPv6 only, never both; port 0 picks a free port) and
 * serves /metrics from loop, calling render(arg, ...) for each scrape. limits may be NULL.
 * Returns FLOE_OK; FLOE_ERR_INVAL (NULL argument, FLOE_AF_NONE address), FLOE_ERR_NOMEM, or
 * FLOE_ERR_IO when the daemon cannot start (address in use, not available, ...) with a
 * reason in err (may be NULL). */
int floe_rt_metrics_start(floe_rt_metrics **out, floe_rt_loop *loop, const floe_addr *listen,
                          floe_rt_metrics_render render, void *arg,
                          const floe_rt_metrics_limits *limits, char *err, size_t errcap);
/* Closes the listening socket and every open connection and frees m. NULL is ok. Call it
 * before freeing the loop; safe from any loop callback except the render callback. */
void floe_rt_metrics_stop(floe_rt_metrics *m);
/* The address the endpoint is bound to (the real port when port 0 was asked). Returns FLOE_OK
 * or FLOE_ERR_INVAL. */
int floe_rt_metrics_local_addr(const floe_rt_metrics *m, floe_addr *out);

/* Appends one metric in the text format to buf[0..cap), at *off:
 *
 *     # HELP name help
 *     # TYPE name counter|gauge
 *     name value
 *
 * help is escaped as the format requires (backslash, newline); NULL leaves the HELP line out.
 * Numbers are written in the C locale's form (floe never calls setlocale). *off always
 * advances by the
 * full length of the text, even past cap (only what fits is written), so a render callback
 * can return its final *off and be called again with a larger buffer. Returns FLOE_OK, or
 * FLOE_ERR_INVAL (and appends nothing) when name is not a valid metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*) or an argument is NULL. */
int floe_rt_metrics_counter(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                            uint64_t value);
/* The same for a gauge; NaN and infinities are written as NaN, +Inf and -Inf. */
int floe_rt_metrics_gauge(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                          double value);

#ifdef __cplusplus
}
#endif
#endif
