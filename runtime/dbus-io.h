/* dbus-io.h: libdbus's watches and timeouts as sources of a busrpc_loop
 * (dbus-io.c), through the loop's own API like any user's. libdbus makes
 * a read and a write watch per socket and epoll takes one registration per
 * fd: the watches of one fd share one io source. */
#pragma once

#include "loop.h"

typedef struct DBusIo DBusIo;

/* Serve @dc's watches and timeouts from @l. Undo with dbus_io_detach_conn(). */
int dbus_io_attach_conn(DBusConnection *dc, busrpc_loop *l, DBusIo **ret);
void dbus_io_detach_conn(DBusConnection *dc, DBusIo *io);
/* A DBusServer's timeouts (its listening watches are the server's own). */
int dbus_io_attach_server(DBusServer *ds, busrpc_loop *l, DBusIo **ret);
void dbus_io_detach_server(DBusServer *ds, DBusIo *io);
