/* SIP message parser (RFC 3261 §7): start line, header fields with folding, the checks
 * every message must pass, and the body framed by Content-Length (§18.3). One pass over
 * the lines, slices into the input, no allocation, every list capped. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

typedef struct parser {
    floe_sip_msg *out;
    unsigned flags;
    floe_sip_reason reason;
    const char *detail;
    int line;
    floe_sip_str header;
    size_t trailing;
} parser;

static int fail(parser *ps, int code, floe_sip_reason r, const char *detail) {
    ps->reason = r;
    ps->detail = detail;
    return code;
}
#define MALFORMED(ps, r, why) fail((ps), FLOE_ERR_MALFORMED, (r), (why))

/* ---- start line ------------------------------------------------------------------------- */

/* "SIP/2.0" in any case is ours; "SIP/x.y" is a version we do not speak (505). */
static int check_version(parser *ps, const char *p, size_t n) {
    if (sip_ieq(p, n, "SIP/2.0")) return FLOE_OK;
    if (n > 4 && sip_ieq(p, 4, "SIP/")) {
        size_t i = 4, d1 = 0, d2 = 0;
        while (i < n && sip_is_digit((unsigned char)p[i]))
            i++, d1++;
        if (i < n && p[i] == '.') {
            i++;
            while (i < n && sip_is_digit((unsigned char)p[i]))
                i++, d2++;
            if (i == n && d1 && d2)
                return fail(ps, FLOE_ERR_UNSUPPORTED, FLOE_SIP_R_VERSION,
                            "SIP version other than 2.0");
        }
    }
    return MALFORMED(ps, FLOE_SIP_R_START_LINE, "no SIP version where the start line needs one");
}

static int parse_status_line(parser *ps, const char *p, size_t n) {
    floe_sip_msg *m = ps->out;
    const char *sp = memchr(p, ' ', n);
    if (!sp) return MALFORMED(ps, FLOE_SIP_R_START_LINE, "status line without a status code");
    int rc = check_version(ps, p, (size_t)(sp - p));
    if (rc != FLOE_OK) return rc;
    const char *c = sp + 1, *end = p + n;
    if (c < end && *c == ' ')
        return MALFORMED(ps, FLOE_SIP_R_START_LINE_SPACE, "more than one SP after the version");
    size_t digits = 0;
    while (c + digits < end && sip_is_digit((unsigned char)c[digits]))
        digits++;
    if (digits != 3 || (c + 3 < end && c[3] != ' '))
        return MALFORMED(ps, FLOE_SIP_R_STATUS_CODE, "status code is not three digits");
    unsigned code = (unsigned)((c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0'));
    if (code < 100 || code > 699)
        return MALFORMED(ps, FLOE_SIP_R_STATUS_CODE, "status code outside 100..699");
    m->status = code;
    /* Reason-Phrase may be empty, and a liberal reader takes a missing SP (RFC 4475
     * §3.1.1.13). */
    const char *r = c + 3 < end ? c + 4 : end;
    m->reason = sip_str(r, (size_t)(end - r));
    for (size_t i = 0; i < m->reason.len; i++)
        if (sip_is_ctl((unsigned char)r[i]) || r[i] == '\r' || r[i] == '\n')
            return MALFORMED(ps, FLOE_SIP_R_START_LINE, "control character in the reason phrase");
    m->request = false;
    return FLOE_OK;
}

static int parse_request_line(parser *ps, const char *p, size_t n) {
    floe_sip_msg *m = ps->out;
    if (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        return MALFORMED(ps, FLOE_SIP_R_START_LINE_SPACE,
                         "whitespace at the end of the request line");
    const char *sp1 = memchr(p, ' ', n);
    const char *sp2 = NULL;
    for (size_t i = n; i > 0; i--)
        if (p[i - 1] == ' ') {
            sp2 = p + i - 1;
            break;
        }
    if (!sp1 || sp1 == sp2)
        return MALFORMED(ps, FLOE_SIP_R_START_LINE, "request line is not Method SP URI SP Version");
    m->method = sip_str(p, (size_t)(sp1 - p));
    if (!sip_token(m->method.p, m->method.len))
        return MALFORMED(ps, FLOE_SIP_R_METHOD, "method is not a token");
    int rc = check_version(ps, sp2 + 1, (size_t)(p + n - sp2 - 1));
    if (rc != FLOE_OK) return rc;
    m->uri = sip_str(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    if (m->uri.len == 0 || m->uri.p[0] == ' ' || m->uri.p[m->uri.len - 1] == ' ')
        return MALFORMED(ps, FLOE_SIP_R_START_LINE_SPACE,
                         "more than one SP between request line elements");
    for (size_t i = 0; i < m->uri.len; i++)
        if (m->uri.p[i] == ' ' || m->uri.p[i] == '\t')
            return MALFORMED(ps, FLOE_SIP_R_REQUEST_URI, "whitespace inside the Request-URI");
    floe_sip_uri u;
    rc = floe_sip_uri_parse(m->uri.p, m->uri.len, &u);
    if (rc == FLOE_ERR_LIMIT) return fail(ps, rc, FLOE_SIP_R_TOO_LONG, "Request-URI too long");
    if (rc != FLOE_OK) return MALFORMED(ps, FLOE_SIP_R_REQUEST_URI, "Request-URI is not a URI");
    if (u.scheme != FLOE_SIP_SCHEME_OTHER && u.headers.p)
        return MALFORMED(ps, FLOE_SIP_R_REQUEST_URI,
                         "headers in a SIP Request-URI (RFC 3261 §19.1.1)");
    m->method_id = floe_sip_method_id(m->method);
    m->request = true;
    return FLOE_OK;
}

static int parse_start_line(parser *ps, const char *p, size_t n) {
    if (n > FLOE_SIP_MAX_START_LINE)
        return fail(ps, FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_LONG,
                    "start line over FLOE_SIP_MAX_START_LINE");
    if (n >= 4 && sip_ieq(p, 4, "SIP/")) return parse_status_line(ps, p, n);
    return parse_request_line(ps, p, n);
}

/* ---- header section --------------------------------------------------------------------- */

/* Trims and stores the value of the header field being read, checking its size. */
static int close_header(parser *ps, const char *name_start, const char *value_start,
                        const char *end) {
    floe_sip_hdr *h = &ps->out->hdr[ps->out->n_hdr - 1];
    if ((size_t)(end - name_start) > FLOE_SIP_MAX_HEADER_LEN) {
        ps->line = h->line;
        ps->header = h->name;
        return fail(ps, FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_LONG,
                    "header field over FLOE_SIP_MAX_HEADER_LEN");
    }
    h->value = sip_trim(sip_str(value_start, (size_t)(end - value_start)));
    return FLOE_OK;
}

/* Splits the header section into fields. On success *body_at is the first byte after the
 * empty line. */
static int parse_headers(parser *ps, const char *p, size_t len, size_t pos, size_t *body_at) {
    floe_sip_msg *m = ps->out;
    const char *name_start = NULL, *value_start = NULL, *value_end = NULL;
    for (;;) {
        if (pos >= len)
            return fail(ps, FLOE_ERR_TRUNCATED, FLOE_SIP_R_NO_HEADER_END,
                        "the message ends inside the header section");
        const char *line = p + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (!nl)
            return fail(ps, FLOE_ERR_TRUNCATED, FLOE_SIP_R_NO_HEADER_END,
                        "the message ends inside the header section");
        size_t n = (size_t)(nl - line);
        if (n > 0 && line[n - 1] == '\r') n--;
        pos = (size_t)(nl - p) + 1;
        ps->line++;
        if (memchr(line, '\r', n))
            return MALFORMED(ps, FLOE_SIP_R_HEADER_LINE, "CR without LF in the header section");
        if (n == 0) break;
        if (line[0] == ' ' || line[0] == '\t') {
            /* folding: the line continues the field before it */
            if (!name_start)
                return MALFORMED(ps, FLOE_SIP_R_HEADER_LINE,
                                 "continuation line before the first header field");
            value_end = line + n;
            if ((size_t)(value_end - name_start) > FLOE_SIP_MAX_HEADER_LEN)
                return close_header(ps, name_start, value_start, value_end);
            continue;
        }
        if (name_start) {
            int rc = close_header(ps, name_start, value_start, value_end);
            if (rc != FLOE_OK) return rc;
        }
        if (m->n_hdr >= FLOE_SIP_MAX_HEADERS)
            return fail(ps, FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_MANY_HEADERS,
                        "more than FLOE_SIP_MAX_HEADERS header fields");
        /* header-name HCOLON: a token, optional SP/HTAB, ':' */
        size_t i = 0;
        while (i < n && sip_is_token_char((unsigned char)line[i]))
            i++;
        size_t name_len = i;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (name_len == 0 || i >= n || line[i] != ':')
            return MALFORMED(ps, FLOE_SIP_R_HEADER_LINE, "header line is not name: value");
        floe_sip_hdr *h = &m->hdr[m->n_hdr++];
        h->name = sip_str(line, name_len);
        h->id = floe_sip_hdr_lookup(h->name);
        h->line = ps->line;
        name_start = line;
        value_start = line + i + 1;
        value_end = line + n;
    }
    if (name_start) {
        int rc = close_header(ps, name_start, value_start, value_end);
        if (rc != FLOE_OK) return rc;
    }
    *body_at = pos;
    return FLOE_OK;
}

/* ---- message-wide checks ------------------------------------------------------------------- */

static int check_headers(parser *ps) {
    floe_sip_msg *m = ps->out;
    unsigned seen[FLOE_SIP_H_COUNT] = {0};
    for (size_t i = 0; i < m->n_hdr; i++) {
        const floe_sip_hdr *h = &m->hdr[i];
        ps->line = h->line;
        ps->header = h->name;
        if (sip_hdr_is_single(h->id) && seen[h->id]++)
            return MALFORMED(ps, FLOE_SIP_R_DUPLICATE_HEADER,
                             "header field that may appear once appears again");
        const char *why = NULL;
        floe_sip_reason r = sip_check_value(h->id, h->value, &why);
        if (r != FLOE_SIP_R_NONE) return MALFORMED(ps, r, why);
    }
    ps->line = 0;
    ps->header = sip_str(NULL, 0);
    /* Contact '*' stands alone across fields too (RFC 3261 §10.2.2). */
    floe_sip_iter it = {0, 0};
    floe_sip_addr a;
    bool star = false;
    while (floe_sip_msg_next_addr(m, FLOE_SIP_H_CONTACT, &it, &a) == FLOE_OK)
        star |= a.star;
    if (star && floe_sip_msg_count(m, FLOE_SIP_H_CONTACT) > 1)
        return MALFORMED(ps, FLOE_SIP_R_ADDRESS, "Contact '*' with other values");

    /* RFC 3261 §8.1.1 and §8.2.6.2: what a request or response cannot do without. Max-
     * Forwards is left out: RFC 2543 peers omit it and §16.3 lets that pass. */
    static const floe_sip_hdr_id required[] = {FLOE_SIP_H_VIA, FLOE_SIP_H_FROM, FLOE_SIP_H_TO,
                                               FLOE_SIP_H_CALL_ID, FLOE_SIP_H_CSEQ};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!floe_sip_msg_find(m, required[i], NULL)) {
            ps->header = floe_sip_str_c(floe_sip_hdr_name(required[i]));
            return MALFORMED(ps, FLOE_SIP_R_MISSING_HEADER, "a required header field is missing");
        }
    }
    if (m->request) {
        floe_sip_cseq c;
        const floe_sip_hdr *h = floe_sip_msg_find(m, FLOE_SIP_H_CSEQ, NULL);
        floe_sip_cseq_parse(h->value, &c);
        if (c.method.len != m->method.len || memcmp(c.method.p, m->method.p, c.method.len)) {
            ps->line = h->line;
            ps->header = h->name;
            return MALFORMED(ps, FLOE_SIP_R_CSEQ_METHOD, "CSeq method is not the request method");
        }
    }
    return FLOE_OK;
}

static int frame_body(parser *ps, const char *p, size_t len, size_t at) {
    floe_sip_msg *m = ps->out;
    size_t avail = len - at;
    const floe_sip_hdr *cl = floe_sip_msg_find(m, FLOE_SIP_H_CONTENT_LENGTH, NULL);
    if (!cl) {
        if (ps->flags & FLOE_SIP_PARSE_STREAM)
            return MALFORMED(ps, FLOE_SIP_R_NO_CONTENT_LENGTH,
                             "no Content-Length in a message from a stream");
        /* RFC 3261 §18.3: over a datagram the body ends with the datagram. */
        m->body = sip_str(p + at, avail);
        return FLOE_OK;
    }
    uint64_t n = 0;
    sip_u64(cl->value.p, cl->value.len, UINT32_MAX, &n);
    if (n > FLOE_SIP_MAX_MSG_LEN) {
        ps->line = cl->line;
        ps->header = cl->name;
        return fail(ps, FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_LONG,
                    "Content-Length over FLOE_SIP_MAX_MSG_LEN");
    }
    if (n > avail) {
        ps->line = cl->line;
        ps->header = cl->name;
        return fail(ps, FLOE_ERR_TRUNCATED, FLOE_SIP_R_BODY_TRUNCATED,
                    "fewer body bytes than Content-Length");
    }
    m->body = sip_str(p + at, (size_t)n);
    ps->trailing = avail - (size_t)n;
    return FLOE_OK;
}

static int parse_all(parser *ps, const char *p, size_t len) {
    if (len > FLOE_SIP_MAX_MSG_LEN)
        return fail(ps, FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_LONG, "message over FLOE_SIP_MAX_MSG_LEN");
    size_t pos = 0;
    /* RFC 3261 §7.5: CRLFs before the start line are ignored. */
    while (pos < len && (p[pos] == '\r' || p[pos] == '\n'))
        pos++;
    if (pos == len) return MALFORMED(ps, FLOE_SIP_R_EMPTY, "no message, only line ends");
    const char *line = p + pos;
    const char *nl = memchr(line, '\n', len - pos);
    if (!nl)
        return fail(ps, FLOE_ERR_TRUNCATED, FLOE_SIP_R_NO_HEADER_END,
                    "the message ends inside the start line");
    size_t n = (size_t)(nl - line);
    if (n > 0 && line[n - 1] == '\r') n--;
    ps->line = 1;
    if (memchr(line, '\r', n))
        return MALFORMED(ps, FLOE_SIP_R_START_LINE, "CR without LF in the start line");
    int rc = parse_start_line(ps, line, n);
    if (rc != FLOE_OK) return rc;
    size_t body_at = 0;
    rc = parse_headers(ps, p, len, (size_t)(nl - p) + 1, &body_at);
    if (rc != FLOE_OK) return rc;
    rc = check_headers(ps);
    if (rc != FLOE_OK) return rc;
    return frame_body(ps, p, len, body_at);
}

int floe_sip_parse(const char *p, size_t len, unsigned flags, floe_sip_msg *out,
                   floe_sip_error *err, floe_sip_stats *stats) {
    if (err) memset(err, 0, sizeof *err);
    if (!out || (!p && len)) {
        if (err) err->detail = "no input or no output";
        return FLOE_ERR_INVAL;
    }
    memset(out, 0, sizeof *out);
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.out = out;
    ps.flags = flags;
    int rc = parse_all(&ps, p ? p : "", len);
    if (rc != FLOE_OK) {
        if (err) {
            err->reason = ps.reason;
            err->line = ps.line;
            err->header = ps.header;
            err->detail = ps.detail;
        }
        if (stats && ps.reason < FLOE_SIP_R_COUNT) stats->rejected[ps.reason]++;
        return rc;
    }
    if (stats) {
        stats->parsed++;
        if (ps.trailing) {
            stats->trailing_msgs++;
            stats->trailing_bytes += ps.trailing;
        }
    }
    return FLOE_OK;
}
