#!/usr/bin/env bash
# `floe turn --transport dtls` against `floe server --listen dtls://` (RFC 8656 §3.1, RFC
# 7350: STUN and TURN over DTLS), on loopback, with tshark decoding every packet.
#
#   1. with the server's certificate as CA: allocate, then 50 datagrams to an echo peer
#      (floe bench echo) via Send indications and via a channel, all 50 back, the
#      allocation released; once more with --insecure;
#   2. a client that wants another name fails the handshake (one line, exit 1), and the
#      server counts the failure;
#   3. the cookie exchange is stateless (RFC 6347 §4.2.1): ClientHellos without a cookie,
#      or with a forged one, get a HelloVerifyRequest each and leave no session behind;
#   4. the session is the connection: a client killed without close_notify loses its
#      allocation when the session times out (--stream-idle);
#   5. the capture: DTLS only on the port, cookies first, nothing malformed, no fatal
#      alert in the clear but the name mismatch's; floe's counters add up.
set -euo pipefail
# shellcheck source=../lib/common.bash
. "$FLOE_SRC/tests/lib/common.bash"

ft_need_cmd openssl python3 ss timeout
ft_need_capture
ft_need_file "$FLOE" "the floe binary"

read -r -a ports <<<"$(ft_free_ports 2 127.0.0.1)"
P=${ports[0]} E=${ports[1]}
read -r RMIN RMAX <<<"$(python3 -c 'import random; b = random.randrange(20000, 29000, 100); print(b, b + 99)')"
ft_say "floe server dtls 127.0.0.1:$P, relays $RMIN-$RMAX; echo peer :$E"
ft_make_cert "$FT_TMP/tls"

USER=alice PASS=wonderland REALM=floe.test
ft_capture_start cap "udp port $P"

ft_start srv "$FLOE" server --listen "dtls://127.0.0.1:$P" \
  --tls-cert "$FT_TMP/tls/cert.pem" --tls-key "$FT_TMP/tls/key.pem" \
  --realm "$REALM" --user "$USER:$PASS" --relay-ports "$RMIN-$RMAX" --allow-peer 127.0.0.1 \
  --stream-idle 2 --unauth-rate 0 --control "$FT_TMP/srv.sock"
ft_wait_listen udp 127.0.0.1 "$P" "$(ft_pid srv)"
ft_wait_file "$FT_TMP/srv.sock" "$(ft_pid srv)"
ft_assert_loopback_only "$(ft_pid srv)" "floe server"
grep -q "dtls 127.0.0.1:$P" "$(ft_log_of srv)" || ft_fail "no dtls listener announced"

ft_start echo "$FLOE" bench echo --listen "127.0.0.1:$E"
ft_wait_listen udp 127.0.0.1 "$E" "$(ft_pid echo)"

stats() { "$FLOE" server --stats --control "$FT_TMP/srv.sock" >"$FT_TMP/$1.json"; }

run_turn() { # NAME EXPECTED-STATUS ARGS...: floe turn with a time bound, output in $FT_TMP/NAME.*
  local name=$1 want=$2 rc=0
  shift 2
  timeout -k 2 30 "$FLOE" turn "$@" >"$FT_TMP/$name.out" 2>"$FT_TMP/$name.err" || rc=$?
  [ "$rc" = "$want" ] || ft_fail "floe turn $* exited $rc, expected $want:
$(cat "$FT_TMP/$name.err" "$FT_TMP/$name.out")"
}

check_json() { # FILE VIA COUNT: a good run's JSON line
  python3 - "$@" "$RMIN" "$RMAX" "127.0.0.1:$P" <<'EOF' || ft_fail "$(cat "$1")"
import json, sys
path, via, count, lo, hi, srv = sys.argv[1:7]
j = json.loads(open(path).read())
assert j["transport"] == "dtls" and j["server"] == srv, j
ip, port = j["relayed"].rsplit(":", 1)
assert ip == "127.0.0.1" and int(lo) <= int(port) <= int(hi), j["relayed"]
assert j["mapped"] == j["local"], j
assert j["deallocated"] is True, j
if via:
    assert j["via"] == via, j
    assert j["sent"] == int(count) and j["echoed"] == int(count) and j["lost"] == 0, j
print(f"relayed {j['relayed']}" + (f", {j['echoed']}/{count} echoed via {via}" if via else ""))
EOF
}

# ---- 1. good runs ---------------------------------------------------------------------------

cred=(--json --transport dtls --user "$USER" --password "$PASS" --realm "$REALM")
runs=0
for via in send channel; do
  ft_check "floe turn over dtls via $via: 50 datagrams of 101 bytes all come back"
  extra=(--peer "127.0.0.1:$E" --count 50 --size 101 --interval 2)
  [ "$via" = send ] || extra+=(--channel)
  run_turn "$via" 0 "${cred[@]}" --ca "$FT_TMP/tls/cert.pem" "${extra[@]}" "127.0.0.1:$P"
  ft_ok "$(check_json "$FT_TMP/$via.out" "$via" 50)"
  runs=$((runs + 1))
done
ft_check "floe turn over dtls with --insecure: allocate and release"
run_turn insecure 0 "${cred[@]}" --insecure "127.0.0.1:$P"
ft_ok "$(check_json "$FT_TMP/insecure.out" "" 0)"
runs=$((runs + 1))

# ---- 2. a name the certificate does not carry -----------------------------------------------

ft_check "a client that wants another name: the handshake fails, one line, exit 1"
run_turn badname 1 --transport dtls --ipv4 --ca "$FT_TMP/tls/cert.pem" --user "$USER" \
  --password "$PASS" "other.localhost:$P"
grep -q "certificate verify failed: hostname mismatch" "$FT_TMP/badname.err" ||
  ft_fail "unexpected message: $(cat "$FT_TMP/badname.err")"
ft_ok "$(cat "$FT_TMP/badname.err")"

# The client's bad_certificate alert ends the session on the server: wait for it to count.
for _ in $(seq 50); do
  stats after-runs
  [ "$(ft_json "$FT_TMP/after-runs.json" 'j["runtime"]["dtls_sessions_open"]')" = 0 ] && break
  sleep 0.1
done
python3 - "$FT_TMP/after-runs.json" "$runs" <<'EOF' || ft_fail "counters after the runs"
import json, sys
j = json.load(open(sys.argv[1]))
r, t, runs = j["runtime"], j["turn"], int(sys.argv[2])
assert r["dtls_sessions_open"] == 0, r
assert r["dtls_sessions_accepted"] == runs + 1, r
assert r["dtls_handshake_failed"] == 1, r
assert r["dtls_sessions_closed_by_client"] == runs, r  # close_notify after each good run
assert t["allocated"] == runs and t["deallocated"] == runs and t["allocations"] == 0, t
assert t["relayed_to_peer"] == 100 and t["relayed_to_client"] == 100, t
print(f"{r['dtls_sessions_accepted']} sessions ({r['dtls_handshake_failed']} failed), "
      f"{r['dtls_cookies_sent']} cookies, {t['allocated']} allocations released")
EOF
ft_ok "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runtime"]; print(r["dtls_sessions_accepted"], "sessions,", r["dtls_handshake_failed"], "handshake failure counted")' "$FT_TMP/after-runs.json")"

# ---- 3. stateless cookies -------------------------------------------------------------------

ft_check "ClientHellos without a cookie or with a forged one: a HelloVerifyRequest each, no session"
python3 - "$P" <<'EOF' || ft_fail "cookie exchange"
import os, socket, struct, sys
port = int(sys.argv[1])

def client_hello(cookie):
    # DTLS 1.2 ClientHello, as far as a stateless listener reads it (RFC 6347 §4.2.1).
    body = b"\xfe\xfd" + os.urandom(32) + b"\x00" + bytes([len(cookie)]) + cookie
    body += b"\x00\x02\xc0\x2b" + b"\x01\x00"  # a cipher suite, no compression
    hs = bytes([1]) + struct.pack(">I", len(body))[1:] + b"\x00\x00" + b"\x00\x00\x00"
    hs += struct.pack(">I", len(body))[1:] + body
    return b"\x16\xfe\xfd" + b"\x00" * 8 + struct.pack(">H", len(hs)) + hs

for i in range(20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.send(client_hello(b"" if i % 2 == 0 else os.urandom(20)))
    answer = s.recv(2048)
    # a handshake record carrying HelloVerifyRequest (3) with a cookie of 20 bytes
    assert answer[0] == 22 and answer[13] == 3, answer.hex()
    assert answer[25 + 2] == 20, answer.hex()
    s.close()
print("20 HelloVerifyRequests")
EOF
stats after-cookies
python3 - "$FT_TMP/after-runs.json" "$FT_TMP/after-cookies.json" <<'EOF' || ft_fail "state after the cookie exchange"
import json, sys
a, b = (json.load(open(p))["runtime"] for p in sys.argv[1:])
assert b["dtls_cookies_sent"] - a["dtls_cookies_sent"] == 20, (a, b)
assert b["dtls_sessions_accepted"] == a["dtls_sessions_accepted"], (a, b)
assert b["dtls_sessions_open"] == 0, b
print("dtls_cookies_sent +20, dtls_sessions_accepted +0, dtls_sessions_open 0")
EOF
ft_ok "20 HelloVerifyRequests, no session kept"

# ---- 4. the allocation ends with its session ------------------------------------------------

ft_check "a client killed without close_notify: its session times out and takes the allocation"
ft_start held "$FLOE" turn --transport dtls --ca "$FT_TMP/tls/cert.pem" --user "$USER" \
  --password "$PASS" --peer "127.0.0.1:$E" --count 100000 --interval 500 "127.0.0.1:$P"
ft_wait_log held "permission for 127\.0\.0\.1:$E installed" 10
stats held
ft_expect_eq "$(ft_json "$FT_TMP/held.json" 'j["turn"]["allocations"]')" 1 "allocations while the client runs"
ft_stop held KILL
for _ in $(seq 100); do # --stream-idle 2 and a sweep every 5 s: gone within about 7 s
  stats gone
  [ "$(ft_json "$FT_TMP/gone.json" 'j["runtime"]["dtls_sessions_open"]')" = 0 ] && break
  sleep 0.1
done
python3 - "$FT_TMP/gone.json" <<'EOF' || ft_fail "the killed client's session and allocation"
import json, sys
j = json.load(open(sys.argv[1]))
r, t = j["runtime"], j["turn"]
assert r["dtls_sessions_open"] == 0 and r["dtls_sessions_closed_idle"] == 1, r
assert t["allocations"] == 0 and t["allocations_closed_with_connection"] == 1, t
print("dtls_sessions_closed_idle 1, allocations_closed_with_connection 1, allocations 0")
EOF
ft_ok "the session timed out and its allocation ended with it"

# ---- 5. the capture and the counters --------------------------------------------------------

ft_check "floe's counters: every input ended in one outcome"
python3 - "$FT_TMP/gone.json" <<'EOF' || ft_fail "counters do not add up"
import json, sys
j = json.load(open(sys.argv[1]))["turn"]
outcomes = [k for k in j if k not in ("rx_client", "rx_peer", "bytes_to_peer", "bytes_to_client",
            "allocations_expired", "allocations_closed_with_connection", "entries_revoked_by_reload",
            "tcp_connected", "tcp_connect_failed_447", "tcp_connection_attempts", "tcp_peer_refused",
            "tcp_closed_unbound",
            "allocations", "permissions", "channels", "users_with_allocations", "table_bytes",
            "draining")]
total = sum(j[k] for k in outcomes)
assert j["rx_client"] + j["rx_peer"] == total, (j["rx_client"], j["rx_peer"], total)
print(f"{j['rx_client']} client + {j['rx_peer']} peer inputs = {total} outcomes")
EOF
ft_ok "$(ft_json "$FT_TMP/gone.json" 'j["turn"]["rx_client"]') client inputs accounted for"

ft_capture_stop cap
# The one fatal alert in the clear: floe turn's bad_certificate (42) to the name mismatch.
ft_capture_check cap --dtls "$P" --min 200 --allow-tls-alert 42
count() { ft_capture_count cap "$1"; }
ft_check "on the wire: a cookie before every session, application data both ways"
hello=$(count "udp.dstport == $P && dtls.handshake.type == 1 && dtls.handshake.cookie_length == 0")
verify=$(count "udp.srcport == $P && dtls.handshake.type == 3")
# the 20 hand-made ClientHellos (10 without a cookie, 10 forged) were answered too
ft_expect_eq "$verify" $((hello + 10)) "HelloVerifyRequests = ClientHellos without a cookie + forged ones"
ft_expect_eq "$(ft_json "$FT_TMP/gone.json" 'j["runtime"]["dtls_cookies_sent"]')" "$verify" \
  "floe's dtls_cookies_sent = HelloVerifyRequests on the wire"
server_hellos=$(count "udp.srcport == $P && dtls.handshake.type == 2")
ft_expect_eq "$server_hellos" $((runs + 2)) "ServerHellos (the good runs, the bad name, the killed client)"
to_srv=$(count "udp.dstport == $P && dtls.record.content_type == 23")
from_srv=$(count "udp.srcport == $P && dtls.record.content_type == 23")
if [ "$to_srv" -le 100 ] || [ "$from_srv" -le 100 ]; then
  ft_fail "too little DTLS application data: $to_srv to floe, $from_srv from floe"
fi
ft_ok "$verify cookies, $server_hellos handshakes, $to_srv records to floe and $from_srv back"

ft_stop srv
[ "$FT_STOP_STATUS" = 0 ] || ft_fail "floe server exited $FT_STOP_STATUS on SIGTERM"
ft_stop echo
ft_say "PASS"
