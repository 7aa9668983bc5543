/* Command-line helpers shared by the subcommands: option values, the address family
 * options, numbers, and the text of an address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

bool floe_cli_value(int argc, char **argv, int *i, const char *name, const char **val) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return false;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0') return false;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

bool floe_cli_family(const char *sub, const char *arg, int *family, int *rc) {
    int want;
    if (!strcmp(arg, "--ipv4") || !strcmp(arg, "-4"))
        want = FLOE_AF_INET4;
    else if (!strcmp(arg, "--ipv6") || !strcmp(arg, "-6"))
        want = FLOE_AF_INET6;
    else
        return false;
    *rc = 0;
    if (*family != FLOE_AF_NONE && *family != want)
        *rc = floe_usage_error(sub, "--ipv4 and --ipv6 exclude each other");
    else
        *family = want;
    return true;
}

bool floe_cli_uint(const char *s, unsigned long lo, unsigned long hi, unsigned *out) {
    if (!s) return false;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-' || s[0] == '+' || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

int floe_cli_timeout(const char *sub, const char *v, double *seconds) {
    if (!v) return floe_usage_error(sub, "--timeout needs a number of seconds");
    char *end = NULL;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(s > 0.0) || s > FLOE_CLI_TIMEOUT_MAX_S)
        return floe_usage_error(sub, "bad --timeout '%s' (seconds, more than 0, at most %g)", v,
                                FLOE_CLI_TIMEOUT_MAX_S);
    *seconds = s;
    return 0;
}

floe_time_ns floe_cli_timeout_ns(double seconds) {
    floe_time_ns t = (floe_time_ns)(seconds * 1e9);
    return t < FLOE_MS(1) ? FLOE_MS(1) : t;
}

floe_cli_addr_text floe_cli_addr(const floe_addr *a) {
    floe_cli_addr_text t;
    if (a->family == FLOE_AF_NONE)
        snprintf(t.s, sizeof t.s, "none");
    else
        floe_addr_format(a, true, t.s, sizeof t.s);
    return t;
}

void floe_cli_host_part(const char *target, char *out, size_t cap) {
    const char *h = target;
    size_t n;
    if (target[0] == '[') {
        const char *close = strchr(target, ']');
        h = target + 1;
        n = close ? (size_t)(close - h) : strlen(h);
    } else {
        const char *colon = strchr(target, ':');
        n = (colon && !strchr(colon + 1, ':')) ? (size_t)(colon - target) : strlen(target);
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, h, n);
    out[n] = '\0';
}

bool floe_cli_turn_server(const char *arg, char *hostport, size_t cap, floe_transport *tp,
                          uint16_t *default_port) {
    const char *rest = arg;
    bool secure = false;
    *tp = FLOE_TRANSPORT_UDP;
    *default_port = 3478;
    if (!strncmp(arg, "turns:", 6)) {
        secure = true;
        rest = arg + 6;
        *tp = FLOE_TRANSPORT_TLS;
        *default_port = 5349;
    } else if (!strncmp(arg, "turn:", 5)) {
        rest = arg + 5;
    }
    const char *q = strchr(rest, '?');
    size_t n = q ? (size_t)(q - rest) : strlen(rest);
    if (n == 0 || n >= cap || (rest[0] == '/' && rest != arg)) return false;
    memcpy(hostport, rest, n);
    hostport[n] = '\0';
    if (!q) return true;
    if (rest == arg) return false; /* a query needs the URI form */
    if (!strcmp(q, "?transport=tcp")) {
        if (!secure) *tp = FLOE_TRANSPORT_TCP;
        return true;
    }
    return !strcmp(q, "?transport=udp") && !secure;
}
