/* Digest responses (RFC 2617 §3.2.2, RFC 7616 §3.4): H(A1) from the credentials (and for
 * the -sess algorithms the nonce and cnonce), H(A2) from the method and URI, and the
 * response over both, in lower-case hex, with OpenSSL's digests. */
#include <openssl/evp.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip_auth.h"
#include "sip/sip_internal.h"

int floe_sip_digest_strength(floe_sip_digest_alg a) {
    switch (a) {
    case FLOE_SIP_ALG_MD5:
    case FLOE_SIP_ALG_MD5_SESS: return 1;
    case FLOE_SIP_ALG_SHA256:
    case FLOE_SIP_ALG_SHA256_SESS: return 2;
    case FLOE_SIP_ALG_SHA512_256:
    case FLOE_SIP_ALG_SHA512_256_SESS: return 3;
    case FLOE_SIP_ALG_OTHER: break;
    }
    return 0;
}

static const EVP_MD *md_of(floe_sip_digest_alg a) {
    switch (floe_sip_digest_strength(a)) {
    case 1: return EVP_md5();
    case 2: return EVP_sha256();
    case 3: return EVP_sha512_256();
    }
    return NULL;
}

static bool is_sess(floe_sip_digest_alg a) {
    return a == FLOE_SIP_ALG_MD5_SESS || a == FLOE_SIP_ALG_SHA256_SESS ||
           a == FLOE_SIP_ALG_SHA512_256_SESS;
}

#define HEX_MAX (2 * EVP_MAX_MD_SIZE + 1)

/* H(parts[0] ":" parts[1] ":" ...) in lower-case hex. */
static int hash_hex(const EVP_MD *md, const floe_sip_str *parts, size_t n, char *hex) {
    static const char digits[] = "0123456789abcdef";
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL);
    for (size_t i = 0; ok && i < n; i++) {
        if (i) ok = EVP_DigestUpdate(ctx, ":", 1);
        if (ok && parts[i].len) ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    if (!ok) return FLOE_ERR_CRYPTO;
    for (unsigned i = 0; i < len; i++) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 15];
    }
    hex[2 * len] = '\0';
    return FLOE_OK;
}

static bool present(floe_sip_str s) {
    return s.p != NULL;
}

int floe_sip_digest_compute(const floe_sip_digest_params *p, char *hex, size_t cap) {
    if (!p || !hex) return FLOE_ERR_INVAL;
    const EVP_MD *md = md_of(p->alg);
    if (!md) return FLOE_ERR_UNSUPPORTED;
    if ((size_t)(2 * EVP_MD_get_size(md) + 1) > cap) return FLOE_ERR_NOSPACE;
    bool qop = present(p->qop);
    if (qop && !sip_ieq(p->qop.p, p->qop.len, "auth")) return FLOE_ERR_UNSUPPORTED;
    if (!present(p->username) || !present(p->realm) || !present(p->password) ||
        !present(p->method) || !present(p->uri) || !present(p->nonce))
        return FLOE_ERR_INVAL;
    if ((qop || is_sess(p->alg)) && (!present(p->cnonce) || p->cnonce.len == 0))
        return FLOE_ERR_INVAL;
    if (qop && (!present(p->nc) || p->nc.len != 8)) return FLOE_ERR_INVAL;

    char ha1[HEX_MAX], ha2[HEX_MAX];
    floe_sip_str a1[3] = {p->username, p->realm, p->password};
    int rc = hash_hex(md, a1, 3, ha1);
    if (rc == FLOE_OK && is_sess(p->alg)) {
        floe_sip_str s[3] = {floe_sip_str_c(ha1), p->nonce, p->cnonce};
        char tmp[HEX_MAX];
        rc = hash_hex(md, s, 3, tmp);
        memcpy(ha1, tmp, sizeof tmp);
    }
    floe_sip_str a2[2] = {p->method, p->uri};
    if (rc == FLOE_OK) rc = hash_hex(md, a2, 2, ha2);
    if (rc != FLOE_OK) return rc;
    if (qop) {
        floe_sip_str r[6] = {floe_sip_str_c(ha1), p->nonce, p->nc,
                             p->cnonce,           p->qop,   floe_sip_str_c(ha2)};
        return hash_hex(md, r, 6, hex);
    }
    floe_sip_str r[3] = {floe_sip_str_c(ha1), p->nonce, floe_sip_str_c(ha2)};
    return hash_hex(md, r, 3, hex);
}
