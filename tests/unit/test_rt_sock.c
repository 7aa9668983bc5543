/* Tests of the POSIX socket layer: sockaddr conversion, resolution (only literals,
 * "localhost" and ".invalid": never external DNS), TCP connect/accept on loopback. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_tcp.h"

static floe_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    floe_addr x;
    memset(&x, 0, sizeof x);
    x.family = FLOE_AF_INET4;
    x.ip[0] = a;
    x.ip[1] = b;
    x.ip[2] = c;
    x.ip[3] = d;
    x.port = port;
    return x;
}

static floe_addr v6(const char *text, uint16_t port, uint32_t scope) {
    floe_addr x;
    memset(&x, 0, sizeof x);
    x.family = FLOE_AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, x.ip), 1);
    x.port = port;
    x.scope_id = scope;
    return x;
}

static void assert_addr(const floe_addr *got, const floe_addr *want) {
    assert_int_equal(got->family, want->family);
    assert_int_equal(got->port, want->port);
    assert_memory_equal(got->ip, want->ip, 16);
    assert_int_equal(got->scope_id, want->scope_id);
}

/* ---- conversion ------------------------------------------------------------------------ */

static void test_sockaddr_round_trip(void **state) {
    (void)state;
    floe_addr in[2] = {v4(192, 0, 2, 7, 3478), v6("fe80::1234", 5349, 3)};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        assert_int_equal(floe_rt_addr_to_sockaddr(&in[i], &ss, &len), FLOE_OK);
        floe_addr back;
        assert_int_equal(floe_rt_addr_from_sockaddr((struct sockaddr *)&ss, len, &back), FLOE_OK);
        assert_addr(&back, &in[i]);
    }
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(floe_rt_addr_to_sockaddr(&in[0], &ss, &len), FLOE_OK);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    assert_int_equal(len, sizeof *sin);
    assert_int_equal(ntohs(sin->sin_port), 3478);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xC0000207u);
    floe_addr none;
    memset(&none, 0, sizeof none);
    assert_int_equal(floe_rt_addr_to_sockaddr(&none, &ss, &len), FLOE_ERR_INVAL);
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(floe_rt_addr_from_sockaddr(&un, sizeof un, &none), FLOE_ERR_INVAL);
}

/* ---- resolution ------------------------------------------------------------------------ */

static void resolve_one(const char *s, int family, const floe_addr *want) {
    floe_addr out[4];
    size_t n = 99;
    assert_int_equal(floe_rt_resolve(s, 3478, family, out, 4, &n), FLOE_OK);
    assert_int_equal(n, 1);
    assert_addr(&out[0], want);
}

static void test_resolve_literals(void **state) {
    (void)state;
    floe_addr a;
    a = v4(127, 0, 0, 1, 3478);
    resolve_one("127.0.0.1", FLOE_AF_NONE, &a);
    a = v4(1, 2, 3, 4, 5);
    resolve_one("1.2.3.4:5", FLOE_AF_NONE, &a);
    resolve_one("1.2.3.4:5", FLOE_AF_INET4, &a);
    a = v4(10, 0, 0, 1, 0);
    resolve_one("10.0.0.1:0", FLOE_AF_NONE, &a);
    a = v6("::1", 5, 0);
    resolve_one("[::1]:5", FLOE_AF_NONE, &a);
    a = v6("::1", 3478, 0);
    resolve_one("::1", FLOE_AF_NONE, &a);
    resolve_one("[::1]", FLOE_AF_INET6, &a);
    a = v6("2001:db8::1:2", 65535, 0);
    resolve_one("[2001:db8::1:2]:65535", FLOE_AF_NONE, &a);
    a = v6("fe80::1", 3478, 7);
    resolve_one("fe80::1%7", FLOE_AF_NONE, &a);
    unsigned lo = if_nametoindex("lo");
    if (lo != 0) {
        a = v6("fe80::1", 9, lo);
        resolve_one("[fe80::1%lo]:9", FLOE_AF_NONE, &a);
    }
}

static void test_resolve_localhost(void **state) {
    (void)state;
    floe_addr out[4];
    size_t n = 0;
    floe_addr lo4 = v4(127, 0, 0, 1, 3478), lo6 = v6("::1", 3478, 0);
    assert_int_equal(floe_rt_resolve("localhost", 3478, FLOE_AF_NONE, out, 4, &n), FLOE_OK);
    assert_int_equal(n, 2);
    assert_addr(&out[0], &lo4);
    assert_addr(&out[1], &lo6);
    /* max caps the count. */
    assert_int_equal(floe_rt_resolve("localhost", 3478, FLOE_AF_NONE, out, 1, &n), FLOE_OK);
    assert_int_equal(n, 1);
    assert_addr(&out[0], &lo4);
    lo6.port = 80;
    resolve_one("localhost:80", FLOE_AF_INET6, &lo6);
    lo4.port = 80;
    resolve_one("LOCALHOST.:80", FLOE_AF_INET4, &lo4);
    lo4.port = 3478;
    resolve_one("turn.localhost", FLOE_AF_INET4, &lo4);
}

static void resolve_fails(const char *s, int family, int want) {
    floe_addr out[2];
    size_t n = 99;
    int err = floe_rt_resolve(s, 3478, family, out, 2, &n);
    if (err != want) fail_msg("resolve(\"%s\") gave %d, wanted %d", s, err, want);
    assert_int_equal(n, 0);
}

static void test_resolve_errors(void **state) {
    (void)state;
    /* Bad ports. */
    resolve_fails("x:99999", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("x:abc", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("localhost:", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("127.0.0.1:-1", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("127.0.0.1:123456", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("[::1]:65536", FLOE_AF_NONE, FLOE_ERR_ADDR);
    /* Bad forms. */
    resolve_fails("", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails(":5", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("[::1", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("[::1]x", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("[]:5", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("[localhost]:5", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("1.2.3.256", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("127.1", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("0x7f.0.0.1", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("0177.0.0.1", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("::g", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("bad name", FLOE_AF_NONE, FLOE_ERR_ADDR);
    resolve_fails("caf\xc3\xa9.invalid", FLOE_AF_NONE, FLOE_ERR_ADDR);
    /* Names that do not resolve (RFC 6761 .invalid: no DNS query is made). */
    resolve_fails("nothing.invalid", FLOE_AF_NONE, FLOE_ERR_RESOLVE);
    resolve_fails("a.b.INVALID.:3478", FLOE_AF_NONE, FLOE_ERR_RESOLVE);
    resolve_fails("invalid", FLOE_AF_INET4, FLOE_ERR_RESOLVE);
    /* Literals of the other family. */
    resolve_fails("127.0.0.1", FLOE_AF_INET6, FLOE_ERR_RESOLVE);
    resolve_fails("[::1]:5", FLOE_AF_INET4, FLOE_ERR_RESOLVE);
    /* Bad arguments. */
    floe_addr out[1];
    size_t n;
    assert_int_equal(floe_rt_resolve("localhost", 1, 5, out, 1, &n), FLOE_ERR_INVAL);
    assert_int_equal(floe_rt_resolve("localhost", 1, 0, out, 0, &n), FLOE_ERR_INVAL);
}

/* ---- TCP ------------------------------------------------------------------------------- */

static void wait_fd(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    assert_int_equal(poll(&p, 1, 5000), 1);
}

static void tcp_round_trip(const floe_addr *bind) {
    int lfd, cfd, sfd;
    floe_addr laddr, peer, caddr;
    assert_int_equal(floe_rt_tcp_listen(bind, 0, &lfd), FLOE_OK);
    assert_int_equal(floe_rt_local_addr(lfd, &laddr), FLOE_OK);
    assert_int_not_equal(laddr.port, 0);
    assert_int_equal(floe_rt_tcp_accept(lfd, &sfd, &peer), 0); /* none pending */

    assert_int_equal(floe_rt_tcp_connect(&laddr, &cfd), FLOE_OK);
    wait_fd(cfd, POLLOUT);
    assert_int_equal(floe_rt_tcp_connect_result(cfd), FLOE_OK);
    wait_fd(lfd, POLLIN);
    assert_int_equal(floe_rt_tcp_accept(lfd, &sfd, &peer), 1);
    assert_int_equal(floe_rt_local_addr(cfd, &caddr), FLOE_OK);
    assert_addr(&peer, &caddr);
    floe_addr p2;
    assert_int_equal(floe_rt_peer_addr(cfd, &p2), FLOE_OK);
    assert_addr(&p2, &laddr);

    assert_int_equal(send(cfd, "hello", 5, MSG_NOSIGNAL), 5);
    wait_fd(sfd, POLLIN);
    char buf[16];
    assert_int_equal(recv(sfd, buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "hello", 5);
    close(cfd);
    close(sfd);
    close(lfd);
}

static void test_tcp_connect_accept_v4(void **state) {
    (void)state;
    floe_addr lo = v4(127, 0, 0, 1, 0);
    tcp_round_trip(&lo);
}

static void test_tcp_connect_accept_v6(void **state) {
    (void)state;
    floe_addr lo = v6("::1", 0, 0);
    int fd;
    int err = floe_rt_tcp_listen(&lo, 0, &fd);
    if (err != FLOE_OK && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
        printf("skipping: this kernel has no IPv6 loopback (binding ::1: %s)\n", strerror(errno));
        skip();
    }
    assert_int_equal(err, FLOE_OK);
    close(fd);
    tcp_round_trip(&lo);
}

static void test_tcp_connect_refused(void **state) {
    (void)state;
    /* Find a port nobody listens on: take one, then release it. */
    floe_addr lo = v4(127, 0, 0, 1, 0), closed;
    int lfd, cfd;
    assert_int_equal(floe_rt_tcp_listen(&lo, 1, &lfd), FLOE_OK);
    assert_int_equal(floe_rt_local_addr(lfd, &closed), FLOE_OK);
    close(lfd);
    int err = floe_rt_tcp_connect(&closed, &cfd);
    if (err == FLOE_OK) {
        wait_fd(cfd, POLLOUT);
        assert_int_equal(floe_rt_tcp_connect_result(cfd), FLOE_ERR_UNREACHABLE);
        assert_int_equal(errno, ECONNREFUSED);
        close(cfd);
    } else {
        assert_int_equal(err, FLOE_ERR_UNREACHABLE);
        assert_int_equal(cfd, -1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sockaddr_round_trip),   cmocka_unit_test(test_resolve_literals),
        cmocka_unit_test(test_resolve_localhost),     cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_tcp_connect_accept_v4), cmocka_unit_test(test_tcp_connect_accept_v6),
        cmocka_unit_test(test_tcp_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
