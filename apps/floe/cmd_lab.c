/* `floe lab`: the call of `floe demo`, but between real processes through real Linux NATs.
 * It builds five network namespaces joined by veth pairs (the topology of
 * tests/lib/call_lab.bash), NATs them with nftables, runs `floe server` and `floe proxy`
 * in the public one and `floe answer` / `floe call` behind the NATs, relays their progress
 * lines, checks the recordings for the tones and removes everything it made. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "rt_loop.h"
#include "rt_sys.h"
#include "tone_verdict.h"

#define SUB "lab"
#define SRV "198.18.0.1" /* the servers, on the public namespace's loopback */
#define SIP_PORT "5060"
#define STUN_PORT "3478"
#define TURN_USER "lab"
#define TURN_PASS "floe-lab-secret"
#define REALM "floe.test"
#define N_NS 5
#define MAX_CHILDREN 8
#define LINE_MAX_LEN 8192
#define STOP_WAIT FLOE_S(3) /* SIGTERM, then SIGKILL after this long */
#define READY_WAIT FLOE_S(10)

static const char help_text[] =
    "usage: floe lab [--nat-a KIND] [--nat-b KIND] [--no-turn] [--duration S]\n"
    "                [--timeout S] [--keep] [--pcap FILE] [--json]\n"
    "\n"
    "Places the call of `floe demo` across real Linux NATs: alice calls bob, each behind\n"
    "their own NAT, through a SIP proxy, with a STUN and TURN server on the \"Internet\".\n"
    "Every piece is a real process (floe server, floe proxy, floe answer, floe call) and\n"
    "every packet goes through the kernel: network namespaces, veth links, nftables NAT\n"
    "and conntrack. Needs root (and the commands ip and nft); without root `floe demo`\n"
    "runs the same call in the simulator.\n"
    "\n"
    "The topology (P is floe lab's PID, so two runs do not collide):\n"
    "\n"
    "  floe-lab-a-P      floe-lab-nat-a-P          floe-lab-pub-P\n"
    "  alice 10.0.1.2 -- 10.0.1.1 | 198.18.1.2 -- 198.18.1.1\n"
    "                                               198.18.0.1: floe server :3478 (STUN,\n"
    "                                               TURN), floe proxy :5060 (SIP)\n"
    "  bob   10.0.2.2 -- 10.0.2.1 | 198.18.2.2 -- 198.18.2.1\n"
    "  floe-lab-b-P      floe-lab-nat-b-P\n"
    "\n"
    "  The public namespace routes between the two NATs and holds the servers;\n"
    "  198.18.0.0/15 (RFC 2544) plays the public addresses, private ranges are\n"
    "  blackholed there (a check to a host candidate vanishes, as on the Internet).\n"
    "  Each NAT namespace masquerades its LAN, forwards only what the LAN started and\n"
    "  drops whatever reaches it unasked. IPv6 is off everywhere. Nothing is linked to\n"
    "  the host's own network: no packet of the lab can leave it.\n"
    "\n"
    "The call: bob (floe answer) registers sip:bob@198.18.0.1 with the proxy; alice\n"
    "(floe call) registers too and calls him. Both gather host, server-reflexive and\n"
    "(with TURN) relayed candidates; bob rings once ICE found a path and answers; alice\n"
    "sends 440 Hz, bob 1000 Hz, for --duration seconds, then alice hangs up. Both\n"
    "recordings are checked for the other side's tone.\n"
    "\n"
    "options:\n"
    "  --nat-a KIND     alice's NAT: cone (default) or symmetric.\n"
    "                     cone       nftables masquerade: one public port per socket\n"
    "                                whatever the destination (endpoint-independent\n"
    "                                mapping), replies only from where it sent to\n"
    "                                (address-and-port-dependent filtering)\n"
    "                     symmetric  masquerade fully-random: a new random port per\n"
    "                                destination; two of them leave only TURN\n"
    "  --nat-b KIND     bob's NAT (default cone).\n"
    "  --no-turn        no TURN server for the user agents (TURN is on by default):\n"
    "                   symmetric on both sides then cannot connect.\n"
    "  --duration S     seconds of audio before alice hangs up, 0.5 to 60 (default 3).\n"
    "  --timeout S      give up on the whole run after S seconds (default 60).\n"
    "  --keep           keep the work directory (every process's log, the recordings,\n"
    "                   the nftables rules); it is also kept when the call fails.\n"
    "  --pcap FILE      capture UDP on the public namespace's two links (dumpcap) into\n"
    "                   FILE (pcapng), for wireshark or tshark.\n"
    "  --json           print the result as one JSON object instead of the summary.\n"
    "  --quiet          do not relay the processes' progress lines.\n"
    "  -h, --help       this text.\n"
    "\n"
    "Output: the progress lines of every process on stderr, each with the time since the\n"
    "start and who said it (alice, bob, proxy, server), then a summary: the pair each\n"
    "side selected, INVITE -> 180 and 200 -> first RTP, packets, the tones, PASS or FAIL.\n"
    "\n"
    "Clean-up: on every exit (also on errors, SIGINT and SIGTERM) the processes it\n"
    "started are stopped by PID and the namespaces it created are deleted.\n"
    "\n"
    "examples:\n"
    "  sudo floe lab\n"
    "  sudo floe lab --nat-a symmetric --nat-b symmetric --json\n"
    "  sudo floe lab --pcap call.pcapng --keep\n"
    "\n"
    "Exit status: 0 PASS, 1 FAIL, 2 usage error or a lab that cannot be built (not root,\n"
    "ip or nft missing, ...).\n";

typedef enum nat_kind { NAT_CONE, NAT_SYMMETRIC } nat_kind;

typedef struct lab_opts {
    nat_kind nat[2];
    bool turn, keep, json, quiet;
    double duration, timeout;
    const char *pcap;
} lab_opts;

typedef enum child_role { CH_SERVER, CH_PROXY, CH_BOB, CH_ALICE, CH_PCAP } child_role;

typedef struct child {
    struct lab *lab;
    const char *name; /* "server", "proxy", "bob", "alice", "pcap" */
    child_role role;
    pid_t pid; /* 0: not running (never started, or reaped) */
    int err_fd;
    FILE *log; /* its stderr, as received */
    char line[LINE_MAX_LEN];
    size_t line_len;
    bool exited;
    int status; /* exit status, or 128 + signal */
    bool ready; /* the line we waited for was seen */
    const char *ready_text;
} child;

typedef enum phase { PH_SERVERS, PH_BOB, PH_CALL, PH_DONE } phase;

typedef struct lab {
    lab_opts o;
    pid_t me;
    char exe[4096];
    char tmp[256];
    char ns[N_NS][32]; /* pub, nat-a, nat-b, a, b */
    bool ns_made[N_NS];
    char ip_cmd[4096], nft_cmd[4096], dumpcap_cmd[4096];
    floe_rt_loop *loop;
    floe_rt_timer *deadline, *kick, *step;
    child ch[MAX_CHILDREN];
    size_t n_ch;
    phase ph;
    floe_time_ns t0;
    int stop_signal;
    char why[512];
} lab;

enum { NS_PUB, NS_NAT_A, NS_NAT_B, NS_A, NS_B };
static const char *const ns_tag[N_NS] = {"pub", "nat-a", "nat-b", "a", "b"};

/* ---- messages ------------------------------------------------------------------------- */

static void note(lab *l, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(lab *l, const char *who, const char *fmt, ...) {
    if (l->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%8.1f ms] %-6s ", (double)(floe_rt_now() - l->t0) / 1e6, who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The first reason wins; the run then stops. */
static void fail(lab *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(lab *l, const char *fmt, ...) {
    if (!l->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->why, sizeof l->why, fmt, ap);
        va_end(ap);
        fprintf(stderr, "floe " SUB ": %s\n", l->why);
    }
    l->ph = PH_DONE;
    if (l->loop) floe_rt_loop_stop(l->loop);
}

/* ---- options --------------------------------------------------------------------------- */

static bool parse_secs(const char *v, double lo, double hi, double *out) {
    if (!v) return false;
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || (*end && strcmp(end, "s")) || !(x >= lo && x <= hi)) return false;
    *out = x;
    return true;
}

static int parse_opts(int argc, char **argv, lab_opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->turn = true;
    o->duration = 3.0;
    o->timeout = 60.0;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (!strcmp(a, "--turn")) {
            o->turn = true;
        } else if (!strcmp(a, "--no-turn")) {
            o->turn = false;
        } else if (floe_cli_value(argc, argv, &i, "--nat-a", &v) ||
                   floe_cli_value(argc, argv, &i, "--nat-b", &v)) {
            int k = strstr(a, "--nat-b") == a ? 1 : 0;
            if (v && !strcmp(v, "cone"))
                o->nat[k] = NAT_CONE;
            else if (v && !strcmp(v, "symmetric"))
                o->nat[k] = NAT_SYMMETRIC;
            else
                return floe_usage_error(SUB, "--nat-%c: unknown NAT kind '%s' (cone or symmetric)",
                                        k ? 'b' : 'a', v ? v : "");
        } else if (floe_cli_value(argc, argv, &i, "--duration", &v)) {
            if (!parse_secs(v, 0.5, 60, &o->duration))
                return floe_usage_error(SUB, "--duration takes seconds from 0.5 to 60, not '%s'",
                                        v ? v : "");
        } else if (floe_cli_value(argc, argv, &i, "--timeout", &v)) {
            if (!parse_secs(v, 5, FLOE_CLI_TIMEOUT_MAX_S, &o->timeout))
                return floe_usage_error(SUB, "--timeout takes seconds from 5 to %g, not '%s'",
                                        FLOE_CLI_TIMEOUT_MAX_S, v ? v : "");
        } else if (floe_cli_value(argc, argv, &i, "--pcap", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--pcap needs a FILE");
            o->pcap = v;
        } else {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        }
    }
    if (o->timeout < o->duration + 5)
        return floe_usage_error(SUB, "--timeout %g leaves no room for a call of --duration %g",
                                o->timeout, o->duration);
    return 0;
}

static const char *nat_name(nat_kind k) {
    return k == NAT_SYMMETRIC ? "symmetric" : "cone";
}

/* ---- helper programs ---------------------------------------------------------------------- */

/* name found in PATH (or the sbin directories root has) into out. */
static bool find_cmd(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
    for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        if (!*dir) continue;
        snprintf(out, cap, "%s/%s", dir, name);
        if (access(out, X_OK) == 0) return true;
    }
    out[0] = '\0';
    return false;
}

/* The child's side of a start: its own signal mask and handlers, stdio, and (ns >= 0) the
 * network namespace. Only async-signal-safe calls; never returns on failure. */
static void child_setup(const lab *l, int ns, int in_fd, int out_fd, int err_fd) {
    /* Its own process group: a ^C on the terminal reaches floe lab only, which stops the
     * user agents first (their BYEs still cross the proxy), then the servers. Should floe
     * lab die without cleaning up, the children get SIGTERM from the kernel. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != l->me) _exit(125);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the loop blocked SIGINT, SIGTERM, SIGCHLD */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (in_fd >= 0) dup2(in_fd, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    if (ns >= 0) {
        char p[96];
        snprintf(p, sizeof p, "/run/netns/%s", l->ns[ns]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(126);
        close(fd);
    }
}

static int open_log(const lab *l, const char *name, int flags) {
    char p[320];
    snprintf(p, sizeof p, "%s/%s", l->tmp, name);
    return open(p, flags | O_CLOEXEC, 0644);
}

/* Runs argv to its end (a setup step): stdout and stderr into setup.log. ns >= 0: inside
 * that namespace. Returns its exit status (127: cannot run it), and the last line it wrote
 * into err. */
static int run(lab *l, int ns, char *const argv[], char *err, size_t cap) {
    int log = open_log(l, "setup.log", O_WRONLY | O_CREAT | O_APPEND);
    if (log >= 0) {
        dprintf(log, "$");
        for (int i = 0; argv[i]; i++)
            dprintf(log, " %s", argv[i]);
        dprintf(log, "%s%s\n", ns >= 0 ? "   # in " : "", ns >= 0 ? l->ns[ns] : "");
    }
    int efd[2];
    if (pipe2(efd, O_CLOEXEC) != 0) {
        if (log >= 0) close(log);
        snprintf(err, cap, "pipe: %s", strerror(errno));
        return 127;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(l, ns, devnull, log, efd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(efd[1]);
    if (devnull >= 0) close(devnull);
    char out[1024];
    size_t n = 0;
    ssize_t r;
    while (pid > 0 && (r = read(efd[0], out + n, sizeof out - 1 - n)) > 0) {
        if (log >= 0) (void)!write(log, out + n, (size_t)r);
        n += (size_t)r;
        if (n >= sizeof out - 1) n = 0; /* keep the tail only */
    }
    close(efd[0]);
    if (log >= 0) close(log);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    char *last = strrchr(out, '\n');
    snprintf(err, cap, "%s", last ? last + 1 : out);
    if (pid < 0) {
        snprintf(err, cap, "fork: %s", strerror(errno));
        return 127;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A signal that arrived while setting up (the loop holds them): true to give up. */
static bool interrupted(lab *l) {
    floe_rt_loop_run_once(l->loop, 0);
    return l->stop_signal != 0;
}

/* Runs `ip ARGS...` (NULL-terminated); on failure records why and returns false. */
static bool ip(lab *l, ...) {
    char *argv[24];
    int n = 0;
    argv[n++] = l->ip_cmd;
    va_list ap;
    va_start(ap, l);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 23)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    if (interrupted(l)) return false;
    char err[300];
    int rc = run(l, -1, argv, err, sizeof err);
    if (rc == 0) return true;
    char cmd[300] = "";
    size_t k = 0;
    for (int i = 1; argv[i] && k < sizeof cmd - 1; i++)
        k += (size_t)snprintf(cmd + k, sizeof cmd - k, "%s%s", i > 1 ? " " : "", argv[i]);
    fail(l, "'ip %s' failed (%d): %s", cmd, rc, err[0] ? err : "no message");
    return false;
}

/* Writes value into a sysctl file (path under /proc/sys) inside namespace ns. */
static bool sysctl_ns(lab *l, int ns, const char *path, const char *value, bool must) {
    if (interrupted(l)) return false;
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(l, ns, -1, -1, -1);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) _exit(errno == ENOENT ? 3 : 1);
        _exit(write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : 1);
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    bool ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok && must) fail(l, "cannot set %s to %s in %s", path, value, l->ns[ns]);
    return ok || !must;
}

/* ---- the topology (tests/lib/call_lab.bash, lab_topology) ---------------------------------- */

static bool add_ns(lab *l, int k) {
    if (!ip(l, "netns", "add", l->ns[k], NULL)) return false;
    l->ns_made[k] = true;
    if (!ip(l, "-n", l->ns[k], "link", "set", "lo", "up", NULL)) return false;
    /* IPv4 only: quiet links, no IPv6 candidates (a kernel without IPv6 has no such file) */
    sysctl_ns(l, k, "/proc/sys/net/ipv6/conf/all/disable_ipv6", "1", false);
    sysctl_ns(l, k, "/proc/sys/net/ipv6/conf/default/disable_ipv6", "1", false);
    return true;
}

/* A veth pair from dev1 (with addr1) in namespace n1 to dev2 (addr2) in n2, both up. */
static bool link_pair(lab *l, int n1, const char *dev1, const char *addr1, int n2, const char *dev2,
                      const char *addr2) {
    return ip(l, "link", "add", dev1, "netns", l->ns[n1], "type", "veth", "peer", "name", dev2,
              "netns", l->ns[n2], NULL) &&
           ip(l, "-n", l->ns[n1], "addr", "add", addr1, "dev", dev1, NULL) &&
           ip(l, "-n", l->ns[n2], "addr", "add", addr2, "dev", dev2, NULL) &&
           ip(l, "-n", l->ns[n1], "link", "set", dev1, "up", NULL) &&
           ip(l, "-n", l->ns[n2], "link", "set", dev2, "up", NULL);
}

/* The NAT of one side: masquerade (fully-random for symmetric), forward only what the LAN
 * started, drop anything unasked that reaches the NAT itself (no ICMP port unreachable,
 * which would make an ICE agent give up a pair before the other side's check opens it). */
static bool nat_rules(lab *l, int ns, const char *wan, const char *lan, nat_kind kind) {
    char name[64], path[320];
    snprintf(name, sizeof name, "%s.nft", ns_tag[ns]);
    snprintf(path, sizeof path, "%s/%s", l->tmp, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fail(l, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    fprintf(f,
            "table ip floe_lab_nat {\n"
            "  chain nat_out {\n"
            "    type nat hook postrouting priority srcnat;\n"
            "    oifname \"%s\" masquerade%s\n"
            "  }\n"
            "  chain forward_filter {\n"
            "    type filter hook forward priority filter; policy drop;\n"
            "    ct state established,related accept\n"
            "    iifname \"%s\" oifname \"%s\" accept\n"
            "  }\n"
            "  chain input_filter {\n"
            "    type filter hook input priority filter; policy drop;\n"
            "    iifname \"lo\" accept\n"
            "    ct state established,related accept\n"
            "  }\n"
            "}\n",
            wan, kind == NAT_SYMMETRIC ? " fully-random" : "", lan, wan);
    if (fclose(f) != 0) {
        fail(l, "cannot write %s", path);
        return false;
    }
    if (interrupted(l)) return false;
    char *argv[] = {l->nft_cmd, "-f", path, NULL};
    char err[300];
    int rc = run(l, ns, argv, err, sizeof err);
    if (rc != 0) fail(l, "nft -f %s in %s failed (%d): %s", path, l->ns[ns], rc, err);
    return rc == 0;
}

static bool build_topology(lab *l) {
    for (int k = 0; k < N_NS; k++)
        if (!add_ns(l, k)) return false;
    if (!ip(l, "-n", l->ns[NS_PUB], "addr", "add", SRV "/32", "dev", "lo", NULL) ||
        !sysctl_ns(l, NS_PUB, "/proc/sys/net/ipv4/ip_forward", "1", true))
        return false;
    /* the Internet does not route private addresses: dropped without an ICMP error */
    static const char *const priv[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"};
    for (int i = 0; i < 3; i++)
        if (!ip(l, "-n", l->ns[NS_PUB], "route", "add", "blackhole", priv[i], NULL)) return false;
    for (int s = 0; s < 2; s++) {
        int nat = s ? NS_NAT_B : NS_NAT_A, ua = s ? NS_B : NS_A, n = s + 1;
        char c = s ? 'b' : 'a';
        char pubdev[16], wandev[16], landev[16], hostdev[16];
        char pubaddr[32], wanaddr[32], lanaddr[32], hostaddr[32], gw_lan[32], gw_pub[32];
        /* at most 15 characters: the side and the PID */
        snprintf(pubdev, sizeof pubdev, "p%c%ld", c, (long)l->me);
        snprintf(wandev, sizeof wandev, "w%c%ld", c, (long)l->me);
        snprintf(landev, sizeof landev, "l%c%ld", c, (long)l->me);
        snprintf(hostdev, sizeof hostdev, "h%c%ld", c, (long)l->me);
        snprintf(pubaddr, sizeof pubaddr, "198.18.%d.1/24", n);
        snprintf(wanaddr, sizeof wanaddr, "198.18.%d.2/24", n);
        snprintf(lanaddr, sizeof lanaddr, "10.0.%d.1/24", n);
        snprintf(hostaddr, sizeof hostaddr, "10.0.%d.2/24", n);
        snprintf(gw_lan, sizeof gw_lan, "10.0.%d.1", n);
        snprintf(gw_pub, sizeof gw_pub, "198.18.%d.1", n);
        if (!link_pair(l, NS_PUB, pubdev, pubaddr, nat, wandev, wanaddr) ||
            !link_pair(l, nat, landev, lanaddr, ua, hostdev, hostaddr) ||
            !ip(l, "-n", l->ns[ua], "route", "add", "default", "via", gw_lan, NULL) ||
            !ip(l, "-n", l->ns[nat], "route", "add", "default", "via", gw_pub, NULL) ||
            !sysctl_ns(l, nat, "/proc/sys/net/ipv4/ip_forward", "1", true) ||
            !nat_rules(l, nat, wandev, landev, l->o.nat[s]))
            return false;
    }
    return true;
}

static void delete_namespaces(lab *l) {
    for (int k = N_NS - 1; k >= 0; k--) {
        if (!l->ns_made[k]) continue;
        char *argv[] = {l->ip_cmd, "netns", "del", l->ns[k], NULL};
        char err[300];
        if (run(l, -1, argv, err, sizeof err) != 0)
            fprintf(stderr, "floe " SUB ": could not delete namespace %s: %s\n", l->ns[k], err);
        else
            l->ns_made[k] = false;
    }
}

/* ---- children ---------------------------------------------------------------------------- */

static void on_child_output(void *arg, int fd, uint32_t events);

/* What a progress line says without its "floe call: [  12.3 ms] " prefix. */
static const char *strip_prefix(const char *s) {
    if (!strncmp(s, "floe ", 5)) {
        const char *c = strchr(s, ':');
        if (c && c - s < 16) s = c + 1;
        while (*s == ' ')
            s++;
    }
    if (*s == '[') {
        const char *e = strstr(s, " ms] ");
        if (e && e - s < 16) s = e + 5;
    }
    return s;
}

static void child_line(lab *l, child *c, const char *s) {
    if (c->log) fprintf(c->log, "%s\n", s);
    if (!c->ready && c->ready_text && strstr(s, c->ready_text)) {
        c->ready = true;
        floe_rt_timer_arm(l->kick, floe_rt_now()); /* move on, from the loop */
    }
    if (c->role == CH_PCAP) return;
    const char *text = strip_prefix(s);
    if (c->role == CH_SERVER && strlen(text) > 160) /* its counters: in server.log */
        note(l, c->name, "%.120s ... (%s/server.log)", text, l->tmp);
    else
        note(l, c->name, "%s", text);
}

/* Reads what is there; false when nothing more can be read now (EAGAIN, or closed). */
static bool read_output(child *c, int fd) {
    lab *l = c->lab;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
    if (n <= 0) {
        if (c->line_len) {
            c->line[c->line_len] = '\0';
            child_line(l, c, c->line);
            c->line_len = 0;
        }
        floe_rt_loop_unwatch(l->loop, fd);
        close(fd);
        c->err_fd = -1;
        return false;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->line_len == sizeof c->line - 1) {
            c->line[c->line_len] = '\0';
            child_line(l, c, c->line);
            c->line_len = 0;
            if (buf[i] == '\n') continue;
        }
        c->line[c->line_len++] = buf[i];
    }
    return true;
}

static void on_child_output(void *arg, int fd, uint32_t events) {
    (void)events;
    read_output(arg, fd);
}

/* The rest of an ended child's output. */
static void drain(child *c) {
    while (c->err_fd >= 0 && read_output(c, c->err_fd)) {
    }
}

/* Starts argv[0] (an absolute path) in namespace ns: stdout into NAME.out, stderr to us. */
static child *start(lab *l, child_role role, const char *name, int ns, char *const argv[],
                    const char *ready_text) {
    if (l->n_ch == MAX_CHILDREN) {
        fail(l, "internal: too many processes");
        return NULL;
    }
    child *c = &l->ch[l->n_ch];
    memset(c, 0, sizeof *c);
    c->lab = l;
    c->name = name;
    c->role = role;
    c->err_fd = -1;
    c->ready_text = ready_text;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.log", name);
    int logfd = open_log(l, fn, O_WRONLY | O_CREAT | O_TRUNC);
    c->log = logfd >= 0 ? fdopen(logfd, "w") : NULL;
    if (c->log) setvbuf(c->log, NULL, _IOLBF, 0);
    snprintf(fn, sizeof fn, "%s.out", name);
    int out = open_log(l, fn, O_WRONLY | O_CREAT | O_TRUNC);
    int efd[2];
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || devnull < 0 || pipe2(efd, O_CLOEXEC) != 0) {
        if (out >= 0) close(out);
        if (devnull >= 0) close(devnull);
        fail(l, "cannot start %s: %s", name, strerror(errno));
        return NULL;
    }
    if (c->log) {
        fprintf(c->log, "#");
        for (int i = 0; argv[i]; i++)
            fprintf(c->log, " %s", argv[i]);
        fprintf(c->log, "   (in %s)\n", ns >= 0 ? l->ns[ns] : "the host");
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(l, ns, devnull, out, efd[1]);
        execv(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(efd[1]);
    close(out);
    close(devnull);
    if (pid < 0) {
        close(efd[0]);
        fail(l, "cannot start %s: %s", name, strerror(errno));
        return NULL;
    }
    l->n_ch++;
    c->pid = pid;
    c->err_fd = efd[0];
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
    if (floe_rt_loop_watch(l->loop, c->err_fd, FLOE_RT_READ, on_child_output, c) != FLOE_OK) {
        fail(l, "cannot watch the output of %s", name);
        return NULL;
    }
    note(l, "lab", "started %s (pid %ld) in %s", name, (long)pid, ns >= 0 ? l->ns[ns] : "");
    return c;
}

static child *find_child(lab *l, child_role role) {
    for (size_t i = 0; i < l->n_ch; i++)
        if (l->ch[i].role == role) return &l->ch[i];
    return NULL;
}

/* Reaps whichever of our children ended (by PID: only ours). */
static void reap(lab *l) {
    for (size_t i = 0; i < l->n_ch; i++) {
        child *c = &l->ch[i];
        if (c->pid <= 0) continue;
        int st = 0;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r != c->pid) continue;
        c->pid = 0;
        c->exited = true;
        c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        /* the rest of its output first: the pipe is still readable */
        drain(c);
        if (WIFSIGNALED(st))
            note(l, "lab", "%s ended by signal %d", c->name, WTERMSIG(st));
        else
            note(l, "lab", "%s exited with status %d", c->name, c->status);
    }
}

static bool is_ua(const child *c) {
    return c->role == CH_ALICE || c->role == CH_BOB;
}

/* SIGTERM to the running children of one kind (user agents, or the others), SIGKILL to
 * those still alive after STOP_WAIT. */
static void stop_group(lab *l, bool uas) {
    bool any = false;
    for (size_t i = 0; i < l->n_ch; i++) {
        child *c = &l->ch[i];
        if (c->pid <= 0 || is_ua(c) != uas) continue;
        kill(c->pid, SIGTERM);
        any = true;
    }
    if (!any) return;
    floe_time_ns until = floe_rt_now() + STOP_WAIT + (uas ? FLOE_S(1) : 0);
    for (;;) {
        reap(l);
        bool alive = false;
        for (size_t i = 0; i < l->n_ch; i++)
            if (l->ch[i].pid > 0 && is_ua(&l->ch[i]) == uas) alive = true;
        if (!alive) return;
        if (floe_rt_now() >= until) break;
        /* keep reading their output, so that none blocks on a full pipe */
        floe_rt_loop_run_once(l->loop, FLOE_MS(20));
    }
    for (size_t i = 0; i < l->n_ch; i++) {
        child *c = &l->ch[i];
        if (c->pid <= 0 || is_ua(c) != uas) continue;
        fprintf(stderr, "floe " SUB ": %s (pid %ld) ignored SIGTERM: SIGKILL\n", c->name,
                (long)c->pid);
        kill(c->pid, SIGKILL);
        int st;
        while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
        }
        c->pid = 0;
        c->exited = true;
        c->status = 128 + SIGKILL;
        drain(c);
    }
}

/* Every child: the user agents first (a BYE needs the proxy), then the servers. */
static void stop_children(lab *l) {
    stop_group(l, true);
    stop_group(l, false);
}

/* ---- the run ------------------------------------------------------------------------------ */

static void start_servers(lab *l) {
    char sock[320];
    snprintf(sock, sizeof sock, "%s/server.sock", l->tmp);
    char *srv[24] = {l->exe,      "server", "--listen",        SRV ":" STUN_PORT,
                     "--control", sock,     "--drain-timeout", "0",
                     NULL};
    int n = 8;
    if (l->o.turn) {
        char *turn[] = {
            "--realm",    REALM, "--user", TURN_USER ":" TURN_PASS, "--allow-peer", "198.18.0.0/15",
            "--relay-ip", SRV,   NULL};
        for (int i = 0; turn[i]; i++)
            srv[n++] = turn[i];
        srv[n] = NULL;
    }
    if (!start(l, CH_SERVER, "server", NS_PUB, srv, "listening on")) return;
    char *px[] = {l->exe, "proxy", "--listen", SRV ":" SIP_PORT, "--domain", SRV, "--stats", NULL};
    start(l, CH_PROXY, "proxy", NS_PUB, px, "listening on");
}

static void start_pcap(lab *l) {
    char a[16], b[16];
    snprintf(a, sizeof a, "pa%ld", (long)l->me);
    snprintf(b, sizeof b, "pb%ld", (long)l->me);
    char *argv[] = {l->dumpcap_cmd,
                    "-q",
                    "-i",
                    a,
                    "-f",
                    "udp",
                    "-i",
                    b,
                    "-f",
                    "udp",
                    "-a",
                    "duration:3600",
                    "-w",
                    (char *)l->o.pcap,
                    NULL};
    start(l, CH_PCAP, "pcap", NS_PUB, argv, "Capturing on");
}

static void start_bob(lab *l) {
    char rec[320], timeout[32];
    snprintf(rec, sizeof rec, "%s/bob.wav", l->tmp);
    snprintf(timeout, sizeof timeout, "%g", l->o.timeout);
    char *argv[40] = {l->exe,
                      "answer",
                      "--listen",
                      "10.0.2.2:" SIP_PORT,
                      "--register",
                      "sip:bob@" SRV,
                      "--local-addr",
                      "10.0.2.2",
                      "--stun",
                      SRV ":" STUN_PORT,
                      "--once",
                      "--tone",
                      "1000",
                      "--record",
                      rec,
                      "--json",
                      "--timeout",
                      timeout,
                      NULL};
    int n = 18;
    if (l->o.turn) {
        char *turn[] = {"--turn",          SRV ":" STUN_PORT, "--turn-user", TURN_USER,
                        "--turn-password", TURN_PASS,         NULL};
        for (int i = 0; turn[i]; i++)
            argv[n++] = turn[i];
        argv[n] = NULL;
    }
    start(l, CH_BOB, "bob", NS_B, argv, "registered as bob@");
}

static void start_alice(lab *l) {
    char rec[320], dur[32], timeout[32];
    snprintf(rec, sizeof rec, "%s/alice.wav", l->tmp);
    snprintf(dur, sizeof dur, "%g", l->o.duration);
    double t = l->o.timeout - l->o.duration;
    snprintf(timeout, sizeof timeout, "%g", t > 30 ? 30 : t);
    char *argv[40] = {l->exe,
                      "call",
                      "--proxy",
                      SRV ":" SIP_PORT,
                      "--register",
                      "--user",
                      "alice",
                      "--domain",
                      SRV,
                      "--local-addr",
                      "10.0.1.2",
                      "--stun",
                      SRV ":" STUN_PORT,
                      "--tone",
                      "440",
                      "--record",
                      rec,
                      "--duration",
                      dur,
                      "--timeout",
                      timeout,
                      "--json",
                      NULL};
    int n = 22;
    if (l->o.turn) {
        char *turn[] = {"--turn",          SRV ":" STUN_PORT, "--turn-user", TURN_USER,
                        "--turn-password", TURN_PASS,         NULL};
        for (int i = 0; turn[i]; i++)
            argv[n++] = turn[i];
    }
    argv[n++] = "sip:bob@" SRV;
    argv[n] = NULL;
    start(l, CH_ALICE, "alice", NS_A, argv, NULL);
}

/* Moves the run on: servers ready -> bob; bob registered -> alice; both done -> stop. */
static void advance(lab *l) {
    if (l->ph == PH_DONE) return;
    child *srv = find_child(l, CH_SERVER), *px = find_child(l, CH_PROXY),
          *pc = find_child(l, CH_PCAP), *bob = find_child(l, CH_BOB),
          *alice = find_child(l, CH_ALICE);
    /* a server that ends early ends the run */
    for (size_t i = 0; i < l->n_ch; i++) {
        child *c = &l->ch[i];
        if (c->exited && c->role != CH_ALICE && c->role != CH_BOB) {
            fail(l, "%s exited early (status %d); its log: %s/%s.log", c->name, c->status, l->tmp,
                 c->name);
            return;
        }
    }
    if (l->ph == PH_SERVERS) {
        if (!srv || !px || !srv->ready || !px->ready || (pc && !pc->ready)) return;
        l->ph = PH_BOB;
        start_bob(l);
        if (l->ph != PH_DONE) floe_rt_timer_arm(l->step, floe_rt_now() + READY_WAIT);
        return;
    }
    if (l->ph == PH_BOB) {
        if (!bob) return;
        if (bob->exited) {
            fail(l, "bob (floe answer) exited before registering (status %d)", bob->status);
            return;
        }
        if (!bob->ready) return;
        floe_rt_timer_cancel(l->step);
        l->ph = PH_CALL;
        start_alice(l);
        return;
    }
    if (l->ph == PH_CALL && alice && bob && alice->exited && !bob->exited &&
        !floe_rt_timer_armed(l->step))
        floe_rt_timer_arm(l->step, floe_rt_now() + FLOE_S(5)); /* bob's BYE may be lost */
    if (l->ph == PH_CALL && alice && bob && alice->exited && bob->exited) {
        l->ph = PH_DONE;
        floe_rt_loop_stop(l->loop);
    }
}

/* A ready line was seen: move on (from the loop, not from inside the output handler). */
static void on_kick(void *arg, floe_rt_timer *t) {
    (void)t;
    advance(arg);
}

/* The bound on a start-up step: the servers listening, bob registered. */
static void on_step(void *arg, floe_rt_timer *t) {
    (void)t;
    lab *l = arg;
    child *srv = find_child(l, CH_SERVER), *px = find_child(l, CH_PROXY),
          *pc = find_child(l, CH_PCAP), *bob = find_child(l, CH_BOB);
    if (l->ph == PH_SERVERS) {
        if (srv && !srv->ready)
            fail(l, "floe server did not start listening within 10 s");
        else if (px && !px->ready)
            fail(l, "floe proxy did not start listening within 10 s");
        else if (pc && !pc->ready)
            fail(l, "dumpcap did not start capturing within 10 s");
    } else if (l->ph == PH_BOB && bob && !bob->ready) {
        fail(l, "bob (floe answer) did not register with the proxy within 10 s");
    } else if (l->ph == PH_CALL && bob && bob->pid > 0) {
        note(l, "lab", "alice is done but bob still waits 5 s later: SIGTERM to bob");
        kill(bob->pid, SIGTERM);
    }
}

static void on_deadline(void *arg, floe_rt_timer *t) {
    (void)t;
    lab *l = arg;
    fail(l, "the run did not finish within --timeout %g s", l->o.timeout);
}

static void on_signal(void *arg, int signo) {
    lab *l = arg;
    if (signo == SIGCHLD) {
        reap(l);
        advance(l);
        return;
    }
    l->stop_signal = signo;
    fail(l, "interrupted by %s: stopping",
         signo == SIGINT    ? "SIGINT"
         : signo == SIGTERM ? "SIGTERM"
                            : "SIGHUP");
}

/* ---- the result ---------------------------------------------------------------------------- */

/* The text after "KEY": in s (NULL when absent). The JSON read here is floe's own output
 * (call_rt.c, cmd_proxy.c), whose keys are known and in a known order. */
static const char *jafter(const char *s, const char *key) {
    if (!s) return NULL;
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(s, k);
    return p ? p + strlen(k) : NULL;
}

static long long jnum(const char *s, const char *key) {
    const char *p = jafter(s, key);
    if (!p || !((*p >= '0' && *p <= '9') || *p == '-')) return -1;
    return strtoll(p, NULL, 10);
}

static void jstr(const char *s, const char *key, char *out, size_t cap) {
    const char *p = jafter(s, key);
    out[0] = '\0';
    if (!p || *p != '"') return;
    size_t n = 0;
    for (p++; *p && *p != '"' && n + 1 < cap; p++)
        out[n++] = *p;
    out[n] = '\0';
}

static bool jtrue(const char *s, const char *key) {
    const char *p = jafter(s, key);
    return p && !strncmp(p, "true", 4);
}

/* The last JSON line a child wrote on stdout ("" when none), at most cap - 1 bytes. */
static void read_json_line(const lab *l, const char *name, char *out, size_t cap) {
    char p[320], line[8192];
    snprintf(p, sizeof p, "%s/%s.out", l->tmp, name);
    out[0] = '\0';
    FILE *f = fopen(p, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (line[0] == '{' && n > 1 && line[n - 1] == '}' && n < cap) memcpy(out, line, n + 1);
    }
    fclose(f);
}

typedef struct side_result {
    const char *name;
    int exit_status; /* -1: never ran to an end */
    char json[8192]; /* its --json line */
    bool ok;         /* its own verdict: answered, media both ways */
    char ltype[16], laddr[64], rtype[16], raddr[64];
    long long ms_180, ms_200, ms_first_rx, sent, received, lost;
    floe_tone_verdict tone; /* of the other side's tone */
    char tone_err[300];
} side_result;

static void side_of(lab *l, child_role role, const char *name, double want, side_result *r) {
    memset(r, 0, sizeof *r);
    r->name = name;
    child *c = find_child(l, role);
    r->exit_status = c && c->exited ? c->status : -1;
    read_json_line(l, name, r->json, sizeof r->json);
    const char *j = r->json[0] ? r->json : NULL;
    r->ok = jtrue(j, "ok");
    const char *sel = jafter(j, "selected");
    if (sel && *sel == '{') {
        const char *lo = jafter(sel, "local"), *re = jafter(sel, "remote");
        jstr(lo, "type", r->ltype, sizeof r->ltype);
        jstr(lo, "addr", r->laddr, sizeof r->laddr);
        jstr(re, "type", r->rtype, sizeof r->rtype);
        jstr(re, "addr", r->raddr, sizeof r->raddr);
    }
    const char *t = jafter(j, "timeline");
    r->ms_180 = jnum(t, "180");
    r->ms_200 = jnum(t, "200");
    r->ms_first_rx = jnum(t, "first_rtp_received");
    r->sent = jnum(j, "packets_sent");
    r->received = jnum(j, "packets_received");
    r->lost = jnum(j, "packets_lost");
    char wav[320];
    snprintf(wav, sizeof wav, "%s/%s.wav", l->tmp, name);
    if (c && floe_tone_verdict_wav(wav, want, &r->tone, r->tone_err, sizeof r->tone_err) != FLOE_OK)
        r->tone.heard = false;
}

#define MS_NONE (-1000000000LL)

static long long ms_between(long long a, long long b) {
    return a < 0 || b < 0 ? MS_NONE : b - a;
}

static void json_ms(const char *key, long long v) {
    if (v == MS_NONE || v < -100000)
        printf("\"%s\":null,", key);
    else
        printf("\"%s\":%lld,", key, v);
}

static const char *ms_text(long long v, char *buf, size_t cap) {
    if (v == MS_NONE || v < -100000)
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%lld ms", v);
    return buf;
}

static void json_text(const char *key, const char *v, bool comma) {
    printf("\"%s\":\"", key);
    for (const char *p = v; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    printf("\"%s", comma ? "," : "");
}

static void json_side(const side_result *r, double heard_hz) {
    printf("{\"exit\":%d,\"ok\":%s,", r->exit_status, r->ok ? "true" : "false");
    printf("\"pair\":{");
    json_text("local", r->ltype[0] ? r->ltype : "none", true);
    json_text("local_addr", r->laddr, true);
    json_text("remote", r->rtype[0] ? r->rtype : "none", true);
    json_text("remote_addr", r->raddr, false);
    printf("},");
    json_ms("ms_invite_to_180", r->ms_180 < 0 ? MS_NONE : r->ms_180);
    json_ms("ms_200_to_first_rtp", ms_between(r->ms_200, r->ms_first_rx));
    printf("\"packets_sent\":%lld,\"packets_received\":%lld,\"packets_lost\":%lld,", r->sent,
           r->received, r->lost);
    printf("\"tone\":{\"hz\":%g,\"heard\":%s,\"ratio\":%.3f,\"seconds\":%.2f},", heard_hz,
           r->tone.heard ? "true" : "false", r->tone.r.ratio, (double)r->tone.samples / 8000);
    printf("\"result\":%s}", r->json[0] ? r->json : "null");
}

static void text_side(const side_result *r) {
    char t1[32], t2[32];
    printf("  %-6s ", r->name);
    if (r->ltype[0])
        printf("pair %s %s -> %s %s", r->ltype, r->laddr, r->rtype, r->raddr);
    else
        printf("no selected pair");
    printf("\n         INVITE -> 180: %s, 200 -> first RTP: %s; RTP %lld sent, %lld received, "
           "%lld lost; exit %d%s\n",
           ms_text(r->ms_180 < 0 ? MS_NONE : r->ms_180, t1, sizeof t1),
           ms_text(ms_between(r->ms_200, r->ms_first_rx), t2, sizeof t2), r->sent, r->received,
           r->lost, r->exit_status, r->ok ? "" : " (not ok)");
}

static bool report(lab *l, bool ran) {
    side_result a, b;
    side_of(l, CH_ALICE, "alice", FLOE_TONE_CALLEE_HZ, &a);
    side_of(l, CH_BOB, "bob", FLOE_TONE_CALLER_HZ, &b);
    char proxy[2048];
    read_json_line(l, "proxy", proxy, sizeof proxy);
    bool pass = ran && !l->why[0] && a.exit_status == 0 && b.exit_status == 0 && a.ok && b.ok &&
                a.tone.heard && b.tone.heard;
    bool relay = !strcmp(a.ltype, "relay") || !strcmp(a.rtype, "relay") ||
                 !strcmp(b.ltype, "relay") || !strcmp(b.rtype, "relay");
    double elapsed = (double)(floe_rt_now() - l->t0) / 1e9;
    if (l->o.json) {
        printf("{\"pass\":%s,", pass ? "true" : "false");
        json_text("nat_a", nat_name(l->o.nat[0]), true);
        json_text("nat_b", nat_name(l->o.nat[1]), true);
        printf("\"turn\":%s,\"duration_s\":%g,\"relay\":%s,", l->o.turn ? "true" : "false",
               l->o.duration, relay ? "true" : "false");
        printf("\"tones\":{\"440_at_bob\":%s,\"1000_at_alice\":%s,\"ratio_at_bob\":%.3f,"
               "\"ratio_at_alice\":%.3f},",
               b.tone.heard ? "true" : "false", a.tone.heard ? "true" : "false", b.tone.r.ratio,
               a.tone.r.ratio);
        printf("\"alice\":");
        json_side(&a, FLOE_TONE_CALLEE_HZ);
        printf(",\"bob\":");
        json_side(&b, FLOE_TONE_CALLER_HZ);
        printf(",\"proxy\":%s,\"seconds\":%.2f,\"pid\":%ld,", proxy[0] ? proxy : "null", elapsed,
               (long)l->me);
        json_text("workdir", l->o.keep || !pass ? l->tmp : "", l->why[0] != 0);
        if (l->why[0]) json_text("error", l->why, false);
        printf("}\n");
        fflush(stdout);
        return pass;
    }
    printf("\nresult (alice behind a %s NAT, bob behind a %s NAT, TURN %s):\n",
           nat_name(l->o.nat[0]), nat_name(l->o.nat[1]), l->o.turn ? "on" : "off");
    text_side(&a);
    text_side(&b);
    printf("  440 Hz alice -> bob:  %s (%.0f %% of %.2f s received is that tone)%s%s\n",
           b.tone.heard ? "heard" : "NOT heard", 100 * b.tone.r.ratio,
           (double)b.tone.samples / 8000, b.tone_err[0] ? ": " : "", b.tone_err);
    printf("  1000 Hz bob -> alice: %s (%.0f %% of %.2f s received is that tone)%s%s\n",
           a.tone.heard ? "heard" : "NOT heard", 100 * a.tone.r.ratio,
           (double)a.tone.samples / 8000, a.tone_err[0] ? ": " : "", a.tone_err);
    if (proxy[0])
        printf("  proxy: %lld registered, %lld requests and %lld responses forwarded, %lld "
               "answered, %lld malformed\n",
               jnum(proxy, "registered"), jnum(proxy, "requests_forwarded"),
               jnum(proxy, "responses_forwarded"), jnum(proxy, "answered"),
               jnum(proxy, "drop_malformed"));
    if (l->why[0]) printf("  stopped: %s\n", l->why);
    printf("  %.1f s in all%s%s\n", elapsed, l->o.keep || !pass ? "; logs in " : "",
           l->o.keep || !pass ? l->tmp : "");
    printf("%s\n", pass ? "PASS" : "FAIL");
    fflush(stdout);
    return pass;
}

/* Removes the work directory and the files in it (all of them ours). */
static void remove_tmp(lab *l) {
    static const char *const files[] = {
        "setup.log",  "pub.nft",   "nat-a.nft", "nat-b.nft", "server.sock", "server.log",
        "server.out", "proxy.log", "proxy.out", "bob.log",   "bob.out",     "bob.wav",
        "alice.log",  "alice.out", "alice.wav", "pcap.log",  "pcap.out",    NULL};
    char p[400];
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", l->tmp, files[i]);
        unlink(p);
    }
    if (rmdir(l->tmp) != 0)
        fprintf(stderr, "floe " SUB ": %s is not empty: left in place\n", l->tmp);
}

/* ---- entry ---------------------------------------------------------------------------------- */

int floe_cmd_lab(int argc, char **argv) {
    static lab lb;
    lab *l = &lb;
    memset(l, 0, sizeof *l);
    bool help;
    int rc = parse_opts(argc, argv, &l->o, &help);
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    if (rc) return rc;
    if (geteuid() != 0) {
        fprintf(stderr, "floe " SUB ": needs root: it creates network namespaces, veth links and "
                        "nftables rules (sudo floe lab). 'floe demo' runs the same call through "
                        "simulated NATs without any privilege.\n");
        return 2;
    }
    if (!find_cmd("ip", l->ip_cmd, sizeof l->ip_cmd)) {
        fprintf(stderr, "floe " SUB ": the 'ip' command is missing (Debian package iproute2)\n");
        return 2;
    }
    if (!find_cmd("nft", l->nft_cmd, sizeof l->nft_cmd)) {
        fprintf(stderr, "floe " SUB ": the 'nft' command is missing (Debian package nftables)\n");
        return 2;
    }
    if (l->o.pcap && !find_cmd("dumpcap", l->dumpcap_cmd, sizeof l->dumpcap_cmd)) {
        fprintf(stderr, "floe " SUB ": --pcap needs dumpcap (Debian package wireshark-common)\n");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", l->exe, sizeof l->exe - 1);
    if (n <= 0) {
        fprintf(stderr, "floe " SUB ": cannot find my own executable: %s\n", strerror(errno));
        return 2;
    }
    l->exe[n] = '\0';
    l->me = getpid();
    for (int k = 0; k < N_NS; k++)
        snprintf(l->ns[k], sizeof l->ns[k], "floe-lab-%s-%ld", ns_tag[k], (long)l->me);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(l->tmp, sizeof l->tmp, "%s/floe-lab-%ld-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp",
             (long)l->me);
    if (!mkdtemp(l->tmp)) {
        fprintf(stderr, "floe " SUB ": cannot make a work directory %s: %s\n", l->tmp,
                strerror(errno));
        return 2;
    }
    floe_rt_ignore_sigpipe();
    l->t0 = floe_rt_now();
    int status = 2;
    if (floe_rt_loop_new(&l->loop) != FLOE_OK ||
        floe_rt_timer_new(&l->deadline, l->loop, on_deadline, l) != FLOE_OK ||
        floe_rt_timer_new(&l->kick, l->loop, on_kick, l) != FLOE_OK ||
        floe_rt_timer_new(&l->step, l->loop, on_step, l) != FLOE_OK ||
        floe_rt_loop_on_signal(l->loop, SIGINT, on_signal, l) != FLOE_OK ||
        floe_rt_loop_on_signal(l->loop, SIGTERM, on_signal, l) != FLOE_OK ||
        floe_rt_loop_on_signal(l->loop, SIGHUP, on_signal, l) != FLOE_OK ||
        floe_rt_loop_on_signal(l->loop, SIGCHLD, on_signal, l) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot set up the event loop: %s\n", strerror(errno));
        floe_rt_loop_free(l->loop);
        remove_tmp(l);
        return 2;
    }
    note(l, "lab",
         "building the lab: namespaces floe-lab-{pub,nat-a,nat-b,a,b}-%ld, alice "
         "behind a %s NAT, bob behind a %s NAT; work directory %s",
         (long)l->me, nat_name(l->o.nat[0]), nat_name(l->o.nat[1]), l->tmp);
    bool ran = false;
    if (build_topology(l)) {
        note(l, "lab",
             "topology up: servers on " SRV ", alice 10.0.1.2 -> 198.18.1.2, bob "
             "10.0.2.2 -> 198.18.2.2");
        floe_rt_timer_arm(l->deadline, l->t0 + floe_cli_timeout_ns(l->o.timeout));
        floe_rt_timer_arm(l->step, floe_rt_now() + READY_WAIT);
        start_servers(l);
        if (l->o.pcap && l->ph != PH_DONE) start_pcap(l);
        if (l->ph != PH_DONE && floe_rt_loop_run(l->loop) != FLOE_OK)
            fail(l, "event loop failed: %s", strerror(errno));
        ran = find_child(l, CH_BOB) != NULL; /* from here on a failure is the call's */
    }
    stop_children(l);
    delete_namespaces(l);
    if (!ran && !l->stop_signal) {
        status = 2; /* the lab itself could not be built or started */
        if (l->o.json) {
            printf("{\"pass\":false,");
            json_text("workdir", l->tmp, true);
            json_text("error", l->why[0] ? l->why : "setup failed", false);
            printf("}\n");
        }
        fprintf(stderr, "floe " SUB ": setup failed; what was run is in %s/setup.log\n", l->tmp);
    } else {
        status = report(l, ran) ? 0 : 1;
    }
    for (size_t i = 0; i < l->n_ch; i++)
        if (l->ch[i].log) fclose(l->ch[i].log);
    floe_rt_loop_free(l->loop);
    if (status == 0 && !l->o.keep) remove_tmp(l);
    return status;
}
