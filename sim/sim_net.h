/* floe simulator: the world, its virtual clock and its event queue.
 *
 * A floe_sim is a whole network in one process: networks (segments with a link model,
 * sim_link.h), hosts with interfaces (sim_host.h), UDP sockets (sim_udp.h), NAT and
 * firewall boxes (nat/sim_nat.h). Nothing in it touches a real socket or clock. Time is
 * virtual (floe_time_ns, starting at cfg.start) and only moves when the world runs an
 * event; every random choice comes from streams seeded by cfg.seed (sim_rng.h). The
 * same seed and the same calls give the same run, bit for bit, on every machine.
 *
 * Events are kept in one binary heap ordered by (time, insertion number), so events due
 * at the same instant run in the order they were scheduled. Kinds of event: a datagram
 * arriving at an interface, a timer (floe_sim_timer, used to wake the sans-IO objects
 * the simulator drives, see sim_endpoint.h), and scheduled changes (a link's parameters
 * or partition, an interface going up or down).
 *
 *   floe_sim_config cfg;
 *   floe_sim_config_default(&cfg);
 *   cfg.seed = 42;
 *   floe_sim *sim;
 *   floe_sim_new(&sim, &cfg);
 *   ... build networks, hosts, NATs (or load a scenario, sim_scenario.h) ...
 *   ... open sockets, start endpoints ...
 *   floe_sim_run_until(sim, FLOE_S(10));       // or run_until_idle / step
 *   floe_sim_free(sim);
 *
 * Bounded everything: networks, hosts, sockets, timers and queued events have caps set
 * in the config. Adding past a cap fails with FLOE_ERR_LIMIT; a datagram that finds the
 * event queue full is dropped and counted (FLOE_SIM_DROP_EVENT_QUEUE).
 *
 * Every packet a socket sends (a UDP datagram, or a TCP segment, see sim_tcp.h) ends in
 * exactly one place: delivered to a socket, dropped under one reason counter, or still
 * in flight, so at any time
 *     FLOE_SIM_TX == FLOE_SIM_DELIVERED + floe_sim_drops() + floe_sim_in_flight().
 * Each step of its way (a hop over a network, a drop, a delivery) is also reported to
 * the tracers (floe_sim_tracer_add): the pcapng writer (sim_pcap.h) is one of them, and
 * the world keeps a hash of all records to compare runs.
 *
 * Objects built on the world (sockets, timers, endpoints, STUN servers) belong to it:
 * floe_sim_free releases sockets and timers. Free the objects you created on top of it
 * (endpoints, servers) before the world. Nothing here is thread-safe: one thread drives
 * one world. */
#ifndef FLOE_SIM_NET_H
#define FLOE_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/time.h"
#include "sim_rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---------------------------------------------------------------------- */

#define FLOE_SIM_NAME_MAX 32       /* names of networks, hosts and interfaces, NUL included */
#define FLOE_SIM_MAX_IFACES 4      /* interfaces per host */
#define FLOE_SIM_MAX_PAYLOAD 65507 /* largest UDP payload (IPv4: 65535 - 20 - 8) */
#define FLOE_SIM_MAX_TRACERS 4
#define FLOE_SIM_TTL 64 /* initial IP TTL / hop limit of every datagram */

#define FLOE_SIM_MAX_NETWORKS_DEFAULT 16
#define FLOE_SIM_MAX_HOSTS_DEFAULT 64
#define FLOE_SIM_MAX_SOCKETS_DEFAULT 256
#define FLOE_SIM_MAX_TIMERS_DEFAULT 256
#define FLOE_SIM_MAX_EVENTS_DEFAULT 65536
#define FLOE_SIM_SOCKET_QUEUE_DEFAULT 64
/* Largest values accepted in a config. */
#define FLOE_SIM_MAX_NETWORKS_LIMIT 256
#define FLOE_SIM_MAX_HOSTS_LIMIT 4096
#define FLOE_SIM_MAX_SOCKETS_LIMIT 65536
#define FLOE_SIM_MAX_TIMERS_LIMIT 65536
#define FLOE_SIM_MAX_EVENTS_LIMIT (1u << 24)

/* ---- objects (all owned by the world) -------------------------------------------- */

typedef struct floe_sim floe_sim;
typedef struct floe_sim_network floe_sim_network; /* sim_link.h */
typedef struct floe_sim_host floe_sim_host;       /* sim_host.h */
typedef struct floe_sim_iface floe_sim_iface;     /* sim_host.h */
typedef struct floe_sim_udp floe_sim_udp;         /* sim_udp.h */
typedef struct floe_sim_tcp floe_sim_tcp;         /* sim_tcp.h */
typedef struct floe_sim_timer floe_sim_timer;

typedef struct floe_sim_config {
    uint64_t seed;         /* the one source of randomness */
    floe_time_ns start;    /* virtual time at creation (default 0) */
    unsigned max_networks; /* 0 = default; at most the _LIMIT above */
    unsigned max_hosts;    /* NAT and firewall boxes count as hosts */
    unsigned max_sockets;  /* sockets open at once, over all hosts: UDP sockets, TCP
                              listeners and TCP connections (closing ones included) */
    unsigned max_timers;   /* timers existing at once */
    unsigned max_events;   /* events queued at once (datagrams in flight, armed timers,
                              scheduled changes) */
    unsigned socket_queue; /* datagrams a socket without a callback holds (0 = default) */
    uint64_t max_steps;    /* events a world may run in all; 0 = no cap. A guard against
                              objects that keep waking at the same instant. */
} floe_sim_config;

/* Seed 0, start 0, every cap at its default. */
void floe_sim_config_default(floe_sim_config *c);

/* Creates a world. FLOE_ERR_INVAL for a cap above its limit, FLOE_ERR_NOMEM. */
int floe_sim_new(floe_sim **out, const floe_sim_config *cfg);
/* Frees the world with every network, host, socket, timer and queued event. NULL ok. */
void floe_sim_free(floe_sim *sim);

/* Changes the seed before the run: re-derives every random stream (world, networks,
 * NATs) from the new seed. FLOE_ERR_STATE once an event has run or a datagram is in
 * flight. A scenario's `seed` line and a command line's --seed both end here. */
int floe_sim_reseed(floe_sim *sim, uint64_t seed);
uint64_t floe_sim_seed(const floe_sim *sim);

/* A random stream for an object the simulator drives (a STUN client, an ICE agent),
 * derived from the world's seed and a label: stable across runs with the same seed, and
 * unaffected by how much other streams draw. Pass &rng with floe_sim_rng_bytes. */
void floe_sim_rng_derive(const floe_sim *sim, const char *label, floe_sim_rng *out);

/* ---- time and running ------------------------------------------------------------ */

floe_time_ns floe_sim_now(const floe_sim *sim);
/* When the next event is due, or FLOE_TIME_NEVER with an empty queue. */
floe_time_ns floe_sim_next_time(const floe_sim *sim);
/* Events queued (datagrams in flight, armed timers, scheduled changes). */
size_t floe_sim_pending(const floe_sim *sim);
/* Events run since creation. */
uint64_t floe_sim_steps(const floe_sim *sim);

/* Runs the earliest event, moving the clock to its time. Returns 1 when an event ran,
 * 0 when the queue is empty, FLOE_ERR_LIMIT when cfg.max_steps is used up. */
int floe_sim_step(floe_sim *sim);
/* Runs every event due at or before t, then sets the clock to t (never backwards).
 * FLOE_OK, or FLOE_ERR_LIMIT (max_steps) with the clock at the last event run. */
int floe_sim_run_until(floe_sim *sim, floe_time_ns t);
/* floe_sim_run_until(sim, now + d). */
int floe_sim_run_for(floe_sim *sim, floe_time_ns d);
/* Runs until the queue is empty, but not past the virtual time limit. FLOE_OK when the
 * queue emptied (the clock stays at the last event), FLOE_ERR_TIMEOUT when events are
 * still due after limit (the clock is then at limit), FLOE_ERR_LIMIT (max_steps).
 * An armed timer keeps the world busy: worlds with periodic timers end by the limit. */
int floe_sim_run_until_idle(floe_sim *sim, floe_time_ns limit);

/* ---- timers ---------------------------------------------------------------------- */

/* Called when the timer fires (it is then disarmed; re-arming inside is fine, and so is
 * freeing it). */
typedef void (*floe_sim_timer_fn)(void *ctx, floe_sim_timer *t, floe_time_ns now);

/* FLOE_ERR_LIMIT past cfg.max_timers. */
int floe_sim_timer_new(floe_sim *sim, floe_sim_timer_fn fn, void *ctx, floe_sim_timer **out);
/* Frees a timer (disarming it). NULL ok. */
void floe_sim_timer_free(floe_sim_timer *t);
/* Arms (or moves) the timer to fire at `at`; a time in the past means now. A timer
 * re-armed for the same instant keeps its place in the order. FLOE_ERR_LIMIT when the
 * event queue is full. */
int floe_sim_timer_arm(floe_sim_timer *t, floe_time_ns at);
void floe_sim_timer_disarm(floe_sim_timer *t);
/* When it fires, or FLOE_TIME_NEVER when disarmed. */
floe_time_ns floe_sim_timer_when(const floe_sim_timer *t);

/* ---- counters -------------------------------------------------------------------- */

/* Kept for the world, and for the network or host where they happen. The drop reasons
 * (FLOE_SIM_DROP_FIRST..) are the only ways a datagram can end other than delivery.
 * Names (floe_sim_counter_name) are stable: the keys of `floe sim --stats`. */
typedef enum floe_sim_counter {
    FLOE_SIM_TX = 0,              /* datagrams handed to floe_sim_udp_send, and TCP segments */
    FLOE_SIM_DELIVERED,           /* datagrams handed to a socket, segments to a TCP endpoint */
    FLOE_SIM_HOPS,                /* datagrams put on a network (one per network crossed) */
    FLOE_SIM_FORWARDED,           /* datagrams a NAT or firewall passed on */
    FLOE_SIM_NAT_MAPPING_NEW,     /* NAT mappings (or firewall flows) created */
    FLOE_SIM_NAT_MAPPING_EXPIRED, /* mappings found expired and removed */
    FLOE_SIM_DROP_LOSS,           /* the link's loss probability */
    FLOE_SIM_DROP_FIRST = FLOE_SIM_DROP_LOSS,
    FLOE_SIM_DROP_MTU,            /* IP packet larger than the network's MTU */
    FLOE_SIM_DROP_PARTITION,      /* the network is partitioned */
    FLOE_SIM_DROP_LINK_DOWN,      /* the sending or receiving interface is down */
    FLOE_SIM_DROP_NO_ROUTE,       /* no interface reaches the destination, no gateway */
    FLOE_SIM_DROP_NOT_FOR_HOST,   /* arrived at a host that does not own the address and
                                     does not forward */
    FLOE_SIM_DROP_NO_SOCKET,      /* no socket bound to the destination ("port unreachable") */
    FLOE_SIM_DROP_SOCKET_QUEUE,   /* the socket's receive queue was full */
    FLOE_SIM_DROP_EVENT_QUEUE,    /* the world's event queue was full */
    FLOE_SIM_DROP_TTL,            /* the hop limit ran out (a routing loop) */
    FLOE_SIM_DROP_NAT_NO_MAPPING, /* inbound to a NAT port without a live mapping */
    FLOE_SIM_DROP_NAT_FILTERED,   /* inbound refused by the NAT's filtering behaviour */
    FLOE_SIM_DROP_NAT_HAIRPIN,    /* inside to the NAT's own outside address, hairpinning off */
    FLOE_SIM_DROP_NAT_PORTS,      /* no free external port for a new mapping */
    FLOE_SIM_DROP_NAT_TABLE,      /* mapping or permission table full */
    FLOE_SIM_DROP_NAT_FAMILY,     /* no outside address of the datagram's family */
    FLOE_SIM_DROP_FIREWALL,       /* a firewall that blocks UDP */
    FLOE_SIM_DROP_NO_LISTENER,    /* a TCP segment no connection or listener takes (the
                                         host answers with a RST unless it was one) */
    FLOE_SIM_DROP_TCP_LIMIT,      /* a SYN to a listener when no connection can be made
                                     (max_sockets or max_timers reached) */
    FLOE_SIM_DROP_NAT_TCP_STATE,  /* a TCP segment from the inside, other than a SYN, that
                                     no live mapping (or firewall flow) carries */
    FLOE_SIM_COUNTER_COUNT
} floe_sim_counter;

/* "tx", "delivered", ..., "drop_loss", ...; NULL out of range. */
const char *floe_sim_counter_name(int c);
bool floe_sim_counter_is_drop(int c);
uint64_t floe_sim_counter_get(const floe_sim *sim, int c);
/* Sum of the drop counters. */
uint64_t floe_sim_drops(const floe_sim *sim);
/* Datagrams sent and not yet delivered or dropped. */
uint64_t floe_sim_in_flight(const floe_sim *sim);

/* ---- tracing --------------------------------------------------------------------- */

/* What a packet carries. UDP is 0: a zeroed record is a datagram. */
typedef enum floe_sim_proto {
    FLOE_SIM_PROTO_UDP = 0,
    FLOE_SIM_PROTO_TCP,
} floe_sim_proto;

/* TCP header flags, with their bit values on the wire (RFC 9293 §3.1). */
#define FLOE_SIM_TCP_FIN 0x01
#define FLOE_SIM_TCP_SYN 0x02
#define FLOE_SIM_TCP_RST 0x04
#define FLOE_SIM_TCP_PSH 0x08
#define FLOE_SIM_TCP_ACK 0x10

typedef enum floe_sim_verdict {
    FLOE_SIM_V_DELIVERED = 0, /* reached its socket */
    FLOE_SIM_V_FORWARDED,     /* a NAT or firewall passed it on (a new record follows for
                                 the next network, with the addresses as translated) */
    FLOE_SIM_V_DROPPED,       /* `reason` says why */
} floe_sim_verdict;

/* One step of a datagram's way. Datagrams that cross a network are reported when they
 * arrive at the next interface (at = arrival), or when the link drops them (at = send
 * time). A datagram a host sends to itself has net == NULL. */
typedef struct floe_sim_trace {
    floe_time_ns at;             /* when this happened */
    floe_time_ns sent;           /* when the datagram entered this network */
    uint64_t id;                 /* the datagram's number (kept through NATs) */
    const floe_sim_network *net; /* the network crossed, or NULL (loopback, no route) */
    const floe_sim_host *from;   /* the host that put it on the network */
    const floe_sim_host *to;     /* the host it reached, NULL when dropped before */
    floe_addr src, dst;          /* as seen on this network */
    uint8_t ttl;                 /* IP TTL / hop limit on this network */
    floe_sim_verdict verdict;
    floe_sim_counter reason; /* FLOE_SIM_V_DROPPED: a FLOE_SIM_DROP_* counter; else 0 */
    const uint8_t *data;     /* the UDP payload, or the TCP segment's data */
    size_t len;
    floe_sim_proto proto; /* UDP or TCP; the fields below are for TCP only */
    uint8_t tcp_flags;    /* FLOE_SIM_TCP_SYN | ... */
    uint32_t tcp_seq;     /* sequence number of the first byte (or of the SYN/FIN) */
    uint32_t tcp_ack;     /* acknowledgment number (meaningful with FLOE_SIM_TCP_ACK) */
} floe_sim_trace;

typedef void (*floe_sim_trace_fn)(void *ctx, const floe_sim_trace *rec);

/* Adds a tracer (FLOE_ERR_LIMIT past FLOE_SIM_MAX_TRACERS). Tracers are called in the
 * order added and must not send. */
int floe_sim_tracer_add(floe_sim *sim, floe_sim_trace_fn fn, void *ctx);
void floe_sim_tracer_remove(floe_sim *sim, floe_sim_trace_fn fn, void *ctx);

/* A 64-bit FNV-1a hash of every trace record so far (times, addresses, verdicts,
 * payloads; for TCP segments also the protocol, flags, sequence and ack numbers, which a
 * datagram's record leaves out so that UDP-only runs hash as they always did). Equal
 * hashes: the two runs did the same thing. */
uint64_t floe_sim_trace_hash(const floe_sim *sim);

/* One line, e.g. "1.020000000 internet 10.0.0.2:5000 > 192.0.2.1:3478 len 20 delivered"
 * or "... dropped (nat_filtered)". A TCP segment adds its flags (tcpdump's letters: S
 * SYN, F FIN, R RST, P PSH, . ACK), sequence and ack numbers before the length:
 * "... > 192.0.2.1:3478 tcp [S.] seq 1 ack 2 len 0 delivered". Returns the length
 * (truncated to cap - 1). */
size_t floe_sim_trace_format(const floe_sim_trace *rec, char *buf, size_t cap);

/* "delivered", "forwarded", "dropped". */
const char *floe_sim_verdict_name(floe_sim_verdict v);

#ifdef __cplusplus
}
#endif
#endif
