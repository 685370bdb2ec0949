/* bench-sdbus: the benchmark interface on sd-bus (libsystemd), as its
 * documentation shows: a vtable per object, sd_bus_call_method() on the
 * client. Peer to peer, the server accepts the socket itself and hands it
 * to sd-bus in server mode, as sd-bus programs do.
 *
 *   bench-sdbus server peer|bus ADDRESS [OBJECTS]
 *   bench-sdbus client peer|bus ADDRESS TEST N [SIZE] [OBJECT] */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "common.h"

static bool quit;

static int method_add(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        int32_t a, b;
        int r = sd_bus_message_read(m, "ii", &a, &b);

        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "i", (int32_t)((uint32_t)a + (uint32_t)b));
}

static int method_sum_bytes(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const void *data;
        size_t n;
        int r = sd_bus_message_read_array(m, 'y', &data, &n);

        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "t", bench_sum(data, n));
}

static int method_quit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        quit = true;
        return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Add", "ii", "i", method_add, 0),
        SD_BUS_METHOD("SumBytes", "ay", "t", method_sum_bytes, 0),
        SD_BUS_METHOD("Quit", "", "", method_quit, 0),
        SD_BUS_VTABLE_END,
};

/* "unix:path=/x/y" -> "/x/y" */
static const char *address_path(const char *address) {
        return strncmp(address, "unix:path=", 10) == 0 ? address + 10 : address;
}

static int accept_one(const char *address) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int l, fd;

        l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", address_path(address));
        unlink(sa.sun_path);
        if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
                close(l);
                return -errno;
        }
        bench_ready();
        fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        close(l);
        return fd < 0 ? -errno : fd;
}

static int serve(bool bus_mode, const char *address, unsigned n_objects) {
        sd_bus *bus = NULL;
        sd_id128_t id;
        char path[64];
        int r, fd = -1;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        if (bus_mode) {
                r = sd_bus_set_address(bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, 1);
        } else {
                fd = accept_one(address);
                r = fd;
                if (r >= 0)
                        r = sd_bus_set_fd(bus, fd, fd);
                if (r >= 0)
                        r = sd_id128_randomize(&id);
                if (r >= 0)
                        r = sd_bus_set_server(bus, 1, id);
        }
        if (r >= 0)
                r = sd_bus_start(bus);
        for (unsigned i = 0; i < n_objects && r >= 0; i++) {
                snprintf(path, sizeof(path), BENCH_PATH_FMT, i);
                r = sd_bus_add_object_vtable(bus, NULL, path, BENCH_IFACE, vtable, NULL);
        }
        if (r >= 0 && bus_mode) {
                r = sd_bus_request_name(bus, BENCH_NAME, 0);
                if (r >= 0)
                        bench_ready();
        }
        while (r >= 0 && !quit) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
        }
        if (r == -ECONNRESET || r == -ENOTCONN)
                r = 0;
        sd_bus_flush_close_unref(bus);
        return r;
}

static int add_done(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        int32_t sum = 0;

        bench_window_reply(userdata, !sd_bus_message_is_method_error(m, NULL) &&
                                             sd_bus_message_read(m, "i", &sum) >= 0 && sum == 3);
        return 0;
}

static int run_client(bool bus_mode, const char *address, const char *test, unsigned long n, size_t size,
                      unsigned object) {
        sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *dest = bus_mode ? BENCH_NAME : NULL;
        uint8_t *payload = NULL;
        uint64_t want = 0, t0;
        BenchWindow w = { 0 };
        char path[64];
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0 && bus_mode)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                goto out;
        snprintf(path, sizeof(path), BENCH_PATH_FMT, object);
        if (strcmp(test, "bytes") == 0 && !(payload = bench_payload(size, &want))) {
                r = -ENOMEM;
                goto out;
        }

        /* One call before the clock starts (set-up is not timed). */
        if (strcmp(test, "quit") != 0) {
                r = sd_bus_call_method(bus, dest, path, BENCH_IFACE, "Add", &error, NULL, "ii", 1, 2);
                if (r < 0)
                        goto out;
        }
        t0 = bench_now_ns();
        if (strcmp(test, "add") == 0) {
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        sd_bus_message *reply = NULL;
                        int32_t sum = 0;

                        r = sd_bus_call_method(bus, dest, path, BENCH_IFACE, "Add", &error, &reply, "ii",
                                               (int32_t)i, 1);
                        if (r >= 0)
                                r = sd_bus_message_read(reply, "i", &sum);
                        if (r >= 0 && sum != (int32_t)i + 1)
                                r = -EPROTO;
                        sd_bus_message_unref(reply);
                }
        } else if (strcmp(test, "pipeline") == 0) {
                /* A sliding window: after each message processed, the
                 * window is filled again. */
                for (unsigned long i = 0; (i < n || w.outstanding > 0) && r >= 0;) {
                        while (w.outstanding < BENCH_WINDOW && i < n && r >= 0) {
                                bench_window_send(&w);
                                r = sd_bus_call_method_async(bus, NULL, dest, path, BENCH_IFACE, "Add", add_done,
                                                             &w, "ii", 1, 2);
                                if (r < 0)
                                        w.outstanding--;
                                bench_window_sent(&w);
                                i++;
                        }
                        if (w.outstanding > 0 && r >= 0) {
                                r = sd_bus_process(bus, NULL);
                                if (r == 0)
                                        r = sd_bus_wait(bus, UINT64_MAX);
                        }
                }
                if (r >= 0 && (w.failed || w.replies != n))
                        r = -EPROTO;
        } else if (strcmp(test, "bytes") == 0) {
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        sd_bus_message *m = NULL, *reply = NULL;
                        uint64_t got = 0;

                        r = sd_bus_message_new_method_call(bus, &m, dest, path, BENCH_IFACE, "SumBytes");
                        if (r >= 0)
                                r = sd_bus_message_append_array(m, 'y', payload, size);
                        if (r >= 0)
                                r = sd_bus_call(bus, m, 0, &error, &reply);
                        if (r >= 0)
                                r = sd_bus_message_read(reply, "t", &got);
                        if (r >= 0 && got != want)
                                r = -EPROTO;
                        sd_bus_message_unref(m);
                        sd_bus_message_unref(reply);
                }
        } else if (strcmp(test, "quit") == 0) {
                r = sd_bus_call_method(bus, dest, path, BENCH_IFACE, "Quit", &error, NULL, "");
        } else {
                r = -EINVAL;
        }
        if (r >= 0 && strcmp(test, "pipeline") == 0)
                bench_report_window(test, n, bench_now_ns() - t0, &w);
        else if (r >= 0)
                bench_report(test, n, bench_now_ns() - t0);
out:
        if (r < 0)
                fprintf(stderr, "bench-sdbus: %s: %s\n", test, error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        free(payload);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
        if (argc >= 4 && strcmp(argv[1], "server") == 0) {
                int r = serve(strcmp(argv[2], "bus") == 0, argv[3], argc > 4 ? (unsigned)atoi(argv[4]) : 1);

                if (r < 0)
                        fprintf(stderr, "bench-sdbus: %s\n", strerror(-r));
                return r < 0 ? 1 : 0;
        }
        if (argc >= 6 && strcmp(argv[1], "client") == 0)
                return run_client(strcmp(argv[2], "bus") == 0, argv[3], argv[4], strtoul(argv[5], NULL, 10),
                                  argc > 6 ? strtoul(argv[6], NULL, 10) : 0, argc > 7 ? (unsigned)atoi(argv[7]) : 0);
        fprintf(stderr, "usage: bench-sdbus server|client …\n");
        return 2;
}
