/* The `floe` command: one entry point per subcommand. Each returns the process exit
 * status (0 success, 1 failure, 2 usage error). */
#ifndef FLOE_APP_CMD_H
#define FLOE_APP_CMD_H

#include <stdbool.h>

#include "floe/addr.h"
#include "floe/transport.h"
#include "floe/time.h"

int floe_cmd_stun(int argc, char **argv);
int floe_cmd_server(int argc, char **argv);
int floe_cmd_bench(int argc, char **argv);
int floe_cmd_ice(int argc, char **argv);
int floe_cmd_sim(int argc, char **argv);
int floe_cmd_turn(int argc, char **argv);
int floe_cmd_demo(int argc, char **argv);
int floe_cmd_call(int argc, char **argv);
int floe_cmd_answer(int argc, char **argv);
int floe_cmd_lab(int argc, char **argv);
int floe_cmd_proxy(int argc, char **argv);
/* `floe bench stun`, the load generator (bench_stun.c), dispatched by floe_cmd_bench. */
int floe_bench_stun(int argc, char **argv);
/* `floe bench turn`, the TURN relay load generator (bench_turn.c). */
int floe_bench_turn(int argc, char **argv);
/* `floe bench ice-memory`, one idle ICE agent's memory (bench_ice.c). */
int floe_bench_ice_memory(int argc, char **argv);

/* Prints "floe <sub>: <message>" on stderr (printf format) and returns 2: one clear line
 * for a usage error. */
int floe_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- option helpers (cli.c) ---- */

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; returns true and sets *val (NULL
 * when the value is missing), stepping *i over a separate value. */
bool floe_cli_value(int argc, char **argv, int *i, const char *name, const char **val);

/* --ipv4/-4 and --ipv6/-6, which exclude each other. False when arg is neither; else true
 * with *rc 0 and *family set (FLOE_AF_INET4 or _INET6), or *rc 2 after the usage error of
 * `sub` when the other family was asked for before. */
bool floe_cli_family(const char *sub, const char *arg, int *family, int *rc);

/* A decimal number from lo to hi, without sign; false for NULL or anything else. */
bool floe_cli_uint(const char *s, unsigned long lo, unsigned long hi, unsigned *out);

/* The value of --timeout: seconds, more than 0 and at most FLOE_CLI_TIMEOUT_MAX_S. Returns 0
 * with *seconds set, or prints the usage error of `sub` and returns 2. */
#define FLOE_CLI_TIMEOUT_MAX_S 3600.0
int floe_cli_timeout(const char *sub, const char *v, double *seconds);
/* Those seconds as nanoseconds, at least 1 ms. */
floe_time_ns floe_cli_timeout_ns(double seconds);

/* "IP:PORT" ("[IPv6]:PORT"), or "none" for an unset address. */
typedef struct floe_cli_addr_text {
    char s[FLOE_ADDR_STRLEN];
} floe_cli_addr_text;
floe_cli_addr_text floe_cli_addr(const floe_addr *a);
/* The host part of HOST[:PORT] into out (cap bytes, cut to fit), for TLS name checks:
 * "[::1]:5349" -> "::1", "stun.example.net:3478" -> "stun.example.net". */
void floe_cli_host_part(const char *target, char *out, size_t cap);

/* A TURN server given on the command line: HOST[:PORT] (over UDP), or an RFC 7065 URI,
 * "turn:HOST[:PORT][?transport=udp|tcp]" or "turns:HOST[:PORT][?transport=tcp]" (TLS).
 * Writes the HOST[:PORT] part to hostport (for floe_rt_resolve), the transport to *tp and
 * the port to use when none is given (3478, or 5349 for turns:) to *default_port. False
 * for a malformed URI (empty host, another scheme or query, transport=udp with turns:,
 * too long for cap). */
bool floe_cli_turn_server(const char *arg, char *hostport, size_t cap, floe_transport *tp,
                          uint16_t *default_port);

#endif
