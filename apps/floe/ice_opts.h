/* floe: the ICE options that floe ice, floe call and floe answer share, from the command
 * line to what the agent is given.
 *
 *   where to gather   --local-addr IP (repeatable), --loopback, --ipv4 / --ipv6
 *   which servers     --stun HOST[:PORT] (repeatable), --turn URI (repeatable: HOST[:PORT],
 *                     turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT], RFC 7065),
 *                     --turn-user U, --turn-password P, --turn-ca PEM, --turn-insecure
 *
 * floe_ice_opts_arg takes one of them off the command line; floe_ice_opts_check checks
 * them together once all are read; floe_ice_opts_local lists the addresses to gather on
 * and floe_ice_opts_resolve the servers, with the TLS context a turns: server needs. */
#ifndef FLOE_APP_ICE_OPTS_H
#define FLOE_APP_ICE_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/addr.h"
#include "floe/ice.h"
#include "rt_ifaddrs.h"
#include "rt_tls.h"

#define FLOE_ICE_OPTS_MAX_LOCAL 16
#define FLOE_ICE_OPTS_NAME_MAX 256

typedef struct floe_ice_opts {
    floe_addr local_addrs[FLOE_ICE_OPTS_MAX_LOCAL];
    size_t n_local;
    bool loopback;
    int family; /* FLOE_AF_NONE, _INET4 or _INET6 */
    const char *stun[FLOE_ICE_MAX_STUN_SERVERS];
    size_t n_stun;
    const char *turn[FLOE_ICE_MAX_TURN_SERVERS];
    size_t n_turn;
    const char *turn_user, *turn_password, *turn_ca;
    bool turn_insecure;
} floe_ice_opts;

/* argv[*i] (and its value, *i then moves past it) when it is one of the options above:
 * true, with *rc 0, or 2 after printing a usage error for sub; false when it is none. */
bool floe_ice_opts_arg(const char *sub, int argc, char **argv, int *i, floe_ice_opts *o, int *rc);
/* Checks across the options once all are read: 0, or 2 after a usage error. */
int floe_ice_opts_check(const char *sub, const floe_ice_opts *o);

/* The local addresses to gather on: the --local-addr ones (each must be an address of this
 * host: its interface name comes with it), else the interfaces' own (family and loopback
 * as asked). *n of them in list (at most cap), *total found. 0, or 1 with the reason in
 * err (no such address, none usable, the listing failed). */
int floe_ice_opts_local(const floe_ice_opts *o, floe_rt_ifaddr *list, size_t cap, size_t *n,
                        size_t *total, char *err, size_t errcap);

/* The servers for the agent's config, resolved (STUN: every address of each name, up to
 * the agent's limit; TURN: the first), with the names TLS verifies and one TLS client
 * context for turns: servers (verified against --turn-ca or the system's CAs; not
 * verified with --turn-insecure). The agent's config points into it: keep it for the
 * agent's life, then floe_ice_opts_servers_free. */
typedef struct floe_ice_opts_servers {
    floe_addr stun[FLOE_ICE_MAX_STUN_SERVERS];
    size_t n_stun;
    floe_ice_turn_server turn[FLOE_ICE_MAX_TURN_SERVERS];
    size_t n_turn;
    char names[FLOE_ICE_MAX_TURN_SERVERS][FLOE_ICE_OPTS_NAME_MAX];
    floe_rt_tls_ctx *tls; /* NULL unless a turns: server is used */
} floe_ice_opts_servers;

/* 0, or 1 with the reason in err. */
int floe_ice_opts_resolve(const floe_ice_opts *o, floe_ice_opts_servers *out, char *err,
                          size_t errcap);
/* Copies the servers into an agent's config (after floe_ice_config_default). */
void floe_ice_opts_apply(const floe_ice_opts_servers *s, floe_ice_config *cfg);
void floe_ice_opts_servers_free(floe_ice_opts_servers *s);

#endif
