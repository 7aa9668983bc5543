/* `floe demo`: one complete SIP call with ICE between two user agents behind two
 * simulated NATs, in virtual time. The world is built with the simulator (sim/), the
 * STUN, TURN and SIP proxy cores run on simulated hosts, and each user agent is a
 * floe_sip_ua driven by rt/sim/sim_call.h. It prints the call's ladder as it happens and
 * a verdict: both tones heard, and the callee rang only after ICE completed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "floe/err.h"
#include "floe/ice_cand.h"
#include "floe/sip_ua.h"
#include "floe/tone.h"
#include "sim.h"
#include "sim_call.h"
#include "sim_pcap.h"
#include "sim_scenario.h"
#include "sim_sip_proxy.h"
#include "sim_stun_server.h"
#include "sim_turn_server.h"
#include "tone_verdict.h"

#define SUB "demo"
#define DOMAIN "floe.example"
#define TONE_A FLOE_TONE_CALLER_HZ /* alice's tone, heard by bob */
#define TONE_B FLOE_TONE_CALLEE_HZ /* bob's tone, heard by alice */
#define RING_FOR FLOE_S(1)
#define REGISTER_S 20     /* registration asked for: refreshed at half time */
#define LIMIT FLOE_S(120) /* virtual time after which the run gives up */
#define TAIL FLOE_MS(500) /* run on this long after both ends saw the call end */

static const char help_text[] =
    "usage: floe demo [--nat-a TYPE] [--nat-b TYPE] [--turn | --no-turn] [--loss PCT]\n"
    "                 [--seed N] [--duration SECONDS] [--pcap FILE] [--json]\n"
    "\n"
    "Places one SIP call between alice and bob, each behind their own NAT, through a\n"
    "simulated Internet, and checks that it works. Nothing touches a real network: the\n"
    "whole world runs in one process on a virtual clock, and a run depends only on its\n"
    "options and the seed.\n"
    "\n"
    "The world: on the Internet a STUN server (192.0.2.1:3478), a TURN server\n"
    "(192.0.2.3:3478) and a SIP proxy and registrar for " DOMAIN " (192.0.2.10:5060);\n"
    "alice (10.0.1.2) behind NAT A (public 203.0.113.1), bob (10.0.2.2) behind NAT B\n"
    "(public 198.51.100.1); 20 ms one way across the Internet, 1 ms on each LAN.\n"
    "\n"
    "The call: both register with the proxy (for 20 s, refreshed every 10 s: that keeps\n"
    "their NAT bindings toward the proxy open, as the NATs forget them after 30 s of\n"
    "silence); alice calls sip:bob@" DOMAIN ". Both user agents gather ICE candidates\n"
    "(host, server-reflexive from STUN, relayed from TURN); bob answers the offer in a\n"
    "reliable 183, alice PRACKs it, and both run the connectivity checks. Bob's phone\n"
    "rings (180) only once ICE has found a working path, so a call never rings when no\n"
    "media could flow. Bob answers after 1 s of ringing; alice sends a 440 Hz tone and\n"
    "bob a 1000 Hz tone for the duration, then alice hangs up. Each side records what it\n"
    "hears and a Goertzel detector names the tone.\n"
    "\n"
    "Output: the ladder as it happens (virtual time in ms, who -> who, the first line\n"
    "of every SIP message, ICE milestones, call states, first RTP each way), then the\n"
    "result and PASS or FAIL. PASS needs both tones heard and the 180 only after ICE\n"
    "completed at bob.\n"
    "\n"
    "options:\n"
    "  --nat-a TYPE     alice's NAT (default port-restricted). TYPE is one of\n"
    "                     none             no NAT: a public address\n"
    "                     full-cone        eim/eif\n"
    "                     restricted-cone  eim/adf\n"
    "                     port-restricted  eim/apdf (the common home router)\n"
    "                     symmetric        apdm/apdf\n"
    "                   or MAPPING/FILTERING of RFC 4787: mapping eim, adm or apdm\n"
    "                   (endpoint-independent, address-dependent, address-and-port-\n"
    "                   dependent), filtering eif, adf or apdf (e.g. adm/eif).\n"
    "  --nat-b TYPE     bob's NAT (default symmetric).\n"
    "  --turn           give both agents the TURN server (the default).\n"
    "  --no-turn        no TURN server: only direct paths. A port-restricted NAT facing\n"
    "                   a symmetric one has none (docs/simulator.md, the NAT matrix), so\n"
    "                   with the defaults the call then fails cleanly: no ring, 480.\n"
    "  --loss PCT       random loss on the Internet, 0 to 50 percent (default 0).\n"
    "                   SIP and STUN retransmit; lost RTP shows in the counts.\n"
    "  --seed N         the seed of every random choice (default 1).\n"
    "  --duration S     seconds of audio before alice hangs up, 0.5 to 60 (default 3).\n"
    "  --pcap FILE      write every datagram on every simulated network to FILE\n"
    "                   (pcapng), for wireshark or tshark.\n"
    "  --json           print only the result, as one JSON object on one line.\n"
    "  -h, --help       this text.\n"
    "\n"
    "examples:\n"
    "  floe demo\n"
    "  floe demo --nat-a full-cone --nat-b symmetric --no-turn\n"
    "  floe demo --loss 10 --seed 7 --pcap call.pcapng && wireshark call.pcapng\n"
    "\n"
    "Exit status: 0 PASS, 1 FAIL, 2 usage error.\n";

typedef struct opts {
    const char *nat[2]; /* as given */
    char nat_type[2][16];
    bool turn;
    double loss;
    uint64_t seed;
    double duration;
    const char *pcap;
    bool json;
} opts;

typedef struct side {
    const char *name;
    floe_sim_call *call;
    bool registered, reg_failed, ended;
    floe_time_ns t_ice_completed, t_180_sent, t_confirmed, t_first_rtp_rx;
    floe_tone_result tone;
    bool heard;     /* the other side's tone detected */
    size_t samples; /* received audio analysed */
} side;

typedef struct demo {
    opts o;
    floe_sim *sim;
    floe_sim_stun_server *stun;
    floe_sim_turn_server *turn;
    floe_sim_sip_proxy *proxy;
    floe_addr stun_addr, turn_addr, proxy_addr;
    side s[2]; /* alice, bob */
    floe_sim_timer *act;
    enum { PH_REGISTER, PH_DIAL, PH_TALK, PH_HANGUP, PH_DONE } phase;
    floe_time_ns t_end; /* both ended: stop at t_end + TAIL */
    bool dial_failed;
    bool ladder;
} demo;

/* ---- options ------------------------------------------------------------------------ */

/* A NAT type for the scenario's `type=`, or "none"; false for anything else. */
static bool nat_type(const char *s, char *out, size_t cap) {
    static const char *const named[] = {"none", "full-cone", "restricted-cone", "port-restricted",
                                        "symmetric"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcmp(s, named[i])) {
            snprintf(out, cap, "%s", named[i]);
            return true;
        }
    if (!strcmp(s, "port-restricted-cone")) {
        snprintf(out, cap, "port-restricted");
        return true;
    }
    static const char *const maps[] = {"eim", "adm", "apdm"}, *const filts[] = {"eif", "adf",
                                                                                "apdf"};
    for (size_t m = 0; m < 3; m++)
        for (size_t f = 0; f < 3; f++) {
            char a[16], b[16];
            snprintf(a, sizeof a, "%s/%s", maps[m], filts[f]);
            snprintf(b, sizeof b, "%s-%s", maps[m], filts[f]);
            if (!strcmp(s, a) || !strcmp(s, b)) {
                snprintf(out, cap, "%s", a);
                return true;
            }
        }
    return false;
}

/* "port-restricted (eim/apdf)" for the header. */
static const char *nat_text(const char *type, char *buf, size_t cap) {
    static const char *const names[][2] = {{"full-cone", "eim/eif"},
                                           {"restricted-cone", "eim/adf"},
                                           {"port-restricted", "eim/apdf"},
                                           {"symmetric", "apdm/apdf"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(type, names[i][0])) {
            snprintf(buf, cap, "%s NAT (%s)", names[i][0], names[i][1]);
            return buf;
        }
    snprintf(buf, cap, "%s NAT", type);
    return buf;
}

static int parse_opts(int argc, char **argv, opts *o, bool *help) {
    memset(o, 0, sizeof *o);
    o->nat[0] = "port-restricted";
    o->nat[1] = "symmetric";
    o->turn = true;
    o->seed = 1;
    o->duration = 3.0;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--turn")) {
            o->turn = true;
        } else if (!strcmp(a, "--no-turn")) {
            o->turn = false;
        } else if (floe_cli_value(argc, argv, &i, "--nat-a", &v) ||
                   floe_cli_value(argc, argv, &i, "--nat-b", &v)) {
            int k = strstr(a, "--nat-b") == a ? 1 : 0;
            if (!v) return floe_usage_error(SUB, "--nat-%c needs a TYPE", k ? 'b' : 'a');
            o->nat[k] = v;
        } else if (floe_cli_value(argc, argv, &i, "--loss", &v)) {
            char *end = NULL;
            errno = 0;
            double x = v ? strtod(v, &end) : -1;
            if (!v || errno || end == v || (*end && strcmp(end, "%")) || !(x >= 0 && x <= 50))
                return floe_usage_error(SUB, "--loss takes a percentage from 0 to 50, not '%s'",
                                        v ? v : "");
            o->loss = x;
        } else if (floe_cli_value(argc, argv, &i, "--seed", &v)) {
            char *end = NULL;
            errno = 0;
            unsigned long long x = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
            if (!v || !end || *end || errno)
                return floe_usage_error(SUB, "--seed takes a number, not '%s'", v ? v : "");
            o->seed = x;
        } else if (floe_cli_value(argc, argv, &i, "--duration", &v)) {
            char *end = NULL;
            errno = 0;
            double x = v ? strtod(v, &end) : -1;
            if (!v || errno || end == v || (*end && strcmp(end, "s")) || !(x >= 0.5 && x <= 60))
                return floe_usage_error(SUB, "--duration takes seconds from 0.5 to 60, not '%s'",
                                        v ? v : "");
            o->duration = x;
        } else if (floe_cli_value(argc, argv, &i, "--pcap", &v)) {
            if (!v || !*v) return floe_usage_error(SUB, "--pcap needs a FILE");
            o->pcap = v;
        } else {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        }
    }
    for (int k = 0; k < 2; k++)
        if (!nat_type(o->nat[k], o->nat_type[k], sizeof o->nat_type[k]))
            return floe_usage_error(SUB,
                                    "--nat-%c: unknown NAT type '%s' (none, full-cone, "
                                    "restricted-cone, port-restricted, symmetric, or "
                                    "MAPPING/FILTERING such as apdm/apdf)",
                                    k ? 'b' : 'a', o->nat[k]);
    return 0;
}

/* ---- the world ---------------------------------------------------------------------- */

/* The networks, NATs and hosts, as a scenario text (docs/simulator.md). */
static void world_text(const opts *o, char *buf, size_t cap) {
    int n = snprintf(buf, cap,
                     "network internet delay=20ms jitter=2ms loss=%g%%\n"
                     "host stun net=internet ip=192.0.2.1\n"
                     "host turn net=internet ip=192.0.2.3\n"
                     "host sip net=internet ip=192.0.2.10\n",
                     o->loss);
    static const char *const who[2] = {"alice", "bob"}, *const nat[2] = {"natA", "natB"},
                             *const lan[2] = {"lanA", "lanB"},
                             *const pub[2] = {"203.0.113", "198.51.100"};
    for (int k = 0; k < 2 && n > 0 && (size_t)n < cap; k++) {
        if (!strcmp(o->nat_type[k], "none"))
            n += snprintf(buf + n, cap - (size_t)n, "host %s net=internet ip=%s.%d\n", who[k],
                          pub[k], 10);
        else
            n += snprintf(buf + n, cap - (size_t)n,
                          "network %s delay=1ms\n"
                          "nat %s type=%s inside=%s ip=10.0.%d.1 outside=internet ip=%s.1\n"
                          "host %s net=%s ip=10.0.%d.2 gw=10.0.%d.1\n",
                          lan[k], nat[k], o->nat_type[k], lan[k], k + 1, pub[k], who[k], lan[k],
                          k + 1, k + 1);
    }
}

static int build_world(demo *d, char *err, size_t cap) {
    floe_sim_config sc;
    floe_sim_config_default(&sc);
    sc.seed = d->o.seed;
    int rc = floe_sim_new(&d->sim, &sc);
    if (rc != FLOE_OK) return snprintf(err, cap, "cannot make the world: %s", floe_strerror(rc));
    char text[2048];
    world_text(&d->o, text, sizeof text);
    rc = floe_sim_scenario_parse(d->sim, text, "demo", NULL, err, cap);
    if (rc != FLOE_OK) return 1;

    floe_addr_parse("192.0.2.1:3478", &d->stun_addr);
    floe_addr_parse("192.0.2.3:3478", &d->turn_addr);
    floe_addr_parse("192.0.2.10:5060", &d->proxy_addr);
    floe_stun_server_config stc;
    floe_stun_server_config_default(&stc);
    stc.primary = d->stun_addr;
    rc = floe_sim_stun_server_new(floe_sim_host_find(d->sim, "stun"), &stc, &d->stun);
    if (rc != FLOE_OK) return snprintf(err, cap, "STUN server: %s", floe_strerror(rc));
    if (d->o.turn) {
        /* the simulated Internet uses documentation addresses: allow them as peers */
        static const char *const nets[] = {"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"};
        floe_addr_prefix allow[3];
        for (int i = 0; i < 3; i++)
            floe_addr_prefix_parse(nets[i], &allow[i]);
        floe_turn_user u = {"demo", "floe"};
        floe_turn_server_config tc;
        floe_turn_server_config_default(&tc);
        tc.realm = DOMAIN;
        tc.users = &u;
        tc.n_users = 1;
        tc.allow = allow;
        tc.n_allow = 3;
        tc.unauth_per_s = 0; /* both agents come from few simulated addresses */
        rc = floe_sim_turn_server_new(floe_sim_host_find(d->sim, "turn"), &d->turn_addr, &tc,
                                      &d->turn);
        if (rc != FLOE_OK) return snprintf(err, cap, "TURN server: %s", floe_strerror(rc));
    }
    rc = floe_sim_sip_proxy_new(floe_sim_host_find(d->sim, "sip"), &d->proxy_addr, DOMAIN,
                                &d->proxy);
    if (rc != FLOE_OK) return snprintf(err, cap, "SIP proxy: %s", floe_strerror(rc));
    return 0;
}

/* ---- the ladder --------------------------------------------------------------------- */

static void ms_text(floe_time_ns t, char *buf, size_t cap) {
    snprintf(buf, cap, "%9.1f ms", (double)t / 1e6);
}

static const char *peer_name(const demo *d, const floe_addr *a, char *buf, size_t cap) {
    if (floe_addr_equal(a, &d->proxy_addr)) return "proxy";
    floe_addr_format(a, true, buf, cap);
    return buf;
}

static void line(demo *d, floe_time_ns t, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void line(demo *d, floe_time_ns t, const char *who, const char *fmt, ...) {
    if (!d->ladder) return;
    char ts[32];
    ms_text(t, ts, sizeof ts);
    printf("%s  %-16s ", ts, who);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static side *side_of(demo *d, floe_sim_call *c) {
    return d->s[0].call == c ? &d->s[0] : &d->s[1];
}

/* The status code of a SIP response's first line, else 0. */
static unsigned status_of(const uint8_t *p, size_t len) {
    if (len < 12 || memcmp(p, "SIP/2.0 ", 8)) return 0;
    unsigned v = 0;
    for (size_t i = 8; i < 11; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v;
}

static void on_sip(void *ctx, floe_sim_call *c, floe_time_ns now, bool sent, const floe_addr *peer,
                   const uint8_t *p, size_t len) {
    demo *d = ctx;
    side *s = side_of(d, c);
    if (sent && s == &d->s[1] && status_of(p, len) == 180 && s->t_180_sent == FLOE_TIME_NEVER)
        s->t_180_sent = now;
    size_t n = 0;
    while (n < len && n < 120 && p[n] != '\r' && p[n] != '\n')
        n++;
    char pb[FLOE_ADDR_STRLEN], who[2 * FLOE_ADDR_STRLEN + 8];
    const char *pn = peer_name(d, peer, pb, sizeof pb);
    snprintf(who, sizeof who, "%s -> %s", sent ? s->name : pn, sent ? pn : s->name);
    line(d, now, who, "%.*s", (int)n, (const char *)p);
}

static void act_at(demo *d, floe_time_ns at) {
    floe_sim_timer_arm(d->act, at);
}

static void on_event(void *ctx, floe_sim_call *c, const floe_sip_ua_event *ev) {
    demo *d = ctx;
    side *s = side_of(d, c);
    char l[FLOE_ADDR_STRLEN], r[FLOE_ADDR_STRLEN];
    switch (ev->type) {
    case FLOE_SIP_UA_EV_REGISTERED:
        line(d, ev->at, s->name, "registered with the proxy for %u s", (unsigned)ev->expires);
        if (ev->expires) s->registered = true;
        if (d->phase == PH_REGISTER && d->s[0].registered && d->s[1].registered) {
            d->phase = PH_DIAL;
            act_at(d, ev->at);
        }
        break;
    case FLOE_SIP_UA_EV_REGISTER_FAILED:
        line(d, ev->at, s->name, "registration failed (%u %s)", ev->status, ev->reason);
        s->reg_failed = true;
        break;
    case FLOE_SIP_UA_EV_CALL_STATE:
        line(d, ev->at, s->name, "call %s -> %s", floe_sip_call_state_name(ev->state.from),
             floe_sip_call_state_name(ev->state.to));
        if (ev->state.to == FLOE_SIP_CALL_CONFIRMED && s->t_confirmed == FLOE_TIME_NEVER) {
            s->t_confirmed = ev->at;
            if (s == &d->s[0] && d->phase == PH_TALK)
                act_at(d, ev->at + (floe_time_ns)(d->o.duration * 1e9));
        }
        break;
    case FLOE_SIP_UA_EV_ICE_GATHERED: line(d, ev->at, s->name, "ICE gathering done"); break;
    case FLOE_SIP_UA_EV_ICE_CHECKING: line(d, ev->at, s->name, "ICE checks start"); break;
    case FLOE_SIP_UA_EV_ICE_PATH_FOUND: line(d, ev->at, s->name, "ICE path found"); break;
    case FLOE_SIP_UA_EV_ICE_SELECTED:
        floe_addr_format(&ev->local.addr, true, l, sizeof l);
        floe_addr_format(&ev->remote.addr, true, r, sizeof r);
        line(d, ev->at, s->name, "ICE nominated pair: %s %s -> %s %s",
             floe_ice_cand_type_name(ev->local.type), l, floe_ice_cand_type_name(ev->remote.type),
             r);
        break;
    case FLOE_SIP_UA_EV_ICE_COMPLETED:
        if (s->t_ice_completed == FLOE_TIME_NEVER) s->t_ice_completed = ev->at;
        line(d, ev->at, s->name, "ICE completed");
        break;
    case FLOE_SIP_UA_EV_ICE_FAILED: line(d, ev->at, s->name, "ICE failed: %s", ev->reason); break;
    case FLOE_SIP_UA_EV_CONSENT_LOST:
        line(d, ev->at, s->name, "ICE consent lost: media stopped");
        break;
    case FLOE_SIP_UA_EV_MEDIA_SENT: line(d, ev->at, s->name, "first RTP sent"); break;
    case FLOE_SIP_UA_EV_MEDIA_RECEIVED:
        if (s->t_first_rtp_rx == FLOE_TIME_NEVER) s->t_first_rtp_rx = ev->at;
        line(d, ev->at, s->name, "first RTP received");
        break;
    case FLOE_SIP_UA_EV_CALL_ENDED:
        line(d, ev->at, s->name, "call ended: %s", ev->reason);
        s->ended = true;
        if (d->s[0].ended && d->s[1].ended && d->t_end == FLOE_TIME_NEVER) d->t_end = ev->at;
        if (s == &d->s[0] && d->phase < PH_HANGUP) {
            /* the call ended before alice hung up: nothing more will happen */
            d->phase = PH_DONE;
            if (d->t_end == FLOE_TIME_NEVER) d->t_end = ev->at + FLOE_S(2);
        }
        break;
    case FLOE_SIP_UA_EV_SIP_SENT:
    case FLOE_SIP_UA_EV_SIP_RECEIVED: /* printed from the datagrams themselves */
    case FLOE_SIP_UA_EV_NONE:
    default: break;
    }
}

/* The demo's script: dial once both are registered, hang up after the duration. */
static void on_act(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    demo *d = ctx;
    if (d->phase == PH_DIAL) {
        d->phase = PH_TALK;
        line(d, now, "alice", "dials sip:bob@" DOMAIN);
        int rc = floe_sim_call_dial(d->s[0].call, "sip:bob@" DOMAIN);
        if (rc != FLOE_OK) {
            line(d, now, "alice", "cannot dial: %s", floe_strerror(rc));
            d->dial_failed = true;
            d->phase = PH_DONE;
            d->t_end = now;
        }
    } else if (d->phase == PH_TALK) {
        d->phase = PH_HANGUP;
        line(d, now, "alice", "hangs up after %.1f s of audio", d->o.duration);
        floe_sim_call_hangup(d->s[0].call);
    }
}

static int make_side(demo *d, int k, char *err, size_t cap) {
    side *s = &d->s[k];
    s->name = k ? "bob" : "alice";
    s->t_ice_completed = s->t_180_sent = s->t_confirmed = s->t_first_rtp_rx = FLOE_TIME_NEVER;
    floe_sim_call_config c;
    floe_sim_call_config_default(&c);
    c.name = s->name;
    c.host = floe_sim_host_find(d->sim, s->name);
    c.ua.user = s->name;
    c.ua.domain = DOMAIN;
    c.ua.display = k ? "Bob" : "Alice";
    c.ua.outbound_proxy = d->proxy_addr;
    c.ua.stun_servers[0] = d->stun_addr;
    c.ua.n_stun_servers = 1;
    if (d->o.turn) {
        c.ua.turn_servers[0] =
            (floe_ice_turn_server){d->turn_addr, "demo", "floe", FLOE_TRANSPORT_UDP, NULL};
        c.ua.n_turn_servers = 1;
    }
    /* The NATs forget a binding after 30 s without outbound traffic; refreshing the
     * registration every 10 s keeps the SIP socket's binding toward the proxy open, so
     * that a BYE after a long call still reaches the callee. */
    c.ua.register_expires = REGISTER_S;
    c.ua.tone_hz = k ? TONE_B : TONE_A;
    c.ua.answer_after = k ? RING_FOR : FLOE_TIME_NEVER;
    c.record_max = (size_t)((d->o.duration + 5) * 8000);
    c.on_sip = on_sip;
    c.on_event = on_event;
    c.ctx = d;
    int rc = floe_sim_call_new(d->sim, &c, &s->call);
    if (rc != FLOE_OK) return snprintf(err, cap, "%s: %s", s->name, floe_strerror(rc));
    return 0;
}

/* ---- the result --------------------------------------------------------------------- */

static void detect(side *s, double want) {
    size_t n;
    const int16_t *x = floe_sim_call_audio(s->call, &n);
    floe_tone_verdict v;
    floe_tone_verdict_of(x, n, want, &v);
    s->tone = v.r;
    s->samples = v.samples;
    s->heard = v.heard;
}

static int64_t ms_between(int64_t a, int64_t b) {
    return a < 0 || b < 0 ? -1 : b - a;
}

static void json_str(const char *k, const char *v, bool comma) {
    printf("\"%s\":\"", k);
    for (const char *p = v; *p; p++)
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if ((unsigned char)*p >= 0x20)
            putchar(*p);
    printf("\"%s", comma ? "," : "");
}

static int report(demo *d) {
    side *a = &d->s[0], *b = &d->s[1];
    floe_sip_ua_result ra, rb;
    floe_sim_call_result(a->call, &ra);
    floe_sim_call_result(b->call, &rb);
    detect(b, TONE_A);
    detect(a, TONE_B);
    bool ring_after_ice = b->t_180_sent != FLOE_TIME_NEVER &&
                          b->t_ice_completed != FLOE_TIME_NEVER &&
                          b->t_ice_completed <= b->t_180_sent;
    bool pass = a->heard && b->heard && ring_after_ice;
    int64_t inv_180 = ra.ms_180;
    int64_t ok_rtp = ms_between(ra.ms_200, ra.ms_first_rtp_received);
    char pair[160] = "none", l[FLOE_ADDR_STRLEN], r[FLOE_ADDR_STRLEN];
    if (ra.have_pair) {
        floe_addr_format(&ra.local.addr, true, l, sizeof l);
        floe_addr_format(&ra.remote.addr, true, r, sizeof r);
        snprintf(pair, sizeof pair, "%s %s -> %s %s", floe_ice_cand_type_name(ra.local.type), l,
                 floe_ice_cand_type_name(ra.remote.type), r);
    }
    const char *end = ra.end_reason[0] ? ra.end_reason : "not ended";
    if (d->o.json) {
        printf("{\"pass\":%s,", pass ? "true" : "false");
        printf("\"seed\":%llu,", (unsigned long long)d->o.seed);
        json_str("nat_a", d->o.nat_type[0], true);
        json_str("nat_b", d->o.nat_type[1], true);
        printf("\"turn\":%s,\"loss_pct\":%g,\"duration_s\":%g,", d->o.turn ? "true" : "false",
               d->o.loss, d->o.duration);
        printf("\"tones\":{\"440_at_bob\":%s,\"1000_at_alice\":%s,\"ratio_at_bob\":%.3f,"
               "\"ratio_at_alice\":%.3f},",
               b->heard ? "true" : "false", a->heard ? "true" : "false", b->tone.ratio,
               a->tone.ratio);
        printf("\"ring_after_ice\":%s,", ring_after_ice ? "true" : "false");
        printf("\"pair\":{");
        json_str("local", ra.have_pair ? floe_ice_cand_type_name(ra.local.type) : "none", true);
        json_str("remote", ra.have_pair ? floe_ice_cand_type_name(ra.remote.type) : "none", false);
        printf("},");
        printf("\"rtp\":{\"alice_to_bob\":{\"sent\":%llu,\"received\":%llu,\"lost\":%lld},"
               "\"bob_to_alice\":{\"sent\":%llu,\"received\":%llu,\"lost\":%lld}},",
               (unsigned long long)ra.packets_sent, (unsigned long long)rb.packets_received,
               (long long)rb.packets_lost, (unsigned long long)rb.packets_sent,
               (unsigned long long)ra.packets_received, (long long)ra.packets_lost);
        printf("\"ms_invite_to_180\":%lld,\"ms_200_to_first_rtp\":%lld,"
               "\"ms_ice_completed_at_bob\":%lld,\"ms_180_at_bob\":%lld,",
               (long long)inv_180, (long long)ok_rtp, (long long)rb.ms_ice_completed,
               (long long)rb.ms_180);
        json_str("end", end, true);
        json_str("end_bob", rb.end_reason[0] ? rb.end_reason : "not ended", false);
        printf("}\n");
        return pass ? 0 : 1;
    }
    printf("\nresult:\n");
    printf("  selected pair (alice's view): %s\n", pair);
    printf("  440 Hz alice -> bob:   %s (%.0f %% of %.2f s received is that tone)\n",
           b->heard ? "heard" : "NOT heard", 100 * b->tone.ratio, (double)b->samples / 8000);
    printf("  1000 Hz bob -> alice:  %s (%.0f %% of %.2f s received is that tone)\n",
           a->heard ? "heard" : "NOT heard", 100 * a->tone.ratio, (double)a->samples / 8000);
    printf("  RTP alice -> bob: %llu sent, %llu received, %lld lost\n",
           (unsigned long long)ra.packets_sent, (unsigned long long)rb.packets_received,
           (long long)rb.packets_lost);
    printf("  RTP bob -> alice: %llu sent, %llu received, %lld lost\n",
           (unsigned long long)rb.packets_sent, (unsigned long long)ra.packets_received,
           (long long)ra.packets_lost);
    printf("  INVITE -> 180 at alice: %lld ms; at bob ICE completed %lld ms and 180 sent %lld "
           "ms after the INVITE: %s\n",
           (long long)inv_180, (long long)rb.ms_ice_completed, (long long)rb.ms_180,
           ring_after_ice ? "rang only after ICE" : "NO ring after ICE");
    printf("  200 -> first RTP received at alice: %lld ms%s\n", (long long)ok_rtp,
           ok_rtp < 0 && ra.ms_200 >= 0 ? " (bob's media overtook his 200)" : "");
    printf("  call ended: %s at alice, %s at bob\n", end,
           rb.end_reason[0] ? rb.end_reason : "not ended");
    printf("%s\n", pass ? "PASS" : "FAIL");
    return pass ? 0 : 1;
}

/* ---- run ---------------------------------------------------------------------------- */

static void demo_free(demo *d) {
    for (int k = 0; k < 2; k++)
        floe_sim_call_free(d->s[k].call);
    floe_sim_timer_free(d->act);
    floe_sim_sip_proxy_free(d->proxy);
    floe_sim_turn_server_free(d->turn);
    floe_sim_stun_server_free(d->stun);
    floe_sim_free(d->sim);
}

int floe_cmd_demo(int argc, char **argv) {
    demo d;
    memset(&d, 0, sizeof d);
    bool help;
    int rc = parse_opts(argc, argv, &d.o, &help);
    if (rc) return rc;
    if (help) {
        fputs(help_text, stdout);
        return 0;
    }
    d.ladder = !d.o.json;
    d.t_end = FLOE_TIME_NEVER;
    char err[512] = "";
    int status = 0;
    FILE *pf = NULL;
    floe_sim_pcap *pc = NULL;
    if (build_world(&d, err, sizeof err) || make_side(&d, 0, err, sizeof err) ||
        make_side(&d, 1, err, sizeof err) ||
        floe_sim_timer_new(d.sim, on_act, &d, &d.act) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": %s\n", err[0] ? err : "cannot build the world");
        demo_free(&d);
        return 1;
    }
    if (d.o.pcap) {
        pf = fopen(d.o.pcap, "wb");
        if (!pf || floe_sim_pcap_open(d.sim, pf, &pc) != FLOE_OK) {
            fprintf(stderr, "floe " SUB ": cannot write %s: %s\n", d.o.pcap,
                    pf ? "capture failed" : strerror(errno));
            if (pf) fclose(pf);
            demo_free(&d);
            return 1;
        }
    }
    if (d.ladder) {
        char na[64], nb[64];
        floe_addr aa = floe_sim_call_sip_addr(d.s[0].call),
                  ba = floe_sim_call_sip_addr(d.s[1].call);
        char as[FLOE_ADDR_STRLEN], bs[FLOE_ADDR_STRLEN];
        floe_addr_format(&aa, false, as, sizeof as);
        floe_addr_format(&ba, false, bs, sizeof bs);
        printf("floe demo: a SIP call with ICE through two simulated NATs (seed %llu)\n",
               (unsigned long long)d.o.seed);
        printf("  alice %-10s %s\n", as,
               strcmp(d.o.nat_type[0], "none") ? nat_text(d.o.nat_type[0], na, sizeof na)
                                               : "no NAT");
        printf("  bob   %-10s %s\n", bs,
               strcmp(d.o.nat_type[1], "none") ? nat_text(d.o.nat_type[1], nb, sizeof nb)
                                               : "no NAT");
        printf("  Internet: 20 ms one way, %g %% loss; STUN 192.0.2.1:3478%s; SIP proxy and "
               "registrar for " DOMAIN " at 192.0.2.10:5060\n\n",
               d.o.loss, d.o.turn ? ", TURN 192.0.2.3:3478" : ", no TURN");
        fflush(stdout);
    }
    if (floe_sim_call_register(d.s[0].call) != FLOE_OK ||
        floe_sim_call_register(d.s[1].call) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot register\n");
        status = 1;
    }
    while (status == 0) {
        floe_time_ns next = floe_sim_next_time(d.sim);
        if (next == FLOE_TIME_NEVER || next > LIMIT) break;
        if (d.t_end != FLOE_TIME_NEVER && next > d.t_end + TAIL) break;
        if (d.s[0].reg_failed || d.s[1].reg_failed) break;
        if (floe_sim_step(d.sim) <= 0) break;
    }
    if (status == 0 && d.t_end == FLOE_TIME_NEVER && d.ladder)
        printf("(the call did not end within %lld s of virtual time)\n",
               (long long)(LIMIT / FLOE_NS_PER_S));
    if (status == 0) status = report(&d);
    if (pc && floe_sim_pcap_close(pc) != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": writing %s failed\n", d.o.pcap);
        status = 1;
    }
    if (pf && fclose(pf) != 0) {
        fprintf(stderr, "floe " SUB ": writing %s failed: %s\n", d.o.pcap, strerror(errno));
        status = 1;
    }
    demo_free(&d);
    return status;
}
