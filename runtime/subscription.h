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

/* For watch.c and om-client.c. */
/* busrpc_proxy_subscribe() with an arg0 match (a string first argument
 * equal to @arg0, in the rule the bus applies and checked here again);
 * NULL: none. Identical rules of one conn go to the bus once (counted). */
int subscription_new(busrpc_proxy *p, const char *iface, const char *member, const char *sig,
                     const char *arg0, busrpc_signal_fn cb, void *userdata, busrpc_destroy_fn destroy,
                     busrpc_subscription **ret);
/* @fn(userdata) runs once @s's conn is on a new link (reconnection), its
 * rules and followed owners redone: for state read from the old link. */
void subscription_on_relink(busrpc_subscription *s, void (*fn)(void *userdata));
/* GetNameOwner of @name on @c, waited for: 0 and *@ret (NULL: nobody). */
int signal_name_owner(busrpc_conn *c, const char *name, char **ret);
