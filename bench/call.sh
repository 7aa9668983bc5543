#!/usr/bin/env bash
# SIP calls through real NATs: floe call -> floe answer next to baresip -> baresip, in
# the same run, in the namespace lab of docs/lab.md (tests/lib/call_lab.bash). Prints one
# JSON object on stdout; progress goes to stderr. See bench/README.md for the numbers.
#
#   sudo bench/call.sh                    # 5 calls of each, about two minutes
#   sudo bench/call.sh --calls 10
#   sudo FLOE=/path/to/floe bench/call.sh | python3 -m json.tool
#
# Every call goes from the user agent behind NAT A (the caller) through kamailio to the
# user agent behind NAT B (the callee), both NATs port-restricted cones by default, with
# ICE and floe server as the STUN server. The two kinds of call alternate (floe, baresip,
# floe, ...), and every call starts from scratch: both user agents are started for it,
# register, call, have --media seconds of audio both ways (a tone each), hang up and
# exit. A capture in the public namespace, one per call, gives the timings, read the same
# way for both user agents (tests/lab/call_capture.py):
#
#   invite_to_180_ms         the caller's INVITE leaving NAT A -> the first 180 coming back
#   ok_to_first_rtp_ms       media both ways after the 200 OK: the later of
#     ok_to_first_rtp_caller_ms  the 200 OK reaching NAT A -> the first RTP reaching NAT A
#     ok_to_first_rtp_callee_ms  the 200 OK leaving NAT B -> the first RTP reaching NAT B
#
# (all times are those of the one capture, on the public side of each NAT). A call is
# "ok" when both user agents say it worked and the capture shows the whole flow
# (registrations, INVITE/200/ACK with ICE candidates, STUN, checks, a nomination, RTP both
# ways, BYE); its audio is "verified" when each side's recording holds the other side's
# tone (tests/lib/tone_check.py). floe's own --json timeline, and baresip's call events,
# are reported next to the capture's figures as a cross-check.
#
# Nothing is asserted on the times: the goal (floe's median ok_to_first_rtp_ms under
# 20 ms: ICE is done before the phone rings) is reported in "goals". The exit status is
# 0 when every call was made and measured (failed calls are reported in the JSON), 1 when
# the lab could not be set up, 2 for a usage error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
usage: bench/call.sh [--calls N] [--nat KIND[,KIND]] [--turn] [--media S]

Calls floe -> floe and baresip -> baresip through kamailio and two NATs in network
namespaces (docs/lab.md), N calls of each, alternating, and prints one JSON object:
per user agent the median, min and max of INVITE -> 180 and 200 OK -> first RTP (from a
capture in the public namespace), every call, the goal check and the ratios baresip/floe.
Must run as root. Progress on stderr.

options:
  --calls N          calls of each user agent (default 5, 1..50).
  --nat KIND[,KIND]  the NAT in front of the caller and of the callee: cone (default)
                     or symmetric; one KIND for both. With a symmetric NAT both user
                     agents also get the lab's TURN server (floe server).
  --turn             give both user agents the TURN server even behind cone NATs.
  --media S          seconds of audio in each call once it is up (default 2, 1..30).
  -h, --help         this help.

environment:
  FLOE               the floe binary (default build/release/bin/floe, built with the
                     release preset when missing).
  FLOE_KEEP_TMP=1    keep the work directory (logs, captures, recordings).
EOF
}

log() { printf 'call.sh: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
usage_error() {
  log "$*"
  usage >&2
  exit 2
}

CALLS=5 NAT_A=cone NAT_B=cone TURN=0 MEDIA_S=2
while [ $# -gt 0 ]; do
  case $1 in
  --calls)
    [ $# -ge 2 ] || usage_error "--calls needs a number"
    CALLS=$2
    shift 2
    ;;
  --nat)
    [ $# -ge 2 ] || usage_error "--nat needs a kind"
    NAT_A=${2%%,*} NAT_B=${2#*,}
    shift 2
    ;;
  --turn) TURN=1 && shift ;;
  --media)
    [ $# -ge 2 ] || usage_error "--media needs a number of seconds"
    MEDIA_S=$2
    shift 2
    ;;
  -h | --help) usage && exit 0 ;;
  *) usage_error "unknown option $1" ;;
  esac
done
case $CALLS in '' | *[!0-9]*) usage_error "bad --calls '$CALLS'" ;; esac
((CALLS >= 1 && CALLS <= 50)) || usage_error "--calls must be 1..50"
case $MEDIA_S in '' | *[!0-9]*) usage_error "bad --media '$MEDIA_S'" ;; esac
((MEDIA_S >= 1 && MEDIA_S <= 30)) || usage_error "--media must be 1..30"
for k in "$NAT_A" "$NAT_B"; do
  case $k in cone | symmetric) ;; *) usage_error "bad NAT kind '$k' (cone or symmetric)" ;; esac
done
if [ "$NAT_A" = symmetric ] || [ "$NAT_B" = symmetric ]; then TURN=1; fi
[ "$(id -u)" = 0 ] || die "must be run as root: the lab creates network namespaces"

# ---- the floe binary -------------------------------------------------------------------
if [ -n "${FLOE:-}" ]; then
  [ -x "$FLOE" ] || die "FLOE=$FLOE is not an executable"
else
  FLOE=$ROOT/build/release/bin/floe
  if [ ! -x "$FLOE" ]; then
    log "building floe (release preset)"
    (cd "$ROOT" && cmake --preset release && cmake --build --preset release -j2) >&2 ||
      die "build failed"
  fi
fi
export FLOE FLOE_SRC=$ROOT FLOE_BUILD=${FLOE_BUILD:-$(dirname "$(dirname "$FLOE")")}

# Progress (the lab library's lines included) on stderr; the JSON goes to fd 3.
exec 3>&1 1>&2
FT_NAME=bench-call # read by common.bash (names the work directory)
export FT_NAME
# shellcheck source=../tests/lib/common.bash
. "$ROOT/tests/lib/common.bash"
# shellcheck source=../tests/lib/call_lab.bash
. "$ROOT/tests/lib/call_lab.bash"

lab_need baresip kamailio
ft_need_file "$LAB_BARESIP_MODULES/ice.so" "baresip's ice module (package baresip-core)"
"$FLOE" call --help >/dev/null 2>&1 || die "$FLOE has no 'floe call'"

TONE=$ROOT/tests/lib/tone_check.py
CALLER_HZ=440 CALLEE_HZ=1000 # what the caller and the callee send, both user agents
MIN_RTP=$((MEDIA_S * 25))    # RTP packets each side must receive (half the 20 ms packets)
PATH_EXPECT=direct
[ "$TURN" = 1 ] && PATH_EXPECT=any
CALLS_JSONL=$FT_TMP/calls.jsonl
: >"$CALLS_JSONL"

# ---- helpers ---------------------------------------------------------------------------

# wait_exit NAME SECONDS: like ft_wait_exit, but a process still running after SECONDS
# is stopped and reported (FT_EXIT_STATUS=timeout) instead of ending the benchmark.
wait_exit() {
  local name=$1 secs=$2 pid i
  pid=$(ft_pid "$name")
  for ((i = 0; i < secs * 20; i++)); do
    ft_alive "$pid" || break
    sleep 0.05
  done
  if ft_alive "$pid"; then
    ft_stop "$name"
    FT_EXIT_STATUS=timeout
    return 0
  fi
  FT_EXIT_STATUS=0
  wait "$pid" 2>/dev/null || FT_EXIT_STATUS=$?
}

# wait_event SIDE TYPE SECONDS: waits for a baresip event of the current instance of
# SIDE; returns 1 on timeout (or when the driver exited) instead of failing.
wait_event() {
  local ctrl i
  ctrl=$(lab_baresip_ctrl "$1")
  for ((i = 0; i < $3 * 20; i++)); do
    grep -qF "\"type\": \"$2\"" "$(ft_log_of "$ctrl")" 2>/dev/null && return 0
    ft_alive "$(ft_pid "$ctrl")" || return 1
    sleep 0.05
  done
  return 1
}

# tone WAV HZ OTHER-HZ OUT: the tone checker's verdict on WAV into OUT, as JSON: "ok"
# (its exit status was 0: HZ dominates WAV) and "check" (its own JSON line), or an error.
tone() {
  local rc=0 out=""
  if [ -s "$1" ]; then
    out=$(python3 "$TONE" check "$1" --expect "$2" --other "$3" 2>&1) || rc=$?
  else
    out="no recording" rc=1
  fi
  python3 -c '
import json, sys
try:
    check = json.loads(sys.argv[2])
except ValueError:
    check = {"error": sys.argv[2][-300:]}
print(json.dumps({"ok": sys.argv[1] == "0", "check": check}))' "$rc" "$out" >"$4"
}

# record UA N CAPTURE-OK KEY=FILE...: appends the call's JSON line to $CALLS_JSONL
# from the capture's timeline, the user agents' own reports and the tone checks.
record() {
  python3 - "$@" >>"$CALLS_JSONL" <<'PY'
import json, sys

ua, n, cap_ok = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "0"
files = dict(a.split("=", 1) for a in sys.argv[4:])


def load(key):
    try:
        with open(files[key]) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    return json.loads(line)
    except (OSError, KeyError, ValueError):
        pass
    return None


errors = []
cap = load("capture") or {"ok": False, "errors": ["the capture gave no timeline"], "timeline_ms": {}}
if not cap_ok:
    errors += ["capture: " + e for e in cap.get("errors", [])] or ["capture: the flow is incomplete"]
tl = cap.get("timeline_ms", {})
caller_rtp, callee_rtp = tl.get("ok_to_first_rtp_caller"), tl.get("ok_to_first_rtp_callee")
both = max(caller_rtp, callee_rtp) if caller_rtp is not None and callee_rtp is not None else None
rec = {"ua": ua, "call": n, "ok": None, "audio_verified": None,
       "invite_to_180_ms": tl.get("invite_to_180"), "ok_to_first_rtp_ms": both,
       "ok_to_first_rtp_caller_ms": caller_rtp, "ok_to_first_rtp_callee_ms": callee_rtp,
       "invite_to_200_ms": tl.get("invite_to_200"),
       "invite_to_nomination_ms": tl.get("invite_to_nomination"),
       "media_path": cap.get("media_path"), "capture_counts": cap.get("counts")}


def diff(tl, a, b):
    return tl[b] - tl[a] if tl and tl.get(a) is not None and tl.get(b) is not None else None


if ua == "floe":
    own = {}
    for side in ("caller", "callee"):
        j = load(side)
        status = files.get(side + "_exit")
        if j is None:
            errors.append(f"floe {side}: no JSON (exit status {status})")
            own[side] = None
            continue
        if not j.get("ok"):
            errors.append(f"floe {side}: {j.get('error') or j.get('reason') or 'not ok'} (exit status {status})")
        elif status != "0":
            errors.append(f"floe {side}: exit status {status}")
        t = j.get("timeline") or {}
        own[side] = {"invite_to_180_ms": t.get("180"), "ok_to_first_rtp_ms": diff(t, "200", "first_rtp_received"),
                     "timeline_ms": t, "selected": j.get("selected")}
    rec["ua_reported"] = own
else:
    own = {}
    for side in ("caller", "callee"):
        ev = {}
        try:
            for line in open(files[side + "_events"]):
                j = json.loads(line)
                if "type" in j and j["type"] not in ev:
                    ev[j["type"]] = j["t"]
        except (OSError, KeyError, ValueError):
            pass
        for need in ("CALL_ESTABLISHED", "CALL_RTPESTAB", "CALL_CLOSED"):
            if need not in ev:
                errors.append(f"baresip {side}: no {need} event")
        d = diff(ev, "CALL_ESTABLISHED", "CALL_RTPESTAB")
        own[side] = {"ok_to_first_rtp_ms": round(d * 1000, 1) if d is not None else None}
    rec["ua_reported"] = own
    if files.get("version"):
        rec["version"] = files["version"]

audio = {"caller_heard": load("tone_caller"), "callee_heard": load("tone_callee")}
rec["audio"] = audio
rec["audio_verified"] = all(a is not None and a.get("ok") is True for a in audio.values())
rec["ok"] = not errors
rec["errors"] = errors
print(json.dumps(rec))
PY
}

# ---- the lab -----------------------------------------------------------------------------
log "lab: NAT A $NAT_A, NAT B $NAT_B, TURN $([ "$TURN" = 1 ] && echo yes || echo no); $CALLS calls of each user agent"
lab_topology "$NAT_A" "$NAT_B"
if [ "$TURN" = 1 ]; then lab_start_stun turn; else lab_start_stun stun; fi
lab_start_kamailio
FLOE_NAT=()
BARESIP_NAT=()
if [ "$TURN" = 1 ]; then
  FLOE_NAT=("${LAB_FLOE_TURN[@]}")
  BARESIP_NAT=(--turn)
fi
lab_tone "$FT_TMP/caller.wav" "$CALLER_HZ" 30
lab_tone "$FT_TMP/callee.wav" "$CALLEE_HZ" 30
lab_baresip_config a alice "$FT_TMP/caller.wav" ${BARESIP_NAT[@]+"${BARESIP_NAT[@]}"}
lab_baresip_config b bob "$FT_TMP/callee.wav" ${BARESIP_NAT[@]+"${BARESIP_NAT[@]}"}
BARESIP_VERSION=$({ baresip -h 2>&1 || true; } | sed -n 's/^baresip v\([^ ]*\).*/\1/p' | head -n 1)
ft_say "lab ready: kamailio and floe server on $LAB_SRV"

# ---- one floe call -------------------------------------------------------------------------
floe_call() {
  local n=$1 cap=floe-$1 ans=floe-answer-$1 cal=floe-call-$1 cap_rc=0 call_rc ans_rc
  lab_capture_start "$cap"
  lab_floe_answer b "$ans" floe-bob --tone "$CALLEE_HZ" --record "$FT_TMP/$ans.wav" \
    --timeout 60 ${FLOE_NAT[@]+"${FLOE_NAT[@]}"}
  lab_floe_call a "$cal" floe-alice "sip:floe-bob@$LAB_SRV" --tone "$CALLER_HZ" \
    --record "$FT_TMP/$cal.wav" --duration "$MEDIA_S" --timeout 20 ${FLOE_NAT[@]+"${FLOE_NAT[@]}"}
  wait_exit "$cal" $((MEDIA_S + 40))
  call_rc=$FT_EXIT_STATUS
  wait_exit "$ans" 15
  ans_rc=$FT_EXIT_STATUS
  lab_capture_stop "$cap"
  lab_capture_flow "$cap" a "$PATH_EXPECT" "$MIN_RTP" || cap_rc=$?
  tone "$FT_TMP/$cal.wav" "$CALLEE_HZ" "$CALLER_HZ" "$FT_TMP/$cal.tone.json"
  tone "$FT_TMP/$ans.wav" "$CALLER_HZ" "$CALLEE_HZ" "$FT_TMP/$ans.tone.json"
  record floe "$n" "$cap_rc" capture="$FT_TMP/$cap.call.json" \
    caller="$FT_TMP/$cal.json" caller_exit="$call_rc" callee="$FT_TMP/$ans.json" callee_exit="$ans_rc" \
    tone_caller="$FT_TMP/$cal.tone.json" tone_callee="$FT_TMP/$ans.tone.json"
}

# ---- one baresip call ----------------------------------------------------------------------
baresip_call() {
  local n=$1 cap=baresip-$1 cap_rc=0 s dec_a=() dec_b=()
  rm -f "$FT_TMP"/baresip-[ab]/rec/dump-*.wav
  lab_capture_start "$cap"
  lab_baresip_start b
  lab_baresip_start a
  lab_baresip_dial a "sip:bob@$LAB_SRV"
  # Established on both sides (10 s), then RTP in on both sides (baresip starts media
  # when its checks end: seconds), then --media seconds of audio; a call that fails on
  # the way is hung up and reported.
  if wait_event a CALL_ESTABLISHED 10 && wait_event b CALL_ESTABLISHED 10 &&
    wait_event a CALL_RTPESTAB 20 && wait_event b CALL_RTPESTAB 20; then
    sleep "$MEDIA_S"
  fi
  if ! grep -qF '"CALL_CLOSED"' "$(ft_log_of "$(lab_baresip_ctrl a)")"; then
    lab_baresip_hangup a
  fi
  wait_event a CALL_CLOSED 10 || true
  wait_event b CALL_CLOSED 10 || true
  for s in a b; do lab_baresip_stop "$s"; done
  lab_capture_stop "$cap"
  lab_capture_flow "$cap" a "$PATH_EXPECT" "$MIN_RTP" || cap_rc=$?
  # what each side received (decoded), kept apart per call
  for s in a b; do
    mkdir -p "$FT_TMP/$cap-$s.rec"
    mv "$FT_TMP"/baresip-$s/rec/dump-*.wav "$FT_TMP/$cap-$s.rec/" 2>/dev/null || true
  done
  shopt -s nullglob
  dec_a=("$FT_TMP/$cap-a.rec/"dump-*-dec.wav)
  dec_b=("$FT_TMP/$cap-b.rec/"dump-*-dec.wav)
  shopt -u nullglob
  # exactly one recording each (one call per baresip)
  [ "${#dec_a[@]}" = 1 ] || dec_a=()
  [ "${#dec_b[@]}" = 1 ] || dec_b=()
  tone "${dec_a[0]:-}" "$CALLEE_HZ" "$CALLER_HZ" "$FT_TMP/$cap-a.tone.json"
  tone "${dec_b[0]:-}" "$CALLER_HZ" "$CALLEE_HZ" "$FT_TMP/$cap-b.tone.json"
  record baresip "$n" "$cap_rc" capture="$FT_TMP/$cap.call.json" \
    caller_events="$(ft_log_of "$(lab_baresip_ctrl a)")" callee_events="$(ft_log_of "$(lab_baresip_ctrl b)")" \
    tone_caller="$FT_TMP/$cap-a.tone.json" tone_callee="$FT_TMP/$cap-b.tone.json" version="$BARESIP_VERSION"
}

say_call() { # say_call: one progress line for the last call recorded
  python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print("%s call %d: %s, INVITE->180 %s ms, 200->first RTP %s ms (caller %s, callee %s), audio %s%s" % (
    r["ua"], r["call"], "ok" if r["ok"] else "FAILED", r["invite_to_180_ms"], r["ok_to_first_rtp_ms"],
    r["ok_to_first_rtp_caller_ms"], r["ok_to_first_rtp_callee_ms"],
    "verified" if r["audio_verified"] else "NOT verified",
    "" if r["ok"] else ": " + "; ".join(r["errors"])))' "$CALLS_JSONL" >&2
}

for ((i = 1; i <= CALLS; i++)); do
  ft_say "call $i of $CALLS: floe -> floe"
  floe_call "$i"
  say_call
  ft_say "call $i of $CALLS: baresip -> baresip"
  baresip_call "$i"
  say_call
done

# ---- the summary -----------------------------------------------------------------------------
python3 - "$CALLS_JSONL" "$CALLS" "$NAT_A" "$NAT_B" "$TURN" "$MEDIA_S" "$("$FLOE" --version 2>/dev/null | head -n 1)" \
  "$BARESIP_VERSION" "$(kamailio -v 2>/dev/null | sed -n 's/^version: kamailio \([^ ]*\).*/\1/p')" \
  "$(nproc)" >&3 <<'PY'
import json, statistics, sys

path, calls, nat_a, nat_b, turn, media, floe_v, baresip_v, kam_v, cpus = sys.argv[1:]
recs = [json.loads(l) for l in open(path) if l.strip()]
METRICS = ["invite_to_180_ms", "ok_to_first_rtp_ms", "ok_to_first_rtp_caller_ms",
           "ok_to_first_rtp_callee_ms", "invite_to_200_ms", "invite_to_nomination_ms"]


def stats(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {"n": len(vals), "median": round(statistics.median(vals), 1), "min": min(vals), "max": max(vals)}


uas = {}
for ua in ("floe", "baresip"):
    rs = [r for r in recs if r["ua"] == ua]
    ok = [r for r in rs if r["ok"]]
    u = {"calls": len(rs), "calls_ok": len(ok), "audio_verified": sum(1 for r in rs if r["audio_verified"]),
         "media_paths": sorted({str(r["media_path"]) for r in rs})}
    for m in METRICS:
        u[m] = stats([r[m] for r in ok])  # only calls that worked are measured
    # the capture against the user agents' own view: the largest difference, in ms
    cross = {}
    for m, side, own in (("invite_to_180_ms", "caller", "invite_to_180_ms"),
                         ("ok_to_first_rtp_caller_ms", "caller", "ok_to_first_rtp_ms"),
                         ("ok_to_first_rtp_callee_ms", "callee", "ok_to_first_rtp_ms")):
        d = [abs(r[m] - r["ua_reported"][side][own]) for r in ok
             if r[m] is not None and (r["ua_reported"].get(side) or {}).get(own) is not None]
        if d:
            cross[m + "_max_diff"] = round(max(d), 1)
    u["capture_vs_ua_reported"] = cross
    uas[ua] = u


def ratio(m):
    f, b = uas["floe"][m]["median"], uas["baresip"][m]["median"]
    return float(f"{b / f:.3g}") if f and b is not None and f > 0 else None


floe_med = uas["floe"]["ok_to_first_rtp_ms"]["median"]
out = {
    "benchmark": "call",
    "calls_per_ua": int(calls),
    "nat": {"caller": nat_a, "callee": nat_b},
    "turn": turn == "1",
    "media_s": int(media),
    "cpus": int(cpus),
    "versions": {"floe": floe_v, "baresip": baresip_v, "kamailio": kam_v},
    "definitions": {
        "invite_to_180_ms": "INVITE leaving the caller's NAT -> first 180 reaching it (capture, public side of the NATs)",
        "ok_to_first_rtp_caller_ms": "200 OK reaching the caller's NAT -> first RTP reaching it",
        "ok_to_first_rtp_callee_ms": "200 OK leaving the callee's NAT -> first RTP reaching it",
        "ok_to_first_rtp_ms": "the later of the two: media flows both ways",
        "stats": "median/min/max over the calls that were ok",
        "capture_vs_ua_reported": "largest difference between the capture's figure and the user agent's own (floe: --json timeline in whole ms; baresip: its events)",
    },
    "uas": uas,
    "ratios": {"baresip/floe": {"ok_to_first_rtp_ms_median": ratio("ok_to_first_rtp_ms"),
                                "invite_to_180_ms_median": ratio("invite_to_180_ms")}},
    "goals": {"floe_200_to_rtp_ms_median_under_20": (floe_med < 20) if floe_med is not None else None},
    "all_ok": all(r["ok"] and r["audio_verified"] for r in recs) and len(recs) == 2 * int(calls),
    "calls": recs,
}
print(json.dumps(out))
PY
ft_say "done"
