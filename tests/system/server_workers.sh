#!/usr/bin/env bash
# System: `floe server --workers 2`, two event loops on two threads (docs/adr/0011).
#
#   a. --check-config: workers = 2, workers = auto (the online CPUs); 0, 65 and a word
#      are refused with exit 2;
#   b. the sockets: two UDP sockets on the UDP address and two on the DTLS one
#      (SO_REUSEPORT), one TCP listener;
#   c. 40 clients on 40 addresses allocate at once: the kernel spreads them over both
#      workers (floe_worker_inputs_total{worker="0"} and {worker="1"} both grow), and
#      user-quota 30 holds for the server as a whole: exactly 30 succeed and 10 get 486,
#      whatever worker each landed on (a quota per worker would let all 40 through);
#   d. 16 allocations (from 16 addresses) land on both workers
#      (floe_worker_allocated_total of each grows) and relay datagrams both ways; DTLS
#      clients allocate and relay too;
#   d. (with coturn's turnutils_uclient installed) RTP/RTCP pairs: each RTP allocation
#      asks for EVEN-PORT with R, the RTCP one brings the RESERVATION-TOKEN back from
#      another port, so often to the other worker: every token is taken (the workers
#      share the reservations), no 508, every message echoed (as bob: uclient leaves its
#      RTCP allocations to expire, which would count against alice's quota below);
#   e. SIGHUP with a new password and user-quota 10 in the config file: every worker
#      applies it (floe_worker_reloads_total 1 for each); the old password gets 401 from
#      both workers and the new one no 401 at all, 10 allocations at most;
#   f. SIGTERM with allocations held on both workers: every worker drains (20 new
#      Allocates from 20 addresses all get 508), the server waits for the allocations of
#      both, and exits 0 at the drain timeout with all of them counted as left.
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss getconf timeout openssl
ft_need_file "$FLOE" "the floe binary"

read -r -a ports <<<"$(ft_free_ports 4 127.0.0.1)"
P=${ports[0]} PD=${ports[1]} M=${ports[2]} E=${ports[3]}
read -r RLO RHI <<<"$(python3 -c 'import random; b = random.randrange(20000, 29000, 100); print(b, b + 499)')"
REALM=floe.test
ft_say "floe server --workers 2 on 127.0.0.1:$P (dtls :$PD, metrics :$M); relays $RLO-$RHI; echo :$E"

# ---- a. --check-config -------------------------------------------------------------------------

ft_check "a. --check-config: workers = 2 and auto; bad values refused"
check() { "$FLOE" server --check-config --listen "127.0.0.1:$P" --control "$FT_TMP/unused.sock" "$@"; }
check --workers 2 >"$FT_TMP/a1.out" || ft_fail "--workers 2 refused"
grep -qx "workers = 2" "$FT_TMP/a1.out" || ft_fail "no 'workers = 2': $(cat "$FT_TMP/a1.out")"
cpus=$(getconf _NPROCESSORS_ONLN)
[ "$cpus" -le 64 ] || cpus=64
printf 'listen = 127.0.0.1:%s\nworkers = auto\n' "$P" >"$FT_TMP/auto.conf"
"$FLOE" server --check-config --config "$FT_TMP/auto.conf" --control "$FT_TMP/unused.sock" \
  >"$FT_TMP/a2.out" || ft_fail "workers = auto refused"
grep -qx "workers = $cpus (auto: the online CPUs)" "$FT_TMP/a2.out" ||
  ft_fail "workers = auto is not $cpus: $(grep workers "$FT_TMP/a2.out")"
for bad in 0 65 many; do
  rc=0
  check --workers "$bad" >/dev/null 2>"$FT_TMP/a3.err" || rc=$?
  [ "$rc" = 2 ] || ft_fail "--workers $bad: exit $rc, not 2"
  grep -q "workers must be 1..64 or auto" "$FT_TMP/a3.err" || ft_fail "--workers $bad: $(cat "$FT_TMP/a3.err")"
done
ft_ok "workers = 2, auto = $cpus; 0, 65 and 'many' exit 2"

# ---- the server ----------------------------------------------------------------------------------

ft_make_cert "$FT_TMP/tls"
write_conf() { # PASSWORD QUOTA
  cat >"$FT_TMP/w.conf" <<EOF
listen = 127.0.0.1:$P
listen = dtls://127.0.0.1:$PD
tls-cert = $FT_TMP/tls/cert.pem
tls-key = $FT_TMP/tls/key.pem
workers = 2
realm = $REALM
user = alice:$1
user = bob:bob-pw
user-quota = $2
relay-ports = $RLO-$RHI
allow-peer = 127.0.0.1
unauth-rate = 0
drain-timeout = 3
EOF
}
write_conf one 30
ft_start srv "$FLOE" server --config "$FT_TMP/w.conf" --control "$FT_TMP/srv.sock" \
  --metrics "127.0.0.1:$M"
ft_wait_listen udp 127.0.0.1 "$P" "$(ft_pid srv)"
ft_wait_file "$FT_TMP/srv.sock" "$(ft_pid srv)"
ft_wait_log srv '2 workers'
ft_assert_loopback_only "$(ft_pid srv)" "floe server"
ft_start echo "$FLOE" bench echo --listen "127.0.0.1:$E"
ft_wait_listen udp 127.0.0.1 "$E" "$(ft_pid echo)"

ft_check "b. two UDP and two DTLS sockets on the same addresses, one TCP listener"
socks=$(ft_sockets_of "$(ft_pid srv)")
n_udp=$(printf '%s\n' "$socks" | grep -c "^udp 127.0.0.1:$P\$" || true)
n_dtls=$(printf '%s\n' "$socks" | grep -c "^udp 127.0.0.1:$PD\$" || true)
n_tcp=$(printf '%s\n' "$socks" | grep -c "^tcp 127.0.0.1:$P\$" || true)
ft_expect_eq "$n_udp/$n_dtls/$n_tcp" "2/2/1" "UDP/DTLS/TCP sockets on the listen addresses"

# metrics OUT: the /metrics text as JSON {series: value}
metrics() {
  python3 - "http://127.0.0.1:$M/metrics" "$1" <<'EOF' || ft_fail "cannot scrape /metrics"
import json, sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
json.dump({l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
           if l and not l.startswith("#")}, open(sys.argv[2], "w"))
EOF
}
# m FILE SERIES: one value of a metrics file
m() { ft_json "$1" "int(j['$2'])"; }
w0='floe_worker_allocated_total{worker="0"}' w1='floe_worker_allocated_total{worker="1"}'
i0='floe_worker_inputs_total{worker="0"}' i1='floe_worker_inputs_total{worker="1"}'

# bench NAME ARGS...: floe bench turn, JSON in $FT_TMP/NAME.json (it may exit 1 on refusals)
bench() {
  local name=$1
  shift
  timeout -k 2 60 "$FLOE" bench turn "$@" --json "127.0.0.1:$P" \
    >"$FT_TMP/$name.json" 2>"$FT_TMP/$name.err" || true
  [ -s "$FT_TMP/$name.json" ] || ft_fail "floe bench $name printed nothing: $(tail -n 3 "$FT_TMP/$name.err")"
}

# ---- c. spread and the shared quota -------------------------------------------------------------

ft_check "c. 40 clients at once: both workers allocate, the user quota (30) holds for both"
metrics "$FT_TMP/c0.json"
bench c-alloc alloc --user alice --password one --allocations 40 --parallel 40 --duration 0.1 --warmup-allocations 0
metrics "$FT_TMP/c1.json"
python3 - "$FT_TMP/c-alloc.json" "$FT_TMP/c0.json" "$FT_TMP/c1.json" "$w0" "$w1" "$i0" "$i1" <<'EOF' ||
import json, sys
b = json.load(open(sys.argv[1]))
m0, m1 = (json.load(open(p)) for p in sys.argv[2:4])
w0, w1, i0, i1 = sys.argv[4:8]
d = lambda k: m1[k] - m0.get(k, 0)
print("  bench: %d allocated, %d failed; workers: inputs +%d and +%d, allocated +%d and +%d; "
      "quota_486 +%d" % (b["allocated"], b["failed"], d(i0), d(i1), d(w0), d(w1),
                         d("floe_turn_quota_486_total")))
assert b["allocated"] == 30 and b["failed"] == 10, b
assert d(i0) > 0 and d(i1) > 0, "one worker got every client"
assert d(w0) + d(w1) == d("floe_turn_allocated_total") == 30
assert d("floe_turn_quota_486_total") == 10
assert m1["floe_turn_allocations"] == 0 and m1["floe_turn_users_with_allocations"] == 0
EOF
  ft_fail "the allocations or the quota are not what they should be"
ft_ok "40 clients on both workers: 30 allocated, 10 refused with 486"

# ---- d. relaying on both workers, DTLS ------------------------------------------------------------

ft_check "d. 16 allocations relay both ways, on both workers"
metrics "$FT_TMP/d0.json"
bench d-relay relay --user alice --password one --allocations 16 --duration 1 --warmup 0 \
  --latency-duration 0 --poll epoll
metrics "$FT_TMP/d1.json"
python3 - "$FT_TMP/d-relay.json" "$FT_TMP/d0.json" "$FT_TMP/d1.json" "$w0" "$w1" <<'EOF' ||
import json, sys
b = json.load(open(sys.argv[1]))
m0, m1 = (json.load(open(p)) for p in sys.argv[2:4])
w0, w1 = sys.argv[4:6]
d = lambda k: m1[k] - m0.get(k, 0)
print("  setup %s; load sent %d, echoed %d; workers allocated +%d and +%d; relayed %d each way" % (
    b["setup"], b["load"]["sent"], b["load"]["echoed"], d(w0), d(w1),
    d("floe_turn_relayed_to_peer_total")))
assert b["setup"]["allocated"] == 16 and b["setup"]["failed"] == 0, b["setup"]
assert b["load"]["echoed"] > 0 and b["load"]["echoed"] >= 0.9 * b["load"]["sent"], b["load"]
assert d(w0) > 0 and d(w1) > 0, "the relays are all on one worker"
assert d("floe_turn_relayed_to_peer_total") >= b["load"]["echoed"]
EOF
  ft_fail "relaying through both workers failed"
ft_ok "datagrams relayed through the allocations of both workers"

ft_check "d. DTLS clients allocate and relay through the workers' DTLS sockets"
for i in 1 2 3 4; do
  timeout -k 2 30 "$FLOE" turn --transport dtls --insecure --user alice --password one \
    --peer "127.0.0.1:$E" --count 5 --interval 20 --json "127.0.0.1:$PD" \
    >"$FT_TMP/d-dtls-$i.out" 2>"$FT_TMP/d-dtls-$i.err" ||
    ft_fail "floe turn over DTLS ($i) failed: $(tail -n 3 "$FT_TMP/d-dtls-$i.err")"
  [ "$(ft_json "$FT_TMP/d-dtls-$i.out" 'j["echoed"]')" = 5 ] || ft_fail "DTLS run $i: not 5/5 echoed"
done
"$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/d-stats.json"
ft_expect_eq "$(ft_json "$FT_TMP/d-stats.json" 'j["runtime"]["dtls_sessions_accepted"] >= 4')" true \
  "4 DTLS clients, 5/5 echoed each; sessions accepted >= 4"

ft_check "d. RTP/RTCP pairs (EVEN-PORT with R, RESERVATION-TOKEN) across the workers"
if command -v turnutils_uclient >/dev/null && command -v turnutils_peer >/dev/null; then
  read -r UP <<<"$(ft_free_ports 1 127.0.0.1)"
  ft_start upeer turnutils_peer -L 127.0.0.1 -p "$UP"
  ft_wait_listen udp 127.0.0.1 "$UP" "$(ft_pid upeer)"
  "$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/u0.json"
  rc=0
  timeout -k 2 60 turnutils_uclient -m 12 -n 20 -l 172 -z 5 -e 127.0.0.1 -r "$UP" -u bob \
    -w bob-pw -p "$P" 127.0.0.1 >"$FT_TMP/uclient.out" 2>&1 || rc=$?
  [ "$rc" = 0 ] || ft_fail "turnutils_uclient exited $rc: $(tail -n 3 "$FT_TMP/uclient.out")"
  "$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/u1.json"
  python3 - "$FT_TMP/uclient.out" "$FT_TMP/u0.json" "$FT_TMP/u1.json" <<'EOF' ||
import json, re, sys
out = open(sys.argv[1]).read()
a, b = (json.load(open(p))["turn"] for p in sys.argv[2:4])
d = lambda k: b[k] - a[k]
m = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)$", out, re.M)
sent, recv = map(int, m[-1])
print("  uclient: %d/%d echoed; reservations made +%d, claimed +%d, invalid-token 508 +%d" % (
    recv, sent, d("reservations_made"), d("reservations_claimed"),
    d("reservation_token_invalid_508")))
assert sent == recv == 12 * 20, (sent, recv)
assert d("reservations_claimed") >= 6 and d("reservation_token_invalid_508") == 0
assert d("reservations_full_508") == 0
EOF
    ft_fail "RTP/RTCP pairs through the workers"
  ft_ok "every RESERVATION-TOKEN taken by whichever worker its Allocate reached"
  ft_stop upeer
else
  ft_say "  skipped: turnutils_uclient (coturn) is not installed"
fi

# ---- e. reload ---------------------------------------------------------------------------------------

ft_check "e. SIGHUP: a new password and user-quota 10 reach every worker"
write_conf two 10
kill -HUP "$(ft_pid srv)"
ft_wait_log srv 'reloaded .*passing it to the other workers'
for ((i = 0; i < 100; i++)); do
  metrics "$FT_TMP/e0.json"
  [ "$(m "$FT_TMP/e0.json" 'floe_worker_reloads_total{worker="1"}')" = 1 ] && break
  sleep 0.05
done
ft_expect_eq "$(m "$FT_TMP/e0.json" 'floe_worker_reloads_total{worker="0"}')/$(m "$FT_TMP/e0.json" 'floe_worker_reloads_total{worker="1"}')" \
  "1/1" "floe_worker_reloads_total of worker 0/worker 1"
bench e-old alloc --user alice --password one --allocations 20 --parallel 20 --duration 0.1 --warmup-allocations 0
metrics "$FT_TMP/e1.json"
bench e-new alloc --user alice --password two --allocations 20 --parallel 20 --duration 0.1 --warmup-allocations 0
metrics "$FT_TMP/e2.json"
python3 - "$FT_TMP/e-old.json" "$FT_TMP/e-new.json" "$FT_TMP/e0.json" "$FT_TMP/e1.json" "$FT_TMP/e2.json" "$i0" "$i1" <<'EOF' ||
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
m0, m1, m2 = (json.load(open(p)) for p in sys.argv[3:6])
i0, i1 = sys.argv[6:8]
a401 = "floe_turn_auth_failed_401_total"
print("  old password: %d allocated, 401 +%d, workers' inputs +%d and +%d; new password: %d "
      "allocated, %d refused: 401 +%d, 486 +%d" % (
          old["allocated"], m1[a401] - m0[a401], m1[i0] - m0[i0], m1[i1] - m0[i1],
          new["allocated"], new["failed"], m2[a401] - m1[a401],
          m2["floe_turn_quota_486_total"] - m1["floe_turn_quota_486_total"]))
# 20 clients on both workers: had one not reloaded, the old password would allocate there.
assert old["allocated"] == 0 and m1[a401] - m0[a401] >= 20, old
assert m1[i0] > m0[i0] and m1[i1] > m0[i1], "one worker got every client"
# ... and the new one would get 401 there.
assert m2[a401] == m1[a401], "a worker refused the new password"
assert new["allocated"] == 10 and new["failed"] == 10, new
assert m2["floe_turn_quota_486_total"] - m1["floe_turn_quota_486_total"] == 10
EOF
  ft_fail "the reload did not reach every worker"
ft_ok "both workers take the new password; the new quota (10) holds for both together"

# ---- f. drain ------------------------------------------------------------------------------------------

ft_check "f. SIGTERM: every worker drains, the server waits for the allocations of both"
metrics "$FT_TMP/f-base.json" # uclient's RTCP allocations (d) may still be there
base=$(m "$FT_TMP/f-base.json" floe_turn_allocations)
b0=$(m "$FT_TMP/f-base.json" 'floe_worker_allocations{worker="0"}')
b1=$(m "$FT_TMP/f-base.json" 'floe_worker_allocations{worker="1"}')
ft_start keeper "$FLOE" bench turn relay --user alice --password two --allocations 8 \
  --duration 30 --warmup 0 --latency-duration 0 --poll epoll \
  --rate 200 --json "127.0.0.1:$P"
for ((i = 0; i < 100; i++)); do
  metrics "$FT_TMP/f0.json"
  [ "$(m "$FT_TMP/f0.json" floe_turn_allocations)" = $((base + 8)) ] && break
  sleep 0.1
done
held0=$(($(m "$FT_TMP/f0.json" 'floe_worker_allocations{worker="0"}') - b0))
held1=$(($(m "$FT_TMP/f0.json" 'floe_worker_allocations{worker="1"}') - b1))
ft_say "  allocations held: $held0 on worker 0, $held1 on worker 1"
[ $((held0 + held1)) = 8 ] || ft_fail "the keeper holds $((held0 + held1)) allocations, not 8"
t_term=$(python3 -c 'import time; print(int(time.time() * 1000))')
kill -TERM "$(ft_pid srv)"
ft_wait_log srv 'draining: no new allocations' 5
for ((i = 0; i < 100; i++)); do
  metrics "$FT_TMP/f1.json"
  [ "$(m "$FT_TMP/f1.json" 'floe_worker_draining{worker="1"}')" = 1 ] && break
  sleep 0.02
done
ft_expect_eq "$(m "$FT_TMP/f1.json" 'floe_worker_draining{worker="0"}')/$(m "$FT_TMP/f1.json" 'floe_worker_draining{worker="1"}')" \
  "1/1" "floe_worker_draining of worker 0/worker 1"
bench f-new alloc --user alice --password two --allocations 20 --parallel 20 --duration 0.1 --warmup-allocations 0
metrics "$FT_TMP/f2.json"
python3 - "$FT_TMP/f-new.json" "$FT_TMP/f1.json" "$FT_TMP/f2.json" "$base" <<'EOF' ||
import json, sys
b = json.load(open(sys.argv[1]))
base = int(sys.argv[4])
m1, m2 = (json.load(open(p)) for p in sys.argv[2:4])
print("  during the drain: %d allocated, %d refused; draining_508 +%d; allocations %d" % (
    b["allocated"], b["failed"],
    m2["floe_turn_draining_508_total"] - m1["floe_turn_draining_508_total"],
    m2["floe_turn_allocations"]))
assert b["allocated"] == 0 and b["failed"] == 20, b
assert m2["floe_turn_draining_508_total"] - m1["floe_turn_draining_508_total"] == 20
assert m2["floe_turn_allocations"] == base + 8
EOF
  ft_fail "a worker still allocates while draining"
ft_ok "20 Allocates from 20 addresses all refused with 508; the 8 allocations stay"
for ((i = 0; i < 200; i++)); do
  ft_alive "$(ft_pid srv)" || break
  sleep 0.05
done
ft_alive "$(ft_pid srv)" && ft_fail "floe server still runs 10 s after SIGTERM (drain-timeout 3)"
ms=$(($(python3 -c 'import time; print(int(time.time() * 1000))') - t_term))
ft_stop srv
ft_expect_eq "$FT_STOP_STATUS" 0 "exit status after the drain"
[ "$ms" -ge 2800 ] || ft_fail "the server exited ${ms} ms after SIGTERM: it did not wait for the allocations"
grep -q "drained ($((base + 8)) allocations left)" "$(ft_log_of srv)" ||
  ft_fail "no 'drained ($((base + 8)) allocations left)': $(grep drained "$(ft_log_of srv)")"
python3 - "$(ft_log_of srv)" <<'EOF' || ft_fail "the final counters line does not show both workers"
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("floe server: stopped; ")][-1]
j = json.loads(line.split("stopped; ", 1)[1])
ws = j["workers"]
assert [w["worker"] for w in ws] == [0, 1] and all(w["reloads"] == 1 for w in ws), ws
assert sum(w["allocated"] for w in ws) == j["turn"]["allocated"], ws
print("  stopped: " + ", ".join("worker %d allocated %d" % (w["worker"], w["allocated"]) for w in ws))
EOF
ft_ok "exit 0 after ${ms} ms (drain-timeout 3 s), the $((base + 8)) allocations of both workers left"
ft_stop keeper KILL
! grep -qE 'Sanitizer|runtime error:|ThreadSanitizer' "$(ft_log_of srv)" || ft_fail "sanitizer report in the log"
ft_stop echo
ft_say "PASS"
