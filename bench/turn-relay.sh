#!/usr/bin/env bash
# TURN relay on loopback: floe's server against coturn, measured in one run on the same
# machine with the same load generator (`floe bench turn`). Prints one JSON object on
# stdout; progress goes to stderr. See bench/README.md for what the numbers mean.
#
#   bench/turn-relay.sh                   # 5 s of relay load per run, about a minute in all
#   BENCH_SECONDS=10 bench/turn-relay.sh  # longer runs (1..60)
#   FLOE=/path/to/floe bench/turn-relay.sh
#
# Each server runs on CPU 0 (coturn with one relay thread), the generator on CPU 1. First
# the ceiling: `floe bench echo` loaded by `floe bench stun --accept-echo`, datagrams echoed
# per CPU-second (one in and one out, like a relayed one). Then for each server, freshly
# started:
#   1. alloc: rounds of 1000 allocations (the 401 round included) made and released for
#      ALLOC_SECONDS: allocations per second, and the RSS growth per idle allocation over
#      the first round (VmRSS after 1000 allocations minus before, / 1000);
#   2. relay with 64 allocations, then with 1000: relayed datagrams per server CPU-second
#      (flat out, closed loop), then the added latency (p50, p99) at a low fixed rate.
# The generator gets the server's PID and reads its CPU time (utime + stime of all threads,
# /proc/PID/stat) and RSS (/proc/PID/status) itself, right at the start and the end of each
# measured phase, so set-up, warm-up and the latency phase are not in the CPU figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_SECONDS:-5}
HOST=127.0.0.1 # loopback only, always
WARMUP_S=1
LATENCY_S=2       # seconds of the latency phase of each relay run
LATENCY_RATE=1000 # round trips per second of each path in that phase
ALLOC_SECONDS=2   # seconds of allocation rounds
ALLOC_ROUND=1000  # allocations per round (and for the RSS figure)
COUNTS=(64 1000)  # allocations of the relay runs
START_WAIT_S=10   # how long a server may take to bind its port
STOP_WAIT_S=5     # how long a server may take to exit after SIGTERM
NOFILE=16384      # open files: 1000 allocations are 1000+ sockets on each side
TURN_USER=bench TURN_PASS=relay-bench-pw TURN_REALM=floe.bench

log() { printf 'turn-relay.sh: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

case $DURATION in
'' | *[!0-9]*) die "BENCH_SECONDS must be a whole number of seconds (got '$DURATION')" ;;
esac
((DURATION >= 1 && DURATION <= 60)) || die "BENCH_SECONDS must be 1..60"
command -v python3 >/dev/null || die "python3 is needed for the summary"

# ---- the floe binary -------------------------------------------------------------------
if [[ -n ${FLOE:-} ]]; then
    [[ -x $FLOE ]] || die "FLOE=$FLOE is not an executable"
else
    FLOE=$ROOT/build/release/bin/floe
    if [[ ! -x $FLOE ]]; then
        log "building floe (release preset)"
        (cd "$ROOT" && cmake --preset release && cmake --build --preset release -j2) >&2 ||
            die "build failed"
    fi
fi
"$FLOE" bench turn --help >/dev/null 2>&1 ||
    die "$FLOE has no 'floe bench turn': rebuild it (or point FLOE at a newer binary)"

# ---- limits: file descriptors, port ranges ---------------------------------------------
if (($(ulimit -n) < NOFILE)); then
    hard=$(ulimit -Hn)
    [[ $hard == unlimited ]] || ((hard >= NOFILE)) || NOFILE=$hard
    ulimit -n "$NOFILE" 2>/dev/null || true
fi
(($(ulimit -n) >= 4096)) || die "need at least 4096 open files (ulimit -n is $(ulimit -n))"
# Relay ports below the ephemeral range, so that the generator's sockets (ephemeral ports)
# never take a port a server wants to relay on. Listening ports below those.
read -r EPH_LO _ </proc/sys/net/ipv4/ip_local_port_range
RELAY_HI=$((EPH_LO - 1))
RELAY_LO=$((RELAY_HI - 9999))
((RELAY_LO >= 12000)) || die "the ephemeral port range starts at $EPH_LO: no room for relay ports below it"

# ---- CPUs: server on 0, generator on 1 --------------------------------------------------
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
POLL=busy
if ((CPUS >= 2)) && command -v taskset >/dev/null; then
    PINNED=true
    SRV_PIN=(taskset -c 0)
    GEN_PIN=(taskset -c 1)
    NOTE="server pinned to CPU 0, generator to CPU 1"
else
    PINNED=false
    SRV_PIN=()
    GEN_PIN=()
    POLL=epoll # spinning would steal the CPU the server needs
    if ((CPUS < 2)); then
        NOTE="only $CPUS CPU: server and generator share it, unpinned; numbers are not comparable with pinned runs"
    else
        NOTE="taskset missing: unpinned run; numbers are not comparable with pinned runs"
    fi
    log "$NOTE"
fi

# ---- processes we start, and their cleanup ------------------------------------------------
# shellcheck source-path=SCRIPTDIR source=lib.bash
. "$(dirname "$0")/lib.bash"
bench_start_tmp floe-turn-bench # $TMP, STARTED: the servers this script started

# ---- helpers -------------------------------------------------------------------------



wait_ready() { # wait_ready PID PORT
    local i
    for ((i = 0; i < START_WAIT_S * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 1
        udp_bound "$2" && return 0
        sleep 0.1
    done
    return 1
}

cpu_ticks() { # cpu_ticks PID: utime + stime of the whole process, in clock ticks
    local s f
    s=$(<"/proc/$1/stat") || return 1
    s=${s##*) } # the command name may hold spaces; fields restart at "state"
    read -r -a f <<<"$s"
    echo $((f[11] + f[12]))
}

json_str() { # json_str TEXT: a JSON string with the risky characters removed
    # shellcheck disable=SC1003 # the tr set is a double quote and a backslash
    printf '"%s"' "$(printf '%s' "$1" | tr -d '"\\' | tr '\n\t\r' '   ' | cut -c1-200)"
}

# gen NAME PID PORT LIMIT_S ARGS...: one generator run pinned to CPU 1, its JSON line into
# $TMP/NAME.json (or an error object).
gen() {
    local name=$1 pid=$2 port=$3 limit=$4 out
    shift 4
    if out=$(timeout -k 5 "$limit" "${GEN_PIN[@]}" "$FLOE" bench turn "$@" --json --poll "$POLL" \
        --user "$TURN_USER" --password "$TURN_PASS" --realm "$TURN_REALM" --server-pid "$pid" \
        "$HOST:$port" 2>>"$TMP/$name.gen.log") && [[ $out == \{*\} ]]; then
        printf '%s\n' "$out" >"$TMP/$name.json"
    elif [[ $out == \{*\} ]]; then # it reported, and said something failed
        printf '%s\n' "$out" >"$TMP/$name.json"
    else
        printf '{"error":%s}\n' "$(json_str "generator failed: $(tail -n1 "$TMP/$name.gen.log")")" \
            >"$TMP/$name.json"
    fi
    log "$name: $(python3 - "$TMP/$name.json" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
if "load" in j:
    l, a = j["load"], j["latency"]["added_us"]
    print("%s relayed/CPU-s (cpu_util %s, lost %s, other load %s CPU-s), added latency "
          "p50 %s us p99 %s us" % (l["relayed_per_cpu_s"], l["server_cpu_util"], l["lost"],
                                   l["other_cpu_s"], a["p50"], a["p99"]))
elif "allocs_per_s" in j:
    print("%s allocs/s, %s per CPU-s (other load %s CPU-s), %s B RSS per allocation"
          % (j["allocs_per_s"], j["allocs_per_cpu_s"], j["other_cpu_s"],
             j["rss"]["bytes_per_allocation"]))
print("error: " + j["error"] if "error" in j else "", end="")
EOF
)"
}

# measure NAME PID PORT: the three runs against one server.
measure() {
    local name=$1 pid=$2 port=$3 n
    gen "$name.alloc" "$pid" "$port" $((ALLOC_SECONDS + 60)) alloc --allocations "$ALLOC_ROUND" \
        --duration "$ALLOC_SECONDS"
    for n in "${COUNTS[@]}"; do
        gen "$name.relay$n" "$pid" "$port" $((WARMUP_S + DURATION + LATENCY_S + 90)) relay \
            --allocations "$n" --duration "$DURATION" --warmup "$WARMUP_S" \
            --latency-duration "$LATENCY_S" --latency-rate "$LATENCY_RATE"
    done
}

# ---- the servers ---------------------------------------------------------------------
COTURN_VERSION=null

run_coturn() {
    local port pid
    if ! command -v turnserver >/dev/null; then
        echo '{"error":"turnserver (coturn) is not installed"}' >"$TMP/coturn.error.json"
        return
    fi
    COTURN_VERSION=$(json_str "$(turnserver --version 2>/dev/null | tail -n1 | tr -cd '0-9A-Za-z.-')")
    port=$(free_port 10000 $((RELAY_LO - 2)))
    log "coturn: turnserver on $HOST:$port, relay ports $RELAY_LO-$RELAY_HI, one relay thread"
    # Long-term credentials, one listener, one relay thread, loopback only (relaying to the
    # generator's peer on 127.0.0.1 needs --allow-loopback-peers), no TLS/DTLS, no CLI,
    # logging into our temporary directory.
    "${SRV_PIN[@]}" turnserver -n --no-cli --no-dtls --no-tls --listening-ip "$HOST" \
        --listening-port "$port" --relay-ip "$HOST" --min-port "$RELAY_LO" --max-port "$RELAY_HI" \
        --relay-threads 1 --allow-loopback-peers --no-multicast-peers --lt-cred-mech \
        --user "$TURN_USER:$TURN_PASS" --realm "$TURN_REALM" --no-rfc5780 \
        --no-software-attribute --log-file "$TMP/coturn.log" --no-stdout-log --simple-log \
        --pidfile "$TMP/coturn.pid" --userdb "$TMP/coturn.db" >"$TMP/coturn.out" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port"; then
        measure coturn "$pid" "$port"
    else
        printf '{"error":%s}\n' "$(json_str "turnserver did not start: $(tail -n1 "$TMP/coturn.out")")" \
            >"$TMP/coturn.error.json"
    fi
    stop_pid "$pid"
}

run_floe() {
    local port pid
    port=$(free_port 10000 $((RELAY_LO - 2)))
    log "floe: floe server on $HOST:$port, relay ports $RELAY_LO-$RELAY_HI"
    "${SRV_PIN[@]}" "$FLOE" server --listen "udp://$HOST:$port" --realm "$TURN_REALM" \
        --user "$TURN_USER:$TURN_PASS" --relay-ports "$RELAY_LO-$RELAY_HI" --allow-peer "$HOST" \
        --unauth-rate 0 --max-allocations 20000 --drain-timeout 0 \
        --control "$TMP/floe.ctl" >"$TMP/floe.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port"; then
        measure floe "$pid" "$port"
        timeout 5 "$FLOE" server --stats --control "$TMP/floe.ctl" >"$TMP/floe.stats.json" \
            2>/dev/null || true
    else
        printf '{"error":%s}\n' "$(json_str "floe server did not start: $(tail -n1 "$TMP/floe.log")")" \
            >"$TMP/floe.error.json"
    fi
    stop_pid "$pid"
}

# The ceiling: a relayed datagram is one datagram in and one out, as an echoed one is.
# `floe bench echo` does nothing else and batches all of it on one socket (recvmmsg,
# sendmmsg of 64), so the datagrams it echoes per CPU-second are about the most any UDP
# relay can reach on this kernel. Measured like stun-server.sh's echo.
run_echo() {
    local port pid c0 c1 out
    port=$(free_port 10000 $((RELAY_LO - 2)))
    log "echo: floe bench echo on $HOST:$port (the ceiling)"
    "${SRV_PIN[@]}" "$FLOE" bench echo --quiet --listen "$HOST:$port" >"$TMP/echo.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port" &&
        timeout -k 5 30 "${GEN_PIN[@]}" "$FLOE" bench stun --json --accept-echo --duration "$WARMUP_S" \
            --poll "$POLL" "$HOST:$port" >/dev/null 2>>"$TMP/echo.gen.log" &&
        c0=$(cpu_ticks "$pid") &&
        out=$(timeout -k 5 $((DURATION + 30)) "${GEN_PIN[@]}" "$FLOE" bench stun --json --accept-echo \
            --duration "$DURATION" --poll "$POLL" "$HOST:$port" 2>>"$TMP/echo.gen.log") &&
        c1=$(cpu_ticks "$pid"); then
        python3 - "$out" $((c1 - c0)) "$(getconf CLK_TCK)" >"$TMP/echo.json" <<'EOF'
import json, sys
j, ticks, hz = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cpu = ticks / hz
print(json.dumps({"echoed": j["received"], "duration_s": j["duration_s"], "server_cpu_s": cpu,
                  "echoed_per_cpu_s": round(j["received"] / cpu) if cpu > 0 else None,
                  "server_cpu_util": round(cpu / j["duration_s"], 2), "lost": j["lost"]}))
EOF
        log "echo: $(cat "$TMP/echo.json")"
    else
        printf '{"error":%s}\n' "$(json_str "echo failed: $(tail -n1 "$TMP/echo.gen.log" "$TMP/echo.log" 2>/dev/null)")" \
            >"$TMP/echo.json"
    fi
    stop_pid "$pid"
}

log "$DURATION s of relay load per run, allocations ${COUNTS[*]}; $NOTE"
run_echo
run_coturn
run_floe

# ---- the summary ---------------------------------------------------------------------
python3 - "$TMP" "$DURATION" "$WARMUP_S" "$LATENCY_S" "$LATENCY_RATE" "$ALLOC_SECONDS" \
    "$ALLOC_ROUND" "$CPUS" "$PINNED" "$NOTE" "$(uname -r)" "$COTURN_VERSION" "$POLL" \
    "${COUNTS[@]}" <<'EOF'
import json, os, sys

(tmp, duration, warmup, lat_s, lat_rate, alloc_s, alloc_round, cpus, pinned, note, kernel,
 coturn_version, poll), counts = sys.argv[1:14], sys.argv[14:]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": f"{os.path.basename(path)}: {e}"}

def server(name):
    err = os.path.join(tmp, f"{name}.error.json")
    if os.path.exists(err):
        return load(err)
    s = {"alloc": load(os.path.join(tmp, f"{name}.alloc.json"))}
    for n in counts:
        s[f"relay_{n}"] = load(os.path.join(tmp, f"{name}.relay{n}.json"))
    a = s["alloc"]
    summ = {
        "allocs_per_s": a.get("allocs_per_s"),
        "allocs_per_cpu_s": a.get("allocs_per_cpu_s"),
        "rss_bytes_per_allocation": a.get("rss", {}).get("bytes_per_allocation"),
        "alloc_other_cpu_s": a.get("other_cpu_s"),
    }
    for n in counts:
        r = s[f"relay_{n}"]
        load_ = r.get("load", {})
        added = r.get("latency", {}).get("added_us", {})
        summ[f"relayed_per_cpu_s_{n}"] = load_.get("relayed_per_cpu_s")
        summ[f"relayed_per_s_{n}"] = load_.get("relayed_per_s")
        summ[f"cpu_util_{n}"] = load_.get("server_cpu_util")
        summ[f"other_cpu_s_{n}"] = load_.get("other_cpu_s")
        summ[f"added_latency_p50_us_{n}"] = added.get("p50")
        summ[f"added_latency_p99_us_{n}"] = added.get("p99")
    s["summary"] = summ
    return s

coturn, floe = server("coturn"), server("floe")
echo = load(os.path.join(tmp, "echo.json"))
if coturn_version != "null":
    coturn["version"] = json.loads(coturn_version)
stats = load(os.path.join(tmp, "floe.stats.json"))
if "error" not in stats and "summary" in floe:
    floe["server_stats"] = stats

def ratio(key):
    a = floe.get("summary", {}).get(key)
    b = coturn.get("summary", {}).get(key)
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)

keys = ["allocs_per_s", "allocs_per_cpu_s", "rss_bytes_per_allocation"]
for n in counts:
    keys += [f"relayed_per_cpu_s_{n}", f"added_latency_p50_us_{n}", f"added_latency_p99_us_{n}"]
ratios = {k: ratio(k) for k in keys}

def goal(cond):
    return None if cond is None else bool(cond)

# Each server's relayed datagrams per CPU-second as a share of the echo's: how close it
# comes to the ceiling, and what 4x coturn would need.
ceiling = echo.get("echoed_per_cpu_s")
share = {}
for name, s in (("coturn", coturn), ("floe", floe)):
    for n in counts:
        v = s.get("summary", {}).get(f"relayed_per_cpu_s_{n}")
        share[f"{name}_{n}"] = round(v / ceiling, 3) if v and ceiling else None
for n in counts:
    v = coturn.get("summary", {}).get(f"relayed_per_cpu_s_{n}")
    share[f"4x_coturn_{n}"] = round(4 * v / ceiling, 3) if v and ceiling else None

rel = [ratios.get(f"relayed_per_cpu_s_{n}") for n in counts]
rss = floe.get("summary", {}).get("rss_bytes_per_allocation")
goals = {
    "relayed_per_cpu_s_at_least_4x_coturn": goal(None if None in rel else all(r >= 4 for r in rel)),
    "allocs_per_s_at_least_10x_coturn": goal(None if ratios["allocs_per_s"] is None
                                              else ratios["allocs_per_s"] >= 10),
    "rss_per_allocation_at_most_2048_bytes": goal(None if rss is None else rss <= 2048),
}
out = {
    "benchmark": "turn-relay", "host": "127.0.0.1", "duration_s": int(duration),
    "warmup_s": int(warmup), "latency_s": int(lat_s), "latency_rate": int(lat_rate),
    "alloc_seconds": int(alloc_s), "alloc_round": int(alloc_round),
    "relay_allocations": [int(n) for n in counts], "cpus": int(cpus),
    "pinned": pinned == "true", "note": note, "kernel": kernel,
    "generator": {"command": "floe bench turn", "poll": poll},
    "echo_ceiling": echo,
    "servers": {"coturn": coturn, "floe": floe},
    "ratios": {"floe/coturn": ratios, "relayed_per_cpu_s/echo_ceiling": share},
    "goals": goals,
}
print(json.dumps(out, separators=(",", ":")))
EOF
