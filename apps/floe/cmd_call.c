/* `floe call`: places one SIP call with ICE and audio, hangs up after --duration of media
 * and reports the call's timeline. The runtime is in call_rt.c. */
#include "call_rt.h"
#include "cmd.h"

static const char help_text[] =
    "usage: floe call [options] sip:user@host[:port]\n"
    "\n"
    "Calls sip:user@host with ICE (RFC 8445, RFC 8839): gathers candidates, sends the\n"
    "offer in the INVITE, PRACKs the callee's reliable 183 with its answer, runs the\n"
    "checks and nominates; the callee rings (180) only once a path works, then answers\n"
    "(200). Audio (PCMU/PCMA, 20 ms packets) flows on the selected pair; after --duration\n"
    "seconds of it the call is hung up (BYE).\n"
    "\n"
    "options:\n"
    "  --proxy HOST:PORT        send the INVITE (and REGISTER) through this proxy; without\n"
    "                           it the host of the address must be an IP address.\n"
    "  --register               register with --proxy first (REGISTER), then call.\n"
    "  --user NAME              our user name (default floe-caller).\n"
    "  --domain D               our domain (From); default our SIP address.\n"
    "  --password P             answer digest challenges (401/407) with this "
    "password.\n" FLOE_CALL_HELP_SERVERS
    "  --play IN.wav            send this 8 kHz file (played in a loop) instead of a tone.\n"
    "  --tone HZ                send a sine tone of HZ (default 440).\n"
    "  --record OUT.wav         write the received audio (8 kHz mono 16 bit); gaps are\n"
    "                           filled with silence.\n"
    "  --duration S             seconds of media before hanging up (default 5).\n"
    "  --ice-restart S          restart ICE S seconds after the answer (RFC 8445 9): a\n"
    "                           re-INVITE offers new credentials, the checks run again\n"
    "                           and media stays on the old pair until the new one.\n"
    "  --timeout S              give up when the call is not answered within S seconds\n"
    "                           (default 30).\n" FLOE_CALL_HELP_TRANSPORT
    "  --local-addr IP          gather on this local address (repeatable). Default: every\n"
    "                           address of every interface that is up, except loopback\n"
    "                           and link-local ones.\n"
    "  --loopback               gather on loopback addresses only (tests).\n"
    "  --ipv4, --ipv6           addresses of this family only.\n"
    "  --json                   print one JSON line with the result at the end.\n"
    "  --quiet                  no progress lines on stderr.\n"
    "  -h, --help               show this help.\n"
    "\n"
    "output:\n"
    "  Progress lines on stderr with the milliseconds since the start: gathering, the\n"
    "  offer sent (INVITE), 183, checks, the nominated pair, ringing, answered, the first\n"
    "  RTP sent and received, the hang-up. With --json one line on stdout with ok, role,\n"
    "  state, timeline (ms from the INVITE to 183, nominated, 180, 200, first_rtp_sent,\n"
    "  first_rtp_received; null when it did not happen), ice, selected (local and\n"
    "  remote, each {type, addr}), packets_sent, packets_received, packets_lost,\n"
    "  reinvite_sent, status and reason (what ended the call), error when not ok.\n"
    "\n"
    "exit status: 0 for a call that was answered and had media both ways; 1 for a\n"
    "failed call; 2 for a usage error.\n";

int floe_cmd_call(int argc, char **argv) {
    return floe_call_rt_run("call", true, help_text, argc, argv);
}
