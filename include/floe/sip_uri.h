/* floe: SIP and SIPS URIs (RFC 3261 §19.1) and their comparison (§19.1.4).
 *
 * Parsing never allocates and never copies: floe_sip_uri_parse() checks the text against
 * the RFC 3261 grammar and fills a floe_sip_uri whose strings are slices into it. Escapes
 * (%HEX HEX) are checked but left in place; floe_sip_unescape() decodes a slice when the
 * caller needs the characters.
 *
 *   floe_sip_uri u;
 *   if (floe_sip_uri_parse(text, len, &u) == FLOE_OK && u.scheme == FLOE_SIP_SCHEME_SIP)
 *       use(u.host, u.port, u.transport);
 *
 * URIs of any other scheme (tel:, http:, urn:, "soap.beep://...") parse as an RFC 3986
 * absolute URI: scheme plus opaque text of URI characters, so that a message carrying
 * one can still be parsed and answered (416 Unsupported URI Scheme is the caller's call).
 *
 * What the SIP URI parser accepts, and its choices:
 *   - scheme "sip" or "sips" in any case; user and password as RFC 3261 §25.1 allows
 *     (unreserved, escaped, and the user-unreserved characters & = + $ , ; ? /), split at
 *     the first '@' (no unescaped '@' may appear anywhere else in a SIP URI);
 *   - a host name (letters, digits, '-', '.', '_'), an IPv4 literal or an IPv6 reference
 *     in brackets; host is the text without brackets and addr holds the literal;
 *   - a port of 1 to 5 digits up to 65535;
 *   - uri-parameters ";name[=value]" with non-empty names and values, no whitespace;
 *   - headers "?name=value&..." kept as one slice.
 */
#ifndef FLOE_SIP_URI_H
#define FLOE_SIP_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A slice of text. p == NULL means absent; a present slice may be empty (len 0). */
typedef struct floe_sip_str {
    const char *p;
    size_t len;
} floe_sip_str;

/* RFC 3261 §19.1.1 default ports. */
#define FLOE_SIP_PORT 5060
#define FLOE_SIPS_PORT 5061

/* Longest URI text floe_sip_uri_parse() looks at. */
#define FLOE_SIP_URI_MAX_LEN 4096

typedef enum floe_sip_scheme {
    FLOE_SIP_SCHEME_OTHER = 0, /* any other absolute URI: see scheme_text and opaque */
    FLOE_SIP_SCHEME_SIP,
    FLOE_SIP_SCHEME_SIPS,
} floe_sip_scheme;

typedef struct floe_sip_uri {
    floe_sip_scheme scheme;
    floe_sip_str scheme_text; /* as written ("sip", "SIP", "tel", ...) */
    floe_sip_str opaque;      /* everything after "scheme:" (set for every scheme) */
    /* SIP and SIPS only: */
    floe_sip_str user;     /* escaped as written; p == NULL when there is no userinfo */
    floe_sip_str password; /* p == NULL when there is none */
    floe_sip_str host;     /* host name or IP literal, without the IPv6 brackets */
    floe_addr addr;        /* the IP literal (port 0); family FLOE_AF_NONE for a name */
    uint16_t port;         /* 0 when has_port is false */
    bool has_port;
    floe_sip_str params;  /* ";a=b;c..." including the first ';'; p == NULL when none */
    floe_sip_str headers; /* after '?', without it; p == NULL when none */
    /* Well-known uri-parameters (names matched ignoring case and escapes), first one
     * wins; p == NULL when absent, an empty slice for a parameter without value. */
    floe_sip_str transport;
    floe_sip_str user_param; /* user=phone / user=ip */
    floe_sip_str method;
    floe_sip_str maddr;
    floe_sip_str ttl;
    bool lr; /* loose routing (RFC 3261 §19.1.1) */
} floe_sip_uri;

/* Parses len bytes (no surrounding whitespace or angle brackets). FLOE_ERR_MALFORMED
 * when the text is no URI, FLOE_ERR_LIMIT above FLOE_SIP_URI_MAX_LEN, FLOE_ERR_INVAL for
 * NULL arguments. *out is unspecified on failure. */
int floe_sip_uri_parse(const char *p, size_t len, floe_sip_uri *out);

/* RFC 3261 §19.1.4: true when a and b are equivalent SIP(S) URIs. sip and sips never
 * match; user and password compare case-sensitively, everything else ignoring case;
 * escapes of unreserved characters equal the characters; IP literals compare as
 * addresses; a port, transport, user, ttl, method or maddr parameter present in one URI
 * only makes them differ, other parameters present in one only are ignored; header
 * components must be the same set. URIs of other schemes are equal when their text is,
 * with the scheme compared ignoring case. */
bool floe_sip_uri_equal(const floe_sip_uri *a, const floe_sip_uri *b);

/* Writes u into buf as text (NUL-terminated) and sets *len (may be NULL) to its length
 * without the NUL. An IPv6 host gets its brackets back. FLOE_ERR_NOSPACE when cap is too
 * small; FLOE_ERR_INVAL when a field holds characters a URI cannot (whitespace, '<',
 * '>', '"', control characters). */
int floe_sip_uri_print(const floe_sip_uri *u, char *buf, size_t cap, size_t *len);

/* One ";name[=value]" parameter, of a URI or of a header field. value.p == NULL when the
 * parameter has no '='. For header parameters written as a quoted string, quoted is set
 * and value holds the text between the quotes (escapes still in: floe_sip_unquote). */
typedef struct floe_sip_param {
    floe_sip_str name;
    floe_sip_str value;
    bool quoted;
} floe_sip_param;

/* Walks the parameters of a params slice as found in floe_sip_uri.params or in the
 * header structures of sip.h (leading ';', whitespace and folding allowed around ';' and
 * '='). Start with *pos = 0; returns true and fills *out for each parameter, false at
 * the end (or at text that is not a parameter, which a parsed slice never holds). */
bool floe_sip_params_next(floe_sip_str params, size_t *pos, floe_sip_param *out);
/* The first parameter named name (ignoring case); false when absent. */
bool floe_sip_params_get(floe_sip_str params, const char *name, floe_sip_param *out);

/* Decodes %HEX HEX escapes of s into buf (not NUL-terminated; escaped NULs come out as
 * NUL bytes). FLOE_ERR_NOSPACE when cap is too small, FLOE_ERR_MALFORMED for a broken
 * escape. */
int floe_sip_unescape(floe_sip_str s, char *buf, size_t cap, size_t *len);

/* Decodes the inside of a quoted string (quoted-pairs: backslash and a character) into
 * buf, not NUL-terminated. FLOE_ERR_NOSPACE when cap is too small. */
int floe_sip_unquote(floe_sip_str s, char *buf, size_t cap, size_t *len);

/* Slice helpers. */
floe_sip_str floe_sip_str_c(const char *s); /* NULL gives an absent slice */
bool floe_sip_str_eq(floe_sip_str s, const char *lit);
bool floe_sip_str_ieq(floe_sip_str s, const char *lit);

#ifdef __cplusplus
}
#endif
#endif
