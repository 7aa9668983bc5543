/* floe: SIP dialogs (RFC 3261 §12), the UAS's 2xx retransmission (§13.3.1.4) and
 * reliable provisional responses (RFC 3262), sans-IO.
 *
 * A floe_sip_dialog is a plain value the transaction user keeps (no allocation): the
 * dialog ID (Call-ID, local and remote tags), the local and remote URIs, the remote
 * target (the peer's Contact), the route set (from Record-Route), both CSeq numbers,
 * the secure flag, and the state of the retransmissions the UA core owns. Its text
 * lives inside it (FLOE_SIP_DIALOG_TEXT bytes), so it can be copied and stored freely.
 *
 * UAC (we sent the INVITE):
 *   floe_sip_dialog_uac_new(&d, &invite_as_sent, &resp, transport)   // 1xx with To tag,
 *                                                                    // or 2xx
 *   floe_sip_dialog_uac_response(&d, &resp)  // later 1xx/2xx: target, confirmation
 *   floe_sip_dialog_ack(&d, invite_cseq, &ack, &ar)  // ACK of each 2xx, sent with
 *                                                    // floe_sip_txl_send (RFC 3261 §13.2.2.4)
 *   floe_sip_dialog_request(&d, "BYE", &bye, &ar)    // BYE, re-INVITE, UPDATE, INFO, ...
 *   RFC 3262: floe_sip_dialog_rseq_check(&d, &resp) says whether a reliable 1xx is new;
 *             floe_sip_dialog_prack(&d, &resp, &prack, &ar) builds its PRACK.
 *
 * UAS (we received the INVITE):
 *   floe_sip_dialog_uas_new(&d, &invite_as_received, "our-tag", early, transport)
 *   floe_sip_dialog_on_request(&d, &req)   // each in-dialog request: CSeq order (500 when
 *                                          // it fails), target refresh
 *   RFC 3262: floe_sip_dialog_rel_1xx(&d, now, t1, rnd, ctx, &rseq) before sending a
 *             reliable 1xx (put "RSeq: rseq" and "Require: 100rel" in it);
 *             floe_sip_dialog_on_prack(&d, &prack) when a PRACK comes (481 when it fails)
 *   floe_sip_dialog_2xx_sent(&d, now, t1, t2, cseq) after sending the 2xx to an INVITE;
 *   floe_sip_dialog_on_ack(&d, &ack) when its ACK comes
 *   and in the loop: while ((a = floe_sip_dialog_tick(&d, now)) != FLOE_SIP_DIALOG_NONE):
 *     RESEND_1XX / RESEND_2XX: floe_sip_txl_resend(txl, now, invite_txn_id)
 *     GIVE_UP_1XX: no PRACK in 64*T1 (RFC 3262 §3): answer the INVITE with a 5xx
 *     GIVE_UP_2XX: no ACK in 64*T1 (RFC 3261 §13.3.1.4): the dialog is confirmed but the
 *                  session should end: send a BYE
 *   with floe_sip_dialog_deadline(&d) in the runtime's timer.
 *
 * Where the 2xx retransmissions live: RFC 3261 gives them to the UAS core, not the
 * transaction; floe keeps their schedule here (floe_sip_retx, T1 doubling up to T2,
 * given up after 64*T1) and sends through the INVITE server transaction, which RFC 6026
 * keeps in its Accepted state for exactly those 64*T1 (sip_txn.h).
 *
 * Requests built in the dialog follow RFC 3261 §12.2.1.1: To is the remote URI with the
 * remote tag, From the local URI with the local tag, Call-ID the dialog's, CSeq the
 * local sequence number plus one (1 when it was empty), Max-Forwards 70; with an empty
 * route set the Request-URI is the remote target; when the first route has `lr` (loose
 * routing) the Request-URI is the remote target and the routes go into Route in order;
 * otherwise (a strict router) the Request-URI is the first route's URI (without URI
 * headers) and Route holds the other routes and then the remote target. The TU adds
 * what the method needs (Contact for target refreshes, RAck for PRACK via
 * floe_sip_dialog_prack, bodies, Require/Supported). floe_sip_dialog_next_hop() names the
 * URI to resolve and send to (the first route, else the remote target).
 */
#ifndef FLOE_SIP_DIALOG_H
#define FLOE_SIP_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip.h"
#include "floe/sip_txn.h"
#include "floe/time.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIP_DIALOG_MAX_ROUTES 8        /* route set entries kept; more is FLOE_ERR_LIMIT */
#define FLOE_SIP_DIALOG_TEXT 4096           /* bytes of text one dialog keeps */
#define FLOE_SIP_RSEQ_MAX_FIRST 0x7fffffffu /* RFC 3262 §3: first RSeq in 1..2^31-1 */

/* ---- a retransmission schedule ---------------------------------------------------------- */

/* Sends at T1, then doubling (capped at `cap` when non-zero), given up 64*T1 after the
 * start: the UAS's 2xx (cap T2, RFC 3261 §13.3.1.4) and reliable 1xx (no cap, RFC 3262
 * §3). Over any transport: those messages may cross UDP hops further on. */
typedef enum floe_sip_retx_action {
    FLOE_SIP_RETX_NONE = 0,
    FLOE_SIP_RETX_SEND,    /* send the message again now */
    FLOE_SIP_RETX_GIVE_UP, /* 64*T1 passed: stop; the caller decides what follows */
} floe_sip_retx_action;

typedef struct floe_sip_retx {
    bool active;
    floe_time_ns next;    /* next retransmission */
    floe_time_ns gap;     /* the gap after it */
    floe_time_ns cap;     /* 0: no cap */
    floe_time_ns give_up; /* start + 64*T1 */
    unsigned sends;       /* retransmissions so far */
} floe_sip_retx;

/* Starts after the first send at now. */
void floe_sip_retx_start(floe_sip_retx *r, floe_time_ns now, floe_time_ns t1, floe_time_ns cap);
void floe_sip_retx_stop(floe_sip_retx *r);
/* One due action (call until NONE). */
floe_sip_retx_action floe_sip_retx_tick(floe_sip_retx *r, floe_time_ns now);
floe_time_ns floe_sip_retx_deadline(const floe_sip_retx *r);

/* ---- the dialog --------------------------------------------------------------------------- */

typedef enum floe_sip_dialog_state {
    FLOE_SIP_DIALOG_EARLY = 0, /* made by a 1xx (RFC 3261 §12.1) */
    FLOE_SIP_DIALOG_CONFIRMED, /* made or confirmed by a 2xx */
} floe_sip_dialog_state;

/* A slice of the dialog's own text. */
typedef struct floe_sip_dtext {
    uint16_t off, len;
} floe_sip_dtext;

typedef struct floe_sip_dialog {
    floe_sip_dialog_state state;
    bool uac;    /* we sent the request that made it */
    bool secure; /* sips Request-URI over TLS (RFC 3261 §12.1.1, §12.1.2) */
    floe_sip_dtext call_id, local_tag, remote_tag;    /* the dialog ID (a tag may be empty) */
    floe_sip_dtext local_uri, remote_uri;             /* URIs of From/To (without tags) */
    floe_sip_dtext remote_target;                     /* the peer's Contact URI */
    floe_sip_dtext route[FLOE_SIP_DIALOG_MAX_ROUTES]; /* Record-Route values, in the order
                                                         requests take them */
    unsigned n_route;
    uint32_t local_cseq, remote_cseq;
    bool local_cseq_set, remote_cseq_set; /* false: "empty" in RFC 3261's words */
    uint32_t invite_cseq;                 /* CSeq of the last INVITE (either side) */
    /* RFC 3262, UAS side */
    bool rseq_started;
    uint32_t rseq_next;     /* the RSeq the next reliable 1xx takes */
    bool rel_pending;       /* a reliable 1xx waits for its PRACK */
    uint32_t rel_rseq;      /* ... with this RSeq */
    floe_sip_retx rel_retx; /* ... retransmitted on this schedule */
    /* RFC 3262, UAC side */
    bool remote_rseq_set;
    uint32_t remote_rseq; /* the last in-order RSeq received */
    /* RFC 3261 §13.3.1.4, UAS side */
    bool ack_pending;
    uint32_t ack_cseq; /* CSeq of the INVITE whose 2xx waits for its ACK */
    floe_sip_retx ok_retx;
    uint16_t text_len;
    char text[FLOE_SIP_DIALOG_TEXT];
} floe_sip_dialog;

/* The text of a field (a slice of d). */
floe_sip_str floe_sip_dialog_text(const floe_sip_dialog *d, floe_sip_dtext t);

/* UAC: a dialog from the request we sent (as sent: floe_sip_txl_request_of) and a
 * 101-199 response with a To tag (early) or a 2xx (confirmed) to it, received over
 * transport. Route set: the response's Record-Route reversed; remote target: its
 * Contact (for a 1xx without one, the Request-URI until a later response has one).
 * FLOE_ERR_INVAL for another status, a 1xx without To tag, a request without From tag;
 * FLOE_ERR_MALFORMED for a 2xx without a usable Contact; FLOE_ERR_LIMIT past the caps. */
int floe_sip_dialog_uac_new(floe_sip_dialog *d, const floe_sip_msg *req, const floe_sip_msg *resp,
                            floe_transport transport);
/* UAS: a dialog from a request we received (INVITE, SUBSCRIBE, ...) that we answer with
 * a 1xx (early = true) or a 2xx carrying local_tag in To. Route set: Record-Route in
 * order; remote target: Contact (required: FLOE_ERR_MALFORMED); remote CSeq: the
 * request's. FLOE_ERR_INVAL for a local_tag that is no token; FLOE_ERR_LIMIT. */
int floe_sip_dialog_uas_new(floe_sip_dialog *d, const floe_sip_msg *req, const char *local_tag,
                            bool early, floe_transport transport);

/* True when message m (a request or a response we received) belongs to d: same Call-ID,
 * and for a request To tag = local tag and From tag = remote tag, for a response From
 * tag = local tag and To tag = remote tag. */
bool floe_sip_dialog_matches(const floe_sip_dialog *d, const floe_sip_msg *m);

/* UAC: a response in the dialog. A 1xx or 2xx to INVITE, or a 2xx to UPDATE, with a
 * Contact replaces the remote target (target refresh, §12.2.1.2); a 2xx to INVITE
 * confirms an early dialog and recomputes its route set (§13.2.2.4). FLOE_ERR_NOT_FOUND
 * when resp does not match d. */
int floe_sip_dialog_uac_response(floe_sip_dialog *d, const floe_sip_msg *resp);
/* UAS: the 2xx went out: the dialog is confirmed. */
void floe_sip_dialog_confirm(floe_sip_dialog *d);

/* A request received in the dialog (RFC 3261 §12.2.2): FLOE_ERR_STATE when its CSeq is
 * lower than the remote sequence number (answer 500), else the number is recorded; an
 * INVITE or UPDATE with a Contact replaces the remote target. ACK and CANCEL carry their
 * INVITE's number and are not checked. FLOE_ERR_NOT_FOUND when req does not match d. */
int floe_sip_dialog_on_request(floe_sip_dialog *d, const floe_sip_msg *req);

/* Builds a request of `method` (not ACK or CANCEL) in the dialog into out, text in ar;
 * the local CSeq advances. FLOE_ERR_INVAL, FLOE_ERR_NOSPACE (arena). */
int floe_sip_dialog_request(floe_sip_dialog *d, const char *method, floe_sip_msg *out,
                            floe_sip_arena *ar);
/* The ACK of a 2xx to the INVITE with CSeq number invite_cseq (RFC 3261 §13.2.2.4):
 * built like an in-dialog request, with that number. */
int floe_sip_dialog_ack(const floe_sip_dialog *d, uint32_t invite_cseq, floe_sip_msg *out,
                        floe_sip_arena *ar);
/* The URI requests in d go to first: the first route's, else the remote target. */
floe_sip_str floe_sip_dialog_next_hop(const floe_sip_dialog *d);

/* ---- RFC 3262: reliable provisional responses ------------------------------------------------ */

typedef enum floe_sip_rseq_verdict {
    FLOE_SIP_RSEQ_NONE = 0,     /* no RSeq: not a reliable provisional response */
    FLOE_SIP_RSEQ_NEW,          /* the first, or the last plus one: PRACK it */
    FLOE_SIP_RSEQ_DUPLICATE,    /* at most the last: a retransmission, drop it */
    FLOE_SIP_RSEQ_OUT_OF_ORDER, /* more than one ahead: drop it, do not PRACK (§4) */
} floe_sip_rseq_verdict;

/* UAC: classifies a 1xx with RSeq in dialog d and records a NEW one. */
floe_sip_rseq_verdict floe_sip_dialog_rseq_check(floe_sip_dialog *d, const floe_sip_msg *resp);
/* UAC: the PRACK of reliable 1xx resp (RAck: its RSeq, CSeq number and method), built as
 * an in-dialog request. FLOE_ERR_INVAL when resp has no RSeq or CSeq. */
int floe_sip_dialog_prack(floe_sip_dialog *d, const floe_sip_msg *resp, floe_sip_msg *out,
                          floe_sip_arena *ar);

/* UAS: a reliable 1xx is about to go out: *rseq is its RSeq (the first one random in
 * 1..2^31-1 from rnd, then one more each time) and its retransmissions start (T1
 * doubling, no cap). FLOE_ERR_STATE while an earlier one waits for its PRACK (§3: one at
 * a time); the random source's error. */
int floe_sip_dialog_rel_1xx(floe_sip_dialog *d, floe_time_ns now, floe_time_ns t1,
                            floe_sip_rand_fn rnd, void *ctx, uint32_t *rseq);
/* UAS: a PRACK arrived. FLOE_OK when its RAck names the pending reliable 1xx (RSeq, the
 * INVITE's CSeq number, method INVITE): retransmissions stop. FLOE_ERR_NOT_FOUND
 * otherwise (answer it 481, §3); FLOE_ERR_MALFORMED without RAck. */
int floe_sip_dialog_on_prack(floe_sip_dialog *d, const floe_sip_msg *prack);

/* ---- RFC 3261 §13.3.1.4: the UAS's 2xx until the ACK -------------------------------------- */

/* The 2xx to the INVITE with CSeq number cseq went out at now: retransmit it every T1
 * doubling to T2 until the ACK, giving up after 64*T1. Confirms the dialog. */
void floe_sip_dialog_2xx_sent(floe_sip_dialog *d, floe_time_ns now, floe_time_ns t1,
                              floe_time_ns t2, uint32_t cseq);
/* An ACK arrived: FLOE_OK when it acknowledges the pending 2xx (same CSeq number), which
 * stops the retransmissions; FLOE_ERR_NOT_FOUND otherwise. */
int floe_sip_dialog_on_ack(floe_sip_dialog *d, const floe_sip_msg *ack);

typedef enum floe_sip_dialog_action {
    FLOE_SIP_DIALOG_NONE = 0,
    FLOE_SIP_DIALOG_RESEND_1XX,  /* send the reliable 1xx again */
    FLOE_SIP_DIALOG_GIVE_UP_1XX, /* no PRACK in 64*T1: answer the INVITE 5xx */
    FLOE_SIP_DIALOG_RESEND_2XX,  /* send the 2xx again */
    FLOE_SIP_DIALOG_GIVE_UP_2XX, /* no ACK in 64*T1: end the session (BYE) */
} floe_sip_dialog_action;

/* One due action (call until NONE). */
floe_sip_dialog_action floe_sip_dialog_tick(floe_sip_dialog *d, floe_time_ns now);
/* When tick must next run, or FLOE_TIME_NEVER. */
floe_time_ns floe_sip_dialog_deadline(const floe_sip_dialog *d);

#ifdef __cplusplus
}
#endif
#endif
