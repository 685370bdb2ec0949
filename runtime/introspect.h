/* introspect.h: org.freedesktop.DBus.Introspectable (introspect.c). */
#pragma once

#include <stddef.h>
#include "busrpc-internal.h"

DBusMessage *introspect_reply(busrpc_conn *tree, DBusMessage *call, const char *path);
char **tree_children(busrpc_conn *tree, const char *path, size_t *ret_n); /* free with strv_free */
void strv_free(char **v, size_t n);
