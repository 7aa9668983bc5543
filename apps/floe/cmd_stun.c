/* `floe stun`: one Binding request over UDP, TCP or TLS, or RFC 5780 NAT behaviour
 * discovery over UDP. The protocol work is floe_stun_client / floe_stun_behavior
 * (sans-IO); this file owns the sockets, TLS, the clock and the output. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_behavior.h"
#include "floe/stun_client.h"
#include "floe/transport.h"
#include "rt_loop.h"
#include "rt_sock.h"
#include "rt_stream.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"
#include "rt_udp.h"

#define SUB "stun"
#define MAX_ADDRS 8
#define RX_SIZE 2048

static const char help_text[] =
    "usage: floe stun [options] HOST[:PORT]\n"
    "       floe stun --behavior [options] HOST[:PORT]\n"
    "\n"
    "Asks a STUN server (RFC 8489) which address your request came from: your mapped,\n"
    "or server-reflexive, address. Behind a NAT that is the NAT's public side. With\n"
    "--behavior, runs NAT behaviour discovery (RFC 5780) instead: how the NAT maps and\n"
    "filters UDP. HOST is a name, an IPv4 address or an IPv6 address ([::1]:3478).\n"
    "\n"
    "options:\n"
    "  --transport udp|tcp|tls  how to reach the server (default udp). The default port\n"
    "                           is 3478, or 5349 for tls.\n"
    "                             floe stun --transport tcp 127.0.0.1\n"
    "  --ipv4, --ipv6           use only the IPv4 (or IPv6) addresses of HOST.\n"
    "                             floe stun --ipv6 localhost\n"
    "  --timeout SEC            give up after SEC seconds (fractions allowed). Without it\n"
    "                           the RFC 8489 schedule applies: over udp 7 requests sent\n"
    "                           0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s after the first, and\n"
    "                           failure at 39.5 s; over tcp and tls one request and 39.5 s.\n"
    "                           With --behavior: how long each test waits (default 1.1).\n"
    "                             floe stun --timeout 2 127.0.0.1:3478\n"
    "  --local ADDR             send from this local IP or IP:PORT.\n"
    "                             floe stun --local 127.0.0.1:40000 127.0.0.1\n"
    "  --ca FILE                tls: trust the CA certificates in this PEM file instead\n"
    "                           of the system's store. The server's certificate must\n"
    "                           also match HOST (a name, or an IP address).\n"
    "                             floe stun --transport tls --ca ca.pem localhost\n"
    "  --insecure               tls: do not verify the server's certificate at all\n"
    "                           (a warning goes to stderr). For tests only.\n"
    "                             floe stun --transport tls --insecure 127.0.0.1\n"
    "  --behavior               discover the NAT's mapping and filtering behaviour\n"
    "                           (RFC 5780, udp only; the server needs a second IP and\n"
    "                           port, e.g. floe server --rfc5780 --alt-address IP:PORT).\n"
    "                             floe stun --behavior 127.0.0.1:3478\n"
    "  --json                   print the result as one JSON object on one line.\n"
    "                             floe stun --json 127.0.0.1\n"
    "  -h, --help               show this help.\n"
    "\n"
    "output:\n"
    "  mapped 203.0.113.7:40312 (server 192.0.2.1:3478 over udp, rtt 12.40 ms)\n"
    "  {\"server\":\"192.0.2.1:3478\",\"transport\":\"udp\",\"local\":\"10.0.0.2:40312\",\n"
    "   \"mapped\":\"203.0.113.7:40312\",\"rtt_ms\":12.403,\"requests\":1}\n"
    "  The round-trip time counts from the first request. When a request had to be\n"
    "  sent again the answer may belong to any copy, so the time is then an upper\n"
    "  bound (\"rtt at most ...\", \"rtt_exact\":false in JSON).\n"
    "\n"
    "  With --behavior:\n"
    "  mapping: endpoint-independent\n"
    "  filtering: address-dependent\n"
    "  nat: yes (local 10.0.0.2:40312 is mapped to 203.0.113.7:40312)\n"
    "  JSON keys: mapping, filtering, nat (true, false or null), mapped, other_address,\n"
    "  local, server, status.\n"
    "\n"
    "exit status: 0 on success; 1 when the server cannot be resolved or reached, does\n"
    "not answer, answers with an error, or TLS fails; 2 for a usage error.\n";

typedef struct stun_opts {
    bool json, behavior, insecure, timeout_set, have_local;
    floe_transport transport;
    int family; /* FLOE_AF_NONE, _INET4 or _INET6 */
    floe_time_ns timeout;
    const char *ca;
    const char *target;
    floe_addr local;
} stun_opts;

/* ---- small helpers ---------------------------------------------------------------- */

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double ms(floe_time_ns ns) {
    return (double)ns / 1e6;
}

static double secs(floe_time_ns ns) {
    return (double)ns / 1e9;
}

/* ---- option parsing ----------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, stun_opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->transport = FLOE_TRANSPORT_UDP;
    *help = false;
    const char *local_str = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--behavior") || !strcmp(a, "--behaviour")) {
            o->behavior = true;
        } else if (!strcmp(a, "--insecure")) {
            o->insecure = true;
        } else if (floe_cli_family(SUB, a, &o->family, &rc)) {
            if (rc) return rc;
        } else if (floe_cli_value(argc, argv, &i, "--transport", &v)) {
            if (!v) return floe_usage_error(SUB, "--transport needs udp, tcp or tls");
            if (!strcmp(v, "udp"))
                o->transport = FLOE_TRANSPORT_UDP;
            else if (!strcmp(v, "tcp"))
                o->transport = FLOE_TRANSPORT_TCP;
            else if (!strcmp(v, "tls"))
                o->transport = FLOE_TRANSPORT_TLS;
            else
                return floe_usage_error(SUB, "unknown transport '%s' (use udp, tcp or tls)", v);
        } else if (floe_cli_value(argc, argv, &i, "--timeout", &v)) {
            double s;
            if ((rc = floe_cli_timeout(SUB, v, &s)) != 0) return rc;
            o->timeout = floe_cli_timeout_ns(s);
            o->timeout_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--local", &v)) {
            if (!v) return floe_usage_error(SUB, "--local needs an IP or IP:PORT");
            local_str = v;
        } else if (floe_cli_value(argc, argv, &i, "--ca", &v)) {
            if (!v) return floe_usage_error(SUB, "--ca needs a PEM file");
            o->ca = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        } else if (o->target) {
            return floe_usage_error(SUB, "one server only ('%s' and '%s')", o->target, a);
        } else {
            o->target = a;
        }
    }
    if (!o->target) return floe_usage_error(SUB, "missing the server: floe stun HOST[:PORT]");
    if (local_str) {
        if (floe_addr_parse(local_str, &o->local) != FLOE_OK)
            return floe_usage_error(SUB, "bad --local '%s' (an IP address, optionally :PORT)",
                                    local_str);
        o->have_local = true;
        if (o->family != FLOE_AF_NONE && o->family != o->local.family)
            return floe_usage_error(SUB, "--local %s is not of the family asked for", local_str);
        o->family = o->local.family;
    }
    if (o->behavior && o->transport != FLOE_TRANSPORT_UDP)
        return floe_usage_error(SUB, "--behavior runs over udp only");
    if ((o->ca || o->insecure) && o->transport != FLOE_TRANSPORT_TLS)
        return floe_usage_error(SUB, "--ca and --insecure apply to --transport tls only");
    return 0;
}

/* Resolves the target; prints the error and returns 1 on failure. */
static int resolve_target(const stun_opts *o, floe_addr *out, size_t *n) {
    uint16_t port = o->transport == FLOE_TRANSPORT_TLS ? FLOE_STUNS_PORT : FLOE_STUN_PORT;
    int rc = floe_rt_resolve(o->target, port, o->family, out, MAX_ADDRS, n);
    if (rc == FLOE_OK && out[0].port == 0) rc = FLOE_ERR_ADDR;
    if (rc == FLOE_OK) return 0;
    const char *fam = o->family == FLOE_AF_INET4   ? " to an IPv4 address"
                      : o->family == FLOE_AF_INET6 ? " to an IPv6 address"
                                                   : "";
    if (rc == FLOE_ERR_ADDR)
        errorf("bad server address '%s' (expected HOST[:PORT], port 1-65535)", o->target);
    else if (rc == FLOE_ERR_RESOLVE)
        errorf("cannot resolve '%s'%s", o->target, fam);
    else
        errorf("cannot resolve '%s': %s", o->target, floe_strerror(rc));
    return 1;
}

static floe_addr wildcard(int family, uint16_t port) {
    floe_addr a;
    memset(&a, 0, sizeof a);
    a.family = (uint8_t)family;
    a.port = port;
    return a;
}

/* ---- one Binding request ------------------------------------------------------------ */

typedef enum outcome {
    OUT_RUNNING = 0,
    OUT_DONE,    /* the client produced an event */
    OUT_REFUSED, /* try the next address, if any */
    OUT_FAILED,  /* msg says why */
} outcome;

typedef enum stream_phase { PH_CONNECTING, PH_HANDSHAKE, PH_READY } stream_phase;

typedef struct probe {
    const stun_opts *o;
    const char *tname;
    floe_addr server, local;
    int fd; /* the UDP socket */
    floe_rt_loop *loop;
    floe_stun_client client;
    bool started;
    floe_time_ns t0, deadline;
    outcome out;
    char msg[512];
    floe_stun_client_event ev;
    /* stream transports */
    floe_rt_stream s; /* the TCP/TLS connection, on in and outbuf */
    stream_phase phase;
    floe_rt_tls_ctx *tls_ctx;
    uint32_t interest;
    uint8_t in[RX_SIZE];
    uint8_t outbuf[2 * FLOE_STUN_CLIENT_MAX_REQUEST];
} probe;

static void probe_fail(probe *p, outcome out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void probe_fail(probe *p, outcome out, const char *fmt, ...) {
    if (p->out != OUT_RUNNING) return; /* the first reason wins */
    p->out = out;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
}

/* A socket error while talking to the server: refusal, or anything else. */
static void probe_sock_error(probe *p, int e, const char *what) {
    floe_cli_addr_text s = floe_cli_addr(&p->server);
    if (e == ECONNREFUSED)
        probe_fail(p, OUT_REFUSED, "%s refused the connection over %s%s", s.s, p->tname,
                   p->o->transport == FLOE_TRANSPORT_UDP ? " (port unreachable)" : "");
    else
        probe_fail(p, OUT_FAILED, "%s %s over %s: %s", what, s.s, p->tname, strerror(e));
}

static int start_client(probe *p, floe_time_ns now) {
    floe_stun_client_config cfg;
    floe_stun_client_config_default(&cfg);
    cfg.server = p->server;
    cfg.reliable = p->o->transport != FLOE_TRANSPORT_UDP;
    cfg.rand = floe_rt_random;
    if (p->deadline != FLOE_TIME_NEVER)
        cfg.timing.timeout = p->deadline > now ? p->deadline - now : 1;
    int rc = floe_stun_client_init(&p->client, &cfg);
    if (rc == FLOE_OK) rc = floe_stun_client_start(&p->client, now, NULL);
    if (rc != FLOE_OK) {
        probe_fail(p, OUT_FAILED, "cannot start the request: %s", floe_strerror(rc));
        return rc;
    }
    p->started = true;
    return FLOE_OK;
}

static void udp_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    probe *p = arg;
    for (int round = 0; round < 16 && p->out == OUT_RUNNING; round++) {
        uint8_t buf[RX_SIZE];
        floe_rt_dgram d = {.buf = buf, .cap = sizeof buf};
        int got = floe_rt_udp_recv_batch(fd, &d, 1);
        if (got == 0) return;
        if (got < 0) {
            probe_sock_error(p, errno, "receiving from");
            return;
        }
        if (d.truncated) continue; /* nothing a Binding response needs is that large */
        floe_stun_client_on_recv(&p->client, floe_rt_now(), buf, d.len, &d.peer);
    }
}

static void stream_set_interest(probe *p, uint32_t want) {
    if (want != p->interest) {
        floe_rt_loop_modify(p->loop, p->s.fd, want);
        p->interest = want;
    }
}

/* A stream call failed with rc: TLS says why, a socket has errno. */
static void stream_error(probe *p, int rc, const char *tls_what, const char *sock_what) {
    if (rc == FLOE_ERR_TLS)
        probe_fail(p, OUT_FAILED, "%s %s failed: %s", tls_what, floe_cli_addr(&p->server).s,
                   floe_rt_tls_error(p->s.tls));
    else
        probe_sock_error(p, errno, sock_what);
}

static void stream_frame(void *arg, const uint8_t *msg, size_t len) {
    probe *p = arg;
    floe_stun_client_on_recv(&p->client, floe_rt_now(), msg, len, &p->server);
}

/* Reads what is there and hands every complete message to the client. Returns the
 * interest bits the read needs. */
static uint32_t stream_read(probe *p) {
    int rc = floe_rt_stream_read(&p->s, floe_stun_frame_len, stream_frame, p);
    if (rc > 0) return (uint32_t)rc;
    floe_cli_addr_text srv = floe_cli_addr(&p->server);
    if (rc == 0)
        probe_fail(p, OUT_FAILED, "%s closed the %s connection without answering", srv.s, p->tname);
    else if (rc == FLOE_ERR_NOSPACE)
        probe_fail(p, OUT_FAILED, "%s sent a message too large for a Binding response", srv.s);
    else if (rc == FLOE_ERR_MALFORMED)
        probe_fail(p, OUT_FAILED, "%s sent something that is not STUN over %s", srv.s, p->tname);
    else
        stream_error(p, rc, "TLS connection with", "receiving from");
    return 0;
}

static void stream_io(void *arg, int fd, uint32_t events) {
    (void)events;
    probe *p = arg;
    floe_time_ns now = floe_rt_now();
    if (p->phase == PH_CONNECTING) {
        int rc = floe_rt_tcp_connect_result(fd);
        if (rc == FLOE_ERR_STATE) return;
        if (rc != FLOE_OK) {
            probe_sock_error(p, errno, "cannot connect to");
            return;
        }
        floe_rt_local_addr(fd, &p->local);
        if (p->o->transport == FLOE_TRANSPORT_TLS) {
            char host[256];
            floe_cli_host_part(p->o->target, host, sizeof host);
            rc = floe_rt_tls_new_client(&p->s.tls, p->tls_ctx, fd, host);
            if (rc != FLOE_OK) {
                probe_fail(p, OUT_FAILED, "cannot set up TLS: %s", floe_strerror(rc));
                return;
            }
            p->phase = PH_HANDSHAKE;
        } else {
            p->phase = PH_READY;
            if (start_client(p, now) != FLOE_OK) return;
        }
    }
    if (p->phase == PH_HANDSHAKE) {
        floe_rt_tls_want want;
        if (floe_rt_tls_handshake(p->s.tls, &want) != FLOE_OK) {
            probe_fail(p, OUT_FAILED, "TLS with %s failed: %s", floe_cli_addr(&p->server).s,
                       floe_rt_tls_error(p->s.tls));
            return;
        }
        if (want != FLOE_RT_TLS_DONE) {
            stream_set_interest(p, want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ);
            return;
        }
        p->phase = PH_READY;
        if (start_client(p, now) != FLOE_OK) return;
    }
    /* Ready: the main loop queues the request; here we move bytes both ways. */
    int flushed = floe_rt_stream_flush(&p->s);
    if (flushed < 0) {
        stream_error(p, flushed, "TLS write to", "sending to");
        return;
    }
    uint32_t want = (uint32_t)flushed | stream_read(p) | FLOE_RT_READ;
    if (p->s.out_len > 0) want |= FLOE_RT_WRITE;
    if (p->out == OUT_RUNNING) stream_set_interest(p, want);
}

/* Opens the socket and starts connecting (streams) or connects it (UDP, so that an ICMP
 * port unreachable is reported at once). Returns false with the failure recorded. */
static bool probe_open(probe *p) {
    const stun_opts *o = p->o;
    floe_addr bind_addr = o->have_local ? o->local : wildcard(p->server.family, 0);
    struct sockaddr_storage ss;
    socklen_t sslen;
    floe_rt_addr_to_sockaddr(&p->server, &ss, &sslen);
    if (o->transport == FLOE_TRANSPORT_UDP) {
        int rc = floe_rt_udp_open(&bind_addr, 0, &p->fd, NULL);
        if (rc != FLOE_OK) {
            probe_fail(p, OUT_FAILED, "cannot open a udp socket on %s: %s",
                       floe_cli_addr(&bind_addr).s, strerror(errno));
            return false;
        }
        if (connect(p->fd, (struct sockaddr *)&ss, sslen) < 0) {
            probe_sock_error(p, errno, "cannot send to");
            return false;
        }
        floe_rt_local_addr(p->fd, &p->local);
        return floe_rt_loop_watch(p->loop, p->fd, FLOE_RT_READ, udp_readable, p) == FLOE_OK;
    }
    if (o->have_local) {
        struct sockaddr_storage ls;
        socklen_t lslen;
        floe_rt_addr_to_sockaddr(&bind_addr, &ls, &lslen);
        if (floe_rt_socket(p->server.family, SOCK_STREAM, &p->s.fd) != FLOE_OK ||
            bind(p->s.fd, (struct sockaddr *)&ls, lslen) < 0) {
            probe_fail(p, OUT_FAILED, "cannot use local address %s: %s",
                       floe_cli_addr(&bind_addr).s, strerror(errno));
            return false;
        }
        if (connect(p->s.fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS &&
            errno != EINTR) {
            probe_sock_error(p, errno, "cannot connect to");
            return false;
        }
    } else {
        int rc = floe_rt_tcp_connect(&p->server, &p->s.fd);
        if (rc != FLOE_OK) {
            p->s.fd = -1;
            probe_sock_error(p, errno, "cannot connect to");
            return false;
        }
    }
    p->phase = PH_CONNECTING;
    p->interest = FLOE_RT_WRITE;
    return floe_rt_loop_watch(p->loop, p->s.fd, FLOE_RT_WRITE, stream_io, p) == FLOE_OK;
}

/* Queues the client's datagrams: sent at once over UDP, appended to the stream. */
static void probe_drain(probe *p, floe_time_ns now) {
    uint8_t buf[FLOE_STUN_CLIENT_MAX_REQUEST];
    size_t len;
    floe_addr dest;
    while (p->out == OUT_RUNNING &&
           floe_stun_client_next_send(&p->client, now, buf, sizeof buf, &len, &dest) == FLOE_OK) {
        if (p->o->transport == FLOE_TRANSPORT_UDP) {
            ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
                probe_sock_error(p, errno, "cannot send to");
        } else {
            (void)floe_rt_stream_queue(&p->s, buf, len); /* dropped when the queue is full */
        }
    }
    if (p->o->transport != FLOE_TRANSPORT_UDP && p->s.out_len > 0 && p->out == OUT_RUNNING)
        stream_io(p, p->s.fd, FLOE_RT_WRITE);
}

static void probe_timeout_message(probe *p, floe_time_ns now) {
    floe_cli_addr_text s = floe_cli_addr(&p->server);
    double took = secs(now - p->t0);
    if (p->started) {
        unsigned n = p->client.cur.requests;
        probe_fail(p, OUT_FAILED, "no response from %s over %s after %u request%s (%.1f s)", s.s,
                   p->tname, n, n == 1 ? "" : "s", took);
    } else if (p->phase == PH_HANDSHAKE) {
        probe_fail(p, OUT_FAILED, "TLS handshake with %s timed out after %.1f s", s.s, took);
    } else {
        probe_fail(p, OUT_FAILED, "connecting to %s over %s timed out after %.1f s", s.s, p->tname,
                   took);
    }
}

/* Runs one attempt against p->server until an event, a failure or the deadline. */
static void probe_run(probe *p) {
    p->t0 = floe_rt_now();
    bool stream = p->o->transport != FLOE_TRANSPORT_UDP;
    if (p->o->timeout_set)
        p->deadline = p->t0 + p->o->timeout;
    else
        p->deadline = stream ? p->t0 + FLOE_STUN_TI : FLOE_TIME_NEVER;
    if (!probe_open(p)) return;
    if (!stream && start_client(p, p->t0) != FLOE_OK) return;
    while (p->out == OUT_RUNNING) {
        floe_time_ns now = floe_rt_now();
        if (p->started) {
            floe_stun_client_tick(&p->client, now);
            probe_drain(p, now);
            if (p->out != OUT_RUNNING) break;
            if (floe_stun_client_next_event(&p->client, &p->ev)) {
                if (p->ev.type == FLOE_STUN_CLIENT_EV_TIMEOUT) {
                    probe_timeout_message(p, now);
                    break;
                }
                p->out = OUT_DONE;
                break;
            }
        }
        if (now >= p->deadline) {
            probe_timeout_message(p, now);
            break;
        }
        floe_time_ns until = p->deadline;
        if (p->started) {
            floe_time_ns d = floe_stun_client_deadline(&p->client);
            if (d < until) until = d;
        }
        int rc = floe_rt_loop_run_once(p->loop, until > now ? until - now : 0);
        if (rc < 0) probe_fail(p, OUT_FAILED, "event loop failed: %s", strerror(errno));
    }
}

static void probe_close(probe *p) {
    if (p->fd >= 0) {
        floe_rt_loop_unwatch(p->loop, p->fd);
        close(p->fd);
        p->fd = -1;
    }
    if (p->s.fd >= 0) floe_rt_loop_unwatch(p->loop, p->s.fd);
    floe_rt_stream_close(&p->s, p->out == OUT_DONE);
}

static int print_binding(const stun_opts *o, const probe *p) {
    const floe_stun_client_result *r = &p->ev.result;
    floe_cli_addr_text srv = floe_cli_addr(&p->server), loc = floe_cli_addr(&p->local);
    if (p->ev.type == FLOE_STUN_CLIENT_EV_ERROR_RESPONSE) {
        errorf("%s answered with error %d%s%s%s", srv.s, r->error_code, r->reason[0] ? " (" : "",
               r->reason[0] ? r->reason : floe_stun_error_reason(r->error_code),
               r->reason[0] ? ")" : "");
        return 1;
    }
    if (p->ev.type != FLOE_STUN_CLIENT_EV_SUCCESS) {
        errorf("%s sent an unusable response over %s: %s", srv.s, p->tname, floe_strerror(r->err));
        return 1;
    }
    floe_cli_addr_text mapped = floe_cli_addr(&r->mapped);
    if (o->json) {
        printf("{\"server\":\"%s\",\"transport\":\"%s\",\"local\":\"%s\",\"mapped\":\"%s\","
               "\"rtt_ms\":%.3f,\"rtt_exact\":%s,\"requests\":%u",
               srv.s, p->tname, loc.s, mapped.s, ms(r->rtt_ns), r->rtt_exact ? "true" : "false",
               r->requests);
        if (r->other.family != FLOE_AF_NONE)
            printf(",\"other_address\":\"%s\"", floe_cli_addr(&r->other).s);
        if (r->origin.family != FLOE_AF_NONE)
            printf(",\"response_origin\":\"%s\"", floe_cli_addr(&r->origin).s);
        printf("}\n");
    } else if (r->rtt_exact) {
        printf("mapped %s (server %s over %s, rtt %.2f ms)\n", mapped.s, srv.s, p->tname,
               ms(r->rtt_ns));
    } else {
        printf("mapped %s (server %s over %s, rtt at most %.2f ms, %u requests sent)\n", mapped.s,
               srv.s, p->tname, ms(r->rtt_ns), r->requests);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static int run_binding(const stun_opts *o) {
    floe_addr addrs[MAX_ADDRS];
    size_t n = 0;
    if (resolve_target(o, addrs, &n)) return 1;
    floe_rt_tls_ctx *ctx = NULL;
    if (o->transport == FLOE_TRANSPORT_TLS) {
        char err[512] = "";
        if (o->insecure)
            fprintf(stderr, "floe " SUB ": warning: --insecure: the server's certificate is "
                            "not verified\n");
        if (floe_rt_tls_ctx_new_client(&ctx, o->insecure ? NULL : o->ca, !o->insecure, err,
                                       sizeof err) != FLOE_OK) {
            errorf("cannot set up TLS: %s", err[0] ? err : "unknown error");
            return 1;
        }
    }
    floe_rt_loop *loop = NULL;
    if (floe_rt_loop_new(&loop) != FLOE_OK) {
        errorf("cannot create the event loop: %s", strerror(errno));
        floe_rt_tls_ctx_free(ctx);
        return 1;
    }
    static probe p; /* holds buffers: keep it off the stack */
    int status = 1;
    for (size_t i = 0; i < n; i++) {
        memset(&p, 0, sizeof p);
        p.o = o;
        p.tname = floe_transport_name(o->transport);
        p.server = addrs[i];
        p.fd = -1;
        floe_rt_stream_init(&p.s, p.in, sizeof p.in, p.outbuf, sizeof p.outbuf);
        p.loop = loop;
        p.tls_ctx = ctx;
        probe_run(&p);
        probe_close(&p);
        if (p.out == OUT_REFUSED && i + 1 < n) continue; /* the next address may answer */
        if (p.out == OUT_DONE)
            status = print_binding(o, &p);
        else
            errorf("%s", p.msg);
        break;
    }
    floe_rt_loop_free(loop);
    floe_rt_tls_ctx_free(ctx);
    return status;
}

/* ---- behaviour discovery ------------------------------------------------------------ */

typedef struct discovery {
    floe_stun_behavior b;
    int fd;
    bool failed;
    char msg[512];
} discovery;

static void disc_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    discovery *d = arg;
    for (int round = 0; round < 16; round++) {
        uint8_t buf[RX_SIZE];
        floe_rt_dgram dg = {.buf = buf, .cap = sizeof buf};
        int got = floe_rt_udp_recv_batch(fd, &dg, 1);
        if (got <= 0) return; /* errors on an unconnected socket: the test times out */
        if (dg.truncated) continue;
        floe_stun_behavior_on_recv(&d->b, floe_rt_now(), buf, dg.len, &dg.peer);
    }
}

/* OTHER-ADDRESS comes from the server: never let it send us somewhere the server itself
 * is not (a loopback server naming a remote host, or a public one naming a private). */
static bool other_address_ok(const floe_addr *server, const floe_addr *other) {
    uint32_t f = floe_addr_classify(other, NULL), sf = floe_addr_classify(server, NULL);
    if (f & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST)) return false;
    if ((sf & FLOE_ADDR_LOOPBACK) != (f & FLOE_ADDR_LOOPBACK)) return false;
    if (floe_addr_is_global(server) && !floe_addr_is_global(other)) return false;
    return true;
}

/* The local IP the system would use to reach server (a connected probe socket). */
static int local_ip_towards(const floe_addr *server, floe_addr *out) {
    int fd;
    int rc = floe_rt_socket(server->family, SOCK_DGRAM, &fd);
    if (rc != FLOE_OK) return rc;
    struct sockaddr_storage ss;
    socklen_t sslen;
    floe_rt_addr_to_sockaddr(server, &ss, &sslen);
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return floe_rt_err_from_errno(e);
    }
    rc = floe_rt_local_addr(fd, out);
    close(fd);
    return rc;
}

static void print_behavior(const stun_opts *o, const floe_stun_behavior_result *r) {
    floe_cli_addr_text srv = floe_cli_addr(&r->server), loc = floe_cli_addr(&r->local),
                       map = floe_cli_addr(&r->mapped), oth = floe_cli_addr(&r->other);
    const char *mapping = floe_nat_behavior_name(r->mapping);
    const char *filtering = floe_nat_behavior_name(r->filtering);
    if (o->json) {
        printf("{\"server\":\"%s\",\"transport\":\"udp\",\"local\":\"%s\",\"mapped\":\"%s\","
               "\"other_address\":\"%s\",\"nat\":%s,\"mapping\":\"%s\",\"filtering\":\"%s\","
               "\"status\":\"%s\"",
               srv.s, loc.s, map.s, oth.s,
               !r->nat_known ? "null"
               : r->nat      ? "true"
                             : "false",
               mapping, filtering, floe_stun_behavior_status_name(r->status));
        if (r->origin.family != FLOE_AF_NONE)
            printf(",\"response_origin\":\"%s\"", floe_cli_addr(&r->origin).s);
        if (r->server_ignored_change) printf(",\"server_ignored_change_request\":true");
        printf("}\n");
        return;
    }
    printf("mapping: %s\n", mapping);
    printf("filtering: %s%s\n", filtering,
           r->server_ignored_change ? " (the server ignored CHANGE-REQUEST)" : "");
    if (!r->nat_known)
        printf("nat: unknown (mapped address %s)\n", map.s);
    else if (r->nat)
        printf("nat: yes (local %s is mapped to %s)\n", loc.s, map.s);
    else
        printf("nat: no (the mapped address %s is the local address)\n", map.s);
    printf("server %s, other address %s\n", srv.s, oth.s);
}

static int run_behavior(const stun_opts *o) {
    floe_addr addrs[MAX_ADDRS];
    size_t n = 0;
    if (resolve_target(o, addrs, &n)) return 1;
    floe_addr server = addrs[0];
    floe_cli_addr_text srv = floe_cli_addr(&server);

    /* One socket for every test, bound to a definite local IP so that the mapped address
     * can be compared with it. */
    floe_addr bind_addr = o->have_local ? o->local : wildcard(server.family, 0);
    if (floe_addr_classify(&bind_addr, NULL) & FLOE_ADDR_UNSPECIFIED) {
        floe_addr towards;
        int rc = local_ip_towards(&server, &towards);
        if (rc != FLOE_OK) {
            errorf("cannot reach %s over udp: %s", srv.s, strerror(errno));
            return 1;
        }
        memcpy(bind_addr.ip, towards.ip, sizeof bind_addr.ip);
        bind_addr.scope_id = towards.scope_id;
    }
    static discovery d; /* large: keep it off the stack */
    memset(&d, 0, sizeof d);
    floe_addr local;
    if (floe_rt_udp_open(&bind_addr, 0, &d.fd, &local) != FLOE_OK) {
        errorf("cannot open a udp socket on %s: %s", floe_cli_addr(&bind_addr).s, strerror(errno));
        return 1;
    }

    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    cfg.server = server;
    cfg.local = local;
    cfg.rand = floe_rt_random;
    if (o->timeout_set) {
        /* The default schedule is 11 RTOs long (0, 1, 3, 7, then 4 more): scale it. */
        floe_time_ns rto = o->timeout / 11;
        for (int i = 0; i < FLOE_STUN_BT_COUNT; i++)
            cfg.timing[i].rto = rto ? rto : 1;
    }
    floe_rt_loop *loop = NULL;
    int status = 1;
    if (floe_stun_behavior_init(&d.b, &cfg) != FLOE_OK || floe_rt_loop_new(&loop) != FLOE_OK ||
        floe_rt_loop_watch(loop, d.fd, FLOE_RT_READ, disc_readable, &d) != FLOE_OK ||
        floe_stun_behavior_start(&d.b, floe_rt_now()) != FLOE_OK) {
        errorf("cannot start discovery: %s", strerror(errno));
        goto out;
    }
    floe_stun_behavior_result res;
    bool done = false;
    floe_time_ns t_start = floe_rt_now(), t_done = t_start;
    while (!done) {
        floe_time_ns now = floe_rt_now();
        t_done = now;
        floe_stun_behavior_tick(&d.b, now);
        floe_stun_behavior_event ev;
        while (floe_stun_behavior_next_event(&d.b, &ev)) {
            if (ev.type == FLOE_STUN_BEHAVIOR_EV_TEST && ev.test == FLOE_STUN_BT_I &&
                ev.result.other.family != FLOE_AF_NONE &&
                !other_address_ok(&server, &ev.result.other)) {
                errorf("%s named %s as its other address; refusing to send there", srv.s,
                       floe_cli_addr(&ev.result.other).s);
                goto out;
            }
            if (ev.type == FLOE_STUN_BEHAVIOR_EV_DONE) {
                res = ev.result;
                done = true;
            }
        }
        if (done) break;
        uint8_t buf[FLOE_STUN_CLIENT_MAX_REQUEST];
        size_t len;
        floe_addr dest;
        while (floe_stun_behavior_next_send(&d.b, now, buf, sizeof buf, &len, &dest) == FLOE_OK)
            (void)floe_rt_udp_send(d.fd, buf, len, &dest); /* a lost request is a silent test */
        if (floe_stun_behavior_done(&d.b)) continue;       /* pull the DONE event */
        floe_time_ns dl = floe_stun_behavior_deadline(&d.b);
        if (floe_rt_loop_run_once(loop, dl > now ? dl - now : 0) < 0) {
            errorf("event loop failed: %s", strerror(errno));
            goto out;
        }
    }

    switch (res.status) {
    case FLOE_STUN_BEHAVIOR_OK:
        print_behavior(o, &res);
        status = fflush(stdout) == 0 ? 0 : 1;
        break;
    case FLOE_STUN_BEHAVIOR_INCOMPLETE:
        print_behavior(o, &res);
        fflush(stdout);
        errorf("%s got no answer from %s; the mapping is unknown",
               floe_stun_behavior_test_name(res.failed_test),
               floe_cli_addr(&res.steps[res.failed_test].dest).s);
        break;
    case FLOE_STUN_BEHAVIOR_NO_RESPONSE: {
        unsigned k = res.steps[FLOE_STUN_BT_I].requests;
        errorf("no response from %s over udp after %u request%s (%.1f s)", srv.s, k,
               k == 1 ? "" : "s", secs(t_done - t_start));
        break;
    }
    case FLOE_STUN_BEHAVIOR_UNSUPPORTED:
        errorf("%s does not support NAT behaviour discovery (RFC 5780): its answer has no "
               "usable OTHER-ADDRESS",
               srv.s);
        break;
    case FLOE_STUN_BEHAVIOR_ERROR:
    default:
        if (res.error_code)
            errorf("%s answered %s with error %d%s%s%s", srv.s,
                   floe_stun_behavior_test_name(res.failed_test), res.error_code,
                   res.reason[0] ? " (" : "", res.reason, res.reason[0] ? ")" : "");
        else
            errorf("%s failed: %s", floe_stun_behavior_test_name(res.failed_test),
                   floe_strerror(res.err));
        break;
    }
out:
    floe_rt_loop_free(loop);
    close(d.fd);
    return status;
}

int floe_cmd_stun(int argc, char **argv) {
    stun_opts o;
    bool help;
    int rc = parse_opts(argc, argv, &o, &help);
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (rc) return rc;
    floe_rt_ignore_sigpipe();
    return o.behavior ? run_behavior(&o) : run_binding(&o);
}
