/* libFuzzer target for the a=candidate codec (src/sdp/sdp_candidate.c).
 *
 * (a) The input as a candidate line: whatever parses prints, the printed line parses
 *     to an equal candidate and prints to the same bytes. Failures carry a reason.
 * (b) The input as a raw floe_ice_cand: when the printer accepts it, the line parses
 *     back to the same candidate (the printer never writes what the parser refuses).
 * Any violation aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp_ice.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static bool same_addr(const floe_addr *a, const floe_addr *b) {
    if (a->family != b->family) return false;
    return a->family == FLOE_AF_NONE ? a->port == b->port : floe_addr_equal(a, b);
}

static bool same(const floe_ice_cand *a, const floe_ice_cand *b) {
    return a->type == b->type && a->transport == b->transport && a->component == b->component &&
           a->priority == b->priority && strcmp(a->foundation, b->foundation) == 0 &&
           same_addr(&a->addr, &b->addr) && same_addr(&a->related, &b->related) &&
           a->local_pref == b->local_pref;
}

static void round_trip(const floe_ice_cand *c) {
    char t1[FLOE_SDP_CANDIDATE_STRLEN], t2[FLOE_SDP_CANDIDATE_STRLEN];
    int n = floe_sdp_candidate_print(c, t1, sizeof t1);
    if (n < 0) return;
    CHECK((size_t)n == strlen(t1) && (size_t)n < sizeof t1);
    floe_ice_cand d;
    floe_sdp_error e;
    CHECK(floe_sdp_candidate_parse(t1, (size_t)n, &d, &e) == FLOE_OK);
    /* The printer drops zones and (for hand-made input) ports of an absent raddr. */
    floe_ice_cand want = *c;
    want.addr.scope_id = 0;
    want.related.scope_id = 0;
    if (want.related.family == FLOE_AF_NONE) memset(&want.related, 0, sizeof want.related);
    want.local_pref = (uint16_t)((c->priority >> 8) & 0xffff);
    CHECK(same(&want, &d));
    CHECK(floe_sdp_candidate_print(&d, t2, sizeof t2) == n && memcmp(t1, t2, (size_t)n) == 0);
    /* Short buffers fail and stay terminated. */
    CHECK(floe_sdp_candidate_print(c, t2, (size_t)n) == FLOE_ERR_NOSPACE);
    CHECK(strlen(t2) == (size_t)n - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    floe_ice_cand c;
    floe_sdp_error e;
    int rc = floe_sdp_candidate_parse((const char *)data, size, &c, &e);
    if (rc == FLOE_OK) {
        CHECK(e.reason == NULL);
        CHECK(c.component >= 1 && c.priority >= 1 && c.priority <= 0x7fffffffu);
        CHECK(c.addr.port != 0 && strlen(c.foundation) >= 1 && strlen(c.foundation) <= 32);
        CHECK(c.transport == FLOE_TRANSPORT_UDP);
        char t[FLOE_SDP_CANDIDATE_STRLEN];
        CHECK(floe_sdp_candidate_print(&c, t, sizeof t) > 0);
        round_trip(&c);
    } else {
        CHECK(rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_UNSUPPORTED);
        CHECK(e.reason != NULL);
    }

    if (size >= sizeof(floe_ice_cand)) {
        floe_ice_cand raw;
        memcpy(&raw, data, sizeof raw);
        raw.foundation[FLOE_ICE_FOUNDATION_MAX] = '\0';
        /* Keep the enums valid so the comparison is meaningful. */
        raw.type = (floe_ice_cand_type)((unsigned)raw.type % 5u);
        raw.transport = (floe_transport)((unsigned)raw.transport % 4u);
        round_trip(&raw);
    }
    return 0;
}
