/* Reliable provisional responses in a dialog (RFC 3262): RSeq on the UAS side (random
 * start, one at a time, retransmitted until PRACK), RSeq order on the UAC side, RAck
 * built and matched; and the UAS's 2xx retransmission until the ACK (RFC 3261
 * §13.3.1.4), with the dialog's timer entry points. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_dialog_priv.h"
#include "sip/sip_internal.h"

/* ---- UAC ----------------------------------------------------------------------------------- */

floe_sip_rseq_verdict floe_sip_dialog_rseq_check(floe_sip_dialog *d, const floe_sip_msg *resp) {
    uint32_t rseq;
    if (!d || !resp || resp->request || resp->status <= 100 || resp->status >= 200 ||
        floe_sip_msg_rseq(resp, &rseq) != FLOE_OK)
        return FLOE_SIP_RSEQ_NONE;
    if (!d->remote_rseq_set) { /* the first one sets the space (RFC 3262 §4) */
        d->remote_rseq_set = true;
        d->remote_rseq = rseq;
        return FLOE_SIP_RSEQ_NEW;
    }
    if (rseq <= d->remote_rseq) return FLOE_SIP_RSEQ_DUPLICATE;
    if (rseq != d->remote_rseq + 1) return FLOE_SIP_RSEQ_OUT_OF_ORDER;
    d->remote_rseq = rseq;
    return FLOE_SIP_RSEQ_NEW;
}

int floe_sip_dialog_prack(floe_sip_dialog *d, const floe_sip_msg *resp, floe_sip_msg *out,
                          floe_sip_arena *ar) {
    uint32_t rseq;
    floe_sip_cseq cs;
    if (!d || !resp || !ar || floe_sip_msg_rseq(resp, &rseq) != FLOE_OK ||
        floe_sip_msg_cseq(resp, &cs) != FLOE_OK)
        return FLOE_ERR_INVAL;
    /* RAck = response-num CSeq-num Method (RFC 3262 §7.2) */
    size_t start = ar->len;
    int rc = floe_sip_arena_u64(ar, rseq, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, " ", 1, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_u64(ar, cs.seq, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, " ", 1, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, cs.method.p, cs.method.len, NULL);
    if (rc != FLOE_OK) return rc;
    floe_sip_str rack = sip_str(ar->buf + start, ar->len - start);
    rc = floe_sip_dialog_request(d, "PRACK", out, ar);
    if (rc == FLOE_OK) rc = floe_sip_msg_add_str(out, floe_sip_str_c("RAck"), rack);
    return rc;
}

/* ---- UAS ----------------------------------------------------------------------------------- */

int floe_sip_dialog_rel_1xx(floe_sip_dialog *d, floe_time_ns now, floe_time_ns t1,
                            floe_sip_rand_fn rnd, void *ctx, uint32_t *rseq) {
    if (!d) return FLOE_ERR_INVAL;
    if (d->rel_pending) return FLOE_ERR_STATE; /* RFC 3262 §3: one unacknowledged at a time */
    if (!d->rseq_started) {
        uint8_t b[4];
        if (!rnd) return FLOE_ERR_INVAL;
        int rc = rnd(ctx, b, sizeof b);
        if (rc != FLOE_OK) return rc;
        uint32_t v = ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) &
                     FLOE_SIP_RSEQ_MAX_FIRST;
        d->rseq_next = v ? v : 1;
        d->rseq_started = true;
    }
    d->rel_rseq = d->rseq_next++;
    d->rel_pending = true;
    floe_sip_retx_start(&d->rel_retx, now, t1, 0);
    if (rseq) *rseq = d->rel_rseq;
    return FLOE_OK;
}

int floe_sip_dialog_on_prack(floe_sip_dialog *d, const floe_sip_msg *prack) {
    floe_sip_rack rack;
    if (!d || !prack || floe_sip_msg_rack(prack, &rack) != FLOE_OK) return FLOE_ERR_MALFORMED;
    if (!d->rel_pending || rack.rseq != d->rel_rseq || rack.cseq != d->invite_cseq ||
        rack.method_id != FLOE_SIP_INVITE)
        return FLOE_ERR_NOT_FOUND;
    d->rel_pending = false;
    floe_sip_retx_stop(&d->rel_retx);
    return FLOE_OK;
}

/* ---- the 2xx until its ACK ------------------------------------------------------------------ */

void floe_sip_dialog_2xx_sent(floe_sip_dialog *d, floe_time_ns now, floe_time_ns t1,
                              floe_time_ns t2, uint32_t cseq) {
    if (!d) return;
    d->state = FLOE_SIP_DIALOG_CONFIRMED;
    d->ack_pending = true;
    d->ack_cseq = cseq;
    floe_sip_retx_start(&d->ok_retx, now, t1, t2 ? t2 : FLOE_SIP_T2);
    /* A final answer ends the reliable 1xx's retransmissions (RFC 3262 §3). */
    d->rel_pending = false;
    floe_sip_retx_stop(&d->rel_retx);
}

int floe_sip_dialog_on_ack(floe_sip_dialog *d, const floe_sip_msg *ack) {
    floe_sip_cseq cs;
    if (!d || !ack || floe_sip_msg_cseq(ack, &cs) != FLOE_OK) return FLOE_ERR_NOT_FOUND;
    if (!d->ack_pending || cs.seq != d->ack_cseq || cs.method_id != FLOE_SIP_ACK)
        return FLOE_ERR_NOT_FOUND;
    d->ack_pending = false;
    floe_sip_retx_stop(&d->ok_retx);
    return FLOE_OK;
}

floe_sip_dialog_action floe_sip_dialog_tick(floe_sip_dialog *d, floe_time_ns now) {
    if (!d) return FLOE_SIP_DIALOG_NONE;
    switch (floe_sip_retx_tick(&d->rel_retx, now)) {
    case FLOE_SIP_RETX_SEND: return FLOE_SIP_DIALOG_RESEND_1XX;
    case FLOE_SIP_RETX_GIVE_UP: d->rel_pending = false; return FLOE_SIP_DIALOG_GIVE_UP_1XX;
    case FLOE_SIP_RETX_NONE: break;
    }
    switch (floe_sip_retx_tick(&d->ok_retx, now)) {
    case FLOE_SIP_RETX_SEND: return FLOE_SIP_DIALOG_RESEND_2XX;
    case FLOE_SIP_RETX_GIVE_UP: d->ack_pending = false; return FLOE_SIP_DIALOG_GIVE_UP_2XX;
    case FLOE_SIP_RETX_NONE: break;
    }
    return FLOE_SIP_DIALOG_NONE;
}

floe_time_ns floe_sip_dialog_deadline(const floe_sip_dialog *d) {
    if (!d) return FLOE_TIME_NEVER;
    floe_time_ns a = floe_sip_retx_deadline(&d->rel_retx), b = floe_sip_retx_deadline(&d->ok_retx);
    return a < b ? a : b;
}
