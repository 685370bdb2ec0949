/* error-map.h: busrpc_error, D-Bus error names and errno (error.c). */
#pragma once

#include "busrpc-internal.h"

/* Error reply for @call_msg from @e (or Failed when unset). */
DBusMessage *error_to_reply(DBusMessage *call_msg, const busrpc_error *e);
/* Fill @e from a libdbus error (moved; @de is freed). */
void error_from_dbus(busrpc_error *e, DBusError *de);
/* -errno for a libdbus error name (NoMemory -> -ENOMEM …), -EREMOTEIO else. */
int error_name_to_errno(const char *name);
/* -errno for a libdbus error met while connecting or listening. */
int conn_errno_from_dbus(const DBusError *e);
