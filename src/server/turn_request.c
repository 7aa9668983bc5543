/* The four TURN requests (RFC 8656 §7-§12): Allocate, Refresh, CreatePermission and
 * ChannelBind, after authentication, and every answer they get. Answers to requests
 * that did not authenticate are as small as the RFC allows and rate-limited. */
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/turn.h"
#include "turn_server_priv.h"

/* ---- answers ------------------------------------------------------------------------ */

typedef struct answer {
    floe_turn_server *srv;
    const floe_turn_tuple *t;
    const floe_stun_msg *m;
    const uint8_t *key; /* NULL: not authenticated, no MESSAGE-INTEGRITY */
    floe_stun_builder b;
    floe_turn_server_out *o;
} answer;

static void begin(answer *r, floe_stun_class cls, uint8_t *out, size_t cap) {
    floe_stun_builder_init(&r->b, out, cap, r->m->method, cls, r->m->tid);
}

void tsrv_answer_finish(floe_turn_server *srv, floe_stun_builder *b, const floe_turn_tuple *t,
                        const uint8_t *key, bool fp, uint8_t *out, floe_turn_server_out *o,
                        int counter) {
    if (srv->software) floe_stun_add_string(b, FLOE_STUN_ATTR_SOFTWARE, srv->software);
    if (key) floe_stun_add_integrity(b, key, TSRV_KEY_LEN);
    if (fp) floe_stun_add_fingerprint(b); /* mirror the client's choice */
    size_t n = 0;
    if (floe_stun_builder_finish(b, &n) != FLOE_OK) {
        if (counter >= 0) tsrv_count(srv, o, FLOE_TSRV_DROP_NO_SPACE);
        return;
    }
    o->data = out;
    o->len = n;
    o->to = t->client;
    o->tuple = *t;
    if (counter >= 0) tsrv_count(srv, o, counter);
}

void tsrv_answer_error(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                       const uint8_t *key, int code, uint8_t *out, size_t cap,
                       floe_turn_server_out *o, int counter) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, m->method, FLOE_STUN_ERROR, m->tid);
    floe_stun_add_error(&b, code, srv->software ? NULL : "");
    tsrv_answer_finish(srv, &b, t, key, m->fp >= 0, out, o, counter);
}

static void finish(answer *r, uint8_t *out, int counter) {
    tsrv_answer_finish(r->srv, &r->b, r->t, r->key, r->m->fp >= 0, out, r->o, counter);
}

static void fail(answer *r, uint8_t *out, size_t cap, int code, int counter) {
    tsrv_answer_error(r->srv, r->t, r->m, r->key, code, out, cap, r->o, counter);
}

/* 401 or 438 with REALM and a fresh NONCE; rate-limited like every unauthenticated
 * answer. */
static void challenge(answer *r, uint8_t *out, size_t cap, int code, int counter) {
    floe_turn_server *srv = r->srv;
    if (!tsrv_rate_take(srv, &r->t->client)) {
        tsrv_count(srv, r->o, FLOE_TSRV_DROP_RATE_LIMITED);
        return;
    }
    char nonce[32];
    size_t nn = tsrv_nonce(srv, &r->t->client, r->t->transport, nonce, sizeof nonce);
    r->key = NULL;
    begin(r, FLOE_STUN_ERROR, out, cap);
    floe_stun_add_error(&r->b, code, srv->software ? NULL : "");
    floe_stun_add_string(&r->b, FLOE_STUN_ATTR_REALM, srv->realm);
    floe_stun_add(&r->b, FLOE_STUN_ATTR_NONCE, nonce, nn);
    finish(r, out, counter);
}

/* ---- Allocate ------------------------------------------------------------------------ */

static uint32_t clamp_lifetime(const floe_turn_server *srv, const floe_stun_msg *m, bool refresh) {
    uint32_t want = 0;
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_LIFETIME, &want) != FLOE_OK)
        return srv->cfg.default_lifetime_s;
    if (refresh && want == 0) return 0;
    /* RFC 8656 §7.2 and §7.3: less than the default gets the default, on Refresh too. */
    if (want < srv->cfg.default_lifetime_s) want = srv->cfg.default_lifetime_s;
    return want > srv->cfg.max_lifetime_s ? srv->cfg.max_lifetime_s : want;
}

/* The success answer; token is the RESERVATION-TOKEN of the port held for the next
 * allocation (0: none). */
static void allocate_success(answer *r, tsrv_alloc *a, bool v6_refused, uint64_t token,
                             uint8_t *out, size_t cap, int counter) {
    begin(r, FLOE_STUN_SUCCESS, out, cap);
    for (int i = 0; i < 2; i++)
        if (a->relay[i].open)
            floe_stun_add_xor_addr(&r->b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &a->relay[i].addr);
    if (v6_refused) { /* RFC 8656 §18.12: family, reserved, class, number */
        const uint8_t aec[4] = {0x02, 0x00, 4, 40};
        floe_stun_add(&r->b, FLOE_STUN_ATTR_ADDRESS_ERROR_CODE, aec, sizeof aec);
    }
    if (token) floe_stun_add_u64(&r->b, FLOE_STUN_ATTR_RESERVATION_TOKEN, token);
    floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_LIFETIME, a->lifetime);
    floe_stun_add_xor_addr(&r->b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &r->t->client);
    finish(r, out, counter);
}

/* Which relay families the request wants: bit 0 IPv4, bit 1 IPv6. 0 with *code set
 * when the request is refused. */
static unsigned wanted_families(const floe_turn_server *srv, const floe_stun_msg *m, int *code,
                                bool *v6_refused) {
    uint32_t raf = 0, aaf = 0;
    bool has_raf = floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &raf) == 0;
    bool has_aaf = floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &aaf) == 0;
    *v6_refused = false;
    if (has_raf && has_aaf) return *code = 400, 0; /* RFC 8656 §7.2 */
    if (has_aaf) {
        if (aaf >> 24 != 0x02) return *code = 400, 0;
        if (!srv->cfg.relay_v4) return *code = 440, 0;
        if (!srv->cfg.relay_v6) {
            *v6_refused = true;
            return 1u;
        }
        return 3u;
    }
    unsigned fam = !has_raf || raf >> 24 == 0x01 ? 1u : raf >> 24 == 0x02 ? 2u : 0u;
    if (fam == 0 || (fam == 1 && !srv->cfg.relay_v4) || (fam == 2 && !srv->cfg.relay_v6))
        return *code = 440, 0;
    return fam;
}

/* Opens the allocation's relays: the held port of the reservation `token` (rv), a port
 * pair (reserve: *out_token gets the RESERVATION-TOKEN of the upper one), or one relay
 * per wanted family. 0, or the outcome counter of the failure (the caller removes the
 * allocation and answers 508). */
static int open_relays(floe_turn_server *srv, tsrv_alloc *a, unsigned fams, bool tcp, bool even,
                       bool reserve, bool rv, uint64_t token, bool df, uint64_t *out_token) {
    uint64_t handle = tsrv_handle(srv, a);
    if (rv) { /* RFC 8656 §7.2: the previously reserved transport address */
        floe_addr addr;
        uint64_t held;
        if (!tsrv_resv_take(srv, token, &addr, &held)) /* taken or expired meanwhile */
            return FLOE_TSRV_RESERVATION_INVALID;
        tsrv_relay *rl = &a->relay[addr.family == FLOE_AF_INET6 ? 1 : 0];
        if (srv->cfg.relay_claim(srv->cfg.ctx, held, handle, df) != FLOE_OK) {
            if (srv->cfg.relay_close) srv->cfg.relay_close(srv->cfg.ctx, held);
            return FLOE_TSRV_CAPACITY;
        }
        rl->addr = addr;
        rl->token = held;
        rl->open = true;
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (!(fams & (1u << i))) continue;
        tsrv_relay *rl = &a->relay[i];
        int fam = i == 0 ? FLOE_AF_INET4 : FLOE_AF_INET6, rc = FLOE_ERR_UNSUPPORTED;
        floe_addr held_addr;
        uint64_t held = 0;
        if (tcp)
            rc = srv->cfg.tcp_listen(srv->cfg.ctx, handle, fam, &rl->addr, &rl->token);
        else if (reserve)
            rc = srv->cfg.relay_open_pair(srv->cfg.ctx, handle, fam, df, &rl->addr, &rl->token,
                                          &held_addr, &held);
        else if (srv->cfg.relay_open)
            rc = srv->cfg.relay_open(srv->cfg.ctx, handle, fam, even, df, &rl->addr, &rl->token);
        if (rc != FLOE_OK) return FLOE_TSRV_CAPACITY;
        rl->open = true;
        a->tcp = tcp;
        if (reserve && !(*out_token = tsrv_resv_add(srv, handle, &held_addr, held)))
            return FLOE_TSRV_RESERVATIONS_FULL;
    }
    return 0;
}

static void on_allocate(answer *r, uint64_t user_hash, uint8_t *out, size_t cap) {
    floe_turn_server *srv = r->srv;
    const floe_stun_msg *m = r->m;
    tsrv_alloc *a = tsrv_find(srv, r->t);
    if (a) { /* RFC 8656 §7.2: a retransmission gets the success again, else 437 */
        if (a->user_hash == user_hash && memcmp(a->alloc_tid, m->tid, 12) == 0) {
            int code = 0;
            bool v6_refused = false; /* the same request: the same ADDRESS-ERROR-CODE */
            wanted_families(srv, m, &code, &v6_refused);
            /* ... and the same RESERVATION-TOKEN while the port is still held */
            return allocate_success(r, a, v6_refused && !a->relay[1].open,
                                    tsrv_resv_of(srv, tsrv_handle(srv, a)), out, cap,
                                    FLOE_TSRV_ALLOCATE_AGAIN);
        }
        return fail(r, out, cap, 437, FLOE_TSRV_MISMATCH);
    }
    if (srv->draining) return fail(r, out, cap, 508, FLOE_TSRV_DRAINING);
    uint32_t transport = 0;
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, &transport) != FLOE_OK)
        return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    /* RFC 6062 §5.1: TCP relaying, asked for on a TCP or TLS connection, without the
     * UDP-only attributes. */
    bool tcp = transport >> 24 == 6 && srv->cfg.tcp_listen;
    if (transport >> 24 != 17 && !tcp)
        return fail(r, out, cap, 442, FLOE_TSRV_TRANSPORT_UNSUPPORTED);
    const floe_stun_attr *even = floe_stun_msg_find(m, FLOE_STUN_ATTR_EVEN_PORT);
    const floe_stun_attr *tok = floe_stun_msg_find(m, FLOE_STUN_ATTR_RESERVATION_TOKEN);
    bool has_raf = floe_stun_msg_find(m, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY) != NULL;
    bool has_aaf = floe_stun_msg_find(m, FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY) != NULL;
    if (tcp && (!floe_transport_reliable(r->t->transport) || even || tok || has_aaf ||
                floe_stun_msg_find(m, FLOE_STUN_ATTR_DONT_FRAGMENT)))
        return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    /* RFC 8656 §7.2 steps 4 and 7. The decoder made sure EVEN-PORT has its one byte and
     * RESERVATION-TOKEN its eight. */
    bool reserve = even && (even->val[0] & 0x80);
    if ((tok && (even || has_raf || has_aaf)) || (reserve && has_aaf))
        return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    uint64_t token = 0;
    unsigned fams = 0;
    bool v6_refused = false;
    if (tok) { /* checked now (RFC order), taken once the allocation is made */
        floe_stun_msg_get_u64(m, FLOE_STUN_ATTR_RESERVATION_TOKEN, &token);
        if (!tsrv_resv_known(srv, token))
            return fail(r, out, cap, 508, FLOE_TSRV_RESERVATION_INVALID);
    } else {
        int code = 0;
        if (!(fams = wanted_families(srv, m, &code, &v6_refused)))
            return fail(r, out, cap, code,
                        code == 440 ? FLOE_TSRV_FAMILY_UNSUPPORTED : FLOE_TSRV_BAD_REQUEST);
        if (reserve && !tsrv_resv_room(srv))
            return fail(r, out, cap, 508, FLOE_TSRV_RESERVATIONS_FULL);
    }
    if (srv->cfg.user_quota && tsrv_user_count(srv, user_hash) >= srv->cfg.user_quota)
        return fail(r, out, cap, 486, FLOE_TSRV_QUOTA);
    if (srv->cfg.admit) { /* quotas shared with other cores */
        int code = srv->cfg.admit(srv->cfg.ctx, user_hash);
        if (code == 486) return fail(r, out, cap, 486, FLOE_TSRV_QUOTA);
        if (code != 0) return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    }
    a = tsrv_insert(srv, r->t, user_hash);
    if (!a) {
        if (srv->cfg.release) srv->cfg.release(srv->cfg.ctx, user_hash);
        return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    }
    bool df = floe_stun_msg_find(m, FLOE_STUN_ATTR_DONT_FRAGMENT) != NULL;
    uint64_t new_token = 0;
    int failed =
        open_relays(srv, a, fams, tcp, even != NULL, reserve, tok != NULL, token, df, &new_token);
    if (failed) {
        tsrv_remove(srv, a); /* closes a relay already opened */
        return fail(r, out, cap, 508, failed);
    }
    memcpy(a->key, r->key, TSRV_KEY_LEN);
    memcpy(a->alloc_tid, m->tid, 12);
    a->lifetime = clamp_lifetime(srv, m, false);
    a->until = tsrv_secs(srv) + a->lifetime;
    a->bw_tokens = srv->cfg.bytes_per_s_allocation;
    a->bw_stamp_ns = (uint64_t)srv->now;
    allocate_success(r, a, v6_refused, new_token, out, cap, FLOE_TSRV_ALLOCATED);
}

/* ---- Refresh ------------------------------------------------------------------------- */

static void on_refresh(answer *r, tsrv_alloc *a, uint8_t *out, size_t cap) {
    floe_turn_server *srv = r->srv;
    uint32_t raf = 0;
    if (floe_stun_msg_get_u32(r->m, FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &raf) == FLOE_OK) {
        unsigned fam = raf >> 24; /* RFC 8656 §7.3: must name a family it has */
        if ((fam != 1 && fam != 2) || !a->relay[fam - 1].open)
            return fail(r, out, cap, 443, FLOE_TSRV_PEER_FAMILY_MISMATCH);
    }
    uint32_t lt = clamp_lifetime(srv, r->m, true);
    begin(r, FLOE_STUN_SUCCESS, out, cap);
    floe_stun_add_u32(&r->b, FLOE_STUN_ATTR_LIFETIME, lt);
    if (lt == 0) {
        tsrv_remove(srv, a);
        return finish(r, out, FLOE_TSRV_DEALLOCATED);
    }
    a->lifetime = lt;
    a->until = tsrv_secs(srv) + lt;
    finish(r, out, FLOE_TSRV_REFRESHED);
}

/* ---- CreatePermission and ChannelBind ------------------------------------------------ */

static bool relay_family_open(const tsrv_alloc *a, const floe_addr *peer) {
    return a->relay[peer->family == FLOE_AF_INET6 ? 1 : 0].open;
}

bool tsrv_permit(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer) {
    tsrv_perm *p = tsrv_perm_find(srv, a, peer);
    if (!p) {
        if (a->n_perm >= srv->cfg.max_permissions) return false;
        p = &a->perm[a->n_perm++];
        p->family = peer->family;
        memcpy(p->ip, peer->ip, 16);
    }
    p->until = tsrv_secs(srv) + FLOE_TSRV_PERMISSION_S;
    return true;
}

static void on_create_permission(answer *r, tsrv_alloc *a, uint8_t *out, size_t cap) {
    floe_turn_server *srv = r->srv;
    const floe_stun_msg *m = r->m;
    floe_addr peers[FLOE_STUN_MAX_ATTRS];
    size_t n = 0, fresh = 0;
    for (size_t i = 0; i < m->n_attrs; i++) {
        if (m->attrs[i].type != FLOE_STUN_ATTR_XOR_PEER_ADDRESS) continue;
        floe_addr *p = &peers[n];
        if (floe_stun_attr_addr(m, &m->attrs[i], p) != FLOE_OK)
            return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
        p->port = 0; /* a permission is for an IP (RFC 8656 §9) */
        if (!relay_family_open(a, p)) return fail(r, out, cap, 443, FLOE_TSRV_PEER_FAMILY_MISMATCH);
        if (!floe_turn_server_peer_allowed(srv, p))
            return fail(r, out, cap, 403, FLOE_TSRV_FORBIDDEN);
        if (!tsrv_perm_find(srv, a, p)) fresh++;
        n++;
    }
    if (n == 0) return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    /* All or nothing: check the cap before installing any (duplicates may overcount). */
    if (a->n_perm + fresh > srv->cfg.max_permissions)
        return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    for (size_t i = 0; i < n; i++)
        if (!tsrv_permit(srv, a, &peers[i])) return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    begin(r, FLOE_STUN_SUCCESS, out, cap);
    finish(r, out, FLOE_TSRV_PERMITTED);
}

static void on_channel_bind(answer *r, tsrv_alloc *a, uint8_t *out, size_t cap) {
    floe_turn_server *srv = r->srv;
    if (a->tcp) return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST); /* RFC 6062 §5: no channels */
    uint32_t v = 0;
    floe_addr peer;
    if (floe_stun_msg_get_u32(r->m, FLOE_STUN_ATTR_CHANNEL_NUMBER, &v) != FLOE_OK ||
        floe_stun_msg_get_addr(r->m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK)
        return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    uint16_t number = (uint16_t)(v >> 16);
    /* RFC 8656 §11.2 says 0x4000-0x4FFF; RFC 5766 clients still use up to 0x7FFF. */
    if (number < FLOE_TURN_CHANNEL_MIN || number > FLOE_TURN_CHANNEL_MAX_RFC5766 || peer.port == 0)
        return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    if (!relay_family_open(a, &peer)) return fail(r, out, cap, 443, FLOE_TSRV_PEER_FAMILY_MISMATCH);
    if (!floe_turn_server_peer_allowed(srv, &peer))
        return fail(r, out, cap, 403, FLOE_TSRV_FORBIDDEN);
    /* A number is bound to one peer and a peer to one number, also during the five
     * minutes after the binding expires (tsrv_chan_* still find those). */
    tsrv_chan *c = tsrv_chan_by_number(srv, a, number);
    tsrv_chan *byp = tsrv_chan_by_peer(srv, a, &peer);
    if (c != byp) return fail(r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    if (!c && a->n_chan >= srv->cfg.max_channels) return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    floe_addr ip = peer;
    ip.port = 0;
    if (!tsrv_permit(srv, a, &ip)) return fail(r, out, cap, 508, FLOE_TSRV_CAPACITY);
    if (!c) {
        c = &a->chan[a->n_chan++];
        c->family = peer.family;
        memcpy(c->ip, peer.ip, 16);
        c->port = peer.port;
        c->number = number;
    }
    c->until = tsrv_secs(srv) + FLOE_TSRV_CHANNEL_S;
    begin(r, FLOE_STUN_SUCCESS, out, cap);
    finish(r, out, FLOE_TSRV_CHANNEL_BOUND);
}

/* ---- dispatch -------------------------------------------------------------------------- */

void tsrv_request(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                  uint8_t *out, size_t cap, floe_turn_server_out *o) {
    answer r = {.srv = srv, .t = t, .m = m, .o = o};
    uint8_t key[TSRV_KEY_LEN];
    uint64_t user_hash = 0;
    switch (tsrv_authenticate(srv, m, &t->client, t->transport, key, &user_hash)) {
    case TSRV_AUTH_CHALLENGE: return challenge(&r, out, cap, 401, FLOE_TSRV_CHALLENGED);
    case TSRV_AUTH_STALE: return challenge(&r, out, cap, 438, FLOE_TSRV_STALE_NONCE);
    case TSRV_AUTH_FAILED: return challenge(&r, out, cap, 401, FLOE_TSRV_AUTH_FAILED);
    case TSRV_AUTH_BAD:
        if (!tsrv_rate_take(srv, &t->client))
            return tsrv_count(srv, o, FLOE_TSRV_DROP_RATE_LIMITED);
        return fail(&r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    case TSRV_AUTH_OK: break;
    }
    r.key = key;
    if (m->n_unknown) {
        begin(&r, FLOE_STUN_ERROR, out, cap);
        floe_stun_add_error(&r.b, 420, srv->software ? NULL : "");
        floe_stun_add_unknown(&r.b, m->unknown, m->n_unknown);
        return finish(&r, out, FLOE_TSRV_UNKNOWN_ATTR);
    }
    if (m->method == FLOE_STUN_ALLOCATE) return on_allocate(&r, user_hash, out, cap);
    /* RFC 6062 §5.4: ConnectionBind comes on a new connection, without an allocation. */
    if (m->method == FLOE_STUN_CONNECTION_BIND)
        return tsrv_tcp_bind(srv, t, m, user_hash, key, out, cap, o);
    tsrv_alloc *a = tsrv_find(srv, t);
    if (!a) return fail(&r, out, cap, 437, FLOE_TSRV_MISMATCH);
    /* RFC 8656 §5: the allocation's requests must come from the user who made it. */
    if (a->user_hash != user_hash) return fail(&r, out, cap, 441, FLOE_TSRV_WRONG_CREDENTIALS);
    tsrv_expire_entries(srv, a);
    switch (m->method) {
    case FLOE_STUN_REFRESH: return on_refresh(&r, a, out, cap);
    case FLOE_STUN_CREATE_PERMISSION: return on_create_permission(&r, a, out, cap);
    case FLOE_STUN_CHANNEL_BIND: return on_channel_bind(&r, a, out, cap);
    case FLOE_STUN_CONNECT: return tsrv_tcp_connect(srv, t, m, a, key, out, cap, o);
    default: return fail(&r, out, cap, 400, FLOE_TSRV_BAD_REQUEST);
    }
}

void tsrv_revoke(floe_turn_server *srv, tsrv_alloc *a) {
    for (size_t i = 0; i < a->n_perm;) {
        floe_addr p;
        tsrv_addr_of(a->perm[i].family, a->perm[i].ip, 0, &p);
        if (floe_turn_server_peer_allowed(srv, &p)) {
            i++;
            continue;
        }
        a->perm[i] = a->perm[--a->n_perm];
        srv->counters[FLOE_TSRV_POLICY_REVOKED]++;
    }
    for (size_t i = 0; i < a->n_chan;) {
        floe_addr p;
        tsrv_addr_of(a->chan[i].family, a->chan[i].ip, a->chan[i].port, &p);
        if (floe_turn_server_peer_allowed(srv, &p)) {
            i++;
            continue;
        }
        a->chan[i] = a->chan[--a->n_chan];
        srv->counters[FLOE_TSRV_POLICY_REVOKED]++;
    }
}
