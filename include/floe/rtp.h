/* floe: RTP and RTCP (RFC 3550), sans-IO, for one audio stream of a call.
 *
 * What is here, in the order of this header:
 *   - the RTP fixed header, parsed into a view and built from one (RFC 3550 §5.1);
 *   - a sender: random SSRC, sequence number and timestamp, counts for the SR (§5.1, §6.4.1);
 *   - a receiver's state for one source: sequence validation with probation, the
 *     extended highest sequence number, expected and lost counts, interarrival jitter
 *     (appendices A.1, A.3, A.8), duplicate and late packets, LSR/DLSR;
 *   - RTCP compound packets (SR or RR first, SDES CNAME, BYE), parsed and built (§6.1,
 *     §6.4, §6.5, §6.6, appendix A.2);
 *   - the RTCP report interval (§6.2, §6.3, appendix A.7);
 *   - demultiplexing: RTP from RTCP on one port (RFC 5761 §4) and RTP/RTCP from STUN,
 *     DTLS, ZRTP and TURN channels on one port (RFC 7983 §7).
 *
 * Nothing reads a clock or draws randomness: "now" is a floe_time_ns parameter and the
 * random values come from the caller's callback. Nothing allocates. Parsers return views
 * into the caller's buffer (which must outlive them), never read past its end, and give a
 * reason for every rejection (floe_rtp_reason) and a counter per reason when the caller
 * passes a floe_rtp_stats.
 *
 * floe/media.h ties all of this together for one PCMU/PCMA stream of a call. */
#ifndef FLOE_RTP_H
#define FLOE_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ---------------------------------------------------------------------- */

#define FLOE_RTP_VERSION 2     /* RFC 3550 §5.1 */
#define FLOE_RTP_HEADER_LEN 12 /* RFC 3550 §5.1: the fixed header */
#define FLOE_RTP_MAX_CSRC 15   /* RFC 3550 §5.1: CC is four bits */

/* RFC 3551 §4.5 and §6: PCMU and PCMA sample at 8000 Hz; 20 ms packets by default. */
#define FLOE_RTP_AUDIO_RATE 8000
#define FLOE_RTP_PTIME_MS 20
#define FLOE_RTP_FRAME_SAMPLES 160 /* 20 ms at 8 kHz */

/* RFC 3550 appendix A.1: sequence validation. */
#define FLOE_RTP_MIN_SEQUENTIAL 2 /* packets in sequence before a source is valid */
#define FLOE_RTP_MAX_DROPOUT 3000 /* largest forward jump taken as loss, not a restart */
#define FLOE_RTP_MAX_MISORDER 100 /* largest backward step taken as reordering */
#define FLOE_RTP_SEQ_MOD 65536u   /* 2^16 */
#define FLOE_RTP_DUP_WINDOW 128   /* floe: sequence numbers remembered for duplicates */

/* RFC 3550 §12.1: RTCP packet types. */
#define FLOE_RTCP_SR 200
#define FLOE_RTCP_RR 201
#define FLOE_RTCP_SDES 202
#define FLOE_RTCP_BYE 203
#define FLOE_RTCP_APP 204
/* RFC 3550 §6.5: SDES item types (CNAME is the only one floe reads or writes). */
#define FLOE_RTCP_SDES_END 0
#define FLOE_RTCP_SDES_CNAME 1

/* Caps of the parsed compound view: the report count, source count and SDES chunk count
 * fields are five bits (RFC 3550 §6.4.1, §6.5, §6.6), so one packet holds at most 31 of
 * each. What a compound carries beyond these (several RR or SDES packets) is counted in
 * floe_rtcp.n_dropped and skipped. */
#define FLOE_RTCP_MAX_BLOCKS 31
#define FLOE_RTCP_MAX_SDES 31
#define FLOE_RTCP_MAX_BYE 31

/* RFC 3550 §6.2, §6.3.1 and appendix A.7: the report interval. */
#define FLOE_RTCP_MIN_INTERVAL FLOE_S(5) /* Tmin; half of it before the first report */
#define FLOE_RTCP_SENDER_SHARE 0.25      /* senders' share of the RTCP bandwidth */
#define FLOE_RTCP_RECEIVER_SHARE 0.75    /* receivers' share */
#define FLOE_RTCP_COMPENSATION 1.21828   /* e - 3/2: undoes timer reconsideration's bias */
#define FLOE_RTCP_BW_FRACTION 0.05       /* RTCP is 5 % of the session bandwidth */

/* ---- why a packet was rejected -------------------------------------------------------- */

typedef enum floe_rtp_reason {
    FLOE_RTP_R_NONE = 0,
    /* RTP (RFC 3550 §5.1, A.1) */
    FLOE_RTP_R_SHORT,     /* fewer than 12 bytes */
    FLOE_RTP_R_VERSION,   /* version field not 2 */
    FLOE_RTP_R_CSRC,      /* the CSRC list runs past the end */
    FLOE_RTP_R_EXTENSION, /* the header extension (or its length) runs past the end */
    FLOE_RTP_R_PADDING,   /* padding count 0, or more than the bytes after the headers */
    FLOE_RTP_R_PT_RTCP, /* payload type 72..76: an RTCP SR/RR/SDES/BYE/APP (§5.1, RFC 5761 §4) */
    /* RTCP (RFC 3550 §6, A.2) */
    FLOE_RTP_R_RTCP_SHORT,   /* a packet header (4 bytes, or 8 with the SSRC) cut short */
    FLOE_RTP_R_RTCP_VERSION, /* version field not 2 in one of the packets */
    FLOE_RTP_R_RTCP_LENGTH,  /* a length field runs past the end of the datagram */
    FLOE_RTP_R_RTCP_FIRST,   /* the first packet is not an SR or RR (§6.1) */
    FLOE_RTP_R_RTCP_PADDING, /* padding on a packet that is not the last, or a bad count */
    FLOE_RTP_R_RTCP_REPORT,  /* SR/RR shorter than its report count says */
    FLOE_RTP_R_RTCP_SDES,    /* SDES chunks do not fit: item past the end, no terminator */
    FLOE_RTP_R_RTCP_BYE,     /* BYE sources or reason past the end of the packet */
    FLOE_RTP_R_COUNT
} floe_rtp_reason;

/* A short stable name for logs and counters ("short", "rtcp-first", ...). */
const char *floe_rtp_reason_name(floe_rtp_reason r);

/* Counters a caller may keep across calls (the parsers bump them when given). */
typedef struct floe_rtp_stats {
    uint64_t rtp_parsed;                 /* RTP packets accepted */
    uint64_t rtcp_parsed;                /* RTCP compound packets accepted */
    uint64_t rejected[FLOE_RTP_R_COUNT]; /* packets rejected, by reason */
} floe_rtp_stats;

/* ---- the RTP header (RFC 3550 §5.1) ------------------------------------------------------ */

/* A parsed packet, or the description of one to build. Pointers are into the parsed
 * datagram (or the caller's data when building). */
typedef struct floe_rtp_hdr {
    bool marker;
    uint8_t pt; /* payload type, 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t n_csrc; /* 0..15 */
    uint32_t csrc[FLOE_RTP_MAX_CSRC];
    bool ext;                /* a header extension is present (X bit) */
    uint16_t ext_profile;    /* its 16 profile-defined bits */
    const uint8_t *ext_data; /* its data ... */
    size_t ext_len;          /* ... in bytes, a multiple of 4 (at most 4 * 65535) */
    uint8_t pad_len;         /* padding bytes at the end, the count octet included; 0 = none */
    const uint8_t *payload;
    size_t payload_len;
} floe_rtp_hdr;

/* Checks one datagram as RFC 3550 §5.1 and A.1 describe and fills h. FLOE_OK;
 * FLOE_ERR_TRUNCATED (short, CSRC, extension) or FLOE_ERR_MALFORMED (version, padding,
 * payload type) with *why set (why may be NULL) and stats->rejected[*why] bumped (stats may
 * be NULL); FLOE_ERR_INVAL for NULL p or h. The payload type is not checked against a
 * negotiated one: that is the caller's business. */
int floe_rtp_parse(const uint8_t *p, size_t len, floe_rtp_hdr *h, floe_rtp_reason *why,
                   floe_rtp_stats *stats);

/* Writes the packet h describes (version 2; P, X and CC from pad_len, ext and n_csrc).
 * FLOE_ERR_INVAL for a payload type above 127, more than 15 CSRCs, an extension length not
 * a multiple of 4 or too long, or a NULL pointer with a non-zero length; FLOE_ERR_NOSPACE
 * when cap is too small (nothing useful is left in out then). */
int floe_rtp_build(const floe_rtp_hdr *h, uint8_t *out, size_t cap, size_t *out_len);

/* ---- the sender (RFC 3550 §5.1, §6.4.1) ------------------------------------------------ */

/* Random-bytes source (floe_rt_random fits): fills buf, returns FLOE_OK or an error. */
typedef int (*floe_rtp_rand_fn)(void *ctx, void *buf, size_t len);

typedef struct floe_rtp_sender {
    uint32_t ssrc;
    uint8_t pt;
    uint32_t rate;        /* RTP clock rate, Hz */
    uint16_t seq;         /* sequence number of the next packet */
    uint32_t ts;          /* RTP timestamp of the next packet */
    uint32_t packets;     /* packets sent (the SR's sender's packet count) */
    uint32_t octets;      /* payload octets sent (the SR's sender's octet count) */
    bool sent;            /* at least one packet built */
    uint32_t last_ts;     /* timestamp of the last packet built ... */
    floe_time_ns last_at; /* ... and when it was built: maps "now" to RTP time */
} floe_rtp_sender;

/* SSRC, first sequence number and first timestamp random (RFC 3550 §5.1, §8.1).
 * FLOE_ERR_INVAL for NULL s or rand, pt above 127 or rate 0; the callback's error. */
int floe_rtp_sender_init(floe_rtp_sender *s, uint8_t pt, uint32_t rate, floe_rtp_rand_fn rnd,
                         void *rand_ctx);

/* Builds the next packet carrying payload, which holds `samples` samples: the sequence
 * number goes up by one and the timestamp by `samples` afterwards. Errors as
 * floe_rtp_build; the sender's state changes only on success. */
int floe_rtp_sender_build(floe_rtp_sender *s, floe_time_ns now, bool marker, const uint8_t *payload,
                          size_t len, uint32_t samples, uint8_t *out, size_t cap, size_t *out_len);

/* Moves the next timestamp on by `samples` without sending (frames skipped: a receiver
 * sees a silence, not a loss). */
void floe_rtp_sender_skip(floe_rtp_sender *s, uint32_t samples);

/* The RTP timestamp that corresponds to now (the SR's RTP timestamp, §6.4.1): the last
 * packet's timestamp moved on by the time elapsed since it was built; the next packet's
 * timestamp before any was built. */
uint32_t floe_rtp_sender_ts_at(const floe_rtp_sender *s, floe_time_ns now);

/* ---- time in RTCP ---------------------------------------------------------------------- */

/* The 64-bit NTP timestamp (32.32 fixed point seconds, RFC 3550 §4) of now, given the NTP
 * timestamp of time 0 on the caller's clock. A runtime with no wall clock may pass 0: the
 * NTP field then counts elapsed time, which RFC 3550 §6.4.1 allows, and round-trip times
 * still come out right. */
uint64_t floe_rtp_ntp(uint64_t ntp_at_zero, floe_time_ns now);
/* The middle 32 bits of an NTP timestamp (16.16): the LSR field's form. */
static inline uint32_t floe_rtp_ntp_mid(uint64_t ntp) {
    return (uint32_t)(ntp >> 16);
}
/* Nanoseconds in a 16.16 fixed-point duration (DLSR, round-trip time), and back. */
floe_time_ns floe_rtp_ntp_short_to_ns(uint32_t v);
uint32_t floe_rtp_ns_to_ntp_short(floe_time_ns ns);

/* ---- RTCP compound packets (RFC 3550 §6) ------------------------------------------------ */

/* A reception report block (§6.4.1). cumulative_lost is the 24-bit signed field. */
typedef struct floe_rtcp_block {
    uint32_t ssrc;            /* the source reported on */
    uint8_t fraction_lost;    /* lost in the last interval, in 1/256 */
    int32_t cumulative_lost;  /* -2^23 .. 2^23-1 */
    uint32_t ext_highest_seq; /* cycles * 65536 + highest sequence number */
    uint32_t jitter;          /* interarrival jitter, timestamp units */
    uint32_t lsr;             /* middle 32 bits of the last SR's NTP timestamp; 0 = none */
    uint32_t dlsr;            /* delay since that SR, 1/65536 s */
} floe_rtcp_block;

/* One SDES chunk: a source and its CNAME (cname NULL when the chunk has none; other item
 * types are skipped when parsing and never written). */
typedef struct floe_rtcp_sdes {
    uint32_t ssrc;
    const uint8_t *cname;
    size_t cname_len; /* 1..255 when present */
} floe_rtcp_sdes;

/* A compound packet: what floe_rtcp_parse fills and floe_rtcp_build writes. */
typedef struct floe_rtcp {
    bool sr;          /* the first packet is an SR (else an RR) */
    uint32_t ssrc;    /* its sender */
    uint64_t ntp;     /* SR only: NTP timestamp ... */
    uint32_t rtp_ts;  /* ... the same instant in RTP time ... */
    uint32_t packets; /* ... and the sender's packet and payload octet counts */
    uint32_t octets;
    floe_rtcp_block blocks[FLOE_RTCP_MAX_BLOCKS]; /* the SR/RR's blocks, then later RRs' */
    size_t n_blocks;
    floe_rtcp_sdes sdes[FLOE_RTCP_MAX_SDES];
    size_t n_sdes;
    bool bye;                             /* a BYE packet is present */
    uint32_t bye_ssrc[FLOE_RTCP_MAX_BYE]; /* the sources leaving */
    size_t n_bye;
    const uint8_t *bye_reason; /* NULL when absent */
    size_t bye_reason_len;     /* 0..255 */
    /* parsing only: */
    size_t n_packets; /* packets in the compound */
    size_t n_other;   /* APP and unknown packet types, skipped (RFC 3550 A.2 allows them) */
    size_t n_dropped; /* blocks, chunks and sources beyond the caps above */
} floe_rtcp;

/* Checks a compound packet as RFC 3550 appendix A.2 describes (version 2 everywhere, the
 * first packet an SR or RR, padding only on the last, lengths adding up to the datagram)
 * and reads its SR/RR, SDES CNAMEs and BYE. Returns as floe_rtp_parse: FLOE_OK,
 * FLOE_ERR_TRUNCATED (RTCP_SHORT, RTCP_LENGTH) or FLOE_ERR_MALFORMED with a reason.
 * Reduced-size RTCP (RFC 5506, no SR/RR first) is not accepted. */
int floe_rtcp_parse(const uint8_t *p, size_t len, floe_rtcp *c, floe_rtp_reason *why,
                    floe_rtp_stats *stats);

/* Writes the compound c describes, in RFC 3550 §6.1 order: SR (c->sr) or RR with the
 * n_blocks blocks, SDES with one chunk per sdes entry, then BYE when c->bye. No padding.
 * FLOE_ERR_INVAL unless at least one chunk has a CNAME (§6.1: every compound carries
 * one), for more blocks, chunks or sources than the caps, a CNAME or reason longer than
 * 255 bytes or NULL with a length, or a cumulative_lost outside 24 bits;
 * FLOE_ERR_NOSPACE when cap is too small. */
int floe_rtcp_build(const floe_rtcp *c, uint8_t *out, size_t cap, size_t *out_len);

/* ---- a receiver's view of one source (RFC 3550 A.1, A.3, A.8) -------------------------- */

/* What floe_rtp_source_update made of a packet. */
typedef enum floe_rtp_seq {
    FLOE_RTP_SEQ_OK,        /* in order (gaps allowed up to MAX_DROPOUT): counted */
    FLOE_RTP_SEQ_LATE,      /* behind the highest, up to MAX_MISORDER, new: counted */
    FLOE_RTP_SEQ_RESTART,   /* a second packet confirmed a jump: statistics start over */
    FLOE_RTP_SEQ_PROBATION, /* the source is not valid yet: not counted */
    FLOE_RTP_SEQ_DUPLICATE, /* seen already (within FLOE_RTP_DUP_WINDOW): not counted */
    FLOE_RTP_SEQ_JUMP,      /* a large jump, not yet confirmed: not counted, drop it */
} floe_rtp_seq;

typedef struct floe_rtp_source {
    uint32_t ssrc;
    uint32_t rate;      /* RTP clock rate, for jitter */
    uint16_t max_seq;   /* highest sequence number seen */
    uint32_t cycles;    /* wraps of the sequence number, times 65536 */
    uint32_t base_seq;  /* first sequence number counted */
    uint32_t bad_seq;   /* the sequence number that would confirm a jump */
    uint32_t probation; /* packets still needed in sequence */
    uint32_t received;  /* packets counted (not duplicates, not before base_seq) */
    uint32_t expected_prior, received_prior; /* at the last report (A.3) */
    uint64_t seen[FLOE_RTP_DUP_WINDOW / 64]; /* bit i: max_seq - i has arrived */
    bool have_transit;
    uint32_t transit;  /* last relative transit time, timestamp units (A.8) */
    uint64_t jitter16; /* interarrival jitter times 16 (A.8's integer form) */
    bool have_sr;
    uint32_t lsr;        /* middle of the last SR's NTP timestamp ... */
    floe_time_ns lsr_at; /* ... and when it arrived */
    uint64_t late, duplicates, probation_pkts, jumps, restarts;
} floe_rtp_source;

/* A new source heard with sequence number seq (A.1 "new source": on probation).
 * Then pass the same packet to floe_rtp_source_update. */
void floe_rtp_source_init(floe_rtp_source *s, uint32_t ssrc, uint16_t seq, uint32_t rate);

/* Takes a packet with sequence number seq and timestamp ts that arrived at now. The
 * verdicts and what they count are above; jitter is updated for OK, LATE and RESTART.
 *
 * Deviation from RFC 3550 §6.4.1, deliberately: there "received" includes duplicates,
 * so a network that duplicates packets makes the loss look smaller (even negative).
 * Here a duplicate within the window is not counted, nor is a late packet older than
 * the first one counted, so expected - received is the number of packets that did not
 * arrive. */
floe_rtp_seq floe_rtp_source_update(floe_rtp_source *s, floe_time_ns now, uint16_t seq,
                                    uint32_t ts);

/* True once the source passed probation (and has a base to report on). */
static inline bool floe_rtp_source_valid(const floe_rtp_source *s) {
    return s->probation == 0;
}
uint32_t floe_rtp_source_ext_max(const floe_rtp_source *s);  /* cycles + max_seq */
uint32_t floe_rtp_source_expected(const floe_rtp_source *s); /* A.3: ext_max - base + 1 */
int64_t floe_rtp_source_lost(const floe_rtp_source *s);      /* expected - received */
uint32_t floe_rtp_source_jitter(const floe_rtp_source *s);   /* timestamp units */

/* Notes an SR from this source (for the LSR and DLSR of the next report). */
void floe_rtp_source_on_sr(floe_rtp_source *s, floe_time_ns now, uint64_t ntp);

/* Fills a report block about the source as of now (A.3: the fraction lost is over the
 * interval since the previous call, which this call closes). */
void floe_rtp_source_report(floe_rtp_source *s, floe_time_ns now, floe_rtcp_block *b);

/* ---- the report interval (RFC 3550 §6.2, §6.3, A.7) ------------------------------------- */

typedef struct floe_rtcp_interval_in {
    unsigned members;     /* participants, ourselves included (2 in a call) */
    unsigned senders;     /* of them, those who sent RTP since the last report */
    double rtcp_bw;       /* octets per second for RTCP: 5 % of the session bandwidth */
    bool we_sent;         /* we are one of the senders */
    double avg_rtcp_size; /* octets, IP and UDP headers included (A.7: a moving average) */
    bool initial;         /* no report sent yet: Tmin is halved */
} floe_rtcp_interval_in;

/* The time to the next report, A.7's rtcp_interval(): the deterministic interval (at least
 * Tmin), times a random factor in [0.5, 1.5) taken from rnd (uniform 32 bits), divided by
 * FLOE_RTCP_COMPENSATION. Timer reconsideration (§6.3.3, §6.3.6) and BYE reconsideration
 * (§6.3.7) change nothing with two members and are not done. 0 members count as 1; a
 * non-positive bandwidth gives Tmin. */
floe_time_ns floe_rtcp_interval(const floe_rtcp_interval_in *in, uint32_t rnd);

/* A.7's moving average of compound sizes: avg + (size - avg) / 16. */
double floe_rtcp_avg_size(double avg, size_t packet_size);

/* ---- demultiplexing (RFC 7983 §7, RFC 5761 §4) ------------------------------------------ */

typedef enum floe_demux_class {
    FLOE_DEMUX_UNKNOWN,      /* empty, or a first byte no range claims: drop it */
    FLOE_DEMUX_STUN,         /* 0..3 */
    FLOE_DEMUX_ZRTP,         /* 16..19 */
    FLOE_DEMUX_DTLS,         /* 20..63 */
    FLOE_DEMUX_TURN_CHANNEL, /* 64..79 */
    FLOE_DEMUX_RTP,          /* 128..191, second byte's payload type outside 64..95 */
    FLOE_DEMUX_RTCP,         /* 128..191, payload type 64..95 (RTCP types 192..223) */
} floe_demux_class;

/* Sorts a datagram that arrived on a port shared by several protocols by its first byte
 * (RFC 7983 §7), and RTP from RTCP by the second (RFC 5761 §4: with rtcp-mux, RTP may not
 * use payload types 64..95). A one-byte datagram in 128..191 is RTP. */
floe_demux_class floe_rtp_demux(const uint8_t *p, size_t len);

/* RFC 5761 §4 alone: p is RTCP (at least two bytes, second byte & 0x7F in 64..95). */
bool floe_rtp_is_rtcp(const uint8_t *p, size_t len);

/* A short name: "stun", "dtls", "rtp", ... */
const char *floe_demux_class_name(floe_demux_class c);

#ifdef __cplusplus
}
#endif
#endif
