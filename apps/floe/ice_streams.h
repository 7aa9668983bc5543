/* floe: the connections behind an ICE agent's stream bases (TURN over TCP or TLS), for
 * the POSIX commands that run an agent: floe ice (its own agent), floe call and floe
 * answer (the agent inside the SIP user agent, reached through the hooks below).
 *
 * The agent names a stream base in next_send like a socket (floe/ice.h, "stream
 * bases"); ice_streams_send opens the base's connection the first time (rt_conn.h: from
 * the host base's IP, TCP or TLS to the TURN server) and queues the message on it. What
 * the server sends back is framed, fed to the agent, and data a peer relayed to us goes
 * to on_data; `after` runs once the agent has been fed (drain its sends and events
 * there). A connection that ends is reported to the agent (floe_ice_agent_stream_closed)
 * and, with its reason, to on_closed, and never reopened.
 *
 * Without `agent`, the hooks stand for it, and a stream is known by an id (the SIP user
 * agent's, floe_sip_ua_stream): describe says what it is, feed takes each message, lost
 * hears that its connection ended. A new id on the slot of an older one (id modulo
 * FLOE_ICE_MAX_BASES: the older call's agent is gone) closes the older connection. */
#ifndef FLOE_ICE_STREAMS_H
#define FLOE_ICE_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice.h"
#include "rt_loop.h"
#include "rt_tls.h"

typedef struct ice_streams ice_streams;

typedef struct ice_streams_config {
    floe_rt_loop *loop;
    floe_ice_agent *agent; /* or NULL and the three hooks: */
    int (*describe)(void *arg, unsigned id, floe_ice_stream *out);
    void (*feed)(void *arg, unsigned id, const floe_addr *from, const uint8_t *p, size_t len);
    void (*lost)(void *arg, unsigned id);
    floe_rt_tls_ctx *tls; /* for TLS bases; NULL refuses them (their connection "fails") */
    void (*on_data)(void *arg, const floe_ice_recv_info *info);
    void (*on_closed)(void *arg, unsigned base, const floe_ice_stream *st, const char *why);
    void (*after)(void *arg);
    void *arg;
} ice_streams_config;

/* FLOE_ERR_INVAL, FLOE_ERR_NOMEM. */
int ice_streams_new(ice_streams **out, const ice_streams_config *cfg);
/* For a message next_send gave for `id` (the agent's base, or the user agent's stream id):
 * true when it is a stream (the message is queued, or dropped and counted when its
 * connection is gone), false when it is not. */
bool ice_streams_send(ice_streams *s, unsigned id, const uint8_t *p, size_t len);
/* Messages that could not be queued (connection gone or refused). */
uint64_t ice_streams_dropped(const ice_streams *s);
/* Connections opened so far. */
unsigned ice_streams_opened(const ice_streams *s);
/* Closes every connection. NULL ok. */
void ice_streams_free(ice_streams *s);

#endif
