/* floe: the command-line entry point and subcommand dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef FLOE_VERSION
#define FLOE_VERSION "0.1.0"
#endif

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"stun", floe_cmd_stun, "ask a STUN server for your mapped address, or probe NAT behaviour"},
    {"server", floe_cmd_server, "run a STUN and TURN server over UDP, TCP and TLS"},
    {"turn", floe_cmd_turn, "allocate a relayed address on a TURN server, relay to a peer"},
    {"bench", floe_cmd_bench, "load generators for benchmarks (stun, echo)"},
    {"ice", floe_cmd_ice, "an ICE peer for scripts and interop (SDP files in and out)"},
    {"sim", floe_cmd_sim, "ICE through simulated NATs in virtual time: scenarios, the NAT matrix"},
    {"call", floe_cmd_call, "place a SIP call with ICE and audio (sip:user@host)"},
    {"answer", floe_cmd_answer, "answer SIP calls with ICE and audio"},
    {"proxy", floe_cmd_proxy, "a stateless SIP proxy and registrar over UDP"},
    {"demo", floe_cmd_demo, "a SIP call with ICE between two simulated NATs, tones checked"},
    {"lab", floe_cmd_lab, "the same call across real Linux NATs (namespaces, nftables; root)"},
};

int floe_usage_error(const char *sub, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe%s%s: ", sub ? " " : "", sub ? sub : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'floe%s%s --help')\n", sub ? " " : "", sub ? sub : "");
    va_end(ap);
    return 2;
}

static void usage(FILE *f) {
    fprintf(f, "usage: floe <command> [options]\n\n"
               "floe makes SIP calls work through NATs and firewalls with ICE: STUN and TURN\n"
               "client and server, an ICE agent, a SIP user agent and proxy, and a simulator.\n"
               "\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\n'floe <command> --help' explains each command's options.\n"
               "'floe --version' prints the version.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("floe %s\n", FLOE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(cmd, subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    return floe_usage_error(NULL, "unknown command '%s'", cmd);
}
