/* proxy.h: calling a remote object (proxy.c; async calls in pending.c). */
#pragma once

#include "busrpc-internal.h"

/* The timeout of the next call (the one-shot override is consumed). */
int proxy_take_timeout(busrpc_proxy *p);
/* Checks of a call message about to be sent; consumes @m on failure. */
int proxy_send_prepare(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, DBusConnection **ret_dc,
                       busrpc_error *err);
/* Map a failed call's libdbus error to -errno + @err. */
int call_error(DBusConnection *dc, DBusError *de, busrpc_error *err);
/* Check a reply: error replies and signatures. */
int reply_check(DBusConnection *dc, DBusMessage *reply, const char *expected_sig, busrpc_error *err);
