/* STUN credentials: key derivation, USERHASH, nonce cookie, password algorithms. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <stringprep.h>

#include "floe/err.h"
#include "floe/stun_auth.h"

static bool plain_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

/* SASLprep into out (NUL-terminated). ASCII printable text is returned unchanged. */
static int prep(const char *in, char *out, size_t cap) {
    size_t n = strlen(in);
    if (plain_ascii(in)) {
        if (n + 1 > cap) return FLOE_ERR_NOSPACE;
        memcpy(out, in, n + 1);
        return FLOE_OK;
    }
    char *res = NULL;
    if (stringprep_profile(in, &res, "SASLprep", 0) != STRINGPREP_OK) return FLOE_ERR_INVAL;
    size_t rn = strlen(res);
    int rc = FLOE_OK;
    if (rn + 1 > cap)
        rc = FLOE_ERR_NOSPACE;
    else
        memcpy(out, res, rn + 1);
    free(res);
    return rc;
}

int floe_stun_key_short_term(const char *password, uint8_t *key, size_t cap, size_t *len) {
    char buf[FLOE_STUN_KEY_MAX + 1];
    int rc = prep(password, buf, sizeof buf);
    if (rc != FLOE_OK) return rc;
    size_t n = strlen(buf);
    if (n > cap) return FLOE_ERR_NOSPACE;
    memcpy(key, buf, n);
    *len = n;
    return FLOE_OK;
}

static int digest3(const char *md_name, const char *a, const char *b, const char *c,
                   uint8_t out[32], size_t *len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_get_digestbyname(md_name), NULL) &&
             EVP_DigestUpdate(ctx, a, strlen(a)) && EVP_DigestUpdate(ctx, ":", 1) &&
             EVP_DigestUpdate(ctx, b, strlen(b));
    if (ok && c) ok = EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, c, strlen(c));
    ok = ok && EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    if (!ok) return FLOE_ERR_CRYPTO;
    if (len) *len = n;
    return FLOE_OK;
}

int floe_stun_key_long_term(uint16_t alg, const char *username, const char *realm,
                            const char *password, uint8_t key[32], size_t *len) {
    if (alg != FLOE_STUN_PWALG_MD5 && alg != FLOE_STUN_PWALG_SHA256) return FLOE_ERR_UNSUPPORTED;
    char r[FLOE_STUN_MAX_REALM + 1], p[FLOE_STUN_KEY_MAX + 1];
    int rc = prep(realm, r, sizeof r);
    if (rc == FLOE_OK) rc = prep(password, p, sizeof p);
    if (rc != FLOE_OK) return rc;
    return digest3(alg == FLOE_STUN_PWALG_MD5 ? "MD5" : "SHA256", username, r, p, key, len);
}

int floe_stun_userhash(const char *username, const char *realm, uint8_t out[32]) {
    /* RFC 8489 §14.4: SHA-256 of the prepared username and realm. */
    char u[FLOE_STUN_MAX_USERNAME + 1], r[FLOE_STUN_MAX_REALM + 1];
    int rc = prep(username, u, sizeof u);
    if (rc == FLOE_OK) rc = prep(realm, r, sizeof r);
    if (rc != FLOE_OK) return rc;
    return digest3("SHA256", u, r, NULL, out, NULL);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void floe_stun_nonce_cookie(uint32_t features, char out[FLOE_STUN_NONCE_COOKIE_LEN]) {
    memcpy(out, FLOE_STUN_NONCE_COOKIE, 9);
    for (int i = 0; i < 4; i++)
        out[9 + i] = b64[(features >> (18 - 6 * i)) & 0x3f];
}

bool floe_stun_nonce_features(const char *nonce, size_t len, uint32_t *features) {
    if (len < FLOE_STUN_NONCE_COOKIE_LEN || memcmp(nonce, FLOE_STUN_NONCE_COOKIE, 9) != 0)
        return false;
    uint32_t f = 0;
    for (int i = 0; i < 4; i++) {
        const char *c = memchr(b64, nonce[9 + i], 64);
        if (!c || nonce[9 + i] == '\0') return false;
        f = (f << 6) | (uint32_t)(c - b64);
    }
    *features = f;
    return true;
}

int floe_stun_msg_get_password_algorithms(const floe_stun_msg *m, floe_stun_pwalg *out, size_t max,
                                          size_t *n) {
    const floe_stun_attr *a = floe_stun_msg_find(m, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS);
    if (!a) return FLOE_ERR_NOT_FOUND;
    floe_rd r = floe_rd_init(a->val, a->len);
    size_t k = 0;
    while (floe_rd_left(&r) > 0) {
        floe_stun_pwalg e;
        e.alg = floe_rd_u16(&r);
        e.params_len = floe_rd_u16(&r);
        e.params = floe_rd_bytes(&r, ((size_t)e.params_len + 3u) & ~(size_t)3u);
        if (r.err) return FLOE_ERR_MALFORMED;
        if (k < max) out[k++] = e;
    }
    *n = k;
    return FLOE_OK;
}

int floe_stun_msg_get_password_algorithm(const floe_stun_msg *m, floe_stun_pwalg *out) {
    const floe_stun_attr *a = floe_stun_msg_find(m, FLOE_STUN_ATTR_PASSWORD_ALGORITHM);
    if (!a) return FLOE_ERR_NOT_FOUND;
    if (a->len < 4) return FLOE_ERR_MALFORMED;
    out->alg = floe_get_u16(a->val);
    out->params_len = floe_get_u16(a->val + 2);
    out->params = a->val + 4;
    return FLOE_OK;
}

void floe_stun_add_password_algorithms(floe_stun_builder *b, const uint16_t *algs, size_t n) {
    uint8_t v[64];
    if (n > sizeof v / 4) {
        if (b->err == FLOE_OK) b->err = FLOE_ERR_INVAL;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        floe_put_u16(v + 4 * i, algs[i]);
        floe_put_u16(v + 4 * i + 2, 0);
    }
    floe_stun_add(b, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, v, 4 * n);
}

void floe_stun_add_password_algorithm(floe_stun_builder *b, uint16_t alg) {
    uint8_t v[4];
    floe_put_u16(v, alg);
    floe_put_u16(v + 2, 0);
    floe_stun_add(b, FLOE_STUN_ATTR_PASSWORD_ALGORITHM, v, 4);
}
