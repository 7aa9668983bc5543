#include "floe/bytes.h"

#include <string.h>

void floe_wr_bytes(floe_wr *w, const void *src, size_t n) {
    uint8_t *q = floe_wr_reserve(w, n);
    if (q && n) memcpy(q, src, n);
}

void floe_wr_zeros(floe_wr *w, size_t n) {
    uint8_t *q = floe_wr_reserve(w, n);
    if (q && n) memset(q, 0, n);
}
