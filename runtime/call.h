/* call.h: a method call being served (call.c), from dispatch to reply. */
#pragma once

#include "busrpc-internal.h"

busrpc_call *call_new(busrpc_conn *c, busrpc_object *o, DBusMessage *m, bool no_reply);
void call_finish(busrpc_call *call, int r); /* after the skeleton ran */
bool msg_is_unwanted(DBusMessage *m);
