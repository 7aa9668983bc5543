/* An ICE peer on libnice's public API, for the interop tests: the other side of
 * `floe ice`, with the same command-line contract, so that a script can swap one for the
 * other and read the same JSON.
 *
 * usage: nice_ice_peer --role controlling|controlled --local-sdp FILE --remote-sdp FILE
 *                      [--loopback] [--local-addr IP]... [--ipv4|--ipv6] [--components 1|2]
 *                      [--count N --size B | --echo] [--timeout S] [--stun IP:PORT]
 *                      [--ta MS] [--lite] [--json] [--quiet]
 *
 *   1. gathers on the given addresses (or the loopback ones, or every up interface);
 *   2. when gathering is done, writes nice_agent_generate_local_sdp() wrapped into a
 *      complete session description (v=, o=, s=, t=, then libnice's m=/c=/a= lines with
 *      the m= and c= lines made valid: "m=audio PORT RTP/AVP 0", the right address type)
 *      to FILE.tmp.PID and renames it to --local-sdp;
 *   3. waits for --remote-sdp to exist (bounded by --timeout), drops the carriage returns
 *      libnice's line splitter would keep, and feeds it to nice_agent_parse_remote_sdp();
 *   4. waits until every component is READY;
 *   5. --count N --size B: sends N datagrams of B bytes on component 1 (an RTP-like
 *      header: 0x80, then a sequence number), at most WINDOW unanswered at a time, and
 *      counts the echoes; then sends "BYE". --echo: sends every datagram back until "BYE".
 *
 * The agent is nice_agent_new_full(NICE_COMPATIBILITY_RFC5245) with regular nomination
 * and RFC 7675 consent freshness (ICE-TCP and UPnP off, --lite gives LITE_MODE), one
 * stream named "audio" (libnice matches the remote m= line's media against that name).
 * The peer speaks only what libnice's SDP functions speak: media-level a=ice-ufrag,
 * a=ice-pwd and a=candidate lines; a=ice-lite, a=ice-options, a=ice-pacing, a=rtcp and
 * a=end-of-candidates are ignored by libnice when reading (nice_agent_parse_remote_sdp
 * looks at m=, a=ice-ufrag, a=ice-pwd and a=candidate only), and libnice writes no
 * a=ice-pacing: a floe peer then counts it as 50 ms (RFC 8445 section 14.2).
 *
 * Output: one JSON line on stdout with --json (the keys of `floe ice --json`; checks_sent
 * is null, libnice does not count them), progress on stderr unless --quiet.
 * Exit status 0 when ready (and, with --count, every echo back), 1 otherwise, 2 for a
 * usage error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>
#include <nice/agent.h>

#define PROG "nice_ice_peer"
#define STREAM_NAME "audio" /* libnice matches the m= line's media against it */
#define MAX_ADDRS 16
#define POLL_MS 20     /* how often the remote SDP's existence is checked */
#define PUMP_MS 5      /* --count: how often the sender looks at its window */
#define WINDOW 32      /* --count: datagrams in flight at most */
#define STALL_MS 500   /* --count: give up on the ones in flight after this long */
#define DRAIN_MS 1000  /* --count: wait this long for the last echoes */
#define LINGER_MS 300  /* without --count/--echo: keep answering checks a moment */
#define BYE_COPIES 3   /* "BYE" is sent this many times (UDP may lose one) */
#define ECHO_QUEUE 256 /* --echo: datagrams held until a pair is selected */
#define DGRAM_MAX 65507
#define HDR_LEN 12 /* the RTP-like header of a test datagram */
#define MAX_COUNT 10000000u

typedef struct opts {
    bool controlling, role_set, json, quiet, loopback, echo, lite;
    int family; /* 0, 4 or 6 */
    unsigned components;
    const char *local_sdp, *remote_sdp;
    const char *local_addrs[MAX_ADDRS];
    size_t n_local;
    const char *stun;
    unsigned count, size, ta_ms;
    double timeout_s;
} opts;

typedef struct held {
    guint component;
    gsize len;
    gchar *buf;
} held;

typedef struct peer {
    opts o;
    GMainLoop *loop;
    NiceAgent *agent;
    guint stream;
    gint64 t0; /* g_get_monotonic_time() at start, microseconds */
    double gathering_ms, remote_read_ms, selected_ms; /* < 0: not reached */
    bool gathered, remote_read, ready, failed, done, bye;
    char error[512];
    guint state[3]; /* per component, NiceComponentState */
    guint poll_src, pump_src, end_src;
    /* counters */
    uint64_t dgrams_sent, dgrams_received, echoes, duplicates, send_errors;
    /* --count */
    uint8_t *seen; /* one byte per sequence number */
    unsigned next_seq, given_up;
    gint64 last_progress;
    bool sending_done;
    /* --echo before READY */
    held queue[ECHO_QUEUE];
    size_t n_queue;
    uint64_t echo_dropped;
} peer;

static peer P;

/* ---- messages ------------------------------------------------------------------------ */

static double now_ms(void) {
    return (double)(g_get_monotonic_time() - P.t0) / 1000.0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    if (P.o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": [%8.1f ms] ", now_ms());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void finish(void) {
    P.done = true;
    g_main_loop_quit(P.loop);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    if (!P.failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(P.error, sizeof P.error, fmt, ap);
        va_end(ap);
        P.failed = true;
        fprintf(stderr, PROG ": %s\n", P.error);
    }
    finish();
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see the comment at the top of nice_ice_peer.c)\n");
    va_end(ap);
    return 2;
}

/* ---- options ------------------------------------------------------------------------- */

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out) {
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) return false;
    *out = (unsigned)v;
    return true;
}

static int parse_opts(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->components = 1;
    o->timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (!v) return usage("%s needs a value", a);                                               \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = true;
        } else if (!strcmp(a, "--loopback")) {
            o->loopback = true;
        } else if (!strcmp(a, "--echo")) {
            o->echo = true;
        } else if (!strcmp(a, "--lite")) {
            o->lite = true;
        } else if (!strcmp(a, "--ipv4")) {
            if (o->family == 6) return usage("--ipv4 and --ipv6 exclude each other");
            o->family = 4;
        } else if (!strcmp(a, "--ipv6")) {
            if (o->family == 4) return usage("--ipv4 and --ipv6 exclude each other");
            o->family = 6;
        } else if (!strcmp(a, "--role")) {
            NEED_VALUE();
            if (!strcmp(v, "controlling"))
                o->controlling = true;
            else if (!strcmp(v, "controlled"))
                o->controlling = false;
            else
                return usage("bad --role '%s' (controlling or controlled)", v);
            o->role_set = true;
        } else if (!strcmp(a, "--local-sdp")) {
            NEED_VALUE();
            o->local_sdp = v;
        } else if (!strcmp(a, "--remote-sdp")) {
            NEED_VALUE();
            o->remote_sdp = v;
        } else if (!strcmp(a, "--local-addr")) {
            NEED_VALUE();
            if (o->n_local == MAX_ADDRS) return usage("at most %d --local-addr", MAX_ADDRS);
            o->local_addrs[o->n_local++] = v;
        } else if (!strcmp(a, "--stun")) {
            NEED_VALUE();
            o->stun = v;
        } else if (!strcmp(a, "--components")) {
            NEED_VALUE();
            if (!parse_uint(v, 1, 2, &o->components)) return usage("bad --components '%s'", v);
        } else if (!strcmp(a, "--count")) {
            NEED_VALUE();
            if (!parse_uint(v, 1, MAX_COUNT, &o->count)) return usage("bad --count '%s'", v);
        } else if (!strcmp(a, "--size")) {
            NEED_VALUE();
            if (!parse_uint(v, HDR_LEN, 1400, &o->size))
                return usage("bad --size '%s' (%d to 1400 bytes)", v, HDR_LEN);
        } else if (!strcmp(a, "--ta")) {
            NEED_VALUE();
            if (!parse_uint(v, 1, 1000, &o->ta_ms)) return usage("bad --ta '%s' (1-1000 ms)", v);
        } else if (!strcmp(a, "--timeout")) {
            NEED_VALUE();
            char *end = NULL;
            o->timeout_s = strtod(v, &end);
            if (end == v || *end || !(o->timeout_s > 0) || o->timeout_s > 3600)
                return usage("bad --timeout '%s' (seconds, at most 3600)", v);
        } else if (!strcmp(a, "--prefer-iface")) {
            return usage("--prefer-iface is not supported by the libnice peer");
        } else {
            return usage("unknown option '%s'", a);
        }
#undef NEED_VALUE
    }
    if (!o->role_set) {
        if (!o->lite) return usage("missing --role controlling|controlled");
        o->controlling = false;
    }
    if (!o->local_sdp || !o->remote_sdp) return usage("--local-sdp and --remote-sdp are needed");
    if (o->count && o->echo) return usage("--count and --echo exclude each other");
    if (o->count && !o->size) o->size = 172; /* an RTP packet of 20 ms PCMU */
    if (o->size && !o->count) return usage("--size goes with --count");
    return 0;
}

/* ---- addresses ----------------------------------------------------------------------- */

static void format_addr(const NiceAddress *a, char *out, size_t cap) {
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(a, ip);
    if (nice_address_ip_version(a) == 6)
        snprintf(out, cap, "[%s]:%u", ip, nice_address_get_port(a));
    else
        snprintf(out, cap, "%s:%u", ip, nice_address_get_port(a));
}

static bool add_address(const char *ip) {
    NiceAddress a;
    nice_address_init(&a);
    if (!nice_address_set_from_string(&a, ip)) return false;
    if (!nice_agent_add_local_address(P.agent, &a)) return false;
    say("gathering on %s", ip);
    return true;
}

/* Every up, running, non-loopback, non-link-local address (like floe ice without
 * --loopback), in the asked family. */
static size_t add_interface_addresses(void) {
    struct ifaddrs *head = NULL, *p;
    size_t n = 0;
    if (getifaddrs(&head) < 0) return 0;
    for (p = head; p; p = p->ifa_next) {
        if (!p->ifa_addr || !(p->ifa_flags & IFF_UP) || (p->ifa_flags & IFF_LOOPBACK)) continue;
        char ip[INET6_ADDRSTRLEN];
        if (p->ifa_addr->sa_family == AF_INET && P.o.family != 6) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)p->ifa_addr;
            uint32_t h = ntohl(s->sin_addr.s_addr);
            if ((h >> 16) == 0xa9fe || (h >> 24) == 127) continue;
            inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        } else if (p->ifa_addr->sa_family == AF_INET6 && P.o.family != 4) {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)p->ifa_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
                continue;
            inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        } else {
            continue;
        }
        if (add_address(ip)) n++;
    }
    freeifaddrs(head);
    return n;
}

/* ---- files --------------------------------------------------------------------------- */

/* Writes text to path through a temporary file and a rename, so that the other peer never
 * reads half a file. Reports a failure through fail(). */
static bool write_atomically(const char *path, const char *text) {
    gchar *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fail("cannot create %s: %s", tmp, strerror(errno));
        g_free(tmp);
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0) {
        fail("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        g_free(tmp);
        return false;
    }
    g_free(tmp);
    return true;
}

/* ---- SDP ----------------------------------------------------------------------------- */

/* libnice's "m=audio PORT ICE/SDP" and "c=IN IP4 ADDR" (IP4 even for an IPv6 address, and
 * 0.0.0.0 when the default candidate is IPv6) become a valid media description whose
 * port and address are the default candidate of component 1. */
static NiceCandidate *default_candidate(guint component) {
    NiceCandidate *c = nice_agent_get_default_local_candidate(P.agent, P.stream, component);
    if (c) return c;
    /* libnice 0.1.21 picks IPv4 candidates only: with IPv6 alone, take the best one. */
    GSList *cands = nice_agent_get_local_candidates(P.agent, P.stream, component);
    for (GSList *i = cands; i; i = i->next) {
        NiceCandidate *x = i->data;
        if (x->transport == NICE_CANDIDATE_TRANSPORT_UDP && (!c || x->priority > c->priority))
            c = x;
    }
    if (c) c = nice_candidate_copy(c);
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    return c;
}

static char *wrap_local_sdp(void) {
    gchar *body = nice_agent_generate_local_sdp(P.agent);
    if (!body) return NULL;
    NiceCandidate *def = default_candidate(1);
    NiceCandidate *def2 = P.o.components > 1 ? default_candidate(2) : NULL;
    char ip[NICE_ADDRESS_STRING_LEN] = "0.0.0.0";
    unsigned port = 9, ver = 4;
    if (def) {
        nice_address_to_string(&def->addr, ip);
        port = nice_address_get_port(&def->addr);
        ver = nice_address_ip_version(&def->addr) == 6 ? 6 : 4;
    }
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "v=0\r\no=- %" G_GINT64_FORMAT " 1 IN IP%u %s\r\ns=nice_ice_peer\r\n",
                           g_get_real_time(), ver, ip);
    g_string_append(s, "t=0 0\r\n");
    gchar **lines = g_strsplit(body, "\n", 0);
    for (gchar **l = lines; *l; l++) {
        if (!**l) continue;
        if (g_str_has_prefix(*l, "m=")) {
            g_string_append_printf(s, "m=" STREAM_NAME " %u RTP/AVP 0\r\n", port);
        } else if (g_str_has_prefix(*l, "c=")) {
            g_string_append_printf(s, "c=IN IP%u %s\r\n", ver, ip);
        } else if (g_str_has_prefix(*l, "a=rtcp:")) {
            if (def2) {
                char ip2[NICE_ADDRESS_STRING_LEN];
                nice_address_to_string(&def2->addr, ip2);
                g_string_append_printf(s, "a=rtcp:%u IN IP%u %s\r\n",
                                       nice_address_get_port(&def2->addr),
                                       nice_address_ip_version(&def2->addr) == 6 ? 6 : 4, ip2);
            }
        } else {
            g_string_append_printf(s, "%s\r\n", *l);
        }
    }
    if (def2 && !strstr(body, "a=rtcp:")) {
        /* libnice writes a=rtcp only for an IPv4 default: add it for IPv6 too. Its place
         * (after the candidates) is legal: attribute order is free within a media. */
        char ip2[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&def2->addr, ip2);
        g_string_append_printf(s, "a=rtcp:%u IN IP%u %s\r\n", nice_address_get_port(&def2->addr),
                               nice_address_ip_version(&def2->addr) == 6 ? 6 : 4, ip2);
    }
    if (P.o.lite) g_string_append(s, "a=ice-lite\r\n");
    g_string_append(s, "a=end-of-candidates\r\n");
    g_strfreev(lines);
    g_free(body);
    if (def) nice_candidate_free(def);
    if (def2) nice_candidate_free(def2);
    return g_string_free(s, FALSE);
}

/* Keeps what nice_agent_parse_remote_sdp() understands, without the carriage returns
 * (it splits on "\n" only, and a trailing "\r" breaks its candidate parser). a=ice-lite is
 * a session- or media-level flag libnice does not read: noted for the log. */
static char *clean_remote_sdp(const char *text, bool *lite, unsigned *n_cands) {
    GString *s = g_string_new(NULL);
    gchar **lines = g_strsplit(text, "\n", 0);
    *lite = false;
    *n_cands = 0;
    for (gchar **l = lines; *l; l++) {
        size_t n = strlen(*l);
        if (n && (*l)[n - 1] == '\r') (*l)[n - 1] = '\0';
        if (!**l) continue;
        if (!strcmp(*l, "a=ice-lite")) *lite = true;
        if (g_str_has_prefix(*l, "a=candidate:")) (*n_cands)++;
        g_string_append_printf(s, "%s\n", *l);
    }
    g_strfreev(lines);
    return g_string_free(s, FALSE);
}

/* ---- data ---------------------------------------------------------------------------- */

static bool all_ready(void) {
    for (unsigned c = 1; c <= P.o.components; c++)
        if (P.state[c] != NICE_COMPONENT_STATE_READY) return false;
    return true;
}

static void send_bye(void) {
    for (int i = 0; i < BYE_COPIES; i++)
        nice_agent_send(P.agent, P.stream, 1, 3, "BYE");
    say("sent BYE");
}

static unsigned in_flight(void) {
    return P.next_seq - (unsigned)P.echoes - P.given_up;
}

static gboolean pump(gpointer data) {
    (void)data;
    if (P.done) return G_SOURCE_REMOVE;
    gint64 now = g_get_monotonic_time();
    static uint8_t buf[DGRAM_MAX];
    while (P.next_seq < P.o.count && in_flight() < WINDOW) {
        uint32_t seq = P.next_seq;
        memset(buf, 0, P.o.size);
        buf[0] = 0x80; /* RTP version 2: never 0..3, so never taken for STUN */
        buf[1] = 0;    /* payload type 0 */
        buf[2] = (uint8_t)(seq >> 8);
        buf[3] = (uint8_t)seq;
        buf[4] = (uint8_t)(seq >> 24); /* the full 32-bit sequence, in the timestamp field */
        buf[5] = (uint8_t)(seq >> 16);
        buf[6] = (uint8_t)(seq >> 8);
        buf[7] = (uint8_t)seq;
        memcpy(buf + 8, "nice", 4); /* SSRC */
        for (unsigned i = HDR_LEN; i < P.o.size; i++)
            buf[i] = (uint8_t)(seq + i);
        int r = nice_agent_send(P.agent, P.stream, 1, P.o.size, (const gchar *)buf);
        if (r < 0) {
            P.send_errors++;
            break; /* try again on the next pump */
        }
        P.dgrams_sent++;
        P.next_seq++;
        P.last_progress = now;
    }
    if (P.echoes == P.o.count) {
        say("all %u echoes received", P.o.count);
        send_bye();
        finish();
        return G_SOURCE_REMOVE;
    }
    gint64 idle_ms = (now - P.last_progress) / 1000;
    if (P.next_seq < P.o.count) {
        if (in_flight() >= WINDOW && idle_ms >= STALL_MS) {
            P.given_up += in_flight(); /* lost, or very late: go on */
            P.last_progress = now;
        }
    } else if (idle_ms >= DRAIN_MS) {
        say("%" G_GUINT64_FORMAT " of %u echoes received", P.echoes, P.o.count);
        send_bye();
        finish();
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void echo_back(guint component, guint len, const gchar *buf) {
    if (nice_agent_send(P.agent, P.stream, component, len, buf) >= 0) {
        P.dgrams_sent++;
        return;
    }
    if (P.n_queue == ECHO_QUEUE) {
        P.echo_dropped++;
        return;
    }
    held *h = &P.queue[P.n_queue++];
    h->component = component;
    h->len = len;
    h->buf = g_memdup2(buf, len);
}

static void flush_echo_queue(void) {
    size_t n = P.n_queue;
    P.n_queue = 0;
    for (size_t i = 0; i < n; i++) {
        echo_back(P.queue[i].component, (guint)P.queue[i].len, P.queue[i].buf);
        g_free(P.queue[i].buf);
    }
}

static void on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                    gpointer data) {
    (void)agent;
    (void)stream;
    (void)data;
    if (P.done) return;
    if (len == 3 && !memcmp(buf, "BYE", 3)) {
        if (!P.bye) say("BYE received");
        P.bye = true;
        if (P.o.echo) finish();
        return;
    }
    P.dgrams_received++;
    if (P.o.echo) {
        echo_back(component, len, buf);
        return;
    }
    if (P.o.count && component == 1 && len == P.o.size && len >= HDR_LEN &&
        (uint8_t)buf[0] == 0x80) {
        uint32_t seq = (uint32_t)(uint8_t)buf[4] << 24 | (uint32_t)(uint8_t)buf[5] << 16 |
                       (uint32_t)(uint8_t)buf[6] << 8 | (uint32_t)(uint8_t)buf[7];
        if (seq < P.next_seq && !P.seen[seq]) {
            P.seen[seq] = 1;
            P.echoes++;
            P.last_progress = g_get_monotonic_time();
        } else {
            P.duplicates++;
        }
        if (P.echoes == P.o.count || in_flight() < WINDOW / 2) pump(NULL);
    }
}

/* ---- ICE progress ---------------------------------------------------------------------- */

static void print_selected(guint component) {
    NiceCandidate *l = NULL, *r = NULL;
    if (!nice_agent_get_selected_pair(P.agent, P.stream, component, &l, &r)) return;
    char la[80], ra[80];
    format_addr(&l->addr, la, sizeof la);
    format_addr(&r->addr, ra, sizeof ra);
    say("selected component %u: %s %s -> %s %s", component, nice_candidate_type_to_string(l->type),
        la, nice_candidate_type_to_string(r->type), ra);
}

static gboolean linger_done(gpointer data) {
    (void)data;
    P.end_src = 0;
    finish();
    return G_SOURCE_REMOVE;
}

static void on_ready(void) {
    P.ready = true;
    P.selected_ms = now_ms();
    say("ready: every component has a selected pair");
    for (unsigned c = 1; c <= P.o.components; c++)
        print_selected(c);
    if (P.o.count) {
        P.seen = g_malloc0(P.o.count);
        P.last_progress = g_get_monotonic_time();
        say("sending %u datagrams of %u bytes on component 1", P.o.count, P.o.size);
        pump(NULL);
        P.pump_src = g_timeout_add(PUMP_MS, pump, NULL);
    } else if (P.o.echo) {
        flush_echo_queue();
        say("echoing until BYE");
    } else {
        P.end_src = g_timeout_add(LINGER_MS, linger_done, NULL);
    }
}

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data) {
    (void)agent;
    (void)data;
    if (stream != P.stream || component < 1 || component > P.o.components) return;
    P.state[component] = state;
    say("component %u: %s", component, nice_component_state_to_string(state));
    if (state == NICE_COMPONENT_STATE_FAILED && !P.ready) {
        fail("ICE failed: component %u went to state failed", component);
    } else if (state == NICE_COMPONENT_STATE_FAILED && P.ready) {
        fail("component %u failed after it was ready (consent lost?)", component);
    } else if (!P.ready && all_ready()) {
        on_ready();
    }
}

static gboolean poll_remote(gpointer data) {
    (void)data;
    struct stat st;
    if (stat(P.o.remote_sdp, &st) < 0) return G_SOURCE_CONTINUE;
    P.poll_src = 0;
    gchar *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(P.o.remote_sdp, &text, NULL, &err)) {
        fail("cannot read the remote SDP %s: %s", P.o.remote_sdp, err->message);
        g_error_free(err);
        return G_SOURCE_REMOVE;
    }
    /* Stamped once the text is in memory and before it is parsed and applied, like
     * floe ice: bench/ice-connect.sh measures from here to the selected pair. */
    P.remote_read = true;
    P.remote_read_ms = now_ms();
    bool lite;
    unsigned n_cands;
    char *clean = clean_remote_sdp(text, &lite, &n_cands);
    int added = nice_agent_parse_remote_sdp(P.agent, clean);
    g_free(clean);
    g_free(text);
    if (added < 0) {
        fail("libnice could not parse the remote SDP %s (nice_agent_parse_remote_sdp failed)",
             P.o.remote_sdp);
        return G_SOURCE_REMOVE;
    }
    say("read the remote SDP %s: %u candidate line(s), %d added%s", P.o.remote_sdp, n_cands, added,
        lite ? ", ice-lite peer" : "");
    if (added == 0) fail("the remote SDP %s has no candidate libnice can use", P.o.remote_sdp);
    return G_SOURCE_REMOVE;
}

static void on_gathered(NiceAgent *agent, guint stream, gpointer data) {
    (void)agent;
    (void)data;
    if (stream != P.stream || P.gathered) return;
    P.gathered = true;
    P.gathering_ms = now_ms();
    GSList *cands = nice_agent_get_local_candidates(P.agent, P.stream, 1);
    say("gathering done: %u candidate(s) for component 1", g_slist_length(cands));
    for (GSList *i = cands; i; i = i->next) {
        NiceCandidate *c = i->data;
        char a[80];
        format_addr(&c->addr, a, sizeof a);
        say("  %s %s priority %u", nice_candidate_type_to_string(c->type), a, c->priority);
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    char *sdp = wrap_local_sdp();
    if (!sdp) {
        fail("libnice produced no local SDP");
        return;
    }
    bool ok = write_atomically(P.o.local_sdp, sdp);
    g_free(sdp);
    if (!ok) return;
    say("wrote the local SDP %s; waiting for %s", P.o.local_sdp, P.o.remote_sdp);
    if (poll_remote(NULL) == G_SOURCE_CONTINUE)
        P.poll_src = g_timeout_add(POLL_MS, poll_remote, NULL);
}

static gboolean on_timeout(gpointer data) {
    (void)data;
    P.end_src = 0;
    if (!P.gathered)
        fail("timed out after %g s while gathering", P.o.timeout_s);
    else if (!P.remote_read)
        fail("timed out after %g s waiting for the remote SDP %s", P.o.timeout_s, P.o.remote_sdp);
    else if (!P.ready)
        fail("ICE did not complete within %g s", P.o.timeout_s);
    else if (P.o.count)
        fail("timed out after %g s with %" G_GUINT64_FORMAT " of %u echoes", P.o.timeout_s,
             P.echoes, P.o.count);
    else if (P.o.echo)
        fail("no BYE within %g s", P.o.timeout_s);
    else
        finish();
    return G_SOURCE_REMOVE;
}

static gboolean on_signal(gpointer data) {
    fail("interrupted by signal %d", GPOINTER_TO_INT(data));
    return G_SOURCE_REMOVE;
}

/* ---- output -------------------------------------------------------------------------- */

static void json_ms(const char *key, double v) {
    if (v < 0)
        printf(",\"%s\":null", key);
    else
        printf(",\"%s\":%.3f", key, v);
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_cand(const NiceCandidate *c) {
    char a[80];
    format_addr(&c->addr, a, sizeof a);
    printf("{\"type\":\"%s\",\"addr\":\"%s\"}", nice_candidate_type_to_string(c->type), a);
}

static void print_json(bool ok) {
    /* libnice's own Ta (its stun-pacing-timer): it neither announces nor reads
     * a=ice-pacing, so nothing is negotiated. */
    guint ta = P.o.ta_ms;
    if (P.agent) g_object_get(P.agent, "stun-pacing-timer", &ta, NULL);
    printf("{\"peer\":\"libnice\",\"state\":\"%s\",\"role\":\"%s\",\"lite\":%s,"
           "\"components\":%u,\"ta_ms\":%u",
           ok ? "ready" : "failed", P.o.controlling ? "controlling" : "controlled",
           P.o.lite ? "true" : "false", P.o.components, ta);
    json_ms("gathering_ms", P.gathered ? P.gathering_ms : -1);
    json_ms("remote_sdp_read_ms", P.remote_read ? P.remote_read_ms : -1);
    json_ms("selected_pair_ms", P.ready ? P.selected_ms : -1);
    printf(",\"selected\":[");
    bool first = true;
    for (unsigned c = 1; P.agent && c <= P.o.components; c++) {
        NiceCandidate *l = NULL, *r = NULL;
        if (!nice_agent_get_selected_pair(P.agent, P.stream, c, &l, &r)) continue;
        printf("%s{\"component\":%u,\"local\":", first ? "" : ",", c);
        json_cand(l);
        printf(",\"remote\":");
        json_cand(r);
        printf("}");
        first = false;
    }
    printf("],\"checks_sent\":null,\"datagrams_sent\":%" G_GUINT64_FORMAT
           ",\"datagrams_received\":%" G_GUINT64_FORMAT,
           P.dgrams_sent, P.dgrams_received);
    if (P.o.count)
        printf(",\"count\":%u,\"size\":%u,\"echoes_received\":%" G_GUINT64_FORMAT
               ",\"lost\":%" G_GUINT64_FORMAT ",\"duplicates\":%" G_GUINT64_FORMAT,
               P.o.count, P.o.size, P.echoes, (uint64_t)P.o.count - P.echoes, P.duplicates);
    if (P.o.echo)
        printf(",\"bye\":%s,\"echo_dropped\":%" G_GUINT64_FORMAT, P.bye ? "true" : "false",
               P.echo_dropped);
    if (!ok) {
        printf(",\"error\":");
        json_string(P.error[0] ? P.error : "failed");
    }
    printf("}\n");
    fflush(stdout);
}

/* ---- main ---------------------------------------------------------------------------- */

static int run(void) {
    P.loop = g_main_loop_new(NULL, FALSE);
    NiceAgentOption flags =
        NICE_AGENT_OPTION_REGULAR_NOMINATION | NICE_AGENT_OPTION_CONSENT_FRESHNESS;
    if (P.o.lite) flags |= NICE_AGENT_OPTION_LITE_MODE;
    P.agent =
        nice_agent_new_full(g_main_loop_get_context(P.loop), NICE_COMPATIBILITY_RFC5245, flags);
    if (!P.agent) {
        fail("nice_agent_new_full failed");
        return 1;
    }
    g_object_set(P.agent, "controlling-mode", P.o.controlling, "ice-tcp", FALSE, "upnp", FALSE,
                 NULL);
    if (P.o.ta_ms) g_object_set(P.agent, "stun-pacing-timer", P.o.ta_ms, NULL);
    if (P.o.stun) {
        char host[256];
        unsigned port = 3478;
        const char *colon = strrchr(P.o.stun, ':');
        const char *h = P.o.stun;
        size_t hl = strlen(h);
        if (h[0] == '[') {
            const char *close = strchr(h, ']');
            if (!close) return usage("bad --stun '%s'", P.o.stun);
            hl = (size_t)(close - h - 1);
            h++;
            if (close[1] == ':' && !parse_uint(close + 2, 1, 65535, &port))
                return usage("bad --stun port in '%s'", P.o.stun);
        } else if (colon && strchr(h, ':') == colon) {
            hl = (size_t)(colon - h);
            if (!parse_uint(colon + 1, 1, 65535, &port))
                return usage("bad --stun port in '%s'", P.o.stun);
        }
        if (hl >= sizeof host) return usage("bad --stun '%s'", P.o.stun);
        memcpy(host, h, hl);
        host[hl] = '\0';
        g_object_set(P.agent, "stun-server", host, "stun-server-port", port, NULL);
    }
    P.stream = nice_agent_add_stream(P.agent, P.o.components);
    if (!P.stream || !nice_agent_set_stream_name(P.agent, P.stream, STREAM_NAME)) {
        fail("cannot add a libnice stream");
        return 1;
    }
    size_t n_addrs = 0;
    if (P.o.n_local) {
        for (size_t i = 0; i < P.o.n_local; i++) {
            if (!add_address(P.o.local_addrs[i]))
                return usage("bad --local-addr '%s' (an IP address)", P.o.local_addrs[i]);
            n_addrs++;
        }
    } else if (P.o.loopback) {
        if (P.o.family != 6 && add_address("127.0.0.1")) n_addrs++;
        if (P.o.family != 4 && add_address("::1")) n_addrs++;
    } else {
        n_addrs = add_interface_addresses();
    }
    if (n_addrs == 0) {
        fail("no local address to gather on");
        return 1;
    }
    g_signal_connect(P.agent, "candidate-gathering-done", G_CALLBACK(on_gathered), NULL);
    g_signal_connect(P.agent, "component-state-changed", G_CALLBACK(on_state), NULL);
    for (unsigned c = 1; c <= P.o.components; c++)
        nice_agent_attach_recv(P.agent, P.stream, c, g_main_loop_get_context(P.loop), on_recv,
                               NULL);
    say("%s agent%s, %u component(s)", P.o.controlling ? "controlling" : "controlled",
        P.o.lite ? " (lite)" : "", P.o.components);
    if (!nice_agent_gather_candidates(P.agent, P.stream)) {
        fail("nice_agent_gather_candidates failed (no usable local address?)");
        return 1;
    }
    g_timeout_add((guint)(P.o.timeout_s * 1000), on_timeout, NULL);
    g_unix_signal_add(SIGINT, on_signal, GINT_TO_POINTER(SIGINT));
    g_unix_signal_add(SIGTERM, on_signal, GINT_TO_POINTER(SIGTERM));
    if (!P.done) g_main_loop_run(P.loop);
    bool ok = !P.failed && P.ready;
    if (ok && P.o.count && P.echoes != P.o.count) {
        snprintf(P.error, sizeof P.error, "%" G_GUINT64_FORMAT " of %u datagrams lost",
                 (uint64_t)P.o.count - P.echoes, P.o.count);
        fprintf(stderr, PROG ": %s\n", P.error);
        ok = false;
    }
    if (P.o.json) print_json(ok);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    P.t0 = g_get_monotonic_time();
    P.gathering_ms = P.remote_read_ms = P.selected_ms = -1;
    int rc = parse_opts(argc, argv, &P.o);
    if (rc) return rc;
    unlink(P.o.local_sdp); /* never let the peer read a stale one */
    rc = run();
    for (size_t i = 0; i < P.n_queue; i++)
        g_free(P.queue[i].buf);
    g_free(P.seen);
    if (P.agent) g_object_unref(P.agent);
    if (P.loop) g_main_loop_unref(P.loop);
    return rc;
}
