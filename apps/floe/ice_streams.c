/* floe: the connections behind an ICE agent's stream bases (see ice_streams.h). */
#include "ice_streams.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"
#include "rt_conn.h"
#include "rt_sys.h"

typedef struct conn_slot {
    ice_streams *owner;
    unsigned base; /* the stream's id (the agent's base with cfg.agent) */
    bool used, dead;
    floe_ice_stream st;
    floe_rt_conn *c;
} conn_slot;

struct ice_streams {
    ice_streams_config cfg;
    conn_slot slots[FLOE_ICE_MAX_BASES];
    uint64_t dropped;
    unsigned opened;
    bool sending; /* inside ice_streams_send: the caller drains the agent itself */
};

int ice_streams_new(ice_streams **out, const ice_streams_config *cfg) {
    if (!out || !cfg || !cfg->loop || !cfg->after ||
        (!cfg->agent && (!cfg->describe || !cfg->feed || !cfg->lost)))
        return FLOE_ERR_INVAL;
    ice_streams *s = calloc(1, sizeof *s);
    if (!s) return FLOE_ERR_NOMEM;
    s->cfg = *cfg;
    *out = s;
    return FLOE_OK;
}

static void on_frame(void *arg, const uint8_t *p, size_t len) {
    conn_slot *k = arg;
    ice_streams *s = k->owner;
    if (s->cfg.agent) {
        floe_ice_recv_info info;
        floe_ice_agent_on_recv(s->cfg.agent, floe_rt_now(), k->base, &k->st.remote, p, len, &info);
        if (info.kind == FLOE_ICE_RECV_DATA && s->cfg.on_data) s->cfg.on_data(s->cfg.arg, &info);
    } else {
        s->cfg.feed(s->cfg.arg, k->base, &k->st.remote, p, len);
    }
    s->cfg.after(s->cfg.arg);
}

static void on_close(void *arg, int err, const char *why) {
    (void)err;
    conn_slot *k = arg;
    ice_streams *s = k->owner;
    k->dead = true;
    if (s->cfg.agent)
        floe_ice_agent_stream_closed(s->cfg.agent, floe_rt_now(), k->base);
    else
        s->cfg.lost(s->cfg.arg, k->base);
    if (s->cfg.on_closed) s->cfg.on_closed(s->cfg.arg, k->base, &k->st, why);
    if (!s->sending) s->cfg.after(s->cfg.arg);
}

/* Opens the base's connection (reported as closed when it cannot start). */
static void open_conn(ice_streams *s, conn_slot *k) {
    char host[256] = "";
    if (k->st.server_name) {
        size_t n = strlen(k->st.server_name);
        if (n >= sizeof host) n = sizeof host - 1;
        memcpy(host, k->st.server_name, n);
        host[n] = '\0';
    }
    bool tls = k->st.transport == FLOE_TRANSPORT_TLS;
    floe_rt_conn_config cc = {
        .loop = s->cfg.loop,
        .local = &k->st.local,
        .remote = k->st.remote,
        .tls = tls ? s->cfg.tls : NULL,
        .host = host[0] ? host : NULL,
        .frame_len = floe_turn_frame_len,
        .on_frame = on_frame,
        .on_close = on_close,
        .arg = k,
    };
    int rc = (tls && !s->cfg.tls) ? FLOE_ERR_TLS : floe_rt_conn_open(&k->c, &cc);
    if (rc == FLOE_OK) {
        s->opened++;
        return;
    }
    k->c = NULL;
    on_close(k, rc, tls && !s->cfg.tls ? "no TLS context" : floe_strerror(rc));
}

bool ice_streams_send(ice_streams *s, unsigned id, const uint8_t *p, size_t len) {
    if (!s || (s->cfg.agent && id >= FLOE_ICE_MAX_BASES)) return false;
    conn_slot *k = &s->slots[id % FLOE_ICE_MAX_BASES];
    if (k->used && k->base != id) { /* an older call's stream: its agent is gone */
        floe_rt_conn_free(k->c);
        memset(k, 0, sizeof *k);
    }
    if (!k->used) {
        floe_ice_stream st;
        int rc = s->cfg.agent ? floe_ice_agent_stream(s->cfg.agent, id, &st)
                              : s->cfg.describe(s->cfg.arg, id, &st);
        if (rc != FLOE_OK) return false;
        k->st = st;
        k->used = true;
        k->owner = s;
        k->base = id;
    }
    s->sending = true;
    if (!k->c && !k->dead) open_conn(s, k);
    if (k->dead || floe_rt_conn_send(k->c, p, len) != FLOE_OK) s->dropped++;
    s->sending = false;
    return true;
}

uint64_t ice_streams_dropped(const ice_streams *s) {
    return s ? s->dropped : 0;
}

unsigned ice_streams_opened(const ice_streams *s) {
    return s ? s->opened : 0;
}

void ice_streams_free(ice_streams *s) {
    if (!s) return;
    for (unsigned i = 0; i < FLOE_ICE_MAX_BASES; i++)
        floe_rt_conn_free(s->slots[i].c);
    free(s);
}
