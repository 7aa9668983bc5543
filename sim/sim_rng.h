/* floe simulator: a seeded, deterministic pseudo-random generator.
 *
 * xoshiro256** (Blackman and Vigna), seeded through splitmix64. The simulator never
 * calls rand() or reads OS randomness: every random choice (jitter, loss, NAT ports,
 * transaction IDs of the core objects it drives) comes from one of these streams, so a
 * run is a pure function of its seed.
 *
 * Streams are independent: the world derives one per network and per NAT from the seed
 * and the object's name (floe_sim_rng_seed_label), so adding a host or drawing more
 * numbers in one place does not shift the numbers drawn elsewhere. */
#ifndef FLOE_SIM_RNG_H
#define FLOE_SIM_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_sim_rng {
    uint64_t s[4];
} floe_sim_rng;

/* Seeds r from a 64-bit seed (any value, 0 included). */
void floe_sim_rng_seed(floe_sim_rng *r, uint64_t seed);

/* Seeds r from a seed and a label: the same pair always gives the same stream, and
 * different labels give unrelated streams. label may be NULL (same as ""). */
void floe_sim_rng_seed_label(floe_sim_rng *r, uint64_t seed, const char *label);

/* The next 64 random bits. */
uint64_t floe_sim_rng_next(floe_sim_rng *r);

/* A uniform integer in [0, n), without modulo bias. n == 0 returns 0. */
uint64_t floe_sim_rng_below(floe_sim_rng *r, uint64_t n);

/* A uniform double in [0, 1) (53 random bits). */
double floe_sim_rng_unit(floe_sim_rng *r);

/* An approximately standard normal value (mean 0, deviation 1) from the sum of twelve
 * uniforms (Irwin-Hall), so always within [-6, 6]. Needs no libm. */
double floe_sim_rng_normal(floe_sim_rng *r);

/* Fills buf with len random bytes and returns 0 (FLOE_OK). ctx is a floe_sim_rng *.
 * The shape is floe_stun_rand_fn, so core objects can take it as their random source. */
int floe_sim_rng_bytes(void *ctx, void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
