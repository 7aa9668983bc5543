/* The SIP user agent's insides, shared by its files (not installed). */
#ifndef FLOE_SIP_UA_PRIV_H
#define FLOE_SIP_UA_PRIV_H

#include "floe/ice.h"
#include "floe/ice_sdp.h"
#include "floe/media.h"
#include "floe/sip.h"
#include "floe/sip_auth.h"
#include "floe/sip_call.h"
#include "floe/sip_dialog.h"
#include "floe/sip_sdp.h"
#include "floe/sip_txn.h"
#include "floe/sip_ua.h"

#define UA_SDP_MAX 4096
#define UA_ARENA 4096
#define UA_URI_MAX 256

struct floe_sip_ua {
    floe_sip_ua_config cfg;
    char user[FLOE_SIP_UA_NAME_MAX], domain[FLOE_SIP_UA_NAME_MAX], display[FLOE_SIP_UA_NAME_MAX];
    floe_sip_txl *txl;
    /* media sockets */
    floe_addr hosts[FLOE_SIP_UA_MAX_MEDIA_HOSTS];
    char ifnames[FLOE_SIP_UA_MAX_MEDIA_HOSTS][FLOE_ICE_IFNAME_MAX];
    unsigned n_hosts;
    unsigned base_sock[FLOE_ICE_MAX_BASES];          /* agent base -> media socket */
    unsigned host_base[FLOE_SIP_UA_MAX_MEDIA_HOSTS]; /* media socket -> agent base */
    /* events */
    floe_sip_ua_event ev[FLOE_SIP_UA_EVENTS];
    unsigned ev_head, ev_len;
    uint64_t ev_dropped;

    /* ---- registration (kept across calls) ---- */
    floe_sip_auth_client auth;
    bool auth_on;
    bool reg_on; /* registering (refreshes wanted) */
    bool reg_unregistering;
    bool reg_sent_zero; /* the REGISTER in flight asks for Expires: 0 */
    char reg_ruri[FLOE_SIP_UA_NAME_MAX + 8];
    uint32_t reg_id; /* the REGISTER in flight, 0 when none */
    uint32_t reg_cseq;
    char reg_call_id[96], reg_tag[32];
    floe_time_ns reg_refresh_at, reg_expires_at;
    unsigned agent_gen; /* one more for each call's agent: stream ids carry it (24 bits) */

    /* ---- the call ---- */
    bool active;       /* a call exists (maybe over: state says) */
    floe_transport tp; /* the call's signalling transport */
    floe_sip_call_role role;
    floe_sip_call_state state;
    floe_ice_agent *agent;
    bool gathered, checks_started, ice_done;
    bool restarting;                /* caller: the re-INVITE of an ICE restart is out */
    floe_time_ns reinvite_retry_at; /* caller: our re-INVITE got 491: try again then */
    bool retry_restart;             /* ... and it was an ICE restart's */
    char rem_ufrag[FLOE_SDP_ICE_UFRAG_MAX + 1], rem_pwd[FLOE_SDP_ICE_PWD_MAX + 1]; /* applied */
    bool ice_call;    /* both sides do ICE */
    bool have_dialog; /* dlg is valid */
    floe_sip_dialog dlg;
    char peer_uri[UA_URI_MAX];    /* caller: the Request-URI */
    char contact[UA_URI_MAX + 8]; /* "<sip:user@ip:port>" */
    char local_tag[32], call_id[96];
    floe_addr sig_peer; /* where out-of-dialog requests of the call go */
    uint32_t invite_id; /* the INVITE transaction (client or server) */
    uint32_t invite_cseq;
    uint32_t reinvite_id, reinvite_cseq, bye_id, cancel_id;
    uint32_t uas_2xx_txn; /* callee: the transaction whose 2xx waits for its ACK */
    bool cancel_wanted, got_provisional;
    bool answered_sdp;   /* caller: the answer came; callee: the offer was read */
    bool prack_done;     /* callee: the PRACK of our 183 came */
    bool require_100rel; /* callee: the INVITE requires 100rel: every 18x is reliable */
    bool no_rtcp_mux;    /* the peer's description has no a=rtcp-mux: we send no RTCP (it
                            would want it on a second port, and we have one component) */
    bool reinvite_sent;
    uint64_t session_id, session_version;
    int pt;                /* the payload type of the call */
    floe_addr peer_rtp;    /* the peer's default destination */
    unsigned default_sock; /* our default candidate's socket (no-ICE media) */
    floe_ice_cand default_cand;
    bool have_pair;
    floe_ice_cand sel_local, sel_remote;
    floe_time_ns answer_at;               /* callee: auto-answer time, FLOE_TIME_NEVER */
    floe_time_ns preview_at, preview_gap; /* callee, late answer: the next resend of the
                                             unreliable 183 with the answer, its interval */
    /* our description (kept for the 200 and re-INVITEs) */
    char sdp[UA_SDP_MAX];
    size_t sdp_len;
    /* media */
    floe_media media;
    bool media_init, media_on, media_sent, media_recv;
    floe_media_rx rx;
    uint8_t pkt[FLOE_MEDIA_RTP_MAX + FLOE_MEDIA_RTCP_MAX];
    int16_t frame[FLOE_MEDIA_MAX_FRAME];
    /* timeline (absolute times, FLOE_TIME_NEVER when not yet) */
    floe_time_ns t_invite, t_183, t_ice, t_180, t_200;
    unsigned end_status;
    char end_reason[FLOE_SIP_UA_REASON_MAX];

    /* scratch */
    floe_ice_sdp_work *work;
    floe_sip_msg msg, msg2;
    char arena_buf[UA_ARENA];
    floe_sip_arena ar;
    floe_sip_dialog fork_dlg; /* caller: the dialog of another fork's 2xx, to end it */
};

/* sip_ua.c */
void ua_event(floe_sip_ua *ua, const floe_sip_ua_event *ev);
void ua_event_simple(floe_sip_ua *ua, floe_time_ns now, floe_sip_ua_event_type t, const char *why);
void ua_step(floe_sip_ua *ua, floe_time_ns now, floe_sip_call_event e);
void ua_end(floe_sip_ua *ua, floe_time_ns now, unsigned status, const char *reason);
void ua_reset_call(floe_sip_ua *ua, floe_sip_call_role role);
void ua_send_bye(floe_sip_ua *ua, floe_time_ns now);
int ua_contact_init(floe_sip_ua *ua, floe_transport tp);
int ua_uri_addr(floe_sip_str uri, floe_addr *out);
int ua_request(floe_sip_ua *ua, floe_time_ns now, floe_transport tp, floe_sip_msg *m,
               const floe_addr *to, uint32_t *id);
void ua_add_common(floe_sip_ua *ua, floe_sip_msg *m, bool with_sdp);
int ua_in_dialog(floe_sip_ua *ua, floe_time_ns now, const char *method, bool with_sdp, uint32_t *id,
                 uint32_t *cseq);

/* sip_ua_media.c */
int ua_agent_new(floe_sip_ua *ua, floe_time_ns now, bool controlling);
void ua_agent_free(floe_sip_ua *ua);
void ua_agent_events(floe_sip_ua *ua, floe_time_ns now);
int ua_write_sdp(floe_sip_ua *ua, bool selected);
int ua_read_sdp(floe_sip_ua *ua, floe_sip_str body, floe_sip_sdp_media *md);
int ua_apply_ice(floe_sip_ua *ua, floe_sip_str body);
int ua_start_checks(floe_sip_ua *ua, floe_time_ns now);
void ua_media_init(floe_sip_ua *ua);
void ua_media_start(floe_sip_ua *ua, floe_time_ns now);
void ua_media_stop(floe_sip_ua *ua, bool bye);
int ua_media_next(floe_sip_ua *ua, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                  floe_sip_ua_out *out);
floe_time_ns ua_media_deadline(const floe_sip_ua *ua);

/* sip_ua_uac.c */
void ua_uac_gathered(floe_sip_ua *ua, floe_time_ns now);
void ua_uac_response(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev);
void ua_uac_ice_done(floe_sip_ua *ua, floe_time_ns now);
void ua_uac_ice_failed(floe_sip_ua *ua, floe_time_ns now);
void ua_uac_cancel(floe_sip_ua *ua, floe_time_ns now);

/* sip_ua_reg.c */
bool ua_reg_response(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev);
bool ua_reg_timeout(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev);
void ua_reg_tick(floe_sip_ua *ua, floe_time_ns now);
/* uac: a challenged INVITE goes again with credentials */
bool ua_uac_auth_retry(floe_sip_ua *ua, floe_time_ns now, const floe_sip_msg *resp);

/* sip_ua_uas.c */
void ua_uas_request(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev);
void ua_uas_gathered(floe_sip_ua *ua, floe_time_ns now);
void ua_uas_ice_done(floe_sip_ua *ua, floe_time_ns now);
void ua_uas_ice_failed(floe_sip_ua *ua, floe_time_ns now);
void ua_uas_path_found(floe_sip_ua *ua, floe_time_ns now);
void ua_uas_preview(floe_sip_ua *ua, floe_time_ns now);
bool ua_uas_before_answer(floe_sip_call_state s);
bool ua_uac_answered(floe_sip_call_state s);
int ua_restart_agent(floe_sip_ua *ua, floe_time_ns now);
void ua_out_base(const floe_sip_ua *ua, unsigned base, floe_sip_ua_out *out);
void ua_uac_reinvite_retry(floe_sip_ua *ua, floe_time_ns now);
int ua_uas_answer(floe_sip_ua *ua, floe_time_ns now);
void ua_uas_reject(floe_sip_ua *ua, floe_time_ns now, unsigned status);
void ua_uas_dialog_tick(floe_sip_ua *ua, floe_time_ns now);

#endif
