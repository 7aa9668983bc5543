/* SIP dialogs (RFC 3261 §12): creation on the UAC and UAS sides, the dialog ID and
 * matching, CSeq order, target refresh, confirmation, and the dialog's text store. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_dialog_priv.h"
#include "sip/sip_internal.h"

/* ---- text ------------------------------------------------------------------------------- */

floe_sip_str floe_sip_dialog_text(const floe_sip_dialog *d, floe_sip_dtext t) {
    return sip_str(d->text + t.off, t.len);
}

/* Rewrites the text with only the slices in use, in field order. */
static void compact(floe_sip_dialog *d) {
    char tmp[FLOE_SIP_DIALOG_TEXT];
    uint16_t n = 0;
    floe_sip_dtext *fields[6 + FLOE_SIP_DIALOG_MAX_ROUTES] = {&d->call_id,    &d->local_tag,
                                                              &d->remote_tag, &d->local_uri,
                                                              &d->remote_uri, &d->remote_target};
    size_t k = 6;
    for (unsigned i = 0; i < d->n_route; i++)
        fields[k++] = &d->route[i];
    for (size_t i = 0; i < k; i++) {
        memcpy(tmp + n, d->text + fields[i]->off, fields[i]->len);
        fields[i]->off = n;
        n = (uint16_t)(n + fields[i]->len);
    }
    memcpy(d->text, tmp, n);
    d->text_len = n;
}

int sip_dialog_put(floe_sip_dialog *d, floe_sip_str s, floe_sip_dtext *out) {
    if (s.len > FLOE_SIP_DIALOG_TEXT) return FLOE_ERR_LIMIT;
    if (s.len > (size_t)(FLOE_SIP_DIALOG_TEXT - d->text_len)) {
        /* Only the fields not being replaced count: drop out's old slice first. */
        out->len = 0;
        compact(d);
        if (s.len > (size_t)(FLOE_SIP_DIALOG_TEXT - d->text_len)) return FLOE_ERR_LIMIT;
    }
    if (s.len) memmove(d->text + d->text_len, s.p, s.len);
    out->off = d->text_len;
    out->len = (uint16_t)s.len;
    d->text_len = (uint16_t)(d->text_len + s.len);
    return FLOE_OK;
}

static int put_c(floe_sip_dialog *d, const char *s, floe_sip_dtext *out) {
    return sip_dialog_put(d, floe_sip_str_c(s ? s : ""), out);
}

/* ---- reading messages ---------------------------------------------------------------------------
 */

bool sip_dialog_addr_uri(floe_sip_str value, floe_sip_str *uri) {
    floe_sip_addr a;
    if (floe_sip_addr_parse(value, &a) != FLOE_OK || a.star || !a.uri.p) return false;
    *uri = a.uri;
    return true;
}

int sip_dialog_contact(const floe_sip_msg *m, floe_sip_str *uri) {
    floe_sip_iter it = {0, 0};
    floe_sip_addr a;
    if (floe_sip_msg_next_addr(m, FLOE_SIP_H_CONTACT, &it, &a) != FLOE_OK || a.star || !a.uri.p)
        return FLOE_ERR_MALFORMED;
    *uri = a.uri;
    return FLOE_OK;
}

int sip_dialog_set_routes(floe_sip_dialog *d, const floe_sip_msg *m, bool reverse) {
    floe_sip_str values[FLOE_SIP_DIALOG_MAX_ROUTES];
    size_t n = 0;
    floe_sip_iter it = {0, 0};
    floe_sip_str v;
    while (floe_sip_msg_next_value(m, FLOE_SIP_H_RECORD_ROUTE, &it, &v) == FLOE_OK) {
        floe_sip_str uri;
        if (!sip_dialog_addr_uri(v, &uri)) return FLOE_ERR_MALFORMED;
        if (n == FLOE_SIP_DIALOG_MAX_ROUTES) return FLOE_ERR_LIMIT;
        values[n++] = v;
    }
    d->n_route = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = sip_dialog_put(d, values[reverse ? n - 1 - i : i], &d->route[i]);
        if (rc != FLOE_OK) return rc;
        d->n_route = (unsigned)i + 1;
    }
    return FLOE_OK;
}

static bool tag_of(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_str *tag,
                   floe_sip_str *uri) {
    floe_sip_addr a;
    int rc = id == FLOE_SIP_H_FROM ? floe_sip_msg_from(m, &a) : floe_sip_msg_to(m, &a);
    if (rc != FLOE_OK) return false;
    *tag = a.tag.p ? a.tag : sip_str("", 0);
    if (uri) *uri = a.uri;
    return true;
}

static bool secure(const floe_sip_msg *req, floe_transport tp) {
    floe_sip_uri u;
    return tp == FLOE_TRANSPORT_TLS &&
           floe_sip_uri_parse(req->uri.p, req->uri.len, &u) == FLOE_OK &&
           u.scheme == FLOE_SIP_SCHEME_SIPS;
}

/* ---- creation -------------------------------------------------------------------------------- */

int floe_sip_dialog_uac_new(floe_sip_dialog *d, const floe_sip_msg *req, const floe_sip_msg *resp,
                            floe_transport transport) {
    if (!d || !req || !resp || !req->request || resp->request || resp->status <= 100 ||
        resp->status >= 300)
        return FLOE_ERR_INVAL;
    floe_sip_str call_id, local_tag, remote_tag, local_uri, remote_uri, target;
    floe_sip_cseq cs;
    if (floe_sip_msg_call_id(req, &call_id) != FLOE_OK || floe_sip_msg_cseq(req, &cs) != FLOE_OK ||
        !tag_of(req, FLOE_SIP_H_FROM, &local_tag, &local_uri) ||
        !tag_of(resp, FLOE_SIP_H_TO, &remote_tag, NULL) ||
        !tag_of(req, FLOE_SIP_H_TO, &(floe_sip_str){0}, &remote_uri))
        return FLOE_ERR_INVAL;
    if (local_tag.len == 0) return FLOE_ERR_INVAL;
    bool early = resp->status < 200;
    if (early && remote_tag.len == 0) return FLOE_ERR_INVAL; /* no dialog without a tag */
    if (sip_dialog_contact(resp, &target) != FLOE_OK) {
        if (!early) return FLOE_ERR_MALFORMED;
        target = req->uri;
    }
    memset(d, 0, sizeof *d);
    d->uac = true;
    d->state = early ? FLOE_SIP_DIALOG_EARLY : FLOE_SIP_DIALOG_CONFIRMED;
    d->secure = secure(req, transport);
    d->local_cseq = cs.seq;
    d->local_cseq_set = true;
    if (cs.method_id == FLOE_SIP_INVITE) d->invite_cseq = cs.seq;
    int rc = sip_dialog_put(d, call_id, &d->call_id);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, local_tag, &d->local_tag);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, remote_tag, &d->remote_tag);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, local_uri, &d->local_uri);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, remote_uri, &d->remote_uri);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, target, &d->remote_target);
    if (rc == FLOE_OK) rc = sip_dialog_set_routes(d, resp, true);
    return rc;
}

int floe_sip_dialog_uas_new(floe_sip_dialog *d, const floe_sip_msg *req, const char *local_tag,
                            bool early, floe_transport transport) {
    if (!d || !req || !req->request || !local_tag || !*local_tag ||
        !sip_token(local_tag, strlen(local_tag)))
        return FLOE_ERR_INVAL;
    floe_sip_str call_id, remote_tag, remote_uri, local_uri, target;
    floe_sip_cseq cs;
    if (floe_sip_msg_call_id(req, &call_id) != FLOE_OK || floe_sip_msg_cseq(req, &cs) != FLOE_OK ||
        !tag_of(req, FLOE_SIP_H_FROM, &remote_tag, &remote_uri) ||
        !tag_of(req, FLOE_SIP_H_TO, &(floe_sip_str){0}, &local_uri))
        return FLOE_ERR_INVAL;
    if (sip_dialog_contact(req, &target) != FLOE_OK) return FLOE_ERR_MALFORMED;
    memset(d, 0, sizeof *d);
    d->uac = false;
    d->state = early ? FLOE_SIP_DIALOG_EARLY : FLOE_SIP_DIALOG_CONFIRMED;
    d->secure = secure(req, transport);
    d->remote_cseq = cs.seq;
    d->remote_cseq_set = true;
    if (cs.method_id == FLOE_SIP_INVITE) d->invite_cseq = cs.seq;
    int rc = sip_dialog_put(d, call_id, &d->call_id);
    if (rc == FLOE_OK) rc = put_c(d, local_tag, &d->local_tag);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, remote_tag, &d->remote_tag);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, local_uri, &d->local_uri);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, remote_uri, &d->remote_uri);
    if (rc == FLOE_OK) rc = sip_dialog_put(d, target, &d->remote_target);
    if (rc == FLOE_OK) rc = sip_dialog_set_routes(d, req, false);
    return rc;
}

/* ---- matching and updates ------------------------------------------------------------------- */

static bool same(const floe_sip_dialog *d, floe_sip_dtext t, floe_sip_str s) {
    return t.len == s.len && memcmp(d->text + t.off, s.p, s.len) == 0;
}

bool floe_sip_dialog_matches(const floe_sip_dialog *d, const floe_sip_msg *m) {
    floe_sip_str call_id, from_tag, to_tag;
    if (!d || !m || floe_sip_msg_call_id(m, &call_id) != FLOE_OK ||
        !tag_of(m, FLOE_SIP_H_FROM, &from_tag, NULL) || !tag_of(m, FLOE_SIP_H_TO, &to_tag, NULL))
        return false;
    if (!same(d, d->call_id, call_id)) return false;
    if (m->request) return same(d, d->local_tag, to_tag) && same(d, d->remote_tag, from_tag);
    return same(d, d->local_tag, from_tag) && same(d, d->remote_tag, to_tag);
}

static int refresh_target(floe_sip_dialog *d, const floe_sip_msg *m) {
    floe_sip_str target;
    if (sip_dialog_contact(m, &target) != FLOE_OK) return FLOE_OK; /* none: keep ours */
    return sip_dialog_put(d, target, &d->remote_target);
}

int floe_sip_dialog_uac_response(floe_sip_dialog *d, const floe_sip_msg *resp) {
    if (!d || !resp || resp->request) return FLOE_ERR_INVAL;
    if (!floe_sip_dialog_matches(d, resp)) return FLOE_ERR_NOT_FOUND;
    floe_sip_cseq cs;
    if (floe_sip_msg_cseq(resp, &cs) != FLOE_OK) return FLOE_ERR_INVAL;
    bool ok = resp->status >= 200 && resp->status < 300;
    bool invite = cs.method_id == FLOE_SIP_INVITE;
    int rc = FLOE_OK;
    if ((invite && resp->status > 100 && resp->status < 300) ||
        (ok && cs.method_id == FLOE_SIP_UPDATE))
        rc = refresh_target(d, resp);
    if (rc == FLOE_OK && invite && ok && d->state == FLOE_SIP_DIALOG_EARLY) {
        d->state = FLOE_SIP_DIALOG_CONFIRMED;
        rc = sip_dialog_set_routes(d, resp, true);
    }
    return rc;
}

void floe_sip_dialog_confirm(floe_sip_dialog *d) {
    if (d) d->state = FLOE_SIP_DIALOG_CONFIRMED;
}

int floe_sip_dialog_on_request(floe_sip_dialog *d, const floe_sip_msg *req) {
    if (!d || !req || !req->request) return FLOE_ERR_INVAL;
    if (!floe_sip_dialog_matches(d, req)) return FLOE_ERR_NOT_FOUND;
    if (req->method_id == FLOE_SIP_ACK || req->method_id == FLOE_SIP_CANCEL) return FLOE_OK;
    floe_sip_cseq cs;
    if (floe_sip_msg_cseq(req, &cs) != FLOE_OK) return FLOE_ERR_INVAL;
    if (d->remote_cseq_set && cs.seq < d->remote_cseq) return FLOE_ERR_STATE; /* 500 */
    d->remote_cseq = cs.seq;
    d->remote_cseq_set = true;
    if (req->method_id == FLOE_SIP_INVITE) d->invite_cseq = cs.seq;
    if (req->method_id == FLOE_SIP_INVITE || req->method_id == FLOE_SIP_UPDATE)
        return refresh_target(d, req);
    return FLOE_OK;
}
