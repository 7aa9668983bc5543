/* libFuzzer target: a SIP transaction layer fed messages from a few sources, the TU's
 * calls, and time.
 *
 * The input is a little program. The first bytes choose the configuration (table size,
 * message cap, event queue size, T1); then each operation takes a byte and its
 * arguments:
 *   - a request from one of three sources over UDP or TCP: any method of a short list,
 *     a branch from a small set (so retransmissions, ACKs and CANCELs match), RFC 2543
 *     branches too, rport or not, sent-by from a small set, sometimes two Vias;
 *   - a response for one of our client transactions (its branch, sometimes another) with
 *     a status from a short list, the CSeq method right or wrong, one or two Vias;
 *   - raw bytes as a message;
 *   - the TU: start a client transaction, respond to a server transaction it heard of
 *     (or a made-up id), resend, cancel, send an ACK outside transactions;
 *   - a transport error for a source; a time jump (the runtime's loop: tick at each
 *     deadline on the way).
 * After every operation sends and events are drained and checked: what the layer sends
 * parses and fits cfg.max_msg, requests it sends carry an RFC 3261 branch, events carry a
 * parsed message when they should, the table stays within its cap, every live
 * transaction has an end timer, the counters add up (each input counted once), and after
 * a tick the deadline lies in the future. At the end time runs on for ten minutes: the
 * table must be empty, every transaction ended by its timers. ASan and UBSan catch the
 * rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_txn.h"
#include "sip/sip_txn_priv.h"
#include "fuzz_input.h"

static floe_addr addr_of(const char *s) {
    floe_addr a;
    memset(a.ip, 0, sizeof a.ip);
    a.scope_id = 0;
    floe_addr_parse(s, &a);
    return a;
}

static const char *const sources[] = {"198.51.100.7:5060", "198.51.100.8:40000",
                                      "[2001:db8::7]:5062"};
static const char *const methods[] = {"INVITE", "ACK",    "CANCEL",   "OPTIONS", "BYE",
                                      "PRACK",  "UPDATE", "REGISTER", "INFO",    "FOO"};
static const char *const branches[] = {"z9hG4bKb0", "z9hG4bKb1", "z9hG4bKb2",
                                       "z9hG4bKb3", "old2543",   "z9hG4bK"};
static const char *const hosts[] = {"10.0.0.7:5060", "10.0.0.7", "client.example.com",
                                    "[2001:db8::7]:5062"};
static const unsigned statuses[] = {100, 180, 183, 200, 202, 401, 407, 486, 487, 500, 603, 699};

#define MAX_IDS 16

typedef struct world {
    floe_sip_txl *t;
    floe_time_ns now;
    uint64_t seed;
    size_t max_msg;
    uint32_t server_ids[MAX_IDS], client_ids[MAX_IDS];
    unsigned n_server, n_client;
    floe_sip_txl_event ev;
    char buf[FLOE_SIP_MAX_MSG_LEN + 1];
    floe_sip_msg msg;
} world;

static world W;

static void remember(uint32_t *ids, unsigned *n, uint32_t id) {
    ids[*n % MAX_IDS] = id;
    (*n)++;
}

static uint32_t pick(const uint32_t *ids, unsigned n, input *in) {
    uint8_t k = u8(in);
    if (n == 0 || (k & 0x80)) return u8(in); /* a made-up id */
    return ids[k % (n < MAX_IDS ? n : MAX_IDS)];
}

static void invariants(world *w) {
    const floe_sip_txl *t = w->t;
    unsigned live = 0;
    for (unsigned i = 0; i < t->max_txns; i++) {
        const sip_txn *x = &t->txns[i];
        if (!x->used) continue;
        live++;
        if (x->state == FLOE_SIP_TXN_TERMINATED || x->end_at == FLOE_TIME_NEVER) abort();
        if (x->msg_len > t->max_msg || x->aux_len > t->max_msg) abort();
        if (x->kind >= FLOE_SIP_TXN_KIND_COUNT) abort();
        if (x->branch_len == 0 || x->branch_len > FLOE_SIP_BRANCH_MAX) abort();
    }
    if (live > t->max_txns || live != floe_sip_txl_count(t)) abort();
    const floe_sip_txl_stats *s = &t->stats;
    if (s->rx != s->rx_keepalives + s->rx_requests + s->rx_request_retrans + s->rx_responses +
                     s->rx_response_retrans + s->busy + s->drop_malformed + s->drop_too_big +
                     s->drop_no_cookie + s->drop_via + s->drop_unmatched + s->drop_event_full)
        abort();
}

static void drain(world *w) {
    size_t len;
    floe_addr to;
    floe_transport tp;
    int guard = 0;
    while (floe_sip_txl_next_send(w->t, w->now, w->buf, sizeof w->buf, &len, &to, &tp) == FLOE_OK) {
        if (len > w->max_msg || ++guard > 4096) abort();
        if (tp > FLOE_TRANSPORT_TLS || to.family == FLOE_AF_NONE) abort();
        if (floe_sip_parse(w->buf, len, 0, &w->msg, NULL, NULL) != FLOE_OK) abort();
        if (w->msg.request) {
            floe_sip_via v;
            if (floe_sip_msg_top_via(&w->msg, &v) != FLOE_OK ||
                !floe_sip_branch_is_rfc3261(v.branch))
                abort();
        }
    }
    guard = 0;
    while (floe_sip_txl_next_event(w->t, &w->ev)) {
        if (++guard > 4096) abort();
        floe_sip_txl_event *e = &w->ev;
        switch (e->type) {
        case FLOE_SIP_TXL_EV_REQUEST:
            if (!e->msg.request || e->msg.n_hdr == 0) abort();
            if (e->id)
                remember(w->server_ids, &w->n_server, e->id);
            else if (e->msg.method_id != FLOE_SIP_ACK)
                abort();
            break;
        case FLOE_SIP_TXL_EV_RESPONSE:
            if (e->msg.request || e->msg.status != e->status || e->id == 0) abort();
            break;
        case FLOE_SIP_TXL_EV_TIMEOUT:
            if (e->timer != 'B' && e->timer != 'C' && e->timer != 'F' && e->timer != 'H') abort();
            break;
        case FLOE_SIP_TXL_EV_TRANSPORT_ERROR: break;
        default: abort();
        }
    }
    invariants(w);
}

/* The runtime's loop up to `until`. */
static void run_until(world *w, floe_time_ns until) {
    for (int guard = 0; guard < 100000; guard++) {
        floe_time_ns d = floe_sip_txl_deadline(w->t);
        if (d == FLOE_TIME_NEVER || d > until) break;
        if (d > w->now) w->now = d;
        floe_sip_txl_tick(w->t, w->now);
        if (floe_sip_txl_deadline(w->t) <= w->now) abort();
        drain(w);
    }
    if (until > w->now) w->now = until;
    drain(w);
}

static void feed(world *w, floe_transport tp, const floe_addr *from, const char *p, size_t len) {
    floe_sip_txl_on_recv(w->t, w->now, tp, from, p, len);
    drain(w);
}

static char text[8192];

static void op_request(world *w, input *in) {
    uint8_t f = u8(in);
    const char *method = methods[u8(in) % 10];
    const char *branch = branches[u8(in) % 6];
    const char *host = hosts[u8(in) % 4];
    unsigned cseq = u8(in) % 4 + 1;
    const char *cseq_method = (f & 0x40) ? "INVITE" : method;
    if (strcmp(method, "ACK") == 0 || strcmp(method, "CANCEL") == 0) cseq_method = method;
    int n =
        snprintf(text, sizeof text,
                 "%s sip:bob@192.0.2.1 SIP/2.0\r\n"
                 "Via: SIP/2.0/%s %s%s;branch=%s%s\r\n"
                 "Max-Forwards: 70\r\nTo: <sip:bob@example.com>%s\r\n"
                 "From: <sip:alice@example.com>;tag=a%u\r\nCall-ID: c%u@x\r\n"
                 "CSeq: %u %s\r\nContact: <sip:alice@10.0.0.7>\r\n%s\r\n",
                 method, (f & 1) ? "TCP" : "UDP", host, (f & 2) ? ";rport" : "", branch,
                 (f & 4) ? ", SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKup" : "", (f & 8) ? ";tag=b1" : "",
                 f >> 6, f >> 7, cseq, cseq_method, (f & 0x10) ? "Content-Length: 0\r\n" : "");
    floe_addr from = addr_of(sources[u8(in) % 3]);
    feed(w, (f & 0x20) ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP, &from, text, (size_t)n);
}

static void op_response(world *w, input *in) {
    uint8_t f = u8(in);
    unsigned status = statuses[u8(in) % 12];
    uint32_t id = pick(w->client_ids, w->n_client, in);
    floe_sip_txn_info info;
    const char *branch = branches[f % 4];
    const char *method = methods[u8(in) % 10];
    floe_transport tp = FLOE_TRANSPORT_UDP;
    floe_addr from = addr_of(sources[u8(in) % 3]);
    if (floe_sip_txl_info(w->t, id, &info) == FLOE_OK) {
        if (!(f & 0x10)) branch = info.branch;
        if (!(f & 0x20) && floe_sip_method_name(info.method))
            method = floe_sip_method_name(info.method);
        tp = info.transport;
        if (!(f & 0x40)) from = info.peer;
    }
    int n = snprintf(text, sizeof text,
                     "SIP/2.0 %u X\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=%s;rport=5060\r\n%s"
                     "To: <sip:bob@example.com>%s\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
                     "Call-ID: c1@x\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
                     status, branch, (f & 0x80) ? "Via: SIP/2.0/UDP 10.9.9.9\r\n" : "",
                     (f & 8) ? "" : ";tag=b9", method);
    feed(w, tp, &from, text, (size_t)n);
}

static void op_raw(world *w, input *in) {
    size_t n = u8(in);
    if (n > in->n - in->off) n = in->n - in->off;
    memcpy(text, in->p + in->off, n);
    in->off += n;
    floe_addr from = addr_of(sources[u8(in) % 3]);
    feed(w, (n & 1) ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP, &from, text, n);
}

static floe_sip_msg req;

static void op_client(world *w, input *in) {
    uint8_t f = u8(in);
    const char *method = methods[u8(in) % 10];
    if (f & 1) method = "INVITE";
    floe_sip_msg_request(&req, method, "sip:bob@example.com");
    floe_sip_msg_add(&req, FLOE_SIP_H_MAX_FORWARDS, "70");
    floe_sip_msg_add(&req, FLOE_SIP_H_TO, "<sip:bob@example.com>");
    floe_sip_msg_add(&req, FLOE_SIP_H_FROM, "<sip:alice@example.com>;tag=a1");
    floe_sip_msg_add(&req, FLOE_SIP_H_CALL_ID, "c1@x");
    static char cs[64];
    snprintf(cs, sizeof cs, "1 %s", method);
    floe_sip_msg_add(&req, FLOE_SIP_H_CSEQ, cs);
    if (f & 2) floe_sip_msg_add(&req, FLOE_SIP_H_ROUTE, "<sip:p1.example.com;lr>");
    floe_addr to = addr_of(sources[u8(in) % 3]);
    floe_transport tp = (floe_transport)((f >> 2) % 4);
    uint32_t id = 0;
    if (strcmp(method, "ACK") == 0) {
        floe_sip_txl_send(w->t, w->now, &req, tp, &to);
    } else if (floe_sip_txl_request(w->t, w->now, &req, tp, &to, &id) == FLOE_OK) {
        if (id == 0) abort();
        remember(w->client_ids, &w->n_client, id);
    }
    drain(w);
}

static floe_sip_msg resp;
static char arena_buf[2048];

static void op_respond(world *w, input *in) {
    uint32_t id = pick(w->server_ids, w->n_server, in);
    unsigned status = statuses[u8(in) % 12];
    uint8_t f = u8(in);
    floe_sip_msg r;
    if (floe_sip_txl_request_of(w->t, id, &r) != FLOE_OK) {
        floe_sip_msg_response(&resp, status, NULL);
        floe_sip_txl_respond(w->t, w->now, id, &resp); /* must fail cleanly */
        drain(w);
        return;
    }
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    if (floe_sip_msg_response_to(&resp, &r, status, NULL, (f & 1) ? "b1" : NULL, &ar) != FLOE_OK)
        return;
    if (f & 2) floe_sip_msg_add(&resp, FLOE_SIP_H_CONTACT, "<sip:bob@192.0.2.1>");
    floe_sip_txl_respond(w->t, w->now, id, &resp);
    drain(w);
}

static void op_misc(world *w, input *in) {
    uint8_t what = u8(in);
    switch (what % 4) {
    case 0: floe_sip_txl_resend(w->t, w->now, pick(w->server_ids, w->n_server, in)); break;
    case 1: {
        uint32_t id = 0;
        if (floe_sip_txl_cancel(w->t, w->now, pick(w->client_ids, w->n_client, in), &id) == FLOE_OK)
            remember(w->client_ids, &w->n_client, id);
        break;
    }
    case 2: {
        floe_addr a = addr_of(sources[u8(in) % 3]);
        floe_sip_txl_transport_error(w->t, w->now, (floe_transport)(u8(in) % 3), &a);
        break;
    }
    case 3: { /* the TU reads a transaction's request */
        floe_sip_msg r;
        uint32_t id = pick(w->server_ids, w->n_server, in);
        if (floe_sip_txl_request_of(w->t, id, &r) == FLOE_OK && !r.request) abort();
        break;
    }
    }
    drain(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input in = {data, size, 0};
    world *w = &W;
    memset(w->server_ids, 0, sizeof w->server_ids);
    memset(w->client_ids, 0, sizeof w->client_ids);
    w->n_server = w->n_client = 0;
    w->now = 0;
    w->seed = 0x9e3779b97f4a7c15ull;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    uint8_t cfg = u8(&in);
    c.max_txns = 1 + cfg % 8;
    c.max_msg = (cfg & 0x08) ? 1024 : 4096;
    c.event_queue = (cfg & 0x10) ? 2 * c.max_msg : 0;
    c.send_queue = (cfg & 0x20) ? 2 * c.max_msg : 0;
    c.t1 = (cfg & 0x40) ? FLOE_MS(100) : 0;
    c.rand = fuzz_rand;
    c.rand_ctx = &w->seed;
    c.local[FLOE_TRANSPORT_UDP] = addr_of("192.0.2.1:5060");
    c.local[FLOE_TRANSPORT_TCP] = addr_of("192.0.2.1:5060");
    if (cfg & 0x80) c.local[FLOE_TRANSPORT_TLS] = addr_of("[2001:db8::1]:5061");
    if (floe_sip_txl_new(&w->t, &c) != FLOE_OK) abort();
    w->max_msg = c.max_msg;

    for (int ops = 0; ops < 256 && in.off < in.n; ops++) {
        switch (u8(&in) % 8) {
        case 0: op_request(w, &in); break;
        case 1: op_response(w, &in); break;
        case 2: op_raw(w, &in); break;
        case 3: op_client(w, &in); break;
        case 4: op_respond(w, &in); break;
        case 5: op_misc(w, &in); break;
        case 6: run_until(w, w->now + (floe_time_ns)u16(&in) * FLOE_MS(10)); break;
        case 7: run_until(w, w->now + (floe_time_ns)u8(&in) * FLOE_MS(1)); break;
        }
    }
    /* Every transaction ends by its timers: the longest any lives without input is the
     * guard, 3 minutes after the last provisional answer. */
    run_until(w, w->now + FLOE_S(600));
    if (floe_sip_txl_count(w->t) != 0 || floe_sip_txl_deadline(w->t) != FLOE_TIME_NEVER) abort();
    floe_sip_txl_free(w->t);
    w->t = NULL;
    return 0;
}
