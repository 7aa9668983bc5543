/* floe: the ICE options shared by floe ice, floe call and floe answer (see ice_opts.h). */
#include "ice_opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "floe/err.h"
#include "rt_sock.h"
#include "rt_sys.h"

bool floe_ice_opts_arg(const char *sub, int argc, char **argv, int *i, floe_ice_opts *o, int *rc) {
    const char *a = argv[*i], *v = NULL;
    *rc = 0;
    if (!strcmp(a, "--loopback")) {
        o->loopback = true;
    } else if (!strcmp(a, "--turn-insecure")) {
        o->turn_insecure = true;
    } else if (floe_cli_family(sub, a, &o->family, rc)) {
        /* *rc says */
    } else if (floe_cli_value(argc, argv, i, "--local-addr", &v)) {
        if (!v) return *rc = floe_usage_error(sub, "--local-addr needs an IP address"), true;
        if (o->n_local == FLOE_ICE_OPTS_MAX_LOCAL)
            return *rc = floe_usage_error(sub, "at most %d --local-addr", FLOE_ICE_OPTS_MAX_LOCAL),
                   true;
        floe_addr *la = &o->local_addrs[o->n_local];
        if (floe_addr_parse(v, la) != FLOE_OK || la->port != 0 ||
            (floe_addr_classify(la, NULL) & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST)))
            return *rc = floe_usage_error(sub, "bad --local-addr '%s' (an IP address of this host)",
                                          v),
                   true;
        o->n_local++;
    } else if (floe_cli_value(argc, argv, i, "--stun", &v)) {
        if (!v || !*v) return *rc = floe_usage_error(sub, "--stun needs HOST[:PORT]"), true;
        if (o->n_stun == FLOE_ICE_MAX_STUN_SERVERS)
            return *rc = floe_usage_error(sub, "at most %d --stun", FLOE_ICE_MAX_STUN_SERVERS),
                   true;
        o->stun[o->n_stun++] = v;
    } else if (floe_cli_value(argc, argv, i, "--turn", &v)) {
        char hp[FLOE_ICE_OPTS_NAME_MAX];
        floe_transport tp;
        uint16_t dp;
        if (!v || !floe_cli_turn_server(v, hp, sizeof hp, &tp, &dp))
            return *rc = floe_usage_error(sub,
                                          "bad --turn '%s' (HOST[:PORT], turn:HOST[:PORT]"
                                          "[?transport=udp|tcp] or turns:HOST[:PORT])",
                                          v ? v : ""),
                   true;
        if (o->n_turn == FLOE_ICE_MAX_TURN_SERVERS)
            return *rc = floe_usage_error(sub, "at most %d --turn", FLOE_ICE_MAX_TURN_SERVERS),
                   true;
        o->turn[o->n_turn++] = v;
    } else if (floe_cli_value(argc, argv, i, "--turn-ca", &v)) {
        if (!v || !*v) return *rc = floe_usage_error(sub, "--turn-ca needs a PEM file"), true;
        o->turn_ca = v;
    } else if (floe_cli_value(argc, argv, i, "--turn-user", &v)) {
        if (!v || !*v) return *rc = floe_usage_error(sub, "--turn-user needs a NAME"), true;
        o->turn_user = v;
    } else if (floe_cli_value(argc, argv, i, "--turn-password", &v)) {
        if (!v) return *rc = floe_usage_error(sub, "--turn-password needs a PASSWORD"), true;
        o->turn_password = v;
    } else {
        return false;
    }
    return true;
}

int floe_ice_opts_check(const char *sub, const floe_ice_opts *o) {
    if (o->loopback && o->n_local)
        return floe_usage_error(sub, "--loopback and --local-addr exclude each other");
    for (size_t i = 0; i < o->n_local; i++)
        if (o->family != FLOE_AF_NONE && o->local_addrs[i].family != o->family)
            return floe_usage_error(sub, "--local-addr %s is not of the family asked for",
                                    floe_cli_addr(&o->local_addrs[i]).s);
    if ((o->turn_user || o->turn_password) && !o->n_turn)
        return floe_usage_error(sub, "--turn-user and --turn-password go with --turn");
    if (o->turn_user && !o->turn_password)
        return floe_usage_error(sub, "--turn-user needs --turn-password");
    if (o->turn_ca && o->turn_insecure)
        return floe_usage_error(sub, "--turn-ca and --turn-insecure exclude each other");
    if ((o->turn_ca || o->turn_insecure) && !o->n_turn)
        return floe_usage_error(sub, "--turn-ca and --turn-insecure go with --turn turns:...");
    return 0;
}

int floe_ice_opts_local(const floe_ice_opts *o, floe_rt_ifaddr *list, size_t cap, size_t *n,
                        size_t *total, char *err, size_t errcap) {
    *n = *total = 0;
    if (o->n_local) {
        for (size_t i = 0; i < o->n_local && *n < cap; i++) {
            floe_rt_ifaddr e;
            const floe_addr *ip = &o->local_addrs[i];
            if (floe_rt_ifaddr_find(ip, &e) != FLOE_OK) {
                snprintf(err, errcap, "--local-addr %s is not an address of this host",
                         floe_cli_addr(ip).s);
                return 1;
            }
            floe_addr at = *ip;
            if (!at.scope_id) at.scope_id = e.addr.scope_id;
            e.addr = at;
            list[(*n)++] = e;
        }
        *total = o->n_local;
        return 0;
    }
    floe_rt_ifaddr_filter f = {.family = o->family, .loopback_only = o->loopback};
    if (floe_rt_ifaddrs(&f, list, cap, total) != FLOE_OK) {
        snprintf(err, errcap, "cannot list the local interfaces: %s", strerror(errno));
        return 1;
    }
    *n = *total < cap ? *total : cap;
    if (*n == 0) {
        const char *fam = o->family == FLOE_AF_INET4   ? "IPv4 "
                          : o->family == FLOE_AF_INET6 ? "IPv6 "
                                                       : "";
        snprintf(err, errcap, "no usable local %s%saddress to gather on%s", fam,
                 o->loopback ? "loopback " : "",
                 o->loopback ? "" : " (only loopback? try --loopback)");
        return 1;
    }
    return 0;
}

/* One server name: FLOE_OK with n addresses, or the reason in err. */
static int resolve(const char *what, const char *name, uint16_t dport, int family, floe_addr *addrs,
                   size_t max, size_t *n, char *err, size_t errcap) {
    int rc = floe_rt_resolve(name, dport, family, addrs, max, n);
    if (rc == FLOE_OK && (*n == 0 || addrs[0].port == 0)) rc = FLOE_ERR_ADDR;
    if (rc == FLOE_ERR_ADDR)
        snprintf(err, errcap, "bad --%s '%s' (expected HOST[:PORT], port 1-65535)", what, name);
    else if (rc != FLOE_OK)
        snprintf(err, errcap, "cannot resolve the %s server '%s': %s", what, name,
                 floe_strerror(rc));
    return rc;
}

int floe_ice_opts_resolve(const floe_ice_opts *o, floe_ice_opts_servers *out, char *err,
                          size_t errcap) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < o->n_stun; i++) {
        floe_addr addrs[FLOE_ICE_MAX_STUN_SERVERS];
        size_t n = 0;
        if (resolve("stun", o->stun[i], 3478, o->family, addrs, FLOE_ICE_MAX_STUN_SERVERS, &n, err,
                    errcap) != FLOE_OK)
            return 1;
        for (size_t k = 0; k < n && out->n_stun < FLOE_ICE_MAX_STUN_SERVERS; k++)
            out->stun[out->n_stun++] = addrs[k];
    }
    for (size_t i = 0; i < o->n_turn; i++) {
        char hp[FLOE_ICE_OPTS_NAME_MAX];
        floe_transport tp;
        uint16_t dport;
        floe_cli_turn_server(o->turn[i], hp, sizeof hp, &tp, &dport); /* checked already */
        floe_ice_turn_server *t = &out->turn[out->n_turn];
        size_t n = 0;
        if (resolve("turn", hp, dport, o->family, &t->addr, 1, &n, err, errcap) != FLOE_OK)
            return 1;
        t->username = o->turn_user;
        t->password = o->turn_password;
        t->transport = tp;
        floe_cli_host_part(hp, out->names[out->n_turn], sizeof out->names[out->n_turn]);
        t->server_name = out->names[out->n_turn];
        out->n_turn++;
        if (tp == FLOE_TRANSPORT_TLS && !out->tls) {
            char why[256];
            const char *ca = o->turn_insecure ? NULL : o->turn_ca;
            if (floe_rt_tls_ctx_new_client(&out->tls, ca, !o->turn_insecure, why, sizeof why) !=
                FLOE_OK) {
                snprintf(err, errcap, "cannot set up TLS for %s: %s", o->turn[i], why);
                return 1;
            }
        }
    }
    return 0;
}

void floe_ice_opts_apply(const floe_ice_opts_servers *s, floe_ice_config *cfg) {
    memcpy(cfg->stun_servers, s->stun, s->n_stun * sizeof s->stun[0]);
    cfg->n_stun_servers = s->n_stun;
    memcpy(cfg->turn_servers, s->turn, s->n_turn * sizeof s->turn[0]);
    cfg->n_turn_servers = s->n_turn;
}

void floe_ice_opts_servers_free(floe_ice_opts_servers *s) {
    if (!s) return;
    floe_rt_tls_ctx_free(s->tls);
    s->tls = NULL;
}
