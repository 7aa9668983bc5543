/* floe: SIP transactions (RFC 3261 §17, with the Accepted states of RFC 6026), sans-IO.
 *
 * A floe_sip_txl (transaction layer) owns a bounded table of client and server
 * transactions and the RFC 3261 timers that drive them. It never reads a clock or touches
 * a socket: time is an argument of every call, received messages come in as bytes with
 * the transport and source address, and messages to send come out the same way. The
 * runtime runs the same five-step loop as for every floe core:
 *
 *   1. feed what arrived:  floe_sip_txl_on_recv(t, now, transport, &from, bytes, len)
 *                          (one UDP datagram, or one message framed out of a stream with
 *                          floe_sip_frame_len)
 *   2. tick if due:        floe_sip_txl_tick(t, now) when now >= floe_sip_txl_deadline(t)
 *   3. drain sends:        while (floe_sip_txl_next_send(t, now, buf, cap, &len, &to, &tp)
 *                                 == FLOE_OK) send buf to `to` over tp
 *   4. drain events:       while (floe_sip_txl_next_event(t, &ev)) ... (the TU's work)
 *   5. re-arm the timer for floe_sip_txl_deadline(t)
 *
 * The transaction user (TU: a user agent, later floe's UA core) starts client
 * transactions with floe_sip_txl_request() (and floe_sip_txl_cancel()), answers server
 * transactions with floe_sip_txl_respond(), and learns everything else from events:
 *
 *   FLOE_SIP_TXL_EV_REQUEST   a new request: ev.id is its server transaction; answer it
 *                             with floe_sip_txl_respond(t, now, ev.id, &resp). An ACK that
 *                             matches no transaction (the ACK of a 2xx, RFC 3261 §13.2.2.4)
 *                             comes with id 0: it belongs to a dialog. A CANCEL names the
 *                             INVITE server transaction it cancels in ev.target (0: none;
 *                             RFC 3261 §9.2 says answer 481).
 *   FLOE_SIP_TXL_EV_RESPONSE  a response for client transaction ev.id (ev.status).
 *   FLOE_SIP_TXL_EV_TIMEOUT   transaction ev.id gave up (ev.timer names the timer).
 *   FLOE_SIP_TXL_EV_TRANSPORT_ERROR  transaction ev.id ended because the runtime reported
 *                             that its peer cannot be reached (floe_sip_txl_transport_error).
 *
 * The machines, their timers and where floe differs from the letter of RFC 3261:
 *
 *   INVITE client (ICT): Calling -> Proceeding -> Accepted | Completed -> Terminated.
 *     The INVITE is retransmitted by Timer A (T1, doubling, UDP only) until a response;
 *     Timer B (64*T1) gives up in Calling. A 300-699 answer is acknowledged by the
 *     transaction itself (the ACK of RFC 3261 §17.1.1.3, sent again for each
 *     retransmission of the answer), then Timer D (32 s over UDP, 0 over TCP/TLS) ends
 *     it. A 2xx moves it to Accepted (RFC 6026 §8.4) for Timer M (64*T1), where further
 *     2xx (retransmissions, other forks) still reach the TU, which acknowledges them:
 *     the ACK of a 2xx belongs to the dialog (floe_sip_dialog_ack, sent with
 *     floe_sip_txl_send). In Proceeding floe adds a guard RFC 3261 leaves to the TU: no
 *     final answer within timer_c (FLOE_SIP_TIMER_C, 3 min, restarted by each
 *     provisional, after RFC 3261 §16.6's Timer C) ends the transaction with a TIMEOUT,
 *     so no transaction lives forever.
 *   non-INVITE client (NICT): Trying -> Proceeding -> Completed -> Terminated. Timer E
 *     retransmits (T1 doubling to T2 in Trying, T2 in Proceeding; UDP only), Timer F
 *     (64*T1) gives up, Timer K (T4 over UDP, 0 over TCP/TLS) absorbs retransmitted
 *     answers after the final one.
 *   INVITE server (IST): Proceeding -> Accepted | Completed -> Confirmed -> Terminated.
 *     A 100 Trying goes out 200 ms after the INVITE unless the TU answered first
 *     (RFC 3261 §17.2.1); a retransmitted INVITE gets the last provisional answer again.
 *     A 2xx moves it to Accepted (RFC 6026 §7.1) for Timer L (64*T1): retransmitted
 *     INVITEs are absorbed there (RFC 3261 would have made each a new transaction),
 *     and the 2xx is retransmitted by the TU, not the transaction (floe_sip_txl_resend,
 *     on the schedule of floe_sip_retx in sip_dialog.h, RFC 3261 §13.3.1.4). A 300-699
 *     answer is retransmitted by Timer G (T1 doubling to T2, UDP only) until the ACK
 *     comes (Confirmed, then Timer I: T4 over UDP, 0 over TCP/TLS) or Timer H (64*T1)
 *     gives up with a TIMEOUT. In Proceeding the TU gets timer_c (restarted by each
 *     answer it sends) to send a final answer, else the transaction ends (TIMEOUT "C").
 *   non-INVITE server (NIST): Trying -> Proceeding -> Completed -> Terminated; Timer J
 *     (64*T1 over UDP, 0 over TCP/TLS) absorbs retransmitted requests after the final
 *     answer. A TU that sends no final answer within 64*T1 (when the client's Timer F
 *     has fired) loses the transaction (TIMEOUT "F").
 *   Over TCP and TLS nothing is retransmitted and D, I, J, K are zero (RFC 3261 §17).
 *
 * Matching. A response belongs to the client transaction whose branch equals the top
 * Via's branch and whose method equals the CSeq method (RFC 3261 §17.1.3), so an INVITE
 * and its CANCEL, which share a branch, stay apart. A response with more than one Via is
 * dropped (§8.1.3.3). A request belongs to the server transaction with the same top Via
 * branch and sent-by and the same method, an ACK to the INVITE transaction (§17.2.3).
 * floe does not implement the RFC 2543 matching rules: a request whose branch lacks the
 * "z9hG4bK" cookie (or has nothing after it) is dropped and counted (drop_no_cookie); every
 * element built since 2002 sets it.
 *
 * Transport handling (RFC 3261 §18, RFC 3581). Our requests carry a Via "SIP/2.0/<T>
 * <sent-by>;rport;branch=z9hG4bK<random>" whose sent-by is cfg.host (or the IP of
 * cfg.local[transport]) and the port of cfg.local[transport]. A received request gets
 * "received=<source IP>" in its top Via when the sent-by host differs from it or when
 * rport is present, and "rport=<source port>" when rport is present; the TU sees the
 * request with that Via, so the responses it builds (floe_sip_msg_response_to) carry it.
 * Responses go: over TCP/TLS, back to the source (the runtime uses the connection the
 * request came on); over UDP, to the source address and port when the request asked
 * for rport, else to the source address at the sent-by port (5060 when none; maddr is
 * not supported). floe_sip_txl_send() sends a message outside any transaction (the ACK
 * of a 2xx, a stateless answer).
 *
 * Bounds. cfg.max_txns transactions, each holding two messages of at most cfg.max_msg
 * bytes; a send queue and an event queue of a fixed number of bytes. A full table makes
 * floe_sip_txl_request() fail (FLOE_ERR_LIMIT, stats.cap_txns) and a new request
 * answered 503 without a transaction (stats.busy); a full event queue drops the input
 * as if the network had lost it (stats.drop_event_full) and answers a new request 503;
 * a full send queue loses the message (stats.tx_dropped): retransmissions recover over
 * UDP. Nothing grows.
 */
#ifndef FLOE_SIP_TXN_H
#define FLOE_SIP_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/sip.h"
#include "floe/time.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- timers ---------------------------------------------------------------------------- */

#define FLOE_SIP_T1 FLOE_MS(500)    /* RFC 3261 §17.1.1.1: round-trip estimate */
#define FLOE_SIP_T2 FLOE_S(4)       /* RFC 3261 §17.1.2.2: longest non-INVITE retransmit gap */
#define FLOE_SIP_T4 FLOE_S(5)       /* RFC 3261 §17.1.2.2: longest a message lives in the net */
#define FLOE_SIP_TIMER_D FLOE_S(32) /* RFC 3261 §17.1.1.2: at least 32 s over UDP */
#define FLOE_SIP_TRYING_DELAY FLOE_MS(200) /* RFC 3261 §17.2.1: 100 Trying after 200 ms */
#define FLOE_SIP_TIMER_C FLOE_S(180)       /* RFC 3261 §16.6 Timer C: 3 min (floe's guard) */

/* ---- caps ------------------------------------------------------------------------------ */

#define FLOE_SIP_TXL_MAX_TXNS 32            /* default table size */
#define FLOE_SIP_TXL_MAX_TXNS_LIMIT 4096    /* largest configurable table */
#define FLOE_SIP_TXL_MAX_MSG 8192           /* default bytes of one stored message */
#define FLOE_SIP_TXL_MIN_MSG 512            /* smallest configurable max_msg */
#define FLOE_SIP_TXL_QUEUE_DEFAULT 65536    /* default bytes of the send and event queues */
#define FLOE_SIP_BRANCH_MAX 128             /* longest branch kept for matching */
#define FLOE_SIP_SENT_BY_MAX 256            /* longest sent-by host kept for matching */
#define FLOE_SIP_METHOD_MAX 32              /* longest method name kept for matching */
#define FLOE_SIP_TXL_TRANSPORTS 3           /* UDP, TCP, TLS: the index of cfg.local */
#define FLOE_SIP_BRANCH_RANDOM 12           /* random bytes in a branch (24 hex digits) */
#define FLOE_SIP_TXL_TIMER_MAX FLOE_S(3600) /* longest configurable timer (64*T1 must fit) */

/* ---- the machines ---------------------------------------------------------------------- */

typedef enum floe_sip_txn_kind {
    FLOE_SIP_TXN_ICT = 0, /* INVITE client */
    FLOE_SIP_TXN_NICT,    /* non-INVITE client */
    FLOE_SIP_TXN_IST,     /* INVITE server */
    FLOE_SIP_TXN_NIST,    /* non-INVITE server */
    FLOE_SIP_TXN_KIND_COUNT
} floe_sip_txn_kind;

typedef enum floe_sip_txn_state {
    FLOE_SIP_TXN_CALLING = 0, /* ICT */
    FLOE_SIP_TXN_TRYING,      /* NICT, NIST */
    FLOE_SIP_TXN_PROCEEDING,  /* all four */
    FLOE_SIP_TXN_ACCEPTED,    /* ICT, IST (RFC 6026) */
    FLOE_SIP_TXN_COMPLETED,   /* all four */
    FLOE_SIP_TXN_CONFIRMED,   /* IST */
    FLOE_SIP_TXN_TERMINATED,  /* all four: the slot is freed */
    FLOE_SIP_TXN_STATE_COUNT
} floe_sip_txn_state;

/* What happens to a transaction. For a client transaction the responses are received;
 * for a server transaction they are sent by the TU. */
typedef enum floe_sip_txn_event {
    FLOE_SIP_TXN_EV_1XX = 0,         /* a provisional response */
    FLOE_SIP_TXN_EV_2XX,             /* a 2xx response */
    FLOE_SIP_TXN_EV_FINAL,           /* a 300-699 response */
    FLOE_SIP_TXN_EV_REQUEST,         /* server: the request again (a retransmission) */
    FLOE_SIP_TXN_EV_ACK,             /* server: an ACK matching the transaction */
    FLOE_SIP_TXN_EV_RETX_TIMER,      /* A, E, G, or the IST's 100 Trying timer */
    FLOE_SIP_TXN_EV_TIMEOUT_TIMER,   /* B, F, H, and floe's guards (C; F for the NIST) */
    FLOE_SIP_TXN_EV_WAIT_TIMER,      /* D, I, J, K, L, M */
    FLOE_SIP_TXN_EV_TRANSPORT_ERROR, /* the runtime could not reach the peer */
    FLOE_SIP_TXN_EV_COUNT
} floe_sip_txn_event;

/* The first state of a machine: Calling, Trying, Proceeding, Trying. */
floe_sip_txn_state floe_sip_txn_initial(floe_sip_txn_kind k);
/* The transition function, the only place states change (tests walk every triple). A
 * state a machine does not have is returned unchanged. */
floe_sip_txn_state floe_sip_txn_step(floe_sip_txn_kind k, floe_sip_txn_state s,
                                     floe_sip_txn_event ev);

const char *floe_sip_txn_kind_name(floe_sip_txn_kind k);   /* "ict", ... */
const char *floe_sip_txn_state_name(floe_sip_txn_state s); /* "calling", ... */
const char *floe_sip_txn_event_name(floe_sip_txn_event e); /* "1xx", ... */

/* ---- configuration --------------------------------------------------------------------- */

/* Random-bytes source (floe_rt_random fits): fills buf, returns FLOE_OK or an error. */
typedef int (*floe_sip_rand_fn)(void *ctx, void *buf, size_t len);

typedef struct floe_sip_txl_config {
    floe_time_ns t1, t2, t4;   /* 0: FLOE_SIP_T1, FLOE_SIP_T2, FLOE_SIP_T4 */
    floe_time_ns timer_d;      /* 0: FLOE_SIP_TIMER_D (UDP; always 0 over TCP/TLS) */
    floe_time_ns timer_c;      /* 0: FLOE_SIP_TIMER_C */
    floe_time_ns trying_delay; /* 0: FLOE_SIP_TRYING_DELAY */
    unsigned max_txns;         /* 0: FLOE_SIP_TXL_MAX_TXNS; at most ..._LIMIT */
    size_t max_msg;            /* 0: FLOE_SIP_TXL_MAX_MSG; FLOE_SIP_TXL_MIN_MSG..65535 */
    size_t send_queue;         /* bytes; 0: FLOE_SIP_TXL_QUEUE_DEFAULT; >= 2 * max_msg */
    size_t event_queue;        /* bytes; 0: FLOE_SIP_TXL_QUEUE_DEFAULT; >= 2 * max_msg */
    /* Our address on each transport, indexed by floe_transport (UDP, TCP, TLS): the
     * sent-by of our Via. A transport whose family is FLOE_AF_NONE sends no requests. */
    floe_addr local[FLOE_SIP_TXL_TRANSPORTS];
    const char *host;      /* sent-by host instead of the IP (a name); NULL: the IP. Copied */
    floe_sip_rand_fn rand; /* required: branches */
    void *rand_ctx;
} floe_sip_txl_config;

/* RFC timer values, default caps, no local address. */
void floe_sip_txl_config_default(floe_sip_txl_config *c);

/* ---- events ---------------------------------------------------------------------------- */

typedef enum floe_sip_txl_event_type {
    FLOE_SIP_TXL_EV_NONE = 0,
    FLOE_SIP_TXL_EV_REQUEST,         /* id (0 for an ACK outside a transaction), target, msg */
    FLOE_SIP_TXL_EV_RESPONSE,        /* id, status, msg */
    FLOE_SIP_TXL_EV_TIMEOUT,         /* id, timer */
    FLOE_SIP_TXL_EV_TRANSPORT_ERROR, /* id */
} floe_sip_txl_event_type;

typedef struct floe_sip_txl_event {
    floe_sip_txl_event_type type;
    floe_time_ns at;          /* when it happened */
    uint32_t id;              /* the transaction (see the event types) */
    uint32_t target;          /* REQUEST: for CANCEL the INVITE server transaction it
                                 matches, for an ACK passed up from an Accepted INVITE
                                 server transaction that one; else 0 */
    floe_sip_txn_kind kind;   /* of transaction id */
    floe_sip_method method;   /* of the transaction (or of the request) */
    unsigned status;          /* RESPONSE */
    char timer;               /* TIMEOUT: 'B', 'C', 'F' or 'H' */
    floe_transport transport; /* REQUEST, RESPONSE: how it came; else the transaction's */
    floe_addr peer;           /* REQUEST, RESPONSE: its source; else the transaction's peer */
    /* REQUEST, RESPONSE: the message, parsed. A request's top Via carries received and
     * rport as described above. Its slices point into the layer and stay valid until
     * the next call of floe_sip_txl_next_event or floe_sip_txl_free. */
    floe_sip_msg msg;
} floe_sip_txl_event;

const char *floe_sip_txl_event_name(floe_sip_txl_event_type t);

/* ---- lifetime -------------------------------------------------------------------------- */

typedef struct floe_sip_txl floe_sip_txl;

/* FLOE_ERR_INVAL for a bad config (no rand, caps out of range, queues smaller than
 * 2 * max_msg, a timer over FLOE_SIP_TXL_TIMER_MAX, a host that is no valid sent-by host),
 * FLOE_ERR_NOMEM. */
int floe_sip_txl_new(floe_sip_txl **out, const floe_sip_txl_config *cfg);
void floe_sip_txl_free(floe_sip_txl *t);

/* ---- the transaction user's calls ---------------------------------------------------- */

/* Starts a client transaction for req (any method but ACK), sent over transport to `to`.
 * The layer puts its Via on top (new branch, rport) and sends the request at once;
 * *id (may be NULL) names the transaction in events. req must be complete otherwise
 * (Request-URI, To, From, Call-ID, CSeq, Max-Forwards: RFC 3261 §8.1.1). FLOE_ERR_INVAL
 * for a response, an ACK, a message that does not parse once printed, a transport with
 * no local address; FLOE_ERR_NOSPACE when it does not fit cfg.max_msg; FLOE_ERR_LIMIT when
 * the table is full; the random source's error. */
int floe_sip_txl_request(floe_sip_txl *t, floe_time_ns now, const floe_sip_msg *req,
                         floe_transport transport, const floe_addr *to, uint32_t *id);

/* Cancels INVITE client transaction invite_id (RFC 3261 §9.1): builds the CANCEL
 * (Request-URI, Call-ID, From, To, CSeq number and Route of the INVITE, its top Via) and
 * starts a non-INVITE client transaction for it; *id (may be NULL) names it. The final
 * answer to the INVITE still comes (487 normally). RFC 3261 forbids a CANCEL before a
 * provisional answer: FLOE_ERR_STATE until the INVITE is in Proceeding (call again after
 * the first 1xx event), and after a final answer. FLOE_ERR_NOT_FOUND for an unknown id,
 * FLOE_ERR_INVAL for one that is no INVITE client transaction; FLOE_ERR_LIMIT. */
int floe_sip_txl_cancel(floe_sip_txl *t, floe_time_ns now, uint32_t invite_id, uint32_t *id);

/* Sends resp (built from the request, e.g. with floe_sip_msg_response_to) on server
 * transaction id, to where the request says (see the top). Provisional answers keep the
 * transaction open; a final answer completes it (2xx to INVITE: Accepted, where only
 * 2xx may follow). FLOE_ERR_NOT_FOUND for an unknown (or ended) id, FLOE_ERR_STATE when
 * the transaction has sent its final answer (Accepted: a non-2xx), FLOE_ERR_INVAL for a
 * request or a message that does not parse once printed, FLOE_ERR_NOSPACE over
 * cfg.max_msg. */
int floe_sip_txl_respond(floe_sip_txl *t, floe_time_ns now, uint32_t id, const floe_sip_msg *resp);

/* Sends the last response of server transaction id again: the TU's retransmissions of a
 * reliable provisional answer (RFC 3262 §3) or of a 2xx to INVITE (RFC 3261 §13.3.1.4).
 * FLOE_ERR_NOT_FOUND, FLOE_ERR_STATE when nothing was sent or the transaction is past
 * Proceeding or Accepted. */
int floe_sip_txl_resend(floe_sip_txl *t, floe_time_ns now, uint32_t id);

/* Sends m outside any transaction: a request (the ACK of a 2xx: the layer puts its Via
 * with a new branch on top, as for floe_sip_txl_request) or a response (as given: its
 * Vias are the request's). FLOE_ERR_INVAL, FLOE_ERR_NOSPACE as above; FLOE_ERR_LIMIT
 * when the send queue is full. */
int floe_sip_txl_send(floe_sip_txl *t, floe_time_ns now, const floe_sip_msg *m,
                      floe_transport transport, const floe_addr *to);

/* The request of transaction id as the layer holds it: for a client transaction as sent
 * (with our Via), for a server one as received (with received/rport). Slices point
 * into the layer and stay valid while the transaction lives and out is not reused.
 * FLOE_ERR_NOT_FOUND. */
int floe_sip_txl_request_of(const floe_sip_txl *t, uint32_t id, floe_sip_msg *out);

/* ---- the loop -------------------------------------------------------------------------- */

/* Feeds one message from `from` over transport: a UDP datagram or one framed stream
 * message. Never fails the caller: returns FLOE_OK when the message was taken (passed to
 * the TU or absorbed by a transaction) or the reason it was dropped (FLOE_ERR_MALFORMED,
 * _NOT_FOUND for a response of no transaction, _LIMIT when full, _UNSUPPORTED for an
 * RFC 2543 branch, _NOSPACE when too big), always counted in the stats. CRLF keepalives
 * are FLOE_OK and counted apart. */
int floe_sip_txl_on_recv(floe_sip_txl *t, floe_time_ns now, floe_transport transport,
                         const floe_addr *from, const char *p, size_t len);

/* The runtime could not send to peer over transport (ICMP error, connection refused or
 * closed): every transaction with that peer and transport which can still send ends
 * with FLOE_SIP_TXL_EV_TRANSPORT_ERROR (RFC 3261 §17.1.4, §17.2.4). */
void floe_sip_txl_transport_error(floe_sip_txl *t, floe_time_ns now, floe_transport transport,
                                  const floe_addr *peer);

/* Runs the timers due at now. Afterwards the deadline lies after now (or is
 * FLOE_TIME_NEVER). Calling it early or twice is harmless. */
void floe_sip_txl_tick(floe_sip_txl *t, floe_time_ns now);
/* When tick must next run, or FLOE_TIME_NEVER. */
floe_time_ns floe_sip_txl_deadline(const floe_sip_txl *t);
/* The next message to send (ticking first): bytes into buf, its destination and
 * transport. FLOE_ERR_NOT_FOUND when none is queued, FLOE_ERR_NOSPACE when cap is too
 * small (it stays queued; cfg.max_msg bytes always suffice). */
int floe_sip_txl_next_send(floe_sip_txl *t, floe_time_ns now, char *buf, size_t cap, size_t *len,
                           floe_addr *to, floe_transport *transport);
/* Pops the oldest event into *ev; false when there is none. */
bool floe_sip_txl_next_event(floe_sip_txl *t, floe_sip_txl_event *ev);

/* ---- inspection ------------------------------------------------------------------------ */

typedef struct floe_sip_txn_info {
    floe_sip_txn_kind kind;
    floe_sip_txn_state state;
    floe_sip_method method;
    floe_transport transport;
    floe_addr peer; /* where its requests (client) or responses (server) go */
    char branch[FLOE_SIP_BRANCH_MAX + 1];
    floe_time_ns deadline; /* its next timer, FLOE_TIME_NEVER when none */
    unsigned last_status;  /* client: last status received; server: last sent */
} floe_sip_txn_info;

/* FLOE_ERR_NOT_FOUND when id names no live transaction. */
int floe_sip_txl_info(const floe_sip_txl *t, uint32_t id, floe_sip_txn_info *out);
/* Live transactions. */
unsigned floe_sip_txl_count(const floe_sip_txl *t);

/* Counters. Every input to on_recv ends in exactly one of the rx_* or drop_* counters:
 * rx == rx_keepalives + rx_requests + rx_request_retrans + rx_responses +
 *       rx_response_retrans + busy + sum(drop_*). */
typedef struct floe_sip_txl_stats {
    uint64_t rx;                  /* inputs to on_recv */
    uint64_t rx_keepalives;       /* CRLF keepalives (RFC 5626) */
    uint64_t rx_requests;         /* requests passed to the TU */
    uint64_t rx_request_retrans;  /* requests absorbed by a transaction (retransmissions,
                                     ACKs of non-2xx answers) */
    uint64_t rx_responses;        /* responses passed to the TU */
    uint64_t rx_response_retrans; /* responses absorbed by a transaction */
    uint64_t busy;                /* new requests answered 503: table or event queue full */
    uint64_t drop_malformed;      /* the parser refused it (parse_stats has the reason) */
    uint64_t drop_too_big;        /* over cfg.max_msg */
    uint64_t drop_no_cookie;      /* a request whose branch is not RFC 3261's */
    uint64_t drop_via;            /* a response without one usable Via; a request whose branch,
                                     sent-by host or method passes floe's caps */
    uint64_t drop_unmatched;      /* a response of no transaction */
    uint64_t drop_event_full;     /* a response or an ACK lost to a full event queue */
    uint64_t transactions;        /* transactions created (client and server) */
    uint64_t cap_txns;            /* requests refused or answered 503: table full */
    uint64_t tx;                  /* messages handed out by next_send */
    uint64_t tx_retrans;          /* of those queued by a timer or a request retransmission */
    uint64_t tx_dropped;          /* messages lost to a full send queue */
    uint64_t timeouts;            /* TIMEOUT events */
    uint64_t transport_errors;    /* TRANSPORT_ERROR events */
    uint64_t events_dropped;      /* TIMEOUT or TRANSPORT_ERROR lost to a full event queue */
    floe_sip_stats parse_stats;   /* the parser's own counters */
} floe_sip_txl_stats;

const floe_sip_txl_stats *floe_sip_txl_stats_get(const floe_sip_txl *t);

/* A fresh RFC 3261 branch: "z9hG4bK" and 2 * FLOE_SIP_BRANCH_RANDOM hex digits from rnd,
 * NUL-terminated into buf (cap >= 8 + 2 * FLOE_SIP_BRANCH_RANDOM). Also good for tags and
 * Call-IDs with another prefix: floe_sip_random_token. */
int floe_sip_branch_new(floe_sip_rand_fn rnd, void *ctx, char *buf, size_t cap);
/* prefix then 2 * nbytes hex digits from rnd (nbytes <= 32), NUL-terminated. */
int floe_sip_random_token(floe_sip_rand_fn rnd, void *ctx, const char *prefix, size_t nbytes,
                          char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
