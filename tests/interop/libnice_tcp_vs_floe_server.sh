#!/usr/bin/env bash
# Interop: a STUN client built on libnice's STUN library (tests/interop/nice_stun_tcp.c)
# against `floe server` over TCP and UDP, IPv4 and (when the loopback has it) IPv6.
#
#   - TCP: the mapped address libnice reads from floe's response equals the local
#     address of the TCP connection (getsockname), for one request, for three
#     requests pipelined in one segment, and for a request split over two segments;
#   - UDP: the same on a connected UDP socket;
#   - tshark decodes the TCP stream and the datagrams as STUN (nothing malformed, no
#     warning/error expert info), and saw the pipelined and the split requests;
#   - `floe server --stats`: rx = answered + dropped, equal to the requests on the
#     wire; every stream accepted was closed, none for "not STUN".
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

PEER=${NICE_STUN_TCP:-$FLOE_BUILD/tests/nice_stun_tcp}
ft_need_cmd python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"
ft_need_file "$PEER" "the libnice test peer (built by tests/interop/CMakeLists.txt when libnice-dev is installed)"

read -r P <<<"$(ft_free_ports 1 127.0.0.1)"
have_v6=0
if grep -qE '^0{31}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then have_v6=1; fi

listen=(--listen "127.0.0.1:$P")
if [ "$have_v6" = 1 ]; then
  listen+=(--listen "[::1]:$P")
else
  ft_say "the loopback has no ::1 (IPv6 disabled here): the IPv6 part is not run"
fi
ft_say "floe server on udp+tcp port $P (127.0.0.1$([ "$have_v6" = 1 ] && echo ' and ::1'))"

ft_capture_start cap "port $P"
ft_start server "$FLOE" server "${listen[@]}" --control "$FT_TMP/server.sock"
ft_wait_listen tcp 127.0.0.1 "$P" "$(ft_pid server)"
ft_wait_listen udp 127.0.0.1 "$P" "$(ft_pid server)"
ft_wait_file "$FT_TMP/server.sock" "$(ft_pid server)"

tcp_conns=0
# run_peer NAME EXPECTED-RESPONSES PEER-ARGS...: runs the libnice peer, checks it printed
# EXPECTED-RESPONSES mapped lines, each equal to its local address.
run_peer() {
  local name=$1 want=$2
  shift 2
  ft_check "libnice peer $*: $want mapped address(es) equal to the socket's local address"
  local rc=0
  timeout -k 2 15 "$PEER" "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = 0 ] || ft_fail "nice_stun_tcp $* exited $rc: $(cat "$FT_TMP/$name.err")
$(cat "$FT_TMP/$name.out")"
  local local_addr mapped n
  local_addr=$(sed -n 's/^local //p' "$FT_TMP/$name.out")
  [ -n "$local_addr" ] || ft_fail "nice_stun_tcp printed no local address"
  n=$(grep -c '^mapped ' "$FT_TMP/$name.out" || true)
  ft_expect_eq "$n" "$want" "number of responses"
  while read -r mapped; do
    ft_expect_eq "$mapped" "$local_addr" "mapped address (libnice's stun_usage_bind_process)"
  done < <(sed -n 's/^mapped //p' "$FT_TMP/$name.out")
  case " $* " in *" --udp "*) ;; *) tcp_conns=$((tcp_conns + 1)) ;; esac
}

run_peer tcp1 1 127.0.0.1 "$P"
run_peer tcp3 3 --count 3 127.0.0.1 "$P"
run_peer tcpsplit 1 --split 127.0.0.1 "$P"
run_peer udp2 2 --udp --count 2 127.0.0.1 "$P"
if [ "$have_v6" = 1 ]; then
  run_peer tcp6 2 --count 2 ::1 "$P"
  run_peer udp6 1 --udp ::1 "$P"
fi

# Streams are closed when floe reads the client's FIN: give it a moment (bounded).
for ((i = 0; i < 40; i++)); do
  "$FLOE" server --stats --control "$FT_TMP/server.sock" >"$FT_TMP/stats.json" ||
    ft_fail "floe server --stats failed"
  [ "$(ft_json "$FT_TMP/stats.json" 'j["runtime"]["streams_open"]')" = 0 ] && break
  sleep 0.05
done
ft_stop server
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe server exited with status $FT_STOP_STATUS on SIGTERM"
ft_capture_stop cap

ft_capture_check cap --udp "$P" --tcp "$P" --min 20

ft_check "on the wire: three Binding requests in one TCP segment (the pipelined run)"
n=$(ft_capture_count cap "tcp.dstport == $P && count(stun.type) == 3")
[ "$n" -ge 1 ] || ft_fail "no TCP segment to port $P carries three STUN messages"
ft_ok "$n segment(s) with three STUN messages"

ft_check "on the wire: a request split over two segments (the --split run)"
n=$(ft_capture_count cap "tcp.dstport == $P && tcp.len == 10 && tcp.reassembled_in")
[ "$n" = 1 ] || ft_fail "expected one 10-byte first part of a split request, saw $n"
ft_ok "tshark reassembled the split request"

ft_check "on the wire: every TCP/UDP Binding request has a success response with the client's address"
# One line per packet carrying STUN, tab-separated; several messages in one segment
# give comma-separated values.
ft_tshark cap -Y stun -T fields -E separator=/t -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport \
  -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e stun.type -e stun.att.ipv4 -e stun.att.ipv6 \
  -e stun.att.port >"$FT_TMP/wire.txt"
python3 - "$FT_TMP/wire.txt" "$P" >"$FT_TMP/wire.check" <<'EOF' || ft_fail "$(cat "$FT_TMP/wire.check")"
import sys
P = sys.argv[2]
requests = responses = 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    src = f[0] or f[1]
    sport = f[2] or f[3]
    dst = f[4] or f[5]
    dport = f[6] or f[7]
    types = f[8].split(",")
    mapped_ips = [x for x in (f[9] + "," + f[10]).split(",") if x]
    mapped_ports = [x for x in f[11].split(",") if x]
    if dport == P:  # client -> server
        if any(t != "0x0001" for t in types):
            sys.exit(f"unexpected STUN type from the client: {line.strip()}")
        requests += len(types)
    elif sport == P:  # server -> client: each response maps the client's address
        if any(t != "0x0101" for t in types):
            sys.exit(f"unexpected STUN type from the server (want 0x0101): {line.strip()}")
        responses += len(types)
        if len(mapped_ips) != len(types) or len(mapped_ports) != len(types):
            sys.exit(f"expected one mapped address per response: {line.strip()}")
        for ip, port in zip(mapped_ips, mapped_ports):
            if (ip, port) != (dst, dport):
                sys.exit(f"XOR-MAPPED-ADDRESS {ip} port {port} is not the client {dst} port {dport}")
    else:
        sys.exit(f"STUN on an unexpected port: {line.strip()}")
if requests == 0 or requests != responses:
    sys.exit(f"{requests} requests but {responses} success responses on the wire")
print(requests)
EOF
wire_requests=$(cat "$FT_TMP/wire.check")
ft_ok "$wire_requests requests, each answered with the client's own address"

json=$FT_TMP/stats.json
ft_check "floe server --stats: rx = answered + dropped = requests on the wire; streams all closed"
ft_expect_eq "$(ft_json "$json" 'sum(v for k, v in j["counters"].items() if k != "rx")')" \
  "$(ft_json "$json" 'j["counters"]["rx"]')" "sum of outcome counters vs rx"
ft_expect_eq "$(ft_json "$json" 'j["counters"]["rx"]')" "$wire_requests" "rx vs requests on the wire"
ft_expect_eq "$(ft_json "$json" 'j["counters"]["binding_ok"]')" "$wire_requests" "binding_ok"
ft_expect_eq "$(ft_json "$json" 'j["drops_total"]')" 0 "drops_total"
ft_expect_eq "$(ft_json "$json" 'j["runtime"]["streams_accepted"]')" "$tcp_conns" "streams_accepted"
ft_expect_eq "$(ft_json "$json" 'j["runtime"]["streams_open"]')" 0 "streams_open"
ft_expect_eq "$(ft_json "$json" 'j["runtime"]["streams_closed_not_stun"]')" 0 "streams_closed_not_stun"

ft_say "PASS"
