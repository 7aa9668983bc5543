/* floe: a SIP user agent with ICE and audio, sans-IO (RFC 3261, RFC 3262, RFC 8839,
 * RFC 8445, RFC 3550).
 *
 * One floe_sip_ua is one SIP identity (user@domain) with at most one call at a time: an
 * INVITE that arrives while a call is up is answered 486 Busy Here. The UA owns a
 * transaction layer (floe/sip_txn.h), the call's dialog (floe/sip_dialog.h), the call's
 * ICE agent (floe/ice.h, a new one for each call over the same media sockets) and its
 * audio session (floe/media.h). The call's state changes only through
 * floe_sip_call_step (floe/sip_call.h), so the ring-after-ICE rule holds here too: the
 * callee sends 180 only once ICE completed (or at once for a caller without ICE), and
 * an ICE failure before that is answered 480 (488 for an offer it cannot use).
 *
 * It runs the five-step loop of every floe core:
 *   1. feed:   floe_sip_ua_on_sip(ua, now, transport, &from, bytes, len) for signalling,
 *              floe_sip_ua_on_media(ua, now, sock, &from, bytes, len) for what arrived on
 *              a media socket (STUN goes to the agent, RTP/RTCP to the audio session)
 *   2. tick:   floe_sip_ua_tick(ua, now) when now >= floe_sip_ua_deadline(ua)
 *   3. send:   while (floe_sip_ua_next_send(ua, now, buf, cap, &len, &out) == FLOE_OK)
 *              send buf as out says: SIP over out.transport to out.to, or a media
 *              datagram from media socket out.sock to out.to
 *   4. events: while (floe_sip_ua_next_event(ua, &ev)) ... (the ladder, milestones)
 *   5. re-arm the timer for floe_sip_ua_deadline(ua)
 *
 * Caller: floe_sip_ua_dial gathers, then sends the INVITE with the offer (PCMU and PCMA,
 * Supported: 100rel) to the outbound proxy, or else to the Request-URI's host (an IP
 * literal; port 5060 when none). A reliable 18x with an ICE answer is PRACKed and the
 * checks start (we are controlling); an answer without ICE sends media from the default
 * candidate's socket to the peer's default address. 180 rings, 200 is ACKed and media
 * starts on the selected pair; when the selected local candidate is not the default
 * one offered, a re-INVITE with a=remote-candidates follows (RFC 8839 §4.2.2). ICE
 * failure before the answer cancels the INVITE. Forking: the dialog of the first 2xx is
 * the call's; a 2xx from another fork after it is ACKed in its own dialog and ended with
 * a BYE (the session stays the one negotiated first: an early answer from one fork and
 * a 2xx from another are not reconciled).
 * Callee: an INVITE is gathered for (no ring); an ICE offer gets a reliable 183 with the
 * answer (Require: 100rel), the checks start (controlled), its PRACK is answered 200;
 * once ICE completed and the PRACK came, 180 goes out and the call rings. The answer
 * policy (cfg.answer_after, or floe_sip_ua_answer) sends 200 with the same description;
 * the ACK confirms. CANCEL before the answer gives 487. An offer without ICE rings as
 * soon as gathering is done and media goes to the peer's default address. A re-INVITE
 * in a confirmed call is answered 200 with our current description.
 * Both: BYE ends the call (200 to a received one); a lost ICE consent stops the media
 * and hangs up.
 *
 * An ICE offer from a caller without 100rel cannot get its answer reliably before the
 * 200: the callee sends it in unreliable 183s, runs its own checks to the offered
 * candidates and rings once one succeeds (ICE_PATH_FOUND) or the caller nominated
 * (floe/sip_call.h, "Late answer"); the 200 carries the same answer and media starts at
 * the nomination. Neither: 480, no ring.
 *
 * Limits: signalling over UDP and TCP (no TLS); one audio stream, rtcp-mux; an INVITE without an
 * offer is answered 488; Request-URIs and Contacts must carry IP literals unless an outbound proxy
 * resolves them (no DNS in the core); an ICE restart is started by the caller only.
 */
#ifndef FLOE_SIP_UA_H
#define FLOE_SIP_UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/ice.h"
#include "floe/sip_call.h"
#include "floe/sip_txn.h"
#include "floe/time.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIP_UA_MAX_MEDIA_HOSTS 8 /* media sockets (ICE host bases) */
#define FLOE_SIP_UA_EVENTS 128        /* events waiting to be pulled; more are dropped */
#define FLOE_SIP_UA_NAME_MAX 64       /* user, domain, display name */
#define FLOE_SIP_UA_TOKEN_MAX 24      /* method names kept in events */
#define FLOE_SIP_UA_REASON_MAX 96     /* reasons kept in events (ICE's sentences whole) */
#define FLOE_SIP_UA_SEND_MAX 8192     /* a send buffer of this size always suffices */

/* Samples to send (n of them, 8 kHz): return true when filled, false for silence. */
typedef bool (*floe_sip_ua_pull_fn)(void *ctx, int16_t *samples, size_t n);
/* Received audio: `gap` samples were missing before these n samples. */
typedef void (*floe_sip_ua_push_fn)(void *ctx, uint32_t gap, const int16_t *samples, size_t n);

typedef struct floe_sip_ua_config {
    const char *user;    /* required: "alice" */
    const char *domain;  /* required: "example.net" (From, Call-ID) */
    const char *display; /* optional display name in From */
    /* Our SIP address on each transport (Via, Contact); UDP is required. */
    floe_addr local[FLOE_SIP_TXL_TRANSPORTS];
    /* How our own requests go out of a dialog (REGISTER, INVITE), and so the transport
     * of our calls and of our Contact: FLOE_TRANSPORT_UDP (default) or _TCP, whose
     * local[] address must be set. A call we answer uses the INVITE's transport. */
    floe_transport transport;
    /* Out-of-dialog requests go here when its family is not FLOE_AF_NONE (UDP). */
    floe_addr outbound_proxy;
    /* For the ICE agent of each call. */
    floe_addr stun_servers[FLOE_ICE_MAX_STUN_SERVERS];
    size_t n_stun_servers;
    floe_ice_turn_server turn_servers[FLOE_ICE_MAX_TURN_SERVERS];
    size_t n_turn_servers;
    floe_time_ns ice_ta;  /* 0: FLOE_ICE_TA_DEFAULT */
    bool ice;             /* true (default): offer and answer with ICE; false: a plain
                             RFC 3264 peer (default candidates only) */
    floe_sip_rand_fn rnd; /* required: tags, Call-IDs, branches, ICE, RTP */
    void *rnd_ctx;
    /* Callee: answer this long after ringing starts; FLOE_TIME_NEVER (default): wait
     * for floe_sip_ua_answer. */
    floe_time_ns answer_after;
    /* Audio to send: pull's samples when set, else a tone of tone_hz (0: silence). */
    double tone_hz;
    double tone_amplitude; /* 0: 8000 */
    floe_sip_ua_pull_fn pull;
    void *pull_ctx;
    floe_sip_ua_push_fn push; /* received audio, may be NULL */
    void *push_ctx;
    /* Payload types: -1 (default) offers PCMU then PCMA; 0 or 8 offers only that one. */
    int payload_type;
    /* Registration (floe_sip_ua_register) with the outbound proxy, and digest
     * credentials (floe/sip_auth.h) for a REGISTER or INVITE that is challenged (401 or
     * 407). auth_user NULL: the user name. */
    const char *auth_user;
    const char *auth_password; /* NULL: challenges are not answered */
    uint32_t register_expires; /* seconds asked for; 0: 3600 */
} floe_sip_ua_config;

void floe_sip_ua_config_default(floe_sip_ua_config *c);

/* ---- events ---------------------------------------------------------------------------- */

typedef enum floe_sip_ua_event_type {
    FLOE_SIP_UA_EV_NONE = 0,
    FLOE_SIP_UA_EV_SIP_SENT,        /* a SIP message went out (sip.*) */
    FLOE_SIP_UA_EV_SIP_RECEIVED,    /* a SIP message came in (sip.*) */
    FLOE_SIP_UA_EV_CALL_STATE,      /* state.from -> state.to */
    FLOE_SIP_UA_EV_ICE_GATHERED,    /* our candidates are known */
    FLOE_SIP_UA_EV_ICE_CHECKING,    /* connectivity checks started */
    FLOE_SIP_UA_EV_ICE_SELECTED,    /* local, remote: the selected pair */
    FLOE_SIP_UA_EV_ICE_COMPLETED,   /* ICE completed (nomination done) */
    FLOE_SIP_UA_EV_ICE_FAILED,      /* reason */
    FLOE_SIP_UA_EV_CONSENT_LOST,    /* the selected pair lost consent: media stopped */
    FLOE_SIP_UA_EV_MEDIA_SENT,      /* the first RTP packet went out */
    FLOE_SIP_UA_EV_MEDIA_RECEIVED,  /* the first RTP packet came in */
    FLOE_SIP_UA_EV_CALL_ENDED,      /* reason ("200", "487", "ice-failed", "bye", ...),
                                       status (the SIP status behind it, else 0) */
    FLOE_SIP_UA_EV_REGISTERED,      /* status 200; expires: seconds granted (0: unregistered) */
    FLOE_SIP_UA_EV_REGISTER_FAILED, /* status (0: timeout), reason */
    FLOE_SIP_UA_EV_ICE_PATH_FOUND,  /* callee of a late answer: one of our checks succeeded,
                                       so the path works and the phone may ring */
    FLOE_SIP_UA_EV_ICE_RESTART,     /* ICE restarts (RFC 8445 §9): new credentials; the
                                       re-INVITE carrying them went out or came in */
} floe_sip_ua_event_type;

typedef struct floe_sip_ua_event {
    floe_sip_ua_event_type type;
    floe_time_ns at;
    struct {
        bool request;
        char method[FLOE_SIP_UA_TOKEN_MAX]; /* request method, or the CSeq method */
        unsigned status;                    /* responses */
        uint32_t cseq;
        bool reliable; /* a 1xx with RSeq */
        bool has_sdp;
        floe_addr peer; /* where it went or came from */
    } sip;
    struct {
        floe_sip_call_state from, to;
    } state;
    floe_ice_cand local, remote; /* ICE_SELECTED */
    unsigned status;             /* CALL_ENDED, REGISTERED, REGISTER_FAILED */
    uint32_t expires;            /* REGISTERED */
    char reason[FLOE_SIP_UA_REASON_MAX];
} floe_sip_ua_event;

const char *floe_sip_ua_event_name(floe_sip_ua_event_type t);

/* ---- the call's timeline ------------------------------------------------------------------- */

typedef struct floe_sip_ua_result {
    bool caller;
    floe_sip_call_state state;
    /* ms from the INVITE (sent or received); -1 when it did not happen */
    int64_t ms_183, ms_ice_completed, ms_180, ms_200, ms_first_rtp_sent, ms_first_rtp_received;
    bool have_pair;
    floe_ice_cand local, remote; /* the selected pair */
    bool ice;                    /* the call used ICE (both sides did it) */
    uint64_t packets_sent, packets_received;
    int64_t packets_lost;
    bool reinvite_sent;
    unsigned end_status;                     /* SIP status that ended the call, else 0 */
    char end_reason[FLOE_SIP_UA_REASON_MAX]; /* "" while the call lasts */
} floe_sip_ua_result;

/* ---- lifetime -------------------------------------------------------------------------- */

typedef struct floe_sip_ua floe_sip_ua;

/* FLOE_ERR_INVAL for a bad config (no user, domain, rnd or UDP address; user@domain not a
 * SIP address; a transport other than UDP and TCP or without its local address; a payload
 * type other than -1, 0, 8; too many STUN or TURN servers), FLOE_ERR_UNSUPPORTED for SIP
 * over TLS, FLOE_ERR_NOMEM. */
int floe_sip_ua_new(floe_sip_ua **out, const floe_sip_ua_config *cfg);
void floe_sip_ua_free(floe_sip_ua *ua);

/* A media socket bound to addr on ifname (may be NULL): *sock (may be NULL) is the index
 * next_send names and on_media expects. FLOE_ERR_LIMIT past FLOE_SIP_UA_MAX_MEDIA_HOSTS,
 * FLOE_ERR_STATE during a call. */
int floe_sip_ua_add_media_host(floe_sip_ua *ua, const floe_addr *addr, const char *ifname,
                               unsigned *sock);

/* ---- calls ----------------------------------------------------------------------------- */

/* Places a call to uri ("sip:bob@192.0.2.7:5060"): gathering starts, the INVITE follows.
 * FLOE_ERR_STATE while a call is up, FLOE_ERR_INVAL for a URI that does not parse (or,
 * without an outbound proxy, whose host is no IP literal), FLOE_ERR_NOT_FOUND without a
 * media host, the agent's errors. */
int floe_sip_ua_dial(floe_sip_ua *ua, floe_time_ns now, const char *uri);
/* Callee: answers the ringing call. FLOE_ERR_STATE unless it rings. */
int floe_sip_ua_answer(floe_sip_ua *ua, floe_time_ns now);
/* Ends the call whatever its state: CANCEL, BYE or an error answer (603).
 * FLOE_ERR_STATE when there is no call. */
int floe_sip_ua_hangup(floe_sip_ua *ua, floe_time_ns now);
/* Caller, in a confirmed ICE call: ICE restart (RFC 8445 §9, RFC 8839 §4.4.1.1.1). The
 * agent gets new credentials and a re-INVITE offers them; the callee restarts its agent
 * too and answers with its own; the checks run again and nominate anew while media stays
 * on the old pair until the new one is selected (ICE_RESTART, then ICE_SELECTED and
 * ICE_COMPLETED again). A restart the callee refuses ends the call (BYE): the old pair
 * cannot keep its consent without the peer's credentials. FLOE_ERR_STATE outside a
 * confirmed ICE call, on the callee's side, or while a re-INVITE is out. */
int floe_sip_ua_ice_restart(floe_sip_ua *ua, floe_time_ns now);

/* ---- registration (RFC 3261 §10) -------------------------------------------------------- */

/* Registers user@domain (Contact: our UDP address) with the outbound proxy for
 * cfg.register_expires seconds and keeps it fresh: the next REGISTER goes when half of
 * the granted time has passed. A 401 or 407 is answered once per challenge with the
 * configured credentials. Progress comes as REGISTERED / REGISTER_FAILED events.
 * FLOE_ERR_STATE without an outbound proxy; the transaction layer's errors. */
int floe_sip_ua_register(floe_sip_ua *ua, floe_time_ns now);
/* Removes the binding (Expires: 0) and stops refreshing. FLOE_ERR_STATE when not
 * registering. */
int floe_sip_ua_unregister(floe_sip_ua *ua, floe_time_ns now);
/* True while a binding granted by the registrar has not expired. */
bool floe_sip_ua_registered(const floe_sip_ua *ua, floe_time_ns now);

/* ---- the loop -------------------------------------------------------------------------- */

typedef enum floe_sip_ua_out_kind {
    FLOE_SIP_UA_OUT_SIP = 0, /* over transport to `to` */
    FLOE_SIP_UA_OUT_MEDIA,   /* from media socket `sock` to `to` */
    FLOE_SIP_UA_OUT_STREAM,  /* one whole message on stream `sock` (TURN over TCP or TLS,
                                see floe_sip_ua_stream); `to` is the TURN server */
} floe_sip_ua_out_kind;

typedef struct floe_sip_ua_out {
    floe_sip_ua_out_kind kind;
    floe_transport transport;
    unsigned sock;
    floe_addr to;
} floe_sip_ua_out;

/* Signalling from `from`: one UDP datagram, or one message framed from a TCP stream
 * (floe_sip_frame_len). Always FLOE_OK unless arguments are missing (drops are counted
 * by the transaction layer). */
int floe_sip_ua_on_sip(floe_sip_ua *ua, floe_time_ns now, floe_transport transport,
                       const floe_addr *from, const char *p, size_t len);
/* The runtime could not reach `peer` over transport (a TCP connection refused or lost,
 * an ICMP error for UDP): the transactions with it end at once (a call being set up
 * fails, a BYE is taken as done) instead of waiting for their timers. */
void floe_sip_ua_transport_error(floe_sip_ua *ua, floe_time_ns now, floe_transport transport,
                                 const floe_addr *peer);
/* ---- streams: TURN over TCP or TLS ---- A TURN server configured over TCP or TLS is
 * reached through a connection the runtime keeps for the call's ICE agent (floe/ice.h,
 * "stream bases"). next_send names it as OUT_STREAM with a stream id in `sock`:
 *   - the first time an id comes, floe_sip_ua_stream says where to connect (from `local`,
 *     port 0, to `remote`, TCP or TLS) and the message waits until the connection is up;
 *   - cut what the connection delivers with floe_turn_frame_len and give each message
 *     to floe_sip_ua_on_stream;
 *   - when it fails or closes, floe_sip_ua_stream_closed (do not reconnect);
 *   - ids belong to one call's agent: floe_sip_ua_stream says FLOE_ERR_NOT_FOUND once
 *     that agent is gone (close the connection then), and a new call brings new ids. */
int floe_sip_ua_stream(const floe_sip_ua *ua, unsigned id, floe_ice_stream *out);
int floe_sip_ua_on_stream(floe_sip_ua *ua, floe_time_ns now, unsigned id, const uint8_t *p,
                          size_t len);
void floe_sip_ua_stream_closed(floe_sip_ua *ua, floe_time_ns now, unsigned id);
/* A datagram on media socket sock. Always FLOE_OK unless arguments are missing. */
int floe_sip_ua_on_media(floe_sip_ua *ua, floe_time_ns now, unsigned sock, const floe_addr *from,
                         const uint8_t *p, size_t len);
void floe_sip_ua_tick(floe_sip_ua *ua, floe_time_ns now);
floe_time_ns floe_sip_ua_deadline(const floe_sip_ua *ua);
/* The next datagram (ticking first). FLOE_ERR_NOT_FOUND when none, FLOE_ERR_NOSPACE when
 * cap is too small (FLOE_SIP_UA_SEND_MAX suffices). */
int floe_sip_ua_next_send(floe_sip_ua *ua, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                          floe_sip_ua_out *out);
/* Pops the oldest event; false when none. */
bool floe_sip_ua_next_event(floe_sip_ua *ua, floe_sip_ua_event *ev);
/* Events lost to a full queue. */
uint64_t floe_sip_ua_events_dropped(const floe_sip_ua *ua);

/* The current (or last) call. */
floe_sip_call_state floe_sip_ua_state(const floe_sip_ua *ua);
/* True while the last call we answered with an error (480, 486, 487, ...) still waits
 * for the caller's ACK of it: the answer is retransmitted until then (RFC 3261 §17.2.1,
 * Timer G). A runtime about to exit lets that finish (floe answer --once). */
bool floe_sip_ua_settling(const floe_sip_ua *ua);
void floe_sip_ua_result_get(const floe_sip_ua *ua, floe_sip_ua_result *out);
/* The transaction layer (its stats). */
const floe_sip_txl *floe_sip_ua_txl(const floe_sip_ua *ua);

#ifdef __cplusplus
}
#endif
#endif
