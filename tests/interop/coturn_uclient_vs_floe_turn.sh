#!/usr/bin/env bash
# Interop: coturn's TURN load client (turnutils_uclient) relays through `floe server` to
# coturn's echo peer (turnutils_peer), all on loopback, with tshark decoding every packet.
#
#   1. UDP with channels, UDP with Send/Data indications, TCP both ways, TLS, DTLS (-S over
#      UDP, on floe's dtls:// listener) with channels and with indications, DONT-FRAGMENT,
#      client-to-client (each client's peer is another client's relayed address), mandatory
#      channel padding, TURN REST credentials, and RFC 6062 TCP relaying (-T) over TCP
#      and TLS: 10 clients x 100 messages each time, every message comes back
#      (tot_send_msgs == tot_recv_msgs == 1000, 0 lost). uclient's default RTP/RTCP pairs
#      are on (no -c): each RTP allocation asks for EVEN-PORT with the reservation bit and
#      the RTCP allocation comes back with the RESERVATION-TOKEN (RFC 8656 §14.6, §14.9);
#   2. a wrong password: uclient fails, floe counts auth failures and relays nothing;
#   3. the capture: nothing malformed (TLS on TCP PT, DTLS on UDP PT), and floe's counters
#      add up (each input one outcome); in the clear runs, every answer with a
#      RESERVATION-TOKEN gives an even port, and the Allocate that brings the token back
#      gets the next one;
#   4. SIGTERM with allocations left: floe drains, then exits 0.
# The RFC 6062 runs use their own listeners (PD, PDT), outside the capture: after
# ConnectionBind a data connection carries the application's bytes, which are not STUN.
# (uclient's -T mode makes no RTCP allocations: TCP relays have no port pairs.)
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd turnutils_uclient turnutils_peer openssl python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"

read -r -a ports <<<"$(ft_free_ports 5 127.0.0.1)"
# E last: uclient also binds a channel to E + 1, which must not be one of ours (403)
P=${ports[0]} PT=${ports[1]} PD=${ports[2]} PDT=${ports[3]} E=${ports[4]}
read -r RMIN RMAX <<<"$(python3 -c 'import random; b = random.randrange(20000, 29000, 100); print(b, b + 499)')"
ft_say "floe server udp/tcp 127.0.0.1:$P tls/dtls :$PT, relays $RMIN-$RMAX; turnutils_peer :$E"
ft_make_cert "$FT_TMP/tls"

USER=alice PASS=wonderland REALM=floe.test SECRET=northwind
ft_capture_start cap "port $P or port $PT"

ft_start srv "$FLOE" server --listen "127.0.0.1:$P" --listen "tls://127.0.0.1:$PT" \
  --listen "dtls://127.0.0.1:$PT" \
  --listen "tcp://127.0.0.1:$PD" --listen "tls://127.0.0.1:$PDT" \
  --tls-cert "$FT_TMP/tls/cert.pem" --tls-key "$FT_TMP/tls/key.pem" \
  --realm "$REALM" --user "$USER:$PASS" --secret "$SECRET" --relay-ports "$RMIN-$RMAX" \
  --allow-peer 127.0.0.1 --unauth-rate 0 --drain-timeout 5 --control "$FT_TMP/srv.sock"
ft_wait_listen udp 127.0.0.1 "$P" "$(ft_pid srv)"
ft_wait_listen tcp 127.0.0.1 "$PT" "$(ft_pid srv)"
ft_wait_listen udp 127.0.0.1 "$PT" "$(ft_pid srv)"
ft_wait_file "$FT_TMP/srv.sock" "$(ft_pid srv)"
ft_assert_loopback_only "$(ft_pid srv)" "floe server"

ft_start peer turnutils_peer -L 127.0.0.1 -p "$E"
ft_wait_listen udp 127.0.0.1 "$E" "$(ft_pid peer)"

CLIENTS=10 MSGS=100
uclient() { # NAME EXPECTED-STATUS ARGS...: output in $FT_TMP/NAME.out
  local name=$1 want=$2 rc=0
  shift 2
  timeout -k 2 60 turnutils_uclient -m "$CLIENTS" -n "$MSGS" -l 172 -z 5 -e 127.0.0.1 -r "$E" \
    "$@" 127.0.0.1 >"$FT_TMP/$name.out" 2>&1 || rc=$?
  [ "$rc" = "$want" ] || ft_fail "uclient $name exited $rc, not $want: $(tail -5 "$FT_TMP/$name.out")"
}

check_all_back() { # NAME: every message sent came back, none lost
  local name=$1 total=$((CLIENTS * MSGS)) out="$FT_TMP/$1.out" sent
  # Client to client (-y) with RTP/RTCP pairs runs a few more sessions than -m says: at
  # least CLIENTS x MSGS messages, each one back.
  sent=$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\1$/\1/p' "$out" | tail -n 1)
  [ -n "$sent" ] && [ "$sent" -ge "$total" ] ||
    ft_fail "$name: not $total/$total messages: $(grep -E 'tot_send_msgs|lost' "$out" | tail -3)"
  grep -q "Total lost packets 0 (0.000000%)" "$out" ||
    ft_fail "$name: packets lost: $(grep 'lost' "$out" | tail -1)"
  ft_ok "$name: $sent/$sent relayed and echoed, 0 lost"
}

runs=0
run_ok() { # NAME DESCRIPTION ARGS...
  local name=$1 what=$2
  shift 2
  ft_check "turnutils_uclient $what ($CLIENTS clients)"
  uclient "$name" 0 "$@"
  check_all_back "$name"
  runs=$((runs + 1))
}

cred=(-u "$USER" -w "$PASS")
run_ok udp-channel "over UDP with channels" "${cred[@]}" -p "$P"
run_ok udp-send "over UDP with Send/Data indications (-s)" "${cred[@]}" -p "$P" -s
run_ok tcp-channel "over TCP with channels (-t)" "${cred[@]}" -p "$P" -t
run_ok tcp-send "over TCP with indications (-t -s)" "${cred[@]}" -p "$P" -t -s
run_ok tls-channel "over TLS (-S -t)" "${cred[@]}" -p "$PT" -t -S
run_ok dtls-channel "over DTLS (-S)" "${cred[@]}" -p "$PT" -S
run_ok dtls-send "over DTLS with indications (-S -s)" "${cred[@]}" -p "$PT" -S -s
run_ok udp-df "with DONT-FRAGMENT (-g)" "${cred[@]}" -p "$P" -g
run_ok udp-c2c "client to client through two relays (-y)" "${cred[@]}" -p "$P" -y
run_ok udp-pad "with padded ChannelData (-D)" "${cred[@]}" -p "$P" -D
run_ok rest "with TURN REST credentials (-W secret)" -u "$USER" -W "$SECRET" -p "$P"
# -T makes every client Connect to the relay of every client after it, all at once: 10
# clients are 45 peer connections, each bound by two ConnectionBinds (the Connect's and
# the ConnectionAttempt's), and uclient waits until all 90 are bound. It used to hang
# about one run in ten: floe gave one TCP relayed port to two allocations (the
# listeners' SO_REUSEPORT let the second bind succeed), and the kernel shared the peers
# connecting to it between them. Fixed in server_tcprelay.c; 45 runs in a row passed.
run_ok tcp-relay "with RFC 6062 TCP relaying (-T)" "${cred[@]}" -p "$PD" -T
run_ok tcp-relay-tls "with RFC 6062 TCP relaying over TLS (-T -S)" "${cred[@]}" -p "$PDT" -T -S

ft_check "a wrong password: uclient gives up, nothing is allocated or relayed"
"$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/before.json"
CLIENTS=1 uclient wrong 255 -u "$USER" -w wrong -p "$P"
"$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/after.json"
python3 - "$FT_TMP/before.json" "$FT_TMP/after.json" <<'EOF' || ft_fail "wrong password: counters"
import json, sys
a, b = (json.load(open(p))["turn"] for p in sys.argv[1:])
d = {k: b[k] - a[k] for k in a if isinstance(a[k], int) and k != "table_bytes"}
assert d["auth_failed_401"] >= 1, d
assert d["allocated"] == 0 and d["relayed_to_peer"] == 0, d
print(f"auth_failed_401 +{d['auth_failed_401']}, allocated +0, relayed +0")
EOF
ft_ok "401 for the wrong password, no allocation"

ft_check "floe's counters: every input ended in one outcome; the runs relayed what uclient counted"
"$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/stats.json"
python3 - "$FT_TMP/stats.json" "$runs" "$((CLIENTS * MSGS))" "$CLIENTS" <<'EOF' || ft_fail "counters do not add up"
import json, sys
j = json.load(open(sys.argv[1]))["turn"]
runs, per_run, clients = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
outcomes = [k for k in j if k not in ("rx_client", "rx_peer", "bytes_to_peer", "bytes_to_client",
            "allocations_expired", "allocations_closed_with_connection", "entries_revoked_by_reload",
            "tcp_connected", "tcp_connect_failed_447", "tcp_connection_attempts", "tcp_peer_refused",
            "tcp_closed_unbound", "reservations_made", "reservations_claimed", "reservations_expired",
            "allocations", "permissions", "channels", "users_with_allocations", "reservations",
            "table_bytes", "draining")]
total = sum(j[k] for k in outcomes)
assert j["rx_client"] + j["rx_peer"] == total, (j["rx_client"], j["rx_peer"], total)
# RTP/RTCP pairs: every run but the RFC 6062 ones reserves ports, RTCP allocations claim
# them, and no token is refused.
assert j["reservations_made"] >= runs - 2, j["reservations_made"]
assert 0 < j["reservations_claimed"] <= j["reservations_made"], j
assert j["reservation_token_invalid_508"] == 0 and j["reservations_full_508"] == 0, j
# The client-to-client run relays each message twice (out of one relay, into the other).
# The RFC 6062 runs relay bytes, not datagrams: 2 runs fewer in the datagram count.
assert j["relayed_to_peer"] >= (runs - 2) * per_run, j["relayed_to_peer"]
# Each of the two -T runs: every pair of clients connected once, both ends bound.
assert j["tcp_connection_bound"] >= 2 * clients * (clients - 1), j["tcp_connection_bound"]
assert j["relayed_to_client"] == j["relayed_to_peer"], j
assert j["forbidden_peer_403"] == 0 and j["drop_no_permission"] == 0, j
print(f"{j['rx_client']} client + {j['rx_peer']} peer inputs = {total} outcomes; "
      f"{j['relayed_to_peer']} relayed each way, {j['allocated']} allocations, "
      f"{j['reservations_made']} ports reserved, {j['reservations_claimed']} claimed")
EOF
ft_ok "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["turn"]; print(j["allocated"], "allocations,", j["relayed_to_peer"], "datagrams relayed each way")' "$FT_TMP/stats.json")"

ft_capture_stop cap
ft_check "the capture: STUN/TURN and ChannelData only, nothing malformed"
# uclient probes with TLS 1.0 and 1.1 ClientHellos before 1.2/1.3, and with DTLS 1.0 before
# 1.2; floe refuses those versions (RFC 8996) with a protocol_version alert (70), and only
# those.
ft_capture_check cap --udp "$P" --tcp "$P" --tls "$PT" --dtls "$PT" --min 1000 \
  --allow-rst-to "$PT" --allow-rst-to "$P" --allow-rst-after-fin --allow-tls-alert 70
old=$(ft_capture_count cap "tcp.dstport == $PT && tls.handshake.type == 1 && tls.handshake.version < 0x0303 && !tls.handshake.extensions.supported_version")
refused=$(ft_capture_count cap "tcp.srcport == $PT && tls.alert_message.desc == 70")
ft_expect_eq "$refused" "$old" "protocol_version alerts = ClientHellos offering only TLS 1.0/1.1"
modern=$(ft_capture_count cap "tcp.srcport == $PT && tls.handshake.type == 2")
[ "$modern" -ge "$CLIENTS" ] || ft_fail "only $modern TLS ServerHellos for $CLIENTS TLS clients"
ft_ok "tshark decodes every packet; $refused TLS 1.0/1.1 probes refused, $modern handshakes done"

ft_check "EVEN-PORT with R: even ports, and the RESERVATION-TOKEN brings back the next one"
# Allocate successes (0x0103), and Allocate requests (0x0003) that carry a token. The
# first XOR-mapped port of a success is its XOR-RELAYED-ADDRESS (floe puts it first).
ft_tshark cap -Y "stun.type == 0x0103 || (stun.type == 0x0003 && stun.att.token)" -T fields \
  -E separator=' ' -E occurrence=f -e stun.type -e stun.id -e stun.att.token \
  -e stun.att.port-xord >"$FT_TMP/tokens.txt" || ft_fail "tshark could not read the capture"
python3 - "$FT_TMP/tokens.txt" >"$FT_TMP/pairs.txt" <<'EOF' || ft_fail "reserved ports do not pair up"
import sys
def port(x):  # tshark shows the XOR'd port in hex: undo the magic cookie's top half
    return int(x, 16) ^ 0x2112
ask, port_of, answer = {}, {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "0x0003":  # a request with a token: type, tid, token
        ask[f[1]] = f[2]
    elif len(f) == 4:     # a success with a token: type, tid, token, relayed port
        assert port(f[3]) % 2 == 0, ("an odd port with a reservation", line)
        port_of[f[2]] = port(f[3])
    elif len(f) == 3:     # a success without one: type, tid, relayed port
        answer[f[1]] = port(f[2])
claimed = [(t, answer[tid]) for tid, t in ask.items() if tid in answer]
assert len(port_of) >= 10 and len(claimed) >= 10, (len(port_of), len(claimed))
for t, p in claimed:
    assert t in port_of and p == port_of[t] + 1, ("token", t, "gave", p, "held", port_of.get(t))
print(f"{len(port_of)} even ports with a token, {len(claimed)} tokens brought back for port + 1")
EOF
ft_ok "$(cat "$FT_TMP/pairs.txt")"

ft_check "DTLS: cookies first (RFC 6347 §4.2.1), DTLS 1.0 probes refused, 1.2 handshakes done"
# A ClientHello without a cookie gets a HelloVerifyRequest (3) and no ServerHello: floe
# keeps nothing for it. Only a ClientHello that returns the cookie goes on.
hello=$(ft_capture_count cap "udp.dstport == $PT && dtls.handshake.type == 1 && dtls.handshake.cookie_length == 0")
verify=$(ft_capture_count cap "udp.srcport == $PT && dtls.handshake.type == 3")
[ "$hello" -gt 0 ] || ft_fail "no DTLS ClientHello without a cookie"
ft_expect_eq "$verify" "$hello" "HelloVerifyRequests = ClientHellos without a cookie"
ft_expect_eq "$(ft_json "$FT_TMP/stats.json" 'j["runtime"]["dtls_cookies_sent"]')" "$verify" \
  "floe's dtls_cookies_sent = HelloVerifyRequests on the wire"
old=$(ft_capture_count cap "udp.dstport == $PT && dtls.handshake.type == 1 && dtls.handshake.cookie_length > 0 && dtls.handshake.version == 0xfeff")
refused=$(ft_capture_count cap "udp.srcport == $PT && dtls.record.epoch == 0 && dtls.alert_message.desc == 70")
ft_expect_eq "$refused" "$old" "protocol_version alerts = DTLS 1.0 ClientHellos with a cookie"
modern=$(ft_capture_count cap "udp.srcport == $PT && dtls.handshake.type == 2")
[ "$modern" -ge $((2 * CLIENTS)) ] || ft_fail "only $modern DTLS ServerHellos for $((2 * CLIENTS)) DTLS clients"
data_in=$(ft_capture_count cap "udp.dstport == $PT && dtls.record.content_type == 23")
data_out=$(ft_capture_count cap "udp.srcport == $PT && dtls.record.content_type == 23")
if [ "$data_in" -lt $((2 * CLIENTS * MSGS)) ] || [ "$data_out" -lt $((2 * CLIENTS * MSGS)) ]; then
  ft_fail "too few DTLS records: $data_in to floe, $data_out from floe"
fi
ft_ok "$verify cookies sent, $refused DTLS 1.0 probes refused, $modern handshakes; $data_in records in, $data_out out"

ft_check "SIGTERM drains: no new allocations, exit 0 once the rest ends or after 5 s"
ft_stop srv
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe server exited $FT_STOP_STATUS on SIGTERM"
grep -q "draining: no new allocations" "$(ft_log_of srv)" || ft_fail "no drain message"
grep -q "drained (" "$(ft_log_of srv)" || ft_fail "no drained message"
ft_ok "$(grep -o 'drained ([0-9]* allocations left)' "$(ft_log_of srv)")"
ft_stop peer
ft_say "PASS"
