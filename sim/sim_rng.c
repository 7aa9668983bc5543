/* floe simulator: xoshiro256** with splitmix64 seeding (see sim_rng.h). */
#include "sim_rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void floe_sim_rng_seed(floe_sim_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* splitmix64 never yields four zero words in a row, but keep the invariant explicit:
     * xoshiro's state must not be all zero. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

void floe_sim_rng_seed_label(floe_sim_rng *r, uint64_t seed, const char *label) {
    /* FNV-1a over the label, mixed with the seed through splitmix64. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *p = label ? label : ""; *p; p++) {
        h ^= (uint8_t)*p;
        h *= UINT64_C(0x100000001b3);
    }
    uint64_t x = seed ^ h;
    floe_sim_rng_seed(r, splitmix64(&x) ^ rotl(h, 17));
}

uint64_t floe_sim_rng_next(floe_sim_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t floe_sim_rng_below(floe_sim_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* Reject the top partial block so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do {
        v = floe_sim_rng_next(r);
    } while (v >= limit);
    return v % n;
}

double floe_sim_rng_unit(floe_sim_rng *r) {
    return (double)(floe_sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double floe_sim_rng_normal(floe_sim_rng *r) {
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += floe_sim_rng_unit(r);
    return sum - 6.0;
}

int floe_sim_rng_bytes(void *ctx, void *buf, size_t len) {
    floe_sim_rng *r = ctx;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t v = floe_sim_rng_next(r);
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++) /* little-endian on every host: same bytes everywhere */
            p[i] = (uint8_t)(v >> (8 * i));
        p += n;
        len -= n;
    }
    return 0;
}
