/* `floe sim`: ICE in the network simulator. `run` plays a scenario file (sim/ for the
 * network, rt/sim/sim_ice_scenario.h for the peers), `check` only parses it, `matrix` runs
 * the built-in NAT matrix (rt/sim/sim_matrix.h). Everything runs in virtual time. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun.h"
#include "sim.h"
#include "sim_ice_scenario.h"
#include "sim_call_matrix.h"
#include "sim_matrix.h"

#define SUB "sim"

static const char help_text[] =
    "usage: floe sim run SCENARIO [--seed N] [--until TIME] [--pcap FILE] [--trace]\n"
    "                    [--timeline] [--stats] [--json]\n"
    "       floe sim check SCENARIO\n"
    "       floe sim matrix [--loss 0|10] [--seed N] [--filter STR] [--show N] [--json]\n"
    "       floe sim calls [--loss 0|10] [--seed N] [--filter STR] [--talk SECONDS]\n"
    "                      [--ladder] [--trace]\n"
    "\n"
    "Runs ICE agents in floe's network simulator: networks with delay, jitter and loss,\n"
    "NATs with the behaviours of RFC 4787, STUN servers and ICE peers, all in one process\n"
    "on a virtual clock. A run depends only on the scenario and the seed: the same ones\n"
    "give the same datagrams at the same nanoseconds on any machine. docs/simulator.md\n"
    "describes the scenario format (networks, hosts, nat, stun-server, ice, signal,\n"
    "expect, stun, discover).\n"
    "\n"
    "commands:\n"
    "  run SCENARIO     load the scenario, run it, and print for each ICE session its\n"
    "                   outcome, the selected pair (candidate types and addresses), the\n"
    "                   time to the selected pair and the checks sent; the mapped address\n"
    "                   of each stun line and the NAT behaviour of each discover line;\n"
    "                   then whether each expect line holds.\n"
    "                     floe sim run tests/sim/scenarios/port-restricted-both.sim\n"
    "  check SCENARIO   parse the scenario only and print the topology it describes.\n"
    "                     floe sim check topo.sim\n"
    "  matrix           run the built-in NAT matrix: alice (controlling) and bob, each\n"
    "                   behind every RFC 4787 NAT type (mapping eim/adm/apdm x filtering\n"
    "                   eif/adf/apdf) or none, plus carrier-grade NAT, two peers behind\n"
    "                   one NAT, hairpinning on and off, and blocked UDP; at 0 %% and\n"
    "                   10 %% loss. One line per cell: the outcome a written rule expects\n"
    "                   (docs/simulator.md), the one the agents got, the time to the\n"
    "                   selected pair against the cell's bound, the checks sent.\n"
    "                     floe sim matrix --loss 0 --filter apdm\n"
    "  calls            the call matrix: a whole SIP call (register, INVITE, 183/PRACK,\n"
    "                   ICE, 180, 200, tones both ways, BYE) between two floe user agents\n"
    "                   in every matrix cell whose sides have UDP, without and with TURN\n"
    "                   (names ending in +turn). One line per call: what the rule expects\n"
    "                   (a pair, or a clean failure without a ring), what the call did.\n"
    "                     floe sim calls --loss 10 --filter apdm-eif --ladder\n"
    "\n"
    "options of run:\n"
    "  --seed N         the world's seed (overrides the scenario's seed line).\n"
    "  --until TIME     run exactly until this virtual time (20s, 1500ms); without it the\n"
    "                   run stops as soon as every peer is done, at 60 s at the latest.\n"
    "  --pcap FILE      capture every datagram on every network into FILE (pcapng, one\n"
    "                   interface per network; open it with wireshark or tshark).\n"
    "  --trace          print one line per datagram and network as it happens:\n"
    "                     0.061000000 internet 203.0.113.1:49152 > 192.0.2.1:3478 len 20\n"
    "                     delivered stun Binding request\n"
    "  --timeline       print what the peers do as it happens: candidates, descriptions\n"
    "                   sent and applied, pair states, selected pairs, completion.\n"
    "  --stats          add the simulator's counters and each agent's.\n"
    "  --json           print the results as one JSON object on one line (keys: seed,\n"
    "                   end_s, sessions[] with offerer, answerer, outcome, pair, time_s,\n"
    "                   consistent, checks_sent, peers[]; expectations[] with expect, ok,\n"
    "                   got, why; counters with --stats).\n"
    "\n"
    "options of matrix:\n"
    "  --loss 0|10      run the cells of one loss level only (default: both).\n"
    "  --seed N         the seed of every cell (default 4787).\n"
    "  --filter STR     run only the cells whose line contains STR, e.g. 'apdm-apdf',\n"
    "                   'cgnat', 'none eim'.\n"
    "  --show N         print the scenario of cell N instead of running anything (feed\n"
    "                   it to floe sim run --trace to see the cell in detail).\n"
    "  --json           one JSON object per cell and one for the summary, one per line.\n"
    "  Progress goes to stderr when it is a terminal.\n"
    "\n"
    "options of calls:\n"
    "  --loss, --seed, --filter  as for matrix.\n"
    "  --talk SECONDS   audio after the answer, 0.5 to 60 (default 3).\n"
    "  --ladder         print each call's SIP messages and UA events as they happen.\n"
    "  --trace          print every datagram of each call, as run --trace does.\n"
    "\n"
    "  -h, --help       show this help.\n"
    "\n"
    "exit status: 0 when every expectation holds; 1 when one does not (or the run\n"
    "failed); 2 for a usage error or a mistake in the scenario, reported on one line as\n"
    "FILE:LINE: reason.\n";

/* ---- options ----------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool is_help(const char *a) {
    return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}

/* ---- run --------------------------------------------------------------------------- */

typedef struct run_opts {
    const char *file, *pcap;
    uint64_t seed;
    bool seed_set, trace, timeline, stats, json;
    floe_time_ns until;
} run_opts;

/* What a datagram is, for the trace: the STUN message type, or "data". */
static void annotate(const uint8_t *p, size_t len, char *buf, size_t cap) {
    floe_stun_msg m;
    buf[0] = '\0';
    if (len == 0) return;
    if (p[0] < 4 && floe_stun_msg_decode(p, len, 0, &m) == FLOE_OK) {
        snprintf(buf, cap, " stun %s %s%s", floe_stun_method_name(m.method),
                 floe_stun_class_name(m.cls),
                 floe_stun_msg_find(&m, FLOE_STUN_ATTR_USE_CANDIDATE) ? " USE-CANDIDATE" : "");
        return;
    }
    if (p[0] >= 128 && p[0] <= 191) snprintf(buf, cap, " data");
}

static void on_trace(void *ctx, const floe_sim_trace *rec) {
    (void)ctx;
    char line[512], what[80];
    floe_sim_trace_format(rec, line, sizeof line);
    annotate(rec->data, rec->len, what, sizeof what);
    printf("%s%s\n", line, what);
}

static void on_timeline(void *ctx, const floe_sim_ice *p, const floe_sim_ice_entry *e) {
    (void)ctx;
    char line[512];
    floe_sim_ice_entry_format(p, e, line, sizeof line);
    printf("%s\n", line);
}

static int load(floe_sim_ice_scenario *s, const char *file) {
    char err[512];
    struct stat st;
    if (stat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "floe " SUB ": %s: not a scenario file\n", file);
        return 2;
    }
    int rc = floe_sim_ice_scenario_load(s, file, err, sizeof err);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": %s\n", err);
        return 2;
    }
    return 0;
}

static int cmd_run(int argc, char **argv) {
    run_opts o;
    memset(&o, 0, sizeof o);
    o.until = FLOE_TIME_NEVER;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (is_help(a)) {
            fputs(help_text, stdout);
            return 0;
        } else if (!strcmp(a, "--trace")) {
            o.trace = true;
        } else if (!strcmp(a, "--timeline")) {
            o.timeline = true;
        } else if (!strcmp(a, "--stats")) {
            o.stats = true;
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (floe_cli_value(argc, argv, &i, "--seed", &v)) {
            if (!parse_u64(v, &o.seed))
                return floe_usage_error(SUB, "--seed needs a number (decimal or 0x hex)");
            o.seed_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--until", &v)) {
            if (!v || floe_sim_parse_duration(v, &o.until) != FLOE_OK || o.until == 0 ||
                o.until > FLOE_S(3600))
                return floe_usage_error(SUB, "--until needs a time up to 3600s, such as 30s");
        } else if (floe_cli_value(argc, argv, &i, "--pcap", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--pcap needs a file name");
            o.pcap = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s' for run", a);
        } else if (o.file) {
            return floe_usage_error(SUB, "one scenario at a time ('%s' and '%s')", o.file, a);
        } else {
            o.file = a;
        }
    }
    if (!o.file) return floe_usage_error(SUB, "missing the scenario: floe sim run SCENARIO");

    floe_sim_ice_scenario *s;
    if (floe_sim_ice_scenario_new(&s) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": out of memory\n");
        return 1;
    }
    int status = load(s, o.file);
    floe_sim *sim = floe_sim_ice_scenario_world(s);
    FILE *pf = NULL;
    floe_sim_pcap *pc = NULL;
    char err[512];
    if (status == 0 && o.seed_set && floe_sim_reseed(sim, o.seed) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": --seed: the scenario has already started running\n");
        status = 2;
    }
    if (status == 0 && o.timeline) floe_sim_ice_scenario_set_log(s, on_timeline, NULL);
    if (status == 0 && floe_sim_ice_scenario_prepare(s, err, sizeof err) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": %s: %s\n", o.file, err);
        status = 2;
    }
    if (status == 0 && o.pcap) {
        pf = fopen(o.pcap, "wb");
        if (!pf || floe_sim_pcap_open(sim, pf, &pc) != FLOE_OK) {
            fprintf(stderr, "floe " SUB ": cannot write %s: %s\n", o.pcap,
                    pf ? "capture failed" : strerror(errno));
            status = 1;
        }
    }
    if (status == 0 && o.trace && floe_sim_tracer_add(sim, on_trace, NULL) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot trace: too many tracers\n");
        status = 1;
    }
    if (status == 0) {
        int rc = floe_sim_ice_scenario_run(s, o.until);
        if (rc != FLOE_OK) {
            fprintf(stderr, "floe " SUB ": the run stopped: %s\n", floe_strerror(rc));
            status = 1;
        }
        unsigned flags = o.stats ? FLOE_SIM_ICE_PRINT_STATS : 0;
        if (o.json)
            floe_sim_ice_scenario_print_json(s, stdout, flags);
        else
            floe_sim_ice_scenario_print(s, stdout, flags);
        size_t bad = floe_sim_ice_scenario_failed_expectations(s);
        fflush(stdout); /* the results first, then the verdict on stderr */
        if (bad) {
            fprintf(stderr, "floe " SUB ": %zu expectation(s) of %s do not hold\n", bad, o.file);
            status = 1;
        }
    }
    if (pc && floe_sim_pcap_close(pc) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": writing %s failed\n", o.pcap);
        status = 1;
    }
    if (pf && fclose(pf) != 0 && status == 0) {
        fprintf(stderr, "floe " SUB ": writing %s failed: %s\n", o.pcap, strerror(errno));
        status = 1;
    }
    floe_sim_ice_scenario_free(s);
    if (fflush(stdout) != 0 && status == 0) status = 1;
    return status;
}

/* ---- check ------------------------------------------------------------------------- */

static int cmd_check(int argc, char **argv) {
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(help_text, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return floe_usage_error(SUB, "unknown option '%s' for check", argv[i]);
        if (file)
            return floe_usage_error(SUB, "one scenario at a time ('%s' and '%s')", file, argv[i]);
        file = argv[i];
    }
    if (!file) return floe_usage_error(SUB, "missing the scenario: floe sim check SCENARIO");
    floe_sim_ice_scenario *s;
    if (floe_sim_ice_scenario_new(&s) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": out of memory\n");
        return 1;
    }
    int status = load(s, file);
    if (status == 0) {
        floe_sim_ice_scenario_print_topology(s, stdout);
        printf("%s: ok\n", file);
    }
    floe_sim_ice_scenario_free(s);
    return status;
}

/* ---- matrix ------------------------------------------------------------------------ */

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cell_key(const floe_sim_matrix_cell *c, char *buf, size_t cap) {
    snprintf(buf, cap, "%s %s %u%%", c->a_name, c->b_name, c->loss_pct);
}

static void time_text(floe_time_ns t, char *buf, size_t cap) {
    if (t == FLOE_TIME_NEVER)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.3f s", (double)t / 1e9);
}

/* The options matrix and calls share: --loss 0|10, --seed N, --filter TEXT. True when
 * argv[*i] is one of them, with *rc 0 or the usage error's status. */
static bool matrix_option(int argc, char **argv, int *i, int *loss, uint64_t *seed,
                          const char **filter, int *rc) {
    const char *v = NULL;
    *rc = 0;
    if (floe_cli_value(argc, argv, i, "--loss", &v)) {
        if (!v || (strcmp(v, "0") && strcmp(v, "10") && strcmp(v, "0%") && strcmp(v, "10%")))
            *rc = floe_usage_error(SUB, "--loss needs 0 or 10 (percent)");
        else
            *loss = v[0] == '1' ? 10 : 0;
    } else if (floe_cli_value(argc, argv, i, "--seed", &v)) {
        if (!parse_u64(v, seed))
            *rc = floe_usage_error(SUB, "--seed needs a number (decimal or 0x hex)");
    } else if (floe_cli_value(argc, argv, i, "--filter", &v)) {
        if (!v || !*v)
            *rc = floe_usage_error(SUB, "--filter needs a string");
        else
            *filter = v;
    } else {
        return false;
    }
    return true;
}

static int cmd_matrix(int argc, char **argv) {
    int loss = -1, opt_rc;
    uint64_t seed = FLOE_SIM_MATRIX_SEED;
    const char *filter = NULL;
    bool json = false;
    uint64_t show = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        uint64_t u;
        if (is_help(a)) {
            fputs(help_text, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (matrix_option(argc, argv, &i, &loss, &seed, &filter, &opt_rc)) {
            if (opt_rc) return opt_rc;
        } else if (floe_cli_value(argc, argv, &i, "--show", &v)) {
            if (!parse_u64(v, &u) || u == 0 || u > floe_sim_matrix_count())
                return floe_usage_error(SUB, "--show needs a cell number, 1 to %zu",
                                        floe_sim_matrix_count());
            show = u;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s' for matrix", a);
        } else {
            return floe_usage_error(SUB, "unexpected argument '%s' for matrix", a);
        }
    }
    size_t total = floe_sim_matrix_count();
    floe_sim_matrix_cell *cells = calloc(total, sizeof *cells);
    if (!cells) {
        fprintf(stderr, "floe " SUB ": out of memory\n");
        return 1;
    }
    floe_sim_matrix_cells(cells, total);
    if (show) {
        char text[FLOE_SIM_MATRIX_SCENARIO_MAX];
        int st = 0;
        if (floe_sim_matrix_scenario(&cells[show - 1], seed, text, sizeof text) == 0) {
            fprintf(stderr, "floe " SUB ": cell %llu: scenario too long\n",
                    (unsigned long long)show);
            st = 1;
        } else {
            fputs(text, stdout);
        }
        free(cells);
        return st;
    }
    bool progress = isatty(STDERR_FILENO);
    size_t n_run = 0, n_ok = 0, n_outcome = 0, n_bound = 0, n_err = 0;
    for (size_t i = 0; i < total; i++) {
        char key[64];
        cell_key(&cells[i], key, sizeof key);
        if ((loss >= 0 && cells[i].loss_pct != (unsigned)loss) || (filter && !strstr(key, filter)))
            cells[i].index = 0; /* not selected */
        else
            n_run++;
    }
    if (n_run == 0) {
        free(cells);
        return floe_usage_error(SUB, "no cell matches the filter");
    }
    if (!json) {
        printf("floe sim matrix: %zu cell(s), seed %llu (floe sim matrix --show N prints cell N)\n",
               n_run, (unsigned long long)seed);
        printf("%4s  %-12s %-12s %4s  %-12s %-24s %9s %6s %6s  %s\n", "#", "nat A", "nat B", "loss",
               "expected", "got", "time", "bound", "checks", "result");
    }
    double t_start = wall_now();
    size_t done = 0;
    for (size_t i = 0; i < total; i++) {
        const floe_sim_matrix_cell *c = &cells[i];
        if (c->index == 0) continue;
        if (progress)
            fprintf(stderr, "\r[%zu/%zu] %s vs %s, %u%% loss   ", done + 1, n_run, c->a_name,
                    c->b_name, c->loss_pct);
        floe_sim_matrix_result r;
        int rc = floe_sim_matrix_run(c, seed, &r);
        done++;
        if (rc != FLOE_OK) {
            n_err++;
            if (!r.why[0]) snprintf(r.why, sizeof r.why, "%s", floe_strerror(rc));
        } else if (r.ok) {
            n_ok++;
        } else if (!r.outcome_ok) {
            n_outcome++;
        } else {
            n_bound++;
        }
        char t[32], bound[32];
        time_text(r.time, t, sizeof t);
        floe_time_ns b = rc == FLOE_OK ? r.expect.bound : c->expect.bound;
        snprintf(bound, sizeof bound, "%g s", (double)b / 1e9);
        if (progress) fprintf(stderr, "\r\033[K");
        if (json) {
            printf("{\"cell\":%u,\"a\":\"%s\",\"b\":\"%s\",\"loss\":%u,\"expected\":\"%s\","
                   "\"got\":\"%s\",",
                   c->index, c->a_name, c->b_name, c->loss_pct, r.expected, r.got);
            if (r.time == FLOE_TIME_NEVER)
                printf("\"time_s\":null,");
            else
                printf("\"time_s\":%.9f,", (double)r.time / 1e9);
            printf("\"bound_s\":%.3f,\"checks\":%llu,\"data_sent\":%u,\"echoes\":%u,\"ok\":%s",
                   (double)b / 1e9, (unsigned long long)r.checks, r.data_sent, r.echoes,
                   r.ok && rc == FLOE_OK ? "true" : "false");
            printf(",\"rule\":\"%s\"", rc == FLOE_OK ? r.expect.why : c->expect.why);
            if (r.note[0]) printf(",\"note\":\"%s\"", r.note);
            if (!r.ok || rc != FLOE_OK) printf(",\"why\":\"%s\"", r.why);
            printf("}\n");
        } else {
            bool ok = r.ok && rc == FLOE_OK;
            printf("%4u  %-12s %-12s %3u%%  %-12s %-24s %9s %6s %6llu  %s%s%s%s%s\n", c->index,
                   c->a_name, c->b_name, c->loss_pct, r.expected, r.got, t, bound,
                   (unsigned long long)r.checks, ok ? "ok" : "MISS: ", ok ? "" : r.why,
                   r.note[0] ? " (" : "", r.note, r.note[0] ? ")" : "");
        }
        fflush(stdout);
    }
    double wall = wall_now() - t_start;
    size_t missed = n_run - n_ok;
    if (json)
        printf("{\"cells\":%zu,\"ok\":%zu,\"missed\":%zu,\"wrong_outcome\":%zu,\"over_bound\":%zu,"
               "\"errors\":%zu,\"seed\":%llu,\"wall_s\":%.3f}\n",
               n_run, n_ok, missed, n_outcome, n_bound, n_err, (unsigned long long)seed, wall);
    else
        printf("summary: %zu cell(s), %zu as expected, %zu missed (%zu wrong outcome, %zu over "
               "the time bound or without echoes, %zu error(s)); %.2f s wall\n",
               n_run, n_ok, missed, n_outcome, n_bound, n_err, wall);
    free(cells);
    if (fflush(stdout) != 0) return 1;
    return missed ? 1 : 0;
}

/* ---- calls ------------------------------------------------------------------------- */

static int cmd_calls(int argc, char **argv) {
    int loss = -1, opt_rc;
    uint64_t seed = FLOE_SIM_MATRIX_SEED;
    const char *filter = NULL;
    floe_sim_call_matrix_config cfg;
    memset(&cfg, 0, sizeof cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (is_help(a)) {
            fputs(help_text, stdout);
            return 0;
        } else if (!strcmp(a, "--ladder")) {
            cfg.ladder = stdout;
        } else if (!strcmp(a, "--trace")) {
            cfg.tracer = on_trace;
        } else if (matrix_option(argc, argv, &i, &loss, &seed, &filter, &opt_rc)) {
            if (opt_rc) return opt_rc;
        } else if (floe_cli_value(argc, argv, &i, "--talk", &v)) {
            char *end = NULL;
            double x = v ? strtod(v, &end) : -1;
            if (!v || end == v || *end || !(x >= 0.5 && x <= 60))
                return floe_usage_error(SUB, "--talk needs seconds from 0.5 to 60");
            cfg.talk = (floe_time_ns)(x * 1e9);
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(SUB, "unknown option '%s' for calls", a);
        } else {
            return floe_usage_error(SUB, "unexpected argument '%s' for calls", a);
        }
    }
    floe_sim_matrix_cell cells[512];
    size_t total = floe_sim_call_matrix_cells(cells, sizeof cells / sizeof cells[0]);
    size_t n_run = 0, n_ok = 0, n_ghost = 0;
    for (size_t i = 0; i < total; i++) {
        char key[64];
        cell_key(&cells[i], key, sizeof key);
        if ((loss >= 0 && cells[i].loss_pct != (unsigned)loss) || (filter && !strstr(key, filter)))
            cells[i].index = 0; /* not selected */
        else
            n_run++;
    }
    if (n_run == 0) return floe_usage_error(SUB, "no cell matches the filter");
    double t_start = wall_now();
    printf("floe sim calls: seed %llu\n", (unsigned long long)seed);
    printf("%4s  %-12s %-18s %4s  %-18s %-28s %7s %7s  %s\n", "#", "nat A", "nat B", "loss",
           "expected", "got", "ice", "180", "result");
    for (size_t i = 0; i < total; i++) {
        const floe_sim_matrix_cell *c = &cells[i];
        if (c->index == 0) continue;
        if (cfg.ladder)
            printf("-- cell %u: %s vs %s, %u%% loss\n", c->index, c->a_name, c->b_name,
                   c->loss_pct);
        floe_sim_call_matrix_result r;
        int rc = floe_sim_call_matrix_run(c, seed, &cfg, &r);
        bool ok = rc == FLOE_OK && r.ok;
        n_ok += ok;
        n_ghost += r.ghost_ring;
        char ice[24] = "-", ring[24] = "-";
        if (r.ms_bob_ice >= 0) snprintf(ice, sizeof ice, "%lld", (long long)r.ms_bob_ice);
        if (r.ms_bob_180 >= 0) snprintf(ring, sizeof ring, "%lld", (long long)r.ms_bob_180);
        printf("%4u  %-12s %-18s %3u%%  %-18s %-28s %7s %7s  %s%s%s%s%s\n", c->index, c->a_name,
               c->b_name, c->loss_pct, r.expected, r.got, ice, ring,
               ok ? "ok" : "MISS: ", ok ? "" : r.why, r.note[0] ? " (" : "", r.note,
               r.note[0] ? ")" : "");
        fflush(stdout);
    }
    printf("summary: %zu call(s), %zu as the rule says, %zu missed, %zu ghost ring(s); %.2f s "
           "wall (ice, 180: ms after the dial at bob)\n",
           n_run, n_ok, n_run - n_ok, n_ghost, wall_now() - t_start);
    if (fflush(stdout) != 0) return 1;
    return n_ok == n_run ? 0 : 1;
}

int floe_cmd_sim(int argc, char **argv) {
    if (argc < 2) return floe_usage_error(SUB, "missing a command: run, check, matrix or calls");
    const char *c = argv[1];
    if (is_help(c)) {
        fputs(help_text, stdout);
        return 0;
    }
    if (!strcmp(c, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(c, "check")) return cmd_check(argc - 1, argv + 1);
    if (!strcmp(c, "matrix")) return cmd_matrix(argc - 1, argv + 1);
    if (!strcmp(c, "calls")) return cmd_calls(argc - 1, argv + 1);
    return floe_usage_error(SUB, "unknown command '%s' (run, check, matrix or calls)", c);
}
