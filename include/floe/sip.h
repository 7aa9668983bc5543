/* floe: SIP messages (RFC 3261 §7, §20, §25): parse, read typed header fields, build,
 * print.
 *
 * Parsing never allocates and never copies: floe_sip_parse() frames one message, checks
 * its start line and every header field floe knows against the RFC 3261 grammar (and
 * RFC 3262, RFC 3581, RFC 7616/8760 for what they add), and fills a floe_sip_msg whose
 * strings are slices into the caller's buffer, which must outlive the view. Header field
 * values keep their folding (CRLF followed by whitespace) as written; every typed reader
 * below skips it like any other whitespace.
 *
 *   floe_sip_msg m;             // about 5 KiB: static, heap or a big stack
 *   floe_sip_error e;
 *   int rc = floe_sip_parse(dgram, n, 0, &m, &e, &stats);
 *   if (rc != FLOE_OK) log("drop: %s (%s)", floe_sip_reason_name(e.reason), e.detail);
 *   floe_sip_via top;
 *   floe_sip_msg_top_via(&m, &top);
 *
 * A message that parses has: a valid start line with version SIP/2.0; at most
 * FLOE_SIP_MAX_HEADERS header fields, each valid for the grammar of its name when floe
 * knows the name (the list is floe_sip_hdr_id) and free of control characters otherwise;
 * at least one Via and exactly one From, To, Call-ID and CSeq; at most one of each
 * single-valued field (Max-Forwards, Content-Length, Content-Type, RSeq, RAck, Expires);
 * for a request, a CSeq method equal to the request method; and a body of exactly
 * Content-Length bytes. What the parser tolerates, as RFC 4475 asks: line folding
 * anywhere whitespace may go, whitespace around ':' ';' '=' '/' and ',', compact and
 * long names in any case, leading zeros, unknown parameters and header fields, escapes
 * and UTF-8 where the grammar has them, no whitespace between a display name and '<',
 * an empty reason phrase (with or without its space), CRLFs before the start line, bare
 * LF line ends, a Date in a form it does not read. Over a datagram, bytes after the body
 * are ignored and counted (RFC 3261 §18.3) and a message without Content-Length has a
 * body up to the end of the datagram; over a stream (FLOE_SIP_PARSE_STREAM)
 * Content-Length is required, and floe_sip_frame_len() finds where a message ends.
 *
 * Building goes the other way: floe_sip_msg_request() / floe_sip_msg_response() (or
 * floe_sip_msg_response_to(), which copies what RFC 3261 §8.2.6.2 says from a request),
 * floe_sip_msg_add() for header fields and floe_sip_msg_set_body(); text that has to be
 * made up goes into a floe_sip_arena. floe_sip_msg_print() writes any message, parsed or
 * built, into a caller buffer, with a Content-Length that matches the body.
 */
#ifndef FLOE_SIP_H
#define FLOE_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip_uri.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- caps ------------------------------------------------------------------------- */

#define FLOE_SIP_MAX_MSG_LEN 65535    /* bytes of one message: the largest UDP payload */
#define FLOE_SIP_MAX_HEADERS 128      /* header fields (lines, not comma-separated values) */
#define FLOE_SIP_MAX_HEADER_LEN 8192  /* one header field with its folded lines */
#define FLOE_SIP_MAX_START_LINE 8192  /* request or status line */
#define FLOE_SIP_MAX_TOKENS 32        /* tokens floe_sip_msg_tokens() keeps; more are cut */
#define FLOE_SIP_MAX_NUMBER_DIGITS 20 /* digits read of any number (leading zeros too) */

/* RFC 3261 §8.1.1.6 */
#define FLOE_SIP_MAX_FORWARDS_DEFAULT 70
/* RFC 3261 §8.1.1.7: a branch starting with this was made by an RFC 3261 element. */
#define FLOE_SIP_BRANCH_COOKIE "z9hG4bK"

/* ---- why a message was rejected ------------------------------------------------------ */

typedef enum floe_sip_reason {
    FLOE_SIP_R_NONE = 0,
    FLOE_SIP_R_EMPTY,             /* nothing but line ends (a keepalive) */
    FLOE_SIP_R_TOO_LONG,          /* over a cap: message, start line, header field, body */
    FLOE_SIP_R_TOO_MANY_HEADERS,  /* more than FLOE_SIP_MAX_HEADERS header fields */
    FLOE_SIP_R_NO_HEADER_END,     /* the input ends inside the header section */
    FLOE_SIP_R_START_LINE,        /* not "Method SP URI SP Version" nor "Version SP Code SP" */
    FLOE_SIP_R_START_LINE_SPACE,  /* more than one SP between start-line elements, or after */
    FLOE_SIP_R_METHOD,            /* method not a token */
    FLOE_SIP_R_REQUEST_URI,       /* bad Request-URI: whitespace, <>, escaped headers, syntax */
    FLOE_SIP_R_VERSION,           /* a version other than SIP/2.0 (answer 505) */
    FLOE_SIP_R_STATUS_CODE,       /* status code not three digits from 100 to 699 */
    FLOE_SIP_R_HEADER_LINE,       /* not "name: value", bad name, stray CR, control character */
    FLOE_SIP_R_MISSING_HEADER,    /* no Via, From, To, Call-ID or CSeq */
    FLOE_SIP_R_DUPLICATE_HEADER,  /* a single-valued header field twice (Content-Length too) */
    FLOE_SIP_R_VIA,               /* a Via value against RFC 3261 §20.42 */
    FLOE_SIP_R_ADDRESS,           /* From, To, Contact, Route, Record-Route, Reply-To value */
    FLOE_SIP_R_CALL_ID,           /* Call-ID not word ["@" word] */
    FLOE_SIP_R_CSEQ,              /* CSeq not "number method" with number < 2^32 */
    FLOE_SIP_R_CSEQ_METHOD,       /* CSeq method differs from the request method */
    FLOE_SIP_R_MAX_FORWARDS,      /* Max-Forwards not a number from 0 to 255 */
    FLOE_SIP_R_CONTENT_LENGTH,    /* Content-Length not a number */
    FLOE_SIP_R_NO_CONTENT_LENGTH, /* a stream message without Content-Length */
    FLOE_SIP_R_BODY_TRUNCATED,    /* fewer body bytes than Content-Length says */
    FLOE_SIP_R_CONTENT_TYPE,      /* Content-Type not type/subtype *(;param) */
    FLOE_SIP_R_TOKEN_LIST,        /* Require, Supported, Allow, ... not a list of tokens */
    FLOE_SIP_R_RSEQ,              /* RSeq not a number from 1 to 2^32-1 (RFC 3262 §7.1) */
    FLOE_SIP_R_RACK,              /* RAck not "number number method" (RFC 3262 §7.2) */
    FLOE_SIP_R_EXPIRES,           /* Expires, Min-Expires not a number */
    FLOE_SIP_R_AUTH,              /* a challenge or credentials field against RFC 3261 §25 */
    FLOE_SIP_R_COUNT
} floe_sip_reason;

/* A short stable name for logs and counters ("via", "cseq-method", ...). */
const char *floe_sip_reason_name(floe_sip_reason r);

/* Where and why parsing failed. */
typedef struct floe_sip_error {
    floe_sip_reason reason;
    int line;            /* 1-based line of the message (folded lines count); 0 if none */
    floe_sip_str header; /* the header field's name when one is at fault (static text
                            for a missing one), else absent */
    const char *detail;  /* a static sentence */
} floe_sip_error;

/* Counters a caller may keep across calls (floe_sip_parse bumps them when given). */
typedef struct floe_sip_stats {
    uint64_t parsed;                     /* messages accepted */
    uint64_t rejected[FLOE_SIP_R_COUNT]; /* messages rejected, by reason */
    uint64_t trailing_msgs;              /* accepted datagrams with bytes after the body */
    uint64_t trailing_bytes;             /* those bytes, ignored (RFC 3261 §18.3) */
} floe_sip_stats;

/* ---- methods and header fields ---------------------------------------------------------- */

/* Methods are case-sensitive (RFC 3261 §7.1): "invite" is an unknown method. */
typedef enum floe_sip_method {
    FLOE_SIP_OTHER_METHOD = 0,
    FLOE_SIP_INVITE,
    FLOE_SIP_ACK,
    FLOE_SIP_BYE,
    FLOE_SIP_CANCEL,
    FLOE_SIP_OPTIONS,
    FLOE_SIP_REGISTER,
    FLOE_SIP_PRACK,  /* RFC 3262 */
    FLOE_SIP_UPDATE, /* RFC 3311 */
    FLOE_SIP_INFO,
    FLOE_SIP_MESSAGE,
    FLOE_SIP_SUBSCRIBE,
    FLOE_SIP_NOTIFY,
    FLOE_SIP_REFER,
    FLOE_SIP_PUBLISH,
} floe_sip_method;

floe_sip_method floe_sip_method_id(floe_sip_str name);
const char *floe_sip_method_name(floe_sip_method m); /* NULL for FLOE_SIP_OTHER_METHOD */

/* Header fields floe knows by name (long and compact forms, any case). */
typedef enum floe_sip_hdr_id {
    FLOE_SIP_H_OTHER = 0,
    FLOE_SIP_H_VIA,     /* v */
    FLOE_SIP_H_FROM,    /* f */
    FLOE_SIP_H_TO,      /* t */
    FLOE_SIP_H_CALL_ID, /* i */
    FLOE_SIP_H_CSEQ,
    FLOE_SIP_H_CONTACT, /* m */
    FLOE_SIP_H_MAX_FORWARDS,
    FLOE_SIP_H_CONTENT_LENGTH, /* l */
    FLOE_SIP_H_CONTENT_TYPE,   /* c */
    FLOE_SIP_H_ROUTE,
    FLOE_SIP_H_RECORD_ROUTE,
    FLOE_SIP_H_REQUIRE,
    FLOE_SIP_H_PROXY_REQUIRE,
    FLOE_SIP_H_SUPPORTED, /* k */
    FLOE_SIP_H_UNSUPPORTED,
    FLOE_SIP_H_ALLOW,
    FLOE_SIP_H_RSEQ, /* RFC 3262 */
    FLOE_SIP_H_RACK, /* RFC 3262 */
    FLOE_SIP_H_EXPIRES,
    FLOE_SIP_H_MIN_EXPIRES,
    FLOE_SIP_H_WWW_AUTHENTICATE,
    FLOE_SIP_H_PROXY_AUTHENTICATE,
    FLOE_SIP_H_AUTHORIZATION,
    FLOE_SIP_H_PROXY_AUTHORIZATION,
    FLOE_SIP_H_AUTHENTICATION_INFO,
    FLOE_SIP_H_REPLY_TO,
    FLOE_SIP_H_CONTENT_ENCODING, /* e */
    FLOE_SIP_H_CONTENT_DISPOSITION,
    FLOE_SIP_H_ACCEPT,
    FLOE_SIP_H_SUBJECT, /* s */
    FLOE_SIP_H_DATE,
    FLOE_SIP_H_TIMESTAMP,
    FLOE_SIP_H_USER_AGENT,
    FLOE_SIP_H_SERVER,
    FLOE_SIP_H_SESSION_EXPIRES,     /* x, RFC 4028 */
    FLOE_SIP_H_EVENT,               /* o, RFC 6665 */
    FLOE_SIP_H_ALLOW_EVENTS,        /* u, RFC 6665 */
    FLOE_SIP_H_REFER_TO,            /* r, RFC 3515 */
    FLOE_SIP_H_REFERRED_BY,         /* b, RFC 3892 */
    FLOE_SIP_H_ACCEPT_CONTACT,      /* a, RFC 3841 */
    FLOE_SIP_H_REJECT_CONTACT,      /* j, RFC 3841 */
    FLOE_SIP_H_REQUEST_DISPOSITION, /* d, RFC 3841 */
    FLOE_SIP_H_IDENTITY,            /* y, RFC 8224 */
    FLOE_SIP_H_IDENTITY_INFO,       /* n, RFC 4474 */
    FLOE_SIP_H_COUNT
} floe_sip_hdr_id;

/* The id of a header field name (long or compact, any case); FLOE_SIP_H_OTHER when
 * floe does not know it. Names are compared as written: "C%6Fntact" is not Contact. */
floe_sip_hdr_id floe_sip_hdr_lookup(floe_sip_str name);
/* The long name of id ("Via"); NULL for FLOE_SIP_H_OTHER. */
const char *floe_sip_hdr_name(floe_sip_hdr_id id);
/* True when id is a comma-separated list (Via, Contact, Route, Require, ...). */
bool floe_sip_hdr_is_list(floe_sip_hdr_id id);

typedef struct floe_sip_hdr {
    floe_sip_hdr_id id;
    floe_sip_str name;  /* as written (compact or long) */
    floe_sip_str value; /* without surrounding whitespace; folding inside kept */
    int line;           /* 1-based line of the message; 0 when built */
} floe_sip_hdr;

/* ---- the message -------------------------------------------------------------------- */

typedef struct floe_sip_msg {
    bool request;
    /* request line */
    floe_sip_str method;
    floe_sip_method method_id;
    floe_sip_str uri; /* Request-URI text (floe_sip_uri_parse for its parts) */
    /* status line */
    unsigned status;
    floe_sip_str reason; /* may be empty */
    /* header fields in order */
    floe_sip_hdr hdr[FLOE_SIP_MAX_HEADERS];
    size_t n_hdr;
    floe_sip_str body; /* may be empty (p may then be NULL) */
} floe_sip_msg;

#define FLOE_SIP_PARSE_STREAM 1u /* the message came over TCP/TLS: Content-Length required */

/* Parses one message from p[0..len) into *out. On failure returns FLOE_ERR_MALFORMED,
 * FLOE_ERR_LIMIT (a cap), FLOE_ERR_TRUNCATED (the input ends early: no end of headers, or
 * a short body) or FLOE_ERR_UNSUPPORTED (a version other than 2.0), fills *err (may be
 * NULL) and bumps stats->rejected[reason] (stats may be NULL); FLOE_ERR_INVAL for NULL
 * arguments. *out is unspecified on failure. */
int floe_sip_parse(const char *p, size_t len, unsigned flags, floe_sip_msg *out,
                   floe_sip_error *err, floe_sip_stats *stats);

/* Stream framing (RFC 3261 §18.3): how many bytes of p[0..len) the first message takes,
 * header section plus Content-Length. FLOE_ERR_TRUNCATED when more bytes are needed;
 * FLOE_ERR_MALFORMED when the header section has no valid single Content-Length (the
 * stream cannot be framed: close it); FLOE_ERR_LIMIT when the headers or the announced
 * message would pass FLOE_SIP_MAX_MSG_LEN. CRs and LFs before a message (RFC 5626
 * keepalives) are a frame of their own: *msg_len covers them and *keepalive is set. */
int floe_sip_frame_len(const char *p, size_t len, size_t *msg_len, bool *keepalive);

/* True when a and b hold the same message: start line, header fields in order (id, and
 * the name too for unknown fields, ignoring case; values byte for byte) and body.
 * Content-Length fields are not compared (the bodies are): printing rewrites them. */
bool floe_sip_msg_equal(const floe_sip_msg *a, const floe_sip_msg *b);

/* ---- finding header fields ----------------------------------------------------------------- */

/* The first header field with this id after `after` (NULL: from the start), or NULL. */
const floe_sip_hdr *floe_sip_msg_find(const floe_sip_msg *m, floe_sip_hdr_id id,
                                      const floe_sip_hdr *after);
/* The same by name (ignoring case; a known name also finds its other form). */
const floe_sip_hdr *floe_sip_msg_find_name(const floe_sip_msg *m, const char *name,
                                           const floe_sip_hdr *after);

/* Walks the values of every header field with this id, in order: list fields are split
 * at top-level commas (outside quotes and <>), others give one value per field. Start
 * with a zeroed iterator. FLOE_OK with *value, FLOE_ERR_NOT_FOUND at the end. */
typedef struct floe_sip_iter {
    size_t hdr; /* index of the header field */
    size_t off; /* offset in its value */
} floe_sip_iter;
int floe_sip_msg_next_value(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                            floe_sip_str *value);
/* How many values floe_sip_msg_next_value() would give. */
size_t floe_sip_msg_count(const floe_sip_msg *m, floe_sip_hdr_id id);

/* ---- typed header fields ----------------------------------------------------------------- */
/* Each floe_sip_X_parse() reads one value (as floe_sip_msg_next_value gives it) and
 * returns FLOE_OK or FLOE_ERR_MALFORMED; the floe_sip_msg_X() readers return
 * FLOE_ERR_NOT_FOUND when the message has no such field. On a parsed message they cannot
 * fail otherwise: the parser checked every value. */

/* Via (RFC 3261 §20.42, RFC 3581 rport). */
typedef struct floe_sip_via {
    floe_sip_str protocol;  /* "SIP" */
    floe_sip_str version;   /* "2.0" */
    floe_sip_str transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", or any token */
    floe_sip_str host;      /* sent-by host, without IPv6 brackets */
    floe_addr addr;         /* the host when it is an IP literal */
    uint16_t port;          /* 0 when has_port is false */
    bool has_port;
    floe_sip_str branch;   /* p == NULL when absent */
    floe_sip_str received; /* p == NULL when absent (an IP address) */
    floe_sip_str maddr;
    floe_sip_str ttl;
    bool rport;          /* the rport parameter is there */
    int32_t rport_port;  /* its value; -1 when it has none (a request asking for one) */
    floe_sip_str params; /* all parameters, ";..." (floe_sip_params_next) */
} floe_sip_via;
int floe_sip_via_parse(floe_sip_str value, floe_sip_via *out);
int floe_sip_msg_top_via(const floe_sip_msg *m, floe_sip_via *out);
int floe_sip_msg_next_via(const floe_sip_msg *m, floe_sip_iter *it, floe_sip_via *out);
/* True when branch starts with the RFC 3261 cookie and has something after it (RFC 4475
 * §3.2.1: "z9hG4bK" alone is no transaction identifier). */
bool floe_sip_branch_is_rfc3261(floe_sip_str branch);

/* From, To, Contact, Route, Record-Route, Reply-To: name-addr or addr-spec with header
 * parameters (RFC 3261 §20.10, §20.20, §20.39, §20.30, §20.34). */
typedef struct floe_sip_addr {
    floe_sip_str display; /* display name: the text inside the quotes (escapes still in:
                             floe_sip_unquote) or the tokens as written; p == NULL when none */
    bool display_quoted;
    bool bracketed;      /* the URI was inside <> (name-addr) */
    bool star;           /* Contact: * (then uri is absent) */
    floe_sip_str uri;    /* the URI text (floe_sip_uri_parse) */
    floe_sip_str tag;    /* tag parameter; p == NULL when absent */
    floe_sip_str q;      /* Contact q parameter as written; p == NULL when absent */
    int64_t expires;     /* Contact expires parameter; -1 absent, -2 not a number below
                            2^32 (RFC 4475 §3.1.2.4: use the default instead) */
    floe_sip_str params; /* all header parameters, ";..." */
} floe_sip_addr;
int floe_sip_addr_parse(floe_sip_str value, floe_sip_addr *out);
int floe_sip_msg_from(const floe_sip_msg *m, floe_sip_addr *out);
int floe_sip_msg_to(const floe_sip_msg *m, floe_sip_addr *out);
/* Contact, Route, Record-Route (and any address field) value by value. */
int floe_sip_msg_next_addr(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                           floe_sip_addr *out);

/* Call-ID (compared byte for byte). */
int floe_sip_msg_call_id(const floe_sip_msg *m, floe_sip_str *out);

/* CSeq (RFC 3261 §20.16). */
typedef struct floe_sip_cseq {
    uint32_t seq;
    floe_sip_str method;
    floe_sip_method method_id;
} floe_sip_cseq;
int floe_sip_cseq_parse(floe_sip_str value, floe_sip_cseq *out);
int floe_sip_msg_cseq(const floe_sip_msg *m, floe_sip_cseq *out);

/* Max-Forwards 0..255; -1 when absent. */
int floe_sip_msg_max_forwards(const floe_sip_msg *m);

/* Content-Length; -1 when absent (the body is still m->body). */
int64_t floe_sip_msg_content_length(const floe_sip_msg *m);

/* Content-Type (RFC 3261 §20.15). */
typedef struct floe_sip_media_type {
    floe_sip_str type;    /* "application" */
    floe_sip_str subtype; /* "sdp" */
    floe_sip_str params;  /* ";..." */
} floe_sip_media_type;
int floe_sip_media_type_parse(floe_sip_str value, floe_sip_media_type *out);
int floe_sip_msg_content_type(const floe_sip_msg *m, floe_sip_media_type *out);
/* True when the body is application/sdp (ignoring case). */
bool floe_sip_msg_is_sdp(const floe_sip_msg *m);

/* Require, Proxy-Require, Supported, Unsupported, Allow, ...: token lists. */
typedef struct floe_sip_tokens {
    floe_sip_str tok[FLOE_SIP_MAX_TOKENS];
    size_t n;
    size_t n_cut; /* tokens past FLOE_SIP_MAX_TOKENS, not kept */
} floe_sip_tokens;
/* Every token of every field with this id, in order. */
int floe_sip_msg_tokens(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_tokens *out);
/* True when a field with this id lists tok: option tags ignore case, methods (Allow)
 * do not. */
bool floe_sip_msg_has_token(const floe_sip_msg *m, floe_sip_hdr_id id, const char *tok);

/* RSeq (RFC 3262 §7.1): 1..2^32-1. */
int floe_sip_msg_rseq(const floe_sip_msg *m, uint32_t *out);

/* RAck (RFC 3262 §7.2). */
typedef struct floe_sip_rack {
    uint32_t rseq;
    uint32_t cseq;
    floe_sip_str method;
    floe_sip_method method_id;
} floe_sip_rack;
int floe_sip_rack_parse(floe_sip_str value, floe_sip_rack *out);
int floe_sip_msg_rack(const floe_sip_msg *m, floe_sip_rack *out);

/* Expires (or Min-Expires with FLOE_SIP_H_MIN_EXPIRES): FLOE_ERR_MALFORMED when the
 * digits pass 2^32-1 (RFC 4475 §3.1.2.4: treat as absent, use the default). */
int floe_sip_msg_expires(const floe_sip_msg *m, floe_sip_hdr_id id, uint32_t *out);

/* WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization (RFC 3261
 * §25.1, RFC 7616 and RFC 8760 for SHA-256). Quoted values are the text inside the
 * quotes (floe_sip_unquote if they hold escapes). */
typedef enum floe_sip_digest_alg {
    FLOE_SIP_ALG_MD5 = 0, /* also when the parameter is absent (RFC 3261 default) */
    FLOE_SIP_ALG_MD5_SESS,
    FLOE_SIP_ALG_SHA256,
    FLOE_SIP_ALG_SHA256_SESS,
    FLOE_SIP_ALG_SHA512_256,
    FLOE_SIP_ALG_SHA512_256_SESS,
    FLOE_SIP_ALG_OTHER,
} floe_sip_digest_alg;

typedef struct floe_sip_auth {
    floe_sip_str scheme; /* "Digest" or any other scheme */
    bool digest;         /* scheme is Digest (ignoring case): the fields below are read */
    floe_sip_str realm, nonce, opaque, domain;
    floe_sip_str algorithm; /* as written; p == NULL when absent */
    floe_sip_digest_alg alg;
    bool stale;       /* challenge: stale=true */
    floe_sip_str qop; /* challenge: the list as written; credentials: the one chosen */
    bool qop_auth, qop_auth_int;
    /* credentials */
    floe_sip_str username, uri, response, cnonce, nc;
    bool userhash;       /* RFC 7616 userhash=true */
    floe_sip_str params; /* everything after the scheme */
} floe_sip_auth;
int floe_sip_auth_parse(floe_sip_str value, floe_sip_auth *out);
int floe_sip_msg_next_auth(const floe_sip_msg *m, floe_sip_hdr_id id, floe_sip_iter *it,
                           floe_sip_auth *out);
const char *floe_sip_digest_alg_name(floe_sip_digest_alg a); /* "MD5", "SHA-256", ... */

/* ---- building ------------------------------------------------------------------------------ */

/* A bump allocator over a caller buffer for text a built message points at. */
typedef struct floe_sip_arena {
    char *buf;
    size_t cap;
    size_t len;
} floe_sip_arena;

void floe_sip_arena_init(floe_sip_arena *a, char *buf, size_t cap);
/* Copies n bytes in; FLOE_ERR_NOSPACE when full. */
int floe_sip_arena_put(floe_sip_arena *a, const char *p, size_t n, floe_sip_str *out);
/* v in decimal. */
int floe_sip_arena_u64(floe_sip_arena *a, uint64_t v, floe_sip_str *out);
/* The concatenation of NUL-terminated strings, the list ended by NULL:
 *   floe_sip_arena_cat(&ar, &via, "SIP/2.0/UDP ", host, ";branch=", branch, NULL); */
int floe_sip_arena_cat(floe_sip_arena *a, floe_sip_str *out, ...);

/* Clears m to a request "<method> <uri> SIP/2.0" with no header fields. The strings
 * must outlive m. */
void floe_sip_msg_request(floe_sip_msg *m, const char *method, const char *uri);
/* Clears m to a response "SIP/2.0 <status> <reason>"; reason NULL gives the RFC 3261
 * phrase (floe_sip_status_phrase). */
void floe_sip_msg_response(floe_sip_msg *m, unsigned status, const char *reason);
/* The RFC 3261 §21 reason phrase of a status code ("Ringing"); "" when unknown. */
const char *floe_sip_status_phrase(unsigned status);

/* Appends a header field with the long name of id. FLOE_ERR_LIMIT past
 * FLOE_SIP_MAX_HEADERS, FLOE_ERR_INVAL for FLOE_SIP_H_OTHER. */
int floe_sip_msg_add(floe_sip_msg *m, floe_sip_hdr_id id, const char *value);
/* The same with slices; any name (its id is looked up). */
int floe_sip_msg_add_str(floe_sip_msg *m, floe_sip_str name, floe_sip_str value);
/* Sets the body (not copied); the printer writes the Content-Length. */
void floe_sip_msg_set_body(floe_sip_msg *m, const char *p, size_t n);

/* RFC 3261 §8.2.6.2: clears resp to a response to req with every Via in order, From,
 * To (with ";tag=<to_tag>" added when to_tag is not NULL, status is not 100 and To has
 * no tag yet), Call-ID and CSeq copied; for a dialog-creating response (101..299 to
 * INVITE, SUBSCRIBE or REFER) Record-Route is copied too (§12.1.1). Slices point into
 * req (and into ar for a To with a new tag), which must outlive resp. */
int floe_sip_msg_response_to(floe_sip_msg *resp, const floe_sip_msg *req, unsigned status,
                             const char *reason, const char *to_tag, floe_sip_arena *ar);

/* ---- printing ------------------------------------------------------------------------------ */

/* Writes m into buf: the start line, every header field as "name: value" with CRLF (in
 * order, names as stored, folding kept), a Content-Length equal to the body length (the
 * existing field rewritten in place, or one added at the end), an empty line and the
 * body; then a NUL not counted in *len. FLOE_ERR_NOSPACE when cap is too small;
 * FLOE_ERR_INVAL when a field would break the framing: a method or name that is no
 * token, a status outside 100..699, a URI or reason with a line break, a value with a
 * line break not followed by whitespace. Parsing the output gives a message
 * floe_sip_msg_equal to m. */
int floe_sip_msg_print(const floe_sip_msg *m, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
