/* Requests within a dialog (RFC 3261 §12.2.1.1): Request-URI and Route from the remote
 * target and the route set (loose and strict routing), To/From with the tags, Call-ID,
 * CSeq; the ACK of a 2xx (§13.2.2.4). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_dialog_priv.h"
#include "sip/sip_internal.h"

floe_sip_str floe_sip_dialog_next_hop(const floe_sip_dialog *d) {
    floe_sip_str uri;
    if (d->n_route && sip_dialog_addr_uri(floe_sip_dialog_text(d, d->route[0]), &uri)) return uri;
    return floe_sip_dialog_text(d, d->remote_target);
}

/* "<uri>" plus ";tag=..." when the tag is not empty, into the arena. */
static int addr_with_tag(floe_sip_arena *ar, floe_sip_str uri, floe_sip_str tag,
                         floe_sip_str *out) {
    size_t start = ar->len;
    int rc = floe_sip_arena_put(ar, "<", 1, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, uri.p, uri.len, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, ">", 1, NULL);
    if (rc == FLOE_OK && tag.len) rc = floe_sip_arena_put(ar, ";tag=", 5, NULL);
    if (rc == FLOE_OK && tag.len) rc = floe_sip_arena_put(ar, tag.p, tag.len, NULL);
    if (rc != FLOE_OK) {
        ar->len = start;
        return rc;
    }
    *out = sip_str(ar->buf + start, ar->len - start);
    return FLOE_OK;
}

/* A NUL-terminated copy in the arena (the start line takes C strings). */
static int cstr(floe_sip_arena *ar, floe_sip_str s, const char **out) {
    size_t start = ar->len;
    int rc = floe_sip_arena_put(ar, s.p, s.len, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, "", 1, NULL);
    if (rc != FLOE_OK) {
        ar->len = start;
        return rc;
    }
    *out = ar->buf + start;
    return FLOE_OK;
}

static int add(floe_sip_msg *m, const char *name, floe_sip_str value) {
    return floe_sip_msg_add_str(m, floe_sip_str_c(name), value);
}

/* The request of `method` with CSeq number `seq` (RFC 3261 §12.2.1.1). */
static int build(const floe_sip_dialog *d, const char *method, uint32_t seq, floe_sip_msg *out,
                 floe_sip_arena *ar) {
    if (!d || !method || !out || !ar || !sip_token(method, strlen(method))) return FLOE_ERR_INVAL;
    floe_sip_str target = floe_sip_dialog_text(d, d->remote_target);
    floe_sip_str ruri = target;
    size_t first_route = 0;
    bool strict = false;
    if (d->n_route) {
        floe_sip_str r0;
        floe_sip_uri u;
        if (!sip_dialog_addr_uri(floe_sip_dialog_text(d, d->route[0]), &r0) ||
            floe_sip_uri_parse(r0.p, r0.len, &u) != FLOE_OK)
            return FLOE_ERR_INVAL;
        if (!u.lr) {
            /* A strict router: it takes the Request-URI (without URI headers, which a
             * Request-URI may not carry) and the remote target goes last in Route. */
            strict = true;
            first_route = 1;
            ruri = u.headers.p ? sip_str(r0.p, (size_t)(u.headers.p - 1 - r0.p)) : r0;
        }
    }
    const char *uri_c, *method_c;
    int rc = cstr(ar, ruri, &uri_c);
    if (rc == FLOE_OK) rc = cstr(ar, floe_sip_str_c(method), &method_c);
    if (rc != FLOE_OK) return rc;
    floe_sip_msg_request(out, method_c, uri_c);
    for (size_t i = first_route; i < d->n_route && rc == FLOE_OK; i++) {
        floe_sip_str v;
        floe_sip_str r = floe_sip_dialog_text(d, d->route[i]);
        rc = floe_sip_arena_put(ar, r.p, r.len, &v);
        if (rc == FLOE_OK) rc = add(out, "Route", v);
    }
    if (rc == FLOE_OK && strict) {
        floe_sip_str v;
        rc = addr_with_tag(ar, target, sip_str("", 0), &v);
        if (rc == FLOE_OK) rc = add(out, "Route", v);
    }
    floe_sip_str to, from, call_id, cseq;
    if (rc == FLOE_OK) rc = floe_sip_msg_add(out, FLOE_SIP_H_MAX_FORWARDS, "70");
    if (rc == FLOE_OK)
        rc = addr_with_tag(ar, floe_sip_dialog_text(d, d->remote_uri),
                           floe_sip_dialog_text(d, d->remote_tag), &to);
    if (rc == FLOE_OK)
        rc = addr_with_tag(ar, floe_sip_dialog_text(d, d->local_uri),
                           floe_sip_dialog_text(d, d->local_tag), &from);
    floe_sip_str cid = floe_sip_dialog_text(d, d->call_id);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, cid.p, cid.len, &call_id);
    if (rc == FLOE_OK) {
        size_t start = ar->len;
        rc = floe_sip_arena_u64(ar, seq, NULL);
        if (rc == FLOE_OK) rc = floe_sip_arena_cat(ar, NULL, " ", method, NULL);
        cseq = sip_str(ar->buf + start, ar->len - start);
    }
    if (rc == FLOE_OK) rc = add(out, "To", to);
    if (rc == FLOE_OK) rc = add(out, "From", from);
    if (rc == FLOE_OK) rc = add(out, "Call-ID", call_id);
    if (rc == FLOE_OK) rc = add(out, "CSeq", cseq);
    return rc;
}

int floe_sip_dialog_request(floe_sip_dialog *d, const char *method, floe_sip_msg *out,
                            floe_sip_arena *ar) {
    if (!d || !method) return FLOE_ERR_INVAL;
    if (strcmp(method, "ACK") == 0 || strcmp(method, "CANCEL") == 0) return FLOE_ERR_INVAL;
    /* RFC 3261 §12.2.1.1: one more than the last; an empty number starts at 1 (below
     * 2^31 as §8.1.1.5 asks). */
    uint32_t seq = d->local_cseq_set ? d->local_cseq + 1 : 1;
    int rc = build(d, method, seq, out, ar);
    if (rc != FLOE_OK) return rc;
    d->local_cseq = seq;
    d->local_cseq_set = true;
    if (strcmp(method, "INVITE") == 0) d->invite_cseq = seq;
    return FLOE_OK;
}

int floe_sip_dialog_ack(const floe_sip_dialog *d, uint32_t invite_cseq, floe_sip_msg *out,
                        floe_sip_arena *ar) {
    return build(d, "ACK", invite_cseq, out, ar);
}
