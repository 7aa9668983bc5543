/* The SIP user agent (floe/sip_ua.h): two UAs on an in-test network in virtual time.
 *
 * The network carries every datagram (SIP and media) with a fixed delay, optional
 * deterministic random loss, and can block the media path (everything that is not SIP).
 * Each UA's events are logged, so the tests can check the ladder's order: the reliable
 * 183 with the answer, its PRACK, the checks, and the 180 only after ICE completed on
 * the callee. Received audio is kept and the tones are detected with floe/tone.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip_auth.h"
#include "floe/sip_proxy.h"
#include "floe/sip_ua.h"
#include "floe/tone.h"

#define FLIGHT 8192
#define LOG 8192
#define AUDIO (8000 * 20)

typedef struct pkt {
    floe_time_ns at;
    int dst;
    unsigned sock;
    bool sip;
    floe_addr from;
    size_t len;
    uint8_t data[FLOE_SIP_UA_SEND_MAX];
} pkt;

typedef struct side {
    floe_sip_ua *ua;
    floe_addr sip, media[2];
    unsigned n_media;
    bool dead[2]; /* a media address the network does not carry */
    uint64_t rng;
    floe_sip_ua_event log[LOG];
    size_t n_log;
    int16_t audio[AUDIO];
    size_t n_audio;
} side;

typedef struct net {
    floe_time_ns now, delay;
    unsigned loss_pct;
    uint64_t loss_rng;
    bool block_media;
    side s[2];
    pkt *flight;
    size_t n_flight;
    floe_sip_proxy *proxy; /* the SIP network, when there is one */
    floe_addr proxy_addr;
    uint64_t media_sent;   /* media datagrams put on the network */
    bool challenge;        /* the proxy asks REGISTERs for digest credentials (bob/secret) */
    bool challenge_invite; /* ... and initial INVITEs for proxy credentials (407) */
    uint64_t challenges;
    uint64_t dropped;
    bool no_100rel, no_preview; /* OPT_NO_100REL, OPT_NO_PREVIEW */
    char last_ack[2048];        /* the last ACK alice sent (to build in-dialog requests) */
    char last_prack[2048];      /* ... and PRACK (for requests in the early dialog) */
    floe_transport sip_tp;      /* how SIP travels: UDP, or TCP with OPT_TCP */
    unsigned drop_acks;         /* alice's next ACKs lost on the way */
    char last_200[4096];        /* bob's last 200 to the INVITE (to fake another fork's) */
    uint64_t sip_sent[2];       /* SIP messages each side sent */
} net;

static uint64_t xs(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int rnd(void *ctx, void *buf, size_t len) {
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(xs(ctx) >> 24);
    return FLOE_OK;
}

static void push(void *ctx, uint32_t gap, const int16_t *x, size_t n) {
    side *s = ctx;
    (void)gap;
    for (size_t i = 0; i < n && s->n_audio < AUDIO; i++)
        s->audio[s->n_audio++] = x[i];
}

static void addr(floe_addr *a, uint32_t ip, uint16_t port) {
    floe_addr_set_v4(a, ip, port);
}

/* UA 0 is alice (caller, 10.0.0.1), UA 1 is bob (callee, 10.0.0.2). */
/* With dead_host, alice's first media socket (her best host candidate, hence the
 * default one she offers) is on an address the network does not carry. */
enum {
    OPT_DEAD_HOST = 1,
    OPT_PROXY = 2,
    OPT_AUTH = 4,
    OPT_AUTH_INVITE = 8,
    OPT_CALLEE_NO_ICE = 16,
    OPT_NO_100REL = 32,  /* alice's INVITE loses its Supported: 100rel on the way */
    OPT_NO_PREVIEW = 64, /* ... and bob's 183s never reach her */
    OPT_TCP = 128,       /* alice calls over TCP (the network keeps order, loses nothing) */
};

static void add_proxy(net *n);

static net *net_new_opt(uint64_t seed, bool caller_ice, double tone_a, double tone_b,
                        floe_time_ns answer_after, unsigned opts) {
    bool dead_host = opts & OPT_DEAD_HOST;
    net *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->flight = calloc(FLIGHT, sizeof *n->flight);
    assert_non_null(n->flight);
    n->delay = FLOE_MS(20);
    n->loss_rng = seed * 7919 + 17;
    if (opts & OPT_PROXY) add_proxy(n);
    n->no_100rel = opts & OPT_NO_100REL;
    n->no_preview = opts & OPT_NO_PREVIEW;
    n->sip_tp = opts & OPT_TCP ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP;
    for (int i = 0; i < 2; i++) {
        side *s = &n->s[i];
        s->rng = seed * 1000003 + (uint64_t)i * 77 + 1;
        addr(&s->sip, 0x0a000001u + (uint32_t)i, 5060);
        addr(&s->media[0], 0x0a000001u + (uint32_t)i, 40000);
        s->n_media = 1;
        if (i == 0 && dead_host) {
            s->media[1] = s->media[0];
            addr(&s->media[0], 0x0a090901u, 40000);
            s->dead[0] = true;
            s->n_media = 2;
        }
        floe_sip_ua_config c;
        floe_sip_ua_config_default(&c);
        c.user = i == 0 ? "alice" : "bob";
        c.domain = "example.net";
        c.display = i == 0 ? "Alice" : NULL;
        c.local[FLOE_TRANSPORT_UDP] = s->sip;
        c.local[FLOE_TRANSPORT_TCP] = s->sip; /* the same port on TCP */
        if (opts & OPT_TCP) c.transport = FLOE_TRANSPORT_TCP;
        c.rnd = rnd;
        c.rnd_ctx = &s->rng;
        c.tone_hz = i == 0 ? tone_a : tone_b;
        c.push = push;
        c.push_ctx = s;
        c.ice = i == 0 ? caller_ice : !(opts & OPT_CALLEE_NO_ICE);
        if (n->proxy) c.outbound_proxy = n->proxy_addr;
        if (opts & OPT_AUTH) { /* bob knows the password, alice does not */
            c.auth_password = i == 1 ? "secret" : "wrong";
            c.register_expires = 60;
            n->challenge = true;
        }
        if (opts & OPT_AUTH_INVITE) { /* the proxy wants alice's credentials for calls */
            c.auth_password = "secret";
            n->challenge_invite = true;
        }
        c.answer_after = i == 1 ? answer_after : FLOE_TIME_NEVER;
        assert_int_equal(floe_sip_ua_new(&s->ua, &c), FLOE_OK);
        for (unsigned k = 0; k < s->n_media; k++) {
            unsigned sock = 99;
            assert_int_equal(floe_sip_ua_add_media_host(s->ua, &s->media[k], "eth0", &sock),
                             FLOE_OK);
            assert_int_equal(sock, k);
        }
    }
    return n;
}

static net *net_new(uint64_t seed, bool caller_ice, double tone_a, double tone_b,
                    floe_time_ns answer_after) {
    return net_new_opt(seed, caller_ice, tone_a, tone_b, answer_after, 0);
}

/* A stateless proxy at 10.0.0.100 in the middle: alice sends her INVITE there. */
static void add_proxy(net *n) {
    addr(&n->proxy_addr, 0x0a000064u, 5060);
    floe_sip_proxy_config c;
    floe_sip_proxy_config_default(&c);
    c.domain = "example.net";
    c.addr = n->proxy_addr;
    memset(c.key, 7, sizeof c.key);
    assert_int_equal(floe_sip_proxy_new(&n->proxy, &c), FLOE_OK);
}

static void net_free(net *n) {
    floe_sip_proxy_free(n->proxy);
    for (int i = 0; i < 2; i++)
        floe_sip_ua_free(n->s[i].ua);
    free(n->flight);
    free(n);
}

/* Puts a datagram in flight (or drops it): SIP to a UA or the proxy (dst 2), media to a
 * UA's socket. */
static void send_dgram(net *n, bool sip, const floe_addr *from, bool from_dead, const floe_addr *to,
                       const uint8_t *buf, size_t len) {
    int dst = -1;
    unsigned dsock = 0;
    if (sip && n->proxy && floe_addr_equal(to, &n->proxy_addr)) dst = 2;
    for (int j = 0; j < 2; j++) {
        if (sip && floe_addr_equal(to, &n->s[j].sip)) dst = j;
        for (unsigned k = 0; !sip && k < n->s[j].n_media; k++)
            if (floe_addr_equal(to, &n->s[j].media[k]) && !n->s[j].dead[k]) {
                dst = j;
                dsock = k;
            }
    }
    if (dst < 0 || from_dead || (!sip && n->block_media) ||
        (n->loss_pct && xs(&n->loss_rng) % 100 < n->loss_pct)) {
        n->dropped++;
        return;
    }
    if (!sip) n->media_sent++;
    assert_true(n->n_flight < FLIGHT);
    assert_true(len <= sizeof n->flight[0].data);
    pkt *p = &n->flight[n->n_flight++];
    p->at = n->now + n->delay;
    p->dst = dst;
    p->sip = sip;
    p->sock = dsock;
    p->from = *from;
    p->len = len;
    memcpy(p->data, buf, len);
}

/* Removes the first occurrence of line from the datagram; returns the new length. */
static size_t drop_line(uint8_t *buf, size_t len, const char *line) {
    size_t k = strlen(line);
    for (size_t i = 0; i + k <= len; i++)
        if (memcmp(buf + i, line, k) == 0) {
            memmove(buf + i, buf + i + k, len - i - k);
            return len - k;
        }
    return len;
}

static void drain(net *n) {
    uint8_t buf[FLOE_SIP_UA_SEND_MAX];
    for (int i = 0; i < 2; i++) {
        side *s = &n->s[i];
        size_t len;
        floe_sip_ua_out out;
        while (floe_sip_ua_next_send(s->ua, n->now, buf, sizeof buf, &len, &out) == FLOE_OK) {
            bool sip = out.kind == FLOE_SIP_UA_OUT_SIP;
            if (!sip) assert_true(out.sock < s->n_media);
            if (sip) {
                assert_int_equal(out.transport, n->sip_tp);
                n->sip_sent[i]++;
            }
            if (sip && i == 0 && n->no_100rel) len = drop_line(buf, len, "Supported: 100rel\r\n");
            if (sip && i == 1 && n->no_preview && len > 11 && !memcmp(buf, "SIP/2.0 183", 11))
                continue;
            if (sip && i == 1 && len < sizeof n->last_200 && len > 12 &&
                !memcmp(buf, "SIP/2.0 200", 11)) {
                char tmp[sizeof n->last_200];
                memcpy(tmp, buf, len);
                tmp[len] = '\0';
                if (strstr(tmp, " INVITE\r\n")) memcpy(n->last_200, tmp, len + 1);
            }
            if (sip && i == 0 && n->drop_acks && len > 4 && !memcmp(buf, "ACK ", 4)) {
                n->drop_acks--;
                continue;
            }
            if (sip && i == 0 && len > 6 && len < sizeof n->last_ack &&
                (!memcmp(buf, "ACK ", 4) || !memcmp(buf, "PRACK ", 6))) {
                char *keep = buf[0] == 'A' ? n->last_ack : n->last_prack;
                memcpy(keep, buf, len);
                keep[len] = '\0';
            }
            send_dgram(n, sip, sip ? &s->sip : &s->media[out.sock], !sip && s->dead[out.sock],
                       &out.to, buf, len);
        }
        floe_sip_ua_event ev;
        while (floe_sip_ua_next_event(s->ua, &ev)) {
            assert_true(s->n_log < LOG);
            s->log[s->n_log++] = ev;
        }
    }
}

/* The registrar's digest check in front of the proxy: a REGISTER without valid
 * credentials for realm example.net (any user, password "secret") gets a 401. */
static bool challenged(net *n, const pkt *p) {
    static floe_sip_msg req, resp;
    if (floe_sip_parse((const char *)p->data, p->len, 0, &req, NULL, NULL) != FLOE_OK ||
        !req.request)
        return false;
    floe_sip_addr to;
    bool reg = n->challenge && req.method_id == FLOE_SIP_REGISTER;
    bool inv = n->challenge_invite && req.method_id == FLOE_SIP_INVITE &&
               floe_sip_msg_to(&req, &to) == FLOE_OK && !to.tag.p;
    if (!reg && !inv) return false;
    floe_sip_auth cred;
    if (floe_sip_auth_find(&req, inv, "example.net", &cred) == FLOE_OK &&
        floe_sip_auth_verify(&cred, &req, "example.net", "secret") == FLOE_OK)
        return false;
    char text[2048], out[FLOE_SIP_UA_SEND_MAX];
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, text, sizeof text);
    floe_sip_str ch;
    assert_int_equal(floe_sip_msg_response_to(&resp, &req, inv ? 407 : 401, NULL, "reg1", &ar),
                     FLOE_OK);
    assert_int_equal(floe_sip_auth_challenge_value(FLOE_SIP_ALG_SHA256, "example.net", "n0nce42",
                                                   NULL, false, &ar, &ch),
                     FLOE_OK);
    assert_int_equal(
        floe_sip_msg_add_str(&resp, floe_sip_str_c(inv ? "Proxy-Authenticate" : "WWW-Authenticate"),
                             ch),
        FLOE_OK);
    size_t len;
    assert_int_equal(floe_sip_msg_print(&resp, out, sizeof out, &len), FLOE_OK);
    n->challenges++;
    send_dgram(n, true, &n->proxy_addr, false, &p->from, (const uint8_t *)out, len);
    return true;
}

typedef bool (*stop_fn)(net *n);

/* Runs until stop says so (checked after each step) or `until`. */
static void run(net *n, floe_time_ns until, stop_fn stop) {
    for (unsigned steps = 0; steps < 2000000; steps++) {
        drain(n);
        if (stop && stop(n)) return;
        floe_time_ns next = FLOE_TIME_NEVER;
        for (int i = 0; i < 2; i++) {
            floe_time_ns d = floe_sip_ua_deadline(n->s[i].ua);
            if (d < next) next = d;
        }
        for (size_t k = 0; k < n->n_flight; k++)
            if (n->flight[k].at < next) next = n->flight[k].at;
        if (next == FLOE_TIME_NEVER || next > until) {
            n->now = until;
            return;
        }
        if (next > n->now) n->now = next;
        /* deliver what is due, oldest first (the array keeps send order); a delivery may
         * put new datagrams in flight */
        for (size_t k = 0; k < n->n_flight;) {
            if (n->flight[k].at > n->now) {
                k++;
                continue;
            }
            static pkt p;
            p = n->flight[k];
            memmove(&n->flight[k], &n->flight[k + 1], (n->n_flight - k - 1) * sizeof p);
            n->n_flight--;
            if (p.dst == 2 && (n->challenge || n->challenge_invite) && challenged(n, &p)) continue;
            if (p.dst == 2) {
                static uint8_t out[sizeof p.data];
                size_t olen = 0;
                floe_addr to;
                floe_sip_proxy_on_recv(n->proxy, n->now, &p.from, p.data, p.len, out, sizeof out,
                                       &olen, &to);
                if (olen) send_dgram(n, true, &n->proxy_addr, false, &to, out, olen);
                continue;
            }
            side *d = &n->s[p.dst];
            if (p.sip)
                floe_sip_ua_on_sip(d->ua, n->now, n->sip_tp, &p.from, (char *)p.data, p.len);
            else
                floe_sip_ua_on_media(d->ua, n->now, p.sock, &p.from, p.data, p.len);
        }
        for (int i = 0; i < 2; i++)
            if (floe_sip_ua_deadline(n->s[i].ua) <= n->now) floe_sip_ua_tick(n->s[i].ua, n->now);
    }
    fail_msg("the network did not settle");
}

static bool both_confirmed(net *n) {
    return floe_sip_ua_state(n->s[0].ua) == FLOE_SIP_CALL_CONFIRMED &&
           floe_sip_ua_state(n->s[1].ua) == FLOE_SIP_CALL_CONFIRMED;
}
static bool both_over(net *n) {
    return floe_sip_call_over(floe_sip_ua_state(n->s[0].ua)) &&
           floe_sip_call_over(floe_sip_ua_state(n->s[1].ua));
}
static bool caller_ringing(net *n) {
    return floe_sip_ua_state(n->s[0].ua) == FLOE_SIP_CALL_RINGING;
}

/* Index of the first log entry of side s at or after `from` matching: a SIP message
 * (sent or received, method or status with that CSeq method), or another event type. */
static long find_sip(const side *s, size_t from, bool sent, bool request, const char *method,
                     unsigned status) {
    floe_sip_ua_event_type t = sent ? FLOE_SIP_UA_EV_SIP_SENT : FLOE_SIP_UA_EV_SIP_RECEIVED;
    for (size_t i = from; i < s->n_log; i++) {
        const floe_sip_ua_event *e = &s->log[i];
        if (e->type != t || e->sip.request != request || strcmp(e->sip.method, method) != 0)
            continue;
        if (!request && e->sip.status != status) continue;
        return (long)i;
    }
    return -1;
}
static long find_ev(const side *s, floe_sip_ua_event_type t) {
    for (size_t i = 0; i < s->n_log; i++)
        if (s->log[i].type == t) return (long)i;
    return -1;
}

/* The tone heard in the middle of what a side received. */
static int heard(const side *s) {
    static const double f[2] = {440, 1000};
    if (s->n_audio < 8000) return -1;
    floe_tone_result r;
    assert_int_equal(floe_tone_detect(s->audio + s->n_audio / 2 - 800, 1600, 8000, f, 2, &r),
                     FLOE_OK);
    return r.detected;
}

/* With FLOE_TEST_LADDER set in the environment, prints both logs (for debugging). */
static void print_ladder(const net *n) {
    if (!getenv("FLOE_TEST_LADDER")) return;
    for (int i = 0; i < 2; i++) {
        const side *s = &n->s[i];
        for (size_t k = 0; k < s->n_log; k++) {
            const floe_sip_ua_event *e = &s->log[k];
            printf("%s %8.3f %-14s", i ? "bob  " : "alice", (double)e->at / 1e9,
                   floe_sip_ua_event_name(e->type));
            if (e->type == FLOE_SIP_UA_EV_SIP_SENT || e->type == FLOE_SIP_UA_EV_SIP_RECEIVED) {
                if (e->sip.request)
                    printf(" %s", e->sip.method);
                else
                    printf(" %u (%s)%s", e->sip.status, e->sip.method,
                           e->sip.reliable ? " rel" : "");
                printf(" cseq %u%s", (unsigned)e->sip.cseq, e->sip.has_sdp ? " sdp" : "");
            } else if (e->type == FLOE_SIP_UA_EV_CALL_STATE) {
                printf(" %s -> %s", floe_sip_call_state_name(e->state.from),
                       floe_sip_call_state_name(e->state.to));
            } else if (e->type == FLOE_SIP_UA_EV_ICE_SELECTED) {
                char l[64], r[64];
                floe_addr_format(&e->local.addr, true, l, sizeof l);
                floe_addr_format(&e->remote.addr, true, r, sizeof r);
                printf(" %s %s -> %s %s", floe_ice_cand_type_name(e->local.type), l,
                       floe_ice_cand_type_name(e->remote.type), r);
            }
            if (e->reason[0]) printf(" [%s]", e->reason);
            printf("\n");
        }
    }
}

static void dial(net *n) {
    assert_int_equal(floe_sip_ua_dial(n->s[0].ua, n->now, "sip:bob@10.0.0.2:5060"), FLOE_OK);
}

/* (1) The whole ICE flow: INVITE, reliable 183 with the answer, PRACK, 200 (PRACK),
 * checks, 180 only once ICE completed on the callee, 200, ACK, media both ways, BYE. */
static void test_full_ice_call(void **state) {
    (void)state;
    net *n = net_new(1, true, 440, 1000, FLOE_MS(500));
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(3), NULL);
    assert_int_equal(floe_sip_ua_hangup(n->s[0].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(40), both_over);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_ENDED);
    print_ladder(n);
    /* once over, nothing more on the media sockets (no RTP, no consent checks) */
    uint64_t media = n->media_sent;
    run(n, n->now + FLOE_S(20), NULL);
    assert_int_equal(n->media_sent, media);

    const side *b = &n->s[1];
    long inv = find_sip(b, 0, false, true, "INVITE", 0);
    long r183 = find_sip(b, 0, true, false, "INVITE", 183);
    long prack = find_sip(b, 0, false, true, "PRACK", 0);
    long ok_prack = find_sip(b, 0, true, false, "PRACK", 200);
    long checking = find_ev(b, FLOE_SIP_UA_EV_ICE_CHECKING);
    long done = find_ev(b, FLOE_SIP_UA_EV_ICE_COMPLETED);
    long r180 = find_sip(b, 0, true, false, "INVITE", 180);
    long r200 = find_sip(b, 0, true, false, "INVITE", 200);
    long ack = find_sip(b, 0, false, true, "ACK", 0);
    long bye = find_sip(b, 0, false, true, "BYE", 0);
    long ok_bye = find_sip(b, 0, true, false, "BYE", 200);
    assert_true(inv >= 0 && r183 > inv && prack > r183 && ok_prack > prack);
    assert_true(checking > inv && checking < r180);
    assert_true(b->log[r183].sip.reliable && b->log[r183].sip.has_sdp);
    assert_true(done > r183 && r180 > done && r180 > ok_prack);
    assert_true(r200 > r180 && ack > r200 && bye > ack && ok_bye > bye);
    /* no 180 before ICE completed on the callee */
    assert_true(find_sip(b, 0, true, false, "INVITE", 180) == r180);

    const side *a = &n->s[0];
    assert_true(find_sip(a, 0, true, true, "INVITE", 0) >= 0);
    assert_true(find_ev(a, FLOE_SIP_UA_EV_ICE_COMPLETED) >= 0);
    assert_true(find_ev(a, FLOE_SIP_UA_EV_MEDIA_SENT) >= 0);
    assert_true(find_ev(a, FLOE_SIP_UA_EV_MEDIA_RECEIVED) >= 0);
    assert_true(find_ev(b, FLOE_SIP_UA_EV_MEDIA_RECEIVED) >= 0);
    /* audio: alice heard bob's 1000 Hz, bob heard alice's 440 Hz */
    assert_int_equal(heard(a), 1);
    assert_int_equal(heard(b), 0);

    floe_sip_ua_result ra, rb;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    floe_sip_ua_result_get(n->s[1].ua, &rb);
    assert_true(ra.caller && !rb.caller && ra.ice && rb.ice);
    assert_true(ra.ms_183 >= 0 && ra.ms_ice_completed >= ra.ms_183);
    assert_true(ra.ms_180 >= ra.ms_ice_completed && ra.ms_200 >= ra.ms_180);
    assert_true(ra.ms_first_rtp_sent >= ra.ms_200 && ra.ms_first_rtp_received >= ra.ms_200);
    assert_true(ra.packets_sent > 100 && ra.packets_received > 100);
    assert_true(rb.packets_received > 100);
    assert_true(ra.have_pair);
    assert_false(ra.reinvite_sent); /* host candidates only: the default was selected */
    assert_string_equal(ra.end_reason, "hangup");
    assert_string_equal(rb.end_reason, "bye");
    net_free(n);
}

/* (2) The media path is blocked: ICE fails, the callee answers 480 and never rings. */
/* A caller that offers ICE without 100rel (as some softphones do): bob cannot answer
 * reliably before the 200. He sends the answer in unreliable 183s and checks alice's
 * candidates himself; he rings only once one of his checks succeeded or ICE completed.
 * The 200 carries the same answer. */
static void late_answer_call(unsigned opts, bool preview_taken) {
    net *n = net_new_opt(5, true, 440, 1000, FLOE_MS(500), OPT_NO_100REL | opts);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(3), NULL);
    print_ladder(n);
    const side *b = &n->s[1];
    long inv = find_sip(b, 0, false, true, "INVITE", 0);
    long r183 = find_sip(b, 0, true, false, "INVITE", 183);
    long checking = find_ev(b, FLOE_SIP_UA_EV_ICE_CHECKING);
    long path = find_ev(b, FLOE_SIP_UA_EV_ICE_PATH_FOUND);
    long r180 = find_sip(b, 0, true, false, "INVITE", 180);
    long r200 = find_sip(b, 0, true, false, "INVITE", 200);
    long done = find_ev(b, FLOE_SIP_UA_EV_ICE_COMPLETED);
    long media = find_ev(b, FLOE_SIP_UA_EV_MEDIA_SENT);
    assert_true(inv >= 0 && r183 > inv && checking > inv);
    assert_true(!b->log[r183].sip.reliable && b->log[r183].sip.has_sdp);
    assert_true(find_sip(b, 0, false, true, "PRACK", 0) < 0); /* nothing to acknowledge */
    /* the ring came after a proven path: our check, or the caller's nomination */
    long proof = path >= 0 && (done < 0 || path < done) ? path : done;
    assert_true(proof > checking && r180 > proof);
    /* media only once answered (on the pair being nominated until ICE completes) */
    assert_true(r200 > r180 && b->log[r200].sip.has_sdp && done >= 0 && media > r200);
    if (preview_taken) { /* alice checked and nominated on the 183's answer */
        assert_true(done < r200);
    } else { /* she learnt the answer from the 200: bob's own check let him ring */
        assert_true(path >= 0 && path < r180 && done > r200);
        assert_int_equal(find_sip(&n->s[0], 0, false, false, "INVITE", 183), -1);
    }
    assert_int_equal(heard(&n->s[0]), 1); /* audio both ways */
    assert_int_equal(heard(b), 0);
    floe_sip_ua_result rb;
    floe_sip_ua_result_get(b->ua, &rb);
    assert_true(rb.ice && rb.ms_180 >= 0 && rb.ms_200 > rb.ms_180);
    net_free(n);
}

static void test_late_answer(void **state) {
    (void)state;
    late_answer_call(0, true);
    late_answer_call(OPT_NO_PREVIEW, false);
    /* The media path is blocked: every check fails, so bob never rings and ends the
     * call with 480. */
    net *n = net_new_opt(6, true, 440, 1000, FLOE_MS(500), OPT_NO_100REL);
    n->block_media = true;
    dial(n);
    run(n, FLOE_S(60), both_over);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_FAILED);
    assert_true(find_sip(&n->s[1], 0, true, false, "INVITE", 180) < 0);
    assert_true(find_sip(&n->s[1], 0, true, false, "INVITE", 480) >= 0);
    net_free(n);
}

static void test_ice_failure(void **state) {
    (void)state;
    net *n = net_new(2, true, 440, 1000, FLOE_MS(100));
    n->block_media = true;
    dial(n);
    run(n, FLOE_S(120), both_over);
    print_ladder(n);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_FAILED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    const side *b = &n->s[1];
    assert_true(find_sip(b, 0, true, false, "INVITE", 183) >= 0);
    assert_int_equal(find_sip(b, 0, true, false, "INVITE", 180), -1);
    assert_int_equal(find_sip(b, 0, true, false, "INVITE", 200), -1);
    assert_true(find_sip(b, 0, true, false, "INVITE", 480) >= 0);
    assert_true(find_ev(b, FLOE_SIP_UA_EV_ICE_FAILED) >= 0);
    floe_sip_ua_result ra;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    assert_int_equal(ra.ms_180, -1);
    assert_int_equal(ra.packets_sent, 0);
    net_free(n);
}

/* (3) A caller without ICE: the callee rings at once (no 183) and media flows between
 * the default addresses. */
static void test_caller_without_ice(void **state) {
    (void)state;
    net *n = net_new(3, false, 440, 1000, FLOE_MS(200));
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(3), NULL);
    const side *b = &n->s[1];
    assert_int_equal(find_sip(b, 0, true, false, "INVITE", 183), -1);
    assert_int_equal(find_ev(b, FLOE_SIP_UA_EV_ICE_CHECKING), -1);
    assert_true(find_sip(b, 0, true, false, "INVITE", 180) >= 0);
    assert_int_equal(heard(&n->s[0]), 1);
    assert_int_equal(heard(&n->s[1]), 0);
    floe_sip_ua_result ra, rb;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    floe_sip_ua_result_get(n->s[1].ua, &rb);
    assert_false(ra.ice);
    assert_false(rb.ice);
    assert_true(ra.packets_received > 100 && rb.packets_received > 100);
    assert_int_equal(floe_sip_ua_hangup(n->s[1].ua, n->now), FLOE_OK); /* the callee's BYE */
    run(n, n->now + FLOE_S(40), both_over);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_ENDED);
    net_free(n);
}

/* A callee without ICE answers an ICE offer without ICE attributes (RFC 8839 §3.2.1.1):
 * the caller runs no checks and sends to the default address. */
static void test_callee_without_ice(void **state) {
    (void)state;
    net *n = net_new_opt(14, true, 440, 1000, FLOE_MS(200), OPT_CALLEE_NO_ICE);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(3), NULL);
    assert_int_equal(find_sip(&n->s[1], 0, true, false, "INVITE", 183), -1);
    assert_int_equal(find_ev(&n->s[0], FLOE_SIP_UA_EV_ICE_CHECKING), -1);
    floe_sip_ua_result ra;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    assert_false(ra.ice);
    assert_true(ra.packets_received > 100);
    assert_int_equal(heard(&n->s[0]), 1);
    assert_int_equal(heard(&n->s[1]), 0);
    net_free(n);
}

/* (4) The caller gives up while it rings: CANCEL, 200 to it, 487 to the INVITE. */
static void test_cancel(void **state) {
    (void)state;
    net *n = net_new(4, true, 440, 1000, FLOE_TIME_NEVER);
    dial(n);
    run(n, FLOE_S(30), caller_ringing);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_RINGING);
    assert_int_equal(floe_sip_ua_hangup(n->s[0].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(40), both_over);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_FAILED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    const side *b = &n->s[1];
    assert_true(find_sip(b, 0, false, true, "CANCEL", 0) >= 0);
    assert_true(find_sip(b, 0, true, false, "CANCEL", 200) >= 0);
    assert_true(find_sip(b, 0, true, false, "INVITE", 487) >= 0);
    assert_int_equal(find_sip(b, 0, true, false, "INVITE", 200), -1);
    floe_sip_ua_result ra;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    assert_int_equal(ra.end_status, 0); /* we cancelled: the reason is ours */
    assert_string_equal(ra.end_reason, "cancelled");
    net_free(n);
}

/* The selected pair is not the default candidate alice offered: once the call is up
 * she sends the updated offer (re-INVITE, RFC 8839 §4.2.2), bob answers 200, she ACKs,
 * and the media keeps flowing. */
static void test_reinvite(void **state) {
    (void)state;
    net *n = net_new_opt(6, true, 440, 1000, FLOE_MS(100), OPT_DEAD_HOST);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(3), NULL);
    print_ladder(n);
    const side *a = &n->s[0], *b = &n->s[1];
    long first = find_sip(a, 0, true, true, "INVITE", 0);
    long re = find_sip(a, (size_t)first + 1, true, true, "INVITE", 0);
    assert_true(first >= 0 && re > first);
    assert_true(a->log[re].sip.has_sdp && a->log[re].sip.cseq > a->log[first].sip.cseq);
    uint32_t cseq = a->log[re].sip.cseq;
    long ok = find_sip(a, (size_t)re, false, false, "INVITE", 200);
    long ack = find_sip(a, (size_t)re, true, true, "ACK", 0);
    assert_true(ok > re && ack > ok);
    assert_int_equal(a->log[ok].sip.cseq, cseq);
    assert_int_equal(a->log[ack].sip.cseq, cseq);
    long got = find_sip(b, 0, false, true, "INVITE", 0);
    assert_true(find_sip(b, (size_t)got + 1, false, true, "INVITE", 0) >= 0);
    floe_sip_ua_result ra;
    floe_sip_ua_result_get(a->ua, &ra);
    assert_true(ra.reinvite_sent);
    assert_true(floe_addr_equal(&ra.local.addr, &a->media[1]));
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_CONFIRMED);
    assert_true(ra.packets_received > 100);
    assert_int_equal(heard(a), 1);
    assert_int_equal(heard(b), 0);
    net_free(n);
}

static size_t count_type(const side *s, floe_sip_ua_event_type t) {
    size_t k = 0;
    for (size_t i = 0; i < s->n_log; i++)
        k += s->log[i].type == t;
    return k;
}

/* ICE restart by the caller in a confirmed call: a re-INVITE with new credentials, the
 * callee restarts too and answers with its own, both complete ICE again; the media keeps
 * flowing on the old pair meanwhile and the call stays up. */
static void test_ice_restart(void **state) {
    (void)state;
    net *n = net_new(7, true, 440, 1000, FLOE_MS(100));
    const side *a = &n->s[0], *b = &n->s[1];
    assert_int_equal(floe_sip_ua_ice_restart(a->ua, n->now), FLOE_ERR_STATE); /* no call */
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(2), NULL);
    assert_int_equal(floe_sip_ua_ice_restart(b->ua, n->now), FLOE_ERR_STATE); /* callee */
    floe_sip_ua_result before;
    floe_sip_ua_result_get(a->ua, &before);
    size_t mark_a = a->n_log, mark_b = b->n_log;
    assert_int_equal(floe_sip_ua_ice_restart(a->ua, n->now), FLOE_OK);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_UPDATING);
    assert_int_equal(floe_sip_ua_ice_restart(a->ua, n->now), FLOE_ERR_STATE); /* one at a time */
    run(n, n->now + FLOE_S(5), NULL);
    print_ladder(n);
    /* the re-INVITE with an offer, its 200 with the answer, the ACK */
    long re = find_sip(a, mark_a, true, true, "INVITE", 0);
    long ok = find_sip(a, mark_a, false, false, "INVITE", 200);
    long ack = find_sip(a, mark_a, true, true, "ACK", 0);
    assert_true(re >= 0 && ok > re && ack > ok && a->log[re].sip.has_sdp && a->log[ok].sip.has_sdp);
    assert_true(find_sip(b, mark_b, false, true, "INVITE", 0) >= 0);
    /* both sides restarted once and completed twice in all */
    assert_int_equal(count_type(a, FLOE_SIP_UA_EV_ICE_RESTART), 1);
    assert_int_equal(count_type(b, FLOE_SIP_UA_EV_ICE_RESTART), 1);
    assert_int_equal(count_type(a, FLOE_SIP_UA_EV_ICE_COMPLETED), 2);
    assert_int_equal(count_type(b, FLOE_SIP_UA_EV_ICE_COMPLETED), 2);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_CONFIRMED);
    /* media went on: 5 s more of 20 ms packets, nearly all of them */
    floe_sip_ua_result after;
    floe_sip_ua_result_get(a->ua, &after);
    assert_true(after.packets_received >= before.packets_received + 240);
    assert_int_equal(after.ms_ice_completed, before.ms_ice_completed); /* the first one */
    assert_int_equal(heard(a), 1);
    assert_int_equal(heard(b), 0);
    assert_int_equal(floe_sip_ua_hangup(a->ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(40), both_over);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_ENDED);
    net_free(n);
}

/* A request from alice in her dialog with bob, made from a request she sent in it (her
 * last ACK, or PRACK for the early dialog): method, CSeq and branch changed, with body
 * (an SDP offer) or none. */
static void make_request(const char *from, const char *method, uint32_t cseq, const char *branch,
                         const char *body, char *out, size_t cap) {
    const char *a = from, *sp = strchr(from, ' ');
    assert_non_null(sp);
    const char *eol = strstr(a, "\r\n"), *hdrs_end = strstr(a, "\r\n\r\n");
    assert_non_null(eol);
    assert_non_null(hdrs_end);
    size_t k = (size_t)snprintf(out, cap, "%s %.*s\r\n", method, (int)(eol - sp - 1), sp + 1);
    for (const char *l = eol + 2; l < hdrs_end + 2;) {
        const char *e = strstr(l, "\r\n");
        size_t len = (size_t)(e - l);
        if (!strncmp(l, "CSeq:", 5))
            k += (size_t)snprintf(out + k, cap - k, "CSeq: %u %s\r\n", (unsigned)cseq, method);
        else if (!strncmp(l, "RAck:", 5))
            ; /* PRACK only */
        else if (!strncmp(l, "Via:", 4))
            k += (size_t)snprintf(out + k, cap - k, "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=%s\r\n",
                                  branch);
        else if (strncmp(l, "Content-", 8) != 0)
            k += (size_t)snprintf(out + k, cap - k, "%.*s\r\n", (int)len, l);
        l = e + 2;
    }
    if (body)
        k += (size_t)snprintf(out + k, cap - k,
                              "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                              strlen(body), body);
    else
        k += (size_t)snprintf(out + k, cap - k, "Content-Length: 0\r\n\r\n");
    assert_true(k < cap);
}

/* A BYE from the caller in the early dialog (RFC 3261 §15: allowed for the caller): the
 * callee answers it 200, ends the INVITE with 487 and never rings on. */
static void test_bye_early(void **state) {
    (void)state;
    net *n = net_new(10, true, 440, 1000, FLOE_TIME_NEVER); /* bob does not answer */
    dial(n);
    run(n, FLOE_S(30), caller_ringing);
    assert_true(caller_ringing(n));
    const side *b = &n->s[1];
    char msg[4096];
    make_request(n->last_prack, "BYE", 60, "z9hG4bKbye1", NULL, msg, sizeof msg);
    size_t mark = b->n_log;
    floe_sip_ua_on_sip(b->ua, n->now, FLOE_TRANSPORT_UDP, &n->s[0].sip, msg, strlen(msg));
    run(n, n->now + FLOE_MS(200), NULL);
    assert_true(find_sip(b, mark, true, false, "BYE", 200) >= 0);
    assert_true(find_sip(b, mark, true, false, "INVITE", 487) >= 0);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_FAILED);
    net_free(n);
}

/* UPDATE (RFC 3311) in a confirmed call: without a body a 200 without one; with an offer
 * from a peer without ICE, a 200 with our description and the media moves; outside the
 * dialog 481. */
static void test_update(void **state) {
    (void)state;
    net *n = net_new_opt(8, false, 440, 1000, FLOE_MS(100), 0); /* alice without ICE */
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(1), NULL);
    const side *b = &n->s[1];
    char msg[4096];
    make_request(n->last_ack, "UPDATE", 40, "z9hG4bKupd1", NULL, msg, sizeof msg);
    size_t mark = b->n_log;
    floe_sip_ua_on_sip(b->ua, n->now, FLOE_TRANSPORT_UDP, &n->s[0].sip, msg, strlen(msg));
    run(n, n->now + FLOE_MS(100), NULL);
    long ok = find_sip(b, mark, true, false, "UPDATE", 200);
    assert_true(ok >= 0 && !b->log[ok].sip.has_sdp);
    /* an offer moving alice's media to a port nobody listens on: answered, and bob's
     * audio follows it (what alice receives stops growing) */
    static const char sdp[] = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                              "t=0 0\r\nm=audio 40100 RTP/AVP 0 8\r\n";
    make_request(n->last_ack, "UPDATE", 41, "z9hG4bKupd2", sdp, msg, sizeof msg);
    mark = b->n_log;
    floe_sip_ua_on_sip(b->ua, n->now, FLOE_TRANSPORT_UDP, &n->s[0].sip, msg, strlen(msg));
    run(n, n->now + FLOE_MS(200), NULL);
    ok = find_sip(b, mark, true, false, "UPDATE", 200);
    assert_true(ok >= 0 && b->log[ok].sip.has_sdp);
    floe_sip_ua_result r1, r2;
    floe_sip_ua_result_get(n->s[0].ua, &r1);
    run(n, n->now + FLOE_S(1), NULL);
    floe_sip_ua_result_get(n->s[0].ua, &r2);
    assert_true(r2.packets_received <= r1.packets_received + 1);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_CONFIRMED);
    /* another dialog's UPDATE: 481 */
    char *tag = strstr(msg, "tag=");
    assert_non_null(tag);
    tag[4] = tag[4] == 'x' ? 'y' : 'x';
    char *br = strstr(msg, "upd2");
    br[3] = '3';
    mark = b->n_log;
    floe_sip_ua_on_sip(b->ua, n->now, FLOE_TRANSPORT_UDP, &n->s[0].sip, msg, strlen(msg));
    run(n, n->now + FLOE_MS(100), NULL);
    assert_true(find_sip(b, mark, true, false, "UPDATE", 481) >= 0);
    net_free(n);
}

static size_t count_sip(const side *s, bool sent, bool request, const char *method) {
    size_t k = 0;
    for (long i = -1; (i = find_sip(s, (size_t)(i + 1), sent, request, method, 0)) >= 0;)
        k++;
    return k;
}

/* The same call over TCP: every SIP message goes over TCP (Via SIP/2.0/TCP, Contact with
 * transport=tcp), and with a one-way delay above T1 the caller's requests are still sent
 * once (RFC 3261 §17.1: timers A and E do not run on a reliable transport); the call
 * connects with audio both ways. */
static void test_tcp(void **state) {
    (void)state;
    net *n = net_new_opt(9, true, 440, 1000, FLOE_MS(100), OPT_TCP);
    n->delay = FLOE_MS(600);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    assert_non_null(strstr(n->last_ack, "Via: SIP/2.0/TCP 10.0.0.1:5060;"));
    assert_non_null(strstr(n->last_ack, ";transport=tcp")); /* bob's Contact, the target */
    run(n, n->now + FLOE_S(2), NULL);
    assert_int_equal(floe_sip_ua_hangup(n->s[0].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(40), both_over);
    print_ladder(n);
    const side *a = &n->s[0], *b = &n->s[1];
    assert_int_equal(count_sip(a, true, true, "INVITE"), 1);
    assert_int_equal(count_sip(a, true, true, "PRACK"), 1);
    assert_int_equal(count_sip(a, true, true, "BYE"), 1);
    assert_true(find_sip(b, 0, true, false, "INVITE", 183) >= 0);
    assert_true(find_sip(a, 0, false, false, "BYE", 200) >= 0);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(heard(a), 1);
    assert_int_equal(heard(b), 0);
    net_free(n);
}

/* The re-INVITE with the selected pair right after the ACK, which is lost: bob still
 * waits for it and answers 491 (RFC 3261 §14.2); alice tries again 2.1 to 4 s later
 * (§14.1) and the second one goes through. */
static void test_reinvite_491(void **state) {
    (void)state;
    net *n = net_new_opt(6, true, 440, 1000, FLOE_MS(100), OPT_DEAD_HOST);
    n->drop_acks = 1;
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    run(n, n->now + FLOE_S(8), NULL);
    print_ladder(n);
    const side *a = &n->s[0], *b = &n->s[1];
    long first = find_sip(a, 0, true, true, "INVITE", 0);
    long re1 = find_sip(a, (size_t)first + 1, true, true, "INVITE", 0);
    long r491 = find_sip(a, 0, false, false, "INVITE", 491);
    long re2 = r491 >= 0 ? find_sip(a, (size_t)r491 + 1, true, true, "INVITE", 0) : -1;
    assert_true(re1 > first && r491 > re1 && re2 > r491);
    assert_true(a->log[re2].sip.cseq > a->log[re1].sip.cseq);
    floe_time_ns wait = a->log[re2].at - a->log[r491].at;
    assert_true(wait >= FLOE_MS(2100) && wait <= FLOE_MS(4000));
    assert_true(find_sip(a, (size_t)re2, false, false, "INVITE", 200) > re2);
    assert_true(find_sip(b, 0, true, false, "INVITE", 491) >= 0);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(floe_sip_ua_state(b->ua), FLOE_SIP_CALL_CONFIRMED);
    net_free(n);
}

/* A forking proxy: a second 200 for alice's INVITE from another fork (another To tag)
 * after the one she took. She ACKs it in its own dialog and ends that dialog with a BYE
 * (RFC 3261 §13.2.2.4); her call with bob goes on. */
static void test_forked_200(void **state) {
    (void)state;
    net *n = net_new(11, true, 440, 1000, FLOE_MS(100));
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    char other[4096];
    memcpy(other, n->last_200, sizeof other);
    char *to = strstr(other, "\r\nTo:");
    assert_non_null(to);
    char *tag = strstr(to, ";tag=");
    assert_non_null(tag);
    memcpy(tag + 5, "fork2", 5); /* another To tag, same length */
    const side *a = &n->s[0];
    size_t mark = a->n_log;
    floe_sip_ua_on_sip(a->ua, n->now, FLOE_TRANSPORT_UDP, &n->s[1].sip, other, strlen(other));
    drain(n);
    assert_non_null(strstr(n->last_ack, ";tag=fork2"));
    long bye = find_sip(a, mark, true, true, "BYE", 0);
    assert_true(bye >= 0);
    run(n, n->now + FLOE_S(3), NULL);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(heard(a), 1);
    net_free(n);
}

/* Through a stateless proxy that record-routes: the INVITE goes to the outbound proxy,
 * the in-dialog requests (PRACK, ACK, BYE) follow the route set back through it. */
static void test_via_proxy(void **state) {
    (void)state;
    net *n = net_new_opt(7, true, 440, 1000, FLOE_MS(100), OPT_PROXY);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(2), NULL);
    assert_int_equal(floe_sip_ua_hangup(n->s[1].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(40), both_over);
    print_ladder(n);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_ENDED);
    /* every SIP message went through the proxy */
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < n->s[i].n_log; k++) {
            const floe_sip_ua_event *e = &n->s[i].log[k];
            if (e->type == FLOE_SIP_UA_EV_SIP_SENT || e->type == FLOE_SIP_UA_EV_SIP_RECEIVED)
                assert_true(floe_addr_equal(&e->sip.peer, &n->proxy_addr));
        }
    const floe_sip_proxy_stats *ps = floe_sip_proxy_stats_get(n->proxy);
    /* INVITE, PRACK, ACK, BYE at least, and their answers */
    assert_true(ps->requests_forwarded >= 4 && ps->responses_forwarded >= 4);
    assert_int_equal(heard(&n->s[0]), 1);
    assert_int_equal(heard(&n->s[1]), 0);
    net_free(n);
}

/* The media path breaks during the call: consent is lost (RFC 7675), the media stops
 * and the call is hung up with a BYE. */
static void test_consent_lost(void **state) {
    (void)state;
    net *n = net_new(8, true, 440, 1000, FLOE_MS(100));
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(2), NULL);
    n->block_media = true;
    run(n, n->now + FLOE_S(60), both_over);
    print_ladder(n);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_ENDED);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_ENDED);
    /* whichever side noticed first hangs up */
    int who = find_ev(&n->s[0], FLOE_SIP_UA_EV_CONSENT_LOST) >= 0 ? 0 : 1;
    long lost = find_ev(&n->s[who], FLOE_SIP_UA_EV_CONSENT_LOST);
    assert_true(lost >= 0);
    assert_true(find_sip(&n->s[who], (size_t)lost, true, true, "BYE", 0) > lost);
    floe_sip_ua_result r;
    floe_sip_ua_result_get(n->s[who].ua, &r);
    assert_string_equal(r.end_reason, "consent-lost");
    /* nothing more goes out once the call is over */
    uint64_t dropped = n->dropped;
    run(n, n->now + FLOE_S(5), NULL);
    assert_true(n->dropped - dropped < 3);
    net_free(n);
}

static bool bob_registered(net *n) {
    return floe_sip_ua_registered(n->s[1].ua, n->now);
}

static size_t count_ev(const side *s, floe_sip_ua_event_type t, unsigned status) {
    size_t c = 0;
    for (size_t i = 0; i < s->n_log; i++)
        if (s->log[i].type == t && (!status || s->log[i].status == status)) c++;
    return c;
}

/* REGISTER with digest credentials (the registrar challenges with 401), refreshed before
 * it expires; then a call to bob's address of record through the proxy; then
 * unregistering. A wrong password ends in REGISTER_FAILED. */
static void test_register(void **state) {
    (void)state;
    net *n = net_new_opt(9, true, 440, 1000, FLOE_MS(100), OPT_PROXY | OPT_AUTH);
    assert_int_equal(floe_sip_ua_register(n->s[1].ua, n->now), FLOE_OK);
    assert_int_equal(floe_sip_ua_register(n->s[0].ua, n->now), FLOE_OK);
    run(n, FLOE_S(10), bob_registered);
    assert_true(bob_registered(n));
    run(n, n->now + FLOE_S(2), NULL);
    const side *a = &n->s[0], *b = &n->s[1];
    assert_int_equal(count_ev(b, FLOE_SIP_UA_EV_REGISTERED, 0), 1);
    long reg = find_ev(b, FLOE_SIP_UA_EV_REGISTERED);
    assert_int_equal(b->log[reg].expires, 60);
    assert_true(find_sip(b, 0, false, false, "REGISTER", 401) >= 0);
    assert_int_equal(count_ev(a, FLOE_SIP_UA_EV_REGISTER_FAILED, 401), 1);
    assert_false(floe_sip_ua_registered(a->ua, n->now));
    assert_int_equal(floe_sip_proxy_bindings(n->proxy, n->now), 1);

    /* refreshed at half time, again and again: still registered 100 s later */
    run(n, n->now + FLOE_S(100), NULL);
    assert_true(bob_registered(n));
    assert_true(count_ev(b, FLOE_SIP_UA_EV_REGISTERED, 0) >= 3);
    /* the refreshes reuse the challenge (next nc): no new 401 round */
    long r401 = find_sip(b, 0, false, false, "REGISTER", 401);
    assert_int_equal(find_sip(b, (size_t)r401 + 1, false, false, "REGISTER", 401), -1);
    assert_int_equal(floe_sip_proxy_bindings(n->proxy, n->now), 1);

    /* alice calls bob by his address of record: the proxy finds him */
    assert_int_equal(floe_sip_ua_dial(a->ua, n->now, "sip:bob@example.net"), FLOE_OK);
    run(n, n->now + FLOE_S(20), both_confirmed);
    assert_true(both_confirmed(n));
    run(n, n->now + FLOE_S(2), NULL);
    assert_int_equal(heard(a), 1);
    assert_int_equal(heard(b), 0);
    assert_int_equal(floe_sip_ua_hangup(a->ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(20), both_over);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_ENDED);

    assert_int_equal(floe_sip_ua_unregister(b->ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(5), NULL);
    assert_false(bob_registered(n));
    assert_int_equal(floe_sip_proxy_bindings(n->proxy, n->now), 0);
    assert_int_equal(b->log[b->n_log - 1].type, FLOE_SIP_UA_EV_REGISTERED);
    assert_int_equal(b->log[b->n_log - 1].expires, 0);
    print_ladder(n);
    net_free(n);
}

/* The proxy challenges the INVITE (407): alice sends it again with credentials (next
 * CSeq) and the call goes on as usual. */
static void test_invite_auth(void **state) {
    (void)state;
    net *n = net_new_opt(11, true, 440, 1000, FLOE_MS(100), OPT_PROXY | OPT_AUTH_INVITE);
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    print_ladder(n);
    const side *a = &n->s[0];
    long first = find_sip(a, 0, true, true, "INVITE", 0);
    long ch = find_sip(a, 0, false, false, "INVITE", 407);
    long again = find_sip(a, (size_t)ch + 1, true, true, "INVITE", 0);
    assert_true(first >= 0 && ch > first && again > ch);
    assert_int_equal(a->log[first].sip.cseq, 1);
    assert_int_equal(a->log[again].sip.cseq, 2);
    assert_true(n->challenges >= 1);
    /* bob saw only the INVITE with credentials */
    long got = find_sip(&n->s[1], 0, false, true, "INVITE", 0);
    assert_int_equal(n->s[1].log[got].sip.cseq, 2);
    assert_int_equal(floe_sip_ua_hangup(a->ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(20), both_over);
    assert_int_equal(floe_sip_ua_state(a->ua), FLOE_SIP_CALL_ENDED);
    net_free(n);
}

/* No ghost rings: 200 calls at 10 % loss, each either reaches the answer with its 180
 * sent only after ICE completed on the callee, or fails without any 180. */
static void test_no_ghost_ring(void **state) {
    (void)state;
    unsigned confirmed = 0;
    for (uint64_t seed = 100; seed < 300; seed++) {
        net *n = net_new(seed, true, 440, 1000, FLOE_MS(50));
        n->loss_pct = 10;
        dial(n);
        run(n, FLOE_S(90), both_confirmed);
        const side *b = &n->s[1];
        long r180 = find_sip(b, 0, true, false, "INVITE", 180);
        long done = find_ev(b, FLOE_SIP_UA_EV_ICE_COMPLETED);
        if (both_confirmed(n)) {
            confirmed++;
            assert_true(done >= 0 && r180 > done);
        } else {
            assert_true(r180 < 0 || (done >= 0 && r180 > done));
        }
        net_free(n);
    }
    print_message("%u of 200 calls answered\n", confirmed);
    assert_true(confirmed >= 190); /* retransmissions carry nearly all of them */
}

/* What bob sent carol: the last final answer (its bytes), and the RTP and RTCP packets
 * to her media port 4000. */
static char carol_final[FLOE_SIP_UA_SEND_MAX + 1];
static unsigned carol_rtp, carol_rtcp;

/* Feeds a hand-written request from carol (10.0.0.9) to bob and returns the status of
 * the last final answer bob sent her (0 when none). */
static unsigned from_carol(net *n, const char *branch, const char *text) {
    char call_id[64];
    snprintf(call_id, sizeof call_id, "c-%s@10.0.0.9", branch);
    floe_addr carol;
    addr(&carol, 0x0a000009u, 5060);
    floe_sip_ua *ua = n->s[1].ua;
    floe_sip_ua_on_sip(ua, n->now, FLOE_TRANSPORT_UDP, &carol, text, strlen(text));
    static uint8_t buf[FLOE_SIP_UA_SEND_MAX];
    size_t len;
    floe_sip_ua_out out;
    unsigned status = 0;
    for (int round = 0; round < 50; round++) { /* let gathering and timers run briefly */
        while (floe_sip_ua_next_send(ua, n->now, buf, sizeof buf, &len, &out) == FLOE_OK) {
            if (out.kind == FLOE_SIP_UA_OUT_MEDIA && out.to.port == 4000 && len > 1) {
                if (buf[1] >= 200 && buf[1] <= 204)
                    carol_rtcp++;
                else
                    carol_rtp++;
            }
            if (out.kind == FLOE_SIP_UA_OUT_SIP && floe_addr_equal(&out.to, &carol)) {
                static floe_sip_msg m;
                floe_sip_str cid;
                if (floe_sip_parse((const char *)buf, len, 0, &m, NULL, NULL) == FLOE_OK &&
                    !m.request && m.status >= 200 && floe_sip_msg_call_id(&m, &cid) == FLOE_OK &&
                    floe_sip_str_eq(cid, call_id)) {
                    status = m.status; /* answers of this call only (not retransmissions of
                                          earlier ones carol never ACKed) */
                    memcpy(carol_final, buf, len);
                    carol_final[len] = '\0';
                }
            }
        }
        n->now += FLOE_MS(10);
        floe_sip_ua_tick(ua, n->now);
    }
    return status;
}

/* head then a Content-Type and Content-Length for body, then body. */
static void with_sdp(char *out, size_t cap, const char *head, const char *body) {
    int k = snprintf(out, cap, "%sContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                     head, strlen(body), body);
    assert_true(k > 0 && (size_t)k < cap);
}

/* Offers bob cannot take get clean errors and leave him free for the next call. */
static void test_bad_requests(void **state) {
    (void)state;
    net *n = net_new(12, true, 440, 1000, FLOE_TIME_NEVER);
#define HDRS(method, branch, cseq)                                                                 \
    method                                                                                         \
        " sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK" branch        \
        "\r\nMax-Forwards: 70\r\nTo: <sip:bob@10.0.0.2>\r\nFrom: <sip:carol@10.0.0.9>;tag=c1\r\n"  \
        "Call-ID: c-" branch "@10.0.0.9\r\nCSeq: " cseq " " method                                 \
        "\r\nContact: <sip:carol@10.0.0.9>\r\n"
    /* no offer: 488 */
    assert_int_equal(from_carol(n, "a1", HDRS("INVITE", "a1", "1") "Content-Length: 0\r\n\r\n"),
                     488);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    /* an offer with no codec in common: 488 */
    char msg[2048];
    with_sdp(msg, sizeof msg, HDRS("INVITE", "a2", "1"),
             "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
             "m=audio 4000 RTP/AVP 18\r\n");
    assert_int_equal(from_carol(n, "a2", msg), 488);
    /* an ICE offer from a caller without 100rel whose candidate answers no check: bob
     * probes it (late answer) and neither rings nor answers; carol gives up (487) */
    static const char ice_sdp[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\n"
                                  "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=ice-ufrag:abcd\r\n"
                                  "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                                  "a=candidate:1 1 UDP 2130706431 10.0.0.9 4000 typ host\r\n";
    with_sdp(msg, sizeof msg, HDRS("INVITE", "a6", "1"), ice_sdp);
    assert_int_equal(from_carol(n, "a6", msg), 0);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_PROBING);
    assert_int_equal(from_carol(n, "a6", HDRS("CANCEL", "a6", "1") "Content-Length: 0\r\n\r\n"),
                     487);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    assert_true(find_sip(&n->s[1], 0, true, false, "INVITE", 180) < 0);
    /* a plain offer by hand (no ICE, no 100rel): bob rings at once; carol cancels */
    with_sdp(msg, sizeof msg, HDRS("INVITE", "a7", "1"),
             "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
             "m=audio 4000 RTP/AVP 8 0\r\n");
    assert_int_equal(from_carol(n, "a7", msg), 0);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_RINGING);
    assert_int_equal(from_carol(n, "a7", HDRS("CANCEL", "a7", "1") "Content-Length: 0\r\n\r\n"),
                     487);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_FAILED);
    /* a plain offer without a=rtcp-mux, answered: the answer has no a=rtcp-mux either
     * (RFC 5761 §5.1.1), and bob sends RTP to carol's port but no RTCP there (she would
     * want it on the next port, and bob has one media socket) */
    with_sdp(msg, sizeof msg, HDRS("INVITE", "a8", "1"),
             "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
             "m=audio 4000 RTP/AVP 0\r\n");
    assert_int_equal(from_carol(n, "a8", msg), 0);
    assert_int_equal(floe_sip_ua_answer(n->s[1].ua, n->now), FLOE_OK);
    carol_rtp = carol_rtcp = 0;
    for (int i = 0; i < 16; i++) /* 8 s: RTCP would be due every 5 s or so */
        from_carol(n, "a8", "x");
    assert_non_null(strstr(carol_final, "SIP/2.0 200"));
    assert_non_null(strstr(carol_final, "m=audio "));
    assert_null(strstr(carol_final, "a=rtcp-mux"));
    assert_true(carol_rtp > 300);
    assert_int_equal(carol_rtcp, 0);
    assert_int_equal(floe_sip_ua_hangup(n->s[1].ua, n->now), FLOE_OK);
    for (int i = 0; i < 80 && !floe_sip_call_over(floe_sip_ua_state(n->s[1].ua)); i++)
        from_carol(n, "a8", "x"); /* carol never answers the BYE: its timer ends it */
    assert_true(floe_sip_call_over(floe_sip_ua_state(n->s[1].ua)));
    /* BYE outside any dialog: 481; an unknown method: 501; OPTIONS: 200 */
    assert_int_equal(from_carol(n, "a3", HDRS("BYE", "a3", "2") "Content-Length: 0\r\n\r\n"), 481);
    assert_int_equal(from_carol(n, "a4", HDRS("FOO", "a4", "1") "Content-Length: 0\r\n\r\n"), 501);
    assert_int_equal(from_carol(n, "a5", HDRS("OPTIONS", "a5", "1") "Content-Length: 0\r\n\r\n"),
                     200);
#undef HDRS
    /* bob is still free: alice's call goes through */
    dial(n);
    run(n, n->now + FLOE_S(30), caller_ringing);
    assert_int_equal(floe_sip_ua_answer(n->s[1].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    net_free(n);
}

/* One call after another on the same UAs: each call gets a new agent over the same
 * media sockets. Bob rejects the first one by hanging up before he answers (603). */
static void test_second_call(void **state) {
    (void)state;
    net *n = net_new(13, true, 440, 1000, FLOE_TIME_NEVER);
    dial(n);
    run(n, FLOE_S(30), caller_ringing);
    assert_int_equal(floe_sip_ua_hangup(n->s[1].ua, n->now), FLOE_OK); /* decline */
    run(n, n->now + FLOE_S(40), both_over);
    assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_FAILED);
    floe_sip_ua_result ra;
    floe_sip_ua_result_get(n->s[0].ua, &ra);
    assert_int_equal(ra.end_status, 603);
    /* again: this time bob answers by hand */
    dial(n);
    run(n, n->now + FLOE_S(30), caller_ringing);
    assert_int_equal(floe_sip_ua_answer(n->s[1].ua, n->now), FLOE_OK);
    run(n, n->now + FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    n->s[0].n_audio = n->s[1].n_audio = 0;
    run(n, n->now + FLOE_S(3), NULL);
    assert_int_equal(heard(&n->s[0]), 1);
    assert_int_equal(heard(&n->s[1]), 0);
    net_free(n);
}

/* The event queue is bounded: what nobody pulls beyond FLOE_SIP_UA_EVENTS is dropped and
 * counted, and the oldest ones stay. */
static void test_event_cap(void **state) {
    (void)state;
    net *n = net_new(15, true, 440, 1000, FLOE_MS(100));
    floe_sip_ua *ua = n->s[1].ua;
    floe_addr carol;
    addr(&carol, 0x0a000009u, 5060);
    uint8_t buf[FLOE_SIP_UA_SEND_MAX];
    size_t len;
    floe_sip_ua_out out;
    for (unsigned i = 0; i < 100; i++) { /* 100 OPTIONS and their 200s: 200 events */
        char msg[512];
        int k = snprintf(msg, sizeof msg,
                         "OPTIONS sip:bob@10.0.0.2 SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKopt%u\r\n"
                         "Max-Forwards: 70\r\nTo: <sip:bob@10.0.0.2>\r\n"
                         "From: <sip:carol@10.0.0.9>;tag=c1\r\nCall-ID: opt%u@10.0.0.9\r\n"
                         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                         i, i);
        floe_sip_ua_on_sip(ua, n->now, FLOE_TRANSPORT_UDP, &carol, msg, (size_t)k);
        while (floe_sip_ua_next_send(ua, n->now, buf, sizeof buf, &len, &out) == FLOE_OK) {
        }
    }
    assert_int_equal(floe_sip_ua_events_dropped(ua), 200 - FLOE_SIP_UA_EVENTS);
    floe_sip_ua_event ev;
    size_t got = 0;
    while (floe_sip_ua_next_event(ua, &ev)) {
        if (got == 0) assert_int_equal(ev.type, FLOE_SIP_UA_EV_SIP_RECEIVED);
        got++;
    }
    assert_int_equal(got, FLOE_SIP_UA_EVENTS);
    net_free(n);
}

/* A second INVITE while a call is up: 486. */
static void test_busy(void **state) {
    (void)state;
    net *n = net_new(5, true, 440, 1000, FLOE_MS(100));
    dial(n);
    run(n, FLOE_S(30), both_confirmed);
    assert_true(both_confirmed(n));
    /* bob dials alice, who is in a call */
    assert_int_equal(floe_sip_ua_dial(n->s[1].ua, n->now, "sip:alice@10.0.0.1"), FLOE_ERR_STATE);
    /* a third party's INVITE, by hand */
    static const char inv[] = "INVITE sip:bob@10.0.0.2 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKthird1\r\n"
                              "Max-Forwards: 70\r\nTo: <sip:bob@10.0.0.2>\r\n"
                              "From: <sip:carol@10.0.0.9>;tag=c1\r\nCall-ID: third@10.0.0.9\r\n"
                              "CSeq: 1 INVITE\r\nContact: <sip:carol@10.0.0.9>\r\n"
                              "Content-Length: 0\r\n\r\n";
    floe_addr carol;
    addr(&carol, 0x0a000009u, 5060);
    floe_sip_ua_on_sip(n->s[1].ua, n->now, FLOE_TRANSPORT_UDP, &carol, inv, sizeof inv - 1);
    uint8_t buf[FLOE_SIP_UA_SEND_MAX];
    size_t len;
    floe_sip_ua_out out;
    bool busy = false;
    while (floe_sip_ua_next_send(n->s[1].ua, n->now, buf, sizeof buf, &len, &out) == FLOE_OK)
        if (out.kind == FLOE_SIP_UA_OUT_SIP && floe_addr_equal(&out.to, &carol))
            busy = len > 12 && memcmp(buf, "SIP/2.0 486 ", 12) == 0;
    assert_true(busy);
    assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_CONFIRMED);
    net_free(n);
}

/* (5) 10 % loss on every datagram: the SIP retransmissions (INVITE, reliable 183, PRACK,
 * 200) and ICE's carry the call through, for several seeds. */
static void test_loss(void **state) {
    (void)state;
    for (uint64_t seed = 10; seed < 30; seed++) {
        net *n = net_new(seed, true, 440, 1000, FLOE_MS(300));
        n->loss_pct = 10;
        dial(n);
        run(n, FLOE_S(60), both_confirmed);
        if (!both_confirmed(n))
            fail_msg("seed %u: states %s / %s", (unsigned)seed,
                     floe_sip_call_state_name(floe_sip_ua_state(n->s[0].ua)),
                     floe_sip_call_state_name(floe_sip_ua_state(n->s[1].ua)));
        /* never a ring before ICE completed on the callee */
        long r180 = find_sip(&n->s[1], 0, true, false, "INVITE", 180);
        long done = find_ev(&n->s[1], FLOE_SIP_UA_EV_ICE_COMPLETED);
        assert_true(done >= 0 && r180 > done);
        run(n, n->now + FLOE_S(2), NULL);
        assert_int_equal(floe_sip_ua_hangup(n->s[0].ua, n->now), FLOE_OK);
        run(n, n->now + FLOE_S(60), both_over);
        assert_int_equal(floe_sip_ua_state(n->s[0].ua), FLOE_SIP_CALL_ENDED);
        assert_int_equal(floe_sip_ua_state(n->s[1].ua), FLOE_SIP_CALL_ENDED);
        assert_true(n->dropped > 0);
        net_free(n);
    }
}

static void test_config(void **state) {
    (void)state;
    floe_sip_ua_config c;
    floe_sip_ua_config_default(&c);
    floe_sip_ua *ua = NULL;
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL); /* no user */
    c.user = "a";
    c.domain = "example.net";
    uint64_t s = 1;
    c.rnd = rnd;
    c.rnd_ctx = &s;
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL); /* no UDP address */
    addr(&c.local[FLOE_TRANSPORT_UDP], 0x0a000001u, 5060);
    /* user@domain must be a SIP address of record */
    static const char *const bad_domains[] = {"::1", "example.net:5060", "a b", "[::1"};
    for (size_t i = 0; i < sizeof bad_domains / sizeof bad_domains[0]; i++) {
        c.domain = bad_domains[i];
        assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL);
    }
    c.domain = "[::1]";
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_OK);
    floe_sip_ua_free(ua);
    c.user = "a b";
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL);
    c.user = "a";
    c.domain = "example.net";
    c.payload_type = 3;
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL);
    c.payload_type = 8;
    c.n_turn_servers = 1;
    addr(&c.turn_servers[0].addr, 0x0a000064u, 3478);
    c.turn_servers[0].transport = FLOE_TRANSPORT_TCP; /* a stream base: fine */
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_OK);
    floe_sip_ua_free(ua);
    c.transport = FLOE_TRANSPORT_TLS; /* SIP over TLS: not done */
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_UNSUPPORTED);
    c.transport = FLOE_TRANSPORT_TCP; /* without its local address */
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_ERR_INVAL);
    c.transport = FLOE_TRANSPORT_UDP;
    c.turn_servers[0].transport = FLOE_TRANSPORT_UDP;
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_OK);
    floe_ice_stream st;
    assert_int_equal(floe_sip_ua_stream(ua, 1u << 8, &st), FLOE_ERR_NOT_FOUND);      /* no call */
    assert_int_equal(floe_sip_ua_dial(ua, 0, "sip:b@10.0.0.2"), FLOE_ERR_NOT_FOUND); /* no host */
    floe_addr m;
    addr(&m, 0x0a000001u, 40000);
    assert_int_equal(floe_sip_ua_add_media_host(ua, &m, NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sip_ua_dial(ua, 0, "sip:b@example.org"), FLOE_ERR_INVAL); /* no DNS */
    assert_int_equal(floe_sip_ua_answer(ua, 0), FLOE_ERR_STATE);
    assert_int_equal(floe_sip_ua_hangup(ua, 0), FLOE_ERR_STATE);
    floe_sip_ua_free(ua);
}

/* A reply of carol's (10.0.0.9) to one of alice's requests, printed into out. */
static size_t carol_reply(const floe_sip_msg *req, unsigned status, const char *sdp, char *out,
                          size_t cap) {
    static floe_sip_msg r;
    char text[2048];
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, text, sizeof text);
    assert_int_equal(floe_sip_msg_response_to(&r, req, status, NULL, "c1", &ar), FLOE_OK);
    if (status > 100 && status < 300)
        assert_int_equal(floe_sip_msg_add(&r, FLOE_SIP_H_CONTACT, "<sip:carol@10.0.0.9>"), FLOE_OK);
    if (sdp) {
        assert_int_equal(floe_sip_msg_add(&r, FLOE_SIP_H_CONTENT_TYPE, "application/sdp"), FLOE_OK);
        floe_sip_msg_set_body(&r, sdp, strlen(sdp));
    }
    size_t len;
    assert_int_equal(floe_sip_msg_print(&r, out, cap, &len), FLOE_OK);
    return len;
}

/* Alice's datagrams at now: the last SIP request with this method is kept in keep (its
 * length returned, 0 when none); *media counts the media datagrams. */
static size_t alice_sends(floe_sip_ua *ua, floe_time_ns now, const char *method, char *keep,
                          unsigned *media) {
    static uint8_t buf[FLOE_SIP_UA_SEND_MAX];
    size_t len, kept = 0, m = strlen(method);
    floe_sip_ua_out o;
    while (floe_sip_ua_next_send(ua, now, buf, sizeof buf, &len, &o) == FLOE_OK) {
        if (o.kind != FLOE_SIP_UA_OUT_SIP) {
            (*media)++;
            continue;
        }
        if (len > m && memcmp(buf, method, m) == 0 && buf[m] == ' ') {
            memcpy(keep, buf, len);
            kept = len;
        }
    }
    return kept;
}

/* A 200 that comes after the caller gave up (her CANCEL refused with 481: the call
 * failed) is no answer: it is ACKed and ended with a BYE in its dialog, no audio starts
 * for a call that is over, and the UA's deadline does not stay in the past (its agent is
 * gone, so that audio could never be sent and the runtime would spin; found by
 * fuzz_sip_ua). */
static void test_late_200_after_failure(void **state) {
    (void)state;
    uint64_t seed = 11;
    floe_sip_ua_config c;
    floe_sip_ua_config_default(&c);
    c.user = "alice";
    c.domain = "example.net";
    addr(&c.local[FLOE_TRANSPORT_UDP], 0x0a000001u, 5060);
    c.rnd = rnd;
    c.rnd_ctx = &seed;
    c.ice = false;
    floe_sip_ua *ua;
    assert_int_equal(floe_sip_ua_new(&ua, &c), FLOE_OK);
    floe_addr media, carol;
    addr(&media, 0x0a000001u, 40000);
    addr(&carol, 0x0a000009u, 5060);
    assert_int_equal(floe_sip_ua_add_media_host(ua, &media, NULL, NULL), FLOE_OK);
    static char inv_text[FLOE_SIP_UA_SEND_MAX], cancel_text[FLOE_SIP_UA_SEND_MAX];
    static char out[FLOE_SIP_UA_SEND_MAX];
    static floe_sip_msg inv, cancel;
    unsigned rtp = 0;
    floe_time_ns now = FLOE_MS(1);
    assert_int_equal(floe_sip_ua_dial(ua, now, "sip:carol@10.0.0.9"), FLOE_OK);
    size_t il = alice_sends(ua, now, "INVITE", inv_text, &rtp);
    assert_true(il > 0);
    assert_int_equal(floe_sip_parse(inv_text, il, 0, &inv, NULL, NULL), FLOE_OK);
    size_t n = carol_reply(&inv, 180, NULL, out, sizeof out);
    floe_sip_ua_on_sip(ua, now, FLOE_TRANSPORT_UDP, &carol, out, n);
    assert_int_equal(floe_sip_ua_state(ua), FLOE_SIP_CALL_RINGING);
    /* alice gives up; carol knows no such INVITE (481): the call fails */
    now += FLOE_MS(100);
    assert_int_equal(floe_sip_ua_hangup(ua, now), FLOE_OK);
    size_t cl = alice_sends(ua, now, "CANCEL", cancel_text, &rtp);
    assert_true(cl > 0);
    assert_int_equal(floe_sip_parse(cancel_text, cl, 0, &cancel, NULL, NULL), FLOE_OK);
    n = carol_reply(&cancel, 481, NULL, out, sizeof out);
    floe_sip_ua_on_sip(ua, now, FLOE_TRANSPORT_UDP, &carol, out, n);
    assert_int_equal(floe_sip_ua_state(ua), FLOE_SIP_CALL_FAILED);
    /* then carol's 200 with an answer */
    now += FLOE_MS(100);
    static const char sdp[] = "v=0\r\no=carol 1 1 IN IP4 10.0.0.9\r\ns=-\r\n"
                              "c=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n";
    n = carol_reply(&inv, 200, sdp, out, sizeof out);
    floe_sip_ua_on_sip(ua, now, FLOE_TRANSPORT_UDP, &carol, out, n);
    rtp = 0;
    /* ... is ACKed and taken down at once: a BYE in the dialog that 200 made */
    static char bye_text[FLOE_SIP_UA_SEND_MAX];
    static floe_sip_msg ok, bye;
    size_t bl = alice_sends(ua, now, "BYE", bye_text, &rtp);
    assert_true(bl > 0);
    assert_int_equal(floe_sip_parse(out, n, 0, &ok, NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sip_parse(bye_text, bl, 0, &bye, NULL, NULL), FLOE_OK);
    floe_sip_addr to_ok, to_bye;
    assert_int_equal(floe_sip_msg_to(&ok, &to_ok), FLOE_OK);
    assert_int_equal(floe_sip_msg_to(&bye, &to_bye), FLOE_OK);
    assert_true(to_ok.tag.len > 0);
    assert_int_equal(to_bye.tag.len, to_ok.tag.len);
    assert_memory_equal(to_bye.tag.p, to_ok.tag.p, to_ok.tag.len);
    assert_int_equal(floe_sip_ua_state(ua), FLOE_SIP_CALL_FAILED);
    /* the runtime's loop for a second: every deadline lies ahead once ticked, no audio */
    for (int i = 0; i < 100; i++) {
        floe_time_ns d = floe_sip_ua_deadline(ua);
        if (d > now + FLOE_S(1)) break;
        if (d > now) now = d;
        floe_sip_ua_tick(ua, now);
        alice_sends(ua, now, "ACK", cancel_text, &rtp);
        assert_true(floe_sip_ua_deadline(ua) > now);
    }
    assert_int_equal(rtp, 0);
    floe_sip_ua_free(ua);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_full_ice_call),
        cmocka_unit_test(test_ice_failure),
        cmocka_unit_test(test_late_answer),
        cmocka_unit_test(test_caller_without_ice),
        cmocka_unit_test(test_callee_without_ice),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_reinvite),
        cmocka_unit_test(test_ice_restart),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_bye_early),
        cmocka_unit_test(test_reinvite_491),
        cmocka_unit_test(test_forked_200),
        cmocka_unit_test(test_late_200_after_failure),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_via_proxy),
        cmocka_unit_test(test_consent_lost),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_invite_auth),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_event_cap),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_second_call),
        cmocka_unit_test(test_no_ghost_ring),
        cmocka_unit_test(test_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
