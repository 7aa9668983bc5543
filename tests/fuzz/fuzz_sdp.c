/* libFuzzer target for src/sdp/: the RFC 8866 parser and printer, the RFC 8839 reader
 * and the RFC 3264 answer builder.
 *
 * Whatever parses must: keep every slice inside the input and every count within its
 * cap; print without error; parse back to an equal description whose printed text is
 * the same bytes (the printer's output is a fixed point). The ICE reader runs on every
 * media section of both and must agree on both; an answer built from the description
 * must print and parse back with as many m= sections. Any violation aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "floe/sdp_ice.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

/* Large objects live outside the stack. */
static floe_sdp first, second, answer, third;
static floe_sdp_ice_media ice1, ice2;
static char text1[3 * FLOE_SDP_MAX_LEN], text2[3 * FLOE_SDP_MAX_LEN];

static const char *base;
static size_t base_len;

static void check_slice(floe_sdp_str s) {
    if (!s.p) {
        CHECK(s.len == 0);
        return;
    }
    CHECK(s.p >= base && s.len <= base_len && (size_t)(s.p - base) <= base_len - s.len);
    CHECK(memchr(s.p, '\n', s.len) == NULL && memchr(s.p, '\0', s.len) == NULL);
}

static void check_attrs(const floe_sdp_attrs *l) {
    CHECK(l->n <= FLOE_SDP_MAX_ATTRS);
    for (size_t i = 0; i < l->n; i++) {
        CHECK(l->a[i].name.p && l->a[i].name.len > 0 && l->a[i].line > 0);
        check_slice(l->a[i].name);
        check_slice(l->a[i].value);
    }
}

static void check_conn(const floe_sdp_conn *c) {
    if (!c->present) return;
    check_slice(c->nettype);
    check_slice(c->addrtype);
    check_slice(c->address);
    CHECK(c->ttl >= -1 && c->ttl <= 255 && c->n_addrs <= 65535);
}

static void check_view(const floe_sdp *s, const char *text, size_t len) {
    base = text;
    base_len = len;
    CHECK(s->version == 0);
    check_slice(s->origin.username);
    check_slice(s->origin.sess_id);
    check_slice(s->origin.address);
    check_slice(s->name);
    check_slice(s->info);
    check_slice(s->uri);
    check_slice(s->zone);
    check_slice(s->key);
    CHECK(s->n_email <= FLOE_SDP_MAX_CONTACTS && s->n_phone <= FLOE_SDP_MAX_CONTACTS);
    CHECK(s->n_bw <= FLOE_SDP_MAX_BW);
    CHECK(s->n_time >= 1 && s->n_time <= FLOE_SDP_MAX_TIMES);
    for (size_t i = 0; i < s->n_time; i++) {
        CHECK(s->time[i].n_repeats <= FLOE_SDP_MAX_REPEATS);
        for (size_t k = 0; k < s->time[i].n_repeats; k++)
            check_slice(s->time[i].repeat[k]);
    }
    check_conn(&s->conn);
    check_attrs(&s->attrs);
    CHECK(s->n_media <= FLOE_SDP_MAX_MEDIA);
    for (size_t i = 0; i < s->n_media; i++) {
        const floe_sdp_media *m = &s->media[i];
        CHECK(m->n_fmt >= 1 && m->n_fmt <= FLOE_SDP_MAX_FORMATS);
        CHECK(m->n_bw <= FLOE_SDP_MAX_BW);
        CHECK(m->conn.present || s->conn.present);
        check_slice(m->media);
        check_slice(m->proto);
        for (size_t k = 0; k < m->n_fmt; k++)
            check_slice(m->fmt[k]);
        check_conn(&m->conn);
        check_attrs(&m->attrs);
    }
}

static void check_ice(const floe_sdp_ice_media *m) {
    CHECK(m->n_cands <= FLOE_SDP_ICE_MAX_CANDIDATES && m->n_remote <= FLOE_SDP_ICE_MAX_REMOTE);
    if (m->ice) {
        size_t u = strlen(m->ufrag), p = strlen(m->pwd);
        CHECK(u >= FLOE_SDP_ICE_UFRAG_MIN && u <= FLOE_SDP_ICE_UFRAG_MAX);
        CHECK(p >= FLOE_SDP_ICE_PWD_MIN && p <= FLOE_SDP_ICE_PWD_MAX);
    } else {
        CHECK(m->n_cands == 0 && !m->mismatch);
    }
    for (size_t i = 0; i < m->n_cands; i++) {
        char line[FLOE_SDP_CANDIDATE_STRLEN];
        CHECK(floe_sdp_candidate_print(&m->cands[i], line, sizeof line) > 0);
    }
    if (m->mismatch) CHECK(!m->default_placeholder && !m->default_fqdn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    floe_sdp_error e;
    int rc = floe_sdp_parse(text, size, &first, &e, NULL);
    if (rc != FLOE_OK) {
        CHECK(rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_LIMIT);
        CHECK(e.reason != NULL && e.line >= 0);
        return 0;
    }
    check_view(&first, text, size);

    size_t n1, n2;
    rc = floe_sdp_print(&first, text1, sizeof text1, &n1, &e);
    CHECK(rc == FLOE_OK && n1 == strlen(text1));
    /* CRLF line ends can push an LF-only input over the cap: nothing to compare then. */
    if (n1 > FLOE_SDP_MAX_LEN) return 0;
    rc = floe_sdp_parse(text1, n1, &second, &e, NULL);
    CHECK(rc == FLOE_OK);
    check_view(&second, text1, n1);
    CHECK(floe_sdp_equal(&first, &second) && floe_sdp_equal(&second, &first));
    rc = floe_sdp_print(&second, text2, sizeof text2, &n2, &e);
    CHECK(rc == FLOE_OK && n1 == n2 && memcmp(text1, text2, n1) == 0);

    /* A short buffer fails cleanly and keeps a terminated prefix. */
    if (n1 > 1) {
        size_t cap = n1 / 2 + 1;
        CHECK(floe_sdp_print(&first, text2, cap, NULL, &e) == FLOE_ERR_NOSPACE);
        CHECK(strlen(text2) == cap - 1 && memcmp(text1, text2, cap - 1) == 0);
    }

    /* The ICE reader sees the same thing in both. */
    for (size_t i = 0; i < first.n_media; i++) {
        floe_sdp_ice_stats st = {0};
        int r1 = floe_sdp_ice_media_parse(&first, i, &ice1, &st, &e);
        CHECK(r1 == FLOE_OK || r1 == FLOE_ERR_MALFORMED || r1 == FLOE_ERR_LIMIT);
        if (r1 != FLOE_OK) CHECK(e.reason != NULL);
        int r2 = floe_sdp_ice_media_parse(&second, i, &ice2, NULL, &e);
        CHECK(r1 == r2);
        if (r1 != FLOE_OK) continue;
        check_ice(&ice1);
        CHECK(ice1.n_cands == ice2.n_cands && ice1.mismatch == ice2.mismatch &&
              ice1.ice == ice2.ice && strcmp(ice1.ufrag, ice2.ufrag) == 0);
        CHECK(st.media_parsed == 1 && st.cand_ok == ice1.n_cands);
        CHECK(st.cand_unsupported == ice1.n_skipped);
    }

    /* An answer to it prints and parses back. */
    static const char *const audio[] = {"PCMU/8000", "8", "telephone-event/8000", "opus"};
    static const char *const video[] = {"H264/90000", "VP8"};
    const floe_sdp_caps caps[] = {
        {"audio", NULL, audio, 4, 4000, FLOE_SDP_SENDRECV},
        {"video", "RTP/AVP", video, 2, 4002, FLOE_SDP_RECVONLY},
    };
    floe_sdp_init(&answer);
    floe_addr a;
    floe_addr_set_v4(&a, 0xc0000201u, 0);
    floe_sdp_conn_set(&answer.conn, &a);
    char arena_buf[128];
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, arena_buf, sizeof arena_buf);
    CHECK(floe_sdp_origin_set(&answer, "floe", 1, 2, &a, &ar) == FLOE_OK);
    CHECK(floe_sdp_answer_build(&first, caps, 2, &answer, &e) == FLOE_OK);
    CHECK(answer.n_media == first.n_media);
    rc = floe_sdp_print(&answer, text2, sizeof text2, &n2, &e);
    CHECK(rc == FLOE_OK);
    if (n2 <= FLOE_SDP_MAX_LEN) {
        CHECK(floe_sdp_parse(text2, n2, &third, &e, NULL) == FLOE_OK);
        CHECK(third.n_media == first.n_media);
        for (size_t i = 0; i < first.n_media; i++) {
            if (first.media[i].port == 0) CHECK(third.media[i].port == 0);
            CHECK(third.media[i].n_fmt >= 1);
        }
    }
    return 0;
}
