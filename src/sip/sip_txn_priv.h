/* Private to the SIP transaction layer (src/sip/sip_txl*.c, sip_txn_*.c): the table, the
 * byte queues, and the helpers the client and server halves share. Tests and the fuzz
 * target include it to check invariants. */
#ifndef FLOE_SIP_TXN_PRIV_H
#define FLOE_SIP_TXN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip.h"
#include "floe/sip_txn.h"

/* ---- a FIFO of variable-sized records in a fixed byte buffer ---------------------------- */

/* Each record is a fixed-size header (the queue's hdr_len) and a body of any length. */
typedef struct sip_ring {
    uint8_t *buf;
    size_t cap;
    size_t head, tail; /* live bytes are buf[head..tail) */
    size_t hdr_len;
    unsigned count;
} sip_ring;

void sip_ring_init(sip_ring *r, uint8_t *buf, size_t cap, size_t hdr_len);
/* False when there is no room (nothing is written). */
bool sip_ring_push(sip_ring *r, const void *hdr, const void *body, size_t body_len);
/* The oldest record's body length; false when empty. */
bool sip_ring_peek(const sip_ring *r, void *hdr, size_t *body_len);
/* Copies the oldest record out (body into body[0..cap)) and removes it. False when empty
 * or when cap is too small (then nothing is removed). */
bool sip_ring_pop(sip_ring *r, void *hdr, void *body, size_t cap, size_t *body_len);
/* Room for a record with this body, counting its header. */
size_t sip_ring_record_size(const sip_ring *r, size_t body_len);

/* ---- the table --------------------------------------------------------------------------- */

#define SIP_TXN_SLOT_BITS 16 /* id = generation << 16 | slot */

typedef struct sip_txn {
    bool used;
    floe_sip_txn_kind kind;
    floe_sip_txn_state state;
    uint16_t gen;
    floe_transport tp;
    floe_addr peer; /* requests (client) or responses (server) go there */
    floe_sip_method method;
    char method_name[FLOE_SIP_METHOD_MAX];
    size_t method_len;
    char branch[FLOE_SIP_BRANCH_MAX];
    size_t branch_len;
    char sent_by[FLOE_SIP_SENT_BY_MAX]; /* server: the top Via's host, lower case */
    size_t sent_by_len;
    uint16_t sent_by_port; /* 0: none written */
    floe_time_ns retx_at;  /* A, E, G, or the 100 Trying timer; NEVER when off */
    floe_time_ns retx_gap; /* the next gap of the retransmission timer */
    floe_time_ns end_at;   /* B, C, D, F, H, I, J, K, L, M; NEVER when off */
    char *msg;             /* the request (client: as sent; server: as received) */
    size_t msg_len;
    char *aux; /* ICT: the ACK of a non-2xx answer; server: the last response */
    size_t aux_len;
    unsigned status; /* client: last received; server: last sent */
} sip_txn;

/* Header of a record in the send queue. */
typedef struct sip_send_hdr {
    floe_addr to;
    floe_transport tp;
    bool retrans;
} sip_send_hdr;

/* Header of a record in the event queue (the body is the message, if any). */
typedef struct sip_event_hdr {
    floe_sip_txl_event_type type;
    floe_time_ns at;
    uint32_t id, target;
    floe_sip_txn_kind kind;
    floe_sip_method method;
    unsigned status;
    char timer;
    floe_transport tp;
    floe_addr peer;
} sip_event_hdr;

struct floe_sip_txl {
    floe_sip_txl_config cfg;
    char host[FLOE_SIP_SENT_BY_MAX]; /* cfg.host copied ("" when none) */
    floe_time_ns t1, t2, t4, timer_d, timer_c, trying_delay;
    unsigned max_txns;
    size_t max_msg;
    sip_txn *txns;
    char *store; /* 2 * max_msg bytes per slot */
    sip_ring sendq, evq;
    uint8_t *sendq_buf, *evq_buf;
    char *ev_buf;       /* the message of the event handed out last */
    char *scratch;      /* a message being built or rewritten */
    char *scratch2;     /* text that message points at */
    floe_sip_msg in;    /* scratch views: the message on_recv is handling */
    floe_sip_msg work;  /* ... a message being built */
    floe_sip_msg work2; /* ... a message it is built from */
    floe_sip_msg check; /* ... what sip_txl_print_checked parsed back */
    floe_sip_txl_stats stats;
};

/* ---- shared helpers ------------------------------------------------------------------- */

static inline bool sip_txn_reliable(const sip_txn *x) {
    return floe_transport_reliable(x->tp);
}
static inline uint32_t sip_txn_id(const floe_sip_txl *t, const sip_txn *x) {
    return (uint32_t)x->gen << SIP_TXN_SLOT_BITS | (uint32_t)(x - t->txns);
}

sip_txn *sip_txl_find_id(const floe_sip_txl *t, uint32_t id);
/* A free slot, set up as kind in its initial state, or NULL (the table is full). */
sip_txn *sip_txl_alloc(floe_sip_txl *t, floe_sip_txn_kind kind);
/* Frees the slot. */
void sip_txl_release(floe_sip_txl *t, sip_txn *x);
/* Applies ev to x's machine and returns the new state; frees x when it terminates. */
floe_sip_txn_state sip_txl_step(floe_sip_txl *t, sip_txn *x, floe_sip_txn_event ev);

/* Queues bytes for sending (counts tx_dropped when full). False when dropped. */
bool sip_txl_queue_send(floe_sip_txl *t, const char *p, size_t len, floe_transport tp,
                        const floe_addr *to, bool retrans);
/* Queues an event; body may be NULL. False when the queue is full. */
bool sip_txl_queue_event(floe_sip_txl *t, const sip_event_hdr *h, const char *body,
                         size_t body_len);
/* Queues a TIMEOUT or TRANSPORT_ERROR event for x (counts events_dropped when full). */
void sip_txl_queue_end(floe_sip_txl *t, const sip_txn *x, floe_time_ns now,
                       floe_sip_txl_event_type type, char timer);
/* True when the queue has room for an event with this body. */
bool sip_txl_event_room(const floe_sip_txl *t, size_t body_len);

/* Prints m into buf[0..cap) and checks that it parses back (FLOE_ERR_INVAL if not). */
int sip_txl_print_checked(floe_sip_txl *t, const floe_sip_msg *m, char *buf, size_t cap,
                          size_t *len);
/* Prints "SIP/2.0/<T> <sent-by>;rport;branch=<branch>" into the arena. */
int sip_txl_our_via(const floe_sip_txl *t, floe_transport tp, const char *branch,
                    floe_sip_arena *ar, floe_sip_str *out);
/* Copies m into out with a Via of value via inserted first. */
int sip_txl_with_via(const floe_sip_msg *m, floe_sip_str via, floe_sip_msg *out);
/* Copies a method name (FLOE_ERR_LIMIT when too long). */
int sip_txn_set_method(sip_txn *x, floe_sip_str name);
bool sip_txn_method_is(const sip_txn *x, floe_sip_str name);

/* ---- the client half (sip_txn_client.c) -------------------------------------------------- */

/* A response whose top Via and CSeq were read: matched and applied, or dropped. */
int sip_client_on_response(floe_sip_txl *t, floe_time_ns now, floe_transport tp,
                           const floe_addr *from, const floe_sip_msg *m, const char *p, size_t len);
/* The timers of a client transaction due at now. */
void sip_client_timer(floe_sip_txl *t, sip_txn *x, floe_time_ns now, bool retx);

/* ---- the server half (sip_txn_server.c) ---------------------------------------------------- */

int sip_server_on_request(floe_sip_txl *t, floe_time_ns now, floe_transport tp,
                          const floe_addr *from, const floe_sip_msg *m);
void sip_server_timer(floe_sip_txl *t, sip_txn *x, floe_time_ns now, bool retx);

#endif
