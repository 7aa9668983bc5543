/* The retransmission schedule the UA core owns: the UAS's 2xx until its ACK (RFC 3261
 * §13.3.1.4: T1 doubling to T2) and reliable provisional responses until their PRACK
 * (RFC 3262 §3: T1 doubling), both given up 64*T1 after the first send. */
#include <string.h>

#include "floe/sip_dialog.h"

void floe_sip_retx_start(floe_sip_retx *r, floe_time_ns now, floe_time_ns t1, floe_time_ns cap) {
    memset(r, 0, sizeof *r);
    if (t1 == 0) t1 = FLOE_SIP_T1;
    r->active = true;
    r->next = now + t1;
    r->gap = cap && 2 * t1 > cap ? cap : 2 * t1;
    r->cap = cap;
    r->give_up = now + 64 * t1;
}

void floe_sip_retx_stop(floe_sip_retx *r) {
    r->active = false;
}

floe_sip_retx_action floe_sip_retx_tick(floe_sip_retx *r, floe_time_ns now) {
    if (!r->active) return FLOE_SIP_RETX_NONE;
    if (r->give_up <= r->next && now >= r->give_up) {
        r->active = false;
        return FLOE_SIP_RETX_GIVE_UP;
    }
    if (now < r->next) return FLOE_SIP_RETX_NONE;
    r->sends++;
    r->next += r->gap;
    r->gap = r->cap && 2 * r->gap > r->cap ? r->cap : 2 * r->gap;
    return FLOE_SIP_RETX_SEND;
}

floe_time_ns floe_sip_retx_deadline(const floe_sip_retx *r) {
    if (!r->active) return FLOE_TIME_NEVER;
    return r->next < r->give_up ? r->next : r->give_up;
}
