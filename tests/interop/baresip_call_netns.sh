#!/usr/bin/env bash
# The real-NAT call lab, proved with two baresips (docs/lab.md, tests/lib/call_lab.bash):
# alice (baresip, behind NAT A) calls bob (baresip, behind NAT B) through kamailio, with
# ICE and floe server as the STUN server, both NATs port-restricted cones (nftables
# masquerade):
#
#   floe-ua-a-P 10.0.1.2 -- floe-nat-a-P 198.18.1.2 --+
#                                                     floe-pub-P 198.18.0.1 kamailio :5060
#   floe-ua-b-P 10.0.2.2 -- floe-nat-b-P 198.18.2.2 --+            floe server (STUN) :3478
#
# alice plays a 440 Hz tone, bob a 1000 Hz tone; bob answers by himself; the call lasts
# 4 s once media flows both ways, then alice hangs up. Checked:
#   - each NAT maps and filters as a port-restricted cone;
#   - kamailio answers a sipp client behind each NAT (REGISTER, OPTIONS, 404 for an
#     unregistered user, unREGISTER);
#   - both register, the call is established and closed on both sides;
#   - bob's recording of what he received is 440 Hz, alice's is 1000 Hz (and what alice
#     sent is 440 Hz: the source works);
#   - tshark, on the capture taken in the public namespace: every datagram is SIP, STUN,
#     RTP or RTCP, nothing malformed, no warning; the flow (REGISTER, INVITE/200/ACK with
#     ICE candidates, STUN with the server, checks both ways and a nomination, RTP both
#     ways directly between the NATs, BYE) is complete.
# The call's timeline (INVITE->180, 200 OK->first RTP, ...) is printed: it is the
# baseline bench/call.sh compares floe with (baresip 1.0.0 starts media only when its ICE
# checks end, seconds after the 200 OK).
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/call_lab.bash
. "$FLOE_SRC/tests/lib/call_lab.bash"

lab_need baresip kamailio sipp
ft_need_file "$LAB_BARESIP_MODULES/ice.so" "baresip's ice module (package baresip-core)"

start=$SECONDS
lab_topology cone cone
ft_ok "namespaces $LAB_NS_PUB, ${LAB_NAT_NS[a]}, ${LAB_NAT_NS[b]}, ${LAB_NS[a]}, ${LAB_NS[b]}"
ft_check "each NAT is a port-restricted cone"
lab_check_nat a
lab_check_nat b

lab_start_stun stun
lab_start_kamailio
ft_ok "floe server (STUN) on $LAB_SRV:$LAB_STUN_PORT and kamailio on $LAB_SRV:$LAB_SIP_PORT in $LAB_NS_PUB"
ft_check "kamailio works as registrar and proxy for a client behind each NAT (sipp)"
lab_sipp_smoke a
lab_sipp_smoke b
lab_capture_start call

lab_tone "$FT_TMP/alice.wav" 440
lab_tone "$FT_TMP/bob.wav" 1000
lab_baresip_config a alice "$FT_TMP/alice.wav"
lab_baresip_config b bob "$FT_TMP/bob.wav"
ft_check "both baresips start and register with kamailio"
lab_baresip_start b
lab_baresip_start a
ft_ok "alice and bob registered"

ft_check "alice calls bob; bob answers; 4 s of media both ways; alice hangs up"
lab_baresip_call a b 4
ft_ok "established, media both ways, closed on both sides"
lab_baresip_stop a
lab_baresip_stop b
lab_capture_stop call

ft_check "the tones arrived"
lab_tone_check "$(lab_baresip_recording a enc)" 440 1000 "alice sent 440 Hz"
lab_tone_check "$(lab_baresip_recording b dec)" 440 1000 "bob heard 440 Hz"
lab_tone_check "$(lab_baresip_recording a dec)" 1000 440 "alice heard 1000 Hz"

lab_capture_check call --caller a --path direct --min-rtp 100
ft_say "timeline: $(lab_capture_timeline call)"
ft_say "PASS in $((SECONDS - start)) s"
