/* Helpers shared by the STUN files; not part of the public API. */
#ifndef FLOE_STUN_INTERNAL_H
#define FLOE_STUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* HMAC (digest "SHA1" or "SHA256") over a STUN header whose length field is replaced
 * by patched_len, followed by rest[0..rest_len). */
int floe_stun_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *hdr,
                   uint16_t patched_len, const uint8_t *rest, size_t rest_len, uint8_t out[32],
                   size_t *out_len);

#endif
