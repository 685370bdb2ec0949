/* busrpc-glib.h: drive a busrpc_loop from a GLib main context.
 *
 * Link with pkg-config busrpc-glib. The adapter is a GSource watching the
 * busrpc loop's epoll fd, with busrpc_loop_get_timeout() as its timeout:
 * every connection, server, timer and signal hook of that busrpc loop is
 * then served while the GMainContext runs (g_main_loop_run() etc.). Like
 * busrpc itself, it is used from the one thread that runs the context.
 * The source does not recurse: a main loop nested inside a busrpc callback
 * serves everything but busrpc until that callback returns (busrpc's own
 * dispatch does not nest either).
 */
#ifndef BUSRPC_GLIB_H
#define BUSRPC_GLIB_H

#include <glib.h>
#include <busrpc/busrpc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct busrpc_glib_source busrpc_glib_source;

/**
 * busrpc_glib_attach() - serve busrpc loop @l from GLib context @ctx.
 * @l: the busrpc loop; the source takes a reference until it is detached.
 * @ctx: the context to attach to; NULL: the global default context.
 * @priority: the GSource priority (G_PRIORITY_DEFAULT is usual).
 * @out: the new source, owned by the caller: busrpc_glib_detach() it.
 *
 * A loop is attached to at most one foreign loop at a time (two would race
 * for its fd). Return: 0, -EINVAL, -ENOMEM.
 */
int busrpc_glib_attach(busrpc_loop *l, GMainContext *ctx, int priority, busrpc_glib_source **out);

/**
 * busrpc_glib_detach() - remove the source from its context and free it,
 * dropping its reference on the busrpc loop. Safe from any callback,
 * including the quit callback and busrpc callbacks run by the source.
 * Accepts NULL. Return: NULL.
 */
busrpc_glib_source *busrpc_glib_detach(busrpc_glib_source *s);

/**
 * busrpc_glib_quit_fn - called from the context when the busrpc loop was
 * asked to quit (busrpc_loop_quit(), a SIGTERM/SIGINT taken by
 * busrpc_loop_handle_signals(), a lost bus without a loss handler: @code is
 * then -ECONNRESET), or when busrpc_loop_process() failed (@code is its
 * -errno). A typical callback calls g_main_loop_quit().
 */
typedef void (*busrpc_glib_quit_fn)(busrpc_glib_source *s, int code, void *userdata);

/**
 * busrpc_glib_set_quit() - set (or with NULL clear) the quit callback.
 * Without one, quit requests are dropped: a GLib program that does not set
 * one does not learn that its bus went away.
 */
void busrpc_glib_set_quit(busrpc_glib_source *s, busrpc_glib_quit_fn cb, void *userdata);

/** busrpc_glib_get_source() - the GSource (borrowed), e.g. for g_source_set_name(). */
GSource *busrpc_glib_get_source(busrpc_glib_source *s);

static inline void busrpc_glib_detachp(busrpc_glib_source **s) {
        busrpc_glib_detach(*s);
}

#ifdef __cplusplus
}
#endif
#endif
