/* The SIP transaction layer object: configuration, the bounded table, the send and event
 * queues, timers (tick and deadline), transport errors, inspection. Receiving lives in
 * sip_txl_recv.c, the machines' actions in sip_txn_client.c and sip_txn_server.c. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"
#include "sip/sip_txn_priv.h"

void floe_sip_txl_config_default(floe_sip_txl_config *c) {
    memset(c, 0, sizeof *c);
    c->t1 = FLOE_SIP_T1;
    c->t2 = FLOE_SIP_T2;
    c->t4 = FLOE_SIP_T4;
    c->timer_d = FLOE_SIP_TIMER_D;
    c->timer_c = FLOE_SIP_TIMER_C;
    c->trying_delay = FLOE_SIP_TRYING_DELAY;
    c->max_txns = FLOE_SIP_TXL_MAX_TXNS;
    c->max_msg = FLOE_SIP_TXL_MAX_MSG;
    c->send_queue = FLOE_SIP_TXL_QUEUE_DEFAULT;
    c->event_queue = FLOE_SIP_TXL_QUEUE_DEFAULT;
}

static floe_time_ns or_default(floe_time_ns v, floe_time_ns d) {
    return v ? v : d;
}

int floe_sip_txl_new(floe_sip_txl **out, const floe_sip_txl_config *cfg) {
    if (!out || !cfg || !cfg->rand) return FLOE_ERR_INVAL;
    *out = NULL;
    unsigned max_txns = cfg->max_txns ? cfg->max_txns : FLOE_SIP_TXL_MAX_TXNS;
    size_t max_msg = cfg->max_msg ? cfg->max_msg : FLOE_SIP_TXL_MAX_MSG;
    size_t sendq = cfg->send_queue ? cfg->send_queue : FLOE_SIP_TXL_QUEUE_DEFAULT;
    size_t evq = cfg->event_queue ? cfg->event_queue : FLOE_SIP_TXL_QUEUE_DEFAULT;
    const floe_time_ns timers[] = {cfg->t1,      cfg->t2,      cfg->t4,
                                   cfg->timer_d, cfg->timer_c, cfg->trying_delay};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (timers[i] > FLOE_SIP_TXL_TIMER_MAX) return FLOE_ERR_INVAL;
    if (max_txns > FLOE_SIP_TXL_MAX_TXNS_LIMIT || max_msg < FLOE_SIP_TXL_MIN_MSG ||
        max_msg > FLOE_SIP_MAX_MSG_LEN || sendq < 2 * max_msg || evq < 2 * max_msg)
        return FLOE_ERR_INVAL;
    if (cfg->host) {
        size_t n = strlen(cfg->host);
        floe_sip_str h;
        if (n == 0 || n >= FLOE_SIP_SENT_BY_MAX || !sip_host(cfg->host, n, &h, NULL))
            return FLOE_ERR_INVAL;
    }
    floe_sip_txl *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->cfg = *cfg;
    if (cfg->host) strcpy(t->host, cfg->host);
    t->cfg.host = NULL;
    t->t1 = or_default(cfg->t1, FLOE_SIP_T1);
    t->t2 = or_default(cfg->t2, FLOE_SIP_T2);
    t->t4 = or_default(cfg->t4, FLOE_SIP_T4);
    t->timer_d = or_default(cfg->timer_d, FLOE_SIP_TIMER_D);
    t->timer_c = or_default(cfg->timer_c, FLOE_SIP_TIMER_C);
    t->trying_delay = or_default(cfg->trying_delay, FLOE_SIP_TRYING_DELAY);
    t->max_txns = max_txns;
    t->max_msg = max_msg;
    t->txns = calloc(max_txns ? max_txns : 1, sizeof *t->txns);
    t->store = malloc(2 * max_msg * (max_txns ? max_txns : 1));
    t->sendq_buf = malloc(sendq);
    t->evq_buf = malloc(evq);
    t->ev_buf = malloc(max_msg + 1);
    t->scratch = malloc(max_msg + 1);
    t->scratch2 = malloc(max_msg + 1);
    if (!t->txns || !t->store || !t->sendq_buf || !t->evq_buf || !t->ev_buf || !t->scratch ||
        !t->scratch2) {
        floe_sip_txl_free(t);
        return FLOE_ERR_NOMEM;
    }
    for (unsigned i = 0; i < max_txns; i++) {
        t->txns[i].msg = t->store + 2 * max_msg * i;
        t->txns[i].aux = t->txns[i].msg + max_msg;
        t->txns[i].gen = 0;
    }
    sip_ring_init(&t->sendq, t->sendq_buf, sendq, sizeof(sip_send_hdr));
    sip_ring_init(&t->evq, t->evq_buf, evq, sizeof(sip_event_hdr));
    *out = t;
    return FLOE_OK;
}

void floe_sip_txl_free(floe_sip_txl *t) {
    if (!t) return;
    free(t->txns);
    free(t->store);
    free(t->sendq_buf);
    free(t->evq_buf);
    free(t->ev_buf);
    free(t->scratch);
    free(t->scratch2);
    free(t);
}

/* ---- the table ------------------------------------------------------------------------- */

sip_txn *sip_txl_find_id(const floe_sip_txl *t, uint32_t id) {
    uint32_t slot = id & ((1u << SIP_TXN_SLOT_BITS) - 1);
    if (!t || slot >= t->max_txns) return NULL;
    sip_txn *x = &t->txns[slot];
    if (!x->used || x->gen != id >> SIP_TXN_SLOT_BITS) return NULL;
    return x;
}

sip_txn *sip_txl_alloc(floe_sip_txl *t, floe_sip_txn_kind kind) {
    for (unsigned i = 0; i < t->max_txns; i++) {
        sip_txn *x = &t->txns[i];
        if (x->used) continue;
        char *msg = x->msg, *aux = x->aux;
        uint16_t gen = (uint16_t)(x->gen + 1);
        memset(x, 0, sizeof *x);
        x->msg = msg;
        x->aux = aux;
        x->gen = gen ? gen : 1; /* id 0 never names a transaction */
        x->used = true;
        x->kind = kind;
        x->state = floe_sip_txn_initial(kind);
        x->retx_at = x->end_at = FLOE_TIME_NEVER;
        t->stats.transactions++;
        return x;
    }
    t->stats.cap_txns++;
    return NULL;
}

void sip_txl_release(floe_sip_txl *t, sip_txn *x) {
    (void)t;
    x->used = false;
    x->state = FLOE_SIP_TXN_TERMINATED;
    x->retx_at = x->end_at = FLOE_TIME_NEVER;
}

floe_sip_txn_state sip_txl_step(floe_sip_txl *t, sip_txn *x, floe_sip_txn_event ev) {
    x->state = floe_sip_txn_step(x->kind, x->state, ev);
    if (x->state == FLOE_SIP_TXN_TERMINATED) sip_txl_release(t, x);
    return x->state;
}

int sip_txn_set_method(sip_txn *x, floe_sip_str name) {
    if (!name.p || name.len == 0 || name.len > sizeof x->method_name) return FLOE_ERR_LIMIT;
    memcpy(x->method_name, name.p, name.len);
    x->method_len = name.len;
    x->method = floe_sip_method_id(name);
    return FLOE_OK;
}

bool sip_txn_method_is(const sip_txn *x, floe_sip_str name) {
    return name.len == x->method_len && memcmp(name.p, x->method_name, name.len) == 0;
}

unsigned floe_sip_txl_count(const floe_sip_txl *t) {
    unsigned n = 0;
    for (unsigned i = 0; t && i < t->max_txns; i++)
        n += t->txns[i].used;
    return n;
}

int floe_sip_txl_info(const floe_sip_txl *t, uint32_t id, floe_sip_txn_info *out) {
    const sip_txn *x = sip_txl_find_id(t, id);
    if (!x || !out) return FLOE_ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->kind = x->kind;
    out->state = x->state;
    out->method = x->method;
    out->transport = x->tp;
    out->peer = x->peer;
    memcpy(out->branch, x->branch, x->branch_len);
    out->branch[x->branch_len] = '\0';
    out->deadline = x->retx_at < x->end_at ? x->retx_at : x->end_at;
    out->last_status = x->status;
    return FLOE_OK;
}

int floe_sip_txl_request_of(const floe_sip_txl *t, uint32_t id, floe_sip_msg *out) {
    const sip_txn *x = sip_txl_find_id(t, id);
    if (!x || !out) return FLOE_ERR_NOT_FOUND;
    return floe_sip_parse(x->msg, x->msg_len, 0, out, NULL, NULL);
}

const floe_sip_txl_stats *floe_sip_txl_stats_get(const floe_sip_txl *t) {
    return t ? &t->stats : NULL;
}

/* ---- queues -------------------------------------------------------------------------------- */

bool sip_txl_queue_send(floe_sip_txl *t, const char *p, size_t len, floe_transport tp,
                        const floe_addr *to, bool retrans) {
    sip_send_hdr h;
    memset(&h, 0, sizeof h);
    h.to = *to;
    h.tp = tp;
    h.retrans = retrans;
    if (!sip_ring_push(&t->sendq, &h, p, len)) {
        t->stats.tx_dropped++;
        return false;
    }
    return true;
}

bool sip_txl_event_room(const floe_sip_txl *t, size_t body_len) {
    size_t live = t->evq.tail - t->evq.head;
    return sip_ring_record_size(&t->evq, body_len) <= t->evq.cap - live;
}

bool sip_txl_queue_event(floe_sip_txl *t, const sip_event_hdr *h, const char *body,
                         size_t body_len) {
    return sip_ring_push(&t->evq, h, body, body_len);
}

void sip_txl_queue_end(floe_sip_txl *t, const sip_txn *x, floe_time_ns now,
                       floe_sip_txl_event_type type, char timer) {
    sip_event_hdr h;
    memset(&h, 0, sizeof h);
    h.type = type;
    h.at = now;
    h.id = sip_txn_id(t, x);
    h.kind = x->kind;
    h.method = x->method;
    h.timer = timer;
    h.tp = x->tp;
    h.peer = x->peer;
    if (type == FLOE_SIP_TXL_EV_TIMEOUT)
        t->stats.timeouts++;
    else
        t->stats.transport_errors++;
    if (!sip_txl_queue_event(t, &h, NULL, 0)) t->stats.events_dropped++;
}

int floe_sip_txl_next_send(floe_sip_txl *t, floe_time_ns now, char *buf, size_t cap, size_t *len,
                           floe_addr *to, floe_transport *transport) {
    if (!t || (!buf && cap)) return FLOE_ERR_INVAL;
    floe_sip_txl_tick(t, now);
    sip_send_hdr h;
    size_t n;
    if (!sip_ring_peek(&t->sendq, &h, &n)) return FLOE_ERR_NOT_FOUND;
    if (n > cap) return FLOE_ERR_NOSPACE;
    sip_ring_pop(&t->sendq, &h, buf, cap, &n);
    if (len) *len = n;
    if (to) *to = h.to;
    if (transport) *transport = h.tp;
    t->stats.tx++;
    if (h.retrans) t->stats.tx_retrans++;
    return FLOE_OK;
}

bool floe_sip_txl_next_event(floe_sip_txl *t, floe_sip_txl_event *ev) {
    if (!t || !ev) return false;
    sip_event_hdr h;
    size_t n;
    if (!sip_ring_pop(&t->evq, &h, t->ev_buf, t->max_msg, &n)) return false;
    memset(ev, 0, sizeof *ev);
    ev->type = h.type;
    ev->at = h.at;
    ev->id = h.id;
    ev->target = h.target;
    ev->kind = h.kind;
    ev->method = h.method;
    ev->status = h.status;
    ev->timer = h.timer;
    ev->transport = h.tp;
    ev->peer = h.peer;
    if (n) {
        t->ev_buf[n] = '\0';
        /* What was queued parsed before (or was printed by the layer): it parses again. */
        if (floe_sip_parse(t->ev_buf, n, 0, &ev->msg, NULL, NULL) != FLOE_OK)
            memset(&ev->msg, 0, sizeof ev->msg);
    }
    return true;
}

/* ---- timers ------------------------------------------------------------------------------- */

static floe_time_ns txn_deadline(const sip_txn *x) {
    return x->retx_at < x->end_at ? x->retx_at : x->end_at;
}

floe_time_ns floe_sip_txl_deadline(const floe_sip_txl *t) {
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned i = 0; t && i < t->max_txns; i++) {
        const sip_txn *x = &t->txns[i];
        if (x->used && txn_deadline(x) < d) d = txn_deadline(x);
    }
    return d;
}

void floe_sip_txl_tick(floe_sip_txl *t, floe_time_ns now) {
    if (!t) return;
    for (unsigned i = 0; i < t->max_txns; i++) {
        sip_txn *x = &t->txns[i];
        /* Timers fire in their order; each firing moves its timer on or ends the
         * transaction, so the loop ends. */
        while (x->used && txn_deadline(x) <= now) {
            bool retx = x->retx_at < x->end_at;
            if (x->kind == FLOE_SIP_TXN_ICT || x->kind == FLOE_SIP_TXN_NICT)
                sip_client_timer(t, x, retx ? x->retx_at : x->end_at, retx);
            else
                sip_server_timer(t, x, retx ? x->retx_at : x->end_at, retx);
        }
    }
}

/* ---- transport errors ----------------------------------------------------------------------- */

void floe_sip_txl_transport_error(floe_sip_txl *t, floe_time_ns now, floe_transport transport,
                                  const floe_addr *peer) {
    if (!t || !peer) return;
    for (unsigned i = 0; i < t->max_txns; i++) {
        sip_txn *x = &t->txns[i];
        if (!x->used || x->tp != transport || !floe_addr_equal(&x->peer, peer)) continue;
        if (sip_txl_step(t, x, FLOE_SIP_TXN_EV_TRANSPORT_ERROR) != FLOE_SIP_TXN_TERMINATED)
            continue;
        /* A freed slot keeps its fields (and generation) until it is taken again. */
        sip_txl_queue_end(t, x, now, FLOE_SIP_TXL_EV_TRANSPORT_ERROR, 0);
    }
}

/* ---- building blocks ------------------------------------------------------------------------ */

int sip_txl_print_checked(floe_sip_txl *t, const floe_sip_msg *m, char *buf, size_t cap,
                          size_t *len) {
    size_t n;
    int rc = floe_sip_msg_print(m, buf, cap, &n);
    if (rc != FLOE_OK) return rc;
    if (floe_sip_parse(buf, n, 0, &t->check, NULL, NULL) != FLOE_OK) return FLOE_ERR_INVAL;
    if (len) *len = n;
    return FLOE_OK;
}

static const char *via_transport(floe_transport tp) {
    switch (tp) {
    case FLOE_TRANSPORT_UDP: return "UDP";
    case FLOE_TRANSPORT_TCP: return "TCP";
    case FLOE_TRANSPORT_TLS: return "TLS";
    case FLOE_TRANSPORT_DTLS: break;
    }
    return NULL;
}

int sip_txl_our_via(const floe_sip_txl *t, floe_transport tp, const char *branch,
                    floe_sip_arena *ar, floe_sip_str *out) {
    const char *name = via_transport(tp);
    if (!name || t->cfg.local[tp].family == FLOE_AF_NONE) return FLOE_ERR_INVAL;
    char host[FLOE_SIP_SENT_BY_MAX + 8];
    const floe_addr *a = &t->cfg.local[tp];
    if (t->host[0]) {
        strcpy(host, t->host);
    } else {
        char ip[FLOE_ADDR_STRLEN];
        floe_addr bare = *a;
        bare.scope_id = 0; /* a zone means nothing to the peer */
        floe_addr_format(&bare, false, ip, sizeof ip);
        if (a->family == FLOE_AF_INET6) {
            host[0] = '[';
            strcpy(host + 1, ip);
            strcat(host, "]");
        } else {
            strcpy(host, ip);
        }
    }
    floe_sip_str port = {NULL, 0};
    if (a->port) {
        int rc = floe_sip_arena_u64(ar, a->port, &port);
        if (rc != FLOE_OK) return rc;
    }
    char port_text[8] = "";
    if (port.p) {
        memcpy(port_text, port.p, port.len);
        port_text[port.len] = '\0';
    }
    return floe_sip_arena_cat(ar, out, "SIP/2.0/", name, " ", host, port.p ? ":" : "", port_text,
                              ";rport;branch=", branch, NULL);
}

int sip_txl_with_via(const floe_sip_msg *m, floe_sip_str via, floe_sip_msg *out) {
    if (m->n_hdr + 1 > FLOE_SIP_MAX_HEADERS) return FLOE_ERR_LIMIT;
    if (out != m) *out = *m;
    memmove(&out->hdr[1], &out->hdr[0], m->n_hdr * sizeof m->hdr[0]);
    out->n_hdr = m->n_hdr + 1;
    out->hdr[0].id = FLOE_SIP_H_VIA;
    out->hdr[0].name = floe_sip_str_c("Via");
    out->hdr[0].value = via;
    out->hdr[0].line = 0;
    return FLOE_OK;
}

/* ---- sending outside transactions ------------------------------------------------------------ */

int floe_sip_txl_send(floe_sip_txl *t, floe_time_ns now, const floe_sip_msg *m,
                      floe_transport transport, const floe_addr *to) {
    (void)now;
    if (!t || !m || !to || to->family == FLOE_AF_NONE || transport > FLOE_TRANSPORT_TLS)
        return FLOE_ERR_INVAL;
    const floe_sip_msg *out = m;
    if (m->request) {
        char branch[8 + 2 * FLOE_SIP_BRANCH_RANDOM];
        int rc = floe_sip_branch_new(t->cfg.rand, t->cfg.rand_ctx, branch, sizeof branch);
        if (rc != FLOE_OK) return rc;
        floe_sip_arena ar;
        floe_sip_arena_init(&ar, t->scratch2, t->max_msg);
        floe_sip_str via;
        rc = sip_txl_our_via(t, transport, branch, &ar, &via);
        if (rc == FLOE_OK) rc = sip_txl_with_via(m, via, &t->work);
        if (rc != FLOE_OK) return rc;
        out = &t->work;
    }
    size_t n;
    int rc = sip_txl_print_checked(t, out, t->scratch, t->max_msg, &n);
    if (rc != FLOE_OK) return rc;
    if (!sip_txl_queue_send(t, t->scratch, n, transport, to, false)) return FLOE_ERR_LIMIT;
    return FLOE_OK;
}
