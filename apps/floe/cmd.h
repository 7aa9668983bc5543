/* The `floe` command: one entry point per subcommand. Each returns the process exit
 * status (0 success, 1 failure, 2 usage error). */
#ifndef FLOE_APP_CMD_H
#define FLOE_APP_CMD_H

int floe_cmd_stun(int argc, char **argv);
int floe_cmd_server(int argc, char **argv);
int floe_cmd_bench(int argc, char **argv);
int floe_cmd_ice(int argc, char **argv);
int floe_cmd_sim(int argc, char **argv);
/* `floe bench stun`, the load generator (bench_stun.c), dispatched by floe_cmd_bench. */
int floe_bench_stun(int argc, char **argv);
/* `floe bench ice-memory`, one idle ICE agent's memory (bench_ice.c). */
int floe_bench_ice_memory(int argc, char **argv);

/* Prints "floe <sub>: <message>" on stderr (printf format) and returns 2: one clear line
 * for a usage error. */
int floe_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
