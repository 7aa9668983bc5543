#!/usr/bin/env bash
# System: a flood of spoofed-source, unauthenticated TURN Allocates leaves `floe server`'s
# memory flat, every datagram ends in one counter, and the per-source-IP rate limiter keeps
# the answers down without locking out a legitimate client.
#
#   1. warm-up (so that lazily touched pages are in the "before" figure): 200 tuples get a
#      real nonce from a 401, send Allocates with that nonce and a bogus MESSAGE-INTEGRITY,
#      4,000 mixed Allocates come from 1,000 other tuples, and one `floe turn` allocates;
#   2. the flood: 200,000 plain Allocates (20-byte header + REQUESTED-TRANSPORT) from 55,000
#      distinct 5-tuples (500 source addresses 127.100.x.y on lo x 110 ports), plus 20,000
#      Allocates with USERNAME/REALM/NONCE and a bogus MESSAGE-INTEGRITY (18,000 with a forged
#      nonce, 2,000 with a real nonce from step 1); a `floe turn` client allocates meanwhile;
#   3. VmRSS of the server before and after the flood: it may grow by less than RSS_BOUND_KB
#      (1 MiB). The server allocates nothing per packet: the rate limiter is a fixed table
#      of FLOE_TSRV_RATE_SLOTS buckets and nonces are stateless;
#   4. the counters (`floe server --stats`): no allocation but the legitimate clients', the
#      datagrams sent = rx_client + what the kernel dropped at the server's socket, and
#      rx_client = challenged_401 + stale_nonce_438 + auth_failed_401 + drop_rate_limited +
#      the legitimate clients' outcomes; drop_rate_limited > 0; the answers stay below
#      sources x (burst + rate x uptime);
#   5. a legitimate `floe turn` client (from 127.0.0.1, a source IP of its own) still
#      allocates after the flood.
# Loopback only; the only processes signalled are the ones this script started.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss
ft_need_file "$FLOE" "the floe binary"

RATE=5 BURST=10 REALM=floe.test USER=alice PASS=wonderland
RSS_BOUND_KB=1024
read -r P <<<"$(ft_free_ports 1 127.0.0.1)"
CTL="$FT_TMP/srv.sock"
ft_say "floe server (TURN, udp+tcp 127.0.0.1:$P), --unauth-rate $RATE --unauth-burst $BURST"

# A sanitizer build keeps freed blocks in a quarantine (OpenSSL's HMAC allocates per call), so
# its RSS would grow with the quarantine, not with floe: the server runs with the quarantine
# off there (measured: +3 MB with it, +0-8 kB without), and the bound holds for both builds.
SAN_ENV=()
if grep -q -a -m1 '__asan_init' "$FLOE" 2>/dev/null; then
  SAN_ENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
  ft_say "sanitizer build: the server runs with ASan's quarantine off (${SAN_ENV[1]})"
fi
ft_start srv "${SAN_ENV[@]}" "$FLOE" server --listen "127.0.0.1:$P" --realm "$REALM" --user "$USER:$PASS" \
  --unauth-rate "$RATE" --unauth-burst "$BURST" --drain-timeout 0 --control "$CTL"
SRV_PID=$(ft_pid srv)
ft_wait_listen udp 127.0.0.1 "$P" "$SRV_PID"
ft_wait_file "$CTL" "$SRV_PID"
ft_assert_loopback_only "$SRV_PID" "floe server"

ft_check "the flood (python generator, 500+200+200 source addresses on lo)"
python3 - "$P" "$SRV_PID" "$FLOE" "$CTL" "$FT_TMP/report.json" "$USER" "$PASS" <<'EOF' ||
import base64, collections, json, os, random, select, socket, struct, subprocess, sys, time

port, pid, floe, ctl, report_path, user, password = sys.argv[1:8]
port, pid = int(port), int(pid)
SRV = ("127.0.0.1", port)
MAGIC = 0x2112A442
rng = random.Random(20240611)

def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)

def allocate(extra=()):
    body = attr(0x0019, b"\x11\0\0\0") + b"".join(extra)  # REQUESTED-TRANSPORT UDP
    tid = rng.getrandbits(96).to_bytes(12, "big")
    return struct.pack("!HHI", 0x0003, len(body), MAGIC) + tid + body

def with_credentials(name, realm, nonce):
    # a well-formed long-term-credential Allocate whose MESSAGE-INTEGRITY is random bytes
    return allocate([attr(0x0006, name), attr(0x0014, realm), attr(0x0015, nonce),
                     attr(0x0008, rng.getrandbits(160).to_bytes(20, "big"))])

def forged_nonce():
    return base64.b64encode(rng.getrandbits(96).to_bytes(12, "big"))  # 16 chars, as floe's

def attrs_of(m):
    out, off = {}, 20
    while off + 4 <= len(m):
        t, n = struct.unpack_from("!HH", m, off)
        out.setdefault(t, m[off + 4:off + 4 + n])
        off += 4 + n + (4 - n % 4) % 4
    return out

answers = collections.Counter()

def take_answers(s):
    while True:
        try:
            m = s.recv(2048)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        a = attrs_of(m)
        code = a.get(0x0009)
        kind = "%04x/%d" % (struct.unpack("!H", m[:2])[0],
                            (code[2] & 7) * 100 + code[3] if code and len(code) >= 4 else 0)
        answers[kind] += 1

def status_kb():
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0])
    return out

LOCAL_HEX = "%08X:%04X" % (struct.unpack("=I", socket.inet_aton("127.0.0.1"))[0], port)

def server_socket():
    """(rx_queue bytes, drops) of the server's UDP socket, from /proc/net/udp."""
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            c = line.split()
            if c[1] == LOCAL_HEX and c[3] == "07":
                return int(c[4].split(":")[1], 16), int(c[12])
    raise SystemExit("the server's UDP socket %s is not in /proc/net/udp" % LOCAL_HEX)

def softnet_drops():
    with open("/proc/net/softnet_stat") as f:
        return sum(int(l.split()[1], 16) for l in f)

def stats():
    out = subprocess.run([floe, "server", "--stats", "--control", ctl], capture_output=True,
                         text=True, timeout=10)
    if out.returncode != 0:
        raise SystemExit("floe server --stats failed: " + out.stderr)
    return json.loads(out.stdout)

def settle():
    """Waits (bounded) until the server has read everything and its counters stand still."""
    last, still = None, 0
    for _ in range(150):
        q, _ = server_socket()
        rx = stats()["turn"]["rx_client"]
        still = still + 1 if (q == 0 and rx == last) else 0
        if still >= 3:
            return rx
        last = rx
        time.sleep(0.1)
    raise SystemExit("the server did not settle within 15 s")

def legit():
    t = time.monotonic()
    p = subprocess.Popen([floe, "turn", "--user", user, "--password", password, "--json",
                          "127.0.0.1:%d" % port], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    return p, t

def legit_result(p, t, done=None, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    r = {"rc": p.returncode, "elapsed_s": round((done or time.monotonic()) - t, 3),
         "stderr": err.strip().splitlines()[-3:]}
    try:
        j = json.loads(out.strip().splitlines()[-1])
        r.update(requests=j["requests"], relayed=j["relayed"], local=j["local"],
                 rtt_ms=j["rtt_ms"])
    except (ValueError, IndexError, KeyError):
        r.update(requests=0, stdout=out[-300:])
    return r

def bind(ip, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, p))
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s

class Pacer:
    def __init__(self, pps):
        self.pps, self.t0, self.n = pps, time.monotonic(), 0
    def sent(self, k=1):
        self.n += k
        ahead = self.n / self.pps - (time.monotonic() - self.t0)
        if ahead > 0.002:
            time.sleep(ahead)

sent = collections.Counter()   # kind -> datagrams
drops0, soft0 = server_socket()[1], softnet_drops()
legit_runs = []

# ---- 1. warm-up ---------------------------------------------------------------------------
# 200 tuples with a real nonce each (from the 401 to a plain Allocate)
nonce_socks = []
for i in range(200):
    s = bind("127.101.0.%d" % (i + 1), 11000)
    if s:
        s.sendto(allocate(), SRV)
        sent["warmup_plain"] += 1
        nonce_socks.append(s)
have = {}
deadline = time.monotonic() + 5
while len(have) < len(nonce_socks) and time.monotonic() < deadline:
    r, _, _ = select.select([s for s in nonce_socks if s not in have], [], [], 0.2)
    for s in r:
        try:
            m = s.recv(2048)
        except BlockingIOError:
            continue
        a = attrs_of(m)
        if 0x0015 in a and 0x0014 in a:
            have[s] = (a[0x0014], a[0x0015])
nonced = [(s, realm, nonce) for s, (realm, nonce) in have.items()]
if len(nonced) < 150:
    raise SystemExit("only %d of %d tuples got a 401 with a nonce" % (len(nonced), len(nonce_socks)))
for s, realm, nonce in nonced:
    for _ in range(2):
        s.sendto(with_credentials(user.encode(), realm, nonce), SRV)
        sent["warmup_real_nonce"] += 1
pace = Pacer(50000)
warm_socks = []
for ip in range(200):
    for p in range(11000, 11005):
        s = bind("127.102.0.%d" % (ip + 1), p)
        if not s:
            continue
        for _ in range(3):
            s.sendto(allocate(), SRV)
        s.sendto(with_credentials(b"mallory", b"floe.test", forged_nonce()), SRV)
        sent["warmup_plain"] += 3
        sent["warmup_forged_nonce"] += 1
        pace.sent(4)
        warm_socks.append(s)
p, t = legit()
legit_runs.append(dict(when="warm-up", **legit_result(p, t)))
time.sleep(0.3)
for s in warm_socks:
    take_answers(s)
    s.close()
for s, _, _ in nonced:
    take_answers(s)
settle()
rss_before = status_kb()
stats_before = stats()

# ---- 2. the flood -------------------------------------------------------------------------
IPS = ["127.100.%d.%d" % (i // 250, 1 + i % 250) for i in range(500)]
TUPLES, PLAIN, FORGED, REAL = 55000, 200000, 18000, 2000
def share(total, i):  # how many of `total` the i-th tuple sends: spread evenly
    return (i + 1) * total // TUPLES - i * total // TUPLES
window = collections.deque()
used, skipped, real_i = 0, 0, 0
during, during_done = None, None
pace = Pacer(60000)
t0 = time.monotonic()
for p in range(12000, 12200):
    for ip in IPS:
        if used == TUPLES:
            break
        s = bind(ip, p)
        if not s:
            skipped += 1
            continue
        k = share(PLAIN, used)
        for _ in range(k):
            s.sendto(allocate(), SRV)
        f = share(FORGED, used)
        for _ in range(f):
            s.sendto(with_credentials(b"mallory", b"floe.test", forged_nonce()), SRV)
        sent["plain"] += k
        sent["forged_nonce"] += f
        r = share(REAL, used)
        for _ in range(r):
            ns, realm, nonce = nonced[real_i % len(nonced)]
            real_i += 1
            ns.sendto(with_credentials(user.encode(), realm, nonce), SRV)
            sent["real_nonce_bad_integrity"] += 1
        pace.sent(k + f + r)
        used += 1
        if used == TUPLES // 2:
            during = legit()
        elif during and not during_done and used % 64 == 0 and during[0].poll() is not None:
            during_done = time.monotonic()  # it ended while the flood went on
        window.append(s)
        if len(window) > 256:
            o = window.popleft()
            take_answers(o)
            o.close()
elapsed = time.monotonic() - t0
time.sleep(0.3)
for s in window:
    take_answers(s)
    s.close()
for s, _, _ in nonced:
    take_answers(s)
    s.close()
legit_runs.append(dict(when="during the flood", ended_during_flood=during_done is not None,
                       **legit_result(*during, done=during_done)))
rx = settle()
rss_after = status_kb()
stats_after = stats()
drops1, soft1 = server_socket()[1], softnet_drops()

report = {
    "tuples": used, "bind_failures": skipped, "flood_source_ips": len(IPS),
    "source_ips": len(IPS) + len(nonce_socks) + 200 + 1,
    "sent": dict(sent), "flood_sent": sum(v for k, v in sent.items() if not k.startswith("warmup")),
    "sent_total": sum(sent.values()),
    "legit": legit_runs, "legit_requests": sum(r["requests"] for r in legit_runs),
    "flood_seconds": round(elapsed, 3), "flood_pps": round(sum(
        v for k, v in sent.items() if not k.startswith("warmup")) / elapsed),
    "answers": dict(answers), "answers_total": sum(answers.values()),
    "socket_drops": drops1 - drops0, "softnet_drops": soft1 - soft0,
    "rss_before": rss_before, "rss_after": rss_after,
    "stats_before": stats_before, "stats_after": stats_after,
}
with open(report_path, "w") as f:
    json.dump(report, f, indent=1)
EOF
  ft_fail "the flood generator failed"

R="$FT_TMP/report.json"
j() { ft_json "$R" "$1"; }
ft_ok "$(j '"%d tuples (%d bind failures), %d datagrams in %.2f s (%d/s): %s" % (j["tuples"], j["bind_failures"], j["flood_sent"], j["flood_seconds"], j["flood_pps"], {k: v for k, v in j["sent"].items() if not k.startswith("warmup")})')"
ft_ok "$(j '"warm-up: %s" % {k: v for k, v in j["sent"].items() if k.startswith("warmup")}')"

ft_check "at least 50,000 distinct 5-tuples and 200,000 + 20,000 Allocates"
[ "$(j 'j["tuples"] >= 50000 and j["sent"]["plain"] >= 200000 and j["sent"]["forged_nonce"] + j["sent"]["real_nonce_bad_integrity"] >= 20000')" = true ] ||
  ft_fail "the generator sent less than planned: $(j 'j["tuples"], j["sent"]')"
ft_ok "$(j '"%d tuples; %d plain, %d forged nonce, %d real nonce with bad integrity" % (j["tuples"], j["sent"]["plain"], j["sent"]["forged_nonce"], j["sent"]["real_nonce_bad_integrity"])')"

ft_check "VmRSS of the server: growth over the flood < $RSS_BOUND_KB KiB"
growth=$(j 'j["rss_after"]["VmRSS"] - j["rss_before"]["VmRSS"]')
ft_say "  VmRSS before $(j 'j["rss_before"]["VmRSS"]') kB, after $(j 'j["rss_after"]["VmRSS"]') kB: ${growth} kB; RssAnon $(j 'j["rss_before"]["RssAnon"]') -> $(j 'j["rss_after"]["RssAnon"]') kB; VmHWM $(j 'j["rss_before"]["VmHWM"]') -> $(j 'j["rss_after"]["VmHWM"]') kB; table_bytes $(j 'j["stats_before"]["turn"]["table_bytes"]') -> $(j 'j["stats_after"]["turn"]["table_bytes"]')"
[ "$growth" -lt "$RSS_BOUND_KB" ] || ft_fail "VmRSS grew by $growth kB over the flood (bound $RSS_BOUND_KB kB)"
ft_ok "VmRSS grew by $growth kB (< $RSS_BOUND_KB kB) over $(j 'j["flood_sent"]') datagrams from $(j 'j["tuples"]') tuples"
[ "$(j 'j["stats_before"]["turn"]["table_bytes"] == j["stats_after"]["turn"]["table_bytes"]')" = true ] ||
  ft_fail "the core's table_bytes changed over the flood: $(j 'j["stats_before"]["turn"]["table_bytes"], j["stats_after"]["turn"]["table_bytes"]')"
ft_ok "the core's table_bytes did not change ($(j 'j["stats_after"]["turn"]["table_bytes"]') bytes)"

ft_check "the legitimate client during the flood (and the one in the warm-up) allocated"
ft_say "  $(j '"; ".join("%s: rc %d, %d requests, %.3f s (allocation rtt %s ms)%s, from %s, relayed %s" % (r["when"], r["rc"], r["requests"], r["elapsed_s"], r.get("rtt_ms"), {True: ", ended before the flood did", False: ", ended after the flood", None: ""}[r.get("ended_during_flood")], r.get("local"), r.get("relayed")) for r in j["legit"])')"
[ "$(j 'all(r["rc"] == 0 for r in j["legit"])')" = true ] ||
  ft_fail "a legitimate floe turn failed: $(j 'j["legit"]')"
ft_ok "both allocated (and deallocated)"

ft_check "every datagram sent reached rx_client or was dropped by the kernel at the server's socket"
ft_say "  sent $(j 'j["sent_total"]') (flood + warm-up) + $(j 'j["legit_requests"]') by floe turn; rx_client $(j 'j["stats_after"]["turn"]["rx_client"]'); dropped at the socket $(j 'j["socket_drops"]'); softnet backlog drops $(j 'j["softnet_drops"]')"
[ "$(j 'j["stats_after"]["turn"]["rx_client"] + j["socket_drops"] <= j["sent_total"] + j["legit_requests"] <= j["stats_after"]["turn"]["rx_client"] + j["socket_drops"] + j["softnet_drops"]')" = true ] ||
  ft_fail "sent $(j 'j["sent_total"] + j["legit_requests"]') != rx_client $(j 'j["stats_after"]["turn"]["rx_client"]') + socket drops $(j 'j["socket_drops"]') (+ softnet $(j 'j["softnet_drops"]'))"
ft_ok "sent = rx_client + kernel drops"

ft_check "counters: rx_client = 401 + 438 + 401(auth) + rate-limited + the legitimate clients' outcomes"
python3 - "$R" <<'EOF' || ft_fail "the counters do not add up"
import json, sys
j = json.load(open(sys.argv[1]))
t = j["stats_after"]["turn"]
sent = j["sent"]
unauth = ("challenged_401", "stale_nonce_438", "auth_failed_401", "drop_rate_limited")
legit = ("allocated", "deallocated", "allocate_retransmitted", "refreshed")
gauges = ("allocations", "permissions", "channels", "users_with_allocations", "table_bytes",
          "draining")
other = {k: v for k, v in t.items() if k not in unauth + legit + gauges + ("rx_client", "rx_peer")
         and not k.startswith("bytes_") and k not in ("allocations_expired",
         "allocations_closed_with_connection", "entries_revoked_by_reload")}
print("  " + ", ".join("%s %d" % (k, t[k]) for k in ("rx_client",) + unauth + legit))
problems = []
s = sum(t[k] for k in unauth + legit)
if s != t["rx_client"]:
    problems.append("rx_client %d != %d" % (t["rx_client"], s))
if any(other.values()):
    problems.append("unexpected outcomes: %s" % {k: v for k, v in other.items() if v})
if t["allocations"] != 0 or t["allocated"] != len(j["legit"]) or t["deallocated"] != len(j["legit"]):
    problems.append("allocations %d (want 0), allocated %d and deallocated %d (want %d)" % (
        t["allocations"], t["allocated"], t["deallocated"], len(j["legit"])))
if t["drop_rate_limited"] <= 0:
    problems.append("the rate limiter suppressed nothing")
plain = sent["plain"] + sent["warmup_plain"] + j["legit_requests"]
forged = sent["forged_nonce"] + sent["warmup_forged_nonce"]
real = sent["real_nonce_bad_integrity"] + sent["warmup_real_nonce"]
for k, most, what in (("challenged_401", plain, "Allocates without credentials"),
                      ("stale_nonce_438", forged, "Allocates with a forged nonce"),
                      ("auth_failed_401", real, "Allocates with a real nonce, bad integrity")):
    print("  %s %d of %d %s" % (k, t[k], most, what))
    if not 0 < t[k] <= most:
        problems.append("%s %d is not within 1..%d" % (k, t[k], most))
answered = t["challenged_401"] + t["stale_nonce_438"] + t["auth_failed_401"]
uptime = j["stats_after"]["uptime_s"]
# every token bucket starts full (burst) and refills at the rate; sources sharing a bucket
# only lower the figure
bound = j["source_ips"] * (10 + 5 * uptime)
print("  unauthenticated answers %d <= %d sources x (burst 10 + 5/s x %.1f s) = %d; "
      "%d suppressed (%.1f%% of unauthenticated requests)" % (
          answered, j["source_ips"], uptime, bound, t["drop_rate_limited"],
          100.0 * t["drop_rate_limited"] / max(1, answered + t["drop_rate_limited"])))
if answered > bound:
    problems.append("%d unauthenticated answers exceed the rate limit's bound %d" % (answered, bound))
print("  the generator received %d answers %s; the server answered %d unauthenticated "
      "requests, udp_send_dropped %d" % (j["answers_total"], j["answers"], answered,
                                         j["stats_after"]["runtime"]["udp_send_dropped"]))
if j["answers_total"] > answered:
    problems.append("more answers received (%d) than the server counts (%d)" % (
        j["answers_total"], answered))
bad = {k: v for k, v in j["answers"].items() if k not in ("0113/401", "0113/438")}
if bad:
    problems.append("answers that are not Allocate 401/438 errors: %s" % bad)
for p in problems:
    print("FAIL: " + p)
sys.exit(1 if problems else 0)
EOF
ft_ok "every input in one counter; allocations 0; drop_rate_limited > 0"

ft_check "after the flood, a legitimate floe turn from 127.0.0.1 (its own rate bucket) allocates"
rc=0
"$FLOE" turn --user "$USER" --password "$PASS" --json "127.0.0.1:$P" >"$FT_TMP/legit.json" 2>"$FT_TMP/legit.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "floe turn after the flood exited $rc: $(cat "$FT_TMP/legit.err")"
ft_ok "$(ft_json "$FT_TMP/legit.json" '"relayed %s for %s in %s requests, rtt %.2f ms, deallocated %s" % (j["relayed"], j["local"], j["requests"], j["rtt_ms"], j["deallocated"])')"
"$FLOE" server --stats --control "$CTL" >"$FT_TMP/final.json" || ft_fail "floe server --stats failed"
ft_expect_eq "$(ft_json "$FT_TMP/final.json" 'j["turn"]["allocated"]')" 3 "allocated (3 legitimate clients in all)"
ft_expect_eq "$(ft_json "$FT_TMP/final.json" 'j["turn"]["allocations"]')" 0 "allocations left"
ft_expect_eq "$(ft_json "$FT_TMP/final.json" 'j["runtime"]["relay_sockets"]')" 0 "relay sockets left"

ft_check "SIGTERM: the server exits 0"
ft_stop srv
ft_expect_eq "$FT_STOP_STATUS" 0 "exit status"
! grep -qE 'Sanitizer|runtime error:' "$(ft_log_of srv)" || ft_fail "sanitizer report in the server's log"
ft_say "PASS"
