/* service.c: the service of the fault tests (tests/test-bus-faults.sh),
 * written against the descriptor API: org.busrpc.Faults at
 * /org/busrpc/Faults on a bus.
 *
 *   faults-service --bus ADDR [--name NAME] [--reconnect MS] [--events]
 *                  [--hup] [--conn-run] [--max-call-fds N] [--hold DEST]
 *                  [--watch DEST]
 *   faults-service --listen ADDR [--max-call-fds N] [--max-fds N]
 *
 * Methods: Add(ii)->i; Fds(ah)->u (how many fds it was handed, each
 * closed); Hold() never answers (the call is kept until exit); Emit(u)
 * sends the signal Tick(u). --watch subscribes to DEST's Tick and prints
 * "TICK <u>" for each.
 * --events installs a busrpc_conn_on_event() handler that prints each
 * event and quits on BUSRPC_CONN_LOST; --hup hooks SIGHUP; --hold calls
 * DEST's Hold() asynchronously and prints how the call ended.
 * Prints "READY <unique name>", "ACQUIRED/LOST <name>", "EVENT ...",
 * "HUP <n>", "PENDING <r> <error name>"; exits 0 after SIGTERM, 1 with a
 * message on stderr when the bus is lost. With --listen it serves the
 * object to peers instead, from the server's own objects (--max-fds:
 * busrpc_server_limits.max_fds; --max-call-fds: .max_call_fds, for all
 * peers; --name: busrpc_server_request_name(); --conn-run:
 * busrpc_server_run()); --reconnect, --events, --watch and --hold are
 * bus-only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"

#define IFACE "org.busrpc.Faults"
#define PATH  "/org/busrpc/Faults"

typedef struct State {
        busrpc_loop *loop;
        busrpc_call *held[16];
        unsigned n_held;
        unsigned hups;
} State;

static int sk_add(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int32_t a, b, sum;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        if (busrpc_iter_get_basic(args, 'i', &a) < 0 || busrpc_iter_get_basic(args, 'i', &b) < 0)
                return -EBADMSG;
        sum = (int32_t)((uint32_t)a + (uint32_t)b);
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'i', &sum);
        return busrpc_msg_send(reply);
}

static int sk_fds(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_iter sub, out;
        busrpc_msg *reply;
        uint32_t n = 0;
        int r, fd;

        r = busrpc_iter_recurse(args, &sub);
        if (r < 0)
                return r;
        while (!busrpc_iter_at_end(&sub)) {
                r = busrpc_iter_get_fd(&sub, &fd);
                if (r < 0)
                        return r;
                close(fd);
                n++;
        }
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'u', &n);
        return busrpc_msg_send(reply);
}

static int sk_hold(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;

        if (st->n_held >= sizeof(st->held) / sizeof(st->held[0]))
                return -ENOBUFS;
        st->held[st->n_held++] = busrpc_call_ref(call);
        return BUSRPC_DEFER;
}

static int sk_emit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *m;
        busrpc_iter out;
        uint32_t n;
        int r;

        if (busrpc_iter_get_basic(args, 'u', &n) < 0)
                return -EBADMSG;
        r = busrpc_object_signal_new(busrpc_call_get_object(call), "Tick", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &out);
        busrpc_iter_append_basic(&out, 'u', &n);
        r = busrpc_msg_send(m);
        if (r < 0)
                return r;
        r = busrpc_call_reply_new(call, &m);
        if (r < 0)
                return r;
        return busrpc_msg_send(m);
}

static const busrpc_method_desc methods[] = {
        { .name = "Add", .in_sig = "ii", .out_sig = "i", .fn = sk_add },
        { .name = "Fds", .in_sig = "ah", .out_sig = "u", .fn = sk_fds },
        { .name = "Hold", .in_sig = "", .out_sig = "", .fn = sk_hold },
        { .name = "Emit", .in_sig = "u", .out_sig = "", .fn = sk_emit },
};
static const busrpc_signal_desc signals[] = {
        { .name = "Tick", .sig = "u" },
};
static const busrpc_interface_desc iface = {
        .name = IFACE,
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .signals = signals,
        .n_signals = sizeof(signals) / sizeof(signals[0]),
};

static void on_tick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        uint32_t n = 0;

        if (busrpc_iter_get_basic(args, 'u', &n) < 0)
                return;
        printf("TICK %u\n", n);
        fflush(stdout);
}

static void on_name(busrpc_conn *c, const char *name, bool owned, void *userdata) {
        printf("%s %s\n", owned ? "ACQUIRED" : "LOST", name);
        fflush(stdout);
}

static void on_event(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata) {
        State *st = userdata;

        switch (ev) {
        case BUSRPC_CONN_LOST:
                printf("EVENT LOST %d\n", error);
                busrpc_loop_quit(st->loop, -ECONNRESET);
                break;
        case BUSRPC_CONN_RECONNECTING:
                printf("EVENT RECONNECTING %d\n", error);
                break;
        case BUSRPC_CONN_RECONNECTED:
                printf("EVENT RECONNECTED %s\n", busrpc_conn_get_unique_name(c));
                break;
        }
        fflush(stdout);
}

static int on_hup(busrpc_source *s, int signo, void *userdata) {
        State *st = userdata;

        printf("HUP %u\n", ++st->hups);
        fflush(stdout);
        return 0;
}

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        printf("PENDING %d %s\n", r, err && err->name ? err->name : "-");
        fflush(stdout);
}

int main(int argc, char **argv) {
        const char *bus = NULL, *name = NULL, *hold = NULL, *listen_addr = NULL, *watch = NULL;
        busrpc_proxy *watched = NULL;
        busrpc_subscription *sub = NULL;
        unsigned reconnect = 0, max_fds = 0, server_max_fds = 0;
        busrpc_server *srv = NULL;
        bool events = false, hup = false, conn_run = false;
        State st = { 0 };
        busrpc_conn *c = NULL;
        busrpc_object *obj = NULL;
        busrpc_name *nh = NULL;
        busrpc_source *hup_src = NULL;
        busrpc_proxy *proxy = NULL;
        busrpc_pending *pending = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        bus = argv[++i];
                else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
                        name = argv[++i];
                else if (strcmp(argv[i], "--reconnect") == 0 && i + 1 < argc)
                        reconnect = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--max-call-fds") == 0 && i + 1 < argc)
                        max_fds = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
                        listen_addr = argv[++i];
                else if (strcmp(argv[i], "--max-fds") == 0 && i + 1 < argc)
                        server_max_fds = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc)
                        watch = argv[++i];
                else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
                        hold = argv[++i];
                else if (strcmp(argv[i], "--events") == 0)
                        events = true;
                else if (strcmp(argv[i], "--hup") == 0)
                        hup = true;
                else if (strcmp(argv[i], "--conn-run") == 0)
                        conn_run = true;
                else {
                        fprintf(stderr, "usage: %s --bus ADDR [--name N] [--reconnect MS] ...\n", argv[0]);
                        return 2;
                }
        }
        if (!bus == !listen_addr) {
                fprintf(stderr, "faults-service: one of --bus and --listen is required\n");
                return 2;
        }
        if (listen_addr && (reconnect || events || watch || hold)) {
                fprintf(stderr, "faults-service: --reconnect, --events, --watch, --hold need --bus\n");
                return 2;
        }
        if (listen_addr) {
                busrpc_server_limits limits = { .max_fds = server_max_fds, .max_call_fds = max_fds };
                r = busrpc_server_new(listen_addr, &srv);
                if (r >= 0)
                        r = busrpc_server_set_limits(srv, &limits);
                if (r < 0) {
                        fprintf(stderr, "faults-service: cannot listen on %s: %s\n", listen_addr,
                                strerror(-r));
                        return 1;
                }
                st.loop = busrpc_loop_ref(busrpc_server_get_loop(srv));
        } else {
                r = busrpc_conn_open(bus, &c);
                if (r < 0) {
                        fprintf(stderr, "faults-service: cannot connect to %s: %s\n", bus, strerror(-r));
                        return 1;
                }
                st.loop = busrpc_loop_ref(busrpc_conn_get_loop(c));
        }
        if ((c && max_fds && busrpc_conn_set_max_call_fds(c, max_fds) < 0) ||
            (reconnect && busrpc_conn_set_reconnect(c, reconnect * BUSRPC_USEC_PER_MSEC) < 0) ||
            (events && busrpc_conn_on_event(c, on_event, &st) < 0) ||
            (hup && busrpc_loop_add_signal(st.loop, SIGHUP, on_hup, &st, &hup_src) < 0)) {
                fprintf(stderr, "faults-service: setup failed\n");
                return 1;
        }
        r = busrpc_object_export(srv ? busrpc_server_get_objects(srv) : busrpc_conn_get_objects(c), PATH, &iface,
                                 NULL, &st, &obj);
        if (r < 0) {
                fprintf(stderr, "faults-service: export: %s\n", strerror(-r));
                return 1;
        }
        if (name) {
                if (srv) {
                        r = busrpc_server_request_name(srv, name, &nh); /* owned at once: ACQUIRED after READY */
                } else {
                        r = busrpc_conn_request_name(c, name, BUSRPC_NAME_DO_NOT_QUEUE, on_name, NULL, &nh);
                }
                if (r < 0) {
                        fprintf(stderr, "faults-service: cannot own %s: %s\n", name, strerror(-r));
                        return 1;
                }
        }
        if (watch) {
                r = busrpc_proxy_new(c, watch, PATH, &watched);
                if (r >= 0)
                        r = busrpc_proxy_subscribe(watched, IFACE, "Tick", "u", on_tick, &st, NULL, &sub);
                if (r < 0) {
                        fprintf(stderr, "faults-service: subscribe: %s\n", strerror(-r));
                        return 1;
                }
        }
        if (hold) {
                busrpc_msg *m;
                r = busrpc_proxy_new(c, hold, PATH, &proxy);
                if (r >= 0)
                        r = busrpc_proxy_set_timeout(proxy, 600000 * BUSRPC_USEC_PER_MSEC);
                if (r >= 0)
                        r = busrpc_proxy_method_new(proxy, IFACE, "Hold", &m);
                if (r >= 0)
                        r = busrpc_proxy_call_async(proxy, m, "", on_reply, &st, &pending);
                if (r < 0) {
                        fprintf(stderr, "faults-service: Hold: %s\n", strerror(-r));
                        return 1;
                }
        }
        printf("READY %s\n", srv ? busrpc_server_get_address(srv) : busrpc_conn_get_unique_name(c));
        fflush(stdout);
        if (srv && nh)
                on_name(NULL, name, true, NULL);
        if (conn_run) {
                r = srv ? busrpc_server_run(srv) : busrpc_conn_run(c);
        } else {
                r = busrpc_loop_handle_signals(st.loop);
                if (r >= 0)
                        r = busrpc_loop_run(st.loop);
        }
        if (r < 0)
                fprintf(stderr, "faults-service: lost the bus: %s\n", strerror(-r));

        for (unsigned i = 0; i < st.n_held; i++)
                busrpc_call_unref(st.held[i]);
        busrpc_subscription_release(sub);
        busrpc_proxy_unref(watched);
        busrpc_pending_unref(pending);
        busrpc_proxy_unref(proxy);
        busrpc_source_release(hup_src);
        busrpc_object_release(obj);
        busrpc_name_release(nh);
        busrpc_conn_unref(c);
        busrpc_server_free(srv);
        busrpc_loop_unref(st.loop);
        dbus_shutdown();
        return r < 0 ? 1 : 0;
}
