/* `floe turn`: a TURN client on real sockets. It allocates a relayed address on a TURN
 * server over UDP, TCP, TLS or DTLS, prints it with the mapped address, optionally
 * exchanges datagrams with a peer through the relay (Send indications or a channel), or
 * with a TCP allocation (RFC 6062) connects to a peer or accepts one and exchanges bytes
 * over a data connection, and deallocates. The protocol work is floe_turn_client
 * (sans-IO); this file owns the sockets, (D)TLS, the clock, the pacing of the data and
 * the output. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun_txn.h"
#include "floe/turn.h"
#include "rt_dtls.h"
#include "rt_loop.h"
#include "rt_sock.h"
#include "rt_stream.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"
#include "rt_udp.h"

#define SUB "turn"
#define MAX_ADDRS 8
#define COUNT_DEFAULT 10
#define COUNT_MAX 100000
#define SIZE_DEFAULT 100
#define SIZE_MIN 16 /* magic, sequence number, send time */
#define SIZE_MAX_CLI 16384
#define INTERVAL_DEFAULT_MS 5
#define ECHO_WAIT_DEFAULT FLOE_S(2)    /* for the last echoes after the last datagram */
#define DEALLOC_WAIT FLOE_S(3)         /* for the server to confirm the deallocation */
#define REST_VALIDITY_S 86400          /* --secret: credentials good for a day */
#define STREAM_IN_MAX (4 + 65535 + 3)  /* the largest framed message */
#define STREAM_OUT_MAX (256 * 1024)    /* bytes waiting for the socket */
#define DATA_IN_MAX 65536              /* RFC 6062 data connection: read buffer */
#define ACCEPT_WAIT_DEFAULT FLOE_S(30) /* --tcp-accept: how long a peer has to connect */
#define TLS_CLOSE_WAIT FLOE_MS(200)    /* for the server's close_notify after ours */
#define PAYLOAD_MAGIC 0x464c4f45u      /* "FLOE" */
/* Over DTLS a message is one record: a Send indication adds at most 52 bytes. */
#define SIZE_MAX_DTLS (FLOE_RT_DTLS_MAX_RECORD - 52)

static const char help_text[] =
    "usage: floe turn [options] HOST[:PORT]\n"
    "\n"
    "Asks a TURN server (RFC 8656) for a relayed address: a port on the server that\n"
    "forwards datagrams between you and peers that could not reach you directly. Prints\n"
    "the relayed address and your mapped address (where the server sees you from).\n"
    "With --peer, also sends datagrams to a peer through the relay and counts the ones\n"
    "that come back (the peer must echo them, e.g. floe bench echo or turnutils_peer).\n"
    "The allocation is released (a Refresh with lifetime 0) before floe turn exits.\n"
    "\n"
    "options:\n"
    "  --transport udp|tcp|tls|dtls\n"
    "                           how to reach the server (default udp). The default port\n"
    "                           is 3478, or 5349 for tls and dtls. dtls (RFC 7350) is\n"
    "                           TLS for datagrams: UDP's behaviour, encrypted.\n"
    "                             floe turn --transport tcp turn.example.org\n"
    "                             floe turn --transport dtls --ca ca.pem turn.example.org\n"
    "  --user NAME --password PASS\n"
    "                           long-term credentials (RFC 8489 §9.2), the usual kind.\n"
    "                             floe turn --user alice --password secret 127.0.0.1\n"
    "  --secret SECRET          derive time-limited credentials from the secret the server\n"
    "                           shares (\"TURN REST\", coturn's --static-auth-secret): the\n"
    "                           username is EXPIRY:NAME (NAME from --user, optional), valid\n"
    "                           for a day; the password is base64(HMAC-SHA1(secret, username)).\n"
    "                             floe turn --secret s3cr3t --user alice 127.0.0.1\n"
    "  --realm REALM            authenticate only if the server's realm is REALM.\n"
    "  --ca FILE                tls, dtls: trust the CA certificates in this PEM file instead\n"
    "                           of the system's store; the certificate must match HOST.\n"
    "  --insecure               tls, dtls: do not verify the server's certificate (tests\n"
    "                           only).\n"
    "  --ipv4, --ipv6           use only the IPv4 (or IPv6) addresses of HOST.\n"
    "  --dual                   ask for an IPv6 relayed address as well as the IPv4 one\n"
    "                           (RFC 8656 §7.1, ADDITIONAL-ADDRESS-FAMILY).\n"
    "  --lifetime SEC           ask for this allocation lifetime (1-3600 s; the server's\n"
    "                           default, usually 600 s, otherwise).\n"
    "  --peer IP:PORT           after allocating, permit this peer and send it datagrams\n"
    "                           through the relay.\n"
    "                             floe turn --user u --password p --peer 127.0.0.1:9000 127.0.0.1\n"
    "  --count N                datagrams to send to the peer (default 10, at most 100000).\n"
    "  --size BYTES             size of each datagram (16-16384, default 100; over dtls at\n"
    "                           most 16332, so that each message fits one DTLS record).\n"
    "  --interval MS            time between two datagrams (default 5 ms; 0 sends at once).\n"
    "  --channel                bind a channel to the peer (ChannelBind) and send\n"
    "                           ChannelData, 4 bytes of header instead of 36 or more.\n"
    "  --tcp-peer IP:PORT       TCP relaying (RFC 6062, needs --transport tcp or tls): ask\n"
    "                           for a TCP relayed address, have the server connect from it\n"
    "                           to IP:PORT (Connect), open a second connection to the server\n"
    "                           for that TCP connection (ConnectionBind), then send --count\n"
    "                           records of --size bytes through it and count the ones the\n"
    "                           peer echoes back (any TCP echo server will do).\n"
    "                             floe turn --transport tcp --user u --password p \\\n"
    "                                 --tcp-peer 192.0.2.9:7 turn.example.org\n"
    "  --tcp-accept IP[:PORT]   TCP relaying the other way: permit IP, wait for it to connect\n"
    "                           to the relayed address (from PORT, if given; the server\n"
    "                           announces it with a ConnectionAttempt), accept, and exchange\n"
    "                           records as with --tcp-peer; the peer must echo them. The\n"
    "                           relayed address is printed on stderr once the permission is\n"
    "                           up (\"waiting for ...\"): tell the peer.\n"
    "  --timeout SEC            give up when the allocation takes longer than SEC seconds\n"
    "                           (default: the RFC 8489 schedule, 39.5 s), and wait SEC\n"
    "                           seconds for the last echoes (default 2); with --tcp-accept,\n"
    "                           also how long the peer has to connect (default 30 s).\n"
    "  --json                   print the result as one JSON object on one line.\n"
    "  -h, --help               show this help.\n"
    "\n"
    "output:\n"
    "  relayed 192.0.2.1:49152 (server 192.0.2.1:3478 over udp, lifetime 600 s, rtt 0.52 ms)\n"
    "  mapped 203.0.113.7:40312\n"
    "  peer 198.51.100.9:9000: 10/10 echoed via channel 0x4000 (rtt min/avg/max 0.21/0.30/0.52 "
    "ms)\n"
    "  peer 198.51.100.9:7: 10/10 echoed over tcp connection 0x00010001 (Connect) (rtt ...)\n"
    "  JSON keys: server, transport, relay (\"udp\" or \"tcp\"), local, relayed (and\n"
    "  relayed_ipv6 with --dual), mapped, lifetime, rtt_ms, requests; with --peer: peer, via\n"
    "  (\"channel\" or \"send\"), channel, sent, echoed, lost, echo_rtt_ms {min, avg, max};\n"
    "  with --tcp-peer or --tcp-accept: peer (the one connected), via (\"connect\" or\n"
    "  \"accept\"), connection_id, data_local (the data connection's local address), size,\n"
    "  sent, echoed, lost, echo_rtt_ms; deallocated.\n"
    "  Progress goes to stderr.\n"
    "\n"
    "exit status: 0 when the allocation succeeded and, with --peer, --tcp-peer or\n"
    "--tcp-accept, every datagram or record came back; 1 when the server cannot be\n"
    "reached, refuses (the error and its code are printed: 403, 446 Connection Already\n"
    "Exists, 447 Connection Timeout or Failure, ...), no peer connected, or data was lost;\n"
    "2 for a usage error.\n";

typedef enum tcp_mode { TCP_NONE = 0, TCP_CONNECT, TCP_ACCEPT } tcp_mode;

typedef struct turn_opts {
    bool json, insecure, channel, dual, timeout_set, have_peer;
    tcp_mode tcp; /* RFC 6062: --tcp-peer (peer is IP:PORT) or --tcp-accept (peer's port
                     may be 0: any) */
    floe_transport transport;
    int family;
    unsigned count, size, interval_ms, lifetime;
    floe_time_ns timeout;
    const char *user, *password, *secret, *realm, *ca, *target;
    floe_addr peer;
} turn_opts;

/* ---- helpers ----------------------------------------------------------------------- */

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* An address without its port (for a peer named by its IP only). */
static floe_cli_addr_text ip_text(const floe_addr *a) {
    floe_cli_addr_text t;
    floe_addr_format(a, false, t.s, sizeof t.s);
    return t;
}

static double ms(floe_time_ns ns) {
    return (double)ns / 1e6;
}

/* ---- options ------------------------------------------------------------------------ */

static int parse_opts(int argc, char **argv, turn_opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->transport = FLOE_TRANSPORT_UDP;
    o->interval_ms = INTERVAL_DEFAULT_MS;
    *help = false;
    const char *peer = NULL, *count = NULL, *size = NULL, *interval = NULL, *tcp_peer = NULL,
               *tcp_accept = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--insecure")) {
            o->insecure = true;
        } else if (!strcmp(a, "--channel")) {
            o->channel = true;
        } else if (!strcmp(a, "--dual")) {
            o->dual = true;
        } else if (floe_cli_family(SUB, a, &o->family, &rc)) {
            if (rc) return rc;
        } else if (floe_cli_value(argc, argv, &i, "--transport", &v)) {
            if (!v) return floe_usage_error(SUB, "--transport needs udp, tcp, tls or dtls");
            if (!strcmp(v, "udp"))
                o->transport = FLOE_TRANSPORT_UDP;
            else if (!strcmp(v, "tcp"))
                o->transport = FLOE_TRANSPORT_TCP;
            else if (!strcmp(v, "tls"))
                o->transport = FLOE_TRANSPORT_TLS;
            else if (!strcmp(v, "dtls"))
                o->transport = FLOE_TRANSPORT_DTLS;
            else
                return floe_usage_error(SUB, "unknown transport '%s' (use udp, tcp, tls or dtls)",
                                        v);
        } else if (floe_cli_value(argc, argv, &i, "--user", &v)) {
            if (!v || !v[0]) return floe_usage_error(SUB, "--user needs a name");
            o->user = v;
        } else if (floe_cli_value(argc, argv, &i, "--password", &v)) {
            if (!v) return floe_usage_error(SUB, "--password needs a value");
            o->password = v;
        } else if (floe_cli_value(argc, argv, &i, "--secret", &v)) {
            if (!v || !v[0]) return floe_usage_error(SUB, "--secret needs the shared secret");
            o->secret = v;
        } else if (floe_cli_value(argc, argv, &i, "--realm", &v)) {
            if (!v || !v[0]) return floe_usage_error(SUB, "--realm needs a realm");
            o->realm = v;
        } else if (floe_cli_value(argc, argv, &i, "--ca", &v)) {
            if (!v) return floe_usage_error(SUB, "--ca needs a PEM file");
            o->ca = v;
        } else if (floe_cli_value(argc, argv, &i, "--peer", &v)) {
            if (!v) return floe_usage_error(SUB, "--peer needs IP:PORT");
            peer = v;
        } else if (floe_cli_value(argc, argv, &i, "--tcp-peer", &v)) {
            if (!v) return floe_usage_error(SUB, "--tcp-peer needs IP:PORT");
            tcp_peer = v;
        } else if (floe_cli_value(argc, argv, &i, "--tcp-accept", &v)) {
            if (!v) return floe_usage_error(SUB, "--tcp-accept needs the peer's IP (or IP:PORT)");
            tcp_accept = v;
        } else if (floe_cli_value(argc, argv, &i, "--count", &v)) {
            count = v ? v : "";
        } else if (floe_cli_value(argc, argv, &i, "--size", &v)) {
            size = v ? v : "";
        } else if (floe_cli_value(argc, argv, &i, "--interval", &v)) {
            interval = v ? v : "";
        } else if (floe_cli_value(argc, argv, &i, "--lifetime", &v)) {
            if (!floe_cli_uint(v, 1, FLOE_TURN_LIFETIME_MAX, &o->lifetime))
                return floe_usage_error(SUB, "bad --lifetime '%s' (seconds, 1-%d)", v ? v : "",
                                        FLOE_TURN_LIFETIME_MAX);
        } else if (floe_cli_value(argc, argv, &i, "--timeout", &v)) {
            double s;
            if ((rc = floe_cli_timeout(SUB, v, &s)) != 0) return rc;
            o->timeout = floe_cli_timeout_ns(s);
            o->timeout_set = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        } else if (o->target) {
            return floe_usage_error(SUB, "one server only ('%s' and '%s')", o->target, a);
        } else {
            o->target = a;
        }
    }
    if (!o->target) return floe_usage_error(SUB, "missing the server: floe turn HOST[:PORT]");
    if (o->secret && o->password)
        return floe_usage_error(SUB, "--secret and --password exclude each other");
    if (o->password && !o->user) return floe_usage_error(SUB, "--password needs --user");
    if (o->user && !o->password && !o->secret)
        return floe_usage_error(SUB, "--user needs --password (or --secret)");
    if ((o->ca || o->insecure) && o->transport != FLOE_TRANSPORT_TLS &&
        o->transport != FLOE_TRANSPORT_DTLS)
        return floe_usage_error(SUB, "--ca and --insecure apply to --transport tls and dtls only");
    if (o->ca && o->insecure)
        return floe_usage_error(SUB, "--ca and --insecure exclude each other");
    if (o->dual && o->family == FLOE_AF_INET6)
        return floe_usage_error(SUB, "--dual adds IPv6 to an IPv4 allocation: not with --ipv6");
    if (!!peer + !!tcp_peer + !!tcp_accept > 1)
        return floe_usage_error(SUB, "--peer, --tcp-peer and --tcp-accept exclude each other");
    if ((tcp_peer || tcp_accept) && o->transport != FLOE_TRANSPORT_TCP &&
        o->transport != FLOE_TRANSPORT_TLS)
        return floe_usage_error(SUB,
                                "--%s asks for a TCP allocation (RFC 6062), which needs "
                                "--transport tcp or tls",
                                tcp_peer ? "tcp-peer" : "tcp-accept");
    if ((tcp_peer || tcp_accept) && (o->channel || o->dual))
        return floe_usage_error(SUB, "--channel and --dual do not apply to a TCP allocation");
    if (!peer && !tcp_peer && !tcp_accept && (count || size || interval || o->channel))
        return floe_usage_error(SUB, "--count, --size, --interval and --channel need --peer");
    if (tcp_peer && (floe_addr_parse(tcp_peer, &o->peer) != FLOE_OK || o->peer.port == 0))
        return floe_usage_error(SUB, "bad --tcp-peer '%s' (an IP address and port: 192.0.2.1:7000)",
                                tcp_peer);
    if (tcp_accept && floe_addr_parse(tcp_accept, &o->peer) != FLOE_OK)
        return floe_usage_error(SUB, "bad --tcp-accept '%s' (an IP address, or IP:PORT)",
                                tcp_accept);
    if (tcp_peer || tcp_accept) o->tcp = tcp_peer ? TCP_CONNECT : TCP_ACCEPT;
    if (peer && (floe_addr_parse(peer, &o->peer) != FLOE_OK || o->peer.port == 0))
        return floe_usage_error(SUB, "bad --peer '%s' (an IP address and port: 192.0.2.1:9000)",
                                peer);
    if (peer || o->tcp) {
        o->have_peer = peer != NULL;
        o->count = COUNT_DEFAULT;
        o->size = SIZE_DEFAULT;
        if (count && !floe_cli_uint(count, 1, COUNT_MAX, &o->count))
            return floe_usage_error(SUB, "bad --count '%s' (1-%d)", count, COUNT_MAX);
        if (size && !floe_cli_uint(size, SIZE_MIN, SIZE_MAX_CLI, &o->size))
            return floe_usage_error(SUB, "bad --size '%s' (%d-%d bytes)", size, SIZE_MIN,
                                    SIZE_MAX_CLI);
        if (o->transport == FLOE_TRANSPORT_DTLS && o->size > SIZE_MAX_DTLS)
            return floe_usage_error(SUB,
                                    "--size %u is too large for dtls (at most %d bytes, so "
                                    "that each message fits one DTLS record)",
                                    o->size, SIZE_MAX_DTLS);
        if (interval && !floe_cli_uint(interval, 0, 10000, &o->interval_ms))
            return floe_usage_error(SUB, "bad --interval '%s' (milliseconds, 0-10000)", interval);
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef enum phase { PH_CONNECTING, PH_HANDSHAKE, PH_READY } phase;

typedef struct run {
    const turn_opts *o;
    const char *tname;
    bool stream;
    floe_rt_loop *loop;
    floe_turn_client *c;
    floe_rt_tls_ctx *tls_ctx; /* TLS or DTLS */
    int fd;                   /* the UDP socket */
    floe_rt_dtls *dtls;       /* DTLS on it, or NULL */
    floe_rt_stream s;         /* or the TCP/TLS connection */
    phase ph;
    uint32_t interest;
    floe_addr connected; /* where the socket goes */
    floe_addr local;
    floe_time_ns t0, connect_deadline;
    bool started; /* allocate() called */
    bool failed, done, interrupted;
    bool broken;     /* the connection to the server is unusable: nothing more can be sent */
    floe_addr first; /* the server as resolved (TLS checks its name) */
    /* DTLS: the request that opened a new connection (after a redirect) waits here for
     * the handshake */
    uint8_t pending[FLOE_TURN_MAX_REQUEST];
    size_t pending_len;
    char msg[512];
    /* the allocation */
    bool allocated;
    floe_turn_event alloc;
    unsigned requests;
    unsigned activity; /* messages and events handled: the loop goes round while it grows */
    /* the peer exchange */
    bool ready, exchanging, finished_exchange;
    uint16_t channel;
    unsigned sent, echoed, bad_echoes;
    floe_time_ns next_at, echo_deadline;
    double rtt_min, rtt_max, rtt_sum;
    uint8_t *seen;
    floe_addr peer;  /* whom the data goes to and comes from (--tcp-accept: who connected) */
    bool tx_blocked; /* the data connection's queue is full: wait for it to drain */
    /* RFC 6062: our one data connection */
    floe_rt_stream d;
    phase dph;
    uint32_t dinterest;
    bool have_conn; /* conn_id names our connection (Connect success or accepted) */
    bool bound;     /* its ConnectionBind succeeded: d carries the peer's bytes */
    uint32_t conn_id;
    floe_addr dlocal;
    bool waiting_peer; /* --tcp-accept: the permission is up, no connection yet */
    floe_time_ns accept_deadline;
    uint8_t rec[SIZE_MAX_CLI]; /* the echo record being reassembled from the byte stream */
    size_t rec_len;
    /* the end */
    bool closing, deallocated;
    floe_time_ns close_deadline;
    int dealloc_err, dealloc_code;
} run;

static void fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run *r, const char *fmt, ...) {
    if (r->failed) return; /* the first reason wins */
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

static void sock_error(run *r, int e, const char *what) {
    floe_cli_addr_text s = floe_cli_addr(&r->connected);
    r->broken = true;
    if (e == ECONNREFUSED)
        fail(r, "%s refused the connection over %s%s", s.s, r->tname,
             r->stream ? "" : " (port unreachable)");
    else
        fail(r, "%s %s over %s: %s", what, s.s, r->tname, strerror(e));
}

static void close_data(run *r, floe_time_ns now);

/* Starts the deallocation (once); the loop ends when it is confirmed or after a while. A
 * data connection is closed first: the peer sees its connection end. */
static void begin_close(run *r, floe_time_ns now) {
    if (r->closing) return;
    close_data(r, now);
    r->closing = true;
    r->activity++; /* the Refresh it queues must go out before the loop waits */
    r->close_deadline = now + DEALLOC_WAIT;
    if (floe_turn_client_close(r->c, now) != FLOE_OK) r->done = true;
}

/* ---- sockets ------------------------------------------------------------------------- */

/* Closes a stream. Over TLS our close_notify goes first, and the server's answer (its
 * own close_notify) is read for a moment: data left unread in the socket would make
 * the kernel end the connection with a reset instead of a FIN. */
static void close_stream(run *r, floe_rt_stream *s, bool ready) {
    if (s->fd < 0) return;
    floe_rt_loop_unwatch(r->loop, s->fd);
    if (!s->tls || !ready) {
        floe_rt_stream_close(s, ready);
        return;
    }
    floe_rt_tls_want want;
    floe_rt_tls_shutdown(s->tls, &want);
    floe_time_ns until = floe_rt_now() + TLS_CLOSE_WAIT;
    for (int rounds = 0; rounds < 64; rounds++) {
        uint8_t junk[4096];
        int n = floe_rt_tls_read(s->tls, junk, sizeof junk, &want);
        if (n < 0 || (n == 0 && want == FLOE_RT_TLS_CLOSED)) break;
        if (n > 0) continue;
        floe_time_ns now = floe_rt_now();
        if (now >= until) break;
        struct pollfd pf = {.fd = s->fd, .events = POLLIN};
        if (poll(&pf, 1, (int)((until - now) / 1000000) + 1) <= 0) break;
    }
    floe_rt_stream_close(s, false); /* close_notify went out above */
}

/* Ends the data connection (if any) and tells the client core. */
static void close_data(run *r, floe_time_ns now) {
    if (r->d.fd >= 0) {
        close_stream(r, &r->d, r->dph == PH_READY);
        r->dinterest = 0;
    }
    if (r->have_conn && r->c) floe_turn_client_conn_closed(r->c, now, r->conn_id);
    r->have_conn = false;
}

static void close_socket(run *r) {
    close_data(r, floe_rt_now());
    if (r->stream) {
        close_stream(r, &r->s, r->ph == PH_READY && !r->broken);
        return;
    }
    if (r->dtls) { /* close_notify, best effort, so the server drops the session now */
        if (r->ph == PH_READY && !r->broken) floe_rt_dtls_shutdown(r->dtls);
        floe_rt_dtls_free(r->dtls);
        r->dtls = NULL;
    }
    r->pending_len = 0;
    if (r->fd < 0) return;
    floe_rt_loop_unwatch(r->loop, r->fd);
    close(r->fd);
    r->fd = -1;
    r->interest = 0;
}

static void on_data(run *r, floe_time_ns now, const floe_turn_data *d) {
    if ((!r->o->have_peer && !r->o->tcp) || !floe_addr_equal(&d->peer, &r->peer)) return;
    if (d->len != r->o->size || floe_get_u32(d->p) != PAYLOAD_MAGIC) {
        r->bad_echoes++;
        return;
    }
    uint32_t seq = floe_get_u32(d->p + 4);
    uint64_t sent_at = (uint64_t)floe_get_u32(d->p + 8) << 32 | floe_get_u32(d->p + 12);
    if (seq >= r->sent || (r->seen[seq / 8] >> (seq % 8) & 1)) {
        r->bad_echoes++;
        return;
    }
    r->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    r->echoed++;
    double rtt = now > sent_at ? ms(now - sent_at) : 0;
    if (r->echoed == 1 || rtt < r->rtt_min) r->rtt_min = rtt;
    if (rtt > r->rtt_max) r->rtt_max = rtt;
    r->rtt_sum += rtt;
}

static void feed(run *r, const uint8_t *p, size_t len, const floe_addr *from) {
    floe_time_ns now = floe_rt_now();
    floe_turn_data d;
    if (floe_turn_client_on_recv(r->c, now, p, len, from, &d) == FLOE_TURN_RECV_DATA)
        on_data(r, now, &d);
}

static void udp_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    run *r = arg;
    for (int round = 0; round < 64 && !r->broken; round++) {
        static uint8_t buf[65536];
        floe_rt_dgram d = {.buf = buf, .cap = sizeof buf};
        int got = floe_rt_udp_recv_batch(fd, &d, 1);
        if (got == 0) return;
        if (got < 0) {
            sock_error(r, errno, "receiving from");
            return;
        }
        if (!d.truncated) feed(r, buf, d.len, &d.peer);
    }
}

static void set_interest(run *r, uint32_t want) {
    int fd = r->stream ? r->s.fd : r->fd;
    if (want != r->interest && fd >= 0) {
        floe_rt_loop_modify(r->loop, fd, want);
        r->interest = want;
    }
}

/* The name the server's certificate must match: HOST as given, or after a redirect the
 * new server's IP. */
static void server_name(const run *r, char *host, size_t cap) {
    if (floe_addr_equal(&r->connected, &r->first))
        floe_cli_host_part(r->o->target, host, cap);
    else
        floe_addr_format(&r->connected, false, host, cap);
}

/* ---- DTLS: UDP's behaviour, each message one record ------------------------------------ */

static bool transmit(run *r, const uint8_t *p, size_t len);

/* A DTLS call failed: an ICMP error reads as for UDP, anything else as DTLS says it. */
static void dtls_error(run *r, int e, const char *what) {
    if (e == ECONNREFUSED) {
        sock_error(r, e, "");
        return;
    }
    fail(r, "%s %s failed: %s", what, floe_cli_addr(&r->connected).s, floe_rt_dtls_error(r->dtls));
    r->broken = true;
}

/* Advances the handshake (on readiness or its timer); once done, the request that waits
 * for it (after a redirect) goes out. */
static void dtls_step(run *r) {
    floe_rt_tls_want want;
    if (floe_rt_dtls_handshake(r->dtls, &want) != FLOE_OK) {
        dtls_error(r, errno, "DTLS with");
        return;
    }
    if (want != FLOE_RT_TLS_DONE) {
        set_interest(r,
                     want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_READ | FLOE_RT_WRITE : FLOE_RT_READ);
        return;
    }
    r->ph = PH_READY;
    set_interest(r, FLOE_RT_READ);
    if (r->pending_len) {
        size_t n = r->pending_len;
        r->pending_len = 0;
        transmit(r, r->pending, n);
    }
}

static void dtls_readable(void *arg, int fd, uint32_t events) {
    (void)fd;
    (void)events;
    run *r = arg;
    if (r->ph == PH_HANDSHAKE) dtls_step(r);
    /* Until OpenSSL wants the socket again: it may hold records no fd event announces. */
    while (r->ph == PH_READY && !r->broken) {
        static uint8_t buf[65536];
        floe_rt_tls_want want;
        int got = floe_rt_dtls_read(r->dtls, buf, sizeof buf, &want);
        if (got > 0) {
            feed(r, buf, (size_t)got, &r->connected);
            continue;
        }
        if (got < 0) {
            dtls_error(r, errno, "DTLS connection with");
        } else if (want == FLOE_RT_TLS_CLOSED) {
            /* After our deallocation the server may close first: not an error. */
            if (!r->closing)
                fail(r, "%s closed the dtls connection", floe_cli_addr(&r->connected).s);
            r->broken = true;
        }
        return;
    }
}

/* A stream call failed with rc: TLS says why, a socket has errno. */
static void stream_error(run *r, int rc, const char *tls_what, const char *sock_what) {
    if (rc == FLOE_ERR_TLS) {
        fail(r, "%s %s failed: %s", tls_what, floe_cli_addr(&r->connected).s,
             floe_rt_tls_error(r->s.tls));
        r->broken = true;
    } else {
        sock_error(r, errno, sock_what);
    }
}

static void stream_frame(void *arg, const uint8_t *p, size_t len) {
    run *r = arg;
    feed(r, p, len, &r->connected);
}

/* Reads what is there; every whole message goes to the client (RFC 8656 §12.5 framing).
 * Returns the interest bits the read needs. */
static uint32_t stream_read(run *r) {
    int rc = floe_rt_stream_read(&r->s, floe_turn_frame_len, stream_frame, r);
    if (rc > 0) return (uint32_t)rc;
    if (rc == 0) {
        /* After our deallocation the server may close first: not an error. */
        if (!r->closing)
            fail(r, "%s closed the %s connection", floe_cli_addr(&r->connected).s, r->tname);
        r->broken = true;
    } else if (rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_NOSPACE) {
        fail(r, "%s sent something that is neither STUN nor ChannelData over %s",
             floe_cli_addr(&r->connected).s, r->tname);
        r->broken = true;
    } else {
        stream_error(r, rc, "TLS connection with", "receiving from");
    }
    return 0;
}

static void stream_io(void *arg, int fd, uint32_t events) {
    (void)events;
    run *r = arg;
    if (r->ph == PH_CONNECTING) {
        int rc = floe_rt_tcp_connect_result(fd);
        if (rc == FLOE_ERR_STATE) return;
        if (rc != FLOE_OK) {
            sock_error(r, errno, "cannot connect to");
            return;
        }
        floe_rt_local_addr(fd, &r->local);
        if (r->o->transport == FLOE_TRANSPORT_TLS) {
            char host[256];
            server_name(r, host, sizeof host);
            rc = floe_rt_tls_new_client(&r->s.tls, r->tls_ctx, fd, host);
            if (rc != FLOE_OK) {
                fail(r, "cannot set up TLS: %s", floe_strerror(rc));
                r->broken = true;
                return;
            }
            r->ph = PH_HANDSHAKE;
        } else {
            r->ph = PH_READY;
        }
    }
    if (r->ph == PH_HANDSHAKE) {
        floe_rt_tls_want want;
        if (floe_rt_tls_handshake(r->s.tls, &want) != FLOE_OK) {
            fail(r, "TLS with %s failed: %s", floe_cli_addr(&r->connected).s,
                 floe_rt_tls_error(r->s.tls));
            r->broken = true;
            return;
        }
        if (want != FLOE_RT_TLS_DONE) {
            set_interest(r, want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ);
            return;
        }
        r->ph = PH_READY;
    }
    int flushed = floe_rt_stream_flush(&r->s);
    if (flushed < 0) {
        stream_error(r, flushed, "TLS write to", "sending to");
        return;
    }
    uint32_t want = (uint32_t)flushed | stream_read(r) | FLOE_RT_READ;
    if (r->s.out_len > 0) want |= FLOE_RT_WRITE;
    if (!r->broken) set_interest(r, want);
}

/* Opens the socket to `to`: UDP connected (so ICMP errors show) with, for DTLS, the
 * handshake started; TCP connecting. */
static bool open_socket(run *r, const floe_addr *to) {
    r->connected = *to;
    if (!r->stream) {
        floe_addr any;
        memset(&any, 0, sizeof any);
        any.family = to->family;
        if (floe_rt_udp_open(&any, 0, &r->fd, NULL) != FLOE_OK) {
            fail(r, "cannot open a udp socket: %s", strerror(errno));
            return false;
        }
        struct sockaddr_storage ss;
        socklen_t sslen;
        floe_rt_addr_to_sockaddr(to, &ss, &sslen);
        if (connect(r->fd, (struct sockaddr *)&ss, sslen) < 0) {
            sock_error(r, errno, "cannot send to");
            return false;
        }
        floe_rt_local_addr(r->fd, &r->local);
        r->interest = FLOE_RT_READ;
        if (r->o->transport != FLOE_TRANSPORT_DTLS) {
            r->ph = PH_READY;
            return floe_rt_loop_watch(r->loop, r->fd, FLOE_RT_READ, udp_readable, r) == FLOE_OK;
        }
        char host[256];
        server_name(r, host, sizeof host);
        int rc = floe_rt_dtls_new_client(&r->dtls, r->tls_ctx, r->fd, host);
        if (rc != FLOE_OK) {
            fail(r, "cannot set up DTLS: %s", floe_strerror(rc));
            return false;
        }
        r->ph = PH_HANDSHAKE;
        if (floe_rt_loop_watch(r->loop, r->fd, FLOE_RT_READ, dtls_readable, r) != FLOE_OK)
            return false;
        dtls_step(r); /* the ClientHello */
        return !r->broken;
    }
    if (floe_rt_tcp_connect(to, &r->s.fd) != FLOE_OK) {
        r->s.fd = -1;
        sock_error(r, errno, "cannot connect to");
        return false;
    }
    r->ph = PH_CONNECTING;
    r->interest = FLOE_RT_WRITE;
    return floe_rt_loop_watch(r->loop, r->s.fd, FLOE_RT_WRITE, stream_io, r) == FLOE_OK;
}

/* ---- RFC 6062: the data connection ------------------------------------------------- */

static void data_set_interest(run *r, uint32_t want) {
    if (r->d.fd >= 0 && want != r->dinterest) {
        floe_rt_loop_modify(r->loop, r->d.fd, want);
        r->dinterest = want;
    }
}

/* The data connection cannot go on: say why, close it, release the allocation. */
static void data_failed(run *r, floe_time_ns now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void data_failed(run *r, floe_time_ns now, const char *fmt, ...) {
    if (!r->failed) {
        r->failed = true;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof r->msg, fmt, ap);
        va_end(ap);
    }
    r->activity++;
    begin_close(r, now); /* closes the data connection too */
}

/* The peer's bytes: cut into records of --size bytes, each checked like a datagram. */
static void data_bytes(run *r, const uint8_t *p, size_t len) {
    floe_time_ns now = floe_rt_now();
    while (len > 0) {
        size_t take = r->o->size - r->rec_len;
        if (take > len) take = len;
        memcpy(r->rec + r->rec_len, p, take);
        r->rec_len += take;
        p += take;
        len -= take;
        if (r->rec_len == r->o->size) {
            floe_turn_data d = {.peer = r->peer, .p = r->rec, .len = r->rec_len};
            on_data(r, now, &d);
            r->rec_len = 0;
            r->activity++;
        }
    }
}

/* One message from the data connection before it is bound (the ConnectionBind answer),
 * or raw bytes after. */
static void data_frame(void *arg, const uint8_t *p, size_t len) {
    run *r = arg;
    if (r->d.raw) {
        data_bytes(r, p, len);
        return;
    }
    floe_turn_client_conn_on_recv(r->c, floe_rt_now(), r->conn_id, p, len);
    r->activity++;
    /* RFC 6062 §4.3: from the byte after the success on, the peer's bytes, unframed. */
    if (floe_turn_client_conn(r->c, r->conn_id, NULL) == FLOE_TURN_CONN_BOUND) r->d.raw = true;
}

static void data_io(void *arg, int fd, uint32_t events) {
    (void)events;
    run *r = arg;
    floe_time_ns now = floe_rt_now();
    floe_cli_addr_text srv = floe_cli_addr(&r->connected);
    bool was_ready = r->dph == PH_READY;
    if (r->dph == PH_CONNECTING) {
        int rc = floe_rt_tcp_connect_result(fd);
        if (rc == FLOE_ERR_STATE) return;
        if (rc != FLOE_OK) {
            data_failed(r, now, "cannot open the data connection to %s: %s", srv.s,
                        strerror(errno));
            return;
        }
        floe_rt_local_addr(fd, &r->dlocal);
        if (r->o->transport == FLOE_TRANSPORT_TLS) {
            char host[256];
            server_name(r, host, sizeof host);
            rc = floe_rt_tls_new_client(&r->d.tls, r->tls_ctx, fd, host);
            if (rc != FLOE_OK) {
                data_failed(r, now, "cannot set up TLS on the data connection: %s",
                            floe_strerror(rc));
                return;
            }
            r->dph = PH_HANDSHAKE;
        } else {
            r->dph = PH_READY;
        }
    }
    if (r->dph == PH_HANDSHAKE) {
        floe_rt_tls_want want;
        if (floe_rt_tls_handshake(r->d.tls, &want) != FLOE_OK) {
            data_failed(r, now, "TLS on the data connection to %s failed: %s", srv.s,
                        floe_rt_tls_error(r->d.tls));
            return;
        }
        if (want != FLOE_RT_TLS_DONE) {
            data_set_interest(r, want == FLOE_RT_TLS_WANT_WRITE ? FLOE_RT_WRITE : FLOE_RT_READ);
            return;
        }
        r->dph = PH_READY;
    }
    if (!was_ready) {
        /* Connected: the core queues the ConnectionBind, drain_sends writes it. */
        progress("data connection %s -> %s open: ConnectionBind for connection 0x%08x",
                 floe_cli_addr(&r->dlocal).s, srv.s, r->conn_id);
        if (floe_turn_client_conn_opened(r->c, now, r->conn_id) != FLOE_OK) {
            data_failed(r, now, "connection 0x%08x is gone before its data connection opened",
                        r->conn_id);
            return;
        }
        r->activity++;
    }
    int flushed = floe_rt_stream_flush(&r->d);
    if (flushed < 0) {
        data_failed(r, now, "writing to the data connection to %s failed: %s", srv.s,
                    flushed == FLOE_ERR_TLS ? floe_rt_tls_error(r->d.tls) : strerror(errno));
        return;
    }
    if (r->tx_blocked && r->d.out_len < STREAM_OUT_MAX / 2) {
        r->tx_blocked = false; /* room again for the next records */
        r->activity++;
    }
    int rd = floe_rt_stream_read(&r->d, floe_stun_frame_len, data_frame, r);
    if (r->d.fd < 0) return; /* the callback ended it */
    if (rd == 0) {
        bool done = r->finished_exchange || r->closing;
        if (!done)
            data_failed(r, now, "the data connection ended (%s) after %u of %u records came back",
                        r->bound ? "the peer or the server closed it"
                                 : "closed before ConnectionBind",
                        r->echoed, r->o->count);
        else
            close_data(r, now);
        return;
    }
    if (rd < 0) {
        if (rd == FLOE_ERR_MALFORMED || rd == FLOE_ERR_NOSPACE)
            data_failed(r, now,
                        "%s sent something that is not STUN on the data connection before "
                        "ConnectionBind succeeded",
                        srv.s);
        else
            data_failed(r, now, "reading the data connection from %s failed: %s", srv.s,
                        rd == FLOE_ERR_TLS ? floe_rt_tls_error(r->d.tls) : strerror(errno));
        return;
    }
    uint32_t want = (uint32_t)flushed | (uint32_t)rd | FLOE_RT_READ;
    if (r->d.out_len > 0) want |= FLOE_RT_WRITE;
    data_set_interest(r, want);
}

/* Opens the data connection for conn_id, to the server the control connection goes to
 * (RFC 6062 §4.3). */
static void open_data(run *r, floe_time_ns now) {
    floe_addr srv = floe_turn_client_server(r->c);
    if (floe_rt_tcp_connect(&srv, &r->d.fd) != FLOE_OK) {
        r->d.fd = -1;
        data_failed(r, now, "cannot open a data connection to %s: %s", floe_cli_addr(&srv).s,
                    strerror(errno));
        return;
    }
    r->dph = PH_CONNECTING;
    r->dinterest = FLOE_RT_WRITE;
    if (floe_rt_loop_watch(r->loop, r->d.fd, FLOE_RT_WRITE, data_io, r) != FLOE_OK) {
        close(r->d.fd);
        r->d.fd = -1;
        data_failed(r, now, "cannot watch the data connection: %s", strerror(errno));
    }
}

/* Sends one message to the server: at once over UDP and DTLS (one record; lost when the
 * socket is full, like a datagram), queued on a stream. */
static bool transmit(run *r, const uint8_t *p, size_t len) {
    if (r->dtls) {
        floe_rt_tls_want want;
        int n = floe_rt_dtls_write(r->dtls, p, len, &want);
        if (n == FLOE_ERR_LIMIT)
            fail(r, "a message of %zu bytes does not fit in one DTLS record", len);
        else if (n < 0)
            dtls_error(r, errno, "DTLS connection with");
        return true;
    }
    if (!r->stream) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            sock_error(r, errno, "cannot send to");
        return true;
    }
    return floe_rt_stream_queue(&r->s, p, len) == FLOE_OK;
}

/* Step 3 of the loop: the client's requests. A request for another server than the
 * socket's (after a 300 redirect) moves the socket first. */
static void drain_sends(run *r, floe_time_ns now) {
    uint8_t buf[FLOE_TURN_MAX_REQUEST];
    size_t len;
    floe_addr to;
    while (!r->broken && r->ph == PH_READY &&
           floe_turn_client_next_send(r->c, now, buf, sizeof buf, &len, &to) == FLOE_OK) {
        r->requests++;
        r->activity++;
        if (!floe_addr_equal(&to, &r->connected)) {
            if (to.family != r->connected.family && !r->stream) {
                fail(r, "redirected to %s, of another address family", floe_cli_addr(&to).s);
                r->broken = true;
                return;
            }
            close_socket(r);
            if (!open_socket(r, &to)) return;
            if (r->stream) { /* the request waits in the buffer for the connection */
                transmit(r, buf, len);
                return;
            }
            if (r->ph == PH_HANDSHAKE) { /* DTLS: it waits for the handshake */
                memcpy(r->pending, buf, len);
                r->pending_len = len;
                return;
            }
        }
        transmit(r, buf, len);
    }
    if (r->stream && r->ph == PH_READY && r->s.out_len > 0 && !r->broken)
        stream_io(r, r->s.fd, FLOE_RT_WRITE);
    /* RFC 6062: the ConnectionBind goes on the data connection it names. */
    uint32_t id = 0;
    while (floe_turn_client_conn_next_send(r->c, now, buf, sizeof buf, &len, &id) == FLOE_OK) {
        r->requests++;
        r->activity++;
        if (!r->have_conn || id != r->conn_id || r->dph != PH_READY) continue; /* not ours */
        if (floe_rt_stream_queue(&r->d, buf, len) != FLOE_OK) {
            data_failed(r, now, "the data connection's queue is full");
            return;
        }
    }
    if (r->d.fd >= 0 && r->dph == PH_READY && r->d.out_len > 0) data_io(r, r->d.fd, FLOE_RT_WRITE);
}

/* ---- the peer exchange ---------------------------------------------------------------- */

static void start_peer(run *r, floe_time_ns now) {
    const turn_opts *o = r->o;
    int rc = o->channel ? floe_turn_client_bind_channel(r->c, now, &o->peer, &r->channel)
                        : floe_turn_client_permit(r->c, now, &o->peer);
    if (rc != FLOE_OK) {
        fail(r, "cannot %s %s: %s", o->channel ? "bind a channel to" : "permit",
             floe_cli_addr(&o->peer).s,
             rc == FLOE_ERR_UNSUPPORTED ? "the allocation has no relayed address of its family"
                                        : floe_strerror(rc));
        begin_close(r, now);
    }
}

/* RFC 6062, once the TCP allocation is up: Connect to the peer, or permit it and wait. */
static void start_tcp(run *r, floe_time_ns now) {
    const turn_opts *o = r->o;
    floe_cli_addr_text peer = floe_cli_addr(&o->peer);
    int rc;
    if (o->tcp == TCP_CONNECT) {
        rc = floe_turn_client_connect(r->c, now, &o->peer);
        if (rc == FLOE_OK)
            progress("asking %s to connect to %s from %s (Connect)", floe_cli_addr(&r->connected).s,
                     peer.s, floe_cli_addr(&r->alloc.relayed[0]).s);
    } else {
        rc = floe_turn_client_permit(r->c, now, &o->peer);
    }
    if (rc != FLOE_OK) {
        fail(r, "cannot %s %s: %s", o->tcp == TCP_CONNECT ? "connect to" : "permit", peer.s,
             rc == FLOE_ERR_UNSUPPORTED ? "the allocation has no relayed address of its family"
                                        : floe_strerror(rc));
        begin_close(r, now);
    }
}

static void exchange(run *r, floe_time_ns now) {
    const turn_opts *o = r->o;
    if (!r->exchanging || r->failed || r->closing) return;
    static uint8_t payload[SIZE_MAX_CLI], wire[SIZE_MAX_CLI + 64];
    while (r->sent < o->count && now >= r->next_at) {
        memset(payload, 0x5a, o->size);
        floe_put_u32(payload, PAYLOAD_MAGIC);
        floe_put_u32(payload + 4, r->sent);
        floe_put_u32(payload + 8, (uint32_t)(now >> 32));
        floe_put_u32(payload + 12, (uint32_t)now);
        if (o->tcp) { /* RFC 6062: the record as it is, on the data connection */
            if (floe_rt_stream_queue(&r->d, payload, o->size) != FLOE_OK) {
                r->tx_blocked = true; /* later, when the socket has taken some */
                break;
            }
        } else {
            size_t len = 0;
            int rc =
                floe_turn_client_send(r->c, &o->peer, payload, o->size, wire, sizeof wire, &len);
            if (rc != FLOE_OK) {
                fail(r, "cannot send to %s through the relay: %s", floe_cli_addr(&o->peer).s,
                     floe_strerror(rc));
                return;
            }
            if (!transmit(r, wire, len)) break; /* the stream is full: later */
        }
        r->sent++;
        r->activity++;
        r->next_at = o->interval_ms ? now + FLOE_MS(o->interval_ms) : now;
    }
    if (r->stream && r->s.out_len > 0) stream_io(r, r->s.fd, FLOE_RT_WRITE);
    if (o->tcp && r->d.fd >= 0 && r->d.out_len > 0) data_io(r, r->d.fd, FLOE_RT_WRITE);
    if (r->closing) return; /* the data connection failed */
    if (r->sent == o->count && !r->echo_deadline)
        r->echo_deadline = now + (o->timeout_set ? o->timeout : ECHO_WAIT_DEFAULT);
    if (r->echoed == o->count || (r->echo_deadline && now >= r->echo_deadline)) {
        r->finished_exchange = true;
        progress("%u of %u %s came back from %s", r->echoed, o->count,
                 o->tcp ? "records" : "datagrams", floe_cli_addr(&r->peer).s);
        begin_close(r, now);
    }
}

/* ---- events ------------------------------------------------------------------------- */

static void describe_failure(run *r, const floe_turn_event *ev, const char *what) {
    floe_cli_addr_text srv = floe_cli_addr(&ev->server);
    if (ev->error_code == FLOE_STUN_ERR_UNAUTHORIZED && ev->err == FLOE_ERR_AUTH &&
        (r->o->user || r->o->secret) && !strstr(ev->reason, "realm"))
        fail(r, "%s: %s rejected the credentials (401 %s): wrong %s?", what, srv.s,
             ev->reason[0] ? ev->reason : "Unauthorized",
             r->o->secret ? "secret" : "username or password");
    else if (ev->error_code)
        fail(r, "%s: %s answered %d (%s)", what, srv.s, ev->error_code,
             ev->reason[0] ? ev->reason : floe_stun_error_reason(ev->error_code));
    else
        fail(r, "%s: %s", what, ev->reason[0] ? ev->reason : floe_strerror(ev->err));
}

static void drain_events(run *r, floe_time_ns now) {
    floe_turn_event ev;
    while (floe_turn_client_next_event(r->c, &ev)) {
        r->activity++;
        switch (ev.type) {
        case FLOE_TURN_EV_ALLOCATED:
            r->allocated = true;
            r->alloc = ev;
            progress("allocated %s on %s over %s (lifetime %u s)", floe_cli_addr(&ev.relayed[0]).s,
                     floe_cli_addr(&ev.server).s, r->tname, (unsigned)ev.lifetime_s);
            if (ev.address_error_code)
                progress("no IPv%d relayed address: %d (%s)",
                         ev.address_error_family == FLOE_AF_INET6 ? 6 : 4, ev.address_error_code,
                         ev.reason);
            if (r->o->have_peer)
                start_peer(r, now);
            else if (r->o->tcp)
                start_tcp(r, now);
            else
                begin_close(r, now);
            break;
        case FLOE_TURN_EV_REDIRECTED:
            progress("redirected to %s (300 ALTERNATE-SERVER)", floe_cli_addr(&ev.server).s);
            break;
        case FLOE_TURN_EV_REFRESHED:
            progress("allocation refreshed (lifetime %u s)", (unsigned)ev.lifetime_s);
            break;
        case FLOE_TURN_EV_PERMISSION_UP:
        case FLOE_TURN_EV_CHANNEL_BOUND:
            if (ev.type == FLOE_TURN_EV_CHANNEL_BOUND)
                progress("channel 0x%04x bound to %s", ev.channel, floe_cli_addr(&ev.peer).s);
            else
                progress("permission for %s installed",
                         ev.peer.port ? floe_cli_addr(&ev.peer).s : ip_text(&ev.peer).s);
            if (r->o->have_peer && floe_addr_equal(&ev.peer, &r->o->peer) &&
                (r->o->channel == (ev.type == FLOE_TURN_EV_CHANNEL_BOUND)) && !r->exchanging) {
                r->exchanging = true;
                r->next_at = now;
            }
            if (r->o->tcp == TCP_ACCEPT && ev.type == FLOE_TURN_EV_PERMISSION_UP &&
                !r->waiting_peer && !r->have_conn && !r->closing) {
                r->waiting_peer = true;
                r->accept_deadline =
                    now + (r->o->timeout_set ? r->o->timeout : ACCEPT_WAIT_DEFAULT);
                progress("waiting for %s to connect to %s (the relayed address), %.0f s at most",
                         r->o->peer.port ? floe_cli_addr(&r->o->peer).s : ip_text(&r->o->peer).s,
                         floe_cli_addr(&r->alloc.relayed[0]).s,
                         (double)(r->accept_deadline - now) / 1e9);
            }
            break;
        case FLOE_TURN_EV_PERMISSION_FAILED:
        case FLOE_TURN_EV_CHANNEL_FAILED:
            describe_failure(r, &ev,
                             ev.type == FLOE_TURN_EV_CHANNEL_FAILED ? "ChannelBind failed"
                                                                    : "CreatePermission failed");
            begin_close(r, now);
            break;
        case FLOE_TURN_EV_FAILED:
            describe_failure(r, &ev,
                             r->allocated ? "the allocation was lost" : "allocation failed");
            r->done = true;
            break;
        case FLOE_TURN_EV_DEALLOCATED:
            r->deallocated = true;
            r->dealloc_err = ev.err;
            r->dealloc_code = ev.error_code;
            r->done = true;
            break;
        case FLOE_TURN_EV_CONNECTED:
            if (r->o->tcp != TCP_CONNECT || r->have_conn || r->closing ||
                !floe_addr_equal(&ev.peer, &r->o->peer))
                break;
            r->have_conn = true;
            r->conn_id = ev.connection_id;
            r->peer = ev.peer;
            progress("%s connected to %s (connection 0x%08x)", floe_cli_addr(&ev.server).s,
                     floe_cli_addr(&ev.peer).s, ev.connection_id);
            open_data(r, now);
            break;
        case FLOE_TURN_EV_CONNECTION_ATTEMPT: {
            const floe_addr *want = &r->o->peer;
            bool ours = r->o->tcp == TCP_ACCEPT && !r->have_conn && !r->closing &&
                        floe_addr_ip_equal(&ev.peer, want) &&
                        (want->port == 0 || ev.peer.port == want->port);
            if (!ours) { /* declined: the server closes it after 30 s */
                progress("not taking the connection from %s (connection 0x%08x)",
                         floe_cli_addr(&ev.peer).s, ev.connection_id);
                floe_turn_client_conn_closed(r->c, now, ev.connection_id);
                break;
            }
            if (floe_turn_client_accept(r->c, now, ev.connection_id) != FLOE_OK) {
                fail(r, "cannot accept connection 0x%08x", ev.connection_id);
                begin_close(r, now);
                break;
            }
            r->have_conn = true;
            r->waiting_peer = false;
            r->conn_id = ev.connection_id;
            r->peer = ev.peer;
            progress("%s connected to the relayed address (connection 0x%08x): accepting",
                     floe_cli_addr(&ev.peer).s, ev.connection_id);
            open_data(r, now);
            break;
        }
        case FLOE_TURN_EV_CONNECTION_BOUND:
            if (!r->have_conn || ev.connection_id != r->conn_id) break;
            r->bound = true;
            progress("connection 0x%08x bound (ConnectionBind): the data connection now carries "
                     "%s's bytes",
                     ev.connection_id, floe_cli_addr(&ev.peer).s);
            if (!r->exchanging && !r->closing) {
                r->exchanging = true;
                r->next_at = now;
            }
            break;
        case FLOE_TURN_EV_CONNECTION_FAILED: {
            bool ours = r->have_conn ? ev.connection_id == r->conn_id
                                     : r->o->tcp == TCP_CONNECT && ev.connection_id == 0 &&
                                           floe_addr_equal(&ev.peer, &r->o->peer);
            if (!ours) break;
            describe_failure(r, &ev,
                             r->have_conn ? "the data connection failed" : "Connect failed");
            begin_close(r, now);
            break;
        }
        case FLOE_TURN_EV_NONE: break;
        }
    }
}

static void on_signal(void *arg, int signo) {
    run *r = arg;
    r->interrupted = true;
    fail(r, "interrupted by %s", signo == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- output ------------------------------------------------------------------------- */

static void print_result(const run *r) {
    const turn_opts *o = r->o;
    const floe_turn_event *a = &r->alloc;
    floe_cli_addr_text srv = floe_cli_addr(&a->server), rel = floe_cli_addr(&a->relayed[0]),
                       map = floe_cli_addr(&a->mapped), loc = floe_cli_addr(&r->local);
    double avg = r->echoed ? r->rtt_sum / r->echoed : 0;
    if (o->json) {
        printf("{\"server\":\"%s\",\"transport\":\"%s\",\"relay\":\"%s\",\"local\":\"%s\","
               "\"relayed\":\"%s\"",
               srv.s, r->tname, o->tcp ? "tcp" : "udp", loc.s, rel.s);
        if (a->n_relayed > 1) printf(",\"relayed_ipv6\":\"%s\"", floe_cli_addr(&a->relayed[1]).s);
        if (a->address_error_code)
            printf(",\"address_error\":{\"family\":\"ipv%d\",\"code\":%d}",
                   a->address_error_family == FLOE_AF_INET6 ? 6 : 4, a->address_error_code);
        printf(",\"mapped\":\"%s\",\"lifetime\":%u,\"rtt_ms\":%.3f,\"requests\":%u", map.s,
               (unsigned)a->lifetime_s, ms(a->rtt_ns), r->requests);
        if (o->have_peer) {
            printf(",\"peer\":\"%s\",\"via\":\"%s\"", floe_cli_addr(&o->peer).s,
                   o->channel ? "channel" : "send");
            if (o->channel) printf(",\"channel\":%u", r->channel);
            printf(",\"size\":%u,\"sent\":%u,\"echoed\":%u,\"lost\":%u", o->size, r->sent,
                   r->echoed, r->sent - r->echoed);
            if (r->echoed)
                printf(",\"echo_rtt_ms\":{\"min\":%.3f,\"avg\":%.3f,\"max\":%.3f}", r->rtt_min, avg,
                       r->rtt_max);
        }
        if (o->tcp) {
            printf(",\"peer\":\"%s\",\"via\":\"%s\"", floe_cli_addr(&r->peer).s,
                   o->tcp == TCP_CONNECT ? "connect" : "accept");
            if (r->conn_id) printf(",\"connection_id\":%u", (unsigned)r->conn_id);
            if (r->dlocal.family) printf(",\"data_local\":\"%s\"", floe_cli_addr(&r->dlocal).s);
            printf(",\"size\":%u,\"sent\":%u,\"echoed\":%u,\"lost\":%u", o->size, r->sent,
                   r->echoed, r->sent - r->echoed);
            if (r->echoed)
                printf(",\"echo_rtt_ms\":{\"min\":%.3f,\"avg\":%.3f,\"max\":%.3f}", r->rtt_min, avg,
                       r->rtt_max);
        }
        printf(",\"deallocated\":%s}\n",
               r->deallocated && r->dealloc_err == FLOE_OK ? "true" : "false");
        return;
    }
    printf("relayed %s (server %s over %s, lifetime %u s, rtt %.2f ms)\n", rel.s, srv.s, r->tname,
           (unsigned)a->lifetime_s, ms(a->rtt_ns));
    if (a->n_relayed > 1) printf("relayed %s\n", floe_cli_addr(&a->relayed[1]).s);
    printf("mapped %s\n", map.s);
    if (o->have_peer && r->sent) {
        printf("peer %s: %u/%u echoed via ", floe_cli_addr(&o->peer).s, r->echoed, r->sent);
        if (o->channel)
            printf("channel 0x%04x", r->channel);
        else
            printf("Send indications");
        if (r->echoed) printf(" (rtt min/avg/max %.2f/%.2f/%.2f ms)", r->rtt_min, avg, r->rtt_max);
        printf("\n");
    }
    if (o->tcp && r->sent) {
        printf("peer %s: %u/%u echoed over tcp connection 0x%08x (%s)", floe_cli_addr(&r->peer).s,
               r->echoed, r->sent, r->conn_id, o->tcp == TCP_CONNECT ? "Connect" : "accepted");
        if (r->echoed) printf(" (rtt min/avg/max %.2f/%.2f/%.2f ms)", r->rtt_min, avg, r->rtt_max);
        printf("\n");
    }
}

/* ---- main ----------------------------------------------------------------------------- */

static int make_client(run *r, const floe_addr *server, char *user, char *pass) {
    const turn_opts *o = r->o;
    floe_turn_config cfg;
    floe_turn_config_default(&cfg);
    cfg.server = *server;
    cfg.transport = o->transport;
    cfg.rand = floe_rt_random;
    cfg.lifetime = o->lifetime;
    cfg.dual = o->dual;
    cfg.tcp_relay = o->tcp != TCP_NONE; /* RFC 6062 */
    /* The relayed family: the peer's, else IPv4 (RFC 8656 §7.1), whatever the server's. */
    cfg.family = (o->have_peer || o->tcp) && !o->dual ? o->peer.family : FLOE_AF_INET4;
    cfg.realm = o->realm;
    if (o->timeout_set) cfg.timeout = o->timeout;
    if (o->secret) {
        uint64_t expiry = (uint64_t)time(NULL) + REST_VALIDITY_S;
        int rc = floe_turn_rest_credentials(o->secret, o->user, expiry, user,
                                            FLOE_TURN_REST_USER_MAX, pass, FLOE_TURN_REST_PASS_MAX);
        if (rc != FLOE_OK) {
            errorf("cannot derive credentials from --secret: %s", floe_strerror(rc));
            return 1;
        }
        cfg.username = user;
        cfg.password = pass;
    } else if (o->user) {
        cfg.username = o->user;
        cfg.password = o->password;
    }
    int rc = floe_turn_client_new(&r->c, &cfg);
    if (rc != FLOE_OK) {
        errorf("cannot set up the TURN client: %s%s", floe_strerror(rc),
               rc == FLOE_ERR_INVAL ? " (credentials longer than 256 bytes?)" : "");
        return 1;
    }
    return 0;
}

static int run_turn(const turn_opts *o) {
    bool secure = o->transport == FLOE_TRANSPORT_TLS || o->transport == FLOE_TRANSPORT_DTLS;
    uint16_t port = secure ? FLOE_TURNS_PORT : FLOE_TURN_PORT;
    floe_addr addrs[MAX_ADDRS];
    size_t n = 0;
    int rc = floe_rt_resolve(o->target, port, o->family, addrs, MAX_ADDRS, &n);
    if (rc == FLOE_OK && addrs[0].port == 0) rc = FLOE_ERR_ADDR;
    if (rc != FLOE_OK) {
        if (rc == FLOE_ERR_ADDR)
            errorf("bad server address '%s' (expected HOST[:PORT], port 1-65535)", o->target);
        else
            errorf("cannot resolve '%s': %s", o->target, floe_strerror(rc));
        return 1;
    }
    static run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.tname = floe_transport_name(o->transport);
    r.stream = floe_transport_reliable(o->transport);
    r.fd = -1;
    floe_rt_stream_init(&r.s, NULL, 0, NULL, 0);
    floe_rt_stream_init(&r.d, NULL, 0, NULL, 0);
    r.peer = o->peer;
    int status = 1;
    char user[FLOE_TURN_REST_USER_MAX], pass[FLOE_TURN_REST_PASS_MAX];
    if (o->have_peer || o->tcp) {
        r.seen = calloc(1, (o->count + 7) / 8);
        if (!r.seen) {
            errorf("out of memory");
            return 1;
        }
    }
    if (o->tcp) {
        uint8_t *in = malloc(DATA_IN_MAX), *out = malloc(STREAM_OUT_MAX);
        floe_rt_stream_init(&r.d, in, DATA_IN_MAX, out, STREAM_OUT_MAX);
        if (!in || !out) {
            errorf("out of memory");
            goto out;
        }
    }
    if (r.stream) {
        uint8_t *in = malloc(STREAM_IN_MAX), *out = malloc(STREAM_OUT_MAX);
        floe_rt_stream_init(&r.s, in, STREAM_IN_MAX, out, STREAM_OUT_MAX);
        if (!in || !out) {
            errorf("out of memory");
            goto out;
        }
    }
    if (secure) {
        char err[512] = "";
        if (o->insecure)
            fprintf(stderr, "floe " SUB
                            ": warning: --insecure: the server's certificate is not verified\n");
        const char *ca = o->insecure ? NULL : o->ca;
        rc = o->transport == FLOE_TRANSPORT_DTLS
                 ? floe_rt_dtls_ctx_new_client(&r.tls_ctx, ca, !o->insecure, err, sizeof err)
                 : floe_rt_tls_ctx_new_client(&r.tls_ctx, ca, !o->insecure, err, sizeof err);
        if (rc != FLOE_OK) {
            errorf("cannot set up %s: %s", o->transport == FLOE_TRANSPORT_DTLS ? "DTLS" : "TLS",
                   err[0] ? err : "unknown error");
            goto out;
        }
    }
    if (floe_rt_loop_new(&r.loop) != FLOE_OK) {
        errorf("cannot create the event loop: %s", strerror(errno));
        goto out;
    }
    floe_rt_loop_on_signal(r.loop, SIGINT, on_signal, &r);
    floe_rt_loop_on_signal(r.loop, SIGTERM, on_signal, &r);
    if (make_client(&r, &addrs[0], user, pass)) goto out;
    r.alloc.server = r.first = addrs[0];
    r.t0 = floe_rt_now();
    r.connect_deadline = r.t0 + (o->timeout_set ? o->timeout : FLOE_STUN_TI);
    if (!open_socket(&r, &addrs[0])) {
        errorf("%s", r.msg);
        goto out;
    }
    while (!r.done) {
        floe_time_ns now = floe_rt_now();
        /* The DTLS handshake's flights are retransmitted on its own timer. */
        if (r.dtls && r.ph == PH_HANDSHAKE && !r.broken && floe_rt_dtls_timeout(r.dtls) == 0)
            dtls_step(&r);
        if (r.broken) { /* what arrived before the end still counts */
            if (r.started) drain_events(&r, now);
            break;
        }
        if (r.failed && !r.allocated) break;
        if (r.failed && !r.closing && !r.deallocated) begin_close(&r, now);
        if (!r.started && r.ph == PH_READY) {
            if (floe_turn_client_allocate(r.c, now) != FLOE_OK) {
                fail(&r, "cannot start the allocation");
                break;
            }
            r.started = true;
        }
        if (!r.started && now >= r.connect_deadline) {
            fail(&r, "%s with %s over %s timed out after %.1f s",
                 r.ph != PH_HANDSHAKE ? "connecting"
                 : r.dtls             ? "DTLS handshake"
                                      : "TLS handshake",
                 floe_cli_addr(&r.connected).s, r.tname, (double)(now - r.t0) / 1e9);
            break;
        }
        if (r.started) {
            floe_turn_client_tick(r.c, now);
            /* Events lead to requests (a permission after the allocation, a deallocation
             * after the last echo): go round until nothing moves. */
            for (int round = 0; round < 16; round++) {
                unsigned before = r.activity;
                drain_sends(&r, now);
                drain_events(&r, now);
                exchange(&r, now);
                if (r.activity == before) break;
            }
            if (r.waiting_peer && !r.have_conn && !r.closing && now >= r.accept_deadline) {
                fail(&r, "no TCP connection from %s to %s within %.0f s",
                     o->peer.port ? floe_cli_addr(&o->peer).s : ip_text(&o->peer).s,
                     floe_cli_addr(&r.alloc.relayed[0]).s,
                     (double)(o->timeout_set ? o->timeout : ACCEPT_WAIT_DEFAULT) / 1e9);
                begin_close(&r, now);
                continue;
            }
        }
        if (r.done) break;
        if (r.closing && now >= r.close_deadline) {
            progress("the server did not confirm the deallocation within %.0f s",
                     (double)DEALLOC_WAIT / 1e9);
            break;
        }
        floe_time_ns until = r.started ? floe_turn_client_deadline(r.c) : r.connect_deadline;
        if (r.waiting_peer && !r.have_conn && !r.closing && r.accept_deadline < until)
            until = r.accept_deadline;
        if (r.exchanging && !r.closing) {
            if (r.sent < o->count && !r.tx_blocked && r.next_at < until) until = r.next_at;
            if (r.echo_deadline && r.echo_deadline < until) until = r.echo_deadline;
        }
        if (r.closing && r.close_deadline < until) until = r.close_deadline;
        if (r.dtls && r.ph == PH_HANDSHAKE) {
            floe_time_ns left = floe_rt_dtls_timeout(r.dtls);
            if (left != FLOE_TIME_NEVER && now + left < until) until = now + left;
        }
        now = floe_rt_now();
        if (floe_rt_loop_run_once(r.loop, until > now ? until - now : 0) < 0) {
            fail(&r, "event loop failed: %s", strerror(errno));
            break;
        }
    }
    if (r.failed) {
        if (r.allocated) print_result(&r);
        fflush(stdout);
        errorf("%s", r.msg);
        goto out;
    }
    if (!r.allocated) {
        errorf("no allocation");
        goto out;
    }
    print_result(&r);
    if (r.deallocated && r.dealloc_err != FLOE_OK)
        progress("deallocation: %s%s", r.dealloc_code ? floe_stun_error_reason(r.dealloc_code) : "",
                 r.dealloc_code ? "" : floe_strerror(r.dealloc_err));
    status = fflush(stdout) == 0 ? 0 : 1;
    if ((o->have_peer || o->tcp) && r.echoed < o->count) {
        errorf("%u of %u %s did not come back", o->count - r.echoed, o->count,
               o->tcp ? "records" : "datagrams");
        status = 1;
    }
out:
    close_socket(&r);
    floe_turn_client_free(r.c);
    floe_rt_loop_free(r.loop);
    floe_rt_tls_ctx_free(r.tls_ctx);
    free(r.seen);
    free(r.s.in);
    free(r.s.out);
    free(r.d.in);
    free(r.d.out);
    return status;
}

int floe_cmd_turn(int argc, char **argv) {
    turn_opts o;
    bool help;
    int rc = parse_opts(argc, argv, &o, &help);
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (rc) return rc;
    floe_rt_ignore_sigpipe();
    return run_turn(&o);
}
