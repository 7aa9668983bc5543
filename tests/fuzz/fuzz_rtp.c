/* libFuzzer target for src/rtp/: the RTP and RTCP parsers and builders, and a media
 * session's on_packet with state across datagrams.
 *
 * The whole input is parsed as RTP and as RTCP. What parses must: lie inside the input
 * (every slice, every count within its cap, the RTP parts adding up to the datagram);
 * build back (RTP: the same bytes up to the padding; RTCP, when it has a CNAME: a
 * compound that parses to the same reports, chunks and BYE); and be classified as RTP or
 * RTCP by the demultiplexer consistently with the RFC 5761 rule.
 *
 * Then the input is cut into datagrams, each "u16 length, u8 milliseconds to wait,
 * bytes", and fed to a media session that is sending too (both its RTP and RTCP must
 * parse). After each: the decoded samples fit, each datagram was counted exactly once
 * (handed over, RTCP, or dropped for one reason), and 0 <= lost <= expected. Any
 * violation aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/media.h"
#include "floe/rtp.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static const uint8_t *base;
static size_t base_len;

static void check_slice(const uint8_t *p, size_t len) {
    if (!p) {
        CHECK(len == 0);
        return;
    }
    CHECK(p >= base && len <= base_len && (size_t)(p - base) <= base_len - len);
}

static void fuzz_rtp_header(const uint8_t *data, size_t size) {
    floe_rtp_hdr h, h2;
    floe_rtp_reason why = FLOE_RTP_R_COUNT;
    floe_rtp_stats st = {0};
    int rc = floe_rtp_parse(data, size, &h, &why, &st);
    if (rc != FLOE_OK) {
        CHECK(rc == FLOE_ERR_TRUNCATED || rc == FLOE_ERR_MALFORMED);
        CHECK(why > FLOE_RTP_R_NONE && why <= FLOE_RTP_R_PT_RTCP);
        CHECK(st.rejected[why] == 1 && st.rtp_parsed == 0);
        return;
    }
    CHECK(why == FLOE_RTP_R_NONE && st.rtp_parsed == 1);
    CHECK(h.pt < 128 && !(h.pt >= 72 && h.pt <= 76) && h.n_csrc <= FLOE_RTP_MAX_CSRC);
    check_slice(h.ext_data, h.ext_len);
    check_slice(h.payload, h.payload_len);
    CHECK(h.ext_len % 4 == 0);
    size_t total = FLOE_RTP_HEADER_LEN + 4u * h.n_csrc + (h.ext ? 4 + h.ext_len : 0) +
                   h.payload_len + h.pad_len;
    CHECK(total == size);
    CHECK(floe_rtp_demux(data, size) == FLOE_DEMUX_RTP ||
          floe_rtp_demux(data, size) == FLOE_DEMUX_RTCP);

    static uint8_t out[70000];
    size_t n = 0;
    CHECK(floe_rtp_build(&h, out, sizeof out, &n) == FLOE_OK);
    CHECK(n == size);
    /* Padding bytes other than the count are written as zeros. */
    size_t keep = size - h.pad_len;
    CHECK(memcmp(out, data, keep) == 0);
    if (h.pad_len) CHECK(out[size - 1] == data[size - 1]);
    CHECK(floe_rtp_parse(out, n, &h2, NULL, NULL) == FLOE_OK);
    CHECK(h2.seq == h.seq && h2.ts == h.ts && h2.ssrc == h.ssrc && h2.pt == h.pt &&
          h2.marker == h.marker && h2.payload_len == h.payload_len && h2.pad_len == h.pad_len);
    /* One byte short never fits. */
    CHECK(floe_rtp_build(&h, out, size - 1, &n) == FLOE_ERR_NOSPACE);
}

static floe_rtcp c1, c2;

static void fuzz_rtcp(const uint8_t *data, size_t size) {
    floe_rtp_reason why = FLOE_RTP_R_COUNT;
    floe_rtp_stats st = {0};
    int rc = floe_rtcp_parse(data, size, &c1, &why, &st);
    if (rc != FLOE_OK) {
        CHECK(rc == FLOE_ERR_TRUNCATED || rc == FLOE_ERR_MALFORMED);
        CHECK(why >= FLOE_RTP_R_RTCP_SHORT && why < FLOE_RTP_R_COUNT);
        CHECK(st.rejected[why] == 1);
        return;
    }
    CHECK(st.rtcp_parsed == 1);
    CHECK(floe_rtp_is_rtcp(data, size));
    CHECK(c1.n_blocks <= FLOE_RTCP_MAX_BLOCKS && c1.n_sdes <= FLOE_RTCP_MAX_SDES &&
          c1.n_bye <= FLOE_RTCP_MAX_BYE && c1.n_packets >= 1);
    bool cname = false;
    for (size_t i = 0; i < c1.n_sdes; i++) {
        check_slice(c1.sdes[i].cname, c1.sdes[i].cname_len);
        CHECK(c1.sdes[i].cname_len <= 255);
        if (c1.sdes[i].cname) cname = true;
    }
    check_slice(c1.bye_reason, c1.bye_reason_len);
    for (size_t i = 0; i < c1.n_blocks; i++)
        CHECK(c1.blocks[i].cumulative_lost >= -0x800000 &&
              c1.blocks[i].cumulative_lost <= 0x7FFFFF);

    static uint8_t out[16384];
    size_t n = 0;
    rc = floe_rtcp_build(&c1, out, sizeof out, &n);
    if (!cname) {
        CHECK(rc == FLOE_ERR_INVAL);
        return;
    }
    CHECK(rc == FLOE_OK && n % 4 == 0);
    base = out;
    base_len = n;
    CHECK(floe_rtcp_parse(out, n, &c2, NULL, NULL) == FLOE_OK);
    CHECK(c2.sr == c1.sr && c2.ssrc == c1.ssrc && c2.n_blocks == c1.n_blocks &&
          c2.n_sdes == c1.n_sdes && c2.bye == c1.bye && c2.n_bye == c1.n_bye && c2.n_other == 0 &&
          c2.n_dropped == 0);
    if (c1.sr)
        CHECK(c2.ntp == c1.ntp && c2.rtp_ts == c1.rtp_ts && c2.packets == c1.packets &&
              c2.octets == c1.octets);
    CHECK(memcmp(c2.blocks, c1.blocks, c1.n_blocks * sizeof c1.blocks[0]) == 0);
    for (size_t i = 0; i < c1.n_sdes; i++) {
        CHECK(c2.sdes[i].ssrc == c1.sdes[i].ssrc && c2.sdes[i].cname_len == c1.sdes[i].cname_len);
        if (c1.sdes[i].cname)
            CHECK(memcmp(c2.sdes[i].cname, c1.sdes[i].cname, c1.sdes[i].cname_len) == 0);
    }
    CHECK(memcmp(c2.bye_ssrc, c1.bye_ssrc, c1.n_bye * sizeof c1.bye_ssrc[0]) == 0);
    CHECK((c2.bye_reason == NULL) == (c1.bye_reason == NULL) &&
          c2.bye_reason_len == c1.bye_reason_len);
    if (c1.bye_reason) CHECK(memcmp(c2.bye_reason, c1.bye_reason, c1.bye_reason_len) == 0);
}

/* ---- a media session ----------------------------------------------------------------- */

static int fuzz_rand(void *ctx, void *buf, size_t len) {
    uint32_t *x = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        *x = *x * 1664525u + 1013904223u;
        b[i] = (uint8_t)(*x >> 24);
    }
    return FLOE_OK;
}

static floe_media m;
static floe_media_rx rx;

static void drain(floe_time_ns now) {
    uint8_t buf[FLOE_MEDIA_RTCP_MAX];
    size_t n;
    floe_rtp_hdr h;
    floe_rtcp c;
    while (floe_media_rtp_due(&m, now)) {
        CHECK(floe_media_next_packet(&m, now, NULL, buf, sizeof buf, &n) == FLOE_OK);
        CHECK(floe_rtp_parse(buf, n, &h, NULL, NULL) == FLOE_OK && h.ssrc == m.tx.ssrc);
    }
    if (floe_media_next_rtcp(&m, now, buf, sizeof buf, &n) == FLOE_OK) {
        CHECK(floe_rtcp_parse(buf, n, &c, NULL, NULL) == FLOE_OK && c.ssrc == m.tx.ssrc);
        CHECK(c.n_sdes == 1 && c.sdes[0].cname_len == m.cname_len);
    }
}

static void fuzz_media(const uint8_t *data, size_t size) {
    uint32_t seed = 1;
    floe_media_config cfg;
    floe_media_config_default(&cfg);
    cfg.rand = fuzz_rand;
    cfg.rand_ctx = &seed;
    /* The first byte picks the law and whether the session sends. */
    if (size && (data[0] & 1)) cfg.payload_type = FLOE_RTP_PT_PCMA;
    CHECK(floe_media_init(&m, &cfg) == FLOE_OK);
    floe_time_ns now = FLOE_S(1);
    if (size && (data[0] & 2)) CHECK(floe_media_start(&m, now) == FLOE_OK);

    uint64_t fed = 0;
    size_t off = size ? 1 : 0;
    while (size - off >= 3) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        /* The length 0xFFFF stops the session first, to cover what follows a stop. */
        bool stop = len == 0xFFFF;
        now += FLOE_MS(data[off + 2]);
        off += 3;
        if (len > size - off) len = size - off;
        drain(now);
        if (stop) floe_media_stop(&m, (data[0] & 4) != 0);
        CHECK(floe_media_on_packet(&m, now, data + off, len, &rx) == FLOE_OK);
        fed++;
        off += len;

        CHECK(rx.n_samples <= FLOE_MEDIA_MAX_RX_SAMPLES);
        CHECK((rx.kind == FLOE_MEDIA_RX_NONE) == (rx.drop != FLOE_MEDIA_DROP_NONE));
        if (rx.kind == FLOE_MEDIA_RX_AUDIO) CHECK(!rx.late || rx.gap == 0);
        floe_media_stats st;
        floe_media_get_stats(&m, &st);
        uint64_t dropped = 0;
        for (int d = 0; d < FLOE_MEDIA_DROP_COUNT; d++)
            dropped += st.dropped[d];
        CHECK(st.dropped[FLOE_MEDIA_DROP_NONE] == 0);
        CHECK(st.rtp_received + st.rtcp_received + dropped == fed);
        CHECK(st.lost >= 0 && (uint64_t)st.lost <= st.expected);
        CHECK(st.bad ==
              st.dropped[FLOE_MEDIA_DROP_NOT_RTP] + st.dropped[FLOE_MEDIA_DROP_MALFORMED]);
    }
    drain(now + FLOE_S(10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    base = data;
    base_len = size;
    fuzz_rtp_header(data, size);
    base = data;
    base_len = size;
    fuzz_rtcp(data, size);
    fuzz_media(data, size);
    return 0;
}
