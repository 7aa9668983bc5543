/* floe simulator runtime: an ICE peer on a simulated host (see sim_ice.h). */
#include "sim_ice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/ice_sdp.h"
#include "floe/turn.h"
#include "sim_endpoint.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_tcp.h"
#include "sim_udp.h"

#define DATA_HDR 8     /* 0x80, kind, 2 spare bytes, 32-bit sequence number */
#define DATA_REQUEST 0 /* byte 1: a datagram to echo */
#define DATA_ECHO 1    /* byte 1: an echo */

#define STREAM_RX 4096 /* the largest framed message a TURN server sends us, and more */

/* The TCP connection behind one of the agent's stream bases (TURN over TCP). */
typedef struct sim_stream {
    floe_sim_ice *p;
    unsigned base;
    bool dead;
    floe_ice_stream st;
    floe_sim_tcp *c;
    size_t rx_len;
    uint8_t rx[STREAM_RX];
} sim_stream;

struct floe_sim_ice {
    floe_sim *sim;
    floe_sim_ice_config cfg;
    char name[FLOE_SIM_ICE_NAME_MAX];
    floe_sim_rng rng;
    floe_ice_agent *agent;
    floe_sim_endpoint *ep;
    floe_sim_timer *start_timer, *sdp_timer, *data_timer;
    unsigned n_socks;
    bool armed, gathering, gathered, applied, sent, start_pending;
    /* signalling */
    floe_sim_ice *peer;
    bool offerer;
    floe_time_ns delay;
    char local_sdp[FLOE_SIM_ICE_SDP_MAX];
    size_t local_len;
    char incoming[FLOE_SIM_ICE_SDP_MAX];
    size_t incoming_len;
    floe_ice_sdp_work *work;
    /* results */
    floe_sim_ice_result res;
    floe_sim_ice_entry *timeline;
    size_t n_timeline;
    floe_sim_ice_entry spare; /* the entry past the timeline's cap */
    floe_sim_ice_log_fn log;
    void *log_ctx;
    /* data */
    uint8_t *seen; /* one bit per sequence number */
    unsigned next_seq;
    bool data_running;
    uint8_t dbuf[FLOE_SIM_ICE_DATA_SIZE];
    uint8_t wire[FLOE_SIM_ICE_DATA_SIZE + 64]; /* a datagram wrapped for a relay */
    sim_stream *streams[FLOE_ICE_MAX_BASES];   /* by base, made on first use */
};

/* ---- stream bases: TURN over TCP -------------------------------------------------- */

static void on_data(floe_sim_ice *p, floe_time_ns now, const floe_ice_recv_info *info);

static void stream_end(sim_stream *k, floe_time_ns now) {
    if (k->dead) return;
    k->dead = true;
    floe_sim_tcp_close(k->c);
    k->c = NULL;
    k->p->res.relay_streams_lost++;
    floe_ice_agent_stream_closed(k->p->agent, now, k->base);
}

/* Cuts what arrived into whole messages (RFC 8656 §12.5 framing) for the agent. */
static void stream_rx(sim_stream *k, floe_time_ns now, const uint8_t *d, size_t len) {
    floe_sim_ice *p = k->p;
    while (len > 0 && !k->dead) {
        size_t take = sizeof k->rx - k->rx_len < len ? sizeof k->rx - k->rx_len : len;
        memcpy(k->rx + k->rx_len, d, take);
        k->rx_len += take;
        d += take;
        len -= take;
        size_t off = 0, need = 0;
        int rc;
        while ((rc = floe_turn_frame_len(k->rx + off, k->rx_len - off, &need)) == FLOE_OK &&
               need <= k->rx_len - off) {
            floe_ice_recv_info info;
            floe_ice_agent_on_recv(p->agent, now, k->base, &k->st.remote, k->rx + off, need, &info);
            if (info.kind == FLOE_ICE_RECV_DATA) on_data(p, now, &info);
            off += need;
        }
        if ((rc != FLOE_OK && rc != FLOE_ERR_TRUNCATED) || (rc == FLOE_OK && need > sizeof k->rx)) {
            stream_end(k, now); /* a stream that cannot be framed cannot be resynchronised */
            return;
        }
        memmove(k->rx, k->rx + off, k->rx_len - off);
        k->rx_len -= off;
        if (take == 0) { /* full without a whole message: cannot happen with need checked */
            stream_end(k, now);
            return;
        }
    }
}

static void stream_cb(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                      const uint8_t *d, size_t len) {
    (void)c;
    sim_stream *k = ctx;
    switch (ev) {
    case FLOE_SIM_TCP_EV_CONNECTED: break;
    case FLOE_SIM_TCP_EV_DATA: stream_rx(k, now, d, len); break;
    case FLOE_SIM_TCP_EV_CLOSED:
    case FLOE_SIM_TCP_EV_FAILED: stream_end(k, now); break;
    }
    floe_sim_endpoint_kick(k->p->ep); /* the agent may have something to send now */
}

/* A message the agent gave for stream base `base`: onto its connection (opened the first
 * time). False when base is not a stream base. */
static bool stream_send(floe_sim_ice *p, unsigned base, const uint8_t *d, size_t len) {
    if (base >= FLOE_ICE_MAX_BASES) return false;
    sim_stream *k = p->streams[base];
    if (!k) {
        floe_ice_stream st;
        if (floe_ice_agent_stream(p->agent, base, &st) != FLOE_OK) return false;
        k = calloc(1, sizeof *k);
        if (!k) {
            p->res.data_send_errors++;
            return true;
        }
        k->p = p;
        k->base = base;
        k->st = st;
        p->streams[base] = k;
        if (floe_sim_tcp_connect(p->cfg.host, &st.local, &st.remote, stream_cb, k, &k->c) !=
            FLOE_OK) {
            k->c = NULL;
            stream_end(k, floe_sim_now(p->sim));
        }
    }
    if (k->dead || floe_sim_tcp_send(k->c, d, len) != FLOE_OK) p->res.stream_send_errors++;
    return true;
}

/* Sends what the agent gave for `base`: from its UDP socket, or on its TURN connection. */
static bool send_base(floe_sim_ice *p, unsigned base, const floe_addr *to, const uint8_t *d,
                      size_t len) {
    floe_sim_udp *s = base < p->n_socks ? floe_sim_endpoint_socket(p->ep, base) : NULL;
    if (s) return floe_sim_udp_send(s, to, d, len) == FLOE_OK;
    return stream_send(p, base, d, len);
}

/* ---- the timeline ----------------------------------------------------------------- */

static floe_sim_ice_entry *entry(floe_sim_ice *p, floe_time_ns at, floe_sim_ice_what what) {
    floe_sim_ice_entry *e;
    if (p->n_timeline < FLOE_SIM_ICE_TIMELINE_MAX) {
        e = &p->timeline[p->n_timeline++];
    } else {
        p->res.timeline_dropped++;
        e = &p->spare; /* still shown to the log callback */
    }
    memset(e, 0, sizeof *e);
    e->at = at;
    e->what = what;
    e->local.addr.family = FLOE_AF_NONE;
    e->remote.addr.family = FLOE_AF_NONE;
    return e;
}

static void logged(floe_sim_ice *p, const floe_sim_ice_entry *e) {
    if (p->log) p->log(p->log_ctx, p, e);
}

static void note(floe_sim_ice *p, floe_time_ns at, floe_sim_ice_what what, uint64_t n) {
    floe_sim_ice_entry *e = entry(p, at, what);
    e->n = n;
    logged(p, e);
}

/* ---- data ------------------------------------------------------------------------- */

static void data_finish(floe_sim_ice *p, floe_time_ns now) {
    if (p->res.data_done) return;
    p->res.data_done = true;
    p->data_running = false;
    floe_sim_timer_disarm(p->data_timer);
    floe_sim_ice_entry *e = entry(p, now, FLOE_SIM_ICE_DATA_DONE);
    e->n = p->res.data_sent;
    e->n2 = p->res.echoes;
    logged(p, e);
}

/* Sends on component 1's selected pair (wrapped for the TURN server when relayed). */
static bool send_on_pair(floe_sim_ice *p, const uint8_t *d, size_t n) {
    unsigned base;
    floe_addr to;
    size_t len = 0;
    if (floe_ice_agent_send_data(p->agent, floe_sim_now(p->sim), 0, 1, d, n, p->wire,
                                 sizeof p->wire, &len, &base, &to) != FLOE_OK)
        return false;
    return send_base(p, base, &to, p->wire, len);
}

static void data_send_one(floe_sim_ice *p) {
    uint32_t seq = p->next_seq++;
    memset(p->dbuf, 0, sizeof p->dbuf);
    p->dbuf[0] = 0x80; /* RTP version 2: never taken for STUN (RFC 7983) */
    p->dbuf[1] = DATA_REQUEST;
    p->dbuf[4] = (uint8_t)(seq >> 24);
    p->dbuf[5] = (uint8_t)(seq >> 16);
    p->dbuf[6] = (uint8_t)(seq >> 8);
    p->dbuf[7] = (uint8_t)seq;
    if (!send_on_pair(p, p->dbuf, sizeof p->dbuf)) {
        p->res.data_send_errors++;
        return;
    }
    p->res.data_sent++;
}

/* How long echoes are awaited after the last datagram: longer when they may come over a
 * TURN server's TCP connection, where a lost segment holds back everything after it for a
 * retransmission timeout (200 ms at least, doubling). */
static floe_time_ns data_drain(const floe_sim_ice *p) {
    for (size_t i = 0; i < p->cfg.n_turn; i++)
        if (floe_transport_reliable(p->cfg.turn[i].transport))
            return FLOE_SIM_ICE_DATA_DRAIN_STREAM;
    return FLOE_SIM_ICE_DATA_DRAIN;
}

static void on_data_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    floe_sim_ice *p = ctx;
    if (!p->data_running) return;
    if (p->next_seq < p->cfg.data) {
        data_send_one(p);
        if (p->next_seq < p->cfg.data)
            floe_sim_timer_arm(p->data_timer, now + FLOE_SIM_ICE_DATA_INTERVAL);
        else
            floe_sim_timer_arm(p->data_timer, now + data_drain(p));
        return;
    }
    data_finish(p, now); /* the drain time is over */
}

static void data_start(floe_sim_ice *p, floe_time_ns now) {
    if (p->cfg.data == 0) {
        p->res.data_done = true;
        return;
    }
    if (p->data_running || p->res.data_done) return;
    p->data_running = true;
    floe_sim_timer_arm(p->data_timer, now);
}

static void on_data(floe_sim_ice *p, floe_time_ns now, const floe_ice_recv_info *info) {
    const uint8_t *d = info->data;
    size_t len = info->len;
    if (len < DATA_HDR || d[0] != 0x80) return;
    if (d[1] == DATA_REQUEST) {
        /* Echo it to whoever sent it, the way it came (through the relay if it came
         * through one): like an echo server, selected pair or not. */
        size_t n = len < sizeof p->dbuf ? len : sizeof p->dbuf, wl = 0;
        uint8_t back[FLOE_SIM_ICE_DATA_SIZE];
        memcpy(back, d, n);
        back[1] = DATA_ECHO;
        unsigned sb;
        floe_addr to;
        if (floe_ice_agent_send_from(p->agent, now, info->base, &info->from, back, n, p->wire,
                                     sizeof p->wire, &wl, &sb, &to) != FLOE_OK)
            return;
        if (send_base(p, sb, &to, p->wire, wl)) p->res.echoed++;
        return;
    }
    if (d[1] != DATA_ECHO || !p->seen) return;
    uint32_t seq = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
    if (seq >= p->next_seq || (p->seen[seq / 8] & (1u << (seq % 8)))) return;
    p->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
    p->res.echoes++;
    if (p->next_seq == p->cfg.data && p->res.echoes == p->cfg.data) data_finish(p, now);
}

/* ---- signalling ------------------------------------------------------------------- */

static void send_sdp(floe_sim_ice *p, floe_time_ns now) {
    floe_sim_ice *q = p->peer;
    if (!q || p->sent || !p->gathered || p->local_len == 0) return;
    if (!p->offerer && !p->applied) return; /* an answer follows the offer */
    p->sent = true;
    p->res.t_sdp_sent = now;
    memcpy(q->incoming, p->local_sdp, p->local_len + 1);
    q->incoming_len = p->local_len;
    floe_sim_timer_arm(q->sdp_timer, now + p->delay);
    note(p, now, FLOE_SIM_ICE_SDP_SENT, p->local_len);
}

static void write_sdp(floe_sim_ice *p, floe_time_ns now) {
    floe_ice_sdp_desc d = {
        .stream = 0,
        .components = p->cfg.components,
        .lite = p->cfg.lite,
        .session_id = floe_sim_rng_next(&p->rng),
        .session_name = p->name,
    };
    floe_sdp_error e = {0, NULL};
    p->local_len = 0;
    if (floe_ice_sdp_write(p->agent, &d, p->work, p->local_sdp, sizeof p->local_sdp, &p->local_len,
                           &e) != FLOE_OK) {
        p->local_len = 0;
        p->local_sdp[0] = '\0';
        floe_sim_ice_entry *x = entry(p, now, FLOE_SIM_ICE_SDP_ERROR);
        snprintf(p->res.sdp_error, sizeof p->res.sdp_error, "cannot write our description: %s",
                 e.reason ? e.reason : "?");
        x->text = p->res.sdp_error;
        logged(p, x);
        return;
    }
    send_sdp(p, now);
}

static void agent_start(floe_sim_ice *p, floe_time_ns now) {
    int rc = floe_ice_agent_start(p->agent, now);
    if (rc == FLOE_OK) note(p, now, FLOE_SIM_ICE_CHECKS, 0);
    if (rc != FLOE_OK) {
        floe_sim_ice_entry *x = entry(p, now, FLOE_SIM_ICE_SDP_ERROR);
        snprintf(p->res.sdp_error, sizeof p->res.sdp_error, "the agent did not start: %s",
                 floe_strerror(rc));
        x->text = p->res.sdp_error;
        logged(p, x);
    }
}

static void on_sdp_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    floe_sim_ice *p = ctx;
    if (p->applied || p->incoming_len == 0) return;
    floe_ice_sdp_applied got;
    floe_sdp_error e = {0, NULL};
    int rc = floe_ice_sdp_apply(p->agent, 0, p->cfg.components, p->incoming, p->incoming_len,
                                p->work, &got, &e);
    if (rc != FLOE_OK) {
        if (e.line > 0)
            snprintf(p->res.sdp_error, sizeof p->res.sdp_error, "line %d: %s", e.line,
                     e.reason ? e.reason : floe_strerror(rc));
        else
            snprintf(p->res.sdp_error, sizeof p->res.sdp_error, "%s",
                     e.reason ? e.reason : floe_strerror(rc));
        floe_sim_ice_entry *x = entry(p, now, FLOE_SIM_ICE_SDP_ERROR);
        x->text = p->res.sdp_error;
        logged(p, x);
        return;
    }
    p->applied = true;
    p->res.t_remote = now;
    p->res.n_remote_cands = got.candidates;
    note(p, now, FLOE_SIM_ICE_SDP_APPLIED, got.candidates);
    /* Without trickle, the checks start once both sides' candidates are exchanged: the
     * answerer answers first. */
    if (p->gathered) {
        send_sdp(p, now);
        agent_start(p, now);
    } else {
        p->start_pending = true;
    }
    floe_sim_endpoint_kick(p->ep);
}

/* ---- the agent's loop --------------------------------------------------------------- */

static void ep_recv(void *obj, floe_time_ns now, unsigned sock, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *d, size_t len) {
    (void)dst;
    floe_sim_ice *p = obj;
    floe_ice_recv_info info;
    floe_ice_agent_on_recv(p->agent, now, sock, src, d, len, &info);
    if (info.kind == FLOE_ICE_RECV_DATA) on_data(p, now, &info);
}

static void ep_tick(void *obj, floe_time_ns now) {
    floe_sim_ice *p = obj;
    floe_ice_agent_tick(p->agent, now);
}

static int ep_next_send(void *obj, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                        unsigned *sock, floe_addr *dst) {
    floe_sim_ice *p = obj;
    /* Messages for a stream base go on its connection here; the endpoint sends the rest. */
    for (;;) {
        int rc = floe_ice_agent_next_send(p->agent, now, buf, cap, len, sock, dst);
        if (rc != FLOE_OK || *sock < p->n_socks || !stream_send(p, *sock, buf, *len)) return rc;
    }
}

static floe_time_ns ep_deadline(void *obj) {
    floe_sim_ice *p = obj;
    return floe_ice_agent_deadline(p->agent);
}

static void on_event(floe_sim_ice *p, const floe_ice_event *ev, floe_time_ns now) {
    floe_sim_ice_result *r = &p->res;
    floe_sim_ice_entry *e;
    switch (ev->type) {
    case FLOE_ICE_EV_CANDIDATE:
        e = entry(p, ev->at, FLOE_SIM_ICE_CANDIDATE);
        e->local = ev->local;
        e->component = ev->local.component;
        logged(p, e);
        break;
    case FLOE_ICE_EV_GATHERING_DONE: {
        if (p->gathered) break;
        p->gathered = true;
        r->t_gathered = ev->at;
        floe_ice_cand c[FLOE_ICE_MAX_LOCAL];
        size_t n = floe_ice_agent_local_candidates(p->agent, 0, c, FLOE_ICE_MAX_LOCAL);
        r->n_local_cands = n;
        for (size_t i = 0; i < n && i < FLOE_ICE_MAX_LOCAL; i++)
            if (c[i].type == FLOE_ICE_CAND_SRFLX)
                r->n_srflx++;
            else if (c[i].type == FLOE_ICE_CAND_RELAY)
                r->n_relay++;
        note(p, ev->at, FLOE_SIM_ICE_GATHERED, n);
        write_sdp(p, now);
        if (p->start_pending) {
            p->start_pending = false;
            agent_start(p, now);
        }
        break;
    }
    case FLOE_ICE_EV_PAIR_STATE:
        e = entry(p, ev->at, FLOE_SIM_ICE_PAIR);
        e->pair_id = ev->pair_id;
        e->pair_state = ev->pair_state;
        e->component = ev->component;
        logged(p, e);
        break;
    case FLOE_ICE_EV_SELECTED:
        if (ev->component >= 1 && ev->component <= FLOE_ICE_MAX_COMPONENTS) {
            r->have_sel[ev->component] = true;
            r->sel_local[ev->component] = ev->local;
            r->sel_remote[ev->component] = ev->remote;
            r->t_selected[ev->component] = ev->at;
        }
        e = entry(p, ev->at, FLOE_SIM_ICE_SELECTED);
        e->component = ev->component;
        e->local = ev->local;
        e->remote = ev->remote;
        logged(p, e);
        break;
    case FLOE_ICE_EV_COMPLETED:
        if (r->t_completed == FLOE_TIME_NEVER) r->t_completed = ev->at;
        note(p, ev->at, FLOE_SIM_ICE_COMPLETED, 0);
        data_start(p, now);
        break;
    case FLOE_ICE_EV_FAILED:
        if (r->t_failed == FLOE_TIME_NEVER) {
            r->t_failed = ev->at;
            r->fail_reason = ev->reason;
        }
        e = entry(p, ev->at, FLOE_SIM_ICE_FAILED);
        e->text = ev->reason;
        logged(p, e);
        if (p->data_running) data_finish(p, now);
        break;
    case FLOE_ICE_EV_CONSENT_LOST:
        e = entry(p, ev->at, FLOE_SIM_ICE_CONSENT_LOST);
        e->component = ev->component;
        logged(p, e);
        break;
    case FLOE_ICE_EV_ROLE_CHANGED: note(p, ev->at, FLOE_SIM_ICE_ROLE, ev->controlling); break;
    case FLOE_ICE_EV_NONE:
    default: break;
    }
}

static void ep_events(void *obj, floe_time_ns now) {
    floe_sim_ice *p = obj;
    floe_ice_event ev;
    /* Bounded: the agent holds at most FLOE_ICE_MAX_EVENTS, and handling one may queue a
     * few more (writing the description does not). */
    for (unsigned k = 0; k < 4 * FLOE_ICE_MAX_EVENTS && floe_ice_agent_next_event(p->agent, &ev);
         k++)
        on_event(p, &ev, now);
    p->res.state = floe_ice_agent_get_state(p->agent);
    p->res.controlling = floe_ice_agent_is_controlling(p->agent);
}

static const floe_sim_endpoint_ops ep_ops = {ep_recv, ep_tick, ep_next_send, ep_deadline,
                                             ep_events};

static void on_start_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    floe_sim_ice *p = ctx;
    p->res.t_start = now;
    note(p, now, FLOE_SIM_ICE_GATHER, p->n_socks);
    int rc = floe_ice_agent_gather(p->agent, now);
    if (rc != FLOE_OK) {
        floe_sim_ice_entry *x = entry(p, now, FLOE_SIM_ICE_SDP_ERROR);
        snprintf(p->res.sdp_error, sizeof p->res.sdp_error, "gathering did not start: %s",
                 floe_strerror(rc));
        x->text = p->res.sdp_error;
        logged(p, x);
        return;
    }
    p->gathering = true;
    floe_sim_endpoint_kick(p->ep);
}

/* ---- lifetime --------------------------------------------------------------------- */

void floe_sim_ice_config_default(floe_sim_ice_config *c) {
    memset(c, 0, sizeof *c);
    c->components = 1;
}

/* Opens one socket per address of every interface and component, registering each as a
 * base; the endpoint's socket index and the agent's base id are the same number. */
static int open_sockets(floe_sim_ice *p) {
    floe_sim_host *h = p->cfg.host;
    for (unsigned comp = 1; comp <= p->cfg.components; comp++) {
        for (size_t i = 0; i < floe_sim_host_iface_count(h); i++) {
            floe_sim_iface *ifc = floe_sim_host_iface_at(h, i);
            static const int fams[2] = {FLOE_AF_INET4, FLOE_AF_INET6};
            for (int f = 0; f < 2; f++) {
                floe_addr bind = floe_sim_iface_addr(ifc, fams[f]);
                if (bind.family == FLOE_AF_NONE) continue;
                bind.port = 0;
                unsigned idx, base;
                int rc = floe_sim_endpoint_open(p->ep, h, &bind, &idx);
                if (rc != FLOE_OK) return rc;
                floe_addr bound = floe_sim_udp_local(floe_sim_endpoint_socket(p->ep, idx));
                rc = floe_ice_agent_add_host(p->agent, 0, comp, &bound, floe_sim_iface_name(ifc),
                                             &base);
                if (rc == FLOE_ERR_UNSUPPORTED) continue; /* link-local: not a candidate */
                if (rc != FLOE_OK) return rc;
                if (base != idx) return FLOE_ERR_STATE; /* the numbering must agree */
                p->n_socks++;
            }
        }
    }
    return p->n_socks ? FLOE_OK : FLOE_ERR_NOT_FOUND;
}

int floe_sim_ice_new(floe_sim *sim, const floe_sim_ice_config *cfg, floe_sim_ice **out) {
    *out = NULL;
    if (!sim || !cfg || !cfg->name || !cfg->name[0] || strlen(cfg->name) >= FLOE_SIM_ICE_NAME_MAX ||
        !cfg->host || cfg->components < 1 || cfg->components > FLOE_ICE_MAX_COMPONENTS ||
        cfg->data > FLOE_SIM_ICE_DATA_MAX || cfg->n_stun > FLOE_ICE_MAX_STUN_SERVERS ||
        (cfg->lite && cfg->controlling))
        return FLOE_ERR_INVAL;
    floe_sim_ice *p = calloc(1, sizeof *p);
    if (!p) return FLOE_ERR_NOMEM;
    p->sim = sim;
    p->cfg = *cfg;
    snprintf(p->name, sizeof p->name, "%s", cfg->name);
    p->cfg.name = p->name;
    floe_sim_ice_result *r = &p->res;
    r->t_start = r->t_gathered = r->t_sdp_sent = r->t_remote = FLOE_TIME_NEVER;
    r->t_completed = r->t_failed = FLOE_TIME_NEVER;
    for (unsigned c = 0; c <= FLOE_ICE_MAX_COMPONENTS; c++)
        r->t_selected[c] = FLOE_TIME_NEVER;
    char label[FLOE_SIM_ICE_NAME_MAX + 8];
    snprintf(label, sizeof label, "ice/%s", p->name);
    floe_sim_rng_derive(sim, label, &p->rng);

    int rc = FLOE_ERR_NOMEM;
    p->work = malloc(sizeof *p->work);
    p->timeline = calloc(FLOE_SIM_ICE_TIMELINE_MAX, sizeof *p->timeline);
    if (cfg->data) p->seen = calloc((cfg->data + 7) / 8, 1);
    if (!p->work || !p->timeline || (cfg->data && !p->seen)) goto fail;

    floe_ice_config ic;
    floe_ice_config_default(&ic);
    ic.controlling = cfg->controlling;
    ic.lite = cfg->lite;
    ic.n_streams = 1;
    ic.components[0] = cfg->components;
    ic.ta = cfg->ta;
    for (size_t i = 0; i < cfg->n_stun; i++)
        ic.stun_servers[i] = cfg->stun[i];
    ic.n_stun_servers = cfg->n_stun;
    for (size_t i = 0; i < cfg->n_turn; i++)
        ic.turn_servers[i] = cfg->turn[i];
    ic.n_turn_servers = cfg->n_turn;
    ic.rand = floe_sim_rng_bytes;
    ic.rand_ctx = &p->rng;
    rc = floe_ice_agent_new(&p->agent, &ic);
    if (rc != FLOE_OK) goto fail;
    rc = floe_sim_endpoint_new(sim, &ep_ops, p, &p->ep);
    if (rc != FLOE_OK) goto fail;
    if ((rc = floe_sim_timer_new(sim, on_start_timer, p, &p->start_timer)) != FLOE_OK ||
        (rc = floe_sim_timer_new(sim, on_sdp_timer, p, &p->sdp_timer)) != FLOE_OK ||
        (rc = floe_sim_timer_new(sim, on_data_timer, p, &p->data_timer)) != FLOE_OK)
        goto fail;
    rc = open_sockets(p);
    if (rc != FLOE_OK) goto fail;
    *out = p;
    return FLOE_OK;
fail:
    floe_sim_ice_free(p);
    return rc;
}

void floe_sim_ice_free(floe_sim_ice *p) {
    if (!p) return;
    if (p->peer && p->peer->peer == p) p->peer->peer = NULL;
    floe_sim_timer_free(p->start_timer);
    floe_sim_timer_free(p->sdp_timer);
    floe_sim_timer_free(p->data_timer);
    for (unsigned i = 0; i < FLOE_ICE_MAX_BASES; i++) {
        if (!p->streams[i]) continue;
        floe_sim_tcp_close(p->streams[i]->c);
        free(p->streams[i]);
    }
    floe_sim_endpoint_free(p->ep);
    floe_ice_agent_free(p->agent);
    free(p->work);
    free(p->timeline);
    free(p->seen);
    free(p);
}

int floe_sim_ice_signal(floe_sim_ice *offerer, floe_sim_ice *answerer, floe_time_ns delay) {
    if (!offerer || !answerer || offerer == answerer) return FLOE_ERR_INVAL;
    if (offerer->peer || answerer->peer) return FLOE_ERR_STATE;
    offerer->peer = answerer;
    answerer->peer = offerer;
    offerer->offerer = true;
    answerer->offerer = false;
    offerer->delay = answerer->delay = delay;
    return FLOE_OK;
}

int floe_sim_ice_start(floe_sim_ice *p) {
    if (p->armed) return FLOE_ERR_STATE;
    p->armed = true;
    floe_time_ns now = floe_sim_now(p->sim);
    return floe_sim_timer_arm(p->start_timer, p->cfg.start > now ? p->cfg.start : now);
}

void floe_sim_ice_set_log(floe_sim_ice *p, floe_sim_ice_log_fn fn, void *ctx) {
    p->log = fn;
    p->log_ctx = ctx;
}

bool floe_sim_ice_done(const floe_sim_ice *p) {
    return p->res.t_failed != FLOE_TIME_NEVER ||
           (p->res.t_completed != FLOE_TIME_NEVER && p->res.data_done);
}

const floe_sim_ice_result *floe_sim_ice_result_get(const floe_sim_ice *p) {
    return &p->res;
}

void floe_sim_ice_stats(const floe_sim_ice *p, floe_ice_stats *out) {
    floe_ice_agent_get_stats(p->agent, out);
}

const char *floe_sim_ice_name(const floe_sim_ice *p) {
    return p->name;
}

floe_sim_ice *floe_sim_ice_peer(const floe_sim_ice *p) {
    return p->peer;
}

bool floe_sim_ice_is_offerer(const floe_sim_ice *p) {
    return p->peer && p->offerer;
}

const floe_sim_ice_config *floe_sim_ice_config_get(const floe_sim_ice *p) {
    return &p->cfg;
}

const char *floe_sim_ice_local_sdp(const floe_sim_ice *p) {
    return p->local_sdp;
}

size_t floe_sim_ice_timeline_count(const floe_sim_ice *p) {
    return p->n_timeline;
}

const floe_sim_ice_entry *floe_sim_ice_timeline_at(const floe_sim_ice *p, size_t i) {
    return i < p->n_timeline ? &p->timeline[i] : NULL;
}

/* ---- formatting ------------------------------------------------------------------- */

const char *floe_sim_ice_addr_text(const floe_addr *a, char *buf, size_t cap) {
    if (a->family == FLOE_AF_NONE)
        snprintf(buf, cap, "none");
    else
        floe_addr_format(a, true, buf, cap);
    return buf;
}

size_t floe_sim_ice_entry_format(const floe_sim_ice *p, const floe_sim_ice_entry *e, char *buf,
                                 size_t cap) {
    char what[320], l[FLOE_ADDR_STRLEN], r[FLOE_ADDR_STRLEN];
    const char *peer = p->peer ? p->peer->name : "?";
    switch (e->what) {
    case FLOE_SIM_ICE_GATHER:
        snprintf(what, sizeof what, "gathering on %llu socket(s), %zu STUN server(s)",
                 (unsigned long long)e->n, p->cfg.n_stun);
        break;
    case FLOE_SIM_ICE_CANDIDATE:
        snprintf(what, sizeof what, "candidate %s %s component %u",
                 floe_ice_cand_type_name(e->local.type),
                 floe_sim_ice_addr_text(&e->local.addr, l, sizeof l), e->component);
        break;
    case FLOE_SIM_ICE_GATHERED:
        snprintf(what, sizeof what, "gathering done: %llu candidate(s)", (unsigned long long)e->n);
        break;
    case FLOE_SIM_ICE_SDP_SENT:
        snprintf(what, sizeof what, "%s sent to %s (%llu bytes)", p->offerer ? "offer" : "answer",
                 peer, (unsigned long long)e->n);
        break;
    case FLOE_SIM_ICE_SDP_APPLIED:
        snprintf(what, sizeof what, "%s from %s applied: %llu candidate(s)",
                 p->offerer ? "answer" : "offer", peer, (unsigned long long)e->n);
        break;
    case FLOE_SIM_ICE_SDP_ERROR:
        snprintf(what, sizeof what, "signalling error: %s", e->text ? e->text : "?");
        break;
    case FLOE_SIM_ICE_CHECKS: snprintf(what, sizeof what, "checks start"); break;
    case FLOE_SIM_ICE_ROLE:
        snprintf(what, sizeof what, "role conflict: now %s", e->n ? "controlling" : "controlled");
        break;
    case FLOE_SIM_ICE_PAIR:
        snprintf(what, sizeof what, "pair %u component %u %s", e->pair_id, e->component,
                 floe_ice_pair_state_name(e->pair_state));
        break;
    case FLOE_SIM_ICE_SELECTED:
        snprintf(what, sizeof what, "selected component %u: %s %s -> %s %s", e->component,
                 floe_ice_cand_type_name(e->local.type),
                 floe_sim_ice_addr_text(&e->local.addr, l, sizeof l),
                 floe_ice_cand_type_name(e->remote.type),
                 floe_sim_ice_addr_text(&e->remote.addr, r, sizeof r));
        break;
    case FLOE_SIM_ICE_COMPLETED: snprintf(what, sizeof what, "completed"); break;
    case FLOE_SIM_ICE_FAILED:
        snprintf(what, sizeof what, "failed: %s", e->text ? e->text : "no reason given");
        break;
    case FLOE_SIM_ICE_CONSENT_LOST:
        snprintf(what, sizeof what, "consent lost on component %u", e->component);
        break;
    case FLOE_SIM_ICE_DATA_DONE:
        snprintf(what, sizeof what, "data: %llu datagram(s) sent, %llu echoed back",
                 (unsigned long long)e->n, (unsigned long long)e->n2);
        break;
    default: snprintf(what, sizeof what, "?"); break;
    }
    int n = snprintf(buf, cap, "%llu.%09llu %s: %s", (unsigned long long)(e->at / FLOE_NS_PER_S),
                     (unsigned long long)(e->at % FLOE_NS_PER_S), p->name, what);
    if (n < 0) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}
