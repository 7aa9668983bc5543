#!/usr/bin/env bash
# floe's main job, from a fresh Debian 12 machine (as root): install packages, build,
# start `floe server` on loopback, ask it for our mapped address with `floe stun` over
# UDP, TCP and TLS, and print the results. (When the SIP work lands this becomes a
# whole call through two simulated NATs.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${FLOE_JOBS:-2}" --target floe
floe=build/bin/floe

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A throw-away certificate so the TLS listener has something to present.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

echo "==> starting floe server on 127.0.0.1:3478 (udp, tcp) and 127.0.0.1:5349 (tls)"
"$floe" server --listen 127.0.0.1:3478 --listen tls://127.0.0.1:5349 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
  --control "$work/control.sock" &
server_pid=$!
for _ in $(seq 50); do [ -S "$work/control.sock" ] && break; sleep 0.1; done

for t in udp tcp tls; do
  args=(--transport "$t")
  port=3478
  if [ "$t" = tls ]; then port=5349; args+=(--ca "$work/cert.pem"); fi
  echo "==> floe stun ${args[*]} 127.0.0.1:$port"
  "$floe" stun "${args[@]}" "127.0.0.1:$port"
done
echo "==> server counters"
"$floe" server --stats --control "$work/control.sock"
