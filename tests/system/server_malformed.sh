#!/usr/bin/env bash
# Acceptance: `floe server` takes 10,000 malformed or hostile UDP datagrams of 25 kinds
# (truncated, lying lengths, bad magic cookie, bad FINGERPRINT, duplicate and unknown
# attributes, oversize, ...) and then one valid Binding request. The server must answer the
# valid request, never crash, and account for every datagram in exactly the counter the
# generator (tests/system/malformed_stun.py) expects, counter by counter. Then SIGTERM must
# stop it with status 0 and print the final counters on stderr.
#
# Environment (set by ctest): FLOE = the floe binary. Loopback only; the only process this
# script signals is the server it started, by PID.
set -u -o pipefail

: "${FLOE:?set FLOE to the floe binary}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 is needed"
    exit 200
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/floe-malformed.XXXXXX")
CTL="$WORK/ctl.sock"
SERVER_PID=""

stop_server() { # SIGTERM, bounded wait, SIGKILL as the last resort; only our PID
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    if [ -s "$WORK/server.err" ]; then
        echo "--- server stderr (last 20 lines)"
        tail -n 20 "$WORK/server.err"
    fi
    exit 1
}

free_port() { # a port free for both UDP and TCP on 127.0.0.1 (the listen form opens both)
    python3 - <<'EOF'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        u.close(); t.close(); continue
    u.close(); t.close()
    print(port)
    break
EOF
}

# ---- start the server (a few tries in case another process grabs the port first) ----------
PORT=""
for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    [ -n "$PORT" ] || fail "no free port on 127.0.0.1"
    "$FLOE" server --listen "127.0.0.1:$PORT" --control "$CTL" 2>"$WORK/server.err" &
    SERVER_PID=$!
    ready=0
    for _ in $(seq 200); do # up to 20 s (sanitizer builds start slowly)
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        if "$FLOE" server --stats --control "$CTL" >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.1
    done
    [ "$ready" = 1 ] && break
    if grep -q "Address already in use" "$WORK/server.err"; then
        stop_server
        echo "port $PORT was taken, retrying"
        continue
    fi
    fail "floe server did not start"
done
[ "$ready" = 1 ] || fail "floe server did not start after 5 tries"
echo "floe server pid $SERVER_PID on 127.0.0.1:$PORT"

# ---- the traffic ------------------------------------------------------------------------------
gen_rc=0
python3 "$HERE/malformed_stun.py" --server "127.0.0.1:$PORT" --control "$CTL" \
    --report "$WORK/report.json" --max-seconds 150 || gen_rc=$?

alive=0
kill -0 "$SERVER_PID" 2>/dev/null && alive=1
stats_rc=0
"$FLOE" server --stats --control "$CTL" >"$WORK/stats.json" 2>"$WORK/stats.err" || stats_rc=$?

# ---- clean stop ---------------------------------------------------------------------------------
exit_status=-1
if [ "$alive" = 1 ]; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
        fail "floe server did not stop within 10 s of SIGTERM"
    fi
    wait "$SERVER_PID"
    exit_status=$?
    SERVER_PID=""
fi

# ---- the verdict ---------------------------------------------------------------------------
python3 - "$WORK/report.json" "$WORK/stats.json" "$WORK/server.err" "$gen_rc" "$alive" \
    "$stats_rc" "$exit_status" <<'EOF'
import json, sys

report_path, stats_path, err_path = sys.argv[1:4]
gen_rc, alive, stats_rc, exit_status = (int(x) for x in sys.argv[4:8])
problems = []

def check(ok, why):
    if not ok:
        problems.append(why)

try:
    report = json.load(open(report_path))
except (OSError, ValueError) as e:
    print("FAIL: the generator wrote no report (%s); it exited %d" % (e, gen_rc))
    if not alive:
        print("FAIL: the server process died during the test")
    sys.exit(1)
check(gen_rc == 0, "the generator failed (exit %d): see its output above" % gen_rc)
check(alive == 1, "the server process died during the test")
check(report["final"]["ok"], "the valid Binding request after the storm was not answered")
check(report["final"]["xor_mapped_address"] == report["final"]["local"],
      "XOR-MAPPED-ADDRESS %s is not the sender %s" % (report["final"]["xor_mapped_address"],
                                                       report["final"]["local"]))

stats = None
if stats_rc == 0:
    stats = json.load(open(stats_path))
else:
    problems.append("floe server --stats failed (exit %d)" % stats_rc)

expected = report["expected_counters"]
kinds = report["kinds"]
print()
print("%-28s %6s  %s" % ("kind", "sent", "expected counter(s)"))
for row in kinds:
    cs = ", ".join("%s=%d" % kv for kv in sorted(row["counters"].items()))
    print("%-28s %6d  %s" % (row["kind"], row["count"], cs))
print("%-28s %6d  %s" % ("final_valid_binding", 1, "binding_ok=1"))
print("%-28s %6d" % ("total", report["datagrams"]))
print("kinds: %d, generator sha256 %s" % (len(kinds), report["sha256"]))

if stats is not None:
    c = stats["counters"]
    print()
    print("%-30s %8s %8s" % ("counter", "expected", "server"))
    for name in sorted(set(c) | set(expected), key=lambda n: (n != "rx", n)):
        e, o = expected.get(name), c.get(name)
        mark = "" if e == o else "   <-- MISMATCH"
        print("%-30s %8s %8s%s" % (name, e, o, mark))
        check(e == o, "counter %s: expected %s, server says %s" % (name, e, o))
    check(c.get("rx") == report["datagrams"],
          "rx %s != %d datagrams sent" % (c.get("rx"), report["datagrams"]))
    others = sum(v for k, v in c.items() if k != "rx")
    check(c.get("rx") == others,
          "rx %s != %d, the sum of every other counter (an input is unaccounted)" % (
              c.get("rx"), others))
    drops = sum(v for k, v in c.items() if k.startswith("drop_"))
    check(stats.get("drops_total") == drops,
          "drops_total %s != %d, the sum of drop_* counters" % (stats.get("drops_total"), drops))
    answered = sum(c.get(k, 0) for k in ("binding_ok", "classic_binding_ok",
                                         "error_400_bad_request",
                                         "error_420_unknown_attribute"))
    print()
    print("responses received %d, answers counted by the server %d" % (
        report["responses_total"], answered))
    check(report["responses_total"] == answered,
          "%d responses received, but the server counted %d answers" % (
              report["responses_total"], answered))
    for k, v in report["responses"].items():
        check(c.get(k) == v, "%d responses of kind %s, server counted %s" % (v, k, c.get(k)))
    rt = stats.get("runtime", {})
    check(rt.get("udp_send_dropped") == 0,
          "the server dropped %s responses on send" % rt.get("udp_send_dropped"))
    print("pacing: %s" % json.dumps(report["pacing"], sort_keys=True))

# SIGTERM: status 0 and the final counters on stderr, equal to what --stats said.
check(exit_status == 0, "floe server exited with status %d after SIGTERM" % exit_status)
err_lines = open(err_path, errors="replace").read().splitlines()
san = [l for l in err_lines if "Sanitizer" in l or "runtime error:" in l]
check(not san, "sanitizer reports on the server's stderr: %s" % san[:3])
final = [l for l in err_lines if l.startswith("floe server: stopped; {")]
check(len(final) == 1, "no final counters line ('floe server: stopped; {...}') on stderr")
if final and stats is not None:
    try:
        last = json.loads(final[0].split("stopped; ", 1)[1])
        check(last["counters"] == stats["counters"],
              "final counters on stderr differ from --stats: %s" % last["counters"])
    except ValueError as e:
        problems.append("final counters line is not JSON: %s" % e)

print()
if problems:
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1)
print("PASS: %d datagrams, every one accounted for; the server answered the valid request "
      "and stopped cleanly" % report["datagrams"])
EOF
verdict=$?
if [ "$verdict" != 0 ]; then
    echo "--- server stderr (last 20 lines)"
    tail -n 20 "$WORK/server.err"
fi
exit "$verdict"
