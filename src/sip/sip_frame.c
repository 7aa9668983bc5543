/* Finding message boundaries on a stream transport (RFC 3261 §18.3): the header section
 * ends at the first empty line, the body is Content-Length bytes. */
#include <string.h>

#include "floe/err.h"
#include "sip/sip_internal.h"

/* The end of the header section (just past its empty line), or 0 when not there yet. */
static size_t header_end(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n') continue;
        if (i + 1 < len && p[i + 1] == '\n') return i + 2;
        if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') return i + 3;
    }
    return 0;
}

int floe_sip_frame_len(const char *p, size_t len, size_t *msg_len, bool *keepalive) {
    if ((!p && len) || !msg_len) return FLOE_ERR_INVAL;
    if (keepalive) *keepalive = false;
    if (len == 0) return FLOE_ERR_TRUNCATED;
    if (p[0] == '\r' || p[0] == '\n') {
        size_t n = 0;
        while (n < len && (p[n] == '\r' || p[n] == '\n'))
            n++;
        *msg_len = n;
        if (keepalive) *keepalive = true;
        return FLOE_OK;
    }
    size_t scan = len < FLOE_SIP_MAX_MSG_LEN ? len : FLOE_SIP_MAX_MSG_LEN;
    size_t end = header_end(p, scan);
    if (!end) return len >= FLOE_SIP_MAX_MSG_LEN ? FLOE_ERR_LIMIT : FLOE_ERR_TRUNCATED;

    /* Find the one Content-Length among the header lines (after the start line). */
    const char *nl = memchr(p, '\n', end);
    size_t pos = (size_t)(nl - p) + 1;
    floe_sip_str value = {NULL, 0};
    unsigned count = 0;
    bool in_cl = false; /* the line before was (part of) Content-Length */
    while (pos < end) {
        const char *line = p + pos;
        const char *e = memchr(line, '\n', end - pos);
        size_t n = (size_t)(e - line);
        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r') n--;
        if (n == 0) break;
        if (line[0] == ' ' || line[0] == '\t') {
            if (in_cl) value.len = (size_t)(line + n - value.p); /* folded value */
            continue;
        }
        size_t i = 0;
        while (i < n && sip_is_token_char((unsigned char)line[i]))
            i++;
        floe_sip_hdr_id id = floe_sip_hdr_lookup(sip_str(line, i));
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        in_cl = id == FLOE_SIP_H_CONTENT_LENGTH && i < n && line[i] == ':';
        if (!in_cl) continue;
        count++;
        value = sip_str(line + i + 1, n - i - 1);
    }
    if (count != 1) return FLOE_ERR_MALFORMED;
    value = sip_trim(value);
    uint64_t body;
    if (!sip_u64(value.p, value.len, UINT32_MAX, &body)) return FLOE_ERR_MALFORMED;
    if (body > FLOE_SIP_MAX_MSG_LEN || end + body > FLOE_SIP_MAX_MSG_LEN) return FLOE_ERR_LIMIT;
    if (end + body > len) return FLOE_ERR_TRUNCATED;
    *msg_len = end + (size_t)body;
    return FLOE_OK;
}
