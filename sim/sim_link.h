/* floe simulator: networks (segments) and their link model.
 *
 * A network is one broadcast-free segment: the interfaces attached to it reach each
 * other directly, and every datagram put on it goes through the network's link model,
 * in this order:
 *
 *   1. partition  the network is cut: dropped (FLOE_SIM_DROP_PARTITION). Checked again on
 *                 arrival, so cutting a network also loses what is on the wire.
 *   2. MTU        the IP packet (payload + 8 UDP + 20 IPv4 / 40 IPv6 header bytes) larger
 *                 than mtu: dropped (FLOE_SIM_DROP_MTU). No fragmentation.
 *   3. loss       dropped with probability `loss` (FLOE_SIM_DROP_LOSS).
 *   4. delay      arrives after delay + jitter, where jitter is uniform in [-j, +j] or
 *                 normal with deviation j (clipped to 6 j), and the total never below 0.
 *
 * Without `reorder`, datagrams leaving one interface arrive in the order they were sent
 * (a datagram is held back behind an earlier one that drew a longer delay, as on a real
 * FIFO link); with it, each datagram keeps its own delay and may overtake.
 *
 * The random draws (loss, jitter) come from the network's own stream, derived from the
 * world's seed and the network's name. */
#ifndef FLOE_SIM_LINK_H
#define FLOE_SIM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_DELAY_DEFAULT FLOE_MS(1) /* one-way delay of a new network */
#define FLOE_SIM_MTU_DEFAULT 1500         /* Ethernet */
#define FLOE_SIM_MTU_MIN 68               /* RFC 791: every IPv4 link carries 68 bytes */
#define FLOE_SIM_MTU_MAX 65535

typedef enum floe_sim_jitter_dist {
    FLOE_SIM_JITTER_UNIFORM = 0, /* uniform in [-jitter, +jitter] */
    FLOE_SIM_JITTER_NORMAL,      /* normal, deviation jitter */
} floe_sim_jitter_dist;

typedef struct floe_sim_link {
    floe_time_ns delay;  /* one-way delay */
    floe_time_ns jitter; /* see floe_sim_jitter_dist; 0 = none */
    floe_sim_jitter_dist dist;
    bool reorder;     /* let datagrams overtake each other */
    double loss;      /* probability in [0, 1] */
    unsigned mtu;     /* FLOE_SIM_MTU_MIN..FLOE_SIM_MTU_MAX */
    bool partitioned; /* the network drops everything */
} floe_sim_link;

/* 1 ms delay, no jitter, no loss, MTU 1500, connected. */
void floe_sim_link_default(floe_sim_link *l);
/* FLOE_OK, or FLOE_ERR_INVAL (loss outside [0, 1] or NaN, MTU out of range). */
int floe_sim_link_check(const floe_sim_link *l);

/* Which fields of a patch to apply. */
enum floe_sim_link_field {
    FLOE_SIM_LINK_DELAY = 1u << 0,
    FLOE_SIM_LINK_JITTER = 1u << 1,
    FLOE_SIM_LINK_DIST = 1u << 2,
    FLOE_SIM_LINK_REORDER = 1u << 3,
    FLOE_SIM_LINK_LOSS = 1u << 4,
    FLOE_SIM_LINK_MTU = 1u << 5,
    FLOE_SIM_LINK_PARTITION = 1u << 6,
};

/* A change to some fields of a link, applied at a virtual time. */
typedef struct floe_sim_link_patch {
    unsigned fields; /* enum floe_sim_link_field bits */
    floe_sim_link v; /* the new values of those fields */
} floe_sim_link_patch;

/* Applies the fields of p to l. */
void floe_sim_link_apply(floe_sim_link *l, const floe_sim_link_patch *p);

/* Adds a network. name: 1..FLOE_SIM_NAME_MAX-1 characters, unique among networks.
 * link NULL = floe_sim_link_default. FLOE_ERR_INVAL (name, link), FLOE_ERR_STATE (name
 * taken), FLOE_ERR_LIMIT (cfg.max_networks), FLOE_ERR_NOMEM. */
int floe_sim_network_add(floe_sim *sim, const char *name, const floe_sim_link *link,
                         floe_sim_network **out);
floe_sim_network *floe_sim_network_find(const floe_sim *sim, const char *name);
size_t floe_sim_network_count(const floe_sim *sim);
/* Networks in the order added (NULL past the end). The index is the pcapng interface. */
floe_sim_network *floe_sim_network_at(const floe_sim *sim, size_t i);
size_t floe_sim_network_index(const floe_sim_network *n);
const char *floe_sim_network_name(const floe_sim_network *n);
floe_sim *floe_sim_network_world(const floe_sim_network *n);

const floe_sim_link *floe_sim_network_link(const floe_sim_network *n);
/* Replaces the link model now. FLOE_ERR_INVAL for a bad link. */
int floe_sim_network_set_link(floe_sim_network *n, const floe_sim_link *l);
/* Schedules a patch at virtual time `at` (now or later; earlier means now). Patches due
 * at the same time apply in the order scheduled. FLOE_ERR_INVAL (the patched values
 * would be invalid on the current link), FLOE_ERR_LIMIT (event queue full). */
int floe_sim_network_patch_at(floe_sim_network *n, floe_time_ns at, const floe_sim_link_patch *p);
/* Shorthand: partition (on) or heal (off) the network at `at`. */
int floe_sim_network_partition_at(floe_sim_network *n, floe_time_ns at, bool on);

/* This network's share of the world's counters: FLOE_SIM_HOPS (datagrams put on it) and
 * the drops of its link model (partition, MTU, loss, an interface down, a full event
 * queue). What hosts and NATs drop on arrival is counted at the host. */
uint64_t floe_sim_network_counter(const floe_sim_network *n, int c);

#ifdef __cplusplus
}
#endif
#endif
