/* Address prefixes (floe_addr_prefix_*: parse, format, match in one family and in every
 * form an IPv6 address can carry an IPv4 one) and the keyed hash (floe_siphash) against
 * the SipHash-2-4 reference vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "floe/addr.h"
#include "floe/err.h"
#include "floe/hash.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_addr_prefix prefix(const char *s) {
    floe_addr_prefix p;
    assert_int_equal(floe_addr_prefix_parse(s, &p), FLOE_OK);
    return p;
}

static void test_parse_accepts(void **state) {
    (void)state;
    floe_addr_prefix p = prefix("10.0.0.0/8");
    assert_int_equal(p.addr.family, FLOE_AF_INET4);
    assert_int_equal(p.len, 8);
    assert_int_equal(p.addr.ip[0], 10);

    p = prefix("2001:db8::/32");
    assert_int_equal(p.addr.family, FLOE_AF_INET6);
    assert_int_equal(p.len, 32);
    assert_int_equal(p.addr.ip[0], 0x20);
    assert_int_equal(p.addr.ip[3], 0xb8);

    p = prefix("1.2.3.4"); /* a bare address is a /32 */
    assert_int_equal(p.addr.family, FLOE_AF_INET4);
    assert_int_equal(p.len, 32);
    p = prefix("::1"); /* ... and a /128 */
    assert_int_equal(p.len, 128);
    p = prefix("0.0.0.0/0");
    assert_int_equal(p.len, 0);
    p = prefix("::/0");
    assert_int_equal(p.len, 0);
    p = prefix("127.0.0.0/8");
    assert_int_equal(p.len, 8);
    p = prefix("fe80::/10");
    assert_int_equal(p.len, 10);
}

static void test_parse_rejects(void **state) {
    (void)state;
    static const char *const bad[] = {
        "10.1.2.3/8", /* host bits set: a typo, not a wider entry */
        "/8",         "10.0.0.0/33",    "::/129",        "1.2.3.4:5",    "[::1]:5",
        "10.0.0.0/",  "10.0.0.0/8x",    "10.0.0.0/-1",   "10.0.0.0/ 8",  "fe80::1%2",
        "",           "2001:db8::1/32", "example.com/8", "10.0.0.0/8/8", "10.0.0.0/0x8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_addr_prefix p;
        if (floe_addr_prefix_parse(bad[i], &p) == FLOE_OK) fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_format(void **state) {
    (void)state;
    static const char *const in[] = {"10.0.0.0/8", "2001:db8::/32", "1.2.3.4/32",
                                     "::/0",       "fe80::/10",     "::1/128"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        floe_addr_prefix p = prefix(in[i]);
        char buf[64];
        size_t n = floe_addr_prefix_format(&p, buf, sizeof buf);
        assert_string_equal(buf, in[i]);
        assert_int_equal(n, strlen(in[i]));
    }
    /* Truncation keeps the NUL and reports the full length. */
    floe_addr_prefix p = prefix("10.0.0.0/8");
    char small[5];
    assert_int_equal(floe_addr_prefix_format(&p, small, sizeof small), 10);
    assert_string_equal(small, "10.0");
}

static void test_match(void **state) {
    (void)state;
    floe_addr_prefix p = prefix("10.0.0.0/8");
    floe_addr a = addr("10.255.1.2"), b = addr("11.0.0.1"), m = addr("::ffff:10.0.0.1");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));
    assert_false(floe_addr_prefix_match(&p, &m)); /* another family */

    p = prefix("172.16.0.0/12");
    a = addr("172.31.255.255");
    b = addr("172.32.0.0");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));

    p = prefix("2001:db8::/32");
    a = addr("2001:db8:ffff::1");
    b = addr("2001:db9::1");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));

    p = prefix("fe80::/10");
    a = addr("febf::1");
    b = addr("fec0::1");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));

    /* /0 matches its whole family, and only it. */
    p = prefix("0.0.0.0/0");
    a = addr("8.8.8.8");
    b = addr("::1");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));

    /* /32 is one address; the port does not matter. */
    p = prefix("192.0.2.7");
    a = addr("192.0.2.7:5000");
    b = addr("192.0.2.8");
    assert_true(floe_addr_prefix_match(&p, &a));
    assert_false(floe_addr_prefix_match(&p, &b));
}

static void test_match_any_form(void **state) {
    (void)state;
    floe_addr_prefix p = prefix("127.0.0.0/8");
    static const char *const hit[] = {
        "127.0.0.1",
        "::ffff:127.0.0.1",                     /* mapped */
        "::ffff:0:127.0.0.1",                   /* RFC 2765 translated */
        "::127.0.0.1",                          /* compatible */
        "2002:7f00:1::",                        /* 6to4 */
        "64:ff9b::7f00:1",                      /* NAT64 */
        "2001:0:7f00:1::",                      /* Teredo server */
        "2001:0:4136:e378:8000:63bf:80ff:fffe", /* Teredo client, obfuscated */
    };
    for (size_t i = 0; i < sizeof hit / sizeof hit[0]; i++) {
        floe_addr a = addr(hit[i]);
        if (!floe_addr_prefix_match_any_form(&p, &a)) fail_msg("%s not matched", hit[i]);
    }
    static const char *const miss[] = {
        "128.0.0.1", "::ffff:8.8.8.8", "2002:808:808::", "64:ff9b::808:808",
        "::1",       "2606:4700::1111"};
    for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
        floe_addr a = addr(miss[i]);
        if (floe_addr_prefix_match_any_form(&p, &a)) fail_msg("%s matched", miss[i]);
    }
    /* An IPv6 prefix matches IPv6 addresses directly. */
    p = prefix("2606:4700::/32");
    floe_addr a = addr("2606:4700::1111"), b = addr("8.8.8.8");
    assert_true(floe_addr_prefix_match_any_form(&p, &a));
    assert_false(floe_addr_prefix_match_any_form(&p, &b));
}

static void test_siphash_vectors(void **state) {
    (void)state;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* The reference implementation's vectors (key 00..0f, message 00..len-1). */
    assert_true(floe_siphash(key, msg, 0) == UINT64_C(0x726fdb47dd0e0e31));
    assert_true(floe_siphash(key, msg, 15) == UINT64_C(0xa129ca6149be45e5));
    assert_true(floe_siphash(key, msg, 1) == UINT64_C(0x74f839c593dc67fd));
    assert_true(floe_siphash(key, msg, 7) == UINT64_C(0xab0200f58b01d137));
    assert_true(floe_siphash(key, msg, 8) == UINT64_C(0x93f5f5799a932462));
    assert_true(floe_siphash(key, msg, 16) == UINT64_C(0x3f2acc7f57c29bdb));
    assert_true(floe_siphash(key, msg, 63) == UINT64_C(0x958a324ceb064572));
    /* The key matters. */
    uint8_t other[16] = {0};
    assert_true(floe_siphash(other, msg, 15) != floe_siphash(key, msg, 15));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),  cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),         cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_any_form), cmocka_unit_test(test_siphash_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
