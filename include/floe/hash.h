/* floe: a keyed hash for tables whose keys an attacker chooses (source addresses,
 * usernames): SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit secret key, so
 * nobody who lacks the key can aim many keys at one bucket. */
#ifndef FLOE_HASH_H
#define FLOE_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint64_t floe_siphash(const uint8_t key[16], const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
