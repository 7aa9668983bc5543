/* floe: the transports a STUN, TURN or SIP message can travel over. */
#ifndef FLOE_TRANSPORT_H
#define FLOE_TRANSPORT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_transport {
    FLOE_TRANSPORT_UDP = 0,
    FLOE_TRANSPORT_TCP = 1,
    FLOE_TRANSPORT_TLS = 2,
    FLOE_TRANSPORT_DTLS = 3,
} floe_transport;

/* "udp", "tcp", "tls", "dtls". */
const char *floe_transport_name(floe_transport t);
/* True for the stream transports (TCP, TLS), where messages need framing and are not lost. */
static inline bool floe_transport_reliable(floe_transport t) {
    return t == FLOE_TRANSPORT_TCP || t == FLOE_TRANSPORT_TLS;
}

#ifdef __cplusplus
}
#endif
#endif
