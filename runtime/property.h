/* property.h: org.freedesktop.DBus.Properties and ObjectManager on the
 * serving side (property.c). */
#pragma once

#include "busrpc-internal.h"

DBusMessage *property_dispatch(busrpc_conn *c, busrpc_conn *tree, DBusMessage *m, const char *path,
                               const char *member);
/* Append a{sv} of the readable properties of @o to @it. */
int property_append_all(busrpc_object *o, DBusMessageIter *it, busrpc_error *err);
DBusMessage *object_manager_reply(busrpc_conn *tree, DBusMessage *call, const char *path);
int object_manager_emit(busrpc_object *o, bool added);
/* Send the PropertiesChanged queued for @tree's objects (or for @o) now. */
int property_flush_tree(busrpc_conn *tree);
int property_flush_object(busrpc_object *o);
