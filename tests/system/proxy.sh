#!/usr/bin/env bash
# System: `floe proxy`, the stateless SIP proxy and registrar, on loopback.
#
#   a. floe answer registers sip:bob@127.0.0.1 with the proxy (domain 127.0.0.1), and
#      floe call reaches sip:bob@127.0.0.1 through it: both exit 0, the proxy logged
#      the registration and the forwarded INVITE, 440 Hz arrives at bob and 1000 Hz at
#      the caller;
#   b. a call to a user nobody registered fails (exit 1) and the proxy answers it 404;
#   c. a malformed datagram and an empty one are dropped and counted, the proxy keeps
#      serving (an OPTIONS afterwards is still forwarded or answered);
#   d. stopped by its PID with SIGTERM: exit 0, the counters on stderr and, with --stats,
#      as JSON on stdout (registered 1, not_found 2, drop_malformed 2, ...);
#   e. usage errors exit 2 with a message.
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd python3 ss
ft_need_file "$FLOE" "the floe binary"
TONE="$FLOE_SRC/tests/lib/tone_check.py"
DOMAIN=127.0.0.1 # the domain is the proxy's own address, as in the lab

# ---- e. usage errors ------------------------------------------------------------------

ft_check "usage errors exit 2 with a message"
ft_expect_usage "missing --listen" proxy --domain x
ft_expect_usage "missing --domain" proxy --listen 127.0.0.1:5060
ft_expect_usage "bad --listen" proxy --listen 127.0.0.1 --domain x
ft_expect_usage "not a wildcard" proxy --listen 0.0.0.0:5060 --domain x
ft_expect_usage "bad --max-bindings" proxy --listen 127.0.0.1:5060 --domain x --max-bindings 0
ft_expect_usage "unknown option" proxy --listen 127.0.0.1:5060 --domain x --nope
"$FLOE" proxy --help | grep -q "usage: floe proxy" || ft_fail "floe proxy --help"
"$FLOE" --help | grep -qE '^  proxy ' || ft_fail "floe --help does not list proxy"

# ---- a. registration and a call through the proxy --------------------------------------

read -r PROXY BOB <<<"$(ft_free_ports 2 127.0.0.1)"
ft_say "floe proxy on 127.0.0.1:$PROXY (domain $DOMAIN), bob on 127.0.0.1:$BOB"
ft_start_split proxy "$FT_TMP/proxy.json" "$FLOE" proxy --listen "127.0.0.1:$PROXY" \
  --domain "$DOMAIN" --stats
ft_wait_listen udp 127.0.0.1 "$PROXY" "$(ft_pid proxy)"

ft_check "floe answer registers with the proxy"
ft_start_split answer "$FT_TMP/answer.json" "$FLOE" answer --listen "127.0.0.1:$BOB" --loopback \
  --register sip:bob@127.0.0.1 --proxy "127.0.0.1:$PROXY" --once --tone 1000 \
  --record "$FT_TMP/b.wav" --json --timeout 40
ft_wait_log answer "registered as bob@127.0.0.1" 10
ft_wait_log proxy "REGISTER .*sip:bob@127.0.0.1.* registered \\(1 binding\\)" 5
ft_ok "bob registered: $(grep -m1 'REGISTER' "$(ft_log_of proxy)")"

ft_check "floe call reaches sip:bob@$DOMAIN through the proxy, tones both ways"
ft_start_split call "$FT_TMP/call.json" "$FLOE" call --loopback --proxy "127.0.0.1:$PROXY" \
  --tone 440 --record "$FT_TMP/a.wav" --duration 2 --json "sip:bob@$DOMAIN"
ft_wait_exit call 30
CALL_RC=$FT_EXIT_STATUS
ft_wait_exit answer 15
ANSWER_RC=$FT_EXIT_STATUS
[ "$CALL_RC" = 0 ] || ft_fail "floe call exited $CALL_RC: $(cat "$FT_TMP/call.json")"
[ "$ANSWER_RC" = 0 ] || ft_fail "floe answer exited $ANSWER_RC: $(cat "$FT_TMP/answer.json")"
ft_expect_eq "$(ft_json "$FT_TMP/call.json" 'j["ok"] and j["ice"] and j["packets_received"] > 50')" true "caller ok, ICE, media received"
ft_expect_eq "$(ft_json "$FT_TMP/answer.json" 'j["ok"] and j["packets_received"] > 50')" true "callee ok, media received"
grep -q "INVITE sip:bob@$DOMAIN SIP/2.0 from 127.0.0.1:[0-9]* -> 127.0.0.1:$BOB" "$(ft_log_of proxy)" ||
  ft_fail "the proxy did not log the INVITE forwarded to bob"
grep -q "BYE .* -> 127.0.0.1:$BOB" "$(ft_log_of proxy)" ||
  ft_fail "the BYE did not go through the proxy (no Record-Route?)"
python3 "$TONE" check "$FT_TMP/b.wav" --expect 440 --other 1000 || ft_fail "no 440 Hz tone at bob"
python3 "$TONE" check "$FT_TMP/a.wav" --expect 1000 --other 440 || ft_fail "no 1000 Hz tone at the caller"
ft_ok "call through the proxy: INVITE forwarded to bob's binding, BYE through the Record-Route, both tones heard"

# ---- b. an unknown user ------------------------------------------------------------------

ft_check "a call to an unregistered user fails with 404 from the proxy"
rc=0
"$FLOE" call --loopback --proxy "127.0.0.1:$PROXY" --timeout 5 --json "sip:nobody@$DOMAIN" \
  >"$FT_TMP/nobody.json" 2>"$FT_TMP/nobody.err" || rc=$?
[ "$rc" = 1 ] || ft_fail "exit $rc, expected 1: $(cat "$FT_TMP/nobody.err")"
ft_expect_eq "$(ft_json "$FT_TMP/nobody.json" 'j["ok"] is False and j["status"] == 404')" true "ok false, status 404"
grep -q "INVITE sip:nobody@$DOMAIN .*answered SIP/2.0 404" "$(ft_log_of proxy)" ||
  ft_fail "the proxy did not log its 404"
ft_ok "404 for nobody@$DOMAIN"

# ---- c. garbage -------------------------------------------------------------------------------

ft_check "malformed datagrams are dropped and counted; the proxy goes on"
python3 - "$PROXY" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (b"\x00\x01garbage\xff\r\n\r\n", b"INVITE\r\n\r\n"):
    s.sendto(d, ("127.0.0.1", int(sys.argv[1])))
PY
# one SIP request after the garbage: the proxy must still answer it (404: nobody there)
python3 - "$PROXY" "$DOMAIN" <<'PY' >"$FT_TMP/options.out" || ft_fail "no answer to OPTIONS after the garbage"
import socket, sys
port, dom = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
me = s.getsockname()[1]
msg = ("OPTIONS sip:ghost@%s SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-proxy-sh-1;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:t@%s>;tag=1\r\nTo: <sip:ghost@%s>\r\n"
       "Call-ID: proxy-sh-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (dom, me, dom, dom)
s.settimeout(3)
s.sendto(msg.encode(), ("127.0.0.1", port))
print(s.recv(2000).decode().split("\r\n")[0])
PY
grep -q "SIP/2.0 404" "$FT_TMP/options.out" || ft_fail "OPTIONS after the garbage got: $(cat "$FT_TMP/options.out")"
ft_ok "after two bad datagrams the proxy still answers: $(cat "$FT_TMP/options.out")"

# ---- d. stop by PID, counters ---------------------------------------------------------------

ft_check "SIGTERM to the proxy's PID: exit 0, counters"
ft_stop proxy TERM
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe proxy exited $FT_STOP_STATUS after SIGTERM"
grep -q "stopped by SIGTERM" "$(ft_log_of proxy)" || ft_fail "no counters line on stderr"
J=$FT_TMP/proxy.json
ft_expect_eq "$(ft_json "$J" 'j["registered"]')" 1 "registered"
ft_expect_eq "$(ft_json "$J" 'j["not_found"]')" 2 "404s (nobody, ghost)"
ft_expect_eq "$(ft_json "$J" 'j["drop_malformed"]')" 2 "malformed datagrams dropped"
ft_expect_eq "$(ft_json "$J" 'j["requests_forwarded"] >= 4 and j["responses_forwarded"] >= 5')" true \
  "requests (INVITE, PRACK, ACK, BYE) and responses forwarded"
ft_expect_eq "$(ft_json "$J" 'j["send_errors"]')" 0 "send errors"
ft_ok "counters: $(cat "$J")"
ft_ok "proxy passed"
