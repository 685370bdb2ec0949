/* libuv.c: libbusrpc-libuv, drives a busrpc_loop from a libuv loop.
 *
 * A uv_poll_t on the busrpc loop's epoll fd, and a uv_timer_t for what
 * that fd does not show (busrpc timers, libdbus call timeouts, messages
 * queued for dispatch: busrpc_loop_get_timeout()). A uv_prepare_t, which
 * libuv runs before every poll, re-arms the timer, so a timer or message
 * added from any callback of the loop is seen. Handles close
 * asynchronously: the adapter is freed by the last close callback. Only
 * the public busrpc API is used.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "busrpc/busrpc-libuv.h"

#define EXPORT __attribute__((visibility("default")))

struct busrpc_uv {
        uv_poll_t poll;
        uv_timer_t timer;
        uv_prepare_t prepare;
        uv_loop_t *uv;
        busrpc_loop *loop;
        busrpc_uv_quit_fn quit_cb;
        void *quit_userdata;
        int open_handles; /* freed when the last close callback ran */
        bool detached;
};

static void on_close(uv_handle_t *h) {
        busrpc_uv *a = h->data;

        if (--a->open_handles > 0)
                return;
        busrpc_loop_unref(a->loop);
        free(a);
}

static void process(busrpc_uv *a) {
        int r, code = 0;

        /* A busrpc callback may detach us: the handles are then closing, and
         * a is freed by their close callbacks, after this returns. */
        r = busrpc_loop_process(a->loop);
        if (a->detached)
                return;
        if (r < 0)
                code = r;
        else if (busrpc_loop_take_quit(a->loop, &code) <= 0)
                return;
        if (a->quit_cb)
                a->quit_cb(a, code, a->quit_userdata);
        else
                uv_stop(a->uv);
}

static void on_poll(uv_poll_t *h, int status, int events) {
        process(h->data);
}

static void on_timer(uv_timer_t *h) {
        process(h->data);
}

static void on_prepare(uv_prepare_t *h) {
        busrpc_uv *a = h->data;
        uint64_t usec = BUSRPC_TIMEOUT_INFINITE;

        (void)busrpc_loop_get_timeout(a->loop, &usec);
        if (usec == BUSRPC_TIMEOUT_INFINITE) {
                uv_timer_stop(&a->timer);
                return;
        }
        /* libuv's clock is cached at the start of the iteration: refresh it,
         * or the timer would fire early by the time the callbacks took. */
        uv_update_time(a->uv);
        uv_timer_start(&a->timer, on_timer, (uint64_t)busrpc_usec_to_poll_ms(usec), 0);
}

EXPORT int busrpc_uv_attach(busrpc_loop *l, uv_loop_t *loop, busrpc_uv **out) {
        busrpc_uv *a;
        int fd, r;

        if (!l || !loop || !out)
                return -EINVAL;
        fd = busrpc_loop_get_fd(l);
        if (fd < 0)
                return fd;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->uv = loop;
        a->loop = busrpc_loop_ref(l);
        r = uv_poll_init(loop, &a->poll, fd);
        if (r < 0) {
                busrpc_loop_unref(a->loop);
                free(a);
                return r;
        }
        /* From here every handle is initialized: close them all to free. */
        uv_timer_init(loop, &a->timer);
        uv_prepare_init(loop, &a->prepare);
        a->poll.data = a->timer.data = a->prepare.data = a;
        a->open_handles = 3;
        r = uv_poll_start(&a->poll, (busrpc_loop_get_events(l) & EPOLLIN) ? UV_READABLE : 0, on_poll);
        if (r >= 0)
                r = uv_prepare_start(&a->prepare, on_prepare);
        if (r < 0) {
                busrpc_uv_detach(a);
                return r;
        }
        *out = a;
        return 0;
}

EXPORT busrpc_uv *busrpc_uv_detach(busrpc_uv *a) {
        if (!a || a->detached)
                return NULL;
        a->detached = true;
        uv_close((uv_handle_t *)&a->poll, on_close);
        uv_close((uv_handle_t *)&a->timer, on_close);
        uv_close((uv_handle_t *)&a->prepare, on_close);
        return NULL;
}

EXPORT void busrpc_uv_set_quit(busrpc_uv *a, busrpc_uv_quit_fn cb, void *userdata) {
        if (!a)
                return;
        a->quit_cb = cb;
        a->quit_userdata = userdata;
}
