/* property.h: org.freedesktop.DBus.Properties and ObjectManager on the
 * serving side (property.c). */
#pragma once

#include "busrpc-internal.h"

typedef struct busrpc_objects Registry; /* registry.h */

/* A Properties call from @c to an object of @reg. */
DBusMessage *property_dispatch(busrpc_conn *c, Registry *reg, DBusMessage *m, const char *path,
                               const char *member);
/* Append a{sv} of the readable properties of @o to @it. */
int property_append_all(busrpc_object *o, DBusMessageIter *it, busrpc_error *err);
DBusMessage *object_manager_reply(Registry *reg, DBusMessage *call, const char *path);
int object_manager_emit(busrpc_object *o, bool added);
/* Send the PropertiesChanged queued for @reg's objects (or for @o) now. */
int property_flush_reg(Registry *reg);
int property_flush_object(busrpc_object *o);
