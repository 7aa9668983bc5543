/* TURN REST credentials: the ephemeral username/password pair a web service and a TURN
 * server derive from a shared secret (draft-uberti-behave-turn-rest-00 §2.2, coturn's
 * --use-auth-secret). HMAC-SHA1 and base64 come from OpenSSL. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "floe/turn.h"

int floe_turn_rest_password(const char *secret, const char *username, size_t username_len,
                            char *password, size_t password_cap) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username,
              username_len, mac, &mac_len))
        return FLOE_ERR_CRYPTO;
    /* base64 of 20 bytes: 28 characters and the NUL EVP_EncodeBlock writes. */
    if (password_cap < 4 * ((mac_len + 2) / 3) + 1) return FLOE_ERR_NOSPACE;
    EVP_EncodeBlock((unsigned char *)password, mac, (int)mac_len);
    return FLOE_OK;
}

int floe_turn_rest_credentials(const char *secret, const char *user, uint64_t expiry_unix,
                               char *username, size_t username_cap, char *password,
                               size_t password_cap) {
    if (!secret || !secret[0] || !username || !password) return FLOE_ERR_INVAL;
    if (user && strchr(user, ':')) return FLOE_ERR_INVAL; /* the separator */
    char digits[20];
    size_t nd = floe_dec_u64(expiry_unix, digits);
    size_t nu = user ? strlen(user) : 0;
    size_t total = nd + (nu ? 1 + nu : 0);
    if (total + 1 > username_cap || total > FLOE_TURN_MAX_CRED) return FLOE_ERR_NOSPACE;
    memcpy(username, digits, nd);
    if (nu) {
        username[nd] = ':';
        memcpy(username + nd + 1, user, nu);
    }
    username[total] = '\0';

    return floe_turn_rest_password(secret, username, total, password, password_cap);
}
