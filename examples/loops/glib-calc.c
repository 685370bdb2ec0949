/* glib-calc: the calculator of calc.idl served from a GLib main loop, and
 * a client that calls it from a GLib main loop (libbusrpc-glib).
 *
 *   glib-calc (--bus ADDRESS | --peer ADDRESS)            serve
 *   glib-calc (--bus ADDRESS | --peer ADDRESS) --client   call it, print what came back
 *   glib-calc --idle                                      the adapter with nothing to do
 *
 * All the GLib-specific code is in this file: the busrpc loop is attached
 * to the default GMainContext, and its quit requests (SIGTERM, a lost
 * bus) quit the GMainLoop.
 */
#include <stdio.h>
#include <string.h>
#include <busrpc/busrpc-glib.h>

#include "calc-loops.h"

typedef struct App {
        GMainLoop *main;
        busrpc_loop *loop;
        int code;
        busrpc_source *timer;
        long cpu_idle;
} App;

/* busrpc asked its loop to quit: SIGTERM, a lost bus, busrpc_loop_quit(). */
static void on_quit(busrpc_glib_source *s, int code, void *userdata) {
        App *app = userdata;

        app->code = code;
        g_main_loop_quit(app->main);
}

static void on_client_done(void *userdata) {
        g_main_loop_quit(((App *)userdata)->main);
}

static int on_busrpc_timer(busrpc_source *s, void *userdata) {
        busrpc_loop_quit(((App *)userdata)->loop, 3);
        return 0;
}

/* A GLib timer: measure the idle time, then give busrpc some work. */
static gboolean on_idle_over(gpointer userdata) {
        App *app = userdata;

        app->cpu_idle = calc_loops_cpu_ms() - app->cpu_idle;
        busrpc_loop_add_timer(app->loop, 50000, false, on_busrpc_timer, app, &app->timer);
        return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
        App app = { 0 };
        CalcService svc = { 0 };
        CalcClient cli = { 0 };
        busrpc_glib_source *src = NULL;
        const char *bus, *peer;
        int mode, r;

        mode = calc_loops_args(argc, argv, &bus, &peer);
        if (!mode)
                return 2;
        app.main = g_main_loop_new(NULL, FALSE);
        r = busrpc_loop_new(&app.loop);
        if (r < 0)
                goto fail;
        r = busrpc_glib_attach(app.loop, NULL, G_PRIORITY_DEFAULT, &src);
        if (r < 0)
                goto fail;
        busrpc_glib_set_quit(src, on_quit, &app);

        if (mode == 's') {
                r = calc_service_start(&svc, app.loop, bus, peer);
                if (r < 0)
                        goto fail;
                /* SIGTERM and SIGINT quit the busrpc loop, hence (on_quit) the GMainLoop. */
                r = busrpc_loop_handle_signals(app.loop);
                if (r < 0)
                        goto fail;
                printf("glib-calc: ready\n");
                fflush(stdout);
                g_main_loop_run(app.main);
                printf("glib-calc: stopped (%d)\n", app.code);
                r = app.code;
        } else if (mode == 'c') {
                r = calc_client_start(&cli, app.loop, bus, peer, on_client_done, &app);
                if (r < 0)
                        goto fail;
                g_main_loop_run(app.main);
                r = calc_client_finish(&cli);
        } else {
                app.cpu_idle = calc_loops_cpu_ms();
                g_timeout_add(300, on_idle_over, &app);
                g_main_loop_run(app.main);
                printf("idle 300 ms: %ld ms of CPU\n", app.cpu_idle);
                printf("busrpc timer fired; its busrpc_loop_quit(3) reached GLib as %d\n", app.code);
                r = 0;
        }
fail:
        if (r < 0)
                fprintf(stderr, "glib-calc: %s\n", strerror(-r));
        if (cli.conn)
                calc_client_finish(&cli);
        calc_service_stop(&svc);
        busrpc_source_release(app.timer);
        busrpc_glib_detach(src);
        busrpc_loop_unref(app.loop);
        g_main_loop_unref(app.main);
        return r < 0 ? 1 : 0;
}
