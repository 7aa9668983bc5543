#!/usr/bin/env bash
# Golden traces: every tests/sim/scenarios/NAME.sim is run with
#     floe sim run --trace --timeline NAME.sim
# and its output must equal tests/sim/golden/NAME.txt byte for byte, and the run must
# exit 0 (every expect line of the scenario holds). A run depends only on the scenario
# and its seed, so any difference is a change in behaviour: in the agent, the simulator,
# or the output format. When the change is intended, regenerate the files with
#     tests/sim/regen-golden.sh [path/to/floe]
# and review the diff before committing it.
set -euo pipefail
. "$FLOE_SRC/tests/lib/common.bash"

dir=$FLOE_SRC/tests/sim
shopt -s nullglob
scenarios=("$dir"/scenarios/*.sim)
[ ${#scenarios[@]} -gt 0 ] || ft_fail "no scenario in $dir/scenarios"
for sc in "${scenarios[@]}"; do
  name=$(basename "$sc" .sim)
  golden=$dir/golden/$name.txt
  ft_check "$name: floe sim run --trace --timeline matches golden/$name.txt"
  [ -f "$golden" ] || ft_fail "no golden file $golden (run tests/sim/regen-golden.sh)"
  rc=0
  "$FLOE" sim run --trace --timeline "$sc" >"$FT_TMP/$name.txt" 2>"$FT_TMP/$name.err" || rc=$?
  if ! diff -u "$golden" "$FT_TMP/$name.txt" >"$FT_TMP/$name.diff"; then
    head -n 60 "$FT_TMP/$name.diff" >&2
    ft_fail "$name: the output differs from $golden (first 60 diff lines above). If the" \
      "change is intended, regenerate with tests/sim/regen-golden.sh and review the diff."
  fi
  [ "$rc" -eq 0 ] || ft_fail "$name: floe sim run exited $rc: $(cat "$FT_TMP/$name.err")"
  ft_ok "$name: $(wc -l <"$golden") lines identical, expectations hold"
done

# The same run twice, and under another build, gives the same bytes; here at least twice.
sc=${scenarios[0]}
"$FLOE" sim run --trace --timeline "$sc" >"$FT_TMP/again.txt" 2>/dev/null || true
cmp -s "$FT_TMP/again.txt" "$FT_TMP/$(basename "$sc" .sim).txt" ||
  ft_fail "two runs of $(basename "$sc") differ"
ft_ok "a second run gives the same bytes"
ft_say "PASS"
