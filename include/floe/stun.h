/* floe: STUN messages (RFC 8489, with RFC 5389 and classic RFC 3489 compatibility).
 *
 * Decoding never allocates: floe_stun_msg_decode() validates a datagram in place and
 * fills a floe_stun_msg that points into the caller's buffer, so the buffer must outlive
 * the message view. Encoding writes into a caller buffer through a floe_stun_builder.
 *
 *   floe_stun_msg m;
 *   if (floe_stun_msg_decode(buf, len, 0, &m) == FLOE_OK && m.cls == FLOE_STUN_REQUEST) {
 *       floe_stun_builder b;
 *       floe_stun_builder_init(&b, out, sizeof out, m.method, FLOE_STUN_SUCCESS, m.tid);
 *       floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &peer);
 *       floe_stun_add_fingerprint(&b);
 *       floe_stun_builder_finish(&b, &out_len);
 *   }
 *
 * The attribute catalogue covers RFC 8489, RFC 8445 (ICE), RFC 8656 (TURN), RFC 6062
 * (TURN TCP), RFC 5780 (behaviour discovery) and the RFC 3489 legacy attributes; a known
 * attribute with an impossible length makes the message malformed. */
#ifndef FLOE_STUN_H
#define FLOE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/bytes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_STUN_MAGIC_COOKIE 0x2112A442u /* RFC 8489 §5 */
#define FLOE_STUN_HEADER_LEN 20            /* RFC 8489 §5 */
#define FLOE_STUN_TID_LEN 12               /* RFC 8489 §5 */
#define FLOE_STUN_CLASSIC_TID_LEN 16       /* RFC 3489 §11.1: 128-bit transaction ID */
#define FLOE_STUN_PORT 3478                /* RFC 8489 §18.6 */
#define FLOE_STUNS_PORT 5349               /* RFC 8489 §18.6, STUN over TLS/DTLS */
#define FLOE_STUN_MAX_MSG (FLOE_STUN_HEADER_LEN + 65532) /* 16-bit length, a multiple of 4 */
#define FLOE_STUN_MAX_ATTRS 48                /* decode cap: more attributes is FLOE_ERR_LIMIT */
#define FLOE_STUN_MAX_UNKNOWN 16              /* unknown comprehension-required types kept */
#define FLOE_STUN_FINGERPRINT_XOR 0x5354554Eu /* RFC 8489 §14.7 */

/* Length limits of RFC 8489 §14 (bytes, after UTF-8 encoding). */
#define FLOE_STUN_MAX_USERNAME 513 /* §14.3: less than 513 bytes */
#define FLOE_STUN_MAX_REALM 763    /* §14.9: fewer than 128 characters */
#define FLOE_STUN_MAX_NONCE 763    /* §14.10 */
#define FLOE_STUN_MAX_SOFTWARE 763 /* §14.14 */
#define FLOE_STUN_MAX_REASON 763   /* §14.8 */

typedef enum floe_stun_class {
    FLOE_STUN_REQUEST = 0,
    FLOE_STUN_INDICATION = 1,
    FLOE_STUN_SUCCESS = 2,
    FLOE_STUN_ERROR = 3,
} floe_stun_class;

enum floe_stun_method {
    FLOE_STUN_BINDING = 0x001,            /* RFC 8489 */
    FLOE_STUN_ALLOCATE = 0x003,           /* RFC 8656 */
    FLOE_STUN_REFRESH = 0x004,            /* RFC 8656 */
    FLOE_STUN_SEND = 0x006,               /* RFC 8656 */
    FLOE_STUN_DATA = 0x007,               /* RFC 8656 */
    FLOE_STUN_CREATE_PERMISSION = 0x008,  /* RFC 8656 */
    FLOE_STUN_CHANNEL_BIND = 0x009,       /* RFC 8656 */
    FLOE_STUN_CONNECT = 0x00a,            /* RFC 6062 */
    FLOE_STUN_CONNECTION_BIND = 0x00b,    /* RFC 6062 */
    FLOE_STUN_CONNECTION_ATTEMPT = 0x00c, /* RFC 6062 */
};

enum floe_stun_attr_type {
    /* comprehension-required (0x0000-0x7FFF) */
    FLOE_STUN_ATTR_MAPPED_ADDRESS = 0x0001,           /* RFC 8489 §14.1 */
    FLOE_STUN_ATTR_RESPONSE_ADDRESS = 0x0002,         /* RFC 3489 §11.2.2 */
    FLOE_STUN_ATTR_CHANGE_REQUEST = 0x0003,           /* RFC 5780 §7.2 */
    FLOE_STUN_ATTR_SOURCE_ADDRESS = 0x0004,           /* RFC 3489 §11.2.5 */
    FLOE_STUN_ATTR_CHANGED_ADDRESS = 0x0005,          /* RFC 3489 §11.2.3 */
    FLOE_STUN_ATTR_USERNAME = 0x0006,                 /* RFC 8489 §14.3 */
    FLOE_STUN_ATTR_PASSWORD = 0x0007,                 /* RFC 3489 §11.2.7 */
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,        /* RFC 8489 §14.5 */
    FLOE_STUN_ATTR_ERROR_CODE = 0x0009,               /* RFC 8489 §14.8 */
    FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,       /* RFC 8489 §14.13 */
    FLOE_STUN_ATTR_REFLECTED_FROM = 0x000B,           /* RFC 3489 §11.2.11 */
    FLOE_STUN_ATTR_CHANNEL_NUMBER = 0x000C,           /* RFC 8656 §18.1 */
    FLOE_STUN_ATTR_LIFETIME = 0x000D,                 /* RFC 8656 §18.2 */
    FLOE_STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,         /* RFC 8656 §18.3 */
    FLOE_STUN_ATTR_DATA = 0x0013,                     /* RFC 8656 §18.4 */
    FLOE_STUN_ATTR_REALM = 0x0014,                    /* RFC 8489 §14.9 */
    FLOE_STUN_ATTR_NONCE = 0x0015,                    /* RFC 8489 §14.10 */
    FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,      /* RFC 8656 §18.5 */
    FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017, /* RFC 8656 §18.6 */
    FLOE_STUN_ATTR_EVEN_PORT = 0x0018,                /* RFC 8656 §18.7 */
    FLOE_STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,      /* RFC 8656 §18.8 */
    FLOE_STUN_ATTR_DONT_FRAGMENT = 0x001A,            /* RFC 8656 §18.9 */
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C, /* RFC 8489 §14.6 */
    FLOE_STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,       /* RFC 8489 §14.12 */
    FLOE_STUN_ATTR_USERHASH = 0x001E,                 /* RFC 8489 §14.4 */
    FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,       /* RFC 8489 §14.2 */
    FLOE_STUN_ATTR_RESERVATION_TOKEN = 0x0022,        /* RFC 8656 §18.10 */
    FLOE_STUN_ATTR_PRIORITY = 0x0024,                 /* RFC 8445 §16.1 */
    FLOE_STUN_ATTR_USE_CANDIDATE = 0x0025,            /* RFC 8445 §16.1 */
    FLOE_STUN_ATTR_PADDING = 0x0026,                  /* RFC 5780 §7.6 */
    FLOE_STUN_ATTR_RESPONSE_PORT = 0x0027,            /* RFC 5780 §7.5 */
    FLOE_STUN_ATTR_CONNECTION_ID = 0x002A,            /* RFC 6062 §6.2.1 */
    /* comprehension-optional (0x8000-0xFFFF) */
    FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000, /* RFC 8656 §18.11 */
    FLOE_STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,        /* RFC 8656 §18.12 */
    FLOE_STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,       /* RFC 8489 §14.11 */
    FLOE_STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,          /* RFC 8489 §14.16 */
    FLOE_STUN_ATTR_ICMP = 0x8004,                      /* RFC 8656 §18.13 */
    FLOE_STUN_ATTR_SOFTWARE = 0x8022,                  /* RFC 8489 §14.14 */
    FLOE_STUN_ATTR_ALTERNATE_SERVER = 0x8023,          /* RFC 8489 §14.15 */
    FLOE_STUN_ATTR_CACHE_TIMEOUT = 0x8027,             /* RFC 5780 §7.7 */
    FLOE_STUN_ATTR_FINGERPRINT = 0x8028,               /* RFC 8489 §14.7 */
    FLOE_STUN_ATTR_ICE_CONTROLLED = 0x8029,            /* RFC 8445 §16.1 */
    FLOE_STUN_ATTR_ICE_CONTROLLING = 0x802A,           /* RFC 8445 §16.1 */
    FLOE_STUN_ATTR_RESPONSE_ORIGIN = 0x802B,           /* RFC 5780 §7.3 */
    FLOE_STUN_ATTR_OTHER_ADDRESS = 0x802C,             /* RFC 5780 §7.4 */
};

/* CHANGE-REQUEST flags, RFC 5780 §7.2. */
#define FLOE_STUN_CHANGE_IP 0x4u
#define FLOE_STUN_CHANGE_PORT 0x2u

/* Error codes used by floe (RFC 8489 §14.8, RFC 8656 §18.12, RFC 8445 §7.3.1.1). */
enum floe_stun_error_code {
    FLOE_STUN_ERR_TRY_ALTERNATE = 300,
    FLOE_STUN_ERR_BAD_REQUEST = 400,
    FLOE_STUN_ERR_UNAUTHORIZED = 401,
    FLOE_STUN_ERR_FORBIDDEN = 403,
    FLOE_STUN_ERR_MOBILITY_FORBIDDEN = 405,
    FLOE_STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
    FLOE_STUN_ERR_ALLOCATION_MISMATCH = 437,
    FLOE_STUN_ERR_STALE_NONCE = 438,
    FLOE_STUN_ERR_ADDRESS_FAMILY = 440,
    FLOE_STUN_ERR_WRONG_CREDENTIALS = 441,
    FLOE_STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
    FLOE_STUN_ERR_PEER_ADDRESS_FAMILY = 443,
    FLOE_STUN_ERR_CONNECTION_EXISTS = 446,
    FLOE_STUN_ERR_CONNECTION_FAILURE = 447,
    FLOE_STUN_ERR_ALLOCATION_QUOTA = 486,
    FLOE_STUN_ERR_ROLE_CONFLICT = 487,
    FLOE_STUN_ERR_SERVER_ERROR = 500,
    FLOE_STUN_ERR_INSUFFICIENT_CAPACITY = 508,
};

/* PASSWORD-ALGORITHM values, RFC 8489 §18.5. */
enum floe_stun_password_alg {
    FLOE_STUN_PWALG_MD5 = 0x0001,
    FLOE_STUN_PWALG_SHA256 = 0x0002,
};

/* ---- message type ---------------------------------------------------------------- */

/* Packs method (12 bits) and class into the 14-bit message type (RFC 8489 §5). */
uint16_t floe_stun_type(uint16_t method, floe_stun_class cls);
uint16_t floe_stun_type_method(uint16_t type);
floe_stun_class floe_stun_type_class(uint16_t type);
/* "Binding", "Allocate", ... or "unknown". */
const char *floe_stun_method_name(uint16_t method);
/* "request", "indication", "success response", "error response". */
const char *floe_stun_class_name(floe_stun_class cls);
/* "XOR-MAPPED-ADDRESS", ... or NULL for an unknown type. */
const char *floe_stun_attr_name(uint16_t type);
/* Reason phrase of RFC 8489 §14.8 / RFC 8656 for a code, or "" when unknown. */
const char *floe_stun_error_reason(int code);
/* Comprehension-required attribute types are those below 0x8000 (RFC 8489 §14). */
static inline bool floe_stun_attr_required(uint16_t type) {
    return type < 0x8000;
}

/* ---- quick checks ---------------------------------------------------------------- */

/* RFC 7983 demultiplexing: true when the first byte is 0..3 and the datagram is long
 * enough to be STUN (cheap; does not validate). */
bool floe_stun_looks_like(const uint8_t *p, size_t len);

/* Stream framing (STUN over TCP/TLS, RFC 8489 §6.2.2): given the first bytes of a
 * stream, stores in *need the length of the whole message once the header is there.
 * Returns FLOE_OK, FLOE_ERR_TRUNCATED (fewer than 20 bytes so far) or
 * FLOE_ERR_NOT_STUN (the header cannot start a STUN message). */
int floe_stun_frame_len(const uint8_t *p, size_t len, size_t *need);

/* ---- decoding -------------------------------------------------------------------- */

typedef struct floe_stun_attr {
    uint16_t type;
    uint16_t len;       /* value length, without padding */
    const uint8_t *val; /* points into the message buffer */
} floe_stun_attr;

/* Decode flags. */
#define FLOE_STUN_DECODE_CLASSIC 0x1u /* accept RFC 3489 messages (no magic cookie) */

typedef struct floe_stun_msg {
    uint16_t type; /* the raw 14-bit message type */
    uint16_t method;
    floe_stun_class cls;
    bool classic; /* RFC 3489 message: no magic cookie, 16-byte transaction ID */
    uint8_t tid[FLOE_STUN_CLASSIC_TID_LEN]; /* 12 bytes; 16 for a classic message */
    const uint8_t *raw;                     /* the whole message */
    size_t raw_len;                         /* header + body, as announced by the length field */
    size_t n_attrs; /* attributes that count (those after the integrity ones do not) */
    floe_stun_attr attrs[FLOE_STUN_MAX_ATTRS];
    int16_t mi;         /* index in attrs of MESSAGE-INTEGRITY, or -1 */
    int16_t mi256;      /* index of MESSAGE-INTEGRITY-SHA256, or -1 */
    int16_t fp;         /* index of FINGERPRINT, or -1 */
    uint16_t n_ignored; /* attributes after MESSAGE-INTEGRITY* that RFC 8489 says to ignore */
    uint16_t n_unknown; /* unknown comprehension-required attributes (first ones kept) */
    uint16_t unknown[FLOE_STUN_MAX_UNKNOWN];
} floe_stun_msg;

/* Validates and indexes a STUN message in p[0..len). The datagram may be longer than
 * the message only if it is a stream (caller frames first); for UDP pass the datagram.
 * Checks: header (top two bits zero, length multiple of 4 and within len, magic
 * cookie unless FLOE_STUN_DECODE_CLASSIC), every attribute's framing and, for known
 * types, its value length; FINGERPRINT last and correct. Returns FLOE_OK,
 * FLOE_ERR_NOT_STUN, FLOE_ERR_TRUNCATED, FLOE_ERR_MALFORMED, FLOE_ERR_FINGERPRINT or
 * FLOE_ERR_LIMIT (more than FLOE_STUN_MAX_ATTRS attributes). Unknown
 * comprehension-required attributes do not fail decoding: they are listed in
 * m->unknown for the caller to answer with 420 (requests) or discard. */
int floe_stun_msg_decode(const uint8_t *p, size_t len, unsigned flags, floe_stun_msg *m);

/* First attribute of the given type, or NULL (RFC 8489 §14: only the first counts). */
const floe_stun_attr *floe_stun_msg_find(const floe_stun_msg *m, uint16_t type);

/* Typed readers of the first attribute of a type. Return FLOE_OK, FLOE_ERR_NOT_FOUND or
 * FLOE_ERR_MALFORMED. Address types that are XOR-encoded (XOR-MAPPED-ADDRESS,
 * XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS) are decoded with the message's cookie and
 * transaction ID automatically. */
int floe_stun_msg_get_addr(const floe_stun_msg *m, uint16_t type, floe_addr *out);
int floe_stun_msg_get_u32(const floe_stun_msg *m, uint16_t type, uint32_t *out);
int floe_stun_msg_get_u64(const floe_stun_msg *m, uint16_t type, uint64_t *out);
/* A text attribute (USERNAME, REALM, NONCE, SOFTWARE, ...): pointer into the message,
 * not NUL-terminated. */
int floe_stun_msg_get_string(const floe_stun_msg *m, uint16_t type, const char **s, size_t *len);
/* ERROR-CODE: code 300..699 and reason phrase (not NUL-terminated). */
int floe_stun_msg_get_error(const floe_stun_msg *m, int *code, const char **reason,
                            size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: up to max types into out, count in *n. */
int floe_stun_msg_get_unknown(const floe_stun_msg *m, uint16_t *out, size_t max, size_t *n);

/* Decoders of one attribute value (used by the above and by the attribute walk). */
int floe_stun_attr_addr(const floe_stun_msg *m, const floe_stun_attr *a, floe_addr *out);
/* True for the attribute types whose value is a transport address; the XOR ones are
 * XOR-encoded with the magic cookie and transaction ID (RFC 8489 §14.2). */
bool floe_stun_attr_is_address(uint16_t type);
bool floe_stun_attr_is_xor_address(uint16_t type);
/* Checks a known attribute's value length (and fixed fields); unknown types pass. */
int floe_stun_attr_check(const floe_stun_attr *a);

/* Attribute walk over a message body (everything after the 20-byte header): reads the
 * next type-length-value and skips its padding. Returns FLOE_OK, FLOE_ERR_NOT_FOUND at
 * the clean end, or FLOE_ERR_TRUNCATED. */
int floe_stun_attr_next(floe_rd *body, floe_stun_attr *out);

/* ---- integrity and fingerprint ---------------------------------------------------- */

/* Checks MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY, with key.
 * FLOE_OK, FLOE_ERR_NOT_FOUND (neither present) or FLOE_ERR_INTEGRITY. */
int floe_stun_msg_check_integrity(const floe_stun_msg *m, const uint8_t *key, size_t key_len);

/* CRC-32 of p[0..len) XOR 0x5354554E (RFC 8489 §14.7), via zlib. */
uint32_t floe_stun_fingerprint(const uint8_t *p, size_t len);

/* ---- encoding -------------------------------------------------------------------- */

typedef struct floe_stun_builder {
    floe_wr w;
    bool classic;
    uint8_t pad; /* the byte attribute values are padded with (0 unless set) */
    int err;     /* first error met; FLOE_OK while all is well */
} floe_stun_builder;

/* Starts a message with a 12-byte transaction ID (RFC 8489). */
int floe_stun_builder_init(floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                           floe_stun_class cls, const uint8_t tid[FLOE_STUN_TID_LEN]);
/* Starts an RFC 3489 message with a 16-byte transaction ID (no magic cookie). */
int floe_stun_builder_init_classic(floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                                   floe_stun_class cls,
                                   const uint8_t tid[FLOE_STUN_CLASSIC_TID_LEN]);

/* Chooses the byte that pads the attributes appended from now on (RFC 8489 §14: any value;
 * zero by default). RFC 5769's vectors pad with spaces. */
void floe_stun_builder_set_pad(floe_stun_builder *b, uint8_t pad);

/* Appends an attribute (value padded to 4 bytes with the pad byte). Errors are sticky in b->err
 * and reported by floe_stun_builder_finish(). */
void floe_stun_add(floe_stun_builder *b, uint16_t type, const void *val, size_t len);
void floe_stun_add_u32(floe_stun_builder *b, uint16_t type, uint32_t v);
void floe_stun_add_u64(floe_stun_builder *b, uint16_t type, uint64_t v);
void floe_stun_add_string(floe_stun_builder *b, uint16_t type, const char *s);
/* Plain address attribute (MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN, ...). */
void floe_stun_add_addr(floe_stun_builder *b, uint16_t type, const floe_addr *a);
/* XOR-encoded address attribute (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, ...). */
void floe_stun_add_xor_addr(floe_stun_builder *b, uint16_t type, const floe_addr *a);
/* ERROR-CODE with reason (NULL reason = the standard phrase, "" = none). */
void floe_stun_add_error(floe_stun_builder *b, int code, const char *reason);
void floe_stun_add_unknown(floe_stun_builder *b, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY (HMAC-SHA1) over everything so far. */
void floe_stun_add_integrity(floe_stun_builder *b, const uint8_t *key, size_t key_len);
/* MESSAGE-INTEGRITY-SHA256, truncated to trunc bytes (16..32, multiple of 4). */
void floe_stun_add_integrity_sha256(floe_stun_builder *b, const uint8_t *key, size_t key_len,
                                    size_t trunc);
void floe_stun_add_fingerprint(floe_stun_builder *b);
/* Ends the message: *len gets its size. Returns b->err (FLOE_ERR_NOSPACE, ...). */
int floe_stun_builder_finish(floe_stun_builder *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
