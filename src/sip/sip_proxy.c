/* A small stateless SIP proxy with a registrar (see floe/sip_proxy.h). */
#include "floe/sip_proxy.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/hash.h"
#include "floe/sip.h"

typedef struct binding {
    bool used;
    char user[FLOE_SIP_PROXY_AOR_MAX];
    char contact[FLOE_SIP_PROXY_CONTACT_MAX];
    floe_addr src;
    floe_time_ns expires_at;
} binding;

struct floe_sip_proxy {
    floe_sip_proxy_config cfg;
    char domain[256];
    char self_host[FLOE_ADDR_STRLEN]; /* "ip:port" (IPv6 in brackets) */
    binding *b;
    floe_sip_proxy_stats st;
    floe_sip_msg in, out;
    floe_sip_arena ar;
    char arena_buf[2048];
};

void floe_sip_proxy_config_default(floe_sip_proxy_config *c) {
    memset(c, 0, sizeof *c);
    c->max_bindings = FLOE_SIP_PROXY_MAX_BINDINGS_DEFAULT;
    c->max_expires = FLOE_SIP_PROXY_EXPIRES_DEFAULT;
}

int floe_sip_proxy_new(floe_sip_proxy **out, const floe_sip_proxy_config *cfg) {
    if (!out || !cfg || !cfg->domain || !cfg->domain[0] ||
        strlen(cfg->domain) >= sizeof((floe_sip_proxy *)0)->domain ||
        (cfg->addr.family != FLOE_AF_INET4 && cfg->addr.family != FLOE_AF_INET6) ||
        cfg->addr.port == 0 || cfg->max_bindings > FLOE_SIP_PROXY_MAX_BINDINGS_LIMIT)
        return FLOE_ERR_INVAL;
    floe_sip_proxy *p = calloc(1, sizeof *p);
    if (!p) return FLOE_ERR_NOMEM;
    p->cfg = *cfg;
    if (!p->cfg.max_bindings) p->cfg.max_bindings = FLOE_SIP_PROXY_MAX_BINDINGS_DEFAULT;
    if (!p->cfg.max_expires) p->cfg.max_expires = FLOE_SIP_PROXY_EXPIRES_DEFAULT;
    strcpy(p->domain, cfg->domain);
    p->cfg.domain = p->domain;
    floe_addr_format(&cfg->addr, true, p->self_host, sizeof p->self_host);
    p->b = calloc(p->cfg.max_bindings, sizeof *p->b);
    if (!p->b) {
        free(p);
        return FLOE_ERR_NOMEM;
    }
    *out = p;
    return FLOE_OK;
}

void floe_sip_proxy_free(floe_sip_proxy *p) {
    if (!p) return;
    free(p->b);
    free(p);
}

const floe_sip_proxy_stats *floe_sip_proxy_stats_get(const floe_sip_proxy *p) {
    return &p->st;
}

/* ---- bindings -------------------------------------------------------------------------- */

static void expire(floe_sip_proxy *p, floe_time_ns now) {
    for (unsigned i = 0; i < p->cfg.max_bindings; i++)
        if (p->b[i].used && p->b[i].expires_at <= now) {
            p->b[i].used = false;
            p->st.bindings_expired++;
        }
}

static bool str_is(floe_sip_str s, const char *c) {
    return s.p && strlen(c) == s.len && memcmp(s.p, c, s.len) == 0;
}

static binding *find_user(floe_sip_proxy *p, floe_sip_str user) {
    for (unsigned i = 0; i < p->cfg.max_bindings; i++)
        if (p->b[i].used && str_is(user, p->b[i].user)) return &p->b[i];
    return NULL;
}

/* The binding whose Contact is uri (RFC 3261 §19.1.4 equality). */
static binding *find_contact(floe_sip_proxy *p, const floe_sip_uri *uri) {
    for (unsigned i = 0; i < p->cfg.max_bindings; i++) {
        floe_sip_uri c;
        if (p->b[i].used &&
            floe_sip_uri_parse(p->b[i].contact, strlen(p->b[i].contact), &c) == FLOE_OK &&
            floe_sip_uri_equal(&c, uri))
            return &p->b[i];
    }
    return NULL;
}

size_t floe_sip_proxy_bindings(floe_sip_proxy *p, floe_time_ns now) {
    expire(p, now);
    size_t n = 0;
    for (unsigned i = 0; i < p->cfg.max_bindings; i++)
        n += p->b[i].used;
    return n;
}

int floe_sip_proxy_lookup(floe_sip_proxy *p, floe_time_ns now, const char *user, floe_addr *out) {
    if (!p || !user || !out) return FLOE_ERR_INVAL;
    expire(p, now);
    binding *b = find_user(p, floe_sip_str_c(user));
    if (!b) return FLOE_ERR_NOT_FOUND;
    *out = b->src;
    return FLOE_OK;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* True when host:port (port 0 = the default) names the proxy. */
static bool is_self(const floe_sip_proxy *p, const floe_addr *ip, uint16_t port) {
    if (!ip || !floe_addr_ip_equal(ip, &p->cfg.addr)) return false;
    return (port ? port : FLOE_SIP_PORT) == p->cfg.addr.port;
}

/* True when the URI's host is the domain or the proxy's own address. */
static bool uri_is_ours(const floe_sip_proxy *p, const floe_sip_uri *u) {
    if (u->scheme != FLOE_SIP_SCHEME_SIP) return false;
    if (floe_sip_str_ieq(u->host, p->domain)) return true;
    return u->addr.family != FLOE_AF_NONE && is_self(p, &u->addr, u->has_port ? u->port : 0);
}

/* An IP literal URI as a destination. */
static bool uri_dest(const floe_sip_uri *u, floe_addr *to) {
    if (u->scheme != FLOE_SIP_SCHEME_SIP || u->addr.family == FLOE_AF_NONE) return false;
    *to = u->addr;
    to->port = u->has_port ? u->port : FLOE_SIP_PORT;
    return true;
}

static int print(floe_sip_proxy *p, const floe_sip_msg *m, uint8_t *out, size_t cap,
                 size_t *out_len) {
    size_t n;
    if (floe_sip_msg_print(m, (char *)out, cap, &n) != FLOE_OK) {
        p->st.drop_too_big++;
        *out_len = 0;
        return FLOE_OK;
    }
    *out_len = n;
    return FLOE_OK;
}

/* The index of the first header field with this id, or n_hdr. */
static size_t first_field(const floe_sip_msg *m, floe_sip_hdr_id id) {
    size_t i = 0;
    while (i < m->n_hdr && m->hdr[i].id != id)
        i++;
    return i;
}

static int insert_field(floe_sip_msg *m, size_t at, floe_sip_hdr_id id, floe_sip_str value) {
    if (m->n_hdr == FLOE_SIP_MAX_HEADERS) return FLOE_ERR_LIMIT;
    memmove(&m->hdr[at + 1], &m->hdr[at], (m->n_hdr - at) * sizeof m->hdr[0]);
    m->n_hdr++;
    const char *name = floe_sip_hdr_name(id);
    m->hdr[at] = (floe_sip_hdr){id, {name, strlen(name)}, value, 0};
    return FLOE_OK;
}

static void remove_field(floe_sip_msg *m, size_t at) {
    memmove(&m->hdr[at], &m->hdr[at + 1], (m->n_hdr - at - 1) * sizeof m->hdr[0]);
    m->n_hdr--;
}

/* Removes the first value of the first field with this id (a list field may hold more
 * than one: the rest stays). */
static void pop_first_value(floe_sip_msg *m, floe_sip_hdr_id id) {
    size_t at = first_field(m, id);
    if (at == m->n_hdr) return;
    floe_sip_iter it = {0};
    floe_sip_str v;
    if (floe_sip_msg_next_value(m, id, &it, &v) != FLOE_OK) return;
    floe_sip_str whole = m->hdr[at].value;
    size_t pos = (size_t)(v.p + v.len - whole.p);
    while (pos < whole.len && whole.p[pos] != ',')
        pos++;
    if (pos >= whole.len) {
        remove_field(m, at);
        return;
    }
    pos++; /* the comma */
    while (pos < whole.len && (whole.p[pos] == ' ' || whole.p[pos] == '\t' ||
                               whole.p[pos] == '\r' || whole.p[pos] == '\n'))
        pos++;
    if (pos >= whole.len) {
        remove_field(m, at);
        return;
    }
    m->hdr[at].value = (floe_sip_str){whole.p + pos, whole.len - pos};
}

/* A response made by the proxy to the request it is handling, sent back to `from`. */
static int answer(floe_sip_proxy *p, unsigned status, const floe_addr *from, const char *contact,
                  uint32_t expires, uint8_t *out, size_t cap, size_t *out_len, floe_addr *to) {
    floe_sip_arena_init(&p->ar, p->arena_buf, sizeof p->arena_buf);
    /* A stateless element's To tag must be the same for a retransmission: a hash. */
    floe_sip_via v;
    char tag[17] = "0";
    if (floe_sip_msg_top_via(&p->in, &v) == FLOE_OK && v.branch.p) {
        uint64_t h = floe_siphash(p->cfg.key, v.branch.p, v.branch.len);
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < 16; i++)
            tag[i] = hex[(h >> (60 - 4 * i)) & 15];
        tag[16] = '\0';
    }
    if (floe_sip_msg_response_to(&p->out, &p->in, status, NULL, tag, &p->ar) != FLOE_OK) {
        p->st.drop_too_big++;
        return FLOE_OK;
    }
    if (contact) {
        floe_sip_str c, e;
        if (floe_sip_arena_u64(&p->ar, expires, &e) != FLOE_OK) return FLOE_OK;
        char num[16];
        memcpy(num, e.p, e.len);
        num[e.len] = '\0';
        if (floe_sip_arena_cat(&p->ar, &c, "<", contact, ">;expires=", num, NULL) != FLOE_OK ||
            floe_sip_msg_add_str(&p->out, floe_sip_str_c("Contact"), c) != FLOE_OK)
            return FLOE_OK;
    }
    if (status >= 300) {
        p->st.answered++;
        if (status == 404) p->st.not_found++;
        if (status == 483) p->st.too_many_hops++;
    }
    *to = *from;
    return print(p, &p->out, out, cap, out_len);
}

/* ---- the registrar ------------------------------------------------------------------------ */

static int do_register(floe_sip_proxy *p, floe_time_ns now, const floe_addr *from, uint8_t *out,
                       size_t cap, size_t *out_len, floe_addr *to) {
    floe_sip_addr t, c;
    floe_sip_uri tu;
    floe_sip_iter it = {0};
    if (floe_sip_msg_to(&p->in, &t) != FLOE_OK ||
        floe_sip_uri_parse(t.uri.p, t.uri.len, &tu) != FLOE_OK || !tu.user.p || tu.user.len == 0 ||
        tu.user.len >= FLOE_SIP_PROXY_AOR_MAX ||
        floe_sip_msg_next_addr(&p->in, FLOE_SIP_H_CONTACT, &it, &c) != FLOE_OK || c.star ||
        c.uri.len >= FLOE_SIP_PROXY_CONTACT_MAX)
        return answer(p, 400, from, NULL, 0, out, cap, out_len, to);
    uint32_t exp = FLOE_SIP_PROXY_EXPIRES_DEFAULT;
    if (c.expires >= 0)
        exp = (uint32_t)c.expires;
    else
        (void)floe_sip_msg_expires(&p->in, FLOE_SIP_H_EXPIRES, &exp); /* absent: the default */
    if (exp > p->cfg.max_expires) exp = p->cfg.max_expires;
    expire(p, now);
    binding *b = find_user(p, tu.user);
    if (exp == 0) {
        if (b) b->used = false;
        p->st.unregistered++;
        return answer(p, 200, from, NULL, 0, out, cap, out_len, to);
    }
    for (unsigned i = 0; !b && i < p->cfg.max_bindings; i++)
        if (!p->b[i].used) b = &p->b[i];
    if (!b) {
        p->st.bindings_full++;
        return answer(p, 503, from, NULL, 0, out, cap, out_len, to);
    }
    memset(b, 0, sizeof *b);
    b->used = true;
    memcpy(b->user, tu.user.p, tu.user.len);
    memcpy(b->contact, c.uri.p, c.uri.len);
    b->src = *from;
    b->expires_at = now + (floe_time_ns)exp * FLOE_S(1);
    p->st.registered++;
    return answer(p, 200, from, b->contact, exp, out, cap, out_len, to);
}

/* ---- forwarding --------------------------------------------------------------------------- */

/* RFC 3261 §18.2.1 and RFC 3581 §4: the request's top Via (the sender's) gets received=
 * when its sent-by is not where the request came from, and rport= when it asked, so that
 * responses find their way back through the sender's NAT. */
static int mark_top_via(floe_sip_proxy *p, const floe_addr *from) {
    floe_sip_via v;
    if (floe_sip_msg_top_via(&p->out, &v) != FLOE_OK) return FLOE_ERR_MALFORMED;
    bool same_ip = v.addr.family != FLOE_AF_NONE && floe_addr_ip_equal(&v.addr, from);
    if (same_ip && !v.rport) return FLOE_OK;
    char ip[FLOE_ADDR_STRLEN], port[8], host[FLOE_ADDR_STRLEN + 2];
    floe_addr_format(from, false, ip, sizeof ip);
    floe_sip_str text;
    if (floe_sip_arena_u64(&p->ar, from->port, &text) != FLOE_OK) return FLOE_ERR_NOSPACE;
    memcpy(port, text.p, text.len);
    port[text.len] = '\0';
    /* sent-by again as written: host (IPv6 in brackets) and port */
    bool v6 = memchr(v.host.p, ':', v.host.len) != NULL;
    if (v.host.len + 3 > sizeof host) return FLOE_ERR_NOSPACE;
    size_t n = 0;
    if (v6) host[n++] = '[';
    memcpy(host + n, v.host.p, v.host.len);
    n += v.host.len;
    if (v6) host[n++] = ']';
    host[n] = '\0';
    floe_sip_str out;
    char sent_port[8] = "";
    if (v.has_port) {
        if (floe_sip_arena_u64(&p->ar, v.port, &text) != FLOE_OK) return FLOE_ERR_NOSPACE;
        sent_port[0] = ':';
        memcpy(sent_port + 1, text.p, text.len);
        sent_port[1 + text.len] = '\0';
    }
    int rc = floe_sip_arena_cat(&p->ar, &out, "SIP/2.0/UDP ", host, sent_port, NULL);
    /* every parameter but received and rport, as written */
    size_t pos = 0;
    floe_sip_param prm;
    while (rc == FLOE_OK && floe_sip_params_next(v.params, &pos, &prm)) {
        if (floe_sip_str_ieq(prm.name, "received") || floe_sip_str_ieq(prm.name, "rport")) continue;
        floe_sip_str piece;
        size_t plen =
            (size_t)((prm.value.p ? prm.value.p + prm.value.len : prm.name.p + prm.name.len) -
                     prm.name.p);
        if (prm.quoted) plen++; /* the closing quote */
        rc = floe_sip_arena_put(&p->ar, ";", 1, &piece);
        if (rc == FLOE_OK) rc = floe_sip_arena_put(&p->ar, prm.name.p, plen, &piece);
        if (rc == FLOE_OK) out.len += 1 + plen;
    }
    if (rc == FLOE_OK && !same_ip) {
        floe_sip_str piece;
        rc = floe_sip_arena_cat(&p->ar, &piece, ";received=", ip, NULL);
        if (rc == FLOE_OK) out.len += piece.len;
    }
    if (rc == FLOE_OK && v.rport) {
        floe_sip_str piece;
        rc = floe_sip_arena_cat(&p->ar, &piece, ";rport=", port, NULL);
        if (rc == FLOE_OK) out.len += piece.len;
    }
    if (rc != FLOE_OK) return rc;
    /* The rewritten value replaces the first one; the rest of that field stays after it. */
    size_t at = first_field(&p->out, FLOE_SIP_H_VIA);
    pop_first_value(&p->out, FLOE_SIP_H_VIA);
    return insert_field(&p->out, at, FLOE_SIP_H_VIA, out);
}

static int forward_request(floe_sip_proxy *p, floe_time_ns now, const floe_addr *from, uint8_t *out,
                           size_t cap, size_t *out_len, floe_addr *to) {
    bool ack = p->in.method_id == FLOE_SIP_ACK;
    int mf = floe_sip_msg_max_forwards(&p->in);
    if (mf == 0) {
        if (ack) {
            p->st.drop_unroutable++;
            return FLOE_OK;
        }
        return answer(p, 483, from, NULL, 0, out, cap, out_len, to);
    }
    floe_sip_uri ruri;
    if (floe_sip_uri_parse(p->in.uri.p, p->in.uri.len, &ruri) != FLOE_OK) {
        p->st.drop_malformed++;
        return FLOE_OK;
    }
    if (p->in.method_id == FLOE_SIP_REGISTER && uri_is_ours(p, &ruri))
        return do_register(p, now, from, out, cap, out_len, to);

    p->out = p->in;
    floe_sip_arena_init(&p->ar, p->arena_buf, sizeof p->arena_buf);
    /* A Route naming us is ours to remove (loose routing, RFC 3261 §16.4). */
    floe_sip_iter it = {0};
    floe_sip_addr route;
    floe_sip_uri ru;
    if (floe_sip_msg_next_addr(&p->out, FLOE_SIP_H_ROUTE, &it, &route) == FLOE_OK &&
        floe_sip_uri_parse(route.uri.p, route.uri.len, &ru) == FLOE_OK && ru.addr.family &&
        is_self(p, &ru.addr, ru.has_port ? ru.port : 0))
        pop_first_value(&p->out, FLOE_SIP_H_ROUTE);

    /* Where it goes. */
    bool found = false;
    it = (floe_sip_iter){0};
    expire(p, now);
    if (floe_sip_msg_next_addr(&p->out, FLOE_SIP_H_ROUTE, &it, &route) == FLOE_OK) {
        found = floe_sip_uri_parse(route.uri.p, route.uri.len, &ru) == FLOE_OK && uri_dest(&ru, to);
    } else if (uri_is_ours(p, &ruri)) {
        binding *b = ruri.user.p ? find_user(p, ruri.user) : NULL;
        if (b) {
            p->out.uri = floe_sip_str_c(b->contact); /* retargeted (RFC 3261 §16.5) */
            *to = b->src;
            found = true;
        }
    } else {
        binding *b = find_contact(p, &ruri);
        if (b) *to = b->src; /* a user agent behind a NAT: where its REGISTER came from */
        found = b || uri_dest(&ruri, to);
    }
    if (!found) {
        if (ack) {
            p->st.drop_unroutable++;
            return FLOE_OK;
        }
        return answer(p, 404, from, NULL, 0, out, cap, out_len, to);
    }

    /* Max-Forwards one less, or the default less one when absent. */
    floe_sip_str mfs;
    if (floe_sip_arena_u64(&p->ar, (uint64_t)(mf < 0 ? FLOE_SIP_MAX_FORWARDS_DEFAULT : mf) - 1,
                           &mfs) != FLOE_OK)
        return FLOE_OK;
    size_t at = first_field(&p->out, FLOE_SIP_H_MAX_FORWARDS);
    if (at < p->out.n_hdr)
        p->out.hdr[at].value = mfs;
    else if (floe_sip_msg_add_str(&p->out, floe_sip_str_c("Max-Forwards"), mfs) != FLOE_OK) {
        p->st.drop_too_big++;
        return FLOE_OK;
    }

    if (mark_top_via(p, from) != FLOE_OK) {
        p->st.drop_too_big++;
        return FLOE_OK;
    }
    /* Our Via on top, its branch a hash of the request's own (RFC 3261 §16.11). */
    floe_sip_via top;
    uint64_t h = 0;
    if (floe_sip_msg_top_via(&p->in, &top) == FLOE_OK && top.branch.p)
        h = floe_siphash(p->cfg.key, top.branch.p, top.branch.len);
    char branch[24];
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        branch[i] = hex[(h >> (60 - 4 * i)) & 15];
    branch[16] = '\0';
    floe_sip_str via, rr;
    if (floe_sip_arena_cat(&p->ar, &via, "SIP/2.0/UDP ", p->self_host,
                           ";branch=" FLOE_SIP_BRANCH_COOKIE, branch, NULL) != FLOE_OK ||
        insert_field(&p->out, 0, FLOE_SIP_H_VIA, via) != FLOE_OK) {
        p->st.drop_too_big++;
        return FLOE_OK;
    }
    /* A dialog-creating INVITE records the route through us. */
    floe_sip_addr toh;
    if (p->in.method_id == FLOE_SIP_INVITE && floe_sip_msg_to(&p->in, &toh) == FLOE_OK &&
        !toh.tag.p) {
        if (floe_sip_arena_cat(&p->ar, &rr, "<sip:", p->self_host, ";lr>", NULL) != FLOE_OK ||
            insert_field(&p->out, first_field(&p->out, FLOE_SIP_H_RECORD_ROUTE),
                         FLOE_SIP_H_RECORD_ROUTE, rr) != FLOE_OK) {
            p->st.drop_too_big++;
            return FLOE_OK;
        }
    }
    p->st.requests_forwarded++;
    return print(p, &p->out, out, cap, out_len);
}

static int forward_response(floe_sip_proxy *p, uint8_t *out, size_t cap, size_t *out_len,
                            floe_addr *to) {
    floe_sip_via top, next;
    if (floe_sip_msg_top_via(&p->in, &top) != FLOE_OK || top.addr.family == FLOE_AF_NONE ||
        !is_self(p, &top.addr, top.has_port ? top.port : 0)) {
        p->st.drop_not_ours++;
        return FLOE_OK;
    }
    floe_sip_iter it = {0};
    if (floe_sip_msg_next_via(&p->in, &it, &next) != FLOE_OK ||
        floe_sip_msg_next_via(&p->in, &it, &next) != FLOE_OK) {
        p->st.drop_unroutable++; /* nobody below us */
        return FLOE_OK;
    }
    /* RFC 3261 §18.2.2 with RFC 3581: received and rport first, else sent-by. */
    floe_addr dst;
    bool ok = false;
    if (next.received.p) {
        char ip[FLOE_ADDR_STRLEN];
        if (next.received.len < sizeof ip) {
            memcpy(ip, next.received.p, next.received.len);
            ip[next.received.len] = '\0';
            ok = floe_addr_parse(ip, &dst) == FLOE_OK;
        }
    } else if (next.addr.family != FLOE_AF_NONE) {
        dst = next.addr;
        ok = true;
    }
    if (!ok) {
        p->st.drop_unroutable++;
        return FLOE_OK;
    }
    dst.port = next.rport && next.rport_port > 0 ? (uint16_t)next.rport_port
               : next.has_port                   ? next.port
                                                 : FLOE_SIP_PORT;
    p->out = p->in;
    pop_first_value(&p->out, FLOE_SIP_H_VIA);
    *to = dst;
    p->st.responses_forwarded++;
    return print(p, &p->out, out, cap, out_len);
}

int floe_sip_proxy_on_recv(floe_sip_proxy *p, floe_time_ns now, const floe_addr *from,
                           const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len, floe_addr *to) {
    if (!p || !from || (!msg && len) || !out || !out_len || !to) return FLOE_ERR_INVAL;
    *out_len = 0;
    if (floe_sip_parse((const char *)msg, len, 0, &p->in, NULL, NULL) != FLOE_OK) {
        p->st.drop_malformed++;
        return FLOE_OK;
    }
    if (!p->in.request) return forward_response(p, out, cap, out_len, to);
    return forward_request(p, now, from, out, cap, out_len, to);
}
