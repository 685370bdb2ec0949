/* introspect.h: org.freedesktop.DBus.Introspectable (introspect.c). */
#pragma once

#include <stddef.h>
#include "busrpc-internal.h"

typedef struct busrpc_objects Registry; /* registry.h */

DBusMessage *introspect_reply(Registry *reg, DBusMessage *call, const char *path);

/* The standard interfaces introspect_document() may list. */
enum {
        INTROSPECT_PEER = 1 << 0,
        INTROSPECT_INTROSPECTABLE = 1 << 1,
        INTROSPECT_PROPERTIES = 1 << 2,
        INTROSPECT_OBJECT_MANAGER = 1 << 3,
        INTROSPECT_STANDARD = INTROSPECT_PEER | INTROSPECT_INTROSPECTABLE | INTROSPECT_PROPERTIES,
};
/* The one writer of introspection XML: a node with the @standard
 * interfaces, @ifaces (each descriptor's xml, or an element written from
 * its tables) and @children. malloc()ed; NULL: out of memory. */
char *introspect_document(unsigned standard, const busrpc_interface_desc *const *ifaces, size_t n_ifaces,
                          char *const *children, size_t n_children);
/* The reply to Introspect @call carrying @xml (consumed; NULL: out of
 * memory, an error reply). */
DBusMessage *introspect_reply_xml(DBusMessage *call, char *xml);
char **tree_children(Registry *reg, const char *path, size_t *ret_n); /* free with strv_free */
void strv_free(char **v, size_t n);
