/* floe simulator runtime: a SIP user agent (floe/sip_ua.h) on a simulated host.
 *
 * A floe_sim_call puts one floe_sip_ua inside the simulator, as sim_ice.h does for a bare
 * ICE agent: a floe_sim_endpoint runs the UA's five-step loop over simulated sockets and
 * one timer. The endpoint's sockets are
 *   - socket 0: the SIP socket, UDP on the host's first IPv4 address (or else its first
 *     IPv6 one) and cfg.sip_port; the UA's Via and Contact name it;
 *   - sockets 1..n: one media socket per address of every interface of the host, on an
 *     ephemeral port, each added to the UA as a media host (the UA's media socket k is
 *     endpoint socket k + 1).
 * The UA's randomness comes from its own stream, derived from the world's seed and
 * "call/NAME", so a call depends on nothing but the seed.
 *
 * What happens is reported three ways:
 *   - on_sip (optional): every SIP datagram the UA sends or receives, with its bytes (a
 *     ladder prints the first line; retransmissions show as they happen);
 *   - on_event (optional): every UA event (call states, ICE milestones, first RTP, ...);
 *   - received audio: kept in a buffer of cfg.record_max samples (gaps filled with
 *     silence so that a tone keeps its phase), and passed to on_audio when set.
 *
 * The actions (dial, answer, hang up, register) act at the world's current time and
 * run the loop at once, so their first datagrams leave now. Do not call them from inside
 * the hooks (the loop is running then): arm a floe_sim_timer and act from there.
 *
 *   floe_sim_call_config c;
 *   floe_sim_call_config_default(&c);
 *   c.name = "alice"; c.host = alice_host;
 *   c.ua.user = "alice"; c.ua.domain = "floe.example"; c.ua.outbound_proxy = proxy;
 *   c.ua.stun_servers[0] = stun; c.ua.n_stun_servers = 1; c.ua.tone_hz = 440;
 *   floe_sim_call *a;
 *   floe_sim_call_new(sim, &c, &a);
 *   floe_sim_call_register(a);
 *   ... run ..., floe_sim_call_dial(a, "sip:bob@floe.example"), ... run ...
 *   floe_sim_call_free(a);     // before floe_sim_free */
#ifndef FLOE_SIM_CALL_H
#define FLOE_SIM_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip_ua.h"
#include "floe/time.h"
#include "sim_endpoint.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_CALL_NAME_MAX 32
#define FLOE_SIM_CALL_SIP_PORT 5060
#define FLOE_SIM_CALL_RECORD_DEFAULT (8000 * 60) /* one minute at 8 kHz */
#define FLOE_SIM_CALL_GAP_MAX 8000               /* silence inserted for one gap at most (1 s) */

typedef struct floe_sim_call floe_sim_call;

/* A SIP datagram: sent (to peer) or received (from peer), its bytes valid during the call. */
typedef void (*floe_sim_call_sip_fn)(void *ctx, floe_sim_call *c, floe_time_ns now, bool sent,
                                     const floe_addr *peer, const uint8_t *p, size_t len);
typedef void (*floe_sim_call_event_fn)(void *ctx, floe_sim_call *c, const floe_sip_ua_event *ev);
/* Received audio (8 kHz): `gap` samples were missing before these n. */
typedef void (*floe_sim_call_audio_fn)(void *ctx, floe_sim_call *c, uint32_t gap, const int16_t *x,
                                       size_t n);

typedef struct floe_sim_call_config {
    const char *name;    /* 1..FLOE_SIM_CALL_NAME_MAX-1 characters: output, random stream */
    floe_sim_host *host; /* its sockets go on the host's addresses */
    uint16_t sip_port;   /* 0: FLOE_SIM_CALL_SIP_PORT */
    /* The UA's config: user, domain, outbound proxy, STUN and TURN servers, tone,
     * answer policy... Its local addresses, rnd and push are set here (ignored). */
    floe_sip_ua_config ua;
    size_t record_max; /* received samples kept; 0: FLOE_SIM_CALL_RECORD_DEFAULT */
    floe_sim_call_sip_fn on_sip;
    floe_sim_call_event_fn on_event;
    floe_sim_call_audio_fn on_audio;
    void *ctx; /* for the three hooks */
} floe_sim_call_config;

/* Zeroes c and sets c->ua to floe_sip_ua_config_default. */
void floe_sim_call_config_default(floe_sim_call_config *c);

/* Opens the sockets and creates the UA (nothing is sent until an action).
 * FLOE_ERR_INVAL (no name, host, user or domain), FLOE_ERR_NOT_FOUND (the host has no
 * address), the UA's and the sockets' errors, FLOE_ERR_NOMEM. */
int floe_sim_call_new(floe_sim *sim, const floe_sim_call_config *cfg, floe_sim_call **out);
/* Frees the UA, its sockets and timer. Before floe_sim_free. NULL ok. */
void floe_sim_call_free(floe_sim_call *c);

/* The actions, at floe_sim_now; each returns the UA's result (floe/sip_ua.h). */
int floe_sim_call_register(floe_sim_call *c);
int floe_sim_call_dial(floe_sim_call *c, const char *uri);
int floe_sim_call_answer(floe_sim_call *c);
int floe_sim_call_hangup(floe_sim_call *c);
/* Runs the loop now (after changing the UA from outside through floe_sim_call_ua). */
int floe_sim_call_kick(floe_sim_call *c);

floe_sip_ua *floe_sim_call_ua(floe_sim_call *c);
const char *floe_sim_call_name(const floe_sim_call *c);
/* The SIP socket's address (the UA's Via and Contact). */
floe_addr floe_sim_call_sip_addr(const floe_sim_call *c);
/* The UA's timeline of the current (or last) call. */
void floe_sim_call_result(const floe_sim_call *c, floe_sip_ua_result *out);
const floe_sim_endpoint_stats *floe_sim_call_endpoint_stats(const floe_sim_call *c);

/* The received audio so far: *n samples (gaps as silence). */
const int16_t *floe_sim_call_audio(const floe_sim_call *c, size_t *n);
/* Audio samples dropped because the buffer was full. */
uint64_t floe_sim_call_audio_dropped(const floe_sim_call *c);

#ifdef __cplusplus
}
#endif
#endif
