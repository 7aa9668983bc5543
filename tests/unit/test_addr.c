/* Unit tests for include/floe/addr.h: text parsing and RFC 5952 formatting, the
 * address classifier (every flag, every IPv4-in-IPv6 encoding), flag names and the
 * equality helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/addr.h"
#include "floe/err.h"

/* ---- parse / format ------------------------------------------------------------- */

/* `out` is what floe_addr_format() writes for the parsed address (with the port when
 * it is not 0); NULL means the text must be rejected. */
typedef struct parse_case {
    const char *in;
    const char *out;
} parse_case;

static const parse_case parse_cases[] = {
    /* IPv4, accepted */
    {"0.0.0.0", "0.0.0.0"},
    {"1.2.3.4", "1.2.3.4"},
    {"255.255.255.255", "255.255.255.255"},
    {"100.64.0.0", "100.64.0.0"},
    {"192.168.1.1:3478", "192.168.1.1:3478"},
    {"10.0.0.1:0", "10.0.0.1"},
    {"10.0.0.1:65535", "10.0.0.1:65535"},
    {"10.0.0.1:00080", "10.0.0.1:80"},
    {"203.0.113.250:1", "203.0.113.250:1"},
    /* IPv4, rejected */
    {"", NULL},
    {"01.2.3.4", NULL},
    {"1.2.3.04", NULL},
    {"1.2.3.00", NULL},
    {"00.0.0.0", NULL},
    {"256.1.1.1", NULL},
    {"1.2.3.256", NULL},
    {"1.2.999.4", NULL},
    {"1234.1.1.1", NULL},
    {"1.2.3", NULL},
    {"1.2.3.4.5", NULL},
    {"1.2.3.", NULL},
    {".1.2.3", NULL},
    {"1..2.3", NULL},
    {"1.2.3.4:", NULL},
    {"1.2.3.4:65536", NULL},
    {"1.2.3.4:99999", NULL},
    {"1.2.3.4:123456", NULL},
    {"1.2.3.4:-1", NULL},
    {"1.2.3.4:+1", NULL},
    {"1.2.3.4: 1", NULL},
    {"1.2.3.4:80:80", NULL},
    {" 1.2.3.4", NULL},
    {"1.2.3.4 ", NULL},
    {"1.2.3.4x", NULL},
    {"1.2.3.4/24", NULL},
    {"0x1.2.3.4", NULL},
    {"a.b.c.d", NULL},
    {"1.2.3.-4", NULL},
    {"1.2.3.4%1", NULL},
    {"[1.2.3.4]", NULL},
    {"[1.2.3.4]:80", NULL},
    {"localhost", NULL},
    /* IPv6, accepted, with RFC 5952 output */
    {"::", "::"},
    {"::1", "::1"},
    {"0:0:0:0:0:0:0:1", "::1"},
    {"0000:0000:0000:0000:0000:0000:0000:0000", "::"},
    {"2001:DB8::1", "2001:db8::1"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
    {"2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
    {"1:0:0:0:1:0:0:0", "1::1:0:0:0"},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"1::", "1::"},
    {"1::8", "1::8"},
    {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    {"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"},
    {"2001:DB8:AbCd::00fF", "2001:db8:abcd::ff"},
    {"ff02::1:ff00:1", "ff02::1:ff00:1"},
    {"fe80::", "fe80::"},
    {"fe80::1%2", "fe80::1%2"},
    {"fe80::1%4294967295", "fe80::1%4294967295"},
    {"2001:db8::%0", "2001:db8::"},
    {"[::1]", "::1"},
    {"[::1]:3478", "[::1]:3478"},
    {"[::]:0", "::"},
    {"[2001:db8::1]:65535", "[2001:db8::1]:65535"},
    {"[fe80::1%2]:5060", "[fe80::1%2]:5060"},
    {"[fe80::1%2]", "fe80::1%2"},
    /* IPv6 with an embedded dotted quad */
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
    {"::FFFF:1.2.3.4", "::ffff:1.2.3.4"},
    {"::ffff:0102:0304", "::ffff:1.2.3.4"},
    {"0:0:0:0:0:ffff:127.0.0.1", "::ffff:127.0.0.1"},
    {"::ffff:255.255.255.255", "::ffff:255.255.255.255"},
    {"[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80"},
    {"::ffff:0:1.2.3.4", "::ffff:0:1.2.3.4"},
    {"::ffff:0:0:0", "::ffff:0:0.0.0.0"},
    {"::1.2.3.4", "::102:304"},
    {"64:ff9b::192.0.2.1", "64:ff9b::c000:201"},
    {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    {"::0.0.0.1", "::1"},
    /* IPv6, rejected */
    {":", NULL},
    {":::", NULL},
    {"::1::", NULL},
    {"1::2::3", NULL},
    {"1:2:3:4:5:6:7:8:9", NULL},
    {"1:2:3:4:5:6:7:8::", NULL},
    {"::1:2:3:4:5:6:7:8", NULL},
    {"1:2:3:4:5:6:7", NULL},
    {":1::", NULL},
    {"1::2:", NULL},
    {"1:", NULL},
    {":1:2:3:4:5:6:7:8", NULL},
    {"12345::", NULL},
    {"02001:db8::1", NULL},
    {"g::1", NULL},
    {"::1 ", NULL},
    {"::1/128", NULL},
    {"[::1", NULL},
    {"::1]", NULL},
    {"[]", NULL},
    {"[::1]x", NULL},
    {"[::1]:", NULL},
    {"[::1]:65536", NULL},
    {"[::1]:1x", NULL},
    {"[::1]::80", NULL},
    {"[[::1]]", NULL},
    {"[::1]]:80", NULL},
    {"fe80::1%", NULL},
    {"fe80::1%eth0", NULL},
    {"fe80::1%-1", NULL},
    {"fe80::1%4294967296", NULL},
    {"fe80::1%1%2", NULL},
    {"[fe80::1]%2", NULL},
    {"%2", NULL},
    {"::ffff:01.2.3.4", NULL},
    {"::ffff:1.2.3.256", NULL},
    {"::ffff:1.2.3", NULL},
    {"::ffff:1.2.3.4.5", NULL},
    {"::1.2.3.4:5", NULL},
    {"1.2.3.4::", NULL},
    {"1:2:3:4:5:6:7:1.2.3.4", NULL},
    {"::1:2:3:4:5:6:1.2.3.4", NULL},
    {"::1.2.3.4::", NULL},
    {"1.2.3.4:5:6:7:8:9:10:11", NULL},
};

static void test_parse_table(void **state) {
    (void)state;
    size_t n = sizeof(parse_cases) / sizeof(parse_cases[0]);
    assert_true(n >= 80);
    for (size_t i = 0; i < n; i++) {
        const parse_case *c = &parse_cases[i];
        floe_addr a, b;
        memset(&a, 0xaa, sizeof(a));
        int rc = floe_addr_parse(c->in, &a);
        if (!c->out) {
            if (rc != FLOE_ERR_ADDR) print_error("accepted \"%s\"\n", c->in);
            assert_int_equal(rc, FLOE_ERR_ADDR);
            /* A failed parse leaves the output alone. */
            assert_int_equal(a.family, 0xaa);
            continue;
        }
        if (rc != FLOE_OK) print_error("rejected \"%s\"\n", c->in);
        assert_int_equal(rc, FLOE_OK);
        char buf[FLOE_ADDR_STRLEN];
        size_t len = floe_addr_format(&a, a.port != 0, buf, sizeof(buf));
        if (strcmp(buf, c->out) != 0) print_error("\"%s\" formats as \"%s\"\n", c->in, buf);
        assert_string_equal(buf, c->out);
        assert_int_equal(len, strlen(c->out));
        /* The canonical text parses back to the same address. */
        assert_int_equal(floe_addr_parse(buf, &b), FLOE_OK);
        assert_true(floe_addr_equal(&a, &b));
        /* And so does the form with the port, even when it is 0. */
        floe_addr_format(&a, true, buf, sizeof(buf));
        assert_int_equal(floe_addr_parse(buf, &b), FLOE_OK);
        assert_true(floe_addr_equal(&a, &b));
    }
}

static void test_parse_fields(void **state) {
    (void)state;
    floe_addr a;
    assert_int_equal(floe_addr_parse("[fe80::abcd%7]:3478", &a), FLOE_OK);
    assert_int_equal(a.family, FLOE_AF_INET6);
    assert_int_equal(a.port, 3478);
    assert_int_equal(a.scope_id, 7);
    assert_int_equal(a.ip[0], 0xfe);
    assert_int_equal(a.ip[1], 0x80);
    assert_int_equal(a.ip[14], 0xab);
    assert_int_equal(a.ip[15], 0xcd);

    assert_int_equal(floe_addr_parse("192.0.2.33:5", &a), FLOE_OK);
    assert_int_equal(a.family, FLOE_AF_INET4);
    assert_int_equal(a.port, 5);
    assert_int_equal(a.scope_id, 0);
    static const uint8_t want[16] = {192, 0, 2, 33};
    assert_memory_equal(a.ip, want, 16);

    assert_int_equal(floe_addr_parse(NULL, &a), FLOE_ERR_ADDR);
    assert_int_equal(floe_addr_parse("1.2.3.4", NULL), FLOE_ERR_ADDR);
}

static void test_format(void **state) {
    (void)state;
    floe_addr a;
    char buf[FLOE_ADDR_STRLEN];

    floe_addr_set_v4(&a, 0xc0000201u, 3478);
    assert_int_equal(floe_addr_format(&a, true, buf, sizeof(buf)), 14);
    assert_string_equal(buf, "192.0.2.1:3478");
    floe_addr_format(&a, false, buf, sizeof(buf));
    assert_string_equal(buf, "192.0.2.1");

    /* The longest text there is fits in FLOE_ADDR_STRLEN. */
    uint8_t ones[16];
    memset(ones, 0xff, sizeof(ones));
    floe_addr_set_v6(&a, ones, 65535);
    a.scope_id = UINT32_MAX;
    size_t n = floe_addr_format(&a, true, buf, sizeof(buf));
    assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
    assert_true(n < FLOE_ADDR_STRLEN);

    /* Port 0 is still written when asked for. */
    floe_addr_set_v6(&a, NULL, 0);
    floe_addr_format(&a, true, buf, sizeof(buf));
    assert_string_equal(buf, "[::]:0");

    /* Truncation keeps the NUL and reports what was written. */
    floe_addr_set_v4(&a, 0x01020304u, 0);
    assert_int_equal(floe_addr_format(&a, false, buf, 4), 3);
    assert_string_equal(buf, "1.2");
    assert_int_equal(floe_addr_format(&a, false, buf, 1), 0);
    assert_string_equal(buf, "");
    buf[0] = 'x';
    assert_int_equal(floe_addr_format(&a, false, buf, 0), 0);
    assert_int_equal(buf[0], 'x');

    /* No family: a placeholder, never an address. */
    memset(&a, 0, sizeof(a));
    floe_addr_format(&a, true, buf, sizeof(buf));
    assert_string_equal(buf, "(none)");
    assert_int_equal(floe_addr_parse(buf, &a), FLOE_ERR_ADDR);
}

static void test_builders(void **state) {
    (void)state;
    floe_addr a;
    memset(&a, 0x55, sizeof(a));
    floe_addr_set_v4(&a, 0x7f000001u, 80);
    assert_int_equal(a.family, FLOE_AF_INET4);
    assert_int_equal(a.port, 80);
    assert_int_equal(a.scope_id, 0);
    static const uint8_t lo[16] = {127, 0, 0, 1};
    assert_memory_equal(a.ip, lo, 16);
    assert_int_equal(floe_addr_ip_len(&a), 4);

    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    memset(&a, 0x55, sizeof(a));
    floe_addr_set_v6(&a, v6, 443);
    assert_int_equal(a.family, FLOE_AF_INET6);
    assert_int_equal(a.port, 443);
    assert_int_equal(a.scope_id, 0);
    assert_memory_equal(a.ip, v6, 16);
    assert_int_equal(floe_addr_ip_len(&a), 16);

    memset(&a, 0, sizeof(a));
    assert_int_equal(floe_addr_ip_len(&a), 0);
    assert_int_equal(floe_addr_ip_len(NULL), 0);
}

/* ---- equality ------------------------------------------------------------------- */

static floe_addr parsed(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static void test_equal(void **state) {
    (void)state;
    floe_addr a = parsed("192.0.2.1:80"), b = parsed("192.0.2.1:80");
    assert_true(floe_addr_equal(&a, &b));
    assert_true(floe_addr_ip_equal(&a, &b));

    b = parsed("192.0.2.1:81");
    assert_false(floe_addr_equal(&a, &b));
    assert_true(floe_addr_ip_equal(&a, &b));

    b = parsed("192.0.2.2:80");
    assert_false(floe_addr_equal(&a, &b));
    assert_false(floe_addr_ip_equal(&a, &b));

    /* An IPv4 address and its mapped IPv6 form are different transport addresses. */
    b = parsed("[::ffff:192.0.2.1]:80");
    assert_false(floe_addr_equal(&a, &b));
    assert_false(floe_addr_ip_equal(&a, &b));

    /* Bytes past the fourth do not count for IPv4, nor does scope_id. */
    b = a;
    b.ip[9] = 0x42;
    b.scope_id = 3;
    assert_true(floe_addr_equal(&a, &b));

    /* The zone counts for equal(), the port and the zone do not for ip_equal(). */
    a = parsed("[fe80::1%1]:5");
    b = parsed("[fe80::1%2]:5");
    assert_false(floe_addr_equal(&a, &b));
    assert_true(floe_addr_ip_equal(&a, &b));
    b = parsed("[fe80::1%1]:5");
    assert_true(floe_addr_equal(&a, &b));
    b = parsed("fe80::2%1");
    assert_false(floe_addr_ip_equal(&a, &b));

    /* Same text spelled differently, same address. */
    a = parsed("[2001:DB8:0:0::1]:9");
    b = parsed("[2001:db8::0:1]:9");
    assert_true(floe_addr_equal(&a, &b));

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_true(floe_addr_equal(&a, &b));
    assert_true(floe_addr_equal(NULL, NULL));
    assert_false(floe_addr_equal(&a, NULL));
    assert_false(floe_addr_ip_equal(NULL, &b));
}

/* ---- classification ------------------------------------------------------------- */

#define UNSPEC FLOE_ADDR_UNSPECIFIED
#define LOOP FLOE_ADDR_LOOPBACK
#define PRIV FLOE_ADDR_PRIVATE
#define CGNAT FLOE_ADDR_CGNAT
#define LINK FLOE_ADDR_LINK_LOCAL
#define MCAST FLOE_ADDR_MULTICAST
#define DOC FLOE_ADDR_DOCUMENTATION
#define BCAST FLOE_ADDR_BROADCAST
#define RSVD FLOE_ADDR_RESERVED
#define MAPPED FLOE_ADDR_V4_MAPPED
#define COMPAT FLOE_ADDR_V4_COMPATIBLE
#define SIX2FOUR FLOE_ADDR_6TO4
#define NAT64 FLOE_ADDR_NAT64
#define NAT64L FLOE_ADDR_NAT64_LOCAL
#define TEREDO FLOE_ADDR_TEREDO

typedef struct class_case {
    const char *in;
    uint32_t flags;
    bool global;
    const char *emb[2]; /* the embedded IPv4 addresses, as text */
} class_case;

static const class_case class_cases[] = {
    /* IPv4 */
    {"0.0.0.0", UNSPEC, false, {0}},
    {"0.1.2.3", UNSPEC, false, {0}},
    {"10.0.0.1", PRIV, false, {0}},
    {"10.255.255.255", PRIV, false, {0}},
    {"11.0.0.1", 0, true, {0}},
    {"100.63.255.255", 0, true, {0}},
    {"100.64.0.1", CGNAT, false, {0}},
    {"100.127.255.255", CGNAT, false, {0}},
    {"100.128.0.1", 0, true, {0}},
    {"127.0.0.1", LOOP, false, {0}},
    {"127.255.255.254", LOOP, false, {0}},
    {"169.253.255.255", 0, true, {0}},
    {"169.254.1.1", LINK, false, {0}},
    {"172.15.255.255", 0, true, {0}},
    {"172.16.0.1", PRIV, false, {0}},
    {"172.31.255.255", PRIV, false, {0}},
    {"172.32.0.1", 0, true, {0}},
    {"192.0.0.8", RSVD, false, {0}},
    {"192.0.1.255", 0, true, {0}},
    {"192.0.2.1", DOC, false, {0}},
    {"192.0.3.0", 0, true, {0}},
    {"192.88.99.1", RSVD, false, {0}},
    {"192.168.1.1", PRIV, false, {0}},
    {"198.18.0.1", RSVD, false, {0}},
    {"198.19.255.255", RSVD, false, {0}},
    {"198.20.0.1", 0, true, {0}},
    {"198.51.100.7", DOC, false, {0}},
    {"203.0.113.9", DOC, false, {0}},
    {"223.255.255.255", 0, true, {0}},
    {"224.0.0.1", MCAST, false, {0}},
    {"239.255.255.250", MCAST, false, {0}},
    {"240.0.0.1", RSVD, false, {0}},
    {"255.255.255.254", RSVD, false, {0}},
    {"255.255.255.255", BCAST, false, {0}},
    {"8.8.8.8", 0, true, {0}},
    {"1.1.1.1:53", 0, true, {0}},
    /* IPv6, plain */
    {"::", UNSPEC, false, {0}},
    {"::1", LOOP, false, {0}},
    {"fe80::1", LINK, false, {0}},
    {"fe80::1%3", LINK, false, {0}},
    {"febf:ffff::1", LINK, false, {0}},
    {"fec0::1", RSVD, false, {0}},
    {"ff02::1", MCAST, false, {0}},
    {"ff0e::1", MCAST, false, {0}},
    {"fc00::1", PRIV, false, {0}},
    {"fd12::1", PRIV, false, {0}},
    {"fbff::1", RSVD, false, {0}},
    {"2001:db8::1", DOC, false, {0}},
    {"3fff::1", DOC, false, {0}},
    {"3fff:fff::1", DOC, false, {0}},
    {"3fff:1000::1", 0, true, {0}},
    {"100::1", RSVD, false, {0}},
    {"100::ffff:ffff:ffff:ffff", RSVD, false, {0}},
    {"2001:2::1", RSVD, false, {0}},
    {"2001:1ff::1", RSVD, false, {0}},
    {"2001:200::1", 0, true, {0}},
    {"2606:4700::1", 0, true, {0}},
    {"2a00:1450:4001::200e", 0, true, {0}},
    {"3ffe::1", 0, true, {0}},
    {"4000::1", RSVD, false, {0}},
    {"1::1", RSVD, false, {0}},
    {"64:ff9b:0:0:1::1", RSVD, false, {0}},
    {"64:ff9b:1::1", NAT64L, false, {0}},
    {"64:ff9b:1:ffff::7f00:1", NAT64L, false, {0}},
    /* IPv4-mapped and RFC 2765 translated */
    {"::ffff:127.0.0.1", LOOP | MAPPED, false, {"127.0.0.1"}},
    {"::ffff:8.8.8.8", MAPPED, true, {"8.8.8.8"}},
    {"::ffff:0.0.0.0", UNSPEC | MAPPED, false, {"0.0.0.0"}},
    {"::ffff:100.64.0.1", CGNAT | MAPPED, false, {"100.64.0.1"}},
    {"::ffff:255.255.255.255", BCAST | MAPPED, false, {"255.255.255.255"}},
    {"::ffff:224.0.0.1", MCAST | MAPPED, false, {"224.0.0.1"}},
    {"::ffff:0:127.0.0.1", LOOP | MAPPED, false, {"127.0.0.1"}},
    {"::ffff:0:10.1.2.3", PRIV | MAPPED, false, {"10.1.2.3"}},
    {"::ffff:0:8.8.4.4", MAPPED, true, {"8.8.4.4"}},
    /* IPv4-compatible */
    {"::127.0.0.1", LOOP | COMPAT, false, {"127.0.0.1"}},
    {"::8.8.8.8", COMPAT, true, {"8.8.8.8"}},
    {"::2", UNSPEC | COMPAT, false, {"0.0.0.2"}},
    {"::169.254.0.1", LINK | COMPAT, false, {"169.254.0.1"}},
    /* 6to4 */
    {"2002:7f00:1::", LOOP | SIX2FOUR, false, {"127.0.0.1"}},
    {"2002:a9fe:a9fe::1", LINK | SIX2FOUR, false, {"169.254.169.254"}},
    {"2002:c000:201::1", DOC | SIX2FOUR, false, {"192.0.2.1"}},
    {"2002:c058:6301::", RSVD | SIX2FOUR, false, {"192.88.99.1"}},
    {"2002:808:808::1", SIX2FOUR, true, {"8.8.8.8"}},
    /* NAT64 well-known prefix */
    {"64:ff9b::7f00:1", LOOP | NAT64, false, {"127.0.0.1"}},
    {"64:ff9b::a9fe:a9fe", LINK | NAT64, false, {"169.254.169.254"}},
    {"64:ff9b::192.0.2.1", DOC | NAT64, false, {"192.0.2.1"}},
    {"64:ff9b::e000:1", MCAST | NAT64, false, {"224.0.0.1"}},
    {"64:ff9b::a00:1", PRIV | NAT64, false, {"10.0.0.1"}},
    {"64:ff9b::808:808", NAT64, true, {"8.8.8.8"}},
    /* Teredo: the server, then the client (stored inverted) */
    {"2001:0:4136:e378:8000:63bf:80ff:fffe", LOOP | TEREDO, false, {"65.54.227.120", "127.0.0.1"}},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", DOC | TEREDO, false, {"65.54.227.120", "192.0.2.45"}},
    {"2001:0:a00:1:8000:63bf:f7f7:f7f7", PRIV | TEREDO, false, {"10.0.0.1", "8.8.8.8"}},
    {"2001:0:808:808::f7f7:f7f7", TEREDO, true, {"8.8.8.8", "8.8.8.8"}},
    {"2001::", UNSPEC | BCAST | TEREDO, false, {"0.0.0.0", "255.255.255.255"}},
};

static void test_classify_table(void **state) {
    (void)state;
    size_t n = sizeof(class_cases) / sizeof(class_cases[0]);
    assert_true(n >= 60);
    for (size_t i = 0; i < n; i++) {
        const class_case *c = &class_cases[i];
        floe_addr a = parsed(c->in);
        floe_addr_info info;
        memset(&info, 0x5a, sizeof(info));
        uint32_t flags = floe_addr_classify(&a, &info);
        if (flags != c->flags) {
            char got[256], want[256];
            floe_addr_class_format(flags, got, sizeof(got));
            floe_addr_class_format(c->flags, want, sizeof(want));
            print_error("%s: got \"%s\", want \"%s\"\n", c->in, got, want);
        }
        assert_int_equal(flags, c->flags);
        assert_int_equal(info.flags, flags);
        assert_int_equal(floe_addr_classify(&a, NULL), flags);
        if (floe_addr_is_global(&a) != c->global) print_error("%s: is_global wrong\n", c->in);
        assert_int_equal(floe_addr_is_global(&a), c->global);
        assert_int_equal(c->global, (flags & FLOE_ADDR_NOT_GLOBAL) == 0);

        int want_n = (c->emb[0] != NULL) + (c->emb[1] != NULL);
        assert_int_equal(info.n_embedded, want_n);
        for (int k = 0; k < want_n; k++) {
            const floe_addr *e = &info.embedded[k];
            char buf[FLOE_ADDR_STRLEN];
            floe_addr_format(e, false, buf, sizeof(buf));
            if (strcmp(buf, c->emb[k]) != 0) print_error("%s: embedded %s\n", c->in, buf);
            assert_string_equal(buf, c->emb[k]);
            assert_int_equal(e->family, FLOE_AF_INET4);
            assert_int_equal(e->port, a.port);
            assert_int_equal(e->scope_id, 0);
            /* Every embedded address's own flags are part of the result. */
            uint32_t ef = floe_addr_classify(e, NULL);
            assert_int_equal(flags & ef, ef);
        }
    }
}

static void test_classify_misc(void **state) {
    (void)state;
    floe_addr_info info;

    /* The embedded address carries the port of the input. */
    floe_addr a = parsed("[2001:0:4136:e378:8000:63bf:80ff:fffe]:3544");
    floe_addr_classify(&a, &info);
    assert_int_equal(info.n_embedded, 2);
    assert_int_equal(info.embedded[0].port, 3544);
    assert_int_equal(info.embedded[1].port, 3544);
    floe_addr lo = parsed("127.0.0.1:3544");
    assert_true(floe_addr_equal(&info.embedded[1], &lo));

    /* A mapped address classifies exactly like the IPv4 address it carries. */
    for (uint32_t top = 0; top < 256; top++) {
        floe_addr v4, v6;
        uint8_t ip[16] = {0};
        floe_addr_set_v4(&v4, (top << 24) | 0x00a80001u, 7);
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, v4.ip, 4);
        floe_addr_set_v6(&v6, ip, 7);
        assert_int_equal(floe_addr_classify(&v6, NULL),
                         floe_addr_classify(&v4, NULL) | FLOE_ADDR_V4_MAPPED);
        assert_int_equal(floe_addr_is_global(&v6), floe_addr_is_global(&v4));
    }

    /* No family. */
    memset(&a, 0, sizeof(a));
    memset(&info, 0x5a, sizeof(info));
    assert_int_equal(floe_addr_classify(&a, &info), FLOE_ADDR_UNSPECIFIED);
    assert_int_equal(info.flags, FLOE_ADDR_UNSPECIFIED);
    assert_int_equal(info.n_embedded, 0);
    assert_false(floe_addr_is_global(&a));
    assert_int_equal(floe_addr_classify(NULL, NULL), FLOE_ADDR_UNSPECIFIED);
    assert_false(floe_addr_is_global(NULL));

    /* Every flag bit except the encodings counts against global. */
    assert_int_equal(FLOE_ADDR_NOT_GLOBAL & (FLOE_ADDR_V4_MAPPED | FLOE_ADDR_V4_COMPATIBLE |
                                             FLOE_ADDR_6TO4 | FLOE_ADDR_NAT64 | FLOE_ADDR_TEREDO),
                     0);
}

/* Every flag is reached by at least one table case. */
static void test_classify_coverage(void **state) {
    (void)state;
    uint32_t seen = 0;
    for (size_t i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++)
        seen |= class_cases[i].flags;
    uint32_t all = UNSPEC | LOOP | PRIV | CGNAT | LINK | MCAST | DOC | BCAST | RSVD | MAPPED |
                   COMPAT | SIX2FOUR | NAT64 | NAT64L | TEREDO;
    assert_int_equal(seen, all);
}

static void test_class_format(void **state) {
    (void)state;
    char buf[256];
    assert_int_equal(floe_addr_class_format(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");

    size_t n = floe_addr_class_format(LOOP | MAPPED, buf, sizeof(buf));
    assert_string_equal(buf, "loopback,v4-mapped");
    assert_int_equal(n, strlen(buf));

    floe_addr_class_format(NAT64L, buf, sizeof(buf));
    assert_string_equal(buf, "nat64-local");

    uint32_t all = UNSPEC | LOOP | PRIV | CGNAT | LINK | MCAST | DOC | BCAST | RSVD | MAPPED |
                   COMPAT | SIX2FOUR | NAT64 | NAT64L | TEREDO;
    n = floe_addr_class_format(all | (1u << 30), buf, sizeof(buf));
    assert_string_equal(buf, "unspecified,loopback,private,cgnat,link-local,multicast,"
                             "documentation,broadcast,reserved,v4-mapped,v4-compatible,6to4,"
                             "nat64,nat64-local,teredo");
    assert_int_equal(n, strlen(buf));

    /* Truncation keeps the NUL and returns what was written. */
    assert_int_equal(floe_addr_class_format(LOOP | MAPPED, buf, 6), 5);
    assert_string_equal(buf, "loopb");
    assert_int_equal(floe_addr_class_format(LOOP | MAPPED, buf, 10), 9);
    assert_string_equal(buf, "loopback,");
    assert_int_equal(floe_addr_class_format(LOOP, buf, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(floe_addr_class_format(LOOP, NULL, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),   cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_format),        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_equal),         cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_misc), cmocka_unit_test(test_classify_coverage),
        cmocka_unit_test(test_class_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
