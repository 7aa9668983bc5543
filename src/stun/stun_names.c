/* Message type packing and the human-readable names of methods, classes, attributes
 * and error codes. */
#include "floe/stun.h"

uint16_t floe_stun_type(uint16_t method, floe_stun_class cls) {
    /* RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0 */
    unsigned m = method & 0xfffu, c = (unsigned)cls & 3u;
    return (uint16_t)((m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 1u) << 4) |
                      ((c & 2u) << 7));
}

uint16_t floe_stun_type_method(uint16_t type) {
    return (uint16_t)((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2));
}

floe_stun_class floe_stun_type_class(uint16_t type) {
    return (floe_stun_class)(((type >> 4) & 1u) | ((type >> 7) & 2u));
}

const char *floe_stun_method_name(uint16_t method) {
    switch (method) {
    case FLOE_STUN_BINDING: return "Binding";
    case FLOE_STUN_ALLOCATE: return "Allocate";
    case FLOE_STUN_REFRESH: return "Refresh";
    case FLOE_STUN_SEND: return "Send";
    case FLOE_STUN_DATA: return "Data";
    case FLOE_STUN_CREATE_PERMISSION: return "CreatePermission";
    case FLOE_STUN_CHANNEL_BIND: return "ChannelBind";
    case FLOE_STUN_CONNECT: return "Connect";
    case FLOE_STUN_CONNECTION_BIND: return "ConnectionBind";
    case FLOE_STUN_CONNECTION_ATTEMPT: return "ConnectionAttempt";
    }
    return "unknown";
}

const char *floe_stun_class_name(floe_stun_class cls) {
    switch (cls) {
    case FLOE_STUN_REQUEST: return "request";
    case FLOE_STUN_INDICATION: return "indication";
    case FLOE_STUN_SUCCESS: return "success response";
    case FLOE_STUN_ERROR: return "error response";
    }
    return "unknown";
}

const char *floe_stun_attr_name(uint16_t type) {
    switch (type) {
    case FLOE_STUN_ATTR_MAPPED_ADDRESS: return "MAPPED-ADDRESS";
    case FLOE_STUN_ATTR_RESPONSE_ADDRESS: return "RESPONSE-ADDRESS";
    case FLOE_STUN_ATTR_CHANGE_REQUEST: return "CHANGE-REQUEST";
    case FLOE_STUN_ATTR_SOURCE_ADDRESS: return "SOURCE-ADDRESS";
    case FLOE_STUN_ATTR_CHANGED_ADDRESS: return "CHANGED-ADDRESS";
    case FLOE_STUN_ATTR_USERNAME: return "USERNAME";
    case FLOE_STUN_ATTR_PASSWORD: return "PASSWORD";
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY: return "MESSAGE-INTEGRITY";
    case FLOE_STUN_ATTR_ERROR_CODE: return "ERROR-CODE";
    case FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES: return "UNKNOWN-ATTRIBUTES";
    case FLOE_STUN_ATTR_REFLECTED_FROM: return "REFLECTED-FROM";
    case FLOE_STUN_ATTR_CHANNEL_NUMBER: return "CHANNEL-NUMBER";
    case FLOE_STUN_ATTR_LIFETIME: return "LIFETIME";
    case FLOE_STUN_ATTR_XOR_PEER_ADDRESS: return "XOR-PEER-ADDRESS";
    case FLOE_STUN_ATTR_DATA: return "DATA";
    case FLOE_STUN_ATTR_REALM: return "REALM";
    case FLOE_STUN_ATTR_NONCE: return "NONCE";
    case FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS: return "XOR-RELAYED-ADDRESS";
    case FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY: return "REQUESTED-ADDRESS-FAMILY";
    case FLOE_STUN_ATTR_EVEN_PORT: return "EVEN-PORT";
    case FLOE_STUN_ATTR_REQUESTED_TRANSPORT: return "REQUESTED-TRANSPORT";
    case FLOE_STUN_ATTR_DONT_FRAGMENT: return "DONT-FRAGMENT";
    case FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256: return "MESSAGE-INTEGRITY-SHA256";
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHM: return "PASSWORD-ALGORITHM";
    case FLOE_STUN_ATTR_USERHASH: return "USERHASH";
    case FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS: return "XOR-MAPPED-ADDRESS";
    case FLOE_STUN_ATTR_RESERVATION_TOKEN: return "RESERVATION-TOKEN";
    case FLOE_STUN_ATTR_PRIORITY: return "PRIORITY";
    case FLOE_STUN_ATTR_USE_CANDIDATE: return "USE-CANDIDATE";
    case FLOE_STUN_ATTR_PADDING: return "PADDING";
    case FLOE_STUN_ATTR_RESPONSE_PORT: return "RESPONSE-PORT";
    case FLOE_STUN_ATTR_CONNECTION_ID: return "CONNECTION-ID";
    case FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY: return "ADDITIONAL-ADDRESS-FAMILY";
    case FLOE_STUN_ATTR_ADDRESS_ERROR_CODE: return "ADDRESS-ERROR-CODE";
    case FLOE_STUN_ATTR_PASSWORD_ALGORITHMS: return "PASSWORD-ALGORITHMS";
    case FLOE_STUN_ATTR_ALTERNATE_DOMAIN: return "ALTERNATE-DOMAIN";
    case FLOE_STUN_ATTR_ICMP: return "ICMP";
    case FLOE_STUN_ATTR_SOFTWARE: return "SOFTWARE";
    case FLOE_STUN_ATTR_ALTERNATE_SERVER: return "ALTERNATE-SERVER";
    case FLOE_STUN_ATTR_CACHE_TIMEOUT: return "CACHE-TIMEOUT";
    case FLOE_STUN_ATTR_FINGERPRINT: return "FINGERPRINT";
    case FLOE_STUN_ATTR_ICE_CONTROLLED: return "ICE-CONTROLLED";
    case FLOE_STUN_ATTR_ICE_CONTROLLING: return "ICE-CONTROLLING";
    case FLOE_STUN_ATTR_RESPONSE_ORIGIN: return "RESPONSE-ORIGIN";
    case FLOE_STUN_ATTR_OTHER_ADDRESS: return "OTHER-ADDRESS";
    }
    return NULL;
}

const char *floe_stun_error_reason(int code) {
    switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 405: return "Mobility Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 446: return "Connection Already Exists";
    case 447: return "Connection Timeout or Failure";
    case 486: return "Allocation Quota Reached";
    case 487: return "Role Conflict";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    }
    return "";
}
