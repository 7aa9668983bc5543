/* libFuzzer target: the STUN attribute walk over arbitrary bytes.
 *
 * The input is treated as a message body (what follows the 20-byte header) and walked
 * with floe_stun_attr_next(); every attribute found goes through floe_stun_attr_check()
 * and floe_stun_attr_addr() on a dummy message. Each value is first copied into a heap
 * block of exactly its length, so AddressSanitizer reports any read past the value
 * (into its padding or beyond). Invariants (abort() when broken):
 *   - the walk terminates, in at most size/4 + 1 steps, each step advancing by the
 *     4-byte header plus the padded value, never past the end of the input;
 *   - a clean end (FLOE_ERR_NOT_FOUND) happens exactly at the end of the input, and a
 *     truncation (FLOE_ERR_TRUNCATED) is sticky;
 *   - the checkers return only FLOE_OK or FLOE_ERR_MALFORMED, an address decodes iff
 *     it is an address type that passes the check, and it round trips through the
 *     builder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static volatile uint8_t sink;

/* The address decoded from attribute a, encoded again by the builder, must give the
 * same value bytes (apart from the reserved first byte, which the builder zeroes). */
static void addr_round_trip(const floe_stun_msg *dummy, const floe_stun_attr *a,
                            const floe_addr *ad) {
    uint8_t buf[64];
    floe_stun_builder b;
    CHECK(floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS,
                                 dummy->tid) == FLOE_OK);
    if (floe_stun_attr_is_xor_address(a->type))
        floe_stun_add_xor_addr(&b, a->type, ad);
    else
        floe_stun_add_addr(&b, a->type, ad);
    size_t len = 0;
    CHECK(floe_stun_builder_finish(&b, &len) == FLOE_OK);
    CHECK(len == FLOE_STUN_HEADER_LEN + 4u + a->len);
    CHECK(floe_get_u16(buf + 20) == a->type && floe_get_u16(buf + 22) == a->len);
    CHECK(memcmp(buf + 25, a->val + 1, a->len - 1u) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A dummy message for the XOR decoding: a fixed transaction ID, no attributes. */
    static const uint8_t tid[FLOE_STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                                   0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
    floe_stun_msg dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.type = floe_stun_type(FLOE_STUN_BINDING, FLOE_STUN_SUCCESS);
    dummy.method = FLOE_STUN_BINDING;
    dummy.cls = FLOE_STUN_SUCCESS;
    memcpy(dummy.tid, tid, sizeof tid);
    dummy.mi = dummy.mi256 = dummy.fp = -1;

    floe_rd r = floe_rd_init(data, size);
    size_t off = 0, steps = 0;
    for (;;) {
        floe_stun_attr a;
        int rc = floe_stun_attr_next(&r, &a);
        steps++;
        CHECK(steps <= size / 4 + 1);
        if (rc == FLOE_ERR_NOT_FOUND) {
            CHECK(!r.err && r.off == size && off == size);
            break;
        }
        if (rc == FLOE_ERR_TRUNCATED) {
            CHECK(r.err || floe_rd_left(&r) < 4);
            floe_stun_attr again;
            CHECK(floe_stun_attr_next(&r, &again) == FLOE_ERR_TRUNCATED);
            break;
        }
        CHECK(rc == FLOE_OK);
        size_t padded = ((size_t)a.len + 3u) & ~(size_t)3u;
        CHECK(a.type == floe_get_u16(data + off) && a.len == floe_get_u16(data + off + 2));
        CHECK(a.val == data + off + 4);
        CHECK(r.off == off + 4 + padded && r.off <= size);
        off = r.off;

        /* the value and its padding are readable */
        unsigned sum = 0;
        for (size_t i = 0; i < padded; i++)
            sum += a.val[i];
        sink = (uint8_t)sum;

        /* check and decode from an exactly-sized copy of the value */
        uint8_t *copy = malloc(a.len ? a.len : 1);
        CHECK(copy != NULL);
        if (a.len) memcpy(copy, a.val, a.len);
        floe_stun_attr c = {a.type, a.len, a.len ? copy : copy + 1};
        int ck = floe_stun_attr_check(&c);
        CHECK(ck == FLOE_OK || ck == FLOE_ERR_MALFORMED);
        floe_addr ad;
        int ra = floe_stun_attr_addr(&dummy, &c, &ad);
        CHECK(ra == FLOE_OK || ra == FLOE_ERR_MALFORMED);
        CHECK((ra == FLOE_OK) == (ck == FLOE_OK && floe_stun_attr_is_address(a.type)));
        if (ra == FLOE_OK) {
            CHECK(ad.family == FLOE_AF_INET4 || ad.family == FLOE_AF_INET6);
            CHECK(a.len == (ad.family == FLOE_AF_INET4 ? 8 : 20));
            addr_round_trip(&dummy, &a, &ad);
        }
        (void)floe_stun_attr_name(a.type);
        free(copy);
    }
    return 0;
}
