/* floe simulator: the scenario file parser (see sim_scenario.h and docs/simulator.md). */
#include "sim_scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_internal.h" /* sim_iface_check: report interface errors before adding a NAT */

typedef struct sc {
    floe_sim *sim;
    const char *name;
    unsigned line;
    char *err;
    size_t cap;
    const floe_sim_scenario_opts *opts;
    floe_time_ns t0; /* "at" times count from here */
} sc;

__attribute__((format(printf, 2, 3))) static int fail(sc *s, const char *fmt, ...) {
    if (!s->err || s->cap == 0) return FLOE_ERR_CONFIG;
    int n = snprintf(s->err, s->cap, "%s:%u: ", s->name, s->line);
    if (n < 0) n = 0;
    if ((size_t)n < s->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err + n, s->cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return FLOE_ERR_CONFIG;
}

/* ---- values ---------------------------------------------------------------------- */

int floe_sim_parse_duration(const char *s, floe_time_ns *out) {
    if (!s || !*s) return FLOE_ERR_INVAL;
    uint64_t whole = 0, frac = 0, frac_div = 1;
    const char *p = s;
    bool digits = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (UINT64_MAX - 9) / 10) return FLOE_ERR_INVAL;
        whole = whole * 10 + (uint64_t)(*p - '0');
        digits = true;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (frac_div < UINT64_C(1000000000)) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_div *= 10;
            }
            digits = true;
        }
    }
    if (!digits) return FLOE_ERR_INVAL;
    uint64_t mult;
    if (strcmp(p, "ns") == 0)
        mult = 1;
    else if (strcmp(p, "us") == 0)
        mult = FLOE_NS_PER_US;
    else if (strcmp(p, "ms") == 0)
        mult = FLOE_NS_PER_MS;
    else if (strcmp(p, "s") == 0)
        mult = FLOE_NS_PER_S;
    else if (strcmp(p, "min") == 0)
        mult = 60 * FLOE_NS_PER_S;
    else if (*p == '\0' && whole == 0 && frac == 0)
        mult = 1; /* a bare 0 needs no unit */
    else
        return FLOE_ERR_INVAL;
    if (whole > UINT64_MAX / 2 / mult) return FLOE_ERR_INVAL;
    *out = whole * mult + frac * mult / frac_div;
    return FLOE_OK;
}

static bool parse_bool(const char *v, bool *out) {
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_uint(const char *v, uint64_t max, uint64_t *out) {
    if (!*v || *v == '-' || *v == '+') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end || x > max) return false;
    *out = x;
    return true;
}

/* "0.01" (a fraction) or "1%" (a percentage). */
static bool parse_prob(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v) return false;
    if (*end == '%') {
        x /= 100.0;
        end++;
    }
    if (*end || !(x >= 0.0 && x <= 1.0)) return false;
    *out = x;
    return true;
}

static bool parse_ip(const char *v, floe_addr *out) {
    if (floe_addr_parse(v, out) != FLOE_OK || out->port != 0) return false;
    out->scope_id = 0;
    return true;
}

/* ---- network and link options ---------------------------------------------------- */

/* Applies one link option to a patch; 1 = done, 0 = not a link key, <0 = error given. */
static int link_key(sc *s, floe_sim_link_patch *p, const char *k, const char *v) {
    uint64_t u;
    if (strcmp(k, "delay") == 0) {
        if (floe_sim_parse_duration(v, &p->v.delay) != FLOE_OK)
            return fail(s, "bad delay '%s' (e.g. 20ms)", v);
        p->fields |= FLOE_SIM_LINK_DELAY;
    } else if (strcmp(k, "jitter") == 0) {
        if (floe_sim_parse_duration(v, &p->v.jitter) != FLOE_OK)
            return fail(s, "bad jitter '%s' (e.g. 2ms)", v);
        p->fields |= FLOE_SIM_LINK_JITTER;
    } else if (strcmp(k, "dist") == 0) {
        if (strcmp(v, "uniform") == 0)
            p->v.dist = FLOE_SIM_JITTER_UNIFORM;
        else if (strcmp(v, "normal") == 0)
            p->v.dist = FLOE_SIM_JITTER_NORMAL;
        else
            return fail(s, "bad dist '%s' (uniform or normal)", v);
        p->fields |= FLOE_SIM_LINK_DIST;
    } else if (strcmp(k, "loss") == 0) {
        if (!parse_prob(v, &p->v.loss))
            return fail(s, "bad loss '%s' (a fraction 0..1 or a percentage like 1%%)", v);
        p->fields |= FLOE_SIM_LINK_LOSS;
    } else if (strcmp(k, "mtu") == 0) {
        if (!parse_uint(v, FLOE_SIM_MTU_MAX, &u) || u < FLOE_SIM_MTU_MIN)
            return fail(s, "bad mtu '%s' (%d..%d)", v, FLOE_SIM_MTU_MIN, FLOE_SIM_MTU_MAX);
        p->v.mtu = (unsigned)u;
        p->fields |= FLOE_SIM_LINK_MTU;
    } else if (strcmp(k, "reorder") == 0) {
        if (!parse_bool(v, &p->v.reorder)) return fail(s, "bad reorder '%s' (on or off)", v);
        p->fields |= FLOE_SIM_LINK_REORDER;
    } else if (strcmp(k, "partition") == 0) {
        if (!parse_bool(v, &p->v.partitioned)) return fail(s, "bad partition '%s' (on or off)", v);
        p->fields |= FLOE_SIM_LINK_PARTITION;
    } else {
        return 0;
    }
    return 1;
}

/* Splits "key=value" in place. */
static bool split_kv(char *w, char **k, char **v) {
    char *eq = strchr(w, '=');
    if (!eq || eq == w) return false;
    *eq = '\0';
    *k = w;
    *v = eq + 1;
    return true;
}

static int link_options(sc *s, int argc, char **argv, int first, floe_sim_link_patch *p) {
    memset(p, 0, sizeof *p);
    for (int i = first; i < argc; i++) {
        char *k, *v;
        if (!split_kv(argv[i], &k, &v)) return fail(s, "expected key=value, got '%s'", argv[i]);
        int rc = link_key(s, p, k, v);
        if (rc < 0) return rc;
        if (rc == 0) return fail(s, "unknown network option '%s'", k);
    }
    return FLOE_OK;
}

static int d_network(sc *s, int argc, char **argv) {
    if (argc < 2) return fail(s, "network: missing name");
    floe_sim_link_patch p;
    int rc = link_options(s, argc, argv, 2, &p);
    if (rc != FLOE_OK) return rc;
    floe_sim_link l;
    floe_sim_link_default(&l);
    floe_sim_link_apply(&l, &p);
    rc = floe_sim_network_add(s->sim, argv[1], &l, NULL);
    switch (rc) {
    case FLOE_OK: return FLOE_OK;
    case FLOE_ERR_STATE: return fail(s, "network '%s' already exists", argv[1]);
    case FLOE_ERR_LIMIT: return fail(s, "too many networks (the world's max_networks)");
    case FLOE_ERR_INVAL: return fail(s, "bad network '%s' (name or link values)", argv[1]);
    default: return fail(s, "network '%s': %s", argv[1], floe_strerror(rc));
    }
}

/* ---- interfaces ------------------------------------------------------------------ */

typedef struct iface_spec {
    char name[FLOE_SIM_NAME_MAX];
    floe_sim_iface_config cfg;
} iface_spec;

/* ip= or gw= on the interface being described. */
static int addr_key(sc *s, iface_spec *f, const char *k, const char *v) {
    floe_addr a;
    if (!parse_ip(v, &a)) return fail(s, "bad address '%s' in %s= (an IP without port)", v, k);
    bool gw = strcmp(k, "gw") == 0;
    floe_addr *slot = a.family == FLOE_AF_INET4 ? (gw ? &f->cfg.gw4 : &f->cfg.ip4)
                                                : (gw ? &f->cfg.gw6 : &f->cfg.ip6);
    if (slot->family != FLOE_AF_NONE)
        return fail(s, "interface '%s' has two IPv%d %s= values", f->name, a.family, k);
    *slot = a;
    return FLOE_OK;
}

static int net_of(sc *s, const char *name, floe_sim_network **out) {
    *out = floe_sim_network_find(s->sim, name);
    if (!*out) return fail(s, "unknown network '%s' (declare it with a network line first)", name);
    return FLOE_OK;
}

static int iface_error(sc *s, int rc, const char *host, const iface_spec *f) {
    switch (rc) {
    case FLOE_ERR_STATE:
        return fail(s, "%s: interface '%s' clashes (name on the host, or address on network '%s')",
                    host, f->name, floe_sim_network_name(f->cfg.net));
    case FLOE_ERR_LIMIT: return fail(s, "%s: more than %d interfaces", host, FLOE_SIM_MAX_IFACES);
    case FLOE_ERR_INVAL:
        return fail(s,
                    "%s: bad interface '%s' (it needs net= and an ip=; a gw= needs an ip= of its "
                    "family; no unspecified or multicast addresses)",
                    host, f->name);
    default: return fail(s, "%s: interface '%s': %s", host, f->name, floe_strerror(rc));
    }
}

static int host_error(sc *s, int rc, const char *kind, const char *name) {
    switch (rc) {
    case FLOE_ERR_STATE: return fail(s, "%s '%s': a host of that name exists", kind, name);
    case FLOE_ERR_LIMIT: return fail(s, "%s '%s': too many hosts (max_hosts)", kind, name);
    case FLOE_ERR_INVAL:
        return fail(s, "%s '%s': bad name (1..%d characters, no blanks or dots)", kind, name,
                    FLOE_SIM_NAME_MAX - 1);
    default: return fail(s, "%s '%s': %s", kind, name, floe_strerror(rc));
    }
}

static int d_host(sc *s, int argc, char **argv) {
    if (argc < 2) return fail(s, "host: missing name");
    iface_spec fs[FLOE_SIM_MAX_IFACES];
    int n = 0;
    memset(fs, 0, sizeof fs);
    bool named_pending = false; /* iface= seen, its net= not yet */
    for (int i = 2; i < argc; i++) {
        char *k, *v;
        if (!split_kv(argv[i], &k, &v)) return fail(s, "expected key=value, got '%s'", argv[i]);
        if (strcmp(k, "iface") == 0 || (strcmp(k, "net") == 0 && !named_pending)) {
            if (n == FLOE_SIM_MAX_IFACES)
                return fail(s, "host '%s': more than %d interfaces", argv[1], FLOE_SIM_MAX_IFACES);
            iface_spec *f = &fs[n++];
            if (strcmp(k, "iface") == 0) {
                if (strlen(v) >= sizeof f->name) return fail(s, "interface name too long: '%s'", v);
                snprintf(f->name, sizeof f->name, "%s", v);
                named_pending = true;
                continue;
            }
            snprintf(f->name, sizeof f->name, "eth%d", n - 1);
        }
        if (strcmp(k, "net") == 0) {
            int rc = net_of(s, v, &fs[n - 1].cfg.net);
            if (rc != FLOE_OK) return rc;
            named_pending = false;
        } else if (strcmp(k, "ip") == 0 || strcmp(k, "gw") == 0) {
            if (n == 0) return fail(s, "%s= before any iface= or net=", k);
            int rc = addr_key(s, &fs[n - 1], k, v);
            if (rc != FLOE_OK) return rc;
        } else {
            return fail(s, "unknown host option '%s' (iface, net, ip, gw)", k);
        }
    }
    if (n == 0) return fail(s, "host '%s' has no interface (add net=... ip=...)", argv[1]);
    for (int i = 0; i < n; i++)
        if (!fs[i].cfg.net) return fail(s, "interface '%s' has no net=", fs[i].name);
    floe_sim_host *h;
    int rc = floe_sim_host_add(s->sim, argv[1], &h);
    if (rc != FLOE_OK) return host_error(s, rc, "host", argv[1]);
    for (int i = 0; i < n; i++) {
        fs[i].cfg.name = fs[i].name;
        rc = floe_sim_host_add_iface(h, &fs[i].cfg, NULL);
        if (rc != FLOE_OK) return iface_error(s, rc, argv[1], &fs[i]);
    }
    return FLOE_OK;
}

/* ---- NATs and firewalls ---------------------------------------------------------- */

static bool parse_behavior(const char *v, bool mapping, floe_nat_behavior *out) {
    static const struct {
        const char *m, *f;
        floe_nat_behavior b;
    } names[] = {
        {"eim", "eif", FLOE_NAT_ENDPOINT_INDEPENDENT},
        {"adm", "adf", FLOE_NAT_ADDRESS_DEPENDENT},
        {"apdm", "apdf", FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT},
    };
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(v, mapping ? names[i].m : names[i].f) == 0 ||
            strcmp(v, floe_nat_behavior_name(names[i].b)) == 0) {
            *out = names[i].b;
            return true;
        }
    }
    return false;
}

static bool parse_type(const char *v, floe_sim_nat_config *c) {
    static const struct {
        const char *name;
        floe_nat_behavior m, f;
    } classic[] = {
        /* The RFC 3489 names, as RFC 4787 §4.1/§5 relates them to the new terms. */
        {"full-cone", FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT},
        {"restricted-cone", FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT},
        {"port-restricted", FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT},
        {"symmetric", FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT},
    };
    for (size_t i = 0; i < sizeof classic / sizeof classic[0]; i++) {
        if (strcmp(v, classic[i].name) == 0) {
            c->mapping = classic[i].m;
            c->filtering = classic[i].f;
            return true;
        }
    }
    const char *slash = strchr(v, '/');
    if (!slash || (size_t)(slash - v) >= 32) return false;
    char m[32];
    memcpy(m, v, (size_t)(slash - v));
    m[slash - v] = '\0';
    return parse_behavior(m, true, &c->mapping) && parse_behavior(slash + 1, false, &c->filtering);
}

static int nat_key(sc *s, floe_sim_nat_config *c, const char *k, const char *v) {
    uint64_t u;
    if (strcmp(k, "type") == 0) {
        if (!parse_type(v, c))
            return fail(s,
                        "bad type '%s' (MAPPING/FILTERING such as apdm/apdf, or full-cone, "
                        "restricted-cone, port-restricted, symmetric)",
                        v);
    } else if (strcmp(k, "mapping") == 0) {
        if (!parse_behavior(v, true, &c->mapping))
            return fail(s, "bad mapping '%s' (eim, adm or apdm)", v);
    } else if (strcmp(k, "filtering") == 0) {
        if (!parse_behavior(v, false, &c->filtering))
            return fail(s, "bad filtering '%s' (eif, adf or apdf)", v);
    } else if (strcmp(k, "mode") == 0) {
        if (strcmp(v, "translate") == 0 || strcmp(v, "nat") == 0)
            c->mode = FLOE_SIM_NAT_TRANSLATE;
        else if (strcmp(v, "stateful") == 0 || strcmp(v, "firewall") == 0)
            c->mode = FLOE_SIM_NAT_FIREWALL;
        else if (strcmp(v, "block-udp") == 0)
            c->mode = FLOE_SIM_NAT_BLOCK_UDP;
        else
            return fail(s, "bad mode '%s' (translate, stateful or block-udp)", v);
    } else if (strcmp(k, "ports") == 0) {
        if (strcmp(v, "preserve") == 0)
            c->ports = FLOE_SIM_NAT_PORTS_PRESERVE;
        else if (strcmp(v, "random") == 0)
            c->ports = FLOE_SIM_NAT_PORTS_RANDOM;
        else if (strcmp(v, "sequential") == 0)
            c->ports = FLOE_SIM_NAT_PORTS_SEQUENTIAL;
        else
            return fail(s, "bad ports '%s' (preserve, random or sequential)", v);
    } else if (strcmp(k, "range") == 0) {
        char lo[16];
        const char *dash = strchr(v, '-');
        uint64_t a, b;
        if (!dash || (size_t)(dash - v) >= sizeof lo)
            return fail(s, "bad range '%s' (LOW-HIGH)", v);
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = '\0';
        if (!parse_uint(lo, 65535, &a) || !parse_uint(dash + 1, 65535, &b) || a == 0 || a > b)
            return fail(s, "bad range '%s' (LOW-HIGH within 1-65535)", v);
        c->port_min = (uint16_t)a;
        c->port_max = (uint16_t)b;
    } else if (strcmp(k, "timeout") == 0) {
        if (floe_sim_parse_duration(v, &c->timeout) != FLOE_OK || c->timeout == 0)
            return fail(s, "bad timeout '%s' (e.g. 30s)", v);
    } else if (strcmp(k, "tcp_timeout") == 0) {
        if (floe_sim_parse_duration(v, &c->tcp_timeout) != FLOE_OK || c->tcp_timeout == 0 ||
            c->tcp_timeout > FLOE_S(86400))
            return fail(s, "bad tcp_timeout '%s' (e.g. 124min, at most 86400s)", v);
    } else if (strcmp(k, "refresh") == 0) {
        if (strcmp(v, "outbound") == 0)
            c->refresh_inbound = false;
        else if (strcmp(v, "both") == 0)
            c->refresh_inbound = true;
        else
            return fail(s, "bad refresh '%s' (outbound or both)", v);
    } else if (strcmp(k, "hairpin") == 0) {
        if (!parse_bool(v, &c->hairpin)) return fail(s, "bad hairpin '%s' (on or off)", v);
    } else if (strcmp(k, "max_mappings") == 0) {
        if (!parse_uint(v, FLOE_SIM_NAT_TABLE_LIMIT, &u) || u == 0)
            return fail(s, "bad max_mappings '%s' (1..%d)", v, FLOE_SIM_NAT_TABLE_LIMIT);
        c->max_mappings = (unsigned)u;
    } else if (strcmp(k, "max_permissions") == 0) {
        if (!parse_uint(v, FLOE_SIM_NAT_TABLE_LIMIT, &u) || u == 0)
            return fail(s, "bad max_permissions '%s' (1..%d)", v, FLOE_SIM_NAT_TABLE_LIMIT);
        c->max_permissions = (unsigned)u;
    } else {
        return 0;
    }
    return 1;
}

static int d_nat(sc *s, int argc, char **argv, bool firewall) {
    const char *kind = argv[0];
    if (argc < 2) return fail(s, "%s: missing name", kind);
    floe_sim_nat_config c;
    if (firewall)
        floe_sim_firewall_config_default(&c);
    else
        floe_sim_nat_config_default(&c);
    iface_spec sides[2]; /* inside, outside */
    memset(sides, 0, sizeof sides);
    snprintf(sides[0].name, sizeof sides[0].name, "inside");
    snprintf(sides[1].name, sizeof sides[1].name, "outside");
    iface_spec *cur = NULL;
    for (int i = 2; i < argc; i++) {
        char *k, *v;
        if (!split_kv(argv[i], &k, &v)) return fail(s, "expected key=value, got '%s'", argv[i]);
        if (strcmp(k, "inside") == 0 || strcmp(k, "outside") == 0) {
            cur = &sides[k[0] == 'o'];
            if (cur->cfg.net) return fail(s, "%s= given twice", k);
            int rc = net_of(s, v, &cur->cfg.net);
            if (rc != FLOE_OK) return rc;
            continue;
        }
        if (strcmp(k, "ip") == 0 || strcmp(k, "gw") == 0) {
            if (!cur) return fail(s, "%s= before inside= or outside=", k);
            int rc = addr_key(s, cur, k, v);
            if (rc != FLOE_OK) return rc;
            continue;
        }
        int rc = nat_key(s, &c, k, v);
        if (rc < 0) return rc;
        if (rc == 0) return fail(s, "unknown %s option '%s'", kind, k);
    }
    if (firewall && c.mode == FLOE_SIM_NAT_TRANSLATE)
        return fail(s, "a firewall does not translate (mode stateful or block-udp)");
    for (int i = 0; i < 2; i++)
        if (!sides[i].cfg.net)
            return fail(s, "%s '%s' needs %s=NETWORK ip=...", kind, argv[1], sides[i].name);
    if (sides[0].cfg.net == sides[1].cfg.net)
        return fail(s, "%s '%s': inside and outside are the same network", kind, argv[1]);
    sides[0].cfg.name = sides[0].name;
    sides[1].cfg.name = sides[1].name;
    if (floe_sim_nat_config_check(&c) != FLOE_OK)
        return fail(s, "%s '%s': inconsistent options", kind, argv[1]);
    for (int i = 0; i < 2; i++) {
        int rc = sim_iface_check(NULL, &sides[i].cfg);
        if (rc != FLOE_OK) return iface_error(s, rc, argv[1], &sides[i]);
    }
    int rc = floe_sim_nat_add(s->sim, argv[1], &c, &sides[0].cfg, &sides[1].cfg, NULL);
    if (rc != FLOE_OK) return host_error(s, rc, kind, argv[1]);
    return FLOE_OK;
}

/* ---- scheduled changes ----------------------------------------------------------- */

static int d_at(sc *s, int argc, char **argv) {
    floe_time_ns t;
    if (argc < 4)
        return fail(s, "at: expected 'at TIME network NAME key=value...' or "
                       "'at TIME iface HOST.IFACE up|down'");
    if (floe_sim_parse_duration(argv[1], &t) != FLOE_OK)
        return fail(s, "bad time '%s' (e.g. 10s)", argv[1]);
    floe_time_ns at = s->t0 + t;
    if (strcmp(argv[2], "network") == 0) {
        floe_sim_network *n;
        int rc = net_of(s, argv[3], &n);
        if (rc != FLOE_OK) return rc;
        floe_sim_link_patch p;
        rc = link_options(s, argc, argv, 4, &p);
        if (rc != FLOE_OK) return rc;
        if (p.fields == 0) return fail(s, "at %s network %s: nothing to change", argv[1], argv[3]);
        rc = floe_sim_network_patch_at(n, at, &p);
        if (rc == FLOE_ERR_INVAL) return fail(s, "the change makes network '%s' invalid", argv[3]);
        if (rc != FLOE_OK) return fail(s, "cannot schedule: %s", floe_strerror(rc));
        return FLOE_OK;
    }
    if (strcmp(argv[2], "iface") == 0) {
        if (argc != 5) return fail(s, "expected 'at TIME iface HOST.IFACE up|down'");
        char hn[FLOE_SIM_NAME_MAX];
        const char *dot = strchr(argv[3], '.');
        if (!dot || (size_t)(dot - argv[3]) >= sizeof hn)
            return fail(s, "expected HOST.IFACE, got '%s'", argv[3]);
        memcpy(hn, argv[3], (size_t)(dot - argv[3]));
        hn[dot - argv[3]] = '\0';
        floe_sim_host *h = floe_sim_host_find(s->sim, hn);
        if (!h) return fail(s, "unknown host '%s'", hn);
        floe_sim_iface *i = floe_sim_host_iface(h, dot + 1);
        if (!i) return fail(s, "host '%s' has no interface '%s'", hn, dot + 1);
        bool up;
        if (strcmp(argv[4], "up") == 0)
            up = true;
        else if (strcmp(argv[4], "down") == 0)
            up = false;
        else
            return fail(s, "expected up or down, got '%s'", argv[4]);
        int rc = floe_sim_iface_set_up_at(i, at, up);
        if (rc != FLOE_OK) return fail(s, "cannot schedule: %s", floe_strerror(rc));
        return FLOE_OK;
    }
    return fail(s, "at: unknown target '%s' (network or iface)", argv[2]);
}

static int d_seed(sc *s, int argc, char **argv) {
    uint64_t v;
    if (argc != 2 || !parse_uint(argv[1], UINT64_MAX, &v)) return fail(s, "expected 'seed NUMBER'");
    if (floe_sim_reseed(s->sim, v) != FLOE_OK)
        return fail(s, "seed: too late, the simulation has started");
    return FLOE_OK;
}

/* ---- lines ----------------------------------------------------------------------- */

static int run_line(sc *s, char *line) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *argv[FLOE_SIM_SCENARIO_WORDS_MAX];
    int argc = 0;
    for (char *p = line;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p) break;
        if (argc == FLOE_SIM_SCENARIO_WORDS_MAX)
            return fail(s, "more than %d words on one line", FLOE_SIM_SCENARIO_WORDS_MAX);
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
        if (*p) *p++ = '\0';
    }
    if (argc == 0) return FLOE_OK;
    const char *d = argv[0];
    if (strcmp(d, "seed") == 0) return d_seed(s, argc, argv);
    if (strcmp(d, "network") == 0) return d_network(s, argc, argv);
    if (strcmp(d, "host") == 0) return d_host(s, argc, argv);
    if (strcmp(d, "nat") == 0) return d_nat(s, argc, argv, false);
    if (strcmp(d, "firewall") == 0) return d_nat(s, argc, argv, true);
    if (strcmp(d, "at") == 0) return d_at(s, argc, argv);
    if (s->opts && s->opts->directive) {
        char why[256] = "";
        int rc = s->opts->directive(s->opts->ctx, s->sim, argc, argv, why, sizeof why);
        if (rc == FLOE_OK) return FLOE_OK;
        if (rc != FLOE_ERR_NOT_FOUND) return fail(s, "%s", why[0] ? why : floe_strerror(rc));
    }
    return fail(s, "unknown directive '%s'", d);
}

static void sc_init(sc *s, floe_sim *sim, const char *name, const floe_sim_scenario_opts *opts,
                    char *err, size_t cap) {
    memset(s, 0, sizeof *s);
    s->sim = sim;
    s->name = name ? name : "scenario";
    s->err = err;
    s->cap = cap;
    s->opts = opts;
    s->t0 = floe_sim_now(sim);
    if (err && cap) err[0] = '\0';
}

int floe_sim_scenario_parse(floe_sim *sim, const char *text, const char *name,
                            const floe_sim_scenario_opts *opts, char *err, size_t cap) {
    sc s;
    sc_init(&s, sim, name, opts, err, cap);
    char line[FLOE_SIM_SCENARIO_LINE_MAX];
    const char *p = text;
    while (*p) {
        s.line++;
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= sizeof line) return fail(&s, "line longer than %d bytes", (int)sizeof line - 1);
        memcpy(line, p, n);
        line[n] = '\0';
        int rc = run_line(&s, line);
        if (rc != FLOE_OK) return rc;
        p += n + (nl ? 1 : 0);
    }
    return FLOE_OK;
}

int floe_sim_scenario_read(floe_sim *sim, FILE *f, const char *name,
                           const floe_sim_scenario_opts *opts, char *err, size_t cap) {
    sc s;
    sc_init(&s, sim, name, opts, err, cap);
    char line[FLOE_SIM_SCENARIO_LINE_MAX + 1];
    while (fgets(line, sizeof line, f)) {
        s.line++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f))
            return fail(&s, "line longer than %d bytes", FLOE_SIM_SCENARIO_LINE_MAX - 1);
        int rc = run_line(&s, line);
        if (rc != FLOE_OK) return rc;
    }
    if (ferror(f)) {
        fail(&s, "read error");
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}

int floe_sim_scenario_load(floe_sim *sim, const char *path, const floe_sim_scenario_opts *opts,
                           char *err, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (err && cap) snprintf(err, cap, "%s: %s", path, strerror(errno));
        return FLOE_ERR_IO;
    }
    int rc = floe_sim_scenario_read(sim, f, path, opts, err, cap);
    fclose(f);
    return rc;
}
