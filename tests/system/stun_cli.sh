#!/usr/bin/env bash
# System test of `floe stun` against `floe server` on loopback: the mapped address over
# udp, tcp and tls (text and JSON), certificate checks, the error messages and exit
# statuses, and RFC 5780 behaviour discovery. Needs $FLOE (the floe binary) and python3;
# the tls part also needs the openssl command. Nothing leaves 127.0.0.0/8.
set -u

FLOE=${FLOE:-}
if [ -z "$FLOE" ] || [ ! -x "$FLOE" ]; then
    echo "stun_cli: SKIP: \$FLOE does not name the floe binary" >&2
    exit 200
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "stun_cli: SKIP: python3 is needed to find free ports and check JSON" >&2
    exit 200
fi
if ! "$FLOE" server --help >/dev/null 2>&1; then
    echo "stun_cli: SKIP: 'floe server' is not built in this tree yet" >&2
    exit 200
fi

DIR=$(mktemp -d /tmp/floe-stun-cli.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$DIR"
}
trap cleanup EXIT

FAILS=0
PASSES=0
pass() {
    PASSES=$((PASSES + 1))
    echo "ok   $*"
}
fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL $*"
}

# A port free for UDP and TCP on every IP given.
free_port() {
    python3 - "$@" <<'EOF'
import random, socket, sys
ips = sys.argv[1:] or ["127.0.0.1"]
for _ in range(200):
    port = random.randint(20000, 60000)
    socks = []
    try:
        for ip in ips:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind((ip, port))
        print(port)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
sys.exit(1)
EOF
}

# Runs floe, keeping stdout, stderr and the status in OUT, ERR, RC.
run() {
    "$FLOE" "$@" >"$DIR/out" 2>"$DIR/err"
    RC=$?
    OUT=$(cat "$DIR/out")
    ERR=$(cat "$DIR/err")
}

# json_get KEY: the value of KEY in $OUT, which must be one line of JSON.
json_get() {
    printf '%s' "$OUT" | python3 -c '
import json, sys
text = sys.stdin.read()
assert text.count("\n") == 0, "not one line"
obj = json.loads(text)
v = obj[sys.argv[1]]
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"
}

one_line_error() { # $1: what; $2: expected status; $3: text the line must contain
    if [ "$RC" -eq "$2" ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
        [[ "$ERR" == "floe stun: "* ]] && [[ "$ERR" == *"$3"* ]]; then
        pass "$1: exit $RC, '$ERR'"
    else
        fail "$1: wanted exit $2 and one line with '$3'; got exit $RC, stdout '$OUT', stderr '$ERR'"
    fi
}

wait_for_server() { # $1: control socket, $2: udp target, $3: pid
    for _ in $(seq 1 100); do
        if ! kill -0 "$3" 2>/dev/null; then
            echo "stun_cli: the server exited early:" >&2
            cat "$DIR"/server*.log >&2
            exit 1
        fi
        if [ -S "$1" ] && "$FLOE" stun --timeout 0.3 "$2" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "stun_cli: the server at $2 did not come up" >&2
    cat "$DIR"/server*.log >&2
    exit 1
}

# ---- a plain server: udp + tcp on P, tls on PT ------------------------------------------
P=$(free_port 127.0.0.1) || { echo "stun_cli: no free port" >&2; exit 1; }
PT=$(free_port 127.0.0.1) || { echo "stun_cli: no free port" >&2; exit 1; }
HAVE_TLS=0
TLS_ARGS=()
if command -v openssl >/dev/null 2>&1; then
    # The certificate names localhost only: 127.0.0.1 must then fail the name check.
    if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost" \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
            -keyout "$DIR/other-key.pem" -out "$DIR/other-ca.pem" >/dev/null 2>&1; then
        HAVE_TLS=1
        TLS_ARGS=(--listen "tls://127.0.0.1:$PT" --tls-cert "$DIR/cert.pem" --tls-key "$DIR/key.pem")
    fi
fi
[ "$HAVE_TLS" -eq 1 ] || echo "stun_cli: note: no openssl command, the tls checks are skipped"

"$FLOE" server --listen "127.0.0.1:$P" "${TLS_ARGS[@]}" --control "$DIR/ctl.sock" \
    >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_for_server "$DIR/ctl.sock" "127.0.0.1:$P" "$SERVER_PID"

# ---- the mapped address: on loopback it is the socket's own address ----------------------
for tr in udp tcp; do
    LP=$(free_port 127.0.0.1)
    run stun --transport "$tr" --local "127.0.0.1:$LP" "127.0.0.1:$P"
    re="^mapped 127\.0\.0\.1:$LP \(server 127\.0\.0\.1:$P over $tr, rtt [0-9]+\.[0-9]+ ms\)$"
    if [ "$RC" -eq 0 ] && [[ "$OUT" =~ $re ]] && [ -z "$ERR" ]; then
        pass "$tr text: $OUT"
    else
        fail "$tr text: exit $RC, stdout '$OUT', stderr '$ERR'"
    fi

    run stun --json --transport "$tr" "127.0.0.1:$P"
    if [ "$RC" -eq 0 ] && mapped=$(json_get mapped) && local=$(json_get local) &&
        [ "$mapped" = "$local" ] && [[ "$mapped" == 127.0.0.1:* ]] &&
        [ "$(json_get server)" = "127.0.0.1:$P" ] && [ "$(json_get transport)" = "$tr" ] &&
        python3 -c 'import sys; assert float(sys.argv[1]) >= 0' "$(json_get rtt_ms)"; then
        pass "$tr json: $OUT"
    else
        fail "$tr json: exit $RC, stdout '$OUT', stderr '$ERR'"
    fi
done

# A name instead of an IP literal.
run stun --ipv4 "localhost:$P"
if [ "$RC" -eq 0 ] && [[ "$OUT" == "mapped 127.0.0.1:"* ]]; then
    pass "localhost --ipv4: $OUT"
else
    fail "localhost --ipv4: exit $RC, stdout '$OUT', stderr '$ERR'"
fi

# ---- tls ------------------------------------------------------------------------------------
if [ "$HAVE_TLS" -eq 1 ]; then
    run stun --transport tls --ca "$DIR/cert.pem" "localhost:$PT"
    re="^mapped 127\.0\.0\.1:[0-9]+ \(server 127\.0\.0\.1:$PT over tls, rtt [0-9.]+ ms\)$"
    if [ "$RC" -eq 0 ] && [[ "$OUT" =~ $re ]] && [ -z "$ERR" ]; then
        pass "tls with --ca and a matching name: $OUT"
    else
        fail "tls --ca: exit $RC, stdout '$OUT', stderr '$ERR'"
    fi

    run stun --json --transport tls --ca "$DIR/cert.pem" "localhost:$PT"
    if [ "$RC" -eq 0 ] && [ "$(json_get mapped)" = "$(json_get local)" ] &&
        [ "$(json_get transport)" = tls ]; then
        pass "tls json: $OUT"
    else
        fail "tls json: exit $RC, stdout '$OUT', stderr '$ERR'"
    fi

    run stun --transport tls --ca "$DIR/cert.pem" "127.0.0.1:$PT"
    one_line_error "tls, certificate without that IP" 1 "TLS"

    run stun --transport tls --ca "$DIR/other-ca.pem" "localhost:$PT"
    one_line_error "tls, certificate from another CA" 1 "certificate verify failed"

    run stun --transport tls "localhost:$PT"
    one_line_error "tls, self-signed against the system store" 1 "TLS"

    run stun --transport tls --insecure "127.0.0.1:$PT"
    if [ "$RC" -eq 0 ] && [[ "$OUT" == "mapped 127.0.0.1:"* ]] && [[ "$ERR" == *"--insecure"* ]]; then
        pass "tls --insecure works and warns: '$ERR'"
    else
        fail "tls --insecure: exit $RC, stdout '$OUT', stderr '$ERR'"
    fi
fi

# ---- errors ---------------------------------------------------------------------------------
run stun nosuch.invalid
one_line_error "unresolvable name" 1 "cannot resolve 'nosuch.invalid'"

run stun x:99999
one_line_error "bad port" 1 "x:99999"

CLOSED=$(free_port 127.0.0.1)
run stun "127.0.0.1:$CLOSED"
one_line_error "refused udp port" 1 "127.0.0.1:$CLOSED refused the connection"

run stun --transport tcp "127.0.0.1:$CLOSED"
one_line_error "refused tcp port" 1 "127.0.0.1:$CLOSED refused the connection"

# A UDP socket that never answers: the request is resent, then the command gives up.
SILENT=$(free_port 127.0.0.1)
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$SILENT" &
PIDS+=("$!")
sleep 0.3
run stun --timeout 0.8 "127.0.0.1:$SILENT"
one_line_error "silent server" 1 "no response from 127.0.0.1:$SILENT over udp after 2 requests (0.8 s)"

run stun --help
if [ "$RC" -eq 0 ] && [ -z "$ERR" ]; then
    missing=""
    for opt in --json --transport --ipv4 --ipv6 --timeout --ca --insecure --local --behavior; do
        [[ "$OUT" == *"$opt"* ]] || missing="$missing $opt"
    done
    if [ -z "$missing" ] && [[ "$OUT" == *"floe stun --"* ]]; then
        pass "--help exits 0 and explains every option"
    else
        fail "--help does not mention:$missing"
    fi
else
    fail "--help: exit $RC, stderr '$ERR'"
fi

run stun --no-such-option 127.0.0.1
one_line_error "unknown option" 2 "--no-such-option"

run stun --transport sctp 127.0.0.1
one_line_error "unknown transport" 2 "sctp"

run stun
one_line_error "no server" 2 "missing"

# A server without RFC 5780 cannot do discovery.
run stun --behavior "127.0.0.1:$P"
one_line_error "--behavior without RFC 5780" 1 "does not support"

# ---- RFC 5780 behaviour discovery -----------------------------------------------------------
P1=$(free_port 127.0.0.1 127.0.0.2)
P2=$(free_port 127.0.0.1 127.0.0.2)
"$FLOE" server --rfc5780 --listen "127.0.0.1:$P1" --alt-address "127.0.0.2:$P2" \
    --control "$DIR/ctl5780.sock" >"$DIR/server5780.log" 2>&1 &
S5780_PID=$!
PIDS+=("$S5780_PID")
wait_for_server "$DIR/ctl5780.sock" "127.0.0.1:$P1" "$S5780_PID"

run stun --behavior "127.0.0.1:$P1"
if [ "$RC" -eq 0 ] && [ -z "$ERR" ] &&
    grep -qx 'mapping: endpoint-independent' "$DIR/out" &&
    grep -qx 'filtering: endpoint-independent' "$DIR/out" &&
    grep -q '^nat: no' "$DIR/out"; then
    pass "--behavior text: $(tr '\n' '|' <"$DIR/out")"
else
    fail "--behavior text: exit $RC, stdout '$OUT', stderr '$ERR'"
fi

run stun --behavior --json "127.0.0.1:$P1"
if [ "$RC" -eq 0 ] && [ "$(json_get mapping)" = endpoint-independent ] &&
    [ "$(json_get filtering)" = endpoint-independent ] && [ "$(json_get nat)" = false ] &&
    [ "$(json_get other_address)" = "127.0.0.2:$P2" ] &&
    [ "$(json_get mapped)" = "$(json_get local)" ]; then
    pass "--behavior json: $OUT"
else
    fail "--behavior json: exit $RC, stdout '$OUT', stderr '$ERR'"
fi

# The plain request sees the RFC 5780 attributes too.
run stun --json "127.0.0.1:$P1"
if [ "$RC" -eq 0 ] && [ "$(json_get other_address)" = "127.0.0.2:$P2" ] &&
    [ "$(json_get response_origin)" = "127.0.0.1:$P1" ]; then
    pass "plain request to an RFC 5780 server: $OUT"
else
    fail "plain request to an RFC 5780 server: exit $RC, stdout '$OUT', stderr '$ERR'"
fi

run stun --behavior --transport tcp "127.0.0.1:$P1"
one_line_error "--behavior over tcp" 2 "udp only"

echo "stun_cli: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
