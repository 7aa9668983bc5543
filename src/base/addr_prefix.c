/* Address prefixes for allow and deny lists: parse, format, and match (including the
 * IPv4 addresses an IPv6 form carries, as the one classifier finds them). */
#include <stdlib.h>
#include <string.h>

#include "floe/addr.h"
#include "floe/err.h"

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned len) {
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(a, b, full) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

int floe_addr_prefix_parse(const char *s, floe_addr_prefix *out) {
    char ip[FLOE_ADDR_STRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof ip) return FLOE_ERR_ADDR;
    memcpy(ip, s, n);
    ip[n] = '\0';
    memset(out, 0, sizeof *out);
    if (floe_addr_parse(ip, &out->addr) != FLOE_OK || out->addr.port != 0 ||
        out->addr.scope_id != 0)
        return FLOE_ERR_ADDR;
    unsigned max = out->addr.family == FLOE_AF_INET4 ? 32 : 128, len = max;
    if (slash) {
        char *end = NULL;
        if (slash[1] < '0' || slash[1] > '9') return FLOE_ERR_ADDR;
        unsigned long v = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || v > max) return FLOE_ERR_ADDR;
        len = (unsigned)v;
    }
    /* Host bits must be zero: "10.1.2.3/8" is a typo, not a wider list entry. */
    uint8_t masked[16];
    memcpy(masked, out->addr.ip, 16);
    for (unsigned bit = len; bit < max; bit++)
        masked[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    if (memcmp(masked, out->addr.ip, 16) != 0) return FLOE_ERR_ADDR;
    out->len = (uint8_t)len;
    return FLOE_OK;
}

size_t floe_addr_prefix_format(const floe_addr_prefix *p, char *buf, size_t cap) {
    char ip[FLOE_ADDR_STRLEN];
    floe_addr_format(&p->addr, false, ip, sizeof ip);
    size_t n = strlen(ip);
    char tail[5];
    size_t t = 0;
    tail[t++] = '/';
    if (p->len >= 100) tail[t++] = (char)('0' + p->len / 100);
    if (p->len >= 10) tail[t++] = (char)('0' + p->len / 10 % 10);
    tail[t++] = (char)('0' + p->len % 10);
    size_t total = n + t;
    if (cap == 0) return total;
    size_t k = total < cap ? total : cap - 1;
    memcpy(buf, ip, k < n ? k : n);
    if (k > n) memcpy(buf + n, tail, k - n);
    buf[k] = '\0';
    return total;
}

bool floe_addr_prefix_match(const floe_addr_prefix *p, const floe_addr *a) {
    return a->family == p->addr.family && bits_equal(a->ip, p->addr.ip, p->len);
}

bool floe_addr_prefix_match_any_form(const floe_addr_prefix *p, const floe_addr *a) {
    if (floe_addr_prefix_match(p, a)) return true;
    floe_addr_info info;
    floe_addr_classify(a, &info);
    for (int i = 0; i < info.n_embedded; i++)
        if (floe_addr_prefix_match(p, &info.embedded[i])) return true;
    return false;
}
