/* The POSIX runtime shared by `floe call` and `floe answer`: one SIP user agent
 * (floe/sip_ua.h, sans-IO) driven on the epoll loop, with its UDP SIP socket, a media
 * socket per local address, audio from a WAV file or a tone, and the received audio
 * written to a WAV file. cmd_call.c and cmd_answer.c only bring their help text. */
#ifndef FLOE_APP_CALL_RT_H
#define FLOE_APP_CALL_RT_H

#include <stdbool.h>

/* Runs `floe <sub>` with argv (argv[0] is the subcommand): caller true for `floe call`,
 * false for `floe answer`. help is printed for -h/--help. Returns the exit status: 0 for a
 * call answered with media both ways, 1 for a failed call, 2 for a usage error. */
int floe_call_rt_run(const char *sub, bool caller, const char *help, int argc, char **argv);

/* The help lines floe call and floe answer share. */
#define FLOE_CALL_HELP_SERVERS                                                                     \
    "  --stun HOST[:PORT]       a STUN server for server-reflexive candidates (repeatable).\n"     \
    "  --turn URI --turn-user U --turn-password P\n"                                               \
    "                           a TURN server for relayed candidates (RFC 7065 URI):\n"            \
    "                           HOST[:PORT] or turn:HOST[:PORT] over UDP,\n"                       \
    "                           turn:HOST[:PORT]?transport=tcp over TCP, turns:HOST[:PORT]\n"      \
    "                           over TLS (where a firewall lets no UDP out).\n"                    \
    "  --turn-ca PEM            verify a turns: server against these CAs (default: the\n"          \
    "                           system's); --turn-insecure does not verify it.\n"

#define FLOE_CALL_HELP_TRANSPORT                                                                   \
    "  --transport udp|tcp      how our own requests go (default udp); SIP over TCP is\n"          \
    "                           also taken on the SIP port either way.\n"                          \
    "  --no-ice                 a plain RFC 3264 offer/answer: no ICE, the default\n"              \
    "                           candidate only (to test peers without ICE).\n"

#endif
