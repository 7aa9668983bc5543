/* `floe bench turn`: a TURN relay load generator over UDP (bench/turn-relay.sh).
 *
 * Two modes:
 *
 *   relay  N allocations, each with a channel bound to a peer the generator itself runs
 *          (one UDP socket of its own, which echoes what it gets back to the sender, that
 *          is back through the relay). Then ChannelData goes out on every allocation and
 *          comes back: client -> server -> peer -> server -> client. Each round trip is
 *          two datagrams relayed by the server, one per direction; both are counted (the
 *          peer counts what reaches it, the clients count what comes back). A closed loop:
 *          each allocation keeps at most W datagrams in flight, so neither side's socket
 *          buffers overflow and the rate is whatever the server sustains. A separate phase
 *          at a low fixed rate measures round trips through the relay and, interleaved
 *          with them, the same echo sent straight to the peer; the difference is the
 *          latency the relay adds.
 *   alloc  rounds of K allocations made as fast as the server answers (the 401 round
 *          included: every allocation is a fresh client with its own socket), P at a time,
 *          then released (Refresh with LIFETIME 0); allocations per second.
 *
 * The allocations are made by floe_turn_client (sans-IO), one per socket, all driven by one
 * loop. Data does not go through the client: ChannelData is built once per slot and only
 * the slot, sequence number and send time are patched before each sendmmsg(); what comes
 * back is matched with a few loads (run nonce, allocation index, slot, sequence). STUN that
 * arrives on a client socket (a late answer) still goes to its floe_turn_client.
 *
 * With --server-pid the generator reads the server's CPU time (utime + stime of all its
 * threads, /proc/PID/stat) right at the start and end of each measured phase, and its RSS
 * (/proc/PID/status), so the per-CPU-second figures cover exactly the measured traffic. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_util.h"
#include "cmd.h"
#include "floe/addr.h"
#include "floe/bytes.h"
#include "floe/err.h"
#include "floe/time.h"
#include "floe/turn.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_udp.h"

#define SUB "bench turn"

/* Defaults: bench/README.md says why. */
#define BT_DEFAULT_RELAY_ALLOCS 64u
#define BT_DEFAULT_ALLOC_ALLOCS 1000u
#define BT_DEFAULT_RELAY_SECONDS 5.0
#define BT_DEFAULT_ALLOC_SECONDS 2.0
#define BT_DEFAULT_WARMUP 1.0
#define BT_DEFAULT_IN_FLIGHT 2048u /* --window auto: this many in flight over all allocations */
#define BT_DEFAULT_SIZE 100u
#define BT_DEFAULT_BATCH 64u
#define BT_DEFAULT_TIMEOUT_MS 500u
#define BT_DEFAULT_PARALLEL 64u
#define BT_DEFAULT_LAT_RATE 1000u
#define BT_DEFAULT_LAT_SECONDS 2.0
#define BT_DEFAULT_WARM_ALLOCS 10u

#define BT_MAX_ALLOCS 10000u
#define BT_MAX_SECONDS 3600.0
#define BT_MAX_WINDOW 256u
#define BT_MAX_BATCH 256u
#define BT_MAX_RATE 10000000u
#define BT_MAX_LAT_RATE 100000u
#define BT_MAX_TIMEOUT_MS 60000u
#define BT_MIN_SIZE 24u /* the payload header below */
#define BT_MAX_SIZE 1400u
#define BT_RX_CAP 2048u           /* bytes kept of each datagram received */
#define BT_RX_ROUNDS 4            /* recvmmsg calls per ready socket per pass, at most */
#define BT_EPOLL_EVENTS 256       /* ready sockets taken per epoll_wait */
#define BT_SETUP_LIMIT FLOE_S(30) /* allocating (or releasing) all of them takes at most */
#define BT_CLOSE_LIMIT FLOE_S(15)
#define BT_ALLOC_TIMEOUT FLOE_S(10) /* one allocation, its 401 round and retransmissions */
#define BT_DRAIN_MAX FLOE_MS(200)   /* after a phase: wait this long for datagrams in flight */
#define BT_TIMER_SCAN FLOE_MS(1)    /* how often the clients' timers are looked at */
#define BT_RETIRE_SCAN FLOE_MS(50)

/* The payload of every data datagram (after the 4-byte ChannelData header when relayed):
 * nonce[4] | allocation index u32 | slot u16 | kind u16 | sequence u32 | send time u64 */
enum { PL_NONCE = 0, PL_INDEX = 4, PL_SLOT = 8, PL_KIND = 10, PL_SEQ = 12, PL_TIME = 16 };
enum { KIND_LOAD = 0, KIND_LAT_RELAY = 1, KIND_LAT_DIRECT = 2, N_KINDS = 3 };

#define EP_PEER UINT32_MAX /* epoll data of the peer socket; allocations use their index */
#define EP_DIRECT (UINT32_MAX - 1)
#define DIRECT_INDEX UINT32_MAX /* allocation index carried by the direct path's datagrams */

typedef enum bt_state {
    BA_IDLE = 0, /* socket and client made, nothing sent */
    BA_OPENING,  /* Allocate (and ChannelBind) out */
    BA_READY,    /* allocated (relay mode: and the channel bound) */
    BA_CLOSING,  /* Refresh with LIFETIME 0 out */
    BA_CLOSED,
    BA_FAILED,
} bt_state;

/* One allocation: its socket (connect()ed to the server), its client, and for the data phase
 * its window and prebuilt datagrams. The direct path to the peer uses the same structure
 * without a client. */
typedef struct bt_alloc {
    int fd;
    uint32_t index;
    bt_state state;
    uint16_t channel;
    floe_turn_client *c;
    floe_time_ns deadline; /* the client's, as of the last pump */
    floe_bench_window win;
    uint8_t *tx; /* win.size datagrams of stride bytes */
    struct mmsghdr *txm;
    struct iovec *txv;
} bt_alloc;

typedef struct bt_counts {
    uint64_t sent[N_KINDS], echoed[N_KINDS], lost[N_KINDS];
    uint64_t peer_rx; /* datagrams that reached the peer */
    uint64_t late, stray, send_errors, recv_errors, refused, blocked;
} bt_counts;

typedef struct bt_samples {
    floe_time_ns *v;
    size_t n, cap;
} bt_samples;

typedef struct bt {
    /* options */
    bool relay, busy, json, quiet, allow_remote;
    unsigned n, parallel, window, batch, size, timeout_ms, rate, lat_rate, warm_allocs;
    double seconds, warmup, lat_seconds;
    long server_pid;
    const char *user, *password, *realm, *target;
    /* state */
    floe_addr server, peer;
    bool rotate;         /* IPv4 loopback server: clients bind to client_ip */
    uint32_t ip_base;    /* random, picks the client addresses */
    floe_addr client_ip; /* 127.x.y.z, a fresh one per round of allocations */
    uint8_t nonce[4];
    size_t stride; /* bytes per prebuilt datagram: 4 (ChannelData header) + size */
    bt_alloc *a;
    bt_alloc direct;
    int epfd, peer_fd;
    floe_bench_echo echo;
    uint8_t *rx;
    struct mmsghdr *rxm;
    struct iovec *rxv;
    unsigned active;       /* allocations with an operation in progress */
    unsigned ready;        /* allocations in BA_READY */
    unsigned failed;       /* allocations that could not be made (relay: or their channel) */
    unsigned closed;       /* releases the server confirmed */
    unsigned close_failed; /* releases refused or unanswered */
    uint64_t requests;     /* STUN requests sent by the clients, retransmissions included */
    uint64_t outstanding;
    bt_counts st;
    bt_samples lat[N_KINDS];
    char first_error[160];
} bt;

/* ---- the server process (/proc) ------------------------------------------------------- */

/* utime + stime of every thread of a process (/proc/PID/stat or /proc/self/stat), in
 * seconds; -1 when unknown. */
static double proc_cpu_s_at(const char *path) {
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long ut = 0, st = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : -1;
}

static double proc_cpu_s(long pid) {
    if (pid <= 0) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    return proc_cpu_s_at(path);
}

/* CPU time at one instant: the server's, this process's, and the whole machine's (all
 * CPUs, /proc/stat: busy, and stolen by the hypervisor). Over a phase, what the machine
 * was busy with beyond the server and the generator is someone else's load on the CPUs
 * the measurement needs: a run with much of it is not a clean one. */
typedef struct bt_cpu {
    double server, self, machine, steal; /* seconds; server -1 when unknown */
} bt_cpu;

static void bt_cpu_now(const bt *t, bt_cpu *c) {
    c->server = proc_cpu_s(t->server_pid);
    c->self = proc_cpu_s_at("/proc/self/stat");
    c->machine = c->steal = -1;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (n != 8 || hz <= 0) return;
    /* user nice system idle iowait irq softirq steal */
    c->machine = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / (double)hz;
    c->steal = (double)v[7] / (double)hz;
}

/* Over [a, b]: the server's CPU seconds (-1 unknown), and in *other what else kept the
 * machine's CPUs busy, and in *steal what the hypervisor took (-1 unknown). */
static double bt_cpu_diff(const bt_cpu *a, const bt_cpu *b, double *other, double *steal) {
    double server = a->server >= 0 && b->server >= 0 ? b->server - a->server : -1;
    bool known = server >= 0 && a->machine >= 0 && b->machine >= 0 && a->self >= 0;
    double o = known ? (b->machine - a->machine) - server - (b->self - a->self) : -1;
    if (other) *other = known ? (o > 0 ? o : 0) : -1;
    if (steal) *steal = known ? b->steal - a->steal : -1;
    return server;
}

/* VmRSS of pid in kB; -1 when unknown. */
static long proc_rss_kb(long pid) {
    if (pid <= 0) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* ---- options -------------------------------------------------------------------------- */

static void bt_usage(FILE *f) {
    fprintf(
        f,
        "usage: floe bench turn relay [options] SERVER:PORT\n"
        "       floe bench turn alloc [options] SERVER:PORT\n"
        "\n"
        "Load for a TURN server over UDP (RFC 8656), with long-term credentials. Prints one\n"
        "JSON line on stdout; progress goes to stderr.\n"
        "\n"
        "relay: makes N allocations, each with a channel bound to a peer that this program\n"
        "runs itself (a UDP socket on 127.0.0.1, or for a remote server on the address it\n"
        "reaches the server from, which sends every datagram back where it came from:\n"
        "through the relay). Then, after --warmup seconds of the same, for --duration\n"
        "seconds, sends ChannelData on every allocation, W datagrams in flight on each, and\n"
        "counts what the server relayed: to the peer, and back to the clients. Then, for\n"
        "--latency-duration seconds at --latency-rate datagrams per second, times round\n"
        "trips through the relay and, interleaved, the same echo sent straight to the peer:\n"
        "the difference is the latency the relay adds. The server must allow the peer's\n"
        "address (floe server --allow-peer 127.0.0.1; coturn --allow-loopback-peers).\n"
        "    floe bench turn relay --user u --password p --allocations 1000 127.0.0.1:3478\n"
        "\n"
        "alloc: makes K allocations (a fresh socket and client each, so each does the 401\n"
        "round), P at a time, then releases them; repeats such rounds for --duration\n"
        "seconds. Reports allocations per second and, with --server-pid, the server's RSS\n"
        "growth per allocation over the first round (allocated and idle).\n"
        "    floe bench turn alloc --user u --password p --server-pid 1234 127.0.0.1:3478\n"
        "\n"
        "Against a server on 127.0.0.1 the clients bind to a loopback address of their own,\n"
        "127.x.y.z, a new one for every round: a new socket may get the port of one closed a\n"
        "moment ago, and a server may still hold state for that 5-tuple (437 answers).\n"
        "\n"
        "Reading the numbers: relayed_per_cpu_s compares servers best when server_cpu_util is\n"
        "near 1 (the server was the bottleneck); a server that idles between datagrams pays\n"
        "for going to sleep and waking up, and gets smaller batches. The added latency\n"
        "includes those wake-ups (two per round trip through the relay).\n"
        "\n"
        "both:\n"
        "  --user NAME --password PASS  long-term credentials (required)\n"
        "  --realm REALM        refuse a server whose 401 names another realm\n"
        "  --allocations N      relay: allocations (default %u); alloc: per round (default %u)\n"
        "  --parallel P         allocations (or releases) in progress at once (default %u)\n"
        "  --duration S         relay: seconds of measured load (default %.0f); alloc: seconds\n"
        "                       of rounds, at least one round (default %.0f)\n"
        "  --server-pid PID     read the server's CPU time and RSS around each phase, and\n"
        "                       report per-CPU-second figures and bytes per allocation\n"
        "  --poll MODE          busy (spin on epoll_wait with no timeout: fastest, needs a CPU\n"
        "                       of its own) or epoll (sleep up to 1 ms) (default busy)\n"
        "  --allow-remote       allow a server that is not a loopback address\n"
        "  --json               JSON only: nothing on stderr but errors\n"
        "  --quiet              no progress lines\n"
        "relay only:\n"
        "  --warmup S           seconds of load before the measured run (default %.0f)\n"
        "  --window W           datagrams in flight per allocation (default: %u over all\n"
        "                       allocations, at least 1 each, at most 64; 1..%u)\n"
        "  --rate R             datagrams per second in all, client to peer (default 0: as\n"
        "                       fast as the window allows)\n"
        "  --size BYTES         payload of each datagram (%u..%u, default %u)\n"
        "  --batch B            datagrams per recvmmsg/sendmmsg (default %u)\n"
        "  --timeout MS         a datagram not back after this long is lost (default %u)\n"
        "  --latency-rate R     round trips per second of each path in the latency phase\n"
        "                       (default %u)\n"
        "  --latency-duration S seconds of the latency phase (default %.0f; 0 skips it)\n"
        "alloc only:\n"
        "  --warmup-allocations N  allocate and release N first, unmeasured (default %u)\n"
        "\n"
        "JSON, relay: setup {allocated, failed, wall_s, allocs_per_s}, load {duration_s, sent,\n"
        "echoed, lost, peer_rx, relayed (peer_rx + echoed: datagrams the server forwarded, both\n"
        "directions), relayed_per_s, server_cpu_s, relayed_per_cpu_s, server_cpu_util,\n"
        "other_cpu_s (CPU time the machine spent on neither the server nor the generator: 0 on\n"
        "a quiet machine), steal_s (taken by the hypervisor)},\n"
        "latency {rate, relay_us, direct_us {samples, lost, p50, p99, min, max}, added_us\n"
        "{p50, p99}: relay minus direct}, server_rss_kb, deallocated.\n"
        "JSON, alloc: allocated, failed, rounds, alloc_wall_s, allocs_per_s, server_cpu_s,\n"
        "allocs_per_cpu_s, other_cpu_s, steal_s, deallocated, deallocs_per_s, "
        "requests_per_allocation (2 without\n"
        "retransmissions), rss {before_kb, after_kb, bytes_per_allocation}.\n",
        BT_DEFAULT_RELAY_ALLOCS, BT_DEFAULT_ALLOC_ALLOCS, BT_DEFAULT_PARALLEL,
        BT_DEFAULT_RELAY_SECONDS, BT_DEFAULT_ALLOC_SECONDS, BT_DEFAULT_WARMUP, BT_DEFAULT_IN_FLIGHT,
        BT_MAX_WINDOW, BT_MIN_SIZE, BT_MAX_SIZE, BT_DEFAULT_SIZE, BT_DEFAULT_BATCH,
        BT_DEFAULT_TIMEOUT_MS, BT_DEFAULT_LAT_RATE, BT_DEFAULT_LAT_SECONDS, BT_DEFAULT_WARM_ALLOCS);
}

static int bt_parse(bt *t, int argc, char **argv) {
    enum {
        O_USER = 256,
        O_PASSWORD,
        O_REALM,
        O_ALLOCS,
        O_PARALLEL,
        O_DURATION,
        O_PID,
        O_POLL,
        O_REMOTE,
        O_JSON,
        O_QUIET,
        O_WARMUP,
        O_WINDOW,
        O_RATE,
        O_SIZE,
        O_BATCH,
        O_TIMEOUT,
        O_LAT_RATE,
        O_LAT_SECONDS,
        O_WARM_ALLOCS,
        O_HELP
    };
    static const struct option opts[] = {
        {"user", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASSWORD},
        {"realm", required_argument, NULL, O_REALM},
        {"allocations", required_argument, NULL, O_ALLOCS},
        {"parallel", required_argument, NULL, O_PARALLEL},
        {"duration", required_argument, NULL, O_DURATION},
        {"server-pid", required_argument, NULL, O_PID},
        {"poll", required_argument, NULL, O_POLL},
        {"allow-remote", no_argument, NULL, O_REMOTE},
        {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"window", required_argument, NULL, O_WINDOW},
        {"rate", required_argument, NULL, O_RATE},
        {"size", required_argument, NULL, O_SIZE},
        {"batch", required_argument, NULL, O_BATCH},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"latency-rate", required_argument, NULL, O_LAT_RATE},
        {"latency-duration", required_argument, NULL, O_LAT_SECONDS},
        {"warmup-allocations", required_argument, NULL, O_WARM_ALLOCS},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        bt_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "relay"))
        t->relay = true;
    else if (strcmp(argv[1], "alloc") != 0)
        return floe_usage_error(SUB, "unknown mode '%s' (relay or alloc)", argv[1]);
    argc--;
    argv++;

    bool relay_only = false, alloc_only = false, have_seconds = false;
    unsigned allocs = 0;
    unsigned pid = 0;
    t->busy = true;
    t->parallel = BT_DEFAULT_PARALLEL;
    t->warmup = BT_DEFAULT_WARMUP;
    t->size = BT_DEFAULT_SIZE;
    t->batch = BT_DEFAULT_BATCH;
    t->timeout_ms = BT_DEFAULT_TIMEOUT_MS;
    t->lat_rate = BT_DEFAULT_LAT_RATE;
    t->lat_seconds = BT_DEFAULT_LAT_SECONDS;
    t->warm_allocs = BT_DEFAULT_WARM_ALLOCS;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case O_USER: t->user = optarg; break;
        case O_PASSWORD: t->password = optarg; break;
        case O_REALM: t->realm = optarg; break;
        case O_ALLOCS:
            if (!floe_cli_uint(optarg, 1, BT_MAX_ALLOCS, &allocs))
                return floe_usage_error(SUB, "--allocations wants 1..%u", BT_MAX_ALLOCS);
            break;
        case O_PARALLEL:
            if (!floe_cli_uint(optarg, 1, BT_MAX_ALLOCS, &t->parallel))
                return floe_usage_error(SUB, "--parallel wants 1..%u", BT_MAX_ALLOCS);
            break;
        case O_DURATION:
            if (!floe_bench_seconds(optarg, 0.1, BT_MAX_SECONDS, &t->seconds))
                return floe_usage_error(SUB, "--duration wants 0.1..%.0f seconds", BT_MAX_SECONDS);
            have_seconds = true;
            break;
        case O_PID:
            if (!floe_cli_uint(optarg, 1, 0x7fffffff, &pid))
                return floe_usage_error(SUB, "--server-pid wants a process ID");
            break;
        case O_POLL:
            if (!strcmp(optarg, "busy"))
                t->busy = true;
            else if (!strcmp(optarg, "epoll"))
                t->busy = false;
            else
                return floe_usage_error(SUB, "--poll wants busy or epoll");
            break;
        case O_REMOTE: t->allow_remote = true; break;
        case O_JSON: t->json = t->quiet = true; break;
        case O_QUIET: t->quiet = true; break;
        case O_WARMUP:
            relay_only = true;
            if (!floe_bench_seconds(optarg, 0, BT_MAX_SECONDS, &t->warmup))
                return floe_usage_error(SUB, "--warmup wants 0..%.0f seconds", BT_MAX_SECONDS);
            break;
        case O_WINDOW:
            relay_only = true;
            if (!floe_cli_uint(optarg, 1, BT_MAX_WINDOW, &t->window))
                return floe_usage_error(SUB, "--window wants 1..%u", BT_MAX_WINDOW);
            break;
        case O_RATE:
            relay_only = true;
            if (!floe_cli_uint(optarg, 0, BT_MAX_RATE, &t->rate))
                return floe_usage_error(SUB, "--rate wants 0..%u datagrams per second",
                                        BT_MAX_RATE);
            break;
        case O_SIZE:
            relay_only = true;
            if (!floe_cli_uint(optarg, BT_MIN_SIZE, BT_MAX_SIZE, &t->size))
                return floe_usage_error(SUB, "--size wants %u..%u bytes", BT_MIN_SIZE, BT_MAX_SIZE);
            break;
        case O_BATCH:
            relay_only = true;
            if (!floe_cli_uint(optarg, 1, BT_MAX_BATCH, &t->batch))
                return floe_usage_error(SUB, "--batch wants 1..%u", BT_MAX_BATCH);
            break;
        case O_TIMEOUT:
            relay_only = true;
            if (!floe_cli_uint(optarg, 1, BT_MAX_TIMEOUT_MS, &t->timeout_ms))
                return floe_usage_error(SUB, "--timeout wants 1..%u ms", BT_MAX_TIMEOUT_MS);
            break;
        case O_LAT_RATE:
            relay_only = true;
            if (!floe_cli_uint(optarg, 1, BT_MAX_LAT_RATE, &t->lat_rate))
                return floe_usage_error(SUB, "--latency-rate wants 1..%u", BT_MAX_LAT_RATE);
            break;
        case O_LAT_SECONDS:
            relay_only = true;
            if (!floe_bench_seconds(optarg, 0, BT_MAX_SECONDS, &t->lat_seconds))
                return floe_usage_error(SUB, "--latency-duration wants 0..%.0f seconds",
                                        BT_MAX_SECONDS);
            break;
        case O_WARM_ALLOCS:
            alloc_only = true;
            if (!floe_cli_uint(optarg, 0, BT_MAX_ALLOCS, &t->warm_allocs))
                return floe_usage_error(SUB, "--warmup-allocations wants 0..%u", BT_MAX_ALLOCS);
            break;
        case 'h':
        case O_HELP: bt_usage(stdout); return 0;
        default:
            if (optopt && optopt < 256)
                return floe_usage_error(SUB, "unknown option '-%c'", optopt);
            return floe_usage_error(SUB, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return floe_usage_error(SUB, "give exactly one SERVER:PORT");
    t->target = argv[optind];
    if (t->relay && alloc_only)
        return floe_usage_error(SUB, "--warmup-allocations is for the alloc mode");
    if (!t->relay && relay_only)
        return floe_usage_error(SUB, "--warmup, --window, --rate, --size, --batch, --timeout and "
                                     "--latency-* are for the relay mode");
    if (!t->user || !t->password)
        return floe_usage_error(SUB, "--user and --password are required (long-term credentials)");
    t->n = allocs ? allocs : t->relay ? BT_DEFAULT_RELAY_ALLOCS : BT_DEFAULT_ALLOC_ALLOCS;
    if (!have_seconds) t->seconds = t->relay ? BT_DEFAULT_RELAY_SECONDS : BT_DEFAULT_ALLOC_SECONDS;
    if (!t->window) {
        t->window = BT_DEFAULT_IN_FLIGHT / t->n;
        if (t->window < 1) t->window = 1;
        if (t->window > 64) t->window = 64;
    }
    t->server_pid = (long)pid;
    return -1; /* go on */
}

/* ---- allocations: sockets, clients, datagrams ------------------------------------------ */

static void bt_error(bt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bt_error(bt *t, const char *fmt, ...) {
    if (t->first_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->first_error, sizeof t->first_error, fmt, ap);
    va_end(ap);
    for (char *p = t->first_error; *p; p++) /* it goes into JSON */
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' ';
}

static void bt_progress(const bt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bt_progress(const bt *t, const char *fmt, ...) {
    if (t->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe " SUB ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The datagrams of one allocation (or of the direct path), one per window slot: the
 * ChannelData header (relay) and the payload with its fixed fields. */
static int bt_alloc_data(bt *t, bt_alloc *a, bool channel_data) {
    int err = floe_bench_window_init(&a->win, t->window);
    if (err) return err;
    a->tx = calloc(t->window, t->stride);
    a->txm = calloc(t->window, sizeof *a->txm);
    a->txv = calloc(t->window, sizeof *a->txv);
    if (!a->tx || !a->txm || !a->txv) return FLOE_ERR_NOMEM;
    for (unsigned i = 0; i < t->window; i++) {
        uint8_t *d = a->tx + (size_t)i * t->stride, *p = d + FLOE_TURN_CHANNEL_HEADER;
        memset(p, 0x5a, t->size);
        memcpy(p + PL_NONCE, t->nonce, 4);
        floe_put_u32(p + PL_INDEX, a->index);
        if (channel_data) {
            floe_put_u16(d, a->channel);
            floe_put_u16(d + 2, (uint16_t)t->size);
        }
        a->txv[i].iov_base = channel_data ? d : p;
        a->txv[i].iov_len = channel_data ? t->stride : t->size;
        a->txm[i].msg_hdr.msg_iov = &a->txv[i];
        a->txm[i].msg_hdr.msg_iovlen = 1;
    }
    return FLOE_OK;
}

static void bt_alloc_free(bt_alloc *a) {
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    floe_turn_client_free(a->c);
    a->c = NULL;
    floe_bench_window_free(&a->win);
    free(a->tx);
    free(a->txm);
    free(a->txv);
    a->tx = NULL;
    a->txm = NULL;
    a->txv = NULL;
}

/* A socket connected to the server and a client for it, registered with epoll. */
static int bt_alloc_open(bt *t, bt_alloc *a, uint32_t index) {
    memset(a, 0, sizeof *a);
    a->index = index;
    a->deadline = FLOE_TIME_NEVER;
    int err = floe_bench_udp_connect(t->rotate ? &t->client_ip : NULL, &t->server,
                                     FLOE_RT_UDP_KERNEL_BUFS, &a->fd, NULL);
    if (err) return err;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, a->fd, &ev) < 0) return floe_rt_err_from_errno(errno);
    floe_turn_config cfg;
    floe_turn_config_default(&cfg);
    cfg.server = t->server;
    cfg.username = t->user;
    cfg.password = t->password;
    cfg.realm = t->realm;
    cfg.rand = floe_rt_random;
    cfg.max_permissions = 1;
    cfg.max_channels = 1;
    cfg.timeout = BT_ALLOC_TIMEOUT;
    return floe_turn_client_new(&a->c, &cfg);
}

/* Opens allocations [0, n) (sockets and clients; nothing is sent). With an IPv4 loopback
 * server, round r binds its sockets to its own address 127.x.y.z: a new socket may get the
 * port of one closed a moment ago, and a server may still hold state for that 5-tuple
 * (coturn answered such an Allocate with 437 Allocation Mismatch). */
static int bt_open_all(bt *t, uint32_t round) {
    if (t->rotate) {
        uint32_t x = (t->ip_base + round) % (255u * 255u * 254u);
        floe_addr_set_v4(&t->client_ip,
                         0x7f000000u | (x / (255u * 254u) + 1) << 16 | (x / 254u % 255u) << 8 |
                             (x % 254u + 1),
                         0);
    }
    for (unsigned i = 0; i < t->n; i++)
        t->a[i].fd = -1;
    for (unsigned i = 0; i < t->n; i++) {
        int err = bt_alloc_open(t, &t->a[i], i);
        if (err) {
            fprintf(stderr, "floe " SUB ": socket or client %u: %s (%s)\n", i, floe_strerror(err),
                    strerror(errno));
            return err;
        }
    }
    t->active = t->ready = t->failed = t->closed = t->close_failed = 0;
    return FLOE_OK;
}

static void bt_free_all(bt *t) {
    for (unsigned i = 0; i < t->n; i++)
        bt_alloc_free(&t->a[i]); /* close() also takes the fd out of the epoll set */
}

/* ---- driving the clients ---------------------------------------------------------------- */

static void bt_finish_op(bt *t, bt_alloc *a, bt_state to) {
    if (a->state == BA_OPENING || a->state == BA_CLOSING) t->active--;
    if (a->state == BA_READY) t->ready--;
    if (to == BA_FAILED && a->state == BA_CLOSING)
        t->close_failed++;
    else if (to == BA_FAILED)
        t->failed++;
    if (to == BA_READY) t->ready++;
    if (to == BA_CLOSED) t->closed++;
    a->state = to;
}

static void bt_on_event(bt *t, bt_alloc *a, const floe_turn_event *ev) {
    switch (ev->type) {
    case FLOE_TURN_EV_ALLOCATED:
        if (!t->relay && a->state == BA_OPENING) bt_finish_op(t, a, BA_READY);
        break;
    case FLOE_TURN_EV_CHANNEL_BOUND:
        if (t->relay && a->state == BA_OPENING) {
            a->channel = ev->channel;
            bt_finish_op(t, a, BA_READY);
        }
        break;
    case FLOE_TURN_EV_FAILED:
    case FLOE_TURN_EV_CHANNEL_FAILED:
    case FLOE_TURN_EV_PERMISSION_FAILED:
        if (ev->error_code)
            bt_error(t, "%s: %d %s", floe_turn_event_name(ev->type), ev->error_code, ev->reason);
        else
            bt_error(t, "%s: %s", floe_turn_event_name(ev->type),
                     ev->reason[0] ? ev->reason : floe_strerror(ev->err));
        if (a->state != BA_CLOSED && a->state != BA_FAILED) bt_finish_op(t, a, BA_FAILED);
        break;
    case FLOE_TURN_EV_DEALLOCATED:
        if (ev->err != FLOE_OK)
            bt_error(t, "deallocation: %s", ev->error_code ? ev->reason : floe_strerror(ev->err));
        if (a->state == BA_CLOSING) bt_finish_op(t, a, ev->err == FLOE_OK ? BA_CLOSED : BA_FAILED);
        break;
    default: break;
    }
}

/* Sends what the client wants sent and handles its events, until neither is left. */
static void bt_pump(bt *t, bt_alloc *a, floe_time_ns now) {
    uint8_t buf[FLOE_TURN_MAX_REQUEST];
    for (int round = 0; round < 8; round++) {
        size_t len;
        floe_addr to;
        while (floe_turn_client_next_send(a->c, now, buf, sizeof buf, &len, &to) == FLOE_OK) {
            if (send(a->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                if (errno == ECONNREFUSED)
                    t->st.refused++;
                else
                    t->st.send_errors++;
            } else {
                t->requests++;
            }
        }
        floe_turn_event ev;
        bool any = false;
        while (floe_turn_client_next_event(a->c, &ev)) {
            any = true;
            bt_on_event(t, a, &ev);
        }
        if (!any) break;
    }
    a->deadline = floe_turn_client_deadline(a->c);
}

/* Ticks the clients whose timers are due (retransmissions, timeouts, refreshes). */
static void bt_timers(bt *t, floe_time_ns now) {
    for (unsigned i = 0; i < t->n; i++) {
        bt_alloc *a = &t->a[i];
        if (!a->c || now < a->deadline) continue;
        floe_turn_client_tick(a->c, now);
        bt_pump(t, a, now);
    }
}

/* ---- data ------------------------------------------------------------------------------ */

/* Sends up to k datagrams of `kind` on a (as many as its window has free). */
static unsigned bt_send(bt *t, bt_alloc *a, unsigned k, unsigned kind, floe_time_ns now) {
    floe_bench_window *w = &a->win;
    if (k > w->n_free) k = w->n_free;
    if (k == 0) return 0;
    for (unsigned i = 0; i < k; i++) {
        uint32_t slot = floe_bench_window_peek(w, i);
        uint8_t *p = a->tx + (size_t)i * t->stride + FLOE_TURN_CHANNEL_HEADER;
        floe_put_u16(p + PL_SLOT, (uint16_t)slot);
        floe_put_u16(p + PL_KIND, (uint16_t)kind);
        floe_put_u32(p + PL_SEQ, ++w->seq[slot]);
        floe_put_u32(p + PL_TIME, (uint32_t)(now >> 32));
        floe_put_u32(p + PL_TIME + 4, (uint32_t)now);
    }
    int r = sendmmsg(a->fd, a->txm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
        if (errno == ECONNREFUSED)
            t->st.refused++;
        else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            t->st.blocked++;
        else if (errno != EINTR)
            t->st.send_errors++;
        return 0;
    }
    for (int i = 0; i < r; i++)
        floe_bench_window_take(w, now);
    t->st.sent[kind] += (uint64_t)r;
    t->outstanding += (uint64_t)r;
    return (unsigned)r;
}

static void bt_sample(bt_samples *s, floe_time_ns v) {
    if (s->n < s->cap) s->v[s->n++] = v;
}

/* A payload that came back to allocation a (or to the direct socket). */
static void bt_on_payload(bt *t, bt_alloc *a, const uint8_t *p, size_t len, floe_time_ns now) {
    if (len < BT_MIN_SIZE || memcmp(p + PL_NONCE, t->nonce, 4) != 0 ||
        floe_get_u32(p + PL_INDEX) != a->index) {
        t->st.stray++;
        return;
    }
    unsigned kind = floe_get_u16(p + PL_KIND);
    floe_time_ns sent_at;
    if (kind >= N_KINDS || !floe_bench_window_answer(&a->win, floe_get_u16(p + PL_SLOT),
                                                     floe_get_u32(p + PL_SEQ), &sent_at)) {
        t->st.late++;
        return;
    }
    t->st.echoed[kind]++;
    t->outstanding--;
    if (kind != KIND_LOAD) bt_sample(&t->lat[kind], now - sent_at);
}

/* Reads what is queued on an allocation's socket (or the direct one). */
static void bt_receive(bt *t, bt_alloc *a) {
    for (int round = 0; round < BT_RX_ROUNDS; round++) {
        int r = recvmmsg(a->fd, t->rxm, t->batch, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == ECONNREFUSED)
                t->st.refused++;
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                t->st.recv_errors++;
            return;
        }
        floe_time_ns now = floe_rt_now();
        for (int i = 0; i < r; i++) {
            const uint8_t *p = t->rx + (size_t)i * BT_RX_CAP;
            size_t len = t->rxm[i].msg_len < BT_RX_CAP ? t->rxm[i].msg_len : BT_RX_CAP;
            if (!a->c) { /* the direct path: the payload itself */
                bt_on_payload(t, a, p, len, now);
            } else if (len >= FLOE_TURN_CHANNEL_HEADER && (p[0] & 0xC0) == 0x40) {
                size_t dlen = floe_get_u16(p + 2);
                if (floe_get_u16(p) != a->channel || dlen + FLOE_TURN_CHANNEL_HEADER > len)
                    t->st.stray++;
                else
                    bt_on_payload(t, a, p + FLOE_TURN_CHANNEL_HEADER, dlen, now);
            } else { /* STUN: the client's business */
                floe_turn_client_on_recv(a->c, now, p, len, &t->server, NULL);
                bt_pump(t, a, now);
            }
        }
        if ((unsigned)r < t->batch) return;
    }
}

/* The peer: echoes what is queued, counting it. */
static void bt_peer(bt *t) {
    uint64_t echoed = 0, errors = 0;
    for (int round = 0; round < BT_RX_ROUNDS; round++) {
        int n = floe_bench_echo_step(t->peer_fd, &t->echo, MSG_DONTWAIT, &echoed, &errors);
        if (n < 0) {
            if (errno != EINTR) t->st.recv_errors++;
            break;
        }
        t->st.peer_rx += (uint64_t)n;
        if ((unsigned)n < t->echo.batch) break;
    }
    t->st.send_errors += errors;
}

/* Waits for (busy: looks at) the sockets and serves the ready ones. */
static void bt_poll(bt *t, int timeout_ms) {
    struct epoll_event evs[BT_EPOLL_EVENTS];
    int n = epoll_wait(t->epfd, evs, BT_EPOLL_EVENTS, t->busy ? 0 : timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t idx = evs[i].data.u32;
        if (idx == EP_PEER)
            bt_peer(t);
        else if (idx == EP_DIRECT)
            bt_receive(t, &t->direct);
        else if (idx < t->n)
            bt_receive(t, &t->a[idx]);
    }
}

/* Counts what was sent at or before cutoff (everything for FLOE_TIME_NEVER) and is still
 * out as lost. A window does not keep the kind of what it holds; the phases do not overlap,
 * so what the allocations lose is charged to `kind`, the phase that is running, and what the
 * direct path loses to its own kind. */
static void bt_retire(bt *t, floe_time_ns cutoff, unsigned kind) {
    for (unsigned i = 0; i < t->n; i++) {
        if (!t->a[i].win.size) continue;
        uint32_t lost = floe_bench_window_retire(&t->a[i].win, cutoff);
        t->st.lost[kind] += lost;
        t->outstanding -= lost;
    }
    if (t->direct.win.size) {
        uint32_t lost = floe_bench_window_retire(&t->direct.win, cutoff);
        t->st.lost[KIND_LAT_DIRECT] += lost;
        t->outstanding -= lost;
    }
}

/* ---- phases ----------------------------------------------------------------------------- */

typedef enum bt_op { OP_OPEN, OP_CLOSE } bt_op;

/* Starts op on every allocation that can take it, at most --parallel at a time, and runs the
 * clients until every one has finished or the limit passed. Returns the wall time. */
static floe_time_ns bt_drive(bt *t, bt_op op, floe_time_ns limit) {
    const floe_time_ns start = floe_rt_now(), end = start + limit;
    floe_time_ns next_timers = start;
    unsigned next = 0;
    floe_time_ns now = start;
    for (;;) {
        while (t->active < t->parallel && next < t->n) {
            bt_alloc *a = &t->a[next++];
            int rc = FLOE_ERR_STATE;
            if (op == OP_OPEN && a->state == BA_IDLE) {
                rc = floe_turn_client_allocate(a->c, now);
                if (rc == FLOE_OK && t->relay) {
                    uint16_t ch = 0;
                    rc = floe_turn_client_bind_channel(a->c, now, &t->peer, &ch);
                    a->channel = ch;
                }
                if (rc == FLOE_OK) {
                    a->state = BA_OPENING;
                    t->active++;
                }
            } else if (op == OP_CLOSE && a->c &&
                       floe_turn_client_state(a->c) == FLOE_TURN_ALLOCATED) {
                /* also an allocation whose channel failed: it exists on the server */
                rc = floe_turn_client_close(a->c, now);
                if (rc == FLOE_OK) {
                    if (a->state == BA_READY) t->ready--;
                    a->state = BA_CLOSING;
                    t->active++;
                }
            } else {
                continue; /* nothing to do for this one */
            }
            if (rc != FLOE_OK) {
                bt_error(t, "%s: %s", op == OP_OPEN ? "allocate" : "close", floe_strerror(rc));
                if (op == OP_OPEN) {
                    a->state = BA_FAILED;
                    t->failed++;
                }
                continue;
            }
            bt_pump(t, a, now);
        }
        if (next == t->n && t->active == 0) break;
        /* a signal stops allocating, not releasing what was allocated */
        if (now >= end || (op == OP_OPEN && floe_bench_stopping())) break;
        bt_poll(t, 1);
        now = floe_rt_now();
        if (now >= next_timers) {
            bt_timers(t, now);
            next_timers = now + BT_TIMER_SCAN;
        }
    }
    return floe_rt_now() - start;
}

/* Load: datagrams of `kind` for `length`, as fast as the windows allow (rate 0) or at `rate`
 * per second in all, spread over the allocations in turn. */
static void bt_load(bt *t, floe_time_ns length, unsigned rate) {
    const floe_time_ns start = floe_rt_now(), end = start + length;
    const uint64_t sent0 = t->st.sent[KIND_LOAD];
    const floe_time_ns timeout = FLOE_MS(t->timeout_ms);
    floe_time_ns next_retire = start + BT_RETIRE_SCAN, next_timers = start + BT_TIMER_SCAN;
    unsigned cursor = 0;
    for (floe_time_ns now = start; now < end && !floe_bench_stopping(); now = floe_rt_now()) {
        if (rate == 0) {
            for (unsigned i = 0; i < t->n; i++)
                if (t->a[i].state == BA_READY) bt_send(t, &t->a[i], t->window, KIND_LOAD, now);
        } else {
            uint64_t due = (uint64_t)((double)rate * (double)(now - start) / 1e9) + 1;
            uint64_t done = t->st.sent[KIND_LOAD] - sent0;
            for (unsigned tries = 0; done < due && tries < t->n; tries++) {
                bt_alloc *a = &t->a[cursor];
                cursor = (cursor + 1) % t->n;
                if (a->state != BA_READY || a->win.n_free == 0) continue;
                done += bt_send(t, a, 1, KIND_LOAD, now);
                tries = 0;
            }
        }
        bt_poll(t, 1);
        if (now >= next_retire) {
            bt_retire(t, now - timeout, KIND_LOAD);
            next_retire = now + BT_RETIRE_SCAN;
        }
        if (now >= next_timers) {
            bt_timers(t, now);
            next_timers = now + BT_TIMER_SCAN;
        }
    }
}

/* Waits up to `limit` for what is in flight, then counts what is still out as lost. */
static void bt_drain(bt *t, floe_time_ns limit, unsigned kind) {
    const floe_time_ns end = floe_rt_now() + limit;
    while (t->outstanding > 0 && floe_rt_now() < end)
        bt_poll(t, 1);
    bt_retire(t, FLOE_TIME_NEVER, kind);
}

/* Latency: at `rate` per second, one datagram through the relay (allocations in turn) at
 * k / rate and one straight to the peer at (k + 1/2) / rate. A send that cannot go (a full
 * window or socket buffer) is skipped and counted in `blocked`. */
static void bt_latency(bt *t, floe_time_ns length, unsigned rate) {
    const floe_time_ns start = floe_rt_now(), end = start + length;
    const floe_time_ns timeout = FLOE_MS(t->timeout_ms);
    uint64_t tried_relay = 0, tried_direct = 0;
    unsigned cursor = 0;
    floe_time_ns next_retire = start + BT_RETIRE_SCAN, next_timers = start + BT_TIMER_SCAN;
    for (floe_time_ns now = start; now < end && !floe_bench_stopping(); now = floe_rt_now()) {
        double x = (double)rate * (double)(now - start) / 1e9;
        if (tried_relay < (uint64_t)x + 1) {
            tried_relay++;
            bool sent = false;
            for (unsigned tries = 0; tries < t->n && !sent; tries++) {
                bt_alloc *a = &t->a[cursor];
                cursor = (cursor + 1) % t->n;
                sent = a->state == BA_READY && bt_send(t, a, 1, KIND_LAT_RELAY, now) == 1;
            }
            if (!sent) t->st.blocked++;
        }
        if (tried_direct < (uint64_t)(x + 0.5)) {
            tried_direct++;
            if (bt_send(t, &t->direct, 1, KIND_LAT_DIRECT, now) != 1) t->st.blocked++;
        }
        bt_poll(t, 1);
        if (now >= next_retire) {
            bt_retire(t, now - timeout, KIND_LAT_RELAY);
            next_retire = now + BT_RETIRE_SCAN;
        }
        if (now >= next_timers) {
            bt_timers(t, now);
            next_timers = now + BT_TIMER_SCAN;
        }
    }
}

/* ---- report ----------------------------------------------------------------------------- */

static int cmp_ns(const void *x, const void *y) {
    floe_time_ns a = *(const floe_time_ns *)x, b = *(const floe_time_ns *)y;
    return a < b ? -1 : a > b;
}

/* Nearest rank: the smallest sample with at least p % of the samples at or below it. */
static double pct_us(const bt_samples *s, double p) {
    if (s->n == 0) return -1;
    size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > s->n) rank = s->n;
    return (double)s->v[rank - 1] / 1e3;
}

/* A number with `prec` decimals, or null when it is negative (unknown). */
static void jnum(const char *key, double v, int prec) {
    if (v < 0)
        printf("\"%s\":null", key);
    else
        printf("\"%s\":%.*f", key, prec, v);
}

static double ratio(double a, double b) {
    return a >= 0 && b > 0 ? a / b : -1;
}

static double secs(floe_time_ns ns) {
    return (double)ns / 1e9;
}

static void bt_print_path(const bt *t, unsigned kind) {
    const bt_samples *s = &t->lat[kind];
    printf("{\"samples\":%zu,\"sent\":%" PRIu64 ",\"lost\":%" PRIu64 ",", s->n, t->st.sent[kind],
           t->st.lost[kind]);
    jnum("p50", pct_us(s, 50), 1);
    putchar(',');
    jnum("p99", pct_us(s, 99), 1);
    putchar(',');
    jnum("min", pct_us(s, 0), 1);
    putchar(',');
    jnum("max", pct_us(s, 100), 1);
    putchar('}');
}

static void bt_print_head(const bt *t) {
    char server[FLOE_ADDR_STRLEN];
    floe_addr_format(&t->server, true, server, sizeof server);
    printf("{\"target\":\"turn\",\"mode\":\"%s\",\"server\":\"%s\",\"allocations\":%u,"
           "\"parallel\":%u,",
           t->relay ? "relay" : "alloc", server, t->n, t->parallel);
}

static void bt_print_tail(const bt *t) {
    printf(",\"stray\":%" PRIu64 ",\"late\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"poll\":\"%s\"",
           t->st.stray, t->st.late, t->st.refused, t->st.send_errors + t->st.recv_errors,
           t->busy ? "busy" : "epoll");
    if (t->first_error[0]) printf(",\"error\":\"%s\"", t->first_error);
    printf("}\n");
    fflush(stdout);
}

/* ---- the two modes ---------------------------------------------------------------------- */

/* The peer (on the address the clients reach the server from) and the direct path to it. */
static int bt_open_peer(bt *t) {
    floe_addr local;
    int err = FLOE_OK;
    if (t->rotate) /* the clients' address changes; the peer stays on 127.0.0.1 */
        floe_addr_set_v4(&local, 0x7f000001u, 0);
    else if ((err = floe_rt_local_addr(t->a[0].fd, &local)))
        return err;
    local.port = 0;
    if ((err = floe_rt_udp_open(&local, 0, &t->peer_fd, &t->peer))) return err;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EP_PEER};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->peer_fd, &ev) < 0) return FLOE_ERR_IO;
    if ((err = floe_bench_echo_init(&t->echo, t->batch))) return err;

    bt_alloc *d = &t->direct;
    d->index = DIRECT_INDEX;
    if ((err = floe_bench_udp_connect(NULL, &t->peer, 0, &d->fd, NULL))) return err;
    ev.data.u32 = EP_DIRECT;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, d->fd, &ev) < 0) return FLOE_ERR_IO;
    if ((err = bt_alloc_data(t, d, false))) return err;

    size_t cap = (size_t)((double)t->lat_rate * t->lat_seconds) + 16;
    for (unsigned k = KIND_LAT_RELAY; k <= KIND_LAT_DIRECT; k++) {
        t->lat[k].v = calloc(cap, sizeof *t->lat[k].v);
        if (!t->lat[k].v) return FLOE_ERR_NOMEM;
        t->lat[k].cap = cap;
    }
    return FLOE_OK;
}

static int bt_run_relay(bt *t) {
    int err = bt_open_all(t, 0);
    if (!err) err = bt_open_peer(t);
    if (err) {
        fprintf(stderr, "floe " SUB ": setup: %s (%s)\n", floe_strerror(err), strerror(errno));
        return 1;
    }
    bt_progress(t, "%u allocations, each with a channel to %s", t->n, floe_cli_addr(&t->peer).s);
    long rss0 = proc_rss_kb(t->server_pid);
    floe_time_ns setup = bt_drive(t, OP_OPEN, BT_SETUP_LIMIT);
    long rss1 = proc_rss_kb(t->server_pid);
    unsigned allocated = t->ready, failed = t->failed;
    bt_progress(t, "%u allocated in %.3f s, %u failed%s%s", allocated, secs(setup), failed,
                t->first_error[0] ? ": " : "", t->first_error);

    double cpu = -1, wall = 0, other = -1, steal = -1;
    bt_counts before = t->st, after = t->st;
    if (allocated > 0) {
        for (unsigned i = 0; i < t->n && !err; i++)
            if (t->a[i].state == BA_READY) err = bt_alloc_data(t, &t->a[i], true);
        if (err) {
            fprintf(stderr, "floe " SUB ": out of memory\n");
            return 1;
        }
        if (t->warmup > 0) {
            bt_load(t, (floe_time_ns)(t->warmup * 1e9), t->rate);
            bt_progress(t, "warm-up: %" PRIu64 " sent, %" PRIu64 " back", t->st.sent[KIND_LOAD],
                        t->st.echoed[KIND_LOAD]);
        }
        bt_cpu c0, c1;
        bt_cpu_now(t, &c0);
        floe_time_ns w0 = floe_rt_now();
        before = t->st;
        bt_load(t, (floe_time_ns)(t->seconds * 1e9), t->rate);
        after = t->st;
        floe_time_ns w1 = floe_rt_now();
        bt_cpu_now(t, &c1);
        cpu = bt_cpu_diff(&c0, &c1, &other, &steal);
        wall = secs(w1 - w0);
        bt_drain(t, BT_DRAIN_MAX, KIND_LOAD);
        bt_progress(t, "load: %" PRIu64 " relayed in %.2f s",
                    (after.peer_rx - before.peer_rx) +
                        (after.echoed[KIND_LOAD] - before.echoed[KIND_LOAD]),
                    wall);
        if (t->lat_seconds > 0 && !floe_bench_stopping()) {
            bt_latency(t, (floe_time_ns)(t->lat_seconds * 1e9), t->lat_rate);
            bt_drain(t, FLOE_MS(t->timeout_ms), KIND_LAT_RELAY);
            bt_progress(t, "latency: %zu through the relay, %zu direct", t->lat[KIND_LAT_RELAY].n,
                        t->lat[KIND_LAT_DIRECT].n);
        }
    }
    for (unsigned k = KIND_LAT_RELAY; k <= KIND_LAT_DIRECT; k++)
        if (t->lat[k].n) qsort(t->lat[k].v, t->lat[k].n, sizeof *t->lat[k].v, cmp_ns);
    unsigned to_close = t->ready;
    floe_time_ns closing = bt_drive(t, OP_CLOSE, BT_CLOSE_LIMIT);
    bt_progress(t, "%u of %u released in %.3f s", t->closed, to_close, secs(closing));

    uint64_t sent = after.sent[KIND_LOAD] - before.sent[KIND_LOAD];
    uint64_t echoed = after.echoed[KIND_LOAD] - before.echoed[KIND_LOAD];
    uint64_t lost = after.lost[KIND_LOAD] - before.lost[KIND_LOAD];
    uint64_t peer_rx = after.peer_rx - before.peer_rx;
    double relayed = (double)(peer_rx + echoed);
    bt_print_head(t);
    printf("\"window\":%u,\"size\":%u,\"rate\":%u,\"setup\":{\"allocated\":%u,\"failed\":%u,"
           "\"wall_s\":%.3f,",
           t->window, t->size, t->rate, allocated, failed, secs(setup));
    jnum("allocs_per_s", ratio(allocated, secs(setup)), 0);
    printf("},\"load\":{\"duration_s\":%.3f,\"sent\":%" PRIu64 ",\"echoed\":%" PRIu64
           ",\"lost\":%" PRIu64 ",\"peer_rx\":%" PRIu64 ",\"relayed\":%.0f,",
           wall, sent, echoed, lost, peer_rx, relayed);
    jnum("relayed_per_s", ratio(relayed, wall), 0);
    putchar(',');
    jnum("server_cpu_s", cpu, 2);
    putchar(',');
    jnum("relayed_per_cpu_s", ratio(relayed, cpu), 0);
    putchar(',');
    jnum("server_cpu_util", ratio(cpu, wall), 2);
    putchar(',');
    jnum("other_cpu_s", other, 2);
    putchar(',');
    jnum("steal_s", steal, 2);
    printf(",\"blocked\":%" PRIu64 "},\"latency\":{\"rate\":%u,\"duration_s\":%.1f,\"relay_us\":",
           after.blocked - before.blocked, t->lat_rate, t->lat_seconds);
    bt_print_path(t, KIND_LAT_RELAY);
    printf(",\"direct_us\":");
    bt_print_path(t, KIND_LAT_DIRECT);
    double r50 = pct_us(&t->lat[KIND_LAT_RELAY], 50), d50 = pct_us(&t->lat[KIND_LAT_DIRECT], 50);
    double r99 = pct_us(&t->lat[KIND_LAT_RELAY], 99), d99 = pct_us(&t->lat[KIND_LAT_DIRECT], 99);
    printf(",\"added_us\":{");
    if (r50 >= 0 && d50 >= 0)
        printf("\"p50\":%.1f,\"p99\":%.1f", r50 - d50, r99 - d99);
    else
        printf("\"p50\":null,\"p99\":null");
    printf("}},\"server_rss_kb\":{");
    jnum("before_setup", (double)rss0, 0);
    putchar(',');
    jnum("after_setup", (double)rss1, 0);
    printf("},\"requests\":%" PRIu64 ",\"deallocated\":%u", t->requests, t->closed);
    bt_print_tail(t);
    return allocated > 0 && failed == 0 && echoed > 0 ? 0 : 1;
}

/* One round: open the allocations, then release them. Adds to the totals. */
typedef struct bt_round_totals {
    unsigned allocated, failed, deallocated, dealloc_failed;
    floe_time_ns alloc_wall, dealloc_wall;
    double alloc_cpu, dealloc_cpu; /* -1: unknown */
    double other, steal;           /* during the allocation phases; -1: unknown */
    uint64_t requests;
} bt_round_totals;

static int bt_round(bt *t, uint32_t round, bt_round_totals *tot, long *rss_after) {
    int err = bt_open_all(t, round);
    if (err) return err;
    uint64_t r0 = t->requests;
    bt_cpu a0, a1;
    bt_cpu_now(t, &a0);
    tot->alloc_wall += bt_drive(t, OP_OPEN, BT_SETUP_LIMIT);
    bt_cpu_now(t, &a1);
    double other, steal, c = bt_cpu_diff(&a0, &a1, &other, &steal);
    tot->requests += t->requests - r0;
    if (rss_after) *rss_after = proc_rss_kb(t->server_pid);
    tot->allocated += t->ready;
    tot->failed += t->failed;
    double c2 = proc_cpu_s(t->server_pid);
    tot->dealloc_wall += bt_drive(t, OP_CLOSE, BT_CLOSE_LIMIT);
    double c3 = proc_cpu_s(t->server_pid);
    tot->deallocated += t->closed;
    tot->dealloc_failed += t->close_failed;
    if (c < 0 || c2 < 0 || c3 < 0) {
        tot->alloc_cpu = tot->dealloc_cpu = -1;
    } else if (tot->alloc_cpu >= 0) {
        tot->alloc_cpu += c;
        tot->dealloc_cpu += c3 - c2;
    }
    if (other < 0 || tot->other < 0) {
        tot->other = tot->steal = -1;
    } else {
        tot->other += other;
        tot->steal += steal;
    }
    bt_free_all(t);
    return FLOE_OK;
}

static int bt_run_alloc(bt *t) {
    int err = FLOE_OK;
    bt_round_totals tot = {0};
    unsigned rounds = 0, first_allocated = 0;
    if (t->warm_allocs > 0) {
        unsigned n = t->n;
        t->n = t->warm_allocs < n ? t->warm_allocs : n;
        err = bt_round(t, 0, &tot, NULL);
        t->n = n;
        bt_progress(t, "warm-up: %u allocated and %u released", tot.allocated, tot.deallocated);
        if (!err && tot.failed > 0) { /* no use going on: report the warm-up's failures */
            tot.alloc_cpu = tot.dealloc_cpu = tot.other = tot.steal = -1;
            rounds = 1;
            err = FLOE_ERR_STATE;
        } else {
            memset(&tot, 0, sizeof tot);
        }
    }
    long rss_before = proc_rss_kb(t->server_pid), rss_after = -1;
    const floe_time_ns start = floe_rt_now(), end = start + (floe_time_ns)(t->seconds * 1e9);
    while (!err && !floe_bench_stopping()) {
        err = bt_round(t, rounds + 1, &tot, rounds == 0 ? &rss_after : NULL);
        if (err) break;
        if (rounds == 0) first_allocated = tot.allocated;
        rounds++;
        bt_progress(t, "round %u: %u allocated, %u failed, %u released so far", rounds,
                    tot.allocated, tot.failed, tot.deallocated);
        if (floe_rt_now() >= end || tot.failed > 0) break;
    }
    if (err && err != FLOE_ERR_STATE)
        fprintf(stderr, "floe " SUB ": setup: %s (%s)\n", floe_strerror(err), strerror(errno));
    if (rounds == 0) return 1;

    double aw = secs(tot.alloc_wall), dw = secs(tot.dealloc_wall);
    bt_print_head(t);
    printf("\"rounds\":%u,\"allocated\":%u,\"failed\":%u,\"alloc_wall_s\":%.3f,", rounds,
           tot.allocated, tot.failed, aw);
    jnum("allocs_per_s", ratio(tot.allocated, aw), 0);
    putchar(',');
    jnum("server_cpu_s", tot.alloc_cpu, 2);
    putchar(',');
    jnum("allocs_per_cpu_s", ratio(tot.allocated, tot.alloc_cpu), 0);
    putchar(',');
    jnum("server_cpu_util", ratio(tot.alloc_cpu, aw), 2);
    putchar(',');
    jnum("other_cpu_s", tot.other, 2);
    putchar(',');
    jnum("steal_s", tot.steal, 2);
    printf(",\"deallocated\":%u,\"dealloc_failed\":%u,\"dealloc_wall_s\":%.3f,", tot.deallocated,
           tot.dealloc_failed, dw);
    jnum("deallocs_per_s", ratio(tot.deallocated, dw), 0);
    putchar(',');
    jnum("dealloc_server_cpu_s", tot.dealloc_cpu, 2);
    putchar(',');
    jnum("requests_per_allocation", ratio((double)tot.requests, tot.allocated), 2);
    printf(",\"rss\":{");
    jnum("before_kb", (double)rss_before, 0);
    putchar(',');
    jnum("after_kb", (double)rss_after, 0);
    putchar(',');
    /* RSS after the first round's allocations, minus before, per allocation of that round
     * (it may come out negative when the server gave memory back meanwhile) */
    if (rss_before >= 0 && rss_after >= 0 && first_allocated > 0)
        printf("\"bytes_per_allocation\":%.0f",
               (double)(rss_after - rss_before) * 1024.0 / first_allocated);
    else
        printf("\"bytes_per_allocation\":null");
    printf("}");
    bt_print_tail(t);
    return tot.allocated > 0 && tot.failed == 0 ? 0 : 1;
}

int floe_bench_turn(int argc, char **argv) {
    static bt t;
    memset(&t, 0, sizeof t);
    t.epfd = t.peer_fd = t.direct.fd = -1;
    int rc = bt_parse(&t, argc, argv);
    if (rc >= 0) return rc;

    size_t n = 0;
    int err = floe_rt_resolve(t.target, FLOE_TURN_PORT, FLOE_AF_NONE, &t.server, 1, &n);
    if (err) return floe_usage_error(SUB, "cannot use '%s': %s", t.target, floe_strerror(err));
    if (!t.allow_remote && !(floe_addr_classify(&t.server, NULL) & FLOE_ADDR_LOOPBACK))
        return floe_usage_error(SUB,
                                "'%s' is not a loopback address (add --allow-remote if you "
                                "mean it)",
                                t.target);
    t.rotate = t.server.family == FLOE_AF_INET4 &&
               (floe_addr_classify(&t.server, NULL) & FLOE_ADDR_LOOPBACK);
    if (floe_rt_random(NULL, t.nonce, sizeof t.nonce) ||
        floe_rt_random(NULL, &t.ip_base, sizeof t.ip_base)) {
        fprintf(stderr, "floe " SUB ": no random bytes\n");
        return 1;
    }
    t.stride = FLOE_TURN_CHANNEL_HEADER + t.size;

    rc = 1;
    t.a = calloc(t.n, sizeof *t.a);
    t.rx = calloc(t.batch, BT_RX_CAP);
    t.rxm = calloc(t.batch, sizeof *t.rxm);
    t.rxv = calloc(t.batch, sizeof *t.rxv);
    if (!t.a || !t.rx || !t.rxm || !t.rxv) {
        fprintf(stderr, "floe " SUB ": out of memory\n");
        goto out;
    }
    for (unsigned i = 0; i < t.n; i++)
        t.a[i].fd = -1;
    for (unsigned i = 0; i < t.batch; i++) {
        t.rxv[i].iov_base = t.rx + (size_t)i * BT_RX_CAP;
        t.rxv[i].iov_len = BT_RX_CAP;
        t.rxm[i].msg_hdr.msg_iov = &t.rxv[i];
        t.rxm[i].msg_hdr.msg_iovlen = 1;
    }
    if ((t.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        perror("floe " SUB ": epoll_create1");
        goto out;
    }
    floe_rt_ignore_sigpipe();
    floe_bench_catch_stop();
    rc = t.relay ? bt_run_relay(&t) : bt_run_alloc(&t);

out:
    if (t.a) bt_free_all(&t);
    bt_alloc_free(&t.direct);
    if (t.peer_fd >= 0) close(t.peer_fd);
    if (t.epfd >= 0) close(t.epfd);
    floe_bench_echo_free(&t.echo);
    for (unsigned k = 0; k < N_KINDS; k++)
        free(t.lat[k].v);
    free(t.a);
    free(t.rx);
    free(t.rxm);
    free(t.rxv);
    return rc;
}
