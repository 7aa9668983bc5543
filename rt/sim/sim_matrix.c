/* floe simulator runtime: the NAT matrix (see sim_matrix.h). */
#include "sim_matrix.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "nat/sim_nat.h"
#include "sim_rng.h"
#include "sim_ice_scenario.h"

/* ---- the time bounds ---------------------------------------------------------------- *
 *
 * The topology: 20 ms one way across the Internet (jitter +-2 ms), 1 ms on each LAN,
 * 5 ms on a carrier's network, 100 ms of signalling each way, Ta 50 ms. The answerer
 * (bob) starts its checks one signalling delay before the offerer (alice) does.
 *
 * Connected, no loss: gathering takes one STUN round trip (~45 ms), the offer and the
 * answer 200 ms; then the checks that must succeed one after the other (below) take a
 * round trip of ~45 ms each, plus the wait for better pairs (at most 4 RTT). Where only
 * bob's checks can get through and alice's filter needs alice's own check to open it
 * (adf, apdf), bob's first check arrives before alice has sent anything and is dropped;
 * its retransmission comes one RTO (500 ms) later: about 1 s in all. Bound: 1.5 s.
 *
 * Connected, 10 % loss on the Internet: a lost request or answer costs a retransmission
 * (RTO 500 ms, then 1 s, 2 s: RFC 8445 section 14.3, docs/adr/0005). The bound lets each
 * transaction that must succeed before the next can start lose two copies (+1.5 s), on
 * top of 1 s for gathering, signalling, round trips and the hole-punching retransmission:
 * 1 s + steps x 1.5 s. The steps, counted by the rule for each case: the STUN Binding
 * behind the srflx candidate, the checks in a row until alice has a valid pair, and the
 * nomination: 3 when both mappings are stable (case 3), 4 when the stable side's check
 * is triggered by the other's (case 4), 6 for the peer-reflexive chains (cases 5 and 10).
 * A side whose STUN exchanges are all lost gives up gathering at 2.5 s: one second more.
 *
 * Failure: a component fails when its last pair fails, and a pair fails 9.5 s after its
 * last (re)start (5 requests over 7.5 s, then 2 s, docs/adr/0005). A check of the peer's
 * that reaches us re-triggers our check of that pair (RFC 8445 section 7.3.1.4) even when
 * our answers cannot get back, and the peer retransmits for 7.5 s: so a side can fail
 * 7.5 s + 9.5 s = 17 s after the checks start. They start after gathering (45 ms without
 * loss; up to 2.5 s, the gathering give-up time, with loss or blocked UDP) and the
 * signalling (0.2 s), with up to ~0.5 s of pacing: 18 s without loss, 21 s with it. */
#define BOUND_CONNECT_0 FLOE_MS(1500)
#define BOUND_CONNECT_10_BASE FLOE_S(1)
#define BOUND_PER_STEP_10 FLOE_MS(1500)
#define BOUND_NO_SRFLX_EXTRA FLOE_S(1)
#define BOUND_FAIL_0 FLOE_S(18)
#define BOUND_FAIL_10 FLOE_S(21)
/* Relayed, no loss: gathering waits for the allocations (two round trips), then the
 * permissions and the checks: about 1 s (case 11). Bound: 3 s. With loss, the steps as
 * above. */
#define BOUND_RELAY_0 FLOE_S(3)
/* A failure with a TURN server that cannot be reached: gathering gives up on it after
 * FLOE_ICE_RELAY_TIMEOUT (5 s) instead of the 2.5 s of the STUN requests. */
#define BOUND_TURN_GIVEUP_EXTRA FLOE_MS(2500)
/* TURN over TCP with a side whose UDP is blocked (case 12): its gathering ends when the
 * STUN requests give up (2.5 s), then about 1 s to connect without loss. */
#define BOUND_RELAY_TCP_0 FLOE_S(5)
/* With loss, each of its steps over TCP may also wait for retransmission timeouts. */
#define BOUND_TCP_EXTRA_10 FLOE_S(3)

/* ---- the rule ----------------------------------------------------------------------- *
 *
 * What two full ICE agents (RFC 8445) can achieve over UDP between two sides, from the
 * RFC 4787 behaviours of their NATs. Each side has a host candidate (its private address,
 * or a public one without NAT) and, behind a NAT, a server-reflexive candidate sX: the
 * NAT's mapping toward the STUN server. Host addresses behind different NATs cannot
 * reach each other. The question is which checks get in, and from which address the
 * answers come back: a check succeeds only if its answer comes from the address it was
 * sent to (RFC 8445 section 7.2.5.2.1), which the peer's NAT decides.
 *
 * 1. Mapping decides the address a side's checks come from. Endpoint-independent mapping
 *    (EIM, RFC 4787 section 4.1) reuses the STUN server's mapping for every destination:
 *    the checks come from sX, a candidate the peer knows, and the pair is srflx on that
 *    side (host without NAT). Address-dependent and address-and-port-dependent mapping
 *    (ADM, APDM) make a new mapping pX toward the peer: its checks come from an address
 *    no one signalled, which the peer learns as peer-reflexive (RFC 8445 section 7.3.1.3)
 *    and the side itself from XOR-MAPPED-ADDRESS (section 7.2.5.3.1): the pair is prflx
 *    on that side. Call EIM and "no NAT" stable, ADM and APDM unstable. The selected
 *    pair's types follow: host, srflx or prflx per side.
 *
 * 2. Filtering decides which checks get in (section 5). A mapping admits datagrams from
 *    anyone (EIF), from IP addresses it has sent to (ADF), or only from the exact
 *    addresses it has sent to (APDF). Each NAT here has one public address, so ADF admits
 *    anything from the peer's NAT once the mapping has sent anywhere there.
 *
 * 3. Both stable: each side sends its checks to the other's srflx (or host) address from
 *    its own srflx address, so each opens exactly the permission the other's checks need;
 *    a check that arrives first may be dropped, its retransmission (or the triggered
 *    check, section 7.3.1.4) passes. Any filtering connects.
 *
 * 4. A stable side S and an unstable side U: U's checks come from pU and reach S if S has
 *    no NAT, or filters EIF, or ADF (S's own checks to sU went to U's NAT address). APDF
 *    drops them: S never sent to pU. S's checks to sU never work: they reach U's mapping
 *    toward the STUN server, which admits them only with EIF, and then U answers from
 *    pU, not sU. So S public, EIF or ADF connects (U's check, then S's triggered check to
 *    pU); S with APDF fails.
 *
 * 5. Both unstable: each side's first checks reach the other's srflx mapping, which has
 *    sent only to the STUN server: only an EIF filter lets them in. Say B filters EIF: A's
 *    check from pA reaches B, and B answers, and sends its triggered check, from its
 *    mapping toward pA, tB. That reaches pA, which has sent only to sB: APDF at A drops
 *    it (another port), EIF or ADF let it in. A's answer must then leave from pA to match
 *    B's request: true when A maps by address (ADM: tB and sB share the IP), false with
 *    APDM, which makes yet another mapping qA; A's triggered check from qA gets in (B is
 *    EIF) and B's answer leaves from tB only if B maps by address. With APDM on both sides
 *    every answer leaves from a new mapping and no check ever succeeds. So both unstable
 *    connect (prflx/prflx) iff not both APDM, and one side filters EIF while the other
 *    does not filter APDF.
 *
 * 6. A home NAT behind a carrier NAT (RFC 6888) acts as one NAT with the stricter
 *    mapping and the stricter filtering of the two (a chain is endpoint-independent only
 *    if both links are; a datagram gets in only if both filters admit it). The home NAT
 *    here is eim/apdf, the carrier's eim/eif: together eim/apdf, a stable side.
 *
 * 7. Two peers on one LAN behind one NAT: their host candidates reach each other
 *    directly, and host/host has the highest priority (type preference 126, section
 *    5.1.2.2), so it is selected whether the NAT hairpins or not; hairpinning only adds
 *    lower-priority srflx pairs.
 *
 * 8. Two homes (eim/apdf each) behind one carrier NAT (eim/eif): their host addresses
 *    are on different private LANs, and their srflx addresses both on the carrier NAT's
 *    public address, so every check between them must be hairpinned by the carrier NAT
 *    (RFC 4787 REQ-9), which presents the sender's public mapping as the source. With
 *    hairpinning both sides are stable (case 3, with case 6) and connect srflx/srflx;
 *    without it there is no path, and the session fails.
 *
 * 9. UDP blocked on a side: no check and no STUN request ever passes; only a relay
 *    reached over TCP or TLS (TURN, RFC 6062) could help, so the session must fail
 *    cleanly: both agents report failure within the bound.
 *
 * 10. A side X behind a NAT whose STUN exchanges were all lost (3 requests, each lost
 *    with its answer at p = 1 - 0.9^2 at 10 % loss: p^3 = 0.7 %) has no srflx candidate:
 *    the peer Y knows only X's private address and can never reach X first. Only X's
 *    checks can open the way, from its mapping toward Y, which nobody signalled: X is
 *    prflx in any pair. They reach Y if Y has no NAT or filters EIF (Y never sent
 *    anything to X's NAT, so ADF and APDF drop them). A stable Y then connects as in
 *    case 4. An unstable Y answers from a new mapping, and the rest is case 5 with only
 *    X's direction: X must not filter APDF, and not both may map APDM. Both sides without
 *    srflx: no path. This is a fact of the run the rule takes as input (how many
 *    candidates each side gathered), not the outcome.
 *
 * 11. A TURN server on the Internet (the relay cells): each side also has a relayed
 *    candidate, an allocation it made over UDP from its host address. A relayed pair has
 *    the lowest priority (type preference 0, RFC 8445 section 5.1.2.2) and the
 *    controlling agent waits for better pairs before it nominates, so where the rules
 *    above connect, the same direct pair is selected without loss. With loss, the direct
 *    pair's check may still be waiting for its retransmission when that wait (at most
 *    500 ms) ends, and a relayed pair that succeeded is nominated instead: the rule then
 *    accepts the direct pair or a relayed one. The same holds without loss where the
 *    direct path itself needs a retransmission: alice stable and filtering ADF, bob
 *    unstable and not filtering EIF (case 4): bob's first check arrives before alice's
 *    own check opened her filter, and his retransmission comes 500 ms later, after the
 *    relayed pairs succeeded (found by the call matrix, sim_call_matrix.h). Where they fail, the
 * relays connect: each agent installs a permission on its allocation for every remote candidate it
 *    pairs with it (the peer's srflx address carries the peer's NAT IP, the peer's relayed
 *    one the server's IP), a check sent to the peer's relayed address leaves through the
 *    side's NAT toward the server, which admits and relays it, and the answer comes back
 *    through the server from the address the check went to, which the NAT admits; between
 *    the two relays everything stays on the server. Which of the pairs with a relayed
 *    candidate wins depends on which checks of a lossy run get through first, so the rule
 *    only says "relayed". The steps: the Allocate and its 401 round, the permission, the
 *    checks and the nomination, 6 in all. UDP blocked: the server is out of reach too
 *    over UDP, still a clean failure.
 *
 * 12. TURN over TCP (the TCP relay cells, RFC 8656 section 3.1): each side makes its
 *    allocation over a TCP connection to the server, which a firewall that blocks UDP
 *    lets out (it filters TCP statefully) and NATs translate. A side with UDP blocked has
 *    nothing but its relayed candidate, so the session connects through the relay on that
 *    side: the relay sends the checks over UDP from the server's address, and the peer's
 *    answers and checks reach it there (the peer's own relay, or its NAT's mapping
 *    toward the server, which its checks to the relayed address opened). Sides that are
 *    not blocked follow case 11. The steps: the TCP handshake, the Allocate and its 401
 *    round, the permission, the checks and the nomination, 7 in all, after the blocked
 *    side's STUN requests gave up (2.5 s). A lost TCP segment costs a retransmission
 *    timeout (200 ms at least, 1 s for a SYN), not a lost transaction, but at 10 % loss
 *    a few of them in a row can hold the allocation past its 10 s limit
 *    (FLOE_ICE_RELAY_TIMEOUT_STREAM): a blocked side that gathered no relayed candidate
 *    has nothing left, a clean failure, and where neither side has one the cell is judged
 *    as without TURN; one relay on a side that is not blocked still connects as in case
 *    11. Like case 10, this is a fact of the run the rule takes as input, and such a
 *    session's bound grows by the 10 s its gathering waited. */

/* A side as the rule sees it: no NAT, or one NAT's behaviours (case 6 folds the carrier
 * chain into one), and whether its srflx candidate was gathered. */
typedef struct eff_side {
    bool public;
    floe_nat_behavior m, f;
    bool srflx;
} eff_side;

static eff_side effective(const floe_sim_matrix_side *s, bool srflx_lost) {
    eff_side e = {false, s->mapping, s->filtering, !srflx_lost};
    if (s->kind == FLOE_SIM_SIDE_PUBLIC) {
        e.public = true;
        e.srflx = true; /* reachable at its host address */
    } else if (s->kind == FLOE_SIM_SIDE_CGNAT) {
        e.m = FLOE_NAT_ENDPOINT_INDEPENDENT;
        e.f = FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
    }
    return e;
}

static bool stable(const eff_side *s) {
    return s->public || s->m == FLOE_NAT_ENDPOINT_INDEPENDENT;
}

static bool filters(const eff_side *s, floe_nat_behavior f) {
    return !s->public && s->f == f;
}

static floe_ice_cand_type seen_as(const eff_side *s) {
    if (s->public) return FLOE_ICE_CAND_HOST;
    return stable(s) && s->srflx ? FLOE_ICE_CAND_SRFLX : FLOE_ICE_CAND_PRFLX;
}

static void connect(floe_sim_matrix_expect *e, const eff_side *a, const eff_side *b, unsigned steps,
                    const char *why) {
    e->connect = true;
    e->steps = steps;
    e->local = seen_as(a);
    e->remote = seen_as(b);
    e->why = why;
}

static void fail(floe_sim_matrix_expect *e, const char *why) {
    e->connect = false;
    e->why = why;
}

/* Case 5's chain, opened by `opener`'s check reaching `other`'s srflx mapping. */
static bool chain_opens(const eff_side *opener, const eff_side *other) {
    bool both_apdm = opener->m == FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT &&
                     other->m == FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
    return !both_apdm && filters(other, FLOE_NAT_ENDPOINT_INDEPENDENT) &&
           !filters(opener, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
}

static void rule_apart(const eff_side *a, const eff_side *b, floe_sim_matrix_expect *out) {
    if (!a->srflx && !b->srflx) {
        fail(out, "neither side has a srflx candidate: no path (case 10)");
    } else if (!a->srflx || !b->srflx) {
        const eff_side *x = a->srflx ? b : a, *y = a->srflx ? a : b;
        bool reach = y->public || filters(y, FLOE_NAT_ENDPOINT_INDEPENDENT);
        if (!reach)
            fail(out, "a side without srflx, and the other's filter drops its checks (case 10)");
        else if (stable(y) || chain_opens(x, y))
            connect(out, a, b, 6, "a side without srflx opens the way itself (case 10)");
        else
            fail(out, "a side without srflx, the answers come from mappings it drops (case 10)");
    } else if (stable(a) && stable(b)) {
        connect(out, a, b, 3, "both mappings stable: hole punching works (case 3)");
    } else if (stable(a) || stable(b)) {
        const eff_side *s = stable(a) ? a : b;
        if (!filters(s, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT))
            connect(out, a, b, 4,
                    "the stable side's filter admits the other's fresh mapping (case 4)");
        else
            fail(out, "the stable side filters apdf: the other's fresh mapping never gets in "
                      "(case 4)");
    } else if (chain_opens(a, b) || chain_opens(b, a)) {
        connect(out, a, b, 6, "both unstable, one eif, no apdf, not both apdm (case 5)");
    } else {
        fail(out, "both unstable: no eif to let the first check in, apdf against the answers' "
                  "mapping, or apdm on both sides (case 5)");
    }
}

void floe_sim_matrix_rule(const floe_sim_matrix_cell *c, floe_sim_matrix_expect *out) {
    memset(out, 0, sizeof *out);
    eff_side a = effective(&c->a, c->a_srflx_lost), b = effective(&c->b, c->b_srflx_lost);
    bool lost = c->a_srflx_lost || c->b_srflx_lost;
    if (c->a.kind == FLOE_SIM_SIDE_BLOCKED || c->b.kind == FLOE_SIM_SIDE_BLOCKED) {
        fail(out, "UDP is blocked: only a TURN relay over TCP or TLS could help (case 9)");
    } else if (c->topo == FLOE_SIM_TOPO_SAME_LAN) {
        out->connect = true;
        out->local = out->remote = FLOE_ICE_CAND_HOST;
        out->steps = 3;
        out->why = "same LAN: host/host has the highest priority (case 7)";
    } else if (c->topo == FLOE_SIM_TOPO_SAME_CGN && !c->hairpin) {
        fail(out, "one carrier NAT without hairpinning: no path (case 8)");
    } else {
        rule_apart(&a, &b, out);
        if (c->topo == FLOE_SIM_TOPO_SAME_CGN && out->connect)
            out->why = "one carrier NAT hairpins between two stable homes (case 8)";
    }
    /* Case 11: where the direct path needs bob's hole-punching retransmission (alice
     * stable and filtering adf, bob unstable and not filtering eif, case 4), it is valid
     * only ~1 s in, and a relayed pair may be nominated first even without loss. */
    bool slow_direct = c->topo == FLOE_SIM_TOPO_APART && !lost && stable(&a) &&
                       filters(&a, FLOE_NAT_ADDRESS_DEPENDENT) && !stable(&b) &&
                       !filters(&b, FLOE_NAT_ENDPOINT_INDEPENDENT);
    if (c->turn && out->connect && (c->loss_pct || slow_direct)) out->or_relay = true;
    bool a_blk = c->a.kind == FLOE_SIM_SIDE_BLOCKED, b_blk = c->b.kind == FLOE_SIM_SIDE_BLOCKED;
    bool blocked = a_blk || b_blk;
    bool relay_lost = c->a_relay_lost || c->b_relay_lost;
    bool no_relay = (c->a_relay_lost && c->b_relay_lost) || (a_blk && c->a_relay_lost) ||
                    (b_blk && c->b_relay_lost);
    if (c->turn && c->turn_tcp && no_relay) {
        if (blocked || !out->connect)
            fail(out, "the allocations over TCP not made in time where they were needed: no "
                      "path (case 12)");
    } else if (c->turn && !out->connect && !blocked) {
        out->connect = out->relay = true;
        out->steps = c->turn_tcp ? 7 : 6;
        out->why = "no direct path, both sides reach the TURN server: relayed (case 11)";
    } else if (c->turn && c->turn_tcp && blocked) {
        out->connect = out->relay = true;
        out->or_relay = false;
        out->steps = 7;
        out->why = "UDP blocked, the TURN server reached over TCP: relayed (case 12)";
    }
    if (out->connect && out->relay && c->turn_tcp && blocked)
        out->bound = c->loss_pct ? BOUND_CONNECT_10_BASE + out->steps * BOUND_PER_STEP_10 +
                                       BOUND_TURN_GIVEUP_EXTRA + BOUND_TCP_EXTRA_10
                                 : BOUND_RELAY_TCP_0;
    else if (out->connect && out->relay && c->turn_tcp && c->loss_pct)
        out->bound = BOUND_CONNECT_10_BASE + out->steps * BOUND_PER_STEP_10 + BOUND_TCP_EXTRA_10;
    else if (out->connect && out->relay && !c->loss_pct)
        out->bound = BOUND_RELAY_0;
    else if (out->connect && !c->loss_pct)
        out->bound = BOUND_CONNECT_0;
    else if (out->connect)
        out->bound = BOUND_CONNECT_10_BASE + out->steps * BOUND_PER_STEP_10 +
                     (lost ? BOUND_NO_SRFLX_EXTRA : 0);
    else
        out->bound =
            (c->loss_pct ? BOUND_FAIL_10 : BOUND_FAIL_0) + (c->turn ? BOUND_TURN_GIVEUP_EXTRA : 0);
    /* Where a relayed pair may win instead of the direct one (case 11), it takes the
     * relay's steps: the bound is the larger of the two. */
    if (out->connect && out->or_relay && !c->turn_tcp) {
        floe_time_ns relay =
            c->loss_pct ? BOUND_CONNECT_10_BASE + 6 * BOUND_PER_STEP_10 : BOUND_RELAY_0;
        if (relay > out->bound) out->bound = relay;
    }
    /* A side whose allocation over TCP was given up gathered for 10 s before its
     * description could go out. */
    if (c->turn_tcp && relay_lost) out->bound += FLOE_ICE_RELAY_TIMEOUT_STREAM;
}

/* ---- the cells ---------------------------------------------------------------------- */

static const floe_nat_behavior behaviors[3] = {
    FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};

void floe_sim_matrix_side_name(const floe_sim_matrix_side *s, char *buf, size_t cap) {
    switch (s->kind) {
    case FLOE_SIM_SIDE_PUBLIC: snprintf(buf, cap, "none"); break;
    case FLOE_SIM_SIDE_CGNAT: snprintf(buf, cap, "cgnat"); break;
    case FLOE_SIM_SIDE_BLOCKED: snprintf(buf, cap, "udp-blocked"); break;
    case FLOE_SIM_SIDE_NAT:
    default:
        snprintf(buf, cap, "%s-%s", floe_sim_nat_mapping_short(s->mapping),
                 floe_sim_nat_filtering_short(s->filtering));
        break;
    }
}

/* The ten sides of the grid: no NAT, then the nine mapping x filtering NATs. */
static floe_sim_matrix_side grid_side(unsigned i) {
    floe_sim_matrix_side s = {FLOE_SIM_SIDE_PUBLIC, FLOE_NAT_UNKNOWN, FLOE_NAT_UNKNOWN};
    if (i > 0) {
        s.kind = FLOE_SIM_SIDE_NAT;
        s.mapping = behaviors[(i - 1) / 3];
        s.filtering = behaviors[(i - 1) % 3];
    }
    return s;
}

#define GRID 10
#define N_EXTRA 9
#define N_RELAY 5     /* after the others, so that adding them kept the old cells' seeds */
#define N_RELAY_TCP 5 /* TURN over TCP: after the relay cells, for the same reason */
#define LEVELS 2
static const unsigned loss_levels[LEVELS] = {0, 10};

static void extra_cell(unsigned k, floe_sim_matrix_cell *c) {
    const floe_sim_matrix_side pr = {FLOE_SIM_SIDE_NAT, FLOE_NAT_ENDPOINT_INDEPENDENT,
                                     FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};
    const floe_sim_matrix_side sym = {FLOE_SIM_SIDE_NAT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT,
                                      FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};
    const floe_sim_matrix_side cg = {FLOE_SIM_SIDE_CGNAT, FLOE_NAT_UNKNOWN, FLOE_NAT_UNKNOWN};
    const floe_sim_matrix_side bl = {FLOE_SIM_SIDE_BLOCKED, FLOE_NAT_UNKNOWN, FLOE_NAT_UNKNOWN};
    c->topo = FLOE_SIM_TOPO_APART;
    switch (k) {
    case 0: c->a = cg, c->b = pr; break; /* carrier NAT on one side */
    case 1: c->a = pr, c->b = cg; break;
    case 2: c->a = cg, c->b = cg; break;  /* on both sides */
    case 3: c->a = cg, c->b = sym; break; /* a stable apdf chain against a symmetric NAT */
    case 4:
    case 5: /* both behind one home NAT on one LAN, hairpinning on and off */
        c->topo = FLOE_SIM_TOPO_SAME_LAN;
        c->a = c->b = pr;
        c->hairpin = k == 4;
        break;
    case 6:
    case 7: /* two homes behind one carrier NAT, hairpinning on and off */
        c->topo = FLOE_SIM_TOPO_SAME_CGN;
        c->a = c->b = cg;
        c->hairpin = k == 6;
        break;
    case 8:
        c->a = bl, c->b = pr;
        break; /* UDP blocked on one side */
    /* The relay cells (case 11): a TURN server for both. */
    case 9: c->a = sym, c->b = sym, c->turn = true; break;
    case 10: c->a = sym, c->b = pr, c->turn = true; break;
    case 11: c->a = cg, c->b = sym, c->turn = true; break;
    case 12: c->a = c->b = grid_side(0), c->turn = true; break; /* direct still wins */
    case 13:
        c->a = bl, c->b = pr, c->turn = true;
        break; /* UDP to the server blocked too */
    /* The TCP relay cells (case 12): the TURN server reached over TCP. */
    case 14: c->a = bl, c->b = pr; break;
    case 15: c->a = bl, c->b = bl; break;
    case 16: c->a = sym, c->b = bl; break;
    case 17: c->a = cg, c->b = bl; break;
    case 18:
    default: c->a = sym, c->b = sym; break;
    }
    if (k >= 14) c->turn = c->turn_tcp = true;
}

size_t floe_sim_matrix_count(void) {
    return (size_t)LEVELS * (GRID * GRID + N_EXTRA + 1 + N_RELAY + N_RELAY_TCP);
}

/* Cell k of a loss level's block: the grid, the extra topologies, UDP blocked on the
 * controlled side, then (in their own block, see N_RELAY) the relay cells. */
static void make_cell(floe_sim_matrix_cell *c, unsigned index, unsigned loss, unsigned k) {
    memset(c, 0, sizeof *c);
    c->index = index;
    c->loss_pct = loss;
    if (k < GRID * GRID) {
        c->topo = FLOE_SIM_TOPO_APART;
        c->a = grid_side(k / GRID);
        c->b = grid_side(k % GRID);
    } else if (k < GRID * GRID + N_EXTRA) {
        extra_cell(k - GRID * GRID, c);
    } else if (k == GRID * GRID + N_EXTRA) { /* UDP blocked on the controlled side too */
        c->a = grid_side(3);
        c->b.kind = FLOE_SIM_SIDE_BLOCKED;
    } else {
        extra_cell(k - GRID * GRID - 1, c); /* the relay cells follow the extras */
    }
    floe_sim_matrix_side_name(&c->a, c->a_name, sizeof c->a_name);
    floe_sim_matrix_side_name(&c->b, c->b_name, sizeof c->b_name);
    if (c->turn) /* "apdm-apdf+turn", "udp-blocked+turn-tcp" */
        strncat(c->b_name, c->turn_tcp ? "+turn-tcp" : "+turn",
                sizeof c->b_name - strlen(c->b_name) - 1);
    if (c->topo == FLOE_SIM_TOPO_SAME_LAN || c->topo == FLOE_SIM_TOPO_SAME_CGN) {
        snprintf(c->a_name, sizeof c->a_name, "%s",
                 c->topo == FLOE_SIM_TOPO_SAME_LAN ? "same-lan" : "same-cgn");
        snprintf(c->b_name, sizeof c->b_name, "hairpin-%s", c->hairpin ? "on" : "off");
    }
    floe_sim_matrix_rule(c, &c->expect);
}

size_t floe_sim_matrix_cells(floe_sim_matrix_cell *out, size_t max) {
    const unsigned plain = GRID * GRID + N_EXTRA + 1;
    /* The original cells, then the relay ones, then the TCP relay ones (cell numbers, and so
     * seeds, of the older blocks stay as they were). */
    static const unsigned bounds[4] = {0, plain, plain + N_RELAY, plain + N_RELAY + N_RELAY_TCP};
    size_t n = 0;
    for (unsigned block = 0; block < 3; block++)
        for (unsigned lv = 0; lv < LEVELS; lv++) {
            unsigned first = bounds[block], end = bounds[block + 1];
            for (unsigned k = first; k < end; k++, n++)
                if (n < max) make_cell(&out[n], (unsigned)n + 1, loss_levels[lv], k);
        }
    return n;
}

/* ---- scenarios ---------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t cap, len;
    bool over;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    if (b->over) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->over = true;
        return;
    }
    b->len += (size_t)n;
}

/* One side: its host `peer` (alice or bob) and what stands between it and the Internet.
 * x is 1 for alice's side, 2 for bob's: 10.0.x.0/24 inside, public addresses from
 * 203.0.113.0/24 (alice) or 198.51.100.0/24 (bob). */
static void put_side(sbuf *b, const floe_sim_matrix_side *s, const char *peer, unsigned x) {
    const char *pub = x == 1 ? "203.0.113" : "198.51.100";
    const char L = x == 1 ? 'A' : 'B';
    char nm[16];
    floe_sim_matrix_side_name(s, nm, sizeof nm);
    put(b, "\n# %s: %s\n", peer, nm);
    switch (s->kind) {
    case FLOE_SIM_SIDE_PUBLIC: put(b, "host %s net=internet ip=%s.10\n", peer, pub); break;
    case FLOE_SIM_SIDE_NAT:
        put(b, "network lan%c delay=1ms\n", L);
        put(b, "nat nat%c type=%s/%s inside=lan%c ip=10.0.%u.1 outside=internet ip=%s.1\n", L,
            floe_sim_nat_mapping_short(s->mapping), floe_sim_nat_filtering_short(s->filtering), L,
            x, pub);
        put(b, "host %s net=lan%c ip=10.0.%u.2 gw=10.0.%u.1\n", peer, L, x, x);
        break;
    case FLOE_SIM_SIDE_CGNAT:
        put(b, "network isp%c delay=5ms\nnetwork lan%c delay=1ms\n", L, L);
        put(b,
            "nat cgn%c type=eim/eif ports=random range=20000-29999 inside=isp%c ip=100.64.%u.1 "
            "outside=internet ip=%s.1\n",
            L, L, x, pub);
        put(b,
            "nat nat%c type=eim/apdf inside=lan%c ip=10.0.%u.1 outside=isp%c ip=100.64.%u.2 "
            "gw=100.64.%u.1\n",
            L, L, x, L, x, x);
        put(b, "host %s net=lan%c ip=10.0.%u.2 gw=10.0.%u.1\n", peer, L, x, x);
        break;
    case FLOE_SIM_SIDE_BLOCKED:
    default:
        /* A firewall does not translate: the host keeps a public address behind it. */
        put(b, "network lan%c delay=1ms\n", L);
        put(b, "firewall fw%c mode=block-udp inside=lan%c ip=%s.65 outside=internet ip=%s.1\n", L,
            L, pub, pub);
        put(b, "host %s net=lan%c ip=%s.66 gw=%s.65\n", peer, L, pub, pub);
        break;
    }
}

size_t floe_sim_matrix_scenario(const floe_sim_matrix_cell *c, uint64_t seed, char *buf,
                                size_t cap) {
    sbuf b = {buf, cap, 0, cap == 0};
    const floe_sim_matrix_expect *e = &c->expect;
    put(&b, "# floe sim matrix, cell %u: %s vs %s, %u%% loss\n", c->index, c->a_name, c->b_name,
        c->loss_pct);
    put(&b, "# expected: %s (%s)\n", e->connect ? "connected" : "a clean failure", e->why);
    put(&b, "# (the matrix derives it again if a side gathers no srflx candidate: case 10)\n");
    put(&b, "seed %llu\n\n", (unsigned long long)floe_sim_matrix_cell_seed(c, seed));
    bool cgn_path = c->topo == FLOE_SIM_TOPO_SAME_CGN;
    put(&b, "network internet delay=20ms jitter=2ms loss=%u%%\n", cgn_path ? 0 : c->loss_pct);
    put(&b, "host stun net=internet ip=192.0.2.1\nstun-server stun host=stun\n");
    if (c->turn) /* the simulated Internet uses documentation addresses: allow them */
        put(&b, "turn-server turn host=stun port=3479 user=alice password=wonderland "
                "allow=203.0.113.0/24,198.51.100.0/24,192.0.2.0/24\n");
    if (c->topo == FLOE_SIM_TOPO_SAME_LAN) {
        put(&b, "\n# alice and bob on one LAN behind one NAT\nnetwork lan delay=1ms\n");
        put(&b,
            "nat nat type=%s/%s hairpin=%s inside=lan ip=10.0.0.1 outside=internet "
            "ip=203.0.113.1\n",
            floe_sim_nat_mapping_short(c->a.mapping), floe_sim_nat_filtering_short(c->a.filtering),
            c->hairpin ? "on" : "off");
        put(&b, "host alice net=lan ip=10.0.0.2 gw=10.0.0.1\n");
        put(&b, "host bob net=lan ip=10.0.0.3 gw=10.0.0.1\n");
    } else if (cgn_path) {
        /* The loss sits on the carrier's network here: that is the peers' path. */
        put(&b, "\n# two homes behind one carrier NAT\nnetwork isp delay=5ms loss=%u%%\n",
            c->loss_pct);
        put(&b,
            "nat cgn type=eim/eif ports=random range=20000-29999 hairpin=%s inside=isp "
            "ip=100.64.0.1 outside=internet ip=203.0.113.1\n",
            c->hairpin ? "on" : "off");
        for (unsigned x = 1; x <= 2; x++) {
            put(&b, "network lan%c delay=1ms\n", x == 1 ? 'A' : 'B');
            put(&b,
                "nat nat%c type=eim/apdf inside=lan%c ip=10.0.%u.1 outside=isp ip=100.64.0.%u "
                "gw=100.64.0.1\n",
                x == 1 ? 'A' : 'B', x == 1 ? 'A' : 'B', x, x + 1);
            put(&b, "host %s net=lan%c ip=10.0.%u.2 gw=10.0.%u.1\n", x == 1 ? "alice" : "bob",
                x == 1 ? 'A' : 'B', x, x);
        }
    } else {
        put_side(&b, &c->a, "alice", 1);
        put_side(&b, &c->b, "bob", 2);
    }
    const char *turn = c->turn_tcp ? " turn=turn/tcp" : c->turn ? " turn=turn" : "";
    put(&b, "\nice alice host=alice role=controlling stun=stun%s data=%d\n", turn,
        FLOE_SIM_MATRIX_DATA);
    put(&b, "ice bob host=bob role=controlled stun=stun%s\n", turn);
    put(&b, "signal alice bob delay=100ms\n");
    char bound[32];
    floe_sim_format_duration(e->bound, bound, sizeof bound);
    if (e->connect && e->relay)
        put(&b, "expect alice bob outcome=relay within=%s echoes=%d\n", bound,
            c->loss_pct ? 1 : FLOE_SIM_MATRIX_DATA);
    else if (e->connect && e->or_relay) /* the scenario language has no "A/B or relay" */
        put(&b, "expect alice bob outcome=connected within=%s echoes=1\n", bound);
    else if (e->connect) /* Without loss every datagram must come back; with loss, at least one. */
        put(&b, "expect alice bob outcome=%s/%s within=%s echoes=%d\n",
            floe_ice_cand_type_name(e->local), floe_ice_cand_type_name(e->remote), bound,
            c->loss_pct ? 1 : FLOE_SIM_MATRIX_DATA);
    else
        put(&b, "expect alice bob outcome=fail within=%s\n", bound);
    return b.over ? 0 : b.len;
}

static bool behind_nat(const floe_sim_matrix_side *s) {
    return s->kind == FLOE_SIM_SIDE_NAT || s->kind == FLOE_SIM_SIDE_CGNAT;
}

uint64_t floe_sim_matrix_cell_seed(const floe_sim_matrix_cell *c, uint64_t seed) {
    char label[32];
    snprintf(label, sizeof label, "matrix-cell-%u", c->index);
    floe_sim_rng r;
    floe_sim_rng_seed_label(&r, seed, label);
    return floe_sim_rng_next(&r);
}

int floe_sim_matrix_run(const floe_sim_matrix_cell *cell, uint64_t seed,
                        floe_sim_matrix_result *out) {
    memset(out, 0, sizeof *out);
    out->time = FLOE_TIME_NEVER;
    char text[FLOE_SIM_MATRIX_SCENARIO_MAX], err[256] = "";
    if (floe_sim_matrix_scenario(cell, seed, text, sizeof text) == 0) return FLOE_ERR_NOSPACE;
    floe_sim_ice_scenario *s;
    int rc = floe_sim_ice_scenario_new(&s);
    if (rc != FLOE_OK) return rc;
    char name[32];
    snprintf(name, sizeof name, "cell-%u", cell->index);
    rc = floe_sim_ice_scenario_parse(s, text, name, err, sizeof err);
    if (rc == FLOE_OK) rc = floe_sim_ice_scenario_prepare(s, err, sizeof err);
    if (rc == FLOE_OK) rc = floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER);
    const floe_sim_ice *alice = floe_sim_ice_scenario_peer(s, "alice");
    const floe_sim_ice *bob = floe_sim_ice_scenario_peer(s, "bob");
    if (rc != FLOE_OK || !alice || !bob) {
        snprintf(out->why, sizeof out->why, "%s", err[0] ? err : floe_strerror(rc));
        floe_sim_ice_scenario_free(s);
        return rc != FLOE_OK ? rc : FLOE_ERR_STATE;
    }
    /* The rule's inputs from the run (case 10): which NATed side gathered no srflx. */
    floe_sim_matrix_cell c = *cell;
    const floe_sim_ice_result *ra = floe_sim_ice_result_get(alice);
    const floe_sim_ice_result *rb = floe_sim_ice_result_get(bob);
    c.a_srflx_lost = behind_nat(&c.a) && c.topo != FLOE_SIM_TOPO_SAME_LAN && ra->n_srflx == 0;
    c.b_srflx_lost = behind_nat(&c.b) && c.topo != FLOE_SIM_TOPO_SAME_LAN && rb->n_srflx == 0;
    /* ... and (case 12) which side gathered no relayed candidate over TCP. */
    c.a_relay_lost = c.turn_tcp && ra->n_relay == 0;
    c.b_relay_lost = c.turn_tcp && rb->n_relay == 0;
    floe_sim_matrix_rule(&c, &out->expect);
    const floe_sim_matrix_expect *e = &out->expect;
    if (c.a_srflx_lost || c.b_srflx_lost)
        snprintf(out->note, sizeof out->note, "%s%s%s gathered no srflx: case 10",
                 c.a_srflx_lost ? "alice" : "", c.a_srflx_lost && c.b_srflx_lost ? " and " : "",
                 c.b_srflx_lost ? "bob" : "");
    else if (c.a_relay_lost || c.b_relay_lost)
        snprintf(out->note, sizeof out->note, "%s%s%s gathered no relay: case 12",
                 c.a_relay_lost ? "alice" : "", c.a_relay_lost && c.b_relay_lost ? " and " : "",
                 c.b_relay_lost ? "bob" : "");
    if (e->connect && e->relay)
        snprintf(out->expected, sizeof out->expected, "relay");
    else if (e->connect)
        snprintf(out->expected, sizeof out->expected, "%s/%s%s", floe_ice_cand_type_name(e->local),
                 floe_ice_cand_type_name(e->remote), e->or_relay ? "|relay" : "");
    else
        snprintf(out->expected, sizeof out->expected, "fail");

    floe_sim_ice_session ss;
    floe_sim_ice_scenario_session(s, alice, &ss);
    out->time = ss.time;
    out->checks = ss.checks_a + ss.checks_b;
    out->data_sent = ss.data_sent;
    out->echoes = ss.echoes;
    snprintf(out->got, sizeof out->got, "%s", ss.pair);
    char t[32] = "-", bound[32];
    if (ss.time != FLOE_TIME_NEVER) snprintf(t, sizeof t, "%.3f s", (double)ss.time / 1e9);
    floe_sim_format_duration(e->bound, bound, sizeof bound);
    /* Without loss every datagram must come back; with loss, at least one. */
    unsigned need = c.loss_pct ? 1 : FLOE_SIM_MATRIX_DATA;
    if (e->connect) {
        char direct[24];
        snprintf(direct, sizeof direct, "%s/%s", floe_ice_cand_type_name(e->local),
                 floe_ice_cand_type_name(e->remote));
        bool has_relay = strstr(ss.pair, "relay") != NULL;
        bool types_ok =
            e->relay ? has_relay : strcmp(ss.pair, direct) == 0 || (e->or_relay && has_relay);
        out->outcome_ok = ss.outcome == FLOE_SIM_ICE_CONNECTED && ss.consistent && types_ok;
        if (ss.outcome != FLOE_SIM_ICE_CONNECTED)
            snprintf(out->why, sizeof out->why, "expected a connection, got %s", ss.pair);
        else if (!ss.consistent)
            snprintf(out->why, sizeof out->why, "the two agents selected different pairs");
        else if (!out->outcome_ok)
            snprintf(out->why, sizeof out->why, "expected %s, got %s", out->expected, ss.pair);
        else if (ss.time > e->bound)
            snprintf(out->why, sizeof out->why, "selected after %s, over the %s bound", t, bound);
        else if (ss.echoes < need)
            snprintf(out->why, sizeof out->why, "%u of %u datagrams echoed, expected %u", ss.echoes,
                     ss.data_sent, need);
        else
            out->ok = true;
    } else {
        out->outcome_ok = ss.outcome == FLOE_SIM_ICE_FAILED_BOTH;
        if (!out->outcome_ok)
            snprintf(out->why, sizeof out->why, "expected both agents to fail, got %s", ss.pair);
        else if (ss.time > e->bound)
            snprintf(out->why, sizeof out->why, "failed after %s, over the %s bound", t, bound);
        else
            out->ok = true;
    }
    floe_sim_ice_scenario_free(s);
    return FLOE_OK;
}
