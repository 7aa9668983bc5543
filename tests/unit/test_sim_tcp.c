/* Unit tests for sim/sim_tcp.h: TCP in the simulator. The handshake and data both ways;
 * a 100 KB transfer intact under loss, jitter and reordering; a closed port (RST) and a
 * black hole (the SYN schedule); no route; through a NAT (a TCP mapping of its own),
 * through a firewall that blocks UDP (TCP passes, UDP does not), an unsolicited SYN
 * dropped by a NAT; close and abort; the counters' identity; the same seed giving the
 * same run; the TCP packets the pcapng writer builds; the caps. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_sim *world(uint64_t seed) {
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    return sim;
}

static floe_sim_network *net(floe_sim *sim, const char *name, floe_time_ns delay,
                             floe_time_ns jitter, double loss) {
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = delay;
    l.jitter = jitter;
    l.loss = loss;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, name, &l, &n), FLOE_OK);
    return n;
}

static floe_sim_host *host(floe_sim *sim, const char *name, floe_sim_network *n, const char *ip,
                           const char *gw) {
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(sim, name, &h), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    floe_addr a = addr(ip);
    if (a.family == FLOE_AF_INET4)
        ic.ip4 = a;
    else
        ic.ip6 = a;
    if (gw) {
        floe_addr g = addr(gw);
        if (g.family == FLOE_AF_INET4)
            ic.gw4 = g;
        else
            ic.gw6 = g;
    }
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    return h;
}

static floe_sim_host *box(floe_sim *sim, const char *name, floe_sim_nat_mode mode,
                          floe_sim_network *in, const char *in_ip, floe_sim_network *out,
                          const char *out_ip) {
    floe_sim_nat_config c;
    floe_sim_nat_config_default(&c);
    c.mode = mode;
    floe_sim_iface_config ic, oc;
    floe_sim_iface_config_init(&ic, NULL, in);
    ic.ip4 = addr(in_ip);
    floe_sim_iface_config_init(&oc, NULL, out);
    oc.ip4 = addr(out_ip);
    floe_sim_host *h;
    assert_int_equal(floe_sim_nat_add(sim, name, &c, &ic, &oc, &h), FLOE_OK);
    return h;
}

static void check_accounting(const floe_sim *sim) {
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_TX),
                     floe_sim_counter_get(sim, FLOE_SIM_DELIVERED) + floe_sim_drops(sim) +
                         floe_sim_in_flight(sim));
}

/* ---- an end that records what happens --------------------------------------------- */

#define RX_MAX (256 * 1024)

typedef struct end {
    floe_sim_tcp *c;
    floe_time_ns connected, closed, failed; /* 0: not (yet) */
    unsigned n_connected, n_closed, n_failed, n_data;
    uint8_t *rx;
    size_t rx_len;
    bool echo;         /* send back what arrives */
    bool close_on_fin; /* close when the peer's FIN arrives */
} end;

static void end_init(end *e) {
    memset(e, 0, sizeof *e);
    e->rx = malloc(RX_MAX);
    assert_non_null(e->rx);
}

static void end_free(end *e) {
    free(e->rx);
}

static void on_end(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                   const uint8_t *p, size_t len) {
    end *e = ctx;
    assert_ptr_equal(c, e->c);
    switch (ev) {
    case FLOE_SIM_TCP_EV_CONNECTED:
        e->connected = now;
        e->n_connected++;
        break;
    case FLOE_SIM_TCP_EV_DATA:
        assert_true(len > 0);
        assert_true(e->rx_len + len <= RX_MAX);
        memcpy(e->rx + e->rx_len, p, len);
        e->rx_len += len;
        e->n_data++;
        if (e->echo) assert_int_equal(floe_sim_tcp_send(c, p, len), FLOE_OK);
        break;
    case FLOE_SIM_TCP_EV_CLOSED:
        e->closed = now;
        e->n_closed++;
        if (e->close_on_fin) {
            floe_sim_tcp_close(c);
            e->c = NULL;
        }
        break;
    case FLOE_SIM_TCP_EV_FAILED:
        e->failed = now;
        e->n_failed++;
        break;
    }
}

/* A server: a listener whose connections are recorded by `acc` (the first one). */
typedef struct server {
    floe_sim_tcp *listener;
    end acc;
    unsigned n_accepted;
    floe_time_ns accepted_at;
} server;

static void on_accept(void *ctx, floe_sim_tcp *l, floe_sim_tcp *c, floe_time_ns now) {
    server *s = ctx;
    assert_ptr_equal(l, s->listener);
    assert_int_equal(floe_sim_tcp_get_state(c), FLOE_SIM_TCP_ESTABLISHED);
    s->n_accepted++;
    if (s->n_accepted > 1) {
        floe_sim_tcp_close(c); /* one connection per test server */
        return;
    }
    s->accepted_at = now;
    s->acc.c = c;
    floe_sim_tcp_set_callback(c, on_end, &s->acc);
}

static void server_listen(server *s, floe_sim_host *h, const char *bind) {
    memset(s, 0, sizeof *s);
    end_init(&s->acc);
    floe_addr b = addr(bind);
    assert_int_equal(floe_sim_tcp_listen(h, &b, on_accept, s, &s->listener), FLOE_OK);
}

static void connect_to(end *e, floe_sim_host *h, const char *bind, const char *dst) {
    floe_addr b = addr(bind), d = addr(dst);
    assert_int_equal(floe_sim_tcp_connect(h, &b, &d, on_end, e, &e->c), FLOE_OK);
    assert_int_equal(floe_sim_tcp_get_state(e->c), FLOE_SIM_TCP_SYN_SENT);
}

static void fill(uint8_t *p, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

/* Counts TCP segments by their flags, from a tracer. */
typedef struct seg_count {
    unsigned syn, synack, rst, fin, data, delivered;
    floe_time_ns last_syn;
    char first_line[160];
} seg_count;

static void count_segments(void *ctx, const floe_sim_trace *rec) {
    seg_count *k = ctx;
    if (rec->proto != FLOE_SIM_PROTO_TCP) return;
    if (rec->verdict == FLOE_SIM_V_DELIVERED) k->delivered++;
    if (rec->verdict == FLOE_SIM_V_FORWARDED) return; /* counted on its last network */
    uint8_t f = rec->tcp_flags;
    if ((f & FLOE_SIM_TCP_SYN) && !(f & FLOE_SIM_TCP_ACK)) {
        if (k->syn == 0) floe_sim_trace_format(rec, k->first_line, sizeof k->first_line);
        k->syn++;
        k->last_syn = rec->sent;
    }
    if ((f & FLOE_SIM_TCP_SYN) && (f & FLOE_SIM_TCP_ACK)) k->synack++;
    if (f & FLOE_SIM_TCP_RST) k->rst++;
    if (f & FLOE_SIM_TCP_FIN) k->fin++;
    if (rec->len) k->data++;
}

/* ---- the handshake and data ------------------------------------------------------ */

static void test_handshake_and_data(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    seg_count k = {0};
    assert_int_equal(floe_sim_tracer_add(sim, count_segments, &k), FLOE_OK);
    server s;
    server_listen(&s, b, "0.0.0.0:3478");
    assert_int_equal(floe_sim_tcp_get_state(s.listener), FLOE_SIM_TCP_LISTEN);
    assert_string_equal(floe_sim_tcp_state_name(FLOE_SIM_TCP_LISTEN), "LISTEN");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:3478");
    /* Bytes queued before the handshake ends leave with its last ACK. */
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"hello", 5), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);

    assert_int_equal(e.n_connected, 1);
    assert_int_equal(e.connected, FLOE_MS(20)); /* SYN out, SYN-ACK back */
    assert_int_equal(s.n_accepted, 1);
    assert_int_equal(s.accepted_at, FLOE_MS(30));
    assert_int_equal(s.acc.rx_len, 5);
    assert_memory_equal(s.acc.rx, "hello", 5);
    assert_int_equal(k.syn, 1);
    assert_int_equal(k.synack, 1);
    /* The trace line of the SYN (its sequence number is random). */
    static const char syn_head[] =
        "0.010000000 internet 198.51.100.2:49152 > 192.0.2.1:3478 tcp [S] seq ";
    assert_memory_equal(k.first_line, syn_head, sizeof syn_head - 1);
    assert_non_null(strstr(k.first_line, " ack 0 len 0 delivered"));

    /* Addresses on both sides. */
    floe_addr l = floe_sim_tcp_local(e.c), r = floe_sim_tcp_remote(e.c);
    floe_addr want_l = addr("198.51.100.2:49152"), want_r = addr("192.0.2.1:3478");
    assert_true(floe_addr_equal(&l, &want_l));
    assert_true(floe_addr_equal(&r, &want_r));
    l = floe_sim_tcp_local(s.acc.c);
    r = floe_sim_tcp_remote(s.acc.c);
    assert_true(floe_addr_equal(&l, &want_r));
    assert_true(floe_addr_equal(&r, &want_l));
    assert_ptr_equal(floe_sim_tcp_host(e.c), a);

    /* The other way, then several writes that arrive as one stream. */
    assert_int_equal(floe_sim_tcp_send(s.acc.c, (const uint8_t *)"world!", 6), FLOE_OK);
    assert_int_equal(floe_sim_tcp_send(s.acc.c, (const uint8_t *)"--", 2), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);
    assert_int_equal(e.rx_len, 8);
    assert_memory_equal(e.rx, "world!--", 8);
    floe_sim_tcp_stats st;
    floe_sim_tcp_get_stats(e.c, &st);
    assert_int_equal(st.bytes_acked, 5);
    assert_int_equal(st.bytes_received, 8);
    assert_int_equal(st.retransmits, 0);
    assert_int_equal(st.mss, FLOE_SIM_TCP_MSS);
    /* One round trip measured: 20 ms, so the timeout is at its floor. */
    assert_int_equal(st.srtt, FLOE_MS(20));
    assert_int_equal(st.rto, FLOE_SIM_TCP_RTO_MIN);

    /* Alice closes: bob sees CLOSED, closes too; everything goes away in bounded time. */
    s.acc.close_on_fin = true;
    floe_sim_tcp_close(e.c);
    e.c = NULL;
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(20)), FLOE_OK);
    assert_int_equal(s.acc.n_closed, 1);
    assert_int_equal(e.n_closed, 0); /* alice's handle was gone: no callback */
    assert_int_equal(e.n_failed + s.acc.n_failed, 0);
    assert_int_equal(k.fin, 2);
    assert_int_equal(k.rst, 0);
    assert_int_equal(floe_sim_tcp_count(a), 0);
    assert_int_equal(floe_sim_tcp_count(b), 1); /* the listener */
    assert_int_equal(floe_sim_in_flight(sim), 0);
    assert_int_equal(k.delivered, floe_sim_counter_get(sim, FLOE_SIM_DELIVERED));
    check_accounting(sim);
    floe_sim_tcp_close(s.listener);
    assert_int_equal(floe_sim_tcp_count(b), 0);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

/* ---- bulk data under loss --------------------------------------------------------- */

#define BULK (100 * 1024)

/* Data segments from port `port` that the link lost. */
typedef struct lost_data {
    uint16_t port;
    unsigned n;
} lost_data;

static void count_lost_data(void *ctx, const floe_sim_trace *rec) {
    lost_data *d = ctx;
    if (rec->proto == FLOE_SIM_PROTO_TCP && rec->len > 0 && rec->src.port == d->port &&
        rec->verdict == FLOE_SIM_V_DROPPED && rec->reason == FLOE_SIM_DROP_LOSS)
        d->n++;
}

/* Alice and the server send each other 100 KB at once over 20 ms +- 5 ms of delay
 * (reordered with `reorder`) and `loss`; *sender gets alice's statistics. */
static void bulk_run(uint64_t seed, double loss, bool reorder, uint64_t *hash,
                     floe_time_ns *done_at, floe_sim_tcp_stats *sender) {
    floe_sim *sim = world(seed);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(20), FLOE_MS(5), loss);
    floe_sim_link l = *floe_sim_network_link(n);
    l.reorder = reorder;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_OK);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    lost_data lost = {.port = floe_sim_tcp_local(e.c).port};
    assert_int_equal(floe_sim_tracer_add(sim, count_lost_data, &lost), FLOE_OK);
    uint8_t *data = malloc(BULK), *back = malloc(BULK);
    assert_non_null(data);
    assert_non_null(back);
    fill(data, BULK, (uint32_t)seed);
    fill(back, BULK, (uint32_t)seed + 7);
    assert_int_equal(floe_sim_tcp_send(e.c, data, BULK), FLOE_OK);
    /* The server sends 100 KB back as soon as it has the connection. */
    while (s.n_accepted == 0 && floe_sim_now(sim) < FLOE_S(30))
        assert_int_equal(floe_sim_step(sim), 1);
    assert_int_equal(s.n_accepted, 1);
    assert_int_equal(floe_sim_tcp_send(s.acc.c, back, BULK), FLOE_OK);
    while ((s.acc.rx_len < BULK || e.rx_len < BULK) && floe_sim_now(sim) < FLOE_S(120))
        assert_int_equal(floe_sim_step(sim), 1);
    *done_at = floe_sim_now(sim);
    assert_int_equal(s.acc.rx_len, BULK);
    assert_memory_equal(s.acc.rx, data, BULK);
    assert_int_equal(e.rx_len, BULK);
    assert_memory_equal(e.rx, back, BULK);
    assert_int_equal(e.n_failed + s.acc.n_failed, 0);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(10)), FLOE_OK); /* the last acks */
    floe_sim_tcp_get_stats(e.c, sender);
    /* Every lost piece of alice's data was sent again (the bytes arrived after all). */
    assert_true(sender->retransmits >= lost.n);
    if (loss > 0) assert_true(floe_sim_counter_get(sim, FLOE_SIM_DROP_LOSS) > 10);
    check_accounting(sim);
    *hash = floe_sim_trace_hash(sim);
    free(data);
    free(back);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

static void test_bulk_under_loss(void **state) {
    (void)state;
    uint64_t h_clean, h_lossy;
    floe_time_ns t_clean, t_lossy;
    floe_sim_tcp_stats clean, lossy;
    bulk_run(5, 0, false, &h_clean, &t_clean, &clean);
    assert_int_equal(clean.retransmits, 0);
    assert_int_equal(clean.out_of_order, 0);
    assert_int_equal(clean.bytes_acked, BULK);
    assert_int_equal(clean.bytes_received, BULK);
    /* 84 segments each way, a window of 53 of them: a few round trips of 40 ms. */
    assert_true(t_clean < FLOE_MS(500));
    /* 10 % loss on every segment, acks included, and reordering. */
    bulk_run(5, 0.10, true, &h_lossy, &t_lossy, &lossy);
    assert_true(lossy.retransmits > 0);
    assert_true(lossy.fast_retransmits > 0);
    assert_true(lossy.out_of_order > 0); /* kept until the hole filled */
    assert_int_equal(lossy.bytes_acked, BULK);
    print_message("100 KB both ways: %.3f s clean, %.3f s at 10 %% loss (alice: %llu "
                  "retransmits, %llu timeouts, %llu fast retransmits, %llu early segments)\n",
                  (double)t_clean / 1e9, (double)t_lossy / 1e9,
                  (unsigned long long)lossy.retransmits, (unsigned long long)lossy.timeouts,
                  (unsigned long long)lossy.fast_retransmits,
                  (unsigned long long)lossy.out_of_order);
    assert_true(t_lossy > t_clean);
    assert_true(t_lossy < FLOE_S(60));
    assert_true(h_lossy != h_clean);
}

/* ---- failures --------------------------------------------------------------------- */

static void test_closed_port(void **state) {
    (void)state;
    floe_sim *sim = world(2);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    seg_count k = {0};
    assert_int_equal(floe_sim_tracer_add(sim, count_segments, &k), FLOE_OK);
    /* A UDP socket on the port does not make a TCP listener. */
    floe_sim_udp *u;
    floe_addr ub = addr("192.0.2.1:3478");
    assert_int_equal(floe_sim_udp_open(b, &ub, &u), FLOE_OK);
    end e;
    end_init(&e);
    connect_to(&e, a, "198.51.100.2:40000", "192.0.2.1:3478");
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(5)), FLOE_OK);
    assert_int_equal(e.n_failed, 1);
    assert_int_equal(e.failed, FLOE_MS(20)); /* one round trip: the RST */
    assert_int_equal(e.n_connected, 0);
    assert_int_equal(floe_sim_tcp_get_state(e.c), FLOE_SIM_TCP_CLOSED);
    assert_string_equal(floe_sim_tcp_state_name(FLOE_SIM_TCP_CLOSED), "CLOSED");
    assert_int_equal(k.syn, 1);
    assert_int_equal(k.rst, 1);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_NO_LISTENER), 1);
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DROP_NO_LISTENER), 1);
    assert_string_equal(floe_sim_counter_name(FLOE_SIM_DROP_NO_LISTENER), "drop_no_listener");
    /* A failed connection takes no data; it stays until closed. */
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"x", 1), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_tcp_send_space(e.c), 0);
    assert_int_equal(floe_sim_tcp_count(a), 1);
    floe_sim_tcp_close(e.c);
    assert_int_equal(floe_sim_tcp_count(a), 0);
    check_accounting(sim);
    floe_sim_udp_close(u);
    end_free(&e);
    floe_sim_free(sim);
}

static void test_black_hole(void **state) {
    (void)state;
    floe_sim *sim = world(3);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    seg_count k = {0};
    assert_int_equal(floe_sim_tracer_add(sim, count_segments, &k), FLOE_OK);
    /* The network loses everything: no answer ever comes. */
    floe_sim_link l = *floe_sim_network_link(n);
    l.loss = 1.0;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_OK);
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(600)), FLOE_OK);
    /* SYNs at 0, 1, 3, 7, 15 and 31 s; the attempt fails 32 s after the last. */
    assert_int_equal(k.syn, FLOE_SIM_TCP_SYN_TRIES);
    assert_int_equal(k.last_syn, FLOE_S(31));
    assert_int_equal(e.n_failed, 1);
    assert_int_equal(e.failed, FLOE_S(63));
    floe_sim_tcp_stats st;
    floe_sim_tcp_get_stats(e.c, &st);
    assert_int_equal(st.timeouts, FLOE_SIM_TCP_SYN_TRIES);
    assert_int_equal(st.retransmits, FLOE_SIM_TCP_SYN_TRIES - 1);
    assert_int_equal(s.n_accepted, 0);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_LOSS), FLOE_SIM_TCP_SYN_TRIES);
    floe_sim_tcp_close(e.c);

    /* No route at all: connect says so at once and sends nothing. */
    uint64_t tx = floe_sim_counter_get(sim, FLOE_SIM_TX);
    floe_addr any = addr("0.0.0.0:0"), far = addr("203.0.113.9:443");
    floe_sim_tcp *c;
    assert_int_equal(floe_sim_tcp_connect(a, &any, &far, on_end, &e, &c), FLOE_ERR_UNREACHABLE);
    assert_null(c);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_TX), tx);
    check_accounting(sim);
    floe_sim_tcp_close(s.listener);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

/* A connection whose peer vanishes mid-stream fails after its retransmissions. */
static void test_peer_vanishes(void **state) {
    (void)state;
    floe_sim *sim = world(4);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);
    assert_int_equal(s.n_accepted, 1);
    assert_int_equal(floe_sim_network_partition_at(n, floe_sim_now(sim), true), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, 1), FLOE_OK);
    floe_time_ns cut = floe_sim_now(sim);
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"anyone?", 7), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1000)), FLOE_OK);
    assert_int_equal(e.n_failed, 1);
    floe_sim_tcp_stats st;
    floe_sim_tcp_get_stats(e.c, &st);
    assert_int_equal(st.timeouts, FLOE_SIM_TCP_MAX_RETRIES + 1);
    /* Nine expiries from 200 ms, doubling: 0.2 + 0.4 + ... + 51.2 = 102.2 s. */
    assert_int_equal(e.failed - cut, FLOE_MS(102200));
    assert_int_equal(s.acc.n_failed, 0); /* the server sent nothing: it cannot know */
    floe_sim_tcp_close(e.c);
    floe_sim_tcp_close(s.acc.c);
    floe_sim_tcp_close(s.listener);
    check_accounting(sim);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

static void test_abort(void **state) {
    (void)state;
    floe_sim *sim = world(6);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);
    floe_sim_tcp_abort(s.acc.c);
    s.acc.c = NULL;
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(100)), FLOE_OK);
    /* Alice's end fails on the RST; bob's is gone (only the listener is left). */
    assert_int_equal(e.n_failed, 1);
    assert_int_equal(e.failed, FLOE_MS(110));
    assert_int_equal(floe_sim_tcp_count(b), 1);
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"x", 1), FLOE_ERR_STATE);
    floe_sim_tcp_close(e.c);
    assert_int_equal(floe_sim_tcp_count(a), 0);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_NO_LISTENER), 0);
    check_accounting(sim);
    floe_sim_tcp_close(s.listener);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

/* ---- NATs and firewalls ----------------------------------------------------------- */

typedef struct nat_lab {
    floe_sim *sim;
    floe_sim_network *internet, *lan;
    floe_sim_host *box, *inside, *outside;
} nat_lab;

static void nat_lab_init(nat_lab *L, uint64_t seed, floe_sim_nat_mode mode) {
    L->sim = world(seed);
    L->internet = net(L->sim, "internet", FLOE_MS(20), 0, 0);
    L->lan = net(L->sim, "lan", FLOE_MS(1), 0, 0);
    bool fw = mode != FLOE_SIM_NAT_TRANSLATE;
    const char *in_ip = fw ? "192.0.2.129" : "10.0.0.1";
    L->box = box(L->sim, "box", mode, L->lan, in_ip, L->internet, "203.0.113.1");
    L->inside = host(L->sim, "alice", L->lan, fw ? "192.0.2.130" : "10.0.0.2", in_ip);
    L->outside = host(L->sim, "server", L->internet, "192.0.2.1", NULL);
}

static void test_through_nat(void **state) {
    (void)state;
    nat_lab L;
    nat_lab_init(&L, 7, FLOE_SIM_NAT_TRANSLATE);
    server s;
    server_listen(&s, L.outside, "192.0.2.1:443");
    s.acc.echo = true;
    end e;
    end_init(&e);
    connect_to(&e, L.inside, "10.0.0.2:5000", "192.0.2.1:443");
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"ping", 4), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.n_connected, 1);
    assert_int_equal(e.rx_len, 4);
    assert_memory_equal(e.rx, "ping", 4);
    /* The server sees the NAT's address, with the port preserved. */
    floe_addr seen = floe_sim_tcp_remote(s.acc.c), want = addr("203.0.113.1:5000");
    assert_true(floe_addr_equal(&seen, &want));
    /* A TCP mapping, and no UDP one for the same endpoints. */
    floe_addr in = addr("10.0.0.2:5000"), srv = addr("192.0.2.1:443"), ext;
    assert_int_equal(floe_sim_nat_lookup_proto(L.box, FLOE_SIM_PROTO_TCP, &in, &srv, &ext),
                     FLOE_OK);
    assert_true(floe_addr_equal(&ext, &want));
    assert_int_equal(floe_sim_nat_lookup(L.box, &in, &srv, &ext), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sim_nat_mapping_count(L.box), 1);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_NAT_MAPPING_NEW), 1);
    /* A UDP socket on the same internal port gets its own mapping, on the same external
     * port: the two protocols' port spaces are separate. */
    floe_sim_udp *u;
    assert_int_equal(floe_sim_udp_open(L.inside, &in, &u), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(u, &srv, (const uint8_t *)"u", 1), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_nat_lookup(L.box, &in, &srv, &ext), FLOE_OK);
    assert_true(floe_addr_equal(&ext, &want));
    assert_int_equal(floe_sim_nat_mapping_count(L.box), 2);
    /* The TCP mapping outlives the UDP timeout (30 s) while the connection is idle. */
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(600)), FLOE_OK);
    assert_int_equal(floe_sim_nat_lookup(L.box, &in, &srv, &ext), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sim_nat_lookup_proto(L.box, FLOE_SIM_PROTO_TCP, &in, &srv, &ext),
                     FLOE_OK);
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"later", 5), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.rx_len, 9);
    assert_memory_equal(e.rx + 4, "later", 5);
    check_accounting(L.sim);
    floe_sim_udp_close(u);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(L.sim);
}

static void test_unsolicited_syn(void **state) {
    (void)state;
    nat_lab L;
    nat_lab_init(&L, 8, FLOE_SIM_NAT_TRANSLATE);
    /* Alice listens behind the NAT; the server tries the NAT's address. */
    server s;
    server_listen(&s, L.inside, "0.0.0.0:443");
    seg_count k = {0};
    assert_int_equal(floe_sim_tracer_add(L.sim, count_segments, &k), FLOE_OK);
    end e;
    end_init(&e);
    connect_to(&e, L.outside, "0.0.0.0:0", "203.0.113.1:443");
    assert_int_equal(floe_sim_run_until_idle(L.sim, FLOE_S(600)), FLOE_OK);
    assert_int_equal(s.n_accepted, 0);
    assert_int_equal(e.n_failed, 1);
    assert_int_equal(e.failed, FLOE_S(63)); /* silently dropped: no RST, the SYN schedule */
    assert_int_equal(k.rst, 0);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_DROP_NAT_NO_MAPPING),
                     FLOE_SIM_TCP_SYN_TRIES);
    assert_int_equal(floe_sim_nat_mapping_count(L.box), 0);
    floe_sim_tcp_close(e.c);
    check_accounting(L.sim);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(L.sim);
}

static void test_block_udp_firewall(void **state) {
    (void)state;
    nat_lab L;
    nat_lab_init(&L, 9, FLOE_SIM_NAT_BLOCK_UDP);
    server s;
    server_listen(&s, L.outside, "192.0.2.1:3478");
    end e;
    end_init(&e);
    connect_to(&e, L.inside, "0.0.0.0:0", "192.0.2.1:3478");
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"over tcp", 8), FLOE_OK);
    /* UDP to the same server is dropped by the box, both ways. */
    floe_sim_udp *u, *su;
    floe_addr any = addr("0.0.0.0:0"), dst = addr("192.0.2.1:3478");
    assert_int_equal(floe_sim_udp_open(L.inside, &any, &u), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(L.outside, &dst, &su), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(u, &dst, (const uint8_t *)"over udp", 8), FLOE_OK);
    floe_addr in = addr("192.0.2.130:9");
    assert_int_equal(floe_sim_udp_send(su, &in, (const uint8_t *)"in", 2), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(su), 0);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_DROP_FIREWALL), 2);
    assert_int_equal(e.n_connected, 1);
    assert_int_equal(s.n_accepted, 1);
    assert_int_equal(s.acc.rx_len, 8);
    assert_memory_equal(s.acc.rx, "over tcp", 8);
    /* The firewall does not translate: the server sees alice's own address. */
    floe_addr seen = floe_sim_tcp_remote(s.acc.c), mine = floe_sim_tcp_local(e.c);
    assert_true(floe_addr_equal(&seen, &mine));
    assert_int_equal(floe_sim_tcp_send(s.acc.c, (const uint8_t *)"reply", 5), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.rx_len, 5);
    /* Unsolicited: a listener inside is out of reach. */
    server in_s;
    server_listen(&in_s, L.inside, "0.0.0.0:8080");
    end o;
    end_init(&o);
    connect_to(&o, L.outside, "0.0.0.0:0", "192.0.2.130:8080");
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(100)), FLOE_OK);
    assert_int_equal(in_s.n_accepted, 0);
    assert_int_equal(o.n_failed, 1);
    assert_true(floe_sim_host_counter(L.box, FLOE_SIM_DROP_NAT_NO_MAPPING) >= 1);
    check_accounting(L.sim);
    floe_sim_tcp_close(o.c);
    end_free(&o);
    end_free(&in_s.acc);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(L.sim);
}

/* A stateful firewall passes TCP it saw start from the inside, and nothing else. */
static void test_stateful_firewall(void **state) {
    (void)state;
    nat_lab L;
    nat_lab_init(&L, 10, FLOE_SIM_NAT_FIREWALL);
    server s;
    server_listen(&s, L.outside, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, L.inside, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.n_connected, 1);
    assert_int_equal(floe_sim_nat_mapping_count(L.box), 1);
    /* The box reboots: the connection's next segments are no flow it knows. */
    floe_sim_nat_flush(L.box);
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"lost", 4), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(s.acc.rx_len, 0);
    uint64_t dropped = floe_sim_host_counter(L.box, FLOE_SIM_DROP_NAT_TCP_STATE);
    assert_true(dropped >= 2); /* the segment and its retransmissions */
    assert_int_equal(floe_sim_nat_mapping_count(L.box), 0);
    /* From the outside, the server's data is no flow either. */
    assert_int_equal(floe_sim_tcp_send(s.acc.c, (const uint8_t *)"x", 1), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_true(floe_sim_host_counter(L.box, FLOE_SIM_DROP_NAT_NO_MAPPING) >= 1);
    assert_int_equal(e.rx_len, 0);
    check_accounting(L.sim);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(L.sim);
}

/* A TCP mapping's lifetime is the box's tcp_timeout (here from a scenario line). */
static void test_tcp_timeout(void **state) {
    (void)state;
    static const char topo[] = "network internet delay=20ms\n"
                               "network lan delay=1ms\n"
                               "nat box type=eim/apdf tcp_timeout=90s inside=lan ip=10.0.0.1 "
                               "outside=internet ip=203.0.113.1\n"
                               "host alice net=lan ip=10.0.0.2 gw=10.0.0.1\n"
                               "host server net=internet ip=192.0.2.1\n";
    floe_sim *sim = world(14);
    char err[256];
    assert_int_equal(floe_sim_scenario_parse(sim, topo, "t.sim", NULL, err, sizeof err), FLOE_OK);
    floe_sim_host *bx = floe_sim_host_find(sim, "box");
    assert_int_equal(floe_sim_nat_config_get(bx)->tcp_timeout, FLOE_S(90));
    server s;
    server_listen(&s, floe_sim_host_find(sim, "server"), "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, floe_sim_host_find(sim, "alice"), "10.0.0.2:7000", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.n_connected, 1);
    floe_addr in = addr("10.0.0.2:7000"), srv = addr("192.0.2.1:443"), ext;
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(80)), FLOE_OK);
    assert_int_equal(floe_sim_nat_lookup_proto(bx, FLOE_SIM_PROTO_TCP, &in, &srv, &ext), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(10)), FLOE_OK);
    assert_int_equal(floe_sim_nat_lookup_proto(bx, FLOE_SIM_PROTO_TCP, &in, &srv, &ext),
                     FLOE_ERR_NOT_FOUND);
    /* The idle connection's next segment is no flow the box knows any more. */
    assert_int_equal(floe_sim_tcp_send(e.c, (const uint8_t *)"x", 1), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    assert_true(floe_sim_host_counter(bx, FLOE_SIM_DROP_NAT_TCP_STATE) >= 1);
    assert_int_equal(s.acc.rx_len, 0);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
    /* Bad values are refused with the line. */
    static const char bad[] = "network a\nnetwork b\n"
                              "nat n tcp_timeout=0s inside=a ip=10.0.0.1 outside=b ip=192.0.2.9\n";
    sim = world(14);
    assert_int_equal(floe_sim_scenario_parse(sim, bad, "bad.sim", NULL, err, sizeof err),
                     FLOE_ERR_CONFIG);
    assert_non_null(strstr(err, "bad.sim:3: bad tcp_timeout '0s'"));
    floe_sim_free(sim);
}

/* ---- close ------------------------------------------------------------------------ */

static void test_close_mid_transfer(void **state) {
    (void)state;
    floe_sim *sim = world(11);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(15), FLOE_MS(2), 0.05);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    static uint8_t data[60000];
    fill(data, sizeof data, 11);
    assert_int_equal(floe_sim_tcp_send(e.c, data, 20000), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_MS(60)), FLOE_OK);
    assert_int_equal(e.n_connected, 1);
    /* Part of it on the way, more queued, then the close. */
    assert_int_equal(floe_sim_tcp_send(e.c, data + 20000, sizeof data - 20000), FLOE_OK);
    floe_sim_tcp_close(e.c);
    e.c = NULL;
    assert_true(s.acc.rx_len < sizeof data);
    s.acc.close_on_fin = true;
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(300)), FLOE_OK);
    assert_int_equal(s.acc.rx_len, sizeof data);
    assert_memory_equal(s.acc.rx, data, sizeof data);
    assert_int_equal(s.acc.n_closed, 1);
    assert_int_equal(s.acc.n_failed, 0);
    assert_int_equal(e.n_closed + e.n_failed + e.n_data, 0);
    assert_int_equal(floe_sim_tcp_count(a), 0);
    assert_int_equal(floe_sim_tcp_count(b), 1);
    check_accounting(sim);
    floe_sim_tcp_close(s.listener);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
}

/* Closing from inside the connection's own callback, and a close while connecting. */
static void close_in_cb(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                        const uint8_t *p, size_t len) {
    (void)now;
    (void)p;
    (void)len;
    unsigned *calls = ctx;
    (*calls)++;
    if (ev == FLOE_SIM_TCP_EV_CONNECTED) {
        assert_int_equal(floe_sim_tcp_send(c, (const uint8_t *)"bye", 3), FLOE_OK);
        floe_sim_tcp_close(c);
    }
}

static void test_close_in_callback(void **state) {
    (void)state;
    floe_sim *sim = world(12);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    unsigned calls = 0;
    floe_addr any = addr("0.0.0.0:0"), dst = addr("192.0.2.1:443");
    floe_sim_tcp *c;
    assert_int_equal(floe_sim_tcp_connect(a, &any, &dst, close_in_cb, &calls, &c), FLOE_OK);
    /* A connect abandoned at once, nothing queued: nothing more is sent. */
    floe_sim_tcp *gone;
    assert_int_equal(floe_sim_tcp_connect(a, &any, &dst, close_in_cb, &calls, &gone), FLOE_OK);
    floe_sim_tcp_close(gone);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(100)), FLOE_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(s.acc.rx_len, 3);
    assert_int_equal(s.acc.n_closed, 1);
    assert_int_equal(floe_sim_tcp_count(a), 0);
    /* The abandoned SYN met a listener; its SYN-ACK met no connection: RST. */
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_NO_LISTENER), 1);
    floe_sim_tcp_close(s.acc.c);
    floe_sim_tcp_close(s.listener);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(100)), FLOE_OK);
    assert_int_equal(floe_sim_tcp_count(b), 0);
    check_accounting(sim);
    end_free(&s.acc);
    floe_sim_free(sim);
}

/* A listener closed by its own accept callback resets the connections still half-open;
 * the one accepted lives on. */
typedef struct one_shot {
    floe_sim_tcp *listener, *conn;
    unsigned accepted;
} one_shot;

static void accept_once(void *ctx, floe_sim_tcp *l, floe_sim_tcp *c, floe_time_ns now) {
    (void)now;
    one_shot *o = ctx;
    o->accepted++;
    o->conn = c;
    floe_sim_tcp_close(l);
    o->listener = NULL;
}

static void test_listener_closed_in_accept(void **state) {
    (void)state;
    floe_sim *sim = world(13);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    one_shot o = {0};
    floe_addr la = addr("192.0.2.1:443");
    assert_int_equal(floe_sim_tcp_listen(b, &la, accept_once, &o, &o.listener), FLOE_OK);
    end e1, e2;
    end_init(&e1);
    end_init(&e2);
    connect_to(&e1, a, "0.0.0.0:0", "192.0.2.1:443");
    connect_to(&e2, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(o.accepted, 1);
    assert_int_equal(e1.n_connected + e2.n_connected, 2); /* both saw their SYN-ACK */
    assert_int_equal(e1.n_failed, 0);
    assert_int_equal(e2.n_failed, 1); /* reset when the listener went */
    assert_int_equal(e2.failed, FLOE_MS(40));
    assert_int_equal(floe_sim_tcp_count(b), 1); /* the accepted connection only */
    assert_int_equal(floe_sim_tcp_send(e1.c, (const uint8_t *)"still here", 10), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    floe_sim_tcp_stats st;
    floe_sim_tcp_get_stats(o.conn, &st);
    assert_int_equal(st.bytes_received, 10);
    /* A new SYN finds nobody. */
    end e3;
    end_init(&e3);
    connect_to(&e3, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e3.n_failed, 1);
    check_accounting(sim);
    end_free(&e1);
    end_free(&e2);
    end_free(&e3);
    floe_sim_free(sim);
}

/* ---- determinism ------------------------------------------------------------------ */

static void test_determinism(void **state) {
    (void)state;
    uint64_t h1, h2, h3;
    floe_time_ns t1, t2, t3;
    floe_sim_tcp_stats s1, s2, s3;
    bulk_run(21, 0.05, true, &h1, &t1, &s1);
    bulk_run(21, 0.05, true, &h2, &t2, &s2);
    bulk_run(22, 0.05, true, &h3, &t3, &s3);
    assert_true(h1 == h2);
    assert_int_equal(t1, t2);
    assert_int_equal(s1.retransmits, s2.retransmits);
    assert_true(h1 != h3);
}

/* The hash covers what only TCP has: two runs that differ in sequence numbers only
 * (another host name gives other initial sequence numbers) hash differently. */
static uint64_t tiny_run(const char *server_name) {
    floe_sim *sim = world(30);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, server_name, n, "192.0.2.1", NULL);
    server s;
    server_listen(&s, b, "192.0.2.1:443");
    end e;
    end_init(&e);
    connect_to(&e, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(e.n_connected, 1);
    uint64_t h = floe_sim_trace_hash(sim);
    end_free(&e);
    end_free(&s.acc);
    floe_sim_free(sim);
    return h;
}

static void test_hash_covers_tcp(void **state) {
    (void)state;
    assert_true(tiny_run("server") == tiny_run("server"));
    assert_true(tiny_run("server") != tiny_run("server2"));
}

/* ---- the pcapng packets ----------------------------------------------------------- */

static uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void test_pcap_tcp_packet(void **state) {
    (void)state;
    uint8_t out[256], payload[11] = "hello world";
    floe_addr s4 = addr("10.0.0.2:5000"), d4 = addr("192.0.2.1:3478");
    size_t n =
        floe_sim_pcap_build_tcp(&s4, &d4, 64, 7, FLOE_SIM_TCP_PSH | FLOE_SIM_TCP_ACK, 0x01020304,
                                0xa0b0c0d0, payload, sizeof payload, out, sizeof out);
    assert_int_equal(n, 20 + 20 + 11);
    assert_int_equal(out[9], 6);
    assert_int_equal(floe_sim_inet_checksum_finish(floe_sim_inet_checksum_add(0, out, 20)), 0);
    const uint8_t *t = out + 20;
    assert_int_equal(be16(t), 5000);
    assert_int_equal(be16(t + 2), 3478);
    assert_int_equal(be32(t + 4), 0x01020304);
    assert_int_equal(be32(t + 8), 0xa0b0c0d0);
    assert_int_equal(t[12], 0x50);
    assert_int_equal(t[13], 0x18);
    assert_int_equal(be16(t + 14), 65535);
    assert_memory_equal(t + 20, payload, sizeof payload);
    /* The checksum over pseudo-header and segment sums to zero. */
    uint8_t pseudo[12] = {0};
    memcpy(pseudo, out + 12, 8);
    pseudo[9] = 6;
    pseudo[11] = 31;
    uint32_t sum = floe_sim_inet_checksum_add(0, pseudo, sizeof pseudo);
    sum = floe_sim_inet_checksum_add(sum, t, 31);
    assert_int_equal(floe_sim_inet_checksum_finish(sum), 0);
    /* Without ACK the ack field is zero; IPv6. */
    floe_addr s6 = addr("[2001:db8::2]:5000"), d6 = addr("[2001:db8::1]:443");
    n = floe_sim_pcap_build_tcp(&s6, &d6, 64, 0, FLOE_SIM_TCP_SYN, 9, 1234, NULL, 0, out,
                                sizeof out);
    assert_int_equal(n, 60);
    assert_int_equal(out[6], 6);
    assert_int_equal(be16(out + 4), 20);
    assert_int_equal(be32(out + 48), 0);
    uint8_t pseudo6[40] = {0};
    memcpy(pseudo6, out + 8, 32);
    pseudo6[35] = 20;
    pseudo6[39] = 6;
    sum = floe_sim_inet_checksum_add(0, pseudo6, sizeof pseudo6);
    sum = floe_sim_inet_checksum_add(sum, out + 40, 20);
    assert_int_equal(floe_sim_inet_checksum_finish(sum), 0);
    assert_int_equal(floe_sim_pcap_build_tcp(&s4, &d6, 64, 0, 0, 0, 0, NULL, 0, out, sizeof out),
                     0);
    assert_int_equal(floe_sim_pcap_build_tcp(&s4, &d4, 64, 0, 0, 0, 0, payload, 11, out, 40), 0);
}

/* ---- the API's refusals and caps ------------------------------------------------- */

static void nop_accept(void *ctx, floe_sim_tcp *l, floe_sim_tcp *c, floe_time_ns now) {
    (void)ctx;
    (void)l;
    (void)c;
    (void)now;
}

static void test_api_and_caps(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.max_sockets = 2;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    floe_sim_network *n = net(sim, "internet", FLOE_MS(10), 0, 0);
    floe_sim_host *a = host(sim, "alice", n, "198.51.100.2", NULL);
    floe_sim_host *b = host(sim, "server", n, "192.0.2.1", NULL);
    floe_addr any = addr("0.0.0.0:0"), here = addr("192.0.2.1:443"), other = addr("192.0.2.7:1");
    floe_addr v6 = addr("[2001:db8::1]:443");
    floe_sim_tcp *l, *l2, *c;
    assert_int_equal(floe_sim_tcp_listen(b, &here, NULL, NULL, &l), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_tcp_listen(b, &other, nop_accept, NULL, &l), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_tcp_listen(b, &here, nop_accept, NULL, &l), FLOE_OK);
    floe_addr wild = addr("0.0.0.0:443");
    assert_int_equal(floe_sim_tcp_listen(b, &wild, nop_accept, NULL, &l2), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_tcp_send(l, (const uint8_t *)"x", 1), FLOE_ERR_STATE);
    floe_addr rem = floe_sim_tcp_remote(l);
    assert_int_equal(rem.family, FLOE_AF_NONE);
    assert_int_equal(floe_sim_tcp_connect(a, &any, &v6, NULL, NULL, &c), FLOE_ERR_INVAL);
    floe_addr zero_port = addr("192.0.2.1:0");
    assert_int_equal(floe_sim_tcp_connect(a, &any, &zero_port, NULL, NULL, &c), FLOE_ERR_INVAL);
    /* The listener's port is not a port to connect from. */
    assert_int_equal(floe_sim_tcp_connect(b, &here, &zero_port, NULL, NULL, &c), FLOE_ERR_INVAL);
    floe_addr to_a = addr("198.51.100.2:80");
    assert_int_equal(floe_sim_tcp_connect(b, &here, &to_a, NULL, NULL, &c), FLOE_ERR_STATE);
    /* Two sockets: the listener and alice's connection. The server has no room for the
     * connection the SYN asks for, and alice none for a second one. */
    end e1, e2;
    end_init(&e1);
    end_init(&e2);
    connect_to(&e1, a, "0.0.0.0:0", "192.0.2.1:443");
    assert_int_equal(floe_sim_tcp_connect(a, &any, &here, on_end, &e2, &c), FLOE_ERR_LIMIT);
    /* Bounded send buffer, all or nothing, usable while connecting. */
    static uint8_t big[FLOE_SIM_TCP_SNDBUF + 1];
    assert_int_equal(floe_sim_tcp_send_space(e1.c), FLOE_SIM_TCP_SNDBUF);
    assert_int_equal(floe_sim_tcp_send(e1.c, big, sizeof big), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sim_tcp_send(e1.c, big, 1000), FLOE_OK);
    assert_int_equal(floe_sim_tcp_send_space(e1.c), FLOE_SIM_TCP_SNDBUF - 1000);
    assert_int_equal(floe_sim_tcp_send(e1.c, big, FLOE_SIM_TCP_SNDBUF - 999), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sim_tcp_send(e1.c, big, FLOE_SIM_TCP_SNDBUF - 1000), FLOE_OK);
    assert_int_equal(floe_sim_tcp_send_space(e1.c), 0);
    assert_int_equal(floe_sim_tcp_send(e1.c, NULL, 1), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_tcp_send(e1.c, NULL, 0), FLOE_OK);
    assert_int_equal(floe_sim_run_for(sim, FLOE_S(4)), FLOE_OK);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_TCP_LIMIT), 3); /* 0, 1, 3 s */
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DROP_TCP_LIMIT), 3);
    assert_int_equal(e1.n_connected, 0);
    floe_sim_tcp_close(NULL);
    floe_sim_tcp_abort(NULL);
    assert_string_equal(floe_sim_tcp_state_name(FLOE_SIM_TCP_TIME_WAIT), "TIME-WAIT");
    assert_string_equal(floe_sim_tcp_state_name((floe_sim_tcp_state)99), "?");
    check_accounting(sim);
    end_free(&e1);
    end_free(&e2);
    floe_sim_free(sim); /* frees the connections still open, sending nothing */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data), cmocka_unit_test(test_bulk_under_loss),
        cmocka_unit_test(test_closed_port),        cmocka_unit_test(test_black_hole),
        cmocka_unit_test(test_peer_vanishes),      cmocka_unit_test(test_abort),
        cmocka_unit_test(test_through_nat),        cmocka_unit_test(test_unsolicited_syn),
        cmocka_unit_test(test_block_udp_firewall), cmocka_unit_test(test_stateful_firewall),
        cmocka_unit_test(test_tcp_timeout),        cmocka_unit_test(test_close_mid_transfer),
        cmocka_unit_test(test_close_in_callback),  cmocka_unit_test(test_listener_closed_in_accept),
        cmocka_unit_test(test_determinism),        cmocka_unit_test(test_hash_covers_tcp),
        cmocka_unit_test(test_pcap_tcp_packet),    cmocka_unit_test(test_api_and_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
