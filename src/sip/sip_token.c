/* Random identifiers from the caller's source: branches (RFC 3261 §8.1.1.7: the cookie
 * and something unique), tags (§19.3) and Call-IDs (§8.1.1.4). */
#include <string.h>

#include "floe/err.h"
#include "floe/sip_txn.h"

int floe_sip_random_token(floe_sip_rand_fn rnd, void *ctx, const char *prefix, size_t nbytes,
                          char *buf, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    if (!rnd || !buf || nbytes == 0 || nbytes > 32) return FLOE_ERR_INVAL;
    size_t plen = prefix ? strlen(prefix) : 0;
    if (cap < plen + 2 * nbytes + 1) return FLOE_ERR_NOSPACE;
    uint8_t bytes[32];
    int rc = rnd(ctx, bytes, nbytes);
    if (rc != FLOE_OK) return rc;
    if (plen) memcpy(buf, prefix, plen);
    for (size_t i = 0; i < nbytes; i++) {
        buf[plen + 2 * i] = hex[bytes[i] >> 4];
        buf[plen + 2 * i + 1] = hex[bytes[i] & 15];
    }
    buf[plen + 2 * nbytes] = '\0';
    return FLOE_OK;
}

int floe_sip_branch_new(floe_sip_rand_fn rnd, void *ctx, char *buf, size_t cap) {
    return floe_sip_random_token(rnd, ctx, FLOE_SIP_BRANCH_COOKIE, FLOE_SIP_BRANCH_RANDOM, buf,
                                 cap);
}
