/* test-loops-detach.c: the adapters' life cycle, under valgrind from
 * tests/test-loops.sh: bad arguments, attach then detach without running,
 * a detach from a busrpc callback while the adapter dispatches (the
 * foreign loop goes on, busrpc is no longer driven), and attaching the
 * same busrpc loop again afterwards. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <busrpc/busrpc-glib.h>
#include <busrpc/busrpc-libuv.h>
#include <busrpc/busrpc-sd-event.h>
#include <dbus/dbus.h>
#include "tap.h"

/* What the busrpc timers saw; which adapter the first one detaches. */
static int fired_first, fired_second;
static busrpc_glib_source *glib_src;
static busrpc_sd_event *sd_adapter;
static busrpc_uv *uv_adapter;
static busrpc_source *second;

static int second_timer(busrpc_source *s, void *userdata);

static int first_timer(busrpc_source *s, void *userdata) {
        fired_first++;
        /* Due long before the foreign loop stops (400 ms), never dispatched. */
        busrpc_loop_add_timer(userdata, 50000, false, second_timer, NULL, &second);
        /* From inside busrpc_loop_process(), called by the adapter. */
        glib_src = busrpc_glib_detach(glib_src);
        sd_adapter = busrpc_sd_event_detach(sd_adapter);
        uv_adapter = busrpc_uv_detach(uv_adapter);
        return 0;
}

static int second_timer(busrpc_source *s, void *userdata) {
        fired_second++;
        return 0;
}

static int quit_timer(busrpc_source *s, void *userdata) {
        busrpc_loop_quit(userdata, 0);
        return 0;
}

static void add_timers(busrpc_loop *l, busrpc_source **t) {
        fired_first = fired_second = 0;
        busrpc_loop_add_timer(l, 20000, false, first_timer, l, &t[0]);
}

static gboolean glib_stop(gpointer main) {
        g_main_loop_quit(main);
        return G_SOURCE_REMOVE;
}

static void glib_quit(busrpc_glib_source *s, int code, void *main) {
        g_main_loop_quit(main);
}

static void test_glib(void) {
        GMainLoop *main = g_main_loop_new(NULL, FALSE);
        busrpc_source *t[3];
        busrpc_loop *l;

        busrpc_loop_new(&l);
        is_int(busrpc_glib_attach(NULL, NULL, 0, &glib_src), -EINVAL, "attach(NULL loop)");
        is_int(busrpc_glib_attach(l, NULL, 0, NULL), -EINVAL, "attach(NULL ret)");
        ok(busrpc_glib_detach(NULL) == NULL, "detach(NULL)");
        is_int(busrpc_glib_attach(l, NULL, G_PRIORITY_DEFAULT, &glib_src), 0, "attach");
        ok(busrpc_glib_get_source(glib_src) != NULL, "the GSource");
        glib_src = busrpc_glib_detach(glib_src);
        ok(glib_src == NULL, "detach without ever running");

        busrpc_glib_attach(l, NULL, G_PRIORITY_DEFAULT, &glib_src);
        add_timers(l, t);
        g_timeout_add(400, glib_stop, main);
        g_main_loop_run(main);
        is_int(fired_first, 1, "the first busrpc timer fired and detached the adapter");
        is_int(fired_second, 0, "after that, busrpc is no longer driven by GLib");

        is_int(busrpc_glib_attach(l, NULL, G_PRIORITY_DEFAULT, &glib_src), 0, "attach the same loop again");
        busrpc_glib_set_quit(glib_src, glib_quit, main);
        busrpc_loop_add_timer(l, 1000, false, quit_timer, l, &t[2]);
        g_main_loop_run(main);
        is_int(fired_second, 1, "the pending busrpc timer fires once re-attached");
        busrpc_source_release(t[0]);
        busrpc_source_release(t[2]);
        second = busrpc_source_release(second);
        glib_src = busrpc_glib_detach(glib_src);
        busrpc_loop_unref(l);
        g_main_loop_unref(main);
}

static int sd_stop(sd_event_source *s, uint64_t usec, void *e) {
        return sd_event_exit(e, 7);
}

static void test_sd_event(void) {
        sd_event *e;
        sd_event_source *stop;
        busrpc_source *t[3];
        busrpc_loop *l;
        uint64_t now;

        busrpc_loop_new(&l);
        sd_event_new(&e);
        is_int(busrpc_sd_event_attach(NULL, e, 0, &sd_adapter), -EINVAL, "attach(NULL loop)");
        is_int(busrpc_sd_event_attach(l, NULL, 0, &sd_adapter), -EINVAL, "attach(NULL event)");
        ok(busrpc_sd_event_detach(NULL) == NULL, "detach(NULL)");
        is_int(busrpc_sd_event_attach(l, e, 0, &sd_adapter), 0, "attach");
        sd_adapter = busrpc_sd_event_detach(sd_adapter);
        ok(sd_adapter == NULL, "detach without ever running");

        busrpc_sd_event_attach(l, e, 0, &sd_adapter);
        add_timers(l, t);
        sd_event_now(e, CLOCK_MONOTONIC, &now);
        sd_event_add_time(e, &stop, CLOCK_MONOTONIC, now + 400000, 1, sd_stop, e);
        is_int(sd_event_loop(e), 7, "sd-event ran on to its own exit");
        is_int(fired_first, 1, "the first busrpc timer fired and detached the adapter");
        is_int(fired_second, 0, "after that, busrpc is no longer driven by sd-event");
        sd_event_source_unref(stop);
        sd_event_unref(e);

        /* Another sd_event: the default quit handling is sd_event_exit(code). */
        sd_event_new(&e);
        is_int(busrpc_sd_event_attach(l, e, 0, &sd_adapter), 0, "attach the same loop to another sd_event");
        busrpc_loop_add_timer(l, 1000, false, quit_timer, l, &t[2]);
        is_int(sd_event_loop(e), 0, "busrpc_loop_quit(0) ended sd_event_loop() with 0");
        is_int(fired_second, 1, "the pending busrpc timer fired once re-attached");
        busrpc_source_release(t[0]);
        busrpc_source_release(t[2]);
        second = busrpc_source_release(second);
        sd_adapter = busrpc_sd_event_detach(sd_adapter);
        sd_event_unref(e);
        busrpc_loop_unref(l);
}

static void uv_stop_cb(uv_timer_t *t) {
        uv_stop(t->loop);
}

static void test_libuv(void) {
        uv_loop_t uv;
        uv_timer_t stop;
        busrpc_source *t[3];
        busrpc_loop *l;

        busrpc_loop_new(&l);
        uv_loop_init(&uv);
        is_int(busrpc_uv_attach(NULL, &uv, &uv_adapter), -EINVAL, "attach(NULL loop)");
        is_int(busrpc_uv_attach(l, NULL, &uv_adapter), -EINVAL, "attach(NULL uv loop)");
        ok(busrpc_uv_detach(NULL) == NULL, "detach(NULL)");
        is_int(busrpc_uv_attach(l, &uv, &uv_adapter), 0, "attach");
        uv_adapter = busrpc_uv_detach(uv_adapter);
        is_int(uv_run(&uv, UV_RUN_DEFAULT), 0, "detached: the closing handles end uv_run()");

        busrpc_uv_attach(l, &uv, &uv_adapter);
        add_timers(l, t);
        uv_timer_init(&uv, &stop);
        uv_timer_start(&stop, uv_stop_cb, 400, 0);
        uv_run(&uv, UV_RUN_DEFAULT);
        is_int(fired_first, 1, "the first busrpc timer fired and detached the adapter");
        is_int(fired_second, 0, "after that, busrpc is no longer driven by libuv");
        uv_close((uv_handle_t *)&stop, NULL);
        uv_run(&uv, UV_RUN_DEFAULT);

        is_int(busrpc_uv_attach(l, &uv, &uv_adapter), 0, "attach the same loop again");
        busrpc_loop_add_timer(l, 1000, false, quit_timer, l, &t[2]);
        uv_run(&uv, UV_RUN_DEFAULT); /* the default quit handling: uv_stop() */
        is_int(fired_second, 1, "the pending busrpc timer fired once re-attached");
        busrpc_source_release(t[0]);
        busrpc_source_release(t[2]);
        second = busrpc_source_release(second);
        uv_adapter = busrpc_uv_detach(uv_adapter);
        uv_run(&uv, UV_RUN_DEFAULT);
        is_int(uv_loop_close(&uv), 0, "every handle closed: uv_loop_close() succeeds");
        busrpc_loop_unref(l);
}

int main(void) {
        TAP_RUN(test_glib);
        TAP_RUN(test_sd_event);
        TAP_RUN(test_libuv);
        dbus_shutdown();
        return tap_done();
}
