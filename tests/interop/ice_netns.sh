#!/usr/bin/env bash
# Interop across two network namespaces: `floe ice` and libnice's ICE agent
# (tests/interop/nice_ice_peer.c) on two hosts joined by a veth pair, each gathering on
# its own interfaces as it would on a real machine (no --loopback).
#
#   floe-a-PID  veth floe-vaPID  10.77.0.1/24  fd77:f10e::1/64
#   floe-b-PID  veth floe-vbPID  10.77.0.2/24  fd77:f10e::2/64
#
# (the PID suffix lets two runs coexist). The namespaces are made here and deleted by the
# EXIT trap whatever happens; nothing is configured outside them, nothing leaves them.
#
# Runs (A controlling with --count, B controlled with --echo), each checked like the
# loopback test (tests/lib/common.bash ft_ice_check_pair): both ready, the same pair on
# both sides, A's local address on A's veth and B's on B's, every datagram echoed:
#   floe -> libnice over both families at once, floe -> libnice and libnice -> floe over
#   IPv4 and over IPv6,
#   floe -> floe over IPv4 with two components, floe -> libnice on --local-addr.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

NICE=${NICE_ICE_PEER:-$FLOE_BUILD/tests/nice_ice_peer}
export NICE_ICE_PEER=$NICE
COUNT=${FT_ICE_COUNT:-1000}
SIZE=200
ft_need_cmd python3 ip
ft_need_file "$FLOE" "the floe binary"
"$FLOE" ice --help >/dev/null 2>&1 || ft_skip "this floe binary has no 'ice' command yet"
ft_need_file "$NICE" "the libnice ICE peer (built by tests/interop/CMakeLists.txt when libnice-dev is installed)"
ft_need_netns

NS_A=floe-a-$$
NS_B=floe-b-$$
VETH_A=floe-va$$
VETH_B=floe-vb$$
V4_A=10.77.0.1
V4_B=10.77.0.2
V6_A=fd77:f10e::1
V6_B=fd77:f10e::2

ft_netns_trap
ft_netns_add "$NS_A"
ft_netns_add "$NS_B"
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B" 2>"$FT_TMP/veth.err" ||
  ft_fail "cannot create the veth pair: $(cat "$FT_TMP/veth.err")"
ip -n "$NS_A" addr add "$V4_A/24" dev "$VETH_A"
ip -n "$NS_B" addr add "$V4_B/24" dev "$VETH_B"
ip -n "$NS_A" -6 addr add "$V6_A/64" dev "$VETH_A" nodad
ip -n "$NS_B" -6 addr add "$V6_B/64" dev "$VETH_B" nodad
ip -n "$NS_A" link set "$VETH_A" up
ip -n "$NS_B" link set "$VETH_B" up
ft_say "namespaces $NS_A ($V4_A, $V6_A) and $NS_B ($V4_B, $V6_B) joined by $VETH_A-$VETH_B"

ft_check "both ends of the veth pair are up, with their addresses"
for ((i = 0; i < 50; i++)); do
  if ip -n "$NS_A" -br link show "$VETH_A" | grep -q 'LOWER_UP' &&
    ip -n "$NS_B" -br link show "$VETH_B" | grep -q 'LOWER_UP'; then
    break
  fi
  sleep 0.1
done
ip -n "$NS_A" -br link show "$VETH_A" | grep -q 'LOWER_UP' || ft_fail "$VETH_A is not up"
ip -n "$NS_B" -br link show "$VETH_B" | grep -q 'LOWER_UP' || ft_fail "$VETH_B is not up"
for pair in "$NS_A $VETH_A $V4_A $V6_A" "$NS_B $VETH_B $V4_B $V6_B"; do
  read -r ns dev v4 v6 <<<"$pair"
  addrs=$(ip -n "$ns" -br addr show dev "$dev")
  case $addrs in *"$v4/24"*"$v6/64"*) ;; *) ft_fail "$dev in $ns lacks its addresses: $addrs" ;; esac
done
ft_ok "$VETH_A and $VETH_B up with $V4_A, $V6_A and $V4_B, $V6_B"

# run_pair NAME KIND-A KIND-B RE-A RE-B [OPTION...]: A (in NS_A) controlling with --count,
# B (in NS_B) controlled with --echo. Options go to both peers; "--local-addr" is
# followed by two values, A's then B's. RE-A and RE-B: what the selected local addresses
# of A and B must look like.
run_pair() {
  local name=$1 kind_a=$2 kind_b=$3 re_a=$4 re_b=$5
  shift 5
  local both=() only_a=() only_b=() comps=1
  while [ $# -gt 0 ]; do
    case $1 in
    --local-addr) only_a+=(--local-addr "$2"); only_b+=(--local-addr "$3"); shift 3 ;;
    --components) comps=$2; both+=("$1" "$2"); shift 2 ;;
    *) both+=("$1"); shift ;;
    esac
  done
  local d=$FT_TMP/$name
  mkdir -p "$d"
  ft_check "$name: $kind_a in $NS_A (controlling, $COUNT x $SIZE B) <-> $kind_b in $NS_B (controlled, echo)${both[*]:+, ${both[*]}}${only_a[*]:+, A ${only_a[*]}, B ${only_b[*]}}"
  local common=(--timeout 20 --json ${both[@]+"${both[@]}"})
  ft_ice_peer_cmd "$kind_a"
  ft_start_split "$name-a" "$d/a.json" ip netns exec "$NS_A" "${FT_ICE_CMD[@]}" --role controlling \
    --local-sdp "$d/a.sdp" --remote-sdp "$d/b.sdp" --count "$COUNT" --size "$SIZE" \
    ${only_a[@]+"${only_a[@]}"} "${common[@]}"
  ft_ice_peer_cmd "$kind_b"
  ft_start_split "$name-b" "$d/b.json" ip netns exec "$NS_B" "${FT_ICE_CMD[@]}" --role controlled \
    --local-sdp "$d/b.sdp" --remote-sdp "$d/a.sdp" --echo ${only_b[@]+"${only_b[@]}"} "${common[@]}"
  ft_wait_exit "$name-a" 30
  local st_a=$FT_EXIT_STATUS
  ft_wait_exit "$name-b" 30
  local st_b=$FT_EXIT_STATUS
  [ "$st_a" = 0 ] || ft_fail "$name: the controlling $kind_a peer exited $st_a: $(cat "$d/a.json")"
  [ "$st_b" = 0 ] || ft_fail "$name: the controlled $kind_b peer exited $st_b: $(cat "$d/b.json")"
  local summary
  summary=$(ft_ice_check_pair "$d" "$kind_a" "$kind_b" "$comps" "$COUNT" "$re_a" "$re_b" 2>&1) ||
    ft_fail "$name: $summary"
  ft_ok "$name: $summary"
}

any_a="^(${V4_A//./\\.}|\\[$V6_A\\]):"
any_b="^(${V4_B//./\\.}|\\[$V6_B\\]):"
v4_a="^${V4_A//./\\.}:"
v4_b="^${V4_B//./\\.}:"
v6_a="^\\[$V6_A\\]:"
v6_b="^\\[$V6_B\\]:"

run_pair floe-libnice-dual floe libnice "$any_a" "$any_b"
# both roles in both families
run_pair floe-libnice-v4 floe libnice "$v4_a" "$v4_b" --ipv4
run_pair floe-libnice-v6 floe libnice "$v6_a" "$v6_b" --ipv6
run_pair libnice-floe-v4 libnice floe "$v4_a" "$v4_b" --ipv4
run_pair libnice-floe-v6 libnice floe "$v6_a" "$v6_b" --ipv6
run_pair floe-floe-v4-rtcp floe floe "$v4_a" "$v4_b" --ipv4 --components 2
run_pair floe-libnice-addr floe libnice "$v4_a" "$v4_b" --local-addr "$V4_A" "$V4_B"

ft_say "PASS"
