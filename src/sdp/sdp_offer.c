/* RFC 3264 offer/answer for media lines: stream directions and building the answer's
 * m= sections from an offer and what the answerer supports. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "sdp/sdp_internal.h"

/* RFC 3264 §5.1 / RFC 8866 §6.7: the four direction attributes. */
const char *floe_sdp_dir_name(floe_sdp_dir d) {
    switch (d) {
    case FLOE_SDP_INACTIVE: return "inactive";
    case FLOE_SDP_SENDONLY: return "sendonly";
    case FLOE_SDP_RECVONLY: return "recvonly";
    case FLOE_SDP_SENDRECV: return "sendrecv";
    }
    return "sendrecv";
}

static bool dir_of(const floe_sdp_attrs *l, floe_sdp_dir *out) {
    static const floe_sdp_dir all[] = {FLOE_SDP_INACTIVE, FLOE_SDP_SENDONLY, FLOE_SDP_RECVONLY,
                                       FLOE_SDP_SENDRECV};
    for (size_t i = 0; i < l->n && i < FLOE_SDP_MAX_ATTRS; i++) {
        if (l->a[i].value.p) continue; /* property attributes only */
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
            if (floe_sdp_str_eq(l->a[i].name, floe_sdp_dir_name(all[k]))) {
                *out = all[k];
                return true;
            }
        }
    }
    return false;
}

floe_sdp_dir floe_sdp_media_dir(const floe_sdp *s, size_t mi) {
    floe_sdp_dir d = FLOE_SDP_SENDRECV;
    if (!s) return d;
    if (mi < s->n_media && mi < FLOE_SDP_MAX_MEDIA && dir_of(&s->media[mi].attrs, &d)) return d;
    if (dir_of(&s->attrs, &d)) return d;
    return FLOE_SDP_SENDRECV;
}

/* ---- format matching ---------------------------------------------------------------------- */

/* RFC 3551 §6, Table 4 and 5: static payload types, as "name/clock[/channels]". */
static const struct {
    unsigned pt;
    const char *enc;
} static_pts[] = {
    {0, "PCMU/8000"},    {3, "GSM/8000"},     {4, "G723/8000"},   {5, "DVI4/8000"},
    {6, "DVI4/16000"},   {7, "LPC/8000"},     {8, "PCMA/8000"},   {9, "G722/8000"},
    {10, "L16/44100/2"}, {11, "L16/44100/1"}, {12, "QCELP/8000"}, {13, "CN/8000"},
    {14, "MPA/90000"},   {15, "G728/8000"},   {16, "DVI4/11025"}, {17, "DVI4/22050"},
    {18, "G729/8000"},   {25, "CelB/90000"},  {26, "JPEG/90000"}, {28, "nv/90000"},
    {31, "H261/90000"},  {32, "MPV/90000"},   {33, "MP2T/90000"}, {34, "H263/90000"},
};

#define FLOE_RTP_DYNAMIC_PT_MIN 96 /* RFC 3551 §3: 96-127 are dynamic */

static bool is_number(const char *p, size_t n, uint64_t *v) {
    return sdp_u64(p, n, 3, 127, v);
}

/* The a=rtpmap encoding ("PCMU/8000") of format fmt in media section m, or an empty
 * slice. The value is "<pt> <encoding>" (RFC 8866 §6.6). */
static floe_sdp_str rtpmap_of(const floe_sdp_media *m, floe_sdp_str fmt) {
    floe_sdp_str none = {NULL, 0};
    for (const floe_sdp_attr *a = NULL; (a = floe_sdp_attr_find(&m->attrs, "rtpmap", a));) {
        floe_sdp_str v = a->value;
        if (!v.p || v.len <= fmt.len || v.p[fmt.len] != ' ') continue;
        if (memcmp(v.p, fmt.p, fmt.len) != 0) continue;
        floe_sdp_str enc = {v.p + fmt.len + 1, v.len - fmt.len - 1};
        return enc;
    }
    return none;
}

/* a=fmtp / a=rtpmap lines that belong to fmt ("<fmt> ..."). */
static bool attr_for_fmt(const floe_sdp_attr *a, floe_sdp_str fmt) {
    if (!floe_sdp_str_eq(a->name, "rtpmap") && !floe_sdp_str_eq(a->name, "fmtp")) return false;
    floe_sdp_str v = a->value;
    return v.p && v.len > fmt.len && v.p[fmt.len] == ' ' && memcmp(v.p, fmt.p, fmt.len) == 0;
}

static size_t count_char(const char *p, size_t n, char c) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

/* Does the answerer's entry `want` name the encoding `enc` ("name/clock[/params]")? */
static bool enc_matches(const char *want, floe_sdp_str enc) {
    size_t wl = strlen(want);
    if (sdp_ieq(enc.p, enc.len, want)) return true;
    size_t slashes = count_char(want, wl, '/');
    const char *first = memchr(enc.p, '/', enc.len);
    if (slashes == 0) /* name alone */
        return first && sdp_ieq(enc.p, (size_t)(first - enc.p), want);
    if (slashes == 1 && first) { /* name/clock: any params */
        const char *second = memchr(first + 1, '/', enc.len - (size_t)(first + 1 - enc.p));
        return second && sdp_ieq(enc.p, (size_t)(second - enc.p), want);
    }
    return false;
}

static bool fmt_supported(const floe_sdp_media *om, floe_sdp_str fmt, const floe_sdp_caps *c) {
    floe_sdp_str enc = rtpmap_of(om, fmt);
    uint64_t pt = 0;
    bool numeric = is_number(fmt.p, fmt.len, &pt);
    if (!enc.p && numeric && pt < FLOE_RTP_DYNAMIC_PT_MIN) {
        for (size_t i = 0; i < sizeof static_pts / sizeof static_pts[0]; i++)
            if (static_pts[i].pt == pt) enc = floe_sdp_str_c(static_pts[i].enc);
    }
    for (size_t i = 0; i < c->n_formats; i++) {
        const char *want = c->formats[i];
        if (!want || !*want) continue;
        uint64_t wpt;
        if (is_number(want, strlen(want), &wpt)) {
            /* A payload type number only names a static assignment. */
            if (numeric && wpt == pt && pt < FLOE_RTP_DYNAMIC_PT_MIN) return true;
            continue;
        }
        if (enc.p && enc_matches(want, enc)) return true;
        if (!enc.p && sdp_ieq(fmt.p, fmt.len, want)) return true; /* non-RTP format token */
    }
    return false;
}

static const floe_sdp_caps *find_caps(const floe_sdp_media *om, const floe_sdp_caps *caps,
                                      size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!caps[i].media || !floe_sdp_str_ieq(om->media, caps[i].media)) continue;
        if (caps[i].proto && !floe_sdp_str_ieq(om->proto, caps[i].proto)) continue;
        return &caps[i];
    }
    return NULL;
}

/* ---- the answer ----------------------------------------------------------------------------- */

static void reject(floe_sdp_media *am, const floe_sdp_media *om) {
    am->port = 0;
    am->n_fmt = om->n_fmt;
    memcpy(am->fmt, om->fmt, sizeof(am->fmt[0]) * om->n_fmt);
    am->attrs.n = 0;
}

int floe_sdp_answer_build(const floe_sdp *offer, const floe_sdp_caps *caps, size_t n_caps,
                          floe_sdp *answer, floe_sdp_error *err) {
    if (err) {
        err->line = 0;
        err->reason = NULL;
    }
    if (!offer || !answer || (!caps && n_caps) || offer->n_media > FLOE_SDP_MAX_MEDIA)
        return FLOE_ERR_INVAL;
    answer->n_media = 0;
    for (size_t i = 0; i < offer->n_media; i++) {
        const floe_sdp_media *om = &offer->media[i];
        floe_sdp_media *am = &answer->media[i];
        memset(am, 0, sizeof(*am));
        am->media = om->media;
        am->proto = om->proto;
        am->conn.ttl = -1;
        if (om->n_fmt > FLOE_SDP_MAX_FORMATS) return FLOE_ERR_INVAL;

        const floe_sdp_caps *c = find_caps(om, caps, n_caps);
        /* RFC 3264 §6: a stream offered with port 0 is answered with port 0. */
        if (!c || om->port == 0) {
            reject(am, om);
            continue;
        }
        if (c->port == 0) {
            if (err) {
                err->line = om->line;
                err->reason = "answerer capabilities give port 0 for an accepted stream";
            }
            return FLOE_ERR_INVAL;
        }
        for (size_t k = 0; k < om->n_fmt; k++) {
            if (!fmt_supported(om, om->fmt[k], c)) continue;
            am->fmt[am->n_fmt++] = om->fmt[k];
            for (size_t j = 0; j < om->attrs.n && j < FLOE_SDP_MAX_ATTRS; j++)
                if (attr_for_fmt(&om->attrs.a[j], om->fmt[k]) &&
                    am->attrs.n < FLOE_SDP_MAX_ATTRS - 1)
                    am->attrs.a[am->attrs.n++] = om->attrs.a[j];
        }
        /* RFC 3264 §6: no common format rejects the stream. */
        if (am->n_fmt == 0) {
            reject(am, om);
            continue;
        }
        am->port = c->port;
        /* RFC 3264 §6.1: we send only what the offerer receives, and receive only what
         * it sends, within what we are willing to do. */
        unsigned od = floe_sdp_media_dir(offer, i), want = c->dir;
        floe_sdp_dir d = (floe_sdp_dir)((((od & FLOE_SDP_RECVONLY) ? FLOE_SDP_SENDONLY : 0) |
                                         ((od & FLOE_SDP_SENDONLY) ? FLOE_SDP_RECVONLY : 0)) &
                                        want);
        floe_sdp_attr *a = &am->attrs.a[am->attrs.n++];
        a->name = floe_sdp_str_c(floe_sdp_dir_name(d));
        a->value.p = NULL;
        a->value.len = 0;
        a->line = 0;
    }
    answer->n_media = offer->n_media;
    return FLOE_OK;
}
