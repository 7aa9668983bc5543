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
#include "floe/turn_server.h"

static const char usage_text[] =
    "usage: floe server [options]\n"
    "       floe server --stats [--control PATH]\n"
    "\n"
    "A STUN server (RFC 8489, with RFC 5389 and RFC 3489 clients) and, with --realm, a TURN\n"
    "relay (RFC 8656, RFC 6156 IPv6 and dual allocations, TURN REST credentials) over UDP,\n"
    "TCP, TLS and DTLS. Every option is also a config file key (--max-allocations 100 is\n"
    "'max-allocations = 100').\n"
    "\n"
    "listening:\n"
    "  --listen [SCHEME://]ADDR[:PORT]  listen here; repeat for more addresses. Without a\n"
    "                          scheme: UDP and TCP on that address. Schemes: udp, tcp, tls,\n"
    "                          dtls (RFC 7350: STUN and TURN over DTLS on UDP).\n"
    "                          IPv6 addresses go in brackets: --listen [::1]:3478. The port\n"
    "                          defaults to 3478 (5349 for tls and dtls); :0 picks a free one.\n"
    "                          Default: 0.0.0.0:3478 and [::]:3478 (UDP and TCP).\n"
    "  --tls-cert FILE         certificate chain (PEM) for tls:// and dtls:// listeners\n"
    "  --tls-key FILE          private key (PEM) for tls:// and dtls:// listeners\n"
    "  --max-streams N         concurrent TCP/TLS connections, and as many DTLS sessions\n"
    "                          (default 4096)\n"
    "  --stream-idle SEC       close TCP/TLS connections and DTLS sessions idle this long\n"
    "                          (default 300)\n"
    "  --workers N|auto        event loops, each on its own thread with its own UDP and DTLS\n"
    "                          sockets on the listen addresses (SO_REUSEPORT: the kernel\n"
    "                          keeps each client on one of them), its own relays and its own\n"
    "                          TURN table; auto: one per online CPU (at most 64). TCP and\n"
    "                          TLS listeners, RFC 6062 TCP relays, --metrics and --control\n"
    "                          stay on the first. Allocation quotas count for all of them\n"
    "                          together; --kbps-total is split evenly. Default 1.\n"
    "\n"
    "STUN behaviour:\n"
    "  --rfc5780               enable NAT behaviour discovery (RFC 5780): CHANGE-REQUEST,\n"
    "                          RESPONSE-PORT, OTHER-ADDRESS. Off by default. Needs exactly one\n"
    "                          UDP listen address (the primary) and --alt-address.\n"
    "  --alt-address IP:PORT   the alternate address for --rfc5780; IP and port must both\n"
    "                          differ from the primary's (e.g. 127.0.0.1:3478 + 127.0.0.2:3479)\n"
    "  --software TEXT         send a SOFTWARE attribute and reason phrases (default: none,\n"
    "                          to keep answers small)\n"
    "  --no-classic            drop RFC 3489 requests (no magic cookie) instead of answering\n"
    "\n"
    "TURN relay (on when --realm is given; needs --user or --secret):\n"
    "  --realm REALM           the long-term credential realm (RFC 8489 §9.2)\n"
    "  --user NAME:PASSWORD    a long-term user; repeat for more\n"
    "  --secret SECRET         a TURN REST shared secret: usernames 'EXPIRY[:NAME]' with the\n"
    "                          password base64(HMAC-SHA1(SECRET, username)) work until EXPIRY\n"
    "                          (UNIX seconds). Repeat to rotate: every listed secret works.\n"
    "  --relay-ip IP           the address relayed transport addresses are opened on; one per\n"
    "                          family. Default: the first specific listen address of each\n"
    "                          family (required when listening on a wildcard).\n"
    "  --relay-ports LO-HI     relay port range (default 49152-65535)\n"
    "  --allow-peer PREFIX     relay to this prefix although it is not global (e.g.\n"
    "                          10.0.0.0/8 for a private media network); exact form only:\n"
    "                          ::ffff:10.0.0.1 is not admitted by 10.0.0.0/8\n"
    "  --deny-peer PREFIX      never relay to this prefix, also when an IPv6 address carries\n"
    "                          it (mapped, 6to4, NAT64, Teredo). Wins over --allow-peer.\n"
    "                          By default every address that is not globally reachable\n"
    "                          (loopback, private, CGNAT, link-local, multicast,\n"
    "                          documentation, reserved; in every IPv6 encoding) is refused,\n"
    "                          as are the server's own listening addresses.\n"
    "  --max-allocations N     allocations in total (default 16384)\n"
    "  --user-quota N          allocations per username (default 0: no limit)\n"
    "  --max-reservations N    relay ports held at once for a RESERVATION-TOKEN (EVEN-PORT\n"
    "                          with the R bit: the next port is kept 30 s for an RTCP\n"
    "                          allocation). Default 256; 0 refuses such requests (508).\n"
    "  --max-permissions N     permissions per allocation (default and most: 16)\n"
    "  --max-channels N        channels per allocation (default and most: 16)\n"
    "  --lifetime SEC          allocation lifetime when the client asks for less (600)\n"
    "  --max-lifetime SEC      longest allocation lifetime granted (3600)\n"
    "  --nonce-lifetime SEC    how long a nonce stays valid (600); nonces are stateless\n"
    "  --kbps-per-allocation N relayed kilobytes per second per allocation (0: no cap)\n"
    "  --kbps-total N          relayed kilobytes per second in total (0: no cap)\n"
    "  --unauth-rate N         answers per second to unauthenticated requests, per source\n"
    "                          IP (default 20; 0 turns the limit off)\n"
    "  --unauth-burst N        ... and how many may come at once (default 40)\n"
    "  --drain-timeout SEC     on SIGTERM, refuse new allocations and let existing ones run\n"
    "                          this long before exiting (default 30; 0 exits at once)\n"
    "\n"
    "operation:\n"
    "  --config FILE           read settings from FILE: one 'key = value' per line, keys as the\n"
    "                          long options without dashes (listen, user, secret, allow-peer,\n"
    "                          deny-peer, relay-ip may repeat), '#' comments, 'yes'/'no' for\n"
    "                          switches. Command-line options win.\n"
    "  --metrics ADDR:PORT     serve Prometheus metrics at http://ADDR:PORT/metrics (read-only;\n"
    "                          default off). Keep it on a private address.\n"
    "  --control PATH          Unix socket that serves the counters to 'floe server --stats'\n"
    "                          (default /run/floe-server.sock as root, else\n"
    "                          $XDG_RUNTIME_DIR/floe-server.sock or /tmp/floe-server-UID.sock)\n"
    "  --stats                 print the counters of the server at --control as JSON and exit\n"
    "  --check-config          validate the settings, print them, and exit\n"
    "  -h, --help              this text\n"
    "\n"
    "signals: SIGHUP reads the config file again and applies users, secrets, peer lists,\n"
    "quotas and rates (listeners stay); SIGTERM/SIGINT drain (see --drain-timeout), a second\n"
    "one stops at once; SIGUSR1 prints the counters as one JSON line on stderr.\n"
    "\n"
    "examples:\n"
    "  floe server --listen 0.0.0.0:3478 --listen [::]:3478\n"
    "  floe server --listen 192.0.2.1:3478 --rfc5780 --alt-address 192.0.2.2:3479\n"
    "  floe server --listen 192.0.2.1 --realm example.org --secret \"$(cat /etc/floe/secret)\"\n"
    "  floe server --listen tls://0.0.0.0:5349 --tls-cert cert.pem --tls-key key.pem \\\n"
    "              --relay-ip 192.0.2.1 --realm example.org --user alice:wonderland\n"
    "  floe server --stats\n";

void server_settings_default(server_settings *s) {
    memset(s, 0, sizeof *s);
    s->classic = true;
    s->max_streams = 4096;
    s->stream_idle_s = 300;
    s->workers = 1;
    s->relay_port_lo = 49152;
    s->relay_port_hi = 65535;
    s->max_allocations = 16384;
    s->max_reservations = FLOE_TSRV_RESERVATIONS;
    s->max_permissions = FLOE_TSRV_MAX_PERMISSIONS;
    s->max_channels = FLOE_TSRV_MAX_CHANNELS;
    s->default_lifetime_s = 600;
    s->max_lifetime_s = 3600;
    s->nonce_lifetime_s = 600;
    s->unauth_rate = 20;
    s->unauth_burst = 40;
    s->drain_timeout_s = 30;
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
        a.port = sep && (!strncmp(spec, "tls:", 4) || !strncmp(spec, "dtls:", 5)) ? FLOE_STUNS_PORT
                                                                                  : FLOE_STUN_PORT;
    if (!sep) {
        if (add_one(s, FLOE_TRANSPORT_UDP, &a, err, errcap)) return -1;
        return add_one(s, FLOE_TRANSPORT_TCP, &a, err, errcap);
    }
    size_t n = (size_t)(sep - spec);
    if (n == 3 && !strncmp(spec, "udp", 3)) return add_one(s, FLOE_TRANSPORT_UDP, &a, err, errcap);
    if (n == 3 && !strncmp(spec, "tcp", 3)) return add_one(s, FLOE_TRANSPORT_TCP, &a, err, errcap);
    if (n == 3 && !strncmp(spec, "tls", 3)) return add_one(s, FLOE_TRANSPORT_TLS, &a, err, errcap);
    if (n == 4 && !strncmp(spec, "dtls", 4))
        return add_one(s, FLOE_TRANSPORT_DTLS, &a, err, errcap);
    snprintf(err, errcap, "listen scheme in '%s' must be udp://, tcp://, tls:// or dtls://", spec);
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

static void clear_list(char ***v, size_t *n) {
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

void server_settings_free(server_settings *s) {
    clear_list(&s->users, &s->n_users);
    clear_list(&s->secrets, &s->n_secrets);
}

static int push_str(char ***v, size_t *n, const char *val) {
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    if (!(nv[*n] = strdup(val))) return -1;
    (*n)++;
    return 0;
}

/* The settings: config file keys and long options at once. */
typedef enum kind {
    K_LISTEN,
    K_STR,    /* a string field of cap bytes */
    K_BOOL,   /* yes/no in the file; the option takes no value and means yes */
    K_UINT,   /* lo..hi */
    K_ADDR,   /* IP:PORT */
    K_USER,   /* NAME:PASSWORD */
    K_SECRET, /* TURN REST secret */
    K_RELAY_IP,
    K_PORTS,
    K_PREFIX,  /* allow-peer or deny-peer */
    K_WORKERS, /* N or auto */
    K_CLI,     /* command line only: config, stats, check-config, no-classic */
} kind;

typedef struct key_def {
    const char *key;
    kind k;
    size_t off; /* offsetof the field in server_settings */
    size_t cap; /* K_STR: field size */
    unsigned lo, hi;
    const char *unit;
} key_def;

#define F(field) offsetof(server_settings, field)
#define STR(field) F(field), sizeof(((server_settings *)0)->field)
static const key_def keys[] = {
    {"listen", K_LISTEN, 0, 0, 0, 0, NULL},
    {"tls-cert", K_STR, STR(tls_cert), 0, 0, NULL},
    {"tls-key", K_STR, STR(tls_key), 0, 0, NULL},
    {"software", K_STR, STR(software), 0, 0, NULL},
    {"control", K_STR, STR(control), 0, 0, NULL},
    {"realm", K_STR, STR(realm), 0, 0, NULL},
    {"alt-address", K_ADDR, F(alt_address), 0, 0, 0, NULL},
    {"metrics", K_ADDR, F(metrics), 0, 0, 0, NULL},
    {"rfc5780", K_BOOL, F(rfc5780), 0, 0, 0, NULL},
    {"classic", K_BOOL, F(classic), 0, 0, 0, NULL},
    {"max-streams", K_UINT, F(max_streams), 0, 1, 1000000, ""},
    {"stream-idle", K_UINT, F(stream_idle_s), 0, 1, 86400, " seconds"},
    {"workers", K_WORKERS, 0, 0, 0, 0, NULL},
    {"user", K_USER, 0, 0, 0, 0, NULL},
    {"secret", K_SECRET, 0, 0, 0, 0, NULL},
    {"relay-ip", K_RELAY_IP, 0, 0, 0, 0, NULL},
    {"relay-ports", K_PORTS, 0, 0, 0, 0, NULL},
    {"allow-peer", K_PREFIX, F(allow_peer), 0, 0, 0, NULL},
    {"deny-peer", K_PREFIX, F(deny_peer), 0, 0, 0, NULL},
    {"max-allocations", K_UINT, F(max_allocations), 0, 1, 1u << 24, ""},
    {"user-quota", K_UINT, F(user_quota), 0, 0, 1u << 24, ""},
    {"max-reservations", K_UINT, F(max_reservations), 0, 0, FLOE_TSRV_MAX_RESERVATIONS, ""},
    {"max-permissions", K_UINT, F(max_permissions), 0, 1, FLOE_TSRV_MAX_PERMISSIONS, ""},
    {"max-channels", K_UINT, F(max_channels), 0, 0, FLOE_TSRV_MAX_CHANNELS, ""},
    {"lifetime", K_UINT, F(default_lifetime_s), 0, 30, 86400, " seconds"},
    {"max-lifetime", K_UINT, F(max_lifetime_s), 0, 30, 86400, " seconds"},
    {"nonce-lifetime", K_UINT, F(nonce_lifetime_s), 0, 10, 86400, " seconds"},
    {"kbps-per-allocation", K_UINT, F(kbps_allocation), 0, 0, 10000000, " kB/s"},
    {"kbps-total", K_UINT, F(kbps_total), 0, 0, 100000000, " kB/s"},
    {"unauth-rate", K_UINT, F(unauth_rate), 0, 0, 1000000, " per second"},
    {"unauth-burst", K_UINT, F(unauth_burst), 0, 1, 1000000, ""},
    {"drain-timeout", K_UINT, F(drain_timeout_s), 0, 0, 86400, " seconds"},
    {"config", K_CLI, 0, 0, 0, 0, NULL},
    {"stats", K_CLI, 0, 0, 0, 0, NULL},
    {"check-config", K_CLI, 0, 0, 0, 0, NULL},
    {"no-classic", K_CLI, 0, 0, 0, 0, NULL},
};
#undef STR
#undef F
#define N_KEYS (sizeof keys / sizeof keys[0])

static const key_def *find_key(const char *key) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].key, key)) return &keys[i];
    return NULL;
}

static int apply_prefix(server_settings *s, const key_def *d, const char *v, char *err,
                        size_t errcap) {
    bool allow = d->off == offsetof(server_settings, allow_peer);
    floe_addr_prefix *list = allow ? s->allow_peer : s->deny_peer;
    size_t *n = allow ? &s->n_allow_peer : &s->n_deny_peer;
    if (*n == SERVER_MAX_PREFIXES) {
        snprintf(err, errcap, "too many %s entries (at most %d)", d->key, SERVER_MAX_PREFIXES);
        return -1;
    }
    if (floe_addr_prefix_parse(v, &list[*n]) != FLOE_OK) {
        snprintf(err, errcap,
                 "%s '%s' is not IP or IP/LEN with zero host bits (e.g. 10.0.0.0/8, fd00::/8)",
                 d->key, v);
        return -1;
    }
    (*n)++;
    return 0;
}

static int apply_relay_ip(server_settings *s, const char *v, char *err, size_t errcap) {
    floe_addr a;
    if (floe_addr_parse(v, &a) != FLOE_OK || a.port != 0 ||
        (floe_addr_classify(&a, NULL) & FLOE_ADDR_UNSPECIFIED)) {
        snprintf(err, errcap, "relay-ip '%s' must be one specific IP address, without a port", v);
        return -1;
    }
    for (size_t i = 0; i < s->n_relay_ip; i++)
        if (s->relay_ip[i].family == a.family) {
            snprintf(err, errcap, "relay-ip: one address per family (got a second: %s)", v);
            return -1;
        }
    s->relay_ip[s->n_relay_ip++] = a;
    return 0;
}

/* Applies one setting (from the file or the command line). */
static int apply(server_settings *s, const char *key, const char *v, char *err, size_t errcap) {
    const key_def *d = find_key(key);
    if (!d || d->k == K_CLI) {
        snprintf(err, errcap, "unknown setting '%s' (see floe server --help)", key);
        return -1;
    }
    char *field = (char *)s + d->off;
    switch (d->k) {
    case K_LISTEN: return server_settings_add_listen(s, v, err, errcap);
    case K_STR:
        if (copy_str(field, d->cap, v) == 0) return 0;
        snprintf(err, errcap, "%s value is too long (at most %zu bytes)", key, d->cap - 1);
        return -1;
    case K_BOOL:
        if (parse_bool(v, (bool *)field) == 0) return 0;
        snprintf(err, errcap, "%s must be yes or no, not '%s'", key, v);
        return -1;
    case K_UINT:
        if (floe_cli_uint(v, d->lo, d->hi, (unsigned *)field)) return 0;
        snprintf(err, errcap, "%s must be %u..%u%s, not '%s'", key, d->lo, d->hi, d->unit, v);
        return -1;
    case K_ADDR:
        if (floe_addr_parse(v, (floe_addr *)field) == FLOE_OK && ((floe_addr *)field)->port) {
            if (!strcmp(key, "metrics")) s->metrics_on = true;
            return 0;
        }
        snprintf(err, errcap, "%s '%s' is not IP:PORT (IPv6 as [ADDR]:PORT)", key, v);
        return -1;
    case K_USER: {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || !colon[1]) {
            snprintf(err, errcap, "user must be NAME:PASSWORD, both non-empty");
            return -1;
        }
        if (push_str(&s->users, &s->n_users, v) == 0) return 0;
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    case K_SECRET:
        if (!v[0]) {
            snprintf(err, errcap, "secret must not be empty");
            return -1;
        }
        if (push_str(&s->secrets, &s->n_secrets, v) == 0) return 0;
        snprintf(err, errcap, "out of memory");
        return -1;
    case K_RELAY_IP: return apply_relay_ip(s, v, err, errcap);
    case K_PORTS: {
        unsigned lo = 0, hi = 0;
        char extra;
        if (sscanf(v, "%u-%u%c", &lo, &hi, &extra) == 2 && lo >= 1024 && lo <= hi && hi <= 65535) {
            s->relay_port_lo = lo;
            s->relay_port_hi = hi;
            return 0;
        }
        snprintf(err, errcap, "relay-ports must be LO-HI within 1024-65535, not '%s'", v);
        return -1;
    }
    case K_PREFIX: return apply_prefix(s, d, v, err, errcap);
    case K_WORKERS:
        s->workers_auto = !strcmp(v, "auto");
        if (s->workers_auto || floe_cli_uint(v, 1, SERVER_MAX_WORKERS, &s->workers)) return 0;
        snprintf(err, errcap, "workers must be 1..%d or auto, not '%s'", SERVER_MAX_WORKERS, v);
        return -1;
    case K_CLI: break;
    }
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
        /* A comment is a line that starts with '#', or '#' after a space or tab: a '#'
         * inside a value (a password, a secret) belongs to the value. */
        char *p = trim(line);
        if (*p == '#') continue;
        for (char *h = strchr(p, '#'); h; h = strchr(h + 1, '#'))
            if (h[-1] == ' ' || h[-1] == '\t') {
                *h = 0;
                break;
            }
        p = trim(p);
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

/* TURN settings that only make sense together. */
static int check_turn(server_settings *s) {
    if (!s->realm[0]) {
        if (s->n_users || s->n_secrets)
            return floe_usage_error("server", "--user and --secret need --realm (TURN)");
        return 0;
    }
    if (!s->n_users && !s->n_secrets)
        return floe_usage_error("server", "TURN (--realm) needs --user NAME:PASSWORD or --secret");
    for (size_t i = 0; i < s->n_users; i++) {
        size_t ni = strcspn(s->users[i], ":");
        if (ni > 512)
            return floe_usage_error("server", "user name %zu is longer than 512 bytes", i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcspn(s->users[k], ":") == ni && !strncmp(s->users[k], s->users[i], ni))
                return floe_usage_error("server", "user '%.*s' is listed twice", (int)ni,
                                        s->users[i]);
    }
    if (s->max_lifetime_s < s->default_lifetime_s)
        return floe_usage_error("server", "--max-lifetime (%u) is below --lifetime (%u)",
                                s->max_lifetime_s, s->default_lifetime_s);
    if (s->n_relay_ip == 0) /* the first specific listen address of each family */
        for (size_t i = 0; i < s->n_listen; i++) {
            const floe_addr *a = &s->listen[i].addr;
            bool have = false;
            for (size_t k = 0; k < s->n_relay_ip; k++)
                have |= s->relay_ip[k].family == a->family;
            if (have || (floe_addr_classify(a, NULL) & FLOE_ADDR_UNSPECIFIED)) continue;
            s->relay_ip[s->n_relay_ip] = *a;
            s->relay_ip[s->n_relay_ip++].port = 0;
        }
    if (s->n_relay_ip == 0)
        return floe_usage_error("server",
                                "TURN needs --relay-ip when every listen address is a wildcard");
    return 0;
}

/* The long options, made from the key table: option i + 256 is keys[i]. */
static void build_options(struct option *o) {
    for (size_t i = 0; i < N_KEYS; i++) {
        bool flag = keys[i].k == K_BOOL || (keys[i].k == K_CLI && strcmp(keys[i].key, "config"));
        o[i] =
            (struct option){keys[i].key, flag ? no_argument : required_argument, 0, (int)i + 256};
    }
    o[N_KEYS] = (struct option){"help", no_argument, 0, 'h'};
    o[N_KEYS + 1] = (struct option){0, 0, 0, 0};
}

int server_settings_parse(server_settings *s, int argc, char **argv) {
    struct option opts[N_KEYS + 2];
    build_options(opts);
    /* First pass: the config file, so that the command line can override it. */
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return -1;
        }
        if (c >= 256 && !strcmp(keys[c - 256].key, "config")) {
            if (copy_str(s->config, sizeof s->config, optarg))
                return floe_usage_error("server", "config path is too long");
            int rc = load_file(s, optarg);
            if (rc) return rc;
        }
    }
    /* Lists from the config file are replaced, not extended, by the command line. */
    bool cli_listen = false, cli_users = false, cli_secrets = false;
    optind = 1;
    char err[256];
    while ((c = getopt_long(argc, argv, ":l:h", opts, NULL)) != -1) {
        if (c == ':')
            return floe_usage_error("server", "option %s needs a value", argv[optind - 1]);
        if (c == 'l') c = 256; /* keys[0] is listen */
        if (c < 256 || c >= 256 + (int)N_KEYS)
            return floe_usage_error("server", "unknown option '%s'", argv[optind - 1]);
        const key_def *d = &keys[c - 256];
        if (d->k == K_CLI) {
            if (!strcmp(d->key, "stats")) s->stats = true;
            if (!strcmp(d->key, "check-config")) s->check_config = true;
            if (!strcmp(d->key, "no-classic")) s->classic = false;
            continue;
        }
        if (d->k == K_BOOL) {
            *(bool *)((char *)s + d->off) = true;
            continue;
        }
        if (d->k == K_LISTEN && !cli_listen) s->n_listen = 0, cli_listen = true;
        if (d->k == K_USER && !cli_users) clear_list(&s->users, &s->n_users), cli_users = true;
        if (d->k == K_SECRET && !cli_secrets)
            clear_list(&s->secrets, &s->n_secrets), cli_secrets = true;
        if (apply(s, d->key, optarg, err, sizeof err)) return floe_usage_error("server", "%s", err);
    }
    if (optind < argc) return floe_usage_error("server", "unexpected argument '%s'", argv[optind]);
    if (s->stats) return 0;
    if (s->workers_auto) { /* one loop per CPU this process may run on */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->workers = n < 1 ? 1 : n > SERVER_MAX_WORKERS ? SERVER_MAX_WORKERS : (unsigned)n;
    }

    if (s->n_listen == 0) {
        server_settings_add_listen(s, "0.0.0.0:3478", err, sizeof err);
        server_settings_add_listen(s, "[::]:3478", err, sizeof err);
    }
    bool tls = false;
    size_t n_udp = 0;
    for (size_t i = 0; i < s->n_listen; i++) {
        tls |= s->listen[i].transport == FLOE_TRANSPORT_TLS ||
               s->listen[i].transport == FLOE_TRANSPORT_DTLS;
        n_udp += s->listen[i].transport == FLOE_TRANSPORT_UDP;
    }
    if (tls && (!s->tls_cert[0] || !s->tls_key[0]))
        return floe_usage_error("server",
                                "tls:// and dtls:// listeners need --tls-cert and --tls-key");
    if (s->rfc5780) {
        if (n_udp != 1)
            return floe_usage_error("server",
                                    "--rfc5780 needs exactly one UDP listen address (the "
                                    "primary), not %zu",
                                    n_udp);
        if (s->alt_address.family == FLOE_AF_NONE)
            return floe_usage_error("server", "--rfc5780 needs --alt-address IP:PORT");
    }
    return check_turn(s);
}

void server_settings_print(const server_settings *s) {
    char buf[FLOE_ADDR_STRLEN];
    printf("configuration is valid\n");
    for (size_t i = 0; i < s->n_listen; i++) {
        floe_addr_format(&s->listen[i].addr, true, buf, sizeof buf);
        printf("listen = %s://%s\n", floe_transport_name(s->listen[i].transport), buf);
    }
    printf("rfc5780 = %s\n", s->rfc5780 ? "yes" : "no");
    if (s->rfc5780) {
        floe_addr_format(&s->alt_address, true, buf, sizeof buf);
        printf("alt-address = %s\n", buf);
    }
    printf("classic = %s\ncontrol = %s\nmax-streams = %u\nstream-idle = %u\n",
           s->classic ? "yes" : "no", s->control, s->max_streams, s->stream_idle_s);
    printf("workers = %u%s\n", s->workers, s->workers_auto ? " (auto: the online CPUs)" : "");
    if (s->metrics_on) {
        floe_addr_format(&s->metrics, true, buf, sizeof buf);
        printf("metrics = %s\n", buf);
    }
    if (!s->realm[0]) {
        printf("turn = off (no realm)\n");
        return;
    }
    /* Secrets and passwords are not printed: only how many there are. */
    printf("realm = %s\nusers = %zu (passwords not shown)\nsecrets = %zu (not shown)\n", s->realm,
           s->n_users, s->n_secrets);
    for (size_t i = 0; i < s->n_relay_ip; i++) {
        floe_addr_format(&s->relay_ip[i], false, buf, sizeof buf);
        printf("relay-ip = %s\n", buf);
    }
    printf("relay-ports = %u-%u\n", s->relay_port_lo, s->relay_port_hi);
    for (size_t i = 0; i < s->n_allow_peer; i++) {
        floe_addr_prefix_format(&s->allow_peer[i], buf, sizeof buf);
        printf("allow-peer = %s\n", buf);
    }
    for (size_t i = 0; i < s->n_deny_peer; i++) {
        floe_addr_prefix_format(&s->deny_peer[i], buf, sizeof buf);
        printf("deny-peer = %s\n", buf);
    }
    printf("max-allocations = %u\nuser-quota = %u\nmax-reservations = %u\nmax-permissions = %u\n"
           "max-channels = %u\nlifetime = %u\nmax-lifetime = %u\nnonce-lifetime = "
           "%u\nkbps-per-allocation = %u\n"
           "kbps-total = %u\nunauth-rate = %u\nunauth-burst = %u\ndrain-timeout = %u\n",
           s->max_allocations, s->user_quota, s->max_reservations, s->max_permissions,
           s->max_channels, s->default_lifetime_s, s->max_lifetime_s, s->nonce_lifetime_s,
           s->kbps_allocation, s->kbps_total, s->unauth_rate, s->unauth_burst, s->drain_timeout_s);
}
