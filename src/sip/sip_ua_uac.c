/* The SIP user agent as the caller (UAC): dial, INVITE with the offer, the reliable 18x
 * with the answer and its PRACK, 180, 200 and ACK, the re-INVITE with the selected pair,
 * CANCEL; and the answers to every request we send in the call. */
#include <string.h>

#include "floe/err.h"
#include "sip_ua_priv.h"

int floe_sip_ua_dial(floe_sip_ua *ua, floe_time_ns now, const char *uri) {
    if (!ua || !uri) return FLOE_ERR_INVAL;
    if (ua->active && !floe_sip_call_over(ua->state)) return FLOE_ERR_STATE;
    if (ua->n_hosts == 0) return FLOE_ERR_NOT_FOUND;
    size_t n = strlen(uri);
    if (n >= UA_URI_MAX) return FLOE_ERR_INVAL;
    floe_addr target;
    if (ua->cfg.outbound_proxy.family != FLOE_AF_NONE) {
        floe_sip_uri u;
        if (floe_sip_uri_parse(uri, n, &u) != FLOE_OK) return FLOE_ERR_INVAL;
        target = ua->cfg.outbound_proxy;
    } else if (ua_uri_addr(floe_sip_str_c(uri), &target) != FLOE_OK) {
        return FLOE_ERR_INVAL;
    }
    ua_reset_call(ua, FLOE_SIP_CALL_UAC);
    memcpy(ua->peer_uri, uri, n + 1);
    ua->sig_peer = target;
    ua->pt = ua->cfg.payload_type;
    int rc = ua_contact_init(ua, ua->tp);
    if (rc == FLOE_OK)
        rc = floe_sip_random_token(ua->cfg.rnd, ua->cfg.rnd_ctx, "", 8, ua->local_tag,
                                   sizeof ua->local_tag);
    char id[40];
    if (rc == FLOE_OK)
        rc = floe_sip_random_token(ua->cfg.rnd, ua->cfg.rnd_ctx, "", 12, id, sizeof id);
    if (rc == FLOE_OK) {
        size_t a = strlen(id), d = strlen(ua->domain);
        if (a + d + 2 > sizeof ua->call_id) return FLOE_ERR_NOSPACE;
        memcpy(ua->call_id, id, a);
        ua->call_id[a] = '@';
        memcpy(ua->call_id + a + 1, ua->domain, d + 1);
    }
    if (rc == FLOE_OK) rc = ua_agent_new(ua, now, true);
    if (rc != FLOE_OK) {
        ua->active = false;
        return rc;
    }
    ua_step(ua, now, FLOE_SIP_CALL_EV_DIAL);
    return FLOE_OK;
}

/* Builds our INVITE with CSeq number cseq into ua->msg2 (text in ua->ar). */
static void build_invite(floe_sip_ua *ua, uint32_t cseq) {
    floe_sip_msg *m = &ua->msg2;
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    floe_sip_str to, from, cs, num;
    floe_sip_arena_cat(&ua->ar, &to, "<", ua->peer_uri, ">", NULL);
    if (ua->cfg.display)
        floe_sip_arena_cat(&ua->ar, &from, "\"", ua->display, "\" <sip:", ua->user, "@", ua->domain,
                           ">;tag=", ua->local_tag, NULL);
    else
        floe_sip_arena_cat(&ua->ar, &from, "<sip:", ua->user, "@", ua->domain,
                           ">;tag=", ua->local_tag, NULL);
    floe_sip_arena_u64(&ua->ar, cseq, &num);
    char nbuf[16];
    size_t nl = num.len < sizeof nbuf - 1 ? num.len : sizeof nbuf - 1;
    memcpy(nbuf, num.p, nl);
    nbuf[nl] = '\0';
    floe_sip_arena_cat(&ua->ar, &cs, nbuf, " INVITE", NULL);
    floe_sip_msg_request(m, "INVITE", ua->peer_uri);
    floe_sip_msg_add(m, FLOE_SIP_H_MAX_FORWARDS, "70");
    floe_sip_msg_add_str(m, floe_sip_str_c("To"), to);
    floe_sip_msg_add_str(m, floe_sip_str_c("From"), from);
    floe_sip_msg_add(m, FLOE_SIP_H_CALL_ID, ua->call_id);
    floe_sip_msg_add_str(m, floe_sip_str_c("CSeq"), cs);
    floe_sip_msg_add(m, FLOE_SIP_H_SUPPORTED, "100rel");
    ua_add_common(ua, m, true);
    ua->invite_cseq = cseq;
}

/* Gathering is done: the INVITE with our offer goes out. */
void ua_uac_gathered(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->state != FLOE_SIP_CALL_GATHERING) return;
    if (ua_write_sdp(ua, false) != FLOE_OK) {
        ua_end(ua, now, 0, "no-description");
        ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
        return;
    }
    build_invite(ua, 1);
    ua->t_invite = now;
    if (ua_request(ua, now, ua->tp, &ua->msg2, &ua->sig_peer, &ua->invite_id) != FLOE_OK) {
        ua_end(ua, now, 0, "invite-not-sent");
        ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
        return;
    }
    ua_step(ua, now, FLOE_SIP_CALL_EV_GATHERED);
}

/* A 401 or 407 to our INVITE: the same INVITE again (next CSeq, a new transaction) with
 * credentials, once per challenge (RFC 3261 §22.2). */
bool ua_uac_auth_retry(floe_sip_ua *ua, floe_time_ns now, const floe_sip_msg *resp) {
    if (!ua->auth_on || (resp->status != 401 && resp->status != 407)) return false;
    if (ua->got_provisional || ua->cancel_wanted || ua->state != FLOE_SIP_CALL_INVITING)
        return false;
    if (floe_sip_auth_client_challenge(&ua->auth, resp) != FLOE_OK) return false;
    build_invite(ua, ua->invite_cseq + 1);
    uint32_t id;
    if (floe_sip_auth_client_authorize(&ua->auth, &ua->msg2, &ua->ar) != FLOE_OK ||
        ua_request(ua, now, ua->tp, &ua->msg2, &ua->sig_peer, &id) != FLOE_OK)
        return false;
    ua->invite_id = id;
    return true;
}

/* The answer (in a reliable 18x, or in the 200): apply it and start the checks. */
static void take_answer(floe_sip_ua *ua, floe_time_ns now, floe_sip_str body) {
    floe_sip_sdp_media md;
    if (ua_read_sdp(ua, body, &md) != FLOE_OK || md.payload_type < 0) {
        ua_end(ua, now, 488, "bad-answer");
        ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
        if (ua->state == FLOE_SIP_CALL_CANCELLING) ua_uac_cancel(ua, now);
        return;
    }
    ua->answered_sdp = true;
    ua->pt = md.payload_type;
    ua->peer_rtp = md.rtp;
    ua->no_rtcp_mux = !md.rtcp_mux;
    ua_media_init(ua);
    if (ua->cfg.ice && md.ice && !md.ice_mismatch && ua_apply_ice(ua, body) == FLOE_OK) {
        ua->ice_call = true;
        ua_start_checks(ua, now);
        ua_step(ua, now, FLOE_SIP_CALL_EV_EARLY_ANSWER);
    } else {
        ua->ice_call = false;
        ua_step(ua, now, FLOE_SIP_CALL_EV_NO_ICE_ANSWER);
    }
}

static int ack_in(floe_sip_ua *ua, floe_time_ns now, const floe_sip_dialog *d, uint32_t cseq) {
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    int rc = floe_sip_dialog_ack(d, cseq, &ua->msg2, &ua->ar);
    if (rc != FLOE_OK) return rc;
    floe_addr to;
    rc = ua_uri_addr(floe_sip_dialog_next_hop(d), &to);
    if (rc != FLOE_OK) return rc;
    return floe_sip_txl_send(ua->txl, now, &ua->msg2, ua->tp, &to);
}

static int send_ack(floe_sip_ua *ua, floe_time_ns now, uint32_t cseq) {
    return ack_in(ua, now, &ua->dlg, cseq);
}

/* A 2xx we do not want: from another fork of our INVITE after the one we took (RFC 3261
 * §13.2.2.4), or one that came after the call had already failed (a CANCEL refused, a
 * timeout). It is ACKed in its own dialog, and that dialog is ended at once with a BYE. */
static void end_fork(floe_sip_ua *ua, floe_time_ns now, const floe_sip_msg *r) {
    if (floe_sip_txl_request_of(ua->txl, ua->invite_id, &ua->msg) != FLOE_OK ||
        floe_sip_dialog_uac_new(&ua->fork_dlg, &ua->msg, r, ua->tp) != FLOE_OK)
        return;
    floe_sip_dialog_confirm(&ua->fork_dlg);
    if (ack_in(ua, now, &ua->fork_dlg, ua->invite_cseq) != FLOE_OK) return;
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    floe_addr to;
    if (floe_sip_dialog_request(&ua->fork_dlg, "BYE", &ua->msg2, &ua->ar) == FLOE_OK &&
        ua_uri_addr(floe_sip_dialog_next_hop(&ua->fork_dlg), &to) == FLOE_OK)
        ua_request(ua, now, ua->tp, &ua->msg2, &to, NULL);
}

static void dialog_from(floe_sip_ua *ua, const floe_sip_msg *resp) {
    floe_sip_addr to;
    if (floe_sip_msg_to(resp, &to) != FLOE_OK || !to.tag.p) return;
    if (!ua->have_dialog) {
        if (floe_sip_txl_request_of(ua->txl, ua->invite_id, &ua->msg) == FLOE_OK &&
            floe_sip_dialog_uac_new(&ua->dlg, &ua->msg, resp, ua->tp) == FLOE_OK)
            ua->have_dialog = true;
    } else {
        floe_sip_dialog_uac_response(&ua->dlg, resp);
    }
}

/* Our ICE restart got no usable answer: without the callee's new credentials the old
 * pair cannot keep its consent, so the call ends now rather than when consent runs out. */
static void restart_failed(floe_sip_ua *ua, floe_time_ns now) {
    ua->restarting = false;
    ua_end(ua, now, 0, "ice-restart-failed");
    ua_step(ua, now, FLOE_SIP_CALL_EV_REJECTED); /* UPDATING -> CONFIRMED */
    ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
    if (ua->state == FLOE_SIP_CALL_HANGING_UP) ua_send_bye(ua, now);
}

/* Is the path ICE chose other than what we offered? Then tell the middleboxes. */
static void check_update(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->state != FLOE_SIP_CALL_CONFIRMED || !ua->ice_call || !ua->ice_done || !ua->have_pair ||
        ua->reinvite_sent)
        return;
    if (floe_addr_equal(&ua->sel_local.addr, &ua->default_cand.addr) &&
        ua->sel_local.type == ua->default_cand.type)
        return;
    ua_step(ua, now, FLOE_SIP_CALL_EV_UPDATE_NEEDED);
    if (ua->state != FLOE_SIP_CALL_UPDATING) return;
    ua->session_version++;
    ua->reinvite_sent = true;
    if (ua_write_sdp(ua, true) != FLOE_OK ||
        ua_in_dialog(ua, now, "INVITE", true, &ua->reinvite_id, &ua->reinvite_cseq) != FLOE_OK)
        ua_step(ua, now, FLOE_SIP_CALL_EV_REJECTED); /* the session stays as it is */
}

/* The re-INVITE of an ICE restart: a fresh offer (new credentials, all candidates). */
static int send_restart_offer(floe_sip_ua *ua, floe_time_ns now) {
    ua_step(ua, now, FLOE_SIP_CALL_EV_UPDATE_NEEDED); /* a re-INVITE is out: UPDATING */
    ua->restarting = true;
    int rc = ua_write_sdp(ua, false);
    if (rc == FLOE_OK)
        rc = ua_in_dialog(ua, now, "INVITE", true, &ua->reinvite_id, &ua->reinvite_cseq);
    if (rc != FLOE_OK) restart_failed(ua, now);
    return rc;
}

/* RFC 3261 §14.1: a re-INVITE answered 491 goes again after 2.1 to 4 s (we own the
 * Call-ID), in steps of 10 ms; the session stays as it is meanwhile. */
static void schedule_retry(floe_sip_ua *ua, floe_time_ns now) {
    uint16_t r = 0;
    ua->cfg.rnd(ua->cfg.rnd_ctx, &r, sizeof r);
    ua->reinvite_retry_at = now + FLOE_MS(2100) + FLOE_MS(10) * (floe_time_ns)(r % 191);
    ua->retry_restart = ua->restarting;
    ua->restarting = false;
    ua->reinvite_sent = false;
    ua_step(ua, now, FLOE_SIP_CALL_EV_REJECTED); /* UPDATING -> CONFIRMED */
}

void ua_uac_reinvite_retry(floe_sip_ua *ua, floe_time_ns now) {
    ua->reinvite_retry_at = FLOE_TIME_NEVER;
    if (ua->state != FLOE_SIP_CALL_CONFIRMED) return;
    if (!ua->retry_restart) {
        check_update(ua, now);
        return;
    }
    send_restart_offer(ua, now); /* the restarted agent's offer, once more */
}

int floe_sip_ua_ice_restart(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua || !ua->active || ua->role != FLOE_SIP_CALL_UAC ||
        ua->state != FLOE_SIP_CALL_CONFIRMED || !ua->ice_call || !ua->have_dialog)
        return FLOE_ERR_STATE;
    int rc = ua_restart_agent(ua, now);
    if (rc != FLOE_OK) return rc;
    return send_restart_offer(ua, now);
}

static void invite_response(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    const floe_sip_msg *r = &ev->msg;
    unsigned st = ev->status;
    bool has_sdp = r->body.len > 0 && floe_sip_msg_is_sdp(r);
    if (st < 200) {
        if (st == 100) return;
        ua->got_provisional = true;
        dialog_from(ua, r);
        if (ua->have_dialog) {
            floe_sip_rseq_verdict v = floe_sip_dialog_rseq_check(&ua->dlg, r);
            if (v == FLOE_SIP_RSEQ_DUPLICATE || v == FLOE_SIP_RSEQ_OUT_OF_ORDER) return;
            if (v == FLOE_SIP_RSEQ_NEW) {
                floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
                floe_addr to;
                if (floe_sip_dialog_prack(&ua->dlg, r, &ua->msg2, &ua->ar) == FLOE_OK &&
                    ua_uri_addr(floe_sip_dialog_next_hop(&ua->dlg), &to) == FLOE_OK)
                    ua_request(ua, now, ua->tp, &ua->msg2, &to, NULL);
            }
        }
        if (ua->cancel_wanted) {
            ua_uac_cancel(ua, now);
            return;
        }
        if (st == 183 && ua->t_183 == FLOE_TIME_NEVER) ua->t_183 = now;
        if (has_sdp && !ua->answered_sdp) take_answer(ua, now, r->body);
        if (st == 180 || st == 182) {
            if (ua->t_180 == FLOE_TIME_NEVER) ua->t_180 = now;
            ua_step(ua, now, FLOE_SIP_CALL_EV_RINGING);
        }
        return;
    }
    if (st < 300) {
        bool first = ua->t_200 == FLOE_TIME_NEVER;
        if (floe_sip_call_over(ua->state)) { /* a 2xx after the call failed: take it down */
            end_fork(ua, now, r);
            return;
        }
        if (ua->have_dialog && !floe_sip_dialog_matches(&ua->dlg, r)) {
            if (!first) { /* another fork answered too */
                end_fork(ua, now, r);
                return;
            }
            ua->have_dialog = false; /* the fork that answered is the call's dialog */
        }
        dialog_from(ua, r);
        if (ua->have_dialog) send_ack(ua, now, ua->invite_cseq);
        if (!first) return; /* a retransmission: ACKed again */
        ua->t_200 = now;
        if (ua->auth_on) floe_sip_auth_client_success(&ua->auth);
        if (has_sdp && !ua->answered_sdp) take_answer(ua, now, r->body);
        ua_step(ua, now, FLOE_SIP_CALL_EV_OK);
        if (ua->state == FLOE_SIP_CALL_HANGING_UP) { /* it crossed our CANCEL */
            ua_send_bye(ua, now);
            return;
        }
        ua_media_start(ua, now);
        check_update(ua, now);
        return;
    }
    if (ua_uac_auth_retry(ua, now, r)) return;
    char code[8] = {(char)('0' + st / 100), (char)('0' + st / 10 % 10), (char)('0' + st % 10), 0};
    ua_end(ua, now, st, code);
    ua_step(ua, now, FLOE_SIP_CALL_EV_REJECTED);
}

void ua_uac_response(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    if (!ua->active) return;
    if (ev->kind == FLOE_SIP_TXN_ICT && ev->id == ua->invite_id && ua->role == FLOE_SIP_CALL_UAC) {
        invite_response(ua, now, ev);
        return;
    }
    if (ev->status < 200) return;
    if (ev->id == ua->reinvite_id && ev->kind == FLOE_SIP_TXN_ICT) {
        if (ev->status == 491) { /* glare, or the callee still waits for our ACK */
            schedule_retry(ua, now);
            return;
        }
        if (ev->status >= 300) {
            if (ua->restarting)
                restart_failed(ua, now);
            else
                ua_step(ua, now, FLOE_SIP_CALL_EV_REJECTED);
            return;
        }
        bool first = ua->state == FLOE_SIP_CALL_UPDATING;
        if (ua->have_dialog) {
            floe_sip_dialog_uac_response(&ua->dlg, &ev->msg);
            send_ack(ua, now, ua->reinvite_cseq);
        }
        if (!first) return;   /* a retransmission: ACKed again */
        if (ua->restarting) { /* the callee's new credentials and candidates */
            ua->restarting = false;
            const floe_sip_msg *r = &ev->msg;
            if (!(r->body.len > 0 && floe_sip_msg_is_sdp(r)) ||
                ua_apply_ice(ua, r->body) != FLOE_OK || ua_start_checks(ua, now) != FLOE_OK) {
                ua->restarting = true;
                restart_failed(ua, now);
                return;
            }
        }
        ua_step(ua, now, FLOE_SIP_CALL_EV_OK);
        return;
    }
    if (ev->id == ua->bye_id && ev->kind == FLOE_SIP_TXN_NICT) {
        ua_step(ua, now, FLOE_SIP_CALL_EV_CLOSED);
        return;
    }
    if (ev->id == ua->cancel_id && ev->kind == FLOE_SIP_TXN_NICT && ev->status >= 300)
        ua_step(ua, now, FLOE_SIP_CALL_EV_CLOSED); /* nothing to cancel: over */
}

void ua_uac_ice_done(floe_sip_ua *ua, floe_time_ns now) {
    ua_step(ua, now, FLOE_SIP_CALL_EV_ICE_DONE);
    if (ua->state == FLOE_SIP_CALL_CONFIRMED) {
        ua_media_start(ua, now);
        check_update(ua, now);
    }
}

void ua_uac_ice_failed(floe_sip_ua *ua, floe_time_ns now) {
    floe_sip_call_state before = ua->state;
    ua_step(ua, now, FLOE_SIP_CALL_EV_ICE_FAILED);
    if (ua->state == before) return;
    if (ua->state == FLOE_SIP_CALL_CANCELLING)
        ua_uac_cancel(ua, now);
    else if (ua->state == FLOE_SIP_CALL_HANGING_UP)
        ua_send_bye(ua, now);
}

/* CANCEL the INVITE; RFC 3261 §9.1 wants a provisional answer first, so it may wait. */
void ua_uac_cancel(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->cancel_id) return;
    if (!ua->got_provisional) {
        ua->cancel_wanted = true;
        return;
    }
    ua->cancel_wanted = false;
    int rc = floe_sip_txl_cancel(ua->txl, now, ua->invite_id, &ua->cancel_id);
    if (rc == FLOE_ERR_STATE && ua->t_200 == FLOE_TIME_NEVER) {
        ua->cancel_wanted = true;
        return;
    }
    if (rc != FLOE_OK) ua_step(ua, now, FLOE_SIP_CALL_EV_CLOSED);
}
