#!/usr/bin/env bash
# Interop: `floe turn` as an RFC 6062 client (TCP allocations), against `floe server` and
# against coturn's turnserver, on loopback only, with tshark decoding the capture.
#
#   1. floe server (tcp:// on P, tls:// on PT), coturn A (TCP on Q, TLS on QT, loopback
#      peers allowed) and coturn C (TCP on N, coturn's default peer policy); a TCP echo
#      peer (python3) on 127.0.0.1:E;
#   2. for each server, over tcp and tls: --tcp-peer (Allocate for TCP, Connect,
#      ConnectionBind on a new data connection, then 40 records of 101 bytes through
#      it, every one echoed) and --tcp-accept (CreatePermission, a peer that connects to
#      the relayed address and echoes, ConnectionAttempt, ConnectionBind, 40 records);
#   3. refusals, one line each and exit 1: 447 (nothing listens on the peer's port) from
#      both servers, 403 (a peer the policy refuses) from both, nobody connecting within
#      --timeout; usage errors exit 2;
#   4. the capture (the servers' ports): the control connections and each data
#      connection's ConnectionBind decode as STUN (TLS on the TLS ports), nothing
#      malformed, no warning or error; on the wire REQUESTED-TRANSPORT 6, the Connect
#      successes and errors, the ConnectionAttempt indications and the ConnectionBinds
#      match the runs. After its ConnectionBind success a data connection carries the
#      peer's bytes, which are not STUN: those connections are checked on their own.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd turnserver openssl python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"

# Servers (coturn's each with its +1 left free for its alternate port), the echo peer, a
# port nobody listens on (X) and three relay ranges.
read -r -a ports <<<"$(ft_free_ports 40 127.0.0.1)"
P=${ports[0]} PT=${ports[1]} Q=${ports[2]} QT=${ports[4]} N=${ports[6]} E=${ports[8]} X=${ports[9]}
F_MIN=${ports[10]} F_MAX=${ports[19]} A_MIN=${ports[20]} A_MAX=${ports[29]}
C_MIN=${ports[30]} C_MAX=${ports[39]}
ft_say "floe server tcp :$P tls :$PT relay $F_MIN-$F_MAX; coturn A tcp :$Q tls :$QT relay $A_MIN-$A_MAX; coturn C (default policy) :$N; echo peer :$E"
ft_make_cert "$FT_TMP/tls"
USER=alice PASS=wonderland REALM=floe.test

ft_capture_start cap "port $P or port $PT or port $Q or port $QT or port $N"

ft_start srv "$FLOE" server --listen "tcp://127.0.0.1:$P" --listen "tls://127.0.0.1:$PT" \
  --tls-cert "$FT_TMP/tls/cert.pem" --tls-key "$FT_TMP/tls/key.pem" \
  --realm "$REALM" --user "$USER:$PASS" --relay-ports "$F_MIN-$F_MAX" \
  --allow-peer 127.0.0.1 --unauth-rate 0 --control "$FT_TMP/srv.sock"
ft_wait_listen tcp 127.0.0.1 "$P" "$(ft_pid srv)"
ft_wait_listen tcp 127.0.0.1 "$PT" "$(ft_pid srv)"
ft_assert_loopback_only "$(ft_pid srv)" "floe server"

turn_common=(-n --no-cli --log-file stdout --simple-log --listening-ip 127.0.0.1
  --relay-ip 127.0.0.1 --no-multicast-peers --no-dtls --lt-cred-mech --user "$USER:$PASS"
  --realm "$REALM")
ft_start turnA turnserver "${turn_common[@]}" --pidfile "$FT_TMP/turnA.pid" \
  --userdb "$FT_TMP/turnA.db" --listening-port "$Q" --tls-listening-port "$QT" \
  --cert "$FT_TMP/tls/cert.pem" --pkey "$FT_TMP/tls/key.pem" \
  --min-port "$A_MIN" --max-port "$A_MAX" --allow-loopback-peers
ft_start turnC turnserver "${turn_common[@]}" --pidfile "$FT_TMP/turnC.pid" \
  --userdb "$FT_TMP/turnC.db" --listening-port "$N" --no-tls --min-port "$C_MIN" --max-port "$C_MAX"
ft_wait_listen tcp 127.0.0.1 "$Q" "$(ft_pid turnA)" 15
ft_wait_listen tcp 127.0.0.1 "$QT" "$(ft_pid turnA)" 15
ft_wait_listen tcp 127.0.0.1 "$N" "$(ft_pid turnC)" 15
for s in turnA turnC; do ft_assert_loopback_only "$(ft_pid "$s")" "turnserver $s"; done

# The peer: a TCP echo server, one thread per connection, that logs what it echoed.
ft_start echo python3 -u -c "
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $E))
s.listen(16)
def serve(c, a):
    n = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
            n += len(d)
    except OSError:
        pass  # coturn resets the peer connection when the allocation ends
    print('echoed %d bytes to %s:%d' % ((n,) + a), flush=True)
    c.close()
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()"
ft_wait_listen tcp 127.0.0.1 "$E" "$(ft_pid echo)"

# A peer for --tcp-accept: connects to the relayed address, echoes until the end.
connect_peer() { # NAME RELAYED-ADDRESS
  ft_start "$1" python3 -u -c "
import socket, sys
c = socket.create_connection(('${2%:*}', ${2##*:}), timeout=30)
print('connected from %s:%d' % c.getsockname(), flush=True)
n = 0
try:
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
        n += len(d)
except OSError:
    pass
print('echoed %d bytes' % n, flush=True)"
}

run_turn() { # NAME EXPECTED-STATUS ARGS...: floe turn with a time bound, output in $FT_TMP/NAME.*
  local name=$1 want=$2 rc=0
  shift 2
  timeout -k 2 60 "$FLOE" turn "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = "$want" ] || ft_fail "floe turn $* exited $rc, expected $want:
$(cat "$FT_TMP/$name.err" "$FT_TMP/$name.out")"
}

# check_json FILE TRANSPORT SERVER MIN MAX VIA COUNT: the JSON line of a good run; prints a
# summary and appends the data connection's local port to $FT_TMP/data_ports.
check_json() {
  python3 - "$@" "$FT_TMP/data_ports" <<'EOF' || ft_fail "$(cat "$1")"
import json, sys
path, t, srv, lo, hi, via, count, ports = sys.argv[1:9]
lines = open(path).read().splitlines()
if len(lines) != 1:
    sys.exit(f"expected one JSON line, got {len(lines)}")
j = json.loads(lines[0])
def need(cond, what):
    if not cond:
        sys.exit(f"{what}: {lines[0]}")
need(j["transport"] == t and j["server"] == srv and j["relay"] == "tcp", "transport, server, relay")
ip, port = j["relayed"].rsplit(":", 1)
need(ip == "127.0.0.1" and int(lo) <= int(port) <= int(hi), f"relayed outside 127.0.0.1:{lo}-{hi}")
need(j["mapped"] == j["local"], "mapped differs from floe's local address")
need(j["via"] == via and j["connection_id"] > 0, "via, connection_id")
need(j["data_local"].startswith("127.0.0.1:") and j["data_local"] != j["local"], "data_local")
need(j["size"] == 101 and j["sent"] == int(count) and j["echoed"] == int(count) and j["lost"] == 0,
     f"{j.get('echoed')} of {count} records echoed")
need(j["deallocated"] is True, "not deallocated")
with open(ports, "a") as f:
    print(j["data_local"].rsplit(":", 1)[1], file=f)
print(f"relayed {j['relayed']}, connection {j['connection_id']:#010x} with {j['peer']}, "
      f"data connection from {j['data_local']}, {j['echoed']}/{count} records echoed "
      f"(avg {j['echo_rtt_ms']['avg']} ms)")
EOF
}

# ---- 2. Connect and accept, over tcp and tls, against floe and coturn ---------------------

declare -A port_of=([floe_tcp]=$P [floe_tls]=$PT [coturn_tcp]=$Q [coturn_tls]=$QT)
declare -A min_of=([floe]=$F_MIN [coturn]=$A_MIN) max_of=([floe]=$F_MAX [coturn]=$A_MAX)
: >"$FT_TMP/data_ports"
runs=0 plain_runs=0 plain_accepts=0
for server in floe coturn; do
  for t in tcp tls; do
    srv="127.0.0.1:${port_of[${server}_$t]}"
    args=(--json --transport "$t" --user "$USER" --password "$PASS" --count 40 --size 101 --interval 2)
    [ "$t" = tcp ] || args+=(--ca "$FT_TMP/tls/cert.pem")

    ft_check "floe turn --tcp-peer over $t to $server: Connect, ConnectionBind, 40 records echoed"
    run_turn "connect-$server-$t" 0 "${args[@]}" --tcp-peer "127.0.0.1:$E" "$srv"
    ft_ok "$(check_json "$FT_TMP/connect-$server-$t.out" "$t" "$srv" "${min_of[$server]}" "${max_of[$server]}" connect 40)"
    for want in "Connect" "connected to 127.0.0.1:$E (connection 0x" "ConnectionBind for connection" "40 of 40 records came back"; do
      grep -qF "$want" "$FT_TMP/connect-$server-$t.err" || ft_fail "no '$want' on stderr: $(cat "$FT_TMP/connect-$server-$t.err")"
    done

    ft_check "floe turn --tcp-accept over $t on $server: a peer connects to the relayed address, 40 records echoed"
    name="accept-$server-$t"
    ft_start_split "$name" "$FT_TMP/$name.out" timeout -k 2 60 "$FLOE" turn "${args[@]}" --tcp-accept 127.0.0.1 "$srv"
    ft_wait_log "$name" "waiting for 127\.0\.0\.1 to connect to " 15
    relayed=$(sed -n 's/.*to connect to \([0-9.]*:[0-9]*\) (the relayed address).*/\1/p' "$(ft_log_of "$name")")
    connect_peer "peer-$server-$t" "$relayed"
    ft_wait_exit "$name" 60
    [ "$FT_EXIT_STATUS" = 0 ] || ft_fail "floe turn --tcp-accept exited $FT_EXIT_STATUS: $(cat "$(ft_log_of "$name")")"
    cp "$(ft_log_of "$name")" "$FT_TMP/$name.err"
    ft_ok "$(check_json "$FT_TMP/$name.out" "$t" "$srv" "${min_of[$server]}" "${max_of[$server]}" accept 40)"
    grep -q "connected to the relayed address (connection 0x[0-9a-f]*): accepting" "$FT_TMP/$name.err" ||
      ft_fail "no accepted ConnectionAttempt: $(cat "$FT_TMP/$name.err")"
    peer_from=$(ft_json "$FT_TMP/$name.out" 'j["peer"]')
    ft_wait_log "peer-$server-$t" "echoed 4040 bytes" 10
    grep -qF "connected from $peer_from" "$(ft_log_of "peer-$server-$t")" ||
      ft_fail "the accepted peer is not the one that connected: $peer_from vs $(cat "$(ft_log_of "peer-$server-$t")")"
    ft_ok "the peer at $peer_from echoed 4040 bytes"
    runs=$((runs + 2))
    if [ "$t" = tcp ]; then plain_runs=$((plain_runs + 2)) plain_accepts=$((plain_accepts + 1)); fi
  done
done

# ---- 3. refusals ----------------------------------------------------------------------------

for server in floe coturn; do
  srv="127.0.0.1:${port_of[${server}_tcp]}"
  ft_check "$server: Connect to a port nobody listens on is a 447, one line, exit 1"
  run_turn "refused-$server" 1 --transport tcp --user "$USER" --password "$PASS" --tcp-peer "127.0.0.1:$X" "$srv"
  re447="^floe turn: Connect failed: 127\.0\.0\.1:[0-9]+ answered 447 \(Connection Timeout or Failure\)$"
  grep -qE "$re447" "$FT_TMP/refused-$server.err" || ft_fail "unexpected message: $(cat "$FT_TMP/refused-$server.err")"
  # The allocation was made: its lines are printed all the same, without a peer line.
  if ! grep -q "^relayed 127.0.0.1:" "$FT_TMP/refused-$server.out" || grep -q "^peer" "$FT_TMP/refused-$server.out"; then
    ft_fail "unexpected output: $(cat "$FT_TMP/refused-$server.out")"
  fi
  ft_ok "$(grep -E "$re447" "$FT_TMP/refused-$server.err")"
done

# floe server allows 127.0.0.1 only; coturn C keeps coturn's default (no loopback peers).
for case in "floe $P 127.0.0.2" "coturn $N 127.0.0.1"; do
  read -r server port ip <<<"$case"
  ft_check "$server: Connect to a peer its policy refuses ($ip) is a 403, and the allocation is released"
  run_turn "forbidden-$server" 1 --json --transport tcp --user "$USER" --password "$PASS" --tcp-peer "$ip:$E" "127.0.0.1:$port"
  grep -qE "^floe turn: Connect failed: 127\.0\.0\.1:$port answered 403 " "$FT_TMP/forbidden-$server.err" ||
    ft_fail "unexpected message: $(cat "$FT_TMP/forbidden-$server.err")"
  ft_expect_eq "$(ft_json "$FT_TMP/forbidden-$server.out" 'j["deallocated"]')" true "deallocated after the 403"
  ft_ok "$(tail -n 1 "$FT_TMP/forbidden-$server.err")"
done

ft_check "--tcp-accept and nobody connects: one line after --timeout, exit 1"
run_turn lonely 1 --transport tcp --user "$USER" --password "$PASS" --tcp-accept 127.0.0.1 --timeout 1 "127.0.0.1:$P"
grep -qE "^floe turn: no TCP connection from 127\.0\.0\.1 to 127\.0\.0\.1:[0-9]+ within 1 s$" "$FT_TMP/lonely.err" ||
  ft_fail "unexpected message: $(cat "$FT_TMP/lonely.err")"
ft_ok "$(tail -n 1 "$FT_TMP/lonely.err")"

ft_check "usage errors: exit 2 with the reason"
run_turn usage-udp 2 --tcp-peer "127.0.0.1:$E" "127.0.0.1:$P"
grep -q "needs --transport tcp or tls" "$FT_TMP/usage-udp.err" || ft_fail "$(cat "$FT_TMP/usage-udp.err")"
run_turn usage-both 2 --transport tcp --tcp-peer "127.0.0.1:$E" --peer "127.0.0.1:$E" "127.0.0.1:$P"
grep -q "exclude each other" "$FT_TMP/usage-both.err" || ft_fail "$(cat "$FT_TMP/usage-both.err")"
run_turn usage-port 2 --transport tcp --tcp-peer 127.0.0.1 "127.0.0.1:$P"
grep -q "bad --tcp-peer" "$FT_TMP/usage-port.err" || ft_fail "$(cat "$FT_TMP/usage-port.err")"
"$FLOE" turn --help >"$FT_TMP/help.txt"
if ! grep -q -- "--tcp-peer IP:PORT" "$FT_TMP/help.txt" || ! grep -q -- "--tcp-accept IP\[:PORT\]" "$FT_TMP/help.txt"; then
  ft_fail "--help does not teach --tcp-peer and --tcp-accept"
fi
ft_ok "$(tail -n 1 "$FT_TMP/usage-udp.err")"

ft_capture_stop cap

# ---- 4. the capture ---------------------------------------------------------------------------

# The data connections (by their local ports) go to their own capture; the rest are the
# control connections, STUN (or TLS) from the first byte to the last.
mapfile -t dports <"$FT_TMP/data_ports"
[ "${#dports[@]}" = "$runs" ] || ft_fail "${#dports[@]} data connections for $runs runs"
dset=$(IFS=,; echo "${dports[*]}")
tshark -n -r "$FT_TMP/cap.pcapng" -Y "!(tcp.port in {$dset})" -w "$FT_TMP/ctl.pcapng" 2>"$FT_TMP/split.err" ||
  ft_fail "tshark cannot split the capture: $(cat "$FT_TMP/split.err")"
tshark -n -r "$FT_TMP/cap.pcapng" -Y "tcp.port in {$dset}" -w "$FT_TMP/data.pcapng" 2>"$FT_TMP/split.err" ||
  ft_fail "tshark cannot split the capture: $(cat "$FT_TMP/split.err")"

# coturn closes connections with a reset; floe's kernel may reset what arrives after its FIN.
ft_capture_check ctl --tcp "$P" --tls "$PT" --tcp "$Q" --tls "$QT" --tcp "$N" --min 100 \
  --allow-rst-from "$Q" --allow-rst-from "$QT" --allow-rst-from "$N" --allow-rst-after-fin

count_msgs() { # CAPTURE TYPE [FILTER]: STUN messages of that type (over TCP one segment may carry several)
  ft_capture_fields "$1" "stun.type == $2${3:+ && $3}" stun.type | tr ',' '\n' | grep -cx "$2" || true
}
ft_check "the control connections on the wire (tcp: TLS hides its own)"
plain="tcp.port in {$P, $Q, $N}"
# Each plain run: a TCP Allocate (after its 401). The refusals too: 2 x 447, 2 x 403, the lonely wait.
alloc_tcp=$(ft_capture_count ctl "stun.type == 0x0003 && stun.att.transp == 6 && stun.att.hmac")
ft_expect_eq "$alloc_tcp" $((plain_runs + 5)) "authenticated Allocates with REQUESTED-TRANSPORT 6 (TCP)"
ft_expect_eq "$(ft_capture_count ctl "stun.att.transp == 17")" 0 "Allocates asking for UDP"
ft_expect_eq "$(count_msgs ctl 0x0103 "$plain")" $((plain_runs + 5)) "Allocate successes"
ft_expect_eq "$(count_msgs ctl 0x000a "$plain")" $((plain_runs - plain_accepts + 4)) "Connect requests"
ft_expect_eq "$(count_msgs ctl 0x010a "$plain")" $((plain_runs - plain_accepts)) "Connect successes"
ft_expect_eq "$(ft_capture_count ctl "stun.type == 0x011a && stun.att.error.class == 4 && stun.att.error == 47")" 2 "Connect 447 answers"
ft_expect_eq "$(ft_capture_count ctl "stun.type == 0x011a && stun.att.error.class == 4 && stun.att.error == 3")" 2 "Connect 403 answers"
ft_expect_eq "$(count_msgs ctl 0x001c "$plain")" "$plain_accepts" "ConnectionAttempt indications"
ft_expect_eq "$(count_msgs ctl 0x0108 "$plain")" $((plain_accepts + 1)) "CreatePermission successes (the accepts and the lonely wait)"
ft_expect_eq "$(ft_capture_count ctl "stun.type == 0x000b")" 0 "ConnectionBinds on a control connection"
ft_ok "$alloc_tcp TCP allocations, Connects and ConnectionAttempts as the runs made them"

ft_check "the data connections: the ConnectionBind decodes as STUN, then the peer's bytes; nothing malformed"
# shellcheck disable=SC2034 # read by ft_tshark
FT_DECODE=(-d "tcp.port==$PT,tls" -d "tcp.port==$QT,tls")
ft_capture_expect_none data "_ws.malformed" "a malformed packet"
ft_capture_experts data "$(ft_expert_warning_level)" "$(ft_allowed_resets data 1 "$Q" "$QT")"
ft_capture_expect_none data "stun && stun.type != 0x000b && stun.type != 0x010b" "STUN other than ConnectionBind and its success"
ft_expect_eq "$(count_msgs data 0x000b "$plain")" "$plain_runs" "ConnectionBind requests (plain tcp)"
ft_expect_eq "$(count_msgs data 0x010b "$plain")" "$plain_runs" "ConnectionBind successes (plain tcp)"
ft_expect_eq "$(ft_capture_count data "stun.type == 0x000b && !stun.att.hmac")" 0 "ConnectionBinds without MESSAGE-INTEGRITY"
hellos=$(ft_capture_count data "tls.handshake.type == 1")
ft_expect_eq "$hellos" $((runs - plain_runs)) "TLS ClientHellos on data connections (tls runs)"
ft_ok "$runs data connections: $plain_runs ConnectionBinds in clear, $hellos over TLS"

for s in srv turnA turnC echo; do ft_stop "$s"; done
ft_say "PASS"
