/* floe: one error enum for the whole library.
 *
 * Every function that can fail returns an int: FLOE_OK (0) or one of the negative
 * values below. floe_strerror() turns any of them into a short English sentence
 * suitable for a log line or a command-line error. */
#ifndef FLOE_ERR_H
#define FLOE_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_err {
    FLOE_OK = 0,
    FLOE_ERR_INVAL = -1,           /* an argument is out of range or inconsistent */
    FLOE_ERR_NOMEM = -2,           /* an allocation failed */
    FLOE_ERR_TRUNCATED = -3,       /* input ends before the structure it announces */
    FLOE_ERR_NOSPACE = -4,         /* the output buffer is too small */
    FLOE_ERR_MALFORMED = -5,       /* input violates the wire format */
    FLOE_ERR_NOT_STUN = -6,        /* the datagram is not a STUN message */
    FLOE_ERR_FINGERPRINT = -7,     /* FINGERPRINT present but wrong */
    FLOE_ERR_INTEGRITY = -8,       /* MESSAGE-INTEGRITY(-SHA256) missing or wrong */
    FLOE_ERR_UNKNOWN_ATTR = -9,    /* unknown comprehension-required attribute */
    FLOE_ERR_LIMIT = -10,          /* a configured cap was reached */
    FLOE_ERR_TIMEOUT = -11,        /* no answer before the deadline */
    FLOE_ERR_NOT_FOUND = -12,      /* the item asked for is absent */
    FLOE_ERR_UNSUPPORTED = -13,    /* valid but not supported here */
    FLOE_ERR_CRYPTO = -14,         /* the crypto library reported a failure */
    FLOE_ERR_IO = -15,             /* a system call failed (runtimes only) */
    FLOE_ERR_STATE = -16,          /* the call is not allowed in the current state */
    FLOE_ERR_AUTH = -17,           /* credentials rejected */
    FLOE_ERR_ADDR = -18,           /* an address string does not parse */
    FLOE_ERR_RESOLVE = -19,        /* a host name does not resolve */
    FLOE_ERR_UNREACHABLE = -20,    /* the peer refused or cannot be reached */
    FLOE_ERR_TLS = -21,            /* TLS handshake or record failure */
    FLOE_ERR_ERROR_RESPONSE = -22, /* the peer answered with a STUN error response */
    FLOE_ERR_CONFIG = -23,         /* a configuration file or option is wrong */
} floe_err;

/* A short description of err (any int; unknown values get a generic text). */
const char *floe_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
