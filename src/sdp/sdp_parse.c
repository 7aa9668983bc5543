/* SDP parser (RFC 8866): one pass over the lines, an order check, a value check per
 * line type, slices into the input. No allocation, every list capped. */
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "sdp/sdp_internal.h"

/* Where a line may appear: its rank must not decrease along the description (RFC 8866
 * §5). t=, r= and z= share a rank (the time block, whose inner order is checked apart);
 * media lines rank above every session line. */
enum rank {
    R_V,
    R_O,
    R_S,
    R_I,
    R_U,
    R_E,
    R_P,
    R_C,
    R_B,
    R_T,
    R_K,
    R_A,
    R_M,
    R_MI,
    R_MC,
    R_MB,
    R_MK,
    R_MA,
};

typedef struct parser {
    floe_sdp *out;
    int line;           /* current line number */
    const char *reason; /* set on failure */
    int rank;           /* rank of the previous line */
    char prev;          /* type letter of the previous line */
    bool in_media;
} parser;

static int fail(parser *ps, int code, const char *reason) {
    ps->reason = reason;
    return code;
}
#define MALFORMED(ps, why) fail((ps), FLOE_ERR_MALFORMED, (why))
#define LIMIT(ps, why) fail((ps), FLOE_ERR_LIMIT, (why))

static floe_sdp_str slice(const char *p, size_t n) {
    floe_sdp_str s = {p, n};
    return s;
}

/* ---- per-line value parsers ---------------------------------------------------------- */

static int parse_origin(parser *ps, const char *v, size_t n) {
    floe_sdp_str f[6];
    if (sdp_split(v, n, f, 6) != 6) return MALFORMED(ps, "o= needs exactly six fields");
    floe_sdp_origin *o = &ps->out->origin;
    if (!sdp_nonws(f[0].p, f[0].len)) return MALFORMED(ps, "o= username is not a non-ws-string");
    if (!sdp_u64(f[1].p, f[1].len, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL))
        return MALFORMED(ps, "o= session id is not a number (at most 20 digits)");
    if (!sdp_u64(f[2].p, f[2].len, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, NULL))
        return MALFORMED(ps, "o= session version is not a number (at most 20 digits)");
    if (!sdp_token(f[3].p, f[3].len)) return MALFORMED(ps, "o= network type is not a token");
    if (!sdp_token(f[4].p, f[4].len)) return MALFORMED(ps, "o= address type is not a token");
    const char *why = sdp_check_address(f[3], f[4], f[5].p, f[5].len, &o->addr);
    if (why) return MALFORMED(ps, why);
    o->username = f[0];
    o->sess_id = f[1];
    o->sess_version = f[2];
    o->nettype = f[3];
    o->addrtype = f[4];
    o->address = f[5];
    return FLOE_OK;
}

/* c=<nettype> <addrtype> <address>[/<ttl>][/<count>] (RFC 8866 §5.7). The suffix is
 * only looked for with IN IP4 / IN IP6; other address types keep the whole text. */
static int parse_conn(parser *ps, const char *v, size_t n, floe_sdp_conn *c) {
    floe_sdp_str f[3];
    if (sdp_split(v, n, f, 3) != 3) return MALFORMED(ps, "c= needs exactly three fields");
    memset(c, 0, sizeof(*c));
    c->present = true;
    c->nettype = f[0];
    c->addrtype = f[1];
    c->ttl = -1;
    c->address = f[2];
    bool ip4 = sdp_ieq(f[1].p, f[1].len, "IP4"), ip6 = sdp_ieq(f[1].p, f[1].len, "IP6");
    if (sdp_ieq(f[0].p, f[0].len, "IN") && (ip4 || ip6)) {
        const char *slash = memchr(f[2].p, '/', f[2].len);
        if (slash) {
            c->address.len = (size_t)(slash - f[2].p);
            const char *s1 = slash + 1, *end = f[2].p + f[2].len;
            const char *slash2 = memchr(s1, '/', (size_t)(end - s1));
            size_t n1 = (size_t)((slash2 ? slash2 : end) - s1);
            uint64_t a = 0, b = 0;
            if (ip4) {
                if (!sdp_u64(s1, n1, 3, 255, &a))
                    return MALFORMED(ps, "c= TTL out of range (0..255)");
                c->ttl = (int)a;
                if (slash2) {
                    if (!sdp_u64(slash2 + 1, (size_t)(end - slash2 - 1), 5, 65535, &b) || b == 0)
                        return MALFORMED(ps, "c= address count out of range (1..65535)");
                    c->n_addrs = (unsigned)b;
                }
            } else {
                if (slash2) return MALFORMED(ps, "c= IP6 address takes no TTL");
                if (!sdp_u64(s1, n1, 5, 65535, &b) || b == 0)
                    return MALFORMED(ps, "c= address count out of range (1..65535)");
                c->n_addrs = (unsigned)b;
            }
        }
    }
    const char *why = sdp_check_conn(c, &c->addr);
    if (why) return MALFORMED(ps, why);
    return FLOE_OK;
}

static int parse_bw(parser *ps, const char *v, size_t n, floe_sdp_bw *bw, size_t *nbw) {
    const char *colon = memchr(v, ':', n);
    if (!colon) return MALFORMED(ps, "b= needs <type>:<value>");
    size_t tl = (size_t)(colon - v);
    if (!sdp_token(v, tl)) return MALFORMED(ps, "b= type is not a token");
    uint64_t val;
    if (!sdp_u64(colon + 1, n - tl - 1, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, &val))
        return MALFORMED(ps, "b= value is not a number");
    if (*nbw >= FLOE_SDP_MAX_BW) return LIMIT(ps, "too many b= lines in one section");
    bw[*nbw].type = slice(v, tl);
    bw[*nbw].value = val;
    (*nbw)++;
    return FLOE_OK;
}

static int parse_time(parser *ps, const char *v, size_t n) {
    floe_sdp_str f[2];
    uint64_t a, b;
    if (sdp_split(v, n, f, 2) != 2) return MALFORMED(ps, "t= needs a start and a stop time");
    if (!sdp_u64(f[0].p, f[0].len, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, &a) ||
        !sdp_u64(f[1].p, f[1].len, FLOE_SDP_MAX_NUMBER_DIGITS, UINT64_MAX, &b))
        return MALFORMED(ps, "t= time is not a number");
    floe_sdp *s = ps->out;
    if (s->n_time >= FLOE_SDP_MAX_TIMES) return LIMIT(ps, "too many t= lines");
    floe_sdp_time *t = &s->time[s->n_time++];
    memset(t, 0, sizeof(*t));
    t->start = a;
    t->stop = b;
    return FLOE_OK;
}

static int parse_attr(parser *ps, const char *v, size_t n, floe_sdp_attrs *l) {
    const char *colon = memchr(v, ':', n);
    size_t nl = colon ? (size_t)(colon - v) : n;
    if (nl == 0) return MALFORMED(ps, "a= line without an attribute name");
    if (!sdp_token(v, nl)) return MALFORMED(ps, "a= attribute name is not a token");
    if (l->n >= FLOE_SDP_MAX_ATTRS) return LIMIT(ps, "too many a= lines in one section");
    floe_sdp_attr *a = &l->a[l->n++];
    a->name = slice(v, nl);
    a->value = colon ? slice(colon + 1, n - nl - 1) : slice(NULL, 0);
    a->line = ps->line;
    return FLOE_OK;
}

static bool all_digits(const char *p, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!sdp_is_digit((unsigned char)p[i])) return false;
    return true;
}

/* m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 8866 §5.14) */
static int parse_media(parser *ps, const char *v, size_t n) {
    floe_sdp *s = ps->out;
    floe_sdp_str f[3 + FLOE_SDP_MAX_FORMATS];
    long k = sdp_split(v, n, f, 3 + FLOE_SDP_MAX_FORMATS);
    if (k < 0) return MALFORMED(ps, "m= line has an empty field");
    if (k < 4) return MALFORMED(ps, "m= needs media, port, proto and at least one format");
    if (k > 3 + FLOE_SDP_MAX_FORMATS) return LIMIT(ps, "too many formats on an m= line");
    if (s->n_media >= FLOE_SDP_MAX_MEDIA) return LIMIT(ps, "too many m= sections");
    floe_sdp_media *m = &s->media[s->n_media];
    memset(m, 0, sizeof(*m));
    m->line = ps->line;
    if (!sdp_token(f[0].p, f[0].len)) return MALFORMED(ps, "m= media type is not a token");
    m->media = f[0];

    const char *pp = f[1].p, *slash = memchr(pp, '/', f[1].len);
    size_t pl = slash ? (size_t)(slash - pp) : f[1].len;
    uint64_t port, count;
    if (!all_digits(pp, pl)) return MALFORMED(ps, "m= port is not a number");
    if (!sdp_u64(pp, pl, pl, 65535, &port)) return MALFORMED(ps, "m= line port out of range");
    m->port = (uint16_t)port;
    if (slash) {
        const char *cp = slash + 1;
        size_t cl = f[1].len - pl - 1;
        if (!all_digits(cp, cl)) return MALFORMED(ps, "m= port count is not a number");
        if (!sdp_u64(cp, cl, cl, 65535, &count) || count == 0)
            return MALFORMED(ps, "m= port count out of range (1..65535)");
        m->n_ports = (uint16_t)count;
    }
    if (!sdp_proto(f[2].p, f[2].len)) return MALFORMED(ps, "m= proto is not token *(\"/\" token)");
    m->proto = f[2];
    for (long i = 3; i < k; i++) {
        if (!sdp_token(f[i].p, f[i].len)) return MALFORMED(ps, "m= format is not a token");
        m->fmt[m->n_fmt++] = f[i];
    }
    s->n_media++;
    return FLOE_OK;
}

/* i=, u=, e=, p=, k=: present, non-empty text. */
static int parse_text(parser *ps, const char *v, size_t n, floe_sdp_str *dst, const char *empty) {
    if (n == 0) return MALFORMED(ps, empty);
    *dst = slice(v, n);
    return FLOE_OK;
}

static int contact(parser *ps, const char *v, size_t n, floe_sdp_str *arr, size_t *cnt,
                   const char *empty, const char *too_many) {
    if (n == 0) return MALFORMED(ps, empty);
    if (*cnt >= FLOE_SDP_MAX_CONTACTS) return LIMIT(ps, too_many);
    arr[(*cnt)++] = slice(v, n);
    return FLOE_OK;
}

/* ---- order ------------------------------------------------------------------------------ */

static int session_rank(char t) {
    switch (t) {
    case 'v': return R_V;
    case 'o': return R_O;
    case 's': return R_S;
    case 'i': return R_I;
    case 'u': return R_U;
    case 'e': return R_E;
    case 'p': return R_P;
    case 'c': return R_C;
    case 'b': return R_B;
    case 't':
    case 'r':
    case 'z': return R_T;
    case 'k': return R_K;
    case 'a': return R_A;
    case 'm': return R_M;
    }
    return -1;
}

static int media_rank(char t) {
    switch (t) {
    case 'm': return R_M;
    case 'i': return R_MI;
    case 'c': return R_MC;
    case 'b': return R_MB;
    case 'k': return R_MK;
    case 'a': return R_MA;
    }
    return -1;
}

static bool repeatable(char t) {
    /* z= shares the time block's rank; it is checked apart (once, after a t=). */
    return t == 'e' || t == 'p' || t == 'b' || t == 'a' || t == 't' || t == 'r' || t == 'z' ||
           t == 'm';
}

static const char *out_of_order(char t) {
    switch (t) {
    case 'v': return "v= line out of order or repeated";
    case 'o': return "o= line out of order or repeated";
    case 's': return "s= line out of order or repeated";
    case 'i': return "i= line out of order or repeated";
    case 'u': return "u= line out of order or repeated";
    case 'e': return "e= line out of order";
    case 'p': return "p= line out of order";
    case 'c': return "c= line out of order or repeated";
    case 'b': return "b= line out of order";
    case 't': return "t= line out of order";
    case 'k': return "k= line out of order or repeated";
    case 'a': return "a= line out of order";
    }
    return "line out of order";
}

static int check_order(parser *ps, char t) {
    if (ps->line == 1 && t != 'v') return MALFORMED(ps, "the first line must be v=");
    if (ps->line == 2 && t != 'o') return MALFORMED(ps, "the second line must be o=");
    if (ps->line == 3 && t != 's') return MALFORMED(ps, "the third line must be s=");
    int r;
    if (ps->in_media) {
        r = media_rank(t);
        if (r < 0) return MALFORMED(ps, "line type not allowed in a media section");
    } else {
        r = session_rank(t);
    }
    /* A new m= line starts the next section whatever came before it. */
    bool new_section = t == 'm';
    if (!new_section && (r < ps->rank || (r == ps->rank && !repeatable(t))))
        return MALFORMED(ps, out_of_order(t));
    if (r == R_T) {
        floe_sdp *s = ps->out;
        if (t == 'r' && ps->prev != 't' && ps->prev != 'r')
            return MALFORMED(ps, "r= line without a t= line before it");
        if (t == 'z' && s->n_time == 0) return MALFORMED(ps, "z= line before any t= line");
        if (t == 'z' && s->zone.p) return MALFORMED(ps, "z= line repeated");
    }
    if (r > R_T && ps->out->n_time == 0) return MALFORMED(ps, "missing t= line");
    ps->rank = r;
    ps->prev = t;
    if (t == 'm') ps->in_media = true;
    return FLOE_OK;
}

/* ---- one line ------------------------------------------------------------------------- */

static int parse_line(parser *ps, char t, const char *v, size_t n) {
    int rc = check_order(ps, t);
    if (rc != FLOE_OK) return rc;
    floe_sdp *s = ps->out;
    floe_sdp_media *m = s->n_media ? &s->media[s->n_media - 1] : NULL;

    switch (t) {
    case 'v':
        if (n != 1 || v[0] != '0') return MALFORMED(ps, "v= must be 0");
        s->version = FLOE_SDP_VERSION;
        return FLOE_OK;
    case 'o': return parse_origin(ps, v, n);
    case 's': s->name = slice(v, n); return FLOE_OK;
    case 'i': return parse_text(ps, v, n, ps->in_media ? &m->info : &s->info, "empty i= line");
    case 'u': return parse_text(ps, v, n, &s->uri, "empty u= line");
    case 'e': return contact(ps, v, n, s->email, &s->n_email, "empty e= line", "too many e= lines");
    case 'p': return contact(ps, v, n, s->phone, &s->n_phone, "empty p= line", "too many p= lines");
    case 'c': return parse_conn(ps, v, n, ps->in_media ? &m->conn : &s->conn);
    case 'b':
        return ps->in_media ? parse_bw(ps, v, n, m->bw, &m->n_bw)
                            : parse_bw(ps, v, n, s->bw, &s->n_bw);
    case 't': return parse_time(ps, v, n);
    case 'r': {
        const char *why = sdp_check_repeat(v, n);
        if (why) return MALFORMED(ps, why);
        floe_sdp_time *tm = &s->time[s->n_time - 1];
        if (tm->n_repeats >= FLOE_SDP_MAX_REPEATS) return LIMIT(ps, "too many r= lines for one t=");
        tm->repeat[tm->n_repeats++] = slice(v, n);
        return FLOE_OK;
    }
    case 'z': {
        const char *why = sdp_check_zone(v, n);
        if (why) return MALFORMED(ps, why);
        s->zone = slice(v, n);
        return FLOE_OK;
    }
    case 'k': return parse_text(ps, v, n, ps->in_media ? &m->key : &s->key, "empty k= line");
    case 'a': return parse_attr(ps, v, n, ps->in_media ? &m->attrs : &s->attrs);
    case 'm': return parse_media(ps, v, n);
    }
    return MALFORMED(ps, "unknown line type");
}

static bool known_type(char t) {
    return t && strchr("vosiuepcbtrzkam", t) != NULL;
}

static int parse_all(parser *ps, const char *text, size_t len) {
    if (len > FLOE_SDP_MAX_LEN) return LIMIT(ps, "SDP longer than FLOE_SDP_MAX_LEN");
    if (len == 0) return MALFORMED(ps, "empty SDP");
    size_t pos = 0;
    int blank_line = 0; /* first empty line seen; only more empty lines may follow */
    while (pos < len) {
        ps->line++;
        const char *p = text + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && p[n - 1] == '\r' && nl) n--;
        if (memchr(p, '\0', n)) return MALFORMED(ps, "NUL byte in SDP");
        if (memchr(p, '\r', n)) return MALFORMED(ps, "CR without LF");
        if (n == 0) {
            if (!blank_line) blank_line = ps->line;
            continue;
        }
        if (blank_line) {
            ps->line = blank_line;
            return MALFORMED(ps, "empty line");
        }
        if (n < 2 || p[1] != '=' || !(p[0] >= 'a' && p[0] <= 'z'))
            return MALFORMED(ps, "line is not <type>=<value>");
        if (!known_type(p[0])) return MALFORMED(ps, "unknown line type");
        int rc = parse_line(ps, p[0], p + 2, n - 2);
        if (rc != FLOE_OK) return rc;
    }

    floe_sdp *s = ps->out;
    if (blank_line) ps->line = blank_line - 1;
    if (ps->rank < R_S) return MALFORMED(ps, "missing o= or s= line");
    if (s->n_time == 0) return MALFORMED(ps, "missing t= line");
    for (size_t i = 0; i < s->n_media; i++) {
        if (!s->media[i].conn.present && !s->conn.present) {
            ps->line = s->media[i].line;
            return MALFORMED(ps, "no c= line for this m= section and none at session level");
        }
    }
    return FLOE_OK;
}

int floe_sdp_parse(const char *text, size_t len, floe_sdp *out, floe_sdp_error *err,
                   floe_sdp_stats *stats) {
    if (err) {
        err->line = 0;
        err->reason = NULL;
    }
    if (!out || (!text && len)) {
        if (err) err->reason = "no SDP or no output";
        return FLOE_ERR_INVAL;
    }
    memset(out, 0, sizeof(*out));
    parser ps = {.out = out, .rank = -1};
    int rc = parse_all(&ps, text, len);
    if (rc != FLOE_OK) {
        if (err) {
            err->line = ps.line;
            err->reason = ps.reason;
        }
        if (stats) {
            if (rc == FLOE_ERR_LIMIT)
                stats->limit++;
            else
                stats->malformed++;
        }
        return rc;
    }
    if (stats) stats->parsed++;
    return FLOE_OK;
}
