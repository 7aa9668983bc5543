/* The TURN server core's composition: configuration, time, the dispatch of client
 * input (STUN requests, Send indications, ChannelData), expiry and counters. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/hash.h"
#include "turn_server_priv.h"

static const char *const counter_names[FLOE_TSRV_COUNTER_COUNT] = {
    [FLOE_TSRV_RX_CLIENT] = "rx_client",
    [FLOE_TSRV_RX_PEER] = "rx_peer",
    [FLOE_TSRV_STUN] = "stun",
    [FLOE_TSRV_CHALLENGED] = "challenged_401",
    [FLOE_TSRV_STALE_NONCE] = "stale_nonce_438",
    [FLOE_TSRV_AUTH_FAILED] = "auth_failed_401",
    [FLOE_TSRV_BAD_REQUEST] = "bad_request_400",
    [FLOE_TSRV_UNKNOWN_ATTR] = "unknown_attribute_420",
    [FLOE_TSRV_ALLOCATED] = "allocated",
    [FLOE_TSRV_ALLOCATE_AGAIN] = "allocate_retransmitted",
    [FLOE_TSRV_REFRESHED] = "refreshed",
    [FLOE_TSRV_DEALLOCATED] = "deallocated",
    [FLOE_TSRV_PERMITTED] = "permission_created",
    [FLOE_TSRV_CHANNEL_BOUND] = "channel_bound",
    [FLOE_TSRV_FORBIDDEN] = "forbidden_peer_403",
    [FLOE_TSRV_MISMATCH] = "allocation_mismatch_437",
    [FLOE_TSRV_FAMILY_UNSUPPORTED] = "family_unsupported_440",
    [FLOE_TSRV_WRONG_CREDENTIALS] = "wrong_credentials_441",
    [FLOE_TSRV_TRANSPORT_UNSUPPORTED] = "transport_unsupported_442",
    [FLOE_TSRV_PEER_FAMILY_MISMATCH] = "peer_family_mismatch_443",
    [FLOE_TSRV_QUOTA] = "quota_486",
    [FLOE_TSRV_CAPACITY] = "capacity_508",
    [FLOE_TSRV_DRAINING] = "draining_508",
    [FLOE_TSRV_RESERVATIONS_FULL] = "reservations_full_508",
    [FLOE_TSRV_RESERVATION_INVALID] = "reservation_token_invalid_508",
    [FLOE_TSRV_TO_PEER] = "relayed_to_peer",
    [FLOE_TSRV_TCP_CONNECTING] = "tcp_connect_started",
    [FLOE_TSRV_TCP_BOUND] = "tcp_connection_bound",
    [FLOE_TSRV_TCP_EXISTS] = "tcp_connection_exists_446",
    [FLOE_TSRV_TO_CLIENT] = "relayed_to_client",
    [FLOE_TSRV_DROP_MALFORMED] = "drop_malformed",
    [FLOE_TSRV_DROP_NOT_REQUEST] = "drop_not_a_request",
    [FLOE_TSRV_DROP_NO_ALLOCATION] = "drop_no_allocation",
    [FLOE_TSRV_DROP_NO_PERMISSION] = "drop_no_permission",
    [FLOE_TSRV_DROP_NO_CHANNEL] = "drop_no_channel",
    [FLOE_TSRV_DROP_RATE_LIMITED] = "drop_rate_limited",
    [FLOE_TSRV_DROP_BANDWIDTH] = "drop_bandwidth",
    [FLOE_TSRV_DROP_NO_SPACE] = "drop_answer_too_big",
    [FLOE_TSRV_BYTES_TO_PEER] = "bytes_to_peer",
    [FLOE_TSRV_BYTES_TO_CLIENT] = "bytes_to_client",
    [FLOE_TSRV_EXPIRED] = "allocations_expired",
    [FLOE_TSRV_CLOSED_WITH_CONN] = "allocations_closed_with_connection",
    [FLOE_TSRV_POLICY_REVOKED] = "entries_revoked_by_reload",
    [FLOE_TSRV_TCP_CONNECTED] = "tcp_connected",
    [FLOE_TSRV_TCP_CONNECT_FAILED] = "tcp_connect_failed_447",
    [FLOE_TSRV_TCP_ATTEMPTS] = "tcp_connection_attempts",
    [FLOE_TSRV_TCP_REFUSED] = "tcp_peer_refused",
    [FLOE_TSRV_TCP_UNBOUND] = "tcp_closed_unbound",
    [FLOE_TSRV_RESERVED] = "reservations_made",
    [FLOE_TSRV_RESERVATION_USED] = "reservations_claimed",
    [FLOE_TSRV_RESERVATION_EXPIRED] = "reservations_expired",
};

const char *floe_turn_server_counter_name(int counter) {
    if (counter < 0 || counter >= FLOE_TSRV_COUNTER_COUNT) return "unknown";
    return counter_names[counter];
}

bool floe_turn_server_counter_is_outcome(int counter) {
    return counter >= FLOE_TSRV_STUN && counter <= FLOE_TSRV_DROP_NO_SPACE;
}

void floe_turn_server_config_default(floe_turn_server_config *c) {
    memset(c, 0, sizeof *c);
    c->nonce_lifetime_s = FLOE_TSRV_NONCE_S;
    c->default_lifetime_s = FLOE_TSRV_DEFAULT_LIFETIME_S;
    c->max_lifetime_s = FLOE_TSRV_MAX_LIFETIME_S;
    c->max_allocations = 16384;
    c->max_permissions = FLOE_TSRV_MAX_PERMISSIONS;
    c->max_channels = FLOE_TSRV_MAX_CHANNELS;
    c->unauth_per_s = 20;
    c->unauth_burst = 40;
    c->max_tcp_connections = 1024;
    c->max_reservations = FLOE_TSRV_RESERVATIONS;
    c->relay_v4 = true;
    floe_stun_server_config_default(&c->stun);
}

uint64_t tsrv_hash(const floe_turn_server *srv, const void *p, size_t n) {
    return floe_siphash(srv->cfg.nonce_key, p, n);
}

uint32_t tsrv_secs(const floe_turn_server *srv) {
    return (uint32_t)((srv->now - srv->epoch) / FLOE_S(1)) + 1;
}

static int check_config(const floe_turn_server_config *c) {
    if (!c->realm || !c->realm[0] || strlen(c->realm) > 763) return FLOE_ERR_CONFIG;
    if (c->max_allocations == 0 || c->max_allocations > (1u << 24)) return FLOE_ERR_CONFIG;
    if (c->max_tcp_connections > 0xFFFF) return FLOE_ERR_CONFIG; /* ids keep the index in 16 bits */
    if (c->max_reservations > FLOE_TSRV_MAX_RESERVATIONS) return FLOE_ERR_CONFIG;
    if ((c->relay_open_pair && !c->relay_claim) || (!c->admit != !c->release))
        return FLOE_ERR_CONFIG;
    if (c->max_permissions == 0 || c->max_permissions > FLOE_TSRV_MAX_PERMISSIONS ||
        c->max_channels > FLOE_TSRV_MAX_CHANNELS)
        return FLOE_ERR_CONFIG;
    if (c->default_lifetime_s == 0 || c->max_lifetime_s < c->default_lifetime_s ||
        c->nonce_lifetime_s == 0)
        return FLOE_ERR_CONFIG;
    if (c->unauth_per_s && c->unauth_burst == 0) return FLOE_ERR_CONFIG;
    if (!c->relay_v4 && !c->relay_v6) return FLOE_ERR_CONFIG;
    return FLOE_OK;
}

/* Copies n items of size sz (NULL for none). */
static void *dup_array(const void *p, size_t n, size_t sz, bool *fail) {
    if (!n) return NULL;
    void *q = malloc(n * sz);
    if (!q) {
        *fail = true;
        return NULL;
    }
    memcpy(q, p, n * sz);
    return q;
}

static void free_lists(floe_turn_server *srv) {
    free(srv->allow);
    free(srv->deny);
    free(srv->self);
    free(srv->software);
    srv->allow = srv->deny = NULL;
    srv->self = NULL;
    srv->software = NULL;
}

/* Takes the reloadable parts of cfg; on error srv keeps what it had. */
static int take_config(floe_turn_server *srv, const floe_turn_server_config *cfg) {
    int rc = check_config(cfg);
    if (rc != FLOE_OK) return rc;
    if (srv->realm && strcmp(srv->realm, cfg->realm) != 0) return FLOE_ERR_CONFIG; /* keys */
    bool fail = false;
    floe_addr_prefix *allow = dup_array(cfg->allow, cfg->n_allow, sizeof *allow, &fail);
    floe_addr_prefix *deny = dup_array(cfg->deny, cfg->n_deny, sizeof *deny, &fail);
    floe_addr *self = dup_array(cfg->self, cfg->n_self, sizeof *self, &fail);
    char *software = cfg->software ? strdup(cfg->software) : NULL;
    char *realm = srv->realm ? NULL : strdup(cfg->realm);
    if (fail || (cfg->software && !software) || (!srv->realm && !realm)) {
        free(allow);
        free(deny);
        free(self);
        free(software);
        free(realm);
        return FLOE_ERR_NOMEM;
    }
    if (realm) srv->realm = realm;
    if ((rc = tsrv_users_load(srv, cfg)) != FLOE_OK) {
        free(allow);
        free(deny);
        free(self);
        free(software);
        return rc;
    }
    free_lists(srv);
    size_t nu = srv->cfg.n_users, ns = srv->cfg.n_secrets;
    floe_turn_server_config old = srv->cfg;
    bool had = srv->slot != NULL;
    srv->cfg = *cfg;
    srv->cfg.n_users = nu;
    srv->cfg.n_secrets = ns;
    if (had) {
        /* On reload the table keeps its size and its hash key (the 5-tuple index and the
         * per-user counts are keyed by it), and the relays keep their callbacks. */
        srv->cfg.max_allocations = old.max_allocations;
        memcpy(srv->cfg.nonce_key, old.nonce_key, sizeof old.nonce_key);
        srv->cfg.relay_open = old.relay_open;
        srv->cfg.relay_close = old.relay_close;
        srv->cfg.tcp_listen = old.tcp_listen;
        srv->cfg.tcp_connect = old.tcp_connect;
        srv->cfg.tcp_close = old.tcp_close;
        srv->cfg.max_tcp_connections = old.max_tcp_connections;
        srv->cfg.relay_open_pair = old.relay_open_pair;
        srv->cfg.relay_claim = old.relay_claim;
        srv->cfg.max_reservations = old.max_reservations;
        srv->cfg.reservations = old.reservations;
        srv->cfg.lock = old.lock;
        srv->cfg.admit = old.admit;
        srv->cfg.release = old.release;
        srv->cfg.ctx = old.ctx;
    }
    srv->cfg.users = NULL;
    srv->cfg.secrets = NULL;
    srv->allow = allow;
    srv->deny = deny;
    srv->self = self;
    srv->software = software;
    srv->cfg.allow = allow;
    srv->cfg.deny = deny;
    srv->cfg.self = self;
    srv->cfg.realm = srv->realm;
    srv->cfg.software = software;
    return FLOE_OK;
}

int floe_turn_server_new(floe_turn_server **out, const floe_turn_server_config *cfg) {
    *out = NULL;
    int rc = check_config(cfg);
    if (rc != FLOE_OK) return rc;
    floe_turn_server *srv = calloc(1, sizeof *srv);
    if (!srv) return FLOE_ERR_NOMEM;
    srv->cfg.max_allocations = cfg->max_allocations;
    srv->cfg.max_tcp_connections = cfg->max_tcp_connections;
    if ((rc = take_config(srv, cfg)) != FLOE_OK || (rc = tsrv_table_init(srv)) != FLOE_OK ||
        (rc = tsrv_tcp_init(srv)) != FLOE_OK || (rc = tsrv_resv_init(srv)) != FLOE_OK ||
        (rc = floe_stun_server_init(&srv->stun, &cfg->stun)) != FLOE_OK) {
        floe_turn_server_free(srv);
        return rc;
    }
    *out = srv;
    return FLOE_OK;
}

void floe_turn_server_free(floe_turn_server *srv) {
    if (!srv) return;
    for (uint32_t i = 0; srv->slot && i < srv->high_water; i++)
        if (srv->slot[i].used) tsrv_remove(srv, &srv->slot[i]);
    tsrv_resv_free(srv);
    tsrv_table_free(srv);
    free(srv->tcp);
    tsrv_users_free(srv);
    free_lists(srv);
    free(srv->realm);
    free(srv);
}

int floe_turn_server_reload(floe_turn_server *srv, const floe_turn_server_config *cfg) {
    int rc = take_config(srv, cfg);
    if (rc != FLOE_OK) return rc;
    for (uint32_t i = 0; i < srv->high_water; i++)
        if (srv->slot[i].used) tsrv_revoke(srv, &srv->slot[i]);
    return FLOE_OK;
}

void floe_turn_server_drain(floe_turn_server *srv) {
    srv->draining = true;
}

void floe_turn_server_set_time(floe_turn_server *srv, floe_time_ns now, uint64_t unix_s) {
    if (!srv->have_epoch) {
        srv->epoch = now;
        srv->have_epoch = true;
    }
    if (now > srv->now) srv->now = now;
    srv->unix_s = unix_s;
}

void floe_turn_server_on_client(floe_turn_server *srv, const floe_turn_tuple *t, const uint8_t *p,
                                size_t len, uint8_t *out, size_t cap, floe_turn_server_out *o) {
    memset(o, 0, sizeof *o);
    srv->counters[FLOE_TSRV_RX_CLIENT]++;
    if (len >= 4 && (p[0] & 0xC0) == 0x40) return tsrv_channel_data(srv, t, p, len, o);
    /* Binding (also RFC 3489's, without the magic cookie) is the STUN server's. */
    if (len >= 2 && floe_stun_type_method((uint16_t)(p[0] << 8 | p[1])) == FLOE_STUN_BINDING &&
        (p[0] & 0xC0) == 0) {
        floe_stun_server_reply r;
        floe_stun_server_handle(&srv->stun, p, len, &t->client, &t->server, t->transport, out, cap,
                                &r);
        if (r.len) {
            o->data = out;
            o->len = r.len;
            o->to = r.to;
            o->tuple = *t;
            o->from = r.from;
        }
        return tsrv_count(srv, o, FLOE_TSRV_STUN);
    }
    floe_stun_msg m;
    if (floe_stun_msg_decode(p, len, 0, &m) != FLOE_OK ||
        (t->transport == FLOE_TRANSPORT_UDP && m.raw_len != len))
        return tsrv_count(srv, o, FLOE_TSRV_DROP_MALFORMED);
    if (m.cls == FLOE_STUN_INDICATION && m.method == FLOE_STUN_SEND)
        return tsrv_send_indication(srv, t, &m, o);
    if (m.cls != FLOE_STUN_REQUEST) return tsrv_count(srv, o, FLOE_TSRV_DROP_NOT_REQUEST);
    tsrv_request(srv, t, &m, out, cap, o);
}

void floe_turn_server_tick(floe_turn_server *srv) {
    uint32_t now = tsrv_secs(srv);
    tsrv_tcp_tick(srv);
    tsrv_resv_tick(srv);
    for (uint32_t i = 0; i < srv->high_water; i++) {
        tsrv_alloc *a = &srv->slot[i];
        if (!a->used) continue;
        if (a->until <= now) {
            srv->counters[FLOE_TSRV_EXPIRED]++;
            tsrv_remove(srv, a);
        } else {
            tsrv_expire_entries(srv, a);
        }
    }
}

void floe_turn_server_conn_closed(floe_turn_server *srv, const floe_turn_tuple *t) {
    tsrv_alloc *a = tsrv_find(srv, t);
    if (!a) return;
    srv->counters[FLOE_TSRV_CLOSED_WITH_CONN]++;
    tsrv_remove(srv, a);
}

void floe_turn_server_gauges_get(const floe_turn_server *srv, floe_turn_server_gauges *g) {
    memset(g, 0, sizeof *g);
    g->allocations = srv->n_alloc;
    g->users_with_allocations = srv->n_users_active;
    g->reservations = tsrv_resv_count((floe_turn_server *)srv); /* the lock is not state */
    uint32_t now = tsrv_secs(srv);
    for (uint32_t i = 0; i < srv->high_water; i++) {
        const tsrv_alloc *a = &srv->slot[i];
        if (!a->used) continue;
        for (size_t k = 0; k < a->n_perm; k++)
            g->permissions += a->perm[k].until > now;
        for (size_t k = 0; k < a->n_chan; k++)
            g->channels += a->chan[k].until > now;
    }
    uint32_t nb = srv->bucket_mask + 1;
    g->table_bytes = sizeof *srv + (size_t)srv->high_water * sizeof(tsrv_alloc) +
                     (size_t)srv->ucount_high * sizeof(tsrv_ucount) +
                     2 * (size_t)nb * sizeof(uint32_t) + tsrv_resv_bytes(srv);
}

const uint64_t *floe_turn_server_counters(const floe_turn_server *srv) {
    return srv->counters;
}

floe_stun_server *floe_turn_server_stun(floe_turn_server *srv) {
    return &srv->stun;
}

size_t floe_turn_server_alloc_bytes(void) {
    return sizeof(tsrv_alloc) + sizeof(tsrv_ucount) + sizeof(uint32_t);
}
