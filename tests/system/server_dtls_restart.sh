#!/usr/bin/env bash
# System: a DTLS client that starts over on the address and port of a session the server
# still holds (RFC 6347 §4.2.8). A client that vanishes without close_notify leaves its
# session, and its connected socket, behind until the idle timeout; a new client that the
# kernel gives the same port sends its ClientHello to that socket, not to the listener.
#
#   1. `floe turn --transport dtls` allocates and relays, then is killed (no goodbye);
#   2. a lone ClientHello from its address and port (a copy of one openssl made, sent by
#      a script that never answers the cookie) gets a HelloVerifyRequest, and the old
#      session and its allocation stay: a ClientHello alone cannot end a session;
#   3. `openssl s_client -dtls1_2` bound to that address and port completes a handshake:
#      after the cookie exchange the old session ends (its allocation with it) and the
#      new one begins.
# Loopback only; the only processes signalled are the ones this script started, by PID.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd openssl python3 ss timeout
ft_need_file "$FLOE" "the floe binary"

read -r -a ports <<<"$(ft_free_ports 3 127.0.0.1)"
P=${ports[0]} SINK=${ports[1]} PEER=${ports[2]}
ft_make_cert "$FT_TMP/tls"
ft_start srv "$FLOE" server --listen "dtls://127.0.0.1:$P" --tls-cert "$FT_TMP/tls/cert.pem" \
  --tls-key "$FT_TMP/tls/key.pem" --realm floe.test --user alice:pw --relay-ip 127.0.0.1 \
  --allow-peer 127.0.0.1 --drain-timeout 0 --control "$FT_TMP/srv.sock"
ft_wait_listen udp 127.0.0.1 "$P" "$(ft_pid srv)"
ft_wait_file "$FT_TMP/srv.sock" "$(ft_pid srv)"

stats() { "$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$1" || ft_fail "--stats failed"; }

ft_check "1. a DTLS client allocates, then dies without close_notify"
ft_start client "$FLOE" turn --transport dtls --insecure --user alice --password pw \
  --peer "127.0.0.1:$PEER" --count 100000 --interval 50 "127.0.0.1:$P"
ft_wait_log client 'permission for .* installed'
X=$(ss -Hunp | awk -v p="pid=$(ft_pid client)," 'index($0, p)' | grep -o '127\.0\.0\.1:[0-9]*' |
  grep -v ":$P\$" | head -n 1 | cut -d: -f2)
[ -n "$X" ] || ft_fail "cannot find floe turn's port"
ft_stop client KILL
stats "$FT_TMP/s1.json"
ft_expect_eq "$(ft_json "$FT_TMP/s1.json" '(j["runtime"]["dtls_sessions_open"], j["turn"]["allocations"])')" \
  "(1, 1)" "the session and its allocation left behind by port $X (sessions, allocations)"

ft_check "2. a lone ClientHello from that port gets a cookie and ends nothing"
# A real ClientHello: the first datagram openssl sends, caught by a sink that stays mute.
python3 - "$SINK" "$FT_TMP/hello.bin" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
hello = s.recv(2048)
open(sys.argv[2], "wb").write(hello)
EOF
sink=$!
ft_wait_listen udp 127.0.0.1 "$SINK" "$sink"
timeout 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$SINK" </dev/null >/dev/null 2>&1 || true
wait "$sink" || ft_fail "no ClientHello caught"
python3 - "$X" "$P" "$FT_TMP/hello.bin" >"$FT_TMP/hvr.txt" <<'EOF' || ft_fail "no HelloVerifyRequest to the lone ClientHello"
import socket, sys
x, p, hello = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "rb").read()
assert hello[0] == 22 and hello[13] == 1, "not a ClientHello"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", x))
s.settimeout(3)
s.sendto(hello, ("127.0.0.1", p))
r = s.recv(2048)
assert r[0] == 22 and r[13] == 3, "not a HelloVerifyRequest: %r" % r[:16]
print("HelloVerifyRequest of %d bytes" % len(r))
EOF
ft_ok "$(cat "$FT_TMP/hvr.txt")"
stats "$FT_TMP/s2.json"
ft_expect_eq "$(ft_json "$FT_TMP/s2.json" '(j["runtime"]["dtls_sessions_open"], j["turn"]["allocations"], j["runtime"]["dtls_cookies_sent"])')" \
  "(1, 1, 2)" "after the lone ClientHello (sessions, allocations, cookies sent)"

ft_check "3. a client that completes the cookie exchange from that port takes it over"
(sleep 2) | timeout 10 openssl s_client -dtls1_2 -bind "127.0.0.1:$X" -connect "127.0.0.1:$P" \
  >"$FT_TMP/s_client.out" 2>&1 || true
grep -q "^New, TLSv1.2, Cipher is" "$FT_TMP/s_client.out" ||
  ft_fail "no handshake from port $X: $(tail -n 5 "$FT_TMP/s_client.out")"
ft_ok "openssl: $(grep -m1 '^New,' "$FT_TMP/s_client.out")"
stats "$FT_TMP/s3.json"
python3 - "$FT_TMP/s3.json" <<'EOF' || ft_fail "the counters do not say so"
import json, sys
j = json.load(open(sys.argv[1]))
r, t = j["runtime"], j["turn"]
print("  accepted %d, closed by client %d, cookies %d; allocations %d, closed with connection %d" % (
    r["dtls_sessions_accepted"], r["dtls_sessions_closed_by_client"], r["dtls_cookies_sent"],
    t["allocations"], t["allocations_closed_with_connection"]))
assert r["dtls_sessions_accepted"] == 2 and r["dtls_cookies_sent"] == 3, r
assert t["allocations"] == 0 and t["allocations_closed_with_connection"] == 1, t
assert r["dtls_sessions_closed_by_client"] >= 1, r
EOF
ft_ok "the old session and its allocation ended once the new client proved its address"

ft_stop srv
ft_expect_eq "$FT_STOP_STATUS" 0 "floe server exit status"
! grep -qE 'Sanitizer|runtime error:' "$(ft_log_of srv)" || ft_fail "sanitizer report in the log"
ft_say "PASS"
