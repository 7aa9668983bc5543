#!/usr/bin/env bash
# Interop: `floe turn` against coturn's turnserver (the reference TURN server), on
# loopback only, with tshark decoding every packet between client and server.
#
#   1. four turnservers on 127.0.0.1, relaying on 127.0.0.1 from their own port ranges:
#      A with a long-term user (UDP+TCP on P, TLS on TCP PT and DTLS on UDP PT with a
#      throwaway certificate) and --allow-loopback-peers (coturn refuses loopback peers by
#      default; the test's peer is on loopback); B with TURN REST credentials
#      (--use-auth-secret --static-auth-secret) on R; C like A but with coturn's default
#      peer policy, on N; D on Q (and DTLS on QT), which redirects every Allocate to A
#      (--alternate-server, --tls-alternate-server: 300). An echo peer (floe bench echo)
#      on 127.0.0.1:E;
#   2. floe turn --json over udp, tcp, tls and dtls, with Send indications and with a
#      channel: relayed on 127.0.0.1 inside A's relay range, mapped == floe's local
#      address, every datagram echoed through the relay, the allocation released;
#   3. --secret against B, with and without --user; D's 300 over udp, tcp and dtls: floe
#      follows it once and allocates on A;
#   4. refusals: a wrong password is a 401 and exit 1; C refuses the loopback peer with
#      403 and floe still deallocates; over dtls a certificate without the server's name
#      and a server that never answers the handshake (it sees the ClientHello sent again)
#      are one line each and exit 1; the text output of a good run;
#   5. the capture (ports P, PT, R, N, Q, QT): every packet STUN or ChannelData (TLS on
#      TCP PT, DTLS on UDP PT and QT), none malformed, no warning/error expert info,
#      ChannelData lengths right; on the wire each run made the 401 round,
#      CreatePermission or ChannelBind, data both ways, and a Refresh with LIFETIME 0 that
#      coturn confirmed; DTLS application data went both ways.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd turnserver openssl python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"

# 49 consecutive free ports: servers (each with its +1 left free for coturn's alternate
# port), the echo peer, four relay ranges, and a UDP port that never answers (S).
read -r -a ports <<<"$(ft_free_ports 49 127.0.0.1)"
P=${ports[0]} PT=${ports[2]} R=${ports[4]} N=${ports[6]} E=${ports[8]} Q=${ports[10]}
A_MIN=${ports[12]} A_MAX=${ports[26]} B_MIN=${ports[27]} B_MAX=${ports[34]}
C_MIN=${ports[35]} C_MAX=${ports[40]} D_MIN=${ports[41]} D_MAX=${ports[45]}
QT=${ports[46]} S=${ports[48]}
ft_say "turnserver A udp/tcp 127.0.0.1:$P tls/dtls :$PT relay $A_MIN-$A_MAX; B (REST) :$R; C (default peer policy) :$N; D (redirects to A) :$Q dtls :$QT; echo peer :$E"
ft_make_cert "$FT_TMP/tls"

USER=alice PASS=wonderland REALM=floe.test SECRET=northwind
# DTLS is on by default (on the TLS port, default 5349): the servers without it say so.
turn_common=(-n --no-cli --log-file stdout --simple-log --listening-ip 127.0.0.1
  --relay-ip 127.0.0.1 --no-multicast-peers)

start_turn() { # NAME PORT MIN MAX ARGS...
  local name=$1 port=$2 min=$3 max=$4
  shift 4
  ft_start "$name" turnserver "${turn_common[@]}" --pidfile "$FT_TMP/$name.pid" \
    --userdb "$FT_TMP/$name.db" --listening-port "$port" --min-port "$min" --max-port "$max" "$@"
  ft_wait_listen udp 127.0.0.1 "$port" "$FT_LAST_PID" 15
}

ft_capture_start cap "port $P or port $PT or port $R or port $N or port $Q or port $QT"

start_turn turnA "$P" "$A_MIN" "$A_MAX" --tls-listening-port "$PT" \
  --cert "$FT_TMP/tls/cert.pem" --pkey "$FT_TMP/tls/key.pem" \
  --lt-cred-mech --user "$USER:$PASS" --realm "$REALM" --allow-loopback-peers
ft_wait_listen tcp 127.0.0.1 "$P" "$(ft_pid turnA)" 15
ft_wait_listen tcp 127.0.0.1 "$PT" "$(ft_pid turnA)" 15
ft_wait_listen udp 127.0.0.1 "$PT" "$(ft_pid turnA)" 15
start_turn turnB "$R" "$B_MIN" "$B_MAX" --no-tls --no-dtls --use-auth-secret \
  --static-auth-secret "$SECRET" --realm "$REALM" --allow-loopback-peers
start_turn turnC "$N" "$C_MIN" "$C_MAX" --no-tls --no-dtls --lt-cred-mech --user "$USER:$PASS" \
  --realm "$REALM"
start_turn turnD "$Q" "$D_MIN" "$D_MAX" --tls-listening-port "$QT" \
  --cert "$FT_TMP/tls/cert.pem" --pkey "$FT_TMP/tls/key.pem" \
  --lt-cred-mech --user "$USER:$PASS" --realm "$REALM" \
  --alternate-server "127.0.0.1:$P" --tls-alternate-server "127.0.0.1:$PT"
ft_wait_listen tcp 127.0.0.1 "$Q" "$(ft_pid turnD)" 15
ft_wait_listen udp 127.0.0.1 "$QT" "$(ft_pid turnD)" 15
for s in turnA turnB turnC turnD; do ft_assert_loopback_only "$(ft_pid "$s")" "turnserver $s"; done

ft_start echo "$FLOE" bench echo --listen "127.0.0.1:$E"
ft_wait_listen udp 127.0.0.1 "$E" "$(ft_pid echo)" 10

run_turn() { # NAME EXPECTED-STATUS ARGS...: floe turn with a time bound, output in $FT_TMP/NAME.*
  local name=$1 want=$2 rc=0
  shift 2
  timeout -k 2 40 "$FLOE" turn "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = "$want" ] || ft_fail "floe turn $* exited $rc, expected $want:
$(cat "$FT_TMP/$name.err" "$FT_TMP/$name.out")"
}

# check_json FILE TRANSPORT SERVER MIN MAX [VIA COUNT]: the JSON line of a good run.
check_json() {
  local j=$1 t=$2 srv=$3 min=$4 max=$5 via=${6:-} count=${7:-0}
  python3 - "$j" "$t" "$srv" "$min" "$max" "$via" "$count" <<'EOF' || ft_fail "$(cat "$j")"
import json, sys
path, t, srv, lo, hi, via, count = sys.argv[1:8]
lines = open(path).read().splitlines()
if len(lines) != 1:
    sys.exit(f"expected one JSON line, got {len(lines)}")
j = json.loads(lines[0])
def need(cond, what):
    if not cond:
        sys.exit(f"{what}: {lines[0]}")
need(j["transport"] == t, "transport")
need(j["server"] == srv, "server")
ip, port = j["relayed"].rsplit(":", 1)
need(ip == "127.0.0.1" and int(lo) <= int(port) <= int(hi), f"relayed outside 127.0.0.1:{lo}-{hi}")
need(j["mapped"] == j["local"], "mapped differs from floe's local address")
need(j["lifetime"] > 0 and j["rtt_ms"] > 0, "lifetime and rtt_ms")
need(j["deallocated"] is True, "not deallocated")
if via:
    need(j["via"] == via, "via")
    need(j["sent"] == int(count) and j["echoed"] == int(count) and j["lost"] == 0,
         f"{j.get('echoed')} of {count} echoed")
    if via == "channel":
        need(0x4000 <= j["channel"] <= 0x4FFF, "channel number")
print(f"relayed {j['relayed']} mapped {j['mapped']} rtt {j['rtt_ms']} ms" +
      (f", {j['echoed']}/{count} echoed via {via} (avg {j['echo_rtt_ms']['avg']} ms)" if via else ""))
EOF
}

# ---- 2. udp, tcp, tls, dtls; Send indications and a channel ----------------------------

declare -A server_port=([udp]=$P [tcp]=$P [tls]=$PT [dtls]=$PT)
runs=0
for t in udp tcp tls dtls; do
  srv="127.0.0.1:${server_port[$t]}"
  args=(--json --transport "$t" --user "$USER" --password "$PASS" --realm "$REALM")
  case $t in tls | dtls) args+=(--ca "$FT_TMP/tls/cert.pem") ;; esac

  ft_check "floe turn over $t: allocate, print relayed and mapped, deallocate"
  run_turn "alloc-$t" 0 "${args[@]}" "$srv"
  ft_ok "$(check_json "$FT_TMP/alloc-$t.out" "$t" "$srv" "$A_MIN" "$A_MAX")"
  runs=$((runs + 1))

  for via in send channel; do
    extra=(--peer "127.0.0.1:$E" --count 50 --size 101 --interval 2)
    [ "$via" = send ] || extra+=(--channel)
    ft_check "floe turn over $t to the echo peer via $via: 50 datagrams of 101 bytes all come back"
    run_turn "$via-$t" 0 "${args[@]}" "${extra[@]}" "$srv"
    ft_ok "$(check_json "$FT_TMP/$via-$t.out" "$t" "$srv" "$A_MIN" "$A_MAX" "$via" 50)"
    runs=$((runs + 1))
  done
done

# ---- 3. TURN REST credentials -------------------------------------------------------------

for who in bob ""; do
  ft_check "floe turn --secret ${who:+--user $who }against coturn --use-auth-secret"
  extra=()
  [ -z "$who" ] || extra=(--user "$who")
  run_turn "rest-${who:-anon}" 0 --json --secret "$SECRET" "${extra[@]}" --peer "127.0.0.1:$E" \
    --channel --count 10 "127.0.0.1:$R"
  ft_ok "$(check_json "$FT_TMP/rest-${who:-anon}.out" udp "127.0.0.1:$R" "$B_MIN" "$B_MAX" channel 10)"
  runs=$((runs + 1))
done

for t in udp tcp dtls; do
  from=$Q to=$P extra=()
  [ "$t" != dtls ] || { from=$QT to=$PT extra=(--ca "$FT_TMP/tls/cert.pem"); }
  ft_check "floe turn over $t to D: the 300 ALTERNATE-SERVER is followed to A"
  run_turn "redirect-$t" 0 --json --transport "$t" --user "$USER" --password "$PASS" "${extra[@]}" \
    --peer "127.0.0.1:$E" --count 10 "127.0.0.1:$from"
  grep -q "redirected to 127.0.0.1:$to (300 ALTERNATE-SERVER)" "$FT_TMP/redirect-$t.err" ||
    ft_fail "no redirect reported: $(cat "$FT_TMP/redirect-$t.err")"
  ft_ok "$(check_json "$FT_TMP/redirect-$t.out" "$t" "127.0.0.1:$to" "$A_MIN" "$A_MAX" send 10)"
  runs=$((runs + 1))
done

# ---- 4. refusals and the text output ------------------------------------------------------

ft_check "a wrong password: 401, one clear line, exit 1"
run_turn wrong-pass 1 --user "$USER" --password nope "127.0.0.1:$P"
grep -q "rejected the credentials (401" "$FT_TMP/wrong-pass.err" ||
  ft_fail "unexpected message: $(cat "$FT_TMP/wrong-pass.err")"
[ ! -s "$FT_TMP/wrong-pass.out" ] || ft_fail "output on failure: $(cat "$FT_TMP/wrong-pass.out")"
ft_ok "$(tail -n 1 "$FT_TMP/wrong-pass.err")"

ft_check "a wrong secret against the REST server: 401, exit 1"
run_turn wrong-secret 1 --secret not-it --user bob "127.0.0.1:$R"
grep -q "wrong secret" "$FT_TMP/wrong-secret.err" || ft_fail "$(cat "$FT_TMP/wrong-secret.err")"
ft_ok "$(tail -n 1 "$FT_TMP/wrong-secret.err")"

ft_check "coturn's default policy refuses a loopback peer: 403, and floe still deallocates"
run_turn forbidden 1 --json --user "$USER" --password "$PASS" --peer "127.0.0.1:$E" "127.0.0.1:$N"
grep -q "CreatePermission failed: .* answered 403" "$FT_TMP/forbidden.err" ||
  ft_fail "unexpected message: $(cat "$FT_TMP/forbidden.err")"
ft_expect_eq "$(ft_json "$FT_TMP/forbidden.out" 'j["deallocated"]')" true "deallocated after the 403"
runs=$((runs + 1))

ft_check "dtls to a certificate without the server's name: the handshake fails, one line, exit 1"
run_turn dtls-name 1 --transport dtls --ipv4 --ca "$FT_TMP/tls/cert.pem" --user "$USER" \
  --password "$PASS" "other.localhost:$PT"
re_name="^floe turn: DTLS with 127\.0\.0\.1:$PT failed: DTLS handshake: certificate verify failed: hostname mismatch$"
if ! { [ "$(wc -l <"$FT_TMP/dtls-name.err")" = 1 ] && grep -q "$re_name" "$FT_TMP/dtls-name.err"; }; then
  ft_fail "unexpected message: $(cat "$FT_TMP/dtls-name.err")"
fi
ft_ok "$(cat "$FT_TMP/dtls-name.err")"

ft_check "dtls to a port that never answers: the ClientHello is sent again, then one line, exit 1"
ft_start silent python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $S))
while True:
    print(len(s.recv(65536)), flush=True)"
ft_wait_listen udp 127.0.0.1 "$S" "$(ft_pid silent)" 10
run_turn dtls-silent 1 --transport dtls --ca "$FT_TMP/tls/cert.pem" --timeout 1.5 "127.0.0.1:$S"
re_silent="^floe turn: DTLS handshake with 127\.0\.0\.1:$S over dtls timed out after 1\.5 s$"
if ! { [ "$(wc -l <"$FT_TMP/dtls-silent.err")" = 1 ] && grep -q "$re_silent" "$FT_TMP/dtls-silent.err"; }; then
  ft_fail "unexpected message: $(cat "$FT_TMP/dtls-silent.err")"
fi
ft_stop silent
# RFC 6347 §4.2.4.1: the first flight again after 1 s (the next would be due at 3 s).
ft_expect_eq "$(wc -l <"$(ft_log_of silent)")" 2 "ClientHellos the silent port received"
ft_ok "$(cat "$FT_TMP/dtls-silent.err")"

ft_check "the text output"
run_turn text 0 --user "$USER" --password "$PASS" --peer "127.0.0.1:$E" --channel --count 5 "127.0.0.1:$P"
re_relayed="^relayed 127\.0\.0\.1:[0-9]+ \(server 127\.0\.0\.1:$P over udp, lifetime [0-9]+ s, rtt [0-9.]+ ms\)$"
re_peer="^peer 127\.0\.0\.1:$E: 5/5 echoed via channel 0x4[0-9a-f]{3} \(rtt min/avg/max [0-9./]+ ms\)$"
mapfile -t lines <"$FT_TMP/text.out"
if ! { [ "${#lines[@]}" = 3 ] && [[ ${lines[0]} =~ $re_relayed ]] &&
  [[ ${lines[1]} =~ ^mapped\ 127\.0\.0\.1:[0-9]+$ ]] && [[ ${lines[2]} =~ $re_peer ]]; }; then
  ft_fail "unexpected text output: $(cat "$FT_TMP/text.out")"
fi
ft_ok "$(paste -sd';' "$FT_TMP/text.out")"
runs=$((runs + 1))

ft_capture_stop cap

# ---- 5. the capture ---------------------------------------------------------------------

# coturn closes TCP/TLS connections with a reset after the last message (see
# floe_client_vs_coturn.sh); floe's kernel may reset data that arrives after floe's FIN.
# The one fatal alert: floe's bad_certificate (42) to the certificate without its name.
ft_capture_check cap --udp "$P" --tcp "$P" --tls "$PT" --dtls "$PT" --udp "$R" --udp "$N" \
  --udp "$Q" --tcp "$Q" --dtls "$QT" --min 100 --allow-tls-alert 42 \
  --allow-rst-from "$P" --allow-rst-from "$PT" --allow-rst-from "$Q" --allow-rst-after-fin

count() { ft_capture_count cap "$1"; }
# Messages rather than packets: over TCP one segment may carry several.
count_msgs() { # TYPE: STUN messages of that type (e.g. 0x0016) in the capture
  ft_capture_fields cap "stun.type == $1" stun.type | tr ',' '\n' | grep -cx "$1" || true
}
ft_check "on the wire (udp and tcp, TLS and DTLS hide their runs): each run's 401 round, requests answered, data both ways"
# The runs in clear (TLS hides its own): alloc/send/channel over udp and tcp (6), the text
# run, 2 REST runs, the 403 run, 2 with wrong credentials and the 2 redirected to A; each
# makes the 401 round.
plain=$((6 + 1 + 2 + 1 + 2 + 2))
n401=$(count "stun.type == 0x0113 && stun.att.error.class == 4 && stun.att.error == 1")
[ "$n401" -ge "$plain" ] || ft_fail "only $n401 Allocate 401 answers for $plain plain runs"
ok_alloc=$(count "stun.type == 0x0103")
ft_expect_eq "$ok_alloc" $((plain - 2)) "Allocate successes (all but the two wrong credentials)"
ft_expect_eq "$(count "stun.type == 0x0004 && stun.att.lifetime == 0")" "$ok_alloc" "Refresh requests with LIFETIME 0"
ft_expect_eq "$(count "stun.type == 0x0104 && stun.att.lifetime == 0")" "$ok_alloc" "Refresh successes with LIFETIME 0"
ft_expect_eq "$(count "stun.type == 0x0118")" 1 "CreatePermission errors (the 403)"
[ "$(count "stun.type == 0x0108")" -ge 2 ] || ft_fail "no CreatePermission success on the wire"
[ "$(count "stun.type == 0x0109")" -ge 4 ] || ft_fail "too few ChannelBind successes on the wire"
ft_expect_eq "$(count_msgs 0x0016)" 120 "Send indications (50 + 10 over udp, 50 + 10 over tcp)"
ft_expect_eq "$(count_msgs 0x0017)" 120 "Data indications"
ft_expect_eq "$(count "stun.type == 0x0113 && stun.att.error.class == 3 && stun.att.error == 0 && (udp.srcport == $Q || tcp.srcport == $Q)")" 2 "300 answers from D"
chan=$(count "stun.channel && udp.dstport == $P")
ft_expect_eq "$chan" $((50 + 5)) "ChannelData datagrams to A over udp"
ft_expect_eq "$(count "stun.channel && udp.srcport == $P")" "$chan" "ChannelData datagrams back from A"
ft_expect_eq "$(count "stun.channel && udp.dstport == $R")" 20 "ChannelData datagrams to B"
ft_ok "$runs runs: $ok_alloc allocations made and released, $n401 401 rounds"

ft_check "on the wire over dtls: application data both ways, one fatal alert"
to_a=$(count "udp.dstport == $PT && dtls.record.content_type == 23")
from_a=$(count "udp.srcport == $PT && dtls.record.content_type == 23")
# Each echo run sends 50 datagrams and gets 50 back (plus the requests and answers).
if [ "$to_a" -le 100 ] || [ "$from_a" -le 100 ]; then
  ft_fail "too little DTLS application data on $PT: $to_a to A, $from_a from A"
fi
ft_expect_eq "$(count "dtls.record.epoch == 0 && dtls.alert_message.level == 2 && dtls.alert_message.desc == 42")" 1 \
  "fatal DTLS alerts (the name mismatch)"
ft_ok "$to_a DTLS records to A, $from_a from A"

for s in turnA turnB turnC turnD echo; do ft_stop "$s"; done
ft_say "PASS"
