#!/usr/bin/env bash
# floe call and floe answer against baresip in the real-NAT call lab (docs/lab.md,
# tests/lib/call_lab.bash): both user agents behind their own port-restricted cone NAT
# (nftables masquerade), kamailio as proxy and registrar and floe server as STUN server
# in the public namespace:
#
#   floe-ua-a-P 10.0.1.2 (baresip alice) -- NAT A --+
#                                                   floe-pub-P 198.18.0.1 kamailio, STUN
#   floe-ua-b-P 10.0.2.2 (floe, bob)     -- NAT B --+
#
#   1. baresip alice (440 Hz) calls `floe answer` registered as bob (1000 Hz): baresip
#      1.0.0 offers ICE without 100rel, so floe answers late (its own checks prove the
#      path before the ring, the answer goes in the 200); both hear the other's tone;
#   2. `floe call` (as carol, 1000 Hz) calls baresip alice (440 Hz) through kamailio: floe
#      call exits 0, its recording is 440 Hz, what alice received is 1000 Hz.
# baresip runs with rtcp_mux yes (floe's user agent does one component). Every SIP, STUN and
# RTP datagram on the public links must decode with no malformed packet.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/call_lab.bash
. "$FLOE_SRC/tests/lib/call_lab.bash"

lab_need baresip kamailio
ft_need_file "$LAB_BARESIP_MODULES/ice.so" "baresip's ice module (package baresip-core)"

start=$SECONDS
lab_topology cone cone
lab_start_stun stun
lab_start_kamailio
ft_ok "kamailio on $LAB_SRV:$LAB_SIP_PORT, STUN on $LAB_SRV:$LAB_STUN_PORT"
lab_capture_start call

lab_tone "$FT_TMP/alice.wav" 440 30
lab_baresip_config a alice "$FT_TMP/alice.wav"
# floe's user agent does one component (rtcp-mux): ask baresip for rtcp-mux too.
sed -i 's/^rtcp_mux.*/rtcp_mux\t\tyes/' "$FT_TMP/baresip-a/config"
grep -q '^rtcp_mux.*yes' "$FT_TMP/baresip-a/config" || ft_fail "cannot set rtcp_mux in baresip's config"
lab_baresip_start a
ft_ok "baresip alice registered"

# ---- 1. baresip calls floe answer -----------------------------------------------------------
# baresip 1.0.0 offers ICE without 100rel, so floe cannot put its answer in a reliable
# 183: the late answer (include/floe/sip_call.h) runs floe's own checks to baresip's
# candidates and rings only once one succeeded; the answer goes in the 200 and baresip
# nominates after it. Checked here: floe's log shows the path found before its 180, the
# call is answered, audio flows both ways, floe answer exits 0.
ft_check "baresip alice (no 100rel) calls floe answer (bob): late answer, ring after a check succeeded"
lab_start b answer "$FLOE" answer --listen "$(lab_addr b):5060" --register "sip:bob@$LAB_SRV" \
  --stun "$LAB_SRV:$LAB_STUN_PORT" --local-addr "$(lab_addr b)" --once --tone 1000 \
  --record "$FT_TMP/bob.wav" --json --timeout 60
ft_wait_log answer "registered as bob" 10
lab_baresip_dial a "sip:bob@$LAB_SRV"
lab_baresip_wait_event a CALL_ESTABLISHED 20
sleep 6
lab_baresip_hangup a
lab_baresip_wait_event a CALL_CLOSED 10
ft_wait_exit answer 15
[ "$FT_EXIT_STATUS" = 0 ] || ft_fail "floe answer exited $FT_EXIT_STATUS: $(tail -40 "$(ft_log_of answer)")"
grep -v '^floe' "$(ft_log_of answer)" >"$FT_TMP/answer.json"
ft_say "floe answer: $(cat "$FT_TMP/answer.json")"
ft_expect_eq "$(ft_json "$FT_TMP/answer.json" '[j["ok"], j["ice"], j["timeline"]["180"] is not None]')" \
  "[True, True, True]" "floe answer: ok, ICE, rang"
# The ring came after the path was found (progress lines are in order on stderr).
path_line=$(grep -n "path found" "$(ft_log_of answer)" | head -n 1 | cut -d: -f1)
ring_line=$(grep -n "ringing" "$(ft_log_of answer)" | head -n 1 | cut -d: -f1)
[ -n "$path_line" ] && [ -n "$ring_line" ] && [ "$path_line" -lt "$ring_line" ] ||
  ft_fail "floe answer did not find the path before ringing: $(grep -E 'path found|ringing' "$(ft_log_of answer)")"
ft_ok "floe answer found the path (line $path_line) before it rang (line $ring_line)"
lab_tone_check "$FT_TMP/bob.wav" 440 1000 "floe answer heard 440 Hz"
lab_tone_check "$(lab_baresip_recording a dec)" 1000 440 "alice heard 1000 Hz"

# ---- 2. floe call calls baresip -----------------------------------------------------------
ft_check "floe call (carol) calls baresip alice"
rm -f "$FT_TMP/baresip-a/rec/"dump-*.wav
lab_start b caller "$FLOE" call --proxy "$LAB_SRV:$LAB_SIP_PORT" --register --user carol \
  --domain "$LAB_SRV" --stun "$LAB_SRV:$LAB_STUN_PORT" --local-addr "$(lab_addr b)" \
  --tone 1000 --record "$FT_TMP/carol.wav" --duration 6 --timeout 30 --json "sip:alice@$LAB_SRV"
ft_wait_exit caller 45
[ "$FT_EXIT_STATUS" = 0 ] || ft_fail "floe call exited $FT_EXIT_STATUS: $(tail -40 "$(ft_log_of caller)")"
grep -v "^floe" "$(ft_log_of caller)" >"$FT_TMP/caller.json"
ft_expect_eq "$(ft_json "$FT_TMP/caller.json" 'j["ok"]')" true "floe call: ok"
ft_say "floe call: $(cat "$FT_TMP/caller.json")"
lab_baresip_wait_event a CALL_CLOSED 10
lab_tone_check "$FT_TMP/carol.wav" 440 1000 "floe call heard 440 Hz"
lab_tone_check "$(lab_baresip_recording a dec)" 1000 440 "alice heard 1000 Hz"

lab_baresip_stop a
lab_capture_stop call
FT_DECODE=(--enable-heuristic rtp_udp)
ft_capture_expect_none call "_ws.malformed" "a malformed packet"
ft_capture_expect_none call "udp && !sip && !stun && !rtp && !rtcp" \
  "a UDP datagram that decodes as neither SIP, STUN, RTP nor RTCP"
n=$(ft_capture_count call "rtp.version == 2")
[ "$n" -ge 300 ] || ft_fail "capture: only $n RTP packets on the public links"
ft_ok "capture: $n RTP packets, nothing malformed"
ft_say "PASS in $((SECONDS - start)) s"
