/* busrpc-libuv.h: drive a busrpc_loop from a libuv loop.
 *
 * Link with pkg-config busrpc-libuv. The adapter is a uv_poll_t on the
 * busrpc loop's epoll fd and a uv_timer_t for busrpc_loop_get_timeout(),
 * re-armed by a uv_prepare_t before each libuv iteration, so timers and
 * queued messages added from any callback are seen. Like busrpc itself,
 * it is used from the one thread that runs the uv_loop_t. <uv.h> needs
 * POSIX declarations: with -std=c11, define _POSIX_C_SOURCE 200809L (or
 * _GNU_SOURCE) before including this header.
 */
#ifndef BUSRPC_LIBUV_H
#define BUSRPC_LIBUV_H

#include <uv.h>
#include <busrpc/busrpc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct busrpc_uv busrpc_uv;

/**
 * busrpc_uv_attach() - serve busrpc loop @l from libuv loop @loop.
 * @l: the busrpc loop; referenced until the adapter is freed.
 * @loop: the libuv loop (borrowed: it must outlive the adapter).
 * @out: the new adapter, owned by the caller: busrpc_uv_detach() it.
 *
 * The adapter's handles are active, so uv_run(UV_RUN_DEFAULT) keeps
 * running while it is attached, as for any server. A loop is attached to
 * at most one foreign loop at a time.
 * Return: 0, -EINVAL, -ENOMEM, or a libuv error (a -errno on Linux).
 */
int busrpc_uv_attach(busrpc_loop *l, uv_loop_t *loop, busrpc_uv **out);

/**
 * busrpc_uv_detach() - stop serving and close the adapter's handles. libuv
 * closes handles asynchronously: the memory (and the reference on the
 * busrpc loop) is released by the next iteration of @loop, so run it once
 * more (uv_run() until it returns, or UV_RUN_NOWAIT) before
 * uv_loop_close(). Safe from any callback. Accepts NULL. Return: NULL.
 */
busrpc_uv *busrpc_uv_detach(busrpc_uv *a);

/**
 * busrpc_uv_quit_fn - called from the libuv loop when the busrpc loop was
 * asked to quit (busrpc_loop_quit(), SIGTERM/SIGINT taken by
 * busrpc_loop_handle_signals(), a lost bus: -ECONNRESET) or when
 * busrpc_loop_process() failed (@code is its -errno).
 */
typedef void (*busrpc_uv_quit_fn)(busrpc_uv *a, int code, void *userdata);

/**
 * busrpc_uv_set_quit() - set the quit callback. Without one (the default,
 * or after setting NULL) a quit request calls uv_stop(): uv_run() returns.
 */
void busrpc_uv_set_quit(busrpc_uv *a, busrpc_uv_quit_fn cb, void *userdata);

static inline void busrpc_uv_detachp(busrpc_uv **a) {
        busrpc_uv_detach(*a);
}

#ifdef __cplusplus
}
#endif
#endif
