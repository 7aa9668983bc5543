/* Building messages: the text arena, request and response skeletons, header fields,
 * and the response to a request (RFC 3261 §8.2.6.2). */
#include <stdarg.h>
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* ---- arena --------------------------------------------------------------------------- */

void floe_sip_arena_init(floe_sip_arena *a, char *buf, size_t cap) {
    a->buf = buf;
    a->cap = buf ? cap : 0;
    a->len = 0;
}

int floe_sip_arena_put(floe_sip_arena *a, const char *p, size_t n, floe_sip_str *out) {
    if (!a || (!p && n)) return FLOE_ERR_INVAL;
    if (a->cap - a->len < n) return FLOE_ERR_NOSPACE;
    char *dst = a->buf + a->len;
    if (n) memcpy(dst, p, n);
    a->len += n;
    if (out) *out = sip_str(dst, n);
    return FLOE_OK;
}

int floe_sip_arena_u64(floe_sip_arena *a, uint64_t v, floe_sip_str *out) {
    char tmp[24];
    sip_out o = {tmp, sizeof tmp, 0, false};
    sip_out_u64(&o, v);
    return floe_sip_arena_put(a, tmp, o.len, out);
}

int floe_sip_arena_cat(floe_sip_arena *a, floe_sip_str *out, ...) {
    if (!a) return FLOE_ERR_INVAL;
    size_t start = a->len;
    va_list ap;
    va_start(ap, out);
    const char *s;
    int rc = FLOE_OK;
    while ((s = va_arg(ap, const char *)) != NULL) {
        rc = floe_sip_arena_put(a, s, strlen(s), NULL);
        if (rc != FLOE_OK) break;
    }
    va_end(ap);
    if (rc != FLOE_OK) {
        a->len = start;
        return rc;
    }
    if (out) *out = sip_str(a->buf + start, a->len - start);
    return FLOE_OK;
}

/* ---- skeletons ------------------------------------------------------------------------ */

void floe_sip_msg_request(floe_sip_msg *m, const char *method, const char *uri) {
    memset(m, 0, sizeof *m);
    m->request = true;
    m->method = floe_sip_str_c(method);
    m->method_id = floe_sip_method_id(m->method);
    m->uri = floe_sip_str_c(uri);
}

void floe_sip_msg_response(floe_sip_msg *m, unsigned status, const char *reason) {
    memset(m, 0, sizeof *m);
    m->status = status;
    m->reason = floe_sip_str_c(reason ? reason : floe_sip_status_phrase(status));
}

const char *floe_sip_status_phrase(unsigned status) {
    switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    }
    return "";
}

/* ---- header fields ---------------------------------------------------------------------- */

int floe_sip_msg_add_str(floe_sip_msg *m, floe_sip_str name, floe_sip_str value) {
    if (!m || !name.p || !name.len || (!value.p && value.len)) return FLOE_ERR_INVAL;
    if (m->n_hdr >= FLOE_SIP_MAX_HEADERS) return FLOE_ERR_LIMIT;
    floe_sip_hdr *h = &m->hdr[m->n_hdr++];
    h->id = floe_sip_hdr_lookup(name);
    h->name = name;
    h->value = value.p ? value : sip_str("", 0);
    h->line = 0;
    return FLOE_OK;
}

int floe_sip_msg_add(floe_sip_msg *m, floe_sip_hdr_id id, const char *value) {
    const char *name = floe_sip_hdr_name(id);
    if (!name || !value) return FLOE_ERR_INVAL;
    return floe_sip_msg_add_str(m, floe_sip_str_c(name), floe_sip_str_c(value));
}

void floe_sip_msg_set_body(floe_sip_msg *m, const char *p, size_t n) {
    m->body = sip_str(p, p ? n : 0);
}

/* ---- responses ------------------------------------------------------------------------- */

static int copy_all(floe_sip_msg *resp, const floe_sip_msg *req, floe_sip_hdr_id id) {
    for (const floe_sip_hdr *h = NULL; (h = floe_sip_msg_find(req, id, h));) {
        int rc = floe_sip_msg_add_str(resp, floe_sip_str_c(floe_sip_hdr_name(id)), h->value);
        if (rc != FLOE_OK) return rc;
    }
    return FLOE_OK;
}

int floe_sip_msg_response_to(floe_sip_msg *resp, const floe_sip_msg *req, unsigned status,
                             const char *reason, const char *to_tag, floe_sip_arena *ar) {
    if (!resp || !req || !req->request || status < 100 || status > 699) return FLOE_ERR_INVAL;
    floe_sip_msg_response(resp, status, reason);
    int rc = copy_all(resp, req, FLOE_SIP_H_VIA);
    if (rc == FLOE_OK) rc = copy_all(resp, req, FLOE_SIP_H_FROM);
    if (rc != FLOE_OK) return rc;

    const floe_sip_hdr *to = floe_sip_msg_find(req, FLOE_SIP_H_TO, NULL);
    if (!to) return FLOE_ERR_INVAL;
    floe_sip_str to_value = to->value;
    floe_sip_addr a;
    if (to_tag && status != 100 && floe_sip_addr_parse(to->value, &a) == FLOE_OK && !a.tag.p) {
        if (!ar || !sip_token(to_tag, strlen(to_tag))) return FLOE_ERR_INVAL;
        size_t start = ar->len;
        rc = floe_sip_arena_put(ar, to->value.p, to->value.len, NULL);
        if (rc == FLOE_OK) rc = floe_sip_arena_cat(ar, NULL, ";tag=", to_tag, NULL);
        if (rc != FLOE_OK) {
            ar->len = start;
            return rc;
        }
        to_value = sip_str(ar->buf + start, ar->len - start);
    }
    rc = floe_sip_msg_add_str(resp, floe_sip_str_c("To"), to_value);
    if (rc == FLOE_OK) rc = copy_all(resp, req, FLOE_SIP_H_CALL_ID);
    if (rc == FLOE_OK) rc = copy_all(resp, req, FLOE_SIP_H_CSEQ);
    bool dialog = req->method_id == FLOE_SIP_INVITE || req->method_id == FLOE_SIP_SUBSCRIBE ||
                  req->method_id == FLOE_SIP_REFER;
    if (rc == FLOE_OK && dialog && status > 100 && status < 300)
        rc = copy_all(resp, req, FLOE_SIP_H_RECORD_ROUTE);
    if (rc == FLOE_OK && status == 100) rc = copy_all(resp, req, FLOE_SIP_H_TIMESTAMP);
    return rc;
}
