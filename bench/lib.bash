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

# port_in_use PORT: bound on UDP or TCP, IPv4 or IPv6.
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" 'NR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
        /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
