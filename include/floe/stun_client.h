/* floe: a STUN Binding client for one server, sans-IO (RFC 8489 §6.2, §7.3).
 *
 * The client owns one Binding transaction at a time. It never touches a socket or a
 * clock: the caller passes "now" to every call, drains the datagrams the client wants
 * to send, feeds it what arrives, and pulls the outcome as an event. The transaction
 * ID comes from the random-bytes callback given at init (the POSIX runtime passes
 * floe_rt_random). Nothing is allocated; the object is a plain struct.
 *
 *   floe_stun_client c;
 *   floe_stun_client_config cfg;
 *   floe_stun_client_config_default(&cfg);
 *   cfg.server = server_addr;
 *   cfg.rand = floe_rt_random;
 *   floe_stun_client_init(&c, &cfg);
 *   floe_stun_client_start(&c, now, NULL);            // a plain Binding request
 *   for (;;) {
 *       while (floe_stun_client_next_send(&c, now, buf, sizeof buf, &n, &to) == FLOE_OK)
 *           send n bytes of buf to `to`;
 *       floe_stun_client_event ev;
 *       if (floe_stun_client_next_event(&c, &ev)) break;  // success, error, timeout...
 *       wait until floe_stun_client_deadline(&c) or a datagram arrives;
 *       now = clock;
 *       if a datagram arrived: floe_stun_client_on_recv(&c, now, p, len, &src);
 *       floe_stun_client_tick(&c, now);
 *   }
 *
 * Retransmissions over an unreliable transport follow floe_stun_txn (RFC 8489 §6.2.1:
 * sends at 0, RTO, 3 RTO, 7 RTO, ...), with the number of requests (Rc) and the final
 * wait (Rm * RTO) adjustable per transaction: NAT behaviour discovery (stun_behavior.h)
 * uses a much shorter schedule than the RFC default, because there a silence is an
 * answer. Over a reliable transport (TCP, TLS) the request is sent once and the client
 * waits Ti (RFC 8489 §6.2.2).
 *
 * Round-trip time. Retransmissions are identical copies of the request (same
 * transaction ID, same bytes), so when the response arrives after a retransmission it
 * cannot be told which copy it answers (RFC 8489 §6.2.1 keeps such samples out of the
 * RTO estimate, as Karn's algorithm does). The result therefore carries two values:
 * rtt_ns, measured from the first send (an upper bound on the true RTT), and
 * rtt_last_ns, measured from the most recent send (a lower bound when several copies
 * were sent). They are equal, and rtt_exact is true, when exactly one request was sent. */
#ifndef FLOE_STUN_CLIENT_H
#define FLOE_STUN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun.h"
#include "floe/stun_txn.h"
#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest request the client builds: header, CHANGE-REQUEST, SOFTWARE and FINGERPRINT.
 * RFC 8489 §6.1 wants requests over UDP to stay well below the path MTU. */
#define FLOE_STUN_CLIENT_MAX_REQUEST 256
/* Longest SOFTWARE value the client puts in a request (bytes). */
#define FLOE_STUN_CLIENT_MAX_SOFTWARE 128
/* Longest reason phrase kept from an error response (bytes, NUL included). */
#define FLOE_STUN_CLIENT_REASON_MAX 128
/* Events waiting to be pulled; one transaction makes exactly one. */
#define FLOE_STUN_CLIENT_MAX_EVENTS 4

/* Random-bytes source: fills buf with len bytes and returns FLOE_OK, or a negative
 * floe_err. The POSIX runtime's floe_rt_random() has this shape. */
typedef int (*floe_stun_rand_fn)(void *ctx, void *buf, size_t len);

/* The retransmission schedule of one transaction. Zero fields take the RFC 8489
 * defaults shown. */
typedef struct floe_stun_client_timing {
    floe_time_ns rto;      /* initial RTO; 0 = FLOE_STUN_RTO_DEFAULT (500 ms) */
    unsigned max_requests; /* Rc, requests sent in all over UDP (1..FLOE_STUN_RC_MAX);
                              0 = FLOE_STUN_RC (7) */
    unsigned last_wait;    /* Rm, the wait after the last request in RTOs (..FLOE_STUN_RM_MAX); 0 =
                              FLOE_STUN_RM */
    floe_time_ns timeout;  /* if non-zero, give up this long after the first send even
                              when the schedule has requests left (the only limit over a
                              reliable transport besides Ti) */
} floe_stun_client_timing;

typedef struct floe_stun_client_config {
    floe_addr server; /* where requests go unless a request names another place */
    bool reliable;    /* TCP or TLS: send once, wait Ti, no retransmissions */
    floe_stun_client_timing timing;
    const char *software;   /* SOFTWARE attribute in requests; NULL sends none */
    bool fingerprint;       /* add FINGERPRINT to requests (default true) */
    floe_stun_rand_fn rand; /* required: transaction IDs */
    void *rand_ctx;
} floe_stun_client_config;

/* Fills c with defaults: no server, unreliable, RFC 8489 timing, FINGERPRINT on. */
void floe_stun_client_config_default(floe_stun_client_config *c);

typedef enum floe_stun_client_state {
    FLOE_STUN_CLIENT_IDLE = 0, /* no transaction yet, or the last one is finished */
    FLOE_STUN_CLIENT_WAITING,  /* a request is outstanding */
} floe_stun_client_state;

typedef enum floe_stun_client_event_type {
    FLOE_STUN_CLIENT_EV_NONE = 0,
    FLOE_STUN_CLIENT_EV_SUCCESS,        /* a success response: mapped address known */
    FLOE_STUN_CLIENT_EV_ERROR_RESPONSE, /* an error response: error_code and reason */
    FLOE_STUN_CLIENT_EV_TIMEOUT,        /* no response before the schedule ran out */
    FLOE_STUN_CLIENT_EV_FAILED,         /* a matching response that cannot be used
                                           (RFC 8489 §7.3.3/§7.3.4): `err` says why */
} floe_stun_client_event_type;

/* What one transaction found out. Addresses a response did not carry have family
 * FLOE_AF_NONE. */
typedef struct floe_stun_client_result {
    uint8_t tid[FLOE_STUN_TID_LEN]; /* the transaction ID used */
    floe_addr dest;                 /* where the request was sent */
    unsigned change;                /* CHANGE-REQUEST flags sent (0 = none) */
    unsigned requests;              /* copies of the request handed out by next_send */
    floe_time_ns started;           /* first send */
    floe_time_ns finished;          /* response arrival or give-up time */

    floe_addr from;   /* source address of the response */
    floe_addr mapped; /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (RFC 8489 §14.1-2) */
    bool mapped_xor;  /* mapped came from XOR-MAPPED-ADDRESS */
    floe_addr other;  /* OTHER-ADDRESS (RFC 5780 §7.4) */
    floe_addr origin; /* RESPONSE-ORIGIN (RFC 5780 §7.3) */

    floe_time_ns rtt_ns;      /* response time minus first send (see the header comment) */
    floe_time_ns rtt_last_ns; /* response time minus most recent send */
    bool rtt_exact;           /* exactly one request was sent: rtt_ns is the RTT */

    int error_code;                           /* 300..699 for an error response */
    char reason[FLOE_STUN_CLIENT_REASON_MAX]; /* its reason phrase; control characters
                                                 replaced by '?', NUL-terminated */
    uint16_t unknown[4];                      /* UNKNOWN-ATTRIBUTES of a 420, first few */
    unsigned n_unknown;
    int err; /* FLOE_STUN_CLIENT_EV_FAILED: FLOE_ERR_UNKNOWN_ATTR (the response holds an
                unknown comprehension-required attribute), FLOE_ERR_MALFORMED (no usable
                mapped address or no ERROR-CODE); FLOE_ERR_TIMEOUT for a timeout */
} floe_stun_client_result;

typedef struct floe_stun_client_event {
    floe_stun_client_event_type type;
    floe_stun_client_result result;
} floe_stun_client_event;

/* Counters: every datagram given to on_recv lands in exactly one drop_* counter or in
 * rx_matched, so rx == rx_matched + sum(drop_*). */
typedef struct floe_stun_client_stats {
    uint64_t transactions;      /* transactions started */
    uint64_t tx;                /* requests handed out by next_send, copies included */
    uint64_t rx;                /* datagrams given to on_recv */
    uint64_t rx_matched;        /* responses that ended a transaction */
    uint64_t drop_malformed;    /* not STUN, bad framing, bad FINGERPRINT */
    uint64_t drop_not_response; /* requests and indications */
    uint64_t drop_unmatched;    /* no outstanding transaction with that ID and method */
    uint64_t events_dropped;    /* outcomes lost because nobody pulled events */
} floe_stun_client_stats;

typedef struct floe_stun_client {
    floe_stun_client_config cfg;
    floe_stun_client_state state;
    floe_stun_txn txn;
    floe_stun_client_timing timing; /* resolved for the current transaction */
    floe_time_ns last_send;         /* when the latest copy went out */
    bool send_pending;              /* a copy of the request is owed to next_send */
    uint8_t req[FLOE_STUN_CLIENT_MAX_REQUEST];
    size_t req_len;
    floe_stun_client_result cur;
    floe_stun_client_event events[FLOE_STUN_CLIENT_MAX_EVENTS];
    unsigned ev_head, ev_count;
    floe_stun_client_stats stats;
} floe_stun_client;

/* Per-request options. */
typedef struct floe_stun_client_request {
    const floe_addr *dest;                 /* NULL: the configured server */
    unsigned change;                       /* FLOE_STUN_CHANGE_IP / _PORT; 0 = no
                                              CHANGE-REQUEST attribute (RFC 5780 §7.2) */
    const floe_stun_client_timing *timing; /* NULL: the configured timing */
} floe_stun_client_request;

/* Validates cfg and initialises c. FLOE_ERR_INVAL when rand is missing, the timing is
 * out of range or SOFTWARE is longer than FLOE_STUN_CLIENT_MAX_SOFTWARE. */
int floe_stun_client_init(floe_stun_client *c, const floe_stun_client_config *cfg);

/* Starts a Binding transaction at now with a fresh transaction ID; the first copy of
 * the request is then waiting in next_send. req may be NULL (plain request to the
 * server). Returns FLOE_OK, FLOE_ERR_STATE (a transaction is outstanding),
 * FLOE_ERR_INVAL (no destination, bad flags or timing), FLOE_ERR_NOSPACE (the request
 * does not fit FLOE_STUN_CLIENT_MAX_REQUEST) or the random source's error. */
int floe_stun_client_start(floe_stun_client *c, floe_time_ns now,
                           const floe_stun_client_request *req);

/* Abandons the outstanding transaction, if any, without an event. A late response to
 * it is then counted as unmatched. */
void floe_stun_client_cancel(floe_stun_client *c);

/* Advances time: schedules retransmissions and gives up when the schedule is over
 * (queuing FLOE_STUN_CLIENT_EV_TIMEOUT). Calling it early or twice is harmless. */
void floe_stun_client_tick(floe_stun_client *c, floe_time_ns now);

/* Writes the next datagram to send into buf and its destination into *dest (ticking
 * first). Returns FLOE_OK, FLOE_ERR_NOT_FOUND when nothing is due, or FLOE_ERR_NOSPACE
 * when cap is too small (the datagram stays queued). */
int floe_stun_client_next_send(floe_stun_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                               size_t *len, floe_addr *dest);

/* Feeds one received datagram (or one framed stream message) from src. Input that is
 * not a response to the outstanding transaction is dropped and counted; it never
 * fails. Returns true when it ended the transaction (an event is then queued). */
bool floe_stun_client_on_recv(floe_stun_client *c, floe_time_ns now, const uint8_t *p, size_t len,
                              const floe_addr *src);

/* When tick must next run, or FLOE_TIME_NEVER with no transaction outstanding. */
floe_time_ns floe_stun_client_deadline(const floe_stun_client *c);

/* Pops the oldest event into *ev. Returns false when there is none. */
bool floe_stun_client_next_event(floe_stun_client *c, floe_stun_client_event *ev);

/* "success", "error response", "timeout", "failed" or "none". */
const char *floe_stun_client_event_name(floe_stun_client_event_type t);

#ifdef __cplusplus
}
#endif
#endif
