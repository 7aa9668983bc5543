/* libFuzzer target: STUN message decoding (floe_stun_msg_decode) with and without
 * FLOE_STUN_DECODE_CLASSIC.
 *
 * On every message that decodes, the target reads every attribute through every
 * getter, checks the integrity with a fixed key, then re-encodes the decoded
 * attributes with floe_stun_builder (same type, transaction ID and attributes in the
 * same order; MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT recomputed) and decodes the
 * result again. Invariants (abort() when broken):
 *   - attribute values lie inside the message; counted attributes pass
 *     floe_stun_attr_check; the mi/mi256/fp indices point at attributes of that type;
 *     FINGERPRINT is last; unknown types are comprehension-required and unnamed;
 *   - the typed getters agree with the attribute lengths they were given;
 *   - the re-encoded message decodes, has the same type, transaction ID, attribute
 *     count, types, lengths and values, and its integrity verifies with the key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_auth.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const uint8_t fkey[] = "fuzzing key";
#define FKEY_LEN (sizeof fkey - 1)

static volatile uint8_t sink;

/* Runs every getter on the first attribute of type t (which is `first`). */
static void exercise_type(const floe_stun_msg *m, const floe_stun_attr *first) {
    uint16_t t = first->type;
    int rc;

    floe_addr ad;
    rc = floe_stun_msg_get_addr(m, t, &ad);
    if (floe_stun_attr_is_address(t)) {
        CHECK(rc == FLOE_OK);
        CHECK(ad.family == FLOE_AF_INET4 || ad.family == FLOE_AF_INET6);
        CHECK(first->len == (ad.family == FLOE_AF_INET4 ? 8 : 20));
    } else {
        CHECK(rc == FLOE_ERR_MALFORMED);
    }

    uint32_t u32;
    rc = floe_stun_msg_get_u32(m, t, &u32);
    CHECK(rc == (first->len == 4 ? FLOE_OK : FLOE_ERR_MALFORMED));
    if (rc == FLOE_OK) CHECK(u32 == floe_get_u32(first->val));

    uint64_t u64;
    rc = floe_stun_msg_get_u64(m, t, &u64);
    CHECK(rc == (first->len == 8 ? FLOE_OK : FLOE_ERR_MALFORMED));

    const char *s = NULL;
    size_t n = 0;
    CHECK(floe_stun_msg_get_string(m, t, &s, &n) == FLOE_OK);
    CHECK((const uint8_t *)s == first->val && n == first->len);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint8_t)s[i];
    sink = (uint8_t)sum;

    if (t == FLOE_STUN_ATTR_ERROR_CODE) {
        int code = 0;
        const char *reason = NULL;
        size_t reason_len = 0;
        CHECK(floe_stun_msg_get_error(m, &code, &reason, &reason_len) == FLOE_OK);
        CHECK(code >= 300 && code <= 699);
        CHECK(reason_len == first->len - 4u && reason_len <= FLOE_STUN_MAX_REASON);
        CHECK((const uint8_t *)reason == first->val + 4);
    }
    if (t == FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES) {
        uint16_t types[8];
        size_t k = 99;
        CHECK(floe_stun_msg_get_unknown(m, types, 8, &k) == FLOE_OK);
        CHECK(k == (first->len / 2 < 8 ? first->len / 2 : 8));
        for (size_t i = 0; i < k; i++)
            CHECK(types[i] == floe_get_u16(first->val + 2 * i));
    }
    if (t == FLOE_STUN_ATTR_PASSWORD_ALGORITHMS) {
        floe_stun_pwalg algs[4];
        size_t k = 99;
        CHECK(floe_stun_msg_get_password_algorithms(m, algs, 4, &k) == FLOE_OK);
        CHECK(k >= 1 && k <= 4);
        for (size_t i = 0; i < k; i++) {
            CHECK(algs[i].params >= first->val);
            CHECK(algs[i].params + algs[i].params_len <= first->val + first->len);
        }
    }
    if (t == FLOE_STUN_ATTR_PASSWORD_ALGORITHM) {
        floe_stun_pwalg alg;
        CHECK(floe_stun_msg_get_password_algorithm(m, &alg) == FLOE_OK);
        CHECK(4u + alg.params_len == first->len);
    }
    if (t == FLOE_STUN_ATTR_NONCE) {
        uint32_t features;
        if (floe_stun_nonce_features((const char *)first->val, first->len, &features))
            CHECK(features <= 0xffffff);
    }
}

static void check_view(const floe_stun_msg *m, const uint8_t *data, size_t size) {
    CHECK(m->raw == data);
    CHECK(m->raw_len >= FLOE_STUN_HEADER_LEN && m->raw_len <= size && m->raw_len % 4 == 0);
    CHECK(m->n_attrs <= FLOE_STUN_MAX_ATTRS);
    CHECK(m->n_unknown <= FLOE_STUN_MAX_UNKNOWN);
    CHECK(floe_stun_type(m->method, m->cls) == m->type);
    CHECK(floe_stun_method_name(m->method) != NULL);
    CHECK(floe_stun_class_name(m->cls) != NULL);
    if (!m->classic)
        CHECK(memcmp(m->tid, data + 8, FLOE_STUN_TID_LEN) == 0);
    else
        CHECK(memcmp(m->tid, data + 4, FLOE_STUN_CLASSIC_TID_LEN) == 0);

    const uint8_t *end = m->raw + m->raw_len;
    const uint8_t *prev = m->raw + FLOE_STUN_HEADER_LEN;
    for (size_t i = 0; i < m->n_attrs; i++) {
        const floe_stun_attr *a = &m->attrs[i];
        CHECK(a->val >= prev + 4 && a->val + a->len <= end);
        prev = a->val + a->len;
        CHECK(floe_stun_attr_check(a) == FLOE_OK);
        (void)floe_stun_attr_name(a->type);
        (void)floe_stun_attr_required(a->type);
        floe_addr ad;
        int rc = floe_stun_attr_addr(m, a, &ad);
        CHECK(rc == (floe_stun_attr_is_address(a->type) ? FLOE_OK : FLOE_ERR_MALFORMED));
        const floe_stun_attr *first = floe_stun_msg_find(m, a->type);
        CHECK(first != NULL && first <= a && first->type == a->type);
        if (first == a) exercise_type(m, a);
    }
    if (m->mi >= 0)
        CHECK((size_t)m->mi < m->n_attrs &&
              m->attrs[m->mi].type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY);
    if (m->mi256 >= 0)
        CHECK((size_t)m->mi256 < m->n_attrs &&
              m->attrs[m->mi256].type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
    if (m->fp >= 0)
        CHECK((size_t)m->fp == m->n_attrs - 1 &&
              m->attrs[m->fp].type == FLOE_STUN_ATTR_FINGERPRINT);
    /* nothing counted follows MESSAGE-INTEGRITY-SHA256 except FINGERPRINT */
    if (m->mi256 >= 0) CHECK(m->n_attrs - (size_t)m->mi256 <= (m->fp >= 0 ? 2u : 1u));
    for (size_t i = 0; i < m->n_unknown; i++) {
        CHECK(floe_stun_attr_required(m->unknown[i]));
        CHECK(floe_stun_attr_name(m->unknown[i]) == NULL);
        CHECK(floe_stun_msg_find(m, m->unknown[i]) != NULL);
    }

    int rc = floe_stun_msg_check_integrity(m, fkey, FKEY_LEN);
    CHECK(rc == FLOE_OK || rc == FLOE_ERR_INTEGRITY || rc == FLOE_ERR_NOT_FOUND);
    CHECK((rc == FLOE_ERR_NOT_FOUND) == (m->mi < 0 && m->mi256 < 0));
    rc = floe_stun_msg_check_integrity(m, NULL, 0);
    CHECK(rc == FLOE_OK || rc == FLOE_ERR_INTEGRITY || rc == FLOE_ERR_NOT_FOUND);

    if (!m->classic) {
        size_t need = 0;
        CHECK(floe_stun_frame_len(data, size, &need) == FLOE_OK);
        CHECK(need == m->raw_len);
    }
}

static uint8_t out[FLOE_STUN_MAX_MSG + 64];

static void reencode(const floe_stun_msg *m, unsigned flags) {
    floe_stun_builder b;
    int rc = m->classic
                 ? floe_stun_builder_init_classic(&b, out, sizeof out, m->method, m->cls, m->tid)
                 : floe_stun_builder_init(&b, out, sizeof out, m->method, m->cls, m->tid);
    CHECK(rc == FLOE_OK);
    for (size_t i = 0; i < m->n_attrs; i++) {
        const floe_stun_attr *a = &m->attrs[i];
        switch (a->type) {
        case FLOE_STUN_ATTR_MESSAGE_INTEGRITY: floe_stun_add_integrity(&b, fkey, FKEY_LEN); break;
        case FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
            floe_stun_add_integrity_sha256(&b, fkey, FKEY_LEN, a->len);
            break;
        case FLOE_STUN_ATTR_FINGERPRINT: floe_stun_add_fingerprint(&b); break;
        default: floe_stun_add(&b, a->type, a->val, a->len);
        }
    }
    size_t len = 0;
    rc = floe_stun_builder_finish(&b, &len);
    /* a decoded message is at most FLOE_STUN_MAX_MSG bytes, as is a built one */
    if (rc == FLOE_ERR_NOSPACE) {
        CHECK(m->raw_len > FLOE_STUN_MAX_MSG);
        return;
    }
    CHECK(rc == FLOE_OK);
    CHECK(len <= m->raw_len);
    if (m->n_ignored == 0) CHECK(len == m->raw_len);

    floe_stun_msg m2;
    rc = floe_stun_msg_decode(out, len, flags, &m2);
    CHECK(rc == FLOE_OK);
    CHECK(m2.raw_len == len);
    CHECK(m2.type == m->type && m2.classic == m->classic);
    CHECK(memcmp(m2.tid, m->tid, sizeof m->tid) == 0);
    CHECK(m2.n_attrs == m->n_attrs);
    CHECK(m2.n_ignored == 0);
    CHECK(m2.mi == m->mi && m2.mi256 == m->mi256 && m2.fp == m->fp);
    CHECK(m2.n_unknown == m->n_unknown);
    CHECK(memcmp(m2.unknown, m->unknown, m->n_unknown * sizeof m->unknown[0]) == 0);
    for (size_t i = 0; i < m->n_attrs; i++) {
        const floe_stun_attr *a = &m->attrs[i], *c = &m2.attrs[i];
        CHECK(a->type == c->type && a->len == c->len);
        bool computed = a->type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY ||
                        a->type == FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
                        a->type == FLOE_STUN_ATTR_FINGERPRINT;
        if (!computed) CHECK(a->len == 0 || memcmp(a->val, c->val, a->len) == 0);
        /* the builder pads with zeros */
        for (size_t p = c->len; p < ((c->len + 3u) & ~3u); p++)
            CHECK(c->val[p] == 0);
    }
    if (m2.mi >= 0 || m2.mi256 >= 0)
        CHECK(floe_stun_msg_check_integrity(&m2, fkey, FKEY_LEN) == FLOE_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const unsigned flag_sets[] = {0, FLOE_STUN_DECODE_CLASSIC};
    int first_rc = 0;
    for (size_t f = 0; f < 2; f++) {
        floe_stun_msg m;
        int rc = floe_stun_msg_decode(data, size, flag_sets[f], &m);
        CHECK(rc == FLOE_OK || rc == FLOE_ERR_NOT_STUN || rc == FLOE_ERR_TRUNCATED ||
              rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_FINGERPRINT || rc == FLOE_ERR_LIMIT);
        if (f == 0)
            first_rc = rc;
        else if (first_rc == FLOE_OK)
            CHECK(rc == FLOE_OK && !m.classic);
        if (rc != FLOE_OK) continue;
        if (f == 0) CHECK(!m.classic);
        check_view(&m, data, size);
        reencode(&m, flag_sets[f]);
    }
    (void)floe_stun_looks_like(data, size);
    size_t need;
    (void)floe_stun_frame_len(data, size, &need);
    return 0;
}
