/* subscription.h: signal subscriptions (subscription.c). */
#pragma once

#include "busrpc-internal.h"

/* A connection reconnected: its signal subscriptions move from @old to
 * @dc, their match rules added again. */
void signal_conn_swapped(DBusConnection *old, DBusConnection *dc);
/* A signal a sync call held back (reply.c), delivered now to the
 * subscriptions on @dc, as libdbus would have run their filters. */
void signal_deliver(DBusConnection *dc, DBusMessage *m);
