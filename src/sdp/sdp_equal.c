/* Content equality of two descriptions (the round-trip property of the printer, and
 * RFC 3264 §8's "same version means same description" check). */
#include <string.h>

#include "floe/sdp.h"

/* Both absent, or both present with the same bytes. */
static bool str_eq(floe_sdp_str a, floe_sdp_str b) {
    if (!a.p || !b.p) return !a.p && !b.p;
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Same bytes, absence counting as empty (for mandatory fields such as s=). */
static bool text_eq(floe_sdp_str a, floe_sdp_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool addr_eq(const floe_addr *a, const floe_addr *b) {
    if (a->family != b->family) return false;
    return a->family == FLOE_AF_NONE || floe_addr_equal(a, b);
}

static bool conn_eq(const floe_sdp_conn *a, const floe_sdp_conn *b) {
    if (a->present != b->present) return false;
    if (!a->present) return true;
    return text_eq(a->nettype, b->nettype) && text_eq(a->addrtype, b->addrtype) &&
           text_eq(a->address, b->address) && addr_eq(&a->addr, &b->addr) && a->ttl == b->ttl &&
           a->n_addrs == b->n_addrs;
}

static bool bw_eq(const floe_sdp_bw *a, size_t na, const floe_sdp_bw *b, size_t nb) {
    if (na != nb || na > FLOE_SDP_MAX_BW) return false;
    for (size_t i = 0; i < na; i++)
        if (!text_eq(a[i].type, b[i].type) || a[i].value != b[i].value) return false;
    return true;
}

static bool attrs_eq(const floe_sdp_attrs *a, const floe_sdp_attrs *b) {
    if (a->n != b->n || a->n > FLOE_SDP_MAX_ATTRS) return false;
    for (size_t i = 0; i < a->n; i++)
        if (!text_eq(a->a[i].name, b->a[i].name) || !str_eq(a->a[i].value, b->a[i].value))
            return false;
    return true;
}

/* cap: the size of both arrays (a count above it is a corrupt description). */
static bool list_eq(const floe_sdp_str *a, size_t na, const floe_sdp_str *b, size_t nb,
                    size_t cap) {
    if (na != nb || na > cap) return false;
    for (size_t i = 0; i < na; i++)
        if (!text_eq(a[i], b[i])) return false;
    return true;
}

static bool media_eq(const floe_sdp_media *a, const floe_sdp_media *b) {
    return text_eq(a->media, b->media) && a->port == b->port && a->n_ports == b->n_ports &&
           text_eq(a->proto, b->proto) &&
           list_eq(a->fmt, a->n_fmt, b->fmt, b->n_fmt, FLOE_SDP_MAX_FORMATS) &&
           str_eq(a->info, b->info) && conn_eq(&a->conn, &b->conn) &&
           bw_eq(a->bw, a->n_bw, b->bw, b->n_bw) && str_eq(a->key, b->key) &&
           attrs_eq(&a->attrs, &b->attrs);
}

static bool origin_eq(const floe_sdp_origin *a, const floe_sdp_origin *b) {
    return text_eq(a->username, b->username) && text_eq(a->sess_id, b->sess_id) &&
           text_eq(a->sess_version, b->sess_version) && text_eq(a->nettype, b->nettype) &&
           text_eq(a->addrtype, b->addrtype) && text_eq(a->address, b->address) &&
           addr_eq(&a->addr, &b->addr);
}

bool floe_sdp_equal(const floe_sdp *a, const floe_sdp *b) {
    if (!a || !b) return a == b;
    if (a->version != b->version || !origin_eq(&a->origin, &b->origin) ||
        !text_eq(a->name, b->name) || !str_eq(a->info, b->info) || !str_eq(a->uri, b->uri) ||
        !list_eq(a->email, a->n_email, b->email, b->n_email, FLOE_SDP_MAX_CONTACTS) ||
        !list_eq(a->phone, a->n_phone, b->phone, b->n_phone, FLOE_SDP_MAX_CONTACTS) ||
        !conn_eq(&a->conn, &b->conn) || !bw_eq(a->bw, a->n_bw, b->bw, b->n_bw) ||
        a->n_time != b->n_time || !str_eq(a->zone, b->zone) || !str_eq(a->key, b->key) ||
        !attrs_eq(&a->attrs, &b->attrs) || a->n_media != b->n_media)
        return false;
    if (a->n_time > FLOE_SDP_MAX_TIMES || a->n_media > FLOE_SDP_MAX_MEDIA) return false;
    for (size_t i = 0; i < a->n_time; i++) {
        const floe_sdp_time *x = &a->time[i], *y = &b->time[i];
        if (x->start != y->start || x->stop != y->stop ||
            !list_eq(x->repeat, x->n_repeats, y->repeat, y->n_repeats, FLOE_SDP_MAX_REPEATS))
            return false;
    }
    for (size_t i = 0; i < a->n_media; i++)
        if (!media_eq(&a->media[i], &b->media[i])) return false;
    return true;
}
