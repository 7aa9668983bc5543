/* floe POSIX runtime: the local IP addresses of this host, per interface (getifaddrs).
 *
 * ICE gathers its host candidates from these: one socket per usable address. The list
 * holds IPv4 and IPv6 addresses of interfaces that are up; interfaces that are down,
 * non-IP entries (AF_PACKET, ...), unspecified and multicast addresses never appear.
 * A filter narrows it further (one family, loopback only or no loopback, link-local or
 * not, one interface). Entries come in the system's order, duplicates removed.
 *
 * Errors are negative floe_err values with errno kept. */
#ifndef FLOE_RT_IFADDRS_H
#define FLOE_RT_IFADDRS_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest interface name, NUL included (IFNAMSIZ on Linux). */
#define FLOE_RT_IFNAME_MAX 16

/* Interface flags of an entry. */
enum {
    FLOE_RT_IF_UP = 1u << 0,       /* administratively up (always set in the list) */
    FLOE_RT_IF_RUNNING = 1u << 1,  /* operationally up: the link carries traffic */
    FLOE_RT_IF_LOOPBACK = 1u << 2, /* the loopback interface */
};

typedef struct floe_rt_ifaddr {
    char name[FLOE_RT_IFNAME_MAX]; /* "eth0", "lo", "wg0" */
    unsigned index;                /* interface index (if_nametoindex), 0 if unknown */
    floe_addr addr;                /* port 0; an IPv6 link-local address has its scope_id */
    unsigned flags;                /* FLOE_RT_IF_* */
} floe_rt_ifaddr;

/* Which addresses to keep. A zeroed filter keeps every up, non-loopback, non-link-local
 * address of both families. */
typedef struct floe_rt_ifaddr_filter {
    int family;           /* FLOE_AF_NONE (both), FLOE_AF_INET4 or FLOE_AF_INET6 */
    bool loopback_only;   /* keep loopback addresses only (127/8, ::1) */
    bool with_loopback;   /* also keep loopback addresses (ignored with loopback_only) */
    bool with_link_local; /* also keep 169.254/16 and fe80::/10 */
    bool running_only;    /* drop interfaces that are up but not running */
    const char *name;     /* only this interface (NULL: any) */
} floe_rt_ifaddr_filter;

/* Lists the addresses that pass filter f (NULL: the zeroed filter) into out, at most max
 * of them, and sets *total to how many passed in all (more than max when out was too
 * short). Returns FLOE_OK, FLOE_ERR_INVAL, or FLOE_ERR_IO / FLOE_ERR_NOMEM when
 * getifaddrs fails. */
int floe_rt_ifaddrs(const floe_rt_ifaddr_filter *f, floe_rt_ifaddr *out, size_t max, size_t *total);

/* Finds the interface that holds IP address ip (port ignored) and copies its entry into
 * out (with ip's port). Returns FLOE_OK, FLOE_ERR_NOT_FOUND, or an error as above. */
int floe_rt_ifaddr_find(const floe_addr *ip, floe_rt_ifaddr *out);

#ifdef __cplusplus
}
#endif
#endif
