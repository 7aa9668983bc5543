/* floe simulator: NAT and firewall boxes with the behaviours of RFC 4787.
 *
 * A NAT is a host with two interfaces, "inside" and "outside", that forwards between
 * them. Its behaviours are set independently:
 *
 *   mapping (RFC 4787 §4.1)   which outgoing datagrams of one internal endpoint X:x share
 *                             an external port: all of them (endpoint-independent), those
 *                             to the same remote IP (address-dependent), or those to the
 *                             same remote IP and port (address-and-port-dependent).
 *   filtering (§5)            which remote endpoints may send to a mapping: anyone
 *                             (endpoint-independent), IPs the mapping has sent to
 *                             (address-dependent), or IP:port pairs it has sent to
 *                             (address-and-port-dependent).
 *   port assignment (§4.2.1)  a new mapping keeps the internal port when it is free
 *                             (preserve; otherwise a random port of the range), takes a
 *                             random port of the range, or the next one in sequence.
 *   timeout (§4.3)            a mapping dies `timeout` after it was last refreshed.
 *                             Outbound datagrams refresh it (REQ-6); inbound ones too when
 *                             refresh_inbound is set. A permission (a remote the mapping
 *                             sent to) lives by the same rule. The next outbound datagram
 *                             after expiry creates a new mapping (a new port unless the
 *                             old one is picked again).
 *   hairpinning (§6)          a datagram from the inside to the NAT's own external address
 *                             is translated as if it went out and came back (source: the
 *                             sender's mapping, REQ-9), filtered like any inbound datagram,
 *                             and sent back inside; with hairpinning off it is dropped
 *                             (FLOE_SIM_DROP_NAT_HAIRPIN).
 *
 * Anything arriving on the outside that no live mapping accepts is dropped and counted
 * (FLOE_SIM_DROP_NAT_NO_MAPPING, _FILTERED). The outside interface may sit on a network
 * behind another NAT (carrier-grade NAT: NAT behind NAT); it then needs a gateway.
 * A NAT translates each address family it has an outside address for; a datagram of
 * another family is dropped (FLOE_SIM_DROP_NAT_FAMILY). A NAT host may also run sockets
 * of its own: datagrams to its addresses that no mapping claims go to them.
 *
 * TCP (sim_tcp.h) goes through the same boxes with mappings of its own: the tables key
 * every entry by protocol, so a TCP mapping never carries UDP or the reverse, and the
 * two protocols have separate external port spaces. The configured mapping, filtering
 * and port behaviours apply to TCP as to UDP. Only an outbound SYN creates a TCP mapping
 * (RFC 5382 §4); another segment from the inside that no live mapping carries is
 * dropped (FLOE_SIM_DROP_NAT_TCP_STATE). An inbound SYN without a mapping is dropped as
 * unsolicited UDP is (FLOE_SIM_DROP_NAT_NO_MAPPING), without a RST. TCP entries live
 * tcp_timeout after their last refresh (RFC 5382 REQ-5 asks 2 h 4 min for established
 * connections); the box does not follow FIN and RST to shorten them.
 *
 * Two modes make the same box a firewall that does not translate (it then routes: the
 * outside network reaches the inside addresses through it, see sim_host.h):
 *   FLOE_SIM_NAT_FIREWALL   stateful for UDP and TCP: outbound opens a flow (for TCP a
 *                           SYN does), inbound needs one and passes the filtering
 *                           behaviour (address-and-port-dependent by default): unsolicited
 *                           inbound UDP and SYNs are blocked;
 *   FLOE_SIM_NAT_BLOCK_UDP  every UDP datagram through the box is dropped, both ways
 *                           (FLOE_SIM_DROP_FIREWALL); TCP passes statefully, exactly as
 *                           through FLOE_SIM_NAT_FIREWALL: connections from the inside
 *                           work, unsolicited ones from the outside do not.
 *
 * Tables are bounded (max_mappings, max_permissions): expired entries are reclaimed
 * first; a datagram that needs an entry when the table is still full is dropped
 * (FLOE_SIM_DROP_NAT_TABLE). Random ports come from the NAT's own stream, derived from
 * the world's seed and the NAT's name. */
#ifndef FLOE_SIM_NAT_H
#define FLOE_SIM_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun_behavior.h" /* floe_nat_behavior: the RFC 4787 classes */
#include "floe/time.h"
#include "sim_host.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Binding lifetime of a new NAT. RFC 4787 REQ-5 asks for at least 2 minutes; many
 * deployed NATs use 30 s, and the shorter value is the harder test for keepalives. */
#define FLOE_SIM_NAT_TIMEOUT_DEFAULT FLOE_S(30)
/* Lifetime of a TCP mapping: RFC 5382 REQ-5's least idle timeout for an established
 * connection, 2 hours and 4 minutes. */
#define FLOE_SIM_NAT_TCP_TIMEOUT_DEFAULT FLOE_S(7440)
#define FLOE_SIM_NAT_MAX_MAPPINGS_DEFAULT 1024
#define FLOE_SIM_NAT_MAX_PERMISSIONS_DEFAULT 4096
#define FLOE_SIM_NAT_TABLE_LIMIT 65536
#define FLOE_SIM_NAT_PORT_MIN_DEFAULT 1024
#define FLOE_SIM_NAT_PORT_MAX_DEFAULT 65535

typedef enum floe_sim_nat_mode {
    FLOE_SIM_NAT_TRANSLATE = 0, /* a NAT */
    FLOE_SIM_NAT_FIREWALL,      /* no translation, stateful filtering */
    FLOE_SIM_NAT_BLOCK_UDP,     /* no translation, no UDP at all */
} floe_sim_nat_mode;

typedef enum floe_sim_nat_ports {
    FLOE_SIM_NAT_PORTS_PRESERVE = 0, /* keep the internal port when free, else random */
    FLOE_SIM_NAT_PORTS_RANDOM,       /* uniform in [port_min, port_max] */
    FLOE_SIM_NAT_PORTS_SEQUENTIAL,   /* port_min, port_min + 1, ... (skipping used ones) */
} floe_sim_nat_ports;

typedef struct floe_sim_nat_config {
    floe_sim_nat_mode mode;
    floe_nat_behavior mapping;   /* FLOE_NAT_ENDPOINT_INDEPENDENT .. _AND_PORT_DEPENDENT */
    floe_nat_behavior filtering; /* the same classes */
    floe_sim_nat_ports ports;
    uint16_t port_min, port_max; /* the external port range, 1 <= min <= max */
    floe_time_ns timeout;        /* > 0: UDP mappings and permissions */
    floe_time_ns tcp_timeout;    /* TCP mappings and permissions; 0 means
                                    FLOE_SIM_NAT_TCP_TIMEOUT_DEFAULT */
    bool refresh_inbound;        /* inbound datagrams refresh the mapping too */
    bool hairpin;                /* RFC 4787 REQ-9 */
    unsigned max_mappings;       /* 1..FLOE_SIM_NAT_TABLE_LIMIT */
    unsigned max_permissions;    /* 1..FLOE_SIM_NAT_TABLE_LIMIT */
} floe_sim_nat_config;

/* A NAT as RFC 4787 recommends it: endpoint-independent mapping, address-and-port-
 * dependent filtering (the common "port-restricted" home NAT), port preservation over
 * 1024-65535, 30 s timeout refreshed by outbound traffic (TCP: 2 h 4 min), hairpinning
 * on. */
void floe_sim_nat_config_default(floe_sim_nat_config *c);
/* The same for a stateful firewall (mode FLOE_SIM_NAT_FIREWALL). */
void floe_sim_firewall_config_default(floe_sim_nat_config *c);
/* FLOE_OK or FLOE_ERR_INVAL. */
int floe_sim_nat_config_check(const floe_sim_nat_config *c);

/* Adds a NAT or firewall box named `name` with interfaces named by inside->name and
 * outside->name (NULL names: "inside", "outside"). The inside and outside networks must
 * differ. Errors as floe_sim_host_add and floe_sim_host_add_iface, and FLOE_ERR_INVAL for
 * a bad config. */
int floe_sim_nat_add(floe_sim *sim, const char *name, const floe_sim_nat_config *cfg,
                     const floe_sim_iface_config *inside, const floe_sim_iface_config *outside,
                     floe_sim_host **out);

/* True for hosts made by floe_sim_nat_add. */
bool floe_sim_host_is_nat(const floe_sim_host *h);
/* The box's config, NULL for a plain host. */
const floe_sim_nat_config *floe_sim_nat_config_get(const floe_sim_host *h);
floe_sim_iface *floe_sim_nat_inside(const floe_sim_host *h);
floe_sim_iface *floe_sim_nat_outside(const floe_sim_host *h);

/* Live mappings (or firewall flows), UDP and TCP, at the world's current time. */
size_t floe_sim_nat_mapping_count(const floe_sim_host *h);
/* The external address a datagram from internal endpoint `internal` to `remote` would
 * leave with through a live mapping, without creating or refreshing anything.
 * FLOE_ERR_NOT_FOUND when no live mapping would be used. */
int floe_sim_nat_lookup(const floe_sim_host *h, const floe_addr *internal, const floe_addr *remote,
                        floe_addr *external);
/* The same for the mappings of one protocol (floe_sim_nat_lookup is the UDP one). */
int floe_sim_nat_lookup_proto(const floe_sim_host *h, floe_sim_proto proto,
                              const floe_addr *internal, const floe_addr *remote,
                              floe_addr *external);
/* Forgets every mapping and permission now (a NAT reboot). */
void floe_sim_nat_flush(floe_sim_host *h);

/* Names: "translate"/"firewall"/"block-udp"; "preserve"/"random"/"sequential". */
const char *floe_sim_nat_mode_name(floe_sim_nat_mode m);
const char *floe_sim_nat_ports_name(floe_sim_nat_ports p);
/* Short names of the RFC 4787 classes: "eim"/"adm"/"apdm" for a mapping, "eif"/"adf"/
 * "apdf" for a filter ("?" for FLOE_NAT_UNKNOWN). */
const char *floe_sim_nat_mapping_short(floe_nat_behavior b);
const char *floe_sim_nat_filtering_short(floe_nat_behavior b);

#ifdef __cplusplus
}
#endif
#endif
