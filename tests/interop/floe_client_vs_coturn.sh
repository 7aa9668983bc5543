#!/usr/bin/env bash
# Interop: `floe stun` against coturn's turnserver (the reference STUN/TURN server), on
# loopback only, with tshark decoding every packet.
#
#   1. turnserver on 127.0.0.1 (UDP+TCP port P, TLS port P+2 with a self-signed
#      certificate); it must not listen anywhere but loopback;
#   2. `floe stun` over udp, tcp and tls (tls with --ca the test certificate), in text
#      (with --local, so the expected address is known) and in --json: the mapped
#      address equals the client's local address, rtt_ms > 0, the "local" floe reports
#      is the source address seen on the wire, coturn answered every request with a
#      success; without --ca the TLS client refuses the self-signed certificate;
#   3. tshark: UDP and TCP decode as STUN with no malformed packet and no warning/error
#      expert info; the TLS port carries a well-formed TLS handshake;
#   4. turnserver with two listening IPs (127.0.0.1 and 127.0.0.2: coturn then does
#      RFC 5780 by itself, with listening-port+1 as the alternate port, checked with
#      ss): `floe stun --behavior --json` reports mapping and filtering
#      "endpoint-independent", nat false, and coturn's OTHER-ADDRESS.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd turnserver openssl python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"
if "$FLOE" stun --help 2>&1 | grep -q 'not built yet'; then
  ft_fail "floe stun is not implemented in this build"
fi

# P+1 and PT+1 stay free: coturn's default alternate ports for P and PT.
read -r P _ PT _ Q Q_ALT L_UDP L_TCP L_TLS <<<"$(ft_free_ports 9)"
ft_say "turnserver: udp/tcp 127.0.0.1:$P, tls 127.0.0.1:$PT; RFC 5780 turnserver on 127.0.0.1+127.0.0.2:$Q (alt $Q_ALT)"
ft_make_cert "$FT_TMP/tls"

# Flags common to both turnservers: no config file, STUN only, no CLI/DTLS, a private
# user database and pid file, the log on stdout (kept in $FT_TMP).
turn_common=(-n --stun-only --no-cli --no-dtls --log-file stdout --simple-log --no-software-attribute)

# ft_start_turn NAME ARGS...: starts turnserver and waits for its UDP and TCP listeners.
start_turn() {
  local name=$1 port=$2
  shift 2
  ft_start "$name" turnserver "${turn_common[@]}" --pidfile "$FT_TMP/$name.pid" \
    --userdb "$FT_TMP/$name.db" --listening-port "$port" "$@"
  ft_wait_listen udp 127.0.0.1 "$port" "$FT_LAST_PID" 15
  ft_wait_listen tcp 127.0.0.1 "$port" "$FT_LAST_PID" 15
}

ft_capture_start cap "port $P or port $PT or port $Q or port $Q_ALT"

# ---- 1. coturn on 127.0.0.1 with TLS -----------------------------------------------

start_turn turn "$P" --listening-ip 127.0.0.1 --tls-listening-port "$PT" \
  --cert "$FT_TMP/tls/cert.pem" --pkey "$FT_TMP/tls/key.pem"
ft_wait_listen tcp 127.0.0.1 "$PT" "$(ft_pid turn)" 15
ft_assert_loopback_only "$(ft_pid turn)" "turnserver"

# ---- 2. floe stun over udp, tcp, tls -----------------------------------------------

run_floe() { # NAME ARGS...: runs floe stun with a time bound, output in $FT_TMP/NAME.out
  local name=$1 rc=0
  shift
  timeout -k 2 20 "$FLOE" stun "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = 0 ] || ft_fail "floe stun $* exited $rc:
$(cat "$FT_TMP/$name.err" "$FT_TMP/$name.out")"
}

declare -A server_port=([udp]=$P [tcp]=$P [tls]=$PT)
declare -A local_port=([udp]=$L_UDP [tcp]=$L_TCP [tls]=$L_TLS)
wire_clients=() # "transport port" pairs whose requests must appear on the wire
for t in udp tcp tls; do
  srv="127.0.0.1:${server_port[$t]}"
  lp=${local_port[$t]}
  args=(--transport "$t")
  [ "$t" != tls ] || args+=(--ca "$FT_TMP/tls/cert.pem")

  ft_check "floe stun --transport $t --local 127.0.0.1:$lp $srv (text): mapped 127.0.0.1:$lp, rtt > 0"
  run_floe "text-$t" "${args[@]}" --local "127.0.0.1:$lp" "$srv"
  line=$(cat "$FT_TMP/text-$t.out")
  re="^mapped 127\.0\.0\.1:$lp \(server $srv over $t, rtt ([0-9.]+) ms\)$"
  [[ $line =~ $re ]] || ft_fail "unexpected output of floe stun --transport $t: '$line'"
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "${BASH_REMATCH[1]}" ||
    ft_fail "rtt is not positive: '$line'"
  ft_ok "$line"
  wire_clients+=("$t $lp")

  ft_check "floe stun --json --transport $t $srv: local == mapped, rtt_ms > 0"
  run_floe "json-$t" --json "${args[@]}" "$srv"
  j="$FT_TMP/json-$t.out"
  ft_expect_eq "$(ft_json "$j" 'j["transport"]')" "$t" "$t: transport"
  ft_expect_eq "$(ft_json "$j" 'j["server"]')" "$srv" "$t: server"
  mapped=$(ft_json "$j" 'j["mapped"]')
  ft_expect_eq "$mapped" "$(ft_json "$j" 'j["local"]')" "$t: mapped vs local"
  case $mapped in 127.0.0.1:*) ;; *) ft_fail "$t: mapped $mapped is not on 127.0.0.1" ;; esac
  ft_expect_eq "$(ft_json "$j" 'j["rtt_ms"] > 0')" true "$t: rtt_ms > 0 ($(ft_json "$j" 'j["rtt_ms"]'))"
  wire_clients+=("$t ${mapped##*:}")
done

# The name form: the certificate's DNS name is checked too.
ft_check "floe stun --transport tls --ca cert --ipv4 localhost:$PT: verifies DNS:localhost"
run_floe tls-name --json --transport tls --ca "$FT_TMP/tls/cert.pem" --ipv4 "localhost:$PT"
ft_expect_eq "$(ft_json "$FT_TMP/tls-name.out" 'j["mapped"] == j["local"]')" true "tls by name: mapped == local"
wire_clients+=("tls $(ft_json "$FT_TMP/tls-name.out" 'j["local"].rsplit(":", 1)[1]')")

# ---- 4. RFC 5780 behaviour discovery against coturn ---------------------------------

start_turn turn5780 "$Q" --listening-ip 127.0.0.1 --listening-ip 127.0.0.2 --no-tls
for a in "127.0.0.1:$Q" "127.0.0.1:$Q_ALT" "127.0.0.2:$Q" "127.0.0.2:$Q_ALT"; do
  ft_wait_listen udp "${a%:*}" "${a##*:}" "$(ft_pid turn5780)" 15
done
ft_ok "coturn listens on both IPs at listening-port $Q and listening-port+1 = $Q_ALT (its RFC 5780 alternate)"
ft_assert_loopback_only "$(ft_pid turn5780)" "turnserver (RFC 5780)"

ft_check "floe stun --behavior --json 127.0.0.1:$Q: endpoint-independent mapping and filtering, nat false"
run_floe behavior --behavior --json "127.0.0.1:$Q"
j="$FT_TMP/behavior.out"
ft_expect_eq "$(ft_json "$j" 'j["mapping"]')" endpoint-independent "mapping"
ft_expect_eq "$(ft_json "$j" 'j["filtering"]')" endpoint-independent "filtering"
ft_expect_eq "$(ft_json "$j" 'j["nat"]')" false "nat"
ft_expect_eq "$(ft_json "$j" 'j["other_address"]')" "127.0.0.2:$Q_ALT" "other_address (coturn's OTHER-ADDRESS)"
ft_expect_eq "$(ft_json "$j" 'j["mapped"]')" "$(ft_json "$j" 'j["local"]')" "behavior: mapped vs local"

ft_check "floe stun --behavior 127.0.0.1:$Q (text)"
run_floe behavior-text --behavior "127.0.0.1:$Q"
grep -qx 'mapping: endpoint-independent' "$FT_TMP/behavior-text.out" ||
  ft_fail "text output lacks 'mapping: endpoint-independent': $(cat "$FT_TMP/behavior-text.out")"
grep -qx 'filtering: endpoint-independent' "$FT_TMP/behavior-text.out" ||
  ft_fail "text output lacks 'filtering: endpoint-independent': $(cat "$FT_TMP/behavior-text.out")"
grep -q '^nat: no' "$FT_TMP/behavior-text.out" ||
  ft_fail "text output lacks 'nat: no': $(cat "$FT_TMP/behavior-text.out")"
ft_ok "text: $(tr '\n' ';' <"$FT_TMP/behavior-text.out")"

ft_capture_stop cap

# ---- 3. the capture -----------------------------------------------------------------

# coturn ends every TCP/TLS connection with a reset once floe closes it (coturn's own
# abortive close), so its resets are allowed. floe sends close_notify and FIN without
# waiting for coturn's close_notify (RFC 8446 §6.1 allows it); when that alert arrives
# after floe's close, floe's kernel answers with a reset: allowed after floe's FIN only.
# floe must close first and gracefully (checked below).
ft_capture_check cap --udp "$P" --tcp "$P" --tls "$PT" --udp "$Q" --udp "$Q_ALT" --min 30 \
  --allow-rst-from "$P" --allow-rst-from "$PT" --allow-rst-after-fin

ft_check "on the wire: floe closes each TCP/TLS connection first and gracefully (FIN, or TLS alert), never resets an open one"
ft_tshark cap -Y "tcp.port == $P || tcp.port == $PT" -T fields -E separator=/t -e tcp.stream \
  -e tcp.dstport -e tcp.flags.syn -e tcp.flags.fin -e tcp.flags.reset -e tls.record.content_type \
  >"$FT_TMP/closing.txt"
python3 - "$FT_TMP/closing.txt" "$P" "$PT" >"$FT_TMP/closing.check" <<'EOF2' ||
import sys
servers = set(sys.argv[2:])
streams = {}
for line in open(sys.argv[1]):
    stream, dport, syn, fin, rst, ctype = line.rstrip("\n").split("\t")
    st = streams.setdefault(stream, {"first_close": None, "floe_fin": False})
    from_client = dport in servers
    if from_client and rst in ("1", "True") and not st["floe_fin"]:
        sys.exit(f"tcp stream {stream}: floe reset the connection before closing it with a FIN")
    if from_client and fin in ("1", "True"):
        st["floe_fin"] = True
    closing = fin in ("1", "True") or rst in ("1", "True") or "21" in ctype.split(",")
    if closing and st["first_close"] is None:
        st["first_close"] = "floe" if from_client else "coturn"
for stream, st in streams.items():
    if st["first_close"] != "floe":
        sys.exit(f"tcp stream {stream}: closed first by {st['first_close']}, expected floe")
print(len(streams))
EOF2
  ft_fail "$(cat "$FT_TMP/closing.check")"
ft_ok "$(cat "$FT_TMP/closing.check") connections, each closed first by floe"

ft_check "on the wire: coturn answered every floe request on udp/tcp with a success"
n=$(ft_capture_count cap "stun.type.class == 0x0003 || stun.type.class == 0x0001")
ft_expect_eq "$n" 0 "error responses and indications"
req=$(ft_capture_fields cap "(udp.dstport == $P || tcp.dstport == $P) && stun.type == 0x0001" stun.type | tr ',' '\n' | grep -c .)
resp=$(ft_capture_fields cap "(udp.srcport == $P || tcp.srcport == $P) && stun.type == 0x0101" stun.type | tr ',' '\n' | grep -c .)
[ "$req" -ge 4 ] || ft_fail "only $req Binding requests from floe to port $P on the wire"
ft_expect_eq "$resp" "$req" "success responses vs requests on port $P"

for c in "${wire_clients[@]}"; do
  read -r t lp <<<"$c"
  case $t in
  udp) f="ip.src == 127.0.0.1 && udp.srcport == $lp && udp.dstport == $P && stun.type == 0x0001" ;;
  tcp) f="ip.src == 127.0.0.1 && tcp.srcport == $lp && tcp.dstport == $P && stun.type == 0x0001" ;;
  tls) f="ip.src == 127.0.0.1 && tcp.srcport == $lp && tcp.dstport == $PT && tls.handshake.type == 1" ;;
  esac
  n=$(ft_capture_count cap "$f")
  [ "$n" -ge 1 ] || ft_fail "$t: nothing from floe's reported local address 127.0.0.1:$lp on the wire"
  ft_ok "$t: floe's local address 127.0.0.1:$lp is the source seen on the wire"
done

# With no NAT (mapped == local after test I) RFC 5780 §4.3 needs no further mapping
# test; the filtering test II (CHANGE-REQUEST ip+port) must have run and been answered
# from coturn's other address.
ft_check "on the wire: floe's filtering test sent CHANGE-REQUEST ip+port and coturn answered from 127.0.0.2:$Q_ALT"
n=$(ft_capture_count cap "udp.dstport == $Q && stun.type == 0x0001 && stun.att.change-ip == 1 && stun.att.change-port == 1")
[ "$n" -ge 2 ] || ft_fail "expected a CHANGE-REQUEST (ip+port) from each --behavior run, saw $n"
n2=$(ft_capture_count cap "ip.src == 127.0.0.2 && udp.srcport == $Q_ALT && stun.type == 0x0101")
ft_expect_eq "$n2" "$n" "answers from 127.0.0.2:$Q_ALT vs CHANGE-REQUESTs"

# ---- TLS must verify: outside the capture (the refusal ends in a fatal alert) ------

ft_check "floe stun --transport tls without --ca refuses the self-signed certificate"
rc=0
timeout -k 2 20 "$FLOE" stun --transport tls "127.0.0.1:$PT" >"$FT_TMP/tls-noca.out" 2>&1 || rc=$?
ft_expect_eq "$rc" 1 "exit status without --ca"
grep -q 'certificate verify failed' "$FT_TMP/tls-noca.out" ||
  ft_fail "floe stun failed without --ca, but not on certificate verification: $(cat "$FT_TMP/tls-noca.out")"
ft_ok "$(cat "$FT_TMP/tls-noca.out")"

ft_stop turn
ft_stop turn5780
ft_say "PASS"
