/* floe simulator: the pcapng writer (see sim_pcap.h). */
#include "sim_pcap.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_host.h"
#include "sim_link.h"

#define PKT_MAX (FLOE_SIM_MAX_PAYLOAD + 60) /* IPv6 and TCP headers */
#define NO_IF UINT32_MAX

struct floe_sim_pcap {
    floe_sim *sim;
    FILE *f;
    bool comments;
    bool failed;
    uint64_t packets;
    uint32_t if_of_net[FLOE_SIM_MAX_NETWORKS_LIMIT]; /* pcapng interface of each network */
    uint32_t n_ifs;
    uint8_t pkt[PKT_MAX];
    uint8_t block[PKT_MAX + 512];
};

/* ---- checksums and packets ------------------------------------------------------- */

uint32_t floe_sim_inet_checksum_add(uint32_t sum, const uint8_t *buf, size_t len) {
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    if (i < len) sum += (uint32_t)buf[i] << 8;
    /* Folding keeps the ones' complement sum and leaves room for the next piece
     * (a piece of 64 KiB adds less than 2^31). */
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

uint16_t floe_sim_inet_checksum_finish(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* Writes the IPv4 or IPv6 header of a packet carrying l4_len bytes of protocol `proto`
 * into out. Returns the header's length, or 0 when the packet would not fit cap (or
 * IPv4's 16-bit total length) or the addresses are unusable. */
static size_t ip_header(const floe_addr *src, const floe_addr *dst, uint8_t ttl, uint16_t ident,
                        uint8_t proto, size_t l4_len, uint8_t *out, size_t cap) {
    if (src->family != dst->family) return 0;
    bool v6 = src->family == FLOE_AF_INET6;
    if (!v6 && src->family != FLOE_AF_INET4) return 0;
    size_t iphl = v6 ? 40 : 20;
    size_t total = iphl + l4_len;
    if (total > cap || l4_len > 65535 || (!v6 && total > 65535)) return 0;
    uint8_t *ip = out;
    memset(out, 0, iphl);
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint32_t)l4_len);
        ip[6] = proto;
        ip[7] = ttl;
        memcpy(ip + 8, src->ip, 16);
        memcpy(ip + 24, dst->ip, 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint32_t)total);
        put16(ip + 4, ident);
        ip[8] = ttl;
        ip[9] = proto;
        memcpy(ip + 12, src->ip, 4);
        memcpy(ip + 16, dst->ip, 4);
        put16(ip + 10, floe_sim_inet_checksum_finish(floe_sim_inet_checksum_add(0, ip, 20)));
    }
    return iphl;
}

/* The UDP or TCP checksum of seg[0..len) (its checksum field zero), with the
 * pseudo-header: addresses, protocol, length (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1). */
static uint16_t l4_checksum(const floe_addr *src, const floe_addr *dst, uint8_t proto,
                            const uint8_t *seg, size_t len) {
    bool v6 = src->family == FLOE_AF_INET6;
    size_t alen = v6 ? 16 : 4;
    uint8_t pseudo[40];
    memcpy(pseudo, src->ip, alen);
    memcpy(pseudo + alen, dst->ip, alen);
    size_t pl;
    if (v6) {
        memset(pseudo + 32, 0, 8);
        pseudo[34] = (uint8_t)(len >> 8);
        pseudo[35] = (uint8_t)len;
        pseudo[39] = proto;
        pl = 40;
    } else {
        pseudo[8] = 0;
        pseudo[9] = proto;
        put16(pseudo + 10, (uint32_t)len);
        pl = 12;
    }
    uint32_t sum = floe_sim_inet_checksum_add(0, pseudo, pl);
    sum = floe_sim_inet_checksum_add(sum, seg, len);
    return floe_sim_inet_checksum_finish(sum);
}

size_t floe_sim_pcap_build_packet(const floe_addr *src, const floe_addr *dst, uint8_t ttl,
                                  uint16_t ident, const uint8_t *payload, size_t len, uint8_t *out,
                                  size_t cap) {
    size_t udp_len = len + 8;
    size_t iphl = ip_header(src, dst, ttl, ident, 17, udp_len, out, cap);
    if (iphl == 0) return 0;
    uint8_t *udp = out + iphl;
    put16(udp, src->port);
    put16(udp + 2, dst->port);
    put16(udp + 4, (uint32_t)udp_len);
    put16(udp + 6, 0);
    if (len) memcpy(udp + 8, payload, len);
    uint16_t ck = l4_checksum(src, dst, 17, udp, udp_len);
    put16(udp + 6, ck == 0 ? 0xffff : ck); /* 0 would mean "no checksum" */
    return iphl + udp_len;
}

size_t floe_sim_pcap_build_tcp(const floe_addr *src, const floe_addr *dst, uint8_t ttl,
                               uint16_t ident, uint8_t flags, uint32_t seq, uint32_t ack,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap) {
    size_t seg_len = len + 20;
    size_t iphl = ip_header(src, dst, ttl, ident, 6, seg_len, out, cap);
    if (iphl == 0) return 0;
    uint8_t *tcp = out + iphl;
    memset(tcp, 0, 20);
    put16(tcp, src->port);
    put16(tcp + 2, dst->port);
    put32(tcp + 4, seq);
    put32(tcp + 8, (flags & FLOE_SIM_TCP_ACK) ? ack : 0);
    tcp[12] = 5 << 4; /* data offset: 5 words, no options */
    tcp[13] = flags;
    put16(tcp + 14, FLOE_SIM_PCAP_TCP_WINDOW);
    if (len) memcpy(tcp + 20, payload, len);
    put16(tcp + 16, l4_checksum(src, dst, 6, tcp, seg_len));
    return iphl + seg_len;
}

/* ---- blocks ---------------------------------------------------------------------- */

typedef struct blk {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
} blk;

static void b_bytes(blk *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        b->overflow = true;
        return;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void b_u16(blk *b, uint32_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    b_bytes(b, x, 2);
}

static void b_u32(blk *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    b_bytes(b, x, 4);
}

static void b_pad(blk *b) {
    static const uint8_t zero[4];
    b_bytes(b, zero, (4 - b->len % 4) % 4);
}

static void b_opt(blk *b, uint16_t code, const void *v, size_t n) {
    b_u16(b, code);
    b_u16(b, (uint32_t)n);
    b_bytes(b, v, n);
    b_pad(b);
}

static void b_begin(blk *b, uint8_t *buf, size_t cap, uint32_t type) {
    b->p = buf;
    b->len = 0;
    b->cap = cap;
    b->overflow = false;
    b_u32(b, type);
    b_u32(b, 0); /* total length, patched by b_end */
}

/* Closes the block (trailing length) and writes it. */
static void b_end(floe_sim_pcap *pc, blk *b) {
    b_pad(b);
    b_u32(b, (uint32_t)(b->len + 4));
    if (b->overflow) {
        pc->failed = true;
        return;
    }
    uint32_t total = (uint32_t)b->len;
    for (int i = 0; i < 4; i++) {
        b->p[4 + i] = (uint8_t)(total >> (8 * i));
        b->p[total - 4 + i] = (uint8_t)(total >> (8 * i));
    }
    if (fwrite(b->p, 1, total, pc->f) != total) pc->failed = true;
}

static void write_shb(floe_sim_pcap *pc) {
    blk b;
    b_begin(&b, pc->block, sizeof pc->block, FLOE_SIM_PCAPNG_SHB);
    b_u32(&b, FLOE_SIM_PCAPNG_BOM);
    b_u16(&b, 1); /* version 1.0 */
    b_u16(&b, 0);
    b_u32(&b, 0xffffffffu); /* section length unknown */
    b_u32(&b, 0xffffffffu);
    static const char appl[] = "floe sim";
    b_opt(&b, 4, appl, sizeof appl - 1); /* shb_userappl */
    char comment[64];
    int n =
        snprintf(comment, sizeof comment, "seed %llu", (unsigned long long)floe_sim_seed(pc->sim));
    if (n > 0) b_opt(&b, 1, comment, (size_t)n); /* opt_comment */
    b_opt(&b, 0, NULL, 0);                       /* opt_endofopt */
    b_end(pc, &b);
}

static uint32_t ensure_idb(floe_sim_pcap *pc, const floe_sim_network *net) {
    size_t idx = floe_sim_network_index(net);
    if (idx >= FLOE_SIM_MAX_NETWORKS_LIMIT) return NO_IF;
    if (pc->if_of_net[idx] != NO_IF) return pc->if_of_net[idx];
    blk b;
    b_begin(&b, pc->block, sizeof pc->block, FLOE_SIM_PCAPNG_IDB);
    b_u16(&b, FLOE_SIM_LINKTYPE_RAW);
    b_u16(&b, 0);
    b_u32(&b, 0); /* snaplen: no limit */
    const char *name = floe_sim_network_name(net);
    b_opt(&b, 2, name, strlen(name)); /* if_name */
    const floe_sim_link *l = floe_sim_network_link(net);
    char desc[128];
    int n = snprintf(desc, sizeof desc, "floe sim network: delay %llu us, jitter %llu us, mtu %u",
                     (unsigned long long)(l->delay / FLOE_NS_PER_US),
                     (unsigned long long)(l->jitter / FLOE_NS_PER_US), l->mtu);
    if (n > 0) b_opt(&b, 3, desc, (size_t)n < sizeof desc ? (size_t)n : sizeof desc - 1);
    uint8_t tsresol = 9; /* nanoseconds */
    b_opt(&b, 9, &tsresol, 1);
    b_opt(&b, 0, NULL, 0);
    b_end(pc, &b);
    pc->if_of_net[idx] = pc->n_ifs++;
    return pc->if_of_net[idx];
}

static void on_trace(void *ctx, const floe_sim_trace *rec) {
    floe_sim_pcap *pc = ctx;
    if (!rec->net) return;
    uint32_t ifid = ensure_idb(pc, rec->net);
    if (ifid == NO_IF) return;
    size_t n;
    if (rec->proto == FLOE_SIM_PROTO_TCP)
        n = floe_sim_pcap_build_tcp(&rec->src, &rec->dst, rec->ttl, (uint16_t)rec->id,
                                    rec->tcp_flags, rec->tcp_seq, rec->tcp_ack, rec->data, rec->len,
                                    pc->pkt, sizeof pc->pkt);
    else
        n = floe_sim_pcap_build_packet(&rec->src, &rec->dst, rec->ttl, (uint16_t)rec->id, rec->data,
                                       rec->len, pc->pkt, sizeof pc->pkt);
    if (n == 0) return;
    blk b;
    b_begin(&b, pc->block, sizeof pc->block, FLOE_SIM_PCAPNG_EPB);
    b_u32(&b, ifid);
    b_u32(&b, (uint32_t)(rec->at >> 32));
    b_u32(&b, (uint32_t)rec->at);
    b_u32(&b, (uint32_t)n);
    b_u32(&b, (uint32_t)n);
    b_bytes(&b, pc->pkt, n);
    b_pad(&b);
    if (pc->comments && rec->verdict == FLOE_SIM_V_DROPPED) {
        char c[96];
        const floe_sim_host *where = rec->to ? rec->to : rec->from;
        int k = snprintf(c, sizeof c, "%s at %s", floe_sim_counter_name(rec->reason),
                         where ? floe_sim_host_name(where) : "?");
        if (k > 0) b_opt(&b, 1, c, (size_t)k < sizeof c ? (size_t)k : sizeof c - 1);
        b_opt(&b, 0, NULL, 0);
    }
    b_end(pc, &b);
    pc->packets++;
}

int floe_sim_pcap_open(floe_sim *sim, FILE *f, floe_sim_pcap **out) {
    *out = NULL;
    if (!f) return FLOE_ERR_INVAL;
    floe_sim_pcap *pc = calloc(1, sizeof *pc);
    if (!pc) return FLOE_ERR_NOMEM;
    pc->sim = sim;
    pc->f = f;
    pc->comments = true;
    for (size_t i = 0; i < FLOE_SIM_MAX_NETWORKS_LIMIT; i++)
        pc->if_of_net[i] = NO_IF;
    int rc = floe_sim_tracer_add(sim, on_trace, pc);
    if (rc != FLOE_OK) {
        free(pc);
        return rc;
    }
    write_shb(pc);
    for (size_t i = 0; i < floe_sim_network_count(sim); i++)
        ensure_idb(pc, floe_sim_network_at(sim, i));
    if (pc->failed) {
        floe_sim_pcap_close(pc);
        return FLOE_ERR_IO;
    }
    *out = pc;
    return FLOE_OK;
}

int floe_sim_pcap_close(floe_sim_pcap *pc) {
    if (!pc) return FLOE_OK;
    floe_sim_tracer_remove(pc->sim, on_trace, pc);
    if (fflush(pc->f) != 0) pc->failed = true;
    bool failed = pc->failed;
    free(pc);
    return failed ? FLOE_ERR_IO : FLOE_OK;
}

void floe_sim_pcap_set_comments(floe_sim_pcap *pc, bool on) {
    pc->comments = on;
}

uint64_t floe_sim_pcap_packets(const floe_sim_pcap *pc) {
    return pc->packets;
}
