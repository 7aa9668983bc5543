/* floe: SIP digest authentication (RFC 3261 §22, RFC 2617, RFC 7616 and RFC 8760 for
 * SHA-256 and SHA-512/256), sans-IO. Hashes come from OpenSSL's EVP digests.
 *
 * Client side: one floe_sip_auth_client per set of credentials (a value, no allocation).
 *
 *   floe_sip_auth_client ac;
 *   floe_sip_auth_client_init(&ac, "alice", "secret", rnd, ctx);
 *   ... a 401 or 407 answers our REGISTER or INVITE:
 *   if (floe_sip_auth_client_challenge(&ac, &resp) == FLOE_OK) {
 *       build the request again (new CSeq, new branch: a new transaction), then
 *       floe_sip_auth_client_authorize(&ac, &req, &arena);   // Authorization header(s)
 *       send it
 *   } else give up (FLOE_ERR_AUTH: the credentials were refused)
 *   ... a 2xx to the request with credentials: floe_sip_auth_client_success(&ac)
 *
 * floe_sip_auth_client_challenge() reads every Digest challenge of the response
 * (WWW-Authenticate and Proxy-Authenticate) and keeps, for each realm, one challenge:
 * the strongest algorithm floe supports (SHA-512-256 over SHA-256 over MD5; -sess
 * variants rank with their hash). RFC 8760 §2.4 lets a UAC pick the topmost supported
 * one unless local policy says otherwise; floe's policy is the strongest, and servers
 * list that first anyway. A challenge needs qop absent (RFC 2069 compatibility) or
 * offering "auth"; auth-int only is not supported. Retrying follows RFC 3261 §22.2-22.3:
 * a request is retried once per challenge; when a realm we already answered challenges
 * again, it is a refusal (FLOE_ERR_AUTH) unless the challenge says stale=true (a new
 * nonce for the same credentials: retried, at most FLOE_SIP_AUTH_MAX_STALE times in a row).
 * Authorize() adds one Authorization (or Proxy-Authorization) per kept challenge with
 * qop=auth when offered, a fresh cnonce from the random source and nc counting the
 * requests made with that nonce (00000001, 00000002, ...; back to 1 on a new nonce).
 *
 * Server side (tests, and a registrar to come): floe_sip_auth_challenge_value() writes a
 * challenge, floe_sip_auth_verify() checks a request's credentials against a password.
 * Nonce freshness and nc replay are the caller's (the nonce is its own).
 */
#ifndef FLOE_SIP_AUTH_H
#define FLOE_SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip.h"
#include "floe/sip_txn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIP_AUTH_MAX_CHALLENGES 4 /* realms kept at once (a proxy and a UAS, ...) */
#define FLOE_SIP_AUTH_FIELD_MAX 256    /* longest username, password, realm, nonce, opaque */
#define FLOE_SIP_AUTH_MAX_STALE 2      /* stale=true retries in a row for one realm */
#define FLOE_SIP_DIGEST_HEX_MAX 65     /* a digest in hex (SHA-256: 64 digits) and a NUL */
#define FLOE_SIP_CNONCE_BYTES 8        /* random bytes in a cnonce (16 hex digits) */

/* ---- the computation ------------------------------------------------------------------ */

/* What a digest response is computed from (RFC 7616 §3.4.1-3.4.3). Values are the
 * text of the parameters without quotes or escapes. */
typedef struct floe_sip_digest_params {
    floe_sip_digest_alg alg; /* MD5, SHA-256, SHA-512-256 and their -sess */
    floe_sip_str username;   /* as sent (no userhash) */
    floe_sip_str realm;
    floe_sip_str password;
    floe_sip_str method; /* the request's method */
    floe_sip_str uri;    /* the digest-uri (the Request-URI) */
    floe_sip_str nonce;
    floe_sip_str cnonce; /* with qop, and for -sess */
    floe_sip_str nc;     /* 8 hex digits, with qop */
    floe_sip_str qop;    /* "auth", or absent (p NULL) for the RFC 2069 form */
} floe_sip_digest_params;

/* The response in lower-case hex into hex[0..cap) (NUL-terminated). FLOE_ERR_UNSUPPORTED
 * for an algorithm floe does not do or a qop other than auth; FLOE_ERR_INVAL for missing
 * fields (cnonce and nc with qop or -sess); FLOE_ERR_NOSPACE; FLOE_ERR_CRYPTO. */
int floe_sip_digest_compute(const floe_sip_digest_params *p, char *hex, size_t cap);
/* 1 MD5, 2 SHA-256, 3 SHA-512-256 (the -sess variants alike); 0 not supported. */
int floe_sip_digest_strength(floe_sip_digest_alg a);

/* ---- client ----------------------------------------------------------------------------- */

typedef struct floe_sip_auth_state {
    bool used;
    bool proxy; /* from Proxy-Authenticate: answer with Proxy-Authorization */
    floe_sip_digest_alg alg;
    bool alg_given; /* the challenge named its algorithm (we name it back) */
    bool qop_auth;  /* qop=auth offered (else the RFC 2069 form) */
    bool answered;  /* credentials for this nonce were sent */
    unsigned stale; /* stale=true challenges in a row */
    uint32_t nc;    /* requests made with this nonce */
    char realm[FLOE_SIP_AUTH_FIELD_MAX];
    char nonce[FLOE_SIP_AUTH_FIELD_MAX];
    char opaque[FLOE_SIP_AUTH_FIELD_MAX];
    bool has_opaque;
} floe_sip_auth_state;

typedef struct floe_sip_auth_client {
    char username[FLOE_SIP_AUTH_FIELD_MAX];
    char password[FLOE_SIP_AUTH_FIELD_MAX];
    floe_sip_rand_fn rnd;
    void *rnd_ctx;
    floe_sip_auth_state ch[FLOE_SIP_AUTH_MAX_CHALLENGES];
    uint64_t challenges; /* challenge() calls that asked for a retry */
    uint64_t refusals;   /* ... that gave up (FLOE_ERR_AUTH) */
    uint64_t stale;      /* stale=true retries */
} floe_sip_auth_client;

/* FLOE_ERR_INVAL for NULL or over-long credentials, no random source. */
int floe_sip_auth_client_init(floe_sip_auth_client *c, const char *username, const char *password,
                              floe_sip_rand_fn rnd, void *ctx);
/* A 401 or 407 answered our request: FLOE_OK when the request should go again with
 * credentials, FLOE_ERR_AUTH when they were refused, FLOE_ERR_UNSUPPORTED when no
 * challenge is usable, FLOE_ERR_LIMIT past FLOE_SIP_AUTH_MAX_CHALLENGES realms or a field
 * over FLOE_SIP_AUTH_FIELD_MAX, FLOE_ERR_INVAL for another status. */
int floe_sip_auth_client_challenge(floe_sip_auth_client *c, const floe_sip_msg *resp);
/* Adds the credentials for every kept challenge to req (for its method and
 * Request-URI), text in ar. FLOE_ERR_NOT_FOUND when no challenge is kept; FLOE_ERR_NOSPACE,
 * FLOE_ERR_LIMIT (header fields), the random source's error. */
int floe_sip_auth_client_authorize(floe_sip_auth_client *c, floe_sip_msg *req, floe_sip_arena *ar);
/* The request carrying our credentials succeeded: a later challenge (a new request, a
 * registration refresh) starts a new round instead of counting as a refusal. */
void floe_sip_auth_client_success(floe_sip_auth_client *c);
/* Forgets every challenge (another registrar, a new call to a new domain). */
void floe_sip_auth_client_reset(floe_sip_auth_client *c);

/* ---- server ----------------------------------------------------------------------------- */

/* A challenge value: Digest realm="..", nonce="..", [opaque="..",] algorithm=..,
 * qop="auth"[, stale=true], text in ar. FLOE_ERR_INVAL for an algorithm floe does not do
 * or text that cannot be quoted. */
int floe_sip_auth_challenge_value(floe_sip_digest_alg alg, const char *realm, const char *nonce,
                                  const char *opaque, bool stale, floe_sip_arena *ar,
                                  floe_sip_str *out);
/* Finds the Digest credentials for realm in req (Authorization, or Proxy-Authorization
 * when proxy). FLOE_ERR_NOT_FOUND. */
int floe_sip_auth_find(const floe_sip_msg *req, bool proxy, const char *realm, floe_sip_auth *out);
/* Checks credentials cred (from req) against password: realm equal to `realm`, uri the
 * Request-URI, response recomputed for req's method. FLOE_OK; FLOE_ERR_AUTH when wrong;
 * FLOE_ERR_MALFORMED when fields are missing; FLOE_ERR_UNSUPPORTED for an algorithm,
 * qop or userhash floe does not check. The comparison takes constant time. */
int floe_sip_auth_verify(const floe_sip_auth *cred, const floe_sip_msg *req, const char *realm,
                         const char *password);

#ifdef __cplusplus
}
#endif
#endif
