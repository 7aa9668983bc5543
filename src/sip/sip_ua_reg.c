/* The SIP user agent's registration (RFC 3261 §10.2): REGISTER with the outbound proxy,
 * digest credentials when challenged, refresh at half the granted time, unregister. */
#include <string.h>

#include "floe/err.h"
#include "sip_ua_priv.h"

#define REG_EXPIRES_DEFAULT 3600

static void reg_event(floe_sip_ua *ua, floe_time_ns now, floe_sip_ua_event_type t, unsigned status,
                      uint32_t expires, const char *why) {
    floe_sip_ua_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.at = now;
    ev.status = status;
    ev.expires = expires;
    if (why) {
        size_t n = strlen(why);
        if (n >= sizeof ev.reason) n = sizeof ev.reason - 1;
        memcpy(ev.reason, why, n);
    }
    ua_event(ua, &ev);
}

static int send_register(floe_sip_ua *ua, floe_time_ns now, bool with_auth) {
    uint32_t expires = ua->reg_unregistering      ? 0
                       : ua->cfg.register_expires ? ua->cfg.register_expires
                                                  : REG_EXPIRES_DEFAULT;
    char contact[UA_URI_MAX + 8];
    int rc = ua_contact_init(ua, ua->cfg.transport);
    if (rc != FLOE_OK) return rc;
    memcpy(contact, ua->contact, sizeof contact);
    floe_sip_msg *m = &ua->msg2;
    floe_sip_arena_init(&ua->ar, ua->arena_buf, sizeof ua->arena_buf);
    floe_sip_str aor, from, cs, num, exp;
    char nbuf[16], ebuf[16];
    size_t dl = strlen(ua->domain);
    memcpy(ua->reg_ruri, "sip:", 4);
    memcpy(ua->reg_ruri + 4, ua->domain, dl + 1);
    floe_sip_arena_cat(&ua->ar, &aor, "<sip:", ua->user, "@", ua->domain, ">", NULL);
    floe_sip_arena_cat(&ua->ar, &from, "<sip:", ua->user, "@", ua->domain, ">;tag=", ua->reg_tag,
                       NULL);
    ua->reg_cseq++;
    floe_sip_arena_u64(&ua->ar, ua->reg_cseq, &num);
    size_t nl = num.len < sizeof nbuf - 1 ? num.len : sizeof nbuf - 1;
    memcpy(nbuf, num.p, nl);
    nbuf[nl] = '\0';
    floe_sip_arena_cat(&ua->ar, &cs, nbuf, " REGISTER", NULL);
    floe_sip_arena_u64(&ua->ar, expires, &exp);
    nl = exp.len < sizeof ebuf - 1 ? exp.len : sizeof ebuf - 1;
    memcpy(ebuf, exp.p, nl);
    ebuf[nl] = '\0';
    floe_sip_msg_request(m, "REGISTER", ua->reg_ruri);
    floe_sip_msg_add(m, FLOE_SIP_H_MAX_FORWARDS, "70");
    floe_sip_msg_add_str(m, floe_sip_str_c("To"), aor);
    floe_sip_msg_add_str(m, floe_sip_str_c("From"), from);
    floe_sip_msg_add(m, FLOE_SIP_H_CALL_ID, ua->reg_call_id);
    floe_sip_msg_add_str(m, floe_sip_str_c("CSeq"), cs);
    floe_sip_msg_add(m, FLOE_SIP_H_CONTACT, contact);
    floe_sip_msg_add(m, FLOE_SIP_H_EXPIRES, ebuf);
    /* credentials for the challenge kept from the last round (a refresh reuses its
     * nonce with the next nc); none kept: the registrar will say what it wants */
    if (with_auth || ua->auth_on) {
        rc = floe_sip_auth_client_authorize(&ua->auth, m, &ua->ar);
        if (rc != FLOE_OK && (with_auth || rc != FLOE_ERR_NOT_FOUND)) return rc;
    }
    ua->reg_sent_zero = expires == 0;
    return ua_request(ua, now, ua->cfg.transport, m, &ua->cfg.outbound_proxy, &ua->reg_id);
}

int floe_sip_ua_register(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua) return FLOE_ERR_INVAL;
    if (ua->cfg.outbound_proxy.family == FLOE_AF_NONE) return FLOE_ERR_STATE;
    if (!ua->reg_call_id[0]) {
        char id[40];
        int rc = floe_sip_random_token(ua->cfg.rnd, ua->cfg.rnd_ctx, "", 12, id, sizeof id);
        if (rc == FLOE_OK)
            rc = floe_sip_random_token(ua->cfg.rnd, ua->cfg.rnd_ctx, "", 8, ua->reg_tag,
                                       sizeof ua->reg_tag);
        if (rc != FLOE_OK) return rc;
        size_t a = strlen(id), d = strlen(ua->domain);
        if (a + d + 2 > sizeof ua->reg_call_id) return FLOE_ERR_NOSPACE;
        memcpy(ua->reg_call_id, id, a);
        ua->reg_call_id[a] = '@';
        memcpy(ua->reg_call_id + a + 1, ua->domain, d + 1);
    }
    ua->reg_on = true;
    ua->reg_unregistering = false;
    ua->reg_refresh_at = FLOE_TIME_NEVER;
    if (ua->reg_id) return FLOE_OK; /* one is on its way */
    return send_register(ua, now, false);
}

int floe_sip_ua_unregister(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua || !ua->reg_on) return FLOE_ERR_STATE;
    ua->reg_unregistering = true;
    ua->reg_refresh_at = FLOE_TIME_NEVER;
    if (ua->reg_id) return FLOE_OK; /* the answer to the one in flight sends it */
    return send_register(ua, now, false);
}

bool floe_sip_ua_registered(const floe_sip_ua *ua, floe_time_ns now) {
    return ua && ua->reg_expires_at != FLOE_TIME_NEVER && now < ua->reg_expires_at;
}

/* The time the registrar granted: our Contact's expires parameter, else Expires. */
static uint32_t granted(const floe_sip_ua *ua, const floe_sip_msg *r, uint32_t asked) {
    floe_sip_iter it = {0};
    floe_sip_addr a;
    while (floe_sip_msg_next_addr(r, FLOE_SIP_H_CONTACT, &it, &a) == FLOE_OK)
        if (a.expires >= 0 && a.uri.p && ua->contact[0] && a.uri.len + 2 == strlen(ua->contact) &&
            memcmp(a.uri.p, ua->contact + 1, a.uri.len) == 0)
            return (uint32_t)a.expires;
    uint32_t e;
    if (floe_sip_msg_expires(r, FLOE_SIP_H_EXPIRES, &e) == FLOE_OK) return e;
    return asked;
}

bool ua_reg_response(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    if (!ua->reg_id || ev->id != ua->reg_id || ev->kind != FLOE_SIP_TXN_NICT) return false;
    if (ev->status < 200) return true;
    ua->reg_id = 0;
    const floe_sip_msg *r = &ev->msg;
    if ((ev->status == 401 || ev->status == 407) && ua->auth_on &&
        floe_sip_auth_client_challenge(&ua->auth, r) == FLOE_OK) {
        if (send_register(ua, now, true) == FLOE_OK) return true;
    }
    if (ev->status >= 300) {
        ua->reg_on = false;
        ua->reg_expires_at = FLOE_TIME_NEVER;
        reg_event(ua, now, FLOE_SIP_UA_EV_REGISTER_FAILED, ev->status, 0, "rejected");
        return true;
    }
    if (ua->auth_on) floe_sip_auth_client_success(&ua->auth);
    uint32_t asked = ua->cfg.register_expires ? ua->cfg.register_expires : REG_EXPIRES_DEFAULT;
    if (ua->reg_unregistering) {
        if (!ua->reg_sent_zero && send_register(ua, now, false) == FLOE_OK)
            return true; /* unregister was asked while a refresh was in flight */
        ua->reg_on = false;
        ua->reg_expires_at = FLOE_TIME_NEVER;
        reg_event(ua, now, FLOE_SIP_UA_EV_REGISTERED, ev->status, 0, "unregistered");
        return true;
    }
    uint32_t g = granted(ua, r, asked);
    if (g == 0) g = 1;
    ua->reg_expires_at = now + FLOE_S(g);
    ua->reg_refresh_at = now + FLOE_S(g) / 2;
    reg_event(ua, now, FLOE_SIP_UA_EV_REGISTERED, ev->status, g, NULL);
    return true;
}

bool ua_reg_timeout(floe_sip_ua *ua, floe_time_ns now, const floe_sip_txl_event *ev) {
    if (!ua->reg_id || ev->id != ua->reg_id) return false;
    ua->reg_id = 0;
    ua->reg_on = false;
    reg_event(ua, now, FLOE_SIP_UA_EV_REGISTER_FAILED, 0, 0, "timeout");
    return true;
}

void ua_reg_tick(floe_sip_ua *ua, floe_time_ns now) {
    if (!ua->reg_on || ua->reg_id || now < ua->reg_refresh_at) return;
    ua->reg_refresh_at = FLOE_TIME_NEVER;
    if (send_register(ua, now, false) != FLOE_OK)
        reg_event(ua, now, FLOE_SIP_UA_EV_REGISTER_FAILED, 0, 0, "not-sent");
}
