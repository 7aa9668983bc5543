/* floe: the STUN server core (RFC 8489 Binding, RFC 3489 classic Binding, RFC 5780
 * behaviour discovery), sans-IO.
 *
 * The runtime hands every received datagram or framed stream message to
 * floe_stun_server_handle() together with where it came from and which local address
 * received it; the core writes the response (if any) into a caller buffer and says
 * where to send it and from which local socket. Every input ends in exactly one
 * counter: a response kind or a drop reason, so
 *     rx == sum(answered and error counters) + sum(drop counters).
 *
 * RFC 5780 is off by default. When enabled, the server needs a primary and an
 * alternate address that differ in IP and port; the runtime listens on all four
 * combinations and sends from the one the reply names. */
#ifndef FLOE_STUN_SERVER_H
#define FLOE_STUN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_stun_server_config {
    bool rfc5780;         /* answer CHANGE-REQUEST / RESPONSE-PORT, add OTHER-ADDRESS */
    floe_addr primary;    /* with rfc5780: the primary IP and port */
    floe_addr alternate;  /* with rfc5780: the alternate IP and port (both must differ) */
    bool classic;         /* answer RFC 3489 requests without the magic cookie */
    const char *software; /* SOFTWARE in responses; NULL (the default) sends none */
} floe_stun_server_config;

/* Defaults: RFC 5780 off, classic on, no SOFTWARE. */
void floe_stun_server_config_default(floe_stun_server_config *c);

/* One counter per outcome. Names (floe_stun_server_counter_name) are stable: they are
 * the keys of `floe server --stats`. */
typedef enum floe_stun_server_counter {
    FLOE_SRV_RX = 0,           /* inputs handled */
    FLOE_SRV_BINDING_OK,       /* Binding success responses (RFC 5389/8489) */
    FLOE_SRV_CLASSIC_OK,       /* Binding success responses to RFC 3489 clients */
    FLOE_SRV_ERROR_400,        /* Bad Request answers (unknown method, bad CHANGE-REQUEST use) */
    FLOE_SRV_ERROR_420,        /* Unknown Attribute answers */
    FLOE_SRV_DROP_TRUNCATED,   /* shorter than the header or its announced length */
    FLOE_SRV_DROP_NOT_STUN,    /* not STUN (top bits, magic cookie) */
    FLOE_SRV_DROP_MALFORMED,   /* bad attribute framing or value lengths */
    FLOE_SRV_DROP_FINGERPRINT, /* FINGERPRINT wrong */
    FLOE_SRV_DROP_TOO_MANY_ATTRS,
    FLOE_SRV_DROP_NOT_REQUEST, /* indications and responses are not for a server */
    FLOE_SRV_DROP_CLASSIC,     /* RFC 3489 request while classic support is off, or over IPv6 */
    FLOE_SRV_DROP_OVERSIZE,    /* counted by the runtime: datagram larger than its buffer */
    FLOE_SRV_DROP_NO_SPACE,    /* the response did not fit the output buffer */
    FLOE_SRV_COUNTER_COUNT
} floe_stun_server_counter;

const char *floe_stun_server_counter_name(int counter);
/* True for the counters that count dropped inputs. */
bool floe_stun_server_counter_is_drop(int counter);

typedef struct floe_stun_server {
    floe_stun_server_config cfg;
    uint64_t counters[FLOE_SRV_COUNTER_COUNT];
} floe_stun_server;

/* Validates cfg (FLOE_ERR_CONFIG when rfc5780 is on and the addresses do not differ
 * in both IP and port or are of different families) and initialises srv. */
int floe_stun_server_init(floe_stun_server *srv, const floe_stun_server_config *cfg);

typedef struct floe_stun_server_reply {
    size_t len;    /* bytes of response in the output buffer; 0 = send nothing */
    floe_addr to;  /* where to send it (the source, or its RESPONSE-PORT) */
    unsigned from; /* FLOE_STUN_CHANGE_IP / _PORT bits: which of the four sockets */
    int counter;   /* the counter this input was accounted under */
} floe_stun_server_reply;

/* Handles one input. local is the address that received it. Returns FLOE_OK (reply
 * filled, possibly with len 0 for a drop). Never fails on bad input: bad input is a
 * drop and a counter. */
int floe_stun_server_handle(floe_stun_server *srv, const uint8_t *p, size_t len,
                            const floe_addr *src, const floe_addr *local, floe_transport tr,
                            uint8_t *out, size_t cap, floe_stun_server_reply *reply);

/* The address a response leaves from for a `from` choice, given the receiving one. */
floe_addr floe_stun_server_source_for(const floe_stun_server *srv, const floe_addr *local,
                                      unsigned from);

#ifdef __cplusplus
}
#endif
#endif
