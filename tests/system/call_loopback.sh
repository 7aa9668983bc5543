#!/usr/bin/env bash
# System: a SIP call with ICE between `floe call` and `floe answer` on loopback.
#
#   a. floe answer --once (tone 1000 Hz, records b.wav) and floe call (tone 440 Hz, records
#      a.wav, --duration 2 --json): both exit 0; the caller's JSON timeline has
#      183 < nominated <= 180 < 200 (ring only after ICE), the call used ICE with a selected
#      pair, packets went both ways; 440 Hz is found in b.wav and 1000 Hz in a.wav (and not
#      the other way round);
#   b. a capture on lo of the SIP port and the media ports decodes SIP with SDP, STUN and
#      RTP, with no malformed packet;
#   c. usage errors exit 2 with a message naming the problem; a call to a port where
#      nobody answers fails with exit 1 and ok false;
#   d. the same call over IPv6 (SIP and media on ::1, the domain bracketed);
#   e. an ICE restart by the caller in the call (--ice-restart): both sides complete ICE
#      again, media keeps flowing;
#   f. a call with SIP over TCP (--transport tcp).
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss
ft_need_file "$FLOE" "the floe binary"
TONE="$FLOE_SRC/tests/lib/tone_check.py"

read -r SIP NOBODY <<<"$(ft_free_ports 2 127.0.0.1)"
ft_say "floe answer on 127.0.0.1:$SIP"

# ---- c. usage errors ------------------------------------------------------------------

ft_check "usage errors exit 2 with a message"
ft_expect_usage "missing the address" call
ft_expect_usage "bad address" call bob@127.0.0.1
ft_expect_usage "must be an IP address" call sip:bob@example.net
ft_expect_usage "unknown option" call --nope sip:bob@127.0.0.1
ft_expect_usage "bad --duration" call --duration -1 sip:bob@127.0.0.1
ft_expect_usage "bad --tone" call --tone abc sip:bob@127.0.0.1
ft_expect_usage "exclude each other" call --play x.wav --tone 300 sip:bob@127.0.0.1
ft_expect_usage "--register needs --proxy" call --register sip:bob@127.0.0.1
ft_expect_usage "bad --listen" answer --listen 127.0.0.1
ft_expect_usage "bad --register" answer --register bob@127.0.0.1
ft_expect_usage "unexpected argument" answer sip:bob@127.0.0.1
"$FLOE" call --help | grep -q "usage: floe call" || ft_fail "floe call --help"
"$FLOE" answer --help | grep -q "usage: floe answer" || ft_fail "floe answer --help"

# ---- a and b. the call ------------------------------------------------------------------

CAPTURE=0
if command -v dumpcap >/dev/null && command -v tshark >/dev/null && dumpcap -D 2>/dev/null | grep -qw lo; then
  CAPTURE=1
  # Everything on lo except the ports of other programs is the call's: SIP on $SIP and
  # the ephemeral media and SIP ports of both sides (the caller's ports are not known in
  # advance), so capture UDP on loopback addresses and filter by host.
  ft_capture_start cap "udp and (host 127.0.0.1 or host ::1)"
else
  ft_say "no capture on lo (dumpcap missing or not allowed): part b skipped"
fi

ft_start answer "$FLOE" answer --listen "127.0.0.1:$SIP" --loopback --once --answer-after 0.2 \
  --record "$FT_TMP/b.wav" --tone 1000 --json --timeout 60
ft_wait_listen udp 127.0.0.1 "$SIP" "$(ft_pid answer)"
ft_start_split call "$FT_TMP/call.json" "$FLOE" call --loopback --tone 440 \
  --record "$FT_TMP/a.wav" --duration 2 --json "sip:bob@127.0.0.1:$SIP"
ft_wait_exit call 30
CALL_RC=$FT_EXIT_STATUS
ft_wait_exit answer 15
ANSWER_RC=$FT_EXIT_STATUS
[ "$CALL_RC" = 0 ] || ft_fail "floe call exited $CALL_RC: $(cat "$(ft_log_of call)") $(cat "$FT_TMP/call.json")"
[ "$ANSWER_RC" = 0 ] || ft_fail "floe answer exited $ANSWER_RC: $(tail -20 "$(ft_log_of answer)")"
ft_ok "both exited 0"
sed -n 's/^floe call: /  call: /p' "$(ft_log_of call)"
cat "$FT_TMP/call.json"

J=$FT_TMP/call.json
ft_expect_eq "$(ft_json "$J" 'j["ok"]')" true "caller ok"
ft_expect_eq "$(ft_json "$J" 'j["ice"]')" true "the call used ICE"
ft_expect_eq "$(ft_json "$J" 'j["selected"]["local"]["type"]')" host "selected local type"
t=$(ft_json "$J" 'all(j["timeline"][k] is not None for k in ("183","nominated","180","200","first_rtp_sent","first_rtp_received"))')
ft_expect_eq "$t" true "every step of the timeline happened"
ft_expect_eq "$(ft_json "$J" 'j["timeline"]["183"] < j["timeline"]["180"] < j["timeline"]["200"] and j["timeline"]["183"] < j["timeline"]["nominated"] <= j["timeline"]["200"]')" true \
  "caller: 183 < 180 < 200, 183 < nominated <= 200"
ft_expect_eq "$(ft_json "$J" 'j["packets_sent"] > 50 and j["packets_received"] > 50')" true "packets both ways"
grep -v '^floe' "$(ft_log_of answer)" >"$FT_TMP/answer.json"
ft_expect_eq "$(ft_json "$FT_TMP/answer.json" 'j["ok"] and j["role"] == "callee"')" true "callee ok"
# The ring-after-ICE rule is the callee's: it rings once its ICE completed. (The caller
# completes when the success response to its nominating check arrives, which may be read a
# moment after the 180 the callee sent as soon as that check came in.)
ft_expect_eq "$(ft_json "$FT_TMP/answer.json" 'j["timeline"]["183"] < j["timeline"]["nominated"] <= j["timeline"]["180"] < j["timeline"]["200"]')" true \
  "callee: 183 < nominated <= 180 < 200 (ringing only after ICE)"
for step in "offer sent" "183" "checks started" "nominated" "ringing" "answered" "first RTP sent" "first RTP received" "hang-up"; do
  grep -q "$step" "$(ft_log_of call)" || ft_fail "no progress line with '$step' from floe call"
done
ft_ok "progress lines: offer, 183, checks, nominated, ringing, answered, media, hang-up"

ft_check "tones: 440 Hz in b.wav (what the callee heard), 1000 Hz in a.wav"
python3 "$TONE" check "$FT_TMP/b.wav" --expect 440 || ft_fail "no 440 Hz tone in b.wav"
python3 "$TONE" check "$FT_TMP/a.wav" --expect 1000 || ft_fail "no 1000 Hz tone in a.wav"
if python3 "$TONE" check "$FT_TMP/a.wav" --expect 440 >/dev/null; then
  ft_fail "tone_check finds 440 Hz in a.wav too: the check cannot tell the tones apart"
fi
ft_ok "both tones arrived"

if [ "$CAPTURE" = 1 ]; then
  ft_capture_stop cap
  FT_DECODE=(--enable-heuristic rtp_udp --enable-heuristic stun_udp)
  # Only the call's own ports count (other tests may use loopback at the same time): the
  # SIP and media sockets both sides printed.
  ports=$(cat "$(ft_log_of call)" "$(ft_log_of answer)" |
    sed -nE 's/.*(SIP on udp|media socket) .*:([0-9]+)( on .*)?$/\2/p' | sort -u | paste -sd, -)
  [ -n "$ports" ] || ft_fail "no SIP or media port in the logs"
  OURS="udp.port in {$ports}"
  ft_say "the call's ports: $ports"
  n_sip=$(ft_capture_count cap "$OURS && sip.Method == \"INVITE\" && sdp")
  [ "$n_sip" -ge 1 ] || ft_fail "capture: no INVITE with SDP"
  n_183=$(ft_capture_count cap "$OURS && sip.Status-Code == 183 && sdp.media_attr contains \"candidate\"")
  [ "$n_183" -ge 1 ] || ft_fail "capture: no 183 with ICE candidates in its SDP"
  n_stun=$(ft_capture_count cap "$OURS && stun.type == 0x0001 && stun.att.type == 0x0025")
  [ "$n_stun" -ge 1 ] || ft_fail "capture: no STUN check with USE-CANDIDATE"
  n_rtp=$(ft_capture_count cap "$OURS && rtp.version == 2 && (rtp.p_type == 0 || rtp.p_type == 8)")
  [ "$n_rtp" -ge 150 ] || ft_fail "capture: only $n_rtp RTP packets (PCMU/PCMA)"
  ft_ok "capture: $n_sip INVITE with SDP, $n_183 183 with candidates, $n_stun nominating checks, $n_rtp RTP"
  ft_capture_expect_none cap "$OURS && _ws.malformed" "a malformed packet"
  ft_capture_expect_none cap "$OURS && !sip && !stun && !rtp && !rtcp" "UDP that is neither SIP, STUN nor RTP"
fi

# ---- d. the same over IPv6 ------------------------------------------------------------------
ft_check "an IPv6 call: floe answer on [::1], floe call sip:bob@[::1]:PORT"
read -r SIP6 <<<"$(ft_free_ports 1 ::1)"
ft_start answer6 "$FLOE" answer --listen "[::1]:$SIP6" --loopback --ipv6 --once --tone 1000 \
  --json --timeout 20
ft_wait_log answer6 "waiting for calls" 10
rc=0
"$FLOE" call --loopback --ipv6 --tone 440 --duration 1 --timeout 15 --json "sip:bob@[::1]:$SIP6" \
  >"$FT_TMP/call6.json" 2>"$FT_TMP/call6.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "floe call over IPv6 exited $rc: $(tail -20 "$FT_TMP/call6.err")"
ft_wait_exit answer6 15
ft_expect_eq "$FT_EXIT_STATUS" 0 "floe answer over IPv6: exit status"
ft_expect_eq "$(ft_json "$FT_TMP/call6.json" '[j["ok"], j["ice"], j["selected"]["remote"]["addr"].startswith("[::1]:")]')" \
  "[True, True, True]" "IPv6 call: ok, ICE, pair on ::1"
grep -q "From: <sip:floe@\[::1\]>\|waiting for calls as floe@\[::1\]" "$(ft_log_of answer6)" ||
  ft_fail "floe answer does not name its IPv6 domain in brackets: $(head -5 "$(ft_log_of answer6)")"

# ---- e. ICE restart --------------------------------------------------------------------------
ft_check "floe call --ice-restart 1: re-INVITE with new credentials, ICE completes again on both sides"
read -r SIPR <<<"$(ft_free_ports 1 127.0.0.1)"
ft_start answerr "$FLOE" answer --listen "127.0.0.1:$SIPR" --loopback --ipv4 --once --json --timeout 20
ft_wait_log answerr "waiting for calls" 10
rc=0
"$FLOE" call --loopback --ipv4 --duration 3 --ice-restart 1 --timeout 15 --json \
  "sip:bob@127.0.0.1:$SIPR" >"$FT_TMP/callr.json" 2>"$FT_TMP/callr.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "floe call --ice-restart exited $rc: $(tail -20 "$FT_TMP/callr.err")"
ft_wait_exit answerr 15
ft_expect_eq "$FT_EXIT_STATUS" 0 "floe answer (restarted call): exit status"
for f in "$FT_TMP/callr.err" "$(ft_log_of answerr)"; do
  ft_expect_eq "$(grep -c 'ICE restart: new credentials' "$f")" 1 "$(basename "$f"): restarts"
  ft_expect_eq "$(grep -c 'ICE completed' "$f")" 2 "$(basename "$f"): ICE completions"
done
grep -q -- "-> INVITE .*(re-INVITE)" "$FT_TMP/callr.err" || ft_fail "no re-INVITE in the caller's log"
# 3 s of 20 ms packets; the restart must not cost more than a few
ft_expect_eq "$(ft_json "$FT_TMP/callr.json" '[j["ok"], j["packets_received"] >= 140]')" "[True, True]" \
  "restarted call: ok, media kept flowing"

# ---- f. SIP over TCP -------------------------------------------------------------------------
ft_check "floe call --transport tcp: the whole dialog over TCP, audio both ways"
read -r SIPT <<<"$(ft_free_ports 1 127.0.0.1)"
ft_start answert "$FLOE" answer --listen "127.0.0.1:$SIPT" --loopback --ipv4 --once --json --timeout 20
ft_wait_log answert "waiting for calls" 10
ss -Hltn "src 127.0.0.1:$SIPT" | grep -q . || ft_fail "floe answer does not listen on tcp 127.0.0.1:$SIPT"
rc=0
"$FLOE" call --loopback --ipv4 --transport tcp --duration 2 --timeout 15 --json \
  "sip:bob@127.0.0.1:$SIPT" >"$FT_TMP/callt.json" 2>"$FT_TMP/callt.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "floe call --transport tcp exited $rc: $(tail -20 "$FT_TMP/callt.err")"
ft_wait_exit answert 15
ft_expect_eq "$FT_EXIT_STATUS" 0 "floe answer (TCP call): exit status"
ft_expect_eq "$(ft_json "$FT_TMP/callt.json" '[j["ok"], j["packets_received"] >= 90]')" "[True, True]" \
  "TCP call: ok, media"
grep -q "our requests over tcp" "$FT_TMP/callt.err" || ft_fail "the caller did not use TCP"
# The caller's requests came over its TCP connection: the callee saw the INVITE from an
# ephemeral port of the caller's connect(), not from its SIP port (UDP and the listener).
udp_port=$(sed -nE 's/.*SIP on udp and tcp 127.0.0.1:([0-9]+).*/\1/p' "$FT_TMP/callt.err")
inv_port=$(sed -nE 's/.*<- INVITE from 127.0.0.1:([0-9]+).*/\1/p' "$(ft_log_of answert)" | head -n 1)
[ -n "$udp_port" ] && [ -n "$inv_port" ] || ft_fail "no SIP port ($udp_port) or INVITE source ($inv_port) in the logs"
[ "$inv_port" != "$udp_port" ] || ft_fail "the INVITE came from the caller's SIP port $udp_port: not over TCP"
ft_ok "the INVITE came over TCP from port $inv_port (the caller's SIP port is $udp_port)"

# ---- a call nobody answers ----------------------------------------------------------------
ft_check "a call to a port where nobody listens fails: exit 1, ok false"
rc=0
"$FLOE" call --loopback --timeout 3 --json "sip:bob@127.0.0.1:$NOBODY" >"$FT_TMP/nobody.json" 2>"$FT_TMP/nobody.err" || rc=$?
[ "$rc" = 1 ] || ft_fail "exit $rc, expected 1: $(cat "$FT_TMP/nobody.err")"
ft_expect_eq "$(ft_json "$FT_TMP/nobody.json" 'j["ok"]')" false "ok"
ft_ok "call_loopback passed"
