#!/usr/bin/env bash
# ICE connection time on loopback: floe<->floe against libnice<->libnice, measured in one
# run on the same machine; with the idle memory of one agent (floe and libnice) and, when
# this floe has `floe sim matrix`, simulated scenarios per minute. Prints one JSON object
# on stdout; progress goes to stderr. See bench/README.md for what the numbers mean.
#
#   bench/ice-connect.sh                 # 50 pairs of each
#   bench/ice-connect.sh --runs 200
#   FLOE=/path/to/floe NICE_ICE_PEER=/path/to/nice_ice_peer bench/ice-connect.sh
#
# The measured figure is the controlling peer's own interval from reading the remote SDP
# to its selected pair (selected_pair_ms - remote_sdp_read_ms in its --json line). The
# controlled peer has read the controlling peer's SDP before the controlling peer is given
# its own (it is the answerer: it has the offer first), so the interval never contains the
# other side's file polling.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=50
TA_MS=""
PEER_TIMEOUT_S=10  # every peer gives up after this (its own --timeout)
KILL_AFTER_S=15    # and timeout(1) stops it after this, whatever it does
GATE_WAIT_S=10     # how long the controlled peer may take to read the offer
NICE_MEM_AGENTS=200
FLOE_MEM_AGENTS=1000
SIM_TIMEOUT_S=600
HOST=127.0.0.1 # loopback only, always: both peers gather with --loopback --ipv4

usage() {
    cat <<'EOF'
usage: bench/ice-connect.sh [--runs N] [--ta MS] [--no-sim] [--help]

Runs N floe<->floe and N libnice<->libnice ICE pairs on 127.0.0.1 (interleaved), each
peer in its own process, and reports the controlling peer's time from reading the remote
SDP to the selected pair: p50, p95, min, max, mean per implementation and the ratios.
Then the idle memory of one agent with 10 local and 10 remote candidates (floe and
libnice), and `floe sim matrix --json` scenarios per minute when that command exists.
One JSON document on stdout, progress on stderr.

  --runs N    pairs per implementation (default 50, 1..1000)
  --ta MS     pass --ta MS (check pacing, RFC 8445 section 14.2) to every peer; by
              default each implementation keeps its own default Ta
  --no-sim    skip the simulator measurement
  -h, --help  this text

environment:
  FLOE           a floe binary (default: build/release/bin/floe, built with the
                 release preset)
  NICE_ICE_PEER  the libnice peer (default: build/release/tests/nice_ice_peer)
EOF
}

log() { printf 'ice-connect.sh: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

SIM=true
while (($#)); do
    case $1 in
    --runs)
        (($# >= 2)) || die "--runs needs a number"
        RUNS=$2
        shift 2
        ;;
    --ta)
        (($# >= 2)) || die "--ta needs milliseconds"
        TA_MS=$2
        shift 2
        ;;
    --no-sim)
        SIM=false
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
case $RUNS in
'' | *[!0-9]*) die "--runs must be a whole number (got '$RUNS')" ;;
esac
((RUNS >= 1 && RUNS <= 1000)) || die "--runs must be 1..1000"
if [[ -n $TA_MS ]]; then
    case $TA_MS in
    '' | *[!0-9]*) die "--ta must be a whole number of milliseconds (got '$TA_MS')" ;;
    esac
    ((TA_MS >= 5 && TA_MS <= 1000)) || die "--ta must be 5..1000 (RFC 8445: Ta >= 5 ms)"
fi
command -v python3 >/dev/null || die "python3 is needed (scripts/install-deps.sh installs it)"

# ---- what we run: floe, the libnice peer, the libnice memory probe ------------------------
BUILD=$ROOT/build/release
if [[ -n ${FLOE:-} ]]; then
    [[ -x $FLOE ]] || die "FLOE=$FLOE is not an executable"
else
    FLOE=$BUILD/bin/floe
fi
NICE=${NICE_ICE_PEER:-$BUILD/tests/nice_ice_peer}
NICE_ERROR=""
if [[ -z ${NICE_ICE_PEER:-} || $FLOE == "$BUILD/bin/floe" ]]; then
    targets=()
    [[ $FLOE == "$BUILD/bin/floe" ]] && targets+=(floe)
    if [[ -z ${NICE_ICE_PEER:-} ]]; then
        if pkg-config --exists nice 2>/dev/null; then
            targets+=(nice_ice_peer)
        else
            NICE_ERROR="libnice is not installed (pkg-config module 'nice'; scripts/install-deps.sh installs libnice-dev)"
        fi
    fi
    if ((${#targets[@]})); then
        log "building ${targets[*]} (release preset, $BUILD)"
        (cd "$ROOT" && cmake --preset release >/dev/null &&
            cmake --build --preset release --target "${targets[@]}") >&2 || die "build failed"
    fi
fi
[[ -x $FLOE ]] || die "no floe binary at $FLOE"
"$FLOE" ice --help >/dev/null 2>&1 || die "$FLOE has no 'ice' command"
if [[ -z $NICE_ERROR && ! -x $NICE ]]; then
    NICE_ERROR="no libnice peer at $NICE"
fi

# The libnice memory probe (bench/nice_ice_memory.c): small, built here with pkg-config.
NICE_MEM=$BUILD/bench/nice_ice_memory
NICE_MEM_ERROR=""
if ! pkg-config --exists nice 2>/dev/null; then
    NICE_MEM_ERROR="libnice is not installed (pkg-config module 'nice')"
elif [[ ! -x $NICE_MEM || $ROOT/bench/nice_ice_memory.c -nt $NICE_MEM ]]; then
    mkdir -p "$BUILD/bench"
    # shellcheck disable=SC2046 # pkg-config prints several words on purpose
    if ! "${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$NICE_MEM" \
        "$ROOT/bench/nice_ice_memory.c" $(pkg-config --cflags --libs nice) >&2; then
        NICE_MEM_ERROR="bench/nice_ice_memory.c did not build"
    fi
fi

# ---- CPUs: the controlling (measured) peer on 0, the controlled one on 1 -------------------
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if ((CPUS >= 2)) && command -v taskset >/dev/null; then
    PINNED=true
    PIN_A=(taskset -c 0)
    PIN_B=(taskset -c 1)
    NOTE="controlling peer pinned to CPU 0, controlled peer to CPU 1"
else
    PINNED=false
    PIN_A=()
    PIN_B=()
    if ((CPUS < 2)); then
        NOTE="only $CPUS CPU: both peers share it, unpinned; not comparable with pinned runs"
    else
        NOTE="taskset missing: unpinned run; not comparable with pinned runs"
    fi
    log "$NOTE"
fi

# ---- processes we start, and their cleanup ------------------------------------------------
# shellcheck source-path=SCRIPTDIR source=lib.bash
. "$(dirname "$0")/lib.bash"
STOP_WAIT_S=3 # read by stop_pid (lib.bash)
export STOP_WAIT_S
bench_start_tmp floe-ice-bench # $TMP, STARTED: the peers (each a timeout(1) around one)

peer_cmd() { # peer_cmd KIND: the peer command into PEER
    case $1 in
    floe) PEER=("$FLOE" ice) ;;
    libnice) PEER=("$NICE") ;;
    esac
}

# run_pair KIND I: one pair; appends the controlling peer's figures (a JSON line with "run"
# and "ms", or "error") to $TMP/KIND.jsonl and prints them in words on stdout.
#
#   1. the controlled peer B starts: gathers, writes b.sdp, waits for a.sdp;
#   2. the controlling peer A starts with --remote-sdp gate.sdp, a file that does not
#      exist yet: it gathers, writes a.sdp and waits;
#   3. B reads a.sdp (its stderr says "read the remote SDP"), starts its checks;
#   4. only then gate.sdp appears (a hard link to b.sdp, atomic): A reads it on its next
#      look and from that moment measures until its selected pair.
run_pair() {
    local kind=$1 i=$2 d=$TMP/$1-$2 pa pb rc_a=0 rc_b=0 k why=""
    mkdir -p "$d"
    peer_cmd "$kind"
    local common=(--loopback --ipv4 --timeout "$PEER_TIMEOUT_S" --json)
    [[ -n $TA_MS ]] && common+=(--ta "$TA_MS")
    timeout -k 2 "$KILL_AFTER_S" "${PIN_B[@]}" "${PEER[@]}" --role controlled \
        --local-sdp "$d/b.sdp" --remote-sdp "$d/a.sdp" "${common[@]}" \
        >"$d/b.json" 2>"$d/b.err" &
    pb=$!
    STARTED+=("$pb")
    timeout -k 2 "$KILL_AFTER_S" "${PIN_A[@]}" "${PEER[@]}" --role controlling \
        --local-sdp "$d/a.sdp" --remote-sdp "$d/gate.sdp" "${common[@]}" \
        >"$d/a.json" 2>"$d/a.err" &
    pa=$!
    STARTED+=("$pa")
    for ((k = 0; k < GATE_WAIT_S * 200; k++)); do
        grep -q 'read the remote SDP' "$d/b.err" 2>/dev/null && break
        kill -0 "$pb" 2>/dev/null || break
        sleep 0.005
    done
    if grep -q 'read the remote SDP' "$d/b.err" 2>/dev/null && [[ -s $d/b.sdp ]]; then
        ln "$d/b.sdp" "$d/gate.sdp"
    else
        why="the controlled peer did not read the offer within ${GATE_WAIT_S} s"
    fi
    wait "$pa" || rc_a=$?
    wait "$pb" || rc_b=$?
    STARTED=()
    if [[ -z $why && $rc_a != 0 ]]; then
        why="the controlling peer exited $rc_a: $(grep -v '\] ' "$d/a.err" | tail -n1 || true)"
    elif [[ -z $why && $rc_b != 0 ]]; then
        why="the controlled peer exited $rc_b: $(grep -v '\] ' "$d/b.err" | tail -n1 || true)"
    fi
    python3 - "$d" "$kind" "$i" "$why" "$TMP/$kind.jsonl" <<'PY'
import json, re, sys
d, kind, run, why, jsonl = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
out = {"run": run}
try:
    a = json.loads(open(f"{d}/a.json").read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    a = None
if a is None:
    why = why or "the controlling peer printed no JSON"
else:
    sel = a.get("selected") or []
    if not why and a.get("state") != "ready":
        why = a.get("error") or "state " + str(a.get("state"))
    if not why and a.get("role") != "controlling":
        why = "role " + str(a.get("role"))
    if not why and not (sel and all(s["local"]["addr"].startswith("127.0.0.1:") and
                                    s["remote"]["addr"].startswith("127.0.0.1:") for s in sel)):
        why = "the selected pair is not 127.0.0.1 <-> 127.0.0.1: " + json.dumps(sel)
    if not why:
        out["ms"] = round(a["selected_pair_ms"] - a["remote_sdp_read_ms"], 3)
        out["checks_sent"] = a.get("checks_sent")
        # The progress lines (0.1 ms stamps) say when the first pair succeeded: floe
        # "pair N (component 1): succeeded", libnice "component 1: connected".
        first = None
        pat = re.compile(r"\[\s*([0-9.]+) ms\] (pair \d+ \(component \d\): succeeded|component 1: connected)")
        for line in open(f"{d}/a.err", errors="replace"):
            m = pat.search(line)
            if m:
                first = float(m.group(1))
                break
        if first is not None and first >= a["remote_sdp_read_ms"] - 0.1:
            out["first_valid_ms"] = round(max(first - a["remote_sdp_read_ms"], 0.0), 3)
if why:
    out["error"] = why[:300]
with open(jsonl, "a") as f:
    f.write(json.dumps(out) + "\n")
print(f"{out['ms']:.3f} ms" if "ms" in out else "failed: " + out["error"])
PY
    rm -rf "$d"
}

ta_default() { # the Ta each implementation uses without --ta
    case $1 in
    floe) echo 50 ;;    # FLOE_ICE_TA_DEFAULT, include/floe/ice.h (RFC 8445 §14.2)
    libnice) echo 20 ;; # libnice's "stun-pacing-timer" default
    esac
}

# ---- 1. connection time ------------------------------------------------------------------
KINDS=(floe)
if [[ -z $NICE_ERROR ]]; then
    KINDS+=(libnice)
    NICE_VERSION=$(pkg-config --modversion nice 2>/dev/null || echo unknown)
else
    log "libnice: $NICE_ERROR"
    NICE_VERSION=""
fi
: >"$TMP/floe.jsonl"
: >"$TMP/libnice.jsonl"
log "$RUNS pairs per implementation (${KINDS[*]}) on $HOST; $NOTE"
for ((i = 1; i <= RUNS; i++)); do
    order=("${KINDS[@]}")
    if ((i % 2 == 0 && ${#KINDS[@]} == 2)); then order=(libnice floe); fi # no one always first
    for kind in "${order[@]}"; do
        run_pair "$kind" "$i" >"$TMP/last"
        log "$kind $i/$RUNS: $(<"$TMP/last")"
    done
done

# ---- 2. idle memory per agent -------------------------------------------------------------
log "memory: floe bench ice-memory (10 local, 10 remote candidates)"
FLOE_MEM_JSON=$(timeout 120 "$FLOE" bench ice-memory --json --agents "$FLOE_MEM_AGENTS" \
    --local 10 --remote 10 2>"$TMP/floe-mem.err") || FLOE_MEM_JSON=""
[[ -n $FLOE_MEM_JSON ]] || FLOE_MEM_JSON="{\"error\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' \
    "floe bench ice-memory failed: $(tail -n1 "$TMP/floe-mem.err")")}"
# "An agent with 10 candidates" read as 5 local + 5 remote (a typical call: host IPv4 and
# IPv6, server-reflexive, relayed on each side) with the 25 pairs they form.
log "memory: floe bench ice-memory (5 local, 5 remote candidates)"
FLOE_MEM5_JSON=$(timeout 120 "$FLOE" bench ice-memory --json --agents "$FLOE_MEM_AGENTS" \
    --local 5 --remote 5 2>"$TMP/floe-mem5.err") || FLOE_MEM5_JSON='{"error":"floe bench ice-memory --local 5 --remote 5 failed"}'
if [[ -z $NICE_MEM_ERROR ]]; then
    log "memory: nice_ice_memory (10 local, 10 remote candidates, $NICE_MEM_AGENTS agents)"
    NICE_MEM_JSON=$(timeout 120 "$NICE_MEM" --agents "$NICE_MEM_AGENTS" --local 10 --remote 10 \
        2>"$TMP/nice-mem.err") || NICE_MEM_JSON=""
    [[ -n $NICE_MEM_JSON ]] || NICE_MEM_ERROR="nice_ice_memory failed: $(tail -n1 "$TMP/nice-mem.err")"
fi
if [[ -n $NICE_MEM_ERROR ]]; then
    NICE_MEM_JSON="{\"error\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$NICE_MEM_ERROR")}"
fi

# ---- 3. simulated scenarios per minute ----------------------------------------------------
SIM_STATE=skipped
if $SIM; then
    if "$FLOE" sim matrix --help >/dev/null 2>&1; then
        SIM_STATE=run
        log "simulator: floe sim matrix --json (at most $SIM_TIMEOUT_S s)"
    else
        SIM_STATE=missing
        log "simulator: this floe has no 'floe sim matrix': not measured"
    fi
fi

python3 - "$TMP" "$RUNS" "$CPUS" "$PINNED" "$NOTE" "$(uname -r)" "$FLOE" "$SIM_STATE" \
    "$SIM_TIMEOUT_S" "$TA_MS" "$(ta_default floe)" "$(ta_default libnice)" "$NICE_VERSION" \
    "$NICE_ERROR" "$FLOE_MEM_JSON" "$NICE_MEM_JSON" "$FLOE_MEM5_JSON" <<'PY'
import json, math, os, resource, subprocess, sys, time

(tmp, runs, cpus, pinned, note, kernel, floe, sim_state, sim_timeout, ta, ta_floe, ta_nice,
 nice_version, nice_error, floe_mem, nice_mem, floe_mem5) = sys.argv[1:18]
runs, cpus, sim_timeout = int(runs), int(cpus), float(sim_timeout)

def pct(sorted_xs, p):
    """Nearest-rank percentile: the smallest sample with at least p % of them at or below."""
    k = max(1, math.ceil(p / 100 * len(sorted_xs)))
    return sorted_xs[k - 1]

def summary(kind):
    rows = [json.loads(l) for l in open(f"{tmp}/{kind}.jsonl") if l.strip()]
    ok = [r for r in rows if "ms" in r]
    res = {"ok": len(ok), "failed": len(rows) - len(ok),
           "ta_ms": int(ta) if ta else int(ta_floe if kind == "floe" else ta_nice),
           "ta_source": "--ta" if ta else "default"}
    if kind == "libnice":
        res["version"] = nice_version
    errors = [r["error"] for r in rows if "error" in r]
    if errors:
        res["errors"] = errors[:3]
    if not ok:
        return res
    xs = sorted(r["ms"] for r in ok)
    res.update({"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "min_ms": xs[0], "max_ms": xs[-1],
                "mean_ms": round(sum(xs) / len(xs), 3)})
    fv = sorted(r["first_valid_ms"] for r in ok if r.get("first_valid_ms") is not None)
    if fv:
        # From reading the SDP to the first succeeded pair, and from there to the selection
        # (the nomination), both at the 0.1 ms resolution of the progress lines.
        nom = sorted(r["ms"] - r["first_valid_ms"] for r in ok if r.get("first_valid_ms") is not None)
        res["first_valid_pair_p50_ms"] = pct(fv, 50)
        res["valid_to_selected_p50_ms"] = round(pct(nom, 50), 3)
    cs = sorted(r["checks_sent"] for r in ok if isinstance(r.get("checks_sent"), (int, float)))
    if cs:
        res["checks_sent_p50"] = pct(cs, 50)
    res["samples_ms"] = [r["ms"] for r in ok]
    return res

def ratio(a, b):
    return None if a is None or not b else round(a / b, 4)

connect = {"floe": summary("floe")}
if nice_error:
    connect["libnice"] = {"error": nice_error}
else:
    connect["libnice"] = summary("libnice")
f, n = connect["floe"], connect["libnice"]
ratios = {"floe/libnice": {k: ratio(f.get(k + "_ms"), n.get(k + "_ms"))
                           for k in ("p50", "p95", "min", "max", "mean")}}

def parse_obj(text, who):
    try:
        j = json.loads(text)
        if isinstance(j, dict):
            return j
    except ValueError:
        pass
    return {"error": f"{who} printed no JSON object: {text[:200]}"}

mem = {"floe": parse_obj(floe_mem, "floe bench ice-memory"),
       "libnice": parse_obj(nice_mem, "nice_ice_memory"),
       "floe_5_local_5_remote": parse_obj(floe_mem5, "floe bench ice-memory --local 5 --remote 5")}
fm = mem["floe"].get("heap_bytes_per_agent")
nm = mem["libnice"].get("heap_bytes_per_agent")
mem["ratio_floe/libnice"] = ratio(fm, nm)

def count_scenarios(j):
    """The number of simulated scenarios in `floe sim matrix --json` output."""
    if isinstance(j, list):
        return len(j)
    for key in ("cells", "scenarios", "results", "runs"):
        v = j.get(key)
        if isinstance(v, list):
            return len(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    for key in ("total", "n_cells", "count"):
        v = j.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None

sim = {"command": "floe sim matrix --json"}
if sim_state == "skipped":
    sim["error"] = "skipped (--no-sim)"
elif sim_state == "missing":
    sim["error"] = "this floe binary has no 'floe sim matrix' command"
else:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run([floe, "sim", "matrix", "--json"], capture_output=True, text=True,
                           timeout=sim_timeout)
        wall = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        doc = None
        out = p.stdout.strip()
        try:
            doc = json.loads(out)
        except ValueError:
            lines = [l for l in out.splitlines() if l.strip()]
            try:
                doc = json.loads(lines[-1]) if lines else None
            except ValueError:
                doc = None
        count = count_scenarios(doc) if doc is not None else None
        sim.update({"exit_status": p.returncode, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
        if count is None:
            sim["error"] = "could not find the number of scenarios in its output"
            sim["output_head"] = out[:300]
        else:
            sim["scenarios"] = count
            sim["scenarios_per_minute"] = round(count / wall * 60, 1) if wall > 0 else None
            sim["scenarios_per_cpu_minute"] = round(count / cpu * 60, 1) if cpu > 0 else None
        if isinstance(doc, dict):
            for key in ("passed", "failed", "pass", "fail"):
                if isinstance(doc.get(key), int):
                    sim[key] = doc[key]
        if p.returncode != 0:
            sim["stderr_tail"] = p.stderr.strip().splitlines()[-1:] if p.stderr.strip() else []
    except subprocess.TimeoutExpired:
        sim["error"] = f"did not finish within {sim_timeout:g} s"

goals = {
    "connect_p50_ms_below_1": (f["p50_ms"] < 1.0) if "p50_ms" in f else None,
    # 10 candidates in the agent: 5 local + 5 remote (10 local + 10 remote is reported too).
    "idle_agent_bytes_at_most_4096": (mem["floe_5_local_5_remote"]["agent_memory_bytes"] <= 4096)
    if "agent_memory_bytes" in mem["floe_5_local_5_remote"] else None,
    "scenarios_per_minute_at_least_1000": (sim["scenarios_per_minute"] >= 1000)
    if sim.get("scenarios_per_minute") is not None else None,
}

doc = {
    "benchmark": "ice-connect", "host": "127.0.0.1", "runs": runs, "cpus": cpus,
    "pinned": pinned == "true", "note": note, "kernel": kernel,
    "measure": "controlling peer: selected_pair_ms - remote_sdp_read_ms; the controlled "
               "peer had read the controlling peer's SDP first",
    "connect": connect, "ratios": ratios, "memory": mem, "sim": sim, "goals": goals,
}
print(json.dumps(doc))
PY
