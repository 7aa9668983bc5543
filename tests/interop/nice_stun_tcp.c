/* An independent STUN Binding client for the interop tests, built on libnice's STUN
 * library (not on floe's codec), so that floe's server is judged by someone else's
 * parser.
 *
 * usage: nice_stun_tcp [--udp] [--count N] [--split] HOST PORT
 *
 * TCP (the default): connects to HOST PORT, builds N Binding requests with
 * stun_usage_bind_create() and sends them in a single write, so the server has to
 * find several messages in one read. --split sends the first request in two writes
 * 100 ms apart, so the server has to wait for the rest of a message. Responses are
 * framed by the length field of their 20-byte header, checked with
 * stun_agent_validate() (transaction ID, FINGERPRINT, unknown attributes) and read
 * with stun_usage_bind_process().
 *
 * UDP (--udp): one datagram per request, resent up to 5 times, 500 ms apart.
 *
 * Output, one item per line:
 *     transport tcp
 *     local 127.0.0.1:40000      (getsockname of the connected socket)
 *     mapped 127.0.0.1:40000     (one line per response, in arrival order)
 * Exit status 0 when every request got a valid success response, 1 otherwise (with a
 * message on stderr), 2 for a usage error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#define MAX_REQUESTS 16
#define MSG_CAP 1280 /* STUN_MAX_MESSAGE_SIZE_IPV6: more than any Binding response */
#define HEADER_LEN 20
#define IO_TIMEOUT_S 5
#define UDP_TRIES 5
#define UDP_WAIT_MS 500

/* Comprehension-required attributes a Binding response may carry. Anything else
 * in that range makes stun_agent_validate() fail, as RFC 8489 §7.3.3 asks. */
static const uint16_t known_attributes[] = {
    STUN_ATTRIBUTE_MAPPED_ADDRESS,     STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_ERROR_CODE,
    STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,  0,
};

static int fail(const char *what) {
    fprintf(stderr, "nice_stun_tcp: %s\n", what);
    return 1;
}

static int fail_errno(const char *what) {
    fprintf(stderr, "nice_stun_tcp: %s: %s\n", what, strerror(errno));
    return 1;
}

static const char *validation_name(StunValidationStatus v) {
    switch (v) {
    case STUN_VALIDATION_SUCCESS: return "success";
    case STUN_VALIDATION_NOT_STUN: return "not STUN";
    case STUN_VALIDATION_INCOMPLETE_STUN: return "incomplete STUN";
    case STUN_VALIDATION_BAD_REQUEST: return "bad request (cookie or FINGERPRINT)";
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST: return "unauthorized bad request";
    case STUN_VALIDATION_UNAUTHORIZED: return "unauthorized";
    case STUN_VALIDATION_UNMATCHED_RESPONSE: return "response to no request of ours";
    case STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE: return "unknown attribute in a request";
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE: return "unknown comprehension-required attribute";
    case STUN_VALIDATION_FORBIDDEN: return "forbidden";
    }
    return "unknown validation status";
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t cap) {
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(out, cap, "(family %d)", (int)ss->ss_family);
    }
}

static int send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads exactly n bytes; -1 on error, timeout (SO_RCVTIMEO) or end of stream. */
static int read_exact(int fd, uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k == 0) errno = ECONNRESET;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

typedef struct client {
    StunAgent agent;
    size_t n;
    StunMessage req[MAX_REQUESTS];
    uint8_t req_buf[MAX_REQUESTS][MSG_CAP];
    size_t req_len[MAX_REQUESTS];
    bool answered[MAX_REQUESTS];
} client;

/* Validates one response and prints its mapped address. Returns the index of the
 * request it answers, or -1. */
static int handle_response(client *c, const uint8_t *buf, size_t len) {
    StunMessage resp;
    StunValidationStatus v = stun_agent_validate(&c->agent, &resp, buf, len, NULL, NULL);
    if (v != STUN_VALIDATION_SUCCESS) {
        fprintf(stderr, "nice_stun_tcp: stun_agent_validate: %s\n", validation_name(v));
        return -1;
    }
    StunTransactionId id, rid;
    stun_message_id(&resp, rid);
    int which = -1;
    for (size_t i = 0; i < c->n; i++) {
        stun_message_id(&c->req[i], id);
        if (memcmp(id, rid, sizeof id) == 0) which = (int)i;
    }
    if (which < 0 || c->answered[which]) {
        fprintf(stderr, "nice_stun_tcp: response to no outstanding request\n");
        return -1;
    }
    struct sockaddr_storage mapped, alternate;
    socklen_t mapped_len = sizeof mapped, alternate_len = sizeof alternate;
    memset(&mapped, 0, sizeof mapped);
    StunUsageBindReturn r = stun_usage_bind_process(&resp, (struct sockaddr *)&mapped, &mapped_len,
                                                    (struct sockaddr *)&alternate, &alternate_len);
    if (r != STUN_USAGE_BIND_RETURN_SUCCESS) {
        int code = 0;
        if (stun_message_find_error(&resp, &code) == STUN_MESSAGE_RETURN_SUCCESS)
            fprintf(stderr, "nice_stun_tcp: error response %d\n", code);
        else
            fprintf(stderr, "nice_stun_tcp: stun_usage_bind_process returned %d\n", (int)r);
        return -1;
    }
    char s[INET6_ADDRSTRLEN + 16];
    format_addr(&mapped, s, sizeof s);
    printf("mapped %s\n", s);
    c->answered[which] = true;
    return which;
}

static int run_tcp(client *c, int fd, bool split) {
    static uint8_t all[MAX_REQUESTS * MSG_CAP];
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(all + total, c->req_buf[i], c->req_len[i]);
        total += c->req_len[i];
    }
    size_t first = 0;
    if (split) { /* the first 10 bytes, a pause, then the rest */
        first = 10;
        if (send_all(fd, all, first)) return fail_errno("send");
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (send_all(fd, all + first, total - first)) return fail_errno("send");
    for (size_t i = 0; i < c->n; i++) {
        uint8_t buf[MSG_CAP];
        if (read_exact(fd, buf, HEADER_LEN)) return fail_errno("reading a response header");
        if (buf[0] & 0xC0) return fail("the stream does not start with a STUN message");
        size_t body = ((size_t)buf[2] << 8) | buf[3];
        if (body % 4 != 0 || HEADER_LEN + body > sizeof buf)
            return fail("response length field is not a valid STUN length");
        if (read_exact(fd, buf + HEADER_LEN, body)) return fail_errno("reading a response body");
        if (handle_response(c, buf, HEADER_LEN + body) < 0) return 1;
    }
    return 0;
}

static int run_udp(client *c, int fd) {
    for (size_t i = 0; i < c->n; i++) {
        int tries = 0;
        while (!c->answered[i]) {
            if (tries++ == UDP_TRIES) return fail("no response after 5 transmissions");
            if (send_all(fd, c->req_buf[i], c->req_len[i])) return fail_errno("send");
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int k = poll(&pfd, 1, UDP_WAIT_MS);
            if (k < 0 && errno != EINTR) return fail_errno("poll");
            if (k <= 0) continue;
            uint8_t buf[MSG_CAP];
            ssize_t len = recv(fd, buf, sizeof buf, 0);
            if (len < 0) return fail_errno("recv");
            if (handle_response(c, buf, (size_t)len) < 0) return 1;
        }
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: nice_stun_tcp [--udp] [--count N] [--split] HOST PORT\n");
    return 2;
}

int main(int argc, char **argv) {
    bool udp = false, split = false;
    long count = 1;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--udp") == 0) {
            udp = true;
        } else if (strcmp(argv[i], "--split") == 0) {
            split = true;
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end;
            count = strtol(argv[++i], &end, 10);
            if (*end || count < 1 || count > MAX_REQUESTS) return usage();
        } else {
            return usage();
        }
    }
    if (argc - i != 2 || (udp && split)) return usage();
    const char *host = argv[i], *port = argv[i + 1];

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "nice_stun_tcp: %s %s: %s\n", host, port, gai_strerror(rc));
        return 1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return fail_errno("socket");
    }
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds connect() too */
    if (!udp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc != 0) {
        close(fd);
        return fail_errno("connect");
    }
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
        close(fd);
        return fail_errno("getsockname");
    }
    char s[INET6_ADDRSTRLEN + 16];
    format_addr(&local, s, sizeof s);
    printf("transport %s\nlocal %s\n", udp ? "udp" : "tcp", s);
    fflush(stdout);

    static client c;
    c.n = (size_t)count;
    stun_agent_init(&c.agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT);
    for (size_t k = 0; k < c.n; k++) {
        c.req_len[k] = stun_usage_bind_create(&c.agent, &c.req[k], c.req_buf[k], MSG_CAP);
        if (c.req_len[k] == 0) {
            close(fd);
            return fail("stun_usage_bind_create failed");
        }
    }
    rc = udp ? run_udp(&c, fd) : run_tcp(&c, fd, split);
    close(fd);
    return rc;
}
