/* floe simulator: TCP listeners and connections (see sim_tcp.h).
 *
 * One floe_sim_tcp is a listener or one end of a connection; all of a host's are in
 * its list, which demultiplexes arriving segments by (local, remote) address, then by
 * listening address for a SYN. The send buffer holds the bytes from snd_una on (sent
 * and not acked, then not sent yet); sequence numbers of data start at iss + 1, so
 * snd_una is the first byte of the buffer from the moment the SYN leaves.
 *
 * Callbacks can close anything, this connection included. A connection is never freed
 * while one of its callbacks runs (busy): close marks it (free_pending) and the code
 * that ran the callback frees it once it is back at the top (settle). */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

#define RTO_GRANULARITY FLOE_MS(1)   /* G of RFC 6298 §2 */
#define SBUF_FIRST 4096              /* first allocation of a send buffer */
#define SYN_RTO_AFTER_LOSS FLOE_S(3) /* RFC 6298 §5.7 */

/* A segment that arrived before the bytes ahead of it. */
typedef struct tcp_seg {
    struct tcp_seg *next;
    uint32_t seq;
    uint32_t len;
    bool fin;
    uint8_t data[];
} tcp_seg;

struct floe_sim_tcp {
    floe_sim_host *host;
    floe_sim_tcp *next; /* the host's list */
    floe_sim_tcp_state state;
    floe_addr local, remote;
    floe_sim_tcp_fn fn;
    floe_sim_tcp_accept_fn accept_fn;
    void *ctx;
    floe_sim_tcp *parent; /* the listener of a connection still in SYN-RECEIVED */
    floe_sim_timer *timer;
    bool user_gone;    /* no handle outside (closed, or not accepted yet): no callbacks */
    bool free_pending; /* finished: free once no callback of it runs */
    unsigned busy;     /* callbacks of it running */
    uint32_t mss;
    /* sending */
    uint32_t iss, snd_una, snd_nxt, snd_max;
    uint8_t *sbuf;
    size_t shead, slen, scap; /* the bytes from snd_una: sbuf[shead .. shead + slen) */
    bool fin_queued;
    uint32_t fin_seq; /* the FIN's sequence number, once queued */
    uint32_t cwnd;    /* segments */
    unsigned dupacks;
    bool in_recovery;
    uint32_t recover; /* snd_max when fast retransmit began (RFC 6582) */
    unsigned tries;   /* SYN copies sent, or expiries in a row */
    floe_time_ns srtt, rttvar, rto;
    bool have_rtt;
    bool timing; /* rtt_seq's ack will give an RTT sample */
    uint32_t rtt_seq;
    floe_time_ns rtt_start;
    /* receiving */
    uint32_t irs, rcv_nxt;
    bool fin_rcvd;
    bool ack_pending; /* what arrived needs an ack that has not left yet */
    tcp_seg *ooo;     /* early segments, by sequence number */
    size_t ooo_bytes;
    floe_sim_tcp_stats st;
};

/* ---- small helpers --------------------------------------------------------------- */

static bool seq_lt(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) < 0;
}
static bool seq_le(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) <= 0;
}
static bool seq_gt(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) > 0;
}
static bool seq_ge(uint32_t a, uint32_t b) {
    return (int32_t)(a - b) >= 0;
}

static bool is_unspecified(const floe_addr *a) {
    return (floe_addr_classify(a, NULL) & FLOE_ADDR_UNSPECIFIED) != 0;
}

static floe_time_ns now_of(const floe_sim_tcp *c) {
    return c->host->sim->now;
}

static bool overlaps(const floe_addr *bound, const floe_addr *ip, uint16_t port) {
    if (bound->family != ip->family || bound->port != port) return false;
    return is_unspecified(bound) || is_unspecified(ip) || floe_addr_ip_equal(bound, ip);
}

bool sim_tcp_port_used(const floe_sim_host *h, const floe_addr *ip, uint16_t port) {
    for (const floe_sim_tcp *c = h->tcps; c; c = c->next)
        if (overlaps(&c->local, ip, port)) return true;
    return false;
}

static bool listener_on(const floe_sim_host *h, const floe_addr *ip, uint16_t port) {
    for (const floe_sim_tcp *c = h->tcps; c; c = c->next)
        if (c->state == FLOE_SIM_TCP_LISTEN && overlaps(&c->local, ip, port)) return true;
    return false;
}

/* The live connection with these addresses (failed ones take nothing). */
static floe_sim_tcp *find_conn(const floe_sim_host *h, const floe_addr *local,
                               const floe_addr *remote) {
    for (floe_sim_tcp *c = h->tcps; c; c = c->next)
        if (c->state != FLOE_SIM_TCP_LISTEN && c->state != FLOE_SIM_TCP_CLOSED &&
            floe_addr_equal(&c->local, local) && floe_addr_equal(&c->remote, remote))
            return c;
    return NULL;
}

/* The listener for dst: bound to its IP, else to the unspecified address. */
static floe_sim_tcp *find_listener(const floe_sim_host *h, const floe_addr *dst) {
    floe_sim_tcp *wild = NULL;
    for (floe_sim_tcp *c = h->tcps; c; c = c->next) {
        if (c->state != FLOE_SIM_TCP_LISTEN || c->user_gone) continue;
        if (c->local.family != dst->family || c->local.port != dst->port) continue;
        if (floe_addr_ip_equal(&c->local, dst)) return c;
        if (is_unspecified(&c->local)) wild = c;
    }
    return wild;
}

bool sim_tcp_serves(const floe_sim_host *h, const sim_packet *pkt) {
    return find_conn(h, &pkt->dst, &pkt->src) || find_listener(h, &pkt->dst);
}

void sim_tcp_reseed(floe_sim_host *h) {
    char label[FLOE_SIM_NAME_MAX + 8];
    snprintf(label, sizeof label, "tcp:%s", h->name);
    floe_sim_rng_seed_label(&h->tcp_rng, h->sim->seed, label);
}

/* The largest segment: FLOE_SIM_TCP_MSS, or less when the first network on the way to
 * remote has a smaller MTU. */
static uint32_t path_mss(const floe_sim_host *h, const floe_addr *local, const floe_addr *remote) {
    floe_sim_iface *oi = NULL;
    uint32_t mss = FLOE_SIM_TCP_MSS;
    if (floe_sim_host_route(h, remote, local, &oi, NULL) == FLOE_OK && oi) {
        uint32_t hdr = (remote->family == FLOE_AF_INET6 ? 40 : 20) + 20;
        unsigned mtu = oi->net->link.mtu;
        if (mtu > hdr && mtu - hdr < mss) mss = mtu - hdr;
    }
    return mss;
}

/* ---- segments out ---------------------------------------------------------------- */

/* Puts one segment on its way from h (counted as sent by the world). */
static void emit(floe_sim_host *h, const floe_addr *src, const floe_addr *dst, uint8_t flags,
                 uint32_t seq, uint32_t ack, const uint8_t *p, size_t len) {
    floe_sim *sim = h->sim;
    sim_packet *pkt = malloc(sizeof *pkt + (len ? len : 1));
    if (!pkt) return; /* as if lost: retransmission covers it */
    memset(pkt, 0, sizeof *pkt);
    pkt->ev.kind = SIM_EV_PACKET;
    pkt->ev.pos = SIM_NOT_QUEUED;
    pkt->id = ++sim->next_id;
    pkt->src = *src;
    pkt->dst = *dst;
    pkt->ttl = FLOE_SIM_TTL;
    pkt->proto = FLOE_SIM_PROTO_TCP;
    pkt->tcp_flags = flags;
    pkt->tcp_seq = seq;
    pkt->tcp_ack = ack;
    pkt->len = len;
    if (len) memcpy(pkt->data, p, len);
    sim_count(sim, FLOE_SIM_TX, NULL, h);
    sim->in_flight++;
    sim_host_send(sim, h, pkt, src); /* no route: counted there, retransmission retries */
}

/* A segment of c; every one but the first SYN carries the current ack. */
static void send_seg(floe_sim_tcp *c, uint8_t flags, uint32_t seq, const uint8_t *p, size_t len) {
    uint32_t ack = 0;
    if (c->state != FLOE_SIM_TCP_SYN_SENT) {
        flags |= FLOE_SIM_TCP_ACK;
        ack = c->rcv_nxt;
        c->ack_pending = false;
    }
    c->st.segments_sent++;
    emit(c->host, &c->local, &c->remote, flags, seq, ack, p, len);
}

static void arm(floe_sim_tcp *c, floe_time_ns d) {
    floe_sim_timer_arm(c->timer, now_of(c) + d);
}

static bool armed(const floe_sim_tcp *c) {
    return floe_sim_timer_when(c->timer) != FLOE_TIME_NEVER;
}

/* The SYN (connecting side) or SYN-ACK (accepting side), first or again. */
static void send_syn(floe_sim_tcp *c) {
    if (c->st.segments_sent > 0) {
        c->st.retransmits++;
        c->timing = false; /* Karn: an answer could be to either copy */
    } else {
        c->timing = true;
        c->rtt_seq = c->iss + 1;
        c->rtt_start = now_of(c);
    }
    send_seg(c, FLOE_SIM_TCP_SYN, c->iss, NULL, 0);
    arm(c, c->rto);
}

static bool sending_state(floe_sim_tcp_state s) {
    return s == FLOE_SIM_TCP_ESTABLISHED || s == FLOE_SIM_TCP_CLOSE_WAIT ||
           s == FLOE_SIM_TCP_FIN_WAIT_1 || s == FLOE_SIM_TCP_CLOSING || s == FLOE_SIM_TCP_LAST_ACK;
}

/* Sends the segment starting at seq (at most limit bytes of data), with the FIN when it
 * ends the stream. Returns the sequence space it took. */
static uint32_t transmit(floe_sim_tcp *c, uint32_t seq, size_t limit) {
    size_t off = seq - c->snd_una;
    size_t n = c->slen - off;
    if (n > c->mss) n = c->mss;
    if (n > limit) n = limit;
    bool fin = c->fin_queued && seq + (uint32_t)n == c->fin_seq;
    if (n == 0 && !fin) return 0;
    uint32_t span = (uint32_t)n + (fin ? 1 : 0);
    if (seq_lt(seq, c->snd_max)) {
        c->st.retransmits++;
        c->timing = false;
    } else if (!c->timing) {
        c->timing = true;
        c->rtt_seq = seq + span;
        c->rtt_start = now_of(c);
    }
    uint8_t flags = (n ? FLOE_SIM_TCP_PSH : 0) | (fin ? FLOE_SIM_TCP_FIN : 0);
    send_seg(c, flags, seq, c->sbuf ? c->sbuf + c->shead + off : NULL, n);
    if (seq_gt(seq + span, c->snd_max)) c->snd_max = seq + span;
    if (fin && c->state == FLOE_SIM_TCP_ESTABLISHED) c->state = FLOE_SIM_TCP_FIN_WAIT_1;
    if (fin && c->state == FLOE_SIM_TCP_CLOSE_WAIT) c->state = FLOE_SIM_TCP_LAST_ACK;
    if (!armed(c)) arm(c, c->rto);
    return span;
}

/* Sends what the windows allow: the congestion window and the peer's fixed window. */
static void output(floe_sim_tcp *c) {
    if (!sending_state(c->state)) return;
    for (;;) {
        size_t off = c->snd_nxt - c->snd_una;
        bool data = off < c->slen;
        bool fin = c->fin_queued && c->snd_nxt == c->fin_seq;
        if (!data && !fin) return;
        size_t wnd = (size_t)c->cwnd * c->mss;
        if (wnd > FLOE_SIM_TCP_WINDOW) wnd = FLOE_SIM_TCP_WINDOW;
        if (off >= wnd) return;
        uint32_t span = transmit(c, c->snd_nxt, wnd - off);
        if (span == 0) return;
        c->snd_nxt += span;
    }
}

/* Sends the pending ack unless a segment just carried it. */
static void finish(floe_sim_tcp *c) {
    if (c->state == FLOE_SIM_TCP_CLOSED || c->state == FLOE_SIM_TCP_LISTEN) return;
    output(c);
    if (c->ack_pending) send_seg(c, 0, c->snd_nxt, NULL, 0);
}

/* ---- lifetime -------------------------------------------------------------------- */

static void free_ooo(floe_sim_tcp *c) {
    while (c->ooo) {
        tcp_seg *s = c->ooo;
        c->ooo = s->next;
        free(s);
    }
    c->ooo_bytes = 0;
}

/* Frees c at once (never while busy). A listener takes its half-open connections with
 * it, each with a RST to its peer when `reset`. */
static void destroy(floe_sim_tcp *c, bool reset);

static void unlink_tcp(floe_sim_tcp *c) {
    for (floe_sim_tcp **pp = &c->host->tcps; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            return;
        }
    }
}

static void destroy(floe_sim_tcp *c, bool reset) {
    floe_sim_host *h = c->host;
    if (c->state == FLOE_SIM_TCP_LISTEN) {
        for (;;) {
            floe_sim_tcp *k = h->tcps;
            while (k && k->parent != c)
                k = k->next;
            if (!k) break;
            if (reset) send_seg(k, FLOE_SIM_TCP_RST, k->snd_max, NULL, 0);
            k->parent = NULL;
            destroy(k, reset);
        }
    }
    unlink_tcp(c);
    floe_sim_timer_free(c->timer);
    free_ooo(c);
    free(c->sbuf);
    h->sim->n_socks--;
    free(c);
}

static void settle(floe_sim_tcp *c) {
    if (c->busy == 0 && c->free_pending) destroy(c, true);
}

void sim_tcp_close_all(floe_sim_host *h) {
    while (h->tcps) {
        floe_sim_tcp *c = h->tcps;
        h->tcps = c->next;
        floe_sim_timer_free(c->timer);
        free_ooo(c);
        free(c->sbuf);
        h->sim->n_socks--;
        free(c);
    }
}

/* Stops everything: no timer, no buffers. */
static void enter_closed(floe_sim_tcp *c) {
    c->state = FLOE_SIM_TCP_CLOSED;
    if (c->timer) floe_sim_timer_disarm(c->timer);
    free_ooo(c);
    free(c->sbuf);
    c->sbuf = NULL;
    c->shead = c->slen = c->scap = 0;
}

static void event(floe_sim_tcp *c, floe_sim_tcp_event ev, const uint8_t *p, size_t len) {
    if (c->user_gone || !c->fn) return;
    c->busy++;
    c->fn(c->ctx, c, now_of(c), ev, p, len);
    c->busy--;
}

/* The connection is over without a proper close: tell the user, or go. */
static void fail(floe_sim_tcp *c) {
    enter_closed(c);
    if (c->user_gone)
        c->free_pending = true;
    else
        event(c, FLOE_SIM_TCP_EV_FAILED, NULL, 0);
}

static void enter_time_wait(floe_sim_tcp *c) {
    c->state = FLOE_SIM_TCP_TIME_WAIT;
    arm(c, FLOE_SIM_TCP_2MSL);
}

/* A new connection object on h with its timer. FLOE_ERR_LIMIT, FLOE_ERR_NOMEM. */
static void on_timer(void *ctx, floe_sim_timer *t, floe_time_ns now);

static int conn_new(floe_sim_host *h, floe_sim_tcp **out) {
    floe_sim *sim = h->sim;
    *out = NULL;
    if (sim->n_socks >= sim->cfg.max_sockets) return FLOE_ERR_LIMIT;
    floe_sim_tcp *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    int rc = floe_sim_timer_new(sim, on_timer, c, &c->timer);
    if (rc != FLOE_OK) {
        free(c);
        return rc;
    }
    c->host = h;
    c->rto = FLOE_SIM_TCP_RTO_INITIAL;
    c->cwnd = FLOE_SIM_TCP_INITIAL_CWND;
    c->iss = (uint32_t)floe_sim_rng_next(&h->tcp_rng);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss + 1;
    c->next = h->tcps;
    h->tcps = c;
    sim->n_socks++;
    *out = c;
    return FLOE_OK;
}

/* ---- the retransmission timer ---------------------------------------------------- */

static void rtt_sample(floe_sim_tcp *c, floe_time_ns r) {
    if (!c->have_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = true;
    } else {
        floe_time_ns delta = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + delta) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    floe_time_ns var = 4 * c->rttvar;
    c->rto = c->srtt + (var > RTO_GRANULARITY ? var : RTO_GRANULARITY);
    if (c->rto < FLOE_SIM_TCP_RTO_MIN) c->rto = FLOE_SIM_TCP_RTO_MIN;
    if (c->rto > FLOE_SIM_TCP_RTO_MAX) c->rto = FLOE_SIM_TCP_RTO_MAX;
}

static void backoff(floe_sim_tcp *c) {
    c->rto *= 2;
    if (c->rto > FLOE_SIM_TCP_RTO_MAX) c->rto = FLOE_SIM_TCP_RTO_MAX;
}

static void on_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    (void)now;
    floe_sim_tcp *c = ctx;
    c->busy++;
    switch (c->state) {
    case FLOE_SIM_TCP_SYN_SENT:
    case FLOE_SIM_TCP_SYN_RECEIVED:
        c->st.timeouts++;
        if (++c->tries >= FLOE_SIM_TCP_SYN_TRIES) {
            fail(c); /* a half-open accepted connection has no user: it just goes */
            break;
        }
        backoff(c);
        send_syn(c);
        break;
    case FLOE_SIM_TCP_FIN_WAIT_2:
    case FLOE_SIM_TCP_TIME_WAIT:
        enter_closed(c);
        c->free_pending = true;
        break;
    default:
        if (!sending_state(c->state) || c->snd_una == c->snd_max) break;
        c->st.timeouts++;
        if (++c->tries > FLOE_SIM_TCP_MAX_RETRIES) {
            fail(c);
            break;
        }
        backoff(c);
        /* Go back to the oldest byte not acked, one segment at a time again. */
        c->snd_nxt = c->snd_una;
        c->cwnd = 1;
        c->dupacks = 0;
        c->in_recovery = false;
        c->timing = false;
        output(c);
        break;
    }
    c->busy--;
    settle(c);
}

/* ---- segments in ----------------------------------------------------------------- */

/* Answers a segment nobody takes with a RST (RFC 9293 §3.10.7.1), unless it is one. */
static void refuse(floe_sim *sim, floe_sim_host *h, sim_packet *pkt) {
    floe_addr src = pkt->dst, dst = pkt->src;
    uint8_t f = pkt->tcp_flags;
    uint32_t seq = pkt->tcp_seq, ack = pkt->tcp_ack;
    uint32_t span =
        (uint32_t)pkt->len + ((f & FLOE_SIM_TCP_SYN) ? 1 : 0) + ((f & FLOE_SIM_TCP_FIN) ? 1 : 0);
    sim_drop(sim, pkt, FLOE_SIM_DROP_NO_LISTENER, NULL, h, h);
    if (f & FLOE_SIM_TCP_RST) return;
    if (f & FLOE_SIM_TCP_ACK)
        emit(h, &src, &dst, FLOE_SIM_TCP_RST, ack, 0, NULL, 0);
    else
        emit(h, &src, &dst, FLOE_SIM_TCP_RST | FLOE_SIM_TCP_ACK, 0, seq + span, NULL, 0);
}

/* The FIN arrived in order. */
static void got_fin(floe_sim_tcp *c) {
    c->rcv_nxt++;
    c->fin_rcvd = true;
    c->ack_pending = true;
    free_ooo(c);
    switch (c->state) {
    case FLOE_SIM_TCP_ESTABLISHED: c->state = FLOE_SIM_TCP_CLOSE_WAIT; break;
    case FLOE_SIM_TCP_FIN_WAIT_1: c->state = FLOE_SIM_TCP_CLOSING; break;
    case FLOE_SIM_TCP_FIN_WAIT_2: enter_time_wait(c); break;
    default: break;
    }
    event(c, FLOE_SIM_TCP_EV_CLOSED, NULL, 0);
}

/* Bytes (and maybe the FIN) that continue the stream. false when the connection is
 * over afterwards (the user aborted it in the callback). */
static bool take(floe_sim_tcp *c, const uint8_t *p, size_t n, bool fin) {
    if (n) {
        c->rcv_nxt += (uint32_t)n;
        c->st.bytes_received += n;
        c->ack_pending = true;
        event(c, FLOE_SIM_TCP_EV_DATA, p, n);
        if (c->state == FLOE_SIM_TCP_CLOSED) return false;
    }
    if (fin) got_fin(c);
    return c->state != FLOE_SIM_TCP_CLOSED;
}

/* Keeps an early segment (trimmed to the window). */
static void keep(floe_sim_tcp *c, uint32_t seq, const uint8_t *p, size_t len, bool fin) {
    uint32_t off = seq - c->rcv_nxt;
    if ((size_t)off + len > FLOE_SIM_TCP_WINDOW) {
        len = FLOE_SIM_TCP_WINDOW - off;
        fin = false;
    }
    if ((len == 0 && !fin) || c->ooo_bytes + len > FLOE_SIM_TCP_WINDOW) {
        c->st.discarded++;
        return;
    }
    tcp_seg **pp = &c->ooo;
    while (*pp && seq_lt((*pp)->seq, seq))
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq && (*pp)->len >= len && ((*pp)->fin || !fin)) {
        c->st.duplicates++;
        return;
    }
    tcp_seg *s = malloc(sizeof *s + (len ? len : 1));
    if (!s) {
        c->st.discarded++;
        return;
    }
    s->seq = seq;
    s->len = (uint32_t)len;
    s->fin = fin;
    if (len) memcpy(s->data, p, len);
    s->next = *pp;
    *pp = s;
    c->ooo_bytes += len;
    c->st.out_of_order++;
}

/* Passes up the kept segments the stream has reached. */
static void drain_ooo(floe_sim_tcp *c) {
    while (c->ooo && !c->fin_rcvd && seq_le(c->ooo->seq, c->rcv_nxt)) {
        tcp_seg *s = c->ooo;
        c->ooo = s->next;
        c->ooo_bytes -= s->len;
        uint32_t skip = c->rcv_nxt - s->seq;
        bool alive = true;
        if (skip < s->len || (skip == s->len && s->fin))
            alive = take(c, s->data + skip, s->len - skip, s->fin);
        free(s);
        if (!alive) return;
    }
}

static void on_data(floe_sim_tcp *c, const sim_packet *pkt) {
    bool fin = (pkt->tcp_flags & FLOE_SIM_TCP_FIN) != 0;
    size_t len = pkt->len;
    if (len == 0 && !fin) return;
    c->ack_pending = true;
    if (c->fin_rcvd) { /* everything after the FIN is a repeat */
        c->st.duplicates++;
        return;
    }
    uint32_t seq = pkt->tcp_seq;
    if (seq_gt(seq, c->rcv_nxt)) {
        if (seq - c->rcv_nxt >= FLOE_SIM_TCP_WINDOW)
            c->st.discarded++;
        else
            keep(c, seq, pkt->data, len, fin);
        return;
    }
    uint32_t skip = c->rcv_nxt - seq;
    if (skip > len || (skip == len && !fin)) {
        c->st.duplicates++;
        return;
    }
    if (take(c, pkt->data + skip, len - skip, fin)) drain_ooo(c);
}

/* Retransmits the oldest segment not acked (fast retransmit, partial acks). */
static void resend_first(floe_sim_tcp *c) {
    transmit(c, c->snd_una, c->mss);
    if (seq_lt(c->snd_nxt, c->snd_una)) c->snd_nxt = c->snd_una;
}

/* The ack field of a synchronized connection. false when the connection is over. */
static bool on_ack(floe_sim_tcp *c, const sim_packet *pkt) {
    uint32_t ack = pkt->tcp_ack;
    if (seq_gt(ack, c->snd_max)) { /* acks what was never sent: ack back, drop it */
        c->st.discarded++;
        c->ack_pending = true;
        return false;
    }
    if (seq_gt(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        bool fin_acked = c->fin_queued && seq_gt(ack, c->fin_seq);
        size_t bytes = fin_acked ? acked - 1 : acked;
        c->shead += bytes;
        c->slen -= bytes;
        if (c->slen == 0) c->shead = 0;
        c->st.bytes_acked += bytes;
        c->snd_una = ack;
        if (seq_lt(c->snd_nxt, ack)) c->snd_nxt = ack;
        if (c->timing && seq_ge(ack, c->rtt_seq)) {
            rtt_sample(c, now_of(c) - c->rtt_start);
            c->timing = false;
        }
        c->tries = 0;
        uint32_t cwnd_max = 1 + FLOE_SIM_TCP_WINDOW / c->mss;
        if (c->in_recovery) {
            if (seq_ge(ack, c->recover))
                c->in_recovery = false;
            else
                resend_first(c); /* a partial ack: the next hole */
        } else if (c->cwnd < cwnd_max) {
            c->cwnd++;
        }
        c->dupacks = 0;
        if (c->snd_una == c->snd_max)
            floe_sim_timer_disarm(c->timer);
        else
            arm(c, c->rto);
        if (fin_acked) {
            switch (c->state) {
            case FLOE_SIM_TCP_FIN_WAIT_1:
                c->state = FLOE_SIM_TCP_FIN_WAIT_2;
                arm(c, FLOE_SIM_TCP_FIN_TIMEOUT);
                break;
            case FLOE_SIM_TCP_CLOSING: enter_time_wait(c); break;
            case FLOE_SIM_TCP_LAST_ACK:
                enter_closed(c);
                c->free_pending = true;
                return false;
            default: break;
            }
        }
    } else if (ack == c->snd_una && pkt->len == 0 && !(pkt->tcp_flags & FLOE_SIM_TCP_FIN) &&
               c->snd_max != c->snd_una) {
        if (++c->dupacks == 3 && !c->in_recovery) {
            c->in_recovery = true;
            c->recover = c->snd_max;
            c->cwnd = c->cwnd / 2 > 2 ? c->cwnd / 2 : 2;
            c->st.fast_retransmits++;
            resend_first(c);
        }
    }
    return true;
}

static void on_rst(floe_sim_tcp *c, const sim_packet *pkt) {
    uint32_t off = pkt->tcp_seq - c->rcv_nxt;
    if (off >= FLOE_SIM_TCP_WINDOW) { /* not in the window: ignore it (RFC 5961 §3) */
        c->st.discarded++;
        return;
    }
    if (c->state == FLOE_SIM_TCP_TIME_WAIT) {
        enter_closed(c);
        c->free_pending = true;
        return;
    }
    fail(c);
}

static void on_syn_sent(floe_sim_tcp *c, const sim_packet *pkt) {
    uint8_t f = pkt->tcp_flags;
    if ((f & FLOE_SIM_TCP_ACK) && pkt->tcp_ack != c->iss + 1) {
        c->st.discarded++;
        if (!(f & FLOE_SIM_TCP_RST))
            emit(c->host, &c->local, &c->remote, FLOE_SIM_TCP_RST, pkt->tcp_ack, 0, NULL, 0);
        return;
    }
    if (f & FLOE_SIM_TCP_RST) {
        if (f & FLOE_SIM_TCP_ACK)
            fail(c); /* connection refused */
        else
            c->st.discarded++;
        return;
    }
    /* Only a SYN-ACK goes on: a bare SYN would be a simultaneous open, not modelled. */
    if ((f & (FLOE_SIM_TCP_SYN | FLOE_SIM_TCP_ACK)) != (FLOE_SIM_TCP_SYN | FLOE_SIM_TCP_ACK)) {
        c->st.discarded++;
        return;
    }
    c->irs = pkt->tcp_seq;
    c->rcv_nxt = c->irs + 1;
    if (c->timing)
        rtt_sample(c, now_of(c) - c->rtt_start);
    else if (!c->have_rtt)
        c->rto = SYN_RTO_AFTER_LOSS;
    c->timing = false;
    c->tries = 0;
    floe_sim_timer_disarm(c->timer);
    c->state = FLOE_SIM_TCP_ESTABLISHED;
    c->ack_pending = true;
    event(c, FLOE_SIM_TCP_EV_CONNECTED, NULL, 0);
    finish(c);
}

/* A segment for a half-open accepted connection. true when it completed the handshake
 * and the rest of the segment (data, FIN) is to be read. */
static bool on_syn_received(floe_sim_tcp *c, const sim_packet *pkt) {
    uint8_t f = pkt->tcp_flags;
    if (f & FLOE_SIM_TCP_RST) {
        if (pkt->tcp_seq - c->rcv_nxt < FLOE_SIM_TCP_WINDOW)
            fail(c);
        else
            c->st.discarded++;
        return false;
    }
    if (f & FLOE_SIM_TCP_SYN) {
        if (!(f & FLOE_SIM_TCP_ACK) && pkt->tcp_seq == c->irs)
            send_syn(c); /* the first SYN, or its copy: (again) a SYN-ACK */
        else
            c->st.discarded++;
        return false;
    }
    if (!(f & FLOE_SIM_TCP_ACK)) {
        c->st.discarded++;
        return false;
    }
    if (pkt->tcp_ack != c->iss + 1) {
        c->st.discarded++;
        emit(c->host, &c->local, &c->remote, FLOE_SIM_TCP_RST, pkt->tcp_ack, 0, NULL, 0);
        return false;
    }
    if (c->timing) rtt_sample(c, now_of(c) - c->rtt_start);
    c->timing = false;
    c->tries = 0;
    floe_sim_timer_disarm(c->timer);
    c->state = FLOE_SIM_TCP_ESTABLISHED;
    floe_sim_tcp *l = c->parent;
    c->parent = NULL;
    if (!l || l->user_gone || !l->accept_fn) { /* nobody to take it any more */
        send_seg(c, FLOE_SIM_TCP_RST, c->snd_max, NULL, 0);
        enter_closed(c);
        c->free_pending = true;
        return false;
    }
    c->user_gone = false;
    l->busy++;
    l->accept_fn(l->ctx, l, c, now_of(c));
    l->busy--;
    settle(l);
    return c->state != FLOE_SIM_TCP_CLOSED;
}

static void process(floe_sim_tcp *c, const sim_packet *pkt) {
    uint8_t f = pkt->tcp_flags;
    c->st.segments_received++;
    if (c->state == FLOE_SIM_TCP_SYN_SENT) {
        on_syn_sent(c, pkt);
        return;
    }
    if (c->state == FLOE_SIM_TCP_SYN_RECEIVED && !on_syn_received(c, pkt)) return;
    if (f & FLOE_SIM_TCP_RST) {
        on_rst(c, pkt);
        return;
    }
    if (f & FLOE_SIM_TCP_SYN) {
        /* A copy of the peer's SYN-ACK (our ack was lost) or a stray SYN: ack it. */
        if (!((f & FLOE_SIM_TCP_ACK) && pkt->tcp_seq == c->irs)) c->st.discarded++;
        c->ack_pending = true;
        finish(c);
        return;
    }
    if (!(f & FLOE_SIM_TCP_ACK)) {
        c->st.discarded++;
        return;
    }
    bool alive = on_ack(c, pkt);
    if (c->state == FLOE_SIM_TCP_CLOSED) return;
    if (alive) on_data(c, pkt);
    finish(c);
}

void sim_tcp_arrive(floe_sim *sim, floe_sim_host *h, sim_packet *pkt) {
    floe_sim_tcp *c = find_conn(h, &pkt->dst, &pkt->src);
    uint8_t f = pkt->tcp_flags;
    if (!c && (f & (FLOE_SIM_TCP_SYN | FLOE_SIM_TCP_ACK | FLOE_SIM_TCP_RST)) == FLOE_SIM_TCP_SYN) {
        floe_sim_tcp *l = find_listener(h, &pkt->dst);
        if (l) {
            if (conn_new(h, &c) != FLOE_OK) {
                sim_drop(sim, pkt, FLOE_SIM_DROP_TCP_LIMIT, NULL, h, h);
                return;
            }
            c->state = FLOE_SIM_TCP_SYN_RECEIVED;
            c->parent = l;
            c->user_gone = true; /* until accepted */
            c->local = pkt->dst;
            c->local.scope_id = 0;
            c->remote = pkt->src;
            c->remote.scope_id = 0;
            c->irs = pkt->tcp_seq;
            c->rcv_nxt = c->irs + 1;
            c->mss = path_mss(h, &c->local, &c->remote);
        }
    }
    if (!c) {
        refuse(sim, h, pkt);
        return;
    }
    sim_deliver_tcp(sim, pkt, h);
    c->busy++;
    process(c, pkt);
    c->busy--;
    sim_packet_free(pkt);
    settle(c);
}

/* ---- the API --------------------------------------------------------------------- */

static int pick_port(floe_sim_host *h, const floe_addr *ip, uint16_t *port) {
    unsigned span = 65536u - FLOE_SIM_EPHEMERAL_FIRST;
    for (unsigned k = 0; k < span; k++) {
        uint16_t p = h->next_tcp_ephemeral;
        h->next_tcp_ephemeral = p == 65535 ? FLOE_SIM_EPHEMERAL_FIRST : (uint16_t)(p + 1);
        if (!sim_tcp_port_used(h, ip, p)) {
            *port = p;
            return FLOE_OK;
        }
    }
    return FLOE_ERR_LIMIT;
}

static bool bind_ok(const floe_sim_host *h, const floe_addr *bind) {
    if (bind->family != FLOE_AF_INET4 && bind->family != FLOE_AF_INET6) return false;
    return is_unspecified(bind) || floe_sim_host_owns(h, bind);
}

int floe_sim_tcp_listen(floe_sim_host *h, const floe_addr *bind, floe_sim_tcp_accept_fn fn,
                        void *ctx, floe_sim_tcp **out) {
    *out = NULL;
    if (!fn || !bind || !bind_ok(h, bind)) return FLOE_ERR_INVAL;
    floe_sim *sim = h->sim;
    if (sim->n_socks >= sim->cfg.max_sockets) return FLOE_ERR_LIMIT;
    floe_addr local = *bind;
    local.scope_id = 0;
    if (local.port == 0) {
        if (pick_port(h, &local, &local.port) != FLOE_OK) return FLOE_ERR_LIMIT;
    } else if (sim_tcp_port_used(h, &local, local.port)) {
        return FLOE_ERR_STATE;
    }
    floe_sim_tcp *l = calloc(1, sizeof *l);
    if (!l) return FLOE_ERR_NOMEM;
    l->host = h;
    l->state = FLOE_SIM_TCP_LISTEN;
    l->local = local;
    l->accept_fn = fn;
    l->ctx = ctx;
    l->next = h->tcps;
    h->tcps = l;
    sim->n_socks++;
    *out = l;
    return FLOE_OK;
}

int floe_sim_tcp_connect(floe_sim_host *h, const floe_addr *bind, const floe_addr *dst,
                         floe_sim_tcp_fn fn, void *ctx, floe_sim_tcp **out) {
    *out = NULL;
    if (!bind || !dst || !bind_ok(h, bind)) return FLOE_ERR_INVAL;
    if (dst->family != bind->family || dst->port == 0 || is_unspecified(dst)) return FLOE_ERR_INVAL;
    floe_addr remote = *dst;
    remote.scope_id = 0;
    floe_addr local;
    if (floe_sim_host_route(h, &remote, bind, NULL, &local) != FLOE_OK) return FLOE_ERR_UNREACHABLE;
    local.scope_id = 0;
    if (bind->port != 0) {
        local.port = bind->port;
        if (listener_on(h, &local, local.port) || find_conn(h, &local, &remote))
            return FLOE_ERR_STATE;
    } else if (pick_port(h, &local, &local.port) != FLOE_OK) {
        return FLOE_ERR_LIMIT;
    }
    floe_sim_tcp *c;
    int rc = conn_new(h, &c);
    if (rc != FLOE_OK) return rc;
    c->state = FLOE_SIM_TCP_SYN_SENT;
    c->local = local;
    c->remote = remote;
    c->fn = fn;
    c->ctx = ctx;
    c->mss = path_mss(h, &local, &remote);
    send_syn(c);
    *out = c;
    return FLOE_OK;
}

void floe_sim_tcp_set_callback(floe_sim_tcp *c, floe_sim_tcp_fn fn, void *ctx) {
    c->fn = fn;
    c->ctx = ctx;
}

static bool user_can_send(const floe_sim_tcp *c) {
    return !c->user_gone && !c->fin_queued &&
           (c->state == FLOE_SIM_TCP_SYN_SENT || c->state == FLOE_SIM_TCP_ESTABLISHED ||
            c->state == FLOE_SIM_TCP_CLOSE_WAIT);
}

size_t floe_sim_tcp_send_space(const floe_sim_tcp *c) {
    return user_can_send(c) ? FLOE_SIM_TCP_SNDBUF - c->slen : 0;
}

int floe_sim_tcp_send(floe_sim_tcp *c, const uint8_t *p, size_t len) {
    if (!c) return FLOE_ERR_INVAL;
    if (!user_can_send(c)) return FLOE_ERR_STATE;
    if (len == 0) return FLOE_OK;
    if (!p) return FLOE_ERR_INVAL;
    if (len > FLOE_SIM_TCP_SNDBUF - c->slen) return FLOE_ERR_NOSPACE;
    if (c->shead > 0 && c->shead + c->slen + len > c->scap) {
        memmove(c->sbuf, c->sbuf + c->shead, c->slen);
        c->shead = 0;
    }
    if (c->slen + len > c->scap) {
        size_t cap = c->scap ? c->scap : SBUF_FIRST;
        while (cap < c->slen + len)
            cap *= 2;
        if (cap > FLOE_SIM_TCP_SNDBUF) cap = FLOE_SIM_TCP_SNDBUF;
        uint8_t *b = realloc(c->sbuf, cap);
        if (!b) return FLOE_ERR_NOMEM;
        c->sbuf = b;
        c->scap = cap;
    }
    memcpy(c->sbuf + c->shead + c->slen, p, len);
    c->slen += len;
    output(c);
    return FLOE_OK;
}

void floe_sim_tcp_close(floe_sim_tcp *c) {
    if (!c || c->user_gone) return;
    c->user_gone = true;
    c->fn = NULL;
    c->accept_fn = NULL;
    switch (c->state) {
    case FLOE_SIM_TCP_SYN_SENT:
        if (c->slen == 0) { /* nothing to deliver: abandon the attempt */
            enter_closed(c);
            c->free_pending = true;
            break;
        }
        c->fin_queued = true;
        c->fin_seq = c->snd_una + (uint32_t)c->slen;
        break;
    case FLOE_SIM_TCP_ESTABLISHED:
    case FLOE_SIM_TCP_CLOSE_WAIT:
        c->fin_queued = true;
        c->fin_seq = c->snd_una + (uint32_t)c->slen;
        output(c);
        break;
    default: /* a listener, a failed connection */ c->free_pending = true; break;
    }
    settle(c);
}

void floe_sim_tcp_abort(floe_sim_tcp *c) {
    if (!c || c->user_gone) return;
    c->user_gone = true;
    c->fn = NULL;
    c->accept_fn = NULL;
    if (c->state != FLOE_SIM_TCP_LISTEN) {
        if (c->state != FLOE_SIM_TCP_SYN_SENT && c->state != FLOE_SIM_TCP_CLOSED)
            send_seg(c, FLOE_SIM_TCP_RST, c->snd_max, NULL, 0);
        enter_closed(c);
    }
    c->free_pending = true;
    settle(c);
}

floe_addr floe_sim_tcp_local(const floe_sim_tcp *c) {
    return c->local;
}

floe_addr floe_sim_tcp_remote(const floe_sim_tcp *c) {
    return c->remote;
}

floe_sim_host *floe_sim_tcp_host(const floe_sim_tcp *c) {
    return c->host;
}

floe_sim_tcp_state floe_sim_tcp_get_state(const floe_sim_tcp *c) {
    return c->state;
}

const char *floe_sim_tcp_state_name(floe_sim_tcp_state s) {
    static const char *const names[] = {
        [FLOE_SIM_TCP_LISTEN] = "LISTEN",
        [FLOE_SIM_TCP_SYN_SENT] = "SYN-SENT",
        [FLOE_SIM_TCP_SYN_RECEIVED] = "SYN-RECEIVED",
        [FLOE_SIM_TCP_ESTABLISHED] = "ESTABLISHED",
        [FLOE_SIM_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
        [FLOE_SIM_TCP_FIN_WAIT_2] = "FIN-WAIT-2",
        [FLOE_SIM_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
        [FLOE_SIM_TCP_CLOSING] = "CLOSING",
        [FLOE_SIM_TCP_LAST_ACK] = "LAST-ACK",
        [FLOE_SIM_TCP_TIME_WAIT] = "TIME-WAIT",
        [FLOE_SIM_TCP_CLOSED] = "CLOSED",
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

size_t floe_sim_tcp_count(const floe_sim_host *h) {
    size_t n = 0;
    for (const floe_sim_tcp *c = h->tcps; c; c = c->next)
        n++;
    return n;
}

void floe_sim_tcp_get_stats(const floe_sim_tcp *c, floe_sim_tcp_stats *out) {
    *out = c->st;
    out->srtt = c->srtt;
    out->rttvar = c->rttvar;
    out->rto = c->rto;
    out->mss = c->mss;
}
