/* The session descriptions of a call (see floe/sip_sdp.h). */
#include "floe/sip_sdp.h"

#include <string.h>
#include <strings.h>

#include "floe/err.h"
#include "floe/sdp_ice.h"

static int fail(floe_sdp_error *err, int line, const char *reason, int rc) {
    if (err) {
        err->line = line;
        err->reason = reason;
    }
    return rc;
}

/* Digits to a number (o= fields); 0 when they are not digits or too many. */
static uint64_t digits(floe_sdp_str s) {
    uint64_t v = 0;
    if (!s.p || s.len == 0 || s.len > 19) return 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    return v;
}

/* The payload type a format names, when it is one floe speaks: 0 (PCMU) or 8 (PCMA), as
 * a static number or through its a=rtpmap (a dynamic number mapped to PCMU/8000 or
 * PCMA/8000 would be odd but legal: only the static numbers are taken). */
static int known_type(const floe_sdp_media *m, floe_sdp_str fmt) {
    int pt = -1;
    if (floe_sdp_str_eq(fmt, "0")) pt = 0;
    if (floe_sdp_str_eq(fmt, "8")) pt = 8;
    if (pt < 0) return -1;
    /* An rtpmap that says something else for 0 or 8 is not what RFC 3551 means by them. */
    for (size_t i = 0; i < m->attrs.n; i++) {
        const floe_sdp_attr *a = &m->attrs.a[i];
        if (!floe_sdp_str_eq(a->name, "rtpmap") || !a->value.p) continue;
        if (a->value.len < fmt.len + 1 || memcmp(a->value.p, fmt.p, fmt.len) != 0 ||
            a->value.p[fmt.len] != ' ')
            continue;
        floe_sdp_str enc = {a->value.p + fmt.len + 1, a->value.len - fmt.len - 1};
        const char *want = pt == 0 ? "PCMU/8000" : "PCMA/8000";
        if (enc.len < strlen(want) || strncasecmp(enc.p, want, strlen(want)) != 0) return -1;
    }
    return pt;
}

static bool has_attr(const floe_sdp_media *m, const char *name, floe_sdp_str *value) {
    for (size_t i = 0; i < m->attrs.n; i++)
        if (floe_sdp_str_eq(m->attrs.a[i].name, name)) {
            if (value) *value = m->attrs.a[i].value;
            return true;
        }
    return false;
}

int floe_sip_sdp_read(const char *text, size_t len, floe_ice_sdp_work *w, floe_sip_sdp_media *out,
                      floe_sdp_error *err) {
    if (!text || !w || !out) return fail(err, 0, "bad arguments", FLOE_ERR_INVAL);
    memset(out, 0, sizeof *out);
    out->payload_type = -1;
    floe_sdp_error e = {0, NULL};
    int rc = floe_sdp_parse(text, len, &w->sdp, &e, NULL);
    if (rc != FLOE_OK) return fail(err, e.line, e.reason ? e.reason : "does not parse", rc);
    const floe_sdp *sdp = &w->sdp;
    size_t mi = 0;
    while (mi < sdp->n_media &&
           (!floe_sdp_str_ieq(sdp->media[mi].media, "audio") || sdp->media[mi].port == 0))
        mi++;
    if (mi == sdp->n_media)
        return fail(err, 0, "no audio section with a port (m=audio)", FLOE_ERR_NOT_FOUND);
    const floe_sdp_media *m = &sdp->media[mi];
    out->index = mi;
    out->session_id = digits(sdp->origin.sess_id);
    out->session_version = digits(sdp->origin.sess_version);
    rc = floe_sdp_ice_media_parse(sdp, mi, &w->ice, NULL, &e);
    if (rc != FLOE_OK) return fail(err, e.line, e.reason ? e.reason : "bad ICE attributes", rc);
    const floe_sdp_ice_media *ice = &w->ice;
    /* RFC 8839 §4.2.5: a default that is none of the candidates means a middlebox
     * rewrote the description; no ICE then, like an a=ice-mismatch answer. */
    out->ice_mismatch = ice->peer_mismatch || (ice->ice && ice->mismatch);
    out->ice = ice->ice && !out->ice_mismatch;
    out->lite = ice->lite;
    out->rtp = ice->default_rtp;
    out->rtcp = ice->default_rtcp;
    out->rtcp_mux = has_attr(m, "rtcp-mux", NULL);
    if (out->rtcp_mux) out->rtcp = out->rtp;
    if (out->rtp.family == FLOE_AF_NONE)
        return fail(err, m->line, "no address for the audio (c= holds a name, or is missing)",
                    FLOE_ERR_NOT_FOUND);
    floe_sdp_str v;
    if (has_attr(m, "ptime", &v)) out->ptime = (unsigned)digits(v);
    out->dir = floe_sdp_media_dir(sdp, mi);
    /* RFC 3264 §6.1: the offerer's formats are in its order of preference. */
    for (size_t i = 0; i < m->n_fmt && out->payload_type < 0; i++)
        out->payload_type = known_type(m, m->fmt[i]);
    if (out->payload_type < 0)
        return fail(err, m->line, "no common audio format (floe speaks PCMU and PCMA)",
                    FLOE_ERR_UNSUPPORTED);
    return FLOE_OK;
}

int floe_sip_sdp_write(const floe_ice_agent *a, const floe_sip_sdp_ours *ours, floe_ice_sdp_work *w,
                       char *out, size_t cap, size_t *len, floe_sdp_error *err) {
    if (!ours || (ours->payload_type != -1 && ours->payload_type != 0 && ours->payload_type != 8))
        return fail(err, 0, "bad arguments", FLOE_ERR_INVAL);
    static const char *const both[] = {"0", "8"}, *const pcmu[] = {"0"}, *const pcma[] = {"8"};
    floe_ice_sdp_desc d = {
        .components = 1,
        .session_id = ours->session_id,
        .session_version = ours->session_version,
        .formats = ours->payload_type < 0    ? both
                   : ours->payload_type == 0 ? pcmu
                                             : pcma,
        .n_formats = ours->payload_type < 0 ? 2 : 1,
        .ptime = FLOE_SIP_SDP_PTIME,
        .rtcp_mux = !ours->no_rtcp_mux,
    };
    for (unsigned c = 1; c <= FLOE_ICE_MAX_COMPONENTS; c++) {
        d.selected_local[c] = ours->selected_local[c];
        d.selected_remote[c] = ours->selected_remote[c];
    }
    return floe_ice_sdp_write(a, &d, w, out, cap, len, err);
}
