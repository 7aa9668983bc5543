# shellcheck shell=bash
# Helpers shared by the tests/system and tests/interop scripts. Source it after
# `set -euo pipefail`:
#
#     . "$FLOE_SRC/tests/lib/common.bash"
#
# What it gives a test:
#   - ft_say / ft_check / ft_ok / ft_fail / ft_skip: one line per step, loud failures;
#   - a private work directory $FT_TMP (kept on failure, or with FLOE_KEEP_TMP=1);
#   - ft_start: background processes whose PIDs are recorded; the EXIT trap stops those
#     PIDs, and only those (never by name);
#   - ft_free_ports: free UDP+TCP ports on the loopback addresses;
#   - ft_wait_*: bounded waits for a listening port, a socket file or a log line;
#   - ft_make_cert: a self-signed certificate for 127.0.0.1 and localhost;
#   - ft_capture_*: a dumpcap capture on `lo` limited to the test's own ports, and a
#     tshark check that every packet decodes as STUN (or TLS, DTLS), with no malformed
#     packet and no expert info of severity warning or error.
#
# Network safety: everything here binds, connects and captures on loopback only.

if [ -n "${FT_COMMON_LOADED:-}" ]; then return 0; fi
FT_COMMON_LOADED=1

: "${FLOE_SRC:?FLOE_SRC must point at the floe source tree}"
FLOE_BUILD=${FLOE_BUILD:-$FLOE_SRC/build/dev}
FLOE=${FLOE:-$FLOE_BUILD/bin/floe}
FT_NAME=${FT_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
FT_EXIT_SKIP=200

FT_PIDS=()        # every PID ft_start recorded, in start order
declare -A FT_PID_NAME=() # PID -> name (its log is $FT_TMP/<name>.log)
declare -A FT_NAME_PID=() # name -> PID
FT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/floe-${FT_NAME}.XXXXXX")
FT_FAILED=0
FT_DECODE=() # tshark decode-as options, set by ft_capture_check

# ---- messages -----------------------------------------------------------------------

ft_say() { printf '[%s] %s\n' "$FT_NAME" "$*"; }
ft_check() { printf '[%s] check: %s\n' "$FT_NAME" "$*"; }
ft_ok() { printf '[%s]   ok: %s\n' "$FT_NAME" "$*"; }

# ft_fail MESSAGE: prints the message and the tail of every recorded process log, exits 1.
ft_fail() {
  FT_FAILED=1
  {
    printf '\n[%s] FAIL: %s\n' "$FT_NAME" "$*"
    local name
    for name in "${!FT_NAME_PID[@]}"; do
      if [ -s "$FT_TMP/$name.log" ]; then
        printf -- '--- last lines of %s (pid %s) ---\n' "$name" "${FT_NAME_PID[$name]}"
        tail -n 25 "$FT_TMP/$name.log"
      fi
    done
  } >&2
  exit 1
}

# ft_skip REASON: the test cannot run here (exit 200, which ctest reports as skipped).
ft_skip() {
  printf '[%s] SKIP: %s\n' "$FT_NAME" "$*"
  exit "$FT_EXIT_SKIP"
}

# ft_need_cmd CMD...: each command must exist. Missing in CI (CI=true) is a failure,
# since scripts/install-deps.sh installs everything there; elsewhere it is a skip.
ft_need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 && continue
    if [ "${CI:-}" = "true" ]; then
      ft_fail "required command '$c' is missing (scripts/install-deps.sh installs it)"
    fi
    ft_skip "required command '$c' is not installed (run scripts/install-deps.sh)"
  done
}

# ft_need_file PATH WHAT: like ft_need_cmd for a built artefact.
ft_need_file() {
  [ -e "$1" ] && return 0
  if [ "${CI:-}" = "true" ]; then ft_fail "$2 is missing: $1"; fi
  ft_skip "$2 is missing: $1"
}

# ft_need_capture: packet capture on lo needs root (or CAP_NET_RAW for dumpcap).
ft_need_capture() {
  ft_need_cmd dumpcap tshark
  if ! dumpcap -D 2>/dev/null | grep -qw lo; then
    if [ "${CI:-}" = "true" ]; then ft_fail "dumpcap cannot open the loopback interface lo"; fi
    ft_skip "dumpcap cannot open the loopback interface lo (needs root or CAP_NET_RAW)"
  fi
}

# ---- processes ----------------------------------------------------------------------

# ft_start NAME CMD [ARGS...]: runs CMD in the background with stdout+stderr in
# $FT_TMP/NAME.log and records its PID (in FT_LAST_PID and for the EXIT trap).
ft_start() {
  local name=$1
  shift
  [ -z "${FT_NAME_PID[$name]:-}" ] || ft_fail "internal: process name '$name' used twice"
  "$@" >"$FT_TMP/$name.log" 2>&1 </dev/null &
  FT_LAST_PID=$!
  FT_PIDS+=("$FT_LAST_PID")
  FT_PID_NAME[$FT_LAST_PID]=$name
  FT_NAME_PID[$name]=$FT_LAST_PID
}

ft_pid() { printf '%s' "${FT_NAME_PID[$1]:?no process named $1}"; }
ft_log_of() { printf '%s' "$FT_TMP/$1.log"; }
ft_alive() { kill -0 "$1" 2>/dev/null; }

# ft_stop NAME [SIGNAL]: sends SIGNAL (default TERM) to that one recorded PID and waits
# for it (5 s, then SIGKILL). Sets FT_STOP_STATUS to its exit status.
ft_stop() {
  local name=$1 sig=${2:-TERM} pid i
  pid=$(ft_pid "$name")
  # shellcheck disable=SC2034 # read by the tests
  FT_STOP_STATUS=0
  if ft_alive "$pid"; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      ft_alive "$pid" || break
      sleep 0.1
    done
    if ft_alive "$pid"; then
      ft_say "$name (pid $pid) ignored SIG$sig for 5 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # shellcheck disable=SC2034
  wait "$pid" 2>/dev/null || FT_STOP_STATUS=$?
  return 0
}

# The EXIT trap: stop every recorded PID that still runs (TERM, then KILL), keep the
# work directory when the test failed.
ft_cleanup() {
  local rc=$? pid i alive
  trap - EXIT
  for pid in "${FT_PIDS[@]}"; do
    if ft_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 30; i++)); do
    alive=0
    for pid in "${FT_PIDS[@]}"; do ft_alive "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${FT_PIDS[@]}"; do
    if ft_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ "$rc" -ne "$FT_EXIT_SKIP" ] || [ "$FT_FAILED" = 1 ] ||
    [ "${FLOE_KEEP_TMP:-0}" = 1 ]; then
    printf '[%s] work directory kept: %s\n' "$FT_NAME" "$FT_TMP" >&2
  else
    rm -rf "$FT_TMP"
  fi
  exit "$rc"
}
trap ft_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports and waits ----------------------------------------------------------------

# ft_free_ports N [IP...]: prints N consecutive port numbers that are free for both UDP
# and TCP on every IP given (default 127.0.0.1 and 127.0.0.2). The ports come from
# 20000-32767, below Linux's ephemeral range, so client sockets do not take them.
ft_free_ports() {
  local n=$1
  shift
  local ips=("$@")
  [ "${#ips[@]}" -gt 0 ] || ips=(127.0.0.1 127.0.0.2)
  python3 - "$n" "${ips[@]}" <<'EOF'
import random, socket, sys
n, ips = int(sys.argv[1]), sys.argv[2:]
def free(port):
    socks = []
    try:
        for ip in ips:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, kind)
                socks.append(s)
                s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()
rng = random.SystemRandom()
for _ in range(200):
    base = rng.randrange(20000, 32768 - n)
    if all(free(base + i) for i in range(n)):
        print(" ".join(str(base + i) for i in range(n)))
        sys.exit(0)
sys.exit("no free port range found")
EOF
}

# ft_wait_listen PROTO IP PORT [PID] [SECONDS]: waits until something listens on
# PROTO (udp|tcp) IP:PORT; fails early if PID died. Bounded (default 10 s).
ft_wait_listen() {
  local proto=$1 ip=$2 port=$3 pid=${4:-} secs=${5:-10} i flag
  [ "$proto" = udp ] && flag=-Hlnu || flag=-Hlnt
  for ((i = 0; i < secs * 20; i++)); do
    if ss "$flag" "src $ip:$port" 2>/dev/null | grep -q .; then return 0; fi
    if [ -n "$pid" ] && ! ft_alive "$pid"; then
      ft_fail "process ${FT_PID_NAME[$pid]:-$pid} exited before listening on $proto $ip:$port"
    fi
    sleep 0.05
  done
  ft_fail "nothing listens on $proto $ip:$port after ${secs}s"
}

# ft_wait_file PATH [PID] [SECONDS]: waits for PATH (a file or a Unix socket) to exist.
ft_wait_file() {
  local path=$1 pid=${2:-} secs=${3:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    [ -e "$path" ] && return 0
    if [ -n "$pid" ] && ! ft_alive "$pid"; then
      ft_fail "process ${FT_PID_NAME[$pid]:-$pid} exited before creating $path"
    fi
    sleep 0.05
  done
  ft_fail "$path did not appear after ${secs}s"
}

# ft_wait_log NAME ERE [SECONDS]: waits until the log of process NAME matches ERE.
ft_wait_log() {
  local name=$1 re=$2 secs=${3:-10} i pid
  pid=$(ft_pid "$name")
  for ((i = 0; i < secs * 20; i++)); do
    grep -qE -- "$re" "$FT_TMP/$name.log" 2>/dev/null && return 0
    ft_alive "$pid" || ft_fail "$name exited before logging /$re/"
    sleep 0.05
  done
  ft_fail "$name did not log /$re/ within ${secs}s"
}

# ft_sockets_of PID: "proto local-address" of every UDP and TCP socket of PID.
ft_sockets_of() {
  ss -Hanptu 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { print $1, $5 }'
}

# ft_assert_loopback_only PID WHAT: every socket of PID is bound to 127.0.0.0/8 or ::1.
ft_assert_loopback_only() {
  local pid=$1 what=$2 socks bad
  socks=$(ft_sockets_of "$pid")
  [ -n "$socks" ] || ft_fail "$what (pid $pid) has no listening socket"
  bad=$(printf '%s\n' "$socks" | awk '{ if ($2 !~ /^127\./ && $2 !~ /^\[::1\]:/) print }')
  [ -z "$bad" ] || ft_fail "$what listens outside loopback:
$bad"
  ft_ok "$what listens on loopback only ($(printf '%s' "$socks" | wc -l) sockets)"
}

# ---- assertions ---------------------------------------------------------------------

# ft_expect_eq ACTUAL EXPECTED WHAT
# ft_expect_usage WANT ARGS...: `floe ARGS...` must be a usage error: exit 2 with WANT
# in what it prints on stderr.
ft_expect_usage() {
  local want=$1 rc=0
  shift
  "$FLOE" "$@" >"$FT_TMP/usage.out" 2>"$FT_TMP/usage.err" || rc=$?
  [ "$rc" = 2 ] || ft_fail "floe $* exited $rc, expected 2: $(cat "$FT_TMP/usage.err")"
  grep -q -- "$want" "$FT_TMP/usage.err" ||
    ft_fail "floe $*: stderr does not say '$want': $(cat "$FT_TMP/usage.err")"
  ft_ok "floe $* -> 2: $(head -1 "$FT_TMP/usage.err")"
}

ft_expect_eq() {
  [ "$1" = "$2" ] || ft_fail "$3: got '$1', expected '$2'"
  ft_ok "$3 = $2"
}

# ft_json FILE EXPR: evaluates a Python expression over the JSON document j in FILE and
# prints the result (True/False print as true/false). Fails if FILE is not JSON.
ft_json() {
  python3 - "$1" "$2" <<'EOF' || ft_fail "cannot evaluate '$2' over the JSON in $1: $(head -c 600 "$1")"
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j})
print(json.dumps(v) if isinstance(v, bool) or v is None else v)
EOF
}

# ---- TLS ----------------------------------------------------------------------------

# ft_make_cert DIR: writes DIR/cert.pem and DIR/key.pem, a self-signed P-256 certificate
# for CN=localhost with subjectAltName IP:127.0.0.1 and DNS:localhost, valid 2 days.
ft_make_cert() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -addext "basicConstraints=critical,CA:FALSE" >"$dir/openssl.log" 2>&1 ||
    ft_fail "openssl could not make a test certificate: $(cat "$dir/openssl.log")"
}

# ---- packet capture -----------------------------------------------------------------

# ft_capture_start NAME BPF: captures on lo with the capture filter BPF (which must
# name the test's own ports) into $FT_TMP/NAME.pcapng. Waits until dumpcap captures.
# dumpcap stops by itself after 120 s in case the test forgets it.
ft_capture_start() {
  local name=$1 bpf=$2 pid i
  ft_start "$name" dumpcap -q -i lo -f "$bpf" -a duration:120 -w "$FT_TMP/$name.pcapng"
  pid=$FT_LAST_PID
  for ((i = 0; i < 200; i++)); do
    if grep -q "Capturing on" "$FT_TMP/$name.log" 2>/dev/null && [ -s "$FT_TMP/$name.pcapng" ]; then
      sleep 0.2 # dumpcap says it captures just before the filter is attached
      return 0
    fi
    ft_alive "$pid" || ft_fail "dumpcap did not start: $(cat "$FT_TMP/$name.log")"
    sleep 0.05
  done
  ft_fail "dumpcap did not start capturing on lo within 10 s"
}

# ft_capture_stop NAME: lets the last packets arrive, stops dumpcap, checks the file.
ft_capture_stop() {
  local name=$1
  sleep 0.3
  ft_stop "$name" INT
  [ -s "$FT_TMP/$name.pcapng" ] || ft_fail "capture $name is empty or missing"
}

# ft_tshark CAPTURE [tshark args]: reads $FT_TMP/CAPTURE.pcapng in two passes (so that
# tcp.reassembled_in is known for the first segments of a message) with the decode-as
# rules set by ft_capture_check (FT_DECODE), fails on a tshark error.
ft_tshark() {
  local cap=$1
  shift
  local err="$FT_TMP/tshark.err"
  if ! tshark -n -2 -r "$FT_TMP/$cap.pcapng" "${FT_DECODE[@]}" "$@" 2>"$err"; then
    ft_fail "tshark failed on $cap: $(grep -v 'Running as user' "$err" | head -5)"
  fi
}

# ft_capture_count CAPTURE DISPLAY-FILTER: prints how many packets match.
ft_capture_count() {
  local out
  out=$(ft_tshark "$1" -Y "$2" -T fields -e frame.number) || exit 1
  [ -n "$out" ] || { echo 0; return 0; }
  printf '%s\n' "$out" | wc -l
}

# ft_capture_fields CAPTURE DISPLAY-FILTER FIELD...: one line per matching packet.
ft_capture_fields() {
  local cap=$1 filter=$2
  shift 2
  local args=() f
  for f in "$@"; do args+=(-e "$f"); done
  ft_tshark "$cap" -Y "$filter" -T fields -E separator=' ' "${args[@]}"
}

# ft_capture_expect_none CAPTURE DISPLAY-FILTER WHAT: no packet may match; on failure
# prints the matching packets in full (-V).
ft_capture_expect_none() {
  local cap=$1 filter=$2 what=$3 n
  n=$(ft_capture_count "$cap" "$filter")
  if [ "$n" != 0 ]; then
    ft_tshark "$cap" -Y "$filter" -V | head -n 400 >&2
    ft_fail "capture $cap: $n packet(s) with $what (filter: $filter); shown above"
  fi
  ft_ok "capture $cap: no packet with $what"
}

# Severity values of _ws.expert.severity in this tshark (4.0: Comment 0x100000,
# Chat 0x200000, Note 0x400000, Warning 0x600000, Error 0x800000). Read from tshark
# itself so another version cannot silently change the meaning of the check.
ft_expert_warning_level() {
  local v
  v=$(tshark -G values 2>/dev/null | awk -F'\t' '$2 == "_ws.expert.severity" && $4 == "Warning" { print $3 }')
  [ -n "$v" ] || ft_fail "this tshark has no Warning value for _ws.expert.severity"
  printf '%s' "$v"
}

# ft_capture_check CAPTURE [--udp P]... [--tcp P]... [--tls P]... [--dtls P]... [--min N]
#   --udp P   UDP port P carries STUN: every UDP packet must decode as STUN
#   --tcp P   TCP port P carries STUN: every TCP segment with payload must be STUN
#             (or part of a reassembled STUN message)
#   --tls P   TCP port P carries TLS: every segment with payload must be TLS, and the
#             capture must hold a ClientHello and a ServerHello, and no fatal alert
#   --dtls P  UDP port P carries DTLS: the same checks, for every UDP datagram
#   --min N   at least N packets in the capture (default 2), so an empty one fails
#   --allow-rst-from P
#             a peer we do not control closes its TCP connections on port P with a
#             reset (coturn does): its "Connection reset (RST)" warnings are allowed,
#             and only on segments from port P that carry no payload
#   --allow-rst-to P
#             the same for resets that clients we do not control send to port P
#             (coturn's uclient closes its TLS connections that way)
#   --allow-tls-alert DESC
#             fatal TLS (and DTLS) alerts with this description are expected (the test checks
#             why itself, e.g. 70 protocol_version to a client that probes TLS 1.0)
#   --allow-rst-after-fin
#             a reset from a side that already sent its FIN in that connection is
#             allowed: that is the kernel answering data (e.g. the peer's TLS
#             close_notify) that reaches a socket its owner closed gracefully
# For all: no malformed packet and no expert info of severity warning or error.
ft_capture_check() {
  local cap=$1
  shift
  local min=2 udp=() tcp=() tls=() dtls=() rst_ok=() rst_after_fin=0 p n level frames alert_ok=""
  local dalert_ok=""
  FT_DECODE=()
  while [ $# -gt 0 ]; do
    case $1 in
    --udp) udp+=("$2"); FT_DECODE+=(-d "udp.port==$2,stun"); shift 2 ;;
    --tcp) tcp+=("$2"); FT_DECODE+=(-d "tcp.port==$2,stun"); shift 2 ;;
    --tls) tls+=("$2"); FT_DECODE+=(-d "tcp.port==$2,tls"); shift 2 ;;
    --dtls) dtls+=("$2"); FT_DECODE+=(-d "udp.port==$2,dtls"); shift 2 ;;
    --min) min=$2; shift 2 ;;
    --allow-rst-from) rst_ok+=("$2"); shift 2 ;;
    --allow-rst-to) rst_ok+=("to:$2"); shift 2 ;;
    --allow-rst-after-fin) rst_after_fin=1; shift ;;
    --allow-tls-alert)
      alert_ok=" && tls.alert_message.desc != $2" dalert_ok=" && dtls.alert_message.desc != $2"
      shift 2
      ;;
    *) ft_fail "internal: ft_capture_check: unknown option $1" ;;
    esac
  done
  local total
  total=$(ft_capture_count "$cap" "frame")
  ft_check "capture $cap: $total packets, at least $min; decoded as STUN on udp ${udp[*]:-none} tcp ${tcp[*]:-none}, TLS on tcp ${tls[*]:-none}, DTLS on udp ${dtls[*]:-none}"
  [ "$total" -ge "$min" ] || ft_fail "capture $cap holds $total packets, expected at least $min"
  local port_filter
  for p in "${udp[@]}"; do
    port_filter="udp.port == $p"
    ft_capture_expect_none "$cap" "$port_filter && !stun" "UDP port $p payload that is not STUN"
    n=$(ft_capture_count "$cap" "$port_filter && stun")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no STUN at all on UDP port $p"
  done
  for p in "${tcp[@]}"; do
    port_filter="tcp.port == $p"
    # (a retransmitted segment repeats bytes already checked; tshark does not dissect it again)
    ft_capture_expect_none "$cap" "$port_filter && tcp.len > 0 && !stun && !tcp.reassembled_in && !tcp.analysis.retransmission" \
      "TCP port $p payload that is not STUN"
    n=$(ft_capture_count "$cap" "$port_filter && stun")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no STUN at all on TCP port $p"
  done
  for p in "${tls[@]}"; do
    port_filter="tcp.port == $p"
    ft_capture_expect_none "$cap" "$port_filter && tcp.len > 0 && !tls && !tcp.reassembled_in && !tcp.analysis.retransmission" \
      "TCP port $p payload that is not TLS"
    n=$(ft_capture_count "$cap" "$port_filter && tls.handshake.type == 1")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no TLS ClientHello on TCP port $p"
    n=$(ft_capture_count "$cap" "$port_filter && tls.handshake.type == 2")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no TLS ServerHello on TCP port $p"
    ft_capture_expect_none "$cap" "$port_filter && tls.alert_message.level == 2$alert_ok" "a fatal TLS alert"
  done
  for p in "${dtls[@]}"; do
    port_filter="udp.port == $p"
    ft_capture_expect_none "$cap" "$port_filter && !dtls" "UDP port $p payload that is not DTLS"
    n=$(ft_capture_count "$cap" "$port_filter && dtls.handshake.type == 1")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no DTLS ClientHello on UDP port $p"
    n=$(ft_capture_count "$cap" "$port_filter && dtls.handshake.type == 2")
    [ "$n" -gt 0 ] || ft_fail "capture $cap: no DTLS ServerHello on UDP port $p"
    # Only alerts in the clear (epoch 0, the handshake's) can be read: an encrypted one
    # (close_notify after the handshake) is ciphertext that tshark sometimes decodes as a
    # level and a description all the same.
    ft_capture_expect_none "$cap" "$port_filter && dtls.record.epoch == 0 && dtls.alert_message.level == 2$dalert_ok" "a fatal DTLS alert"
  done
  ft_capture_expect_none "$cap" "_ws.malformed" "a malformed packet"
  level=$(ft_expert_warning_level)
  frames=""
  if [ "${#rst_ok[@]}" -gt 0 ] || [ "$rst_after_fin" = 1 ]; then
    frames=$(ft_allowed_resets "$cap" "$rst_after_fin" "${rst_ok[@]}")
  fi
  ft_capture_experts "$cap" "$level" "$frames"
  ft_capture_expect_none "$cap" "stun.att.crc32.bad" "a bad STUN FINGERPRINT"
  ft_capture_stun_framing "$cap"
}

# ft_capture_experts CAPTURE LEVEL RESET-FRAMES: no expert info of severity LEVEL or
# above, except two transport effects that say nothing about the bytes under test:
#   - "Connection reset (RST)" in a frame of RESET-FRAMES (see ft_allowed_resets);
#   - "D-SACK Sequence" on a segment without payload: the receiver reporting a
#     duplicate, after a retransmission (loopback under load retransmits too).
# Each allowed one is listed as a note; anything else fails with the packets shown.
ft_capture_experts() {
  local cap=$1 level=$2 resets=$3 out bad
  ft_tshark "$cap" -Y "_ws.expert.severity >= $level" -T fields -E separator=/t -E aggregator='|' \
    -e frame.number -e tcp.len -e _ws.expert.severity -e _ws.expert.message >"$FT_TMP/$cap.experts"
  out=$(python3 - "$FT_TMP/$cap.experts" "$level" "$resets" <<'EOF'
import sys
level, resets = int(sys.argv[2]), set(x for x in sys.argv[3].split(",") if x)
notes, bad = [], []
for line in open(sys.argv[1]):
    num, tcp_len, sevs, msgs = line.rstrip("\n").split("\t")
    for sev, msg in zip(sevs.split("|"), msgs.split("|")):
        if int(sev) < level:
            continue
        if msg == "Connection reset (RST)" and num in resets and tcp_len in ("", "0"):
            notes.append(f"frame {num}: {msg} (allowed)")
        elif msg == "D-SACK Sequence" and tcp_len == "0":
            notes.append(f"frame {num}: {msg} (allowed: duplicate reported after a retransmission)")
        else:
            bad.append(num)
            notes.append(f"frame {num}: {msg}")
print(",".join(sorted(set(bad), key=int)))
print("\n".join(notes))
EOF
  ) || ft_fail "the expert-info check could not run"
  bad=$(printf '%s\n' "$out" | head -n 1)
  if [ -n "$bad" ]; then
    ft_tshark "$cap" -Y "frame.number in {$bad}" -V | head -n 400 >&2
    ft_fail "capture $cap: expert info of severity warning or error (shown above):
$(printf '%s\n' "$out" | tail -n +2)"
  fi
  printf '%s\n' "$out" | tail -n +2 | sed "s/^/[$FT_NAME]   note: /" | grep . || true
  ft_ok "capture $cap: no expert info of severity warning or error"
}

# ft_allowed_resets CAPTURE AFTER-FIN(0|1) [PORT...]: frame numbers (comma-separated)
# of the TCP resets ft_capture_check may accept: those sent from one of PORTs, and with
# AFTER-FIN=1 those whose sender had already sent a FIN in the same connection.
ft_allowed_resets() {
  local cap=$1 after_fin=$2
  shift 2
  ft_tshark "$cap" -Y "tcp.flags.fin == 1 || tcp.flags.reset == 1" -T fields -E separator=/t \
    -e frame.number -e tcp.stream -e tcp.srcport -e tcp.flags.fin -e tcp.flags.reset \
    -e tcp.dstport >"$FT_TMP/$cap.resets"
  python3 - "$FT_TMP/$cap.resets" "$after_fin" "$@" <<'EOF' || ft_fail "the reset check could not run"
import sys
after_fin, ports = sys.argv[2] == "1", set(sys.argv[3:])
fin_sent, ok = set(), []
for line in open(sys.argv[1]):
    num, stream, sport, fin, rst, dport = line.rstrip("\n").split("\t")
    if fin in ("1", "True"):
        fin_sent.add((stream, sport))
    if rst in ("1", "True") and (sport in ports or "to:" + dport in ports or
                                 (after_fin and (stream, sport) in fin_sent)):
        ok.append(num)
print(",".join(ok))
EOF
}

# ft_capture_stun_framing CAPTURE: what tshark does not flag by itself. In every packet
# with STUN, the attributes (4-byte header + value padded to 4) fill the messages'
# length fields exactly (tshark only writes "bogus" next to an attribute running past
# its message), and a UDP datagram holds exactly one message. TURN ChannelData (RFC 8656
# §12.4, tshark's stun.channel) is checked message by message from tshark's PDML: a UDP
# datagram holds one ChannelData message, its data and at most 3 bytes of padding.
ft_capture_stun_framing() {
  local cap=$1 out
  ft_tshark "$cap" -Y "stun && !stun.channel" -T fields -E separator=/t -e frame.number -e udp.length \
    -e stun.length -e stun.att.length >"$FT_TMP/$cap.framing"
  ft_tshark "$cap" -Y "stun.channel" -T pdml >"$FT_TMP/$cap.channel.pdml"
  out=$(python3 - "$FT_TMP/$cap.framing" "$FT_TMP/$cap.channel.pdml" <<'EOF'
import sys
import xml.etree.ElementTree as ET
bad = []
for line in open(sys.argv[1]):
    num, udp_len, msg_lens, att_lens = (line.rstrip("\n").split("\t") + ["", "", ""])[:4]
    msgs = [int(x) for x in msg_lens.split(",") if x]
    atts = [int(x) for x in att_lens.split(",") if x]
    if sum(msgs) != sum(4 + (a + 3) // 4 * 4 for a in atts):
        bad.append(f"frame {num}: message length(s) {msgs} but attributes of length {atts}")
    if udp_len and (len(msgs) != 1 or 8 + 20 + msgs[0] != int(udp_len)):
        bad.append(f"frame {num}: UDP length {udp_len} does not hold exactly one message of {msgs}")
for pkt in ET.parse(sys.argv[2]).getroot().iter("packet"):
    fields = list(pkt.iter("field"))
    num = next((f.get("show") for f in fields if f.get("name") == "num"), "?")
    udp_len = next((int(f.get("show")) for f in fields if f.get("name") == "udp.length"), None)
    msgs = [p for p in pkt.iter("proto") if p.get("name") == "stun"]
    for m in msgs:
        mf = {f.get("name"): f.get("show") for f in m.iter("field")}
        length = int(mf.get("stun.length", "-1"))
        if "stun.channel" in mf:
            if udp_len is not None and not 12 + length <= udp_len <= 8 + (4 + length + 3) // 4 * 4:
                bad.append(f"frame {num}: UDP length {udp_len} for ChannelData of length {length}")
            continue
        atts = [int(f.get("show")) for f in m.iter("field") if f.get("name") == "stun.att.length"]
        if length != sum(4 + (a + 3) // 4 * 4 for a in atts):
            bad.append(f"frame {num}: message length {length} but attributes of length {atts}")
    if udp_len is not None and len(msgs) != 1:
        bad.append(f"frame {num}: a UDP datagram with {len(msgs)} messages")
print("\n".join(bad))
EOF
  ) || ft_fail "the STUN framing check could not run"
  if [ -n "$out" ]; then
    ft_tshark "$cap" -Y "frame.number in {$(printf '%s\n' "$out" | sed -n 's/^frame \([0-9]*\):.*/\1/p' | paste -sd,)}" -V | head -n 400 >&2
    ft_fail "capture $cap: STUN framing is wrong:
$out"
  fi
  ft_ok "capture $cap: every STUN message's attributes (and ChannelData lengths) are right"
}

# ---- ICE peers and network namespaces -------------------------------------------------

# ft_start_split NAME OUT CMD [ARGS...]: like ft_start, but CMD's stdout goes to the file
# OUT (e.g. the one JSON line of `floe ice --json`) and only its stderr to
# $FT_TMP/NAME.log. The PID recorded is CMD's own.
ft_start_split() {
  local name=$1 out=$2
  shift 2
  [ -z "${FT_NAME_PID[$name]:-}" ] || ft_fail "internal: process name '$name' used twice"
  "$@" >"$out" 2>"$FT_TMP/$name.log" </dev/null &
  FT_LAST_PID=$!
  FT_PIDS+=("$FT_LAST_PID")
  FT_PID_NAME[$FT_LAST_PID]=$name
  FT_NAME_PID[$name]=$FT_LAST_PID
}

# ft_wait_exit NAME [SECONDS]: waits (bounded, default 30 s) for the recorded process
# NAME to exit by itself and sets FT_EXIT_STATUS to its exit status. A process still
# running after SECONDS is stopped (ft_stop) and fails the test.
ft_wait_exit() {
  local name=$1 secs=${2:-30} pid i
  pid=$(ft_pid "$name")
  for ((i = 0; i < secs * 20; i++)); do
    ft_alive "$pid" || break
    sleep 0.05
  done
  if ft_alive "$pid"; then
    ft_stop "$name"
    ft_fail "$name (pid $pid) still ran after ${secs}s"
  fi
  # shellcheck disable=SC2034 # read by the tests
  FT_EXIT_STATUS=0
  # shellcheck disable=SC2034
  wait "$pid" 2>/dev/null || FT_EXIT_STATUS=$?
}

# ft_have_ipv6_loopback: true when the loopback interface has ::1 (IPv6 not disabled).
ft_have_ipv6_loopback() {
  grep -qE '^0{31}1 .* lo$' /proc/net/if_inet6 2>/dev/null
}

# ft_need_netns: the test creates network namespaces: root and `ip netns` are needed.
# Missing in CI is a failure, elsewhere a skip (like ft_need_cmd).
ft_need_netns() {
  ft_need_cmd ip
  local why=""
  if [ "$(id -u)" != 0 ]; then
    why="creating network namespaces needs root"
  elif ! ip netns list >/dev/null 2>&1; then
    why="'ip netns' does not work here"
  fi
  [ -z "$why" ] && return 0
  if [ "${CI:-}" = "true" ]; then ft_fail "$why"; fi
  ft_skip "$why"
}

# ft_netns_add NAME: creates the network namespace NAME (it must start with "floe-")
# with its loopback up, and records it for ft_netns_cleanup. Fails if NAME exists.
ft_netns_add() {
  local ns=$1
  case $ns in floe-?*) ;; *) ft_fail "internal: namespace '$ns' must be named floe-*" ;; esac
  if ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF -- "$ns"; then
    ft_fail "network namespace $ns exists already (left by another run? 'ip netns del $ns')"
  fi
  ip netns add "$ns" 2>"$FT_TMP/netns.err" ||
    ft_fail "cannot create network namespace $ns: $(cat "$FT_TMP/netns.err")"
  FT_NETNS+=("$ns")
  ip -n "$ns" link set lo up || ft_fail "cannot bring up lo in $ns"
}

# ft_netns_cleanup: stops every recorded process (TERM, then KILL after 3 s), then
# deletes every namespace ft_netns_add made. Safe to call twice.
ft_netns_cleanup() {
  local pid ns i alive
  for pid in "${FT_PIDS[@]}"; do
    if ft_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 30; i++)); do
    alive=0
    for pid in "${FT_PIDS[@]}"; do ft_alive "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${FT_PIDS[@]}"; do
    if ft_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for ns in ${FT_NETNS[@]+"${FT_NETNS[@]}"}; do
    ip netns del "$ns" 2>/dev/null || true
  done
  FT_NETNS=()
}

# ft_netns_trap: makes the EXIT trap delete the namespaces (ft_netns_cleanup) before the
# usual ft_cleanup, keeping the test's exit status. Call it before ft_netns_add.
ft_netns_trap() {
  FT_NETNS=()
  trap 'ft_netns_exit' EXIT
}

# The EXIT trap set by ft_netns_trap.
ft_netns_exit() {
  local rc=$?
  ft_netns_cleanup
  # ft_cleanup reads the exit status from $?: hand it over (without tripping set -e)
  if [ "$rc" = 0 ]; then
    ft_cleanup
  else
    (exit "$rc") || ft_cleanup
  fi
}

# ft_ice_peer_cmd KIND: the command that runs an ICE peer of KIND into the array
# FT_ICE_CMD: "floe" is `$FLOE ice`, "libnice" is tests/interop/nice_ice_peer (override
# with $NICE_ICE_PEER). Both follow the same command-line contract.
ft_ice_peer_cmd() {
  # shellcheck disable=SC2034 # read by the tests
  case $1 in
  floe) FT_ICE_CMD=("$FLOE" ice) ;;
  libnice) FT_ICE_CMD=("${NICE_ICE_PEER:-$FLOE_BUILD/tests/nice_ice_peer}") ;;
  *) ft_fail "internal: unknown ICE peer kind '$1'" ;;
  esac
}

# ft_ice_check_pair DIR KIND-A KIND-B COMPONENTS COUNT A-RE B-RE: checks the JSON lines
# DIR/a.json (the controlling peer, which sent COUNT datagrams with --count) and
# DIR/b.json (the controlled one, with --echo) of one ICE run:
#   - each file holds exactly one JSON line, from a peer of the expected kind;
#   - state "ready", the expected roles, no error, gathering <= remote SDP read <=
#     selected pair (ms since start), a floe peer sent checks (unless lite);
#   - one selected pair per component; A's local addresses match the regular expression
#     A-RE and B's match B-RE (e.g. '^127\.' or '^\[::1\]:'); each side's local address is
#     the other's remote one;
#   - A: COUNT sent, COUNT echoes, none lost; B: echoed all it received, saw BYE.
# Prints a one-line summary; exits non-zero with the reason and both JSON lines.
ft_ice_check_pair() {
  python3 - "$@" <<'EOF'
import json, re, sys
d, kind_a, kind_b, comps, count, re_a, re_b = sys.argv[1:8]
comps, count = int(comps), int(count)
def load(side):
    lines = open(f"{d}/{side}.json").read().splitlines()
    if len(lines) != 1:
        sys.exit(f"{side}.json: expected one JSON line on stdout, got {len(lines)}: {lines[:3]}")
    return json.loads(lines[0])
a, b = load("a"), load("b")
def need(cond, what):
    if not cond:
        sys.exit(f"{what}\n  a: {json.dumps(a)}\n  b: {json.dumps(b)}")
for name, j, kind, role, rx in (("a", a, kind_a, "controlling", re_a),
                                ("b", b, kind_b, "controlled", re_b)):
    need(j.get("peer") == kind, f"{name}: peer {j.get('peer')!r}, expected {kind!r}")
    need(j.get("state") == "ready", f"{name}: state {j.get('state')!r}: {j.get('error')}")
    need(j.get("role") == role, f"{name}: role {j.get('role')!r}, expected {role!r}")
    need("error" not in j, f"{name}: error {j.get('error')!r} in a ready peer")
    t = [j.get("gathering_ms"), j.get("remote_sdp_read_ms"), j.get("selected_pair_ms")]
    need(all(isinstance(x, (int, float)) for x in t) and t[0] <= t[1] <= t[2],
         f"{name}: times missing or out of order: {t}")
    need(len(j["selected"]) == comps,
         f"{name}: {len(j['selected'])} selected pair(s), expected {comps}")
    for s in j["selected"]:
        need(re.search(rx, s["local"]["addr"]),
             f"{name}: component {s['component']} local {s['local']['addr']} does not match /{rx}/")
    if kind == "floe":
        need(j.get("checks_sent", 0) > 0 or j.get("lite"), f"{name}: floe sent no checks")
sel = lambda j: {s["component"]: s for s in j["selected"]}
sa, sb = sel(a), sel(b)
for c in range(1, comps + 1):
    need(c in sa and c in sb, f"component {c} has no selected pair on both sides")
    need(sa[c]["local"]["addr"] == sb[c]["remote"]["addr"] and
         sa[c]["remote"]["addr"] == sb[c]["local"]["addr"],
         f"component {c}: the two sides selected different pairs")
need(a.get("count") == count and a.get("echoes_received") == count and a.get("lost") == 0,
     f"a: {a.get('echoes_received')} of {count} echoes, {a.get('lost')} lost")
need(a["datagrams_sent"] == count, f"a: sent {a['datagrams_sent']} datagrams, expected {count}")
need(b["datagrams_received"] >= count and b["datagrams_sent"] == b["datagrams_received"],
     f"b: received {b['datagrams_received']} datagrams, echoed {b['datagrams_sent']}")
need(b.get("bye") is True, "b: did not see BYE")
pairs = "; ".join(f"{c}: {sa[c]['local']['type']} {sa[c]['local']['addr']} <-> "
                  f"{sa[c]['remote']['type']} {sa[c]['remote']['addr']}" for c in sorted(sa))
print(f"ready at {a['selected_pair_ms']:.0f}/{b['selected_pair_ms']:.0f} ms, {pairs}; "
      f"{a['echoes_received']}/{count} echoed")
EOF
}
