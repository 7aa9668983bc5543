/* Private to src/sip/: character classes of the RFC 3261 grammar and a small scanner over
 * one header field value. A value slice holds line breaks only as folding (a line end
 * followed by SP or HTAB: the parser never keeps any other), so the scanner treats CR
 * and LF in a value as whitespace. */
#ifndef FLOE_SIP_INTERNAL_H
#define FLOE_SIP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/sip.h"

static inline bool sip_is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
static inline bool sip_is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool sip_is_alnum(unsigned char c) {
    return sip_is_digit(c) || sip_is_alpha(c);
}
static inline bool sip_is_hex(unsigned char c) {
    return sip_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int sip_hex_val(unsigned char c) {
    if (sip_is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}
static inline unsigned char sip_lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
/* Whitespace inside a value: SP, HTAB, and the CR LF of folding. */
static inline bool sip_is_lws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
/* A byte no header field may hold outside a quoted-pair (CR and LF of folding aside). */
static inline bool sip_is_ctl(unsigned char c) {
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
bool sip_is_token_char(unsigned char c);
/* unreserved = alphanum / mark */
bool sip_is_unreserved(unsigned char c);
/* word (Call-ID): token characters and ( ) < > : \ DQUOTE / [ ] ? { } */
bool sip_is_word_char(unsigned char c);
/* RFC 2396 reserved: ; / ? : @ & = + $ , */
bool sip_is_reserved(unsigned char c);

bool sip_token(const char *p, size_t n);
bool sip_ieq(const char *p, size_t n, const char *lit);
bool sip_eq(const char *p, size_t n, const char *lit);
/* Compares a slice that may hold %HEX HEX escapes with a literal, ignoring case. */
bool sip_ieq_unescaped(const char *p, size_t n, const char *lit);
/* Compares two slices that may hold escapes, decoding both, ignoring case. */
bool sip_ieq_escaped(const char *a, size_t an, const char *b, size_t bn);
/* 1..FLOE_SIP_MAX_NUMBER_DIGITS digits whose value is at most limit. */
bool sip_u64(const char *p, size_t n, uint64_t limit, uint64_t *out);
/* The same but digits beyond the limit are reported apart: 1 ok, 0 not digits, -1 over. */
int sip_u64_range(const char *p, size_t n, uint64_t limit, uint64_t *out);

/* A host: IPv4 literal, "[" IPv6 "]", or a host name. Sets *host (brackets stripped) and
 * *addr (family NONE for a name). */
bool sip_host(const char *p, size_t n, floe_sip_str *host, floe_addr *addr);
/* An IP address without brackets (Via received). */
bool sip_ip(const char *p, size_t n, floe_addr *addr);

/* ---- scanner -------------------------------------------------------------------------- */

typedef struct sip_scan {
    const char *p;
    size_t len;
    size_t pos;
} sip_scan;

static inline sip_scan sip_scan_init(floe_sip_str s) {
    sip_scan sc = {s.p, s.len, 0};
    return sc;
}
static inline bool sip_scan_end(const sip_scan *s) {
    return s->pos >= s->len;
}
static inline int sip_scan_peek(const sip_scan *s) {
    return s->pos < s->len ? (unsigned char)s->p[s->pos] : -1;
}
/* Skips whitespace; returns whether any was skipped. */
bool sip_skip_lws(sip_scan *s);
/* Skips whitespace, then c, then whitespace; false (nothing consumed) when c is not next. */
bool sip_sep(sip_scan *s, char c);
/* 1*token-char at the cursor. */
bool sip_scan_token(sip_scan *s, floe_sip_str *out);
/* A quoted-string at the cursor; *inner is the text between the quotes. */
bool sip_scan_quoted(sip_scan *s, floe_sip_str *inner);
/* Generic parameters "*( SEMI name [EQUAL value] )" up to the end or to stop (a char that
 * ends them, 0 for none): value = token / host / quoted-string. Fills *all with the whole
 * run (from the first ';'), absent when none. False on a broken parameter. */
bool sip_scan_params(sip_scan *s, floe_sip_str *all);

/* Splits a list value at top-level commas. Start with *pos = 0; gives each element
 * trimmed of whitespace (possibly empty); false at the end. */
bool sip_list_next(floe_sip_str value, size_t *pos, floe_sip_str *item);

/* Trims whitespace at both ends. */
floe_sip_str sip_trim(floe_sip_str s);

static inline floe_sip_str sip_str(const char *p, size_t n) {
    floe_sip_str s = {p, n};
    return s;
}

/* ---- output ------------------------------------------------------------------------------ */

/* A bounded text writer: past cap it stops writing and remembers (err). */
typedef struct sip_out {
    char *buf;
    size_t cap;
    size_t len;
    bool err;
} sip_out;

static inline void sip_out_put(sip_out *o, const char *p, size_t n) {
    if (o->err) return;
    if (o->cap - o->len < n) {
        /* keep what fits, so a short buffer ends with a prefix of the text */
        for (size_t i = 0; o->len < o->cap; i++)
            o->buf[o->len++] = p[i];
        o->err = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        o->buf[o->len + i] = p[i];
    o->len += n;
}
static inline void sip_out_c(sip_out *o, char c) {
    sip_out_put(o, &c, 1);
}
static inline void sip_out_s(sip_out *o, floe_sip_str s) {
    if (s.len) sip_out_put(o, s.p, s.len);
}
void sip_out_cstr(sip_out *o, const char *s);
void sip_out_u64(sip_out *o, uint64_t v);
/* Ends the text with a NUL (kept inside cap: the last byte is sacrificed on overflow)
 * and returns FLOE_OK or FLOE_ERR_NOSPACE. */
int sip_out_finish(sip_out *o, size_t *len);

/* callid = word [ "@" word ] */
bool sip_call_id_ok(floe_sip_str v);

/* Fields that may appear at most once in a message. */
bool sip_hdr_is_single(floe_sip_hdr_id id);

/* Per-header value check used by the parser: FLOE_SIP_R_NONE when the value is good. */
floe_sip_reason sip_check_value(floe_sip_hdr_id id, floe_sip_str value, const char **detail);

#endif
