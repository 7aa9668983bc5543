#!/usr/bin/env bash
# STUN Binding throughput on loopback: floe's server against coturn and a raw UDP echo,
# measured in one run on the same machine. Prints one JSON object on stdout; progress
# goes to stderr. See bench/README.md for what the numbers mean.
#
#   bench/stun-server.sh                 # 10 s per server
#   BENCH_SECONDS=30 bench/stun-server.sh
#   FLOE=/path/to/floe bench/stun-server.sh
#
# Each server is pinned to CPU 0 and the load generator (`floe bench stun`) to CPU 1. The
# script reads the server's CPU time (utime + stime of every thread, /proc/PID/stat) just
# before and just after the measured run and divides the answers the generator counted by
# those CPU-seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_SECONDS:-10}
HOST=127.0.0.1 # loopback only, always
WARMUP_S=1
START_WAIT_S=10 # how long a server may take to bind its port
STOP_WAIT_S=5   # how long a server may take to exit after SIGTERM
GEN_ARGS=(--sockets 4 --window 64 --batch 32 --poll busy)

log() { printf 'stun-server.sh: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

case $DURATION in
'' | *[!0-9]*) die "BENCH_SECONDS must be a whole number of seconds (got '$DURATION')" ;;
esac
((DURATION >= 1 && DURATION <= 600)) || die "BENCH_SECONDS must be 1..600"

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

# ---- CPUs: server on 0, generator on 1 --------------------------------------------------
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
TICK=$(getconf CLK_TCK)
if ((CPUS >= 2)) && command -v taskset >/dev/null; then
    PINNED=true
    SRV_PIN=(taskset -c 0)
    GEN_PIN=(taskset -c 1)
    NOTE="server pinned to CPU 0, generator to CPU 1"
else
    PINNED=false
    SRV_PIN=()
    GEN_PIN=()
    GEN_ARGS=(--sockets 4 --window 64 --batch 32 --poll epoll) # spinning would steal the CPU
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
bench_start_tmp floe-bench # $TMP, STARTED: the servers this script started

# ---- helpers -------------------------------------------------------------------------



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

json_num() { # json_num FIELD JSON: the first number field of that name, or null
    local v
    v=$(grep -o "\"$1\":[-0-9.e+]*" <<<"$2" | head -n1 | cut -d: -f2) || true
    echo "${v:-null}"
}

now_ns() { date +%s%N; }

wait_ready() { # wait_ready PID PORT NAME
    local i
    for ((i = 0; i < START_WAIT_S * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 1
        udp_bound "$2" && return 0
        sleep 0.1
    done
    return 1
}

# measure NAME PID PORT [generator options]: warm up, then the measured run. Sets RESULT
# to the JSON object for this server.
measure() {
    local name=$1 pid=$2 port=$3
    shift 3
    local gen=(timeout -k 5 $((DURATION + 30)) "${GEN_PIN[@]}" "$FLOE" bench stun --json)
    local warm out c0 c1 w0 w1 received rps lost verified

    if ! warm=$("${gen[@]}" "${GEN_ARGS[@]}" "$@" --duration "$WARMUP_S" "$HOST:$port" \
        2>>"$TMP/$name.gen.log"); then
        RESULT="{\"error\":$(json_str "generator failed: $(tail -n1 "$TMP/$name.gen.log")")}"
        return
    fi
    if [[ $(json_num received "$warm") == 0 || $(json_num received "$warm") == null ]]; then
        RESULT="{\"error\":$(json_str "no answers during the warm-up: $warm")}"
        return
    fi

    c0=$(cpu_ticks "$pid") || {
        RESULT='{"error":"server exited"}'
        return
    }
    w0=$(now_ns)
    out=$("${gen[@]}" "${GEN_ARGS[@]}" "$@" --duration "$DURATION" "$HOST:$port" \
        2>>"$TMP/$name.gen.log") || true
    w1=$(now_ns)
    c1=$(cpu_ticks "$pid") || {
        RESULT='{"error":"server exited during the run"}'
        return
    }
    received=$(json_num received "$out")
    rps=$(json_num rps "$out")
    lost=$(json_num lost "$out")
    verified=$(grep -o '"verified":[a-z]*' <<<"$out" | head -n1 | cut -d: -f2) || true
    if [[ $received == null ]]; then
        RESULT="{\"error\":$(json_str "generator failed: $(tail -n1 "$TMP/$name.gen.log")")}"
        return
    fi
    RESULT=$(awk -v r="$received" -v t=$((c1 - c0)) -v hz="$TICK" -v w=$((w1 - w0)) \
        -v rps="$rps" -v lost="$lost" -v ver="${verified:-null}" 'BEGIN {
            cpu = t / hz; wall = w / 1e9
            printf "{\"responses\":%d,\"cpu_s\":%.2f,\"responses_per_cpu_s\":%s,\"rps\":%s,", \
                r, cpu, (cpu > 0 ? sprintf("%.0f", r / cpu) : "null"), rps
            printf "\"cpu_util\":%.2f,\"wall_s\":%.2f,\"lost\":%s,\"verified\":%s}", \
                (wall > 0 ? cpu / wall : 0), wall, lost, ver
        }')
    log "$name: $RESULT"
}

# ---- the servers ---------------------------------------------------------------------
declare -A RESULTS

run_echo() {
    local port pid
    port=$(free_port 20000 60000)
    log "echo: floe bench echo on $HOST:$port"
    "${SRV_PIN[@]}" "$FLOE" bench echo --quiet --listen "$HOST:$port" >"$TMP/echo.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port"; then
        measure echo "$pid" "$port" --accept-echo
    else
        RESULT="{\"error\":$(json_str "echo server did not start: $(tail -n1 "$TMP/echo.log")")}"
    fi
    stop_pid "$pid"
    RESULTS[echo]=$RESULT
}

run_coturn() {
    local port pid version
    if ! command -v turnserver >/dev/null; then
        RESULTS[coturn]='{"error":"turnserver (coturn) is not installed"}'
        return
    fi
    version=$(turnserver --version 2>/dev/null | tail -n1 | tr -cd '0-9A-Za-z.-')
    port=$(free_port 20000 60000)
    log "coturn: turnserver $version on $HOST:$port"
    # STUN only, one listener and one relay thread, loopback, no TLS/DTLS, no CLI, no
    # authentication database of the system, logs into our temporary directory.
    "${SRV_PIN[@]}" turnserver -n --stun-only --no-auth \
        --listening-ip "$HOST" --listening-port "$port" --relay-threads 1 \
        --no-tls --no-dtls --no-cli --no-rfc5780 --no-software-attribute \
        --log-file "$TMP/coturn.log" --no-stdout-log --simple-log \
        --pidfile "$TMP/coturn.pid" --userdb "$TMP/coturn.db" >"$TMP/coturn.out" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port"; then
        measure coturn "$pid" "$port"
        RESULT="${RESULT%\}},\"version\":$(json_str "$version")}"
    else
        RESULT="{\"error\":$(json_str "turnserver did not start: $(tail -n1 "$TMP/coturn.out")")}"
    fi
    stop_pid "$pid"
    RESULTS[coturn]=$RESULT
}

run_floe() {
    local port pid stats
    port=$(free_port 20000 60000)
    log "floe: floe server on $HOST:$port"
    "${SRV_PIN[@]}" "$FLOE" server --listen "$HOST:$port" --control "$TMP/floe.ctl" \
        >"$TMP/floe.log" 2>&1 &
    pid=$!
    STARTED+=("$pid")
    if wait_ready "$pid" "$port"; then
        measure floe "$pid" "$port"
        # The server's own counters, when it can report them as one JSON object.
        stats=$(timeout 5 "$FLOE" server --stats --control "$TMP/floe.ctl" 2>/dev/null |
            tr -d '\n') || stats=""
        if [[ $stats == \{*\} ]] && { ! command -v python3 >/dev/null ||
            python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$stats" 2>/dev/null; }; then
            RESULT="${RESULT%\}},\"server_stats\":$stats}"
        fi
    else
        RESULT="{\"error\":$(json_str "floe server did not start: $(tail -n1 "$TMP/floe.log")")}"
    fi
    stop_pid "$pid"
    RESULTS[floe]=$RESULT
}

ratio() { # ratio FIELD A B: A.FIELD / B.FIELD, or null
    local a b
    a=$(json_num "$1" "${RESULTS[$2]}")
    b=$(json_num "$1" "${RESULTS[$3]}")
    awk -v a="$a" -v b="$b" 'BEGIN {
        if (a == "null" || b == "null" || b + 0 == 0) print "null"; else printf "%.3f", a / b }'
}

log "$DURATION s per server, ${GEN_ARGS[*]}; $NOTE"
run_echo
run_coturn
run_floe

printf '{"benchmark":"stun-server","host":"%s","duration_s":%d,"warmup_s":%d,' \
    "$HOST" "$DURATION" "$WARMUP_S"
printf '"cpus":%d,"pinned":%s,"note":%s,"clk_tck":%d,' "$CPUS" "$PINNED" "$(json_str "$NOTE")" "$TICK"
printf '"kernel":%s,' "$(json_str "$(uname -r)")"
printf '"generator":{"command":"floe bench stun","options":%s},' "$(json_str "${GEN_ARGS[*]}")"
printf '"servers":{"echo":%s,"coturn":%s,"floe":%s},' "${RESULTS[echo]}" "${RESULTS[coturn]}" \
    "${RESULTS[floe]}"
printf '"ratios":{"floe/coturn":{"responses_per_cpu_s":%s,"rps":%s},' \
    "$(ratio responses_per_cpu_s floe coturn)" "$(ratio rps floe coturn)"
printf '"floe/echo":{"responses_per_cpu_s":%s,"rps":%s}}}\n' \
    "$(ratio responses_per_cpu_s floe echo)" "$(ratio rps floe echo)"
