/* ChannelData framing (RFC 8656 §12.4, §12.5) and the stream framing of TURN over TCP
 * and TLS, where STUN messages and ChannelData messages follow each other. */
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"

static size_t pad4(size_t n) {
    return (n + 3u) & ~(size_t)3u;
}

int floe_turn_channel_data_encode(uint16_t channel, const uint8_t *data, size_t len, bool pad,
                                  uint8_t *out, size_t cap, size_t *out_len) {
    return floe_turn_channel_data_encode_upto(channel, FLOE_TURN_CHANNEL_MAX, data, len, pad, out,
                                              cap, out_len);
}

int floe_turn_channel_data_encode_upto(uint16_t channel, uint16_t max_channel, const uint8_t *data,
                                       size_t len, bool pad, uint8_t *out, size_t cap,
                                       size_t *out_len) {
    if (channel < FLOE_TURN_CHANNEL_MIN || channel > max_channel || len > 0xffff || (len && !data))
        return FLOE_ERR_INVAL;
    size_t total = FLOE_TURN_CHANNEL_HEADER + len;
    if (pad) total = pad4(total);
    if (cap < total) return FLOE_ERR_NOSPACE;
    floe_put_u16(out, channel);
    floe_put_u16(out + 2, (uint16_t)len);
    if (len) memmove(out + FLOE_TURN_CHANNEL_HEADER, data, len);
    memset(out + FLOE_TURN_CHANNEL_HEADER + len, 0, total - FLOE_TURN_CHANNEL_HEADER - len);
    *out_len = total;
    return FLOE_OK;
}

int floe_turn_channel_data_decode(const uint8_t *p, size_t len, uint16_t *channel,
                                  const uint8_t **data, size_t *data_len) {
    return floe_turn_channel_data_decode_upto(p, len, FLOE_TURN_CHANNEL_MAX, channel, data,
                                              data_len);
}

int floe_turn_channel_data_decode_upto(const uint8_t *p, size_t len, uint16_t max_channel,
                                       uint16_t *channel, const uint8_t **data, size_t *data_len) {
    if (len < FLOE_TURN_CHANNEL_HEADER) return FLOE_ERR_TRUNCATED;
    uint16_t ch = floe_get_u16(p);
    size_t n = floe_get_u16(p + 2);
    /* §12.4: 0x5000-0xFFFF are reserved; a receiver discards them. */
    if (ch < FLOE_TURN_CHANNEL_MIN || ch > max_channel) return FLOE_ERR_MALFORMED;
    /* §12.5: too short for its length is discarded; padding may follow the data. */
    if (len < FLOE_TURN_CHANNEL_HEADER + n) return FLOE_ERR_TRUNCATED;
    if (len > pad4(FLOE_TURN_CHANNEL_HEADER + n)) return FLOE_ERR_MALFORMED;
    *channel = ch;
    *data = p + FLOE_TURN_CHANNEL_HEADER;
    *data_len = n;
    return FLOE_OK;
}

int floe_turn_frame_len(const uint8_t *p, size_t len, size_t *need) {
    return floe_turn_frame_len_upto(p, len, FLOE_TURN_CHANNEL_MAX, need);
}

int floe_turn_frame_len_upto(const uint8_t *p, size_t len, uint16_t max_channel, size_t *need) {
    if (len == 0) return FLOE_ERR_TRUNCATED;
    if ((p[0] & 0xc0) == 0x40) {
        if (len < FLOE_TURN_CHANNEL_HEADER) return FLOE_ERR_TRUNCATED;
        if (floe_get_u16(p) > max_channel) return FLOE_ERR_MALFORMED;
        /* §12.5: over a stream ChannelData is always padded to a multiple of 4. */
        *need = pad4(FLOE_TURN_CHANNEL_HEADER + (size_t)floe_get_u16(p + 2));
        return FLOE_OK;
    }
    if ((p[0] & 0xc0) != 0) return FLOE_ERR_MALFORMED;
    int rc = floe_stun_frame_len(p, len, need);
    return rc == FLOE_ERR_NOT_STUN ? FLOE_ERR_MALFORMED : rc;
}
