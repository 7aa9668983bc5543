/* An agent's description in SDP, and the peer's applied to the agent (floe/ice_sdp.h).
 * Only public APIs: the agent's candidates and credentials, the SDP builder and printer,
 * the RFC 8839 reader and writer. */
#include "floe/ice_sdp.h"

#include <string.h>

#include "floe/err.h"

/* The agent's Ta as an a=ice-pacing value: whole milliseconds, rounded up so that the
 * value announced is never faster than the agent's pacing. */
static uint32_t ta_ms(const floe_ice_agent *a) {
    floe_time_ns ta = floe_ice_agent_pacing(a);
    return (uint32_t)((ta + FLOE_NS_PER_MS - 1) / FLOE_NS_PER_MS);
}

static int fail(floe_sdp_error *err, int line, const char *reason, int rc) {
    if (err) {
        err->line = line;
        err->reason = reason;
    }
    return rc;
}

int floe_ice_sdp_write(const floe_ice_agent *a, const floe_ice_sdp_desc *d, floe_ice_sdp_work *w,
                       char *out, size_t cap, size_t *len, floe_sdp_error *err) {
    if (!a || !d || !w || !out || d->components < 1 || d->components > FLOE_ICE_MAX_COMPONENTS)
        return fail(err, 0, "bad arguments", FLOE_ERR_INVAL);
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, w->arena, sizeof w->arena);

    size_t total = floe_ice_agent_local_candidates(a, d->stream, w->cands, FLOE_ICE_MAX_LOCAL);
    size_t n = total < FLOE_ICE_MAX_LOCAL ? total : FLOE_ICE_MAX_LOCAL;
    /* A floe reader keeps at most FLOE_SDP_ICE_MAX_CANDIDATES per media section; the
     * list is sorted best first, so the tail goes. */
    if (n > FLOE_SDP_ICE_MAX_CANDIDATES) n = FLOE_SDP_ICE_MAX_CANDIDATES;
    if (n == 0) return fail(err, 0, "the agent has no local candidate", FLOE_ERR_NOT_FOUND);
    /* The agent's default candidates (RFC 8839 §4.2.1.2), else the SDP module's choice
     * among the candidates listed. */
    floe_ice_cand def[FLOE_ICE_MAX_COMPONENTS + 1];
    const floe_ice_cand *def_p[FLOE_ICE_MAX_COMPONENTS + 1] = {NULL, NULL, NULL};
    for (unsigned c = 1; c <= d->components; c++) {
        if (floe_ice_agent_default_candidate(a, d->stream, c, &def[c]) == FLOE_OK) {
            for (size_t i = 0; i < n; i++)
                if (w->cands[i].component == c && floe_addr_equal(&w->cands[i].addr, &def[c].addr))
                    def_p[c] = &w->cands[i];
        }
        if (!def_p[c]) def_p[c] = floe_sdp_ice_default_choose(w->cands, n, c);
        /* After ICE: the selected local candidate is the default (RFC 8839 §4.2.2). */
        for (size_t i = 0; d->selected_local[c] && i < n; i++)
            if (w->cands[i].component == c &&
                floe_addr_equal(&w->cands[i].addr, &d->selected_local[c]->addr))
                def_p[c] = &w->cands[i];
    }
    if (!def_p[1]) return fail(err, 0, "no candidate for component 1", FLOE_ERR_NOT_FOUND);

    floe_sdp *sdp = &w->sdp;
    floe_sdp_init(sdp);
    /* RFC 8866 §5.2: any numeric id; 62 bits keep it within what every reader takes. */
    uint64_t sess_id = d->session_id & UINT64_C(0x3fffffffffffffff);
    uint64_t version = d->session_version ? d->session_version : 1;
    int rc = floe_sdp_origin_set(sdp, NULL, sess_id, version, &def_p[1]->addr, &ar);
    if (rc != FLOE_OK) return fail(err, 0, "cannot write o=", rc);
    sdp->name = floe_sdp_str_c(d->session_name ? d->session_name : "-");
    /* RFC 8445 §14.2: a Ta other than the default is proposed to the peer. */
    floe_sdp_ice_session sess = {
        .lite = d->lite,
        .ice2 = true,
        .pacing_ms = floe_ice_agent_pacing(a) == FLOE_ICE_TA_DEFAULT ? 0 : ta_ms(a),
    };
    rc = floe_sdp_ice_session_write(sdp, &sess, &ar);
    if (rc != FLOE_OK) return fail(err, 0, "cannot write the session's ICE attributes", rc);
    floe_sdp_media *m = NULL;
    const char *media = d->media ? d->media : FLOE_ICE_SDP_MEDIA_DEFAULT;
    rc = floe_sdp_media_add(sdp, media, def_p[1]->addr.port, "RTP/AVP", &m);
    static const char *const pcmu[] = {"0"}; /* PCMU: what every SIP phone carries */
    const char *const *fmts = d->n_formats ? d->formats : pcmu;
    size_t n_fmts = d->n_formats ? d->n_formats : 1;
    for (size_t i = 0; rc == FLOE_OK && i < n_fmts; i++)
        rc = floe_sdp_fmt_add(m, fmts[i]);
    for (size_t i = 0; rc == FLOE_OK && i < n_fmts && d->n_formats; i++) {
        if (!strcmp(fmts[i], "0")) rc = floe_sdp_attr_add(&m->attrs, "rtpmap", "0 PCMU/8000");
        if (!strcmp(fmts[i], "8")) rc = floe_sdp_attr_add(&m->attrs, "rtpmap", "8 PCMA/8000");
    }
    if (rc == FLOE_OK && d->ptime) {
        floe_sdp_str v;
        rc = floe_sdp_arena_u64(&ar, d->ptime, &v);
        if (rc == FLOE_OK) rc = floe_sdp_attr_add_str(&m->attrs, floe_sdp_str_c("ptime"), v);
    }
    if (rc == FLOE_OK && d->rtcp_mux) rc = floe_sdp_attr_add(&m->attrs, "rtcp-mux", NULL);
    if (rc != FLOE_OK) return fail(err, 0, "cannot write the m= line", rc);
    floe_sdp_ice_remote remote[FLOE_ICE_MAX_COMPONENTS];
    size_t n_remote = 0;
    for (unsigned c = 1; c <= d->components; c++)
        if (d->selected_remote[c])
            remote[n_remote++] = (floe_sdp_ice_remote){(uint8_t)c, d->selected_remote[c]->addr};
    floe_sdp_ice_local loc = {
        .ufrag = floe_ice_agent_local_ufrag(a),
        .pwd = floe_ice_agent_local_pwd(a),
        .cands = w->cands,
        .n_cands = n,
        .default_rtp = def_p[1],
        .default_rtcp = d->components > 1 ? def_p[2] : NULL,
        .remote = n_remote ? remote : NULL,
        .n_remote = n_remote,
        .end_of_candidates = true,
    };
    rc = floe_sdp_ice_media_write(m, &loc, &ar);
    if (rc != FLOE_OK) return fail(err, 0, "cannot write the media's ICE attributes", rc);
    floe_sdp_error e = {0, NULL};
    rc = floe_sdp_print(sdp, out, cap, len, &e);
    if (rc != FLOE_OK)
        return fail(err, e.line, e.reason ? e.reason : "the description does not fit", rc);
    return FLOE_OK;
}

int floe_ice_sdp_apply(floe_ice_agent *a, unsigned stream, unsigned components, const char *text,
                       size_t len, floe_ice_sdp_work *w, floe_ice_sdp_applied *out,
                       floe_sdp_error *err) {
    if (!a || !text || !w || !out) return fail(err, 0, "bad arguments", FLOE_ERR_INVAL);
    memset(out, 0, sizeof *out);
    floe_sdp *sdp = &w->sdp;
    floe_sdp_ice_media *ice = &w->ice;
    memset(ice, 0, sizeof *ice);
    floe_sdp_error e = {0, NULL};
    int rc = floe_sdp_parse(text, len, sdp, &e, NULL);
    if (rc != FLOE_OK) return fail(err, e.line, e.reason ? e.reason : "does not parse", rc);
    if (sdp->n_media == 0) return fail(err, 0, "no media section (m= line)", FLOE_ERR_NOT_FOUND);
    /* The first media section that does ICE is the stream's. */
    size_t mi = 0;
    for (; mi < sdp->n_media; mi++) {
        e.line = 0;
        e.reason = NULL;
        rc = floe_sdp_ice_media_parse(sdp, mi, ice, NULL, &e);
        if (rc != FLOE_OK) return fail(err, e.line, e.reason ? e.reason : "bad ICE attributes", rc);
        if (ice->ice && sdp->media[mi].port != 0) break;
    }
    if (mi == sdp->n_media)
        return fail(err, 0, "no media section with ICE (a=ice-ufrag, a=ice-pwd, a=candidate)",
                    FLOE_ERR_NOT_FOUND);
    int line = sdp->media[mi].line;
    out->media = mi;
    out->media_line = line;
    if (ice->peer_mismatch)
        return fail(err, line, "the peer answered a=ice-mismatch: it will not do ICE",
                    FLOE_ERR_UNSUPPORTED);
    if (!ice->ufrag[0] || !ice->pwd[0])
        return fail(err, line, "the media section lacks a=ice-ufrag or a=ice-pwd",
                    FLOE_ERR_NOT_FOUND);
    out->lite = ice->lite;
    out->mismatch = ice->mismatch;
    out->listed = ice->n_cands;
    out->unsupported = ice->n_skipped;
    rc = floe_ice_agent_set_remote_credentials(a, stream, ice->ufrag, ice->pwd);
    if (rc != FLOE_OK) return fail(err, line, "the agent refused the credentials", rc);
    floe_ice_agent_set_remote_lite(a, ice->lite);
    /* RFC 8839 §5.5, RFC 8445 §14.2: both agents use the larger Ta; ours is what
     * floe_ice_sdp_write announced (or will). */
    uint32_t ms = floe_sdp_ice_pacing(ta_ms(a), ice->pacing_ms);
    if (ms > FLOE_ICE_TA_MAX / FLOE_NS_PER_MS) ms = (uint32_t)(FLOE_ICE_TA_MAX / FLOE_NS_PER_MS);
    rc = floe_ice_agent_set_pacing(a, (floe_time_ns)ms * FLOE_NS_PER_MS);
    out->pacing_ms = ta_ms(a);
    out->pacing_late = rc == FLOE_ERR_STATE && out->pacing_ms != ms; /* started already */
    for (size_t i = 0; i < ice->n_cands; i++) {
        const floe_ice_cand *c = &ice->cands[i];
        if (c->component < 1 || c->component > components) {
            out->fate[i] = FLOE_ICE_SDP_CAND_COMPONENT;
            continue;
        }
        rc = floe_ice_agent_add_remote_candidate(a, stream, c);
        if (rc != FLOE_OK) {
            out->fate[i] = FLOE_ICE_SDP_CAND_REFUSED;
            out->refused[i] = rc;
            continue;
        }
        out->fate[i] = FLOE_ICE_SDP_CAND_ADDED;
        out->candidates++;
    }
    if (out->candidates == 0)
        return fail(err, line, "no usable candidate in the media section", FLOE_ERR_NOT_FOUND);
    return FLOE_OK;
}
