/* subscription.h: signal subscriptions (subscription.c), keyed by their
 * busrpc_conn, on either link (libdbus or the fast path). */
#pragma once

#include "busrpc-internal.h"

/* For conn.c (link-core): the three calls below are the whole seam.
 * Subscriptions are no libdbus filters any more: conn.c hands them every
 * signal itself. */

/* @c reconnected: its subscriptions' match rules go to the new link and
 * the owners of their well-known names are asked again. Call it once the
 * new link is in place (conn_send()/conn_call_sync() on @c use it), after
 * link_gen was bumped. */
void signal_conn_swapped(busrpc_conn *c);
/* @c is being freed (conn_free(), before the link goes): its floating
 * subscriptions are freed (their destroy functions run), the ones with a
 * handle are detached and wait for busrpc_subscription_release(). */
void signal_conn_free(busrpc_conn *c);
/* A signal received on @c (any link; held messages too), given to @c's
 * subscriptions, oldest first, as libdbus ran its filters: conn_filter()
 * / conn_deliver() call it for every incoming signal, after the core's
 * own handling (names, creds). Anything but a signal is ignored. */
void signal_deliver(busrpc_conn *c, DBusMessage *m);
