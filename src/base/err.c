#include "floe/err.h"

const char *floe_strerror(int err) {
    switch ((floe_err)err) {
    case FLOE_OK: return "success";
    case FLOE_ERR_INVAL: return "invalid argument";
    case FLOE_ERR_NOMEM: return "out of memory";
    case FLOE_ERR_TRUNCATED: return "input truncated";
    case FLOE_ERR_NOSPACE: return "output buffer too small";
    case FLOE_ERR_MALFORMED: return "malformed input";
    case FLOE_ERR_NOT_STUN: return "not a STUN message";
    case FLOE_ERR_FINGERPRINT: return "FINGERPRINT mismatch";
    case FLOE_ERR_INTEGRITY: return "message integrity check failed";
    case FLOE_ERR_UNKNOWN_ATTR: return "unknown comprehension-required attribute";
    case FLOE_ERR_LIMIT: return "configured limit reached";
    case FLOE_ERR_TIMEOUT: return "timed out";
    case FLOE_ERR_NOT_FOUND: return "not found";
    case FLOE_ERR_UNSUPPORTED: return "not supported";
    case FLOE_ERR_CRYPTO: return "crypto library failure";
    case FLOE_ERR_IO: return "I/O error";
    case FLOE_ERR_STATE: return "not allowed in the current state";
    case FLOE_ERR_AUTH: return "authentication failed";
    case FLOE_ERR_ADDR: return "not a valid IP address";
    case FLOE_ERR_RESOLVE: return "host name does not resolve";
    case FLOE_ERR_UNREACHABLE: return "peer unreachable";
    case FLOE_ERR_TLS: return "TLS failure";
    case FLOE_ERR_ERROR_RESPONSE: return "peer answered with an error response";
    case FLOE_ERR_CONFIG: return "configuration error";
    }
    return "unknown error";
}
