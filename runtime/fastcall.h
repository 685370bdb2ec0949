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
 * decoded in place, run, and answered with a header written per reply
 * (the caller's name differs per call on a bus), with every check and
 * limit of the DBusMessage path (signature, fds per call, calls
 * in flight per peer, no-reply flag, sender ":1.0" to a served peer that
 * said Hello, monitors: not covered, the caller converts).
 */
#pragma once

#include "busrpc-internal.h"
#include "wire.h"

/* A fast-path function did nothing: take the DBusMessage path. */
#define FAST_NOT_TAKEN 1

/**
 * fast_dispatch_call() - a method call that arrived on the fast path of
 * @c (a bus, client peer or served conn). @m and @fds as TransportMsgFn.
 * Return: 1 when served here (replied, or the reply deferred by the op);
 * 0 when not covered (no op row, a standard interface, a monitor
 * present...): the caller converts it and dispatches it as before;
 * -errno only when the connection must close.
 */
int fast_dispatch_call(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);


/* ---- the client (invoke.c calls these first) ---- */

/* What an async invocation hands to its completion (invoke.c). */
typedef struct InvokeClosure {
        const busrpc_args *out;
        busrpc_invoke_done_fn done;
        void (*cb)(void);
        void *userdata;
        busrpc_error err;
        void *values; /* the outputs, allocated with the closure; NULL: none */
} InvokeClosure;

/* invoke.c: run @ic's done with @r (and ic->err when @r < 0), release the
 * outputs, free @ic. */
void invoke_closure_complete(InvokeClosure *ic, int r);

/* The templates of one proxy (proxy.c keeps the pointer: proxy.h). */
typedef struct FastProxy FastProxy;
void fast_proxy_free(FastProxy *fp);

/**
 * fast_invoke() - busrpc_proxy_invoke() on the fast path: @out
 * initialised by the caller. Return: FAST_NOT_TAKEN (nothing sent: the
 * conn is not on the fast path or closed, the method has an shm, a
 * variant holds an fd...), else as busrpc_proxy_invoke().
 */
int fast_invoke(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, void *out,
                busrpc_error *err);
/**
 * fast_invoke_async() - busrpc_proxy_invoke_async() on the fast path;
 * @ic completes exactly once (the reply read in place, or @fallback_cb
 * with no reply: deadline, cancel, lost connection). Return:
 * FAST_NOT_TAKEN (@ic untouched), 0, -errno (@ic not used).
 */
int fast_invoke_async(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, InvokeClosure *ic,
                      busrpc_reply_fn fallback_cb, busrpc_pending **ret);

/**
 * fast_emit() - busrpc_object_emit() on the fast path: the signal written
 * from templates cached on @o (per member and descriptor; header checked
 * once) with the body by descriptor, encoded once and queued to every
 * receiver under its own transport's serial: the bus, or each open peer of
 * a server (match rules of a peer that said Hello, SENDER ":1.0" for it,
 * as server_broadcast()). Return: FAST_NOT_TAKEN (nothing sent: not on
 * the fast path, monitors on the server, a peer on libdbus, shm, a
 * variant holding an fd, an invalid name...), else as busrpc_object_emit().
 */
int fast_emit(busrpc_object *o, const char *member, const busrpc_args *args, const void *values);

/* ---- replies of calls served on the fast path (call.c) ---- */

/* Whether @call's replies are written here (false: a monitor must see
 * them, build a DBusMessage). */
bool fast_call_direct(busrpc_call *call);
/**
 * fast_call_return() - reply @values of @out to @call. Return: 0 (also
 * when the caller's link went: nobody to answer), -EOPNOTSUPP (not
 * carried by the wire writer: build a DBusMessage), -EINVAL, -E2BIG,
 * -ENOMEM (not replied: the caller answers with an error).
 */
int fast_call_return(busrpc_call *call, const busrpc_args *out, const void *values);
/* An error reply @name (valid) with @text (UTF-8); @call counts as replied. */
int fast_call_error(busrpc_call *call, const char *name, const char *text);
