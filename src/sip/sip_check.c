/* The parser's check of each header field value it knows, by name: the typed readers
 * decide, so whatever parses can be read back without error. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

static floe_sip_reason bad(const char **detail, const char *why, floe_sip_reason r) {
    *detail = why;
    return r;
}

static floe_sip_reason check_vias(floe_sip_str v, const char **detail) {
    size_t pos = 0, n = 0;
    floe_sip_str item;
    floe_sip_via via;
    while (sip_list_next(v, &pos, &item)) {
        n++;
        if (item.len == 0) return bad(detail, "empty value in a Via list", FLOE_SIP_R_VIA);
        if (floe_sip_via_parse(item, &via) != FLOE_OK)
            return bad(detail, "Via is not protocol/version/transport sent-by *(;param)",
                       FLOE_SIP_R_VIA);
    }
    if (n == 0) return bad(detail, "empty Via", FLOE_SIP_R_VIA);
    return FLOE_SIP_R_NONE;
}

/* One address (From, To, Reply-To), or a list of them (Contact, Route, Record-Route). */
static floe_sip_reason check_addrs(floe_sip_hdr_id id, floe_sip_str v, const char **detail) {
    floe_sip_addr a;
    if (!floe_sip_hdr_is_list(id)) {
        if (floe_sip_addr_parse(v, &a) != FLOE_OK)
            return bad(detail, "not a name-addr or addr-spec with parameters", FLOE_SIP_R_ADDRESS);
        if (a.star) return bad(detail, "'*' is only a Contact value", FLOE_SIP_R_ADDRESS);
        return FLOE_SIP_R_NONE;
    }
    size_t pos = 0, n = 0;
    bool star = false;
    floe_sip_str item;
    while (sip_list_next(v, &pos, &item)) {
        n++;
        if (item.len == 0) return bad(detail, "empty value in an address list", FLOE_SIP_R_ADDRESS);
        if (floe_sip_addr_parse(item, &a) != FLOE_OK)
            return bad(detail, "not a name-addr or addr-spec with parameters", FLOE_SIP_R_ADDRESS);
        if (a.star) {
            if (id != FLOE_SIP_H_CONTACT)
                return bad(detail, "'*' is only a Contact value", FLOE_SIP_R_ADDRESS);
            star = true;
        }
        if ((id == FLOE_SIP_H_ROUTE || id == FLOE_SIP_H_RECORD_ROUTE) && !a.bracketed)
            return bad(detail, "a route must be a name-addr (URI inside <>)", FLOE_SIP_R_ADDRESS);
    }
    if (n == 0) return bad(detail, "empty address field", FLOE_SIP_R_ADDRESS);
    if (star && n > 1) return bad(detail, "Contact '*' with other values", FLOE_SIP_R_ADDRESS);
    return FLOE_SIP_R_NONE;
}

static floe_sip_reason check_tokens(floe_sip_str v, const char **detail) {
    size_t pos = 0;
    floe_sip_str item;
    while (sip_list_next(v, &pos, &item))
        if (!sip_token(item.p, item.len))
            return bad(detail, "not a comma-separated list of tokens", FLOE_SIP_R_TOKEN_LIST);
    return FLOE_SIP_R_NONE;
}

floe_sip_reason sip_check_value(floe_sip_hdr_id id, floe_sip_str v, const char **detail) {
    uint64_t n;
    switch (id) {
    case FLOE_SIP_H_VIA: return check_vias(v, detail);
    case FLOE_SIP_H_FROM:
    case FLOE_SIP_H_TO:
    case FLOE_SIP_H_REPLY_TO:
    case FLOE_SIP_H_CONTACT:
    case FLOE_SIP_H_ROUTE:
    case FLOE_SIP_H_RECORD_ROUTE: return check_addrs(id, v, detail);
    case FLOE_SIP_H_CALL_ID:
        if (!sip_call_id_ok(v))
            return bad(detail, "Call-ID is not word [@ word]", FLOE_SIP_R_CALL_ID);
        return FLOE_SIP_R_NONE;
    case FLOE_SIP_H_CSEQ: {
        floe_sip_cseq c;
        if (floe_sip_cseq_parse(v, &c) != FLOE_OK)
            return bad(detail, "CSeq is not a number below 2^32 and a method", FLOE_SIP_R_CSEQ);
        return FLOE_SIP_R_NONE;
    }
    case FLOE_SIP_H_MAX_FORWARDS:
        if (!sip_u64(v.p, v.len, 255, NULL))
            return bad(detail, "Max-Forwards is not a number from 0 to 255",
                       FLOE_SIP_R_MAX_FORWARDS);
        return FLOE_SIP_R_NONE;
    case FLOE_SIP_H_CONTENT_LENGTH:
        if (!sip_u64(v.p, v.len, UINT32_MAX, NULL))
            return bad(detail, "Content-Length is not a number", FLOE_SIP_R_CONTENT_LENGTH);
        return FLOE_SIP_R_NONE;
    case FLOE_SIP_H_CONTENT_TYPE: {
        floe_sip_media_type t;
        if (floe_sip_media_type_parse(v, &t) != FLOE_OK)
            return bad(detail, "Content-Type is not type/subtype *(;param)",
                       FLOE_SIP_R_CONTENT_TYPE);
        return FLOE_SIP_R_NONE;
    }
    case FLOE_SIP_H_REQUIRE:
    case FLOE_SIP_H_PROXY_REQUIRE:
    case FLOE_SIP_H_SUPPORTED:
    case FLOE_SIP_H_UNSUPPORTED:
    case FLOE_SIP_H_ALLOW: return check_tokens(v, detail);
    case FLOE_SIP_H_RSEQ:
        if (!sip_u64(v.p, v.len, UINT32_MAX, &n) || n == 0)
            return bad(detail, "RSeq is not a number from 1 to 2^32-1", FLOE_SIP_R_RSEQ);
        return FLOE_SIP_R_NONE;
    case FLOE_SIP_H_RACK: {
        floe_sip_rack r;
        if (floe_sip_rack_parse(v, &r) != FLOE_OK)
            return bad(detail, "RAck is not response-num CSeq-num method", FLOE_SIP_R_RACK);
        return FLOE_SIP_R_NONE;
    }
    case FLOE_SIP_H_EXPIRES:
    case FLOE_SIP_H_MIN_EXPIRES:
        /* digits only; a value past 2^32-1 is read as "use the default" (RFC 4475 §3.1.2.4) */
        if (v.len == 0) return bad(detail, "Expires is not a number", FLOE_SIP_R_EXPIRES);
        for (size_t i = 0; i < v.len; i++)
            if (!sip_is_digit((unsigned char)v.p[i]))
                return bad(detail, "Expires is not a number", FLOE_SIP_R_EXPIRES);
        return FLOE_SIP_R_NONE;
    case FLOE_SIP_H_WWW_AUTHENTICATE:
    case FLOE_SIP_H_PROXY_AUTHENTICATE:
    case FLOE_SIP_H_AUTHORIZATION:
    case FLOE_SIP_H_PROXY_AUTHORIZATION: {
        floe_sip_auth a;
        if (floe_sip_auth_parse(v, &a) != FLOE_OK)
            return bad(detail, "not scheme and comma-separated name=value parameters",
                       FLOE_SIP_R_AUTH);
        return FLOE_SIP_R_NONE;
    }
    default: break;
    }
    for (size_t i = 0; i < v.len; i++)
        if (sip_is_ctl((unsigned char)v.p[i]))
            return bad(detail, "control character in a header field value", FLOE_SIP_R_HEADER_LINE);
    return FLOE_SIP_R_NONE;
}
