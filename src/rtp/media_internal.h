/* Shared by the media session's files (media.c, media_tx.c, media_rx.c). */
#ifndef FLOE_MEDIA_INTERNAL_H
#define FLOE_MEDIA_INTERNAL_H

#include "floe/media.h"

/* Sets m->next_rtcp from now by the A.7 interval for the current state. */
void media_schedule_rtcp(floe_media *m, floe_time_ns now);

#endif
