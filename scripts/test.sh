#!/usr/bin/env bash
# The whole floe test suite, from a fresh Debian 12 machine (as root):
#   1. install every package (scripts/install-deps.sh)
#   2. build and run every test (unit, vectors, system, interop with coturn/tshark) in the
#      dev preset, then again under ASan+UBSan
#   3. build the libFuzzer targets and run each for FLOE_FUZZ_SECONDS (default 60)
# Exit status is non-zero if anything fails. Output ends with one summary line counting
# every ctest test of both presets and every fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FLOE_FUZZ_SECONDS:-60}
jobs=${FLOE_JOBS:-2}
log() { printf '\n==> %s\n' "$*"; }

log "installing packages"
bash scripts/install-deps.sh

log "clang-format check"
fmt_out=$(find include src rt apps tests bench -name '*.[ch]' -print0 2>/dev/null |
          xargs -0 -r clang-format --dry-run -Werror 2>&1 || true)
if [ -n "$fmt_out" ]; then
  echo "$fmt_out" | grep 'error:' | cut -d: -f1 | sort | uniq -c >&2
  echo "clang-format: the files above are not formatted (run clang-format -i on them)" >&2
  exit 1
fi

passed=0
failed=0
run_suite() {
  local preset=$1
  log "build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  log "tests ($preset)"
  local out rc
  out=$(mktemp)
  set +e
  ctest --preset "$preset" -j1 --timeout 600 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  # "100% tests passed, 0 tests failed out of 14"
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1 || true)
  # A skipped test proves nothing: in CI every prerequisite is installed, so a skip fails.
  local skipped
  skipped=$(grep -cE '\(Skipped\)' "$out" || true)
  rm -f "$out"
  if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
    echo "ctest ($preset): $skipped tests skipped in CI, counted as failures" >&2
    failed=$((failed + skipped))
  fi
  if [ -z "$line" ]; then
    echo "ctest ($preset) ran no test or did not finish" >&2
    failed=$((failed + 1))
    return 0
  fi
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  bad=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); fi
}

run_suite dev
run_suite asan

log "fuzz (${fuzz_seconds}s per target)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"
for fz in build/fuzz/fuzz/fuzz_*; do
  name=$(basename "$fz")
  work=$(mktemp -d)
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -r "tests/fuzz/corpus/$name/." "$work/"; fi
  echo "-- $name"
  if "$fz" -max_total_time="$fuzz_seconds" -print_final_stats=1 -artifact_prefix="$work/" \
        "$work" >"$work/log" 2>&1; then
    grep -E 'stat::number_of_executed_units' "$work/log" || true
    passed=$((passed + 1))
  else
    tail -n 40 "$work/log" >&2
    echo "fuzzer $name found a problem" >&2
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done

echo
echo "tests and fuzzers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
