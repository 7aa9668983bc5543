#!/usr/bin/env bash
# Installs every Debian 12 package floe needs to build, test, fuzz and benchmark.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it calls apt-get)" >&2
  exit 1
fi

pkgs=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libraries floe links
  libssl-dev zlib1g-dev libidn-dev libcmocka-dev libmicrohttpd-dev libsndfile1-dev
  # real peers and tools the tests and benchmarks use
  coturn tshark openssl iproute2 nftables util-linux procps python3 libnice-dev
  # the call lab (tests/lib/call_lab.bash): baresip-core holds baresip and all its modules
  # (ice, stun, turn, aufile, sndfile, aubridge, ctrl_tcp, g711), without the GUI and
  # codec packages the "baresip" metapackage recommends; kamailio (proxy, registrar,
  # nathelper); sip-tester is sipp (also tests/system/sipp_uas.sh and sipp_uac.sh, which
  # run the scenarios of tests/sipp/ against floe answer and floe call)
  baresip-core kamailio sip-tester
)

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present" >&2
fi
