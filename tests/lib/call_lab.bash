# shellcheck shell=bash
# The real-NAT call lab: network namespaces, nftables NATs, a SIP proxy/registrar
# (kamailio), a STUN/TURN server (floe server) and user agents (baresip, or floe's own).
# docs/lab.md describes it; source it after tests/lib/common.bash:
#
#     . "$FLOE_SRC/tests/lib/common.bash"
#     . "$FLOE_SRC/tests/lib/call_lab.bash"
#     lab_need baresip           # commands the test needs (skip, or fail in CI)
#     lab_topology cone cone     # the NAT in front of each user agent
#     lab_start_stun stun        # floe server: STUN on $LAB_SRV:3478
#     lab_start_kamailio         # kamailio: proxy + registrar on $LAB_SRV:5060
#     ...
#
# Topology (P = the test's PID, so that two runs can coexist):
#
#   floe-ua-a-P 10.0.1.2 -- 10.0.1.1 floe-nat-a-P 198.18.1.2 --+ 198.18.1.1
#                                                             floe-pub-P  198.18.0.1 (lo):
#   floe-ua-b-P 10.0.2.2 -- 10.0.2.1 floe-nat-b-P 198.18.2.2 --+ 198.18.2.1  kamailio, floe server
#
# floe-pub-P is "the Internet": a router between the two NATs' WAN links, with the
# servers on 198.18.0.1 (its loopback). 198.18.0.0/15 (RFC 2544, benchmarking) stands
# for public addresses. Each NAT namespace masquerades its LAN behind its WAN address
# (nftables) and forwards nothing that its LAN did not start. Nothing routes out of the
# five namespaces: there is no link to the host's own network.
#
# Process handling follows tests/lib/common.bash: every process is started with ft_start
# (its PID recorded, its log in $FT_TMP/NAME.log), the EXIT trap stops those PIDs and
# deletes the namespaces (ft_netns_trap), whatever happens.

if [ -n "${LAB_LOADED:-}" ]; then return 0; fi
LAB_LOADED=1

LAB_DIR=${LAB_DIR:-$FLOE_SRC/tests/lab}
LAB_P=$$
LAB_NS_PUB=floe-pub-$LAB_P
LAB_SRV=198.18.0.1         # the servers' address in the public namespace
LAB_SIP_PORT=5060
LAB_STUN_PORT=3478
LAB_TURN_USER=lab
LAB_TURN_PASS=floe-lab-secret
LAB_REALM=floe.test
declare -A LAB_NS=([a]=floe-ua-a-$LAB_P [b]=floe-ua-b-$LAB_P)
declare -A LAB_NAT_NS=([a]=floe-nat-a-$LAB_P [b]=floe-nat-b-$LAB_P)
declare -A LAB_ADDR=([a]=10.0.1.2 [b]=10.0.2.2)   # each user agent's (private) address
declare -A LAB_WAN=([a]=198.18.1.2 [b]=198.18.2.2) # each NAT's public address
declare -A LAB_NAT_KIND=()
LAB_PUB_IFS=()             # the public namespace's links to the NATs (captured)

# lab_need [baresip] [kamailio] [sipp]...: what every lab test needs (ip, nft, python3,
# dumpcap, tshark, root for namespaces, the floe binary) and the extra commands named.
# Missing is a skip outside CI and a failure in CI (tests/lib/common.bash ft_need_cmd).
lab_need() {
  ft_need_cmd ip nft python3 dumpcap tshark "$@"
  ft_need_file "$FLOE" "the floe binary"
  ft_need_netns
}

# lab_ns SIDE: the namespace of user agent SIDE (a or b).
lab_ns() { printf '%s' "${LAB_NS[$1]:?unknown side $1}"; }
# lab_addr SIDE: the private address of user agent SIDE.
lab_addr() { printf '%s' "${LAB_ADDR[$1]:?unknown side $1}"; }
# lab_wan SIDE: the public address of the NAT in front of user agent SIDE.
lab_wan() { printf '%s' "${LAB_WAN[$1]:?unknown side $1}"; }

# lab_exec SIDE|pub CMD...: runs CMD in that namespace (in the foreground).
lab_exec() {
  local ns
  if [ "$1" = pub ]; then ns=$LAB_NS_PUB; else ns=$(lab_ns "$1"); fi
  shift
  ip netns exec "$ns" "$@"
}

# lab_start SIDE|pub NAME CMD...: ft_start in that namespace (`ip netns exec` execs CMD,
# so the PID recorded is CMD's own).
lab_start() {
  local where=$1 name=$2 ns
  shift 2
  if [ "$where" = pub ]; then ns=$LAB_NS_PUB; else ns=$(lab_ns "$where"); fi
  ft_start "$name" ip netns exec "$ns" "$@"
}

# lab_wait_listen SIDE|pub PROTO ADDR PORT PID [SECONDS]: waits until something listens
# on PROTO ADDR:PORT in that namespace; fails early when PID died.
lab_wait_listen() {
  local where=$1 proto=$2 addr=$3 port=$4 pid=$5 secs=${6:-10} i flag
  [ "$proto" = udp ] && flag=-Hlnu || flag=-Hlnt
  for ((i = 0; i < secs * 20; i++)); do
    lab_exec "$where" ss "$flag" "src $addr:$port" 2>/dev/null | grep -q . && return 0
    ft_alive "$pid" || ft_fail "${FT_PID_NAME[$pid]:-$pid} exited before listening on $proto $addr:$port"
    sleep 0.05
  done
  ft_fail "nothing listens on $proto $addr:$port in $where after ${secs}s"
}

# lab_link NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair between two namespaces, both up.
lab_link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" 2>"$FT_TMP/veth.err" ||
    ft_fail "cannot create veth $2-$5: $(cat "$FT_TMP/veth.err")"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

# lab_nat NS WAN-DEV LAN-DEV KIND: the NAT of one user agent, in nftables.
#   cone       masquerade: Linux keeps the source port when it can, so one internal
#              address:port keeps one mapping whatever the destination (endpoint-
#              independent mapping); conntrack lets in only replies from the exact
#              address:port a packet went to (address-and-port-dependent filtering):
#              a port-restricted cone NAT (RFC 4787 terms: EIM + APDF).
#   symmetric  masquerade fully-random: every new destination gets a new random port
#              (address-and-port-dependent mapping), same filtering. Two of them leave
#              no direct path: only TURN gets through.
# Both forward nothing the LAN did not start (policy drop + ct state established), and
# drop what reaches the NAT itself unasked: a datagram to a WAN port without a mapping
# vanishes, as in a home router, instead of drawing an ICMP port unreachable (which makes
# an ICE agent give up a pair at once, before the other side's check opens the hole).
lab_nat() {
  local ns=$1 wan=$2 lan=$3 kind=$4 flags
  case $kind in
  cone) flags="" ;;
  symmetric) flags=" fully-random" ;;
  *) ft_fail "internal: unknown NAT kind '$kind' (cone or symmetric)" ;;
  esac
  ip netns exec "$ns" nft -f - <<EOF || ft_fail "nftables NAT in $ns"
table ip floe_nat {
  chain nat_out { type nat hook postrouting priority srcnat; oifname "$wan" masquerade$flags; }
  chain forward_filter {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "$lan" oifname "$wan" accept
  }
  chain input_filter {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
  }
}
EOF
}

# lab_no_ipv6 NS: the lab is IPv4 only; without IPv6 the links stay quiet (no router
# solicitations, no multicast listener reports) and the user agents gather IPv4 only.
lab_no_ipv6() {
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# lab_topology [KIND-A] [KIND-B]: creates the five namespaces, links, routes and NATs
# (kinds: cone, the default, or symmetric; see lab_nat). Sets the EXIT trap that
# deletes them (ft_netns_trap).
lab_topology() {
  local kind_a=${1:-cone} kind_b=${2:-cone} s n=1 ns nat kind net
  ft_netns_trap
  ft_netns_add "$LAB_NS_PUB"
  lab_no_ipv6 "$LAB_NS_PUB"
  ip -n "$LAB_NS_PUB" addr add "$LAB_SRV/32" dev lo
  ip netns exec "$LAB_NS_PUB" sysctl -qw net.ipv4.ip_forward=1
  # The Internet does not route private addresses: a packet to one (an ICE check to a
  # host candidate) is dropped without an ICMP error, as it would be out there.
  for net in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; do
    ip -n "$LAB_NS_PUB" route add blackhole "$net"
  done
  for s in a b; do
    ns=${LAB_NS[$s]} nat=${LAB_NAT_NS[$s]}
    ft_netns_add "$nat"
    ft_netns_add "$ns"
    lab_no_ipv6 "$nat"
    lab_no_ipv6 "$ns"
    # device names: p<side>P on the public side, w<side>P the NAT's WAN, l<side>P its
    # LAN, h<side>P the user agent's (at most 15 characters)
    lab_link "$LAB_NS_PUB" "p$s$LAB_P" "198.18.$n.1/24" "$nat" "w$s$LAB_P" "${LAB_WAN[$s]}/24"
    lab_link "$nat" "l$s$LAB_P" "10.0.$n.1/24" "$ns" "h$s$LAB_P" "${LAB_ADDR[$s]}/24"
    ip -n "$ns" route add default via "10.0.$n.1"
    ip -n "$nat" route add default via "198.18.$n.1"
    ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
    if [ "$s" = a ]; then kind=$kind_a; else kind=$kind_b; fi
    lab_nat "$nat" "w$s$LAB_P" "l$s$LAB_P" "$kind"
    LAB_NAT_KIND[$s]=$kind
    LAB_PUB_IFS+=("p$s$LAB_P")
    n=$((n + 1))
  done
}

# ---- servers in the public namespace ---------------------------------------------------

# lab_start_stun stun|turn: floe server on $LAB_SRV:3478 (UDP and TCP) in the public
# namespace: STUN only, or STUN and TURN (realm $LAB_REALM, user
# $LAB_TURN_USER:$LAB_TURN_PASS, relaying to 198.18.0.0/15 only). Process name "stun".
lab_start_stun() {
  local turn=()
  case $1 in stun | turn) ;; *) ft_fail "internal: lab_start_stun stun|turn, not '$1'" ;; esac
  [ "$1" = turn ] && turn=(--realm "$LAB_REALM" --user "$LAB_TURN_USER:$LAB_TURN_PASS"
    --allow-peer 198.18.0.0/15 --relay-ip "$LAB_SRV")
  lab_start pub stun "$FLOE" server --listen "$LAB_SRV:$LAB_STUN_PORT" \
    --control "$FT_TMP/stun.sock" --drain-timeout 0 ${turn[@]+"${turn[@]}"}
  ft_wait_file "$FT_TMP/stun.sock" "$FT_LAST_PID"
  lab_wait_listen pub udp "$LAB_SRV" "$LAB_STUN_PORT" "$(ft_pid stun)"
}

# lab_start_kamailio [tcp]: kamailio with tests/lab/kamailio.cfg on udp:$LAB_SRV:5060
# (and tcp:$LAB_SRV:5060 with "tcp") in the public namespace, in the foreground (-DD -E:
# no daemon, logs on stderr). Process name "kamailio"; its runtime files go to
# $FT_TMP/kamailio.
lab_start_kamailio() {
  local run=$FT_TMP/kamailio listen=(-l "udp:$LAB_SRV:$LAB_SIP_PORT")
  [ "${1:-}" = tcp ] && listen+=(-l "tcp:$LAB_SRV:$LAB_SIP_PORT")
  mkdir -p "$run"
  kamailio -c -f "$LAB_DIR/kamailio.cfg" "${listen[@]}" >"$run/check.log" 2>&1 ||
    ft_fail "kamailio rejects $LAB_DIR/kamailio.cfg: $(grep -E 'ERROR|CRITICAL' "$run/check.log" | head -5)"
  lab_start pub kamailio kamailio -f "$LAB_DIR/kamailio.cfg" -DD -E -m 32 -M 4 \
    "${listen[@]}" -Y "$run" -P "$run/kamailio.pid" -w "$run"
  lab_wait_listen pub udp "$LAB_SRV" "$LAB_SIP_PORT" "$FT_LAST_PID"
  [ "${1:-}" = tcp ] && lab_wait_listen pub tcp "$LAB_SRV" "$LAB_SIP_PORT" "$FT_LAST_PID"
  return 0
}

# lab_block_udp SIDE...: the NAT of each SIDE drops every UDP datagram it would forward
# (TCP still goes out): a firewall that lets no UDP out, as some corporate networks do.
lab_block_udp() {
  local s
  for s in "$@"; do
    ip netns exec "${LAB_NAT_NS[$s]:?unknown side $s}" nft insert rule ip floe_nat forward_filter \
      meta l4proto udp drop || ft_fail "cannot block UDP in the NAT of side $s"
  done
}

# ---- baresip -----------------------------------------------------------------------------

LAB_BARESIP_MODULES=/usr/lib/baresip/modules
LAB_BARESIP_CTRL_PORT=4444
declare -A LAB_BARESIP_USER=()

# lab_baresip_config SIDE USER PLAY-WAV [--turn] [--no-ice]: writes the configuration
# directory $FT_TMP/baresip-SIDE (config, accounts, empty contacts) for a baresip
# registering as USER@$LAB_SRV with kamailio:
#   - SIP on the user agent's address, UDP port 5060, PCMU only;
#   - media NAT traversal: ICE (medianat=ice) with floe server as the STUN server
#     (stunserver=stun:$LAB_SRV:3478), or its TURN with --turn; --no-ice: none at all;
#   - audio: the aufile source plays PLAY-WAV (8 kHz mono 16-bit) as the microphone;
#     the player and the alert/ring device are aubridge devices nobody reads (there is
#     no sound card in a namespace); the sndfile filter writes what is sent and received
#     to $FT_TMP/baresip-SIDE/rec (dump-...-enc.wav and dump-...-dec.wav);
#   - calls are answered at once (answermode=auto);
#   - control: the ctrl_tcp module on 127.0.0.1:4444 in the namespace (JSON commands in
#     netstrings, tests/lab/baresip_ctrl.py).
lab_baresip_config() {
  local side=$1 user=$2 play=$3 dir=$FT_TMP/baresip-$1 medianat=";medianat=ice" stun
  shift 3
  stun="stun:$LAB_SRV:$LAB_STUN_PORT"
  while [ $# -gt 0 ]; do
    case $1 in
    --turn) stun="turn:$LAB_SRV:$LAB_STUN_PORT\";stunuser=$LAB_TURN_USER;stunpass=\"$LAB_TURN_PASS" ;;
    --no-ice) medianat="" ;;
    *) ft_fail "internal: lab_baresip_config: unknown option $1" ;;
    esac
    shift
  done
  mkdir -p "$dir/rec"
  LAB_BARESIP_USER[$side]=$user
  cat >"$dir/config" <<CFG
# baresip $user (side $side) for the floe call lab, written by tests/lib/call_lab.bash
poll_method		epoll
sip_listen		$(lab_addr "$side"):5060
call_local_timeout	30
call_max_calls		1
audio_path		$dir
audio_player		aubridge,play-$side
audio_alert		aubridge,alert-$side
audio_source		aufile,$play
ausrc_srate		8000
ausrc_channels		1
auplay_srate		8000
auplay_channels		1
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
rtp_tos			0
rtp_ports		30000-30999
rtcp_mux		no
jitter_buffer_delay	1-10
rtp_stats		no
module_path		$LAB_BARESIP_MODULES
module			g711.so
module			sndfile.so
module			aufile.so
module			aubridge.so
module			stun.so
module			turn.so
module			ice.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$LAB_BARESIP_CTRL_PORT
snd_path		$dir/rec
ringback_disabled	yes
menu_bell		no
statmode_default	off
CFG
  printf '<sip:%s@%s>;answermode=auto;audio_codecs=PCMU/8000/1;regint=600;ptime=20%s;stunserver="%s"\n' \
    "$user" "$LAB_SRV" "$medianat" "$stun" >"$dir/accounts"
  : >"$dir/contacts"
}

declare -A LAB_BARESIP_TOKEN=()
declare -A LAB_BARESIP_RUN=() # SIDE -> how many times lab_baresip_start started it

# lab_baresip_proc SIDE, lab_baresip_ctrl SIDE: the process names of SIDE's current
# baresip and of its driver: "baresip-SIDE" and "ctrl-SIDE" the first time, then
# "baresip-SIDE-N" and "ctrl-SIDE-N" for the Nth start (a benchmark restarts its
# baresips for every call; their logs stay apart).
lab_baresip_proc() {
  local n=${LAB_BARESIP_RUN[$1]:-1}
  if [ "$n" -le 1 ]; then printf 'baresip-%s' "$1"; else printf 'baresip-%s-%s' "$1" "$n"; fi
}
lab_baresip_ctrl() {
  local n=${LAB_BARESIP_RUN[$1]:-1}
  if [ "$n" -le 1 ]; then printf 'ctrl-%s' "$1"; else printf 'ctrl-%s-%s' "$1" "$n"; fi
}

# lab_baresip_start SIDE: starts the baresip configured by lab_baresip_config in the
# namespace of SIDE (process "baresip-SIDE", its log in $FT_TMP/baresip-SIDE.log) and
# its control driver tests/lab/baresip_ctrl.py (process "ctrl-SIDE": responses and
# events with time stamps, one JSON line each, in $FT_TMP/ctrl-SIDE.log); waits (10 s
# each) for the SIP socket, the control connection and the registration (200 OK).
# Started again after lab_baresip_stop, the processes are named by lab_baresip_proc and
# lab_baresip_ctrl (baresip-SIDE-2, ctrl-SIDE-2, ...); the configuration is the same.
lab_baresip_start() {
  local side=$1 dir=$FT_TMP/baresip-$1 user=${LAB_BARESIP_USER[$1]:?lab_baresip_config first} pid
  local proc ctrl
  LAB_BARESIP_RUN[$side]=$((${LAB_BARESIP_RUN[$side]:-0} + 1))
  proc=$(lab_baresip_proc "$side") ctrl=$(lab_baresip_ctrl "$side")
  lab_start "$side" "$proc" baresip -f "$dir"
  pid=$FT_LAST_PID
  lab_wait_listen "$side" udp "$(lab_addr "$side")" 5060 "$pid"
  lab_wait_listen "$side" tcp 127.0.0.1 "$LAB_BARESIP_CTRL_PORT" "$pid"
  lab_start "$side" "$ctrl" python3 "$LAB_DIR/baresip_ctrl.py" --port "$LAB_BARESIP_CTRL_PORT" "$dir/ctrl.fifo"
  ft_wait_log "$ctrl" '"connected"' 10
  LAB_BARESIP_TOKEN[$side]=0
  ft_wait_log "$proc" "^$user@$LAB_SRV: \{[0-9]+/UDP/v4\} 200 OK" 10
}

# lab_baresip_cmd SIDE COMMAND [PARAMS]: sends a ctrl_tcp command (dial, hangup, accept,
# reginfo, quit, ...) and waits (5 s) for its response; fails if baresip says it failed.
lab_baresip_cmd() {
  local side=$1 tok i line log
  shift
  tok=$((LAB_BARESIP_TOKEN[$side] + 1))
  LAB_BARESIP_TOKEN[$side]=$tok
  log=$(ft_log_of "$(lab_baresip_ctrl "$side")")
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$*" "$FT_TMP/baresip-$side/ctrl.fifo" ||
    ft_fail "cannot hand '$*' to the baresip driver of side $side"
  for ((i = 0; i < 100; i++)); do
    line=$(grep -F "\"token\": \"$tok\"" "$log" | grep -F '"response": true' || true)
    if [ -n "$line" ]; then
      case $line in *'"ok": true'*) return 0 ;; esac
      ft_fail "baresip $side: command '$*' failed: $line"
    fi
    ft_alive "$(ft_pid "$(lab_baresip_ctrl "$side")")" || ft_fail "the baresip driver of side $side exited before answering '$*'"
    sleep 0.05
  done
  ft_fail "baresip $side: no response to '$*' within 5 s"
}

# lab_baresip_dial SIDE URI: SIDE calls URI (e.g. sip:bob@$LAB_SRV).
lab_baresip_dial() { lab_baresip_cmd "$1" dial "$2"; }
# lab_baresip_hangup SIDE: SIDE hangs up its call.
lab_baresip_hangup() { lab_baresip_cmd "$1" hangup; }

# lab_baresip_wait_event SIDE TYPE [SECONDS]: waits (default 10 s) for a user-agent event
# of TYPE (CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, ...) from SIDE's baresip.
lab_baresip_wait_event() {
  ft_wait_log "$(lab_baresip_ctrl "$1")" "\"type\": \"$2\"" "${3:-10}"
}

# lab_baresip_event_time SIDE TYPE: the time stamp (seconds) of SIDE's first TYPE event.
lab_baresip_event_time() {
  grep -F "\"type\": \"$2\"" "$(ft_log_of "$(lab_baresip_ctrl "$1")")" | head -n 1 |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["t"])'
}

# lab_baresip_stop SIDE: "quit" (baresip unregisters and exits), then waits for baresip
# and its driver to end (10 s each; a process still running after that fails the test).
lab_baresip_stop() {
  lab_baresip_cmd "$1" quit
  ft_wait_exit "$(lab_baresip_proc "$1")" 10
  ft_wait_exit "$(lab_baresip_ctrl "$1")" 5
}

# lab_baresip_recording SIDE enc|dec: the WAV the sndfile filter wrote for SIDE's call:
# dec = what SIDE received (decoded), enc = what it sent. Fails unless exactly one.
lab_baresip_recording() {
  local f=()
  shopt -s nullglob
  f=("$FT_TMP/baresip-$1/rec/"dump-*-"$2".wav)
  shopt -u nullglob
  [ "${#f[@]}" = 1 ] || ft_fail "baresip $1: expected one $2 recording, found ${#f[@]} in $FT_TMP/baresip-$1/rec"
  printf '%s' "${f[0]}"
}

# ---- floe's user agent (floe answer, floe call) ----------------------------------------------

# The options that give a floe user agent the lab's TURN server (lab_start_stun turn).
# shellcheck disable=SC2034 # used by the scripts that source this file
LAB_FLOE_TURN=(--turn "$LAB_SRV:$LAB_STUN_PORT" --turn-user "$LAB_TURN_USER" --turn-password "$LAB_TURN_PASS")

# lab_floe_answer SIDE NAME USER [OPTION...]: starts `floe answer --once --json` in the
# namespace of SIDE (process NAME: progress in $FT_TMP/NAME.log, the JSON line of the
# call in $FT_TMP/NAME.json), SIP on the user agent's address port 5060, registered as
# USER@$LAB_SRV with kamailio, the lab's STUN server, gathering on the UA's address;
# the OPTIONs are added (--tone, --record, --timeout, LAB_FLOE_TURN, ...). Waits (10 s)
# for the registration.
lab_floe_answer() {
  local side=$1 name=$2 user=$3
  shift 3
  ft_start_split "$name" "$FT_TMP/$name.json" ip netns exec "$(lab_ns "$side")" \
    "$FLOE" answer --listen "$(lab_addr "$side"):$LAB_SIP_PORT" --register "sip:$user@$LAB_SRV" \
    --stun "$LAB_SRV:$LAB_STUN_PORT" --local-addr "$(lab_addr "$side")" --once --json "$@"
  ft_wait_log "$name" "registered as $user@" 10
}

# lab_floe_call SIDE NAME USER URI [OPTION...]: starts `floe call --json` in the namespace
# of SIDE (process NAME, logs as lab_floe_answer): registers USER@$LAB_SRV with kamailio,
# then calls URI through it, with the lab's STUN server and the UA's address; the
# OPTIONs are added (--tone, --record, --duration, --timeout, LAB_FLOE_TURN, ...). Does
# not wait: ft_wait_exit NAME, then read $FT_TMP/NAME.json.
lab_floe_call() {
  local side=$1 name=$2 user=$3 uri=$4
  shift 4
  ft_start_split "$name" "$FT_TMP/$name.json" ip netns exec "$(lab_ns "$side")" \
    "$FLOE" call --proxy "$LAB_SRV:$LAB_SIP_PORT" --register --user "$user" --domain "$LAB_SRV" \
    --stun "$LAB_SRV:$LAB_STUN_PORT" --local-addr "$(lab_addr "$side")" --json "$@" "$uri"
}

# ---- tones ---------------------------------------------------------------------------------

# lab_tone FILE HZ [SECONDS]: writes a sine tone (8 kHz mono 16-bit, default 10 s).
lab_tone() {
  python3 "$FLOE_SRC/tests/lib/tone_check.py" gen "$1" --freq "$2" --seconds "${3:-10}" >/dev/null ||
    ft_fail "cannot write the tone $1"
}

# lab_tone_check WAV HZ [OTHER-HZ] WHAT: the tone HZ dominates WAV (tests/lib/tone_check.py);
# prints the checker's JSON in the ok line.
lab_tone_check() {
  local wav=$1 hz=$2 other=$3 what=$4 out
  out=$(python3 "$FLOE_SRC/tests/lib/tone_check.py" check "$wav" --expect "$hz" --other "$other") ||
    ft_fail "$what: $out"
  ft_ok "$what: $out"
}

# ---- capture in the public namespace --------------------------------------------------------

# lab_capture_start NAME [FILTER]: dumpcap on the public namespace's links to both NATs (so
# every packet between a NAT and the servers, or between the two NATs, is seen; a packet
# from one NAT to the other appears twice, once per link: frame.interface_name tells
# which), UDP only unless FILTER (a capture filter, e.g. "udp or tcp") says otherwise,
# into $FT_TMP/NAME.pcapng. Stops by itself after 120 s.
lab_capture_start() {
  local name=$1 filter=${2:-udp} ifs=() i pid
  for i in "${LAB_PUB_IFS[@]}"; do ifs+=(-i "$i" -f "$filter"); done # (-f: for the -i before it)
  lab_start pub "$name" dumpcap -q "${ifs[@]}" -a duration:120 -w "$FT_TMP/$name.pcapng"
  pid=$FT_LAST_PID
  for ((i = 0; i < 200; i++)); do
    if grep -q "Capturing on" "$FT_TMP/$name.log" 2>/dev/null && [ -s "$FT_TMP/$name.pcapng" ]; then
      sleep 0.2 # dumpcap says it captures just before the filter is attached
      return 0
    fi
    ft_alive "$pid" || ft_fail "dumpcap did not start: $(cat "$FT_TMP/$name.log")"
    sleep 0.05
  done
  ft_fail "dumpcap did not start capturing in $LAB_NS_PUB within 10 s"
}

# lab_capture_stop NAME: as ft_capture_stop.
lab_capture_stop() { ft_capture_stop "$1"; }

# lab_capture_check NAME [--caller SIDE] [--path direct|relay|any] [--min-rtp N]:
# what tshark makes of the capture NAME (taken by lab_capture_start), with RTP found by
# tshark's heuristic (the media ports are those ICE picks, which the SDP may not name):
#   - every UDP datagram decodes as SIP, STUN, RTP or RTCP;
#   - no malformed packet, no expert info of severity warning or error, no bad STUN
#     FINGERPRINT, STUN lengths that add up (tests/lib/common.bash);
#   - the call's flow, read by tests/lab/call_capture.py: both sides registered, INVITE
#     and 200 OK with ICE candidates in their SDP, ACK, BYE, STUN with the server, ICE
#     checks both ways with a nomination, RTP both ways over the expected path.
# SIDE (default a) is the caller. The call's timeline and counts (JSON) are written to
# $FT_TMP/NAME.call.json (lab_capture_timeline prints them).
lab_capture_check() {
  local cap=$1 caller=a path=any min_rtp=50 level
  shift
  while [ $# -gt 0 ]; do
    case $1 in
    --caller) caller=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --min-rtp) min_rtp=$2; shift 2 ;;
    *) ft_fail "internal: lab_capture_check: unknown option $1" ;;
    esac
  done
  # shellcheck disable=SC2034 # read by ft_tshark (tests/lib/common.bash)
  FT_DECODE=(--enable-heuristic rtp_udp)
  local total
  total=$(ft_capture_count "$cap" "frame")
  ft_check "capture $cap: $total UDP datagrams in $LAB_NS_PUB (SIP, STUN, RTP, RTCP)"
  [ "$total" -ge 2 ] || ft_fail "capture $cap holds $total packets"
  ft_capture_expect_none "$cap" "udp && !sip && !stun && !rtp && !rtcp" \
    "a UDP datagram that decodes as neither SIP, STUN, RTP nor RTCP"
  ft_capture_expect_none "$cap" "_ws.malformed" "a malformed packet"
  level=$(ft_expert_warning_level)
  ft_capture_experts "$cap" "$level" ""
  ft_capture_expect_none "$cap" "stun.att.crc32.bad" "a bad STUN FINGERPRINT"
  ft_capture_stun_framing "$cap"
  lab_capture_flow "$cap" "$caller" "$path" "$min_rtp" ||
    ft_fail "capture $cap: the call's flow is not right: $(lab_capture_timeline "$cap")"
  ft_ok "capture $cap: register, INVITE/200/ACK with ICE offer and answer, STUN, checks, nomination, RTP both ways ($path), BYE"
}

# lab_capture_flow NAME CALLER PATH MIN-RTP: only the flow part of lab_capture_check
# (tests/lab/call_capture.py on the capture NAME, CALLER a or b, PATH direct|relay|any):
# writes its JSON line to $FT_TMP/NAME.call.json and returns its status instead of
# failing, so that a benchmark can report a failed call and go on.
lab_capture_flow() {
  local cap=$1 caller=$2 path=$3 min_rtp=$4 callee=a rc=0 out
  [ "$caller" = a ] && callee=b
  # RTP found by heuristics in UDP and, relayed through TURN, in ChannelData
  # shellcheck disable=SC2034 # read by ft_tshark (tests/lib/common.bash)
  FT_DECODE=(--enable-heuristic rtp_udp --enable-heuristic rtp_stun)
  # shellcheck disable=SC2046 # one -e option per field
  ft_tshark "$cap" -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    $(python3 "$LAB_DIR/call_capture.py" --fields) >"$FT_TMP/$cap.tsv"
  out=$(python3 "$LAB_DIR/call_capture.py" "$FT_TMP/$cap.tsv" --caller-if "p$caller$LAB_P" \
    --callee-if "p$callee$LAB_P" --caller-wan "$(lab_wan "$caller")" --callee-wan "$(lab_wan "$callee")" \
    --server "$LAB_SRV" --path "$path" --min-rtp "$min_rtp") || rc=$?
  printf '%s\n' "$out" >"$FT_TMP/$cap.call.json"
  return "$rc"
}

# lab_capture_timeline NAME: the JSON line lab_capture_check wrote for capture NAME.
lab_capture_timeline() { cat "$FT_TMP/$1.call.json"; }

# ---- checks of the lab itself ----------------------------------------------------------------

# lab_check_nat SIDE: proves the NAT in front of SIDE behaves as its kind says. A UDP
# socket of the user agent's host sends to two ports of the public namespace; an echo
# there answers with the source address it saw, and a third port (never contacted) sends
# a datagram to that same address. Cone: one mapping for both destinations; symmetric: two;
# both: the uncontacted port's datagram does not get in (the filtering is address-and-
# port dependent), and the mapping is on the NAT's public address.
lab_check_nat() {
  local side=$1 kind=${LAB_NAT_KIND[$1]} out m1 m2 stranger i
  cat >"$FT_TMP/nat_echo.py" <<'PY'
import select, socket, sys
ip = sys.argv[1]
socks = {}
for port in (4001, 4002, 4003):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    socks[port] = s
for _ in range(2):
    r, _, _ = select.select([socks[4001], socks[4002]], [], [], 5)
    for s in r:
        data, addr = s.recvfrom(100)
        s.sendto(("%s:%d" % addr).encode(), addr)
        socks[4003].sendto(b"stranger", addr)
PY
  lab_start pub "natecho-$side" python3 "$FT_TMP/nat_echo.py" "$LAB_SRV"
  lab_wait_listen pub udp "$LAB_SRV" 4003 "$FT_LAST_PID" 5
  out=$(lab_exec "$side" python3 - "$LAB_SRV" "$(lab_addr "$side")" <<'PY'
import socket, sys
srv, me = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 5999))
s.settimeout(2)
seen, stranger = [], "no"
for port in (4001, 4002):
    s.sendto(b"x", (srv, port))
    while True:
        data, addr = s.recvfrom(100)
        if addr[1] == 4003:
            stranger = "yes"
            continue
        seen.append(data.decode())
        break
s.settimeout(0.5)
try:
    while True:
        data, addr = s.recvfrom(100)
        if addr[1] == 4003:
            stranger = "yes"
except socket.timeout:
    pass
print(seen[0], seen[1], stranger)
PY
  ) || ft_fail "the NAT probe from side $side got no answer"
  ft_wait_exit "natecho-$side" 10
  read -r m1 m2 stranger <<<"$out"
  case $m1 in "$(lab_wan "$side")":*) ;; *) ft_fail "side $side is not translated to $(lab_wan "$side"): $m1" ;; esac
  [ "$stranger" = no ] || ft_fail "NAT $side let in a datagram from a port its host never sent to"
  if [ "$kind" = cone ]; then
    [ "$m1" = "$m2" ] || ft_fail "NAT $side (cone) mapped one socket to $m1 and $m2"
  else
    [ "${m1##*:}" != "${m2##*:}" ] || ft_fail "NAT $side (symmetric) mapped one socket to $m1 for two destinations"
  fi
  ft_ok "NAT $side ($kind): $(lab_addr "$side"):5999 -> $m1 and $m2 for two destinations; an uncontacted port cannot get in"
}

# ---- a baresip call ----------------------------------------------------------------------

# lab_baresip_call CALLER CALLEE SECONDS: CALLER dials the user of CALLEE (who answers by
# itself); both sides must report the call established (10 s) and then incoming RTP
# (CALL_RTPESTAB, 20 s: baresip starts media when its ICE checks end, seconds later);
# the call then lasts SECONDS more with media flowing, CALLER hangs up and both sides
# must report it closed (10 s).
lab_baresip_call() {
  local caller=$1 callee=$2 secs=$3
  lab_baresip_dial "$caller" "sip:${LAB_BARESIP_USER[$callee]}@$LAB_SRV"
  lab_baresip_wait_event "$caller" CALL_ESTABLISHED 10
  lab_baresip_wait_event "$callee" CALL_ESTABLISHED 10
  lab_baresip_wait_event "$caller" CALL_RTPESTAB 20
  lab_baresip_wait_event "$callee" CALL_RTPESTAB 20
  sleep "$secs"
  lab_baresip_hangup "$caller"
  lab_baresip_wait_event "$caller" CALL_CLOSED 10
  lab_baresip_wait_event "$callee" CALL_CLOSED 10
}

# ---- sipp ----------------------------------------------------------------------------------

# lab_sipp_smoke SIDE: sipp, in the namespace of SIDE (behind its NAT), runs
# tests/lab/sipp_registrar.xml against kamailio: REGISTER, OPTIONS to the proxy, an
# INVITE to an unregistered user answered 404, and unREGISTER, each answered through the
# NAT. 20 s at most; the messages are logged in $FT_TMP/sipp-SIDE.msg.
lab_sipp_smoke() {
  local side=$1
  lab_start "$side" "sipp-$side" sipp "$LAB_SRV:$LAB_SIP_PORT" -sf "$LAB_DIR/sipp_registrar.xml" \
    -i "$(lab_addr "$side")" -p 5070 -m 1 -nostdin -timeout 20 -timeout_error \
    -trace_msg -message_file "$FT_TMP/sipp-$side.msg" -trace_err -error_file "$FT_TMP/sipp-$side.err"
  ft_wait_exit "sipp-$side" 25
  [ "$FT_EXIT_STATUS" = 0 ] ||
    ft_fail "sipp on side $side: the registrar/proxy scenario failed (status $FT_EXIT_STATUS): $(tail -n 20 "$FT_TMP/sipp-$side.err" 2>/dev/null)"
  ft_ok "sipp behind NAT $side: REGISTER 200, OPTIONS 200, INVITE to nobody 404, unREGISTER 200"
}
