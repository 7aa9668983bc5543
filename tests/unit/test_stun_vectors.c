/* The published STUN test vectors, checked byte by byte:
 *
 *   RFC 5769 §2.1 sample request (short-term credentials, FINGERPRINT)
 *   RFC 5769 §2.2 sample IPv4 response, §2.3 sample IPv6 response
 *   RFC 5769 §2.4 sample request with long-term credentials (SASLprep, MD5 key)
 *   RFC 8489 Appendix B.1 (USERHASH, PASSWORD-ALGORITHM, MESSAGE-INTEGRITY-SHA256),
 *       as corrected by RFC Errata ID 6268 (see tests/vectors/rfc8489_b1_request_errata6268.hex)
 *
 * The bytes live in the .hex files of tests/vectors. For every vector: it decodes, every attribute
 * holds the documented value, the integrity attribute verifies with the right key and
 * fails with a wrong key or a flipped byte, FINGERPRINT verifies, and floe's builder,
 * given the same attributes in the same order and the same key, writes the same bytes.
 *
 * About padding: RFC 5769 §2.1-2.3 pad USERNAME and SOFTWARE with spaces (0x20) where
 * floe's builder pads with zeros by default, and MESSAGE-INTEGRITY and FINGERPRINT cover
 * those padding bytes. For those three vectors the tests check two things:
 *   - with the default zero padding, the rebuilt message equals the vector everywhere
 *     except the padding and the MESSAGE-INTEGRITY and FINGERPRINT values that depend
 *     on it (and the rebuilt message verifies on its own);
 *   - with floe_stun_builder_set_pad(b, 0x20), the result is the vector byte for byte.
 * RFC 5769 §2.4 and RFC 8489 B.1 pad with zeros and are reproduced with the defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"

#ifndef FLOE_VECTORS_DIR
#error "FLOE_VECTORS_DIR must point at tests/vectors"
#endif

/* ---- helpers -------------------------------------------------------------------- */

/* Reads tests/vectors/<name>: hex byte pairs separated by white space, '#' to the end
 * of a line is a comment. */
static size_t load_hex(const char *name, uint8_t *out, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FLOE_VECTORS_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    size_t n = 0;
    int c, hi = -1;
    bool comment = false;
    while ((c = fgetc(f)) != EOF) {
        if (comment) {
            comment = c != '\n';
            continue;
        }
        if (c == '#') {
            comment = true;
            continue;
        }
        if (isspace(c)) {
            assert_int_equal(hi, -1); /* a byte is two adjacent digits */
            continue;
        }
        assert_true(isxdigit(c));
        int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    fclose(f);
    assert_int_equal(hi, -1);
    return n;
}

static void assert_string_attr(const floe_stun_msg *m, uint16_t type, const char *want) {
    const char *s = NULL;
    size_t n = 0;
    assert_int_equal(floe_stun_msg_get_string(m, type, &s, &n), FLOE_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
}

static void assert_types(const floe_stun_msg *m, const uint16_t *types, size_t n) {
    assert_int_equal(m->n_attrs, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(m->attrs[i].type, types[i]);
}

/* Offset in the message of the attribute header of attrs[i]. */
static size_t attr_off(const floe_stun_msg *m, int i) {
    return (size_t)(m->attrs[i].val - 4 - m->raw);
}

/* Copies the message without its final FINGERPRINT (fixing the length field), so that
 * bytes before MESSAGE-INTEGRITY can be altered without decode failing first on the
 * fingerprint. */
static size_t strip_fingerprint(const floe_stun_msg *m, uint8_t *out) {
    assert_true(m->fp == (int)m->n_attrs - 1);
    size_t n = attr_off(m, m->fp);
    memcpy(out, m->raw, n);
    floe_put_u16(out + 2, (uint16_t)(n - FLOE_STUN_HEADER_LEN));
    return n;
}

/* Flips one bit in every byte of a message (except the length field, which would only
 * reframe it) and checks the integrity check never accepts the result. */
static void assert_every_flip_breaks_integrity(const uint8_t *msg, size_t len, const uint8_t *key,
                                               size_t key_len) {
    uint8_t copy[256];
    assert_true(len <= sizeof copy);
    unsigned checked = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == 2 || i == 3) continue;
        for (unsigned bit = 0; bit < 8; bit += 7) {
            memcpy(copy, msg, len);
            copy[i] ^= (uint8_t)(1u << bit);
            floe_stun_msg m;
            if (floe_stun_msg_decode(copy, len, 0, &m) != FLOE_OK) continue;
            int rc = floe_stun_msg_check_integrity(&m, key, key_len);
            assert_true(rc == FLOE_ERR_INTEGRITY || rc == FLOE_ERR_NOT_FOUND);
            checked++;
        }
    }
    /* Most flips leave a decodable message (only structural bytes do not). */
    assert_true(checked > len);
}

/* Compares a rebuilt message with the vector, allowing differences only at the listed
 * [start, end) byte ranges, and requiring each of those ranges to differ somewhere. */
typedef struct span {
    size_t start, end;
} span;

static void assert_equal_except(const uint8_t *got, const uint8_t *want, size_t len,
                                const span *spans, size_t n_spans) {
    for (size_t i = 0; i < len; i++) {
        bool allowed = false;
        for (size_t k = 0; k < n_spans; k++)
            allowed |= i >= spans[k].start && i < spans[k].end;
        if (!allowed && got[i] != want[i])
            fail_msg("byte %zu: got %02x want %02x", i, got[i], want[i]);
    }
    for (size_t k = 0; k < n_spans; k++)
        assert_memory_not_equal(got + spans[k].start, want + spans[k].start,
                                spans[k].end - spans[k].start);
}

static const uint8_t rfc5769_tid[FLOE_STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                                       0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const uint8_t rfc5769_lt_tid[FLOE_STUN_TID_LEN] = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                                                          0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
static const char short_term_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9 in UTF-8 */
static const char lt_username[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                  "\xe3\x82\xb9";
/* "The<U+00AD>M<U+00AA>tr<U+2168>": a soft hyphen (mapped to nothing), a feminine
 * ordinal indicator (NFKC: 'a') and ROMAN NUMERAL NINE (NFKC: "IX"). */
static const char lt_password_raw[] = "The\xc2\xadM\xc2\xaatr\xe2\x85\xa8";
static const char lt_password_prepared[] = "TheMatrIX";
static const char lt_realm[] = "example.org";

/* MD5("<username>:example.org:TheMatrIX"), computed independently of floe. */
static const uint8_t rfc5769_lt_key[16] = {0xe8, 0xca, 0x7a, 0xd5, 0x9d, 0x5e, 0xb0, 0x51,
                                           0x8e, 0x31, 0x29, 0x11, 0xd2, 0xda, 0xb2, 0xa9};
/* SHA-256("<username>:example.org:TheMatrIX"), computed independently of floe. */
static const uint8_t rfc8489_lt_key[32] = {
    0xdd, 0x29, 0x5a, 0x61, 0x3b, 0x90, 0x58, 0xc3, 0xc2, 0x3d, 0x6d, 0xc7, 0x16, 0x5b, 0xda, 0x07,
    0x23, 0x04, 0xd9, 0x89, 0xc9, 0xd0, 0xaf, 0x3a, 0x8c, 0x7e, 0x18, 0x4b, 0x4f, 0x9b, 0xb4, 0xa1};

/* ---- RFC 5769 §2.1: sample request ------------------------------------------------ */

static void test_rfc5769_request_decode(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc5769_2_1_request.hex", v, sizeof v);
    assert_int_equal(len, 108);

    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);
    assert_int_equal(m.type, 0x0001);
    assert_int_equal(m.method, FLOE_STUN_BINDING);
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    assert_false(m.classic);
    assert_memory_equal(m.tid, rfc5769_tid, FLOE_STUN_TID_LEN);
    assert_int_equal(m.raw_len, 108);
    static const uint16_t types[] = {FLOE_STUN_ATTR_SOFTWARE,          FLOE_STUN_ATTR_PRIORITY,
                                     FLOE_STUN_ATTR_ICE_CONTROLLED,    FLOE_STUN_ATTR_USERNAME,
                                     FLOE_STUN_ATTR_MESSAGE_INTEGRITY, FLOE_STUN_ATTR_FINGERPRINT};
    assert_types(&m, types, 6);
    assert_int_equal(m.mi, 4);
    assert_int_equal(m.mi256, -1);
    assert_int_equal(m.fp, 5);
    assert_int_equal(m.n_ignored, 0);
    assert_int_equal(m.n_unknown, 0);

    assert_string_attr(&m, FLOE_STUN_ATTR_SOFTWARE, "STUN test client");
    assert_string_attr(&m, FLOE_STUN_ATTR_USERNAME, "evtj:h6vY");
    uint32_t prio = 0;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_PRIORITY, &prio), FLOE_OK);
    assert_int_equal(prio, 0x6e0001ffu);
    uint64_t tie = 0;
    assert_int_equal(floe_stun_msg_get_u64(&m, FLOE_STUN_ATTR_ICE_CONTROLLED, &tie), FLOE_OK);
    assert_true(tie == UINT64_C(0x932ff9b151263b36));
    /* USERNAME's padding really is spaces in the vector */
    assert_memory_equal(m.attrs[3].val + 9, "   ", 3);

    /* FINGERPRINT: decode checked it; recompute it explicitly too */
    assert_int_equal(floe_get_u32(m.attrs[5].val), 0xe57a3bcfu);
    assert_int_equal(floe_stun_fingerprint(v, attr_off(&m, 5)), 0xe57a3bcfu);
}

static void test_rfc5769_request_integrity(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc5769_2_1_request.hex", v, sizeof v);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);

    /* Short-term key: the (SASLprep'd, here unchanged) password itself. */
    uint8_t key[FLOE_STUN_KEY_MAX];
    size_t key_len = 0;
    assert_int_equal(floe_stun_key_short_term(short_term_password, key, sizeof key, &key_len),
                     FLOE_OK);
    assert_int_equal(key_len, strlen(short_term_password));
    assert_memory_equal(key, short_term_password, key_len);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, key_len), FLOE_OK);

    /* wrong keys */
    static const char wrong[] = "VOkJxbRl1RmTxUk/WvJxBu";
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)wrong, strlen(wrong)),
                     FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, key_len - 1), FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, 0), FLOE_ERR_INTEGRITY);

    /* A flipped byte before FINGERPRINT makes decoding fail on the fingerprint... */
    uint8_t copy[256];
    memcpy(copy, v, len);
    copy[24] ^= 0x01; /* inside SOFTWARE */
    floe_stun_msg bad;
    assert_int_equal(floe_stun_msg_decode(copy, len, 0, &bad), FLOE_ERR_FINGERPRINT);
    memcpy(copy, v, len);
    copy[len - 1] ^= 0x80; /* the fingerprint value itself */
    assert_int_equal(floe_stun_msg_decode(copy, len, 0, &bad), FLOE_ERR_FINGERPRINT);

    /* ...and, with FINGERPRINT removed, every flipped byte fails MESSAGE-INTEGRITY. */
    size_t n = strip_fingerprint(&m, copy);
    floe_stun_msg nofp;
    assert_int_equal(floe_stun_msg_decode(copy, n, 0, &nofp), FLOE_OK);
    assert_int_equal(nofp.fp, -1);
    assert_int_equal(floe_stun_msg_check_integrity(&nofp, key, key_len), FLOE_OK);
    assert_every_flip_breaks_integrity(copy, n, key, key_len);
}

/* Builds §2.1; when spaces is true, pads with the RFC's 0x20 (see the header comment). */
static size_t build_rfc5769_request(uint8_t *out, size_t cap, bool spaces) {
    floe_stun_builder b;
    assert_int_equal(
        floe_stun_builder_init(&b, out, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, rfc5769_tid),
        FLOE_OK);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "STUN test client");
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 0x6e0001ffu);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, UINT64_C(0x932ff9b151263b36));
    if (spaces) floe_stun_builder_set_pad(&b, 0x20);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, "evtj:h6vY");
    floe_stun_add_integrity(&b, (const uint8_t *)short_term_password, strlen(short_term_password));
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    return len;
}

static void test_rfc5769_request_rebuild(void **state) {
    (void)state;
    uint8_t v[256], out[256];
    size_t len = load_hex("rfc5769_2_1_request.hex", v, sizeof v);

    /* Zero padding: the pad bytes and both checksums differ. */
    size_t n = build_rfc5769_request(out, sizeof out, false);
    assert_int_equal(n, len);
    floe_stun_msg vm;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &vm), FLOE_OK);
    size_t user = attr_off(&vm, 3), mi = attr_off(&vm, 4), fp = attr_off(&vm, 5);
    const span diffs[] = {
        {user + 4 + 9, user + 4 + 12}, /* USERNAME padding: 00 00 00 here, 20 20 20 in the RFC */
        {mi + 4, mi + 24},             /* MESSAGE-INTEGRITY value */
        {fp + 4, fp + 8},              /* FINGERPRINT value */
    };
    assert_int_equal(user, 60);
    assert_equal_except(out, v, len, diffs, 3);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(out, n, 0, &m), FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)short_term_password,
                                                   strlen(short_term_password)),
                     FLOE_OK);

    /* With the RFC's space padding: byte for byte. */
    n = build_rfc5769_request(out, sizeof out, true);
    assert_int_equal(n, len);
    assert_memory_equal(out, v, len);
}

/* ---- RFC 5769 §2.2 / §2.3: sample responses -------------------------------------- */

static void check_response(const char *file, size_t want_len, const floe_addr *want_addr,
                           size_t want_body) {
    uint8_t v[256];
    size_t len = load_hex(file, v, sizeof v);
    assert_int_equal(len, want_len);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);
    assert_int_equal(m.type, 0x0101);
    assert_int_equal(m.method, FLOE_STUN_BINDING);
    assert_int_equal(m.cls, FLOE_STUN_SUCCESS);
    assert_int_equal(m.raw_len - FLOE_STUN_HEADER_LEN, want_body);
    assert_memory_equal(m.tid, rfc5769_tid, FLOE_STUN_TID_LEN);
    static const uint16_t types[] = {FLOE_STUN_ATTR_SOFTWARE, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                     FLOE_STUN_ATTR_MESSAGE_INTEGRITY, FLOE_STUN_ATTR_FINGERPRINT};
    assert_types(&m, types, 4);
    assert_int_equal(m.mi, 2);
    assert_int_equal(m.fp, 3);
    assert_string_attr(&m, FLOE_STUN_ATTR_SOFTWARE, "test vector");
    assert_int_equal(m.attrs[0].val[11], 0x20); /* space padding */

    floe_addr got;
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &got), FLOE_OK);
    assert_true(floe_addr_equal(&got, want_addr));
    assert_int_equal(got.port, 32853);
    /* the same attribute value read as a plain address would be the XOR'd one */
    assert_int_equal(floe_get_u16(m.attrs[1].val + 2), 32853 ^ 0x2112);

    const uint8_t *key = (const uint8_t *)short_term_password;
    size_t key_len = strlen(short_term_password);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, key_len), FLOE_OK);
    assert_int_equal(
        floe_stun_msg_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", key_len),
        FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_stun_fingerprint(v, attr_off(&m, 3)), floe_get_u32(m.attrs[3].val));

    uint8_t copy[256];
    memcpy(copy, v, len);
    copy[attr_off(&m, 1) + 6] ^= 0x10; /* inside the XOR'd address */
    floe_stun_msg bad;
    assert_int_equal(floe_stun_msg_decode(copy, len, 0, &bad), FLOE_ERR_FINGERPRINT);
    size_t n = strip_fingerprint(&m, copy);
    assert_every_flip_breaks_integrity(copy, n, key, key_len);

    /* Rebuild: zero pad after SOFTWARE, then with the RFC's space. */
    for (int spaces = 0; spaces < 2; spaces++) {
        uint8_t out[256];
        floe_stun_builder b;
        assert_int_equal(floe_stun_builder_init(&b, out, sizeof out, FLOE_STUN_BINDING,
                                                FLOE_STUN_SUCCESS, rfc5769_tid),
                         FLOE_OK);
        if (spaces) floe_stun_builder_set_pad(&b, 0x20);
        floe_stun_add_string(&b, FLOE_STUN_ATTR_SOFTWARE, "test vector");
        floe_stun_builder_set_pad(&b, 0);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, want_addr);
        floe_stun_add_integrity(&b, key, key_len);
        floe_stun_add_fingerprint(&b);
        size_t out_len = 0;
        assert_int_equal(floe_stun_builder_finish(&b, &out_len), FLOE_OK);
        assert_int_equal(out_len, len);
        if (spaces) {
            assert_memory_equal(out, v, len);
        } else {
            size_t mi = attr_off(&m, 2), fp = attr_off(&m, 3);
            const span diffs[] = {{35, 36}, {mi + 4, mi + 24}, {fp + 4, fp + 8}};
            assert_equal_except(out, v, len, diffs, 3);
            floe_stun_msg again;
            assert_int_equal(floe_stun_msg_decode(out, out_len, 0, &again), FLOE_OK);
            assert_int_equal(floe_stun_msg_check_integrity(&again, key, key_len), FLOE_OK);
        }
    }
}

static void test_rfc5769_ipv4_response(void **state) {
    (void)state;
    floe_addr a;
    assert_int_equal(floe_addr_parse("192.0.2.1:32853", &a), FLOE_OK);
    floe_addr b;
    floe_addr_set_v4(&b, 0xc0000201u, 32853);
    assert_true(floe_addr_equal(&a, &b));
    check_response("rfc5769_2_2_ipv4_response.hex", 80, &b, 60);
}

static void test_rfc5769_ipv6_response(void **state) {
    (void)state;
    static const uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                   0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    floe_addr a;
    floe_addr_set_v6(&a, ip, 32853);
    check_response("rfc5769_2_3_ipv6_response.hex", 92, &a, 72);
}

/* ---- RFC 5769 §2.4: long-term credentials ------------------------------------------ */

static void test_rfc5769_long_term_key(void **state) {
    (void)state;
    uint8_t key[32];
    size_t key_len = 0;
    /* the password as published, SASLprep'd by floe */
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, lt_realm,
                                             lt_password_raw, key, &key_len),
                     FLOE_OK);
    assert_int_equal(key_len, 16);
    assert_memory_equal(key, rfc5769_lt_key, 16);
    /* the already prepared password gives the same key */
    memset(key, 0, sizeof key);
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, lt_realm,
                                             lt_password_prepared, key, &key_len),
                     FLOE_OK);
    assert_memory_equal(key, rfc5769_lt_key, 16);
    /* SASLprep alone: the raw password prepares to "TheMatrIX" */
    uint8_t prepped[FLOE_STUN_KEY_MAX];
    size_t n = 0;
    assert_int_equal(floe_stun_key_short_term(lt_password_raw, prepped, sizeof prepped, &n),
                     FLOE_OK);
    assert_int_equal(n, strlen(lt_password_prepared));
    assert_memory_equal(prepped, lt_password_prepared, n);
}

static void test_rfc5769_long_term_request(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc5769_2_4_long_term_request.hex", v, sizeof v);
    assert_int_equal(len, 116);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);
    assert_int_equal(m.method, FLOE_STUN_BINDING);
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    assert_memory_equal(m.tid, rfc5769_lt_tid, FLOE_STUN_TID_LEN);
    static const uint16_t types[] = {FLOE_STUN_ATTR_USERNAME, FLOE_STUN_ATTR_NONCE,
                                     FLOE_STUN_ATTR_REALM, FLOE_STUN_ATTR_MESSAGE_INTEGRITY};
    assert_types(&m, types, 4);
    assert_int_equal(m.mi, 3);
    assert_int_equal(m.fp, -1);
    assert_string_attr(&m, FLOE_STUN_ATTR_USERNAME, lt_username);
    assert_string_attr(&m, FLOE_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
    assert_string_attr(&m, FLOE_STUN_ATTR_REALM, lt_realm);
    /* an RFC 5389 nonce: no RFC 8489 cookie */
    uint32_t features = 0;
    assert_false(floe_stun_nonce_features((const char *)m.attrs[1].val, m.attrs[1].len, &features));

    uint8_t key[32];
    size_t key_len = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, lt_realm,
                                             lt_password_raw, key, &key_len),
                     FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, key_len), FLOE_OK);

    /* wrong keys: case-changed password, other realm, SHA-256 instead of MD5 */
    uint8_t bad[32];
    size_t bad_len = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, lt_realm,
                                             "thematrix", bad, &bad_len),
                     FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, bad, bad_len), FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, "example.com",
                                             lt_password_raw, bad, &bad_len),
                     FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, bad, bad_len), FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_SHA256, lt_username, lt_realm,
                                             lt_password_raw, bad, &bad_len),
                     FLOE_OK);
    assert_int_equal(bad_len, 32);
    assert_int_equal(floe_stun_msg_check_integrity(&m, bad, bad_len), FLOE_ERR_INTEGRITY);
    /* the plain password is not the key either (that would be short-term) */
    assert_int_equal(floe_stun_msg_check_integrity(&m, (const uint8_t *)lt_password_prepared,
                                                   strlen(lt_password_prepared)),
                     FLOE_ERR_INTEGRITY);

    assert_every_flip_breaks_integrity(v, len, key, key_len);

    /* Rebuild through the API alone: this vector pads with zeros. */
    uint8_t out[256];
    floe_stun_builder b;
    assert_int_equal(floe_stun_builder_init(&b, out, sizeof out, FLOE_STUN_BINDING,
                                            FLOE_STUN_REQUEST, rfc5769_lt_tid),
                     FLOE_OK);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, lt_username);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
    floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, lt_realm);
    floe_stun_add_integrity(&b, key, key_len);
    size_t out_len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &out_len), FLOE_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, v, len);
}

/* ---- RFC 8489 Appendix B.1 with Errata ID 6268 ----------------------------------- */

static const char b1_nonce[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

static void test_rfc8489_b1_decode(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc8489_b1_request_errata6268.hex", v, sizeof v);
    assert_int_equal(len, 164);
    assert_int_equal(floe_get_u16(v + 2), 0x90); /* the corrected length */
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);
    assert_int_equal(m.method, FLOE_STUN_BINDING);
    assert_int_equal(m.cls, FLOE_STUN_REQUEST);
    assert_memory_equal(m.tid, rfc5769_lt_tid, FLOE_STUN_TID_LEN);
    static const uint16_t types[] = {FLOE_STUN_ATTR_USERHASH, FLOE_STUN_ATTR_NONCE,
                                     FLOE_STUN_ATTR_REALM, FLOE_STUN_ATTR_PASSWORD_ALGORITHM,
                                     FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256};
    assert_types(&m, types, 5);
    assert_int_equal(m.mi, -1);
    assert_int_equal(m.mi256, 4);
    assert_int_equal(m.fp, -1);
    assert_int_equal(m.attrs[4].len, 32);

    /* USERHASH = SHA-256(username ":" realm) */
    uint8_t uh[32];
    assert_int_equal(floe_stun_userhash(lt_username, lt_realm, uh), FLOE_OK);
    assert_int_equal(m.attrs[0].len, 32);
    assert_memory_equal(m.attrs[0].val, uh, 32);

    assert_string_attr(&m, FLOE_STUN_ATTR_NONCE, b1_nonce);
    assert_string_attr(&m, FLOE_STUN_ATTR_REALM, lt_realm);
    /* The nonce carries the RFC 8489 cookie. Its four base64 characters "AAAC" decode
     * to 0x000002: bit 1 counted from the least significant end (erratum 6290), username
     * anonymity, which the printed message uses (USERHASH). */
    uint32_t features = 0xffffffffu;
    assert_true(floe_stun_nonce_features(b1_nonce, strlen(b1_nonce), &features));
    assert_int_equal(features, 0x000002u);
    assert_int_equal(features, FLOE_STUN_FEATURE_USERNAME_ANONYMITY);

    floe_stun_pwalg alg;
    assert_int_equal(floe_stun_msg_get_password_algorithm(&m, &alg), FLOE_OK);
    assert_int_equal(alg.alg, FLOE_STUN_PWALG_SHA256);
    assert_int_equal(alg.params_len, 0);
}

static void test_rfc8489_b1_integrity(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc8489_b1_request_errata6268.hex", v, sizeof v);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);

    uint8_t key[32];
    size_t key_len = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_SHA256, lt_username, lt_realm,
                                             lt_password_raw, key, &key_len),
                     FLOE_OK);
    assert_int_equal(key_len, 32);
    assert_memory_equal(key, rfc8489_lt_key, 32);
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_SHA256, lt_username, lt_realm,
                                             lt_password_prepared, key, &key_len),
                     FLOE_OK);
    assert_memory_equal(key, rfc8489_lt_key, 32);
    assert_int_equal(floe_stun_msg_check_integrity(&m, key, key_len), FLOE_OK);

    /* the MD5 key of the same credentials is wrong here */
    uint8_t md5[32];
    size_t md5_len = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_MD5, lt_username, lt_realm,
                                             lt_password_raw, md5, &md5_len),
                     FLOE_OK);
    assert_int_equal(floe_stun_msg_check_integrity(&m, md5, md5_len), FLOE_ERR_INTEGRITY);
    uint8_t wrong[32];
    memcpy(wrong, key, 32);
    wrong[31] ^= 1;
    assert_int_equal(floe_stun_msg_check_integrity(&m, wrong, 32), FLOE_ERR_INTEGRITY);

    assert_every_flip_breaks_integrity(v, len, key, key_len);
}

static void test_rfc8489_b1_rebuild(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc8489_b1_request_errata6268.hex", v, sizeof v);
    uint8_t key[32], uh[32];
    size_t key_len = 0;
    assert_int_equal(floe_stun_key_long_term(FLOE_STUN_PWALG_SHA256, lt_username, lt_realm,
                                             lt_password_raw, key, &key_len),
                     FLOE_OK);
    assert_int_equal(floe_stun_userhash(lt_username, lt_realm, uh), FLOE_OK);

    uint8_t out[256];
    floe_stun_builder b;
    assert_int_equal(floe_stun_builder_init(&b, out, sizeof out, FLOE_STUN_BINDING,
                                            FLOE_STUN_REQUEST, rfc5769_lt_tid),
                     FLOE_OK);
    floe_stun_add(&b, FLOE_STUN_ATTR_USERHASH, uh, sizeof uh);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_NONCE, b1_nonce);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, lt_realm);
    floe_stun_add_password_algorithm(&b, FLOE_STUN_PWALG_SHA256);
    floe_stun_add_integrity_sha256(&b, key, key_len, 32);
    size_t out_len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &out_len), FLOE_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, v, len);
}

/* The bytes as printed in RFC 8489 (before the erratum) are not a valid message: the
 * header announces 0x9c body bytes where 0x88 follow. Even with the length repaired,
 * the printed MESSAGE-INTEGRITY-SHA256 does not verify (it was computed over the wrong
 * length field), which is what the erratum corrects. */
static void test_rfc8489_b1_as_printed_is_rejected(void **state) {
    (void)state;
    uint8_t v[256];
    size_t len = load_hex("rfc8489_b1_request_as_printed.hex", v, sizeof v);
    assert_int_equal(len, 156);
    floe_stun_msg m;
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_ERR_TRUNCATED);

    floe_put_u16(v + 2, (uint16_t)(len - FLOE_STUN_HEADER_LEN)); /* 0x88 */
    assert_int_equal(floe_stun_msg_decode(v, len, 0, &m), FLOE_OK);
    assert_int_equal(m.mi256, 3);
    assert_int_equal(floe_stun_msg_check_integrity(&m, rfc8489_lt_key, 32), FLOE_ERR_INTEGRITY);
}

/* Every vector decodes the same way when classic (RFC 3489) messages are allowed: the
 * cookie is there, so they are not classic. */
static void test_vectors_with_classic_flag(void **state) {
    (void)state;
    static const char *files[] = {
        "rfc5769_2_1_request.hex", "rfc5769_2_2_ipv4_response.hex", "rfc5769_2_3_ipv6_response.hex",
        "rfc5769_2_4_long_term_request.hex", "rfc8489_b1_request_errata6268.hex"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        uint8_t v[256];
        size_t len = load_hex(files[i], v, sizeof v);
        floe_stun_msg a, c;
        assert_int_equal(floe_stun_msg_decode(v, len, 0, &a), FLOE_OK);
        assert_int_equal(floe_stun_msg_decode(v, len, FLOE_STUN_DECODE_CLASSIC, &c), FLOE_OK);
        assert_false(c.classic);
        assert_int_equal(a.n_attrs, c.n_attrs);
        assert_memory_equal(a.tid, c.tid, sizeof a.tid);
        size_t need = 0;
        assert_int_equal(floe_stun_frame_len(v, len, &need), FLOE_OK);
        assert_int_equal(need, len);
        assert_true(floe_stun_looks_like(v, len));
        /* any truncation is refused */
        for (size_t cut = 0; cut < len; cut += 4)
            assert_int_not_equal(floe_stun_msg_decode(v, cut, 0, &a), FLOE_OK);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5769_request_decode),
        cmocka_unit_test(test_rfc5769_request_integrity),
        cmocka_unit_test(test_rfc5769_request_rebuild),
        cmocka_unit_test(test_rfc5769_ipv4_response),
        cmocka_unit_test(test_rfc5769_ipv6_response),
        cmocka_unit_test(test_rfc5769_long_term_key),
        cmocka_unit_test(test_rfc5769_long_term_request),
        cmocka_unit_test(test_rfc8489_b1_decode),
        cmocka_unit_test(test_rfc8489_b1_integrity),
        cmocka_unit_test(test_rfc8489_b1_rebuild),
        cmocka_unit_test(test_rfc8489_b1_as_printed_is_rejected),
        cmocka_unit_test(test_vectors_with_classic_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
