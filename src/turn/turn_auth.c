/* The TURN client's long-term credentials (RFC 8489 §9.2): what a 401 or 438 teaches
 * (realm, nonce, the nonce cookie's security features, PASSWORD-ALGORITHMS), the key
 * derived from it, and the attributes every authenticated request carries. The key
 * derivation and HMACs are the STUN code's, on OpenSSL. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun_auth.h"
#include "turn/turn_priv.h"

void turn_auth_reset(floe_turn_client *c) {
    memset(&c->auth, 0, sizeof c->auth);
}

/* A text attribute as a C string: bounded, without NUL bytes inside. */
static int get_text(const floe_stun_msg *m, uint16_t type, char *out, size_t cap, size_t *len) {
    const char *s = NULL;
    size_t n = 0;
    int rc = floe_stun_msg_get_string(m, type, &s, &n);
    if (rc != FLOE_OK) return rc;
    if (n + 1 > cap) return FLOE_ERR_LIMIT;
    if (n == 0 || memchr(s, '\0', n)) return FLOE_ERR_MALFORMED;
    memcpy(out, s, n);
    out[n] = '\0';
    if (len) *len = n;
    return FLOE_OK;
}

/* The first algorithm of PASSWORD-ALGORITHMS that floe supports (RFC 8489 §9.2.5). */
static bool pick_algorithm(const floe_stun_msg *m, uint16_t *alg) {
    floe_stun_pwalg list[16];
    size_t n = 0;
    if (floe_stun_msg_get_password_algorithms(m, list, 16, &n) != FLOE_OK) return false;
    for (size_t i = 0; i < n; i++) {
        if (list[i].alg == FLOE_STUN_PWALG_MD5 || list[i].alg == FLOE_STUN_PWALG_SHA256) {
            *alg = list[i].alg;
            return true;
        }
    }
    return false;
}

int turn_auth_learn(floe_turn_client *c, const floe_stun_msg *m, bool *changed, const char **why) {
    *changed = false;
    *why = NULL;
    if (!c->cfg.username) {
        *why = "the server wants credentials (a username and password)";
        return FLOE_ERR_AUTH;
    }
    turn_auth next = c->auth;
    int rc = get_text(m, FLOE_STUN_ATTR_NONCE, next.nonce, sizeof next.nonce, &next.nonce_len);
    if (rc == FLOE_OK) {
        rc = get_text(m, FLOE_STUN_ATTR_REALM, next.realm, sizeof next.realm, NULL);
        /* A 438 should repeat the realm; keep the one we have when it does not. */
        if (rc == FLOE_ERR_NOT_FOUND && c->auth.ready) rc = FLOE_OK;
    }
    if (rc == FLOE_ERR_LIMIT) {
        *why = "the server's realm or nonce is longer than floe keeps";
        return FLOE_ERR_LIMIT;
    }
    if (rc != FLOE_OK) {
        *why = "the server's challenge lacks a usable REALM or NONCE";
        return FLOE_ERR_AUTH;
    }
    if (c->cfg.realm && strcmp(next.realm, c->cfg.realm) != 0) {
        *why = "the server asks for credentials of another realm than the one expected";
        return FLOE_ERR_AUTH;
    }
    uint32_t features = 0;
    bool cookie = floe_stun_nonce_features(next.nonce, next.nonce_len, &features);
    const floe_stun_attr *algs = floe_stun_msg_find(m, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS);
    if (cookie && (features & FLOE_STUN_FEATURE_PASSWORD_ALGORITHMS) && !algs) {
        *why = "the nonce announces password algorithms but the server lists none";
        return FLOE_ERR_AUTH;
    }
    next.alg = FLOE_STUN_PWALG_MD5;
    next.send_algs = next.sha256 = false;
    next.algs_len = 0;
    if (algs) {
        if (!pick_algorithm(m, &next.alg)) {
            *why = "the server offers no password algorithm floe supports";
            return FLOE_ERR_AUTH;
        }
        if (algs->len > sizeof next.algs) {
            *why = "the server's PASSWORD-ALGORITHMS is longer than floe keeps";
            return FLOE_ERR_LIMIT;
        }
        memcpy(next.algs, algs->val, algs->len);
        next.algs_len = algs->len;
        next.send_algs = true;
        next.sha256 = true; /* RFC 8489 §9.2.5: then MESSAGE-INTEGRITY-SHA256 only */
    }
    next.userhash = cookie && (features & FLOE_STUN_FEATURE_USERNAME_ANONYMITY);
    rc = floe_stun_key_long_term(next.alg, c->cfg.username, next.realm, c->cfg.password, next.key,
                                 &next.key_len);
    if (rc == FLOE_OK && next.userhash)
        rc = floe_stun_userhash(c->cfg.username, next.realm, next.hash);
    if (rc != FLOE_OK) {
        *why = rc == FLOE_ERR_INVAL ? "the credentials hold characters SASLprep forbids"
                                    : "cannot derive the key";
        return rc == FLOE_ERR_INVAL ? FLOE_ERR_AUTH : rc;
    }
    *changed = !c->auth.ready || strcmp(next.realm, c->auth.realm) != 0 ||
               next.userhash != c->auth.userhash || next.alg != c->auth.alg;
    next.ready = true;
    c->auth = next;
    return FLOE_OK;
}

int turn_auth_learn_nonce(const floe_turn_client *c, turn_txn *t, const floe_stun_msg *m,
                          bool *changed, const char **why) {
    *changed = false;
    *why = NULL;
    char realm[FLOE_TURN_MAX_CRED + 1], nonce[FLOE_TURN_MAX_CRED + 1];
    size_t nonce_len = 0;
    int rc = get_text(m, FLOE_STUN_ATTR_NONCE, nonce, sizeof nonce, &nonce_len);
    if (rc == FLOE_OK) {
        rc = get_text(m, FLOE_STUN_ATTR_REALM, realm, sizeof realm, NULL);
        if (rc == FLOE_ERR_NOT_FOUND) {
            rc = FLOE_OK; /* a 438 need not repeat the realm */
        } else if (rc == FLOE_OK && strcmp(realm, c->auth.realm) != 0) {
            *why = "the data connection's challenge names another realm";
            return FLOE_ERR_AUTH;
        }
    }
    if (rc == FLOE_ERR_LIMIT) {
        *why = "the server's realm or nonce is longer than floe keeps";
        return FLOE_ERR_LIMIT;
    }
    if (rc != FLOE_OK) {
        *why = "the server's challenge lacks a usable REALM or NONCE";
        return FLOE_ERR_AUTH;
    }
    const char *sent = t->nonce_len ? t->nonce : c->auth.nonce;
    size_t sent_len = t->nonce_len ? t->nonce_len : c->auth.nonce_len;
    *changed = nonce_len != sent_len || memcmp(nonce, sent, nonce_len) != 0;
    memcpy(t->nonce, nonce, nonce_len + 1);
    t->nonce_len = (uint16_t)nonce_len;
    return FLOE_OK;
}

void turn_auth_add(const floe_turn_client *c, const turn_txn *t, floe_stun_builder *b) {
    const turn_auth *a = &c->auth;
    if (!a->ready) return;
    if (a->userhash)
        floe_stun_add(b, FLOE_STUN_ATTR_USERHASH, a->hash, sizeof a->hash);
    else
        floe_stun_add_string(b, FLOE_STUN_ATTR_USERNAME, c->cfg.username);
    floe_stun_add_string(b, FLOE_STUN_ATTR_REALM, a->realm);
    if (t && t->nonce_len)
        floe_stun_add(b, FLOE_STUN_ATTR_NONCE, t->nonce, t->nonce_len);
    else
        floe_stun_add(b, FLOE_STUN_ATTR_NONCE, a->nonce, a->nonce_len);
    if (a->send_algs) {
        floe_stun_add(b, FLOE_STUN_ATTR_PASSWORD_ALGORITHMS, a->algs, a->algs_len);
        floe_stun_add_password_algorithm(b, a->alg);
    }
}

void turn_auth_sign(const floe_turn_client *c, floe_stun_builder *b) {
    const turn_auth *a = &c->auth;
    if (!a->ready) return;
    if (a->sha256)
        floe_stun_add_integrity_sha256(b, a->key, a->key_len, 32);
    else
        floe_stun_add_integrity(b, a->key, a->key_len);
}

int turn_auth_check(const floe_turn_client *c, const floe_stun_msg *m) {
    if (!c->auth.ready) return FLOE_ERR_INTEGRITY;
    int rc = floe_stun_msg_check_integrity(m, c->auth.key, c->auth.key_len);
    return rc == FLOE_OK ? FLOE_OK : FLOE_ERR_INTEGRITY;
}
