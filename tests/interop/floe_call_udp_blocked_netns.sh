#!/usr/bin/env bash
# A SIP call with ICE through two NATs that let no UDP out at all, in the real-NAT call
# lab (docs/lab.md, tests/lib/call_lab.bash):
#
#   floe-ua-a-P 10.0.1.2 (floe call, alice)  -- NAT A, UDP dropped --+
#                                                                  floe-pub-P 198.18.0.1
#   floe-ua-b-P 10.0.2.2 (floe answer, bob)  -- NAT B, UDP dropped --+  kamailio (UDP, TCP)
#                                                                       floe server (TURN)
#
# Both user agents register and call over TCP (--transport tcp) with kamailio, and get
# relayed candidates from floe server's TURN over TCP (turn:...?transport=tcp, RFC 6062
# is not involved: the relayed addresses are UDP on the server). Checked:
#   - a UDP probe from alice's namespace gets no answer (the firewall works);
#   - the call connects: floe call and floe answer exit 0, both JSON lines say ok, the
#     selected pair is relay-to-relay on both sides, and 440 Hz / 1000 Hz are heard;
#   - no UDP datagram from either NAT crossed the public links, and the TURN server saw
#     two allocations over TCP and relayed the media.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/call_lab.bash
. "$FLOE_SRC/tests/lib/call_lab.bash"

lab_need kamailio
start=$SECONDS
lab_topology cone cone
lab_block_udp a b
lab_start_stun turn
lab_start_kamailio tcp
ft_ok "kamailio on udp and tcp $LAB_SRV:$LAB_SIP_PORT, TURN on $LAB_SRV:$LAB_STUN_PORT; the NATs drop UDP"

ft_check "the firewall: a UDP probe from alice's side to the public namespace gets no answer"
if lab_exec a python3 - "$LAB_SRV" <<'EOF'; then
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12), (sys.argv[1], 3478))
try:
    s.recvfrom(100)
except socket.timeout:
    sys.exit(0)
sys.exit(1)
EOF
  ft_ok "no answer to a STUN request over UDP"
else
  ft_fail "a UDP datagram got through NAT A"
fi

lab_capture_start call "udp or tcp"
TURN_TCP=(--turn "turn:$LAB_SRV:$LAB_STUN_PORT?transport=tcp" --turn-user "$LAB_TURN_USER"
  --turn-password "$LAB_TURN_PASS")

ft_check "floe answer (bob) and floe call (alice) over TCP, TURN over TCP"
lab_floe_answer b answer bob --transport tcp "${TURN_TCP[@]}" --tone 1000 \
  --record "$FT_TMP/bob.wav" --timeout 60
lab_floe_call a caller alice "sip:bob@$LAB_SRV" --transport tcp "${TURN_TCP[@]}" --tone 440 \
  --record "$FT_TMP/alice.wav" --duration 4 --timeout 40
ft_wait_exit caller 60
[ "$FT_EXIT_STATUS" = 0 ] || ft_fail "floe call exited $FT_EXIT_STATUS: $(tail -30 "$(ft_log_of caller)")"
ft_wait_exit answer 20
[ "$FT_EXIT_STATUS" = 0 ] || ft_fail "floe answer exited $FT_EXIT_STATUS: $(tail -30 "$(ft_log_of answer)")"
ft_say "floe call: $(cat "$FT_TMP/caller.json")"
ft_say "floe answer: $(cat "$FT_TMP/answer.json")"
for who in caller answer; do
  ft_expect_eq "$(ft_json "$FT_TMP/$who.json" \
    '[j["ok"], j["ice"], j["selected"]["local"]["type"], j["selected"]["remote"]["type"]]')" \
    "[True, True, 'relay', 'relay']" "$who: ok, ICE, selected pair"
done
lab_tone_check "$FT_TMP/bob.wav" 440 1000 "bob heard 440 Hz"
lab_tone_check "$FT_TMP/alice.wav" 1000 440 "alice heard 1000 Hz"

lab_capture_stop call
n=$(ft_capture_count call "udp && (ip.src == $(lab_wan a) || ip.src == $(lab_wan b))")
ft_expect_eq "$n" 0 "UDP datagrams from the NATs on the public links"
n=$(ft_capture_count call "tcp.port == $LAB_SIP_PORT && sip")
[ "$n" -ge 10 ] || ft_fail "capture: only $n SIP messages over TCP"
ft_ok "capture: $n SIP messages over TCP, no UDP out of the NATs"
"$FLOE" server --stats --control "$FT_TMP/stun.sock" >"$FT_TMP/turn-stats.json"
ft_expect_eq "$(ft_json "$FT_TMP/turn-stats.json" \
  '[j["turn"]["allocated"] >= 2, j["runtime"]["streams_accepted"] >= 2, j["turn"]["relayed_to_peer"] > 300]')" \
  "[True, True, True]" "TURN: allocations over TCP, media relayed"
ft_say "PASS in $((SECONDS - start)) s"
