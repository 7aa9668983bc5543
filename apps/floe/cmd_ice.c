/* `floe ice`: one ICE peer (RFC 8445) for scripts and interop tests. Candidates and credentials
 * travel in SDP files: ours is written when gathering is done, the peer's is waited for and read.
 * The protocol work is floe_ice_agent (sans-IO) and the SDP module; this file owns the sockets, the
 * epoll loop, the clock, the files and the output. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/ice.h"
#include "ice_peer.h"
#include "ice_opts.h"
#include "ice_streams.h"
#include "rt_ifaddrs.h"
#include "rt_loop.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tls.h"
#include "rt_udp.h"

#define SUB "ice"
#define RX_BATCH 32
#define RX_SIZE 2048  /* a datagram of --size at most DATA_MAX, or any check, fits */
#define RX_ROUNDS 8   /* batches per readiness event before yielding to the loop */
#define DATA_MIN 12   /* the RTP-like header of a test datagram */
#define DATA_MAX 1400 /* fits an Ethernet MTU over IPv6 */
#define COUNT_MAX 10000000u
#define POLL_EVERY FLOE_MS(20)   /* the remote SDP file is looked for this often */
#define PUMP_EVERY FLOE_MS(5)    /* --count: the sender looks at its window this often */
#define WINDOW 32                /* --count: datagrams in flight at most */
#define STALL_AFTER FLOE_MS(500) /* --count: in-flight datagrams count as lost after this */
#define DRAIN_FOR FLOE_MS(1000)  /* --count: wait this long for the last echoes */
#define LINGER_FOR FLOE_MS(300)  /* no --count/--echo: keep answering checks a moment */
#define BYE_COPIES 3             /* "BYE" goes out this many times (UDP may lose one) */
#define ECHO_QUEUE 256           /* --echo: datagrams held until the pair is selected */
#define TIMEOUT_DEFAULT_S 30.0

static const char help_text[] =
    "usage: floe ice --role controlling|controlled --local-sdp FILE --remote-sdp FILE\n"
    "                [options]\n"
    "\n"
    "Runs one ICE agent (RFC 8445) over UDP: gathers candidates, writes them with its\n"
    "credentials as an SDP offer or answer to --local-sdp, waits for the peer's SDP in\n"
    "--remote-sdp, runs connectivity checks and reports the selected pair of each\n"
    "component. Two such peers, or this one and any peer that reads and writes the same\n"
    "files, find a path between them. Optionally it then exchanges test datagrams.\n"
    "\n"
    "options:\n"
    "  --role controlling|controlled  the ICE role (RFC 8445 section 6.1.1; the offerer\n"
    "                           is usually controlling). Required unless --lite.\n"
    "  --local-sdp FILE         where to write our SDP when gathering is done (written\n"
    "                           to FILE.tmp.PID, then renamed: never seen half-written;\n"
    "                           an old FILE is removed at start).\n"
    "  --remote-sdp FILE        the peer's SDP: waited for until it exists (bounded by\n"
    "                           --timeout), then read.\n"
    "                             floe ice --role controlling --loopback \\\n"
    "                               --local-sdp a.sdp --remote-sdp b.sdp\n"
    "  --loopback               gather on the loopback addresses only (127.0.0.1, ::1).\n"
    "  --local-addr IP          gather on this local address (repeatable). Default: every\n"
    "                           address of every interface that is up, except loopback\n"
    "                           and link-local ones.\n"
    "  --ipv4, --ipv6           gather on addresses of this family only.\n"
    "  --prefer-iface NAME      prefer candidates of interface NAME (repeatable, most\n"
    "                           preferred first), e.g. a VPN: --prefer-iface wg0.\n"
    "  --stun HOST[:PORT]       a STUN server for server-reflexive candidates\n"
    "                           (repeatable; port 3478 by default).\n"
    "  --turn SERVER            a TURN server for relayed candidates (repeatable up to 2),\n"
    "                           with --turn-user NAME and --turn-password PASSWORD\n"
    "                           (long-term credentials). SERVER is HOST[:PORT] (UDP, port\n"
    "                           3478 by default) or an RFC 7065 URI: turn:HOST[:PORT]\n"
    "                           [?transport=udp|tcp], or turns:HOST[:PORT] for TLS (port\n"
    "                           5349 by default). Over TCP or TLS the allocation lives on a\n"
    "                           connection of its own, for networks that let no UDP out:\n"
    "                             floe ice --turn 192.0.2.1 --turn-user alice \\\n"
    "                               --turn-password secret --local-sdp a.sdp ...\n"
    "                             floe ice --turn 'turn:192.0.2.1?transport=tcp' ...\n"
    "  --turn-ca FILE           turns: trust the CA certificates in this PEM file instead of\n"
    "                           the system's.\n"
    "  --turn-insecure          turns: do not verify the server's certificate (tests only).\n"
    "  --components 1|2         components of the media stream (2: RTP and RTCP).\n"
    "  --lite                   act as an ICE-lite agent (RFC 8445 section 2.5): host\n"
    "                           candidates, no checks of its own, always controlled.\n"
    "  --ta MS                  pacing of checks (Ta, RFC 8445 section 14.2): 5 to 1000,\n"
    "                           default 50. Announced in the SDP as a=ice-pacing when\n"
    "                           not 50; both peers then use the larger of the two\n"
    "                           values, a peer that announces none counting as 50\n"
    "                           (RFC 8839 section 5.5).\n"
    "  --timeout SEC            give up after SEC seconds in all (default 30).\n"
    "  --count N --size B       once ICE completes, send N datagrams of B bytes (12 to\n"
    "                           1400, default 172) on component 1 and count their\n"
    "                           echoes. Each starts with 0x80 and a sequence number, like\n"
    "                           RTP, so it is never taken for STUN; at most 32 are in\n"
    "                           flight. Then \"BYE\" is sent.\n"
    "                             floe ice --role controlling --loopback --count 1000 \\\n"
    "                               --size 200 --local-sdp a.sdp --remote-sdp b.sdp\n"
    "  --echo                   once ICE completes, send every datagram back until one\n"
    "                           that reads \"BYE\" arrives.\n"
    "  --json                   print one JSON object on one line on stdout at exit.\n"
    "  --quiet                  no progress lines on stderr (errors still go there).\n"
    "  -h, --help               show this help.\n"
    "\n"
    "output:\n"
    "  Progress on stderr: candidates, the SDP files, pair states, the selected pairs.\n"
    "  On stdout, e.g.:\n"
    "    ready after 61.8 ms: component 1 host 127.0.0.1:40001 -> host 127.0.0.1:40002\n"
    "  With --json, one line with the keys peer (\"floe\"), state (\"ready\" or \"failed\"),\n"
    "  role (after any role conflict), lite, components, ta_ms (the Ta the checks ran\n"
    "  with, after negotiation), gathering_ms,\n"
    "  remote_sdp_read_ms, selected_pair_ms (milliseconds since the start, null when not\n"
    "  reached), selected (per component: component, local and remote, each {type,\n"
    "  addr}), local_candidates, remote_candidates, checks_sent, datagrams_sent,\n"
    "  datagrams_received, ice (the agent's counters); with --count also count, size,\n"
    "  echoes_received, lost, duplicates; with --echo bye and echo_dropped; error when\n"
    "  failed.\n"
    "\n"
    "exit status: 0 when every component has a selected pair (and, with --count, every\n"
    "echo came back; with --echo, BYE arrived); 1 otherwise (remote SDP missing or\n"
    "unusable, ICE failed, consent lost, timeout); 2 for a usage error.\n";

typedef struct ice_opts {
    bool controlling, role_set, json, quiet, lite, echo;
    floe_ice_opts ice; /* where to gather, which servers (ice_opts.h) */
    unsigned components;
    const char *local_sdp, *remote_sdp;
    const char *prefer[FLOE_ICE_MAX_PREFER_IFACES];
    size_t n_prefer;
    unsigned count, size;
    floe_time_ns ta, timeout;
    double timeout_s;
} ice_opts;

typedef struct peer peer;

typedef struct sock {
    peer *p;
    int fd;
    unsigned base, component;
    floe_addr local;
    char ifname[FLOE_RT_IFNAME_MAX];
} sock;

typedef struct held {
    unsigned component;
    size_t len;
    uint8_t buf[DATA_MAX];
} held;

struct peer {
    ice_opts o;
    floe_rt_loop *loop;
    floe_rt_timer *agent_timer, *poll_timer, *pump_timer, *end_timer, *deadline_timer;
    floe_ice_agent *agent;
    sock socks[FLOE_ICE_MAX_BASES];
    size_t n_socks;
    ice_streams *streams;          /* connections to TURN servers over TCP/TLS */
    floe_ice_opts_servers servers; /* resolved, with the TLS context for turns: servers */
    floe_time_ns t0, t_gathered, t_remote, t_ready; /* 0: not reached */
    bool gathered, remote_read, ready, failed, done, bye, lingering;
    char error[600];
    bool have_sel[FLOE_ICE_MAX_COMPONENTS + 1];
    floe_ice_cand sel_local[FLOE_ICE_MAX_COMPONENTS + 1], sel_remote[FLOE_ICE_MAX_COMPONENTS + 1];
    size_t n_local_cands, n_remote_cands;
    /* counters of this runtime */
    uint64_t dgrams_sent, dgrams_received, echoes, duplicates, send_dropped, echo_dropped;
    /* --count */
    uint8_t *seen; /* one byte per sequence number */
    unsigned next_seq, given_up;
    floe_time_ns last_progress;
    /* --echo, before the pair is selected */
    held queue[ECHO_QUEUE];
    size_t n_queue;
    uint8_t rx[RX_BATCH][RX_SIZE];
    uint8_t tx[FLOE_ICE_SEND_MAX];
    uint8_t data_tx[1400 + 64]; /* a --count datagram, wrapped for a relay */
};

/* ---- messages -------------------------------------------------------------------------------- */

static double ms_since(const peer *p, floe_time_ns t) {
    return (double)(t - p->t0) / 1e6;
}

static void progress(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(peer *p, const char *fmt, ...) {
    if (p->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": [%8.1f ms] ", ms_since(p, floe_rt_now()));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void finish(peer *p) {
    p->done = true;
    if (p->loop) floe_rt_loop_stop(p->loop);
}

/* Records the first failure (one clear line on stderr, even with --quiet) and stops. */
static void fail(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(peer *p, const char *fmt, ...) {
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->error, sizeof p->error, fmt, ap);
        va_end(ap);
        p->failed = true;
        fprintf(stderr, "floe " SUB ": %s\n", p->error);
    }
    finish(p);
}

/* ---- option parsing -------------------------------------------------------------------------- */

static int parse_opts(int argc, char **argv, ice_opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->components = 1;
    o->timeout_s = TIMEOUT_DEFAULT_S;
    *help = false;
    bool size_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (floe_ice_opts_arg(SUB, argc, argv, &i, &o->ice, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(a, "--lite")) {
            o->lite = true;
        } else if (!strcmp(a, "--echo")) {
            o->echo = true;
        } else if (floe_cli_value(argc, argv, &i, "--role", &v)) {
            if (v && !strcmp(v, "controlling"))
                o->controlling = true;
            else if (v && !strcmp(v, "controlled"))
                o->controlling = false;
            else
                return floe_usage_error(SUB, "--role needs controlling or controlled");
            o->role_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--local-sdp", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--local-sdp needs a file name");
            o->local_sdp = v;
        } else if (floe_cli_value(argc, argv, &i, "--remote-sdp", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--remote-sdp needs a file name");
            o->remote_sdp = v;
        } else if (floe_cli_value(argc, argv, &i, "--prefer-iface", &v)) {
            if (!v || !*v || strlen(v) >= FLOE_ICE_IFNAME_MAX)
                return floe_usage_error(SUB, "--prefer-iface needs an interface name (< %d bytes)",
                                        FLOE_ICE_IFNAME_MAX);
            if (o->n_prefer == FLOE_ICE_MAX_PREFER_IFACES)
                return floe_usage_error(SUB, "at most %d --prefer-iface",
                                        FLOE_ICE_MAX_PREFER_IFACES);
            o->prefer[o->n_prefer++] = v;
        } else if (floe_cli_value(argc, argv, &i, "--components", &v)) {
            if (!v || !floe_cli_uint(v, 1, FLOE_ICE_MAX_COMPONENTS, &o->components))
                return floe_usage_error(SUB, "--components needs 1 or 2");
        } else if (floe_cli_value(argc, argv, &i, "--count", &v)) {
            if (!v || !floe_cli_uint(v, 1, COUNT_MAX, &o->count))
                return floe_usage_error(SUB, "--count needs a number of datagrams, 1 to %u",
                                        COUNT_MAX);
        } else if (floe_cli_value(argc, argv, &i, "--size", &v)) {
            if (!v || !floe_cli_uint(v, DATA_MIN, DATA_MAX, &o->size))
                return floe_usage_error(SUB, "--size needs a number of bytes, %d to %d", DATA_MIN,
                                        DATA_MAX);
            size_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--ta", &v)) {
            unsigned ta;
            if (!v || !floe_cli_uint(v, FLOE_ICE_TA_MIN / FLOE_NS_PER_MS,
                                     FLOE_ICE_TA_MAX / FLOE_NS_PER_MS, &ta))
                return floe_usage_error(SUB, "--ta needs milliseconds, %llu to %llu",
                                        (unsigned long long)(FLOE_ICE_TA_MIN / FLOE_NS_PER_MS),
                                        (unsigned long long)(FLOE_ICE_TA_MAX / FLOE_NS_PER_MS));
            o->ta = FLOE_MS(ta);
        } else if (floe_cli_value(argc, argv, &i, "--timeout", &v)) {
            if ((rc = floe_cli_timeout(SUB, v, &o->timeout_s)) != 0) return rc;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        } else {
            return floe_usage_error(SUB, "unexpected argument '%s'", a);
        }
    }
    if (!o->role_set) {
        if (!o->lite) return floe_usage_error(SUB, "missing --role controlling|controlled");
        o->controlling = false;
    }
    if (o->lite && o->controlling)
        return floe_usage_error(SUB, "an ICE-lite agent is always controlled (RFC 8445 "
                                     "section 6.1.1): drop --role controlling or --lite");
    if (!o->local_sdp) return floe_usage_error(SUB, "missing --local-sdp FILE");
    if (!o->remote_sdp) return floe_usage_error(SUB, "missing --remote-sdp FILE");
    if (!strcmp(o->local_sdp, o->remote_sdp))
        return floe_usage_error(SUB, "--local-sdp and --remote-sdp name the same file");
    int crc = floe_ice_opts_check(SUB, &o->ice);
    if (crc) return crc;
    if (o->count && o->echo) return floe_usage_error(SUB, "--count and --echo exclude each other");
    if (o->ice.n_turn && o->lite)
        return floe_usage_error(SUB, "an ICE-lite agent gathers host candidates only: no --turn");
    if (size_set && !o->count) return floe_usage_error(SUB, "--size goes with --count");
    if (o->count && !size_set) o->size = 172; /* 20 ms of PCMU with its RTP header */
    o->timeout = floe_cli_timeout_ns(o->timeout_s);
    return 0;
}

/* ---- sockets and the agent loop -------------------------------------------------------------- */

static sock *sock_of_base(peer *p, unsigned base) {
    for (size_t i = 0; i < p->n_socks; i++)
        if (p->socks[i].base == base) return &p->socks[i];
    return NULL;
}

/* Sends what the agent gave for `base`: on its UDP socket, or on its TURN connection. */
static bool transmit(peer *p, unsigned base, const floe_addr *to, const uint8_t *buf, size_t len) {
    sock *s = sock_of_base(p, base);
    if (s) return floe_rt_udp_send(s->fd, buf, len, to) == 1;
    return ice_streams_send(p->streams, base, buf, len);
}

static void send_data(peer *p, unsigned component, const uint8_t *buf, size_t len, bool *sent);
static void handle_event(peer *p, const floe_ice_event *ev);
static void handle_data(peer *p, unsigned component, const uint8_t *buf, size_t len);

/* Steps 3 to 5 of the loop: drain sends, drain events, re-arm the timer. */
static void service(peer *p) {
    floe_time_ns now = floe_rt_now();
    size_t len;
    unsigned base;
    floe_addr to;
    while (floe_ice_agent_next_send(p->agent, now, p->tx, sizeof p->tx, &len, &base, &to) ==
           FLOE_OK) {
        if (!transmit(p, base, &to, p->tx, len)) p->send_dropped++;
    }
    floe_ice_event ev;
    while (!p->done && floe_ice_agent_next_event(p->agent, &ev))
        handle_event(p, &ev);
    floe_rt_timer_arm(p->agent_timer, floe_ice_agent_deadline(p->agent));
}

static void on_agent_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    peer *p = arg;
    floe_time_ns now = floe_rt_now();
    if (now >= floe_ice_agent_deadline(p->agent)) floe_ice_agent_tick(p->agent, now);
    service(p);
}

/* Step 1: feed every datagram that arrived to the agent. */
static void on_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    sock *s = arg;
    peer *p = s->p;
    floe_rt_dgram d[RX_BATCH];
    for (int round = 0; round < RX_ROUNDS && !p->done; round++) {
        for (size_t i = 0; i < RX_BATCH; i++) {
            d[i].buf = p->rx[i];
            d[i].cap = RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, d, RX_BATCH);
        if (n <= 0) break; /* nothing queued, or an ICMP error: the checks will time out */
        floe_time_ns now = floe_rt_now();
        for (int i = 0; i < n && !p->done; i++) {
            if (d[i].truncated) continue;
            floe_ice_recv_info info;
            memset(&info, 0, sizeof info);
            floe_ice_agent_on_recv(p->agent, now, s->base, &d[i].peer, d[i].buf, d[i].len, &info);
            if (info.kind == FLOE_ICE_RECV_DATA)
                handle_data(p, info.component, info.data, info.len);
        }
        if (n < RX_BATCH) break;
    }
    if (!p->done) service(p);
}

/* ---- local side: addresses, sockets, candidates ---------------------------------------------- */

static int open_host(peer *p, const floe_addr *ip, const char *ifname) {
    for (unsigned c = 1; c <= p->o.components; c++) {
        if (p->n_socks == FLOE_ICE_MAX_BASES) {
            progress(p, "skipping %s: at most %d sockets", floe_cli_addr(ip).s, FLOE_ICE_MAX_BASES);
            return 0;
        }
        sock *s = &p->socks[p->n_socks];
        memset(s, 0, sizeof *s);
        s->p = p;
        s->component = c;
        floe_addr bind_at = *ip;
        bind_at.port = 0;
        int rc = floe_rt_udp_open(&bind_at, 0, &s->fd, &s->local);
        if (rc != FLOE_OK) {
            fail(p, "cannot open a udp socket on %s: %s", floe_cli_addr(ip).s, strerror(errno));
            return 1;
        }
        if (ifname) snprintf(s->ifname, sizeof s->ifname, "%s", ifname);
        rc = floe_ice_agent_add_host(p->agent, 0, c, &s->local, ifname, &s->base);
        if (rc != FLOE_OK) {
            progress(p, "not using %s for component %u: %s", floe_cli_addr(&s->local).s, c,
                     floe_strerror(rc));
            close(s->fd);
            if (rc == FLOE_ERR_LIMIT) return 0;
            continue;
        }
        if (floe_rt_loop_watch(p->loop, s->fd, FLOE_RT_READ, on_readable, s) != FLOE_OK) {
            close(s->fd);
            fail(p, "cannot watch a socket: %s", strerror(errno));
            return 1;
        }
        p->n_socks++;
    }
    return 0;
}

/* Opens the sockets: on --local-addr, or on the interfaces' addresses. */
static int open_sockets(peer *p) {
    floe_rt_ifaddr list[FLOE_ICE_OPTS_MAX_LOCAL];
    size_t n, total;
    char err[256];
    if (floe_ice_opts_local(&p->o.ice, list, FLOE_ICE_OPTS_MAX_LOCAL, &n, &total, err,
                            sizeof err)) {
        fail(p, "%s", err);
        return 1;
    }
    if (total > n) progress(p, "%zu local addresses; using the first %zu", total, n);
    for (size_t i = 0; i < n; i++)
        if (open_host(p, &list[i].addr, list[i].name)) return 1;
    if (p->n_socks == 0) {
        fail(p, "no usable local address to gather on");
        return 1;
    }
    return 0;
}

static int resolve_servers(peer *p, floe_ice_config *cfg) {
    char err[512];
    if (floe_ice_opts_resolve(&p->o.ice, &p->servers, err, sizeof err)) {
        fail(p, "%s", err);
        return 1;
    }
    floe_ice_opts_apply(&p->servers, cfg);
    if (p->servers.tls && p->o.ice.turn_insecure)
        progress(p, "warning: --turn-insecure: the TURN server's certificate is not verified");
    return 0;
}

/* ---- SDP files ------------------------------------------------------------------------------- */

/* Writes text to path through path.tmp.PID and a rename, so that a reader polling for path never
 * sees it half-written. */
static int write_atomically(peer *p, const char *path, const char *text, size_t len) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp) {
        fail(p, "the path %s is too long", path);
        return 1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fail(p, "cannot create %s: %s", tmp, strerror(errno));
        return 1;
    }
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fail(p, "cannot write %s: %s", tmp, strerror(e ? e : errno));
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, path) < 0) {
        fail(p, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

static void write_local_sdp(peer *p) {
    static char text[ICE_PEER_SDP_MAX];
    char err[256];
    size_t len = 0;
    int rc = ice_peer_sdp_write(p->agent, p->o.components, p->o.lite, text, sizeof text, &len, err,
                                sizeof err);
    if (rc != FLOE_OK) {
        fail(p, "cannot build the local SDP: %s", err);
        return;
    }
    if (write_atomically(p, p->o.local_sdp, text, len)) return;
    progress(p, "wrote the local SDP %s (%zu bytes); waiting for %s", p->o.local_sdp, len,
             p->o.remote_sdp);
}

/* Reads and applies the remote SDP once it exists. True when done (either way). */
static bool try_remote_sdp(peer *p) {
    struct stat st;
    if (stat(p->o.remote_sdp, &st) < 0) {
        if (errno == ENOENT) return false;
        fail(p, "cannot read the remote SDP %s: %s", p->o.remote_sdp, strerror(errno));
        return true;
    }
    static char text[ICE_PEER_SDP_MAX];
    FILE *f = fopen(p->o.remote_sdp, "r");
    if (!f) {
        fail(p, "cannot open the remote SDP %s: %s", p->o.remote_sdp, strerror(errno));
        return true;
    }
    size_t len = fread(text, 1, sizeof text, f);
    bool err = ferror(f) != 0, big = len == sizeof text;
    fclose(f);
    if (err) {
        fail(p, "cannot read the remote SDP %s", p->o.remote_sdp);
        return true;
    }
    if (big) {
        fail(p, "the remote SDP %s is larger than %d bytes", p->o.remote_sdp, ICE_PEER_SDP_MAX - 1);
        return true;
    }
    p->remote_read = true;
    p->t_remote = floe_rt_now();
    ice_peer_remote info;
    char why[256];
    if (ice_peer_sdp_apply(p->agent, text, len, p->o.components, &info, why, sizeof why) !=
        FLOE_OK) {
        fail(p, "remote SDP %s: %s", p->o.remote_sdp, why);
        return true;
    }
    p->n_remote_cands = info.candidates;
    progress(p, "read the remote SDP %s: ufrag %s, %zu candidate(s)%s%s", p->o.remote_sdp,
             info.ufrag, info.candidates, info.lite ? ", ice-lite peer" : "",
             info.skipped ? " (some skipped, see above)" : "");
    if (info.peer_pacing_ms)
        progress(p, "  check pacing: Ta %u ms (the peer's a=ice-pacing: %u ms)", info.ta_ms,
                 info.peer_pacing_ms);
    else
        progress(p, "  check pacing: Ta %u ms (no a=ice-pacing from the peer: 50 ms for it)",
                 info.ta_ms);
    for (size_t i = 0; i < info.n_notes; i++)
        progress(p, "  %s", info.notes[i]);
    int rc = floe_ice_agent_start(p->agent, floe_rt_now());
    if (rc != FLOE_OK) {
        fail(p, "cannot start the connectivity checks: %s", floe_strerror(rc));
        return true;
    }
    progress(p, "checks started (%s)",
             floe_ice_agent_is_controlling(p->agent) ? "controlling" : "controlled");
    return true;
}

static void on_poll_timer(void *arg, floe_rt_timer *t) {
    peer *p = arg;
    if (try_remote_sdp(p)) {
        if (!p->done) service(p);
        return;
    }
    floe_rt_timer_arm(t, floe_rt_now() + POLL_EVERY);
}

/* ---- data: --count and --echo ---------------------------------------------------------------- */

/* Sends one datagram on the selected pair of component. *sent says whether it left. */
static void send_data(peer *p, unsigned component, const uint8_t *buf, size_t len, bool *sent) {
    unsigned base;
    floe_addr to;
    size_t n = 0;
    *sent = false;
    /* On a relayed pair the datagram is wrapped for the TURN server. */
    if (floe_ice_agent_send_data(p->agent, floe_rt_now(), 0, component, buf, len, p->data_tx,
                                 sizeof p->data_tx, &n, &base, &to) != FLOE_OK)
        return;
    if (transmit(p, base, &to, p->data_tx, n))
        *sent = true;
    else
        p->send_dropped++;
}

static void send_bye(peer *p) {
    bool sent;
    for (int i = 0; i < BYE_COPIES; i++)
        send_data(p, 1, (const uint8_t *)"BYE", 3, &sent);
    progress(p, "sent BYE");
}

static unsigned in_flight(const peer *p) {
    return p->next_seq - (unsigned)p->echoes - p->given_up;
}

static void pump(peer *p) {
    if (p->done) return;
    floe_time_ns now = floe_rt_now();
    uint8_t buf[DATA_MAX];
    while (p->next_seq < p->o.count && in_flight(p) < WINDOW) {
        uint32_t seq = p->next_seq;
        buf[0] = 0x80; /* RTP version 2: never 0..3, so never taken for STUN (RFC 7983) */
        buf[1] = 0;    /* payload type 0 */
        buf[2] = (uint8_t)(seq >> 8);
        buf[3] = (uint8_t)seq;
        buf[4] = (uint8_t)(seq >> 24); /* the whole 32-bit sequence, in the timestamp field */
        buf[5] = (uint8_t)(seq >> 16);
        buf[6] = (uint8_t)(seq >> 8);
        buf[7] = (uint8_t)seq;
        memcpy(buf + 8, "floe", 4); /* SSRC */
        for (unsigned i = DATA_MIN; i < p->o.size; i++)
            buf[i] = (uint8_t)(seq + i);
        bool sent;
        send_data(p, 1, buf, p->o.size, &sent);
        if (!sent) break; /* socket full, or no consent: the next pump tries again */
        p->dgrams_sent++;
        p->next_seq++;
        p->last_progress = now;
    }
    if (p->echoes == p->o.count) {
        progress(p, "all %u echoes received", p->o.count);
        send_bye(p);
        finish(p);
        return;
    }
    if (p->next_seq < p->o.count) {
        if (in_flight(p) >= WINDOW && now - p->last_progress >= STALL_AFTER) {
            p->given_up += in_flight(p); /* lost, or very late: go on */
            p->last_progress = now;
        }
    } else if (now - p->last_progress >= DRAIN_FOR) {
        progress(p, "%llu of %u echoes received", (unsigned long long)p->echoes, p->o.count);
        send_bye(p);
        finish(p);
    }
}

static void on_pump_timer(void *arg, floe_rt_timer *t) {
    peer *p = arg;
    pump(p);
    if (!p->done) floe_rt_timer_arm(t, floe_rt_now() + PUMP_EVERY);
}

static void echo_back(peer *p, unsigned component, const uint8_t *buf, size_t len) {
    bool sent;
    send_data(p, component, buf, len, &sent);
    if (sent) {
        p->dgrams_sent++;
        return;
    }
    if (p->n_queue == ECHO_QUEUE || len > DATA_MAX) {
        p->echo_dropped++;
        return;
    }
    held *h = &p->queue[p->n_queue++];
    h->component = component;
    h->len = len;
    memcpy(h->buf, buf, len);
}

static void flush_echo_queue(peer *p) {
    size_t n = p->n_queue, kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool sent;
        held *h = &p->queue[i];
        send_data(p, h->component, h->buf, h->len, &sent);
        if (sent)
            p->dgrams_sent++;
        else if (kept != i)
            p->queue[kept++] = *h;
        else
            kept++;
    }
    p->n_queue = kept;
}

static void handle_data(peer *p, unsigned component, const uint8_t *buf, size_t len) {
    if (len == 3 && !memcmp(buf, "BYE", 3)) {
        if (!p->bye) progress(p, "BYE received");
        p->bye = true;
        if (p->o.echo) finish(p);
        return;
    }
    p->dgrams_received++;
    if (p->o.echo) {
        echo_back(p, component, buf, len);
        return;
    }
    if (!p->o.count || !p->seen || component != 1 || len != p->o.size || buf[0] != 0x80) return;
    uint32_t seq = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    if (seq < p->next_seq && !p->seen[seq]) {
        p->seen[seq] = 1;
        p->echoes++;
        p->last_progress = floe_rt_now();
    } else {
        p->duplicates++;
    }
    if (p->echoes == p->o.count || in_flight(p) < WINDOW / 2) pump(p);
}

/* ---- events ---------------------------------------------------------------------------------- */

static void on_end_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    finish(arg);
}

static void on_ready(peer *p) {
    p->ready = true;
    p->t_ready = floe_rt_now();
    progress(p, "completed: every component has a selected pair (%.1f ms)",
             ms_since(p, p->t_ready));
    if (p->o.count) {
        p->seen = calloc(p->o.count, 1);
        if (!p->seen) {
            fail(p, "out of memory for %u sequence numbers", p->o.count);
            return;
        }
        p->last_progress = p->t_ready;
        progress(p, "sending %u datagrams of %u bytes on component 1", p->o.count, p->o.size);
        pump(p);
        if (!p->done) floe_rt_timer_arm(p->pump_timer, floe_rt_now() + PUMP_EVERY);
    } else if (p->o.echo) {
        flush_echo_queue(p);
        progress(p, "echoing until BYE");
    } else {
        p->lingering = true;
        floe_rt_timer_arm(p->end_timer, floe_rt_now() + LINGER_FOR);
    }
}

static void handle_event(peer *p, const floe_ice_event *ev) {
    switch (ev->type) {
    case FLOE_ICE_EV_CANDIDATE:
        p->n_local_cands++;
        progress(p, "candidate %s %s component %u priority %lu",
                 floe_ice_cand_type_name(ev->local.type), floe_cli_addr(&ev->local.addr).s,
                 ev->local.component, (unsigned long)ev->local.priority);
        break;
    case FLOE_ICE_EV_GATHERING_DONE:
        if (p->gathered) break;
        p->gathered = true;
        p->t_gathered = floe_rt_now();
        progress(p, "gathering done (%.1f ms)", ms_since(p, p->t_gathered));
        write_local_sdp(p);
        if (!p->done && !try_remote_sdp(p))
            floe_rt_timer_arm(p->poll_timer, floe_rt_now() + POLL_EVERY);
        break;
    case FLOE_ICE_EV_PAIR_STATE:
        if (ev->pair_state == FLOE_ICE_PAIR_SUCCEEDED || ev->pair_state == FLOE_ICE_PAIR_FAILED)
            progress(p, "pair %u (component %u): %s", ev->pair_id, ev->component,
                     floe_ice_pair_state_name(ev->pair_state));
        break;
    case FLOE_ICE_EV_SELECTED:
        if (ev->component >= 1 && ev->component <= FLOE_ICE_MAX_COMPONENTS) {
            p->have_sel[ev->component] = true;
            p->sel_local[ev->component] = ev->local;
            p->sel_remote[ev->component] = ev->remote;
        }
        progress(p, "selected component %u: %s %s -> %s %s", ev->component,
                 floe_ice_cand_type_name(ev->local.type), floe_cli_addr(&ev->local.addr).s,
                 floe_ice_cand_type_name(ev->remote.type), floe_cli_addr(&ev->remote.addr).s);
        if (p->o.echo) flush_echo_queue(p);
        break;
    case FLOE_ICE_EV_COMPLETED:
        if (!p->ready) on_ready(p);
        break;
    case FLOE_ICE_EV_FAILED:
        fail(p, "ICE failed: %s", ev->reason ? ev->reason : "no reason given");
        break;
    case FLOE_ICE_EV_CONSENT_LOST:
        fail(p, "consent lost on component %u (RFC 7675): the peer stopped answering",
             ev->component);
        break;
    case FLOE_ICE_EV_ROLE_CHANGED:
        progress(p, "role conflict: now %s", ev->controlling ? "controlling" : "controlled");
        break;
    case FLOE_ICE_EV_NONE:
    default: break;
    }
}

static void on_deadline(void *arg, floe_rt_timer *t) {
    (void)t;
    peer *p = arg;
    double s = p->o.timeout_s;
    if (!p->gathered) {
        fail(p, "timed out after %g s while gathering candidates", s);
    } else if (!p->remote_read) {
        fail(p, "timed out after %g s waiting for the remote SDP %s", s, p->o.remote_sdp);
    } else if (!p->ready) {
        floe_ice_stats st;
        floe_ice_agent_get_stats(p->agent, &st);
        fail(p, "ICE did not complete within %g s (state %s, %llu checks sent, %llu received)", s,
             floe_ice_agent_state_name(floe_ice_agent_get_state(p->agent)),
             (unsigned long long)st.checks_sent, (unsigned long long)st.checks_received);
    } else if (p->o.count) {
        fail(p, "timed out after %g s with %llu of %u echoes", s, (unsigned long long)p->echoes,
             p->o.count);
    } else if (p->o.echo) {
        fail(p, "no BYE within %g s", s);
    } else {
        finish(p);
    }
}

static void on_signal(void *arg, int signo) {
    fail(arg, "interrupted by %s", signo == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- output ---------------------------------------------------------------------------------- */

static void json_ms(const peer *p, const char *key, bool reached, floe_time_ns t) {
    if (reached)
        printf(",\"%s\":%.3f", key, ms_since(p, t));
    else
        printf(",\"%s\":null", key);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_cand(const floe_ice_cand *c) {
    printf("{\"type\":\"%s\",\"addr\":\"%s\"}", floe_ice_cand_type_name(c->type),
           floe_cli_addr(&c->addr).s);
}

static void print_json(const peer *p, bool ok) {
    floe_ice_stats st;
    memset(&st, 0, sizeof st);
    if (p->agent) floe_ice_agent_get_stats(p->agent, &st);
    bool controlling = p->agent ? floe_ice_agent_is_controlling(p->agent) : p->o.controlling;
    floe_time_ns ta = p->agent  ? floe_ice_agent_pacing(p->agent)
                      : p->o.ta ? p->o.ta
                                : FLOE_ICE_TA_DEFAULT;
    printf("{\"peer\":\"floe\",\"state\":\"%s\",\"role\":\"%s\",\"lite\":%s,"
           "\"components\":%u,\"ta_ms\":%g",
           ok ? "ready" : "failed", controlling ? "controlling" : "controlled",
           p->o.lite ? "true" : "false", p->o.components, (double)ta / (double)FLOE_NS_PER_MS);
    json_ms(p, "gathering_ms", p->gathered, p->t_gathered);
    json_ms(p, "remote_sdp_read_ms", p->remote_read, p->t_remote);
    json_ms(p, "selected_pair_ms", p->ready, p->t_ready);
    printf(",\"selected\":[");
    bool first = true;
    for (unsigned c = 1; c <= p->o.components; c++) {
        if (!p->have_sel[c]) continue;
        printf("%s{\"component\":%u,\"local\":", first ? "" : ",", c);
        json_cand(&p->sel_local[c]);
        printf(",\"remote\":");
        json_cand(&p->sel_remote[c]);
        printf("}");
        first = false;
    }
    printf("],\"local_candidates\":%zu,\"remote_candidates\":%zu", p->n_local_cands,
           p->n_remote_cands);
    printf(",\"checks_sent\":%llu,\"datagrams_sent\":%llu,\"datagrams_received\":%llu",
           (unsigned long long)st.checks_sent, (unsigned long long)p->dgrams_sent,
           (unsigned long long)p->dgrams_received);
    if (p->o.count)
        printf(",\"count\":%u,\"size\":%u,\"echoes_received\":%llu,\"lost\":%llu,"
               "\"duplicates\":%llu",
               p->o.count, p->o.size, (unsigned long long)p->echoes,
               (unsigned long long)(p->o.count - p->echoes), (unsigned long long)p->duplicates);
    if (p->o.echo)
        printf(",\"bye\":%s,\"echo_dropped\":%llu", p->bye ? "true" : "false",
               (unsigned long long)p->echo_dropped);
    printf(",\"ice\":{");
    for (size_t i = 0; i < FLOE_ICE_STAT_COUNT; i++)
        printf("%s\"%s\":%llu", i ? "," : "", floe_ice_stat_name(i),
               (unsigned long long)floe_ice_stat_value(&st, i));
    printf(",\"send_dropped\":%llu}", (unsigned long long)p->send_dropped);
    if (!ok) {
        printf(",\"error\":");
        json_string(p->error[0] ? p->error : "failed");
    }
    printf("}\n");
}

static void print_text(const peer *p, bool ok) {
    if (!ok) return; /* the error line is on stderr already */
    printf("ready after %.1f ms:", ms_since(p, p->t_ready));
    for (unsigned c = 1; c <= p->o.components; c++)
        if (p->have_sel[c])
            printf("%s component %u %s %s -> %s %s", c > 1 ? ";" : "", c,
                   floe_ice_cand_type_name(p->sel_local[c].type),
                   floe_cli_addr(&p->sel_local[c].addr).s,
                   floe_ice_cand_type_name(p->sel_remote[c].type),
                   floe_cli_addr(&p->sel_remote[c].addr).s);
    printf("\n");
    if (p->o.count)
        printf("%u datagrams of %u bytes sent, %llu echoes received, %llu lost\n", p->o.count,
               p->o.size, (unsigned long long)p->echoes,
               (unsigned long long)(p->o.count - p->echoes));
    if (p->o.echo)
        printf("%llu datagrams echoed, BYE received\n", (unsigned long long)p->dgrams_sent);
}

/* ---- main ------------------------------------------------------------------------------------ */

/* ---- TURN connections (stream bases) ----------------------------------------------------------
 */

static void stream_data(void *arg, const floe_ice_recv_info *info) {
    handle_data(arg, info->component, info->data, info->len);
}

static void stream_closed(void *arg, unsigned base, const floe_ice_stream *st, const char *why) {
    (void)base;
    peer *p = arg;
    progress(p, "TURN connection over %s to %s ended: %s", floe_transport_name(st->transport),
             floe_cli_addr(&st->remote).s, why);
}

static void stream_after(void *arg) {
    peer *p = arg;
    if (!p->done) service(p);
}

static int setup(peer *p) {
    if (floe_rt_loop_new(&p->loop) != FLOE_OK) {
        fail(p, "cannot create the event loop: %s", strerror(errno));
        return 1;
    }
    if (floe_rt_timer_new(&p->agent_timer, p->loop, on_agent_timer, p) != FLOE_OK ||
        floe_rt_timer_new(&p->poll_timer, p->loop, on_poll_timer, p) != FLOE_OK ||
        floe_rt_timer_new(&p->pump_timer, p->loop, on_pump_timer, p) != FLOE_OK ||
        floe_rt_timer_new(&p->end_timer, p->loop, on_end_timer, p) != FLOE_OK ||
        floe_rt_timer_new(&p->deadline_timer, p->loop, on_deadline, p) != FLOE_OK) {
        fail(p, "out of memory");
        return 1;
    }
    floe_rt_timer_arm(p->deadline_timer, p->t0 + p->o.timeout);
    floe_rt_loop_on_signal(p->loop, SIGINT, on_signal, p);
    floe_rt_loop_on_signal(p->loop, SIGTERM, on_signal, p);

    floe_ice_config cfg;
    floe_ice_config_default(&cfg);
    cfg.controlling = p->o.controlling;
    cfg.lite = p->o.lite;
    cfg.n_streams = 1;
    cfg.components[0] = p->o.components;
    cfg.ta = p->o.ta;
    cfg.rand = floe_rt_random;
    cfg.rand_ctx = NULL;
    for (size_t i = 0; i < p->o.n_prefer; i++)
        snprintf(cfg.prefer_ifaces[i], sizeof cfg.prefer_ifaces[i], "%s", p->o.prefer[i]);
    cfg.n_prefer_ifaces = p->o.n_prefer;
    for (size_t i = 0; i < p->o.ice.n_local; i++)
        if (floe_addr_classify(&p->o.ice.local_addrs[i], NULL) & FLOE_ADDR_LINK_LOCAL)
            cfg.gather_link_local = true; /* asked for by name */
    if (resolve_servers(p, &cfg)) return 1;
    int rc = floe_ice_agent_new(&p->agent, &cfg);
    if (rc != FLOE_OK) {
        fail(p, "cannot create the ICE agent: %s", floe_strerror(rc));
        return 1;
    }
    progress(p, "%s%s agent, %u component(s), ufrag %s",
             p->o.controlling ? "controlling" : "controlled", p->o.lite ? " lite" : "",
             p->o.components, floe_ice_agent_local_ufrag(p->agent));
    if (open_sockets(p)) return 1;
    ice_streams_config sc = {.loop = p->loop,
                             .agent = p->agent,
                             .tls = p->servers.tls,
                             .on_data = stream_data,
                             .on_closed = stream_closed,
                             .after = stream_after,
                             .arg = p};
    if (ice_streams_new(&p->streams, &sc) != FLOE_OK) {
        fail(p, "out of memory");
        return 1;
    }
    rc = floe_ice_agent_gather(p->agent, floe_rt_now());
    if (rc != FLOE_OK) {
        fail(p, "cannot start gathering: %s", floe_strerror(rc));
        return 1;
    }
    service(p);
    return 0;
}

static void teardown(peer *p) {
    if (p->agent && p->n_socks) { /* release the TURN allocations (best effort, no wait) */
        floe_ice_agent_release_relays(p->agent, floe_rt_now());
        size_t len;
        unsigned base;
        floe_addr to;
        while (floe_ice_agent_next_send(p->agent, floe_rt_now(), p->tx, sizeof p->tx, &len, &base,
                                        &to) == FLOE_OK) {
            (void)transmit(p, base, &to, p->tx, len);
        }
    }
    ice_streams_free(p->streams); /* a TCP allocation ends with its connection */
    p->streams = NULL;
    floe_ice_opts_servers_free(&p->servers);
    for (size_t i = 0; i < p->n_socks; i++) {
        if (p->loop) floe_rt_loop_unwatch(p->loop, p->socks[i].fd);
        close(p->socks[i].fd);
    }
    p->n_socks = 0;
    floe_ice_agent_free(p->agent);
    p->agent = NULL;
    floe_rt_loop_free(p->loop); /* frees the timers too */
    p->loop = NULL;
    free(p->seen);
    p->seen = NULL;
}

int floe_cmd_ice(int argc, char **argv) {
    static peer p; /* large (receive buffers, echo queue): keep it off the stack */
    memset(&p, 0, sizeof p);
    p.t0 = floe_rt_now();
    bool help;
    int rc = parse_opts(argc, argv, &p.o, &help);
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (rc) return rc;
    floe_rt_ignore_sigpipe();
    /* Our SDP file appears only when gathering is done: a stale one from an earlier run must not be
     * read by the peer meanwhile. */
    if (unlink(p.o.local_sdp) < 0 && errno != ENOENT)
        fail(&p, "cannot remove the old %s: %s", p.o.local_sdp, strerror(errno));
    else if (setup(&p) == 0 && !p.done && floe_rt_loop_run(p.loop) != FLOE_OK)
        fail(&p, "event loop failed: %s", strerror(errno));
    bool ok = !p.failed && p.ready;
    if (ok && p.o.count && p.echoes != p.o.count) {
        fail(&p, "%llu of %u datagrams lost", (unsigned long long)(p.o.count - p.echoes),
             p.o.count);
        ok = false;
    }
    if (ok && p.o.echo && !p.bye) {
        fail(&p, "no BYE before the end");
        ok = false;
    }
    if (p.o.json)
        print_json(&p, ok);
    else
        print_text(&p, ok);
    teardown(&p);
    return fflush(stdout) == 0 && ok ? 0 : 1;
}
