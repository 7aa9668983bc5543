/* What the SIP transaction layer does with a received message: frame checks, parsing,
 * keepalives, and the split between responses (client transactions) and requests
 * (server transactions). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"
#include "sip/sip_txn_priv.h"

int floe_sip_txl_on_recv(floe_sip_txl *t, floe_time_ns now, floe_transport transport,
                         const floe_addr *from, const char *p, size_t len) {
    if (!t || !from || (!p && len)) return FLOE_ERR_INVAL;
    t->stats.rx++;
    if (transport > FLOE_TRANSPORT_TLS) {
        t->stats.drop_malformed++;
        return FLOE_ERR_MALFORMED;
    }
    if (len > t->max_msg) {
        t->stats.drop_too_big++;
        return FLOE_ERR_NOSPACE;
    }
    floe_sip_error e;
    unsigned flags = floe_transport_reliable(transport) ? FLOE_SIP_PARSE_STREAM : 0;
    int rc = floe_sip_parse(p, len, flags, &t->in, &e, &t->stats.parse_stats);
    if (rc != FLOE_OK) {
        if (e.reason == FLOE_SIP_R_EMPTY) {
            t->stats.rx_keepalives++; /* RFC 5626 §3.5.1 CRLF keepalive */
            return FLOE_OK;
        }
        t->stats.drop_malformed++;
        return rc;
    }
    if (!t->in.request) return sip_client_on_response(t, now, transport, from, &t->in, p, len);
    return sip_server_on_request(t, now, transport, from, &t->in);
}
