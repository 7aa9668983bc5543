/* floe simulator runtime: the call matrix (see sim_call_matrix.h). */
#include "sim_call_matrix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/tone.h"
#include "floe/turn_server.h"
#include "sim_call.h"
#include "sim_host.h"
#include "sim_scenario.h"
#include "sim_sip_proxy.h"
#include "sim_stun_server.h"
#include "sim_turn_server.h"

#define DOMAIN "floe.example"
#define PROXY_IP "192.0.2.10" /* on the cell's Internet, next to the STUN server */
#define TONE_ALICE 440.0
#define TONE_BOB 1000.0
#define REGISTER_S 20 /* refreshed every 10 s: keeps the NATs' 30 s bindings open */
#define TAIL FLOE_MS(500)
#define MAX_ALLOW 8
#define STEPS_MAX 5000000u /* a guard against an object that keeps waking up */

/* ---- the cells ---------------------------------------------------------------------- */

static bool blocked(const floe_sim_matrix_cell *c) {
    return c->a.kind == FLOE_SIM_SIDE_BLOCKED || c->b.kind == FLOE_SIM_SIDE_BLOCKED;
}

size_t floe_sim_call_matrix_cells(floe_sim_matrix_cell *out, size_t max) {
    size_t n_ice = floe_sim_matrix_count();
    floe_sim_matrix_cell *all = calloc(n_ice, sizeof *all);
    if (!all) return 0;
    floe_sim_matrix_cells(all, n_ice);
    size_t n = 0;
    for (size_t i = 0; i < n_ice; i++) {
        const floe_sim_matrix_cell *c = &all[i];
        /* the relay cells are TURN twins of plain cells: made below from those */
        if (c->turn || blocked(c)) continue;
        for (int turn = 0; turn < 2; turn++, n++) {
            if (n >= max) continue;
            out[n] = *c;
            if (turn) {
                out[n].turn = true;
                if (c->topo == FLOE_SIM_TOPO_APART)
                    strncat(out[n].b_name, "+turn",
                            sizeof out[n].b_name - strlen(out[n].b_name) - 1);
                else
                    strncat(out[n].a_name, "+turn",
                            sizeof out[n].a_name - strlen(out[n].a_name) - 1);
                floe_sim_matrix_rule(&out[n], &out[n].expect);
            }
        }
    }
    free(all);
    return n;
}

/* ---- the world ---------------------------------------------------------------------- */

typedef struct phone {
    const char *name;
    char host[32];
    bool turn;
    floe_sim_call *call;
    bool registered, reg_failed, ended;
    int srflx; /* srflx candidates in its description; -1: none sent yet */
    floe_time_ns t_ice_completed, t_180_sent, t_180_rx, t_confirmed, t_ended;
} phone;

typedef struct world {
    floe_sim *sim;
    floe_sim_stun_server *stun;
    floe_sim_turn_server *turn;
    floe_sim_sip_proxy *proxy;
    floe_sim_timer *hangup;
    floe_addr stun_addr, turn_addr, proxy_addr;
    bool have_stun, have_turn;
    char turn_host[32], turn_user[32], turn_password[32];
    floe_addr_prefix allow[MAX_ALLOW];
    size_t n_allow;
    phone p[2]; /* alice, bob */
    floe_time_ns talk, ring, t_dial;
    FILE *ladder;
    char err[256];
} world;

static const char *opt(int argc, char **argv, const char *key) {
    size_t k = strlen(key);
    for (int i = 2; i < argc; i++)
        if (!strncmp(argv[i], key, k) && argv[i][k] == '=') return argv[i] + k + 1;
    return NULL;
}

static bool host_ip(floe_sim *sim, const char *name, uint16_t port, floe_addr *out) {
    floe_sim_host *h = name ? floe_sim_host_find(sim, name) : NULL;
    if (!h || floe_sim_host_iface_count(h) == 0) return false;
    *out = floe_sim_iface_addr(floe_sim_host_iface_at(h, 0), FLOE_AF_INET4);
    out->port = port;
    return out->family != FLOE_AF_NONE;
}

/* The ICE directives of the cell's scenario, read for what a call needs: where the STUN
 * and TURN servers are, and which hosts the two peers are on. */
static int directive(void *ctx, floe_sim *sim, int argc, char **argv, char *err, size_t cap) {
    world *w = ctx;
    const char *host = opt(argc, argv, "host"), *port = opt(argc, argv, "port");
    if (!strcmp(argv[0], "stun-server")) {
        if (!host_ip(sim, host, port ? (uint16_t)atoi(port) : 3478, &w->stun_addr)) goto bad;
        w->have_stun = true;
    } else if (!strcmp(argv[0], "turn-server")) {
        const char *u = opt(argc, argv, "user"), *pw = opt(argc, argv, "password"),
                   *al = opt(argc, argv, "allow");
        if (!port || !u || !pw || !host_ip(sim, host, (uint16_t)atoi(port), &w->turn_addr))
            goto bad;
        snprintf(w->turn_host, sizeof w->turn_host, "%s", host);
        snprintf(w->turn_user, sizeof w->turn_user, "%s", u);
        snprintf(w->turn_password, sizeof w->turn_password, "%s", pw);
        while (al && *al && w->n_allow < MAX_ALLOW) {
            char one[64];
            size_t n = strcspn(al, ",");
            snprintf(one, sizeof one, "%.*s", (int)n, al);
            if (floe_addr_prefix_parse(one, &w->allow[w->n_allow++]) != FLOE_OK) goto bad;
            al += n + (al[n] == ',');
        }
        w->have_turn = true;
    } else if (!strcmp(argv[0], "ice")) {
        int k = !strcmp(argv[1], "bob");
        if ((!k && strcmp(argv[1], "alice")) || !host) goto bad;
        const char *t = opt(argc, argv, "turn");
        if (t && strchr(t, '/')) {
            snprintf(err, cap, "%s: the UA reaches TURN servers over UDP only", argv[1]);
            return FLOE_ERR_UNSUPPORTED;
        }
        snprintf(w->p[k].host, sizeof w->p[k].host, "%s", host);
        w->p[k].turn = t != NULL;
    } else if (strcmp(argv[0], "signal") && strcmp(argv[0], "expect")) {
        return FLOE_ERR_NOT_FOUND;
    }
    return FLOE_OK;
bad:
    snprintf(err, cap, "%s: cannot read this line for a call", argv[0]);
    return FLOE_ERR_CONFIG;
}

static phone *phone_of(world *w, floe_sim_call *c) {
    return w->p[0].call == c ? &w->p[0] : &w->p[1];
}

static int count(const uint8_t *p, size_t len, const char *needle) {
    int n = 0;
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (!memcmp(p + i, needle, k)) n++;
    return n;
}

static bool starts(const uint8_t *p, size_t len, const char *s) {
    size_t k = strlen(s);
    return len >= k && !memcmp(p, s, k);
}

static void on_sip(void *ctx, floe_sim_call *c, floe_time_ns now, bool sent, const floe_addr *peer,
                   const uint8_t *p, size_t len) {
    world *w = ctx;
    phone *ph = phone_of(w, c);
    bool bob = ph == &w->p[1];
    if (w->ladder) {
        size_t n = 0;
        while (n < len && n < 100 && p[n] != '\r' && p[n] != '\n')
            n++;
        char pa[FLOE_ADDR_STRLEN];
        floe_addr_format(peer, true, pa, sizeof pa);
        fprintf(w->ladder, "%10.3f %-5s %s %-21s %.*s\n", (double)now / 1e9, ph->name,
                sent ? "->" : "<-", pa, (int)n, (const char *)p);
    }
    if (sent && bob && starts(p, len, "SIP/2.0 180") && ph->t_180_sent == FLOE_TIME_NEVER)
        ph->t_180_sent = now;
    if (!sent && !bob && starts(p, len, "SIP/2.0 180") && ph->t_180_rx == FLOE_TIME_NEVER)
        ph->t_180_rx = now;
    /* the description each side sent: how many srflx candidates it gathered (case 10) */
    if (sent && ph->srflx < 0 &&
        (bob ? starts(p, len, "SIP/2.0 183") : starts(p, len, "INVITE ")) &&
        count(p, len, "a=candidate:") > 0)
        ph->srflx = count(p, len, " typ srflx");
}

static void on_event(void *ctx, floe_sim_call *c, const floe_sip_ua_event *ev) {
    world *w = ctx;
    phone *ph = phone_of(w, c);
    if (w->ladder && ev->type != FLOE_SIP_UA_EV_SIP_SENT &&
        ev->type != FLOE_SIP_UA_EV_SIP_RECEIVED) {
        char l[FLOE_ADDR_STRLEN] = "", r[FLOE_ADDR_STRLEN] = "";
        if (ev->type == FLOE_SIP_UA_EV_ICE_SELECTED) {
            floe_addr_format(&ev->local.addr, true, l, sizeof l);
            floe_addr_format(&ev->remote.addr, true, r, sizeof r);
        }
        fprintf(w->ladder, "%10.3f %-5s %s %s%s%s%s%s%s%s%s%s\n", (double)ev->at / 1e9, ph->name,
                floe_sip_ua_event_name(ev->type),
                ev->type == FLOE_SIP_UA_EV_CALL_STATE ? floe_sip_call_state_name(ev->state.to) : "",
                ev->type == FLOE_SIP_UA_EV_CALL_STATE ? " " : "", ev->reason,
                l[0] ? floe_ice_cand_type_name(ev->local.type) : "", l[0] ? " " : "", l,
                l[0] ? " -> " : "", l[0] ? floe_ice_cand_type_name(ev->remote.type) : "", r);
    }
    switch (ev->type) {
    case FLOE_SIP_UA_EV_REGISTERED:
        if (ev->expires) ph->registered = true;
        break;
    case FLOE_SIP_UA_EV_REGISTER_FAILED: ph->reg_failed = true; break;
    case FLOE_SIP_UA_EV_ICE_COMPLETED:
        if (ph->t_ice_completed == FLOE_TIME_NEVER) ph->t_ice_completed = ev->at;
        break;
    case FLOE_SIP_UA_EV_CALL_STATE:
        if (ev->state.to == FLOE_SIP_CALL_CONFIRMED && ph->t_confirmed == FLOE_TIME_NEVER) {
            ph->t_confirmed = ev->at;
            if (ph == &w->p[0]) floe_sim_timer_arm(w->hangup, ev->at + w->talk);
        }
        break;
    case FLOE_SIP_UA_EV_CALL_ENDED:
        if (!ph->ended) ph->t_ended = ev->at;
        ph->ended = true;
        break;
    default: break;
    }
}

static void on_hangup(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    (void)now;
    world *w = ctx;
    if (!w->p[0].ended) floe_sim_call_hangup(w->p[0].call);
}

static void world_free(world *w) {
    for (int k = 0; k < 2; k++)
        floe_sim_call_free(w->p[k].call);
    floe_sim_timer_free(w->hangup);
    floe_sim_sip_proxy_free(w->proxy);
    floe_sim_turn_server_free(w->turn);
    floe_sim_stun_server_free(w->stun);
    floe_sim_free(w->sim);
}

static int build(world *w, const floe_sim_matrix_cell *cell, uint64_t seed, size_t record) {
    char text[FLOE_SIM_MATRIX_SCENARIO_MAX + 128];
    size_t n = floe_sim_matrix_scenario(cell, seed, text, sizeof text);
    if (n == 0) return FLOE_ERR_NOSPACE;
    snprintf(text + n, sizeof text - n,
             "\n# the SIP proxy and registrar\nhost sip net=internet "
             "ip=" PROXY_IP "\n");
    floe_sim_config sc;
    floe_sim_config_default(&sc);
    sc.max_steps = STEPS_MAX;
    int rc = floe_sim_new(&w->sim, &sc);
    if (rc != FLOE_OK) return rc;
    floe_sim_scenario_opts so = {directive, w};
    rc = floe_sim_scenario_parse(w->sim, text, "call-cell", &so, w->err, sizeof w->err);
    if (rc != FLOE_OK) return rc;
    if (!w->have_stun || !w->p[0].host[0] || !w->p[1].host[0] || (cell->turn && !w->have_turn)) {
        snprintf(w->err, sizeof w->err, "the cell's scenario lacks a server or a peer");
        return FLOE_ERR_CONFIG;
    }
    floe_stun_server_config stc;
    floe_stun_server_config_default(&stc);
    stc.primary = w->stun_addr;
    rc = floe_sim_stun_server_new(floe_sim_host_find(w->sim, "stun"), &stc, &w->stun);
    if (rc != FLOE_OK) return rc;
    if (w->have_turn) {
        floe_turn_user u = {w->turn_user, w->turn_password};
        floe_turn_server_config tc;
        floe_turn_server_config_default(&tc);
        tc.realm = "sim";
        tc.users = &u;
        tc.n_users = 1;
        tc.allow = w->allow;
        tc.n_allow = w->n_allow;
        tc.unauth_per_s = 0; /* everyone shares a few simulated addresses */
        rc = floe_sim_turn_server_new(floe_sim_host_find(w->sim, w->turn_host), &w->turn_addr, &tc,
                                      &w->turn);
        if (rc != FLOE_OK) return rc;
    }
    floe_addr_parse(PROXY_IP ":5060", &w->proxy_addr);
    rc = floe_sim_sip_proxy_new(floe_sim_host_find(w->sim, "sip"), &w->proxy_addr, DOMAIN,
                                &w->proxy);
    if (rc != FLOE_OK) return rc;
    rc = floe_sim_timer_new(w->sim, on_hangup, w, &w->hangup);
    if (rc != FLOE_OK) return rc;
    for (int k = 0; k < 2; k++) {
        phone *ph = &w->p[k];
        ph->name = k ? "bob" : "alice";
        ph->srflx = -1;
        ph->t_ice_completed = ph->t_180_sent = ph->t_180_rx = ph->t_confirmed = ph->t_ended =
            FLOE_TIME_NEVER;
        floe_sim_call_config c;
        floe_sim_call_config_default(&c);
        c.name = ph->name;
        c.host = floe_sim_host_find(w->sim, ph->host);
        c.ua.user = ph->name;
        c.ua.domain = DOMAIN;
        c.ua.outbound_proxy = w->proxy_addr;
        c.ua.stun_servers[0] = w->stun_addr;
        c.ua.n_stun_servers = 1;
        if (cell->turn && ph->turn) {
            c.ua.turn_servers[0] = (floe_ice_turn_server){
                w->turn_addr, w->turn_user, w->turn_password, FLOE_TRANSPORT_UDP, NULL};
            c.ua.n_turn_servers = 1;
        }
        c.ua.register_expires = REGISTER_S;
        c.ua.tone_hz = k ? TONE_BOB : TONE_ALICE;
        c.ua.answer_after = k ? w->ring : FLOE_TIME_NEVER; /* bob answers by himself */
        c.record_max = record;
        c.on_sip = on_sip;
        c.on_event = on_event;
        c.ctx = w;
        rc = floe_sim_call_new(w->sim, &c, &ph->call);
        if (rc != FLOE_OK) return rc;
    }
    return FLOE_OK;
}

/* Runs until done() or the world's time passes `end`; false on the step cap. */
static bool run(world *w, bool (*done)(const world *), floe_time_ns end) {
    while (!done(w)) {
        floe_time_ns next = floe_sim_next_time(w->sim);
        if (next == FLOE_TIME_NEVER || next > end) return true;
        if (floe_sim_step(w->sim) <= 0) return false;
    }
    return true;
}

static bool both_registered(const world *w) {
    return (w->p[0].registered && w->p[1].registered) || w->p[0].reg_failed || w->p[1].reg_failed;
}

static bool both_ended(const world *w) {
    return w->p[0].ended && w->p[1].ended;
}

/* ---- the verdict -------------------------------------------------------------------- */

static double heard(floe_sim_call *c, double want) {
    static const double freqs[2] = {TONE_ALICE, TONE_BOB};
    size_t n;
    const int16_t *x = floe_sim_call_audio(c, &n);
    floe_tone_result r;
    memset(&r, 0, sizeof r);
    if (n == 0 || floe_tone_detect(x, n, 8000, freqs, 2, &r) != FLOE_OK || r.detected < 0 ||
        freqs[r.detected] != want)
        return -r.ratio - 0.0001; /* negative: not heard (with the ratio that was) */
    return r.ratio;
}

static int64_t ms_since(floe_time_ns t, floe_time_ns t0) {
    return t == FLOE_TIME_NEVER ? -1 : (int64_t)((t - t0) / FLOE_MS(1));
}

static bool behind_nat(const floe_sim_matrix_side *s) {
    return s->kind == FLOE_SIM_SIDE_NAT || s->kind == FLOE_SIM_SIDE_CGNAT;
}

static void judge(world *w, const floe_sim_matrix_cell *cell, floe_sim_call_matrix_result *out) {
    phone *a = &w->p[0], *b = &w->p[1];
    floe_sim_call_result(a->call, &out->alice);
    floe_sim_call_result(b->call, &out->bob);
    const floe_sip_ua_result *ra = &out->alice, *rb = &out->bob;

    /* The rule, with the run's one input fact (case 10): a NATed side whose description
     * carried no srflx candidate. */
    floe_sim_matrix_cell c = *cell;
    c.a_srflx_lost = behind_nat(&c.a) && c.topo != FLOE_SIM_TOPO_SAME_LAN && a->srflx == 0;
    c.b_srflx_lost = behind_nat(&c.b) && c.topo != FLOE_SIM_TOPO_SAME_LAN && b->srflx == 0;
    floe_sim_matrix_rule(&c, &out->expect);
    const floe_sim_matrix_expect *e = &out->expect;
    if (c.a_srflx_lost || c.b_srflx_lost)
        snprintf(out->note, sizeof out->note, "%s%s%s gathered no srflx: case 10",
                 c.a_srflx_lost ? "alice" : "", c.a_srflx_lost && c.b_srflx_lost ? " and " : "",
                 c.b_srflx_lost ? "bob" : "");
    char direct[24];
    snprintf(direct, sizeof direct, "%s/%s", floe_ice_cand_type_name(e->local),
             floe_ice_cand_type_name(e->remote));
    if (!e->connect)
        snprintf(out->expected, sizeof out->expected, "fail");
    else if (e->relay)
        snprintf(out->expected, sizeof out->expected, "relay");
    else
        snprintf(out->expected, sizeof out->expected, "%s%s", direct, e->or_relay ? "|relay" : "");

    out->ratio_bob = heard(b->call, TONE_ALICE);
    out->ratio_alice = heard(a->call, TONE_BOB);
    out->audio = out->ratio_alice > 0 && out->ratio_bob > 0;
    /* answered: alice got the 200 (and ACKed it), bob sent it; bob's own confirmed state
     * needs the ACK, which a lossy call may only get after the BYE */
    out->answered = a->t_confirmed != FLOE_TIME_NEVER && rb->ms_200 >= 0;
    out->rang = b->t_180_sent != FLOE_TIME_NEVER || a->t_180_rx != FLOE_TIME_NEVER;
    out->ended = a->ended && b->ended;
    out->ms_bob_ice = ms_since(b->t_ice_completed, w->t_dial);
    out->ms_bob_180 = ms_since(b->t_180_sent, w->t_dial);
    out->duration = out->ended ? (a->t_ended > b->t_ended ? a->t_ended : b->t_ended) - w->t_dial
                               : FLOE_TIME_NEVER;
    bool ring_after_ice = b->t_180_sent != FLOE_TIME_NEVER &&
                          b->t_ice_completed != FLOE_TIME_NEVER &&
                          b->t_ice_completed <= b->t_180_sent;
    out->ghost_ring = out->rang && (!ring_after_ice || !out->audio);
    size_t na, nb;
    floe_sim_call_audio(a->call, &na);
    floe_sim_call_audio(b->call, &nb);
    bool alice_error = ra->end_status >= 300 || !strcmp(ra->end_reason, "ice-failed");
    out->clean_failure = !out->rang && ra->ms_200 < 0 && rb->ms_200 < 0 && out->ended &&
                         alice_error && ra->packets_received == 0 && rb->packets_received == 0 &&
                         na == 0 && nb == 0;

    /* alice's selected pair; when her nomination was still out at the hang-up (a lossy
     * short call: she sent on the pair she nominated), bob's, seen from her side */
    char pair[24] = "none";
    bool has_relay = false;
    if (ra->have_pair || rb->have_pair) {
        floe_ice_cand_type l = ra->have_pair ? ra->local.type : rb->remote.type;
        floe_ice_cand_type r = ra->have_pair ? ra->remote.type : rb->local.type;
        snprintf(pair, sizeof pair, "%s/%s", floe_ice_cand_type_name(l),
                 floe_ice_cand_type_name(r));
        has_relay = l == FLOE_ICE_CAND_RELAY || r == FLOE_ICE_CAND_RELAY;
    }
    if (out->answered)
        snprintf(out->got, sizeof out->got, "%s answered%s", pair, out->audio ? "" : ", no audio");
    else if (out->ended)
        snprintf(out->got, sizeof out->got, "fail %s%s", ra->end_reason,
                 out->rang ? " after ringing" : "");
    else
        snprintf(out->got, sizeof out->got, "unfinished (%s)", floe_sip_call_state_name(ra->state));

    char ice[32] = "never";
    if (out->ms_bob_ice >= 0) snprintf(ice, sizeof ice, "%lld ms", (long long)out->ms_bob_ice);
    if (out->ghost_ring && !ring_after_ice)
        snprintf(out->why, sizeof out->why,
                 "ghost ring: bob's 180 at %lld ms, his ICE completed: %s",
                 (long long)out->ms_bob_180, ice);
    else if (out->ghost_ring)
        snprintf(out->why, sizeof out->why,
                 "ghost ring: the call rang but audio did not flow both ways (tone ratio %.2f "
                 "at alice, %.2f at bob)",
                 out->ratio_alice, out->ratio_bob);
    else if (e->connect && !out->answered)
        snprintf(out->why, sizeof out->why, "expected an answered call (%s), got %s", out->expected,
                 out->got);
    else if (e->connect &&
             !(e->relay ? has_relay : !strcmp(pair, direct) || (e->or_relay && has_relay)))
        snprintf(out->why, sizeof out->why, "expected %s, alice selected %s", out->expected, pair);
    else if (e->connect && !out->audio)
        snprintf(out->why, sizeof out->why,
                 "no audio both ways (tone ratio %.2f at alice, %.2f "
                 "at bob)",
                 out->ratio_alice, out->ratio_bob);
    else if (e->connect &&
             (!out->ended || strcmp(ra->end_reason, "hangup") || strcmp(rb->end_reason, "bye")))
        snprintf(out->why, sizeof out->why,
                 "the hang-up did not end both sides (%s at alice, "
                 "%s at bob)",
                 ra->end_reason[0] ? ra->end_reason : "not ended",
                 rb->end_reason[0] ? rb->end_reason : "not ended");
    else if (!e->connect && !out->clean_failure)
        snprintf(out->why, sizeof out->why,
                 "expected a clean failure, got %s (alice %s, bob %s, RTP received %llu/%llu)",
                 out->got, ra->end_reason[0] ? ra->end_reason : "not ended",
                 rb->end_reason[0] ? rb->end_reason : "not ended",
                 (unsigned long long)ra->packets_received,
                 (unsigned long long)rb->packets_received);
    else
        out->ok = true;
}

int floe_sim_call_matrix_run(const floe_sim_matrix_cell *cell, uint64_t seed,
                             const floe_sim_call_matrix_config *cfg,
                             floe_sim_call_matrix_result *out) {
    memset(out, 0, sizeof *out);
    out->duration = FLOE_TIME_NEVER;
    out->ms_bob_ice = out->ms_bob_180 = -1;
    floe_time_ns talk = cfg && cfg->talk ? cfg->talk : FLOE_SIM_CALL_MATRIX_TALK;
    floe_time_ns ring = cfg && cfg->ring ? cfg->ring : FLOE_SIM_CALL_MATRIX_RING;
    world *w = calloc(1, sizeof *w);
    if (!w) return FLOE_ERR_NOMEM;
    w->talk = talk;
    w->ring = ring;
    w->ladder = cfg ? cfg->ladder : NULL;
    size_t record = (size_t)(talk / FLOE_MS(1)) * 8 + 8000 * 5;
    int rc = build(w, cell, seed, record);
    if (rc == FLOE_OK && cfg && cfg->tracer)
        rc = floe_sim_tracer_add(w->sim, cfg->tracer, cfg->tracer_ctx);
    if (rc == FLOE_OK) {
        rc = floe_sim_call_register(w->p[0].call);
        if (rc == FLOE_OK) rc = floe_sim_call_register(w->p[1].call);
    }
    if (rc != FLOE_OK) {
        if (!w->err[0]) snprintf(w->err, sizeof w->err, "%s", floe_strerror(rc));
        snprintf(out->why, sizeof out->why, "cannot build the call: %s", w->err);
        world_free(w);
        free(w);
        return rc;
    }
    bool steps_ok = run(w, both_registered, floe_sim_now(w->sim) + FLOE_SIM_CALL_MATRIX_REGISTER);
    out->registered = w->p[0].registered && w->p[1].registered;
    if (!out->registered) {
        snprintf(out->why, sizeof out->why, "the phones did not both register (alice %s, bob %s)",
                 w->p[0].registered ? "yes" : "no", w->p[1].registered ? "yes" : "no");
        world_free(w);
        free(w);
        return FLOE_OK;
    }
    w->t_dial = floe_sim_now(w->sim);
    rc = floe_sim_call_dial(w->p[0].call, "sip:bob@" DOMAIN);
    if (rc == FLOE_OK && steps_ok) {
        steps_ok = run(w, both_ended, w->t_dial + FLOE_SIM_CALL_MATRIX_LIMIT);
        /* a little more: a late datagram (media after the BYE, a retransmitted 180)
         * still counts */
        floe_time_ns until = floe_sim_now(w->sim) + TAIL;
        while (steps_ok && floe_sim_next_time(w->sim) != FLOE_TIME_NEVER &&
               floe_sim_next_time(w->sim) <= until)
            steps_ok = floe_sim_step(w->sim) > 0;
    }
    judge(w, cell, out);
    if (rc != FLOE_OK || !steps_ok) {
        out->ok = false;
        snprintf(out->why, sizeof out->why, "%s",
                 rc != FLOE_OK ? "alice cannot dial" : "the world hit its step cap");
    }
    world_free(w);
    free(w);
    return FLOE_OK;
}
