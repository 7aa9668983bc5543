/* floe simulator runtime: scenario files with ICE peers (see sim_ice_scenario.h). */
#include "sim_ice_scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun_server.h"
#include "nat/sim_nat.h"
#include "sim_host.h"
#include "sim_link.h"
#include "sim_scenario.h"
#include "sim_stun.h"
#include "sim_stun_server.h"
#include "sim_turn_server.h"

#define ROLE_UNSET 0
#define ROLE_CONTROLLING 1
#define ROLE_CONTROLLED 2

#define OUT_FAIL 0      /* expect outcome=fail */
#define OUT_CONNECTED 1 /* outcome=connected: any pair */
#define OUT_TYPES 2     /* outcome=LOCAL/REMOTE */
#define OUT_RELAY 3     /* outcome=relay: a relayed candidate in the pair */
#define MAX_TURN 4
#define MAX_TURN_ALLOW 8

typedef struct server_spec {
    char name[FLOE_SIM_ICE_NAME_MAX];
    floe_sim_host *host;
    floe_addr addr;
    floe_addr alt; /* RFC 5780's alternate address, or FLOE_AF_NONE */
    floe_sim_stun_server *srv;
} server_spec;

/* A `turn-server` line: the TURN core on a simulated host (sim_turn_server.h). */
typedef struct turn_spec {
    char name[FLOE_SIM_ICE_NAME_MAX];
    floe_sim_host *host;
    floe_addr addr;
    char user[64], password[64];
    floe_addr_prefix allow[MAX_TURN_ALLOW];
    size_t n_allow;
    floe_sim_turn_server *srv;
} turn_spec;

typedef struct peer_spec {
    floe_sim_ice_config cfg;
    char name[FLOE_SIM_ICE_NAME_MAX];
    int role;
    int servers[FLOE_ICE_MAX_STUN_SERVERS]; /* index of a stun-server, or -1: cfg.stun[i] */
    size_t n_servers;
    int turns[FLOE_ICE_MAX_TURN_SERVERS];              /* indices of turn-server lines */
    floe_transport turn_tp[FLOE_ICE_MAX_TURN_SERVERS]; /* NAME/tcp: TCP, else UDP */
    int signal_to; /* the answerer's index when this peer is an offerer, else -1 */
    floe_time_ns delay;
    bool in_signal;
    floe_sim_ice *peer;
} peer_spec;

/* A `stun` or `discover` line: a Binding request, or RFC 5780 discovery. */
typedef struct client_spec {
    bool discover;
    floe_sim_host *host;
    int server;      /* a stun-server index, or -1: addr as written */
    floe_addr addr;  /* the server's (primary) address */
    floe_time_ns t0; /* when it started */
    floe_sim_stun_client *stun;
    floe_sim_stun_behavior *disc;
} client_spec;

typedef struct expect_spec {
    char text[64];
    int a, b; /* peer indices */
    int kind; /* OUT_* */
    floe_ice_cand_type local, remote;
    floe_time_ns within;
    bool within_set;
    unsigned echoes;
    bool echoes_set;
} expect_spec;

struct floe_sim_ice_scenario {
    floe_sim *sim;
    floe_time_ns t_loaded;
    server_spec servers[FLOE_SIM_ICE_MAX_SERVERS];
    size_t n_servers;
    turn_spec turns[MAX_TURN];
    size_t n_turns;
    peer_spec peers[FLOE_SIM_ICE_MAX_PEERS];
    size_t n_peers;
    expect_spec expects[FLOE_SIM_ICE_MAX_EXPECT];
    size_t n_expects;
    client_spec clients[FLOE_SIM_ICE_MAX_CLIENTS];
    size_t n_clients;
    bool prepared;
    floe_sim_ice_log_fn log;
    void *log_ctx;
};

/* ---- small parsers ---------------------------------------------------------------- */

static int why(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return FLOE_ERR_CONFIG;
}

/* Splits a directive's option "key=value" in place, or writes the error sentence
 * ("expected WHAT, got '...'"). */
static int split_kv(char *w, const char *what, char **k, char **v, char *err, size_t cap) {
    char *eq = strchr(w, '=');
    *k = *v = NULL;
    if (!eq || eq == w) return why(err, cap, "expected %s, got '%s'", what, w);
    *eq = '\0';
    *k = w;
    *v = eq + 1;
    return FLOE_OK;
}

static bool parse_uint(const char *v, uint64_t max, uint64_t *out) {
    if (!*v || *v == '-' || *v == '+') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > max) return false;
    *out = x;
    return true;
}

static bool name_ok(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len >= FLOE_SIM_ICE_NAME_MAX) return false;
    for (; *n; n++)
        if (*n == '=' || *n == ',' || *n == '/' || (unsigned char)*n < 0x21) return false;
    return true;
}

static int find_server(const floe_sim_ice_scenario *s, const char *name) {
    for (size_t i = 0; i < s->n_servers; i++)
        if (strcmp(s->servers[i].name, name) == 0) return (int)i;
    return -1;
}

static int find_peer(const floe_sim_ice_scenario *s, const char *name) {
    for (size_t i = 0; i < s->n_peers; i++)
        if (strcmp(s->peers[i].name, name) == 0) return (int)i;
    return -1;
}

/* A plain host named `name`, or an error sentence. */
static int plain_host(floe_sim *sim, const char *name, floe_sim_host **out, char *err, size_t cap) {
    floe_sim_host *h = floe_sim_host_find(sim, name);
    if (!h) return why(err, cap, "unknown host '%s' (declare it with a host line first)", name);
    if (floe_sim_host_is_nat(h))
        return why(err, cap, "'%s' is a NAT or firewall; put the peer on a host behind it", name);
    *out = h;
    return FLOE_OK;
}

/* The host's first address of a family (FLOE_AF_NONE: IPv4 first, then IPv6). */
static bool host_addr(const floe_sim_host *h, int family, floe_addr *out) {
    static const int fams[2] = {FLOE_AF_INET4, FLOE_AF_INET6};
    for (int f = 0; f < 2; f++)
        for (size_t i = 0; i < floe_sim_host_iface_count(h); i++) {
            if (family != FLOE_AF_NONE && family != fams[f]) continue;
            floe_addr a = floe_sim_iface_addr(floe_sim_host_iface_at(h, i), fams[f]);
            if (a.family != FLOE_AF_NONE) {
                *out = a;
                return true;
            }
        }
    return false;
}

/* ---- directives ------------------------------------------------------------------- */

static int d_stun_server(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    if (argc < 3)
        return why(err, cap, "expected 'stun-server NAME host=HOST [ip=ADDRESS] [port=N]'");
    if (!name_ok(argv[1]))
        return why(err, cap, "bad name '%s' (1 to %d characters, no '=', ',' or '/')", argv[1],
                   FLOE_SIM_ICE_NAME_MAX - 1);
    if (find_server(s, argv[1]) >= 0)
        return why(err, cap, "stun-server '%s' declared twice", argv[1]);
    if (s->n_servers == FLOE_SIM_ICE_MAX_SERVERS)
        return why(err, cap, "more than %d stun-server lines", FLOE_SIM_ICE_MAX_SERVERS);
    server_spec sp;
    memset(&sp, 0, sizeof sp);
    snprintf(sp.name, sizeof sp.name, "%s", argv[1]);
    bool ip_set = false;
    uint64_t port = FLOE_SIM_ICE_STUN_PORT;
    const char *alt = NULL;
    for (int i = 2; i < argc; i++) {
        char *k, *v;
        int rc = split_kv(argv[i], "key=value", &k, &v, err, cap);
        if (rc != FLOE_OK) return rc;
        if (strcmp(k, "host") == 0) {
            rc = plain_host(s->sim, v, &sp.host, err, cap);
            if (rc != FLOE_OK) return rc;
        } else if (strcmp(k, "ip") == 0) {
            if (floe_addr_parse(v, &sp.addr) != FLOE_OK || sp.addr.port != 0)
                return why(err, cap, "bad ip '%s' (an address without port)", v);
            ip_set = true;
        } else if (strcmp(k, "port") == 0) {
            if (!parse_uint(v, 65535, &port) || port == 0)
                return why(err, cap, "bad port '%s' (1..65535)", v);
        } else if (strcmp(k, "alternate") == 0) {
            alt = v;
        } else {
            return why(err, cap, "unknown stun-server option '%s' (host, ip, port, alternate)", k);
        }
    }
    if (!sp.host) return why(err, cap, "stun-server '%s' needs host=HOST", sp.name);
    if (ip_set && !floe_sim_host_owns(sp.host, &sp.addr)) {
        char a[FLOE_ADDR_STRLEN];
        floe_addr_format(&sp.addr, false, a, sizeof a);
        return why(err, cap, "host '%s' has no address %s", floe_sim_host_name(sp.host), a);
    }
    if (!ip_set && !host_addr(sp.host, FLOE_AF_NONE, &sp.addr))
        return why(err, cap, "host '%s' has no address", floe_sim_host_name(sp.host));
    sp.addr.port = (uint16_t)port;
    if (alt) {
        /* RFC 5780: another address of the host, of the same family, and another port. */
        if (floe_addr_parse(alt, &sp.alt) != FLOE_OK || sp.alt.family != sp.addr.family ||
            floe_addr_ip_equal(&sp.alt, &sp.addr) || !floe_sim_host_owns(sp.host, &sp.alt))
            return why(err, cap,
                       "bad alternate '%s' (IP[:PORT], another address of host '%s' of the "
                       "family of the first)",
                       alt, floe_sim_host_name(sp.host));
        if (sp.alt.port == 0) sp.alt.port = (uint16_t)(port == 65535 ? port - 1 : port + 1);
        if (sp.alt.port == sp.addr.port)
            return why(err, cap, "bad alternate '%s' (its port must differ from %u)", alt,
                       (unsigned)port);
    }
    for (size_t i = 0; i < s->n_servers; i++)
        if (s->servers[i].host == sp.host && floe_addr_equal(&s->servers[i].addr, &sp.addr))
            return why(err, cap, "stun-server '%s' already listens there (port=N for another)",
                       s->servers[i].name);
    s->servers[s->n_servers++] = sp;
    return FLOE_OK;
}

static int find_turn(const floe_sim_ice_scenario *s, const char *name) {
    for (size_t i = 0; i < s->n_turns; i++)
        if (strcmp(s->turns[i].name, name) == 0) return (int)i;
    return -1;
}

/* turn-server NAME host=HOST [ip=ADDRESS] [port=N] user=U password=P [allow=PREFIX,...] */
static int d_turn_server(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    if (argc < 3)
        return why(err, cap,
                   "expected 'turn-server NAME host=HOST user=U password=P [ip=ADDRESS] "
                   "[port=N] [allow=PREFIX,...]'");
    if (!name_ok(argv[1]))
        return why(err, cap, "bad name '%s' (1 to %d characters, no '=', ',' or '/')", argv[1],
                   FLOE_SIM_ICE_NAME_MAX - 1);
    if (find_turn(s, argv[1]) >= 0)
        return why(err, cap, "turn-server '%s' declared twice", argv[1]);
    if (s->n_turns == MAX_TURN) return why(err, cap, "more than %d turn-server lines", MAX_TURN);
    turn_spec t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", argv[1]);
    uint64_t port = FLOE_SIM_ICE_STUN_PORT;
    bool ip_set = false;
    for (int i = 2; i < argc; i++) {
        char *k, *v;
        int rc = split_kv(argv[i], "key=value", &k, &v, err, cap);
        if (rc != FLOE_OK) return rc;
        if (strcmp(k, "host") == 0) {
            if ((rc = plain_host(s->sim, v, &t.host, err, cap)) != FLOE_OK) return rc;
        } else if (strcmp(k, "ip") == 0) {
            if (floe_addr_parse(v, &t.addr) != FLOE_OK || t.addr.port != 0)
                return why(err, cap, "bad ip '%s' (an address without port)", v);
            ip_set = true;
        } else if (strcmp(k, "port") == 0) {
            if (!parse_uint(v, 65535, &port) || port == 0)
                return why(err, cap, "bad port '%s' (1..65535)", v);
        } else if (strcmp(k, "user") == 0 || strcmp(k, "password") == 0) {
            char *dst = k[0] == 'u' ? t.user : t.password;
            if (!v[0] || strlen(v) >= sizeof t.user)
                return why(err, cap, "bad %s '%s' (1 to %zu characters)", k, v, sizeof t.user - 1);
            memcpy(dst, v, strlen(v) + 1);
        } else if (strcmp(k, "allow") == 0) {
            for (char *tok = v; tok && *tok;) {
                char *comma = strchr(tok, ',');
                if (comma) *comma = '\0';
                if (t.n_allow == MAX_TURN_ALLOW)
                    return why(err, cap, "at most %d allow= prefixes", MAX_TURN_ALLOW);
                if (floe_addr_prefix_parse(tok, &t.allow[t.n_allow++]) != FLOE_OK)
                    return why(err, cap, "bad allow prefix '%s' (e.g. 203.0.113.0/24)", tok);
                tok = comma ? comma + 1 : NULL;
            }
        } else {
            return why(err, cap,
                       "unknown turn-server option '%s' (host, ip, port, user, password, allow)",
                       k);
        }
    }
    if (!t.host) return why(err, cap, "turn-server '%s' needs host=HOST", t.name);
    if (!t.user[0] || !t.password[0])
        return why(err, cap, "turn-server '%s' needs user= and password=", t.name);
    if (ip_set && !floe_sim_host_owns(t.host, &t.addr))
        return why(err, cap, "host '%s' has no such address", floe_sim_host_name(t.host));
    if (!ip_set && !host_addr(t.host, FLOE_AF_NONE, &t.addr))
        return why(err, cap, "host '%s' has no address", floe_sim_host_name(t.host));
    t.addr.port = (uint16_t)port;
    s->turns[s->n_turns++] = t;
    return FLOE_OK;
}

static int turn_list(floe_sim_ice_scenario *s, peer_spec *p, char *v, char *err, size_t cap) {
    for (char *tok = v; tok && *tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        if (p->cfg.n_turn == FLOE_ICE_MAX_TURN_SERVERS)
            return why(err, cap, "at most %d TURN servers per peer", FLOE_ICE_MAX_TURN_SERVERS);
        floe_transport tp = FLOE_TRANSPORT_UDP;
        char *slash = strchr(tok, '/');
        if (slash) {
            *slash = '\0';
            if (strcmp(slash + 1, "tcp") == 0)
                tp = FLOE_TRANSPORT_TCP;
            else if (strcmp(slash + 1, "udp") != 0)
                return why(err, cap, "bad TURN transport '%s' (NAME/udp or NAME/tcp)", slash + 1);
        }
        int k = find_turn(s, tok);
        if (k < 0) return why(err, cap, "unknown TURN server '%s' (a turn-server NAME)", tok);
        p->turn_tp[p->cfg.n_turn] = tp;
        p->turns[p->cfg.n_turn++] = k;
        tok = comma ? comma + 1 : NULL;
    }
    if (p->cfg.n_turn == 0) return why(err, cap, "turn= needs a server");
    return FLOE_OK;
}

static int stun_list(floe_sim_ice_scenario *s, peer_spec *p, char *v, char *err, size_t cap) {
    for (char *tok = v; tok && *tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        if (p->n_servers == FLOE_ICE_MAX_STUN_SERVERS)
            return why(err, cap, "at most %d STUN servers per peer", FLOE_ICE_MAX_STUN_SERVERS);
        int k = find_server(s, tok);
        floe_addr a;
        if (k >= 0) {
            p->servers[p->n_servers] = k;
        } else if (floe_addr_parse(tok, &a) == FLOE_OK) {
            if (a.port == 0) a.port = FLOE_SIM_ICE_STUN_PORT;
            p->servers[p->n_servers] = -1;
            p->cfg.stun[p->n_servers] = a;
        } else {
            return why(err, cap,
                       "unknown STUN server '%s' (a stun-server NAME declared before, or "
                       "IP[:PORT])",
                       tok);
        }
        p->n_servers++;
        tok = comma ? comma + 1 : NULL;
    }
    if (p->n_servers == 0) return why(err, cap, "stun= needs a server");
    return FLOE_OK;
}

static int d_ice(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    if (argc < 3) return why(err, cap, "expected 'ice NAME host=HOST [option...]'");
    if (!name_ok(argv[1]))
        return why(err, cap, "bad name '%s' (1 to %d characters, no '=', ',' or '/')", argv[1],
                   FLOE_SIM_ICE_NAME_MAX - 1);
    if (find_peer(s, argv[1]) >= 0) return why(err, cap, "ice peer '%s' declared twice", argv[1]);
    if (s->n_peers == FLOE_SIM_ICE_MAX_PEERS)
        return why(err, cap, "more than %d ice lines", FLOE_SIM_ICE_MAX_PEERS);
    peer_spec p;
    memset(&p, 0, sizeof p);
    floe_sim_ice_config_default(&p.cfg);
    snprintf(p.name, sizeof p.name, "%s", argv[1]);
    p.signal_to = -1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "lite") == 0) {
            p.cfg.lite = true;
            continue;
        }
        char *k, *v;
        uint64_t u;
        int rc = split_kv(argv[i], "key=value or lite", &k, &v, err, cap);
        if (rc != FLOE_OK) return rc;
        if (strcmp(k, "host") == 0) {
            rc = plain_host(s->sim, v, &p.cfg.host, err, cap);
            if (rc != FLOE_OK) return rc;
        } else if (strcmp(k, "role") == 0) {
            if (strcmp(v, "controlling") == 0)
                p.role = ROLE_CONTROLLING;
            else if (strcmp(v, "controlled") == 0)
                p.role = ROLE_CONTROLLED;
            else
                return why(err, cap, "bad role '%s' (controlling or controlled)", v);
        } else if (strcmp(k, "stun") == 0) {
            rc = stun_list(s, &p, v, err, cap);
            if (rc != FLOE_OK) return rc;
        } else if (strcmp(k, "turn") == 0) {
            rc = turn_list(s, &p, v, err, cap);
            if (rc != FLOE_OK) return rc;
        } else if (strcmp(k, "components") == 0) {
            if (!parse_uint(v, FLOE_ICE_MAX_COMPONENTS, &u) || u == 0)
                return why(err, cap, "bad components '%s' (1 or 2)", v);
            p.cfg.components = (unsigned)u;
        } else if (strcmp(k, "ta") == 0) {
            if (floe_sim_parse_duration(v, &p.cfg.ta) != FLOE_OK || p.cfg.ta < FLOE_ICE_TA_MIN ||
                p.cfg.ta > FLOE_S(1))
                return why(err, cap, "bad ta '%s' (5ms to 1s)", v);
        } else if (strcmp(k, "start") == 0) {
            floe_time_ns t;
            if (floe_sim_parse_duration(v, &t) != FLOE_OK || t > FLOE_SIM_ICE_RUN_LIMIT)
                return why(err, cap, "bad start '%s' (a time up to 60s)", v);
            p.cfg.start = s->t_loaded + t;
        } else if (strcmp(k, "data") == 0) {
            if (!parse_uint(v, FLOE_SIM_ICE_DATA_MAX, &u))
                return why(err, cap, "bad data '%s' (0..%d datagrams)", v, FLOE_SIM_ICE_DATA_MAX);
            p.cfg.data = (unsigned)u;
        } else if (strcmp(k, "lite") == 0) {
            if (strcmp(v, "on") == 0)
                p.cfg.lite = true;
            else if (strcmp(v, "off") == 0)
                p.cfg.lite = false;
            else
                return why(err, cap, "bad lite '%s' (on or off)", v);
        } else {
            return why(
                err, cap,
                "unknown ice option '%s' (host, role, stun, turn, lite, components, ta, start, "
                "data)",
                k);
        }
    }
    if (!p.cfg.host) return why(err, cap, "ice '%s' needs host=HOST", p.name);
    if (p.cfg.lite && p.role == ROLE_CONTROLLING)
        return why(err, cap, "an ICE-lite agent is always controlled (RFC 8445 section 6.1.1)");
    if (p.cfg.lite && p.n_servers)
        return why(err, cap, "an ICE-lite agent gathers host candidates only: drop stun=");
    s->peers[s->n_peers++] = p;
    return FLOE_OK;
}

static int d_signal(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    if (argc < 3) return why(err, cap, "expected 'signal OFFERER ANSWERER [delay=TIME]'");
    int a = find_peer(s, argv[1]), b = find_peer(s, argv[2]);
    if (a < 0)
        return why(err, cap, "unknown ice peer '%s' (declare it with an ice line first)", argv[1]);
    if (b < 0)
        return why(err, cap, "unknown ice peer '%s' (declare it with an ice line first)", argv[2]);
    if (a == b) return why(err, cap, "a peer cannot signal with itself");
    if (s->peers[a].in_signal || s->peers[b].in_signal)
        return why(err, cap, "'%s' already has a signal line (one peer per peer)",
                   s->peers[a].in_signal ? argv[1] : argv[2]);
    floe_time_ns delay = FLOE_SIM_ICE_SIGNAL_DELAY;
    for (int i = 3; i < argc; i++) {
        char *k, *v;
        int rc = split_kv(argv[i], "key=value", &k, &v, err, cap);
        if (rc != FLOE_OK) return rc;
        if (strcmp(k, "delay") == 0) {
            if (floe_sim_parse_duration(v, &delay) != FLOE_OK || delay > FLOE_S(10))
                return why(err, cap, "bad delay '%s' (a time up to 10s)", v);
        } else {
            return why(err, cap, "unknown signal option '%s' (delay)", k);
        }
    }
    s->peers[a].signal_to = b;
    s->peers[a].delay = delay;
    s->peers[a].in_signal = s->peers[b].in_signal = true;
    return FLOE_OK;
}

static bool paired(const floe_sim_ice_scenario *s, int a, int b) {
    return s->peers[a].signal_to == b || s->peers[b].signal_to == a;
}

static int d_expect(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    if (argc < 4)
        return why(err, cap, "expected 'expect A B outcome=... [within=TIME] [echoes=N]'");
    if (s->n_expects == FLOE_SIM_ICE_MAX_EXPECT)
        return why(err, cap, "more than %d expect lines", FLOE_SIM_ICE_MAX_EXPECT);
    expect_spec e;
    memset(&e, 0, sizeof e);
    size_t off = 0;
    for (int i = 1; i < argc && off < sizeof e.text; i++) {
        int n = snprintf(e.text + off, sizeof e.text - off, "%s%s", i > 1 ? " " : "", argv[i]);
        if (n < 0) break;
        off += (size_t)n;
    }
    e.a = find_peer(s, argv[1]);
    e.b = find_peer(s, argv[2]);
    if (e.a < 0) return why(err, cap, "unknown ice peer '%s'", argv[1]);
    if (e.b < 0) return why(err, cap, "unknown ice peer '%s'", argv[2]);
    if (e.a == e.b || !paired(s, e.a, e.b))
        return why(err, cap, "'%s' and '%s' are not a session (add 'signal %s %s' before)", argv[1],
                   argv[2], argv[1], argv[2]);
    bool outcome = false;
    for (int i = 3; i < argc; i++) {
        char *k, *v;
        uint64_t u;
        int rc = split_kv(argv[i], "key=value", &k, &v, err, cap);
        if (rc != FLOE_OK) return rc;
        if (strcmp(k, "outcome") == 0) {
            outcome = true;
            const char *slash = strchr(v, '/');
            if (strcmp(v, "fail") == 0) {
                e.kind = OUT_FAIL;
            } else if (strcmp(v, "connected") == 0) {
                e.kind = OUT_CONNECTED;
            } else if (strcmp(v, "relay") == 0) {
                e.kind = OUT_RELAY;
            } else if (slash && floe_ice_cand_type_parse(v, (size_t)(slash - v), &e.local) &&
                       floe_ice_cand_type_parse(slash + 1, strlen(slash + 1), &e.remote)) {
                e.kind = OUT_TYPES;
            } else {
                return why(err, cap,
                           "bad outcome '%s' (fail, connected, relay, or LOCAL/REMOTE "
                           "candidate types such as srflx/prflx)",
                           v);
            }
        } else if (strcmp(k, "within") == 0) {
            if (floe_sim_parse_duration(v, &e.within) != FLOE_OK || e.within == 0)
                return why(err, cap, "bad within '%s' (e.g. 1s)", v);
            e.within_set = true;
        } else if (strcmp(k, "echoes") == 0) {
            if (!parse_uint(v, FLOE_SIM_ICE_DATA_MAX, &u))
                return why(err, cap, "bad echoes '%s' (0..%d)", v, FLOE_SIM_ICE_DATA_MAX);
            e.echoes = (unsigned)u;
            e.echoes_set = true;
        } else {
            return why(err, cap, "unknown expect option '%s' (outcome, within, echoes)", k);
        }
    }
    if (!outcome) return why(err, cap, "expect needs outcome=fail|connected|relay|LOCAL/REMOTE");
    if (e.echoes_set && e.kind == OUT_FAIL)
        return why(err, cap, "echoes= makes no sense with outcome=fail");
    s->expects[s->n_expects++] = e;
    return FLOE_OK;
}

static int d_client(floe_sim_ice_scenario *s, int argc, char **argv, char *err, size_t cap) {
    client_spec c;
    memset(&c, 0, sizeof c);
    c.discover = strcmp(argv[0], "discover") == 0;
    if (argc != 3) return why(err, cap, "expected '%s HOST SERVER'", argv[0]);
    if (s->n_clients == FLOE_SIM_ICE_MAX_CLIENTS)
        return why(err, cap, "more than %d stun and discover lines", FLOE_SIM_ICE_MAX_CLIENTS);
    int rc = plain_host(s->sim, argv[1], &c.host, err, cap);
    if (rc != FLOE_OK) return rc;
    c.server = find_server(s, argv[2]);
    if (c.server >= 0) {
        c.addr = s->servers[c.server].addr;
        if (c.discover && s->servers[c.server].alt.family == FLOE_AF_NONE)
            return why(err, cap, "stun-server '%s' has no alternate= address (RFC 5780)", argv[2]);
    } else if (floe_addr_parse(argv[2], &c.addr) == FLOE_OK) {
        if (c.addr.port == 0) c.addr.port = FLOE_SIM_ICE_STUN_PORT;
    } else {
        return why(err, cap,
                   "unknown STUN server '%s' (a stun-server NAME declared before, or IP[:PORT])",
                   argv[2]);
    }
    floe_addr a;
    if (!host_addr(c.host, c.addr.family, &a))
        return why(err, cap, "host '%s' has no IPv%d address", argv[1], c.addr.family);
    s->clients[s->n_clients++] = c;
    return FLOE_OK;
}

static int hook(void *ctx, floe_sim *sim, int argc, char **argv, char *err, size_t cap) {
    floe_sim_ice_scenario *s = ctx;
    (void)sim;
    if (s->prepared) return why(err, cap, "ICE directives must come before the run starts");
    if (strcmp(argv[0], "stun-server") == 0) return d_stun_server(s, argc, argv, err, cap);
    if (strcmp(argv[0], "turn-server") == 0) return d_turn_server(s, argc, argv, err, cap);
    if (strcmp(argv[0], "ice") == 0) return d_ice(s, argc, argv, err, cap);
    if (strcmp(argv[0], "signal") == 0) return d_signal(s, argc, argv, err, cap);
    if (strcmp(argv[0], "expect") == 0) return d_expect(s, argc, argv, err, cap);
    if (strcmp(argv[0], "stun") == 0 || strcmp(argv[0], "discover") == 0)
        return d_client(s, argc, argv, err, cap);
    return FLOE_ERR_NOT_FOUND;
}

/* ---- lifetime --------------------------------------------------------------------- */

int floe_sim_ice_scenario_new(floe_sim_ice_scenario **out) {
    *out = NULL;
    floe_sim_ice_scenario *s = calloc(1, sizeof *s);
    if (!s) return FLOE_ERR_NOMEM;
    floe_sim_config c;
    floe_sim_config_default(&c);
    c.max_steps = FLOE_SIM_ICE_MAX_STEPS;
    int rc = floe_sim_new(&s->sim, &c);
    if (rc != FLOE_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return FLOE_OK;
}

void floe_sim_ice_scenario_free(floe_sim_ice_scenario *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_peers; i++)
        floe_sim_ice_free(s->peers[i].peer);
    for (size_t i = 0; i < s->n_clients; i++) {
        floe_sim_stun_client_free(s->clients[i].stun);
        floe_sim_stun_behavior_free(s->clients[i].disc);
    }
    for (size_t i = 0; i < s->n_servers; i++)
        floe_sim_stun_server_free(s->servers[i].srv);
    for (size_t i = 0; i < s->n_turns; i++)
        floe_sim_turn_server_free(s->turns[i].srv);
    floe_sim_free(s->sim);
    free(s);
}

floe_sim *floe_sim_ice_scenario_world(const floe_sim_ice_scenario *s) {
    return s->sim;
}

int floe_sim_ice_scenario_load(floe_sim_ice_scenario *s, const char *path, char *err, size_t cap) {
    floe_sim_scenario_opts o = {hook, s};
    s->t_loaded = floe_sim_now(s->sim);
    return floe_sim_scenario_load(s->sim, path, &o, err, cap);
}

int floe_sim_ice_scenario_parse(floe_sim_ice_scenario *s, const char *text, const char *name,
                                char *err, size_t cap) {
    floe_sim_scenario_opts o = {hook, s};
    s->t_loaded = floe_sim_now(s->sim);
    return floe_sim_scenario_parse(s->sim, text, name, &o, err, cap);
}

void floe_sim_ice_scenario_set_log(floe_sim_ice_scenario *s, floe_sim_ice_log_fn fn, void *ctx) {
    s->log = fn;
    s->log_ctx = ctx;
}

int floe_sim_ice_scenario_prepare(floe_sim_ice_scenario *s, char *err, size_t cap) {
    if (s->prepared) return FLOE_ERR_STATE;
    s->prepared = true;
    for (size_t i = 0; i < s->n_servers; i++) {
        server_spec *sp = &s->servers[i];
        floe_stun_server_config sc;
        floe_stun_server_config_default(&sc);
        sc.primary = sp->addr;
        sc.rfc5780 = sp->alt.family != FLOE_AF_NONE;
        sc.alternate = sp->alt;
        int rc = floe_sim_stun_server_new(sp->host, &sc, &sp->srv);
        if (rc != FLOE_OK)
            return why(err, cap, "stun-server %s: cannot listen: %s", sp->name, floe_strerror(rc));
    }
    for (size_t i = 0; i < s->n_turns; i++) {
        turn_spec *t = &s->turns[i];
        floe_turn_user u = {t->user, t->password};
        floe_turn_server_config tc;
        floe_turn_server_config_default(&tc);
        tc.realm = "sim";
        tc.users = &u;
        tc.n_users = 1;
        tc.allow = t->allow;
        tc.n_allow = t->n_allow;
        tc.unauth_per_s = 0; /* everyone shares a few simulated addresses */
        int rc = floe_sim_turn_server_new(t->host, &t->addr, &tc, &t->srv);
        if (rc == FLOE_OK) rc = floe_sim_turn_server_listen_tcp(t->srv); /* for NAME/tcp */
        if (rc != FLOE_OK)
            return why(err, cap, "turn-server %s: cannot start: %s", t->name, floe_strerror(rc));
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        peer_spec *p = &s->peers[i];
        p->cfg.name = p->name;
        for (size_t k = 0; k < p->cfg.n_turn; k++) {
            const turn_spec *t = &s->turns[p->turns[k]];
            p->cfg.turn[k] =
                (floe_ice_turn_server){t->addr, t->user, t->password, p->turn_tp[k], NULL};
        }
        for (size_t k = 0; k < p->n_servers; k++)
            if (p->servers[k] >= 0) p->cfg.stun[k] = s->servers[p->servers[k]].addr;
        p->cfg.n_stun = p->n_servers;
        /* Without role=, the offerer controls (RFC 8445 section 6.1.1) and a lite agent
         * never does. */
        if (p->role == ROLE_UNSET)
            p->cfg.controlling = p->signal_to >= 0 && !p->cfg.lite;
        else
            p->cfg.controlling = p->role == ROLE_CONTROLLING;
        int rc = floe_sim_ice_new(s->sim, &p->cfg, &p->peer);
        if (rc != FLOE_OK)
            return why(err, cap, "ice %s: cannot create the peer: %s", p->name, floe_strerror(rc));
        if (s->log) floe_sim_ice_set_log(p->peer, s->log, s->log_ctx);
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        peer_spec *p = &s->peers[i];
        if (p->signal_to < 0) continue;
        int rc = floe_sim_ice_signal(p->peer, s->peers[p->signal_to].peer, p->delay);
        if (rc != FLOE_OK) return why(err, cap, "signal %s: %s", p->name, floe_strerror(rc));
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        int rc = floe_sim_ice_start(s->peers[i].peer);
        if (rc != FLOE_OK) return why(err, cap, "ice %s: %s", s->peers[i].name, floe_strerror(rc));
    }
    /* stun and discover start now, from an ephemeral port on the host's first address of
     * the server's family (opened after the peers', so they do not move the peers' ports). */
    for (size_t i = 0; i < s->n_clients; i++) {
        client_spec *c = &s->clients[i];
        floe_addr bind;
        host_addr(c->host, c->addr.family, &bind);
        int rc;
        c->t0 = floe_sim_now(s->sim);
        if (c->discover) {
            floe_stun_behavior_config bc;
            floe_stun_behavior_config_default(&bc);
            bc.server = c->addr;
            bc.local = bind; /* port 0: the socket's */
            rc = floe_sim_stun_behavior_new(c->host, &bind, &bc, &c->disc);
            if (rc == FLOE_OK) rc = floe_sim_stun_behavior_start(c->disc);
        } else {
            floe_stun_client_config cc;
            floe_stun_client_config_default(&cc);
            cc.server = c->addr;
            rc = floe_sim_stun_client_new(c->host, &bind, &cc, &c->stun);
            if (rc == FLOE_OK) rc = floe_sim_stun_client_start(c->stun, NULL);
        }
        if (rc != FLOE_OK)
            return why(err, cap, "%s %s: %s", c->discover ? "discover" : "stun",
                       floe_sim_host_name(c->host), floe_strerror(rc));
    }
    return FLOE_OK;
}

static bool client_done(const client_spec *c) {
    if (c->disc) return floe_sim_stun_behavior_done(c->disc);
    return !c->stun || floe_sim_stun_client_done(c->stun);
}

/* Every session is over; a peer without a signal line only gathers. */
static bool all_done(const floe_sim_ice_scenario *s) {
    for (size_t i = 0; i < s->n_peers; i++) {
        const floe_sim_ice *p = s->peers[i].peer;
        if (!floe_sim_ice_peer(p)) {
            if (floe_sim_ice_result_get(p)->t_gathered == FLOE_TIME_NEVER) return false;
        } else if (!floe_sim_ice_done(p)) {
            return false;
        }
    }
    for (size_t i = 0; i < s->n_clients; i++)
        if (!client_done(&s->clients[i])) return false;
    return true;
}

int floe_sim_ice_scenario_run(floe_sim_ice_scenario *s, floe_time_ns until) {
    if (until != FLOE_TIME_NEVER) return floe_sim_run_until(s->sim, until);
    floe_time_ns limit = s->t_loaded + FLOE_SIM_ICE_RUN_LIMIT;
    /* Bounded by virtual time (and by the world's max_steps when set). */
    while (s->prepared && !all_done(s)) {
        floe_time_ns next = floe_sim_next_time(s->sim);
        if (next == FLOE_TIME_NEVER || next > limit) return floe_sim_run_until(s->sim, limit);
        int rc = floe_sim_step(s->sim);
        if (rc < 0) return rc;
    }
    return FLOE_OK;
}

/* ---- results ---------------------------------------------------------------------- */

size_t floe_sim_ice_scenario_peer_count(const floe_sim_ice_scenario *s) {
    return s->n_peers;
}

floe_sim_ice *floe_sim_ice_scenario_peer_at(const floe_sim_ice_scenario *s, size_t i) {
    return i < s->n_peers ? s->peers[i].peer : NULL;
}

floe_sim_ice *floe_sim_ice_scenario_peer(const floe_sim_ice_scenario *s, const char *name) {
    int i = find_peer(s, name);
    return i < 0 ? NULL : s->peers[i].peer;
}

static bool completed(const floe_sim_ice_result *r) {
    return r->t_completed != FLOE_TIME_NEVER;
}

static bool failed(const floe_sim_ice_result *r) {
    return r->t_failed != FLOE_TIME_NEVER;
}

int floe_sim_ice_scenario_session(const floe_sim_ice_scenario *s, const floe_sim_ice *a,
                                  floe_sim_ice_session *out) {
    (void)s;
    memset(out, 0, sizeof *out);
    out->time = FLOE_TIME_NEVER;
    const floe_sim_ice *b = a ? floe_sim_ice_peer(a) : NULL;
    if (!b) return FLOE_ERR_NOT_FOUND;
    out->a = a;
    out->b = b;
    const floe_sim_ice_result *ra = floe_sim_ice_result_get(a), *rb = floe_sim_ice_result_get(b);
    out->t0 = ra->t_start < rb->t_start ? ra->t_start : rb->t_start;
    floe_ice_stats st;
    floe_sim_ice_stats(a, &st);
    out->checks_a = st.checks_sent;
    floe_sim_ice_stats(b, &st);
    out->checks_b = st.checks_sent;
    out->data_sent = ra->data_sent + rb->data_sent;
    out->echoes = ra->echoes + rb->echoes;
    bool ca = completed(ra), cb = completed(rb), fa = failed(ra), fb = failed(rb);
    /* A peer that completed and later failed (consent lost) counts as failed. */
    if (fa) ca = false;
    if (fb) cb = false;
    unsigned comps = floe_sim_ice_config_get(a)->components;
    if (ca && cb) {
        out->outcome = FLOE_SIM_ICE_CONNECTED;
        floe_time_ns t = ra->t_completed > rb->t_completed ? ra->t_completed : rb->t_completed;
        out->time = t - out->t0;
        out->consistent = true;
        size_t off = 0;
        for (unsigned c = 1; c <= comps; c++) {
            const floe_ice_cand *al = &ra->sel_local[c], *ar = &ra->sel_remote[c];
            const floe_ice_cand *bl = &rb->sel_local[c], *br = &rb->sel_remote[c];
            if (!ra->have_sel[c] || !rb->have_sel[c] || !floe_addr_equal(&al->addr, &br->addr) ||
                !floe_addr_equal(&ar->addr, &bl->addr) || al->type != br->type ||
                ar->type != bl->type)
                out->consistent = false;
            char one[20];
            snprintf(one, sizeof one, "%s/%s", floe_ice_cand_type_name(al->type),
                     floe_ice_cand_type_name(ar->type));
            /* Components with the same types print once. */
            if (c == 1 || strcmp(one, out->pair) != 0) {
                int n = snprintf(out->pair + off, sizeof out->pair - off, "%s%s", c > 1 ? "," : "",
                                 one);
                if (n > 0) off += (size_t)n;
                if (off >= sizeof out->pair) off = sizeof out->pair - 1;
            }
        }
    } else if (fa && fb) {
        out->outcome = FLOE_SIM_ICE_FAILED_BOTH;
        floe_time_ns t = ra->t_failed > rb->t_failed ? ra->t_failed : rb->t_failed;
        out->time = t - out->t0;
        snprintf(out->pair, sizeof out->pair, "fail");
    } else if (ca || cb || fa || fb) {
        out->outcome = FLOE_SIM_ICE_HALF;
        snprintf(out->pair, sizeof out->pair, "%s %s, %s %s", floe_sim_ice_name(a),
                 ca   ? "completed"
                 : fa ? "failed"
                      : "unfinished",
                 floe_sim_ice_name(b),
                 cb   ? "completed"
                 : fb ? "failed"
                      : "unfinished");
    } else {
        out->outcome = FLOE_SIM_ICE_UNFINISHED;
        snprintf(out->pair, sizeof out->pair, "unfinished");
    }
    return FLOE_OK;
}

size_t floe_sim_ice_scenario_expect_count(const floe_sim_ice_scenario *s) {
    return s->n_expects;
}

static void seconds(floe_time_ns t, char *buf, size_t cap) {
    snprintf(buf, cap, "%.3f s", (double)t / 1e9);
}

int floe_sim_ice_scenario_expect(const floe_sim_ice_scenario *s, size_t i,
                                 floe_sim_ice_verdict *out) {
    memset(out, 0, sizeof *out);
    if (i >= s->n_expects) return FLOE_ERR_NOT_FOUND;
    const expect_spec *e = &s->expects[i];
    snprintf(out->expected, sizeof out->expected, "%s", e->text);
    const floe_sim_ice *a = s->peers[e->a].peer;
    if (!a) {
        snprintf(out->got, sizeof out->got, "not run");
        snprintf(out->why, sizeof out->why, "the scenario was not prepared");
        return FLOE_OK;
    }
    floe_sim_ice_session *ss = &out->session;
    floe_sim_ice_scenario_session(s, a, ss);
    char t[32] = "";
    if (ss->time != FLOE_TIME_NEVER) seconds(ss->time, t, sizeof t);
    if (ss->time != FLOE_TIME_NEVER)
        snprintf(out->got, sizeof out->got, "%s in %s", ss->pair, t);
    else
        snprintf(out->got, sizeof out->got, "%s", ss->pair);
    char bound[32] = "";
    if (e->within_set) seconds(e->within, bound, sizeof bound);
    if (e->kind == OUT_FAIL) {
        if (ss->outcome != FLOE_SIM_ICE_FAILED_BOTH) {
            snprintf(out->why, sizeof out->why, "expected both peers to fail, got %s", ss->pair);
            return FLOE_OK;
        }
        if (e->within_set && ss->time > e->within) {
            snprintf(out->why, sizeof out->why, "failed after %s, later than within %s", t, bound);
            return FLOE_OK;
        }
        out->ok = true;
        return FLOE_OK;
    }
    if (ss->outcome != FLOE_SIM_ICE_CONNECTED) {
        snprintf(out->why, sizeof out->why, "expected a connection, got %s", ss->pair);
        return FLOE_OK;
    }
    if (!ss->consistent) {
        snprintf(out->why, sizeof out->why, "the two peers selected different pairs");
        return FLOE_OK;
    }
    if (e->kind == OUT_RELAY && !strstr(ss->pair, "relay")) {
        snprintf(out->why, sizeof out->why, "expected a relayed candidate in the pair, got %s",
                 ss->pair);
        return FLOE_OK;
    }
    if (e->kind == OUT_TYPES) {
        const floe_sim_ice_result *ra = floe_sim_ice_result_get(a);
        for (unsigned c = 1; c <= floe_sim_ice_config_get(a)->components; c++) {
            if (ra->sel_local[c].type != e->local || ra->sel_remote[c].type != e->remote) {
                snprintf(out->why, sizeof out->why, "expected %s/%s, got %s",
                         floe_ice_cand_type_name(e->local), floe_ice_cand_type_name(e->remote),
                         ss->pair);
                return FLOE_OK;
            }
        }
    }
    if (e->within_set && ss->time > e->within) {
        snprintf(out->why, sizeof out->why, "selected after %s, later than within %s", t, bound);
        return FLOE_OK;
    }
    /* Without echoes=, a session that sends data must get at least one echo back. */
    unsigned need = e->echoes_set ? e->echoes : (ss->data_sent > 0 ? 1 : 0);
    if (ss->echoes < need) {
        snprintf(out->why, sizeof out->why, "%u echo(es) of %u datagram(s), expected at least %u",
                 ss->echoes, ss->data_sent, need);
        return FLOE_OK;
    }
    out->ok = true;
    return FLOE_OK;
}

size_t floe_sim_ice_scenario_failed_expectations(const floe_sim_ice_scenario *s) {
    size_t bad = 0;
    for (size_t i = 0; i < s->n_expects; i++) {
        floe_sim_ice_verdict v;
        if (floe_sim_ice_scenario_expect(s, i, &v) == FLOE_OK && !v.ok) bad++;
    }
    return bad;
}

/* ---- output ----------------------------------------------------------------------- */

void floe_sim_format_duration(floe_time_ns d, char *buf, size_t cap) {
    if (d == 0)
        snprintf(buf, cap, "0");
    else if (d % FLOE_NS_PER_S == 0)
        snprintf(buf, cap, "%llus", (unsigned long long)(d / FLOE_NS_PER_S));
    else if (d % FLOE_MS(1) == 0)
        snprintf(buf, cap, "%llums", (unsigned long long)(d / FLOE_MS(1)));
    else if (d % FLOE_NS_PER_US == 0)
        snprintf(buf, cap, "%lluus", (unsigned long long)(d / FLOE_NS_PER_US));
    else
        snprintf(buf, cap, "%lluns", (unsigned long long)d);
}

static const char *at_text(floe_time_ns t, char *buf, size_t cap) {
    if (t == FLOE_TIME_NEVER)
        snprintf(buf, cap, "never");
    else
        seconds(t, buf, cap);
    return buf;
}

static const char *outcome_name(floe_sim_ice_outcome o) {
    switch (o) {
    case FLOE_SIM_ICE_CONNECTED: return "connected";
    case FLOE_SIM_ICE_FAILED_BOTH: return "failed";
    case FLOE_SIM_ICE_HALF: return "half";
    case FLOE_SIM_ICE_UNFINISHED:
    default: return "unfinished";
    }
}

static void print_peer_stats(const floe_sim_ice *p, FILE *f) {
    floe_ice_stats st;
    floe_sim_ice_stats(p, &st);
    fprintf(f, "    %s:", floe_sim_ice_name(p));
    for (size_t i = 0; i < FLOE_ICE_STAT_COUNT; i++)
        fprintf(f, " %s %llu", floe_ice_stat_name(i),
                (unsigned long long)floe_ice_stat_value(&st, i));
    fputc('\n', f);
}

static void print_peer(const floe_sim_ice *p, const floe_sim_ice_session *ss, FILE *f) {
    const floe_sim_ice_result *r = floe_sim_ice_result_get(p);
    char t1[32], t2[32], t3[32];
    fprintf(
        f,
        "  %s (%s%s): %s; gathered %s with %zu candidate(s) (%zu srflx), remote description %s\n",
        floe_sim_ice_name(p), r->controlling ? "controlling" : "controlled",
        floe_sim_ice_config_get(p)->lite ? ", lite" : "", floe_ice_agent_state_name(r->state),
        at_text(r->t_gathered == FLOE_TIME_NEVER ? r->t_gathered : r->t_gathered - ss->t0, t1,
                sizeof t1),
        r->n_local_cands, r->n_srflx,
        at_text(r->t_remote == FLOE_TIME_NEVER ? r->t_remote : r->t_remote - ss->t0, t2,
                sizeof t2));
    if (r->sdp_error[0]) fprintf(f, "    signalling error: %s\n", r->sdp_error);
    for (unsigned c = 1; c <= floe_sim_ice_config_get(p)->components; c++) {
        if (!r->have_sel[c]) continue;
        char l[FLOE_ADDR_STRLEN], rr[FLOE_ADDR_STRLEN];
        fprintf(f, "    component %u: %s %s -> %s %s at %s\n", c,
                floe_ice_cand_type_name(r->sel_local[c].type),
                floe_sim_ice_addr_text(&r->sel_local[c].addr, l, sizeof l),
                floe_ice_cand_type_name(r->sel_remote[c].type),
                floe_sim_ice_addr_text(&r->sel_remote[c].addr, rr, sizeof rr),
                at_text(r->t_selected[c] - ss->t0, t3, sizeof t3));
    }
    if (r->t_failed != FLOE_TIME_NEVER)
        fprintf(f, "    failed at %s: %s\n", at_text(r->t_failed - ss->t0, t3, sizeof t3),
                r->fail_reason ? r->fail_reason : "no reason given");
    if (floe_sim_ice_config_get(p)->data)
        fprintf(f, "    data: %u of %u datagram(s) sent, %u echoed back\n", r->data_sent,
                floe_sim_ice_config_get(p)->data, r->echoes);
}

static const char *server_text(const floe_sim_ice_scenario *s, const client_spec *c, char *buf,
                               size_t cap) {
    if (c->server >= 0) return s->servers[c->server].name;
    return floe_sim_ice_addr_text(&c->addr, buf, cap);
}

/* What a stun or discover line found: its outcome, the mapped address, the time it took
 * (FLOE_TIME_NEVER while it runs). */
typedef struct client_view {
    const char *outcome; /* floe_stun_client_event_name or floe_stun_behavior_status_name */
    const floe_stun_client_event *ev;     /* stun */
    const floe_stun_behavior_result *beh; /* discover */
    floe_addr mapped;
    floe_time_ns time;
} client_view;

static client_view view(const client_spec *c) {
    client_view v;
    memset(&v, 0, sizeof v);
    v.time = FLOE_TIME_NEVER;
    v.outcome = "unfinished";
    if (!client_done(c)) return v;
    if (c->disc) {
        v.beh = floe_sim_stun_behavior_result(c->disc);
        v.outcome = floe_stun_behavior_status_name(v.beh->status);
        v.mapped = v.beh->mapped;
        v.time = floe_sim_stun_behavior_done_at(c->disc) - c->t0;
    } else if (c->stun) {
        v.ev = floe_sim_stun_client_event_get(c->stun);
        v.outcome = floe_stun_client_event_name(v.ev->type);
        v.mapped = v.ev->result.mapped;
        v.time = v.ev->result.finished - c->t0;
    }
    return v;
}

/* "stun alice -> stun: success, mapped 203.0.113.1:49152, 0.042 s"
 * "discover alice -> stun: ok, mapping address-dependent, filtering endpoint-independent,
 *  behind a NAT, mapped 203.0.113.1:49152, 1.265 s" */
static void print_client(const floe_sim_ice_scenario *s, const client_spec *c, FILE *f) {
    char srv[FLOE_ADDR_STRLEN], a[FLOE_ADDR_STRLEN], t[32];
    client_view v = view(c);
    fprintf(f, "%s %s -> %s: %s", c->discover ? "discover" : "stun", floe_sim_host_name(c->host),
            server_text(s, c, srv, sizeof srv), v.outcome);
    if (v.ev && v.ev->type == FLOE_STUN_CLIENT_EV_ERROR_RESPONSE)
        fprintf(f, " %d %s", v.ev->result.error_code, v.ev->result.reason);
    if (v.beh)
        fprintf(f, ", mapping %s, filtering %s, %s", floe_nat_behavior_name(v.beh->mapping),
                floe_nat_behavior_name(v.beh->filtering),
                !v.beh->nat_known ? "NAT unknown"
                : v.beh->nat      ? "behind a NAT"
                                  : "no NAT");
    if (v.mapped.family != FLOE_AF_NONE)
        fprintf(f, ", mapped %s", floe_sim_ice_addr_text(&v.mapped, a, sizeof a));
    if (v.time != FLOE_TIME_NEVER) {
        seconds(v.time, t, sizeof t);
        fprintf(f, ", %s", t);
    }
    fputc('\n', f);
}

void floe_sim_ice_scenario_print(const floe_sim_ice_scenario *s, FILE *f, unsigned flags) {
    for (size_t i = 0; i < s->n_peers; i++) {
        const peer_spec *p = &s->peers[i];
        if (!p->peer) continue;
        floe_sim_ice_session ss;
        if (p->signal_to < 0) {
            if (p->in_signal) continue; /* printed with its offerer */
            fprintf(f, "%s: no signal line, gathering only\n", p->name);
            continue;
        }
        floe_sim_ice_scenario_session(s, p->peer, &ss);
        char t[32] = "";
        if (ss.time != FLOE_TIME_NEVER) seconds(ss.time, t, sizeof t);
        fprintf(f, "session %s -> %s: %s", p->name, floe_sim_ice_name(ss.b),
                outcome_name(ss.outcome));
        if (ss.outcome == FLOE_SIM_ICE_CONNECTED)
            fprintf(f, " %s, time to selected pair %s%s", ss.pair, t,
                    ss.consistent ? "" : " (the peers disagree on the pair)");
        else if (ss.outcome == FLOE_SIM_ICE_FAILED_BOTH)
            fprintf(f, " after %s", t);
        else if (ss.outcome == FLOE_SIM_ICE_HALF)
            fprintf(f, " (%s)", ss.pair);
        fprintf(f, ", checks sent %llu + %llu\n", (unsigned long long)ss.checks_a,
                (unsigned long long)ss.checks_b);
        print_peer(ss.a, &ss, f);
        print_peer(ss.b, &ss, f);
        if (flags & FLOE_SIM_ICE_PRINT_STATS) {
            print_peer_stats(ss.a, f);
            print_peer_stats(ss.b, f);
        }
    }
    for (size_t i = 0; i < s->n_clients; i++)
        print_client(s, &s->clients[i], f);
    for (size_t i = 0; i < s->n_expects; i++) {
        floe_sim_ice_verdict v;
        floe_sim_ice_scenario_expect(s, i, &v);
        if (v.ok)
            fprintf(f, "expect %s: ok (%s)\n", v.expected, v.got);
        else
            fprintf(f, "expect %s: FAILED: %s\n", v.expected, v.why);
    }
    if (flags & FLOE_SIM_ICE_PRINT_STATS) {
        fprintf(f, "world at %s:", at_text(floe_sim_now(s->sim), (char[32]){0}, 32));
        for (int c = 0; c < FLOE_SIM_COUNTER_COUNT; c++)
            fprintf(f, " %s %llu", floe_sim_counter_name(c),
                    (unsigned long long)floe_sim_counter_get(s->sim, c));
        fprintf(f, " in_flight %llu\n", (unsigned long long)floe_sim_in_flight(s->sim));
    }
}

/* ---- JSON ------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *str) {
    fputc('"', f);
    for (; str && *str; str++) {
        unsigned char c = (unsigned char)*str;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_time(FILE *f, const char *key, floe_time_ns t, floe_time_ns t0) {
    if (t == FLOE_TIME_NEVER)
        fprintf(f, ",\"%s\":null", key);
    else
        fprintf(f, ",\"%s\":%.9f", key, (double)(t - t0) / 1e9);
}

static void json_peer(FILE *f, const floe_sim_ice *p, floe_time_ns t0, unsigned flags) {
    const floe_sim_ice_result *r = floe_sim_ice_result_get(p);
    fprintf(f, "{\"name\":");
    json_str(f, floe_sim_ice_name(p));
    fprintf(f, ",\"role\":\"%s\",\"state\":\"%s\"", r->controlling ? "controlling" : "controlled",
            floe_ice_agent_state_name(r->state));
    json_time(f, "gathered_s", r->t_gathered, t0);
    json_time(f, "remote_s", r->t_remote, t0);
    json_time(f, "completed_s", r->t_completed, t0);
    json_time(f, "failed_s", r->t_failed, t0);
    fprintf(f, ",\"candidates\":%zu,\"srflx\":%zu,\"remote_candidates\":%zu", r->n_local_cands,
            r->n_srflx, r->n_remote_cands);
    fprintf(f, ",\"selected\":[");
    bool first = true;
    for (unsigned c = 1; c <= floe_sim_ice_config_get(p)->components; c++) {
        if (!r->have_sel[c]) continue;
        char l[FLOE_ADDR_STRLEN], rr[FLOE_ADDR_STRLEN];
        fprintf(f,
                "%s{\"component\":%u,\"local\":{\"type\":\"%s\",\"addr\":\"%s\"},"
                "\"remote\":{\"type\":\"%s\",\"addr\":\"%s\"}",
                first ? "" : ",", c, floe_ice_cand_type_name(r->sel_local[c].type),
                floe_sim_ice_addr_text(&r->sel_local[c].addr, l, sizeof l),
                floe_ice_cand_type_name(r->sel_remote[c].type),
                floe_sim_ice_addr_text(&r->sel_remote[c].addr, rr, sizeof rr));
        json_time(f, "at_s", r->t_selected[c], t0);
        fputc('}', f);
        first = false;
    }
    fprintf(f, "],\"error\":");
    if (r->fail_reason)
        json_str(f, r->fail_reason);
    else if (r->sdp_error[0])
        json_str(f, r->sdp_error);
    else
        fprintf(f, "null");
    fprintf(f, ",\"data_sent\":%u,\"echoes\":%u,\"echoed\":%u", r->data_sent, r->echoes, r->echoed);
    floe_ice_stats st;
    floe_sim_ice_stats(p, &st);
    fprintf(f, ",\"checks_sent\":%llu", (unsigned long long)st.checks_sent);
    if (flags & FLOE_SIM_ICE_PRINT_STATS) {
        fprintf(f, ",\"ice\":{");
        for (size_t i = 0; i < FLOE_ICE_STAT_COUNT; i++)
            fprintf(f, "%s\"%s\":%llu", i ? "," : "", floe_ice_stat_name(i),
                    (unsigned long long)floe_ice_stat_value(&st, i));
        fputc('}', f);
    }
    fputc('}', f);
}

void floe_sim_ice_scenario_print_json(const floe_sim_ice_scenario *s, FILE *f, unsigned flags) {
    fprintf(f, "{\"seed\":%llu,\"end_s\":%.9f,\"sessions\":[",
            (unsigned long long)floe_sim_seed(s->sim), (double)floe_sim_now(s->sim) / 1e9);
    bool first = true;
    for (size_t i = 0; i < s->n_peers; i++) {
        const peer_spec *p = &s->peers[i];
        if (!p->peer || p->signal_to < 0) continue;
        floe_sim_ice_session ss;
        floe_sim_ice_scenario_session(s, p->peer, &ss);
        fprintf(f, "%s{\"offerer\":", first ? "" : ",");
        json_str(f, floe_sim_ice_name(ss.a));
        fprintf(f, ",\"answerer\":");
        json_str(f, floe_sim_ice_name(ss.b));
        fprintf(f, ",\"outcome\":\"%s\",\"pair\":", outcome_name(ss.outcome));
        json_str(f, ss.pair);
        if (ss.time == FLOE_TIME_NEVER)
            fprintf(f, ",\"time_s\":null");
        else
            fprintf(f, ",\"time_s\":%.9f", (double)ss.time / 1e9);
        fprintf(f, ",\"consistent\":%s,\"checks_sent\":[%llu,%llu],\"peers\":[",
                ss.consistent ? "true" : "false", (unsigned long long)ss.checks_a,
                (unsigned long long)ss.checks_b);
        json_peer(f, ss.a, ss.t0, flags);
        fputc(',', f);
        json_peer(f, ss.b, ss.t0, flags);
        fprintf(f, "]}");
        first = false;
    }
    fprintf(f, "],\"expectations\":[");
    for (size_t i = 0; i < s->n_expects; i++) {
        floe_sim_ice_verdict v;
        floe_sim_ice_scenario_expect(s, i, &v);
        fprintf(f, "%s{\"expect\":", i ? "," : "");
        json_str(f, v.expected);
        fprintf(f, ",\"ok\":%s,\"got\":", v.ok ? "true" : "false");
        json_str(f, v.got);
        if (!v.ok) {
            fprintf(f, ",\"why\":");
            json_str(f, v.why);
        }
        fputc('}', f);
    }
    fputc(']', f);
    for (int k = 0; k < 2; k++) { /* "stun":[...] then "discover":[...], when there are any */
        bool any = false;
        for (size_t i = 0; i < s->n_clients; i++) {
            const client_spec *c = &s->clients[i];
            if (c->discover != (k == 1)) continue;
            char srv[FLOE_ADDR_STRLEN], a[FLOE_ADDR_STRLEN];
            client_view v = view(c);
            fprintf(f, "%s{\"host\":", any ? "," : k ? ",\"discover\":[" : ",\"stun\":[");
            any = true;
            json_str(f, floe_sim_host_name(c->host));
            fprintf(f, ",\"server\":");
            json_str(f, server_text(s, c, srv, sizeof srv));
            fprintf(f, ",\"%s\":\"%s\"", k ? "status" : "outcome", v.outcome);
            if (v.ev && v.ev->type == FLOE_STUN_CLIENT_EV_ERROR_RESPONSE)
                fprintf(f, ",\"error_code\":%d", v.ev->result.error_code);
            if (v.beh)
                fprintf(f, ",\"mapping\":\"%s\",\"filtering\":\"%s\",\"nat\":%s",
                        floe_nat_behavior_name(v.beh->mapping),
                        floe_nat_behavior_name(v.beh->filtering),
                        !v.beh->nat_known ? "null"
                        : v.beh->nat      ? "true"
                                          : "false");
            fprintf(f, ",\"mapped\":");
            if (v.mapped.family == FLOE_AF_NONE)
                fprintf(f, "null");
            else
                json_str(f, floe_sim_ice_addr_text(&v.mapped, a, sizeof a));
            json_time(f, "time_s", v.time, 0);
            fputc('}', f);
        }
        if (any) fputc(']', f);
    }
    if (flags & FLOE_SIM_ICE_PRINT_STATS) {
        fprintf(f, ",\"counters\":{");
        for (int c = 0; c < FLOE_SIM_COUNTER_COUNT; c++)
            fprintf(f, "%s\"%s\":%llu", c ? "," : "", floe_sim_counter_name(c),
                    (unsigned long long)floe_sim_counter_get(s->sim, c));
        fprintf(f, ",\"in_flight\":%llu}", (unsigned long long)floe_sim_in_flight(s->sim));
    }
    fprintf(f, "}\n");
}

/* ---- topology --------------------------------------------------------------------- */

static void print_iface(FILE *f, const floe_sim_iface *ifc) {
    char a[FLOE_ADDR_STRLEN];
    fprintf(f, " %s@%s", floe_sim_iface_name(ifc),
            floe_sim_network_name(floe_sim_iface_network(ifc)));
    static const int fams[2] = {FLOE_AF_INET4, FLOE_AF_INET6};
    for (int k = 0; k < 2; k++) {
        floe_addr ip = floe_sim_iface_addr(ifc, fams[k]);
        if (ip.family != FLOE_AF_NONE) {
            floe_addr_format(&ip, false, a, sizeof a);
            fprintf(f, " %s", a);
        }
        floe_addr gw = floe_sim_iface_gateway(ifc, fams[k]);
        if (gw.family != FLOE_AF_NONE) {
            floe_addr_format(&gw, false, a, sizeof a);
            fprintf(f, " gw %s", a);
        }
    }
}

void floe_sim_ice_scenario_print_topology(const floe_sim_ice_scenario *s, FILE *f) {
    char d1[32], d2[32];
    fprintf(f, "seed %llu\n", (unsigned long long)floe_sim_seed(s->sim));
    for (size_t i = 0; i < floe_sim_network_count(s->sim); i++) {
        const floe_sim_network *n = floe_sim_network_at(s->sim, i);
        const floe_sim_link *l = floe_sim_network_link(n);
        floe_sim_format_duration(l->delay, d1, sizeof d1);
        floe_sim_format_duration(l->jitter, d2, sizeof d2);
        fprintf(f, "network %s: delay %s jitter %s (%s) loss %g%% mtu %u%s%s\n",
                floe_sim_network_name(n), d1, d2,
                l->dist == FLOE_SIM_JITTER_NORMAL ? "normal" : "uniform", l->loss * 100.0, l->mtu,
                l->reorder ? " reorder" : "", l->partitioned ? " partitioned" : "");
    }
    for (size_t i = 0; i < floe_sim_host_count(s->sim); i++) {
        const floe_sim_host *h = floe_sim_host_at(s->sim, i);
        const floe_sim_nat_config *nc = floe_sim_nat_config_get(h);
        if (nc) {
            floe_sim_format_duration(nc->timeout, d1, sizeof d1);
            if (nc->mode == FLOE_SIM_NAT_TRANSLATE)
                fprintf(f, "nat %s: %s/%s ports %s %u-%u timeout %s hairpin %s,",
                        floe_sim_host_name(h), floe_sim_nat_mapping_short(nc->mapping),
                        floe_sim_nat_filtering_short(nc->filtering),
                        floe_sim_nat_ports_name(nc->ports), nc->port_min, nc->port_max, d1,
                        nc->hairpin ? "on" : "off");
            else if (nc->mode == FLOE_SIM_NAT_FIREWALL)
                fprintf(f, "firewall %s: stateful, filtering %s, timeout %s,",
                        floe_sim_host_name(h), floe_sim_nat_filtering_short(nc->filtering), d1);
            else
                fprintf(f, "firewall %s: blocks UDP,", floe_sim_host_name(h));
            fprintf(f, " inside");
            print_iface(f, floe_sim_nat_inside(h));
            fprintf(f, ", outside");
            print_iface(f, floe_sim_nat_outside(h));
            fputc('\n', f);
            continue;
        }
        fprintf(f, "host %s:", floe_sim_host_name(h));
        for (size_t k = 0; k < floe_sim_host_iface_count(h); k++) {
            if (k) fputc(',', f);
            print_iface(f, floe_sim_host_iface_at(h, k));
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->n_servers; i++) {
        char a[FLOE_ADDR_STRLEN];
        fprintf(f, "stun-server %s: on %s at %s", s->servers[i].name,
                floe_sim_host_name(s->servers[i].host),
                floe_sim_ice_addr_text(&s->servers[i].addr, a, sizeof a));
        if (s->servers[i].alt.family != FLOE_AF_NONE)
            fprintf(f, ", RFC 5780 alternate %s",
                    floe_sim_ice_addr_text(&s->servers[i].alt, a, sizeof a));
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        const peer_spec *p = &s->peers[i];
        const char *role = p->role == ROLE_CONTROLLING  ? "controlling"
                           : p->role == ROLE_CONTROLLED ? "controlled"
                           : p->cfg.lite                ? "controlled"
                           : p->signal_to >= 0          ? "controlling (offerer)"
                                                        : "controlled";
        fprintf(f, "ice %s: on %s, %s%s, %u component(s)", p->name, floe_sim_host_name(p->cfg.host),
                role, p->cfg.lite ? ", lite" : "", p->cfg.components);
        for (size_t k = 0; k < p->n_servers; k++) {
            char a[FLOE_ADDR_STRLEN];
            if (p->servers[k] >= 0)
                fprintf(f, "%s%s", k ? "," : ", stun ", s->servers[p->servers[k]].name);
            else
                fprintf(f, "%s%s", k ? "," : ", stun ",
                        floe_sim_ice_addr_text(&p->cfg.stun[k], a, sizeof a));
        }
        if (p->cfg.ta) {
            floe_sim_format_duration(p->cfg.ta, d1, sizeof d1);
            fprintf(f, ", ta %s", d1);
        }
        if (p->cfg.start > s->t_loaded) {
            floe_sim_format_duration(p->cfg.start - s->t_loaded, d1, sizeof d1);
            fprintf(f, ", starts at %s", d1);
        }
        if (p->cfg.data) fprintf(f, ", %u datagram(s) once connected", p->cfg.data);
        fputc('\n', f);
    }
    for (size_t i = 0; i < s->n_peers; i++) {
        const peer_spec *p = &s->peers[i];
        if (p->signal_to < 0) continue;
        floe_sim_format_duration(p->delay, d1, sizeof d1);
        fprintf(f, "signal %s -> %s: delay %s\n", p->name, s->peers[p->signal_to].name, d1);
    }
    for (size_t i = 0; i < s->n_clients; i++) {
        char srv[FLOE_ADDR_STRLEN];
        const client_spec *c = &s->clients[i];
        fprintf(f, "%s %s -> %s\n", c->discover ? "discover" : "stun", floe_sim_host_name(c->host),
                server_text(s, c, srv, sizeof srv));
    }
    for (size_t i = 0; i < s->n_expects; i++)
        fprintf(f, "expect %s\n", s->expects[i].text);
}
