/* floe: STUN credentials (RFC 8489 §9): short-term and long-term keys, USERHASH, the
 * NONCE cookie with its security feature bits, and PASSWORD-ALGORITHMS.
 *
 * Passwords and realms are prepared with SASLprep (RFC 4013, via libidn), which is what
 * the RFC 5769 vectors and deployed RFC 5389 peers use; for ASCII text it is the
 * identity, so the common case costs nothing. */
#ifndef FLOE_STUN_AUTH_H
#define FLOE_STUN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/stun.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_STUN_KEY_MAX 513 /* longest key floe derives (a prepared short-term password) */

/* The NONCE cookie (RFC 8489 §9.2): "obMatJos2" then 4 base64 characters carrying
 * 24 bits of security features. */
#define FLOE_STUN_NONCE_COOKIE "obMatJos2"
#define FLOE_STUN_NONCE_COOKIE_LEN 13 /* the 9-byte prefix + 4 base64 characters */
/* RFC 8489 §18.1 numbers the bits from the least significant end (erratum 6290), which
 * the Appendix B.1 nonce "obMatJos2AAAC..." (username anonymity only) confirms. */
#define FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS 0x000001u /* bit 0 */
#define FLOE_STUN_FEATURE_USERNAME_ANONYMITY 0x000002u  /* bit 1 */

/* Short-term key (RFC 8489 §9.1.1): the prepared password. *len gets its length.
 * FLOE_ERR_INVAL when the password holds text SASLprep prohibits. */
int floe_stun_key_short_term(const char *password, uint8_t *key, size_t cap, size_t *len);

/* Long-term key (RFC 8489 §9.2.2): MD5 or SHA-256 of
 * "username:realm:password" (realm and password prepared). key must hold 32 bytes;
 * *len gets 16 (MD5) or 32 (SHA-256). */
int floe_stun_key_long_term(uint16_t alg, const char *username, const char *realm,
                            const char *password, uint8_t key[32], size_t *len);

/* USERHASH (RFC 8489 §14.4): SHA-256("username:realm"). */
int floe_stun_userhash(const char *username, const char *realm, uint8_t out[32]);

/* Writes the 13-byte nonce cookie for a feature set (24 bits) into out. */
void floe_stun_nonce_cookie(uint32_t features, char out[FLOE_STUN_NONCE_COOKIE_LEN]);
/* Reads the feature bits of a NONCE value; false when it carries no cookie. */
bool floe_stun_nonce_features(const char *nonce, size_t len, uint32_t *features);

typedef struct floe_stun_pwalg {
    uint16_t alg;
    uint16_t params_len;
    const uint8_t *params;
} floe_stun_pwalg;

/* Reads PASSWORD-ALGORITHMS into out (up to max entries). */
int floe_stun_msg_get_password_algorithms(const floe_stun_msg *m, floe_stun_pwalg *out, size_t max,
                                          size_t *n);
/* Reads PASSWORD-ALGORITHM. */
int floe_stun_msg_get_password_algorithm(const floe_stun_msg *m, floe_stun_pwalg *out);
/* Appends PASSWORD-ALGORITHMS listing algs (no parameters). */
void floe_stun_add_password_algorithms(floe_stun_builder *b, const uint16_t *algs, size_t n);
/* Appends PASSWORD-ALGORITHM (no parameters). */
void floe_stun_add_password_algorithm(floe_stun_builder *b, uint16_t alg);

#ifdef __cplusplus
}
#endif
#endif
