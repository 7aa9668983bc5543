/* The STUN server core: one input in, at most one response out, one counter bumped. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_server.h"

static const char *const counter_names[FLOE_SRV_COUNTER_COUNT] = {
    [FLOE_SRV_RX] = "rx",
    [FLOE_SRV_BINDING_OK] = "binding_ok",
    [FLOE_SRV_CLASSIC_OK] = "classic_binding_ok",
    [FLOE_SRV_ERROR_400] = "error_400_bad_request",
    [FLOE_SRV_ERROR_420] = "error_420_unknown_attribute",
    [FLOE_SRV_DROP_TRUNCATED] = "drop_truncated",
    [FLOE_SRV_DROP_NOT_STUN] = "drop_not_stun",
    [FLOE_SRV_DROP_MALFORMED] = "drop_malformed",
    [FLOE_SRV_DROP_FINGERPRINT] = "drop_bad_fingerprint",
    [FLOE_SRV_DROP_TOO_MANY_ATTRS] = "drop_too_many_attributes",
    [FLOE_SRV_DROP_NOT_REQUEST] = "drop_not_a_request",
    [FLOE_SRV_DROP_CLASSIC] = "drop_classic_disabled",
    [FLOE_SRV_DROP_OVERSIZE] = "drop_oversize",
    [FLOE_SRV_DROP_NO_SPACE] = "drop_response_too_big",
};

const char *floe_stun_server_counter_name(int counter) {
    if (counter < 0 || counter >= FLOE_SRV_COUNTER_COUNT) return "unknown";
    return counter_names[counter];
}

bool floe_stun_server_counter_is_drop(int counter) {
    return counter >= FLOE_SRV_DROP_TRUNCATED && counter < FLOE_SRV_COUNTER_COUNT;
}

void floe_stun_server_config_default(floe_stun_server_config *c) {
    memset(c, 0, sizeof *c);
    c->classic = true;
}

int floe_stun_server_init(floe_stun_server *srv, const floe_stun_server_config *cfg) {
    memset(srv, 0, sizeof *srv);
    if (cfg->rfc5780) {
        const floe_addr *a = &cfg->primary, *b = &cfg->alternate;
        if (a->family == FLOE_AF_NONE || a->family != b->family || floe_addr_ip_equal(a, b) ||
            a->port == b->port || a->port == 0 || b->port == 0)
            return FLOE_ERR_CONFIG;
    }
    srv->cfg = *cfg;
    return FLOE_OK;
}

floe_addr floe_stun_server_source_for(const floe_stun_server *srv, const floe_addr *local,
                                      unsigned from) {
    floe_addr a = *local;
    if (!srv->cfg.rfc5780) return a;
    const floe_addr *p = &srv->cfg.primary, *alt = &srv->cfg.alternate;
    bool on_primary_ip = floe_addr_ip_equal(local, p);
    bool on_primary_port = local->port == p->port;
    if (from & FLOE_STUN_CHANGE_IP) on_primary_ip = !on_primary_ip;
    if (from & FLOE_STUN_CHANGE_PORT) on_primary_port = !on_primary_port;
    memcpy(a.ip, on_primary_ip ? p->ip : alt->ip, sizeof a.ip);
    a.port = on_primary_port ? p->port : alt->port;
    return a;
}

static int count(floe_stun_server *srv, floe_stun_server_reply *reply, int counter) {
    srv->counters[counter]++;
    reply->counter = counter;
    return FLOE_OK;
}

static int decode_drop_counter(int rc) {
    switch (rc) {
    case FLOE_ERR_TRUNCATED: return FLOE_SRV_DROP_TRUNCATED;
    case FLOE_ERR_NOT_STUN: return FLOE_SRV_DROP_NOT_STUN;
    case FLOE_ERR_FINGERPRINT: return FLOE_SRV_DROP_FINGERPRINT;
    case FLOE_ERR_LIMIT: return FLOE_SRV_DROP_TOO_MANY_ATTRS;
    default: return FLOE_SRV_DROP_MALFORMED;
    }
}

static void start_response(floe_stun_builder *b, const floe_stun_msg *m, uint8_t *out, size_t cap,
                           floe_stun_class cls) {
    if (m->classic)
        floe_stun_builder_init_classic(b, out, cap, m->method, cls, m->tid);
    else
        floe_stun_builder_init(b, out, cap, m->method, cls, m->tid);
}

static int finish(floe_stun_server *srv, floe_stun_builder *b, const floe_stun_msg *m,
                  floe_stun_server_reply *reply, int counter) {
    if (srv->cfg.software) floe_stun_add_string(b, FLOE_STUN_ATTR_SOFTWARE, srv->cfg.software);
    if (!m->classic) floe_stun_add_fingerprint(b);
    size_t n = 0;
    if (floe_stun_builder_finish(b, &n) != FLOE_OK) {
        reply->len = 0;
        return count(srv, reply, FLOE_SRV_DROP_NO_SPACE);
    }
    reply->len = n;
    return count(srv, reply, counter);
}

static int error_response(floe_stun_server *srv, const floe_stun_msg *m, uint8_t *out, size_t cap,
                          floe_stun_server_reply *reply, int code, const uint16_t *unknown,
                          size_t n_unknown) {
    floe_stun_builder b;
    start_response(&b, m, out, cap, FLOE_STUN_ERROR);
    /* Reason phrases only when SOFTWARE is configured: unauthenticated answers stay small. */
    floe_stun_add_error(&b, code, srv->cfg.software ? NULL : "");
    if (n_unknown) floe_stun_add_unknown(&b, unknown, n_unknown);
    return finish(srv, &b, m, reply, code == 420 ? FLOE_SRV_ERROR_420 : FLOE_SRV_ERROR_400);
}

int floe_stun_server_handle(floe_stun_server *srv, const uint8_t *p, size_t len,
                            const floe_addr *src, const floe_addr *local, floe_transport tr,
                            uint8_t *out, size_t cap, floe_stun_server_reply *reply) {
    memset(reply, 0, sizeof *reply);
    reply->to = *src;
    srv->counters[FLOE_SRV_RX]++;

    floe_stun_msg m;
    int rc = floe_stun_msg_decode(p, len, FLOE_STUN_DECODE_CLASSIC, &m);
    if (rc != FLOE_OK) return count(srv, reply, decode_drop_counter(rc));
    /* UDP: one datagram, one message; trailing bytes mean the length field lies. */
    if (tr == FLOE_TRANSPORT_UDP && m.raw_len != len)
        return count(srv, reply, FLOE_SRV_DROP_MALFORMED);
    if (m.cls != FLOE_STUN_REQUEST) return count(srv, reply, FLOE_SRV_DROP_NOT_REQUEST);
    /* RFC 3489 defines IPv4 addresses only (§11.2.1); over IPv6 its answer, with two
     * address attributes, would also be the largest for the smallest request. */
    if (m.classic && (!srv->cfg.classic || src->family != FLOE_AF_INET4))
        return count(srv, reply, FLOE_SRV_DROP_CLASSIC);

    /* Attributes this server does not implement count as unknown (RFC 5780 §6.1:
     * a server without behaviour discovery answers CHANGE-REQUEST with 420). */
    uint16_t unknown[FLOE_STUN_MAX_UNKNOWN + 3];
    size_t n_unknown = m.n_unknown;
    memcpy(unknown, m.unknown, sizeof(uint16_t) * m.n_unknown);
    bool discovery = srv->cfg.rfc5780 && tr == FLOE_TRANSPORT_UDP;
    static const uint16_t discovery_attrs[] = {
        FLOE_STUN_ATTR_CHANGE_REQUEST, FLOE_STUN_ATTR_RESPONSE_PORT, FLOE_STUN_ATTR_PADDING};
    if (!discovery)
        for (size_t i = 0; i < 3; i++)
            if (floe_stun_msg_find(&m, discovery_attrs[i]))
                unknown[n_unknown++] = discovery_attrs[i];
    if (n_unknown) return error_response(srv, &m, out, cap, reply, 420, unknown, n_unknown);
    if (m.method != FLOE_STUN_BINDING)
        return error_response(srv, &m, out, cap, reply, 400, NULL, 0);

    unsigned from = 0;
    if (discovery) {
        uint32_t change = 0;
        if (floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_CHANGE_REQUEST, &change) == FLOE_OK)
            from = change & (FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
        uint32_t rport = 0;
        if (floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_RESPONSE_PORT, &rport) == FLOE_OK) {
            /* RFC 5780 §7.5: the port is the first 16 bits; RESPONSE-PORT 0 is invalid */
            uint16_t port = (uint16_t)(rport >> 16);
            if (port == 0 || m.classic)
                return error_response(srv, &m, out, cap, reply, 400, NULL, 0);
            reply->to.port = port;
        }
    }
    reply->from = from;
    floe_addr origin = floe_stun_server_source_for(srv, local, from);

    floe_stun_builder b;
    start_response(&b, &m, out, cap, FLOE_STUN_SUCCESS);
    if (m.classic) {
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_MAPPED_ADDRESS, src);
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_SOURCE_ADDRESS, &origin);
        if (discovery) {
            floe_addr other = floe_stun_server_source_for(
                srv, local, FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
            floe_stun_add_addr(&b, FLOE_STUN_ATTR_CHANGED_ADDRESS, &other);
        }
        return finish(srv, &b, &m, reply, FLOE_SRV_CLASSIC_OK);
    }
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, src);
    if (discovery) {
        floe_addr other =
            floe_stun_server_source_for(srv, local, FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_RESPONSE_ORIGIN, &origin);
        floe_stun_add_addr(&b, FLOE_STUN_ATTR_OTHER_ADDRESS, &other);
    }
    return finish(srv, &b, &m, reply, FLOE_SRV_BINDING_OK);
}
