/* RFC 5780 NAT behaviour discovery: a fixed sequence of Binding tests run one after the
 * other on a floe_stun_client, with the verdict read from which ones were answered and
 * which mapped addresses came back. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_behavior.h"

void floe_stun_behavior_config_default(floe_stun_behavior_config *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < FLOE_STUN_BT_COUNT; i++) {
        c->timing[i].rto = FLOE_STUN_BEHAVIOR_RTO;
        c->timing[i].max_requests = FLOE_STUN_BEHAVIOR_RC;
        c->timing[i].last_wait = FLOE_STUN_BEHAVIOR_RM;
    }
}

const char *floe_nat_behavior_name(floe_nat_behavior v) {
    switch (v) {
    case FLOE_NAT_UNKNOWN: return "unknown";
    case FLOE_NAT_ENDPOINT_INDEPENDENT: return "endpoint-independent";
    case FLOE_NAT_ADDRESS_DEPENDENT: return "address-dependent";
    case FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT: return "address-and-port-dependent";
    }
    return "unknown";
}

const char *floe_stun_behavior_status_name(floe_stun_behavior_status s) {
    switch (s) {
    case FLOE_STUN_BEHAVIOR_RUNNING: return "running";
    case FLOE_STUN_BEHAVIOR_OK: return "ok";
    case FLOE_STUN_BEHAVIOR_NO_RESPONSE: return "no response";
    case FLOE_STUN_BEHAVIOR_UNSUPPORTED: return "unsupported";
    case FLOE_STUN_BEHAVIOR_ERROR: return "error";
    case FLOE_STUN_BEHAVIOR_INCOMPLETE: return "incomplete";
    }
    return "unknown";
}

const char *floe_stun_behavior_test_name(floe_stun_behavior_test t) {
    switch (t) {
    case FLOE_STUN_BT_I: return "test I";
    case FLOE_STUN_BT_FILTER_II: return "filtering test II";
    case FLOE_STUN_BT_FILTER_III: return "filtering test III";
    case FLOE_STUN_BT_MAP_II: return "mapping test II";
    case FLOE_STUN_BT_MAP_III: return "mapping test III";
    case FLOE_STUN_BT_COUNT: break;
    }
    return "unknown test";
}

floe_stun_behavior_state floe_stun_behavior_next_state(floe_stun_behavior_state s,
                                                       floe_stun_behavior_input in,
                                                       bool mapping_needed) {
    bool answered = in == FLOE_STUN_BI_ANSWER_SAME || in == FLOE_STUN_BI_ANSWER_OTHER;
    floe_stun_behavior_state after_filtering =
        mapping_needed ? FLOE_STUN_BS_MAP_II : FLOE_STUN_BS_DONE;
    switch (s) {
    case FLOE_STUN_BS_IDLE: return in == FLOE_STUN_BI_START ? FLOE_STUN_BS_TEST_I : s;
    case FLOE_STUN_BS_TEST_I:
        if (in == FLOE_STUN_BI_START) return s;
        return answered ? FLOE_STUN_BS_FILTER_II : FLOE_STUN_BS_DONE;
    case FLOE_STUN_BS_FILTER_II:
        if (in == FLOE_STUN_BI_START) return s;
        if (answered) return after_filtering;
        return in == FLOE_STUN_BI_SILENCE ? FLOE_STUN_BS_FILTER_III : FLOE_STUN_BS_DONE;
    case FLOE_STUN_BS_FILTER_III:
        if (in == FLOE_STUN_BI_START) return s;
        return in == FLOE_STUN_BI_FAILURE ? FLOE_STUN_BS_DONE : after_filtering;
    case FLOE_STUN_BS_MAP_II:
        if (in == FLOE_STUN_BI_START) return s;
        return in == FLOE_STUN_BI_ANSWER_OTHER ? FLOE_STUN_BS_MAP_III : FLOE_STUN_BS_DONE;
    case FLOE_STUN_BS_MAP_III: return in == FLOE_STUN_BI_START ? s : FLOE_STUN_BS_DONE;
    case FLOE_STUN_BS_DONE: return s;
    }
    return s;
}

static bool usable_local(const floe_addr *a) {
    return (a->family == FLOE_AF_INET4 || a->family == FLOE_AF_INET6) &&
           !(floe_addr_classify(a, NULL) & FLOE_ADDR_UNSPECIFIED) && a->port != 0;
}

int floe_stun_behavior_init(floe_stun_behavior *b, const floe_stun_behavior_config *cfg) {
    memset(b, 0, sizeof *b);
    if (!cfg->rand) return FLOE_ERR_INVAL;
    if (cfg->server.family != FLOE_AF_INET4 && cfg->server.family != FLOE_AF_INET6)
        return FLOE_ERR_INVAL;
    if (cfg->local.family != FLOE_AF_NONE && cfg->local.family != cfg->server.family)
        return FLOE_ERR_INVAL;
    floe_stun_client_config cc;
    floe_stun_client_config_default(&cc);
    cc.server = cfg->server;
    cc.timing = cfg->timing[FLOE_STUN_BT_I];
    cc.software = cfg->software;
    cc.rand = cfg->rand;
    cc.rand_ctx = cfg->rand_ctx;
    int rc = floe_stun_client_init(&b->client, &cc);
    if (rc != FLOE_OK) return rc;
    for (int i = 0; i < FLOE_STUN_BT_COUNT; i++)
        if (cfg->timing[i].max_requests > FLOE_STUN_RC) return FLOE_ERR_INVAL;
    b->cfg = *cfg;
    b->state = FLOE_STUN_BS_IDLE;
    b->res.local = cfg->local;
    b->res.server = cfg->server;
    return FLOE_OK;
}

static void push_event(floe_stun_behavior *b, floe_stun_behavior_event_type type,
                       floe_stun_behavior_test test) {
    if (b->ev_count == FLOE_STUN_BEHAVIOR_MAX_EVENTS) { /* cannot happen: at most 6 per run */
        b->ev_head = (b->ev_head + 1) % FLOE_STUN_BEHAVIOR_MAX_EVENTS;
        b->ev_count--;
    }
    floe_stun_behavior_event *ev =
        &b->events[(b->ev_head + b->ev_count) % FLOE_STUN_BEHAVIOR_MAX_EVENTS];
    b->ev_count++;
    ev->type = type;
    ev->test = test;
    ev->result = b->res;
}

static floe_stun_behavior_test test_of(floe_stun_behavior_state s) {
    switch (s) {
    case FLOE_STUN_BS_FILTER_II: return FLOE_STUN_BT_FILTER_II;
    case FLOE_STUN_BS_FILTER_III: return FLOE_STUN_BT_FILTER_III;
    case FLOE_STUN_BS_MAP_II: return FLOE_STUN_BT_MAP_II;
    case FLOE_STUN_BS_MAP_III: return FLOE_STUN_BT_MAP_III;
    default: return FLOE_STUN_BT_I;
    }
}

/* Where each test sends and what it asks the server to change. */
static void test_request(const floe_stun_behavior *b, floe_stun_behavior_test t, floe_addr *dest,
                         unsigned *change) {
    const floe_addr *primary = &b->cfg.server, *other = &b->res.other;
    *dest = *primary;
    *change = 0;
    switch (t) {
    case FLOE_STUN_BT_FILTER_II: *change = FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT; break;
    case FLOE_STUN_BT_FILTER_III: *change = FLOE_STUN_CHANGE_PORT; break;
    case FLOE_STUN_BT_MAP_II: /* alternate IP, primary port */
        *dest = *other;
        dest->port = primary->port;
        break;
    case FLOE_STUN_BT_MAP_III: *dest = *other; break; /* alternate IP and port */
    default: break;
    }
}

static void finish(floe_stun_behavior *b, floe_stun_behavior_status status) {
    b->state = FLOE_STUN_BS_DONE;
    if (b->res.status == FLOE_STUN_BEHAVIOR_RUNNING) b->res.status = status;
    push_event(b, FLOE_STUN_BEHAVIOR_EV_DONE, FLOE_STUN_BT_COUNT);
}

static void enter(floe_stun_behavior *b, floe_stun_behavior_state s, floe_time_ns now) {
    b->state = s;
    if (s == FLOE_STUN_BS_DONE) {
        finish(b, FLOE_STUN_BEHAVIOR_OK);
        return;
    }
    floe_stun_behavior_test t = test_of(s);
    floe_addr dest;
    unsigned change;
    test_request(b, t, &dest, &change);
    floe_stun_client_request req = {.dest = &dest, .change = change, .timing = &b->cfg.timing[t]};
    floe_stun_behavior_step *st = &b->res.steps[t];
    st->ran = true;
    st->dest = dest;
    st->change = change;
    int rc = floe_stun_client_start(&b->client, now, &req);
    if (rc != FLOE_OK) {
        b->res.err = rc;
        b->res.failed_test = t;
        finish(b, FLOE_STUN_BEHAVIOR_ERROR);
    }
}

/* OTHER-ADDRESS must name a different IP and port of the same family (RFC 5780 §7.4). */
static bool usable_other(const floe_addr *server, const floe_addr *other) {
    return other->family == server->family && !floe_addr_ip_equal(other, server) &&
           other->port != server->port && other->port != 0;
}

static void record_failure(floe_stun_behavior *b, floe_stun_behavior_test t,
                           const floe_stun_client_event *ev) {
    b->res.failed_test = t;
    b->res.error_code = ev->result.error_code;
    memcpy(b->res.reason, ev->result.reason, sizeof b->res.reason);
    b->res.err = ev->result.err;
    b->res.status = FLOE_STUN_BEHAVIOR_ERROR;
}

/* Turns one finished client transaction into the state machine's input, updating the
 * verdict on the way. */
static floe_stun_behavior_input judge(floe_stun_behavior *b, floe_stun_behavior_test t,
                                      const floe_stun_client_event *ev) {
    const floe_stun_client_result *r = &ev->result;
    floe_stun_behavior_result *res = &b->res;
    bool ok = ev->type == FLOE_STUN_CLIENT_EV_SUCCESS;
    bool silent = ev->type == FLOE_STUN_CLIENT_EV_TIMEOUT;
    if (!ok && !silent) {
        record_failure(b, t, ev);
        return FLOE_STUN_BI_FAILURE;
    }
    switch (t) {
    case FLOE_STUN_BT_I:
        if (silent) {
            res->status = FLOE_STUN_BEHAVIOR_NO_RESPONSE;
            res->failed_test = t;
            res->err = FLOE_ERR_TIMEOUT;
            return FLOE_STUN_BI_SILENCE;
        }
        res->mapped = r->mapped;
        res->other = r->other;
        res->origin = r->origin;
        if (usable_local(&res->local)) {
            res->nat_known = true;
            res->nat = !floe_addr_equal(&r->mapped, &res->local);
            /* RFC 5780 §4.3: not behind a NAT, so the mapping is endpoint-independent. */
            if (!res->nat) res->mapping = FLOE_NAT_ENDPOINT_INDEPENDENT;
        }
        if (!usable_other(&b->cfg.server, &r->other)) {
            res->status = FLOE_STUN_BEHAVIOR_UNSUPPORTED;
            res->failed_test = t;
            res->err = FLOE_ERR_UNSUPPORTED;
            return FLOE_STUN_BI_FAILURE;
        }
        return res->nat_known && !res->nat ? FLOE_STUN_BI_ANSWER_SAME : FLOE_STUN_BI_ANSWER_OTHER;

    case FLOE_STUN_BT_FILTER_II:
    case FLOE_STUN_BT_FILTER_III:
        if (silent) {
            if (t == FLOE_STUN_BT_FILTER_III) res->filtering = FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
            return FLOE_STUN_BI_SILENCE;
        }
        if (floe_addr_equal(&r->from, &b->cfg.server)) {
            /* The answer came from where the request went: CHANGE-REQUEST was ignored. */
            res->server_ignored_change = true;
            res->filtering = FLOE_NAT_UNKNOWN;
        } else {
            res->filtering = t == FLOE_STUN_BT_FILTER_II ? FLOE_NAT_ENDPOINT_INDEPENDENT
                                                         : FLOE_NAT_ADDRESS_DEPENDENT;
        }
        return FLOE_STUN_BI_ANSWER_SAME;

    case FLOE_STUN_BT_MAP_II:
    case FLOE_STUN_BT_MAP_III:
        if (silent) {
            res->status = FLOE_STUN_BEHAVIOR_INCOMPLETE;
            res->failed_test = t;
            res->err = FLOE_ERR_TIMEOUT;
            return FLOE_STUN_BI_SILENCE;
        }
        if (t == FLOE_STUN_BT_MAP_II) {
            bool same = floe_addr_equal(&r->mapped, &res->mapped);
            if (same) res->mapping = FLOE_NAT_ENDPOINT_INDEPENDENT;
            return same ? FLOE_STUN_BI_ANSWER_SAME : FLOE_STUN_BI_ANSWER_OTHER;
        }
        res->mapping = floe_addr_equal(&r->mapped, &res->steps[FLOE_STUN_BT_MAP_II].mapped)
                           ? FLOE_NAT_ADDRESS_DEPENDENT
                           : FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
        return FLOE_STUN_BI_ANSWER_SAME;

    case FLOE_STUN_BT_COUNT: break;
    }
    return FLOE_STUN_BI_FAILURE;
}

/* Drains the client's outcome and moves to the next test. */
static void pump(floe_stun_behavior *b, floe_time_ns now) {
    floe_stun_client_event ev;
    while (b->state != FLOE_STUN_BS_DONE && floe_stun_client_next_event(&b->client, &ev)) {
        floe_stun_behavior_test t = test_of(b->state);
        floe_stun_behavior_step *st = &b->res.steps[t];
        st->outcome = ev.type;
        st->mapped = ev.result.mapped;
        st->from = ev.result.from;
        st->requests = ev.result.requests;
        st->rtt_ns = ev.result.rtt_ns;
        floe_stun_behavior_input in = judge(b, t, &ev);
        push_event(b, FLOE_STUN_BEHAVIOR_EV_TEST, t);
        bool mapping_needed = !(b->res.nat_known && !b->res.nat);
        enter(b, floe_stun_behavior_next_state(b->state, in, mapping_needed), now);
    }
}

int floe_stun_behavior_start(floe_stun_behavior *b, floe_time_ns now) {
    if (b->state != FLOE_STUN_BS_IDLE) return FLOE_ERR_STATE;
    b->res.status = FLOE_STUN_BEHAVIOR_RUNNING;
    floe_addr dest = b->cfg.server;
    floe_stun_client_request req = {.dest = &dest, .timing = &b->cfg.timing[FLOE_STUN_BT_I]};
    int rc = floe_stun_client_start(&b->client, now, &req);
    if (rc != FLOE_OK) return rc;
    b->state = floe_stun_behavior_next_state(b->state, FLOE_STUN_BI_START, true);
    b->res.steps[FLOE_STUN_BT_I].ran = true;
    b->res.steps[FLOE_STUN_BT_I].dest = dest;
    return FLOE_OK;
}

void floe_stun_behavior_tick(floe_stun_behavior *b, floe_time_ns now) {
    floe_stun_client_tick(&b->client, now);
    pump(b, now);
}

int floe_stun_behavior_next_send(floe_stun_behavior *b, floe_time_ns now, uint8_t *buf, size_t cap,
                                 size_t *len, floe_addr *dest) {
    floe_stun_behavior_tick(b, now);
    return floe_stun_client_next_send(&b->client, now, buf, cap, len, dest);
}

bool floe_stun_behavior_on_recv(floe_stun_behavior *b, floe_time_ns now, const uint8_t *p,
                                size_t len, const floe_addr *src) {
    bool ended = floe_stun_client_on_recv(&b->client, now, p, len, src);
    pump(b, now);
    return ended;
}

floe_time_ns floe_stun_behavior_deadline(const floe_stun_behavior *b) {
    return b->state == FLOE_STUN_BS_DONE ? FLOE_TIME_NEVER : floe_stun_client_deadline(&b->client);
}

bool floe_stun_behavior_next_event(floe_stun_behavior *b, floe_stun_behavior_event *ev) {
    if (b->ev_count == 0) return false;
    *ev = b->events[b->ev_head];
    b->ev_head = (b->ev_head + 1) % FLOE_STUN_BEHAVIOR_MAX_EVENTS;
    b->ev_count--;
    return true;
}

bool floe_stun_behavior_done(const floe_stun_behavior *b) {
    return b->state == FLOE_STUN_BS_DONE;
}

const floe_stun_behavior_result *floe_stun_behavior_result_get(const floe_stun_behavior *b) {
    return &b->res;
}

const floe_stun_client_stats *floe_stun_behavior_stats(const floe_stun_behavior *b) {
    return &b->client.stats;
}
