/* busrpc-internal.h: declarations shared across the runtime's parts.
 * Never installed; generated code never includes it.
 *
 * Two parts meet here:
 *  - the core (loop.c conn.c server.c driver.c object.c introspect.c
 *    property.c call.c name.c creds.c): connections, the loop, serving;
 *  - the data layer (message.c variant.c shm.c error.c proxy.c signal.c):
 *    messages, iterators, values, calling.
 * Each part keeps its own private header (core.h, data.h) for the rest.
 */
#pragma once

#include <dbus/dbus.h>
#include <errno.h>
#include "busrpc/busrpc.h"

#define BUSRPC_EXPORT __attribute__((visibility("default")))

/* Argument checks at the door: return -EINVAL (or the given value), never abort. */
#define return_if_fail(expr, r)                                                                    \
        do {                                                                                       \
                if (__builtin_expect(!(expr), 0))                                                  \
                        return (r);                                                                \
        } while (0)

/* ---- provided by the core, used by the data layer ---- */

/* The libdbus connection of a bus or peer connection; NULL for a
 * server's all-peers handle (busrpc_server_conn()). Borrowed. */
DBusConnection *conn_get_dbus(busrpc_conn *c);
/* Send @m (borrowed) on @c. On a server's all-peers handle a signal goes to
 * every peer whose match rules accept it. */
int conn_send(busrpc_conn *c, DBusMessage *m);
/* True for a peer-to-peer connection (no bus driver). */
bool conn_is_peer(busrpc_conn *c);

/* ---- provided by the data layer, used by the core ---- */

/* A connection reconnected: its signal subscriptions move from @old to
 * @dc, their match rules added again. */
void signal_conn_swapped(DBusConnection *old, DBusConnection *dc);

/* A signal a sync call held back (reply.c), delivered now to the
 * subscriptions on @dc, as libdbus would have run their filters. */
void signal_deliver(DBusConnection *dc, DBusMessage *m);

/* Wrap @m (a new reference is taken) as a message that busrpc_msg_send()
 * sends on @c. */
busrpc_msg *msg_new(DBusMessage *m, busrpc_conn *c);
DBusMessage *msg_get_dbus(busrpc_msg *m); /* borrowed */
/* Point @it at @m's arguments for reading / appending. */
void iter_init_read(busrpc_iter *it, DBusMessage *m);
void iter_init_append(busrpc_iter *it, DBusMessage *m);
/* iter_init_read() for a message received on @c: a shm read from it is
 * bounded by busrpc_conn_get_max_shm_size(@c) (without @c: the default). */
void iter_init_read_conn(busrpc_iter *it, DBusMessage *m, busrpc_conn *c);
/* Error reply for @call_msg from @e (or Failed when unset). */
DBusMessage *error_to_reply(DBusMessage *call_msg, const busrpc_error *e);
/* Fill @e from a libdbus error (moved; @de is freed). */
void error_from_dbus(busrpc_error *e, DBusError *de);
/* Validation of values from callers before libdbus sees them. */
bool valid_utf8(const char *s);
bool valid_object_path(const char *s);
bool valid_signature(const char *s);
bool valid_interface_name(const char *s);
bool valid_member_name(const char *s);
bool valid_bus_name(const char *s);
