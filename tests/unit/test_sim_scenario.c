/* Unit tests for sim/sim_scenario.h: the scenario format (every directive and option),
 * scheduled changes, the caller's hook for directives of its own, and the error
 * messages ("file:line: reason") for each kind of mistake. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe/err.h"
#include "sim.h"

#define US(x) ((floe_time_ns)(x)*FLOE_NS_PER_US)

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_sim *world(void) {
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, NULL), FLOE_OK);
    return sim;
}

static const char example[] =
    "# Two homes and a server; the ISP of one runs a carrier-grade NAT.\n"
    "seed 42\n"
    "network internet delay=20ms jitter=2ms dist=normal loss=0.1% mtu=1500\n"
    "network isp      delay=5ms\n"
    "network lanA     delay=1ms\n"
    "network lanB     delay=500us reorder=on   # a trailing comment\n"
    "network dmz\n"
    "\n"
    "nat cgn  type=eim/eif ports=random range=20000-29999 inside=isp ip=100.64.0.1 "
    "outside=internet ip=203.0.113.9\n"
    "nat natA type=apdm/apdf timeout=2min refresh=both hairpin=off inside=lanA ip=10.0.0.1 "
    "outside=isp ip=100.64.0.2 gw=100.64.0.1\n"
    "nat natB type=port-restricted ports=sequential max_mappings=10 max_permissions=20 "
    "inside=lanB ip=192.168.1.1 outside=internet ip=203.0.113.20\n"
    "firewall fw filtering=adf inside=dmz ip=198.51.100.1 ip=2001:db8:5::1 outside=internet "
    "ip=198.51.100.254 ip=2001:db8:6::1\n"
    "host alice iface=eth0 net=lanA ip=10.0.0.2 gw=10.0.0.1 iface=wg0 net=dmz "
    "ip=198.51.100.9\n"
    "host bob net=lanB ip=192.168.1.2 gw=192.168.1.1\n"
    "host web net=dmz ip=198.51.100.20 ip=2001:db8:5::20 gw=198.51.100.1 gw=2001:db8:5::1\n"
    "host stun net=internet ip=192.0.2.1 net=internet ip=192.0.2.2 ip=2001:db8:6::9\n"
    "at 10s network internet partition=on\n"
    "at 12.5s network internet partition=off loss=0\n"
    "at 1s iface bob.eth0 down\n"
    "at 1500ms iface bob.eth0 up\n";

static void test_example(void **state) {
    (void)state;
    floe_sim *sim = world();
    char err[256];
    assert_int_equal(floe_sim_scenario_parse(sim, example, "ex.sim", NULL, err, sizeof err),
                     FLOE_OK);
    assert_string_equal(err, "");
    assert_int_equal(floe_sim_seed(sim), 42);

    assert_int_equal(floe_sim_network_count(sim), 5);
    const floe_sim_link *l = floe_sim_network_link(floe_sim_network_find(sim, "internet"));
    assert_int_equal(l->delay, FLOE_MS(20));
    assert_int_equal(l->jitter, FLOE_MS(2));
    assert_int_equal(l->dist, FLOE_SIM_JITTER_NORMAL);
    assert_true(l->loss > 0.00099 && l->loss < 0.00101);
    assert_int_equal(l->mtu, 1500);
    assert_false(l->reorder);
    l = floe_sim_network_link(floe_sim_network_find(sim, "lanB"));
    assert_int_equal(l->delay, US(500));
    assert_true(l->reorder);
    l = floe_sim_network_link(floe_sim_network_find(sim, "dmz"));
    assert_int_equal(l->delay, FLOE_SIM_DELAY_DEFAULT);

    floe_sim_host *cgn = floe_sim_host_find(sim, "cgn"), *natA = floe_sim_host_find(sim, "natA");
    floe_sim_host *natB = floe_sim_host_find(sim, "natB"), *fw = floe_sim_host_find(sim, "fw");
    assert_non_null(cgn);
    const floe_sim_nat_config *c = floe_sim_nat_config_get(cgn);
    assert_int_equal(c->mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(c->filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(c->ports, FLOE_SIM_NAT_PORTS_RANDOM);
    assert_int_equal(c->port_min, 20000);
    assert_int_equal(c->port_max, 29999);
    c = floe_sim_nat_config_get(natA);
    assert_int_equal(c->mapping, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    assert_int_equal(c->filtering, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    assert_int_equal(c->timeout, FLOE_S(120));
    assert_true(c->refresh_inbound);
    assert_false(c->hairpin);
    floe_addr gw = floe_sim_iface_gateway(floe_sim_nat_outside(natA), FLOE_AF_INET4);
    floe_addr cgn_in = addr("100.64.0.1");
    assert_true(floe_addr_equal(&gw, &cgn_in));
    c = floe_sim_nat_config_get(natB);
    assert_int_equal(c->mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(c->filtering, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    assert_int_equal(c->ports, FLOE_SIM_NAT_PORTS_SEQUENTIAL);
    assert_int_equal(c->max_mappings, 10);
    assert_int_equal(c->max_permissions, 20);
    assert_int_equal(c->timeout, FLOE_SIM_NAT_TIMEOUT_DEFAULT);
    assert_true(c->hairpin);
    c = floe_sim_nat_config_get(fw);
    assert_int_equal(c->mode, FLOE_SIM_NAT_FIREWALL);
    assert_int_equal(c->filtering, FLOE_NAT_ADDRESS_DEPENDENT);
    floe_addr fw6 = floe_sim_iface_addr(floe_sim_nat_inside(fw), FLOE_AF_INET6);
    floe_addr fw6_expect = addr("2001:db8:5::1");
    assert_true(floe_addr_equal(&fw6, &fw6_expect));

    floe_sim_host *alice = floe_sim_host_find(sim, "alice");
    assert_int_equal(floe_sim_host_iface_count(alice), 2);
    assert_non_null(floe_sim_host_iface(alice, "wg0"));
    floe_sim_host *stun = floe_sim_host_find(sim, "stun");
    assert_int_equal(floe_sim_host_iface_count(stun), 2);
    assert_string_equal(floe_sim_iface_name(floe_sim_host_iface_at(stun, 1)), "eth1");
    floe_addr s6 = floe_sim_iface_addr(floe_sim_host_iface_at(stun, 1), FLOE_AF_INET6);
    floe_addr s6_expect = addr("2001:db8:6::9");
    assert_true(floe_addr_equal(&s6, &s6_expect));
    floe_sim_host *web = floe_sim_host_find(sim, "web");
    floe_addr w6 = addr("[2001:db8:5::20]:443");
    assert_true(floe_sim_host_owns(web, &w6));

    /* The scheduled changes happen on time. */
    floe_sim_iface *bob0 = floe_sim_host_iface(floe_sim_host_find(sim, "bob"), "eth0");
    floe_sim_network *inet = floe_sim_network_find(sim, "internet");
    assert_int_equal(floe_sim_run_until(sim, FLOE_MS(1200)), FLOE_OK);
    assert_false(floe_sim_iface_is_up(bob0));
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(11)), FLOE_OK);
    assert_true(floe_sim_iface_is_up(bob0));
    assert_true(floe_sim_network_link(inet)->partitioned);
    assert_int_equal(floe_sim_run_until(sim, FLOE_MS(12500)), FLOE_OK);
    assert_false(floe_sim_network_link(inet)->partitioned);
    assert_true(floe_sim_network_link(inet)->loss == 0.0);
    assert_int_equal(floe_sim_pending(sim), 0);
    /* A seed line once the run has started is refused. */
    assert_int_equal(floe_sim_scenario_parse(sim, "seed 1\n", "late", NULL, err, sizeof err),
                     FLOE_ERR_CONFIG);
    assert_non_null(strstr(err, "late:1: seed: too late"));
    floe_sim_free(sim);
}

static void test_durations(void **state) {
    (void)state;
    static const struct {
        const char *s;
        floe_time_ns v;
    } ok[] = {
        {"0", 0},
        {"20ms", FLOE_MS(20)},
        {"1.5s", FLOE_MS(1500)},
        {"0.25ms", US(250)},
        {"250us", US(250)},
        {"100ns", 100},
        {"2min", FLOE_S(120)},
        {".5s", FLOE_MS(500)},
        {"3.0000000001s", FLOE_S(3)},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        floe_time_ns v;
        assert_int_equal(floe_sim_parse_duration(ok[i].s, &v), FLOE_OK);
        assert_int_equal(v, ok[i].v);
    }
    static const char *const bad[] = {
        "", "ms", "5", "5 ms", "-1s", "1h", "1.2.3s", "99999999999999999999s", "5sec", "1e3ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_time_ns v;
        assert_int_equal(floe_sim_parse_duration(bad[i], &v), FLOE_ERR_INVAL);
    }
}

static void test_errors(void **state) {
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"bogus\n", "t:1: unknown directive 'bogus'"},
        {"\n\nnetwork\n", "t:3: network: missing name"},
        {"network a\nnetwork a\n", "t:2: network 'a' already exists"},
        {"network a delay=fast\n", "t:1: bad delay 'fast' (e.g. 20ms)"},
        {"network a loss=2\n", "t:1: bad loss '2'"},
        {"network a loss=150%\n", "t:1: bad loss '150%'"},
        {"network a mtu=20\n", "t:1: bad mtu '20' (68..65535)"},
        {"network a dist=poisson\n", "t:1: bad dist 'poisson'"},
        {"network a speed=1\n", "t:1: unknown network option 'speed'"},
        {"network a delay\n", "t:1: expected key=value, got 'delay'"},
        {"host h net=nowhere ip=10.0.0.1\n", "t:1: unknown network 'nowhere'"},
        {"network n\nhost h ip=10.0.0.1\n", "t:2: ip= before any iface= or net="},
        {"network n\nhost h net=n ip=10.0.0.300\n", "t:2: bad address '10.0.0.300'"},
        {"network n\nhost h net=n ip=10.0.0.1:5\n", "t:2: bad address '10.0.0.1:5'"},
        {"network n\nhost h net=n ip=10.0.0.1 ip=10.0.0.2\n", "has two IPv4 ip= values"},
        {"network n\nhost h\n", "t:2: host 'h' has no interface"},
        {"network n\nhost h iface=eth0\n", "t:2: interface 'eth0' has no net="},
        {"network n\nhost h net=n\n", "t:2: h: bad interface 'eth0'"},
        {"network n\nhost h net=n ip=10.0.0.1 color=red\n", "t:2: unknown host option 'color'"},
        {"network n\nhost h net=n ip=10.0.0.1\nhost g net=n ip=10.0.0.1\n",
         "t:3: g: interface 'eth0' clashes"},
        {"network n\nhost h net=n ip=10.0.0.1\nhost h net=n ip=10.0.0.2\n",
         "t:3: host 'h': a host of that name exists"},
        {"network n\nhost a.b net=n ip=10.0.0.1\n", "t:2: host 'a.b': bad name"},
        {"network n\nnetwork m\nnat x type=cone inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: bad type 'cone'"},
        {"network n\nnetwork m\nnat x type=eif/eim inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: bad type 'eif/eim'"},
        {"network n\nnat x inside=n ip=1.0.0.1\n", "t:2: nat 'x' needs outside=NETWORK"},
        {"network n\nnat x inside=n ip=1.0.0.1 outside=n ip=1.0.0.2\n",
         "t:2: nat 'x': inside and outside are the same network"},
        {"network n\nnat x ip=1.0.0.1\n", "t:2: ip= before inside= or outside="},
        {"network n\nnetwork m\nnat x range=9-1 inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: bad range '9-1'"},
        {"network n\nnetwork m\nnat x timeout=0 inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: bad timeout '0'"},
        {"network n\nnetwork m\nnat x refresh=never inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: bad refresh 'never'"},
        {"network n\nnetwork m\nnat x wings=2 inside=n ip=1.0.0.1 outside=m ip=2.0.0.1\n",
         "t:3: unknown nat option 'wings'"},
        {"network n\nnetwork m\nfirewall x mode=translate inside=n ip=1.0.0.1 outside=m "
         "ip=2.0.0.1\n",
         "t:3: a firewall does not translate"},
        {"network n\nnetwork m\nfirewall x inside=n ip=1.0.0.1 outside=m gw=2.0.0.9\n",
         "t:3: x: bad interface 'outside'"},
        {"network n\nnetwork m\nhost h net=m ip=2.0.0.1\nnat x inside=n ip=1.0.0.1 outside=m "
         "ip=2.0.0.1\n",
         "t:4: x: interface 'outside' clashes"},
        {"at 5s\n", "t:1: at: expected"},
        {"network n\nat soon network n loss=1\n", "t:2: bad time 'soon'"},
        {"network n\nat 5s network n\n", "t:2: at 5s network n: nothing to change"},
        {"network n\nat 5s network n x=1\n", "t:2: unknown network option 'x'"},
        {"network n\nat 5s network n mtu=1500 loss=0.5 partition=maybe\n",
         "t:2: bad partition 'maybe'"},
        {"network n\nat 5s iface h.eth0 down\n", "t:2: unknown host 'h'"},
        {"network n\nhost h net=n ip=1.0.0.1\nat 5s iface h.wg0 down\n",
         "t:3: host 'h' has no interface 'wg0'"},
        {"network n\nhost h net=n ip=1.0.0.1\nat 5s iface h.eth0 sideways\n",
         "t:3: expected up or down, got 'sideways'"},
        {"network n\nat 5s router n on\n", "t:2: at: unknown target 'router'"},
        {"seed many\n", "t:1: expected 'seed NUMBER'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        floe_sim *sim = world();
        char err[256];
        int rc = floe_sim_scenario_parse(sim, cases[i].text, "t", NULL, err, sizeof err);
        if (rc != FLOE_ERR_CONFIG || !strstr(err, cases[i].msg))
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, err, cases[i].msg);
        floe_sim_free(sim);
    }
    /* An overlong line, and a tiny error buffer (truncated, still terminated). */
    static char longline[2000];
    memset(longline, 'x', sizeof longline - 1);
    floe_sim *sim = world();
    char err[64];
    assert_int_equal(floe_sim_scenario_parse(sim, longline, "t", NULL, err, sizeof err),
                     FLOE_ERR_CONFIG);
    assert_string_equal(err, "t:1: line longer than 1023 bytes");
    char tiny[8];
    assert_int_equal(floe_sim_scenario_parse(sim, "what\n", "t", NULL, tiny, sizeof tiny),
                     FLOE_ERR_CONFIG);
    assert_string_equal(tiny, "t:1: un");
    assert_int_equal(floe_sim_scenario_parse(sim, "what\n", "t", NULL, NULL, 0), FLOE_ERR_CONFIG);
    floe_sim_free(sim);
}

/* ---- the caller's own directives ------------------------------------------------- */

typedef struct hook_log {
    unsigned calls;
    char last[64];
} hook_log;

static int hook(void *ctx, floe_sim *sim, int argc, char **argv, char *err, size_t cap) {
    hook_log *h = ctx;
    h->calls++;
    if (strcmp(argv[0], "stun-server") == 0) {
        if (argc < 2 || !floe_sim_host_find(sim, argv[1])) {
            snprintf(err, cap, "stun-server: no host '%s'", argc > 1 ? argv[1] : "");
            return FLOE_ERR_CONFIG;
        }
        snprintf(h->last, sizeof h->last, "%s %s %d", argv[0], argv[1], argc);
        return FLOE_OK;
    }
    return FLOE_ERR_NOT_FOUND;
}

static void test_hook(void **state) {
    (void)state;
    hook_log log = {0};
    floe_sim_scenario_opts o = {hook, &log};
    floe_sim *sim = world();
    char err[128];
    assert_int_equal(floe_sim_scenario_parse(sim,
                                             "network n\nhost s net=n ip=192.0.2.1\n"
                                             "stun-server s port=3478 rfc5780=on\n",
                                             "h", &o, err, sizeof err),
                     FLOE_OK);
    assert_string_equal(log.last, "stun-server s 4");
    assert_int_equal(floe_sim_scenario_parse(sim, "stun-server nobody\n", "h", &o, err, sizeof err),
                     FLOE_ERR_CONFIG);
    assert_string_equal(err, "h:1: stun-server: no host 'nobody'");
    assert_int_equal(floe_sim_scenario_parse(sim, "call alice bob\n", "h", &o, err, sizeof err),
                     FLOE_ERR_CONFIG);
    assert_string_equal(err, "h:1: unknown directive 'call'");
    assert_int_equal(log.calls, 3);
    floe_sim_free(sim);
}

static void test_files(void **state) {
    (void)state;
    char path[] = "/tmp/floe-sim-scenario-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "network n delay=3ms\n"
                               "host a net=n ip=10.0.0.1\n"
                               "host b net=n ip=10.0.0.2\n"
                               "host c net=n ip=10.0.0.2\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    floe_sim *sim = world();
    char err[256];
    assert_int_equal(floe_sim_scenario_load(sim, path, NULL, err, sizeof err), FLOE_ERR_CONFIG);
    char expect[128];
    snprintf(expect, sizeof expect, "%s:4: c: interface 'eth0' clashes", path);
    assert_non_null(strstr(err, expect));
    assert_non_null(floe_sim_host_find(sim, "b")); /* built up to the error */
    floe_sim_free(sim);
    unlink(path);
    sim = world();
    assert_int_equal(floe_sim_scenario_load(sim, path, NULL, err, sizeof err), FLOE_ERR_IO);
    assert_non_null(strstr(err, "No such file"));
    floe_sim_free(sim);
}

/* ---- a scenario end to end ------------------------------------------------------- */

static void test_run_scenario(void **state) {
    (void)state;
    /* A datagram over a scenario's NAT behind NAT, its reply, and a partition. */
    static const char text[] = "seed 9\n"
                               "network internet delay=10ms\n"
                               "network isp delay=2ms\n"
                               "network lan delay=1ms\n"
                               "nat cgn type=eim/eif inside=isp ip=100.64.0.1 outside=internet "
                               "ip=203.0.113.9\n"
                               "nat home type=symmetric inside=lan ip=10.0.0.1 outside=isp "
                               "ip=100.64.0.2 gw=100.64.0.1\n"
                               "host alice net=lan ip=10.0.0.2 gw=10.0.0.1\n"
                               "host server net=internet ip=192.0.2.1\n"
                               "at 1s network internet partition=on\n";
    floe_sim *sim = world();
    char err[256];
    assert_int_equal(floe_sim_scenario_parse(sim, text, "run", NULL, err, sizeof err), FLOE_OK);
    floe_sim_udp *a, *s;
    floe_addr ba = addr("10.0.0.2:5000"), bs = addr("192.0.2.1:7");
    assert_int_equal(floe_sim_udp_open(floe_sim_host_find(sim, "alice"), &ba, &a), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(floe_sim_host_find(sim, "server"), &bs, &s), FLOE_OK);
    uint8_t msg[3] = {1, 2, 3}, buf[8];
    assert_int_equal(floe_sim_udp_send(a, &bs, msg, sizeof msg), FLOE_OK);
    assert_int_equal(floe_sim_run_until(sim, FLOE_MS(500)), FLOE_OK);
    size_t len;
    floe_addr from;
    floe_time_ns at;
    assert_int_equal(floe_sim_udp_recv(s, buf, sizeof buf, &len, &from, NULL, &at), FLOE_OK);
    assert_int_equal(at, FLOE_MS(1 + 2 + 10));
    floe_addr cgn_pub = addr("203.0.113.9");
    assert_true(floe_addr_ip_equal(&from, &cgn_pub));
    assert_int_equal(floe_sim_udp_send(s, &from, buf, len), FLOE_OK);
    assert_int_equal(floe_sim_run_until(sim, FLOE_MS(900)), FLOE_OK);
    assert_int_equal(floe_sim_udp_recv(a, buf, sizeof buf, &len, &from, NULL, &at), FLOE_OK);
    assert_int_equal(at, FLOE_MS(500 + 13));
    /* After the partition nothing crosses the Internet. */
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(a, &bs, msg, sizeof msg), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(3)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(s), 0);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_PARTITION), 1);
    floe_sim_free(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example), cmocka_unit_test(test_durations),
        cmocka_unit_test(test_errors),  cmocka_unit_test(test_hook),
        cmocka_unit_test(test_files),   cmocka_unit_test(test_run_scenario),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
