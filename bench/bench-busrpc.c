/* bench-busrpc: the benchmark interface served and called through the
 * stubs busrpc-idlc generates, peer to peer or through a bus.
 *
 *   bench-busrpc server peer|bus ADDRESS [OBJECTS]
 *   bench-busrpc client peer|bus ADDRESS TEST N [SIZE] [OBJECT]
 *   bench-busrpc export N
 *
 * TEST is add (sync), pipeline (BENCH_WINDOW async calls in flight),
 * bytes, shm, shm-direct or shm-fresh (SIZE bytes, the server sums every
 * byte). Every shm test writes the whole payload into the buffer before
 * each call, as a raw socket client writes it into the socket: shm is a
 * slot of the connection's pool, copied by the server on receipt;
 * shm-direct the same, read in place (both sides declared
 * busrpc_conn_set_shm_direct()); shm-fresh a new sealed memfd per call,
 * filled with busrpc_shm_write(). */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"

typedef struct Server {
        busrpc_loop *loop;
} Server;

static int op_add(void *self, busrpc_call *call, int32_t a, int32_t b, int32_t *sum) {
        *sum = (int32_t)((uint32_t)a + (uint32_t)b);
        return 0;
}

static int op_sum_bytes(void *self, busrpc_call *call, const bench_byte_array *data, uint64_t *sum) {
        *sum = bench_sum(data->items, data->n);
        return 0;
}

static int op_sum_shm(void *self, busrpc_call *call, busrpc_shm *data, uint64_t *sum) {
        *sum = bench_sum(busrpc_shm_const_data(data), busrpc_shm_size(data));
        return 0;
}

static int op_quit(void *self, busrpc_call *call) {
        busrpc_loop_quit(((Server *)self)->loop, 0);
        return 0;
}

static const bench_ops ops = {
        .add = op_add,
        .sum_bytes = op_sum_bytes,
        .sum_shm = op_sum_shm,
        .quit = op_quit,
};

/* Export @n objects on the bus connection @c, or (@c NULL) on the peer server @s. */
static int export_objects(busrpc_conn *c, busrpc_server *s, unsigned n, Server *srv, busrpc_object ***ret) {
        busrpc_object **objs = calloc(n ? n : 1, sizeof(*objs));
        char path[64];
        int r;

        if (!objs)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                snprintf(path, sizeof(path), BENCH_PATH_FMT, i);
                if (c)
                        r = bench_export(c, path, &ops, srv, &objs[i]);
                else
                        r = bench_export_server(s, path, &ops, srv, &objs[i]);
                if (r < 0) {
                        while (i > 0)
                                busrpc_object_release(objs[--i]);
                        free(objs);
                        return r;
                }
        }
        *ret = objs;
        return 0;
}

static void unexport_objects(busrpc_object **objs, unsigned n) {
        for (unsigned i = n; i > 0; i--)
                busrpc_object_release(objs[i - 1]);
        free(objs);
}

static int serve(bool bus, const char *address, unsigned n_objects) {
        Server srv = { 0 };
        busrpc_server *server = NULL;
        busrpc_conn *conn = NULL;
        busrpc_object **objs = NULL;
        int r;

        r = busrpc_loop_default(&srv.loop);
        if (r < 0)
                return r;
        if (bus) {
                r = busrpc_conn_open(address, &conn);
                if (r >= 0)
                        r = export_objects(conn, NULL, n_objects, &srv, &objs);
                if (r >= 0)
                        r = busrpc_conn_request_name(conn, BENCH_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL,
                                                     NULL);
        } else {
                r = busrpc_server_new(address, &server);
                /* Reads slots in place only from clients that declare it too
                 * (the shm-direct test); others' slots are copied. */
                if (r >= 0)
                        r = busrpc_server_set_shm_direct(server, true);
                if (r >= 0)
                        r = export_objects(NULL, server, n_objects, &srv, &objs);
        }
        if (r >= 0) {
                bench_ready();
                r = busrpc_loop_run(srv.loop);
        }
        if (objs)
                unexport_objects(objs, n_objects);
        if (conn)
                busrpc_conn_flush(conn);
        busrpc_conn_unref(conn);
        busrpc_server_free(server);
        busrpc_loop_unref(srv.loop);
        return r;
}

static void add_done(int r, const busrpc_error *err, int32_t sum, void *userdata) {
        bench_window_reply(userdata, r >= 0 && sum == 3);
}

static int run_client(bool bus, const char *address, const char *test, unsigned long n, size_t size,
                      unsigned object) {
        busrpc_conn *conn = NULL;
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_loop *loop = NULL;
        BenchWindow w = { 0 };
        uint8_t *payload = NULL;
        uint64_t want = 0, got, t0;
        char path[64];
        int r;

        r = bus ? busrpc_conn_open(address, &conn) : busrpc_conn_open_peer(address, &conn);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), BENCH_PATH_FMT, object);
        r = busrpc_proxy_new(conn, bus ? BENCH_NAME : NULL, path, &p);
        if (r < 0)
                goto out;
        if (strcmp(test, "bytes") == 0 || strncmp(test, "shm", 3) == 0) {
                payload = bench_payload(size, &want);
                if (!payload) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        /* One call before the clock starts: connection set-up and the
         * server's own start (objects registered on connect) are not timed. */
        if (strcmp(test, "quit") != 0) {
                int32_t sum;

                r = bench_add(p, 1, 2, &sum, &err);
                if (r < 0)
                        goto out;
        }
        t0 = bench_now_ns();
        if (strcmp(test, "add") == 0) {
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        int32_t sum;

                        r = bench_add(p, (int32_t)i, 1, &sum, &err);
                        if (r >= 0 && sum != (int32_t)i + 1)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "pipeline") == 0) {
                /* A sliding window: every reply lets the next call go, so
                 * BENCH_WINDOW calls stay in flight until the last ones. */
                loop = busrpc_conn_get_loop(conn);
                for (unsigned long i = 0; (i < n || w.outstanding > 0) && r >= 0;) {
                        while (w.outstanding < BENCH_WINDOW && i < n && r >= 0) {
                                bench_window_send(&w);
                                r = bench_add_async(p, 1, 2, add_done, &w, NULL);
                                if (r < 0)
                                        w.outstanding--;
                                bench_window_sent(&w);
                                i++;
                        }
                        if (w.outstanding > 0 && r >= 0)
                                r = busrpc_loop_iterate(loop, BUSRPC_TIMEOUT_INFINITE);
                }
                if (r >= 0 && (w.failed || w.replies != n))
                        r = -EPROTO;
        } else if (strcmp(test, "bytes") == 0) {
                bench_byte_array a = { payload, size };

                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        r = bench_sum_bytes(p, &a, &got, &err);
                        if (r >= 0 && got != want)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "shm") == 0 || strcmp(test, "shm-direct") == 0) {
                if (strcmp(test, "shm-direct") == 0)
                        r = busrpc_conn_set_shm_direct(conn, true);
                /* A slot of the pool: the same one comes back every call. */
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        busrpc_shm *shm;
                        void *dst;

                        r = busrpc_conn_shm_new(conn, size, &shm);
                        if (r < 0)
                                break;
                        dst = busrpc_shm_data(shm);
                        if (dst)
                                memcpy(dst, payload, size);
                        else
                                r = -ENOMEM;
                        if (r >= 0)
                                r = bench_sum_shm(p, shm, &got, &err);
                        busrpc_shm_unref(shm);
                        if (r >= 0 && got != want)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "shm-fresh") == 0) {
                /* A sealed memfd cannot be written again: each call fills a new one. */
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        busrpc_shm *shm;

                        r = busrpc_shm_new(size, &shm);
                        if (r < 0)
                                break;
                        r = busrpc_shm_write(shm, 0, payload, size);
                        if (r >= 0)
                                r = bench_sum_shm(p, shm, &got, &err);
                        busrpc_shm_unref(shm);
                        if (r >= 0 && got != want)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "quit") == 0) {
                r = bench_quit(p, &err);
        } else {
                r = -EINVAL;
        }
        if (r >= 0 && strcmp(test, "pipeline") == 0)
                bench_report_window(test, n, bench_now_ns() - t0, &w);
        else if (r >= 0)
                bench_report(test, n, bench_now_ns() - t0);
        else if (busrpc_error_is_set(&err))
                fprintf(stderr, "bench-busrpc: %s: %s\n", err.name, err.message);
out:
        busrpc_error_clear(&err);
        free(payload);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(conn);
        return r;
}

static int export_many(unsigned n) {
        busrpc_server *server;
        busrpc_object **objs = NULL;
        char dir[] = "/tmp/bench-export-XXXXXX", address[128];
        Server srv = { 0 };
        uint64_t t0;
        int r;

        if (!mkdtemp(dir))
                return -errno;
        snprintf(address, sizeof(address), "unix:path=%s/socket", dir);
        r = busrpc_server_new(address, &server);
        if (r < 0)
                goto out;
        t0 = bench_now_ns();
        r = export_objects(NULL, server, n, &srv, &objs);
        if (r >= 0)
                bench_report("export", n, bench_now_ns() - t0);
        if (objs)
                unexport_objects(objs, n);
        busrpc_server_free(server);
out:
        rmdir(dir);
        return r;
}

int main(int argc, char **argv) {
        int r = -EINVAL;

        if (argc >= 4 && strcmp(argv[1], "server") == 0)
                r = serve(strcmp(argv[2], "bus") == 0, argv[3], argc > 4 ? (unsigned)atoi(argv[4]) : 1);
        else if (argc >= 6 && strcmp(argv[1], "client") == 0)
                r = run_client(strcmp(argv[2], "bus") == 0, argv[3], argv[4], strtoul(argv[5], NULL, 10),
                               argc > 6 ? strtoul(argv[6], NULL, 10) : 0,
                               argc > 7 ? (unsigned)atoi(argv[7]) : 0);
        else if (argc == 3 && strcmp(argv[1], "export") == 0)
                r = export_many((unsigned)atoi(argv[2]));
        else
                fprintf(stderr, "usage: bench-busrpc server|client|export …\n");
        if (r < 0 && r != -EINVAL)
                fprintf(stderr, "bench-busrpc: %s\n", strerror(-r));
        return r < 0 ? 1 : 0;
}
