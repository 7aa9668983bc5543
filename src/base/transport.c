#include "floe/transport.h"

const char *floe_transport_name(floe_transport t) {
    switch (t) {
    case FLOE_TRANSPORT_UDP: return "udp";
    case FLOE_TRANSPORT_TCP: return "tcp";
    case FLOE_TRANSPORT_TLS: return "tls";
    case FLOE_TRANSPORT_DTLS: return "dtls";
    }
    return "unknown";
}
