/* The STUN Binding client: one transaction at a time, retransmitted by floe_stun_txn,
 * answered through the transaction ID, reported as a pulled event. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_client.h"

void floe_stun_client_config_default(floe_stun_client_config *c) {
    memset(c, 0, sizeof *c);
    c->fingerprint = true;
}

static int resolve_timing(const floe_stun_client_timing *in, floe_stun_client_timing *out) {
    floe_stun_client_timing t = *in;
    if (t.rto == 0) t.rto = FLOE_STUN_RTO_DEFAULT;
    if (t.max_requests == 0) t.max_requests = FLOE_STUN_RC;
    if (t.last_wait == 0) t.last_wait = FLOE_STUN_RM;
    if (t.max_requests > FLOE_STUN_RC_MAX || t.last_wait > FLOE_STUN_RM_MAX || t.rto > FLOE_S(60))
        return FLOE_ERR_INVAL;
    *out = t;
    return FLOE_OK;
}

int floe_stun_client_init(floe_stun_client *c, const floe_stun_client_config *cfg) {
    memset(c, 0, sizeof *c);
    if (!cfg->rand) return FLOE_ERR_INVAL;
    if (cfg->software && strlen(cfg->software) > FLOE_STUN_CLIENT_MAX_SOFTWARE)
        return FLOE_ERR_INVAL;
    floe_stun_client_timing t;
    if (resolve_timing(&cfg->timing, &t) != FLOE_OK) return FLOE_ERR_INVAL;
    c->cfg = *cfg;
    c->state = FLOE_STUN_CLIENT_IDLE;
    return FLOE_OK;
}

const char *floe_stun_client_event_name(floe_stun_client_event_type t) {
    switch (t) {
    case FLOE_STUN_CLIENT_EV_NONE: return "none";
    case FLOE_STUN_CLIENT_EV_SUCCESS: return "success";
    case FLOE_STUN_CLIENT_EV_ERROR_RESPONSE: return "error response";
    case FLOE_STUN_CLIENT_EV_TIMEOUT: return "timeout";
    case FLOE_STUN_CLIENT_EV_FAILED: return "failed";
    }
    return "none";
}

/* Ends the outstanding transaction with an event. The queue is bounded: when nobody
 * pulls, the oldest event is overwritten and counted. */
static void finish(floe_stun_client *c, floe_stun_client_event_type type, floe_time_ns now) {
    c->cur.finished = now;
    c->state = FLOE_STUN_CLIENT_IDLE;
    c->send_pending = false;
    if (c->ev_count == FLOE_STUN_CLIENT_MAX_EVENTS) {
        c->ev_head = (c->ev_head + 1) % FLOE_STUN_CLIENT_MAX_EVENTS;
        c->ev_count--;
        c->stats.events_dropped++;
    }
    floe_stun_client_event *ev =
        &c->events[(c->ev_head + c->ev_count) % FLOE_STUN_CLIENT_MAX_EVENTS];
    c->ev_count++;
    ev->type = type;
    ev->result = c->cur;
}

int floe_stun_client_start(floe_stun_client *c, floe_time_ns now,
                           const floe_stun_client_request *req) {
    if (c->state == FLOE_STUN_CLIENT_WAITING) return FLOE_ERR_STATE;
    floe_stun_client_request def = {0};
    if (!req) req = &def;
    const floe_addr *dest = req->dest ? req->dest : &c->cfg.server;
    if (dest->family != FLOE_AF_INET4 && dest->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (req->change & ~(unsigned)(FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT))
        return FLOE_ERR_INVAL;
    floe_stun_client_timing timing;
    if (resolve_timing(req->timing ? req->timing : &c->cfg.timing, &timing) != FLOE_OK)
        return FLOE_ERR_INVAL;

    uint8_t tid[FLOE_STUN_TID_LEN];
    int rc = c->cfg.rand(c->cfg.rand_ctx, tid, sizeof tid);
    if (rc != FLOE_OK) return rc < 0 ? rc : FLOE_ERR_CRYPTO;

    floe_stun_builder b;
    floe_stun_builder_init(&b, c->req, sizeof c->req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    if (req->change) floe_stun_add_u32(&b, FLOE_STUN_ATTR_CHANGE_REQUEST, req->change);
    if (c->cfg.software) floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, c->cfg.software);
    if (c->cfg.fingerprint) floe_stun_add_fingerprint(&b);
    size_t n = 0;
    rc = floe_stun_builder_finish(&b, &n);
    if (rc != FLOE_OK) return rc;

    memset(&c->cur, 0, sizeof c->cur);
    memcpy(c->cur.tid, tid, sizeof tid);
    c->cur.dest = *dest;
    c->cur.change = req->change;
    c->cur.started = now;
    c->req_len = n;
    c->timing = timing;
    memset(&c->txn, 0, sizeof c->txn);
    floe_stun_txn_start_ex(&c->txn, now, timing.rto, timing.max_requests, timing.last_wait,
                           c->cfg.reliable);
    c->last_send = now;
    c->send_pending = true;
    c->state = FLOE_STUN_CLIENT_WAITING;
    c->stats.transactions++;
    return FLOE_OK;
}

void floe_stun_client_cancel(floe_stun_client *c) {
    if (c->state != FLOE_STUN_CLIENT_WAITING) return;
    floe_stun_txn_cancel(&c->txn);
    c->state = FLOE_STUN_CLIENT_IDLE;
    c->send_pending = false;
}

static floe_time_ns overall_limit(const floe_stun_client *c) {
    return c->timing.timeout ? c->cur.started + c->timing.timeout : FLOE_TIME_NEVER;
}

void floe_stun_client_tick(floe_stun_client *c, floe_time_ns now) {
    while (c->state == FLOE_STUN_CLIENT_WAITING) {
        if (now >= overall_limit(c)) {
            floe_stun_txn_cancel(&c->txn);
            c->cur.err = FLOE_ERR_TIMEOUT;
            finish(c, FLOE_STUN_CLIENT_EV_TIMEOUT, now);
            return;
        }
        switch (floe_stun_txn_tick(&c->txn, now)) {
        case FLOE_STUN_TXN_NONE: return;
        case FLOE_STUN_TXN_TIMEOUT:
            c->cur.err = FLOE_ERR_TIMEOUT;
            finish(c, FLOE_STUN_CLIENT_EV_TIMEOUT, now);
            return;
        case FLOE_STUN_TXN_SEND:
            /* When tick runs late, several due copies collapse into one. */
            c->send_pending = true;
            break;
        }
    }
}

int floe_stun_client_next_send(floe_stun_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                               size_t *len, floe_addr *dest) {
    floe_stun_client_tick(c, now);
    if (c->state != FLOE_STUN_CLIENT_WAITING || !c->send_pending) return FLOE_ERR_NOT_FOUND;
    if (cap < c->req_len) return FLOE_ERR_NOSPACE;
    memcpy(buf, c->req, c->req_len);
    *len = c->req_len;
    *dest = c->cur.dest;
    c->send_pending = false;
    if (c->cur.requests == 0) c->cur.started = now;
    c->last_send = now;
    c->cur.requests++;
    c->stats.tx++;
    return FLOE_OK;
}

floe_time_ns floe_stun_client_deadline(const floe_stun_client *c) {
    if (c->state != FLOE_STUN_CLIENT_WAITING) return FLOE_TIME_NEVER;
    floe_time_ns d = floe_stun_txn_deadline(&c->txn);
    floe_time_ns limit = overall_limit(c);
    return limit < d ? limit : d;
}

bool floe_stun_client_next_event(floe_stun_client *c, floe_stun_client_event *ev) {
    if (c->ev_count == 0) return false;
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % FLOE_STUN_CLIENT_MAX_EVENTS;
    c->ev_count--;
    return true;
}

/* Copies a reason phrase, replacing control characters and cutting at a UTF-8
 * character boundary so the text is safe to print. */
static void copy_reason(char *dst, size_t cap, const char *src, size_t len) {
    if (len > cap - 1) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[len] = '\0';
}

static void read_success(floe_stun_client *c, const floe_stun_msg *m, floe_time_ns now) {
    floe_stun_client_result *r = &c->cur;
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &r->mapped) == FLOE_OK) {
        r->mapped_xor = true;
    } else if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_MAPPED_ADDRESS, &r->mapped) != FLOE_OK) {
        memset(&r->mapped, 0, sizeof r->mapped);
        r->err = FLOE_ERR_MALFORMED; /* a Binding success without an address is useless */
        finish(c, FLOE_STUN_CLIENT_EV_FAILED, now);
        return;
    }
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_OTHER_ADDRESS, &r->other) != FLOE_OK)
        memset(&r->other, 0, sizeof r->other);
    if (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_RESPONSE_ORIGIN, &r->origin) != FLOE_OK)
        memset(&r->origin, 0, sizeof r->origin);
    finish(c, FLOE_STUN_CLIENT_EV_SUCCESS, now);
}

static void read_error(floe_stun_client *c, const floe_stun_msg *m, floe_time_ns now) {
    floe_stun_client_result *r = &c->cur;
    const char *reason = NULL;
    size_t reason_len = 0;
    /* RFC 8489 §7.3.4: an error response without ERROR-CODE fails the transaction. */
    if (floe_stun_msg_get_error(m, &r->error_code, &reason, &reason_len) != FLOE_OK) {
        r->err = FLOE_ERR_MALFORMED;
        finish(c, FLOE_STUN_CLIENT_EV_FAILED, now);
        return;
    }
    copy_reason(r->reason, sizeof r->reason, reason, reason_len);
    size_t n = 0;
    if (floe_stun_msg_get_unknown(m, r->unknown, sizeof r->unknown / sizeof r->unknown[0], &n) ==
        FLOE_OK)
        r->n_unknown = (unsigned)n;
    r->err = FLOE_ERR_ERROR_RESPONSE;
    finish(c, FLOE_STUN_CLIENT_EV_ERROR_RESPONSE, now);
}

bool floe_stun_client_on_recv(floe_stun_client *c, floe_time_ns now, const uint8_t *p, size_t len,
                              const floe_addr *src) {
    c->stats.rx++;
    floe_stun_msg m;
    /* Our requests carry the magic cookie, so a classic RFC 3489 answer cannot match. */
    if (floe_stun_msg_decode(p, len, 0, &m) != FLOE_OK || m.raw_len != len) {
        c->stats.drop_malformed++;
        return false;
    }
    if (m.cls != FLOE_STUN_SUCCESS && m.cls != FLOE_STUN_ERROR) {
        c->stats.drop_not_response++;
        return false;
    }
    if (c->state != FLOE_STUN_CLIENT_WAITING || m.method != FLOE_STUN_BINDING ||
        memcmp(m.tid, c->cur.tid, FLOE_STUN_TID_LEN) != 0) {
        c->stats.drop_unmatched++;
        return false;
    }
    c->stats.rx_matched++;
    floe_stun_txn_on_response(&c->txn);

    floe_stun_client_result *r = &c->cur;
    r->from = *src;
    r->rtt_ns = now >= r->started ? now - r->started : 0;
    r->rtt_last_ns = now >= c->last_send ? now - c->last_send : 0;
    r->rtt_exact = r->requests <= 1;
    /* RFC 8489 §7.3.3-4: unknown comprehension-required attributes fail the transaction. */
    if (m.n_unknown) {
        r->err = FLOE_ERR_UNKNOWN_ATTR;
        finish(c, FLOE_STUN_CLIENT_EV_FAILED, now);
        return true;
    }
    if (m.cls == FLOE_STUN_SUCCESS)
        read_success(c, &m, now);
    else
        read_error(c, &m, now);
    return true;
}
