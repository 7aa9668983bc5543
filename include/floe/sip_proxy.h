/* floe: a small stateless SIP proxy with a registrar (RFC 3261 §16.11, §10.3), sans-IO.
 *
 * It is "the SIP network" of `floe demo` and of tests: user agents behind NATs register
 * with it and call each other through it. It keeps no transaction state, only the
 * registrations, and it serves one domain over UDP:
 *
 *   - REGISTER for the domain: the binding of the To URI's user (the address of record)
 *     becomes the first Contact, remembered together with the address the REGISTER came
 *     from (behind a NAT that is where the user agent can be reached, whatever its
 *     Contact says). Expires (the Contact's parameter, else the header, else 3600 s,
 *     at most max_expires) 0 removes it. The answer is 200 with the binding and its
 *     expiry, 400 for a REGISTER without a usable Contact or To user.
 *   - any other request: a Route naming the proxy is removed; with Routes left it goes
 *     to the first one's host (an IP literal); else a Request-URI in the domain (or naming
 *     the proxy's address) is looked up by user and retargeted to the binding's Contact,
 *     sent to the binding's source address (404 when there is none); else a Request-URI
 *     that equals a binding's Contact (an in-dialog request to a user agent behind a NAT)
 *     goes to that binding's source address; else to the Request-URI's host (an IP
 *     literal; 404 otherwise). Max-Forwards is decremented (483 at 0), a Via with a branch
 *     that is a keyed hash of the request's top branch is put on top (so a
 *     retransmission, its CANCEL and the ACK of its failure take the same branch, as a
 *     stateless proxy must), and a dialog-creating INVITE gets a Record-Route naming the
 *     proxy with `lr`, so that the dialog's requests come back through it.
 *   - a response: the top Via must be the proxy's (else dropped); it is removed and the
 *     response goes to the next Via's received and rport, else its sent-by.
 *
 * Not a production proxy: no authentication, no TCP, no forking, no DNS (hosts must be
 * IP literals), no loop detection beyond Max-Forwards. Every input gives exactly one
 * outcome counter; a message it cannot handle is dropped, or answered when it is a
 * request the proxy can still answer.
 *
 *   floe_sip_proxy_config c;
 *   floe_sip_proxy_config_default(&c);
 *   c.domain = "example.net"; c.addr = my_udp_address; memcpy(c.key, random16, 16);
 *   floe_sip_proxy *p;
 *   floe_sip_proxy_new(&p, &c);
 *   ... for each datagram:
 *   size_t n; floe_addr to;
 *   floe_sip_proxy_on_recv(p, now, &from, dgram, len, out, sizeof out, &n, &to);
 *   if (n) send(out, n, to);
 */
#ifndef FLOE_SIP_PROXY_H
#define FLOE_SIP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIP_PROXY_MAX_BINDINGS_DEFAULT 64
#define FLOE_SIP_PROXY_MAX_BINDINGS_LIMIT 4096
#define FLOE_SIP_PROXY_EXPIRES_DEFAULT 3600 /* seconds, without Expires (RFC 3261 §10.2.1.1) */
#define FLOE_SIP_PROXY_AOR_MAX 64           /* longest user part kept */
#define FLOE_SIP_PROXY_CONTACT_MAX 256      /* longest Contact URI kept */
/* An output buffer of this size holds any message the proxy sends (one it forwards is
 * the input plus a Via, a Record-Route and a retargeted Request-URI). */
#define FLOE_SIP_PROXY_OUT_EXTRA 512

typedef struct floe_sip_proxy_config {
    const char *domain;    /* the domain served (copied); also its address as host */
    floe_addr addr;        /* the proxy's UDP address: Via sent-by, Record-Route */
    unsigned max_bindings; /* 0 = FLOE_SIP_PROXY_MAX_BINDINGS_DEFAULT */
    uint32_t max_expires;  /* seconds; 0 = FLOE_SIP_PROXY_EXPIRES_DEFAULT */
    uint8_t key[16];       /* keys the branch hash: random, from the runtime */
} floe_sip_proxy_config;

typedef struct floe_sip_proxy_stats {
    uint64_t registered;   /* REGISTERs that added or refreshed a binding */
    uint64_t unregistered; /* REGISTERs with expiry 0 */
    uint64_t requests_forwarded;
    uint64_t responses_forwarded;
    uint64_t answered;        /* requests answered by the proxy with an error */
    uint64_t not_found;       /* of those: 404 */
    uint64_t too_many_hops;   /* of those: 483 */
    uint64_t drop_malformed;  /* not a SIP message the parser accepts */
    uint64_t drop_not_ours;   /* responses whose top Via is not the proxy's */
    uint64_t drop_unroutable; /* nowhere to send it (no IP literal, an ACK to nobody) */
    uint64_t drop_too_big;    /* the result does not fit the output buffer */
    uint64_t bindings_full;   /* REGISTERs refused (503) for lack of a free binding */
    uint64_t bindings_expired;
} floe_sip_proxy_stats;

typedef struct floe_sip_proxy floe_sip_proxy;

void floe_sip_proxy_config_default(floe_sip_proxy_config *c);
/* FLOE_ERR_INVAL (no domain, an address without port, a cap above its limit),
 * FLOE_ERR_NOMEM. */
int floe_sip_proxy_new(floe_sip_proxy **out, const floe_sip_proxy_config *cfg);
void floe_sip_proxy_free(floe_sip_proxy *p);

/* One datagram from `from`. Writes at most one message to send into out (*out_len > 0,
 * *to its destination) or nothing (*out_len == 0: dropped and counted, or consumed).
 * Give it a buffer of at least len + FLOE_SIP_PROXY_OUT_EXTRA bytes. FLOE_ERR_INVAL only
 * for missing arguments. */
int floe_sip_proxy_on_recv(floe_sip_proxy *p, floe_time_ns now, const floe_addr *from,
                           const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, floe_addr *to);

/* Live bindings at `now` (expired ones are dropped first). */
size_t floe_sip_proxy_bindings(floe_sip_proxy *p, floe_time_ns now);
/* Where the address of record `user` is reachable: FLOE_OK with its source address,
 * FLOE_ERR_NOT_FOUND. */
int floe_sip_proxy_lookup(floe_sip_proxy *p, floe_time_ns now, const char *user, floe_addr *out);
const floe_sip_proxy_stats *floe_sip_proxy_stats_get(const floe_sip_proxy *p);

#ifdef __cplusplus
}
#endif
#endif
