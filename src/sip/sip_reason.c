/* Names of the reasons a message is rejected, for logs and per-reason counters. */
#include "floe/sip.h"

const char *floe_sip_reason_name(floe_sip_reason r) {
    switch (r) {
    case FLOE_SIP_R_NONE: return "none";
    case FLOE_SIP_R_EMPTY: return "empty";
    case FLOE_SIP_R_TOO_LONG: return "too-long";
    case FLOE_SIP_R_TOO_MANY_HEADERS: return "too-many-headers";
    case FLOE_SIP_R_NO_HEADER_END: return "no-header-end";
    case FLOE_SIP_R_START_LINE: return "start-line";
    case FLOE_SIP_R_START_LINE_SPACE: return "start-line-space";
    case FLOE_SIP_R_METHOD: return "method";
    case FLOE_SIP_R_REQUEST_URI: return "request-uri";
    case FLOE_SIP_R_VERSION: return "version";
    case FLOE_SIP_R_STATUS_CODE: return "status-code";
    case FLOE_SIP_R_HEADER_LINE: return "header-line";
    case FLOE_SIP_R_MISSING_HEADER: return "missing-header";
    case FLOE_SIP_R_DUPLICATE_HEADER: return "duplicate-header";
    case FLOE_SIP_R_VIA: return "via";
    case FLOE_SIP_R_ADDRESS: return "address";
    case FLOE_SIP_R_CALL_ID: return "call-id";
    case FLOE_SIP_R_CSEQ: return "cseq";
    case FLOE_SIP_R_CSEQ_METHOD: return "cseq-method";
    case FLOE_SIP_R_MAX_FORWARDS: return "max-forwards";
    case FLOE_SIP_R_CONTENT_LENGTH: return "content-length";
    case FLOE_SIP_R_NO_CONTENT_LENGTH: return "no-content-length";
    case FLOE_SIP_R_BODY_TRUNCATED: return "body-truncated";
    case FLOE_SIP_R_CONTENT_TYPE: return "content-type";
    case FLOE_SIP_R_TOKEN_LIST: return "token-list";
    case FLOE_SIP_R_RSEQ: return "rseq";
    case FLOE_SIP_R_RACK: return "rack";
    case FLOE_SIP_R_EXPIRES: return "expires";
    case FLOE_SIP_R_AUTH: return "auth";
    case FLOE_SIP_R_COUNT: break;
    }
    return "unknown";
}
