/* driver.h: the org.freedesktop.DBus driver a busrpc_server emulates for
 * its peers (driver.c): Hello, names, match rules, monitors. */
#pragma once

#include "busrpc-internal.h"

#define MAX_MATCH_RULES 256u

bool driver_is_for_driver(DBusMessage *m);
DBusHandlerResult driver_handle(busrpc_conn *peer, DBusMessage *m);
bool driver_match_accepts(busrpc_conn *peer, DBusMessage *m);
/* A message as match rules see it (NULL: absent), for one that is not a
 * DBusMessage (fastcall.c's signals: wirecall engineer, session 4). */
typedef struct MatchMsg {
        int type; /* DBUS_MESSAGE_TYPE_* */
        const char *sender, *interface, *member, *path, *destination;
        const char *arg0; /* the first argument when it is a string */
} MatchMsg;
bool driver_match_accepts_msg(busrpc_conn *peer, const MatchMsg *m);
void driver_free_matches(busrpc_conn *peer);
