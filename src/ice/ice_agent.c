/* The ICE agent as a whole: lifetime and memory layout, credentials, the five-step loop
 * (on_recv with RFC 7983 demultiplexing, tick, next_send, deadline, events elsewhere),
 * start, ICE restart (RFC 8445 §9), ICE-lite (§2.5) and the remote-lite rule. The
 * protocol work lives in the files named in ice_priv.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

/* ---- configuration and layout ------------------------------------------------------ */

void floe_ice_config_default(floe_ice_config *c) {
    memset(c, 0, sizeof *c);
    c->n_streams = 1;
    c->components[0] = 1;
    c->consent = true;
}

typedef struct layout {
    size_t streams, comps, bases, local, remote, pairs, txns, owners, gather, servers, turn_servers,
        ifaces, total;
    unsigned max_pairs, max_local, max_remote, max_bases, n_comps, n_txns, n_gather;
} layout;

/* The arrays after the agent need no more alignment than the agent itself. */
_Static_assert(_Alignof(ice_stream) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_comp) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_check_txn) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_pair) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_base) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_lcand) <= _Alignof(floe_ice_agent) &&
                   _Alignof(ice_rcand) <= _Alignof(floe_ice_agent),
               "agent arrays are aligned like the agent");

static size_t align_up(size_t n) {
    const size_t al = _Alignof(floe_ice_agent);
    return (n + al - 1) / al * al;
}

static int check_config(const floe_ice_config *c, layout *lay) {
    if (!c || !c->rand) return FLOE_ERR_INVAL;
    if (c->n_streams < 1 || c->n_streams > FLOE_ICE_MAX_STREAMS) return FLOE_ERR_INVAL;
    for (unsigned s = 0; s < c->n_streams; s++)
        if (c->components[s] > FLOE_ICE_MAX_COMPONENTS) return FLOE_ERR_INVAL;
    if (c->max_pairs > FLOE_ICE_MAX_PAIRS_LIMIT || c->max_local > FLOE_ICE_MAX_LOCAL ||
        c->max_remote > FLOE_ICE_MAX_REMOTE)
        return FLOE_ERR_INVAL;
    if (c->n_stun_servers > FLOE_ICE_MAX_STUN_SERVERS) return FLOE_ERR_INVAL;
    for (size_t i = 0; i < c->n_stun_servers; i++) {
        const floe_addr *s = &c->stun_servers[i];
        if ((s->family != FLOE_AF_INET4 && s->family != FLOE_AF_INET6) || s->port == 0)
            return FLOE_ERR_INVAL;
    }
    if (c->n_turn_servers > FLOE_ICE_MAX_TURN_SERVERS) return FLOE_ERR_INVAL;
    for (size_t i = 0; i < c->n_turn_servers; i++) {
        const floe_ice_turn_server *t = &c->turn_servers[i];
        if ((t->addr.family != FLOE_AF_INET4 && t->addr.family != FLOE_AF_INET6) ||
            t->addr.port == 0 || (t->username && !t->password) ||
            (t->transport != FLOE_TRANSPORT_UDP && !floe_transport_reliable(t->transport)))
            return FLOE_ERR_INVAL; /* DTLS is for the runtime of floe turn, not the agent */
    }
    if (c->n_prefer_ifaces > FLOE_ICE_MAX_PREFER_IFACES) return FLOE_ERR_INVAL;
    if (c->lite && c->controlling) return FLOE_ERR_INVAL; /* a lite agent is controlled */
    /* RFC 8445 §11: Tr must not be below 15 s. */
    if (c->keepalive && c->keepalive < FLOE_ICE_TR_DEFAULT) return FLOE_ERR_INVAL;
    lay->max_pairs = c->max_pairs ? c->max_pairs : FLOE_ICE_MAX_PAIRS_DEFAULT;
    lay->max_local = c->max_local ? c->max_local : FLOE_ICE_MAX_LOCAL;
    lay->max_remote = c->max_remote ? c->max_remote : FLOE_ICE_MAX_REMOTE;
    lay->max_bases = lay->max_local < FLOE_ICE_MAX_BASES ? lay->max_local : FLOE_ICE_MAX_BASES;
    lay->n_comps = 0;
    for (unsigned s = 0; s < c->n_streams; s++)
        lay->n_comps += c->components[s] ? c->components[s] : 1;
    /* A slot per pair, so that a check never waits (docs/adr/0008), and ICE_TXN_SPARE
     * more for checks replaced by triggered ones. */
    lay->n_txns = lay->max_pairs + ICE_TXN_SPARE < FLOE_ICE_MAX_CHECKS
                      ? lay->max_pairs + ICE_TXN_SPARE
                      : FLOE_ICE_MAX_CHECKS;
    /* Server-reflexive gathering needs transactions only when there are servers. */
    lay->n_gather = c->n_stun_servers && !c->lite ? ICE_GATHER_SLOTS : 0;
    size_t off = align_up(sizeof(floe_ice_agent));
    lay->streams = off;
    off = align_up(off + c->n_streams * sizeof(ice_stream));
    lay->comps = off;
    off = align_up(off + lay->n_comps * sizeof(ice_comp));
    lay->txns = off;
    off = align_up(off + lay->n_txns * sizeof(ice_check_txn));
    lay->owners = off;
    off = align_up(off + lay->n_txns * sizeof(uint16_t));
    lay->gather = off;
    off = align_up(off + lay->n_gather * sizeof(ice_gather));
    lay->pairs = off;
    off = align_up(off + lay->max_pairs * sizeof(ice_pair));
    lay->bases = off;
    off = align_up(off + lay->max_bases * sizeof(ice_base));
    lay->local = off;
    off = align_up(off + lay->max_local * sizeof(ice_lcand));
    lay->remote = off;
    off = align_up(off + lay->max_remote * sizeof(ice_rcand));
    lay->servers = off;
    off = align_up(off + c->n_stun_servers * sizeof(floe_addr));
    lay->turn_servers = off;
    off = align_up(off + c->n_turn_servers * sizeof(floe_ice_turn_server));
    lay->ifaces = off;
    off += c->n_prefer_ifaces * sizeof c->prefer_ifaces[0];
    lay->total = align_up(off);
    return FLOE_OK;
}

size_t floe_ice_agent_memory(const floe_ice_config *cfg) {
    layout lay;
    return check_config(cfg, &lay) == FLOE_OK ? lay.total : 0;
}

/* ---- randomness and credentials ---------------------------------------------------- */

bool ice_rand(floe_ice_agent *a, void *buf, size_t len) {
    return a->cfg.rand(a->cfg.rand_ctx, buf, len) == FLOE_OK;
}

/* ice-chars (RFC 8445 §5.3): ALPHA / DIGIT / "+" / "/". 64 of them: one per 6 bits. */
static bool random_ice_chars(floe_ice_agent *a, char *out, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t raw[FLOE_ICE_PWD_LEN];
    if (n > sizeof raw || !ice_rand(a, raw, n)) return false;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[raw[i] & 63];
    out[n] = '\0';
    return true;
}

static bool new_credentials(floe_ice_agent *a) {
    char ufrag[FLOE_ICE_UFRAG_LEN + 1], pwd[FLOE_ICE_PWD_LEN + 1];
    if (!random_ice_chars(a, ufrag, FLOE_ICE_UFRAG_LEN) ||
        !random_ice_chars(a, pwd, FLOE_ICE_PWD_LEN))
        return false;
    memcpy(a->ufrag, ufrag, sizeof ufrag);
    memcpy(a->pwd, pwd, sizeof pwd);
    return true;
}

void ice_agent_step(floe_ice_agent *a, ice_agent_event ev) {
    a->state = ice_agent_next_state(a->state, ev);
}

/* ---- lifetime --------------------------------------------------------------------- */

/* cfg.ta and set_pacing: 0 is the default; RFC 8445 §14.2's floor, floe's ceiling. */
static floe_time_ns ta_bound(floe_time_ns ta) {
    if (ta == 0) return FLOE_ICE_TA_DEFAULT;
    return ta < FLOE_ICE_TA_MIN ? FLOE_ICE_TA_MIN : ta > FLOE_ICE_TA_MAX ? FLOE_ICE_TA_MAX : ta;
}

int floe_ice_agent_new(floe_ice_agent **out, const floe_ice_config *cfg) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    layout lay;
    int rc = check_config(cfg, &lay);
    if (rc != FLOE_OK) return rc;
    uint8_t *mem = calloc(1, lay.total);
    if (!mem) return FLOE_ERR_NOMEM;
    floe_ice_agent *a = (floe_ice_agent *)mem;
    a->cfg.stun_servers = (floe_addr *)(mem + lay.servers);
    memcpy(a->cfg.stun_servers, cfg->stun_servers, cfg->n_stun_servers * sizeof(floe_addr));
    a->cfg.turn_servers = (floe_ice_turn_server *)(mem + lay.turn_servers);
    memcpy(a->cfg.turn_servers, cfg->turn_servers,
           cfg->n_turn_servers * sizeof(floe_ice_turn_server));
    a->cfg.n_turn_servers = (uint8_t)cfg->n_turn_servers;
    a->cfg.prefer_ifaces = (char(*)[FLOE_ICE_IFNAME_MAX])(mem + lay.ifaces);
    memcpy(a->cfg.prefer_ifaces, cfg->prefer_ifaces,
           cfg->n_prefer_ifaces * sizeof cfg->prefer_ifaces[0]);
    a->cfg.rand = cfg->rand;
    a->cfg.rand_ctx = cfg->rand_ctx;
    a->cfg.pacer = cfg->pacer;
    a->cfg.keepalive = cfg->keepalive;
    a->cfg.nomination_wait = cfg->nomination_wait;
    a->cfg.n_stun_servers = (uint8_t)cfg->n_stun_servers;
    a->cfg.n_prefer_ifaces = (uint8_t)cfg->n_prefer_ifaces;
    a->cfg.lite = cfg->lite;
    a->cfg.consent = cfg->consent;
    a->cfg.gather_link_local = cfg->gather_link_local;
    a->streams = (ice_stream *)(mem + lay.streams);
    a->comps = (ice_comp *)(mem + lay.comps);
    a->bases = (ice_base *)(mem + lay.bases);
    a->local = (ice_lcand *)(mem + lay.local);
    a->remote = (ice_rcand *)(mem + lay.remote);
    a->pairs = (ice_pair *)(mem + lay.pairs);
    a->txns = (ice_check_txn *)(mem + lay.txns);
    a->txn_owner = (uint16_t *)(mem + lay.owners);
    a->gather = (ice_gather *)(mem + lay.gather);
    a->n_gather = (uint8_t)lay.n_gather;
    a->max_pairs = (uint16_t)lay.max_pairs;
    a->max_local = (uint16_t)lay.max_local;
    a->max_remote = (uint16_t)lay.max_remote;
    a->max_bases = (uint16_t)lay.max_bases;
    a->n_txns = (uint8_t)lay.n_txns;
    ice_txn_reset(a);
    a->n_streams = (uint8_t)cfg->n_streams;
    a->ta = ta_bound(cfg->ta);
    a->controlling = cfg->controlling;
    a->state = FLOE_ICE_AGENT_NEW;
    unsigned comp0 = 0;
    for (unsigned s = 0; s < a->n_streams; s++) {
        a->streams[s].n_comp = (uint8_t)(cfg->components[s] ? cfg->components[s] : 1);
        a->streams[s].comp0 = (uint8_t)comp0;
        comp0 += a->streams[s].n_comp;
    }
    ice_nom_reset(a);
    if (!new_credentials(a) || !ice_rand(a, &a->tiebreaker, sizeof a->tiebreaker)) {
        free(mem);
        return FLOE_ERR_CRYPTO;
    }
    *out = a;
    return FLOE_OK;
}

void floe_ice_agent_free(floe_ice_agent *a) {
    if (a) ice_relay_free(a);
    free(a);
}

/* ---- accessors -------------------------------------------------------------------- */

const char *floe_ice_agent_local_ufrag(const floe_ice_agent *a) {
    return a ? a->ufrag : "";
}

const char *floe_ice_agent_local_pwd(const floe_ice_agent *a) {
    return a ? a->pwd : "";
}

floe_ice_agent_state floe_ice_agent_get_state(const floe_ice_agent *a) {
    return a ? a->state : FLOE_ICE_AGENT_NEW;
}

bool floe_ice_agent_is_controlling(const floe_ice_agent *a) {
    return a && a->controlling;
}

/* ---- pacing (RFC 8445 §14.2) -------------------------------------------------------- */

int floe_ice_agent_set_pacing(floe_ice_agent *a, floe_time_ns ta) {
    if (!a) return FLOE_ERR_INVAL;
    if (a->started) return FLOE_ERR_STATE;
    a->ta = ta_bound(ta);
    return FLOE_OK;
}

floe_time_ns floe_ice_agent_pacing(const floe_ice_agent *a) {
    return a ? a->ta : FLOE_ICE_TA_DEFAULT;
}

void floe_ice_agent_get_stats(const floe_ice_agent *a, floe_ice_stats *out) {
    if (!out) return;
    if (!a) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = a->stats;
}

/* The counters by name: every field of floe_ice_stats, in its order. */
#define STAT(f)                                                                                    \
    { #f, offsetof(floe_ice_stats, f) }
static const struct {
    const char *name;
    size_t offset;
} stat_fields[] = {
    STAT(checks_sent),        STAT(checks_received),  STAT(responses_sent),
    STAT(errors_sent),        STAT(triggered_checks), STAT(nominations),
    STAT(consent_checks),     STAT(keepalives_sent),  STAT(gather_requests),
    STAT(role_conflicts),     STAT(drop_malformed),   STAT(drop_integrity),
    STAT(drop_unknown_user),  STAT(drop_unmatched),   STAT(drop_unknown_base),
    STAT(cap_pairs),          STAT(cap_candidates),   STAT(cap_sends),
    STAT(events_dropped),     STAT(data_received),    STAT(cap_checks),
    STAT(relay_allocations),  STAT(relay_failures),   STAT(relay_unsent),
    STAT(relay_streams_lost),
};
#undef STAT
_Static_assert(sizeof stat_fields / sizeof stat_fields[0] == FLOE_ICE_STAT_COUNT,
               "every counter of floe_ice_stats (all uint64_t) has its line in stat_fields");

const char *floe_ice_stat_name(size_t i) {
    return i < FLOE_ICE_STAT_COUNT ? stat_fields[i].name : NULL;
}

uint64_t floe_ice_stat_value(const floe_ice_stats *s, size_t i) {
    if (!s || i >= FLOE_ICE_STAT_COUNT) return 0;
    uint64_t v;
    memcpy(&v, (const unsigned char *)s + stat_fields[i].offset, sizeof v);
    return v;
}

/* ---- remote lite, start, restart --------------------------------------------------- */

void floe_ice_agent_set_remote_lite(floe_ice_agent *a, bool lite) {
    if (!a) return;
    a->remote_lite = lite;
    /* RFC 8445 §6.1.1: facing a lite agent, the full agent is controlling. Two lite
     * agents cannot run checks; floe leaves the lite side controlled then. */
    if (lite && !a->cfg.lite) ice_role_set(a, true, a->now);
}

int floe_ice_agent_start(floe_ice_agent *a, floe_time_ns now) {
    if (!a) return FLOE_ERR_INVAL;
    a->now = now;
    if (a->state != FLOE_ICE_AGENT_GATHERING && a->state != FLOE_ICE_AGENT_GATHERED)
        return FLOE_ERR_STATE;
    a->started = true;
    a->start_time = now;
    for (unsigned s = 0; s < a->n_streams; s++)
        a->streams[s].cl_state = ICE_CL_RUNNING;
    if (!a->cfg.lite) {
        ice_cl_form(a, now);
        ice_cl_initial_states(a, now);
    }
    ice_agent_step(a, ICE_AGENT_EV_START);
    return FLOE_OK;
}

int floe_ice_agent_restart(floe_ice_agent *a, floe_time_ns now) {
    if (!a) return FLOE_ERR_INVAL;
    a->now = now;
    if (a->state == FLOE_ICE_AGENT_NEW) return FLOE_ERR_STATE;
    if (!new_credentials(a)) return FLOE_ERR_CRYPTO;
    /* New checklists: pairs, remote candidates and credentials go; local host, srflx and
     * relayed candidates stay; selections stay usable for data until replaced. */
    a->n_pairs = 0;
    ice_txn_reset(a);
    a->txn_blocked = false;
    a->n_remote = 0;
    for (unsigned i = 0; i < a->n_bases; i++)
        a->bases[i].prflx = 0;
    a->prflx_seq = 0;
    a->trig_seq = 0;
    a->rr = 0;
    a->started = false;
    ice_local_drop_prflx(a);
    for (unsigned s = 0; s < a->n_streams; s++)
        a->streams[s].has_rcred = 0;
    ice_nom_reset(a);
    ice_agent_step(a, ICE_AGENT_EV_RESTART);
    return FLOE_OK;
}

/* ---- the loop --------------------------------------------------------------------- */

static int recv_on_base(floe_ice_agent *a, floe_time_ns now, unsigned base, const floe_addr *from,
                        const uint8_t *p, size_t len, floe_ice_recv_info *info);

int floe_ice_agent_on_recv(floe_ice_agent *a, floe_time_ns now, unsigned base,
                           const floe_addr *from, const uint8_t *p, size_t len,
                           floe_ice_recv_info *info) {
    floe_ice_recv_info tmp;
    if (!info) info = &tmp;
    memset(info, 0, sizeof *info);
    info->kind = FLOE_ICE_RECV_DROPPED;
    if (!a || !from || (!p && len)) return FLOE_ERR_INVAL;
    a->now = now;
    if (base >= a->n_bases) {
        a->stats.drop_unknown_base++;
        return FLOE_OK;
    }
    if (a->relay && a->bases[base].kind != ICE_BASE_RELAY) {
        unsigned rb;
        floe_addr peer;
        const uint8_t *d;
        size_t n;
        switch (ice_relay_on_recv(a, now, base, from, p, len, &rb, &peer, &d, &n)) {
        case ICE_TURN_CONSUMED:
            info->stream = a->bases[base].stream;
            info->component = a->bases[base].comp;
            info->kind = FLOE_ICE_RECV_STUN;
            return FLOE_OK;
        case ICE_TURN_DATA: return recv_on_base(a, now, rb, &peer, d, n, info);
        case ICE_TURN_NOT_MINE: break;
        }
    }
    if (a->bases[base].kind == ICE_BASE_STREAM) {
        a->stats.drop_unmatched++; /* a TURN connection carries only its server's messages */
        return FLOE_OK;
    }
    return recv_on_base(a, now, base, from, p, len, info);
}

/* One datagram that arrived on `base` (a host socket, or a relay once unwrapped). */
static int recv_on_base(floe_ice_agent *a, floe_time_ns now, unsigned base, const floe_addr *from,
                        const uint8_t *p, size_t len, floe_ice_recv_info *info) {
    info->stream = a->bases[base].stream;
    info->component = a->bases[base].comp;
    if (len == 0) {
        a->stats.drop_malformed++;
        return FLOE_OK;
    }
    /* RFC 7983 §7: 0..3 is STUN; everything else goes to the application. */
    if (p[0] > 3) {
        a->stats.data_received++;
        info->kind = FLOE_ICE_RECV_DATA;
        info->data = p;
        info->len = len;
        info->base = base;
        info->from = *from;
        return FLOE_OK;
    }
    floe_stun_msg m;
    if (floe_stun_msg_decode(p, len, 0, &m) != FLOE_OK || m.method != FLOE_STUN_BINDING) {
        a->stats.drop_malformed++;
        return FLOE_OK;
    }
    ice_rx rx = ICE_RX_NOT_MINE;
    switch (m.cls) {
    case FLOE_STUN_REQUEST: rx = ice_answer_request(a, now, base, from, &m, len); break;
    case FLOE_STUN_INDICATION: rx = ICE_RX_DONE; break; /* the peer's keepalive */
    case FLOE_STUN_SUCCESS:
    case FLOE_STUN_ERROR:
        rx = ice_gather_on_response(a, now, base, from, &m);
        if (rx == ICE_RX_NOT_MINE) rx = ice_check_on_response(a, now, base, from, &m);
        if (rx == ICE_RX_NOT_MINE) rx = ice_consent_on_response(a, now, base, from, &m);
        if (rx == ICE_RX_NOT_MINE) {
            a->stats.drop_unmatched++;
            rx = ICE_RX_DROPPED;
        }
        break;
    }
    info->kind = rx == ICE_RX_DONE ? FLOE_ICE_RECV_STUN : FLOE_ICE_RECV_DROPPED;
    return FLOE_OK;
}

void floe_ice_agent_tick(floe_ice_agent *a, floe_time_ns now) {
    if (!a || a->state == FLOE_ICE_AGENT_NEW) return;
    a->now = now;
    ice_relay_tick(a, now);
    ice_gather_tick(a, now);
    ice_sched_timers(a, now);
    ice_nom_tick(a, now);
    ice_consent_tick(a, now);
    ice_sched_pace(a, now);
}

int floe_ice_agent_next_send(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap,
                             size_t *len, unsigned *base, floe_addr *to) {
    if (!a || !buf || !len || !base || !to) return FLOE_ERR_INVAL;
    a->now = now;
    int rc = ice_relay_next_control(a, now, buf, cap, len, base, to);
    if (rc != FLOE_ERR_NOT_FOUND) return rc;
    /* With TURN servers, messages are built aside: one for a relayed base gets wrapped. */
    size_t icap = cap;
    uint8_t *inner = ice_relay_scratch(a, &icap);
    if (!inner) inner = buf;
    for (;;) {
        rc = ice_answer_next_send(a, inner, icap, len, base, to);
        if (rc == FLOE_ERR_NOT_FOUND) rc = ice_check_next_send(a, now, inner, icap, len, base, to);
        if (rc == FLOE_ERR_NOT_FOUND) rc = ice_consent_next_send(a, inner, icap, len, base, to);
        if (rc == FLOE_ERR_NOT_FOUND) rc = ice_gather_next_send(a, inner, icap, len, base, to);
        if (rc != FLOE_OK || inner == buf) return rc;
        if (a->bases[*base].kind != ICE_BASE_RELAY) {
            if (*len > cap) return FLOE_ERR_NOSPACE; /* (FLOE_ICE_SEND_MAX is enough) */
            memcpy(buf, inner, *len);
            return FLOE_OK;
        }
        if (ice_relay_wrap(a, now, inner, *len, buf, cap, len, base, to) == FLOE_OK) return FLOE_OK;
        a->stats.relay_unsent++; /* no permission yet: a retransmission will go */
    }
}

floe_time_ns floe_ice_agent_deadline(const floe_ice_agent *a) {
    if (!a || a->state == FLOE_ICE_AGENT_NEW) return FLOE_TIME_NEVER;
    floe_time_ns d = ice_gather_deadline(a);
    d = ice_min_time(d, ice_sched_deadline(a));
    d = ice_min_time(d, ice_nom_deadline(a));
    d = ice_min_time(d, ice_consent_deadline(a));
    d = ice_min_time(d, ice_relay_deadline(a));
    return d;
}
