/* Header field names (RFC 3261 §7.3.3 compact forms and the IANA registry's other
 * one-letter names) and method names. */
#include <string.h>

#include "sip/sip_internal.h"

enum { LIST = 1, SINGLE = 2 };

typedef struct hdr_def {
    const char *name;
    char compact; /* 0 when none */
    unsigned flags;
} hdr_def;

/* Indexed by floe_sip_hdr_id. */
static const hdr_def defs[FLOE_SIP_H_COUNT] = {
    [FLOE_SIP_H_OTHER] = {NULL, 0, 0},
    [FLOE_SIP_H_VIA] = {"Via", 'v', LIST},
    [FLOE_SIP_H_FROM] = {"From", 'f', SINGLE},
    [FLOE_SIP_H_TO] = {"To", 't', SINGLE},
    [FLOE_SIP_H_CALL_ID] = {"Call-ID", 'i', SINGLE},
    [FLOE_SIP_H_CSEQ] = {"CSeq", 0, SINGLE},
    [FLOE_SIP_H_CONTACT] = {"Contact", 'm', LIST},
    [FLOE_SIP_H_MAX_FORWARDS] = {"Max-Forwards", 0, SINGLE},
    [FLOE_SIP_H_CONTENT_LENGTH] = {"Content-Length", 'l', SINGLE},
    [FLOE_SIP_H_CONTENT_TYPE] = {"Content-Type", 'c', SINGLE},
    [FLOE_SIP_H_ROUTE] = {"Route", 0, LIST},
    [FLOE_SIP_H_RECORD_ROUTE] = {"Record-Route", 0, LIST},
    [FLOE_SIP_H_REQUIRE] = {"Require", 0, LIST},
    [FLOE_SIP_H_PROXY_REQUIRE] = {"Proxy-Require", 0, LIST},
    [FLOE_SIP_H_SUPPORTED] = {"Supported", 'k', LIST},
    [FLOE_SIP_H_UNSUPPORTED] = {"Unsupported", 0, LIST},
    [FLOE_SIP_H_ALLOW] = {"Allow", 0, LIST},
    [FLOE_SIP_H_RSEQ] = {"RSeq", 0, SINGLE},
    [FLOE_SIP_H_RACK] = {"RAck", 0, SINGLE},
    [FLOE_SIP_H_EXPIRES] = {"Expires", 0, SINGLE},
    [FLOE_SIP_H_MIN_EXPIRES] = {"Min-Expires", 0, SINGLE},
    [FLOE_SIP_H_WWW_AUTHENTICATE] = {"WWW-Authenticate", 0, 0},
    [FLOE_SIP_H_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", 0, 0},
    [FLOE_SIP_H_AUTHORIZATION] = {"Authorization", 0, 0},
    [FLOE_SIP_H_PROXY_AUTHORIZATION] = {"Proxy-Authorization", 0, 0},
    [FLOE_SIP_H_AUTHENTICATION_INFO] = {"Authentication-Info", 0, 0},
    [FLOE_SIP_H_REPLY_TO] = {"Reply-To", 0, SINGLE},
    [FLOE_SIP_H_CONTENT_ENCODING] = {"Content-Encoding", 'e', LIST},
    [FLOE_SIP_H_CONTENT_DISPOSITION] = {"Content-Disposition", 0, 0},
    [FLOE_SIP_H_ACCEPT] = {"Accept", 0, LIST},
    [FLOE_SIP_H_SUBJECT] = {"Subject", 's', 0},
    [FLOE_SIP_H_DATE] = {"Date", 0, 0},
    [FLOE_SIP_H_TIMESTAMP] = {"Timestamp", 0, 0},
    [FLOE_SIP_H_USER_AGENT] = {"User-Agent", 0, 0},
    [FLOE_SIP_H_SERVER] = {"Server", 0, 0},
    [FLOE_SIP_H_SESSION_EXPIRES] = {"Session-Expires", 'x', 0},
    [FLOE_SIP_H_EVENT] = {"Event", 'o', 0},
    [FLOE_SIP_H_ALLOW_EVENTS] = {"Allow-Events", 'u', LIST},
    [FLOE_SIP_H_REFER_TO] = {"Refer-To", 'r', 0},
    [FLOE_SIP_H_REFERRED_BY] = {"Referred-By", 'b', 0},
    [FLOE_SIP_H_ACCEPT_CONTACT] = {"Accept-Contact", 'a', LIST},
    [FLOE_SIP_H_REJECT_CONTACT] = {"Reject-Contact", 'j', LIST},
    [FLOE_SIP_H_REQUEST_DISPOSITION] = {"Request-Disposition", 'd', LIST},
    [FLOE_SIP_H_IDENTITY] = {"Identity", 'y', 0},
    [FLOE_SIP_H_IDENTITY_INFO] = {"Identity-Info", 'n', 0},
};

floe_sip_hdr_id floe_sip_hdr_lookup(floe_sip_str name) {
    if (!name.p || name.len == 0) return FLOE_SIP_H_OTHER;
    if (name.len == 1) {
        unsigned char c = sip_lower((unsigned char)name.p[0]);
        for (int i = 1; i < FLOE_SIP_H_COUNT; i++)
            if (defs[i].compact == (char)c) return (floe_sip_hdr_id)i;
        return FLOE_SIP_H_OTHER;
    }
    for (int i = 1; i < FLOE_SIP_H_COUNT; i++)
        if (sip_ieq(name.p, name.len, defs[i].name)) return (floe_sip_hdr_id)i;
    return FLOE_SIP_H_OTHER;
}

const char *floe_sip_hdr_name(floe_sip_hdr_id id) {
    if ((int)id <= 0 || id >= FLOE_SIP_H_COUNT) return NULL;
    return defs[id].name;
}

bool floe_sip_hdr_is_list(floe_sip_hdr_id id) {
    if ((int)id <= 0 || id >= FLOE_SIP_H_COUNT) return false;
    return (defs[id].flags & LIST) != 0;
}

bool sip_hdr_is_single(floe_sip_hdr_id id) {
    if ((int)id <= 0 || id >= FLOE_SIP_H_COUNT) return false;
    return (defs[id].flags & SINGLE) != 0;
}

/* ---- methods -------------------------------------------------------------------------- */

static const char *const methods[] = {
    [FLOE_SIP_OTHER_METHOD] = NULL,   [FLOE_SIP_INVITE] = "INVITE",
    [FLOE_SIP_ACK] = "ACK",           [FLOE_SIP_BYE] = "BYE",
    [FLOE_SIP_CANCEL] = "CANCEL",     [FLOE_SIP_OPTIONS] = "OPTIONS",
    [FLOE_SIP_REGISTER] = "REGISTER", [FLOE_SIP_PRACK] = "PRACK",
    [FLOE_SIP_UPDATE] = "UPDATE",     [FLOE_SIP_INFO] = "INFO",
    [FLOE_SIP_MESSAGE] = "MESSAGE",   [FLOE_SIP_SUBSCRIBE] = "SUBSCRIBE",
    [FLOE_SIP_NOTIFY] = "NOTIFY",     [FLOE_SIP_REFER] = "REFER",
    [FLOE_SIP_PUBLISH] = "PUBLISH",
};

floe_sip_method floe_sip_method_id(floe_sip_str name) {
    if (!name.p) return FLOE_SIP_OTHER_METHOD;
    for (size_t i = 1; i < sizeof methods / sizeof methods[0]; i++)
        if (sip_eq(name.p, name.len, methods[i])) return (floe_sip_method)i;
    return FLOE_SIP_OTHER_METHOD;
}

const char *floe_sip_method_name(floe_sip_method m) {
    if ((size_t)m >= sizeof methods / sizeof methods[0]) return NULL;
    return methods[m];
}
