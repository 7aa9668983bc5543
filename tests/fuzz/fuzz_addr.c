/* libFuzzer target for src/base/addr.c.
 *
 * (a) The input as text: whatever parses must format to text that parses back to the
 *     same address, and formatting that again must give the same text.
 * (b) The input as raw bytes: the first 16 bytes as an IPv6 address, the first 4 as an
 *     IPv4 address, and those 4 bytes wrapped in every IPv6 encoding that carries an
 *     IPv4 address. The classifier must keep its invariants: is_global agrees with the
 *     flags, every embedded address's flags are in the result, an encoded IPv4 address
 *     gets the flags of the plain one. Any violation aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "floe/addr.h"
#include "floe/err.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

#define KIND_FLAGS                                                                                 \
    (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_LOOPBACK | FLOE_ADDR_PRIVATE | FLOE_ADDR_CGNAT |            \
     FLOE_ADDR_LINK_LOCAL | FLOE_ADDR_MULTICAST | FLOE_ADDR_DOCUMENTATION | FLOE_ADDR_BROADCAST |  \
     FLOE_ADDR_RESERVED | FLOE_ADDR_NAT64_LOCAL)
#define ENCODING_FLAGS                                                                             \
    (FLOE_ADDR_V4_MAPPED | FLOE_ADDR_V4_COMPATIBLE | FLOE_ADDR_6TO4 | FLOE_ADDR_NAT64 |            \
     FLOE_ADDR_TEREDO)

static int popcount32(uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

static uint32_t v4_flags(const uint8_t ip[4]) {
    floe_addr a;
    floe_addr_set_v4(
        &a, ((uint32_t)ip[0] << 24) | ((uint32_t)ip[1] << 16) | ((uint32_t)ip[2] << 8) | ip[3], 0);
    return floe_addr_classify(&a, NULL);
}

/* Invariants that hold for any address. Returns the flags. */
static uint32_t check_class(const floe_addr *a) {
    floe_addr_info info;
    uint32_t f = floe_addr_classify(a, &info);
    CHECK(info.flags == f);
    CHECK(floe_addr_classify(a, NULL) == f);
    CHECK((f & ~(KIND_FLAGS | ENCODING_FLAGS)) == 0);
    CHECK(popcount32(f & ENCODING_FLAGS) <= 1);
    CHECK(info.n_embedded >= 0 && info.n_embedded <= 2);

    bool global = floe_addr_is_global(a);
    CHECK(global == ((f & FLOE_ADDR_NOT_GLOBAL) == 0));

    uint32_t from_embedded = 0;
    for (int k = 0; k < info.n_embedded; k++) {
        const floe_addr *e = &info.embedded[k];
        CHECK(e->family == FLOE_AF_INET4);
        CHECK(e->port == a->port && e->scope_id == 0);
        CHECK(all_zero(e->ip + 4, 12));
        floe_addr_info einfo;
        uint32_t ef = floe_addr_classify(e, &einfo);
        CHECK(einfo.n_embedded == 0 && (ef & ENCODING_FLAGS) == 0);
        CHECK((f & ef) == ef);
        if (!floe_addr_is_global(e)) CHECK(!global);
        from_embedded |= ef;
    }

    if (a->family == FLOE_AF_INET4) {
        /* A plain IPv4 address lands in one registry block at most. */
        CHECK(info.n_embedded == 0 && popcount32(f) <= 1);
    } else if (a->family == FLOE_AF_INET6) {
        uint32_t enc = f & ENCODING_FLAGS;
        if (enc == 0) {
            CHECK(info.n_embedded == 0 && popcount32(f) <= 1);
        } else {
            /* An encoding adds nothing of its own: its flags are those it carries. */
            CHECK(info.n_embedded == (enc == FLOE_ADDR_TEREDO ? 2 : 1));
            CHECK(f == (enc | from_embedded));
        }
    } else {
        CHECK(f == FLOE_ADDR_UNSPECIFIED && info.n_embedded == 0 && !global);
    }
    return f;
}

/* The formatter's output parses back to the same address and is a fixed point. */
static void check_format(const floe_addr *a) {
    char t[FLOE_ADDR_STRLEN], u[FLOE_ADDR_STRLEN];
    floe_addr b;

    size_t n = floe_addr_format(a, true, t, sizeof(t));
    CHECK(n == strlen(t) && n + 1 < sizeof(t));
    CHECK(floe_addr_parse(t, &b) == FLOE_OK);
    CHECK(floe_addr_equal(a, &b));
    floe_addr_format(&b, true, u, sizeof(u));
    CHECK(strcmp(t, u) == 0);

    n = floe_addr_format(a, false, t, sizeof(t));
    CHECK(n == strlen(t));
    CHECK(floe_addr_parse(t, &b) == FLOE_OK);
    CHECK(floe_addr_ip_equal(a, &b) && b.port == 0);
    CHECK(a->family != FLOE_AF_INET6 || b.scope_id == a->scope_id);

    if (a->family == FLOE_AF_INET6) {
        /* RFC 5952: lowercase, at most one "::", no ":::". */
        const char *dc = strstr(t, "::");
        CHECK(!dc || !strstr(dc + 1, "::"));
        CHECK(!strstr(t, ":::"));
        for (const char *p = t; *p; p++)
            CHECK(!(*p >= 'A' && *p <= 'Z'));
    }

    /* A short buffer truncates but always terminates. */
    char small[7];
    size_t m = floe_addr_format(a, true, small, sizeof(small));
    CHECK(m < sizeof(small) && small[m] == '\0' && m == strlen(small));
}

static void check_text(const uint8_t *data, size_t size) {
    char s[96];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    memcpy(s, data, n);
    s[n] = '\0';

    floe_addr a;
    if (floe_addr_parse(s, &a) != FLOE_OK) return;
    CHECK(a.family == FLOE_AF_INET4 || a.family == FLOE_AF_INET6);
    if (a.family == FLOE_AF_INET4) CHECK(all_zero(a.ip + 4, 12) && a.scope_id == 0);
    check_format(&a);
    check_class(&a);
}

/* Wraps v4 in the given 12-byte prefix (bytes 12..15 get v4 ^ mask) and checks that
 * the result carries exactly the flags of the plain address plus the encoding. */
static void check_low32_form(const uint8_t prefix[12], const uint8_t v4[4], uint8_t mask,
                             uint32_t enc, uint32_t extra) {
    uint8_t ip[16];
    memcpy(ip, prefix, 12);
    for (int k = 0; k < 4; k++)
        ip[12 + k] = (uint8_t)(v4[k] ^ mask);
    floe_addr a;
    floe_addr_set_v6(&a, ip, 1);
    uint32_t f = check_class(&a);
    CHECK(f == (enc | extra | v4_flags(v4)));
    check_format(&a);
}

static void check_raw(const uint8_t *data, size_t size) {
    if (size >= 4) {
        floe_addr a;
        floe_addr_set_v4(&a,
                         ((uint32_t)data[0] << 24) | ((uint32_t)data[1] << 16) |
                             ((uint32_t)data[2] << 8) | data[3],
                         size >= 6 ? (uint16_t)((data[4] << 8) | data[5]) : 0);
        check_class(&a);
        check_format(&a);

        const uint8_t *v4 = data;
        static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
        static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
        static const uint8_t compatible[12] = {0};
        static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
        uint32_t f4 = v4_flags(v4);
        check_low32_form(mapped, v4, 0, FLOE_ADDR_V4_MAPPED, 0);
        check_low32_form(translated, v4, 0, FLOE_ADDR_V4_MAPPED, 0);
        check_low32_form(nat64, v4, 0, FLOE_ADDR_NAT64, 0);
        /* ::0.0.0.0 and ::0.0.0.1 are :: and ::1, not IPv4-compatible. */
        if (v4[0] || v4[1] || v4[2] || v4[3] > 1)
            check_low32_form(compatible, v4, 0, FLOE_ADDR_V4_COMPATIBLE, 0);

        /* Teredo with the same address as server and (obfuscated) client. */
        uint8_t teredo[12] = {0x20, 0x01, 0x00, 0x00, v4[0], v4[1], v4[2], v4[3]};
        if (size >= 10) memcpy(teredo + 8, data + 6, 4);
        check_low32_form(teredo, v4, 0xff, FLOE_ADDR_TEREDO, 0);

        /* 6to4 with whatever follows in the input as the subnet and interface. */
        uint8_t ip[16] = {0x20, 0x02, v4[0], v4[1], v4[2], v4[3]};
        if (size >= 14) memcpy(ip + 6, data + 4, 10);
        floe_addr b;
        floe_addr_set_v6(&b, ip, 0);
        CHECK(check_class(&b) == (FLOE_ADDR_6TO4 | f4));
        check_format(&b);
    }
    if (size >= 16) {
        floe_addr a;
        floe_addr_set_v6(&a, data, size >= 18 ? (uint16_t)((data[16] << 8) | data[17]) : 0);
        if (size >= 22)
            a.scope_id = ((uint32_t)data[18] << 24) | ((uint32_t)data[19] << 16) |
                         ((uint32_t)data[20] << 8) | data[21];
        uint32_t f = check_class(&a);
        check_format(&a);

        /* Cross-check the encodings against the raw bytes. */
        const uint8_t *ip = a.ip;
        if (all_zero(ip, 10) && ip[10] == 0xff && ip[11] == 0xff)
            CHECK(f == (FLOE_ADDR_V4_MAPPED | v4_flags(ip + 12)));
        if (ip[0] == 0x20 && ip[1] == 0x02) CHECK(f == (FLOE_ADDR_6TO4 | v4_flags(ip + 2)));
        if (ip[0] == 0x00 && ip[1] == 0x64 && ip[2] == 0xff && ip[3] == 0x9b && ip[4] == 0 &&
            ip[5] == 1)
            CHECK(f == FLOE_ADDR_NAT64_LOCAL);
        if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0 && ip[3] == 0) {
            uint8_t client[4];
            for (int k = 0; k < 4; k++)
                client[k] = (uint8_t)(ip[12 + k] ^ 0xff);
            CHECK(f == (FLOE_ADDR_TEREDO | v4_flags(ip + 4) | v4_flags(client)));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_text(data, size);
    check_raw(data, size);
    return 0;
}
