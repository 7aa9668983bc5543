/* floe simulator: how a datagram ends (delivered or dropped), and the tracers that see
 * every step of its way, with the hash that fingerprints a run. */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

void sim_packet_free(sim_packet *pkt) {
    free(pkt);
}

static void hash_bytes(uint64_t *h, const void *p, size_t len) {
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        *h ^= b[i];
        *h *= UINT64_C(0x100000001b3);
    }
}

static void hash_u64(uint64_t *h, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    hash_bytes(h, b, sizeof b);
}

static void hash_addr(uint64_t *h, const floe_addr *a) {
    hash_u64(h, ((uint64_t)a->family << 16) | a->port);
    hash_bytes(h, a->ip, sizeof a->ip);
}

void sim_trace(floe_sim *sim, const sim_packet *pkt, floe_sim_verdict v, floe_sim_counter reason,
               const floe_sim_host *to) {
    floe_sim_trace rec = {
        .at = sim->now,
        .sent = pkt->sent,
        .id = pkt->id,
        .net = pkt->net,
        .from = pkt->from_host,
        .to = to,
        .src = pkt->src,
        .dst = pkt->dst,
        .ttl = pkt->ttl,
        .verdict = v,
        .reason = v == FLOE_SIM_V_DROPPED ? reason : FLOE_SIM_TX,
        .data = pkt->data,
        .len = pkt->len,
        .proto = pkt->proto,
        .tcp_flags = pkt->tcp_flags,
        .tcp_seq = pkt->tcp_seq,
        .tcp_ack = pkt->tcp_ack,
    };
    uint64_t *h = &sim->hash;
    hash_u64(h, rec.at);
    hash_u64(h, rec.sent);
    hash_u64(h, rec.id);
    hash_u64(h, rec.net ? rec.net->index + 1 : 0);
    hash_u64(h, rec.to ? rec.to->index + 1 : 0);
    hash_addr(h, &rec.src);
    hash_addr(h, &rec.dst);
    hash_u64(h, ((uint64_t)rec.ttl << 16) | ((uint64_t)rec.verdict << 8) | (uint64_t)rec.reason);
    hash_u64(h, rec.len);
    hash_bytes(h, rec.data, rec.len);
    if (rec.proto == FLOE_SIM_PROTO_TCP) {
        /* Only segments hash their protocol: a datagram's record hashes as before TCP. */
        hash_u64(h, ((uint64_t)rec.proto << 8) | rec.tcp_flags);
        hash_u64(h, ((uint64_t)rec.tcp_seq << 32) | rec.tcp_ack);
    }
    for (size_t i = 0; i < sim->n_tracers; i++)
        sim->tracers[i].fn(sim->tracers[i].ctx, &rec);
}

void sim_drop(floe_sim *sim, sim_packet *pkt, floe_sim_counter reason, floe_sim_network *net,
              floe_sim_host *host, const floe_sim_host *to) {
    sim_count(sim, reason, net, host);
    sim_trace(sim, pkt, FLOE_SIM_V_DROPPED, reason, to);
    sim->in_flight--;
    sim_packet_free(pkt);
}

void sim_deliver_tcp(floe_sim *sim, sim_packet *pkt, floe_sim_host *h) {
    sim_count(sim, FLOE_SIM_DELIVERED, NULL, h);
    sim_trace(sim, pkt, FLOE_SIM_V_DELIVERED, FLOE_SIM_TX, h);
    sim->in_flight--;
}

void sim_deliver(floe_sim *sim, sim_packet *pkt, floe_sim_udp *s) {
    sim_count(sim, FLOE_SIM_DELIVERED, NULL, s->host);
    sim_trace(sim, pkt, FLOE_SIM_V_DELIVERED, FLOE_SIM_TX, s->host);
    sim->in_flight--;
    sim_udp_take(s, pkt);
}

int floe_sim_tracer_add(floe_sim *sim, floe_sim_trace_fn fn, void *ctx) {
    if (!fn) return FLOE_ERR_INVAL;
    if (sim->n_tracers >= FLOE_SIM_MAX_TRACERS) return FLOE_ERR_LIMIT;
    sim->tracers[sim->n_tracers].fn = fn;
    sim->tracers[sim->n_tracers].ctx = ctx;
    sim->n_tracers++;
    return FLOE_OK;
}

void floe_sim_tracer_remove(floe_sim *sim, floe_sim_trace_fn fn, void *ctx) {
    for (size_t i = 0; i < sim->n_tracers; i++) {
        if (sim->tracers[i].fn == fn && sim->tracers[i].ctx == ctx) {
            memmove(&sim->tracers[i], &sim->tracers[i + 1],
                    (sim->n_tracers - i - 1) * sizeof sim->tracers[0]);
            sim->n_tracers--;
            return;
        }
    }
}

uint64_t floe_sim_trace_hash(const floe_sim *sim) {
    return sim->hash;
}

const char *floe_sim_verdict_name(floe_sim_verdict v) {
    switch (v) {
    case FLOE_SIM_V_DELIVERED: return "delivered";
    case FLOE_SIM_V_FORWARDED: return "forwarded";
    case FLOE_SIM_V_DROPPED: return "dropped";
    }
    return "?";
}

/* tcpdump's way of writing the flags: S F R P, then "." for ACK. */
static void tcp_flags_text(uint8_t f, char *out) {
    size_t k = 0;
    if (f & FLOE_SIM_TCP_SYN) out[k++] = 'S';
    if (f & FLOE_SIM_TCP_FIN) out[k++] = 'F';
    if (f & FLOE_SIM_TCP_RST) out[k++] = 'R';
    if (f & FLOE_SIM_TCP_PSH) out[k++] = 'P';
    if (f & FLOE_SIM_TCP_ACK) out[k++] = '.';
    out[k] = '\0';
}

size_t floe_sim_trace_format(const floe_sim_trace *rec, char *buf, size_t cap) {
    char src[FLOE_ADDR_STRLEN], dst[FLOE_ADDR_STRLEN];
    floe_addr_format(&rec->src, true, src, sizeof src);
    floe_addr_format(&rec->dst, true, dst, sizeof dst);
    char tcp[64] = "";
    if (rec->proto == FLOE_SIM_PROTO_TCP) {
        char flags[8];
        tcp_flags_text(rec->tcp_flags, flags);
        snprintf(tcp, sizeof tcp, " tcp [%s] seq %lu ack %lu", flags, (unsigned long)rec->tcp_seq,
                 (unsigned long)rec->tcp_ack);
    }
    int n;
    if (rec->verdict == FLOE_SIM_V_DROPPED)
        n = snprintf(buf, cap, "%llu.%09llu %s %s > %s%s len %zu dropped (%s)",
                     (unsigned long long)(rec->at / FLOE_NS_PER_S),
                     (unsigned long long)(rec->at % FLOE_NS_PER_S),
                     rec->net ? floe_sim_network_name(rec->net) : "local", src, dst, tcp, rec->len,
                     floe_sim_counter_is_drop(rec->reason)
                         ? floe_sim_counter_name(rec->reason) + 5 /* without "drop_" */
                         : "?");
    else
        n = snprintf(buf, cap, "%llu.%09llu %s %s > %s%s len %zu %s",
                     (unsigned long long)(rec->at / FLOE_NS_PER_S),
                     (unsigned long long)(rec->at % FLOE_NS_PER_S),
                     rec->net ? floe_sim_network_name(rec->net) : "local", src, dst, tcp, rec->len,
                     floe_sim_verdict_name(rec->verdict));
    if (n < 0) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}
