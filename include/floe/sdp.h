/* floe: Session Description Protocol (RFC 8866, formerly RFC 4566) and the RFC 3264
 * offer/answer rules for media lines.
 *
 * Parsing never allocates and never copies: floe_sdp_parse() checks a whole description
 * against the RFC 8866 grammar and fills a floe_sdp whose strings are slices
 * (floe_sdp_str: pointer + length) into the caller's text, so the text must outlive the
 * view. Every list has a fixed cap; going past one is FLOE_ERR_LIMIT, never growth.
 *
 *   floe_sdp sdp;               // large (about 30 KiB): static, heap or a big stack
 *   floe_sdp_error e;
 *   int rc = floe_sdp_parse(body, body_len, &sdp, &e, &stats);
 *   if (rc != FLOE_OK) log("bad SDP line %d: %s (%s)", e.line, e.reason, floe_strerror(rc));
 *
 * Printing goes the other way: floe_sdp_print() writes any floe_sdp, parsed or built by
 * hand, into a caller buffer (CRLF line ends, NUL-terminated). Everything it writes
 * parses back to an equal description (floe_sdp_equal); a field that would not (a value
 * holding a line break, a token holding a space, a bad address) makes it fail with
 * FLOE_ERR_INVAL and a reason, never write a broken description.
 *
 * Building: floe_sdp_init() gives a minimal valid session ("v=0", "s=-", "t=0 0"); set
 * the origin, add media with floe_sdp_media_add() and attributes with
 * floe_sdp_attr_add(). The slices of a built description point at the caller's strings;
 * text that has to be made up (numbers, formatted addresses, candidate lines) goes into
 * a floe_sdp_arena, a bump allocator over a caller buffer.
 *
 * What the parser accepts (RFC 8866 §5 and §9), and its deliberate choices:
 *   - lines end in CRLF or a bare LF; the last line may lack its line end; empty lines
 *     are allowed only at the very end; a CR not followed by LF and a NUL byte anywhere
 *     are errors; the whole text is at most FLOE_SDP_MAX_LEN bytes;
 *   - every line is "<lowercase letter>=<value>" with no space around '='; a type
 *     letter RFC 8866 does not define rejects the description (§5: "completely ignore");
 *   - the order is enforced: v=, o=, s= are the first three lines, then i= u= e=* p=*
 *     c= b=* (t= r=*)+ z= k= a=*, then media sections m= i= c= b=* k= a=*; lines that
 *     may appear once do so at most once (one c= per media section: layered multicast
 *     with several c= lines is not supported);
 *   - v= is 0; o= has six fields with numeric session id and version (at most 20
 *     digits); s= may be empty (RFC 8839's own examples send "s="), i= u= e= p= k= may
 *     not; at least one t=; every media section has a c=, or there is one at session
 *     level;
 *   - addresses of nettype IN: an IP4 or IP6 literal (checked with floe_addr_parse and
 *     kept as a floe_addr as well) or a domain name, kept as text. A literal of the wrong
 *     family for its addrtype is an error. IPv4 multicast c= addresses need "/ttl"
 *     (0..255) and may add "/count"; IPv6 multicast may add "/count"; unicast may have
 *     neither. Other nettypes and addrtypes are kept as opaque text;
 *   - m= ports are 0..65535, an optional "/count" is 1..65535; the proto is
 *     token *("/" token); at least one format, each a token.
 */
#ifndef FLOE_SDP_H
#define FLOE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- caps ------------------------------------------------------------------------- */

#define FLOE_SDP_MAX_LEN 65536  /* bytes of SDP text we accept (ours; SIP bodies are small) */
#define FLOE_SDP_MAX_MEDIA 8    /* m= sections */
#define FLOE_SDP_MAX_ATTRS 64   /* a= lines per section (session or one media) */
#define FLOE_SDP_MAX_FORMATS 32 /* formats on one m= line */
#define FLOE_SDP_MAX_BW 4       /* b= lines per section */
#define FLOE_SDP_MAX_TIMES 4    /* t= lines */
#define FLOE_SDP_MAX_REPEATS 4  /* r= lines per t= */
#define FLOE_SDP_MAX_CONTACTS 4 /* e= lines, and p= lines */
#define FLOE_SDP_MAX_NUMBER_DIGITS                                                                 \
    20 /* sess-id, sess-version, times, bandwidths (fit in 64 bits) */

/* RFC 8866 §5.1: the only protocol version. */
#define FLOE_SDP_VERSION 0

/* ---- the description ---------------------------------------------------------------- */

/* A slice of text. p == NULL means "absent" for optional lines and attribute values;
 * a present slice may have len 0 only where the grammar allows an empty value. */
typedef struct floe_sdp_str {
    const char *p;
    size_t len;
} floe_sdp_str;

/* Where and why parsing (or printing) failed. reason is a static string. line is
 * 1-based; 0 when the problem is not tied to one line (input too long, for example). */
typedef struct floe_sdp_error {
    int line;
    const char *reason;
} floe_sdp_error;

/* Counters a caller may keep across calls (floe_sdp_parse bumps them when given). */
typedef struct floe_sdp_stats {
    uint64_t parsed;    /* descriptions accepted */
    uint64_t malformed; /* rejected: grammar, order, missing lines, bad values */
    uint64_t limit;     /* rejected: a cap above was reached (too long, too many lines) */
} floe_sdp_stats;

/* o= (RFC 8866 §5.2). */
typedef struct floe_sdp_origin {
    floe_sdp_str username;     /* "-" when there is none */
    floe_sdp_str sess_id;      /* digits */
    floe_sdp_str sess_version; /* digits; RFC 3264 §8 bumps it on every new offer */
    floe_sdp_str nettype;      /* "IN" */
    floe_sdp_str addrtype;     /* "IP4" or "IP6" */
    floe_sdp_str address;      /* as written (literal or domain name) */
    floe_addr addr;            /* the literal; FLOE_AF_NONE for a name or other nettype */
} floe_sdp_origin;

/* c= (RFC 8866 §5.7). When printing, empty nettype/addrtype/address are made from addr
 * ("IN", "IP4"/"IP6", the RFC 5952 text), so floe_sdp_conn_set() is all a builder needs. */
typedef struct floe_sdp_conn {
    bool present;
    floe_sdp_str nettype;
    floe_sdp_str addrtype;
    floe_sdp_str address; /* without the "/ttl/count" suffix */
    floe_addr addr;       /* the literal (port 0); FLOE_AF_NONE for a name or other nettype */
    int ttl;              /* IPv4 multicast TTL 0..255; -1 when absent */
    unsigned n_addrs;     /* multicast address count; 0 when absent */
} floe_sdp_conn;

/* b=<type>:<value> (RFC 8866 §5.8), e.g. AS, CT, TIAS, RS, RR. */
typedef struct floe_sdp_bw {
    floe_sdp_str type;
    uint64_t value;
} floe_sdp_bw;

/* t=<start> <stop> and its r= lines (RFC 8866 §5.9, §5.10; r= kept as text). */
typedef struct floe_sdp_time {
    uint64_t start, stop; /* NTP seconds; 0 0 = unbounded */
    floe_sdp_str repeat[FLOE_SDP_MAX_REPEATS];
    size_t n_repeats;
} floe_sdp_time;

/* a=<name> or a=<name>:<value> (RFC 8866 §5.13). value.p == NULL for a property
 * attribute (no ':'); a value may be empty ("a=x:"). line is the input line number
 * (0 for attributes added by a builder), so the ICE layer can point at a bad line. */
typedef struct floe_sdp_attr {
    floe_sdp_str name;
    floe_sdp_str value;
    int line;
} floe_sdp_attr;

typedef struct floe_sdp_attrs {
    floe_sdp_attr a[FLOE_SDP_MAX_ATTRS];
    size_t n;
} floe_sdp_attrs;

/* One media section: m= (RFC 8866 §5.14) and what follows it. */
typedef struct floe_sdp_media {
    floe_sdp_str media; /* "audio", "video", "application", ... */
    uint16_t port;      /* 0 = rejected or disabled (RFC 3264 §6, §8.2) */
    uint16_t n_ports;   /* the "/count" after the port; 0 when absent */
    floe_sdp_str proto; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
    floe_sdp_str fmt[FLOE_SDP_MAX_FORMATS];
    size_t n_fmt;
    floe_sdp_str info; /* i= */
    floe_sdp_conn conn;
    floe_sdp_bw bw[FLOE_SDP_MAX_BW];
    size_t n_bw;
    floe_sdp_str key; /* k= (obsolete, kept verbatim) */
    floe_sdp_attrs attrs;
    int line; /* input line of the m= line; 0 when built */
} floe_sdp_media;

typedef struct floe_sdp {
    unsigned version; /* always FLOE_SDP_VERSION */
    floe_sdp_origin origin;
    floe_sdp_str name; /* s= */
    floe_sdp_str info; /* i= */
    floe_sdp_str uri;  /* u= */
    floe_sdp_str email[FLOE_SDP_MAX_CONTACTS];
    size_t n_email;
    floe_sdp_str phone[FLOE_SDP_MAX_CONTACTS];
    size_t n_phone;
    floe_sdp_conn conn; /* session-level c= */
    floe_sdp_bw bw[FLOE_SDP_MAX_BW];
    size_t n_bw;
    floe_sdp_time time[FLOE_SDP_MAX_TIMES];
    size_t n_time;
    floe_sdp_str zone; /* z= (kept as text) */
    floe_sdp_str key;  /* k= */
    floe_sdp_attrs attrs;
    floe_sdp_media media[FLOE_SDP_MAX_MEDIA];
    size_t n_media;
} floe_sdp;

/* ---- parse, print, compare ------------------------------------------------------------ */

/* Parses len bytes of text into *out (slices into text). On failure returns
 * FLOE_ERR_MALFORMED or FLOE_ERR_LIMIT (FLOE_ERR_INVAL for NULL arguments), fills *err
 * when given, bumps *stats when given; *out is then unspecified. */
int floe_sdp_parse(const char *text, size_t len, floe_sdp *out, floe_sdp_error *err,
                   floe_sdp_stats *stats);

/* Writes s into buf (CRLF line ends, then a NUL) and sets *len (may be NULL) to the
 * length without the NUL. FLOE_ERR_NOSPACE when cap is too small (buf then holds a
 * truncated, NUL-terminated prefix when cap > 0); FLOE_ERR_INVAL with *err when a field
 * would not parse back (err->line is then the output line). */
int floe_sdp_print(const floe_sdp *s, char *buf, size_t cap, size_t *len, floe_sdp_error *err);

/* True when a and b describe the same session: every field, list and attribute in
 * order, compared by content (slices by bytes, addresses with floe_addr_equal). Line
 * numbers are ignored. parse(print(x)) is equal to x for every parsed x. */
bool floe_sdp_equal(const floe_sdp *a, const floe_sdp *b);

/* ---- slices --------------------------------------------------------------------------- */

/* A slice over a NUL-terminated string (NULL gives an absent slice). */
floe_sdp_str floe_sdp_str_c(const char *s);
/* True when s holds exactly the bytes of lit (case-sensitive). */
bool floe_sdp_str_eq(floe_sdp_str s, const char *lit);
/* The same, ignoring ASCII case. */
bool floe_sdp_str_ieq(floe_sdp_str s, const char *lit);

/* ---- arena ------------------------------------------------------------------------------ */

/* A bump allocator over a caller buffer for text a built description points at.
 * Nothing is freed: re-init to reuse. */
typedef struct floe_sdp_arena {
    char *buf;
    size_t cap;
    size_t len;
} floe_sdp_arena;

void floe_sdp_arena_init(floe_sdp_arena *a, char *buf, size_t cap);
/* Copies n bytes into the arena and sets *out to the copy. FLOE_ERR_NOSPACE when full. */
int floe_sdp_arena_put(floe_sdp_arena *a, const char *p, size_t n, floe_sdp_str *out);
/* Writes v in decimal into the arena. */
int floe_sdp_arena_u64(floe_sdp_arena *a, uint64_t v, floe_sdp_str *out);

/* ---- building ------------------------------------------------------------------------- */

/* Clears s to a minimal session: v=0, o=- 0 0 (address still to set), s=-, t=0 0. */
void floe_sdp_init(floe_sdp *s);

/* Sets the origin. username NULL means "-"; sess_id and sess_version are written into
 * the arena as decimal. FLOE_ERR_NOSPACE when the arena is full. */
int floe_sdp_origin_set(floe_sdp *s, const char *username, uint64_t sess_id, uint64_t sess_version,
                        const floe_addr *addr, floe_sdp_arena *ar);

/* Marks c present with the IN IP4/IP6 literal a (port ignored) and clears the text
 * fields, so the printer writes the address in its canonical form. */
void floe_sdp_conn_set(floe_sdp_conn *c, const floe_addr *a);

/* Appends a media section "m=<media> <port> <proto>" with no formats yet; *out (may be
 * NULL) points at it. The strings must outlive s. FLOE_ERR_LIMIT past
 * FLOE_SDP_MAX_MEDIA. */
int floe_sdp_media_add(floe_sdp *s, const char *media, uint16_t port, const char *proto,
                       floe_sdp_media **out);
/* Appends a format ("0", "101", "webrtc-datachannel"). FLOE_ERR_LIMIT when full. */
int floe_sdp_fmt_add(floe_sdp_media *m, const char *fmt);

/* Appends a=<name>[:<value>] (value NULL for a property attribute). The strings must
 * outlive the description. FLOE_ERR_LIMIT past FLOE_SDP_MAX_ATTRS. */
int floe_sdp_attr_add(floe_sdp_attrs *l, const char *name, const char *value);
/* The same with slices. */
int floe_sdp_attr_add_str(floe_sdp_attrs *l, floe_sdp_str name, floe_sdp_str value);

/* The first attribute named name after `after` (NULL: from the start), or NULL.
 * Names compare case-sensitively, as registered with IANA. Walk all of them with
 *   for (const floe_sdp_attr *a = NULL; (a = floe_sdp_attr_find(l, "candidate", a));) */
const floe_sdp_attr *floe_sdp_attr_find(const floe_sdp_attrs *l, const char *name,
                                        const floe_sdp_attr *after);

/* ---- offer/answer for media lines (RFC 3264) ------------------------------------------- */

/* Stream direction (RFC 3264 §5.1): bit 0 = we send, bit 1 = we receive. */
typedef enum floe_sdp_dir {
    FLOE_SDP_INACTIVE = 0,
    FLOE_SDP_SENDONLY = 1,
    FLOE_SDP_RECVONLY = 2,
    FLOE_SDP_SENDRECV = 3,
} floe_sdp_dir;

/* "inactive", "sendonly", "recvonly", "sendrecv". */
const char *floe_sdp_dir_name(floe_sdp_dir d);
/* The direction of media section mi as its author sees it: the first direction
 * attribute of the section, else of the session, else sendrecv (RFC 3264 §5.1). */
floe_sdp_dir floe_sdp_media_dir(const floe_sdp *s, size_t mi);

/* What the answerer can do for one kind of stream. */
typedef struct floe_sdp_caps {
    const char *media; /* "audio" (compared ignoring case) */
    const char *proto; /* "RTP/AVP"; NULL accepts any proto */
    /* Formats the answerer supports. Each entry is one of:
     *   - a static RTP payload type number below 96 ("0", "8");
     *   - an encoding "name/clock[/params]" ("PCMU/8000", "telephone-event/8000"),
     *     matched against the offer's a=rtpmap or, for static payload types without
     *     one, the RFC 3551 table; "name/clock" also matches any params;
     *   - an encoding name alone ("opus"), or a non-RTP format token ("t38"). */
    const char *const *formats;
    size_t n_formats;
    uint16_t port;    /* port of accepted streams (non-zero; the ICE layer may replace it) */
    floe_sdp_dir dir; /* the directions the answerer is willing to use */
} floe_sdp_caps;

/* RFC 3264 §6: fills answer->media with one media section per offered one, in order.
 * A section is accepted when its port is not 0, a caps entry matches its media and
 * proto, and at least one format is common; it then lists the common formats in the
 * offerer's order, copies their a=rtpmap and a=fmtp lines, and carries the direction
 * that mirrors the offer's (§6.1: sendonly <-> recvonly, inactive stays inactive) as
 * far as caps->dir allows. A rejected section has port 0 and the offer's formats.
 * Session-level lines of the answer are left to the caller (floe_sdp_init first).
 * Slices point into the offer, which must outlive the answer. FLOE_ERR_INVAL when a
 * matching caps entry has port 0; err (may be NULL) says which. */
int floe_sdp_answer_build(const floe_sdp *offer, const floe_sdp_caps *caps, size_t n_caps,
                          floe_sdp *answer, floe_sdp_error *err);

#ifdef __cplusplus
}
#endif
#endif
