/* error-map.h: busrpc_error, D-Bus error names and errno (error.c). */
#pragma once

#include "busrpc-internal.h"

/* Error reply for @call_msg from @e (or Failed when unset). */
DBusMessage *error_to_reply(DBusMessage *call_msg, const busrpc_error *e);
/* Fill @e from a libdbus error (moved; @de is freed). */
void error_from_dbus(busrpc_error *e, DBusError *de);
/* -errno for a D-Bus error name (NoMemory -> -ENOMEM …), @fallback for a
 * name the table (error.c, the one errno <-> name table) does not know. */
int error_name_to_errno(const char *name, int fallback);
/* -errno for a libdbus error met while connecting or listening; -EIO when
 * unknown. */
int error_errno_from_dbus(const DBusError *e);
