/* Check pacing (Ta) between two agents through SDP (RFC 8445 §14.2, RFC 8839 §5.5):
 * floe_ice_agent_set_pacing and its bounds and states, a=ice-pacing written by
 * floe_ice_sdp_write when Ta is not the default, the larger value applied by
 * floe_ice_sdp_apply (a peer without the attribute counting as 50 ms), and two agents with
 * different Ta that end up spacing their checks by the larger one, in virtual time. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include <stdio.h>

#include "floe/ice_sdp.h"
#include "floe/sdp_ice.h"

#define CRLF "\r\n"

static floe_ice_sdp_work work; /* about 60 KiB: not on the stack */

/* Agents 0 (controlling) and 1 with Ta ta0 and ta1 (0: the default), two host addresses
 * each (four pairs a side), gathered. */
static tnet *two_agents(floe_time_ns ta0, floe_time_ns ta1) {
    tnet *n = net_new(FLOE_MS(10));
    for (int i = 0; i < 2; i++) {
        floe_ice_config c;
        net_config(n, i, &c, i == 0);
        c.ta = i ? ta1 : ta0;
        net_agent(n, i, &c);
    }
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 1, "10.0.1.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_host(n, 1, 0, 1, "10.0.1.2:6000", NULL);
    net_gather(n);
    return n;
}

static size_t write_sdp(floe_ice_agent *a, char *out, size_t cap) {
    floe_ice_sdp_desc d = {.components = 1, .session_id = 42};
    floe_sdp_error e = {0, NULL};
    size_t len = 0;
    int rc = floe_ice_sdp_write(a, &d, &work, out, cap, &len, &e);
    if (rc != FLOE_OK) fail_msg("write: %s", e.reason);
    return len;
}

static void apply_sdp(floe_ice_agent *a, const char *text, floe_ice_sdp_applied *got) {
    floe_sdp_error e = {0, NULL};
    int rc = floe_ice_sdp_apply(a, 0, 1, text, strlen(text), &work, got, &e);
    if (rc != FLOE_OK) fail_msg("apply: %s (line %d)", e.reason, e.line);
}

/* A peer's description, with `pacing` as its session-level a=ice-pacing line ("" for
 * none). */
static const char *peer_sdp(const char *pacing) {
    static char t[1024];
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 7 1 IN IP4 10.0.0.9" CRLF "s=-" CRLF "t=0 0" CRLF "%s"
             "m=audio 7000 RTP/AVP 0" CRLF "c=IN IP4 10.0.0.9" CRLF "a=ice-ufrag:8hhY" CRLF
             "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF
             "a=candidate:1 1 UDP 2130706431 10.0.0.9 7000 typ host" CRLF,
             pacing);
    return t;
}

/* ---- the agent's setting ------------------------------------------------------------- */

static void test_set_pacing(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_ICE_TA_DEFAULT);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(20)), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_MS(20));
    /* 0 is the default; below the minimum is raised, above floe's bound lowered. */
    assert_int_equal(floe_ice_agent_set_pacing(a, 0), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_ICE_TA_DEFAULT);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(1)), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_ICE_TA_MIN);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_ICE_TA_MIN - 1), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_ICE_TA_MIN);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_S(60)), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_ICE_TA_MAX);
    assert_int_equal(floe_ice_agent_set_pacing(NULL, FLOE_MS(20)), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_pacing(NULL), FLOE_ICE_TA_DEFAULT);

    /* Allowed while gathering and until start; refused after start, until a restart. */
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(30)), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(70)), FLOE_ERR_STATE);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_MS(30));
    assert_int_equal(floe_ice_agent_restart(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(70)), FLOE_OK);
    assert_int_equal(floe_ice_agent_pacing(a), FLOE_MS(70));
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_pacing(a, FLOE_MS(20)), FLOE_ERR_STATE);
    net_free(n);

    /* The config takes the same bounds. */
    n = net_new(FLOE_MS(10));
    net_config(n, 0, &c, true);
    c.ta = FLOE_S(3600);
    net_agent(n, 0, &c);
    assert_int_equal(floe_ice_agent_pacing(n->ag[0]), FLOE_ICE_TA_MAX);
    net_free(n);
}

/* ---- announcing ---------------------------------------------------------------------- */

static void test_write_announces_ta(void **state) {
    (void)state;
    static char t[8192];
    tnet *n = two_agents(0, FLOE_MS(20));
    /* The default Ta is not announced: a peer assumes 50 ms without the attribute. */
    write_sdp(n->ag[0], t, sizeof t);
    assert_null(strstr(t, "ice-pacing"));
    /* Another one is, at session level (before m=). */
    write_sdp(n->ag[1], t, sizeof t);
    const char *p = strstr(t, CRLF "a=ice-pacing:20" CRLF);
    assert_non_null(p);
    assert_true(p < strstr(t, CRLF "m="));
    /* Whole milliseconds, rounded up: never announcing faster pacing than the agent's. */
    assert_int_equal(floe_ice_agent_set_pacing(n->ag[1], FLOE_MS(20) + 1), FLOE_OK);
    write_sdp(n->ag[1], t, sizeof t);
    assert_non_null(strstr(t, CRLF "a=ice-pacing:21" CRLF));
    assert_int_equal(floe_ice_agent_set_pacing(n->ag[1], FLOE_MS(100)), FLOE_OK);
    write_sdp(n->ag[1], t, sizeof t);
    assert_non_null(strstr(t, CRLF "a=ice-pacing:100" CRLF));
    /* What floe writes floe reads back. */
    floe_sdp_error e = {0, NULL};
    assert_int_equal(floe_sdp_parse(t, strlen(t), &work.sdp, &e, NULL), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_parse(&work.sdp, 0, &work.ice, NULL, &e), FLOE_OK);
    assert_int_equal(work.ice.pacing_ms, 100);
    net_free(n);
}

/* Call descriptions: the formats of a SIP call with their rtpmaps, ptime and rtcp-mux;
 * and the controlling agent's updated offer after ICE (RFC 8839 §4.2.2). */
static void test_write_call_media_and_selected(void **state) {
    (void)state;
    static char t[8192];
    tnet *n = two_agents(0, 0);
    static const char *const fmts[] = {"0", "8"};
    floe_ice_sdp_desc d = {.components = 1,
                           .session_id = 42,
                           .formats = fmts,
                           .n_formats = 2,
                           .ptime = 20,
                           .rtcp_mux = true};
    floe_sdp_error e = {0, NULL};
    size_t len = 0;
    assert_int_equal(floe_ice_sdp_write(n->ag[0], &d, &work, t, sizeof t, &len, &e), FLOE_OK);
    assert_non_null(strstr(t, CRLF "m=audio 5000 RTP/AVP 0 8" CRLF));
    assert_non_null(strstr(t, CRLF "a=rtpmap:0 PCMU/8000" CRLF "a=rtpmap:8 PCMA/8000" CRLF));
    assert_non_null(strstr(t, CRLF "a=ptime:20" CRLF));
    assert_non_null(strstr(t, CRLF "a=rtcp-mux" CRLF));
    assert_null(strstr(t, "remote-candidates"));
    /* Default before ICE: the agent's best host (10.0.0.1 by the order added). */
    assert_non_null(strstr(t, CRLF "c=IN IP4 10.0.0.1" CRLF));
    /* After ICE selected 10.0.1.1 -> 10.0.1.2:6000: that local candidate is the default,
     * and the remote one is listed. */
    floe_ice_cand loc[8];
    size_t nl = floe_ice_agent_local_candidates(n->ag[0], 0, loc, 8);
    const floe_ice_cand *sel = NULL;
    for (size_t i = 0; i < nl; i++) {
        char ip[FLOE_ADDR_STRLEN];
        floe_addr_format(&loc[i].addr, false, ip, sizeof ip);
        if (!strcmp(ip, "10.0.1.1")) sel = &loc[i];
    }
    assert_non_null(sel);
    floe_ice_cand rem = *sel;
    assert_int_equal(floe_addr_parse("10.0.1.2:6000", &rem.addr), FLOE_OK);
    d.selected_local[1] = sel;
    d.selected_remote[1] = &rem;
    assert_int_equal(floe_ice_sdp_write(n->ag[0], &d, &work, t, sizeof t, &len, &e), FLOE_OK);
    assert_non_null(strstr(t, CRLF "c=IN IP4 10.0.1.1" CRLF));
    assert_non_null(strstr(t, CRLF "a=remote-candidates:1 10.0.1.2 6000" CRLF));
    /* And it still reads back. */
    assert_int_equal(floe_sdp_parse(t, strlen(t), &work.sdp, &e, NULL), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_parse(&work.sdp, 0, &work.ice, NULL, &e), FLOE_OK);
    net_free(n);
}

/* ---- applying ------------------------------------------------------------------------ */

typedef struct apply_case {
    floe_time_ns ours; /* the agent's Ta before (0: default) */
    const char *line;  /* the peer's a=ice-pacing line, "" for none */
    uint32_t want_ms;  /* the Ta after */
} apply_case;

static void test_apply_negotiates(void **state) {
    (void)state;
    static const apply_case cases[] = {
        /* the larger wins, whichever side has it */
        {FLOE_MS(20), "a=ice-pacing:80" CRLF, 80},
        {FLOE_MS(100), "a=ice-pacing:60" CRLF, 100},
        {FLOE_MS(20), "a=ice-pacing:30" CRLF, 30}, /* no 50 ms floor under two proposals */
        {FLOE_MS(20), "a=ice-pacing:20" CRLF, 20},
        {0, "a=ice-pacing:20" CRLF, 50}, /* we propose nothing: we count as 50 */
        /* no attribute: the peer counts as 50 ms */
        {FLOE_MS(20), "", 50},
        {0, "", 50},
        {FLOE_MS(200), "", 200},
        /* 0 reads as absent; below the 5 ms minimum (RFC 8445 §14.2) is raised */
        {FLOE_MS(20), "a=ice-pacing:0" CRLF, 50},
        {FLOE_MS(5), "a=ice-pacing:1" CRLF, 5},
        {FLOE_MS(5), "a=ice-pacing:4" CRLF, 5},
        /* above floe's bound (FLOE_ICE_TA_MAX) is lowered to it */
        {FLOE_MS(20), "a=ice-pacing:5000" CRLF, 1000},
        {FLOE_MS(20), "a=ice-pacing:9999999999" CRLF, 1000},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tnet *n = net_new(FLOE_MS(10));
        floe_ice_config c;
        net_config(n, 0, &c, true);
        c.ta = cases[k].ours;
        net_agent(n, 0, &c);
        floe_ice_sdp_applied got;
        memset(&got, 0xff, sizeof got);
        apply_sdp(n->ag[0], peer_sdp(cases[k].line), &got);
        if (floe_ice_agent_pacing(n->ag[0]) != FLOE_MS(cases[k].want_ms) ||
            got.pacing_ms != cases[k].want_ms || got.pacing_late)
            fail_msg("case %zu (%.*s): Ta %llu ns, pacing_ms %u, late %d; want %u ms", k,
                     (int)strcspn(cases[k].line, "\r"), cases[k].line,
                     (unsigned long long)floe_ice_agent_pacing(n->ag[0]), got.pacing_ms,
                     got.pacing_late, cases[k].want_ms);
        assert_int_equal(got.candidates, 1);
        net_free(n);
    }
}

/* A description applied after the checks started cannot change Ta: pacing_late says so
 * when the negotiated value differs from the Ta kept. */
static void test_apply_after_start(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.ta = FLOE_MS(20);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_gather(n);
    floe_ice_sdp_applied got;
    apply_sdp(n->ag[0], peer_sdp("a=ice-pacing:30" CRLF), &got);
    assert_int_equal(got.pacing_ms, 30);
    assert_false(got.pacing_late);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    apply_sdp(n->ag[0], peer_sdp("a=ice-pacing:30" CRLF), &got); /* the same again */
    assert_int_equal(got.pacing_ms, 30);
    assert_false(got.pacing_late);
    apply_sdp(n->ag[0], peer_sdp("a=ice-pacing:80" CRLF), &got);
    assert_int_equal(got.pacing_ms, 30);
    assert_true(got.pacing_late);
    assert_int_equal(floe_ice_agent_pacing(n->ag[0]), FLOE_MS(30));
    net_free(n);
}

/* ---- two agents ---------------------------------------------------------------------- */

/* Offer from agent 0, answer from agent 1 (written before the offer is applied, as
 * `floe ice` and the simulator do), each applied by the other; then both start. */
static void negotiate_and_start(tnet *n, uint32_t *ms0, uint32_t *ms1) {
    static char offer[8192], answer[8192];
    write_sdp(n->ag[0], offer, sizeof offer);
    write_sdp(n->ag[1], answer, sizeof answer);
    floe_ice_sdp_applied got;
    apply_sdp(n->ag[1], offer, &got);
    *ms1 = got.pacing_ms;
    apply_sdp(n->ag[0], answer, &got);
    *ms0 = got.pacing_ms;
    for (int i = 0; i < 2; i++)
        assert_int_equal(floe_ice_agent_start(n->ag[i], n->now), FLOE_OK);
}

/* The spacing of agent i's check requests since `from`: the smallest and the largest gap
 * between two of them; returns how many there were. */
static unsigned request_gaps(const tnet *n, int i, floe_time_ns from, floe_time_ns *min,
                             floe_time_ns *max) {
    unsigned k = 0;
    floe_time_ns prev = 0;
    *min = FLOE_TIME_NEVER;
    *max = 0;
    for (unsigned j = 0; j < n->n_log; j++) {
        const net_sent *s = &n->log[j];
        if (s->agent != i || s->at < from || !s->stun || s->cls != FLOE_STUN_REQUEST) continue;
        if (k++) {
            floe_time_ns gap = s->at - prev;
            if (gap < *min) *min = gap;
            if (gap > *max) *max = gap;
        }
        prev = s->at;
    }
    return k;
}

/* Agents with Ta `ta0` and `ta1` negotiate through SDP; both must then start a check every
 * `want` exactly: the four pairs of each side go out one Ta apart, before any
 * retransmission (the RTO is at least 500 ms), while the network drops everything. Then
 * the network works again and both complete. */
static void run_pair(floe_time_ns ta0, floe_time_ns ta1, floe_time_ns want) {
    tnet *n = two_agents(ta0, ta1);
    uint32_t ms0 = 0, ms1 = 0;
    floe_time_ns t0 = n->now;
    negotiate_and_start(n, &ms0, &ms1);
    assert_int_equal(ms0, want / FLOE_NS_PER_MS);
    assert_int_equal(ms1, want / FLOE_NS_PER_MS);
    for (int i = 0; i < 2; i++)
        assert_int_equal(floe_ice_agent_pacing(n->ag[i]), want);
    n->drop_all = true;
    net_advance(n, FLOE_MS(450));
    for (int i = 0; i < 2; i++) {
        floe_time_ns lo, hi;
        unsigned k = request_gaps(n, i, t0, &lo, &hi);
        if (k != 4 || lo != want || hi != want)
            fail_msg("agent %d: %u checks, gaps %llu..%llu ns, want 4 every %llu ns", i, k,
                     (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)want);
    }
    n->drop_all = false;
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(15)));
    net_free(n);
}

static void test_two_agents_use_the_larger_ta(void **state) {
    (void)state;
    run_pair(FLOE_MS(50), FLOE_MS(20), FLOE_MS(50)); /* the task: 50 and 20 give 50 */
    run_pair(FLOE_MS(20), FLOE_MS(50), FLOE_MS(50)); /* either way round */
    run_pair(FLOE_MS(20), 0, FLOE_MS(50));           /* the default, not announced, wins */
    run_pair(FLOE_MS(20), FLOE_MS(30), FLOE_MS(30)); /* no 50 ms floor between two proposals */
    run_pair(FLOE_MS(20), FLOE_MS(20), FLOE_MS(20)); /* and the spacing does show 20 */
    run_pair(FLOE_MS(80), 0, FLOE_MS(80));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_pacing),
        cmocka_unit_test(test_write_announces_ta),
        cmocka_unit_test(test_write_call_media_and_selected),
        cmocka_unit_test(test_apply_negotiates),
        cmocka_unit_test(test_apply_after_start),
        cmocka_unit_test(test_two_agents_use_the_larger_ta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
