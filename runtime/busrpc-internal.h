/* busrpc-internal.h: what every file of the runtime needs and nothing
 * more: libdbus, the public header, the export and argument-check macros,
 * and the well-known names of the D-Bus specification. Never installed;
 * generated code never includes it.
 *
 * The rest is declared by concept, one private header per part, each
 * named after its .c file:
 *   loop.h      the event loop (fds, timers, signals; knows no connection)
 *   dbus-io.h   libdbus watches and timeouts as loop sources
 *   conn.h      connections (bus, client peer, served peer) and the filter
 *   reply.h     the reply table, pending calls, sync waits
 *   name.h      bus names owned        creds.h   caller credentials
 *   registry.h  the object registry    object.h  exported objects
 *   dispatch.h  method calls to objects
 *   property.h  Properties, ObjectManager      introspect.h  Introspect
 *   call.h      a call being served    server.h  the peer server, limits
 *   driver.h    the bus driver a server emulates for its peers
 *   message.h   messages, iterators    variant.h values and their copier
 *   shm.h       shared memory          proxy.h   calling a remote object
 *   subscription.h  signal subscriptions   error-map.h  errors <-> errno
 *   validate.h  names (common/names.h, shared with idlc and the tools) and
 *               signatures, checked before libdbus sees them
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

#define DRIVER_NAME "org.freedesktop.DBus"
#define DRIVER_PATH "/org/freedesktop/DBus"
#define DRIVER_IFACE "org.freedesktop.DBus"
#define IFACE_PROPERTIES "org.freedesktop.DBus.Properties"
#define IFACE_INTROSPECTABLE "org.freedesktop.DBus.Introspectable"
#define IFACE_PEER "org.freedesktop.DBus.Peer"
#define IFACE_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"
