/* libuv-calc: the calculator of calc.idl served from a libuv loop, and a
 * client that calls it from a libuv loop (libbusrpc-libuv).
 *
 *   libuv-calc (--bus ADDRESS | --peer ADDRESS)            serve
 *   libuv-calc (--bus ADDRESS | --peer ADDRESS) --client   call it, print what came back
 *   libuv-calc --idle                                      the adapter with nothing to do
 *
 * All the libuv-specific code is in this file. A quit request of the busrpc
 * loop (SIGTERM, a lost bus) stops uv_run(); the adapter's handles are
 * closed by one more uv_run() before uv_loop_close().
 */
#include <stdio.h>
#include <string.h>
#include <busrpc/busrpc-libuv.h>

#include "calc-loops.h"

typedef struct App {
        uv_loop_t uv;
        busrpc_loop *loop;
        int code;
        busrpc_source *timer;
        uv_timer_t idle_timer;
        long cpu_idle;
} App;

static void on_quit(busrpc_uv *a, int code, void *userdata) {
        App *app = userdata;

        app->code = code;
        uv_stop(&app->uv);
}

static void on_client_done(void *userdata) {
        uv_stop(&((App *)userdata)->uv);
}

static int on_busrpc_timer(busrpc_source *s, void *userdata) {
        busrpc_loop_quit(((App *)userdata)->loop, 3);
        return 0;
}

/* A libuv timer: measure the idle time, then give busrpc some work. */
static void on_idle_over(uv_timer_t *t) {
        App *app = t->data;

        app->cpu_idle = calc_loops_cpu_ms() - app->cpu_idle;
        busrpc_loop_add_timer(app->loop, 50000, false, on_busrpc_timer, app, &app->timer);
}

int main(int argc, char **argv) {
        App app = { 0 };
        CalcService svc = { 0 };
        CalcClient cli = { 0 };
        busrpc_uv *adapter = NULL;
        const char *bus, *peer;
        int mode, r;

        mode = calc_loops_args(argc, argv, &bus, &peer);
        if (!mode)
                return 2;
        r = uv_loop_init(&app.uv);
        if (r < 0)
                return 1;
        r = busrpc_loop_new(&app.loop);
        if (r < 0)
                goto fail;
        r = busrpc_uv_attach(app.loop, &app.uv, &adapter);
        if (r < 0)
                goto fail;
        busrpc_uv_set_quit(adapter, on_quit, &app);

        if (mode == 's') {
                r = calc_service_start(&svc, app.loop, bus, peer);
                if (r < 0)
                        goto fail;
                /* SIGTERM and SIGINT quit the busrpc loop, hence (on_quit) uv_run(). */
                r = busrpc_loop_handle_signals(app.loop);
                if (r < 0)
                        goto fail;
                printf("libuv-calc: ready\n");
                fflush(stdout);
                uv_run(&app.uv, UV_RUN_DEFAULT);
                printf("libuv-calc: stopped (%d)\n", app.code);
                r = app.code;
        } else if (mode == 'c') {
                r = calc_client_start(&cli, app.loop, bus, peer, on_client_done, &app);
                if (r < 0)
                        goto fail;
                uv_run(&app.uv, UV_RUN_DEFAULT);
                r = calc_client_finish(&cli);
        } else {
                app.cpu_idle = calc_loops_cpu_ms();
                uv_timer_init(&app.uv, &app.idle_timer);
                app.idle_timer.data = &app;
                uv_timer_start(&app.idle_timer, on_idle_over, 300, 0);
                uv_run(&app.uv, UV_RUN_DEFAULT);
                printf("idle 300 ms: %ld ms of CPU\n", app.cpu_idle);
                printf("busrpc timer fired; its busrpc_loop_quit(3) reached libuv as %d\n", app.code);
                uv_close((uv_handle_t *)&app.idle_timer, NULL);
                r = 0;
        }
fail:
        if (r < 0)
                fprintf(stderr, "libuv-calc: %s\n", strerror(-r));
        if (cli.conn)
                calc_client_finish(&cli);
        calc_service_stop(&svc);
        busrpc_source_release(app.timer);
        busrpc_uv_detach(adapter);
        busrpc_loop_unref(app.loop);
        /* The closed handles are released by one more turn of the loop. */
        uv_run(&app.uv, UV_RUN_DEFAULT);
        uv_loop_close(&app.uv);
        return r < 0 ? 1 : 0;
}
