#!/usr/bin/env bash
# floe's main job, from a fresh Debian 12 machine (as root): install the packages,
# build, and run `floe demo`: one SIP call with ICE between alice and bob behind two
# simulated NATs (port-restricted and symmetric), registered with a SIP proxy, through a
# STUN and a TURN server. The callee rings only after ICE found a path; each side sends a
# tone and the other recognises it. Everything runs in one process on a virtual clock:
# no real network is touched. Arguments are passed to `floe demo` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${FLOE_JOBS:-2}" --target floe

echo "==> build/bin/floe demo $*"
exec build/bin/floe demo "$@"
