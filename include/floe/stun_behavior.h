/* floe: NAT behaviour discovery (RFC 5780), a sans-IO state machine over the Binding
 * client of stun_client.h.
 *
 * Give it the server's primary address and the local address of the one UDP socket
 * every test uses; drive it exactly like the client (start, next_send, on_recv, tick,
 * deadline, next_event) and read the verdict from the FLOE_STUN_BEHAVIOR_EV_DONE
 * event. The tests run in this order, each waiting for the previous one:
 *
 *   test I          Binding to the primary address. No answer: the server cannot be
 *                   reached. No OTHER-ADDRESS: the server does not do RFC 5780 and
 *                   discovery stops. The mapped address equal to the local address
 *                   means there is no NAT (RFC 5780 §4.3, first paragraph).
 *   filtering II    CHANGE-REQUEST "change IP and port" to the primary (RFC 5780 §4.4).
 *                   An answer means endpoint-independent filtering; silence means
 *                   test III is needed.
 *   filtering III   CHANGE-REQUEST "change port". An answer means address-dependent
 *                   filtering, silence address-and-port-dependent.
 *   mapping II      Binding to the alternate IP and the primary port (RFC 5780 §4.3).
 *                   Same mapped address as test I: endpoint-independent mapping.
 *   mapping III     Binding to the alternate IP and alternate port. Same mapped address
 *                   as mapping II: address-dependent, else address-and-port-dependent.
 *
 * The filtering tests run before the mapping tests on purpose: the mapping tests send
 * to the alternate IP, and the binding that creates in an address-dependent filter
 * would then let filtering test II through and make the filter look
 * endpoint-independent. Mapping tests are skipped when there is no NAT (the mapping is
 * then endpoint-independent by definition), but the filtering tests still run because
 * a firewall without NAT may filter too.
 *
 * In the filtering tests a timeout is the answer, so a lost response reads as a
 * stricter filter: the per-test schedule trades run time against that risk. The
 * default (FLOE_STUN_BEHAVIOR_RTO, _RC, _RM) gives up after 1.1 s per test, with four
 * copies of each request sent; RFC 5780 sets no timers of its own. */
#ifndef FLOE_STUN_BEHAVIOR_H
#define FLOE_STUN_BEHAVIOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun_client.h"
#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default schedule of every test (floe's choice, not an RFC value): requests at 0, 100,
 * 300 and 700 ms, then a last wait of 4 RTO: a silent test ends at 1.1 s. */
#define FLOE_STUN_BEHAVIOR_RTO FLOE_MS(100)
#define FLOE_STUN_BEHAVIOR_RC 4
#define FLOE_STUN_BEHAVIOR_RM 4
#define FLOE_STUN_BEHAVIOR_MAX_EVENTS 8

/* The tests, in the order they may run. */
typedef enum floe_stun_behavior_test {
    FLOE_STUN_BT_I = 0,      /* RFC 5780 §4.3/§4.4 test I: plain Binding, primary */
    FLOE_STUN_BT_FILTER_II,  /* RFC 5780 §4.4 test II: change IP and port */
    FLOE_STUN_BT_FILTER_III, /* RFC 5780 §4.4 test III: change port */
    FLOE_STUN_BT_MAP_II,     /* RFC 5780 §4.3 test II: alternate IP, primary port */
    FLOE_STUN_BT_MAP_III,    /* RFC 5780 §4.3 test III: alternate IP and port */
    FLOE_STUN_BT_COUNT
} floe_stun_behavior_test;

/* RFC 4787 behaviour classes, shared by mapping and filtering. */
typedef enum floe_nat_behavior {
    FLOE_NAT_UNKNOWN = 0,          /* not determined */
    FLOE_NAT_ENDPOINT_INDEPENDENT, /* RFC 4787 §4.1 / §5 */
    FLOE_NAT_ADDRESS_DEPENDENT,
    FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT,
} floe_nat_behavior;

typedef enum floe_stun_behavior_status {
    FLOE_STUN_BEHAVIOR_RUNNING = 0,
    FLOE_STUN_BEHAVIOR_OK,          /* all needed tests ran; mapping/filtering known */
    FLOE_STUN_BEHAVIOR_NO_RESPONSE, /* test I got no answer: server unreachable */
    FLOE_STUN_BEHAVIOR_UNSUPPORTED, /* no usable OTHER-ADDRESS: server lacks RFC 5780 */
    FLOE_STUN_BEHAVIOR_ERROR,       /* an error or unusable response (see error_code, err) */
    FLOE_STUN_BEHAVIOR_INCOMPLETE,  /* test I worked, but a mapping test got no answer */
} floe_stun_behavior_status;

typedef struct floe_stun_behavior_config {
    floe_addr server; /* the primary address */
    floe_addr local;  /* the socket's own address; FLOE_AF_NONE if unknown (then no NAT
                         verdict, and the mapping tests always run) */
    floe_stun_client_timing timing[FLOE_STUN_BT_COUNT]; /* schedule of each test */
    const char *software;                               /* SOFTWARE in requests, or NULL */
    floe_stun_rand_fn rand;                             /* required */
    void *rand_ctx;
} floe_stun_behavior_config;

/* Defaults: no addresses, every test on the FLOE_STUN_BEHAVIOR_* schedule. */
void floe_stun_behavior_config_default(floe_stun_behavior_config *c);

/* One test as it ran. */
typedef struct floe_stun_behavior_step {
    bool ran;
    floe_stun_client_event_type outcome; /* success, timeout, error response, failed */
    floe_addr dest;                      /* where the request went */
    unsigned change;                     /* CHANGE-REQUEST flags */
    floe_addr mapped;                    /* on success */
    floe_addr from;                      /* source of the response */
    unsigned requests;                   /* copies sent */
    floe_time_ns rtt_ns;
} floe_stun_behavior_step;

typedef struct floe_stun_behavior_result {
    floe_stun_behavior_status status;
    floe_nat_behavior mapping;
    floe_nat_behavior filtering;
    bool nat_known; /* the local address was given and test I answered */
    bool nat;       /* the mapped address of test I differs from the local address */
    floe_addr local, server;
    floe_addr mapped;           /* from test I */
    floe_addr other;            /* OTHER-ADDRESS from test I */
    floe_addr origin;           /* RESPONSE-ORIGIN from test I */
    bool server_ignored_change; /* a CHANGE-REQUEST answer came from the primary address:
                                   the server did not honour it, filtering is unknown */
    int error_code;             /* for FLOE_STUN_BEHAVIOR_ERROR with an error response */
    char reason[FLOE_STUN_CLIENT_REASON_MAX];
    int err;                             /* floe_err detail for ERROR */
    floe_stun_behavior_test failed_test; /* which test ended the run early */
    floe_stun_behavior_step steps[FLOE_STUN_BT_COUNT];
} floe_stun_behavior_result;

typedef enum floe_stun_behavior_event_type {
    FLOE_STUN_BEHAVIOR_EV_NONE = 0,
    FLOE_STUN_BEHAVIOR_EV_TEST, /* one test finished: `test` and result.steps[test] */
    FLOE_STUN_BEHAVIOR_EV_DONE, /* discovery is over: the verdict is in `result` */
} floe_stun_behavior_event_type;

typedef struct floe_stun_behavior_event {
    floe_stun_behavior_event_type type;
    floe_stun_behavior_test test;
    floe_stun_behavior_result result; /* a snapshot at the time of the event */
} floe_stun_behavior_event;

typedef enum floe_stun_behavior_state {
    FLOE_STUN_BS_IDLE = 0,
    FLOE_STUN_BS_TEST_I,
    FLOE_STUN_BS_FILTER_II,
    FLOE_STUN_BS_FILTER_III,
    FLOE_STUN_BS_MAP_II,
    FLOE_STUN_BS_MAP_III,
    FLOE_STUN_BS_DONE,
} floe_stun_behavior_state;

/* What a finished test says, as the state machine's input. */
typedef enum floe_stun_behavior_input {
    FLOE_STUN_BI_START = 0,
    FLOE_STUN_BI_ANSWER_SAME,  /* success; in mapping test II: same mapped address as
                                  test I */
    FLOE_STUN_BI_ANSWER_OTHER, /* success; in mapping test II: a different one */
    FLOE_STUN_BI_SILENCE,      /* timeout */
    FLOE_STUN_BI_FAILURE,      /* error response, unusable response, or test I without
                                  a usable OTHER-ADDRESS */
} floe_stun_behavior_input;

/* The state machine: the next state for an input. mapping_needed is false when test I
 * showed there is no NAT, which skips the mapping tests. Tests enumerate it. */
floe_stun_behavior_state floe_stun_behavior_next_state(floe_stun_behavior_state s,
                                                       floe_stun_behavior_input in,
                                                       bool mapping_needed);

typedef struct floe_stun_behavior {
    floe_stun_behavior_config cfg;
    floe_stun_behavior_state state;
    floe_stun_client client;
    floe_stun_behavior_result res;
    floe_stun_behavior_event events[FLOE_STUN_BEHAVIOR_MAX_EVENTS];
    unsigned ev_head, ev_count;
    int start_err; /* a failure to start the next test, reported as ERROR */
} floe_stun_behavior;

/* Validates cfg (rand present, server IPv4 or IPv6, local of the same family or NONE)
 * and initialises b. Returns FLOE_OK or FLOE_ERR_INVAL. */
int floe_stun_behavior_init(floe_stun_behavior *b, const floe_stun_behavior_config *cfg);

/* Starts test I. FLOE_ERR_STATE if already started. */
int floe_stun_behavior_start(floe_stun_behavior *b, floe_time_ns now);

/* The same contract as the client's functions of the same names. */
void floe_stun_behavior_tick(floe_stun_behavior *b, floe_time_ns now);
int floe_stun_behavior_next_send(floe_stun_behavior *b, floe_time_ns now, uint8_t *buf, size_t cap,
                                 size_t *len, floe_addr *dest);
bool floe_stun_behavior_on_recv(floe_stun_behavior *b, floe_time_ns now, const uint8_t *p,
                                size_t len, const floe_addr *src);
floe_time_ns floe_stun_behavior_deadline(const floe_stun_behavior *b);
bool floe_stun_behavior_next_event(floe_stun_behavior *b, floe_stun_behavior_event *ev);

/* True once the DONE event has been queued. */
bool floe_stun_behavior_done(const floe_stun_behavior *b);
/* The result so far (final once done). */
const floe_stun_behavior_result *floe_stun_behavior_result_get(const floe_stun_behavior *b);
/* The client's counters (unmatched and malformed input, requests sent). */
const floe_stun_client_stats *floe_stun_behavior_stats(const floe_stun_behavior *b);

/* "endpoint-independent", "address-dependent", "address-and-port-dependent", "unknown". */
const char *floe_nat_behavior_name(floe_nat_behavior v);
/* "ok", "no response", "unsupported", "error", "incomplete", "running". */
const char *floe_stun_behavior_status_name(floe_stun_behavior_status s);
/* "test I", "filtering test II", "filtering test III", "mapping test II", ... */
const char *floe_stun_behavior_test_name(floe_stun_behavior_test t);

#ifdef __cplusplus
}
#endif
#endif
