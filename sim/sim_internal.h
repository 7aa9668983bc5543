/* Private to sim/: the world's data and the functions its files share.
 *
 * Who owns what:
 *   sim_rng.c        the random streams
 *   sim_queue.c      the event heap: (time, insertion number) order, removal by position
 *   sim_net.c        the world: config, lifetime, seed, running events, counters
 *   sim_timer.c      timers
 *   sim_trace.c      how a datagram ends (delivered, dropped), tracers, the run's hash
 *   sim_link.c       networks and the link model (partition, MTU, loss, delay, jitter)
 *   sim_host.c       hosts, interfaces, routing, what a host does with an arrival
 *   sim_udp.c        sockets: binding, sending, delivery, receive queues
 *   sim_tcp.c        TCP listeners and connections: segments, handshake, retransmission
 *   nat/sim_nat.c    NAT and firewall boxes (RFC 4787)
 *   sim_endpoint.c   the five-step loop that drives a sans-IO object on sockets
 *   sim_stun_server.c  the STUN server core on a simulated host
 *   sim_pcap.c       the pcapng writer (a tracer)
 *   sim_scenario.c   the scenario file parser
 *
 * A datagram is one allocation (sim_packet) from the socket that sends it until it is
 * delivered or dropped: NATs rewrite its addresses in place, and a socket's receive
 * queue links the packets themselves. A TCP segment is a sim_packet too (proto TCP, with
 * its header fields); its data is the payload. */
#ifndef FLOE_SIM_INTERNAL_H
#define FLOE_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/sim_nat.h"
#include "sim_host.h"
#include "sim_link.h"
#include "sim_net.h"
#include "sim_tcp.h"
#include "sim_udp.h"

#define SIM_NOT_QUEUED SIZE_MAX
#define SIM_ROUTE_DEPTH 4 /* firewalls nested behind firewalls that routing looks through */

typedef enum sim_event_kind {
    SIM_EV_PACKET = 0, /* a datagram arrives (sim_packet) */
    SIM_EV_TIMER,      /* floe_sim_timer */
    SIM_EV_PATCH,      /* a scheduled link change (sim_patch) */
    SIM_EV_IFACE,      /* a scheduled interface up/down (sim_iface_change) */
} sim_event_kind;

/* The head of everything the heap holds. */
typedef struct sim_event {
    floe_time_ns at;
    uint64_t seq; /* insertion number: ties run in scheduling order */
    size_t pos;   /* index in the heap, SIM_NOT_QUEUED when not queued */
    sim_event_kind kind;
} sim_event;

typedef struct sim_packet {
    sim_event ev;
    uint64_t id;
    floe_sim_network *net;   /* the network it is crossing; NULL: local delivery */
    floe_sim_iface *from_if; /* the interface it left by (NULL: local) */
    floe_sim_iface *to_if;   /* the next-hop interface (NULL: local) */
    floe_sim_host *from_host;
    floe_sim_host *to_host;
    floe_time_ns sent; /* when it entered the current network */
    floe_addr src, dst;
    uint8_t ttl;
    floe_sim_proto proto; /* UDP (0, what a zeroed packet is) or TCP */
    uint8_t tcp_flags;    /* TCP only: FLOE_SIM_TCP_* */
    uint32_t tcp_seq, tcp_ack;
    struct sim_packet *qnext; /* in a socket's receive queue */
    size_t len;
    uint8_t data[];
} sim_packet;

struct floe_sim_timer {
    sim_event ev;
    floe_sim *sim;
    floe_sim_timer_fn fn;
    void *ctx;
    floe_sim_timer *prev, *next; /* the world's list, for teardown */
};

typedef struct sim_patch {
    sim_event ev;
    floe_sim_network *net;
    floe_sim_link_patch patch;
} sim_patch;

typedef struct sim_iface_change {
    sim_event ev;
    floe_sim_iface *iface;
    bool up;
} sim_iface_change;

struct floe_sim_network {
    floe_sim *sim;
    char name[FLOE_SIM_NAME_MAX];
    size_t index;
    floe_sim_link link;
    floe_sim_rng rng;
    floe_sim_iface **ifaces; /* attached, in the order attached */
    size_t n_ifaces, cap_ifaces;
    uint64_t counters[FLOE_SIM_COUNTER_COUNT];
};

struct floe_sim_iface {
    floe_sim_host *host;
    floe_sim_network *net;
    char name[FLOE_SIM_NAME_MAX];
    floe_addr ip4, ip6, gw4, gw6; /* ports 0 */
    bool up;
    floe_time_ns fifo_tail; /* latest arrival scheduled from here (no-reorder links) */
};

typedef struct sim_nat sim_nat; /* nat/sim_nat.c */

struct floe_sim_host {
    floe_sim *sim;
    char name[FLOE_SIM_NAME_MAX];
    size_t index;
    floe_sim_iface ifaces[FLOE_SIM_MAX_IFACES];
    size_t n_ifaces;
    floe_sim_udp *socks; /* open sockets, newest first */
    uint16_t next_ephemeral;
    floe_sim_tcp *tcps; /* TCP listeners and connections, newest first */
    uint16_t next_tcp_ephemeral;
    floe_sim_rng tcp_rng; /* initial sequence numbers */
    uint64_t counters[FLOE_SIM_COUNTER_COUNT];
    sim_nat *nat; /* NULL for a plain host */
};

struct floe_sim_udp {
    floe_sim_host *host;
    floe_addr local;
    floe_sim_udp *next;
    floe_sim_udp_fn fn;
    void *ctx;
    sim_packet *qhead, *qtail;
    size_t qlen;
};

typedef struct sim_tracer {
    floe_sim_trace_fn fn;
    void *ctx;
} sim_tracer;

struct floe_sim {
    floe_sim_config cfg;
    uint64_t seed;
    floe_time_ns now;
    uint64_t seq, steps;
    sim_event **heap;
    size_t heap_len;
    floe_sim_network **nets;
    size_t n_nets;
    floe_sim_host **hosts;
    size_t n_hosts;
    size_t n_socks, n_timers;
    floe_sim_timer *timers;
    uint64_t counters[FLOE_SIM_COUNTER_COUNT];
    uint64_t next_id;
    uint64_t in_flight;
    sim_tracer tracers[FLOE_SIM_MAX_TRACERS];
    size_t n_tracers;
    uint64_t hash;
};

/* ---- sim_queue.c ----------------------------------------------------------------- */

/* Queues ev at ev->at with a fresh insertion number. FLOE_ERR_LIMIT when full. */
int sim_heap_push(floe_sim *sim, sim_event *ev);
/* Removes and returns the earliest event, NULL when empty. */
sim_event *sim_heap_pop(floe_sim *sim);
/* Removes a queued event wherever it is (no-op when not queued). */
void sim_heap_remove(floe_sim *sim, sim_event *ev);

/* ---- sim_net.c ------------------------------------------------------------------- */

/* Adds 1 to counter c of the world and of the network and host given (either may be NULL). */
void sim_count(floe_sim *sim, int c, floe_sim_network *net, floe_sim_host *host);

/* ---- sim_trace.c ----------------------------------------------------------------- */

/* Reports a step of pkt's way to the tracers and into the hash. */
void sim_trace(floe_sim *sim, const sim_packet *pkt, floe_sim_verdict v, floe_sim_counter reason,
               const floe_sim_host *to);
/* Ends pkt: counts the drop (world, net, host), traces it, frees it. */
void sim_drop(floe_sim *sim, sim_packet *pkt, floe_sim_counter reason, floe_sim_network *net,
              floe_sim_host *host, const floe_sim_host *to);
/* Ends pkt as delivered to socket s: counts, traces, hands it over. */
void sim_deliver(floe_sim *sim, sim_packet *pkt, floe_sim_udp *s);
/* Ends pkt's way as delivered to a TCP endpoint of host h: counts and traces it; the
 * caller still reads it, then frees it. */
void sim_deliver_tcp(floe_sim *sim, sim_packet *pkt, floe_sim_host *h);
void sim_packet_free(sim_packet *pkt);

/* ---- sim_link.c ------------------------------------------------------------------ */

/* Puts pkt on from_if's network towards next_hop (an interface on the same network):
 * applies the link model, then queues the arrival or drops. */
void sim_link_send(floe_sim *sim, sim_packet *pkt, floe_sim_iface *from_if,
                   floe_sim_iface *next_hop);
/* Runs a scheduled link change. */
void sim_link_run_patch(floe_sim *sim, sim_patch *p);
/* Size of the IP packet carrying len bytes of UDP payload. */
size_t sim_ip_size(int family, size_t len);
/* Size of the IP packet pkt is (UDP or TCP header included). */
size_t sim_packet_ip_size(const sim_packet *pkt);
/* Attaches an interface to its network (FLOE_ERR_NOMEM). */
int sim_link_attach(floe_sim_network *n, floe_sim_iface *i);
/* Re-derives the network's stream from the seed. */
void sim_link_reseed(floe_sim_network *n);
void sim_link_free(floe_sim_network *n);

/* ---- sim_host.c ------------------------------------------------------------------ */

/* The interface that owns ip on network n (port ignored), else the outside interface of
 * a routing box on n whose inside reaches ip; NULL when n does not reach ip. */
floe_sim_iface *sim_net_next_hop(const floe_sim_network *n, const floe_addr *ip, int depth);
/* The next hop for dst when leaving by interface i: dst itself when i's network reaches
 * it, else i's gateway of dst's family; NULL when neither works. */
floe_sim_iface *sim_iface_next_hop(const floe_sim_iface *i, const floe_addr *dst);
/* Validates an interface config for host h (NULL: a host still to be made, so only the
 * checks that do not need it). FLOE_OK or the error floe_sim_host_add_iface returns. */
int sim_iface_check(const floe_sim_host *h, const floe_sim_iface_config *c);
/* True when i has ip as its address (family and IP). */
bool sim_iface_has_ip(const floe_sim_iface *i, const floe_addr *ip);
/* Sends a datagram a socket of h made (pkt->src may have an unspecified IP, filled
 * from the route). FLOE_ERR_UNREACHABLE after counting a NO_ROUTE drop. */
int sim_host_send(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, const floe_addr *bound);
/* A datagram arrived (event). */
void sim_host_arrive(floe_sim *sim, sim_packet *pkt);
/* Finishes an arrival that ends at a local socket of h (deliver, or drop with
 * NO_SOCKET / SOCKET_QUEUE); `net` is where the drop is counted besides the host.
 * TCP segments go to sim_tcp_arrive. */
void sim_host_local(floe_sim *sim, floe_sim_host *h, sim_packet *pkt);
/* True when a socket of h would take pkt: a UDP socket bound to its destination, or a
 * TCP connection or listener (NATs ask it before dropping what no mapping claims). */
bool sim_host_serves(const floe_sim_host *h, const sim_packet *pkt);
/* Forwards pkt (already traced as forwarded and rewritten) out of interface `via`:
 * TTL, next hop, link. Drops with a counter when impossible. */
void sim_host_forward(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, floe_sim_iface *via);
/* Runs a scheduled interface change. */
void sim_host_run_iface_change(floe_sim *sim, sim_iface_change *c);
void sim_host_free(floe_sim_host *h);

/* ---- sim_udp.c ------------------------------------------------------------------- */

/* The socket of h that receives datagrams sent to dst, or NULL. */
floe_sim_udp *sim_udp_lookup(const floe_sim_host *h, const floe_addr *dst);
/* True when the socket can take one more datagram (a callback, or room in the queue). */
bool sim_udp_can_take(const floe_sim_udp *s);
/* Hands pkt to s (callback, then free; or queue). */
void sim_udp_take(floe_sim_udp *s, sim_packet *pkt);
/* True when a socket of h is bound to ip:port (or to the unspecified address of ip's
 * family and port). */
bool sim_udp_port_used(const floe_sim_host *h, const floe_addr *ip, uint16_t port);
/* Closes every socket of h (world teardown). */
void sim_udp_close_all(floe_sim_host *h);

/* ---- sim_tcp.c ------------------------------------------------------------------- */

/* A TCP segment for one of h's addresses arrived: hand it to its connection or
 * listener (delivered), or drop it (answering with a RST when nobody takes it). */
void sim_tcp_arrive(floe_sim *sim, floe_sim_host *h, sim_packet *pkt);
/* True when a connection of h has pkt's addresses, or a listener its destination. */
bool sim_tcp_serves(const floe_sim_host *h, const sim_packet *pkt);
/* True when a TCP listener or connection of h uses ip:port as its local address (or the
 * unspecified address of ip's family and port). */
bool sim_tcp_port_used(const floe_sim_host *h, const floe_addr *ip, uint16_t port);
/* Re-derives h's stream of initial sequence numbers from the seed. */
void sim_tcp_reseed(floe_sim_host *h);
/* Frees every TCP object of h without sending anything (world teardown). */
void sim_tcp_close_all(floe_sim_host *h);

/* ---- nat/sim_nat.c --------------------------------------------------------------- */

/* A datagram arrived at NAT box h on interface `in`: decide, trace, act. */
void sim_nat_arrive(floe_sim *sim, floe_sim_host *h, floe_sim_iface *in, sim_packet *pkt);
/* True when the box routes without translation (firewall modes): the outside network
 * then reaches the inside addresses through it. */
bool sim_nat_routes(const floe_sim_host *h);
void sim_nat_reseed(floe_sim_host *h);
void sim_nat_free(sim_nat *n);

#endif
