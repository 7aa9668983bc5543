/* libFuzzer target for src/sip/: the message parser, every typed reader, the URI parser
 * and comparison, stream framing, and the printer.
 *
 * The input is parsed as a datagram. Invariants (abort() when broken):
 *   - a rejection has a reason other than NONE, a detail, and one of the four codes;
 *   - a parsed message keeps every slice inside the input and every count within its
 *     cap; header ids match their names; values carry no whitespace at their ends;
 *   - every value of every header field floe knows reads back with its typed reader
 *     (the parser checked them all), and the Request-URI parses;
 *   - the message prints, the print parses as a stream message equal to the first
 *     (floe_sip_msg_equal) with the same typed fields (top Via, tags, Call-ID, CSeq,
 *     Max-Forwards, value counts, body), and printing that gives the same bytes;
 *   - floe_sip_frame_len on the print finds exactly its length. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static floe_sip_msg first, second;
static char text1[2 * FLOE_SIP_MAX_MSG_LEN], text2[2 * FLOE_SIP_MAX_MSG_LEN];

static const char *base;
static size_t base_len;

static void check_slice(floe_sip_str s) {
    if (!s.p) {
        CHECK(s.len == 0);
        return;
    }
    CHECK(s.p >= base && s.len <= base_len && (size_t)(s.p - base) <= base_len - s.len);
}

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_uri(floe_sip_str text) {
    floe_sip_uri u, v;
    CHECK(floe_sip_uri_parse(text.p, text.len, &u) == FLOE_OK);
    CHECK(floe_sip_uri_equal(&u, &u));
    char buf[FLOE_SIP_URI_MAX_LEN + 16];
    size_t n;
    int rc = floe_sip_uri_print(&u, buf, sizeof buf, &n);
    CHECK(rc == FLOE_OK);
    CHECK(floe_sip_uri_parse(buf, n, &v) == FLOE_OK);
    CHECK(floe_sip_uri_equal(&u, &v) && floe_sip_uri_equal(&v, &u));
}

/* Reads every known field of m with its typed reader. */
static void read_all(const floe_sip_msg *m) {
    for (int id = 1; id < FLOE_SIP_H_COUNT; id++) {
        floe_sip_iter it = {0, 0};
        floe_sip_str v;
        while (floe_sip_msg_next_value(m, (floe_sip_hdr_id)id, &it, &v) == FLOE_OK) {
            switch (id) {
            case FLOE_SIP_H_VIA: {
                floe_sip_via via;
                CHECK(floe_sip_via_parse(v, &via) == FLOE_OK);
                CHECK(via.host.len > 0 && via.rport_port >= -1 && via.rport_port <= 65535);
                break;
            }
            case FLOE_SIP_H_FROM:
            case FLOE_SIP_H_TO:
            case FLOE_SIP_H_CONTACT:
            case FLOE_SIP_H_ROUTE:
            case FLOE_SIP_H_RECORD_ROUTE:
            case FLOE_SIP_H_REPLY_TO: {
                floe_sip_addr a;
                CHECK(floe_sip_addr_parse(v, &a) == FLOE_OK);
                if (!a.star) check_uri(a.uri);
                CHECK(a.expires >= -2 && a.expires <= (int64_t)UINT32_MAX);
                char buf[FLOE_SIP_MAX_HEADER_LEN];
                size_t n;
                if (a.display_quoted)
                    CHECK(floe_sip_unquote(a.display, buf, sizeof buf, &n) == FLOE_OK &&
                          n <= a.display.len);
                break;
            }
            case FLOE_SIP_H_CSEQ: {
                floe_sip_cseq c;
                CHECK(floe_sip_cseq_parse(v, &c) == FLOE_OK);
                break;
            }
            case FLOE_SIP_H_CONTENT_TYPE: {
                floe_sip_media_type t;
                CHECK(floe_sip_media_type_parse(v, &t) == FLOE_OK);
                break;
            }
            case FLOE_SIP_H_RACK: {
                floe_sip_rack r;
                CHECK(floe_sip_rack_parse(v, &r) == FLOE_OK && r.rseq > 0);
                break;
            }
            case FLOE_SIP_H_WWW_AUTHENTICATE:
            case FLOE_SIP_H_PROXY_AUTHENTICATE:
            case FLOE_SIP_H_AUTHORIZATION:
            case FLOE_SIP_H_PROXY_AUTHORIZATION: {
                floe_sip_auth a;
                CHECK(floe_sip_auth_parse(v, &a) == FLOE_OK);
                CHECK(a.alg <= FLOE_SIP_ALG_OTHER);
                break;
            }
            default: break;
            }
        }
    }
    floe_sip_str cid;
    CHECK(floe_sip_msg_call_id(m, &cid) == FLOE_OK);
    int mf = floe_sip_msg_max_forwards(m);
    CHECK(mf >= -1 && mf <= 255);
    int64_t cl = floe_sip_msg_content_length(m);
    CHECK(cl == -1 || (uint64_t)cl == m->body.len);
    floe_sip_tokens t;
    int rc = floe_sip_msg_tokens(m, FLOE_SIP_H_SUPPORTED, &t);
    CHECK(rc == FLOE_OK || rc == FLOE_ERR_NOT_FOUND);
    CHECK(t.n <= FLOE_SIP_MAX_TOKENS);
    uint32_t u32;
    rc = floe_sip_msg_rseq(m, &u32);
    CHECK(rc == FLOE_OK || rc == FLOE_ERR_NOT_FOUND);
    rc = floe_sip_msg_expires(m, FLOE_SIP_H_EXPIRES, &u32);
    CHECK(rc == FLOE_OK || rc == FLOE_ERR_NOT_FOUND || rc == FLOE_ERR_MALFORMED);
    if (m->request) check_uri(m->uri);
}

static void check_view(const floe_sip_msg *m, const char *text, size_t len) {
    base = text;
    base_len = len;
    CHECK(m->n_hdr <= FLOE_SIP_MAX_HEADERS);
    if (m->request) {
        check_slice(m->method);
        check_slice(m->uri);
    } else {
        CHECK(m->status >= 100 && m->status <= 699);
        check_slice(m->reason);
    }
    for (size_t i = 0; i < m->n_hdr; i++) {
        const floe_sip_hdr *h = &m->hdr[i];
        check_slice(h->name);
        check_slice(h->value);
        CHECK(h->name.len > 0 && h->id == floe_sip_hdr_lookup(h->name));
        CHECK(h->value.len <= FLOE_SIP_MAX_HEADER_LEN);
        if (h->value.len) CHECK(!is_ws(h->value.p[0]) && !is_ws(h->value.p[h->value.len - 1]));
    }
    check_slice(m->body);
    CHECK(floe_sip_msg_count(m, FLOE_SIP_H_VIA) >= 1);
}

/* The typed fields both parses must agree on. */
static void same_fields(const floe_sip_msg *a, const floe_sip_msg *b) {
    floe_sip_via va, vb;
    CHECK(floe_sip_msg_top_via(a, &va) == FLOE_OK && floe_sip_msg_top_via(b, &vb) == FLOE_OK);
    CHECK(va.port == vb.port && va.rport == vb.rport && va.rport_port == vb.rport_port);
    CHECK(va.branch.len == vb.branch.len &&
          (!va.branch.len || !memcmp(va.branch.p, vb.branch.p, va.branch.len)));
    floe_sip_addr fa, fb;
    CHECK(floe_sip_msg_from(a, &fa) == FLOE_OK && floe_sip_msg_from(b, &fb) == FLOE_OK);
    CHECK(fa.tag.len == fb.tag.len && (!fa.tag.len || !memcmp(fa.tag.p, fb.tag.p, fa.tag.len)));
    CHECK(floe_sip_msg_to(a, &fa) == FLOE_OK && floe_sip_msg_to(b, &fb) == FLOE_OK);
    CHECK(fa.tag.len == fb.tag.len && fa.uri.len == fb.uri.len);
    floe_sip_cseq ca, cb;
    CHECK(floe_sip_msg_cseq(a, &ca) == FLOE_OK && floe_sip_msg_cseq(b, &cb) == FLOE_OK);
    CHECK(ca.seq == cb.seq && ca.method_id == cb.method_id);
    floe_sip_str ia, ib;
    CHECK(floe_sip_msg_call_id(a, &ia) == FLOE_OK && floe_sip_msg_call_id(b, &ib) == FLOE_OK);
    CHECK(ia.len == ib.len && !memcmp(ia.p, ib.p, ia.len));
    CHECK(floe_sip_msg_max_forwards(a) == floe_sip_msg_max_forwards(b));
    static const floe_sip_hdr_id lists[] = {
        FLOE_SIP_H_VIA,       FLOE_SIP_H_CONTACT, FLOE_SIP_H_ROUTE, FLOE_SIP_H_RECORD_ROUTE,
        FLOE_SIP_H_SUPPORTED, FLOE_SIP_H_REQUIRE, FLOE_SIP_H_ALLOW};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        CHECK(floe_sip_msg_count(a, lists[i]) == floe_sip_msg_count(b, lists[i]));
    CHECK(a->body.len == b->body.len &&
          (!a->body.len || !memcmp(a->body.p, b->body.p, a->body.len)));
    CHECK(a->request == b->request && a->method_id == b->method_id && a->status == b->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    floe_sip_error e;
    floe_sip_stats st;
    memset(&st, 0, sizeof st);
    int rc = floe_sip_parse(text, size, 0, &first, &e, &st);
    size_t flen;
    bool ka;
    int frc = floe_sip_frame_len(text, size, &flen, &ka);
    CHECK(frc == FLOE_OK || frc == FLOE_ERR_TRUNCATED || frc == FLOE_ERR_MALFORMED ||
          frc == FLOE_ERR_LIMIT);
    if (frc == FLOE_OK) CHECK(flen > 0 && flen <= size);
    if (rc != FLOE_OK) {
        CHECK(rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_LIMIT || rc == FLOE_ERR_TRUNCATED ||
              rc == FLOE_ERR_UNSUPPORTED);
        CHECK(e.reason > FLOE_SIP_R_NONE && e.reason < FLOE_SIP_R_COUNT && e.detail != NULL);
        CHECK(st.rejected[e.reason] == 1 && st.parsed == 0);
        return 0;
    }
    CHECK(st.parsed == 1);
    check_view(&first, text, size);
    read_all(&first);

    size_t n1, n2;
    rc = floe_sip_msg_print(&first, text1, sizeof text1, &n1);
    CHECK(rc == FLOE_OK);
    if (n1 > FLOE_SIP_MAX_MSG_LEN) return 0; /* "name: " spaces can push it over the cap */
    CHECK(floe_sip_frame_len(text1, n1, &flen, &ka) == FLOE_OK && flen == n1 && !ka);
    rc = floe_sip_parse(text1, n1, FLOE_SIP_PARSE_STREAM, &second, &e, NULL);
    if (rc != FLOE_OK) {
        fprintf(stderr, "re-parse failed: %s (%s) line %d\n", floe_sip_reason_name(e.reason),
                e.detail, e.line);
        CHECK(rc == FLOE_OK);
    }
    check_view(&second, text1, n1);
    CHECK(floe_sip_msg_equal(&first, &second) && floe_sip_msg_equal(&second, &first));
    same_fields(&first, &second);
    rc = floe_sip_msg_print(&second, text2, sizeof text2, &n2);
    CHECK(rc == FLOE_OK && n1 == n2 && memcmp(text1, text2, n1) == 0);

    /* a short buffer fails cleanly with a terminated prefix */
    if (n1 > 1) {
        size_t cap = n1 / 2 + 1;
        CHECK(floe_sip_msg_print(&first, text2, cap, NULL) == FLOE_ERR_NOSPACE);
        CHECK(memcmp(text1, text2, cap - 1) == 0 && text2[cap - 1] == '\0');
    }
    return 0;
}
