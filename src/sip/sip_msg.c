/* Finding header fields in a message and walking their values; message equality. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

const floe_sip_hdr *floe_sip_msg_find(const floe_sip_msg *m, floe_sip_hdr_id id,
                                      const floe_sip_hdr *after) {
    if (!m) return NULL;
    size_t i = after ? (size_t)(after - m->hdr) + 1 : 0;
    for (; i < m->n_hdr; i++)
        if (m->hdr[i].id == id) return &m->hdr[i];
    return NULL;
}

const floe_sip_hdr *floe_sip_msg_find_name(const floe_sip_msg *m, const char *name,
                                           const floe_sip_hdr *after) {
    if (!m || !name) return NULL;
    floe_sip_str n = floe_sip_str_c(name);
    floe_sip_hdr_id id = floe_sip_hdr_lookup(n);
    if (id != FLOE_SIP_H_OTHER) return floe_sip_msg_find(m, id, after);
    size_t i = after ? (size_t)(after - m->hdr) + 1 : 0;
    for (; i < m->n_hdr; i++)
        if (m->hdr[i].id == FLOE_SIP_H_OTHER && sip_ieq(m->hdr[i].name.p, m->hdr[i].name.len, name))
            return &m->hdr[i];
    return NULL;
}

int floe_sip_msg_next_value(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                            floe_sip_str *value) {
    if (!m || !it) return FLOE_ERR_INVAL;
    bool list = floe_sip_hdr_is_list(id);
    for (; it->hdr < m->n_hdr; it->hdr++, it->off = 0) {
        const floe_sip_hdr *h = &m->hdr[it->hdr];
        if (h->id != id || id == FLOE_SIP_H_OTHER) continue;
        if (list) {
            size_t pos = it->off;
            floe_sip_str item;
            if (sip_list_next(h->value, &pos, &item)) {
                it->off = pos;
                if (value) *value = item;
                return FLOE_OK;
            }
        } else if (it->off == 0) {
            it->off = h->value.len + 1;
            if (value) *value = h->value;
            return FLOE_OK;
        }
    }
    return FLOE_ERR_NOT_FOUND;
}

size_t floe_sip_msg_count(const floe_sip_msg *m, floe_sip_hdr_id id) {
    floe_sip_iter it = {0, 0};
    size_t n = 0;
    while (floe_sip_msg_next_value(m, id, &it, NULL) == FLOE_OK)
        n++;
    return n;
}

/* ---- Via and address fields ---------------------------------------------------------------- */

int floe_sip_msg_next_via(const floe_sip_msg *m, floe_sip_iter *it, floe_sip_via *out) {
    floe_sip_str v;
    int rc = floe_sip_msg_next_value(m, FLOE_SIP_H_VIA, it, &v);
    if (rc != FLOE_OK) return rc;
    return floe_sip_via_parse(v, out);
}

int floe_sip_msg_top_via(const floe_sip_msg *m, floe_sip_via *out) {
    floe_sip_iter it = {0, 0};
    return floe_sip_msg_next_via(m, &it, out);
}

int floe_sip_msg_next_addr(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                           floe_sip_addr *out) {
    floe_sip_str v;
    int rc = floe_sip_msg_next_value(m, id, it, &v);
    if (rc != FLOE_OK) return rc;
    return floe_sip_addr_parse(v, out);
}

static int single_addr(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_addr *out) {
    const floe_sip_hdr *h = floe_sip_msg_find(m, id, NULL);
    if (!h) return FLOE_ERR_NOT_FOUND;
    floe_sip_addr a;
    int rc = floe_sip_addr_parse(h->value, &a);
    if (rc == FLOE_OK && a.star) rc = FLOE_ERR_MALFORMED;
    if (rc == FLOE_OK && out) *out = a;
    return rc;
}

int floe_sip_msg_from(const floe_sip_msg *m, floe_sip_addr *out) {
    return single_addr(m, FLOE_SIP_H_FROM, out);
}

int floe_sip_msg_to(const floe_sip_msg *m, floe_sip_addr *out) {
    return single_addr(m, FLOE_SIP_H_TO, out);
}

/* ---- equality ------------------------------------------------------------------------------ */

static bool str_same(floe_sip_str a, floe_sip_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The next header field that is not Content-Length, from index *i. */
static const floe_sip_hdr *next_compared(const floe_sip_msg *m, size_t *i) {
    while (*i < m->n_hdr && m->hdr[*i].id == FLOE_SIP_H_CONTENT_LENGTH)
        (*i)++;
    return *i < m->n_hdr ? &m->hdr[(*i)++] : NULL;
}

bool floe_sip_msg_equal(const floe_sip_msg *a, const floe_sip_msg *b) {
    if (!a || !b || a->request != b->request) return false;
    if (a->request) {
        if (!str_same(a->method, b->method) || !str_same(a->uri, b->uri)) return false;
    } else if (a->status != b->status || !str_same(a->reason, b->reason)) {
        return false;
    }
    size_t ia = 0, ib = 0;
    for (;;) {
        const floe_sip_hdr *ha = next_compared(a, &ia), *hb = next_compared(b, &ib);
        if (!ha || !hb) {
            if (ha || hb) return false;
            break;
        }
        if (ha->id != hb->id || !str_same(ha->value, hb->value)) return false;
        if (ha->id == FLOE_SIP_H_OTHER) {
            if (ha->name.len != hb->name.len) return false;
            for (size_t k = 0; k < ha->name.len; k++)
                if (sip_lower((unsigned char)ha->name.p[k]) !=
                    sip_lower((unsigned char)hb->name.p[k]))
                    return false;
        }
    }
    return str_same(a->body, b->body);
}
