/* Client transactions (RFC 3261 §17.1, RFC 6026 §8.4): starting one (our Via, the first
 * send, Timers A/E and B/F), CANCEL (§9.1), responses (matching by branch and CSeq
 * method, §17.1.3; the ACK of a non-2xx answer, §17.1.1.3) and the timers. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"
#include "sip/sip_txn_priv.h"

/* Timers of a transaction whose request just went out for the first time. */
static void start_timers(floe_sip_txl *t, sip_txn *x, floe_time_ns now) {
    x->retx_gap = t->t1;
    x->retx_at = sip_txn_reliable(x) ? FLOE_TIME_NEVER : now + t->t1; /* A, E */
    x->end_at = now + 64 * t->t1;                                     /* B, F */
}

static int set_branch(sip_txn *x, const char *branch) {
    size_t n = strlen(branch);
    if (n > sizeof x->branch) return FLOE_ERR_LIMIT;
    memcpy(x->branch, branch, n);
    x->branch_len = n;
    return FLOE_OK;
}

static bool transport_ok(floe_transport tp) {
    return tp == FLOE_TRANSPORT_UDP || tp == FLOE_TRANSPORT_TCP || tp == FLOE_TRANSPORT_TLS;
}

int floe_sip_txl_request(floe_sip_txl *t, floe_time_ns now, const floe_sip_msg *req,
                         floe_transport transport, const floe_addr *to, uint32_t *id) {
    if (!t || !req || !req->request || !to || to->family == FLOE_AF_NONE ||
        !transport_ok(transport) || t->cfg.local[transport].family == FLOE_AF_NONE)
        return FLOE_ERR_INVAL;
    floe_sip_method method = floe_sip_method_id(req->method);
    if (method == FLOE_SIP_ACK) return FLOE_ERR_INVAL; /* no transaction: floe_sip_txl_send */
    char branch[8 + 2 * FLOE_SIP_BRANCH_RANDOM];
    int rc = floe_sip_branch_new(t->cfg.rand, t->cfg.rand_ctx, branch, sizeof branch);
    if (rc != FLOE_OK) return rc;
    sip_txn *x = sip_txl_alloc(t, method == FLOE_SIP_INVITE ? FLOE_SIP_TXN_ICT : FLOE_SIP_TXN_NICT);
    if (!x) return FLOE_ERR_LIMIT;
    rc = sip_txn_set_method(x, req->method);
    if (rc == FLOE_OK) rc = set_branch(x, branch);
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, t->scratch2, t->max_msg);
    floe_sip_str via;
    if (rc == FLOE_OK) rc = sip_txl_our_via(t, transport, branch, &ar, &via);
    if (rc == FLOE_OK) rc = sip_txl_with_via(req, via, &t->work);
    if (rc == FLOE_OK) rc = sip_txl_print_checked(t, &t->work, x->msg, t->max_msg, &x->msg_len);
    if (rc != FLOE_OK) {
        t->stats.transactions--;
        sip_txl_release(t, x);
        return rc;
    }
    x->tp = transport;
    x->peer = *to;
    start_timers(t, x, now);
    sip_txl_queue_send(t, x->msg, x->msg_len, x->tp, &x->peer, false);
    if (id) *id = sip_txn_id(t, x);
    return FLOE_OK;
}

/* ---- CANCEL and ACK --------------------------------------------------------------------- */

/* Adds every value of the header fields with this id in `from` to m (as fields). */
static int copy_fields(floe_sip_msg *m, const floe_sip_msg *from, floe_sip_hdr_id id) {
    for (const floe_sip_hdr *h = NULL; (h = floe_sip_msg_find(from, id, h));) {
        int rc = floe_sip_msg_add_str(m, floe_sip_str_c(floe_sip_hdr_name(id)), h->value);
        if (rc != FLOE_OK) return rc;
    }
    return FLOE_OK;
}

/* The request RFC 3261 §9.1 (CANCEL) and §17.1.1.3 (ACK) build from the INVITE inv: its
 * Request-URI, top Via, Route, From, Call-ID and CSeq number, with To taken from `to`
 * (the INVITE's for CANCEL, the answer's for ACK). */
static int build_from_invite(floe_sip_txl *t, const floe_sip_msg *inv, const char *method,
                             floe_sip_str to, floe_sip_msg *out, floe_sip_arena *ar) {
    floe_sip_cseq cs;
    floe_sip_str via;
    floe_sip_iter it = {0, 0};
    if (floe_sip_msg_cseq(inv, &cs) != FLOE_OK ||
        floe_sip_msg_next_value(inv, FLOE_SIP_H_VIA, &it, &via) != FLOE_OK)
        return FLOE_ERR_INVAL;
    floe_sip_str uri, cseq, num;
    int rc = floe_sip_arena_put(ar, inv->uri.p, inv->uri.len, &uri);
    if (rc == FLOE_OK) rc = floe_sip_arena_u64(ar, cs.seq, &num);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, " ", 1, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_cat(ar, NULL, method, NULL);
    if (rc != FLOE_OK) return rc;
    cseq = sip_str(num.p, num.len + 1 + strlen(method));
    (void)t;
    memset(out, 0, sizeof *out);
    out->request = true;
    out->method = floe_sip_str_c(method);
    out->method_id = floe_sip_method_id(out->method);
    out->uri = uri;
    rc = floe_sip_msg_add_str(out, floe_sip_str_c("Via"), via);
    if (rc == FLOE_OK) rc = copy_fields(out, inv, FLOE_SIP_H_ROUTE);
    if (rc == FLOE_OK) rc = floe_sip_msg_add(out, FLOE_SIP_H_MAX_FORWARDS, "70");
    if (rc == FLOE_OK) rc = copy_fields(out, inv, FLOE_SIP_H_FROM);
    if (rc == FLOE_OK) rc = floe_sip_msg_add_str(out, floe_sip_str_c("To"), to);
    if (rc == FLOE_OK) rc = copy_fields(out, inv, FLOE_SIP_H_CALL_ID);
    if (rc == FLOE_OK) rc = floe_sip_msg_add_str(out, floe_sip_str_c("CSeq"), cseq);
    return rc;
}

int floe_sip_txl_cancel(floe_sip_txl *t, floe_time_ns now, uint32_t invite_id, uint32_t *id) {
    sip_txn *x = sip_txl_find_id(t, invite_id);
    if (!x) return FLOE_ERR_NOT_FOUND;
    if (x->kind != FLOE_SIP_TXN_ICT) return FLOE_ERR_INVAL;
    if (x->state != FLOE_SIP_TXN_PROCEEDING) return FLOE_ERR_STATE;
    if (floe_sip_parse(x->msg, x->msg_len, 0, &t->work2, NULL, NULL) != FLOE_OK)
        return FLOE_ERR_INVAL;
    const floe_sip_hdr *to = floe_sip_msg_find(&t->work2, FLOE_SIP_H_TO, NULL);
    if (!to) return FLOE_ERR_INVAL;
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, t->scratch2, t->max_msg);
    int rc = build_from_invite(t, &t->work2, "CANCEL", to->value, &t->work, &ar);
    if (rc != FLOE_OK) return rc;
    sip_txn *y = sip_txl_alloc(t, FLOE_SIP_TXN_NICT);
    if (!y) return FLOE_ERR_LIMIT;
    sip_txn_set_method(y, floe_sip_str_c("CANCEL"));
    memcpy(y->branch, x->branch, x->branch_len);
    y->branch_len = x->branch_len;
    rc = sip_txl_print_checked(t, &t->work, y->msg, t->max_msg, &y->msg_len);
    if (rc != FLOE_OK) {
        t->stats.transactions--;
        sip_txl_release(t, y);
        return rc;
    }
    y->tp = x->tp;
    y->peer = x->peer;
    start_timers(t, y, now);
    sip_txl_queue_send(t, y->msg, y->msg_len, y->tp, &y->peer, false);
    if (id) *id = sip_txn_id(t, y);
    return FLOE_OK;
}

/* Builds the ACK of the non-2xx answer resp into x->aux (RFC 3261 §17.1.1.3). */
static void build_ack(floe_sip_txl *t, sip_txn *x, const floe_sip_msg *resp) {
    x->aux_len = 0;
    const floe_sip_hdr *to = floe_sip_msg_find(resp, FLOE_SIP_H_TO, NULL);
    if (!to || floe_sip_parse(x->msg, x->msg_len, 0, &t->work2, NULL, NULL) != FLOE_OK) return;
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, t->scratch2, t->max_msg);
    if (build_from_invite(t, &t->work2, "ACK", to->value, &t->work, &ar) != FLOE_OK) return;
    if (sip_txl_print_checked(t, &t->work, x->aux, t->max_msg, &x->aux_len) != FLOE_OK)
        x->aux_len = 0;
}

/* ---- responses ---------------------------------------------------------------------------- */

static sip_txn *match(floe_sip_txl *t, floe_sip_str branch, floe_sip_str method) {
    for (unsigned i = 0; i < t->max_txns; i++) {
        sip_txn *x = &t->txns[i];
        if (!x->used || (x->kind != FLOE_SIP_TXN_ICT && x->kind != FLOE_SIP_TXN_NICT)) continue;
        if (x->branch_len == branch.len && memcmp(x->branch, branch.p, branch.len) == 0 &&
            sip_txn_method_is(x, method))
            return x;
    }
    return NULL;
}

static floe_sip_txn_event event_of(unsigned status) {
    return status < 200   ? FLOE_SIP_TXN_EV_1XX
           : status < 300 ? FLOE_SIP_TXN_EV_2XX
                          : FLOE_SIP_TXN_EV_FINAL;
}

/* Whether the response reaches the TU in state s (else the transaction absorbs it). */
static bool passed_up(const sip_txn *x, floe_sip_txn_event ev) {
    switch (x->state) {
    case FLOE_SIP_TXN_CALLING:
    case FLOE_SIP_TXN_TRYING:
    case FLOE_SIP_TXN_PROCEEDING: return true;
    /* RFC 6026 §8.4: every 2xx in Accepted goes up; the TU acknowledges each. */
    case FLOE_SIP_TXN_ACCEPTED: return ev == FLOE_SIP_TXN_EV_2XX;
    default: return false;
    }
}

int sip_client_on_response(floe_sip_txl *t, floe_time_ns now, floe_transport tp,
                           const floe_addr *from, const floe_sip_msg *m, const char *p,
                           size_t len) {
    floe_sip_via via;
    floe_sip_cseq cs;
    if (floe_sip_msg_count(m, FLOE_SIP_H_VIA) != 1 || floe_sip_msg_top_via(m, &via) != FLOE_OK ||
        !via.branch.p || floe_sip_msg_cseq(m, &cs) != FLOE_OK) {
        t->stats.drop_via++;
        return FLOE_ERR_MALFORMED;
    }
    sip_txn *x = match(t, via.branch, cs.method);
    if (!x) {
        t->stats.drop_unmatched++;
        return FLOE_ERR_NOT_FOUND;
    }
    floe_sip_txn_event ev = event_of(m->status);
    if (!passed_up(x, ev)) {
        /* A retransmitted final answer in Completed gets the ACK again (§17.1.1.2). */
        if (x->kind == FLOE_SIP_TXN_ICT && x->state == FLOE_SIP_TXN_COMPLETED &&
            ev == FLOE_SIP_TXN_EV_FINAL && x->aux_len)
            sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, true);
        t->stats.rx_response_retrans++;
        return FLOE_OK;
    }
    if (!sip_txl_event_room(t, len)) {
        /* As if the network had lost it: the peer's retransmissions bring it again. */
        t->stats.drop_event_full++;
        return FLOE_ERR_LIMIT;
    }
    sip_event_hdr h;
    memset(&h, 0, sizeof h);
    h.type = FLOE_SIP_TXL_EV_RESPONSE;
    h.at = now;
    h.id = sip_txn_id(t, x);
    h.kind = x->kind;
    h.method = x->method;
    h.status = m->status;
    h.tp = tp;
    h.peer = *from;
    sip_txl_queue_event(t, &h, p, len);
    t->stats.rx_responses++;
    x->status = m->status;

    floe_sip_txn_state before = x->state;
    if (x->kind == FLOE_SIP_TXN_ICT && ev == FLOE_SIP_TXN_EV_FINAL) build_ack(t, x, m);
    floe_sip_txn_state s = sip_txl_step(t, x, ev);
    if (s == before && s != FLOE_SIP_TXN_PROCEEDING) return FLOE_OK;
    switch (s) {
    case FLOE_SIP_TXN_PROCEEDING:
        if (x->kind == FLOE_SIP_TXN_ICT) {
            x->retx_at = FLOE_TIME_NEVER; /* A stops (§17.1.1.2) */
            x->end_at = now + t->timer_c; /* B gives way to floe's guard, restarted */
        }
        break; /* NICT: E goes on (at T2 once it next fires), F stays */
    case FLOE_SIP_TXN_ACCEPTED:
        x->retx_at = FLOE_TIME_NEVER;
        x->end_at = now + 64 * t->t1; /* M (RFC 6026 §8.4) */
        break;
    case FLOE_SIP_TXN_COMPLETED:
        x->retx_at = FLOE_TIME_NEVER;
        if (x->kind == FLOE_SIP_TXN_ICT) {
            if (x->aux_len) sip_txl_queue_send(t, x->aux, x->aux_len, x->tp, &x->peer, false);
            x->end_at = now + (sip_txn_reliable(x) ? 0 : t->timer_d); /* D */
        } else {
            x->end_at = now + (sip_txn_reliable(x) ? 0 : t->t4); /* K */
        }
        if (x->end_at == now) sip_txl_step(t, x, FLOE_SIP_TXN_EV_WAIT_TIMER);
        break;
    default: break;
    }
    return FLOE_OK;
}

/* ---- timers --------------------------------------------------------------------------------- */

void sip_client_timer(floe_sip_txl *t, sip_txn *x, floe_time_ns at, bool retx) {
    if (retx) {
        sip_txl_step(t, x, FLOE_SIP_TXN_EV_RETX_TIMER);
        sip_txl_queue_send(t, x->msg, x->msg_len, x->tp, &x->peer, true);
        if (x->kind == FLOE_SIP_TXN_ICT)
            x->retx_gap *= 2; /* A: doubling without a cap (§17.1.1.2) */
        else if (x->state == FLOE_SIP_TXN_TRYING)
            x->retx_gap = 2 * x->retx_gap < t->t2 ? 2 * x->retx_gap : t->t2; /* E */
        else
            x->retx_gap = t->t2; /* E in Proceeding */
        x->retx_at = at + x->retx_gap;
        return;
    }
    bool timeout = x->state == FLOE_SIP_TXN_CALLING || x->state == FLOE_SIP_TXN_TRYING ||
                   x->state == FLOE_SIP_TXN_PROCEEDING;
    char timer = x->kind == FLOE_SIP_TXN_NICT ? 'F' : x->state == FLOE_SIP_TXN_CALLING ? 'B' : 'C';
    sip_txl_step(t, x, timeout ? FLOE_SIP_TXN_EV_TIMEOUT_TIMER : FLOE_SIP_TXN_EV_WAIT_TIMER);
    if (timeout) sip_txl_queue_end(t, x, at, FLOE_SIP_TXL_EV_TIMEOUT, timer);
}
