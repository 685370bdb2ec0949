/* fastcall.h: calls made and served on the fast path without a
 * DBusMessage (fastcall.c; issue 12). Internal.
 *
 * Client: busrpc_proxy_invoke() / _invoke_async() on a conn whose link is
 * a Transport (conn.h: c->tp) build the call from a header template per
 * busrpc_remote_method and proxy (destination, path, interface, member,
 * signature; only the serial changes per call) with the body written by
 * the descriptors (wire_args_write()), queue it with transport_send*(),
 * and read the reply in place with wire_args_read() (reply.h:
 * ReplyWireFn, reply_wait_wire(), reply_register_serial()).
 *
 * Server: a method call read by the transport whose target (registry
 * lookup by path, interface, member) has an op row with descriptors is
 * decoded in place, run, and answered from a reply template, with every
 * check and limit of the DBusMessage path (signature, fds per call, calls
 * in flight per peer, no-reply flag, sender ":1.0" to a served peer that
 * said Hello, monitors: not covered, the caller converts).
 */
#pragma once

#include "busrpc-internal.h"
#include "wire.h"

/**
 * fast_dispatch_call() - a method call that arrived on the fast path of
 * @c (a bus, client peer or served conn). @m and @fds as TransportMsgFn.
 * Return: 1 when served here (replied, or the reply deferred by the op);
 * 0 when not covered (no op row, a standard interface, a monitor
 * present...): the caller converts it and dispatches it as before;
 * -errno only when the connection must close.
 */
int fast_dispatch_call(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);

/* Forget the templates cached for @c (its link was replaced or it goes). */
void fast_conn_forget(busrpc_conn *c);
