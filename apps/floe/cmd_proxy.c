/* `floe proxy`: the stateless SIP proxy and registrar of floe/sip_proxy.h on a real UDP
 * socket. The core decides everything (bindings, routing, Via and Record-Route); this
 * file owns the socket, the clock, the random branch key, the signals and the output. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/sip_proxy.h"
#include "rt_loop.h"
#include "rt_sys.h"
#include "rt_udp.h"

#define SUB "proxy"
#define RX_BATCH 16
#define RX_SIZE 8192 /* larger than any SIP datagram floe sends (RFC 3261 §18.1.1) */
#define RX_ROUNDS 8

static const char help_text[] =
    "usage: floe proxy --listen ADDR:PORT --domain D [options]\n"
    "\n"
    "A small SIP proxy and registrar over UDP: the \"SIP network\" between user agents,\n"
    "e.g. two floe user agents behind NATs (it is what `floe lab` runs, and the same core\n"
    "that `floe demo` runs in the simulator).\n"
    "\n"
    "  - REGISTER for the domain D binds the user (sip:user@D) to its Contact, and also\n"
    "    remembers the address the REGISTER came from: behind a NAT that is where the\n"
    "    user agent can be reached, whatever its Contact says.\n"
    "  - a request for sip:user@D (or naming the proxy's address) goes to that user's\n"
    "    binding (404 when the user is not registered); an INVITE gets a Record-Route so\n"
    "    that the rest of the dialog (ACK, PRACK, BYE) comes back through the proxy;\n"
    "  - a response follows the Via headers back to where its request came from.\n"
    "\n"
    "It is stateless: no transactions, no forking, no authentication, no TCP, no DNS\n"
    "(hosts in URIs must be IP addresses). Fine for a lab or a test, not for the Internet.\n"
    "Anything it cannot parse is dropped and counted; it never answers garbage.\n"
    "\n"
    "options:\n"
    "  --listen ADDR:PORT    the UDP address to serve on (required), e.g. 0.0.0.0:5060\n"
    "                        is not accepted: the proxy names its address in Via and\n"
    "                        Record-Route, so give the one user agents reach it on.\n"
    "                          floe proxy --listen 192.0.2.10:5060 --domain example.net\n"
    "  --domain D            the domain served: sip:bob@D is the user bob (required).\n"
    "                        Use the proxy's IP address when there is no DNS name.\n"
    "  --max-bindings N      registrations kept at most (default 64, at most 4096);\n"
    "                        a REGISTER beyond that is answered 503.\n"
    "  --max-expires S       longest registration granted in seconds (default 3600).\n"
    "  --stats               at exit, also print the counters as one JSON object on\n"
    "                        stdout (for scripts).\n"
    "  --quiet               no line per message on stderr (the counters at exit stay).\n"
    "  -h, --help            show this help.\n"
    "\n"
    "output (stderr): one line per message, with the milliseconds since the start:\n"
    "  [   512.3 ms] REGISTER sip:bob@D from 198.18.2.2:5060: registered (1 binding)\n"
    "  [  1020.8 ms] INVITE sip:bob@D from 198.18.1.2:40112 -> 198.18.2.2:5060\n"
    "  [  1031.0 ms] SIP/2.0 183 Session Progress from 198.18.2.2:5060 -> 198.18.1.2:40112\n"
    "and on SIGINT or SIGTERM the counters: registrations, requests and responses\n"
    "forwarded, requests answered by the proxy (404, 483, ...) and datagrams dropped\n"
    "(malformed, not ours, unroutable, too big).\n"
    "\n"
    "  JSON keys with --stats: registered, unregistered, requests_forwarded,\n"
    "  responses_forwarded, answered, not_found, too_many_hops, drop_malformed,\n"
    "  drop_not_ours, drop_unroutable, drop_too_big, bindings_full, bindings_expired,\n"
    "  bindings, send_errors, datagrams.\n"
    "\n"
    "exit status: 0 when stopped by SIGINT or SIGTERM; 1 when the socket cannot be\n"
    "opened; 2 for a usage error.\n";

typedef struct proxy_opts {
    const char *listen, *domain;
    unsigned max_bindings, max_expires;
    bool stats, quiet;
} proxy_opts;

typedef struct proxy_app {
    proxy_opts o;
    floe_addr local;
    int fd;
    floe_rt_loop *loop;
    floe_sip_proxy *core;
    floe_time_ns t0;
    uint64_t datagrams, send_errors, truncated;
    int stop_signal;
    uint8_t rx[RX_BATCH][RX_SIZE];
    uint8_t out[RX_SIZE + FLOE_SIP_PROXY_OUT_EXTRA];
} proxy_app;

static int parse_opts(int argc, char **argv, proxy_opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--stats")) {
            o->stats = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (floe_cli_value(argc, argv, &i, "--listen", &v)) {
            if (!v) return floe_usage_error(SUB, "--listen needs ADDR:PORT");
            o->listen = v;
        } else if (floe_cli_value(argc, argv, &i, "--domain", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--domain needs a domain name or IP");
            o->domain = v;
        } else if (floe_cli_value(argc, argv, &i, "--max-bindings", &v)) {
            if (!floe_cli_uint(v, 1, FLOE_SIP_PROXY_MAX_BINDINGS_LIMIT, &o->max_bindings))
                return floe_usage_error(SUB, "bad --max-bindings '%s' (1 to %d)", v ? v : "",
                                        FLOE_SIP_PROXY_MAX_BINDINGS_LIMIT);
        } else if (floe_cli_value(argc, argv, &i, "--max-expires", &v)) {
            if (!floe_cli_uint(v, 1, 86400 * 7, &o->max_expires))
                return floe_usage_error(SUB, "bad --max-expires '%s' (seconds, 1 to 604800)",
                                        v ? v : "");
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        } else {
            return floe_usage_error(SUB, "unexpected argument '%s'", a);
        }
    }
    if (!o->listen) return floe_usage_error(SUB, "missing --listen ADDR:PORT");
    if (!o->domain) return floe_usage_error(SUB, "missing --domain D");
    return 0;
}

/* ---- progress lines --------------------------------------------------------------------- */

static void say(const proxy_app *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const proxy_app *p, const char *fmt, ...) {
    if (p->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": [%8.1f ms] ", (double)(floe_rt_now() - p->t0) / 1e6);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The first line of a datagram, printable characters only, at most cap - 1 of them. */
static void first_line(const uint8_t *m, size_t len, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len && m[i] != '\r' && m[i] != '\n' && n + 1 < cap; i++)
        buf[n++] = isprint(m[i]) ? (char)m[i] : '?';
    buf[n] = '\0';
}

/* The value of the To header (long or compact form), cut at its end of line. */
static void to_header(const uint8_t *m, size_t len, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i + 3 < len; i++) {
        if (m[i] != '\n') continue;
        const uint8_t *h = m + i + 1;
        size_t left = len - i - 1, skip = 0;
        if (left > 3 && (h[0] == 'T' || h[0] == 't') && (h[1] == 'o' || h[1] == 'O'))
            skip = 2;
        else if (left > 2 && (h[0] == 't' || h[0] == 'T') && (h[1] == ':' || h[1] == ' '))
            skip = 1;
        if (!skip) continue;
        while (skip < left && h[skip] == ' ')
            skip++;
        if (skip >= left || h[skip] != ':') continue;
        skip++;
        while (skip < left && h[skip] == ' ')
            skip++;
        size_t n = 0;
        for (size_t k = skip; k < left && h[k] != '\r' && h[k] != '\n' && n + 1 < cap; k++)
            buf[n++] = isprint(h[k]) ? (char)h[k] : '?';
        buf[n] = '\0';
        return;
    }
}

/* One line saying what the core made of one datagram: the counters that moved tell. */
static void describe(proxy_app *p, const floe_sip_proxy_stats *was, const floe_addr *from,
                     const uint8_t *msg, size_t len, size_t out_len, const floe_addr *to) {
    if (p->o.quiet) return;
    const floe_sip_proxy_stats *s = floe_sip_proxy_stats_get(p->core);
    char fl[160], who[200];
    first_line(msg, len, fl, sizeof fl);
    floe_cli_addr_text src = floe_cli_addr(from), dst = floe_cli_addr(to);
    if (s->registered > was->registered || s->unregistered > was->unregistered) {
        to_header(msg, len, who, sizeof who);
        size_t n = floe_sip_proxy_bindings(p->core, floe_rt_now());
        say(p, "REGISTER %s from %s: %s (%zu binding%s)", who[0] ? who : "?", src.s,
            s->registered > was->registered ? "registered" : "unregistered", n, n == 1 ? "" : "s");
    } else if (s->requests_forwarded > was->requests_forwarded ||
               s->responses_forwarded > was->responses_forwarded) {
        say(p, "%s from %s -> %s", fl, src.s, dst.s);
    } else if (s->answered > was->answered || s->bindings_full > was->bindings_full) {
        char ans[80] = "";
        if (out_len) first_line(p->out, out_len, ans, sizeof ans);
        say(p, "%s from %s: answered %s", fl, src.s, ans[0] ? ans : "(nothing sent)");
    } else if (s->drop_malformed > was->drop_malformed) {
        say(p, "dropped %zu bytes from %s: not a SIP message", len, src.s);
    } else if (s->drop_not_ours > was->drop_not_ours) {
        say(p, "dropped %s from %s: its top Via is not ours", fl, src.s);
    } else if (s->drop_unroutable > was->drop_unroutable) {
        say(p, "dropped %s from %s: nowhere to send it", fl, src.s);
    } else if (s->drop_too_big > was->drop_too_big) {
        say(p, "dropped %s from %s: too big once forwarded", fl, src.s);
    } else if (out_len) {
        say(p, "%s from %s -> %s", fl, src.s, dst.s);
    } else {
        say(p, "%s from %s: consumed", fl, src.s);
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void handle(proxy_app *p, const floe_rt_dgram *d) {
    p->datagrams++;
    floe_sip_proxy_stats was = *floe_sip_proxy_stats_get(p->core);
    if (d->truncated) { /* longer than any SIP datagram we accept: not parsed at all */
        p->truncated++;
        say(p, "dropped a datagram of more than %d bytes from %s", RX_SIZE,
            floe_cli_addr(&d->peer).s);
        return;
    }
    size_t n = 0;
    floe_addr to;
    memset(&to, 0, sizeof to);
    floe_sip_proxy_on_recv(p->core, floe_rt_now(), &d->peer, d->buf, d->len, p->out, sizeof p->out,
                           &n, &to);
    describe(p, &was, &d->peer, d->buf, d->len, n, &to);
    if (n && floe_rt_udp_send(p->fd, p->out, n, &to) != 1) {
        p->send_errors++;
        say(p, "cannot send %zu bytes to %s: %s", n, floe_cli_addr(&to).s, strerror(errno));
    }
}

static void on_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    proxy_app *p = arg;
    floe_rt_dgram d[RX_BATCH];
    for (int round = 0; round < RX_ROUNDS; round++) {
        for (size_t i = 0; i < RX_BATCH; i++) {
            d[i].buf = p->rx[i];
            d[i].cap = RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, d, RX_BATCH);
        if (n <= 0) break; /* an ICMP error on the socket is not ours to act on */
        for (int i = 0; i < n; i++)
            handle(p, &d[i]);
        if (n < RX_BATCH) break;
    }
}

static void on_signal(void *arg, int signo) {
    proxy_app *p = arg;
    p->stop_signal = signo;
    floe_rt_loop_stop(p->loop);
}

/* ---- counters ------------------------------------------------------------------------------ */

static void print_counters(proxy_app *p) {
    const floe_sip_proxy_stats *s = floe_sip_proxy_stats_get(p->core);
    size_t bindings = floe_sip_proxy_bindings(p->core, floe_rt_now());
    fprintf(stderr,
            "floe " SUB ": %s after %.1f s; %llu datagrams: %llu registered, %llu unregistered, "
            "%llu requests and %llu responses forwarded, %llu answered (%llu 404, %llu 483), "
            "dropped %llu malformed, %llu not ours, %llu unroutable, %llu too big; "
            "%llu REGISTERs refused for lack of room, %llu bindings expired, %zu live; "
            "%llu send errors\n",
            p->stop_signal == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM",
            (double)(floe_rt_now() - p->t0) / 1e9, (unsigned long long)p->datagrams,
            (unsigned long long)s->registered, (unsigned long long)s->unregistered,
            (unsigned long long)s->requests_forwarded, (unsigned long long)s->responses_forwarded,
            (unsigned long long)s->answered, (unsigned long long)s->not_found,
            (unsigned long long)s->too_many_hops,
            (unsigned long long)(s->drop_malformed + p->truncated),
            (unsigned long long)s->drop_not_ours, (unsigned long long)s->drop_unroutable,
            (unsigned long long)s->drop_too_big, (unsigned long long)s->bindings_full,
            (unsigned long long)s->bindings_expired, bindings, (unsigned long long)p->send_errors);
    if (!p->o.stats) return;
    printf("{\"registered\":%llu,\"unregistered\":%llu,\"requests_forwarded\":%llu,"
           "\"responses_forwarded\":%llu,\"answered\":%llu,\"not_found\":%llu,"
           "\"too_many_hops\":%llu,\"drop_malformed\":%llu,\"drop_not_ours\":%llu,"
           "\"drop_unroutable\":%llu,\"drop_too_big\":%llu,\"bindings_full\":%llu,"
           "\"bindings_expired\":%llu,\"bindings\":%zu,\"send_errors\":%llu,"
           "\"datagrams\":%llu}\n",
           (unsigned long long)s->registered, (unsigned long long)s->unregistered,
           (unsigned long long)s->requests_forwarded, (unsigned long long)s->responses_forwarded,
           (unsigned long long)s->answered, (unsigned long long)s->not_found,
           (unsigned long long)s->too_many_hops,
           (unsigned long long)(s->drop_malformed + p->truncated),
           (unsigned long long)s->drop_not_ours, (unsigned long long)s->drop_unroutable,
           (unsigned long long)s->drop_too_big, (unsigned long long)s->bindings_full,
           (unsigned long long)s->bindings_expired, bindings, (unsigned long long)p->send_errors,
           (unsigned long long)p->datagrams);
    fflush(stdout);
}

/* ---- run ----------------------------------------------------------------------------------- */

int floe_cmd_proxy(int argc, char **argv) {
    static proxy_app app; /* receive buffers: keep them off the stack */
    proxy_app *p = &app;
    memset(p, 0, sizeof *p);
    p->fd = -1;
    bool help;
    int rc = parse_opts(argc, argv, &p->o, &help);
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (rc) return rc;
    if (floe_addr_parse(p->o.listen, &p->local) != FLOE_OK || p->local.port == 0)
        return floe_usage_error(SUB, "bad --listen '%s' (expected IP:PORT, e.g. 127.0.0.1:5060)",
                                p->o.listen);
    if (floe_addr_classify(&p->local, NULL) & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST))
        return floe_usage_error(SUB,
                                "--listen %s: give the address user agents reach the proxy on "
                                "(it goes into Via and Record-Route), not a wildcard",
                                p->o.listen);

    floe_sip_proxy_config c;
    floe_sip_proxy_config_default(&c);
    c.domain = p->o.domain;
    c.addr = p->local;
    c.max_bindings = p->o.max_bindings;
    c.max_expires = p->o.max_expires;
    if (floe_rt_random(NULL, c.key, sizeof c.key) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": no random bytes for the branch key\n");
        return 1;
    }
    rc = floe_sip_proxy_new(&p->core, &c);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot create the proxy: %s\n", floe_strerror(rc));
        return rc == FLOE_ERR_INVAL ? 2 : 1;
    }
    int status = 1;
    floe_rt_ignore_sigpipe();
    if (floe_rt_udp_open(&p->local, 0, &p->fd, &p->local) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot open udp %s: %s\n", p->o.listen, strerror(errno));
        goto out;
    }
    if (floe_rt_loop_new(&p->loop) != FLOE_OK ||
        floe_rt_loop_watch(p->loop, p->fd, FLOE_RT_READ, on_readable, p) != FLOE_OK ||
        floe_rt_loop_on_signal(p->loop, SIGINT, on_signal, p) != FLOE_OK ||
        floe_rt_loop_on_signal(p->loop, SIGTERM, on_signal, p) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot set up the event loop: %s\n", strerror(errno));
        goto out;
    }
    p->t0 = floe_rt_now();
    fprintf(stderr,
            "floe " SUB ": listening on udp %s for domain %s (at most %u bindings); stop with "
            "SIGINT or SIGTERM\n",
            floe_cli_addr(&p->local).s, p->o.domain,
            p->o.max_bindings ? p->o.max_bindings : FLOE_SIP_PROXY_MAX_BINDINGS_DEFAULT);
    if (floe_rt_loop_run(p->loop) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": event loop failed: %s\n", strerror(errno));
        goto out;
    }
    print_counters(p);
    status = 0;
out:
    if (p->fd >= 0) {
        if (p->loop) floe_rt_loop_unwatch(p->loop, p->fd);
        close(p->fd);
    }
    floe_rt_loop_free(p->loop);
    floe_sip_proxy_free(p->core);
    return status;
}
