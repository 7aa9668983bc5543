/* Unit tests for include/floe/sip_uri.h: SIP URI parsing (RFC 3261 §19.1.1, §25.1), the
 * comparison rules of §19.1.4 with the RFC's own examples, printing, parameter walking
 * and unescaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/sip_uri.h"

static floe_sip_uri parse(const char *s) {
    floe_sip_uri u;
    int rc = floe_sip_uri_parse(s, strlen(s), &u);
    if (rc != FLOE_OK) fail_msg("%s: %s", s, floe_strerror(rc));
    return u;
}

#define assert_str(s, lit) assert_true(floe_sip_str_eq((s), (lit)))

static void test_parts(void **state) {
    (void)state;
    floe_sip_uri u = parse("sip:alice:secretword@atlanta.com;transport=tcp");
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_SIP);
    assert_str(u.user, "alice");
    assert_str(u.password, "secretword");
    assert_str(u.host, "atlanta.com");
    assert_int_equal(u.addr.family, FLOE_AF_NONE);
    assert_false(u.has_port);
    assert_str(u.transport, "tcp");
    assert_str(u.params, ";transport=tcp");
    assert_null(u.headers.p);

    u = parse("SIPS:+1-212-555-1212:1234@gateway.com;user=phone");
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_SIPS);
    assert_str(u.scheme_text, "SIPS");
    assert_str(u.user, "+1-212-555-1212");
    assert_str(u.password, "1234");
    assert_str(u.user_param, "phone");

    u = parse("sip:alice@192.0.2.4:5070");
    assert_int_equal(u.addr.family, FLOE_AF_INET4);
    assert_true(u.has_port);
    assert_int_equal(u.port, 5070);

    u = parse("sip:[2001:db8::10]:5061;transport=tls;lr;maddr=239.255.255.1;ttl=15;method=INVITE");
    assert_null(u.user.p);
    assert_str(u.host, "2001:db8::10");
    assert_int_equal(u.addr.family, FLOE_AF_INET6);
    assert_int_equal(u.port, 5061);
    assert_true(u.lr);
    assert_str(u.maddr, "239.255.255.1");
    assert_str(u.ttl, "15");
    assert_str(u.method, "INVITE");

    u = parse("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com&priority=urgent");
    assert_str(u.headers, "to=alice%40atlanta.com&priority=urgent");
    assert_str(u.method, "REGISTER");

    u = parse("sip:host_with_underscore.example.com.");
    assert_str(u.host, "host_with_underscore.example.com.");

    /* other schemes: an absolute URI, kept whole */
    u = parse("tel:+358-555-1234567;postd=pp22");
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_OTHER);
    assert_str(u.scheme_text, "tel");
    assert_str(u.opaque, "+358-555-1234567;postd=pp22");
    assert_null(u.host.p);
    u = parse("urn:service:sos");
    assert_str(u.opaque, "service:sos");
}

static void test_bad(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "sip",
        "sip:",
        "1sip:a@b",       /* scheme starts with a letter */
        "sip:@host",      /* empty user */
        "sip:user@",      /* no host */
        "sip:user@host:", /* empty port */
        "sip:user@host:65536",
        "sip:user@host:123456",
        "sip:user@host:5x",
        "sip:us er@host",
        "sip:user@ho st",
        "sip:user@host;", /* empty parameter */
        "sip:user@host;;lr",
        "sip:user@host;a=", /* empty value */
        "sip:user@host;=b",
        "sip:user@host;lr;LR", /* a parameter twice (RFC 3261 §19.1.1) */
        "sip:user@host;x=1;%78=2",
        "sip:user@host?",  /* empty headers */
        "sip:user@host?a", /* header without '=' */
        "sip:user@host?=b",
        "sip:us%4gr@host", /* broken escape */
        "sip:user%@host",
        "sip:user@[2001:db8::1",
        "sip:user@[192.0.2.1]", /* brackets hold IPv6 only */
        "sip:user@[fe80::1%25eth0]",
        "sip:user@1.2.3", /* all digits: must be an IPv4 literal */
        "sip:user@256.1.1.1",
        "sip:user@host..com",
        "sip:user@.host",
        "sip:a@b@c",
        "sip:user@h<o>st",
        "tel:",
        "tel:12 34",
        "tel:<1234>",
        "mailto:a%zz@b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_sip_uri u;
        if (floe_sip_uri_parse(bad[i], strlen(bad[i]), &u) != FLOE_ERR_MALFORMED)
            fail_msg("accepted: %s", bad[i]);
    }
    floe_sip_uri u;
    static char huge[FLOE_SIP_URI_MAX_LEN + 2];
    memset(huge, 'a', sizeof huge);
    memcpy(huge, "sip:", 4);
    assert_int_equal(floe_sip_uri_parse(huge, sizeof huge, &u), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sip_uri_parse(NULL, 0, &u), FLOE_ERR_INVAL);
}

static bool same(const char *a, const char *b) {
    floe_sip_uri x = parse(a), y = parse(b);
    bool ab = floe_sip_uri_equal(&x, &y), ba = floe_sip_uri_equal(&y, &x);
    if (ab != ba) fail_msg("not symmetric: %s vs %s", a, b);
    return ab;
}

static void test_equal_rfc3261_examples(void **state) {
    (void)state;
    /* RFC 3261 §19.1.4: equivalent */
    assert_true(
        same("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    assert_true(same("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    assert_true(same("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
    assert_true(same("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
    assert_true(same("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    assert_true(same("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                     "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    /* not equivalent */
    assert_false(
        same("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    assert_false(same("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
    assert_false(same("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
    assert_false(same("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    /* and the intransitive pair of the RFC */
    assert_false(same("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

static void test_equal_more(void **state) {
    (void)state;
    assert_false(same("sip:alice@example.com", "sips:alice@example.com"));
    assert_false(same("sip:example.com", "sip:alice@example.com"));
    assert_false(same("sip:alice@example.com", "sip:alice:pw@example.com"));
    assert_false(same("sip:alice:pw@example.com", "sip:alice:PW@example.com"));
    assert_true(same("sip:alice@example.com;lr", "sip:alice@example.com"));
    assert_false(same("sip:alice@example.com;user=phone", "sip:alice@example.com"));
    assert_false(same("sip:alice@example.com;ttl=1", "sip:alice@example.com"));
    assert_false(same("sip:alice@example.com;method=INVITE", "sip:alice@example.com"));
    assert_false(same("sip:alice@example.com;maddr=192.0.2.1", "sip:alice@example.com"));
    assert_true(
        same("sip:alice@example.com;maddr=EXAMPLE.org", "sip:alice@example.com;maddr=example.org"));
    assert_false(same("sip:alice@example.com;lr", "sip:alice@example.com;lr=on"));
    /* IPv6 references compare as addresses */
    assert_true(same("sip:a@[2001:DB8::1]", "sip:a@[2001:db8:0:0:0:0:0:1]"));
    assert_false(same("sip:a@[2001:db8::1]", "sip:a@[2001:db8::2]"));
    /* escapes: unreserved characters equal their escapes, reserved ones do not */
    assert_true(same("sip:%41lice@example.com", "sip:Alice@example.com"));
    assert_false(same("sip:%41lice@example.com", "sip:alice@example.com"));
    assert_false(same("sip:a%3Bb@example.com", "sip:a;b@example.com"));
    assert_true(same("sip:a%3bb@example.com", "sip:a%3Bb@example.com"));
    assert_true(same("sip:null-%00-null@example.com", "sip:null-%00-null@example.com"));
    assert_false(same("sip:%00@example.com", "sip:%00%00@example.com"));
    /* escaped parameter names are the same parameters */
    assert_false(same("sip:a@example.com;%74ransport=tcp", "sip:a@example.com"));
    assert_true(same("sip:a@example.com;%74ransport=tcp", "sip:a@example.com;transport=TCP"));
    /* header components: same set, values case-sensitive */
    assert_false(same("sip:a@b?x=1", "sip:a@b?x=2"));
    assert_false(same("sip:a@b?x=1", "sip:a@b?x=1&y=2"));
    assert_true(same("sip:a@b?X=1", "sip:a@b?x=1"));
    assert_false(same("sip:a@b?x=a", "sip:a@b?x=A"));
    /* other schemes: scheme ignoring case, the rest byte for byte */
    assert_true(same("TEL:+1-555", "tel:+1-555"));
    assert_false(same("tel:+1-555", "tel:+1-556"));
    assert_false(same("tel:+1-555", "sip:+1-555@example.com"));
}

static void test_print(void **state) {
    (void)state;
    static const char *const uris[] = {
        "sip:alice@atlanta.com",
        "sips:alice:pw@[2001:db8::10]:5061;transport=tls;lr?subject=x%20y&h=",
        "sip:192.0.2.1:5060;maddr=239.0.0.1",
        "tel:+1-212-555-1212",
        ("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
         "(doesn't-it)@example.com"),
    };
    char buf[256];
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        floe_sip_uri u = parse(uris[i]);
        size_t n;
        assert_int_equal(floe_sip_uri_print(&u, buf, sizeof buf, &n), FLOE_OK);
        assert_int_equal(n, strlen(uris[i]));
        assert_string_equal(buf, uris[i]);
    }
    /* built by hand */
    floe_sip_uri u;
    memset(&u, 0, sizeof u);
    u.scheme = FLOE_SIP_SCHEME_SIPS;
    u.user = floe_sip_str_c("bob");
    u.host = floe_sip_str_c("::1");
    u.has_port = true;
    u.port = 5061;
    u.params = floe_sip_str_c("lr");
    size_t n;
    assert_int_equal(floe_sip_uri_print(&u, buf, sizeof buf, &n), FLOE_OK);
    assert_string_equal(buf, "sips:bob@[::1]:5061;lr");
    assert_int_equal(floe_sip_uri_print(&u, buf, 10, &n), FLOE_ERR_NOSPACE);
    assert_int_equal(strlen(buf), 9);
    u.user = floe_sip_str_c("b ob");
    assert_int_equal(floe_sip_uri_print(&u, buf, sizeof buf, &n), FLOE_ERR_INVAL);
    u.user = floe_sip_str_c("bob");
    u.host = floe_sip_str_c("");
    assert_int_equal(floe_sip_uri_print(&u, buf, sizeof buf, &n), FLOE_ERR_INVAL);
}

static void test_params_and_escapes(void **state) {
    (void)state;
    floe_sip_uri u = parse("sip:a@b;transport=udp;lr;x=%41");
    size_t pos = 0;
    floe_sip_param p;
    assert_true(floe_sip_params_next(u.params, &pos, &p));
    assert_str(p.name, "transport");
    assert_str(p.value, "udp");
    assert_true(floe_sip_params_next(u.params, &pos, &p));
    assert_str(p.name, "lr");
    assert_null(p.value.p);
    assert_true(floe_sip_params_next(u.params, &pos, &p));
    assert_str(p.value, "%41");
    assert_false(floe_sip_params_next(u.params, &pos, &p));
    assert_true(floe_sip_params_get(u.params, "LR", NULL));
    assert_false(floe_sip_params_get(u.params, "maddr", NULL));

    /* header parameters: whitespace, folding and quoted values */
    floe_sip_str hp = floe_sip_str_c(" ;  tag = 12ab ;\r\n  name=\"a \\\"b\\\"\"; flag");
    pos = 0;
    assert_true(floe_sip_params_next(hp, &pos, &p));
    assert_str(p.name, "tag");
    assert_str(p.value, "12ab");
    assert_true(floe_sip_params_next(hp, &pos, &p));
    assert_true(p.quoted);
    assert_str(p.value, "a \\\"b\\\"");
    char buf[16];
    size_t n;
    assert_int_equal(floe_sip_unquote(p.value, buf, sizeof buf, &n), FLOE_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "a \"b\"", 5);
    assert_int_equal(floe_sip_unquote(p.value, buf, 3, &n), FLOE_ERR_NOSPACE);
    assert_true(floe_sip_params_next(hp, &pos, &p));
    assert_str(p.name, "flag");
    assert_false(floe_sip_params_next(hp, &pos, &p));

    assert_int_equal(floe_sip_unescape(floe_sip_str_c("a%20b%00"), buf, sizeof buf, &n), FLOE_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "a b\0", 4);
    assert_int_equal(floe_sip_unescape(floe_sip_str_c("%2"), buf, sizeof buf, &n),
                     FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_unescape(floe_sip_str_c("abcd"), buf, 2, &n), FLOE_ERR_NOSPACE);
    assert_true(floe_sip_str_ieq(floe_sip_str_c("Via"), "VIA"));
    assert_false(floe_sip_str_eq(floe_sip_str_c(NULL), ""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_equal_rfc3261_examples),
        cmocka_unit_test(test_equal_more),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_params_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
