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

#endif
