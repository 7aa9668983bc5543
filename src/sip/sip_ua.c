/* The SIP user agent (floe/sip_ua.h): lifetime, the loop, events and the helpers its
 * caller and callee halves share. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sip_ua_priv.h"

static void copy_name(char *dst, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (n >= FLOE_SIP_UA_NAME_MAX) n = FLOE_SIP_UA_NAME_MAX - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

static void copy_tok(char *dst, size_t cap, floe_sip_str s) {
    size_t n = s.p ? s.len : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
}

void floe_sip_ua_config_default(floe_sip_ua_config *c) {
    memset(c, 0, sizeof *c);
    c->ice = true;
    c->answer_after = FLOE_TIME_NEVER;
    c->payload_type = -1;
}

int floe_sip_ua_new(floe_sip_ua **out, const floe_sip_ua_config *cfg) {
    if (!out || !cfg) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!cfg->user || !*cfg->user || !cfg->domain || !*cfg->domain || !cfg->rnd)
        return FLOE_ERR_INVAL;
    if (strlen(cfg->user) >= FLOE_SIP_UA_NAME_MAX || strlen(cfg->domain) >= FLOE_SIP_UA_NAME_MAX ||
        (cfg->display && strlen(cfg->display) >= FLOE_SIP_UA_NAME_MAX))
        return FLOE_ERR_INVAL;
    if (cfg->local[FLOE_TRANSPORT_UDP].family == FLOE_AF_NONE) return FLOE_ERR_INVAL;
    if (cfg->transport == FLOE_TRANSPORT_TLS) return FLOE_ERR_UNSUPPORTED;
    if ((cfg->transport != FLOE_TRANSPORT_UDP && cfg->transport != FLOE_TRANSPORT_TCP) ||
        cfg->local[cfg->transport].family == FLOE_AF_NONE)
        return FLOE_ERR_INVAL;
    { /* user@domain must make a SIP URI (an IPv6 domain in brackets, no port) */
        char aor[2 * FLOE_SIP_UA_NAME_MAX + 8];
        size_t nu = strlen(cfg->user), nd = strlen(cfg->domain);
        memcpy(aor, "sip:", 4);
        memcpy(aor + 4, cfg->user, nu);
        aor[4 + nu] = '@';
        memcpy(aor + 5 + nu, cfg->domain, nd);
        floe_sip_uri u;
        if (floe_sip_uri_parse(aor, 5 + nu + nd, &u) != FLOE_OK || u.has_port)
            return FLOE_ERR_INVAL;
    }
    if (cfg->payload_type != -1 && cfg->payload_type != 0 && cfg->payload_type != 8)
        return FLOE_ERR_INVAL;
    if (cfg->n_stun_servers > FLOE_ICE_MAX_STUN_SERVERS ||
        cfg->n_turn_servers > FLOE_ICE_MAX_TURN_SERVERS)
        return FLOE_ERR_INVAL;
    floe_sip_ua *ua = calloc(1, sizeof *ua);
    if (!ua) return FLOE_ERR_NOMEM;
    ua->work = malloc(sizeof *ua->work);
    if (!ua->work) {
        free(ua);
        return FLOE_ERR_NOMEM;
    }
    ua->cfg = *cfg;
    copy_name(ua->user, cfg->user);
    copy_name(ua->domain, cfg->domain);
    copy_name(ua->display, cfg->display);
    ua->cfg.user = ua->user;
    ua->cfg.domain = ua->domain;
    ua->cfg.display = cfg->display ? ua->display : NULL;
    floe_sip_txl_config tc;
    floe_sip_txl_config_default(&tc);
    memcpy(tc.local, cfg->local, sizeof tc.local);
    tc.rand = cfg->rnd;
    tc.rand_ctx = cfg->rnd_ctx;
    int rc = floe_sip_txl_new(&ua->txl, &tc);
    if (rc != FLOE_OK) {
        free(ua->work);
        free(ua);
        return rc;
    }
    ua->state = FLOE_SIP_CALL_IDLE;
    ua->reg_refresh_at = ua->reg_expires_at = FLOE_TIME_NEVER;
    if (cfg->auth_password) {
        rc = floe_sip_auth_client_init(&ua->auth, cfg->auth_user ? cfg->auth_user : cfg->user,
                                       cfg->auth_password, cfg->rnd, cfg->rnd_ctx);
        if (rc != FLOE_OK) {
            floe_sip_txl_free(ua->txl);
            free(ua->work);
            free(ua);
            return rc;
        }
        ua->auth_on = true;
    }
    ua->cfg.auth_user = NULL; /* not kept: the auth client has copies */
    ua->cfg.auth_password = NULL;
    *out = ua;
    return FLOE_OK;
}

void floe_sip_ua_free(floe_sip_ua *ua) {
    if (!ua) return;
    ua_agent_free(ua);
    floe_sip_txl_free(ua->txl);
    free(ua->work);
    free(ua);
}

int floe_sip_ua_add_media_host(floe_sip_ua *ua, const floe_addr *addr, const char *ifname,
                               unsigned *sock) {
    if (!ua || !addr || addr->family == FLOE_AF_NONE) return FLOE_ERR_INVAL;
    if (ua->active && !floe_sip_call_over(ua->state)) return FLOE_ERR_STATE;
    if (ua->n_hosts >= FLOE_SIP_UA_MAX_MEDIA_HOSTS) return FLOE_ERR_LIMIT;
    ua->hosts[ua->n_hosts] = *addr;
    size_t n = ifname ? strlen(ifname) : 0;
    if (n >= FLOE_ICE_IFNAME_MAX) n = FLOE_ICE_IFNAME_MAX - 1;
    if (n) memcpy(ua->ifnames[ua->n_hosts], ifname, n);
    ua->ifnames[ua->n_hosts][n] = '\0';
    if (sock) *sock = ua->n_hosts;
    ua->n_hosts++;
    return FLOE_OK;
}

/* ---- events ------------------------------------------------------------------------------ */

void ua_event(floe_sip_ua *ua, const floe_sip_ua_event *ev) {
    if (ua->ev_len == FLOE_SIP_UA_EVENTS) {
        ua->ev_dropped++;
        return;
    }
    ua->ev[(ua->ev_head + ua->ev_len) % FLOE_SIP_UA_EVENTS] = *ev;
    ua->ev_len++;
}

void ua_event_simple(floe_sip_ua *ua, floe_time_ns now, floe_sip_ua_event_type t, const char *why) {
    floe_sip_ua_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.at = now;
    if (why) copy_tok(ev.reason, sizeof ev.reason, floe_sip_str_c(why));
    ua_event(ua, &ev);
}

bool floe_sip_ua_next_event(floe_sip_ua *ua, floe_sip_ua_event *ev) {
    if (!ua || !ev || ua->ev_len == 0) return false;
    *ev = ua->ev[ua->ev_head];
    ua->ev_head = (ua->ev_head + 1) % FLOE_SIP_UA_EVENTS;
    ua->ev_len--;
    return true;
}

uint64_t floe_sip_ua_events_dropped(const floe_sip_ua *ua) {
    return ua ? ua->ev_dropped : 0;
}

const char *floe_sip_ua_event_name(floe_sip_ua_event_type t) {
    static const char *const names[] = {
        "none",           "sip-sent",       "sip-received",  "call-state", "ice-gathered",
        "ice-checking",   "ice-selected",   "ice-completed", "ice-failed", "consent-lost",
        "media-sent",     "media-received", "call-ended",    "registered", "register-failed",
        "ice-path-found", "ice-restart"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* A SIP message for the ladder. */
static void log_sip(floe_sip_ua *ua, floe_time_ns now, bool sent, const floe_sip_msg *m,
                    const floe_addr *peer) {
    floe_sip_ua_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = sent ? FLOE_SIP_UA_EV_SIP_SENT : FLOE_SIP_UA_EV_SIP_RECEIVED;
    ev.at = now;
    ev.sip.request = m->request;
    ev.sip.status = m->status;
    floe_sip_cseq cs;
    if (floe_sip_msg_cseq(m, &cs) == FLOE_OK) {
        ev.sip.cseq = cs.seq;
        copy_tok(ev.sip.method, sizeof ev.sip.method, cs.method);
    }
    uint32_t rseq;
    ev.sip.reliable = !m->request && floe_sip_msg_rseq(m, &rseq) == FLOE_OK;
    ev.sip.has_sdp = m->body.len > 0 && floe_sip_msg_is_sdp(m);
    if (peer) ev.sip.peer = *peer;
    ua_event(ua, &ev);
}

/* ---- the call's state ------------------------------------------------------------------- */

void ua_end(floe_sip_ua *ua, floe_time_ns now, unsigned status, const char *reason) {
    if (ua->end_reason[0]) return; /* the first reason stands */
    ua->end_status = status;
    copy_tok(ua->end_reason, sizeof ua->end_reason, floe_sip_str_c(reason));
    (void)now;
}

void ua_step(floe_sip_ua *ua, floe_time_ns now, floe_sip_call_event e) {
    floe_sip_call_state old = ua->state;
    ua->state = floe_sip_call_step(ua->role, old, e);
    if (ua->state == old) return;
    floe_sip_ua_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = FLOE_SIP_UA_EV_CALL_STATE;
    ev.at = now;
    ev.state.from = old;
    ev.state.to = ua->state;
    copy_tok(ev.reason, sizeof ev.reason, floe_sip_str_c(floe_sip_call_event_name(e)));
    ua_event(ua, &ev);
    if (floe_sip_call_over(ua->state)) {
        if (!ua->end_reason[0]) ua_end(ua, now, 0, floe_sip_call_event_name(e));
        ua_media_stop(ua, ua->state == FLOE_SIP_CALL_ENDED);
        ua->answer_at = FLOE_TIME_NEVER;
        floe_sip_ua_event end;
        memset(&end, 0, sizeof end);
        end.type = FLOE_SIP_UA_EV_CALL_ENDED;
        end.at = now;
        end.status = ua->end_status;
        memcpy(end.reason, ua->end_reason, sizeof end.reason);
        ua_event(ua, &end);
    }
}

/* ---- addressing and building ------------------------------------------------------------- */

int ua_uri_addr(floe_sip_str uri, floe_addr *out) {
    floe_sip_uri u;
    if (floe_sip_uri_parse(uri.p, uri.len, &u) != FLOE_OK) return FLOE_ERR_INVAL;
    if (u.addr.family == FLOE_AF_NONE) return FLOE_ERR_INVAL; /* no DNS in the core */
    *out = u.addr;
    out->port = u.port ? u.port : 5060;
    return FLOE_OK;
}

/* Contact, Allow, Supported and the body: what every request and answer of ours with a
 * session description carries. */
void ua_add_common(floe_sip_ua *ua, floe_sip_msg *m, bool with_sdp) {
    floe_sip_msg_add(m, FLOE_SIP_H_CONTACT, ua->contact);
    floe_sip_msg_add(m, FLOE_SIP_H_ALLOW, "INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, OPTIONS");
    if (with_sdp) {
        floe_sip_msg_add(m, FLOE_SIP_H_CONTENT_TYPE, "application/sdp");
        floe_sip_msg_set_body(m, ua->sdp, ua->sdp_len);
    }
}

int ua_request(floe_sip_ua *ua, floe_time_ns now, floe_transport tp, floe_sip_msg *m,
               const floe_addr *to, uint32_t *id) {
    return floe_sip_txl_request(ua->txl, now, m, tp, to, id);
}

int ua_in_dialog(floe_sip_ua *ua, floe_time_ns now, const char *method, bool with_sdp, uint32_t *id,
                 uint32_t *cseq) {
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    int rc = floe_sip_dialog_request(&ua->dlg, method, &ua->msg2, &ua->ar);
    if (rc != FLOE_OK) return rc;
    if (cseq) *cseq = ua->dlg.local_cseq;
    if (with_sdp || strcmp(method, "INVITE") == 0) ua_add_common(ua, &ua->msg2, with_sdp);
    floe_addr to;
    rc = ua_uri_addr(floe_sip_dialog_next_hop(&ua->dlg), &to);
    if (rc != FLOE_OK) return rc;
    return ua_request(ua, now, ua->tp, &ua->msg2, &to, id);
}

/* Clears everything about the previous call (the fields between `active` and `work`). */
void ua_reset_call(floe_sip_ua *ua, floe_sip_call_role role) {
    ua_agent_free(ua);
    size_t from = offsetof(floe_sip_ua, active), to = offsetof(floe_sip_ua, work);
    memset((char *)ua + from, 0, to - from);
    ua->active = true;
    ua->role = role;
    ua->tp = ua->cfg.transport;
    ua->state = FLOE_SIP_CALL_IDLE;
    ua->pt = -1;
    ua->answer_at = ua->preview_at = ua->reinvite_retry_at = FLOE_TIME_NEVER;
    ua->t_invite = ua->t_183 = ua->t_ice = ua->t_180 = ua->t_200 = FLOE_TIME_NEVER;
    ua->session_version = 1;
    uint64_t sid = 0;
    ua->cfg.rnd(ua->cfg.rnd_ctx, &sid, sizeof sid);
    ua->session_id = (sid >> 2) | 1; /* 62 bits, never 0 */
}

/* Contact: our address on transport tp ("<sip:user@ip:port;transport=tcp>" for TCP). */
int ua_contact_init(floe_sip_ua *ua, floe_transport tp) {
    char hp[64];
    floe_addr_format(&ua->cfg.local[tp], true, hp, sizeof hp);
    const char *param = tp == FLOE_TRANSPORT_TCP ? ";transport=tcp" : "";
    size_t u = strlen(ua->user), h = strlen(hp), pl = strlen(param);
    if (u + h + pl + 8 >= sizeof ua->contact) return FLOE_ERR_NOSPACE;
    char *c = ua->contact;
    memcpy(c, "<sip:", 5);
    memcpy(c + 5, ua->user, u);
    c[5 + u] = '@';
    memcpy(c + 6 + u, hp, h);
    memcpy(c + 6 + u + h, param, pl);
    c[6 + u + h + pl] = '>';
    c[7 + u + h + pl] = '\0';
    return FLOE_OK;
}

void ua_send_bye(floe_sip_ua *ua, floe_time_ns now) {
    ua_media_stop(ua, true);
    if (!ua->have_dialog || ua_in_dialog(ua, now, "BYE", false, &ua->bye_id, NULL) != FLOE_OK)
        ua_step(ua, now, FLOE_SIP_CALL_EV_CLOSED);
}

/* ---- calls ------------------------------------------------------------------------------ */

int floe_sip_ua_answer(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua || !ua->active || ua->role != FLOE_SIP_CALL_UAS || ua->state != FLOE_SIP_CALL_RINGING)
        return FLOE_ERR_STATE;
    return ua_uas_answer(ua, now);
}

int floe_sip_ua_hangup(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua || !ua->active || floe_sip_call_over(ua->state)) return FLOE_ERR_STATE;
    switch (ua->state) {
    case FLOE_SIP_CALL_GATHERING:
        ua_end(ua, now, 0, "hangup");
        ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
        return FLOE_OK;
    case FLOE_SIP_CALL_INVITING:
    case FLOE_SIP_CALL_EARLY:
    case FLOE_SIP_CALL_READY:
    case FLOE_SIP_CALL_RINGING:
        if (ua->role == FLOE_SIP_CALL_UAC) {
            ua_end(ua, now, 0, "cancelled");
            ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
            ua_uac_cancel(ua, now);
            return FLOE_OK;
        }
        ua_uas_reject(ua, now, 603);
        return FLOE_OK;
    case FLOE_SIP_CALL_OFFERED:
    case FLOE_SIP_CALL_OFFERED_PLAIN:
    case FLOE_SIP_CALL_OFFERED_LATE:
    case FLOE_SIP_CALL_PROBING:
    case FLOE_SIP_CALL_CHECKING:
    case FLOE_SIP_CALL_NOMINATED: ua_uas_reject(ua, now, 603); return FLOE_OK;
    case FLOE_SIP_CALL_CANCELLING:
    case FLOE_SIP_CALL_HANGING_UP: return FLOE_OK; /* already on its way */
    default: break;
    }
    /* answered: BYE */
    ua_end(ua, now, 0, "hangup");
    ua_step(ua, now, FLOE_SIP_CALL_EV_HANGUP);
    ua_send_bye(ua, now);
    return FLOE_OK;
}

/* ---- the loop --------------------------------------------------------------------------- */

static void on_timeout(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    if (ua_reg_timeout(ua, now, ev)) return;
    if (!ua->active || floe_sip_call_over(ua->state)) return;
    bool ours = ev->kind == FLOE_SIP_TXN_ICT || ev->kind == FLOE_SIP_TXN_NICT;
    if (ours && (ev->id == ua->invite_id || ev->id == ua->bye_id || ev->id == ua->cancel_id ||
                 ev->id == ua->reinvite_id)) {
        ua_end(ua, now, 408, "timeout");
        ua_step(ua, now, FLOE_SIP_CALL_EV_TIMEOUT);
        if (ua->state == FLOE_SIP_CALL_HANGING_UP) ua_send_bye(ua, now); /* re-INVITE */
    }
}

/* Everything the parts below have queued for the UA: transaction events, the agent's
 * events, the dialog's retransmissions, the answer timer. */
static void pump(floe_sip_ua *ua, floe_time_ns now) {
    floe_sip_txl_event ev;
    for (int guard = 0; guard < 4; guard++) {
        bool any = false;
        while (floe_sip_txl_next_event(ua->txl, &ev)) {
            any = true;
            switch (ev.type) {
            case FLOE_SIP_TXL_EV_REQUEST: ua_uas_request(ua, now, &ev); break;
            case FLOE_SIP_TXL_EV_RESPONSE:
                if (!ua_reg_response(ua, now, &ev)) ua_uac_response(ua, now, &ev);
                break;
            case FLOE_SIP_TXL_EV_TIMEOUT:
            case FLOE_SIP_TXL_EV_TRANSPORT_ERROR: on_timeout(ua, now, &ev); break;
            default: break;
            }
        }
        if (ua->agent) ua_agent_events(ua, now);
        ua_reg_tick(ua, now);
        if (ua->active && ua->have_dialog) ua_uas_dialog_tick(ua, now);
        if (ua->active && ua->preview_at != FLOE_TIME_NEVER && now >= ua->preview_at) {
            ua_uas_preview(ua, now);
            any = true;
        }
        if (ua->active && ua->reinvite_retry_at != FLOE_TIME_NEVER &&
            now >= ua->reinvite_retry_at) {
            ua_uac_reinvite_retry(ua, now);
            any = true;
        }
        if (ua->active && ua->answer_at != FLOE_TIME_NEVER && now >= ua->answer_at) {
            ua->answer_at = FLOE_TIME_NEVER;
            if (ua->state == FLOE_SIP_CALL_RINGING) ua_uas_answer(ua, now);
            any = true;
        }
        if (!any) break;
    }
    /* A call that is over lets its agent go (no more keepalives or consent checks) once
     * the media session has sent its last RTCP BYE through it. */
    if (ua->agent && ua->active && floe_sip_call_over(ua->state) &&
        (!ua->media_init || ua->media.state != FLOE_MEDIA_STOPPING))
        ua_agent_free(ua);
}

int floe_sip_ua_on_sip(floe_sip_ua *ua, floe_time_ns now, floe_transport transport,
                       const floe_addr *from, const char *p, size_t len) {
    if (!ua || !from || !p) return FLOE_ERR_INVAL;
    if (floe_sip_parse(p, len, 0, &ua->msg, NULL, NULL) == FLOE_OK)
        log_sip(ua, now, false, &ua->msg, from);
    floe_sip_txl_on_recv(ua->txl, now, transport, from, p, len);
    pump(ua, now);
    return FLOE_OK;
}

void floe_sip_ua_transport_error(floe_sip_ua *ua, floe_time_ns now, floe_transport transport,
                                 const floe_addr *peer) {
    if (!ua || !peer) return;
    floe_sip_txl_transport_error(ua->txl, now, transport, peer);
    pump(ua, now);
}

/* What the agent made of a datagram on one of its bases: audio goes to the session. */
static void media_in(floe_sip_ua *ua, floe_time_ns now, const floe_ice_recv_info *in) {
    floe_ice_recv_info info = *in;
    if (info.kind == FLOE_ICE_RECV_DATA && ua->media_init) {
        floe_media_rx *rx = &ua->rx;
        floe_media_on_packet(&ua->media, now, info.data, info.len, rx);
        if (rx->kind == FLOE_MEDIA_RX_AUDIO) {
            if (!ua->media_recv) {
                ua->media_recv = true;
                ua_event_simple(ua, now, FLOE_SIP_UA_EV_MEDIA_RECEIVED, NULL);
            }
            if (ua->cfg.push) ua->cfg.push(ua->cfg.push_ctx, rx->gap, rx->samples, rx->n_samples);
        }
    }
}

int floe_sip_ua_on_media(floe_sip_ua *ua, floe_time_ns now, unsigned sock, const floe_addr *from,
                         const uint8_t *p, size_t len) {
    if (!ua || !from || !p) return FLOE_ERR_INVAL;
    if (!ua->agent || sock >= ua->n_hosts) return FLOE_OK;
    floe_ice_recv_info info;
    floe_ice_agent_on_recv(ua->agent, now, ua->host_base[sock], from, p, len, &info);
    media_in(ua, now, &info);
    pump(ua, now);
    return FLOE_OK;
}

/* ---- streams (TURN over TCP or TLS) ---------------------------------------------------- */

/* The agent's base behind stream id, when id is of the current agent. */
static bool stream_base(const floe_sip_ua *ua, unsigned id, unsigned *base) {
    if (!ua || !ua->agent || (id >> 8) != ua->agent_gen) return false;
    *base = id & 0xffu;
    return true;
}

int floe_sip_ua_stream(const floe_sip_ua *ua, unsigned id, floe_ice_stream *out) {
    unsigned base;
    if (!out) return FLOE_ERR_INVAL;
    if (!stream_base(ua, id, &base)) return FLOE_ERR_NOT_FOUND;
    return floe_ice_agent_stream(ua->agent, base, out);
}

int floe_sip_ua_on_stream(floe_sip_ua *ua, floe_time_ns now, unsigned id, const uint8_t *p,
                          size_t len) {
    unsigned base;
    floe_ice_stream st;
    if (!ua || !p) return FLOE_ERR_INVAL;
    if (!stream_base(ua, id, &base) || floe_ice_agent_stream(ua->agent, base, &st) != FLOE_OK)
        return FLOE_OK; /* a call that is over: dropped */
    floe_ice_recv_info info;
    floe_ice_agent_on_recv(ua->agent, now, base, &st.remote, p, len, &info);
    media_in(ua, now, &info);
    pump(ua, now);
    return FLOE_OK;
}

void floe_sip_ua_stream_closed(floe_sip_ua *ua, floe_time_ns now, unsigned id) {
    unsigned base;
    if (!stream_base(ua, id, &base)) return;
    floe_ice_agent_stream_closed(ua->agent, now, base);
    pump(ua, now);
}

/* Where a datagram of the agent leaves from: a media socket, or a stream. */
void ua_out_base(const floe_sip_ua *ua, unsigned base, floe_sip_ua_out *out) {
    floe_ice_stream st;
    if (ua->agent && floe_ice_agent_stream(ua->agent, base, &st) == FLOE_OK) {
        out->kind = FLOE_SIP_UA_OUT_STREAM;
        out->transport = st.transport;
        out->sock = (ua->agent_gen << 8) | base;
        return;
    }
    out->kind = FLOE_SIP_UA_OUT_MEDIA;
    out->transport = FLOE_TRANSPORT_UDP;
    out->sock = base < FLOE_ICE_MAX_BASES ? ua->base_sock[base] : base;
}

void floe_sip_ua_tick(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua) return;
    floe_sip_txl_tick(ua->txl, now);
    if (ua->agent) floe_ice_agent_tick(ua->agent, now);
    pump(ua, now);
}

static floe_time_ns tmin(floe_time_ns a, floe_time_ns b) {
    return a < b ? a : b;
}

floe_time_ns floe_sip_ua_deadline(const floe_sip_ua *ua) {
    if (!ua) return FLOE_TIME_NEVER;
    floe_time_ns d = floe_sip_txl_deadline(ua->txl);
    if (ua->agent) d = tmin(d, floe_ice_agent_deadline(ua->agent));
    if (ua->active && ua->have_dialog) d = tmin(d, floe_sip_dialog_deadline(&ua->dlg));
    if (ua->active) d = tmin(tmin(tmin(d, ua->answer_at), ua->preview_at), ua->reinvite_retry_at);
    if (ua->reg_on) d = tmin(d, ua->reg_refresh_at);
    return tmin(d, ua_media_deadline(ua));
}

int floe_sip_ua_next_send(floe_sip_ua *ua, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                          floe_sip_ua_out *out) {
    if (!ua || !buf || !len || !out) return FLOE_ERR_INVAL;
    pump(ua, now);
    memset(out, 0, sizeof *out);
    floe_transport tp;
    int rc = floe_sip_txl_next_send(ua->txl, now, (char *)buf, cap, len, &out->to, &tp);
    if (rc == FLOE_OK) {
        out->kind = FLOE_SIP_UA_OUT_SIP;
        out->transport = tp;
        if (floe_sip_parse((const char *)buf, *len, 0, &ua->msg, NULL, NULL) == FLOE_OK)
            log_sip(ua, now, true, &ua->msg, &out->to);
        return FLOE_OK;
    }
    if (rc != FLOE_ERR_NOT_FOUND) return rc;
    if (ua->agent) {
        unsigned base;
        rc = floe_ice_agent_next_send(ua->agent, now, buf, cap, len, &base, &out->to);
        if (rc == FLOE_OK) {
            ua_out_base(ua, base, out);
            return FLOE_OK;
        }
        if (rc != FLOE_ERR_NOT_FOUND) return rc;
    }
    return ua_media_next(ua, now, buf, cap, len, out);
}

/* ---- inspection ------------------------------------------------------------------------- */

bool floe_sip_ua_settling(const floe_sip_ua *ua) {
    floe_sip_txn_info info;
    return ua && ua->active && ua->role == FLOE_SIP_CALL_UAS && ua->invite_id &&
           floe_sip_txl_info(ua->txl, ua->invite_id, &info) == FLOE_OK &&
           info.state == FLOE_SIP_TXN_COMPLETED;
}

floe_sip_call_state floe_sip_ua_state(const floe_sip_ua *ua) {
    return ua ? ua->state : FLOE_SIP_CALL_IDLE;
}

const floe_sip_txl *floe_sip_ua_txl(const floe_sip_ua *ua) {
    return ua ? ua->txl : NULL;
}

static int64_t since(floe_time_ns start, floe_time_ns t) {
    if (start == FLOE_TIME_NEVER || t == FLOE_TIME_NEVER || t < start) return -1;
    return (int64_t)((t - start) / FLOE_NS_PER_MS);
}

void floe_sip_ua_result_get(const floe_sip_ua *ua, floe_sip_ua_result *out) {
    memset(out, 0, sizeof *out);
    out->ms_183 = out->ms_ice_completed = out->ms_180 = out->ms_200 = -1;
    out->ms_first_rtp_sent = out->ms_first_rtp_received = -1;
    if (!ua || !ua->active) return;
    out->caller = ua->role == FLOE_SIP_CALL_UAC;
    out->state = ua->state;
    out->ms_183 = since(ua->t_invite, ua->t_183);
    out->ms_ice_completed = since(ua->t_invite, ua->t_ice);
    out->ms_180 = since(ua->t_invite, ua->t_180);
    out->ms_200 = since(ua->t_invite, ua->t_200);
    out->have_pair = ua->have_pair;
    out->local = ua->sel_local;
    out->remote = ua->sel_remote;
    out->ice = ua->ice_call;
    out->reinvite_sent = ua->reinvite_sent;
    if (ua->media_init) {
        floe_media_stats st;
        floe_media_get_stats(&ua->media, &st);
        out->packets_sent = st.rtp_sent;
        out->packets_received = st.rtp_received;
        out->packets_lost = st.lost;
        out->ms_first_rtp_sent = since(ua->t_invite, st.first_rtp_sent);
        out->ms_first_rtp_received = since(ua->t_invite, st.first_rtp_received);
    }
    out->end_status = ua->end_status;
    memcpy(out->end_reason, ua->end_reason, sizeof out->end_reason);
}
