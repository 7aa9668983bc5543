/* `floe ice`: the SDP side of the peer. The work is floe_ice_sdp_write/_apply (shared with
 * the simulator's peers, floe/ice_sdp.h); this file adds a random session id and turns
 * what the core reports into the sentences the peer prints. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/ice_sdp.h"
#include "ice_peer.h"
#include "rt_sys.h"

static floe_ice_sdp_work work; /* about 60 KiB: not on the stack */

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

/* "line 7: reason" (the line is left out when it is 0). */
static void say_sdp_error(char *buf, size_t cap, const floe_sdp_error *e, int rc) {
    const char *why = e->reason ? e->reason : floe_strerror(rc);
    if (e->line > 0)
        say(buf, cap, "line %d: %s", e->line, why);
    else
        say(buf, cap, "%s", why);
}

int ice_peer_sdp_write(const floe_ice_agent *a, unsigned components, bool lite, char *out,
                       size_t cap, size_t *len, char *err, size_t errcap) {
    uint64_t sess_id = 0;
    if (floe_rt_random(NULL, &sess_id, sizeof sess_id) != FLOE_OK) sess_id = 1;
    floe_ice_sdp_desc d = {
        .components = components,
        .lite = lite,
        .session_id = sess_id,
        .session_name = "floe ice",
        .media = ICE_PEER_MEDIA,
    };
    floe_sdp_error e = {0, NULL};
    int rc = floe_ice_sdp_write(a, &d, &work, out, cap, len, &e);
    if (rc != FLOE_OK) say_sdp_error(err, errcap, &e, rc);
    return rc;
}

int ice_peer_sdp_apply(floe_ice_agent *a, const char *text, size_t len, unsigned components,
                       ice_peer_remote *info, char *err, size_t errcap) {
    static floe_ice_sdp_applied got;
    memset(info, 0, sizeof *info);
    floe_sdp_error e = {0, NULL};
    int rc = floe_ice_sdp_apply(a, 0, components, text, len, &work, &got, &e);
    if (rc != FLOE_OK) {
        say_sdp_error(err, errcap, &e, rc);
        if (rc == FLOE_ERR_NOT_FOUND && got.listed + got.unsupported > 0)
            say(err + strlen(err), errcap - strlen(err), " (%zu listed, %zu ignored)", got.listed,
                got.unsupported);
        return rc;
    }
    snprintf(info->ufrag, sizeof info->ufrag, "%s", work.ice.ufrag);
    info->lite = got.lite;
    info->candidates = got.candidates;
    info->ta_ms = got.pacing_ms;
    info->peer_pacing_ms = work.ice.pacing_ms;
    if (got.mismatch)
        note(info, "the default destination (c=/m=) is none of the candidates (RFC 8839 "
                   "section 4.2.5); going on with the candidates");
    if (got.unsupported) {
        info->skipped = true;
        note(info, "%zu candidate line(s) floe cannot use were ignored (TCP, FQDN, ...)",
             got.unsupported);
    }
    for (size_t i = 0; i < got.listed; i++) {
        if (got.fate[i] == FLOE_ICE_SDP_CAND_ADDED) continue;
        const floe_ice_cand *c = &work.ice.cands[i];
        char line[FLOE_SDP_CANDIDATE_STRLEN];
        if (floe_sdp_candidate_print(c, line, sizeof line) < 0)
            snprintf(line, sizeof line, "candidate %zu", i + 1);
        info->skipped = true;
        if (got.fate[i] == FLOE_ICE_SDP_CAND_COMPONENT)
            note(info, "skipped %s: component %u, we have %u", line, c->component, components);
        else
            note(info, "the agent refused %s: %s", line, floe_strerror(got.refused[i]));
    }
    return FLOE_OK;
}
