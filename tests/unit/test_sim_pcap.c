/* Unit tests for sim/sim_pcap.h: Internet checksums, the IP + UDP packets, and the
 * pcapng file of a whole run (STUN behaviour discovery through a NAT over IPv4, a STUN
 * Binding over IPv6, drops with their comments) walked block by block in C.
 *
 * With FLOE_SIM_PCAP_OUT=path in the environment the capture is also written there, for
 * tests/system/sim_pcap.sh to check with tshark. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun_behavior.h"
#include "floe/stun_client.h"
#include "sim.h"
#include "sim_stun.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

/* ---- checksums and packets ------------------------------------------------------- */

static void test_checksum(void **state) {
    (void)state;
    /* RFC 1071 §3: the sum of these bytes is 0xddf2, the checksum its complement. */
    const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t sum = floe_sim_inet_checksum_add(0, v, sizeof v);
    assert_int_equal(floe_sim_inet_checksum_finish(sum), 0x220d);
    /* In pieces (even lengths first) it is the same; an odd tail is padded. */
    sum = floe_sim_inet_checksum_add(floe_sim_inet_checksum_add(0, v, 4), v + 4, 4);
    assert_int_equal(floe_sim_inet_checksum_finish(sum), 0x220d);
    const uint8_t odd[] = {0x12};
    assert_int_equal(floe_sim_inet_checksum_finish(floe_sim_inet_checksum_add(0, odd, 1)),
                     (uint16_t)~0x1200);
}

static uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Verifies an IP + UDP packet: header checksum (IPv4), UDP checksum with the pseudo
 * header, lengths. Returns the UDP payload offset. */
static size_t check_packet(const uint8_t *p, size_t n) {
    assert_true(n >= 28);
    size_t ihl;
    uint32_t sum;
    if ((p[0] >> 4) == 4) {
        ihl = 20;
        assert_int_equal(p[0], 0x45);
        assert_int_equal(be16(p + 2), n);
        assert_int_equal(p[9], 17);
        assert_int_equal(floe_sim_inet_checksum_finish(floe_sim_inet_checksum_add(0, p, 20)), 0);
        uint8_t pseudo[12] = {0};
        memcpy(pseudo, p + 12, 8);
        pseudo[9] = 17;
        memcpy(pseudo + 10, p + 24, 2); /* UDP length */
        sum = floe_sim_inet_checksum_add(0, pseudo, sizeof pseudo);
    } else {
        assert_int_equal(p[0] >> 4, 6);
        ihl = 40;
        assert_true(n >= 48);
        assert_int_equal(be16(p + 4), n - 40);
        assert_int_equal(p[6], 17);
        uint8_t pseudo[40] = {0};
        memcpy(pseudo, p + 8, 32);
        memcpy(pseudo + 34, p + 44, 2);
        pseudo[39] = 17;
        sum = floe_sim_inet_checksum_add(0, pseudo, sizeof pseudo);
    }
    const uint8_t *udp = p + ihl;
    assert_int_equal(be16(udp + 4), n - ihl);
    assert_true(be16(udp + 6) != 0);
    sum = floe_sim_inet_checksum_add(sum, udp, n - ihl);
    assert_int_equal(floe_sim_inet_checksum_finish(sum), 0);
    return ihl + 8;
}

static void test_packets(void **state) {
    (void)state;
    uint8_t out[256], payload[33];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    floe_addr s4 = addr("10.0.0.2:5000"), d4 = addr("192.0.2.1:3478");
    size_t n =
        floe_sim_pcap_build_packet(&s4, &d4, 63, 0x1234, payload, sizeof payload, out, sizeof out);
    assert_int_equal(n, 20 + 8 + 33);
    assert_int_equal(check_packet(out, n), 28);
    assert_int_equal(out[8], 63);
    assert_int_equal(be16(out + 4), 0x1234);
    assert_int_equal(be16(out + 20), 5000);
    assert_int_equal(be16(out + 22), 3478);
    assert_memory_equal(out + 28, payload, sizeof payload);
    floe_addr s6 = addr("[2001:db8::2]:5000"), d6 = addr("[2001:db8::1]:3478");
    n = floe_sim_pcap_build_packet(&s6, &d6, 64, 0, payload, sizeof payload, out, sizeof out);
    assert_int_equal(n, 40 + 8 + 33);
    assert_int_equal(check_packet(out, n), 48);
    assert_int_equal(out[7], 64);
    /* Too small a buffer, mixed families. */
    assert_int_equal(floe_sim_pcap_build_packet(&s4, &d4, 64, 0, payload, 33, out, 60), 0);
    assert_int_equal(floe_sim_pcap_build_packet(&s4, &d6, 64, 0, payload, 1, out, sizeof out), 0);
    /* Empty payload. */
    n = floe_sim_pcap_build_packet(&s4, &d4, 64, 1, NULL, 0, out, sizeof out);
    assert_int_equal(n, 28);
    check_packet(out, n);
}

/* ---- a run to capture ------------------------------------------------------------ */

static void count_records(void *ctx, const floe_sim_trace *rec) {
    if (rec->net) (*(uint64_t *)ctx)++;
}

/* Runs the scenario with a capture into f; returns the packets written. */
static uint64_t run_captured(FILE *f, uint64_t *records) {
    static const char topo[] =
        "seed 77\n"
        "network internet delay=15ms jitter=1ms\n"
        "network lan delay=1ms\n"
        "network v6net delay=5ms mtu=1280\n"
        "nat home type=adm/apdf inside=lan ip=10.0.0.1 outside=internet ip=203.0.113.1\n"
        "host stun iface=eth0 net=internet ip=192.0.2.1 iface=eth1 net=internet ip=192.0.2.2\n"
        "host alice net=lan ip=10.0.0.2 gw=10.0.0.1\n"
        "host stun6 net=v6net ip=2001:db8::1\n"
        "host bob net=v6net ip=2001:db8::2\n";
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, NULL), FLOE_OK);
    char err[256];
    assert_int_equal(floe_sim_scenario_parse(sim, topo, "pcap", NULL, err, sizeof err), FLOE_OK);
    floe_sim_pcap *pc;
    assert_int_equal(floe_sim_pcap_open(sim, f, &pc), FLOE_OK);
    *records = 0;
    assert_int_equal(floe_sim_tracer_add(sim, count_records, records), FLOE_OK);

    floe_stun_server_config sc;
    floe_stun_server_config_default(&sc);
    sc.rfc5780 = true;
    sc.primary = addr("192.0.2.1:3478");
    sc.alternate = addr("192.0.2.2:3479");
    floe_sim_stun_server *srv, *srv6;
    assert_int_equal(floe_sim_stun_server_new(floe_sim_host_find(sim, "stun"), &sc, &srv), FLOE_OK);
    floe_stun_server_config_default(&sc);
    sc.primary = addr("[2001:db8::1]:3478");
    assert_int_equal(floe_sim_stun_server_new(floe_sim_host_find(sim, "stun6"), &sc, &srv6),
                     FLOE_OK);

    floe_stun_behavior_config bc;
    floe_stun_behavior_config_default(&bc);
    bc.server = addr("192.0.2.1:3478");
    bc.local = addr("10.0.0.2:5000");
    floe_sim_stun_behavior *d;
    assert_int_equal(
        floe_sim_stun_behavior_new(floe_sim_host_find(sim, "alice"), &bc.local, &bc, &d), FLOE_OK);
    floe_stun_client_config cc;
    floe_stun_client_config_default(&cc);
    cc.server = sc.primary;
    floe_sim_stun_client *b6;
    floe_addr any6 = addr("[::]:6000");
    assert_int_equal(floe_sim_stun_client_new(floe_sim_host_find(sim, "bob"), &any6, &cc, &b6),
                     FLOE_OK);

    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_start(b6, NULL), FLOE_OK);
    /* A datagram too big for the IPv6 network, and one to a closed port. */
    floe_sim_udp *raw;
    floe_addr from6 = addr("[2001:db8::2]:7000");
    assert_int_equal(floe_sim_udp_open(floe_sim_host_find(sim, "bob"), &from6, &raw), FLOE_OK);
    static uint8_t big[1300];
    floe_addr to6 = addr("[2001:db8::1]:4000"), closed6 = addr("[2001:db8::1]:4001");
    assert_int_equal(floe_sim_udp_send(raw, &to6, big, sizeof big), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(raw, &closed6, big, 10), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(60)), FLOE_OK);
    assert_true(floe_sim_stun_behavior_done(d));
    assert_true(floe_sim_stun_client_done(b6));
    assert_int_equal(floe_sim_stun_client_event_get(b6)->type, FLOE_STUN_CLIENT_EV_SUCCESS);
    assert_int_equal(floe_sim_stun_behavior_result(d)->mapping, FLOE_NAT_ADDRESS_DEPENDENT);

    uint64_t packets = floe_sim_pcap_packets(pc);
    assert_int_equal(floe_sim_pcap_close(pc), FLOE_OK);
    floe_sim_stun_behavior_free(d);
    floe_sim_stun_client_free(b6);
    floe_sim_stun_server_free(srv);
    floe_sim_stun_server_free(srv6);
    floe_sim_free(sim);
    return packets;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t *slurp(FILE *f, size_t *n) {
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)len);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    *n = (size_t)len;
    return buf;
}

/* Finds option `code` in an options area; returns its value and length. */
static const uint8_t *find_opt(const uint8_t *p, size_t n, uint16_t code, size_t *len) {
    size_t i = 0;
    while (i + 4 <= n) {
        uint16_t c = (uint16_t)(p[i] | p[i + 1] << 8), l = (uint16_t)(p[i + 2] | p[i + 3] << 8);
        if (c == 0) return NULL;
        assert_true(i + 4 + l <= n);
        if (c == code) {
            *len = l;
            return p + i + 4;
        }
        i += 4 + ((l + 3u) & ~3u);
    }
    return NULL;
}

static void test_pcapng_file(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    uint64_t records = 0;
    uint64_t packets = run_captured(f, &records);
    assert_int_equal(packets, records);
    size_t n;
    uint8_t *buf = slurp(f, &n);
    fclose(f);

    /* The same seed writes the same bytes. */
    FILE *g = tmpfile();
    assert_non_null(g);
    uint64_t r2;
    assert_int_equal(run_captured(g, &r2), packets);
    size_t n2;
    uint8_t *buf2 = slurp(g, &n2);
    fclose(g);
    assert_int_equal(n, n2);
    assert_memory_equal(buf, buf2, n);
    free(buf2);

    const char *keep = getenv("FLOE_SIM_PCAP_OUT");
    if (keep && *keep) {
        FILE *k = fopen(keep, "wb");
        assert_non_null(k);
        assert_int_equal(fwrite(buf, 1, n, k), n);
        assert_int_equal(fclose(k), 0);
    }

    size_t off = 0, n_shb = 0, n_idb = 0, n_epb = 0, n_stun = 0, n_v6 = 0, n_comments = 0;
    bool filtered_comment = false, mtu_comment = false;
    char names[8][FLOE_SIM_NAME_MAX];
    uint64_t last_ts = 0;
    while (off < n) {
        assert_true(off + 12 <= n);
        uint32_t type = le32(buf + off), total = le32(buf + off + 4);
        assert_true(total >= 12 && total % 4 == 0 && off + total <= n);
        assert_int_equal(le32(buf + off + total - 4), total);
        const uint8_t *b = buf + off + 8;
        size_t body = total - 12;
        if (off == 0) assert_int_equal(type, FLOE_SIM_PCAPNG_SHB);
        switch (type) {
        case FLOE_SIM_PCAPNG_SHB: {
            n_shb++;
            assert_int_equal(le32(b), FLOE_SIM_PCAPNG_BOM);
            assert_int_equal(b[4] | b[5] << 8, 1);
            assert_int_equal(b[6] | b[7] << 8, 0);
            size_t l;
            const uint8_t *appl = find_opt(b + 16, body - 16, 4, &l);
            assert_non_null(appl);
            assert_memory_equal(appl, "floe sim", 8);
            break;
        }
        case FLOE_SIM_PCAPNG_IDB: {
            assert_true(n_idb < 8);
            assert_int_equal(b[0] | b[1] << 8, FLOE_SIM_LINKTYPE_RAW);
            size_t l;
            const uint8_t *name = find_opt(b + 8, body - 8, 2, &l);
            assert_non_null(name);
            assert_true(l < FLOE_SIM_NAME_MAX);
            memcpy(names[n_idb], name, l);
            names[n_idb][l] = '\0';
            const uint8_t *res = find_opt(b + 8, body - 8, 9, &l);
            assert_non_null(res);
            assert_int_equal(l, 1);
            assert_int_equal(res[0], 9);
            n_idb++;
            break;
        }
        case FLOE_SIM_PCAPNG_EPB: {
            n_epb++;
            assert_true(le32(b) < n_idb);
            uint64_t ts = (uint64_t)le32(b + 4) << 32 | le32(b + 8);
            assert_true(ts >= last_ts);
            last_ts = ts;
            uint32_t cap = le32(b + 12), orig = le32(b + 16);
            assert_int_equal(cap, orig);
            assert_true(20 + cap <= body);
            const uint8_t *pkt = b + 20;
            size_t pl = check_packet(pkt, cap);
            if ((pkt[0] >> 4) == 6) n_v6++;
            uint16_t sp = be16(pkt + pl - 8), dp = be16(pkt + pl - 6);
            if ((sp == 3478 || sp == 3479 || dp == 3478 || dp == 3479) && cap >= pl + 20 &&
                le32(pkt + pl + 4) == 0x42a41221u) /* the magic cookie, read little-endian */
                n_stun++;
            size_t opts = 20 + ((cap + 3u) & ~3u), l;
            if (opts < body) {
                const uint8_t *c = find_opt(b + opts, body - opts, 1, &l);
                if (c) {
                    n_comments++;
                    filtered_comment |= l >= 17 && memcmp(c, "drop_nat_filtered", 17) == 0;
                    mtu_comment |= l >= 8 && memcmp(c, "drop_mtu", 8) == 0;
                }
            }
            break;
        }
        default: fail_msg("unexpected block type 0x%x", type);
        }
        off += total;
    }
    assert_int_equal(off, n);
    assert_int_equal(n_shb, 1);
    assert_int_equal(n_idb, 3);
    assert_string_equal(names[0], "internet");
    assert_string_equal(names[1], "lan");
    assert_string_equal(names[2], "v6net");
    assert_int_equal(n_epb, packets);
    assert_true(n_stun >= 20);
    assert_true(n_v6 >= 3); /* request, response, the closed port (the oversize one too) */
    assert_true(filtered_comment);
    assert_true(mtu_comment);
    assert_true(n_comments >= 3);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_packets),
        cmocka_unit_test(test_pcapng_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
