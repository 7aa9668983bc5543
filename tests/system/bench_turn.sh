#!/usr/bin/env bash
# System: `floe bench turn`, the TURN load generator of bench/turn-relay.sh, against `floe
# server` on loopback. No rate, time or latency is asserted: only that the JSON says the
# work was done and that its figures add up.
#
#   1. relay: 8 allocations with a channel each to the generator's own echo peer, a short
#      load phase and a short latency phase: every allocation made and released, data
#      relayed both ways (relayed = peer_rx + echoed), samples on both latency paths, the
#      server's CPU time and RSS read through --server-pid;
#   2. alloc: rounds of 20 allocations made and released (the 401 round each), RSS before
#      and after read, two requests or more per allocation;
#   3. a wrong password: exit status 1 and the 401 in "error"; usage errors: exit status 2.
# Loopback only; the only processes signalled are the ones this script started.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss
ft_need_file "$FLOE" "the floe binary"

REALM=floe.test USER=alice PASS=wonderland
read -r P <<<"$(ft_free_ports 1 127.0.0.1)"
ft_start srv "$FLOE" server --listen "udp://127.0.0.1:$P" --realm "$REALM" --user "$USER:$PASS" \
  --allow-peer 127.0.0.1 --unauth-rate 0 --drain-timeout 0 --control "$FT_TMP/srv.sock"
SRV_PID=$(ft_pid srv)
ft_wait_listen udp 127.0.0.1 "$P" "$SRV_PID"
ft_assert_loopback_only "$SRV_PID" "floe server"

bench() { # bench NAME EXPECTED-STATUS ARGS...: floe bench turn, bounded, output in $FT_TMP/NAME.*
  local name=$1 want=$2 rc=0
  shift 2
  timeout -k 2 60 "$FLOE" bench turn "$@" >"$FT_TMP/$name.json" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = "$want" ] || ft_fail "floe bench turn $* exited $rc, expected $want:
$(cat "$FT_TMP/$name.err" "$FT_TMP/$name.json")"
}

# ---- 1. relay --------------------------------------------------------------------------

ft_check "relay: 8 allocations with a channel, load, latency, release"
bench relay 0 relay --json --allocations 8 --duration 0.3 --warmup 0.1 --latency-duration 0.3 \
  --latency-rate 200 --user "$USER" --password "$PASS" --realm "$REALM" --server-pid "$SRV_PID" \
  "127.0.0.1:$P"
R=$FT_TMP/relay.json
ft_expect_eq "$(ft_json "$R" 'j["setup"]["allocated"], j["setup"]["failed"], j["deallocated"]')" \
  "(8, 0, 8)" "allocated, failed, released"
ft_expect_eq "$(ft_json "$R" 'j["load"]["echoed"] > 0 and j["load"]["peer_rx"] > 0')" true \
  "datagrams relayed to the peer and back"
ft_expect_eq "$(ft_json "$R" 'j["load"]["relayed"] == j["load"]["peer_rx"] + j["load"]["echoed"]')" \
  true "relayed = peer_rx + echoed"
ft_expect_eq "$(ft_json "$R" 'all(j["latency"][p]["samples"] > 0 for p in ("relay_us", "direct_us"))')" \
  true "latency samples through the relay and direct"
ft_expect_eq "$(ft_json "$R" 'j["latency"]["added_us"]["p50"] is not None')" true "added latency p50"
ft_expect_eq "$(ft_json "$R" 'j["load"]["server_cpu_s"] is not None and j["server_rss_kb"]["after_setup"] > 0')" \
  true "the server's CPU time and RSS read"
ft_expect_eq "$(ft_json "$R" 'j["stray"], j["errors"], "error" in j')" "(0, 0, False)" \
  "no stray datagram, no error"

# ---- 2. alloc --------------------------------------------------------------------------

ft_check "alloc: rounds of 20 allocations made and released"
bench alloc 0 alloc --json --allocations 20 --parallel 8 --duration 0.2 --warmup-allocations 2 \
  --user "$USER" --password "$PASS" --server-pid "$SRV_PID" "127.0.0.1:$P"
A=$FT_TMP/alloc.json
ft_expect_eq "$(ft_json "$A" 'j["rounds"] >= 1 and j["allocated"] == 20 * j["rounds"] == j["deallocated"]')" \
  true "every allocation of every round made and released"
ft_expect_eq "$(ft_json "$A" 'j["failed"], j["dealloc_failed"]')" "(0, 0)" "no failure"
ft_expect_eq "$(ft_json "$A" 'j["requests_per_allocation"] >= 2')" true \
  "two requests or more per allocation (the 401 round)"
ft_expect_eq "$(ft_json "$A" 'j["rss"]["before_kb"] > 0 and j["rss"]["after_kb"] > 0')" true \
  "the server's RSS read before and after"

# ---- 3. failures -----------------------------------------------------------------------

ft_check "a wrong password fails with the server's 401"
bench wrong 1 relay --json --allocations 2 --duration 0.1 --user "$USER" --password nope "127.0.0.1:$P"
ft_expect_eq "$(ft_json "$FT_TMP/wrong.json" '"401" in j.get("error", "") and j["setup"]["allocated"] == 0')" \
  true "401 in the error, nothing allocated"

ft_check "usage errors exit with 2"
bench u1 2 relay "127.0.0.1:$P"                                                   # no credentials
bench u2 2 alloc --user u --password p --window 4 "127.0.0.1:$P"                  # relay-only option
bench u3 2 relay --user u --password p --allocations 0 "127.0.0.1:$P"             # out of range
bench u4 2 relay --user u --password p 192.0.2.1:3478                             # not loopback
bench u5 2 sideways --user u --password p "127.0.0.1:$P"                          # unknown mode
ft_ok "usage errors"
bench help 0 --help
grep -q "relayed_per_cpu_s" "$FT_TMP/help.json" || ft_fail "--help does not explain the JSON"

ft_stop srv
ft_say "all checks passed"
