#!/usr/bin/env bash
# `floe demo`: one SIP call with ICE between alice (port-restricted NAT) and bob
# (symmetric NAT) in the simulator. The run must pass (exit 0, PASS), its ladder must
# show the call in order (REGISTER, INVITE, 183, PRACK, ICE nominated and completed at
# bob, only then 180, 200, ACK, BYE), --json must parse with both tones heard, the
# --pcap capture must read in tshark without a malformed packet, the call must still
# pass at 10 % loss for a few seeds, a world without a path (--no-turn) must fail
# cleanly without ringing, and a bad option must be a usage error. Virtual time only:
# nothing touches a real network.
set -euo pipefail
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3

# ---- the default run: exit status, verdict, the ladder in order --------------------
ft_check "floe demo passes with the defaults"
rc=0
"$FLOE" demo >"$FT_TMP/demo.out" 2>"$FT_TMP/demo.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "floe demo exited $rc: $(tail -n 20 "$FT_TMP/demo.out") $(cat "$FT_TMP/demo.err")"
[ "$(tail -n 1 "$FT_TMP/demo.out")" = PASS ] || ft_fail "the last line is not PASS: $(tail -n 12 "$FT_TMP/demo.out")"
ft_ok "exit 0 and PASS"

# line_of REGEX [AFTER]: number of the first line matching REGEX after line AFTER.
line_of() {
  local re=$1 after=${2:-0} n
  n=$(awk -v re="$re" -v after="$after" 'NR > after && $0 ~ re { print NR; exit }' "$FT_TMP/demo.out")
  [ -n "$n" ] || ft_fail "no line matching /$re/ after line $after in the ladder:
$(cat "$FT_TMP/demo.out")"
  printf '%s' "$n"
}

ft_check "the ladder shows the call in order"
reg=$(line_of 'bob -> proxy +REGISTER sip:floe.example SIP/2.0')
inv=$(line_of 'alice -> proxy +INVITE sip:bob@floe.example SIP/2.0' "$reg")
inv_b=$(line_of 'proxy -> bob +INVITE sip:bob@' "$inv")
s183=$(line_of 'bob -> proxy +SIP/2.0 183 ' "$inv_b")
prack=$(line_of 'alice -> proxy +PRACK ' "$s183")
nom=$(line_of 'bob +ICE nominated pair: ' "$s183")
done_b=$(line_of 'bob +ICE completed' "$s183")
r180=$(line_of 'bob -> proxy +SIP/2.0 180 Ringing' "$s183")
[ "$nom" -lt "$r180" ] && [ "$done_b" -lt "$r180" ] ||
  ft_fail "bob rang (line $r180) before ICE was nominated (line $nom) and completed (line $done_b)"
s200=$(line_of 'bob -> proxy +SIP/2.0 200 OK' "$r180")
ack=$(line_of 'alice -> proxy +ACK ' "$s200")
rtp_a=$(line_of 'alice +first RTP received' "$r180")
rtp_b=$(line_of 'bob +first RTP received' "$r180")
bye=$(line_of 'alice -> proxy +BYE ' "$ack")
bye_b=$(line_of 'proxy -> bob +BYE ' "$bye")
ok_bye=$(line_of 'bob -> proxy +SIP/2.0 200 OK' "$bye_b")
ended=$(line_of 'alice +call ended: hangup' "$ok_bye")
# no 180 at all before ICE completed at bob
if awk -v stop="$done_b" 'NR < stop && /SIP\/2.0 180 /' "$FT_TMP/demo.out" | grep -q .; then
  ft_fail "a 180 was sent before ICE completed at bob"
fi
# the times in the first column never go back
awk '$2 == "ms" { if ($1 + 0 < last) { print "time goes back at line " NR ": " $0; bad = 1 } last = $1 + 0 }
     END { exit bad }' "$FT_TMP/demo.out" || ft_fail "the ladder's times are not in order"
ft_ok "REGISTER $reg, INVITE $inv, 183 $s183, PRACK $prack, nominated $nom, completed $done_b, 180 $r180, 200 $s200, ACK $ack, RTP $rtp_a/$rtp_b, BYE $bye, 200 $ok_bye, ended $ended"

ft_check "the result names both tones heard and a ring after ICE"
grep -q '^  440 Hz alice -> bob: *heard' "$FT_TMP/demo.out" || ft_fail "440 Hz not heard at bob"
grep -q '^  1000 Hz bob -> alice: *heard' "$FT_TMP/demo.out" || ft_fail "1000 Hz not heard at alice"
grep -q 'rang only after ICE' "$FT_TMP/demo.out" || ft_fail "no 'rang only after ICE' in the result"
ft_ok "both tones heard, rang only after ICE"

# ---- --json ----------------------------------------------------------------------------
ft_check "--json prints one JSON line with both tones true"
"$FLOE" demo --json >"$FT_TMP/demo.json" || ft_fail "floe demo --json exited $?: $(cat "$FT_TMP/demo.json")"
ft_expect_eq "$(wc -l <"$FT_TMP/demo.json" | tr -d ' ')" 1 "lines printed by --json"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["pass"]')" true "pass"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["tones"]["440_at_bob"]')" true "440 Hz at bob"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["tones"]["1000_at_alice"]')" true "1000 Hz at alice"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["ring_after_ice"]')" true "ring after ICE"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" '0 <= j["ms_ice_completed_at_bob"] <= j["ms_180_at_bob"]')" \
  true "bob's ICE completed no later than his 180"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["rtp"]["alice_to_bob"]["received"] >= 140 and j["rtp"]["bob_to_alice"]["received"] >= 140')" \
  true "3 s of RTP (150 packets) received each way without loss"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["end"]')" hangup "how the call ended at alice"
ft_expect_eq "$(ft_json "$FT_TMP/demo.json" 'j["end_bob"]')" bye "how the call ended at bob"

# ---- the same run twice is the same run -------------------------------------------------
ft_check "a run depends only on its options and seed"
"$FLOE" demo >"$FT_TMP/demo2.out" || ft_fail "the second run failed"
cmp -s "$FT_TMP/demo.out" "$FT_TMP/demo2.out" || ft_fail "two runs with seed 1 differ:
$(diff "$FT_TMP/demo.out" "$FT_TMP/demo2.out" | head -20)"
ft_ok "identical output"

# ---- loss -------------------------------------------------------------------------------
for seed in 1 2 3; do
  ft_check "10 % loss on the Internet, seed $seed"
  rc=0
  "$FLOE" demo --loss 10 --seed "$seed" --json >"$FT_TMP/loss$seed.json" || rc=$?
  [ "$rc" = 0 ] || ft_fail "floe demo --loss 10 --seed $seed exited $rc: $(cat "$FT_TMP/loss$seed.json")"
  ft_expect_eq "$(ft_json "$FT_TMP/loss$seed.json" 'j["tones"]["440_at_bob"] and j["tones"]["1000_at_alice"] and j["ring_after_ice"]')" \
    true "tones and ring after ICE at 10 % loss, seed $seed"
  ft_expect_eq "$(ft_json "$FT_TMP/loss$seed.json" 'j["rtp"]["alice_to_bob"]["lost"] + j["rtp"]["bob_to_alice"]["lost"] > 0')" \
    true "some RTP was lost at 10 % loss, seed $seed"
done

# ---- a call longer than the NATs' 30 s binding timeout ----------------------------------
ft_check "a 40 s call still ends with a BYE that reaches bob"
"$FLOE" demo --duration 40 --json >"$FT_TMP/long.json" || ft_fail "exited $?: $(cat "$FT_TMP/long.json")"
ft_expect_eq "$(ft_json "$FT_TMP/long.json" 'j["end_bob"]')" bye "how the long call ended at bob"
ft_expect_eq "$(ft_json "$FT_TMP/long.json" 'j["rtp"]["alice_to_bob"]["received"] >= 1990')" true \
  "40 s of RTP (2000 packets) received by bob"

# ---- no path: a clean failure without a ring --------------------------------------------
ft_check "--no-turn: a port-restricted NAT facing a symmetric one has no path"
rc=0
"$FLOE" demo --no-turn >"$FT_TMP/noturn.out" 2>&1 || rc=$?
ft_expect_eq "$rc" 1 "exit status without a path"
[ "$(tail -n 1 "$FT_TMP/noturn.out")" = FAIL ] || ft_fail "no FAIL: $(tail -n 12 "$FT_TMP/noturn.out")"
if grep -q 'SIP/2.0 180 ' "$FT_TMP/noturn.out"; then ft_fail "bob rang although ICE failed"; fi
grep -q 'ICE failed' "$FT_TMP/noturn.out" || ft_fail "no 'ICE failed' line"
grep -q 'call ended: ice-failed' "$FT_TMP/noturn.out" || ft_fail "the call did not end with ice-failed"
ft_ok "FAIL, no 180, ICE failed, call ended: ice-failed"

ft_check "--nat-a full-cone --nat-b symmetric --no-turn connects without a relay"
"$FLOE" demo --nat-a full-cone --nat-b symmetric --no-turn --json >"$FT_TMP/direct.json" ||
  ft_fail "exited $?: $(cat "$FT_TMP/direct.json")"
ft_expect_eq "$(ft_json "$FT_TMP/direct.json" 'j["pair"]["local"] != "relay" and j["pair"]["remote"] != "relay"')" \
  true "a direct pair"

# It failed with 480 until one base's peer-reflexive candidates were bounded (the chain of
# fresh apdm mappings filled the table before alice's mapping toward bob's relay came).
ft_check "--nat-a apdm/eif --nat-b apdm/eif with TURN connects through bob's relay"
"$FLOE" demo --nat-a apdm/eif --nat-b apdm/eif --json >"$FT_TMP/apdm_eif.json" ||
  ft_fail "exited $?: $(cat "$FT_TMP/apdm_eif.json")"
ft_expect_eq "$(ft_json "$FT_TMP/apdm_eif.json" 'j["pair"]["local"] == "relay" or j["pair"]["remote"] == "relay"')" \
  true "a relayed pair"

# ---- usage errors -----------------------------------------------------------------------
ft_check "bad options are usage errors (exit 2) with a clear message"
for args in "--bogus" "--nat-a moon" "--loss 80" "--loss x" "--seed -1" "--duration 0" "--nat-b"; do
  rc=0
  # shellcheck disable=SC2086
  "$FLOE" demo $args >"$FT_TMP/usage.out" 2>"$FT_TMP/usage.err" || rc=$?
  [ "$rc" = 2 ] || ft_fail "floe demo $args exited $rc, expected 2"
  grep -q "^floe demo: .*(see 'floe demo --help')" "$FT_TMP/usage.err" ||
    ft_fail "floe demo $args: no clear message: $(cat "$FT_TMP/usage.err")"
  [ ! -s "$FT_TMP/usage.out" ] || ft_fail "floe demo $args printed on stdout: $(head -3 "$FT_TMP/usage.out")"
done
ft_ok "exit 2 and one line on stderr each"
"$FLOE" demo --help >"$FT_TMP/help.out" || ft_fail "--help exited $?"
grep -q -- '--nat-a TYPE' "$FT_TMP/help.out" || ft_fail "--help does not describe --nat-a"
ft_ok "--help describes the options"

# ---- the capture ------------------------------------------------------------------------
if ! command -v tshark >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && ft_fail "tshark is missing (scripts/install-deps.sh installs it)"
  ft_say "tshark not found: the capture is not checked"
  exit 0
fi
ft_check "--pcap writes a capture that tshark reads without a malformed packet"
"$FLOE" demo --pcap "$FT_TMP/call.pcapng" >"$FT_TMP/pcap.out" || ft_fail "floe demo --pcap exited $?"
[ -s "$FT_TMP/call.pcapng" ] || ft_fail "no capture written"
ft_capture_expect_none call '_ws.malformed' "a malformed packet"
for m in REGISTER INVITE PRACK ACK BYE; do
  n=$(ft_capture_count call "sip.Method == \"$m\"")
  [ "$n" -ge 1 ] || ft_fail "no SIP $m in the capture"
done
n=$(ft_capture_count call "sip.Status-Code == 180")
[ "$n" -ge 2 ] || ft_fail "expected the 180 on bob's LAN and the Internet, found $n"
n=$(ft_capture_count call "stun.att.type == 0x0025") # USE-CANDIDATE: the nomination
[ "$n" -ge 1 ] || ft_fail "no nominating check (USE-CANDIDATE) in the capture"
n=$(ft_capture_count call "ip.src == 203.0.113.1 || ip.src == 198.51.100.1")
[ "$n" -ge 10 ] || ft_fail "no traffic leaving the NATs' public addresses ($n)"
ft_ok "SIP methods, 180, the ICE nomination and NAT-translated traffic in the capture"
