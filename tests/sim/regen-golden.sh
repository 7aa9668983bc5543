#!/usr/bin/env bash
# Rewrites tests/sim/golden/NAME.txt from tests/sim/scenarios/NAME.sim:
#     tests/sim/regen-golden.sh [path/to/floe]     (default: build/dev/bin/floe)
# Only after a change in behaviour or output that is meant: review `git diff
# tests/sim/golden` before committing. A scenario whose expectations fail is not written.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
floe=${1:-$here/../../build/dev/bin/floe}
[ -x "$floe" ] || { echo "regen-golden: no floe at $floe (build it, or pass its path)" >&2; exit 2; }
mkdir -p "$here/golden"
status=0
for sc in "$here"/scenarios/*.sim; do
  name=$(basename "$sc" .sim)
  tmp=$(mktemp)
  if "$floe" sim run --trace --timeline "$sc" >"$tmp"; then
    mv "$tmp" "$here/golden/$name.txt"
    echo "regen-golden: golden/$name.txt ($(wc -l <"$here/golden/$name.txt") lines)"
  else
    rm -f "$tmp"
    echo "regen-golden: $name: the run failed or an expectation does not hold; not written" >&2
    status=1
  fi
done
exit $status
