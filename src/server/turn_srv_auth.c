/* Who may use the server: long-term credentials from the configuration, TURN REST
 * usernames signed by a shared secret, stateless nonces, and the per-source rate limit
 * on everything said to a client that has not authenticated. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "floe/err.h"
#include "floe/hash.h"
#include "floe/stun_auth.h"
#include "floe/turn.h"
#include "turn_server_priv.h"

/* ---- users ---------------------------------------------------------------------- */

static int user_cmp(const void *a, const void *b) {
    return strcmp(((const tsrv_user *)a)->name, ((const tsrv_user *)b)->name);
}

static void free_lists(tsrv_user *users, size_t nu, char **secrets, size_t ns) {
    for (size_t i = 0; users && i < nu; i++)
        free(users[i].name);
    free(users);
    for (size_t i = 0; secrets && i < ns; i++)
        free(secrets[i]);
    free(secrets);
}

void tsrv_users_free(floe_turn_server *srv) {
    free_lists(srv->users, srv->cfg.n_users, srv->secrets, srv->cfg.n_secrets);
    srv->users = NULL;
    srv->secrets = NULL;
}

/* Turns cfg's users into keys and copies its secrets; on error the old ones stay. */
int tsrv_users_load(floe_turn_server *srv, const floe_turn_server_config *cfg) {
    size_t nu = cfg->n_users, ns = cfg->n_secrets;
    tsrv_user *users = nu ? calloc(nu, sizeof *users) : NULL;
    char **secrets = ns ? calloc(ns, sizeof *secrets) : NULL;
    int rc = FLOE_OK;
    if ((nu && !users) || (ns && !secrets)) rc = FLOE_ERR_NOMEM;
    for (size_t i = 0; rc == FLOE_OK && i < nu; i++) {
        const floe_turn_user *u = &cfg->users[i];
        uint8_t k[32];
        size_t klen = 0;
        if (!u->name || !u->name[0] || strlen(u->name) >= TSRV_NAME_MAX || !u->password)
            rc = FLOE_ERR_CONFIG;
        else if (!(users[i].name = strdup(u->name)))
            rc = FLOE_ERR_NOMEM;
        else if (floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, u->name, srv->realm, u->password, k,
                                         &klen) != FLOE_OK)
            rc = FLOE_ERR_CONFIG;
        else
            memcpy(users[i].key, k, TSRV_KEY_LEN);
    }
    for (size_t i = 0; rc == FLOE_OK && i < ns; i++) {
        if (!cfg->secrets[i] || !cfg->secrets[i][0])
            rc = FLOE_ERR_CONFIG;
        else if (!(secrets[i] = strdup(cfg->secrets[i])))
            rc = FLOE_ERR_NOMEM;
    }
    if (rc == FLOE_OK && nu) {
        qsort(users, nu, sizeof *users, user_cmp);
        for (size_t i = 1; i < nu; i++)
            if (strcmp(users[i - 1].name, users[i].name) == 0) rc = FLOE_ERR_CONFIG;
    }
    if (rc != FLOE_OK) {
        free_lists(users, nu, secrets, ns);
        return rc;
    }
    tsrv_users_free(srv);
    srv->users = users;
    srv->secrets = secrets;
    srv->cfg.n_users = nu;
    srv->cfg.n_secrets = ns;
    return FLOE_OK;
}

static const tsrv_user *user_find(const floe_turn_server *srv, const char *name) {
    tsrv_user probe = {.name = (char *)name};
    return srv->cfg.n_users ? bsearch(&probe, srv->users, srv->cfg.n_users, sizeof probe, user_cmp)
                            : NULL;
}

/* ---- stateless nonces ------------------------------------------------------------- */

/* A nonce is base64 of 12 bytes: a 4-byte UNIX expiry and an 8-byte SipHash tag over the
 * expiry, the transport and the client's IP address, keyed by the second half of
 * cfg.nonce_key. Nothing is stored: the tag proves the server sent it to that address.
 * The port is left out: a client's further connections (RFC 6062 data connections, a
 * reconnect) come from other ports of the same address and keep their nonce. */
#define NONCE_RAW 12
#define NONCE_TEXT 16

static uint64_t nonce_tag(const floe_turn_server *srv, uint32_t expiry, const floe_addr *client,
                          floe_transport tr) {
    uint8_t in[4 + 1 + 1 + 16];
    in[0] = (uint8_t)(expiry >> 24);
    in[1] = (uint8_t)(expiry >> 16);
    in[2] = (uint8_t)(expiry >> 8);
    in[3] = (uint8_t)expiry;
    in[4] = (uint8_t)tr;
    in[5] = client->family;
    memcpy(in + 6, client->ip, 16);
    return floe_siphash(srv->cfg.nonce_key + 16, in, sizeof in);
}

size_t tsrv_nonce(floe_turn_server *srv, const floe_addr *client, floe_transport tr, char *out,
                  size_t cap) {
    if (cap < NONCE_TEXT + 1) return 0;
    uint32_t expiry = (uint32_t)(srv->unix_s + srv->cfg.nonce_lifetime_s);
    uint64_t tag = nonce_tag(srv, expiry, client, tr);
    uint8_t raw[NONCE_RAW];
    for (int i = 0; i < 4; i++)
        raw[i] = (uint8_t)(expiry >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (uint8_t)(tag >> (56 - 8 * i));
    EVP_EncodeBlock((unsigned char *)out, raw, NONCE_RAW);
    return NONCE_TEXT;
}

static bool nonce_valid(const floe_turn_server *srv, const char *s, size_t len,
                        const floe_addr *client, floe_transport tr) {
    if (len != NONCE_TEXT) return false;
    char text[NONCE_TEXT + 1];
    memcpy(text, s, NONCE_TEXT);
    text[NONCE_TEXT] = '\0';
    uint8_t raw[NONCE_RAW];
    if (EVP_DecodeBlock(raw, (const unsigned char *)text, NONCE_TEXT) != NONCE_RAW) return false;
    uint32_t expiry =
        (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | raw[4 + i];
    /* Compare every byte whatever the first difference. */
    uint64_t diff = tag ^ nonce_tag(srv, expiry, client, tr);
    return diff == 0 && expiry >= srv->unix_s;
}

/* ---- the rate limit on unauthenticated answers -------------------------------------- */

bool tsrv_rate_take(floe_turn_server *srv, const floe_addr *client) {
    if (srv->cfg.unauth_per_s == 0) return true;
    uint8_t ip[17];
    memcpy(ip, client->ip, 16);
    ip[16] = client->family;
    tsrv_rate *r = &srv->rate[tsrv_hash(srv, ip, sizeof ip) % FLOE_TSRV_RATE_SLOTS];
    uint64_t burst = (uint64_t)srv->cfg.unauth_burst * 1000;
    uint64_t now1 = (uint64_t)srv->now + 1; /* stamps are now + 1: 0 marks an unused slot */
    if (r->stamp_ns == 0) {
        r->tokens_milli = (uint32_t)burst;
        r->stamp_ns = now1;
    } else if (now1 > r->stamp_ns) {
        uint64_t ms = (now1 - r->stamp_ns) / 1000000u;
        uint64_t t = r->tokens_milli + ms * srv->cfg.unauth_per_s; /* ms x per-second rate */
        r->tokens_milli = (uint32_t)(t > burst ? burst : t);
        r->stamp_ns += ms * 1000000u; /* the part of a millisecond not credited stays */
    }
    if (r->tokens_milli < 1000) return false;
    r->tokens_milli -= 1000;
    return true;
}

/* ---- authentication ------------------------------------------------------------------- */

/* A REST username starts with its decimal expiry: "EXPIRY" or "EXPIRY:USER". */
static bool rest_expiry(const char *name, size_t len, uint64_t *expiry) {
    size_t i = 0;
    uint64_t v = 0;
    for (; i < len && name[i] >= '0' && name[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (i == 0 || (i < len && name[i] != ':')) return false;
    *expiry = v;
    return true;
}

static bool rest_key(floe_turn_server *srv, const floe_stun_msg *m, const char *name, size_t len,
                     uint8_t key[TSRV_KEY_LEN]) {
    uint64_t expiry;
    if (!srv->cfg.n_secrets || !rest_expiry(name, len, &expiry) || expiry < srv->unix_s)
        return false;
    for (size_t i = 0; i < srv->cfg.n_secrets; i++) {
        char password[FLOE_TURN_REST_PASS_MAX];
        uint8_t k[32];
        size_t klen = 0;
        if (floe_turn_rest_password(srv->secrets[i], name, len, password, sizeof password) ||
            floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, name, srv->realm, password, k, &klen))
            continue;
        if (floe_stun_msg_check_integrity(m, k, klen) == FLOE_OK) {
            memcpy(key, k, TSRV_KEY_LEN);
            return true;
        }
    }
    return false;
}

tsrv_auth tsrv_authenticate(floe_turn_server *srv, const floe_stun_msg *m, const floe_addr *client,
                            floe_transport tr, uint8_t key[TSRV_KEY_LEN], uint64_t *user_hash) {
    if (m->mi < 0 && m->mi256 < 0) return TSRV_AUTH_CHALLENGE;
    const char *user, *realm, *nonce;
    size_t user_len, realm_len, nonce_len;
    if (floe_stun_msg_get_string(m, FLOE_STUN_ATTR_USERNAME, &user, &user_len) ||
        floe_stun_msg_get_string(m, FLOE_STUN_ATTR_REALM, &realm, &realm_len) ||
        floe_stun_msg_get_string(m, FLOE_STUN_ATTR_NONCE, &nonce, &nonce_len) || user_len == 0 ||
        user_len >= TSRV_NAME_MAX)
        return TSRV_AUTH_BAD;
    if (!nonce_valid(srv, nonce, nonce_len, client, tr)) return TSRV_AUTH_STALE;
    if (realm_len != strlen(srv->realm) || memcmp(realm, srv->realm, realm_len) != 0)
        return TSRV_AUTH_FAILED;
    char name[TSRV_NAME_MAX];
    memcpy(name, user, user_len);
    name[user_len] = '\0';
    if (memchr(name, '\0', user_len)) return TSRV_AUTH_FAILED;
    const tsrv_user *u = user_find(srv, name);
    if (u && floe_stun_msg_check_integrity(m, u->key, TSRV_KEY_LEN) == FLOE_OK)
        memcpy(key, u->key, TSRV_KEY_LEN);
    else if (u || !rest_key(srv, m, name, user_len, key))
        return TSRV_AUTH_FAILED;
    *user_hash = tsrv_hash(srv, name, user_len);
    return TSRV_AUTH_OK;
}
