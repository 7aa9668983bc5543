#!/usr/bin/env bash
# Smoke run of the call benchmark, bench/call.sh, so that it does not rot: one call of
# each user agent (floe call -> floe answer, baresip -> baresip) through kamailio and two
# cone NATs in the namespace lab (docs/lab.md). Nothing is asserted on the times; checked
# is that the benchmark runs to the end and its JSON is complete:
#   - exit status 0 and one JSON object on stdout;
#   - for each user agent: 1 call, ok (both user agents said so and the capture in the
#     public namespace shows the whole flow: registrations, INVITE/200/ACK with ICE
#     candidates, STUN, checks, a nomination, RTP both ways directly between the NATs,
#     BYE), its audio verified (each side heard the other's tone);
#   - every metric has a value (median, min, max) for both user agents, and the per-call
#     records carry the user agents' own view (floe's --json timeline, baresip's events);
#   - the goal and the ratios are reported (whatever their values).
# The benchmark creates and removes its own namespaces (floe-*-PID) and stops only the
# processes it started; its work directory goes into this test's.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"
# shellcheck source=../lib/call_lab.bash
. "$FLOE_SRC/tests/lib/call_lab.bash"

lab_need baresip kamailio
ft_need_file "$LAB_BARESIP_MODULES/ice.so" "baresip's ice module (package baresip-core)"

start=$SECONDS
ft_check "bench/call.sh --calls 1 runs to the end"
rc=0
TMPDIR=$FT_TMP FLOE_KEEP_TMP=1 FLOE="$FLOE" timeout -k 5 150 \
  "$FLOE_SRC/bench/call.sh" --calls 1 --media 2 >"$FT_TMP/bench.json" 2>"$FT_TMP/bench.err" || rc=$?
[ "$rc" = 0 ] || ft_fail "bench/call.sh exited $rc: $(tail -n 40 "$FT_TMP/bench.err")"
grep -v '^\[bench-call\]   ok' "$FT_TMP/bench.err" | tail -n 12
ft_expect_eq "$(wc -l <"$FT_TMP/bench.json")" 1 "lines on stdout"
J=$FT_TMP/bench.json
ft_expect_eq "$(ft_json "$J" 'j["benchmark"], j["calls_per_ua"], len(j["calls"])')" "('call', 1, 2)" \
  "benchmark, calls per user agent, calls recorded"

for ua in floe baresip; do
  ft_check "$ua: the call worked, audio verified, every metric measured"
  ft_expect_eq "$(ft_json "$J" "[(c['ok'], c['errors'], c['audio_verified'], c['media_path']) for c in j['calls'] if c['ua'] == '$ua']")" \
    "[(True, [], True, 'direct')]" "$ua call: ok, errors, audio verified, media path"
  ft_expect_eq "$(ft_json "$J" "j['uas']['$ua']['calls'], j['uas']['$ua']['calls_ok'], j['uas']['$ua']['audio_verified']")" \
    "(1, 1, 1)" "$ua: calls, ok, audio verified"
  ft_expect_eq "$(ft_json "$J" "[m for m in ('invite_to_180_ms', 'ok_to_first_rtp_ms', 'ok_to_first_rtp_caller_ms', 'ok_to_first_rtp_callee_ms', 'invite_to_200_ms', 'invite_to_nomination_ms') if j['uas']['$ua'][m]['n'] != 1 or None in (j['uas']['$ua'][m]['median'], j['uas']['$ua'][m]['min'], j['uas']['$ua'][m]['max'])]")" \
    "[]" "$ua: metrics without a value"
  ft_expect_eq "$(ft_json "$J" "[(c['audio']['caller_heard']['check']['dominant_hz'], c['audio']['callee_heard']['check']['dominant_hz']) for c in j['calls'] if c['ua'] == '$ua']")" \
    "[(1000, 440)]" "$ua: the caller heard 1000 Hz, the callee 440 Hz"
done

ft_check "the user agents' own view of the calls is reported next to the capture's"
ft_expect_eq "$(ft_json "$J" "[c for c in j['calls'] if c['ua'] == 'floe'][0]['ua_reported']['caller']['timeline_ms']['180'] is not None")" \
  true "floe call's own 180 in the record"
ft_expect_eq "$(ft_json "$J" "all(c['ua_reported'][s]['ok_to_first_rtp_ms'] is not None for c in j['calls'] for s in ('caller', 'callee'))")" \
  true "both user agents' own 200 OK -> first RTP"

ft_check "the goal and the ratios are reported"
ft_expect_eq "$(ft_json "$J" "type(j['goals']['floe_200_to_rtp_ms_median_under_20']).__name__")" bool "goal reported"
ft_expect_eq "$(ft_json "$J" "sorted(j['ratios']['baresip/floe'])")" \
  "['invite_to_180_ms_median', 'ok_to_first_rtp_ms_median']" "ratios reported"
ft_expect_eq "$(ft_json "$J" 'j["all_ok"]')" true "all_ok"
ft_say "floe: INVITE->180 $(ft_json "$J" 'j["uas"]["floe"]["invite_to_180_ms"]["median"]') ms, 200->RTP $(ft_json "$J" 'j["uas"]["floe"]["ok_to_first_rtp_ms"]["median"]') ms; baresip: $(ft_json "$J" 'j["uas"]["baresip"]["invite_to_180_ms"]["median"]') ms, $(ft_json "$J" 'j["uas"]["baresip"]["ok_to_first_rtp_ms"]["median"]') ms (not asserted)"
ft_say "PASS in $((SECONDS - start)) s"
