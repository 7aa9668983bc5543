/* `floe server` settings: defaults, the config file and the command line. */
#ifndef FLOE_APP_SERVER_CONFIG_H
#define FLOE_APP_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/addr.h"
#include "floe/stun_server.h"

#define SERVER_MAX_LISTEN 32

typedef struct server_listen {
    floe_transport transport;
    floe_addr addr;
} server_listen;

typedef struct server_settings {
    server_listen listen[SERVER_MAX_LISTEN];
    size_t n_listen;
    char tls_cert[512];
    char tls_key[512];
    bool rfc5780;
    floe_addr alt_address;
    bool classic;
    char software[128];
    char control[512];
    unsigned max_streams;   /* concurrent TCP/TLS connections */
    unsigned stream_idle_s; /* idle stream connections are closed after this */
    bool stats;             /* --stats: print a running server's counters and exit */
    bool check_config;      /* --check-config: validate and exit */
} server_settings;

/* Fills defaults (control path depends on the user). */
void server_settings_default(server_settings *s);
/* Parses argv (and a --config file, whose values the command line overrides).
 * Returns 0, or the exit status after printing one error line (2 usage, 1 config),
 * or -1 after printing --help (exit 0). */
int server_settings_parse(server_settings *s, int argc, char **argv);
/* Adds a listener from "[udp|tcp|tls://]ADDR:PORT"; without a scheme both udp and tcp.
 * Returns 0 or writes an error message into err. */
int server_settings_add_listen(server_settings *s, const char *spec, char *err, size_t errcap);

#endif
