/* floe: one transport address type and one canonical address classifier.
 *
 * floe_addr holds an IPv4 or IPv6 address and a port in plain bytes, independent of
 * the socket API, so the sans-IO core can use it. The runtimes convert it to and from
 * struct sockaddr.
 *
 * floe_addr_classify() is the only place in floe that decides what kind of address
 * something is. Every policy (the TURN server's peer filter, ICE candidate filtering,
 * STUN behaviour discovery) asks it, so an address written in an unusual encoding
 * (::ffff:127.0.0.1, ::127.0.0.1, 2002:7f00:1::, 64:ff9b::7f00:1, a Teredo address
 * hiding 127.0.0.1) gets the same answer as the plain IPv4 address it carries. */
#ifndef FLOE_ADDR_H
#define FLOE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { FLOE_AF_NONE = 0, FLOE_AF_INET4 = 4, FLOE_AF_INET6 = 6 };

typedef struct floe_addr {
    uint8_t family;    /* FLOE_AF_INET4, FLOE_AF_INET6 or FLOE_AF_NONE */
    uint16_t port;     /* host byte order */
    uint8_t ip[16];    /* network byte order; IPv4 uses ip[0..3], the rest is zero */
    uint32_t scope_id; /* IPv6 zone (interface index), 0 if none */
} floe_addr;

/* Longest text floe_addr_format() writes, NUL included ("[v6%zone]:65535"). */
#define FLOE_ADDR_STRLEN 64

/* Builders. */
void floe_addr_set_v4(floe_addr *a, uint32_t ip_host_order, uint16_t port);
void floe_addr_set_v6(floe_addr *a, const uint8_t ip[16], uint16_t port);

/* Parses "1.2.3.4", "1.2.3.4:5", "::1", "[::1]", "[::1]:5", "[fe80::1%2]:5".
 * Without a port, port is left 0. Returns FLOE_OK or FLOE_ERR_ADDR.
 * Host names are not resolved here (the runtime does that). */
int floe_addr_parse(const char *s, floe_addr *out);

/* Formats "1.2.3.4:5" or "[::1]:5" (with_port) or the bare IP. Always NUL-terminates
 * when cap > 0; returns the length written (without NUL). */
size_t floe_addr_format(const floe_addr *a, bool with_port, char *buf, size_t cap);

/* True when family, IP, port (and zone) are equal. */
bool floe_addr_equal(const floe_addr *a, const floe_addr *b);
/* True when family and IP are equal (port ignored). */
bool floe_addr_ip_equal(const floe_addr *a, const floe_addr *b);
/* 4, 16, or 0. */
size_t floe_addr_ip_len(const floe_addr *a);

/* Classification flags: what an address is. Several may be set at once; for an IPv6
 * address that embeds an IPv4 address, the flags of the embedded address are ORed in. */
enum floe_addr_class {
    FLOE_ADDR_UNSPECIFIED = 1u << 0,   /* 0.0.0.0/8 "this network", :: */
    FLOE_ADDR_LOOPBACK = 1u << 1,      /* 127.0.0.0/8, ::1 */
    FLOE_ADDR_PRIVATE = 1u << 2,       /* 10/8, 172.16/12, 192.168/16, fc00::/7 (ULA) */
    FLOE_ADDR_CGNAT = 1u << 3,         /* 100.64.0.0/10 (RFC 6598) */
    FLOE_ADDR_LINK_LOCAL = 1u << 4,    /* 169.254/16, fe80::/10 */
    FLOE_ADDR_MULTICAST = 1u << 5,     /* 224/4, ff00::/8 */
    FLOE_ADDR_DOCUMENTATION = 1u << 6, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32,
                                          3fff::/20 */
    FLOE_ADDR_BROADCAST = 1u << 7,     /* 255.255.255.255 */
    FLOE_ADDR_RESERVED = 1u << 8,      /* 240/4, 192.0.0/24, 198.18/15 (benchmarking), 100::/64
                                          (discard), fec0::/10 (site-local), 2001::/23 IETF
                                          protocol assignments other than Teredo, and other
                                          IANA special-purpose blocks not reachable globally */
    /* The encoding: an IPv6 address that carries an IPv4 address. */
    FLOE_ADDR_V4_MAPPED = 1u << 12,     /* ::ffff:a.b.c.d (and ::ffff:0:a.b.c.d, RFC 2765) */
    FLOE_ADDR_V4_COMPATIBLE = 1u << 13, /* ::a.b.c.d (deprecated) */
    FLOE_ADDR_6TO4 = 1u << 14,          /* 2002:AABB:CCDD::/48 */
    FLOE_ADDR_NAT64 = 1u << 15,         /* 64:ff9b::/96 (RFC 6052) */
    FLOE_ADDR_NAT64_LOCAL = 1u << 16,   /* 64:ff9b:1::/48 (RFC 8215), never global */
    FLOE_ADDR_TEREDO = 1u << 17,        /* 2001:0::/32 (server and obfuscated client) */
};

/* Flags that make an address unsuitable as a globally reachable peer. */
#define FLOE_ADDR_NOT_GLOBAL                                                                       \
    (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_LOOPBACK | FLOE_ADDR_PRIVATE | FLOE_ADDR_CGNAT |            \
     FLOE_ADDR_LINK_LOCAL | FLOE_ADDR_MULTICAST | FLOE_ADDR_DOCUMENTATION | FLOE_ADDR_BROADCAST |  \
     FLOE_ADDR_RESERVED | FLOE_ADDR_NAT64_LOCAL)

typedef struct floe_addr_info {
    uint32_t flags;        /* enum floe_addr_class bits */
    int n_embedded;        /* how many IPv4 addresses the IPv6 form carries (0..2) */
    floe_addr embedded[2]; /* those IPv4 addresses (port copied from the input);
                              Teredo carries two: the server and the client */
} floe_addr_info;

/* Classifies a; info may be NULL. Returns the flags. A FLOE_AF_NONE address returns
 * FLOE_ADDR_UNSPECIFIED. */
uint32_t floe_addr_classify(const floe_addr *a, floe_addr_info *info);

/* True when neither a nor any IPv4 address it embeds has a FLOE_ADDR_NOT_GLOBAL flag. */
bool floe_addr_is_global(const floe_addr *a);

/* Names the flags ("loopback,v4-mapped") into buf for logs and JSON; returns length. */
size_t floe_addr_class_format(uint32_t flags, char *buf, size_t cap);

/* An address prefix ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7" = /32), for the
 * operator's allow and deny lists. */
typedef struct floe_addr_prefix {
    floe_addr addr; /* port ignored; bits beyond len are zero */
    uint8_t len;    /* 0..32 or 0..128 */
} floe_addr_prefix;

/* Parses "IP" or "IP/LEN"; bits beyond LEN must be zero (FLOE_ERR_ADDR otherwise, so a
 * typo like 10.1.2.3/8 is caught rather than silently widened). */
int floe_addr_prefix_parse(const char *s, floe_addr_prefix *out);
/* Formats "IP/LEN"; returns the length written. */
size_t floe_addr_prefix_format(const floe_addr_prefix *p, char *buf, size_t cap);
/* True when a (same family) lies inside p. */
bool floe_addr_prefix_match(const floe_addr_prefix *p, const floe_addr *a);
/* True when a, or any IPv4 address its IPv6 form carries (mapped, compatible, 6to4,
 * NAT64, Teredo), lies inside p: the check a deny list needs. */
bool floe_addr_prefix_match_any_form(const floe_addr_prefix *p, const floe_addr *a);

#ifdef __cplusplus
}
#endif
#endif
