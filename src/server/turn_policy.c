/* Which peers the relay may talk to. Deny by default everything the one address
 * classifier does not call global, in every encoding; the operator's deny prefixes win
 * over everything (and see through IPv6 forms that carry an IPv4 address), allow
 * prefixes admit exactly the addresses they name, and the server's own listening
 * addresses are never peers (no relaying into ourselves). */
#include <string.h>

#include "turn_server_priv.h"

void tsrv_addr_of(uint8_t family, const uint8_t ip[16], uint16_t port, floe_addr *out) {
    memset(out, 0, sizeof *out);
    out->family = family;
    out->port = port;
    memcpy(out->ip, ip, 16);
}

bool tsrv_is_self(const floe_turn_server *srv, const floe_addr *peer) {
    for (size_t i = 0; i < srv->cfg.n_self; i++)
        if (floe_addr_ip_equal(&srv->self[i], peer) && srv->self[i].port == peer->port) return true;
    return false;
}

bool floe_turn_server_peer_allowed(const floe_turn_server *srv, const floe_addr *peer) {
    if (peer->family != FLOE_AF_INET4 && peer->family != FLOE_AF_INET6) return false;
    for (size_t i = 0; i < srv->cfg.n_deny; i++)
        if (floe_addr_prefix_match_any_form(&srv->deny[i], peer)) return false;
    if (tsrv_is_self(srv, peer)) return false;
    for (size_t i = 0; i < srv->cfg.n_allow; i++)
        if (floe_addr_prefix_match(&srv->allow[i], peer)) return true;
    return floe_addr_is_global(peer);
}
