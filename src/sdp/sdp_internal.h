/* Private to src/sdp/: the field grammar shared by the parser and the printer, so that
 * whatever the printer writes is checked by the very rules the parser applies. Every
 * check returns NULL when the field is good, or a static reason string. */
#ifndef FLOE_SDP_INTERNAL_H
#define FLOE_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/sdp.h"

/* Longest IP literal we look at: an IPv6 address with an embedded dotted quad is 45. */
#define SDP_IP_TEXT_MAX 45
/* RFC 1035 §2.3.4: 255 octets on the wire, 253 characters of text. */
#define SDP_DOMAIN_MAX 253
#define SDP_LABEL_MAX 63

static inline bool sdp_is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
static inline bool sdp_is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/* RFC 8866 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E */
bool sdp_is_token_char(unsigned char c);
/* RFC 8839 §5.1 ice-char: ALPHA / DIGIT / "+" / "/" */
static inline bool sdp_is_ice_char(unsigned char c) {
    return sdp_is_alpha(c) || sdp_is_digit(c) || c == '+' || c == '/';
}

/* 1*token-char */
bool sdp_token(const char *p, size_t n);
/* min..max ice-chars */
bool sdp_ice_chars(const char *p, size_t n, size_t min, size_t max);
/* 1..max_digits decimal digits whose value is at most limit. */
bool sdp_u64(const char *p, size_t n, size_t max_digits, uint64_t limit, uint64_t *out);
/* RFC 8866 byte-string without the non-empty rule: no NUL, CR or LF. */
bool sdp_text(const char *p, size_t n);
/* 1* visible characters and high bytes (non-ws-string): no SP, TAB, CR, LF, NUL. */
bool sdp_nonws(const char *p, size_t n);
/* Case-insensitive comparison of a slice with a NUL-terminated literal. */
bool sdp_ieq(const char *p, size_t n, const char *lit);
bool sdp_eq(const char *p, size_t n, const char *lit);

/* Splits p[0..n) on single spaces into out[0..max). Returns the number of fields (which
 * may exceed max; only max are stored), or -1 when a field is empty (empty input,
 * leading, trailing or double space). */
long sdp_split(const char *p, size_t n, floe_sdp_str *out, size_t max);

/* An IP literal with no brackets, zone or port: family 4, 6, or 0 for either. */
bool sdp_ip_literal(const char *p, size_t n, int family, floe_addr *out);
/* A domain name: dot-separated labels of letters, digits and '-', one trailing dot. */
bool sdp_domain_name(const char *p, size_t n);

/* Kind of address text, decided the way RFC 8839 §5.1 suggests: a colon means IPv6,
 * only digits and dots mean IPv4, anything else is a name. */
typedef enum sdp_addr_kind { SDP_ADDR_V4, SDP_ADDR_V6, SDP_ADDR_NAME } sdp_addr_kind;
sdp_addr_kind sdp_addr_kind_of(const char *p, size_t n);

/* A unicast address field (o=, the host part of c=, a=rtcp) for nettype/addrtype: IN
 * IP4/IP6 literals (of the right family) fill *addr, names leave it FLOE_AF_NONE, other
 * nettypes and addrtypes take any non-ws-string. */
const char *sdp_check_address(floe_sdp_str nettype, floe_sdp_str addrtype, const char *p, size_t n,
                              floe_addr *addr);
/* The whole c= rule: the three fields, the address text, and the multicast suffix
 * rules (TTL and count against what the text says). *addr (may be NULL) gets the
 * literal, or FLOE_AF_NONE. The addr member of c is not looked at. */
const char *sdp_check_conn(const floe_sdp_conn *c, floe_addr *addr);
/* r= value: repeat-interval SP typed-time 1*(SP typed-time) (RFC 8866 §5.10). */
const char *sdp_check_repeat(const char *p, size_t n);
/* z= value: time SP ["-"] typed-time *(SP time SP ["-"] typed-time) (RFC 8866 §5.11). */
const char *sdp_check_zone(const char *p, size_t n);
/* m= proto: token *("/" token). */
bool sdp_proto(const char *p, size_t n);

/* Decimal text of v into buf (at least 21 bytes); returns the length (no NUL written). */
size_t sdp_fmt_u64(char *buf, uint64_t v);

#endif
