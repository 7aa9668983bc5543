/* The allocation table: a fixed array of slots, a chained index on the 5-tuple keyed
 * with SipHash (a client cannot aim its source ports at one bucket), and the count of
 * allocations per username. Slots past the high-water mark have never been written, so
 * a large table costs memory only as it fills. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/hash.h"
#include "turn_server_priv.h"

static uint32_t pow2_at_least(uint32_t n) {
    uint32_t p = 1;
    while (p < n && p < (1u << 31))
        p <<= 1;
    return p;
}

int tsrv_table_init(floe_turn_server *srv) {
    uint32_t max = srv->cfg.max_allocations;
    uint32_t nb = pow2_at_least(max);
    srv->slot = calloc(max, sizeof *srv->slot);
    srv->bucket = malloc(sizeof *srv->bucket * nb);
    srv->ucount = calloc(max, sizeof *srv->ucount);
    srv->ubucket = malloc(sizeof *srv->ubucket * nb);
    if (!srv->slot || !srv->bucket || !srv->ucount || !srv->ubucket) return FLOE_ERR_NOMEM;
    for (uint32_t i = 0; i < nb; i++)
        srv->bucket[i] = srv->ubucket[i] = TSRV_NONE;
    srv->bucket_mask = nb - 1;
    srv->free_head = srv->ucount_free = TSRV_NONE;
    return FLOE_OK;
}

void tsrv_table_free(floe_turn_server *srv) {
    free(srv->slot);
    free(srv->bucket);
    free(srv->ucount);
    free(srv->ubucket);
}

static uint32_t tuple_bucket(const floe_turn_server *srv, const floe_turn_tuple *t) {
    uint8_t k[2 * 19 + 1 + 8];
    size_t n = 0;
    const floe_addr *a[2] = {&t->client, &t->server};
    for (int i = 0; i < 2; i++) {
        memcpy(k + n, a[i]->ip, 16);
        k[n + 16] = (uint8_t)(a[i]->port >> 8);
        k[n + 17] = (uint8_t)a[i]->port;
        k[n + 18] = a[i]->family;
        n += 19;
    }
    k[n++] = (uint8_t)t->transport;
    memcpy(k + n, &t->conn, 8);
    n += 8;
    return (uint32_t)tsrv_hash(srv, k, n) & srv->bucket_mask;
}

static bool tuple_equal(const floe_turn_tuple *a, const floe_turn_tuple *b) {
    return a->transport == b->transport && a->conn == b->conn &&
           floe_addr_equal(&a->client, &b->client) && floe_addr_equal(&a->server, &b->server);
}

tsrv_alloc *tsrv_find(floe_turn_server *srv, const floe_turn_tuple *t) {
    for (uint32_t i = srv->bucket[tuple_bucket(srv, t)]; i != TSRV_NONE; i = srv->slot[i].next)
        if (tuple_equal(&srv->slot[i].tuple, t)) return &srv->slot[i];
    return NULL;
}

/* ---- allocations per user --------------------------------------------------------- */

static uint32_t *ucount_link(floe_turn_server *srv, uint64_t h) {
    uint32_t *link = &srv->ubucket[h & srv->bucket_mask];
    while (*link != TSRV_NONE && srv->ucount[*link].hash != h)
        link = &srv->ucount[*link].next;
    return link;
}

uint32_t tsrv_user_count(const floe_turn_server *srv, uint64_t h) {
    for (uint32_t i = srv->ubucket[h & srv->bucket_mask]; i != TSRV_NONE; i = srv->ucount[i].next)
        if (srv->ucount[i].hash == h) return srv->ucount[i].n;
    return 0;
}

static void ucount_add(floe_turn_server *srv, uint64_t h) {
    uint32_t *link = ucount_link(srv, h);
    if (*link != TSRV_NONE) {
        srv->ucount[*link].n++;
        return;
    }
    /* One node per user with an allocation: never more nodes than slots. */
    uint32_t i = srv->ucount_free;
    if (i != TSRV_NONE)
        srv->ucount_free = srv->ucount[i].next;
    else
        i = srv->ucount_high++;
    srv->ucount[i] = (tsrv_ucount){.hash = h, .n = 1, .next = TSRV_NONE};
    *link = i;
    srv->n_users_active++;
}

static void ucount_del(floe_turn_server *srv, uint64_t h) {
    uint32_t *link = ucount_link(srv, h);
    if (*link == TSRV_NONE) return;
    uint32_t i = *link;
    if (--srv->ucount[i].n > 0) return;
    *link = srv->ucount[i].next;
    srv->ucount[i].next = srv->ucount_free;
    srv->ucount_free = i;
    srv->n_users_active--;
}

/* ---- slots ------------------------------------------------------------------------- */

tsrv_alloc *tsrv_insert(floe_turn_server *srv, const floe_turn_tuple *t, uint64_t user_hash) {
    uint32_t i = srv->free_head;
    if (i != TSRV_NONE)
        srv->free_head = srv->slot[i].next;
    else if (srv->high_water < srv->cfg.max_allocations)
        i = srv->high_water++;
    else
        return NULL;
    tsrv_alloc *a = &srv->slot[i];
    uint32_t gen = a->gen + 1;
    memset(a, 0, offsetof(tsrv_alloc, perm)); /* the entry arrays are guarded by counts */
    a->gen = gen;
    a->used = true;
    a->tuple = *t;
    a->user_hash = user_hash;
    uint32_t b = tuple_bucket(srv, t);
    a->next = srv->bucket[b];
    srv->bucket[b] = i;
    srv->n_alloc++;
    ucount_add(srv, user_hash);
    return a;
}

void tsrv_remove(floe_turn_server *srv, tsrv_alloc *a) {
    uint32_t i = (uint32_t)(a - srv->slot);
    for (uint32_t *link = &srv->bucket[tuple_bucket(srv, &a->tuple)]; *link != TSRV_NONE;
         link = &srv->slot[*link].next)
        if (*link == i) {
            *link = a->next;
            break;
        }
    if (a->tcp) tsrv_tcp_drop_alloc(srv, tsrv_handle(srv, a));
    for (int r = 0; r < 2; r++)
        if (a->relay[r].open && srv->cfg.relay_close)
            srv->cfg.relay_close(srv->cfg.ctx, a->relay[r].token);
    ucount_del(srv, a->user_hash);
    if (srv->cfg.release) srv->cfg.release(srv->cfg.ctx, a->user_hash);
    a->used = false;
    a->relay[0].open = a->relay[1].open = false;
    a->gen++;
    a->next = srv->free_head;
    srv->free_head = i;
    srv->n_alloc--;
}

uint64_t tsrv_handle(const floe_turn_server *srv, const tsrv_alloc *a) {
    return (uint64_t)a->gen << 32 | (uint32_t)(a - srv->slot);
}

tsrv_alloc *tsrv_by_handle(floe_turn_server *srv, uint64_t handle) {
    uint32_t i = (uint32_t)handle;
    if (i >= srv->high_water) return NULL;
    tsrv_alloc *a = &srv->slot[i];
    return a->used && a->gen == (uint32_t)(handle >> 32) ? a : NULL;
}
