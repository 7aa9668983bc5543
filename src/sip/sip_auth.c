/* Digest authentication on both sides (RFC 3261 §22, RFC 8760): the client keeps one
 * challenge per realm and answers it, the server writes challenges and checks
 * credentials. */
#include <openssl/crypto.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip_auth.h"
#include "sip/sip_internal.h"

/* ---- text helpers ---------------------------------------------------------------------- */

/* The unquoted text of a parameter value into buf (NUL-terminated). */
static int unquote(floe_sip_str v, char *buf, size_t cap) {
    size_t n;
    if (!v.p) return FLOE_ERR_NOT_FOUND;
    if (floe_sip_unquote(v, buf, cap - 1, &n) != FLOE_OK) return FLOE_ERR_LIMIT;
    if (memchr(buf, '\0', n)) return FLOE_ERR_MALFORMED;
    buf[n] = '\0';
    return FLOE_OK;
}

/* name="value" with '"' and '\' escaped (RFC 3261 §25.1 quoted-pair), after a ", " when
 * not first. */
static int put_quoted(floe_sip_arena *ar, const char *name, floe_sip_str v, bool first) {
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '\r' || c == '\n' || c == 0 || c == 0x7f) return FLOE_ERR_INVAL;
    }
    int rc = first ? FLOE_OK : floe_sip_arena_put(ar, ", ", 2, NULL);
    if (rc == FLOE_OK) rc = floe_sip_arena_cat(ar, NULL, name, "=\"", NULL);
    for (size_t i = 0; rc == FLOE_OK && i < v.len; i++) {
        if (v.p[i] == '"' || v.p[i] == '\\') rc = floe_sip_arena_put(ar, "\\", 1, NULL);
        if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, &v.p[i], 1, NULL);
    }
    if (rc == FLOE_OK) rc = floe_sip_arena_put(ar, "\"", 1, NULL);
    return rc;
}

static int put_token(floe_sip_arena *ar, const char *name, const char *v) {
    return floe_sip_arena_cat(ar, NULL, ", ", name, "=", v, NULL);
}

/* ---- client ----------------------------------------------------------------------------- */

static int copy_field(char *dst, const char *src) {
    if (!src) return FLOE_ERR_INVAL;
    size_t n = strlen(src);
    if (n >= FLOE_SIP_AUTH_FIELD_MAX) return FLOE_ERR_INVAL;
    memcpy(dst, src, n + 1);
    return FLOE_OK;
}

int floe_sip_auth_client_init(floe_sip_auth_client *c, const char *username, const char *password,
                              floe_sip_rand_fn rnd, void *ctx) {
    if (!c || !rnd) return FLOE_ERR_INVAL;
    memset(c, 0, sizeof *c);
    int rc = copy_field(c->username, username);
    if (rc == FLOE_OK) rc = copy_field(c->password, password);
    c->rnd = rnd;
    c->rnd_ctx = ctx;
    return rc;
}

void floe_sip_auth_client_success(floe_sip_auth_client *c) {
    for (size_t i = 0; c && i < FLOE_SIP_AUTH_MAX_CHALLENGES; i++) {
        c->ch[i].answered = false;
        c->ch[i].stale = 0;
    }
}

void floe_sip_auth_client_reset(floe_sip_auth_client *c) {
    if (c) memset(c->ch, 0, sizeof c->ch);
}

/* A usable challenge read from one header value. */
typedef struct cand {
    bool proxy;
    floe_sip_digest_alg alg;
    bool alg_given, qop_auth, stale, has_opaque;
    char realm[FLOE_SIP_AUTH_FIELD_MAX];
    char nonce[FLOE_SIP_AUTH_FIELD_MAX];
    char opaque[FLOE_SIP_AUTH_FIELD_MAX];
} cand;

/* Reads a; false when floe cannot answer it. *rc gets FLOE_ERR_LIMIT for a field too long. */
static bool read_challenge(const floe_sip_auth *a, bool proxy, cand *out, int *rc) {
    if (!a->digest || floe_sip_digest_strength(a->alg) == 0) return false;
    if (a->qop.p && !a->qop_auth) return false; /* auth-int only */
    memset(out, 0, sizeof *out);
    out->proxy = proxy;
    out->alg = a->alg;
    out->alg_given = a->algorithm.p != NULL;
    out->qop_auth = a->qop_auth;
    out->stale = a->stale;
    int r = unquote(a->realm, out->realm, sizeof out->realm);
    if (r == FLOE_OK) r = unquote(a->nonce, out->nonce, sizeof out->nonce);
    if (r == FLOE_OK && a->opaque.p) {
        r = unquote(a->opaque, out->opaque, sizeof out->opaque);
        out->has_opaque = true;
    }
    if (r == FLOE_ERR_LIMIT) *rc = FLOE_ERR_LIMIT;
    return r == FLOE_OK;
}

static floe_sip_auth_state *find_state(floe_sip_auth_client *c, const cand *k) {
    for (size_t i = 0; i < FLOE_SIP_AUTH_MAX_CHALLENGES; i++)
        if (c->ch[i].used && c->ch[i].proxy == k->proxy && strcmp(c->ch[i].realm, k->realm) == 0)
            return &c->ch[i];
    return NULL;
}

static void take(floe_sip_auth_state *s, const cand *k) {
    s->used = true;
    s->proxy = k->proxy;
    s->alg = k->alg;
    s->alg_given = k->alg_given;
    s->qop_auth = k->qop_auth;
    s->answered = false;
    s->nc = 0;
    strcpy(s->realm, k->realm);
    strcpy(s->nonce, k->nonce);
    strcpy(s->opaque, k->opaque);
    s->has_opaque = k->has_opaque;
}

int floe_sip_auth_client_challenge(floe_sip_auth_client *c, const floe_sip_msg *resp) {
    if (!c || !resp || resp->request || (resp->status != 401 && resp->status != 407))
        return FLOE_ERR_INVAL;
    /* The strongest usable challenge of each realm, in the order realms appear. */
    cand best[FLOE_SIP_AUTH_MAX_CHALLENGES];
    size_t n = 0;
    int rc = FLOE_OK;
    const floe_sip_hdr_id ids[2] = {FLOE_SIP_H_WWW_AUTHENTICATE, FLOE_SIP_H_PROXY_AUTHENTICATE};
    for (int h = 0; h < 2; h++) {
        floe_sip_iter it = {0, 0};
        floe_sip_auth a;
        int r;
        while ((r = floe_sip_msg_next_auth(resp, ids[h], &it, &a)) != FLOE_ERR_NOT_FOUND) {
            cand k;
            if (r != FLOE_OK || !read_challenge(&a, h == 1, &k, &rc)) continue;
            size_t i = 0;
            while (i < n && !(best[i].proxy == k.proxy && strcmp(best[i].realm, k.realm) == 0))
                i++;
            if (i == n) {
                if (n == FLOE_SIP_AUTH_MAX_CHALLENGES) return FLOE_ERR_LIMIT;
                best[n++] = k;
            } else if (floe_sip_digest_strength(k.alg) > floe_sip_digest_strength(best[i].alg)) {
                best[i] = k;
            }
        }
    }
    if (n == 0) return rc == FLOE_ERR_LIMIT ? rc : FLOE_ERR_UNSUPPORTED;
    bool refused = false, stale = false;
    for (size_t i = 0; i < n; i++) {
        floe_sip_auth_state *s = find_state(c, &best[i]);
        if (s && s->answered) {
            /* A realm we answered asks again: a refusal, unless only the nonce aged. */
            if (!best[i].stale || s->stale >= FLOE_SIP_AUTH_MAX_STALE) {
                refused = true;
                continue;
            }
            unsigned st = s->stale + 1;
            take(s, &best[i]);
            s->stale = st;
            stale = true;
            continue;
        }
        if (!s) {
            for (size_t j = 0; j < FLOE_SIP_AUTH_MAX_CHALLENGES && !s; j++)
                if (!c->ch[j].used) s = &c->ch[j];
            if (!s) return FLOE_ERR_LIMIT;
            s->stale = 0;
        }
        take(s, &best[i]);
    }
    if (refused) {
        c->refusals++;
        return FLOE_ERR_AUTH;
    }
    if (stale) c->stale++;
    c->challenges++;
    return FLOE_OK;
}

/* The credentials value for state s and request req. */
static int credentials(floe_sip_auth_client *c, floe_sip_auth_state *s, const floe_sip_msg *req,
                       floe_sip_arena *ar, floe_sip_str *out) {
    char cnonce[2 * FLOE_SIP_CNONCE_BYTES + 1], nc[9], response[FLOE_SIP_DIGEST_HEX_MAX];
    int rc = floe_sip_random_token(c->rnd, c->rnd_ctx, NULL, FLOE_SIP_CNONCE_BYTES, cnonce,
                                   sizeof cnonce);
    if (rc != FLOE_OK) return rc;
    uint32_t count = s->nc + 1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
        nc[i] = hex[(count >> (28 - 4 * i)) & 15];
    nc[8] = '\0';
    bool sess = s->alg == FLOE_SIP_ALG_MD5_SESS || s->alg == FLOE_SIP_ALG_SHA256_SESS ||
                s->alg == FLOE_SIP_ALG_SHA512_256_SESS;
    floe_sip_digest_params p;
    memset(&p, 0, sizeof p);
    p.alg = s->alg;
    p.username = floe_sip_str_c(c->username);
    p.realm = floe_sip_str_c(s->realm);
    p.password = floe_sip_str_c(c->password);
    p.method = req->method;
    p.uri = req->uri;
    p.nonce = floe_sip_str_c(s->nonce);
    if (s->qop_auth || sess) p.cnonce = floe_sip_str_c(cnonce);
    if (s->qop_auth) {
        p.nc = floe_sip_str_c(nc);
        p.qop = floe_sip_str_c("auth");
    }
    rc = floe_sip_digest_compute(&p, response, sizeof response);
    if (rc != FLOE_OK) return rc;

    size_t start = ar->len;
    rc = floe_sip_arena_put(ar, "Digest ", 7, NULL);
    if (rc == FLOE_OK) rc = put_quoted(ar, "username", p.username, true);
    if (rc == FLOE_OK) rc = put_quoted(ar, "realm", p.realm, false);
    if (rc == FLOE_OK) rc = put_quoted(ar, "nonce", p.nonce, false);
    if (rc == FLOE_OK) rc = put_quoted(ar, "uri", p.uri, false);
    if (rc == FLOE_OK) rc = put_quoted(ar, "response", floe_sip_str_c(response), false);
    if (rc == FLOE_OK && s->alg_given)
        rc = put_token(ar, "algorithm", floe_sip_digest_alg_name(s->alg));
    if (rc == FLOE_OK && p.cnonce.p) rc = put_quoted(ar, "cnonce", p.cnonce, false);
    if (rc == FLOE_OK && s->has_opaque)
        rc = put_quoted(ar, "opaque", floe_sip_str_c(s->opaque), false);
    if (rc == FLOE_OK && s->qop_auth) rc = put_token(ar, "qop", "auth");
    if (rc == FLOE_OK && s->qop_auth) rc = put_token(ar, "nc", nc);
    if (rc != FLOE_OK) {
        ar->len = start;
        return rc;
    }
    s->nc = count;
    *out = sip_str(ar->buf + start, ar->len - start);
    return FLOE_OK;
}

int floe_sip_auth_client_authorize(floe_sip_auth_client *c, floe_sip_msg *req, floe_sip_arena *ar) {
    if (!c || !req || !req->request || !ar) return FLOE_ERR_INVAL;
    bool any = false;
    for (size_t i = 0; i < FLOE_SIP_AUTH_MAX_CHALLENGES; i++) {
        floe_sip_auth_state *s = &c->ch[i];
        if (!s->used) continue;
        floe_sip_str v;
        int rc = credentials(c, s, req, ar, &v);
        if (rc == FLOE_OK)
            rc = floe_sip_msg_add_str(
                req, floe_sip_str_c(s->proxy ? "Proxy-Authorization" : "Authorization"), v);
        if (rc != FLOE_OK) return rc;
        s->answered = true;
        any = true;
    }
    return any ? FLOE_OK : FLOE_ERR_NOT_FOUND;
}

/* ---- server ------------------------------------------------------------------------------ */

int floe_sip_auth_challenge_value(floe_sip_digest_alg alg, const char *realm, const char *nonce,
                                  const char *opaque, bool stale, floe_sip_arena *ar,
                                  floe_sip_str *out) {
    if (!realm || !nonce || !ar || !out || floe_sip_digest_strength(alg) == 0)
        return FLOE_ERR_INVAL;
    size_t start = ar->len;
    int rc = floe_sip_arena_put(ar, "Digest ", 7, NULL);
    if (rc == FLOE_OK) rc = put_quoted(ar, "realm", floe_sip_str_c(realm), true);
    if (rc == FLOE_OK) rc = put_quoted(ar, "nonce", floe_sip_str_c(nonce), false);
    if (rc == FLOE_OK && opaque) rc = put_quoted(ar, "opaque", floe_sip_str_c(opaque), false);
    if (rc == FLOE_OK) rc = put_token(ar, "algorithm", floe_sip_digest_alg_name(alg));
    if (rc == FLOE_OK) rc = put_quoted(ar, "qop", floe_sip_str_c("auth"), false);
    if (rc == FLOE_OK && stale) rc = put_token(ar, "stale", "true");
    if (rc != FLOE_OK) {
        ar->len = start;
        return rc;
    }
    *out = sip_str(ar->buf + start, ar->len - start);
    return FLOE_OK;
}

int floe_sip_auth_find(const floe_sip_msg *req, bool proxy, const char *realm, floe_sip_auth *out) {
    if (!req || !realm || !out) return FLOE_ERR_INVAL;
    floe_sip_iter it = {0, 0};
    floe_sip_auth a;
    int r;
    floe_sip_hdr_id id = proxy ? FLOE_SIP_H_PROXY_AUTHORIZATION : FLOE_SIP_H_AUTHORIZATION;
    while ((r = floe_sip_msg_next_auth(req, id, &it, &a)) != FLOE_ERR_NOT_FOUND) {
        char text[FLOE_SIP_AUTH_FIELD_MAX];
        if (r == FLOE_OK && a.digest && unquote(a.realm, text, sizeof text) == FLOE_OK &&
            strcmp(text, realm) == 0) {
            *out = a;
            return FLOE_OK;
        }
    }
    return FLOE_ERR_NOT_FOUND;
}

/* The digest-uri names the Request-URI (RFC 2617 §3.2.2.5): the same text, or an
 * equivalent URI. */
static bool same_uri(const char *a, floe_sip_str b) {
    size_t n = strlen(a);
    if (n == b.len && memcmp(a, b.p, n) == 0) return true;
    floe_sip_uri ua, ub;
    return floe_sip_uri_parse(a, n, &ua) == FLOE_OK &&
           floe_sip_uri_parse(b.p, b.len, &ub) == FLOE_OK && floe_sip_uri_equal(&ua, &ub);
}

int floe_sip_auth_verify(const floe_sip_auth *cred, const floe_sip_msg *req, const char *realm,
                         const char *password) {
    if (!cred || !req || !req->request || !realm || !password) return FLOE_ERR_INVAL;
    if (!cred->digest) return FLOE_ERR_UNSUPPORTED;
    if (cred->userhash || floe_sip_digest_strength(cred->alg) == 0) return FLOE_ERR_UNSUPPORTED;
    if (cred->qop.p && (!cred->qop_auth || cred->qop_auth_int)) return FLOE_ERR_UNSUPPORTED;
    char user[FLOE_SIP_AUTH_FIELD_MAX], r[FLOE_SIP_AUTH_FIELD_MAX], nonce[FLOE_SIP_AUTH_FIELD_MAX],
        uri[FLOE_SIP_URI_MAX_LEN + 1], cnonce[FLOE_SIP_AUTH_FIELD_MAX],
        given[FLOE_SIP_AUTH_FIELD_MAX];
    if (unquote(cred->username, user, sizeof user) != FLOE_OK ||
        unquote(cred->realm, r, sizeof r) != FLOE_OK ||
        unquote(cred->nonce, nonce, sizeof nonce) != FLOE_OK ||
        unquote(cred->uri, uri, sizeof uri) != FLOE_OK ||
        unquote(cred->response, given, sizeof given) != FLOE_OK)
        return FLOE_ERR_MALFORMED;
    bool has_cnonce = cred->cnonce.p != NULL;
    if (has_cnonce && unquote(cred->cnonce, cnonce, sizeof cnonce) != FLOE_OK)
        return FLOE_ERR_MALFORMED;
    if (strcmp(r, realm) != 0 || !same_uri(uri, req->uri)) return FLOE_ERR_AUTH;
    floe_sip_digest_params p;
    memset(&p, 0, sizeof p);
    p.alg = cred->alg;
    p.username = floe_sip_str_c(user);
    p.realm = floe_sip_str_c(r);
    p.password = floe_sip_str_c(password);
    p.method = req->method;
    p.uri = floe_sip_str_c(uri);
    p.nonce = floe_sip_str_c(nonce);
    if (has_cnonce) p.cnonce = floe_sip_str_c(cnonce);
    if (cred->qop.p) {
        p.qop = cred->qop;
        p.nc = cred->nc;
    }
    char want[FLOE_SIP_DIGEST_HEX_MAX];
    int rc = floe_sip_digest_compute(&p, want, sizeof want);
    if (rc == FLOE_ERR_INVAL) return FLOE_ERR_MALFORMED;
    if (rc != FLOE_OK) return rc;
    size_t n = strlen(want);
    if (strlen(given) != n) return FLOE_ERR_AUTH;
    for (size_t i = 0; i < n; i++)
        given[i] = (char)sip_lower((unsigned char)given[i]);
    return CRYPTO_memcmp(given, want, n) == 0 ? FLOE_OK : FLOE_ERR_AUTH;
}
