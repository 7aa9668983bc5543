# floe benchmarks: what every bench/*.sh script shares. Source it after defining log()
# and STOP_WAIT_S (seconds a process may take to exit after SIGTERM), then call
# bench_start_tmp NAME: a private work directory in $TMP, the list STARTED of PIDs this
# script started (the only processes it ever stops), and the EXIT/INT/TERM traps that
# stop them and remove $TMP.

# stop_pid PID: SIGTERM, wait up to STOP_WAIT_S, then SIGKILL; only our own children.
stop_pid() {
    local pid=$1 i
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_WAIT_S * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "PID $pid ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
}

bench_start_tmp() { # bench_start_tmp NAME
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    STARTED=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# bound_in PORT FILE...: some socket in these /proc/net tables is bound to PORT.
bound_in() {
    local hex
    hex=$(printf '%04X' "$1")
    shift
    awk -v h=":$hex" 'NR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
        "$@" 2>/dev/null
}

# port_in_use PORT: bound on UDP or TCP, IPv4 or IPv6. udp_bound PORT: on UDP over IPv4.
port_in_use() { bound_in "$1" /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6; }
udp_bound() { bound_in "$1" /proc/net/udp; }

# free_port LO HI: a port p in [LO, HI) with p and p + 1 unused (coturn may want p + 1).
free_port() {
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1)))
        if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}
