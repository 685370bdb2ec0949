/* bulk-service: serves org.example.Bulk (bulk.idl): the SHA-256 of data
 * sent as shm (a sealed memfd, mapped read-only here) or inline as bytes.
 *
 *   bulk-service [--bus ADDRESS] [--peer ADDRESS] [--max-shm BYTES]
 *
 * --bus: "session" (the default without --peer), "system" or a bus
 * address; the service owns org.example.Bulk. --peer: also listen for
 * direct connections, e.g. unix:path=DIR/bulk.sock. --max-shm: the
 * largest shm accepted (default 256 MiB, busrpc's): a sealed sparse memfd
 * of a terabyte costs its sender nothing, but hashing it would keep this
 * loop busy for hours, so a larger one is refused with InvalidArgs before
 * it is mapped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "sha256.h"

#define BULK_NAME "org.example.Bulk"
#define BULK_PATH "/org/example/Bulk"

static int bulk_svc_digest(void *self, busrpc_call *call, busrpc_shm *data, char **sha256, uint64_t *size) {
        char hex[SHA256_HEX_SIZE];

        (void)self;
        (void)call;
        /* The mapping is read-only and sealed: the client cannot change the
         * bytes while we hash them. */
        sha256_hex(busrpc_shm_const_data(data), busrpc_shm_size(data), hex);
        *sha256 = strdup(hex);
        *size = busrpc_shm_size(data);
        return *sha256 ? 0 : -ENOMEM;
}

static int bulk_svc_digest_bytes(void *self, busrpc_call *call, const bulk_byte_array *data, char **sha256,
                                 uint64_t *size) {
        char hex[SHA256_HEX_SIZE];

        (void)self;
        (void)call;
        sha256_hex(data->items, data->n, hex);
        *sha256 = strdup(hex);
        *size = data->n;
        return *sha256 ? 0 : -ENOMEM;
}

static const bulk_ops svc_ops = {
        .digest = bulk_svc_digest,
        .digest_bytes = bulk_svc_digest_bytes,
};

static void usage(FILE *f) {
        fprintf(f, "usage: bulk-service [--bus ADDRESS] [--peer ADDRESS] [--max-shm BYTES]\n");
}

int main(int argc, char **argv) {
        const char *bus = NULL, *peer = NULL;
        uint64_t max_shm = 0; /* busrpc's default */
        busrpc_conn *conn = NULL;
        busrpc_server *server = NULL;
        busrpc_loop *loop = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc) {
                        bus = argv[++i];
                } else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc) {
                        peer = argv[++i];
                } else if (strcmp(argv[i], "--max-shm") == 0 && i + 1 < argc) {
                        char *end;
                        errno = 0;
                        max_shm = strtoull(argv[++i], &end, 10);
                        if (errno || *end || max_shm == 0) {
                                fprintf(stderr, "bulk-service: --max-shm wants a number of bytes\n");
                                return 2;
                        }
                } else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (!bus && !peer)
                bus = "session";

        r = busrpc_loop_default(&loop);
        if (r < 0)
                goto out;
        if (bus) {
                r = busrpc_conn_open(bus, &conn);
                if (r >= 0)
                        r = busrpc_conn_set_max_shm_size(conn, max_shm);
                if (r >= 0)
                        r = bulk_export(conn, BULK_PATH, &svc_ops, NULL, NULL);
                if (r >= 0)
                        r = busrpc_conn_request_name(conn, BULK_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "bulk-service: %s: %s\n", bus, strerror(-r));
                        goto out;
                }
        }
        if (peer) {
                r = busrpc_server_new(peer, &server);
                if (r >= 0) {
                        /* The same bound for every peer: busrpc_server_limits.max_shm_size. */
                        busrpc_server_limits limits = { .max_shm_size = max_shm };
                        r = busrpc_server_set_limits(server, &limits);
                }
                if (r >= 0)
                        r = bulk_export_server(server, BULK_PATH, &svc_ops, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "bulk-service: %s: %s\n", peer, strerror(-r));
                        goto out;
                }
        }
        r = busrpc_loop_handle_signals(loop);
        if (r < 0)
                goto out;
        printf("bulk-service: ready\n");
        fflush(stdout);
        r = busrpc_loop_run(loop);
        if (r == -ECONNRESET) /* the bus went away: exit 1, a supervisor restarts us */
                fprintf(stderr, "bulk-service: lost the connection to %s; exiting\n", bus ? bus : "the bus");
out:
        if (r < 0 && r != -ECONNRESET)
                fprintf(stderr, "bulk-service: %s\n", strerror(-r));
        busrpc_server_free(server);
        busrpc_conn_unref(conn);
        busrpc_loop_unref(loop);
        return r < 0 ? 1 : 0;
}
