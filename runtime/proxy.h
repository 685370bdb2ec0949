/* proxy.h: calling a remote object (proxy.c; async calls in pending.c). */
#pragma once

#include "busrpc-internal.h"
#include "fastcall.h"

/* The proxy's fast-path call templates (fastcall.c owns them). */
FastProxy **proxy_fast_slot(busrpc_proxy *p);

/* The timeout of the next call (the one-shot override is consumed). */
int proxy_take_timeout(busrpc_proxy *p);
/* Checks of a call message about to be sent on the proxy's conn (open,
 * fds only where they can pass); consumes @m on failure. For pending.c
 * (link-core): no DBusConnection comes back any more; send on
 * busrpc_proxy_get_conn(p). */
int proxy_send_prepare(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, busrpc_error *err);
/* Map a failed call's libdbus error to -errno + @err; @c (may be NULL):
 * the conn the call went out on, whose loss turns NoReply into
 * -ECONNRESET. */
int call_error(busrpc_conn *c, DBusError *de, busrpc_error *err);
/* Check a reply received on @c (may be NULL): error replies become
 * -errno + @err, and the signature must be @expected_sig (NULL: any). */
int reply_check(busrpc_conn *c, DBusMessage *reply, const char *expected_sig, busrpc_error *err);
