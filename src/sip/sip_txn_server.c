/* Server transactions (RFC 3261 §17.2, RFC 6026 §7.1): a new request (received and rport
 * written into its top Via, RFC 3261 §18.2.1 and RFC 3581 §4; where answers go,
 * §18.2.2), matching of retransmissions, ACKs and CANCELs (§17.2.3, §9.2), the TU's
 * answers, and the timers (100 Trying, G, H, I, J, L, floe's guards). */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"
#include "sip/sip_txn_priv.h"

/* ---- the top Via of a received request ---------------------------------------------------- */

static void out_param(sip_out *o, const floe_sip_param *p) {
    sip_out_c(o, ';');
    sip_out_s(o, p->name);
    if (!p->value.p) return;
    sip_out_c(o, '=');
    if (p->quoted) sip_out_c(o, '"');
    sip_out_s(o, p->value);
    if (p->quoted) sip_out_c(o, '"');
}

/* The top Via value `item` (parsed as v) with received and rport written for a request
 * from `from` (RFC 3261 §18.2.1, RFC 3581 §4), into buf. */
static int via_with_source(floe_sip_str item, const floe_sip_via *v, const floe_addr *from,
                           char *buf, size_t cap, floe_sip_str *out) {
    sip_out o = {buf, cap, 0, false};
    size_t head = v->params.p ? (size_t)(v->params.p - item.p) : item.len;
    sip_out_s(&o, sip_trim(sip_str(item.p, head)));
    bool same_ip = v->addr.family != FLOE_AF_NONE && floe_addr_ip_equal(&v->addr, from);
    bool want_received = v->rport || !same_ip;
    floe_addr ip = *from;
    ip.scope_id = 0;
    char text[FLOE_ADDR_STRLEN];
    floe_addr_format(&ip, false, text, sizeof text);
    /* received goes just before rport when there is one (as in RFC 3581 §4), else last;
     * a received or rport the sender put there is replaced. */
    size_t pos = 0;
    floe_sip_param p;
    while (floe_sip_params_next(v->params, &pos, &p)) {
        if (sip_ieq(p.name.p, p.name.len, "received")) continue;
        if (sip_ieq(p.name.p, p.name.len, "rport")) {
            if (want_received) {
                sip_out_cstr(&o, ";received=");
                sip_out_cstr(&o, text);
                want_received = false;
            }
            sip_out_cstr(&o, ";rport=");
            sip_out_u64(&o, from->port);
            continue;
        }
        out_param(&o, &p);
    }
    if (want_received) {
        sip_out_cstr(&o, ";received=");
        sip_out_cstr(&o, text);
    }
    size_t n;
    int rc = sip_out_finish(&o, &n);
    if (rc == FLOE_OK) *out = sip_str(buf, n);
    return rc;
}

/* Prints m with its top Via rewritten into t->scratch and parses that into t->work2. */
static int rewrite(floe_sip_txl *t, const floe_sip_msg *m, const floe_sip_via *v,
                   const floe_addr *from, size_t *len) {
    const floe_sip_hdr *h = floe_sip_msg_find(m, FLOE_SIP_H_VIA, NULL);
    size_t pos = 0;
    floe_sip_str item;
    if (!h || !sip_list_next(h->value, &pos, &item)) return FLOE_ERR_MALFORMED;
    floe_sip_str top;
    int rc = via_with_source(item, v, from, t->scratch2, t->max_msg, &top);
    if (rc != FLOE_OK) return rc;
    size_t at = (size_t)(h - m->hdr);
    t->work = *m;
    t->work.hdr[at].value = top;
    floe_sip_str rest = pos < h->value.len ? sip_trim(sip_str(h->value.p + pos, h->value.len - pos))
                                           : sip_str(NULL, 0);
    if (rest.len) {
        /* The other values of that field stay, as a field of their own. */
        if (t->work.n_hdr >= FLOE_SIP_MAX_HEADERS) return FLOE_ERR_LIMIT;
        memmove(&t->work.hdr[at + 2], &t->work.hdr[at + 1],
                (t->work.n_hdr - at - 1) * sizeof t->work.hdr[0]);
        t->work.n_hdr++;
        t->work.hdr[at + 1] = *h;
        t->work.hdr[at + 1].value = rest;
    }
    rc = sip_txl_print_checked(t, &t->work, t->scratch, t->max_msg, len);
    if (rc != FLOE_OK) return rc;
    return floe_sip_parse(t->scratch, *len, 0, &t->work2, NULL, NULL);
}

/* Where answers to a request with top Via v from `from` go (RFC 3261 §18.2.2 with
 * RFC 3581 §4; maddr is not supported). */
static floe_addr answer_to(floe_transport tp, const floe_sip_via *v, const floe_addr *from) {
    floe_addr to = *from;
    if (floe_transport_reliable(tp) || v->rport) return to;
    to.port = v->has_port ? v->port : FLOE_SIP_PORT;
    return to;
}

/* ---- matching ------------------------------------------------------------------------------ */

static bool same_sent_by(const sip_txn *x, const floe_sip_via *v) {
    if (x->sent_by_len != v->host.len || x->sent_by_port != (v->has_port ? v->port : 0))
        return false;
    for (size_t i = 0; i < v->host.len; i++)
        if (sip_lower((unsigned char)v->host.p[i]) != (unsigned char)x->sent_by[i]) return false;
    return true;
}

/* The server transaction with v's branch and sent-by whose method is `method`, or for
 * an ACK the INVITE one (RFC 3261 §17.2.3). */
static sip_txn *match(floe_sip_txl *t, const floe_sip_via *v, floe_sip_str method, bool ack) {
    for (unsigned i = 0; i < t->max_txns; i++) {
        sip_txn *x = &t->txns[i];
        if (!x->used || (x->kind != FLOE_SIP_TXN_IST && x->kind != FLOE_SIP_TXN_NIST)) continue;
        if (x->branch_len != v->branch.len || memcmp(x->branch, v->branch.p, v->branch.len) != 0 ||
            !same_sent_by(x, v))
            continue;
        if (ack ? x->kind == FLOE_SIP_TXN_IST : sip_txn_method_is(x, method)) return x;
    }
    return NULL;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void request_event(floe_sip_txl *t, floe_time_ns now, floe_transport tp,
                          const floe_addr *from, uint32_t id, uint32_t target,
                          floe_sip_txn_kind kind, floe_sip_method method, size_t len) {
    sip_event_hdr h;
    memset(&h, 0, sizeof h);
    h.type = FLOE_SIP_TXL_EV_REQUEST;
    h.at = now;
    h.id = id;
    h.target = target;
    h.kind = kind;
    h.method = method;
    h.tp = tp;
    h.peer = *from;
    sip_txl_queue_event(t, &h, t->scratch, len);
    t->stats.rx_requests++;
}

/* An ACK no transaction takes, or one an Accepted INVITE transaction passes up. */
static int ack_up(floe_sip_txl *t, floe_time_ns now, floe_transport tp, const floe_addr *from,
                  const floe_sip_via *v, uint32_t target) {
    size_t len;
    int rc = rewrite(t, &t->in, v, from, &len);
    if (rc != FLOE_OK) {
        t->stats.drop_too_big++;
        return rc;
    }
    if (!sip_txl_event_room(t, len)) {
        t->stats.drop_event_full++;
        return FLOE_ERR_LIMIT;
    }
    request_event(t, now, tp, from, 0, target, FLOE_SIP_TXN_IST, FLOE_SIP_ACK, len);
    return FLOE_OK;
}

/* Answers the request in t->work2 with 503 outside any transaction (RFC 3261 §21.5.4). */
static void busy(floe_sip_txl *t, floe_transport tp, const floe_addr *to) {
    t->stats.busy++;
    size_t n;
    if (floe_sip_msg_response_to(&t->work, &t->work2, 503, NULL, NULL, NULL) == FLOE_OK &&
        sip_txl_print_checked(t, &t->work, t->scratch2, t->max_msg, &n) == FLOE_OK)
        sip_txl_queue_send(t, t->scratch2, n, tp, to, false);
}

/* A request that matches transaction x. */
static int on_match(floe_sip_txl *t, floe_time_ns now, floe_transport tp, const floe_addr *from,
                    sip_txn *x, const floe_sip_via *v, bool ack) {
    if (ack) {
        if (x->state == FLOE_SIP_TXN_ACCEPTED) /* RFC 6026 §7.1: the TU's business */
            return ack_up(t, now, tp, from, v, sip_txn_id(t, x));
        t->stats.rx_request_retrans++;
        floe_sip_txn_state before = x->state;
        if (sip_txl_step(t, x, FLOE_SIP_TXN_EV_ACK) == FLOE_SIP_TXN_CONFIRMED &&
            before == FLOE_SIP_TXN_COMPLETED) {
            x->retx_at = FLOE_TIME_NEVER;                        /* G stops, H too */
            x->end_at = now + (sip_txn_reliable(x) ? 0 : t->t4); /* I */
            if (x->end_at == now) sip_txl_step(t, x, FLOE_SIP_TXN_EV_WAIT_TIMER);
        }
        return FLOE_OK;
    }
    t->stats.rx_request_retrans++;
    sip_txl_step(t, x, FLOE_SIP_TXN_EV_REQUEST);
    bool resend = x->state == FLOE_SIP_TXN_PROCEEDING || x->state == FLOE_SIP_TXN_COMPLETED;
    if (resend && x->aux_len) sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, true);
    return FLOE_OK;
}

int sip_server_on_request(floe_sip_txl *t, floe_time_ns now, floe_transport tp,
                          const floe_addr *from, const floe_sip_msg *m) {
    floe_sip_via v;
    if (floe_sip_msg_top_via(m, &v) != FLOE_OK) {
        t->stats.drop_via++;
        return FLOE_ERR_MALFORMED;
    }
    if (!floe_sip_branch_is_rfc3261(v.branch)) {
        t->stats.drop_no_cookie++; /* RFC 2543 matching is not implemented */
        return FLOE_ERR_UNSUPPORTED;
    }
    if (v.branch.len > FLOE_SIP_BRANCH_MAX || v.host.len > FLOE_SIP_SENT_BY_MAX ||
        m->method.len > FLOE_SIP_METHOD_MAX) {
        t->stats.drop_via++;
        return FLOE_ERR_LIMIT;
    }
    bool ack = m->method_id == FLOE_SIP_ACK;
    sip_txn *x = match(t, &v, m->method, ack);
    if (x) return on_match(t, now, tp, from, x, &v, ack);
    if (ack) return ack_up(t, now, tp, from, &v, 0);

    size_t len;
    int rc = rewrite(t, m, &v, from, &len);
    if (rc != FLOE_OK) {
        t->stats.drop_too_big++;
        return rc;
    }
    floe_addr to = answer_to(tp, &v, from);
    uint32_t target = 0;
    if (m->method_id == FLOE_SIP_CANCEL) {
        sip_txn *inv = match(t, &v, floe_sip_str_c("INVITE"), false);
        if (inv) target = sip_txn_id(t, inv);
    }
    bool invite = m->method_id == FLOE_SIP_INVITE;
    if (!sip_txl_event_room(t, len)) {
        busy(t, tp, &to);
        return FLOE_ERR_LIMIT;
    }
    x = sip_txl_alloc(t, invite ? FLOE_SIP_TXN_IST : FLOE_SIP_TXN_NIST);
    if (!x) {
        busy(t, tp, &to);
        return FLOE_ERR_LIMIT;
    }
    sip_txn_set_method(x, m->method);
    memcpy(x->branch, v.branch.p, v.branch.len);
    x->branch_len = v.branch.len;
    for (size_t i = 0; i < v.host.len; i++)
        x->sent_by[i] = (char)sip_lower((unsigned char)v.host.p[i]);
    x->sent_by_len = v.host.len;
    x->sent_by_port = v.has_port ? v.port : 0;
    x->tp = tp;
    x->peer = to;
    memcpy(x->msg, t->scratch, len);
    x->msg_len = len;
    if (invite) {
        x->retx_at = now + t->trying_delay; /* 100 Trying (§17.2.1) */
        x->end_at = now + t->timer_c;       /* floe's guard */
    } else {
        x->end_at = now + 64 * t->t1; /* floe's guard: Timer F's span */
    }
    request_event(t, now, tp, from, sip_txn_id(t, x), target, x->kind, x->method, len);
    return FLOE_OK;
}

/* ---- the TU's answers ---------------------------------------------------------------------- */

static floe_sip_txn_event event_of(unsigned status) {
    return status < 200   ? FLOE_SIP_TXN_EV_1XX
           : status < 300 ? FLOE_SIP_TXN_EV_2XX
                          : FLOE_SIP_TXN_EV_FINAL;
}

static bool is_server(const sip_txn *x) {
    return x->kind == FLOE_SIP_TXN_IST || x->kind == FLOE_SIP_TXN_NIST;
}

int floe_sip_txl_respond(floe_sip_txl *t, floe_time_ns now, uint32_t id, const floe_sip_msg *resp) {
    sip_txn *x = sip_txl_find_id(t, id);
    if (!x) return FLOE_ERR_NOT_FOUND;
    if (!is_server(x) || !resp || resp->request) return FLOE_ERR_INVAL;
    floe_sip_txn_event ev = event_of(resp->status);
    bool open = x->state == FLOE_SIP_TXN_TRYING || x->state == FLOE_SIP_TXN_PROCEEDING ||
                (x->state == FLOE_SIP_TXN_ACCEPTED && ev == FLOE_SIP_TXN_EV_2XX);
    if (!open) return FLOE_ERR_STATE;
    size_t n;
    int rc = sip_txl_print_checked(t, resp, t->scratch, t->max_msg, &n);
    if (rc != FLOE_OK) return rc;
    memcpy(x->aux, t->scratch, n);
    x->aux_len = n;
    x->status = resp->status;
    sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, false);
    floe_sip_txn_state before = x->state;
    floe_sip_txn_state s = sip_txl_step(t, x, ev);
    switch (s) {
    case FLOE_SIP_TXN_PROCEEDING:
        if (x->kind == FLOE_SIP_TXN_IST) {
            x->retx_at = FLOE_TIME_NEVER; /* no 100 Trying of ours any more */
            x->end_at = now + t->timer_c; /* the guard starts again */
        }
        break;
    case FLOE_SIP_TXN_ACCEPTED:
        if (before != FLOE_SIP_TXN_ACCEPTED) {
            x->retx_at = FLOE_TIME_NEVER;
            x->end_at = now + 64 * t->t1; /* L */
        }
        break;
    case FLOE_SIP_TXN_COMPLETED:
        if (x->kind == FLOE_SIP_TXN_IST) {
            x->retx_gap = t->t1;
            x->retx_at = sip_txn_reliable(x) ? FLOE_TIME_NEVER : now + t->t1; /* G */
            x->end_at = now + 64 * t->t1;                                     /* H */
        } else {
            x->retx_at = FLOE_TIME_NEVER;
            x->end_at = now + (sip_txn_reliable(x) ? 0 : 64 * t->t1); /* J */
            if (x->end_at == now) sip_txl_step(t, x, FLOE_SIP_TXN_EV_WAIT_TIMER);
        }
        break;
    default: break;
    }
    return FLOE_OK;
}

int floe_sip_txl_resend(floe_sip_txl *t, floe_time_ns now, uint32_t id) {
    (void)now;
    sip_txn *x = sip_txl_find_id(t, id);
    if (!x) return FLOE_ERR_NOT_FOUND;
    if (!is_server(x)) return FLOE_ERR_INVAL;
    if (!x->aux_len || (x->state != FLOE_SIP_TXN_PROCEEDING && x->state != FLOE_SIP_TXN_ACCEPTED))
        return FLOE_ERR_STATE;
    if (!sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, true)) return FLOE_ERR_LIMIT;
    return FLOE_OK;
}

/* ---- timers --------------------------------------------------------------------------------- */

/* The 100 Trying the IST owes when the TU has not answered in 200 ms (§17.2.1). */
static void send_trying(floe_sip_txl *t, sip_txn *x) {
    size_t n;
    if (x->status != 0 || floe_sip_parse(x->msg, x->msg_len, 0, &t->work2, NULL, NULL) != FLOE_OK ||
        floe_sip_msg_response_to(&t->work, &t->work2, 100, NULL, NULL, NULL) != FLOE_OK ||
        sip_txl_print_checked(t, &t->work, x->aux, t->max_msg, &n) != FLOE_OK)
        return;
    x->aux_len = n;
    x->status = 100;
    sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, false);
}

void sip_server_timer(floe_sip_txl *t, sip_txn *x, floe_time_ns at, bool retx) {
    if (retx) {
        sip_txl_step(t, x, FLOE_SIP_TXN_EV_RETX_TIMER);
        if (x->state == FLOE_SIP_TXN_PROCEEDING) {
            send_trying(t, x);
            x->retx_at = FLOE_TIME_NEVER;
        } else { /* G */
            sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, true);
            x->retx_gap = 2 * x->retx_gap < t->t2 ? 2 * x->retx_gap : t->t2;
            x->retx_at = at + x->retx_gap;
        }
        return;
    }
    bool timeout = x->state == FLOE_SIP_TXN_TRYING || x->state == FLOE_SIP_TXN_PROCEEDING ||
                   (x->kind == FLOE_SIP_TXN_IST && x->state == FLOE_SIP_TXN_COMPLETED);
    char timer = x->kind == FLOE_SIP_TXN_NIST         ? 'F'
                 : x->state == FLOE_SIP_TXN_COMPLETED ? 'H'
                                                      : 'C';
    sip_txl_step(t, x, timeout ? FLOE_SIP_TXN_EV_TIMEOUT_TIMER : FLOE_SIP_TXN_EV_WAIT_TIMER);
    if (timeout) sip_txl_queue_end(t, x, at, FLOE_SIP_TXL_EV_TIMEOUT, timer);
}
