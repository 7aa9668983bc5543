/* floe POSIX runtime: sockaddr conversion, getaddrinfo-based resolution, socket basics. */
#define _GNU_SOURCE
#include "rt_sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "floe/err.h"

/* Longest host name we accept (RFC 1035: 253 characters plus an optional root dot), or an
 * IPv6 literal with a zone. */
enum { SOCK_HOST_MAX = 256 };

/* ---- sockaddr <-> floe_addr ------------------------------------------------------------ */

int floe_rt_addr_to_sockaddr(const floe_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
    if (!a || !ss) return FLOE_ERR_INVAL;
    memset(ss, 0, sizeof *ss);
    if (a->family == FLOE_AF_INET4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip, 4);
        if (len) *len = sizeof *sin;
        return FLOE_OK;
    }
    if (a->family == FLOE_AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        memcpy(&sin6->sin6_addr, a->ip, 16);
        sin6->sin6_scope_id = a->scope_id;
        if (len) *len = sizeof *sin6;
        return FLOE_OK;
    }
    return FLOE_ERR_INVAL;
}

int floe_rt_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, floe_addr *out) {
    if (!sa || !out) return FLOE_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        out->family = FLOE_AF_INET4;
        out->port = ntohs(sin.sin_port);
        memcpy(out->ip, &sin.sin_addr, 4);
        return FLOE_OK;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        out->family = FLOE_AF_INET6;
        out->port = ntohs(sin6.sin6_port);
        memcpy(out->ip, &sin6.sin6_addr, 16);
        out->scope_id = sin6.sin6_scope_id;
        return FLOE_OK;
    }
    return FLOE_ERR_INVAL;
}

int floe_rt_err_from_errno(int e) {
    switch (e) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ETIMEDOUT: return FLOE_ERR_UNREACHABLE;
    case ENOMEM: return FLOE_ERR_NOMEM;
    case EMFILE:
    case ENFILE: return FLOE_ERR_LIMIT;
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
    case EOPNOTSUPP: return FLOE_ERR_UNSUPPORTED;
    default: return FLOE_ERR_IO;
    }
}

/* ---- resolution ------------------------------------------------------------------------ */

/* Parses a decimal port of 1 to 5 digits, at most 65535. */
static int sock_parse_port(const char *s, uint16_t *port) {
    size_t len = strlen(s);
    if (len == 0 || len > 5) return FLOE_ERR_ADDR;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return FLOE_ERR_ADDR;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535) return FLOE_ERR_ADDR;
    *port = (uint16_t)v;
    return FLOE_OK;
}

/* Splits hostport into host (copied to buf) and port; *bracketed tells "[v6]" forms. */
static int sock_split(const char *s, uint16_t default_port, char *host, size_t cap, uint16_t *port,
                      bool *bracketed) {
    const char *h = s, *port_str = NULL;
    size_t hlen;
    *bracketed = false;
    *port = default_port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return FLOE_ERR_ADDR;
        h = s + 1;
        hlen = (size_t)(close - h);
        if (close[1] == ':')
            port_str = close + 2;
        else if (close[1] != '\0')
            return FLOE_ERR_ADDR;
        *bracketed = true;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && !strchr(colon + 1, ':')) {
            hlen = (size_t)(colon - s);
            port_str = colon + 1;
        } else {
            hlen = strlen(s); /* no colon, or a bare IPv6 literal */
        }
    }
    if (hlen == 0 || hlen >= cap) return FLOE_ERR_ADDR;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (port_str) return sock_parse_port(port_str, port);
    return FLOE_OK;
}

/* True when name ends with the label suffix ("localhost" matches "localhost" and
 * "a.localhost"), ignoring case and one trailing root dot. */
static bool sock_name_is_under(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    if (n > 0 && name[n - 1] == '.') n--;
    if (n < s || strncasecmp(name + n - s, suffix, s) != 0) return false;
    return n == s || name[n - s - 1] == '.';
}

/* True when the last label is a number (decimal, or 0x hex): then the name is an attempt at
 * an IPv4 address, never a DNS name (no top-level domain is numeric). */
static bool sock_ends_in_number(const char *name) {
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.') n--;
    size_t start = n;
    while (start > 0 && name[start - 1] != '.')
        start--;
    const char *l = name + start;
    size_t llen = n - start;
    if (llen == 0) return false;
    size_t i = 0;
    bool hex = llen >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X');
    if (hex) i = 2;
    for (; i < llen; i++) {
        char c = l[i];
        bool ok =
            (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
        if (!ok) return false;
    }
    return true;
}

/* A DNS name as getaddrinfo should see it: ASCII letters, digits, '-', '_' and dots. */
static bool sock_name_chars_ok(const char *name) {
    if (strlen(name) > 254) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return name[0] != '.';
}

static bool sock_same(const floe_addr *a, const floe_addr *b) {
    return a->family == b->family && a->port == b->port && a->scope_id == b->scope_id &&
           memcmp(a->ip, b->ip, sizeof a->ip) == 0;
}

/* Appends a unless already present; returns false when out is full. */
static bool sock_append(const floe_addr *a, floe_addr *out, size_t max, size_t *n) {
    for (size_t i = 0; i < *n; i++)
        if (sock_same(&out[i], a)) return true;
    if (*n >= max) return false;
    out[(*n)++] = *a;
    return true;
}

static int sock_gai_error(int e) {
    switch (e) {
    case EAI_MEMORY: return FLOE_ERR_NOMEM;
    case EAI_SYSTEM: return FLOE_ERR_IO;
    default: /* EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_AGAIN, EAI_FAIL, ... */
        return FLOE_ERR_RESOLVE;
    }
}

int floe_rt_resolve(const char *hostport, uint16_t default_port, int family_pref, floe_addr *out,
                    size_t max, size_t *n) {
    if (n) *n = 0;
    if (!hostport || !out || max == 0 || !n) return FLOE_ERR_INVAL;
    if (family_pref != FLOE_AF_NONE && family_pref != FLOE_AF_INET4 && family_pref != FLOE_AF_INET6)
        return FLOE_ERR_INVAL;

    char host[SOCK_HOST_MAX];
    uint16_t port;
    bool bracketed;
    int err = sock_split(hostport, default_port, host, sizeof host, &port, &bracketed);
    if (err) return err;

    bool want4 = family_pref != FLOE_AF_INET6, want6 = family_pref != FLOE_AF_INET4;

    /* IPv4 literal: strictly a dotted quad. */
    struct in_addr v4;
    if (!bracketed && !strchr(host, ':') && sock_ends_in_number(host)) {
        if (inet_pton(AF_INET, host, &v4) != 1) return FLOE_ERR_ADDR;
        if (!want4) return FLOE_ERR_RESOLVE;
        memset(&out[0], 0, sizeof out[0]);
        out[0].family = FLOE_AF_INET4;
        out[0].port = port;
        memcpy(out[0].ip, &v4, 4);
        *n = 1;
        return FLOE_OK;
    }

    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_DGRAM; /* one entry per address, not one per protocol */
    if (bracketed || strchr(host, ':')) {
        /* IPv6 literal, possibly with a %zone: numeric only, never DNS. */
        hints.ai_family = AF_INET6;
        hints.ai_flags = AI_NUMERICHOST;
        if (!want6) {
            struct addrinfo *probe = NULL;
            int e = getaddrinfo(host, NULL, &hints, &probe);
            if (probe) freeaddrinfo(probe);
            return e ? FLOE_ERR_ADDR : FLOE_ERR_RESOLVE;
        }
        struct addrinfo *res = NULL;
        int e = getaddrinfo(host, NULL, &hints, &res);
        if (e) {
            if (res) freeaddrinfo(res);
            return e == EAI_MEMORY ? FLOE_ERR_NOMEM : FLOE_ERR_ADDR;
        }
        err = floe_rt_addr_from_sockaddr(res->ai_addr, res->ai_addrlen, &out[0]);
        freeaddrinfo(res);
        if (err) return FLOE_ERR_ADDR;
        out[0].port = port;
        *n = 1;
        return FLOE_OK;
    }

    if (!sock_name_chars_ok(host)) return FLOE_ERR_ADDR;
    /* RFC 6761 §6.4: .invalid never resolves; §6.3: localhost is always the loopback. */
    if (sock_name_is_under(host, "invalid")) return FLOE_ERR_RESOLVE;
    if (sock_name_is_under(host, "localhost")) {
        floe_addr a;
        if (want4) {
            memset(&a, 0, sizeof a);
            a.family = FLOE_AF_INET4;
            a.port = port;
            a.ip[0] = 127;
            a.ip[3] = 1;
            sock_append(&a, out, max, n);
        }
        if (want6) {
            memset(&a, 0, sizeof a);
            a.family = FLOE_AF_INET6;
            a.port = port;
            a.ip[15] = 1;
            sock_append(&a, out, max, n);
        }
        return FLOE_OK;
    }

    /* A name. No AI_ADDRCONFIG: on a host with only loopback it would hide every address. */
    hints.ai_family = family_pref == FLOE_AF_INET4   ? AF_INET
                      : family_pref == FLOE_AF_INET6 ? AF_INET6
                                                     : AF_UNSPEC;
    struct addrinfo *res = NULL;
    int e = getaddrinfo(host, NULL, &hints, &res);
    if (e) {
        if (res) freeaddrinfo(res);
        return sock_gai_error(e);
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        floe_addr a;
        if (floe_rt_addr_from_sockaddr(ai->ai_addr, ai->ai_addrlen, &a)) continue;
        if ((a.family == FLOE_AF_INET4 && !want4) || (a.family == FLOE_AF_INET6 && !want6))
            continue;
        a.port = port;
        if (!sock_append(&a, out, max, n)) break;
    }
    freeaddrinfo(res);
    return *n > 0 ? FLOE_OK : FLOE_ERR_RESOLVE;
}

/* ---- sockets --------------------------------------------------------------------------- */

int floe_rt_socket(int family, int type, int *fd_out) {
    if (!fd_out) return FLOE_ERR_INVAL;
    *fd_out = -1;
    int af;
    if (family == FLOE_AF_INET4)
        af = AF_INET;
    else if (family == FLOE_AF_INET6)
        af = AF_INET6;
    else
        return FLOE_ERR_INVAL;
    int fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return floe_rt_err_from_errno(errno);
    if (af == AF_INET6) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return FLOE_ERR_IO;
        }
    }
    *fd_out = fd;
    return FLOE_OK;
}

int floe_rt_local_addr(int fd, floe_addr *out) {
    if (!out) return FLOE_ERR_INVAL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return FLOE_ERR_IO;
    return floe_rt_addr_from_sockaddr((struct sockaddr *)&ss, len, out) ? FLOE_ERR_IO : FLOE_OK;
}

int floe_rt_peer_addr(int fd, floe_addr *out) {
    if (!out) return FLOE_ERR_INVAL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return FLOE_ERR_IO;
    return floe_rt_addr_from_sockaddr((struct sockaddr *)&ss, len, out) ? FLOE_ERR_IO : FLOE_OK;
}
