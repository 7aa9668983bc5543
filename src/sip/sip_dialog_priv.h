/* Private to the SIP dialog files: the dialog's own text store. */
#ifndef FLOE_SIP_DIALOG_PRIV_H
#define FLOE_SIP_DIALOG_PRIV_H

#include "floe/sip_dialog.h"

/* Copies s into d's text (compacting it first when needed); FLOE_ERR_LIMIT when full. */
int sip_dialog_put(floe_sip_dialog *d, floe_sip_str s, floe_sip_dtext *out);
/* The URI inside an address value (name-addr or addr-spec); false when it has none. */
bool sip_dialog_addr_uri(floe_sip_str value, floe_sip_str *uri);
/* Route set from the Record-Route values of m, reversed for a UAC. */
int sip_dialog_set_routes(floe_sip_dialog *d, const floe_sip_msg *m, bool reverse);
/* The first Contact URI of m. */
int sip_dialog_contact(const floe_sip_msg *m, floe_sip_str *uri);

#endif
