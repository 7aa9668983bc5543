#!/usr/bin/env bash
# Interop: coturn's STUN clients (turnutils_stunclient, turnutils_natdiscovery) against
# `floe server` over UDP on loopback, with tshark decoding every packet.
#
#   1. plain Binding: the reflexive address coturn prints is the client's own source
#      address as seen on the wire (from 127.0.0.1 and from 127.0.0.2);
#   2. `turnutils_stunclient -f` against a server without RFC 5780: floe answers the
#      CHANGE-REQUEST with 420 and UNKNOWN-ATTRIBUTES listing 0x0003 (RFC 5780 §6.1);
#   3. RFC 5780 (`--rfc5780 --alt-address`): `turnutils_stunclient -f` sees
#      RESPONSE-ORIGIN/OTHER-ADDRESS right, the CHANGE-REQUEST answers leave from the
#      alternate address, RESPONSE-PORT is honoured; `turnutils_natdiscovery -m -f`
#      reports endpoint-independent mapping and filtering;
#   4. the capture: only STUN, nothing malformed, no warning/error expert info;
#   5. `floe server --stats`: rx = answered + dropped, and the counters equal what
#      tshark saw on the wire.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd turnutils_stunclient turnutils_natdiscovery python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"

read -r PLAIN P1 P2 <<<"$(ft_free_ports 3)"
ft_say "ports: plain server udp 127.0.0.1:$PLAIN; RFC 5780 server 127.0.0.1:$P1 + 127.0.0.2:$P2"

ft_capture_start cap "udp and (port $PLAIN or port $P1 or port $P2)"

# Runs a coturn client with a time bound; its output goes to $FT_TMP/NAME.out.
run_client() {
  local name=$1 secs=$2
  shift 2
  local rc=0
  timeout -k 2 "$secs" "$@" >"$FT_TMP/$name.out" 2>&1 || rc=$?
  printf '%s' "$rc"
}

# ---- 1 and 2: a server without RFC 5780 --------------------------------------------

ft_start plain "$FLOE" server --listen "udp://127.0.0.1:$PLAIN" --control "$FT_TMP/plain.sock"
ft_wait_listen udp 127.0.0.1 "$PLAIN" "$(ft_pid plain)"
ft_wait_file "$FT_TMP/plain.sock" "$(ft_pid plain)"

for src in 127.0.0.1 127.0.0.2; do
  ft_check "turnutils_stunclient -L $src -> floe 127.0.0.1:$PLAIN prints the client's own address"
  rc=$(run_client "stun-$src" 10 turnutils_stunclient -L "$src" -p "$PLAIN" 127.0.0.1)
  [ "$rc" = 0 ] || ft_fail "turnutils_stunclient exited $rc: $(cat "$FT_TMP/stun-$src.out")"
  refl=$(sed -n 's/.*UDP reflexive addr: *\([0-9.]*:[0-9]*\).*/\1/p' "$FT_TMP/stun-$src.out" | sort -u)
  [ "$(printf '%s\n' "$refl" | grep -c .)" = 1 ] ||
    ft_fail "expected one reflexive address from turnutils_stunclient, got: $(cat "$FT_TMP/stun-$src.out")"
  case $refl in "$src":*) ;; *) ft_fail "reflexive address $refl is not on $src" ;; esac
  port=${refl##*:}
  ft_ok "turnutils_stunclient got $refl (checked against the wire below)"
  echo "$src $port" >>"$FT_TMP/plain-clients"
done

ft_check "turnutils_stunclient -f against floe without --rfc5780: a 420 for the CHANGE-REQUEST"
# This client then waits on the RESPONSE-PORT socket for ever (the 420 goes, rightly, to
# the request's source): its exit status is not checked, only what floe answered.
run_client stun-f-plain 3 turnutils_stunclient -f -p "$PLAIN" 127.0.0.1 >/dev/null

ft_say "stats of the plain server"
"$FLOE" server --stats --control "$FT_TMP/plain.sock" >"$FT_TMP/plain-stats.json" ||
  ft_fail "floe server --stats failed"
ft_stop plain
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe server (plain) exited with status $FT_STOP_STATUS on SIGTERM"

# ---- 3: RFC 5780 --------------------------------------------------------------------

ft_start r5780 "$FLOE" server --rfc5780 --listen "udp://127.0.0.1:$P1" --alt-address "127.0.0.2:$P2" \
  --control "$FT_TMP/r5780.sock"
for a in "127.0.0.1:$P1" "127.0.0.1:$P2" "127.0.0.2:$P1" "127.0.0.2:$P2"; do
  ft_wait_listen udp "${a%:*}" "${a##*:}" "$(ft_pid r5780)"
done
ft_wait_file "$FT_TMP/r5780.sock" "$(ft_pid r5780)"
ft_ok "floe server --rfc5780 listens on the four address/port combinations"

ft_check "turnutils_stunclient -f against floe --rfc5780"
rc=$(run_client stun-f 10 turnutils_stunclient -f -p "$P1" 127.0.0.1)
[ "$rc" = 0 ] || ft_fail "turnutils_stunclient -f exited $rc: $(cat "$FT_TMP/stun-f.out")"
# The output has three blocks "RFC 5780 response N" with Response origin, Other addr and
# UDP reflexive addr (each line printed twice, to stdout and the log).
python3 - "$FT_TMP/stun-f.out" "$P1" "$P2" >"$FT_TMP/stun-f.parsed" <<'EOF' ||
import re, sys
text = open(sys.argv[1]).read()
p1, p2 = sys.argv[2], sys.argv[3]
blocks = re.split(r"RFC 5780 response (\d+)", text)[1:]
got = {}
for num, body in zip(blocks[0::2], blocks[1::2]):
    def one(label):
        vals = set(re.findall(label + r":?\s*:?\s*([0-9.]+:[0-9]+)", body))
        if len(vals) != 1:
            sys.exit(f"response {num}: expected one '{label}', got {sorted(vals)}")
        return vals.pop()
    got[int(num)] = (one("Response origin"), one("Other addr"), one("UDP reflexive addr"))
if sorted(got) != [1, 2, 3]:
    sys.exit(f"expected RFC 5780 responses 1, 2, 3; got {sorted(got)}")
(o1, x1, r1), (o2, x2, r2), (o3, x3, r3) = got[1], got[2], got[3]
want = [
    # test 1: plain Binding to the primary address
    (o1, f"127.0.0.1:{p1}", "response 1 origin (the primary)"),
    (x1, f"127.0.0.2:{p2}", "response 1 OTHER-ADDRESS (the alternate)"),
    # test 2: CHANGE-REQUEST ip+port with RESPONSE-PORT: answered from the alternate
    (o2, f"127.0.0.2:{p2}", "response 2 origin (changed IP and port)"),
    (r2, r1, "response 2 reflexive address (same socket as test 1)"),
    # test 3: CHANGE-REQUEST ip+port with PADDING from the RESPONSE-PORT socket
    (o3, f"127.0.0.2:{p2}", "response 3 origin (changed IP and port)"),
]
for have, expect, what in want:
    if have != expect:
        sys.exit(f"{what}: got {have}, expected {expect}")
if not r1.startswith("127.0.0.1:"):
    sys.exit(f"response 1 reflexive address {r1} is not on 127.0.0.1")
port1 = int(r1.split(":")[1])
if r3 != f"127.0.0.1:{port1 + 1}":
    sys.exit(f"response 3 reflexive address {r3}: expected 127.0.0.1:{port1 + 1} (the RESPONSE-PORT socket)")
print(r1, r3)
EOF
  ft_fail "turnutils_stunclient -f output is wrong: $(cat "$FT_TMP/stun-f.parsed" 2>/dev/null)
$(cat "$FT_TMP/stun-f.out")"
ft_ok "RESPONSE-ORIGIN, OTHER-ADDRESS, RESPONSE-PORT and CHANGE-REQUEST as RFC 5780 says ($(cat "$FT_TMP/stun-f.parsed"))"

ft_check "turnutils_natdiscovery -m -f against floe --rfc5780: endpoint-independent mapping and filtering"
rc=$(run_client natdisc 20 turnutils_natdiscovery -m -f -p "$P1" 127.0.0.1)
[ "$rc" = 0 ] || ft_fail "turnutils_natdiscovery exited $rc: $(cat "$FT_TMP/natdisc.out")"
grep -qx 'NAT with Endpoint Independent Mapping!' "$FT_TMP/natdisc.out" ||
  ft_fail "natdiscovery did not report 'NAT with Endpoint Independent Mapping!':
$(cat "$FT_TMP/natdisc.out")"
ft_ok "natdiscovery: NAT with Endpoint Independent Mapping!"
grep -qx 'NAT with Endpoint Independent Filtering!' "$FT_TMP/natdisc.out" ||
  ft_fail "natdiscovery did not report 'NAT with Endpoint Independent Filtering!':
$(cat "$FT_TMP/natdisc.out")"
ft_ok "natdiscovery: NAT with Endpoint Independent Filtering!"
if grep -qiE 'error|not received a response|No response' "$FT_TMP/natdisc.out"; then
  ft_fail "natdiscovery reported a problem:
$(cat "$FT_TMP/natdisc.out")"
fi

"$FLOE" server --stats --control "$FT_TMP/r5780.sock" >"$FT_TMP/r5780-stats.json" ||
  ft_fail "floe server --stats failed"
ft_stop r5780
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe server (rfc5780) exited with status $FT_STOP_STATUS on SIGTERM"
ft_capture_stop cap

# ---- 4: the capture -----------------------------------------------------------------

ft_capture_check cap --udp "$PLAIN" --udp "$P1" --udp "$P2" --min 12

while read -r src port; do
  ft_check "on the wire: floe's XOR-MAPPED-ADDRESS for the request from $src:$port is $src:$port"
  mapped=$(ft_capture_fields cap "ip.src == 127.0.0.1 && udp.srcport == $PLAIN && ip.dst == $src && udp.dstport == $port && stun.type == 0x0101" stun.att.ipv4 stun.att.port)
  [ "$(printf '%s\n' "$mapped" | grep -c .)" = 1 ] ||
    ft_fail "expected one Binding success response to $src:$port, got: '$mapped'"
  ft_expect_eq "$mapped" "$src $port" "XOR-MAPPED-ADDRESS decoded by tshark"
done <"$FT_TMP/plain-clients"

ft_check "on the wire: CHANGE-REQUEST + RESPONSE-PORT to the plain server got 420 listing both (0x0003, 0x0027)"
err=$(ft_capture_fields cap "udp.srcport == $PLAIN && stun.type == 0x0111" stun.att.error.class stun.att.error)
ft_expect_eq "$err" "4 20" "error class and number"
unknown=$(ft_capture_fields cap "udp.srcport == $PLAIN && stun.type == 0x0111" stun.att.unknown | tr ',' '\n' | sort | paste -sd,)
ft_expect_eq "$unknown" "0x0003,0x0027" "UNKNOWN-ATTRIBUTES"

ft_check "on the wire: every RFC 5780 request was answered"
req=$(ft_capture_count cap "(udp.dstport == $P1 || udp.dstport == $P2) && stun.type == 0x0001")
resp=$(ft_capture_count cap "(udp.srcport == $P1 || udp.srcport == $P2) && stun.type == 0x0101")
[ "$req" -ge 7 ] || ft_fail "only $req Binding requests to the RFC 5780 server (expected at least 7)"
ft_expect_eq "$resp" "$req" "Binding success responses from the RFC 5780 server"
n=$(ft_capture_count cap "udp.srcport == $P2 && ip.src == 127.0.0.2 && stun.type == 0x0101")
[ "$n" -ge 2 ] || ft_fail "expected CHANGE-REQUEST answers from 127.0.0.2:$P2, saw $n"
ft_ok "$n answers left from the alternate address 127.0.0.2:$P2"

# ---- 5: the counters ----------------------------------------------------------------

check_stats() {
  local json=$1 what=$2 requests=$3 ok=$4 e420=$5
  ft_check "floe server --stats ($what): rx = answered + dropped, and matches the wire"
  local sum
  sum=$(ft_json "$json" 'sum(v for k, v in j["counters"].items() if k != "rx")')
  ft_expect_eq "$sum" "$(ft_json "$json" 'j["counters"]["rx"]')" "$what: sum of outcome counters vs rx"
  ft_expect_eq "$(ft_json "$json" 'sum(v for k, v in j["counters"].items() if k.startswith("drop_"))')" \
    "$(ft_json "$json" 'j["drops_total"]')" "$what: drops_total vs the drop_* counters"
  ft_expect_eq "$(ft_json "$json" 'j["counters"]["rx"]')" "$requests" "$what: rx vs requests on the wire"
  ft_expect_eq "$(ft_json "$json" 'j["counters"]["binding_ok"]')" "$ok" "$what: binding_ok vs success responses on the wire"
  ft_expect_eq "$(ft_json "$json" 'j["counters"]["error_420_unknown_attribute"]')" "$e420" "$what: 420 answers"
  ft_expect_eq "$(ft_json "$json" 'j["drops_total"]')" 0 "$what: drops"
  ft_expect_eq "$(ft_json "$json" 'j["runtime"]["udp_send_dropped"]')" 0 "$what: udp_send_dropped"
}
plain_req=$(ft_capture_count cap "udp.dstport == $PLAIN && stun.type == 0x0001")
plain_ok=$(ft_capture_count cap "udp.srcport == $PLAIN && stun.type == 0x0101")
check_stats "$FT_TMP/plain-stats.json" plain "$plain_req" "$plain_ok" 1
check_stats "$FT_TMP/r5780-stats.json" rfc5780 "$req" "$resp" 0

ft_say "PASS"
