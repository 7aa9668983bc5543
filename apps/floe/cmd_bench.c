/* `floe bench`: load tools for the benchmarks in bench/.
 *
 *   floe bench stun ...   the STUN Binding load generator (bench_stun.c)
 *   floe bench turn ...   the TURN relay load generator (bench_turn.c)
 *   floe bench echo ...   a plain UDP reflector, the "kernel only" reference server
 *   floe bench ice-memory the memory of one idle ICE agent (bench_ice.c)
 *
 * The echo server returns every datagram, byte for byte, to the address it came from. It
 * does no parsing at all, so what it costs per datagram is about the least any UDP server
 * can cost: one share of a recvmmsg() and one share of a sendmmsg() call. A STUN server is
 * measured against it with `floe bench stun --accept-echo`, which counts an exact copy of a
 * request as its answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_util.h"
#include "cmd.h"
#include "floe/addr.h"
#include "floe/err.h"
#include "rt_sock.h"
#include "rt_udp.h"

#define ECHO_DEFAULT_BATCH 64u
#define ECHO_MAX_BATCH 256u
#define ECHO_WAKE_MS 200 /* receive timeout: how late a stop signal may be seen */

static void echo_usage(FILE *f) {
    fprintf(f,
            "usage: floe bench echo --listen ADDR:PORT [options]\n\n"
            "Returns every UDP datagram to its sender, unchanged, until SIGTERM or SIGINT.\n\n"
            "  --listen ADDR:PORT  where to listen (port 0 picks a free one)\n"
            "  --batch N           datagrams per recvmmsg/sendmmsg call (default %u)\n"
            "  --allow-remote      allow an address that is not loopback\n"
            "  --quiet             nothing on stderr\n",
            ECHO_DEFAULT_BATCH);
}

/* Moves datagrams until asked to stop. The socket is blocking: recvmmsg() with
 * MSG_WAITFORONE sleeps until one datagram is there, then takes what else is queued, up to
 * the batch. Returns the number of datagrams sent back. */
static uint64_t echo_loop(int fd, floe_bench_echo *e, uint64_t *errors) {
    uint64_t echoed = 0;
    while (!floe_bench_stopping()) {
        if (floe_bench_echo_step(fd, e, MSG_WAITFORONE, &echoed, errors) < 0 && errno != EINTR) {
            (*errors)++;
            if (errno != ECONNREFUSED && errno != ENOBUFS) usleep(1000); /* no spin */
        }
    }
    return echoed;
}

static int bench_echo(int argc, char **argv) {
    enum { O_LISTEN = 256, O_BATCH, O_REMOTE, O_QUIET, O_HELP };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN}, {"batch", required_argument, NULL, O_BATCH},
        {"allow-remote", no_argument, NULL, O_REMOTE}, {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},           {NULL, 0, NULL, 0},
    };
    const char *listen = NULL;
    unsigned batch = ECHO_DEFAULT_BATCH;
    bool allow_remote = false, quiet = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: listen = optarg; break;
        case O_BATCH:
            if (!floe_cli_uint(optarg, 1, ECHO_MAX_BATCH, &batch))
                return floe_usage_error("bench echo", "--batch wants 1..%u", ECHO_MAX_BATCH);
            break;
        case O_REMOTE: allow_remote = true; break;
        case O_QUIET: quiet = true; break;
        case 'h':
        case O_HELP: echo_usage(stdout); return 0;
        default:
            return floe_usage_error("bench echo", "unknown or incomplete option '%s'",
                                    argv[optind - 1]);
        }
    }
    if (optind != argc) return floe_usage_error("bench echo", "unexpected '%s'", argv[optind]);
    if (!listen) return floe_usage_error("bench echo", "--listen ADDR:PORT is required");

    floe_addr addr;
    size_t n = 0;
    int err = floe_rt_resolve(listen, 0, FLOE_AF_NONE, &addr, 1, &n);
    if (err)
        return floe_usage_error("bench echo", "cannot use '%s': %s", listen, floe_strerror(err));
    if (!allow_remote && !(floe_addr_classify(&addr, NULL) & FLOE_ADDR_LOOPBACK))
        return floe_usage_error("bench echo",
                                "'%s' is not a loopback address (add --allow-remote if you "
                                "mean it)",
                                listen);

    int fd;
    floe_addr bound;
    if ((err = floe_rt_udp_open(&addr, 0, &fd, &bound))) {
        fprintf(stderr, "floe bench echo: cannot listen on %s: %s (%s)\n", listen,
                floe_strerror(err), strerror(errno));
        return 1;
    }
    /* Blocking socket with a receive timeout, so a signal that lands just before
     * recvmmsg() is noticed within ECHO_WAKE_MS. */
    struct timeval tv = {.tv_sec = 0, .tv_usec = ECHO_WAKE_MS * 1000};
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        perror("floe bench echo: socket setup");
        close(fd);
        return 1;
    }

    floe_bench_echo b;
    int rc = 1;
    if (floe_bench_echo_init(&b, batch) != FLOE_OK) {
        fprintf(stderr, "floe bench echo: out of memory\n");
        goto out;
    }
    /* No SA_RESTART: a signal interrupts the blocked recvmmsg() at once. */
    floe_bench_catch_stop();

    if (!quiet) {
        char text[FLOE_ADDR_STRLEN];
        floe_addr_format(&bound, true, text, sizeof text);
        fprintf(stderr, "floe bench echo: listening on %s (udp, batch %u)\n", text, batch);
    }
    uint64_t errors = 0, echoed = echo_loop(fd, &b, &errors);
    if (!quiet)
        fprintf(stderr, "floe bench echo: %" PRIu64 " datagrams echoed, %" PRIu64 " errors\n",
                echoed, errors);
    rc = 0;

out:
    floe_bench_echo_free(&b);
    close(fd);
    return rc;
}

static void bench_usage(FILE *f) {
    fprintf(f, "usage: floe bench <stun|turn|echo|ice-memory> [options]\n\n"
               "  stun SERVER:PORT     closed-loop STUN Binding load over UDP, JSON result\n"
               "  turn relay|alloc SERVER:PORT\n"
               "                       TURN relay load over UDP: relayed datagrams, latency,\n"
               "                       allocations per second (bench/turn-relay.sh)\n"
               "  echo --listen A:P    UDP echo server, the reference for bench/stun-server.sh\n"
               "  ice-memory           memory of one idle ICE agent (bench/ice-connect.sh)\n\n"
               "'floe bench <name> --help' lists the options of each.\n");
}

int floe_cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        bench_usage(stderr);
        return 2;
    }
    const char *what = argv[1];
    if (!strcmp(what, "stun")) return floe_bench_stun(argc - 1, argv + 1);
    if (!strcmp(what, "turn")) return floe_bench_turn(argc - 1, argv + 1);
    if (!strcmp(what, "echo")) return bench_echo(argc - 1, argv + 1);
    if (!strcmp(what, "ice-memory")) return floe_bench_ice_memory(argc - 1, argv + 1);
    if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
        bench_usage(stdout);
        return 0;
    }
    return floe_usage_error("bench", "unknown benchmark '%s' (stun, turn, echo or ice-memory)",
                            what);
}
