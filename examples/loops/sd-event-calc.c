/* sd-event-calc: the calculator of calc.idl served from an sd-event loop,
 * and a client that calls it from an sd-event loop (libbusrpc-sd-event).
 *
 *   sd-event-calc (--bus ADDRESS | --peer ADDRESS)            serve
 *   sd-event-calc (--bus ADDRESS | --peer ADDRESS) --client   call it, print what came back
 *   sd-event-calc --idle                                      the adapter with nothing to do
 *
 * All the sd-event-specific code is in this file. The adapter's default
 * quit handling is used: a quit request of the busrpc loop (SIGTERM, a
 * lost bus) is sd_event_exit() with its code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <busrpc/busrpc-sd-event.h>

#include "calc-loops.h"

typedef struct App {
        sd_event *event;
        busrpc_loop *loop;
        busrpc_source *timer;
        sd_event_source *idle_timer;
        long cpu_idle;
} App;

static void on_client_done(void *userdata) {
        sd_event_exit(((App *)userdata)->event, 0);
}

static int on_busrpc_timer(busrpc_source *s, void *userdata) {
        busrpc_loop_quit(((App *)userdata)->loop, 3);
        return 0;
}

/* An sd-event timer: measure the idle time, then give busrpc some work. */
static int on_idle_over(sd_event_source *s, uint64_t usec, void *userdata) {
        App *app = userdata;

        app->cpu_idle = calc_loops_cpu_ms() - app->cpu_idle;
        return busrpc_loop_add_timer(app->loop, 50000, false, on_busrpc_timer, app, &app->timer);
}

int main(int argc, char **argv) {
        App app = { 0 };
        CalcService svc = { 0 };
        CalcClient cli = { 0 };
        busrpc_sd_event *adapter = NULL;
        const char *bus, *peer;
        uint64_t now;
        int mode, r;

        mode = calc_loops_args(argc, argv, &bus, &peer);
        if (!mode)
                return 2;
        r = sd_event_default(&app.event);
        if (r < 0)
                goto fail;
        r = busrpc_loop_new(&app.loop);
        if (r < 0)
                goto fail;
        r = busrpc_sd_event_attach(app.loop, app.event, SD_EVENT_PRIORITY_NORMAL, &adapter);
        if (r < 0)
                goto fail;

        if (mode == 's') {
                r = calc_service_start(&svc, app.loop, bus, peer);
                if (r < 0)
                        goto fail;
                /* SIGTERM and SIGINT quit the busrpc loop, hence sd_event_loop(). */
                r = busrpc_loop_handle_signals(app.loop);
                if (r < 0)
                        goto fail;
                printf("sd-event-calc: ready\n");
                fflush(stdout);
                r = sd_event_loop(app.event);
                printf("sd-event-calc: stopped (%d)\n", r);
        } else if (mode == 'c') {
                r = calc_client_start(&cli, app.loop, bus, peer, on_client_done, &app);
                if (r < 0)
                        goto fail;
                r = sd_event_loop(app.event);
                if (r >= 0)
                        r = calc_client_finish(&cli);
        } else {
                app.cpu_idle = calc_loops_cpu_ms();
                sd_event_now(app.event, CLOCK_MONOTONIC, &now);
                r = sd_event_add_time(app.event, &app.idle_timer, CLOCK_MONOTONIC, now + 300000, 1, on_idle_over,
                                      &app);
                if (r < 0)
                        goto fail;
                r = sd_event_loop(app.event);
                printf("idle 300 ms: %ld ms of CPU\n", app.cpu_idle);
                printf("busrpc timer fired; its busrpc_loop_quit(3) reached sd-event as %d\n", r);
                r = 0;
        }
fail:
        if (r < 0)
                fprintf(stderr, "sd-event-calc: %s\n", strerror(-r));
        if (cli.conn)
                calc_client_finish(&cli);
        calc_service_stop(&svc);
        busrpc_source_release(app.timer);
        sd_event_source_unref(app.idle_timer);
        busrpc_sd_event_detach(adapter);
        busrpc_loop_unref(app.loop);
        sd_event_unref(app.event);
        return r < 0 ? 1 : 0;
}
