/* `floe bench stun`: a closed-loop STUN Binding load generator.
 *
 * The generator must never be what limits the measured rate, so the per-request work is
 * kept to a minimum:
 *
 *   - K UDP sockets, each connect()ed to the server (no address per datagram, and the
 *     kernel drops datagrams from anyone else);
 *   - each socket keeps at most N requests in flight (closed loop) and refills its window
 *     with sendmmsg() in batches of B, reading answers with recvmmsg() in batches of B;
 *   - the request (a Binding request carrying FINGERPRINT) is built once with the STUN
 *     builder; for each send only the 12 transaction-ID bytes are rewritten and the
 *     FINGERPRINT value recomputed over the 20-byte header;
 *   - the transaction ID encodes (run nonce, socket, slot, sequence), so matching an answer
 *     to its request is a few loads and compares, with no table search and no full decode.
 *
 * A request with no answer after the timeout is retired as lost and its slot reused, so a
 * dropped datagram costs one slot for one timeout and never starves the window. An answer
 * that arrives after that is counted as late, not as received.
 *
 * Only the first matching success response is decoded in full: its XOR-MAPPED-ADDRESS must
 * equal the sending socket's own address ("verified" in the JSON). With --accept-echo an
 * exact copy of a request also counts as an answer, which lets `floe bench echo` (a plain
 * UDP reflector) serve as the "kernel only" reference. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_util.h"
#include "cmd.h"
#include "floe/bytes.h"
#include "floe/addr.h"
#include "floe/err.h"
#include "floe/stun.h"
#include "floe/time.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_udp.h"

/* Defaults: see bench/README.md for why these values. */
#define GEN_DEFAULT_SECONDS 10.0
#define GEN_DEFAULT_SOCKETS 4u
#define GEN_DEFAULT_WINDOW 64u
#define GEN_DEFAULT_BATCH 32u
#define GEN_DEFAULT_TIMEOUT_MS 500u

#define GEN_MAX_SECONDS 3600.0
#define GEN_MAX_SOCKETS 64u
#define GEN_MAX_WINDOW 4096u
#define GEN_MAX_BATCH 256u
#define GEN_MAX_TIMEOUT_MS 60000u
#define GEN_RX_CAP 1500u           /* bytes kept of each answer; longer ones are truncated */
#define GEN_RX_ROUNDS 8            /* recvmmsg calls per socket per loop pass, at most */
#define GEN_DRAIN_MAX FLOE_MS(200) /* after the run: wait this long for in-flight answers */
#define GEN_EPOLL_WAIT_MS 5        /* epoll mode: longest sleep (scans and progress need it) */

#define STUN_TYPE_BINDING_REQUEST 0x0001u /* RFC 8489 §5: method 1, class request */
#define STUN_TYPE_BINDING_SUCCESS 0x0101u /* RFC 8489 §5: method 1, class success */
#define STUN_ATTR_HDR_LEN 4u
#define STUN_FINGERPRINT_ATTR_LEN 8u /* type, length, CRC-32 */

/* Transaction ID layout (12 bytes): nonce[4] | socket (u16) | slot (u16) | sequence (u32). */
enum { TID_NONCE = 0, TID_SOCK = 4, TID_SLOT = 6, TID_SEQ = 8 };

typedef struct gen_sock {
    int fd;
    uint16_t index;
    floe_addr local;
    floe_bench_window win; /* the requests in flight, one per slot */
    /* batch buffers */
    uint8_t *tx; /* batch requests of req_len bytes */
    uint8_t *rx; /* batch buffers of GEN_RX_CAP bytes */
    struct mmsghdr *txm, *rxm;
    struct iovec *txv, *rxv;
} gen_sock;

typedef struct gen_stats {
    uint64_t sent, received, lost, late, stray, send_errors, recv_errors, refused;
} gen_stats;

typedef struct gen {
    /* options */
    double seconds;
    unsigned n_socks, window, batch, timeout_ms;
    bool busy, accept_echo, json, quiet, allow_remote;
    const char *target;
    /* state */
    floe_addr server;
    uint8_t req[64];
    size_t req_len;
    uint8_t nonce[4];
    gen_sock *socks;
    int epfd;
    uint64_t outstanding;
    int verified; /* -1 not yet, 0 failed, 1 ok */
    gen_stats st;
} gen;

/* ---- options ------------------------------------------------------------------------- */

static void gen_usage(FILE *f) {
    fprintf(f,
            "usage: floe bench stun [options] SERVER:PORT\n\n"
            "Closed-loop STUN Binding load over UDP; prints one JSON line on stdout.\n\n"
            "  --duration S     seconds to send for (default %.0f)\n"
            "  --sockets K      UDP sockets, each connected to the server (default %u)\n"
            "  --window N       requests in flight per socket (default %u)\n"
            "  --batch B        datagrams per sendmmsg/recvmmsg call (default %u)\n"
            "  --timeout MS     a request unanswered this long is lost (default %u)\n"
            "  --poll MODE      busy (spin on nonblocking recvmmsg) or epoll (default busy)\n"
            "  --accept-echo    count an echoed copy of a request as an answer\n"
            "  --allow-remote   allow a server that is not a loopback address\n"
            "  --json           JSON only: no progress and no summary on stderr\n"
            "  --quiet          no progress lines on stderr\n",
            GEN_DEFAULT_SECONDS, GEN_DEFAULT_SOCKETS, GEN_DEFAULT_WINDOW, GEN_DEFAULT_BATCH,
            GEN_DEFAULT_TIMEOUT_MS);
}

static int gen_parse(gen *g, int argc, char **argv) {
    enum {
        O_DURATION = 256,
        O_SOCKETS,
        O_WINDOW,
        O_BATCH,
        O_TIMEOUT,
        O_POLL,
        O_ECHO,
        O_REMOTE,
        O_JSON,
        O_QUIET,
        O_HELP
    };
    static const struct option opts[] = {
        {"duration", required_argument, NULL, O_DURATION},
        {"sockets", required_argument, NULL, O_SOCKETS},
        {"window", required_argument, NULL, O_WINDOW},
        {"batch", required_argument, NULL, O_BATCH},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"poll", required_argument, NULL, O_POLL},
        {"accept-echo", no_argument, NULL, O_ECHO},
        {"allow-remote", no_argument, NULL, O_REMOTE},
        {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    g->seconds = GEN_DEFAULT_SECONDS;
    g->n_socks = GEN_DEFAULT_SOCKETS;
    g->window = GEN_DEFAULT_WINDOW;
    g->batch = GEN_DEFAULT_BATCH;
    g->timeout_ms = GEN_DEFAULT_TIMEOUT_MS;
    g->busy = true;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case O_DURATION:
            if (!floe_bench_seconds(optarg, 0.1, GEN_MAX_SECONDS, &g->seconds))
                return floe_usage_error("bench stun", "--duration wants 0.1..%.0f seconds",
                                        GEN_MAX_SECONDS);
            break;
        case O_SOCKETS:
            if (!floe_cli_uint(optarg, 1, GEN_MAX_SOCKETS, &g->n_socks))
                return floe_usage_error("bench stun", "--sockets wants 1..%u", GEN_MAX_SOCKETS);
            break;
        case O_WINDOW:
            if (!floe_cli_uint(optarg, 1, GEN_MAX_WINDOW, &g->window))
                return floe_usage_error("bench stun", "--window wants 1..%u", GEN_MAX_WINDOW);
            break;
        case O_BATCH:
            if (!floe_cli_uint(optarg, 1, GEN_MAX_BATCH, &g->batch))
                return floe_usage_error("bench stun", "--batch wants 1..%u", GEN_MAX_BATCH);
            break;
        case O_TIMEOUT:
            if (!floe_cli_uint(optarg, 1, GEN_MAX_TIMEOUT_MS, &g->timeout_ms))
                return floe_usage_error("bench stun", "--timeout wants 1..%u ms",
                                        GEN_MAX_TIMEOUT_MS);
            break;
        case O_POLL:
            if (!strcmp(optarg, "busy"))
                g->busy = true;
            else if (!strcmp(optarg, "epoll"))
                g->busy = false;
            else
                return floe_usage_error("bench stun", "--poll wants busy or epoll");
            break;
        case O_ECHO: g->accept_echo = true; break;
        case O_REMOTE: g->allow_remote = true; break;
        case O_JSON: g->json = g->quiet = true; break;
        case O_QUIET: g->quiet = true; break;
        case 'h':
        case O_HELP: gen_usage(stdout); return 0;
        default:
            if (optopt && optopt < 256)
                return floe_usage_error("bench stun", "unknown option '-%c'", optopt);
            return floe_usage_error("bench stun", "unknown or incomplete option '%s'",
                                    argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return floe_usage_error("bench stun", "give exactly one SERVER:PORT");
    g->target = argv[optind];
    if (g->batch > g->window) g->batch = g->window; /* a batch never exceeds the window */
    return -1;                                      /* go on */
}

/* ---- setup ------------------------------------------------------------------------- */

/* Builds the request template with the STUN builder and checks that patching a transaction
 * ID and its FINGERPRINT still gives a message the decoder accepts. */
static int gen_build_request(gen *g) {
    uint8_t tid[FLOE_STUN_TID_LEN] = {0};
    floe_stun_builder b;
    floe_stun_builder_init(&b, g->req, sizeof g->req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_fingerprint(&b);
    int err = floe_stun_builder_finish(&b, &g->req_len);
    if (err) return err;
    if (g->req_len != FLOE_STUN_HEADER_LEN + STUN_FINGERPRINT_ATTR_LEN ||
        floe_get_u16(g->req + FLOE_STUN_HEADER_LEN) != FLOE_STUN_ATTR_FINGERPRINT)
        return FLOE_ERR_STATE;

    uint8_t probe[64];
    memcpy(probe, g->req, g->req_len);
    memcpy(probe + 8, g->nonce, 4);
    memset(probe + 12, 0xA5, 8);
    floe_put_u32(probe + g->req_len - 4, floe_stun_fingerprint(probe, g->req_len - 8));
    floe_stun_msg m;
    err = floe_stun_msg_decode(probe, g->req_len, 0, &m);
    if (err) return err;
    if (m.fp < 0 || m.cls != FLOE_STUN_REQUEST || m.method != FLOE_STUN_BINDING)
        return FLOE_ERR_STATE;
    return FLOE_OK;
}

static void gen_sock_free(gen_sock *s) {
    if (s->fd >= 0) close(s->fd);
    floe_bench_window_free(&s->win);
    free(s->tx);
    free(s->rx);
    free(s->txm);
    free(s->rxm);
    free(s->txv);
    free(s->rxv);
}

static int gen_sock_open(gen *g, gen_sock *s, uint16_t index) {
    s->index = index;
    int err = floe_bench_window_init(&s->win, g->window);
    if (err) return err;
    s->tx = calloc(g->batch, g->req_len);
    s->rx = calloc(g->batch, GEN_RX_CAP);
    s->txm = calloc(g->batch, sizeof *s->txm);
    s->rxm = calloc(g->batch, sizeof *s->rxm);
    s->txv = calloc(g->batch, sizeof *s->txv);
    s->rxv = calloc(g->batch, sizeof *s->rxv);
    if (!s->tx || !s->rx || !s->txm || !s->rxm || !s->txv || !s->rxv) return FLOE_ERR_NOMEM;
    for (unsigned i = 0; i < g->batch; i++) {
        uint8_t *req = s->tx + (size_t)i * g->req_len;
        memcpy(req, g->req, g->req_len);
        memcpy(req + 8 + TID_NONCE, g->nonce, 4);
        floe_put_u16(req + 8 + TID_SOCK, index);
        s->txv[i].iov_base = req;
        s->txv[i].iov_len = g->req_len;
        s->txm[i].msg_hdr.msg_iov = &s->txv[i];
        s->txm[i].msg_hdr.msg_iovlen = 1;
        s->rxv[i].iov_base = s->rx + (size_t)i * GEN_RX_CAP;
        s->rxv[i].iov_len = GEN_RX_CAP;
        s->rxm[i].msg_hdr.msg_iov = &s->rxv[i];
        s->rxm[i].msg_hdr.msg_iovlen = 1;
    }

    if ((err = floe_bench_udp_connect(NULL, &g->server, 0, &s->fd, &s->local))) return err;
    if (g->epfd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
        if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) return FLOE_ERR_IO;
    }
    return FLOE_OK;
}

/* ---- the hot path ------------------------------------------------------------------ */

/* Fills the socket's window: as many requests as there are free slots, in batches. */
static void gen_refill(gen *g, gen_sock *s, floe_time_ns now) {
    const size_t fp_off = g->req_len - 4;
    floe_bench_window *w = &s->win;
    while (w->n_free > 0) { /* ends: every pass sends at least one or returns */
        unsigned k = w->n_free < g->batch ? w->n_free : g->batch;
        for (unsigned i = 0; i < k; i++) {
            uint32_t slot = floe_bench_window_peek(w, i);
            uint8_t *req = s->tx + (size_t)i * g->req_len;
            floe_put_u16(req + 8 + TID_SLOT, (uint16_t)slot);
            floe_put_u32(req + 8 + TID_SEQ, ++w->seq[slot]);
            floe_put_u32(req + fp_off, floe_stun_fingerprint(req, fp_off - STUN_ATTR_HDR_LEN));
        }
        int r = sendmmsg(s->fd, s->txm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == ECONNREFUSED)
                g->st.refused++;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR)
                g->st.send_errors++;
            return;
        }
        for (int i = 0; i < r; i++)
            floe_bench_window_take(w, now);
        g->st.sent += (uint64_t)r;
        g->outstanding += (uint64_t)r;
        if ((unsigned)r < k) return; /* socket buffer full: try again next pass */
    }
}

/* Full check of the first success response: a decodable message whose XOR-MAPPED-ADDRESS
 * is the address this socket sends from. */
static void gen_verify(gen *g, const gen_sock *s, const uint8_t *p, size_t len) {
    floe_stun_msg m;
    floe_addr mapped;
    char want[FLOE_ADDR_STRLEN], got[FLOE_ADDR_STRLEN] = "none";
    int err = floe_stun_msg_decode(p, len, 0, &m);
    if (!err) err = floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
    if (!err) floe_addr_format(&mapped, true, got, sizeof got);
    g->verified = !err && floe_addr_equal(&mapped, &s->local);
    if (!g->verified && !g->json) {
        floe_addr_format(&s->local, true, want, sizeof want);
        fprintf(stderr,
                "floe bench stun: first response fails the check (%s, mapped %s, want %s)\n",
                err ? floe_strerror(err) : "address differs", got, want);
    }
}

/* Classifies one datagram: an answer to an outstanding request frees its slot. */
static void gen_on_datagram(gen *g, gen_sock *s, const uint8_t *p, size_t len) {
    if (len < FLOE_STUN_HEADER_LEN || floe_get_u32(p + 4) != FLOE_STUN_MAGIC_COOKIE ||
        memcmp(p + 8 + TID_NONCE, g->nonce, 4) != 0 || floe_get_u16(p + 8 + TID_SOCK) != s->index) {
        g->st.stray++;
        return;
    }
    uint16_t type = floe_get_u16(p);
    bool success = type == STUN_TYPE_BINDING_SUCCESS;
    if (!success && !(g->accept_echo && type == STUN_TYPE_BINDING_REQUEST)) {
        g->st.stray++;
        return;
    }
    if (!floe_bench_window_answer(&s->win, floe_get_u16(p + 8 + TID_SLOT),
                                  floe_get_u32(p + 8 + TID_SEQ), NULL)) {
        g->st.late++; /* ours, but already retired as lost */
        return;
    }
    if (success && g->verified < 0) gen_verify(g, s, p, len);
    g->outstanding--;
    g->st.received++;
}

/* Reads what is queued on the socket, a bounded number of batches. */
static void gen_receive(gen *g, gen_sock *s) {
    for (int round = 0; round < GEN_RX_ROUNDS; round++) {
        int r = recvmmsg(s->fd, s->rxm, g->batch, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == ECONNREFUSED)
                g->st.refused++;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                g->st.recv_errors++;
            return;
        }
        for (int i = 0; i < r; i++) {
            size_t len = s->rxm[i].msg_len < GEN_RX_CAP ? s->rxm[i].msg_len : GEN_RX_CAP;
            gen_on_datagram(g, s, s->rx + (size_t)i * GEN_RX_CAP, len);
        }
        if ((unsigned)r < g->batch) return;
    }
}

/* Retires requests older than the timeout (all of them when cutoff is FLOE_TIME_NEVER). */
static void gen_retire(gen *g, floe_time_ns cutoff) {
    for (unsigned k = 0; k < g->n_socks; k++) {
        uint32_t n = floe_bench_window_retire(&g->socks[k].win, cutoff);
        g->outstanding -= n;
        g->st.lost += n;
    }
}

static void gen_wait_and_receive(gen *g) {
    if (g->busy) {
        for (unsigned k = 0; k < g->n_socks; k++)
            gen_receive(g, &g->socks[k]);
        return;
    }
    struct epoll_event evs[GEN_MAX_SOCKETS];
    int n = epoll_wait(g->epfd, evs, (int)g->n_socks, GEN_EPOLL_WAIT_MS);
    for (int i = 0; i < n; i++)
        gen_receive(g, &g->socks[evs[i].data.u32]);
}

/* ---- run and report ---------------------------------------------------------------- */

static double ns_to_s(floe_time_ns ns) {
    return (double)ns / 1e9;
}

static void gen_report(const gen *g, double elapsed) {
    char server[FLOE_ADDR_STRLEN];
    floe_addr_format(&g->server, true, server, sizeof server);
    double rps = elapsed > 0 ? (double)g->st.received / elapsed : 0;
    printf("{\"target\":\"stun\",\"server\":\"%s\",\"duration_s\":%.3f,\"sent\":%" PRIu64
           ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"rps\":%.0f,\"late\":%" PRIu64
           ",\"stray\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"verified\":%s,\"sockets\":%u,\"window\":%u,\"batch\":%u,\"timeout_ms\":%u,"
           "\"poll\":\"%s\",\"accept_echo\":%s}\n",
           server, elapsed, g->st.sent, g->st.received, g->st.lost, rps, g->st.late, g->st.stray,
           g->st.refused, g->st.send_errors + g->st.recv_errors,
           g->verified < 0 ? "null"
           : g->verified   ? "true"
                           : "false",
           g->n_socks, g->window, g->batch, g->timeout_ms, g->busy ? "busy" : "epoll",
           g->accept_echo ? "true" : "false");
    fflush(stdout);
    if (!g->json)
        fprintf(stderr,
                "floe bench stun: %s: %" PRIu64 " answers in %.2f s = %.0f/s, %" PRIu64
                " lost, %" PRIu64 " late\n",
                server, g->st.received, elapsed, rps, g->st.lost, g->st.late);
}

static int gen_run(gen *g) {
    const floe_time_ns timeout = FLOE_MS(g->timeout_ms);
    floe_time_ns scan_every = timeout / 4 < FLOE_MS(50) ? timeout / 4 : FLOE_MS(50);
    if (scan_every == 0) scan_every = 1;
    const floe_time_ns start = floe_rt_now();
    const floe_time_ns end = start + (floe_time_ns)(g->seconds * 1e9);
    floe_time_ns next_scan = start + scan_every, next_progress = start + FLOE_S(1);
    floe_time_ns stop_at = 0, drain_end = 0;
    uint64_t last_received = 0;

    for (;;) {
        floe_time_ns now = floe_rt_now();
        if (!stop_at && (now >= end || floe_bench_stopping())) {
            stop_at = now;
            drain_end = now + (timeout < GEN_DRAIN_MAX ? timeout : GEN_DRAIN_MAX);
        }
        if (stop_at && (g->outstanding == 0 || now >= drain_end)) break;
        if (now >= next_scan) {
            gen_retire(g, now - timeout);
            next_scan = now + scan_every;
        }
        if (!g->quiet && !stop_at && now >= next_progress) {
            fprintf(stderr,
                    "floe bench stun: %3.0f s  sent %" PRIu64 "  received %" PRIu64
                    "  lost %" PRIu64 "  %" PRIu64 "/s\n",
                    ns_to_s(now - start), g->st.sent, g->st.received, g->st.lost,
                    g->st.received - last_received);
            last_received = g->st.received;
            next_progress += FLOE_S(1);
        }
        if (!stop_at)
            for (unsigned k = 0; k < g->n_socks; k++)
                gen_refill(g, &g->socks[k], now);
        gen_wait_and_receive(g);
    }
    gen_retire(g, FLOE_TIME_NEVER); /* still unanswered after the drain: lost */
    gen_report(g, ns_to_s(stop_at - start));
    return 0;
}

int floe_bench_stun(int argc, char **argv) {
    gen g = {0};
    g.epfd = -1;
    g.verified = -1;
    int rc = gen_parse(&g, argc, argv);
    if (rc >= 0) return rc;

    size_t n = 0;
    int err = floe_rt_resolve(g.target, FLOE_STUN_PORT, FLOE_AF_NONE, &g.server, 1, &n);
    if (err)
        return floe_usage_error("bench stun", "cannot use '%s': %s", g.target, floe_strerror(err));
    if (!g.allow_remote && !(floe_addr_classify(&g.server, NULL) & FLOE_ADDR_LOOPBACK))
        return floe_usage_error("bench stun",
                                "'%s' is not a loopback address (add --allow-remote if you "
                                "mean it)",
                                g.target);
    if (floe_rt_random(NULL, g.nonce, sizeof g.nonce)) {
        fprintf(stderr, "floe bench stun: no random bytes\n");
        return 1;
    }
    if ((err = gen_build_request(&g))) {
        fprintf(stderr, "floe bench stun: cannot build the request: %s\n", floe_strerror(err));
        return 1;
    }

    rc = 1;
    if (!g.busy && (g.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        perror("floe bench stun: epoll_create1");
        return 1;
    }
    g.socks = calloc(g.n_socks, sizeof *g.socks);
    if (!g.socks) goto out;
    for (unsigned k = 0; k < g.n_socks; k++)
        g.socks[k].fd = -1;
    for (unsigned k = 0; k < g.n_socks; k++) {
        if ((err = gen_sock_open(&g, &g.socks[k], (uint16_t)k))) {
            fprintf(stderr, "floe bench stun: socket %u: %s (%s)\n", k, floe_strerror(err),
                    strerror(errno));
            goto out;
        }
    }

    floe_bench_catch_stop();
    rc = gen_run(&g);

out:
    if (g.socks)
        for (unsigned k = 0; k < g.n_socks; k++)
            gen_sock_free(&g.socks[k]);
    free(g.socks);
    if (g.epfd >= 0) close(g.epfd);
    return rc;
}
