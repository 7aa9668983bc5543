/* `floe server` settings: defaults, the config file and the command line. Every config
 * file key is also a long option (--key VALUE), and the other way round. */
#ifndef FLOE_APP_SERVER_CONFIG_H
#define FLOE_APP_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun_server.h"

#define SERVER_MAX_LISTEN 32
#define SERVER_MAX_PREFIXES 256
#define SERVER_MAX_WORKERS 64 /* event loops (threads); also bounds the worker label */

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
    char config[512];       /* the --config file, read again on SIGHUP */
    unsigned max_streams;   /* concurrent TCP/TLS connections */
    unsigned stream_idle_s; /* idle stream connections are closed after this */
    bool stats;             /* --stats: print a running server's counters and exit */
    bool check_config;      /* --check-config: validate and exit */
    unsigned workers;       /* event loops, one thread each (resolved when "auto") */
    bool workers_auto;      /* workers = auto: the online CPUs */

    /* TURN: on when a realm is set. */
    char realm[256];
    char **users; /* "name:password", owned */
    size_t n_users;
    char **secrets; /* TURN REST shared secrets, owned */
    size_t n_secrets;
    floe_addr relay_ip[2]; /* at most one per family */
    size_t n_relay_ip;
    unsigned relay_port_lo, relay_port_hi;
    floe_addr_prefix allow_peer[SERVER_MAX_PREFIXES];
    size_t n_allow_peer;
    floe_addr_prefix deny_peer[SERVER_MAX_PREFIXES];
    size_t n_deny_peer;
    unsigned max_allocations, user_quota, max_permissions, max_channels;
    unsigned max_reservations; /* ports held for RESERVATION-TOKENs */
    unsigned default_lifetime_s, max_lifetime_s, nonce_lifetime_s;
    unsigned unauth_rate, unauth_burst;
    unsigned kbps_allocation, kbps_total; /* kilobytes per second; 0 = no cap */
    unsigned drain_timeout_s;
    bool metrics_on;
    floe_addr metrics; /* Prometheus /metrics */
} server_settings;

/* Fills defaults (control path depends on the user). */
void server_settings_default(server_settings *s);
/* Frees what the settings own (users, secrets). */
void server_settings_free(server_settings *s);
/* Parses argv (and a --config file, whose values the command line overrides).
 * Returns 0, or the exit status after printing one error line (2 usage, 1 config),
 * or -1 after printing --help (exit 0). */
int server_settings_parse(server_settings *s, int argc, char **argv);
/* Adds a listener from "[udp|tcp|tls|dtls://]ADDR[:PORT]"; without a scheme both udp and tcp.
 * Returns 0 or writes an error message into err. */
int server_settings_add_listen(server_settings *s, const char *spec, char *err, size_t errcap);
/* Prints the effective settings as a config file would say them (--check-config). */
void server_settings_print(const server_settings *s);

#endif
