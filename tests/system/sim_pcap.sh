#!/usr/bin/env bash
# The simulator's pcapng capture, checked by tshark: the unit test test_sim_pcap runs a
# simulated world (RFC 5780 discovery through a NAT over IPv4, a Binding over IPv6,
# datagrams dropped by the NAT's filter, the MTU and a closed port) and, with
# FLOE_SIM_PCAP_OUT set, also writes its capture there. tshark must then read it with
# valid IP and UDP checksums, decode every datagram on the STUN ports as STUN with exact
# framing, and find no malformed packet and no expert info above "comment" (drops carry
# packet comments). Then the same for `floe sim run --pcap` on an ICE scenario
# (tests/sim/scenarios/symmetric-vs-full-cone.sim): the Binding requests to the STUN
# server, the connectivity checks with their ICE attributes and the nomination through
# the NATs, the data on the selected pair. Then the capture of test_sim_turn_tcp (with
# FLOE_SIM_TCP_PCAP_OUT set): TURN over a simulated TCP connection through a NAT, whose
# segments must decode as TCP with good checksums, a clean handshake and close, and STUN
# and ChannelData framed on the stream. Needs tshark and python3; nothing touches a real
# network.
set -euo pipefail
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd tshark python3
unit=$FLOE_BUILD/tests/test_sim_pcap
ft_need_file "$unit" "the test_sim_pcap unit test"

cap=sim
ft_check "test_sim_pcap writes its capture"
FLOE_SIM_PCAP_OUT="$FT_TMP/$cap.pcapng" "$unit" >"$FT_TMP/unit.log" 2>&1 ||
  ft_fail "test_sim_pcap failed: $(tail -n 20 "$FT_TMP/unit.log")"
[ -s "$FT_TMP/$cap.pcapng" ] || ft_fail "no capture was written"
ft_ok "capture written ($(wc -c <"$FT_TMP/$cap.pcapng") bytes)"

# Every packet decoded, STUN on both server ports, no malformed packet, no warning.
ft_capture_check "$cap" --udp 3478 --udp 3479 --min 20

# Checksums: tshark verifies them only when asked.
ft_check "IP and UDP checksums are all good"
FT_DECODE+=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE)
ft_capture_expect_none "$cap" "ip.checksum.status != 1" "an IPv4 header checksum that is not good"
ft_capture_expect_none "$cap" "udp.checksum.status != 1" "a UDP checksum that is not good"

# What the run holds: both families, the NAT's translation, the dropped datagrams.
n=$(ft_capture_count "$cap" "ipv6 && stun.type == 0x0101")
[ "$n" -ge 1 ] || ft_fail "no IPv6 Binding success response"
n=$(ft_capture_count "$cap" "ip.src == 203.0.113.1 && stun.type == 0x0001")
[ "$n" -ge 1 ] || ft_fail "no Binding request leaving the NAT with its public address"
n=$(ft_capture_count "$cap" "frame.comment contains \"drop_nat_filtered\"")
[ "$n" -ge 4 ] || ft_fail "expected the NAT's filtered datagrams with a comment, found $n"
n=$(ft_capture_count "$cap" "frame.comment contains \"drop_mtu\"")
[ "$n" -eq 1 ] || ft_fail "expected one datagram dropped for its size, found $n"
ft_ok "capture holds IPv4 and IPv6 STUN, the NAT's translation and commented drops"

# One pcapng interface per simulated network, named after it.
ifs=$(ft_tshark "$cap" -T fields -e frame.interface_name | sort -u | paste -sd,)
[ "$ifs" = "internet,lan,v6net" ] || ft_fail "interfaces in the capture: '$ifs'"
ft_ok "one interface per network: $ifs"

# ---- an ICE session captured by floe sim run --pcap ---------------------------------
sc=$FLOE_SRC/tests/sim/scenarios/symmetric-vs-full-cone.sim
ft_need_file "$sc" "the symmetric-vs-full-cone scenario"
cap=ice
ft_check "floe sim run --pcap writes the capture of an ICE session"
"$FLOE" sim run --pcap "$FT_TMP/$cap.pcapng" "$sc" >"$FT_TMP/run.log" 2>&1 ||
  ft_fail "floe sim run failed: $(tail -n 20 "$FT_TMP/run.log")"
[ -s "$FT_TMP/$cap.pcapng" ] || ft_fail "no capture was written"
ft_ok "capture written ($(wc -l <"$FT_TMP/run.log") lines of results)"

# The STUN server's port carries STUN only; the rest (checks on the peers' ports, found
# by tshark's STUN heuristics, and the data) must decode without error or warning.
ft_capture_check "$cap" --udp 3478 --min 40
FT_DECODE+=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE)
ft_capture_expect_none "$cap" "ip.checksum.status != 1" "an IPv4 header checksum that is not good"
ft_capture_expect_none "$cap" "udp.checksum.status != 1" "a UDP checksum that is not good"

# Connectivity checks as RFC 8445 section 7.2.2 builds them, from both roles, and the
# nomination leaving alice's symmetric NAT from a new mapping.
check="stun.type == 0x0001 && stun.att.username && stun.att.priority && stun.att.hmac && stun.att.crc32"
n=$(ft_capture_count "$cap" "$check && stun.att.type == 0x802a")
[ "$n" -ge 1 ] || ft_fail "no check with ICE-CONTROLLING, USERNAME, PRIORITY, MESSAGE-INTEGRITY, FINGERPRINT"
n=$(ft_capture_count "$cap" "$check && stun.att.type == 0x8029")
[ "$n" -ge 1 ] || ft_fail "no check with ICE-CONTROLLED"
n=$(ft_capture_count "$cap" "ip.src == 203.0.113.1 && udp.srcport != 49152 && stun.att.type == 0x0025")
[ "$n" -ge 1 ] || ft_fail "no nomination (USE-CANDIDATE) leaving alice's NAT from a new mapping"
n=$(ft_capture_count "$cap" "stun.type == 0x0101 && stun.att.ipv4-xord")
[ "$n" -ge 4 ] || ft_fail "expected success responses with XOR-MAPPED-ADDRESS, found $n"
n=$(ft_capture_count "$cap" "udp && !stun && udp.length == 180")
[ "$n" -ge 6 ] || ft_fail "expected the 172-byte datagrams and their echoes, found $n"
n=$(ft_capture_count "$cap" "frame.comment contains \"drop_nat_filtered\"")
[ "$n" -ge 1 ] || ft_fail "expected a check dropped by a NAT's filter, with its comment"
ft_ok "checks from both roles, a nomination through the symmetric NAT, data, commented drops"
ifs=$(ft_tshark "$cap" -T fields -e frame.interface_name | sort -u | paste -sd,)
[ "$ifs" = "internet,lanA,lanB" ] || ft_fail "interfaces in the capture: '$ifs'"
ft_ok "one interface per network: $ifs"

# ---- TURN over simulated TCP --------------------------------------------------------
unit=$FLOE_BUILD/tests/test_sim_turn_tcp
ft_need_file "$unit" "the test_sim_turn_tcp unit test"
cap=tcp
ft_check "test_sim_turn_tcp writes the capture of an allocation over TCP"
FLOE_SIM_TCP_PCAP_OUT="$FT_TMP/$cap.pcapng" "$unit" >"$FT_TMP/unit-tcp.log" 2>&1 ||
  ft_fail "test_sim_turn_tcp failed: $(tail -n 20 "$FT_TMP/unit-tcp.log")"
[ -s "$FT_TMP/$cap.pcapng" ] || ft_fail "no capture was written"
ft_ok "capture written ($(wc -c <"$FT_TMP/$cap.pcapng") bytes)"

# Every segment on the TURN port is STUN or ChannelData, framed exactly; no malformed
# packet, no TCP analysis warning (no RST, nothing unseen, no bad sequence).
ft_capture_check "$cap" --tcp 3478 --min 40
FT_DECODE+=(-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE)
ft_capture_expect_none "$cap" "ip.checksum.status != 1" "an IPv4 header checksum that is not good"
ft_capture_expect_none "$cap" "tcp.checksum.status != 1" "a TCP checksum that is not good"
ft_capture_expect_none "$cap" "udp.checksum.status != 1" "a UDP checksum that is not good"
ft_capture_expect_none "$cap" "tcp.flags.reset == 1" "a RST"
ft_capture_expect_none "$cap" "tcp.analysis.flags && !tcp.analysis.window_update" "a TCP analysis flag"

# The handshake and the close on both networks (the NAT translates between them), the
# TURN exchange through it, the relayed data on the Internet.
n=$(ft_capture_count "$cap" "tcp.flags.syn == 1 && tcp.flags.ack == 0")
[ "$n" -eq 2 ] || ft_fail "expected one SYN on each network, found $n"
n=$(ft_capture_count "$cap" "tcp.flags.syn == 1 && tcp.flags.ack == 1")
[ "$n" -eq 2 ] || ft_fail "expected one SYN-ACK on each network, found $n"
n=$(ft_capture_count "$cap" "tcp.flags.fin == 1")
[ "$n" -eq 4 ] || ft_fail "expected a FIN from each side on each network, found $n"
n=$(ft_capture_count "$cap" "ip.src == 203.0.113.1 && tcp.srcport == 50000 && stun.type == 0x0003 && stun.att.username")
[ "$n" -eq 1 ] || ft_fail "expected the authenticated Allocate leaving the NAT, found $n"
n=$(ft_capture_count "$cap" "ip.dst == 10.0.0.2 && stun.type == 0x0103 && stun.att.ipv4-xord")
[ "$n" -eq 1 ] || ft_fail "expected the Allocate success reaching alice, found $n"
n=$(ft_capture_count "$cap" "tcp && stun.channel == 0x4000")
[ "$n" -eq 6 ] || ft_fail "expected 3 ChannelData messages on each network, found $n"
n=$(ft_capture_count "$cap" "udp && ip.src == 192.0.2.1 && udp.dstport == 4000")
[ "$n" -eq 2 ] || ft_fail "expected 2 datagrams relayed to the peer, found $n"
n=$(ft_capture_count "$cap" "frame.comment contains \"drop_no_socket\"")
[ "$n" -eq 1 ] || ft_fail "expected the datagram to the closed relay, dropped with a comment, found $n"
ifs=$(ft_tshark "$cap" -T fields -e frame.interface_name | sort -u | paste -sd,)
[ "$ifs" = "internet,lan" ] || ft_fail "interfaces in the capture: '$ifs'"
ft_ok "TCP handshake, TURN over the stream through the NAT, relayed data, FINs; interfaces $ifs"
ft_say "PASS"
