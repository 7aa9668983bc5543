/* `floe answer`: waits for SIP calls with ICE, answers them with audio and reports each
 * call's timeline. The runtime is in call_rt.c. */
#include "call_rt.h"
#include "cmd.h"

static const char help_text[] =
    "usage: floe answer [options]\n"
    "\n"
    "Answers SIP calls with ICE (RFC 8445, RFC 8839): an incoming INVITE is gathered for\n"
    "and answered in a reliable 183 with our candidates; the phone rings (180) only once\n"
    "the checks found a path, and the call is answered (200) --answer-after seconds\n"
    "later. Audio (PCMU/PCMA, 20 ms packets) flows on the selected pair until the caller\n"
    "hangs up. One call at a time; another INVITE meanwhile gets 486 Busy Here.\n"
    "A caller that offers ICE without 100rel cannot take an early answer: floe then\n"
    "checks the caller's candidates itself, rings once a check succeeded, and puts its\n"
    "answer in the 200 (the caller nominates after it). A caller without ICE gets a\n"
    "plain answer and the phone rings at once.\n"
    "\n"
    "options:\n"
    "  --listen ADDR:PORT       the address for SIP over UDP and TCP (default 0.0.0.0:5060).\n"
    "  --register sip:user@registrar\n"
    "                           register as user with the registrar (also the proxy,\n"
    "                           unless --proxy names another one).\n"
    "  --proxy HOST:PORT        the outbound proxy.\n"
    "  --user NAME, --domain D  our identity (default floe, our SIP address).\n"
    "  --password P             answer digest challenges (401/407) with this "
    "password.\n" FLOE_CALL_HELP_SERVERS
    "  --play IN.wav            send this 8 kHz file (played in a loop) instead of a tone.\n"
    "  --tone HZ                send a sine tone of HZ (default 1000).\n"
    "  --record OUT.wav         write the received audio (8 kHz mono 16 bit); gaps are\n"
    "                           filled with silence.\n"
    "  --answer-after S         answer S seconds after ringing starts (default 0).\n"
    "  --once                   exit after one call (its result is the exit status).\n"
    "  --timeout S              give up when no call was answered within S "
    "seconds.\n" FLOE_CALL_HELP_TRANSPORT
    "  --local-addr IP          gather on this local address (repeatable).\n"
    "  --loopback               gather on loopback addresses only (tests).\n"
    "  --ipv4, --ipv6           addresses of this family only.\n"
    "  --json                   print one JSON line per call (see 'floe call --help').\n"
    "  --quiet                  no progress lines on stderr.\n"
    "  -h, --help               show this help.\n"
    "\n"
    "exit status: with --once, 0 when the call was answered and had media both ways,\n"
    "1 otherwise; without it, 0 when stopped by SIGINT or SIGTERM; 2 for a usage error.\n";

int floe_cmd_answer(int argc, char **argv) {
    return floe_call_rt_run("answer", false, help_text, argc, argv);
}
