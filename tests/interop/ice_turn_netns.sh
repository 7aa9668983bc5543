#!/usr/bin/env bash
# ICE through TURN across real Linux NATs: two `floe ice` peers, each behind its own
# nftables NAT with address-and-port-dependent mapping (masquerade fully-random: every
# new destination gets a new random port) and filtering (conntrack), connect through a
# TURN server in the "public" namespace and exchange 1000 datagrams, once through
# `floe server` and once through coturn's turnserver. Then the NATs drop all UDP (a
# network that lets only TCP out) and the peers connect again through each server, with
# TURN over TCP and over TLS (RFC 8656 section 3.1; the relayed addresses stay UDP on
# the public side): four more runs.
#
#   floe-ha-PID 10.0.1.2 -- 10.0.1.1 floe-na-PID 198.18.1.2 --+
#                                                             198.18.1.1 floe-pub-PID (TURN, STUN)
#   floe-hb-PID 10.0.2.2 -- 10.0.2.1 floe-nb-PID 198.18.2.2 --+ 198.18.2.1
#
# 198.18.0.0/15 (benchmarking, RFC 2544) stands for the Internet; the TURN servers are
# told to relay to it (floe refuses reserved ranges by default). Namespaces are made here
# and deleted by the EXIT trap; no traffic leaves them.
#
# Checked per run: both peers ready, the selected pair uses a relayed candidate on at
# least one side (the NATs leave no direct path: a first run without TURN must fail), on
# both sides once UDP is blocked (a UDP probe must get no answer first), 1000 datagrams
# echoed with none lost, and the TURN server relayed them.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

COUNT=${FT_ICE_COUNT:-1000}
ft_need_cmd python3 ip nft turnserver
ft_need_file "$FLOE" "the floe binary"
ft_need_netns

P=$$
NS_PUB=floe-pub-$P NS_NA=floe-na-$P NS_NB=floe-nb-$P NS_HA=floe-ha-$P NS_HB=floe-hb-$P
ft_netns_trap
for ns in "$NS_PUB" "$NS_NA" "$NS_NB" "$NS_HA" "$NS_HB"; do ft_netns_add "$ns"; done

# link NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair between two namespaces, both ends up.
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" 2>"$FT_TMP/veth.err" ||
    ft_fail "cannot create veth $2-$5: $(cat "$FT_TMP/veth.err")"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}
link "$NS_PUB" pa$P 198.18.1.1/24 "$NS_NA" wa$P 198.18.1.2/24
link "$NS_PUB" pb$P 198.18.2.1/24 "$NS_NB" wb$P 198.18.2.2/24
link "$NS_NA" la$P 10.0.1.1/24 "$NS_HA" ha$P 10.0.1.2/24
link "$NS_NB" lb$P 10.0.2.1/24 "$NS_HB" hb$P 10.0.2.2/24
ip -n "$NS_HA" route add default via 10.0.1.1
ip -n "$NS_HB" route add default via 10.0.2.1
ip -n "$NS_NA" route add default via 198.18.1.1
ip -n "$NS_NB" route add default via 198.18.2.1
for ns in "$NS_PUB" "$NS_NA" "$NS_NB"; do
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done

# The NATs: source NAT to the WAN address with a random port per connection (so the
# mapping depends on the destination address and port), and conntrack's filtering (only
# replies from where a packet went come back). Nothing else is forwarded.
nat() { # NS WAN-DEV LAN-DEV
  ip netns exec "$1" nft -f - <<EOF || ft_fail "nftables NAT in $1"
table ip floe_nat {
  chain nat_out { type nat hook postrouting priority srcnat; oifname "$2" masquerade fully-random; }
  chain forward_filter {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "$3" oifname "$2" accept
  }
}
EOF
}
nat "$NS_NA" wa$P la$P
nat "$NS_NB" wb$P lb$P
ft_ok "two hosts behind address-and-port-dependent NATs, a public network between them"

ft_check "the NATs map every destination to a new port (symmetric) and filter replies"
ip netns exec "$NS_PUB" python3 - >"$FT_TMP/echo.log" 2>&1 <<'EOF' &
import socket, select
socks = []
for port in (4001, 4002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.1.1", port))
    socks.append(s)
for _ in range(4):
    r, _, _ = select.select(socks, [], [], 5)
    for s in r:
        data, addr = s.recvfrom(100)
        s.sendto(("%s:%d" % addr).encode(), addr)
EOF
probe_pid=$!
for ((i = 0; i < 50; i++)); do
  ip netns exec "$NS_PUB" ss -Hlun 'sport = :4002' | grep -q . && break
  sleep 0.1
done
mapped=$(ip netns exec "$NS_HA" python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.2", 5000))
s.settimeout(3)
out = []
for port in (4001, 4002):
    s.sendto(b"x", ("198.18.1.1", port))
    out.append(s.recvfrom(100)[0].decode())
print(" ".join(out))
EOF
) || ft_fail "the NAT probe got no answer"
wait "$probe_pid" 2>/dev/null || true
read -r m1 m2 <<<"$mapped"
case $m1 in 198.18.1.2:*) ;; *) ft_fail "host A is not translated to 198.18.1.2: $m1" ;; esac
[ "${m1##*:}" != "${m2##*:}" ] || ft_fail "one source port mapped to $m1 for both destinations: not symmetric"
ft_ok "10.0.1.2:5000 -> $m1 towards :4001, $m2 towards :4002"

# A certificate for the TLS listeners, naming the public address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$FT_TMP/key.pem" -out "$FT_TMP/cert.pem" -days 2 -subj "/CN=turn.floe.test" \
  -addext "subjectAltName=IP:198.18.1.1" -addext "basicConstraints=critical,CA:FALSE" \
  >"$FT_TMP/openssl.log" 2>&1 || ft_fail "openssl: $(cat "$FT_TMP/openssl.log")"

SECRET_USER=alice SECRET_PASS=wonderland REALM=floe.test
ft_start floe-turn ip netns exec "$NS_PUB" "$FLOE" server --listen 198.18.1.1:3478 \
  --listen tls://198.18.1.1:5349 \
  --tls-cert "$FT_TMP/cert.pem" --tls-key "$FT_TMP/key.pem" --realm "$REALM" --user "$SECRET_USER:$SECRET_PASS" --allow-peer 198.18.0.0/15 \
  --control "$FT_TMP/floe-turn.sock" --drain-timeout 0
ft_wait_file "$FT_TMP/floe-turn.sock" "$(ft_pid floe-turn)"
ft_start coturn ip netns exec "$NS_PUB" turnserver -n --no-cli --no-dtls \
  --tls-listening-port 5350 --cert "$FT_TMP/cert.pem" --pkey "$FT_TMP/key.pem" \
  --log-file stdout --simple-log --listening-ip 198.18.1.1 --listening-port 3479 \
  --relay-ip 198.18.1.1 --min-port 50000 --max-port 50999 --lt-cred-mech \
  --user "$SECRET_USER:$SECRET_PASS" --realm "$REALM" --pidfile "$FT_TMP/coturn.pid" \
  --userdb "$FT_TMP/coturn.db" --denied-peer-ip 10.0.0.0-10.255.255.255
# (coturn relays to private addresses unless told not to, and a send that fails with
# "network unreachable" closes the allocation's relay socket: the private host
# candidates of the peers would kill the relays. floe server refuses them by default.)
for ((i = 0; i < 100; i++)); do
  ip netns exec "$NS_PUB" ss -Hlun 'sport = :3479' | grep -q . &&
    ip netns exec "$NS_PUB" ss -Hltn 'sport = :5350' | grep -q . &&
    ip netns exec "$NS_PUB" ss -Hltn 'sport = :5349' | grep -q . && break
  sleep 0.1
done

# run NAME EXPECT TURN: A (controlling, --count) and B (controlled, --echo); STUN from
# floe server on :3478 always, TURN from the server TURN (none if empty). EXPECT: fail,
# ok (a relayed candidate on one side at least) or relay2 (on both sides).
run() {
  local name=$1 expect=$2 server=$3 d=$FT_TMP/$1 turn=()
  mkdir -p "$d"
  [ -n "$server" ] && turn=(--turn "$server" --turn-user "$SECRET_USER" --turn-password "$SECRET_PASS")
  case $server in turns:*) turn+=(--turn-ca "$FT_TMP/cert.pem") ;; esac
  local common=(--ipv4 --stun 198.18.1.1:3478 --timeout 20 --json ${turn[@]+"${turn[@]}"})
  ft_start_split "$name-a" "$d/a.json" ip netns exec "$NS_HA" "$FLOE" ice --role controlling \
    --local-sdp "$d/a.sdp" --remote-sdp "$d/b.sdp" --count "$COUNT" "${common[@]}"
  ft_start_split "$name-b" "$d/b.json" ip netns exec "$NS_HB" "$FLOE" ice --role controlled \
    --local-sdp "$d/b.sdp" --remote-sdp "$d/a.sdp" --echo "${common[@]}"
  ft_wait_exit "$name-a" 40
  local st_a=$FT_EXIT_STATUS
  ft_wait_exit "$name-b" 40
  local st_b=$FT_EXIT_STATUS
  python3 - "$d" "$expect" "$st_a" "$st_b" "$COUNT" <<'EOF' || ft_fail "$name: see above"
import json, sys
d, expect, st_a, st_b, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
a, b = (json.loads(open(f"{d}/{x}.json").read().splitlines()[0]) for x in "ab")
def need(ok, what):
    if not ok:
        sys.exit(f"{what}\n  a: {json.dumps(a)}\n  b: {json.dumps(b)}")
if expect == "fail":
    need(st_a != 0 and a["state"] == "failed", "ICE succeeded without TURN: the NATs leave a direct path")
    print(f"no TURN: {a.get('error')}")
    sys.exit(0)
need(st_a == 0 and st_b == 0, f"exit status {st_a}/{st_b}")
need(a["state"] == "ready" and b["state"] == "ready", "not ready")
la, lb = a["selected"][0]["local"], b["selected"][0]["local"]
need("relay" in (la["type"], lb["type"]), f"no relayed candidate in the selected pair: {la} / {lb}")
need(expect != "relay2" or la["type"] == lb["type"] == "relay", f"not relayed on both sides: {la} / {lb}")
need(a["echoes_received"] == count and a["lost"] == 0, f"{a['echoes_received']}/{count} echoed")
need(b.get("bye") is True, "b did not see BYE")
print(f"ready at {a['selected_pair_ms']:.0f} ms; A {la['type']} {la['addr']} -> "
      f"{a['selected'][0]['remote']['type']} {a['selected'][0]['remote']['addr']}; "
      f"B {lb['type']} {lb['addr']}; {a['echoes_received']}/{count} echoed, 0 lost")
EOF
}

# check_run ARGS...: run, and fail the test when the run fails (run's own ft_fail only
# ends the command substitution it runs in).
check_run() {
  local msg
  msg=$(run "$@") || ft_fail "$1: see above"
  ft_ok "$msg"
}

ft_check "without TURN, ICE fails: no direct path through two symmetric NATs"
check_run no-turn fail ""
ft_check "through floe server: $COUNT datagrams over a relayed pair"
check_run via-floe ok 198.18.1.1:3478
"$FLOE" server --stats --control "$FT_TMP/floe-turn.sock" >"$FT_TMP/turn-stats.json"
relayed=$(ft_json "$FT_TMP/turn-stats.json" 'j["turn"]["relayed_to_peer"]')
[ "$relayed" -ge "$COUNT" ] || ft_fail "floe server relayed only $relayed datagrams"
ft_ok "floe server relayed $relayed datagrams to peers"
ft_check "through coturn: $COUNT datagrams over a relayed pair"
check_run via-coturn ok 198.18.1.1:3479

ft_check "the NATs now drop every UDP datagram (TCP still goes out)"
for ns in "$NS_NA" "$NS_NB"; do
  ip netns exec "$ns" nft insert rule ip floe_nat forward_filter meta l4proto udp drop ||
    ft_fail "cannot block UDP in $ns"
done
ip netns exec "$NS_PUB" python3 - >"$FT_TMP/echo2.log" 2>&1 <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.1.1", 4003))
s.settimeout(4)
try:
    data, addr = s.recvfrom(100)
    s.sendto(b"y", addr)
except socket.timeout:
    pass
EOF
probe_pid=$!
for ((i = 0; i < 50; i++)); do
  ip netns exec "$NS_PUB" ss -Hlun 'sport = :4003' | grep -q . && break
  sleep 0.1
done
if ip netns exec "$NS_HA" python3 - <<'EOF'; then
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.sendto(b"x", ("198.18.1.1", 4003))
try:
    s.recvfrom(100)
except socket.timeout:
    sys.exit(1)
EOF
  ft_fail "a UDP datagram still crossed NAT A"
fi
wait "$probe_pid" 2>/dev/null || true
ft_ok "a UDP probe from host A got no answer"

for srv in "floe server|turn:198.18.1.1:3478?transport=tcp" "floe server|turns:198.18.1.1:5349" \
           "coturn|turn:198.18.1.1:3479?transport=tcp" "coturn|turns:198.18.1.1:5350"; do
  who=${srv%%|*} uri=${srv#*|}
  name=blocked-$(tr -c 'a-z0-9\n' - <<<"$who-${uri%%\?*}")
  ft_check "UDP blocked, $who, TURN $uri: $COUNT datagrams between two relayed candidates"
  check_run "$name" relay2 "$uri"
done
ft_say "PASS"
