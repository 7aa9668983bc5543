/* libFuzzer target: ChannelData framing (RFC 8656 §12.4-12.5) and TURN stream framing.
 *
 * The input is decoded as one ChannelData message (a datagram); a message that decodes is
 * encoded again and must give back the same header and payload. Then the input is read
 * as a TCP/TLS byte stream: floe_turn_frame_len splits it message by message, and every
 * length it announces must be at least the header it read and within what a message can
 * be. ASan and UBSan catch the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"

static uint8_t scratch[4 + 65535 + 3];

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t len) {
    uint16_t ch = 0;
    const uint8_t *d = NULL;
    size_t n = 0;
    if (floe_turn_channel_data_decode(p, len, &ch, &d, &n) == FLOE_OK) {
        if (!floe_turn_channel_valid(ch) || d != p + 4 || 4 + n > len || len > ((4 + n + 3) & ~3u))
            abort();
        for (int pad = 0; pad < 2; pad++) {
            size_t out = 0;
            if (floe_turn_channel_data_encode(ch, d, n, pad, scratch, sizeof scratch, &out) !=
                FLOE_OK)
                abort();
            if (memcmp(scratch, p, 4 + n) != 0) abort();
            if (pad && out % 4 != 0) abort();
            uint16_t ch2 = 0;
            const uint8_t *d2 = NULL;
            size_t n2 = 0;
            if (floe_turn_channel_data_decode(scratch, out, &ch2, &d2, &n2) != FLOE_OK ||
                ch2 != ch || n2 != n)
                abort();
        }
    }
    /* As a stream. */
    size_t off = 0;
    while (off < len) {
        size_t need = 0;
        int rc = floe_turn_frame_len(p + off, len - off, &need);
        if (rc == FLOE_ERR_TRUNCATED || rc == FLOE_ERR_MALFORMED) break;
        if (rc != FLOE_OK) abort();
        if (need < 4 || need > FLOE_STUN_MAX_MSG) abort();
        if (need > len - off) break; /* wait for more bytes */
        if ((p[off] & 0xc0) == 0x40 &&
            floe_turn_channel_data_decode(p + off, need, &ch, &d, &n) != FLOE_OK)
            abort(); /* a frame_len-sized ChannelData always decodes */
        off += need;
    }
    return 0;
}
