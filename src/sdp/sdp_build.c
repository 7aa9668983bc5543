/* Building a description by hand: slices, the arena, and the small append helpers. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "sdp/sdp_internal.h"

floe_sdp_str floe_sdp_str_c(const char *s) {
    floe_sdp_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool floe_sdp_str_eq(floe_sdp_str s, const char *lit) {
    return s.p && lit && sdp_eq(s.p, s.len, lit);
}

bool floe_sdp_str_ieq(floe_sdp_str s, const char *lit) {
    return s.p && lit && sdp_ieq(s.p, s.len, lit);
}

/* ---- arena ----------------------------------------------------------------------------- */

void floe_sdp_arena_init(floe_sdp_arena *a, char *buf, size_t cap) {
    if (!a) return;
    a->buf = buf;
    a->cap = buf ? cap : 0;
    a->len = 0;
}

int floe_sdp_arena_put(floe_sdp_arena *a, const char *p, size_t n, floe_sdp_str *out) {
    if (!a || !out || (!p && n)) return FLOE_ERR_INVAL;
    if (a->cap - a->len < n || !a->buf) return FLOE_ERR_NOSPACE;
    char *dst = a->buf + a->len;
    if (n) memcpy(dst, p, n);
    a->len += n;
    out->p = dst;
    out->len = n;
    return FLOE_OK;
}

int floe_sdp_arena_u64(floe_sdp_arena *a, uint64_t v, floe_sdp_str *out) {
    char d[24];
    return floe_sdp_arena_put(a, d, sdp_fmt_u64(d, v), out);
}

/* ---- session ---------------------------------------------------------------------------- */

void floe_sdp_init(floe_sdp *s) {
    if (!s) return;
    memset(s, 0, sizeof(*s));
    s->version = FLOE_SDP_VERSION;
    s->origin.username = floe_sdp_str_c("-");
    s->origin.sess_id = floe_sdp_str_c("0");
    s->origin.sess_version = floe_sdp_str_c("0");
    s->name = floe_sdp_str_c("-");
    s->conn.ttl = -1;
    s->n_time = 1; /* t=0 0: a permanent session, as SIP uses (RFC 3264 §5) */
}

int floe_sdp_origin_set(floe_sdp *s, const char *username, uint64_t sess_id, uint64_t sess_version,
                        const floe_addr *addr, floe_sdp_arena *ar) {
    if (!s || !addr || !ar) return FLOE_ERR_INVAL;
    if (addr->family != FLOE_AF_INET4 && addr->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    floe_sdp_origin *o = &s->origin;
    int rc = floe_sdp_arena_u64(ar, sess_id, &o->sess_id);
    if (rc == FLOE_OK) rc = floe_sdp_arena_u64(ar, sess_version, &o->sess_version);
    if (rc != FLOE_OK) return rc;
    o->username = floe_sdp_str_c(username ? username : "-");
    o->nettype = floe_sdp_str_c(NULL);
    o->addrtype = floe_sdp_str_c(NULL);
    o->address = floe_sdp_str_c(NULL);
    o->addr = *addr;
    o->addr.port = 0;
    o->addr.scope_id = 0;
    return FLOE_OK;
}

void floe_sdp_conn_set(floe_sdp_conn *c, const floe_addr *a) {
    if (!c) return;
    memset(c, 0, sizeof(*c));
    c->ttl = -1;
    if (!a) return;
    c->present = true;
    c->addr = *a;
    c->addr.port = 0;
    c->addr.scope_id = 0;
}

/* ---- media and attributes -------------------------------------------------------------- */

int floe_sdp_media_add(floe_sdp *s, const char *media, uint16_t port, const char *proto,
                       floe_sdp_media **out) {
    if (out) *out = NULL;
    if (!s || !media || !proto) return FLOE_ERR_INVAL;
    if (s->n_media >= FLOE_SDP_MAX_MEDIA) return FLOE_ERR_LIMIT;
    floe_sdp_media *m = &s->media[s->n_media++];
    memset(m, 0, sizeof(*m));
    m->media = floe_sdp_str_c(media);
    m->port = port;
    m->proto = floe_sdp_str_c(proto);
    m->conn.ttl = -1;
    if (out) *out = m;
    return FLOE_OK;
}

int floe_sdp_fmt_add(floe_sdp_media *m, const char *fmt) {
    if (!m || !fmt) return FLOE_ERR_INVAL;
    if (m->n_fmt >= FLOE_SDP_MAX_FORMATS) return FLOE_ERR_LIMIT;
    m->fmt[m->n_fmt++] = floe_sdp_str_c(fmt);
    return FLOE_OK;
}

int floe_sdp_attr_add_str(floe_sdp_attrs *l, floe_sdp_str name, floe_sdp_str value) {
    if (!l || !name.p) return FLOE_ERR_INVAL;
    if (l->n >= FLOE_SDP_MAX_ATTRS) return FLOE_ERR_LIMIT;
    floe_sdp_attr *a = &l->a[l->n++];
    a->name = name;
    a->value = value;
    a->line = 0;
    return FLOE_OK;
}

int floe_sdp_attr_add(floe_sdp_attrs *l, const char *name, const char *value) {
    return floe_sdp_attr_add_str(l, floe_sdp_str_c(name), floe_sdp_str_c(value));
}

const floe_sdp_attr *floe_sdp_attr_find(const floe_sdp_attrs *l, const char *name,
                                        const floe_sdp_attr *after) {
    if (!l || !name) return NULL;
    size_t i = 0;
    if (after) {
        if (after < l->a || after >= l->a + l->n) return NULL;
        i = (size_t)(after - l->a) + 1;
    }
    for (; i < l->n; i++)
        if (floe_sdp_str_eq(l->a[i].name, name)) return &l->a[i];
    return NULL;
}
