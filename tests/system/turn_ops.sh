#!/usr/bin/env bash
# System: operating `floe server` as a TURN relay.
#
#   a. --check-config with a full TURN config file prints every setting, no password and
#      no secret, and exits 0; broken files (a prefix with host bits, an unknown key, a user
#      without a password, a value out of range, a line without '=', realm without users)
#      exit non-zero with one line on stderr that names the file and line;
#   b. SIGHUP: alice's password changes from "one" to "two" in the file; after the reload
#      "one" gets 401 and "two" allocates. A deny-peer for the echo peer's address: a new
#      permission to it gets 403, and the permission an allocation already held is revoked
#      (its datagrams stop). A broken file on SIGHUP keeps the running configuration;
#   c. --metrics: text/plain with HELP and TYPE for every series, each floe_turn_*_total
#      equal to the --stats counter of that name, POST gets 405 and another path 404, and
#      50 allocations by 50 different TURN REST usernames add no series (no per-user labels);
#   d. SIGTERM drains: new Allocates get 508 (floe turn says so and exits 1), an existing
#      allocation keeps relaying, and the server exits 0 after --drain-timeout 3 (+ margin);
#      it exits as soon as the last allocation ends; a second SIGTERM stops it at once.
# The echo peer is `floe bench echo` on 127.0.0.2. Loopback only; the only processes
# signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss
ft_need_file "$FLOE" "the floe binary"

read -r -a ports <<<"$(ft_free_ports 9)"
P1=${ports[0]} M1=${ports[1]} E=${ports[2]} P2=${ports[3]} M2=${ports[4]} P3=${ports[5]}
P4=${ports[6]}
read -r RLO RHI <<<"$(python3 -c 'import random; b = random.randrange(20000, 29000, 100); print(b, b + 499)')"
REALM=floe.test REST_SECRET=ops-rest-secret-5c1e
PEER=127.0.0.2:$E
ft_say "servers on 127.0.0.1:$P1 (metrics :$M1), :$P2 (metrics :$M2), :$P3, :$P4; relays $RLO-$RHI; echo peer $PEER"

# ---- helpers ------------------------------------------------------------------------------

# turn NAME ARGS...: runs floe turn against ARGS (the last one is the server), output in
# $FT_TMP/NAME.out and NAME.err; sets TURN_RC.
turn() {
  local name=$1
  shift
  TURN_RC=0
  timeout -k 2 60 "$FLOE" turn "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || TURN_RC=$?
}
turn_ok() { # NAME ARGS...: must succeed; prints what it measured
  local name=$1
  turn "$@"
  [ "$TURN_RC" = 0 ] || ft_fail "floe turn $name exited $TURN_RC: $(tail -n 3 "$FT_TMP/$name.err")"
}
turn_err() { # NAME WANT-REGEX ARGS...: must fail, and stderr must match WANT-REGEX
  local name=$1 want=$2
  shift 2
  turn "$name" "$@"
  [ "$TURN_RC" != 0 ] || ft_fail "floe turn $name succeeded, expected a failure /$want/: $(cat "$FT_TMP/$name.out")"
  grep -qE -- "$want" "$FT_TMP/$name.err" ||
    ft_fail "floe turn $name exited $TURN_RC without /$want/ on stderr: $(tail -n 3 "$FT_TMP/$name.err")"
  ft_ok "floe turn $name exits $TURN_RC: $(grep -E -- "$want" "$FT_TMP/$name.err" | tail -n 1)"
}

# stats CTL FILE: the server's counters as JSON in FILE.
stats() { "$FLOE" server --stats --control "$1" >"$2" || ft_fail "floe server --stats --control $1 failed"; }

# wait_count NAME ERE N [SECONDS]: waits until the log of NAME has N lines matching ERE.
wait_count() {
  local name=$1 re=$2 n=$3 secs=${4:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    [ "$(grep -cE -- "$re" "$(ft_log_of "$name")" || true)" -ge "$n" ] && return 0
    sleep 0.05
  done
  ft_fail "$name did not log /$re/ $n times within ${secs}s: $(tail -n 3 "$(ft_log_of "$name")")"
}

# now_ms: milliseconds on the wall clock (only differences are used)
now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' "${t:0:-3}"; }

# wait_exit NAME SECONDS: waits (bounded) for process NAME to exit; sets EXIT_STATUS and
# EXIT_MS (time since the call). Fails when it is still running after SECONDS.
wait_exit() {
  local name=$1 secs=$2 pid t0 i
  pid=$(ft_pid "$name")
  t0=$(now_ms)
  for ((i = 0; i < secs * 50; i++)); do
    ft_alive "$pid" || break
    sleep 0.02
  done
  ft_alive "$pid" && ft_fail "$name (pid $pid) still runs ${secs}s later"
  EXIT_STATUS=0
  wait "$pid" 2>/dev/null || EXIT_STATUS=$?
  EXIT_MS=$(($(now_ms) - t0))
}

# ---- a. --check-config ---------------------------------------------------------------------

ft_check "a. --check-config with a full TURN config file"
cat >"$FT_TMP/full.conf" <<EOF
# a full TURN configuration
listen = 127.0.0.1:$P1
listen = tls://127.0.0.1:$P3
tls-cert = $FT_TMP/tls/cert.pem
tls-key = $FT_TMP/tls/key.pem
realm = $REALM
user = alice:pw-alice-Q7x9
user = bob:pw-bob-Z3k1      # a comment
secret = rest-secret-old-R2d2
secret = rest-secret-new-C3po
allow-peer = 127.0.0.2
allow-peer = 10.0.0.0/8
deny-peer = 10.9.0.0/16
deny-peer = fd00::/8
relay-ip = 127.0.0.1
relay-ports = $RLO-$RHI
max-allocations = 64
user-quota = 4
max-reservations = 16
max-permissions = 8
max-channels = 4
lifetime = 300
max-lifetime = 1200
nonce-lifetime = 120
kbps-per-allocation = 500
kbps-total = 5000
unauth-rate = 30
unauth-burst = 60
drain-timeout = 3
metrics = 127.0.0.1:$M1
EOF
ft_make_cert "$FT_TMP/tls"
rc=0
"$FLOE" server --check-config --config "$FT_TMP/full.conf" --control "$FT_TMP/unused.sock" \
  >"$FT_TMP/check.out" 2>"$FT_TMP/check.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "--check-config exited $rc: $(cat "$FT_TMP/check.err")"
ft_ok "exit 0, $(wc -l <"$FT_TMP/check.out") lines: $(head -n 1 "$FT_TMP/check.out")"
wants=("realm = $REALM" "users = 2 (passwords not shown)" "secrets = 2 (not shown)" \
  "listen = udp://127.0.0.1:$P1" "listen = tcp://127.0.0.1:$P1" "listen = tls://127.0.0.1:$P3" \
  "relay-ip = 127.0.0.1" "relay-ports = $RLO-$RHI" "allow-peer = 127.0.0.2/32" \
  "allow-peer = 10.0.0.0/8" "deny-peer = 10.9.0.0/16" "deny-peer = fd00::/8" \
  "max-allocations = 64" "user-quota = 4" "max-reservations = 16" "max-permissions = 8" "max-channels = 4" \
  "lifetime = 300" "max-lifetime = 1200" "nonce-lifetime = 120" "kbps-per-allocation = 500" \
  "kbps-total = 5000" "unauth-rate = 30" "unauth-burst = 60" "drain-timeout = 3")
for want in "${wants[@]}"; do
  grep -qxF -- "$want" "$FT_TMP/check.out" || ft_fail "--check-config does not print '$want':
$(cat "$FT_TMP/check.out")"
done
ft_ok "prints all ${#wants[@]} settings checked (realm, 3 listeners, users, secrets, relay, 4 prefixes, quotas, rates)"
leaks=$(grep -hoE 'pw-alice-Q7x9|pw-bob-Z3k1|rest-secret-(old-R2d2|new-C3po)' "$FT_TMP/check.out" "$FT_TMP/check.err" || true)
[ -z "$leaks" ] || ft_fail "--check-config prints a password or secret: $leaks"
ft_ok "no password and no secret in its output (4 strings searched)"

ft_check "a. broken config files: non-zero exit, one line on stderr naming the file and line"
bad_config() { # WHAT LINE-NO-OR-- ERE BODY-LINES...
  local what=$1 line=$2 want=$3 rc=0 f="$FT_TMP/bad.conf"
  shift 3
  printf '%s\n' "listen = 127.0.0.1:$P1" "realm = $REALM" "$@" >"$f"
  "$FLOE" server --check-config --config "$f" >"$FT_TMP/bad.out" 2>"$FT_TMP/bad.err" || rc=$?
  [ "$rc" != 0 ] || ft_fail "$what: --check-config accepted it: $(cat "$FT_TMP/bad.out")"
  [ ! -s "$FT_TMP/bad.out" ] || ft_fail "$what: settings printed although invalid"
  [ "$(wc -l <"$FT_TMP/bad.err")" = 1 ] || ft_fail "$what: stderr is not one line: $(cat "$FT_TMP/bad.err")"
  if [ "$line" != - ]; then
    grep -qF "$f:$line: " "$FT_TMP/bad.err" || ft_fail "$what: the error does not name $f:$line: $(cat "$FT_TMP/bad.err")"
  fi
  grep -qE -- "$want" "$FT_TMP/bad.err" || ft_fail "$what: the error does not say /$want/: $(cat "$FT_TMP/bad.err")"
  ft_ok "$what: exit $rc: $(sed "s|$FT_TMP/||" "$FT_TMP/bad.err")"
}
bad_config "prefix with host bits" 4 "allow-peer '10.1.2.3/8'" "user = alice:one" "allow-peer = 10.1.2.3/8"
bad_config "unknown key" 5 "unknown setting 'frobnicate'" "user = alice:one" "# comment" "frobnicate = yes"
bad_config "user without password" 3 "NAME:PASSWORD" "user = nopassword"
bad_config "bad deny-peer address" 4 "deny-peer '300.1.2.3'" "user = alice:one" "deny-peer = 300.1.2.3"
bad_config "value out of range" 4 "max-permissions must be 1..16" "user = alice:one" "max-permissions = 33"
bad_config "line without '='" 4 "expected 'key = value'" "user = alice:one" "unauth-rate 5"
bad_config "realm without users" - "needs --user" "# no user, no secret"

# ---- b. SIGHUP reload ----------------------------------------------------------------------

ft_start echo "$FLOE" bench echo --listen "$PEER"
ft_wait_listen udp 127.0.0.2 "$E" "$(ft_pid echo)"

write_conf() { # PASSWORD [EXTRA-LINE...]: the config of server s1, written atomically
  local pw=$1
  shift
  printf '%s\n' "listen = 127.0.0.1:$P1" "realm = $REALM" "user = alice:$pw" \
    "secret = $REST_SECRET" "allow-peer = 127.0.0.2" "relay-ports = $RLO-$RHI" \
    "unauth-rate = 200" "unauth-burst = 400" "drain-timeout = 0" "$@" >"$FT_TMP/s1.conf.new"
  mv "$FT_TMP/s1.conf.new" "$FT_TMP/s1.conf"
}
write_conf one
ft_start s1 "$FLOE" server --config "$FT_TMP/s1.conf" --control "$FT_TMP/s1.sock" --metrics "127.0.0.1:$M1"
ft_wait_listen udp 127.0.0.1 "$P1" "$(ft_pid s1)"
ft_wait_listen tcp 127.0.0.1 "$M1" "$(ft_pid s1)"
ft_wait_file "$FT_TMP/s1.sock" "$(ft_pid s1)"
ft_assert_loopback_only "$(ft_pid s1)" "floe server s1"
S1=127.0.0.1:$P1

ft_check "b. alice:one allocates and relays before the reload"
turn_ok b-one-before --user alice --password one --peer "$PEER" --count 5 --json "$S1"
ft_ok "$(ft_json "$FT_TMP/b-one-before.out" '"relayed %s, %d/%d echoed" % (j["relayed"], j["echoed"], j["sent"])')"

ft_check "b. the file now says alice:two; SIGHUP"
write_conf two
kill -HUP "$(ft_pid s1)"
wait_count s1 'reloaded .*s1\.conf: 1 users, 1 secrets, 1 allow and 0 deny' 1
ft_ok "$(grep 'reloaded' "$(ft_log_of s1)" | tail -n 1)"
turn_err b-one-after '401' --user alice --password one "$S1"
turn_ok b-two-after --user alice --password two --json "$S1"
ft_ok "alice:two: $(ft_json "$FT_TMP/b-two-after.out" '"relayed %s in %d requests" % (j["relayed"], j["requests"])')"

ft_check "b. deny-peer 127.0.0.2 (the echo peer) and SIGHUP while an allocation holds a permission to it"
ft_start holder "$FLOE" turn --user alice --password two --peer "$PEER" --count 200 --interval 10 \
  --timeout 1 --json "$S1"
ft_wait_log holder 'permission for .* installed'
stats "$FT_TMP/s1.sock" "$FT_TMP/b-before-deny.json"
write_conf two "deny-peer = 127.0.0.2"
kill -HUP "$(ft_pid s1)"
wait_count s1 'reloaded .*: 1 users, 1 secrets, 1 allow and 1 deny' 1
ft_ok "$(grep 'reloaded' "$(ft_log_of s1)" | tail -n 1)"
turn_err b-denied '403' --user alice --password two --peer "$PEER" --count 2 --json "$S1"
wait_exit holder 15
stats "$FT_TMP/s1.sock" "$FT_TMP/b-after-deny.json"
python3 - "$FT_TMP/b-before-deny.json" "$FT_TMP/b-after-deny.json" "$FT_TMP/holder.log" "$EXIT_STATUS" <<'EOF' ||
import json, sys
a, b = (json.load(open(p))["turn"] for p in sys.argv[1:3])
d = {k: b[k] - a[k] for k in ("forbidden_peer_403", "entries_revoked_by_reload", "drop_no_permission",
                              "relayed_to_peer")}
holder = [l for l in open(sys.argv[3]) if l.startswith("{")]
h = json.loads(holder[-1]) if holder else {}
rc = int(sys.argv[4])
print("  counters over the reload: %s; the holder: exit %d, %s/%s echoed" % (
    d, rc, h.get("echoed"), h.get("sent")))
assert d["forbidden_peer_403"] >= 1, "no 403 counted"
assert d["entries_revoked_by_reload"] >= 1, "the holder's permission was not revoked"
assert d["drop_no_permission"] >= 1, "nothing dropped for want of the revoked permission"
assert rc != 0 and h.get("sent") == 200 and h["echoed"] < 200, "the holder's datagrams kept flowing"
EOF
  ft_fail "the deny-peer reload did not take effect: $(tail -n 3 "$FT_TMP/holder.log")"
ft_ok "new permission refused with 403; the existing one revoked, its datagrams dropped"

ft_check "b. a broken file on SIGHUP keeps the running configuration"
write_conf three "frobnicate = 1"
kill -HUP "$(ft_pid s1)"
wait_count s1 'reload failed' 1
ft_ok "$(grep -E 's1\.conf:[0-9]+:|reload failed' "$(ft_log_of s1)" | tail -n 2 | tr '\n' ' ')"
turn_ok b-two-kept --user alice --password two --json "$S1"
turn_err b-three-refused '401' --user alice --password three "$S1"
ft_ok "alice:two still allocates ($(ft_json "$FT_TMP/b-two-kept.out" 'j["relayed"]')), alice:three does not"
write_conf two # a good file again, for the rest
kill -HUP "$(ft_pid s1)"
wait_count s1 'reloaded .*: 1 users, 1 secrets, 1 allow and 0 deny' 2

# ---- c. /metrics ---------------------------------------------------------------------------

# scrape URL OUT.json: status, headers and body of one request (GET, or POST with a body)
scrape() {
  python3 - "$@" <<'EOF' || ft_fail "cannot fetch $1"
import json, sys, urllib.error, urllib.request
url, out = sys.argv[1], sys.argv[2]
method = sys.argv[3] if len(sys.argv) > 3 else "GET"
req = urllib.request.Request(url, method=method, data=b"x=1" if method == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=5)
    status, headers, body = r.status, dict(r.headers), r.read().decode()
except urllib.error.HTTPError as e:
    status, headers, body = e.code, dict(e.headers), e.read().decode()
json.dump({"status": status, "headers": headers, "body": body}, open(out, "w"))
EOF
}
METRICS=http://127.0.0.1:$M1/metrics

ft_check "c. GET /metrics: text/plain, HELP and TYPE for every series, counters equal to --stats"
stats "$FT_TMP/s1.sock" "$FT_TMP/c-stats.json"
scrape "$METRICS" "$FT_TMP/c-scrape1.json"
python3 - "$FT_TMP/c-scrape1.json" "$FT_TMP/c-stats.json" "$FT_TMP/c-series1.txt" <<'EOF' ||
import json, re, sys
s = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
ctype = s["headers"].get("Content-Type", "")
assert s["status"] == 200, "status %s" % s["status"]
assert ctype.startswith("text/plain"), "Content-Type %r" % ctype
help_, type_, samples = {}, {}, {}
for line in s["body"].splitlines():
    if line.startswith("# HELP "):
        name = line.split()[2]
        help_[name] = line
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        type_[name] = kind
    elif line and not line.startswith("#"):
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
        assert m, "not a sample line: %r" % line
        series = m.group(1) + (m.group(2) or "")
        assert series not in samples, "series %s twice" % series
        samples[series] = float(m.group(3))
names = {re.sub(r"\{.*", "", k) for k in samples}
assert names == set(help_) == set(type_), "HELP/TYPE do not match the samples: %s" % (
    names ^ set(help_) | names ^ set(type_))
for n, k in type_.items():
    assert k in ("counter", "gauge"), "%s has type %s" % (n, k)
    assert (k == "counter") == n.endswith("_total"), "%s: type %s" % (n, k)
t = st["turn"]
gauges = {"allocations", "permissions", "channels", "users_with_allocations", "reservations",
          "table_bytes", "draining"}
checked = 0
for k, v in t.items():
    if k in gauges:
        continue
    m = "floe_turn_%s_total" % k
    assert m in samples, "no series %s" % m
    assert samples[m] == v, "%s = %s, --stats says %s" % (m, samples[m], v)
    checked += 1
for k in ("allocations", "permissions", "channels", "users_with_allocations", "reservations",
          "table_bytes"):
    assert samples["floe_turn_" + k] == t[k], "floe_turn_%s %s != %s" % (k, samples["floe_turn_" + k], t[k])
assert samples["floe_turn_draining"] == 0
labels = [k for k in samples if "{" in k]
open(sys.argv[3], "w").write("\n".join(sorted(samples)) + "\n")
print("  200, Content-Type %r, %d series (%d with labels), %d HELP, %d TYPE; "
      "%d floe_turn_*_total equal to --stats; floe_turn_allocated_total %d = allocated %d" % (
          ctype, len(samples), len(labels), len(help_), len(type_), checked,
          samples["floe_turn_allocated_total"], t["allocated"]))
EOF
  ft_fail "/metrics is not what it should be"
ft_ok "/metrics agrees with --stats"

ft_check "c. POST /metrics gets 405, GET /other gets 404"
scrape "$METRICS" "$FT_TMP/c-post.json" POST
ft_expect_eq "$(ft_json "$FT_TMP/c-post.json" 'j["status"]')" 405 "POST /metrics status"
allow=$(ft_json "$FT_TMP/c-post.json" 'j["headers"].get("Allow")')
[[ "$allow" == *GET* ]] || ft_fail "405 without 'Allow: GET...': '$allow'"
ft_ok "405 says Allow: $allow"
scrape "http://127.0.0.1:$M1/other" "$FT_TMP/c-404.json"
ft_expect_eq "$(ft_json "$FT_TMP/c-404.json" 'j["status"]')" 404 "GET /other status"

ft_check "c. 50 allocations by 50 TURN REST usernames add no series"
before=$(ft_json "$FT_TMP/c-stats.json" 'j["turn"]["allocated"]')
for i in $(seq -w 1 50); do
  turn_ok "c-rest-$i" --secret "$REST_SECRET" --user "metrics-user-$i" --json "$S1"
done
ft_ok "50 allocations by usernames EXPIRY:metrics-user-01..50 ($(ft_json "$FT_TMP/c-rest-50.out" 'j["relayed"]') the last)"
stats "$FT_TMP/s1.sock" "$FT_TMP/c-stats2.json"
scrape "$METRICS" "$FT_TMP/c-scrape2.json"
python3 - "$FT_TMP/c-scrape2.json" "$FT_TMP/c-series1.txt" "$FT_TMP/c-stats2.json" "$before" <<'EOF' ||
import json, re, sys
body = json.load(open(sys.argv[1]))["body"]
series1 = open(sys.argv[2]).read().split()
st = json.load(open(sys.argv[3]))["turn"]
before = int(sys.argv[4])
samples = {}
for line in body.splitlines():
    if line and not line.startswith("#"):
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
print("  series: %d before, %d after; floe_turn_allocated_total %d (was %d), --stats %d" % (
    len(series1), len(samples), samples["floe_turn_allocated_total"], before, st["allocated"]))
assert sorted(samples) == sorted(series1), "series changed: %s" % (set(samples) ^ set(series1))
assert "metrics-user" not in body, "a username is in /metrics"
assert samples["floe_turn_allocated_total"] == st["allocated"] == before + 50
EOF
  ft_fail "/metrics series changed with the usernames"
ft_ok "the same series; no username in the text; allocated_total +50"
ft_stop s1
ft_expect_eq "$FT_STOP_STATUS" 0 "s1 exit status (drain-timeout 0: no drain)"

# ---- d. SIGTERM drain ----------------------------------------------------------------------

ft_check "d. SIGTERM with an allocation relaying: draining, 508 to new Allocates, exit 0 after 3 s"
ft_start s2 "$FLOE" server --listen "127.0.0.1:$P2" --realm "$REALM" --user alice:one \
  --allow-peer 127.0.0.2 --relay-ports "$RLO-$RHI" --drain-timeout 3 \
  --control "$FT_TMP/s2.sock" --metrics "127.0.0.1:$M2"
ft_wait_listen udp 127.0.0.1 "$P2" "$(ft_pid s2)"
ft_wait_file "$FT_TMP/s2.sock" "$(ft_pid s2)"
ft_start keeper "$FLOE" turn --user alice --password one --peer "$PEER" --count 100000 --interval 10 \
  "127.0.0.1:$P2"
ft_wait_log keeper 'permission for .* installed'
sleep 0.3
stats "$FT_TMP/s2.sock" "$FT_TMP/d-0.json"
t_term=$(now_ms)
kill -TERM "$(ft_pid s2)"
ft_wait_log s2 'draining: no new allocations' 5
ft_ok "$(grep 'draining' "$(ft_log_of s2)")"
turn_err d-new '508' --user alice --password one "127.0.0.1:$P2"
sleep 0.5
stats "$FT_TMP/s2.sock" "$FT_TMP/d-1.json"
scrape "http://127.0.0.1:$M2/metrics" "$FT_TMP/d-metrics.json"
python3 - "$FT_TMP/d-0.json" "$FT_TMP/d-1.json" "$FT_TMP/d-metrics.json" <<'EOF' ||
import json, sys
a, b = (json.load(open(p))["turn"] for p in sys.argv[1:3])
body = json.load(open(sys.argv[3]))["body"]
g = dict(l.rsplit(" ", 1) for l in body.splitlines() if l and not l.startswith("#"))
d = {k: b[k] - a[k] for k in ("relayed_to_peer", "relayed_to_client", "draining_508", "allocated")}
print("  during the drain: %s; draining %s, allocations %d; /metrics floe_turn_draining %s" % (
    d, b["draining"], b["allocations"], g["floe_turn_draining"]))
assert b["draining"] is True and g["floe_turn_draining"] == "1"
assert d["draining_508"] == 1 and d["allocated"] == 0 and b["allocations"] == 1
assert d["relayed_to_peer"] > 0 and d["relayed_to_client"] > 0, "the relay stopped"
EOF
  ft_fail "the drain is not what it should be"
ft_ok "the existing allocation relays on during the drain; the new one got 508"
wait_exit s2 8
total_ms=$(($(now_ms) - t_term))
ft_say "  s2 exited $EXIT_STATUS, ${total_ms} ms after SIGTERM; $(grep -E 'drained' "$(ft_log_of s2)")"
ft_expect_eq "$EXIT_STATUS" 0 "s2 exit status after the drain"
if [ "$total_ms" -lt 2800 ] || [ "$total_ms" -gt 5000 ]; then
  ft_fail "s2 exited ${total_ms} ms after SIGTERM, expected 3000 ms (--drain-timeout 3) + up to 2000"
fi
grep -q 'drained (1 allocations left)' "$(ft_log_of s2)" || ft_fail "no 'drained (1 allocations left)'"
grep -q '^floe server: stopped; {' "$(ft_log_of s2)" || ft_fail "no final counters line"
ft_ok "exit 0 after ${total_ms} ms (drain-timeout 3 s, bound 2.8-5 s), 1 allocation left"
ft_stop keeper KILL # its server is gone: nothing to deallocate

ft_check "d. the drain ends as soon as the last allocation does"
ft_start s3 "$FLOE" server --listen "127.0.0.1:$P3" --realm "$REALM" --user alice:one \
  --allow-peer 127.0.0.2 --relay-ports "$RLO-$RHI" --drain-timeout 30 --control "$FT_TMP/s3.sock"
ft_wait_listen udp 127.0.0.1 "$P3" "$(ft_pid s3)"
ft_start short "$FLOE" turn --user alice --password one --peer "$PEER" --count 150 --interval 10 \
  --json "127.0.0.1:$P3"
ft_wait_log short 'permission for .* installed'
t_term=$(now_ms)
kill -TERM "$(ft_pid s3)"
wait_exit short 15
short_rc=$EXIT_STATUS
wait_exit s3 10
total_ms=$(($(now_ms) - t_term))
ft_say "  the client: exit $short_rc, $(ft_json <(grep '^{' "$(ft_log_of short)") '"%d/%d echoed, deallocated %s" % (j["echoed"], j["sent"], j["deallocated"])'); s3: exit $EXIT_STATUS ${total_ms} ms after SIGTERM; $(grep drained "$(ft_log_of s3)")"
ft_expect_eq "$short_rc" 0 "the client's exit status (every datagram echoed during the drain)"
ft_expect_eq "$EXIT_STATUS" 0 "s3 exit status"
grep -q 'drained (0 allocations left)' "$(ft_log_of s3)" || ft_fail "no 'drained (0 allocations left)'"
[ "$total_ms" -lt 10000 ] || ft_fail "s3 took ${total_ms} ms"
ft_ok "s3 exited ${total_ms} ms after SIGTERM, when the client deallocated (drain-timeout 30 s)"

ft_check "d. a second SIGTERM stops at once"
ft_start s4 "$FLOE" server --listen "127.0.0.1:$P4" --realm "$REALM" --user alice:one \
  --allow-peer 127.0.0.2 --relay-ports "$RLO-$RHI" --drain-timeout 30 --control "$FT_TMP/s4.sock"
ft_wait_listen udp 127.0.0.1 "$P4" "$(ft_pid s4)"
ft_start keeper4 "$FLOE" turn --user alice --password one --peer "$PEER" --count 100000 --interval 10 \
  "127.0.0.1:$P4"
ft_wait_log keeper4 'permission for .* installed'
kill -TERM "$(ft_pid s4)"
ft_wait_log s4 'draining: no new allocations' 5
sleep 0.3
ft_alive "$(ft_pid s4)" || ft_fail "s4 exited on the first SIGTERM although an allocation is left"
kill -TERM "$(ft_pid s4)"
wait_exit s4 3
ft_say "  s4 exited $EXIT_STATUS ${EXIT_MS} ms after the second SIGTERM"
ft_expect_eq "$EXIT_STATUS" 0 "s4 exit status"
[ "$EXIT_MS" -lt 1000 ] || ft_fail "s4 took ${EXIT_MS} ms to stop after the second SIGTERM"
! grep -q 'drained (' "$(ft_log_of s4)" || ft_fail "s4 says drained, it should have stopped at once"
grep -q '^floe server: stopped; {' "$(ft_log_of s4)" || ft_fail "no final counters line"
ft_ok "stopped in ${EXIT_MS} ms (< 1000), with 1 allocation left and 27 s of drain to go"
ft_stop keeper4 KILL

for s in s1 s2 s3 s4; do
  ! grep -qE 'Sanitizer|runtime error:' "$(ft_log_of "$s")" || ft_fail "sanitizer report in $s's log"
done
ft_stop echo
ft_say "PASS"
