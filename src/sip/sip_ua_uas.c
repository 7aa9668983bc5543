/* The SIP user agent as the callee (UAS), and every request that reaches the UA: the
 * INVITE (gather, reliable 183 with the answer, 180 only after ICE, 200; or the late
 * answer for a caller without 100rel), PRACK, ACK, CANCEL, BYE, re-INVITE and UPDATE
 * (with ICE restart), OPTIONS; 486 while busy. */
#include <string.h>

#include "floe/err.h"
#include "sip_ua_priv.h"

static void respond(floe_sip_ua *ua, floe_time_ns now, uint32_t id, const floe_sip_msg *req,
                    unsigned status, const char *tag) {
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    if (floe_sip_msg_response_to(&ua->msg2, req, status, NULL, tag, &ua->ar) == FLOE_OK)
        floe_sip_txl_respond(ua->txl, now, id, &ua->msg2);
}

/* A response to our INVITE server transaction, built from the INVITE the layer keeps. */
static floe_sip_msg *invite_response(floe_sip_ua *ua, unsigned status) {
    if (floe_sip_txl_request_of(ua->txl, ua->invite_id, &ua->msg) != FLOE_OK) return NULL;
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    if (floe_sip_msg_response_to(&ua->msg2, &ua->msg, status, NULL, ua->local_tag, &ua->ar) !=
        FLOE_OK)
        return NULL;
    return &ua->msg2;
}

/* A final error answer to the INVITE. */
static void final_error(floe_sip_ua *ua, floe_time_ns now, unsigned status) {
    floe_sip_msg *r = invite_response(ua, status);
    if (r) floe_sip_txl_respond(ua->txl, now, ua->invite_id, r);
    ua->have_dialog = false; /* no dialog, no reliable 1xx to retransmit */
}

/* The 180: reliable (RSeq, PRACKed) when the INVITE requires 100rel (RFC 3262 §3: every
 * provisional response but 100 must be then). */
static void ring(floe_sip_ua *ua, floe_time_ns now) {
    uint32_t rseq = 0;
    bool reliable =
        ua->require_100rel && floe_sip_dialog_rel_1xx(&ua->dlg, now, FLOE_SIP_T1, ua->cfg.rnd,
                                                      ua->cfg.rnd_ctx, &rseq) == FLOE_OK;
    floe_sip_msg *r = invite_response(ua, 180);
    if (!r) return;
    floe_sip_msg_add(r, FLOE_SIP_H_CONTACT, ua->contact);
    if (reliable) {
        floe_sip_str rs;
        floe_sip_arena_u64(&ua->ar, rseq, &rs);
        floe_sip_msg_add(r, FLOE_SIP_H_REQUIRE, "100rel");
        floe_sip_msg_add_str(r, floe_sip_str_c("RSeq"), rs);
    }
    floe_sip_txl_respond(ua->txl, now, ua->invite_id, r);
    ua->t_180 = now;
    if (ua->cfg.answer_after != FLOE_TIME_NEVER) ua->answer_at = now + ua->cfg.answer_after;
}

/* The callee's states before its 200: an INVITE transaction still waits for its answer. */
bool ua_uas_before_answer(floe_sip_call_state s) {
    switch (s) {
    case FLOE_SIP_CALL_OFFERED:
    case FLOE_SIP_CALL_OFFERED_PLAIN:
    case FLOE_SIP_CALL_OFFERED_LATE:
    case FLOE_SIP_CALL_PROBING:
    case FLOE_SIP_CALL_EARLY:
    case FLOE_SIP_CALL_CHECKING:
    case FLOE_SIP_CALL_NOMINATED:
    case FLOE_SIP_CALL_RINGING: return true;
    default: return false;
    }
}

/* The caller's states once the 200 came (or the call is over). */
bool ua_uac_answered(floe_sip_call_state s) {
    return s == FLOE_SIP_CALL_CONFIRMED || s == FLOE_SIP_CALL_UPDATING ||
           s == FLOE_SIP_CALL_HANGING_UP || floe_sip_call_over(s);
}

void ua_uas_reject(floe_sip_ua *ua, floe_time_ns now, unsigned status) {
    char code[8] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), 0};
    ua_end(ua, now, status, code);
    final_error(ua, now, status);
    ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
}

static void new_call(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    const floe_sip_msg *inv = &ev->msg;
    ua_reset_call(ua, FLOE_SIP_CALL_UAS);
    ua->invite_id = ev->id;
    ua->t_invite = now;
    floe_sip_cseq cs;
    floe_sip_msg_cseq(inv, &cs);
    ua->invite_cseq = cs.seq;
    ua->sig_peer = ev->peer;
    ua->tp = ev->transport;
    ua->require_100rel = floe_sip_msg_has_token(inv, FLOE_SIP_H_REQUIRE, "100rel");
    if (ua_contact_init(ua, ua->tp) != FLOE_OK ||
        floe_sip_random_token(ua->cfg.rnd, ua->cfg.rnd_ctx, "", 8, ua->local_tag,
                              sizeof ua->local_tag) != FLOE_OK) {
        respond(ua, now, ev->id, inv, 500, NULL);
        ua->active = false;
        return;
    }
    floe_sip_sdp_media md;
    bool sdp_ok = floe_sip_msg_is_sdp(inv) && ua_read_sdp(ua, inv->body, &md) == FLOE_OK &&
                  md.payload_type >= 0;
    bool ice = sdp_ok && ua->cfg.ice && md.ice && !md.ice_mismatch;
    /* Without 100rel the answer can only go in the 200: our own checks prove the path
     * before the ring (floe/sip_call.h, "Late answer"). */
    bool late = ice && !floe_sip_msg_has_token(inv, FLOE_SIP_H_SUPPORTED, "100rel") &&
                !floe_sip_msg_has_token(inv, FLOE_SIP_H_REQUIRE, "100rel");
    ua_step(ua, now,
            !ice   ? FLOE_SIP_CALL_EV_INVITE_NO_ICE
            : late ? FLOE_SIP_CALL_EV_INVITE_LATE
                   : FLOE_SIP_CALL_EV_INVITE);
    if (!sdp_ok) { /* no offer we can use (floe does not do offerless INVITEs) */
        ua_uas_reject(ua, now, 488);
        return;
    }
    ua->pt = md.payload_type;
    ua->peer_rtp = md.rtp;
    ua->no_rtcp_mux = !md.rtcp_mux;
    ua->ice_call = ice;
    ua->answered_sdp = true;
    if (ua_agent_new(ua, now, false) != FLOE_OK) {
        ua_uas_reject(ua, now, 500);
        return;
    }
    if (ice && ua_apply_ice(ua, inv->body) != FLOE_OK) {
        ua_uas_reject(ua, now, 488);
        return;
    }
    ua_media_init(ua);
}

/* Gathering is done: the reliable 183 with the answer (ICE), or the ring (no ICE). */
void ua_uas_gathered(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->state != FLOE_SIP_CALL_OFFERED && ua->state != FLOE_SIP_CALL_OFFERED_PLAIN &&
        ua->state != FLOE_SIP_CALL_OFFERED_LATE)
        return;
    if (ua_write_sdp(ua, false) != FLOE_OK ||
        floe_sip_txl_request_of(ua->txl, ua->invite_id, &ua->msg) != FLOE_OK ||
        floe_sip_dialog_uas_new(&ua->dlg, &ua->msg, ua->local_tag, true, ua->tp) != FLOE_OK) {
        ua_uas_reject(ua, now, 500);
        return;
    }
    ua->have_dialog = true;
    if (ua->state == FLOE_SIP_CALL_OFFERED_PLAIN) {
        ua_step(ua, now, FLOE_SIP_CALL_EV_GATHERED);
        if (ua->state == FLOE_SIP_CALL_RINGING) ring(ua, now);
        return;
    }
    if (ua->state == FLOE_SIP_CALL_OFFERED_LATE) { /* probe the offered candidates */
        ua_step(ua, now, FLOE_SIP_CALL_EV_GATHERED);
        ua->preview_gap = FLOE_SIP_T1 * 2;
        ua_uas_preview(ua, now);
        if (ua_start_checks(ua, now) != FLOE_OK) ua_uas_ice_failed(ua, now);
        return;
    }
    uint32_t rseq;
    if (floe_sip_dialog_rel_1xx(&ua->dlg, now, FLOE_SIP_T1, ua->cfg.rnd, ua->cfg.rnd_ctx, &rseq) !=
        FLOE_OK) {
        ua_uas_reject(ua, now, 500);
        return;
    }
    floe_sip_msg *r = invite_response(ua, 183);
    if (!r) return;
    floe_sip_str rs;
    floe_sip_arena_u64(&ua->ar, rseq, &rs);
    floe_sip_msg_add(r, FLOE_SIP_H_REQUIRE, "100rel");
    floe_sip_msg_add_str(r, floe_sip_str_c("RSeq"), rs);
    ua_add_common(ua, r, true);
    floe_sip_txl_respond(ua->txl, now, ua->invite_id, r);
    ua->t_183 = now;
    ua_step(ua, now, FLOE_SIP_CALL_EV_GATHERED);
    if (ua_start_checks(ua, now) != FLOE_OK) ua_uas_ice_failed(ua, now);
}

void ua_uas_ice_done(floe_sip_ua *ua, floe_time_ns now) {
    ua_step(ua, now, FLOE_SIP_CALL_EV_ICE_DONE);
    if (ua->state == FLOE_SIP_CALL_RINGING && ua->t_180 == FLOE_TIME_NEVER) ring(ua, now);
    if (ua->state == FLOE_SIP_CALL_ANSWERED || ua->state == FLOE_SIP_CALL_CONFIRMED)
        ua_media_start(ua, now);
}

/* Late answer: the answer also goes in an unreliable 183 (the same description as the
 * 200's, RFC 6337 §3.1), sent again at 1, 2, 4, 4... s while the checks run. A caller
 * that takes it starts its checks from behind its own NAT, so both sides open their
 * pinholes, and it may even nominate before the ring; one that ignores it still answers
 * our checks where its NAT lets them in. */
void ua_uas_preview(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->state != FLOE_SIP_CALL_PROBING) {
        ua->preview_at = FLOE_TIME_NEVER;
        return;
    }
    floe_sip_msg *r = invite_response(ua, 183);
    if (r) {
        ua_add_common(ua, r, true);
        floe_sip_txl_respond(ua->txl, now, ua->invite_id, r);
        if (ua->t_183 == FLOE_TIME_NEVER) ua->t_183 = now;
    }
    ua->preview_at = now + ua->preview_gap;
    if (ua->preview_gap < FLOE_S(4)) ua->preview_gap *= 2;
}

/* A check of ours succeeded: on a late answer, the path is proven and the phone rings. */
void ua_uas_path_found(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->state != FLOE_SIP_CALL_PROBING) return;
    ua_event_simple(ua, now, FLOE_SIP_UA_EV_ICE_PATH_FOUND, NULL);
    ua_step(ua, now, FLOE_SIP_CALL_EV_PATH_FOUND);
    if (ua->state == FLOE_SIP_CALL_RINGING && ua->t_180 == FLOE_TIME_NEVER) ring(ua, now);
}

void ua_uas_ice_failed(floe_sip_ua *ua, floe_time_ns now) {
    if (ua_uas_before_answer(ua->state) && ua->state != FLOE_SIP_CALL_OFFERED_PLAIN) {
        ua->end_reason[0] = '\0';
        ua_end(ua, now, 480, "ice-failed");
        final_error(ua, now, 480); /* never a ring without a path */
        ua_step(ua, now, FLOE_SIP_CALL_EV_ICE_FAILED);
        return;
    }
    switch (ua->state) {
    case FLOE_SIP_CALL_ANSWERED:
    case FLOE_SIP_CALL_CONFIRMED:
        ua_step(ua, now, FLOE_SIP_CALL_EV_ICE_FAILED);
        if (ua->state == FLOE_SIP_CALL_HANGING_UP) ua_send_bye(ua, now);
        break;
    default: break;
    }
}

int ua_uas_answer(floe_sip_ua *ua, floe_time_ns now) {
    floe_sip_msg *r = invite_response(ua, 200);
    if (!r) return FLOE_ERR_STATE;
    ua_add_common(ua, r, true);
    int rc = floe_sip_txl_respond(ua->txl, now, ua->invite_id, r);
    if (rc != FLOE_OK) return rc;
    floe_sip_dialog_2xx_sent(&ua->dlg, now, FLOE_SIP_T1, FLOE_SIP_T2, ua->invite_cseq);
    ua->uas_2xx_txn = ua->invite_id;
    ua->t_200 = now;
    ua->answer_at = FLOE_TIME_NEVER;
    ua_step(ua, now, FLOE_SIP_CALL_EV_ANSWER);
    ua_media_start(ua, now);
    return FLOE_OK;
}

void ua_uas_dialog_tick(floe_sip_ua *ua, floe_time_ns now) {
    floe_sip_dialog_action a;
    while (ua->have_dialog && (a = floe_sip_dialog_tick(&ua->dlg, now)) != FLOE_SIP_DIALOG_NONE) {
        switch (a) {
        case FLOE_SIP_DIALOG_RESEND_1XX: floe_sip_txl_resend(ua->txl, now, ua->invite_id); break;
        case FLOE_SIP_DIALOG_RESEND_2XX: floe_sip_txl_resend(ua->txl, now, ua->uas_2xx_txn); break;
        case FLOE_SIP_DIALOG_GIVE_UP_1XX: /* no PRACK (RFC 3262 §3) */
            ua_end(ua, now, 504, "no-prack");
            final_error(ua, now, 504);
            ua_step(ua, now, FLOE_SIP_CALL_EV_TIMEOUT);
            break;
        case FLOE_SIP_DIALOG_GIVE_UP_2XX: /* no ACK: end the session */
            ua_end(ua, now, 408, "no-ack");
            ua_step(ua, now, FLOE_SIP_CALL_EV_TIMEOUT);
            if (ua->state == FLOE_SIP_CALL_HANGING_UP) ua_send_bye(ua, now);
            break;
        default: break;
        }
    }
}

static bool in_dialog(floe_sip_ua *ua, const floe_sip_msg *m) {
    return ua->active && ua->have_dialog && floe_sip_dialog_matches(&ua->dlg, m);
}

/* A new offer in a confirmed call (re-INVITE or UPDATE): new ICE credentials restart ICE
 * (RFC 8839 §4.4.1.1.1); a peer without ICE may move its media. The same description
 * otherwise gets the same answer. *restart tells whether the checks must start again once
 * the answer is out. FLOE_OK, or the status to answer with. */
static unsigned take_offer(floe_sip_ua *ua, floe_time_ns now, const floe_sip_msg *m,
                           bool *restart) {
    floe_sip_sdp_media md;
    *restart = false;
    if (!floe_sip_msg_is_sdp(m) || ua_read_sdp(ua, m->body, &md) != FLOE_OK) return 0;
    if (ua->ice_call && md.ice)
        *restart = strcmp(ua->work->ice.ufrag, ua->rem_ufrag) != 0 ||
                   strcmp(ua->work->ice.pwd, ua->rem_pwd) != 0;
    else if (!ua->ice_call && md.rtp.family != FLOE_AF_NONE)
        ua->peer_rtp = md.rtp;
    if (*restart && (ua_restart_agent(ua, now) != FLOE_OK || ua_apply_ice(ua, m->body) != FLOE_OK ||
                     ua_write_sdp(ua, false) != FLOE_OK))
        return 488;
    return 0;
}

/* The 200 to a re-INVITE or UPDATE, with our description when the request had an offer
 * (an UPDATE without one gets none, RFC 3311 §5.2). FLOE_OK when it went out. */
static int answer_offer(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev,
                        bool with_sdp) {
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    int rc = floe_sip_msg_response_to(&ua->msg2, &ev->msg, 200, NULL, NULL, &ua->ar);
    if (rc != FLOE_OK) return rc;
    ua_add_common(ua, &ua->msg2, with_sdp);
    return floe_sip_txl_respond(ua->txl, now, ev->id, &ua->msg2);
}

static void reinvite(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    const floe_sip_msg *m = &ev->msg;
    if (floe_sip_dialog_on_request(&ua->dlg, m) != FLOE_OK) {
        respond(ua, now, ev->id, m, 500, NULL);
        return;
    }
    if (ua->state != FLOE_SIP_CALL_CONFIRMED || ua->dlg.ack_pending) {
        respond(ua, now, ev->id, m, 491, NULL); /* RFC 3261 §14.2: one at a time */
        return;
    }
    bool restart;
    unsigned st = take_offer(ua, now, m, &restart);
    if (st) {
        respond(ua, now, ev->id, m, st, NULL);
        return;
    }
    if (answer_offer(ua, now, ev, true) != FLOE_OK) return;
    floe_sip_cseq cs;
    floe_sip_msg_cseq(m, &cs);
    floe_sip_dialog_2xx_sent(&ua->dlg, now, FLOE_SIP_T1, FLOE_SIP_T2, cs.seq);
    ua->uas_2xx_txn = ev->id;
    if (restart && ua_start_checks(ua, now) != FLOE_OK) ua_uas_ice_failed(ua, now);
}

/* UPDATE (RFC 3311) in a dialog: without a body it only refreshes the dialog (its
 * Contact, the session timer of a peer); with an offer in a confirmed call it is a
 * re-INVITE without the three-way handshake. An offer before the call is confirmed is
 * refused with 488 (floe changes no session before the answer). */
static void update(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    const floe_sip_msg *m = &ev->msg;
    if (!in_dialog(ua, m) || floe_sip_call_over(ua->state)) {
        respond(ua, now, ev->id, m, 481, NULL);
        return;
    }
    if (floe_sip_dialog_on_request(&ua->dlg, m) != FLOE_OK) {
        respond(ua, now, ev->id, m, 500, NULL);
        return;
    }
    bool offer = m->body.len > 0 && floe_sip_msg_is_sdp(m);
    if (offer && ua->state != FLOE_SIP_CALL_CONFIRMED) {
        respond(ua, now, ev->id, m, ua->state == FLOE_SIP_CALL_UPDATING ? 491 : 488, NULL);
        return;
    }
    bool restart = false;
    unsigned st = offer ? take_offer(ua, now, m, &restart) : 0;
    if (st) {
        respond(ua, now, ev->id, m, st, NULL);
        return;
    }
    if (answer_offer(ua, now, ev, offer) == FLOE_OK && restart &&
        ua_start_checks(ua, now) != FLOE_OK)
        ua_uas_ice_failed(ua, now);
}

void ua_uas_request(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    const floe_sip_msg *m = &ev->msg;
    switch (ev->method) {
    case FLOE_SIP_ACK:
        if (in_dialog(ua, m) && floe_sip_dialog_on_ack(&ua->dlg, m) == FLOE_OK)
            ua_step(ua, now, FLOE_SIP_CALL_EV_ACK);
        return;
    case FLOE_SIP_CANCEL:
        if (!ua->active || ua->role != FLOE_SIP_CALL_UAS || ev->target == 0 ||
            ev->target != ua->invite_id || floe_sip_call_over(ua->state)) {
            respond(ua, now, ev->id, m, 481, NULL);
            return;
        }
        respond(ua, now, ev->id, m, 200, NULL);
        if (ua_uas_before_answer(ua->state)) { /* answered already: no effect */
            ua_end(ua, now, 487, "cancelled");
            final_error(ua, now, 487);
            ua_step(ua, now, FLOE_SIP_CALL_EV_CANCEL);
        }
        return;
    case FLOE_SIP_BYE:
        if (!in_dialog(ua, m) || floe_sip_call_over(ua->state)) {
            respond(ua, now, ev->id, m, 481, NULL);
            return;
        }
        floe_sip_dialog_on_request(&ua->dlg, m);
        respond(ua, now, ev->id, m, 200, NULL);
        ua_end(ua, now, 0, "bye");
        ua_media_stop(ua, true);
        if (ua->role == FLOE_SIP_CALL_UAS && ua_uas_before_answer(ua->state)) {
            /* the caller ended an early dialog (RFC 3261 §15.1.2): 487 to the INVITE */
            final_error(ua, now, 487);
            ua_step(ua, now, FLOE_SIP_CALL_EV_CANCEL);
            return;
        }
        if (ua->role == FLOE_SIP_CALL_UAC && !ua_uac_answered(ua->state)) {
            /* a callee may not end an early dialog, but one that did is gone: cancel */
            ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
            if (ua->state == FLOE_SIP_CALL_CANCELLING) ua_uac_cancel(ua, now);
            return;
        }
        ua_step(ua, now, FLOE_SIP_CALL_EV_BYE);
        return;
    case FLOE_SIP_PRACK:
        if (!in_dialog(ua, m) || floe_sip_dialog_on_prack(&ua->dlg, m) != FLOE_OK) {
            respond(ua, now, ev->id, m, 481, NULL);
            return;
        }
        respond(ua, now, ev->id, m, 200, NULL);
        ua->prack_done = true;
        ua_step(ua, now, FLOE_SIP_CALL_EV_PRACK);
        if (ua->state == FLOE_SIP_CALL_RINGING && ua->t_180 == FLOE_TIME_NEVER) ring(ua, now);
        return;
    case FLOE_SIP_INVITE: {
        floe_sip_addr to;
        if (floe_sip_msg_to(m, &to) == FLOE_OK && to.tag.p) {
            if (in_dialog(ua, m))
                reinvite(ua, now, ev);
            else
                respond(ua, now, ev->id, m, 481, NULL);
            return;
        }
        if (ua->active && !floe_sip_call_over(ua->state)) {
            respond(ua, now, ev->id, m, 486, NULL); /* one call at a time */
            return;
        }
        new_call(ua, now, ev);
        return;
    }
    case FLOE_SIP_UPDATE: update(ua, now, ev); return;
    case FLOE_SIP_OPTIONS: respond(ua, now, ev->id, m, 200, NULL); return;
    default: respond(ua, now, ev->id, m, 501, NULL); return;
    }
}
