/* dispatch.h: method calls to exported objects (dispatch.c). */
#pragma once

#include "busrpc-internal.h"

/* A method call that arrived on @c (a connection or a served peer): to
 * its object's skeleton, or a standard interface, or an error reply. */
DBusHandlerResult object_dispatch(busrpc_conn *c, DBusMessage *m);
/* fds a skeleton would be handed for @m (the 'h' values in its body). */
unsigned msg_count_fds(DBusMessage *m);
