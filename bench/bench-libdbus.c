/* bench-libdbus: the benchmark interface written by hand on libdbus, as a
 * careful user of libdbus would: one object path per object, a message
 * function, dbus_message_get_args()/append_args(), a private connection.
 *
 *   bench-libdbus server peer|bus ADDRESS [OBJECTS]
 *   bench-libdbus client peer|bus ADDRESS TEST N [SIZE] [OBJECT]
 *
 * shm is busrpc's own: the libdbus programs do add, pipeline and bytes. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <dbus/dbus.h>

#include "common.h"

static bool quit;

static DBusHandlerResult on_message(DBusConnection *c, DBusMessage *m, void *userdata) {
        DBusMessage *reply = NULL;
        DBusError err;

        dbus_error_init(&err);
        if (dbus_message_is_method_call(m, BENCH_IFACE, "Add")) {
                dbus_int32_t a, b, sum;

                if (dbus_message_get_args(m, &err, DBUS_TYPE_INT32, &a, DBUS_TYPE_INT32, &b, DBUS_TYPE_INVALID)) {
                        sum = (dbus_int32_t)((uint32_t)a + (uint32_t)b);
                        reply = dbus_message_new_method_return(m);
                        if (reply)
                                dbus_message_append_args(reply, DBUS_TYPE_INT32, &sum, DBUS_TYPE_INVALID);
                }
        } else if (dbus_message_is_method_call(m, BENCH_IFACE, "SumBytes")) {
                const uint8_t *data;
                int n;
                dbus_uint64_t sum;

                if (dbus_message_get_args(m, &err, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &data, &n,
                                          DBUS_TYPE_INVALID)) {
                        sum = bench_sum(data, (size_t)n);
                        reply = dbus_message_new_method_return(m);
                        if (reply)
                                dbus_message_append_args(reply, DBUS_TYPE_UINT64, &sum, DBUS_TYPE_INVALID);
                }
        } else if (dbus_message_is_method_call(m, BENCH_IFACE, "Quit")) {
                quit = true;
                reply = dbus_message_new_method_return(m);
        } else {
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        if (dbus_error_is_set(&err))
                reply = dbus_message_new_error(m, err.name, err.message);
        if (reply) {
                dbus_connection_send(c, reply, NULL);
                dbus_message_unref(reply);
        }
        dbus_error_free(&err);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static const DBusObjectPathVTable vtable = { .message_function = on_message };

static bool register_objects(DBusConnection *c, unsigned n) {
        char path[64];

        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof(path), BENCH_PATH_FMT, i);
                if (!dbus_connection_register_object_path(c, path, &vtable, NULL))
                        return false;
        }
        return true;
}

/* A DBusServer needs a main loop to accept: one watch at a time is enough here. */
static DBusWatch *server_watch;
static DBusConnection *peer;
static unsigned n_objects = 1;

static dbus_bool_t add_watch(DBusWatch *w, void *data) {
        if (dbus_watch_get_enabled(w))
                server_watch = w;
        return TRUE;
}

static void remove_watch(DBusWatch *w, void *data) {
        if (server_watch == w)
                server_watch = NULL;
}

static void on_new_connection(DBusServer *s, DBusConnection *c, void *data) {
        if (peer)
                return;
        peer = dbus_connection_ref(c);
        register_objects(peer, n_objects);
}

static int serve(bool bus, const char *address) {
        DBusConnection *c;
        DBusError err;

        dbus_error_init(&err);
        if (bus) {
                c = dbus_connection_open_private(address, &err);
                if (!c || !dbus_bus_register(c, &err)) {
                        fprintf(stderr, "bench-libdbus: %s\n", err.message);
                        return 1;
                }
                if (!register_objects(c, n_objects) ||
                    dbus_bus_request_name(c, BENCH_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err) !=
                            DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
                        fprintf(stderr, "bench-libdbus: cannot own the name\n");
                        return 1;
                }
        } else {
                DBusServer *s = dbus_server_listen(address, &err);

                if (!s) {
                        fprintf(stderr, "bench-libdbus: %s\n", err.message);
                        return 1;
                }
                dbus_server_set_new_connection_function(s, on_new_connection, NULL, NULL);
                dbus_server_set_watch_functions(s, add_watch, remove_watch, NULL, NULL, NULL);
                bench_ready();
                while (!peer && server_watch) {
                        struct pollfd pfd = { dbus_watch_get_unix_fd(server_watch), POLLIN, 0 };

                        if (poll(&pfd, 1, -1) > 0)
                                dbus_watch_handle(server_watch, DBUS_WATCH_READABLE);
                }
                dbus_server_disconnect(s);
                dbus_server_unref(s);
                c = peer;
        }
        if (bus)
                bench_ready();
        while (!quit && dbus_connection_read_write_dispatch(c, -1))
                ;
        dbus_connection_flush(c);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        dbus_shutdown();
        return 0;
}

static DBusMessage *new_call(const char *dest, const char *path, const char *member) {
        return dbus_message_new_method_call(dest, path, BENCH_IFACE, member);
}

static int run_client(bool bus, const char *address, const char *test, unsigned long n, size_t size,
                      unsigned object) {
        DBusConnection *c;
        DBusError err;
        const char *dest = bus ? BENCH_NAME : NULL;
        char path[64];
        uint8_t *payload = NULL;
        uint64_t want = 0, t0;
        BenchWindow w = { 0 };
        int r = 0;

        dbus_error_init(&err);
        c = dbus_connection_open_private(address, &err);
        if (!c || (bus && !dbus_bus_register(c, &err))) {
                fprintf(stderr, "bench-libdbus: %s\n", err.message);
                return 1;
        }
        snprintf(path, sizeof(path), BENCH_PATH_FMT, object);
        if (strcmp(test, "bytes") == 0 && !(payload = bench_payload(size, &want)))
                return 1;

        /* One call before the clock starts (set-up is not timed). */
        if (strcmp(test, "quit") != 0) {
                DBusMessage *m = new_call(dest, path, "Add"), *reply;
                dbus_int32_t a = 1, b = 2;

                dbus_message_append_args(m, DBUS_TYPE_INT32, &a, DBUS_TYPE_INT32, &b, DBUS_TYPE_INVALID);
                reply = dbus_connection_send_with_reply_and_block(c, m, -1, &err);
                dbus_message_unref(m);
                if (!reply) {
                        fprintf(stderr, "bench-libdbus: %s\n", err.message);
                        return 1;
                }
                dbus_message_unref(reply);
        }
        t0 = bench_now_ns();
        if (strcmp(test, "add") == 0) {
                for (unsigned long i = 0; i < n && r == 0; i++) {
                        dbus_int32_t a = (dbus_int32_t)i, b = 1, sum = 0;
                        DBusMessage *m = new_call(dest, path, "Add"), *reply;

                        dbus_message_append_args(m, DBUS_TYPE_INT32, &a, DBUS_TYPE_INT32, &b, DBUS_TYPE_INVALID);
                        reply = dbus_connection_send_with_reply_and_block(c, m, -1, &err);
                        dbus_message_unref(m);
                        if (!reply || !dbus_message_get_args(reply, &err, DBUS_TYPE_INT32, &sum, DBUS_TYPE_INVALID) ||
                            sum != a + 1)
                                r = -EPROTO;
                        if (reply)
                                dbus_message_unref(reply);
                }
        } else if (strcmp(test, "pipeline") == 0) {
                /* A sliding window: a ring of pending calls; the oldest is
                 * waited for (libdbus reads every reply that arrived
                 * meanwhile), then the next call goes out in its place. */
                DBusPendingCall *ring[BENCH_WINDOW];
                unsigned head = 0;

                for (unsigned long i = 0; (i < n || w.outstanding > 0) && r == 0;) {
                        while (w.outstanding < BENCH_WINDOW && i < n && r == 0) {
                                dbus_int32_t a = 1, b = 2;
                                DBusMessage *m = new_call(dest, path, "Add");
                                DBusPendingCall **slot = &ring[(head + w.outstanding) % BENCH_WINDOW];

                                dbus_message_append_args(m, DBUS_TYPE_INT32, &a, DBUS_TYPE_INT32, &b,
                                                         DBUS_TYPE_INVALID);
                                bench_window_send(&w);
                                if (!dbus_connection_send_with_reply(c, m, slot, -1) || !*slot) {
                                        w.outstanding--;
                                        r = -ENOMEM;
                                }
                                dbus_message_unref(m);
                                bench_window_sent(&w);
                                i++;
                        }
                        if (w.outstanding > 0) {
                                DBusPendingCall *pc = ring[head];
                                DBusMessage *reply;
                                dbus_int32_t sum = 0;

                                head = (head + 1) % BENCH_WINDOW;
                                dbus_pending_call_block(pc);
                                reply = dbus_pending_call_steal_reply(pc);
                                dbus_pending_call_unref(pc);
                                bench_window_reply(&w, reply &&
                                                               dbus_message_get_args(reply, &err, DBUS_TYPE_INT32, &sum,
                                                                                     DBUS_TYPE_INVALID) &&
                                                               sum == 3);
                                if (reply)
                                        dbus_message_unref(reply);
                        }
                }
                if (r == 0 && (w.failed || w.replies != n))
                        r = -EPROTO;
        } else if (strcmp(test, "bytes") == 0) {
                for (unsigned long i = 0; i < n && r == 0; i++) {
                        DBusMessage *m = new_call(dest, path, "SumBytes"), *reply;
                        const uint8_t *data = payload;
                        dbus_uint64_t got = 0;

                        dbus_message_append_args(m, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &data, (int)size,
                                                 DBUS_TYPE_INVALID);
                        reply = dbus_connection_send_with_reply_and_block(c, m, -1, &err);
                        dbus_message_unref(m);
                        if (!reply || !dbus_message_get_args(reply, &err, DBUS_TYPE_UINT64, &got, DBUS_TYPE_INVALID) ||
                            got != want)
                                r = -EPROTO;
                        if (reply)
                                dbus_message_unref(reply);
                }
        } else if (strcmp(test, "quit") == 0) {
                DBusMessage *m = new_call(dest, path, "Quit"), *reply;

                reply = dbus_connection_send_with_reply_and_block(c, m, -1, &err);
                dbus_message_unref(m);
                if (reply)
                        dbus_message_unref(reply);
        } else {
                r = -EINVAL;
        }
        if (r == 0 && strcmp(test, "pipeline") == 0)
                bench_report_window(test, n, bench_now_ns() - t0, &w);
        else if (r == 0)
                bench_report(test, n, bench_now_ns() - t0);
        else
                fprintf(stderr, "bench-libdbus: %s failed: %s\n", test, dbus_error_is_set(&err) ? err.message : "");
        dbus_error_free(&err);
        free(payload);
        dbus_connection_close(c);
        dbus_connection_unref(c);
        dbus_shutdown();
        return r == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
        if (argc >= 4 && strcmp(argv[1], "server") == 0) {
                if (argc > 4)
                        n_objects = (unsigned)atoi(argv[4]);
                return serve(strcmp(argv[2], "bus") == 0, argv[3]);
        }
        if (argc >= 6 && strcmp(argv[1], "client") == 0)
                return run_client(strcmp(argv[2], "bus") == 0, argv[3], argv[4], strtoul(argv[5], NULL, 10),
                                  argc > 6 ? strtoul(argv[6], NULL, 10) : 0, argc > 7 ? (unsigned)atoi(argv[7]) : 0);
        fprintf(stderr, "usage: bench-libdbus server|client …\n");
        return 2;
}
