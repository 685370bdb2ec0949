/* busrpc-sd-event.h: drive a busrpc_loop from an sd-event loop.
 *
 * Link with pkg-config busrpc-sd-event. The adapter is an io source on the
 * busrpc loop's epoll fd plus a one-shot CLOCK_MONOTONIC time source for
 * busrpc_loop_get_timeout(), re-armed before each sd-event iteration (a
 * prepare callback), so timers and queued messages added from any
 * callback are seen. Like busrpc itself, it is used from the one thread
 * that runs the sd_event.
 */
#ifndef BUSRPC_SD_EVENT_H
#define BUSRPC_SD_EVENT_H

#include <systemd/sd-event.h>
#include <busrpc/busrpc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct busrpc_sd_event busrpc_sd_event;

/**
 * busrpc_sd_event_attach() - serve busrpc loop @l from sd-event loop @e.
 * @l: the busrpc loop; referenced until detached.
 * @e: the sd-event loop; referenced until detached.
 * @priority: the priority of both sources (SD_EVENT_PRIORITY_NORMAL is usual).
 * @out: the new adapter, owned by the caller: busrpc_sd_event_detach() it.
 *
 * A loop is attached to at most one foreign loop at a time.
 * Return: 0, -EINVAL, -ENOMEM, or an -errno of sd-event.
 */
int busrpc_sd_event_attach(busrpc_loop *l, sd_event *e, int64_t priority, busrpc_sd_event **out);

/**
 * busrpc_sd_event_detach() - remove both sources and free the adapter,
 * dropping its references. Safe from any callback. Accepts NULL.
 * Return: NULL.
 */
busrpc_sd_event *busrpc_sd_event_detach(busrpc_sd_event *a);

/**
 * busrpc_sd_event_quit_fn - called from the sd-event loop when the busrpc
 * loop was asked to quit (busrpc_loop_quit(), SIGTERM/SIGINT taken by
 * busrpc_loop_handle_signals(), a lost bus: -ECONNRESET) or when
 * busrpc_loop_process() failed (@code is its -errno).
 */
typedef void (*busrpc_sd_event_quit_fn)(busrpc_sd_event *a, int code, void *userdata);

/**
 * busrpc_sd_event_set_quit() - set the quit callback. Without one (the
 * default, or after setting NULL) a quit request calls sd_event_exit(e,
 * code): sd_event_loop() returns the code.
 */
void busrpc_sd_event_set_quit(busrpc_sd_event *a, busrpc_sd_event_quit_fn cb, void *userdata);

static inline void busrpc_sd_event_detachp(busrpc_sd_event **a) {
        busrpc_sd_event_detach(*a);
}

#ifdef __cplusplus
}
#endif
#endif
