/* libFuzzer target: the SIP user agent (floe/sip_ua.h) with its state, two of them on an
 * in-memory network plus a scripted third party.
 *
 * The world: alice (UA 0, 10.0.0.1) and bob (UA 1, 10.0.0.2), each with fixed
 * configuration and its own deterministic random generator; bob registers with and
 * dials through "carol" (10.0.0.9), who is played by the fuzzer. Everything either UA
 * sends to the other goes into a flight queue (a fixed delay); what it sends to carol is
 * kept, so that carol's messages can echo it. Carol answers ICE connectivity checks sent
 * to her media address with valid STUN successes, so her ICE calls can complete too.
 * Two configuration bytes come first: the network delay, ICE on or off per UA,
 * auto-answer per UA, alice's credentials, whether alice's default media host is
 * unreachable (ICE then selects her other host and she sends the re-INVITE), carol's
 * reflexes (ACK her error answers, answer BYE/CANCEL/PRACK/... by herself), a STUN
 * server (silent, or answering: srflx candidates), audio sources and sinks, and whether
 * alice calls over TCP. Audio past 64 datagrams a run is lost on the way (STUN is always
 * carried): RTP adds little once it flows and costs most of the time.
 *
 * The input is then a little program of at most MAX_STEPS operations, each a byte and
 * its arguments (taken whether or not the operation can act):
 *   - the network: deliver the next datagrams in flight, drop, duplicate or corrupt one,
 *     block or unblock the media path, run virtual time for a short or long while (every
 *     UA ticked at its deadline, datagrams delivered when due; two minutes in all);
 *   - the API: dial (the other UA, carol, a bad URI), answer, hang up, register,
 *     unregister, ICE restart, a transport error towards a peer, add a media host;
 *   - a SIP message to a UA built from a template whose Call-ID, tags, CSeq, Via branch
 *     and RSeq echo what that UA last sent: responses to its last INVITE or request
 *     (100, 180, reliable 180/183 with SDP, 200 with SDP, 401/407 challenges, errors,
 *     Record-Route), new INVITEs (ICE or plain offers, with or without 100rel), PRACK,
 *     ACK, BYE, CANCEL, re-INVITE, OPTIONS, UPDATE, INFO; the text may then be damaged by
 *     a few bytes; or raw fuzz bytes as a datagram;
 *   - a media datagram to a UA: RTP, RTCP, a STUN Binding request carrying the UA's own
 *     ICE credentials (so it passes the integrity check, with or without USE-CANDIDATE),
 *     or raw bytes.
 *
 * Invariants, checked after every operation (abort() on a violation):
 *   - every datagram a UA emits fits FLOE_SIP_UA_SEND_MAX and has a destination; SIP
 *     ones parse (over UDP or TCP), the UA's requests carry an RFC 3261 branch and a From
 *     tag, INVITEs an offer and 2xx to INVITEs an answer; media ones leave from a socket
 *     the UA has, and RTP only in an answered call (ANSWERED, CONFIRMED, UPDATING);
 *   - the event stream agrees with the datagrams (one SIP_SENT per SIP datagram, in
 *     order) and with floe_sip_ua_state; state changes chain (from = last to);
 *     CALL_ENDED comes once, right after the call is over, with a reason; ICE_COMPLETED
 *     (until an ICE restart) and MEDIA_SENT come once a call;
 *   - ring after ICE: a callee that took an ICE offer with 100rel (state OFFERED) or
 *     sent a reliable 183 with an ICE answer never sends 180 before its ICE_COMPLETED
 *     event; for a late answer (OFFERED_LATE, or an unreliable 183 with an ICE answer)
 *     ICE_PATH_FOUND is enough; and a callee's 200 to the call's INVITE follows its 180;
 *   - the ACK for a 2xx carries that 2xx's To tag, also for a second dialog from a fork
 *     (RFC 3261 §13.2.2.4);
 *   - a BYE the UA answers 200 ends its call, or starts its end (CANCELLING, HANGING_UP),
 *     also in an early dialog (RFC 3261 §15.1.2);
 *   - the API keeps its word: a dial that succeeds leaves the call GATHERING, an answer
 *     ANSWERED, a hang-up over or on its way; an ICE restart succeeds only for the caller
 *     of a confirmed ICE call; a fresh REGISTERED grant means floe_sip_ua_registered;
 *   - the deadline never sticks in the past: after at most three ticks at now, it is
 *     later than now (one may not do: a tick can start work due at once);
 *   - at the end both UAs hang up and unregister, and virtual time runs on for at most
 *     ten minutes: every call must be over (with an end reason), no transaction left,
 *     no deadline pending.
 * Both UAs are freed every run; ASan and UBSan (LSan for leaks) catch the rest.
 *
 * The environment: FLOE_FUZZ_UA_STATS prints, at exit, how many runs reached each call
 * state (per role) and the other milestones; FLOE_FUZZ_UA_TRACE prints every event (the
 * ladder) and every SIP start line sent as it comes. The seeds come from
 * tests/fuzz/gen_corpus_sip_ua.py. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_auth.h"
#include "floe/media.h"
#include "floe/sip_ua.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"
#include "fuzz_input.h"

#define MAX_STEPS 64
#define FLIGHT 48
#define NOTES 64
#define TEXT_MAX FLOE_SIP_UA_SEND_MAX

enum { RING_AFTER_DONE = 1, RING_AFTER_PATH = 2 };

#define CAROL_UFRAG "CaRoL7"
#define CAROL_PWD "carolcarolcarolcarol42"

/* A copy of a SIP message a UA sent (the templates echo it). */
typedef struct saved {
    size_t len;
    char text[TEXT_MAX + 1];
} saved;

typedef struct pkt {
    floe_time_ns at;
    int dst; /* UA index */
    bool sip;
    unsigned sock; /* media: the socket; SIP: the transport */
    floe_addr from;
    size_t len;
    uint8_t data[FLOE_SIP_UA_SEND_MAX];
} pkt;

typedef struct note {
    unsigned status;
    bool request;
    bool r180;             /* a 180 to an INVITE */
    bool ice183;           /* a 183 to an INVITE with an ICE answer */
    bool reliable;         /* a 1xx with RSeq */
    bool bye_ok;           /* a 200 to a BYE of the UA's current call */
    bool inv_1xx, inv_2xx; /* a response to an INVITE */
    uint32_t cseq;
} note;

typedef struct node {
    floe_sip_ua *ua;
    floe_addr sip, media[FLOE_SIP_UA_MAX_MEDIA_HOSTS];
    unsigned n_media;
    bool dead0;      /* media[0] is on an address the network does not carry */
    floe_time_ns dl; /* the deadline, as of the last drain */
    uint64_t rng;
    saved last_req, last_inv, last_resp, last_rel, last_sdp;
    bool have_req, have_inv, have_resp, have_rel, have_sdp;
    /* the event stream as seen so far */
    floe_sip_call_state state;
    /* the ring rule of the current call: 0 none (no ICE), RING_AFTER_DONE (an ICE offer
     * with 100rel: the 180 waits for ICE_COMPLETED), RING_AFTER_PATH (a late answer: it
     * waits for ICE_PATH_FOUND or ICE_COMPLETED) */
    int ring_rule;
    bool ice_done, path_found;
    bool callee, rang; /* the current call: we are the callee; we sent its 180 */
    bool media_sent, end_due;
    unsigned frames;         /* pulled by the pull callback */
    floe_transport carol_tp; /* how the UA last sent to carol, and so how she answers */
    bool have_inv_cseq;
    uint32_t inv_cseq;     /* callee: the CSeq of the call's INVITE */
    char want_ack_tag[64]; /* the To tag of the 2xx being delivered */
    char call_id[128];     /* of the last INVITE transaction it took part in */
    note notes[NOTES];
    unsigned note_head, note_len;
    /* milestones of this run */
    bool reached[FLOE_SIP_CALL_STATE_COUNT][2];
    bool got_ice_done, got_path, got_media, got_registered, got_restart;
} node;

typedef struct world {
    floe_time_ns now, delay;
    node n[2];
    floe_addr carol_sip, carol_media, stun_server;
    bool stun_answers; /* the STUN server (when configured) answers */
    pkt flight[FLIGHT];
    size_t n_flight;
    bool block_media;
    bool auto_ack, auto_answer; /* carol's reflexes (carol_auto) */
    unsigned rtp_budget;        /* RTP and RTCP datagrams the network still carries this run */
    unsigned serial;            /* carol's Call-IDs, tags and branches */
    uint32_t carol_cseq, carol_rseq;
    saved carol_inv[2]; /* carol's last INVITE to each UA (CANCEL echoes it) */
    bool have_carol_inv[2];
} world;

static world W;
static const char *const ua_names[2] = {"alice", "bob"};
static const char *const ua_hosts[2] = {"10.0.0.1:5060", "10.0.0.2:5060"};
static pkt scratch_pkt;
static uint8_t sendbuf[FLOE_SIP_UA_SEND_MAX];
static char text[TEXT_MAX + 1];
static floe_sip_msg msg, ctxm, resp;
static char arena_buf[4096];

/* ---- statistics (FLOE_FUZZ_UA_STATS) ------------------------------------------------------ */

static uint64_t st_runs, st_state[FLOE_SIP_CALL_STATE_COUNT][2], st_ice_done, st_path, st_media,
    st_reg, st_restart;
static bool st_on, st_init, trace_on;
static uint64_t st_deliver, st_tick, st_final, st_sip_out, st_sip_carol, st_media_out;

static void st_print(void) {
    fprintf(stderr,
            "fuzz_sip_ua: %llu runs; ice completed in %llu, path found (late answer) in %llu, "
            "media in %llu, registered in %llu, ICE restart in %llu\n",
            (unsigned long long)st_runs, (unsigned long long)st_ice_done,
            (unsigned long long)st_path, (unsigned long long)st_media, (unsigned long long)st_reg,
            (unsigned long long)st_restart);
    fprintf(stderr,
            "  deliveries %llu, ticks %llu, in the final phase %llu; sent: SIP %llu (to carol "
            "%llu), media %llu\n",
            (unsigned long long)st_deliver, (unsigned long long)st_tick,
            (unsigned long long)st_final, (unsigned long long)st_sip_out,
            (unsigned long long)st_sip_carol, (unsigned long long)st_media_out);
    for (int s = 0; s < FLOE_SIP_CALL_STATE_COUNT; s++)
        fprintf(stderr, "  %-14s caller %8llu  callee %8llu\n",
                floe_sip_call_state_name((floe_sip_call_state)s),
                (unsigned long long)st_state[s][0], (unsigned long long)st_state[s][1]);
}

static void st_run(const world *w) {
    st_runs++;
    bool ice = false, path = false, media = false, reg = false, restart = false;
    for (int s = 0; s < FLOE_SIP_CALL_STATE_COUNT; s++)
        for (int r = 0; r < 2; r++)
            if (w->n[0].reached[s][r] || w->n[1].reached[s][r]) st_state[s][r]++;
    for (int i = 0; i < 2; i++) {
        ice |= w->n[i].got_ice_done;
        path |= w->n[i].got_path;
        restart |= w->n[i].got_restart;
        media |= w->n[i].got_media;
        reg |= w->n[i].got_registered;
    }
    st_ice_done += ice;
    st_path += path;
    st_restart += restart;
    st_media += media;
    st_reg += reg;
}

/* ---- the network -------------------------------------------------------------------------- */

static void save(saved *s, const void *p, size_t len) {
    if (len > TEXT_MAX) len = TEXT_MAX;
    memcpy(s->text, p, len);
    s->text[len] = '\0';
    s->len = len;
}

static void enqueue(world *w, int dst, bool sip, unsigned sock, const floe_addr *from,
                    const uint8_t *p, size_t len) {
    if (w->n_flight == FLIGHT || len > sizeof w->flight[0].data) return; /* lost */
    pkt *k = &w->flight[w->n_flight++];
    k->at = w->now + w->delay;
    k->dst = dst;
    k->sip = sip;
    k->sock = sock;
    k->from = *from;
    k->len = len;
    memcpy(k->data, p, len);
}

static bool has_ice(floe_sip_str body) {
    static const char key[] = "a=ice-ufrag:";
    if (!body.p) return false;
    for (size_t i = 0; i + sizeof key - 1 <= body.len; i++)
        if (memcmp(body.p + i, key, sizeof key - 1) == 0) return true;
    return false;
}

/* Carol answers an ICE check sent to her media address: a Binding success with her
 * password's integrity. */
static void carol_stun(world *w, int from_ua, unsigned sock, const uint8_t *p, size_t len,
                       bool server) {
    static floe_stun_msg sm;
    if (floe_stun_msg_decode(p, len, 0, &sm) != FLOE_OK || sm.method != FLOE_STUN_BINDING ||
        sm.cls != FLOE_STUN_REQUEST)
        return;
    uint8_t key[64], out[256];
    size_t klen, olen;
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, sizeof out, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, sm.tid);
    if (server) { /* a STUN server behind a NAT of sorts: the mapped address differs */
        floe_addr mapped;
        floe_addr_set_v4(&mapped, 0xc6336401u + (uint32_t)from_ua,
                         (uint16_t)(50000 + w->n[from_ua].media[sock].port % 1000));
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
        floe_stun_add_fingerprint(&b);
    } else { /* carol's ICE agent answering a check */
        if (floe_stun_key_short_term(CAROL_PWD, key, sizeof key, &klen) != FLOE_OK) abort();
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &w->n[from_ua].media[sock]);
        floe_stun_add_integrity(&b, key, klen);
        floe_stun_add_fingerprint(&b);
    }
    if (floe_stun_builder_finish(&b, &olen) != FLOE_OK) abort();
    enqueue(w, from_ua, false, sock, server ? &w->stun_server : &w->carol_media, out, olen);
}

static void put_str(char *dst, size_t cap, floe_sip_str s) {
    size_t n = s.p ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* Carol's reflexes, when the configuration wants them: she ACKs an error answer to her
 * INVITE (a template cannot: that ACK takes the INVITE's branch), and answers 200 to
 * BYE, CANCEL (with 487 for the INVITE), PRACK, OPTIONS, UPDATE and INFO. */
static void carol_auto(world *w, int i, const floe_sip_msg *m, const floe_sip_cseq *cs) {
    static char out[TEXT_MAX + 1];
    static floe_sip_msg r, inv;
    static saved copy;
    static char ar_buf[2048];
    floe_sip_arena ar;
    size_t len;
    if (!m->request && m->status >= 300 && cs->method_id == FLOE_SIP_INVITE && w->auto_ack) {
        floe_sip_via v;
        const floe_sip_hdr *via = floe_sip_msg_find(m, FLOE_SIP_H_VIA, NULL);
        const floe_sip_hdr *fh = floe_sip_msg_find(m, FLOE_SIP_H_FROM, NULL);
        const floe_sip_hdr *th = floe_sip_msg_find(m, FLOE_SIP_H_TO, NULL);
        const floe_sip_hdr *ch = floe_sip_msg_find(m, FLOE_SIP_H_CALL_ID, NULL);
        if (!via || !fh || !th || !ch || floe_sip_msg_top_via(m, &v) != FLOE_OK) return;
        int n = snprintf(out, sizeof out,
                         "ACK sip:%s@%s SIP/2.0\r\nVia: %.*s\r\nMax-Forwards: 70\r\n"
                         "From: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u ACK\r\n"
                         "Content-Length: 0\r\n\r\n",
                         ua_names[i], ua_hosts[i], (int)via->value.len, via->value.p,
                         (int)fh->value.len, fh->value.p, (int)th->value.len, th->value.p,
                         (int)ch->value.len, ch->value.p, (unsigned)cs->seq);
        if (n > 0 && (size_t)n < sizeof out)
            enqueue(w, i, true, w->n[i].carol_tp, &w->carol_sip, (const uint8_t *)out, (size_t)n);
        return;
    }
    if (!m->request || !w->auto_answer) return;
    switch (m->method_id) {
    case FLOE_SIP_BYE:
    case FLOE_SIP_CANCEL:
    case FLOE_SIP_PRACK:
    case FLOE_SIP_OPTIONS:
    case FLOE_SIP_UPDATE:
    case FLOE_SIP_INFO: break;
    default: return;
    }
    floe_sip_arena_init(&ar, ar_buf, sizeof ar_buf);
    if (floe_sip_msg_response_to(&r, m, 200, NULL, "ct1", &ar) == FLOE_OK &&
        floe_sip_msg_print(&r, out, sizeof out, &len) == FLOE_OK)
        enqueue(w, i, true, w->n[i].carol_tp, &w->carol_sip, (const uint8_t *)out, len);
    if (m->method_id != FLOE_SIP_CANCEL || !w->n[i].have_inv) return;
    copy = w->n[i].last_inv;
    floe_sip_arena_init(&ar, ar_buf, sizeof ar_buf);
    if (floe_sip_parse(copy.text, copy.len, 0, &inv, NULL, NULL) == FLOE_OK &&
        floe_sip_msg_response_to(&r, &inv, 487, NULL, "ct1", &ar) == FLOE_OK &&
        floe_sip_msg_print(&r, out, sizeof out, &len) == FLOE_OK)
        enqueue(w, i, true, w->n[i].carol_tp, &w->carol_sip, (const uint8_t *)out, len);
}

/* What UA i sent: checked, remembered, routed. */
static void on_sent_sip(world *w, int i, floe_transport tp, const uint8_t *p, size_t len,
                        const floe_addr *to) {
    node *x = &w->n[i];
    unsigned flags = tp == FLOE_TRANSPORT_TCP ? FLOE_SIP_PARSE_STREAM : 0;
    if (floe_sip_parse((const char *)p, len, flags, &msg, NULL, NULL) != FLOE_OK) abort();
    floe_sip_cseq cs;
    floe_sip_str cid;
    floe_sip_addr from, toa;
    if (floe_sip_msg_cseq(&msg, &cs) != FLOE_OK || floe_sip_msg_call_id(&msg, &cid) != FLOE_OK ||
        floe_sip_msg_from(&msg, &from) != FLOE_OK || floe_sip_msg_to(&msg, &toa) != FLOE_OK)
        abort();
    if (msg.request && !from.tag.p)
        abort(); /* our requests' From has a tag (a response
                    copies the request's, whatever it is) */
    if (trace_on) {
        size_t l0 = strcspn((const char *)p, "\r");
        fprintf(stderr, "%s sends %.*s (To tag %.*s, CSeq %u)\n", ua_names[i], (int)l0,
                (const char *)p, (int)toa.tag.len, toa.tag.p ? toa.tag.p : "", (unsigned)cs.seq);
    }
    note nt = {0};
    nt.request = msg.request;
    nt.status = msg.status;
    if (msg.request) {
        floe_sip_via v;
        if (floe_sip_msg_top_via(&msg, &v) != FLOE_OK || !floe_sip_branch_is_rfc3261(v.branch))
            abort();
        if (cs.method_id != msg.method_id) abort();
        if (msg.method_id == FLOE_SIP_ACK && x->want_ack_tag[0] &&
            !(toa.tag.len == strlen(x->want_ack_tag) &&
              memcmp(toa.tag.p, x->want_ack_tag, toa.tag.len) == 0))
            abort(); /* the ACK went to another dialog than the 2xx's */
        /* floe never sends an INVITE without an offer */
        if (msg.method_id == FLOE_SIP_INVITE && !(msg.body.len && floe_sip_msg_is_sdp(&msg)))
            abort();
        save(&x->last_req, p, len);
        x->have_req = true;
        if (msg.method_id == FLOE_SIP_INVITE) {
            save(&x->last_inv, p, len);
            x->have_inv = true;
        }
    } else {
        save(&x->last_resp, p, len);
        x->have_resp = true;
        uint32_t rseq;
        if (msg.status < 200 && floe_sip_msg_rseq(&msg, &rseq) == FLOE_OK) {
            save(&x->last_rel, p, len);
            x->have_rel = true;
        }
        bool inv = cs.method_id == FLOE_SIP_INVITE;
        nt.r180 = inv && msg.status == 180;
        nt.inv_1xx = inv && msg.status < 200;
        nt.inv_2xx = inv && msg.status >= 200 && msg.status < 300;
        /* ... nor a 2xx to an INVITE without its answer */
        if (nt.inv_2xx && !(msg.body.len && floe_sip_msg_is_sdp(&msg))) abort();
        nt.cseq = cs.seq;
        nt.ice183 = inv && msg.status == 183 && has_ice(msg.body);
        nt.reliable = msg.status < 200 && floe_sip_msg_rseq(&msg, &rseq) == FLOE_OK;
        nt.bye_ok = cs.method_id == FLOE_SIP_BYE && msg.status == 200 &&
                    cid.len == strlen(x->call_id) && memcmp(cid.p, x->call_id, cid.len) == 0;
    }
    if (cs.method_id == FLOE_SIP_INVITE) put_str(x->call_id, sizeof x->call_id, cid);
    if (msg.body.len > 0 && floe_sip_msg_is_sdp(&msg)) {
        save(&x->last_sdp, p, len);
        x->have_sdp = true;
    }
    if (x->note_len == NOTES) abort(); /* events are pulled after every step */
    x->notes[(x->note_head + x->note_len++) % NOTES] = nt;
    int o = 1 - i;
    if (floe_addr_equal(to, &w->n[o].sip)) enqueue(w, o, true, tp, &x->sip, p, len);
    /* to carol: kept above (the templates read it), maybe answered; elsewhere: lost */
    if (floe_addr_equal(to, &w->carol_sip)) {
        x->carol_tp = tp; /* carol answers over what the UA used */
        carol_auto(w, i, &msg, &cs);
    }
}

static void on_sent_media(world *w, int i, unsigned sock, const uint8_t *p, size_t len,
                          const floe_addr *to) {
    node *x = &w->n[i];
    if (sock >= x->n_media) abort();
    bool stun = floe_stun_looks_like(p, len);
    if (!stun && len >= 2 && ((p[1] & 0x7f) < 72 || (p[1] & 0x7f) > 76)) { /* RTP */
        floe_sip_call_state s = floe_sip_ua_state(x->ua);
        if (s != FLOE_SIP_CALL_ANSWERED && s != FLOE_SIP_CALL_CONFIRMED &&
            s != FLOE_SIP_CALL_UPDATING)
            abort(); /* audio before the answer, or after the end */
    }
    if (w->block_media || (sock == 0 && x->dead0)) return;
    /* Past a budget, audio is lost: STUN (checks, consent) still goes through. Each RTP
     * packet costs a lot of time and adds little once media flows. */
    if (!stun) {
        if (w->rtp_budget == 0) return;
        w->rtp_budget--;
    }
    int o = 1 - i;
    for (unsigned k = w->n[o].dead0 ? 1 : 0; k < w->n[o].n_media; k++)
        if (floe_addr_equal(to, &w->n[o].media[k])) {
            enqueue(w, o, false, k, &x->media[sock], p, len);
            return;
        }
    if (floe_addr_equal(to, &w->carol_media)) carol_stun(w, i, sock, p, len, false);
    if (floe_addr_equal(to, &w->stun_server) && w->stun_answers)
        carol_stun(w, i, sock, p, len, true);
}

static void trace(const world *w, int i, const floe_sip_ua_event *ev) {
    fprintf(stderr, "%s %9.3f %-15s", ua_names[i], (double)w->now / 1e9,
            floe_sip_ua_event_name(ev->type));
    if (ev->type == FLOE_SIP_UA_EV_SIP_SENT || ev->type == FLOE_SIP_UA_EV_SIP_RECEIVED) {
        if (ev->sip.request)
            fprintf(stderr, " %s", ev->sip.method);
        else
            fprintf(stderr, " %u (%s)%s", ev->sip.status, ev->sip.method,
                    ev->sip.reliable ? " rel" : "");
    } else if (ev->type == FLOE_SIP_UA_EV_CALL_STATE) {
        fprintf(stderr, " %s -> %s", floe_sip_call_state_name(ev->state.from),
                floe_sip_call_state_name(ev->state.to));
    }
    fprintf(stderr, " %s\n", ev->reason);
}

static void on_event(world *w, int i, const floe_sip_ua_event *ev, bool exact) {
    node *x = &w->n[i];
    if (trace_on) trace(w, i, ev);
    switch (ev->type) {
    case FLOE_SIP_UA_EV_SIP_SENT: {
        if (x->note_len == 0) {
            if (exact) abort(); /* an event for a datagram that never came out */
            break;
        }
        note nt = x->notes[x->note_head];
        x->note_head = (x->note_head + 1) % NOTES;
        x->note_len--;
        if (exact && (nt.request != ev->sip.request || nt.status != ev->sip.status)) abort();
        /* ring after ICE: what the UA said in its 183 binds it too */
        if (nt.ice183 && nt.reliable) x->ring_rule = RING_AFTER_DONE;
        if (nt.ice183 && !nt.reliable && x->ring_rule == 0) x->ring_rule = RING_AFTER_PATH;
        if (nt.r180 && x->ring_rule == RING_AFTER_DONE && !x->ice_done) abort();
        /* a callee answers only a call that rang (the 200 of a re-INVITE has another CSeq) */
        if (x->callee && nt.inv_1xx && !x->have_inv_cseq) {
            x->have_inv_cseq = true;
            x->inv_cseq = nt.cseq;
        }
        if (x->callee && nt.r180) x->rang = true;
        if (x->callee && nt.inv_2xx && x->have_inv_cseq && nt.cseq == x->inv_cseq && !x->rang)
            abort();
        if (nt.r180 && x->ring_rule == RING_AFTER_PATH && !x->ice_done && !x->path_found) abort();
        /* a BYE we accepted ends the call, early dialog or not (RFC 3261 §15.1.2) */
        if (nt.bye_ok && !floe_sip_call_over(x->state) && x->state != FLOE_SIP_CALL_CANCELLING &&
            x->state != FLOE_SIP_CALL_HANGING_UP)
            abort();
        break;
    }
    case FLOE_SIP_UA_EV_CALL_STATE: {
        if ((unsigned)ev->state.to >= FLOE_SIP_CALL_STATE_COUNT) abort();
        if (ev->state.from == FLOE_SIP_CALL_IDLE) { /* a new call */
            x->ring_rule = 0;
            x->ice_done = x->path_found = false;
            x->callee = ev->state.to == FLOE_SIP_CALL_OFFERED ||
                        ev->state.to == FLOE_SIP_CALL_OFFERED_PLAIN ||
                        ev->state.to == FLOE_SIP_CALL_OFFERED_LATE;
            x->rang = x->have_inv_cseq = false;
            x->media_sent = x->end_due = false;
            /* the new call's Call-ID comes with its first message; until then a 200 to a
             * BYE (a retransmission for the last call) is not for this call */
            x->call_id[0] = '\0';
        } else if (exact && ev->state.from != x->state) {
            abort();
        }
        if (ev->state.to == ev->state.from) abort();
        x->state = ev->state.to;
        if (floe_sip_call_over(x->state)) x->end_due = true; /* CALL_ENDED follows */
        if (x->state == FLOE_SIP_CALL_OFFERED) x->ring_rule = RING_AFTER_DONE;
        if (x->state == FLOE_SIP_CALL_OFFERED_LATE) x->ring_rule = RING_AFTER_PATH;
        floe_sip_ua_result r;
        floe_sip_ua_result_get(x->ua, &r);
        x->reached[x->state][r.caller ? 0 : 1] = true;
        break;
    }
    case FLOE_SIP_UA_EV_ICE_COMPLETED:
        if (x->ice_done && exact) abort(); /* once a call */
        x->ice_done = true;
        x->got_ice_done = true;
        break;
    case FLOE_SIP_UA_EV_ICE_RESTART: /* the checks run again: ICE_COMPLETED may come again */
        x->ice_done = false;
        x->got_restart = true;
        break;
    case FLOE_SIP_UA_EV_ICE_PATH_FOUND:
        x->path_found = true;
        x->got_path = true;
        break;
    case FLOE_SIP_UA_EV_MEDIA_RECEIVED: x->got_media = true; break;
    case FLOE_SIP_UA_EV_MEDIA_SENT:
        if (x->media_sent && exact) abort(); /* once a call */
        x->media_sent = true;
        break;
    case FLOE_SIP_UA_EV_CALL_ENDED:
        if (!x->end_due && exact) abort(); /* once, right after the call is over */
        x->end_due = false;
        if (!ev->reason[0]) abort();
        break;
    case FLOE_SIP_UA_EV_REGISTERED:
        if (ev->expires) x->got_registered = true;
        /* a binding just granted is in force (events are pulled at once, same now) */
        if (ev->expires && ev->at == w->now && !floe_sip_ua_registered(x->ua, w->now) && exact)
            abort();
        break;
    case FLOE_SIP_UA_EV_NONE: abort();
    default:
        if (strcmp(floe_sip_ua_event_name(ev->type), "?") == 0) abort(); /* no such type */
        break;
    }
}

/* Pulls what both UAs have to send and to say, and checks it. */
static void drain(world *w) {
    for (int i = 0; i < 2; i++) {
        node *x = &w->n[i];
        size_t len;
        floe_sip_ua_out out;
        int guard = 0;
        while (floe_sip_ua_next_send(x->ua, w->now, sendbuf, sizeof sendbuf, &len, &out) ==
               FLOE_OK) {
            if (++guard > 20000) abort();
            if (len == 0 || len > FLOE_SIP_UA_SEND_MAX || out.to.family == FLOE_AF_NONE) abort();
            if (out.kind == FLOE_SIP_UA_OUT_SIP) {
                if (out.transport != FLOE_TRANSPORT_UDP && out.transport != FLOE_TRANSPORT_TCP)
                    abort();
                st_sip_out++;
                if (floe_addr_equal(&out.to, &w->carol_sip)) st_sip_carol++;
                on_sent_sip(w, i, out.transport, sendbuf, len, &out.to);
            } else if (out.kind == FLOE_SIP_UA_OUT_MEDIA) {
                st_media_out++;
                on_sent_media(w, i, out.sock, sendbuf, len, &out.to);
            } else {
                abort();
            }
        }
        bool exact = floe_sip_ua_events_dropped(x->ua) == 0;
        floe_sip_ua_event ev;
        guard = 0;
        while (floe_sip_ua_next_event(x->ua, &ev)) {
            if (++guard > 20000) abort();
            on_event(w, i, &ev, exact);
        }
        if (exact && x->note_len) abort(); /* a SIP datagram without its event */
        x->note_len = 0;
        floe_sip_call_state s = floe_sip_ua_state(x->ua);
        if (exact && s != x->state && s != FLOE_SIP_CALL_IDLE) abort();
        x->state = s;
        x->dl = floe_sip_ua_deadline(x->ua);
    }
}

/* A SIP datagram into UA i. A 2xx to an INVITE is noted first: the ACK that answers it
 * must carry its To tag (RFC 3261 §13.2.2.4: every 2xx is ACKed in its own dialog, also
 * a second one from a fork). */
static void sip_in(world *w, int i, floe_transport tp, const floe_addr *from, const char *p,
                   size_t len) {
    node *x = &w->n[i];
    x->want_ack_tag[0] = '\0';
    if (len > 9 && memcmp(p, "SIP/2.0 2", 9) == 0 &&
        floe_sip_parse(p, len, 0, &ctxm, NULL, NULL) == FLOE_OK && !ctxm.request &&
        ctxm.status >= 200 && ctxm.status < 300) {
        floe_sip_cseq cs;
        floe_sip_addr ta;
        if (floe_sip_msg_cseq(&ctxm, &cs) == FLOE_OK && cs.method_id == FLOE_SIP_INVITE &&
            floe_sip_msg_to(&ctxm, &ta) == FLOE_OK && ta.tag.p)
            put_str(x->want_ack_tag, sizeof x->want_ack_tag, ta.tag);
    }
    floe_sip_ua_on_sip(x->ua, w->now, tp, from, p, len);
    drain(w);
    x->want_ack_tag[0] = '\0';
}

static void deliver(world *w, const pkt *k) {
    st_deliver++;
    node *x = &w->n[k->dst];
    if (k->sip)
        sip_in(w, k->dst, (floe_transport)k->sock, &k->from, (const char *)k->data, k->len);
    else
        floe_sip_ua_on_media(x->ua, w->now, k->sock, &k->from, k->data, k->len);
    drain(w);
}

static void pop_flight(world *w, size_t i, pkt *out) {
    *out = w->flight[i];
    memmove(&w->flight[i], &w->flight[i + 1], (w->n_flight - i - 1) * sizeof *out);
    w->n_flight--;
}

/* A tick at now. Work a tick starts (checks that begin once gathering is done inside
 * it) may be due at once, so the deadline may still be <= now after one tick; it must
 * not stay there: a few ticks at the same now settle it, or the UA would spin. */
static void tick(world *w, int i) {
    for (int round = 0; round < 3; round++) {
        st_tick++;
        floe_sip_ua_tick(w->n[i].ua, w->now);
        drain(w);
        if (w->n[i].dl > w->now) return;
    }
    abort(); /* a timer stuck in the past */
}

/* The runtime's loop up to `until`: ticks at deadlines, deliveries when due. */
static void run_until(world *w, floe_time_ns until) {
    for (int guard = 0; guard < 200000; guard++) {
        floe_time_ns next = FLOE_TIME_NEVER;
        for (int i = 0; i < 2; i++)
            if (w->n[i].dl < next) next = w->n[i].dl;
        if (w->n_flight && w->flight[0].at < next) next = w->flight[0].at;
        if (next == FLOE_TIME_NEVER || next > until) break;
        if (next > w->now) w->now = next;
        if (w->n_flight && w->flight[0].at <= w->now) {
            pop_flight(w, 0, &scratch_pkt);
            deliver(w, &scratch_pkt);
            continue;
        }
        for (int i = 0; i < 2; i++)
            if (w->n[i].dl <= w->now) tick(w, i);
    }
    if (until > w->now) w->now = until;
    for (int i = 0; i < 2; i++)
        if (w->n[i].dl <= w->now) tick(w, i);
}

/* ---- templates ---------------------------------------------------------------------------- */

static size_t sdp_text(char *out, size_t cap, unsigned kind) {
    int n;
    switch (kind % 5) {
    case 0: /* ICE */
    case 1:
        n = snprintf(out, cap,
                     "v=0\r\no=carol 7 7 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
                     "m=audio 30000 RTP/AVP %s\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                     "a=rtcp-mux\r\na=ice-ufrag:" CAROL_UFRAG "\r\na=ice-pwd:" CAROL_PWD "\r\n"
                     "a=candidate:1 1 UDP 2130706431 10.0.0.9 30000 typ host\r\n%sa=sendrecv\r\n",
                     kind % 5 ? "8" : "0 8", kind & 8 ? "a=ice-lite\r\n" : "");
        break;
    case 2: /* plain */
        n = snprintf(out, cap,
                     "v=0\r\no=carol 7 7 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
                     "m=audio 30000 RTP/AVP %s\r\na=sendrecv\r\n",
                     kind & 8 ? "8" : "0");
        break;
    case 3: /* nothing we can use */
        n = snprintf(out, cap,
                     "v=0\r\no=carol 7 7 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
                     "m=audio %s RTP/AVP 18\r\n",
                     kind & 8 ? "0" : "30000");
        break;
    default: /* ICE attributes without a candidate in the default address */
        n = snprintf(out, cap,
                     "v=0\r\no=carol 7 7 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.8\r\nt=0 0\r\n"
                     "m=audio 31000 RTP/AVP 0\r\na=rtcp-mux\r\na=ice-ufrag:" CAROL_UFRAG
                     "\r\na=ice-pwd:" CAROL_PWD
                     "\r\na=candidate:1 1 UDP 2130706431 10.0.0.9 30000 typ host\r\n");
        break;
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* A few bytes of the text overwritten, or the text cut short. */
/* How a datagram gets damaged: read from the input at once (every operation takes its
 * bytes whether or not it can act, so that an input keeps its meaning when the state
 * differs), applied later. */
typedef struct damage {
    unsigned n; /* bytes overwritten */
    uint16_t at[4];
    uint8_t val[4];
    bool cut;
    uint16_t cut_at;
} damage;

static void damage_read(input *in, damage *d) {
    uint8_t how = u8(in);
    memset(d, 0, sizeof *d);
    if (!(how & 0x80)) return;
    d->n = 1 + how % 4;
    for (unsigned j = 0; j < d->n; j++) {
        d->at[j] = u16(in);
        d->val[j] = u8(in);
    }
    d->cut = (how & 0x40) != 0;
    if (d->cut) d->cut_at = u16(in);
}

static size_t damage_apply(const damage *d, uint8_t *p, size_t len) {
    if (len == 0) return 0;
    for (unsigned j = 0; j < d->n; j++)
        p[d->at[j] % len] = d->val[j];
    if (d->cut) len = d->cut_at % (len + 1);
    return len;
}

static floe_addr from_of(world *w, int i, uint8_t f) {
    return (f & 1) ? w->n[1 - i].sip : w->carol_sip;
}

static void send_text(world *w, int i, const floe_addr *from, size_t n, const damage *dm) {
    n = damage_apply(dm, (uint8_t *)text, n);
    sip_in(w, i, w->n[i].carol_tp, from, text, n);
    drain(w);
}

static const unsigned statuses[] = {100, 180, 183, 200, 401, 407, 486, 487,
                                    488, 500, 603, 182, 491, 181, 202, 302};

/* A Record-Route for the dialog, or none: a proxy by address, by name (which the UA
 * cannot resolve), or two. */
static const char *record_route(uint8_t b) {
    switch (b >> 4 & 3) {
    case 1: return "Record-Route: <sip:10.0.0.9:5070;lr>\r\n";
    case 2: return "Record-Route: <sip:proxy.example.net;lr>\r\n";
    case 3: return "Record-Route: <sip:10.0.0.9:5070;lr>, <sip:10.0.0.8;lr>\r\n";
    default: return "";
    }
}

/* A response to the UA's last INVITE or last request. */
static void op_response(world *w, input *in, int i) {
    node *x = &w->n[i];
    uint8_t f = u8(in);
    unsigned status = statuses[u8(in) % 16];
    uint8_t rseq_b = u8(in), sdp_b = u8(in);
    damage dm;
    damage_read(in, &dm);
    const saved *s =
        (f & 2) ? (x->have_req ? &x->last_req : NULL) : (x->have_inv ? &x->last_inv : NULL);
    if (!s) return;
    static saved copy;
    copy = *s;
    if (floe_sip_parse(copy.text, copy.len, 0, &ctxm, NULL, NULL) != FLOE_OK) abort();
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    static const char *const tags[] = {"ct1", "ct2", NULL, "ct1"};
    if (floe_sip_msg_response_to(&resp, &ctxm, status, NULL, tags[(f >> 2) & 3], &ar) != FLOE_OK)
        return;
    bool inv = ctxm.method_id == FLOE_SIP_INVITE;
    bool reliable = (status == 183 || (status == 180 && (f & 0x10))) && !(f & 0x20);
    bool with_sdp = inv && (status == 183 || status == 200 || (f & 0x40));
    static char sdp[1024], rs[16], contact[64];
    if (status > 100 && status < 300) {
        snprintf(contact, sizeof contact, "<sip:carol@%s>",
                 (f & 0x80) ? "10.0.0.9:5060" : "carol.example.net");
        floe_sip_msg_add(&resp, FLOE_SIP_H_CONTACT,
                         (f & 0x80) || !(f & 1) ? "<sip:carol@10.0.0.9:5060>" : contact);
    }
    if (rseq_b & 0x30) { /* the same as record_route() says, as a header field */
        static const char *const rr[] = {"", "<sip:10.0.0.9:5070;lr>", "<sip:proxy.example.net;lr>",
                                         "<sip:10.0.0.9:5070;lr>, <sip:10.0.0.8;lr>"};
        floe_sip_msg_add(&resp, FLOE_SIP_H_RECORD_ROUTE, rr[rseq_b >> 4 & 3]);
    }
    if (reliable) {
        snprintf(rs, sizeof rs, "%u", (unsigned)(w->carol_rseq + (rseq_b % 4 == 0 ? 0 : 1)));
        w->carol_rseq++;
        floe_sip_msg_add(&resp, FLOE_SIP_H_REQUIRE, "100rel");
        floe_sip_msg_add_str(&resp, floe_sip_str_c("RSeq"), floe_sip_str_c(rs));
    }
    if (status == 401 || status == 407) {
        floe_sip_str ch;
        static const char *const nonces[] = {"n0nce1", "n0nce2"};
        if (floe_sip_auth_challenge_value((f & 0x40) ? FLOE_SIP_ALG_MD5 : FLOE_SIP_ALG_SHA256,
                                          "example.net", nonces[f & 1], NULL, (f & 0x10) != 0, &ar,
                                          &ch) == FLOE_OK)
            floe_sip_msg_add_str(
                &resp, floe_sip_str_c(status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"),
                ch);
    }
    if (ctxm.method_id == FLOE_SIP_REGISTER && status == 200) {
        static char c[128];
        floe_sip_addr ca;
        floe_sip_iter it = {0};
        if (rseq_b & 0x40) { /* the grant in Expires, not in our Contact */
            snprintf(c, sizeof c, "%u", (unsigned)(f & 0x10 ? 0 : 30 + (f & 0x60)));
            floe_sip_msg_add(&resp, FLOE_SIP_H_EXPIRES, c);
        } else if (floe_sip_msg_next_addr(&ctxm, FLOE_SIP_H_CONTACT, &it, &ca) == FLOE_OK &&
                   ca.uri.p) {
            char u[96];
            put_str(u, sizeof u, ca.uri);
            snprintf(c, sizeof c, "<%s>;expires=%u", u, (unsigned)(f & 0x10 ? 0 : 30 + (f & 0x60)));
            floe_sip_msg_add(&resp, FLOE_SIP_H_CONTACT, c);
        }
    }
    if (with_sdp) {
        size_t n = sdp_text(sdp, sizeof sdp, sdp_b);
        floe_sip_msg_add(&resp, FLOE_SIP_H_CONTENT_TYPE, "application/sdp");
        floe_sip_msg_set_body(&resp, sdp, n);
    }
    size_t len;
    if (floe_sip_msg_print(&resp, text, sizeof text, &len) != FLOE_OK) return;
    floe_addr from = from_of(w, i, f);
    send_text(w, i, &from, len, &dm);
}

/* The dialog as the UA sees it, from the last message it sent: Call-ID, its tag, the
 * peer's tag (carol's "ct1" when none yet) and the UA's URI. */
typedef struct dlg_ids {
    char call_id[128], ua_tag[64], peer_tag[64], ua_uri[128];
    uint32_t cseq;
    char cseq_method[24];
} dlg_ids;

static bool dialog_of(const node *x, bool from_resp, dlg_ids *d) {
    const saved *s =
        from_resp ? (x->have_resp ? &x->last_resp : NULL) : (x->have_req ? &x->last_req : NULL);
    if (!s) return false;
    static saved copy;
    copy = *s;
    if (floe_sip_parse(copy.text, copy.len, 0, &ctxm, NULL, NULL) != FLOE_OK) abort();
    floe_sip_addr fa, ta;
    floe_sip_str cid;
    floe_sip_cseq cs;
    if (floe_sip_msg_from(&ctxm, &fa) != FLOE_OK || floe_sip_msg_to(&ctxm, &ta) != FLOE_OK ||
        floe_sip_msg_call_id(&ctxm, &cid) != FLOE_OK || floe_sip_msg_cseq(&ctxm, &cs) != FLOE_OK)
        return false;
    const floe_sip_addr *mine = ctxm.request ? &fa : &ta, *peer = ctxm.request ? &ta : &fa;
    put_str(d->call_id, sizeof d->call_id, cid);
    put_str(d->ua_tag, sizeof d->ua_tag, mine->tag);
    put_str(d->peer_tag, sizeof d->peer_tag, peer->tag.p ? peer->tag : floe_sip_str_c("ct1"));
    put_str(d->ua_uri, sizeof d->ua_uri, mine->uri);
    put_str(d->cseq_method, sizeof d->cseq_method, cs.method);
    d->cseq = cs.seq;
    return true;
}

/* A new INVITE from carol (or the other UA's address). */
static void op_invite(world *w, input *in, int i) {
    uint8_t f = u8(in);
    uint8_t k = u8(in);
    damage dm;
    damage_read(in, &dm);
    static char sdp[1024];
    size_t sl = (f & 0x40) ? 0 : sdp_text(sdp, sizeof sdp, k);
    unsigned id = ++w->serial;
    int n = snprintf(text, sizeof text,
                     "INVITE sip:%s@%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKci%u%s\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"Carol\" <sip:carol@example.net>;tag=cf%u\r\n"
                     "To: <sip:%s@example.net>\r\n"
                     "Call-ID: cc%u@10.0.0.9\r\n"
                     "CSeq: %u INVITE\r\n"
                     "Contact: <sip:carol@%s>\r\n"
                     "%s%s%s%s"
                     "Content-Length: %u\r\n\r\n%.*s",
                     ua_names[i], ua_hosts[i], id, (f & 1) ? ";rport" : "", id, ua_names[i], id,
                     1 + (unsigned)(f >> 4 & 3), (f & 8) ? "carol.example.net" : "10.0.0.9:5060",
                     record_route(k), (f & 2) ? "Supported: 100rel, timer\r\n" : "",
                     (f & 4) ? "Require: 100rel\r\n" : "",
                     sl ? "Content-Type: application/sdp\r\n" : "", (unsigned)sl, (int)sl, sdp);
    if (n < 0 || (size_t)n >= sizeof text) return;
    save(&w->carol_inv[i], text, (size_t)n);
    w->have_carol_inv[i] = true;
    floe_addr from = from_of(w, i, (uint8_t)(f >> 7));
    send_text(w, i, &from, (size_t)n, &dm);
}

/* CANCEL of carol's last INVITE to the UA (same branch, Call-ID, From, To, CSeq). */
static void op_cancel(world *w, input *in, int i) {
    uint8_t f = u8(in);
    damage dm;
    damage_read(in, &dm);
    if (!w->have_carol_inv[i]) return;
    static saved copy;
    copy = w->carol_inv[i];
    if (floe_sip_parse(copy.text, copy.len, 0, &ctxm, NULL, NULL) != FLOE_OK) return;
    size_t off = 0;
    off += (size_t)snprintf(text, sizeof text, "CANCEL %.*s SIP/2.0\r\n", (int)ctxm.uri.len,
                            ctxm.uri.p);
    for (size_t h = 0; h < ctxm.n_hdr; h++) {
        const floe_sip_hdr *hd = &ctxm.hdr[h];
        if (hd->id == FLOE_SIP_H_CSEQ) {
            floe_sip_cseq cs;
            floe_sip_cseq_parse(hd->value, &cs);
            off += (size_t)snprintf(text + off, sizeof text - off, "CSeq: %u CANCEL\r\n",
                                    (unsigned)cs.seq + ((f & 1) ? 1 : 0));
        } else if (hd->id == FLOE_SIP_H_VIA || hd->id == FLOE_SIP_H_FROM ||
                   hd->id == FLOE_SIP_H_TO || hd->id == FLOE_SIP_H_CALL_ID ||
                   hd->id == FLOE_SIP_H_MAX_FORWARDS) {
            off += (size_t)snprintf(text + off, sizeof text - off, "%.*s: %.*s\r\n",
                                    (int)hd->name.len, hd->name.p, (int)hd->value.len, hd->value.p);
        }
        if (off >= sizeof text) return;
    }
    off += (size_t)snprintf(text + off, sizeof text - off, "Content-Length: 0\r\n\r\n");
    if (off >= sizeof text) return;
    floe_addr from = from_of(w, i, (uint8_t)(f >> 1));
    send_text(w, i, &from, off, &dm);
}

/* An in-dialog request to the UA (or, with f & 0x40, one outside any dialog). */
static void op_in_dialog(world *w, input *in, int i, const char *method) {
    node *x = &w->n[i];
    uint8_t f = u8(in), sdp_b = u8(in);
    damage dm;
    damage_read(in, &dm);
    dlg_ids d;
    if (!dialog_of(x, (f & 1) != 0, &d)) return;
    if (f & 0x40) snprintf(d.ua_tag, sizeof d.ua_tag, "nope");
    uint32_t cseq;
    char rack[64] = "";
    switch ((f >> 1) & 3) {
    case 0: cseq = ++w->carol_cseq + 100; break;
    case 1: cseq = d.cseq; break; /* the one the UA used */
    case 2: cseq = d.cseq + 1; break;
    default: cseq = 1; break;
    }
    bool ack = strcmp(method, "ACK") == 0;
    if (ack) cseq = (f & 8) ? d.cseq : cseq;
    if (strcmp(method, "PRACK") == 0 && x->have_rel) {
        static saved copy;
        copy = x->last_rel;
        if (floe_sip_parse(copy.text, copy.len, 0, &ctxm, NULL, NULL) == FLOE_OK) {
            uint32_t rseq = 0;
            floe_sip_cseq cs = {0};
            floe_sip_msg_rseq(&ctxm, &rseq);
            floe_sip_msg_cseq(&ctxm, &cs);
            snprintf(rack, sizeof rack, "RAck: %u %u INVITE\r\n",
                     (unsigned)(rseq + ((f & 0x20) ? 1 : 0)), (unsigned)cs.seq);
        }
    }
    static char sdp[1024];
    bool with_sdp =
        strcmp(method, "INVITE") == 0 || strcmp(method, "UPDATE") == 0 || (ack && (f & 0x10));
    size_t sl = with_sdp ? sdp_text(sdp, sizeof sdp, sdp_b) : 0;
    unsigned id = ++w->serial;
    int n = snprintf(text, sizeof text,
                     "%s sip:%s@%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKcd%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:carol@example.net>;tag=%s\r\n"
                     "To: <%s>;tag=%s\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %u %s\r\n"
                     "Contact: <sip:carol@10.0.0.9:5060>\r\n"
                     "%s%s"
                     "Content-Length: %u\r\n\r\n%.*s",
                     method, ua_names[i], ua_hosts[i], id, d.peer_tag, d.ua_uri, d.ua_tag,
                     d.call_id, (unsigned)cseq, method, rack,
                     sl ? "Content-Type: application/sdp\r\n" : "", (unsigned)sl, (int)sl, sdp);
    if (n < 0 || (size_t)n >= sizeof text) return;
    floe_addr from = from_of(w, i, (uint8_t)(f >> 7));
    send_text(w, i, &from, (size_t)n, &dm);
}

static void op_raw_sip(world *w, input *in, int i) {
    size_t n = u8(in);
    if (n > in->n - in->off) n = in->n - in->off;
    memcpy(text, in->p + in->off, n);
    in->off += n;
    floe_addr from = w->carol_sip;
    sip_in(w, i, w->n[i].carol_tp, &from, text, n);
    drain(w);
}

/* ---- media -------------------------------------------------------------------------------- */

/* The UA's ICE credentials from the last description it sent. */
static bool ua_creds(const node *x, char *ufrag, char *pwd, size_t cap) {
    if (!x->have_sdp) return false;
    const char *t = x->last_sdp.text;
    const char *u = strstr(t, "a=ice-ufrag:"), *p = strstr(t, "a=ice-pwd:");
    if (!u || !p) return false;
    u += 12;
    p += 10;
    size_t ul = strcspn(u, "\r\n"), pl = strcspn(p, "\r\n");
    if (ul >= cap || pl >= cap) return false;
    memcpy(ufrag, u, ul);
    ufrag[ul] = '\0';
    memcpy(pwd, p, pl);
    pwd[pl] = '\0';
    return true;
}

static void op_media(world *w, input *in, int i) {
    node *x = &w->n[i];
    uint8_t f = u8(in);
    unsigned sock = u8(in) % (x->n_media + 1); /* one past: a socket the UA does not have */
    floe_addr from = (f & 0x80) ? w->n[1 - i].media[0] : w->carol_media;
    static uint8_t buf[512];
    size_t len = 0;
    switch (f & 3) {
    case 0: { /* RTP */
        static const uint8_t pts[] = {0, 8, 13, 101};
        uint16_t seq = u16(in);
        uint8_t hdr[12] = {0x80, pts[(f >> 3) & 3],   (uint8_t)(seq >> 8), (uint8_t)seq, 0,
                           0,    (uint8_t)(seq >> 8), (uint8_t)(seq << 5), 0x11,         0x22,
                           0x33, (uint8_t)(f & 0x20)};
        memcpy(buf, hdr, sizeof hdr);
        len = 12 + ((f & 0x40) ? 80 : 160);
        memset(buf + 12, 0xd5, len - 12);
        break;
    }
    case 1: { /* RTCP: a receiver report or a BYE */
        static const uint8_t rr[] = {0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};
        static const uint8_t bye[] = {0x81, 203, 0, 1, 0x11, 0x22, 0x33, 0x00};
        memcpy(buf, (f & 8) ? bye : rr, 8);
        len = 8;
        break;
    }
    case 2: { /* STUN Binding request with the UA's own credentials */
        char ufrag[128], pwd[128], user[300];
        uint8_t key[256], tid[FLOE_STUN_TID_LEN];
        for (size_t j = 0; j < sizeof tid; j++)
            tid[j] = u8(in);
        uint64_t tie = (uint64_t)u16(in) << 40;
        if (!ua_creds(x, ufrag, pwd, sizeof ufrag)) return;
        size_t klen;
        if (floe_stun_key_short_term(pwd, key, sizeof key, &klen) != FLOE_OK) return;
        snprintf(user, sizeof user, "%s:%s", ufrag, (f & 8) ? "wrong" : CAROL_UFRAG);
        floe_stun_builder b;
        floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
        floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, user);
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 0x6e0001ff);
        if (f & 0x10)
            floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, 0x0102030405060708ull);
        else
            floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, tie);
        if (f & 0x20) floe_stun_add(&b, FLOE_STUN_ATTR_USE_CANDIDATE, NULL, 0);
        floe_stun_add_integrity(&b, key, klen);
        if (!(f & 0x40)) floe_stun_add_fingerprint(&b);
        if (floe_stun_builder_finish(&b, &len) != FLOE_OK) return;
        break;
    }
    default: { /* raw */
        len = u8(in);
        if (len > in->n - in->off) len = in->n - in->off;
        memcpy(buf, in->p + in->off, len);
        in->off += len;
        break;
    }
    }
    floe_sip_ua_on_media(x->ua, w->now, sock, &from, buf, len);
    drain(w);
}

/* ---- the API and the network ops ---------------------------------------------------------- */

static void op_api(world *w, input *in, int i) {
    node *x = &w->n[i];
    uint8_t f = u8(in);
    static const char *const peers[2] = {"sip:bob@10.0.0.2:5060", "sip:alice@10.0.0.1"};
    floe_sip_call_state s;
    switch (f % 12) {
    case 0:
    case 1:
    case 2:
    case 3: {
        const char *uri = f % 10 < 2    ? peers[i]
                          : f % 10 == 2 ? "sip:carol@10.0.0.9:5060"
                          : (f & 0x10)  ? "sip:carol@example.net"
                                        : "bogus";
        /* a call placed is gathering (its INVITE comes once the candidates are known) */
        if (floe_sip_ua_dial(x->ua, w->now, uri) == FLOE_OK &&
            floe_sip_ua_state(x->ua) != FLOE_SIP_CALL_GATHERING)
            abort();
        break;
    }
    case 4:
    case 5:
        if (floe_sip_ua_answer(x->ua, w->now) == FLOE_OK &&
            floe_sip_ua_state(x->ua) != FLOE_SIP_CALL_ANSWERED)
            abort();
        break;
    case 6:
        /* a hang-up ends the call, or starts its end */
        if (floe_sip_ua_hangup(x->ua, w->now) == FLOE_OK) {
            s = floe_sip_ua_state(x->ua);
            if (!floe_sip_call_over(s) && s != FLOE_SIP_CALL_CANCELLING &&
                s != FLOE_SIP_CALL_HANGING_UP)
                abort();
        }
        break;
    case 7: floe_sip_ua_register(x->ua, w->now); break;
    case 8: floe_sip_ua_unregister(x->ua, w->now); break;
    case 10: {
        /* an ICE restart is the caller's, in a confirmed ICE call */
        floe_sip_ua_result r;
        floe_sip_ua_result_get(x->ua, &r);
        bool may = r.caller && r.ice && floe_sip_ua_state(x->ua) == FLOE_SIP_CALL_CONFIRMED;
        if (floe_sip_ua_ice_restart(x->ua, w->now) == FLOE_OK && !may) abort();
        break;
    }
    case 11: { /* the runtime could not reach a peer */
        const floe_addr *peer = (f & 0x10) ? &w->carol_sip : &w->n[1 - i].sip;
        floe_sip_ua_transport_error(x->ua, w->now,
                                    (f & 0x20) ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP, peer);
        break;
    }
    default: {
        floe_addr a;
        floe_addr_set_v4(&a, 0x0a000001u + (uint32_t)i, (uint16_t)(41000 + (f >> 4)));
        unsigned sock;
        if (floe_sip_ua_add_media_host(x->ua, &a, NULL, &sock) == FLOE_OK) {
            if (sock != x->n_media || sock >= FLOE_SIP_UA_MAX_MEDIA_HOSTS) abort();
            x->media[x->n_media++] = a;
        }
        break;
    }
    }
    (void)floe_sip_ua_registered(x->ua, w->now);
    drain(w);
}

static void op_net(world *w, input *in) {
    uint8_t f = u8(in), which = u8(in);
    damage dm;
    if (f % 6 == 4) damage_read(in, &dm);
    switch (f % 6) {
    case 0:
    case 1: { /* deliver the next few, due or not */
        unsigned k = 1 + (f >> 3) % 4;
        for (unsigned j = 0; j < k && w->n_flight; j++) {
            if (w->flight[0].at > w->now) run_until(w, w->flight[0].at);
            if (!w->n_flight) break;
            pop_flight(w, 0, &scratch_pkt);
            deliver(w, &scratch_pkt);
        }
        break;
    }
    case 2: /* drop one */
        if (w->n_flight) pop_flight(w, which % w->n_flight, &scratch_pkt);
        break;
    case 3: /* duplicate one (delivered now, the original stays in flight) */
        if (w->n_flight) {
            scratch_pkt = w->flight[which % w->n_flight];
            deliver(w, &scratch_pkt);
        }
        break;
    case 4: /* corrupt one and deliver it now */
        if (w->n_flight) {
            pop_flight(w, which % w->n_flight, &scratch_pkt);
            scratch_pkt.len = damage_apply(&dm, scratch_pkt.data, scratch_pkt.len);
            deliver(w, &scratch_pkt);
        }
        break;
    default: w->block_media = (f & 0x80) != 0; break;
    }
}

/* Audio to send (a ramp, every other frame) and audio received (only looked at). */
static bool fill(void *ctx, int16_t *samples, size_t n) {
    node *x = ctx;
    x->frames++;
    for (size_t k = 0; k < n; k++)
        samples[k] = (int16_t)(k * 64);
    return x->frames % 2 == 0;
}

static void heard(void *ctx, uint32_t gap, const int16_t *samples, size_t n) {
    (void)ctx;
    if (n > FLOE_MEDIA_MAX_FRAME * 8 || (n && !samples) || gap > 8000u * 3600) abort();
}

static void setup(world *w, uint8_t cfg, uint8_t cfg2) {
    memset(w, 0, sizeof *w);
    w->auto_ack = (cfg2 & 1) != 0;
    w->auto_answer = (cfg2 & 2) != 0;
    w->stun_answers = (cfg2 & 8) != 0;
    floe_addr_set_v4(&w->stun_server, 0x0a000009u, 3478);
    w->delay = FLOE_MS(1 + (cfg & 3) * 15);
    floe_addr_set_v4(&w->carol_sip, 0x0a000009u, 5060);
    floe_addr_set_v4(&w->carol_media, 0x0a000009u, 30000);
    w->carol_rseq = 1;
    w->rtp_budget = 64;
    for (int i = 0; i < 2; i++) {
        node *x = &w->n[i];
        x->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        floe_addr_set_v4(&x->sip, 0x0a000001u + (uint32_t)i, 5060);
        floe_addr_set_v4(&x->media[0], 0x0a000001u + (uint32_t)i, 40000);
        x->n_media = 1;
        if (i == 0 && (cfg & 4)) {     /* the best host (the default offered) is unreachable: */
            x->media[1] = x->media[0]; /* ICE picks the other, a re-INVITE tells */
            floe_addr_set_v4(&x->media[0], 0x0a090901u, 40000);
            x->dead0 = true;
            x->n_media = 2;
        }
        floe_sip_ua_config c;
        floe_sip_ua_config_default(&c);
        c.user = ua_names[i];
        c.domain = "example.net";
        c.display = i == 0 ? "Alice" : NULL;
        c.local[FLOE_TRANSPORT_UDP] = x->sip;
        c.local[FLOE_TRANSPORT_TCP] = x->sip;
        if (i == 0 && (cfg2 & 0x80)) c.transport = FLOE_TRANSPORT_TCP; /* alice calls over TCP */
        c.rnd = fuzz_rand;
        c.rnd_ctx = &x->rng;
        c.ice = !(cfg & (i == 0 ? 0x08 : 0x10));
        if (i == 1) { /* bob: registers with carol, calls through her */
            c.outbound_proxy = w->carol_sip;
            c.auth_password = "secret";
            c.register_expires = 60;
        } else if (cfg & 0x20) {
            c.auth_password = "alicepw";
        }
        c.answer_after = (cfg & (i == 0 ? 0x40 : 0x80)) ? FLOE_MS(200) : FLOE_TIME_NEVER;
        if (cfg2 & 4) { /* a STUN server: gathering takes a while (srflx, or a timeout) */
            c.stun_servers[0] = w->stun_server;
            c.n_stun_servers = 1;
        }
        if (i == 0 && (cfg2 & 0x10)) c.tone_hz = 440;
        if (i == 1 && (cfg2 & 0x20)) {
            c.pull = fill;
            c.pull_ctx = x;
        }
        if (cfg2 & 0x40) c.push = heard;
        c.payload_type = (cfg & 0x20) && i == 1 ? 8 : -1;
        if (floe_sip_ua_new(&x->ua, &c) != FLOE_OK) abort();
        for (unsigned k = 0; k < x->n_media; k++) {
            unsigned sock = 99;
            if (floe_sip_ua_add_media_host(x->ua, &x->media[k], "eth0", &sock) != FLOE_OK ||
                sock != k)
                abort();
        }
        x->state = FLOE_SIP_CALL_IDLE;
        x->dl = floe_sip_ua_deadline(x->ua);
    }
}

/* Virtual time for the operations of one input: enough for every SIP timer (32 s) and a
 * registration refresh, while a call with audio costs real time for every 20 ms. */
#define TIME_BUDGET FLOE_S(120)

static void advance(world *w, floe_time_ns d) {
    if (w->now >= TIME_BUDGET) return;
    if (d > TIME_BUDGET - w->now) d = TIME_BUDGET - w->now;
    run_until(w, w->now + d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!st_init) {
        st_init = true;
        st_on = getenv("FLOE_FUZZ_UA_STATS") != NULL;
        trace_on = getenv("FLOE_FUZZ_UA_TRACE") != NULL;
        if (st_on) atexit(st_print);
    }
    input in = {data, size, 0};
    world *w = &W;
    uint8_t cfg = u8(&in);
    setup(w, cfg, u8(&in));
    for (int step = 0; step < MAX_STEPS && in.off < in.n; step++) {
        uint8_t op = u8(&in);
        int i = op >> 7;
        switch (op % 16) {
        case 0:
        case 1:
        case 2: op_net(w, &in); break;
        case 3: advance(w, FLOE_MS(10) * (1 + u8(&in) % 64)); break;
        case 4: advance(w, FLOE_S(1) * (1 + u8(&in) % 16)); break;
        case 5:
        case 6: op_api(w, &in, i); break;
        case 7:
        case 8: op_response(w, &in, i); break;
        case 9: op_invite(w, &in, i); break;
        case 10: op_cancel(w, &in, i); break;
        case 11: {
            static const char *const methods[] = {"PRACK", "ACK",     "BYE",    "INVITE",
                                                  "PRACK", "OPTIONS", "UPDATE", "INFO"};
            op_in_dialog(w, &in, i, methods[(op >> 4) & 7]);
            break;
        }
        case 12: op_raw_sip(w, &in, i); break;
        case 13: op_media(w, &in, i); break;
        default: advance(w, FLOE_MS(20) * (1 + u8(&in) % 16)); break;
        }
    }
    /* The end: both hang up and unregister; within ten minutes everything must be over. */
    for (int i = 0; i < 2; i++) {
        floe_sip_ua_hangup(w->n[i].ua, w->now);
        floe_sip_ua_unregister(w->n[i].ua, w->now);
    }
    drain(w);
    uint64_t work0 = st_deliver + st_tick;
    run_until(w, w->now + FLOE_S(300));
    for (int i = 0; i < 2; i++) /* a call that was still on its way */
        floe_sip_ua_hangup(w->n[i].ua, w->now);
    drain(w);
    run_until(w, w->now + FLOE_S(300));
    st_final += st_deliver + st_tick - work0;
    for (int i = 0; i < 2; i++) {
        floe_sip_ua *ua = w->n[i].ua;
        floe_sip_call_state s = floe_sip_ua_state(ua);
        if (s != FLOE_SIP_CALL_IDLE && !floe_sip_call_over(s)) abort();
        if (floe_sip_txl_count(floe_sip_ua_txl(ua)) != 0) abort();
        if (floe_sip_ua_deadline(ua) != FLOE_TIME_NEVER) abort();
        floe_sip_ua_result r;
        floe_sip_ua_result_get(ua, &r);
        if (floe_sip_call_over(s) && !r.end_reason[0]) abort(); /* an end has a reason */
    }
    if (st_on) st_run(w);
    for (int i = 0; i < 2; i++)
        floe_sip_ua_free(w->n[i].ua);
    return 0;
}
