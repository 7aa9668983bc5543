/* `floe ice`: the glue between the ICE agent and the SDP module (floe/sdp.h for the
 * session, floe/sdp_ice.h for RFC 8839's attributes and candidate lines). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "floe/sdp_ice.h"
#include "ice_peer.h"
#include "rt_sys.h"

#define ARENA_SIZE 16384

static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static void note(ice_peer_remote *info, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(ice_peer_remote *info, const char *fmt, ...) {
    if (info->n_notes == ICE_PEER_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(info->notes[info->n_notes++], ICE_PEER_NOTE_LEN, fmt, ap);
    va_end(ap);
}

/* "line 7: reason" from a parser error (the line is left out when it is 0). */
static void say_sdp_error(char *buf, size_t cap, const floe_sdp_error *e, int rc) {
    const char *why = e->reason ? e->reason : floe_strerror(rc);
    if (e->line > 0)
        say(buf, cap, "line %d: %s", e->line, why);
    else
        say(buf, cap, "%s", why);
}

int ice_peer_sdp_write(const floe_ice_agent *a, unsigned components, bool lite, char *out,
                       size_t cap, size_t *len, char *err, size_t errcap) {
    static floe_sdp sdp; /* about 30 KiB: not on the stack */
    static floe_ice_cand cands[FLOE_ICE_MAX_LOCAL];
    static char arena_buf[ARENA_SIZE];
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, arena_buf, sizeof arena_buf);

    size_t total = floe_ice_agent_local_candidates(a, 0, cands, FLOE_ICE_MAX_LOCAL);
    size_t n = total < FLOE_ICE_MAX_LOCAL ? total : FLOE_ICE_MAX_LOCAL;
    /* A peer reading this with floe keeps at most FLOE_SDP_ICE_MAX_CANDIDATES per media
     * section; the list is sorted best first, so the tail goes. */
    if (n > FLOE_SDP_ICE_MAX_CANDIDATES) n = FLOE_SDP_ICE_MAX_CANDIDATES;
    if (n == 0) {
        say(err, errcap, "the agent has no local candidate");
        return FLOE_ERR_NOT_FOUND;
    }
    /* The agent's default candidates (RFC 8839 section 4.2.1.2), else the SDP module's
     * choice among the candidates listed. */
    floe_ice_cand def[FLOE_ICE_MAX_COMPONENTS + 1];
    const floe_ice_cand *def_p[FLOE_ICE_MAX_COMPONENTS + 1] = {NULL, NULL, NULL};
    for (unsigned c = 1; c <= components && c <= FLOE_ICE_MAX_COMPONENTS; c++) {
        if (floe_ice_agent_default_candidate(a, 0, c, &def[c]) == FLOE_OK) {
            for (size_t i = 0; i < n; i++)
                if (cands[i].component == c && floe_addr_equal(&cands[i].addr, &def[c].addr))
                    def_p[c] = &cands[i];
        }
        if (!def_p[c]) def_p[c] = floe_sdp_ice_default_choose(cands, n, c);
    }
    if (!def_p[1]) {
        say(err, errcap, "no candidate for component 1");
        return FLOE_ERR_NOT_FOUND;
    }

    floe_sdp_init(&sdp);
    uint64_t sess_id = 0;
    if (floe_rt_random(NULL, &sess_id, sizeof sess_id) != FLOE_OK) sess_id = 1;
    sess_id &= UINT64_C(0x3fffffffffffffff); /* RFC 8866 section 5.2: any numeric id */
    int rc = floe_sdp_origin_set(&sdp, NULL, sess_id, 1, &def_p[1]->addr, &ar);
    if (rc != FLOE_OK) goto fail;
    sdp.name = floe_sdp_str_c("floe ice");
    floe_sdp_ice_session sess = {.lite = lite, .ice2 = true};
    rc = floe_sdp_ice_session_write(&sdp, &sess, &ar);
    if (rc != FLOE_OK) goto fail;
    floe_sdp_media *m = NULL;
    rc = floe_sdp_media_add(&sdp, ICE_PEER_MEDIA, def_p[1]->addr.port, "RTP/AVP", &m);
    if (rc == FLOE_OK) rc = floe_sdp_fmt_add(m, "0"); /* PCMU: what SIP calls will carry */
    if (rc != FLOE_OK) goto fail;
    floe_sdp_ice_local loc = {
        .ufrag = floe_ice_agent_local_ufrag(a),
        .pwd = floe_ice_agent_local_pwd(a),
        .cands = cands,
        .n_cands = n,
        .default_rtp = def_p[1],
        .default_rtcp = components > 1 ? def_p[2] : NULL,
        .end_of_candidates = true,
    };
    rc = floe_sdp_ice_media_write(m, &loc, &ar);
    if (rc != FLOE_OK) goto fail;
    floe_sdp_error e = {0, NULL};
    rc = floe_sdp_print(&sdp, out, cap, len, &e);
    if (rc != FLOE_OK) {
        say_sdp_error(err, errcap, &e, rc);
        return rc;
    }
    return FLOE_OK;
fail:
    say(err, errcap, "%s", floe_strerror(rc));
    return rc;
}

int ice_peer_sdp_apply(floe_ice_agent *a, const char *text, size_t len, unsigned components,
                       ice_peer_remote *info, char *err, size_t errcap) {
    static floe_sdp sdp;
    static floe_sdp_ice_media ice;
    memset(info, 0, sizeof *info);
    floe_sdp_error e = {0, NULL};
    int rc = floe_sdp_parse(text, len, &sdp, &e, NULL);
    if (rc != FLOE_OK) {
        say_sdp_error(err, errcap, &e, rc);
        return rc;
    }
    if (sdp.n_media == 0) {
        say(err, errcap, "no media section (m= line)");
        return FLOE_ERR_NOT_FOUND;
    }
    /* The first media section that does ICE is ours (one stream). */
    size_t mi = 0;
    for (; mi < sdp.n_media; mi++) {
        e.line = 0;
        e.reason = NULL;
        rc = floe_sdp_ice_media_parse(&sdp, mi, &ice, NULL, &e);
        if (rc != FLOE_OK) {
            say_sdp_error(err, errcap, &e, rc);
            return rc;
        }
        if (ice.ice && sdp.media[mi].port != 0) break;
    }
    if (mi == sdp.n_media) {
        say(err, errcap, "no media section with ICE (a=ice-ufrag, a=ice-pwd, a=candidate)");
        return FLOE_ERR_NOT_FOUND;
    }
    if (ice.peer_mismatch) {
        say(err, errcap, "the peer answered a=ice-mismatch (line %d): it will not do ICE",
            sdp.media[mi].line);
        return FLOE_ERR_UNSUPPORTED;
    }
    if (!ice.ufrag[0] || !ice.pwd[0]) {
        say(err, errcap, "media section at line %d lacks a=ice-ufrag or a=ice-pwd",
            sdp.media[mi].line);
        return FLOE_ERR_NOT_FOUND;
    }
    snprintf(info->ufrag, sizeof info->ufrag, "%s", ice.ufrag);
    info->lite = ice.lite;
    rc = floe_ice_agent_set_remote_credentials(a, 0, ice.ufrag, ice.pwd);
    if (rc != FLOE_OK) {
        say(err, errcap, "the agent refused the credentials: %s", floe_strerror(rc));
        return rc;
    }
    floe_ice_agent_set_remote_lite(a, ice.lite);
    if (ice.mismatch)
        note(info, "the default destination (c=/m=) is none of the candidates (RFC 8839 "
                   "section 4.2.5); going on with the candidates");
    if (ice.n_skipped) {
        info->skipped = true;
        note(info, "%zu candidate line(s) floe cannot use were ignored (TCP, FQDN, ...)",
             ice.n_skipped);
    }
    for (size_t i = 0; i < ice.n_cands; i++) {
        const floe_ice_cand *c = &ice.cands[i];
        char line[FLOE_SDP_CANDIDATE_STRLEN];
        if (floe_sdp_candidate_print(c, line, sizeof line) < 0)
            snprintf(line, sizeof line, "candidate %zu", i + 1);
        if (c->component < 1 || c->component > components) {
            info->skipped = true;
            note(info, "skipped %s: component %u, we have %u", line, c->component, components);
            continue;
        }
        rc = floe_ice_agent_add_remote_candidate(a, 0, c);
        if (rc != FLOE_OK) {
            info->skipped = true;
            note(info, "the agent refused %s: %s", line, floe_strerror(rc));
            continue;
        }
        info->candidates++;
    }
    if (info->candidates == 0) {
        say(err, errcap,
            "no usable candidate in the media section at line %d (%zu listed, %zu "
            "ignored)",
            sdp.media[mi].line, ice.n_cands, ice.n_skipped);
        return FLOE_ERR_NOT_FOUND;
    }
    return FLOE_OK;
}
