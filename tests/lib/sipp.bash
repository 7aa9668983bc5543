# shellcheck shell=bash
# sipp helpers for tests/system/sipp_uas.sh and sipp_uac.sh (the scenarios are in
# tests/sipp/). Source after tests/lib/common.bash; the test must `cd "$FT_TMP"` first,
# since sipp reads the RTP file of an rtp_stream action from its working directory.
#
#   sipp_tone FILE HZ SECONDS  a raw G.711 mu-law (PCMU) tone for sipp's rtp_stream
#   sipp_start NAME SCENARIO SECONDS ARGS...
#                              sipp -sf SCENARIO for one call (-m 1), stopped by sipp
#                              itself after SECONDS (-timeout, counted as a failure);
#                              its messages in NAME.msg, its <log> lines in NAME.logs,
#                              its errors in NAME.err (all in $FT_TMP)
#   sipp_wait_ok NAME SECONDS  waits for it; its exit status must be 0 (one call, no
#                              failed check, no unexpected message)
#   sipp_count NAME ERE        how many lines of NAME.msg match ERE
#
# Network safety: the scenarios and the ports are loopback ones. sipp itself also opens
# its UDP control socket on 0.0.0.0:8888 (or the next free port); it only listens there.

if [ -n "${FT_SIPP_LOADED:-}" ]; then return 0; fi
FT_SIPP_LOADED=1
# shellcheck disable=SC2034 # read by the tests
SIPP_SCENARIOS="$FLOE_SRC/tests/sipp"

sipp_tone() {
  python3 - "$1" "$2" "$3" <<'EOF' || ft_fail "cannot write the tone file $1"
import math, sys
path, hz, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])

def ulaw(x):  # G.711 mu-law of a 16-bit sample
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp, mask = 7, 0x4000
    while exp > 0 and not x & mask:
        exp -= 1
        mask >>= 1
    return ~(sign | exp << 4 | (x >> (exp + 3)) & 0x0F) & 0xFF

n = int(8000 * secs)
with open(path, "wb") as f:
    f.write(bytes(ulaw(int(8000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(n)))
EOF
}

sipp_start() {
  local name=$1 scenario=$2 secs=$3
  shift 3
  [ -f "$scenario" ] || ft_fail "no sipp scenario $scenario"
  ft_start "$name" sipp -sf "$scenario" -m 1 -nostdin -timeout "${secs}s" -timeout_error \
    -trace_msg -message_file "$FT_TMP/$name.msg" -trace_logs -log_file "$FT_TMP/$name.logs" \
    -trace_err -error_file "$FT_TMP/$name.err" "$@"
}

sipp_wait_ok() {
  local name=$1 secs=$2
  ft_wait_exit "$name" "$secs"
  if [ "$FT_EXIT_STATUS" != 0 ]; then
    {
      echo "--- $name: sipp errors ---"
      cat "$FT_TMP/$name.err" 2>/dev/null || true
      echo "--- $name: sipp log lines ---"
      cat "$FT_TMP/$name.logs" 2>/dev/null || true
    } >&2
    ft_fail "sipp $name exited $FT_EXIT_STATUS: a check of the scenario failed, a message was missing or unexpected (messages: $FT_TMP/$name.msg)"
  fi
}

sipp_count() {
  local n
  n=$(grep -cE -- "$2" "$FT_TMP/$1.msg" 2>/dev/null) || true
  printf '%s' "${n:-0}"
}

# sipp_setup: what both sipp scripts start with: sipp, python3 and ss are needed, TONE
# names the tone checker, the work directory becomes the current one (sipp writes its
# logs there), sipp_tone.ulaw holds 3 s of 600 Hz, and a capture of UDP on loopback runs
# as "cap" when dumpcap may capture there (always in CI): CAPTURE=1, else 0.
sipp_setup() {
  ft_need_cmd sipp python3 ss
  ft_need_file "$FLOE" "the floe binary"
  TONE="$FLOE_SRC/tests/lib/tone_check.py"
  cd "$FT_TMP" || ft_fail "cannot enter $FT_TMP"
  sipp_tone sipp_tone.ulaw 600 3
  CAPTURE=0
  if [ "${CI:-}" = "true" ] || { command -v dumpcap >/dev/null && command -v tshark >/dev/null &&
    dumpcap -D 2>/dev/null | grep -qw lo; }; then
    ft_need_capture
    CAPTURE=1
    ft_capture_start cap "udp and (host 127.0.0.1 or host ::1)"
  else
    ft_say "no capture on lo (dumpcap missing or not allowed): part c not run"
  fi
}

# sipp_capture_stop: stops "cap" and sets what the capture checks use: FT_DECODE (RTP
# and STUN heuristics on) and OURS, a display filter for the test's ports (PORTS).
sipp_capture_stop() {
  ft_capture_stop cap
  FT_DECODE=(--enable-heuristic rtp_udp --enable-heuristic stun_udp)
  local ports
  ports=$(printf '%s\n' "${PORTS[@]}" | sort -un | paste -sd, -)
  OURS="udp.port in {$ports}"
}
