/* floe: one audio stream of a call, sans-IO: PCMU or PCMA at 8 kHz over RTP, with RTCP
 * reports (RFC 3550, RFC 3551, RFC 5761, RFC 7983).
 *
 * The session makes an RTP packet every ptime (20 ms: 160 samples) from samples the
 * caller hands it, or from its own tone or silence; takes RTP and RTCP in and hands back
 * decoded samples; sends RTCP reports on the RFC 3550 schedule; and counts everything.
 * Like the rest of the core it never reads a clock, never touches a socket and never
 * draws OS randomness: "now" is passed in, datagrams go in and out as bytes, random
 * values come from the callback in the configuration. Nothing is allocated; the object is
 * a plain struct (about 1 KiB) whose fields are private; floe_media_rx is about 2 KiB.
 *
 *   floe_media m;
 *   floe_media_config cfg;
 *   floe_media_config_default(&cfg);          // PCMU, 20 ms, rtcp-mux, random CNAME
 *   cfg.rand = floe_rt_random;
 *   floe_media_init(&m, &cfg);
 *   floe_media_start(&m, now);                // when ICE has selected a pair
 *   for (;;) {
 *       while (floe_media_rtp_due(&m, now)) {
 *           read floe_media_frame_samples(&m) samples from the WAV file into frame;
 *           floe_media_next_packet(&m, now, frame, buf, sizeof buf, &n);
 *           floe_ice_agent_send_data(agent, now, stream, 1, buf, n, ...);
 *       }
 *       if (floe_media_next_rtcp(&m, now, buf, sizeof buf, &n) == FLOE_OK)
 *           send it on component 1 (rtcp-mux) or 2;
 *       wait until floe_media_deadline(&m) or a datagram arrives; now = clock;
 *       a datagram the ICE agent says is not STUN: floe_media_on_packet(&m, now, p, len, &rx);
 *       if (rx.kind == FLOE_MEDIA_RX_AUDIO) write rx.gap zeros, then rx.samples, to the WAV file;
 *   }
 *   on hang-up: floe_media_stop(&m, true) and send the BYE that next_rtcp gives;
 *   on ICE consent lost (FLOE_ICE_EV_CONSENT_LOST): floe_media_stop(&m, false): nothing more.
 *
 * Sending. Packets are due every ptime from the start, on a fixed grid (no drift); a
 * caller that falls more than FLOE_MEDIA_MAX_LAG behind does not get a burst: the frames
 * in between are skipped (counted in frames_skipped) and the RTP timestamp moves on over
 * them, so the peer hears a short silence, not a loss. The first packet, and the first
 * after a skip, carries the marker bit (RFC 3551 §4.1: the start of a talkspurt).
 *
 * Receiving. on_packet sorts a datagram by its first bytes (RFC 7983, RFC 5761 §4: RTCP
 * has payload types 64..95 in the RTP position, whether or not rtcp-mux is on). RTP must
 * carry the configured payload type (others, such as comfort noise or telephone-event,
 * are dropped and counted). One remote source is followed (RFC 3550 A.1): its first two
 * packets are its probation (their audio is handed over, but they are not in the loss
 * statistics); another SSRC replaces it once two of its packets arrive in sequence (a
 * peer or middlebox that changed its SSRC), or at once after a BYE. Duplicates and
 * unconfirmed sequence jumps are dropped; reordered packets are handed over with late set
 * (there is no jitter buffer here: a recorder may place them by rx.ts or drop them).
 * rx.gap counts the samples missing before an in-order packet (lost packets, or the
 * peer's skipped frames), so that a recorder can keep the timeline. Nothing that arrives
 * is fatal: every drop has a reason (floe_media_drop) and a counter.
 *
 * RTCP. The first report goes out after the RFC 3550 initial interval (Tmin 2.5 s, so
 * between about 1 and 3 s), then every 2 to 6 s (Tmin 5 s, randomised, A.7): with two
 * members and 5 % of an 80 kbit/s session the computed interval is always below Tmin.
 * Reports are an SR when we sent RTP since the previous report, else an RR; they carry a
 * report block on the peer's source when it was heard since the previous report (with
 * LSR/DLSR once an SR came from it), and our SDES CNAME. Report blocks about our stream
 * give the round-trip time (RFC 3550 §6.4.1: A - LSR - DLSR) and the peer's view of the
 * loss and jitter. Not done, as two-party unicast does not need them: timer
 * reconsideration, member tables and timeouts, SSRC collision resolution (our own SSRC
 * coming back is dropped as a loop), RTCP for more than one remote source.
 *
 * The session does not look at ICE (floe/ice.h): the caller sends what it produces over
 * the selected pair, gives it what the agent says is not STUN, and stops it when consent
 * is lost. */
#ifndef FLOE_MEDIA_H
#define FLOE_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/g711.h"
#include "floe/rtp.h"
#include "floe/time.h"
#include "floe/tone.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_MEDIA_PTIME_DEFAULT 20 /* ms; RFC 3551 §4.5 */
#define FLOE_MEDIA_PTIME_MIN 10     /* ms; ptime is a multiple of 10 ms ... */
#define FLOE_MEDIA_PTIME_MAX 60     /* ... up to 60 ms (480 samples) */
#define FLOE_MEDIA_MAX_FRAME (FLOE_MEDIA_PTIME_MAX * FLOE_RTP_AUDIO_RATE / 1000)
/* Samples one received packet may carry (120 ms; G.711 is one octet per sample). */
#define FLOE_MEDIA_MAX_RX_SAMPLES 960
/* Buffer sizes that always suffice for what the session produces. */
#define FLOE_MEDIA_RTP_MAX (FLOE_RTP_HEADER_LEN + FLOE_MEDIA_MAX_FRAME)
#define FLOE_MEDIA_RTCP_MAX 512
#define FLOE_MEDIA_CNAME_MAX 255               /* RFC 3550 §6.5: an SDES item's length octet */
#define FLOE_MEDIA_MAX_LAG FLOE_MS(100)        /* behind by more: skip frames, no burst */
#define FLOE_MEDIA_IP_UDP_OVERHEAD 28          /* IPv4 + UDP, in the bandwidth and RTCP sizes */
#define FLOE_MEDIA_MAX_GAP FLOE_RTP_AUDIO_RATE /* rx.gap above 1 s is reported as 0 */

typedef struct floe_media_config {
    uint8_t payload_type;  /* FLOE_RTP_PT_PCMU (default) or FLOE_RTP_PT_PCMA */
    unsigned ptime_ms;     /* FLOE_MEDIA_PTIME_DEFAULT; 10..60, a multiple of 10 */
    bool rtcp_mux;         /* RFC 5761 (default on): RTCP on the RTP component */
    const char *cname;     /* copied; NULL (default) draws a random one (RFC 7022 §4.2) */
    floe_rtp_rand_fn rand; /* required: SSRC, sequence, timestamp, CNAME, RTCP timing */
    void *rand_ctx;
    uint64_t ntp_at_zero; /* NTP timestamp of now == 0 (0: elapsed time, floe_rtp_ntp) */
} floe_media_config;

void floe_media_config_default(floe_media_config *cfg);

/* Why on_packet dropped a datagram. */
typedef enum floe_media_drop {
    FLOE_MEDIA_DROP_NONE = 0,
    FLOE_MEDIA_DROP_NOT_RTP,      /* first byte outside 128..191 (STUN, DTLS, ...) */
    FLOE_MEDIA_DROP_MALFORMED,    /* the RTP or RTCP parser refused it (stats.parse) */
    FLOE_MEDIA_DROP_PT,           /* a payload type other than the configured one */
    FLOE_MEDIA_DROP_TOO_LONG,     /* more than FLOE_MEDIA_MAX_RX_SAMPLES samples */
    FLOE_MEDIA_DROP_LOOP,         /* our own SSRC: a loop, or a collision */
    FLOE_MEDIA_DROP_FOREIGN_SSRC, /* another source while ours is current */
    FLOE_MEDIA_DROP_DUPLICATE,    /* a sequence number already received */
    FLOE_MEDIA_DROP_JUMP,         /* a sequence jump not (yet) confirmed (A.1) */
    FLOE_MEDIA_DROP_STOPPED,      /* after floe_media_stop */
    FLOE_MEDIA_DROP_COUNT
} floe_media_drop;

const char *floe_media_drop_name(floe_media_drop d);

typedef enum floe_media_rx_kind {
    FLOE_MEDIA_RX_NONE,  /* dropped: see drop */
    FLOE_MEDIA_RX_AUDIO, /* an RTP packet: samples below */
    FLOE_MEDIA_RX_RTCP,  /* an RTCP compound: statistics updated */
} floe_media_rx_kind;

/* What on_packet made of one datagram. */
typedef struct floe_media_rx {
    floe_media_rx_kind kind;
    floe_media_drop drop;
    /* audio: */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    bool marker;
    bool late;    /* behind the highest sequence number seen: reordered */
    uint32_t gap; /* samples missing before this packet (0 when late or unknown) */
    size_t n_samples;
    int16_t samples[FLOE_MEDIA_MAX_RX_SAMPLES];
    /* RTCP: */
    bool bye; /* the peer's source said BYE */
} floe_media_rx;

typedef struct floe_media_stats {
    uint64_t rtp_sent;        /* RTP packets produced */
    uint64_t rtp_octets_sent; /* their payload octets */
    uint64_t frames_skipped;  /* frames not sent because the caller fell behind */
    uint64_t rtcp_sent;
    uint64_t rtp_received; /* audio packets handed over (probation and late ones too) */
    uint64_t rtcp_received;
    uint64_t expected; /* A.3, over every remote source followed */
    int64_t lost;      /* A.3: expected - received (duplicates not counted) */
    uint64_t late;     /* reordered packets */
    uint64_t duplicates;
    uint32_t jitter;        /* A.8, current source, timestamp units (1/8000 s) */
    floe_time_ns jitter_ns; /* the same in nanoseconds */
    uint64_t bad;           /* not RTP/RTCP or malformed: the first two drop reasons */
    uint64_t dropped[FLOE_MEDIA_DROP_COUNT];
    uint64_t ssrc_changes;
    floe_time_ns first_rtp_sent;     /* FLOE_TIME_NEVER until it happens */
    floe_time_ns first_rtp_received; /* FLOE_TIME_NEVER until it happens */
    floe_time_ns last_rtp_received;  /* FLOE_TIME_NEVER until it happens */
    floe_time_ns rtt;                /* last measured round trip; FLOE_TIME_NEVER before */
    bool remote_report;              /* the peer reported on our stream: */
    uint8_t remote_fraction_lost;    /*   its last fraction lost (1/256) */
    int32_t remote_lost;             /*   cumulative lost */
    uint32_t remote_jitter;          /*   jitter (timestamp units) */
    bool remote_bye;                 /* the peer's source said BYE */
    floe_rtp_stats parse;            /* the parsers' counters, by reason */
} floe_media_stats;

typedef enum floe_media_state {
    FLOE_MEDIA_NEW,      /* initialised; receives (early media), sends nothing */
    FLOE_MEDIA_RUNNING,  /* started */
    FLOE_MEDIA_STOPPING, /* stopped with a BYE still to send */
    FLOE_MEDIA_STOPPED,  /* nothing more in or out */
} floe_media_state;

typedef struct floe_media {
    floe_media_state state;
    uint8_t pt;
    floe_g711_law law;
    unsigned ptime_ms;
    unsigned frame; /* samples per packet */
    bool rtcp_mux;
    char cname[FLOE_MEDIA_CNAME_MAX + 1];
    size_t cname_len;
    floe_rtp_rand_fn rand;
    void *rand_ctx;
    uint64_t ntp_at_zero;
    double rtcp_bw;       /* octets per second */
    double avg_rtcp_size; /* octets, A.7 */
    /* sending */
    floe_rtp_sender tx;
    bool marker_next;
    floe_time_ns next_rtp, next_rtcp;
    bool rtcp_initial;
    bool sent_since_report, heard_since_report;
    bool tone_on;
    floe_tone_gen tone;
    /* receiving */
    bool have_source;
    floe_rtp_source rx;
    bool have_cand; /* a foreign source's last packet, to confirm a change */
    uint32_t cand_ssrc;
    uint16_t cand_seq;
    bool have_rx_ts; /* the timestamp the next in-order packet should have */
    uint32_t rx_next_ts;
    uint64_t expected_prior; /* sources followed before the current one */
    int64_t lost_prior;
    floe_media_stats st;
} floe_media;

/* Checks cfg and draws the random values. FLOE_ERR_INVAL for NULL m or cfg, no rand, a
 * payload type other than 0 and 8, a bad ptime, an empty CNAME or one longer than
 * FLOE_MEDIA_CNAME_MAX; the random source's error. */
int floe_media_init(floe_media *m, const floe_media_config *cfg);

/* Starts sending: the first RTP packet is due at now, the first report after the
 * initial interval. FLOE_ERR_STATE unless the session is new. */
int floe_media_start(floe_media *m, floe_time_ns now);

/* What next_packet sends when the caller gives no samples: a tone of hz at amplitude
 * (floe_tone_gen_init's limits) or, with hz 0, silence (the default). */
int floe_media_set_tone(floe_media *m, double hz, double amplitude);

/* Samples per packet (160 at 20 ms). */
size_t floe_media_frame_samples(const floe_media *m);

/* True when an RTP packet is due (running and now has reached its time). */
bool floe_media_rtp_due(const floe_media *m, floe_time_ns now);

/* The next RTP packet, when due: samples (floe_media_frame_samples of them) are encoded,
 * or the tone or silence when samples is NULL. FLOE_OK; FLOE_ERR_NOT_FOUND when none is
 * due yet; FLOE_ERR_STATE unless running; FLOE_ERR_NOSPACE when cap is below 12 + frame
 * (FLOE_MEDIA_RTP_MAX always suffices; nothing changes then). */
int floe_media_next_packet(floe_media *m, floe_time_ns now, const int16_t *samples, uint8_t *out,
                           size_t cap, size_t *out_len);

/* The next RTCP compound, when due (and at once when stopping with a BYE). Send it on
 * the RTP component with rtcp-mux, else on the RTCP one. FLOE_OK; FLOE_ERR_NOT_FOUND when
 * none is due; FLOE_ERR_STATE when new or stopped; FLOE_ERR_NOSPACE (FLOE_MEDIA_RTCP_MAX
 * always suffices; nothing changes then). */
int floe_media_next_rtcp(floe_media *m, floe_time_ns now, uint8_t *out, size_t cap,
                         size_t *out_len);

/* When next_packet or next_rtcp will have something: FLOE_TIME_NEVER when new or
 * stopped, 0 when a BYE waits. */
floe_time_ns floe_media_deadline(const floe_media *m);

/* Takes one datagram that arrived at now (RTP or RTCP; anything else is dropped and
 * counted) and says what it was in *rx. Always FLOE_OK (drops are not errors of the
 * call) except FLOE_ERR_INVAL for NULL m, p or rx. */
int floe_media_on_packet(floe_media *m, floe_time_ns now, const uint8_t *p, size_t len,
                         floe_media_rx *rx);

/* Stops the stream for good: nothing more is produced or taken in. With send_bye, one
 * last compound with a BYE is due at once (RFC 3550 §6.3.7: with few members, without
 * delay); without (ICE consent lost, the path is gone), not even that. */
void floe_media_stop(floe_media *m, bool send_bye);

/* The counters, with the loss and jitter of the current source folded in. */
void floe_media_get_stats(const floe_media *m, floe_media_stats *out);

/* 1 with rtcp-mux, else 2: the ICE component RTCP goes out on. */
static inline unsigned floe_media_rtcp_component(const floe_media *m) {
    return m->rtcp_mux ? 1 : 2;
}

#ifdef __cplusplus
}
#endif
#endif
