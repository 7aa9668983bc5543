#!/usr/bin/env bash
# Interop: `floe ice` against libnice's ICE agent (tests/interop/nice_ice_peer.c, built on
# libnice's public API) and against itself, on loopback, over IPv4 and (when the loopback
# has it) IPv6 ::1.
#
# Each run starts two peers that exchange SDP files (each writes its own atomically and
# waits for the other's): the controlling one sends COUNT datagrams and counts the echoes,
# the controlled one echoes until "BYE". For every run both peers must exit 0 and print
# one JSON line each, saying:
#   - state "ready", the roles asked for, one selected pair per component, of the family
#     of the run, each side's local address being the other's remote address;
#   - gathering <= remote SDP read <= selected pair, in milliseconds since start;
#   - COUNT datagrams sent, COUNT echoes received, none lost; the echoer received and
#     sent back every one and saw BYE.
# Runs: floe->libnice, libnice->floe, floe->floe per family; with two components (RTP and
# RTCP) both ways over IPv4; floe as an ICE-lite agent under a libnice controller.
# One floe->libnice run is captured and checked with tshark (when root). Then the
# failures `floe ice` must report in one line: a remote SDP that never comes, one
# that does not parse, a usage error.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

NICE=${NICE_ICE_PEER:-$FLOE_BUILD/tests/nice_ice_peer}
export NICE_ICE_PEER=$NICE
COUNT=${FT_ICE_COUNT:-1000}
SIZE=200
ft_need_cmd python3
ft_need_file "$FLOE" "the floe binary"
"$FLOE" ice --help >/dev/null 2>&1 || ft_skip "this floe binary has no 'ice' command yet"
ft_need_file "$NICE" "the libnice ICE peer (built by tests/interop/CMakeLists.txt when libnice-dev is installed)"

families=(4)
if ft_have_ipv6_loopback; then
  families+=(6)
else
  ft_say "the loopback has no ::1 (IPv6 disabled here): the IPv6 runs are skipped"
fi

# run_pair NAME KIND-A KIND-B FAMILY [OPTION...]: A controlling with --count, B controlled
# with --echo, both on the loopback addresses of FAMILY. The options go to both peers,
# except --lite, which goes to B only.
run_pair() {
  local name=$1 kind_a=$2 kind_b=$3 fam=$4
  shift 4
  local only_b=() both=() comps=1 arg
  for arg in "$@"; do
    case $arg in
    --lite) only_b+=(--lite) ;;
    *) both+=("$arg") ;;
    esac
  done
  local i
  for ((i = 0; i < ${#both[@]}; i++)); do
    [ "${both[$i]}" = --components ] && comps=${both[$((i + 1))]}
  done
  local d=$FT_TMP/$name
  mkdir -p "$d"
  ft_check "$name: $kind_a (controlling, $COUNT x $SIZE B) <-> $kind_b (controlled${only_b[*]:+ ${only_b[*]}}, echo), IPv$fam loopback${both[*]:+, ${both[*]}}"
  local common=(--loopback "--ipv$fam" --timeout 20 --json ${both[@]+"${both[@]}"})
  ft_ice_peer_cmd "$kind_a"
  ft_start_split "$name-a" "$d/a.json" "${FT_ICE_CMD[@]}" --role controlling --local-sdp "$d/a.sdp" \
    --remote-sdp "$d/b.sdp" --count "$COUNT" --size "$SIZE" "${common[@]}"
  ft_ice_peer_cmd "$kind_b"
  ft_start_split "$name-b" "$d/b.json" "${FT_ICE_CMD[@]}" --role controlled --local-sdp "$d/b.sdp" \
    --remote-sdp "$d/a.sdp" --echo ${only_b[@]+"${only_b[@]}"} "${common[@]}"
  ft_wait_exit "$name-a" 30
  local st_a=$FT_EXIT_STATUS
  ft_wait_exit "$name-b" 30
  local st_b=$FT_EXIT_STATUS
  [ "$st_a" = 0 ] || ft_fail "$name: the controlling $kind_a peer exited $st_a: $(cat "$d/a.json")"
  [ "$st_b" = 0 ] || ft_fail "$name: the controlled $kind_b peer exited $st_b: $(cat "$d/b.json")"
  local summary
  local re='^127\.'
  [ "$fam" = 6 ] && re='^\[::1\]:'
  summary=$(ft_ice_check_pair "$d" "$kind_a" "$kind_b" "$comps" "$COUNT" "$re" "$re" 2>&1) ||
    ft_fail "$name: $summary"
  ft_ok "$name: $summary"
}

for fam in "${families[@]}"; do
  run_pair "floe-libnice-v$fam" floe libnice "$fam"
  run_pair "libnice-floe-v$fam" libnice floe "$fam"
  run_pair "floe-floe-v$fam" floe floe "$fam"
done
run_pair floe-libnice-rtcp floe libnice 4 --components 2
run_pair libnice-floe-rtcp libnice floe 4 --components 2
run_pair libnice-floelite libnice floe 4 --lite

# ---- check pacing: a=ice-pacing (RFC 8445 section 14.2, RFC 8839 section 5.5) ---------

# ta_expect NAME SIDE WANT-MS ANNOUNCED: in run NAME, SIDE (a or b) reports ta_ms WANT-MS
# in its JSON, and its SDP carries a=ice-pacing:ANNOUNCED ("" for none).
ta_expect() {
  local name=$1 side=$2 want=$3 announced=$4 d=$FT_TMP/$1 got line
  got=$(ft_json "$d/$side.json" 'j["ta_ms"]')
  [ "$got" = "$want" ] || ft_fail "$name: $side reports ta_ms $got, expected $want"
  line=$(grep -o 'a=ice-pacing:[0-9]*' "$d/$side.sdp" || true)
  [ "$line" = "${announced:+a=ice-pacing:$announced}" ] ||
    ft_fail "$name: $side's SDP has '${line:-no a=ice-pacing}', expected '${announced:-none}'"
}
# floe announces --ta 20; libnice reads its SDP regardless, announces nothing (so counts as
# 50 ms) and keeps its own timer: floe paces at 50 against it.
run_pair floe-libnice-ta floe libnice 4 --ta 20
ft_check "floe-libnice-ta: floe announced a=ice-pacing:20 and paced at 50 ms, libnice at its 20"
ta_expect floe-libnice-ta a 50 20
ta_expect floe-libnice-ta b 20 ""
ft_ok "floe-libnice-ta: libnice took floe's SDP; floe ran with Ta 50 ms (libnice announces none)"
# Two floe peers that both announce 20 use 20: no 50 ms floor between two proposals.
run_pair floe-floe-ta floe floe 4 --ta 20
ft_check "floe-floe-ta: both announced a=ice-pacing:20 and paced at 20 ms"
ta_expect floe-floe-ta a 20 20
ta_expect floe-floe-ta b 20 20
ft_ok "floe-floe-ta: Ta 20 ms on both sides"

# ---- on the wire: a second opinion from tshark ----------------------------------------

# One more floe -> libnice run under dumpcap (all UDP on lo: the peers' ports are only known
# afterwards, from their JSON; the checks look at those ports only). Every STUN message
# decodes, with no malformed packet and no bad FINGERPRINT; every check floe sends has
# USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY and FINGERPRINT, one of them
# USE-CANDIDATE; libnice's checks say ICE-CONTROLLED; every check got a success
# response; the rest is floe's COUNT datagrams (first byte 0x80) and its BYEs, and
# libnice's COUNT echoes.
wire_check() {
  if [ "$(id -u)" != 0 ] || ! command -v dumpcap >/dev/null || ! command -v tshark >/dev/null; then
    ft_say "no capture here (needs root, dumpcap and tshark): the wire check is not run"
    return 0
  fi
  ft_capture_start wire "udp"
  run_pair floe-libnice-wire floe libnice 4
  ft_capture_stop wire
  local d=$FT_TMP/floe-libnice-wire pa pb
  read -r pa pb < <(ft_json "$d/a.json" '" ".join(s[e]["addr"].rsplit(":", 1)[1] for s in j["selected"] for e in ("local", "remote"))')
  local ours="udp.port == $pa && udp.port == $pb"
  ft_check "on the wire between ports $pa (floe) and $pb (libnice): STUN checks and data"
  ft_capture_expect_none wire "$ours && _ws.malformed" "a malformed packet"
  ft_capture_expect_none wire "$ours && stun.att.crc32.bad" "a bad STUN FINGERPRINT"
  ft_tshark wire -Y "$ours" -T fields -E separator=/t -e udp.srcport -e stun.type -e stun.id \
    -e stun.att.type -e udp.payload >"$FT_TMP/wire.txt"
  local out
  out=$(python3 - "$FT_TMP/wire.txt" "$pa" "$pb" "$COUNT" <<'PY'
import sys
path, pa, pb, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
USERNAME, PRIORITY, USE_CAND, MI, FP = 0x0006, 0x0024, 0x0025, 0x0008, 0x8028
CONTROLLED, CONTROLLING = 0x8029, 0x802A
requests, answered, data = {pa: {}, pb: {}}, set(), {pa: [], pb: []}
nominated = False
for line in open(path):
    sport, types, tid, atts, payload = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    if not types:
        data[sport].append(bytes.fromhex(payload.replace(":", "")))
        continue
    if "," in types:
        sys.exit(f"a datagram holds several STUN messages: {line.strip()}")
    t = int(types, 16)
    a = [int(x, 16) for x in atts.split(",") if x]
    if t == 0x0001:
        need = [USERNAME, PRIORITY, MI, FP, CONTROLLING if sport == pa else CONTROLLED]
        missing = [hex(x) for x in need if x not in a]
        if missing:
            sys.exit(f"check from port {sport} lacks attribute(s) {missing}: {line.strip()}")
        if a[-1] != FP or a[-2] != MI:
            sys.exit(f"check from port {sport} does not end with MESSAGE-INTEGRITY, FINGERPRINT")
        requests[sport][tid] = True
        nominated |= sport == pa and USE_CAND in a
    elif t == 0x0101:
        answered.add(tid)
    elif t != 0x0011:  # Binding indications (keepalives) are fine too
        sys.exit(f"unexpected STUN type {types} from port {sport}")
for side, reqs in requests.items():
    if not reqs:
        sys.exit(f"no check from port {side}")
    lost = [t for t in reqs if t not in answered]
    if lost:
        sys.exit(f"{len(lost)} check(s) from port {side} never answered with success")
if not nominated:
    sys.exit("floe sent no check with USE-CANDIDATE")
fa, fb = data[pa], data[pb]
byes = [p for p in fa if p == b"BYE"]
rtp = [p for p in fa if p != b"BYE"]
if len(rtp) != count or any(p[0] != 0x80 for p in rtp) or not byes:
    sys.exit(f"floe sent {len(rtp)} datagrams (want {count}, each starting with 0x80) and {len(byes)} BYE")
if sorted(fb) != sorted(rtp):
    sys.exit(f"libnice's {len(fb)} echoes are not floe's {len(rtp)} datagrams")
print(f"{sum(map(len, requests.values()))} checks, all answered, USE-CANDIDATE from floe; "
      f"{len(rtp)} datagrams + {len(byes)} BYE out, {len(fb)} identical echoes back")
PY
  ) || ft_fail "on the wire: $out"
  ft_ok "$out"
}
wire_check

# ---- failures: one clear line on stderr, exit status 1 (2 for usage) -------------------

# expect_failure NAME STATUS PATTERN FLOE-ICE-ARGS...: floe ice must exit STATUS, print
# exactly one error line on stderr (progress lines carry a "[... ms]" stamp) matching
# PATTERN, and, with --json, one JSON line with state "failed" and that error.
expect_failure() {
  local name=$1 want=$2 re=$3
  shift 3
  ft_check "floe ice $name: exit $want, one error line matching /$re/"
  local rc=0
  timeout -k 2 20 "$FLOE" ice "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = "$want" ] || ft_fail "floe ice $*: exit $rc, expected $want: $(cat "$FT_TMP/$name.err")"
  local errs
  errs=$(grep -v '^floe ice: \[' "$FT_TMP/$name.err" || true)
  [ "$(printf '%s\n' "$errs" | grep -c .)" = 1 ] || ft_fail "floe ice $name: expected one error line, got:
$errs"
  printf '%s\n' "$errs" | grep -qE -- "$re" || ft_fail "floe ice $name: the error does not match /$re/: $errs"
  if [ "$want" = 1 ]; then
    [ "$(ft_json "$FT_TMP/$name.out" 'j["state"]')" = failed ] || ft_fail "JSON state is not failed"
    ft_json "$FT_TMP/$name.out" 'j["error"]' | grep -qE -- "$re" || ft_fail "the JSON error does not match"
  fi
  ft_ok "$errs"
}

expect_failure no-remote 1 'timed out after 1 s waiting for the remote SDP' \
  --role controlling --loopback --ipv4 --local-sdp "$FT_TMP/x.sdp" --remote-sdp "$FT_TMP/never.sdp" \
  --timeout 1 --json
printf 'v=0\r\nthis is not SDP\r\n' >"$FT_TMP/garbage.sdp"
expect_failure bad-remote 1 'garbage\.sdp.*line 2' \
  --role controlled --loopback --ipv4 --local-sdp "$FT_TMP/y.sdp" --remote-sdp "$FT_TMP/garbage.sdp" \
  --timeout 5 --json
expect_failure bad-role 2 "controlling or controlled" \
  --role sideways --local-sdp "$FT_TMP/z.sdp" --remote-sdp "$FT_TMP/w.sdp"

ft_say "PASS"
