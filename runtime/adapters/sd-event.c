/* sd-event.c: libbusrpc-sd-event, drives a busrpc_loop from sd-event.
 *
 * An io source on the busrpc loop's epoll fd, and a one-shot time source
 * for what that fd does not show (busrpc timers, libdbus call timeouts,
 * messages queued for dispatch: busrpc_loop_get_timeout()). The io
 * source's prepare callback, which sd-event runs before every wait,
 * re-arms the time source, so a timer or message added from any callback
 * of the loop is seen. Only the public busrpc API is used.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "busrpc/busrpc-sd-event.h"

#define EXPORT __attribute__((visibility("default")))

struct busrpc_sd_event {
        busrpc_loop *loop;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer;
        busrpc_sd_event_quit_fn quit_cb;
        void *quit_userdata;
        bool dispatching; /* in busrpc_loop_process(): detach defers the free */
        bool detached;
};

static void adapter_free(busrpc_sd_event *a) {
        sd_event_source_disable_unref(a->io);
        sd_event_source_disable_unref(a->timer);
        sd_event_unref(a->event);
        busrpc_loop_unref(a->loop);
        free(a);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int arm_timer(busrpc_sd_event *a) {
        uint64_t usec = BUSRPC_TIMEOUT_INFINITE, now;
        int r;

        (void)busrpc_loop_get_timeout(a->loop, &usec);
        if (usec == BUSRPC_TIMEOUT_INFINITE)
                return sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
        now = now_usec();
        /* sd-event's own "infinity" is UINT64_MAX: stay below it. */
        r = sd_event_source_set_time(a->timer, usec < UINT64_MAX - 1 - now ? now + usec : UINT64_MAX - 1);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
}

static int on_prepare(sd_event_source *src, void *userdata) {
        return arm_timer(userdata);
}

static int process(busrpc_sd_event *a) {
        int r, code = 0;

        a->dispatching = true;
        r = busrpc_loop_process(a->loop);
        a->dispatching = false;
        if (a->detached) {
                adapter_free(a);
                return 0;
        }
        if (r < 0)
                code = r;
        else if (busrpc_loop_take_quit(a->loop, &code) <= 0)
                return 0;
        if (a->quit_cb)
                a->quit_cb(a, code, a->quit_userdata);
        else
                sd_event_exit(a->event, code);
        return 0;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        return process(userdata);
}

static int on_time(sd_event_source *src, uint64_t usec, void *userdata) {
        return process(userdata);
}

EXPORT int busrpc_sd_event_attach(busrpc_loop *l, sd_event *e, int64_t priority, busrpc_sd_event **out) {
        busrpc_sd_event *a;
        int fd, r;

        if (!l || !e || !out)
                return -EINVAL;
        fd = busrpc_loop_get_fd(l);
        if (fd < 0)
                return fd;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->loop = busrpc_loop_ref(l);
        a->event = sd_event_ref(e);
        /* busrpc_loop_get_events() is EPOLL* flags, what sd-event takes. */
        r = sd_event_add_io(e, &a->io, fd, (uint32_t)busrpc_loop_get_events(l), on_io, a);
        if (r < 0)
                goto fail;
        /* Accuracy 1 us: sd-event would otherwise delay a call timeout by up to 250 ms. */
        r = sd_event_add_time(e, &a->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_time, a);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_prepare(a->io, on_prepare);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_priority(a->io, priority);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_priority(a->timer, priority);
        if (r < 0)
                goto fail;
        (void)sd_event_source_set_description(a->io, "busrpc-io");
        (void)sd_event_source_set_description(a->timer, "busrpc-timer");
        r = arm_timer(a);
        if (r < 0)
                goto fail;
        *out = a;
        return 0;
fail:
        adapter_free(a);
        return r;
}

EXPORT busrpc_sd_event *busrpc_sd_event_detach(busrpc_sd_event *a) {
        if (!a)
                return NULL;
        if (a->dispatching) {
                /* From a busrpc callback: process() frees it on the way out. */
                a->detached = true;
                sd_event_source_set_enabled(a->io, SD_EVENT_OFF);
                sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
                return NULL;
        }
        adapter_free(a);
        return NULL;
}

EXPORT void busrpc_sd_event_set_quit(busrpc_sd_event *a, busrpc_sd_event_quit_fn cb, void *userdata) {
        if (!a)
                return;
        a->quit_cb = cb;
        a->quit_userdata = userdata;
}
