#!/usr/bin/env bash
# System: `floe call` (floe as the SIP caller, UAC) calls sipp on loopback; the scenarios
# are in tests/sipp/ and check each message floe sends (see their comments).
#
#   floe call gathers on both 127.0.0.1 and ::1 (when ::1 exists) and calls an IPv4
#   address, so its offer's default (c=/m=) must be IPv4: the family of where its INVITE
#   goes (the default-candidate bug these scripts found: it used to offer ::1).
#   4a. floe call (ICE offer, its default) -> a plain callee that uses 100rel
#       (tests/sipp/uas_reliable_183.xml): sipp checks the INVITE (Supported: 100rel,
#       PCMU+PCMA), answers without ICE in a reliable 183 (RSeq: 1), checks floe's PRACK
#       (RAck "1 <INVITE CSeq> INVITE"), sends 180 and 200, checks the ACK, plays a 600 Hz
#       tone, and answers floe's BYE (--duration 1.5). The INVITE's SDP has a=ice-ufrag,
#       a=ice-pwd and candidates, and c=IN IP4 127.0.0.1; floe falls back to its default
#       candidate: exit 0, JSON
#       ok, ice false, no nomination, no re-INVITE, 183 <= 180 <= 200, media both ways
#       (sipp's tone in floe's recording, floe's RTP to sipp's port in the capture);
#   4b. the same with floe call --no-ice: the INVITE has no ICE attribute at all;
#   5.  sipp answers 486 Busy Here, then 488 Not Acceptable Here
#       (tests/sipp/uas_reject.xml): floe ACKs on the INVITE's branch, sends nothing else
#       (no CANCEL, no BYE), exits 1 within a few seconds, prints the status on stderr,
#       and its JSON says ok false, state failed, status and reason 486 (488), no 180/200,
#       error "the call was rejected with status 486" (488);
#   c.  a capture on lo of the test's ports decodes as SIP (with SDP) and RTP, with no
#       malformed packet.
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/sipp.bash
. "$FLOE_SRC/tests/lib/sipp.bash"

sipp_setup
PORTS=()     # every port of the test, for the capture check
RTP_CHECKS=() # "floe-media-port sipp-media-port" of the answered calls

# add_floe_ports NAME: adds the SIP and media ports floe NAME printed to PORTS.
add_floe_ports() {
  local p
  while read -r p; do PORTS+=("$p"); done < <(
    sed -nE 's/.*(SIP on udp|media socket) .*:([0-9]+)( on .*)?$/\2/p' "$(ft_log_of "$1")"
  )
}

# invite_sdp NAME: the SDP of the INVITE sipp NAME received (from its message log),
# without the CRs.
invite_sdp() {
  awk '{ sub(/\r$/, "") }
       /^INVITE sip:/ { inv = 1; body = 0; next }
       inv && /^\r?$/ { body = 1; next }
       inv && body && /^(SIP\/2.0|[A-Z]+ sip:)/ { exit }
       inv && body && /^-+ / { exit }
       inv && body { print }' "$FT_TMP/$1.msg"
}

# answered_call CASE FLOE-ARGS...: cases 4a and 4b.
answered_call() {
  local c=$1 sp mp j
  shift
  read -r sp mp _ _ <<<"$(ft_free_ports 4 127.0.0.1)"
  PORTS+=("$sp" "$mp")
  sipp_start "sipp-$c" "$SIPP_SCENARIOS/uas_reliable_183.xml" 30 -i 127.0.0.1 -p "$sp" \
    -mi 127.0.0.1 -mp "$mp"
  ft_wait_listen udp 127.0.0.1 "$sp" "$(ft_pid "sipp-$c")"
  ft_start_split "call-$c" "$FT_TMP/call-$c.json" "$FLOE" call --loopback --json --timeout 15 \
    --duration 1.5 --record "$FT_TMP/call-$c.wav" "$@" "sip:bob@127.0.0.1:$sp"
  ft_wait_exit "call-$c" 30
  local rc=$FT_EXIT_STATUS
  sipp_wait_ok "sipp-$c" 10
  ft_ok "sipp: INVITE, reliable 183, PRACK with the right RAck, 180, 200, ACK, BYE: every check held"
  [ "$rc" = 0 ] || ft_fail "floe call exited $rc: $(cat "$FT_TMP/call-$c.json")"
  ft_ok "floe call exited 0"
  add_floe_ports "call-$c"
  j=$FT_TMP/call-$c.json
  cat "$j"
  ft_expect_eq "$(ft_json "$j" '[j["ok"], j["role"], j["reason"], j["ice"], j["reinvite_sent"], j["selected"]]')" \
    "[True, 'caller', 'hangup', False, False, None]" "ok, role, reason, ice, reinvite_sent, selected"
  ft_expect_eq "$(ft_json "$j" 'None not in (j["timeline"]["183"], j["timeline"]["180"], j["timeline"]["200"]) and j["timeline"]["183"] <= j["timeline"]["180"] <= j["timeline"]["200"] and j["timeline"]["nominated"] is None')" true \
    "timeline: 183 <= 180 <= 200, no nomination"
  ft_expect_eq "$(ft_json "$j" 'j["packets_sent"] >= 40 and j["packets_received"] >= 40 and j["send_dropped"] == 0')" true \
    "packets both ways (>= 40), none dropped"
  [ "$(sipp_count "sipp-$c" '^PRACK sip:')" = 1 ] || ft_fail "sipp did not get exactly one PRACK"
  [ "$(sipp_count "sipp-$c" '^BYE sip:')" = 1 ] || ft_fail "sipp did not get exactly one BYE"
  ft_ok "one PRACK, one BYE"
  python3 "$TONE" check "$FT_TMP/call-$c.wav" --expect 600 ||
    ft_fail "floe call's recording does not hold sipp's 600 Hz tone"
  ft_ok "floe heard sipp's 600 Hz tone"
  # floe's default candidate: the m= port of its offer, where its RTP must come from
  local def
  def=$(invite_sdp "sipp-$c" | sed -nE 's/^m=audio ([0-9]+) .*/\1/p' | head -1)
  [ -n "$def" ] || ft_fail "no m= line in the INVITE sipp received"
  RTP_CHECKS+=("$def $mp")
  # the default is of the callee's family (IPv4), and a socket floe printed
  local c_line
  c_line=$(invite_sdp "sipp-$c" | sed -nE 's/^(c=IN IP[46] [^ ]+)\s*$/\1/p' | head -1)
  ft_expect_eq "$c_line" "c=IN IP4 127.0.0.1" "the offer's default address (c=)"
  grep -qF "media socket 127.0.0.1:$def on" "$(ft_log_of "call-$c")" ||
    ft_fail "the offer's m= port $def is not floe's 127.0.0.1 media socket"
  ft_ok "the offer's m= port $def is floe's 127.0.0.1 media socket"
}

# ---- 4a. ICE offer, plain answer in a reliable 183 ------------------------------------------
ft_check "4a. floe call (ICE offer) -> sipp: plain answer in a reliable 183"
answered_call 4a
sdp=$(invite_sdp sipp-4a)
for a in "a=ice-ufrag:" "a=ice-pwd:" "a=candidate:" "a=end-of-candidates"; do
  grep -q "^$a" <<<"$sdp" || ft_fail "the INVITE's offer has no $a: $sdp"
done
ft_ok "the INVITE's offer carries ICE: ice-ufrag, ice-pwd, candidates, end-of-candidates"

# ---- 4b. plain offer (--no-ice) ---------------------------------------------------------------
ft_check "4b. floe call --no-ice -> sipp: plain answer in a reliable 183"
answered_call 4b --no-ice
sdp=$(invite_sdp sipp-4b)
grep -q '^m=audio ' <<<"$sdp" || ft_fail "could not read the INVITE's offer: $sdp"
if grep -qE '^a=(ice-|candidate:|end-of-candidates|remote-candidates)' <<<"$sdp"; then
  ft_fail "floe call --no-ice offered ICE attributes: $sdp"
fi
ft_ok "the --no-ice offer has no ICE attribute"

# ---- 5. rejected: 486, 488 --------------------------------------------------------------------
for code in 486 488; do
  ft_check "5. floe call -> sipp answering $code"
  case $code in
  486) scenario=$SIPP_SCENARIOS/uas_reject.xml ;;
  488)
    scenario=$FT_TMP/uas_reject_488.xml
    sed 's|^\( *\)SIP/2.0 486 Busy Here *$|\1SIP/2.0 488 Not Acceptable Here|' \
      "$SIPP_SCENARIOS/uas_reject.xml" >"$scenario"
    grep -q '^ *SIP/2.0 488 Not Acceptable Here$' "$scenario" || ft_fail "could not derive the 488 scenario"
    ;;
  esac
  read -r SP _ <<<"$(ft_free_ports 2 127.0.0.1)"
  PORTS+=("$SP")
  sipp_start "sipp-$code" "$scenario" 20 -i 127.0.0.1 -p "$SP"
  ft_wait_listen udp 127.0.0.1 "$SP" "$(ft_pid "sipp-$code")"
  t0=$(date +%s%N)
  ft_start_split "call-$code" "$FT_TMP/call-$code.json" "$FLOE" call --loopback --json \
    --timeout 15 "sip:bob@127.0.0.1:$SP"
  ft_wait_exit "call-$code" 20
  rc=$FT_EXIT_STATUS
  ms=$((($(date +%s%N) - t0) / 1000000))
  sipp_wait_ok "sipp-$code" 10
  ft_ok "sipp: $code sent, ACK on the INVITE's branch, nothing after it"
  [ "$rc" = 1 ] || ft_fail "floe call exited $rc after a $code, expected 1"
  [ "$ms" -lt 5000 ] || ft_fail "floe call took $ms ms to give up after a $code"
  ft_ok "floe call exited 1 after $ms ms"
  add_floe_ports "call-$code"
  j=$FT_TMP/call-$code.json
  cat "$j"
  ft_expect_eq "$(ft_json "$j" '[j["ok"], j["state"], j["status"], j["reason"], j["timeline"]["180"], j["timeline"]["200"], j["packets_sent"]]')" \
    "[False, 'failed', $code, '$code', None, None, 0]" "ok, state, status, reason, 180, 200, packets_sent"
  ft_expect_eq "$(ft_json "$j" 'j.get("error")')" "the call was rejected with status $code" "the JSON error"
  grep -q "status $code" "$(ft_log_of "call-$code")" ||
    ft_fail "floe call's stderr does not name status $code: $(tail -5 "$(ft_log_of "call-$code")")"
  ft_ok "floe call's stderr names status $code"
  for m in CANCEL BYE PRACK; do
    [ "$(sipp_count "sipp-$code" "^$m sip:")" = 0 ] || ft_fail "floe sent a $m after the $code"
  done
  ft_ok "no CANCEL, BYE or PRACK after the $code"
done

# ---- c. the capture ---------------------------------------------------------------------------
if [ "$CAPTURE" = 1 ]; then
  sipp_capture_stop
  n_inv=$(ft_capture_count cap "$OURS && sip.Method == \"INVITE\" && sdp")
  [ "$n_inv" -ge 4 ] || ft_fail "capture: $n_inv INVITEs with SDP, expected at least 4"
  n_prack=$(ft_capture_count cap "$OURS && sip.Method == \"PRACK\" && sip.RAck")
  [ "$n_prack" -ge 2 ] || ft_fail "capture: $n_prack PRACKs with RAck, expected at least 2"
  for pair in "${RTP_CHECKS[@]}"; do
    read -r from to <<<"$pair"
    n=$(ft_capture_count cap "rtp.version == 2 && udp.srcport == $from && udp.dstport == $to")
    [ "$n" -ge 40 ] || ft_fail "capture: only $n RTP packets from floe's default candidate port $from to sipp's $to"
    ft_ok "capture: $n RTP packets from floe's default candidate (port $from) to sipp (port $to)"
  done
  ft_ok "capture: $n_inv INVITEs with SDP, $n_prack PRACKs"
  ft_capture_expect_none cap "$OURS && _ws.malformed" "a malformed packet"
  ft_capture_expect_none cap "$OURS && !sip && !stun && !rtp && !rtcp" "UDP that is neither SIP, STUN nor RTP/RTCP"
fi
ft_ok "sipp_uac passed"
