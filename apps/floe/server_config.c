/* `floe server` options: built-in defaults < config file < command line. */
#include "server_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/stun.h"

static const char usage_text[] =
    "usage: floe server [options]\n"
    "       floe server --stats [--control PATH]\n"
    "\n"
    "A STUN server (RFC 8489, with RFC 5389 and RFC 3489 clients) over UDP, TCP and TLS.\n"
    "\n"
    "listening:\n"
    "  --listen [SCHEME://]ADDR[:PORT]  listen here; repeat for more addresses. Without a\n"
    "                          scheme: UDP and TCP on that address. Schemes: udp, tcp, tls.\n"
    "                          IPv6 addresses go in brackets: --listen [::1]:3478. The port\n"
    "                          defaults to 3478 (5349 for tls); :0 picks a free one.\n"
    "                          Default: 0.0.0.0:3478 and [::]:3478 (UDP and TCP).\n"
    "  --tls-cert FILE         certificate chain (PEM) for tls:// listeners\n"
    "  --tls-key FILE          private key (PEM) for tls:// listeners\n"
    "  --max-streams N         concurrent TCP/TLS connections (default 4096)\n"
    "  --stream-idle SEC       close TCP/TLS connections idle this long (default 300)\n"
    "\n"
    "behaviour:\n"
    "  --rfc5780               enable NAT behaviour discovery (RFC 5780): CHANGE-REQUEST,\n"
    "                          RESPONSE-PORT, OTHER-ADDRESS. Off by default. Needs exactly one\n"
    "                          UDP listen address (the primary) and --alt-address.\n"
    "  --alt-address IP:PORT   the alternate address for --rfc5780; IP and port must both\n"
    "                          differ from the primary's (e.g. 127.0.0.1:3478 + 127.0.0.2:3479)\n"
    "  --software TEXT         send a SOFTWARE attribute (default: none, to keep answers small)\n"
    "  --no-classic            drop RFC 3489 requests (no magic cookie) instead of answering\n"
    "\n"
    "operation:\n"
    "  --config FILE           read settings from FILE: one 'key = value' per line, keys as the\n"
    "                          long options without dashes (listen may repeat), '#' comments,\n"
    "                          'yes'/'no' for switches. Command-line options win.\n"
    "  --control PATH          Unix socket that serves the counters to 'floe server --stats'\n"
    "                          (default /run/floe-server.sock as root, else\n"
    "                          $XDG_RUNTIME_DIR/floe-server.sock or /tmp/floe-server-UID.sock)\n"
    "  --stats                 print the counters of the server at --control as JSON and exit\n"
    "  --check-config          validate the settings, print them, and exit\n"
    "  -h, --help              this text\n"
    "\n"
    "signals: SIGTERM/SIGINT stop cleanly (final counters on stderr), SIGUSR1 prints the\n"
    "counters as one JSON line on stderr.\n"
    "\n"
    "examples:\n"
    "  floe server --listen 0.0.0.0:3478 --listen [::]:3478\n"
    "  floe server --listen 192.0.2.1:3478 --rfc5780 --alt-address 192.0.2.2:3479\n"
    "  floe server --listen tls://0.0.0.0:5349 --tls-cert cert.pem --tls-key key.pem\n"
    "  floe server --stats\n";

void server_settings_default(server_settings *s) {
    memset(s, 0, sizeof *s);
    s->classic = true;
    s->max_streams = 4096;
    s->stream_idle_s = 300;
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        snprintf(s->control, sizeof s->control, "/run/floe-server.sock");
    else if (rt && *rt)
        snprintf(s->control, sizeof s->control, "%s/floe-server.sock", rt);
    else
        snprintf(s->control, sizeof s->control, "/tmp/floe-server-%u.sock", (unsigned)getuid());
}

static int add_one(server_settings *s, floe_transport t, const floe_addr *a, char *err,
                   size_t errcap) {
    if (s->n_listen == SERVER_MAX_LISTEN) {
        snprintf(err, errcap, "too many listen addresses (at most %d)", SERVER_MAX_LISTEN);
        return -1;
    }
    s->listen[s->n_listen].transport = t;
    s->listen[s->n_listen].addr = *a;
    s->n_listen++;
    return 0;
}

int server_settings_add_listen(server_settings *s, const char *spec, char *err, size_t errcap) {
    const char *sep = strstr(spec, "://");
    const char *hostport = sep ? sep + 3 : spec;
    floe_addr a;
    if (floe_addr_parse(hostport, &a) != FLOE_OK) {
        snprintf(err, errcap, "listen address '%s' is not IP[:PORT] (IPv6 as [ADDR]:PORT)", spec);
        return -1;
    }
    /* No port: the standard one. An explicit ":0" asks the kernel for a free port (the
     * start-up line shows which). */
    size_t hl = strlen(hostport);
    bool explicit_zero = hl >= 2 && !strcmp(hostport + hl - 2, ":0");
    if (a.port == 0 && !explicit_zero)
        a.port = sep && !strncmp(spec, "tls", 3) ? FLOE_STUNS_PORT : FLOE_STUN_PORT;
    if (!sep) {
        if (add_one(s, FLOE_TRANSPORT_UDP, &a, err, errcap)) return -1;
        return add_one(s, FLOE_TRANSPORT_TCP, &a, err, errcap);
    }
    size_t n = (size_t)(sep - spec);
    if (n == 3 && !strncmp(spec, "udp", 3)) return add_one(s, FLOE_TRANSPORT_UDP, &a, err, errcap);
    if (n == 3 && !strncmp(spec, "tcp", 3)) return add_one(s, FLOE_TRANSPORT_TCP, &a, err, errcap);
    if (n == 3 && !strncmp(spec, "tls", 3)) return add_one(s, FLOE_TRANSPORT_TLS, &a, err, errcap);
    snprintf(err, errcap, "listen scheme in '%s' must be udp://, tcp:// or tls://", spec);
    return -1;
}

static int parse_bool(const char *v, bool *out) {
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int copy_str(char *dst, size_t cap, const char *v) {
    if (strlen(v) >= cap) return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Applies one setting (from the file or the command line). */
static int apply(server_settings *s, const char *key, const char *v, char *err, size_t errcap) {
    if (!strcmp(key, "listen")) return server_settings_add_listen(s, v, err, errcap);
    if (!strcmp(key, "tls-cert") || !strcmp(key, "tls-key") || !strcmp(key, "control") ||
        !strcmp(key, "software")) {
        char *dst = !strcmp(key, "tls-cert")  ? s->tls_cert
                    : !strcmp(key, "tls-key") ? s->tls_key
                    : !strcmp(key, "control") ? s->control
                                              : s->software;
        size_t cap = !strcmp(key, "software") ? sizeof s->software : sizeof s->tls_cert;
        if (copy_str(dst, cap, v) == 0) return 0;
        snprintf(err, errcap, "%s value is too long (at most %zu bytes)", key, cap - 1);
        return -1;
    }
    if (!strcmp(key, "alt-address")) {
        if (floe_addr_parse(v, &s->alt_address) == FLOE_OK && s->alt_address.port) return 0;
        snprintf(err, errcap, "alt-address '%s' is not IP:PORT", v);
        return -1;
    }
    if (!strcmp(key, "rfc5780") || !strcmp(key, "classic")) {
        bool *dst = !strcmp(key, "rfc5780") ? &s->rfc5780 : &s->classic;
        if (parse_bool(v, dst) == 0) return 0;
        snprintf(err, errcap, "%s must be yes or no, not '%s'", key, v);
        return -1;
    }
    if (!strcmp(key, "max-streams")) {
        if (floe_cli_uint(v, 1, 1000000, &s->max_streams)) return 0;
        snprintf(err, errcap, "max-streams must be 1..1000000, not '%s'", v);
        return -1;
    }
    if (!strcmp(key, "stream-idle")) {
        if (floe_cli_uint(v, 1, 86400, &s->stream_idle_s)) return 0;
        snprintf(err, errcap, "stream-idle must be 1..86400 seconds, not '%s'", v);
        return -1;
    }
    snprintf(err, errcap, "unknown setting '%s'", key);
    return -1;
}

static char *trim(char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = 0;
    return p;
}

static int load_file(server_settings *s, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "floe server: cannot read config %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[1024], err[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "floe server: %s:%d: line too long\n", path, lineno);
            rc = 1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *p = trim(line);
        if (!*p) continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            fprintf(stderr, "floe server: %s:%d: expected 'key = value'\n", path, lineno);
            rc = 1;
            break;
        }
        *eq = 0;
        char *key = trim(p), *val = trim(eq + 1);
        if (apply(s, key, val, err, sizeof err)) {
            fprintf(stderr, "floe server: %s:%d: %s\n", path, lineno, err);
            rc = 1;
            break;
        }
    }
    fclose(f);
    return rc;
}

enum {
    OPT_TLS_CERT = 256,
    OPT_TLS_KEY,
    OPT_RFC5780,
    OPT_ALT,
    OPT_SOFTWARE,
    OPT_NO_CLASSIC,
    OPT_CONFIG,
    OPT_CONTROL,
    OPT_STATS,
    OPT_CHECK,
    OPT_MAX_STREAMS,
    OPT_STREAM_IDLE
};

int server_settings_parse(server_settings *s, int argc, char **argv) {
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"tls-cert", required_argument, 0, OPT_TLS_CERT},
        {"tls-key", required_argument, 0, OPT_TLS_KEY},
        {"rfc5780", no_argument, 0, OPT_RFC5780},
        {"alt-address", required_argument, 0, OPT_ALT},
        {"software", required_argument, 0, OPT_SOFTWARE},
        {"no-classic", no_argument, 0, OPT_NO_CLASSIC},
        {"config", required_argument, 0, OPT_CONFIG},
        {"control", required_argument, 0, OPT_CONTROL},
        {"stats", no_argument, 0, OPT_STATS},
        {"check-config", no_argument, 0, OPT_CHECK},
        {"max-streams", required_argument, 0, OPT_MAX_STREAMS},
        {"stream-idle", required_argument, 0, OPT_STREAM_IDLE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    /* First pass: the config file, so that the command line can override it. */
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return -1;
        }
        if (c == OPT_CONFIG) {
            int rc = load_file(s, optarg);
            if (rc) return rc;
        }
    }
    /* A listen list from the config file is replaced, not extended, by --listen. */
    bool cli_listen = false;
    optind = 1;
    char err[256];
    while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
        const char *key = NULL;
        switch (c) {
        case 'l':
            if (!cli_listen) s->n_listen = 0;
            cli_listen = true;
            key = "listen";
            break;
        case OPT_TLS_CERT: key = "tls-cert"; break;
        case OPT_TLS_KEY: key = "tls-key"; break;
        case OPT_ALT: key = "alt-address"; break;
        case OPT_SOFTWARE: key = "software"; break;
        case OPT_CONTROL: key = "control"; break;
        case OPT_MAX_STREAMS: key = "max-streams"; break;
        case OPT_STREAM_IDLE: key = "stream-idle"; break;
        case OPT_RFC5780: s->rfc5780 = true; break;
        case OPT_NO_CLASSIC: s->classic = false; break;
        case OPT_STATS: s->stats = true; break;
        case OPT_CHECK: s->check_config = true; break;
        case OPT_CONFIG: break;
        case ':': return floe_usage_error("server", "option %s needs a value", argv[optind - 1]);
        default: return floe_usage_error("server", "unknown option '%s'", argv[optind - 1]);
        }
        if (key && apply(s, key, optarg, err, sizeof err))
            return floe_usage_error("server", "%s", err);
    }
    if (optind < argc) return floe_usage_error("server", "unexpected argument '%s'", argv[optind]);
    if (s->stats) return 0;

    if (s->n_listen == 0) {
        server_settings_add_listen(s, "0.0.0.0:3478", err, sizeof err);
        server_settings_add_listen(s, "[::]:3478", err, sizeof err);
    }
    bool tls = false;
    size_t n_udp = 0;
    for (size_t i = 0; i < s->n_listen; i++) {
        tls |= s->listen[i].transport == FLOE_TRANSPORT_TLS;
        n_udp += s->listen[i].transport == FLOE_TRANSPORT_UDP;
    }
    if (tls && (!s->tls_cert[0] || !s->tls_key[0]))
        return floe_usage_error("server", "tls:// listeners need --tls-cert and --tls-key");
    if (s->rfc5780) {
        if (n_udp != 1)
            return floe_usage_error("server",
                                    "--rfc5780 needs exactly one UDP listen address (the "
                                    "primary), not %zu",
                                    n_udp);
        if (s->alt_address.family == FLOE_AF_NONE)
            return floe_usage_error("server", "--rfc5780 needs --alt-address IP:PORT");
    }
    return 0;
}
