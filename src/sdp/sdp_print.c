/* SDP printer: writes a floe_sdp as RFC 8866 text with CRLF line ends. Every field goes
 * through the same checks the parser applies (sdp_field.c), so the output parses back. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "sdp/sdp_internal.h"

typedef struct out {
    char *buf;
    size_t cap; /* > 0; one byte is always kept for the NUL */
    size_t len;
    bool full;
    int line;           /* output line being written */
    const char *reason; /* first field that would not parse back */
} out;

static void put(out *o, const char *p, size_t n) {
    if (o->full) return;
    size_t room = o->cap - 1 - o->len;
    if (n > room) {
        memcpy(o->buf + o->len, p, room);
        o->len += room;
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void put_s(out *o, floe_sdp_str s) {
    if (s.p) put(o, s.p, s.len);
}

static void put_u64(out *o, uint64_t v) {
    char d[24];
    put(o, d, sdp_fmt_u64(d, v));
}

static void begin(out *o, char type) {
    char t[2] = {type, '='};
    o->line++;
    put(o, t, 2);
}

static void end(out *o) {
    put(o, "\r\n", 2);
}

static int bad(out *o, const char *why) {
    o->reason = why;
    return FLOE_ERR_INVAL;
}

/* A present optional text line (i= u= e= p= k=): non-empty, no line breaks. */
static int text_line(out *o, char type, floe_sdp_str s, const char *why) {
    if (!s.p) return FLOE_OK;
    if (s.len == 0 || !sdp_text(s.p, s.len)) return bad(o, why);
    begin(o, type);
    put_s(o, s);
    end(o);
    return FLOE_OK;
}

/* Fills missing nettype/addrtype/address of an origin or connection from addr. */
typedef struct addr_text {
    floe_sdp_str nettype, addrtype, address;
    char buf[FLOE_ADDR_STRLEN];
} addr_text;

static bool fill_addr(addr_text *t, floe_sdp_str nettype, floe_sdp_str addrtype,
                      floe_sdp_str address, const floe_addr *addr) {
    t->nettype = nettype;
    t->addrtype = addrtype;
    t->address = address;
    if (address.p && address.len) return true;
    if (!addr || (addr->family != FLOE_AF_INET4 && addr->family != FLOE_AF_INET6)) return false;
    floe_addr a = *addr;
    a.port = 0;
    a.scope_id = 0; /* zones are not SDP syntax */
    t->address.len = floe_addr_format(&a, false, t->buf, sizeof(t->buf));
    t->address.p = t->buf;
    if (!nettype.p || !nettype.len) t->nettype = floe_sdp_str_c("IN");
    if (!addrtype.p || !addrtype.len)
        t->addrtype = floe_sdp_str_c(a.family == FLOE_AF_INET4 ? "IP4" : "IP6");
    return true;
}

static int print_origin(out *o, const floe_sdp_origin *g) {
    if (!g->username.p || !sdp_nonws(g->username.p, g->username.len))
        return bad(o, "o= username is not a non-ws-string");
    if (!g->sess_id.p ||
        !sdp_u64(g->sess_id.p, g->sess_id.len, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL))
        return bad(o, "o= session id is not a number (at most 20 digits)");
    if (!g->sess_version.p || !sdp_u64(g->sess_version.p, g->sess_version.len,
                                       FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL))
        return bad(o, "o= session version is not a number (at most 20 digits)");
    addr_text t;
    if (!fill_addr(&t, g->nettype, g->addrtype, g->address, &g->addr))
        return bad(o, "o= has no address");
    if (!sdp_token(t.nettype.p, t.nettype.len)) return bad(o, "o= network type is not a token");
    if (!sdp_token(t.addrtype.p, t.addrtype.len)) return bad(o, "o= address type is not a token");
    const char *why = sdp_check_address(t.nettype, t.addrtype, t.address.p, t.address.len, NULL);
    if (why) return bad(o, why);
    begin(o, 'o');
    put_s(o, g->username);
    put(o, " ", 1);
    put_s(o, g->sess_id);
    put(o, " ", 1);
    put_s(o, g->sess_version);
    put(o, " ", 1);
    put_s(o, t.nettype);
    put(o, " ", 1);
    put_s(o, t.addrtype);
    put(o, " ", 1);
    put_s(o, t.address);
    end(o);
    return FLOE_OK;
}

static int print_conn(out *o, const floe_sdp_conn *c) {
    if (!c->present) return FLOE_OK;
    floe_sdp_conn tmp = *c;
    addr_text t;
    if (!fill_addr(&t, c->nettype, c->addrtype, c->address, &c->addr))
        return bad(o, "c= has no address");
    tmp.nettype = t.nettype;
    tmp.addrtype = t.addrtype;
    tmp.address = t.address;
    const char *why = sdp_check_conn(&tmp, NULL);
    if (why) return bad(o, why);
    begin(o, 'c');
    put_s(o, tmp.nettype);
    put(o, " ", 1);
    put_s(o, tmp.addrtype);
    put(o, " ", 1);
    put_s(o, tmp.address);
    if (tmp.ttl >= 0) {
        put(o, "/", 1);
        put_u64(o, (uint64_t)tmp.ttl);
    }
    if (tmp.n_addrs > 0) {
        put(o, "/", 1);
        put_u64(o, tmp.n_addrs);
    }
    end(o);
    return FLOE_OK;
}

static int print_bw(out *o, const floe_sdp_bw *bw, size_t n) {
    if (n > FLOE_SDP_MAX_BW) return bad(o, "too many b= lines");
    for (size_t i = 0; i < n; i++) {
        if (!bw[i].type.p || !sdp_token(bw[i].type.p, bw[i].type.len))
            return bad(o, "b= type is not a token");
        begin(o, 'b');
        put_s(o, bw[i].type);
        put(o, ":", 1);
        put_u64(o, bw[i].value);
        end(o);
    }
    return FLOE_OK;
}

static int print_attrs(out *o, const floe_sdp_attrs *l) {
    if (l->n > FLOE_SDP_MAX_ATTRS) return bad(o, "too many a= lines");
    for (size_t i = 0; i < l->n; i++) {
        const floe_sdp_attr *a = &l->a[i];
        if (!a->name.p || !sdp_token(a->name.p, a->name.len))
            return bad(o, "a= attribute name is not a token");
        if (a->value.p && !sdp_text(a->value.p, a->value.len))
            return bad(o, "a= attribute value holds a line break or NUL");
        begin(o, 'a');
        put_s(o, a->name);
        if (a->value.p) {
            put(o, ":", 1);
            put_s(o, a->value);
        }
        end(o);
    }
    return FLOE_OK;
}

static int print_times(out *o, const floe_sdp *s) {
    if (s->n_time == 0) return bad(o, "no t= line");
    if (s->n_time > FLOE_SDP_MAX_TIMES) return bad(o, "too many t= lines");
    for (size_t i = 0; i < s->n_time; i++) {
        const floe_sdp_time *t = &s->time[i];
        begin(o, 't');
        put_u64(o, t->start);
        put(o, " ", 1);
        put_u64(o, t->stop);
        end(o);
        if (t->n_repeats > FLOE_SDP_MAX_REPEATS) return bad(o, "too many r= lines");
        for (size_t k = 0; k < t->n_repeats; k++) {
            floe_sdp_str r = t->repeat[k];
            const char *why = r.p ? sdp_check_repeat(r.p, r.len) : "r= line is empty";
            if (why) return bad(o, why);
            begin(o, 'r');
            put_s(o, r);
            end(o);
        }
    }
    if (s->zone.p) {
        const char *why = sdp_check_zone(s->zone.p, s->zone.len);
        if (why) return bad(o, why);
        begin(o, 'z');
        put_s(o, s->zone);
        end(o);
    }
    return FLOE_OK;
}

static int print_media(out *o, const floe_sdp_media *m, bool session_conn) {
    if (!m->media.p || !sdp_token(m->media.p, m->media.len))
        return bad(o, "m= media type is not a token");
    if (!m->proto.p || !sdp_proto(m->proto.p, m->proto.len))
        return bad(o, "m= proto is not token *(\"/\" token)");
    if (m->n_fmt == 0) return bad(o, "m= line without a format");
    if (m->n_fmt > FLOE_SDP_MAX_FORMATS) return bad(o, "too many formats on an m= line");
    if (!m->conn.present && !session_conn)
        return bad(o, "no c= line for this m= section and none at session level");
    for (size_t i = 0; i < m->n_fmt; i++)
        if (!m->fmt[i].p || !sdp_token(m->fmt[i].p, m->fmt[i].len))
            return bad(o, "m= format is not a token");
    begin(o, 'm');
    put_s(o, m->media);
    put(o, " ", 1);
    put_u64(o, m->port);
    if (m->n_ports) {
        put(o, "/", 1);
        put_u64(o, m->n_ports);
    }
    put(o, " ", 1);
    put_s(o, m->proto);
    for (size_t i = 0; i < m->n_fmt; i++) {
        put(o, " ", 1);
        put_s(o, m->fmt[i]);
    }
    end(o);
    int rc = text_line(o, 'i', m->info, "i= line is empty or holds a line break");
    if (rc == FLOE_OK) rc = print_conn(o, &m->conn);
    if (rc == FLOE_OK) rc = print_bw(o, m->bw, m->n_bw);
    if (rc == FLOE_OK) rc = text_line(o, 'k', m->key, "k= line is empty or holds a line break");
    if (rc == FLOE_OK) rc = print_attrs(o, &m->attrs);
    return rc;
}

static int print_all(out *o, const floe_sdp *s) {
    if (s->version != FLOE_SDP_VERSION) return bad(o, "v= must be 0");
    begin(o, 'v');
    put(o, "0", 1);
    end(o);
    int rc = print_origin(o, &s->origin);
    if (rc != FLOE_OK) return rc;
    if (s->name.p && !sdp_text(s->name.p, s->name.len)) return bad(o, "s= holds a line break");
    begin(o, 's');
    put_s(o, s->name);
    end(o);
    rc = text_line(o, 'i', s->info, "i= line is empty or holds a line break");
    if (rc == FLOE_OK) rc = text_line(o, 'u', s->uri, "u= line is empty or holds a line break");
    if (rc != FLOE_OK) return rc;
    if (s->n_email > FLOE_SDP_MAX_CONTACTS || s->n_phone > FLOE_SDP_MAX_CONTACTS)
        return bad(o, "too many e= or p= lines");
    for (size_t i = 0; i < s->n_email && rc == FLOE_OK; i++)
        rc = text_line(o, 'e', s->email[i].p ? s->email[i] : floe_sdp_str_c(""),
                       "e= line is empty or holds a line break");
    for (size_t i = 0; i < s->n_phone && rc == FLOE_OK; i++)
        rc = text_line(o, 'p', s->phone[i].p ? s->phone[i] : floe_sdp_str_c(""),
                       "p= line is empty or holds a line break");
    if (rc == FLOE_OK) rc = print_conn(o, &s->conn);
    if (rc == FLOE_OK) rc = print_bw(o, s->bw, s->n_bw);
    if (rc == FLOE_OK) rc = print_times(o, s);
    if (rc == FLOE_OK) rc = text_line(o, 'k', s->key, "k= line is empty or holds a line break");
    if (rc == FLOE_OK) rc = print_attrs(o, &s->attrs);
    if (rc != FLOE_OK) return rc;
    if (s->n_media > FLOE_SDP_MAX_MEDIA) return bad(o, "too many m= sections");
    for (size_t i = 0; i < s->n_media && rc == FLOE_OK; i++)
        rc = print_media(o, &s->media[i], s->conn.present);
    return rc;
}

int floe_sdp_print(const floe_sdp *s, char *buf, size_t cap, size_t *len, floe_sdp_error *err) {
    if (len) *len = 0;
    if (err) {
        err->line = 0;
        err->reason = NULL;
    }
    if (!s || (!buf && cap)) return FLOE_ERR_INVAL;
    char dummy[1];
    out o = {buf ? buf : dummy, buf ? cap : 1, 0, cap == 0, 0, NULL};
    int rc = print_all(&o, s);
    if (cap > 0) buf[o.len] = '\0';
    if (rc != FLOE_OK) {
        if (err) {
            /* Fields are checked before their line is started. */
            err->line = o.line + 1;
            err->reason = o.reason;
        }
        return rc;
    }
    if (o.full) {
        if (err) err->reason = "output buffer too small";
        return FLOE_ERR_NOSPACE;
    }
    if (len) *len = o.len;
    return FLOE_OK;
}
