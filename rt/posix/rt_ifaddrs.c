/* floe POSIX runtime: local interface addresses from getifaddrs(3). */
#define _GNU_SOURCE
#include "rt_ifaddrs.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "floe/err.h"
#include "rt_sock.h"

/* Converts one getifaddrs entry; false for entries that are never listed (no address,
 * not IP, interface down, unspecified or multicast). */
static bool entry_from(const struct ifaddrs *ifa, floe_rt_ifaddr *e) {
    if (!ifa->ifa_addr || !ifa->ifa_name) return false;
    socklen_t len;
    if (ifa->ifa_addr->sa_family == AF_INET)
        len = sizeof(struct sockaddr_in);
    else if (ifa->ifa_addr->sa_family == AF_INET6)
        len = sizeof(struct sockaddr_in6);
    else
        return false;
    if (!(ifa->ifa_flags & IFF_UP)) return false;
    memset(e, 0, sizeof *e);
    if (floe_rt_addr_from_sockaddr(ifa->ifa_addr, len, &e->addr) != FLOE_OK) return false;
    e->addr.port = 0;
    uint32_t cls = floe_addr_classify(&e->addr, NULL);
    if (cls & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST)) return false;
    /* Only link-local IPv6 addresses need their zone; drop any other. */
    if (e->addr.family == FLOE_AF_INET6 && !(cls & FLOE_ADDR_LINK_LOCAL)) e->addr.scope_id = 0;
    size_t n = strlen(ifa->ifa_name);
    if (n >= sizeof e->name) n = sizeof e->name - 1;
    memcpy(e->name, ifa->ifa_name, n);
    e->name[n] = '\0';
    e->index = if_nametoindex(ifa->ifa_name);
    e->flags = FLOE_RT_IF_UP;
    if (ifa->ifa_flags & IFF_RUNNING) e->flags |= FLOE_RT_IF_RUNNING;
    if (ifa->ifa_flags & IFF_LOOPBACK) e->flags |= FLOE_RT_IF_LOOPBACK;
    return true;
}

static bool entry_passes(const floe_rt_ifaddr *e, const floe_rt_ifaddr_filter *f) {
    uint32_t cls = floe_addr_classify(&e->addr, NULL);
    bool loop = (cls & FLOE_ADDR_LOOPBACK) || (e->flags & FLOE_RT_IF_LOOPBACK);
    if (f->family != FLOE_AF_NONE && e->addr.family != f->family) return false;
    if (f->loopback_only) {
        if (!loop) return false;
    } else if (loop && !f->with_loopback) {
        return false;
    }
    if ((cls & FLOE_ADDR_LINK_LOCAL) && !f->with_link_local) return false;
    if (f->running_only && !(e->flags & FLOE_RT_IF_RUNNING)) return false;
    if (f->name && strcmp(f->name, e->name) != 0) return false;
    return true;
}

static bool seen_before(const struct ifaddrs *head, const struct ifaddrs *upto,
                        const floe_rt_ifaddr *e, const floe_rt_ifaddr_filter *f) {
    for (const struct ifaddrs *p = head; p && p != upto; p = p->ifa_next) {
        floe_rt_ifaddr o;
        if (entry_from(p, &o) && entry_passes(&o, f) && floe_addr_equal(&o.addr, &e->addr))
            return true;
    }
    return false;
}

int floe_rt_ifaddrs(const floe_rt_ifaddr_filter *f, floe_rt_ifaddr *out, size_t max,
                    size_t *total) {
    static const floe_rt_ifaddr_filter none;
    if (!total || (max > 0 && !out)) return FLOE_ERR_INVAL;
    if (!f) f = &none;
    if (f->family != FLOE_AF_NONE && f->family != FLOE_AF_INET4 && f->family != FLOE_AF_INET6)
        return FLOE_ERR_INVAL;
    *total = 0;
    struct ifaddrs *head = NULL;
    if (getifaddrs(&head) < 0) return errno == ENOMEM ? FLOE_ERR_NOMEM : FLOE_ERR_IO;
    size_t n = 0;
    for (const struct ifaddrs *p = head; p; p = p->ifa_next) {
        floe_rt_ifaddr e;
        if (!entry_from(p, &e) || !entry_passes(&e, f)) continue;
        if (seen_before(head, p, &e, f)) continue; /* lists are short: quadratic is fine */
        if (n < max) out[n] = e;
        n++;
    }
    freeifaddrs(head);
    *total = n;
    return FLOE_OK;
}

int floe_rt_ifaddr_find(const floe_addr *ip, floe_rt_ifaddr *out) {
    if (!ip || !out || (ip->family != FLOE_AF_INET4 && ip->family != FLOE_AF_INET6))
        return FLOE_ERR_INVAL;
    struct ifaddrs *head = NULL;
    if (getifaddrs(&head) < 0) return errno == ENOMEM ? FLOE_ERR_NOMEM : FLOE_ERR_IO;
    int rc = FLOE_ERR_NOT_FOUND;
    for (const struct ifaddrs *p = head; p; p = p->ifa_next) {
        floe_rt_ifaddr e;
        if (!entry_from(p, &e) || !floe_addr_ip_equal(&e.addr, ip)) continue;
        /* A link-local address may exist on several links: the zone decides. */
        if (ip->scope_id && e.addr.scope_id && ip->scope_id != e.addr.scope_id) continue;
        *out = e;
        out->addr.port = ip->port;
        rc = FLOE_OK;
        break;
    }
    freeifaddrs(head);
    return rc;
}
