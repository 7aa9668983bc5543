/* `floe call` and `floe answer`: the runtime around floe_sip_ua. The user agent does the
 * SIP, ICE and RTP work; this file owns the sockets (one UDP socket for SIP, one per local
 * address for media), the epoll loop and its timers, the clock, the WAV files, the
 * progress lines and the JSON result. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call_rt.h"
#include "cmd.h"
#include "floe/err.h"
#include "floe/sip_ua.h"
#include "ice_opts.h"
#include "ice_streams.h"
#include "rt_ifaddrs.h"
#include "rt_loop.h"
#include "rt_sock.h"
#include "sip_tcp.h"
#include "rt_sys.h"
#include "rt_udp.h"
#include "rt_wav.h"

#define RX_BATCH 32
#define RX_SIZE 4096 /* a SIP datagram over UDP stays well below this (RFC 3261 §18.1.1) */
#define RX_ROUNDS 8
#define HANGUP_WAIT FLOE_S(3)  /* after our BYE: wait this long for its answer */
#define SETTLE_MAX FLOE_S(4)   /* --once: our error answer's ACK, waited for this long */
#define GAP_MAX (8000u * 10u)  /* a recorded gap is filled with at most 10 s of silence */
#define TIMEOUT_DEFAULT_S 30.0 /* call: until the call is answered */
#define DURATION_DEFAULT_S 5.0 /* call: media this long, then BYE */
#define NAME_MAX_LEN (FLOE_SIP_UA_NAME_MAX - 1)

typedef struct call_opts {
    bool caller, json, quiet, once, do_register, no_ice;
    bool tcp;          /* --transport tcp: our requests go over TCP */
    floe_ice_opts ice; /* where to gather, which servers (ice_opts.h) */
    const char *uri;   /* call: whom to call */
    const char *proxy, *listen, *register_uri;
    char user[FLOE_SIP_UA_NAME_MAX], domain[FLOE_SIP_UA_NAME_MAX];
    bool user_set, domain_set;
    const char *password;
    const char *play, *record;
    double tone_hz, duration_s, timeout_s, answer_after_s;
    double restart_s; /* caller: ICE restart this long after the answer; < 0: none */
    bool timeout_set, tone_set;
} call_opts;

typedef struct rt rt;

typedef struct media_sock {
    rt *r;
    int fd;
    unsigned index; /* the UA's media socket number */
    floe_addr local;
} media_sock;

struct rt {
    call_opts o;
    const char *sub;
    floe_rt_loop *loop;
    floe_rt_timer *ua_timer, *duration_timer, *deadline_timer, *hangup_timer, *restart_timer;
    floe_sip_ua *ua;
    int sip_fd;
    floe_addr sip_local;
    floe_sip_tcp *tcp;             /* SIP over TCP on the same address, when it could listen */
    floe_ice_opts_servers servers; /* STUN and TURN, resolved */
    ice_streams *streams;          /* connections to TURN servers over TCP or TLS */
    floe_addr lost[8];             /* TCP peers whose connection ended, for the UA (on_ua_timer) */
    size_t n_lost;
    floe_time_ns settle_until; /* --once after an error answer: exit once it is ACKed */
    media_sock media[FLOE_SIP_UA_MAX_MEDIA_HOSTS];
    size_t n_media;
    floe_rt_wav *play, *record;
    floe_time_ns t0;
    bool done, failed, dialed, confirmed, hung_up, in_call;
    unsigned calls;
    bool last_ok;
    char error[600];
    uint64_t send_dropped;
    uint8_t rx[RX_BATCH][RX_SIZE];
    uint8_t tx[FLOE_SIP_UA_SEND_MAX];
};

/* ---- messages ---------------------------------------------------------------------------- */

static void progress(rt *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(rt *r, const char *fmt, ...) {
    if (r->o.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "floe %s: [%8.1f ms] ", r->sub, (double)(floe_rt_now() - r->t0) / 1e6);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void finish(rt *r) {
    r->done = true;
    if (r->loop) floe_rt_loop_stop(r->loop);
}

static void fail(rt *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(rt *r, const char *fmt, ...) {
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof r->error, fmt, ap);
        va_end(ap);
        r->failed = true;
        fprintf(stderr, "floe %s: %s\n", r->sub, r->error);
    }
    finish(r);
}

/* ---- option parsing ---------------------------------------------------------------------- */

static bool parse_seconds(const char *v, double lo, double hi, double *out) {
    if (!v) return false;
    char *end = NULL;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(s >= lo) || s > hi) return false;
    *out = s;
    return true;
}

static bool copy_name(char *dst, const char *src, size_t n) {
    if (n == 0 || n > NAME_MAX_LEN) return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* "sip:user@host[:port]": user into o->user (unless given), host into o->domain (unless
 * given), "host[:port]" into hostport. */
static bool split_sip_uri(const char *uri, char *user, char *host, char *hostport, size_t cap) {
    if (strncmp(uri, "sip:", 4) != 0) return false;
    const char *at = strchr(uri + 4, '@');
    if (!at || !copy_name(user, uri + 4, (size_t)(at - uri - 4))) return false;
    const char *hp = at + 1;
    size_t n = strcspn(hp, ";?>");
    if (n == 0 || n >= cap) return false;
    memcpy(hostport, hp, n);
    hostport[n] = '\0';
    char h[FLOE_SIP_UA_NAME_MAX];
    floe_cli_host_part(hostport, h, sizeof h);
    if (!h[0]) return false;
    memcpy(host, h, strlen(h) + 1);
    return true;
}

static int parse_opts(const char *sub, int argc, char **argv, call_opts *o, bool *help) {
    bool caller = o->caller;
    *help = false;
    o->tone_hz = caller ? 440.0 : 1000.0;
    o->duration_s = DURATION_DEFAULT_S;
    o->restart_s = -1;
    o->timeout_s = TIMEOUT_DEFAULT_S;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = true;
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = true;
        } else if (floe_ice_opts_arg(sub, argc, argv, &i, &o->ice, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(a, "--no-ice")) {
            o->no_ice = true;
        } else if (floe_cli_value(argc, argv, &i, "--transport", &v)) {
            if (v && !strcmp(v, "udp"))
                o->tcp = false;
            else if (v && !strcmp(v, "tcp"))
                o->tcp = true;
            else
                return floe_usage_error(sub, "bad --transport '%s' (udp or tcp)", v ? v : "");
        } else if (!caller && !strcmp(a, "--once")) {
            o->once = true;
        } else if (caller && !strcmp(a, "--register")) {
            o->do_register = true;
        } else if (!caller && floe_cli_value(argc, argv, &i, "--register", &v)) {
            if (!v || !*v) return floe_usage_error(sub, "--register needs sip:user@registrar");
            o->register_uri = v;
            o->do_register = true;
        } else if (floe_cli_value(argc, argv, &i, "--proxy", &v)) {
            if (!v || !*v) return floe_usage_error(sub, "--proxy needs HOST:PORT");
            o->proxy = v;
        } else if (!caller && floe_cli_value(argc, argv, &i, "--listen", &v)) {
            floe_addr l;
            if (!v || floe_addr_parse(v, &l) != FLOE_OK || l.port == 0)
                return floe_usage_error(sub, "bad --listen '%s' (expected ADDR:PORT)", v ? v : "");
            o->listen = v;
        } else if (floe_cli_value(argc, argv, &i, "--user", &v)) {
            if (!v || !copy_name(o->user, v, strlen(v)))
                return floe_usage_error(sub, "--user needs a NAME (1 to %d bytes)", NAME_MAX_LEN);
            o->user_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--domain", &v)) {
            if (!v || !copy_name(o->domain, v, strlen(v)))
                return floe_usage_error(sub, "--domain needs a DOMAIN (1 to %d bytes)",
                                        NAME_MAX_LEN);
            o->domain_set = true;
        } else if (floe_cli_value(argc, argv, &i, "--password", &v)) {
            if (!v) return floe_usage_error(sub, "--password needs a PASSWORD");
            o->password = v;
        } else if (floe_cli_value(argc, argv, &i, "--play", &v)) {
            if (!v || !*v) return floe_usage_error(sub, "--play needs a WAV file");
            o->play = v;
        } else if (floe_cli_value(argc, argv, &i, "--record", &v)) {
            if (!v || !*v) return floe_usage_error(sub, "--record needs a WAV file name");
            o->record = v;
        } else if (floe_cli_value(argc, argv, &i, "--tone", &v)) {
            if (!parse_seconds(v, 50.0, 3900.0, &o->tone_hz))
                return floe_usage_error(sub, "bad --tone '%s' (Hz, 50 to 3900)", v ? v : "");
            o->tone_set = true;
        } else if (caller && floe_cli_value(argc, argv, &i, "--duration", &v)) {
            if (!parse_seconds(v, 0.0, FLOE_CLI_TIMEOUT_MAX_S, &o->duration_s))
                return floe_usage_error(sub, "bad --duration '%s' (seconds, 0 to %g)", v ? v : "",
                                        FLOE_CLI_TIMEOUT_MAX_S);
        } else if (caller && floe_cli_value(argc, argv, &i, "--ice-restart", &v)) {
            if (!parse_seconds(v, 0.0, FLOE_CLI_TIMEOUT_MAX_S, &o->restart_s))
                return floe_usage_error(sub, "bad --ice-restart '%s' (seconds, 0 to %g)",
                                        v ? v : "", FLOE_CLI_TIMEOUT_MAX_S);
        } else if (!caller && floe_cli_value(argc, argv, &i, "--answer-after", &v)) {
            if (!parse_seconds(v, 0.0, FLOE_CLI_TIMEOUT_MAX_S, &o->answer_after_s))
                return floe_usage_error(sub, "bad --answer-after '%s' (seconds, 0 to %g)",
                                        v ? v : "", FLOE_CLI_TIMEOUT_MAX_S);
        } else if (floe_cli_value(argc, argv, &i, "--timeout", &v)) {
            if ((rc = floe_cli_timeout(sub, v, &o->timeout_s)) != 0) return rc;
            o->timeout_set = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return floe_usage_error(sub, "unknown option '%s'", a);
        } else if (caller && !o->uri) {
            o->uri = a;
        } else {
            return floe_usage_error(sub, "unexpected argument '%s'", a);
        }
    }
    if (caller && !o->uri)
        return floe_usage_error(sub, "missing the address to call (sip:user@host[:port])");
    if (caller) {
        char u[FLOE_SIP_UA_NAME_MAX], h[FLOE_SIP_UA_NAME_MAX], hp[256];
        if (!split_sip_uri(o->uri, u, h, hp, sizeof hp))
            return floe_usage_error(sub, "bad address '%s' (expected sip:user@host[:port])",
                                    o->uri);
        if (!o->proxy) {
            floe_addr ip;
            if (floe_addr_parse(h, &ip) != FLOE_OK)
                return floe_usage_error(sub, "'%s': without --proxy the host must be an IP address",
                                        o->uri);
        }
        if (o->do_register && !o->proxy)
            return floe_usage_error(sub, "--register needs --proxy HOST:PORT (the registrar)");
    }
    if (o->register_uri) {
        char u[FLOE_SIP_UA_NAME_MAX], h[FLOE_SIP_UA_NAME_MAX], hp[256];
        if (!split_sip_uri(o->register_uri, u, h, hp, sizeof hp))
            return floe_usage_error(sub, "bad --register '%s' (expected sip:user@registrar)",
                                    o->register_uri);
        if (!o->user_set) memcpy(o->user, u, strlen(u) + 1);
        if (!o->domain_set) memcpy(o->domain, h, strlen(h) + 1);
        o->user_set = o->domain_set = true;
        if (!o->proxy) {
            static char proxy_buf[256];
            memcpy(proxy_buf, hp, strlen(hp) + 1);
            o->proxy = proxy_buf; /* the registrar is our proxy */
        }
    }
    if (o->play && o->tone_set)
        return floe_usage_error(sub, "--play and --tone exclude each other");
    int crc = floe_ice_opts_check(sub, &o->ice);
    if (crc) return crc;
    if (o->ice.n_turn && (!o->ice.turn_user || !o->ice.turn_password))
        return floe_usage_error(sub, "--turn needs --turn-user and --turn-password");
    if (!o->user_set) snprintf(o->user, sizeof o->user, "%s", caller ? "floe-caller" : "floe");
    return 0;
}

/* ---- audio ------------------------------------------------------------------------------- */

static bool pull_audio(void *ctx, int16_t *samples, size_t n) {
    rt *r = ctx;
    size_t got = 0;
    if (!r->play || floe_rt_wav_read(r->play, samples, n, &got) != FLOE_OK) return false;
    if (got == 0) { /* the end: play it again */
        if (floe_rt_wav_rewind(r->play) != FLOE_OK ||
            floe_rt_wav_read(r->play, samples, n, &got) != FLOE_OK)
            return false;
    }
    return got > 0;
}

static void push_audio(void *ctx, uint32_t gap, const int16_t *samples, size_t n) {
    rt *r = ctx;
    if (!r->record) return;
    static const int16_t zeros[160];
    if (gap > GAP_MAX) gap = GAP_MAX;
    while (gap > 0) {
        size_t k = gap < 160 ? gap : 160;
        if (floe_rt_wav_write(r->record, zeros, k) != FLOE_OK) break;
        gap -= (uint32_t)k;
    }
    if (floe_rt_wav_write(r->record, samples, n) != FLOE_OK)
        fail(r, "%s", floe_rt_wav_error(r->record));
}

/* ---- the UA loop -------------------------------------------------------------------------- */

static void handle_event(rt *r, const floe_sip_ua_event *ev);

/* A TCP peer lost (its connection ended, or a send failed): told to the UA from the
 * timer, not from inside the send loop or a connection's callback. */
static void tcp_lost(void *arg, const floe_addr *peer, const char *why) {
    rt *r = arg;
    progress(r, "SIP over TCP: the connection with %s ended (%s)", floe_cli_addr(peer).s, why);
    if (r->n_lost < sizeof r->lost / sizeof r->lost[0]) r->lost[r->n_lost++] = *peer;
    if (r->ua_timer) floe_rt_timer_arm(r->ua_timer, floe_rt_now());
}

static void transmit(rt *r, const floe_sip_ua_out *out, size_t len) {
    int fd = -1;
    if (out->kind == FLOE_SIP_UA_OUT_STREAM) {
        if (!ice_streams_send(r->streams, out->sock, r->tx, len)) r->send_dropped++;
        return;
    }
    if (out->kind == FLOE_SIP_UA_OUT_SIP && out->transport == FLOE_TRANSPORT_TCP) {
        int rc = r->tcp ? floe_sip_tcp_send(r->tcp, &out->to, r->tx, len) : FLOE_ERR_STATE;
        if (rc != FLOE_OK) {
            r->send_dropped++;
            tcp_lost(r, &out->to, floe_strerror(rc));
        }
        return;
    }
    if (out->kind == FLOE_SIP_UA_OUT_SIP)
        fd = r->sip_fd;
    else
        for (size_t i = 0; i < r->n_media; i++)
            if (r->media[i].index == out->sock) fd = r->media[i].fd;
    if (fd < 0 || floe_rt_udp_send(fd, r->tx, len, &out->to) != 1) r->send_dropped++;
}

/* Steps 3 to 5: send, take the events, re-arm the timer. */
static void service(rt *r) {
    floe_time_ns now = floe_rt_now();
    size_t len;
    floe_sip_ua_out out;
    while (floe_sip_ua_next_send(r->ua, now, r->tx, sizeof r->tx, &len, &out) == FLOE_OK)
        transmit(r, &out, len);
    floe_sip_ua_event ev;
    while (floe_sip_ua_next_event(r->ua, &ev))
        handle_event(r, &ev);
    floe_time_ns wake = floe_sip_ua_deadline(r->ua);
    if (r->settle_until) { /* --once: our error answer waits for its ACK, a while at most */
        if (!floe_sip_ua_settling(r->ua) || now >= r->settle_until) finish(r);
        if (r->settle_until < wake) wake = r->settle_until;
    }
    if (!r->done) floe_rt_timer_arm(r->ua_timer, wake);
}

static void on_ua_timer(void *arg, floe_rt_timer *t) {
    (void)t;
    rt *r = arg;
    floe_time_ns now = floe_rt_now();
    size_t n_lost = r->n_lost;
    r->n_lost = 0;
    for (size_t i = 0; i < n_lost; i++)
        floe_sip_ua_transport_error(r->ua, now, FLOE_TRANSPORT_TCP, &r->lost[i]);
    if (now >= floe_sip_ua_deadline(r->ua)) floe_sip_ua_tick(r->ua, now);
    service(r);
}

static void on_sip_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    rt *r = arg;
    floe_rt_dgram d[RX_BATCH];
    for (int round = 0; round < RX_ROUNDS && !r->done; round++) {
        for (size_t i = 0; i < RX_BATCH; i++) {
            d[i].buf = r->rx[i];
            d[i].cap = RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, d, RX_BATCH);
        if (n <= 0) break;
        floe_time_ns now = floe_rt_now();
        for (int i = 0; i < n; i++)
            if (!d[i].truncated)
                floe_sip_ua_on_sip(r->ua, now, FLOE_TRANSPORT_UDP, &d[i].peer,
                                   (const char *)d[i].buf, d[i].len);
        if (n < RX_BATCH) break;
    }
    if (!r->done) service(r);
}

static void on_tcp_message(void *arg, const floe_addr *peer, const char *p, size_t len) {
    rt *r = arg;
    if (r->done) return;
    floe_sip_ua_on_sip(r->ua, floe_rt_now(), FLOE_TRANSPORT_TCP, peer, p, len);
    service(r);
}

static void on_media_readable(void *arg, int fd, uint32_t events) {
    (void)events;
    media_sock *s = arg;
    rt *r = s->r;
    floe_rt_dgram d[RX_BATCH];
    for (int round = 0; round < RX_ROUNDS && !r->done; round++) {
        for (size_t i = 0; i < RX_BATCH; i++) {
            d[i].buf = r->rx[i];
            d[i].cap = RX_SIZE;
        }
        int n = floe_rt_udp_recv_batch(fd, d, RX_BATCH);
        if (n <= 0) break;
        floe_time_ns now = floe_rt_now();
        for (int i = 0; i < n; i++)
            if (!d[i].truncated)
                floe_sip_ua_on_media(r->ua, now, s->index, &d[i].peer, d[i].buf, d[i].len);
        if (n < RX_BATCH) break;
    }
    if (!r->done) service(r);
}

/* ---- output ------------------------------------------------------------------------------- */

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

static void json_ms(const char *key, int64_t ms) {
    if (ms < 0)
        printf(",\"%s\":null", key);
    else
        printf(",\"%s\":%lld", key, (long long)ms);
}

static void json_cand(const floe_ice_cand *c) {
    printf("{\"type\":\"%s\",\"addr\":\"%s\"}", floe_ice_cand_type_name(c->type),
           floe_cli_addr(&c->addr).s);
}

/* A call counts when it was answered and had media both ways. */
static bool call_ok(const rt *r, const floe_sip_ua_result *res) {
    return r->confirmed && res->ms_200 >= 0 && res->packets_sent > 0 && res->packets_received > 0;
}

static void print_json(const rt *r, const floe_sip_ua_result *res, bool ok) {
    printf("{\"ok\":%s,\"role\":\"%s\",\"state\":\"%s\"", ok ? "true" : "false",
           r->o.caller ? "caller" : "callee", floe_sip_call_state_name(res->state));
    printf(",\"timeline\":{\"invite\":0");
    json_ms("183", res->ms_183);
    json_ms("nominated", res->ms_ice_completed);
    json_ms("180", res->ms_180);
    json_ms("200", res->ms_200);
    json_ms("first_rtp_sent", res->ms_first_rtp_sent);
    json_ms("first_rtp_received", res->ms_first_rtp_received);
    printf("},\"ice\":%s,\"selected\":", res->ice ? "true" : "false");
    if (res->have_pair) {
        printf("{\"local\":");
        json_cand(&res->local);
        printf(",\"remote\":");
        json_cand(&res->remote);
        printf("}");
    } else {
        printf("null");
    }
    printf(",\"packets_sent\":%llu,\"packets_received\":%llu,\"packets_lost\":%lld",
           (unsigned long long)res->packets_sent, (unsigned long long)res->packets_received,
           (long long)res->packets_lost);
    printf(",\"reinvite_sent\":%s,\"status\":%u,\"reason\":", res->reinvite_sent ? "true" : "false",
           res->end_status);
    json_string(res->end_reason);
    printf(",\"send_dropped\":%llu", (unsigned long long)r->send_dropped);
    if (!ok) {
        printf(",\"error\":");
        json_string(r->error[0] ? r->error : "the call was not answered with media both ways");
    }
    printf("}\n");
    fflush(stdout);
}

static void print_text(const floe_sip_ua_result *res, bool ok) {
    printf("%s: %s", ok ? "call ok" : "call failed", floe_sip_call_state_name(res->state));
    if (res->end_reason[0]) printf(" (%s)", res->end_reason);
    if (res->have_pair)
        printf(", %s %s -> %s %s", floe_ice_cand_type_name(res->local.type),
               floe_cli_addr(&res->local.addr).s, floe_ice_cand_type_name(res->remote.type),
               floe_cli_addr(&res->remote.addr).s);
    printf(", %llu packets sent, %llu received, %lld lost\n", (unsigned long long)res->packets_sent,
           (unsigned long long)res->packets_received, (long long)res->packets_lost);
    fflush(stdout);
}

/* The end of one call: its result is printed; `floe call` and `floe answer --once` stop. */
static void call_over(rt *r) {
    floe_sip_ua_result res;
    floe_sip_ua_result_get(r->ua, &res);
    bool ok = call_ok(r, &res) && !r->failed;
    if (!ok && !r->error[0] && r->o.caller && !r->confirmed && res.end_status >= 300)
        snprintf(r->error, sizeof r->error, "the call was rejected with status %u",
                 res.end_status); /* the callee's final answer: 486, 488, 603, ... */
    else if (!ok && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s",
                 !r->confirmed               ? "the call was not answered"
                 : res.packets_sent == 0     ? "no media was sent"
                 : res.packets_received == 0 ? "no media was received"
                                             : "the call failed");
    if (r->o.json)
        print_json(r, &res, ok);
    else
        print_text(&res, ok);
    r->calls++;
    r->last_ok = ok;
    r->in_call = false;
    r->confirmed = false;
    r->hung_up = false;
    floe_rt_timer_cancel(r->duration_timer);
    floe_rt_timer_cancel(r->hangup_timer);
    floe_rt_timer_cancel(r->restart_timer);
    if (r->o.caller)
        finish(r);
    else if (r->o.once && floe_sip_ua_settling(r->ua))
        r->settle_until = floe_rt_now() + SETTLE_MAX; /* service() finishes */
    else if (r->o.once)
        finish(r);
    else
        r->error[0] = '\0';
}

/* ---- events ------------------------------------------------------------------------------- */

static void hang_up(rt *r, const char *why) {
    if (r->hung_up) return;
    r->hung_up = true;
    progress(r, "hanging up: %s", why);
    if (floe_sip_ua_hangup(r->ua, floe_rt_now()) != FLOE_OK) {
        call_over(r);
        return;
    }
    floe_rt_timer_arm(r->hangup_timer, floe_rt_now() + HANGUP_WAIT);
    service(r);
}

static void on_duration(void *arg, floe_rt_timer *t) {
    (void)t;
    rt *r = arg;
    hang_up(r, "the --duration of media is over");
}

static void on_restart(void *arg, floe_rt_timer *t) {
    (void)t;
    rt *r = arg;
    int rc = floe_sip_ua_ice_restart(r->ua, floe_rt_now());
    if (rc != FLOE_OK) progress(r, "ICE restart not possible now (%s)", floe_strerror(rc));
    service(r);
}

static void on_hangup_wait(void *arg, floe_rt_timer *t) {
    (void)t;
    rt *r = arg;
    progress(r, "no answer to the %s within %g s",
             floe_sip_ua_state(r->ua) == FLOE_SIP_CALL_CANCELLING ? "CANCEL" : "BYE",
             (double)HANGUP_WAIT / 1e9);
    call_over(r);
}

static void dial(rt *r) {
    if (r->dialed) return;
    r->dialed = true;
    r->in_call = true;
    int rc = floe_sip_ua_dial(r->ua, floe_rt_now(), r->o.uri);
    if (rc != FLOE_OK) {
        fail(r, "cannot call %s: %s", r->o.uri, floe_strerror(rc));
        return;
    }
    progress(r, "calling %s: gathering candidates", r->o.uri);
}

static void handle_sip(rt *r, const floe_sip_ua_event *ev, bool sent) {
    const char *dir = sent ? "->" : "<-";
    const char *tag = ev->sip.has_sdp ? " (SDP)" : "";
    if (ev->sip.request) {
        if (sent && !strcmp(ev->sip.method, "INVITE") && ev->sip.has_sdp)
            progress(r, "%s INVITE to %s: offer sent%s", dir, floe_cli_addr(&ev->sip.peer).s,
                     r->confirmed ? " (re-INVITE)" : "");
        else
            progress(r, "%s %s %s %s%s", dir, ev->sip.method, sent ? "to" : "from",
                     floe_cli_addr(&ev->sip.peer).s, tag);
    } else {
        progress(r, "%s %u %s%s %s %s%s", dir, ev->sip.status, ev->sip.method,
                 ev->sip.reliable ? " reliable" : "", sent ? "to" : "from",
                 floe_cli_addr(&ev->sip.peer).s, tag);
        if (!sent && ev->sip.status == 183) progress(r, "183: the answer with candidates came");
    }
}

static void handle_event(rt *r, const floe_sip_ua_event *ev) {
    switch (ev->type) {
    case FLOE_SIP_UA_EV_SIP_SENT: handle_sip(r, ev, true); break;
    case FLOE_SIP_UA_EV_SIP_RECEIVED: handle_sip(r, ev, false); break;
    case FLOE_SIP_UA_EV_CALL_STATE:
        if (ev->state.to == FLOE_SIP_CALL_OFFERED || ev->state.to == FLOE_SIP_CALL_OFFERED_PLAIN ||
            ev->state.to == FLOE_SIP_CALL_OFFERED_LATE) {
            r->in_call = true;
            progress(r, "incoming call: gathering candidates");
        } else if (ev->state.to == FLOE_SIP_CALL_RINGING) {
            progress(r, "ringing");
        } else if (ev->state.to == FLOE_SIP_CALL_CONFIRMED && !r->confirmed) {
            r->confirmed = true;
            progress(r, "answered: the call is up");
            if (r->o.caller)
                floe_rt_timer_arm(r->duration_timer,
                                  floe_rt_now() + (floe_time_ns)(r->o.duration_s * 1e9));
            if (r->o.caller && r->o.restart_s >= 0)
                floe_rt_timer_arm(r->restart_timer,
                                  floe_rt_now() + (floe_time_ns)(r->o.restart_s * 1e9));
        } else {
            progress(r, "state %s -> %s", floe_sip_call_state_name(ev->state.from),
                     floe_sip_call_state_name(ev->state.to));
        }
        break;
    case FLOE_SIP_UA_EV_ICE_GATHERED: progress(r, "gathering done"); break;
    case FLOE_SIP_UA_EV_ICE_CHECKING: progress(r, "checks started"); break;
    case FLOE_SIP_UA_EV_ICE_SELECTED:
        progress(r, "nominated: %s %s -> %s %s", floe_ice_cand_type_name(ev->local.type),
                 floe_cli_addr(&ev->local.addr).s, floe_ice_cand_type_name(ev->remote.type),
                 floe_cli_addr(&ev->remote.addr).s);
        break;
    case FLOE_SIP_UA_EV_ICE_COMPLETED: progress(r, "ICE completed"); break;
    case FLOE_SIP_UA_EV_ICE_RESTART:
        progress(r, "ICE restart: new credentials, the checks run again");
        break;
    case FLOE_SIP_UA_EV_ICE_PATH_FOUND:
        progress(r, "path found: our check succeeded (the caller has no 100rel: the answer "
                    "goes in the 200, the nomination follows it)");
        break;
    case FLOE_SIP_UA_EV_ICE_FAILED: progress(r, "ICE failed: %s", ev->reason); break;
    case FLOE_SIP_UA_EV_CONSENT_LOST: progress(r, "consent lost: media stopped"); break;
    case FLOE_SIP_UA_EV_MEDIA_SENT: progress(r, "media: first RTP sent"); break;
    case FLOE_SIP_UA_EV_MEDIA_RECEIVED: progress(r, "media: first RTP received"); break;
    case FLOE_SIP_UA_EV_CALL_ENDED:
        progress(r, "hang-up: the call ended (%s%s%.0u)", ev->reason, ev->status ? ", status " : "",
                 ev->status);
        if (r->in_call || r->o.caller) call_over(r);
        break;
    case FLOE_SIP_UA_EV_REGISTERED:
        progress(r, "registered as %s@%s for %u s", r->o.user, r->o.domain, ev->expires);
        if (r->o.caller) dial(r);
        break;
    case FLOE_SIP_UA_EV_REGISTER_FAILED:
        fail(r, "registration failed: %u %s", ev->status, ev->reason);
        break;
    case FLOE_SIP_UA_EV_NONE:
    default: break;
    }
}

static void on_deadline(void *arg, floe_rt_timer *t) {
    (void)t;
    rt *r = arg;
    if (r->confirmed) return; /* the call is up: --duration decides */
    snprintf(r->error, sizeof r->error, "no answered call within %g s (state %s)", r->o.timeout_s,
             floe_sip_call_state_name(floe_sip_ua_state(r->ua)));
    fprintf(stderr, "floe %s: %s\n", r->sub, r->error);
    if (r->in_call)
        hang_up(r, "timeout");
    else
        finish(r);
}

static void on_signal(void *arg, int signo) {
    rt *r = arg;
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    if (r->in_call && !r->hung_up) {
        snprintf(r->error, sizeof r->error, "interrupted by %s", name);
        hang_up(r, name);
    } else {
        if (r->calls == 0 || r->o.once) fail(r, "interrupted by %s", name);
        finish(r);
    }
}

/* ---- setup -------------------------------------------------------------------------------- */

static int resolve_one(rt *r, const char *what, const char *name, uint16_t dport, floe_addr *out) {
    size_t n = 0;
    int rc = floe_rt_resolve(name, dport, r->o.ice.family, out, 1, &n);
    if (rc == FLOE_OK && (n == 0 || out->port == 0)) rc = FLOE_ERR_ADDR;
    if (rc != FLOE_OK) {
        fail(r, "cannot resolve %s '%s': %s", what, name, floe_strerror(rc));
        return 1;
    }
    return 0;
}

static int open_media(rt *r, const floe_addr *ip, const char *ifname) {
    if (r->n_media == FLOE_SIP_UA_MAX_MEDIA_HOSTS) return 0;
    media_sock *s = &r->media[r->n_media];
    memset(s, 0, sizeof *s);
    s->r = r;
    floe_addr at = *ip;
    at.port = 0;
    if (floe_rt_udp_open(&at, 0, &s->fd, &s->local) != FLOE_OK) {
        fail(r, "cannot open a udp socket on %s: %s", floe_cli_addr(ip).s, strerror(errno));
        return 1;
    }
    int rc = floe_sip_ua_add_media_host(r->ua, &s->local, ifname, &s->index);
    if (rc != FLOE_OK) {
        progress(r, "not using %s for media: %s", floe_cli_addr(&s->local).s, floe_strerror(rc));
        close(s->fd);
        return 0;
    }
    if (floe_rt_loop_watch(r->loop, s->fd, FLOE_RT_READ, on_media_readable, s) != FLOE_OK) {
        close(s->fd);
        fail(r, "cannot watch a socket: %s", strerror(errno));
        return 1;
    }
    progress(r, "media socket %s%s%s", floe_cli_addr(&s->local).s, ifname ? " on " : "",
             ifname ? ifname : "");
    r->n_media++;
    return 0;
}

/* ---- TURN over TCP or TLS: the user agent's streams (ice_streams.h) ---- */

static int stream_describe(void *arg, unsigned id, floe_ice_stream *out) {
    rt *r = arg;
    return floe_sip_ua_stream(r->ua, id, out);
}

static void stream_feed(void *arg, unsigned id, const floe_addr *from, const uint8_t *p,
                        size_t len) {
    (void)from;
    rt *r = arg;
    floe_sip_ua_on_stream(r->ua, floe_rt_now(), id, p, len);
}

static void stream_lost(void *arg, unsigned id) {
    rt *r = arg;
    floe_sip_ua_stream_closed(r->ua, floe_rt_now(), id);
}

static void stream_closed(void *arg, unsigned id, const floe_ice_stream *st, const char *why) {
    (void)id;
    progress(arg, "TURN connection over %s to %s ended: %s", floe_transport_name(st->transport),
             floe_cli_addr(&st->remote).s, why);
}

static void stream_after(void *arg) {
    rt *r = arg;
    if (!r->done) service(r);
}

static int setup(rt *r) {
    if (floe_rt_loop_new(&r->loop) != FLOE_OK) {
        fail(r, "cannot create the event loop: %s", strerror(errno));
        return 1;
    }
    if (floe_rt_timer_new(&r->ua_timer, r->loop, on_ua_timer, r) != FLOE_OK ||
        floe_rt_timer_new(&r->duration_timer, r->loop, on_duration, r) != FLOE_OK ||
        floe_rt_timer_new(&r->hangup_timer, r->loop, on_hangup_wait, r) != FLOE_OK ||
        floe_rt_timer_new(&r->restart_timer, r->loop, on_restart, r) != FLOE_OK ||
        floe_rt_timer_new(&r->deadline_timer, r->loop, on_deadline, r) != FLOE_OK) {
        fail(r, "out of memory");
        return 1;
    }
    floe_rt_loop_on_signal(r->loop, SIGINT, on_signal, r);
    floe_rt_loop_on_signal(r->loop, SIGTERM, on_signal, r);
    if (r->o.caller || r->o.timeout_set)
        floe_rt_timer_arm(r->deadline_timer, r->t0 + floe_cli_timeout_ns(r->o.timeout_s));

    char err[512];
    if (r->o.play && floe_rt_wav_open_read(&r->play, r->o.play, err, sizeof err) != FLOE_OK) {
        fail(r, "%s", err);
        return 1;
    }
    if (r->o.record &&
        floe_rt_wav_open_write(&r->record, r->o.record, err, sizeof err) != FLOE_OK) {
        fail(r, "%s", err);
        return 1;
    }

    floe_rt_ifaddr list[FLOE_ICE_OPTS_MAX_LOCAL];
    size_t n_list = 0;
    size_t n_found;
    if (floe_ice_opts_local(&r->o.ice, list, FLOE_ICE_OPTS_MAX_LOCAL, &n_list, &n_found, err,
                            sizeof err)) {
        fail(r, "%s", err);
        return 1;
    }

    /* The SIP socket: --listen (answer), else an ephemeral port on the first local
     * address. Via and Contact need an address the peer can reach, never 0.0.0.0. */
    /* The caller's SIP socket takes the family of where the INVITE goes (the proxy, or
     * the Request-URI's IP literal). */
    floe_addr target;
    memset(&target, 0, sizeof target);
    if (r->o.caller && r->o.proxy) {
        if (resolve_one(r, "the proxy", r->o.proxy, 5060, &target)) return 1;
    } else if (r->o.caller) {
        char u[FLOE_SIP_UA_NAME_MAX], h[FLOE_SIP_UA_NAME_MAX], hp[256];
        if (split_sip_uri(r->o.uri, u, h, hp, sizeof hp)) (void)floe_addr_parse(h, &target);
    }
    floe_addr bind_at = list[0].addr;
    for (size_t i = 0; i < n_list; i++)
        if (target.family != FLOE_AF_NONE && list[i].addr.family == target.family) {
            bind_at = list[i].addr;
            break;
        }
    bind_at.port = 0;
    if (!r->o.caller) {
        const char *l = r->o.listen ? r->o.listen : "0.0.0.0:5060";
        if (floe_addr_parse(l, &bind_at) != FLOE_OK || bind_at.port == 0) {
            fail(r, "bad --listen '%s' (expected ADDR:PORT)", l);
            return 1;
        }
    }
    if (floe_rt_udp_open(&bind_at, 0, &r->sip_fd, &r->sip_local) != FLOE_OK) {
        fail(r, "cannot open the SIP socket on %s: %s", floe_cli_addr(&bind_at).s, strerror(errno));
        return 1;
    }
    if (floe_addr_classify(&r->sip_local, NULL) & FLOE_ADDR_UNSPECIFIED) {
        uint16_t port = r->sip_local.port;
        bool found = false;
        for (size_t i = 0; i < n_list && !found; i++)
            if (list[i].addr.family == r->sip_local.family) {
                r->sip_local = list[i].addr;
                found = true;
            }
        if (!found) r->sip_local = list[0].addr;
        r->sip_local.port = port;
    }
    if (floe_rt_loop_watch(r->loop, r->sip_fd, FLOE_RT_READ, on_sip_readable, r) != FLOE_OK) {
        fail(r, "cannot watch the SIP socket: %s", strerror(errno));
        return 1;
    }
    /* SIP over TCP on the same address (RFC 3261 §18: a UA takes both) */
    floe_sip_tcp_config tc = {.loop = r->loop,
                              .listen = r->sip_local,
                              .on_message = on_tcp_message,
                              .on_lost = tcp_lost,
                              .arg = r};
    int trc = floe_sip_tcp_open(&r->tcp, &tc, NULL);
    if (trc != FLOE_OK) {
        r->tcp = NULL;
        if (r->o.tcp) {
            fail(r, "cannot listen for SIP over TCP on %s: %s", floe_cli_addr(&r->sip_local).s,
                 strerror(errno));
            return 1;
        }
        progress(r, "SIP on udp %s (no TCP: %s)", floe_cli_addr(&r->sip_local).s, strerror(errno));
    } else {
        progress(r, "SIP on udp and tcp %s%s", floe_cli_addr(&r->sip_local).s,
                 r->o.tcp ? " (our requests over tcp)" : "");
    }

    floe_sip_ua_config cfg;
    floe_sip_ua_config_default(&cfg);
    if (!r->o.domain_set) { /* our address as a SIP host: an IPv6 one in brackets */
        char ip[FLOE_ADDR_STRLEN];
        floe_addr_format(&r->sip_local, false, ip, sizeof ip);
        snprintf(r->o.domain, sizeof r->o.domain,
                 r->sip_local.family == FLOE_AF_INET6 ? "[%s]" : "%s", ip);
    }
    cfg.user = r->o.user;
    cfg.domain = r->o.domain;
    cfg.local[FLOE_TRANSPORT_UDP] = r->sip_local;
    if (r->tcp) cfg.local[FLOE_TRANSPORT_TCP] = r->sip_local;
    cfg.transport = r->o.tcp ? FLOE_TRANSPORT_TCP : FLOE_TRANSPORT_UDP;
    cfg.rnd = floe_rt_random;
    cfg.rnd_ctx = NULL;
    cfg.answer_after = FLOE_MS((floe_time_ns)(r->o.answer_after_s * 1000.0));
    cfg.tone_hz = r->o.tone_hz;
    cfg.ice = !r->o.no_ice;
    if (r->play) {
        cfg.pull = pull_audio;
        cfg.pull_ctx = r;
    }
    cfg.push = push_audio;
    cfg.push_ctx = r;
    cfg.auth_password = r->o.password;
    if (r->o.proxy && resolve_one(r, "the proxy", r->o.proxy, 5060, &cfg.outbound_proxy)) return 1;
    if (floe_ice_opts_resolve(&r->o.ice, &r->servers, err, sizeof err)) {
        fail(r, "%s", err);
        return 1;
    }
    if (r->servers.tls && r->o.ice.turn_insecure)
        progress(r, "warning: --turn-insecure: the TURN server's certificate is not verified");
    memcpy(cfg.stun_servers, r->servers.stun, sizeof cfg.stun_servers);
    cfg.n_stun_servers = r->servers.n_stun;
    memcpy(cfg.turn_servers, r->servers.turn, sizeof cfg.turn_servers);
    cfg.n_turn_servers = r->servers.n_turn;
    int rc = floe_sip_ua_new(&r->ua, &cfg);
    if (rc != FLOE_OK) {
        fail(r, "cannot create the SIP user agent: %s", floe_strerror(rc));
        return 1;
    }
    ice_streams_config sc = {.loop = r->loop,
                             .describe = stream_describe,
                             .feed = stream_feed,
                             .lost = stream_lost,
                             .tls = r->servers.tls,
                             .on_closed = stream_closed,
                             .after = stream_after,
                             .arg = r};
    if (ice_streams_new(&r->streams, &sc) != FLOE_OK) {
        fail(r, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < n_list; i++)
        if (open_media(r, &list[i].addr, list[i].name)) return 1;
    if (r->n_media == 0) {
        fail(r, "no media socket could be opened");
        return 1;
    }
    if (r->o.do_register) {
        rc = floe_sip_ua_register(r->ua, floe_rt_now());
        if (rc != FLOE_OK) {
            fail(r, "cannot register: %s", floe_strerror(rc));
            return 1;
        }
        progress(r, "registering %s@%s with %s", r->o.user, r->o.domain,
                 floe_cli_addr(&cfg.outbound_proxy).s);
    } else if (r->o.caller) {
        dial(r);
    } else {
        progress(r, "waiting for calls as %s@%s", r->o.user, r->o.domain);
    }
    if (!r->done) service(r);
    return 0;
}

static void teardown(rt *r) {
    for (size_t i = 0; i < r->n_media; i++) {
        if (r->loop) floe_rt_loop_unwatch(r->loop, r->media[i].fd);
        close(r->media[i].fd);
    }
    r->n_media = 0;
    if (r->sip_fd >= 0) {
        if (r->loop) floe_rt_loop_unwatch(r->loop, r->sip_fd);
        close(r->sip_fd);
        r->sip_fd = -1;
    }
    floe_sip_tcp_free(r->tcp);
    r->tcp = NULL;
    ice_streams_free(r->streams); /* a TCP allocation ends with its connection */
    r->streams = NULL;
    floe_sip_ua_free(r->ua);
    r->ua = NULL;
    floe_rt_loop_free(r->loop);
    r->loop = NULL;
    floe_rt_wav_close(r->play);
    r->play = NULL;
    floe_ice_opts_servers_free(&r->servers);
}

int floe_call_rt_run(const char *sub, bool caller, const char *help, int argc, char **argv) {
    static rt r; /* receive buffers: keep them off the stack */
    memset(&r, 0, sizeof r);
    r.sub = sub;
    r.sip_fd = -1;
    r.o.caller = caller;
    r.t0 = floe_rt_now();
    bool want_help;
    int rc = parse_opts(sub, argc, argv, &r.o, &want_help);
    if (want_help) {
        fputs(help, stdout);
        return 0;
    }
    if (rc) return rc;
    floe_rt_ignore_sigpipe();
    if (setup(&r) == 0 && !r.done && floe_rt_loop_run(r.loop) != FLOE_OK)
        fail(&r, "event loop failed: %s", strerror(errno));
    if (r.ua && r.calls == 0 && (r.o.caller || r.o.once)) {
        call_over(&r);              /* never got to an end */
    } else if (!r.ua && r.o.json) { /* failed before the user agent existed */
        printf("{\"ok\":false,\"role\":\"%s\",\"error\":", caller ? "caller" : "callee");
        json_string(r.error[0] ? r.error : "failed");
        printf("}\n");
    }
    bool ok = caller || r.o.once ? r.calls > 0 && r.last_ok && !r.failed : !r.failed;
    if (r.record) {
        if (floe_rt_wav_close(r.record) != FLOE_OK) {
            fprintf(stderr, "floe %s: %s is incomplete\n", sub, r.o.record);
            ok = false;
        }
        r.record = NULL;
    }
    teardown(&r);
    return fflush(stdout) == 0 && ok ? 0 : 1;
}
