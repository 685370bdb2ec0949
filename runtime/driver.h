/* driver.h: the org.freedesktop.DBus driver a busrpc_server emulates for
 * its peers (driver.c): Hello, names, match rules, monitors. */
#pragma once

#include "busrpc-internal.h"

#define MAX_MATCH_RULES 256u

bool driver_is_for_driver(DBusMessage *m);
DBusHandlerResult driver_handle(busrpc_conn *peer, DBusMessage *m);
bool driver_match_accepts(busrpc_conn *peer, DBusMessage *m);
void driver_free_matches(busrpc_conn *peer);
