/* The SIP user agent's media side: the call's ICE agent, our session description and
 * the audio session on the selected pair (or on the default addresses without ICE). */
#include <string.h>

#include "floe/err.h"
#include "sip_ua_priv.h"

int ua_agent_new(floe_sip_ua *ua, floe_time_ns now, bool controlling) {
    if (ua->n_hosts == 0) return FLOE_ERR_NOT_FOUND;
    ua_agent_free(ua);
    floe_ice_config c;
    floe_ice_config_default(&c);
    c.controlling = controlling;
    c.ta = ua->cfg.ice_ta;
    /* A late answer rings before the caller can nominate: the nomination waits for the
     * user to answer (the caller's INVITE gives up after 3 minutes, RFC 3261 timer C). */
    if (ua->state == FLOE_SIP_CALL_OFFERED_LATE) c.nomination_wait = FLOE_S(200);
    memcpy(c.stun_servers, ua->cfg.stun_servers, sizeof c.stun_servers);
    c.n_stun_servers = ua->cfg.n_stun_servers;
    memcpy(c.turn_servers, ua->cfg.turn_servers, sizeof c.turn_servers);
    c.n_turn_servers = ua->cfg.n_turn_servers;
    c.rand = ua->cfg.rnd;
    c.rand_ctx = ua->cfg.rnd_ctx;
    int rc = floe_ice_agent_new(&ua->agent, &c);
    if (rc != FLOE_OK) return rc;
    ua->agent_gen = (ua->agent_gen + 1) & 0xffffffu;
    for (unsigned i = 0; i < ua->n_hosts; i++) {
        unsigned base;
        rc = floe_ice_agent_add_host(ua->agent, 0, 1, &ua->hosts[i],
                                     ua->ifnames[i][0] ? ua->ifnames[i] : NULL, &base);
        if (rc != FLOE_OK) goto fail;
        if (base < FLOE_ICE_MAX_BASES) ua->base_sock[base] = i;
        ua->host_base[i] = base;
    }
    rc = floe_ice_agent_gather(ua->agent, now);
    if (rc != FLOE_OK) goto fail;
    return FLOE_OK;
fail:
    ua_agent_free(ua);
    return rc;
}

void ua_agent_free(floe_sip_ua *ua) {
    floe_ice_agent_free(ua->agent);
    ua->agent = NULL;
}

/* Which of our sockets the default candidate leaves from: its own address for a host
 * candidate, its base (related address) for a server-reflexive one. */
static unsigned default_socket(const floe_sip_ua *ua) {
    for (unsigned i = 0; i < ua->n_hosts; i++)
        if (floe_addr_equal(&ua->hosts[i], &ua->default_cand.addr) ||
            floe_addr_equal(&ua->hosts[i], &ua->default_cand.related))
            return i;
    return 0;
}

/* The default candidate (what a peer without ICE uses, RFC 8839 section 4.2.1.2) must be
 * of the peer's family: the callee knows it from the offer's c= line, the caller takes the
 * family of where its INVITE goes. Among the candidates of that family: relayed, else
 * server-reflexive, else host, the best first (the list is sorted by priority). */
static void default_for_peer(floe_sip_ua *ua) {
    int fam = ua->role == FLOE_SIP_CALL_UAS ? ua->peer_rtp.family : ua->sig_peer.family;
    if (fam == FLOE_AF_NONE || ua->default_cand.addr.family == fam) return;
    floe_ice_cand c[FLOE_ICE_MAX_LOCAL];
    size_t n = floe_ice_agent_local_candidates(ua->agent, 0, c, FLOE_ICE_MAX_LOCAL);
    if (n > FLOE_ICE_MAX_LOCAL) n = FLOE_ICE_MAX_LOCAL;
    static const floe_ice_cand_type order[] = {FLOE_ICE_CAND_RELAY, FLOE_ICE_CAND_SRFLX,
                                               FLOE_ICE_CAND_HOST};
    for (size_t t = 0; t < sizeof order / sizeof order[0]; t++)
        for (size_t i = 0; i < n; i++)
            if (c[i].component == 1 && c[i].type == order[t] && c[i].addr.family == fam) {
                ua->default_cand = c[i];
                return;
            }
}

void ua_agent_events(floe_sip_ua *ua, floe_time_ns now) {
    floe_ice_event e;
    while (ua->agent && floe_ice_agent_next_event(ua->agent, &e)) {
        if (!ua->active || floe_sip_call_over(ua->state)) continue;
        switch (e.type) {
        case FLOE_ICE_EV_GATHERING_DONE:
            if (ua->gathered) break;
            ua->gathered = true;
            floe_ice_agent_default_candidate(ua->agent, 0, 1, &ua->default_cand);
            default_for_peer(ua);
            ua->default_sock = default_socket(ua);
            ua_event_simple(ua, e.at, FLOE_SIP_UA_EV_ICE_GATHERED, NULL);
            if (ua->role == FLOE_SIP_CALL_UAC)
                ua_uac_gathered(ua, now);
            else
                ua_uas_gathered(ua, now);
            break;
        case FLOE_ICE_EV_PAIR_STATE:
            if (ua->role == FLOE_SIP_CALL_UAS && e.pair_state == FLOE_ICE_PAIR_SUCCEEDED &&
                e.component == 1)
                ua_uas_path_found(ua, now);
            break;
        case FLOE_ICE_EV_SELECTED: {
            ua->have_pair = true;
            ua->sel_local = e.local;
            ua->sel_remote = e.remote;
            floe_sip_ua_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = FLOE_SIP_UA_EV_ICE_SELECTED;
            ev.at = e.at;
            ev.local = e.local;
            ev.remote = e.remote;
            ua_event(ua, &ev);
            break;
        }
        case FLOE_ICE_EV_COMPLETED:
            if (!ua->ice_call || ua->ice_done) break;
            ua->ice_done = true;
            if (ua->t_ice == FLOE_TIME_NEVER) ua->t_ice = now; /* not a restart's */
            ua_event_simple(ua, e.at, FLOE_SIP_UA_EV_ICE_COMPLETED, NULL);
            if (ua->role == FLOE_SIP_CALL_UAC)
                ua_uac_ice_done(ua, now);
            else
                ua_uas_ice_done(ua, now);
            break;
        case FLOE_ICE_EV_CONSENT_LOST:
            ua_event_simple(ua, e.at, FLOE_SIP_UA_EV_CONSENT_LOST, NULL);
            ua_media_stop(ua, false);
            ua_end(ua, now, 0, "consent-lost");
            break;
        case FLOE_ICE_EV_FAILED:
            if (!ua->ice_call) break;
            ua_event_simple(ua, e.at, FLOE_SIP_UA_EV_ICE_FAILED, e.reason);
            ua_end(ua, now, 0, "ice-failed");
            if (ua->role == FLOE_SIP_CALL_UAC)
                ua_uac_ice_failed(ua, now);
            else
                ua_uas_ice_failed(ua, now);
            break;
        default: break;
        }
    }
}

/* Drops the ICE attributes from a description: what a peer without ICE gets. */
static size_t strip_ice(char *s, size_t len) {
    size_t in = 0, out = 0;
    while (in < len) {
        size_t end = in;
        while (end < len && s[end] != '\n')
            end++;
        if (end < len) end++; /* keep the LF */
        size_t n = end - in;
        bool drop = (n >= 6 && memcmp(s + in, "a=ice-", 6) == 0) ||
                    (n >= 12 && memcmp(s + in, "a=candidate:", 12) == 0) ||
                    (n >= 19 && memcmp(s + in, "a=end-of-candidates", 19) == 0) ||
                    (n >= 19 && memcmp(s + in, "a=remote-candidates", 19) == 0);
        if (!drop) {
            memmove(s + out, s + in, n);
            out += n;
        }
        in = end;
    }
    s[out] = '\0';
    return out;
}

int ua_write_sdp(floe_sip_ua *ua, bool selected) {
    floe_sip_sdp_ours o;
    memset(&o, 0, sizeof o);
    o.session_id = ua->session_id;
    o.session_version = ua->session_version;
    o.payload_type = ua->pt;
    o.no_rtcp_mux = ua->role == FLOE_SIP_CALL_UAS && ua->no_rtcp_mux;
    if (selected && ua->have_pair) {
        o.selected_local[1] = &ua->sel_local;
        o.selected_remote[1] = &ua->sel_remote;
    } else if (ua->gathered) {
        o.selected_local[1] = &ua->default_cand; /* only names the c=/m= default */
    }
    floe_sdp_error err;
    int rc =
        floe_sip_sdp_write(ua->agent, &o, ua->work, ua->sdp, sizeof ua->sdp, &ua->sdp_len, &err);
    if (rc != FLOE_OK) return rc;
    bool with_ice = ua->role == FLOE_SIP_CALL_UAC ? ua->cfg.ice : ua->ice_call;
    if (!with_ice) ua->sdp_len = strip_ice(ua->sdp, ua->sdp_len);
    return FLOE_OK;
}

int ua_read_sdp(floe_sip_ua *ua, floe_sip_str body, floe_sip_sdp_media *md) {
    floe_sdp_error err;
    if (!body.p || body.len == 0) return FLOE_ERR_NOT_FOUND;
    return floe_sip_sdp_read(body.p, body.len, ua->work, md, &err);
}

int ua_apply_ice(floe_sip_ua *ua, floe_sip_str body) {
    floe_ice_sdp_applied got;
    floe_sdp_error err;
    int rc = floe_ice_sdp_apply(ua->agent, 0, 1, body.p, body.len, ua->work, &got, &err);
    if (rc == FLOE_OK) { /* the credentials in use: a re-INVITE with others restarts ICE */
        memcpy(ua->rem_ufrag, ua->work->ice.ufrag, sizeof ua->rem_ufrag);
        memcpy(ua->rem_pwd, ua->work->ice.pwd, sizeof ua->rem_pwd);
    }
    return rc;
}

/* ICE restart on our side: new credentials, the checks to be started again once the
 * peer's new description is applied; the next completion is reported again. */
int ua_restart_agent(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua->agent) return FLOE_ERR_STATE;
    int rc = floe_ice_agent_restart(ua->agent, now);
    if (rc != FLOE_OK) return rc;
    ua->checks_started = false;
    ua->ice_done = false;
    ua->session_version++;
    ua_event_simple(ua, now, FLOE_SIP_UA_EV_ICE_RESTART, NULL);
    return FLOE_OK;
}

int ua_start_checks(floe_sip_ua *ua, floe_time_ns now) {
    if (ua->checks_started) return FLOE_OK;
    int rc = floe_ice_agent_start(ua->agent, now);
    if (rc != FLOE_OK) return rc;
    ua->checks_started = true;
    ua_event_simple(ua, now, FLOE_SIP_UA_EV_ICE_CHECKING, NULL);
    return FLOE_OK;
}

/* ---- audio --------------------------------------------------------------------------------- */

void ua_media_init(floe_sip_ua *ua) {
    if (ua->media_init || ua->pt < 0) return;
    floe_media_config c;
    floe_media_config_default(&c);
    c.payload_type = (uint8_t)ua->pt;
    c.rand = ua->cfg.rnd;
    c.rand_ctx = ua->cfg.rnd_ctx;
    if (floe_media_init(&ua->media, &c) != FLOE_OK) return;
    if (!ua->cfg.pull && ua->cfg.tone_hz > 0)
        floe_media_set_tone(&ua->media, ua->cfg.tone_hz,
                            ua->cfg.tone_amplitude > 0 ? ua->cfg.tone_amplitude : 8000);
    ua->media_init = true;
}

/* Starts sending once the call is answered and a path exists: the selected pair with
 * ICE, the peer's default address without. Never for a call that is over (a 2xx that
 * comes after the caller gave up): its agent goes, and audio without one could not be
 * sent, its deadline staying in the past. */
void ua_media_start(floe_sip_ua *ua, floe_time_ns now) {
    if (floe_sip_call_over(ua->state) || !ua->agent) return;
    ua_media_init(ua);
    if (!ua->media_init || ua->media_on || ua->media.state != FLOE_MEDIA_NEW) return;
    if (ua->ice_call) {
        unsigned base;
        floe_addr to;
        if (floe_ice_agent_early_path(ua->agent, 0, 1, &base, &to) != FLOE_OK) return;
    } else if (ua->peer_rtp.family == FLOE_AF_NONE) {
        return;
    }
    if (floe_media_start(&ua->media, now) == FLOE_OK) ua->media_on = true;
}

void ua_media_stop(floe_sip_ua *ua, bool bye) {
    if (!ua->media_init) return;
    if (ua->media.state == FLOE_MEDIA_NEW || ua->media.state == FLOE_MEDIA_RUNNING)
        floe_media_stop(&ua->media, bye && ua->media.state == FLOE_MEDIA_RUNNING);
    ua->media_on = false;
}

/* Wraps one RTP or RTCP datagram for the path: ICE's selected pair (or the valid pair being
 * nominated, see below), or from the default
 * candidate's socket to the peer's default address. */
static int wrap(floe_sip_ua *ua, floe_time_ns now, const uint8_t *p, size_t n, uint8_t *buf,
                size_t cap, size_t *len, floe_sip_ua_out *out) {
    unsigned base, b;
    floe_addr to;
    int rc;
    if (ua->ice_call) {
        /* the selected pair; until the caller's nomination completes, the pair it
         * nominates (RFC 8445 section 12.1): the callee may already ring and answer */
        rc = floe_ice_agent_early_path(ua->agent, 0, 1, &b, &to);
        if (rc == FLOE_OK)
            rc = floe_ice_agent_send_from(ua->agent, now, b, &to, p, n, buf, cap, len, &base,
                                          &out->to);
    } else
        rc = floe_ice_agent_send_from(ua->agent, now, ua->host_base[ua->default_sock],
                                      &ua->peer_rtp, p, n, buf, cap, len, &base, &out->to);
    if (rc != FLOE_OK) return rc;
    ua_out_base(ua, base, out);
    return FLOE_OK;
}

int ua_media_next(floe_sip_ua *ua, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                  floe_sip_ua_out *out) {
    if (!ua->media_init || !ua->agent) return FLOE_ERR_NOT_FOUND;
    size_t n;
    while (ua->media_on && floe_media_rtp_due(&ua->media, now)) {
        const int16_t *samples = NULL;
        if (ua->cfg.pull) {
            size_t fs = floe_media_frame_samples(&ua->media);
            if (!ua->cfg.pull(ua->cfg.pull_ctx, ua->frame, fs)) memset(ua->frame, 0, fs * 2);
            samples = ua->frame;
        }
        if (floe_media_next_packet(&ua->media, now, samples, ua->pkt, sizeof ua->pkt, &n) !=
            FLOE_OK)
            break;
        if (wrap(ua, now, ua->pkt, n, buf, cap, len, out) != FLOE_OK) continue; /* no path */
        if (!ua->media_sent) {
            ua->media_sent = true;
            ua_event_simple(ua, now, FLOE_SIP_UA_EV_MEDIA_SENT, NULL);
        }
        return FLOE_OK;
    }
    while (floe_media_next_rtcp(&ua->media, now, ua->pkt, sizeof ua->pkt, &n) == FLOE_OK)
        if (!ua->no_rtcp_mux && wrap(ua, now, ua->pkt, n, buf, cap, len, out) == FLOE_OK)
            return FLOE_OK;
    return FLOE_ERR_NOT_FOUND;
}

floe_time_ns ua_media_deadline(const floe_sip_ua *ua) {
    /* what ua_media_next can do: nothing without the agent that carries it */
    if (!ua->media_init || !ua->agent) return FLOE_TIME_NEVER;
    return floe_media_deadline(&ua->media);
}
