/* floe simulator: a pcapng writer, so every run opens in Wireshark.
 *
 * The writer is a tracer (floe_sim_tracer_add): every datagram crossing a network is
 * written once per network, as a real IPv4 or IPv6 + UDP packet with valid header and
 * UDP checksums, stamped with the virtual time in nanoseconds. TCP segments (sim_tcp.h)
 * are IPv4 or IPv6 + TCP packets: ports, sequence and ack numbers, flags, a 20-byte
 * header without options, a window of FLOE_SIM_PCAP_TCP_WINDOW and a valid checksum. Each network
 * is one pcapng interface (link type raw IP, named after the network), in the order the networks
 * were added. A datagram is written when it arrives at the next interface, or, when the link drops
 * it, at the time it was sent; drops carry a packet comment naming the reason and the host
 * ("drop_nat_filtered at natA"). Datagrams a host sends to itself cross no network and are not
 * written.
 *
 * File layout (pcapng, little-endian): one Section Header Block, one Interface
 * Description Block per network (written at open for the networks that exist then,
 * later ones before their first packet), then one Enhanced Packet Block per record.
 *
 *   FILE *f = fopen("run.pcapng", "wb");
 *   floe_sim_pcap *pc;
 *   floe_sim_pcap_open(sim, f, &pc);
 *   ... run ...
 *   floe_sim_pcap_close(pc);          // detaches and flushes; the caller closes f
 *   fclose(f);
 *
 * Open it with `wireshark run.pcapng`, or `tshark -r run.pcapng` (STUN on ports other
 * than 3478 may need `-d udp.port==N,stun`). */
#ifndef FLOE_SIM_PCAP_H
#define FLOE_SIM_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "floe/addr.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pcapng constants (draft-ietf-opsawg-pcapng). */
#define FLOE_SIM_PCAPNG_SHB 0x0A0D0D0Au /* Section Header Block */
#define FLOE_SIM_PCAPNG_IDB 0x00000001u /* Interface Description Block */
#define FLOE_SIM_PCAPNG_EPB 0x00000006u /* Enhanced Packet Block */
#define FLOE_SIM_PCAPNG_BOM 0x1A2B3C4Du /* byte-order magic */
#define FLOE_SIM_LINKTYPE_RAW 101       /* raw IPv4/IPv6, no link header */
#define FLOE_SIM_PCAP_TCP_WINDOW 65535  /* the window field of TCP headers (FLOE_SIM_TCP_WINDOW) */

typedef struct floe_sim_pcap floe_sim_pcap;

/* Starts a capture of every network into f (opened for writing by the caller) and
 * writes the header blocks. FLOE_ERR_LIMIT (no tracer slot), FLOE_ERR_IO (write
 * failed), FLOE_ERR_NOMEM. */
int floe_sim_pcap_open(floe_sim *sim, FILE *f, floe_sim_pcap **out);
/* Stops the capture, flushes f and frees the writer (f stays open). FLOE_ERR_IO when a
 * write failed at any time during the capture. NULL ok. */
int floe_sim_pcap_close(floe_sim_pcap *p);

/* Comments on dropped packets (on by default). */
void floe_sim_pcap_set_comments(floe_sim_pcap *p, bool on);
/* Packet blocks written so far. */
uint64_t floe_sim_pcap_packets(const floe_sim_pcap *p);

/* Builds the IP + UDP packet carrying payload from src to dst (same family) with the
 * given TTL and IPv4 identification, checksums included. Returns its length, or 0 when
 * it does not fit cap or the addresses are unusable. */
size_t floe_sim_pcap_build_packet(const floe_addr *src, const floe_addr *dst, uint8_t ttl,
                                  uint16_t ident, const uint8_t *payload, size_t len, uint8_t *out,
                                  size_t cap);

/* The same with a TCP header (RFC 9293 §3.1) instead of UDP's: ports, seq, ack (written
 * only with FLOE_SIM_TCP_ACK, else 0), data offset 5, flags, the window above, the
 * checksum over the pseudo-header, urgent pointer 0. */
size_t floe_sim_pcap_build_tcp(const floe_addr *src, const floe_addr *dst, uint8_t ttl,
                               uint16_t ident, uint8_t flags, uint32_t seq, uint32_t ack,
                               const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* The Internet checksum (RFC 1071) of buf, continuing from a partial 32-bit sum (start
 * with 0; every piece but the last must have an even length).
 * floe_sim_inet_checksum_finish folds and complements it. */
uint32_t floe_sim_inet_checksum_add(uint32_t sum, const uint8_t *buf, size_t len);
uint16_t floe_sim_inet_checksum_finish(uint32_t sum);

#ifdef __cplusplus
}
#endif
#endif
