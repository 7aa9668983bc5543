/* The bounded text writer behind every SIP printer. */
#include <string.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "sip/sip_internal.h"

void sip_out_cstr(sip_out *o, const char *s) {
    sip_out_put(o, s, strlen(s));
}

void sip_out_u64(sip_out *o, uint64_t v) {
    char digits[20];
    sip_out_put(o, digits, floe_dec_u64(v, digits));
}

int sip_out_finish(sip_out *o, size_t *len) {
    if (o->err || o->len >= o->cap) {
        if (o->cap > 0) o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
        return FLOE_ERR_NOSPACE;
    }
    o->buf[o->len] = '\0';
    if (len) *len = o->len;
    return FLOE_OK;
}
