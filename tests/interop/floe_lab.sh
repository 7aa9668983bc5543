#!/usr/bin/env bash
# Interop: `floe lab`, the call of `floe demo` through real Linux NATs (network
# namespaces and nftables it makes and removes itself), run as root.
#
#   a. cone/cone: exit 0 and PASS; the JSON says both tones were heard, both user agents
#      ok, a selected pair on each side, media both ways;
#      with dumpcap and tshark installed, its --pcap capture of the public links holds
#      the INVITE, STUN and RTP both ways, nothing malformed;
#   b. symmetric/symmetric: only TURN can connect: exit 0, a relayed candidate in the
#      selected pair of both sides;
#   b2. symmetric/symmetric with --no-turn: no path at all (the NATs really are
#      symmetric): exit 1, FAIL, no tone heard;
#   c. after each run no namespace floe-lab-*-PID of that run is left, and none of the
#      processes it started runs on;
#   d. SIGINT in the middle of a call: floe lab stops its children by PID and deletes its
#      namespaces, exit 1 (FAIL, interrupted);
#   e. usage errors exit 2 with a message (--nat-a bogus), --help explains the topology;
#      without root (when setpriv can drop it here) exit 2, pointing at floe demo.
# The namespaces and processes are floe lab's own; this script only signals the PID of
# the floe lab it started.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd ip nft python3
ft_need_file "$FLOE" "the floe binary"
ft_need_netns

# ---- e. usage ------------------------------------------------------------------------------

ft_check "usage errors exit 2 with a message"
rc=0
"$FLOE" lab --nat-a bogus >"$FT_TMP/usage.out" 2>"$FT_TMP/usage.err" || rc=$?
[ "$rc" = 2 ] || ft_fail "floe lab --nat-a bogus exited $rc, expected 2"
grep -q "unknown NAT kind 'bogus' (cone or symmetric)" "$FT_TMP/usage.err" ||
  ft_fail "no clear message: $(cat "$FT_TMP/usage.err")"
rc=0
"$FLOE" lab --duration 0 >/dev/null 2>"$FT_TMP/usage.err" || rc=$?
[ "$rc" = 2 ] || ft_fail "floe lab --duration 0 exited $rc, expected 2"
"$FLOE" lab --help >"$FT_TMP/help.out" || ft_fail "floe lab --help failed"
for w in floe-lab-pub-P 198.18.0.1 10.0.1.2 10.0.2.2 masquerade fully-random --no-turn --keep; do
  grep -q -- "$w" "$FT_TMP/help.out" || ft_fail "floe lab --help does not mention $w"
done
"$FLOE" --help | grep -qE '^  lab ' || ft_fail "floe --help does not list lab"
ft_ok "--nat-a bogus and --duration 0 -> 2; --help explains the topology"
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups "$FLOE" --version >/dev/null 2>&1; then
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups "$FLOE" lab >/dev/null 2>"$FT_TMP/noroot.err" || rc=$?
  [ "$rc" = 2 ] || ft_fail "floe lab as nobody exited $rc, expected 2"
  if ! grep -q "needs root" "$FT_TMP/noroot.err" || ! grep -q "floe demo" "$FT_TMP/noroot.err"; then
    ft_fail "floe lab as nobody: $(cat "$FT_TMP/noroot.err")"
  fi
  ft_ok "as nobody: exit 2, $(cat "$FT_TMP/noroot.err")"
else
  ft_say "cannot run $FLOE as nobody here: the no-root check is left out"
fi

# leftovers: no namespace of run PID, no process of the run still alive
check_clean() {
  local pid=$1 log=$2 left p
  left=$(ip netns list | awk '{ print $1 }' | grep -E "^floe-lab-.*-$pid\$" || true)
  [ -z "$left" ] || ft_fail "namespaces left by floe lab (pid $pid): $left"
  while read -r p; do
    if [ -e "/proc/$p" ] && grep -q floe "/proc/$p/cmdline" 2>/dev/null &&
      ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
      ft_fail "process $p started by floe lab (pid $pid) still runs: $(tr '\0' ' ' <"/proc/$p/cmdline")"
    fi
  done < <(sed -nE 's/.* started [a-z]+ \(pid ([0-9]+)\) in .*/\1/p' "$log")
}

# run_lab NAME ARGS...: floe lab --json ARGS, bounded; sets LAB_RC and LAB_PID.
run_lab() {
  local name=$1
  shift
  ft_start_split "$name" "$FT_TMP/$name.json" env TMPDIR="$FT_TMP" "$FLOE" lab --json --duration 2 --timeout 40 "$@"
  LAB_PID=$FT_LAST_PID
  ft_wait_exit "$name" 60
  LAB_RC=$FT_EXIT_STATUS
}

# ---- a. cone / cone -------------------------------------------------------------------------

ft_check "floe lab --nat-a cone --nat-b cone"
PCAP=()
if command -v dumpcap >/dev/null && command -v tshark >/dev/null; then
  PCAP=(--pcap "$FT_TMP/cone.pcapng")
else
  ft_say "dumpcap or tshark missing: --pcap is not checked"
fi
run_lab cone --nat-a cone --nat-b cone ${PCAP[@]+"${PCAP[@]}"}
J=$FT_TMP/cone.json
[ "$LAB_RC" = 0 ] || ft_fail "floe lab (cone/cone) exited $LAB_RC: $(cat "$J")"
ft_expect_eq "$(ft_json "$J" 'j["pass"] and j["tones"]["440_at_bob"] and j["tones"]["1000_at_alice"]')" true "PASS, both tones heard"
ft_expect_eq "$(ft_json "$J" 'j["alice"]["ok"] and j["bob"]["ok"] and j["alice"]["exit"] == 0 and j["bob"]["exit"] == 0')" true "both user agents ok"
ft_expect_eq "$(ft_json "$J" 'all(j[s]["pair"]["local"] in ("host","srflx","prflx","relay") for s in ("alice","bob"))')" true "a selected pair on both sides"
ft_expect_eq "$(ft_json "$J" 'min(j[s]["packets_received"] for s in ("alice","bob")) > 50')" true "media both ways"
ft_expect_eq "$(ft_json "$J" 'j["proxy"]["registered"] >= 2 and j["proxy"]["requests_forwarded"] >= 4')" true "both registered, requests through floe proxy"
check_clean "$LAB_PID" "$(ft_log_of cone)"
if [ "${#PCAP[@]}" -gt 0 ]; then
  # shellcheck disable=SC2034 # read by ft_tshark (tests/lib/common.bash)
  FT_DECODE=(--enable-heuristic rtp_udp)
  n_inv=$(ft_capture_count cone 'sip.Method == "INVITE" && sdp')
  n_stun=$(ft_capture_count cone 'stun')
  n_rtp_a=$(ft_capture_count cone 'rtp && ip.src == 198.18.1.2')
  n_rtp_b=$(ft_capture_count cone 'rtp && ip.src == 198.18.2.2')
  n_bad=$(ft_capture_count cone '_ws.malformed')
  if [ "$n_inv" -lt 1 ] || [ "$n_stun" -lt 4 ] || [ "$n_rtp_a" -lt 50 ] || [ "$n_rtp_b" -lt 50 ] || [ "$n_bad" != 0 ]; then
    ft_fail "capture: $n_inv INVITE with SDP, $n_stun STUN, RTP $n_rtp_a from NAT A and $n_rtp_b from NAT B, $n_bad malformed"
  fi
  ft_ok "--pcap: $n_inv INVITE with SDP, $n_stun STUN, RTP $n_rtp_a from NAT A and $n_rtp_b from NAT B, none malformed"
fi
ft_ok "cone/cone: $(ft_json "$J" '"alice %s -> %s, INVITE->180 %s ms, 200->RTP %s ms; %.1f s" % (j["alice"]["pair"]["local"], j["alice"]["pair"]["remote"], j["alice"]["ms_invite_to_180"], j["alice"]["ms_200_to_first_rtp"], j["seconds"])'); nothing left"

# ---- b. symmetric / symmetric: TURN only ------------------------------------------------------

ft_check "floe lab --nat-a symmetric --nat-b symmetric (TURN on): relayed"
run_lab sym --nat-a symmetric --nat-b symmetric
J=$FT_TMP/sym.json
[ "$LAB_RC" = 0 ] || ft_fail "floe lab (symmetric/symmetric) exited $LAB_RC: $(cat "$J")"
ft_expect_eq "$(ft_json "$J" 'j["pass"] and j["tones"]["440_at_bob"] and j["tones"]["1000_at_alice"]')" true "PASS, both tones heard"
ft_expect_eq "$(ft_json "$J" 'all("relay" in (j[s]["pair"]["local"], j[s]["pair"]["remote"]) for s in ("alice","bob"))')" true "a relayed candidate in both selected pairs"
ft_expect_eq "$(ft_json "$J" 'j["relay"]')" true "relay"
check_clean "$LAB_PID" "$(ft_log_of sym)"
ft_ok "symmetric/symmetric: $(ft_json "$J" '"alice %s -> %s, bob %s -> %s; %.1f s" % (j["alice"]["pair"]["local"], j["alice"]["pair"]["remote"], j["bob"]["pair"]["local"], j["bob"]["pair"]["remote"], j["seconds"])'); nothing left"

ft_check "floe lab --nat-a symmetric --nat-b symmetric --no-turn: no path, FAIL"
run_lab symnoturn --nat-a symmetric --nat-b symmetric --no-turn
J=$FT_TMP/symnoturn.json
[ "$LAB_RC" = 1 ] || ft_fail "floe lab (symmetric/symmetric, no TURN) exited $LAB_RC, expected 1: $(cat "$J")"
ft_expect_eq "$(ft_json "$J" 'j["pass"] or j["tones"]["440_at_bob"] or j["tones"]["1000_at_alice"] or j["relay"]')" false "no pass, no tone, no relay"
check_clean "$LAB_PID" "$(ft_log_of symnoturn)"
ft_ok "symmetric/symmetric without TURN fails as it must; nothing left"

# ---- d. SIGINT in the middle ---------------------------------------------------------------------

ft_check "SIGINT during the call: children stopped, namespaces deleted, exit 1"
ft_start_split int "$FT_TMP/int.json" env TMPDIR="$FT_TMP" "$FLOE" lab --json --duration 20 --timeout 60
LAB_PID=$FT_LAST_PID
ft_wait_log int "alice +media: first RTP received" 20
kill -INT "$LAB_PID"
ft_wait_exit int 20
[ "$FT_EXIT_STATUS" = 1 ] || ft_fail "floe lab exited $FT_EXIT_STATUS after SIGINT, expected 1"
ft_expect_eq "$(ft_json "$FT_TMP/int.json" 'j["pass"] is False and "SIGINT" in j["error"]')" true "FAIL, interrupted by SIGINT"
check_clean "$LAB_PID" "$(ft_log_of int)"
ft_ok "interrupted run cleaned up"
ft_ok "floe_lab passed"
