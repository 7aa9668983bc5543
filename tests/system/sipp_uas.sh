#!/usr/bin/env bash
# System: sipp calls `floe answer` (floe as the SIP callee, UAS) on loopback; the
# scenarios are in tests/sipp/ and check each message floe sends (see their comments).
#
#   floe answer gathers on both 127.0.0.1 and ::1 (when ::1 exists), so the plain cases
#   also check that its answer takes the family of the offer (the default-candidate bug
#   these scripts found: a plain IPv4 peer used to get c=IN IP6 ::1).
#   1. a plain RFC 3264 offer (no ICE) with Supported: 100rel (tests/sipp/uac_plain.xml):
#      180 at once, unreliable (no RSeq, no Require: 100rel), then 200 with an answer that
#      has no ICE attribute, whose c=/m= name floe's media socket of the offer's family
#      (IPv4); ACK; sipp plays a 600 Hz PCMU tone for 1.5 s while floe sends its own;
#      BYE -> 200. floe answer exits 0 (answered, media both ways, nothing dropped), its
#      JSON timeline has 180 and 200 but no 183 and no nomination, and its recording
#      holds the 600 Hz tone;
#   1v6. the same with sipp's media on ::1 (SIP still over 127.0.0.1): an IPv6 answer;
#   2. the same offer without Supported: 100rel (the scenario with that line deleted):
#      the same answers and results;
#   3. an ICE offer whose only candidate never answers a check, with Supported: 100rel
#      (tests/sipp/uac_ice_nopath.xml): a reliable 183 with the ICE answer (RSeq, Require:
#      100rel); a PRACK with a wrong RAck gets 481, the right one 200; then, after floe's
#      ICE checks time out, 480 and never a 180 (the ring-after-ICE rule); floe answer
#      exits 1 with status 480, reason ice-failed, no 180 or 200 in its timeline;
#   6. a plain offer cancelled while floe rings (tests/sipp/uac_cancel.xml; floe answers
#      only after 5 s): 200 to the CANCEL, 487 to the INVITE (never a 200), ACK; floe
#      answer exits 1 with status 487, reason cancelled, 180 but no 200 in its timeline;
#   R. a plain offer with Require: 100rel (tests/sipp/uac_plain_require100rel.xml) gets a
#      reliable 180 (RFC 3262 section 3: RSeq, Require: 100rel) that sipp PRACKs, then the
#      200; floe answer exits 0;
#   c. a capture on lo of the test's ports decodes as SIP (with SDP), RTP and STUN, with
#      no malformed packet.
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/sipp.bash
. "$FLOE_SRC/tests/lib/sipp.bash"

sipp_setup
PORTS=() # every port of the test, for the capture check

# answer_start NAME SIP-PORT ARGS...: floe answer for one call, JSON in NAME.json.
answer_start() {
  local name=$1 port=$2
  shift 2
  ft_start_split "$name" "$FT_TMP/$name.json" "$FLOE" answer --listen "127.0.0.1:$port" \
    --loopback --once --json --timeout 45 "$@"
  ft_wait_listen udp 127.0.0.1 "$port" "$(ft_pid "$name")"
}

# media_ports NAME: the media ports floe NAME printed.
media_ports() {
  sed -nE 's/.*media socket .*:([0-9]+) on .*/\1/p' "$(ft_log_of "$1")"
}

# add_media_ports NAME: adds them to PORTS.
add_media_ports() {
  local p
  while read -r p; do PORTS+=("$p"); done < <(media_ports "$1")
}

# plain_call CASE SCENARIO MEDIA-IP: cases 1, 1v6 and 2; sipp's RTP on MEDIA-IP (the
# offer's c=). The ports are checked free on 127.0.0.1 only (ft_free_ports is IPv4).
plain_call() {
  local c=$1 scenario=$2 mip=$3 fl sp mp j media fam want port
  read -r fl sp mp _ _ <<<"$(ft_free_ports 5 127.0.0.1)"
  PORTS+=("$fl" "$sp" "$mp" $((mp + 2)))
  answer_start "answer-$c" "$fl" --record "$FT_TMP/answer-$c.wav" --tone 1000
  sipp_start "sipp-$c" "$scenario" 30 "127.0.0.1:$fl" -s bob -i 127.0.0.1 -p "$sp" \
    -mi "$mip" -mp "$mp"
  sipp_wait_ok "sipp-$c" 35
  ft_ok "sipp: 180 unreliable, 200 with a plain answer, ACK, BYE 200: every check of the scenario held"
  ft_wait_exit "answer-$c" 10
  [ "$FT_EXIT_STATUS" = 0 ] ||
    ft_fail "floe answer exited $FT_EXIT_STATUS: $(cat "$FT_TMP/answer-$c.json")"
  ft_ok "floe answer exited 0"
  add_media_ports "answer-$c"
  j=$FT_TMP/answer-$c.json
  cat "$j"
  ft_expect_eq "$(ft_json "$j" 'j["ok"] and j["role"] == "callee" and j["reason"] == "bye"')" true "ok, callee, ended by the BYE"
  ft_expect_eq "$(ft_json "$j" 'j["ice"]')" false "ice"
  ft_expect_eq "$(ft_json "$j" 'j["timeline"]["183"] is None and j["timeline"]["nominated"] is None')" true \
    "no 183 and no nomination in the timeline"
  ft_expect_eq "$(ft_json "$j" 'None not in (j["timeline"]["180"], j["timeline"]["200"], j["timeline"]["first_rtp_received"]) and j["timeline"]["180"] <= j["timeline"]["200"]')" true \
    "180 <= 200, RTP received"
  ft_expect_eq "$(ft_json "$j" 'j["packets_received"] >= 40 and j["packets_sent"] >= 40 and j["send_dropped"] == 0')" true \
    "packets both ways (>= 40), none dropped"
  [ "$(sipp_count "sipp-$c" '^SIP/2.0 180 ')" = 1 ] || ft_fail "sipp did not get exactly one 180"
  [ "$(sipp_count "sipp-$c" '^SIP/2.0 183 ')" = 0 ] || ft_fail "sipp got a 183"
  ft_ok "one 180, no 183"
  # The answer's c=/m= (logged by the scenario) must be floe's media socket of the
  # offer's family.
  read -r fam media <<<"$(sed -nE 's/^answer-media (4|6) ([0-9a-fA-F.:]+) ([0-9]+) ([0-9]+)$/\1 \2 \3/p' "$FT_TMP/sipp-$c.logs")"
  [ -n "$fam" ] || ft_fail "the scenario logged no answer-media line"
  case $mip in *:*) want=6 ;; *) want=4 ;; esac
  ft_expect_eq "IP$fam" "IP$want" "the answer's c= family (the offer's)"
  read -r media port <<<"$media"
  if [ "$fam" = 6 ]; then media="[$media]:$port"; else media="$media:$port"; fi
  grep -qF "media socket $media on" "$(ft_log_of "answer-$c")" ||
    ft_fail "the answer's c=/m= $media is none of floe's media sockets: $(grep 'media socket' "$(ft_log_of "answer-$c")")"
  ft_ok "the answer's c=/m= $media is floe's media socket"
  python3 "$TONE" check "$FT_TMP/answer-$c.wav" --expect 600 ||
    ft_fail "floe answer's recording does not hold sipp's 600 Hz tone"
  ft_ok "floe heard sipp's 600 Hz tone"
}

# ---- 1. plain offer, 100rel supported ------------------------------------------------------
ft_check "1. sipp -> floe answer: plain offer with Supported: 100rel"
plain_call 1 "$SIPP_SCENARIOS/uac_plain.xml" 127.0.0.1

if ft_have_ipv6_loopback; then
  ft_check "1v6. the same with the offer's media on ::1"
  plain_call 1v6 "$SIPP_SCENARIOS/uac_plain.xml" ::1
else
  ft_say "1v6 not run: this host has no ::1"
fi

# ---- 2. plain offer without 100rel -----------------------------------------------------------
ft_check "2. sipp -> floe answer: plain offer without 100rel"
sed '/^ *Supported: 100rel *$/d' "$SIPP_SCENARIOS/uac_plain.xml" >"$FT_TMP/uac_plain_no100rel.xml"
if [ "$(grep -c '^ *Supported: 100rel *$' "$SIPP_SCENARIOS/uac_plain.xml")" != 1 ] ||
  [ "$(grep -c '^ *Supported:' "$FT_TMP/uac_plain_no100rel.xml")" != 0 ]; then
  ft_fail "could not derive the scenario without 100rel"
fi
plain_call 2 "$FT_TMP/uac_plain_no100rel.xml" 127.0.0.1
[ "$(sipp_count sipp-2 '100rel')" = 0 ] || ft_fail "100rel appears in the messages of case 2"
ft_ok "no 100rel anywhere in case 2"

# ---- 3. ICE offer, no path: 183, PRACK, 480, no 180 -------------------------------------------
ft_check "3. sipp -> floe answer: ICE offer whose candidate never answers"
read -r FL SP MP _ _ DEAD <<<"$(ft_free_ports 6 127.0.0.1)"
PORTS+=("$FL" "$SP" "$DEAD")
answer_start answer-3 "$FL"
t0=$(date +%s)
sipp_start sipp-3 "$SIPP_SCENARIOS/uac_ice_nopath.xml" 45 "127.0.0.1:$FL" -s bob -i 127.0.0.1 \
  -p "$SP" -mi 127.0.0.1 -mp "$MP" -key dead_port "$DEAD"
sipp_wait_ok sipp-3 50
ft_ok "sipp: reliable 183 with ICE, 481 to a wrong PRACK, 200 to the right one, 480, no 180 ($(($(date +%s) - t0)) s)"
ft_wait_exit answer-3 10
[ "$FT_EXIT_STATUS" = 1 ] || ft_fail "floe answer exited $FT_EXIT_STATUS, expected 1 (no call)"
add_media_ports answer-3
J=$FT_TMP/answer-3.json
cat "$J"
ft_expect_eq "$(ft_json "$J" '[j["ok"], j["status"], j["reason"]]')" "[False, 480, 'ice-failed']" "ok, status, reason"
ft_expect_eq "$(ft_json "$J" 'j["timeline"]["183"] is not None and all(j["timeline"][k] is None for k in ("nominated", "180", "200", "first_rtp_sent", "first_rtp_received"))')" true \
  "timeline: 183, then no nomination, 180, 200 or RTP"
[ "$(sipp_count sipp-3 '^SIP/2.0 180 ')" = 0 ] || ft_fail "a 180 reached sipp"
[ "$(sipp_count sipp-3 '^SIP/2.0 480 ')" -ge 1 ] || ft_fail "no 480 in sipp's messages"
grep -q "ICE failed" "$(ft_log_of answer-3)" || ft_fail "floe answer did not report the ICE failure"
ft_ok "floe answer: ICE failed, 480, never rang"

# ---- 6. CANCEL while ringing ------------------------------------------------------------------
ft_check "6. sipp -> floe answer: plain offer, CANCEL while it rings"
read -r FL SP MP _ _ <<<"$(ft_free_ports 5 127.0.0.1)"
PORTS+=("$FL" "$SP" "$MP")
answer_start answer-6 "$FL" --answer-after 5
sipp_start sipp-6 "$SIPP_SCENARIOS/uac_cancel.xml" 20 "127.0.0.1:$FL" -s bob -i 127.0.0.1 \
  -p "$SP" -mi 127.0.0.1 -mp "$MP"
sipp_wait_ok sipp-6 25
ft_ok "sipp: 180, CANCEL -> 200, 487, ACK, no 200 to the INVITE"
ft_wait_exit answer-6 10
[ "$FT_EXIT_STATUS" = 1 ] || ft_fail "floe answer exited $FT_EXIT_STATUS, expected 1 (no call)"
add_media_ports answer-6
J=$FT_TMP/answer-6.json
cat "$J"
ft_expect_eq "$(ft_json "$J" '[j["ok"], j["status"], j["reason"], j["timeline"]["180"] is not None, j["timeline"]["200"], j["packets_sent"]]')" \
  "[False, 487, 'cancelled', True, None, 0]" "ok, status, reason, rang, 200, packets_sent"

# ---- R. Require: 100rel: the 180 is reliable -------------------------------------------------
ft_check "R. plain offer with Require: 100rel: a reliable 180 (RSeq, Require: 100rel), PRACKed"
read -r FL SP MP _ _ <<<"$(ft_free_ports 5 127.0.0.1)"
PORTS+=("$FL" "$SP" "$MP")
answer_start answer-r "$FL" --answer-after 1
sipp_start sipp-r "$SIPP_SCENARIOS/uac_plain_require100rel.xml" 30 "127.0.0.1:$FL" -s bob \
  -i 127.0.0.1 -p "$SP" -mi 127.0.0.1 -mp "$MP"
ft_wait_exit sipp-r 35
add_media_ports answer-r
[ "$FT_EXIT_STATUS" = 0 ] || ft_fail "case R: sipp exited $FT_EXIT_STATUS: $(cat "$FT_TMP/sipp-r.err" 2>/dev/null)"
grep -q "Require: 100rel" "$FT_TMP/sipp-r.msg" || ft_fail "case R: the INVITE did not require 100rel"
[ "$(sipp_count sipp-r '^RSeq:')" -ge 1 ] || ft_fail "case R: no RSeq in sipp's messages"
ft_wait_exit answer-r 15
ft_expect_eq "$FT_EXIT_STATUS" 0 "case R: floe answer exit status"
ft_ok "Require: 100rel: the 180 was reliable and PRACKed, the call went through"

# ---- c. the capture ---------------------------------------------------------------------------
if [ "$CAPTURE" = 1 ]; then
  sipp_capture_stop
  n_inv=$(ft_capture_count cap "$OURS && sip.Method == \"INVITE\" && sdp")
  [ "$n_inv" -ge 4 ] || ft_fail "capture: $n_inv INVITEs with SDP, expected at least 4"
  n_183=$(ft_capture_count cap "$OURS && sip.Status-Code == 183 && sip.RSeq && sdp.media_attr contains \"candidate\"")
  [ "$n_183" -ge 1 ] || ft_fail "capture: no reliable 183 with candidates"
  n_stun=$(ft_capture_count cap "$OURS && stun.type == 0x0001 && udp.dstport == $DEAD")
  [ "$n_stun" -ge 3 ] || ft_fail "capture: only $n_stun checks to the dead candidate (case 3)"
  n_rtp=$(ft_capture_count cap "$OURS && rtp.version == 2 && rtp.p_type == 0")
  [ "$n_rtp" -ge 200 ] || ft_fail "capture: only $n_rtp PCMU packets"
  ft_ok "capture: $n_inv INVITEs with SDP, $n_183 reliable 183 with candidates, $n_stun checks to the dead candidate, $n_rtp PCMU packets"
  ft_capture_expect_none cap "$OURS && _ws.malformed" "a malformed packet"
  ft_capture_expect_none cap "$OURS && !sip && !stun && !rtp && !rtcp" "UDP that is neither SIP, STUN nor RTP/RTCP"
fi
ft_ok "sipp_uas passed"
