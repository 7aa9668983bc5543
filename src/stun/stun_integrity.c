/* MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6) and
 * FINGERPRINT (§14.7). HMAC comes from OpenSSL 3, CRC-32 from zlib. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "stun/stun_internal.h"

uint32_t floe_stun_fingerprint(const uint8_t *p, size_t len) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)crc ^ FLOE_STUN_FINGERPRINT_XOR;
}

int floe_stun_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *hdr,
                   uint16_t patched_len, const uint8_t *rest, size_t rest_len, uint8_t out[32],
                   size_t *out_len) {
    /* The HMAC covers the header with its length field replaced by patched_len, then
     * everything after the header up to the integrity attribute. */
    uint8_t head[FLOE_STUN_HEADER_LEN];
    memcpy(head, hdr, sizeof head);
    floe_put_u16(head + 2, patched_len);

    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac) return FLOE_ERR_CRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    int rc = FLOE_ERR_CRYPTO;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t n = 0;
    static const uint8_t empty_key[1] = {0};
    if (ctx && EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params) &&
        EVP_MAC_update(ctx, head, sizeof head) && EVP_MAC_update(ctx, rest, rest_len) &&
        EVP_MAC_final(ctx, out, &n, 32)) {
        *out_len = n;
        rc = FLOE_OK;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

static int check_one(const floe_stun_msg *m, const floe_stun_attr *a, const char *digest,
                     const uint8_t *key, size_t key_len) {
    size_t attr_off = (size_t)(a->val - 4 - m->raw); /* start of the integrity attribute */
    size_t padded = ((size_t)a->len + 3u) & ~(size_t)3u;
    uint16_t patched = (uint16_t)(attr_off + 4 + padded - FLOE_STUN_HEADER_LEN);
    uint8_t mac[32];
    size_t mac_len = 0;
    int rc = floe_stun_hmac(digest, key, key_len, m->raw, patched, m->raw + FLOE_STUN_HEADER_LEN,
                            attr_off - FLOE_STUN_HEADER_LEN, mac, &mac_len);
    if (rc != FLOE_OK) return rc;
    if (a->len > mac_len || CRYPTO_memcmp(mac, a->val, a->len) != 0) return FLOE_ERR_INTEGRITY;
    return FLOE_OK;
}

int floe_stun_msg_check_integrity(const floe_stun_msg *m, const uint8_t *key, size_t key_len) {
    if (m->mi256 >= 0) return check_one(m, &m->attrs[m->mi256], "SHA256", key, key_len);
    if (m->mi >= 0) return check_one(m, &m->attrs[m->mi], "SHA1", key, key_len);
    return FLOE_ERR_NOT_FOUND;
}
